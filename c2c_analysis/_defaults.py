"""Disclosure-control defaults, in a module that imports nothing heavy.

:mod:`c2c_analysis.privacy` (which needs scipy for its optimiser) re-exports them; the
command line reads them from here, so ``c2c validate`` starts without loading scipy.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEFAULT_MIN_CELL", "DEFAULT_MIN_N", "DEFAULT_TOP_BOTTOM"]

#: Smallest group published (most states; NCES 2011-603).
DEFAULT_MIN_N = 10
#: Smallest number of students who met, or did not meet, an outcome published exactly.
DEFAULT_MIN_CELL = 5
#: Top/bottom coding by group size: ``{smallest denominator: threshold}``.
DEFAULT_TOP_BOTTOM: Mapping[int, float] = MappingProxyType(
    {10: 0.10, 20: 0.05, 100: 0.02, 500: 0.01}
)
