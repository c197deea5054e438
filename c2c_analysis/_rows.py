"""How each row of an outcome table is known: one place that resolves a row.

Real files publish counts, or a rate with a cohort count (often a rounded percent), or a
range (``60-64``, ``GE95``), or nothing (withheld). :func:`resolve_rows` turns every row into
a rate, an effective number of students and how it is known, so that every analysis weighs
a row by what it really tells (a rounded or range-coded rate tells less than its cohort's
count would) and says in its notes how many rows were derived.

The effective number of students n* is the binomial sample size that has the row's whole
variance: for a rate p on n students, published to a precision w (0.01 for a whole
percent) or as a range of width w, p is the true proportion's binomial estimate plus a
uniform rounding error, so

    Var = p̃(1 − p̃)/n + w²/12,   n* = p̃(1 − p̃)/Var,

with p̃ = p kept 1/(2n) away from 0 and 1 (a published 100 % on 450 students is not
certainty) and the rounding interval cut at 0 and 1 (100 % is 99.5 % to 100 %). Exact
counts keep n* = n, and so does a rounded rate on a cohort small enough that one whole
count alone lies within the rounding (67 % of 12 students is 8 of 12). A rate without a
count has no n* (NaN): it enters methods that need no weights only. The derived count is
p·n* "successes" out of n* trials, which binomial fits take as they are (they need not be
whole numbers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["BASES", "basis_note", "rate_precision", "resolve_rows"]

#: How a row is known, in the ``basis`` column of :func:`resolve_rows`.
BASES = ("counts", "rate", "range", "rate_only", "withheld")

_DESCRIBED = {
    "rate": "derived from a published rate and its cohort count (the rate's rounding widens "
    "the interval)",
    "range": "derived from a published range, used at its midpoint (the range's width widens "
    "the interval)",
    "rate_only": "given as a rate without a cohort count (unweighted)",
    "withheld": "withheld or without a value (left out)",
}


def _float(data: pd.DataFrame, column: str) -> np.ndarray:
    if column not in data.columns:
        return np.full(len(data), np.nan)
    values = pd.to_numeric(data[column], errors="coerce")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def rate_precision(rate: np.ndarray) -> np.ndarray:
    """The precision a published proportion was written to: 0.01 for 0.66 (a whole
    percent), 0.001 for 0.665, down to 1e-6; 0 for a value with more digits (exact)."""
    out = np.zeros(len(rate))
    undecided = np.isfinite(rate)
    for step in (0.01, 0.001, 0.0001, 0.00001, 0.000001):
        scaled = rate / step
        hit = undecided & (np.abs(scaled - np.round(scaled)) < 1e-6)
        out[hit] = step
        undecided &= ~hit
    return out


def resolve_rows(
    data: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    rate: str = "rate",
) -> pd.DataFrame:
    """Each row's rate, effective number of students and how it is known.

    Parameters
    ----------
    data : DataFrame
        Canonical rows (``rate_low``/``rate_high`` and ``suppressed`` are used where present).
        Not modified.
    numerator, denominator, rate : str
        Column names.

    Returns
    -------
    DataFrame
        Indexed like ``data``: ``rate`` (counts where known, else the published rate, else
        the middle of the published range), ``n_effective`` (see the module notes),
        ``successes`` (``rate × n_effective``), ``cohort`` (the published denominator, for
        weights of composition), ``rate_se`` (√Var) and ``basis`` (one of :data:`BASES`).
    """
    num = _float(data, numerator)
    den = _float(data, denominator)
    given = _float(data, rate)
    low, high = _float(data, "rate_low"), _float(data, "rate_high")
    withheld = (
        data["suppressed"].fillna(False).astype(bool).to_numpy()
        if "suppressed" in data.columns
        else np.zeros(len(data), dtype=bool)
    )
    cohort = np.where(den > 0, den, np.nan)
    counted = np.isfinite(num) & np.isfinite(cohort) & ~withheld
    published = ~counted & np.isfinite(given) & ~withheld
    ranged = ~counted & ~published & np.isfinite(low) & np.isfinite(high) & ~withheld
    # A range is used at its middle; its bounds are rounded too (80-84 covers 79.5 % to
    # 84.5 %), so its width for the uncertainty adds the bounds' precision.
    range_width = high - low + rate_precision(np.where(ranged, low, np.nan))
    step = rate_precision(given)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A rounded rate on a small cohort can fix the count: 67 % of 12 students can only
        # be 8 of 12 (0.6667). Where one whole count lies within the rounding, it is used.
        k_low = np.ceil((given - step / 2) * cohort - 1e-9)
        k_high = np.floor((given + step / 2) * cohort + 1e-9)
        unique = published & (step > 0) & np.isfinite(cohort) & (k_low == k_high)
        unique &= (k_low >= 0) & (k_low <= cohort)
        value = np.select(
            [counted, unique, published, ranged],
            [num / cohort, k_low / cohort, given, (low + high) / 2],
            np.nan,
        )
        # The rounding interval, within 0 and 1 (a published 100 % is 99.5-100 %).
        rounding = np.minimum(given + step / 2, 1) - np.maximum(given - step / 2, 0)
        width = np.select([unique, published, ranged], [0.0, rounding, range_width], 0.0)
        edge = 0.5 / cohort
        tilde = np.clip(value, edge, 1 - edge)
        binomial = tilde * (1 - tilde) / cohort
        variance = binomial + width**2 / 12
        n_eff = np.where(counted | unique, cohort, tilde * (1 - tilde) / variance)
    with_cohort = np.isfinite(cohort)
    basis = np.select(
        [counted, (published | ranged) & with_cohort, published | ranged],
        ["counts", np.where(published, "rate", "range"), "rate_only"],
        "withheld",
    )
    n_eff = np.where(np.isin(basis, ["counts", "rate", "range"]), n_eff, np.nan)
    exact = counted | unique
    rate_se = np.where(basis == "rate_only", np.nan, np.sqrt(np.where(exact, binomial, variance)))
    return pd.DataFrame(
        {
            "rate": value,
            "n_effective": n_eff,
            "successes": value * n_eff,
            "cohort": cohort,
            "rate_se": rate_se,
            "basis": basis,
            "from_range": ranged,
        },
        index=data.index,
    )


def basis_note(basis: pd.Series | np.ndarray, *, used: np.ndarray | None = None) -> list[str]:
    """Sentences for a result's notes: how many of the rows used were not exact counts."""
    values = pd.Series(np.asarray(basis))
    if used is not None:
        values = values[np.asarray(used, dtype=bool)]
    counts = {str(k): int(v) for k, v in values.value_counts().items()}
    notes = []
    for kind in ("rate", "range", "rate_only"):
        if counts.get(kind):
            k = int(counts[kind])
            notes.append(f"{k} row{'s' if k != 1 else ''} {_DESCRIBED[kind]}.")
    return notes
