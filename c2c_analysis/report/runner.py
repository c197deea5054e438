"""Run the report notebooks with Papermill, one partnership at a time or in a batch.

Each run writes ``<out_dir>/<partnership>/``: the executed notebook, a standalone
``report.html`` (images embedded, code hidden), the published tables (``tables/*.csv`` and
``.xlsx``), ``results.json``, ``provenance.json`` and ``status.json``. A run works in a
temporary folder beside the final one and replaces it only when complete, so a failed
re-run never destroys the last good report (the failure is recorded in
``last_failure.json`` beside it).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import datetime as _dt
import functools
import hashlib
import html
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from c2c_analysis._util import json_safe

__all__ = ["NOTEBOOKS", "RunRecord", "notebook_path", "run_batch", "run_report"]

#: The notebook templates shipped with the package.
NOTEBOOKS = (
    "partnership_report",
    "outcomes_overview",
    "equity_gaps",
    "contributing_indicators",
    "strategy_portfolio",
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DEPENDENCIES = (
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbclient",
)


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one report run (JSON-safe through :meth:`to_dict`)."""

    partnership: str
    notebook: str
    status: str  # "succeeded" or "failed"
    run_id: str
    output: str
    seconds: float
    error: str | None = None
    failed_cell: int | None = None
    skipped: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def notebook_path(name: str) -> Path:
    """The template ``name`` (a shipped template's name, or a path to a notebook)."""
    if name.endswith(".ipynb") or os.sep in name:
        path = Path(name)
    else:
        packaged = resources.files("c2c_analysis") / "_notebooks"
        folder = (
            Path(str(packaged))
            if packaged.is_dir()
            else Path(__file__).resolve().parents[2] / "notebooks"
        )
        path = folder / f"{name}.ipynb"
    if not path.exists():
        raise FileNotFoundError(f"no notebook template {name!r} (looked for {path.name})")
    return path


def _check_slug(partnership: str) -> None:
    if not isinstance(partnership, str) or not _SLUG.match(partnership):
        raise ValueError(
            f"partnership {partnership!r} is not a safe name: use lower-case letters, digits, "
            "'_' and '-' (it becomes a folder name)"
        )


def _declared_parameters(template: Path) -> set[str]:
    import papermill as pm

    return set(pm.inspect_notebook(str(template)))


def _sha256(path: str | os.PathLike[str]) -> str:
    stat = os.stat(path)
    return _sha256_cached(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of a file, computed once per version of it (a batch's reports share one)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _versions() -> dict[str, str]:
    out = {"c2c_analysis": metadata.version("c2c_analysis"), "python": platform.python_version()}
    for name in _DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _inputs(parameters: Mapping[str, Any], template: Path) -> dict[str, str]:
    files = {"notebook": str(template)}
    for key, value in parameters.items():
        if key.endswith("_path") and isinstance(value, str) and value and Path(value).is_file():
            files[key] = value
    return {name: _sha256(path) for name, path in files.items()}


_EXPORTERS = threading.local()


def _export_html(executed, target: Path, title: str) -> None:
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        from nbconvert import HTMLExporter

        # One exporter per thread: it compiles its templates once (0.05 s a report).
        exporter = _EXPORTERS.html = HTMLExporter(
            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True
        )
    executed = copy.deepcopy(executed)  # the saved notebook keeps its own metadata
    executed.metadata["title"] = title  # the page's <title>; the file name is the default
    body, _ = exporter.from_notebook_node(executed, resources={"metadata": {"name": title}})
    # Narrow screens and print: tables scroll instead of overflowing; figures scale down.
    style = (
        "<style>@media (max-width: 700px){body{margin:0 6px}} img{max-width:100%;height:auto}"
        " .jp-OutputArea-output{overflow-x:auto}"
        " @media print{.jp-OutputArea-output{overflow:visible}}</style>"
    )
    body = body.replace(
        "</head>",
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{style}</head>',
        1,
    )
    target.write_text(body, encoding="utf-8")


def run_report(
    partnership: str,
    *,
    data: str | os.PathLike[str] | None = None,
    portfolio: str | os.PathLike[str] | None = None,
    notebook: str = "partnership_report",
    out_dir: str | os.PathLike[str] = "reports",
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    min_n: int = 10,
    fingerprint: str | None = None,
    source: str | os.PathLike[str] | None = None,
    source_notes: Sequence[str] = (),
) -> RunRecord:
    """Run a report notebook for one partnership.

    Parameters
    ----------
    partnership : str
        The partnership's slug (``[a-z0-9_-]``, at most 64 characters): it names the folder.
    data, portfolio : path, optional
        Outcome table and portfolio files (default: the bundled samples).
    notebook : str
        A template name (see :data:`NOTEBOOKS`) or a path to a notebook.
    out_dir : path
        Parent folder of the partnership's report folder.
    parameters : mapping, optional
        Further notebook parameters (JSON-safe; paths and dates are turned into text).
    timeout : float
        Seconds allowed per cell.
    min_n : int
        Smallest count of students published.
    fingerprint : str, optional
        Digest of the inputs, stored in ``provenance.json`` (``run_batch`` uses it to skip
        unchanged reports).
    source, source_notes : optional
        Set by :func:`run_batch`, which reads a shared data file once and gives each report
        its own rows as ``data``: the file they were taken from (its SHA-256 goes into
        ``provenance.json``) and the notes from reading it (shown in the report's data
        notes).

    Returns
    -------
    RunRecord
        ``status`` is ``succeeded`` or ``failed`` (with ``error`` and ``failed_cell``); the
        function does not raise for a failing notebook, so a batch can go on.

    Raises
    ------
    ValueError
        For an unsafe partnership name (before anything is written).
    """
    _check_slug(partnership)
    template = notebook_path(notebook)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # The main report is <out_dir>/<partnership>; a focused notebook gets its own folder.
    final = _report_folder(out_dir, partnership, template.stem)
    run_id = uuid.uuid4().hex[:12]
    work = out_dir / f".{partnership}.{run_id}.tmp"
    work.mkdir()
    started = time.perf_counter()
    built_in = {
        "partnership": partnership,
        "data_path": os.fspath(data) if data else "",
        "portfolio_path": os.fspath(portfolio) if portfolio else "",
        "min_n": int(min_n),
        "output_dir": str(work),
        "source_path": os.fspath(source) if source else "",
        "source_notes": [str(note) for note in source_notes],
    }
    declared = _declared_parameters(template)
    # Built-in values go only to notebooks that declare them; the caller's always go through.
    values = {
        k: v for k, v in built_in.items() if k in declared or k in ("partnership", "output_dir")
    }
    values.update(json_safe(dict(parameters or {})))
    executed = work / f"{template.stem}.ipynb"
    error, failed_cell, notebook_node = _execute(template, executed, values, timeout)
    seconds = round(time.perf_counter() - started, 3)
    provenance = {
        "run_id": run_id,
        "partnership": partnership,
        "notebook": template.name,
        "utc_time": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "git_commit": _git_commit(),
        "inputs_sha256": _inputs({**values, "source_path": built_in["source_path"]}, template),
        "parameters": {k: v for k, v in values.items() if k != "output_dir"},
        "data_from": (
            f"data_path held this partnership's rows of source_path ({Path(source).name}), "
            "read and validated once for the batch; the file was removed after the run"
            if source
            else None
        ),
        "fingerprint": fingerprint,
    }
    status = {
        "status": "failed" if error else "succeeded",
        "run_id": run_id,
        "seconds": seconds,
        "error": error,
        "failed_cell": failed_cell,
    }
    if error is None:
        try:
            _export_html(notebook_node, work / "report.html", f"{partnership}: {template.stem}")
        except Exception as exc:  # nbconvert raises many types; the run must still be recorded
            error, status["status"], status["error"] = (
                f"HTML export failed: {exc}",
                "failed",
                f"HTML export failed: {exc}",
            )
    (work / "provenance.json").write_text(
        json.dumps(provenance, indent=2, sort_keys=True), encoding="utf-8"
    )
    (work / "status.json").write_text(
        json.dumps(status, indent=2, sort_keys=True), encoding="utf-8"
    )
    if error is None:
        _replace(work, final)
    elif final.exists():
        # Keep the last good report; say what went wrong beside it.
        (final / "last_failure.json").write_text(
            json.dumps({**status, "provenance": provenance}, indent=2), encoding="utf-8"
        )
        failed = out_dir / ".failed" / f"{partnership}.{run_id}"
        failed.parent.mkdir(exist_ok=True)
        os.replace(work, failed)
    else:
        _replace(work, final)
    return RunRecord(
        partnership=partnership,
        notebook=template.stem,
        status=status["status"],
        run_id=run_id,
        output=str(final),
        seconds=seconds,
        error=error,
        failed_cell=failed_cell,
    )


def _execute(
    template: Path, executed: Path, values: Mapping[str, Any], timeout: float
) -> tuple[str | None, int | None, Any]:
    """Run the notebook into ``executed``; return (error, failed cell index, None), or
    (None, None, the executed notebook). A kernel that fails to start is retried once;
    cell time-outs count as failures."""
    import papermill as pm

    with _inline_backend():
        return _execute_once_or_twice(pm, template, executed, values, timeout)


_BACKEND_LOCK = threading.Lock()
_BACKEND_USERS = 0
_BACKEND_PREVIOUS: str | None = None


@contextlib.contextmanager
def _inline_backend():
    """Kernels started meanwhile draw with the inline backend.

    A kernel inherits this process's environment; a non-interactive backend set for tests
    or servers (MPLBACKEND=Agg) would make every figure disappear from the report. Runs in
    a batch share this process, so the first run sets the variable and the last one
    restores it.
    """
    global _BACKEND_USERS, _BACKEND_PREVIOUS
    with _BACKEND_LOCK:
        if _BACKEND_USERS == 0:
            _BACKEND_PREVIOUS = os.environ.get("MPLBACKEND")
            os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        _BACKEND_USERS += 1
    try:
        yield
    finally:
        with _BACKEND_LOCK:
            _BACKEND_USERS -= 1
            if _BACKEND_USERS == 0:
                if _BACKEND_PREVIOUS is None:
                    os.environ.pop("MPLBACKEND", None)
                else:
                    os.environ["MPLBACKEND"] = _BACKEND_PREVIOUS


_ENGINE = "c2c_analysis"


def _register_engine(pm) -> None:
    """Register the runner's Papermill engine (once per process).

    Papermill's own engine writes the whole output notebook before and after every cell
    (44 writes for the partnership report, 0.17 s measured here); this one writes it when
    the run starts and ends, and while a long cell runs every ``autosave_cell_every``
    seconds, so a run that is stopped still leaves its progress behind. The cell that is
    running is recorded in memory: after a time-out it names the cell that timed out.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    if _ENGINE in papermill_engines._engines:
        return

    class Manager(NotebookExecutionManager):
        running: int | None = None
        _force = True

        def save(self, **kwargs):
            age = (self.now() - self.last_save_time).total_seconds()
            if self._force or age >= self.autosave_cell_every:
                super().save(**kwargs)
            self._force = False

        def cell_start(self, cell, cell_index=None, **kwargs):
            self.running = cell_index
            super().cell_start(cell, cell_index, **kwargs)

        def cell_exception(self, cell, cell_index=None, **kwargs):
            super().cell_exception(cell, cell_index, **kwargs)
            self._force = True  # the failed cell is saved when it completes

        def notebook_complete(self, **kwargs):
            self._force = True
            super().notebook_complete(**kwargs)

    class Engine(NBClientEngine):
        @classmethod
        def execute_notebook(
            cls,
            nb,
            kernel_name,
            output_path=None,
            progress_bar=True,
            log_output=False,
            autosave_cell_every=30,
            **kwargs,
        ):
            # As papermill's Engine.execute_notebook, with the manager above.
            manager = Manager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            _RUNNING.cell = None
            manager.notebook_start()
            try:
                cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
            finally:
                _RUNNING.cell = manager.running
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(_ENGINE, Engine)


# The cell each thread's last run was executing when it stopped (runs in a batch are threads).
_RUNNING = threading.local()


def _execute_once_or_twice(
    pm, template: Path, executed: Path, values: Mapping[str, Any], timeout: float
):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    _register_engine(pm)
    for attempt in (1, 2):
        try:
            notebook = pm.execute_notebook(
                str(template),
                str(executed),
                parameters=dict(values),
                engine_name=_ENGINE,
                kernel_name="python3",
                progress_bar=False,
                log_output=False,
                execution_timeout=timeout,
                start_timeout=60,
                # Every cell has finished and its outputs are saved when the kernel stops;
                # a graceful shutdown only waits for the kernel's own clean-up (0.8 s per
                # report measured here, 3.5 s once), which a report does not need.
                shutdown_kernel="immediate",
            )
            return None, None, notebook
        except PapermillExecutionError as exc:
            return f"{exc.ename}: {exc.evalue}", int(exc.cell_index), None
        except CellTimeoutError as exc:
            first_line = str(exc).splitlines()[0]
            return f"cell timed out after {timeout:g} s: {first_line}", _running_cell(), None
        except (DeadKernelError, RuntimeError, TimeoutError) as exc:
            if attempt == 2:
                return f"kernel failed: {type(exc).__name__}: {exc}", None, None
        except Exception as exc:  # papermill can raise anything its engines raise
            return f"{type(exc).__name__}: {exc}", _running_cell(), None
    return "kernel failed to start twice", None, None  # pragma: no cover


def _running_cell() -> int | None:
    """The cell that was running when this thread's last execution stopped.

    After a time-out papermill marks that cell "completed", so its saved status cannot be
    trusted; the engine remembers which cell it started last."""
    return getattr(_RUNNING, "cell", None)


def _replace(work: Path, final: Path) -> None:
    """Move a finished run into place; the previous report is removed only afterwards."""
    backup = final.with_name(f".{final.name}.old")
    if backup.exists():
        shutil.rmtree(backup)
    if final.exists():
        os.replace(final, backup)
    os.replace(work, final)
    if backup.exists():
        last_good_failure = backup / "last_failure.json"
        if last_good_failure.exists():
            last_good_failure.unlink()
        shutil.rmtree(backup)


def _fingerprint(
    partnership: str, notebook: str, data_digest: str, portfolio, parameters, min_n
) -> str:
    parts = {
        "partnership": partnership,
        "notebook": _sha256(notebook_path(notebook)),
        "min_n": min_n,
        "parameters": json_safe(dict(parameters or {})),
        "data": data_digest,
        "portfolio": _sha256(portfolio) if portfolio else "sample",
    }
    parts["version"] = metadata.version("c2c_analysis")
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _run_one(job: dict[str, Any]) -> RunRecord:
    """``run_report`` of one job, first writing the partnership's rows where the batch read
    the data for all (in the worker, so writing overlaps the other reports' runs)."""
    job = dict(job)
    rows = job.pop("rows", None)
    if rows is not None:
        rows.to_parquet(job["data"], index=False)
    return run_report(**job)


def _partnership_spans(table) -> tuple[dict[str, tuple[int, int]], Any]:
    """Where each partnership's rows start and stop in ``table`` (sorted by partnership),
    and a hash per row (pandas' vectorized row hash) to fingerprint each slice."""
    import numpy as np
    import pandas as pd

    codes, names = pd.factorize(table["partnership"])
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    stops = np.r_[starts[1:], len(table)]
    spans = {str(names[codes[a]]): (int(a), int(b)) for a, b in zip(starts, stops, strict=True)}
    return spans, pd.util.hash_pandas_object(table, index=False).to_numpy()


def run_batch(
    partnerships: Iterable[str] | None = None,
    *,
    data: str | os.PathLike[str] | None = None,
    portfolio: str | os.PathLike[str] | None = None,
    workers: int = 2,
    out_dir: str | os.PathLike[str] = "reports",
    notebook: str = "partnership_report",
    parameters: Mapping[str, Any] | None = None,
    timeout: float = 600,
    min_n: int = 10,
    skip_unchanged: bool = False,
    progress: bool = False,
) -> list[RunRecord]:
    """Run the report for many partnerships, ``workers`` at a time.

    Parameters
    ----------
    partnerships : iterable of str, optional
        Default: every partnership in ``data`` (the bundled sample when ``data`` is None).
    skip_unchanged : bool
        Skip a partnership whose last good report was made from the same inputs,
        parameters, notebook and package version.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    Others
        As in :func:`run_report`.

    Returns
    -------
    list of RunRecord
        In the order of ``partnerships``. ``<out_dir>/index.html`` links every report with
        its status. Unsafe names fail alone (status ``failed``); the others still run.
    """
    import warnings

    from c2c_analysis.datasets import sample_path
    from c2c_analysis.io.outcomes import read_outcomes
    from c2c_analysis.validation import C2CDataWarning, DataValidationError

    # The data are read and validated once, and each report gets its own rows: a state file
    # of a million rows is not re-read by every partnership's kernel, and a change to one
    # partnership's rows re-runs only that report under skip_unchanged. A file that cannot
    # be read goes to every report as it is, so each fails with the problems listed.
    source = Path(data) if data else sample_path("outcomes")
    table, notes = None, []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", C2CDataWarning)
            # Sorted by partnership (stably): each partnership's rows are one slice.
            table = read_outcomes(source).sort_values(
                "partnership", kind="stable", ignore_index=True
            )
        notes = [str(w.message) for w in caught if issubclass(w.category, C2CDataWarning)]
    except (DataValidationError, OSError, ValueError):
        if partnerships is None:
            raise
    if partnerships is None:
        partnerships = sorted(table["partnership"].unique())
    partnerships = list(partnerships)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = out_dir / f".inputs.{uuid.uuid4().hex[:12]}"
    stem = notebook_path(notebook).stem
    spans, row_hashes = _partnership_spans(table) if table is not None else ({}, None)
    jobs, records = [], {}
    for name in partnerships:
        try:
            _check_slug(name)
        except ValueError as exc:
            records[name] = RunRecord(
                partnership=str(name),
                notebook=notebook,
                status="failed",
                run_id="",
                output="",
                seconds=0.0,
                error=str(exc),
            )
            continue
        if name in spans:
            first, stop = spans[name]
            digest = hashlib.sha256(row_hashes[first:stop].tobytes()).hexdigest()
        else:  # no rows, or no readable table: the report reads the file and says why
            digest = _sha256(source)
        fingerprint = _fingerprint(name, notebook, digest, portfolio, parameters, min_n)
        folder = _report_folder(out_dir, name, stem)
        if skip_unchanged and _unchanged(folder, fingerprint):
            records[name] = RunRecord(
                partnership=name,
                notebook=notebook,
                status="succeeded",
                run_id="",
                output=str(folder),
                seconds=0.0,
                skipped=True,
            )
            continue
        job = {
            "partnership": name,
            "data": data,
            "portfolio": portfolio,
            "notebook": notebook,
            "out_dir": out_dir,
            "parameters": parameters,
            "timeout": timeout,
            "min_n": min_n,
            "fingerprint": fingerprint,
        }
        if name in spans:  # written by the worker that runs the report (_run_one)
            inputs.mkdir(exist_ok=True)
            first, stop = spans[name]
            job.update(
                data=str(inputs / f"{name}.parquet"),
                rows=table.iloc[first:stop],
                source=str(source),
                source_notes=notes,
            )
        jobs.append(job)
    try:
        _run_jobs(
            jobs, records, workers=workers, notebook=notebook, out_dir=out_dir, progress=progress
        )
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
    ordered = [records[name] for name in partnerships]
    _write_index(out_dir, ordered)
    return ordered


def _report_folder(out_dir: Path, partnership: str, stem: str) -> Path:
    """``<out_dir>/<partnership>`` for the main report, ``<partnership>__<notebook>`` else."""
    return out_dir / (partnership if stem == "partnership_report" else f"{partnership}__{stem}")


def _run_jobs(jobs, records, *, workers, notebook, out_dir, progress) -> None:
    """Run ``jobs`` (``run_report`` keyword arguments), ``workers`` at a time, into
    ``records``."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="reports", unit="report", file=sys.stderr)
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            records[job["partnership"]] = _run_one(job)
            if bar:
                bar.update()
    else:
        # Threads, not processes: each report's work runs in its own kernel process, and
        # this side only sends cells, saves the notebook and exports HTML. Worker processes
        # would each spend 1-2 s importing papermill and nbconvert, and a spawned process
        # re-runs an unguarded calling script (the `if __name__ == "__main__"` trap).
        with concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="c2c-report"
        ) as pool:
            futures = {pool.submit(_run_one, job): job["partnership"] for job in jobs}
            for future in concurrent.futures.as_completed(futures):
                name = futures[future]
                try:
                    records[name] = future.result()
                except Exception as exc:  # a run that raised: record it, keep going
                    records[name] = RunRecord(
                        partnership=name,
                        notebook=notebook,
                        status="failed",
                        run_id="",
                        output=str(out_dir / name),
                        seconds=0.0,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                if bar:
                    bar.update()
    if bar:
        bar.close()


def _unchanged(folder: Path, fingerprint: str) -> bool:
    try:
        status = json.loads((folder / "status.json").read_text())
        provenance = json.loads((folder / "provenance.json").read_text())
    except (OSError, ValueError):
        return False
    return status.get("status") == "succeeded" and provenance.get("fingerprint") == fingerprint


def _write_index(out_dir: Path, records: list[RunRecord]) -> None:
    rows = []
    for r in records:
        name = html.escape(r.partnership)
        link = f'<a href="{name}/report.html">{name}</a>' if r.status == "succeeded" else name
        detail = "unchanged, not re-run" if r.skipped else html.escape(r.error or "")
        rows.append(
            f"<tr><td>{link}</td><td class='{r.status}'>{r.status}</td>"
            f"<td>{r.seconds:.1f} s</td><td>{detail}</td></tr>"
        )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>c2c_analysis reports</title><style>body{font-family:sans-serif;margin:1em}"
        "td,th{padding:4px 8px;text-align:left}"
        ".failed{color:#c0392b}.succeeded{color:#1a7f37}</style></head>"
        "<body><h1>Partnership reports</h1>"
        "<table><tr><th>partnership</th><th>status</th><th>time</th><th>detail</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    tmp = out_dir / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out_dir / "index.html")
