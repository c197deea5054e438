"""Run the report notebooks with Papermill, one partnership at a time or in a batch.

Before any kernel starts, the inputs are checked (:func:`check_inputs`): the data are read,
only the named partnerships' rows where the file allows (:func:`read_partnership_rows`),
and validated; every partnership named must be in them and a portfolio's labels must match
them. Each report's kernel gets its own rows as a private per-partnership file. After the
notebook ran and before anything is moved into place, the disclosure audit
(:func:`~c2c_analysis.audit.audit_disclosure`) reads everything the run would publish; a
run it finds unsafe fails, naming the exposed cells (their ranges go to the private
record only), and the last good report stays. A batch runs ``workers`` threads, or one
task per partnership on a Dask cluster (``run_batch(client=...)``).

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
import contextvars
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
from typing import Any, ClassVar

from c2c_analysis._defaults import DEFAULT_MIN_CELL, DEFAULT_MIN_N, DEFAULT_TOP_BOTTOM
from c2c_analysis._results import json_safe
from c2c_analysis.report import folders
from c2c_analysis.report import page as _page
from c2c_analysis.report.escape import csp_meta, escape_html
from c2c_analysis.report.folders import OutputFolderBusy, OutputFolderError

__all__ = [
    "DASK_RETRIES",
    "NOTEBOOKS",
    "KernelDidNotStart",
    "OutputFolderBusy",
    "OutputFolderError",
    "ReportFolderWarning",
    "RunRecord",
    "check_inputs",
    "notebook_path",
    "read_partnership_rows",
    "run_batch",
    "run_report",
    "top_bottom_thresholds",
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


def _check_settings(
    *,
    timeout: float,
    min_n: int,
    workers: int = 1,
    min_cell: int | None = DEFAULT_MIN_CELL,
    top_bottom: Any = True,
) -> None:
    """Refuse unusable settings before anything runs (``c2c`` exits with 2)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of at least 1, not {workers!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 1:
        raise ValueError(f"min_n must be a whole number of at least 1, not {min_n!r}")
    if min_cell is not None and (
        isinstance(min_cell, bool) or not isinstance(min_cell, int) or min_cell < 0
    ):
        raise ValueError(f"min_cell must be a whole number (0 or None: off), not {min_cell!r}")
    top_bottom_thresholds(top_bottom)  # raises for an unusable value


def top_bottom_thresholds(value: Any) -> float | Mapping[int, float] | None:
    """What ``suppress(top_bottom=...)`` takes, from a report's JSON-safe setting.

    ``True`` (the default): the state-practice thresholds
    (:data:`~c2c_analysis.privacy.DEFAULT_TOP_BOTTOM`); ``False`` or ``None``: no top/bottom
    coding; a number in (0, 0.5]: one threshold for every group; a mapping
    ``{smallest group size: threshold}`` (keys may be text, as JSON writes them).

    Examples
    --------
    >>> top_bottom_thresholds(True) == dict(DEFAULT_TOP_BOTTOM)
    True
    >>> top_bottom_thresholds({"10": 0.1, "50": 0.05})
    {10: 0.1, 50: 0.05}
    >>> top_bottom_thresholds(False) is None
    True
    """
    if value is True:
        return dict(DEFAULT_TOP_BOTTOM)
    if value is None or value is False:
        return None
    if isinstance(value, Mapping):
        try:
            out = {int(k): float(v) for k, v in value.items()}
        except (TypeError, ValueError):
            out = {}
        if out and all(0 < v <= 0.5 for v in out.values()) and all(k >= 0 for k in out):
            return out
    elif isinstance(value, int | float) and 0 < value <= 0.5:
        return float(value)
    raise ValueError(
        "top_bottom must be True (the state-practice thresholds), False (off), a threshold "
        f"in (0, 0.5] or a mapping of group sizes to thresholds, not {value!r}"
    )


def _top_bottom_parameter(value: Any) -> Any:
    """The JSON-safe notebook parameter for ``top_bottom`` (mapping keys as text)."""
    thresholds = top_bottom_thresholds(value)
    if value is True or thresholds is None:
        return bool(thresholds is not None)
    if isinstance(thresholds, Mapping):
        return {str(k): v for k, v in sorted(thresholds.items())}
    return thresholds


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


# --- reading only the partnerships' rows ------------------------------------------------------

_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_partnership_rows(
    source: str | os.PathLike[str] | None, partnerships: Iterable[str] | None = None
) -> tuple[Any, list[str], list[str]]:
    """The validated rows of ``partnerships`` in an outcome file, reading no other rows.

    A Parquet file with a ``partnership`` column is read with a filter on it (only the
    matching row groups are decoded); a UTF-8, comma-separated CSV with a ``partnership``
    header in one streaming pass (pyarrow) that keeps only the matching rows. The rows kept
    are validated exactly as :func:`~c2c_analysis.read_outcomes` validates the whole file
    (the same text, the same file line numbers in problems and notes), so the table equals
    ``read_outcomes(source)`` restricted to those partnerships. Any other file (Excel,
    another separator or encoding, compressed, a header read through an alias, quoted line
    breaks) is read whole by :func:`~c2c_analysis.read_outcomes` and then filtered.

    Parameters
    ----------
    source : path or None
        The outcome file (None: the bundled sample).
    partnerships : iterable of str, optional
        Slugs to keep (raw names are matched through their slug); None keeps every row.

    Returns
    -------
    (DataFrame, list of str, list of str)
        The rows (in file order, index reset), the reading notes (data warnings), and every
        partnership slug the file holds (for "did you mean").

    Raises
    ------
    DataValidationError, FileNotFoundError
        As :func:`~c2c_analysis.read_outcomes`; a problem in the kept rows is reported as a
        read of the whole file reports it.

    Examples
    --------
    >>> table, notes, known = read_partnership_rows(None, ["tacoma"])
    >>> sorted(set(table["partnership"])), len(known)
    (['tacoma'], 5)
    """
    from c2c_analysis.datasets import sample_path
    from c2c_analysis.io.outcomes import read_outcomes
    from c2c_analysis.validation import C2CDataWarning, DataValidationError

    path = Path(source) if source else sample_path("outcomes")
    wanted = None if partnerships is None else {str(p) for p in partnerships}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", C2CDataWarning)
        fast = None
        if wanted is not None:
            try:
                fast = _filtered_read(path, wanted)
            except DataValidationError:
                fast = "again"  # said as a read of the whole file says it (below)
        if isinstance(fast, tuple):
            table, known = fast
        else:
            table = read_outcomes(path)
            known = sorted(set(table["partnership"]))
            if wanted is not None:
                table = table[table["partnership"].isin(wanted)].reset_index(drop=True)
    notes = [str(w.message) for w in caught if issubclass(w.category, C2CDataWarning)]
    return table, notes, known


def _filtered_read(path: Path, wanted: set[str]):
    """(rows, every slug) from the fast paths, or None where the file needs a whole read."""
    suffix = path.suffix.lower()
    if not path.is_file():
        return None
    if suffix in _PARQUET_SUFFIXES:
        return _filtered_parquet(path, wanted)
    if suffix == ".csv":
        return _filtered_csv(path, wanted)
    return None


def _slug_map(values, cache: dict[str, str]) -> None:
    from c2c_analysis.schema import slugify

    for value in values:
        if value not in cache:
            try:
                cache[value] = slugify(value) if value and str(value).strip() else ""
            except ValueError:
                cache[value] = ""


def _validated(frame, lines, source: str):
    from c2c_analysis.validation import validate_outcomes

    # Row labels are what problems and notes cite: the file's lines (or Parquet positions).
    frame.index = lines
    table = validate_outcomes(frame, source=source)
    return table.reset_index(drop=True)


def _filtered_parquet(path: Path, wanted: set[str]):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        if "partnership" not in schema.names:
            return None
        # Dictionary-encoded: the names are decoded once per row group, not once per row.
        column = pq.read_table(
            path, columns=["partnership"], read_dictionary=["partnership"]
        ).column("partnership")
    except Exception:  # not readable by pyarrow: the whole read says why
        return None
    if not pa.types.is_dictionary(column.type) or not pa.types.is_string(column.type.value_type):
        return None
    cache: dict[str, str] = {}
    raw = sorted(
        {v for chunk in column.chunks for v in chunk.dictionary.to_pylist() if isinstance(v, str)}
    )
    _slug_map(raw, cache)
    keep = [v for v in raw if cache[v] in wanted]
    wanted_values = pa.array(keep, type=pa.string())
    masks = [
        pc.fill_null(
            pc.take(pc.is_in(chunk.dictionary, value_set=wanted_values), chunk.indices), False
        ).to_numpy(zero_copy_only=False)
        for chunk in column.chunks
    ]
    mask = np.concatenate(masks) if masks else np.zeros(0, dtype=bool)
    positions = np.flatnonzero(np.asarray(mask, dtype=bool))
    # Only the row groups that hold a wanted row are decoded; the kept rows go through
    # pandas' own Parquet conversion (a small in-memory file), as reading the file would.
    handle = pq.ParquetFile(path)
    sizes = [handle.metadata.row_group(i).num_rows for i in range(handle.num_row_groups)]
    starts = np.cumsum([0, *sizes])
    groups = sorted(set(np.searchsorted(starts, positions, side="right") - 1))
    if groups:
        table = handle.read_row_groups(groups)
        local = np.concatenate([np.arange(starts[g], starts[g + 1]) for g in groups])
        table = table.filter(pa.array(np.isin(local, positions)))
    else:
        table = handle.schema_arrow.empty_table()
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    frame = pd.read_parquet(pa.BufferReader(buffer.getvalue()))
    if len(frame) != len(positions):
        return None
    known = sorted({s for s in cache.values() if s})
    return _validated(frame.reset_index(drop=True), positions, path.name), known


def _filtered_csv(path: Path, wanted: set[str]):
    """One streaming pass over a plain CSV keeping the wanted partnerships' rows as text."""
    import codecs
    import csv
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    with path.open("rb") as handle:
        head_bytes = handle.read(1 << 16)
    if head_bytes.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head_bytes:
        return None
    try:
        head = codecs.getincrementaldecoder("utf-8-sig")().decode(head_bytes, final=False)
    except UnicodeDecodeError:
        return None
    body = "\n".join(head.splitlines()[:201])
    try:  # the delimiter as read_outcomes sniffs it
        delimiter = csv.Sniffer().sniff(body[:20000], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    if delimiter != "," or not head.strip():
        return None
    try:
        header = next(csv.reader(io.StringIO(head)))
    except (StopIteration, csv.Error):
        return None
    headers = [h.strip() for h in header]
    if headers.count("partnership") != 1 or len(set(headers)) != len(headers):
        return None
    where = headers.index("partnership")
    names = [f"c{i}" for i in range(len(headers))]
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(
                column_names=names, skip_rows=1, block_size=1 << 24, encoding="utf8"
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=",", newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        cache: dict[str, str] = {}
        kept, lines, offset = [], [], 0
        for batch in reader:
            column = batch.column(where)
            raw = pc.unique(column).to_pylist()
            _slug_map(raw, cache)
            keep = [v for v in raw if cache[v] in wanted]
            if keep:
                mask = pc.is_in(column, value_set=pa.array(keep, type=pa.string()))
                chosen = np.flatnonzero(mask.to_numpy(zero_copy_only=False))
                kept.append(batch.take(pa.array(chosen)))
                lines.append(chosen + offset + 2)  # the header is line 1
            offset += batch.num_rows
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError):
        return None  # uneven rows, quoted line breaks, blank lines: the whole read handles them
    if kept:
        frame = pa.Table.from_batches(kept).to_pandas()
    else:
        frame = pa.Table.from_batches([], schema=reader.schema).to_pandas()
    frame.columns = headers
    rows = np.concatenate(lines) if lines else np.array([], dtype=np.int64)
    known = sorted({s for s in cache.values() if s})
    return _validated(frame, rows, path.name), known


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


#: What nbconvert's HTMLExporter adds to the page after rendering it (module notes at
#: :func:`_exporter`): keyboard focus on output areas and input wrappers, and alt text on
#: any image without one.
_FOCUSABLE = re.compile(
    r'<div\b(?=[^>]*\bclass="(?:[^"]*\s)?(?:jp-OutputArea-output|jp-Cell-inputWrapper)[\s"])'
    r"(?![^>]*\btabindex=)"
)
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")


def _exporter():
    """This thread's HTML exporter: nbconvert's lab template with the report's blocks.

    nbconvert's ``HTMLExporter.from_notebook_node`` renders the template, then parses the
    whole page again with BeautifulSoup's pure-Python parser only to add ``tabindex`` to
    output areas and input wrappers and alt text to images without it: 0.2 s of every
    report, the SVG icons and tables being thousands of tags. The exporter here renders
    the same template (with the filters that method registers) and adds those attributes
    to the tags the template itself writes, by their classes (a label from the data is
    escaped and cannot open a tag).
    """
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        class Exporter(HTMLExporter):
            def from_notebook_node(self, nb, resources=None, **kw):
                # The filters HTMLExporter.from_notebook_node registers, as it does.
                info = nb.metadata.get("language_info", {})
                lexer = info.get("pygments_lexer", info.get("name", None))
                resources = self._init_resources(resources)
                self.register_filter(
                    "highlight_code",
                    self.filters.get(
                        "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                    ),
                )
                self.register_filter(
                    "filter_data_type",
                    WidgetsDataTypeFilter(
                        notebook_metadata=self._nb_metadata, parent=self, resources=resources
                    ),
                )
                html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
                html = _FOCUSABLE.sub('<div tabindex="0"', html)
                html = _IMAGE_WITHOUT_ALT.sub(
                    '<img alt="No description has been provided for this image"', html
                )
                return html, resources

        # One exporter per thread: it compiles its templates once (0.05 s a report).
        exporter = _EXPORTERS.html = Exporter(
            template_name="lab",
            extra_loaders=[DictLoader({"c2c_report.html.j2": _TEMPLATE + _page.TEMPLATE_BLOCKS})],
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
    # The page's <title>: the one the notebook showed ("Tacoma: partnership report"), else ours.
    title = executed.metadata["title"] = _page.report_title(executed) or title
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
    min_n: int = DEFAULT_MIN_N,
    fingerprint: str | None = None,
    source: str | os.PathLike[str] | None = None,
    source_notes: Sequence[str] = (),
    lock_timeout: float | None = None,
    min_cell: int | None = DEFAULT_MIN_CELL,
    top_bottom: bool | float | Mapping[int, float] | None = True,
) -> RunRecord:
    """Run a report notebook for one partnership.

    Before any kernel starts, the inputs are checked (:func:`check_inputs`): the data are
    read (only this partnership's rows, see :func:`read_partnership_rows`) and validated,
    the partnership must be in them, and a portfolio's labels must match them; the rows go
    to the kernel as a private per-partnership file. After the notebook ran, the disclosure
    audit (:func:`~c2c_analysis.audit.audit_disclosure`) checks everything the run would
    publish; a run it finds unsafe is a failure that names the exposed cells, and nothing
    is published (the last good report stays).

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
        Smallest count of students published (default
        :data:`~c2c_analysis.privacy.DEFAULT_MIN_N`, 10).
    min_cell : int or None
        Smallest number of students who met, or did not meet, an outcome published exactly
        (default :data:`~c2c_analysis.privacy.DEFAULT_MIN_CELL`, 5; 0 or None: off).
    top_bottom : bool, float or mapping
        Top/bottom coding of rates near 0% and 100%: True (default) the state-practice
        thresholds of :data:`~c2c_analysis.privacy.DEFAULT_TOP_BOTTOM`, False off, a
        threshold, or ``{smallest group size: threshold}``.
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
    ~c2c_analysis.validation.DataValidationError
        For data or a portfolio that cannot be used, or a partnership that is not in the
        data (with "did you mean"), before any kernel starts.
    OutputFolderBusy
        When another run held ``out_dir`` for longer than ``lock_timeout``.
    """
    _check_slug(partnership)
    _check_settings(timeout=timeout, min_n=min_n, min_cell=min_cell, top_bottom=top_bottom)
    template = notebook_path(notebook)  # a missing template is an error before anything
    _check_input(data, "data")
    _check_input(portfolio, "portfolio")
    declared = _declared_parameters(template)
    rows, notes = None, list(source_notes)
    if "data_path" in declared:  # the notebook reads the data: check them first
        rows, read_notes, _ = check_inputs(
            data,
            partnerships=[partnership],
            portfolio=portfolio if "portfolio_path" in declared else None,
        )
        rows = rows[rows["partnership"] == partnership]
        notes = [*notes, *read_notes] if source is None else notes
    out = folders.check_output_folder(out_dir)
    folders.check_private_outside(out)
    from c2c_analysis.datasets import sample_path

    job = {
        "partnership": partnership,
        "data": data,
        "portfolio": portfolio,
        "notebook": notebook,
        "out_dir": str(out),
        "parameters": parameters,
        "timeout": timeout,
        "min_n": min_n,
        "min_cell": min_cell,
        "top_bottom": top_bottom,
        "fingerprint": fingerprint,
        "source": source,
        "source_notes": notes,
        # One report alone leaves a core idle: on it the runner suppresses the rows while the
        # kernel starts, then a helper process draws figures (a batch's workers fill the
        # cores already, and their kernels do both themselves).
        "spare_core": True,
    }
    with folders.folder_lock(out, timeout=lock_timeout), folders.private_inputs() as inputs:
        folders.recover(out)
        if rows is not None:  # the kernel gets this partnership's validated rows only
            job.update(
                data=str(inputs / f"{partnership}.parquet"),
                rows=rows,
                source=source or str(Path(data) if data else sample_path("outcomes")),
            )
        return _run_one(job)


def check_inputs(
    data: str | os.PathLike[str] | None,
    *,
    partnerships: Sequence[str] | None = None,
    portfolio: str | os.PathLike[str] | None = None,
) -> tuple[Any, list[str], list[str]]:
    """Check a report's or a batch's inputs before any kernel starts.

    Reads the data (only the rows of ``partnerships`` and of the portfolio's partnership
    where the file allows, :func:`read_partnership_rows`), checks that every partnership
    named is in them and that the portfolio's partnership, outcomes, dimensions and groups
    are (labels normalised as the data's are), with the errors of
    :func:`~c2c_analysis.validation.validate_inputs`.

    Parameters
    ----------
    data : path or None
        The outcome file (None: the bundled sample).
    partnerships : sequence of str, optional
        The partnerships a report or batch names (None: every partnership, all rows read).
    portfolio : path, optional
        A strategy portfolio (YAML or CSV) to check against the data.

    Returns
    -------
    (DataFrame, list of str, list of str)
        The rows read, the reading notes and every partnership slug in the data.

    Raises
    ------
    DataValidationError
        ``source == "partnerships"`` for a partnership that is not in the data (a usage
        error: ``c2c`` exits with 2), else the data's or the portfolio's problems.

    Examples
    --------
    >>> rows, notes, known = check_inputs(None, partnerships=["riverton"])
    >>> check_inputs(None, partnerships=["rivertown"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    c2c_analysis.validation.DataValidationError: partnerships: 1 problem found
      - column 'partnership': not in the data; did you mean 'riverton'? (value 'rivertown')
    """
    from c2c_analysis.schema import did_you_mean
    from c2c_analysis.validation import DataValidationError, check_portfolio

    wanted = None if partnerships is None else list(dict.fromkeys(partnerships))
    owner = None
    if portfolio:
        from c2c_analysis.portfolio import read_portfolio

        owner = read_portfolio(portfolio).partnership
    keep = None if wanted is None else [*wanted, *([owner] if owner else [])]
    table, notes, known = read_partnership_rows(data, keep)
    problems = []
    for name in wanted or ():
        if name not in known:
            hint = did_you_mean(str(name), known) or (
                f"; the data hold {', '.join(map(repr, known[:8]))}" if known else ""
            )
            problems.append(
                {
                    "row": None,
                    "column": "partnership",
                    "value": str(name),
                    "problem": f"not in the data{hint}",
                }
            )
    if problems:
        raise DataValidationError(problems, source="partnerships")
    if portfolio:
        check_portfolio(table, portfolio)
    return table, notes, known


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
    min_n: int = DEFAULT_MIN_N,
    fingerprint: str | None = None,
    source=None,
    source_notes: Sequence[str] = (),
    min_cell: int | None = DEFAULT_MIN_CELL,
    top_bottom: Any = True,
    spare_core: bool = False,
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
            min_cell=min_cell,
            top_bottom=top_bottom,
            fingerprint=fingerprint,
            source=source,
            source_notes=source_notes,
            spare_core=spare_core,
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
    min_cell: int | None,
    top_bottom: Any,
    fingerprint: str | None,
    source,
    source_notes: Sequence[str],
    spare_core: bool = False,
) -> RunRecord:
    # Long because the run's provenance, status and private record are built along the
    # steps (execute, audit, export, publish) that each may fail and must say so in them.
    built_in = {
        "partnership": partnership,
        "data_path": os.fspath(data) if data else "",
        "portfolio_path": os.fspath(portfolio) if portfolio else "",
        "min_n": int(min_n),
        "min_cell": int(min_cell) if min_cell else None,
        "top_bottom": _top_bottom_parameter(top_bottom),
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
    # A single report's second core: it suppresses the partnership's rows for the kernel's
    # load_partnership while the kernel starts, then a helper process draws figures on it.
    helper = preparation = None
    try:
        if spare_core:
            helper = _figure_helper(template)
            preparation = _preparation(partnership, data, source, values, declared)
        kernel_env = {
            **(preparation.environment if preparation else {}),
            **(helper.environment if helper else {}),
        }
        # While the kernel runs (this process mostly waits): the helper is launched after
        # the preparation (the second core suppresses first, then draws), and the audit's
        # modules are imported then too: reading the rows collects their warnings with
        # catch_warnings, which is process-wide and would undo an import's own filters.
        _after(preparation.thread if preparation else None,
               *([helper.launch] if helper else []), _import_audit)  # fmt: skip
        error, failed_cell, notebook_node = _execute(
            template, executed, values, timeout, run_id, kernel_env
        )
    except OSError as exc:  # the notebook could not be saved: a full disk, a read-only folder
        error = folders.describe_os_error(exc, "saving the executed notebook")
        failed_cell, notebook_node = _running_cell(), None
    finally:
        if preparation is not None:
            preparation.join()
        if helper is not None:
            helper.stop()
    audit_detail = None
    if error is None:  # the published notebook names its inputs by file name only
        try:
            notebook_node = _without_paths(notebook_node, executed, values)
        except OSError as exc:
            error = folders.describe_os_error(exc, "saving the executed notebook")
    if error is None:  # nothing is published that the disclosure audit finds unsafe
        shown = values.get("min_n")  # a caller's parameter may set it for the notebook
        audit_n = shown if isinstance(shown, int) and not isinstance(shown, bool) else min_n
        error, audit_detail = _disclosure_audit(work, min_n=max(int(min_n), audit_n))
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
        "parameters": {k: v for k, v in _named(values).items() if k != "output_dir"},
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
    if audit_detail is not None and error is not None and status["error"] == error:
        # The exposed cells' ranges go to the caller and the private record, never to
        # the output folder (they would publish what the audit protects).
        private["audit"] = audit_detail
        error = audit_detail
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


def _named(values: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters as published: a ``*_path`` by its file name, ``output_dir`` as the
    report folder itself (``"."``: the executed notebook lies in it)."""
    return {
        k: (
            "."
            if k == "output_dir"
            else Path(v).name
            if k.endswith("_path") and isinstance(v, str) and v
            else v
        )
        for k, v in values.items()
    }


def _without_paths(nb, executed: Path, values: Mapping[str, Any]):
    """The executed notebook, saved again without this machine's paths.

    Papermill writes the parameters it injected (the per-partnership input file in the
    private folder, the run's working folder) into the injected-parameters cell and into
    ``metadata.papermill`` (with the template's and the output's paths); the published
    notebook names them by file name (:func:`_named`), like ``provenance.json``.
    """
    from papermill.translators import translate_parameters

    named = _named(values)
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            kernel = nb.metadata.get("kernelspec", {})
            cell.source = translate_parameters(
                kernel.get("name", "python3"), kernel.get("language", "python"), named, "Parameters"
            )
    meta = nb.metadata.get("papermill")
    if meta is not None:
        meta["parameters"] = named
        for key in ("input_path", "output_path"):
            if isinstance(meta.get(key), str) and meta[key]:
                meta[key] = Path(meta[key]).name
    import nbformat

    folders.write_file(executed, nbformat.writes(nb))
    return nb


_AUDIT_SHOWN = 12


def _disclosure_audit(work: Path, *, min_n: int) -> tuple[str | None, str | None]:
    """(public error, private detail) when what ``work`` would publish is not safe, else
    (None, None).

    The audit reads every table, workbook, ``results.json`` and the executed notebook in
    the run's folder, as an attacker with everything published would. The public error
    names each exposed cell in words (group, outcome, year, which count) and how closely
    it is determined; the private detail adds the range an attacker finds. An audit that
    cannot run refuses to publish too.
    """
    try:
        _import_audit()
        from c2c_analysis.audit import audit_disclosure

        result = audit_disclosure(work, min_n=min_n)
    except Exception as exc:  # fail closed: an unaudited report is not published
        message = (
            f"the disclosure audit could not run ({type(exc).__name__}: {exc}); "
            "nothing was published"
        )
        return message, message
    if result.safe:
        return None, None
    public, private = [], []
    cells = result.exposed
    for row in cells.itertuples(index=False):
        where = _cell_words(row)
        public.append(f"{where}: {row.reason}")
        private.append(f"{where}: {row.reason} ({_range_words(row.low, row.high)})")
    sets = result.sets
    if len(sets):
        for row in sets[sets["exposed"]].itertuples(index=False):
            where = (
                f"the {row.value} of the withheld groups {row.cells} together"
                f" ({row.dimension}), {row.outcome}, {row.time}"
            )
            public.append(f"{where}: {row.reason}")
            private.append(f"{where}: {row.reason} ({_range_words(row.low, row.high)})")
    count = len(public)
    head = (
        f"the disclosure audit refused to publish: {count} withheld value(s) or set(s) "
        "could be worked out from what the report publishes: "
    )
    more = f"; and {count - _AUDIT_SHOWN} more" if count > _AUDIT_SHOWN else ""
    public_text = head + "; ".join(public[:_AUDIT_SHOWN]) + more
    public_text += " (the ranges an attacker finds are in the private record)"
    private_text = head + "; ".join(private[:_AUDIT_SHOWN]) + more
    return public_text, private_text


_AUDIT_IMPORT = threading.Lock()
_AUDIT_IMPORTED = False


def _import_audit() -> None:
    """Import the audit and the readers it uses lazily, once, under a lock: two threads of a
    batch importing openpyxl for the first time at once can see it half initialised."""
    global _AUDIT_IMPORTED
    with _AUDIT_IMPORT:
        if _AUDIT_IMPORTED:
            return
        import importlib

        for name in ("c2c_analysis.audit", "openpyxl", "lxml.etree", "nbformat", "bs4"):
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        _AUDIT_IMPORTED = True


def _cell_words(row) -> str:
    unit = f", unit {row.unit}" if getattr(row, "unit", "") else ""
    dimension = f" ({row.dimension})" if row.dimension and row.dimension != "all" else ""
    return f"the {row.value} of {row.group}{dimension}, {row.outcome}, {row.time}{unit}"


def _range_words(low, high) -> str:
    import math

    def shown(value) -> str:
        return (
            "?"
            if value is None or (isinstance(value, float) and math.isnan(value))
            else ("no bound" if math.isinf(value) else f"{value:g}")
        )

    if shown(low) == "?" or shown(high) == "?":
        return "an attacker's range could not be verified"
    return f"an attacker finds {shown(low)} to {shown(high)} students"


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


def _after(thread: threading.Thread | None, *steps) -> None:
    """Run ``steps`` in order in a daemon thread, once ``thread`` has ended."""

    def run() -> None:
        if thread is not None:
            thread.join()
        for step in steps:
            step()

    threading.Thread(target=run, name="c2c-after-start", daemon=True).start()


def _figure_helper(template: Path):
    """The run's figure helper (:mod:`c2c_analysis.report.figures`) for a notebook that
    uses one (its metadata says ``c2c_analysis.figure_helper``), else None."""
    import nbformat

    from c2c_analysis.report.figures import make_helper

    try:
        metadata = nbformat.read(template, as_version=4).metadata
    except (OSError, ValueError):
        return None
    if not metadata.get("c2c_analysis", {}).get("figure_helper"):
        return None
    return make_helper()


def _preparation(partnership: str, data, source, values: Mapping[str, Any], declared: set[str]):
    """Start reading and suppressing the partnership's rows for the kernel
    (:mod:`c2c_analysis.report.prepared`), where the runner wrote them to its private
    folder and the notebook takes them (it declares ``data_path`` and the settings);
    else None."""
    from c2c_analysis.report.prepared import start_preparation

    if not (source and data) or not {"data_path", "min_n"} <= declared:
        return None
    if values.get("data_path") != os.fspath(data):  # a caller's parameter chose other data
        return None
    try:
        return start_preparation(
            partnership,
            data,
            Path(data).parent,
            min_n=values.get("min_n", DEFAULT_MIN_N),
            min_cell=values.get("min_cell", DEFAULT_MIN_CELL),
            top_bottom=values.get("top_bottom", True),
        )
    except OSError:  # the kernel then suppresses the rows itself
        return None


def _execute(
    template: Path,
    executed: Path,
    values: Mapping[str, Any],
    timeout: float,
    run_id: str = "",
    kernel_env: Mapping[str, str] | None = None,
) -> tuple[str | None, int | None, Any]:
    """Run the notebook into ``executed``; return (error, failed cell index, notebook).

    A kernel that fails to start is retried once; one that dies after a cell started is a
    failure (a re-run would repeat the cells' side effects). Time-outs are failures. A run
    papermill calls successful is checked too: every cell ran and the final marker ran.
    """
    import papermill as pm

    return _execute_once_or_twice(pm, template, executed, values, timeout, run_id, kernel_env)


_ENGINE = "c2c_analysis"
#: The kernel's matplotlib backend: figures are shown inline, so they reach the report.
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


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


@functools.cache
def _register_engine() -> None:
    """Register the runner's Papermill engine (once per process).

    Papermill's own engine writes the whole output notebook before and after every cell
    (44 writes for the partnership report, 0.17 s measured here); this one writes it when
    the run starts and ends, and while a long cell runs every ``autosave_cell_every``
    seconds, so a run that is stopped still leaves its progress behind. The cell that is
    running is recorded in memory: after a time-out or a kernel's death it names the cell.
    The engine appends the marker cell whose output proves that the run reached its end.

    The engine is registered with papermill's public registry
    (``papermill.engines.papermill_engines.register``) when the first report runs, not
    through the ``papermill.engine`` entry-point group: an entry point would make every
    papermill import in the environment import this package.

    Its kernels are started with the inline matplotlib backend in their own environment
    (``start_kernel(env=...)`` of the kernel manager): a non-interactive backend set for
    tests or servers (``MPLBACKEND=Agg``) would make every figure disappear from the
    report, and this process's ``os.environ``, which the threads of a batch share, is
    never changed.
    """
    from jupyter_client.manager import AsyncKernelManager
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class KernelManager(AsyncKernelManager):
        # jupyter_client's AsyncKernelManager itself declares start_kernel as an awaitable
        # over KernelManager's synchronous one (and ignores the same error).
        #: Variables a run adds to its kernel's environment (a subclass per run sets them).
        run_env: ClassVar[Mapping[str, str]] = {}

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            env = dict(kw.pop("env", None) or os.environ)
            env["MPLBACKEND"] = _INLINE_BACKEND
            env.update(self.run_env)
            await super().start_kernel(env=env, **kw)

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
            c2c_kernel_env=None,
            **kwargs,
        ):
            # As papermill's Engine.execute_notebook, with the manager above.
            nb.cells.append(_marker_cell(c2c_run_id))
            if c2c_kernel_env:  # this run's variables, in a kernel manager of its own
                kwargs.setdefault(
                    "kernel_manager_class",
                    type("RunKernelManager", (KernelManager,), {"run_env": dict(c2c_kernel_env)}),
                )
            manager = Manager(
                nb,
                output_path=output_path,
                progress_bar=progress_bar,
                log_output=log_output,
                autosave_cell_every=autosave_cell_every,
            )
            kwargs.setdefault("kernel_manager_class", KernelManager)
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


_NOT_STARTED = "the kernel failed to start"

# The cell each thread's last run was executing when it stopped (runs in a batch are threads).
_RUNNING = threading.local()


def _execute_once_or_twice(
    pm,
    template: Path,
    executed: Path,
    values: Mapping[str, Any],
    timeout: float,
    run_id: str,
    kernel_env: Mapping[str, str] | None = None,
):
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    cell: int | None
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
                # The kernel's own log below errors: no "running over TCP without encryption"
                # warning in every run's output (the kernel listens on this machine only).
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                c2c_run_id=run_id,
                c2c_kernel_env=dict(kernel_env or {}),
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
                return f"{_NOT_STARTED} twice: {type(exc).__name__}: {exc}", None, None
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


#: Papermill's tag of the error cells it inserts into a failed run's notebook.
_ERROR_MARKER_TAG = "papermill-error-cell-tag"


def _cell_name(index: int | None) -> str:
    """``cell 3 (`first line of its code`)`` of this thread's last run.

    ``index`` counts the cells papermill ran (its injected-parameters cell included). When
    a cell raised, papermill then inserts two error cells into the notebook (a message at
    the top and an anchor before the failed cell), so they are left out here.
    """
    if index is None:
        return "a cell"
    nb: Any = getattr(_RUNNING, "nb", None)
    try:
        cells = [
            c for c in nb.cells if _ERROR_MARKER_TAG not in c.get("metadata", {}).get("tags", [])
        ]
        lines = [line for line in cells[index].source.splitlines() if line.strip()]
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
    partnership: str,
    notebook: str,
    data_digest: str,
    portfolio,
    parameters,
    min_n,
    min_cell=DEFAULT_MIN_CELL,
    top_bottom=True,
) -> str:
    parts = {
        "partnership": partnership,
        "notebook": _sha256(notebook_path(notebook)),
        "min_n": min_n,
        "parameters": json_safe(dict(parameters or {})),
        "data": data_digest,
        "portfolio": _sha256(portfolio) if portfolio else "sample",
    }
    if (min_cell, top_bottom) != (DEFAULT_MIN_CELL, True):  # old fingerprints still match
        parts["privacy"] = [min_cell or None, _top_bottom_parameter(top_bottom)]
    parts["version"] = metadata.version("c2c_analysis")
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _failed_record(job: Mapping[str, Any], error: str, output: str = "") -> RunRecord:
    return RunRecord(
        partnership=job["partnership"],
        notebook=notebook_path(job["notebook"]).stem,
        status="failed",
        run_id="",
        output=output,
        seconds=0.0,
        error=error,
    )


def _write_rows(job: dict[str, Any]) -> RunRecord | None:
    """Write ``job``'s rows to its private per-partnership file (``job['data']``); a failed
    record when the file system refuses."""
    rows = job.pop("rows", None)
    if rows is None:
        return None
    try:
        rows.to_parquet(job["data"], index=False)
    except OSError as exc:
        return _failed_record(job, folders.describe_os_error(exc, "writing the partnership's rows"))
    return None


def _run_one(job: dict[str, Any]) -> RunRecord:
    """One batch job: a function of paths and settings (the batch holds the folder's lock).

    Where the batch read the data for all, the partnership's rows are first written to the
    batch's private folder (in the worker, so writing overlaps the other reports' runs)."""
    job = dict(job)
    failed = _write_rows(job)
    return failed if failed is not None else _run_locked(**job)


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
    min_n: int = DEFAULT_MIN_N,
    skip_unchanged: bool = False,
    progress: bool = False,
    lock_timeout: float | None = None,
    min_cell: int | None = DEFAULT_MIN_CELL,
    top_bottom: bool | float | Mapping[int, float] | None = True,
    client: Any = None,
) -> list[RunRecord]:
    """Run the report for many partnerships, ``workers`` at a time (or on a Dask cluster).

    Parameters
    ----------
    partnerships : iterable of str, optional
        Default: every partnership in ``data`` (the bundled sample when ``data`` is None).
        A name given twice runs once. Only these partnerships' rows are read where the
        file allows (:func:`read_partnership_rows`).
    skip_unchanged : bool
        Skip a partnership whose last good report was made from the same inputs,
        parameters, notebook and package version.
    progress : bool
        Show a progress bar (tqdm) on standard error.
    lock_timeout : float, optional
        Seconds to wait while another batch writes to ``out_dir`` (default: until it ends),
        then :class:`OutputFolderBusy`.
    client : dask.distributed.Client, optional
        Run the reports as tasks of this Dask cluster (``pip install
        "c2c_analysis[dask]"``): one task per partnership, its key named after it, given
        only paths (its rows are written to a private per-partnership file first, which
        the workers must be able to read, as they must write ``out_dir``); each task runs
        its report's kernel as a subprocess and returns its :class:`RunRecord`; a task
        whose kernel failed to start is retried (twice), no other. Records are collected
        as tasks complete. ``workers`` is then unused. Default: ``workers`` threads in
        this process.
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
        As :func:`run_report`, before any report runs.
    ~c2c_analysis.validation.DataValidationError
        Before any kernel starts: for data that cannot be read or hold invalid rows, a
        partnership named that is not in the data (``source == "partnerships"``, with "did
        you mean"), or a portfolio whose labels do not match the data.
    """
    # Long because the batch's steps (check, read once, one job per partnership, run,
    # index) share the output folder's lock and the private inputs folder.
    from c2c_analysis.datasets import sample_path

    _check_settings(
        timeout=timeout, min_n=min_n, workers=workers, min_cell=min_cell, top_bottom=top_bottom
    )
    template = notebook_path(notebook)
    stem = template.stem
    _check_input(data, "data")
    _check_input(portfolio, "portfolio")
    # The data are read and validated once, before any kernel starts, and each report gets
    # its own rows: a state file of a million rows is not re-read by every partnership's
    # kernel, and a change to one partnership's rows re-runs only that report under
    # skip_unchanged. Unknown partnerships and portfolio labels fail the batch here.
    source = Path(data) if data else sample_path("outcomes")
    names = None if partnerships is None else list(dict.fromkeys(partnerships))
    safe = None if names is None else [n for n in names if _is_slug(n)]
    declared = _declared_parameters(template)
    table, notes, known = check_inputs(
        data, partnerships=safe, portfolio=portfolio if "portfolio_path" in declared else None
    )
    out = folders.check_output_folder(out_dir)
    folders.check_private_outside(out)
    folders.refuse_symlink(out / "index.html", " (the index)")
    # Sorted by partnership (stably): each partnership's rows are one slice.
    table = table.sort_values("partnership", kind="stable", ignore_index=True)
    if names is None:
        names = sorted(known)
    spans, row_hashes = _partnership_spans(table)
    with folders.folder_lock(out, timeout=lock_timeout), folders.private_inputs() as inputs:
        folders.recover(out)
        jobs, records = [], {}
        for name in names:
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
            first, stop = spans[name]
            digest = hashlib.sha256(row_hashes[first:stop].tobytes()).hexdigest()
            fingerprint = _fingerprint(
                name, notebook, digest, portfolio, parameters, min_n, min_cell, top_bottom
            )
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
            jobs.append(
                {
                    "partnership": name,
                    "portfolio": portfolio,
                    "notebook": notebook,
                    "out_dir": str(out),
                    "parameters": parameters,
                    "timeout": timeout,
                    "min_n": min_n,
                    "min_cell": min_cell,
                    "top_bottom": top_bottom,
                    "fingerprint": fingerprint,
                    # Written by the worker that runs the report (_run_one), or before
                    # submitting to a Dask cluster (tasks get paths, never DataFrames).
                    "data": str(inputs / f"{name}.parquet"),
                    "rows": table.iloc[first:stop],
                    "source": str(source),
                    "source_notes": notes,
                }
            )
        del table
        if client is not None:
            _run_jobs_dask(
                jobs, records, client=client, notebook=stem, out_dir=out, progress=progress
            )
        else:
            _run_jobs(jobs, records, workers=workers, notebook=stem, out_dir=out, progress=progress)
        ordered = [records[name] for name in names]
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


def _is_slug(name: object) -> bool:
    return isinstance(name, str) and bool(_SLUG.match(name))


def _progress_bar(progress: bool, total: int):
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="reports", unit="report", file=sys.stderr)


def _raised(name: str, exc: BaseException, *, notebook: str, out_dir: Path) -> RunRecord:
    return RunRecord(
        partnership=name,
        notebook=notebook,
        status="failed",
        run_id="",
        output=str(out_dir / name),
        seconds=0.0,
        error=f"{type(exc).__name__}: {exc}",
    )


def _run_jobs(jobs, records, *, workers, notebook, out_dir, progress) -> None:
    """Run ``jobs`` (``_run_one`` arguments), ``workers`` at a time, into ``records``."""
    bar = _progress_bar(progress, len(jobs))

    def failed(name: str, exc: Exception) -> RunRecord:
        return _raised(name, exc, notebook=notebook, out_dir=out_dir)

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


# --- batches on Dask --------------------------------------------------------------------------

#: Attempts after the first for a Dask task whose kernel failed to start.
DASK_RETRIES = 2


class KernelDidNotStart(RuntimeError):
    """A Dask task's kernel failed to start (the only failure a task is retried for)."""

    def __init__(self, record: RunRecord):
        super().__init__(record.error)
        self.record = record

    def __reduce__(self):  # sent back from a worker process
        return (type(self), (self.record,))


def _dask_task(job: dict[str, Any], private_dir: str) -> RunRecord:
    """One report on a Dask worker: paths and settings in, a :class:`RunRecord` out.

    The kernel is a subprocess of the worker, as in a thread of the batch (a Dask worker
    process is daemonic and cannot start multiprocessing children; a subprocess it can).
    Private files go where the batch's go. A kernel that failed to start raises
    :class:`KernelDidNotStart`, which Dask retries; every other failure is a record."""
    if os.environ.get("C2C_PRIVATE_DIR") != private_dir:
        os.environ["C2C_PRIVATE_DIR"] = private_dir
    try:
        # In a fresh context: a worker thread inherits its context from the worker's event
        # loop, and an event loop jupyter_core cached there would be shared by every task.
        record = contextvars.Context().run(functools.partial(_run_locked, **job))
    except Exception as exc:  # recorded, not retried: the run may have started its cells
        return _raised(
            job["partnership"],
            exc,
            notebook=notebook_path(job["notebook"]).stem,
            out_dir=Path(job["out_dir"]),
        )
    if record.status == "failed" and (record.error or "").startswith(_NOT_STARTED):
        raise KernelDidNotStart(record)
    return record


def _run_jobs_dask(jobs, records, *, client, notebook, out_dir, progress) -> None:
    """Run ``jobs`` as tasks of a Dask cluster, collecting records as they complete."""
    from distributed import as_completed

    batch = uuid.uuid4().hex[:8]
    private_dir = str(folders.private_root())
    submitted = {}
    for job in jobs:
        job = dict(job)
        failed = _write_rows(job)  # tasks get a path, never a DataFrame
        if failed is not None:
            records[job["partnership"]] = failed
            continue
        future = client.submit(
            _dask_task,
            job,
            private_dir,
            key=f"c2c-report-{job['partnership']}-{batch}",
            retries=DASK_RETRIES,
            pure=False,
        )
        submitted[future] = job["partnership"]
    bar = _progress_bar(progress, len(jobs))
    if bar:
        bar.update(len(jobs) - len(submitted))
    try:
        for future in as_completed(list(submitted)):
            name = submitted[future]
            try:
                records[name] = future.result()
            except KernelDidNotStart as exc:
                records[name] = exc.record
            except Exception as exc:  # a lost worker, a task that raised: record it
                records[name] = _raised(name, exc, notebook=notebook, out_dir=out_dir)
            if bar:
                bar.update()
    except BaseException:
        client.cancel(list(submitted))
        raise
    finally:
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
    from c2c_analysis.report.dashboard import render_index  # the network dashboard

    page = render_index(out_dir, _index_rows(out_dir, records))
    folders.write_file(out_dir / "index.html", page)
