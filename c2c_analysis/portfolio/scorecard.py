"""The portfolio scorecard: every strategy tested against its targeted groups' baselines.

For each strategy and targeted group, :func:`evaluate_portfolio` projects the group's
baseline, compares the value at the strategy's end with the projection's prediction
interval, estimates the level and slope change at the start (segmented regression) and
compares the group's gap to its reference with the gap the two baselines project. The
projections and the binomial segmented regressions are computed many series at a time
(one call per series spent most of the time in overhead); each equals its own call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast

import numpy as np
import pandas as pd

from c2c_analysis._checks import check_level, require_columns
from c2c_analysis._results import Result, json_safe
from c2c_analysis._rows import resolve_rows
from c2c_analysis._time import numeric_time
from c2c_analysis.portfolio.its import interrupted_time_series
from c2c_analysis.portfolio.strategy import Portfolio, Strategy
from c2c_analysis.schema import ALL_STUDENTS, better_direction
from c2c_analysis.trends import baseline_summary, project_baseline
from c2c_analysis.validation import DataValidationError

__all__ = ["VERDICTS", "PortfolioResult", "evaluate_portfolio"]

VERDICTS = (
    "turned_the_curve",
    "above_baseline_within_noise",
    "on_baseline",
    "below_baseline",
    "insufficient_data",
)

#: The columns of a scorecard row (:func:`evaluate_portfolio`'s table), in order.
SCORECARD_COLUMNS = (
    "strategy",
    "outcome",
    "partnership",
    "dimension",
    "group",
    "start",
    "baseline_first",
    "baseline_last",
    "last_period",
    "actual",
    "projected",
    "pi_lower",
    "pi_upper",
    "difference_pp",
    "difference_students",
    "level_change_pp",
    "slope_change_pp",
    "p_value",
    "dispersion",
    "dispersion_floored",
    "gap_vs_projection_pp",
    "comparison",
    "comparative_level_change_pp",
    "comparative_p_value",
    "verdict",
    "note",
    "overlaps",
)


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class PortfolioResult(Result):
    """The scorecard of :func:`evaluate_portfolio`.

    Attributes
    ----------
    table : DataFrame
        One row per strategy × targeted group (see :func:`evaluate_portfolio`).
    summary : DataFrame
        Per outcome: ``outcome``, ``strategies`` (how many) and one column per verdict of
        :data:`VERDICTS` counting its rows.
    projections : dict
        ``(strategy id, group)`` → that row's baseline projection
        (:func:`~c2c_analysis.trends.project_baseline`), for the rows that have one.
    settings : dict
        ``partnership``, ``method`` (the projection method), ``level``, ``baseline``,
        ``dispersion_floor``, the package ``version``, ``analysis`` and
        ``method_reference`` (the literature).
    notes : tuple of str

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> result = evaluate_portfolio(load_sample("outcomes"), load_sample("portfolio"),
    ...                             method="logit")
    >>> result.summary.columns.tolist()[:3]
    ['outcome', 'strategies', 'turned_the_curve']
    >>> sorted(result.to_dict())[:4]
    ['notes', 'projections', 'settings', 'summary']
    """

    projections: Mapping[tuple[str, str], pd.DataFrame] = dataclasses.field(default_factory=dict)

    analysis: ClassVar[str] = "Portfolio scorecard (baseline projection and segmented regression)"
    method_reference: ClassVar[str] = (
        "Friedman (2005), Trying Hard Is Not Good Enough (Results-Based Accountability: "
        "turning the curve); Lopez Bernal, Cummins & Gasparrini (2017), Int J Epidemiol "
        "46:348-355"
    )

    def to_dict(self) -> dict[str, Any]:
        """Every member, JSON-safe; ``projections`` as a list of ``{"strategy", "group",
        "projection"}`` (the projection's rows as records)."""
        out = super().to_dict()
        out["projections"] = [
            {"strategy": strategy, "group": group, "projection": json_safe(frame)}
            for (strategy, group), frame in self.projections.items()
        ]
        return out

    def plot(self, ax=None):
        """The scorecard: each row's difference from its projection, with its interval
        (:func:`~c2c_analysis.plotting.plot_scorecard`); returns the Axes."""
        from c2c_analysis.plotting import plot_scorecard

        return plot_scorecard(self, ax=ax)

    def plot_row(self, strategy: str, group: str, ax=None):
        """The "turn the curve" chart of one strategy and group; returns the Axes."""
        from c2c_analysis.plotting import plot_turn_the_curve

        projection = self.projections[(strategy, group)]
        return plot_turn_the_curve(projection, title=f"{strategy}: {group}", ax=ax)

    def _title(self) -> str:
        partnership = self.settings.get("partnership")
        return f"Portfolio scorecard: {partnership}" if partnership else "Portfolio scorecard"

    def __repr__(self) -> str:
        return "PortfolioResult\n" + self.table[
            ["strategy", "group", "difference_pp", "verdict"]
        ].to_string(index=False)


def _verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per outcome: strategies, and how many rows of the scorecard got each verdict."""
    if not len(table):
        return pd.DataFrame(columns=["outcome", "strategies", *VERDICTS])
    counts = table.pivot_table(
        index="outcome", columns="verdict", values="strategy", aggfunc="count", fill_value=0
    )
    for verdict in VERDICTS:
        if verdict not in counts:
            counts[verdict] = 0
    counts = counts[list(VERDICTS)]
    counts.insert(0, "strategies", table.groupby("outcome")["strategy"].nunique())
    return counts.reset_index()


def evaluate_portfolio(
    data: pd.DataFrame,
    portfolio: Portfolio,
    *,
    baseline: tuple[int, int] | None = None,
    method: Literal["linear", "logit"] = "linear",
    level: float = 0.95,
    dispersion_floor: bool = True,
) -> PortfolioResult:
    """Test every strategy of a portfolio against its targeted groups' baselines.

    For each strategy and targeted group: the group's series is projected from its baseline
    (:func:`~c2c_analysis.trends.project_baseline`), the last period's actual value is
    compared with the projection, a segmented regression estimates the level and slope
    change at the start (:func:`~c2c_analysis.interrupted_time_series`, binomial on counts,
    gaussian on rates without counts), and the group's gap to the reference (the
    strategy's ``comparison`` group, or All students) is compared with the gap the two
    baselines project.

    Parameters
    ----------
    data : DataFrame
        The canonical outcome table (annual ``year``; ``partnership``, ``outcome``,
        ``dimension``, ``group``). Not modified.
    portfolio : Portfolio
        The partnership's strategies (:func:`~c2c_analysis.read_portfolio`).
    baseline : (first, last), optional
        Baseline periods for every strategy; default: from the series' first year to the
        year before the strategy's start.
    method : {"linear", "logit"}
        Projection method (see :func:`~c2c_analysis.trends.project_baseline`).
    level : float
        Confidence level of the prediction intervals and confidence intervals (default
        0.95).
    dispersion_floor : bool
        Floor the segmented regression's quasi-binomial dispersion at 1 (default; see
        :func:`~c2c_analysis.interrupted_time_series`); ``False`` uses the estimate as it
        is.

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
        series), ``verdict``, ``note`` (also why a gap or comparison could not be computed)
        and ``overlaps`` (other strategies on the same outcome and groups whose periods
        overlap: their effects cannot be told apart from aggregate data). ``.summary``: the
        verdicts counted per outcome; ``.projections``: each row's baseline projection.

    Raises
    ------
    DataValidationError
        A column is missing, or a strategy does not fit the data
        (``Portfolio.validate()``).
    TypeError, ValueError
        An argument of the wrong kind or outside its allowed values.

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
    level = _check_arguments(data, portfolio, baseline, method, level, dispersion_floor)
    portfolio.validate(data)
    cases = _cases(data, portfolio)
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
    records = []
    projections: dict[tuple[str, str], pd.DataFrame] = {}
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
    table = pd.DataFrame(records) if records else pd.DataFrame(columns=list(SCORECARD_COLUMNS))
    return PortfolioResult(
        table=table,
        summary=_verdict_counts(table),
        projections=projections,
        settings={
            "partnership": portfolio.partnership,
            "method": method,
            "level": level,
            "baseline": list(baseline) if baseline else None,
            "dispersion_floor": dispersion_floor,
        },
    )


def _check_arguments(
    data: Any,
    portfolio: Any,
    baseline: Any,
    method: Any,
    level: Any,
    dispersion_floor: Any,
) -> float:
    """Every argument of :func:`evaluate_portfolio` checked; returns the level."""
    require_columns(data, ["partnership", "outcome", "dimension", "group", "year"])
    if not isinstance(portfolio, Portfolio):
        raise TypeError(
            f"portfolio must be a Portfolio (read_portfolio), not {type(portfolio).__name__}"
        )
    if baseline is not None and (isinstance(baseline, str) or len(tuple(baseline)) != 2):
        raise ValueError(f"baseline must be (first, last) periods, not {baseline!r}")
    if method not in ("linear", "logit"):
        raise ValueError(f"method must be 'linear' or 'logit', not {method!r}")
    if not isinstance(dispersion_floor, bool | np.bool_):
        raise TypeError(f"dispersion_floor must be True or False, not {dispersion_floor!r}")
    return check_level(level)


def _cases(data: pd.DataFrame, portfolio: Portfolio) -> list[tuple]:
    """Per strategy and targeted group: the strategy, the group, its series, the rows of
    its gap's reference and the strategies that overlap it."""
    rows = data[data["partnership"] == portfolio.partnership]
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
    return cases


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
    requests: Mapping[Any, tuple[pd.DataFrame, tuple]],
    *,
    method: Literal["linear", "logit"],
    level: float,
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
        dtype = frame["year"].dtype
        if in_base.sum() < 3 or not (
            isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.number)
        ):
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
            out[keys[cast(int, j)]] = part.drop(columns="_task").reset_index(drop=True)
    return out


def _empty_record(
    series: pd.DataFrame, strategy: Strategy, group: str, reference: str
) -> dict[str, Any]:
    """A scorecard row before anything is known of it (``insufficient_data``)."""
    return {
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
    record = _empty_record(series, strategy, group, reference)
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
    notes.append(_gap(record, last, summary, strategy, group, reference, ref_projection))
    record["note"] = "; ".join(n for n in notes if n)
    return record


def _gap(record, last, summary, strategy, group, reference, ref_projection) -> str:
    """The gap to the reference against the gap the two baselines project (fills
    ``record["gap_vs_projection_pp"]``); returns a note when it cannot be computed."""
    if isinstance(ref_projection, pd.DataFrame):  # the comparison group's own baseline
        ref_last = ref_projection[ref_projection["year"] == summary["last_period"]]
        if len(ref_last) and np.isfinite(ref_last["actual"].iloc[0]):
            sign = -1.0 if better_direction(strategy.outcome) == "lower" else 1.0
            actual_gap = sign * (ref_last["actual"].iloc[0] - last["actual"])
            projected_gap = sign * (ref_last["projected"].iloc[0] - last["projected"])
            record["gap_vs_projection_pp"] = 100 * (actual_gap - projected_gap)
            return ""
        return f"no gap to {reference}: it has no value in {summary['last_period']}"
    if isinstance(ref_projection, DataValidationError):
        problem = ref_projection.problems["problem"].iloc[0]
        return f"no gap to {reference}: its baseline cannot be projected ({problem})"
    if group != reference:
        return f"no gap to {reference}: no rows of it for this outcome"
    return ""


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
        t = numeric_time(series["year"])
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
        [series.assign(_control=False), other.assign(_control=True)], ignore_index=True
    )
    if _has_counts(series) and _has_counts(other):
        kwargs: dict[str, Any] = {"numerator": "numerator", "denominator": "denominator"}
        kwargs["dispersion_floor"] = dispersion_floor
    else:
        both = both.dropna(subset=["rate"])
        kwargs = {"y": "rate", "family": "gaussian"}
    try:
        its = interrupted_time_series(
            both, time="year", start=strategy.start, control="_control", level=level,
            **kwargs,
        )  # fmt: skip
    except (DataValidationError, ValueError, np.linalg.LinAlgError) as error:
        return f"not compared with {name}: {error}".splitlines()[0]
    terms = its.table.set_index("term")
    record["comparative_level_change_pp"] = terms.loc["level_change", "effect_pp"]
    record["comparative_p_value"] = terms.loc["level_change", "p_value"]
    return f"compared with {name}'s {record['group']} (comparative interrupted time series)"
