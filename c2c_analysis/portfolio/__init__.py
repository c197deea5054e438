"""Strategies and portfolios tested against their baselines.

The question a leadership table asks each year: which of our strategies is moving which
outcome, for which students, beyond what the baseline trend would have given anyway?

- :mod:`~c2c_analysis.portfolio.its`: :func:`interrupted_time_series`, segmented
  regression of one series (or a treated and a control series) around a strategy's start.
- :mod:`~c2c_analysis.portfolio.strategy`: :class:`Strategy` and :class:`Portfolio`.
- :func:`read_portfolio` (from :mod:`c2c_analysis.io.portfolio`): a partnership's
  strategies from YAML or CSV.
- :mod:`~c2c_analysis.portfolio.scorecard`: :func:`evaluate_portfolio`, the scorecard, one
  row per strategy and targeted group.

The segmented regressions import statsmodels (over a second), so they load on first use:
``Strategy`` and ``Portfolio`` alone are imported with the package (the readers need them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from c2c_analysis.portfolio.strategy import Portfolio, Strategy

if TYPE_CHECKING:
    from c2c_analysis.io.portfolio import read_portfolio
    from c2c_analysis.portfolio.its import ITSResult, interrupted_time_series
    from c2c_analysis.portfolio.scorecard import PortfolioResult, evaluate_portfolio

__all__ = [
    "ITSResult",
    "Portfolio",
    "PortfolioResult",
    "Strategy",
    "evaluate_portfolio",
    "interrupted_time_series",
    "read_portfolio",
]

# Loaded on first use; read_portfolio also because c2c_analysis.io imports this package's
# Strategy and Portfolio (an eager import of the reader here would be circular).
_LAZY = {
    "ITSResult": "c2c_analysis.portfolio.its",
    "interrupted_time_series": "c2c_analysis.portfolio.its",
    "VERDICTS": "c2c_analysis.portfolio.scorecard",
    "PortfolioResult": "c2c_analysis.portfolio.scorecard",
    "evaluate_portfolio": "c2c_analysis.portfolio.scorecard",
    "read_portfolio": "c2c_analysis.io.portfolio",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'c2c_analysis.portfolio' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
