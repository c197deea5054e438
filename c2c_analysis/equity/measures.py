"""Summary measures of inequality across the groups of one dimension (WHO HEAT).

:func:`inequality` gives the measures the WHO Health Equity Assessment Toolkit names (D, R,
PAR, PAF, BGV, ..., and for ordered groups ACI, RCI and the slope and relative indices of
inequality as healthequal computes them).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, check_level, renamed, require_columns
from c2c_analysis.equity.gap import check_better
from c2c_analysis.schema import better_direction
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["inequality"]

_SIMULATIONS = 1000
_INDICATOR_SCALES = (1, 100, 1000)


def inequality(
    data: pd.DataFrame,
    *,
    rate: str = "rate",
    denominator: str = "denominator",
    ordered: bool = False,
    order: Sequence[str] | None = None,
    reference: str | None = None,
    better: str | None = None,
    se: str | None = None,
    group: str = "group",
    setting_average: float | None = None,
    scale: int = 1,
    sii_model: str = "logit",
    sii_weights: str = "heat",
    level: float = 0.95,
    seed: int | None = None,
    value: Any = DEPRECATED,
    population: Any = DEPRECATED,
    higher_is_better: Any = DEPRECATED,
) -> pd.DataFrame:
    """Summary measures of inequality across the groups of one dimension, as WHO HEAT names them.

    Parameters
    ----------
    data : DataFrame
        One row per group of one dimension, one setting and one period.
    rate : str
        The column of the estimate per group, on the indicator scale ``scale`` (a
        proportion by default, as the canonical table's ``rate``).
    denominator : str
        The column of each group's number of students, for the population shares
        p_j = n_j / Σn.
    ordered : bool
        The groups have a natural order (income bands, quintiles); adds ACI, RCI, SII, RII.
    order : sequence of str, optional
        For ordered groups, their order from the most disadvantaged to the most advantaged
        (default: the order of the rows).
    reference : str, optional
        The reference group for MDRU/MDRW (default: the most advantaged group for ordered
        dimensions, the best-performing group otherwise).
    better : {"higher", "lower"}, optional
        Whether larger values are favourable (graduation) or adverse (chronic absence).
        Default None: the catalogue's direction of the outcome when ``data`` has an
        ``outcome`` column with one outcome (:func:`c2c_analysis.schema.better_direction`),
        else ``"higher"``.
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
        The indicator scale of ``rate``, as HEAT declares it: 1 for proportions (the
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
        Confidence level of the intervals.
    seed : int or None
        Seed of the simulations (None: fresh draws each call; pass an int to repeat them).
    value, population, higher_is_better
        Deprecated names of ``rate``, ``denominator`` and ``better``
        (``higher_is_better=True`` is ``better="higher"``); removed in 0.3.

    Returns
    -------
    DataFrame
        One row per measure: ``measure``, ``value``, ``scale`` (the unit), ``description``;
        when ``ordered`` or ``se`` is given also ``ci_lower``, ``ci_upper`` (NaN for a
        measure without an interval), ``std_error`` (the delta-method standard error of
        SII, on the scale of ``rate``, and of ln RII; NaN for other measures) and
        ``ci_method`` (``"delta_hc1"`` for SII and RII, ``"simulation"`` for measures
        simulated from ``se``, None otherwise). Measures: D, R, PAR, PAF, BGV, BGSD, IDISU,
        IDISW, MDBU, MDBW, MDMU, MDMW, MDRU, MDRW, TI, MLD; and for ordered groups ACI,
        RCI, SII, RII. Values are on the scale of ``rate`` except PAF, IDISU and IDISW
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
    >>> result = inequality(quintiles, denominator="n", ordered=True)
    >>> result = result.set_index("measure")
    >>> round(float(result.loc["D", "value"]), 2), round(float(result.loc["ACI", "value"]), 4)
    (0.28, 0.0558)
    >>> sii = result.loc["SII"]  # as HEAT: 34.3 points from the lowest to the highest rank
    >>> [round(float(sii[c]), 4) for c in ("value", "ci_lower", "ci_upper")]
    [0.3429, 0.2967, 0.3891]
    >>> each_once = inequality(quintiles, denominator="n", ordered=True,
    ...                        sii_weights="counts").set_index("measure")
    >>> round(float(each_once.loc["SII", "value"]), 4)
    0.3489
    """

    rate = renamed("inequality", "value", value, "rate", rate, default="rate")
    denominator = renamed(
        "inequality", "population", population, "denominator", denominator, default="denominator"
    )
    better = renamed(
        "inequality", "higher_is_better", higher_is_better, "better", better,
        convert=lambda v: "higher" if v else "lower",
    )  # fmt: skip
    level = check_level(level)
    _check_options(rate, scale, sii_model, sii_weights)
    higher = _direction(data, check_better(better)) == "higher"
    require_columns(data, [c for c in (group, rate, denominator, se) if c is not None])
    frame = _in_order(data, group, order) if ordered and order is not None else data
    y, n, usable = _group_values(frame, rate, denominator)
    labels = frame[group].astype(str).to_numpy()[usable]
    y, n = y[usable], n[usable]
    if ordered and sii_model == "logit":
        _check_scale(y, labels, rate, scale)
    ref_index = None
    if reference is not None:
        if reference not in labels:
            raise ValueError(f"reference group {reference!r} is not among the groups")
        ref_index = int(np.flatnonzero(labels == reference)[0])
    options: dict[str, Any] = {
        "ordered": ordered,
        "ref_index": ref_index,
        "higher": higher,
        "mu": setting_average,
    }
    point = {m: float(v) for m, v in _measures(y, n, **options).items()}
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
        simulated = _simulated(y, errors, n, seed, options)
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


def _check_options(rate: str, scale: object, sii_model: str, sii_weights: str) -> None:
    if sii_model not in ("logit", "linear"):
        raise ValueError(f"sii_model must be 'logit' or 'linear', not {sii_model!r}")
    if sii_weights not in ("heat", "counts"):
        raise ValueError(f"sii_weights must be 'heat' or 'counts', not {sii_weights!r}")
    if isinstance(scale, bool) or scale not in _INDICATOR_SCALES:
        raise ValueError(
            f"scale is the indicator scale of {rate!r}: 1 (proportions), 100 (percent) or "
            f"1000 (per 1,000), not {scale!r}"
        )


def _direction(data: pd.DataFrame, better: str | None) -> str:
    """``better``, or the catalogue's direction of the one outcome of ``data``, or higher."""
    if better is not None:
        return better
    if "outcome" in data.columns:
        outcomes = pd.unique(data["outcome"].dropna())
        if len(outcomes) == 1:
            return better_direction(str(outcomes[0]))
    return "higher"


def _in_order(data: pd.DataFrame, group: str, order: Sequence[str]) -> pd.DataFrame:
    """The rows of ``data`` sorted by their group's position in ``order``."""
    position = {g: i for i, g in enumerate(order)}
    missing = [g for g in data[group] if g not in position]
    if missing:
        raise ValueError(f"groups not in order: {missing}")
    return (
        data.assign(_pos=data[group].map(position))
        .sort_values("_pos", kind="stable")
        .drop(columns="_pos")
    )


def _group_values(
    frame: pd.DataFrame, rate: str, denominator: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group's estimate and number of students, and which rows have both."""
    y = pd.to_numeric(frame[rate], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(frame[denominator], errors="coerce").to_numpy(dtype=float)
    usable = np.isfinite(y) & np.isfinite(n) & (n > 0)
    if usable.sum() < 2:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": rate,
                    "value": "",
                    "problem": "at least two groups with a value and a population are needed",
                }
            ]
        )
    return y, n, usable


def _check_scale(y: np.ndarray, labels: np.ndarray, rate: str, scale: int) -> None:
    """The logistic SII needs every value in [0, scale]."""
    outside = (y < 0) | (y > scale)
    if outside.any():
        hint = " (percentages? pass scale=100)" if scale == 1 and np.all(y <= 100) else ""
        raise ValueError(
            f"{rate!r} must lie in [0, {scale}] for the logistic SII with scale={scale}; "
            f"group {labels[outside][0]!r} has {float(y[outside][0])!r}{hint}"
        )


def _simulated(
    y: np.ndarray, errors: np.ndarray, n: np.ndarray, seed: int | None, options: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Every measure of :data:`_SIMULATIONS` normal draws of the estimates, all at once:
    each measure an array over the draws."""
    rng = np.random.default_rng(seed)
    draws = rng.normal(y, errors, size=(_SIMULATIONS, len(y)))
    return _measures(draws, n, **options)


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


def _measures(
    y: np.ndarray,
    n: np.ndarray,
    *,
    ordered: bool,
    ref_index: int | None,
    higher: bool,
    mu: float | None,
) -> dict[str, np.ndarray]:
    """Every measure but SII and RII (see :func:`_sii_rii`), for the estimates ``y`` of
    the groups along the last axis: one set of estimates, or many draws of them at once
    (shape ``(draws, groups)``), each measure then an array over the draws."""
    y = np.asarray(y, dtype=float)
    p = n / n.sum()
    mean = np.sum(p * y, axis=-1) if mu is None else np.full(y.shape[:-1], float(mu))
    last = y.shape[-1] - 1
    best = np.argmax(y, axis=-1) if higher else np.argmin(y, axis=-1)

    def at(index: int | np.ndarray) -> np.ndarray:
        where = np.broadcast_to(np.asarray(index), y.shape[:-1])
        return np.take_along_axis(y, where[..., None], axis=-1)[..., 0]

    if ordered:
        low, high = y[..., 0], y[..., last]  # least and most advantaged
    else:
        low, high = np.min(y, axis=-1), np.max(y, axis=-1)
    ref = at(ref_index if ref_index is not None else (last if ordered else best))
    best_value = y[..., last] if ordered else at(best)
    par = best_value - mean
    par = np.maximum(par, 0.0) if higher else np.minimum(par, 0.0)
    m = mean[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_y = y / m
        out = {
            "D": high - low,
            "R": high / low,
            "PAR": par,
            "PAF": 100 * par / mean,
            "BGV": np.sum(p * (y - m) ** 2, axis=-1),
            "BGSD": np.sqrt(np.sum(p * (y - m) ** 2, axis=-1)),
            "IDISU": 100 * np.mean(np.abs(y - m), axis=-1) / mean,
            "IDISW": 100 * np.sum(p * np.abs(y - m), axis=-1) / mean,
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
            out["RCI"] = aci / mean
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def _sii_rii(
    y: np.ndarray, n: np.ndarray, *, scale: int, model: str, weights: str, level: float
) -> dict[str, tuple[float, ...]]:
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
