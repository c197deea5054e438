"""c2c_analysis.spc.funnel: funnel charts against hand-computed limits, Spiegelhalter's (2005) formulas and
FunnelPlotR's own functions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from c2c_analysis import C2CDataWarning, DataValidationError
from c2c_analysis.spc import FunnelResult, funnel_chart

Z95 = 1.959963984540054  # the standard normal 97.5% quantile
Z998 = 3.090232306167813  # the 99.9% quantile


@pytest.fixture
def four_units() -> pd.DataFrame:
    """Four units of 100 around a target of 0.5: z = -2, 0, 2, 4 (s = sqrt(.25/100) = .05)."""
    return pd.DataFrame(
        {
            "unit": ["A", "B", "C", "D"],
            "numerator": [40, 50, 60, 70],
            "denominator": [100, 100, 100, 100],
        }
    )


@pytest.fixture
def schools() -> pd.DataFrame:
    """Ten schools, two years each for some (rows sharing a unit are summed)."""
    return pd.DataFrame(
        {
            "school": ["s1", "s1", "s2", "s3", "s4", "s4", "s5", "s6", "s7", "s8", "s9", "s10"],
            "met": [40, 45, 180, 20, 300, 310, 15, 95, 60, 10, 140, 75],
            "cohort": [50, 55, 200, 40, 400, 410, 20, 100, 90, 30, 160, 100],
        }
    )


def _binomial_cdf(r: int, n: int, p: float) -> float:
    """F(r) of Binomial(n, p) by summing the probability function (no scipy)."""
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(r + 1))


def _hand_interpolated_limit(q: float, n: int, p: float) -> float:
    """Spiegelhalter (2005, Stat Med 24:1185, appendix A.1.1), by hand: r the smallest count
    with F(r) >= q, alpha = (F(r) - q) / (F(r) - F(r - 1)), limit (r - alpha) / n."""
    r = next(r for r in range(n + 1) if _binomial_cdf(r, n, p) >= q)
    at, below = _binomial_cdf(r, n, p), _binomial_cdf(r - 1, n, p)
    return (r - (at - q) / (at - below)) / n


# --- exact and normal limits ----------------------------------------------------------------


def test_exact_95_limits_for_p0_01_n100_follow_the_interpolation_formula():
    # Binomial(100, 0.1): F(4) = 0.02371108, F(5) = 0.05757689, so r_0.025 = 5 and
    # alpha = (0.05757689 - 0.025) / (0.05757689 - 0.02371108) = 0.96194045,
    # lower = (5 - 0.96194045) / 100 = 0.04038060.
    # F(15) = 0.96010947, F(16) = 0.97940119, so r_0.975 = 16 and
    # alpha = (0.97940119 - 0.975) / (0.97940119 - 0.96010947) = 0.22813884,
    # upper = (16 - 0.22813884) / 100 = 0.15771861.
    data = pd.DataFrame({"unit": ["a"], "numerator": [10], "denominator": [100]})
    row = funnel_chart(data, target=0.1, overdispersion=False).table.iloc[0]
    assert row["lower_95"] == pytest.approx(0.04038060, abs=1e-8)
    assert row["upper_95"] == pytest.approx(0.15771861, abs=1e-8)
    assert row["lower_95"] == pytest.approx(_hand_interpolated_limit(0.025, 100, 0.1), rel=1e-12)
    assert row["upper_95"] == pytest.approx(_hand_interpolated_limit(0.975, 100, 0.1), rel=1e-12)


def test_exact_998_limits_for_p0_01_n100_follow_the_interpolation_formula():
    # F(1) = 0.00032169, F(2) = 0.00194488: r_0.001 = 2, alpha = (0.00194488 - 0.001) /
    # (0.00194488 - 0.00032169) = 0.58211350, lower = (2 - 0.58211350) / 100 = 0.01417886.
    # F(19) = 0.99802144, F(20) = 0.99919243: r_0.999 = 20, alpha = (0.99919243 - 0.999) /
    # (0.99919243 - 0.99802144) = 0.16432815, upper = (20 - 0.16432815) / 100 = 0.19835672.
    data = pd.DataFrame({"unit": ["a"], "numerator": [10], "denominator": [100]})
    row = funnel_chart(data, target=0.1, overdispersion=False).table.iloc[0]
    assert row["lower_998"] == pytest.approx(0.01417886, abs=1e-8)
    assert row["upper_998"] == pytest.approx(0.19835672, abs=1e-8)


def test_exact_limits_are_continuous_across_the_discrete_quantile_steps():
    # Without interpolation the limit jumps by 1/n where r changes; with it, neighbouring
    # sizes differ by far less than a step of one student.
    data = pd.DataFrame({"unit": ["a"], "numerator": [10], "denominator": [100]})
    result = funnel_chart(data, target=0.1, overdispersion=False)
    curves = result.limits(np.arange(200, 301))
    assert np.abs(np.diff(curves["upper_95"])).max() < 0.25 / 200


def test_exact_limits_approach_the_normal_ones_for_large_units():
    # The binomial tends to the normal: at n = 10^6 both give 0.1 ± 1.96 * 0.0003.
    data = pd.DataFrame({"unit": ["a"], "numerator": [100_000], "denominator": [1_000_000]})
    exact = funnel_chart(data, target=0.1, overdispersion=False).table.iloc[0]
    normal = funnel_chart(data, target=0.1, overdispersion=False, method="normal").table.iloc[0]
    assert exact["upper_95"] == pytest.approx(normal["upper_95"], abs=2e-6)
    assert exact["lower_998"] == pytest.approx(normal["lower_998"], abs=2e-6)


def test_normal_limits_are_p0_plus_minus_z_times_the_binomial_standard_error():
    # 0.1 ± 1.959964 * sqrt(0.1 * 0.9 / 100) = 0.1 ± 0.0587989 = 0.0412011, 0.1587989;
    # 99.8%: 0.1 ± 3.090232 * 0.03 = 0.0072930, 0.1927070.
    data = pd.DataFrame({"unit": ["a"], "numerator": [10], "denominator": [100]})
    row = funnel_chart(data, target=0.1, overdispersion=False, method="normal").table.iloc[0]
    assert row["lower_95"] == pytest.approx(0.1 - Z95 * 0.03, abs=1e-12)
    assert row["upper_95"] == pytest.approx(0.1587989, abs=1e-7)
    assert row["lower_998"] == pytest.approx(0.1 - Z998 * 0.03, abs=1e-12)
    assert row["upper_998"] == pytest.approx(0.1927070, abs=1e-7)


def test_normal_limits_are_clipped_to_proportions():
    # 0.02 - 3.09 * sqrt(0.02 * 0.98 / 10) < 0, so the lower limit is 0.
    data = pd.DataFrame({"unit": ["a"], "numerator": [0], "denominator": [10]})
    row = funnel_chart(data, target=0.02, overdispersion=False, method="normal").table.iloc[0]
    assert row["lower_998"] == 0.0
    assert 0 < row["upper_998"] <= 1


def test_custom_levels_name_their_columns():
    data = pd.DataFrame({"unit": ["a"], "numerator": [10], "denominator": [100]})
    table = funnel_chart(data, target=0.1, levels=(0.99,), overdispersion=False).table
    assert {"lower_99", "upper_99", "flag_99"} <= set(table.columns)
    assert "lower_95" not in table.columns


# --- centre ---------------------------------------------------------------------------------


def test_rows_sharing_a_unit_are_summed_and_the_centre_is_the_pooled_rate(schools):
    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    table = result.table
    assert table["unit"].tolist() == [f"s{i}" for i in range(1, 11)]
    assert table.loc[0, ["numerator", "denominator"]].tolist() == [85, 105]  # 40+45, 50+55
    assert table.loc[3, ["numerator", "denominator"]].tolist() == [610, 810]  # 300+310, 400+410
    # Σ met / Σ cohort = 1290 / 1655
    assert result.summary.loc[0, "centre"] == pytest.approx(1290 / 1655)
    assert result.summary.loc[0, "centre_source"] == "pooled"
    assert "pooled" in result.notes[0]


def test_a_target_is_the_centre_and_the_result_says_so(schools):
    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school", target=0.8)
    assert result.summary.loc[0, "centre"] == 0.8
    assert result.summary.loc[0, "centre_source"] == "target"
    assert result.settings["target"] == 0.8
    assert result.summary.loc[0, "method"] == "exact"
    assert any("interpolation" in note for note in result.notes)


# --- over-dispersion (Spiegelhalter 2005, Qual Saf Health Care 14:347) ----------------------


def test_phi_is_the_mean_squared_z_score(four_units):
    # z = (0.4 - 0.5) / 0.05 = -2, 0, 2, 4; phi = (4 + 0 + 4 + 16) / 4 = 6.
    result = funnel_chart(four_units, target=0.5, winsorize=None, overdispersion=False)
    assert result.table["z"].tolist() == pytest.approx([-2, 0, 2, 4])
    assert result.summary.loc[0, "phi"] == pytest.approx(6.0)


def test_phi_winsorised_at_10_and_90_percent(four_units):
    # The 10th and 90th percentiles of (-2, 0, 2, 4) (linear, R type 7): positions 0.3 and
    # 2.7 -> -2 + 0.3 * 2 = -1.4 and 2 + 0.7 * 2 = 3.4; z becomes (-1.4, 0, 2, 3.4) and
    # phi = (1.96 + 0 + 4 + 11.56) / 4 = 4.38.
    result = funnel_chart(four_units, target=0.5, winsorize=0.1, overdispersion=False)
    assert result.summary.loc[0, "phi"] == pytest.approx(4.38)


def test_tau2_by_the_moment_estimator(four_units):
    # w = 1 / 0.05^2 = 400 each: Σw - Σw²/Σw = 1600 - 640000 / 1600 = 1200.
    # Unwinsorised: (4 * 6 - 3) / 1200 = 0.0175; winsorised: (4 * 4.38 - 3) / 1200 = 0.0121.
    plain = funnel_chart(four_units, target=0.5, winsorize=None, overdispersion="additive")
    trimmed = funnel_chart(four_units, target=0.5, winsorize=0.1, overdispersion="additive")
    assert plain.summary.loc[0, "tau2"] == pytest.approx(0.0175)
    assert trimmed.summary.loc[0, "tau2"] == pytest.approx(0.0121)


def test_tau2_is_zero_when_i_phi_does_not_exceed_i_minus_1():
    # z = -0.4, 0, 0.4 (numerators 48, 50, 52 of 100): I * phi = 0.32 < I - 1 = 2.
    data = pd.DataFrame({"unit": list("abc"), "numerator": [48, 50, 52], "denominator": [100] * 3})
    result = funnel_chart(data, target=0.5, winsorize=None, overdispersion="additive")
    assert result.summary.loc[0, "tau2"] == 0.0


def test_multiplicative_limits_widen_the_normal_ones_by_sqrt_phi(four_units):
    # 0.5 ± 1.959964 * sqrt(6) * 0.05 = 0.5 ± 0.2400456
    result = funnel_chart(
        four_units, target=0.5, winsorize=None, overdispersion="multiplicative", method="normal"
    )
    row = result.table.iloc[0]
    assert row["lower_95"] == pytest.approx(0.5 - Z95 * math.sqrt(6) * 0.05)
    assert row["upper_998"] == pytest.approx(0.5 + Z998 * math.sqrt(6) * 0.05)
    assert result.table["z_adjusted"].tolist() == pytest.approx(
        (np.array([-2, 0, 2, 4]) / math.sqrt(6)).tolist()
    )


def test_additive_limits_add_tau2_to_the_sampling_variance(four_units):
    # 0.5 ± 1.959964 * sqrt(0.0025 + 0.0175) = 0.5 ± 0.2771808
    result = funnel_chart(
        four_units, target=0.5, winsorize=None, overdispersion="additive", method="normal"
    )
    row = result.table.iloc[0]
    assert row["lower_95"] == pytest.approx(0.5 - Z95 * math.sqrt(0.02))
    assert row["upper_95"] == pytest.approx(0.5 + Z95 * math.sqrt(0.02))
    assert result.table["z_adjusted"].iloc[3] == pytest.approx(0.2 / math.sqrt(0.02))


def test_exact_limits_with_multiplicative_adjustment_scale_the_distance_from_the_centre(
    four_units,
):
    exact = funnel_chart(four_units, target=0.5, winsorize=None, overdispersion=False)
    adjusted = funnel_chart(four_units, target=0.5, winsorize=None, overdispersion="multiplicative")
    for column in ("lower_95", "upper_95", "lower_998", "upper_998"):
        expected = 0.5 + math.sqrt(6) * (exact.table[column] - 0.5)
        assert adjusted.table[column].tolist() == pytest.approx(expected.clip(0, 1).tolist())


def test_overdispersion_true_adjusts_only_when_phi_exceeds_1(four_units):
    wide = funnel_chart(four_units, target=0.5)
    assert wide.summary.loc[0, "adjustment"] == "multiplicative"
    assert any("phi > 1" in note for note in wide.notes)
    tight = pd.DataFrame({"unit": list("abc"), "numerator": [48, 50, 52], "denominator": [100] * 3})
    calm = funnel_chart(tight, target=0.5)
    assert calm.summary.loc[0, "adjustment"] == "none"
    assert any("no adjustment" in note for note in calm.notes)
    plain = funnel_chart(tight, target=0.5, overdispersion=False)
    assert calm.table["upper_95"].tolist() == plain.table["upper_95"].tolist()


def test_explicit_multiplicative_never_narrows_the_binomial_limits():
    # phi = (0.16 + 0 + 0.16) / 3 < 1 is floored at 1.
    tight = pd.DataFrame({"unit": list("abc"), "numerator": [48, 50, 52], "denominator": [100] * 3})
    forced = funnel_chart(tight, target=0.5, winsorize=None, overdispersion="multiplicative")
    plain = funnel_chart(tight, target=0.5, overdispersion=False)
    assert forced.table["lower_95"].tolist() == pytest.approx(plain.table["lower_95"].tolist())
    assert any("floored at 1" in note for note in forced.notes)


def test_additive_arcsine_limits_against_funnelplotr():
    # FunnelPlotR (nhs-r-community/FunnelPlotR, commit 9020d49), data of its dev/workingout_binom.R,
    # computed by sourcing its R/od_adjustment.R and R/calculate_limits.R in R 4.2.2:
    #   d <- data.frame(group = letters[1:10],
    #     numerator = c(12, 30, 26, 50, 42, 71, 4, 29, 48, 36),
    #     denominator = c(82, 98, 100, 125, 162, 151, 12, 100, 82, 99))
    #   target <- sum(d$numerator) / sum(d$denominator)          # 0.344213649852
    #   d <- winsorisation(transformed_zscore(d, data_type = "PR"), trim_by = 0.1)
    #   phi <- phi_func(10, d$Wuzscore)                            # 4.00905291702
    #   tau2 <- tau_func(10, phi, d$s)                             # 0.00868825971002
    #   calculate_limits(data.frame(number_seq = c(50, 100, 150)), data_type = "PR",
    #                    tau2 = tau2, target = target, draw_adjusted = TRUE)
    #   odll95  0.149975238288 0.166015469299 0.171913413180
    #   odul998 0.697582316605 0.665275933909 0.653515201264
    #   (draw_adjusted = FALSE) ll95 0.220148053735 0.254671291738 0.270496106967
    # FunnelPlotR rounds its z quantiles to 1.959964 and 3.090232, hence abs=1e-7.
    data = pd.DataFrame(
        {
            "group": list("abcdefghij"),
            "numerator": [12, 30, 26, 50, 42, 71, 4, 29, 48, 36],
            "denominator": [82, 98, 100, 125, 162, 151, 12, 100, 82, 99],
        }
    )
    kwargs = {"unit": "group", "scale": "arcsine", "method": "normal"}
    result = funnel_chart(data, overdispersion="additive", **kwargs)
    assert result.summary.loc[0, "centre"] == pytest.approx(0.344213649852, abs=1e-12)
    assert result.summary.loc[0, "phi"] == pytest.approx(4.00905291702, abs=1e-10)
    assert result.summary.loc[0, "tau2"] == pytest.approx(0.00868825971002, abs=1e-13)
    assert result.table["z"].iloc[0] == pytest.approx(-4.245598617226, abs=1e-10)
    curves = result.limits([50, 100, 150])
    assert curves["lower_95"].tolist() == pytest.approx(
        [0.149975238288, 0.166015469299, 0.171913413180], abs=1e-7
    )
    assert curves["upper_998"].tolist() == pytest.approx(
        [0.697582316605, 0.665275933909, 0.653515201264], abs=1e-7
    )
    plain = funnel_chart(data, overdispersion=False, **kwargs).limits([50, 100, 150])
    assert plain["lower_95"].tolist() == pytest.approx(
        [0.220148053735, 0.254671291738, 0.270496106967], abs=1e-7
    )


# --- flags ----------------------------------------------------------------------------------


def test_units_beyond_the_limits_are_flagged_above_and_below():
    # Target 0.5, n = 100: exact 95% limits about 0.40 and 0.60, 99.8% about 0.35 and 0.65.
    data = pd.DataFrame(
        {
            "unit": ["high", "low", "mid", "edge"],
            "numerator": [70, 30, 50, 62],
            "denominator": [100, 100, 100, 100],
        }
    )
    result = funnel_chart(data, target=0.5, overdispersion=False)
    assert result.table["flag_998"].tolist() == ["above", "below", "within", "within"]
    assert result.table["flag_95"].tolist() == ["above", "below", "within", "above"]
    summary = result.summary.iloc[0]
    assert (summary["n_above_95"], summary["n_below_95"]) == (2, 1)
    assert (summary["n_above_998"], summary["n_below_998"]) == (1, 1)


def test_flags_on_the_discrete_step_are_counted_in_the_notes():
    # n = 10, centre 0.83: r_0.999 = 10 (F(9) = 1 - 0.83^10 = 0.8448 < 0.999), alpha =
    # (1 - 0.999) / 0.83^10 = 0.00644, upper = (10 - 0.00644) / 10 = 0.99936 < 1, so 10/10
    # is flagged above although P(R >= 10) = 0.83^10 = 0.155 > 0.001.
    data = pd.DataFrame({"unit": ["small"], "numerator": [10], "denominator": [10]})
    result = funnel_chart(data, target=0.83, overdispersion=False)
    row = result.table.iloc[0]
    assert row["upper_998"] == pytest.approx(1 - 0.001 / 0.83**10 / 10)
    assert row["flag_998"] == "above"
    assert any("1 unit(s) flagged at 99.8%" in note for note in result.notes)


def test_renaming_and_reordering_units_does_not_change_their_limits(schools):
    renamed = schools.assign(school=schools["school"].map(lambda s: f"School {s[1:]} (renamed)"))
    reordered = renamed.iloc[::-1].reset_index(drop=True)
    kwargs = {"numerator": "met", "denominator": "cohort", "unit": "school"}
    first = funnel_chart(schools, **kwargs).table.drop(columns="unit")
    second = funnel_chart(reordered, **kwargs).table.drop(columns="unit")
    second = second.iloc[::-1].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)


def test_the_input_is_not_modified(schools):
    before = schools.copy()
    funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    pd.testing.assert_frame_equal(schools, before)


# --- validation -----------------------------------------------------------------------------


def test_missing_columns_are_named():
    with pytest.raises(DataValidationError, match="'denominator'"):
        funnel_chart(pd.DataFrame({"unit": ["a"], "numerator": [1]}))


def test_negative_counts_are_refused_naming_the_unit():
    data = pd.DataFrame({"unit": ["a", "b"], "numerator": [-1, 2], "denominator": [10, 10]})
    with pytest.raises(DataValidationError, match=r"negative count \(a\)"):
        funnel_chart(data)


def test_a_numerator_above_its_denominator_is_refused():
    data = pd.DataFrame({"unit": ["a", "b"], "numerator": [11, 2], "denominator": [10, 10]})
    with pytest.raises(DataValidationError, match=r"larger than denominator \(a\)"):
        funnel_chart(data)


def test_a_zero_denominator_is_refused_naming_the_unit():
    data = pd.DataFrame(
        {"unit": ["Lincoln High", "b"], "numerator": [0, 2], "denominator": [0, 10]}
    )
    with pytest.raises(DataValidationError, match=r"zero \(Lincoln High\)"):
        funnel_chart(data)


def test_exact_limits_refuse_fractional_denominators_but_normal_accepts_them():
    data = pd.DataFrame({"unit": ["a", "b"], "numerator": [5, 2], "denominator": [10.5, 10]})
    with pytest.raises(DataValidationError, match="whole-number"):
        funnel_chart(data)
    assert funnel_chart(data, method="normal").table["denominator"].iloc[0] == 10.5


def test_a_target_given_as_a_percentage_is_refused_with_a_hint():
    data = pd.DataFrame({"unit": ["a"], "numerator": [5], "denominator": [10]})
    with pytest.raises(ValueError, match=r"use 0\.85"):
        funnel_chart(data, target=85)


def test_unknown_options_are_refused():
    data = pd.DataFrame({"unit": ["a"], "numerator": [5], "denominator": [10]})
    with pytest.raises(ValueError, match="method"):
        funnel_chart(data, method="wilson")
    with pytest.raises(ValueError, match="overdispersion"):
        funnel_chart(data, overdispersion="random")


def test_rows_without_counts_are_left_out_with_a_warning():
    data = pd.DataFrame(
        {"unit": ["a", "b", "c"], "numerator": [5, None, 7], "denominator": [10, 10, 10]}
    )
    with pytest.warns(C2CDataWarning, match="units: b"):
        result = funnel_chart(data)
    assert result.table["unit"].tolist() == ["a", "c"]
    assert any("left out" in note for note in result.notes)


def test_a_pooled_rate_of_zero_is_refused():
    data = pd.DataFrame({"unit": ["a", "b"], "numerator": [0, 0], "denominator": [10, 10]})
    with pytest.raises(ValueError, match="pooled rate is 0"):
        funnel_chart(data)


# --- the result object ----------------------------------------------------------------------


def test_result_is_frozen_and_json_safe(schools):
    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    assert isinstance(result, FunnelResult)
    with pytest.raises(AttributeError):
        result.table = pd.DataFrame()
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["summary"]["centre_source"] == "pooled"
    assert len(payload["table"]) == 10
    assert payload["settings"]["references"][0].startswith("Spiegelhalter")


def test_html_display_has_no_memory_address_and_escapes_unit_names():
    data = pd.DataFrame({"unit": ["<b>a</b>", "b"], "numerator": [5, 7], "denominator": [10, 10]})
    page = funnel_chart(data)._repr_html_()
    assert "0x" not in page
    assert "<b>a</b>" not in page
    assert "&lt;b&gt;a&lt;/b&gt;" in page


# --- the plot -------------------------------------------------------------------------------


def test_plot_draws_the_limits_of_the_result_over_a_smooth_grid(schools):
    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    ax = result.plot()
    lines = {line.get_label(): line for line in ax.lines}
    upper = lines["95% limits"]
    grid = upper.get_xdata()
    assert len(grid) > 100
    assert upper.get_ydata() == pytest.approx(result.limits(grid)["upper_95"].tolist())
    assert lines["centre"].get_ydata() == pytest.approx([result.summary.loc[0, "centre"]] * 2)
    assert "99.8% limits" in lines


def test_plot_shows_every_unit_and_labels_outer_outliers_literally():
    data = pd.DataFrame(
        {
            "unit": ["$x^2$ school", "low", "mid", "mid2"],
            "numerator": [90, 10, 50, 52],
            "denominator": [100, 100, 100, 100],
        }
    )
    result = funnel_chart(data, target=0.5, overdispersion=False)
    ax = result.plot()
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert sorted(points[:, 1].tolist()) == [0.1, 0.5, 0.52, 0.9]
    labels = {text.get_text(): text for text in ax.texts}
    assert set(labels) == {"$x^2$ school", "low"}
    assert not labels["$x^2$ school"].get_parse_math()
    assert [c.get_label() for c in ax.collections] == ["units", "beyond 99.8% limits"]


def test_plot_names_at_most_the_ten_most_extreme_outliers():
    # 30 units at 90% of 1000 around a 50% target: all far beyond the 99.8% limits; unit
    # k has 900 + k students meeting the outcome, so the last ten are the most extreme.
    data = pd.DataFrame(
        {
            "unit": [f"u{k}" for k in range(30)],
            "numerator": [900 + k for k in range(30)],
            "denominator": [1000] * 30,
        }
    )
    ax = funnel_chart(data, target=0.5, overdispersion=False).plot()
    assert sorted(text.get_text() for text in ax.texts) == sorted(f"u{k}" for k in range(20, 30))


def test_plot_y_range_follows_the_units_not_the_far_ends_of_the_curves(schools):
    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    low, high = result.plot().get_ylim()
    assert low > 0.25  # the lowest rate is 10/30; the curves at size 1 reach 0
    assert high <= 1.01
    assert low <= result.table["rate"].min()
    assert high >= result.table["rate"].max()


# --- the result's members (issue 19) --------------------------------------------------------


def test_conf_int_gives_each_units_limits_at_any_level(schools):
    from c2c_analysis.spc.funnel import level_suffix

    result = funnel_chart(schools, numerator="met", denominator="cohort", unit="school")
    at_95 = result.conf_int()
    assert at_95.columns.tolist() == ["unit", "denominator", "rate", "lower", "upper", "flag"]
    assert at_95["lower"].tolist() == result.table["lower_95"].tolist()
    assert at_95["upper"].tolist() == result.table["upper_95"].tolist()
    assert at_95["flag"].tolist() == result.table["flag_95"].tolist()
    # A level the chart was not drawn at is computed as a chart drawn at it would.
    at_90 = result.conf_int(0.9)
    drawn = funnel_chart(
        schools, numerator="met", denominator="cohort", unit="school", levels=(0.9, 0.95)
    )
    assert level_suffix(0.9) == "90"
    assert at_90["upper"].tolist() == pytest.approx(drawn.table["upper_90"].tolist())
    assert (at_90["upper"] <= at_95["upper"]).all()
    with pytest.raises(ValueError, match="confidence level"):
        result.conf_int(95)


def test_result_records_method_reference_and_version(four_units):
    result = funnel_chart(four_units, target=0.5, overdispersion=False)
    assert result.settings["method"] == "exact"  # the limits' method, as before
    assert result.settings["analysis"] == "Funnel plot"
    assert result.settings["method_reference"].startswith("Spiegelhalter (2005)")
    assert "24:1185-1202" in result.settings["method_reference"]
    assert result.settings["version"]
    payload = json.loads(json.dumps(result.to_dict()))
    assert sorted(payload) == ["notes", "settings", "summary", "table", "type"]
    assert payload["type"] == "FunnelResult"
    assert payload["notes"] == list(result.notes)
    assert repr(result).startswith("FunnelResult: Funnel chart of 4 units around the target")
