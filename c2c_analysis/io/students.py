"""Student-level records to canonical counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from c2c_analysis.schema import (
    ALL_STUDENTS,
    GROUPS,
    NOT_REPORTED,
    normalize_dimension,
    normalize_group,
)
from c2c_analysis.validation import DataValidationError, _validate

__all__ = ["aggregate_students"]

_MAX_LISTED_DUPLICATES = 1000


def aggregate_students(
    records: pd.DataFrame,
    *,
    outcome: str,
    time: str,
    by: Sequence[str] | Mapping[str, str],
    partnership: str | None = None,
    outcome_id: str | None = None,
    id_column: str | None = "student_id",
) -> pd.DataFrame:
    """Count students into the canonical outcome table.

    Parameters
    ----------
    records : DataFrame
        One row per student and period. Not modified.
    outcome : str
        The column that says whether the student met the outcome: 1/0 or True/False.
        Missing values are an error (a student whose outcome is unknown is not a
        non-graduate).
    time : str
        The period column (e.g. ``class_of``); it becomes ``year`` (or ``period`` for dates).
    by : sequence of str, or mapping
        Demographic columns, one dimension each. A sequence names the columns, and the
        dimension is read from the name (``low_income`` -> ``income``); a mapping gives
        ``{column: dimension}``. 1/0 and True/False flags become the dimension's groups
        (``Low income`` / ``Not low income``, ...); text labels are mapped to ours
        (``"Black/ African American"`` -> ``Black``). Missing values become an explicit
        ``Not reported`` group: never dropped.
    partnership : str, optional
        The partnership slug for every row; default: the records' ``partnership`` column.
    outcome_id : str, optional
        The ``outcome`` id of the result (default: ``outcome``).
    id_column : str or None
        Student id column; a student counted twice in one period is an error. ``None``
        skips the check.

    Returns
    -------
    DataFrame
        The canonical outcome table: per partnership and period, an ``All students`` row and
        one row per group of every dimension, with ``numerator`` (students who met the
        outcome), ``denominator`` (students) and ``rate``. Every dimension adds up to All
        students.

    Raises
    ------
    DataValidationError
        Missing columns; outcome values other than 0/1; missing periods; duplicate student
        ids within a period (each listed by row).

    Notes
    -----
    Group-wise counting with integer codes and :func:`numpy.bincount`: memory stays a
    small multiple of the input and time linear in the rows (see
    ``benchmarks/aggregate.py``).

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> counts = aggregate_students(load_sample("students"), outcome="graduated", time="class_of",
    ...                             by=["race_ethnicity", "low_income"], outcome_id="hs_graduation")
    >>> low_income = counts.query("year == 2015 and group == 'Low income'")
    >>> low_income[["numerator", "denominator"]].values.tolist()
    [[934, 1216]]
    """
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"aggregate_students expects a DataFrame, not {type(records).__name__}")
    dimensions = (
        dict(by)
        if isinstance(by, Mapping)
        else {c: normalize_dimension(c) for c in ([by] if isinstance(by, str) else by)}
    )
    needed = [outcome, time, *dimensions]
    if partnership is None:
        needed.append("partnership")
    if id_column is not None and id_column in records.columns:
        needed.append(id_column)
    problems = [
        {"row": None, "column": c, "value": "", "problem": "required column is missing"}
        for c in dict.fromkeys(needed)
        if c not in records.columns
    ]
    if problems:
        raise DataValidationError(problems, source="aggregate_students")

    labels = records.index.to_numpy()
    met = _outcome_values(records[outcome], labels, outcome)
    time_codes, time_values = _codes(records[time])
    if (time_codes < 0).any():
        bad = np.flatnonzero(time_codes < 0)
        raise DataValidationError(
            [
                {"row": labels[i], "column": time, "value": "", "problem": "period is missing"}
                for i in bad[:_MAX_LISTED_DUPLICATES]
            ],
            source="aggregate_students",
        )
    if partnership is None:
        part_codes, part_values = _codes(records["partnership"].fillna(NOT_REPORTED).astype(str))
    else:
        part_codes, part_values = (
            np.zeros(len(records), dtype=np.int64),
            np.array([partnership], dtype=object),
        )
    n_time, n_part = len(time_values), len(part_values)
    if id_column is not None and id_column in records.columns:
        _check_duplicates(records[id_column], part_codes * n_time + time_codes, labels, id_column)

    frames = []
    base = part_codes * n_time + time_codes
    everyone = np.zeros(len(records), dtype=np.int64)
    frames.append(
        _count(base, everyone, met, n_part * n_time, [ALL_STUDENTS], "all").assign(_dim=0)
    )
    for position, (column, dimension) in enumerate(dimensions.items(), start=1):
        group_codes, group_labels = _group_codes(records[column], dimension)
        frame = _count(base, group_codes, met, n_part * n_time, group_labels, dimension)
        frames.append(frame.assign(_dim=position))
    counts = pd.concat(frames, ignore_index=True)
    slot = counts.pop("_base").to_numpy()
    counts.insert(0, "partnership", part_values[slot // n_time])
    counts.insert(1, "outcome", outcome_id or outcome)
    time_name = "period" if pd.api.types.is_datetime64_any_dtype(records[time].dtype) else "year"
    counts.insert(2, time_name, time_values[slot % n_time])
    counts["source"] = f"aggregated from {len(records)} student records"
    counts = counts.sort_values(["partnership", time_name, "_dim", "_order"], kind="stable")
    counts = counts.drop(columns=["_dim", "_order"])
    return _validate(counts.reset_index(drop=True), source="aggregate_students", aliases=False)


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _outcome_values(values: pd.Series, labels: np.ndarray, column: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):
        numeric = values.to_numpy(dtype="float64", na_value=np.nan)
    else:
        numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        rows = np.flatnonzero(bad)
        raw = values.to_numpy(dtype=object)
        raise DataValidationError(
            [
                {
                    "row": labels[i],
                    "column": column,
                    "value": "" if pd.isna(raw[i]) else str(raw[i]),
                    "problem": "outcome must be 1/0 or True/False (missing outcomes are not 0)",
                }
                for i in rows[:_MAX_LISTED_DUPLICATES]
            ],
            source="aggregate_students",
        )
    return numeric


def _check_duplicates(ids: pd.Series, period: np.ndarray, labels: np.ndarray, column: str) -> None:
    id_codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    key = pd.Series(period * (len(uniques) + 1) + id_codes.astype(np.int64))
    duplicated = key.duplicated(keep=False).to_numpy() & (id_codes >= 0)
    if duplicated.any():
        rows = np.flatnonzero(duplicated)
        raw = ids.to_numpy(dtype=object)
        raise DataValidationError(
            [
                {
                    "row": labels[i],
                    "column": column,
                    "value": str(raw[i]),
                    "problem": "student appears more than once in the same period",
                }
                for i in rows[:_MAX_LISTED_DUPLICATES]
            ],
            source="aggregate_students",
            notes=[f"{len(rows)} rows share a student id and period"]
            if len(rows) > _MAX_LISTED_DUPLICATES
            else [],
        )


def _group_codes(values: pd.Series, dimension: str) -> tuple[np.ndarray, list[str]]:
    """Group code of every student (``Not reported`` for missing) and the group labels."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    vocabulary = GROUPS.get(dimension, ())
    flags = len(uniques) and all(
        isinstance(u, bool | np.bool_) or (isinstance(u, int | float | np.number) and u in (0, 1))
        for u in uniques
    )
    if flags and len(vocabulary) >= 3 and dimension != "gender":
        names = [vocabulary[0] if bool(u) else vocabulary[1] for u in uniques]
    elif flags:
        names = [f"{dimension}: {'yes' if bool(u) else 'no'}" for u in uniques]
    else:
        names = [
            normalize_group(str(u), dimension) if str(u).strip() else NOT_REPORTED for u in uniques
        ]
    labels = list(dict.fromkeys([*names, NOT_REPORTED]))
    position = {name: i for i, name in enumerate(labels)}
    lookup = np.array([position[n] for n in names] + [position[NOT_REPORTED]], dtype=np.int64)
    mapped = lookup[np.where(codes < 0, len(names), codes)]
    order = {g: i for i, g in enumerate(vocabulary)}
    ranked = sorted(
        range(len(labels)),
        key=lambda i: (order.get(labels[i], len(order)), labels[i] == NOT_REPORTED, labels[i]),
    )
    rank = np.empty(len(labels), dtype=np.int64)
    rank[ranked] = np.arange(len(labels))
    return rank[mapped], [labels[i] for i in ranked]


def _count(
    base: np.ndarray,
    groups: np.ndarray,
    met: np.ndarray,
    n_base: int,
    labels: list[str],
    dimension: str,
) -> pd.DataFrame:
    n_groups = len(labels)
    key = base * n_groups + groups
    size = n_base * n_groups
    denominator = np.bincount(key, minlength=size)
    numerator = np.bincount(key, weights=met, minlength=size)
    present = np.flatnonzero(denominator)
    return pd.DataFrame(
        {
            "_base": present // n_groups,
            "dimension": dimension,
            "group": [labels[g] for g in present % n_groups],
            "numerator": numerator[present].astype(np.int64),
            "denominator": denominator[present].astype(np.int64),
            "_order": present % n_groups,
        }
    )
