"""c2c_analysis.spc: limits by hand and from Montgomery's factors, runs rules from their published
tables and an exact enumeration, phases, freeze, exclude, edge cases, and spc_table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from c2c_analysis.spc import SPCResult, control_chart, run_chart, runs_limits, spc_table
from c2c_analysis.spc.limits import runs_distribution_limits


def series(values, *, n=None, x=None):
    frame = pd.DataFrame(
        {"x": list(x) if x is not None else range(1, len(values) + 1), "y": values}
    )
    if n is not None:
        frame["n"] = n
    return frame


# --- runs limits ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_useful", "longest", "crossings"),
    # Anhøj & Olesen (2014), PLoS ONE 9(11):e113825, Table 1 (critical values).
    [
        (10, 6, 2),
        (12, 7, 3),
        (15, 7, 4),
        (20, 7, 6),
        (24, 8, 8),
        (30, 8, 10),
        (40, 8, 14),
        (50, 9, 19),
    ],
)
def test_anhoej_limits_match_the_published_table(n_useful, longest, crossings):
    got_longest, got_crossings = runs_limits(np.array([n_useful]))
    assert got_longest[0] == longest
    assert got_crossings[0] == crossings


def test_number_of_runs_limits_match_an_exact_enumeration():
    # Every arrangement of 6 points above and 6 below, counted by brute force.
    above, below = 6, 6
    counts = {}
    for positions in itertools.combinations(range(12), above):
        sides = [1 if i in positions else -1 for i in range(12)]
        runs = 1 + sum(a != b for a, b in itertools.pairwise(sides))
        counts[runs] = counts.get(runs, 0) + 1
    total = sum(counts.values())
    cumulative = np.cumsum([counts.get(r, 0) / total for r in range(2, 13)])
    lower = next(r for r, c in zip(range(2, 13), cumulative, strict=True) if c > 0.025)
    upper_tail = np.cumsum([counts.get(r, 0) / total for r in range(12, 1, -1)])
    upper = next(r for r, c in zip(range(12, 1, -1), upper_tail, strict=True) if c > 0.025)
    assert runs_distribution_limits(above, below) == (lower, upper)


# --- run charts -----------------------------------------------------------------------------------


def test_points_on_the_median_neither_count_nor_break_a_run():
    # Median 5; the 5s are skipped: the run below is 1,2,3 then 4 -> a run of 4 points.
    result = run_chart(series([1, 2, 5, 3, 4, 6, 7, 5, 8, 9]), y="y", x="x")
    row = result.summary.iloc[0]
    assert row["n_useful"] == 8
    assert row["longest_run"] == 4
    assert row["n_crossings"] == 1


def test_run_chart_signals_a_shift():
    values = [5, 6, 4, 7, 5, 6, 5, 4, 6, 5, 8, 9, 8, 9, 10, 9, 8, 9, 10, 9]
    result = run_chart(series(values), y="y", x="x")
    assert result.summary["runs_signal"].iloc[0]
    assert result.table["center"].iloc[0] == 7.5
    assert result.table["lower"].isna().all()


def test_run_chart_of_random_noise_does_not_signal(rng):
    result = run_chart(series(rng.normal(size=24)), y="y", x="x")
    assert not result.summary["runs_signal"].iloc[0]


def test_numerator_and_denominator_give_sum_over_sum_per_x():
    data = pd.DataFrame({"x": [1, 1, 2, 2], "y": [1, 3, 2, 2], "n": [10, 10, 5, 15]})
    table = run_chart(data, y="y", x="x", n="n").table
    assert table["y"].tolist() == pytest.approx([0.2, 0.2])


# --- control charts by hand ------------------------------------------------------------------------


def test_i_chart_limits_by_hand():
    values = np.array([10.0, 12, 11, 13, 12, 11, 14, 12, 13, 12])
    result = control_chart(series(values), y="y", x="x", chart="i", screen_mr=False)
    mr_bar = np.mean(np.abs(np.diff(values)))
    assert result.table["center"].iloc[0] == pytest.approx(values.mean())
    assert result.table["upper"].iloc[0] == pytest.approx(values.mean() + 3 * mr_bar / 1.128)
    assert result.table["lower"].iloc[0] == pytest.approx(values.mean() - 3 * mr_bar / 1.128)


def test_moving_range_screening_drops_large_ranges_once():
    values = np.array([10.0, 10.5, 10.2, 10.4, 30.0, 10.3, 10.1, 10.6, 10.2, 10.4])
    screened = control_chart(series(values), y="y", x="x", chart="i")
    mr = np.abs(np.diff(values))
    kept = mr[mr <= 3.267 * mr.mean()]
    assert screened.table["upper"].iloc[0] == pytest.approx(values.mean() + 3 * kept.mean() / 1.128)
    assert screened.table["sigma_signal"].iloc[4]


def test_mr_chart_upper_limit_is_3_267_mr_bar():
    values = np.array([10.0, 12, 11, 13, 12, 11, 14, 12, 13, 12])
    result = control_chart(series(values), y="y", x="x", chart="mr", screen_mr=False)
    mr_bar = np.mean(np.abs(np.diff(values)))
    assert result.table["upper"].iloc[1] == pytest.approx(3.267 * mr_bar, rel=1e-3)
    assert result.table["lower"].iloc[1] == 0


def test_p_chart_limits_by_hand_with_varying_denominators():
    num, den = np.array([12, 15, 8, 20, 11]), np.array([100, 120, 80, 150, 90])
    result = control_chart(series(num, n=den), y="y", x="x", n="n", chart="p")
    p_bar = num.sum() / den.sum()
    expected_upper = p_bar + 3 * np.sqrt(p_bar * (1 - p_bar) / den)
    assert result.table["upper"].to_numpy() == pytest.approx(expected_upper)
    assert (result.table["lower"] >= 0).all()


def test_laney_p_prime_by_hand():
    # Laney (2002): sigma_z = mean moving range of z / 1.128; limits p̄ ± 3 σ_p σ_z.
    num = np.array([520, 610, 480, 700, 560, 650, 590, 500, 640, 600])
    den = np.full(10, 2000)
    result = control_chart(series(num, n=den), y="y", x="x", n="n", chart="pp", screen_mr=False)
    p = num / den
    p_bar = num.sum() / den.sum()
    sigma_p = np.sqrt(p_bar * (1 - p_bar) / den)
    z = (p - p_bar) / sigma_p
    sigma_z = np.mean(np.abs(np.diff(z))) / 1.128
    assert result.table["upper"].to_numpy() == pytest.approx(p_bar + 3 * sigma_p * sigma_z)
    assert sigma_z > 1  # overdispersed: the p′ limits are wider than p limits
    p_chart = control_chart(series(num, n=den), y="y", x="x", n="n", chart="p")
    assert p_chart.summary["n_sigma_signals"].iloc[0] > result.summary["n_sigma_signals"].iloc[0]


def test_u_and_c_charts_by_hand():
    counts, exposure = np.array([4, 7, 3, 6, 5, 8]), np.array([2.0, 3, 1.5, 2.5, 2, 3])
    u = control_chart(series(counts, n=exposure), y="y", x="x", n="n", chart="u").table
    u_bar = counts.sum() / exposure.sum()
    assert u["upper"].to_numpy() == pytest.approx(u_bar + 3 * np.sqrt(u_bar / exposure))
    c = control_chart(series(counts), y="y", x="x", chart="c").table
    assert c["upper"].iloc[0] == pytest.approx(counts.mean() + 3 * math.sqrt(counts.mean()))
    assert c["lower"].iloc[0] == 0  # c̄ - 3√c̄ < 0 is cut at 0


def test_g_chart_by_hand():
    gaps_between = np.array([20.0, 35, 12, 40, 28, 31, 15, 22])
    table = control_chart(series(gaps_between), y="y", x="x", chart="g").table
    g = gaps_between.mean()
    assert table["upper"].iloc[0] == pytest.approx(g + 3 * math.sqrt(g * (g + 1)))


def test_t_chart_is_an_i_chart_of_the_transformed_times():
    days = np.array([12.0, 30, 7, 45, 20, 26, 14, 33, 9, 21])
    t = control_chart(series(days), y="y", x="x", chart="t", screen_mr=False).table
    transformed = days ** (1 / 3.6)
    i = control_chart(series(transformed), y="y", x="x", chart="i", screen_mr=False).table
    assert t["center"].to_numpy() == pytest.approx(i["center"].to_numpy() ** 3.6)
    assert t["y"].to_numpy() == pytest.approx(days)


def test_xbar_and_s_charts_match_montgomerys_factors():
    # Subgroups of 5: A3 = 1.427, B3 = 0, B4 = 2.089 (Montgomery, Appendix Table VI).
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"x": np.repeat(np.arange(1, 21), 5), "y": rng.normal(74, 0.01, 100)})
    xbar = control_chart(frame, y="y", x="x", chart="xbar").table
    s = control_chart(frame, y="y", x="x", chart="s").table
    groups = frame.groupby("x")["y"]
    grand, s_bar = groups.mean().mean(), groups.std().mean()
    assert xbar["upper"].iloc[0] == pytest.approx(grand + 1.427 * s_bar, rel=1e-3)
    assert s["upper"].iloc[0] == pytest.approx(2.089 * s_bar, rel=1e-3)
    assert s["lower"].iloc[0] == 0


def test_sigma_signals_are_strict():
    values = [10.0, 10, 10, 10, 10, 10, 10, 10]
    table = control_chart(series(values), y="y", x="x", chart="i", cl=10.0).table
    assert not table["sigma_signal"].any()  # every point sits on the centre and the limits


# --- phases, freeze, exclude -----------------------------------------------------------------------


def test_phases_have_their_own_centre_line_and_runs_analysis():
    values = [5, 6, 5, 4, 6, 5, 6, 5, 15, 16, 15, 14, 16, 15]
    result = control_chart(series(values), y="y", x="x", chart="i", part=[9])
    centers = result.table.groupby("part")["center"].first().tolist()
    assert centers == pytest.approx([np.mean(values[:8]), np.mean(values[8:])])
    assert len(result.summary) == 2


def test_phase_labels_from_a_column():
    data = series([1, 2, 3, 4, 5, 6]).assign(phase=["before"] * 3 + ["after"] * 3)
    result = run_chart(data, y="y", x="x", part="phase")
    assert set(result.summary["part"]) == {"before", "after"}


def test_freeze_extends_baseline_limits_and_runs_use_every_point():
    values = [5, 6, 5, 4, 6, 5, 6, 5, 8, 9, 8, 9, 8, 9, 8, 9]
    result = control_chart(series(values), y="y", x="x", chart="i", freeze=8)
    assert result.table["center"].unique().tolist() == pytest.approx([np.mean(values[:8])])
    assert result.summary["n_points"].iloc[0] == 16
    assert result.summary["runs_signal"].iloc[0]


def test_excluded_points_are_shown_and_can_still_signal():
    values = [10.0, 11, 10, 12, 11, 10, 40, 11, 10, 12]
    result = control_chart(series(values), y="y", x="x", chart="i", exclude=[7])
    kept = [v for i, v in enumerate(values) if i != 6]
    assert result.table["center"].iloc[0] == pytest.approx(np.mean(kept))
    assert result.table["sigma_signal"].iloc[6]
    assert not result.table["included"].iloc[6]


# --- IHI and NHS rules -----------------------------------------------------------------------------


def test_ihi_trend_of_five_with_ties_skipped():
    values = [
        5,
        4,
        6,
        5,
        1,
        2,
        3,
        3,
        4,
        5,
        4,
        6,
        5,
    ]  # 1, 2, 3, (3), 4, 5: five rising when the tie is skipped
    result = run_chart(series(values), y="y", x="x", rules="ihi")
    assert result.summary["trend"].iloc[0]


def test_ihi_shift_of_six():
    values = [1, 2, 1, 2, 1, 8, 9, 8, 9, 8, 9, 2, 1]
    assert run_chart(series(values), y="y", x="x", rules="ihi").summary["shift"].iloc[0]


def test_ihi_astronomical_points_only_when_named():
    values = [5, 6, 5, 6, 50, 5, 6, 5, 6, 5]
    plain = run_chart(series(values), y="y", x="x", rules="ihi")
    named = run_chart(series(values), y="y", x="x", rules="ihi", astronomical=[5])
    assert not plain.summary["astronomical"].iloc[0]
    assert named.summary["runs_signal"].iloc[0]


def test_nhs_classes_and_assurance():
    values = [50.0, 52, 49, 51, 50, 48, 51, 50, 49, 52, 60, 61, 62, 60, 61, 62, 63, 61]
    result = control_chart(
        series(values),
        y="y",
        x="x",
        chart="i",
        rules="nhs",
        better="higher",
        target=40.0,
        freeze=10,
    )
    classes = result.table["nhs_class"]
    assert (classes.iloc[10:] == "special_cause_improvement").all()
    assert result.summary["variation"].iloc[0] == "special_cause_improvement"
    assert result.summary["assurance"].iloc[0] == "consistently_passing"


def test_nhs_point_on_the_mean_breaks_a_run():
    values = [
        1.0,
        3,
        1,
        3,
        2,
        3,
        3,
        3,
        3,
        3,
        3,
        2,
        3,
        3,
        3,
        3,
        3,
        3,
    ]  # runs of six above, broken by the mean
    result = control_chart(series(values), y="y", x="x", chart="i", rules="nhs", cl=2.0)
    assert result.summary["n_shift_points"].iloc[0] == 0


def test_nhs_two_of_three_needs_all_three_on_one_side_of_the_mean():
    # Baseline mean 10.0, MR̄ = 1.5/7; the close band starts at 1.7733·MR̄ = 0.380 and the
    # limits are at 2.66·MR̄ = 0.570. 10.45 is close to the upper limit twice in each window.
    # NHSRplotthedots 0.2.2 (NEWS, issue #143): two of three count only when all three
    # points are on one side of the mean, so 10.0 (on the mean) between them stops the rule.
    on_mean = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.1, 9.9, 10.45, 10.0, 10.45, 10.0]
    above = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.1, 9.9, 10.45, 10.05, 10.45, 10.0]
    kwargs = {"y": "y", "x": "x", "chart": "i", "rules": "nhs", "screen_mr": False, "freeze": 8}
    assert control_chart(series(on_mean), **kwargs).summary["n_two_of_three"].iloc[0] == 0
    result = control_chart(series(above), **kwargs)
    assert result.summary["n_two_of_three"].iloc[0] == 2
    assert result.table["nhs_rule"].tolist()[8:11] == ["two_of_three", "none", "two_of_three"]


# --- edge cases -----------------------------------------------------------------------------------------


def test_every_value_equal_gives_no_signal_and_no_crash():
    result = control_chart(series([4.0] * 12), y="y", x="x", chart="i")
    assert not result.table["sigma_signal"].any()
    assert result.summary["n_useful"].iloc[0] == 0
    assert not result.summary["runs_signal"].iloc[0]


def test_nan_values_and_zero_denominators_are_not_plotted():
    data = series([3, np.nan, 4, 5, 2, 6], n=[10, 10, 0, 12, 9, 11])
    result = control_chart(data, y="y", x="x", n="n", chart="p")
    assert result.table["y"].isna().tolist() == [False, True, True, False, False, False]
    assert result.summary["n_points"].iloc[0] == 6


def test_short_series_and_a_phase_of_one_point():
    result = control_chart(series([1.0, 2, 3, 4, 9]), y="y", x="x", chart="i", part=[5])
    last = result.summary.iloc[1]
    assert last["n_points"] == 1
    assert not last["runs_signal"]


@pytest.mark.parametrize(
    "x",
    [
        list(range(10)),
        list(pd.date_range("2020-01-01", periods=10, freq="MS")),
        [f"w{i:02d}" for i in range(10)],
    ],
)
def test_x_as_integers_dates_or_labels(x):
    result = run_chart(series(list(range(10)), x=x), y="y", x="x")
    assert result.table["x"].tolist() == sorted(x)


# --- many series at once --------------------------------------------------------------------------------


def test_spc_table_equals_control_chart_for_every_series(rng):
    frames = []
    for s in range(30):
        k = int(rng.integers(6, 15))
        frames.append(
            pd.DataFrame(
                {
                    "school": f"s{s}",
                    "month": range(k),
                    "num": rng.binomial(200, 0.2, k),
                    "den": rng.integers(150, 250, k),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)
    for chart in ("run", "p", "pp", "i"):
        kwargs = {"n": "den"} if chart != "i" else {}
        table = spc_table(data, by=["school"], y="num", x="month", chart=chart, **kwargs).table
        for school, rows in data.groupby("school"):
            single = (
                run_chart(rows, y="num", x="month", **kwargs)
                if chart == "run"
                else control_chart(rows, y="num", x="month", chart=chart, **kwargs)
            ).table
            mine = table[table["school"] == school].reset_index(drop=True)
            for column in ("y", "center", "lower", "upper", "sigma_signal", "runs_signal"):
                pd.testing.assert_series_equal(mine[column], single[column], check_names=False)


def test_spc_table_summary_has_one_row_per_series_and_phase():
    from c2c_analysis import load_sample

    data = load_sample("indicators").query(
        "outcome == 'chronic_absence' and dimension == 'geography'"
    )
    phases = spc_table(
        data,
        by=["partnership", "group"],
        y="numerator",
        n="denominator",
        x="period",
        chart="pp",
        part=[pd.Timestamp("2017-01-01")],
    ).summary
    assert len(phases) == 16
    tacoma_after = phases[(phases["partnership"] == "tacoma") & (phases["part"] == 2)]
    assert len(tacoma_after) == 5


def test_binomial_quantile_convention_matches_r_qbinom():
    # R: qbinom(0.05, 23, 0.5) = 8 (smallest x with P(X <= x) >= 0.05).
    assert stats.binom.ppf(0.05, 23, 0.5) == 8


def test_fixed_centre_line_sets_the_p_chart_limits():
    # With cl = 0.2 and n = 100 the limits are 0.2 ± 3·sqrt(0.2·0.8/100) = 0.08 and 0.32.
    data = series([15, 22, 18, 25, 20, 17], n=[100] * 6)
    table = control_chart(data, y="y", x="x", n="n", chart="p", cl=0.2).table
    assert table["center"].iloc[0] == pytest.approx(0.2)
    assert table["upper"].iloc[0] == pytest.approx(0.32)
    assert table["lower"].iloc[0] == pytest.approx(0.08)


def test_moving_ranges_touching_an_excluded_point_are_left_out():
    values = np.array([10.0, 11, 10, 12, 11, 30, 11, 10, 12, 11])
    result = control_chart(series(values), y="y", x="x", chart="i", exclude=[6], screen_mr=False)
    kept = [abs(values[i] - values[i - 1]) for i in range(1, 10) if i not in (5, 6)]
    assert result.table["upper"].iloc[0] - result.table["center"].iloc[0] == pytest.approx(
        3 * np.mean(kept) / 1.128
    )


# --- parity with qicharts2 and NHSRplotthedots (issue 12) ------------------------------------
# Every expected value below is computed by hand in the comment next to it from the rule and
# source named; the same rules reproduce qicharts2 0.8.1's Montgomery reference outputs
# (tests/testthat/ex_*.rds) for the xbar, s, I, MR, p, c, u and t charts.

# R: set.seed(123); rnorm(20) (NHSRplotthedots tests/testthat/test-ptd_spc_standard.R)
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


@pytest.mark.parametrize(
    ("outlier", "screen", "lower", "upper"),
    # NHSRplotthedots 0.2.2, tests/testthat/_snaps/ptd_spc_standard.md: r1 (the data as drawn),
    # r2 (y[15] <- 10, moving ranges screened), r3 (y[15] <- 10, not screened).
    [
        (False, True, -3.01138, 3.294627),
        (True, True, -2.383666, 3.722497),
        (True, False, -4.596625, 5.935457),
    ],
)
def test_nhs_process_limits_match_nhsrplotthedots(outlier, screen, lower, upper):
    values = list(RNORM_123)
    if outlier:
        values[14] = 10.0
    data = pd.DataFrame({"x": pd.date_range("2020-01-02", periods=20), "y": values})
    result = control_chart(data, y="y", x="x", chart="i", rules="nhs", screen_mr=screen)
    row = result.table.iloc[0]
    assert row["lower"] == pytest.approx(lower, abs=1e-5)
    assert row["upper"] == pytest.approx(upper, abs=1e-5)


def test_nhs_limits_are_2_66_moving_ranges_and_other_rules_keep_3_over_1_128():
    values = [5.0, 7, 6, 8, 5, 6, 7, 6, 5, 7]
    mr_bar = np.mean(np.abs(np.diff(values)))  # no range reaches 3.267·MR̄: nothing screened
    nhs = control_chart(series(values), y="y", x="x", chart="i", rules="nhs").table.iloc[0]
    anhoej = control_chart(series(values), y="y", x="x", chart="i").table.iloc[0]
    assert nhs["upper"] - nhs["center"] == pytest.approx(2.66 * mr_bar)
    assert anhoej["upper"] - anhoej["center"] == pytest.approx(3 * mr_bar / 1.128)


def test_mr_chart_keeps_every_moving_range_and_its_limit_is_3_267_times_their_mean():
    # Montgomery Appendix VI (D4 = 3.267 for n = 2); qicharts2 qic.mr: the MR chart is not
    # screened, so the jump 10 -> 40 (MR 30 > 3.267·MR̄) still shows above the limit.
    values = [10.0, 11, 10, 12, 11, 40, 11, 10, 12, 11]
    mrs = np.abs(np.diff(values))
    result = control_chart(series(values), y="y", x="x", chart="mr")
    table = result.table
    assert table["center"].iloc[1] == pytest.approx(mrs.mean())
    assert table["upper"].iloc[1] == pytest.approx(3.267 * mrs.mean())
    assert (table["lower"].iloc[1:] == 0).all()
    assert table["sigma_signal"].sum() == 2  # both ranges that touch 40


def test_mr_chart_has_no_runs_signal():
    # qicharts2 (qic.agg): moving ranges are autocorrelated, no runs analysis on MR charts.
    values = [float(v) for v in range(1, 25)] + [30.0, 20, 31, 19, 32, 18]
    result = control_chart(series(values), y="y", x="x", chart="mr")
    assert result.summary["longest_run"].iloc[0] > result.summary["longest_run_max"].iloc[0]
    assert not result.summary["runs_signal"].iloc[0]
    assert not result.table["in_signal_run"].any()


def test_i_chart_screening_keeps_moving_ranges_strictly_below_the_threshold():
    # Nelson (1982) as qicharts2 applies it: mr[mr < 3.267 * mean(mr)].
    values = [10.0, 11, 10, 11, 10, 11, 10, 11, 10, 30]
    mrs = np.abs(np.diff(values))
    kept = mrs[mrs < 3.267 * mrs.mean()]
    result = control_chart(series(values), y="y", x="x", chart="i")
    assert result.table["upper"].iloc[0] == pytest.approx(np.mean(values) + 3 * kept.mean() / 1.128)


def test_laney_with_labels_uses_the_standard_deviation_of_the_z_scores():
    # qicharts2 NEWS 0.7.2 (funnel-style p′ charts); Spiegelhalter (2005) Qual Saf Health
    # Care 14:347: σz = sd(zᵢ), zᵢ = (pᵢ − p̄)/√(p̄(1 − p̄)/nᵢ).
    num = np.array([12, 30, 9, 41, 22, 15])
    den = np.array([100, 150, 80, 200, 120, 140])
    data = pd.DataFrame({"school": list("ABCDEF"), "num": num, "den": den})
    result = control_chart(data, y="num", n="den", x="school", chart="pp")
    p_bar = num.sum() / den.sum()
    z = (num / den - p_bar) / np.sqrt(p_bar * (1 - p_bar) / den)
    expected = p_bar + 3 * np.std(z, ddof=1) * np.sqrt(p_bar * (1 - p_bar) / den)
    np.testing.assert_allclose(result.table["upper"], expected)
    assert not result.summary["runs_signal"].iloc[0]
    assert result.settings["time_order"] is False


def test_laney_with_labels_does_not_depend_on_the_names_of_the_units():
    num, den = [12, 30, 9, 41, 22, 15], [100, 150, 80, 200, 120, 140]
    first = pd.DataFrame({"unit": list("ABCDEF"), "num": num, "den": den})
    renamed = first.assign(unit=list("QZBXAM"))
    limits = []
    for frame in (first, renamed):
        table = control_chart(frame, y="num", n="den", x="unit", chart="pp").table
        limits.append(dict(zip(table["y"], table["upper"], strict=True)))
    assert limits[0] == pytest.approx(limits[1])


def test_g_chart_centre_is_the_median_and_limits_come_from_the_mean():
    # Provost & Murray (2011) pp. 228-229; Benneyan (2001): limits ḡ ± 3√(ḡ(ḡ+1)).
    values = [3.0, 15, 1, 8, 22, 5, 2, 40, 7, 4, 11, 6]
    result = control_chart(series(values), y="y", x="x", chart="g")
    g_bar = np.mean(values)
    row = result.table.iloc[0]
    assert row["center"] == np.median(values)
    assert row["upper"] == pytest.approx(g_bar + 3 * np.sqrt(g_bar * (g_bar + 1)))
    # The runs analysis counts points against the median: 6 above and 6 below.
    assert result.summary["n_useful"].iloc[0] == 12


def test_g_chart_with_a_given_centre_draws_its_theoretical_median():
    result = control_chart(series([3.0, 15, 1, 8, 22, 5]), y="y", x="x", chart="g", cl=10.0)
    row = result.table.iloc[0]
    assert row["center"] == pytest.approx(6.93)  # 0.693 × 10
    assert row["upper"] == pytest.approx(10 + 3 * np.sqrt(110))


def _subgroups(sizes, rng):
    rows = [(k, v) for k, m in enumerate(sizes, 1) for v in rng.normal(50, 2, m)]
    return pd.DataFrame(rows, columns=["x", "y"])


def test_xbar_and_s_with_variable_subgroup_sizes_use_the_pooled_s(rng):
    # Montgomery §6.3.2, eqs. 6.30-6.31: x̿ = Σnᵢx̄ᵢ/Σnᵢ, s̄ = √(Σ(nᵢ−1)sᵢ²/Σ(nᵢ−1)),
    # x̄ limits x̿ ± A3(nᵢ)s̄, s limits B3(nᵢ)s̄ and B4(nᵢ)s̄ (A3 = 3/(c4√n),
    # B3/B4 = 1 ∓ 3√(1 − c4²)/c4).
    from scipy.special import gammaln

    sizes = [4, 6, 5, 3, 6, 4, 5, 5]
    data = _subgroups(sizes, rng)
    stats_ = data.groupby("x")["y"].agg(["mean", "std", "count"])
    m, s = stats_["count"].to_numpy(), stats_["std"].to_numpy()
    grand = (m * stats_["mean"]).sum() / m.sum()
    s_bar = np.sqrt(((m - 1) * s**2).sum() / (m - 1).sum())
    c4 = np.sqrt(2 / (m - 1)) * np.exp(gammaln(m / 2) - gammaln((m - 1) / 2))
    xbar = control_chart(data, y="y", x="x", chart="xbar").table
    np.testing.assert_allclose(xbar["center"], grand)
    np.testing.assert_allclose(xbar["upper"], grand + 3 / (c4 * np.sqrt(m)) * s_bar)
    s_chart = control_chart(data, y="y", x="x", chart="s").table
    np.testing.assert_allclose(s_chart["center"], s_bar)
    np.testing.assert_allclose(s_chart["upper"], (1 + 3 * np.sqrt(1 - c4**2) / c4) * s_bar)
    np.testing.assert_allclose(
        s_chart["lower"], np.maximum(0, 1 - 3 * np.sqrt(1 - c4**2) / c4) * s_bar
    )


def test_xbar_with_equal_subgroup_sizes_uses_the_mean_of_the_s(rng):
    # Montgomery eq. 6.29: s̄ = mean(sᵢ) when every subgroup has n = 5.
    data = _subgroups([5] * 10, rng)
    s = data.groupby("x")["y"].std()
    table = control_chart(data, y="y", x="x", chart="s").table
    np.testing.assert_allclose(table["center"], s.mean())


def test_c_chart_sums_the_rows_that_share_an_x():
    # qicharts2 qic.c plots y.sum: events per subgroup.
    data = pd.DataFrame({"x": [1, 1, 2, 2, 3, 3], "y": [2, 3, 4, 1, np.nan, np.nan]})
    result = control_chart(data, y="y", x="x", chart="c")
    assert result.table["y"].tolist()[:2] == [5.0, 5.0]
    assert np.isnan(result.table["y"].iloc[2])  # a missing count stays missing, never 0


def test_p_chart_leaves_out_the_denominator_of_a_missing_numerator():
    # School 2 withheld its count: its 10 students are neither passing nor failing.
    data = pd.DataFrame({"x": [1, 1, 2, 3], "y": [np.nan, 5, 6, 7], "n": [10, 20, 20, 20]})
    table = control_chart(data, y="y", n="n", x="x", chart="p").table
    assert table["y"].iloc[0] == pytest.approx(5 / 20)
    assert table["n"].iloc[0] == 20


def test_a_rate_column_with_a_denominator_is_refused_with_the_call_to_make():
    data = pd.DataFrame({"year": range(2015, 2021), "rate": [0.81, 0.83, 0.8, 0.85, 0.86, 0.84]})
    data["denominator"] = 350
    with pytest.raises(ValueError, match="y='numerator'") as err:
        control_chart(data, y="rate", n="denominator", x="year", chart="p")
    assert "proportions" in str(err.value)


def test_freeze_as_a_number_of_points_on_dates():
    # qicharts2's idiom freeze = 24: the first 24 points are the baseline.
    values = [10.0] * 12 + [11.0] * 12 + [20.0] * 12
    data = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=36, freq="MS"), "y": values})
    result = control_chart(data, y="y", x="month", chart="i", freeze=24)
    assert result.table["center"].iloc[0] == pytest.approx(10.5)
    by_date = control_chart(data, y="y", x="month", chart="i", freeze="2021-12-01")
    assert by_date.table["center"].iloc[0] == pytest.approx(10.5)


def test_freeze_that_cannot_be_compared_with_x_says_so():
    data = pd.DataFrame({"month": pd.date_range("2020-01-01", periods=12, freq="MS"), "y": 1.0})
    with pytest.raises(ValueError, match=r"freeze=2\.5 cannot be compared"):
        control_chart(data, y="y", x="month", chart="i", freeze=2.5)


def test_rows_without_x_are_left_out_with_a_warning():
    # qicharts2 (qic.agg) drops them too; we say so.
    from c2c_analysis.validation import C2CDataWarning

    data = pd.DataFrame({"x": [1, 2, np.nan, 3, 4], "y": [1.0, 2, 99, 3, 4]})
    with pytest.warns(C2CDataWarning, match="1 rows without a value of 'x'"):
        result = control_chart(data, y="y", x="x", chart="i")
    assert len(result.table) == 4


def test_nhs_trend_takes_its_direction_from_the_trend_not_the_side_of_the_mean():
    # NHSRplotthedots 0.2.2 NEWS (issue #171): a rising trend of 7 that starts below the mean
    # is "high" throughout; with better = higher every point of it is improvement.
    values = [5.0, 5.5, 4.8, 5.2, 5.1, 4.9, 5.0, 4.6, 4.7, 4.8, 4.85, 4.9, 5.05, 5.2, 5.0, 4.9]
    result = control_chart(series(values), y="y", x="x", chart="i", rules="nhs", better="higher")
    table = result.table
    trend = table.iloc[7:14]
    assert (trend["nhs_rule"] == "trend").all()
    assert (trend["nhs_class"] == "special_cause_improvement").all()
    assert (trend["y"] < trend["center"]).sum() >= 4  # most of it lies below the mean


def test_nhs_precedence_beyond_a_limit_before_a_trend():
    # The 7th point of a rising trend is also beyond the upper limit: it reports the limit.
    baseline = [5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.1, 5.0, 4.9, 5.1]
    values = [*baseline, 5.11, 5.12, 5.13, 5.14, 5.15, 5.16, 9.0]
    table = control_chart(series(values), y="y", x="x", chart="i", rules="nhs", freeze=10).table
    assert table["nhs_rule"].iloc[-1] == "beyond_limit"
    assert (table["nhs_rule"].iloc[10:16] == "trend").all()


def test_nhs_neutral_special_causes_say_high_or_low():
    values = [5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.1, 5.0, 4.9, 5.1, 9.0, 1.0]
    table = control_chart(series(values), y="y", x="x", chart="i", rules="nhs", freeze=10).table
    assert table["nhs_class"].tolist()[-2:] == [
        "special_cause_neutral_high",
        "special_cause_neutral_low",
    ]


@pytest.mark.parametrize(
    ("target", "better", "expected"),
    # NHSRplotthedots ptd_calculate_assurance_type: strictly above the upper limit fails an
    # increase target (passes a decrease one); a target on a limit is inconsistent.
    [
        ("upper+1", "higher", "consistently_failing"),
        ("lower-1", "higher", "consistently_passing"),
        ("upper+1", "lower", "consistently_passing"),
        ("upper", "higher", "hit_and_miss"),
        ("lower", "lower", "hit_and_miss"),
    ],
)
def test_nhs_assurance_against_the_last_limits(target, better, expected):
    values = [5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.1, 5.0, 4.9, 5.1]
    first = control_chart(series(values), y="y", x="x", chart="i", rules="nhs").table.iloc[-1]
    value = {
        "upper+1": first["upper"] + 1,
        "lower-1": first["lower"] - 1,
        "upper": first["upper"],
        "lower": first["lower"],
    }[target]
    summary = control_chart(
        series(values), y="y", x="x", chart="i", rules="nhs", better=better, target=value
    ).summary
    assert summary["assurance"].iloc[0] == expected


def test_spc_table_passes_better_and_target_through():
    values = [5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.1, 5.0, 4.9, 5.1, 9.0]
    data = pd.concat([series(values).assign(school=s) for s in ("a", "b")], ignore_index=True)
    summary = spc_table(
        data, by=["school"], y="y", x="x", chart="i", rules="nhs", freeze=10,
        better="lower", target=3.0,
    ).summary  # fmt: skip
    assert summary["variation"].tolist() == ["special_cause_concern"] * 2
    assert summary["assurance"].tolist() == ["consistently_failing"] * 2


def test_suppression_markers_are_withheld_points_counted_in_the_summary():
    # Issue 14: NS, s and * are withheld values, not silently missing ones.
    data = pd.DataFrame({"x": range(1, 9), "y": ["5", "NS", "6", "s", "7", "*", "8", "9"]})
    result = run_chart(data, y="y", x="x")
    assert result.table["withheld"].tolist() == [
        False,
        True,
        False,
        True,
        False,
        True,
        False,
        False,
    ]
    assert result.summary["n_withheld"].iloc[0] == 3
    assert result.summary["n_useful"].iloc[0] <= 5


def test_text_that_is_neither_a_number_nor_a_marker_is_an_error_naming_the_row():
    from c2c_analysis.validation import DataValidationError

    data = pd.DataFrame({"x": [1, 2, 3], "y": ["5", "five", "6"]})
    with pytest.raises(DataValidationError, match="five"):
        run_chart(data, y="y", x="x")


# --- review fixes: names, periods, partial rows ------------------------------------------------


def test_user_columns_named_like_internal_ones_do_not_change_the_chart():
    # A month column called "m" (or a value column "y" beside an x called "y") once clashed
    # with the engine's own columns: freeze and exclude went wrong without a word.
    values = [10.0, 11, 10, 12, 11, 10, 11, 12, 20, 21, 20, 22]
    month = control_chart(
        pd.DataFrame({"month": range(1, 13), "v": values}), y="v", x="month", chart="i",
        freeze=6, exclude=[3],
    ).table  # fmt: skip
    for name in ("m", "s", "n", "withheld", "baseline"):
        other = control_chart(
            pd.DataFrame({name: range(1, 13), "v": values}), y="v", x=name, chart="i",
            freeze=6, exclude=[3],
        ).table  # fmt: skip
        np.testing.assert_allclose(other["center"], month["center"], err_msg=name)
        assert other["x"].tolist() == list(range(1, 13)), name
    years = pd.DataFrame({"y": range(2001, 2013), "v": values})
    assert len(control_chart(years, y="v", x="y", chart="i").table) == 12


def test_school_year_text_keeps_its_time_order_and_its_runs_analysis():
    values = [5.0, 6, 4, 7, 5, 6, 5, 4, 6, 5, 8, 9, 8, 9, 10, 9, 8, 9, 10, 9]
    years = [f"{y}-{(y + 1) % 100:02d}" for y in range(2000, 2020)]
    as_text = run_chart(pd.DataFrame({"sy": years, "v": values}), y="v", x="sy")
    as_numbers = run_chart(pd.DataFrame({"sy": range(2000, 2020), "v": values}), y="v", x="sy")
    assert as_text.settings["time_order"] is True
    assert bool(as_text.summary["runs_signal"].iloc[0]) == bool(
        as_numbers.summary["runs_signal"].iloc[0]
    )
    assert bool(as_text.summary["runs_signal"].iloc[0])


def test_a_numerator_without_its_denominator_adds_nothing():
    data = pd.DataFrame({"x": [1, 1, 2, 3], "y": [50, 30, 6, 7], "n": [np.nan, 100, 20, 20]})
    table = control_chart(data, y="y", n="n", x="x", chart="p").table
    assert table["y"].iloc[0] == pytest.approx(30 / 100)


def test_a_sum_with_a_withheld_part_is_withheld_not_smaller():
    # Three schools' monthly events; one school's March count is withheld ("*").
    data = pd.DataFrame(
        {
            "month": [1, 1, 1, 2, 2, 2, 3, 3, 3],
            "events": ["8", "7", "9", "8", "8", "8", "9", "*", "8"],
        }
    )
    result = control_chart(data, y="events", x="month", chart="c")
    assert result.table["y"].tolist()[:2] == [24.0, 24.0]
    assert np.isnan(result.table["y"].iloc[2])
    assert result.table["withheld"].tolist() == [False, False, True]
    assert result.summary["n_withheld"].iloc[0] == 1


def test_the_canonical_suppressed_flag_withholds_a_point():
    data = pd.DataFrame(
        {"year": range(2010, 2016), "numerator": [40, 42, 3, 45, 44, 46],
         "denominator": [50, 52, 4, 55, 54, 56],
         "suppressed": [False, False, True, False, False, False]}
    )  # fmt: skip
    result = run_chart(data, y="numerator", n="denominator", x="year")
    assert result.table["withheld"].tolist() == [False, False, True, False, False, False]
    assert np.isnan(result.table["y"].iloc[2])
    assert result.summary["n_withheld"].iloc[0] == 1


def test_a_freeze_before_the_first_point_warns():
    from c2c_analysis.validation import C2CDataWarning

    with pytest.warns(C2CDataWarning, match="before the first"):
        control_chart(series([1.0, 2, 3, 4, 5], x=range(2010, 2015)), y="y", x="x", chart="i",
                      freeze=2005)  # fmt: skip


def test_screening_never_leaves_rounded_data_without_spread():
    # Eleven 5.0s and one 5.1: every moving range but two is 0, both at or above 3.267·MR̄.
    # Screened, MR̄ would be 0 and every point would signal; the unscreened MR̄ is kept.
    values = [5.0] * 6 + [5.1] + [5.0] * 5
    table = control_chart(series(values), y="y", x="x", chart="i").table
    mr_bar = np.mean(np.abs(np.diff(values)))
    assert table["upper"].iloc[0] - table["center"].iloc[0] == pytest.approx(3 * mr_bar / 1.128)
    assert table["sigma_signal"].sum() <= 1


def test_a_numerator_above_its_denominator_is_an_error():
    data = pd.DataFrame({"x": [1, 2, 3], "y": [5, 12, 6], "n": [10, 10, 10]})
    with pytest.raises(ValueError, match="larger than its denominator"):
        control_chart(data, y="y", n="n", x="x", chart="p")


# --- the result and the renamed parameters (issue 19) ----------------------------------------


def test_spc_table_returns_one_result_with_both_tables():
    data = pd.concat(
        [series([5.0, 6, 4, 7, 5, 6, 5, 4]).assign(school=s) for s in ("a", "b")],
        ignore_index=True,
    )
    result = spc_table(data, by="school", y="y", x="x")
    assert isinstance(result, SPCResult)
    assert result.settings["by"] == ["school"]
    assert result.table.columns[0] == "school"
    assert len(result.table) == 16
    assert result.summary["school"].tolist() == ["a", "b"]
    single = run_chart(data[data["school"] == "a"], y="y", x="x")
    pd.testing.assert_frame_equal(
        result.summary.drop(columns="school").iloc[[0]], single.summary, check_dtype=False
    )


@pytest.mark.parametrize("summary", [True, False])
def test_spc_table_summary_keyword_is_deprecated_and_returns_one_table(summary):
    data = pd.concat(
        [series([5.0, 6, 4, 7, 5, 6, 5, 4]).assign(school=s) for s in ("a", "b")],
        ignore_index=True,
    )
    result = spc_table(data, by=["school"], y="y", x="x")
    with pytest.warns(
        DeprecationWarning, match=r"summary= is deprecated.*use \.table or \.summary"
    ):
        old = spc_table(data, by=["school"], y="y", x="x", summary=summary)
    pd.testing.assert_frame_equal(old, result.summary if summary else result.table)


@pytest.mark.parametrize("function", ["control_chart", "spc_table"])
@pytest.mark.parametrize(
    ("improvement", "better"), [("increase", "higher"), ("decrease", "lower"), ("neutral", None)]
)
def test_improvement_is_deprecated_for_better(function, improvement, better):
    values = [5.0, 5.2, 4.9, 5.1, 5.0, 4.8, 5.1, 5.0, 4.9, 5.1, 9.0]
    data = series(values).assign(school="a")
    chart = control_chart if function == "control_chart" else spc_table
    extra = {"by": ["school"]} if function == "spc_table" else {}
    common = dict(y="y", x="x", chart="i", rules="nhs", freeze=10, target=3.0, **extra)
    new = chart(data, better=better, **common)
    with pytest.warns(DeprecationWarning, match="improvement= is deprecated"):
        old = chart(data, improvement=improvement, **common)
    pd.testing.assert_frame_equal(old.table, new.table)
    pd.testing.assert_frame_equal(old.summary, new.summary)
    assert old.settings["better"] == better


def test_better_and_improvement_together_or_a_wrong_better_are_refused():
    data = series([5.0, 5.2, 4.9, 5.1, 5.0])
    with pytest.raises(TypeError, match="both better= and its old name improvement="):
        control_chart(data, y="y", x="x", chart="i", better="higher", improvement="increase")
    with pytest.raises(ValueError, match="better must be 'higher', 'lower' or None"):
        control_chart(data, y="y", x="x", chart="i", better="increase")


def test_result_is_frozen_complete_and_json_safe():
    import json

    result = control_chart(series([5.0, 5.2, 4.9, 5.1, 5.0, 9.0]), y="y", x="x", chart="i")
    with pytest.raises(AttributeError):
        result.table = pd.DataFrame()
    payload = json.loads(json.dumps(result.to_dict()))
    assert sorted(payload) == ["notes", "settings", "summary", "table", "type"]
    assert len(payload["table"]) == 6
    assert len(payload["summary"]) == 1
    assert payload["settings"]["version"]
    assert payload["settings"]["method_reference"].startswith("Anhøj & Olesen (2014)")
    assert "Montgomery" in payload["settings"]["method_reference"]
    assert "i chart (anhoej rules)" in repr(result)
    assert "0x" not in result._repr_html_()


def test_plot_of_one_series_and_a_clear_error_for_several():
    import matplotlib.pyplot as plt

    data = pd.concat(
        [series([5.0, 6, 4, 7, 5, 6, 5, 4]).assign(school=s) for s in ("a", "b")],
        ignore_index=True,
    )
    one = spc_table(data[data["school"] == "a"], by="school", y="y", x="x").plot()
    assert "values" in [line.get_label() for line in one.lines]
    assert len(one.lines[-1].get_xdata()) >= 8  # the series' 8 points
    both = run_chart(data, y="y", x="x").plot()
    assert "values" in [line.get_label() for line in both.lines]
    plt.close("all")
    with pytest.raises(ValueError, match=r"holds 2 series: draw them with plotting\.plot_spc_grid"):
        spc_table(data, by="school", y="y", x="x").plot()
