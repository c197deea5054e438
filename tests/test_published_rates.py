"""Analyses on what real files publish (issue 13): rates with cohort counts and no numerator,
range-coded rates, and suppressed (PS) cells, as EDFacts' wide school files carry them.

The files are built by hand in the layout of the national EDFacts ACGR school files
(``LEAID``, ``NCESSCH``, ``SCHNAM``, then ``<GROUP>_COHORT_<SY>`` / ``<GROUP>_RATE_<SY>`` per
school year), with invented schools and values.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from c2c_analysis import gap_change, gaps, rates, read_edfacts_acgr, trend
from c2c_analysis._rows import resolve_rows

YEARS = ["1213", "1314", "1415", "1516"]


def school_file(rows: list[dict]) -> pd.DataFrame:
    """One row per school: its ids, then a cohort and a rate code per group and year."""
    records = []
    for row in rows:
        record = {"LEAID": row["lea"], "NCESSCH": row["school"], "SCHNAM": row["name"]}
        for group, (cohorts, codes) in row["groups"].items():
            for year, cohort, code in zip(YEARS, cohorts, codes, strict=True):
                record[f"{group}_COHORT_{year}"] = str(cohort)
                record[f"{group}_RATE_{year}"] = code
        records.append(record)
    return pd.DataFrame(records)


@pytest.fixture
def acgr():
    frame = school_file(
        [
            {
                "lea": "5308700",
                "school": "530870001",
                "name": "Lincoln High School",
                "groups": {
                    "ALL": ([452, 447, 455, 449], ["66", "74", "75", "79"]),
                    "MWH": ([210, 205, 212, 208], ["72", "79", "80", "84"]),
                    "MHI": ([118, 121, 119, 117], ["60", "68", "70", "76"]),
                    "MBL": ([60, 58, 61, 59], ["50-54", "60-64", "65-69", "70-74"]),
                    "MAM": ([8, 7, 9, 6], ["PS", "PS", "PS", "PS"]),
                },
            }
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_edfacts_acgr(frame, partnership="tacoma")


def test_exact_published_rates_get_a_binomial_trend_with_an_interval(acgr):
    rows = acgr.query("group == 'All students'")
    assert rows["numerator"].isna().all()  # the file publishes no numerators
    result = trend(rows).iloc[0]
    assert result["n_periods"] == 4
    assert np.isfinite(result["slope_pp"])
    assert result["ci_lower_pp"] < result["slope_pp"] < result["ci_upper_pp"]
    # (79 - 66) points over 3 years; the fitted slope is near it.
    assert result["average_change_pp"] == pytest.approx(13 / 3)
    assert "4 row(s) derived from a published rate and cohort" in result["note"]


def test_every_trend_method_uses_the_published_rates(acgr):
    rows = acgr.query("group == 'All students'")
    for method in ("binomial", "ols", "logit"):
        assert np.isfinite(trend(rows, method=method)["slope_pp"].iloc[0]), method


def test_rounding_of_a_published_rate_widens_its_interval():
    # 66 % of 450 as a whole percent: the true rate lies anywhere in 65.5-66.5 %, so its
    # interval is wider than that of the exact count 297 of 450.
    exact = rates(pd.DataFrame({"numerator": [297], "denominator": [450]})).iloc[0]
    published = rates(pd.DataFrame({"rate": [0.66], "denominator": [450]})).iloc[0]
    assert published["rate"] == pytest.approx(exact["rate"])
    assert published["ci_upper"] - published["ci_lower"] > exact["ci_upper"] - exact["ci_lower"]
    assert published["basis"] == "rate"
    # Var = p(1-p)/n + w²/12 with w = 0.01: n* = 0.2244 / (0.2244/450 + 0.01²/12).
    assert published["n_effective"] == pytest.approx(0.2244 / (0.2244 / 450 + 1e-4 / 12))


def test_a_range_counts_for_fewer_students_than_its_cohort():
    resolved = resolve_rows(
        pd.DataFrame({"denominator": [60.0], "rate_low": [0.60], "rate_high": [0.64]})
    ).iloc[0]
    assert resolved["rate"] == pytest.approx(0.62)
    assert resolved["basis"] == "range"
    # Width 0.04 plus the bounds' whole-percent precision 0.01: Var = .2356/60 + .05²/12.
    assert resolved["n_effective"] == pytest.approx(0.2356 / (0.2356 / 60 + 0.05**2 / 12))


def test_a_gap_against_a_range_coded_group_is_less_certain_than_between_exact_groups(acgr):
    table = gaps(acgr.query("dimension == 'race_ethnicity'"), reference="White")
    latest = table[table["year"] == table["year"].max()].set_index("group")
    hispanic, black = latest.loc["Hispanic/Latino"], latest.loc["Black"]
    assert np.isfinite(black["gap_pp"])
    width = lambda row: row["gap_ci_upper_pp"] - row["gap_ci_lower_pp"]  # noqa: E731
    # Black students' cohort is half Hispanic students' and its rate a 5-point range: compare
    # with the interval an exact count of the same cohort would get.
    exact_black = acgr.query("group == 'Black'").assign(
        numerator=lambda d: (d["rate_low"] + d["rate_high"]) / 2 * d["denominator"],
        rate_low=np.nan,
        rate_high=np.nan,
    )
    as_counts = gaps(
        pd.concat([acgr.query("group == 'White'"), exact_black]), reference="White"
    ).query("year == @table.year.max()")
    assert width(black) > width(as_counts.iloc[0])
    assert "range" in black["note"]
    assert "rounded rate" in black["note"]
    assert np.isfinite(width(hispanic))
    assert np.isnan(latest.loc["American Indian/Alaska Native", "gap_pp"])  # PS: withheld


def test_gap_change_categorises_published_rates(acgr):
    change = gap_change(
        acgr.query("dimension == 'race_ethnicity'"), start="first", end="last", reference="White"
    ).set_index("group")
    assert change.loc["Hispanic/Latino", "category"] == "narrowing_both_improving"
    assert change.loc["Black", "category"] != "insufficient_data"
    assert "range" in change.loc["Black", "note"]
