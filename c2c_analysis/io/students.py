"""Student-level records to canonical counts."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, REMOVED_IN, renamed, require_names
from c2c_analysis.schema import (
    ALL_STUDENTS,
    GROUPS,
    NOT_REPORTED,
    normalize_dimension,
    normalize_group,
)
from c2c_analysis.validation import DataValidationError, validate_table

__all__ = ["aggregate_students"]

_MAX_LISTED_DUPLICATES = 1000


def aggregate_students(
    records: pd.DataFrame,
    *,
    value: str | None = None,
    time: str,
    dimensions: Sequence[str] | Mapping[str, str] | None = None,
    partnership: str | None = None,
    outcome: str | None = None,
    id_column: str | None = "student_id",
    by: Any = DEPRECATED,
    outcome_id: Any = DEPRECATED,
) -> pd.DataFrame:
    """Count students into the canonical outcome table.

    Parameters
    ----------
    records : DataFrame or dask.dataframe.DataFrame
        One row per student and period. Not modified. A Dask DataFrame (e.g.
        ``dd.read_parquet`` of a dataset partitioned by year or district) is counted
        partition by partition on its workers and gives the same table as pandas; only
        the counts are computed, never the student rows as a whole.
    value : str
        The student-level column that says whether the student met the outcome: 1/0 or
        True/False. Missing values are an error (a student whose outcome is unknown is not a
        non-graduate). Required.
    time : str
        The period column (e.g. ``class_of``); it becomes ``year`` (or ``period`` for dates).
    dimensions : sequence of str, or mapping
        Demographic columns, one dimension each (required). A sequence names the columns, and the
        dimension is read from the name (``low_income`` -> ``income``); a mapping gives
        ``{column: dimension}``. 1/0 and True/False flags become the dimension's groups
        (``Low income`` / ``Not low income``, ...); text labels are mapped to ours
        (``"Black/ African American"`` -> ``Black``). Missing values become an explicit
        ``Not reported`` group: never dropped.
    partnership : str, optional
        The partnership slug for every row; default: the records' ``partnership`` column.
    outcome : str, optional
        The ``outcome`` id of the result, e.g. ``hs_graduation`` (default: ``value``).
    id_column : str or None
        Student id column; a student counted twice in one period is an error. ``None``
        skips the check.
    by, outcome_id
        Deprecated names of ``dimensions`` and ``outcome`` (removed in 0.3). A call without
        ``value=`` whose ``outcome=`` names a column of ``records`` is the old usage
        (``outcome`` the 0/1 column, ``outcome_id`` the id): it works as before, with a
        ``DeprecationWarning``.

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
    TypeError
        Without ``value`` or ``dimensions``.

    Notes
    -----
    Group-wise counting with integer codes and :func:`numpy.bincount`: memory stays a
    small multiple of the input and time linear in the rows (see
    ``benchmarks/aggregate.py``). On Dask each partition is counted the same way
    (``map_partitions`` with explicit ``meta``) and the partial counts are added by a tree
    reduction (``groupby().sum(split_out=1)``, no shuffle). A student counted twice in a
    period is found within a partition: partition by period or by partnership.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> counts = aggregate_students(load_sample("students"), value="graduated", time="class_of",
    ...                             dimensions=["race_ethnicity", "low_income"],
    ...                             outcome="hs_graduation")
    >>> low_income = counts.query("year == 2015 and group == 'Low income'")
    >>> low_income[["numerator", "denominator"]].values.tolist()
    [[934, 1216]]
    """
    value, outcome = _old_outcome_column(records, value, outcome, outcome_id is not DEPRECATED)
    outcome = renamed("aggregate_students", "outcome_id", outcome_id, "outcome", outcome)
    if value is None:
        raise TypeError(
            "aggregate_students() missing required keyword argument: 'value' (the column of "
            "1/0 outcomes; outcome= is the outcome id)"
        )
    dimensions = renamed("aggregate_students", "by", by, "dimensions", dimensions, default=None)
    if dimensions is None:
        raise TypeError("aggregate_students() missing required keyword argument: 'dimensions'")
    columns = (
        dict(dimensions)
        if isinstance(dimensions, Mapping)
        else {
            c: normalize_dimension(c)
            for c in ([dimensions] if isinstance(dimensions, str) else dimensions)
        }
    )
    options = {
        "value": value,
        "time": time,
        "dimensions": columns,
        "partnership": partnership,
        "id_column": id_column,
    }
    if _is_dask(records):
        _check_columns(records.columns, **options)
        return _aggregate_dask(records, outcome=outcome or value, **options)
    if not isinstance(records, pd.DataFrame):
        raise TypeError(f"aggregate_students expects a DataFrame, not {type(records).__name__}")
    _check_columns(records.columns, **options)
    counts = _partial_counts(records, **options)
    return _finish(counts, records[time].dtype, outcome or value, len(records))


def _old_outcome_column(
    records: Any, value: str | None, outcome: str | None, outcome_id_given: bool
) -> tuple[str | None, str | None]:
    """``value`` (the 0/1 column) and ``outcome`` (the id) of a call, old usage included.

    Before issue 19 ``outcome`` was the column and ``outcome_id`` the id. A call without
    ``value`` is the old usage when it gives ``outcome_id`` or when its ``outcome`` names a
    column of ``records``: it is read so, with a warning, never silently.
    """
    old = outcome_id_given or outcome in set(getattr(records, "columns", ()))
    if value is None and outcome is not None and old:
        warnings.warn(
            "aggregate_students(): the parameter outcome= as the column of 0/1 values is "
            f"deprecated and will be removed in {REMOVED_IN}; use value= instead "
            "(outcome= is now the outcome id, formerly outcome_id=)",
            DeprecationWarning,
            stacklevel=3,
        )
        return outcome, None
    return value, outcome


def _is_dask(records) -> bool:
    # Dask is optional: a frame can only be a Dask DataFrame if dask is already imported.
    module = sys.modules.get("dask.dataframe")
    return module is not None and isinstance(records, module.DataFrame)


def _check_columns(columns, *, value, time, dimensions, partnership, id_column) -> None:
    needed = [value, time, *dimensions]
    if partnership is None:
        needed.append("partnership")
    if id_column is not None and id_column in columns:
        needed.append(id_column)
    require_names(columns, needed, source="aggregate_students")


#: The columns of the per-partition counts, before they are added up and ordered.
_PARTIAL = {
    "partnership": "str",
    "_time": None,  # the records' period dtype
    "_dim": "int64",
    "dimension": "str",
    "group": "str",
    "numerator": "int64",
    "denominator": "int64",
}


def _partial_meta(time_dtype) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=time_dtype if d is None else d) for c, d in _PARTIAL.items()}
    )


def _period_values(values: pd.Series) -> pd.Series:
    """Periods as their own values: a categorical period (a Parquet dataset partitioned by
    year reads its partition column as categories) becomes its categories' values."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(values.cat.categories.dtype)
    return values


def _partial_counts(
    records: pd.DataFrame, *, value, time, dimensions, partnership, id_column
) -> pd.DataFrame:
    """Students and students meeting the outcome per partnership, period, dimension and
    group of ``records`` (one partition, or the whole table), in the columns of
    :data:`_PARTIAL`; groups without students are left out."""
    labels = records.index.to_numpy()
    met = _outcome_values(records[value], labels, value)
    period = _period_values(records[time])
    time_codes, time_values = _codes(period)
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
    counts["partnership"] = part_values[slot // n_time]
    counts["_time"] = pd.Series(time_values[slot % n_time]).astype(period.dtype).to_numpy()
    out = counts[list(_PARTIAL)]
    return out.astype({c: d for c, d in _PARTIAL.items() if d is not None})


def _finish(counts: pd.DataFrame, time_dtype, outcome: str, n_records: int) -> pd.DataFrame:
    """The canonical table from added-up counts: every partnership and period, All students
    first, then each dimension's groups in the vocabulary's order (Not reported last)."""
    time_name = "period" if pd.api.types.is_datetime64_any_dtype(time_dtype) else "year"
    ranks = counts[["dimension", "group"]].drop_duplicates()
    # One entry per distinct group label, not per row.
    ranks["_vocabulary"] = [
        {g: i for i, g in enumerate(GROUPS.get(d, ()))}.get(g, len(GROUPS.get(d, ())))
        for d, g in zip(ranks["dimension"], ranks["group"], strict=True)
    ]
    counts = counts.merge(ranks, on=["dimension", "group"], how="left")
    counts["_not_reported"] = counts["group"] == NOT_REPORTED
    counts = counts.sort_values(
        ["partnership", "_time", "_dim", "_vocabulary", "_not_reported", "group"], kind="stable"
    )
    out = pd.DataFrame(
        {
            "partnership": counts["partnership"].to_numpy(dtype=object),
            "outcome": outcome,
            time_name: counts["_time"].to_numpy(),
            "dimension": counts["dimension"].to_numpy(dtype=object),
            "group": counts["group"].to_numpy(dtype=object),
            "numerator": counts["numerator"].to_numpy(dtype=np.int64),
            "denominator": counts["denominator"].to_numpy(dtype=np.int64),
        }
    )
    out["source"] = f"aggregated from {n_records} student records"
    return validate_table(out, source="aggregate_students", aliases=False)


def _aggregate_dask(records, *, outcome: str, **options) -> pd.DataFrame:
    """Count a Dask DataFrame: each partition is counted on its worker, the partial counts
    are added up by a tree reduction (groupby-sum, no shuffle of students), and only the
    small table of counts comes back. Duplicate student ids are found within a partition
    (partition a dataset by period or by partnership, so that one student's rows for a
    period sit in one partition)."""
    time_dtype = _period_values(records[options["time"]]._meta).dtype
    counts = _dask_counts(records, time_dtype, **options).compute().reset_index()
    n_records = int(counts.loc[counts["_dim"] == 0, "denominator"].sum())
    return _finish(counts, time_dtype, outcome, n_records)


def _dask_counts(records, time_dtype, **options):
    """The lazy added-up counts of a Dask DataFrame (see :func:`_aggregate_dask`)."""
    partial = records.map_partitions(_partial_counts, **options, meta=_partial_meta(time_dtype))
    keys = ["partnership", "_time", "_dim", "dimension", "group"]
    # split_out=1: a tree of partial sums (split_every at a time), never a shuffle.
    return partial.groupby(keys, sort=False, dropna=False)[["numerator", "denominator"]].sum(
        split_out=1
    )


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
