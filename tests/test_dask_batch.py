"""Batches on Dask (issue 18 items 2 and 5): one task per partnership, keys named after it,
paths in (never DataFrames), records back; the same reports as the threads of a batch
without a client, on a LocalCluster of two workers with one thread each."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from c2c_analysis.report import run_batch, runner  # noqa: E402

PARTNERSHIPS = ["harbor_city", "riverton", "tacoma"]


@pytest.fixture(autouse=True)
def _private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes, one thread each, as CI runs them."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def _notebook(path: Path, code: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    first = nbformat.v4.new_code_cell(
        'partnership: str = "tacoma"  # slug\n'
        'data_path: str = ""  # rows (set by the runner)\n'
        'output_dir: str = ""  # set by the runner\n'
        'mode: str = ""  # how to fail\n'
    )
    first.metadata["tags"] = ["parameters"]
    notebook.cells = [first, nbformat.v4.new_code_cell(code)]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def cheap(tmp_path) -> Path:
    """Publishes the All students rows of its partnership, and fails when asked."""
    return _notebook(
        tmp_path / "cheap.ipynb",
        "import pandas as pd\nfrom c2c_analysis.report import ReportWriter\n"
        "rows = pd.read_parquet(data_path)\n"
        "if mode == partnership:\n    raise ValueError('asked to fail')\n"
        "table = rows[rows['dimension'] == 'all'][['partnership', 'outcome', 'year', 'rate']]\n"
        "ReportWriter(output_dir).table('overall', table.round(6))\n"
        "ReportWriter(output_dir).record('rows', len(rows))",
    )


def _published(out: Path) -> dict[str, dict[str, object]]:
    """Every report folder's tables, results and status (without times and run ids)."""
    found = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        status = json.loads((folder / "status.json").read_text())
        found[folder.name] = {
            "status": status["status"],
            "error": status["error"],
            # Workbooks are zip files stamped with their time: compared by their cells.
            "tables": {
                p.name: pd.read_excel(p).to_dict("list") if p.suffix == ".xlsx" else p.read_bytes()
                for p in sorted((folder / "tables").glob("*"))
            },
            "results": (folder / "results.json").read_text()
            if (folder / "results.json").is_file()
            else None,
        }
    return found


def test_a_dask_batch_publishes_what_the_threads_publish(cluster, cheap, tmp_path):
    threads = run_batch(PARTNERSHIPS, out_dir=tmp_path / "threads", notebook=str(cheap))
    dask = run_batch(PARTNERSHIPS, out_dir=tmp_path / "dask", notebook=str(cheap), client=cluster)
    assert [r.partnership for r in dask] == PARTNERSHIPS  # in the order asked, not completed
    assert [r.status for r in dask] == [r.status for r in threads] == ["succeeded"] * 3
    assert _published(tmp_path / "dask") == _published(tmp_path / "threads")
    index = (tmp_path / "dask" / "index.html").read_text()
    assert all(f'href="{name}__cheap/report.html"' in index for name in PARTNERSHIPS)
    # Atomic folders on Dask too: no hidden run folder left, no unsuppressed rows inside.
    assert not [
        p for p in (tmp_path / "dask").iterdir() if p.name.startswith(".") and p.name != ".c2c.lock"
    ]
    assert not list((tmp_path / "dask").rglob("*.parquet"))


def test_a_failing_report_fails_alone_and_is_not_retried(cluster, cheap, tmp_path):
    records = run_batch(
        PARTNERSHIPS,
        out_dir=tmp_path / "out",
        notebook=str(cheap),
        parameters={"mode": "riverton"},
        client=cluster,
    )
    by_name = {r.partnership: r for r in records}
    assert by_name["riverton"].status == "failed"
    assert "asked to fail" in by_name["riverton"].error
    assert by_name["tacoma"].status == by_name["harbor_city"].status == "succeeded"


def test_tasks_are_named_after_their_partnership_and_get_paths_not_frames(cluster, cheap, tmp_path):
    submitted = []

    class Spy:
        """The client, recording what each task is given."""

        def submit(self, function, *args, **kwargs):
            submitted.append((args, kwargs))
            return cluster.submit(function, *args, **kwargs)

        def cancel(self, futures):
            return cluster.cancel(futures)

    with distributed.get_task_stream(cluster) as stream:
        records = run_batch(
            PARTNERSHIPS, out_dir=tmp_path / "out", notebook=str(cheap), client=Spy()
        )
    assert all(r.status == "succeeded" for r in records), [r.error for r in records]
    keys = [kwargs["key"] for _, kwargs in submitted]
    assert [k.rsplit("-", 1)[0] for k in keys] == [f"c2c-report-{p}" for p in PARTNERSHIPS]
    assert {kwargs["retries"] for _, kwargs in submitted} == {runner.DASK_RETRIES}
    for args, _ in submitted:
        job = args[0]
        assert "rows" not in job
        assert not any(isinstance(v, pd.DataFrame) for v in job.values())
        assert job["data"].endswith(f"{job['partnership']}.parquet")
    ran = {str(task["key"]) for task in stream.data}
    assert set(keys) <= ran


def test_only_a_kernel_that_failed_to_start_is_retried(tmp_path, cheap, monkeypatch):
    # Workers in this process (threads), so the patched runner is the one the tasks use.
    calls = {}
    execute = runner._execute

    def flaky(template, executed, values, timeout, run_id="", kernel_env=None):
        name = values["partnership"]
        calls[name] = calls.get(name, 0) + 1
        if name == "tacoma" and calls[name] == 1:
            return f"{runner._NOT_STARTED} twice: RuntimeError: no kernel", None, None
        return execute(template, executed, values, timeout, run_id, kernel_env)

    monkeypatch.setattr(runner, "_execute", flaky)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        records = run_batch(
            PARTNERSHIPS,
            out_dir=tmp_path / "out",
            notebook=str(cheap),
            parameters={"mode": "riverton"},
            client=client,
        )
    by_name = {r.partnership: r for r in records}
    assert by_name["tacoma"].status == "succeeded", by_name["tacoma"].error
    assert calls == {"harbor_city": 1, "riverton": 1, "tacoma": 2}
    assert by_name["riverton"].status == "failed"  # failed in a cell: never run twice


def test_a_dask_batch_holds_the_folders_lock(cluster, cheap, tmp_path):
    import threading

    from c2c_analysis.report import OutputFolderBusy
    from c2c_analysis.report.folders import LOCK_NAME

    out = tmp_path / "out"
    done = {}
    thread = threading.Thread(
        target=lambda: done.update(
            records=run_batch(PARTNERSHIPS, out_dir=out, notebook=str(cheap), client=cluster)
        )
    )
    thread.start()
    try:
        for _ in range(200):  # until the Dask batch holds the lock
            if (out / LOCK_NAME).is_file() and (out / LOCK_NAME).read_text():
                break
            threading.Event().wait(0.05)
        with pytest.raises(OutputFolderBusy, match="in use by another c2c run"):
            run_batch(["tacoma"], out_dir=out, notebook=str(cheap), lock_timeout=0.3)
    finally:
        thread.join(timeout=600)
    assert [r.status for r in done["records"]] == ["succeeded"] * 3
