"""What a report notebook publishes: tables (CSV and Excel) and recorded results (JSON).

Notebooks call :class:`ReportWriter`; the runner collects what it wrote. Every table passes a
final check that no count column holds fewer than ``min_n`` students (the notebook works on
data already passed through :func:`~c2c_analysis.privacy.suppress`, so this is a guard, not
the suppression itself). Files are written under a temporary name and moved into place.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from c2c_analysis._util import json_safe

__all__ = ["COUNT_COLUMN", "ReportWriter", "small_cells"]

#: Columns that hold counts of students, checked against ``min_n`` before publishing.
COUNT_COLUMN = re.compile(r"^(denominator|n|reference_n|cohort|n_students)$|_denominator$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


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
            _atomic(
                folder / f"{name}.csv", lambda p: table.to_csv(p, index=False, lineterminator="\n")
            )
            _atomic(folder / f"{name}.xlsx", lambda p: _excel(table, p))
        return table

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


def _excel(table: pd.DataFrame, path: Path) -> None:
    frame = table.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            frame[column] = frame[column].dt.tz_localize(None)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name="table")


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if tmp.suffix != path.suffix:
        tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write(tmp)
    os.replace(tmp, path)
