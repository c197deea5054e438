"""Packaging: version, citation metadata, public API."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

import c2c_analysis

ROOT = Path(__file__).resolve().parents[1]


def test_citation_version_matches_the_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == c2c_analysis.__version__


CFF_SCHEMA = ROOT / "tests" / "data" / "cff-1.2.0-schema.json"


def _cff_errors(citation: dict) -> list[str]:
    # The Citation File Format 1.2.0 JSON schema, vendored (tests/data/README.md says from
    # where): CI reaches package registries only. Draft 7, as its $schema says.
    schema = json.loads(CFF_SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in validator.iter_errors(citation)
    ]


def test_citation_file_is_valid_cff_1_2():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["cff-version"] == "1.2.0"
    assert _cff_errors(citation) == []


def test_cff_validation_rejects_what_the_schema_forbids():
    # The check above can fail: a reference without authors and a misspelt top-level key.
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    broken = {**citation, "titel": "typo", "references": [{"type": "article", "title": "x"}]}
    errors = _cff_errors(broken)
    assert any("titel" in error for error in errors), errors
    assert any(error.startswith("references/0") and "authors" in error for error in errors)


def test_citation_references_the_methods():
    # Researchers cite the methods' own papers; CITATION.cff lists them (issue 20).
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    titles = " ".join(reference["title"] for reference in citation["references"]).lower()
    for words in [
        "run charts revisited",  # Anhøj & Olesen 2014
        "improved control charts for attributes",  # Laney 2002
        "funnel plots",  # Spiegelhalter 2005
        "over-dispersion",  # Spiegelhalter 2005
        "components of a difference between two rates",  # Kitagawa 1955
        "standardization and decomposition of rates",  # Das Gupta 1993
        "interrupted time series",  # Lopez Bernal et al. 2017
        "difference between independent proportions",  # Newcombe 1998
        "statistical disclosure control",  # Hundepool et al.
    ]:
        assert words in titles, words


def test_pip_check_is_clean():
    # `pip install -e '.[test,dev]'` once failed (cffconvert pinned jsonschema < 4 while
    # jupyterlab-server needs >= 4.18): every installed distribution's requirements must hold.
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not installed in this environment, so `pip check` cannot run")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_test_and_dev_extras_can_be_installed_together():
    # The resolver's view of the conflict above, without installing anything: no extra pins
    # jsonschema below 4.18 (jupyterlab's servers need it) and cffconvert is gone.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    requirements = [r for name in ("test", "dev", "docs") for r in extras[name]]
    assert not any(r.lower().startswith("cffconvert") for r in requirements)
    jsonschema_pins = [r for r in requirements if r.lower().startswith("jsonschema")]
    assert jsonschema_pins == ["jsonschema>=4.18"]
    assert "c2c_analysis[docs]" in extras["test"]  # the docs build runs in the test suite


def test_public_api_is_sorted_and_importable():
    assert c2c_analysis.__all__ == sorted(c2c_analysis.__all__, key=str)
    for name in c2c_analysis.__all__:
        assert hasattr(c2c_analysis, name), name


def test_package_ships_type_information():
    assert (Path(c2c_analysis.__file__).parent / "py.typed").exists()


def test_version_is_pep440():
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", c2c_analysis.__version__)
