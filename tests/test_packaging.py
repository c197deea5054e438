"""Packaging: version, citation metadata, public API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

import c2c_analysis

ROOT = Path(__file__).resolve().parents[1]


def test_citation_version_matches_the_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == c2c_analysis.__version__


def test_citation_file_is_valid_cff_1_2():
    # cffconvert validates against the Citation File Format 1.2.0 JSON schema.
    # The script sits beside the interpreter in the virtual environment, which may not be on PATH.
    cffconvert = Path(sys.executable).with_name("cffconvert")
    assert cffconvert.exists(), "cffconvert is part of the test extra"
    result = subprocess.run(
        [str(cffconvert), "--validate", "-i", str(ROOT / "CITATION.cff")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_api_is_sorted_and_importable():
    assert c2c_analysis.__all__ == sorted(c2c_analysis.__all__, key=str)
    for name in c2c_analysis.__all__:
        assert hasattr(c2c_analysis, name), name


def test_package_ships_type_information():
    assert (Path(c2c_analysis.__file__).parent / "py.typed").exists()


def test_version_is_pep440():
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", c2c_analysis.__version__)
