"""read_edfacts_acgr and parse_rate_code on small files written here in each layout."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from c2c_analysis import C2CDataWarning, DataValidationError
from c2c_analysis.io import parse_rate_code, read_edfacts_acgr
from c2c_analysis.trends import trend

WIDE = (
    "STNAM,FIPST,LEAID,ST_LEAID,LEANM,ALL_COHORT_1415,ALL_RATE_1415,MBL_COHORT_1415,MBL_RATE_1415,"
    "MAM_COHORT_1415,MAM_RATE_1415,ECD_COHORT_1415,ECD_RATE_1415,LEP_COHORT_1415,LEP_RATE_1415\n"
    "WASHINGTON,53,5308700,WA-27010,Tacoma School District,2027,83,352,80-84,39,PS,1216,GE75,96,LT50\n"
    "WASHINGTON,53,530042,WA-01147,Othello School District,301,GE90,5,S,12,14-Oct,200,85,40,LE5\n"
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("93", (0.93, None, None, "exact")),
        ("93%", (0.93, None, None, "exact")),
        (93, (0.93, None, None, "exact")),
        ("80-84", (None, 0.80, 0.84, "range")),
        ("90-94%", (None, 0.90, 0.94, "range")),
        ("20-29", (None, 0.20, 0.29, "range")),
        ("40-59", (None, 0.40, 0.59, "range")),
        ("GE50", (None, 0.50, 1.0, "range")),
        ("LT50", (None, 0.0, 0.50, "range")),
        ("GE95", (None, 0.95, 1.0, "range")),
        ("GE99", (None, 0.99, 1.0, "range")),
        ("LE5", (None, 0.0, 0.05, "range")),
        ("LE1", (None, 0.0, 0.01, "range")),
        ("GT90", (None, 0.90, 1.0, "range")),
        (">=90%", (None, 0.90, 1.0, "range")),
        ("<50%", (None, 0.0, 0.50, "range")),
        ("≥95", (None, 0.95, 1.0, "range")),
        ("14-Oct", (None, 0.10, 0.14, "range")),
        ("Oct-14", (None, 0.10, 0.14, "range")),
        ("9-May", (None, 0.05, 0.09, "range")),
        (pd.Timestamp("2014-10-14"), (None, 0.10, 0.14, "range")),
        ("PS", (None, None, None, "suppressed")),
        ("S", (None, None, None, "suppressed")),
        ("*", (None, None, None, "suppressed")),
        ("n<10", (None, None, None, "suppressed")),
        ("", (None, None, None, "missing")),
        (".", (None, None, None, "missing")),
    ],
)
def test_every_privacy_coding_is_read(code, expected):
    rate, low, high, status = parse_rate_code(code)
    assert status == expected[3]
    for got, want in zip((rate, low, high), expected[:3], strict=True):
        assert math.isnan(got) if want is None else got == pytest.approx(want)


@pytest.mark.parametrize("code", ["XX", "84-80", "101", "GE150", "14-Foo", "eighty"])
def test_unknown_codes_are_named(code):
    assert "unknown" in parse_rate_code(code)[3] or "outside" in parse_rate_code(code)[3]


def test_wide_lea_file_becomes_canonical_rows(tmp_path):
    path = tmp_path / "acgr-lea-sy2014-15.csv"
    path.write_text(WIDE)
    table = read_edfacts_acgr(path).set_index(["partnership", "group"])
    tacoma = table.loc["tacoma-school-district"]
    assert tacoma.loc["All students", "rate"] == 0.83
    assert tacoma.loc["All students", "denominator"] == 2027
    assert (tacoma.loc["Black", "rate_low"], tacoma.loc["Black", "rate_high"]) == (0.80, 0.84)
    assert tacoma.loc["American Indian/Alaska Native", "suppressed"]
    assert tacoma.loc["Low income", "rate_code"] == "GE75"
    assert set(table["year"]) == {2015}
    assert table["source"].unique().tolist() == ["acgr-lea-sy2014-15.csv"]


def test_nces_ids_stay_text_and_are_zero_padded(tmp_path):
    path = tmp_path / "acgr.csv"
    path.write_text(WIDE)
    table = read_edfacts_acgr(path)
    assert set(table["nces_leaid"]) == {"5308700", "0530042"}


def test_ids_read_as_numbers_from_a_workbook_are_padded(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(WIDE))
    frame["NCESSCH"] = [530870001234.0, 53004200567.0]
    frame["SCHNAM"] = ["Lincoln High", "Othello High"]
    path = tmp_path / "acgr-sch.xlsx"
    frame.to_excel(path, index=False)
    table = read_edfacts_acgr(path)
    assert set(table["nces_schid"]) == {"530870001234", "053004200567"}
    assert set(table["partnership"]) == {"lincoln-high", "othello-high"}


def test_date_mangled_band_from_a_spreadsheet(tmp_path):
    path = tmp_path / "acgr.csv"
    path.write_text(WIDE)
    row = read_edfacts_acgr(path).query(
        "partnership == 'othello-school-district' and dimension == 'race_ethnicity'"
    )
    assert row.set_index("group").loc[
        "American Indian/Alaska Native", ["rate_low", "rate_high"]
    ].tolist() == [0.1, 0.14]


def test_unknown_rate_code_is_an_error_naming_line_and_column(tmp_path):
    path = tmp_path / "acgr.csv"
    path.write_text(WIDE.replace(",LT50\n", ",ZZ\n"))
    with pytest.raises(DataValidationError) as caught:
        read_edfacts_acgr(path)
    assert caught.value.problems[["row", "column", "value"]].values.tolist() == [
        [2, "LEP_RATE_1415", "ZZ"]
    ]
    assert "unknown EDFacts rate code" in str(caught.value)


def test_unknown_group_code_is_an_error(tmp_path):
    path = tmp_path / "acgr.csv"
    path.write_text(WIDE.replace("LEP_COHORT_1415", "XYZ_COHORT_1415"))
    with pytest.raises(DataValidationError, match="unknown EDFacts group code"):
        read_edfacts_acgr(path)


def test_newer_long_category_layout(tmp_path):
    path = tmp_path / "acgr-long.csv"
    path.write_text(
        "SCHOOL_YEAR,STNAM,FIPST,LEAID,ST_LEAID,LEANM,CATEGORY,COHORT,RATE\n"
        "2019-2020,WASHINGTON,53,5308700,WA-27010,Tacoma School District,ALL,2100,90\n"
        "2019-2020,WASHINGTON,53,5308700,WA-27010,Tacoma School District,MHI,420,85-89%\n"
        "2019-2020,WASHINGTON,53,5308700,WA-27010,Tacoma School District,HOM,60,>=80%\n"
    )
    table = read_edfacts_acgr(path).set_index("group")
    assert table.loc["All students", "rate"] == 0.90
    assert table.loc["Hispanic/Latino", ["rate_low", "rate_high"]].tolist() == [0.85, 0.89]
    assert table.loc["Homeless", "dimension"] == "homeless"
    assert set(table["year"]) == {2020}


def test_ed_data_express_layout(tmp_path):
    path = tmp_path / "express.csv"
    header = (
        "School Year,State,NCES LEA ID,LEA,School,NCES SCH ID,Data Group,Data Description,Value,"
        "Numerator,Denominator,Population,Subgroup,Characteristics\n"
    )
    rows = (
        "2018-2019,WASHINGTON,5308700,Tacoma School District,,,Four-year adjusted-cohort graduation rate,"
        "Graduation rate,89,1890,2124,All Students,All Students,\n"
        "2018-2019,WASHINGTON,5308700,Tacoma School District,,,Four-year adjusted-cohort graduation rate,"
        "Graduation rate,85-89,,375,All Students,Black or African American,\n"
        "2018-2019,WASHINGTON,5308700,Tacoma School District,,,Four-year adjusted-cohort graduation rate,"
        "Graduation rate,PS,,6,All Students,Children with disabilities,\n"
        "2018-2019,WASHINGTON,5308700,Tacoma School District,,,Four-year adjusted-cohort graduation rate,"
        "Graduation rate,GE80,,1403,All Students,Economically Disadvantaged,\n"
    )
    path.write_text(header + rows)
    table = read_edfacts_acgr(path).set_index("group")
    assert table.loc["All students", ["numerator", "denominator"]].tolist() == [1890, 2124]
    assert table.loc["Black", ["rate_low", "rate_high"]].tolist() == [0.85, 0.89]
    assert table.loc["Students with disabilities", "suppressed"]
    assert table.loc["Low income", "dimension"] == "income"


def test_unknown_data_express_subgroup_is_an_error(tmp_path):
    path = tmp_path / "express.csv"
    path.write_text(
        "School Year,Data Group,Value,Denominator,Subgroup\n2018-2019,Four-year ACGR,89,10,Martians\n"
    )
    with pytest.raises(DataValidationError, match="unknown ED Data Express subgroup"):
        read_edfacts_acgr(path)


def test_unrecognised_layout_is_an_error(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataValidationError, match="not an EDFacts ACGR layout"):
        read_edfacts_acgr(path)


def test_partnership_given_for_the_whole_file(tmp_path):
    path = tmp_path / "acgr.csv"
    path.write_text(WIDE.splitlines()[0] + "\n" + WIDE.splitlines()[1] + "\n")
    assert set(read_edfacts_acgr(path, partnership="tacoma")["partnership"]) == {"tacoma"}


def test_range_coded_rows_flow_into_trends_at_their_midpoint():
    # Downstream contract (documented in trends.py): rate analyses use the midpoint of a
    # range with a warning; count analyses leave range-coded rows out and say so.
    years = ["1213", "1314", "1415", "1516"]
    frame = pd.DataFrame({"LEAID": ["5308700"], "LEANM": ["Tacoma School District"]})
    for suffix, code in zip(years, ["60-64", "66", "70-74", "GE80"], strict=True):
        frame[f"ALL_COHORT_{suffix}"] = "2000"
        frame[f"ALL_RATE_{suffix}"] = code
    table = read_edfacts_acgr(frame)
    with pytest.warns(C2CDataWarning, match="midpoint"):
        result = trend(table, method="ols").iloc[0]
    # Midpoints 0.62, 0.66, 0.72, 0.90: (0.90 - 0.62) / 3 years.
    assert result["average_change_pp"] == pytest.approx(28 / 3)


# --- the unit of exact rate codes is decided as for any rate column (issue 13 item 5) ---


def wide_codes(rates, cohorts=("1000", "300")) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "STNAM": ["WASHINGTON"] * len(rates),
            "LEAID": ["5308700", "5300001"][: len(rates)],
            "LEANM": ["Tacoma SD", "Other SD"][: len(rates)],
            "ALL_COHORT_1819": list(cohorts)[: len(rates)],
            "ALL_RATE_1819": list(rates),
        }
    )


def test_rate_codes_all_at_or_below_one_are_proportions_with_a_note():
    with pytest.warns(C2CDataWarning, match="every exact rate code is at or below 1: read as "):
        table = read_edfacts_acgr(wide_codes(["0.83", "0.9"]))
    # 0.83 is 83 %, as a canonical rate column of [0.83, 0.9] is read; before the fix the
    # codes were read as percents and gave 0.0083 and 0.009.
    assert table["rate"].tolist() == pytest.approx([0.83, 0.90])


def test_rate_codes_stored_as_proportions_in_a_workbook_are_proportions(tmp_path):
    # Excel cells formatted as percent hold 0.83 for "83%".
    path = tmp_path / "acgr.xlsx"
    frame = wide_codes([0.83, 0.9], cohorts=(1000, 300))
    frame.to_excel(path, index=False)
    with pytest.warns(C2CDataWarning, match="read as proportions"):
        table = read_edfacts_acgr(path)
    assert table["rate"].tolist() == pytest.approx([0.83, 0.90])


def test_rate_codes_told_in_percent_stay_percents():
    with pytest.warns(C2CDataWarning, match=r"as told \(rates_in_percent=True\)"):
        table = read_edfacts_acgr(wide_codes(["0.83", "0.9"]), rates_in_percent=True)
    assert table["rate"].tolist() == pytest.approx([0.0083, 0.009])  # 0.83 % and 0.9 %


def test_rate_codes_at_or_below_one_beside_percents_are_an_error_naming_rows():
    with pytest.raises(DataValidationError, match="rate codes mix proportions and percents"):
        read_edfacts_acgr(wide_codes(["0.83", "90"]))


def test_rate_codes_of_only_zero_and_one_are_proportions_with_a_note():
    # 0 and 1 could be 0 % and 100 % or 0 % and 1 %: read as a canonical column of only
    # 0 and 1 is (proportions), and the note says how to say otherwise.
    with pytest.warns(C2CDataWarning, match="hold only 0 and 1: read as proportions"):
        table = read_edfacts_acgr(wide_codes(["1", "0"]))
    assert table["rate"].tolist() == [1.0, 0.0]
