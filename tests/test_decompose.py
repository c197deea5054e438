"""decompose: Kitagawa, Das Gupta and Oaxaca-Blinder against hand derivations and published data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from c2c_analysis import DataValidationError, load_sample
from c2c_analysis.decompose import das_gupta, decompose_rate_change, oaxaca_blinder


def groups(rows):
    frame = pd.DataFrame(rows, columns=["year", "group", "numerator", "denominator"])
    frame["partnership"], frame["outcome"], frame["dimension"] = "p", "hs_graduation", "income"
    return frame


KITAGAWA = groups(
    [
        (2012, "Low income", 300, 600),
        (2012, "Not low income", 320, 400),
        (2015, "Low income", 490, 700),
        (2015, "Not low income", 255, 300),
    ]
)


def test_kitagawa_components_by_hand():
    result = decompose_rate_change(KITAGAWA, start=2012, end=2015)
    # Shares 0.6/0.4 -> 0.7/0.3; rates 0.5/0.8 -> 0.7/0.85.
    composition = (0.7 - 0.6) * (0.5 + 0.7) / 2 + (0.3 - 0.4) * (0.8 + 0.85) / 2
    rate = (0.7 - 0.5) * (0.6 + 0.7) / 2 + (0.85 - 0.8) * (0.4 + 0.3) / 2
    row = result.summary.iloc[0]
    assert row["composition_effect"] == pytest.approx(composition)
    assert row["rate_effect"] == pytest.approx(rate)
    assert row["total_change"] == pytest.approx(0.745 - 0.62)
    assert composition + rate == pytest.approx(0.745 - 0.62)


def test_centred_composition_has_the_same_total_and_ignores_a_common_shift():
    result = decompose_rate_change(KITAGAWA, start=2012, end=2015)
    assert result.table["composition_effect_centered"].sum() == pytest.approx(
        result.table["composition_effect"].sum()
    )
    shifted = KITAGAWA.assign(
        numerator=KITAGAWA["numerator"] - (0.1 * KITAGAWA["denominator"]).astype(int)
    )
    again = decompose_rate_change(shifted, start=2012, end=2015)
    np.testing.assert_allclose(
        again.table["composition_effect_centered"], result.table["composition_effect_centered"]
    )
    assert not np.allclose(again.table["composition_effect"], result.table["composition_effect"])


def test_kitagawa_on_the_sample_adds_up():
    data = load_sample("outcomes").query(
        "outcome == 'hs_graduation' and dimension == 'race_ethnicity'"
    )
    summary = decompose_rate_change(data, start=2012, end=2015).summary.set_index("partnership")
    assert len(summary) == 5
    done = summary.drop(index="north_valley")
    np.testing.assert_allclose(
        done["composition_effect"] + done["rate_effect"], done["total_change"]
    )


def test_series_with_withheld_counts_say_so():
    # north_valley's 2012 cells under 10 students were withheld by the source (sample README).
    data = load_sample("outcomes").query(
        "outcome == 'hs_graduation' and dimension == 'race_ethnicity'"
    )
    row = (
        decompose_rate_change(data, start=2012, end=2015)
        .summary.set_index("partnership")
        .loc["north_valley"]
    )
    assert np.isnan(row["total_change"])
    assert "are withheld and there is no All students row" in row["note"]


def test_withheld_groups_are_pooled_from_all_students_minus_the_published_groups():
    # Issue 13: with the All students rows given, north_valley's withheld 2012 groups become
    # one line, All students minus the published groups, and the change is decomposed.
    data = load_sample("outcomes").query(
        "partnership == 'north_valley' and outcome == 'hs_graduation' "
        "and dimension in ['race_ethnicity', 'all'] and year in [2012, 2015]"
    )
    result = decompose_rate_change(data, start=2012, end=2015)
    row = result.summary.iloc[0]
    assert "pooled as 'Withheld groups'" in row["note"]
    overall = data[data["dimension"] == "all"].set_index("year")
    # The decomposition adds back up to All students' own change (Kitagawa's identity).
    expected = (overall["numerator"] / overall["denominator"]).diff().iloc[-1]
    assert row["total_change"] == pytest.approx(expected)
    assert row["composition_effect"] + row["rate_effect"] == pytest.approx(expected)
    # By hand: the groups withheld in either year (2012 here) form one line in both years,
    # All students minus the groups published in both; then Kitagawa's two sums.
    # Groups with a row in one year only are in the line too (in the other year their
    # students, if any, are part of All minus the published groups).
    groups = data[data["dimension"] != "all"]
    withheld = set(groups.loc[groups["numerator"].isna(), "group"])
    in_both = set(groups.loc[groups["year"] == 2012, "group"]) & set(
        groups.loc[groups["year"] == 2015, "group"]
    )
    kept = groups[~groups["group"].isin(withheld) & groups["group"].isin(in_both)]
    table = {}
    for year in (2012, 2015):
        part = kept[kept["year"] == year].set_index("group")[["numerator", "denominator"]]
        line = overall.loc[year, ["numerator", "denominator"]] - part.sum()
        part.loc["Withheld groups"] = line
        table[year] = part.astype(float)
    c1 = table[2012]["denominator"] / table[2012]["denominator"].sum()
    c2 = table[2015]["denominator"] / table[2015]["denominator"].sum()
    r1 = table[2012]["numerator"] / table[2012]["denominator"]
    r2 = table[2015]["numerator"] / table[2015]["denominator"]
    composition = ((c2 - c1) * (r1 + r2) / 2).sum()
    rate = ((r2 - r1) * (c1 + c2) / 2).sum()
    assert row["composition_effect"] == pytest.approx(composition)
    assert row["rate_effect"] == pytest.approx(rate)
    assert "in both periods" in row["note"]
    pooled = result.table.set_index("group").loc["Withheld groups"]
    assert pooled["share_start"] == pytest.approx(c1["Withheld groups"])
    assert pooled["share_end"] == pytest.approx(c2["Withheld groups"])


# --- Das Gupta: examples of Das Gupta (1993), data as given in the DasGuptR package README ------


def test_two_factors_mean_earnings_by_hand():
    # Das Gupta (1993) Table 2.1: mean earnings = average earnings x share of earners, black and
    # white men 18+, US 1980. Effects (a2 - a1)(b1 + b2)/2 and (b2 - b1)(a1 + a2)/2.
    data = pd.DataFrame(
        {"pop": ["black", "white"], "avg": [10930, 16591], "share": [0.717892, 0.825974]}
    )
    result = das_gupta(data, group="pop", factors=["avg", "share"]).summary.set_index("factor")
    assert result.loc["avg", "effect"] == pytest.approx((16591 - 10930) * (0.717892 + 0.825974) / 2)
    assert result.loc["share", "effect"] == pytest.approx(
        (0.825974 - 0.717892) * (10930 + 16591) / 2
    )
    assert result["effect"].sum() == pytest.approx(16591 * 0.825974 - 10930 * 0.717892)


def test_three_factors_birth_rates_against_the_closed_form():
    # Das Gupta (1993) Table 2.2, Austria and Chile 1981. For R = abc the a-effect is
    # (a2 - a1)[(b1c1 + b2c2)/3 + (b1c2 + b2c1)/6].
    a, b, c = (51.78746, 84.90502), (0.45919, 0.75756), (0.52638, 0.51065)
    data = pd.DataFrame({"pop": ["austria", "chile"], "a": a, "b": b, "c": c})
    result = das_gupta(data, group="pop", factors=["a", "b", "c"]).summary.set_index("factor")
    expected = (a[1] - a[0]) * ((b[0] * c[0] + b[1] * c[1]) / 3 + (b[0] * c[1] + b[1] * c[0]) / 6)
    assert result.loc["a", "effect"] == pytest.approx(expected)
    assert result["effect"].sum() == pytest.approx(a[1] * b[1] * c[1] - a[0] * b[0] * c[0])


@pytest.mark.parametrize("k", [4, 5])
def test_effects_add_up_to_the_crude_difference(k):
    # Das Gupta (1993) Tables 2.3 (four factors) and 2.4 (five factors).
    values = {
        4: [(25.3, 32.7), (0.214, 0.290), (0.279, 0.473), (0.949, 0.986)],
        5: [(0.58, 0.72), (0.76, 0.97), (0.84, 0.97), (0.66, 0.56), (16.573, 16.158)],
    }[k]
    data = pd.DataFrame({"pop": [1, 2], **{f"f{i}": v for i, v in enumerate(values)}})
    result = das_gupta(data, group="pop", factors=[f"f{i}" for i in range(k)])
    crude = result.table.drop_duplicates("population")["crude_rate"].to_numpy()
    assert result.summary["effect"].sum() == pytest.approx(crude[1] - crude[0])


def test_vector_factors_and_a_rate_function():
    # Das Gupta (1993) Table 4.3: crude birth rate of Taiwan 1960 and 1970 as sum(bm * mw * wp)
    # over seven age groups.
    data = pd.DataFrame(
        {
            "age": list(range(7)) * 2,
            "pop": [1970] * 7 + [1960] * 7,
            "bm": [488, 452, 338, 156, 63, 22, 3, 393, 407, 369, 274, 184, 90, 16],
            "mw": [
                0.082,
                0.527,
                0.866,
                0.941,
                0.942,
                0.923,
                0.876,
                0.122,
                0.622,
                0.903,
                0.930,
                0.916,
                0.873,
                0.800,
            ],
            "wp": [
                0.058,
                0.038,
                0.032,
                0.030,
                0.026,
                0.023,
                0.019,
                0.043,
                0.041,
                0.036,
                0.032,
                0.026,
                0.020,
                0.018,
            ],
        }
    )
    result = das_gupta(data, group="pop", factors=["bm", "mw", "wp"], subgroup="age")
    crude = result.table.drop_duplicates("population").set_index("population")["crude_rate"]
    by_hand = data.assign(r=data.bm * data.mw * data.wp).groupby("pop")["r"].sum()
    np.testing.assert_allclose(crude.sort_index().to_numpy(), by_hand.sort_index().to_numpy())
    assert result.summary["effect"].sum() == pytest.approx(by_hand[1970] - by_hand[1960])


def test_difference_rate_function_gives_each_factor_its_own_change():
    # Das Gupta (1993) Table 3.1: rate of natural increase = births - deaths, US 1940 and 1960.
    data = pd.DataFrame({"pop": [1940, 1960], "births": [19.4, 23.7], "deaths": [10.8, 9.5]})
    result = das_gupta(
        data,
        group="pop",
        factors=["births", "deaths"],
        rate_function=lambda births, deaths: births - deaths,
    ).summary.set_index("factor")
    assert result.loc["births", "effect"] == pytest.approx(23.7 - 19.4)
    assert result.loc["deaths", "effect"] == pytest.approx(-(9.5 - 10.8))


def test_n_populations_are_consistent_along_a_chain():
    data = pd.DataFrame(
        {
            "pop": [2010, 2013, 2016, 2019],
            "a": [0.55, 0.62, 0.70, 0.74],
            "b": [0.90, 0.88, 0.91, 0.95],
            "c": [1.0, 1.1, 1.05, 1.2],
        }
    )
    result = das_gupta(data, group="pop", factors=["a", "b", "c"]).summary
    effect = result.set_index(["population_from", "population_to", "factor"])["effect"]
    for f in "abc":
        assert effect[(2010, 2019, f)] == pytest.approx(
            effect[(2010, 2013, f)] + effect[(2013, 2016, f)] + effect[(2016, 2019, f)]
        )
    sums = result.groupby(["population_from", "population_to"])[["effect", "crude_difference"]].agg(
        {"effect": "sum", "crude_difference": "first"}
    )
    np.testing.assert_allclose(sums["effect"], sums["crude_difference"])


def test_two_populations_need_no_adjustment():
    data = pd.DataFrame({"pop": [1, 2], "a": [2.0, 3.0], "b": [5.0, 4.0]})
    table = das_gupta(data, group="pop", factors=["a", "b"]).table.set_index(
        ["population", "factor"]
    )
    assert table.loc[(1, "a"), "standardized_rate"] == pytest.approx(2.0 * (5 + 4) / 2)


# --- Oaxaca-Blinder against statsmodels OLS, computed by hand ----------------------------------


@pytest.fixture
def students(rng):
    n = 600
    group = rng.random(n) < 0.45
    x1 = rng.normal(0.2 * group, 1)
    x2 = (rng.random(n) < np.where(group, 0.3, 0.6)).astype(float)
    y = 0.5 + 0.1 * x1 - 0.15 * x2 + 0.05 * group + rng.normal(0, 0.2, n)
    return pd.DataFrame({"y": y, "g": np.where(group, "A", "B"), "x1": x1, "x2": x2})


def _fit(frame):
    return sm.OLS(frame["y"], sm.add_constant(frame[["x1", "x2"]])).fit().params.to_numpy()


def test_twofold_and_threefold_by_hand(students):
    a, b = students[students.g == "A"], students[students.g == "B"]
    ba, bb = _fit(a), _fit(b)
    xa = np.r_[1, a[["x1", "x2"]].mean()]
    xb = np.r_[1, b[["x1", "x2"]].mean()]
    result = oaxaca_blinder(
        students,
        value="y",
        group="g",
        covariates=["x1", "x2"],
        reference="A",
        weights="reference",
    )
    s = result.summary.set_index("component")["estimate"]
    assert s["gap"] == pytest.approx(a.y.mean() - b.y.mean())
    assert s["explained"] == pytest.approx((xa - xb) @ ba)
    assert s["endowments"] == pytest.approx((xa - xb) @ bb)
    assert s["coefficients"] == pytest.approx(xb @ (ba - bb))
    assert s["interaction"] == pytest.approx((xa - xb) @ (ba - bb))
    assert s["endowments"] + s["coefficients"] + s["interaction"] == pytest.approx(s["gap"])
    assert s["explained"] + s["unexplained"] == pytest.approx(s["gap"])


def test_pooled_reference_coefficients_include_a_group_indicator(students):
    # Jann (2008): beta* from the pooled model with a group dummy.
    design = sm.add_constant(students[["x1", "x2"]]).assign(ind=(students.g == "A").astype(float))
    star = sm.OLS(students["y"], design).fit().params.to_numpy()[:3]
    a, b = students[students.g == "A"], students[students.g == "B"]
    xa, xb = np.r_[1, a[["x1", "x2"]].mean()], np.r_[1, b[["x1", "x2"]].mean()]
    result = oaxaca_blinder(students, value="y", group="g", covariates=["x1", "x2"], reference="A")
    assert result.summary.set_index("component").loc["explained", "estimate"] == pytest.approx(
        (xa - xb) @ star
    )
    detail = result.table.set_index("covariate")
    assert detail.loc["x1", "explained"] == pytest.approx((xa[1] - xb[1]) * star[1])


@pytest.mark.parametrize("weights", ["neumark", "reimers", "cotton", "other"])
def test_every_weighting_adds_up(students, weights):
    result = oaxaca_blinder(
        students,
        value="y",
        group="g",
        covariates=["x1", "x2"],
        reference="A",
        weights=weights,
    )
    s = result.summary.set_index("component")["estimate"]
    assert s["explained"] + s["unexplained"] == pytest.approx(s["gap"])
    assert result.table["explained"].sum() == pytest.approx(s["explained"])


def test_groups_keep_the_order_given(students):
    first = oaxaca_blinder(students, value="y", group="g", covariates=["x1", "x2"], reference="A")
    second = oaxaca_blinder(students, value="y", group="g", covariates=["x1", "x2"], reference="B")
    gap = lambda r: r.summary.set_index("component").loc["gap", "estimate"]  # noqa: E731
    assert gap(first) == pytest.approx(-gap(second))


def test_bootstrap_standard_errors_repeat_with_the_seed(students):
    kwargs = dict(
        value="y", group="g", covariates=["x1", "x2"], reference="A", bootstrap=50, seed=7
    )
    one, two = oaxaca_blinder(students, **kwargs), oaxaca_blinder(students, **kwargs)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    assert (one.summary["se"] > 0).all()
    assert "explained_se" in one.table


def test_result_is_json_safe_and_free_of_addresses(students):
    import json

    result = oaxaca_blinder(students, value="y", group="g", covariates=["x1", "x2"], reference="A")
    json.dumps(result.to_dict())
    assert "0x" not in repr(result)
    assert "<table" in result._repr_html_()


def test_first_and_last_decompose_each_outcome_over_its_own_years():
    # One call with start="first", end="last" equals one call per outcome with its years.
    data = load_sample("outcomes").query("partnership == 'tacoma'")
    race = data[data["dimension"] == "race_ethnicity"]
    together = decompose_rate_change(race, start="first", end="last").summary
    assert together["start"].nunique() > 1  # the sample's outcomes start in different years
    for outcome, series in race.groupby("outcome"):
        years = sorted(series["year"].unique())
        alone = decompose_rate_change(series, start=years[0], end=years[-1]).summary
        mine = together[together["outcome"] == outcome].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone)
        assert (mine["start"].iloc[0], mine["end"].iloc[0]) == (years[0], years[-1])


# --- Das Gupta: which population comes first ------------------------------------------------

# Das Gupta (1993) Table 2.1 (mean earnings of black and white men 18+, US 1980). The effects
# of going from the black to the white population, as DasGuptR's README prints them for
# dgnpop(eg2.1, pop = "pop", factors = c("avg_earnings", "earner_prop")) |> dg_table():
# avg_earnings 4369.913, earner_prop 1487.262, crude difference 5857.175.
TABLE_2_1 = {"avg": [10930, 16591], "share": [0.717892, 0.825974]}
DASGUPTR_2_1 = {"avg": 4369.913, "share": 1487.262}


def _effects(result):
    return result.summary.set_index("factor")["effect"]


def test_pre_and_post_give_post_minus_pre_not_the_alphabetical_order():
    # "post" sorts before "pre": an alphabetical order would give pre minus post.
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    result = das_gupta(data, group="pop", factors=["avg", "share"])
    effects = _effects(result)
    for factor, expected in DASGUPTR_2_1.items():
        assert effects[factor] == pytest.approx(expected, abs=5e-4)
    assert result.settings["first"] == "pre"
    assert result.settings["second"] == "post"
    assert result.settings["comparison"] == "post minus pre"
    assert result.settings["order"] == "first appearance"
    assert result.summary["population_from"].unique().tolist() == ["pre"]
    assert result.summary["crude_difference"].iloc[0] == pytest.approx(5857.175, abs=5e-4)


def test_categorical_order_wins_over_the_rows_order():
    # Rows black then white, categories white then black: effects are black minus white,
    # the DasGuptR values with their sign reversed.
    data = pd.DataFrame({"pop": ["black", "white"], **TABLE_2_1})
    data["pop"] = pd.Categorical(data["pop"], categories=["white", "black"])
    result = das_gupta(data, group="pop", factors=["avg", "share"])
    effects = _effects(result)
    for factor, expected in DASGUPTR_2_1.items():
        assert effects[factor] == pytest.approx(-expected, abs=5e-4)
    assert result.settings["populations"] == ["white", "black"]
    assert result.settings["order"] == "categorical"
    assert result.settings["comparison"] == "black minus white"


def test_unused_categories_are_not_populations():
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    data["pop"] = pd.Categorical(data["pop"], categories=["baseline", "pre", "post"])
    result = das_gupta(data, group="pop", factors=["avg", "share"])
    assert result.settings["populations"] == ["pre", "post"]


def test_explicit_order_reverses_the_comparison():
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    result = das_gupta(data, group="pop", factors=["avg", "share"], order=["post", "pre"])
    assert _effects(result)["avg"] == pytest.approx(-DASGUPTR_2_1["avg"], abs=5e-4)
    assert result.settings["order"] == "given"
    assert result.settings["comparison"] == "pre minus post"


@pytest.mark.parametrize(
    ("order", "message"),
    [(["pre"], "leaves out"), (["pre", "post", "later"], "names"), (["pre", "pre"], "repeats")],
)
def test_an_order_that_is_not_every_population_once_is_refused(order, message):
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    with pytest.raises(ValueError, match=message):
        das_gupta(data, group="pop", factors=["avg", "share"], order=order)


def test_years_are_compared_in_time_order_whatever_the_rows_order():
    # Years have their own order: 2019 listed first still gives 2019 minus 2015.
    data = pd.DataFrame({"pop": [2019, 2015], "a": [3.0, 2.0], "b": [4.0, 5.0]})
    result = das_gupta(data, group="pop", factors=["a", "b"])
    assert result.settings["populations"] == [2015, 2019]
    assert result.settings["order"] == "ascending"
    assert result.summary["crude_difference"].iloc[0] == pytest.approx(3 * 4 - 2 * 5)


def test_three_labelled_populations_keep_their_order_along_the_chain():
    data = pd.DataFrame(
        {"pop": ["year one", "year two", "year three"], "a": [0.5, 0.6, 0.7], "b": [0.9, 0.8, 1.0]}
    )
    result = das_gupta(data, group="pop", factors=["a", "b"])
    pairs = result.summary[["population_from", "population_to"]].drop_duplicates()
    assert pairs.values.tolist() == [
        ["year one", "year two"],
        ["year one", "year three"],
        ["year two", "year three"],
    ]


# --- many series in one call (issue 18) -----------------------------------------------------


@pytest.fixture
def districts(rng) -> pd.DataFrame:
    """60 partnerships' race/ethnicity rows, 2010-2015, with All students rows: some groups
    missing in some years, cohorts of 0, withheld cells, published rounded rates, All
    students rows that are not published or do not add up, rows in shuffled order."""
    labels = ["Asian", "Black", "Hispanic/Latino", "White", "Two or more races"]
    k, years = 60, np.arange(2010, 2016)
    frame = pd.DataFrame(
        {
            "partnership": np.repeat([f"p{i:02d}" for i in range(k)], len(labels) * len(years)),
            "outcome": "hs_graduation",
            "dimension": "race_ethnicity",
            "group": np.tile(np.repeat(labels, len(years)), k),
            "year": np.tile(years, k * len(labels)),
        }
    )
    frame["denominator"] = rng.integers(0, 300, len(frame)).astype(float)
    frame["numerator"] = np.floor(frame["denominator"] * rng.uniform(0.4, 0.95, len(frame)))
    frame = frame[rng.random(len(frame)) > 0.05]
    overall = frame.groupby(["partnership", "outcome", "year"], as_index=False)[
        ["numerator", "denominator"]
    ].sum()
    overall = overall.assign(dimension="all", group="All students")
    overall.loc[rng.random(len(overall)) < 0.1, "denominator"] -= 1000  # does not add up
    overall = overall[rng.random(len(overall)) > 0.1]  # not published
    withheld = rng.random(len(frame)) < 0.1
    frame.loc[withheld, ["numerator", "denominator"]] = np.nan
    frame["suppressed"] = withheld
    published = ~withheld & (rng.random(len(frame)) < 0.1) & (frame["denominator"] > 0)
    frame["rate"] = np.where(
        published, np.round(frame["numerator"] / frame["denominator"], 2), np.nan
    )
    frame.loc[published, "numerator"] = np.nan
    data = pd.concat([frame, overall.assign(suppressed=False)], ignore_index=True)
    return data.sample(frac=1, random_state=5).reset_index(drop=True)


@pytest.mark.parametrize(("start", "end"), [(2012, 2015), ("first", "last"), (2010, 2011)])
def test_many_series_in_one_call_equal_one_call_per_series(districts, start, end):
    together = decompose_rate_change(districts, start=start, end=end)
    summaries, tables = [], []
    for _, part in districts.groupby("partnership"):
        try:
            alone = decompose_rate_change(part, start=start, end=end)
        except DataValidationError:  # no usable series: left out of the call on all too
            continue
        summaries.append(alone.summary)
        if len(alone.table):
            tables.append(alone.table)

    def in_order(frame):  # series come in the order they first appear in the rows used
        return frame.sort_values("partnership", kind="stable").reset_index(drop=True)

    pd.testing.assert_frame_equal(
        in_order(together.summary), pd.concat(summaries, ignore_index=True), rtol=1e-12
    )
    pd.testing.assert_frame_equal(
        in_order(together.table), pd.concat(tables, ignore_index=True), rtol=1e-12
    )
    # The fixture reaches every kind of note, so every path is compared.
    notes = together.summary["note"]
    for words in ("pooled as 'Withheld groups'", "derived from published rates", "Not decomposed"):
        assert notes.str.contains(words, regex=False).any()
    assert notes.str.contains("is not published|do not add up to All students").any()


# --- the result shape and the accessors (issue 19) ------------------------------------------


def test_oaxaca_accessors_are_the_summary_rows(students):
    result = oaxaca_blinder(
        students, value="y", group="g", covariates=["x1", "x2"], reference="A", bootstrap=40, seed=2
    )
    estimates = result.summary.set_index("component")["estimate"]
    assert result.gap == estimates["gap"]
    assert result.twofold["component"].tolist() == ["explained", "unexplained"]
    assert result.threefold["component"].tolist() == ["endowments", "coefficients", "interaction"]
    assert result.twofold["estimate"].sum() == pytest.approx(result.gap)
    assert result.threefold["estimate"].sum() == pytest.approx(result.gap)
    assert result.twofold.columns.tolist() == ["component", "estimate", "se"]
    assert result.settings["analysis"] == "Oaxaca-Blinder decomposition"
    assert "Oaxaca (1973)" in result.settings["method_reference"]
    assert result.settings["reference"] == "A"


def test_oaxaca_conf_int_is_the_bootstrap_percentiles_at_any_level(students):
    result = oaxaca_blinder(
        students, value="y", group="g", covariates=["x1", "x2"], reference="A", bootstrap=60, seed=4
    )
    assert result.draws.shape == (60, 6)
    np.testing.assert_allclose(result.draws.std(ddof=1).to_numpy(), result.summary["se"])
    for level in (0.8, 0.95):
        ci = result.conf_int(level)
        expected = np.quantile(result.draws.to_numpy(), [(1 - level) / 2, (1 + level) / 2], axis=0)
        np.testing.assert_allclose(ci["ci_lower"], expected[0])
        np.testing.assert_allclose(ci["ci_upper"], expected[1])
        assert ci["component"].tolist() == result.summary["component"].tolist()
        assert (ci["level"] == level).all()
    assert (result.conf_int(0.99)["ci_lower"] <= result.conf_int(0.5)["ci_lower"]).all()
    with pytest.raises(ValueError, match="confidence level"):
        result.conf_int(95)


def test_oaxaca_without_bootstrap_has_no_intervals(students):
    result = oaxaca_blinder(students, value="y", group="g", covariates=["x1", "x2"], reference="A")
    assert len(result.draws) == 0
    with pytest.raises(ValueError, match="bootstrap="):
        result.conf_int()


def test_results_are_complete_in_to_dict(students):
    import json

    result = oaxaca_blinder(
        students, value="y", group="g", covariates=["x1", "x2"], reference="A", bootstrap=5, seed=1
    )
    out = json.loads(json.dumps(result.to_dict()))
    assert set(out) == {"type", "table", "summary", "settings", "notes", "draws"}
    assert len(out["draws"]) == 5
    kitagawa = decompose_rate_change(KITAGAWA, start=2012, end=2015).to_dict()
    assert kitagawa["settings"]["method"] == "kitagawa"
    assert "Kitagawa (1955)" in kitagawa["settings"]["method_reference"]
    assert len(kitagawa["table"]) == 2


def test_das_gupta_effects_and_reference():
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    result = das_gupta(data, group="pop", factors=["avg", "share"])
    assert result.effects is result.summary  # the factor effects are the summary
    assert result.settings["group"] == "pop"
    assert "Das Gupta (1993)" in result.settings["method_reference"]
    assert "post minus pre" in repr(result)


@pytest.mark.parametrize("make", ["kitagawa", "das_gupta", "oaxaca"])
def test_every_result_draws_its_waterfall(make, students):
    import matplotlib.pyplot as plt

    if make == "kitagawa":
        result = decompose_rate_change(KITAGAWA, start=2012, end=2015)
    elif make == "das_gupta":
        result = das_gupta(
            pd.DataFrame({"pop": [1, 2], **TABLE_2_1}), group="pop", factors=["avg", "share"]
        )
    else:
        result = oaxaca_blinder(
            students, value="y", group="g", covariates=["x1", "x2"], reference="A"
        )
    fig, ax = plt.subplots()
    assert result.plot(ax=ax) is ax
    assert len(ax.patches) >= 4
    plt.close(fig)


def test_by_may_be_one_column_name():
    one = decompose_rate_change(KITAGAWA, start=2012, end=2015, by="partnership")
    listed = decompose_rate_change(KITAGAWA, start=2012, end=2015, by=["partnership"])
    pd.testing.assert_frame_equal(one.summary, listed.summary)


def test_a_missing_column_is_the_one_missing_column_error():
    with pytest.raises(DataValidationError, match="required column is missing"):
        decompose_rate_change(KITAGAWA.drop(columns="group"), start=2012, end=2015)
    with pytest.raises(DataValidationError, match="required column is missing"):
        das_gupta(pd.DataFrame({"pop": [1, 2]}), group="pop", factors=["avg"])


# --- renamed parameters (issue 19): the old names work until 0.3, with a warning ----------


def test_das_gupta_population_is_now_group():
    data = pd.DataFrame({"pop": ["pre", "post"], **TABLE_2_1})
    with pytest.warns(DeprecationWarning, match="population= is deprecated"):
        old = das_gupta(data, population="pop", factors=["avg", "share"])
    new = das_gupta(data, group="pop", factors=["avg", "share"])
    pd.testing.assert_frame_equal(old.summary, new.summary)
    pd.testing.assert_frame_equal(old.table, new.table)


def test_das_gupta_rate_is_now_rate_function():
    data = pd.DataFrame({"pop": [1940, 1960], "births": [19.4, 23.7], "deaths": [10.8, 9.5]})

    def natural_increase(births, deaths):
        return births - deaths

    kw = dict(group="pop", factors=["births", "deaths"])
    with pytest.warns(DeprecationWarning, match="rate= is deprecated"):
        old = das_gupta(data, rate=natural_increase, **kw)
    new = das_gupta(data, rate_function=natural_increase, **kw)
    pd.testing.assert_frame_equal(old.summary, new.summary)


def test_oaxaca_outcome_is_now_value(students):
    kw = dict(group="g", covariates=["x1", "x2"], reference="A")
    with pytest.warns(DeprecationWarning, match="outcome= is deprecated"):
        old = oaxaca_blinder(students, outcome="y", **kw)
    new = oaxaca_blinder(students, value="y", **kw)
    pd.testing.assert_frame_equal(old.summary, new.summary)
    pd.testing.assert_frame_equal(old.table, new.table)


def test_oaxaca_reference_group_is_now_reference(students):
    kw = dict(value="y", group="g", covariates=["x1", "x2"])
    with pytest.warns(DeprecationWarning, match="reference_group= is deprecated"):
        old = oaxaca_blinder(students, reference_group="B", **kw)
    new = oaxaca_blinder(students, reference="B", **kw)
    pd.testing.assert_frame_equal(old.summary, new.summary)


def test_old_and_new_name_together_are_refused(students):
    with pytest.raises(TypeError, match="both"):
        oaxaca_blinder(
            students, value="y", outcome="y", group="g", covariates=["x1"], reference="A"
        )
    with pytest.raises(TypeError, match="needs reference="):
        oaxaca_blinder(students, value="y", group="g", covariates=["x1"])


def test_oaxaca_conf_int_from_standard_errors_alone(students):
    import dataclasses

    from scipy import stats

    result = oaxaca_blinder(
        students, value="y", group="g", covariates=["x1", "x2"], reference="A", bootstrap=20, seed=5
    )
    no_draws = dataclasses.replace(result, draws=result.draws.iloc[:0])
    ci = no_draws.conf_int(0.9)
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(
        ci["ci_lower"], result.summary["estimate"] - z * result.summary["se"]
    )
    np.testing.assert_allclose(
        ci["ci_upper"], result.summary["estimate"] + z * result.summary["se"]
    )
