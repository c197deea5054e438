"""c2c_analysis: outcome analysis for cradle-to-career partnerships.

Data in (:func:`read_outcomes`), one canonical tidy table (:mod:`c2c_analysis.schema`),
analyses that return tidy tables, plots, and notebooks run per partnership.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from c2c_analysis.datasets import list_samples, load_sample
from c2c_analysis.io import (
    aggregate_students,
    combine_units,
    parse_rate_code,
    read_edfacts_acgr,
    read_ospi_graduation,
    read_outcomes,
)
from c2c_analysis.overview import outcome_overview
from c2c_analysis.schema import (
    INDICATORS,
    OUTCOMES,
    Outcome,
    better_direction,
    normalize_dimension,
    normalize_group,
    outcome_catalogue,
)
from c2c_analysis.validation import C2CDataWarning, DataValidationError, validate_outcomes

# The analyses import statsmodels and scipy (over a second); they load on first use so that
# `import c2c_analysis`, the readers and the `c2c` command start quickly.
_LAZY = {
    "das_gupta": "decompose",
    "decompose_rate_change": "decompose",
    "oaxaca_blinder": "decompose",
    "AuditResult": "audit",
    "audit_disclosure": "audit",
    "SuppressionResult": "privacy",
    "suppress": "privacy",
    "suppression_notes": "privacy",
    "FunnelResult": "spc",
    "funnel_chart": "spc",
    "Portfolio": "portfolio",
    "evaluate_portfolio": "portfolio",
    "interrupted_time_series": "portfolio",
    "read_portfolio": "portfolio",
    "SPCResult": "spc",
    "control_chart": "spc",
    "run_chart": "spc",
    "spc_table": "spc",
    "baseline_summary": "trends",
    "project_baseline": "trends",
    "rates": "trends",
    "trend": "trends",
    "classify_gap_change": "equity",
    "gap_change": "equity",
    "gaps": "equity",
    "inequality": "equity",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the names are importable from the package
    from c2c_analysis.audit import AuditResult, audit_disclosure
    from c2c_analysis.decompose import das_gupta, decompose_rate_change, oaxaca_blinder
    from c2c_analysis.equity import classify_gap_change, gap_change, gaps, inequality
    from c2c_analysis.portfolio import (
        Portfolio,
        evaluate_portfolio,
        interrupted_time_series,
        read_portfolio,
    )
    from c2c_analysis.privacy import SuppressionResult, suppress, suppression_notes
    from c2c_analysis.spc import (
        FunnelResult,
        SPCResult,
        control_chart,
        funnel_chart,
        run_chart,
        spc_table,
    )
    from c2c_analysis.trends import baseline_summary, project_baseline, rates, trend


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"c2c_analysis.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'c2c_analysis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "AuditResult",
    "C2CDataWarning",
    "DataValidationError",
    "FunnelResult",
    "INDICATORS",
    "OUTCOMES",
    "Outcome",
    "Portfolio",
    "SPCResult",
    "SuppressionResult",
    "__version__",
    "aggregate_students",
    "audit_disclosure",
    "baseline_summary",
    "better_direction",
    "classify_gap_change",
    "combine_units",
    "control_chart",
    "das_gupta",
    "decompose_rate_change",
    "evaluate_portfolio",
    "funnel_chart",
    "gap_change",
    "gaps",
    "inequality",
    "interrupted_time_series",
    "list_samples",
    "load_sample",
    "normalize_dimension",
    "normalize_group",
    "oaxaca_blinder",
    "outcome_catalogue",
    "outcome_overview",
    "parse_rate_code",
    "project_baseline",
    "rates",
    "read_edfacts_acgr",
    "read_ospi_graduation",
    "read_outcomes",
    "read_portfolio",
    "run_chart",
    "spc_table",
    "suppress",
    "suppression_notes",
    "trend",
    "validate_outcomes",
]
