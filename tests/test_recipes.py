"""Reading recipes on small files written here by hand in each of issue 14's five layouts.

Each file below is typed from the layout's documented headers (not copied from a published
file); every expected number is read off the file in the test, or computed in a comment.
"""

from __future__ import annotations

import pandas as pd
import pytest

from c2c_analysis import C2CDataWarning, DataValidationError, read_outcomes
from c2c_analysis.io import read_edfacts_acgr
from c2c_analysis.io.recipes import list_recipes, load_recipe
from c2c_analysis.schema import is_suppression_marker, slugify
from c2c_analysis.validation import validate_inputs


def write(tmp_path, text: str, name: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


# --- the five layouts ------------------------------------------------------------------------

EDFACTS_SCHOOLS = (
    "STNAM,FIPST,LEAID,LEANM,NCESSCH,SCHNAM,ALL_COHORT_1819,ALL_RATE_1819,"
    "MHI_COHORT_1819,MHI_RATE_1819,HOM_COHORT_1819,HOM_RATE_1819\n"
    "ILLINOIS,17,1709930,City of Chicago SD 299,170993000001,CHICAGO MATH & SCIENCE HS,"
    "120,85-89,60,80-89,.,.\n"
    "ILLINOIS,17,1709930,City of Chicago SD 299,170993000002,O'Bryant School Math/Science,"
    "300,91,.,.,.,.\n"
)


def test_edfacts_school_file_leaves_no_student_cells_out_and_names_the_groups(tmp_path):
    path = write(tmp_path, EDFACTS_SCHOOLS, "acgr-sch.csv")
    with pytest.warns(C2CDataWarning, match=r"3 row\(s\) mean no students.*Homeless 2"):
        table = read_edfacts_acgr(path)
    # 2 schools x 3 groups = 6 rows; 3 are "." in both cells.
    assert len(table) == 3
    assert set(table["partnership"]) == {"chicago-math-science-hs", "obryant-school-math-science"}


def test_edfacts_recipe_reads_the_same_file_through_read_outcomes(tmp_path):
    path = write(tmp_path, EDFACTS_SCHOOLS, "acgr-sch.csv")
    recipe = load_recipe("edfacts_acgr_wide").to_dict()
    recipe["columns"] = {"SCHNAM": "partnership"}
    recipe["rename"] = {k: v for k, v in recipe["rename"].items() if k != "SCHNAM"}
    with pytest.warns(C2CDataWarning):
        table = read_outcomes(path, recipe=recipe)
    row = table.set_index(["partnership", "group"]).loc[
        ("obryant-school-math-science", "All students")
    ]
    assert (row["rate"], row["denominator"], row["year"]) == (0.91, 300, 2019)
    assert set(table["partnership_name"]) == {
        "CHICAGO MATH & SCIENCE HS",
        "O'Bryant School Math/Science",
    }


DISTRICT_LONG = (
    "Report Category,Geographic Subdivision,School Name,Category,Demographic,Cohort Year,"
    "Cohort,Total Cohort,Total Grads - n,Total Grads - % of cohort\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,All Students,All Students,2015,4 year June,80,64,80.0%\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,All Students,All Students,2015,4 year August,80,66,82.5%\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,All Students,All Students,2014,5 year August,70,60,85.7%\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,Ethnicity,Hispanic,2015,4 year June,40,30,75.0%\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,Ethnicity,Black,2015,4 year June,s,s,s\n"
    "School,01M292,CHICAGO MATH & SCIENCE HS,ELL Status,English Language Learners,2015,4 year June,12,8,66.7%\n"
)


def test_district_long_file_without_a_recipe_asks_which_column_is_the_year(tmp_path):
    path = write(tmp_path, DISTRICT_LONG, "grad.csv")
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(path)
    text = str(caught.value)
    # "Cohort Year" is the entry year: it must never be taken silently as the outcome year.
    assert "'Cohort Year'" in text
    assert "say which" in text
    assert "'Cohort' could be" in text or "ambiguous" in text


def test_district_long_file_reads_through_its_recipe_with_the_class_of_year(tmp_path):
    path = write(tmp_path, DISTRICT_LONG, "grad.csv")
    with pytest.warns(C2CDataWarning, match="2 row"):
        table = read_outcomes(path, recipe="district_graduation_long")
    # Entering 9th grade in fall 2015 -> class of 2019 (Cohort Year + 4).
    assert set(table["year"]) == {2019}
    assert len(table) == 4  # the 4 year June rows
    black = table.set_index("group").loc["Black"]
    assert black["suppressed"]
    hispanic = table.set_index("group").loc["Hispanic/Latino"]
    assert (hispanic["numerator"], hispanic["denominator"]) == (30, 40)
    assert table.set_index("group").loc["English learner", "dimension"] == "english_learner"


REPORT_CARD = (
    "School_ID,Short_Name,Long_Name,Graduation_4_Year_School_Pct_Year_1,"
    "Graduation_4_Year_School_Pct_Year_2,College_Enrollment_School_Pct_Year_1,"
    "College_Enrollment_School_Pct_Year_2,Student_Attainment_Rating\n"
    "609674,CHGO MATH SCI,CHICAGO MATH & SCIENCE HS,78.5,74.1,61.0,,AVERAGE\n"
    "400051,OBRYANT,O'Bryant School Math/Science,90.2,88.0,75.3,70.0,ABOVE AVERAGE\n"
)


def test_report_card_wide_by_metric_reads_through_its_recipe(tmp_path):
    path = write(tmp_path, REPORT_CARD, "progress.csv")
    with pytest.warns(C2CDataWarning, match="percent"):
        table = read_outcomes(path, recipe="report_card_wide_by_metric")
    # 2 schools x 2 metrics x 2 years, less 1 blank cell.
    assert len(table) == 7
    row = table.set_index(["partnership", "outcome", "year"]).loc[
        ("chicago-math-science-hs", "hs_graduation", 2019)
    ]
    assert row["rate"] == pytest.approx(0.785)


CHRONIC = (
    "District Name,School Code,School Name,School Year,CEALL,EEALL,RALL,CEBL,EEBL,RBL,"
    "CEHI,EEHI,RHI,CEECD,EEECD,RECD\n"
    "Springfield,0001,Lincoln Elementary,2018-19,50,400,0.125,*,8,*,20,150,0.133,40,250,0.16\n"
    "Springfield,0002,Douglass Middle,2018-19,90,600,0.15,30,200,0.15,<10,30,*,60,380,0.158\n"
)


def test_state_chronic_absence_file_wide_by_group_code(tmp_path):
    path = write(tmp_path, CHRONIC, "chronic.csv")
    with pytest.warns(C2CDataWarning, match="suppression markers"):
        table = read_outcomes(path, recipe="chronic_absence_wide_by_group")
    assert len(table) == 8  # 2 schools x 4 groups
    assert set(table["outcome"]) == {"chronic_absence"}
    lincoln = table[table["partnership"] == "lincoln-elementary"].set_index("group")
    assert (
        lincoln.loc["All students", "numerator"],
        lincoln.loc["All students", "denominator"],
    ) == (50, 400)
    assert lincoln.loc["Black", "suppressed"]
    assert table.set_index(["partnership", "group"]).loc[
        ("douglass-middle", "Hispanic/Latino"), "suppressed"
    ]
    assert set(table["year"]) == {2019}


def test_state_school_profiles_workbook_with_a_readme_sheet_and_header_on_row_3(tmp_path):
    path = tmp_path / "profiles.xlsx"
    data = pd.DataFrame(
        [
            ["Lincoln High", "2019-20", "Four-Year Graduation Rate", "All Students", 200, 0.9],
            [
                "Lincoln High",
                "2019-20",
                "Four-Year Graduation Rate",
                "Socioeconomically Disadvantaged",
                120,
                0.85,
            ],
            ["Lincoln High", "2019-20", "Four-Year Graduation Rate", "Foster Youth", 12, 0.5],
            [
                "Lincoln High",
                "2019-20",
                "Four-Year Graduation Rate",
                "Hispanic or Latino of any race",
                80,
                0.8,
            ],
            ["Lincoln High", "2019-20", "Dropout Rate", "All Students", 200, 0.05],
        ],
        columns=["School", "School Year", "Indicator", "Student Group", "Students", "Percent"],
    )
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"About": ["This workbook holds school profiles."]}).to_excel(
            writer, sheet_name="README", index=False
        )
        data.to_excel(writer, sheet_name="Data", index=False, startrow=2)
    with pytest.warns(C2CDataWarning, match="dimensions inferred"):
        table = read_outcomes(path, recipe="state_school_profiles")
    groups = dict(zip(table["group"], table["dimension"], strict=True))
    assert groups == {
        "All students": "all",
        "Low income": "income",
        "Foster care": "foster_care",
        "Hispanic/Latino": "race_ethnicity",
    }
    # Without the recipe the error names the sheet read, the sheets and a header-like row.
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(path)
    text = str(caught.value)
    assert "read sheet 'README'" in text
    assert "'Data'" in text
    assert "columns found" in text


def test_every_shipped_recipe_is_short_and_valid():
    for name in list_recipes():
        load_recipe(name)
        lines = (load_recipe.__globals__["_SHIPPED"] / f"{name}.yaml").read_text().splitlines()
        body = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
        assert len(body) <= 30, name  # the issue asks for about 20 lines; groups add a few


# --- recipes checked ---------------------------------------------------------------------------


def test_recipe_with_a_misspelt_key_and_target_is_an_error_with_suggestions():
    with pytest.raises(DataValidationError) as caught:
        load_recipe({"colums": {}, "columns": {"Tested": "denominatr"}, "melt": {"pattern": "("}})
    text = str(caught.value)
    assert "did you mean 'columns'" in text
    assert "did you mean 'denominator'" in text
    assert "melt.pattern" in text


def test_recipe_naming_a_column_not_in_the_file_suggests_the_close_one(tmp_path):
    path = write(tmp_path, CHRONIC, "chronic.csv")
    recipe = load_recipe("chronic_absence_wide_by_group").to_dict()
    recipe["columns"] = {"School Nmae": "partnership", "School Year": "year"}
    with pytest.raises(DataValidationError, match="did you mean 'School Name'"):
        read_outcomes(path, recipe=recipe)


def test_filter_that_keeps_no_row_lists_the_values_found(tmp_path):
    path = write(tmp_path, DISTRICT_LONG, "grad.csv")
    recipe = load_recipe("district_graduation_long").to_dict()
    recipe["filter"] = {"Cohort": "4-year June"}
    with pytest.raises(DataValidationError, match="'4 year June'"):
        read_outcomes(path, recipe=recipe)


# --- malformed files -------------------------------------------------------------------------

CANONICAL = "partnership,outcome,year,dimension,group,numerator,denominator\n"


def test_duplicated_header_is_an_error_not_numerator_1(tmp_path):
    text = (
        CANONICAL.replace("denominator", "numerator")
        + "t,hs_graduation,2015,all,All students,1,2\n"
    )
    with pytest.raises(DataValidationError, match="appears 2 times"):
        read_outcomes(write(tmp_path, text, "dup.csv"))


def test_european_separators_are_detected_in_semicolon_files(tmp_path):
    text = (
        "partnership;outcome;year;dimension;group;numerator;denominator;rate\n"
        "t;hs_graduation;2015;all;All students;1.000;2.000;0,5\n"
    )
    with pytest.warns(C2CDataWarning, match="decimal separator"):
        table = read_outcomes(write(tmp_path, text, "eu.csv"))
    assert (table["numerator"].iloc[0], table["denominator"].iloc[0]) == (1000, 2000)


def test_dotted_count_without_other_evidence_says_it_may_be_a_thousands_separator(tmp_path):
    text = CANONICAL + "t,hs_graduation,2015,all,All students,1.500,2000\n"
    with pytest.raises(DataValidationError, match="thousands separator"):
        read_outcomes(write(tmp_path, text, "dots.csv"))


def test_utf16_without_bom_is_read_and_named(tmp_path):
    text = CANONICAL + "t,hs_graduation,2015,all,All students,1,2\n"
    with pytest.warns(C2CDataWarning, match="UTF-16"):
        table = read_outcomes(write(tmp_path, text, "u16.csv", encoding="utf-16-le"))
    assert table["rate"].tolist() == [0.5]


def test_total_row_inside_a_dimension_is_an_error(tmp_path):
    text = CANONICAL + "t,hs_graduation,2015,race_ethnicity,Total,10,20\n"
    with pytest.raises(DataValidationError, match="total row inside a dimension"):
        read_outcomes(write(tmp_path, text, "total.csv"))


def test_two_names_giving_one_slug_are_an_error_naming_both(tmp_path):
    text = (
        CANONICAL
        + "Lincoln High!,hs_graduation,2015,all,All students,1,2\n"
        + "Lincoln High?,hs_graduation,2016,all,All students,1,2\n"
    )
    with pytest.raises(DataValidationError, match="'Lincoln High!' and 'Lincoln High\\?'"):
        read_outcomes(write(tmp_path, text, "clash.csv"))


def test_problems_are_written_to_a_csv_with_line_column_value_problem(tmp_path):
    text = CANONICAL + "".join(
        f"t,hs_graduation,{1990 + i},all,All students,-1,2\n" for i in range(30)
    )
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(write(tmp_path, text, "many.csv"))
    assert "--problems" in str(caught.value)
    out = tmp_path / "problems.csv"
    assert caught.value.write_problems(out) == 30
    written = pd.read_csv(out)
    assert list(written.columns) == ["line", "column", "value", "problem"]
    assert written["line"].tolist()[:2] == [2, 3]


# --- names, markers, inputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("CHICAGO MATH & SCIENCE HS", "chicago-math-science-hs"),
        ("O'Bryant School Math/Science", "obryant-school-math-science"),
        ("Escuela Peñasco (K-8) @ Taos", "escuela-penasco-k-8-taos"),
        ("tacoma", "tacoma"),
    ],
)
def test_slugs_are_safe_file_names(name, slug):
    assert slugify(name) == slug


def test_one_marker_vocabulary_covers_the_issue_list():
    marks = ["*", "s", "NS", "N<10", "<5", "PS", "--", "n/a"]
    assert is_suppression_marker(marks).all()
    assert not is_suppression_marker(["0", "12", "", "GE95", "80-84"]).any()


def test_validate_inputs_suggests_the_partnership_meant():
    with pytest.raises(DataValidationError, match="did you mean 'tacoma'"):
        validate_inputs(None, partnerships=["tacomma"])


# --- recipes applied chunk by chunk (c2c validate on a large file) ---------------------------

WIDE_RECIPE = {
    "filter": {"Report": "Final"},
    "columns": {"School": "partnership", "Entry Year": "year"},
    "year": {"column": "Entry Year", "offset": 4},
    "constants": {"outcome": "hs_graduation"},
    "melt": {
        "pattern": "^(?P<measure>NUM|DEN)_(?P<group>[A-Z]+)$",
        "measures": {"NUM": "numerator", "DEN": "denominator"},
        "groups": {"ALL": ["all", "All students"], "BLK": ["race_ethnicity", "Black"]},
    },
    "markers": ["N<10"],
    "no_students": ["."],
}
WIDE = (
    "Report,School,Entry Year,NUM_ALL,DEN_ALL,NUM_BLK,DEN_BLK\n"
    "Final,Lincoln High,2010,90,100,N<10,8\n"
    "Draft,Lincoln High,2010,1,1,1,1\n"
    "Final,Lincoln High,2011,80,100,.,.\n"
    "Final,Adams High,2010,70,100,,\n"
    "Final,Adams High,2011,60,100,N<10,9\n"
    "Draft,Adams High,2011,1,1,1,1\n"
    "Final,Adams High,2012,120,100,5,10\n"
)


def chunked_and_whole(path, recipe, tmp_path, rows):
    """(problems CSV, message, warnings) from read_outcomes and from c2c validate's chunks."""
    import warnings

    from c2c_analysis.io.outcomes import validate_file

    results = []
    for chunked in (False, True):
        out = tmp_path / f"problems_{chunked}.csv"
        message = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", C2CDataWarning)
            try:
                if chunked:
                    checked = validate_file(path, recipe=recipe, rows=rows, problems=out)
                    message = None if checked.error is None else str(checked.error)
                else:
                    read_outcomes(path, recipe=recipe)
                    DataValidationError([]).write_problems(out)
            except DataValidationError as error:
                message = str(error)
                error.write_problems(out)
        results.append((out.read_text(), message, [str(w.message) for w in caught]))
    return results


@pytest.mark.parametrize("rows", [1, 2, 3, 100])
def test_recipe_applied_chunk_by_chunk_gives_the_whole_files_problems_and_notes(tmp_path, rows):
    path = write(tmp_path, WIDE, "wide.csv")
    whole, chunked = chunked_and_whole(path, WIDE_RECIPE, tmp_path, rows)
    assert chunked == whole
    # Adams High 2012 (file line 8): 120 of 100 students
    assert "row 8, column 'numerator': is larger than the denominator (100)" in whole[1]
    notes = whole[1]
    assert "2 row(s) left out by the recipe's filter/exclude" in notes
    assert "4 columns melted into 2 series of rows (10 rows from 5)" in notes
    assert "1 melted row(s) with every value blank left out (Black 1)" in notes
    assert "1 row(s) mean no students" in notes
    assert "(Black 1)" in notes
    assert "2 row(s) hold suppression markers; they are withheld (Black 2)" in notes


def test_recipe_filter_that_keeps_no_row_of_any_chunk_is_the_whole_files_error(tmp_path):
    path = write(tmp_path, WIDE, "wide.csv")
    recipe = {**WIDE_RECIPE, "filter": {"Report": "Revised"}}
    whole, chunked = chunked_and_whole(path, recipe, tmp_path, 2)
    assert chunked == whole
    assert "the recipe's filter keeps no row; the column holds 'Draft', 'Final'" in whole[1]


def test_recipe_naming_a_missing_column_gives_the_whole_files_error_in_chunks(tmp_path):
    path = write(tmp_path, WIDE, "wide.csv")
    recipe = {**WIDE_RECIPE, "columns": {"Schol": "partnership", "Entry Year": "year"}}
    whole, chunked = chunked_and_whole(path, recipe, tmp_path, 2)
    assert chunked == whole
    assert "did you mean 'School'" in whole[1]


def test_valid_file_through_a_recipe_in_chunks_warns_like_the_whole_file(tmp_path):
    path = write(tmp_path, WIDE.replace("120,100", "20,100"), "wide.csv")
    whole, chunked = chunked_and_whole(path, WIDE_RECIPE, tmp_path, 2)
    assert chunked == whole
    assert whole[1] is None
    assert any("hold suppression markers" in w for w in whole[2])


def test_a_rate_codes_recipe_reads_codes_at_or_below_one_as_proportions(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_text(
        "partnership,outcome,year,dimension,group,rate,denominator\n"
        "tacoma,hs_graduation,2015,all,All students,0.83,100\n"
        "tacoma,hs_graduation,2016,all,All students,0.9,100\n"
    )
    with pytest.warns(C2CDataWarning, match="every exact rate code is at or below 1"):
        table = read_outcomes(path, recipe={"rate_codes": True})
    # as read without the recipe: 0.83 and 0.9 are proportions (before the fix 0.0083, 0.009)
    assert table["rate"].tolist() == pytest.approx([0.83, 0.90])
