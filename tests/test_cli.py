"""The c2c command: validate, demo, samples, --version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from c2c_analysis import __version__
from c2c_analysis.cli import main

HEADER = "partnership,outcome,year,dimension,group,numerator,denominator\n"


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"c2c_analysis {__version__}"


def test_validate_accepts_a_valid_file(tmp_path, capsys):
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + "tacoma,hs_graduation,2015,all,All students,1650,2000\n")
    assert main(["validate", str(path)]) == 0
    assert "valid: 1 rows" in capsys.readouterr().out


def test_validate_lists_every_problem_and_exits_one(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "tacoma,hs_graduation,20x5,all,All students,1650,2000\n"
        "tacoma,hs_graduation,2016,all,All students,2100,2000\n"
    )
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "row 2, column 'year'" in out
    assert "row 3, column 'numerator': is larger than the denominator (2000)" in out


def test_validate_on_a_folder_or_an_unwritable_problems_file_is_one_line(tmp_path, capsys):
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "directory" in err
    assert str(tmp_path) in err
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "tacoma,hs_graduation,20x5,all,All students,1650,2000\n")
    assert main(["validate", str(path), "--problems", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err


def test_validate_column_map_option(tmp_path):
    path = tmp_path / "mapped.csv"
    path.write_text(
        HEADER.replace("denominator", "Adjusted Cohort")
        + "tacoma,hs_graduation,2015,all,All,1650,2000\n"
    )
    assert main(["validate", str(path)]) == 1
    assert main(["validate", str(path), "--column-map", "Adjusted Cohort=denominator"]) == 0


def test_validate_missing_file_exits_two(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_demo_summarizes_every_partnership(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for partnership in ("tacoma", "harbor_city", "riverton", "lakeside_county", "north_valley"):
        assert f"== {partnership} ==" in out
    assert "High school graduation" in out


def test_installed_console_script_runs():
    result = subprocess.run(
        [sys.executable, "-m", "c2c_analysis.cli", "samples"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "tacoma_published" in result.stdout


# --- report and batch: settings and checks before any kernel (issues 14, 15, 18) -----------------


@pytest.fixture
def captured(monkeypatch, tmp_path):
    """run_report and run_batch replaced by recorders: what the command passes them."""
    import c2c_analysis.report as report
    from c2c_analysis.report import RunRecord

    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))
    calls = {}

    def record(name):
        def run(*args, **kwargs):
            calls[name] = (args, kwargs)
            done = RunRecord("tacoma", "partnership_report", "succeeded", "x", "out", 0.1)
            return done if name == "report" else [done]

        return run

    monkeypatch.setattr(report, "run_report", record("report"))
    monkeypatch.setattr(report, "run_batch", record("batch"))
    return calls


def test_report_and_batch_pass_the_disclosure_settings(captured, tmp_path):
    assert main(["report", "tacoma", "--out", str(tmp_path / "r")]) == 0
    _, kwargs = captured["report"]
    # The defaults are privacy's state-practice rules.
    assert (kwargs["min_n"], kwargs["min_cell"], kwargs["top_bottom"]) == (10, 5, True)
    argv = ["batch", "--out", str(tmp_path / "b"), "--min-n", "11", "--min-cell", "0"]
    assert main([*argv, "--top-bottom", "0.05"]) == 0
    _, kwargs = captured["batch"]
    assert (kwargs["min_n"], kwargs["min_cell"], kwargs["top_bottom"]) == (11, None, 0.05)
    assert kwargs["client"] is None  # threads without --scheduler
    assert main(["batch", "--out", str(tmp_path / "b"), "--top-bottom", "off"]) == 0
    assert captured["batch"][1]["top_bottom"] is False


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "tacoma", "--top-bottom", "0.9"],
        ["report", "tacoma", "--top-bottom", "sometimes"],
        ["batch", "--min-cell", "-1"],
        ["batch", "--scheduler", "local:0"],
    ],
)
def test_unusable_disclosure_or_scheduler_settings_are_usage_errors(argv, tmp_path, capsys):
    code = _exit_code(lambda: main([*argv, "--out", str(tmp_path / "out")]))
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def _exit_code(run) -> int:
    try:
        return run()
    except SystemExit as done:  # argparse's usage errors
        return done.code


def test_a_partnership_not_in_the_data_is_a_usage_error_before_any_kernel(
    tmp_path, capsys, monkeypatch
):
    from c2c_analysis.report import runner

    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))

    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(runner, "_execute", refuse)
    out = tmp_path / "out"
    assert main(["batch", "--partnerships", "tacoma", "rivertown", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'riverton'" in err
    assert "Traceback" not in err
    assert main(["report", "tacomma", "--out", str(out)]) == 2
    assert "did you mean 'tacoma'" in capsys.readouterr().err
    assert not out.exists()


def test_validate_writes_every_problem_to_the_problems_file_as_the_whole_file_gives_them(
    tmp_path, capsys
):
    from c2c_analysis import DataValidationError, read_outcomes

    rows = [f"tacoma,hs_graduation,{2000 + i},all,All students,9,{i % 3}" for i in range(40)]
    rows.append(rows[0])  # a duplicate key of line 2, in the last chunk
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    problems = tmp_path / "problems.csv"
    assert main(["validate", str(path), "--problems", str(problems)]) == 1
    out = capsys.readouterr().out
    with pytest.raises(DataValidationError) as whole:
        read_outcomes(path)
    expected = tmp_path / "expected.csv"
    count = whole.value.write_problems(expected)
    assert problems.read_text() == expected.read_text()
    assert out == f"{path}: INVALID\n{whole.value}\n{count} problem(s) written to {problems}\n"


def test_validate_through_a_recipe_prints_the_canonical_rows(tmp_path, capsys):
    path = tmp_path / "wide.csv"
    path.write_text("District,Year,NUM_ALL,DEN_ALL\nTacoma,2015,1650,2000\nTacoma,2016,1700,2000\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "columns: {District: partnership, Year: year}\nconstants: {outcome: hs_graduation}\n"
        "melt: {pattern: '^(?P<measure>NUM|DEN)_(?P<group>ALL)$', "
        "measures: {NUM: numerator, DEN: denominator}, groups: {ALL: [all, All students]}}\n"
    )
    assert main(["validate", str(path), "--recipe", str(recipe)]) == 0
    out = capsys.readouterr().out
    assert "valid: 2 rows, 1 partnership(s), 1 outcome(s), year 2015 to 2016, 0 suppressed" in out
