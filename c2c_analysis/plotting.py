"""Every drawing of c2c_analysis. Functions take ``ax=`` and return the Axes; they never call
``plt.show()`` and never change global settings (call :func:`set_theme` for our look).

Import it explicitly (``from c2c_analysis import plotting``): ``import c2c_analysis`` does not
load matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from c2c_analysis.trends import rates

__all__ = ["plot_trends", "plot_turn_the_curve", "set_theme"]

_BASELINE = "#4d4d4d"
_FORECAST = "#7a7a7a"
_ACTUAL = "#1b6ca8"


def set_theme(**kwargs: object) -> None:
    """Apply the package's figure style (seaborn's ``whitegrid``, readable font sizes).

    This changes matplotlib's global settings, which is why no other function does it.
    """
    import seaborn as sns

    sns.set_theme(**{"style": "whitegrid", "context": "notebook", **kwargs})


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=(8, 4.5))
    return ax


def _percent_axis(ax: Axes) -> None:
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


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
        (line,) = ax.plot(frame[time], frame["rate"], marker="o", label=str(label))
        ax.fill_between(
            frame[time],
            frame["ci_lower"],
            frame["ci_upper"],
            color=line.get_color(),
            alpha=0.15,
            lw=0,
        )
    _percent_axis(ax)
    ax.set_xlabel(time.replace("_", " ").capitalize())
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
    result_columns = {
        "actual",
        "projected",
        "pi_lower",
        "pi_upper",
        "in_baseline",
        "difference_pp",
        "difference_students",
        "beyond_interval",
        "better",
        time,
    }
    keys = [c for c in projection.columns if c not in result_columns]
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
    ax.set_xlabel(time.replace("_", " ").capitalize())
    ax.set_ylabel("Rate")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize="small", loc="best")
    return ax
