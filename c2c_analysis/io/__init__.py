"""Readers that turn real files into the canonical outcome table."""

from __future__ import annotations

from c2c_analysis.io.edfacts import parse_rate_code, read_edfacts_acgr
from c2c_analysis.io.ospi import read_ospi_graduation
from c2c_analysis.io.outcomes import read_outcomes
from c2c_analysis.io.portfolio import read_portfolio
from c2c_analysis.io.recipes import Recipe, apply_recipe, list_recipes, load_recipe
from c2c_analysis.io.students import aggregate_students
from c2c_analysis.io.units import combine_units, read_unit_map

__all__ = [
    "Recipe",
    "aggregate_students",
    "apply_recipe",
    "combine_units",
    "list_recipes",
    "load_recipe",
    "parse_rate_code",
    "read_edfacts_acgr",
    "read_ospi_graduation",
    "read_outcomes",
    "read_portfolio",
    "read_unit_map",
]
