"""c2c_analysis.trends: rates with intervals, trends and baseline projections, checked against
hand-derived formulas and against statsmodels fitted one series at a time."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from c2c_analysis import C2CDataWarning, DataValidationError
from c2c_analysis.trends import baseline_summary, project_baseline, rates, trend

Z95 = stats.norm.ppf(0.975)


def series(years, num, den, **keys) -> pd.DataFrame:
    frame = pd.DataFrame({"year": years, "numerator": num, "denominator": den})
    for key, value in keys.items():
        frame[key] = value
    return frame


@pytest.fixture
def many(rng) -> pd.DataFrame:
    """Forty overdispersed series of 4-10 years with cohorts from 15 to 3,000."""
    frames = []
    for i in range(40):
        k = int(rng.integers(4, 11))
        years = np.sort(rng.choice(np.arange(2008, 2020), size=k, replace=False))
        n = rng.integers(15, 3000, size=k)
        eta = rng.normal(0, 1) + rng.normal(0, 0.1) * (years - 2014) + rng.normal(0, 0.15, size=k)
        x = rng.binomial(n, 1 / (1 + np.exp(-eta)))
        frames.append(series(years, x, n, partnership=f"p{i:02d}", group="All students"))
    return pd.concat(frames, ignore_index=True)


# --- rates --------------------------------------------------------------------------------


def test_wilson_interval_matches_the_hand_formula():
    # Wilson (1927): (x + z²/2)/(n + z²) ± z/(n + z²) · sqrt(x(n−x)/n + z²/4)
    x, n = 81, 100
    centre = (x + Z95**2 / 2) / (n + Z95**2)
    half = Z95 / (n + Z95**2) * math.sqrt(x * (n - x) / n + Z95**2 / 4)
    out = rates(pd.DataFrame({"numerator": [x], "denominator": [n]}))
    assert out.loc[0, "ci_lower"] == pytest.approx(centre - half, abs=1e-12)
    assert out.loc[0, "ci_upper"] == pytest.approx(centre + half, abs=1e-12)


def test_exact_interval_matches_beta_quantiles():
    # Clopper & Pearson (1934): Beta(x, n−x+1) and Beta(x+1, n−x) quantiles.
    out = rates(pd.DataFrame({"numerator": [3], "denominator": [12]}), method="exact", level=0.9)
    assert out.loc[0, "ci_lower"] == pytest.approx(stats.beta.ppf(0.05, 3, 10))
    assert out.loc[0, "ci_upper"] == pytest.approx(stats.beta.ppf(0.95, 4, 9))


def test_jeffreys_interval_matches_beta_quantiles():
    out = rates(pd.DataFrame({"numerator": [7], "denominator": [40]}), method="jeffreys")
    assert out.loc[0, "ci_lower"] == pytest.approx(stats.beta.ppf(0.025, 7.5, 33.5))
    assert out.loc[0, "ci_upper"] == pytest.approx(stats.beta.ppf(0.975, 7.5, 33.5))


def test_rows_without_counts_keep_their_rate_and_get_no_interval():
    frame = pd.DataFrame(
        {"numerator": [pd.NA, 0], "denominator": [pd.NA, 0], "rate": [0.7, np.nan]},
    ).astype({"numerator": "Int64", "denominator": "Int64"})
    out = rates(frame)
    assert out["rate"].tolist()[0] == 0.7
    assert np.isnan(out["rate"].iloc[1])
    assert out[["ci_lower", "ci_upper"]].isna().all().all()


def test_rates_does_not_modify_its_input():
    frame = pd.DataFrame({"numerator": [1, 2], "denominator": [4, 5]})
    before = frame.copy()
    rates(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_unknown_interval_method_is_refused():
    with pytest.raises(ValueError, match="wilson"):
        rates(pd.DataFrame({"numerator": [1], "denominator": [2]}), method="wald")  # type: ignore[arg-type]


# --- trend: binomial ----------------------------------------------------------------------


def _statsmodels_quasibinomial(frame, scale="X2"):
    """R: glm(cbind(x, n - x) ~ year, family = quasibinomial); statsmodels equivalent with
    proportions and var_weights (the two-column endog form gets the dispersion wrong in 0.15).
    ``scale=1.0`` is the binomial fit (same estimates, binomial standard errors)."""
    X = sm.add_constant(frame["year"].to_numpy(dtype=float))
    p = frame["numerator"] / frame["denominator"]
    return sm.GLM(p, X, family=sm.families.Binomial(), var_weights=frame["denominator"]).fit(
        scale=scale
    )


@pytest.mark.parametrize("floor", [False, True])
def test_binomial_trend_matches_statsmodels_quasibinomial_for_every_series(many, floor):
    # Without the floor: R's quasibinomial as is. With it (the default), the same fit with the
    # dispersion max(X²/df, 1): statsmodels' fit(scale=max(X²/df, 1)).
    result = trend(many, by=["partnership"], dispersion_floor=floor)
    floored = 0
    for (partnership,), frame in many.groupby(["partnership"]):
        fit = _statsmodels_quasibinomial(frame)
        estimate = fit.scale
        row = result.set_index("partnership").loc[partnership]
        assert row["dispersion"] == pytest.approx(estimate, rel=1e-7)  # reported unfloored
        assert row["dispersion_floored"] == (floor and estimate < 1)
        if row["dispersion_floored"]:
            floored += 1
            fit = _statsmodels_quasibinomial(frame, scale=1.0)
        p_bar = frame["numerator"].sum() / frame["denominator"].sum()
        scale = 100 * p_bar * (1 - p_bar)
        assert row["slope_pp"] == pytest.approx(fit.params.iloc[1] * scale, rel=1e-7)
        df = len(frame) - 2
        half = stats.t.ppf(0.975, df) * fit.bse.iloc[1] * scale
        assert row["ci_upper_pp"] - row["slope_pp"] == pytest.approx(half, rel=1e-7)
        expected_p = 2 * stats.t.sf(abs(fit.params.iloc[1] / fit.bse.iloc[1]), df)
        assert row["p_value"] == pytest.approx(expected_p, rel=1e-6)
    # Both branches ran: the seeded fixture has underdispersed series (3 of its 40).
    assert (floored > 0) if floor else (floored == 0)


def test_quasibinomial_dispersion_is_pearson_chi2_over_df_by_hand():
    # Hand derivation: fit the binomial MLE of logit(p) = a + b·year with scipy, then
    # dispersion = Σ (x − nμ)² / (nμ(1−μ)) / (k − 2) and se(b)² = dispersion · [(X'WX)⁻¹]₂₂.
    from scipy.optimize import minimize

    years = np.array([2010, 2011, 2012, 2013, 2014, 2015.0])
    n = np.array([400, 380, 420, 410, 390, 405.0])
    x = np.array([220, 231, 262, 270, 290, 281.0])
    t = years - years.mean()

    def nll(params):
        eta = params[0] + params[1] * t
        return -np.sum(x * eta - n * np.logaddexp(0, eta))

    a, b = minimize(nll, [0.0, 0.0], method="BFGS", options={"gtol": 1e-12}).x
    mu = 1 / (1 + np.exp(-(a + b * t)))
    dispersion = np.sum((x - n * mu) ** 2 / (n * mu * (1 - mu))) / (len(x) - 2)
    X = np.column_stack([np.ones_like(t), t])
    cov = np.linalg.inv(X.T @ (X * (n * mu * (1 - mu))[:, None])) * dispersion
    p_bar = x.sum() / n.sum()
    result = trend(series(years, x, n)).iloc[0]
    assert result["dispersion"] == pytest.approx(dispersion, rel=1e-5)
    assert result["slope_pp"] == pytest.approx(b * 100 * p_bar * (1 - p_bar), rel=1e-5)
    half = stats.t.ppf(0.975, 4) * math.sqrt(cov[1, 1]) * 100 * p_bar * (1 - p_bar)
    assert result["ci_upper_pp"] - result["slope_pp"] == pytest.approx(half, rel=1e-4)


def test_binomial_interval_widens_with_overdispersion():
    years = np.arange(2010, 2018)
    n = np.full(8, 1000)
    smooth = trend(series(years, [500, 510, 520, 530, 540, 550, 560, 570], n)).iloc[0]
    noisy = trend(series(years, [500, 560, 490, 580, 520, 600, 530, 590], n)).iloc[0]
    assert noisy["dispersion"] > 10 * max(smooth["dispersion"], 0.1)
    assert (
        noisy["ci_upper_pp"] - noisy["ci_lower_pp"] > smooth["ci_upper_pp"] - smooth["ci_lower_pp"]
    )


# --- trend: the dispersion floor -----------------------------------------------------------

# Six annual cohorts of 1,000 whose counts are the logistic line 0.2 + 0.15 (year − 2017.5)
# rounded to whole students: the rates vary far less than binomial sampling would make them.
NEAR_LINE = series(np.arange(2015, 2021), [456, 494, 531, 568, 605, 640], np.full(6, 1000))


def test_underdispersed_series_gets_the_binomial_standard_error_by_default():
    # R: glm(cbind(x, n - x) ~ year, family = binomial): statsmodels' binomial GLM (scale 1).
    fit = _statsmodels_quasibinomial(NEAR_LINE, scale=1.0)
    raw = _statsmodels_quasibinomial(NEAR_LINE).scale
    assert raw < 0.001  # Pearson X² / df of the rounded line
    row = trend(NEAR_LINE).iloc[0]
    p_bar = 3294 / 6000
    half = stats.t.ppf(0.975, 4) * fit.bse.iloc[1] * 100 * p_bar * (1 - p_bar)
    # rel 1e-6: the two IRLS runs stop at slightly different iterates.
    assert row["ci_upper_pp"] - row["slope_pp"] == pytest.approx(half, rel=1e-6)
    assert row["dispersion"] == pytest.approx(raw, rel=1e-6)
    assert bool(row["dispersion_floored"]) is True


def test_without_the_floor_the_underdispersed_standard_error_shrinks_with_the_estimate():
    # Quasi-binomial as is: se = binomial se · √(X² / df), a fiftieth of the binomial one here.
    fit = _statsmodels_quasibinomial(NEAR_LINE)
    row = trend(NEAR_LINE, dispersion_floor=False).iloc[0]
    p_bar = 3294 / 6000
    half = stats.t.ppf(0.975, 4) * fit.bse.iloc[1] * 100 * p_bar * (1 - p_bar)
    assert row["ci_upper_pp"] - row["slope_pp"] == pytest.approx(half, rel=1e-7)
    floored = trend(NEAR_LINE).iloc[0]
    width = row["ci_upper_pp"] - row["ci_lower_pp"]
    assert width == pytest.approx(
        (floored["ci_upper_pp"] - floored["ci_lower_pp"]) * math.sqrt(fit.scale), rel=1e-7
    )
    assert row["p_value"] < 1e-9 < floored["p_value"]
    assert bool(row["dispersion_floored"]) is False


def test_overdispersed_series_is_the_same_with_or_without_the_floor():
    noisy = NEAR_LINE.assign(numerator=[540, 575, 560, 610, 590, 640])
    floored, raw = trend(noisy), trend(noisy, dispersion_floor=False)
    assert floored.loc[0, "dispersion"] > 1
    pd.testing.assert_frame_equal(floored, raw)
    assert not floored["dispersion_floored"].any()


def test_ols_and_logit_trends_are_never_floored(many):
    for method in ("ols", "logit"):
        assert not trend(many, by=["partnership"], method=method)["dispersion_floored"].any()


# --- trend: ols and logit -------------------------------------------------------------------


def test_ols_trend_matches_statsmodels_newey_west(many):
    result = trend(many, by=["partnership"], method="ols").set_index("partnership")
    for (partnership,), frame in many.groupby(["partnership"]):
        y = frame["numerator"] / frame["denominator"]
        lags = math.floor(4 * (len(frame) / 100) ** (2 / 9))
        fit = sm.OLS(y, sm.add_constant(frame["year"].astype(float))).fit(
            cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
        )
        row = result.loc[partnership]
        assert row["slope_pp"] == pytest.approx(100 * fit.params.iloc[1], rel=1e-9)
        low, high = fit.conf_int().iloc[1]
        assert row["ci_lower_pp"] == pytest.approx(100 * low, rel=1e-7)
        assert row["ci_upper_pp"] == pytest.approx(100 * high, rel=1e-7)


def test_logit_trend_matches_ols_on_empirical_logits(many):
    result = trend(many, by=["partnership"], method="logit").set_index("partnership")
    for (partnership,), frame in many.groupby(["partnership"]):
        x, n = frame["numerator"], frame["denominator"]
        z = np.log((x + 0.5) / (n - x + 0.5))
        fit = sm.OLS(z, sm.add_constant(frame["year"].astype(float))).fit()
        p_bar = (x / n).mean()
        row = result.loc[partnership]
        assert row["slope_pp"] == pytest.approx(
            100 * fit.params.iloc[1] * p_bar * (1 - p_bar), rel=1e-9
        )
        assert row["p_value"] == pytest.approx(fit.pvalues.iloc[1], rel=1e-7)


# --- trend: bookkeeping ---------------------------------------------------------------------


def test_average_change_is_mean_change_per_period_by_hand():
    # (0.60 − 0.50) / (2016 − 2011) = 2 points a year, whatever happens in between.
    result = trend(series([2011, 2013, 2016], [50, 70, 60], [100, 100, 100])).iloc[0]
    assert result["average_change_pp"] == pytest.approx(2.0)


def test_too_few_periods_give_no_slope_and_say_why():
    result = trend(series([2014, 2015], [50, 60], [100, 100])).iloc[0]
    assert np.isnan(result["slope_pp"])
    assert "too few periods (2)" in result["note"]


def test_short_series_and_missing_periods_are_noted():
    note = trend(series([2010, 2011, 2013, 2014], [50, 52, 55, 58], [100] * 4)).iloc[0]["note"]
    assert "short series (4 periods)" in note
    assert "missing periods: 2012" in note


def test_suppressed_rows_are_left_out_and_counted_in_the_note():
    frame = series([2010, 2011, 2012, 2013], [50, None, 55, 58], [100, None, 100, 100]).astype(
        {"numerator": "Int64", "denominator": "Int64"}
    )
    result = trend(frame).iloc[0]
    assert result["n_periods"] == 3
    assert "1 row(s) without a usable value left out" in result["note"]


def test_series_with_no_usable_rows_is_reported_not_dropped():
    frame = pd.concat(
        [
            series([2010, 2011, 2012], [5, 6, 7], [10, 10, 10], group="A"),
            series([2010, 2011], [None, None], [None, None], group="B"),
        ],
        ignore_index=True,
    )
    result = trend(frame.astype({"numerator": "Float64", "denominator": "Float64"}), by=["group"])
    assert result["group"].tolist() == ["A", "B"]
    assert result.loc[1, "n_periods"] == 0


def test_all_zero_or_all_full_rates_have_no_logit_trend():
    result = trend(series([2010, 2011, 2012, 2013], [20, 30, 25, 40], [20, 30, 25, 40])).iloc[0]
    assert np.isnan(result["slope_pp"])
    assert "0% or 100%" in result["note"]


def test_default_series_keys_are_the_canonical_keys(many):
    frame = many.assign(outcome="hs_graduation", dimension="all")
    result = trend(frame)
    assert list(result.columns[:3]) == ["partnership", "outcome", "dimension"]
    assert len(result) == 40


def test_by_may_be_one_column_name(many):
    pd.testing.assert_frame_equal(trend(many, by="partnership"), trend(many, by=["partnership"]))
    one = project_baseline(many, baseline=(2008, 2019), by="partnership")
    pd.testing.assert_frame_equal(
        one, project_baseline(many, baseline=(2008, 2019), by=["partnership"])
    )
    assert list(one.columns[:2]) == ["partnership", "year"]


def test_missing_count_columns_and_a_bad_level_are_refused_by_the_shared_checks():
    frame = series([2010, 2011, 2012], [1, 2, 3], [10, 10, 10])
    for call in (trend, rates):
        with pytest.raises(DataValidationError, match="required column is missing"):
            call(frame, numerator="n", denominator="d")
    for level in (95, 0.0, True):
        for call in (trend, rates):
            with pytest.raises(ValueError, match="confidence level"):
                call(frame, level=level)
        with pytest.raises(ValueError, match="confidence level"):
            project_baseline(frame, baseline=(2010, 2012), level=level)


def test_the_package_exports_the_old_modules_names():
    import c2c_analysis.trends as trends

    assert sorted(trends.__all__) == [
        "baseline_summary",
        "project_baseline",
        "projection_keys",
        "rates",
        "trend",
    ]
    assert trends.SHORT_SERIES == 6
    assert "projected" in trends.PROJECTION_COLUMNS


def test_two_rows_for_one_series_and_period_is_an_error():
    frame = series([2010, 2010, 2011], [1, 2, 3], [10, 10, 10])
    with pytest.raises(DataValidationError, match="repeat a series and period"):
        trend(frame)


def test_range_coded_rows_are_used_at_their_midpoint_with_a_warning():
    frame = pd.DataFrame(
        {
            "year": [2010, 2011, 2012],
            "rate": [np.nan, 0.6, 0.7],
            "rate_low": [0.5, np.nan, np.nan],
            "rate_high": [0.54, np.nan, np.nan],
        }
    )
    with pytest.warns(C2CDataWarning, match="midpoint"):
        result = trend(frame, method="ols").iloc[0]
    assert result["average_change_pp"] == pytest.approx(100 * (0.7 - 0.52) / 2)


def test_binomial_trend_leaves_range_coded_rows_out():
    frame = pd.DataFrame(
        {
            "year": [2010, 2011, 2012, 2013],
            "numerator": [np.nan, 60, 70, 75],
            "denominator": [np.nan, 100, 100, 100],
            "rate_low": [0.5, np.nan, np.nan, np.nan],
            "rate_high": [0.54, np.nan, np.nan, np.nan],
        }
    )
    with pytest.warns(C2CDataWarning):
        result = trend(frame).iloc[0]
    assert result["n_periods"] == 3


# --- baseline projection --------------------------------------------------------------------


TACOMA_LIKE = series(
    np.arange(2010, 2019),
    [550, 617, 675, 726, 783, 826, 850, 861, 893],
    [1000] * 9,
    partnership="tacoma",
    outcome="hs_graduation",
    dimension="all",
    group="All students",
)


def test_linear_projection_matches_statsmodels_prediction_interval():
    out = project_baseline(TACOMA_LIKE, baseline=(2010, 2013), level=0.9)
    base = TACOMA_LIKE[TACOMA_LIKE["year"] <= 2013]
    fit = sm.OLS(
        base["numerator"] / base["denominator"], sm.add_constant(base["year"].astype(float))
    ).fit()
    later = sm.add_constant(out["year"].astype(float).to_numpy())
    frame = fit.get_prediction(later).summary_frame(alpha=0.1)
    assert out["projected"].to_numpy() == pytest.approx(frame["mean"].to_numpy())
    assert out["pi_lower"].to_numpy() == pytest.approx(frame["obs_ci_lower"].to_numpy())
    assert out["pi_upper"].to_numpy() == pytest.approx(frame["obs_ci_upper"].to_numpy())


def test_logit_projection_stays_inside_zero_and_one():
    out = project_baseline(TACOMA_LIKE, baseline=(2010, 2013), through=2040, method="logit")
    assert out["pi_upper"].max() < 1
    assert out["pi_lower"].min() > 0
    linear = project_baseline(TACOMA_LIKE, baseline=(2010, 2013), through=2040)
    assert linear["projected"].max() > 1  # the reason the logit method exists


def test_logit_projection_matches_ols_on_empirical_logits_transformed_back():
    out = project_baseline(TACOMA_LIKE, baseline=(2010, 2014), method="logit")
    base = TACOMA_LIKE[TACOMA_LIKE["year"] <= 2014]
    x, n = base["numerator"], base["denominator"]
    fit = sm.OLS(
        np.log((x + 0.5) / (n - x + 0.5)), sm.add_constant(base["year"].astype(float))
    ).fit()
    frame = fit.get_prediction(sm.add_constant(out["year"].astype(float).to_numpy())).summary_frame(
        alpha=0.05
    )
    expit = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    assert out["projected"].to_numpy() == pytest.approx(expit(frame["mean"].to_numpy()))
    assert out["pi_upper"].to_numpy() == pytest.approx(expit(frame["obs_ci_upper"].to_numpy()))


def test_difference_in_students_is_the_gap_times_the_cohort():
    out = project_baseline(TACOMA_LIKE, baseline=(2010, 2013)).set_index("year")
    row = out.loc[2016]
    assert row["difference_students"] == pytest.approx((0.850 - row["projected"]) * 1000)
    assert row["difference_pp"] == pytest.approx((0.850 - row["projected"]) * 100)


def test_missing_years_are_projected_with_no_actual():
    frame = TACOMA_LIKE[TACOMA_LIKE["year"] != 2015]
    out = project_baseline(frame, baseline=(2010, 2013), through=2020).set_index("year")
    assert np.isnan(out.loc[2015, "actual"])
    assert 2020 in out.index
    assert not out.loc[2015, "beyond_interval"]


def test_fewer_than_three_baseline_points_is_an_error_naming_the_series():
    frame = pd.concat(
        [TACOMA_LIKE, TACOMA_LIKE.assign(group="Black").query("year != 2011")], ignore_index=True
    )
    with pytest.raises(DataValidationError, match="group=Black") as caught:
        project_baseline(frame, baseline=(2010, 2012))
    assert "at least 3" in str(caught.value)
    assert len(caught.value.problems) == 1


def _jumped(better: str, after: list[int]) -> pd.DataFrame:
    num = [500, 505, 498, 502, 500, *after]
    outcome = "hs_graduation" if better == "higher" else "chronic_absence"
    return series(
        np.arange(2010, 2010 + len(num)),
        num,
        [1000] * len(num),
        outcome=outcome,
        group="All students",
    )


def test_summary_turned_the_curve_since_the_first_period_of_the_final_run():
    out = project_baseline(_jumped("higher", [560, 480, 570, 580]), baseline=(2010, 2014))
    summary = baseline_summary(out).iloc[0]
    assert summary["verdict"] == "turned_the_curve"
    assert summary["turned_since"] == 2017
    assert summary["periods_better"] == 3


def test_summary_for_an_outcome_where_lower_is_better():
    out = project_baseline(_jumped("lower", [470, 440, 430]), baseline=(2010, 2014))
    assert out["better"].iloc[0] == "lower"
    assert baseline_summary(out).iloc[0]["verdict"] == "turned_the_curve"
    worse = project_baseline(_jumped("lower", [560, 570, 590]), baseline=(2010, 2014))
    assert baseline_summary(worse).iloc[0]["verdict"] == "below_baseline"


def test_summary_within_noise_and_on_baseline():
    within = baseline_summary(
        project_baseline(_jumped("higher", [503]), baseline=(2010, 2014))
    ).iloc[0]
    on = baseline_summary(project_baseline(_jumped("higher", [499]), baseline=(2010, 2014))).iloc[0]
    assert within["verdict"] == "above_baseline_within_noise"
    assert on["verdict"] == "on_baseline"


def test_summary_without_data_after_the_baseline():
    out = project_baseline(_jumped("higher", []), baseline=(2010, 2014), through=2016)
    assert baseline_summary(out).iloc[0]["verdict"] == "no_data_after_baseline"


def test_separated_series_gets_no_slope_and_a_note():
    # 0%, 0%, 50%, 100%, 100%: quasi-complete separation at 2012; the likelihood keeps rising
    # as the slope grows, so there is no finite estimate.
    result = trend(series([2010, 2011, 2012, 2013, 2014], [0, 0, 5, 10, 10], [10] * 5)).iloc[0]
    assert np.isnan(result["slope_pp"])
    assert "did not converge" in result["note"]


# --- monthly periods ---------------------------------------------------------------------------


def test_monthly_trend_is_per_month_and_notes_missing_months():
    from c2c_analysis import load_sample

    data = load_sample("indicators").query(
        "partnership == 'riverton' and outcome == 'attendance_rate' and dimension == 'all'"
    )
    result = trend(data, method="ols").iloc[0]
    assert result["first_period"] == pd.Timestamp("2014-09-01")
    assert "missing months: 2015-07, 2015-08" in result["note"]
    # Same slope as OLS on a month counter (year * 12 + month).
    months = data["period"].dt.year * 12 + data["period"].dt.month
    rate = (data["numerator"] / data["denominator"]).to_numpy(dtype=float)
    fit = sm.OLS(rate, sm.add_constant(months.to_numpy(dtype=float))).fit()
    assert result["slope_pp"] == pytest.approx(100 * fit.params[1], rel=1e-9)


def test_monthly_baseline_shows_tacomas_strategy_turning_chronic_absence():
    from c2c_analysis import load_sample

    data = load_sample("indicators").query("outcome == 'chronic_absence' and dimension == 'all'")
    out = project_baseline(data, baseline=(pd.Timestamp("2014-09-01"), pd.Timestamp("2016-12-01")))
    summary = baseline_summary(out, time="period").set_index("partnership")
    assert out["better"].unique().tolist() == ["lower"]
    # Tacoma's strategy began in January 2017 (data/sample/README.md): most later months are
    # below the baseline's interval; Riverton, with no strategy, has none. (The last month,
    # June, is a seasonal high, so the last-period verdict is only "within noise".)
    assert summary.loc["tacoma", "periods_better"] >= 13
    assert summary.loc["riverton", "periods_better"] == 0
    assert summary.loc["tacoma", "difference_pp"] < 0


# --- many series at once equal one series at a time (issue 18) -------------------------------


def _reference_baseline_summary(projection: pd.DataFrame, time: str = "year") -> pd.DataFrame:
    """The per-series loop baseline_summary was before it was vectorised (kept here only as
    the definition the vectorised version must reproduce)."""
    from c2c_analysis.trends import projection_keys

    keys = projection_keys(projection, time)
    rows = []
    for key, frame in projection.groupby(keys, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        frame = frame.sort_values(time)
        base = frame[frame["in_baseline"]]
        after = frame[
            ~frame["in_baseline"] & frame["actual"].notna() & (frame[time] > base[time].max())
        ]
        higher = frame["better"].iloc[0] == "higher"
        up, down = after["actual"] > after["pi_upper"], after["actual"] < after["pi_lower"]
        better, worse = (up, down) if higher else (down, up)
        row = dict(zip(keys, key, strict=True))
        row.update(baseline_first=base[time].min(), baseline_last=base[time].max())
        if after.empty:
            row.update(
                last_period=np.nan, actual=np.nan, projected=np.nan, pi_lower=np.nan,
                pi_upper=np.nan, difference_pp=np.nan, periods_after=0, periods_better=0,
                periods_worse=0, turned=False, turned_since=np.nan,
                verdict="no_data_after_baseline",
            )  # fmt: skip
            rows.append(row)
            continue
        last = after.iloc[-1]
        turned = bool(better.iloc[-1])
        since = np.nan
        if turned:
            run = better.to_numpy()[::-1]
            length = int(np.argmin(run)) if not run.all() else len(run)
            since = after[time].iloc[len(run) - length]
        ahead = last["actual"] > last["projected"] if higher else last["actual"] < last["projected"]
        if turned:
            verdict = "turned_the_curve"
        elif bool(worse.iloc[-1]):
            verdict = "below_baseline"
        else:
            verdict = "above_baseline_within_noise" if ahead else "on_baseline"
        row.update(
            last_period=last[time], actual=last["actual"], projected=last["projected"],
            pi_lower=last["pi_lower"], pi_upper=last["pi_upper"],
            difference_pp=100 * (last["actual"] - last["projected"]), periods_after=len(after),
            periods_better=int(better.sum()), periods_worse=int(worse.sum()), turned=turned,
            turned_since=since, verdict=verdict,
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture
def jumpy(rng) -> pd.DataFrame:
    """300 series of 2010-2019 (a third where lower is better), some jumping after 2014,
    some with withheld post-baseline years, and rows in shuffled order."""
    k = 300
    frame = pd.DataFrame(
        {
            "partnership": np.repeat([f"p{i % 7}" for i in range(k)], 10),
            "outcome": np.repeat(
                np.where(np.arange(k) % 3 == 0, "chronic_absence", "hs_graduation"), 10
            ),
            "group": np.repeat([f"g{i:03d}" for i in range(k)], 10),
            "year": np.tile(np.arange(2010, 2020), k),
        }
    )
    shift = np.repeat(rng.choice([-0.15, 0.0, 0.15], k), 10) * (frame["year"] > 2014)
    p = np.clip(np.repeat(rng.uniform(0.3, 0.7, k), 10) + shift, 0.01, 0.99)
    frame["denominator"] = rng.integers(50, 400, len(frame))
    frame["numerator"] = rng.binomial(frame["denominator"], p).astype(float)
    withheld = (frame["year"] > 2014) & (rng.random(len(frame)) < 0.2)
    frame.loc[withheld, "numerator"] = np.nan
    frame.loc[frame["group"] == "g000", "numerator"] = np.where(
        frame.loc[frame["group"] == "g000", "year"] > 2014, np.nan, 50
    )
    return frame.sample(frac=1, random_state=3).reset_index(drop=True)


def test_baseline_summary_of_many_series_equals_the_per_series_loop(jumpy):
    projection = project_baseline(jumpy, baseline=(2010, 2014), through=2020)
    expected = _reference_baseline_summary(projection)
    result = baseline_summary(projection)
    pd.testing.assert_frame_equal(result, expected)
    # The fixture reaches every verdict, so every branch of the loop is compared.
    assert set(result["verdict"]) == {
        "turned_the_curve", "below_baseline", "above_baseline_within_noise", "on_baseline",
        "no_data_after_baseline",
    }  # fmt: skip


def test_baseline_summary_keeps_dates_as_dates_where_no_series_turned():
    from c2c_analysis import load_sample

    data = load_sample("indicators").query("outcome == 'chronic_absence' and dimension == 'all'")
    out = project_baseline(data, baseline=(pd.Timestamp("2014-09-01"), pd.Timestamp("2016-12-01")))
    result = baseline_summary(out, time="period")
    expected = _reference_baseline_summary(out, time="period")
    # The loop gave a float column of NaN for turned_since when no series had turned, and
    # dates when one had; the vectorised summary always gives dates (NaT where none).
    assert result["turned_since"].dtype == result["last_period"].dtype
    assert result["turned_since"].isna().all()
    assert expected["turned_since"].isna().all()
    pd.testing.assert_frame_equal(
        result.drop(columns="turned_since"), expected.drop(columns="turned_since")
    )


def _one_at_a_time(data: pd.DataFrame, by: list[str], **kwargs) -> pd.DataFrame:
    return pd.concat(
        [trend(part, by=by, **kwargs) for _, part in data.groupby(by, sort=False)],
        ignore_index=True,
    )


@pytest.mark.parametrize("method", ["binomial", "ols", "logit"])
def test_trend_notes_of_many_series_equal_one_call_per_series(rng, method):
    frames = []
    for i in range(60):
        years = np.sort(
            rng.choice(np.arange(2005, 2020), size=int(rng.integers(1, 12)), replace=False)
        )
        n = rng.integers(5, 300, len(years)).astype(float)
        x = rng.binomial(n.astype(int), rng.uniform(0, 1)).astype(float)
        frame = series(years, x, n, group=f"g{i:02d}")
        frame["rate"] = np.nan
        published = rng.random(len(frame)) < 0.2
        frame.loc[published, "rate"] = np.round(x[published] / n[published], 2)
        frame.loc[published, "numerator"] = np.nan
        frame.loc[rng.random(len(frame)) < 0.15, ["numerator", "rate"]] = np.nan
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        together = trend(data, by=["group"], method=method)
        alone = _one_at_a_time(data, ["group"], method=method)
    assert together["note"].tolist() == alone["note"].tolist()
    assert (together["note"] != "").sum() > 30  # many notes, of several kinds, compared


def test_monthly_notes_list_twelve_missing_months_then_an_ellipsis():
    months = pd.to_datetime(["2015-01-01", "2015-02-01", "2016-04-01", "2016-05-01"])
    frame = pd.DataFrame({"period": months, "numerator": [5, 6, 7, 8], "denominator": [10] * 4})
    note = trend(frame, method="ols").iloc[0]["note"]
    # 2015-03 to 2016-03 are missing: 13 months, of which the first 12 are named.
    named = ", ".join(f"2015-{m:02d}" for m in range(3, 13)) + ", 2016-01, 2016-02"
    assert f"missing months: {named} ..." in note
