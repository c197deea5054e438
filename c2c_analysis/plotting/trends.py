"""Rates over time: one line per group with its confidence band, and the "turn the
curve" chart of a series against its baseline's projection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from c2c_analysis.plotting._axes import (
    ACTUAL,
    BASELINE,
    FORECAST,
    literal,
    new_axes,
    percent_axis,
    time_label,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_trends", "plot_turn_the_curve"]


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
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        Lines carry the group as their label; bands are drawn with ``fill_between``.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"year": [2020, 2021] * 2, "group": ["A", "A", "B", "B"],
    ...                      "numerator": [40, 45, 60, 62], "denominator": 100})
    >>> ax = plot_trends(data)
    >>> [line.get_label() for line in ax.lines]
    ['A', 'B']
    """
    from c2c_analysis.trends import rates

    ax = new_axes(ax)
    table = rates(data, numerator=numerator, denominator=denominator, level=level)
    order = list(groups) if groups is not None else list(dict.fromkeys(table[group]))
    for label in order:
        frame = table[table[group] == label].sort_values(time)
        (line,) = ax.plot(frame[time], frame["rate"], marker="o", label=literal(label))
        ax.fill_between(
            frame[time],
            frame["ci_lower"],
            frame["ci_upper"],
            color=line.get_color(),
            alpha=0.15,
            lw=0,
        )
    percent_axis(ax)
    ax.set_xlabel(time_label(time))
    ax.set_ylabel("Rate")
    if len(order) > 1:
        ax.legend(frameon=False, fontsize="small")
    return ax


def _annotate_difference(ax: Axes, last: pd.Series, time: str) -> None:
    """The last period's difference from the projection, in points and in students where
    the cohort is known, written beside its point."""
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
        color=ACTUAL,
    )


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
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        Lines labelled ``baseline``, ``forecast`` and ``actual``; the band is a
        ``fill_between`` collection labelled ``prediction interval``.

    Raises
    ------
    ValueError
        If ``projection`` holds more than one series.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.trends import project_baseline
    >>> data = pd.DataFrame({"year": range(2010, 2016), "numerator": [50, 52, 54, 56, 63, 66],
    ...                      "denominator": 100})
    >>> ax = plot_turn_the_curve(project_baseline(data, baseline=(2010, 2013)))
    >>> [line.get_label() for line in ax.lines]
    ['baseline', 'forecast', 'actual']
    """
    from c2c_analysis.trends import projection_keys

    keys = projection_keys(projection, time)
    if keys and len(projection[keys].drop_duplicates()) > 1:
        raise ValueError(
            f"plot_turn_the_curve draws one series; this projection has "
            f"{len(projection[keys].drop_duplicates())} (filter on {', '.join(keys)} first)"
        )
    ax = new_axes(ax)
    frame = projection.sort_values(time)
    base = frame[frame["in_baseline"]]
    after = frame[~frame["in_baseline"] & (frame[time] > base[time].max())]
    forecast = frame[frame[time] >= base[time].max()]
    ax.plot(base[time], base["actual"], color=BASELINE, marker="o", label="baseline")
    ax.plot(forecast[time], forecast["projected"], color=FORECAST, ls="--", label="forecast")
    ax.fill_between(
        forecast[time],
        forecast["pi_lower"],
        forecast["pi_upper"],
        color=FORECAST,
        alpha=0.18,
        lw=0,
        label="prediction interval",
    )
    shown = after[after["actual"].notna()]
    ax.plot(shown[time], shown["actual"], color=ACTUAL, marker="o", lw=2, label="actual")
    if annotate and len(shown):
        _annotate_difference(ax, shown.iloc[-1], time)
    percent_axis(ax)
    ax.set_xlabel(time_label(time))
    ax.set_ylabel("Rate")
    if title:
        ax.set_title(literal(title))
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax
