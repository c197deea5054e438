"""Disclosure audit: what an attacker with everything a report publishes can learn.

Every published number is a linear fact about the counts behind it: a numerator, a
denominator, a rate (``numerator = rate x denominator`` within its rounding) or a range
(``rate_low x denominator <= numerator <= rate_high x denominator``). The tables are linked:

- a dimension whose groups **partition** All students (their denominators add up to All's,
  or the catalogue declares the dimension a partition, :data:`~c2c_analysis.schema.PARTITIONS`)
  says that the groups' numerators and denominators sum to All's; a dimension that does not
  (a file reporting only Foster youth) only says that each sum is at most All's;
- a declared **outcome link** (:data:`~c2c_analysis.schema.OUTCOME_LINKS`) says that one
  outcome's denominator is another's numerator, group by group (postsecondary enrollment is
  counted among the graduating class), in each partnership, unit and period where every
  pair whose two counts are known agrees; one known pair that differs says the outcomes
  were counted on other cohorts there, and none of that block's pairs is an equation
  (suppression decides on the true counts, the audit on the published ones);
- **school units** (an optional ``unit`` column) add up to their partnership's row.

:func:`audit_disclosure` collects those facts and computes, by integer programming (scipy's
HiGHS ``linprog``/``milp``), the feasible range of every withheld numerator, denominator and
complement, as tau-Argus's audit does (Hundepool et al. 2012, section 4.3). It reports a cell
**exposed** when a value is determined to within one student (its range spans at most
``spread - 1 = 2`` students), and a **set** of withheld cells that differencing isolates (the
withheld part of a published sum) when its students are certainly fewer than ``min_n`` or its
outcome is certainly all-or-none. :func:`~c2c_analysis.privacy.suppress` runs the same
attacker on its own choice of cells.

HiGHS presolve returned wrong bounds on small suppression problems here, so every bound is
solved with presolve off first and each solution is checked against the constraints before
it is used (a solution that fails is solved again with presolve on, and a value that still
cannot be verified counts as exposed). Points found with presolve on serve only as
feasible integer points (checked the same way), never as bounds. Groups of unknowns that
share no constraint are independent, so one linear program whose objective adds one
wanted optimum of every group gives all their optima at once (a group whose vertex is
fractional is solved again as an integer program): the number of solver calls grows with
the values of the largest group, not with the number of groups.

**What is read.** A folder is searched recursively (files and folders whose names start
with ``.`` inside it are skipped) for:

- ``*.csv`` (``tables/*.csv`` the runner writes, and any other CSV), read as tables with a
  header row;
- ``*.xlsx``, every sheet (``tables/*.xlsx``; the ``dictionary`` sheet names no cell and
  contributes nothing);
- ``*.json`` (``results.json``; ``provenance.json`` and ``status.json`` hold no cells): every
  list of records and every record whose values are all scalars, at any depth;
- ``*.ipynb``, the executed notebook: every ``<table>`` in the ``text/html`` data of its
  outputs (``display_data``, ``execute_result``); ``text/plain`` outputs, printed text,
  markdown cells and images are not read;
- ``*.html`` (``report.html``): every ``<table>`` of the page (the notebook's outputs as
  rendered, read again in case the notebook is not kept; a table whose outcome column holds
  labels rather than the catalogue's ids is taken to be about other outcomes, so its facts
  are not combined with the CSVs').

A table (long format) contributes the rows that name a ``group``, an ``outcome`` and a
period (``year`` or ``period``) and carry at least one of ``numerator``, ``denominator``
(or ``n``, ``n_students``, ``cohort``), ``rate``, ``rate_low``, ``rate_high``. Column names
are matched after trimming and lower-casing; rates written with ``%`` are read as percents;
``partnership``, ``unit`` and ``dimension`` are read where present (a missing dimension is
taken from another table's row of the same outcome and group). A table without those key
columns is skipped: a wide table (a column per group or per year), a table keyed by a
label alone, rates in percentage points (``*_pp``), gaps and model output are not read as
facts about a cell. Facts about the same cell from several tables are combined: the first
count read, the narrowest range. Figures, alt text and sentences in the narrative are not
parsed: a report must not state in words a count that its tables withhold.

Not read as facts: the runner's derived tables (``gap_change``: ``rate_start``/``rate_end``
by ``start``/``end``; ``decomposition``; ``overview``: ``latest_rate``, ``latest_denominator``;
``scorecard``: ``actual``; ``trends``; ``run_charts``) and ``results.json``'s dashboard
figures (``graduation``: ``numerator``/``denominator``/``year`` without an outcome or group).
They name a cell only through columns such as ``start`` or ``last_year``, and their rates of
range-coded rows are the ranges' midpoints, not facts about the counts, so reading them as
exact rates would make the attacker's problem wrong rather than stronger. An audit of a
report folder holding only such tables therefore checks no cell; publish the suppressed
outcome table beside them (or audit it directly) to have it checked.

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Nordholt, E. S., Spicer, K.,
& de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. Chapter 4 (magnitude and
frequency tables; the audit of a suppression pattern by linear programming).

Fischetti, M., & Salazar-Gonzalez, J.-J. (2000). Models and algorithms for optimizing cell
suppression in tabular data with linear constraints. *Journal of the American Statistical
Association*, 95(451), 916-928.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from c2c_analysis._disclosure import (
    DEFAULT_SPREAD,
    KEYS,
    Attack,
    Knowledge,
    knowledge_from_table,
    linked_structure,
    run_attack,
    with_totals,
)
from c2c_analysis._results import Result
from c2c_analysis.schema import ALL_STUDENTS, OUTCOME_LINKS, PARTITIONS

__all__ = ["AuditResult", "audit_disclosure"]

# --- the audit of what a report publishes ----------------------------------------------------

_FACT_COLUMNS = {
    "numerator": ("numerator",),
    "denominator": ("denominator", "n", "n_students", "cohort"),
    "rate": ("rate",),
    "rate_low": ("rate_low",),
    "rate_high": ("rate_high",),
}


@dataclass(frozen=True, repr=False, kw_only=True)
class AuditResult(Result):
    """What :func:`audit_disclosure` found.

    Attributes
    ----------
    table : DataFrame
        One row per withheld value: the cell's keys (``partnership, unit, outcome, time,
        dimension, group``), ``value`` (``numerator``, ``denominator`` or ``complement``),
        ``low`` and ``high`` (the attacker's feasible integer range; ``inf`` when
        unbounded, NaN when it could not be verified), ``exposed`` (the range spans fewer
        than ``spread`` students) and ``reason`` (in words, empty when safe).
    summary : DataFrame
        One row of counts: ``withheld_values``, ``exposed_values``, ``sets``,
        ``exposed_sets``.
    sets : DataFrame
        One row per isolated set of withheld cells (the withheld part of a published sum):
        ``cells`` (the groups, joined), the keys of the sum, ``value``, ``low``, ``high``,
        ``exposed`` and ``reason`` (under ``min_n`` students, or all-or-none).
    safe : bool
        No value and no set is exposed.
    sources : list of str
        What was parsed (file names, or ``table 0`` for tables passed in).
    settings : dict
        ``min_n`` and ``spread``, and (from the :class:`~c2c_analysis._results.Result`
        base) the package ``version``, the ``analysis`` and its ``method_reference``.
    notes : tuple of str
        Empty.
    """

    sets: pd.DataFrame
    safe: bool
    sources: list[str]

    analysis: ClassVar[str] = "Audit of a suppression pattern by integer programming"
    method_reference: ClassVar[str] = (
        "Hundepool et al. (2012), Statistical Disclosure Control, Wiley, section 4.3"
    )

    @property
    def exposed(self) -> pd.DataFrame:
        """The exposed values and sets, described (no withheld value is shown)."""
        cells = self.table[self.table["exposed"]] if len(self.table) else self.table
        return cells

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: safe, counts, sources, settings, and the exposed cells' keys and reasons.

        Not every member as other results' ``to_dict``: the attacker's ranges (``low``,
        ``high`` of ``table`` and ``sets``) would tell the withheld counts, so only the
        exposed cells' keys and reasons are listed (the runner keeps the ranges in its
        private record).
        """
        cells = self.exposed
        keys = [c for c in (*KEYS, "value", "reason") if c in cells]
        return {
            "safe": bool(self.safe),
            **{str(k): int(v) for k, v in self.summary.iloc[0].items()},
            "sources": list(self.sources),
            "settings": dict(self.settings),
            "exposed": cells[keys].astype(str).to_dict("records"),
        }

    def __repr__(self) -> str:
        s = self.summary.iloc[0]
        return (
            f"AuditResult(safe={self.safe}, withheld_values={s['withheld_values']}, "
            f"exposed_values={s['exposed_values']}, exposed_sets={s['exposed_sets']})"
        )


def _counts(table: pd.DataFrame, sets: pd.DataFrame) -> pd.DataFrame:
    """The audit's summary: ``withheld_values``, ``exposed_values``, ``sets``, ``exposed_sets``."""
    return pd.DataFrame(
        {
            "withheld_values": [len(table)],
            "exposed_values": [int(table["exposed"].sum()) if len(table) else 0],
            "sets": [len(sets)],
            "exposed_sets": [int(sets["exposed"].sum()) if len(sets) else 0],
        }
    )


def _result(
    table: pd.DataFrame, sets: pd.DataFrame, safe: bool, sources: list[str], settings: dict
) -> AuditResult:
    return AuditResult(
        table=table,
        summary=_counts(table, sets),
        sets=sets,
        safe=safe,
        sources=sources,
        settings=settings,
    )


def _percent(series: pd.Series) -> pd.Series:
    """Numbers, reading '85.2%' as 0.852 (a column with any % is read as percent)."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip()
        if text.str.endswith("%").any():
            return pd.to_numeric(text.str.rstrip("%"), errors="coerce") / 100
    return pd.to_numeric(series, errors="coerce")


def _facts(frame: pd.DataFrame) -> pd.DataFrame | None:
    """A published table's rows as facts about cells, or None when it names no cell."""
    columns = {str(c).strip().lower(): c for c in frame.columns}
    time = "year" if "year" in columns else "period" if "period" in columns else None
    if time is None or "group" not in columns or "outcome" not in columns:
        return None
    out = pd.DataFrame(index=frame.index)
    for key in ("partnership", "unit", "outcome", "dimension", "group"):
        out[key] = frame[columns[key]] if key in columns else ""
    out["time"] = frame[columns[time]]
    found = False
    for name, aliases in _FACT_COLUMNS.items():
        source = next((columns[a] for a in aliases if a in columns), None)
        if source is None:
            out[name] = np.nan
            continue
        found = True
        values = (
            _percent(frame[source])
            if name.startswith("rate")
            else pd.to_numeric(frame[source], errors="coerce")
        )
        out[name] = values.to_numpy(dtype="float64", na_value=np.nan)
    if not found:
        return None
    out["suppressed"] = (
        frame[columns["suppressed"]].astype(str).str.lower().isin(["true", "1", "yes"])
        if "suppressed" in columns
        else False
    )
    return out


def _records(value: Any) -> list[pd.DataFrame]:
    """Every list of records and every record inside a JSON value."""
    found = []
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        found.append(pd.DataFrame(value))
    elif isinstance(value, Mapping):
        if all(not isinstance(v, list | Mapping) for v in value.values()):
            found.append(pd.DataFrame([value]))
        for v in value.values():
            found.extend(_records(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_records(v))
    return found


def _html_tables(text: str) -> list[pd.DataFrame]:
    """Every ``<table>`` of an HTML text (none when it has none)."""
    import io

    if "<table" not in text:
        return []
    try:
        return pd.read_html(io.StringIO(text))
    except ValueError:  # no table pandas can read
        return []


def _notebook_tables(path: Path) -> list[pd.DataFrame]:
    """The tables in the ``text/html`` data of an executed notebook's outputs."""
    import nbformat

    tables = []
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                tables.extend(_html_tables("".join(html) if isinstance(html, list) else html))
    return tables


#: File types a report folder is read for (module notes).
_READ = (".csv", ".xlsx", ".json", ".ipynb", ".html", ".htm")


def _published(source: Any) -> tuple[list[pd.DataFrame], list[str]]:
    """Tables that a folder, file, table or list of them publishes, and their names."""
    if isinstance(source, pd.DataFrame):
        return [source], ["table"]
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"nothing to audit at {path}")
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            tables, names = [], []
            for file in files:
                t, nm = _published(file) if file.suffix.lower() in _READ else ([], [])
                tables += t
                names += nm
            return tables, names
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return [pd.read_csv(path)], [path.name]
        if suffix == ".xlsx":
            # calamine (Rust) reads the same values as openpyxl in a tenth of the time.
            sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
            return list(sheets.values()), [f"{path.name}:{s}" for s in sheets]
        if suffix == ".json":
            records = _records(json.loads(path.read_text(encoding="utf-8")))
            return records, [f"{path.name}[{i}]" for i in range(len(records))]
        if suffix == ".ipynb":
            tables = _notebook_tables(path)
            return tables, [f"{path.name} output {i}" for i in range(len(tables))]
        if suffix in (".html", ".htm"):
            tables = _html_tables(path.read_text(encoding="utf-8", errors="replace"))
            return tables, [f"{path.name} table {i}" for i in range(len(tables))]
        return [], []
    if isinstance(source, Iterable):
        tables, names = [], []
        for i, item in enumerate(source):
            t, nm = _published(item)
            tables += t
            names += [f"table {i}" if n == "table" else n for n in nm]
        return tables, names
    raise TypeError(
        f"audit_disclosure reads a folder, files or DataFrames, not {type(source).__name__}"
    )


def _merged(facts: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.Series]:
    """One row per cell of the facts read (the first count, the narrowest range), and the
    first rate read of each."""
    allf = pd.concat(facts, ignore_index=True)
    for key in KEYS:
        allf[key] = allf[key].astype(object).where(allf[key].notna(), "").astype(str)
    # Dimension from another table when a table names only the group.
    known_dims = (
        allf[allf["dimension"] != ""]
        .drop_duplicates(["outcome", "group"])
        .set_index(["outcome", "group"])["dimension"]
    )
    blank = allf["dimension"] == ""
    if blank.any():
        fill = pd.MultiIndex.from_frame(allf.loc[blank, ["outcome", "group"]]).map(
            lambda k: known_dims.get(k, "all" if k[1] == ALL_STUDENTS else "")
        )
        allf.loc[blank, "dimension"] = list(fill)
    grouped = allf.groupby(list(KEYS), sort=False)
    merged = grouped.agg(
        numerator=("numerator", "first"),
        denominator=("denominator", "first"),
        rate_low=("rate_low", "max"),
        rate_high=("rate_high", "min"),
    )
    rate = grouped["rate"].first()
    merged = merged.reset_index()
    return merged, rate


def _described(
    keys: pd.DataFrame, attack: Attack, *, min_n: int, spread: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The attack's ranges as the audit's ``table`` and ``sets``, with the cells' keys and
    the reasons in words."""
    names_map = {"n": "numerator", "d": "denominator", "c": "complement"}
    cells = attack.cells
    table = pd.concat(
        [keys.iloc[cells["row"].to_numpy()].reset_index(drop=True), cells.drop(columns="row")],
        axis=1,
    )
    table["value"] = table["value"].map(names_map)
    table["reason"] = np.where(
        table["exposed"],
        np.where(
            table["high"].isna(),
            "its range could not be verified",
            f"determined to within {spread - 1} students",
        ),
        "",
    )
    sets = attack.sets
    if len(sets):
        first = sets["rows"].map(lambda r: r[0]).to_numpy()
        base = keys.iloc[first][
            ["partnership", "unit", "outcome", "time", "dimension"]
        ].reset_index(drop=True)
        groups = sets["rows"].map(lambda r: ", ".join(keys["group"].to_numpy()[list(r)]))
        sets = pd.concat([base, sets.drop(columns=["set"]).reset_index(drop=True)], axis=1)
        sets.insert(5, "cells", groups.to_numpy())
        sets["value"] = sets["value"].map(names_map)
        sets["reason"] = np.where(
            sets["exposed"],
            np.where(
                sets["value"] == "denominator",
                f"certainly fewer than {min_n} students",
                "all-or-none outcome",
            ),
            "",
        )
        sets = sets.drop(columns=["rows"])
    return table, sets


def audit_disclosure(
    source: str | os.PathLike[str] | pd.DataFrame | Sequence[Any],
    *,
    min_n: int = 10,
    spread: int = DEFAULT_SPREAD,
    links: Iterable[tuple[str, str]] | None = None,
    partitions: Iterable[str] | None = None,
    units_partition: bool | None = None,
) -> AuditResult:
    """Feasible range of every withheld count, given everything published.

    Parameters
    ----------
    source : path, DataFrame or sequence of them
        A report folder (every CSV, workbook, JSON file, notebook and HTML page in it, at
        any depth: see "What is read" in the module notes), one such file, a published
        table, or a list of these.
    min_n : int
        Smallest group that may be published (default 10): an isolated set with certainly
        fewer students is exposed.
    spread : int
        A withheld value whose feasible range spans fewer students is exposed (default 3:
        determined to within one student).
    links, partitions, units_partition
        As in :func:`~c2c_analysis.privacy.suppress` (defaults: the catalogue's outcome
        links and partitions; school units add up to their partnership where counts leave
        it open).

    Returns
    -------
    AuditResult
        ``.table`` (every withheld value's range), ``.sets``, ``.safe``.

    Notes
    -----
    Each fact is a linear constraint on non-negative integer counts (``0 <= n <= d``):
    published counts fix a value, a rate ``r`` printed with ``k`` decimals gives
    ``|n - r d| <= 0.5 10^-k d``, a range gives ``low d <= n <= high d``, and the links give
    equations and inequalities (module notes). The range of each withheld value is the
    minimum and maximum of a linear program; a fractional optimum is solved again as an
    integer program. Conflicting facts about one cell keep the first.

    Examples
    --------
    >>> import pandas as pd
    >>> published = pd.DataFrame({
    ...     "partnership": "p", "outcome": "hs_graduation", "year": 2019,
    ...     "dimension": ["all", "race_ethnicity", "race_ethnicity", "race_ethnicity"],
    ...     "group": ["All students", "Asian", "Black", "White"],
    ...     "numerator": [170, None, 40, 125], "denominator": [200, None, 50, 144]})
    >>> result = audit_disclosure(published)
    >>> result.safe
    False
    >>> print(result.table[["group", "value", "low", "high"]].to_string(index=False))
    group       value  low  high
    Asian   numerator  5.0   5.0
    Asian denominator  6.0   6.0
    Asian  complement  1.0   1.0
    """
    tables, names = _published(source)
    facts = [f for f in (_facts(t) for t in tables) if f is not None]
    used = [nm for nm, t in zip(names, tables, strict=True) if _facts(t) is not None]
    settings = {"min_n": min_n, "spread": spread}
    empty_cells = pd.DataFrame(columns=[*KEYS, "value", "low", "high", "exposed", "reason"])
    if not facts:
        return _result(empty_cells, pd.DataFrame(), True, used, settings)
    merged, rate = _merged(facts)
    know0 = knowledge_from_table(
        merged.assign(rate=rate.to_numpy(), rate_low=np.nan, rate_high=np.nan)
    )
    low = np.fmax(know0.rate_low, merged["rate_low"].to_numpy())
    high = np.fmin(know0.rate_high, merged["rate_high"].to_numpy())
    keys, virtual = with_totals(merged[list(KEYS)])
    extra = len(keys) - len(merged)
    pad = np.full(extra, np.nan)
    num = np.r_[merged["numerator"].to_numpy(dtype="float64"), pad]
    den = np.r_[merged["denominator"].to_numpy(dtype="float64"), pad]
    structure = linked_structure(
        keys,
        num,
        den,
        partitions=PARTITIONS if partitions is None else partitions,
        links=OUTCOME_LINKS if links is None else tuple(links),
        units_partition=units_partition,
    )
    know = Knowledge(num, den, np.r_[low, pad], np.r_[high, pad])
    targets = ~virtual & (~np.isfinite(num) | ~np.isfinite(den))
    attack = run_attack(structure, know, targets, min_n=min_n, spread=spread, exact=True)
    table, sets = _described(keys, attack, min_n=min_n, spread=spread)
    safe = not bool(table["exposed"].any()) and not (len(sets) and bool(sets["exposed"].any()))
    return _result(table, sets, safe, used, settings)
