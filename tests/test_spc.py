"""spc.py: limits by hand and from Montgomery's factors, runs rules from their published
tables and an exact enumeration, phases, freeze, exclude, edge cases, and spc_table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from c2c_analysis.spc import (
    _runs_distribution_limits,
    control_chart,
    run_chart,
    runs_limits,
    spc_table,
)


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
    assert _runs_distribution_limits(above, below) == (lower, upper)


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
        improvement="increase",
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


def test_nhs_two_of_three_beyond_two_sigma():
    values = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.1, 9.9, 10.45, 10.0, 10.45, 10.0]
    result = control_chart(
        series(values), y="y", x="x", chart="i", rules="nhs", screen_mr=False, freeze=8
    )
    assert result.summary["n_two_of_three"].iloc[0] == 2


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
        table = spc_table(data, by=["school"], y="num", x="month", chart=chart, **kwargs)
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
        summary=True,
    )
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
