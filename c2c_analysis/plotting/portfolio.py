"""Strategies: an interrupted time series against its counterfactual, and the portfolio
scorecard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

__all__ = ["plot_its", "plot_scorecard"]

_VERDICT_COLORS = {
    "turned_the_curve": "#1a7f37",
    "above_baseline_within_noise": "#7fb77e",
    "on_baseline": "#9e9e9e",
    "below_baseline": "#c0392b",
    "insufficient_data": "#d9d9d9",
}


def plot_its(result: Any, *, ax: Axes | None = None) -> Axes:
    """Interrupted time series: observed values, the fitted segments and the counterfactual.

    Parameters
    ----------
    result : ITSResult
        From :func:`~c2c_analysis.portfolio.interrupted_time_series`.
    ax : Axes, optional
        Where to draw (None: a new figure).

    Returns
    -------
    Axes
        Lines labelled ``observed``, ``fitted`` and ``counterfactual``; a vertical line at
        the start.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> from c2c_analysis.portfolio import interrupted_time_series
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> its = interrupted_time_series(data, time="year", start=2013, numerator="numerator",
    ...                               denominator="denominator")
    >>> [line.get_label() for line in plot_its(its).lines][:3]
    ['observed', 'fitted', 'counterfactual']
    """
    ax = new_axes(ax)
    frame = result.counterfactual
    time = result.settings["time"]
    ax.plot(frame[time], frame["observed"], "o", color=BASELINE, label="observed")
    ax.plot(frame[time], frame["fitted"], color=ACTUAL, lw=2, label="fitted")
    after = frame[frame["difference"].abs() > 0]
    ax.plot(after[time], after["counterfactual"], color=FORECAST, ls="--", label="counterfactual")
    start = result.settings["start"]
    # A date given as text is drawn on the dates' axis: matplotlib converts a Timestamp
    # (its stubs type the position as a float only, hence Any).
    at: Any = pd.Timestamp(start) if isinstance(start, str) else start
    ax.axvline(at, color="black", lw=0.8, ls=":")
    if result.settings["family"] == "binomial":
        percent_axis(ax)
    ax.set_xlabel(time_label(time))
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_scorecard(result: Any, *, ax: Axes | None = None) -> Axes:
    """The portfolio scorecard: each strategy and group's difference from its projection
    (points), with the prediction interval around the projection as a whisker, coloured by
    verdict.

    Parameters
    ----------
    result : PortfolioResult
        From :func:`~c2c_analysis.portfolio.evaluate_portfolio`.
    ax : Axes, optional
        Where to draw (None: a new figure, taller the more rows it has).

    Returns
    -------
    Axes
        One bar per row (``ax.patches``) in table order, from the top.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> from c2c_analysis.portfolio import evaluate_portfolio
    >>> result = evaluate_portfolio(load_sample("outcomes"), load_sample("portfolio"),
    ...                             method="logit")
    >>> len(plot_scorecard(result).patches) == len(result.table)
    True
    """
    table = result.table.reset_index(drop=True)
    ax = new_axes(ax, figsize=(8, 0.45 * len(table) + 1.2))
    positions = np.arange(len(table))[::-1]
    values = table["difference_pp"].fillna(0).to_numpy()
    colors = [_VERDICT_COLORS.get(v, "#9e9e9e") for v in table["verdict"]]
    ax.barh(positions, values, color=colors)
    low = 100 * (table["pi_lower"] - table["projected"]).to_numpy()
    high = 100 * (table["pi_upper"] - table["projected"]).to_numpy()
    ax.hlines(positions, low, high, color="black", lw=1)
    ax.set_yticks(
        positions,
        [literal(f"{s}: {g}") for s, g in zip(table["strategy"], table["group"], strict=True)],
    )
    ax.axvline(0, color="black", lw=0.8)
    # The bar is the difference; the black line spans the projection's prediction interval
    # (said in the docstring and the report's text: a longer label would not fit).
    ax.set_xlabel("Actual minus projection (points)")
    return ax
