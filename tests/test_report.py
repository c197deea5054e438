"""The report notebooks, the Papermill runner and the published files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from c2c_analysis.report import NOTEBOOKS, notebook_path, run_batch, run_report, small_cells
from c2c_analysis.report.folders import private_folder

HERE = Path(__file__).parent
SLEEPY = HERE / "data" / "sleepy.ipynb"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _private_folder(tmp_path_factory):
    """Private records and inputs go to a folder of this test module, not the user's."""
    before = os.environ.get("C2C_PRIVATE_DIR")
    os.environ["C2C_PRIVATE_DIR"] = str(tmp_path_factory.mktemp("private"))
    yield
    if before is None:
        os.environ.pop("C2C_PRIVATE_DIR", None)
    else:
        os.environ["C2C_PRIVATE_DIR"] = before


def _private_record(folder: Path) -> dict:
    path = private_folder(folder.parent, "records") / f"{folder.name}.json"
    return json.loads(path.read_text())


def _is_figure(output) -> int:
    """Figures in an output of an executed notebook: an SVG or PNG output, or the
    ``<figure>`` elements of an HTML output (the templates lay figures out in grids)."""
    data = output.get("data", {})
    if {"image/svg+xml", "image/png"} & set(data):
        return 1
    html = data.get("text/html", "")
    return "".join(html).count('class="c2c-figure"') if html else 0


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One batch over every sample partnership (two workers), shared by the checks below."""
    out = tmp_path_factory.mktemp("reports")
    records = run_batch(out_dir=out, workers=2, min_n=10)
    return out, records


# --- templates -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_template_has_one_parameters_cell_no_outputs_and_the_python3_kernel(name):
    notebook = nbformat.read(notebook_path(name), as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "# " in tagged[0].source  # every default is commented
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if n != "partnership_report"])
def test_focused_notebook_runs_on_the_sample(name, tmp_path):
    record = run_report("tacoma", notebook=name, out_dir=tmp_path)
    assert record.status == "succeeded", record.error
    folder = Path(record.output)
    assert folder.name == f"tacoma__{name}"
    assert (folder / "report.html").exists()
    assert list((folder / "tables").glob("*.csv"))
    if (
        name != "contributing_indicators"
    ):  # the notebooks on the outcome table say what was withheld
        notes = json.loads((folder / "results.json").read_text())["data_notes"]
        assert "cells are withheld" in notes[0]


# --- the batch --------------------------------------------------------------------------------


def test_batch_reports_every_partnership(batch):
    out, records = batch
    assert [r.partnership for r in records] == [
        "harbor_city",
        "lakeside_county",
        "north_valley",
        "riverton",
        "tacoma",
    ]
    assert all(r.status == "succeeded" for r in records), [r.error for r in records]
    for record in records:
        folder = out / record.partnership
        for name in (
            "partnership_report.ipynb",
            "report.html",
            "provenance.json",
            "status.json",
            "results.json",
        ):
            assert (folder / name).exists(), name
        assert (folder / "tables" / "scorecard.csv").exists() == (record.partnership == "tacoma")
        # Each run's kernel gets the inline backend in its own environment: every report has
        # figures although the test process draws with Agg.
        notebook = nbformat.read(folder / "partnership_report.ipynb", as_version=4)
        figures = sum(_is_figure(o) for c in notebook.cells for o in c.get("outputs", []))
        assert figures >= 2, record.partnership
    assert os.environ.get("MPLBACKEND") == "Agg"  # never changed by the batch


def test_index_links_every_report_with_its_status(batch):
    out, records = batch
    page = (out / "index.html").read_text()
    for record in records:
        assert f'href="{record.partnership}/report.html"' in page
    assert page.count("succeeded") >= len(records)


def test_provenance_records_versions_inputs_parameters_and_time(batch):
    import hashlib

    out, _ = batch
    folder = out / "tacoma"
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["versions"]["c2c_analysis"]
    assert provenance["inputs"]["notebook"] == "partnership_report.ipynb"
    assert provenance["parameters"]["partnership"] == "tacoma"
    assert provenance["utc_time"].endswith("+00:00")
    assert provenance["run_id"] == json.loads((folder / "status.json").read_text())["run_id"]
    # Checksums of what is published beside it, computed here again.
    published = provenance["published_sha256"]
    assert (
        published["report.html"]
        == hashlib.sha256((folder / "report.html").read_bytes()).hexdigest()
    )
    assert "tables/overview.csv" in published


def test_provenance_publishes_no_checksum_of_an_input(batch):
    # Issue 15: the SHA-256 of the unsuppressed per-partnership rows confirmed guesses at
    # withheld cells; inputs' checksums are kept in a private record outside the folder.
    out, _ = batch
    folder = out / "tacoma"
    text = (folder / "provenance.json").read_text()
    private = _private_record(folder)
    assert set(private["inputs_sha256"]) >= {"notebook", "data_path", "source_path"}
    for digest in private["inputs_sha256"].values():
        assert digest not in text
    assert private["fingerprint"] not in text  # published keyed with a local secret
    assert json.loads(text)["fingerprint"] != private["fingerprint"]


def _count_tables(folder: Path):
    for path in sorted(folder.rglob("tables/*.csv")):
        yield path, pd.read_csv(path)
    for path in sorted(folder.rglob("tables/*.xlsx")):
        yield path, pd.read_excel(path)
    for path in sorted(folder.rglob("report.html")):
        try:
            frames = pd.read_html(path)
        except ValueError:  # no tables
            frames = []
        for i, frame in enumerate(frames):
            yield Path(f"{path}#{i}"), frame


def test_no_published_file_has_a_cell_under_min_n(batch):
    out, _ = batch
    scanned = 0
    for path, table in _count_tables(out):
        small = small_cells(table, 10)
        assert small.empty, (path, small.head())
        scanned += 1
    assert scanned > 40


def test_executed_notebooks_hold_no_count_under_min_n(batch):
    # The notebooks display tables as HTML; read them back like any reader would.
    out, _ = batch
    for path in out.glob("*/partnership_report.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html")
                if html and "<table" in html:
                    for table in pd.read_html(pd.io.common.StringIO(html)):
                        assert small_cells(table, 10).empty, path


def test_skip_unchanged_does_not_run_again(batch):
    out, _ = batch
    records = run_batch(["tacoma"], out_dir=out, workers=1, skip_unchanged=True)
    assert records[0].skipped


def _two_partnership_file(folder: Path, encoding: str = "utf-8") -> Path:
    from c2c_analysis import load_sample

    sample = load_sample("outcomes")
    rows = sample[sample["partnership"].isin(["riverton", "north_valley"])]
    columns = ["partnership", "outcome", "year", "dimension", "group", "numerator", "denominator"]
    path = folder / "outcomes.csv"
    rows[columns].to_csv(path, index=False, encoding=encoding)
    return path


def test_a_batch_reads_the_data_once_and_each_report_notes_how_it_was_read(tmp_path):
    import hashlib

    # Windows-1252 (a UTF-8 reader would fail on it): read once, noted in every report.
    path = _two_partnership_file(tmp_path)
    text = path.read_text(encoding="utf-8").replace("Not reported", "Not reported \u2013 n/a")
    path.write_bytes(text.encode("cp1252"))
    out = tmp_path / "reports"
    records = run_batch(data=path, out_dir=out, workers=2, notebook="outcomes_overview")
    assert [r.status for r in records] == ["succeeded", "succeeded"], [r.error for r in records]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for record in records:
        folder = Path(record.output)
        notes = json.loads((folder / "results.json").read_text())["data_notes"]
        assert any("read as cp1252" in note for note in notes), notes
        provenance = json.loads((folder / "provenance.json").read_text())
        assert _private_record(folder)["inputs_sha256"]["source_path"] == digest
        assert "outcomes.csv" in provenance["data_from"]
    # The per-partnership rows were never inside the output folder, and are removed.
    assert not list(out.glob(".inputs*"))
    assert not list((Path(os.environ["C2C_PRIVATE_DIR"]) / "inputs").glob("*/*.parquet"))


def test_skip_unchanged_reruns_only_the_partnership_whose_rows_changed(tmp_path):
    path = _two_partnership_file(tmp_path)
    out = tmp_path / "reports"
    first = run_batch(data=path, out_dir=out, workers=2, notebook="outcomes_overview")
    assert all(r.status == "succeeded" for r in first)
    table = pd.read_csv(path)
    changed = table.index[table["partnership"] == "riverton"][0]
    table.loc[changed, "numerator"] = table.loc[changed, "numerator"] - 1
    table.to_csv(path, index=False)
    again = run_batch(
        data=path, out_dir=out, workers=2, notebook="outcomes_overview", skip_unchanged=True
    )
    assert {r.partnership: r.skipped for r in again} == {"north_valley": True, "riverton": False}
    assert all(r.status == "succeeded" for r in again)


def test_a_data_file_that_cannot_be_read_fails_the_batch_before_any_report_runs(tmp_path):
    from c2c_analysis.validation import DataValidationError

    path = tmp_path / "outcomes.csv"
    path.write_text("partnership,outcome,year\nriverton,hs_graduation,not a year\n")
    with pytest.raises(DataValidationError, match=r"outcomes\.csv"):
        run_batch(
            ["riverton"], data=path, out_dir=tmp_path / "reports", notebook="outcomes_overview"
        )
    assert not (tmp_path / "reports").exists()


# --- faults ---------------------------------------------------------------------------------------


def test_a_failing_partnership_fails_alone(tmp_path):
    # Partnerships not in the data fail the batch before any kernel (test_report_runner.py);
    # a report that fails in its kernel fails alone.
    notebook = nbformat.read(SLEEPY, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell("if partnership == 'nowhere_else':\n    raise ValueError('no')")
    )
    path = tmp_path / "fails.ipynb"
    nbformat.write(notebook, path)
    from c2c_analysis import load_sample

    rows = load_sample("outcomes")
    rows = pd.concat(
        [rows, rows[rows["partnership"] == "tacoma"].assign(partnership="nowhere_else")]
    )
    data = tmp_path / "outcomes.csv"
    rows.to_csv(data, index=False)
    records = run_batch(
        ["riverton", "nowhere_else"], data=data, out_dir=tmp_path, workers=2, notebook=str(path)
    )
    by_name = {r.partnership: r for r in records}
    assert by_name["riverton"].status == "succeeded"
    failed = by_name["nowhere_else"]
    assert failed.status == "failed"
    assert "raised ValueError: no" in failed.error
    assert failed.failed_cell is not None
    status = json.loads((tmp_path / "nowhere_else__fails" / "status.json").read_text())
    assert status["status"] == "failed"


def test_a_cell_time_out_is_a_failure(tmp_path):
    record = run_report(
        "tacoma", notebook=str(SLEEPY), out_dir=tmp_path, parameters={"seconds": 30}, timeout=2
    )
    assert record.status == "failed"
    assert "timed out" in record.error
    assert record.failed_cell == 2  # the injected-parameters cell shifts the sleep to index 2


def test_the_engine_writes_the_notebook_at_start_and_end_and_after_a_failure(tmp_path, monkeypatch):
    # Papermill's engine writes the notebook before and after every cell; ours at the start,
    # after a failed cell and at the end (and every autosave interval during a long cell).
    import papermill.engines

    writes = []
    original = papermill.engines.write_ipynb
    monkeypatch.setattr(
        papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), original(nb, path))
    )
    good = run_report("tacoma", notebook=str(SLEEPY), out_dir=tmp_path / "good")
    assert good.status == "succeeded", good.error
    assert len(writes) == 2
    writes.clear()
    bad = run_report(
        "tacoma", notebook=str(SLEEPY), out_dir=tmp_path / "bad", parameters={"seconds": "x"}
    )
    assert bad.status == "failed"
    assert bad.failed_cell == 2
    assert len(writes) == 3
    # A failed run publishes only its status; its notebook is kept privately.
    assert sorted(p.name for p in Path(bad.output).iterdir()) == [
        "last_failure.json",
        "status.json",
    ]
    executed = nbformat.read(bad.failed_run, as_version=4)
    (sleep,) = [c for c in executed.cells if "time.sleep" in c.source]
    assert [o["output_type"] for o in sleep.outputs] == ["error"]  # saved with its error


def test_a_failed_rerun_keeps_the_last_good_report(tmp_path):
    good = run_report("tacoma", notebook="outcomes_overview", out_dir=tmp_path)
    assert good.status == "succeeded"
    folder = Path(good.output)
    before = (folder / "report.html").read_bytes()
    bad_data = tmp_path / "broken.csv"
    bad_data.write_text(
        "partnership,outcome,year,dimension,group,numerator,denominator\ntacoma,hs_graduation,20x5,all,All,1,2\n"
    )
    from c2c_analysis.validation import DataValidationError

    # Invalid data are refused before any kernel starts: nothing is written.
    with pytest.raises(DataValidationError, match="year"):
        run_report("tacoma", notebook="outcomes_overview", out_dir=tmp_path, data=bad_data)
    assert (folder / "report.html").read_bytes() == before
    assert json.loads((folder / "status.json").read_text())["run_id"] == good.run_id
    # A run that fails in its kernel leaves the good report and says why beside it.
    again = run_report(
        "tacoma", notebook="outcomes_overview", out_dir=tmp_path, parameters={"min_n": "x"}
    )
    assert again.status == "failed"
    assert (folder / "report.html").read_bytes() == before
    assert json.loads((folder / "status.json").read_text())["run_id"] == good.run_id
    failure = json.loads((folder / "last_failure.json").read_text())
    assert failure["run_id"] == again.run_id
    assert not list(tmp_path.glob(".tacoma*.tmp"))  # no half-finished folder left in place


@pytest.mark.parametrize("name", ["../etc", "Tacoma", "", "a/b", "x" * 65, ".hidden"])
def test_unsafe_partnership_names_are_refused_before_anything_is_written(name, tmp_path):
    with pytest.raises(ValueError, match="not a safe name"):
        run_report(name, out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_parameters_are_made_json_safe(tmp_path):
    record = run_report(
        "tacoma",
        notebook=str(SLEEPY),
        out_dir=tmp_path,
        parameters={"seconds": 0, "when": pd.Timestamp("2020-01-01"), "where": tmp_path},
    )
    assert record.status == "succeeded", record.error
    provenance = json.loads((Path(record.output) / "provenance.json").read_text())
    assert provenance["parameters"]["when"] == "2020-01-01T00:00:00"


# --- the HTML report in a real browser ------------------------------------------------------------


def test_report_renders_in_headless_chromium(batch):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it when it can)")
    out, _ = batch
    page = out / "tacoma" / "report.html"
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    notebook = nbformat.read(out / "tacoma" / "partnership_report.ipynb", as_version=4)
    figures = sum(_is_figure(o) for c in notebook.cells for o in c.get("outputs", []))
    assert figures >= 3  # run charts with intervals, graduation gaps, strategy scorecard
    assert dom.count("<img") == figures  # every figure of the notebook is embedded and rendered
    assert dom.count("<table") >= 5
    assert "<title>Tacoma: partnership report</title>" in dom  # the name in words (issue 17)
    assert "Traceback" not in dom
    # No output went to stderr (warnings, errors) in the published report.
    assert 'data-mime-type="application/vnd.jupyter.stderr"' not in dom


def test_the_report_runs_on_all_students_rows_alone(tmp_path):
    # A partnership that publishes no breakdowns: no gaps, no decomposition, still a report.
    from c2c_analysis import load_sample

    sample = load_sample("outcomes")
    rows = sample[(sample["partnership"] == "riverton") & (sample["dimension"] == "all")]
    columns = ["partnership", "outcome", "year", "dimension", "group", "numerator", "denominator"]
    path = tmp_path / "all_students.csv"
    rows[columns].to_csv(path, index=False)
    record = run_report("riverton", data=path, out_dir=tmp_path / "reports")
    assert record.status == "succeeded", record.error
    decomposition = pd.read_csv(Path(record.output) / "tables" / "decomposition.csv")
    assert decomposition.empty
