"""The runner's gates and inputs: only a partnership's rows are read (Parquet filters, one CSV
pass) and give the same table as reading the whole file; inputs are checked before any kernel
starts (issue 14 item 8); the privacy settings reach suppress (issue 15 item 2); the
disclosure audit refuses to publish what it finds unsafe (issue 15 item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from c2c_analysis import load_sample, read_outcomes
from c2c_analysis.privacy import DEFAULT_TOP_BOTTOM, suppress
from c2c_analysis.report import folders, load_partnership, run_batch, run_report, runner
from c2c_analysis.report.runner import read_partnership_rows, top_bottom_thresholds
from c2c_analysis.validation import DataValidationError

COLUMNS = ["partnership", "outcome", "year", "dimension", "group", "numerator", "denominator"]


@pytest.fixture(autouse=True)
def _private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> dict[str, Path]:
    """The sample's five partnerships eight times (copies renamed), as CSV and Parquet, and
    tacoma alone: a small stand-in for a state file of many partnerships."""
    folder = tmp_path_factory.mktemp("many")
    sample = load_sample("outcomes")[COLUMNS]
    copies = [sample] + [
        sample.assign(partnership=sample["partnership"] + f"_{i}") for i in range(1, 8)
    ]
    big = pd.concat(copies, ignore_index=True)
    (folder / "big").mkdir()
    (folder / "one").mkdir()
    big.to_csv(folder / "big" / "outcomes.csv", index=False)
    big.to_parquet(folder / "big" / "outcomes.parquet", index=False)
    sample[sample["partnership"] == "tacoma"].to_csv(folder / "one" / "outcomes.csv", index=False)
    return {
        "csv": folder / "big" / "outcomes.csv",
        "parquet": folder / "big" / "outcomes.parquet",
        "one": folder / "one" / "outcomes.csv",
    }


def _whole(path, names) -> pd.DataFrame:
    table = read_outcomes(path)
    return table[table["partnership"].isin(names)].reset_index(drop=True)


# --- reading only the partnership's rows ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_reading_one_partnership_equals_reading_the_whole_file(many, kind):
    for names in (["tacoma"], ["riverton_3", "harbor_city"]):
        table, notes, known = read_partnership_rows(many[kind], names)
        pd.testing.assert_frame_equal(table, _whole(many[kind], names))
        assert len(known) == 40  # 5 sample partnerships x 8 copies
        assert notes == []


def test_raw_names_are_matched_through_their_slug(tmp_path):
    rows = load_sample("outcomes")[COLUMNS]
    rows = rows[rows["partnership"].isin(["tacoma", "riverton"])].copy()
    rows["partnership"] = rows["partnership"].map(
        {"tacoma": "TACOMA & Co.", "riverton": "Riverton"}
    )
    path = tmp_path / "names.csv"
    rows.to_csv(path, index=False)
    table, _, known = read_partnership_rows(path, ["tacoma-co"])
    pd.testing.assert_frame_equal(table, _whole(path, ["tacoma-co"]))
    assert set(table["partnership_name"]) == {"TACOMA & Co."}
    assert known == ["riverton", "tacoma-co"]


def test_a_problem_in_the_partnerships_rows_names_its_line_in_the_whole_file(many, tmp_path):
    text = many["csv"].read_text().splitlines()
    # The last tacoma_7 row: its line number in the file (the header is line 1).
    line = max(i for i, t in enumerate(text) if t.startswith("tacoma_7,")) + 1
    fields = text[line - 1].split(",")
    fields[2] = "20x5"  # the year
    text[line - 1] = ",".join(fields)
    path = tmp_path / "outcomes.csv"
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataValidationError) as caught:
        read_partnership_rows(path, ["tacoma_7"])
    problems = caught.value.problems
    assert line in set(problems["row"]), problems


def test_files_without_a_fast_path_are_read_whole_and_filtered(tmp_path):
    rows = load_sample("outcomes")[COLUMNS]
    semicolons = tmp_path / "outcomes.csv"
    rows.to_csv(semicolons, index=False, sep=";")
    workbook = tmp_path / "outcomes.xlsx"
    rows[rows["partnership"].isin(["tacoma", "riverton"])].to_excel(workbook, index=False)
    for path in (semicolons, workbook):
        table, _, _ = read_partnership_rows(path, ["tacoma"])
        pd.testing.assert_frame_equal(table, _whole(path, ["tacoma"]))


def test_load_partnership_reads_the_partnerships_rows_of_a_big_file(many):
    raw, protected = load_partnership("tacoma", data_path=str(many["parquet"]))
    alone_raw, alone = load_partnership("tacoma", data_path=str(many["one"]))
    pd.testing.assert_frame_equal(raw.drop(columns="source"), alone_raw.drop(columns="source"))
    pd.testing.assert_frame_equal(
        protected.table.drop(columns="source"), alone.table.drop(columns="source")
    )


# --- the privacy settings ---------------------------------------------------------------------


def test_top_bottom_settings_are_read_as_suppress_takes_them():
    assert top_bottom_thresholds(True) == dict(DEFAULT_TOP_BOTTOM)
    assert top_bottom_thresholds(False) is None
    assert top_bottom_thresholds(0.05) == 0.05
    assert top_bottom_thresholds({"10": 0.1, "100": "0.02"}) == {10: 0.1, 100: 0.02}
    for bad in (0.7, -1, "lots", {"x": 1}):
        with pytest.raises(ValueError, match="top_bottom"):
            top_bottom_thresholds(bad)


def test_load_partnership_passes_min_cell_and_top_bottom_to_suppress():
    rows, default = load_partnership("tacoma")
    expected = suppress(rows, min_n=10)  # suppress's own defaults are the state practice
    pd.testing.assert_frame_equal(default.table, expected.table)
    _, off = load_partnership("tacoma", min_cell=0, top_bottom=False)
    pd.testing.assert_frame_equal(
        off.table, suppress(rows, min_n=10, min_cell=None, top_bottom=None).table
    )
    coded = set(default.record["rule"]) & {"top_coded", "bottom_coded", "min_cell"}
    assert coded  # the sample has groups near 0% or 100%, or with few who did not graduate
    assert not set(off.record["rule"]) & {"top_coded", "bottom_coded", "min_cell"}


def test_unusable_privacy_settings_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="min_cell"):
        run_report("tacoma", out_dir=tmp_path / "a", min_cell=-1)
    with pytest.raises(ValueError, match="top_bottom"):
        run_batch(["tacoma"], out_dir=tmp_path / "b", top_bottom=2)
    assert not list(tmp_path.iterdir())


# --- constructed notebooks --------------------------------------------------------------------


def _notebook(path: Path, cells: list[str], parameters: str = "") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    first = nbformat.v4.new_code_cell(
        'partnership: str = "tacoma"  # slug\n'
        'data_path: str = ""  # rows (set by the runner)\n'
        'portfolio_path: str = ""  # portfolio\n'
        "min_n: int = 10  # smallest group\n"
        "min_cell: int = 5  # smallest count met or not\n"
        "top_bottom: bool = True  # coding\n"
        'output_dir: str = ""  # set by the runner\n' + parameters
    )
    first.metadata["tags"] = ["parameters"]
    notebook.cells = [first, *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(notebook, path)
    return path


# A published table in the audit's own docstring example (hand-checked there): the Asian
# cell is withheld, but All students minus Black and White gives it exactly (170 - 40 - 125
# = 5 of 200 - 50 - 144 = 6). "safe" also withholds Black, so nothing is pinned: the two
# withheld cells hold 56 students together (the isolated set is not under min_n).
_PUBLISH = """
import pandas as pd
from c2c_analysis.report import ReportWriter
exposed = mode == "exposed"
table = pd.DataFrame({
    "partnership": partnership, "outcome": "hs_graduation", "year": 2019,
    "dimension": ["all", "race_ethnicity", "race_ethnicity", "race_ethnicity"],
    "group": ["All students", "Asian", "Black", "White"],
    "numerator": [170, None, 40 if exposed else None, 125],
    "denominator": [200, None, 50 if exposed else None, 144]})
writer = ReportWriter(output_dir, min_n=min_n)
writer.table("groups", table)
writer.record("settings", {"min_n": min_n, "min_cell": min_cell, "top_bottom": top_bottom})
rows = pd.read_parquet(data_path)
writer.record("rows", {"n": len(rows), "partnerships": sorted(set(rows["partnership"]))})
"""


@pytest.fixture
def publishing(tmp_path) -> Path:
    return _notebook(tmp_path / "publish.ipynb", [_PUBLISH], 'mode: str = "safe"  # table\n')


def test_the_audit_refuses_to_publish_a_report_that_exposes_a_withheld_cell(tmp_path, publishing):
    out = tmp_path / "reports"
    good = run_report("tacoma", notebook=str(publishing), out_dir=out)
    assert good.status == "succeeded", good.error
    folder = Path(good.output)
    before = (folder / "tables" / "groups.csv").read_bytes()
    bad = run_report(
        "tacoma", notebook=str(publishing), out_dir=out, parameters={"mode": "exposed"}
    )
    assert bad.status == "failed"
    assert bad.failed_cell is None  # every cell ran; the audit refused
    # In words: the value, the group, the outcome and the year, and the range an attacker
    # finds (5 to 5, worked out in the comment above) for whoever ran the report.
    assert "disclosure audit refused to publish" in bad.error
    assert "the numerator of Asian (race_ethnicity), hs_graduation, 2019" in bad.error
    assert "an attacker finds 5 to 5 students" in bad.error
    assert "the denominator of Asian (race_ethnicity), hs_graduation, 2019" in bad.error
    # The last good report stays; last_failure.json explains without the withheld numbers.
    assert (folder / "tables" / "groups.csv").read_bytes() == before
    assert json.loads((folder / "status.json").read_text())["run_id"] == good.run_id
    failure = json.loads((folder / "last_failure.json").read_text())
    assert failure["run_id"] == bad.run_id
    assert "the numerator of Asian (race_ethnicity), hs_graduation, 2019" in failure["error"]
    assert "attacker finds 5" not in failure["error"]
    assert "to 5 students" not in (folder / "status.json").read_text()
    # The ranges are kept in the private record, outside the output folder.
    record = folders.private_folder(out, "records") / f"{folder.name}.json"
    assert "an attacker finds 5 to 5 students" in json.loads(record.read_text())["audit"]
    assert not list(out.glob(".tacoma*"))


def test_an_exposing_first_run_publishes_only_its_status(tmp_path, publishing):
    out = tmp_path / "reports"
    bad = run_report(
        "tacoma", notebook=str(publishing), out_dir=out, parameters={"mode": "exposed"}
    )
    assert bad.status == "failed"
    assert sorted(p.name for p in Path(bad.output).iterdir()) == [
        "last_failure.json",
        "status.json",
    ]


def test_an_audit_that_cannot_run_refuses_to_publish(tmp_path, publishing, monkeypatch):
    import c2c_analysis.audit

    def broken(*args, **kwargs):
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr(c2c_analysis.audit, "audit_disclosure", broken)
    record = run_report("tacoma", notebook=str(publishing), out_dir=tmp_path / "reports")
    assert record.status == "failed"
    assert "the disclosure audit could not run (RuntimeError: solver unavailable)" in record.error
    assert not (Path(record.output) / "tables").exists()


def test_privacy_settings_and_the_partnerships_rows_reach_the_notebook(tmp_path, publishing):
    record = run_report(
        "riverton",
        notebook=str(publishing),
        out_dir=tmp_path / "reports",
        min_n=11,
        min_cell=3,
        top_bottom={10: 0.1, 50: 0.05},
    )
    assert record.status == "succeeded", record.error
    results = json.loads((Path(record.output) / "results.json").read_text())
    assert results["settings"] == {
        "min_n": 11,
        "min_cell": 3,
        "top_bottom": {"10": 0.1, "50": 0.05},
    }
    # The kernel got riverton's validated rows only (1,087 rows in the sample), never
    # the whole file.
    assert results["rows"] == {"n": 1087, "partnerships": ["riverton"]}
    provenance = json.loads((Path(record.output) / "provenance.json").read_text())
    assert provenance["inputs"]["source_path"] == "outcomes.csv"


def test_the_published_notebook_names_its_inputs_by_file_name_only(tmp_path, publishing):
    # The kernel reads riverton's rows from a private per-partnership file and writes into a
    # hidden working folder; the published notebook says neither path (issue 19).
    out = tmp_path / "reports"
    record = run_report("riverton", notebook=str(publishing), out_dir=out)
    assert record.status == "succeeded", record.error
    text = (Path(record.output) / "publish.ipynb").read_text()
    notebook = nbformat.reads(text, as_version=4)
    for private in (str(tmp_path), "private", ".tmp"):
        assert private not in text
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'data_path = "riverton.parquet"' in injected[0].source
    assert 'output_dir = "."' in injected[0].source
    meta = notebook.metadata["papermill"]
    assert meta["parameters"]["data_path"] == "riverton.parquet"
    assert meta["parameters"]["output_dir"] == "."
    assert (meta["input_path"], meta["output_path"]) == ("publish.ipynb", "publish.ipynb")
    # No published file (report.html, results.json, provenance.json, tables) names a path
    # of this machine either: the output folder's or the private inputs' (under home).
    for path in Path(record.output).rglob("*"):
        if path.is_file():
            published = path.read_text(errors="ignore")
            assert str(tmp_path) not in published, path.name
            assert str(Path.home()) not in published, path.name


def test_a_failing_cell_is_named_although_papermill_inserts_cells(tmp_path):
    # Papermill injects a parameters cell and, when a cell raised, two error cells: the name
    # is still the failing cell's own code.
    notebook = _notebook(tmp_path / "fails.ipynb", ["x = 1", "raise ValueError('boom')"])
    record = run_report("tacoma", notebook=str(notebook), out_dir=tmp_path / "reports")
    assert record.status == "failed"
    assert record.failed_cell == 3
    assert record.error == "cell 3 (`raise ValueError('boom')`) raised ValueError: boom"


def test_kernels_draw_inline_and_the_process_environment_is_untouched(tmp_path, monkeypatch):
    # Two reports run in threads, as in a batch: their kernels get the inline backend in
    # their own environment; os.environ is never changed meanwhile.
    import os
    import threading

    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = _notebook(
        tmp_path / "backend.ipynb",
        ["import os, matplotlib\nprint(os.environ['MPLBACKEND'], matplotlib.get_backend())"],
    )
    before = dict(os.environ)
    records, seen = {}, set()

    def run(name: str) -> None:
        records[name] = run_report(name, notebook=str(notebook), out_dir=tmp_path / name)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("tacoma", "riverton")]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        seen.add(os.environ.get("MPLBACKEND"))
        threads[0].join(0.01)
    for thread in threads:
        thread.join()
    assert seen == {"Agg"}
    assert dict(os.environ) == before
    inline = "module://matplotlib_inline.backend_inline"
    for name, record in records.items():
        assert record.status == "succeeded", record.error
        executed = nbformat.read(Path(record.output) / "backend.ipynb", as_version=4)
        printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
        assert printed.split() == [inline, inline], name


# --- checked before any kernel starts ---------------------------------------------------------


@pytest.fixture
def no_kernels(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(runner, "_execute", refuse)


def test_a_batch_naming_a_partnership_not_in_the_data_fails_before_any_kernel(tmp_path, no_kernels):
    with pytest.raises(DataValidationError, match="did you mean 'riverton'") as caught:
        run_batch(["tacoma", "rivertown"], out_dir=tmp_path / "reports")
    assert caught.value.source == "partnerships"
    assert not (tmp_path / "reports").exists()


def test_a_report_for_a_partnership_not_in_the_data_fails_before_any_kernel(tmp_path, no_kernels):
    with pytest.raises(DataValidationError, match="did you mean 'tacoma'"):
        run_report("tacomma", out_dir=tmp_path / "reports")
    assert not (tmp_path / "reports").exists()


def test_invalid_data_fail_a_batch_before_any_kernel(tmp_path, no_kernels):
    path = tmp_path / "outcomes.csv"
    path.write_text("partnership,outcome,year\nriverton,hs_graduation,not a year\n")
    with pytest.raises(DataValidationError, match=r"outcomes\.csv"):
        run_batch(["riverton"], data=path, out_dir=tmp_path / "reports")


def test_a_portfolio_label_not_in_the_data_fails_before_any_kernel(tmp_path, no_kernels):
    from c2c_analysis.datasets import sample_path

    text = sample_path("portfolio").read_text().replace("Hispanic/Latino", "Hispanc", 1)
    portfolio = tmp_path / "portfolio.yaml"
    portfolio.write_text(text)
    with pytest.raises(DataValidationError, match="did you mean 'Hispanic/Latino'"):
        run_report("tacoma", portfolio=portfolio, out_dir=tmp_path / "reports")
    with pytest.raises(DataValidationError, match="did you mean 'Hispanic/Latino'"):
        run_batch(portfolio=portfolio, out_dir=tmp_path / "reports")


# --- a big file publishes what the partnership's own file publishes ---------------------------


@pytest.mark.slow
def test_a_report_on_a_file_of_many_partnerships_publishes_identical_tables(many, tmp_path):
    records = {
        kind: run_report(
            "tacoma", data=many[kind], notebook="outcomes_overview", out_dir=tmp_path / kind
        )
        for kind in ("one", "csv", "parquet")
    }
    for kind, record in records.items():
        assert record.status == "succeeded", (kind, record.error)
    tables = {
        kind: {p.name: p.read_bytes() for p in sorted((Path(r.output) / "tables").glob("*.csv"))}
        for kind, r in records.items()
    }
    assert tables["one"]
    assert tables["csv"] == tables["one"]
    assert tables["parquet"] == tables["one"]
