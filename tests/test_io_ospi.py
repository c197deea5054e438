"""read_ospi_graduation on small files written here, with the columns that drift by year."""

from __future__ import annotations

import pandas as pd
import pytest

from c2c_analysis import C2CDataWarning, DataValidationError
from c2c_analysis.io import read_ospi_graduation

HEADER_2015 = (
    "SchoolYear,OrganizationLevel,County,ESDName,DistrictCode,DistrictName,SchoolCode,SchoolName,"
    "StudentGroupType,StudentGroup,Cohort,BegginingGrade9,TransferredIn,TransferOut,Final Cohort,"
    "Graduate,GraduationRate,Suppression\n"
)
ROWS_2015 = (
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,All,All Students,"
    "Four Year,2200,150,330,2027,1674,0.8258,No DAT\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,Race,"
    "Black/ African American,Four Year,380,30,58,352,285,0.8097,No DAT\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,Race,"
    "Hispanic/ Latino of any race(s),Four Year,NULL,NULL,NULL,NULL,NULL,NULL,N<10\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,Race,"
    "Two or More Races,Four Year,NULL,NULL,NULL,NULL,NULL,NULL,Cross Group\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,LowIncome,"
    "Low-Income,Four Year,1300,90,170,1216,934,NULL,>95%\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,ELL,"
    "English Language Learners,Four Year,200,10,41,169,107,NULL,<1.54%\n"
    "2014-15,District,Pierce,Puget Sound ESD,27010,Tacoma School District,,District Total,All,All Students,"
    "Five Year,2150,140,320,1970,1730,0.8782,DAT Applied: No DAT\n"
    "2014-15,School,Pierce,Puget Sound ESD,27010,Tacoma School District,1234,Lincoln High School,All,"
    "All Students,Four Year,400,20,60,360,300,0.8333,No DAT\n"
)


@pytest.fixture
def ospi_file(tmp_path):
    path = tmp_path / "Report_Card_Graduation_2014-15.csv"
    path.write_text(HEADER_2015 + ROWS_2015)
    return path


def test_district_rows_become_canonical_with_groups_mapped(ospi_file):
    with pytest.warns(C2CDataWarning, match="1 school"):
        table = read_ospi_graduation(ospi_file)
    four = table[table["outcome"] == "hs_graduation"].set_index("group")
    assert four.loc["All students", ["numerator", "denominator"]].tolist() == [1674, 2027]
    assert four.loc["Black", "rate"] == pytest.approx(0.8097)
    assert set(four["partnership"]) == {"tacoma-school-district"}
    assert four.loc["Black", "district_code"] == "27010"


def test_suppression_marks_and_top_bottom_codes(ospi_file):
    with pytest.warns(C2CDataWarning):
        table = read_ospi_graduation(ospi_file).set_index("group")
    assert table.loc["Hispanic/Latino", "suppressed"]
    assert table.loc["Two or more races", "suppressed"]
    assert table.loc["Low income", ["rate_low", "rate_high"]].tolist() == [0.95, 1.0]
    assert table.loc["English learner", "rate_high"] == pytest.approx(0.0154)
    assert table.loc["Low income", "suppression"] == ">95%"


def test_extended_cohorts_are_their_own_outcome_and_class_year(ospi_file):
    with pytest.warns(C2CDataWarning):
        table = read_ospi_graduation(ospi_file)
    five = table[table["outcome"] == "hs_graduation_5yr"].iloc[0]
    assert five["year"] == 2014  # five-year rate reported in 2014-15: the class of 2014
    assert five["school_year"] == "2014-15"


def test_school_level(ospi_file):
    with pytest.warns(C2CDataWarning, match="7 district"):
        table = read_ospi_graduation(ospi_file, organization_level="school")
    assert table["partnership"].tolist() == ["lincoln-high-school"]


def test_old_name_level_still_reads_the_organization_level(ospi_file):
    # Renamed in issue 19: level= is a confidence level everywhere else.
    with pytest.warns(C2CDataWarning), pytest.warns(DeprecationWarning, match="level= is dep"):
        old = read_ospi_graduation(ospi_file, level="school")
    with pytest.warns(C2CDataWarning):
        new = read_ospi_graduation(ospi_file, organization_level="school")
    pd.testing.assert_frame_equal(old, new)


def test_drifting_column_names_are_absorbed(tmp_path):
    header = HEADER_2015.replace("BegginingGrade9", "BeginningGrade9").replace(
        "Final Cohort", "FinalCohort"
    )
    header = header.replace("TransferredIn", "TransferIn").replace("Suppression", "DAT")
    path = tmp_path / "grad.csv"
    path.write_text(header + ROWS_2015.splitlines(keepends=True)[1])
    table = read_ospi_graduation(path)
    assert table["beginning_grade9"].tolist() == ["380"]


def test_unknown_suppression_mark_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "grad.csv"
    path.write_text(
        HEADER_2015 + ROWS_2015.splitlines(keepends=True)[1].replace("No DAT", "Mystery")
    )
    with pytest.raises(DataValidationError, match="unknown OSPI suppression mark") as caught:
        read_ospi_graduation(path)
    assert caught.value.problems["row"].tolist() == [2]


def test_missing_required_column_is_an_error(tmp_path):
    path = tmp_path / "grad.csv"
    path.write_text(
        HEADER_2015.replace("Cohort,", "Kind,", 1) + ROWS_2015.splitlines(keepends=True)[0]
    )
    with pytest.raises(DataValidationError, match="required OSPI column is missing"):
        read_ospi_graduation(path)


def test_frame_input_and_partnership_mapping():
    frame = pd.read_csv(
        pd.io.common.StringIO(HEADER_2015 + ROWS_2015), dtype=str, keep_default_na=False
    )
    with pytest.warns(C2CDataWarning):
        table = read_ospi_graduation(frame, partnership={"27010": "tacoma"})
    assert set(table["partnership"]) == {"tacoma"}


def ospi_ranges() -> pd.DataFrame:
    """A percent rate beside '>95%' and '<5%' marks (their bounds are proportions)."""
    return pd.DataFrame(
        {
            "SchoolYear": ["2014-15"] * 3,
            "OrganizationLevel": ["District"] * 3,
            "DistrictCode": ["27010"] * 3,
            "DistrictName": ["Tacoma School District"] * 3,
            "StudentGroupType": ["Race"] * 3,
            "StudentGroup": ["Black/ African American", "White", "Asian"],
            "Cohort": ["Four Year"] * 3,
            "FinalCohort": ["352", "900", "300"],
            "Graduate": ["285", "", ""],
            "GraduationRate": ["80.97", "", ""],
            "Suppression": ["No DAT", "Top/Bottom Range: >95%", "<5%"],
        }
    )


def test_rates_in_percent_applies_to_the_rate_not_to_the_range_bounds():
    with pytest.warns(C2CDataWarning, match=r"as told \(rates_in_percent=True\)"):
        table = read_ospi_graduation(ospi_ranges(), rates_in_percent=True).set_index("group")
    # 80.97 % -> 0.8097; ">95%" is 0.95-1 and "<5%" 0-0.05 whatever the rate's unit
    # (before the fix they were divided by 100 again: 0.0095-0.01).
    assert table.loc["Black", "rate"] == pytest.approx(0.8097)
    assert table.loc["White", ["rate_low", "rate_high"]].tolist() == pytest.approx([0.95, 1.0])
    assert table.loc["Asian", ["rate_low", "rate_high"]].tolist() == pytest.approx([0.0, 0.05])


def test_bounds_stay_proportions_when_rates_are_told_proportions():
    frame = ospi_ranges().assign(GraduationRate=["0.8097", "", ""])
    with pytest.warns(C2CDataWarning):
        table = read_ospi_graduation(frame, rates_in_percent=False).set_index("group")
    assert table.loc["Black", "rate"] == pytest.approx(0.8097)
    assert table.loc["White", ["rate_low", "rate_high"]].tolist() == pytest.approx([0.95, 1.0])


def test_no_students_rows_are_left_out_with_a_note_naming_the_groups():
    frame = ospi_ranges().assign(
        GraduationRate=["0.8097", "", ""],
        Suppression=["No DAT", "No Students", "No Students"],
        FinalCohort=["352", "0", "0"],
        Graduate=["285", "0", ""],
    )
    # before: "0 with a denominator of 0" was an error for the White row
    with pytest.warns(C2CDataWarning, match=r"2 row\(s\) marked 'No Students' left out"):
        table = read_ospi_graduation(frame)
    assert table["group"].tolist() == ["Black"]
