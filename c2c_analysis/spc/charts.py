"""Run charts and control charts for one series or a million.

Every chart is computed by one engine that works on many series at once with group-wise
numpy operations (sorting, run-length encoding, ``bincount``): :func:`run_chart` and
:func:`control_chart` run it on one series, :func:`spc_table` on every series of a table.
The limits are those of :mod:`c2c_analysis.spc.limits`, the runs rules (``anhoej``, ``ihi``,
``nhs``) those of :mod:`c2c_analysis.spc.rules`; with ``rules="nhs"`` I chart limits are the
mean ± 2.66·MR̄ of Making Data Count.

Labels as x (units without a time order, funnel-style) have no runs analysis.

Sigma signals are strict: beyond, not on, a limit.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
import pandas as pd

from c2c_analysis._arrays import group_codes
from c2c_analysis._checks import DEPRECATED, renamed, require_columns
from c2c_analysis._results import Result, json_safe
from c2c_analysis.spc.limits import CHARTS, Points, chart_limits
from c2c_analysis.spc.rules import NHS_RULES, RULES, nhs_classes, nhs_summary, runs_analysis
from c2c_analysis.validation import C2CDataWarning

__all__ = ["SPCResult", "control_chart", "run_chart", "spc_table"]

#: The favourable directions (``better``); None is neutral.
BETTER = ("higher", "lower")


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class SPCResult(Result):
    """A run or control chart, of one series or of every series of a table.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup: ``x, y, n, part, center, lower, upper, sigma_signal,
        runs_signal, included, baseline, withheld, in_signal_run`` (``baseline``: the
        point is in the baseline that ``freeze`` sets, all points without one; ``withheld``:
        every row of the point carried a suppression marker such as ``*``, ``NS`` or
        ``N<10``; such points have no value and are counted, never silently missing;
        ``lower``/``upper`` are NaN on run charts; ``y`` is the plotted value;
        ``runs_signal`` is the phase's runs signal, repeated on its points; with
        ``rules="nhs"`` also ``nhs_rule`` and ``nhs_class``). From :func:`spc_table` the
        ``by`` columns come first.
    summary : DataFrame
        One row per phase: ``part, n_points, n_withheld, n_useful, longest_run,
        longest_run_max, n_crossings, n_crossings_min, runs_signal, n_sigma_signals`` (and
        the IHI or NHS rule columns for those rules). From :func:`spc_table` the ``by``
        columns come first.
    settings : dict
        The call's options (``chart``, ``rules``, ``x``, ``y``, ``n``, ``better``, ...,
        ``by`` from :func:`spc_table`), the package ``version``, the ``analysis`` and its
        ``method_reference``.
    notes : tuple of str
        Empty: the tables say what was withheld or excluded.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"week": range(1, 13), "y": [5, 6, 4, 7, 5, 6, 5, 4, 6, 5, 6, 5]})
    >>> result = run_chart(data, y="y", x="week")
    >>> sorted(result.to_dict())
    ['notes', 'settings', 'summary', 'table', 'type']
    >>> result.settings["method_reference"].startswith("Anhøj")
    True
    """

    analysis: ClassVar[str] = "Run and control charts with runs analysis"
    method_reference: ClassVar[str] = (
        "Anhøj & Olesen (2014), Run charts revisited: a simulation study of run chart rules "
        "for detection of non-random variation in health care processes, PLoS ONE "
        "9(11):e113825; Montgomery (2019), Introduction to Statistical Quality Control, 8th ed."
    )

    def plot(self, ax=None):
        """The chart: centre line, limits, phases, signals highlighted.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (None: a new figure).

        Returns
        -------
        Axes

        Raises
        ------
        ValueError
            The result holds several series (from :func:`spc_table`): draw them with
            :func:`c2c_analysis.plotting.plot_spc_grid`.
        """
        from c2c_analysis.plotting import plot_spc

        by = list(self.settings.get("by") or [])
        if by and len(self.table[by].drop_duplicates()) > 1:
            raise ValueError(
                f"the result holds {len(self.table[by].drop_duplicates())} series: draw them "
                f"with plotting.plot_spc_grid(result.table, by={by!r}), or chart one series"
            )
        return plot_spc(self, ax=ax, better=self.settings.get("better"))

    def _title(self) -> str:
        return f"{self.settings.get('chart')} chart ({self.settings.get('rules')} rules)"


# --- the engine --------------------------------------------------------------------------------


def _engine(
    frame: pd.DataFrame,
    *,
    chart: str,
    rules: str,
    sigma: float,
    screen_mr: bool,
    cl: float | None,
    better: str | None,
    target: float | None,
    astronomical: Sequence[Any] | None,
    ordered: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame``: one row per subgroup with _sid (series), _part (phase label), _order
    (position), x, y, n, s (subgroup sd for xbar/s), m (subgroup size), included, baseline.
    Rows are sorted by _sid, _order. ``ordered`` is False when x has no time order (labels):
    runs rules are then skipped. Returns the point table and the phase summary: the limits
    (:func:`~c2c_analysis.spc.limits.chart_limits`), then the runs rules on every phase
    (:func:`~c2c_analysis.spc.rules.runs_analysis`), then the tables."""
    pid, first_row = group_codes(frame["_sid"].to_numpy(), frame["_part"].to_numpy())
    n_phases = len(first_row)
    points = Points.from_frame(frame, pid, n_phases)
    limits = chart_limits(
        points, chart=chart, rules=rules, sigma=sigma, screen_mr=screen_mr, cl=cl, ordered=ordered
    )
    runs = runs_analysis(
        pid,
        n_phases,
        plotted=limits.plotted,
        centre=limits.centre_point,
        limit_centre=limits.limit_point,
        half_width=sigma * limits.spread,
        use=points.included & np.isfinite(limits.plotted),
        outside=limits.sigma_signal,
        x=frame["x"],
        rules=rules,
        ordered=ordered and chart != "mr",
        astronomical=astronomical,
    )
    summary = pd.DataFrame(
        {
            "_sid": frame["_sid"].to_numpy()[first_row],
            "part": frame["_part"].to_numpy()[first_row],
            "n_points": np.bincount(pid, minlength=n_phases),
            "n_withheld": np.bincount(pid[points.withheld], minlength=n_phases),
            **runs.columns,
            "runs_signal": runs.signal,
            "n_sigma_signals": np.bincount(pid[limits.sigma_signal], minlength=n_phases),
        }
    )
    # Report the t chart on the original scale.
    shown = limits.on_original_scale(chart, points.y)
    table = pd.DataFrame(
        {
            "_sid": frame["_sid"].to_numpy(),
            "x": frame["x"].to_numpy(),
            "y": shown.plotted,
            # Denominators when given (p/u charts, and run charts of numerators over them).
            "n": points.m if chart in ("xbar", "s") else points.n,
            "part": frame["_part"].to_numpy(),
            "center": shown.centre_point,
            "lower": shown.lower,
            "upper": shown.upper,
            "sigma_signal": limits.sigma_signal,
            "runs_signal": runs.signal[pid],
            "included": frame["included"].to_numpy(dtype=bool),
            "baseline": frame["baseline"].to_numpy(dtype=bool),
            "withheld": points.withheld,
            "in_signal_run": runs.in_signal_run,
        }
    )
    if runs.rule is not None and runs.direction is not None:
        table["nhs_rule"] = np.array(["none", *NHS_RULES], dtype=object)[runs.rule]
        table["nhs_class"] = nhs_classes(runs.rule, runs.direction, better)
        summary = summary.merge(
            nhs_summary(table, pid, n_phases, better, target), left_index=True, right_index=True
        )
    return table, summary


# --- preparation ---------------------------------------------------------------------------------


#: Period labels that sort in time order as text: "2016", "2015-16", "2015-2016", "2015/16".
_PERIOD_TEXT = re.compile(r"^\s*\d{4}(\s*[-/\u2013]\s*\d{2,4})?\s*$")


def _has_time_order(values: pd.Series) -> bool:
    """Numbers, dates and school-year text ("2015-16") have a time order; other labels (text,
    categories) do not."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return True
    text = values.dropna().astype(str)
    return bool(len(text)) and bool(text.str.match(_PERIOD_TEXT).all())


def _check_rates_as_counts(
    values: pd.Series, counts: pd.Series, *, y: str, n: str, chart: str
) -> None:
    """With a denominator, ``y`` is a count: a rate column passed as ``y`` would be charted
    as rate/n, and a numerator above its denominator as a proportion above 1."""
    from c2c_analysis.validation import DataValidationError

    def refuse(row, value, problem):
        raise DataValidationError(
            [{"row": row, "column": y, "value": str(value), "problem": problem}]
        )

    advice = (
        f"pass y='numerator', or derive it as round({y} × {n}) first, or chart the rate "
        "itself without n"
    )
    finite = values[np.isfinite(values)]
    if len(finite) and finite.between(0, 1).all() and (finite % 1 != 0).any():
        row = finite.index[(finite % 1 != 0).to_numpy()][0]
        refuse(row, finite.loc[row], f"with n={n!r} the {chart} chart takes y as the numerator "
               f"(a count), but {y!r} holds proportions between 0 and 1; {advice}")  # fmt: skip
    ratelike = re.search(r"(^|_)(rate|pct|percent|proportion|share)s?($|_)", y.lower())
    if ratelike and len(finite):
        refuse(finite.index[0], finite.iloc[0], f"with n={n!r} the {chart} chart takes y as "
               f"the numerator (a count), but {y!r} is named as a rate; {advice}")  # fmt: skip
    denominators = pd.to_numeric(counts, errors="coerce")
    over = (values > denominators) & (denominators > 0)
    if chart in ("p", "pp", "run") and over.any():
        row = values.index[over.to_numpy()][0]
        refuse(row, values.loc[row], f"the numerator {y!r} is larger than its denominator "
               f"{n!r} ({counts.loc[row]}): a proportion cannot exceed 1")  # fmt: skip


def _baseline(
    out: pd.DataFrame, x: str, freeze: Any, by: Sequence[str], *, name: str | None = None
) -> np.ndarray:
    """Which points belong to the baseline: x ≤ ``freeze``, or, for x without numbers (dates,
    labels) and an integer ``freeze``, the first ``freeze`` points of each series (qicharts2's
    idiom)."""
    if freeze is None:
        return np.ones(len(out), dtype=bool)
    values = out[x]
    numeric_x = pd.api.types.is_numeric_dtype(values) and not isinstance(
        values.dtype, pd.CategoricalDtype
    )
    if isinstance(freeze, int | np.integer) and not isinstance(freeze, bool) and not numeric_x:
        position = out.groupby(list(by), sort=False).cumcount() if by else np.arange(len(out))
        return np.asarray(position) < int(freeze)
    if pd.api.types.is_datetime64_any_dtype(values) and isinstance(freeze, str):
        try:
            freeze = pd.Timestamp(freeze)
        except ValueError:
            freeze = None
    try:
        return (values <= freeze).to_numpy(dtype=bool)
    except TypeError:
        shown = name or x
        raise ValueError(
            f"freeze={freeze!r} cannot be compared with {shown!r} ({values.dtype}): give the "
            f"last baseline value of {shown!r} (e.g. a date), or an integer number of "
            "baseline points"
        ) from None


def _withheld(data: pd.DataFrame, column: str) -> pd.Series:
    """Cells that carry a suppression marker (``*``, ``s``, ``NS``, ``N<10``, ``PS``...)."""
    from c2c_analysis.schema import is_suppression_marker

    values = data[column]
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(False, index=data.index)
    return pd.Series(is_suppression_marker(values.to_numpy(dtype=object)), index=data.index)


def _values(data: pd.DataFrame, column: str) -> pd.Series:
    """Numbers; suppression markers become missing (and are counted as withheld), any other
    text is an error naming its rows."""
    values = data[column]
    numbers = pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_numeric_dtype(values):
        return numbers
    bad = numbers.isna() & values.notna() & ~_withheld(data, column)
    bad &= values.astype(str).str.strip().ne("")
    if bad.any():
        from c2c_analysis.validation import DataValidationError

        raise DataValidationError(
            [
                {"row": row, "column": column, "value": str(values.loc[row]),
                 "problem": "not a number, nor a suppression marker (*, s, NS, N<10, PS, ...)"}
                for row in values.index[bad.to_numpy()][:50]
            ]
        )  # fmt: skip
    return numbers


def _drop_missing_x(data: pd.DataFrame, x: str) -> pd.DataFrame:
    """``data`` without the rows that have no ``x``, with a warning naming them."""
    no_x = data[x].isna()
    if not no_x.any():
        return data
    rows = ", ".join(map(str, data.index[no_x][:5])) + (", ..." if no_x.sum() > 5 else "")
    warnings.warn(
        f"{int(no_x.sum())} rows without a value of {x!r} were left out of the chart (rows {rows})",
        C2CDataWarning,
        stacklevel=4,
    )
    return data.loc[~no_x]


def _read_values(
    data: pd.DataFrame, y: str, n: str | None, chart: str
) -> tuple[pd.Series, pd.Series | None, pd.Series]:
    """The values, the denominators (with ``n``) and which rows are withheld."""
    withheld = _withheld(data, y)
    if "suppressed" in data.columns:  # the canonical flag: withheld by the source or by us
        withheld = withheld | data["suppressed"].fillna(False).astype(bool)
    values = _values(data, y).where(~withheld)
    if not n:
        return values, None, withheld
    withheld = withheld | _withheld(data, n)
    _check_rates_as_counts(values, data[n], y=y, n=n, chart=chart)
    count = _values(data, n).where(~withheld)
    # A row counts only with both its numerator and its denominator: a withheld
    # numerator adds nothing to the denominator, and a missing denominator nothing to
    # the numerator.
    both = values.notna() & count.notna()
    return values.where(both), count.where(both), withheld


def _aggregate(grouped: Any, *, chart: str, n: str | None, agg: str | None) -> pd.DataFrame:
    """One row per series and x: y (and s, m for x̄ and s charts), n and withheld."""
    if chart in ("xbar", "s"):
        out = grouped["_y"].agg(y="mean", s="std", m="count").reset_index()
        out["n"] = out["m"]
    elif n:
        out = grouped[["_y", "_n"]].sum(min_count=1).reset_index()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["y"] = np.where(out["_n"] > 0, out["_y"] / out["_n"], np.nan)
        out["n"] = out["_n"]
        out = out.drop(columns=["_y", "_n"])
    else:
        if agg is None:
            agg = "sum" if chart == "c" else "mean"  # a c chart counts events per subgroup
        if agg not in ("mean", "sum", "median"):
            raise ValueError("agg must be 'mean', 'sum' or 'median'")
        if agg == "sum":
            out = grouped["_y"].sum(min_count=1).reset_index().rename(columns={"_y": "y"})
        else:
            out = getattr(grouped["_y"], agg)().reset_index().rename(columns={"_y": "y"})
        out["n"] = np.nan
    any_withheld = grouped["_withheld"].any().to_numpy()
    out["withheld"] = grouped["_withheld"].all().to_numpy()
    if not n and agg == "sum":
        # A total with a withheld part is not known: the point is withheld, never a
        # silently smaller sum.
        out.loc[any_withheld, "y"] = np.nan
        out["withheld"] = any_withheld
    if "s" not in out:
        out["s"] = np.nan
        out["m"] = 1.0
    return out


def _prepare(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    n: str | None,
    by: Sequence[str],
    chart: str,
    part: Sequence[Any] | str | None,
    freeze: Any,
    exclude: Sequence[Any] | None,
    agg: str | None,
) -> pd.DataFrame:
    """One row per series and x: the plotted value and its denominator or subgroup size."""
    require_columns(
        data, [y, x, *([n] if n else []), *by, *([part] if isinstance(part, str) else [])]
    )
    data = _drop_missing_x(data, x)
    values, count, withheld = _read_values(data, y, n, chart)
    # The user's columns get private names, so that none can clash with the ones made here.
    keys = [f"_by{i}" for i in range(len(by))] + ["x"]
    frame = pd.DataFrame(
        {**{f"_by{i}": data[c].to_numpy() for i, c in enumerate(by)}, "x": data[x].to_numpy()},
        index=data.index,
    )
    if isinstance(part, str):
        frame["_part_label"] = data[part].to_numpy()
    frame["_y"] = values
    frame["_withheld"] = withheld.to_numpy()
    if count is not None:
        frame["_n"] = count
    grouped = frame.groupby(keys, sort=True, observed=True, dropna=False)
    out = _aggregate(grouped, chart=chart, n=n, agg=agg)
    if isinstance(part, str):
        labels = grouped["_part_label"].first().reset_index(drop=True)
        out["_part"] = labels.to_numpy()
    else:
        out["_part"] = 1
        if part is not None:
            for boundary in sorted(part):
                out.loc[out["x"] >= boundary, "_part"] += 1
    out["included"] = True
    if exclude is not None:
        out.loc[out["x"].isin(list(exclude)), "included"] = False
    by_keys = keys[:-1]
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    out["baseline"] = _baseline(out, "x", freeze, by_keys, name=x)
    if freeze is not None and len(out) and not out["baseline"].any():
        warnings.warn(
            f"freeze={freeze!r} is before the first {x!r} ({out['x'].min()}): no point is in "
            "the baseline, so the limits use every point",
            C2CDataWarning,
            stacklevel=3,
        )
    if by:
        out["_sid"] = group_codes(*(out[c].to_numpy() for c in by_keys))[0]
    else:
        out["_sid"] = 0
    return out.sort_values(["_sid", "x"], kind="stable").reset_index(drop=True)


def _from_improvement(value: Any) -> Any:
    """The old ``improvement`` value as ``better``: "increase" → "higher", "decrease" →
    "lower", "neutral" → None (anything else is passed on, to be refused)."""
    return {"increase": "higher", "decrease": "lower", "neutral": None}.get(value, value)


def _check_chart(chart: str, n: str | None, rules: str, better: str | None) -> None:
    if chart not in CHARTS:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    if chart in ("p", "pp", "u", "up") and n is None:
        raise ValueError(f"a {chart} chart needs n= (the denominator column)")
    if rules not in RULES:
        raise ValueError(f"rules must be 'anhoej', 'ihi' or 'nhs', not {rules!r}")
    if better is not None and better not in BETTER:
        raise ValueError(f"better must be 'higher', 'lower' or None, not {better!r}")


def _chart(
    data: pd.DataFrame,
    *,
    by: list[str],
    y: str,
    x: str,
    chart: str,
    n: str | None,
    part: Sequence[Any] | str | None,
    freeze: Any,
    exclude: Sequence[Any] | None,
    cl: float | None,
    agg: str | None,
    screen_mr: bool,
    rules: str,
    sigma: float,
    better: str | None,
    target: float | None,
    astronomical: Sequence[Any] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The prepared frame, the point table, the phase summary and the settings."""
    _check_chart(chart, n, rules, better)
    frame = _prepare(
        data, y=y, x=x, n=n, by=by, chart=chart, part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    ordered = _has_time_order(frame["x"])
    table, summary = _engine(
        frame,
        chart=chart,
        rules=rules,
        sigma=sigma,
        screen_mr=screen_mr,
        cl=cl,
        better=better,
        target=target,
        astronomical=astronomical,
        ordered=ordered,
    )
    settings = {
        "time_order": ordered,
        "chart": chart,
        "rules": rules,
        "sigma": sigma,
        "screen_mr": screen_mr,
        "x": x,
        "y": y,
        "n": n,
        "freeze": json_safe(freeze),
        "better": better,
        "target": target,
    }
    return frame, table, summary, settings


def control_chart(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    chart: str,
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str | None = None,
    screen_mr: bool = True,
    rules: str = "anhoej",
    sigma: float = 3.0,
    better: str | None = None,
    target: float | None = None,
    astronomical: Sequence[Any] | None = None,
    improvement: Any = DEPRECATED,
) -> SPCResult:
    """A Shewhart control chart of one series, with runs analysis.

    Parameters
    ----------
    data : DataFrame
        One series. Not modified.
    y : str
        The value column, or the numerator when ``n`` names a denominator column (the
        plotted value is then Σy/Σn per x).
    x : str
        The subgroup column: integers or dates (a time order), or labels (text or
        categories, in sorted or category order: units without a time order, as in a
        funnel-style chart; the runs rules are then skipped and Laney's σz is the standard
        deviation of the z-scores).
    chart : {"i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s", "run"}
        ``pp``/``up`` are Laney's p′ and u′. ``xbar``/``s`` use the rows sharing an x as the
        subgroup's sample.
    n : str, optional
        Denominator column (required for p, pp, u, up). ``y`` is then a count: a column of
        proportions raises an error that says which call to make (a rate is never divided
        by ``n`` again). Rows whose ``y`` is missing add nothing to the denominator.
    part : sequence or str, optional
        x values at which a new phase begins, or a column of phase labels. Each phase has
        its own centre line, limits and runs analysis.
    freeze : x value or int, optional
        Last x of the baseline: centre line and limits come from the baseline and extend to
        later points; the runs analysis covers all points against the frozen centre line.
        With dates or labels as x, an integer is the number of baseline points (the
        qicharts2 idiom ``freeze=24``) and a text date is read as a date.
    exclude : sequence, optional
        x values left out of centre line, limits and runs analysis (still shown, still able
        to signal).
    cl : float, optional
        A fixed centre line.
    agg : {"mean", "sum", "median"}, optional
        How rows sharing an x combine when there is no ``n``: by default their sum on a c
        chart (events per subgroup) and their mean otherwise.
    screen_mr : bool
        Estimate sigma from the moving ranges strictly below 3.267 × their mean (Nelson
        1982; once) on I, T, p′ and u′ charts. The MR chart itself is never screened.
    rules : {"anhoej", "ihi", "nhs"}
        With ``"nhs"`` the table gains ``nhs_rule`` (``beyond_limit``, ``trend``,
        ``two_of_three``, ``shift`` or ``none``: the first rule in that order of precedence
        that flags the point) and ``nhs_class`` (``special_cause_improvement``,
        ``special_cause_concern``, ``special_cause_neutral_high``/``_low`` without a
        ``better`` direction, or ``common_cause``), and the summary ``variation`` (the
        last point's class) and ``assurance`` (``consistently_passing``,
        ``consistently_failing``, ``hit_and_miss``, ``no_target`` or ``not_applicable``).
    sigma : float
        Width of the limits in sigmas.
    better : {"higher", "lower"}, optional
        NHS rules: the favourable direction, which makes a special cause an improvement or
        a concern (None: neutral, special causes are high or low). The chart has no outcome
        to look it up in the catalogue: pass ``better_direction(outcome)``.
    target : float, optional
        NHS rules: the target for the assurance summary (a target on a limit is hit and
        miss).
    astronomical : sequence, optional
        IHI rules: x values the user names as astronomical points.
    improvement : {"increase", "decrease", "neutral"}, optional
        Deprecated (removed in 0.3): use ``better`` ("increase" is ``better="higher"``,
        "decrease" ``better="lower"``, "neutral" ``better=None``).

    Returns
    -------
    SPCResult
        ``.table`` (one row per subgroup), ``.summary`` (one row per phase); the columns are
        listed in :class:`SPCResult`.

    Notes
    -----
    Limits at σ = ``sigma`` = 3 (other widths scale the distance from the centre):

    - I: x̄ ± 3·MR̄/1.128 (MR̄ screened, see ``screen_mr``); with ``rules="nhs"`` Making Data
      Count's x̄ ± 2.66·MR̄, and its "close to a limit" band from 1.7733·MR̄.
    - MR: centre MR̄ (every moving range of the phase, unscreened), limits [0, 3.267·MR̄]
      (D4 for n = 2, Montgomery Appendix VI); no runs signal, as moving ranges are
      autocorrelated.
    - p: p̄ ± 3√(p̄(1−p̄)/nᵢ) clipped to [0, 1]; p′ (Laney 2002): the p limits times
      σz, the moving ranges of zᵢ = (pᵢ − p̄)/√(p̄(1−p̄)/nᵢ) over 1.128, or for x without a
      time order the sample standard deviation of the zᵢ. u: ū ± 3√(ū/nᵢ), u′ likewise.
    - c: c̄ ± 3√c̄ (rows sharing an x summed).
    - g: limits ḡ ± 3√(ḡ(ḡ+1)) (Benneyan 2001) around the mean; the centre line, and the
      runs analysis, is the median (0.693·``cl`` when a centre is given).
    - t: an I chart of y^(1/3.6), back-transformed (Nelson 1994).
    - x̄: x̿ = Σnᵢx̄ᵢ/Σnᵢ ± A3(nᵢ)·s̄; s: centre s̄, limits B3(nᵢ)·s̄ and B4(nᵢ)·s̄, where s̄
      is the mean of the sᵢ for one subgroup size and the pooled √(Σ(nᵢ−1)sᵢ²/Σ(nᵢ−1)) for
      sizes that vary (Montgomery §6.3.2, eqs. 6.29-6.31).

    Count and dispersion limits are cut at 0. Excluded points: a moving range that touches
    an excluded point leaves the sigma estimate; qicharts2 instead takes the difference
    across the excluded point, so its sigma can differ where points are excluded.

    References
    ----------
    Montgomery (2019), Introduction to Statistical Quality Control, 8th ed. Laney (2002),
    Improved control charts for attributes, Quality Engineering 14(4):531-537. Anhøj &
    Olesen (2014), Run charts revisited, PLoS ONE 9(11):e113825. Provost & Murray (2011),
    The Health Care Data Guide. NHS England, Making Data Count (2019); NHSRplotthedots 0.2.2.
    Nelson (1982), Control charts for individual measurements, J Qual Technol 14(3):172-173.
    Benneyan (2001), Number-between g-type statistical quality control charts, Health Care
    Manag Sci 4:305-318. Anhøj, qicharts2 0.8.1.

    Examples
    --------
    >>> import pandas as pd
    >>> absent = [30, 28, 35, 31, 29, 33, 27, 30, 32, 29, 31, 34]
    >>> data = pd.DataFrame({"month": range(1, 13), "absent": absent, "enrolled": [120] * 12})
    >>> result = control_chart(data, y="absent", n="enrolled", x="month", chart="p")
    >>> round(float(result.table["center"].iloc[0]), 4), bool(result.summary["runs_signal"].iloc[0])
    (0.2562, False)
    """
    better = renamed(
        "control_chart", "improvement", improvement, "better", better, convert=_from_improvement
    )
    _, table, summary, settings = _chart(
        data,
        by=[],
        y=y,
        x=x,
        chart=chart,
        n=n,
        part=part,
        freeze=freeze,
        exclude=exclude,
        cl=cl,
        agg=agg,
        screen_mr=screen_mr,
        rules=rules,
        sigma=sigma,
        better=better,
        target=target,
        astronomical=astronomical,
    )
    return SPCResult(
        table=table.drop(columns="_sid"), summary=summary.drop(columns="_sid"), settings=settings
    )


def run_chart(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str | None = None,
    rules: str = "anhoej",
    astronomical: Sequence[Any] | None = None,
) -> SPCResult:
    """A run chart of one series: the median and the runs analysis.

    Parameters
    ----------
    data : DataFrame
        One series. Not modified.
    y, x, n, part, freeze, exclude, cl, agg, rules, astronomical
        As in :func:`control_chart` (a run chart has no limits).

    Returns
    -------
    SPCResult
        The columns are listed in :class:`SPCResult` (``lower`` and ``upper`` are NaN).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"week": range(1, 21), "y": [5, 6, 4, 7, 5, 6, 5, 4, 6, 5,
    ...                                                  8, 9, 8, 9, 10, 9, 8, 9, 10, 9]})
    >>> summary = run_chart(data, y="y", x="week").summary
    >>> summary[["longest_run", "longest_run_max", "runs_signal"]].values.tolist()
    [[10, 7.0, True]]
    """
    _, table, summary, settings = _chart(
        data,
        by=[],
        y=y,
        x=x,
        chart="run",
        n=n,
        part=part,
        freeze=freeze,
        exclude=exclude,
        cl=cl,
        agg=agg,
        screen_mr=False,
        rules=rules,
        sigma=3.0,
        better=None,
        target=None,
        astronomical=astronomical,
    )
    settings = {k: settings[k] for k in ("chart", "rules", "x", "y", "n", "freeze", "time_order")}
    return SPCResult(
        table=table.drop(columns="_sid"), summary=summary.drop(columns="_sid"), settings=settings
    )


def spc_table(
    data: pd.DataFrame,
    *,
    by: str | Sequence[str],
    y: str,
    x: str,
    chart: str = "run",
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str | None = None,
    screen_mr: bool = True,
    rules: str = "anhoej",
    sigma: float = 3.0,
    better: str | None = None,
    target: float | None = None,
    astronomical: Sequence[Any] | None = None,
    improvement: Any = DEPRECATED,
    summary: Any = DEPRECATED,
) -> SPCResult:
    """The same chart for every series identified by ``by``, in one vectorized pass.

    Parameters
    ----------
    data : DataFrame
        Every series. Not modified.
    by : str or sequence of str
        Columns identifying a series (school, group...).
    y, x, chart, n, part, freeze, exclude, cl, agg, screen_mr, rules, sigma
        As in :func:`control_chart`.
    better, target, astronomical
        As in :func:`control_chart`; they apply to every series.
    improvement : {"increase", "decrease", "neutral"}, optional
        Deprecated (removed in 0.3): use ``better``.
    summary : bool, optional
        Deprecated (removed in 0.3): the result holds both tables; ``summary=True`` returns
        its ``.summary`` and ``summary=False`` its ``.table``.

    Returns
    -------
    SPCResult
        ``.table``: the per-point rows of every series, ``.summary``: the per-phase rows of
        every series, both with the ``by`` columns in front of the columns listed in
        :class:`SPCResult`; ``.settings`` has ``by``. (With the deprecated ``summary=``, the
        one DataFrame asked for.)

    Raises
    ------
    ValueError
        A ``by`` column has the name of a column of the table or the summary.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("indicators").query(
    ...     "outcome == 'chronic_absence' and dimension == 'geography'")
    >>> result = spc_table(data, by=["partnership", "group"], y="numerator", n="denominator",
    ...                    x="period", chart="pp")
    >>> len(result.summary), sorted(result.summary.columns[:2])
    (8, ['group', 'partnership'])
    >>> len(result.table) == len(data)
    True
    """
    better = renamed(
        "spc_table", "improvement", improvement, "better", better, convert=_from_improvement
    )
    by = [by] if isinstance(by, str) else list(by)
    frame, table, phases, settings = _chart(
        data,
        by=by,
        y=y,
        x=x,
        chart=chart,
        n=n,
        part=part,
        freeze=freeze,
        exclude=exclude,
        cl=cl,
        agg=agg,
        screen_mr=screen_mr,
        rules=rules,
        sigma=sigma,
        better=better,
        target=target,
        astronomical=astronomical,
    )
    clash = sorted(set(by) & (set(table.columns) | set(phases.columns)))
    if clash:
        raise ValueError(
            f"by column(s) {', '.join(map(repr, clash))} have the name of a result column; "
            "rename them first"
        )
    private = [f"_by{i}" for i in range(len(by))]
    names = dict(zip(private, by, strict=True))
    keys = frame[[*private, "_sid"]].drop_duplicates("_sid").set_index("_sid").rename(columns=names)
    front = keys.loc[phases["_sid"]].reset_index(drop=True)
    result = SPCResult(
        table=pd.concat(
            [
                frame[private].rename(columns=names).reset_index(drop=True),
                table.drop(columns="_sid").reset_index(drop=True),
            ],
            axis=1,
        ),
        summary=pd.concat([front, phases.drop(columns="_sid").reset_index(drop=True)], axis=1),
        settings={"by": by, **settings},
    )
    if summary is DEPRECATED:
        return result
    warnings.warn(
        "spc_table(): the parameter summary= is deprecated and will be removed in 0.3; use "
        ".table or .summary of the result",
        DeprecationWarning,
        stacklevel=2,
    )
    # Typed as the result: the deprecated summary= returns a DataFrame for one release only.
    return cast(SPCResult, result.summary if summary else result.table)
