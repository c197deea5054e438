"""Linear trends of every series, with their uncertainty: a quasi-binomial logistic fit on
the counts (iteratively reweighted least squares on all series at once), least squares on
the rates with Newey-West standard errors, or least squares on empirical logits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from c2c_analysis._arrays import group_sum, join_notes, segment_join, texts
from c2c_analysis._checks import check_level
from c2c_analysis._time import time_column
from c2c_analysis.trends._fits import empirical_logit, ols_fit, weighted_line
from c2c_analysis.trends._prepare import (
    ends,
    is_datetime,
    prepare,
    series_codes,
    series_keys,
)

__all__ = ["SHORT_SERIES", "trend"]

#: Fewer periods than this: intervals are wide, p-values near meaningless (said in ``note``).
SHORT_SERIES = 6


def trend(
    data: pd.DataFrame,
    *,
    time: str = "year",
    by: str | Sequence[str] | None = None,
    numerator: str = "numerator",
    denominator: str = "denominator",
    method: Literal["binomial", "ols", "logit"] = "binomial",
    level: float = 0.95,
    dispersion_floor: bool = True,
) -> pd.DataFrame:
    """Linear trend of every series, with its uncertainty.

    Parameters
    ----------
    data : DataFrame
        One row per series and period (the canonical outcome table). Not modified.
    time : str
        The period column: numbers (years) or dates (months; the slope is then per month).
        The default ``"year"`` means ``"period"`` in a table that has only ``period`` (the
        canonical layout of monthly indicators).
    by : str or sequence of str, optional
        The column, or columns, that identify a series; default: the canonical key columns
        present (``partnership, outcome, dimension, group``).
    numerator, denominator : str
        Count columns.
    method : {"binomial", "ols", "logit"}
        ``binomial``: quasi-binomial GLM with logit link on the counts (proportions weighted
        by the cohort, dispersion = Pearson X² / residual df), the default because it knows
        that a rate from 40 students is noisier than one from 4,000. ``ols``: least squares
        on the rates with Newey-West (HAC) standard errors. ``logit``: least squares on the
        empirical logits log((x + 0.5) / (n - x + 0.5)).
    level : float
        Confidence level.
    dispersion_floor : bool
        ``binomial`` only: standard errors use max(dispersion, 1), so no series claims more
        precision than binomial sampling of its cohorts allows (default). ``False`` uses the
        estimate as it is, however small.

    Returns
    -------
    DataFrame
        One row per series: the ``by`` columns, then

        - ``n_periods``: periods with a usable value;
        - ``first_period``, ``last_period``;
        - ``slope_pp``: change per period, in percentage points (for the logit-scale methods
          the slope at the series' mean rate, β·p̄(1 − p̄)·100);
        - ``ci_lower_pp``, ``ci_upper_pp``: its confidence interval;
        - ``p_value``: two-sided test of no trend;
        - ``average_change_pp``: mean period-to-period change, (last − first rate) /
          (last − first period), in percentage points;
        - ``dispersion``: the estimated dispersion, before any floor (binomial: Pearson X² /
          df, 1 means binomial noise only; ols/logit: residual variance);
        - ``dispersion_floored``: True where the binomial estimate was below 1 and the
          standard error used 1 instead (always False for ols/logit or without the floor);
        - ``method``;
        - ``note``: why a value is missing, or why to read it with care (short series,
          missing periods, rows left out).

    Notes
    -----
    Inference uses Student's t with the residual degrees of freedom (n_periods − 2), as R's
    ``summary.glm`` does for quasi families: the dispersion is estimated, and annual series
    are short. The HAC covariance uses the Bartlett kernel with floor(4 (T/100)^(2/9)) lags
    and the small-sample correction T / (T − 2). Series with fewer than 3 usable periods
    get no slope and a note. With 3-5 periods the note says the series is short: read the
    interval, not the p-value.

    A quasi-binomial dispersion below 1 says the rates vary less than binomial sampling of
    the cohorts would make them; with a handful of annual points it is mostly chance (six
    annual points gave an estimate of 0.014 and p = 1.6e-24). By default the standard
    error is se = √(max(φ̂, 1) / Σwᵢ(tᵢ − t̄)²), the binomial one when φ̂ < 1, still with the
    t reference distribution; ``dispersion`` keeps φ̂ and ``dispersion_floored`` says where
    the floor applied.

    The binomial fit is iteratively reweighted least squares run on all series at once
    (statsmodels fits one model at a time); tests compare it with statsmodels' GLM. It
    avoids a statsmodels 0.15 defect: ``GLM([successes, failures]).fit(scale="X2")``
    computes the dispersion without the number of trials.

    References
    ----------
    McCullagh & Nelder (1989), Generalized Linear Models, 2nd ed., section 4.5 (quasi-
    likelihood, Pearson dispersion). Newey & West (1994), Automatic lag selection in
    covariance matrix estimation, Review of Economic Studies 61(4):631-653.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query("partnership == 'tacoma' and dimension == 'all'")
    >>> result = trend(data.query("outcome == 'hs_graduation'"))
    >>> round(float(result.loc[0, "slope_pp"]), 1), int(result.loc[0, "n_periods"])
    (4.1, 10)
    """
    check_level(level)
    if method not in ("binomial", "ols", "logit"):
        raise ValueError(f"method must be 'binomial', 'ols' or 'logit', not {method!r}")
    time = time_column(data, time)
    keys = series_keys(data, by, time)
    full = prepare(data, keys, time, numerator, denominator, need_counts=method == "binomial")
    codes_full, groups = series_codes(full, keys)
    n_series = len(groups)
    use = full["_use"].to_numpy()
    dropped = np.bincount(codes_full[~use], minlength=n_series)
    frame, codes = full[use].reset_index(drop=True), codes_full[use]
    t = frame["_t"].to_numpy()
    num = frame["_num"].to_numpy()
    den = frame["_den"].to_numpy()
    rate = frame["_rate"].to_numpy()
    count = np.bincount(codes, minlength=n_series).astype(float)
    enough = count >= 3

    if method == "binomial":
        fit = _binomial_fit(codes, t, num, den, n_series, enough, floor=dispersion_floor)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_bar = group_sum(codes, num, n_series) / group_sum(codes, den, n_series)
        scale_pp = 100 * p_bar * (1 - p_bar)
    elif method == "logit":
        z = empirical_logit(num, den, rate)
        fit = ols_fit(codes, t, z, n_series, enough, hac=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_bar = group_sum(codes, rate, n_series) / count
        scale_pp = 100 * p_bar * (1 - p_bar)
    else:
        fit = ols_fit(codes, t, rate, n_series, enough, hac=True)
        scale_pp = np.full(n_series, 100.0)

    df = count - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tq = stats.t.ppf(0.5 + level / 2, df)
        z_stat = fit["slope"] / fit["se"]
        p_value = 2 * stats.t.sf(np.abs(z_stat), df)
    slope_pp = fit["slope"] * scale_pp
    half = tq * fit["se"] * scale_pp
    first_i, last_i = ends(codes, n_series)
    has = first_i >= 0
    first_t, last_t = (
        np.where(has, t[np.maximum(i, 0)] if len(t) else np.nan, np.nan) for i in (first_i, last_i)
    )
    first_rate, last_rate = (
        np.where(has, rate[np.maximum(i, 0)] if len(t) else np.nan, np.nan)
        for i in (first_i, last_i)
    )

    result = groups.copy()
    result["n_periods"] = count.astype(int)
    labels = frame[time].reset_index(drop=True)
    result["first_period"] = _pick_labels(labels, first_i, data[time].dtype)
    result["last_period"] = _pick_labels(labels, last_i, data[time].dtype)
    ok = enough & np.isfinite(fit["slope"])
    result["slope_pp"] = np.where(ok, slope_pp, np.nan)
    result["ci_lower_pp"] = np.where(ok, slope_pp - half, np.nan)
    result["ci_upper_pp"] = np.where(ok, slope_pp + half, np.nan)
    result["p_value"] = np.where(ok & (df > 0), p_value, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = 100 * (last_rate - first_rate) / (last_t - first_t)
    result["average_change_pp"] = np.where(count >= 2, average, np.nan)
    result["dispersion"] = np.where(ok, fit["dispersion"], np.nan)
    result["dispersion_floored"] = ok & fit.get("floored", np.zeros(n_series, dtype=bool))
    result["method"] = method
    result["note"] = _notes(result, frame, codes, fit, dropped, monthly=is_datetime(data[time]))
    return result


def _derived_counts(frame: pd.DataFrame, codes: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Per series, how many of the rows used were derived from published rates or ranges."""
    basis = frame["_basis"].to_numpy()
    return {kind: np.bincount(codes[basis == kind], minlength=n) for kind in ("rate", "range")}


def _binomial_fit(
    codes: np.ndarray,
    t: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    n: int,
    enough: np.ndarray,
    *,
    floor: bool = True,
) -> dict[str, np.ndarray]:
    """Quasi-binomial logistic regression of every series on time, by IRLS on all at once.

    Series whose every rate is 0% or 100% have no finite maximum-likelihood slope and are
    left out of the fit; a series that has not converged after 100 iterations (separation)
    gets no slope. With ``floor``, standard errors use max(dispersion, 1).
    """
    count = np.bincount(codes, minlength=n)
    boundary = group_sum(codes, ((num == 0) | (num == den)).astype(float), n) == count
    fitted = (enough & ~boundary)[codes]
    c, tt, x, m = codes[fitted], t[fitted], num[fitted], den[fitted]
    y = x / m
    p0 = (x + 0.5) / (m + 1)
    eta = np.log(p0 / (1 - p0))
    change = np.full(n, np.inf)
    # Diverging (separated) series overflow to inf/NaN; they are caught by `change` below.
    with np.errstate(all="ignore"):
        eta = _irls(c, tt, y, m, eta, change, n)
        mu = 1 / (1 + np.exp(-eta))
        w = m * mu * (1 - mu)
        _, slope, _, sxx, _ = weighted_line(c, tt, eta, w, n)
        pearson = group_sum(c, (x - m * mu) ** 2 / w, n)
        dispersion = pearson / (count - 2)
        floored = floor & (dispersion < 1)
        se = np.sqrt(np.where(floored, 1.0, dispersion) / sxx)
    converged = change < 1e-6  # False for NaN as well
    ok = enough & ~boundary & converged & np.isfinite(se)
    return {
        "slope": np.where(ok, slope, np.nan),
        "se": np.where(ok, se, np.nan),
        "dispersion": np.where(ok, dispersion, np.nan),
        "floored": ok & floored,
        "boundary": boundary & enough,
        "unconverged": enough & ~boundary & ~converged,
    }


def _irls(
    c: np.ndarray,
    tt: np.ndarray,
    y: np.ndarray,
    m: np.ndarray,
    eta: np.ndarray,
    change: np.ndarray,
    n: int,
) -> np.ndarray:
    """Iterate the logistic IRLS until no series' linear predictor moves; ``change`` gets
    each series' last movement (in place)."""
    for _ in range(100):
        mu = 1 / (1 + np.exp(-eta))
        w = m * mu * (1 - mu)
        z = eta + (y - mu) / (mu * (1 - mu))
        a, b, x_mean, _, _ = weighted_line(c, tt, z, w, n)
        new_eta = a[c] + b[c] * (tt - x_mean[c])
        change[:] = 0.0
        np.maximum.at(change, c, np.abs(new_eta - eta))
        change[np.isnan(change)] = np.inf
        eta = new_eta
        if change.max(initial=0.0) < 1e-10:
            break
    return eta


def _pick_labels(labels: pd.Series, idx: np.ndarray, dtype: Any) -> pd.Series:
    values = (
        labels.iloc[np.maximum(idx, 0)].reset_index(drop=True)
        if len(labels)
        else pd.Series([None] * len(idx))
    )
    values = values.where(pd.Series(idx >= 0))
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype("Int64")
    return values


def _notes(
    result: pd.DataFrame,
    frame: pd.DataFrame,
    codes: np.ndarray,
    fit: dict[str, np.ndarray],
    dropped: np.ndarray,
    *,
    monthly: bool,
) -> np.ndarray:
    n_series = len(result)
    count = result["n_periods"].to_numpy()
    derived = _derived_counts(frame, codes, n_series)
    boundary = fit.get("boundary", np.zeros(n_series, dtype=bool))
    unconverged = fit.get("unconverged", np.zeros(n_series, dtype=bool))
    return join_notes(
        n_series,
        [
            (count < 3, texts("too few periods (", count, ") for a trend; at least 3 are needed")),
            (
                (count >= 3) & (count < SHORT_SERIES),
                texts("short series (", count, " periods): read the interval, not the p-value"),
            ),
            ((count >= 3) & boundary, "every rate is 0% or 100%: no trend on the logit scale"),
            (unconverged, "the binomial fit did not converge (rates separate over time)"),
            _missing_periods(frame["_t"].to_numpy(), codes, n_series, monthly=monthly),
            (
                derived["rate"] > 0,
                texts(
                    "",
                    derived["rate"],
                    " row(s) derived from a published rate and cohort "
                    "(its rounding is in the interval)",
                ),
            ),
            (
                derived["range"] > 0,
                texts(
                    "",
                    derived["range"],
                    " row(s) derived from a published range at its "
                    "midpoint (its width is in the interval)",
                ),
            ),
            (
                dropped > 0,
                texts(
                    "",
                    dropped,
                    " row(s) without a usable value left out "
                    "(withheld, or a rate without a cohort count)",
                ),
            ),
        ],
    )


def _missing_periods(
    t: np.ndarray, codes: np.ndarray, n_series: int, *, monthly: bool
) -> tuple[np.ndarray, np.ndarray | str]:
    """Per series whose periods are whole numbers (years, or months for dates): the note
    naming the whole periods missing between its first and last (rows sorted by time)."""
    whole = np.mod(t, 1) == 0
    fractional = np.bincount(codes[~whole], minlength=n_series) > 0
    same = codes[1:] == codes[:-1]
    step = np.diff(t) if len(t) else np.zeros(0)
    gap = same & (step > 1) & ~fractional[codes[1:]]
    # Each gap between consecutive periods t₀ < t₁ lacks t₀ + 1, ..., t₁ - 1.
    sizes = (step[gap] - 1).astype(np.int64)
    owner = np.repeat(codes[1:][gap], sizes)
    offset = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    absent = (np.repeat(t[:-1][gap], sizes) + 1 + offset).astype(np.int64)
    has = np.bincount(owner, minlength=n_series) > 0
    if not has.any():
        return has, ""
    if monthly:
        rank = _rank_within(owner)
        shown = rank < 12
        labels = texts("", absent[shown] // 12, "-") + np.char.zfill(
            (absent[shown] % 12 + 1).astype(str), 2
        ).astype(object)
        more = np.bincount(owner, minlength=n_series) > 12
        text = "missing months: " + segment_join(owner[shown], labels, n_series)
        text = np.where(more, text + " ...", text)
    else:
        text = "missing periods: " + segment_join(owner, absent.astype(str), n_series)
    return has, text


def _rank_within(codes: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal (sorted) codes: 0, 1, 2, ..."""
    if not len(codes):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    lengths = np.diff(np.r_[starts, len(codes)])
    return np.arange(len(codes)) - np.repeat(starts, lengths)
