"""report.findings: the report's answers in words, with their numbers (issue 17 item 1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from c2c_analysis import evaluate_portfolio, gap_change, load_sample
from c2c_analysis.report.findings import findings


def one_trend(outcome, slope, low, high):
    return pd.DataFrame(
        {"outcome": [outcome], "slope_pp": [slope], "ci_lower_pp": [low], "ci_upper_pp": [high],
         "first_period": [2012], "last_period": [2019]}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "slope", "low", "high", "words"),
    [
        ("hs_graduation", 1.2, 0.4, 2.0, "improving"),
        ("hs_graduation", -1.2, -2.0, -0.4, "worsening"),
        ("hs_graduation", 0.3, -0.5, 1.1, "within noise"),
        # Chronic absence: lower is better, so falling is improving.
        ("chronic_absence", -1.2, -2.0, -0.4, "improving"),
    ],
)
def test_a_trend_is_told_with_its_interval_and_direction(outcome, slope, low, high, words):
    sentence = findings(trends=one_trend(outcome, slope, low, high))["sentence"].iloc[0]
    assert words in sentence
    assert f"{low:+.1f} to {high:+.1f}" in sentence


def test_the_run_chart_signal_is_told_with_its_reason():
    runs = pd.DataFrame(
        {"outcome": ["hs_graduation"], "runs_signal": [True], "longest_run": [9],
         "longest_run_max": [7.0], "n_crossings": [3], "n_crossings_min": [3.0]}
    )  # fmt: skip
    sentence = findings(trends=one_trend("hs_graduation", 1.2, 0.4, 2.0), runs=runs)["sentence"]
    assert "a run of 9 years on one side of the median, more than the 7" in sentence.iloc[0]


def test_a_gap_is_told_in_the_typologys_words():
    # Tacoma, Black and White students' graduation 2012-2015 (the sample's published rates).
    data = load_sample("outcomes").query(
        "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'race_ethnicity'"
    )
    change = gap_change(data, start=2012, end=2015, reference="White").query("group == 'Black'")
    sentence = findings(gap_changes=change)["sentence"].iloc[0]
    row = change.iloc[0]
    assert sentence.startswith(
        "In high school graduation, the gap between Black and White students narrowed from "
        f"{abs(row['gap_start_pp']):.1f} to {abs(row['gap_end_pp']):.1f} points (2012-2015) "
        "as both groups improved"
    )


def test_catch_all_groups_are_not_told_as_gaps():
    data = load_sample("outcomes").query("partnership == 'tacoma'")
    change = gap_change(data, start="first", end="last", reference={"race_ethnicity": "White"})
    told = findings(gap_changes=change, largest_gaps=10)
    assert not told["group"].isin(["Not reported"]).any()


def test_each_strategy_has_its_verdict_and_the_short_baseline_caveat():
    data, portfolio = load_sample("outcomes"), load_sample("portfolio")
    table = evaluate_portfolio(data, portfolio, method="logit").table
    told = findings(scorecard=table, strategy_names={s.id: s.name for s in portfolio.strategies})
    assert len(told) == len(table)
    first = told["sentence"].iloc[0]
    assert first.startswith("Community-wide graduation push")
    assert "a 3-year baseline is short" in first
    # Judged in 2019 from a 2010-2012 baseline: seven years projected past three.
    assert "runs 7 years past a 3-year baseline" in first
    assert np.isfinite(told["estimate"]).all()
