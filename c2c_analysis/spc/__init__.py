"""Statistical process control: run charts, control charts and funnel plots.

- :mod:`~c2c_analysis.spc.limits`: the constants, the limits of the runs analysis and the
  centre lines and limits of every chart;
- :mod:`~c2c_analysis.spc.rules`: the runs rules (Anhøj's, the IHI's, NHS England's) and the
  NHS classes;
- :mod:`~c2c_analysis.spc.charts`: :func:`run_chart`, :func:`control_chart` and
  :func:`spc_table` (every series of a table at once), returning an :class:`SPCResult`;
- :mod:`~c2c_analysis.spc.funnel`: :func:`funnel_chart` (units against their size), returning
  a :class:`FunnelResult`.

SPC keeps qicharts2's axis names ``x``, ``y`` and ``n`` (time, value or numerator,
denominator), which its users know.
"""

from c2c_analysis.spc.charts import SPCResult, control_chart, run_chart, spc_table
from c2c_analysis.spc.funnel import FunnelResult, funnel_chart
from c2c_analysis.spc.limits import CHARTS, runs_limits

__all__ = [
    "CHARTS",
    "FunnelResult",
    "SPCResult",
    "control_chart",
    "funnel_chart",
    "run_chart",
    "runs_limits",
    "spc_table",
]
