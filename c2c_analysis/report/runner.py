"""Run the report notebooks with Papermill, one partnership at a time or in a batch.

Each run writes ``<out_dir>/<partnership>/``: the executed notebook, a standalone
``report.html`` (images embedded, code hidden, no script), the published tables
(``tables/*.csv`` and ``.xlsx``, formula-safe), ``results.json``, ``provenance.json`` and
``status.json``.

A run succeeds only when it completed: every code cell ran without an error and a final
marker cell, which the runner appends, ran last. ``sys.exit()``, ``SystemExit``, a kernel
that died and a cell that timed out are failures that name the cell. A run works in a
hidden folder beside the final one and replaces it in one atomic step only when complete
(:mod:`c2c_analysis.report.folders`), so a failed re-run never touches the last good
report: the failure is recorded in ``last_failure.json`` beside it. A report that never
succeeded is published as a folder holding only its ``status.json``; the failed run's
notebook is kept in the private folder (a traceback may quote the data).

``provenance.json`` carries the SHA-256 of the files published beside it; the SHA-256 of
the inputs (which could confirm a guess at a withheld cell) go to a private record outside
the output folder, and the fingerprint ``skip_unchanged`` compares is keyed with a local
secret.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import copy
import datetime as _dt
import functools
import hashlib
import hmac
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from c2c_analysis._util import json_safe
from c2c_analysis.report import folders
from c2c_analysis.report.escape import csp_meta, escape_html
from c2c_analysis.report.folders import OutputFolderBusy, OutputFolderError

__all__ = [
    "NOTEBOOKS",
    "OutputFolderBusy",
    "OutputFolderError",
    "ReportFolderWarning",
    "RunRecord",
    "notebook_path",
    "run_batch",
    "run_report",
]

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
#: The MIME type of the marker cell's output: a run is complete when it shows this run's id.
MARKER_MIME = "application/vnd.c2c-analysis.run-complete+json"


class ReportFolderWarning(RuntimeWarning):
    """Reports were run but something beside them (``index.html``) could not be written."""


@dataclass(frozen=True)
class RunRecord:
    """The outcome of one report run (JSON-safe through :meth:`to_dict`).

    ``status`` is ``succeeded`` or ``failed``; a report that ``skip_unchanged`` did not
    re-run is ``succeeded`` with ``skipped`` true. ``failed_run`` is where the failed run's
    executed notebook was kept (in the private folder), when it could be.
    """

    partnership: str
    notebook: str
    status: str  # "succeeded" or "failed"
    run_id: str
    output: str
    seconds: float
    error: str | None = None
    failed_cell: int | None = None
    skipped: bool = False
    failed_run: str | None = None

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
    if not path.is_file():
        raise FileNotFoundError(f"no notebook template {name!r} (looked for {path.name})")
    return path


def _check_slug(partnership: str) -> None:
    if not isinstance(partnership, str) or not _SLUG.match(partnership):
        raise ValueError(
            f"partnership {partnership!r} is not a safe name: use lower-case letters, digits, "
            "'_' and '-' (it becomes a folder name)"
        )


def _check_settings(*, timeout: float, min_n: int, workers: int = 1) -> None:
    """Refuse unusable settings before anything runs (``c2c`` exits with 2)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"min_n must be a whole number of at least 1, not {min_n!r}")


def _check_input(path: str | os.PathLike[str] | None, what: str) -> None:
    if path and not Path(path).is_file():
        raise FileNotFoundError(f"no such file: {os.fspath(path)} (the {what})")


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


@functools.lru_cache(maxsize=1)
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
    """The input files of a run: template and every ``*_path`` parameter naming a file."""
    files = {"notebook": str(template)}
    for key, value in parameters.items():
        if key.endswith("_path") and isinstance(value, str) and value and Path(value).is_file():
            files[key] = value
    return files


def _published_sha256(folder: Path) -> dict[str, str]:
    """SHA-256 of every file published in ``folder`` (relative names, ``/``-separated)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            name = path.relative_to(folder).as_posix()
            if name not in ("provenance.json", "status.json"):
                out[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


# --- the HTML report --------------------------------------------------------------------------

# nbconvert's lab template without any script: no require.js, MathJax or mermaid from a CDN,
# no widget state, no JavaScript outputs. The page's policy forbids scripts anyway.
_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_javascript -%}{%- endblock data_javascript -%}
{%- block data_widget_view -%}{%- endblock data_widget_view -%}
"""
_SCRIPT = re.compile(r"<script\b", re.IGNORECASE)
_EXPORTERS = threading.local()


def _exporter():
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter

        # One exporter per thread: it compiles its templates once (0.05 s a report).
        exporter = _EXPORTERS.html = HTMLExporter(
            template_name="lab",
            extra_loaders=[DictLoader({"c2c_report.html.j2": _TEMPLATE})],
            template_file="c2c_report.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
    return exporter


def _export_html(executed, target: Path, title: str) -> None:
    executed = copy.deepcopy(executed)  # the saved notebook keeps its own metadata and cells
    executed.cells = [c for c in executed.cells if not _is_marker(c)]
    executed.metadata.pop("widgets", None)
    executed.metadata["title"] = title  # the page's <title>; the file name is the default
    body, _ = _exporter().from_notebook_node(executed, resources={"metadata": {"name": title}})
    # Narrow screens and print: tables scroll instead of overflowing; figures scale down.
    style = (
        "<style>@media (max-width: 700px){body{margin:0 6px}} img{max-width:100%;height:auto}"
        " .jp-OutputArea-output{overflow-x:auto}"
        " @media print{.jp-OutputArea-output{overflow:visible}}</style>"
    )
    # The policy comes first in <head>: it governs everything after it.
    body = body.replace("<head>", f"<head>\n{csp_meta()}", 1)
    body = body.replace(
        "</head>",
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{style}</head>',
        1,
    )
    found = _SCRIPT.search(body)
    if found:  # a guard: escaping should make this impossible
        raise ValueError(f"the HTML report would contain script ({found.group().strip()!r})")
    folders.write_file(target, body)


# --- one run ----------------------------------------------------------------------------------


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
    lock_timeout: float | None = None,
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
        Parent folder of the partnership's report folder (created if missing).
    parameters : mapping, optional
        Further notebook parameters (JSON-safe; paths and dates are turned into text).
    timeout : float
        Seconds allowed per cell.
    min_n : int
        Smallest count of students published.
    fingerprint : str, optional
        Digest of the inputs; ``provenance.json`` stores it keyed with this machine's
        secret (``run_batch`` compares it to skip unchanged reports).
    source, source_notes : optional
        Set by :func:`run_batch`, which reads a shared data file once and gives each report
        its own rows as ``data``: the file they were taken from (its SHA-256 goes into the
        private record) and the notes from reading it (shown in the report's data notes).
    lock_timeout : float, optional
        Seconds to wait while another run holds ``out_dir`` (default: until it ends).

    Returns
    -------
    RunRecord
        ``status`` is ``succeeded`` or ``failed`` (with ``error`` and ``failed_cell``); the
        function does not raise for a failing notebook or a full disk, so a batch can go on.

    Raises
    ------
    ValueError
        For an unsafe partnership name or unusable settings (before anything is written);
        :class:`OutputFolderError` (a ``ValueError``) for an output folder that is a file,
        cannot be written or holds a symbolic link where the run must write.
    FileNotFoundError
        For a notebook, data or portfolio file that does not exist.
    OutputFolderBusy
        When another run held ``out_dir`` for longer than ``lock_timeout``.
    """
    _check_slug(partnership)
    _check_settings(timeout=timeout, min_n=min_n)
    notebook_path(notebook)  # a missing template is an error before anything is written
    _check_input(data, "data")
    _check_input(portfolio, "portfolio")
    out = folders.check_output_folder(out_dir)
    folders.check_private_outside(out)
    with folders.folder_lock(out, timeout=lock_timeout):
        folders.recover(out)
        return _run_locked(
            partnership,
            data=data,
            portfolio=portfolio,
            notebook=notebook,
            out_dir=out,
            parameters=parameters,
            timeout=timeout,
            min_n=min_n,
            fingerprint=fingerprint,
            source=source,
            source_notes=source_notes,
        )


def _report_folder(out_dir: Path, partnership: str, stem: str) -> Path:
    """``<out_dir>/<partnership>`` for the main report, ``<partnership>__<notebook>`` else
    (the notebook's name made a safe folder name)."""
    if stem == "partnership_report":
        return out_dir / partnership
    safe = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")[:64] or "notebook"
    return out_dir / f"{partnership}__{safe}"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _keyed(fingerprint: str | None) -> str | None:
    """The published form of a fingerprint: keyed with this machine's secret, so it
    cannot confirm a guess at the inputs."""
    if fingerprint is None:
        return None
    return hmac.new(folders.local_secret(), fingerprint.encode(), hashlib.sha256).hexdigest()


def _good(folder: Path) -> bool:
    """Whether ``folder`` holds a succeeded report."""
    try:
        status = json.loads((folder / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(status, dict) and status.get("status") == "succeeded"


def _run_locked(
    partnership: str,
    *,
    data=None,
    portfolio=None,
    notebook: str = "partnership_report",
    out_dir,
    parameters=None,
    timeout: float = 600,
    min_n: int = 10,
    fingerprint: str | None = None,
    source=None,
    source_notes: Sequence[str] = (),
) -> RunRecord:
    """One run, its caller holding ``out_dir``'s lock (a batch holds it for all its runs)."""
    template = notebook_path(notebook)
    out_dir = Path(out_dir)
    final = _report_folder(out_dir, partnership, template.stem)
    run_id = uuid.uuid4().hex[:12]
    started = time.perf_counter()
    record = functools.partial(
        RunRecord, partnership=partnership, notebook=template.stem, run_id=run_id
    )
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        kind = "a symbolic link" if final.is_symlink() else "a file"
        return record(
            status="failed",
            output=str(final),
            seconds=0.0,
            error=f"{final} is {kind}, not a report folder; c2c does not write through it "
            "(remove it to let the report be written)",
        )
    work = out_dir / f".{final.name}.{run_id}.tmp"
    try:
        work.mkdir()
    except OSError as exc:
        return record(
            status="failed",
            output=str(final),
            seconds=0.0,
            error=folders.describe_os_error(exc, "creating the run's folder"),
        )
    try:
        return _run_in(
            work,
            final,
            record,
            run_id=run_id,
            started=started,
            template=template,
            partnership=partnership,
            data=data,
            portfolio=portfolio,
            parameters=parameters,
            timeout=timeout,
            min_n=min_n,
            fingerprint=fingerprint,
            source=source,
            source_notes=source_notes,
        )
    finally:
        if os.path.lexists(work):  # a failed run, or the old report swapped out
            folders.remove_tree(work)


def _run_in(
    work: Path,
    final: Path,
    record,
    *,
    run_id: str,
    started: float,
    template: Path,
    partnership: str,
    data,
    portfolio,
    parameters,
    timeout: float,
    min_n: int,
    fingerprint: str | None,
    source,
    source_notes: Sequence[str],
) -> RunRecord:
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
    try:
        error, failed_cell, notebook_node = _execute(template, executed, values, timeout, run_id)
    except OSError as exc:  # the notebook could not be saved: a full disk, a read-only folder
        error = folders.describe_os_error(exc, "saving the executed notebook")
        failed_cell, notebook_node = _running_cell(), None
    seconds = round(time.perf_counter() - started, 3)
    inputs = _inputs({**values, "source_path": built_in["source_path"]}, template)
    provenance = {
        "run_id": run_id,
        "partnership": partnership,
        "notebook": template.name,
        "utc_time": _now(),
        "versions": _versions(),
        "git_commit": _git_commit(),
        # File names only: the inputs' checksums are kept privately (they could confirm a
        # guess at a withheld cell).
        "inputs": {key: Path(path).name for key, path in inputs.items()},
        "parameters": {
            k: (Path(v).name if k.endswith("_path") and isinstance(v, str) and v else v)
            for k, v in values.items()
            if k != "output_dir"
        },
        "data_from": (
            f"data_path held this partnership's rows of source_path ({Path(source).name}), "
            "read and validated once for the batch in a private folder outside the reports, "
            "removed after the run"
            if source
            else None
        ),
        "fingerprint": _keyed(fingerprint),
    }
    status = {
        "status": "failed" if error else "succeeded",
        "partnership": partnership,
        "notebook": template.stem,
        "run_id": run_id,
        "utc_time": provenance["utc_time"],
        "seconds": seconds,
        "error": error,
        "failed_cell": failed_cell,
    }
    private = {
        "run_id": run_id,
        "report": final.name,
        "output_dir": str(final.parent.resolve()),
        "status": status,
        "inputs_sha256": {},
        "fingerprint": fingerprint,
    }
    failed_run = None
    try:
        private["inputs_sha256"] = {key: _sha256(path) for key, path in inputs.items()}
        if error is None:
            try:
                _export_html(notebook_node, work / "report.html", f"{partnership}: {template.stem}")
            except OSError:
                raise
            except Exception as exc:  # nbconvert raises many types; the run is still recorded
                error = f"HTML export failed: {type(exc).__name__}: {exc}"
                status.update(status="failed", error=error)
        if error is None:
            provenance["published_sha256"] = _published_sha256(work)
            folders.write_file(
                work / "provenance.json", json.dumps(provenance, indent=2, sort_keys=True)
            )
            folders.write_file(work / "status.json", json.dumps(status, indent=2, sort_keys=True))
            folders.publish(work, final)
        else:
            failed_run = _keep_failed_run(executed, final)
            _record_failure(work, final, status, provenance)
    except (OSError, OutputFolderError) as exc:
        doing = "writing the report" if error is None else "recording the failure"
        message = folders.describe_os_error(exc, doing) if isinstance(exc, OSError) else str(exc)
        error = message if error is None else f"{error}; then {message}"
        status.update(status="failed", error=error)
        folders.remove_tree(work)  # free the space before trying to say what happened
        with contextlib.suppress(OSError, OutputFolderError):
            if final.is_dir() and not final.is_symlink():
                folders.write_file(
                    final / "last_failure.json",
                    json.dumps({**status, "provenance": provenance}, indent=2, sort_keys=True),
                )
    private["status"] = status
    private["failed_run"] = failed_run
    with contextlib.suppress(OSError, OutputFolderError):
        folders.write_private_record(final.parent, final.name, private)
    return record(
        status=status["status"],
        output=str(final),
        seconds=seconds,
        error=error,
        failed_cell=status["failed_cell"],
        failed_run=failed_run,
    )


def _keep_failed_run(executed: Path, final: Path) -> str | None:
    """Copy a failed run's notebook to the private folder (its tracebacks may quote data)."""
    if not executed.is_file():
        return None
    try:
        target = folders.private_folder(final.parent, "failed") / f"{final.name}.ipynb"
        shutil.copyfile(executed, target)
    except (OSError, OutputFolderError):
        return None
    return str(target)


def _record_failure(work: Path, final: Path, status: dict, provenance: dict) -> None:
    """Say why the run failed: beside the last good report (which stays), or, when there is
    none, as a report folder holding only ``status.json`` and ``last_failure.json``."""
    text = json.dumps({**status, "provenance": provenance}, indent=2, sort_keys=True)
    if _good(final):
        folders.write_file(final / "last_failure.json", text)
        return
    for entry in list(work.iterdir()):  # a failed run publishes nothing but its status
        folders.remove_tree(entry)
    folders.write_file(work / "status.json", json.dumps(status, indent=2, sort_keys=True))
    folders.write_file(work / "last_failure.json", text)
    folders.publish(work, final)


# --- executing the notebook -------------------------------------------------------------------


def _execute(
    template: Path, executed: Path, values: Mapping[str, Any], timeout: float, run_id: str = ""
) -> tuple[str | None, int | None, Any]:
    """Run the notebook into ``executed``; return (error, failed cell index, notebook).

    A kernel that fails to start is retried once; one that dies after a cell started is a
    failure (a re-run would repeat the cells' side effects). Time-outs are failures. A run
    papermill calls successful is checked too: every cell ran and the final marker ran.
    """
    import papermill as pm

    with _inline_backend():
        return _execute_once_or_twice(pm, template, executed, values, timeout, run_id)


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


def _marker_cell(run_id: str):
    import nbformat

    cell = nbformat.v4.new_code_cell(
        "# c2c_analysis: the run completed (the runner checks that this cell ran last)\n"
        "__import__('IPython').display.display("
        f"{{{MARKER_MIME!r}: {{'run_id': {run_id!r}}}}}, raw=True)"
    )
    cell.metadata["tags"] = ["c2c-run-complete"]
    cell.metadata["c2c_run_id"] = run_id
    return cell


def _is_marker(cell) -> bool:
    return "c2c-run-complete" in cell.get("metadata", {}).get("tags", [])


def _register_engine(pm) -> None:
    """Register the runner's Papermill engine (once per process).

    Papermill's own engine writes the whole output notebook before and after every cell
    (44 writes for the partnership report, 0.17 s measured here); this one writes it when
    the run starts and ends, and while a long cell runs every ``autosave_cell_every``
    seconds, so a run that is stopped still leaves its progress behind. The cell that is
    running is recorded in memory: after a time-out or a kernel's death it names the cell.
    The engine appends the marker cell whose output proves that the run reached its end.
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
            c2c_run_id="",
            **kwargs,
        ):
            # As papermill's Engine.execute_notebook, with the manager above.
            nb.cells.append(_marker_cell(c2c_run_id))
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
                _RUNNING.nb = manager.nb
                manager.cleanup_pbar()
                manager.notebook_complete()
            return manager.nb

    papermill_engines.register(_ENGINE, Engine)


# The cell each thread's last run was executing when it stopped (runs in a batch are threads).
_RUNNING = threading.local()


def _execute_once_or_twice(
    pm, template: Path, executed: Path, values: Mapping[str, Any], timeout: float, run_id: str
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
                c2c_run_id=run_id,
            )
        except PapermillExecutionError as exc:
            cell = int(exc.cell_index)
            return f"{_cell_name(cell)} raised {exc.ename}: {exc.evalue}", cell, None
        except CellTimeoutError:
            cell = _running_cell()
            return f"{_cell_name(cell)} timed out after {timeout:g} s", cell, None
        except (DeadKernelError, RuntimeError, TimeoutError) as exc:
            cell = _running_cell()
            if cell is not None:  # cells ran: never run them twice
                return f"the kernel died while running {_cell_name(cell)} ({exc})", cell, None
            if attempt == 2:
                return f"the kernel failed to start twice: {type(exc).__name__}: {exc}", None, None
            continue
        except OSError as exc:
            if exc.errno in folders.DISK_ERRNOS:
                raise  # a full disk or a read-only folder: recorded by the caller
            cell = _running_cell()
            return f"{_cell_name(cell)}: {type(exc).__name__}: {exc}", cell, None
        except Exception as exc:  # papermill can raise anything its engines raise
            cell = _running_cell()
            return f"{_cell_name(cell)}: {type(exc).__name__}: {exc}", cell, None
        error, cell = _check_complete(notebook, run_id)
        return error, cell, notebook if error is None else None
    return "the kernel failed to start twice", None, None  # pragma: no cover


def _cell_name(index: int | None) -> str:
    """``cell 3 (`first line of its code`)`` of this thread's last run."""
    if index is None:
        return "a cell"
    nb = getattr(_RUNNING, "nb", None)
    try:
        lines = [line for line in nb.cells[index].source.splitlines() if line.strip()]
    except (AttributeError, IndexError, TypeError):
        lines = []
    first = lines[0].strip() if lines else ""
    if len(first) > 60:
        first = first[:57] + "..."
    return f"cell {index} (`{first}`)" if first else f"cell {index}"


def _check_complete(nb, run_id: str) -> tuple[str | None, int | None]:
    """(error, cell) when the executed notebook did not run to its end, else (None, None).

    Papermill calls a run that ended with ``sys.exit()`` or ``SystemExit(0)`` successful and
    leaves the cells after it unrun; a cell whose output is an error, a cell that never ran
    or a marker that did not show this run's id is a failure naming the cell.
    """
    _RUNNING.nb = nb
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if "skip-execution" in cell.metadata.get("tags", []):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if errors:
            ename, evalue = errors[0].get("ename", "Error"), errors[0].get("evalue", "")
            if ename == "SystemExit":
                return (
                    f"{_cell_name(index)} ended the run early (SystemExit: {evalue or 'None'}); "
                    "the cells after it did not run",
                    index,
                )
            return f"{_cell_name(index)} raised {ename}: {evalue}", index
        if cell.get("execution_count") is None:
            return f"{_cell_name(index)} did not run; the run stopped before it", index
        if _is_marker(cell):
            shown = [o.get("data", {}).get(MARKER_MIME) for o in cell.get("outputs", [])]
            if {"run_id": run_id} not in shown:
                return f"{_cell_name(index)}: the run's final marker did not show", index
            return None, None
    last = len(nb.cells) - 1
    return "the run did not reach its final marker", last


def _running_cell() -> int | None:
    """The cell that was running when this thread's last execution stopped.

    After a time-out papermill marks that cell "completed", so its saved status cannot be
    trusted; the engine remembers which cell it started last."""
    return getattr(_RUNNING, "cell", None)


# --- batches ----------------------------------------------------------------------------------


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
    """One batch job: a function of paths and settings (the batch holds the folder's lock).

    Where the batch read the data for all, the partnership's rows are first written to the
    batch's private folder (in the worker, so writing overlaps the other reports' runs)."""
    job = dict(job)
    rows = job.pop("rows", None)
    if rows is not None:
        try:
            rows.to_parquet(job["data"], index=False)
        except OSError as exc:
            return RunRecord(
                partnership=job["partnership"],
                notebook=notebook_path(job["notebook"]).stem,
                status="failed",
                run_id="",
                output="",
                seconds=0.0,
                error=folders.describe_os_error(exc, "writing the partnership's rows"),
            )
    return _run_locked(**job)


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
    lock_timeout: float | None = None,
) -> list[RunRecord]:
    """Run the report for many partnerships, ``workers`` at a time.

    Parameters
    ----------
    partnerships : iterable of str, optional
        Default: every partnership in ``data`` (the bundled sample when ``data`` is None).
        A name given twice runs once.
    skip_unchanged : bool
        Skip a partnership whose last good report was made from the same inputs,
        parameters, notebook and package version.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    lock_timeout : float, optional
        Seconds to wait while another batch writes to ``out_dir`` (default: until it ends),
        then :class:`OutputFolderBusy`.
    Others
        As in :func:`run_report`.

    Returns
    -------
    list of RunRecord
        In the order of ``partnerships``. ``<out_dir>/index.html`` lists every report in
        the folder (this batch's and earlier ones') from their ``status.json``. Unsafe names
        fail alone (status ``failed``); the others still run. If the index cannot be
        written, a :class:`ReportFolderWarning` says why.

    Raises
    ------
    ValueError, FileNotFoundError, OutputFolderError, OutputFolderBusy
        As :func:`run_report`, before any report runs; also a
        :class:`~c2c_analysis.validation.DataValidationError` or ``OSError`` for a data
        file that cannot be read when ``partnerships`` is not given.
    """
    from c2c_analysis.datasets import sample_path
    from c2c_analysis.io.outcomes import read_outcomes
    from c2c_analysis.validation import C2CDataWarning, DataValidationError

    _check_settings(timeout=timeout, min_n=min_n, workers=workers)
    stem = notebook_path(notebook).stem
    _check_input(data, "data")
    _check_input(portfolio, "portfolio")
    out = folders.check_output_folder(out_dir)
    folders.check_private_outside(out)
    folders.refuse_symlink(out / "index.html", " (the index)")
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
    partnerships = list(dict.fromkeys(partnerships))
    spans, row_hashes = _partnership_spans(table) if table is not None else ({}, None)
    with folders.folder_lock(out, timeout=lock_timeout), folders.private_inputs() as inputs:
        folders.recover(out)
        jobs, records = [], {}
        for name in partnerships:
            try:
                _check_slug(name)
            except ValueError as exc:
                records[name] = RunRecord(
                    partnership=str(name),
                    notebook=stem,
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
            folder = _report_folder(out, name, stem)
            if skip_unchanged and _unchanged(folder, fingerprint):
                records[name] = RunRecord(
                    partnership=name,
                    notebook=stem,
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
                "out_dir": str(out),
                "parameters": parameters,
                "timeout": timeout,
                "min_n": min_n,
                "fingerprint": fingerprint,
            }
            if name in spans:  # written by the worker that runs the report (_run_one)
                first, stop = spans[name]
                job.update(
                    data=str(inputs / f"{name}.parquet"),
                    rows=table.iloc[first:stop],
                    source=str(source),
                    source_notes=notes,
                )
            jobs.append(job)
        _run_jobs(jobs, records, workers=workers, notebook=stem, out_dir=out, progress=progress)
        ordered = [records[name] for name in partnerships]
        try:
            _write_index(out, ordered)
        except (OSError, OutputFolderError) as exc:
            message = (
                folders.describe_os_error(exc, "writing index.html")
                if isinstance(exc, OSError)
                else str(exc)
            )
            warnings.warn(message, ReportFolderWarning, stacklevel=2)
    return ordered


def _run_jobs(jobs, records, *, workers, notebook, out_dir, progress) -> None:
    """Run ``jobs`` (``_run_one`` arguments), ``workers`` at a time, into ``records``."""
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="reports", unit="report", file=sys.stderr)

    def failed(name: str, exc: Exception) -> RunRecord:
        return RunRecord(
            partnership=name,
            notebook=notebook,
            status="failed",
            run_id="",
            output=str(out_dir / name),
            seconds=0.0,
            error=f"{type(exc).__name__}: {exc}",
        )

    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            try:
                records[job["partnership"]] = _run_one(job)
            except Exception as exc:  # a run that raised: record it, keep going
                records[job["partnership"]] = failed(job["partnership"], exc)
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
                    records[name] = failed(name, exc)
                if bar:
                    bar.update()
    if bar:
        bar.close()


def _unchanged(folder: Path, fingerprint: str) -> bool:
    try:
        provenance = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    keyed = provenance.get("fingerprint") if isinstance(provenance, dict) else None
    return (
        _good(folder)
        and isinstance(keyed, str)
        and hmac.compare_digest(keyed, _keyed(fingerprint) or "")
    )


# --- the index --------------------------------------------------------------------------------


def _read_json(path: Path) -> dict | None:
    if path.is_symlink():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _index_rows(out_dir: Path, records: Sequence[RunRecord]) -> list[dict[str, Any]]:
    """One row per report folder in ``out_dir`` (from its ``status.json``), and one per
    record of this batch that has no folder (an unsafe name, a refused link)."""
    skipped = {Path(r.output).name for r in records if r.skipped}
    rows, seen = [], set()
    for entry in sorted(os.scandir(out_dir), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        status = _read_json(folder / "status.json")
        if status is None:
            continue
        seen.add(entry.name)
        partnership, _, notebook = entry.name.partition("__")
        failure = _read_json(folder / "last_failure.json")
        detail = str(status.get("error") or "")
        if entry.name in skipped:
            detail = "unchanged, not re-run"
        if failure and status.get("status") == "succeeded":
            where = failure.get("failed_cell")
            cell = f" (cell {where})" if isinstance(where, int) else ""
            detail = (
                f"the latest run ({failure.get('utc_time', '')}) failed{cell}: "
                f"{failure.get('error', '')}; this is the last good report"
            )
        rows.append(
            {
                "folder": entry.name,
                "partnership": str(status.get("partnership") or partnership),
                "notebook": str(status.get("notebook") or notebook or "partnership_report"),
                "status": "succeeded" if status.get("status") == "succeeded" else "failed",
                "when": str(status.get("utc_time") or ""),
                "seconds": status.get("seconds"),
                "detail": detail,
                "link": (folder / "report.html").is_file() and not folder.is_symlink(),
            }
        )
    for r in records:
        if Path(r.output).name not in seen or not r.output:
            rows.append(
                {
                    "folder": "",
                    "partnership": r.partnership,
                    "notebook": r.notebook,
                    "status": r.status,
                    "when": "",
                    "seconds": r.seconds,
                    "detail": r.error or "",
                    "link": False,
                }
            )
    return rows


def _write_index(out_dir: Path, records: Sequence[RunRecord]) -> None:
    rows = []
    for row in _index_rows(out_dir, records):
        name = escape_html(row["partnership"])
        if row["link"] and row["status"] == "succeeded":
            href = escape_html(urllib.parse.quote(row["folder"]) + "/report.html")
            name = f'<a href="{href}">{name}</a>'
        seconds = row["seconds"]
        took = f"{seconds:.1f} s" if isinstance(seconds, int | float) else ""
        rows.append(
            f"<tr><td>{name}</td><td>{escape_html(row['notebook'])}</td>"
            f"<td class='{row['status']}'>{row['status']}</td>"
            f"<td>{escape_html(row['when'])}</td><td>{took}</td>"
            f"<td>{escape_html(row['detail'])}</td></tr>"
        )
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"{csp_meta()}"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>c2c_analysis reports</title><style>body{font-family:sans-serif;margin:1em}"
        "td,th{padding:4px 8px;text-align:left;vertical-align:top}"
        ".failed{color:#c0392b}.succeeded{color:#1a7f37}</style></head>"
        "<body><h1>Partnership reports</h1>"
        "<table><tr><th>partnership</th><th>notebook</th><th>status</th><th>run (UTC)</th>"
        "<th>time</th><th>detail</th></tr>" + "".join(rows) + "</table></body></html>"
    )
    folders.write_file(out_dir / "index.html", page)
