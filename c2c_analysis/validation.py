"""Input checks: one place where bad data becomes a clear, complete error.

:func:`validate_outcomes` turns a frame that claims to be an outcome table into the canonical
table of :mod:`c2c_analysis.schema`, or raises :class:`DataValidationError` listing every
problem at once (row, column, value, what was expected). Concerns that do not make the data
unusable are :class:`C2CDataWarning` warnings. Nothing is dropped: unknown columns are kept
after the canonical ones and every row given is a row returned.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import math
import numbers
import re
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd

from c2c_analysis.schema import (
    ALL_STUDENTS,
    COLUMNS,
    DTYPES,
    INDICATORS,
    OUTCOMES,
    RELATED_OUTCOMES,
    SUPPRESSION_MARKERS,
    did_you_mean,
    infer_dimension,
    is_suppression_marker,
    is_total_label,
    normalize_dimension,
    normalize_group,
    slugify,
)

__all__ = [
    "C2CDataWarning",
    "DataValidationError",
    "validate_inputs",
    "validate_outcomes",
]

PROBLEM_COLUMNS = ("row", "column", "value", "problem")
_MAX_LISTED = 25  # problems spelled out in the message; .problems always holds all of them
RATE_TOLERANCE = 0.005  # a rate printed to the whole percent may be off by half a point
MIN_YEAR = 1950
MAX_COUNT = 100_000_000  # more students than any country's cohort: a unit or parsing error

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# Blank cells. "--" and "n/a" are suppression markers (schema.SUPPRESSION_MARKERS), not blanks.
_NA_TOKENS = frozenset({"", "na", "nan", "null", "none", ".", "-", "\u2014", "\u2013"})
# Kept for code that imported it; the vocabulary lives in schema.SUPPRESSION_MARKERS.
_SUPPRESSION_MARKS = SUPPRESSION_MARKERS
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# "1.500" as a count: most likely 1500 written with a European thousands separator.
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_SCHOOL_YEAR = re.compile(r"^(\d{4})\s*[-/\u2013]\s*(\d{2}|\d{4})$")
_TRUE = frozenset({"true", "t", "yes", "y", "1", "suppressed"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})

# Header spellings of real files, compared after column_key().
_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "partnership": ("partnership_id", "partnership_slug", "community", "site"),
    "outcome": ("outcome_id", "indicator", "indicator_id", "measure"),
    "year": ("school_year", "schoolyear", "class_of", "classof", "academic_year"),
    "period": ("month", "date", "period_start"),
    "dimension": ("group_type", "student_group_type", "studentgrouptype", "subgroup_type"),
    "group": ("student_group", "studentgroup", "subgroup", "group_name"),
    "numerator": ("num", "successes", "n_met", "number_met", "met"),
    "denominator": ("denom", "n", "cohort_size", "n_students", "trials"),
    "rate": ("percent", "pct", "percentage", "proportion", "rate_pct", "percent_met", "pct_met"),
    "rate_low": ("rate_lower", "lower", "low"),
    "rate_high": ("rate_upper", "upper", "high"),
    "suppressed": ("suppression", "is_suppressed", "suppress", "suppressed_flag"),
    "source": ("citation", "source_file"),
    "unit": (),
    "partnership_name": (),
}
# Headers that real files use for more than one thing: never mapped without being told.
# "Cohort" holds a cohort's size in some files and its kind ("4 year June") in others;
# "Cohort Year" is the entry year in some files and the class-of year in others.
# "Count" is the students meeting the outcome in some files and the group's size in others
# (a state file's "Count, Percent"); "Total" alike.
_AMBIGUOUS: dict[str, str] = {
    "cohort": "the cohort's size (denominator), its year, or its kind (e.g. '4 year June')",
    "count": "the students meeting the outcome (numerator) or the group's size (denominator)",
    "total": "the group's size (denominator) or the students meeting the outcome (numerator)",
    "cohort_year": "the year the cohort entered 9th grade, or its class-of year",
    "entry_year": "the year the cohort entered 9th grade (a class-of year is entry + 4)",
    "cohort_entry_year": "the year the cohort entered 9th grade (a class-of year is entry + 4)",
}
# The canonical columns an ambiguous header could be: it is left alone (an extra column)
# only when other columns give all of them.
_AMBIGUOUS_TARGETS: dict[str, tuple[str, ...]] = {
    "cohort": ("denominator",),
    "count": ("numerator", "denominator"),
    "total": ("denominator", "numerator"),
}
_YEAR_LIKE = re.compile(r"year|^class_?of$|^sy$|^yr$")
_PERCENT_HEADER = re.compile(r"%|pct|percent", re.I)
_KNOWN = (*COLUMNS, "period", "partnership_name", "unit")
# Optional canonical text columns, kept after the canonical ones: a school or district
# inside the partnership ("530870001 Lincoln High School") and the partnership's own name.
_OPTIONAL_TEXT = ("unit", "partnership_name")


class C2CDataWarning(UserWarning):
    """A data-quality concern that does not make the data unusable."""


class DataValidationError(ValueError):
    """Input that cannot be used, with every problem listed.

    Attributes
    ----------
    problems : DataFrame
        One row per problem: ``row`` (the line number in a file, where the header is line 1,
        or the index label of a DataFrame; empty for problems of a whole column),
        ``column``, ``value`` (as given, as text) and ``problem``.
    source : str or None
        The file (or description) the data came from.
    notes : tuple of str
        What was changed while reading, e.g. rates read as percentages.
    """

    def __init__(
        self,
        problems: pd.DataFrame | Sequence[Mapping[str, Any]],
        *,
        source: str | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        table = pd.DataFrame(problems, columns=list(PROBLEM_COLUMNS)).reset_index(drop=True)
        self.problems = table
        self.source = source
        self.notes = tuple(notes)
        super().__init__(self._message())

    # The number of problems when .problems holds only the first ones (a file validated in
    # chunks, whose problems were written to a file as they were found).
    _total: int | None = None

    def _message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        count = len(self.problems) if self._total is None else self._total
        head = f"{where}{count} problem{'s' if count != 1 else ''} found"
        more = (
            f" (first {_MAX_LISTED} listed; all are in .problems, and "
            "`c2c validate FILE --problems problems.csv` writes them to a file)"
        )
        lines = [head + (more if count > _MAX_LISTED else "")]
        # The rows' cells are whatever the problems hold (numbers, text, None).
        rows = cast("Iterable[Any]", self.problems.head(_MAX_LISTED).itertuples(index=False))
        for item in rows:
            place = []
            if item.row is not None and item.row == item.row and item.row != "":
                place.append(f"row {item.row}")
            if item.column:
                place.append(f"column {item.column!r}")
            value = f" (value {item.value!r})" if item.value not in (None, "") else ""
            lines.append(f"  - {', '.join(place) or 'file'}: {item.problem}{value}")
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def write_problems(self, path: str | Any) -> int:
        """Write every problem to a CSV file: ``line, column, value, problem``.

        ``line`` is the file line (the header is line 1) or the row label of a frame; it is
        empty for problems of a whole column or file. Returns the number of problems written.
        """
        table = _for_csv(self.problems)
        table.to_csv(path, index=False)
        return len(table)


class _FirstProblems(DataValidationError):
    """The first problems of a table validated in chunks, and how many there were in all
    (every one of them was written to a problems file as it was found)."""

    def __init__(
        self,
        problems: pd.DataFrame,
        *,
        count: int,
        source: str | None = None,
        notes: Iterable[str] = (),
    ) -> None:
        self._total = count
        super().__init__(problems, source=source, notes=notes)


# Text starting with a letter, a digit or a space is never a formula: only other cells go
# through the one escaping path (imported when one does, as c2c_analysis.report loads scipy).
_PLAIN_START = re.compile(r"[A-Za-z0-9 ]")


def _for_csv(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems as a problems file holds them: ``line, column, value, problem``, every text
    cell safe from spreadsheets, which would run a value such as ``=cmd()`` as a formula
    (:func:`c2c_analysis.report.escape.formula_safe`, OWASP's rule: text starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe)."""
    table = problems.rename(columns={"row": "line"})
    copied = False
    for column in ("column", "value", "problem"):
        if column not in table.columns:
            continue
        cells = table[column]
        text = cells.map(lambda v: isinstance(v, str) and v != "" and not _PLAIN_START.match(v))
        maybe = text.to_numpy(dtype=bool)
        if not maybe.any():
            continue
        from c2c_analysis.report.escape import formula_safe

        if not copied:
            table, copied = table.copy(), True
        table.loc[maybe, column] = cells[maybe].map(formula_safe)
    return table


class _ProblemsFile:
    """A problems CSV written block by block, in the order the problems are found."""

    def __init__(self, path: str | Any) -> None:
        self.handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.header = True

    def write(self, problems: pd.DataFrame) -> None:
        _for_csv(problems).to_csv(self.handle, index=False, header=self.header)
        self.header = False

    def restart(self) -> None:
        self.handle.seek(0)
        self.handle.truncate()
        self.header = True

    def close(self) -> None:
        self.handle.close()


# --- column names -------------------------------------------------------------------------


def column_key(name: object) -> str:
    """The key a column name is compared by: lower case, runs of other characters as ``_``.

    Parameters
    ----------
    name : object
        A column name as a file prints it.

    Returns
    -------
    str
        The key (the keys of :data:`ALIAS_TO_CANONICAL` are such keys).

    Examples
    --------
    >>> column_key("  School Year (Ending) ")
    'school_year_ending'
    """
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


#: Header spellings of real files (as :func:`column_key` keys) mapped to canonical columns.
ALIAS_TO_CANONICAL = {
    column_key(alias): canonical
    for canonical, aliases in _COLUMN_ALIASES.items()
    for alias in (canonical, *aliases)
}


def _resolve_columns(
    columns: Sequence[Hashable], column_map: Mapping[str, str] | None, *, aliases: bool = True
) -> tuple[dict[int, str], list[dict[str, Any]], str, list[str]]:
    """Map a file's headers, by position, to canonical names.

    Returns the renaming (position -> canonical name, only for recognised columns), the
    problems found, the header of the file's rate column (it may say percent: "Percent
    Met", "rate (%)"), and a note for every alias applied. An alias is applied only when it is
    the one candidate for its column: ambiguous headers (``Cohort``, ``Cohort Year``) and
    several year-like headers are problems that name the candidates.
    """
    problems: list[dict[str, Any]] = []
    renaming: dict[int, str] = {}
    notes: list[str] = []
    names = [str(c) for c in columns]
    repeated = sorted({n for n in names if names.count(n) > 1})
    for name in repeated:
        where = [str(i + 1) for i, n in enumerate(names) if n == name]
        problems.append(
            _problem(
                None,
                name,
                None,
                f"the header appears {len(where)} times (columns {', '.join(where)}); "
                "rename or drop the copies",
            )
        )
    for theirs, ours in dict(column_map or {}).items():
        positions = [i for i, c in enumerate(columns) if c == theirs]
        if not positions:
            close = difflib.get_close_matches(str(theirs), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(
                _problem(None, theirs, None, f"column_map names a column not in the data{hint}")
            )
        elif ours not in _KNOWN:
            problems.append(
                _problem(
                    None, theirs, ours, f"column_map target must be one of {', '.join(_KNOWN)}"
                )
            )
        else:
            renaming[positions[0]] = ours
    mapped_targets = set(renaming.values())
    candidates, ambiguous = _candidates(columns, names, renaming, repeated, aliases=aliases)
    for target, found in candidates.items():
        if target in mapped_targets:
            continue
        clear = [(p, how) for p, how in found if how != "ambiguous"]
        if len(found) == 1 and clear:
            position, how = clear[0]
            renaming[position] = target
            if how == "alias":
                notes.append(f"column {names[position]!r} read as {target!r}")
            continue
        if len(clear) == 1 and target != "year":
            renaming[clear[0][0]] = target
            continue
        if not clear and target == "year" and "period" in candidates:
            continue  # a monthly file with other year-like columns
        problems.append(_unclear_column(target, found, clear, names))
    taken = set(renaming.values())
    for position in ambiguous:
        key = column_key(names[position])
        targets = _AMBIGUOUS_TARGETS.get(key, ("denominator",))
        if set(targets) <= taken:
            continue  # the file says elsewhere what the header would have been
        options = " or ".join(f"{{{names[position]!r}: {t}}}" for t in targets)
        problems.append(
            _problem(
                None,
                names[position],
                None,
                f"the header is ambiguous: it could be {_AMBIGUOUS[key]}; say which with a "
                f"mapping, e.g. a recipe's columns: {options} (or column_map), or drop: [...] "
                "to leave it out",
            )
        )
    rate_header = next((names[p] for p, v in renaming.items() if v == "rate"), "")
    return renaming, problems, rate_header, notes


def _candidates(
    columns: Sequence[Hashable],
    names: list[str],
    renaming: Mapping[int, str],
    repeated: list[str],
    *,
    aliases: bool,
) -> tuple[dict[str, list[tuple[int, str]]], list[int]]:
    """The columns each canonical name could come from (target -> [(position, how)], how
    "exact", "alias" or "ambiguous"), and the positions of ambiguous headers."""
    candidates: dict[str, list[tuple[int, str]]] = {}
    ambiguous: list[int] = []
    for position, column in enumerate(columns):
        if position in renaming or names[position] in repeated:
            continue
        if not aliases:  # our own readers: exact names only, so their extra columns stay
            if column in _KNOWN:
                candidates.setdefault(str(column), []).append((position, "exact"))
            continue
        key = column_key(column)
        canonical = ALIAS_TO_CANONICAL.get(key)
        if canonical is not None:
            how = "exact" if str(column) == canonical else "alias"
            candidates.setdefault(canonical, []).append((position, how))
        elif key in _AMBIGUOUS or _YEAR_LIKE.search(key):
            if _YEAR_LIKE.search(key):
                candidates.setdefault("year", []).append((position, "ambiguous"))
            else:
                ambiguous.append(position)
    return candidates, ambiguous


def _unclear_column(
    target: str,
    found: list[tuple[int, str]],
    clear: list[tuple[int, str]],
    names: list[str],
) -> dict[str, Any]:
    """The problem of a canonical column that several columns (or one unclear) could give."""
    listed = ", ".join(repr(names[p]) for p, _ in found)
    if len(clear) >= 2:
        problem = f"columns {listed} all give {target!r}"
        problem = (
            f"columns {names[clear[0][0]]!r} and {names[clear[1][0]]!r} both give {target!r}"
            if len(found) == 2
            else problem
        )
    else:
        problem = (
            f"{'several columns could be' if len(found) > 1 else 'a column could be'} "
            f"{target!r}: {listed}"
        )
        meaning = next(
            (
                _AMBIGUOUS[column_key(names[p])]
                for p, _ in found
                if column_key(names[p]) in _AMBIGUOUS
            ),
            None,
        )
        if meaning:
            problem += f" ({meaning})"
    return _problem(
        None,
        names[found[0][0]],
        None,
        f"{problem}; say which with a mapping, e.g. a recipe's "
        f"columns: {{{names[found[0][0]]!r}: {target}}} or column_map",
    )


# --- value parsers ------------------------------------------------------------------------
# Each parser turns one raw value into (value, status) with status "ok", "missing",
# "suppressed" (a suppression mark), "percent" (printed with %) or an error text.


def _is_missing(raw: object, *, tokens: frozenset[str] = _NA_TOKENS) -> bool:
    """None, NaN, NA, NaT, or a text cell that is blank or one of ``tokens``."""
    if raw is None or raw is pd.NA or raw is pd.NaT:
        return True
    if isinstance(raw, float) and math.isnan(raw):
        return True
    return isinstance(raw, str) and raw.strip().lower() in tokens


def _parse_number(raw: object) -> tuple[float, str]:
    if _is_missing(raw):
        return math.nan, "missing"
    if isinstance(raw, bool | np.bool_):
        return math.nan, "is not a number"
    if isinstance(raw, numbers.Real | Decimal) and not isinstance(raw, bool):
        value = float(raw)
        return (value, "ok") if math.isfinite(value) else (math.nan, "is not a finite number")
    if not isinstance(raw, str):
        return math.nan, "is not a number"
    text = raw.strip()
    if is_suppression_marker(text):
        return math.nan, "suppressed"
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        return math.nan, "is not a number"
    if not math.isfinite(value):
        return math.nan, "is not a finite number"
    return value, "percent" if percent else "ok"


def _parse_year(raw: object) -> tuple[float, str]:
    if _is_missing(raw):
        return math.nan, "is missing (a year is required)"
    if isinstance(raw, str):
        match = _SCHOOL_YEAR.match(raw.strip())
        if match:
            start, end = int(match[1]), match[2]
            end_year = int(end) if len(end) == 4 else start // 100 * 100 + int(end)
            if end_year < start:
                end_year += 100
            if end_year != start + 1:
                return math.nan, "is not a school year of consecutive years (e.g. 2014-15)"
            return float(end_year), "ok"
    value, status = _parse_number(raw)
    if status not in ("ok",):
        return math.nan, "is not a year (expected an integer such as 2015 or '2014-15')"
    if value != int(value):
        return math.nan, "is not an integer year"
    return value, "ok"


def _parse_bool(raw: object) -> tuple[float, str]:
    if _is_missing(raw) and not (isinstance(raw, str) and raw.strip() in (".", "-")):
        return 0.0, "ok"
    if isinstance(raw, bool | np.bool_):
        return float(raw), "ok"
    if isinstance(raw, numbers.Real) and float(raw) in (0.0, 1.0):
        return float(raw), "ok"
    text = str(raw).strip().lower()
    if text in _TRUE or is_suppression_marker(text):
        return 1.0, "ok"
    if text in _FALSE:
        return 0.0, "ok"
    return math.nan, "is not true/false (expected True, False, yes, no, 1 or 0)"


def _apply(
    series: pd.Series,
    parser: Callable[[object], tuple[float, str]],
    cache: dict[tuple[type, object], tuple[float, str]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column value by value, once per distinct value (files repeat values a lot).
    ``cache`` keeps the parsed values of ``parser`` across calls (the chunks of a file)."""
    if pd.api.types.is_bool_dtype(series.dtype) and parser is _parse_bool and not series.hasnans:
        return series.to_numpy(dtype="float64"), np.full(len(series), "ok", dtype=object)
    if pd.api.types.is_bool_dtype(series.dtype) and parser is not _parse_bool:
        return np.full(len(series), math.nan), np.full(len(series), "is not a number", dtype=object)
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        status = np.where(np.isnan(values), "missing", "ok").astype(object)
        status[np.isinf(values)] = "is not a finite number"
        if parser is _parse_year:
            status[status == "missing"] = "is missing (a year is required)"
            status[(status == "ok") & (values != np.round(values))] = "is not an integer year"
        elif parser is _parse_bool:
            status[status == "missing"] = "ok"
            bad = (status == "ok") & ~np.isin(values, (0.0, 1.0)) & ~np.isnan(values)
            status[bad] = "is not true/false (expected True, False, yes, no, 1 or 0)"
            values = np.where(np.isnan(values), 0.0, values)
        values = np.where(status == "ok", values, np.nan) if parser is not _parse_number else values
        return values, status
    raw = series.to_numpy(dtype=object)
    values = np.empty(len(raw), dtype="float64")
    status = np.empty(len(raw), dtype=object)
    # Files repeat values a lot: parse each distinct one once. The type is part of the key
    # because True == 1 and hash(True) == hash(1), yet only one of them is a count.
    if cache is None:
        cache = {}
    elif len(cache) > 200_000:  # bounded: a file of distinct values
        cache.clear()
    for i, value in enumerate(raw):
        try:
            key = (type(value), value)
            result = cache.get(key)
            if result is None:
                result = cache[key] = parser(value)
        except TypeError:  # unhashable cells (lists, dicts)
            result = parser(value)
        values[i], status[i] = result
    return values, status


def _text(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Trimmed text and a mask of missing cells, computed once per distinct value."""
    raw = series.to_numpy(dtype=object)
    uniques: Any  # the distinct cells (an Index), or every cell where some are unhashable
    try:
        codes, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
    except TypeError:  # unhashable cells: text of each
        codes, uniques = np.arange(len(raw)), raw
    # Only blanks count as missing here: "NA" may be a group's name (Native American).
    texts = ["" if _is_missing(v, tokens=frozenset({""})) else str(v).strip() for v in uniques]
    text = np.array([*texts, ""], dtype=object)[np.where(codes < 0, len(texts), codes)]
    return text, text == ""


def _shown(raw: object) -> str:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw is pd.NA:
        return ""
    return str(raw)


def _problem(row: object, column: object, value: object, problem: str) -> dict[str, Any]:
    return {
        "row": row,
        "column": None if column is None else str(column),
        "value": _shown(value),
        "problem": problem,
    }


# --- the validator ------------------------------------------------------------------------


class _Collector:
    """Accumulates problems for rows selected by boolean masks.

    Problems of rows are kept as blocks of arrays (positions, values, texts), one block per
    check, not one dict per problem: a file whose every row is invalid is collected in a few
    arrays the size of its columns. ``items`` holds the few problems of whole columns."""

    def __init__(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        self.frame = frame
        self.rows = rows
        self.items: list[dict[str, Any]] = []
        # None: a place reserved for a check decided from the whole table (see fill).
        self.blocks: list[tuple[np.ndarray, str, np.ndarray, np.ndarray] | None] = []

    def __bool__(self) -> bool:
        return bool(self.items or any(b is not None for b in self.blocks))

    def _block(
        self, mask: np.ndarray, column: str, problem: str | np.ndarray, value_column: str | None
    ) -> tuple[np.ndarray, str, np.ndarray, np.ndarray] | None:
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return None
        source = self.frame.get(value_column or column)
        if source is not None:
            values = np.array([_shown(v) for v in source.to_numpy(dtype=object)[idx]], object)
        else:
            values = np.full(len(idx), "", dtype=object)
        if isinstance(problem, np.ndarray):
            texts = problem[idx].astype(object)
        else:
            texts = np.full(len(idx), problem, dtype=object)
        return idx, str(column), values, texts

    def add(
        self,
        mask: np.ndarray,
        column: str,
        problem: str | np.ndarray,
        value_column: str | None = None,
    ) -> None:
        block = self._block(mask, column, problem, value_column)
        if block is not None:
            self.blocks.append(block)

    def reserve(self) -> int:
        """A place among the checks for one decided later (from the whole table)."""
        self.blocks.append(None)
        return len(self.blocks) - 1

    def fill(self, slot: int, mask: np.ndarray, column: str, problem: str | np.ndarray) -> None:
        self.blocks[slot] = self._block(mask, column, problem, None)

    def whole(self, column: object, problem: str, value: object = None) -> None:
        self.items.append({**_problem(None, column, value, problem), "_position": -1})

    def table(self) -> pd.DataFrame:
        """Problems of whole columns first, then row by row in the order of the data."""
        blocks = [b for b in self.blocks if b is not None]
        self.blocks = list(blocks)
        head = pd.DataFrame(
            [{"_position": -1, **item} for item in self.items],
            columns=[*PROBLEM_COLUMNS, "_position"],
        )
        if not blocks:
            return head.drop(columns="_position").reset_index(drop=True)
        positions = np.concatenate([b[0] for b in blocks])
        order = np.argsort(positions, kind="stable")  # by row, checks in the order made
        positions = positions[order]
        rows = pd.DataFrame(
            {
                "row": self.rows[positions],
                "column": np.concatenate([np.full(len(b[0]), b[1], dtype=object) for b in blocks])[
                    order
                ],
                "value": np.concatenate([b[2] for b in blocks])[order],
                "problem": np.concatenate([b[3] for b in blocks])[order],
            }
        )
        whole = head[head["_position"] < 0].drop(columns="_position")
        placed = head[head["_position"] >= 0]
        if len(placed):  # problems added as dicts for given rows (duplicate keys)
            rows["_position"] = positions
            rows = pd.concat([rows, placed], ignore_index=True)
            rows = rows.sort_values("_position", kind="stable").drop(columns="_position")
        return (
            pd.concat([whole, rows], ignore_index=True)
            if len(whole)
            else rows.reset_index(drop=True)
        )


class _NullCollector(_Collector):
    """The first pass over a table read in chunks gathers evidence only, not problems."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        return None

    def fill(self, *args: Any, **kwargs: Any) -> None:
        return None


def validate_outcomes(
    data: pd.DataFrame, *, source: str | None = None, rates_in_percent: bool | None = None
) -> pd.DataFrame:
    """Check an outcome table and return its normalized canonical copy.

    Parameters
    ----------
    data : DataFrame
        A table in the canonical layout of :mod:`c2c_analysis.schema`. Column names are
        matched ignoring case and spacing, and common spellings are recognised
        (``School Year``, ``Student Group``, ``Percent``...). Monthly indicators use
        ``period`` in place of ``year``. The frame is not modified.
    source : str, optional
        Where the data came from, named in error messages and used for a missing ``source``
        column.
    rates_in_percent : bool, optional
        Whether the rate columns are percents (True) or proportions (False). Default:
        decided per column from its values (percent when some value is above 1 or written
        with ``%``; a column mixing values at or below 1 with such values is an error that
        lists the rows on each side); the warnings state the decision.

    Returns
    -------
    DataFrame
        The canonical columns first (dtypes of :data:`~c2c_analysis.schema.DTYPES`), then
        any other columns unchanged, same rows and index. Normalized: partnership slugs in
        lower case; dimension and group labels mapped to ours (``"Black/ African American"``
        becomes ``"Black"``); school years such as ``"2014-15"`` become their ending year;
        rate columns in percent divided by 100 (with a warning); ``rate`` filled from the
        counts where it was missing; ``suppressed`` set where a value was a suppression mark
        such as ``*`` or ``N<10``.

    Raises
    ------
    DataValidationError
        Listing every problem: missing required columns; empty tables; missing or invalid
        keys; years that are not integers or are implausible (before 1950 or after next
        year); counts that are negative, fractional or not numbers; numerators above
        denominators; rates outside [0, 1] (or 0-100 when read as percent); a rate column
        mixing proportions and percents; a rate, range or numerator on a denominator of 0
        (0/0 is no group of students, not a 0 % one); rates that contradict the counts by
        more than half a percentage point; bounds out of order; duplicate (partnership,
        ``unit`` where present, outcome, year, dimension, group) keys.

    Warns
    -----
    C2CDataWarning
        Rates read as percentages; outcome ids not in the catalogue; partnership names
        changed into slugs; rows with no value that are not marked suppressed; suppression
        marks read in value columns.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"partnership": ["tacoma"], "outcome": ["hs_graduation"],
    ...                     "year": ["2014-15"], "dimension": ["Race/Ethnicity"],
    ...                     "group": ["Black/ African American"], "numerator": [324],
    ...                     "denominator": [400]})
    >>> table = validate_outcomes(raw)
    >>> table[["year", "dimension", "group", "rate"]].to_dict("records")
    [{'year': 2015, 'dimension': 'race_ethnicity', 'group': 'Black', 'rate': 0.81}]
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"validate_outcomes expects a pandas DataFrame, not {type(data).__name__}")
    return validate_table(data, source=source, rates_in_percent=rates_in_percent)


def _listed(picked: Sequence[object], count: int) -> str:
    """'rows 2, 5 and 3 more': the first labels of some rows and how many there are."""
    shown = [str(r) for r in picked]
    more = count - len(shown)
    word = "row" if count == 1 else "rows"
    return f"{word} {', '.join(shown)}" + (f" and {more} more" if more > 0 else "")


def listed_rows(rows: np.ndarray, mask: np.ndarray, *, limit: int = 8) -> str:
    """'rows 2, 5 and 3 more': the labels of the masked rows, for a problem's text.

    Parameters
    ----------
    rows : numpy.ndarray
        The row labels (file line numbers for files).
    mask : numpy.ndarray of bool
        The rows to list.
    limit : int, default 8
        Labels spelled out; the rest are counted.

    Returns
    -------
    str
        ``"row 2"``, ``"rows 2, 5"`` or ``"rows 2, 5 and 3 more"``.

    Examples
    --------
    >>> import numpy as np
    >>> listed_rows(np.array([2, 3, 5, 7]), np.array([True, False, True, True]), limit=2)
    'rows 2, 5 and 1 more'
    """
    return _listed(rows[mask][:limit], int(mask.sum()))


class _RateEvidence:
    """What decides a rate column's unit, gathered chunk by chunk: how many plain values
    are at or below 1 (``small``), above 1 or written with % (``large``), strictly between 0
    and 1, and plain at all, with the first rows of each side for the error that lists them."""

    limit = 8

    def __init__(self) -> None:
        self.small = self.large = self.between = self.plain = 0
        self.small_rows: list[object] = []
        self.large_rows: list[object] = []

    def add(self, values: np.ndarray, status: np.ndarray, rows: np.ndarray) -> None:
        plain = status == "ok"
        small = plain & (values > 0) & (values <= 1)
        large = (plain & (values > 1)) | (status == "percent")
        self.plain += int(plain.sum())
        self.between += int((plain & (values > 0) & (values < 1)).sum())
        self.small += int(small.sum())
        self.large += int(large.sum())
        for mask, kept in ((small, self.small_rows), (large, self.large_rows)):
            if len(kept) < self.limit and mask.any():
                kept.extend(rows[mask][: self.limit - len(kept)].tolist())


def _rate_units(
    evidence: Mapping[str, _RateEvidence],
    *,
    rate_header: str,
    rates_in_percent: bool | Mapping[str, bool] | None,
    whole: list[dict[str, Any]],
    notes: list[str],
    told: str | None,
) -> dict[str, bool | None]:
    """Whether each rate column is in percent, decided per column and never guessed.

    A column is in percent when its values are in percent form: some plain value above 1,
    or values written with ``%``. Plain values at or below 1 beside those are a mix only
    the user can resolve (0.84 may be 84 % or 0.84 %): an error that lists the rows on each
    side, unless ``rates_in_percent`` says which. Zeros read alike either way and decide
    nothing. A column of values at or below 1 is proportions; one of only 0 and 1 is
    ambiguous and follows the other rate columns' decision, with a note either way.
    A mapping ``{column: bool}`` (a reader whose bounds are proportions already, while its
    ``rate`` follows the caller) fixes the unit of the columns it names; the others are
    decided as above.
    """
    # Long because it is one decision table: a unit told per column, told for every column, or
    # decided from the values, each branch with the note it reports; split, the order of the notes
    # would be spread over several functions.
    if not evidence:
        return {}
    if isinstance(rates_in_percent, Mapping):
        fixed = {c: bool(v) for c, v in rates_in_percent.items() if c in evidence}
        rest = {c: e for c, e in evidence.items() if c not in fixed}
        if "rate" in fixed and told is None:
            kind = "percentages and divided by 100" if fixed["rate"] else "proportions"
            notes.append(f"rates read as {kind}, as told (rates_in_percent={fixed['rate']})")
        decided_rest = _rate_units(
            rest,
            rate_header=rate_header,
            rates_in_percent=None,
            whole=whole,
            notes=notes,
            told=told,
        )
        return {**fixed, **decided_rest}
    if rates_in_percent is not None:
        if told is None:
            kind = "percentages and divided by 100" if rates_in_percent else "proportions"
            notes.append(f"rates read as {kind}, as told (rates_in_percent={rates_in_percent})")
        elif told:
            notes.append(told)
        return dict.fromkeys(evidence, bool(rates_in_percent))
    decided: dict[str, bool | None] = {}
    undecided: list[str] = []
    mixed: list[str] = []
    for column, seen in evidence.items():
        if seen.large and seen.small:
            whole.append(
                _problem(
                    None,
                    column,
                    None,
                    "mixes proportions and percents: values at or below 1 ("
                    + _listed(seen.small_rows, seen.small)
                    + ") beside values above 1 or written with % ("
                    + _listed(seen.large_rows, seen.large)
                    + "); say which they are with rates_in_percent=True or False (c2c validate "
                    "--rates-in-percent yes|no, or a recipe's rates_in_percent:)",
                )
            )
            mixed.append(column)
        elif seen.large:
            decided[column] = True
        elif seen.between:
            decided[column] = False
        elif seen.plain:
            undecided.append(column)  # only 0 and 1: 0 % and 100 %, or 0 % and 1 %?
    percent = [c for c, v in decided.items() if v]
    if percent:
        notes.append(
            f"{', '.join(percent)}: rates were read as percentages (values above 1, up to 100, "
            "or written with %) and divided by 100"
        )
    if rate_header and decided.get("rate") is False and _PERCENT_HEADER.search(rate_header):
        notes.append(
            f"the rate column's header {rate_header!r} says percent, but every value is at or "
            "below 1: read as proportions (pass rates_in_percent=True if they are percents)"
        )
    kinds = set(decided.values())
    decided.update(dict.fromkeys(mixed, None))  # an error already: the values are not read
    for column in undecided:
        if len(kinds) == 1:
            decided[column] = next(iter(kinds))
            kind = "percentages" if decided[column] else "proportions"
            notes.append(
                f"{column} holds only 0 and 1: read as {kind}, like the other rate columns"
            )
        else:
            decided[column] = False
            notes.append(
                f"{column} holds only 0 and 1: read as proportions (0 % and 100 %); pass "
                "rates_in_percent=True if they are percents"
            )
    return decided


# Keys hashed to find duplicates; another is tried when two different keys share a hash.
_HASH_KEYS = ("0123456789123456", "c2c-duplicates-2", "c2c-duplicates-3", "c2c-duplicates-4")


class _KeyCollision(Exception):
    """Two different keys gave one 64-bit hash: the check runs again with another hash key."""


@dataclasses.dataclass(eq=False)
class _Chunk:
    """One chunk's parsed columns and problems, between the checks that need the whole
    table (decided by :meth:`_Validation.decide`) and the checks after them."""

    data: pd.DataFrame
    frame: pd.DataFrame
    labels: np.ndarray
    n: int
    found: _Collector
    out: dict[str, Any]
    bad_key: np.ndarray
    names: np.ndarray | None
    clash_slot: int | None
    partnership_name: np.ndarray | None
    parsed: dict[str, tuple[np.ndarray, np.ndarray]] | None  # None once finished


class _Validation:
    """Validation of an outcome table given whole or in chunks (a large file read in parts).

    Every row check runs chunk by chunk, with the row labels (file lines) of the chunk.
    What needs the whole table is gathered chunk by chunk (``parse`` while observing) and
    decided once (``decide``): the number of rows, each rate column's unit, partnership
    names that give one slug, labels and outcome ids to warn about, and duplicate keys (a
    64-bit hash per row key; every candidate duplicate is compared exactly when its chunk
    is checked, and a collision of hashes starts over with another hash key). ``finish``
    then runs the checks that depend on those decisions and gives the chunk's problems, in
    the order :func:`validate_table` reports them for the whole table.

    A table in memory is one chunk: parse, decide, finish. A file is read twice: a first
    pass that only observes, and a second that parses and finishes each chunk again.
    """

    def __init__(
        self,
        columns: Iterable[Hashable],
        *,
        source: str | None,
        column_map: Mapping[str, str] | None = None,
        aliases: bool = True,
        reading: Sequence[str] = (),
        rates_in_percent: bool | Mapping[str, bool] | None = None,
        rates_note: str | None = None,
        hash_key: str = _HASH_KEYS[0],
    ) -> None:
        self.columns = list(columns)
        renaming, column_problems, rate_header, alias_notes = _resolve_columns(
            self.columns, column_map, aliases=aliases
        )
        self.renaming = renaming
        self.extra_positions = [p for p in range(len(self.columns)) if p not in renaming]
        self.column_problems = column_problems
        self.rate_header = rate_header
        self.source = source
        self.rates_in_percent = rates_in_percent
        self.rates_note = rates_note
        self.hash_key = hash_key
        # Read when deciding: a recipe applied chunk by chunk adds its notes while observed.
        self._reading, self._alias_notes = reading, alias_notes
        present = set(renaming.values())
        self.present = present
        self.time = "period" if "period" in present else "year"
        self.rate_columns: list[str] = [
            c for c in ("rate", "rate_low", "rate_high") if c in present
        ]
        keyed = {"partnership", "outcome", self.time, "group"} <= present
        # The dimension is always there when the group is: read, or inferred from the group.
        self.key_columns = [
            k
            for k in ("partnership", "unit", "outcome", self.time, "dimension", "group")
            if keyed and (k in present or k == "dimension")
        ]
        # evidence of the whole table, gathered while observing
        self.observing = True
        self.rows = 0
        self.rates = {c: _RateEvidence() for c in self.rate_columns}
        self.slug_of: dict[str, str] = {}
        self.changed: list[str] = []
        self.inferred: set[str] = set()
        self.unknown_labels: dict[tuple[str, str], str] = {}
        self.unknown_outcomes: list[str] = []
        self.hashes: list[np.ndarray] = []
        self.bad: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        # decisions
        self.whole: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.concerns: list[str] = []
        self.in_percent: dict[str, bool | None] = {}
        self.clash: dict[str, str] = {}
        self.position = 0  # of the next chunk finished
        self.caches: dict[Callable[..., Any], dict[tuple[type, object], tuple[float, str]]] = {}
        # what a valid table's notes count
        self.marked = 0
        self.no_value = 0
        self.no_value_rows: list[object] = []
        self.no_value_groups: dict[object, int] = {}

    # --- the checks of each chunk ---------------------------------------------------------

    def parse(self, data: pd.DataFrame, labels: np.ndarray, *, collect: bool = True) -> _Chunk:
        """Keys, times and rate values of a chunk, and the problems found in them."""
        if list(data.columns) != self.columns:
            data = data.reindex(columns=self.columns)
        frame = pd.DataFrame(
            {name: data.iloc[:, position] for position, name in self.renaming.items()},
            index=data.index,
        )
        n = len(frame)
        found = (_Collector if collect else _NullCollector)(frame, np.asarray(labels, object))
        out: dict[str, Any] = {}
        bad_key = np.zeros(n, dtype=bool)  # rows whose keys could not be read (no duplicate check)
        for column in ("partnership", "outcome", "dimension", "group", "source", *_OPTIONAL_TEXT):
            if column not in frame:
                continue
            text, missing = _text(frame[column])
            if column == "source":
                out[column] = np.where(missing, self.source or "", text)
                continue
            if column in _OPTIONAL_TEXT:  # blank: a row of the partnership as a whole
                out[column] = text
                continue
            found.add(missing, column, "is missing")
            bad_key |= missing
            out[column] = text
        names, clash_slot, partnership_name = None, None, None
        if "partnership" in out:
            names = out["partnership"]
            clash_slot, partnership_name = self._slugs(out, found)
        if "dimension" in out:
            out["dimension"] = _map_unique(
                out["dimension"], lambda d: normalize_dimension(d) if d else ""
            )
        if "group" in out and "dimension" not in out:
            out["dimension"] = self._infer_dimensions(out["group"], found, bad_key)
        if "group" in out:
            bad_key |= self._groups(out, found, n)
        if "outcome" in out and self.observing:
            known = {*OUTCOMES, *INDICATORS, *RELATED_OUTCOMES}
            unknown = set(pd.unique(out["outcome"])) - known - {""}
            self.unknown_outcomes = sorted({*self.unknown_outcomes, *unknown})[:11]

        # time -----------------------------------------------------------------------------
        if "year" in frame:
            years, status = self._apply(frame["year"], _parse_year)
            problem = status != "ok"
            found.add(problem, "year", status)
            latest = _dt.date.today().year + 1
            implausible = ~problem & ((years < MIN_YEAR) | (years > latest))
            found.add(
                implausible, "year", f"is not a plausible year (expected {MIN_YEAR}-{latest})"
            )
            bad_key |= problem | implausible
            out["year"] = years
        if "period" in frame:
            periods, status = _parse_periods(frame["period"])
            problem = status != "ok"
            found.add(problem, "period", status)
            bad_key |= problem
            out["period"] = periods
        parsed = {c: self._apply(frame[c], _parse_number) for c in self.rate_columns}
        chunk = _Chunk(
            data=data,
            frame=frame,
            labels=labels,
            n=n,
            found=found,
            out=out,
            bad_key=bad_key,
            names=names,
            clash_slot=clash_slot,
            partnership_name=partnership_name,
            parsed=parsed,
        )
        if self.observing:
            self._observe(chunk)
        return chunk

    def _groups(self, out: dict[str, Any], found: _Collector, n: int) -> np.ndarray:
        """Our labels for the groups in ``out`` (per dimension), the checks of total rows
        among them; the rows whose key is bad for it."""
        bad = np.zeros(n, dtype=bool)
        dims = out.get("dimension", np.full(n, None, dtype=object))
        d_codes, d_values = pd.factorize(pd.Series(dims, dtype=object), use_na_sentinel=False)
        g_codes, g_values = pd.factorize(pd.Series(out["group"], dtype=object))
        codes, pairs = pd.factorize(d_codes.astype(np.int64) * (len(g_values) + 1) + g_codes)
        mapped = []
        for pair in pairs.tolist():
            d, g = d_values[pair // (len(g_values) + 1)], g_values[pair % (len(g_values) + 1)]
            mapped.append(normalize_group(g, d if d else None) if g else "")
        out["group"] = np.array(mapped, dtype=object)[codes] if n else np.array([], object)
        if "dimension" in out:
            wrong = (
                (out["dimension"] == "all") & (out["group"] != ALL_STUDENTS) & (out["group"] != "")
            )
            found.add(wrong, "group", f"dimension 'all' needs group {ALL_STUDENTS!r}")
            bad |= wrong
            total = _map_unique(out["group"], lambda g: bool(g) and is_total_label(g))
            total = total.astype(bool)
            inside = total & (out["dimension"] != "all") & (out["dimension"] != "")
            found.add(
                inside,
                "group",
                "is a total row inside a dimension: give it dimension 'all' (group "
                f"{ALL_STUDENTS!r}) or leave it out with a recipe filter",
            )
            bad |= inside
            if self.observing:
                self._unknown_labels(out["dimension"], out["group"])
        return bad

    def _apply(
        self, series: pd.Series, parser: Callable[[object], tuple[float, str]]
    ) -> tuple[np.ndarray, np.ndarray]:
        return _apply(series, parser, self.caches.setdefault(parser, {}))

    def _slugs(self, out: dict[str, Any], found: _Collector) -> tuple[int, np.ndarray | None]:
        """Slugs in place of the names in ``out['partnership']``; a place among the checks
        for names that give one slug (decided from the whole table), and the names as given
        where any changed (for ``partnership_name``)."""
        names = out["partnership"]

        def slug_of(text: str) -> str:
            if not text:
                return ""
            try:
                return slugify(text)
            except ValueError:
                return "<no slug>"

        codes, uniques = pd.factorize(pd.Series(names, dtype=object), use_na_sentinel=False)
        given = np.asarray(uniques, dtype=object)
        slugs = np.array([slug_of(v) for v in given], dtype=object)
        invalid = slugs == "<no slug>"
        slugs[invalid] = ""
        found.add(
            invalid[codes],
            "partnership",
            "holds no letter or digit to make a partnership slug from",
        )
        slot = found.reserve()
        changed = (slugs != given) & (slugs != "")
        if self.observing:
            for name, slug in zip(given, slugs, strict=True):
                if slug:
                    self.slug_of.setdefault(name, slug)
            shown = {f"{a!r} -> {b!r}" for a, b in zip(given[changed], slugs[changed], strict=True)}
            if shown:
                self.changed = sorted({*self.changed, *shown})[:6]
        out["partnership"] = slugs[codes] if len(names) else np.array([], dtype=object)
        return slot, (names if changed.any() else None)

    def _infer_dimensions(
        self, groups: np.ndarray, found: _Collector, bad_key: np.ndarray
    ) -> np.ndarray:
        """The dimension each group label implies, for files without a dimension column."""
        dims = _map_unique(groups, lambda g: infer_dimension(g) if g else "")
        unknown = np.array([d is None for d in dims], dtype=bool)
        from c2c_analysis.schema import GROUP_ALIASES

        known = [label for vocab in GROUP_ALIASES.values() for label in set(vocab.values())]
        texts = _map_unique(
            groups,
            lambda g: (
                "the file has no dimension column and this label does not say which "
                f"dimension it belongs to{did_you_mean(g, known)}; add a dimension column or a "
                "recipe constant (dimension: ...)"
            ),
        )
        found.add(unknown, "group", texts)
        bad_key |= unknown
        dims = np.where(unknown, "", dims).astype(object)
        if self.observing:
            self.inferred |= {d for d in pd.unique(dims) if d}
        return dims

    def _unknown_labels(self, dimensions: np.ndarray, groups: np.ndarray) -> None:
        """Labels a standard dimension's vocabulary does not know, with suggestions (the
        first eleven: ten are named and one more says there are more)."""
        from c2c_analysis.schema import GROUP_ALIASES, GROUPS

        if len(self.unknown_labels) > 10:
            return
        pairs = pd.DataFrame({"d": dimensions, "g": groups}).drop_duplicates()
        for d, g in pairs.itertuples(index=False):
            if (d, g) in self.unknown_labels:
                continue
            if d in GROUPS and g and g not in set(GROUP_ALIASES[d].values()):
                self.unknown_labels[(d, g)] = (
                    f"{g!r} in {d}{did_you_mean(g, GROUPS[d], n=1).replace(';', '')}"
                )
                if len(self.unknown_labels) > 10:
                    return

    def _observe(self, chunk: _Chunk) -> None:
        """Gather a chunk's evidence of what is decided from the whole table."""
        self.rows += chunk.n
        for column, (values, status) in (chunk.parsed or {}).items():
            self.rates[column].add(values, status, np.asarray(chunk.labels))
        if self.key_columns:
            self.hashes.append(self._hash(chunk.out))
            self.bad.append(chunk.bad_key)
            labels = np.asarray(chunk.labels)
            if labels.dtype == object and pd.api.types.infer_dtype(labels) == "integer":
                labels = labels.astype(np.int64)  # file lines: 8 bytes each, not a Python int
            self.labels.append(labels)

    def _hash(self, out: Mapping[str, Any]) -> np.ndarray:
        keys = {}
        for k in self.key_columns:
            values = out[k]
            keys[k] = values.to_numpy() if isinstance(values, pd.Series) else values
        return pd.util.hash_pandas_object(
            pd.DataFrame(keys), index=False, hash_key=self.hash_key
        ).to_numpy()

    # --- what needs the whole table ----------------------------------------------------

    def decide(self) -> None:
        """Decide, once every chunk was observed, what needs the whole table."""
        # Long because it lists the decisions that need the whole table in the order their problems
        # and notes are reported; each step is a few lines.
        self.observing = False
        whole = list(self.column_problems)
        if self.rows == 0:
            whole.append(_problem(None, None, None, "the table has no data rows"))
        present = self.present
        required = ["partnership", "outcome", self.time, "group"]
        if "group" not in present:
            required.append("dimension")
        extra = [str(self.columns[p]) for p in self.extra_positions]
        for column in required:
            if column not in present:
                close = difflib.get_close_matches(column, extra, n=1, cutoff=0.6)
                hint = (
                    f"; is {close[0]!r} it? (pass column_map={{{close[0]!r}: {column!r}}})"
                    if close
                    else ""
                )
                whole.append(_problem(None, column, None, f"required column is missing{hint}"))
        if not {"numerator", "denominator"} <= present and "rate" not in present:
            missing = [c for c in ("numerator", "denominator") if c not in present]
            whole.append(
                _problem(
                    None,
                    ", ".join(missing),
                    None,
                    "no value columns: give numerator and denominator, or rate",
                )
            )
        self.in_percent = _rate_units(
            self.rates,
            rate_header=self.rate_header,
            rates_in_percent=self.rates_in_percent,
            whole=whole,
            notes=self.notes,
            told=self.rates_note,
        )
        self.whole = whole

        concerns = [*self._reading, *self._alias_notes]
        if self.changed:
            concerns.append(
                "partnership names changed into slugs (kept in partnership_name): "
                + ", ".join(self.changed[:5])
                + (" ..." if len(self.changed) > 5 else "")
            )
        if self.inferred:
            concerns.append(
                "the file has no dimension column: dimensions inferred from the group labels "
                f"({', '.join(sorted(self.inferred))})"
            )
        if self.unknown_labels:
            listed = list(self.unknown_labels.values())
            concerns.append(
                "group labels not in the dimension's vocabulary (kept as given): "
                + ", ".join(listed[:10])
                + (" ..." if len(listed) > 10 else "")
            )
        if self.unknown_outcomes:
            known = {*OUTCOMES, *INDICATORS, *RELATED_OUTCOMES}
            shown = ", ".join(
                repr(u)
                + did_you_mean(u, known, n=1).replace("; did you mean", " (did you mean")
                + (")" if did_you_mean(u, known, n=1) else "")
                for u in self.unknown_outcomes[:10]
            ) + (" ..." if len(self.unknown_outcomes) > 10 else "")
            concerns.append(f"outcome ids not in the catalogue (kept as custom outcomes): {shown}")
        self.concerns = concerns

        # Names that give one slug: two spellings of one name (case, spacing) are one name.
        pairs = pd.DataFrame(
            {"name": list(self.slug_of), "slug": list(self.slug_of.values())}, dtype=object
        )
        pairs["same"] = pairs["name"].map(lambda t: re.sub(r"\s+", " ", t).casefold())
        pairs = pairs.drop_duplicates(["slug", "same"])
        for value, clash in pairs[pairs["slug"].duplicated(keep=False)].groupby("slug"):
            spellings = " and ".join(repr(t) for t in clash["name"])
            advice = (
                f"the names {spellings} give one partnership slug {value!r}: spell them alike, or "
                "map each to its own slug"
            )
            self.clash.update(dict.fromkeys(clash["name"], advice))
        self._duplicates()

    def _duplicates(self) -> None:
        """Rows whose key hash is repeated (over every row, as pandas' ``duplicated``) and
        whose key could be read: grouped by hash, each group's rows in file order."""
        self.dup_order = np.zeros(0, dtype=np.int64)
        if not self.key_columns:
            return
        # Lean on memory (a file's rows are many): each array is freed once it is used.
        hashes = np.concatenate(self.hashes) if self.hashes else np.zeros(0, np.uint64)
        self.hashes = []
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        del hashes
        same = ordered[1:] == ordered[:-1]
        repeated = np.r_[False, same] | np.r_[same, False] if len(same) else same
        del same
        bad = np.concatenate(self.bad) if self.bad else np.zeros(0, bool)
        self.bad = []
        keep = repeated & ~bad[order] if len(repeated) else np.zeros(len(order), bool)
        del bad, repeated
        members = order[keep]  # positions, grouped by hash, in file order within a group
        kept = ordered[keep]
        del order, ordered, keep
        starts = np.r_[True, kept[1:] != kept[:-1]] if len(kept) else np.zeros(0, bool)
        self.dup_group = np.cumsum(starts) - 1
        self.dup_offsets = np.r_[np.flatnonzero(starts), len(members)]
        sizes = np.diff(self.dup_offsets)
        if (sizes == 1).any() and self.hash_key != _HASH_KEYS[-1]:
            # One readable row beside unreadable ones of the same hash: a collision.
            raise _KeyCollision
        labels = np.concatenate(self.labels) if self.labels else np.zeros(0, object)
        self.labels = []
        self.dup_members = members
        self.dup_labels = labels[members]
        self.dup_order = np.argsort(members, kind="stable")  # entries by position
        self.dup_positions = members[self.dup_order]
        self.dup_first: dict[int, tuple[object, ...]] = {}

    def whole_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.whole, columns=list(PROBLEM_COLUMNS))

    # --- the checks that follow the decisions -----------------------------------------

    def finish(self, chunk: _Chunk) -> pd.DataFrame:
        """The rest of a chunk's checks; its problems in the order of the data."""
        frame, out, found, n = chunk.frame, chunk.out, chunk.found, chunk.n
        row_labels = np.asarray(chunk.labels, dtype=object)
        if chunk.clash_slot is not None and chunk.names is not None and self.clash:
            texts = _map_unique(chunk.names, lambda t: self.clash.get(t, ""))
            found.fill(chunk.clash_slot, texts != "", "partnership", texts)

        # values ---------------------------------------------------------------------------
        marked = self._check_counts(frame, out, found, n)  # a suppression mark stood in a value
        marked |= self._check_rates(chunk.parsed or {}, out, found, n)
        chunk.parsed = None

        if "suppressed" in frame:
            flags, status = self._apply(frame["suppressed"], _parse_bool)
            problem = status != "ok"
            found.add(problem, "suppressed", status)
            out["suppressed"] = (flags == 1) | marked
        else:
            out["suppressed"] = marked

        num, rate, low, high, from_counts = _cross_check(out, found, n)
        self._duplicate_problems(chunk, row_labels)
        problems = found.table()
        self.position += n

        # the normalized copy, and what a valid table's notes count -------------------------
        derived = np.isnan(rate) & ~np.isnan(from_counts)
        out["rate"] = np.where(derived, from_counts, rate)
        self.marked += int(marked.sum())
        no_value = (
            np.isnan(out["rate"])
            & np.isnan(low)
            & np.isnan(high)
            & np.isnan(num)
            & ~out["suppressed"]
        )
        count = int(no_value.sum())
        if count:
            self.no_value += count
            if len(self.no_value_rows) < 5:
                self.no_value_rows += row_labels[no_value][: 5 - len(self.no_value_rows)].tolist()
            if "group" in out:
                counts = pd.Series(out["group"][no_value], dtype=object).value_counts(sort=False)
                for group, times in counts.items():
                    self.no_value_groups[group] = self.no_value_groups.get(group, 0) + int(times)
        return problems

    def _check_counts(
        self, frame: pd.DataFrame, out: dict[str, Any], found: _Collector, n: int
    ) -> np.ndarray:
        """Numerator and denominator read into ``out``; the rows where a suppression mark
        stood in their place."""
        marked = np.zeros(n, dtype=bool)
        for column in ("numerator", "denominator"):
            if column not in frame:
                continue
            values, status = self._apply(frame[column], _parse_number)
            marked |= status == "suppressed"
            errors = ~np.isin(status, ("ok", "missing", "suppressed", "percent"))
            found.add(errors, column, status)
            found.add(status == "percent", column, "is a percentage, expected a count of students")
            ok = status == "ok"
            found.add(ok & (values < 0), column, "is negative (expected a count of students)")
            dotted = (
                ok
                & _map_unique(
                    frame[column].to_numpy(dtype=object),
                    lambda v: isinstance(v, str) and bool(_DOT_THOUSANDS.match(v.strip())),
                ).astype(bool)
                if n
                else np.zeros(0, dtype=bool)
            )
            found.add(
                dotted,
                column,
                "may use '.' as a thousands separator (1.500 = 1500?): set thousands: '.' and "
                "decimal: ',' in a recipe, or write counts without separators",
            )
            fractional = ok & ~dotted & (values >= 0) & (values != np.floor(values))
            found.add(fractional, column, "is fractional (expected a whole number of students)")
            huge = ok & (values > MAX_COUNT)
            found.add(huge, column, f"is implausibly large (more than {MAX_COUNT:,} students)")
            invalid = (
                errors | (status == "percent") | (ok & ((values < 0) | fractional | huge | dotted))
            )
            out[column] = np.where(ok & ~invalid, values, np.nan)

        return marked

    def _check_rates(
        self,
        parsed: dict[str, tuple[np.ndarray, np.ndarray]],
        out: dict[str, Any],
        found: _Collector,
        n: int,
    ) -> np.ndarray:
        """The rate columns in the unit decided for each, into ``out``; the rows where a
        suppression mark stood in their place."""
        marked = np.zeros(n, dtype=bool)
        for column, (values, status) in parsed.items():
            marked |= status == "suppressed"
            errors = ~np.isin(status, ("ok", "missing", "suppressed", "percent"))
            found.add(errors, column, status)
            as_percent = self.in_percent.get(column, False)
            if as_percent is None:  # a mix of proportions and percents: one error said so
                out[column] = np.full(n, np.nan)
                continue
            scaled = np.where(
                status == "percent", values / 100, values / 100 if as_percent else values
            )
            given = np.isin(status, ("ok", "percent"))
            outside = given & ((scaled < 0) | (scaled > 1))
            expected = "0-100 (read as percent)" if as_percent else "[0, 1]"
            found.add(outside & (status == "ok"), column, f"is outside {expected}")
            found.add(outside & (status == "percent"), column, "is outside 0%-100%")
            out[column] = np.where(given & ~outside, scaled, np.nan)
        return marked

    def _duplicate_problems(self, chunk: _Chunk, row_labels: np.ndarray) -> None:
        """Duplicate keys among the chunk's rows, each row naming the others of its key."""
        if not len(self.dup_order):
            return
        start = self.position
        lo, hi = np.searchsorted(self.dup_positions, [start, start + chunk.n])
        if lo == hi:
            return
        out = chunk.out
        keys = pd.DataFrame(
            {k: np.asarray(out[k], dtype=object) for k in self.key_columns}, index=None
        )
        entries = self.dup_order[lo:hi]
        local = self.dup_members[entries] - start
        shown = keys.iloc[local].copy()
        if self.time == "year":
            shown["year"] = shown["year"].map(lambda v: f"{v:.0f}")
        key_text = shown.astype(str).agg(" | ".join, axis=1).to_numpy()
        values = keys.to_numpy(dtype=object)
        for entry, position, text in zip(entries, local, key_text, strict=True):
            group = int(self.dup_group[entry])
            begin, end = self.dup_offsets[group], self.dup_offsets[group + 1]
            key = tuple(values[position])
            first = self.dup_first.setdefault(group, key)
            if first is not key and not _same_key(first, key):
                raise _KeyCollision
            if self.dup_members[end - 1] == position + start:
                del self.dup_first[group]
            own = row_labels[position]
            others = [str(r) for r in self.dup_labels[begin:end] if r != own]
            problem = _problem(
                own,
                "group",
                text,
                f"duplicate key ({', '.join(self.key_columns)}) also in row {', '.join(others)}",
            )
            chunk.found.items.append({**problem, "_position": int(position)})

    # --- the outcome ------------------------------------------------------------------

    def valid_notes(self) -> list[str]:
        """Notes and concerns of a valid table, in the order they are warned."""
        concerns = list(self.concerns)
        if self.marked:
            concerns.append(
                f"{self.marked} value(s) were suppression marks; those rows are marked suppressed"
            )
        if self.no_value:
            shown = ", ".join(str(r) for r in self.no_value_rows)
            groups = (
                _count_text(
                    pd.Series(self.no_value_groups, dtype="int64").sort_values(
                        ascending=False, kind="stable"
                    )
                )
                if "group" in self.present
                else "groups unknown"
            )
            value_columns = ", ".join(
                c for c in ("numerator", "denominator", "rate") if c in self.present
            )
            concerns.append(
                f"{self.no_value} row(s) have no value in "
                f"{value_columns or 'any value column'} and are not marked suppressed: "
                f"{groups} (rows {shown}" + (" ...)" if self.no_value > 5 else ")")
            )
        return self.notes + concerns

    def table(self, chunk: _Chunk) -> pd.DataFrame:
        """The normalized canonical copy of a chunk without problems."""
        out = chunk.out
        if chunk.partnership_name is not None and "partnership_name" not in chunk.frame:
            out["partnership_name"] = chunk.partnership_name
        extra = chunk.data.iloc[:, self.extra_positions]
        return _assemble(out, extra, chunk.data.index, time=self.time, source=self.source)


def _cross_check(
    out: dict[str, Any], found: _Collector, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Counts against each other, against the rate and the rate against its bounds.

    Returns the numerator, rate, rate_low, rate_high and the rate from the counts.
    """
    num = out.get("numerator", np.full(n, np.nan))
    den = out.get("denominator", np.full(n, np.nan))
    over = num > den
    found.add(over, "numerator", _explain(over, num, den, "is larger than the denominator ({1:g})"))
    nobody = den == 0
    empty_group = (
        "with a denominator of 0 (no students): 0/0 is no rate; leave the row out, or mark "
        "it suppressed if the source withheld it"
    )
    found.add(nobody & (num == 0), "numerator", "is 0 " + empty_group)
    for column in ("rate", "rate_low", "rate_high"):
        if column in out:
            found.add(nobody & np.isfinite(out[column]), column, "is given " + empty_group)
    rate = out.get("rate", np.full(n, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        from_counts = np.where(den > 0, num / den, np.nan)
    contradicts = ~over & (np.abs(rate - from_counts) > RATE_TOLERANCE + 1e-9)
    texts = _explain(
        contradicts,
        rate,
        from_counts,
        "contradicts numerator/denominator ({1:.4f}); read as {0:.4f}",
    )
    found.add(contradicts, "rate", texts)
    low = out.get("rate_low", np.full(n, np.nan))
    high = out.get("rate_high", np.full(n, np.nan))
    disordered = low > high
    found.add(
        disordered, "rate_low", _explain(disordered, low, high, "is above rate_high ({1:.4f})")
    )
    between = ~disordered & ((rate < low - 1e-9) | (rate > high + 1e-9))
    found.add(
        between,
        "rate",
        _explain(between, low, high, "lies outside rate_low-rate_high ({0:.4f}-{1:.4f})"),
    )
    return num, rate, low, high, from_counts


def _same_key(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return all(x == y or (x != x and y != y) for x, y in zip(a, b, strict=True))


def validate_table(
    data: pd.DataFrame,
    *,
    source: str | None,
    rows: Iterable[Hashable] | None = None,
    column_map: Mapping[str, str] | None = None,
    aliases: bool = True,
    reading: Sequence[str] = (),
    rates_in_percent: bool | Mapping[str, bool] | None = None,
    rates_note: str | None = None,
) -> pd.DataFrame:
    """The canonical table of ``data``, or a :class:`DataValidationError` listing every problem.

    The engine of :func:`validate_outcomes` and of the package's readers. The table is one
    chunk of the checks; :func:`validate_chunks` runs the same checks over a file read in
    chunks.

    Parameters
    ----------
    data : pandas.DataFrame
        The table to check.
    source : str or None
        Where it came from, for messages and the ``source`` column.
    rows : sequence, optional
        The labels to report for the rows (file line numbers for files); default the index.
    column_map : mapping, optional
        Canonical column -> the column of ``data`` that holds it.
    aliases : bool, default True
        Recognise the header spellings of real files; False matches canonical column names
        exactly (for our readers' output).
    reading : sequence of str, default ()
        Notes from reading the file, reported with the others.
    rates_in_percent : bool or mapping of str to bool, optional
        The rate columns' unit; a mapping fixes the unit of the columns it names. None, and
        the columns a mapping leaves out, are decided per column from the values.
    rates_note : str, optional
        A reader's own statement of the unit (its rates are proportions already), which
        replaces the decision's note.

    Returns
    -------
    pandas.DataFrame
        The canonical table (the columns of :data:`c2c_analysis.schema.COLUMNS`, then any
        other columns given); its notes are warned as :class:`C2CDataWarning`.

    Raises
    ------
    DataValidationError
        Listing every problem found.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"partnership": ["tacoma"], "outcome": ["hs_graduation"],
    ...                     "year": [2015], "dimension": ["all"], "group": ["All students"],
    ...                     "numerator": [81], "denominator": [100]})
    >>> validate_table(raw, source=None)[["year", "group", "rate"]].to_dict("records")
    [{'year': 2015, 'group': 'All students', 'rate': 0.81}]
    """
    labels = np.asarray(list(data.index) if rows is None else list(rows), dtype=object)
    for hash_key in _HASH_KEYS:
        check = _Validation(
            data.columns,
            source=source,
            column_map=column_map,
            aliases=aliases,
            reading=reading,
            rates_in_percent=rates_in_percent,
            rates_note=rates_note,
            hash_key=hash_key,
        )
        try:
            chunk = check.parse(data, labels)
            check.decide()
            problems = check.finish(chunk)
        except _KeyCollision:
            continue
        break
    if check.whole or len(problems):
        if not len(problems):
            table = check.whole_table()
        elif check.whole:
            table = pd.concat([check.whole_table(), problems], ignore_index=True)
        else:
            table = problems
        raise DataValidationError(
            table,
            source=source,
            notes=check.notes + check.concerns,
        )
    for message in check.valid_notes():
        where = f"{source}: " if source else ""
        warnings.warn(where + message, C2CDataWarning, stacklevel=3)
    return check.table(chunk)


class Checked:
    """The outcome of :func:`validate_chunks`.

    Parameters
    ----------
    error : DataValidationError or None
        The first problems, their count and the notes; None for a valid table.
    count : int
        How many problems were found (0 for a valid table).
    summary : dict
        Of a valid table: ``rows``, ``partnerships`` and ``outcomes`` (sets), ``first`` and
        ``last`` time, ``suppressed`` rows and the ``time`` column's name.

    Examples
    --------
    >>> Checked(error=None, count=0, summary={"rows": 3}).count
    0
    """

    def __init__(self, *, error: DataValidationError | None, count: int, summary: dict) -> None:
        self.error = error
        self.count = count
        self.summary = summary


def validate_chunks(
    read: Callable[[], Iterable[tuple[pd.DataFrame, np.ndarray]]],
    *,
    source: str | None,
    column_map: Mapping[str, str] | None = None,
    aliases: bool = True,
    reading: Sequence[str] = (),
    rates_in_percent: bool | Mapping[str, bool] | None = None,
    rates_note: str | None = None,
    problems: str | Any | None = None,
    context: Sequence[str] = (),
    keep: int = _MAX_LISTED,
) -> Checked:
    """Validate a table read in chunks, with the checks and the problems of :func:`validate_table`.

    Parameters
    ----------
    read : callable
        ``read()`` gives the chunks afresh each time it is called (the table is read twice:
        a pass that gathers what needs the whole table, then one that checks each chunk), as
        ``(frame, labels)`` with the same columns in every chunk.
    source, column_map, aliases, reading, rates_in_percent, rates_note
        As for :func:`validate_table`.
    problems : str or file-like, optional
        A CSV file the problems go to as they are found; only their count and the first
        ``keep`` stay in memory.
    context : sequence of str, default ()
        Added to the notes of an error that says a required column is missing.
    keep : int, default 25
        Problems kept in the error.

    Returns
    -------
    Checked
        The first problems or the summary; a valid table's notes are warned as
        :func:`validate_table` warns them, and no table is kept.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> raw = pd.DataFrame({"partnership": ["tacoma"], "outcome": ["hs_graduation"],
    ...                     "year": [2015], "dimension": ["all"], "group": ["All students"],
    ...                     "numerator": [81], "denominator": [100]})
    >>> checked = validate_chunks(lambda: [(raw, np.array([2]))], source=None)
    >>> checked.count, checked.summary["rows"]
    (0, 1)
    """
    sink = _ProblemsFile(problems) if problems is not None else None
    options: dict[str, Any] = {
        "source": source,
        "column_map": column_map,
        "aliases": aliases,
        "reading": reading,
        "rates_in_percent": rates_in_percent,
        "rates_note": rates_note,
    }
    try:
        for hash_key in _HASH_KEYS:
            check = _observed(read, hash_key=hash_key, **options)
            try:
                check.decide()
                result = _check_chunks(check, read, sink, keep)
            except _KeyCollision:
                if sink is not None:
                    sink.restart()
                continue
            break
    finally:
        if sink is not None:
            sink.close()
    count, head, summary = result
    if not count:
        for message in check.valid_notes():
            where = f"{source}: " if source else ""
            warnings.warn(where + message, C2CDataWarning, stacklevel=3)
        return Checked(error=None, count=0, summary=summary)
    notes = check.notes + check.concerns
    if context and any(p["problem"].startswith("required column is missing") for p in check.whole):
        notes += list(context)
    error = _FirstProblems(
        pd.concat(head, ignore_index=True).head(keep), count=count, source=source, notes=notes
    )
    return Checked(error=error, count=count, summary=summary)


def _observed(
    read: Callable[[], Iterable[tuple[pd.DataFrame, np.ndarray]]], **options: Any
) -> _Validation:
    """The first pass: every chunk parsed to gather what needs the whole table."""
    check = None
    for frame, labels in read():
        if check is None:
            check = _Validation(frame.columns, **options)
        check.parse(frame, labels, collect=False)
    if check is None:
        raise ValueError("read() gave no chunk, not even one without rows")
    return check


def _check_chunks(
    check: _Validation,
    read: Callable[[], Iterable[tuple[pd.DataFrame, np.ndarray]]],
    sink: _ProblemsFile | None,
    keep: int,
) -> tuple[int, list[pd.DataFrame], dict[str, Any]]:
    """The second pass: each chunk checked, its problems written and the first kept."""
    whole = check.whole_table()
    if sink is not None:
        sink.write(whole)
    count, head, kept = len(whole), [whole], len(whole)
    summary: dict[str, Any] = {"rows": 0, "partnerships": set(), "outcomes": set()}
    summary.update(first=None, last=None, suppressed=0, time=check.time)
    for frame, labels in read():
        chunk = check.parse(frame, labels)
        problems = check.finish(chunk)
        if len(problems):
            if sink is not None:
                sink.write(problems)
            if kept < keep:
                head.append(problems.head(keep - kept))
                kept += len(head[-1])
            count += len(problems)
        if count or not chunk.n:
            continue
        out = chunk.out
        summary["rows"] += chunk.n
        summary["partnerships"] |= set(pd.unique(out["partnership"]))
        summary["outcomes"] |= set(pd.unique(out["outcome"]))
        times = out[check.time]
        first, last = (
            (int(np.min(times)), int(np.max(times)))
            if check.time == "year"
            else (times.min(), times.max())
        )
        if summary["first"] is None or first < summary["first"]:
            summary["first"] = first
        if summary["last"] is None or last > summary["last"]:
            summary["last"] = last
        summary["suppressed"] += int(np.sum(out["suppressed"]))
    return count, head, summary


def _count_text(counts: pd.Series, *, limit: int = 8) -> str:
    """'Homeless 12, Foster care 3': counts of groups, most frequent first."""
    shown = ", ".join(f"{g or '(no group)'} {c}" for g, c in counts.head(limit).items())
    return shown + (f" and {len(counts) - limit} more groups" if len(counts) > limit else "")


def _explain(mask: np.ndarray, a: np.ndarray, b: np.ndarray, template: str) -> np.ndarray:
    texts = np.full(len(mask), "", dtype=object)
    for i in np.flatnonzero(mask):
        texts[i] = template.format(a[i], b[i])
    return texts


def _map_unique(values: np.ndarray, func: Callable[[str], object]) -> np.ndarray:
    """``func`` of every value, computed once per distinct value."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    return (
        np.array([func(v) for v in uniques], dtype=object)[codes]
        if len(values)
        else np.array([], dtype=object)
    )


def _parse_periods(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates from text or datetimes, and a status per cell ("ok" or what is wrong)."""
    latest = _dt.date.today().year + 1
    implausible = f"is not a plausible date (expected {MIN_YEAR}-{latest})"
    stamps: list[object] = []
    status = np.full(len(series), "ok", dtype=object)
    for i, value in enumerate(series.to_numpy(dtype=object)):
        stamp: object = pd.NaT
        if not (_is_missing(value) or isinstance(value, bool | numbers.Number)):
            try:
                stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
            except (ValueError, TypeError, OverflowError):
                stamp = pd.NaT
        if stamp is pd.NaT:
            status[i] = "is not a date (expected e.g. 2017-01-01 or 2017-01)"
        elif not MIN_YEAR <= stamp.year <= latest:  # type: ignore[attr-defined]
            status[i], stamp = implausible, pd.NaT
        elif stamp.tzinfo is not None:  # type: ignore[attr-defined]
            stamp = stamp.tz_convert(None)  # type: ignore[attr-defined]
        stamps.append(stamp)
    return pd.Series(stamps, dtype="datetime64[ns]"), status


def _assemble(
    out: dict[str, Any], extra: pd.DataFrame, index: pd.Index, *, time: str, source: str | None
) -> pd.DataFrame:
    n = len(index)
    columns: dict[str, Any] = {}
    for column in COLUMNS:
        if column == "year" and time == "period":
            columns["period"] = pd.Series(
                out["period"].to_numpy(), index=index, dtype=DTYPES["period"]
            )
            if "year" not in out:
                continue
        if column == "source" and column not in out:
            values: Any = np.full(n, source or "", dtype=object)
        else:
            values = out.get(column, np.full(n, np.nan))
        dtype = DTYPES[column]
        if dtype == "Int64":
            # pandas-stubs do not take an object array with None for a masked array.
            cells = cast(Any, np.where(np.isnan(values), None, values))
            series = pd.Series(pd.array(cells, dtype="Float64"), index=index)
            columns[column] = series.astype("Int64")
        else:
            # pandas-stubs take only literal dtype names; DTYPES holds them as str.
            columns[column] = pd.Series(values, index=index).astype(cast(Any, dtype))
    for column in _OPTIONAL_TEXT:
        if column in out:
            columns[column] = pd.Series(out[column], index=index, dtype=object)
    result = pd.DataFrame(columns, index=index)
    for column in extra.columns:
        name = column if column not in result.columns else f"{column}_original"
        result[name] = extra[column].to_numpy()
    return result


def validate_inputs(
    data_path: str | Any | None,
    *,
    portfolio_path: str | Any | None = None,
    partnerships: Sequence[str] | None = None,
    recipe: Any = None,
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Check a report's inputs before any notebook starts, with the readers' clear errors.

    Parameters
    ----------
    data_path : path or None
        The outcome file (None: the bundled sample), read with
        :func:`~c2c_analysis.read_outcomes` (and ``recipe`` when given).
    portfolio_path : path, optional
        A strategy portfolio (:func:`~c2c_analysis.read_portfolio`): its partnership,
        outcomes, dimensions and groups must be in the data. Labels are normalised as the
        data's are (``Hispanic`` is ``Hispanic/Latino``).
    partnerships : sequence of str, optional
        Partnerships a report or batch names: each must be a slug present in the data.
    recipe : recipe, optional
        How to read ``data_path`` (see :func:`~c2c_analysis.io.load_recipe`).

    Returns
    -------
    (DataFrame, tuple of str)
        The validated table and the reading notes (the data warnings raised while reading).

    Raises
    ------
    DataValidationError
        Everything found, with "did you mean" suggestions for unknown partnerships, outcomes
        and groups.
    FileNotFoundError
        If a file does not exist.

    Examples
    --------
    >>> table, notes = validate_inputs(None, partnerships=["tacoma"])
    >>> validate_inputs(None, partnerships=["tacomma"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    c2c_analysis.validation.DataValidationError: partnerships: 1 problem found
      - column 'partnership': not in the data; did you mean 'tacoma'? (value 'tacomma')
    """
    from c2c_analysis.io.outcomes import read_outcomes

    if data_path is None:
        from c2c_analysis.datasets import sample_path

        data_path = sample_path("outcomes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", C2CDataWarning)
        table = read_outcomes(data_path, recipe=recipe)
    notes = tuple(str(w.message) for w in caught if issubclass(w.category, C2CDataWarning))
    known = sorted(set(table["partnership"]))
    problems = []
    for name in partnerships or ():
        if name not in known:
            hint = did_you_mean(str(name), known) or (
                f"; the data hold {', '.join(map(repr, known[:8]))}" if known else ""
            )
            problems.append(_problem(None, "partnership", name, f"not in the data{hint}"))
    if problems:
        raise DataValidationError(problems, source="partnerships")
    if portfolio_path is not None:
        check_portfolio(table, portfolio_path)
    return table, notes


def check_portfolio(table: pd.DataFrame, portfolio_path: Any) -> None:
    """Check that a portfolio file's partnership, outcomes and groups are in ``table``.

    Parameters
    ----------
    table : pandas.DataFrame
        A canonical outcome table.
    portfolio_path : str or path-like
        The portfolio file (read with :func:`c2c_analysis.portfolio.read_portfolio`).

    Returns
    -------
    None

    Raises
    ------
    DataValidationError
        Listing every partnership, outcome or group of the portfolio not in the data, with
        the nearest spelling where one is close.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> from c2c_analysis.datasets import sample_path
    >>> check_portfolio(load_sample("outcomes"), sample_path("portfolio"))
    """
    from c2c_analysis.portfolio import read_portfolio

    portfolio = read_portfolio(portfolio_path)
    problems = []
    rows = table[table["partnership"] == portfolio.partnership]
    if rows.empty:
        hint = did_you_mean(portfolio.partnership, sorted(set(table["partnership"])))
        problems.append(
            _problem(None, "partnership", portfolio.partnership, f"not in the data{hint}")
        )
    for strategy in portfolio.strategies:
        outcomes = sorted(set(rows["outcome"]))
        if strategy.outcome not in outcomes:
            problems.append(
                _problem(
                    strategy.id,
                    "outcome",
                    strategy.outcome,
                    f"outcome not in the data for {portfolio.partnership}"
                    + did_you_mean(strategy.outcome, outcomes),
                )
            )
            continue
        dimension = normalize_dimension(strategy.dimension)
        series = rows[(rows["outcome"] == strategy.outcome) & (rows["dimension"] == dimension)]
        groups = sorted(set(series["group"]))
        for label in strategy.groups:
            if normalize_group(label, dimension) not in groups:
                problems.append(
                    _problem(
                        strategy.id,
                        "groups",
                        label,
                        f"group not in the data (dimension {dimension})"
                        + did_you_mean(label, groups or sorted(set(rows["group"]))),
                    )
                )
    if problems:
        raise DataValidationError(problems, source=portfolio.source or "portfolio")
