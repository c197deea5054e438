"""The Blinder-Oaxaca decomposition: the gap in a student-level value between two groups split
into the part explained by covariates and the rest."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, renamed, require_columns
from c2c_analysis._results import json_safe
from c2c_analysis.decompose.results import THREEFOLD, TWOFOLD, OaxacaBlinderResult

__all__ = ["oaxaca_blinder"]

_WEIGHTS = ("pooled", "neumark", "reimers", "cotton", "reference", "other")


def oaxaca_blinder(
    data: pd.DataFrame,
    *,
    value: str | None = None,
    group: str,
    covariates: Sequence[str],
    reference: object = None,
    weights: str = "pooled",
    detailed: bool = True,
    bootstrap: int = 0,
    seed: int | None = None,
    outcome: str = DEPRECATED,
    reference_group: object = DEPRECATED,
) -> OaxacaBlinderResult:
    """Blinder-Oaxaca decomposition of the gap in a student-level value between two groups.

    gap = mean(value | reference group) − mean(value | other group), for A the reference
    group and B the other, with group means X̄ and OLS coefficients β (with an intercept):

    - twofold: explained = (X̄_A − X̄_B)'β*, unexplained = X̄_A'(β_A − β*) + X̄_B'(β* − β_B),
      where β* is ``weights``: ``pooled`` (a pooled regression with a group indicator,
      Jann 2008 / Fortin 2008), ``neumark`` (pooled without the indicator), ``reimers``
      (½β_A + ½β_B), ``cotton`` (group-size weighted), ``reference`` (β_A) or ``other`` (β_B);
    - threefold, from the other group's viewpoint: endowments (X̄_A − X̄_B)'β_B, coefficients
      X̄_B'(β_A − β_B), interaction (X̄_A − X̄_B)'(β_A − β_B).

    Written on numpy least squares: statsmodels' ``OaxacaBlinder`` reorders the groups
    silently, needs a constant column and has no detailed decomposition.

    Parameters
    ----------
    data : DataFrame
        One row per student; rows with a missing value in the value, group or covariates
        columns are left out and counted in the result's settings.
    value : str
        The student-level response column (0/1 for a rate, or a number).
    group : str
        Column with exactly two values.
    covariates : sequence of str
        Numeric covariates (code categories as 0/1 columns; detailed contributions of a set
        of dummies depend on the omitted category).
    reference : value of ``group``
        Group A, the reference group.
    weights : str
        β* of the twofold decomposition (see above).
    detailed : bool
        Include per-covariate contributions in ``.table``.
    bootstrap : int
        Resamples (within each group) for standard errors and intervals; 0 for none.
    seed : int, optional
        Seed of the bootstrap (None: fresh randomness).
    outcome : str
        Deprecated name of ``value`` (until 0.3).
    reference_group : value of ``group``
        Deprecated name of ``reference`` (until 0.3).

    Returns
    -------
    OaxacaBlinderResult
        ``.summary``: ``component`` (gap, explained, unexplained, endowments, coefficients,
        interaction), ``estimate`` and ``se`` (bootstrap, NaN without). ``.table``: per
        covariate (and the intercept): ``covariate``, ``mean_reference``, ``mean_other``,
        ``coef_reference``, ``coef_other``, ``coef_star``, ``explained``, ``unexplained``,
        ``endowments``, ``coefficients``, ``interaction`` (and ``*_se`` with bootstrap).
        ``.draws``: the bootstrap's estimates of the components, one row per resample.
        Accessors: ``.gap``, ``.twofold``, ``.threefold``, ``.conf_int(level)``.

    References
    ----------
    Oaxaca (1973), Male-female wage differentials in urban labor markets. International
    Economic Review 14:693-709. Blinder (1973), Wage discrimination: reduced form and
    structural estimates. J. Human Resources 8:436-455. Jann (2008), The Blinder-Oaxaca
    decomposition for linear regression models. Stata Journal 8(4):453-479.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> students = load_sample("students").query("class_of == 2015")
    >>> students = students.assign(white=(students["race_ethnicity"] == "White").astype(int))
    >>> result = oaxaca_blinder(students, value="graduated", group="white", reference=1,
    ...                         covariates=["low_income", "attendance_rate", "prior_score"])
    >>> round(result.gap, 3)
    0.025
    >>> result.twofold.round(3)[["component", "estimate"]].values.tolist()
    [['explained', 0.027], ['unexplained', -0.002]]
    """
    # Long because of its docstring (the twofold and threefold formulas, every weighting);
    # the components are _ob_components, the resampling _bootstrap.
    value = renamed("oaxaca_blinder", "outcome", outcome, "value", value, default=None)
    reference = renamed(
        "oaxaca_blinder", "reference_group", reference_group, "reference", reference, default=None
    )
    if value is None or reference is None:
        missing = " and ".join(
            n for n, v in (("value", value), ("reference", reference)) if v is None
        )
        raise TypeError(f"oaxaca_blinder() needs {missing}=")
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(_WEIGHTS)}, not {weights!r}")
    covariates = list(covariates)
    require_columns(data, [value, group, *covariates])
    frame = data[[value, group, *covariates]]
    complete = frame.notna().all(axis=1)
    frame = frame[complete]
    labels = frame[group].unique().tolist()
    if reference not in labels or len(labels) != 2:
        raise ValueError(
            f"{group!r} must have exactly two values including {reference!r}; found {labels}"
        )
    other_group = next(v for v in labels if v != reference)
    y = frame[value].astype(float).to_numpy()
    X = np.column_stack([np.ones(len(frame)), frame[covariates].astype(float).to_numpy()])
    is_a = (frame[group] == reference).to_numpy()
    point = _ob_components(y, X, is_a, weights)
    summary = pd.DataFrame(
        {"component": list(point["summary"]), "estimate": list(point["summary"].values())}
    )
    table = pd.DataFrame({"covariate": ["intercept", *covariates], **point["detail"]})
    draws = pd.DataFrame(columns=list(point["summary"]), dtype=float)
    if bootstrap:
        draws, summary["se"], spread = _bootstrap(y, X, is_a, weights, bootstrap, seed)
        for i, k in enumerate(_DETAIL):
            table[f"{k}_se"] = spread[:, i]
    else:
        summary["se"] = np.nan
    left_out = int((~complete).sum())
    settings = {
        "value": value,
        "outcome": value,
        "group": group,
        "covariates": covariates,
        "reference": json_safe(reference),
        "reference_group": json_safe(reference),
        "other_group": json_safe(other_group),
        "weights": weights,
        "detailed": detailed,
        "bootstrap": bootstrap,
        "seed": seed,
        "rows_used": int(complete.sum()),
        "rows_left_out": left_out,
        "method": "oaxaca_blinder",
    }
    notes = (
        (f"{left_out} row(s) with a missing value, group or covariate left out",)
        if left_out
        else ()
    )
    return OaxacaBlinderResult(
        table=table if detailed else table.iloc[:0],
        summary=summary,
        draws=draws,
        settings=settings,
        notes=notes,
    )


_DETAIL = (*TWOFOLD, *THREEFOLD)


def _bootstrap(
    y: np.ndarray, X: np.ndarray, is_a: np.ndarray, weights: str, times: int, seed: int | None
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Resamples within each group: the components' draws (one row per resample), their
    standard errors, and the standard errors of the detailed contributions (covariate ×
    :data:`_DETAIL`)."""
    rng = np.random.default_rng(seed)
    a_idx, b_idx = np.flatnonzero(is_a), np.flatnonzero(~is_a)
    sums, details = [], []
    names: list[str] = []
    for _ in range(times):
        pick = np.concatenate([rng.choice(a_idx, len(a_idx)), rng.choice(b_idx, len(b_idx))])
        draw = _ob_components(y[pick], X[pick], is_a[pick], weights)
        names = list(draw["summary"])
        sums.append(list(draw["summary"].values()))
        details.append(np.column_stack([draw["detail"][k] for k in _DETAIL]))
    se = np.std(np.array(sums), axis=0, ddof=1)
    spread = np.std(np.array(details), axis=0, ddof=1)
    return pd.DataFrame(np.array(sums, dtype=float), columns=names), se, spread


def _ols(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef


def _ob_components(y: np.ndarray, X: np.ndarray, is_a: np.ndarray, weights: str) -> dict[str, Any]:
    """The components (``summary``) and the per-covariate contributions (``detail``)."""
    xa, xb = X[is_a].mean(axis=0), X[~is_a].mean(axis=0)
    ba, bb = _ols(y[is_a], X[is_a]), _ols(y[~is_a], X[~is_a])
    if weights == "pooled":
        star = _ols(y, np.column_stack([X, is_a.astype(float)]))[:-1]
    elif weights == "neumark":
        star = _ols(y, X)
    elif weights == "reimers":
        star = 0.5 * ba + 0.5 * bb
    elif weights == "cotton":
        share = is_a.mean()
        star = share * ba + (1 - share) * bb
    elif weights == "reference":
        star = ba
    else:
        star = bb
    detail = {
        "mean_reference": xa,
        "mean_other": xb,
        "coef_reference": ba,
        "coef_other": bb,
        "coef_star": star,
        "explained": (xa - xb) * star,
        "unexplained": xa * (ba - star) + xb * (star - bb),
        "endowments": (xa - xb) * bb,
        "coefficients": xb * (ba - bb),
        "interaction": (xa - xb) * (ba - bb),
    }
    summary = {
        "gap": float(y[is_a].mean() - y[~is_a].mean()),
        "explained": float(detail["explained"].sum()),
        "unexplained": float(detail["unexplained"].sum()),
        "endowments": float(detail["endowments"].sum()),
        "coefficients": float(detail["coefficients"].sum()),
        "interaction": float(detail["interaction"].sum()),
    }
    return {"summary": summary, "detail": detail}
