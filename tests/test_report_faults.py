"""Runs that fail, machines that fail: incomplete runs are failures naming the cell, the last
good report survives kills, concurrent batches, symlinks, a full or read-only disk (issue 16)."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from c2c_analysis.report import OutputFolderBusy, OutputFolderError, folders, run_batch, run_report
from c2c_analysis.report.folders import HIDDEN

PARTNERSHIPS = ["harbor_city", "riverton", "tacoma"]


@pytest.fixture(autouse=True)
def _private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))


def _notebook(path: Path, cells: list[str], parameters: str = "") -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    first = nbformat.v4.new_code_cell(
        'partnership: str = "tacoma"  # slug\n'
        'data_path: str = ""  # rows (set by the batch)\n'
        'output_dir: str = ""  # set by the runner\n' + parameters
    )
    first.metadata["tags"] = ["parameters"]
    notebook.cells = [first, *map(nbformat.v4.new_code_cell, cells)]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def cheap(tmp_path) -> Path:
    """A report that publishes one table from its rows, in a second or two."""
    return _notebook(
        tmp_path / "cheap.ipynb",
        [
            "import pandas as pd\nfrom c2c_analysis.report import ReportWriter\n"
            "rows = pd.read_parquet(data_path) if data_path else pd.DataFrame()\n"
            "ReportWriter(output_dir).table('rows', pd.DataFrame({'rows': [len(rows)]}))\n"
            "len(rows)"
        ],
    )


# The faulty cell is cell 3 of the executed notebook: parameters, papermill's injected
# parameters, the table, then the fault.
FAULTS = {
    "exit": "import sys\nsys.exit()",
    "exit0": "raise SystemExit(0)",
    "die": "import os\nos._exit(1)",
    "hang": "import time\ntime.sleep(600)",
}


@pytest.fixture
def faulty(tmp_path) -> Path:
    fault = "\n".join(
        f"{'if' if i == 0 else 'elif'} mode == {name!r}:\n    " + code.replace("\n", "\n    ")
        for i, (name, code) in enumerate(FAULTS.items())
    )
    return _notebook(
        tmp_path / "faulty.ipynb",
        [
            "import pandas as pd\nfrom c2c_analysis.report import ReportWriter\n"
            "ReportWriter(output_dir).table('t', pd.DataFrame({'rows': [1]}))",
            f"open(counter, 'a').write('ran\\n')\n{fault}",
            "print('finished')",
        ],
        parameters='mode: str = "ok"  # which fault\ncounter: str = ""  # a file each run appends to\n',
    )


def _intact(folder: Path) -> bool:
    """A complete, succeeded report: every file provenance.json lists has its checksum."""
    status = json.loads((folder / "status.json").read_text())
    provenance = json.loads((folder / "provenance.json").read_text())
    if status["status"] != "succeeded" or provenance["run_id"] != status["run_id"]:
        return False
    for name, digest in provenance["published_sha256"].items():
        if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest:
            return False
    return bool(provenance["published_sha256"])


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if HIDDEN.match(p.name))


# --- runs that did not complete -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(FAULTS))
def test_an_incomplete_run_is_a_failure_naming_the_cell_and_the_good_report_stays(
    mode, faulty, tmp_path
):
    counter = tmp_path / "counter.txt"
    good = run_report(
        "tacoma",
        notebook=str(faulty),
        out_dir=tmp_path / "out",
        parameters={"counter": str(counter)},
    )
    assert good.status == "succeeded", good.error
    folder = Path(good.output)
    before = (folder / "report.html").read_bytes()
    bad = run_report(
        "tacoma",
        notebook=str(faulty),
        out_dir=tmp_path / "out",
        timeout=3,
        parameters={"mode": mode, "counter": str(counter)},
    )
    assert bad.status == "failed"
    assert bad.failed_cell == 3
    assert "cell 3" in bad.error
    expected = {
        "exit": "SystemExit",
        "exit0": "SystemExit",
        "die": "kernel died",
        "hang": "timed out",
    }[mode]
    assert expected in bad.error
    assert (folder / "report.html").read_bytes() == before
    assert json.loads((folder / "status.json").read_text())["run_id"] == good.run_id
    failure = json.loads((folder / "last_failure.json").read_text())
    assert failure["run_id"] == bad.run_id
    assert failure["failed_cell"] == 3
    # The faulty cell ran once in each run: a kernel that died is not started again.
    assert counter.read_text() == "ran\nran\n"
    assert _hidden(tmp_path / "out") == []


@pytest.mark.slow
def test_a_kernel_that_failed_to_start_is_started_again(faulty, tmp_path, monkeypatch):
    import papermill

    from c2c_analysis.report import runner

    calls = []
    real = papermill.execute_notebook

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            runner._RUNNING.cell = None  # no cell started
            raise RuntimeError("Kernel didn't respond in 60 seconds")
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    counter = tmp_path / "counter.txt"
    record = run_report(
        "tacoma",
        notebook=str(faulty),
        out_dir=tmp_path / "out",
        parameters={"counter": str(counter)},
    )
    assert record.status == "succeeded", record.error
    assert len(calls) == 2
    assert counter.read_text() == "ran\n"


def test_a_notebook_papermill_calls_complete_is_checked_cell_by_cell():
    from c2c_analysis.report.runner import MARKER_MIME, _check_complete, _marker_cell

    notebook = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell(s) for s in ("x = 1", "raise SystemExit(0)", "y = 2")]
    notebook.cells = [*cells, _marker_cell("abc")]
    cells[0].execution_count = 1
    cells[1].execution_count = 2
    cells[1].outputs = [nbformat.v4.new_output("error", ename="SystemExit", evalue="0")]
    error, cell = _check_complete(notebook, "abc")
    assert cell == 1
    assert "SystemExit" in error
    cells[1].outputs = []
    assert _check_complete(notebook, "abc")[1] == 2  # never ran
    cells[2].execution_count = 3
    notebook.cells[3].execution_count = 4
    assert _check_complete(notebook, "abc")[1] == 3  # the marker showed nothing
    notebook.cells[3].outputs = [
        nbformat.v4.new_output("display_data", data={MARKER_MIME: {"run_id": "abc"}})
    ]
    assert _check_complete(notebook, "abc") == (None, None)
    assert _check_complete(notebook, "another run")[1] == 3


# --- replacing a report folder ------------------------------------------------------------------


def _fake_report(folder: Path, run_id: str) -> Path:
    folder.mkdir()
    (folder / "report.html").write_text(run_id)
    (folder / "status.json").write_text(json.dumps({"status": "succeeded", "run_id": run_id}))
    return folder


def test_publishing_swaps_the_new_report_in_and_removes_the_old(tmp_path):
    final = _fake_report(tmp_path / "tacoma", "old")
    work = _fake_report(tmp_path / ".tacoma.0123456789ab.tmp", "new")
    folders.publish(work, final)
    assert (final / "report.html").read_text() == "new"
    assert _hidden(tmp_path) == []


def test_a_crash_between_the_fallback_renames_is_recovered_by_the_next_run(tmp_path, monkeypatch):
    # Where the file system cannot swap folders, the old report is moved aside first.
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    final = _fake_report(tmp_path / "tacoma", "old")
    work = _fake_report(tmp_path / ".tacoma.0123456789ab.tmp", "new")
    real_rename = os.rename
    calls = []

    def crash_on_second(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        folders.publish(work, final)
    monkeypatch.setattr(os, "rename", real_rename)
    assert not final.exists()
    assert _hidden(tmp_path) == [".tacoma.0123456789ab.old", ".tacoma.0123456789ab.tmp"]
    done = folders.recover(tmp_path)
    assert (final / "report.html").read_text() == "old"
    assert _hidden(tmp_path) == []
    assert any("restored" in line for line in done)


def test_leftovers_of_killed_runs_are_removed(tmp_path):
    _fake_report(tmp_path / "tacoma", "good")
    (tmp_path / ".tacoma.0123456789ab.tmp").mkdir()
    (tmp_path / ".riverton.0123456789ab.old").mkdir()  # no riverton: restored
    (tmp_path / ".inputs.0123456789ab").mkdir()  # an earlier version's unsuppressed rows
    (tmp_path / ".index.html.0123456789ab.part").write_text("half")
    (tmp_path / "tacoma" / ".last_failure.json.0123456789ab.part").write_text("half")
    folders.recover(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["riverton", "tacoma"]
    assert sorted(p.name for p in (tmp_path / "tacoma").iterdir()) == [
        "report.html",
        "status.json",
    ]


def test_private_inputs_of_a_killed_batch_are_removed_by_the_next(tmp_path):
    base = folders.private_root() / "inputs"
    base.mkdir(parents=True)
    stale = base / "0123456789ab"
    stale.mkdir()
    (stale / "tacoma.parquet").write_bytes(b"unsuppressed rows")
    (base / "0123456789ab.lock").write_text("")
    old = time.time() - 3600
    os.utime(base / "0123456789ab.lock", (old, old))
    with folders.private_inputs() as mine:
        assert not stale.exists()
        assert mine.parent == base
        assert oct(mine.stat().st_mode & 0o777) == "0o700"
    assert not mine.exists()


# --- symlinks -----------------------------------------------------------------------------------


def test_a_symlink_at_the_index_is_refused_before_anything_runs(tmp_path, cheap):
    target = tmp_path / "elsewhere.html"
    target.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").symlink_to(target)
    with pytest.raises(OutputFolderError, match="symbolic link"):
        run_batch(["tacoma"], out_dir=out, notebook=str(cheap))
    assert target.read_text() == "keep me"


def test_a_symlink_at_the_lock_is_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("keep me")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / folders.LOCK_NAME).symlink_to(target)
    with (
        pytest.raises(OutputFolderError, match="symbolic link"),
        folders.folder_lock(tmp_path / "out"),
    ):
        pass
    assert target.read_text() == "keep me"


def test_write_file_replaces_no_link_and_follows_none(tmp_path):
    target = tmp_path / "target"
    target.write_text("keep me")
    (tmp_path / "name").symlink_to(target)
    with pytest.raises(OutputFolderError, match="symbolic link"):
        folders.write_file(tmp_path / "name", "x")
    assert target.read_text() == "keep me"


@pytest.mark.slow
def test_a_symlinked_report_folder_fails_alone_and_leaves_nothing(tmp_path, cheap):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "tacoma__cheap").symlink_to(elsewhere, target_is_directory=True)
    records = run_batch(["riverton", "tacoma"], out_dir=out, notebook=str(cheap), workers=1)
    by_name = {r.partnership: r for r in records}
    assert by_name["riverton"].status == "succeeded"
    assert by_name["tacoma"].status == "failed"
    assert "symbolic link" in by_name["tacoma"].error
    assert list(elsewhere.iterdir()) == []
    assert _hidden(out) == []
    again = run_batch(["riverton", "tacoma"], out_dir=out, notebook=str(cheap), workers=1)
    assert [r.status for r in again] == ["succeeded", "failed"]  # no crash, same refusal


@pytest.mark.slow
def test_a_symlink_at_last_failure_is_not_written_through(tmp_path, faulty):
    out = tmp_path / "out"
    counter = str(tmp_path / "counter.txt")
    good = run_report("tacoma", notebook=str(faulty), out_dir=out, parameters={"counter": counter})
    target = tmp_path / "elsewhere.json"
    target.write_text("keep me")
    (Path(good.output) / "last_failure.json").symlink_to(target)
    bad = run_report(
        "tacoma",
        notebook=str(faulty),
        out_dir=out,
        parameters={"mode": "exit0", "counter": counter},
    )
    assert bad.status == "failed"
    assert "symbolic link" in bad.error
    assert target.read_text() == "keep me"
    assert _intact(Path(good.output))


# --- one lock per folder ------------------------------------------------------------------------


def test_a_second_batch_on_a_busy_folder_fails_clearly_after_its_wait(tmp_path, cheap):
    out = tmp_path / "out"
    out.mkdir()
    with folders.folder_lock(out):
        started = time.monotonic()
        with pytest.raises(OutputFolderBusy, match="in use by another c2c run"):
            run_batch(["tacoma"], out_dir=out, notebook=str(cheap), lock_timeout=0.3)
        assert time.monotonic() - started < 30
    assert not (out / "tacoma__cheap").exists()


@pytest.mark.slow
def test_a_second_batch_waits_for_the_first(tmp_path, cheap):
    out = tmp_path / "out"
    out.mkdir()
    released = threading.Event()

    def hold():
        with folders.folder_lock(out):
            time.sleep(1.0)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.2)
    records = run_batch(["tacoma"], out_dir=out, notebook=str(cheap))
    holder.join()
    assert released.is_set()
    assert records[0].status == "succeeded", records[0].error


def _batch_process(out: Path, notebook: Path, tmp_path: Path, names=PARTNERSHIPS):
    code = (
        "import sys\nfrom c2c_analysis.report import run_batch\n"
        f"records = run_batch({list(names)!r}, out_dir={str(out)!r}, "
        f"notebook={str(notebook)!r}, workers=2)\n"
        "sys.exit(0 if all(r.status == 'succeeded' for r in records) else 1)\n"
    )
    env = {**os.environ, "C2C_PRIVATE_DIR": str(tmp_path / "private")}
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.slow
def test_two_batches_on_one_folder_at_once_both_succeed_one_after_the_other(tmp_path, cheap):
    out = tmp_path / "out"
    first = _batch_process(out, cheap, tmp_path)
    second = _batch_process(out, cheap, tmp_path)
    for process in (first, second):
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()[-2000:]
    for name in PARTNERSHIPS:
        assert _intact(out / f"{name}__cheap")
    assert _hidden(out) == []
    index = (out / "index.html").read_text()
    assert all(f'href="{name}__cheap/report.html"' in index for name in PARTNERSHIPS)


@pytest.mark.slow
def test_a_batch_killed_at_random_points_never_loses_a_good_report(tmp_path, cheap):
    rng = np.random.default_rng(20261202)
    out = tmp_path / "out"
    assert all(
        r.status == "succeeded" for r in run_batch(PARTNERSHIPS, out_dir=out, notebook=str(cheap))
    )
    for delay in rng.uniform(0.3, 6.0, size=4):
        process = _batch_process(out, cheap, tmp_path)
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        for name in PARTNERSHIPS:  # the old report or a complete new one, never less
            assert _intact(out / f"{name}__cheap"), (delay, name)
    records = run_batch(PARTNERSHIPS, out_dir=out, notebook=str(cheap))
    assert all(r.status == "succeeded" for r in records), [r.error for r in records]
    assert _hidden(out) == []
    inputs = folders.private_root() / "inputs"
    assert [p for p in inputs.iterdir() if p.is_dir()] == []  # no unsuppressed rows left


# --- a full or read-only disk -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs the test mounts (skipped where mounting is not allowed)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(folder: Path) -> None:
    full = None
    with open(folder / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * (1 << 16))
        except OSError as error:
            full = error
    assert full is not None
    assert full.errno == errno.ENOSPC


@pytest.mark.slow
def test_a_full_disk_fails_each_report_clearly_and_keeps_the_good_ones(small_disk, cheap):
    from c2c_analysis.report import ReportFolderWarning

    out = small_disk / "out"
    names = PARTNERSHIPS[:2]
    assert all(r.status == "succeeded" for r in run_batch(names, out_dir=out, notebook=str(cheap)))
    _fill(small_disk)
    with pytest.warns(ReportFolderWarning, match="no space left"):
        records = run_batch(names, out_dir=out, notebook=str(cheap))
    for record in records:
        assert record.status == "failed"
        assert "no space left on the device" in record.error
        assert "\n" not in record.error
        assert _intact(Path(record.output))
    assert _hidden(out) == []  # no temporary folder keeps the disk full
    (small_disk / "filler").unlink()
    records = run_batch(names, out_dir=out, notebook=str(cheap))
    assert all(r.status == "succeeded" for r in records)


@pytest.mark.slow
def test_a_read_only_folder_is_a_usage_error_on_one_line(small_disk, cheap):
    out = small_disk / "out"
    out.mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    result = _cli(
        ["batch", "--out", str(out), "--notebook", str(cheap), "--partnerships", "tacoma"],
        small_disk.parent,  # the private folder stays outside the read-only disk
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "read-only" in result.stderr
    assert "Traceback" not in result.stderr


# --- the command --------------------------------------------------------------------------------


def _cli(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "C2C_PRIVATE_DIR": str(tmp_path / "private")}
    return subprocess.run(
        [sys.executable, "-m", "c2c_analysis.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "--out", "FILE"],
        ["report", "tacoma", "--out", "FILE"],
        ["batch", "--workers", "0"],
        ["batch", "--timeout", "-1"],
        ["report", "tacoma", "--min-n", "zero"],
        ["batch", "--data", "missing.csv"],
        ["report", "tacoma", "--notebook", "no_such_template"],
    ],
)
def test_unusable_arguments_are_usage_errors_on_one_line(args, tmp_path):
    (tmp_path / "FILE").write_text("not a folder")
    args = [str(tmp_path / a) if a in ("FILE", "missing.csv") else a for a in args]
    result = _cli(args, tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_help_documents_the_exit_codes(tmp_path):
    result = _cli(["--help"], tmp_path)
    assert "exit codes:" in result.stdout
    for code in ("0  success", "1  invalid data, or a report failed", "2  a usage error"):
        assert code in result.stdout


def test_a_busy_folder_is_one_line_and_exit_code_one(tmp_path, cheap):
    out = tmp_path / "out"
    out.mkdir()
    with folders.folder_lock(out):
        result = _cli(
            [
                "batch",
                "--out",
                str(out),
                "--notebook",
                str(cheap),
                "--wait",
                "0.2",
                "--partnerships",
                "tacoma",
            ],
            tmp_path,
        )
    assert result.returncode == 1
    assert "in use by another c2c run" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_skip_unchanged_says_skipped_and_the_index_lists_every_report(tmp_path, cheap):
    out = tmp_path / "out"
    base = ["batch", "--out", str(out), "--notebook", str(cheap)]
    assert _cli([*base, "--partnerships", "riverton", "tacoma"], tmp_path).returncode == 0
    result = _cli([*base, "--partnerships", "tacoma", "--skip-unchanged"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "tacoma: skipped" in result.stdout
    assert "succeeded in 0.0 s" not in result.stdout
    index = (out / "index.html").read_text()
    assert 'href="riverton__cheap/report.html"' in index  # not only this batch's report
    assert "unchanged, not re-run" in index
