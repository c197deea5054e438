"""Gaps between groups: each group's gap to the reference over time, and the change of
each gap from the start to the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from c2c_analysis.plotting._axes import (
    ACTUAL,
    FORECAST,
    legend_outside,
    literal,
    new_axes,
    time_label,
)
from c2c_analysis.plotting.theme import CATCH_ALL_GROUPS, group_colors

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_gap_change", "plot_gaps"]


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
        :func:`~c2c_analysis.gaps` output for one partnership, outcome and dimension.
        Groups without any gap (withheld throughout) and catch-all groups ("Not reported")
        are left out.
    time, group : str
        Columns.
    band : bool
        Draw each gap's confidence interval.
    title : str, optional
        Default: the outcome's label and the reference ("High school graduation: gap to
        White students").
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        One line per group, labelled with the group; y is ``gap_pp``. The legend sits
        outside the lines, to the right.

    Examples
    --------
    >>> import c2c_analysis as c2c
    >>> data = c2c.load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' "
    ...     "and group in ['White', 'Black']")
    >>> ax = plot_gaps(c2c.gaps(data, reference="White"))
    >>> ax.get_title()
    'High school graduation: gap to White students'
    """
    from c2c_analysis.schema import OUTCOMES

    ax = new_axes(ax)
    shown = gap_table[~gap_table[group].isin(CATCH_ALL_GROUPS)]
    has_data = shown.groupby(group, sort=False)["gap_pp"].transform(lambda v: v.notna().any())
    shown = shown[has_data.astype(bool)] if len(shown) else shown
    colors = group_colors(shown[group].unique())
    for label, frame in shown.groupby(group, sort=False):
        frame = frame.sort_values(time)
        color = colors[str(label)]
        ax.plot(frame[time], frame["gap_pp"], marker="o", color=color, label=literal(label))
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
    ax.set_ylabel(f"Gap to {literal(reference)} (percentage points)")
    ax.set_xlabel(time_label(time))
    if title is None and "outcome" in gap_table and len(gap_table):
        outcome = str(gap_table["outcome"].iloc[0])
        label = OUTCOMES[outcome].label if outcome in OUTCOMES else outcome
        title = f"{label}: gap to {reference} students"
    if title:
        ax.set_title(literal(title), fontsize="medium", wrap=True)  # two lines if need be
    if len(shown):
        legend_outside(ax)
    return ax


def plot_gap_change(
    change_table: pd.DataFrame, *, group: str = "group", ax: Axes | None = None
) -> Axes:
    """Each group's gap at the start and the end, joined by an arrow, with its category.

    Parameters
    ----------
    change_table : DataFrame
        :func:`~c2c_analysis.gap_change` output.
    group : str
        Its group column.
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        Start gaps as the first line (``start``), end gaps as the second (``end``).

    Examples
    --------
    >>> import pandas as pd
    >>> change = pd.DataFrame({"group": ["A"], "gap_start_pp": [10.0], "gap_end_pp": [4.0],
    ...                        "category": ["narrowing_both_improving"]})
    >>> [line.get_label() for line in plot_gap_change(change).lines[:2]]
    ['start', 'end']
    """
    ax = new_axes(ax)
    frame = change_table.reset_index(drop=True)
    positions = np.arange(len(frame))
    ax.plot(frame["gap_start_pp"], positions, "o", color=FORECAST, label="start")
    ax.plot(frame["gap_end_pp"], positions, "o", color=ACTUAL, label="end")
    for i, row in frame.iterrows():
        ax.annotate(
            "",
            xy=(row["gap_end_pp"], i),
            xytext=(row["gap_start_pp"], i),
            arrowprops={"arrowstyle": "->", "color": ACTUAL, "lw": 1.2},
        )
        ax.annotate(
            literal(str(row["category"]).replace("_", " ")),
            xy=(max(row["gap_start_pp"], row["gap_end_pp"]), i),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize="x-small",
        )
    ax.set_yticks(positions, [literal(label) for label in frame[group]])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Gap to the reference (percentage points)")
    ax.legend(frameon=False, fontsize="small", loc="lower right")
    return ax
