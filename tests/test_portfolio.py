"""portfolio.py: interrupted time series, portfolio files and the scorecard."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from c2c_analysis import DataValidationError, load_sample
from c2c_analysis.portfolio import evaluate_portfolio, interrupted_time_series, read_portfolio

SICILY = Path(__file__).parent / "data" / "its_sicily_bernal2017.csv"


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    return pd.read_csv(SICILY)


def _design(frame, start, *, seasonal=0):
    tau = frame["time"] - start
    post = (tau >= 0).astype(float)
    X = pd.DataFrame({"intercept": 1.0, "time": tau, "level_change": post})
    for k in range(1, seasonal + 1):
        X[f"sin{k}"] = np.sin(2 * np.pi * k * frame["time"] / 12)
        X[f"cos{k}"] = np.cos(2 * np.pi * k * frame["time"] / 12)
    return X


def test_poisson_with_population_offset_matches_the_tutorials_model(sicily):
    # Lopez Bernal et al. (2017), model 1: glm(aces ~ offset(log(stdpop)) + smokban + time,
    # family = poisson). The level change at the ban is the coefficient of smokban.
    its = interrupted_time_series(
        sicily,
        time="time",
        start=37,
        y="aces",
        offset="stdpop",
        family="poisson",
        dispersion="none",
        slope_change=False,
    )
    X = sm.add_constant(sicily[["smokban", "time"]].astype(float))
    fit = sm.GLM(
        sicily["aces"], X, family=sm.families.Poisson(), offset=np.log(sicily["stdpop"])
    ).fit()
    row = its.table.set_index("term").loc["level_change"]
    assert row["estimate"] == pytest.approx(fit.params["smokban"], rel=1e-8)
    assert row["ratio"] == pytest.approx(math.exp(fit.params["smokban"]), rel=1e-8)
    assert row["ratio"] < 1  # the published finding: fewer coronary events after the ban
    assert its.dispersion == 1.0


def test_quasi_poisson_dispersion_is_pearson_chi2_over_df(sicily):
    # Model 2 of the tutorial (quasipoisson): same estimates, dispersion = Pearson X² / df.
    its = interrupted_time_series(
        sicily,
        time="time",
        start=37,
        y="aces",
        offset="stdpop",
        family="poisson",
        slope_change=False,
    )
    X = sm.add_constant(sicily[["smokban", "time"]].astype(float))
    fit = sm.GLM(
        sicily["aces"], X, family=sm.families.Poisson(), offset=np.log(sicily["stdpop"])
    ).fit()
    mu = fit.mu
    pearson = float(np.sum((sicily["aces"] - mu) ** 2 / mu) / (len(sicily) - 3))
    assert its.dispersion == pytest.approx(pearson, rel=1e-8)
    se = its.table.set_index("term").loc["level_change"]
    expected_half = 1.959963984540054 * fit.bse["smokban"] * math.sqrt(pearson)
    assert (se["ci_upper"] - se["estimate"]) == pytest.approx(expected_half, rel=1e-6)


def test_seasonally_adjusted_model_uses_fourier_pairs(sicily):
    # Model 3 of the tutorial: + harmonic(month, 2, 12), i.e. sin/cos(2πk·t/12), k = 1, 2.
    its = interrupted_time_series(
        sicily,
        time="time",
        start=37,
        y="aces",
        offset="stdpop",
        family="poisson",
        slope_change=False,
        seasonality=2,
        period=12,
    )
    X = _design(sicily, 37, seasonal=2)
    fit = sm.GLM(
        sicily["aces"], X, family=sm.families.Poisson(), offset=np.log(sicily["stdpop"])
    ).fit(scale="X2")
    table = its.table.set_index("term")
    for term in X.columns:
        assert table.loc[term, "estimate"] == pytest.approx(fit.params[term], rel=1e-7, abs=1e-10)
    assert its.dispersion == pytest.approx(fit.scale, rel=1e-8)


def test_binomial_level_change_in_points_by_hand():
    years = np.arange(2008, 2016)
    n = np.full(8, 1000)
    x = np.array([600, 610, 620, 630, 700, 712, 724, 736])
    data = pd.DataFrame({"year": years, "num": x, "den": n})
    its = interrupted_time_series(data, time="year", start=2012, numerator="num", denominator="den")
    p = x / n
    X = _design(data.rename(columns={"year": "time"}), 2012)
    X["slope_change"] = X["time"] * X["level_change"]
    fit = sm.GLM(p, X, family=sm.families.Binomial(), var_weights=n).fit(scale="X2")
    b = fit.params
    expit = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    level_pp = 100 * (expit(b["intercept"] + b["level_change"]) - expit(b["intercept"]))
    assert its.table.set_index("term").loc["level_change", "effect_pp"] == pytest.approx(
        level_pp, rel=1e-7
    )
    cf = its.counterfactual.set_index("year")
    assert cf.loc[2015, "difference_count"] == pytest.approx(
        (cf.loc[2015, "fitted"] - cf.loc[2015, "counterfactual"]) * 1000
    )
    assert cf.loc[2010, "difference"] == pytest.approx(0)


def test_gaussian_uses_newey_west_errors():
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"year": np.arange(2000, 2020)})
    data["rate"] = (
        0.5 + 0.01 * (data.year - 2000) + 0.05 * (data.year >= 2010) + rng.normal(0, 0.01, 20)
    )
    its = interrupted_time_series(
        data, time="year", start=2010, y="rate", family="gaussian", hac_lags=2
    )
    X = _design(data.rename(columns={"year": "time"}), 2010)
    X["slope_change"] = X["time"] * X["level_change"]
    fit = sm.OLS(data["rate"], X).fit(
        cov_type="HAC", cov_kwds={"maxlags": 2, "use_correction": True}, use_t=True
    )
    row = its.table.set_index("term").loc["level_change"]
    assert row["estimate"] == pytest.approx(fit.params["level_change"])
    assert row["ci_lower"] == pytest.approx(fit.conf_int().loc["level_change", 0])


def test_comparison_series_gives_the_difference_in_differences_by_hand():
    # Two parallel series, the treated one jumps 0.06 at 2012 and the comparison 0.02:
    # the comparative ITS level change is the difference, 0.04.
    years = np.arange(2006, 2016)
    treated = 0.60 + 0.01 * (years - 2006) + 0.06 * (years >= 2012)
    control = 0.50 + 0.01 * (years - 2006) + 0.02 * (years >= 2012)
    data = pd.DataFrame(
        {
            "year": np.r_[years, years],
            "rate": np.r_[treated, control],
            "is_comparison": np.r_[np.zeros(10), np.ones(10)],
        }
    )
    its = interrupted_time_series(
        data,
        time="year",
        start=2012,
        y="rate",
        family="gaussian",
        comparison="is_comparison",
        slope_change=False,
    )
    table = its.table.set_index("term")
    assert table.loc["level_change", "estimate"] == pytest.approx(0.04)
    assert table.loc["comparison_level_change", "estimate"] == pytest.approx(0.02)
    assert len(its.counterfactual) == 10  # the treated series only


def test_too_few_periods_before_the_start_is_an_error():
    data = pd.DataFrame({"year": [2010, 2011, 2012, 2013], "num": [5, 6, 7, 8], "den": [10] * 4})
    with pytest.raises(DataValidationError, match="at least 3 periods before"):
        interrupted_time_series(data, time="year", start=2012, numerator="num", denominator="den")


# --- portfolio files --------------------------------------------------------------------------


def write(tmp_path, text, name="portfolio.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_sample_portfolio_reads():
    portfolio = load_sample("portfolio")
    assert portfolio.partnership == "tacoma"
    assert [s.id for s in portfolio.strategies] == [
        "graduate-tacoma",
        "equity-coaching",
        "college-bound",
    ]
    assert portfolio.strategies[1].groups == (
        "Black",
        "Hispanic/Latino",
        "American Indian/Alaska Native",
    )


def test_portfolio_errors_are_listed_together(tmp_path):
    path = write(
        tmp_path,
        """
partnership: tacoma
strategies:
  - {id: a, name: A, outcome: hs_graduation, start: 2013}
  - {id: a, name: B, outcome: hs_graduatoin, start: 2013}
  - {id: c, outcome: hs_graduation, start: soon}
""",
    )
    with pytest.raises(DataValidationError) as caught:
        read_portfolio(path)
    problems = caught.value.problems
    assert "duplicate strategy id" in problems["problem"].tolist()
    assert "unknown outcome id" in problems["problem"].tolist()
    assert {"name", "start"} <= set(problems["column"])


def test_groups_and_starts_are_checked_against_the_data(tmp_path):
    path = write(
        tmp_path,
        """
partnership: tacoma
strategies:
  - {id: a, name: A, outcome: hs_graduation, dimension: race_ethnicity, groups: [Martians], start: 2013}
  - {id: b, name: B, outcome: hs_graduation, start: 2030}
""",
    )
    with pytest.raises(DataValidationError) as caught:
        read_portfolio(path, data=load_sample("outcomes"))
    assert caught.value.problems["column"].tolist() == ["groups", "start"]


def test_csv_portfolio(tmp_path):
    path = write(
        tmp_path,
        "partnership,id,name,outcome,dimension,groups,start\n"
        "tacoma,x,X,hs_graduation,race_ethnicity,Black;White,2014\n",
        name="p.csv",
    )
    assert read_portfolio(path).strategies[0].groups == ("Black", "White")


# --- the scorecard -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scorecard():
    return evaluate_portfolio(load_sample("outcomes"), load_sample("portfolio"), method="logit")


def test_scorecard_has_one_row_per_strategy_and_group(scorecard):
    assert len(scorecard.table) == 5
    expected = [
        "strategy",
        "outcome",
        "partnership",
        "dimension",
        "group",
        "start",
        "baseline_first",
        "baseline_last",
        "last_period",
        "actual",
        "projected",
        "pi_lower",
        "pi_upper",
        "difference_pp",
        "difference_students",
        "level_change_pp",
        "slope_change_pp",
        "p_value",
        "gap_vs_projection_pp",
        "overlaps",
        "verdict",
    ]
    assert all(c in scorecard.table.columns for c in expected)


def test_tacoma_2010_2015_question(scorecard):
    # Strategies began after 2012; baseline 2010-2012; judged at 2015 (the strategy's end).
    rows = scorecard.table[scorecard.table["strategy"] == "equity-coaching"].set_index("group")
    assert (rows["baseline_first"] == 2010).all()
    assert (rows["baseline_last"] == 2012).all()
    assert (rows["last_period"] == 2015).all()
    # Black students: 59.4% (2012) to 81% (2015), both published; the row's actual is the 2015 rate.
    assert rows.loc["Black", "actual"] == pytest.approx(0.81, abs=0.0006)
    # The gaps to White students narrowed beyond what the baselines projected.
    assert (rows["gap_vs_projection_pp"] < 0).all()


def test_difference_matches_the_projection(scorecard):
    row = scorecard.table.iloc[1]
    assert row["difference_pp"] == pytest.approx(100 * (row["actual"] - row["projected"]))
    assert row["pi_lower"] < row["projected"] < row["pi_upper"]


def test_projections_made_together_equal_one_call_per_series(scorecard):
    # evaluate_portfolio projects many series per call; each must equal its own call.
    from c2c_analysis.trends import project_baseline

    data = load_sample("outcomes")
    data = data[data["partnership"] == "tacoma"]
    assert len(scorecard.projections) == 5
    for (strategy_id, group), projection in scorecard.projections.items():
        row = scorecard.table.set_index(["strategy", "group"]).loc[(strategy_id, group)]
        strategy = next(s for s in load_sample("portfolio").strategies if s.id == strategy_id)
        series = data[
            (data["outcome"] == strategy.outcome)
            & (data["dimension"] == strategy.dimension)
            & (data["group"] == group)
        ]
        if strategy.end is not None:
            series = series[series["year"] <= strategy.end]
        columns = ["partnership", "outcome", "dimension", "group", "year", "numerator"]
        alone = project_baseline(
            series[[*columns, "denominator", "rate"]],
            baseline=(row["baseline_first"], row["baseline_last"]),
            method="logit",
        )
        pd.testing.assert_frame_equal(projection, alone)


def test_overlapping_strategies_are_flagged(scorecard):
    table = scorecard.table.set_index("strategy")
    assert table.loc["graduate-tacoma", "overlaps"] == "equity-coaching"
    assert table.loc["college-bound", "overlaps"] == ""


def test_too_short_baseline_is_insufficient_data_not_a_crash(tmp_path):
    path = write(
        tmp_path,
        """
partnership: tacoma
strategies:
  - {id: early, name: Early, outcome: hs_graduation, start: 2012}
  - {id: fine, name: Fine, outcome: hs_graduation, start: 2014}
""",
    )
    result = evaluate_portfolio(load_sample("outcomes"), read_portfolio(path))
    table = result.table.set_index("strategy")
    assert table.loc["early", "verdict"] == "insufficient_data"
    assert "at least 3" in table.loc["early", "note"]
    assert table.loc["fine", "verdict"] != "insufficient_data"


def test_summary_counts_verdicts_per_outcome(scorecard):
    summary = scorecard.summary.set_index("outcome")
    assert summary.loc["hs_graduation", "strategies"] == 2
    assert (
        summary.loc["hs_graduation"][
            [
                "turned_the_curve",
                "above_baseline_within_noise",
                "on_baseline",
                "below_baseline",
                "insufficient_data",
            ]
        ].sum()
        == 4
    )


def test_scorecard_plot_and_row_chart(scorecard):
    ax = scorecard.plot()
    assert len(ax.patches) == 5
    ax = scorecard.plot_row("equity-coaching", "Black")
    assert [line.get_label() for line in ax.lines] == ["baseline", "forecast", "actual"]
