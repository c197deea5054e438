"""c2c_analysis.equity: gaps, gap change and its typology, HEAT summary measures; hand-derived
values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from c2c_analysis.equity import GAP_CATEGORIES, classify_gap_change, gap_change, gaps, inequality

Z = stats.norm.ppf(0.975)


def wilson(x, n):
    centre = (x + Z**2 / 2) / (n + Z**2)
    half = Z / (n + Z**2) * math.sqrt(x * (n - x) / n + Z**2 / 4)
    return centre - half, centre + half


def table(rows, outcome="hs_graduation"):
    frame = pd.DataFrame(rows, columns=["year", "dimension", "group", "numerator", "denominator"])
    frame.insert(0, "outcome", outcome)
    frame.insert(0, "partnership", "p")
    return frame


@pytest.fixture
def two_years():
    return table(
        [
            (2012, "all", "All students", 680, 1000),
            (2012, "race_ethnicity", "White", 450, 600),
            (2012, "race_ethnicity", "Black", 230, 400),
            (2015, "all", "All students", 820, 1000),
            (2015, "race_ethnicity", "White", 500, 600),
            (2015, "race_ethnicity", "Black", 320, 400),
        ]
    )


def test_gap_in_points_with_newcombe_interval_by_hand(two_years):
    row = gaps(two_years, reference="White").query("year == 2012").iloc[0]
    p1, p2 = 450 / 600, 230 / 400
    assert row["gap_pp"] == pytest.approx(100 * (p1 - p2))
    # Newcombe (1998) method 10 from Wilson limits of each proportion.
    l1, u1 = wilson(450, 600)
    l2, u2 = wilson(230, 400)
    assert row["gap_ci_lower_pp"] == pytest.approx(
        100 * (p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))
    )
    assert row["gap_ci_upper_pp"] == pytest.approx(
        100 * (p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))
    )


def test_scale_free_gaps_by_hand(two_years):
    row = gaps(two_years, reference="White").query("year == 2015").iloc[0]
    p, q = 320 / 400, 500 / 600
    assert row["ratio"] == pytest.approx(p / q)
    # Issue 12: the odds ratio is group / reference like the ratio (it was reference /
    # group), so both are below 1 for a group behind the reference.
    assert row["odds_ratio"] == pytest.approx((p / (1 - p)) / (q / (1 - q)))
    assert row["ratio"] < 1
    assert row["odds_ratio"] < 1
    assert row["probit_gap"] == pytest.approx(stats.norm.ppf(q) - stats.norm.ppf(p))


def test_reference_all_uses_the_all_students_row(two_years):
    out = gaps(two_years, reference="all").query("year == 2012").set_index("group")
    assert set(out.index) == {"White", "Black"}
    assert out.loc["Black", "reference_rate"] == pytest.approx(0.68)


def test_reference_best_picks_the_best_group_each_year(two_years):
    out = gaps(two_years, reference="best")
    assert out["reference"].unique().tolist() == ["White"]
    assert out["group"].unique().tolist() == ["Black"]


def test_gap_is_oriented_for_outcomes_where_lower_is_better():
    data = table(
        [(2019, "income", "Not low income", 100, 1000), (2019, "income", "Low income", 300, 1000)],
        outcome="chronic_absence",
    )
    row = gaps(data, reference="best").iloc[0]
    assert row["reference"] == "Not low income"
    assert row["gap_pp"] == pytest.approx(20.0)  # positive: the group is behind


@pytest.mark.parametrize(
    ("args", "category"),
    [
        ((80, 70, 60, 75), "reversed_lower_ahead"),
        ((80, 85, 60, 65), "stable_gap_both_improving"),
        ((80, 75, 60, 55), "stable_gap_both_declining"),
        ((80, 80.5, 60, 60.2), "no_change"),
        ((80, 85, 60, 65.5), "stable_gap_both_improving"),
        ((80, 80.5, 60, 61.2), "stable_gap_other"),
        ((80, 85, 60, 75), "narrowing_both_improving"),
        ((80, 80.5, 60, 70), "narrowing_lower_improving_higher_flat"),
        ((80, 75, 60, 62), "narrowing_lower_up_higher_down"),
        ((80, 72, 60, 60.5), "narrowing_higher_declined"),
        ((80, 65, 60, 55), "narrowing_both_declining"),
        ((80, 78.5, 60, 61), "narrowing_higher_declined"),
        ((80, 79, 60, 61), "narrowing_other"),
        ((80, 90, 60, 65), "widening_both_improving"),
        ((80, 84, 60, 58), "widening_lower_flat_or_declining"),
        ((80, 79.5, 60, 50), "widening_lower_flat_or_declining"),
    ],
)
def test_gap_change_typology_rules(args, category):
    # The cases are written in points for reading; issue 12: the function takes proportions.
    assert classify_gap_change(*(a / 100 for a in args), tol_pp=1.0) == category
    assert category in GAP_CATEGORIES


def test_a_change_of_exactly_the_tolerance_counts_as_flat_in_proportions():
    # 0.81 - 0.80 is 1.0000000000000009 points in binary floating point; typed in points it
    # is exactly τ = 1 and counts as no change, so it must in proportions too.
    assert classify_gap_change(0.80, 0.81, 0.60, 0.61, tol_pp=1.0) == "no_change"
    assert classify_gap_change(0.80, 0.81, 0.60, 0.63, tol_pp=1.0) == (
        "narrowing_lower_improving_higher_flat"
    )


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((75, 86, 59.4, 81), "higher_start"),  # percentages: silently 'no_change' before
        ((0.75, 0.86, 0.594, 1.2), "lower_end"),
        ((0.75, -0.1, 0.594, 0.81), "higher_end"),
        ((0.75, 0.86, float("nan"), 0.81), "lower_start"),
    ],
)
def test_classify_gap_change_refuses_values_outside_zero_one(args, name):
    with pytest.raises(ValueError, match=f"{name} must be a proportion in \\[0, 1\\]"):
        classify_gap_change(*args)


def test_vectorized_typology_refuses_percentages_too():
    from c2c_analysis.equity.change import _vectorized_categories

    with pytest.raises(ValueError, match="proportion in \\[0, 1\\]"):
        _vectorized_categories(
            np.array([75.0]), np.array([86.0]), np.array([59.4]), np.array([81.0]), 1.0
        )


def test_widening_other_cannot_occur_with_a_non_negative_tolerance():
    # Δlower > τ and Δgap > τ force Δhigher > 2τ > τ: "both improving" takes it first.
    grid = np.linspace(-0.10, 0.10, 41)
    found = {classify_gap_change(0.80, 0.80 + h, 0.60, 0.60 + low) for h in grid for low in grid}
    assert "widening_other" not in found
    assert {
        "widening_both_improving",
        "widening_lower_flat_or_declining",
        "narrowing_other",
    } <= found


def test_gap_change_standard_error_by_hand(two_years):
    row = gap_change(two_years, start=2012, end=2015, reference="White").iloc[0]
    cells = [(450, 600), (230, 400), (500, 600), (320, 400)]
    se = 100 * math.sqrt(sum((x / n) * (1 - x / n) / n for x, n in cells))
    assert row["se_gap_change_pp"] == pytest.approx(se)
    change = 100 * ((500 / 600 - 320 / 400) - (450 / 600 - 230 / 400))
    assert row["gap_change_pp"] == pytest.approx(change)
    assert row["z"] == pytest.approx(change / se)
    assert row["p_value"] == pytest.approx(2 * stats.norm.sf(abs(change / se)))
    assert row["category"] == "narrowing_both_improving"
    assert row["higher"] == "reference"


def test_gap_change_on_tacomas_published_2012_2015_figures():
    # Published rates (tacoma_published.csv): Hispanic/Latino 57.5% (2012, S03) and 80% (2015,
    # S06); All students 82.6% (2015, S04). No 2012 all-students rate was published, so the
    # modelled 67.5% stands in; cohorts are modelled at 1,000 and 350.
    data = table(
        [
            (2012, "all", "All students", 675, 1000),
            (2012, "race_ethnicity", "Hispanic/Latino", 201, 350),
            (2015, "all", "All students", 826, 1000),
            (2015, "race_ethnicity", "Hispanic/Latino", 280, 350),
        ]
    )
    row = gap_change(data, start=2012, end=2015, reference="all").iloc[0]
    assert row["category"] == "narrowing_both_improving"
    assert row["gap_change_pp"] == pytest.approx((82.6 - 80.0) - (67.5 - 100 * 201 / 350))


def test_vectorized_typology_matches_the_scalar_rules_on_a_grid_with_boundaries():
    # The scalar classify_gap_change is the specification; gap_change applies it to arrays.
    # The grid puts changes exactly on ±tau and ±2tau and between them.
    from c2c_analysis.equity.change import _vectorized_categories

    steps = np.array([-12, -4.5, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 4.5, 12]) / 100
    h0 = 0.80
    dh, dl = np.meshgrid(steps, steps)
    for start_gap in (0.20, 0.005, -0.005):
        lower0 = h0 - start_gap
        highs_end, lows_end = h0 + dh.ravel(), lower0 + dl.ravel()
        vectorized = _vectorized_categories(
            np.full(highs_end.size, h0), highs_end, np.full(highs_end.size, lower0), lows_end, 1.0
        )
        scalar = [
            classify_gap_change(h0, a, lower0, b, tol_pp=1.0)
            for a, b in zip(highs_end, lows_end, strict=True)
        ]
        assert list(vectorized) == scalar
    missing = _vectorized_categories(
        np.array([0.80]), np.array([np.nan]), np.array([0.60]), np.array([0.70]), 1.0
    )
    assert list(missing) == ["insufficient_data"]


@pytest.fixture
def two_spans():
    """Graduation 2012 and 2015, chronic absence 2016 and 2019 (lower is better), by race
    and income, with All students rows."""
    rows = []
    for outcome, years, rates in (
        ("hs_graduation", (2012, 2015), {"White": (450, 500), "Black": (230, 320)}),
        ("chronic_absence", (2016, 2019), {"White": (90, 80), "Black": (120, 70)}),
    ):
        for i, year in enumerate(years):
            rows.append((outcome, year, "all", "All students", 900 + 10 * i, 1000))
            rows.append((outcome, year, "race_ethnicity", "White", rates["White"][i], 600))
            rows.append((outcome, year, "race_ethnicity", "Black", rates["Black"][i], 400))
            rows.append((outcome, year, "income", "Not low income", 300 + 40 * i, 500))
            rows.append((outcome, year, "income", "Low income", 200 + 60 * i, 500))
    frame = pd.DataFrame(
        rows, columns=["outcome", "year", "dimension", "group", "numerator", "denominator"]
    )
    frame.insert(0, "partnership", "p")
    return frame


def test_first_and_last_take_each_series_own_span(two_spans):
    out = gap_change(two_spans, start="first", end="last", reference="White")
    spans = out.set_index("outcome")[["start", "end"]].drop_duplicates()
    assert spans.loc["hs_graduation"].tolist() == [2012, 2015]
    assert spans.loc["chronic_absence"].tolist() == [2016, 2019]
    for outcome, (first, last) in (
        ("hs_graduation", (2012, 2015)),
        ("chronic_absence", (2016, 2019)),
    ):
        explicit = gap_change(
            two_spans[two_spans["outcome"] == outcome], start=first, end=last, reference="White"
        )
        pd.testing.assert_frame_equal(
            out[out["outcome"] == outcome].reset_index(drop=True), explicit
        )
    # Chronic absence: Black 30% -> 17.5%, White 15% -> 13.3%; the gap is oriented (lower
    # is better), so it starts at 15 points behind and ends at 4.2 points behind.
    row = out.query("outcome == 'chronic_absence'").iloc[0]
    assert row["gap_start_pp"] == pytest.approx(100 * (120 / 400 - 90 / 600))
    assert row["gap_end_pp"] == pytest.approx(100 * (70 / 400 - 80 / 600))
    assert row["category"] == "narrowing_both_improving"


def test_a_reference_per_dimension_equals_one_call_per_dimension(two_spans):
    references = {"race_ethnicity": "all", "income": "best"}
    together = gap_change(two_spans, start="first", end="last", reference=references)
    assert set(together["dimension"]) == {"race_ethnicity", "income"}
    for dimension, reference in references.items():
        rows = two_spans[two_spans["dimension"].isin([dimension, "all"])]
        alone = gap_change(rows, start="first", end="last", reference=reference)
        mine = together[together["dimension"] == dimension]
        key = ["outcome", "group"]
        pd.testing.assert_frame_equal(
            mine.sort_values(key).reset_index(drop=True),
            alone.sort_values(key).reset_index(drop=True),
        )
    # The same mapping in gaps(): race against All students; in income the best group,
    # which for chronic absence (lower is better) is the one with the lower rate.
    lines = gaps(two_spans, reference=references)
    best = lines[lines["dimension"] == "income"].set_index("outcome")["reference"]
    assert best.loc["hs_graduation"].unique().tolist() == ["Not low income"]
    assert best.loc["chronic_absence"].unique().tolist() == ["Low income"]
    assert set(lines.loc[lines["dimension"] == "race_ethnicity", "reference"]) == {"All students"}


def test_gap_change_refuses_bad_periods_and_references(two_spans):
    with pytest.raises(ValueError, match="same period"):
        gap_change(two_spans, start=2015, end=2015, reference="White")
    with pytest.raises(ValueError, match="start may be a period or 'first'"):
        gap_change(two_spans, start="last", end="last", reference="White")
    with pytest.raises(TypeError, match="mapping from dimension"):
        gap_change(two_spans, start=2012, end=2015, reference=["White"])
    with pytest.raises(ValueError, match="'dimension' column"):
        gap_change(
            two_spans.drop(columns="dimension"), start=2012, end=2015, reference={"x": "White"}
        )


# --- HEAT measures ------------------------------------------------------------------------------


@pytest.fixture
def quintiles():
    return pd.DataFrame(
        {
            "group": ["Q1", "Q2", "Q3", "Q4", "Q5"],
            "rate": [0.62, 0.70, 0.78, 0.84, 0.90],
            "n": [500, 450, 400, 350, 300],
        }
    )


def heat_by_hand(y, n):
    """The HEAT technical notes' formulas, one line each."""
    p = [v / sum(n) for v in n]
    mu = sum(pi * yi for pi, yi in zip(p, y, strict=True))
    best = max(y)
    return {
        "BGV": sum(pi * (yi - mu) ** 2 for pi, yi in zip(p, y, strict=True)),
        "IDISU": 100 * sum(abs(yi - mu) for yi in y) / len(y) / mu,
        "IDISW": 100 * sum(pi * abs(yi - mu) for pi, yi in zip(p, y, strict=True)) / mu,
        "MDBU": sum(abs(yi - best) for yi in y) / len(y),
        "MDBW": sum(pi * abs(yi - best) for pi, yi in zip(p, y, strict=True)),
        "MDMU": sum(abs(yi - mu) for yi in y) / len(y),
        "MDMW": sum(pi * abs(yi - mu) for pi, yi in zip(p, y, strict=True)),
        "TI": 1000 * sum(pi * (yi / mu) * math.log(yi / mu) for pi, yi in zip(p, y, strict=True)),
        "MLD": 1000 * sum(pi * -math.log(yi / mu) for pi, yi in zip(p, y, strict=True)),
        "PAR": best - mu,
        "PAF": 100 * (best - mu) / mu,
        "D": max(y) - min(y),
        "R": max(y) / min(y),
    }


def test_unordered_measures_match_the_heat_formulas_by_hand(quintiles):
    result = inequality(quintiles, denominator="n").set_index("measure")["value"]
    for measure, expected in heat_by_hand(
        quintiles["rate"].tolist(), quintiles["n"].tolist()
    ).items():
        assert result[measure] == pytest.approx(expected), measure
    assert result["BGSD"] == pytest.approx(math.sqrt(result["BGV"]))
    assert "ACI" not in result.index


def test_concentration_index_by_hand(quintiles):
    # X = cumulative share up to each group's midpoint; ACI = Σ p (2X − 1) y.
    result = inequality(quintiles, denominator="n", ordered=True).set_index("measure")["value"]
    p = np.array([500, 450, 400, 350, 300]) / 2000
    x = np.cumsum(p) - p / 2
    aci = float(np.sum(p * (2 * x - 1) * quintiles["rate"].to_numpy()))
    assert aci == pytest.approx(0.0557625)
    assert result["ACI"] == pytest.approx(aci)
    assert result["RCI"] == pytest.approx(aci / float(np.sum(p * quintiles["rate"])))


def test_linear_sii_is_weighted_least_squares_on_rank(quintiles):
    result = inequality(quintiles, denominator="n", ordered=True, sii_model="linear")
    result = result.set_index("measure")["value"]
    p = quintiles["n"].to_numpy() / 2000
    x = np.cumsum(p) - p / 2
    fit = sm.WLS(quintiles["rate"].to_numpy(), sm.add_constant(x), weights=p).fit()
    assert result["SII"] == pytest.approx(fit.params[1])
    assert result["RII"] == pytest.approx((fit.params[0] + fit.params[1]) / fit.params[0])


def test_linear_sii_interval_uses_the_hc1_sandwich_of_weighted_least_squares(quintiles):
    # healthequal's linear SII: glm(gaussian, weights = pop) with vcov = "HC1"; statsmodels'
    # WLS HC1 (which, unlike its GLM, applies the J / (J - k) factor) is the reference.
    out = inequality(quintiles, denominator="n", ordered=True, sii_model="linear")
    sii = out.set_index("measure").loc["SII"]
    n = quintiles["n"].to_numpy()
    x = (np.cumsum(n) - n / 2) / n.sum()
    fit = sm.WLS(quintiles["rate"].to_numpy(), sm.add_constant(x), weights=n).fit(cov_type="HC1")
    assert sii["std_error"] == pytest.approx(fit.bse[1])
    assert sii["ci_lower"] == pytest.approx(fit.params[1] - Z * fit.bse[1])
    assert sii["ci_upper"] == pytest.approx(fit.params[1] + Z * fit.bse[1])


@pytest.fixture
def healthequal_ordered():
    """The ordered case of healthequal's own tests (tests/testthat/test-sii.R, test-rii.R,
    test-aci.R): est <- c(20, 30, 40, 50, 60) on the 0-100 scale and
    pop <- round(rnorm(5, 100, 40)) after set.seed(123), which R evaluates to these five."""
    return pd.DataFrame(
        {
            "group": ["Q1", "Q2", "Q3", "Q4", "Q5"],
            "est": [20.0, 30.0, 40.0, 50.0, 60.0],
            "pop": [78, 91, 162, 103, 105],
        }
    )


def test_sii_matches_healthequal_test_sii(healthequal_ordered):
    # healthequal tests/testthat/test-sii.R, "sii function calculates SII correctly":
    # estimate 44.44502, se 0.02190822 (healthequal reports it on the 0-1 scale; ours is on
    # the value's scale, x 100), lowerci 40.15109, upperci 48.73895; tolerance 1e-6.
    out = inequality(
        healthequal_ordered, rate="est", denominator="pop", ordered=True, scale=100
    ).set_index("measure")
    sii = out.loc["SII"]
    assert sii["value"] == pytest.approx(44.44502, rel=1e-6)
    assert sii["std_error"] == pytest.approx(100 * 0.02190822, rel=1e-6)
    assert sii["ci_lower"] == pytest.approx(40.15109, rel=1e-6)
    assert sii["ci_upper"] == pytest.approx(48.73895, rel=1e-6)
    assert sii["ci_method"] == "delta_hc1"


def test_rii_matches_healthequal_test_rii(healthequal_ordered):
    # healthequal tests/testthat/test-rii.R, "rii function calculates RII correctly":
    # estimate 3.159506, se 0.07644001 (of ln RII), lowerci 2.719902, upperci 3.67016.
    out = inequality(
        healthequal_ordered, rate="est", denominator="pop", ordered=True, scale=100
    ).set_index("measure")
    rii = out.loc["RII"]
    assert rii["value"] == pytest.approx(3.159506, rel=1e-6)
    assert rii["std_error"] == pytest.approx(0.07644001, rel=1e-6)
    assert rii["ci_lower"] == pytest.approx(2.719902, rel=1e-6)
    assert rii["ci_upper"] == pytest.approx(3.67016, rel=1e-6)


def test_aci_and_ordered_par_paf_match_healthequal_tests(healthequal_ordered):
    # healthequal tests/testthat/test-aci.R (7.3284202), test-parisk.R (18.775509) and
    # test-paf.R (45.544548), same data; point estimates only (their intervals differ).
    out = inequality(
        healthequal_ordered, rate="est", denominator="pop", ordered=True, scale=100
    ).set_index("measure")["value"]
    assert out["ACI"] == pytest.approx(7.3284202, rel=1e-6)
    assert out["PAR"] == pytest.approx(18.775509, rel=1e-6)
    assert out["PAF"] == pytest.approx(45.544548, rel=1e-6)


def test_heat_sii_does_not_depend_on_the_declared_scale(healthequal_ordered):
    as_proportion = healthequal_ordered.assign(est=healthequal_ordered["est"] / 100)
    percent = inequality(
        healthequal_ordered, rate="est", denominator="pop", ordered=True, scale=100
    ).set_index("measure")
    proportion = inequality(as_proportion, rate="est", denominator="pop", ordered=True)
    proportion = proportion.set_index("measure")
    for column in ("value", "ci_lower", "ci_upper"):
        assert proportion.loc["SII", column] == pytest.approx(percent.loc["SII", column] / 100)
        assert proportion.loc["RII", column] == pytest.approx(percent.loc["RII", column])


def test_heat_sii_is_the_logit_of_rounded_counts_with_squared_population_weights():
    # By hand: counts s = round(y x ceil(n)), ridit on ceil(n), prior weights ceil(n) on
    # top of the ceil(n) trials; fitted with a second library path (freq_weights).
    data = pd.DataFrame(
        {"group": list("abcd"), "rate": [0.512, 0.6, 0.655, 0.79], "n": [40.2, 61, 55, 33]}
    )
    out = inequality(data, denominator="n", ordered=True).set_index("measure")
    trials = np.array([41.0, 61, 55, 33])
    counts = np.round(data["rate"].to_numpy() * trials)
    assert counts.tolist() == [21, 37, 36, 26]  # 20.992, 36.6, 36.025, 26.07
    x = (np.cumsum(trials) - trials / 2) / trials.sum()
    fit = sm.GLM(
        counts / trials,
        sm.add_constant(x),
        family=sm.families.Binomial(),
        freq_weights=trials * trials,
    ).fit()
    v0, v1 = (1 / (1 + np.exp(-(fit.params[0] + fit.params[1] * r))) for r in (0, 1))
    assert out.loc["SII", "value"] == pytest.approx(v1 - v0, rel=1e-9)
    assert out.loc["RII", "value"] == pytest.approx(v1 / v0, rel=1e-9)


def test_counts_weights_count_each_student_once(quintiles):
    # sii_weights="counts": the binomial likelihood of the counts (rate x n are whole
    # numbers here), i.e. a logistic regression of one row per student on the ridit.
    result = inequality(quintiles, denominator="n", ordered=True, sii_weights="counts").set_index(
        "measure"
    )["value"]
    n = quintiles["n"].to_numpy()
    successes = quintiles["rate"].to_numpy() * n
    x = (np.cumsum(n) - n / 2) / n.sum()
    fit = sm.GLM(
        np.column_stack([successes, n - successes]),
        sm.add_constant(x),
        family=sm.families.Binomial(),
    ).fit()
    v0, v1 = (1 / (1 + np.exp(-(fit.params[0] + fit.params[1] * r))) for r in (0, 1))
    assert result["SII"] == pytest.approx(v1 - v0)
    assert result["RII"] == pytest.approx(v1 / v0)
    heat = inequality(quintiles, denominator="n", ordered=True)
    assert heat.set_index("measure").loc["SII", "value"] != pytest.approx(result["SII"])


def test_logistic_sii_refuses_values_off_the_declared_scale(healthequal_ordered):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*pass scale=100"):
        inequality(healthequal_ordered, rate="est", denominator="pop", ordered=True)
    with pytest.raises(ValueError, match="scale is the indicator scale"):
        inequality(healthequal_ordered, rate="est", denominator="pop", scale=10)
    with pytest.raises(ValueError, match="sii_weights must be"):
        inequality(healthequal_ordered, rate="est", denominator="pop", scale=100, sii_weights="x")
    # Unordered measures need no scale: they are on the scale of the values as given.
    unordered = inequality(healthequal_ordered, rate="est", denominator="pop")
    assert unordered.set_index("measure").loc["D", "value"] == pytest.approx(40.0)


def test_adverse_indicator_par_and_reference_group(quintiles):
    adverse = quintiles.assign(rate=1 - quintiles["rate"])
    result = inequality(adverse, denominator="n", better="lower", reference="Q3")
    result = result.set_index("measure")["value"]
    mu = float(np.sum(adverse["rate"] * adverse["n"]) / 2000)
    assert result["PAR"] == pytest.approx(adverse["rate"].min() - mu)
    assert result["PAR"] < 0
    assert result["MDRU"] == pytest.approx(np.mean(np.abs(adverse["rate"] - 0.22)))


def test_simulated_intervals_bracket_the_estimate_and_repeat_with_the_seed(quintiles):
    data = quintiles.assign(se=0.02)
    first = inequality(data, denominator="n", ordered=True, se="se", seed=3)
    again = inequality(data, denominator="n", ordered=True, se="se", seed=3)
    pd.testing.assert_frame_equal(first, again)
    d = first.set_index("measure").loc["D"]
    assert d["ci_lower"] < d["value"] < d["ci_upper"]
    assert d["ci_method"] == "simulation"
    # SII and RII keep HEAT's analytic interval when standard errors are given.
    assert set(first.loc[first["ci_method"] == "delta_hc1", "measure"]) == {"SII", "RII"}


def test_two_ordered_groups_give_an_exact_fit_without_an_interval():
    # Two groups fit a two-parameter curve exactly: SII is their fitted gap, HC1 is undefined.
    data = pd.DataFrame({"group": ["a", "b"], "r": [0.5, 0.7], "n": [100, 120]})
    sii = inequality(data, rate="r", denominator="n", ordered=True).set_index("measure")
    assert sii.loc["SII", "value"] > 0
    assert np.isnan(sii.loc["SII", "ci_lower"])
    assert np.isnan(sii.loc["RII", "ci_upper"])


def test_a_logistic_fit_at_zero_and_one_warns_once_as_a_data_warning():
    from c2c_analysis.validation import C2CDataWarning

    data = pd.DataFrame({"group": list("abc"), "r": [0.0, 0.5, 1.0], "n": [100, 120, 90]})
    with pytest.warns(C2CDataWarning, match="not identified") as record:
        inequality(data, rate="r", denominator="n", ordered=True)
    assert len(record) == 1


# --- many series and many draws at once (issue 18) ---------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"ordered": True},
        {"ordered": False},
        {"ordered": False, "better": "lower", "reference": "Q3"},
        {"ordered": True, "setting_average": 0.8},
    ],
)
def test_simulated_intervals_equal_the_measures_of_each_draw_one_at_a_time(quintiles, options):
    from c2c_analysis.equity.measures import _measures

    data = quintiles.assign(se=[0.02, 0.03, 0.02, 0.01, 0.04])
    result = inequality(data, denominator="n", se="se", seed=7, **options)
    # The draws inequality makes (seed 7, one normal per group and draw), measured one by one.
    y, n = data["rate"].to_numpy(float), data["n"].to_numpy(float)
    draws = np.random.default_rng(7).normal(y, data["se"].to_numpy(float), size=(1000, len(y)))
    ref = list(data["group"]).index(options["reference"]) if "reference" in options else None
    each = pd.DataFrame(
        [
            {
                m: float(v)
                for m, v in _measures(
                    d, n, ordered=options["ordered"], ref_index=ref,
                    higher=options.get("better", "higher") == "higher",
                    mu=options.get("setting_average"),
                ).items()
            }
            for d in draws
        ]
    )  # fmt: skip
    simulated = result[result["ci_method"] == "simulation"].set_index("measure")
    assert len(simulated) >= 16
    for measure, row in simulated.iterrows():
        assert row["ci_lower"] == pytest.approx(np.nanquantile(each[measure], 0.025), rel=1e-12)
        assert row["ci_upper"] == pytest.approx(np.nanquantile(each[measure], 0.975), rel=1e-12)


@pytest.mark.parametrize("reference", ["White", "best", "all"])
def test_gap_change_of_many_partnerships_equals_one_call_per_partnership(reference):
    from c2c_analysis import load_sample

    data = load_sample("outcomes")
    together = gap_change(data, start="first", end="last", reference=reference)
    alone = pd.concat(
        [
            gap_change(part, start="first", end="last", reference=reference)
            for _, part in data.groupby("partnership")
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(
        together.sort_values(["partnership"], kind="stable").reset_index(drop=True), alone
    )
    assert (together["note"] != "").any()  # rows with derived rates' notes are compared


# --- the package layout and the vocabulary (issue 19) ------------------------------------------


def test_the_package_names_are_the_functions_not_modules():
    import c2c_analysis
    import c2c_analysis.equity as equity

    assert c2c_analysis.gaps is gaps is equity.gaps
    assert c2c_analysis.inequality is inequality
    assert c2c_analysis.gap_change is gap_change
    assert c2c_analysis.classify_gap_change is classify_gap_change
    assert equity.GAP_CATEGORIES is GAP_CATEGORIES


def test_our_newcombe_interval_agrees_with_statsmodels_on_exact_counts():
    """statsmodels' newcomb interval centres on count / nobs, which a rate derived from a
    published rounded rate or range (a fractional effective number of students) does not
    have; on exact counts the two are the same formula, element by element for arrays."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    from c2c_analysis.equity.gap import _newcombe

    rng = np.random.default_rng(0)
    n1, n2 = rng.integers(1, 2000, 200), rng.integers(1, 2000, 200)
    x1, x2 = rng.integers(0, n1 + 1), rng.integers(0, n2 + 1)
    for level in (0.8, 0.95, 0.99):
        ours = _newcombe(x1 / n1, n1, x2 / n2, n2, level)
        theirs = confint_proportions_2indep(
            x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - level
        )
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)


def test_better_overrides_the_catalogue_in_gaps_and_gap_change(two_years):
    flipped = gaps(two_years, reference="White", better="lower")
    default = gaps(two_years, reference="White")
    np.testing.assert_allclose(flipped["gap_pp"], -default["gap_pp"])
    assert gaps(two_years, reference="best", better="lower")["reference"].unique().tolist() == [
        "Black"
    ]
    change = gap_change(two_years, start=2012, end=2015, reference="White", better="lower")
    assert change["gap_change_pp"].iloc[0] == pytest.approx(
        -gap_change(two_years, start=2012, end=2015, reference="White")["gap_change_pp"].iloc[0]
    )
    with pytest.raises(ValueError, match="better must be"):
        gaps(two_years, reference="White", better="up")


def test_a_level_that_is_not_a_confidence_level_is_refused(two_years, quintiles):
    for call in (
        lambda: gaps(two_years, reference="White", level=95),
        lambda: gap_change(two_years, start=2012, end=2015, reference="White", level="0.9"),
        lambda: inequality(quintiles, denominator="n", ordered=True, level=1.0),
    ):
        with pytest.raises(ValueError, match="confidence level"):
            call()


def test_missing_columns_are_the_one_missing_column_error(two_years, quintiles):
    from c2c_analysis.validation import DataValidationError

    with pytest.raises(DataValidationError):
        gaps(two_years.drop(columns="group"), reference="White")
    with pytest.raises(DataValidationError):
        inequality(quintiles, denominator="students")


def test_inequality_takes_the_better_direction_from_the_catalogue(quintiles):
    absence = quintiles.assign(outcome="chronic_absence")
    by_catalogue = inequality(absence, denominator="n").set_index("measure")["value"]
    said = inequality(quintiles, denominator="n", better="lower").set_index("measure")["value"]
    pd.testing.assert_series_equal(by_catalogue, said)
    assert (
        by_catalogue["PAR"]
        != inequality(quintiles, denominator="n").set_index("measure").loc["PAR", "value"]
    )


def test_inequality_seed_none_draws_afresh_and_an_int_repeats(quintiles):
    data = quintiles.assign(se=0.02)
    fresh = [inequality(data, denominator="n", se="se")["ci_lower"] for _ in range(2)]
    assert not fresh[0].equals(fresh[1])
    repeated = [inequality(data, denominator="n", se="se", seed=5)["ci_lower"] for _ in range(2)]
    pd.testing.assert_series_equal(*repeated)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # value= names a column other than the default "rate", so ignoring it would fail
        ({"value": "share", "denominator": "n"}, {"rate": "share", "denominator": "n"}),
        ({"population": "n", "rate": "share"}, {"denominator": "n", "rate": "share"}),
        (
            {"higher_is_better": False, "denominator": "n", "rate": "share"},
            {"better": "lower", "denominator": "n", "rate": "share"},
        ),
    ],
)
def test_inequality_old_parameter_names_still_work_with_a_warning(quintiles, old, new):
    name = next(iter(old))
    data = quintiles.rename(columns={"rate": "share"})
    with pytest.warns(DeprecationWarning, match=f"{name}= is deprecated"):
        before = inequality(data, ordered=True, **old)
    pd.testing.assert_frame_equal(before, inequality(data, ordered=True, **new))


def test_inequality_refuses_a_parameter_and_its_old_name_together(quintiles):
    with pytest.raises(TypeError, match="both"):
        inequality(quintiles, rate="share", value="rate", denominator="n")
    with pytest.raises(TypeError, match="both"):
        inequality(quintiles, denominator="n", better="higher", higher_is_better=True)
