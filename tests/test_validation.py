"""validate_outcomes: every problem found at once, named by row, column and value."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.pandas import column, data_frames, range_indexes

from c2c_analysis import C2CDataWarning, DataValidationError, validate_outcomes
from c2c_analysis.schema import COLUMNS


def problems_of(frame: pd.DataFrame) -> pd.DataFrame:
    with pytest.raises(DataValidationError) as caught:
        validate_outcomes(frame, source="test.csv")
    return caught.value.problems


def test_valid_table_gets_canonical_columns_dtypes_and_rates(valid_rows):
    table = validate_outcomes(valid_rows)
    assert tuple(table.columns) == COLUMNS
    assert str(table["numerator"].dtype) == "Int64"
    assert table["year"].dtype == np.int64
    assert table["rate"].tolist() == pytest.approx([1650 / 2000, 324 / 400, 706 / 840])
    assert not table["suppressed"].any()


def test_input_frame_is_not_modified(valid_rows):
    before = valid_rows.copy()
    validate_outcomes(valid_rows)
    pd.testing.assert_frame_equal(valid_rows, before)


def test_extra_columns_are_kept_after_the_canonical_ones(valid_rows):
    table = validate_outcomes(valid_rows.assign(notes=["a", "b", "c"]))
    assert table.columns[-1] == "notes"
    assert table["notes"].tolist() == ["a", "b", "c"]


def test_missing_required_columns_are_listed_together(valid_rows):
    problems = problems_of(valid_rows.drop(columns=["outcome", "year"]))
    missing = problems[problems["problem"].str.startswith("required column is missing")]
    assert set(missing["column"]) == {"outcome", "year"}


def test_missing_column_hint_names_a_close_header(valid_rows):
    problems = problems_of(valid_rows.rename(columns={"outcome": "outcomes_id"}))
    assert "column_map" in problems.loc[problems["column"] == "outcome", "problem"].iloc[0]


def test_table_without_value_columns_is_an_error(valid_rows):
    problems = problems_of(valid_rows.drop(columns=["numerator", "denominator"]))
    assert problems["problem"].str.contains("no value columns").any()


def test_empty_table_is_an_error(valid_rows):
    problems = problems_of(valid_rows.iloc[:0])
    assert problems["problem"].tolist() == ["the table has no data rows"]


@pytest.mark.parametrize("year", ["abc", 2015.5, "", None, 1850, 2400, True])
def test_bad_year_is_named_with_its_row_and_value(valid_rows, year):
    frame = valid_rows.astype({"year": object})
    frame.loc[1, "year"] = year
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "year"]]


@pytest.mark.parametrize(
    ("given", "ending"),
    [("2014-15", 2015), ("2014-2015", 2015), ("1999/00", 2000), ("2015.0", 2015)],
)
def test_school_years_become_their_ending_year(valid_rows, given, ending):
    table = validate_outcomes(valid_rows.assign(year=given))
    assert table["year"].unique().tolist() == [ending]


def test_school_year_of_non_consecutive_years_is_an_error(valid_rows):
    problems = problems_of(valid_rows.assign(year="2014-17"))
    assert problems["problem"].str.contains("consecutive").all()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (-3, "negative"),
        (12.5, "fractional"),
        ("lots", "not a number"),
        ("55%", "percentage"),
        (1e12, "implausibly large"),
    ],
)
def test_bad_counts_are_named(valid_rows, value, expected):
    frame = valid_rows.astype({"numerator": object})
    frame.loc[2, "numerator"] = value
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[2, "numerator"]]
    assert expected in problems["problem"].iloc[0]
    assert problems["value"].iloc[0] == str(value)


def test_thousands_separators_in_counts_are_read(valid_rows):
    table = validate_outcomes(valid_rows.assign(denominator=["2,000", "400", "840"]))
    assert table["denominator"].tolist() == [2000, 400, 840]


def test_numerator_above_denominator_is_an_error(valid_rows):
    problems = problems_of(valid_rows.assign(numerator=[2001, 324, 706]))
    assert problems.iloc[0]["problem"] == "is larger than the denominator (2000)"


def test_every_problem_is_reported_at_once(valid_rows):
    frame = valid_rows.astype({"year": object, "numerator": object})
    frame.loc[0, "year"] = "soon"
    frame.loc[1, "numerator"] = -1
    frame.loc[2, "numerator"] = 900
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [
        [0, "year"],
        [1, "numerator"],
        [2, "numerator"],
    ]


def test_message_names_the_source_row_column_and_value(valid_rows):
    with pytest.raises(DataValidationError, match=r"test\.csv: 1 problem found") as caught:
        validate_outcomes(valid_rows.assign(numerator=[1650, -5, 706]), source="test.csv")
    assert "row 1, column 'numerator': is negative" in str(caught.value)
    assert "(value '-5')" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_rates_outside_unit_interval_are_errors(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0.8, -0.1, 0.7])
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "rate"]]
    assert "[0, 1]" in problems["problem"].iloc[0]


def test_percent_rates_are_converted_with_a_warning(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[82.5, 81, 84])
    with pytest.warns(C2CDataWarning, match="read as percentages"):
        table = validate_outcomes(frame)
    assert table["rate"].tolist() == pytest.approx([0.825, 0.81, 0.84])


def test_percent_conversion_is_stated_in_the_error_message(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[82.5, 181, 84])
    with pytest.raises(DataValidationError, match="read as percentages") as caught:
        validate_outcomes(frame)
    assert caught.value.problems["problem"].tolist() == ["is outside 0-100 (read as percent)"]


def test_percent_signs_beside_a_plain_proportion_are_a_mix_to_resolve(valid_rows):
    # Changed expectation (issue 13 item 5): "0.84" beside "82.5%" may be 84 % or 0.84 %,
    # so it is an error naming the rows unless rates_in_percent says which.
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(
        rate=["82.5%", "81%", "0.84"]
    )
    problems = problems_of(frame)
    assert problems["column"].tolist() == ["rate"]
    assert "at or below 1 (row 2)" in problems["problem"].iloc[0]
    assert "written with % (rows 0, 1)" in problems["problem"].iloc[0]
    table = validate_outcomes(frame, rates_in_percent=False)
    assert table["rate"].tolist() == pytest.approx([0.825, 0.81, 0.84])


def test_proportions_mixed_with_a_value_above_one_are_an_error_not_percents(valid_rows):
    # The example: [0.81, 0.83, 1.5] used to become [0.0081, 0.0083, 0.015].
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0.81, 0.83, 1.5])
    problems = problems_of(frame)
    assert len(problems) == 1
    assert (
        problems["problem"]
        .iloc[0]
        .startswith(
            "mixes proportions and percents: values at or below 1 (rows 0, 1) beside values above "
            "1 or written with % (row 2)"
        )
    )
    assert "rates_in_percent" in problems["problem"].iloc[0]


def test_rates_in_percent_true_reads_a_mixed_column_as_percents(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0.81, 0.83, 1.5])
    with pytest.warns(C2CDataWarning, match="as told"):
        table = validate_outcomes(frame, rates_in_percent=True)
    assert table["rate"].tolist() == pytest.approx([0.0081, 0.0083, 0.015])


def test_rates_in_percent_false_makes_a_value_above_one_an_error(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0.81, 0.83, 1.5])
    with pytest.raises(DataValidationError) as caught:
        validate_outcomes(frame, rates_in_percent=False)
    assert caught.value.problems[["row", "column"]].values.tolist() == [[2, "rate"]]
    assert "[0, 1]" in caught.value.problems["problem"].iloc[0]


def test_each_rate_column_is_decided_on_its_own(valid_rows):
    # rate in percent, its bounds as proportions: each column's values decide its unit.
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(
        rate=[82, 81, 84], rate_low=[0.8, 0.8, 0.8], rate_high=[0.85, 0.85, 0.85]
    )
    with pytest.warns(C2CDataWarning, match="rate: rates were read as percentages"):
        table = validate_outcomes(frame)
    assert table["rate"].tolist() == pytest.approx([0.82, 0.81, 0.84])
    assert table["rate_low"].tolist() == pytest.approx([0.8, 0.8, 0.8])


def test_zeros_decide_nothing_in_a_percent_column(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0, 81, 84])
    table = validate_outcomes(frame)
    assert table["rate"].tolist() == pytest.approx([0.0, 0.81, 0.84])


def test_a_column_of_only_zeros_and_ones_is_read_as_proportions_with_a_note(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(rate=[0, 1, 1])
    with pytest.warns(C2CDataWarning, match="holds only 0 and 1: read as proportions"):
        table = validate_outcomes(frame)
    assert table["rate"].tolist() == [0.0, 1.0, 1.0]


def test_bounds_of_only_zeros_and_ones_follow_a_percent_rate_column(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(
        rate=[82, 81, 84], rate_high=[100, 100, 100], rate_low=[0, 1, 0]
    )
    with pytest.warns(C2CDataWarning, match="rate_low holds only 0 and 1: read as percentages"):
        table = validate_outcomes(frame)
    assert table["rate_low"].tolist() == pytest.approx([0.0, 0.01, 0.0])


def test_zero_over_zero_is_an_error_naming_the_row_not_a_zero_percent_group(valid_rows):
    frame = valid_rows.assign(numerator=[1650, 0, 706], denominator=[2000, 0, 840])
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "numerator"]]
    assert "denominator of 0" in problems["problem"].iloc[0]


def test_a_rate_on_a_denominator_of_zero_is_an_error(valid_rows):
    frame = valid_rows.drop(columns="numerator").assign(
        denominator=[2000, 0, 840], rate=[0.825, 0.0, 0.84]
    )
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "rate"]]


def test_unit_is_part_of_the_duplicate_key(valid_rows):
    two = pd.concat([valid_rows.iloc[[0]]] * 2, ignore_index=True)
    assert "duplicate key" in problems_of(two)["problem"].iloc[0]
    table = validate_outcomes(two.assign(unit=["530870001 Lincoln High", "530870002 Stadium"]))
    assert table["unit"].tolist() == ["530870001 Lincoln High", "530870002 Stadium"]
    assert list(table.columns[: len(COLUMNS) + 1]) == [*COLUMNS, "unit"]


def test_duplicate_units_are_named_in_the_key(valid_rows):
    two = pd.concat([valid_rows.iloc[[0]]] * 2, ignore_index=True).assign(unit=["a", "a"])
    problems = problems_of(two)
    assert (
        "duplicate key (partnership, unit, outcome, year, dimension, group)"
        in (problems["problem"].iloc[0])
    )


def test_rate_that_contradicts_counts_is_an_error(valid_rows):
    problems = problems_of(valid_rows.assign(rate=[0.825, 0.70, 706 / 840]))
    assert problems[["row", "column"]].values.tolist() == [[1, "rate"]]
    assert "contradicts" in problems["problem"].iloc[0]


def test_rate_rounded_to_the_whole_percent_agrees_with_counts(valid_rows):
    # 706/840 = 0.8405 printed as 84%: within half a point, so not a contradiction.
    table = validate_outcomes(valid_rows.assign(rate=[0.83, 0.81, 0.84]))
    assert table["rate"].iloc[2] == 0.84


def test_duplicate_keys_name_both_rows(valid_rows):
    frame = pd.concat([valid_rows, valid_rows.iloc[[1]]], ignore_index=True)
    problems = problems_of(frame)
    assert problems["row"].tolist() == [1, 3]
    assert "also in row 3" in problems["problem"].iloc[0]


def test_duplicates_created_by_label_mapping_are_caught(valid_rows):
    frame = valid_rows.assign(group=["All students", "Black", "African American"])
    problems = problems_of(frame)
    assert problems["row"].tolist() == [1, 2]


def test_dimension_all_needs_all_students(valid_rows):
    problems = problems_of(valid_rows.assign(group=["Tacoma", "Black", "White"]))
    assert problems[["row", "column"]].values.tolist() == [[0, "group"]]


def test_missing_key_values_are_errors(valid_rows):
    problems = problems_of(valid_rows.assign(group=["All students", None, "  "]))
    assert problems[["row", "column"]].values.tolist() == [[1, "group"], [2, "group"]]


def test_group_named_na_is_a_label_not_a_missing_value(valid_rows):
    table = validate_outcomes(valid_rows.assign(group=["All students", "NA", "White"]))
    assert table["group"].iloc[1] == "NA"


def test_labels_and_slugs_are_normalized(valid_rows):
    frame = valid_rows.assign(
        partnership="Tacoma",
        dimension=["All", "Race/Ethnicity", "Race/Ethnicity"],
        group=["All Students", "Black/ African American", "White"],
    )
    with pytest.warns(C2CDataWarning, match="slugs"):
        table = validate_outcomes(frame)
    assert table["partnership"].unique().tolist() == ["tacoma"]
    assert table["dimension"].tolist() == ["all", "race_ethnicity", "race_ethnicity"]
    assert table["group"].tolist() == ["All students", "Black", "White"]


def test_unsafe_partnership_name_becomes_a_safe_slug_and_keeps_its_name(valid_rows):
    # Issue 14: slugs are derived from any name; the runner's path checks stay.
    with pytest.warns(C2CDataWarning, match="slugs"):
        table = validate_outcomes(valid_rows.assign(partnership="../etc"))
    assert set(table["partnership"]) == {"etc"}
    assert set(table["partnership_name"]) == {"../etc"}


def test_partnership_name_without_letters_is_an_error(valid_rows):
    problems = problems_of(valid_rows.assign(partnership="../"))
    assert problems["column"].unique().tolist() == ["partnership"]


def test_unknown_outcome_is_a_warning_not_an_error(valid_rows):
    with pytest.warns(C2CDataWarning, match="not in the catalogue"):
        table = validate_outcomes(valid_rows.assign(outcome="ninth_grade_on_track"))
    assert len(table) == 3


def test_suppression_marks_set_suppressed_and_keep_the_row(valid_rows):
    frame = valid_rows.astype({"numerator": object})
    frame.loc[1, "numerator"] = "N<10"
    with pytest.warns(C2CDataWarning, match="suppression marks"):
        table = validate_outcomes(frame)
    assert table["suppressed"].tolist() == [False, True, False]
    assert table["numerator"].isna().tolist() == [False, True, False]


@pytest.mark.parametrize(
    ("flag", "expected"), [("yes", True), ("0", False), (1, True), ("", False)]
)
def test_suppressed_flags_are_parsed(valid_rows, flag, expected):
    table = validate_outcomes(valid_rows.assign(suppressed=[flag, False, False]))
    assert table["suppressed"].iloc[0] == expected


def test_unreadable_suppressed_flag_is_an_error(valid_rows):
    problems = problems_of(valid_rows.assign(suppressed=["maybe", False, False]))
    assert problems[["row", "column"]].values.tolist() == [[0, "suppressed"]]


def test_rows_without_any_value_are_kept_with_a_warning(valid_rows):
    frame = valid_rows.astype({"numerator": "Int64", "denominator": "Int64"})
    frame.loc[2, ["numerator", "denominator"]] = pd.NA
    with pytest.warns(C2CDataWarning, match="no value"):
        table = validate_outcomes(frame)
    assert len(table) == 3


def test_range_bounds_out_of_order_are_errors(valid_rows):
    frame = valid_rows.drop(columns=["numerator", "denominator"]).assign(
        rate=[np.nan] * 3, rate_low=[0.80, 0.90, 0.5], rate_high=[0.84, 0.85, 0.6]
    )
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "rate_low"]]


def test_monthly_indicators_use_period(valid_rows):
    frame = valid_rows.drop(columns="year").assign(
        period=["2017-01", "2017-01-01", "2017-01-01"], outcome="chronic_absence"
    )
    table = validate_outcomes(frame)
    assert "year" not in table.columns
    assert table["period"].dt.month.tolist() == [1, 1, 1]


def test_bad_period_is_named(valid_rows):
    frame = valid_rows.drop(columns="year").assign(period=["2017-01", "someday", "2017-02"])
    problems = problems_of(frame)
    assert problems[["row", "column", "value"]].values.tolist() == [[1, "period", "someday"]]


def test_column_aliases_are_recognised(valid_rows):
    frame = valid_rows.rename(
        columns={"year": "School Year", "group": "Student Group", "denominator": "Cohort Size"}
    )
    with pytest.warns(C2CDataWarning, match="'School Year' read as 'year'"):
        table = validate_outcomes(frame)
    assert tuple(table.columns) == COLUMNS


def test_two_columns_for_one_canonical_name_is_an_error(valid_rows):
    frame = valid_rows.assign(school_year=valid_rows["year"])
    problems = problems_of(frame)
    assert "both give 'year'" in problems["problem"].iloc[0]


def test_duplicate_column_names_do_not_crash(valid_rows):
    frame = pd.concat(
        [valid_rows, valid_rows[["rate"]] if "rate" in valid_rows else valid_rows[["numerator"]]],
        axis=1,
    )
    problems = problems_of(frame)
    # Issue 14: a duplicated header is an error naming both positions, never numerator.1.
    assert problems["problem"].str.contains("the header appears 2 times").any()


def test_non_dataframe_input_is_a_type_error():
    with pytest.raises(TypeError, match="DataFrame"):
        validate_outcomes([1, 2, 3])  # type: ignore[arg-type]


def test_boolean_in_a_count_column_is_not_read_as_one(valid_rows):
    frame = valid_rows.astype({"numerator": object})
    frame.loc[0, "numerator"] = 1
    frame.loc[1, "numerator"] = True
    problems = problems_of(frame)
    assert problems[["row", "column"]].values.tolist() == [[1, "numerator"]]


# --- property: any frame is either valid or a DataValidationError --------------------------

_cells = st.one_of(
    st.none(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(
        [
            "2015",
            "2014-15",
            "tacoma",
            "all",
            "All students",
            "Black",
            "*",
            "N<10",
            "55%",
            "1,200",
            "hs_graduation",
            "2017-01-01",
            "",
            "NA",
        ]
    ),
    st.datetimes(),
)
_names = st.sampled_from([*COLUMNS, "period", "School Year", "pct", "notes", "Rate (%)", "n"])


@st.composite
def outcome_like_frames(draw):
    names = draw(st.lists(_names, min_size=0, max_size=9))
    n = draw(st.integers(min_value=0, max_value=6))
    data = {f"c{i}": [draw(_cells) for _ in range(n)] for i in range(len(names))}
    frame = pd.DataFrame(data, dtype=object)
    frame.columns = names  # may repeat names on purpose
    return frame


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outcome_like_frames())
def test_any_frame_is_valid_or_a_data_validation_error(frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", C2CDataWarning)
        try:
            table = validate_outcomes(frame)
        except DataValidationError as error:
            problems = error.problems
        else:
            problems = None
    if problems is not None:
        assert len(problems) > 0
        assert list(problems.columns) == ["row", "column", "value", "problem"]
        return
    assert len(table) == len(frame)
    assert table["rate"].dropna().between(0, 1).all()
    counts = table[["numerator", "denominator"]].dropna()
    assert (counts["numerator"] <= counts["denominator"]).all()


@settings(max_examples=150, deadline=None)
@given(
    data_frames(
        columns=[
            column("partnership", elements=st.sampled_from(["tacoma", "riverton"])),
            column("outcome", elements=st.sampled_from(["hs_graduation", "employment"])),
            column("year", elements=st.integers(2005, 2025)),
            column("dimension", elements=st.just("race_ethnicity")),
            column("group", elements=st.sampled_from(["Black", "White", "Asian"])),
            column("numerator", elements=st.integers(-5, 500)),
            column("denominator", elements=st.integers(0, 500)),
        ],
        index=range_indexes(min_size=1, max_size=20),
    )
)
def test_typed_frames_are_valid_or_a_data_validation_error(frame):
    try:
        table = validate_outcomes(frame)
    except DataValidationError:
        return
    assert (table["numerator"] >= 0).all()


# --- validation in chunks: the checks of one table read in parts --------------------------


def chunked_problems(frame: pd.DataFrame, rows: int) -> pd.DataFrame | None:
    """The problems of `frame` validated in chunks of `rows` rows (None when valid)."""
    from c2c_analysis.validation import validate_chunks

    def read():
        for start in range(0, max(len(frame), 1), rows):
            part = frame.iloc[start : start + rows]
            yield part, np.asarray(part.index, dtype=object)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", C2CDataWarning)
        checked = validate_chunks(read, source="test.csv", keep=10_000)
    return None if checked.error is None else checked.error.problems


def messy_rows(valid_rows: pd.DataFrame) -> pd.DataFrame:
    """Twelve rows whose problems fall in different chunks of 1 to 5 rows: a key repeated
    in rows 0, 5 and 11, another in 2 and 9, percent rates (rows 7, 10) beside proportions
    (rows 1, 3), two spellings of one slug (rows 4, 8) and row problems in between."""
    frame = pd.concat([valid_rows] * 4, ignore_index=True).astype(object)
    frame["year"] = list(range(2000, 2012))
    frame.loc[[5, 11], "year"] = 2000
    frame.loc[[0, 5, 11], "group"] = "All students"
    frame.loc[[0, 5, 11], "dimension"] = "all"
    frame.loc[9, ["year", "dimension", "group"]] = [2002, "race_ethnicity", "White"]
    frame["rate"] = None
    frame.loc[[1, 3], "rate"] = [0.81, 0.84]
    frame.loc[[7, 10], "rate"] = [84.0, "90%"]
    frame.loc[[1, 3, 7, 10], ["numerator", "denominator"]] = None
    frame.loc[4, "partnership"] = "Tacoma Schools"
    frame.loc[8, "partnership"] = "tacoma-schools"
    frame.loc[6, "numerator"] = 9999
    frame.loc[2, "outcome"] = ""
    return frame


@pytest.mark.parametrize("rows", [1, 2, 5, 12])
def test_chunks_give_exactly_the_problems_of_the_whole_table(valid_rows, rows):
    frame = messy_rows(valid_rows)
    whole = problems_of(frame)
    pd.testing.assert_frame_equal(chunked_problems(frame, rows), whole)
    # the cross-chunk decisions are in it: duplicates naming later rows, the unit mix
    assert "also in row 5, 11" in whole.loc[whole["row"] == 0, "problem"].iloc[-1]
    assert whole["problem"].iloc[0].startswith("mixes proportions and percents")


def test_a_hash_collision_is_caught_by_the_exact_check_and_the_check_runs_again(
    valid_rows, monkeypatch
):
    from c2c_analysis import validation

    frame = messy_rows(valid_rows)
    whole = problems_of(frame)
    calls = []
    real = validation._Validation._hash

    def colliding(self, out):
        calls.append(self.hash_key)
        if self.hash_key == validation._HASH_KEYS[0]:  # every key collides with every other
            return np.zeros(len(out["group"]), dtype=np.uint64)
        return real(self, out)

    monkeypatch.setattr(validation._Validation, "_hash", colliding)
    pd.testing.assert_frame_equal(chunked_problems(frame, 3), whole)
    assert validation._HASH_KEYS[1] in calls
    pd.testing.assert_frame_equal(problems_of(frame), whole)


# --- review fixes: ambiguous Count/Total headers, formula-safe problems files, import floor ---


def test_a_count_header_is_ambiguous_and_asks_for_a_mapping():
    # A state file's "Count, Percent": Count is the group's size here, but other files use
    # it for the students meeting the outcome; before the fix it became the numerator.
    frame = pd.DataFrame(
        {
            "partnership": ["tacoma"],
            "outcome": ["hs_graduation"],
            "year": [2019],
            "group": ["All students"],
            "Count": [450],
            "Percent": [83.1],
        }
    )
    problems = problems_of(frame)
    text = problems.loc[problems["column"] == "Count", "problem"].iloc[0]
    assert "the header is ambiguous" in text
    assert "{'Count': numerator} or {'Count': denominator}" in text


def test_a_total_header_is_ambiguous_unless_other_columns_give_its_candidates():
    frame = pd.DataFrame(
        {
            "partnership": ["tacoma"],
            "outcome": ["hs_graduation"],
            "year": [2019],
            "group": ["All students"],
            "Total": [100],
            "numerator": [80],
        }
    )
    assert "Total" in set(problems_of(frame)["column"])
    told = validate_outcomes(frame.rename(columns={"Total": "denominator"}))
    assert told["rate"].tolist() == [0.8]  # 80 of 100


def test_problems_files_neutralise_every_formula_prefix_in_values_and_columns(tmp_path):
    from c2c_analysis.validation import _for_csv

    problems = pd.DataFrame(
        {
            "row": [2, 3, 4, 5],
            "column": ["rate", "=evil()", "rate", "\tcol"],
            "value": ["-2+3+cmd|' /C calc'!A0", '+1+HYPERLINK("http://e.x")', "\tx", "0.5"],
            "problem": ["p"] * 4,
        }
    )
    table = _for_csv(problems)
    # OWASP's rule (c2c_analysis.report.escape.formula_safe): =, +, -, @, tab, CR get "'";
    # before the fix "-2+3+cmd|...", "+1+HYPERLINK(...)", the tab and the column passed.
    assert table["value"].tolist() == [
        "'-2+3+cmd|' /C calc'!A0",
        '\'+1+HYPERLINK("http://e.x")',
        "'\tx",
        "0.5",
    ]
    assert table["column"].tolist() == ["rate", "'=evil()", "rate", "'\tcol"]


def test_reading_a_workbook_gives_no_pandas_deprecation_warning(tmp_path):
    from c2c_analysis import read_outcomes

    path = tmp_path / "outcomes.xlsx"
    pd.DataFrame(
        {
            "partnership": ["tacoma"],
            "outcome": ["hs_graduation"],
            "year": [2019],
            "dimension": ["all"],
            "group": ["All students"],
            "numerator": [80],
            "denominator": [100],
        }
    ).to_excel(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # ExcelFile.parse warned on every read
        table = read_outcomes(path)
    assert table["rate"].tolist() == [0.8]


def test_the_command_line_imports_without_scipy():
    import subprocess
    import sys

    code = "import sys, c2c_analysis.cli; print(sorted(m for m in sys.modules if m == 'scipy'))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    # The disclosure defaults come from c2c_analysis._defaults, not from privacy (scipy).
    assert result.stdout.strip() == "[]"
