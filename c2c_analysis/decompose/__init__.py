"""How much of a change is composition and how much is real improvement.

- :func:`decompose_rate_change` (:mod:`~c2c_analysis.decompose.kitagawa`): Kitagawa's split
  of the change in an overall rate between two periods into a composition effect (the mix
  of groups changed) and a rate effect (the groups' own rates changed).
- :func:`das_gupta` (:mod:`~c2c_analysis.decompose.standardization`): Das Gupta's standardization
  and decomposition for any number of factors, any rate function, vector factors across
  subgroups and any number of populations.
- :func:`oaxaca_blinder` (:mod:`~c2c_analysis.decompose.oaxaca`): the gap in a student-level
  value between two groups split into the part explained by covariates and the rest.

Their results (:mod:`~c2c_analysis.decompose.results`) share the package's one result shape.
"""

from __future__ import annotations

from c2c_analysis.decompose.kitagawa import decompose_rate_change
from c2c_analysis.decompose.oaxaca import oaxaca_blinder
from c2c_analysis.decompose.results import (
    DasGuptaResult,
    DecompositionResult,
    OaxacaBlinderResult,
)
from c2c_analysis.decompose.standardization import das_gupta

__all__ = [
    "DasGuptaResult",
    "DecompositionResult",
    "OaxacaBlinderResult",
    "das_gupta",
    "decompose_rate_change",
    "oaxaca_blinder",
]
