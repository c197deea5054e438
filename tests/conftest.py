"""Shared fixtures: a seeded rng, small canonical tables, and figures closed after each test."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def valid_rows() -> pd.DataFrame:
    """Three valid rows in the canonical layout (counts only)."""
    return pd.DataFrame(
        {
            "partnership": ["tacoma", "tacoma", "tacoma"],
            "outcome": ["hs_graduation"] * 3,
            "year": [2015, 2015, 2015],
            "dimension": ["all", "race_ethnicity", "race_ethnicity"],
            "group": ["All students", "Black", "White"],
            "numerator": [1650, 324, 706],
            "denominator": [2000, 400, 840],
        }
    )


def pytest_configure(config):
    # Tests draw off-screen; never open a window.
    import os

    os.environ.setdefault("MPLBACKEND", "Agg")
