"""Readers that turn real files into the canonical outcome table."""

from __future__ import annotations

from c2c_analysis.io.edfacts import parse_rate_code, read_edfacts_acgr
from c2c_analysis.io.ospi import read_ospi_graduation
from c2c_analysis.io.outcomes import read_outcomes
from c2c_analysis.io.students import aggregate_students

__all__ = [
    "aggregate_students",
    "parse_rate_code",
    "read_edfacts_acgr",
    "read_ospi_graduation",
    "read_outcomes",
]
