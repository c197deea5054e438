"""Straight lines through every series at once, as :func:`trend` and
:func:`project_baseline` fit them (private module of :mod:`c2c_analysis.trends`, public
names).

Rows are sorted by series and period and carry their series' code (``codes``, 0..n-1);
every sum is group-wise (:func:`c2c_analysis._arrays.group_sum`), never a loop per series.
"""

from __future__ import annotations

import numpy as np

from c2c_analysis._arrays import group_sum

__all__ = ["empirical_logit", "hac_slope_se", "ols_fit", "weighted_line"]


def empirical_logit(num: np.ndarray, den: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """log((x + 0.5) / (n - x + 0.5)) where counts are known, else the logit of the rate."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            np.isfinite(num) & np.isfinite(den),
            np.log((num + 0.5) / (den - num + 0.5)),
            np.log(rate / (1 - rate)),
        )


def weighted_line(
    codes: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares y = a + b (x - x̄_w) for every series at once.

    Returns a, b, x̄_w, Σw(x - x̄_w)² and Σw per series.
    """
    sw = group_sum(codes, w, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = group_sum(codes, w * x, n) / sw
        y_mean = group_sum(codes, w * y, n) / sw
        xc = x - x_mean[codes]
        sxx = group_sum(codes, w * xc * xc, n)
        slope = group_sum(codes, w * xc * (y - y_mean[codes]), n) / sxx
    return y_mean, slope, x_mean, sxx, sw


def ols_fit(
    codes: np.ndarray, t: np.ndarray, y: np.ndarray, n: int, enough: np.ndarray, *, hac: bool
) -> dict[str, np.ndarray]:
    """Least squares line of every series, with classical or Newey-West standard errors.

    Returns ``intercept`` (at the mean period ``t_mean``), ``slope`` and ``se`` (NaN where
    ``enough`` is False or there is no spread in time), ``dispersion`` (the residual
    variance), ``t_mean`` and ``sxx`` (Σ(t - t̄)²) per series.
    """
    w = np.ones_like(t)
    intercept, slope, t_mean, sxx, count = weighted_line(codes, t, y, w, n)
    resid = y - intercept[codes] - slope[codes] * (t - t_mean[codes])
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = group_sum(codes, resid**2, n) / (count - 2)
        se = np.sqrt(sigma2 / sxx)
    if hac:
        se = hac_slope_se(codes, t - t_mean[codes], resid, sxx, count, n)
    ok = enough & np.isfinite(slope) & (sxx > 0)
    return {
        "intercept": intercept,
        "slope": np.where(ok, slope, np.nan),
        "se": np.where(ok, se, np.nan),
        "dispersion": sigma2,
        "t_mean": t_mean,
        "sxx": sxx,
    }


def hac_slope_se(
    codes: np.ndarray,
    xc: np.ndarray,
    resid: np.ndarray,
    sxx: np.ndarray,
    count: np.ndarray,
    n: int,
) -> np.ndarray:
    """Newey-West standard error of the slope (Bartlett kernel, T/(T-2) correction).

    Rows are sorted by series and time, so lag l pairs row i with row i - l when both belong
    to the same series.
    """
    lags = np.floor(4 * (count / 100) ** (2 / 9)).astype(int)
    score = xc * resid
    meat = group_sum(codes, score * score, n)
    for lag in range(1, int(lags.max(initial=0)) + 1):
        same = codes[lag:] == codes[:-lag]
        series = codes[lag:][same]
        weight = 1 - lag / (lags[series] + 1)
        weight = np.where(lag <= lags[series], weight, 0.0)
        meat += 2 * group_sum(series, weight * score[lag:][same] * score[:-lag][same], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(meat / sxx**2 * count / (count - 2))
