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
