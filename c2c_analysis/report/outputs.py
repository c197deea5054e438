"""What a report notebook publishes: tables (CSV and Excel) and recorded results (JSON).

Notebooks call :class:`ReportWriter`; the runner collects what it wrote. Every table passes a
final check that no count column holds fewer than ``min_n`` students (the notebook works on
data already passed through :func:`~c2c_analysis.privacy.suppress`, so this is a guard, not
the suppression itself). Files are written under a temporary name and moved into place.

Tables are formula-safe: a text cell (or column name) that starts with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return is written with a leading apostrophe, in the CSV and in
the workbook alike, so no spreadsheet reads it as a formula (OWASP's rule against CSV
injection); numbers stay numbers. ``tables/README.txt``, the tables' data dictionary, says
so beside them.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._results import json_safe
from c2c_analysis.report.escape import FORMULA_PREFIXES, formula_safe

__all__ = [
    "COUNT_COLUMN",
    "FORMULA_NOTE",
    "ReportWriter",
    "data_dictionary",
    "formula_safe_table",
    "rounded_table",
    "small_cells",
]

#: Columns that hold counts of students, checked against ``min_n`` before publishing.
COUNT_COLUMN = re.compile(r"^(denominator|n|reference_n|cohort|n_students)$|_denominator$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

#: What the data dictionary (``tables/README.txt``) says about formula safety.
FORMULA_NOTE = (
    "Text cells and column names that begin with =, +, -, @, a tab or a carriage return are "
    "written with a leading apostrophe (') in both the CSV and the Excel file, so that no "
    "spreadsheet runs them as formulas (OWASP's rule against CSV injection); remove the "
    "apostrophe to get the text as the source spelled it. Numbers are written as numbers."
)


def _unsafe(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(FORMULA_PREFIXES) or "\r" in value)


def _cell(value: Any) -> Any:
    value = formula_safe(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def formula_safe_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell and column name made formula-safe.

    See :func:`~c2c_analysis.report.escape.formula_safe`; numeric, boolean and date columns
    are left as they are, and the input is not changed. Carriage returns inside text become
    line feeds: the CSV quotes a cell with a line feed, but a bare carriage return would end
    its row in a spreadsheet and start a new, unchecked one.

    Examples
    --------
    >>> formula_safe_table(pd.DataFrame({"group": ["=1+1", "Black"], "n": [-3, 12]}))
      group   n
    0  '=1+1  -3
    1  Black  12
    """
    columns = table.columns
    if isinstance(columns, pd.MultiIndex):
        safe_columns = columns.map(lambda key: tuple(_cell(part) for part in key))
    else:
        safe_columns = pd.Index([_cell(c) for c in columns], dtype=object)
    frame = None
    for position in range(len(columns)):
        values = table.iloc[:, position]
        dtype = values.dtype
        if (
            pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)
            or isinstance(dtype, pd.PeriodDtype | pd.IntervalDtype)
        ):
            continue
        text = values.astype(str) if isinstance(dtype, pd.CategoricalDtype) else values
        flagged = text.map(_unsafe, na_action="ignore")
        if not flagged.fillna(False).astype(bool).any():
            continue
        if frame is None:
            frame = table.copy()
        # pandas-stubs list no Series for isetitem; pandas takes one (aligned on the index).
        frame.isetitem(position, text.map(_cell, na_action="ignore"))  # type: ignore[arg-type]
    if frame is None and safe_columns.equals(columns):
        return table
    frame = table.copy() if frame is None else frame
    frame.columns = safe_columns
    return frame


def small_cells(table: pd.DataFrame, min_n: int) -> pd.DataFrame:
    """Rows of ``table`` with a student count below ``min_n`` in a count column.

    A numerator may be small when its denominator is not (3 of 40 students): only
    denominators and other group sizes are compared with ``min_n``; numerators are checked
    by the suppression step's ``min_cell`` when a state asks for it.
    """
    columns = [c for c in table.columns if COUNT_COLUMN.search(str(c))]
    if not columns:
        return table.iloc[:0]
    values = table[columns].apply(pd.to_numeric, errors="coerce")
    return table[(values < min_n).any(axis=1)]


class ReportWriter:
    """Writes a notebook's published tables and results into ``output_dir``.

    With an empty ``output_dir`` (exploring in JupyterLab) nothing is written and the
    methods only check and return what they were given.
    """

    def __init__(self, output_dir: str | os.PathLike[str] | None, *, min_n: int = 10) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.min_n = int(min_n)
        self.results: dict[str, Any] = {}
        self._tables: dict[str, list[str]] = {}
        self._dictionaries: dict[str, pd.DataFrame] = {}
        if self.output_dir is not None:
            (self.output_dir / "tables").mkdir(parents=True, exist_ok=True)

    def table(self, name: str, table: pd.DataFrame) -> pd.DataFrame:
        """Publish ``table`` as ``tables/<name>.csv`` and ``.xlsx``; refuse small cells."""
        if not _NAME.match(name):
            raise ValueError(f"table names are lower-case slugs, not {name!r}")
        small = small_cells(table, self.min_n)
        if len(small):
            raise ValueError(
                f"table {name!r} has {len(small)} row(s) with fewer than {self.min_n} students; "
                "suppress first"
            )
        if self.output_dir is not None:
            folder = self.output_dir / "tables"
            safe = formula_safe_table(rounded_table(table))
            dictionary = data_dictionary(safe, name=name)
            _atomic(
                folder / f"{name}.csv", lambda p: safe.to_csv(p, index=False, lineterminator="\n")
            )
            _atomic(folder / f"{name}.xlsx", lambda p: _excel(safe, p, dictionary=dictionary))
            self._tables[name] = [str(c) for c in safe.columns]
            self._dictionaries[name] = dictionary
            _atomic(folder / "README.txt", lambda p: Path(p).write_text(self._dictionary()))
            everything = pd.concat(
                [self._dictionaries[k] for k in sorted(self._dictionaries)], ignore_index=True
            )
            _atomic(
                folder / "data_dictionary.csv",
                lambda p: formula_safe_table(everything).to_csv(
                    p, index=False, lineterminator="\n"
                ),
            )
        return table

    def _dictionary(self) -> str:
        lines = [
            "Published tables",
            "",
            "Each table is written twice: <name>.csv (UTF-8, comma-separated, one header row)",
            "and <name>.xlsx (one sheet, 'table'). Rates are proportions from 0 to 1; columns",
            "whose name ends in _pp are percentage points. Numbers are rounded: percentage",
            "points to 2 decimals, rates to 4 (a hundredth of a percent), other numbers to 6",
            "significant digits. data_dictionary.csv (and each workbook's 'dictionary'",
            "sheet) says what every column means and its unit.",
            "",
            *textwrap.wrap(FORMULA_NOTE, 88),
            "",
        ]
        for name, columns in sorted(self._tables.items()):
            lines += [f"{name}: " + ", ".join(" ".join(c.split()) for c in columns)]
        return "\n".join(lines) + "\n"

    def record(self, name: str, value: Any) -> Any:
        """Record a result (JSON-safe) in ``results.json``; the runner reads it back."""
        self.results[name] = json_safe(value)
        if self.output_dir is not None:
            text = json.dumps(self.results, indent=2, sort_keys=True)
            _atomic(
                self.output_dir / "results.json",
                lambda p: Path(p).write_text(text, encoding="utf-8"),
            )
        return value


_RATE_NAME = re.compile(
    r"(^|_)(rate|actual|projected|pi_lower|pi_upper|ci_lower|ci_upper|share|centre|center|"
    r"lower|upper)(_|$)"
)


def _unit(name: str) -> str:
    if name.endswith("_pp"):
        return "percentage points"
    if COUNT_COLUMN.search(name) or name in ("numerator", "n_suppressed", "n_small", "n_rows"):
        return "students" if name in ("numerator", "denominator", "n") else "count"
    if name in ("year", "start", "end", "first_year", "last_year", "first_period",
                "last_period", "baseline_first", "baseline_last"):  # fmt: skip
        return "year"
    if _RATE_NAME.search(name) and not name.endswith("_pp"):
        return "proportion (0 to 1)"
    return ""


def rounded_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its float columns rounded for publishing (the input is not changed).

    Percentage points (columns ending ``_pp``) to 2 decimals, rates (proportions from 0 to
    1) to 4, other numbers to 6 significant digits: no float noise such as
    ``8.111400000000001``.

    Examples
    --------
    >>> rounded_table(pd.DataFrame({"change_pp": [8.111400000000001], "rate": [0.5365642],
    ...                             "p_value": [1.521581234e-08]}))
       change_pp    rate       p_value
    0       8.11  0.5366  1.521580e-08
    """
    out = None
    for position, column in enumerate(table.columns):
        values = table.iloc[:, position]
        if not pd.api.types.is_float_dtype(values.dtype):
            continue
        name = str(column)
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        if name.endswith("_pp"):
            rounded = np.round(numbers, 2)
        elif _unit(name) == "proportion (0 to 1)":
            rounded = np.round(numbers, 4)
        else:
            rounded = _significant(numbers, 6)
        if out is None:
            out = table.copy()
        rounded_column = pd.Series(rounded, index=table.index, dtype=values.dtype)
        # pandas-stubs list no Series for isetitem; pandas takes one (aligned on the index).
        out.isetitem(position, rounded_column)  # type: ignore[arg-type]
    return table if out is None else out


def _significant(values: np.ndarray, digits: int) -> np.ndarray:
    """Round to ``digits`` significant digits: k / 10**d of exact integers, so that each
    result is the double nearest its decimal (printed without noise)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(values)))
    decimals = np.clip(digits - 1 - np.nan_to_num(magnitude, nan=0, neginf=0), 0, 300)
    out = values.copy()
    for d in np.unique(decimals[np.isfinite(values)]):  # a handful of distinct scales
        chosen = np.isfinite(values) & (decimals == d)
        out[chosen] = np.round(values[chosen], int(d))
    return out


def data_dictionary(table: pd.DataFrame, *, name: str = "") -> pd.DataFrame:
    """What each column of a published table means: ``table, column, meaning, unit``."""
    from c2c_analysis.report.tables import COLUMNS

    rows = []
    for column in table.columns:
        key = str(column).lstrip("'")
        spec = COLUMNS.get(key)
        meaning = spec.meaning if spec else key.replace("_", " ")
        rows.append({"table": name, "column": str(column), "meaning": meaning, "unit": _unit(key)})
    return pd.DataFrame(rows, columns=["table", "column", "meaning", "unit"])


def _excel(table: pd.DataFrame, path: Path, *, dictionary: pd.DataFrame | None = None) -> None:
    """Write ``table`` (already formula-safe) as a workbook: a workbook's XML cannot hold
    control characters, so they are replaced by U+FFFD (the characters openpyxl's pattern
    names), and time zones are dropped (Excel has none)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    frame = table.copy()
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            frame.isetitem(position, values.dt.tz_localize(None))
        elif not pd.api.types.is_numeric_dtype(values.dtype):
            cleaned = values.map(
                lambda v: ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v,
                na_action="ignore",
            )
            # pandas-stubs list no Series for isetitem; pandas takes one (aligned on the index).
            frame.isetitem(position, cleaned)  # type: ignore[arg-type]
    frame.columns = frame.columns.map(
        lambda c: ILLEGAL_CHARACTERS_RE.sub("\ufffd", c) if isinstance(c, str) else c
    )
    # XlsxWriter writes a workbook in half of openpyxl's time (a report writes six); told
    # to keep every text a text: no formulas, no links made from what looks like a URL.
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(path, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        frame.to_excel(writer, index=False, sheet_name="table")
        if dictionary is not None:
            formula_safe_table(dictionary).to_excel(writer, index=False, sheet_name="dictionary")


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if tmp.suffix != path.suffix:
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)
