"""c2c_analysis.report.prepared: the runner suppresses a partnership's rows while its kernel
starts, and load_partnership takes that result only when it is exactly its own."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from c2c_analysis import load_sample
from c2c_analysis.report import load_partnership, prepared, run_batch, run_report

SETTINGS = {"min_n": 10, "min_cell": 5, "top_bottom": True}


@pytest.fixture(autouse=True)
def _private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))
    monkeypatch.delenv(prepared.ENVIRONMENT, raising=False)


@pytest.fixture
def rows_file(tmp_path):
    path = tmp_path / "inputs" / "tacoma.parquet"
    path.parent.mkdir()
    sample = load_sample("outcomes")
    sample[sample["partnership"] == "tacoma"].to_parquet(path, index=False)
    return path


def _prepare(rows_file, **settings):
    made = prepared.start_preparation("tacoma", rows_file, rows_file.parent, **settings)
    made.join()
    return made


def test_a_prepared_result_equals_the_kernels_own(rows_file, monkeypatch):
    own_rows, own = load_partnership("tacoma", data_path=str(rows_file), **SETTINGS)
    made = _prepare(rows_file, **SETTINGS)
    assert made.path.is_file()
    assert not made.path.with_name(made.path.name + ".pending").exists()
    monkeypatch.setenv(prepared.ENVIRONMENT, made.environment[prepared.ENVIRONMENT])
    calls = []
    monkeypatch.setattr(prepared, "protect_rows", lambda *a, **k: calls.append(1))
    rows, result = load_partnership("tacoma", data_path=str(rows_file), **SETTINGS)
    assert calls == []  # taken from the file, not computed again
    pd.testing.assert_frame_equal(rows, own_rows)
    pd.testing.assert_frame_equal(result.table, own.table)
    pd.testing.assert_frame_equal(result.record, own.record)
    assert result.notes == own.notes
    assert result.settings == own.settings


@pytest.mark.parametrize(
    "change",
    ["nothing", "settings", "data", "signature", "key", "bad key", "partnership"],
)
def test_a_prepared_result_is_used_only_for_exactly_its_inputs(rows_file, monkeypatch, change):
    made = _prepare(rows_file, **SETTINGS)
    told = json.loads(made.environment[prepared.ENVIRONMENT])
    settings = dict(SETTINGS)
    partnership = "tacoma"
    if change == "settings":
        settings["min_n"] = 11
    elif change == "data":  # the same rows, one count changed after the preparation
        table = pd.read_parquet(rows_file)
        table.loc[0, "denominator"] += 1
        table.to_parquet(rows_file, index=False)
    elif change == "signature":
        blob = bytearray(made.path.read_bytes())
        blob[-1] ^= 1
        made.path.write_bytes(bytes(blob))
    elif change == "key":
        told["key"] = "00" * 32
    elif change == "bad key":
        told["key"] = "not hex"
    elif change == "partnership":
        partnership = "riverton"
    monkeypatch.setenv(prepared.ENVIRONMENT, json.dumps(told))
    found = prepared.load_prepared(partnership, rows_file, **settings)
    if change == "nothing":  # the control: exactly its inputs, so it is taken
        assert found is not None
        assert found[3].table["suppressed"].any()
    else:
        assert found is None


def test_a_failed_preparation_leaves_the_kernel_to_compute(rows_file, monkeypatch):
    monkeypatch.setattr(prepared, "protect_rows", lambda *a, **k: 1 / 0)
    made = _prepare(rows_file, **SETTINGS)
    assert not made.path.exists()
    assert not made.path.with_name(made.path.name + ".pending").exists()  # no wait either
    monkeypatch.undo()
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(rows_file.parent.parent / "private"))
    monkeypatch.setenv(prepared.ENVIRONMENT, made.environment[prepared.ENVIRONMENT])
    rows, result = load_partnership("tacoma", data_path=str(rows_file), **SETTINGS)
    assert len(rows)
    assert result.table["suppressed"].any()


def test_a_report_run_takes_the_runners_preparation(tmp_path, monkeypatch):
    """The runner's thread prepares (in this process); the kernel shows what it prepared."""
    import dataclasses

    seen = []
    original_start, original_protect = prepared.start_preparation, prepared.protect_rows

    def spy(*args, **kwargs):
        made = original_start(*args, **kwargs)
        seen.append(made)
        return made

    def marked(*args, **kwargs):  # a note only this process's preparation writes
        result = original_protect(*args, **kwargs)
        return dataclasses.replace(result, notes=(*result.notes, "Prepared by the runner."))

    monkeypatch.setattr(prepared, "start_preparation", spy)
    monkeypatch.setattr(prepared, "protect_rows", marked)
    record = run_report("tacoma", out_dir=tmp_path / "reports")
    assert record.status == "succeeded", record.error
    assert len(seen) == 1
    assert not seen[0].path.parent.exists()  # the private folder went with the run
    page = (tmp_path / "reports" / "tacoma" / "report.html").read_text(encoding="utf-8")
    assert "Prepared by the runner." in page
    batch = run_batch(["riverton"], out_dir=tmp_path / "batch", workers=1)
    assert batch[0].status == "succeeded", batch[0].error
    assert len(seen) == 1  # a batch's kernels suppress their own rows
