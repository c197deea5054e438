"""The outcome catalogue and group vocabularies of schema.py."""

from __future__ import annotations

import pytest

from c2c_analysis import schema
from c2c_analysis.schema import (
    GROUPS,
    OUTCOMES,
    RACE_ETHNICITY_2007,
    RACE_ETHNICITY_2024,
    better_direction,
    empty_outcome_table,
    normalize_dimension,
    normalize_group,
    outcome_catalogue,
)


def test_catalogue_holds_the_seven_core_outcomes_in_continuum_order():
    assert list(OUTCOMES) == [
        "kindergarten_readiness",
        "early_grade_reading",
        "middle_grade_math",
        "hs_graduation",
        "postsecondary_enrollment",
        "postsecondary_completion",
        "employment",
    ]


def test_every_catalogue_entry_has_label_definition_direction_and_denominator():
    for entry in OUTCOMES.values():
        assert entry.label
        assert entry.definition
        assert entry.denominator
        assert entry.better in ("higher", "lower")


def test_catalogue_is_read_only():
    with pytest.raises(TypeError):
        OUTCOMES["new"] = OUTCOMES["employment"]  # type: ignore[index]


def test_chronic_absence_improves_downwards_and_custom_outcomes_use_the_default():
    assert better_direction("chronic_absence") == "lower"
    assert better_direction("hs_graduation") == "higher"
    assert better_direction("my_custom_measure", default="lower") == "lower"


def test_catalogue_table_has_one_row_per_outcome_and_indicator():
    table = outcome_catalogue()
    assert list(table.columns) == ["id", "label", "definition", "better", "denominator", "stage"]
    assert len(table) == len(OUTCOMES) + len(schema.INDICATORS)


def test_2007_standard_has_seven_categories_and_2024_adds_mena():
    # US Department of Education, Final Guidance on Maintaining, Collecting, and Reporting
    # Racial and Ethnic Data (Federal Register 72:59266, 19 Oct 2007): seven categories.
    # OMB SPD 15 revision (Federal Register 89:22182, 29 Mar 2024) adds MENA.
    assert len(RACE_ETHNICITY_2007) == 7
    assert set(RACE_ETHNICITY_2024) - set(RACE_ETHNICITY_2007) == {"Middle Eastern/North African"}


@pytest.mark.parametrize(
    ("label", "ours"),
    [
        ("Black/ African American", "Black"),
        ("Black or African American", "Black"),
        ("African American", "Black"),
        ("Hispanic/Latino of any race(s)", "Hispanic/Latino"),
        ("Hispanic or Latino", "Hispanic/Latino"),
        ("Two or More Races", "Two or more races"),
        ("Native Hawaiian/ Other Pacific Islander", "Native Hawaiian/Other Pacific Islander"),
        ("Pacific Islanders", "Native Hawaiian/Other Pacific Islander"),
        ("American Indian/Alaskan Native", "American Indian/Alaska Native"),
        ("Native American", "American Indian/Alaska Native"),
        ("Middle Eastern or North African", "Middle Eastern/North African"),
        ("  WHITE ", "White"),
    ],
)
def test_race_labels_of_real_files_map_to_ours(label, ours):
    assert normalize_group(label, "race_ethnicity") == ours


@pytest.mark.parametrize(
    ("label", "dimension", "ours"),
    [
        ("Low income (free/reduced-price meals)", "income", "Low income"),
        ("Economically Disadvantaged", "income", "Low income"),
        ("Not Economically Disadvantaged", "income", "Not low income"),
        (
            "Students with disabilities (special education)",
            "disability",
            "Students with disabilities",
        ),
        ("English Language Learners", "english_learner", "English learner"),
        ("Gender X", "gender", "Gender X"),
        ("All Students", "all", "All students"),
    ],
)
def test_other_dimension_labels_map_to_ours(label, dimension, ours):
    assert normalize_group(label, dimension) == ours


def test_unknown_group_is_kept_trimmed():
    assert normalize_group(" Military connected ", "military") == "Military connected"


def test_label_known_to_two_vocabularies_differently_is_not_guessed_without_dimension():
    # "EL" is only an English learner label, so it maps; a custom label stays as given.
    assert normalize_group("EL") == "English learner"
    assert normalize_group("Cohort A") == "Cohort A"


def test_every_vocabulary_group_normalizes_to_itself():
    for dimension, groups in GROUPS.items():
        for group in groups:
            assert normalize_group(group, dimension) == group


@pytest.mark.parametrize(
    ("label", "ours"),
    [
        ("Race/Ethnicity", "race_ethnicity"),
        ("FRL", "income"),
        ("Sex", "gender"),
        ("ELL", "english_learner"),
        ("Homeless Status", "homeless_status"),
    ],
)
def test_dimension_labels_normalize(label, ours):
    assert normalize_dimension(label) == ours


def test_empty_table_has_canonical_columns_and_dtypes():
    table = empty_outcome_table()
    assert tuple(table.columns) == schema.COLUMNS
    assert str(table["denominator"].dtype) == "Int64"
    assert "period" in empty_outcome_table(time="period").columns
