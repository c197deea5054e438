"""overview.outcome_overview: one row per outcome, its small cells counted below ``min_n``."""

from __future__ import annotations

import pandas as pd
import pytest

from c2c_analysis import load_sample, outcome_overview


@pytest.fixture(scope="module")
def outcomes() -> pd.DataFrame:
    return load_sample("outcomes")


def test_one_row_per_partnership_and_outcome(outcomes):
    table = outcome_overview(outcomes)
    assert len(table) == outcomes[["partnership", "outcome"]].drop_duplicates().shape[0]
    assert not table.duplicated(["partnership", "outcome"]).any()


def test_min_n_counts_the_small_cells(outcomes):
    counts = {}
    for min_n in (10, 50):
        table = outcome_overview(outcomes, min_n=min_n)
        counts[min_n] = table["n_small"].to_numpy()
        small = (
            (outcomes["denominator"] < min_n)
            .fillna(False)
            .groupby([outcomes["partnership"], outcomes["outcome"]])
            .sum()
        )
        for row in table.itertuples():
            assert row.n_small == small[(row.partnership, row.outcome)]
    assert (counts[50] >= counts[10]).all()
    assert counts[50].sum() > counts[10].sum()
    assert (outcome_overview(outcomes)["n_small"].to_numpy() == counts[10]).all()  # the default


def test_small_n_is_the_deprecated_name_of_min_n(outcomes):
    with pytest.warns(DeprecationWarning, match="small_n= is deprecated"):
        old = outcome_overview(outcomes, small_n=50)
    pd.testing.assert_frame_equal(old, outcome_overview(outcomes, min_n=50))
    with pytest.raises(TypeError, match="min_n"):
        outcome_overview(outcomes, min_n=20, small_n=50)
