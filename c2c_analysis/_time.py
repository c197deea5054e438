"""Time columns and periods, shared by the analysis modules (private module, public names)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["numeric_time", "start_end_rows", "time_column"]


def time_column(data: pd.DataFrame, time: str) -> str:
    """``time``, except that the default ``year`` means ``period`` in a monthly table."""
    if time == "year" and "year" not in data.columns and "period" in data.columns:
        return "period"
    return time


def numeric_time(values: pd.Series) -> np.ndarray:
    """Times as numbers: years as they are, dates as months since year 0 (float)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamp = pd.DatetimeIndex(values)
        return np.asarray(stamp.year * 12 + stamp.month - 1, dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def start_end_rows(
    members: pd.DataFrame, keys: list[str], time: str, start: object, end: object
) -> pd.DataFrame:
    """``members`` with the ``start`` and ``end`` periods of their series (``"first"`` and
    ``"last"`` are each series' own), keeping only the rows at those two periods."""
    out = members
    ends: tuple[tuple[str, Any, Literal["min", "max"]], ...] = (
        ("start", start, "min"),
        ("end", end, "max"),
    )
    for name, value, how in ends:
        if isinstance(value, str) and value in ("first", "last"):
            if (name, value) not in (("start", "first"), ("end", "last")):
                allowed = "first" if name == "start" else "last"
                raise ValueError(f"{name} may be a period or {allowed!r}, not {value!r}")
            periods = (
                out.groupby(keys, sort=False, dropna=False)[time].transform(how)
                if keys
                else pd.Series(getattr(out[time], how)(), index=out.index)
            )
            out = out.assign(**{name: periods})
        else:
            out = out.assign(**{name: value})
    out = out[out["start"] != out["end"]]
    return out[(out[time] == out["start"]) | (out[time] == out["end"])]
