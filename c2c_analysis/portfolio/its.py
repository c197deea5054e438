"""Interrupted time series: segmented regression of one series (or a treated and a control
series) around a strategy's start (Lopez Bernal, Cummins & Gasparrini 2017)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, check_level, renamed, require_columns
from c2c_analysis._results import Result, json_safe
from c2c_analysis._rows import basis_note, resolve_rows
from c2c_analysis._time import numeric_time
from c2c_analysis.validation import DataValidationError

__all__ = ["ITSResult", "interrupted_time_series"]

#: The strategy's terms: the change in level and in slope at the start.
STRATEGY_TERMS = ("level_change", "slope_change")

_FAMILIES = ("binomial", "poisson", "gaussian")


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class ITSResult(Result):
    """Segmented regression around a strategy's start.

    Attributes
    ----------
    table : DataFrame
        One row per term: ``term, estimate, std_error, ci_lower, ci_upper, p_value`` on the
        model's scale (logit, log or the outcome's own), then ``ratio``,
        ``ratio_ci_lower``, ``ratio_ci_upper`` (odds ratio for binomial, rate ratio for
        Poisson; empty for gaussian) and ``effect_pp`` (for ``level_change``: the change at
        ``start`` in percentage points for binomial and gaussian rates; for
        ``slope_change``: the change in the per-period slope at ``start``, in points).
    summary : DataFrame
        The rows of ``table`` of the strategy's terms only (``level_change`` and, with
        ``slope_change=True``, ``slope_change``), same columns.
    counterfactual : DataFrame
        Per period of the treated series: the ``time`` column, ``observed``, ``fitted``,
        ``counterfactual`` (the model without the strategy's terms), ``difference``
        (fitted − counterfactual, on the outcome's scale), ``difference_pp`` (rates) and
        ``difference_count`` (students, or events for Poisson).
    dispersion : float
        The estimate, before any floor: Pearson X² / residual df (1 when
        ``dispersion="none"``; the residual variance for gaussian).
    dispersion_floored : bool
        True when the binomial or Poisson estimate was below 1 and the standard errors,
        intervals and p-values used 1 instead (``dispersion_floor=True``, the default).
    df_resid : float or None
        Residual degrees of freedom of the t intervals (gaussian, least squares with
        Newey-West errors); None for the binomial and Poisson models' normal (Wald)
        intervals.
    settings : dict
        The arguments (``family``, ``dispersion``, ``dispersion_floor``, ``start``,
        ``slope_change``, ``seasonality``, ``period``, ``control``, ``level``, ``time``),
        the package ``version``, ``analysis`` (the method's name) and ``method_reference``.
    notes : tuple of str
        How many rows were derived from published rates or ranges, and whether the
        dispersion was floored.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> its = interrupted_time_series(data, time="year", start=2013, numerator="numerator",
    ...                               denominator="denominator")
    >>> its.conf_int(level=0.9).columns.tolist()[:5]
    ['term', 'estimate', 'std_error', 'ci_lower', 'ci_upper']
    """

    counterfactual: pd.DataFrame
    dispersion: float
    dispersion_floored: bool = False
    df_resid: float | None = None

    analysis: ClassVar[str] = "Interrupted time series (segmented regression)"
    method_reference: ClassVar[str] = (
        "Lopez Bernal, Cummins & Gasparrini (2017), Interrupted time series regression for "
        "the evaluation of public health interventions: a tutorial, Int J Epidemiol 46:348-355"
    )

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Each term's interval at confidence ``level``, from its estimate and standard error.

        Parameters
        ----------
        level : float
            Confidence level (default 0.95); the table's own intervals are at
            ``settings["level"]``.

        Returns
        -------
        DataFrame
            One row per term: ``term, estimate, std_error, ci_lower, ci_upper`` (estimate ±
            z·se for the binomial and Poisson models, ± t·se with ``df_resid`` degrees of
            freedom for gaussian) and, for binomial and Poisson, ``ratio``,
            ``ratio_ci_lower``, ``ratio_ci_upper`` (their exponentials), then ``level``.

        Examples
        --------
        >>> from c2c_analysis import load_sample
        >>> data = load_sample("outcomes").query(
        ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
        >>> its = interrupted_time_series(data, time="year", start=2013,
        ...                               numerator="numerator", denominator="denominator")
        >>> wide, narrow = its.conf_int(0.99), its.conf_int(0.8)
        >>> bool((wide["ci_lower"] < narrow["ci_lower"]).all())
        True
        """
        level = check_level(level)
        lower, upper = wald_interval(
            self.table["estimate"].to_numpy(),
            self.table["std_error"].to_numpy(),
            level,
            df_resid=self.df_resid,
        )
        out = self.table[["term", "estimate", "std_error"]].assign(ci_lower=lower, ci_upper=upper)
        if self.settings.get("family") in ("binomial", "poisson"):
            out = out.assign(
                ratio=np.exp(out["estimate"]),
                ratio_ci_lower=np.exp(out["ci_lower"]),
                ratio_ci_upper=np.exp(out["ci_upper"]),
            )
        return out.assign(level=level).reset_index(drop=True)

    def plot(self, ax=None):
        """Observed values, fitted segments and the counterfactual
        (:func:`~c2c_analysis.plotting.plot_its`); returns the Axes."""
        from c2c_analysis.plotting import plot_its

        return plot_its(self, ax=ax)

    def _title(self) -> str:
        floored = " (floored at 1)" if self.dispersion_floored else ""
        return (
            f"Interrupted time series ({self.settings.get('family')}), "
            f"dispersion {self.dispersion:.3g}{floored}"
        )


def wald_interval(
    estimate: np.ndarray, std_error: np.ndarray, level: float, *, df_resid: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """estimate ∓ q·se with q the normal (or, with ``df_resid``, the t) quantile at
    1 − (1 − level)/2: the arithmetic of statsmodels' ``conf_int``."""
    from scipy import stats

    alpha = 1 - level
    q = stats.norm.ppf(1 - alpha / 2) if df_resid is None else stats.t.ppf(1 - alpha / 2, df_resid)
    return estimate - q * std_error, estimate + q * std_error


def interrupted_time_series(
    data: pd.DataFrame,
    *,
    time: str,
    start: object,
    y: str | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    offset: str | None = None,
    family: str = "binomial",
    dispersion: str = "pearson",
    slope_change: bool = True,
    seasonality: int | None = None,
    period: float | None = None,
    control: str | None = None,
    hac_lags: int | None = None,
    level: float = 0.95,
    dispersion_floor: bool = True,
    comparison: str | None = DEPRECATED,
) -> ITSResult:
    """Segmented regression: did the series change level or slope when the strategy began?

    The model, with τ = time − ``start`` and post = 1 from ``start`` on, is

        g(E[y]) = β₀ + β₁τ + β₂·post + β₃·τ·post [+ Fourier terms] [+ control terms],

    so β₂ (``level_change``) is the immediate change at ``start`` and β₃ (``slope_change``)
    the change in slope. With ``control``, the control series gets its own intercept,
    slope, level change and slope change (``comparison_*`` terms) and ``level_change`` /
    ``slope_change`` become the treated series' changes beyond the control's: a
    comparative interrupted time series (difference in differences).

    Parameters
    ----------
    data : DataFrame
        One row per period (and per series with ``control``). Not modified.
    time : str
        Numeric period column (years or a month counter). Dates are turned into months.
    start : period
        The first period the strategy could affect.
    y : str, optional
        The outcome column for ``gaussian`` (a rate or score) or ``poisson`` (a count).
    numerator, denominator : str, optional
        Counts for ``binomial`` (students meeting the outcome out of the cohort); a
        published ``rate`` (or ``rate_low``/``rate_high`` range) with its cohort count
        stands in for a missing numerator.
    offset : str, optional
        Exposure for ``poisson`` (population, student-days); its log is taken for you.
    family : {"binomial", "poisson", "gaussian"}
    dispersion : {"pearson", "none"}
        ``pearson`` (default): quasi-likelihood with dispersion Pearson X² / residual df,
        computed with the number of trials (statsmodels 0.15 gets this wrong for the
        ``[successes, failures]`` form, so proportions are fitted with ``var_weights``).
        ``none``: binomial or Poisson variance as is. Ignored for gaussian.
    slope_change : bool
        Include β₃.
    seasonality : int, optional
        Number of Fourier pairs sin/cos(2πk·time/period), k = 1..seasonality.
    period : float, optional
        Length of a season in ``time`` units (12 for monthly data).
    control : str, optional
        Boolean column: true (1) for the rows of the control (comparison) series, false
        (0) for the treated series' rows.
    hac_lags : int, optional
        Newey-West lags for gaussian standard errors (default: floor(4(T/100)^(2/9))).
    level : float
        Confidence level of the table's intervals (default 0.95; ``ITSResult.conf_int()``
        gives any other).
    dispersion_floor : bool
        With ``dispersion="pearson"``: a binomial or Poisson dispersion estimate below 1 is
        replaced by 1 in the standard errors (default), so the model claims no more
        precision than binomial or Poisson sampling allows; ``False`` uses the estimate as
        it is. The estimate itself is reported either way.
    comparison : str, optional
        Deprecated name of ``control`` (until 0.3).

    Returns
    -------
    ITSResult
        ``table`` (``term, estimate, std_error, ci_lower, ci_upper, p_value, ratio,
        ratio_ci_lower, ratio_ci_upper, effect_pp``), ``summary`` (the strategy's terms),
        ``counterfactual``, ``dispersion`` (the estimate), ``dispersion_floored`` (whether
        the floor applied), ``df_resid``, ``settings`` and ``notes``.

    Raises
    ------
    DataValidationError
        A column is missing, or fewer than 3 periods before the start or none from it on
        have a value.
    ValueError
        An argument outside its allowed values.

    Notes
    -----
    Standard errors are those of the GLM with dispersion φ = max(φ̂, 1) when the floor
    applies, φ̂ = Pearson X² / (n − p) otherwise (quasi-likelihood, McCullagh & Nelder 1989,
    §4.5); intervals are Wald intervals, estimate ± z·se, as R's ``ci.lin`` gives them. An
    estimate below 1 from a short annual series is mostly chance (six points can give 0.014
    and a p-value of 1e-24); overdispersed series (φ̂ ≥ 1) are unchanged by the floor.

    References
    ----------
    Lopez Bernal, Cummins & Gasparrini (2017). Interrupted time series regression for the
    evaluation of public health interventions: a tutorial. International Journal of
    Epidemiology 46(1):348-355.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> its = interrupted_time_series(data, time="year", start=2013, numerator="numerator",
    ...                               denominator="denominator")
    >>> its.summary["term"].tolist()
    ['level_change', 'slope_change']
    """
    control = renamed("interrupted_time_series", "comparison", comparison, "control", control)
    level = _check_arguments(
        data, time=time, start=start, y=y, numerator=numerator, denominator=denominator,
        offset=offset, family=family, dispersion=dispersion, seasonality=seasonality,
        period=period, control=control, hac_lags=hac_lags, level=level,
    )  # fmt: skip
    frame = data.copy()
    t = numeric_time(frame[time])
    t0 = float(numeric_time(pd.Series([start], dtype=frame[time].dtype))[0])
    tau = t - t0
    post = (tau >= 0).astype(float)
    X, treated = _design(
        frame, t, tau, post, slope_change=slope_change, seasonality=seasonality,
        period=period, control=control,
    )  # fmt: skip
    response = _response(frame, family, y=y, numerator=numerator, denominator=denominator,
                         offset=offset)  # fmt: skip
    usable = response.usable & np.isfinite(t)
    if (usable & (post == 0) & (treated == 1)).sum() < 3 or (
        usable & (post == 1) & (treated == 1)
    ).sum() < 1:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": str(start),
                    "problem": "at least 3 periods before the start and 1 from it on are needed",
                }
            ]
        )
    fit, scale, floored = _fit(
        X, response, usable, family, dispersion=dispersion,
        dispersion_floor=dispersion_floor, hac_lags=hac_lags,
    )  # fmt: skip
    table = _term_table(X, fit, family, level)
    inverse = _INVERSE_LINK[family]
    table["effect_pp"] = _effects(table, X, fit, family, inverse, control=control)
    cf = _counterfactual(frame, time, X, fit, response, treated, family, inverse)
    settings = {
        "family": family,
        "dispersion": dispersion,
        "dispersion_floor": dispersion_floor,
        "start": json_safe(start),
        "slope_change": slope_change,
        "seasonality": seasonality,
        "period": period,
        "control": control,
        "level": level,
        "time": time,
    }
    notes = basis_note(response.basis, used=usable) if response.basis is not None else []
    if floored:
        notes.append(
            f"The dispersion estimate {scale:.3g} is below 1: the standard errors, intervals "
            "and p-values use 1 (dispersion_floor=True)."
        )
    return ITSResult(
        table=table,
        summary=table[table["term"].isin(STRATEGY_TERMS)].reset_index(drop=True),
        counterfactual=cf,
        dispersion=scale if family != "gaussian" else float(fit.scale),
        dispersion_floored=bool(floored),
        df_resid=float(fit.df_resid) if family == "gaussian" else None,
        settings=settings,
        notes=tuple(notes),
    )


def _check_arguments(
    data: Any,
    *,
    time: Any,
    start: Any,
    y: Any,
    numerator: Any,
    denominator: Any,
    offset: Any,
    family: Any,
    dispersion: Any,
    seasonality: Any,
    period: Any,
    control: Any,
    hac_lags: Any,
    level: Any,
) -> float:
    """Every argument of :func:`interrupted_time_series` checked; returns the level."""
    if family not in _FAMILIES:
        raise ValueError("family must be 'binomial', 'poisson' or 'gaussian'")
    if dispersion not in ("pearson", "none"):
        raise ValueError("dispersion must be 'pearson' or 'none'")
    if seasonality is not None and (
        isinstance(seasonality, bool) or not isinstance(seasonality, int | np.integer)
    ):
        raise ValueError(f"seasonality is a number of Fourier pairs, not {seasonality!r}")
    if seasonality is not None and seasonality < 0:
        raise ValueError(f"seasonality is a number of Fourier pairs, not {seasonality!r}")
    if seasonality and not period:
        raise ValueError("seasonality needs period= (e.g. 12 for monthly data)")
    if period is not None and (
        isinstance(period, bool)
        or not isinstance(period, int | float | np.integer | np.floating)
        or not period > 0
    ):
        raise ValueError(f"period is the length of a season in time units, not {period!r}")
    if hac_lags is not None and (
        isinstance(hac_lags, bool) or not isinstance(hac_lags, int | np.integer) or hac_lags < 0
    ):
        raise ValueError(f"hac_lags is a number of lags (0 or more), not {hac_lags!r}")
    if start is None:
        raise ValueError("start is the first period the strategy could affect, not None")
    level = check_level(level)
    needed = [time]
    if family == "binomial":
        if numerator is None or denominator is None:
            raise ValueError("family='binomial' needs numerator= and denominator=")
        # A published rate with its cohort count stands in for a numerator (see _rows).
        has_rate = isinstance(data, pd.DataFrame) and "rate" in data.columns
        needed += [denominator] if has_rate else [numerator, denominator]
    else:
        if y is None:
            raise ValueError(f"family={family!r} needs y=")
        needed.append(y)
    needed += [c for c in (offset, control) if c]
    require_columns(data, needed)
    return level


@dataclasses.dataclass(frozen=True)
class _Response:
    """The response of one family: values, usable rows, weights, offset, counts, bases."""

    values: np.ndarray
    usable: np.ndarray
    weights: np.ndarray | None = None
    offset: np.ndarray | None = None
    cohort: np.ndarray | None = None
    basis: pd.Series | None = None


def _response(
    frame: pd.DataFrame,
    family: str,
    *,
    y: str | None,
    numerator: str | None,
    denominator: str | None,
    offset: str | None,
) -> _Response:
    """The response values of ``family``, which rows can be used and the GLM's weights."""
    if family == "binomial":
        # Counts, or published rates and ranges as effective counts (their rounding or
        # width gives them less weight than their cohort's count would).
        resolved = resolve_rows(
            frame, numerator=str(numerator), denominator=str(denominator)
        )  # fmt: skip
        den = resolved["n_effective"].to_numpy()
        usable = np.isfinite(den) & (den > 0)
        return _Response(
            values=np.where(usable, resolved["rate"].to_numpy(), np.nan),
            usable=usable,
            weights=den,
            cohort=resolved["cohort"].to_numpy(),
            basis=resolved["basis"],
        )
    values = pd.to_numeric(frame[str(y)], errors="coerce").to_numpy(dtype=float)
    usable = np.isfinite(values)
    offset_values = None
    if family == "poisson" and offset:
        exposure = pd.to_numeric(frame[offset], errors="coerce").to_numpy(dtype=float)
        usable &= np.isfinite(exposure) & (exposure > 0)
        offset_values = np.log(np.where(exposure > 0, exposure, 1.0))
    return _Response(values=values, usable=usable, offset=offset_values)


def _design(
    frame: pd.DataFrame,
    t: np.ndarray,
    tau: np.ndarray,
    post: np.ndarray,
    *,
    slope_change: bool,
    seasonality: int | None,
    period: float | None,
    control: str | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The design matrix and the indicator of the treated series' rows."""
    columns: dict[str, np.ndarray] = {
        "intercept": np.ones(len(frame)),
        "time": tau,
        "level_change": post,
    }
    if slope_change:
        columns["slope_change"] = tau * post
    if seasonality and period:
        for k in range(1, seasonality + 1):
            columns[f"sin{k}"] = np.sin(2 * np.pi * k * t / period)
            columns[f"cos{k}"] = np.cos(2 * np.pi * k * t / period)
    treated = np.ones(len(frame))
    if control:
        is_control = frame[control].astype(bool).to_numpy()
        treated = (~is_control).astype(float)
        # Base terms describe the control series; treated-series terms are differences.
        names = {
            "intercept": "comparison_intercept",
            "time": "comparison_time",
            "level_change": "comparison_level_change",
            "slope_change": "comparison_slope_change",
        }
        base = {names.get(k, k): v for k, v in columns.items()}
        extra = {"treated": treated, "treated_time": treated * tau, "level_change": treated * post}
        if slope_change:
            extra["slope_change"] = treated * tau * post
        columns = {**base, **extra}
    return pd.DataFrame(columns), treated


def _fit(
    X: pd.DataFrame,
    response: _Response,
    usable: np.ndarray,
    family: str,
    *,
    dispersion: str,
    dispersion_floor: bool,
    hac_lags: int | None,
) -> tuple[Any, float, bool]:
    """The fitted model (statsmodels), the dispersion estimate and whether it was floored."""
    import statsmodels.api as sm

    Xu = X[usable]
    y = response.values[usable]
    if family == "gaussian":
        lags = hac_lags if hac_lags is not None else math.floor(4 * (usable.sum() / 100) ** (2 / 9))
        fit = sm.OLS(y, Xu).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
        )
        return fit, float(fit.scale), False
    model_family = sm.families.Binomial() if family == "binomial" else sm.families.Poisson()
    kwargs: dict[str, Any] = {"family": model_family}
    if response.weights is not None:
        kwargs["var_weights"] = response.weights[usable]
    if response.offset is not None:
        kwargs["offset"] = response.offset[usable]
    model = sm.GLM(y, Xu, **kwargs)
    fit = model.fit(scale="X2" if dispersion == "pearson" else 1.0)
    scale = float(fit.scale)
    floored = dispersion == "pearson" and dispersion_floor and scale < 1
    if floored:  # same estimates; standard errors at the binomial / Poisson dispersion
        fit = model.fit(scale=1.0)
    return fit, scale, bool(floored)


def _term_table(X: pd.DataFrame, fit: Any, family: str, level: float) -> pd.DataFrame:
    """One row per term: estimate, standard error, interval, p-value and ratio."""
    ci = fit.conf_int(alpha=1 - level)
    table = pd.DataFrame(
        {
            "term": list(X.columns),
            "estimate": fit.params.to_numpy(),
            "std_error": np.asarray(fit.bse, dtype=float),
            "ci_lower": ci.iloc[:, 0].to_numpy(),
            "ci_upper": ci.iloc[:, 1].to_numpy(),
            "p_value": fit.pvalues.to_numpy(),
        }
    )
    if family in ("binomial", "poisson"):
        table["ratio"] = np.exp(table["estimate"])
        table["ratio_ci_lower"] = np.exp(table["ci_lower"])
        table["ratio_ci_upper"] = np.exp(table["ci_upper"])
    else:
        table["ratio"] = table["ratio_ci_lower"] = table["ratio_ci_upper"] = np.nan
    return table


def _expit(v: Any) -> Any:
    return 1 / (1 + np.exp(-v))


def _identity(v: Any) -> Any:
    return v


_INVERSE_LINK: dict[str, Callable[[Any], Any]] = {
    "binomial": _expit,
    "poisson": np.exp,
    "gaussian": _identity,
}


def _effects(
    table: pd.DataFrame,
    X: pd.DataFrame,
    fit: Any,
    family: str,
    inverse: Callable[[Any], Any],
    *,
    control: str | None,
) -> np.ndarray:
    """The strategy's terms in percentage points (rates): the level change at the start and
    the change in the per-period slope there."""
    effect_pp = np.full(len(table), np.nan)
    if family == "poisson":
        return effect_pp
    params = fit.params.to_numpy()
    at_start = X.iloc[[0]].copy() * 0
    at_start["intercept" if "intercept" in X else "comparison_intercept"] = 1.0
    if control:
        at_start["treated"] = 1.0
    base0 = float(at_start.to_numpy()[0] @ params)
    after = at_start.copy()
    after["level_change"] = 1.0
    step = inverse(float(after.to_numpy()[0] @ params)) - inverse(base0)
    effect_pp[(table["term"] == "level_change").to_numpy()] = 100 * step
    if "slope_change" in X:
        p0 = inverse(float(after.to_numpy()[0] @ params))
        derivative = p0 * (1 - p0) if family == "binomial" else 1.0
        effect_pp[(table["term"] == "slope_change").to_numpy()] = (
            100 * derivative * float(fit.params["slope_change"])
        )
    return effect_pp


def _counterfactual(
    frame: pd.DataFrame,
    time: str,
    X: pd.DataFrame,
    fit: Any,
    response: _Response,
    treated: np.ndarray,
    family: str,
    inverse: Callable[[Any], Any],
) -> pd.DataFrame:
    """Fitted values with and without the strategy's terms, for the treated series."""
    strategy_terms = [c for c in STRATEGY_TERMS if c in X.columns]
    without = X.copy()
    without[strategy_terms] = 0.0
    params = fit.params.to_numpy()
    link = X.to_numpy() @ params
    link0 = without.to_numpy() @ params
    if response.offset is not None:
        link, link0 = link + response.offset, link0 + response.offset
    fitted, counterfactual = inverse(link), inverse(link0)
    keep = treated == 1
    # Students for binomial (difference x cohort), events for Poisson, none for gaussian.
    counts = (
        response.cohort
        if family == "binomial" and response.cohort is not None
        else np.ones(len(frame))
    )
    difference = fitted - counterfactual
    cf = pd.DataFrame(
        {
            time: frame[time].to_numpy()[keep],
            "observed": response.values[keep],
            "fitted": fitted[keep],
            "counterfactual": counterfactual[keep],
            "difference": difference[keep],
            "difference_pp": 100 * difference[keep] if family != "poisson" else np.nan,
            "difference_count": (difference * counts)[keep] if family != "gaussian" else np.nan,
        }
    )
    return cf.reset_index(drop=True)
