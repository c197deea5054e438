"""Rates with confidence intervals, one per row of an outcome table."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from c2c_analysis._checks import check_level, require_columns
from c2c_analysis._rows import resolve_rows

__all__ = ["rates"]

# The interval methods of rates() and their names in statsmodels' proportion_confint.
_CI_METHODS = {
    "wilson": "wilson",
    "exact": "beta",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
}


def rates(
    data: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    level: float = 0.95,
    method: Literal["wilson", "exact", "clopper-pearson", "jeffreys"] = "wilson",
) -> pd.DataFrame:
    """Add each row's rate and a confidence interval for it.

    Parameters
    ----------
    data : DataFrame
        Rows with counts; not modified.
    numerator, denominator : str
        Count columns.
    level : float
        Confidence level of the interval.
    method : {"wilson", "exact", "jeffreys"}
        Wilson score interval (default; good coverage for small cohorts and rates near 0 or
        1), exact Clopper-Pearson (``"exact"``, also ``"clopper-pearson"``; conservative), or
        the Jeffreys interval (equal-tailed Beta(x + 1/2, n - x + 1/2) quantiles).

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``rate`` (numerator / denominator where both are known,
        otherwise the published ``rate``, otherwise the middle of ``rate_low``-``rate_high``),
        ``ci_lower`` and ``ci_upper`` (NaN where there is no cohort count or it is 0),
        ``n_effective`` (the binomial size the interval uses: the cohort for exact counts,
        fewer students for a rounded or range-coded rate, whose rounding or width widens the
        interval) and ``basis`` (``counts``, ``rate``, ``range``, ``rate_only`` or
        ``withheld``).

    Notes
    -----
    Computed by :func:`statsmodels.stats.proportion.proportion_confint` (methods
    ``wilson``, ``beta``, ``jeffreys``).

    References
    ----------
    Brown, Cai & DasGupta (2001), Interval estimation for a binomial proportion,
    Statistical Science 16(2):101-133.

    Examples
    --------
    >>> import pandas as pd
    >>> out = rates(pd.DataFrame({"numerator": [81], "denominator": [100]}))
    >>> [round(v, 4) for v in out.loc[0, ["rate", "ci_lower", "ci_upper"]]]
    [0.81, 0.7222, 0.8749]
    """
    check_level(level)
    if method not in _CI_METHODS:
        raise ValueError(f"method must be one of {', '.join(_CI_METHODS)}, not {method!r}")
    if not {numerator, denominator, "rate"} & set(data.columns):
        require_columns(data, [numerator, denominator])
    out = data.copy()
    resolved = resolve_rows(out, numerator=numerator, denominator=denominator)
    num = resolved["successes"].to_numpy()
    den = resolved["n_effective"].to_numpy()
    usable = np.isfinite(num) & np.isfinite(den) & (den > 0)
    lower = np.full(len(out), np.nan)
    upper = np.full(len(out), np.nan)
    if usable.any():
        low, high = proportion_confint(
            num[usable], den[usable], alpha=1 - level, method=_CI_METHODS[method]
        )
        lower[usable], upper[usable] = low, high
    out["rate"] = resolved["rate"].to_numpy()
    out["ci_lower"] = lower
    out["ci_upper"] = upper
    out["n_effective"] = den
    out["basis"] = resolved["basis"].to_numpy()
    return out
