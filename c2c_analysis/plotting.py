"""Every drawing of c2c_analysis. Functions take ``ax=`` and return the Axes; they never call
``plt.show()`` and never change global settings (call :func:`set_theme` for our look).

Import it explicitly (``from c2c_analysis import plotting``): ``import c2c_analysis`` does not
load matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from c2c_analysis.trends import projection_keys, rates

__all__ = [
    "CATCH_ALL_GROUPS",
    "GROUP_COLORS",
    "describe_figure",
    "figure_svg",
    "group_colors",
    "plot_funnel",
    "plot_gap_change",
    "plot_gaps",
    "plot_its",
    "plot_scorecard",
    "plot_spc",
    "plot_spc_grid",
    "plot_trends",
    "plot_turn_the_curve",
    "plot_waterfall",
    "set_theme",
]

_BASELINE = "#4d4d4d"
_FORECAST = "#7a7a7a"
_ACTUAL = "#1b6ca8"
# Signals in the outcome's better direction and against it, and without a direction: the
# blue, orange and purple of NHS Making Data Count's charts.
_IMPROVEMENT = "#0072b2"
_CONCERN = "#d55e00"
_NEUTRAL = "#7b3294"

#: One colour per group in every figure of every partnership: Okabe & Ito's colour-blind
#: safe palette (with Tol's wine and teal for the last race/ethnicity categories); the
#: higher-rated side of a two-group dimension in blue, the other in vermillion.
GROUP_COLORS: Mapping[str, str] = {
    "All students": "#000000",
    "White": "#0072b2",
    "Black": "#d55e00",
    "Hispanic/Latino": "#e69f00",
    "Asian": "#009e73",
    "American Indian/Alaska Native": "#cc79a7",
    "Native Hawaiian/Other Pacific Islander": "#56b4e9",
    "Two or more races": "#882255",
    "Middle Eastern/North African": "#44aa99",
    "Low income": "#d55e00",
    "Not low income": "#0072b2",
    "Students with disabilities": "#d55e00",
    "Students without disabilities": "#0072b2",
    "English learner": "#d55e00",
    "Not English learner": "#0072b2",
    "Female": "#cc79a7",
    "Male": "#009e73",
    "Gender X": "#e69f00",
    "Not reported": "#999999",
    "Withheld groups": "#999999",
}
_OTHER_COLORS = ("#332288", "#117733", "#999933", "#aa4499", "#88ccee", "#661100", "#6699cc")
#: Groups left out of comparisons: whoever the source could not classify.
CATCH_ALL_GROUPS = frozenset({"Not reported", "Unknown", "Withheld groups"})


def group_colors(labels: Sequence[object]) -> dict[str, str]:
    """The fixed colour of each group label; a label outside the vocabularies gets one of
    seven further colours chosen from its spelling, so it too is the same in every figure.

    Examples
    --------
    >>> group_colors(["Black", "White"])
    {'Black': '#d55e00', 'White': '#0072b2'}
    """
    import zlib

    out = {}
    for label in labels:
        text = str(label)
        out[text] = GROUP_COLORS.get(
            text, _OTHER_COLORS[zlib.crc32(text.encode("utf-8")) % len(_OTHER_COLORS)]
        )
    return out


def set_theme(*, figure_format: str | None = None, **kwargs: object) -> None:
    """Apply the package's figure style (seaborn's ``whitegrid``, readable font sizes).

    This changes matplotlib's global settings, which is why no other function does it.

    Parameters
    ----------
    figure_format : str, optional
        In a notebook, the format figures are shown in: ``"svg"`` (what the report
        templates use: sharp on a phone and in print, and quicker to make than PNG for
        line charts) or ``"png"``. Outside IPython it is ignored. Figures this package
        made are laid out from the measured size of their labels and drawn once at their
        own size; any other figure is cropped to its contents as usual (which draws it
        twice).
    **kwargs
        Passed to :func:`seaborn.set_theme`.
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(**{"style": "whitegrid", "context": "notebook", **kwargs})
    if figure_format is not None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipykernel
            return
        shell = get_ipython()
        if shell is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats(figure_format)
            _register_figure_formatter(shell, figure_format)
    if figure_format == "svg":
        # Text stays text (drawn by the viewer's sans-serif font): half the size of
        # glyphs written as paths, and quicker to write.
        mpl.rcParams["svg.fonttype"] = "none"


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    fig, ax = plt.subplots(figsize=(8, 4.5))
    _own(fig)
    return ax


def _literal(text: object) -> str:
    """``text`` drawn as it is spelled: every data- or parameter-derived string in a figure
    goes through here, so a label such as ``Income $0-$25k`` or ``Grp $\\foo{$ x`` is not
    read as mathtext (a dollar escaped as ``\\$`` is drawn as a dollar). The figure-text
    context of :mod:`c2c_analysis.report.escape`.
    """
    return str(text).replace("$", r"\$")


def _own(fig) -> None:
    """Mark ``fig`` as made here: shown in a notebook, it is laid out by measurement."""
    fig._c2c_layout = True


def _register_figure_formatter(shell, figure_format: str) -> None:
    """Show figures made here at their own, measured layout (one draw instead of the two
    that cropping to the contents takes); others as the inline backend would."""
    from functools import partial

    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    mime = {"svg": "image/svg+xml", "png": "image/png"}.get(figure_format)
    if mime is None:
        return

    def show(fig, **kwargs):
        laid_out = getattr(fig, "_c2c_layout", False) and _measured_layout(fig)
        data = print_figure(fig, figure_format, bbox_inches=None if laid_out else "tight", **kwargs)
        # (data, metadata): the report's template writes the alt text from the metadata.
        return data, {"alt": describe_figure(fig)}

    formatter = shell.display_formatter.formatters[mime]
    formatter.for_type(Figure, partial(show, base64=True) if figure_format == "png" else show)


def describe_figure(fig) -> str:
    """The figure's alt text: what a plotting function or the caller set as
    ``fig._c2c_alt``, else its titles and axis labels in words.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_title("High school graduation"); _ = ax.set_ylabel("Rate")
    >>> describe_figure(fig)
    'Chart: High school graduation (y axis: Rate).'
    >>> plt.close(fig)
    """
    alt = getattr(fig, "_c2c_alt", None)
    if alt:
        return str(alt)
    parts = []
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        title = ax.get_title().replace("\\$", "$")
        ylabel = ax.get_ylabel().replace("\\$", "$")
        if title:
            parts.append(f"{title} (y axis: {ylabel})" if ylabel else title)
    text = "; ".join(parts[:12]) + ("; and more panels" if len(parts) > 12 else "")
    text = f"{suptitle}: {text}" if suptitle and text else suptitle or text
    return f"Chart: {text}." if text else "Chart."


def figure_svg(fig, *, close: bool = True) -> str:
    """``fig`` as SVG text, laid out as a notebook would show it (measured layout for the
    package's figures, cropped to its contents otherwise); closed afterwards unless
    ``close`` is false."""
    import io

    laid_out = getattr(fig, "_c2c_layout", False) and _measured_layout(fig)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches=None if laid_out else "tight")
    if close:
        plt.close(fig)
    return buffer.getvalue()


def _percent_axis(ax: Axes) -> None:
    # As many decimals as the tick needs: 72.5% (not a rounded 73%), and 70% (not 70.0%).
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{100 * value:.6g}%"))


def plot_trends(
    data: pd.DataFrame,
    *,
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
    level: float = 0.95,
    groups: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Rates over time, one line per group, each with its Wilson confidence band.

    Parameters
    ----------
    data : DataFrame
        One series per group (filter to one partnership, outcome and dimension first).
    time, group, numerator, denominator : str
        Columns.
    level : float
        Level of the bands.
    groups : sequence of str, optional
        Groups to draw, in this order (default: all, in order of appearance).
    ax : Axes, optional

    Returns
    -------
    Axes
        Lines carry the group as their label; bands are drawn with ``fill_between``.
    """
    ax = _axes(ax)
    table = rates(data, numerator=numerator, denominator=denominator, level=level)
    order = list(groups) if groups is not None else list(dict.fromkeys(table[group]))
    for label in order:
        frame = table[table[group] == label].sort_values(time)
        (line,) = ax.plot(frame[time], frame["rate"], marker="o", label=_literal(label))
        ax.fill_between(
            frame[time],
            frame["ci_lower"],
            frame["ci_upper"],
            color=line.get_color(),
            alpha=0.15,
            lw=0,
        )
    _percent_axis(ax)
    ax.set_xlabel(_literal(time.replace("_", " ").capitalize()))
    ax.set_ylabel("Rate")
    if len(order) > 1:
        ax.legend(frameon=False, fontsize="small")
    return ax


def plot_turn_the_curve(
    projection: pd.DataFrame,
    *,
    time: str = "year",
    title: str | None = None,
    annotate: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """The "turn the curve" chart of one series.

    History (the baseline), the baseline's forecast with its prediction band, the actual
    values after the baseline, and the difference at the last period, in students where the
    cohort is known.

    Parameters
    ----------
    projection : DataFrame
        :func:`~c2c_analysis.trends.project_baseline` output for one series.
    time : str
        Its period column.
    title : str, optional
    annotate : bool
        Write the last difference on the chart.
    ax : Axes, optional

    Returns
    -------
    Axes
        Lines labelled ``baseline``, ``forecast`` and ``actual``; the band is a
        ``fill_between`` collection labelled ``prediction interval``.

    Raises
    ------
    ValueError
        If ``projection`` holds more than one series.
    """
    keys = projection_keys(projection, time)
    if keys and len(projection[keys].drop_duplicates()) > 1:
        raise ValueError(
            f"plot_turn_the_curve draws one series; this projection has "
            f"{len(projection[keys].drop_duplicates())} (filter on {', '.join(keys)} first)"
        )
    ax = _axes(ax)
    frame = projection.sort_values(time)
    base = frame[frame["in_baseline"]]
    after = frame[~frame["in_baseline"] & (frame[time] > base[time].max())]
    forecast = frame[frame[time] >= base[time].max()]
    ax.plot(base[time], base["actual"], color=_BASELINE, marker="o", label="baseline")
    ax.plot(forecast[time], forecast["projected"], color=_FORECAST, ls="--", label="forecast")
    ax.fill_between(
        forecast[time],
        forecast["pi_lower"],
        forecast["pi_upper"],
        color=_FORECAST,
        alpha=0.18,
        lw=0,
        label="prediction interval",
    )
    shown = after[after["actual"].notna()]
    ax.plot(shown[time], shown["actual"], color=_ACTUAL, marker="o", lw=2, label="actual")
    if annotate and len(shown):
        last = shown.iloc[-1]
        students = last["difference_students"]
        text = f"{last['difference_pp']:+.1f} pts"
        if np.isfinite(students):
            text += f"\n{students:+,.0f} students"
        ax.annotate(
            text,
            xy=(last[time], last["actual"]),
            xytext=(8, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
            color=_ACTUAL,
        )
    _percent_axis(ax)
    ax.set_xlabel(_literal(time.replace("_", " ").capitalize()))
    ax.set_ylabel("Rate")
    if title:
        ax.set_title(_literal(title))
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax


def plot_gaps(
    gap_table: pd.DataFrame,
    *,
    time: str = "year",
    group: str = "group",
    band: bool = True,
    title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Gaps to the reference group over time, one line per group (a narrowing gap falls
    towards zero), in each group's fixed colour (:data:`GROUP_COLORS`).

    Parameters
    ----------
    gap_table : DataFrame
        :func:`~c2c_analysis.gaps.gaps` output for one partnership, outcome and dimension.
        Groups without any gap (withheld throughout) and catch-all groups ("Not reported")
        are left out.
    band : bool
        Draw each gap's confidence interval.
    title : str, optional
        Default: the outcome's label and the reference ("High school graduation: gap to
        White students").

    Returns
    -------
    Axes
        One line per group, labelled with the group; y is ``gap_pp``. The legend sits
        outside the lines, to the right.
    """
    from c2c_analysis.schema import OUTCOMES

    ax = _axes(ax)
    shown = gap_table[~gap_table[group].isin(CATCH_ALL_GROUPS)]
    has_data = shown.groupby(group, sort=False)["gap_pp"].transform(lambda v: v.notna().any())
    shown = shown[has_data.astype(bool)] if len(shown) else shown
    colors = group_colors(shown[group].unique())
    for label, frame in shown.groupby(group, sort=False):
        frame = frame.sort_values(time)
        color = colors[str(label)]
        ax.plot(frame[time], frame["gap_pp"], marker="o", color=color, label=_literal(label))
        if band:
            ax.fill_between(
                frame[time],
                frame["gap_ci_lower_pp"],
                frame["gap_ci_upper_pp"],
                color=color,
                alpha=0.12,
                lw=0,
            )
    ax.axhline(0, color="black", lw=0.8)
    reference = gap_table["reference"].iloc[0] if len(gap_table) else ""
    ax.set_ylabel(f"Gap to {_literal(reference)} (percentage points)")
    ax.set_xlabel(_literal(time.replace("_", " ").capitalize()))
    if title is None and "outcome" in gap_table and len(gap_table):
        outcome = str(gap_table["outcome"].iloc[0])
        label = OUTCOMES[outcome].label if outcome in OUTCOMES else outcome
        title = f"{label}: gap to {reference} students"
    if title:
        ax.set_title(_literal(title), fontsize="medium")
    if len(shown):
        _legend_outside(ax)
    return ax


def _legend_outside(ax: Axes) -> None:
    """The legend to the right of the axes, clear of the lines (the measured layout makes
    room for it)."""
    legend = ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    legend._c2c_outside_right = True


def plot_gap_change(
    change_table: pd.DataFrame, *, group: str = "group", ax: Axes | None = None
) -> Axes:
    """Each group's gap at the start and the end, joined by an arrow, with its category.

    Parameters
    ----------
    change_table : DataFrame
        :func:`~c2c_analysis.gaps.gap_change` output.

    Returns
    -------
    Axes
        Start gaps as the first line (``start``), end gaps as the second (``end``).
    """
    ax = _axes(ax)
    frame = change_table.reset_index(drop=True)
    positions = np.arange(len(frame))
    ax.plot(frame["gap_start_pp"], positions, "o", color=_FORECAST, label="start")
    ax.plot(frame["gap_end_pp"], positions, "o", color=_ACTUAL, label="end")
    for i, row in frame.iterrows():
        ax.annotate(
            "",
            xy=(row["gap_end_pp"], i),
            xytext=(row["gap_start_pp"], i),
            arrowprops={"arrowstyle": "->", "color": _ACTUAL, "lw": 1.2},
        )
        ax.annotate(
            _literal(str(row["category"]).replace("_", " ")),
            xy=(max(row["gap_start_pp"], row["gap_end_pp"]), i),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize="x-small",
        )
    ax.set_yticks(positions, [_literal(label) for label in frame[group]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Gap to the reference (percentage points)")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return ax


def plot_waterfall(result, *, ax: Axes | None = None) -> Axes:
    """Waterfall of a decomposition: from the first value, each effect, to the last.

    Accepts a Kitagawa (:func:`~c2c_analysis.decompose.decompose_rate_change`, first
    series), Das Gupta (first to last population) or Oaxaca-Blinder result.

    Returns
    -------
    Axes
        One bar per effect (``ax.patches``), labelled on the x axis.
    """
    ax = _axes(ax)
    summary = result.summary
    kind = result.settings.get("method", "oaxaca")
    if kind == "kitagawa":
        row = summary.dropna(subset=["total_change"]).iloc[0]
        start, steps, end = (
            row["rate_start"],
            [("composition", row["composition_effect"]), ("rates", row["rate_effect"])],
            row["rate_end"],
        )
        labels = (f"{result.settings['start']}", f"{result.settings['end']}")
    elif kind == "das_gupta":
        first, last = result.settings["populations"][0], result.settings["populations"][-1]
        rows = summary[(summary["population_from"] == first) & (summary["population_to"] == last)]
        crude = result.table.drop_duplicates("population").set_index("population")["crude_rate"]
        start, end = crude[first], crude[last]
        steps = list(zip(rows["factor"], rows["effect"], strict=True))
        labels = (str(first), str(last))
    else:
        values = summary.set_index("component")["estimate"]
        start, end = 0.0, values["gap"]
        steps = [("explained", values["explained"]), ("unexplained", values["unexplained"])]
        labels = ("0", "gap")
    names = [labels[0], *[s[0] for s in steps], labels[1]]
    ax.bar(0, start, color=_BASELINE)
    level = start
    for i, (_, effect) in enumerate(steps, start=1):
        ax.bar(i, effect, bottom=level, color=_ACTUAL if effect >= 0 else "#c0392b")
        level += effect
    ax.bar(len(steps) + 1, end, color=_BASELINE)
    ax.set_xticks(range(len(names)), [_literal(name) for name in names], rotation=20)
    ax.axhline(0, color="black", lw=0.8)
    return ax


def plot_its(result, *, ax: Axes | None = None) -> Axes:
    """Interrupted time series: observed values, the fitted segments and the counterfactual.

    Returns
    -------
    Axes
        Lines labelled ``observed``, ``fitted`` and ``counterfactual``; a vertical line at
        the start.
    """
    ax = _axes(ax)
    frame = result.counterfactual
    time = result.settings["time"]
    ax.plot(frame[time], frame["observed"], "o", color=_BASELINE, label="observed")
    ax.plot(frame[time], frame["fitted"], color=_ACTUAL, lw=2, label="fitted")
    after = frame[frame["difference"].abs() > 0]
    ax.plot(after[time], after["counterfactual"], color=_FORECAST, ls="--", label="counterfactual")
    start = result.settings["start"]
    ax.axvline(
        pd.Timestamp(start) if isinstance(start, str) else start, color="black", lw=0.8, ls=":"
    )
    if result.settings["family"] == "binomial":
        _percent_axis(ax)
    ax.set_xlabel(_literal(time.replace("_", " ").capitalize()))
    ax.legend(frameon=False, fontsize="small")
    return ax


_VERDICT_COLORS = {
    "turned_the_curve": "#1a7f37",
    "above_baseline_within_noise": "#7fb77e",
    "on_baseline": "#9e9e9e",
    "below_baseline": "#c0392b",
    "insufficient_data": "#d9d9d9",
}


def plot_scorecard(result, *, ax: Axes | None = None) -> Axes:
    """The portfolio scorecard: each strategy and group's difference from its projection
    (points), with the prediction interval around the projection as a whisker, coloured by
    verdict.

    Returns
    -------
    Axes
        One bar per row (``ax.patches``) in table order, from the top.
    """
    table = result.table.reset_index(drop=True)
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(table) + 1.2))
        _own(fig)
    positions = np.arange(len(table))[::-1]
    values = table["difference_pp"].fillna(0).to_numpy()
    colors = [_VERDICT_COLORS.get(v, "#9e9e9e") for v in table["verdict"]]
    ax.barh(positions, values, color=colors)
    low = 100 * (table["pi_lower"] - table["projected"]).to_numpy()
    high = 100 * (table["pi_upper"] - table["projected"]).to_numpy()
    ax.hlines(positions, low, high, color="black", lw=1)
    ax.set_yticks(
        positions,
        [_literal(f"{s}: {g}") for s, g in zip(table["strategy"], table["group"], strict=True)],
    )
    ax.axvline(0, color="black", lw=0.8)
    # The bar is the difference; the black line spans the projection's prediction interval
    # (said in the docstring and the report's text: a longer label would not fit).
    ax.set_xlabel("Actual minus projection (points)")
    return ax


def _signal_colors(table: pd.DataFrame, better: str | None) -> np.ndarray:
    """Each point's signal colour: improvement (blue) or concern (orange) in the outcome's
    better direction, purple where no direction is known."""
    if "nhs_class" in table:
        cls = table["nhs_class"].to_numpy()
        return np.select(
            [cls == "special_cause_improvement", cls == "special_cause_concern"],
            [_IMPROVEMENT, _CONCERN],
            _NEUTRAL,
        )
    if better not in ("higher", "lower"):
        return np.full(len(table), _NEUTRAL)
    above = (table["y"] > table["center"]).to_numpy()
    good = above if better == "higher" else ~above
    return np.where(good, _IMPROVEMENT, _CONCERN)


def _draw_spc(
    table: pd.DataFrame,
    ax: Axes,
    *,
    proportion: bool,
    small: bool = False,
    band: tuple[np.ndarray, np.ndarray] | None = None,
    better: str | None = None,
) -> None:
    if band is not None and np.isfinite(band[0]).any():
        ax.fill_between(table["x"], band[0], band[1], color=_ACTUAL, alpha=0.15, lw=0)
    for _, phase in table.groupby("part", sort=False):
        ax.plot(phase["x"], phase["center"], color=_BASELINE, lw=1, label="_centre")
        if phase["upper"].notna().any():
            ax.plot(phase["x"], phase["upper"], color=_FORECAST, lw=0.8, ls="--", label="_limit")
            ax.plot(phase["x"], phase["lower"], color=_FORECAST, lw=0.8, ls="--", label="_limit")
    if not small:
        # Where a new phase begins, and where a frozen baseline ends.
        starts = table["x"][table["part"].ne(table["part"].shift()).to_numpy()].iloc[1:]
        for i, x in enumerate(starts):
            ax.axvline(x, color=_FORECAST, lw=0.8, ls=":", label="new phase" if i == 0 else "_")
        if "baseline" in table and (~table["baseline"]).any() and table["baseline"].any():
            last = table.loc[table["baseline"].to_numpy(), "x"].max()
            ax.axvline(last, color=_BASELINE, lw=0.8, ls="-.", label="end of baseline")
    # Common-cause points in grey, so that signals stand out in their colours (NHS style).
    ax.plot(
        table["x"],
        table["y"],
        color="#6b6b6b",
        marker="o",
        ms=3 if small else 4,
        lw=1,
        label="values",
    )
    colors = _signal_colors(table, better)
    long_run = (
        (table["in_signal_run"] & table["runs_signal"]).to_numpy(dtype=bool)
        if "in_signal_run" in table
        else np.zeros(len(table), dtype=bool)
    )
    beyond = table["sigma_signal"].to_numpy(dtype=bool)
    for mask, label, size in ((long_run & ~beyond, "long run", 6), (beyond, "beyond limits", 7)):
        for color in np.unique(colors[mask]):
            chosen = mask & (colors == color)
            word = {_IMPROVEMENT: "improvement", _CONCERN: "concern"}.get(color)
            ax.plot(
                table["x"][chosen],
                table["y"][chosen],
                "o",
                color=color,
                ms=4 if small else size,
                label=f"{label} ({word})" if word else label,
            )
    if proportion:
        _percent_axis(ax)


def plot_spc(
    result,
    *,
    title: str | None = None,
    ylabel: str | None = None,
    better: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """A run or control chart: centre line and limits per phase (dashed limits), values,
    points in a signalling run and beyond the limits in the colour of improvement (blue) or
    concern (orange) in the outcome's better direction (purple without one), and dotted
    lines where a new phase begins or a frozen baseline ends.

    Parameters
    ----------
    result : SPCResult
    title : str, optional
        Name the indicator and unit ("Chronic absence, Lincoln High School"); default:
        the chart and rules.
    ylabel : str, optional
        Default: "Rate" for proportions, else the y column.
    better : {"higher", "lower"}, optional
        The outcome's better direction; default: from ``improvement`` (NHS rules).

    Returns
    -------
    Axes
        The values line is labelled ``values``; signal markers ``long run`` and
        ``beyond limits`` (followed by ``(improvement)`` or ``(concern)`` when the better
        direction is known).
    """
    ax = _axes(ax)
    settings = result.settings
    proportion = settings.get("chart") in ("p", "pp") or (
        settings.get("n") is not None and settings.get("chart") == "run"
    )
    if better is None:
        better = {"increase": "higher", "decrease": "lower"}.get(settings.get("improvement"))
    _draw_spc(result.table, ax, proportion=proportion, better=better)
    ax.set_xlabel(_literal(str(settings.get("x", "x")).replace("_", " ").capitalize()))
    if ylabel is None:
        ylabel = "Rate" if proportion else str(settings.get("y", "")).replace("_", " ").capitalize()
    ax.set_ylabel(_literal(ylabel))
    if title is None:
        title = f"{settings.get('chart')} chart ({settings.get('rules')} rules)"
    ax.set_title(_literal(title), fontsize="medium")
    _legend_outside(ax)
    return ax


def plot_spc_grid(
    table: pd.DataFrame,
    *,
    by: Sequence[str],
    proportion: bool = False,
    ncols: int = 4,
    max_series: int = 24,
    bands: bool = False,
    level: float = 0.95,
    titles: Mapping[object, str] | None = None,
    better: str | Mapping[object, str] | None = None,
):
    """Small multiples of :func:`~c2c_analysis.spc.spc_table` output, one panel per series
    (the first ``max_series``), signalling series first. A panel whose series signals says
    why in its title: "shift" (a run longer than chance allows, its points highlighted) or
    "few crossings" (fewer crossings of the centre line than chance gives).

    Parameters
    ----------
    table : DataFrame
        ``spc_table`` output (one row per point).
    by : sequence of str
        The columns that name a series (as given to ``spc_table``).
    proportion : bool
        Values are proportions: a percent axis.
    ncols, max_series : int
        Panels per row; most panels drawn.
    bands : bool
        Shade each proportion's Wilson confidence interval (needs the table's ``n``: a run
        chart of numerators over denominators, or a p chart). A run chart with bands shows
        a series' trend with its uncertainty and the run chart's median and signals at once.
    level : float
        Level of the bands.
    titles : mapping, optional
        Panel titles by series (the value of ``by``, a tuple when it has several columns),
        e.g. outcome labels; default the series' values joined by " / ".
    better : {"higher", "lower"} or mapping, optional
        The better direction (of every series, or by series as ``titles``): signals are
        drawn as improvement (blue) or concern (orange).

    Returns
    -------
    Figure
    """
    by = [by] if isinstance(by, str) else list(by)
    signal = table.groupby(by, sort=False)[["runs_signal", "sigma_signal"]].any().any(axis=1)
    order = signal.sort_values(ascending=False, kind="stable").index[:max_series]
    count = len(order)
    nrows = max(1, math.ceil(count / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), squeeze=False, sharex=True
    )
    if bands:  # Wilson intervals, as plot_trends draws them
        y, n = table["y"].to_numpy(dtype=float), table["n"].to_numpy(dtype=float)
        counts = pd.DataFrame({"numerator": np.round(y * n), "denominator": n})
        intervals = rates(counts, level=level)
        lower, upper = intervals["ci_lower"].to_numpy(), intervals["ci_upper"].to_numpy()
    as_tuple = lambda key: key if isinstance(key, tuple) else (key,)  # noqa: E731
    positions = {as_tuple(key): rows for key, rows in table.groupby(by, sort=False).indices.items()}
    for ax, key in zip(axes.flat, order, strict=False):
        where = positions[as_tuple(key)]
        band = (lower[where], upper[where]) if bands else None
        rows = table.iloc[where]
        direction = better.get(key) if isinstance(better, Mapping) else better
        _draw_spc(rows, ax, proportion=proportion, small=True, band=band, better=direction)
        title = (titles or {}).get(key) or " / ".join(map(str, as_tuple(key)))
        if rows["runs_signal"].any():
            shift = "in_signal_run" in rows and rows["in_signal_run"].any()
            title += " (shift)" if shift else " (few crossings)"
        # y=1: no top ticks to avoid, so matplotlib need not measure the axes at every draw
        # to place the title (a third of this grid's drawing time).
        ax.set_title(_literal(title), fontsize="small", y=1.0)
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    # Small panels read better with few ticks, and every tick label costs time at each
    # draw (four instead of six or seven: a sixth of the grid's drawing time).
    for ax in list(axes.flat)[:count]:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    if count and pd.api.types.is_numeric_dtype(table["x"]):
        axes.flat[0].xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # shared
    for ax in list(axes.flat)[max(0, count - ncols) : count]:
        # The lowest visible panel of each column shows its x tick labels.
        ax.xaxis.set_tick_params(labelbottom=True)
    _own(fig)
    if not _measured_layout(fig):
        fig.tight_layout()
    return fig


def _measured_layout(fig) -> bool:
    """Lay out a grid of axes from the measured size of its text; ``False`` if it cannot.

    ``tight_layout`` and cropping to the contents each draw the whole figure to find where
    its text ends (about 0.2 s for an eight-panel grid, and the same again when it is
    shown). Figures made here carry only tick labels, axis labels, one-line titles and
    legends inside their axes, whose sizes are known once the limits are: they are
    measured directly and the margins set from them. A figure with anything else
    (figure-level text or legends, axes outside one grid, text on the axes, legends
    anchored outside their axes, labels longer than their panel) is left as it is.

    Returns
    -------
    bool
        Whether the figure was laid out (and then fits its canvas).
    """
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties

    visible = [ax for ax in fig.axes if ax.get_visible()]
    if not visible or fig.texts or fig.legends or fig.images or fig.subfigs:
        return False
    specs = [ax.get_subplotspec() for ax in fig.axes]
    if any(spec is None for spec in specs) or len({id(sp.get_gridspec()) for sp in specs}) != 1:
        return False
    nrows, ncols = specs[0].get_gridspec().get_geometry()
    renderer = fig.canvas.get_renderer()
    right = 0.15
    for ax in visible:
        legend = ax.get_legend()
        if legend is None or legend.get_bbox_to_anchor() is ax.bbox:
            outside = False  # a legend inside its axes (or none)
        elif getattr(legend, "_c2c_outside_right", False) and len(visible) == 1:
            outside = True  # placed by _legend_outside: its width is the right margin
        else:
            return False
        if ax.texts:
            return False
        if outside:
            right = legend.get_window_extent(renderer).width / fig.dpi + 0.2

    def size(text: str, props) -> tuple[float, float]:
        if not text:
            return 0.0, 0.0
        width, height, _ = renderer.get_text_width_height_descent(text, props, ismath=False)
        return width / fig.dpi, height / fig.dpi  # inches

    rc = mpl.rcParams
    x_props = FontProperties(size=rc["xtick.labelsize"])
    y_props = FontProperties(size=rc["ytick.labelsize"])
    y_ticks = x_ticks = y_label = x_label = title = 0.0
    longest_y_label = longest_x_label = longest_title = 0.0
    for ax in visible:
        low, high = sorted(ax.get_ylim())
        locs = [v for v in ax.yaxis.get_majorticklocs() if low <= v <= high]
        for text in ax.yaxis.get_major_formatter().format_ticks(locs):
            y_ticks = max(y_ticks, size(text, y_props)[0])
        if ax.xaxis.get_tick_params()["labelbottom"]:
            low, high = sorted(ax.get_xlim())
            locs = [v for v in ax.xaxis.get_majorticklocs() if low <= v <= high]
            labels = ax.xaxis.get_major_formatter().format_ticks(locs)
            for text in labels:
                x_ticks = max(x_ticks, size(text, x_props)[1])
            if labels:  # the last label is centred on its tick and may reach past the axes
                right = max(right, size(labels[-1], x_props)[0] / 2 + 0.05)
        label = ax.yaxis.label
        length, height = size(label.get_text(), label.get_fontproperties())
        y_label, longest_y_label = max(y_label, height), max(longest_y_label, length)
        label = ax.xaxis.label
        length, height = size(label.get_text(), label.get_fontproperties())
        x_label, longest_x_label = max(x_label, height), max(longest_x_label, length)
        length, height = size(ax.title.get_text(), ax.title.get_fontproperties())
        title, longest_title = max(title, height), max(longest_title, length)
    pad = rc["axes.labelpad"] / 72
    y_tick = (max(rc["ytick.major.size"], 0) + rc["ytick.major.pad"]) / 72
    x_tick = (max(rc["xtick.major.size"], 0) + rc["xtick.major.pad"]) / 72
    margin = 0.08
    left = y_ticks + y_tick + (y_label + pad if y_label else 0) + margin
    bottom = (x_ticks + x_tick if x_ticks else 0) + (x_label + pad if x_label else 0) + margin
    top = (title + rc["axes.titlepad"] / 72 if title else 0) + margin
    width, height = fig.get_size_inches()
    gap_w, gap_h = left + 0.05, top + bottom
    panel_w = (width - left - right - (ncols - 1) * gap_w) / ncols
    panel_h = (height - top - bottom - (nrows - 1) * gap_h) / nrows
    if panel_w <= 0 or panel_h <= 0:
        return False
    # Centred labels and titles may reach past their panel by half the smaller margin
    # or gap beside it.
    spare = 2 * min(left, right, gap_w / 2 if ncols > 1 else math.inf)
    spare_h = 2 * min(top, bottom, gap_h / 2 if nrows > 1 else math.inf)
    if longest_y_label > panel_h + spare_h or max(longest_x_label, longest_title) > panel_w + spare:
        return False
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=gap_w / panel_w,
        hspace=gap_h / panel_h,
    )
    return True


def plot_funnel(result, *, ax: Axes | None = None) -> Axes:
    """A funnel plot: each unit's rate against its size, the centre line and the control
    limits drawn as curves over a smooth grid of sizes; units beyond the inner limits in
    orange, beyond the outer limits in red and labelled with their unit.

    Parameters
    ----------
    result : FunnelResult
        From :func:`c2c_analysis.funnel.funnel_chart`.
    ax : Axes, optional

    Returns
    -------
    Axes
        The units are the collection labelled ``units`` (with ``beyond <level> limits``
        collections for flagged units); the centre line is labelled ``centre`` and each
        level's two curves ``<level> limits`` (the lower one ``_nolegend_``). Text from the
        data (unit names, column names) is drawn literally (``parse_math=False``).
    """
    from c2c_analysis.funnel import _level_suffix

    ax = _axes(ax)
    table = result.table
    levels = sorted(result.settings["levels"])
    size = table["denominator"].to_numpy(dtype=float)
    rate = table["rate"].to_numpy(dtype=float)
    low, high = max(1.0, 0.8 * size.min()), 1.05 * size.max()
    grid = np.unique(np.round(np.geomspace(low, high, 300)))
    curves = result.limits(grid)
    styles = ("--", ":", "-.")
    for i, level in enumerate(levels):
        suffix = _level_suffix(level)
        label = f"{100 * level:.10g}% limits"
        style = styles[i % len(styles)]
        ax.plot(grid, curves[f"upper_{suffix}"], color=_FORECAST, lw=0.9, ls=style, label=label)
        ax.plot(
            grid, curves[f"lower_{suffix}"], color=_FORECAST, lw=0.9, ls=style, label="_nolegend_"
        )
    summary = result.summary.iloc[0]
    centre = float(summary["centre"])
    source = "target" if summary["centre_source"] == "target" else "pooled rate"
    ax.plot([grid[0], grid[-1]], [centre, centre], color=_BASELINE, lw=1, label="centre")
    inner, outer = f"flag_{_level_suffix(levels[0])}", f"flag_{_level_suffix(levels[-1])}"
    beyond_outer = (table[outer] != "within").to_numpy()
    beyond_inner = (table[inner] != "within").to_numpy() & ~beyond_outer
    within = ~beyond_outer & ~beyond_inner
    ax.scatter(size[within], rate[within], s=22, color=_ACTUAL, label="units", zorder=3)
    if beyond_inner.any() and len(levels) > 1:
        ax.scatter(
            size[beyond_inner],
            rate[beyond_inner],
            s=30,
            color="#e67e22",
            label=f"beyond {100 * levels[0]:.10g}% limits",
            zorder=3,
        )
    if beyond_outer.any():
        ax.scatter(
            size[beyond_outer],
            rate[beyond_outer],
            s=36,
            color="#c0392b",
            label=f"beyond {100 * levels[-1]:.10g}% limits",
            zorder=3,
        )
        # The most extreme ten are named; more labels would cover one another.
        extreme = np.flatnonzero(beyond_outer)
        extreme = extreme[np.argsort(-np.abs(table["z_adjusted"].to_numpy()[extreme]))[:10]]
        for name, x, y in zip(
            table["unit"].iloc[extreme], size[extreme], rate[extreme], strict=True
        ):
            right_half = x > grid[-1] / 2  # labels there extend leftwards, inside the axes
            ax.annotate(
                str(name),
                (x, y),
                xytext=(-4 if right_half else 4, 4),
                textcoords="offset points",
                ha="right" if right_half else "left",
                fontsize="small",
                parse_math=False,
            )
    # The y range follows the units and the widest limits at the median size, not the
    # curves' far ends at the smallest sizes (which reach 0% and 100%).
    middle = result.limits(np.round(np.median(size))).iloc[0]
    widest = _level_suffix(levels[-1])
    bounds = np.concatenate([rate, [middle[f"lower_{widest}"], middle[f"upper_{widest}"]]])
    low, high = bounds.min(), bounds.max()
    pad = 0.05 * (high - low) or 0.01
    ax.set_ylim(max(low - pad, -0.01), min(high + pad, 1.01))
    ax.set_xlim(0, grid[-1])
    _percent_axis(ax)
    ax.set_xlabel(f"Size ({result.settings['denominator']})", parse_math=False)
    ax.set_ylabel("Rate", parse_math=False)
    adjusted = "" if summary["adjustment"] == "none" else f", {summary['adjustment']} adjustment"
    ax.set_title(
        f"Funnel plot around the {source} {100 * centre:.1f}% ({summary['method']} limits"
        f"{adjusted})",
        fontsize="medium",
        parse_math=False,
    )
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax
