"""Decompositions drawn as a waterfall, from the first value through each effect to the
last."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from c2c_analysis.plotting._axes import ACTUAL, BASELINE, literal, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["plot_waterfall"]


def _steps(result: Any) -> tuple[float, list[tuple[str, float]], float, tuple[str, str]]:
    """The start value, each effect, the end value and the end bars' names."""
    summary = result.summary
    kind = result.settings.get("method", "oaxaca")
    if kind == "kitagawa":
        row = summary.dropna(subset=["total_change"]).iloc[0]
        steps = [("composition", row["composition_effect"]), ("rates", row["rate_effect"])]
        labels = (f"{result.settings['start']}", f"{result.settings['end']}")
        return row["rate_start"], steps, row["rate_end"], labels
    if kind == "das_gupta":
        first, last = result.settings["populations"][0], result.settings["populations"][-1]
        rows = summary[(summary["population_from"] == first) & (summary["population_to"] == last)]
        crude = result.table.drop_duplicates("population").set_index("population")["crude_rate"]
        steps = list(zip(rows["factor"], rows["effect"], strict=True))
        return crude[first], steps, crude[last], (str(first), str(last))
    values = summary.set_index("component")["estimate"]
    steps = [("explained", values["explained"]), ("unexplained", values["unexplained"])]
    return 0.0, steps, values["gap"], ("0", "gap")


def plot_waterfall(result: Any, *, ax: Axes | None = None) -> Axes:
    """Waterfall of a decomposition: from the first value, each effect, to the last.

    Parameters
    ----------
    result : decomposition result
        A Kitagawa (:func:`~c2c_analysis.decompose.decompose_rate_change`, first series),
        Das Gupta (first to last population) or Oaxaca-Blinder result.
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        One bar per effect (``ax.patches``), labelled on the x axis.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.decompose import das_gupta
    >>> data = pd.DataFrame({"pop": [1, 2], "a": [2.0, 3.0], "b": [5.0, 4.0]})
    >>> ax = plot_waterfall(das_gupta(data, group="pop", factors=["a", "b"]))
    >>> [float(bar.get_height()) for bar in ax.patches]
    [10.0, 4.5, -2.5, 12.0]
    """
    ax = new_axes(ax)
    start, steps, end, labels = _steps(result)
    names = [labels[0], *[s[0] for s in steps], labels[1]]
    ax.bar(0, start, color=BASELINE)
    level = start
    for i, (_, effect) in enumerate(steps, start=1):
        ax.bar(i, effect, bottom=level, color=ACTUAL if effect >= 0 else "#c0392b")
        level += effect
    ax.bar(len(steps) + 1, end, color=BASELINE)
    ax.set_xticks(range(len(names)), [literal(name) for name in names], rotation=20)
    ax.axhline(0, color="black", lw=0.8)
    return ax
