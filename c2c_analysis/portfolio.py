"""Strategies and portfolios tested against their baselines.

The question a leadership table asks each year: which of our strategies is moving which
outcome, for which students, beyond what the baseline trend would have given anyway?

- :func:`interrupted_time_series`: segmented regression of one series (or a treated and a
  comparison series) around a strategy's start.
- :func:`read_portfolio`: a partnership's strategies from YAML or CSV.
- :func:`evaluate_portfolio`: the scorecard, one row per strategy and targeted group.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
import yaml

from c2c_analysis._results import json_safe
from c2c_analysis._rows import resolve_rows
from c2c_analysis.schema import (
    ALL_STUDENTS,
    INDICATORS,
    OUTCOMES,
    RELATED_OUTCOMES,
    better_direction,
)
from c2c_analysis.trends import baseline_summary, project_baseline
from c2c_analysis.validation import DataValidationError

__all__ = [
    "ITSResult",
    "Portfolio",
    "PortfolioResult",
    "Strategy",
    "evaluate_portfolio",
    "interrupted_time_series",
    "read_portfolio",
]


# --- interrupted time series -------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class ITSResult:
    """Segmented regression around a strategy's start.

    Attributes
    ----------
    table : DataFrame
        One row per term: ``term, estimate, ci_lower, ci_upper, p_value`` on the model's
        scale (logit, log or the outcome's own), then ``ratio``, ``ratio_ci_lower``,
        ``ratio_ci_upper`` (odds ratio for binomial, rate ratio for Poisson; empty for
        gaussian) and ``effect_pp`` (for ``level_change``: the change at ``start`` in
        percentage points for binomial and gaussian rates; for ``slope_change``: the change
        in the per-period slope at ``start``, in points).
    counterfactual : DataFrame
        Per period of the treated series: ``time``, ``observed``, ``fitted``,
        ``counterfactual`` (the model without the strategy's terms), ``difference``
        (fitted − counterfactual, on the outcome's scale), ``difference_pp`` (rates) and
        ``difference_count`` (students, or events for Poisson).
    dispersion : float
        The estimate, before any floor: Pearson X² / residual df (1 when
        ``dispersion="none"``; the residual variance for gaussian).
    dispersion_floored : bool
        True when the binomial or Poisson estimate was below 1 and the standard errors,
        intervals and p-values used 1 instead (``dispersion_floor=True``, the default).
    """

    table: pd.DataFrame
    counterfactual: pd.DataFrame
    dispersion: float
    settings: dict[str, Any] = field(default_factory=dict)
    dispersion_floored: bool = False

    @property
    def summary(self) -> pd.DataFrame:
        """The strategy's terms only (level and slope change)."""
        return self.table[self.table["term"].isin(["level_change", "slope_change"])].reset_index(
            drop=True
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description."""
        return {
            "settings": {k: v for k, v in self.settings.items()},
            "dispersion": float(self.dispersion),
            "dispersion_floored": bool(self.dispersion_floored),
            "table": json_safe(self.table),
        }

    def plot(self, ax=None):
        """Observed values, fitted segments and the counterfactual."""
        from c2c_analysis.plotting import plot_its

        return plot_its(self, ax=ax)

    def _repr_html_(self) -> str:
        floored = " (floored at 1)" if self.dispersion_floored else ""
        return (
            f"<p>Interrupted time series ({self.settings.get('family')}), "
            f"dispersion {self.dispersion:.3g}{floored}</p>" + self.table.to_html(index=False)
        )

    def __repr__(self) -> str:
        return (
            f"ITSResult(family={self.settings.get('family')!r}, dispersion={self.dispersion:.4g}, "
            f"dispersion_floored={self.dispersion_floored})\n" + self.table.to_string(index=False)
        )


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
    comparison: str | None = None,
    hac_lags: int | None = None,
    level: float = 0.95,
    dispersion_floor: bool = True,
) -> ITSResult:
    """Segmented regression: did the series change level or slope when the strategy began?

    The model, with τ = time − ``start`` and post = 1 from ``start`` on, is

        g(E[y]) = β₀ + β₁τ + β₂·post + β₃·τ·post [+ Fourier terms] [+ comparison terms],

    so β₂ (``level_change``) is the immediate change at ``start`` and β₃ (``slope_change``)
    the change in slope. With ``comparison``, the comparison series gets its own intercept,
    slope, level change and slope change (``comparison_*`` terms) and ``level_change`` /
    ``slope_change`` become the treated series' changes beyond the comparison's: a
    comparative interrupted time series (difference in differences).

    Parameters
    ----------
    data : DataFrame
        One row per period (and per series with ``comparison``). Not modified.
    time : str
        Numeric period column (years or a month counter). Dates are turned into months.
    start : period
        The first period the strategy could affect.
    y : str, optional
        The outcome column for ``gaussian`` (a rate or score) or ``poisson`` (a count).
    numerator, denominator : str, optional
        Counts for ``binomial`` (students meeting the outcome out of the cohort).
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
    comparison : str, optional
        Column that is true (1) for the comparison series' rows and false (0) for the
        treated series' rows.
    hac_lags : int, optional
        Newey-West lags for gaussian standard errors (default: floor(4(T/100)^(2/9))).
    level : float
        Confidence level.
    dispersion_floor : bool
        With ``dispersion="pearson"``: a binomial or Poisson dispersion estimate below 1 is
        replaced by 1 in the standard errors (default), so the model claims no more
        precision than binomial or Poisson sampling allows; ``False`` uses the estimate as
        it is. The estimate itself is reported either way.

    Returns
    -------
    ITSResult
        ``table``, ``summary``, ``counterfactual``, ``dispersion`` (the estimate),
        ``dispersion_floored`` (whether the floor applied) and ``settings``.

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
    if family not in ("binomial", "poisson", "gaussian"):
        raise ValueError("family must be 'binomial', 'poisson' or 'gaussian'")
    if dispersion not in ("pearson", "none"):
        raise ValueError("dispersion must be 'pearson' or 'none'")
    if seasonality and not period:
        raise ValueError("seasonality needs period= (e.g. 12 for monthly data)")
    needed = [time]
    if family == "binomial":
        if numerator is None or denominator is None:
            raise ValueError("family='binomial' needs numerator= and denominator=")
        # A published rate with its cohort count stands in for a numerator (see _rows).
        needed += [denominator] if "rate" in data.columns else [numerator, denominator]
    else:
        if y is None:
            raise ValueError(f"family={family!r} needs y=")
        needed.append(y)
    needed += [c for c in (offset, comparison) if c]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )

    frame = data.copy()
    t = _numeric_time(frame[time])
    t0 = float(_numeric_time(pd.Series([start], dtype=frame[time].dtype))[0])
    tau = t - t0
    post = (tau >= 0).astype(float)
    columns: dict[str, np.ndarray] = {
        "intercept": np.ones(len(frame)),
        "time": tau,
        "level_change": post,
    }
    if slope_change:
        columns["slope_change"] = tau * post
    if seasonality:
        for k in range(1, seasonality + 1):
            columns[f"sin{k}"] = np.sin(2 * np.pi * k * t / period)
            columns[f"cos{k}"] = np.cos(2 * np.pi * k * t / period)
    treated = np.ones(len(frame))
    if comparison:
        is_comparison = frame[comparison].astype(bool).to_numpy()
        treated = (~is_comparison).astype(float)
        # Base terms describe the comparison series; treated-series terms are differences.
        renamed = {
            "intercept": "comparison_intercept",
            "time": "comparison_time",
            "level_change": "comparison_level_change",
            "slope_change": "comparison_slope_change",
        }
        base = {renamed.get(k, k): v for k, v in columns.items()}
        extra = {"treated": treated, "treated_time": treated * tau, "level_change": treated * post}
        if slope_change:
            extra["slope_change"] = treated * tau * post
        columns = {**base, **extra}
    X = pd.DataFrame(columns)
    weights = None
    offset_values = None
    if family == "binomial":
        # Counts, or published rates and ranges as effective counts (their rounding or
        # width gives them less weight than their cohort's count would).
        resolved = resolve_rows(frame, numerator=numerator, denominator=denominator)
        den = resolved["n_effective"].to_numpy()
        usable = np.isfinite(den) & (den > 0)
        response = np.where(usable, resolved["rate"].to_numpy(), np.nan)
        weights = den
        cohort = resolved["cohort"].to_numpy()
        model_family = sm.families.Binomial()
    elif family == "poisson":
        response = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(response)
        if offset:
            exposure = pd.to_numeric(frame[offset], errors="coerce").to_numpy(dtype=float)
            usable &= np.isfinite(exposure) & (exposure > 0)
            offset_values = np.log(np.where(exposure > 0, exposure, 1.0))
        model_family = sm.families.Poisson()
    else:
        response = pd.to_numeric(frame[y], errors="coerce").to_numpy(dtype=float)
        usable = np.isfinite(response)
    usable &= np.isfinite(t)
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
    Xu = X[usable]
    floored = False
    if family == "gaussian":
        lags = hac_lags if hac_lags is not None else math.floor(4 * (usable.sum() / 100) ** (2 / 9))
        fit = sm.OLS(response[usable], Xu).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
        )
        scale = float(fit.scale)
    else:
        kwargs: dict[str, Any] = {"family": model_family}
        if weights is not None:
            kwargs["var_weights"] = weights[usable]
        if offset_values is not None:
            kwargs["offset"] = offset_values[usable]
        model = sm.GLM(response[usable], Xu, **kwargs)
        fit = model.fit(scale="X2" if dispersion == "pearson" else 1.0)
        scale = float(fit.scale)
        floored = dispersion == "pearson" and dispersion_floor and scale < 1
        if floored:  # same estimates; standard errors at the binomial / Poisson dispersion
            fit = model.fit(scale=1.0)
    ci = fit.conf_int(alpha=1 - level)
    table = pd.DataFrame(
        {
            "term": list(X.columns),
            "estimate": fit.params.to_numpy(),
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

    # Fitted values with and without the strategy's terms, for the treated series.
    strategy_terms = [c for c in ("level_change", "slope_change") if c in X.columns]
    without = X.copy()
    without[strategy_terms] = 0.0
    params = fit.params.to_numpy()
    link = X.to_numpy() @ params
    link0 = without.to_numpy() @ params
    if offset_values is not None:
        link, link0 = link + offset_values, link0 + offset_values
    inverse = {
        "binomial": lambda v: 1 / (1 + np.exp(-v)),
        "poisson": np.exp,
        "gaussian": lambda v: v,
    }[family]
    fitted, counterfactual = inverse(link), inverse(link0)
    effect_pp = np.full(len(table), np.nan)
    if family != "poisson":
        at_start = X.iloc[[0]].copy() * 0
        at_start["intercept" if "intercept" in X else "comparison_intercept"] = 1.0
        if comparison:
            at_start["treated"] = 1.0
        base0 = float(at_start.to_numpy()[0] @ params)
        after = at_start.copy()
        after["level_change"] = 1.0
        step = inverse(float(after.to_numpy()[0] @ params)) - inverse(base0)
        effect_pp[table["term"] == "level_change"] = 100 * step
        if "slope_change" in X:
            p0 = inverse(float(after.to_numpy()[0] @ params))
            derivative = p0 * (1 - p0) if family == "binomial" else 1.0
            effect_pp[table["term"] == "slope_change"] = (
                100 * derivative * float(fit.params["slope_change"])
            )
    table["effect_pp"] = effect_pp
    keep = treated == 1
    # Students for binomial (difference x cohort), events for Poisson, none for gaussian.
    counts = cohort if family == "binomial" else np.ones(len(frame))
    difference = fitted - counterfactual
    cf = pd.DataFrame(
        {
            time: frame[time].to_numpy()[keep],
            "observed": response[keep],
            "fitted": fitted[keep],
            "counterfactual": counterfactual[keep],
            "difference": difference[keep],
            "difference_pp": 100 * difference[keep] if family != "poisson" else np.nan,
            "difference_count": (difference * counts)[keep] if family != "gaussian" else np.nan,
        }
    )
    settings = {
        "family": family,
        "dispersion": dispersion,
        "dispersion_floor": dispersion_floor,
        "start": json_safe(start),
        "slope_change": slope_change,
        "seasonality": seasonality,
        "period": period,
        "comparison": comparison,
        "level": level,
        "time": time,
    }
    return ITSResult(
        table=table,
        counterfactual=cf.reset_index(drop=True),
        dispersion=scale if family != "gaussian" else float(fit.scale),
        settings=settings,
        dispersion_floored=bool(floored),
    )


def _numeric_time(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamp = pd.DatetimeIndex(values)
        return np.asarray(stamp.year * 12 + stamp.month - 1, dtype=float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


# --- portfolio ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Strategy:
    """One strategy of a partnership's portfolio."""

    id: str
    name: str
    outcome: str
    dimension: str
    groups: tuple[str, ...]
    start: int
    end: int | None = None
    partners: tuple[str, ...] = ()
    investment: float | None = None
    contributing_indicators: tuple[str, ...] = ()
    comparison: str | None = None


@dataclass(frozen=True)
class Portfolio:
    """A partnership's strategies (see :func:`read_portfolio`)."""

    partnership: str
    strategies: tuple[Strategy, ...]
    source: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per strategy."""
        rows = []
        for s in self.strategies:
            rows.append(
                {
                    "id": s.id,
                    "name": s.name,
                    "outcome": s.outcome,
                    "dimension": s.dimension,
                    "groups": ", ".join(s.groups),
                    "start": s.start,
                    "end": s.end,
                    "partners": ", ".join(s.partners),
                    "investment": s.investment,
                    "contributing_indicators": ", ".join(s.contributing_indicators),
                    "comparison": s.comparison,
                }
            )
        return pd.DataFrame(rows)

    def validate(self, data: pd.DataFrame) -> None:
        """Check the strategies against an outcome table; raise listing every problem."""
        problems = []
        rows = data[data["partnership"] == self.partnership] if "partnership" in data else data
        if rows.empty:
            problems.append(
                {
                    "row": None,
                    "column": "partnership",
                    "value": self.partnership,
                    "problem": "partnership not in the data",
                }
            )
        for s in self.strategies:
            series = rows[rows["outcome"] == s.outcome]
            if series.empty:
                problems.append(
                    {
                        "row": s.id,
                        "column": "outcome",
                        "value": s.outcome,
                        "problem": "outcome not in the data for this partnership",
                    }
                )
                continue
            in_dimension = series[series["dimension"] == s.dimension]
            known = set(in_dimension["group"])
            for g in s.groups:
                if g not in known:
                    problems.append(
                        {
                            "row": s.id,
                            "column": "groups",
                            "value": g,
                            "problem": f"group not in the data (dimension {s.dimension})",
                        }
                    )
            years = series["year"]
            if not years.min() < s.start <= years.max():
                problems.append(
                    {
                        "row": s.id,
                        "column": "start",
                        "value": str(s.start),
                        "problem": f"start outside the data ({years.min()}-{years.max()}): "
                        "need periods before it and from it on",
                    }
                )
            problems.extend(_comparison_problems(s, in_dimension, data))
        if problems:
            raise DataValidationError(problems, source=self.source or "portfolio")


def _comparison_problems(s: Strategy, in_dimension: pd.DataFrame, data: pd.DataFrame) -> list:
    """A comparison names a group of the strategy's dimension or another partnership."""
    if not s.comparison or s.comparison in set(in_dimension["group"]):
        return []
    partnerships = set(data["partnership"]) if "partnership" in data else set()
    own = set(in_dimension["partnership"]) if "partnership" in in_dimension else set()
    if s.comparison in own:
        return [
            {
                "row": s.id,
                "column": "comparison",
                "value": s.comparison,
                "problem": "is the strategy's own partnership: compare with a group, or "
                "with another partnership",
            }
        ]
    if s.comparison in partnerships:
        return []
    import difflib

    close = difflib.get_close_matches(
        s.comparison, sorted(set(in_dimension["group"]) | partnerships), n=3
    )
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return [
        {
            "row": s.id,
            "column": "comparison",
            "value": s.comparison,
            "problem": f"neither a group of dimension {s.dimension} nor a partnership in the "
            f"data{hint}",
        }
    ]


_REQUIRED_FIELDS = ("id", "name", "outcome", "start")


def read_portfolio(path: str | os.PathLike[str], *, data: pd.DataFrame | None = None) -> Portfolio:
    """Read a partnership's strategy portfolio from YAML (or the same fields from CSV).

    YAML::

        partnership: tacoma
        strategies:
          - id: grad-coaches
            name: Graduation coaches in every high school
            outcome: hs_graduation
            dimension: race_ethnicity            # default: all
            groups: [Black, Hispanic/Latino]     # default: all students
            start: 2013                          # first period the strategy could affect
            end: 2016                            # optional
            partners: [Tacoma Public Schools]
            investment: 1200000
            contributing_indicators: [attendance_rate, ninth_grade_course_passing]
            comparison: White                    # a group, or another partnership

    CSV: one row per strategy with the same column names; ``partnership`` on every row;
    list fields separated by ``;``.

    Parameters
    ----------
    path : path
    data : DataFrame, optional
        An outcome table to check the strategies against (outcomes, groups, start).

    Returns
    -------
    Portfolio

    Raises
    ------
    DataValidationError
        Missing fields, unknown outcome ids (neither in the catalogue nor in ``data``),
        duplicate strategy ids, non-integer starts; with ``data``: groups and starts
        outside the data.

    Examples
    --------
    >>> from c2c_analysis.datasets import sample_path
    >>> portfolio = read_portfolio(sample_path("portfolio"))
    >>> portfolio.partnership, [s.id for s in portfolio.strategies][:2]
    ('tacoma', ['graduate-tacoma', 'equity-coaching'])
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
        except yaml.YAMLError as error:
            raise DataValidationError(
                [{"row": None, "column": None, "value": "", "problem": f"not valid YAML: {error}"}],
                source=path.name,
            ) from None
        if not isinstance(content, Mapping):
            raise DataValidationError(
                [
                    {
                        "row": None,
                        "column": None,
                        "value": "",
                        "problem": "expected a mapping with partnership and strategies",
                    }
                ],
                source=path.name,
            )
        partnership = content.get("partnership")
        entries = content.get("strategies") or []
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        partnership = (
            frame["partnership"].iloc[0] if "partnership" in frame and len(frame) else None
        )
        entries = [
            {
                k: (
                    [x.strip() for x in v.split(";") if x.strip()]
                    if k in ("groups", "partners", "contributing_indicators")
                    else v
                )
                for k, v in row.items()
                if v != ""
            }
            for row in frame.to_dict("records")
        ]
    problems: list[dict[str, Any]] = []
    if not partnership:
        problems.append(
            {"row": None, "column": "partnership", "value": "", "problem": "partnership is missing"}
        )
    strategies = []
    seen: set[str] = set()
    known_outcomes = set(OUTCOMES) | set(INDICATORS) | set(RELATED_OUTCOMES)
    if data is not None and "outcome" in data:
        known_outcomes |= set(data["outcome"].unique())
    for i, entry in enumerate(entries, start=1):
        where = str(entry.get("id", f"strategy {i}"))
        for name in _REQUIRED_FIELDS:
            if entry.get(name) in (None, ""):
                problems.append(
                    {
                        "row": where,
                        "column": name,
                        "value": "",
                        "problem": "required field is missing",
                    }
                )
        if entry.get("id") in seen:
            problems.append(
                {
                    "row": where,
                    "column": "id",
                    "value": str(entry.get("id")),
                    "problem": "duplicate strategy id",
                }
            )
        seen.add(str(entry.get("id")))
        if entry.get("outcome") and entry["outcome"] not in known_outcomes:
            problems.append(
                {
                    "row": where,
                    "column": "outcome",
                    "value": str(entry["outcome"]),
                    "problem": "unknown outcome id",
                }
            )
        try:
            start = int(entry.get("start"))
            end = int(entry["end"]) if entry.get("end") not in (None, "") else None
        except (TypeError, ValueError):
            problems.append(
                {
                    "row": where,
                    "column": "start",
                    "value": str(entry.get("start")),
                    "problem": "start and end must be whole years",
                }
            )
            continue
        groups = entry.get("groups") or [ALL_STUDENTS]
        groups = [groups] if isinstance(groups, str) else list(groups)
        dimension = entry.get("dimension") or ("all" if groups == [ALL_STUDENTS] else "")
        if not dimension:
            problems.append(
                {
                    "row": where,
                    "column": "dimension",
                    "value": "",
                    "problem": "dimension is needed when groups are given",
                }
            )
        investment = entry.get("investment")
        strategies.append(
            Strategy(
                id=str(entry.get("id")),
                name=str(entry.get("name")),
                outcome=str(entry.get("outcome")),
                dimension=str(dimension),
                groups=tuple(str(g) for g in groups),
                start=start,
                end=end,
                partners=tuple(str(p) for p in entry.get("partners") or ()),
                investment=float(investment) if investment not in (None, "") else None,
                contributing_indicators=tuple(
                    str(c) for c in entry.get("contributing_indicators") or ()
                ),
                comparison=str(entry["comparison"]) if entry.get("comparison") else None,
            )
        )
    if problems:
        raise DataValidationError(problems, source=path.name)
    portfolio = Portfolio(
        partnership=str(partnership), strategies=tuple(strategies), source=path.name
    )
    if data is not None:
        portfolio.validate(data)
    return portfolio


VERDICTS = (
    "turned_the_curve",
    "above_baseline_within_noise",
    "on_baseline",
    "below_baseline",
    "insufficient_data",
)


@dataclass(frozen=True, repr=False)
class PortfolioResult:
    """The scorecard of :func:`evaluate_portfolio`."""

    table: pd.DataFrame
    projections: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Per outcome: strategies, rows, and how many rows got each verdict."""
        counts = self.table.pivot_table(
            index="outcome", columns="verdict", values="strategy", aggfunc="count", fill_value=0
        )
        for verdict in VERDICTS:
            if verdict not in counts:
                counts[verdict] = 0
        counts = counts[list(VERDICTS)]
        counts.insert(0, "strategies", self.table.groupby("outcome")["strategy"].nunique())
        return counts.reset_index()

    def to_dict(self) -> dict[str, Any]:
        return {"settings": dict(self.settings), "table": json_safe(self.table)}

    def plot(self, ax=None):
        """The scorecard: each row's difference from its projection, with its interval."""
        from c2c_analysis.plotting import plot_scorecard

        return plot_scorecard(self, ax=ax)

    def plot_row(self, strategy: str, group: str, ax=None):
        """The "turn the curve" chart of one strategy and group."""
        from c2c_analysis.plotting import plot_turn_the_curve

        projection = self.projections[(strategy, group)]
        return plot_turn_the_curve(projection, title=f"{strategy}: {group}", ax=ax)

    def _repr_html_(self) -> str:
        return "<h4>Portfolio scorecard</h4>" + self.table.to_html(index=False)

    def __repr__(self) -> str:
        return "PortfolioResult\n" + self.table[
            ["strategy", "group", "difference_pp", "verdict"]
        ].to_string(index=False)


def evaluate_portfolio(
    data: pd.DataFrame,
    portfolio: Portfolio,
    *,
    baseline: tuple[int, int] | None = None,
    method: str = "linear",
    level: float = 0.95,
    dispersion_floor: bool = True,
) -> PortfolioResult:
    """Test every strategy of a portfolio against its targeted groups' baselines.

    For each strategy and targeted group: the group's series is projected from its baseline
    (:func:`~c2c_analysis.trends.project_baseline`), the last period's actual value is
    compared with the projection, a segmented regression estimates the level and slope
    change at the start (:func:`interrupted_time_series`, binomial on counts, gaussian on
    rates without counts), and the group's gap to the reference (the strategy's
    ``comparison`` group, or All students) is compared with the gap the two baselines
    project.

    Parameters
    ----------
    data : DataFrame
        The canonical outcome table (annual ``year``).
    portfolio : Portfolio
    baseline : (first, last), optional
        Baseline periods for every strategy; default: from the series' first year to the
        year before the strategy's start.
    method : {"linear", "logit"}
        Projection method (see :func:`~c2c_analysis.trends.project_baseline`).
    level : float
        Level of the prediction intervals and confidence intervals.
    dispersion_floor : bool
        Floor the segmented regression's quasi-binomial dispersion at 1 (default; see
        :func:`interrupted_time_series`); ``False`` uses the estimate as it is.

    Returns
    -------
    PortfolioResult
        ``.table``, one row per strategy × targeted group: ``strategy, outcome, partnership,
        dimension, group, start, baseline_first, baseline_last, last_period, actual,
        projected, pi_lower, pi_upper, difference_pp, difference_students,
        level_change_pp, slope_change_pp, p_value`` (of the level change),
        ``dispersion`` (the segmented regression's quasi-binomial Pearson X² / df, before
        any floor; empty for rates without counts, fitted by least squares),
        ``dispersion_floored`` (True where that estimate was below 1 and the p-value used
        1), ``gap_vs_projection_pp`` (actual gap to the reference minus the projected gap at the
        last period, signed so that negative means the gap narrowed beyond its projection),
        ``comparison`` (the reference of the gap: the strategy's comparison group, another
        partnership, or All students), ``comparative_level_change_pp`` and
        ``comparative_p_value`` (where the comparison names another partnership: the level
        change beyond that partnership's same group, from the comparative interrupted time
        series), ``overlaps`` (other strategies on the same outcome and groups whose
        periods overlap: their effects cannot be told apart from aggregate data),
        ``verdict`` and ``note`` (also why a gap or comparison could not be computed).

    Notes
    -----
    A strategy with an ``end`` is judged at its end (or the last period with data before
    it). The verdict compares that period's value with the baseline's prediction interval,
    in the outcome's better direction: ``turned_the_curve`` (beyond the interval, better),
    ``below_baseline`` (beyond, worse), ``above_baseline_within_noise`` (better than
    projected but inside the interval), ``on_baseline`` (otherwise), and
    ``insufficient_data`` when the baseline has fewer than 3 periods with a value or no
    period after the start has one. A verdict is about the outcome, not about the
    strategy's cause: overlapping strategies, policy changes and cohort changes move the
    same numbers.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> scorecard = evaluate_portfolio(load_sample("outcomes"), load_sample("portfolio"),
    ...                                method="logit").table
    >>> scorecard["verdict"].tolist()[:2]
    ['on_baseline', 'above_baseline_within_noise']
    """
    portfolio.validate(data)
    rows = data[data["partnership"] == portfolio.partnership]
    records = []
    projections: dict[tuple[str, str], pd.DataFrame] = {}
    cases = []
    for strategy in portfolio.strategies:
        series_all = rows[rows["outcome"] == strategy.outcome]
        overlaps = [
            o.id
            for o in portfolio.strategies
            if o.id != strategy.id
            and o.outcome == strategy.outcome
            and _periods_overlap(o, strategy)
            and (
                set(o.groups) & set(strategy.groups)
                or ALL_STUDENTS in o.groups
                or ALL_STUDENTS in strategy.groups
            )
        ]
        reference = strategy.comparison or ALL_STUDENTS
        other = _comparison_partnership(strategy, rows, data)
        if strategy.end is not None:  # judge the strategy at its end, not after it
            series_all = series_all[series_all["year"] <= strategy.end]
        for group in strategy.groups:
            series = series_all[
                (series_all["dimension"] == strategy.dimension) & (series_all["group"] == group)
            ]
            if other is not None:  # the same group in the comparison partnership
                ref_rows = other[
                    (other["outcome"] == strategy.outcome)
                    & (other["dimension"] == strategy.dimension)
                    & (other["group"] == group)
                ]
                if strategy.end is not None:
                    ref_rows = ref_rows[ref_rows["year"] <= strategy.end]
            else:
                ref_rows = series_all[series_all["group"] == reference]
                if reference != ALL_STUDENTS:
                    ref_rows = ref_rows[ref_rows["dimension"] == strategy.dimension]
            cases.append((strategy, group, series, ref_rows, overlaps))
    # Every baseline projection first, many series per call (one call per series spent
    # most of the scorecard's time in pandas overhead); then each row is scored.
    requests, windows = {}, []
    for i, (strategy, group, series, ref_rows, _) in enumerate(cases):
        base, keep = _baseline_window(series, strategy, baseline), _projection_columns(series)
        windows.append(base)
        requests[(i, "series")] = (series[keep], base)
        compared = _is_other_partnership(ref_rows, series)
        if len(ref_rows) and (compared or group != (strategy.comparison or ALL_STUDENTS)):
            requests[(i, "reference")] = (ref_rows[keep], base)
    projected = _batched_projections(requests, method=method, level=level)
    summaries = _summaries({i: projected[(i, "series")] for i in range(len(cases))})
    fits = _binomial_its_many(
        {i: (series, strategy.start) for i, (strategy, _, series, _, _) in enumerate(cases)},
        dispersion_floor=dispersion_floor,
    )
    for i, (strategy, group, series, ref_rows, overlaps) in enumerate(cases):
        record = _score(
            series,
            strategy,
            group,
            windows[i],
            method,
            level,
            projections,
            projected[(i, "series")],
            projected.get((i, "reference")),
            dispersion_floor=dispersion_floor,
            comparison_rows=ref_rows if _is_other_partnership(ref_rows, series) else None,
            reference=strategy.comparison or ALL_STUDENTS,
            summary=summaries.get(i),
            its_fit=fits.get(i),
        )
        record["overlaps"] = ", ".join(overlaps)
        if overlaps:
            record["note"] = "; ".join(
                filter(
                    None,
                    [record["note"], "overlapping strategies: effects cannot be told apart"],
                )
            )
        records.append(record)
    table = pd.DataFrame(records)
    return PortfolioResult(
        table=table,
        projections=projections,
        settings={
            "partnership": portfolio.partnership,
            "method": method,
            "level": level,
            "baseline": list(baseline) if baseline else None,
            "dispersion_floor": dispersion_floor,
        },
    )


def _comparison_partnership(
    strategy: Strategy, rows: pd.DataFrame, data: pd.DataFrame
) -> pd.DataFrame | None:
    """The rows of the partnership a strategy's ``comparison`` names, or None when it names
    a group (or nothing)."""
    name = strategy.comparison
    if not name or name in set(rows.loc[rows["dimension"] == strategy.dimension, "group"]):
        return None
    other = data[data["partnership"] == name]
    return other if len(other) else None


def _is_other_partnership(ref_rows: pd.DataFrame, series: pd.DataFrame) -> bool:
    return bool(len(ref_rows) and len(series)) and bool(
        (ref_rows["partnership"] != series["partnership"].iloc[0]).all()
    )


def _periods_overlap(a: Strategy, b: Strategy) -> bool:
    a_end = a.end if a.end is not None else math.inf
    b_end = b.end if b.end is not None else math.inf
    return a.start <= b_end and b.start <= a_end


def _baseline_window(series: pd.DataFrame, strategy: Strategy, baseline) -> tuple:
    """The baseline periods: as given, or from the series' first year with a rate to the
    year before the strategy started."""
    # A year has a rate when it has counts, a published rate or a published range.
    have = series[resolve_rows(series)["rate"].notna().to_numpy()] if len(series) else series
    first = int(have["year"].min()) if len(have) else strategy.start
    return tuple(baseline) if baseline else (first, strategy.start - 1)


def _projection_columns(series: pd.DataFrame) -> list[str]:
    keep = ("partnership", "outcome", "dimension", "group", "year", "numerator", "denominator")
    return [c for c in (*keep, "rate", "rate_low", "rate_high", "suppressed") if c in series]


def _batched_projections(
    requests: Mapping[Any, tuple[pd.DataFrame, tuple]], *, method: str, level: float
) -> dict[Any, pd.DataFrame | DataValidationError]:
    """:func:`project_baseline` of every requested series, as one call per baseline window
    and last period (so each series' projection is exactly what a call of its own gives).
    A series whose baseline is too short, or a batch that fails, is projected alone, so
    each keeps its own error."""
    out: dict[Any, pd.DataFrame | DataValidationError] = {}

    def alone(key) -> None:
        frame, base = requests[key]
        try:
            out[key] = project_baseline(frame, baseline=base, method=method, level=level)
        except DataValidationError as error:
            out[key] = error

    batches: dict[tuple, list] = {}
    for key, (frame, base) in requests.items():
        rate = resolve_rows(frame)["rate"]
        in_base = frame["year"].between(base[0], base[1]) & np.isfinite(rate)
        if in_base.sum() < 3 or not np.issubdtype(frame["year"].dtype, np.number):
            alone(key)
        else:
            batches.setdefault((tuple(base), float(frame["year"].max())), []).append(key)
    for (base, _), keys in batches.items():
        if len(keys) == 1:
            alone(keys[0])
            continue
        frames = [requests[k][0].assign(_task=j) for j, k in enumerate(keys)]
        by = [
            c
            for c in ("partnership", "outcome", "dimension", "group")
            if all(c in f for f in frames)
        ]
        try:
            result = project_baseline(
                pd.concat(frames, ignore_index=True),
                baseline=base,
                by=[*by, "_task"],
                method=method,
                level=level,
            )
        except DataValidationError:
            for key in keys:
                alone(key)
            continue
        for j, part in result.groupby("_task", sort=False):
            out[keys[int(j)]] = part.drop(columns="_task").reset_index(drop=True)
    return out


def _score(
    series,
    strategy,
    group,
    base,
    method,
    level,
    projections,
    projection,
    ref_projection,
    *,
    dispersion_floor: bool = True,
    comparison_rows: pd.DataFrame | None = None,
    reference: str = ALL_STUDENTS,
    summary: pd.Series | None = None,
    its_fit: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """One scorecard row from the series' baseline ``projection`` (or the error that
    prevented it) and the comparison group's (``None`` when there is none); with
    ``comparison_rows`` (the same group in another partnership) also the comparative
    interrupted time series."""
    record: dict[str, Any] = {
        "strategy": strategy.id,
        "outcome": strategy.outcome,
        "partnership": series["partnership"].iloc[0] if len(series) else None,
        "dimension": strategy.dimension,
        "group": group,
        "start": strategy.start,
        "baseline_first": np.nan,
        "baseline_last": np.nan,
        "last_period": np.nan,
        "actual": np.nan,
        "projected": np.nan,
        "pi_lower": np.nan,
        "pi_upper": np.nan,
        "difference_pp": np.nan,
        "difference_students": np.nan,
        "level_change_pp": np.nan,
        "slope_change_pp": np.nan,
        "p_value": np.nan,
        "dispersion": np.nan,
        "dispersion_floored": False,
        "gap_vs_projection_pp": np.nan,
        "comparison": reference,
        "comparative_level_change_pp": np.nan,
        "comparative_p_value": np.nan,
        "verdict": "insufficient_data",
        "note": "",
    }
    record["baseline_first"], record["baseline_last"] = base
    if isinstance(projection, DataValidationError):
        error = projection
        record["note"] = f"baseline: {error.problems['problem'].iloc[0]}"
        return record
    projections[(strategy.id, group)] = projection
    if summary is None:
        summary = baseline_summary(projection).iloc[0]
    if summary["verdict"] == "no_data_after_baseline":
        record["note"] = "no data from the start on"
        return record
    record.update(
        last_period=summary["last_period"],
        actual=summary["actual"],
        projected=summary["projected"],
        pi_lower=summary["pi_lower"],
        pi_upper=summary["pi_upper"],
        difference_pp=summary["difference_pp"],
        verdict=summary["verdict"],
    )
    last = projection[projection["year"] == summary["last_period"]].iloc[0]
    record["difference_students"] = last["difference_students"]
    if method == "linear" and not 0 <= summary["projected"] <= 1:
        record["note"] = "the linear projection leaves 0-100%: use method='logit'"
    if its_fit is not None:  # fitted with every other counted series at once
        record.update(its_fit)
    else:
        record["note"] = _its_one(record, series, strategy, level, dispersion_floor)
    notes = [record["note"]] if record["note"] else []
    if comparison_rows is not None:
        notes.append(
            _comparative(record, series, comparison_rows, strategy, level, dispersion_floor)
        )
    if isinstance(ref_projection, pd.DataFrame):  # the comparison group's own baseline
        ref_last = ref_projection[ref_projection["year"] == summary["last_period"]]
        if len(ref_last) and np.isfinite(ref_last["actual"].iloc[0]):
            sign = -1.0 if better_direction(strategy.outcome) == "lower" else 1.0
            actual_gap = sign * (ref_last["actual"].iloc[0] - last["actual"])
            projected_gap = sign * (ref_last["projected"].iloc[0] - last["projected"])
            record["gap_vs_projection_pp"] = 100 * (actual_gap - projected_gap)
        else:
            notes.append(f"no gap to {reference}: it has no value in {summary['last_period']}")
    elif isinstance(ref_projection, DataValidationError):
        problem = ref_projection.problems["problem"].iloc[0]
        notes.append(f"no gap to {reference}: its baseline cannot be projected ({problem})")
    elif group != reference:
        notes.append(f"no gap to {reference}: no rows of it for this outcome")
    record["note"] = "; ".join(n for n in notes if n)
    return record


def _its_one(record, series, strategy, level, dispersion_floor) -> str:
    """One series' segmented regression (rates without counts, or what the stacked fit
    left); fills ``record`` and returns its note."""
    try:
        if _has_counts(series):
            its = interrupted_time_series(
                series, time="year", start=strategy.start, numerator="numerator",
                denominator="denominator", level=level, dispersion_floor=dispersion_floor,
            )  # fmt: skip
        else:
            # Rates without cohort counts (published ranges at their middles among them).
            rated = series.assign(rate=resolve_rows(series)["rate"].to_numpy()).dropna(
                subset=["rate"]
            )
            its = interrupted_time_series(
                rated, time="year", start=strategy.start, y="rate", family="gaussian",
                level=level,
            )  # fmt: skip
    except (DataValidationError, ValueError, np.linalg.LinAlgError) as error:
        return f"segmented regression not estimable: {error}".splitlines()[0]
    terms = its.table.set_index("term")
    record["level_change_pp"] = terms.loc["level_change", "effect_pp"]
    record["p_value"] = terms.loc["level_change", "p_value"]
    if its.settings["family"] == "binomial":
        record["dispersion"] = its.dispersion
        record["dispersion_floored"] = its.dispersion_floored
    if "slope_change" in terms.index:
        record["slope_change_pp"] = terms.loc["slope_change", "effect_pp"]
    return record["note"]


def _summaries(projections: Mapping[int, Any]) -> dict[int, pd.Series]:
    """:func:`baseline_summary` of every projection in one call (one row each)."""
    frames = [
        frame.assign(_case=key)
        for key, frame in projections.items()
        if isinstance(frame, pd.DataFrame) and len(frame)
    ]
    if not frames:
        return {}
    table = baseline_summary(pd.concat(frames, ignore_index=True))
    return {int(row["_case"]): row.drop("_case") for _, row in table.iterrows()}


def _binomial_its_many(
    cases: Mapping[int, tuple[pd.DataFrame, int]], *, dispersion_floor: bool = True
) -> dict[int, dict[str, float]]:
    """The scorecard's segmented regressions (binomial, level and slope change, quasi-
    binomial dispersion) of every series with counts, in one iteratively reweighted least
    squares over all of them: per series the normal equations are 4 × 4, solved as a stack.
    Each series' estimates, dispersion and standard errors equal those of its own
    :func:`interrupted_time_series` call (tested). Series without counts, or with too few
    periods, are left to that function."""
    from scipy.special import expit, ndtr

    pieces = []
    for key, (series, start) in cases.items():
        if not len(series) or not _has_counts(series):
            continue
        resolved = resolve_rows(series)
        t = _numeric_time(series["year"])
        weight = resolved["n_effective"].to_numpy()
        use = np.isfinite(t) & np.isfinite(weight) & (weight > 0)
        tau = t - float(start)
        if (use & (tau < 0)).sum() < 3 or (use & (tau >= 0)).sum() < 1:
            continue
        pieces.append((key, tau[use], resolved["rate"].to_numpy()[use], weight[use]))
    if not pieces:
        return {}
    keys = np.array([p[0] for p in pieces])
    code = np.concatenate([np.full(len(p[1]), i) for i, p in enumerate(pieces)])
    tau = np.concatenate([p[1] for p in pieces])
    y = np.concatenate([p[2] for p in pieces])
    w = np.concatenate([p[3] for p in pieces])
    post = (tau >= 0).astype(float)
    X = np.column_stack([np.ones_like(tau), tau, post, tau * post])
    k, p = len(pieces), X.shape[1]
    mu = (w * y + 0.5) / (w + 1)
    eta = np.log(mu / (1 - mu))
    beta = np.zeros((k, p))
    for _ in range(100):
        var = mu * (1 - mu)
        weights = w * var
        z = eta + (y - mu) / var
        A = np.zeros((k, p, p))
        np.add.at(A, code, weights[:, None, None] * X[:, :, None] * X[:, None, :])
        b = np.zeros((k, p))
        np.add.at(b, code, (weights * z)[:, None] * X)
        new = np.einsum("kij,kj->ki", np.linalg.pinv(A), b)
        change = np.max(np.abs(new - beta))
        beta = new
        eta = np.einsum("ij,ij->i", X, beta[code])
        mu = np.clip(expit(eta), 1e-12, 1 - 1e-12)
        if change < 1e-10:
            break
    var = mu * (1 - mu)
    A = np.zeros((k, p, p))
    np.add.at(A, code, (w * var)[:, None, None] * X[:, :, None] * X[:, None, :])
    chi2 = np.bincount(code, weights=w * (y - mu) ** 2 / var, minlength=k)
    df = np.bincount(code, minlength=k) - np.linalg.matrix_rank(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        dispersion = chi2 / df
    floored = dispersion_floor & (dispersion < 1)
    scale = np.where(floored, 1.0, dispersion)
    se = np.sqrt(np.einsum("kii->ki", np.linalg.pinv(A)) * scale[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        p_level = 2 * ndtr(-np.abs(beta[:, 2] / se[:, 2]))
    start, after = expit(beta[:, 0]), expit(beta[:, 0] + beta[:, 2])
    return {
        int(key): {
            "level_change_pp": float(100 * (after[i] - start[i])),
            "slope_change_pp": float(100 * after[i] * (1 - after[i]) * beta[i, 3]),
            "p_value": float(p_level[i]),
            "dispersion": float(dispersion[i]),
            "dispersion_floored": bool(floored[i]),
        }
        for i, key in enumerate(keys)
        if np.all(np.isfinite(beta[i])) and df[i] > 0
    }


def _has_counts(series: pd.DataFrame) -> bool:
    """Every row has counts, or a published rate or range with its cohort count."""
    return bool(len(series)) and bool(resolve_rows(series)["n_effective"].notna().all())


def _comparative(record, series, other, strategy, level, dispersion_floor) -> str:
    """The comparative interrupted time series against the same group in another
    partnership (difference in differences of the level change); returns a note."""
    name = str(other["partnership"].iloc[0])
    both = pd.concat(
        [series.assign(_comparison=False), other.assign(_comparison=True)], ignore_index=True
    )
    if _has_counts(series) and _has_counts(other):
        kwargs = {"numerator": "numerator", "denominator": "denominator"}
        kwargs["dispersion_floor"] = dispersion_floor
    else:
        both = both.dropna(subset=["rate"])
        kwargs = {"y": "rate", "family": "gaussian"}
    try:
        its = interrupted_time_series(
            both, time="year", start=strategy.start, comparison="_comparison", level=level,
            **kwargs,
        )  # fmt: skip
    except (DataValidationError, ValueError, np.linalg.LinAlgError) as error:
        return f"not compared with {name}: {error}".splitlines()[0]
    terms = its.table.set_index("term")
    record["comparative_level_change_pp"] = terms.loc["level_change", "effect_pp"]
    record["comparative_p_value"] = terms.loc["level_change", "p_value"]
    return f"compared with {name}'s {record['group']} (comparative interrupted time series)"
