"""Every drawing of c2c_analysis. Functions take ``ax=`` and return what they drew on (the
Axes; :func:`plot_spc_grid` the array of its panels); they never call ``plt.show()`` and
never change global settings (call :func:`set_theme` for our look). Figures they make are
laid out by matplotlib's constrained layout, so labels and legends outside the axes fit.

Import it explicitly (``from c2c_analysis import plotting``): ``import c2c_analysis`` does not
load matplotlib, and neither does importing this package (its functions do, when called).

- :mod:`~c2c_analysis.plotting.theme`: :func:`set_theme`, :data:`GROUP_COLORS`,
  :func:`group_colors`, :data:`CATCH_ALL_GROUPS`, :func:`describe_figure`, :func:`figure_svg`;
- :mod:`~c2c_analysis.plotting.trends`: :func:`plot_trends`, :func:`plot_turn_the_curve`;
- :mod:`~c2c_analysis.plotting.equity`: :func:`plot_gaps`, :func:`plot_gap_change`;
- :mod:`~c2c_analysis.plotting.decompose`: :func:`plot_waterfall`;
- :mod:`~c2c_analysis.plotting.portfolio`: :func:`plot_its`, :func:`plot_scorecard`;
- :mod:`~c2c_analysis.plotting.spc`: :func:`plot_spc`, :func:`plot_spc_grid`,
  :func:`plot_funnel`.
"""

from __future__ import annotations

from c2c_analysis.plotting.decompose import plot_waterfall
from c2c_analysis.plotting.equity import plot_gap_change, plot_gaps
from c2c_analysis.plotting.portfolio import plot_its, plot_scorecard
from c2c_analysis.plotting.spc import plot_funnel, plot_spc, plot_spc_grid
from c2c_analysis.plotting.theme import (
    CATCH_ALL_GROUPS,
    GROUP_COLORS,
    describe_figure,
    figure_svg,
    group_colors,
    set_theme,
)
from c2c_analysis.plotting.trends import plot_trends, plot_turn_the_curve

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
