"""Small helpers shared by the analysis modules (private)."""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def group_codes(*columns: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row for the combination of ``columns`` (in order of first
    appearance) and the row of each group's first appearance.

    Combining per-column integer codes is much faster than factorizing a MultiIndex, which
    builds a tuple per row (seconds for a million rows)."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        codes, uniques = pd.factorize(np.asarray(column), use_na_sentinel=False)
        combined = combined * (len(uniques) + 1) + codes
    codes, _ = pd.factorize(combined)
    first = np.full(codes.max() + 1 if len(codes) else 0, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes.astype(np.int64), first


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types: frames become lists of records, NaN and NA become
    None, numpy scalars Python numbers, dates ISO text, paths text, anything else its text."""
    if isinstance(value, pd.DataFrame):
        return [json_safe(r) for r in value.to_dict("records")]
    if isinstance(value, pd.Series):
        return json_safe(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, pd.Timestamp | _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value if isinstance(value, str) else str(value)
