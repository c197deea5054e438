"""Gaps between groups, how they changed, and summary measures of inequality.

"Excellence with equity" (Ferguson): gaps should close because every group rises, the lower
ones faster, not because the top group falls. :func:`gap_change` says which of these happened
(:func:`classify_gap_change`). Percentage-point gaps shrink mechanically as rates approach
100%, so the ratio, the odds ratio and the probit gap stand beside them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from c2c_analysis._arrays import join_notes
from c2c_analysis._rows import resolve_rows
from c2c_analysis._time import start_end_rows
from c2c_analysis.schema import ALL_STUDENTS, better_direction
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["GAP_CATEGORIES", "classify_gap_change", "gap_change", "gaps", "inequality"]

#: Every category :func:`classify_gap_change` can return.
GAP_CATEGORIES: tuple[str, ...] = (
    "reversed_lower_ahead",
    "stable_gap_both_improving",
    "stable_gap_both_declining",
    "no_change",
    "stable_gap_other",
    "narrowing_both_improving",
    "narrowing_lower_improving_higher_flat",
    "narrowing_lower_up_higher_down",
    "narrowing_higher_declined",
    "narrowing_both_declining",
    "narrowing_other",
    "widening_both_improving",
    "widening_lower_flat_or_declining",
    "widening_other",
)


def _check_proportions(values: Sequence[np.ndarray], names: Sequence[str]) -> None:
    """Raise a ValueError naming the first value outside [0, 1] (NaN is allowed here)."""
    for name, v in zip(names, values, strict=True):
        arr = np.asarray(v, dtype=float)
        bad = np.isfinite(arr) & ((arr < 0) | (arr > 1))
        bad |= np.isinf(arr)
        if bad.any():
            first = float(arr[bad].flat[0])
            hint = " (percentages? divide by 100)" if 1 < first <= 100 else ""
            raise ValueError(
                f"{name} must be a proportion in [0, 1], not {first!r}{hint}; only tol_pp "
                "is in percentage points"
            )


def _differences_pp(higher_start, higher_end, lower_start, lower_end):
    """Start gap, end gap and the three changes, in percentage points.

    Rounded to 1e-9 points so that a change of exactly τ given as proportions (0.80 ->
    0.81 is 1.0000000000000009 points in binary floating point) counts as within τ, as it
    does when typed in points. The scalar and the vectorized rules share this arithmetic.
    """

    def points(x):
        return np.round(100 * x, 9)

    g_start = points(higher_start - lower_start)
    g_end = points(higher_end - lower_end)
    d_gap = points((higher_end - lower_end) - (higher_start - lower_start))
    d_high = points(higher_end - higher_start)
    d_low = points(lower_end - lower_start)
    return g_start, g_end, d_gap, d_high, d_low


def classify_gap_change(
    higher_start: float,
    higher_end: float,
    lower_start: float,
    lower_end: float,
    *,
    tol_pp: float = 1.0,
) -> str:
    """The kind of change in the gap between the group ahead at the start and the other.

    Parameters
    ----------
    higher_start, higher_end : float
        Rate of the group ahead at the start, at the start and at the end, as proportions
        in [0, 1], oriented so that larger is better (pass 1 - rate for outcomes where
        lower is better, such as chronic absence).
    lower_start, lower_end : float
        The same for the other group.
    tol_pp : float
        Tolerance τ in percentage points: changes within τ points count as no change.

    Returns
    -------
    str
        One of :data:`GAP_CATEGORIES`.

    Raises
    ------
    ValueError
        When a rate is missing or outside [0, 1] (percentages are refused: only ``tol_pp``
        is in points).

    Notes
    -----
    With g = higher - lower, Δ = end - start, all in percentage points (100 × the
    proportions), and τ = ``tol_pp``, the first rule that applies wins:

    1. g_start > τ and g_end < -τ: ``reversed_lower_ahead``;
    2. |Δg| ≤ τ: both Δ > τ ``stable_gap_both_improving``; both Δ < -τ
       ``stable_gap_both_declining``; both |Δ| ≤ τ ``no_change``; else ``stable_gap_other``;
    3. Δg < -τ: both Δ > τ ``narrowing_both_improving``; |Δhigher| ≤ τ and Δlower > τ
       ``narrowing_lower_improving_higher_flat``; Δhigher < -τ and Δlower > τ
       ``narrowing_lower_up_higher_down``; Δhigher < -τ and |Δlower| ≤ τ
       ``narrowing_higher_declined``; both Δ < -τ ``narrowing_both_declining``; else
       ``narrowing_other``;
    4. Δg > τ: both Δ > τ ``widening_both_improving``; Δlower ≤ τ
       ``widening_lower_flat_or_declining``; else ``widening_other`` (which cannot happen
       when τ ≥ 0: Δlower > τ and Δg > τ make Δhigher > 2τ; kept so every input has a
       category).

    Differences are rounded to 1e-9 points before they are compared, so a change of
    exactly τ counts as within τ despite binary floating point.

    Examples
    --------
    >>> classify_gap_change(0.75, 0.86, 0.594, 0.81)  # Tacoma, White vs Black, 2012-2015
    'narrowing_both_improving'
    >>> classify_gap_change(0.80, 0.75, 0.60, 0.62)
    'narrowing_lower_up_higher_down'
    >>> classify_gap_change(75, 86, 59.4, 81)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: higher_start must be a proportion in [0, 1], not 75.0 (percentages? ...
    """
    names = ("higher_start", "higher_end", "lower_start", "lower_end")
    values = [float(v) for v in (higher_start, higher_end, lower_start, lower_end)]
    for name, v in zip(names, values, strict=True):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be a proportion in [0, 1], not {v!r}")
    _check_proportions(values, names)
    tau = tol_pp
    g_start, g_end, d_gap, d_high, d_low = _differences_pp(*values)
    if g_start > tau and g_end < -tau:
        return "reversed_lower_ahead"
    if abs(d_gap) <= tau:
        if d_high > tau and d_low > tau:
            return "stable_gap_both_improving"
        if d_high < -tau and d_low < -tau:
            return "stable_gap_both_declining"
        if abs(d_high) <= tau and abs(d_low) <= tau:
            return "no_change"
        return "stable_gap_other"
    if d_gap < -tau:
        if d_high > tau and d_low > tau:
            return "narrowing_both_improving"
        if abs(d_high) <= tau and d_low > tau:
            return "narrowing_lower_improving_higher_flat"
        if d_high < -tau and d_low > tau:
            return "narrowing_lower_up_higher_down"
        if d_high < -tau and abs(d_low) <= tau:
            return "narrowing_higher_declined"
        if d_high < -tau and d_low < -tau:
            return "narrowing_both_declining"
        return "narrowing_other"
    if d_high > tau and d_low > tau:
        return "widening_both_improving"
    if d_low <= tau:
        return "widening_lower_flat_or_declining"
    return "widening_other"


def _vectorized_categories(
    higher_start: np.ndarray,
    higher_end: np.ndarray,
    lower_start: np.ndarray,
    lower_end: np.ndarray,
    tol_pp: float,
) -> np.ndarray:
    """:func:`classify_gap_change` for arrays of proportions (same rules, same order, same
    arithmetic); ``insufficient_data`` where any value is missing, a ValueError for values
    outside [0, 1]. Tested against the scalar rules."""
    _check_proportions(
        (higher_start, higher_end, lower_start, lower_end),
        ("higher_start", "higher_end", "lower_start", "lower_end"),
    )
    tau = tol_pp
    finite = (
        np.isfinite(higher_start)
        & np.isfinite(higher_end)
        & np.isfinite(lower_start)
        & np.isfinite(lower_end)
    )
    with np.errstate(invalid="ignore"):
        g_start, g_end, d_gap, d_high, d_low = _differences_pp(
            higher_start, higher_end, lower_start, lower_end
        )
        up_high, up_low = d_high > tau, d_low > tau
        down_high, down_low = d_high < -tau, d_low < -tau
        flat_high, flat_low = np.abs(d_high) <= tau, np.abs(d_low) <= tau
        stable, narrowing = np.abs(d_gap) <= tau, d_gap < -tau
        rules = [
            (~finite, "insufficient_data"),
            ((g_start > tau) & (g_end < -tau), "reversed_lower_ahead"),
            (stable & up_high & up_low, "stable_gap_both_improving"),
            (stable & down_high & down_low, "stable_gap_both_declining"),
            (stable & flat_high & flat_low, "no_change"),
            (stable, "stable_gap_other"),
            (narrowing & up_high & up_low, "narrowing_both_improving"),
            (narrowing & flat_high & up_low, "narrowing_lower_improving_higher_flat"),
            (narrowing & down_high & up_low, "narrowing_lower_up_higher_down"),
            (narrowing & down_high & flat_low, "narrowing_higher_declined"),
            (narrowing & down_high & down_low, "narrowing_both_declining"),
            (narrowing, "narrowing_other"),
            (up_high & up_low, "widening_both_improving"),
            (d_low <= tau, "widening_lower_flat_or_declining"),
        ]
    return np.select(
        [condition for condition, _ in rules],
        [label for _, label in rules],
        default="widening_other",
    ).astype(object)


def _keys(data: pd.DataFrame, time: str, group: str) -> list[str]:
    return [
        c
        for c in ("partnership", "outcome", "dimension")
        if c in data.columns and c not in (time, group)
    ]


def _require(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )


def _rates(
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


def _require_values(data: pd.DataFrame, time: str, group: str, numerator: str, denominator: str):
    """Counts, or a published rate or range, must be there to compare."""
    _require(data, (time, group))
    if not ({numerator, denominator} <= set(data.columns) or {"rate", "rate_low"} & set(data)):
        _require(data, (numerator, denominator))


def _by_reference(
    data: pd.DataFrame, reference: str | Mapping[str, str]
) -> list[tuple[str, pd.DataFrame]]:
    """``data`` split by the reference its rows are compared with: ``[(reference, rows)]``.

    A single reference applies to every row. A mapping gives each dimension its own; rows of
    dimensions it does not name are left out, and the All students rows go with ``"all"``.
    """
    if isinstance(reference, str):
        return [(reference, data)]
    if not isinstance(reference, Mapping):
        raise TypeError(
            "reference is a group label, 'best', 'all', or a mapping from dimension to one of "
            f"these; not {type(reference).__name__}"
        )
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


def _lower_is_better(outcomes: pd.Series) -> np.ndarray:
    """True per row whose outcome improves downwards (looked up once per distinct outcome)."""
    direction = {o: better_direction(str(o)) == "lower" for o in pd.unique(outcomes)}
    return outcomes.map(direction).to_numpy(dtype=bool)


def _best_groups(frame: pd.DataFrame, keys: list[str], time: str, group: str) -> pd.DataFrame:
    """The group with the best rate (in the outcome's better direction) per keys and time,
    from a frame with ``_rate``; ties go to the first row."""
    members = frame[frame[group] != ALL_STUDENTS].dropna(subset=["_rate"])
    lower = _lower_is_better(members["outcome"]) if "outcome" in members else False
    members = members.assign(_score=np.where(lower, -members["_rate"], members["_rate"]))
    return (
        members.sort_values("_score", ascending=False, kind="stable")
        .drop_duplicates([*keys, time])
        .drop(columns="_score")
    )


def _reference_rows(
    data: pd.DataFrame,
    reference: str,
    keys: list[str],
    time: str,
    group: str,
    numerator: str,
    denominator: str,
) -> pd.DataFrame:
    """One reference row per (keys, time): keys, time, reference, reference_rate, reference_n."""
    rate, n, n_eff, basis = _rates(data, numerator, denominator)
    frame = data[[*keys, time, group]].assign(_rate=rate, _n=n, _n_eff=n_eff, _basis=basis)
    if reference == "all":
        chosen = _all_students_rows(frame, keys, time, group)
    elif reference == "best":
        chosen = _best_groups(frame, keys, time, group)
    else:
        chosen = frame[frame[group] == reference]
    chosen = chosen.rename(
        columns={
            group: "reference",
            "_rate": "reference_rate",
            "_n": "reference_n",
            "_n_eff": "_reference_n_eff",
            "_basis": "reference_basis",
        }
    )
    return chosen[
        [
            *keys,
            time,
            "reference",
            "reference_rate",
            "reference_n",
            "_reference_n_eff",
            "reference_basis",
        ]
    ]


def _all_students_rows(frame: pd.DataFrame, keys: list[str], time: str, group: str) -> pd.DataFrame:
    """The All students row of each member series' partnership, outcome and period, keyed
    like the member series (so it merges on their dimension)."""
    if "dimension" not in frame.columns:
        raise ValueError("reference='all' needs a 'dimension' column with an 'all' dimension")
    overall = frame[frame[group] == ALL_STUDENTS].drop(columns="dimension")
    members = frame[frame["dimension"] != "all"][[*keys, time]].drop_duplicates()
    return members.merge(overall, on=[k for k in keys if k != "dimension"] + [time], how="left")


def _orientation(frame: pd.DataFrame) -> np.ndarray:
    """+1 per row where higher is better, -1 where lower is better (from ``outcome``)."""
    if "outcome" not in frame:
        return np.ones(len(frame))
    return np.where(_lower_is_better(frame["outcome"]), -1.0, 1.0)


def _newcombe(p1, n1, p2, n2, level):
    """Newcombe's hybrid score interval for p1 - p2 (his method 10), from Wilson limits."""
    alpha = 1 - level
    # statsmodels is imported here, not at the top: `import c2c_analysis` stays quick.
    from statsmodels.stats.proportion import proportion_confint

    l1, u1 = proportion_confint(np.round(p1 * n1), n1, alpha=alpha, method="wilson")
    l2, u2 = proportion_confint(np.round(p2 * n2), n2, alpha=alpha, method="wilson")
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def _scale_free(p: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """Ratio and odds ratio of the group to the reference (both group / reference), and
    the probit gap (reference minus group, like ``gap_pp`` before orientation)."""
    from scipy.special import ndtri  # scipy loads on first use: `c2c validate` never needs it

    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ratio": p / q,
            "odds_ratio": (p / (1 - p)) / (q / (1 - q)),
            "probit_gap": ndtri(q) - ndtri(p),
        }


def gaps(
    data: pd.DataFrame,
    *,
    reference: str | Mapping[str, str],
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
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
    _require_values(data, time, group, numerator, denominator)
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    keys = _keys(data, time, group)
    parts = _by_reference(data, reference)
    refs = pd.concat(
        [
            _reference_rows(part, label, keys, time, group, numerator, denominator)
            for label, part in parts
        ],
        ignore_index=True,
    )
    rate, n, n_eff, basis = _rates(data, numerator, denominator)
    frame = data[[*keys, time, group]].assign(rate=rate, n=n, _n_eff=n_eff, basis=basis)
    if "dimension" in frame:
        frame = frame[frame["dimension"] != "all"]
    out = frame.merge(refs, on=[*keys, time], how="inner")
    out = out[out[group] != out["reference"]].reset_index(drop=True)
    sign = _orientation(out)
    # The interval weighs each side by its effective number of students: a rounded or
    # range-coded rate tells less than its cohort's count would, so its gap is less sure.
    p, q, n1, n2 = (
        out["rate"].to_numpy(),
        out["reference_rate"].to_numpy(),
        out["_n_eff"].to_numpy(),
        out["_reference_n_eff"].to_numpy(),
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = _newcombe(q, n2, p, n1, level)  # interval of reference - group
        lo_pp, hi_pp = 100 * sign * low, 100 * sign * high
        columns = {
            "gap_pp": 100 * sign * (q - p),
            "gap_ci_lower_pp": np.minimum(lo_pp, hi_pp),
            "gap_ci_upper_pp": np.maximum(lo_pp, hi_pp),
            **_scale_free(p, q),
        }
    out = out.assign(**columns, note=_basis_notes(out["basis"], out["reference_basis"]))
    return out[
        [
            *keys, time, group, "reference", "rate", "reference_rate", "n", "reference_n",
            *columns, "basis", "reference_basis", "note",
        ]
    ]  # fmt: skip


_BASIS_WORDS = {
    "rate": "a published rounded rate",
    "range": "the middle of a published range",
    "rate_only": "a published rate without a cohort count (no interval)",
    "withheld": "no value (withheld)",
}


def _basis_notes(basis: pd.Series, reference_basis: pd.Series) -> np.ndarray:
    """Per gap, a note where either side is not exact counts (its interval is wider)."""
    notes = np.full(len(basis), "", dtype=object)
    for side, values in (("group", basis), ("reference", reference_basis)):
        values = values.to_numpy(dtype=object)
        for kind, words in _BASIS_WORDS.items():
            hit = values == kind
            notes[hit] = notes[hit] + np.where(notes[hit] == "", "", "; ") + f"{side}: {words}"
    return notes


def gap_change(
    data: pd.DataFrame,
    *,
    start: object,
    end: object,
    reference: str | Mapping[str, str],
    tol_pp: float = 1.0,
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
    level: float = 0.95,
) -> pd.DataFrame:
    """How each group's gap to the reference changed between two periods, and why.

    Parameters
    ----------
    data : DataFrame
        The canonical outcome table.
    start, end : period, "first" or "last"
        The two periods compared. ``start="first"`` and ``end="last"`` take each series'
        own first and last period (a series is one partnership, outcome and dimension), so
        one call covers outcomes observed over different years; series with a single
        period are left out.
    reference : str or mapping
        As in :func:`gaps`, including a mapping from dimension to reference (``"best"`` is
        decided at ``start`` and kept at ``end``).
    tol_pp : float
        Changes within this many percentage points count as no change (see
        :func:`classify_gap_change`, which receives the rates as proportions, turned to
        1 - rate for outcomes where lower is better).
    time, group, numerator, denominator, level
        As in :func:`gaps`.

    Returns
    -------
    DataFrame
        One row per group and series: key columns, ``group``, ``reference``, ``start``,
        ``end``, ``rate_start``, ``rate_end``, ``reference_rate_start``,
        ``reference_rate_end``, ``change_pp``, ``reference_change_pp``, ``gap_start_pp``,
        ``gap_end_pp``, ``gap_change_pp`` (end minus start; negative is narrowing),
        ``se_gap_change_pp`` (√Σ p(1−p)/n over the four cells, in points), ``z``,
        ``p_value`` (two-sided, normal), ``ratio_start``, ``ratio_end``,
        ``odds_ratio_start``, ``odds_ratio_end``, ``probit_gap_start``, ``probit_gap_end``
        (as in :func:`gaps`: ratio and odds ratio of the group to the reference),
        ``higher`` (which of the two was ahead at the start: ``reference`` or ``group``),
        ``category`` (:func:`classify_gap_change`; ``insufficient_data`` when a rate
        is withheld) and ``note`` (which of the four rates are derived from published rates
        or ranges; their n in the standard error is the effective number of students).

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' "
    ...     "and dimension == 'race_ethnicity'")
    >>> change = gap_change(data, start=2012, end=2015, reference="White")
    >>> row = change.set_index("group").loc["Black"]
    >>> row["category"], round(float(row["gap_change_pp"]), 1)
    ('narrowing_both_improving', -11.9)
    """
    _require_values(data, time, group, numerator, denominator)
    if not (isinstance(start, str) or isinstance(end, str)) and start == end:
        raise ValueError(f"start and end are the same period ({start!r})")
    keys = _keys(data, time, group)
    # Sizes are effective numbers of students: rounded or range-coded rates widen the se.
    rate, _, n_eff, basis = _rates(data, numerator, denominator)
    frame = data[[*keys, time, group]].assign(_rate=rate, _n=n_eff, _basis=basis)
    pairs = []
    for label, part in _by_reference(frame, reference):
        has_dimension = "dimension" in part.columns
        members = part[part["dimension"] != "all"] if has_dimension else part
        members = start_end_rows(members, keys, time, start, end)
        if label == "all":
            refs = _all_students_rows(
                pd.concat(
                    [members.drop(columns=["start", "end"]), part[part["dimension"] == "all"]]
                ),
                keys,
                time,
                group,
            )
        elif label == "best":
            at_start = members[members[time] == members["start"]]
            chosen = _best_groups(at_start, keys, time, group)[[*keys, group]]
            refs = members.drop(columns=["start", "end"]).merge(chosen, on=[*keys, group])
        else:
            refs = members[members[group] == label]
        refs = refs.rename(
            columns={
                group: "reference",
                "_rate": "reference_rate",
                "_n": "reference_n",
                "_basis": "reference_basis",
            }
        )[[*keys, time, "reference", "reference_rate", "reference_n", "reference_basis"]]
        matched = members.merge(refs, on=[*keys, time], how="inner")
        pairs.append(matched[matched[group] != matched["reference"]])
    pairs = pd.concat(pairs, ignore_index=True)
    pair_keys = [*keys, group, "reference", "start", "end"]
    first = pairs[pairs[time] == pairs["start"]].drop(columns=[time])
    last = pairs[pairs[time] == pairs["end"]].drop(columns=[time])
    merged = first.merge(last, on=pair_keys, suffixes=("_start", "_end"))
    sign = _orientation(merged)
    rates_ = {
        f"{prefix}{side}": merged[f"{source}_{side}"].to_numpy(dtype=float)
        for prefix, source in (("rate_", "_rate"), ("reference_rate_", "reference_rate"))
        for side in ("start", "end")
    }
    sizes = {
        f"{source}_{side}": merged[f"{source}_{side}"].to_numpy(dtype=float)
        for source in ("_n", "reference_n")
        for side in ("start", "end")
    }
    with np.errstate(divide="ignore", invalid="ignore"):
        gap_start = 100 * sign * (rates_["reference_rate_start"] - rates_["rate_start"])
        gap_end = 100 * sign * (rates_["reference_rate_end"] - rates_["rate_end"])
        variance = sum(
            rates_[f"{r}{side}"] * (1 - rates_[f"{r}{side}"]) / sizes[f"{nn}_{side}"]
            for r, nn in (("rate_", "_n"), ("reference_rate_", "reference_n"))
            for side in ("start", "end")
        )
        se = 100 * np.sqrt(variance)
        change = gap_end - gap_start
        z = change / se
        scale_free = {
            side: _scale_free(rates_[f"rate_{side}"], rates_[f"reference_rate_{side}"])
            for side in ("start", "end")
        }
    from scipy.special import ndtr

    out = merged[pair_keys].copy()
    columns = {
        **rates_,
        "change_pp": 100 * (rates_["rate_end"] - rates_["rate_start"]),
        "reference_change_pp": 100
        * (rates_["reference_rate_end"] - rates_["reference_rate_start"]),
        "gap_start_pp": gap_start,
        "gap_end_pp": gap_end,
        "gap_change_pp": change,
        "se_gap_change_pp": se,
        "z": z,
        "p_value": 2 * ndtr(-np.abs(z)),
    }
    for measure in ("ratio", "odds_ratio", "probit_gap"):
        for side in ("start", "end"):
            columns[f"{measure}_{side}"] = scale_free[side][measure]
    # Orient so that larger is better, then call the group ahead at the start "higher".
    good = {c: np.where(sign > 0, rates_[c], 1 - rates_[c]) for c in rates_}
    reference_ahead = good["reference_rate_start"] >= good["rate_start"]
    columns["higher"] = np.where(reference_ahead, "reference", "group").astype(object)
    columns["category"] = _vectorized_categories(
        np.where(reference_ahead, good["reference_rate_start"], good["rate_start"]),
        np.where(reference_ahead, good["reference_rate_end"], good["rate_end"]),
        np.where(reference_ahead, good["rate_start"], good["reference_rate_start"]),
        np.where(reference_ahead, good["rate_end"], good["reference_rate_end"]),
        tol_pp,
    )
    notes = [
        _basis_notes(merged[f"_basis_{side}"], merged[f"reference_basis_{side}"])
        for side in ("start", "end")
    ]
    start_note, end_note = notes

    columns["note"] = join_notes(
        len(merged),
        [(start_note != "", "start: " + start_note), (end_note != "", "end: " + end_note)],
    )
    out = out.assign(**columns)
    return out.reset_index(drop=True)


# --- summary measures of inequality (WHO Health Equity Assessment Toolkit) ----------------

_SIMULATIONS = 1000
_INDICATOR_SCALES = (1, 100, 1000)


def inequality(
    data: pd.DataFrame,
    *,
    value: str,
    population: str,
    ordered: bool = False,
    order: Sequence[str] | None = None,
    reference: str | None = None,
    higher_is_better: bool = True,
    se: str | None = None,
    group: str = "group",
    setting_average: float | None = None,
    scale: int = 1,
    sii_model: str = "logit",
    sii_weights: str = "heat",
    level: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Summary measures of inequality across the groups of one dimension, as WHO HEAT names them.

    Parameters
    ----------
    data : DataFrame
        One row per group of one dimension, one setting and one period.
    value : str
        The estimate per group, on the indicator scale ``scale`` (a proportion by default).
    population : str
        The group's population (students), for shares p_j = n_j / Σn.
    ordered : bool
        The groups have a natural order (income bands, quintiles); adds ACI, RCI, SII, RII.
    order : sequence of str, optional
        For ordered groups, their order from the most disadvantaged to the most advantaged
        (default: the order of the rows).
    reference : str, optional
        The reference group for MDRU/MDRW (default: the most advantaged group for ordered
        dimensions, the best-performing group otherwise).
    higher_is_better : bool
        Whether larger values are favourable (graduation) or adverse (chronic absence).
    se : str, optional
        Column of standard errors of the estimates: adds simulation-based confidence
        intervals for the measures other than SII and RII, drawing each estimate from a
        normal distribution (``seed`` fixes the draws), as HEAT does for most measures.
    group : str
        The group label column.
    setting_average : float, optional
        The setting's overall value μ (e.g. the All students rate); default: the
        population-weighted mean of the groups.
    scale : {1, 100, 1000}
        The indicator scale of ``value``, as HEAT declares it: 1 for proportions (the
        default, the unit of the canonical table's ``rate``), 100 for percentages, 1000 for
        rates per 1,000. The logistic SII and RII turn values into counts with it; nothing
        is guessed from the values. With ``sii_model="logit"`` every value must lie in
        [0, ``scale``].
    sii_model : {"logit", "linear"}
        HEAT fits SII and RII with a logistic model of the estimate on the groups' relative
        rank (for rates and proportions); ``"linear"`` is the classic weighted least
        squares line of Pamuk (1985) and Mackenbach & Kunst (1997), weighted by population.
    sii_weights : {"heat", "counts"}
        Weights of the logistic fit. ``"heat"`` reproduces HEAT and healthequal: prior
        weights n_j on top of the n_j binomial trials (effective weight n_j²);
        ``"counts"`` is the binomial likelihood of the counts, each student counted once
        (effective weight n_j). Ignored by the linear model, which weights by n_j either way.
    level : float
        Level of the intervals.
    seed : int or None
        Seed of the simulations.

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``value``, ``scale`` (the unit), ``description``;
        when ``ordered`` or ``se`` is given also ``ci_lower``, ``ci_upper`` (NaN for a
        measure without an interval), ``std_error`` (the delta-method standard error of
        SII, on the scale of ``value``, and of ln RII; NaN for other measures) and
        ``ci_method`` (``"delta_hc1"`` for SII and RII, ``"simulation"`` for measures
        simulated from ``se``, None otherwise). Measures: D, R, PAR, PAF, BGV, BGSD, IDISU,
        IDISW, MDBU, MDBW, MDMU, MDMW, MDRU, MDRW, TI, MLD; and for ordered groups ACI,
        RCI, SII, RII. Values are on the scale of ``value`` except PAF, IDISU and IDISW
        (percent of the setting average) and TI and MLD (× 1000), as in HEAT; RCI is
        ACI / μ (between -1 and 1).

    Raises
    ------
    ValueError
        For a ``scale`` other than 1, 100 or 1000, an unknown ``sii_model`` or
        ``sii_weights``, and (for the logistic SII) a value outside [0, ``scale``], such as
        a percentage with the default ``scale=1``.

    Notes
    -----
    With y_j the estimate, p_j the population share, μ the setting average, y_best the
    best-performing group and y_ref the reference group:
    D = y_high - y_low and R = y_high / y_low, where high and low are the most and least
    advantaged groups for ordered dimensions and the highest and lowest values otherwise;
    PAR = y_best - μ (0 when the best group is not better than μ), PAF = 100·PAR/μ;
    BGV = Σ p_j (y_j - μ)², BGSD = √BGV; IDISU = 100/J Σ |y_j - μ| / μ, IDISW = 100 Σ p_j
    |y_j - μ| / μ; MDBU/MDBW = unweighted/weighted mean |y_j - y_best|; MDMU/MDMW the same
    from μ; MDRU/MDRW from y_ref; TI = 1000 Σ p_j (y_j/μ) ln(y_j/μ); MLD = 1000 Σ p_j
    (-ln(y_j/μ)). For ordered groups with relative rank X_j = Σ_{k<j} p_k + p_j/2:
    ACI = Σ p_j (2X_j - 1) y_j and RCI = ACI / μ.

    SII and RII follow healthequal's ``sii()`` and ``rii()`` (WHO HEAT). With the trials
    N_j = ⌈n_j⌉, the ridit X_j = (Σ_{k<j} N_k + N_j/2) / ΣN (the mid-point of each group's
    share of the cumulative population) and the counts s_j = round(y_j / scale × N_j)
    (half to even, as R rounds), the logistic model logit π_j = a + b·X_j is fitted to
    s_j successes out of N_j with prior weights N_j (R's ``glm(cbind(s, N - s) ~ X,
    weights = N, family = quasibinomial)``). Then SII = scale·(π(1) − π(0)) and
    RII = π(1) / π(0). The linear model fits y_j / scale = a + b·X_j by least squares
    with weights N_j. Intervals are Wald intervals from the delta method with the HC1
    sandwich covariance (the HC0 sandwich times J / (J − 2) for J groups, R's
    ``sandwich::vcovHC(type = "HC1")`` that healthequal asks ``marginaleffects`` for):
    SII ± z·se for SII and exp(ln RII ± z·se(ln RII)) for RII. They need J > 2 and are
    NaN otherwise. The sandwich does not involve the quasi-binomial dispersion.

    HEAT's weighting is debatable. R multiplies the prior weights by the trials of a
    two-column binomial response, so each group enters the likelihood with weight N_j²:
    every student is counted N_j times. A group twice as large pulls four times as hard on
    the curve, so the fit leans on the largest groups beyond what their numbers of
    students warrant (the estimate is no longer the maximum likelihood fit of the counts,
    and it is less efficient), and a binomial standard error taken at face value would be
    too small by a factor of about √N̄. The quasi-binomial dispersion and HEAT's sandwich
    interval absorb that overall factor, not the tilt of the curve. With
    ``sii_weights="counts"`` the fit is the binomial likelihood of the counts themselves,
    each student once, which is what a logistic regression of student-level outcomes on
    the ridit gives; it is the sounder choice for new analyses, while the default
    ``"heat"`` reproduces published HEAT figures.

    References
    ----------
    World Health Organization (2021), Health Equity Assessment Toolkit (HEAT): technical
    notes. Schlotheuber & Hosseinpoor (2022), Summary measures of health inequality: a
    review of existing measures and their application. IJERPH 19(6):3697.
    WHO healthequal R package (github.com/WHOequity/healthequal), ``R/sii.R`` and
    ``R/rii.R``.

    Examples
    --------
    >>> import pandas as pd
    >>> quintiles = pd.DataFrame({"group": ["Q1", "Q2", "Q3", "Q4", "Q5"],
    ...                           "rate": [0.62, 0.70, 0.78, 0.84, 0.90],
    ...                           "n": [500, 450, 400, 350, 300]})
    >>> result = inequality(quintiles, value="rate", population="n", ordered=True)
    >>> result = result.set_index("measure")
    >>> round(float(result.loc["D", "value"]), 2), round(float(result.loc["ACI", "value"]), 4)
    (0.28, 0.0558)
    >>> sii = result.loc["SII"]  # as HEAT: 34.3 points from the lowest to the highest rank
    >>> [round(float(sii[c]), 4) for c in ("value", "ci_lower", "ci_upper")]
    [0.3429, 0.2967, 0.3891]
    >>> each_once = inequality(quintiles, value="rate", population="n", ordered=True,
    ...                        sii_weights="counts").set_index("measure")
    >>> round(float(each_once.loc["SII", "value"]), 4)
    0.3489
    """
    if sii_model not in ("logit", "linear"):
        raise ValueError(f"sii_model must be 'logit' or 'linear', not {sii_model!r}")
    if sii_weights not in ("heat", "counts"):
        raise ValueError(f"sii_weights must be 'heat' or 'counts', not {sii_weights!r}")
    if isinstance(scale, bool) or scale not in _INDICATOR_SCALES:
        raise ValueError(
            f"scale is the indicator scale of {value!r}: 1 (proportions), 100 (percent) or "
            f"1000 (per 1,000), not {scale!r}"
        )
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    frame = data
    if ordered and order is not None:
        position = {g: i for i, g in enumerate(order)}
        missing = [g for g in frame[group] if g not in position]
        if missing:
            raise ValueError(f"groups not in order: {missing}")
        frame = (
            frame.assign(_pos=frame[group].map(position))
            .sort_values("_pos", kind="stable")
            .drop(columns="_pos")
        )
    y = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(frame[population], errors="coerce").to_numpy(dtype=float)
    usable = np.isfinite(y) & np.isfinite(n) & (n > 0)
    if usable.sum() < 2:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": value,
                    "value": "",
                    "problem": "at least two groups with a value and a population are needed",
                }
            ]
        )
    labels = frame[group].astype(str).to_numpy()[usable]
    y, n = y[usable], n[usable]
    if ordered and sii_model == "logit":
        outside = (y < 0) | (y > scale)
        if outside.any():
            hint = " (percentages? pass scale=100)" if scale == 1 and np.all(y <= 100) else ""
            raise ValueError(
                f"{value!r} must lie in [0, {scale}] for the logistic SII with scale={scale}; "
                f"group {labels[outside][0]!r} has {float(y[outside][0])!r}{hint}"
            )
    ref_index = None
    if reference is not None:
        if reference not in labels:
            raise ValueError(f"reference group {reference!r} is not among the groups")
        ref_index = int(np.flatnonzero(labels == reference)[0])
    point = {
        m: float(v)
        for m, v in _measures(
            y, n, ordered=ordered, ref_index=ref_index, higher=higher_is_better, mu=setting_average
        ).items()
    }
    slope = None
    if ordered:
        slope = _sii_rii(y, n, scale=scale, model=sii_model, weights=sii_weights, level=level)
        point["SII"], point["RII"] = slope["SII"][0], slope["RII"][0]
    table = pd.DataFrame(
        [
            {"measure": m, "value": v, "scale": _SCALES[m], "description": _DESCRIPTIONS[m]}
            for m, v in point.items()
        ]
    )
    if se is None and not ordered:
        return table
    lower = np.full(len(table), np.nan)
    upper = np.full(len(table), np.nan)
    std_error = np.full(len(table), np.nan)
    method = np.full(len(table), None, dtype=object)
    if se is not None:
        errors = pd.to_numeric(frame[se], errors="coerce").to_numpy(dtype=float)[usable]
        rng = np.random.default_rng(seed)
        draws = rng.normal(y, errors, size=(_SIMULATIONS, len(y)))
        # Every draw at once: each measure is an array over the draws.
        simulated = _measures(
            draws, n, ordered=ordered, ref_index=ref_index, higher=higher_is_better,
            mu=setting_average,
        )  # fmt: skip
        alpha = (1 - level) / 2
        for i, m in enumerate(table["measure"]):
            if m in simulated:
                lower[i] = np.nanquantile(simulated[m], alpha)
                upper[i] = np.nanquantile(simulated[m], 1 - alpha)
                method[i] = "simulation"
    if slope is not None:
        for i, m in enumerate(table["measure"]):
            if m in slope:
                _, std_error[i], lower[i], upper[i] = slope[m]
                method[i] = "delta_hc1"
    return table.assign(ci_lower=lower, ci_upper=upper, std_error=std_error, ci_method=method)


_SCALES = {
    "D": "value",
    "R": "ratio",
    "PAR": "value",
    "PAF": "percent",
    "BGV": "value squared",
    "BGSD": "value",
    "IDISU": "percent",
    "IDISW": "percent",
    "MDBU": "value",
    "MDBW": "value",
    "MDMU": "value",
    "MDMW": "value",
    "MDRU": "value",
    "MDRW": "value",
    "TI": "x1000",
    "MLD": "x1000",
    "ACI": "value",
    "RCI": "ratio",
    "SII": "value",
    "RII": "ratio",
}
_DESCRIPTIONS = {
    "D": "difference, high minus low",
    "R": "ratio, high / low",
    "PAR": "population attributable risk",
    "PAF": "population attributable fraction",
    "BGV": "between-group variance",
    "BGSD": "between-group standard deviation",
    "IDISU": "index of disparity, unweighted",
    "IDISW": "index of disparity, weighted",
    "MDBU": "mean difference from best group, unweighted",
    "MDBW": "mean difference from best group, weighted",
    "MDMU": "mean difference from mean, unweighted",
    "MDMW": "mean difference from mean, weighted",
    "MDRU": "mean difference from reference, unweighted",
    "MDRW": "mean difference from reference, weighted",
    "TI": "Theil index",
    "MLD": "mean log deviation",
    "ACI": "absolute concentration index",
    "RCI": "relative concentration index",
    "SII": "slope index of inequality",
    "RII": "relative index of inequality",
}


def _measures(y, n, *, ordered, ref_index, higher, mu) -> dict[str, np.ndarray]:
    """Every measure but SII and RII (see :func:`_sii_rii`), for the estimates ``y`` of
    the groups along the last axis: one set of estimates, or many draws of them at once
    (shape ``(draws, groups)``), each measure then an array over the draws."""
    y = np.asarray(y, dtype=float)
    p = n / n.sum()
    mu = np.sum(p * y, axis=-1) if mu is None else np.full(y.shape[:-1], float(mu))
    last = y.shape[-1] - 1
    best = np.argmax(y, axis=-1) if higher else np.argmin(y, axis=-1)

    def at(index) -> np.ndarray:
        index = np.broadcast_to(np.asarray(index), y.shape[:-1])
        return np.take_along_axis(y, index[..., None], axis=-1)[..., 0]

    if ordered:
        low, high = y[..., 0], y[..., last]  # least and most advantaged
    else:
        low, high = np.min(y, axis=-1), np.max(y, axis=-1)
    ref = at(ref_index if ref_index is not None else (last if ordered else best))
    best_value = y[..., last] if ordered else at(best)
    par = best_value - mu
    par = np.maximum(par, 0.0) if higher else np.minimum(par, 0.0)
    m = mu[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_y = y / m
        out = {
            "D": high - low,
            "R": high / low,
            "PAR": par,
            "PAF": 100 * par / mu,
            "BGV": np.sum(p * (y - m) ** 2, axis=-1),
            "BGSD": np.sqrt(np.sum(p * (y - m) ** 2, axis=-1)),
            "IDISU": 100 * np.mean(np.abs(y - m), axis=-1) / mu,
            "IDISW": 100 * np.sum(p * np.abs(y - m), axis=-1) / mu,
            "MDBU": np.mean(np.abs(y - best_value[..., None]), axis=-1),
            "MDBW": np.sum(p * np.abs(y - best_value[..., None]), axis=-1),
            "MDMU": np.mean(np.abs(y - m), axis=-1),
            "MDMW": np.sum(p * np.abs(y - m), axis=-1),
            "MDRU": np.mean(np.abs(y - ref[..., None]), axis=-1),
            "MDRW": np.sum(p * np.abs(y - ref[..., None]), axis=-1),
            "TI": 1000 * np.sum(p * ratio_y * np.log(ratio_y), axis=-1),
            "MLD": 1000 * np.sum(p * -np.log(ratio_y), axis=-1),
        }
        if ordered:
            rank = np.cumsum(p) - p / 2
            aci = np.sum(p * (2 * rank - 1) * y, axis=-1)
            out["ACI"] = aci
            out["RCI"] = aci / mu
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _sii_rii(y, n, *, scale, model, weights, level) -> dict[str, tuple[float, ...]]:
    """SII and RII as healthequal computes them: ``{"SII": (estimate, se, lower, upper),
    "RII": (estimate, se of ln RII, lower, upper)}``; see :func:`inequality`'s Notes."""
    # statsmodels is imported here, not at the top: `import c2c_analysis` stays quick.
    import statsmodels.api as sm
    from scipy.special import expit
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    trials = np.ceil(n)
    ridit = (np.cumsum(trials) - trials / 2) / trials.sum()
    exog = np.column_stack([np.ones_like(ridit), ridit])
    if model == "logit":
        # The proportion of the rounded counts as the response with var_weights = prior x
        # trials is R's binomial glm of cbind(s, N - s) with prior weights: a two-column
        # endog would leave the trials out of statsmodels' Pearson dispersion.
        response = np.round((y / scale) * trials) / trials
        prior = trials * trials if weights == "heat" else trials
        family = sm.families.Binomial()
    else:
        response, prior, family = y / scale, trials, sm.families.Gaussian()
    # Two groups leave no residual degrees of freedom; the fit is exact and the interval NaN.
    # statsmodels' PerfectSeparationWarning also fires on any exact fit (two groups, equal
    # values), so the boundary is judged here from the fitted probabilities instead.
    with (
        np.errstate(divide="ignore", invalid="ignore"),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = sm.GLM(response, exog, family=family, var_weights=prior).fit(cov_type="HC0")
    fitted = np.asarray(fit.mu)
    at_boundary = model == "logit" and bool(np.any((fitted < 1e-8) | (fitted > 1 - 1e-8)))
    if at_boundary or not fit.converged:
        warnings.warn(
            "SII/RII: the logistic fit reaches 0 or 1 (a group at 0% or 100%) or does not "
            "converge; the slope is not identified and its values are unreliable",
            C2CDataWarning,
            stacklevel=3,
        )
    a, b = fit.params
    if model == "logit":
        v0, v1 = float(expit(a)), float(expit(a + b))
        grad0, grad1 = v0 * (1 - v0) * np.array([1.0, 0.0]), v1 * (1 - v1) * np.array([1.0, 1.0])
    else:
        v0, v1 = float(a), float(a + b)
        grad0, grad1 = np.array([1.0, 0.0]), np.array([1.0, 1.0])
    groups, parameters = exog.shape
    # statsmodels' GLM cov_type="HC1" is the plain HC0 sandwich; R's vcovHC(type="HC1")
    # scales it by J / (J - k), applied here.
    if groups > parameters:
        cov = np.asarray(fit.cov_params()) * groups / (groups - parameters)
    else:
        cov = np.full((parameters, parameters), np.nan)
    from scipy.special import ndtri

    z = float(ndtri(1 - (1 - level) / 2))
    sii = v1 - v0
    g = grad1 - grad0
    se_sii = float(np.sqrt(g @ cov @ g))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_rii = np.log(v1 / v0) if v0 > 0 and v1 > 0 else np.nan
        g_log = grad1 / v1 - grad0 / v0
        se_log = float(np.sqrt(g_log @ cov @ g_log))
    return {
        "SII": (
            scale * sii,
            scale * se_sii,
            scale * (sii - z * se_sii),
            scale * (sii + z * se_sii),
        ),
        "RII": (
            float(np.exp(log_rii)),
            se_log,
            float(np.exp(log_rii - z * se_log)),
            float(np.exp(log_rii + z * se_log)),
        ),
    }
