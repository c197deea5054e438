"""Gaps between each group and a reference group, per period.

The reference-group lookup (:func:`split_by_reference`, :func:`reference_rows`) and the
orientation by the outcome's better direction live here once; :mod:`.change` uses them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._checks import check_level, require_columns
from c2c_analysis._rows import resolve_rows
from c2c_analysis.schema import ALL_STUDENTS, better_direction

__all__ = [
    "all_students_rows",
    "basis_notes",
    "best_groups",
    "check_better",
    "gaps",
    "orientation",
    "reference_rows",
    "require_values",
    "row_rates",
    "scale_free",
    "series_keys",
    "split_by_reference",
]

#: What a reference can be (for messages).
_REFERENCE_KINDS = "a group label, 'best', 'all', or a mapping from dimension to one of these"


def check_better(better: Any) -> str | None:
    """``better`` if it is None, ``"higher"`` or ``"lower"``; a ValueError otherwise."""
    if better is not None and better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher', 'lower' or None, not {better!r}")
    return better


def series_keys(data: pd.DataFrame, time: str, group: str) -> list[str]:
    """The columns of ``data`` that identify one series of groups: partnership, outcome and
    dimension, where present (``time`` and ``group`` excluded)."""
    return [
        c
        for c in ("partnership", "outcome", "dimension")
        if c in data.columns and c not in (time, group)
    ]


def require_values(
    data: pd.DataFrame, time: str, group: str, numerator: str, denominator: str
) -> None:
    """Counts, or a published rate or range, must be there to compare."""
    require_columns(data, (time, group))
    if not ({numerator, denominator} <= set(data.columns) or {"rate", "rate_low"} & set(data)):
        require_columns(data, (numerator, denominator))


def row_rates(
    data: pd.DataFrame, numerator: str, denominator: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each row's rate, cohort, effective number of students and how it is known (one
    resolution for every analysis: :func:`c2c_analysis._rows.resolve_rows`)."""
    resolved = resolve_rows(data, numerator=numerator, denominator=denominator)
    return (
        resolved["rate"].to_numpy(),
        resolved["cohort"].to_numpy(),
        resolved["n_effective"].to_numpy(),
        resolved["basis"].to_numpy(dtype=object),
    )


def split_by_reference(
    data: pd.DataFrame, reference: str | Mapping[str, str]
) -> list[tuple[str, pd.DataFrame]]:
    """``data`` split by the reference its rows are compared with: ``[(reference, rows)]``.

    A single reference applies to every row. A mapping gives each dimension its own; rows of
    dimensions it does not name are left out, and the All students rows go with ``"all"``.
    """
    if isinstance(reference, str):
        return [(reference, data)]
    if not isinstance(reference, Mapping):
        raise TypeError(f"reference is {_REFERENCE_KINDS}; not {type(reference).__name__}")
    if "dimension" not in data.columns:
        raise ValueError("a reference per dimension needs a 'dimension' column")
    dimensions_by_reference: dict[str, list[str]] = {}
    for dimension, label in reference.items():
        if not isinstance(label, str):
            raise TypeError(f"reference for dimension {dimension!r} must be text, not {label!r}")
        dimensions_by_reference.setdefault(label, []).append(dimension)
    parts = []
    for label, dimensions in dimensions_by_reference.items():
        keep = data["dimension"].isin(dimensions)
        if label == "all":
            keep |= data["dimension"] == "all"
        parts.append((label, data[keep]))
    return parts


def _lower_is_better(frame: pd.DataFrame, better: str | None) -> np.ndarray:
    """True per row whose outcome improves downwards: ``better`` when given, else the
    catalogue's direction of each row's ``outcome`` (looked up once per distinct outcome),
    else higher is better."""
    if better is not None or "outcome" not in frame.columns:
        return np.full(len(frame), better == "lower")
    outcomes = frame["outcome"]
    direction = {o: better_direction(str(o)) == "lower" for o in pd.unique(outcomes)}
    return outcomes.map(direction).to_numpy(dtype=bool)


def orientation(frame: pd.DataFrame, better: str | None = None) -> np.ndarray:
    """+1 per row where higher is better, -1 where lower is better (``better``, or from
    each row's ``outcome`` in the catalogue; +1 without either)."""
    return np.where(_lower_is_better(frame, better), -1.0, 1.0)


def best_groups(
    frame: pd.DataFrame, keys: list[str], time: str, group: str, better: str | None = None
) -> pd.DataFrame:
    """The group with the best rate (in the better direction) per keys and time, from a
    frame with ``_rate``; ties go to the first row."""
    members = frame[frame[group] != ALL_STUDENTS].dropna(subset=["_rate"])
    lower = _lower_is_better(members, better)
    members = members.assign(_score=np.where(lower, -members["_rate"], members["_rate"]))
    return (
        members.sort_values("_score", ascending=False, kind="stable")
        .drop_duplicates([*keys, time])
        .drop(columns="_score")
    )


def all_students_rows(frame: pd.DataFrame, keys: list[str], time: str, group: str) -> pd.DataFrame:
    """The All students row of each member series' partnership, outcome and period, keyed
    like the member series (so it merges on their dimension)."""
    if "dimension" not in frame.columns:
        raise ValueError("reference='all' needs a 'dimension' column with an 'all' dimension")
    overall = frame[frame[group] == ALL_STUDENTS].drop(columns="dimension")
    members = frame[frame["dimension"] != "all"][[*keys, time]].drop_duplicates()
    return members.merge(overall, on=[k for k in keys if k != "dimension"] + [time], how="left")


def reference_rows(
    frame: pd.DataFrame,
    reference: str,
    keys: list[str],
    time: str,
    group: str,
    *,
    better: str | None = None,
    chosen_at: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The reference's row per keys and time: the one lookup of a reference group.

    ``frame`` holds ``keys``, ``time``, ``group`` and private value columns (``_rate``,
    ``_n``, ...). ``reference`` is a group label, ``"all"`` (the All students row of the
    same partnership, outcome and period) or ``"best"`` (the best group per keys and time;
    with ``chosen_at``, a subset of ``frame`` such as each series' first period, the group
    best there, kept at every time). Returns keys, time, ``reference`` (the reference's
    label) and each value column ``_x`` as ``reference_x``.
    """
    if reference == "all":
        chosen = all_students_rows(frame, keys, time, group)
    elif reference == "best" and chosen_at is not None:
        best = best_groups(chosen_at, keys, time, group, better)[[*keys, group]]
        chosen = frame.merge(best, on=[*keys, group])
    elif reference == "best":
        chosen = best_groups(frame, keys, time, group, better)
    else:
        chosen = frame[frame[group] == reference]
    values = [c for c in frame.columns if c.startswith("_")]
    renames = {group: "reference", **{c: f"reference{c}" for c in values}}
    return chosen.rename(columns=renames)[[*keys, time, *renames.values()]]


def _newcombe(
    p1: np.ndarray, n1: np.ndarray, p2: np.ndarray, n2: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for p1 - p2 (his method 10), from Wilson limits.

    Not statsmodels' ``confint_proportions_2indep(method="newcomb")``, although it is the
    same formula and agrees to the last digit on exact counts (tested): it centres the
    interval on count / nobs, while a rate derived from a published rounded rate or range
    has an effective number of students that is not a whole number. Here each side's Wilson
    limits come from its rounded count, and the interval stays centred on the rate itself.
    """
    alpha = 1 - level
    # statsmodels is imported here, not at the top: `import c2c_analysis` stays quick.
    from statsmodels.stats.proportion import proportion_confint

    l1, u1 = proportion_confint(np.round(p1 * n1), n1, alpha=alpha, method="wilson")
    l2, u2 = proportion_confint(np.round(p2 * n2), n2, alpha=alpha, method="wilson")
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def scale_free(p: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """Ratio and odds ratio of the group to the reference (both group / reference), and
    the probit gap (reference minus group, like ``gap_pp`` before orientation)."""
    from scipy.special import ndtri  # scipy loads on first use: `c2c validate` never needs it

    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ratio": p / q,
            "odds_ratio": (p / (1 - p)) / (q / (1 - q)),
            "probit_gap": ndtri(q) - ndtri(p),
        }


_BASIS_WORDS = {
    "rate": "a published rounded rate",
    "range": "the middle of a published range",
    "rate_only": "a published rate without a cohort count (no interval)",
    "withheld": "no value (withheld)",
}


def basis_notes(basis: pd.Series, reference_basis: pd.Series) -> np.ndarray:
    """Per gap, a note where either side is not exact counts (its interval is wider)."""
    notes = np.full(len(basis), "", dtype=object)
    for side, column in (("group", basis), ("reference", reference_basis)):
        values = column.to_numpy(dtype=object)
        for kind, words in _BASIS_WORDS.items():
            hit = values == kind
            notes[hit] = notes[hit] + np.where(notes[hit] == "", "", "; ") + f"{side}: {words}"
    return notes


def gaps(
    data: pd.DataFrame,
    *,
    reference: str | Mapping[str, str],
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
    better: str | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Gap between each group and a reference group, per period.

    Parameters
    ----------
    data : DataFrame
        The canonical outcome table (or any table with these columns). Gaps are computed
        within each partnership, outcome, dimension and period present.
    reference : str or mapping
        A group label (``"White"``), ``"best"`` (the group with the best rate in the
        dimension that period, in the outcome's better direction), or ``"all"`` (the All
        students row of the same partnership, outcome and period). A mapping gives each
        dimension its own, e.g. ``{"race_ethnicity": "White", "gender": "best"}``; rows of
        dimensions it does not name are left out.
    time, group, numerator, denominator : str
        Columns.
    better : {"higher", "lower"}, optional
        The favourable direction of every row's outcome. Default None: each row's
        ``outcome`` in the catalogue (:func:`c2c_analysis.schema.better_direction`), and
        higher without an ``outcome`` column.
    level : float
        Confidence level of the gap's interval.

    Returns
    -------
    DataFrame
        One row per period and non-reference group, with the key columns, ``time``,
        ``group`` and ``reference``, then ``rate``, ``reference_rate``, ``n``,
        ``reference_n``, ``gap_pp`` (reference minus group, in percentage points, signed so
        that a positive gap means the group is behind: for outcomes where lower is better,
        such as chronic absence, it is group minus reference), ``gap_ci_lower_pp``,
        ``gap_ci_upper_pp`` (Newcombe's hybrid score interval), ``ratio`` (rate of the
        group / rate of the reference), ``odds_ratio`` (odds of the group / odds of the
        reference, the same orientation as ``ratio``: both are below 1 when the group's
        rate is lower) and ``probit_gap`` (Φ⁻¹(reference) − Φ⁻¹(group)). ``ratio``,
        ``odds_ratio`` and ``probit_gap`` compare the rates as they are, whatever the
        outcome's better direction (only ``gap_pp`` and its interval are oriented);
        ``basis`` and ``reference_basis`` (how each rate is known: ``counts``, ``rate``,
        ``range``, ``rate_only``, ``withheld``) and ``note`` (which side's rate is
        derived from a published rate or range, whose rounding or width widens the
        interval).

    Notes
    -----
    Groups whose counts are withheld get NaN gaps. The interval treats the group and the
    reference as independent samples; with ``reference="all"`` the group is part of the
    reference, so the interval is conservative.

    References
    ----------
    Newcombe (1998), Interval estimation for the difference between independent proportions:
    comparison of eleven methods. Statistics in Medicine 17:873-890 (method 10).
    Ho & Reardon (2012), Estimating achievement gaps from test scores reported in ordinal
    "proficiency" categories. J. Educational and Behavioral Statistics 37(4) (probit gaps).

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' "
    ...     "and dimension == 'race_ethnicity'")
    >>> out = gaps(data, reference="White").query("group == 'Black' and year in [2012, 2015]")
    >>> out["gap_pp"].round(1).tolist()
    [14.9, 3.1]
    """
    require_values(data, time, group, numerator, denominator)
    level = check_level(level)
    better = check_better(better)
    keys = series_keys(data, time, group)
    rate, n, n_eff, basis = row_rates(data, numerator, denominator)
    frame = data[[*keys, time, group]].assign(_rate=rate, _n=n, _n_eff=n_eff, _basis=basis)
    refs = pd.concat(
        [
            reference_rows(part, label, keys, time, group, better=better)
            for label, part in split_by_reference(frame, reference)
        ],
        ignore_index=True,
    )
    if "dimension" in frame:
        frame = frame[frame["dimension"] != "all"]
    frame = frame.rename(columns={"_rate": "rate", "_n": "n", "_basis": "basis"})
    out = frame.merge(refs, on=[*keys, time], how="inner")
    out = out[out[group] != out["reference"]].reset_index(drop=True)
    sign = orientation(out, better)
    # The interval weighs each side by its effective number of students: a rounded or
    # range-coded rate tells less than its cohort's count would, so its gap is less sure.
    p, q, n1, n2 = (
        out["rate"].to_numpy(),
        out["reference_rate"].to_numpy(),
        out["_n_eff"].to_numpy(),
        out["reference_n_eff"].to_numpy(),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = _newcombe(q, n2, p, n1, level)  # interval of reference - group
        lo_pp, hi_pp = 100 * sign * low, 100 * sign * high
        columns = {
            "gap_pp": 100 * sign * (q - p),
            "gap_ci_lower_pp": np.minimum(lo_pp, hi_pp),
            "gap_ci_upper_pp": np.maximum(lo_pp, hi_pp),
            **scale_free(p, q),
        }
    out = out.assign(**columns, note=basis_notes(out["basis"], out["reference_basis"]))
    return out[
        [
            *keys, time, group, "reference", "rate", "reference_rate", "n", "reference_n",
            *columns, "basis", "reference_basis", "note",
        ]
    ]  # fmt: skip
