"""Series and periods of an outcome table, as :func:`trend` and :func:`project_baseline` need
them (private module of :mod:`c2c_analysis.trends`, public names).

Both sort the table by series and period once, resolve every row once
(:func:`c2c_analysis._rows.resolve_rows`), number the series (:func:`series_codes`) and work
on all of them at once with group-wise numpy sums.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from c2c_analysis._arrays import group_codes
from c2c_analysis._checks import require_columns
from c2c_analysis._rows import resolve_rows
from c2c_analysis.schema import KEY_COLUMNS
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["ends", "is_datetime", "period_number", "prepare", "series_codes", "series_keys"]


def series_keys(data: pd.DataFrame, by: str | Sequence[str] | None, time: str) -> list[str]:
    """The columns that identify a series: ``by``, or the canonical key columns present."""
    if by is None:
        return [c for c in KEY_COLUMNS if c in data.columns and c != time]
    keys = [by] if isinstance(by, str) else list(by)
    require_columns(data, keys)
    return keys


def prepare(
    data: pd.DataFrame,
    keys: list[str],
    time: str,
    numerator: str,
    denominator: str,
    *,
    need_counts: bool,
) -> pd.DataFrame:
    """A sorted copy (series, then time) with ``_num``, ``_den``, ``_rate`` and ``_use``.

    Each row is resolved once (:func:`c2c_analysis._rows.resolve_rows`): exact counts, or a
    published rate or range with its cohort count as effective counts (``_num`` successes of
    ``_den`` effective students, so rounding and ranges widen the intervals), or a rate
    alone. ``_use`` marks rows with a usable value (effective counts, for the binomial fit)
    and a period; ``_basis`` says how each row is known, ``_cohort`` is its cohort count
    and ``_t`` its period as a number (:func:`period_number`).
    """
    require_columns(data, [time])
    if need_counts and not {numerator, denominator, "rate"} & set(data.columns):
        require_columns(data, [numerator, denominator])
    frame = data.copy()
    frame["_t"] = period_number(frame[time], time)
    resolved = resolve_rows(frame, numerator=numerator, denominator=denominator)
    ranged = resolved["from_range"].to_numpy()
    if ranged.any():
        warnings.warn(
            f"{int(ranged.sum())} range-coded row(s) (rate_low-rate_high, no exact rate) are "
            "used at the midpoint of their range, with the range's width in their uncertainty",
            C2CDataWarning,
            stacklevel=3,
        )
    weighted = resolved["n_effective"].notna().to_numpy()
    frame["_num"] = resolved["successes"].to_numpy()
    frame["_den"] = resolved["n_effective"].to_numpy()
    frame["_rate"] = resolved["rate"].to_numpy()
    frame["_basis"] = resolved["basis"].to_numpy()
    frame["_cohort"] = resolved["cohort"].to_numpy()
    rate = frame["_rate"].to_numpy()
    timed = np.isfinite(frame["_t"].to_numpy())
    frame["_use"] = (weighted if need_counts else np.isfinite(rate)) & timed
    frame = frame[timed].sort_values([*keys, time], kind="stable").reset_index(drop=True)
    duplicated = frame.duplicated([*keys, time])
    if duplicated.any():
        example = frame.loc[duplicated, [*keys, time]].iloc[0].to_dict()
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": str(example),
                    "problem": f"{int(duplicated.sum())} row(s) repeat a series and period; "
                    "pass by= with the columns that tell the series apart",
                }
            ]
        )
    return frame


def series_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Series number of each row, and one row of key values per series (in order)."""
    if not keys:
        return np.zeros(len(frame), dtype=int), pd.DataFrame(index=[0])
    codes, first = group_codes(*(frame[k].to_numpy() for k in keys))
    return codes, frame[keys].iloc[first].reset_index(drop=True)


def ends(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each series' first and last row (rows are sorted by time); -1 if none."""
    order = np.arange(len(codes))
    first_idx = np.full(n, -1)
    last_idx = np.full(n, -1)
    first_idx[codes[::-1]] = order[::-1]  # later assignments win: the earliest row
    last_idx[codes] = order
    return first_idx, last_idx


def is_datetime(series: pd.Series) -> bool:
    """Whether ``series`` holds dates (monthly periods)."""
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def period_number(values: pd.Series, time: str) -> np.ndarray:
    """Periods as numbers: numeric periods as they are; dates as months since year 0
    (year * 12 + month - 1, plus the fraction of the month), so monthly data are 1 apart."""
    if is_datetime(values):
        stamp = pd.DatetimeIndex(values)
        months = stamp.year * 12 + stamp.month - 1 + (stamp.day - 1) / stamp.days_in_month
        return np.asarray(months, dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    raise DataValidationError(
        [
            {
                "row": None,
                "column": time,
                "value": str(values.dtype),
                "problem": "the period column must hold numbers (years) or dates (months)",
            }
        ]
    )
