"""Rates with intervals, trends over time, and baseline projections ("turn the curve").

Every function takes the canonical outcome table (or any table with the named columns) and
works on all series at once: series are identified by the ``by`` columns and fitted together
with group-wise numpy sums, never one Python loop per series.

Range-coded rows (a source published ``80-84`` instead of counts) have ``rate`` missing and
``rate_low``/``rate_high`` set. Analyses on rates use the midpoint of the range for such rows
and say so with a :class:`~c2c_analysis.C2CDataWarning`; analyses on counts (the binomial
trend) leave them out and say so in ``note``. Suppressed rows carry no value and are left out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from c2c_analysis._arrays import group_codes, join_notes, segment_join, texts
from c2c_analysis._rows import resolve_rows
from c2c_analysis.schema import KEY_COLUMNS, better_direction
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["baseline_summary", "project_baseline", "projection_keys", "rates", "trend"]

#: The columns project_baseline adds; the other columns of its result identify the series.
PROJECTION_COLUMNS = frozenset(
    {
        "actual",
        "projected",
        "pi_lower",
        "pi_upper",
        "in_baseline",
        "difference_pp",
        "difference_students",
        "beyond_interval",
        "better",
    }
)


def projection_keys(projection: pd.DataFrame, time: str = "year") -> list[str]:
    """The columns of a :func:`project_baseline` result that identify its series."""
    return [c for c in projection.columns if c not in PROJECTION_COLUMNS and c != time]


SHORT_SERIES = 6  # fewer periods than this: intervals are wide, p-values near meaningless
_CI_METHODS = {
    "wilson": "wilson",
    "exact": "beta",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
}


# --- rates with intervals -----------------------------------------------------------------


def rates(
    data: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    level: float = 0.95,
    method: Literal["wilson", "exact", "jeffreys"] = "wilson",
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
    _check_level(level)
    if method not in _CI_METHODS:
        raise ValueError(f"method must be one of {', '.join(_CI_METHODS)}, not {method!r}")
    if not {numerator, denominator, "rate"} & set(data.columns):
        _require(data, [numerator, denominator])
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


# --- trends -------------------------------------------------------------------------------


def trend(
    data: pd.DataFrame,
    *,
    time: str = "year",
    by: Sequence[str] | None = None,
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
    by : sequence of str, optional
        Columns that identify a series; default: the canonical key columns present
        (``partnership, outcome, dimension, group``).
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
    _check_level(level)
    if method not in ("binomial", "ols", "logit"):
        raise ValueError(f"method must be 'binomial', 'ols' or 'logit', not {method!r}")
    time = _time_column(data, time)
    keys = _series_keys(data, by, time)
    full = _prepare(data, keys, time, numerator, denominator, need_counts=method == "binomial")
    codes_full, groups = _codes(full, keys)
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
            p_bar = _group_sum(codes, num, n_series) / _group_sum(codes, den, n_series)
        scale_pp = 100 * p_bar * (1 - p_bar)
    elif method == "logit":
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(
                np.isfinite(num) & np.isfinite(den),
                np.log((num + 0.5) / (den - num + 0.5)),
                np.log(rate / (1 - rate)),
            )
        fit = _ols_fit(codes, t, z, n_series, enough, hac=False)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_bar = _group_sum(codes, rate, n_series) / count
        scale_pp = 100 * p_bar * (1 - p_bar)
    else:
        fit = _ols_fit(codes, t, rate, n_series, enough, hac=True)
        scale_pp = np.full(n_series, 100.0)

    df = count - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tq = stats.t.ppf(0.5 + level / 2, df)
        z_stat = fit["slope"] / fit["se"]
        p_value = 2 * stats.t.sf(np.abs(z_stat), df)
    slope_pp = fit["slope"] * scale_pp
    half = tq * fit["se"] * scale_pp
    first_i, last_i = _ends(codes, n_series)
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
    result["note"] = _notes(result, frame, codes, fit, dropped, monthly=_is_datetime(data[time]))
    return result


def _derived_counts(frame: pd.DataFrame, codes: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """Per series, how many of the rows used were derived from published rates or ranges."""
    basis = frame["_basis"].to_numpy()
    return {kind: np.bincount(codes[basis == kind], minlength=n) for kind in ("rate", "range")}


# --- baseline projection ------------------------------------------------------------------


def project_baseline(
    data: pd.DataFrame,
    *,
    baseline: tuple[float, float],
    through: float | None = None,
    time: str = "year",
    by: Sequence[str] | None = None,
    numerator: str = "numerator",
    denominator: str = "denominator",
    method: Literal["linear", "logit"] = "linear",
    level: float = 0.95,
) -> pd.DataFrame:
    """Project each series' baseline trend forward and compare the actual values with it.

    Results-Based Accountability calls the forecast of an indicator from its own history
    its *baseline*; doing better than the baseline is *turning the curve*.

    Parameters
    ----------
    data : DataFrame
        One row per series and period. Not modified.
    baseline : (first, last)
        The periods whose values form the baseline, inclusive. At least 3 periods with a
        value are needed in every series.
    through : number or date, optional
        Project up to this period (default: the last period in the data). Years missing
        from the data are projected too, with ``actual`` empty; for dates (monthly data)
        only the months in the data are shown, since school months have summer gaps.
    time, by, numerator, denominator : str
        As in :func:`trend`.
    method : {"linear", "logit"}
        ``linear``: least squares on the rates, with the t-based prediction interval of a new
        observation. ``logit``: the same on the logit scale (empirical logits where counts
        are known), transformed back, so projections and intervals stay inside [0, 1].
    level : float
        Level of the prediction interval.

    Returns
    -------
    DataFrame
        One row per series and period from the baseline's first period to ``through``: the
        ``by`` columns, the ``time`` column, ``actual`` (the rate), ``projected``,
        ``pi_lower``, ``pi_upper``, ``in_baseline``, ``difference_pp`` ((actual −
        projected) · 100), ``difference_students`` ((actual − projected) · denominator: how
        many more, or fewer, students met the outcome than the baseline predicts),
        ``beyond_interval`` (actual outside the prediction interval), and ``better`` (the
        outcome's better direction, from the catalogue; ``higher`` for custom outcomes).

    Raises
    ------
    DataValidationError
        If a series has fewer than 3 baseline periods with a value (every such series is
        listed), or the baseline is not ``(first, last)`` with first < last.

    Notes
    -----
    The prediction interval of a new observation at period t is
    ŷ(t) ± t_{k−2} · s · √(1 + 1/k + (t − t̄)² / Σ(tᵢ − t̄)²), with k baseline periods and s
    the residual standard deviation; it covers the year-to-year noise of the baseline as
    well as the uncertainty of the line. With 3-5 baseline periods it is wide, as it should be.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> out = project_baseline(data, baseline=(2010, 2012), method="logit")
    >>> out.loc[out["year"] == 2015, ["actual", "projected"]].round(3).values.tolist()
    [[0.826, 0.822]]
    """
    _check_level(level)
    if method not in ("linear", "logit"):
        raise ValueError(f"method must be 'linear' or 'logit', not {method!r}")
    if not (isinstance(baseline, Sequence) and len(baseline) == 2 and baseline[0] < baseline[1]):
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": str(baseline),
                    "problem": "baseline must be (first, last) with first < last",
                }
            ]
        )
    time = _time_column(data, time)
    keys = _series_keys(data, by, time)
    frame = _prepare(data, keys, time, numerator, denominator, need_counts=False)
    first, last = _period_number(pd.Series(list(baseline), dtype=data[time].dtype), time)
    codes, groups = _codes(frame, keys)
    n_series = len(groups)
    t = frame["_t"].to_numpy()
    rate = frame["_rate"].to_numpy()
    num, den = frame["_num"].to_numpy(), frame["_den"].to_numpy()
    in_base = (t >= first) & (t <= last) & np.isfinite(rate)
    base_count = np.bincount(codes[in_base], minlength=n_series)
    short = base_count < 3
    if short.any():
        problems = [
            {
                "row": None,
                "column": time,
                "value": ", ".join(f"{k}={v}" for k, v in row.items()),
                "problem": f"{base_count[i]} baseline period(s) with a value in "
                f"{baseline[0]}-{baseline[1]}; "
                "a baseline needs at least 3",
            }
            for i, row in zip(np.flatnonzero(short), groups[short].to_dict("records"), strict=True)
        ]
        raise DataValidationError(problems, source="project_baseline")

    if method == "logit":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = np.where(
                np.isfinite(num) & np.isfinite(den),
                np.log((num + 0.5) / (den - num + 0.5)),
                np.log(rate / (1 - rate)),
            )
    else:
        y = rate
    fit = _ols_fit(
        codes[in_base], t[in_base], y[in_base], n_series, np.ones(n_series, bool), hac=False
    )

    if through is not None:
        end = float(_period_number(pd.Series([through], dtype=data[time].dtype), time)[0])
    else:
        end = float(np.nanmax(t))
    grid = _projection_grid(frame, keys, codes, groups, time, first, end)
    g = grid["_code"].to_numpy()
    tt = grid["_t"].to_numpy()
    k = base_count[g].astype(float)
    resid_sd = np.sqrt(fit["dispersion"][g])
    spread = resid_sd * np.sqrt(1 + 1 / k + (tt - fit["t_mean"][g]) ** 2 / fit["sxx"][g])
    centre = fit["intercept"][g] + fit["slope"][g] * (tt - fit["t_mean"][g])
    tq = stats.t.ppf(0.5 + level / 2, k - 2)
    lower, upper = centre - tq * spread, centre + tq * spread
    if method == "logit":
        centre, lower, upper = (1 / (1 + np.exp(-v)) for v in (centre, lower, upper))

    actual = grid["_rate"].to_numpy()
    cohort = grid["_cohort"].to_numpy()
    out = grid[[*keys, time]].copy()
    out["actual"] = actual
    out["projected"] = centre
    out["pi_lower"] = lower
    out["pi_upper"] = upper
    out["in_baseline"] = (tt >= first) & (tt <= last)
    out["difference_pp"] = 100 * (actual - centre)
    out["difference_students"] = (actual - centre) * cohort
    out["beyond_interval"] = np.isfinite(actual) & ((actual < lower) | (actual > upper))
    outcome = grid["outcome"] if "outcome" in grid else pd.Series("", index=grid.index)
    out["better"] = outcome.map(lambda o: better_direction(str(o))).to_numpy()
    return out.reset_index(drop=True)


def baseline_summary(projection: pd.DataFrame, *, time: str = "year") -> pd.DataFrame:
    """Whether, and since when, each series turned the curve.

    Parameters
    ----------
    projection : DataFrame
        The result of :func:`project_baseline`.
    time : str
        Its period column.

    Returns
    -------
    DataFrame
        One row per series: its key columns, ``baseline_first``, ``baseline_last``,
        ``last_period``, ``actual``, ``projected``, ``pi_lower``, ``pi_upper`` and
        ``difference_pp`` at the last period with an actual value, ``periods_after``
        (post-baseline periods with a value), ``periods_better`` and ``periods_worse``
        (beyond the interval in the better or the worse direction), ``turned`` (the last
        period is beyond the interval in the better direction), ``turned_since`` (the first
        period of the final unbroken run of better-than-interval periods, when ``turned``),
        and ``verdict``: ``turned_the_curve``, ``above_baseline_within_noise`` (better than
        projected but inside the interval), ``on_baseline``, ``below_baseline`` (worse than
        the interval) or ``no_data_after_baseline``.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> summary = baseline_summary(project_baseline(data, baseline=(2010, 2012), method="logit"))
    >>> summary[["verdict", "periods_after"]].values.tolist()
    [['on_baseline', 7]]
    """
    time = _time_column(projection, time)
    columns = {"actual", "projected", "pi_lower", "pi_upper", "in_baseline", "better", time}
    missing = sorted(columns - set(projection.columns))
    if missing:
        raise ValueError(f"not a project_baseline result: missing {', '.join(missing)}")
    keys = projection_keys(projection, time)
    n = len(projection)
    if keys:
        codes, _ = group_codes(*(projection[k].to_numpy() for k in keys))
    else:
        codes = np.zeros(n, dtype=np.int64)
    n_series = int(codes.max()) + 1 if n else (0 if keys else 1)
    # Series in the order they first appear (codes count up from there), periods in order.
    order = (
        pd.DataFrame({"_code": codes, "_t": projection[time].to_numpy()})
        .sort_values(["_code", "_t"], kind="stable")
        .index.to_numpy()
    )
    frame = projection.iloc[order].reset_index(drop=True)
    codes = codes[order]
    in_base = frame["in_baseline"].to_numpy(dtype=bool)
    actual = frame["actual"].to_numpy(dtype=float)
    projected = frame["projected"].to_numpy(dtype=float)
    lower = frame["pi_lower"].to_numpy(dtype=float)
    upper = frame["pi_upper"].to_numpy(dtype=float)
    everything = np.ones(n, dtype=bool)

    series_first, _ = _ends_where(codes, everything, n_series)
    base_first, base_last = _ends_where(codes, in_base, n_series)
    # After the baseline: later than its last period (rows are in period order).
    row = np.arange(n)
    after = ~in_base & np.isfinite(actual) & (base_last[codes] >= 0) & (row > base_last[codes])
    higher = np.ones(n_series, dtype=bool)
    present = series_first >= 0
    higher[present] = frame["better"].to_numpy(dtype=object)[series_first[present]] == "higher"
    up = higher[codes]
    with np.errstate(invalid="ignore"):
        beyond_up, beyond_down = actual > upper, actual < lower
    better = after & np.where(up, beyond_up, beyond_down)
    worse = after & np.where(up, beyond_down, beyond_up)
    first_after, last = _ends_where(codes, after, n_series)
    some = last >= 0
    at = np.maximum(last, 0)

    def at_last(values: np.ndarray) -> np.ndarray:
        return np.where(some, values[at], np.nan) if n else np.full(n_series, np.nan)

    last_actual, last_projected = at_last(actual), at_last(projected)
    turned = some & (better[at] if n else False)
    below = some & (worse[at] if n else False)
    # The final unbroken run of better periods begins right after the last post-baseline
    # period that was not better, or at the first post-baseline period if every one was.
    _, last_not_better = _ends_where(codes, after & ~better, n_series)
    next_after = np.full(n + 1, -1)
    after_rows = np.flatnonzero(after)
    next_after[after_rows[:-1]] = after_rows[1:]
    run_start = np.where(last_not_better >= 0, next_after[last_not_better], first_after)
    with np.errstate(invalid="ignore"):
        ahead = np.where(higher, last_actual > last_projected, last_actual < last_projected)
    verdict = np.select(
        [~some, turned, below, ahead],
        ["no_data_after_baseline", "turned_the_curve", "below_baseline",
         "above_baseline_within_noise"],
        "on_baseline",
    ).astype(object)  # fmt: skip

    labels = frame[time]
    if keys:
        out = frame[keys].iloc[series_first].reset_index(drop=True)
    else:
        out = pd.DataFrame(index=range(n_series))
    out["baseline_first"] = _labels_at(labels, base_first)
    out["baseline_last"] = _labels_at(labels, base_last)
    out["last_period"] = _labels_at(labels, last)
    out["actual"] = last_actual
    out["projected"] = last_projected
    out["pi_lower"] = at_last(lower)
    out["pi_upper"] = at_last(upper)
    out["difference_pp"] = 100 * (last_actual - last_projected)
    out["periods_after"] = np.bincount(codes[after], minlength=n_series)
    out["periods_better"] = np.bincount(codes[better], minlength=n_series)
    out["periods_worse"] = np.bincount(codes[worse], minlength=n_series)
    out["turned"] = turned
    out["turned_since"] = _labels_at(labels, np.where(turned, run_start, -1))
    out["verdict"] = verdict
    return out


def _ends_where(codes: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each series' first and last row where ``mask`` holds; -1 where none."""
    first, last = _ends(codes[mask], n)
    rows = np.flatnonzero(mask)
    return (np.where(first >= 0, rows[np.maximum(first, 0)], -1) if len(rows) else first,
            np.where(last >= 0, rows[np.maximum(last, 0)], -1) if len(rows) else last)  # fmt: skip


def _labels_at(labels: pd.Series, idx: np.ndarray) -> pd.Series:
    """``labels`` at row ``idx`` of every series, NaN (NaT for dates) where ``idx`` is -1:
    whole numbers stay integers where every series has one."""
    if not len(labels):
        return pd.Series(np.full(len(idx), np.nan))
    values = labels.iloc[np.maximum(idx, 0)].reset_index(drop=True)
    return values.where(pd.Series(idx >= 0)) if (idx < 0).any() else values


# --- shared machinery ---------------------------------------------------------------------


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")


def _require(data: pd.DataFrame, columns: Sequence[str]) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, not {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )


def _as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _time_column(data: pd.DataFrame, time: str) -> str:
    """``time``, except that the default ``year`` means ``period`` in a monthly table."""
    if time == "year" and "year" not in data.columns and "period" in data.columns:
        return "period"
    return time


def _series_keys(data: pd.DataFrame, by: Sequence[str] | None, time: str) -> list[str]:
    if by is None:
        return [c for c in KEY_COLUMNS if c in data.columns and c != time]
    keys = [by] if isinstance(by, str) else list(by)
    _require(data, keys)
    return keys


def _prepare(
    data: pd.DataFrame,
    keys: list[str],
    time: str,
    numerator: str,
    denominator: str,
    *,
    need_counts: bool,
) -> pd.DataFrame:
    """A sorted copy (series, then time) with ``_num``, ``_den``, ``_rate`` and ``_use``.

    Each row is resolved once (:func:`c2c_analysis._rows.resolve_rows`): exact counts, or a
    published rate or range with its cohort count as effective counts (``_num`` successes of
    ``_den`` effective students, so rounding and ranges widen the intervals), or a rate
    alone. ``_use`` marks rows with a usable value (effective counts, for the binomial fit)
    and a period; ``_basis`` says how each row is known.
    """
    _require(data, [time])
    if need_counts and not {numerator, denominator, "rate"} & set(data.columns):
        _require(data, [numerator, denominator])
    frame = data.copy()
    frame["_t"] = _period_number(frame[time], time)
    resolved = resolve_rows(frame, numerator=numerator, denominator=denominator)
    ranged = resolved["from_range"].to_numpy()
    if ranged.any():
        warnings.warn(
            f"{int(ranged.sum())} range-coded row(s) (rate_low-rate_high, no exact rate) are "
            "used at the midpoint of their range, with the range's width in their uncertainty",
            C2CDataWarning,
            stacklevel=3,
        )
    weighted = resolved["n_effective"].notna().to_numpy()
    frame["_num"] = resolved["successes"].to_numpy()
    frame["_den"] = resolved["n_effective"].to_numpy()
    frame["_rate"] = resolved["rate"].to_numpy()
    frame["_basis"] = resolved["basis"].to_numpy()
    frame["_cohort"] = resolved["cohort"].to_numpy()
    rate = frame["_rate"].to_numpy()
    timed = np.isfinite(frame["_t"].to_numpy())
    frame["_use"] = (weighted if need_counts else np.isfinite(rate)) & timed
    frame = frame[timed].sort_values([*keys, time], kind="stable").reset_index(drop=True)
    duplicated = frame.duplicated([*keys, time])
    if duplicated.any():
        example = frame.loc[duplicated, [*keys, time]].iloc[0].to_dict()
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": str(example),
                    "problem": f"{int(duplicated.sum())} row(s) repeat a series and period; "
                    "pass by= with the columns that tell the series apart",
                }
            ]
        )
    return frame


def _codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Series number of each row, and one row of key values per series (in order)."""
    if not keys:
        return np.zeros(len(frame), dtype=int), pd.DataFrame(index=[0])
    codes, first = group_codes(*(frame[k].to_numpy() for k in keys))
    return codes, frame[keys].iloc[first].reset_index(drop=True)


def _group_sum(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=n)


def _weighted_line(codes, x, y, w, n):
    """Weighted least squares y = a + b (x - x̄_w) for every series at once."""
    sw = _group_sum(codes, w, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_mean = _group_sum(codes, w * x, n) / sw
        y_mean = _group_sum(codes, w * y, n) / sw
        xc = x - x_mean[codes]
        sxx = _group_sum(codes, w * xc * xc, n)
        slope = _group_sum(codes, w * xc * (y - y_mean[codes]), n) / sxx
    return y_mean, slope, x_mean, sxx, sw


def _binomial_fit(codes, t, num, den, n, enough, *, floor: bool = True) -> dict[str, np.ndarray]:
    """Quasi-binomial logistic regression of every series on time, by IRLS on all at once.

    Series whose every rate is 0% or 100% have no finite maximum-likelihood slope and are
    left out of the fit; a series that has not converged after 100 iterations (separation)
    gets no slope. With ``floor``, standard errors use max(dispersion, 1).
    """
    count = np.bincount(codes, minlength=n)
    boundary = _group_sum(codes, ((num == 0) | (num == den)).astype(float), n) == count
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
        _, slope, _, sxx, _ = _weighted_line(c, tt, eta, w, n)
        pearson = _group_sum(c, (x - m * mu) ** 2 / w, n)
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


def _irls(c, tt, y, m, eta, change, n):
    """Iterate the logistic IRLS until no series' linear predictor moves; ``change`` gets
    each series' last movement (in place)."""
    for _ in range(100):
        mu = 1 / (1 + np.exp(-eta))
        w = m * mu * (1 - mu)
        z = eta + (y - mu) / (mu * (1 - mu))
        a, b, x_mean, _, _ = _weighted_line(c, tt, z, w, n)
        new_eta = a[c] + b[c] * (tt - x_mean[c])
        change[:] = 0.0
        np.maximum.at(change, c, np.abs(new_eta - eta))
        change[np.isnan(change)] = np.inf
        eta = new_eta
        if change.max(initial=0.0) < 1e-10:
            break
    return eta


def _ols_fit(codes, t, y, n, enough, *, hac: bool) -> dict[str, np.ndarray]:
    """Least squares line of every series, with classical or Newey-West standard errors."""
    w = np.ones_like(t)
    intercept, slope, t_mean, sxx, count = _weighted_line(codes, t, y, w, n)
    resid = y - intercept[codes] - slope[codes] * (t - t_mean[codes])
    with np.errstate(divide="ignore", invalid="ignore"):
        sigma2 = _group_sum(codes, resid**2, n) / (count - 2)
        se = np.sqrt(sigma2 / sxx)
    if hac:
        se = _hac_slope_se(codes, t - t_mean[codes], resid, sxx, count, n)
    ok = enough & np.isfinite(slope) & (sxx > 0)
    return {
        "intercept": intercept,
        "slope": np.where(ok, slope, np.nan),
        "se": np.where(ok, se, np.nan),
        "dispersion": sigma2,
        "t_mean": t_mean,
        "sxx": sxx,
    }


def _hac_slope_se(codes, xc, resid, sxx, count, n) -> np.ndarray:
    """Newey-West standard error of the slope (Bartlett kernel, T/(T-2) correction).

    Rows are sorted by series and time, so lag l pairs row i with row i - l when both belong
    to the same series.
    """
    lags = np.floor(4 * (count / 100) ** (2 / 9)).astype(int)
    score = xc * resid
    meat = _group_sum(codes, score * score, n)
    for lag in range(1, int(lags.max(initial=0)) + 1):
        same = codes[lag:] == codes[:-lag]
        series = codes[lag:][same]
        weight = 1 - lag / (lags[series] + 1)
        weight = np.where(lag <= lags[series], weight, 0.0)
        meat += 2 * _group_sum(series, weight * score[lag:][same] * score[:-lag][same], n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(meat / sxx**2 * count / (count - 2))


def _ends(codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each series' first and last row (rows are sorted by time); -1 if none."""
    order = np.arange(len(codes))
    first_idx = np.full(n, -1)
    last_idx = np.full(n, -1)
    first_idx[codes[::-1]] = order[::-1]  # later assignments win: the earliest row
    last_idx[codes] = order
    return first_idx, last_idx


def _pick_labels(labels: pd.Series, idx: np.ndarray, dtype) -> pd.Series:
    values = (
        labels.iloc[np.maximum(idx, 0)].reset_index(drop=True)
        if len(labels)
        else pd.Series([None] * len(idx))
    )
    values = values.where(pd.Series(idx >= 0))
    if pd.api.types.is_integer_dtype(dtype):
        return values.astype("Int64")
    return values


def _is_datetime(series: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(series.dtype)


def _period_number(values: pd.Series, time: str) -> np.ndarray:
    """Periods as numbers: numeric periods as they are; dates as months since year 0
    (year * 12 + month - 1, plus the fraction of the month), so monthly data are 1 apart."""
    if _is_datetime(values):
        stamp = pd.DatetimeIndex(values)
        months = stamp.year * 12 + stamp.month - 1 + (stamp.day - 1) / stamp.days_in_month
        return np.asarray(months, dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    raise DataValidationError(
        [
            {
                "row": None,
                "column": time,
                "value": str(values.dtype),
                "problem": "the period column must hold numbers (years) or dates (months)",
            }
        ]
    )


def _notes(result, frame, codes, fit, dropped, *, monthly: bool) -> np.ndarray:
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


def _missing_periods(t, codes, n_series, *, monthly: bool) -> tuple[np.ndarray, np.ndarray]:
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


def _projection_grid(frame, keys, codes, groups, time, first, end) -> pd.DataFrame:
    """Every series × every period from ``first`` to ``end``; integer periods (years, or
    months for dates) missing from the data are filled in with no value."""
    observed = frame[(frame["_t"] >= first) & (frame["_t"] <= end)].copy()
    observed["_code"] = codes[observed.index]
    t_values = frame["_t"].to_numpy()
    integer = len(t_values) and np.all(np.mod(t_values, 1) == 0) and float(first).is_integer()
    if not integer or _is_datetime(frame[time]):
        # School months have structural gaps (summer): only observed months are shown.
        return observed.sort_values(["_code", "_t"], kind="stable").reset_index(drop=True)
    periods = np.arange(math.ceil(first), math.floor(end) + 1).astype(float)
    full = groups.assign(_code=np.arange(len(groups))).merge(
        pd.DataFrame({"_t": periods}), how="cross"
    )
    grid = full.merge(observed.drop(columns=[*keys, time]), on=["_code", "_t"], how="left")
    grid[time] = grid["_t"].astype(frame[time].dtype)
    return grid.sort_values(["_code", "_t"], kind="stable").reset_index(drop=True)
