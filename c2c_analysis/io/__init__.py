"""Readers that turn real files into the canonical outcome table."""

from __future__ import annotations

from c2c_analysis.io.outcomes import read_outcomes
from c2c_analysis.io.students import aggregate_students

__all__ = ["aggregate_students", "read_outcomes"]
