"""read_outcomes: CSV, Parquet, Excel and DataFrames in; the canonical table out."""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from c2c_analysis import C2CDataWarning, DataValidationError, read_outcomes
from c2c_analysis.schema import COLUMNS

HEADER = "partnership,outcome,year,dimension,group,numerator,denominator\n"
ROWS = (
    "tacoma,hs_graduation,2015,all,All students,1650,2000\n"
    "tacoma,hs_graduation,2015,race_ethnicity,Hispanic/Latino of any race(s),294,368\n"
)


def write(tmp_path, text: str, name: str = "outcomes.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_is_read_into_the_canonical_table(tmp_path):
    table = read_outcomes(write(tmp_path, HEADER + ROWS))
    assert tuple(table.columns) == COLUMNS
    assert table["group"].tolist() == ["All students", "Hispanic/Latino"]
    assert table["source"].unique().tolist() == ["outcomes.csv"]


def test_error_names_the_file_and_the_line_as_an_editor_shows_it(tmp_path):
    bad = ROWS + "tacoma,hs_graduation,2016,all,All students,-4,2000\n"
    with pytest.raises(DataValidationError, match=r"^outcomes\.csv: 1 problem") as caught:
        read_outcomes(write(tmp_path, HEADER + bad))
    assert caught.value.problems[["row", "column", "value"]].values.tolist() == [
        [4, "numerator", "-4"]
    ]
    assert caught.value.source == "outcomes.csv"


def test_blank_lines_are_skipped_but_line_numbers_hold(tmp_path):
    text = HEADER + "\n" + ROWS + "\n\ntacoma,hs_graduation,2016,all,All students,x,2000\n"
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(write(tmp_path, text))
    assert caught.value.problems["row"].tolist() == [7]


def test_utf8_with_bom_is_read(tmp_path):
    table = read_outcomes(write(tmp_path, "\ufeff" + HEADER + ROWS))
    assert table["partnership"].tolist() == ["tacoma", "tacoma"]


def test_latin1_file_is_read_with_a_warning(tmp_path):
    text = HEADER + ROWS + "tacoma,hs_graduation,2015,geography,Escuela Peñasco,10,12\n"
    with pytest.warns(C2CDataWarning, match="not UTF-8"):
        table = read_outcomes(write(tmp_path, text, encoding="latin-1"))
    assert table["group"].iloc[-1] == "Escuela Peñasco"


def test_utf16_file_from_excel_is_read(tmp_path):
    table = read_outcomes(write(tmp_path, "\ufeff" + HEADER + ROWS, encoding="utf-16-le"))
    assert len(table) == 2


def test_semicolon_separated_file_is_read(tmp_path):
    text = (HEADER + ROWS).replace(",", ";")
    assert len(read_outcomes(write(tmp_path, text))) == 2


def test_empty_file_is_an_error_naming_the_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"(?s)empty\.csv: .*the file is empty"):
        read_outcomes(write(tmp_path, "", name="empty.csv"))


def test_header_only_file_is_an_error(tmp_path):
    with pytest.raises(DataValidationError, match="no data rows"):
        read_outcomes(write(tmp_path, HEADER))


def test_binary_file_is_an_error(tmp_path):
    path = tmp_path / "outcomes.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(DataValidationError, match="not text"):
        read_outcomes(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.csv"):
        read_outcomes(tmp_path / "nope.csv")


def test_input_file_is_never_changed(tmp_path):
    path = write(tmp_path, HEADER + ROWS + "tacoma,hs_graduation,2016,all,All students,-4,2000\n")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DataValidationError):
        read_outcomes(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_column_map_renames_unknown_headers(tmp_path):
    text = HEADER.replace("denominator", "Adjusted Cohort Count") + ROWS
    table = read_outcomes(
        write(tmp_path, text), column_map={"Adjusted Cohort Count": "denominator"}
    )
    assert table["denominator"].tolist() == [2000, 368]


def test_column_map_naming_an_absent_column_is_an_error(tmp_path):
    with pytest.raises(DataValidationError, match="column_map names a column not in the data"):
        read_outcomes(write(tmp_path, HEADER + ROWS), column_map={"Cohort": "denominator"})


def test_percent_header_over_proportions_is_read_as_proportions_with_a_note(tmp_path):
    # Changed expectation (issue 13 item 5): the values decide, not the header; 0.9 under
    # "Percent Graduated" was read as 0.9 % before. The note says so, and how to override.
    text = "partnership,outcome,year,dimension,group,Percent Graduated\n"
    text += "tacoma,hs_graduation,2015,all,All,0.9\n"
    with pytest.warns(C2CDataWarning, match="says percent, but every value is at or below 1"):
        table = read_outcomes(write(tmp_path, text), column_map={"Percent Graduated": "rate"})
    assert table["rate"].iloc[0] == pytest.approx(0.9)
    with pytest.warns(C2CDataWarning, match="as told"):
        table = read_outcomes(
            write(tmp_path, text),
            column_map={"Percent Graduated": "rate"},
            rates_in_percent=True,
        )
    assert table["rate"].iloc[0] == pytest.approx(0.009)


def test_parquet_round_trip(tmp_path, valid_rows):
    path = tmp_path / "outcomes.parquet"
    valid_rows.to_parquet(path)
    table = read_outcomes(path)
    assert table["rate"].tolist() == pytest.approx([0.825, 0.81, 706 / 840])


def test_excel_errors_name_the_spreadsheet_row(tmp_path, valid_rows):
    path = tmp_path / "outcomes.xlsx"
    valid_rows.assign(numerator=[1650, 324, 900]).to_excel(path, index=False)
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(path)
    # Row 1 is the header, so the third data row is spreadsheet row 4.
    assert caught.value.problems[["row", "column"]].values.tolist() == [[4, "numerator"]]


def test_excel_sheet_can_be_chosen(tmp_path, valid_rows):
    path = tmp_path / "outcomes.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"notes": ["read me"]}).to_excel(writer, sheet_name="About", index=False)
        valid_rows.to_excel(writer, sheet_name="Data", index=False)
    assert len(read_outcomes(path, sheet="Data")) == 3


def test_corrupt_workbook_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataValidationError, match=r"(?s)broken\.xlsx: .*could not be read"):
        read_outcomes(path)


def test_dataframe_source_reports_index_labels(valid_rows):
    frame = valid_rows.set_axis(["a", "b", "c"]).assign(numerator=[1, 2, 3000])
    with pytest.raises(DataValidationError) as caught:
        read_outcomes(frame)
    assert caught.value.problems["row"].tolist() == ["c"]


def test_c2c_validate_refuses_a_mixed_rate_column_until_told_its_unit(tmp_path, capsys):
    from c2c_analysis.cli import main

    text = "partnership,outcome,year,dimension,group,rate\n"
    text += "".join(
        f"tacoma,hs_graduation,{year},all,All students,{rate}\n"
        for year, rate in ((2015, 0.81), (2016, 0.83), (2017, 1.5))
    )
    path = write(tmp_path, text)
    assert main(["validate", str(path)]) == 1
    assert "mixes proportions and percents" in capsys.readouterr().out
    assert main(["validate", str(path), "--rates-in-percent", "yes"]) == 0
    captured = capsys.readouterr()
    assert "valid: 3 rows" in captured.out
    assert "rates_in_percent=True" in captured.err
