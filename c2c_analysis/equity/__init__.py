"""Equity: gaps between groups, how they changed, and summary measures of inequality.

"Excellence with equity" (Ferguson): gaps should close because every group rises, the lower
ones faster, not because the top group falls. :func:`gaps` measures each group's gap to a
reference group per period (:mod:`.gap`); :func:`gap_change` says how it changed between two
periods and which kind of change it was (:func:`classify_gap_change`, :mod:`.change`).
Percentage-point gaps shrink mechanically as rates approach 100%, so the ratio, the odds
ratio and the probit gap stand beside them. :func:`inequality` gives WHO HEAT's summary
measures across the groups of one dimension (:mod:`.measures`).

The modules are named for their ideas, not for the functions: a module named ``gaps``
would shadow the function ``c2c_analysis.gaps``.
"""

from __future__ import annotations

from c2c_analysis.equity.change import GAP_CATEGORIES, classify_gap_change, gap_change
from c2c_analysis.equity.gap import gaps
from c2c_analysis.equity.measures import inequality

__all__ = ["GAP_CATEGORIES", "classify_gap_change", "gap_change", "gaps", "inequality"]
