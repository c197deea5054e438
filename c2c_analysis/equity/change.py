"""How gaps changed between two periods, and which kind of change it was.

"Excellence with equity" (Ferguson): gaps should close because every group rises, the lower
ones faster, not because the top group falls. :func:`gap_change` says which of these happened
(:func:`classify_gap_change`, one set of rules for one pair of groups or for arrays of them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from c2c_analysis._arrays import join_notes
from c2c_analysis._checks import check_level
from c2c_analysis._time import start_end_rows
from c2c_analysis.equity.gap import (
    basis_notes,
    check_better,
    orientation,
    reference_rows,
    require_values,
    row_rates,
    scale_free,
    series_keys,
    split_by_reference,
)

__all__ = ["GAP_CATEGORIES", "classify_gap_change", "gap_change"]

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

_NAMES = ("higher_start", "higher_end", "lower_start", "lower_end")


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


def _differences_pp(
    higher_start: np.ndarray, higher_end: np.ndarray, lower_start: np.ndarray, lower_end: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Start gap, end gap and the three changes, in percentage points.

    Rounded to 1e-9 points so that a change of exactly τ given as proportions (0.80 ->
    0.81 is 1.0000000000000009 points in binary floating point) counts as within τ, as it
    does when typed in points.
    """

    def points(x: np.ndarray) -> np.ndarray:
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
    exactly τ counts as within τ despite binary floating point. :func:`gap_change` applies
    the same rules to all its rows at once.

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
    values = [float(v) for v in (higher_start, higher_end, lower_start, lower_end)]
    for name, v in zip(_NAMES, values, strict=True):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be a proportion in [0, 1], not {v!r}")
    h0, h1, l0, l1 = (np.array([v]) for v in values)
    return str(_vectorized_categories(h0, h1, l0, l1, tol_pp)[0])


def _vectorized_categories(
    higher_start: np.ndarray,
    higher_end: np.ndarray,
    lower_start: np.ndarray,
    lower_end: np.ndarray,
    tol_pp: float,
) -> np.ndarray:
    """The rules of :func:`classify_gap_change` (the one copy of them) for arrays of
    proportions; ``insufficient_data`` where any value is missing, a ValueError for values
    outside [0, 1]."""
    _check_proportions((higher_start, higher_end, lower_start, lower_end), _NAMES)
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
    better: str | None = None,
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
        As in :func:`~c2c_analysis.gaps`, including a mapping from dimension to reference
        (``"best"`` is decided at ``start`` and kept at ``end``).
    tol_pp : float
        Changes within this many percentage points count as no change (see
        :func:`classify_gap_change`, which receives the rates as proportions, turned to
        1 - rate for outcomes where lower is better).
    time, group, numerator, denominator, better : str
        As in :func:`~c2c_analysis.gaps`.
    level : float
        A confidence level, checked as in :func:`~c2c_analysis.gaps`; the change is
        judged by ``se_gap_change_pp``, ``z`` and ``p_value``, which do not depend on it.

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
        (as in :func:`~c2c_analysis.gaps`: ratio and odds ratio of the group to the
        reference), ``higher`` (which of the two was ahead at the start: ``reference`` or
        ``group``), ``category`` (:func:`classify_gap_change`; ``insufficient_data`` when a
        rate is withheld) and ``note`` (which of the four rates are derived from published
        rates or ranges; their n in the standard error is the effective number of students).

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
    require_values(data, time, group, numerator, denominator)
    check_level(level)
    better = check_better(better)
    if not (isinstance(start, str) or isinstance(end, str)) and start == end:
        raise ValueError(f"start and end are the same period ({start!r})")
    keys = series_keys(data, time, group)
    # Sizes are effective numbers of students: rounded or range-coded rates widen the se.
    rate, _, n_eff, basis = row_rates(data, numerator, denominator)
    frame = data[[*keys, time, group]].assign(_rate=rate, _n=n_eff, _basis=basis)
    pairs = _pairs(frame, reference, keys, time, group, start, end, better)
    pair_keys = [*keys, group, "reference", "start", "end"]
    first = pairs[pairs[time] == pairs["start"]].drop(columns=[time])
    last = pairs[pairs[time] == pairs["end"]].drop(columns=[time])
    merged = first.merge(last, on=pair_keys, suffixes=("_start", "_end"))
    columns = _change_columns(merged, orientation(merged, better), tol_pp)
    notes = [
        basis_notes(merged[f"_basis_{side}"], merged[f"reference_basis_{side}"])
        for side in ("start", "end")
    ]
    start_note, end_note = notes
    columns["note"] = join_notes(
        len(merged),
        [(start_note != "", "start: " + start_note), (end_note != "", "end: " + end_note)],
    )
    out = merged[pair_keys].copy().assign(**columns)
    return out.reset_index(drop=True)


def _pairs(
    frame: pd.DataFrame,
    reference: str | Mapping[str, str],
    keys: list[str],
    time: str,
    group: str,
    start: object,
    end: object,
    better: str | None,
) -> pd.DataFrame:
    """Each group's rows at its series' start and end beside its reference's rows."""
    pairs = []
    for label, part in split_by_reference(frame, reference):
        has_dimension = "dimension" in part.columns
        members = part[part["dimension"] != "all"] if has_dimension else part
        members = start_end_rows(members, keys, time, start, end)
        plain = members.drop(columns=["start", "end"])
        pool = plain
        if label == "all" and has_dimension:
            pool = pd.concat([plain, part[part["dimension"] == "all"]])
        at_start = members[members[time] == members["start"]]
        refs = reference_rows(pool, label, keys, time, group, better=better, chosen_at=at_start)
        matched = members.merge(refs, on=[*keys, time], how="inner")
        pairs.append(matched[matched[group] != matched["reference"]])
    return pd.concat(pairs, ignore_index=True)


def _change_columns(merged: pd.DataFrame, sign: np.ndarray, tol_pp: float) -> dict[str, np.ndarray]:
    """The columns of :func:`gap_change` but the note, from the start and end pairs."""
    from scipy.special import ndtr

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
        ratios = {
            side: scale_free(rates_[f"rate_{side}"], rates_[f"reference_rate_{side}"])
            for side in ("start", "end")
        }
    columns: dict[str, np.ndarray] = {
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
            columns[f"{measure}_{side}"] = ratios[side][measure]
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
    return columns
