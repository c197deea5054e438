"""Rates with intervals, trends over time, and baseline projections ("turn the curve").

Every function takes the canonical outcome table (or any table with the named columns) and
works on all series at once: series are identified by the ``by`` columns and fitted together
with group-wise numpy sums, never one Python loop per series.

Range-coded rows (a source published ``80-84`` instead of counts) have ``rate`` missing and
``rate_low``/``rate_high`` set. Analyses on rates use the midpoint of the range for such rows
and say so with a :class:`~c2c_analysis.C2CDataWarning`; analyses on counts (the binomial
trend) leave them out and say so in ``note``. Suppressed rows carry no value and are left out.

The modules: :mod:`~c2c_analysis.trends.intervals` (:func:`rates`),
:mod:`~c2c_analysis.trends.slope` (:func:`trend` and its fits) and
:mod:`~c2c_analysis.trends.baseline` (:func:`project_baseline`, :func:`baseline_summary`);
``_prepare`` (series and periods) and ``_fits`` (straight lines through every series at
once) hold what the last two share.
"""

from __future__ import annotations

# PROJECTION_COLUMNS and SHORT_SERIES stay importable from here, as from the old module,
# outside __all__ (which lists exactly the old module's public names).
from c2c_analysis.trends.baseline import (
    PROJECTION_COLUMNS,  # noqa: F401
    baseline_summary,
    project_baseline,
    projection_keys,
)
from c2c_analysis.trends.intervals import rates
from c2c_analysis.trends.slope import SHORT_SERIES, trend  # noqa: F401

__all__ = ["baseline_summary", "project_baseline", "projection_keys", "rates", "trend"]
