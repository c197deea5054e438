"""Statistical process control: run and control charts, small multiples of many series,
and funnel plots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from c2c_analysis.plotting._axes import (
    ACTUAL,
    BASELINE,
    CONCERN,
    FORECAST,
    IMPROVEMENT,
    NEUTRAL,
    legend_outside,
    literal,
    new_axes,
    own,
    percent_axis,
    time_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_funnel", "plot_spc", "plot_spc_grid"]


def _signal_colors(table: pd.DataFrame, better: str | None) -> np.ndarray:
    """Each point's signal colour: improvement (blue) or concern (orange) in the outcome's
    better direction, purple where no direction is known."""
    if "nhs_class" in table:
        cls = table["nhs_class"].to_numpy()
        return np.select(
            [cls == "special_cause_improvement", cls == "special_cause_concern"],
            [IMPROVEMENT, CONCERN],
            NEUTRAL,
        )
    if better not in ("higher", "lower"):
        return np.full(len(table), NEUTRAL)
    above = (table["y"] > table["center"]).to_numpy()
    good = above if better == "higher" else ~above
    return np.where(good, IMPROVEMENT, CONCERN)


def _draw_limits(table: pd.DataFrame, ax: Axes, *, small: bool) -> None:
    """Centre line and limits of each phase; on a full-size chart also where a new phase
    begins and where a frozen baseline ends."""
    for _, phase in table.groupby("part", sort=False):
        ax.plot(phase["x"], phase["center"], color=BASELINE, lw=1, label="_centre")
        if phase["upper"].notna().any():
            ax.plot(phase["x"], phase["upper"], color=FORECAST, lw=0.8, ls="--", label="_limit")
            ax.plot(phase["x"], phase["lower"], color=FORECAST, lw=0.8, ls="--", label="_limit")
    if small:
        return
    starts = table["x"][table["part"].ne(table["part"].shift()).to_numpy()].iloc[1:]
    for i, x in enumerate(starts):
        ax.axvline(x, color=FORECAST, lw=0.8, ls=":", label="new phase" if i == 0 else "_")
    if "baseline" in table and (~table["baseline"]).any() and table["baseline"].any():
        last = table.loc[table["baseline"].to_numpy(), "x"].max()
        ax.axvline(last, color=BASELINE, lw=0.8, ls="-.", label="end of baseline")


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
        ax.fill_between(table["x"], band[0], band[1], color=ACTUAL, alpha=0.15, lw=0)
    _draw_limits(table, ax, small=small)
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
            word = {IMPROVEMENT: "improvement", CONCERN: "concern"}.get(color)
            ax.plot(
                table["x"][chosen],
                table["y"][chosen],
                "o",
                color=color,
                ms=4 if small else size,
                label=f"{label} ({word})" if word else label,
            )
    if proportion:
        percent_axis(ax)


def _is_proportion(settings: Mapping[str, Any]) -> bool:
    """Whether a chart's values are proportions (drawn on a percent axis)."""
    return settings.get("chart") in ("p", "pp") or (
        settings.get("n") is not None and settings.get("chart") == "run"
    )


def plot_spc(
    result: Any,
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
        From :func:`~c2c_analysis.spc.control_chart` or
        :func:`~c2c_analysis.spc.run_chart` (one series).
    title : str, optional
        Name the indicator and unit ("Chronic absence, Lincoln High School"); default:
        the chart and rules.
    ylabel : str, optional
        Default: "Rate" for proportions, else the y column.
    better : {"higher", "lower"}, optional
        The outcome's better direction; default: the result's (its ``better`` setting).
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        The values line is labelled ``values``; signal markers ``long run`` and
        ``beyond limits`` (followed by ``(improvement)`` or ``(concern)`` when the better
        direction is known). The legend sits outside the lines, to the right.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.spc import control_chart
    >>> data = pd.DataFrame({"x": range(1, 13),
    ...                      "y": [10.0, 11, 10, 12, 11, 10, 40, 11, 10, 12, 11, 10]})
    >>> ax = plot_spc(control_chart(data, y="y", x="x", chart="i"))
    >>> [line.get_label() for line in ax.lines][-2:]
    ['values', 'beyond limits']
    """
    ax = new_axes(ax)
    settings = result.settings
    proportion = _is_proportion(settings)
    if better is None:
        better = settings.get("better")
    _draw_spc(result.table, ax, proportion=proportion, better=better)
    ax.set_xlabel(time_label(str(settings.get("x", "x"))))
    if ylabel is None:
        ylabel = "Rate" if proportion else str(settings.get("y", "")).replace("_", " ").capitalize()
    ax.set_ylabel(literal(ylabel))
    if title is None:
        title = f"{settings.get('chart')} chart ({settings.get('rules')} rules)"
    ax.set_title(literal(title), fontsize="medium", wrap=True)  # two lines if need be
    legend_outside(ax)
    return ax


def _grid_axes(ax: Any, count: int, ncols: int) -> np.ndarray:
    """The panels as a 2-D array: ``ax`` (one Axes, a sequence taken as one row, or a 2-D
    array), or a new figure's laid out by constrained layout with a shared x axis."""
    if ax is None:
        import matplotlib.pyplot as plt

        nrows = max(1, math.ceil(count / ncols))
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), squeeze=False, sharex=True
        )
        # A little more room between panels than constrained layout's default, as wide as
        # the gap the tick labels had beside the panel to their left before.
        own(fig, wspace=0.06)
        return axes
    if hasattr(ax, "plot"):  # one Axes
        axes = np.empty((1, 1), dtype=object)
        axes[0, 0] = ax
    else:
        axes = np.asarray(ax, dtype=object)
        axes = axes.reshape(1, -1) if axes.ndim < 2 else axes
    if axes.size < count:
        raise ValueError(
            f"plot_spc_grid draws {count} panels but was given {axes.size} Axes "
            "(pass more, or a smaller max_series)"
        )
    return axes


def _grid_order(table: pd.DataFrame, by: list[str], max_series: int) -> pd.Index:
    """The series drawn: signalling series first, at most ``max_series``."""
    signal = table.groupby(by, sort=False)[["runs_signal", "sigma_signal"]].any().any(axis=1)
    return signal.sort_values(ascending=False, kind="stable").index[:max_series]


def _wilson_bands(table: pd.DataFrame, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Each point's Wilson interval, as :func:`plot_trends` draws them."""
    from c2c_analysis.trends import rates

    y, n = table["y"].to_numpy(dtype=float), table["n"].to_numpy(dtype=float)
    counts = pd.DataFrame({"numerator": np.round(y * n), "denominator": n})
    intervals = rates(counts, level=level)
    return intervals["ci_lower"].to_numpy(), intervals["ci_upper"].to_numpy()


def _grid_ticks(axes: np.ndarray, count: int, numeric_x: bool) -> None:
    """Few ticks on small panels, x tick labels on the lowest visible panel of each column,
    and the panels left over hidden."""
    from matplotlib.ticker import MaxNLocator

    ncols = axes.shape[1]
    panels = list(axes.flat)
    for ax in panels[count:]:
        ax.set_visible(False)
    # Small panels read better with few ticks, and every tick label costs time at each
    # draw (four instead of six or seven).
    for ax in panels[:count]:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
        if numeric_x:  # one locator (shared) on a new figure
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    for ax in panels[max(0, count - ncols) : count]:
        # The lowest visible panel of each column shows its x tick labels.
        ax.xaxis.set_tick_params(labelbottom=True)


def plot_spc_grid(
    table: pd.DataFrame | Any,
    *,
    by: str | Sequence[str] | None = None,
    proportion: bool = False,
    ncols: int = 4,
    max_series: int = 24,
    bands: bool = False,
    level: float = 0.95,
    titles: Mapping[object, str] | None = None,
    better: str | Mapping[object, str] | None = None,
    ax: Any = None,
) -> np.ndarray:
    """Small multiples of :func:`~c2c_analysis.spc.spc_table` output, one panel per series
    (the first ``max_series``), signalling series first. A panel whose series signals says
    why in its title: "shift" (a run longer than chance allows, its points highlighted) or
    "few crossings" (fewer crossings of the centre line than chance gives).

    Parameters
    ----------
    table : DataFrame or SPCResult
        ``spc_table`` output (its result, or the result's ``table``: one row per point).
    by : str or sequence of str, optional
        The columns that name a series (as given to ``spc_table``); default: the result's
        ``by`` setting (required with a DataFrame).
    proportion : bool
        Values are proportions: a percent axis.
    ncols, max_series : int
        Panels per row of a new figure; most panels drawn.
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
    ax : Axes or array of Axes, optional
        The panels to draw into, in reading order (one Axes, a sequence taken as one row,
        or a 2-D array such as ``plt.subplots`` returns; at least as many as series drawn,
        the rest are hidden). None: a new figure of ``ncols`` panels a row, laid out by
        constrained layout.

    Returns
    -------
    numpy.ndarray of Axes
        The panels, two-dimensional (rows, columns); ``axes.flat[0].figure`` is the
        figure. Panels without a series are hidden.

    Raises
    ------
    ValueError
        ``ax`` holds fewer Axes than series to draw.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.spc import spc_table
    >>> data = pd.DataFrame({"unit": ["A"] * 8 + ["B"] * 8, "week": list(range(8)) * 2,
    ...                      "y": [5, 6, 4, 7, 5, 6, 5, 4, 9, 8, 9, 7, 8, 9, 8, 9]})
    >>> axes = plot_spc_grid(spc_table(data, by=["unit"], y="y", x="week"), ncols=2)
    >>> axes.shape, sorted(ax.get_title() for ax in axes.flat)
    ((1, 2), ['A', 'B'])
    >>> fig = axes.flat[0].figure
    """
    if not isinstance(table, pd.DataFrame):  # an spc_table result: its settings say how
        settings = table.settings
        by = settings.get("by") if by is None else by
        better = settings.get("better") if better is None else better
        proportion = proportion or _is_proportion(settings)
        table = table.table
    if by is None:
        raise TypeError("plot_spc_grid needs by= (the columns naming a series) for a DataFrame")
    by = [by] if isinstance(by, str) else list(by)
    order = _grid_order(table, by, max_series)
    count = len(order)
    axes = _grid_axes(ax, count, ncols)
    lower, upper = _wilson_bands(table, level) if bands else (None, None)
    as_tuple = lambda key: key if isinstance(key, tuple) else (key,)  # noqa: E731
    positions = {as_tuple(key): rows for key, rows in table.groupby(by, sort=False).indices.items()}
    for panel, key in zip(axes.flat, order, strict=False):
        where = positions[as_tuple(key)]
        band = (lower[where], upper[where]) if lower is not None and upper is not None else None
        rows = table.iloc[where]
        direction = better.get(key) if isinstance(better, Mapping) else better
        _draw_spc(rows, panel, proportion=proportion, small=True, band=band, better=direction)
        title = (titles or {}).get(key) or " / ".join(map(str, as_tuple(key)))
        if rows["runs_signal"].any():
            shift = "in_signal_run" in rows and rows["in_signal_run"].any()
            title += " (shift)" if shift else " (few crossings)"
        panel.set_title(literal(title), fontsize="small", y=1.0)
    _grid_ticks(axes, count, bool(count) and pd.api.types.is_numeric_dtype(table["x"]))
    return axes


def _draw_funnel_limits(
    ax: Axes, result: Any, grid: np.ndarray, levels: list[float], centre: float
) -> None:
    """Each level's two limit curves over ``grid`` and the centre line."""
    from c2c_analysis.spc.funnel import level_suffix

    curves = result.limits(grid)
    styles = ("--", ":", "-.")
    for i, level in enumerate(levels):
        suffix = level_suffix(level)
        label = f"{100 * level:.10g}% limits"
        style = styles[i % len(styles)]
        ax.plot(grid, curves[f"upper_{suffix}"], color=FORECAST, lw=0.9, ls=style, label=label)
        ax.plot(
            grid, curves[f"lower_{suffix}"], color=FORECAST, lw=0.9, ls=style, label="_nolegend_"
        )
    ax.plot([grid[0], grid[-1]], [centre, centre], color=BASELINE, lw=1, label="centre")


def _draw_funnel_units(ax: Axes, table: pd.DataFrame, levels: list[float], right: float) -> None:
    """The units: within the limits in blue, beyond the inner ones in orange, beyond the
    outer ones in red and named (the ten most extreme)."""
    from c2c_analysis.spc.funnel import level_suffix

    size = table["denominator"].to_numpy(dtype=float)
    rate = table["rate"].to_numpy(dtype=float)
    inner, outer = f"flag_{level_suffix(levels[0])}", f"flag_{level_suffix(levels[-1])}"
    beyond_outer = (table[outer] != "within").to_numpy()
    beyond_inner = (table[inner] != "within").to_numpy() & ~beyond_outer
    within = ~beyond_outer & ~beyond_inner
    ax.scatter(size[within], rate[within], s=22, color=ACTUAL, label="units", zorder=3)
    if beyond_inner.any() and len(levels) > 1:
        ax.scatter(
            size[beyond_inner],
            rate[beyond_inner],
            s=30,
            color="#e67e22",
            label=f"beyond {100 * levels[0]:.10g}% limits",
            zorder=3,
        )
    if not beyond_outer.any():
        return
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
    for name, x, y in zip(table["unit"].iloc[extreme], size[extreme], rate[extreme], strict=True):
        right_half = x > right / 2  # labels there extend leftwards, inside the axes
        ax.annotate(
            str(name),
            (x, y),
            xytext=(-4 if right_half else 4, 4),
            textcoords="offset points",
            ha="right" if right_half else "left",
            fontsize="small",
            parse_math=False,
        )


def plot_funnel(result: Any, *, ax: Axes | None = None) -> Axes:
    """A funnel plot: each unit's rate against its size, the centre line and the control
    limits drawn as curves over a smooth grid of sizes; units beyond the inner limits in
    orange, beyond the outer limits in red and labelled with their unit.

    Parameters
    ----------
    result : FunnelResult
        From :func:`c2c_analysis.spc.funnel_chart`.
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        The units are the collection labelled ``units`` (with ``beyond <level> limits``
        collections for flagged units); the centre line is labelled ``centre`` and each
        level's two curves ``<level> limits`` (the lower one ``_nolegend_``). Text from the
        data (unit names, column names) is drawn literally (``parse_math=False``).

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.spc import funnel_chart
    >>> data = pd.DataFrame({"unit": list("ABCDEF"), "numerator": [40, 52, 30, 75, 20, 61],
    ...                      "denominator": [100, 120, 80, 150, 60, 130]})
    >>> ax = plot_funnel(funnel_chart(data, unit="unit"))
    >>> "centre" in [line.get_label() for line in ax.lines]
    True
    """
    from c2c_analysis.spc.funnel import level_suffix

    ax = new_axes(ax)
    table = result.table
    levels = sorted(result.settings["levels"])
    size = table["denominator"].to_numpy(dtype=float)
    rate = table["rate"].to_numpy(dtype=float)
    low, high = max(1.0, 0.8 * size.min()), 1.05 * size.max()
    grid = np.unique(np.round(np.geomspace(low, high, 300)))
    summary = result.summary.iloc[0]
    centre = float(summary["centre"])
    source = "target" if summary["centre_source"] == "target" else "pooled rate"
    _draw_funnel_limits(ax, result, grid, levels, centre)
    _draw_funnel_units(ax, table, levels, grid[-1])
    # The y range follows the units and the widest limits at the median size, not the
    # curves' far ends at the smallest sizes (which reach 0% and 100%).
    middle = result.limits(np.round(np.median(size))).iloc[0]
    widest = level_suffix(levels[-1])
    bounds = np.concatenate([rate, [middle[f"lower_{widest}"], middle[f"upper_{widest}"]]])
    low, high = bounds.min(), bounds.max()
    pad = 0.05 * (high - low) or 0.01
    ax.set_ylim(max(low - pad, -0.01), min(high + pad, 1.01))
    ax.set_xlim(0, grid[-1])
    percent_axis(ax)
    ax.set_xlabel(f"Size ({result.settings['denominator']})", parse_math=False)
    ax.set_ylabel("Rate", parse_math=False)
    adjusted = "" if summary["adjustment"] == "none" else f", {summary['adjustment']} adjustment"
    ax.set_title(
        f"Funnel plot around the {source} {100 * centre:.1f}% ({summary['method']} limits"
        f"{adjusted})",
        fontsize="medium",
        parse_math=False,
        wrap=True,  # a long title on a narrow figure takes two lines, not the figure's edge
    )
    legend_outside(ax)
    return ax
