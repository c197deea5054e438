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


# --- c2c validate's chunked reading: the same problems and notes as the whole file ----------


def whole_and_chunked(path, tmp_path, *, rows=3, **options):
    """What read_outcomes reports for the whole file, and what the chunked validation of
    `c2c validate` reports with chunks of `rows` rows: (problems CSV text, message or
    None, warnings) for each."""
    import warnings

    from c2c_analysis.io.outcomes import validate_file

    results = []
    for chunked in (False, True):
        out = tmp_path / f"problems_{chunked}.csv"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", C2CDataWarning)
            message = None
            if chunked:
                checked = validate_file(path, rows=rows, problems=out, **options)
                if checked.error is not None:
                    message = str(checked.error)
                    assert checked.count == sum(1 for _ in out.open()) - 1
            else:
                try:
                    read_outcomes(path, **options)
                except DataValidationError as error:
                    message = str(error)
                    error.write_problems(out)
                else:
                    DataValidationError([]).write_problems(out)
        results.append((out.read_text(), message, [str(w.message) for w in caught]))
    return results


def test_chunked_validation_reports_the_whole_files_problems_across_chunk_boundaries(tmp_path):
    # Chunks of 3 rows: the duplicate key of lines 2 and 9, the triple of lines 3, 6 and 13,
    # the percent rows 5 and 12 against the proportion rows 2 and 3, and a blank line (8)
    # all fall in different chunks.
    text = (
        "partnership,outcome,year,dimension,group,numerator,denominator,rate\n"
        "tacoma,hs_graduation,2015,all,All students,,,0.82\n"
        "tacoma,hs_graduation,2016,all,All students,,,0.84\n"
        "tacoma,hs_graduation,20x7,all,All students,1650,2000,\n"
        "tacoma,hs_graduation,2018,race_ethnicity,Black,,,85\n"
        "tacoma,hs_graduation,2016,all,All students,2100,2000,\n"
        "tacoma,hs_graduation,2019,race_ethnicity,Black,,400,\n"
        "\n"
        "tacoma,hs_graduation,2015,all,All students,1,2,\n"
        "Tacoma Schools,hs_graduation,2015,all,All students,1,2,\n"
        "tacoma-schools,hs_graduation,2016,all,All students,1,2,\n"
        "tacoma,hs_graduation,2020,race_ethnicity,White,,,90%\n"
        "tacoma,hs_graduation,2016,all,All students,5,10,\n"
        "tacoma,,2021,gender,Female,5,10,\n"
    )
    path = write(tmp_path, text)
    (whole, chunked) = whole_and_chunked(path, tmp_path)
    assert chunked == whole
    problems = pd.read_csv(io_text(whole[0]), dtype=str, keep_default_na=False)
    assert "mixes proportions and percents" in problems["problem"].iloc[0]
    duplicates = problems[problems["problem"].str.startswith("duplicate key")]
    assert duplicates["line"].tolist() == ["2", "3", "6", "9", "13"]
    assert "also in row 6, 13" in duplicates["problem"].iloc[1]
    assert problems["problem"].str.contains("give one partnership slug").sum() == 2


def io_text(text):
    import io

    return io.StringIO(text)


@pytest.mark.parametrize("rows", [1, 2, 5, 1000])
def test_chunked_validation_of_a_valid_file_warns_the_same_notes(tmp_path, rows):
    # Percent evidence only in the last chunk (zeros before it decide nothing), suppression
    # marks, rows without a value, an unknown outcome and a label outside the vocabulary
    # spread over the chunks: every note counts the whole file.
    lines = ["partnership,outcome,year,dimension,group,numerator,denominator,rate"]
    lines += [f"tacoma,hs_graduation,{y},all,All students,,,0" for y in range(2000, 2006)]
    lines += [
        "tacoma,hs_graduation,2010,race_ethnicity,Black,*,400,",
        "Lake Side,kinder_ready,2011,race_ethnicity,Martian,,,",
        "tacoma,hs_graduation,2012,race_ethnicity,Black,,,",
        "tacoma,hs_graduation,2013,all,All students,,,85",
    ]
    path = write(tmp_path, "\n".join(lines) + "\n")
    (whole, chunked) = whole_and_chunked(path, tmp_path, rows=rows)
    assert chunked == whole
    assert whole[1] is None
    joined = " ".join(whole[2])
    assert "rates were read as percentages" in joined
    assert "2 row(s) have no value" in joined
    assert "'kinder_ready'" in joined
    assert "'Martian' in race_ethnicity" in joined


def test_chunked_validation_lists_the_first_problems_and_counts_them_all(tmp_path):
    rows = [f"tacoma,hs_graduation,{2000 + i % 20},all,All students,9,{i % 3}" for i in range(60)]
    path = write(tmp_path, HEADER + "\n".join(rows) + "\n")
    (whole, chunked) = whole_and_chunked(path, tmp_path, rows=7)
    assert chunked == whole
    assert (
        whole[1]
        .splitlines()[0]
        .endswith(
            "found (first 25 listed; all are in .problems, and `c2c validate FILE --problems "
            "problems.csv` writes them to a file)"
        )
    )


def test_chunked_validation_of_a_european_file_decides_the_separators_once(tmp_path):
    # 0,85 in the first chunk decides for the file; 1.500 in a later chunk is 1500.
    text = "partnership;outcome;year;dimension;group;numerator;denominator;rate\n"
    text += "tacoma;hs_graduation;2015;all;All students;;;0,85\n"
    text += "tacoma;hs_graduation;2016;all;All students;1200;1.500;\n"
    text += "tacoma;hs_graduation;2017;all;All students;1600;1.500;\n"
    path = write(tmp_path, text)
    (whole, chunked) = whole_and_chunked(path, tmp_path, rows=1)
    assert chunked == whole
    assert whole[1] is not None
    assert "is larger than the denominator (1500)" in whole[1]


def test_chunked_validation_of_parquet_batches_matches_the_whole_file(tmp_path, valid_rows):
    frame = pd.concat([valid_rows] * 3, ignore_index=True)
    frame.loc[4, "numerator"] = 9999
    path = tmp_path / "outcomes.parquet"
    frame.to_parquet(path)
    (whole, chunked) = whole_and_chunked(path, tmp_path, rows=2)
    assert chunked == whole
    assert "also in row 3, 6" in whole[1]


def test_chunked_validation_keeps_the_context_of_a_missing_column(tmp_path):
    text = HEADER.replace("outcome", "Outcome Name") + ROWS * 20
    path = write(tmp_path, text)
    (whole, chunked) = whole_and_chunked(path, tmp_path, rows=4)
    assert chunked == whole
    assert "columns found (header row 1)" in whole[1]
