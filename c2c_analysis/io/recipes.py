"""Reading recipes: how a file that is not in the canonical layout becomes the canonical table.

A recipe is a YAML file or a dict. Every key is optional; a recipe says only what differs
from the canonical layout::

    name: Illinois chronic absenteeism          # named in messages
    sheet: Data                                 # Excel: the sheet (name or 0-based number)
    header_row: 3                               # the header's row (1 = first line)
    encoding: utf-16-le                         # default: detected
    delimiter: ";"                              # default: detected
    decimal: ","                                # European numbers: 0,85 and 1.500
    thousands: "."
    drop: [Notes]                               # columns to leave out
    filter: {Report Type: 4-year}               # keep rows where a column has this value
    exclude: {School Type: [Charter]}           # leave out rows with these values
    columns: {District Code: partnership, Tested: denominator}
    rename: {LEAID: nces_leaid}                 # other columns, where present, under our names
    constants: {outcome: middle_grade_math}
    values: {outcome: {4yr: hs_graduation}}     # value maps, after the mapping
    melt:                                       # wide by group code: NUM_BLK, DEN_BLK, ...
      pattern: '^(?P<measure>NUM|DEN)_(?P<group>[A-Z]+)$'
      measures: {NUM: numerator, DEN: denominator}
      groups: {ALL: All students, BLK: Black, HSP: Hispanic/Latino}
    year: {column: Entry Year, offset: 4}       # a cohort's entry year + 4
    markers: ['*', 'N<10']                      # more suppression markers
    no_students: ['.']                          # cells meaning "no students": rows left out
    rate_codes: true                            # rates such as 80-84, GE95 become ranges
    rates_in_percent: true                      # the rates' unit (default: from the values)
    ids: {NCESSCH: SCHNAM, LEAID: LEANM}        # id columns (finest first) and their names,
                                                # for a partnership mapping and ``unit``

Melt patterns are regular expressions over the column names with named parts: ``measure``
(mapped by ``measures`` to a value column; without it every matched column goes to
``value``, default ``rate``), ``group`` (mapped by ``groups``: a label, or
``[dimension, label]``), ``year`` (mapped by ``years`` where given, e.g. ``{Year_1: 2019,
Year_2: 2018}``, then read like a year column) and ``outcome`` (mapped by ``outcomes``).
Columns the pattern does not match are kept on every row.

Years are read from ``2015``, ``2014-15``, ``2014-2015``, ``1415``, ``SY 2014-15`` or
``2015-06-30``; ``offset`` is added (an entry year + 4 is the class-of year).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.schema import COLUMNS, did_you_mean, is_suppression_marker
from c2c_analysis.validation import DataValidationError

__all__ = ["Recipe", "apply_recipe", "list_recipes", "load_recipe"]

_TARGETS = (*COLUMNS, "period", "partnership_name", "unit")
#: The canonical columns that hold a number of a row (the rest are keys and labels).
VALUE_COLUMNS = ("numerator", "denominator", "rate", "rate_low", "rate_high")
_KEYS = (
    "name",
    "description",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "decimal",
    "thousands",
    "drop",
    "filter",
    "exclude",
    "columns",
    "rename",
    "constants",
    "values",
    "melt",
    "year",
    "markers",
    "no_students",
    "rate_codes",
    "rates_in_percent",
    "ids",
)
_MELT_KEYS = ("pattern", "measures", "groups", "outcomes", "years", "value", "dimension")
_PARTS = ("measure", "group", "year", "outcome", "dimension")
_SHIPPED = Path(__file__).with_name("recipes")


@dataclass(frozen=True)
class Recipe:
    """A validated reading recipe (see the module's documentation for every key)."""

    name: str = ""
    description: str = ""
    sheet: str | int | None = None
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str = "."
    thousands: str | None = None
    drop: tuple[str, ...] = ()
    filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    rename: Mapping[str, str] = field(default_factory=dict)
    constants: Mapping[str, Any] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    melt: Mapping[str, Any] | None = None
    year: Mapping[str, Any] | None = None
    markers: tuple[str, ...] = ()
    no_students: tuple[str, ...] = ()
    rate_codes: bool = False
    rates_in_percent: bool | None = None
    ids: Mapping[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The recipe as a plain dict (keys left at their defaults are omitted)."""
        default = Recipe()
        out = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value != getattr(default, key):
                out[key] = _plain(value)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def list_recipes() -> list[str]:
    """Names of the example recipes shipped with the package (pass one to ``load_recipe``).

    Examples
    --------
    >>> "chronic_absence_wide_by_group" in list_recipes()
    True
    """
    return sorted(p.stem for p in _SHIPPED.glob("*.yaml"))


def load_recipe(spec: Recipe | Mapping[str, Any] | str | os.PathLike[str]) -> Recipe:
    """Read and check a recipe: a :class:`Recipe`, a dict, a YAML file, or a shipped name.

    Raises
    ------
    DataValidationError
        Listing every problem of the recipe (unknown keys with suggestions, wrong types,
        melt patterns that do not compile or lack a ``group``/``year``/``measure`` part,
        targets that are not canonical columns).
    FileNotFoundError
        If a path does not exist and is not a shipped recipe's name.

    Examples
    --------
    >>> recipe = load_recipe({"columns": {"District": "partnership"},
    ...                       "constants": {"outcome": "hs_graduation"}})
    >>> recipe.columns
    {'District': 'partnership'}
    >>> load_recipe({"colums": {}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    c2c_analysis.validation.DataValidationError: recipe: 1 problem found
      - column 'colums': unknown recipe key; did you mean 'columns'?
    """
    if isinstance(spec, Recipe):
        return spec
    source = "recipe"
    if not isinstance(spec, Mapping):
        import yaml

        path = Path(spec)
        if not path.exists() and (_SHIPPED / f"{spec}.yaml").exists():
            path = _SHIPPED / f"{spec}.yaml"
        if not path.exists():
            known = ", ".join(list_recipes())
            raise FileNotFoundError(f"no such recipe file: {path} (shipped recipes: {known})")
        source = path.name
        try:
            spec = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
        except yaml.YAMLError as error:
            raise _recipe_error(source, [(None, f"is not valid YAML: {error}")]) from None
        if not isinstance(spec, Mapping):
            raise _recipe_error(source, [(None, "must be a mapping of keys to settings")])
    return _check(dict(spec), source)


def _recipe_error(source: str, items: list[tuple[str | None, str]]) -> DataValidationError:
    return DataValidationError(
        [{"row": None, "column": key, "value": "", "problem": text} for key, text in items],
        source=source,
    )


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(str(v) for v in value)
    return (str(value),)


def _check(spec: dict[str, Any], source: str) -> Recipe:
    # Long because it checks every key of a recipe, one short block per key in the order the recipe
    # format documents them.
    problems: list[tuple[str | None, str]] = []
    for key in spec:
        if key not in _KEYS:
            problems.append((str(key), "unknown recipe key" + did_you_mean(str(key), _KEYS, n=1)))
    out: dict[str, Any] = {}
    for key in ("name", "description", "encoding", "delimiter", "decimal", "thousands"):
        if spec.get(key) is not None:
            out[key] = str(spec[key])
    if out.get("decimal", ".") not in (".", ","):
        problems.append(("decimal", "must be '.' or ','"))
    if "thousands" in out and out["thousands"] not in (",", ".", " ", "'", ""):
        problems.append(("thousands", "must be ',', '.', ' ' or \"'\""))
    if "thousands" in out and out.get("decimal", ".") == out["thousands"]:
        problems.append(("thousands", "must differ from decimal"))
    if "encoding" in out:
        import codecs

        try:
            codecs.lookup(out["encoding"])
        except LookupError:
            problems.append(("encoding", f"unknown encoding {out['encoding']!r}"))
    if "sheet" in spec:
        out["sheet"] = spec["sheet"]
    if "header_row" in spec:
        row = spec["header_row"]
        if isinstance(row, bool) or not isinstance(row, int) or row < 1:
            problems.append(("header_row", "must be a whole number, 1 for the first row"))
        else:
            out["header_row"] = row
    if "drop" in spec:
        out["drop"] = _strings(spec["drop"])
    for key in ("filter", "exclude"):
        if key in spec:
            if not isinstance(spec[key], Mapping):
                problems.append((key, "must map a column to a value or a list of values"))
            else:
                out[key] = {str(c): _strings(v) for c, v in spec[key].items()}
    for key, allowed in (("columns", _TARGETS), ("constants", _TARGETS)):
        if key not in spec:
            continue
        if not isinstance(spec[key], Mapping):
            problems.append((key, "must be a mapping"))
            continue
        for theirs, ours in spec[key].items():
            target = ours if key == "columns" else theirs
            if str(target) not in allowed:
                problems.append(
                    (
                        f"{key}.{theirs}",
                        f"{target!r} is not a canonical column"
                        + (did_you_mean(str(target), allowed, n=1) or f" ({', '.join(allowed)})")
                        + (
                            "; keep other columns under a new name with rename:"
                            if key == "columns"
                            else ""
                        ),
                    )
                )
        out[key] = {str(k): (str(v) if key == "columns" else v) for k, v in spec[key].items()}
    if "rename" in spec:
        if not isinstance(spec["rename"], Mapping):
            problems.append(("rename", "must be a mapping"))
        else:
            out["rename"] = {str(k): str(v) for k, v in spec["rename"].items()}
            clash = [v for v in out["rename"].values() if v in _TARGETS]
            if clash:
                problems.append(("rename", f"{clash[0]!r} is canonical: map it under columns:"))
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, Mapping) or not all(
            isinstance(v, Mapping) for v in values.values()
        ):
            problems.append(("values", "must map a column to {their value: our value}"))
        else:
            out["values"] = {str(c): {str(k): v for k, v in m.items()} for c, m in values.items()}
    if "melt" in spec:
        out["melt"] = _check_melt(spec["melt"], problems)
    if "year" in spec:
        year = spec["year"]
        if isinstance(year, str):
            year = {"column": year}
        if not isinstance(year, Mapping):
            problems.append(("year", "must be a column name or {column: ..., offset: ...}"))
        else:
            for key in year:
                if key not in ("column", "offset"):
                    problems.append((f"year.{key}", "unknown key (use column and offset)"))
            offset = year.get("offset", 0)
            if isinstance(offset, bool) or not isinstance(offset, int):
                problems.append(("year.offset", "must be a whole number of years"))
            out["year"] = {"column": str(year.get("column", "year")), "offset": offset}
    for key in ("markers", "no_students"):
        if key in spec:
            out[key] = _strings(spec[key])
    for key in ("rate_codes", "rates_in_percent"):
        if key in spec and spec[key] is not None:
            if not isinstance(spec[key], bool):
                problems.append((key, "must be true or false"))
            else:
                out[key] = spec[key]
    if "ids" in spec:
        ids = spec["ids"]
        if isinstance(ids, str):
            ids = [ids]
        if isinstance(ids, list | tuple):
            ids = dict.fromkeys(ids)
        if not isinstance(ids, Mapping):
            problems.append(("ids", "must map id columns (finest first) to name columns"))
        else:
            out["ids"] = {str(k): (None if v is None else str(v)) for k, v in ids.items()}
    if problems:
        raise _recipe_error(source, problems)
    return Recipe(**out)


def _check_melt(melt: Any, problems: list[tuple[str | None, str]]) -> dict[str, Any] | None:
    if not isinstance(melt, Mapping) or "pattern" not in melt:
        problems.append(("melt", "must give at least a pattern (a regular expression)"))
        return None
    for key in melt:
        if key not in _MELT_KEYS:
            problems.append(
                (f"melt.{key}", "unknown key" + did_you_mean(str(key), _MELT_KEYS, n=1))
            )
    try:
        pattern = re.compile(str(melt["pattern"]))
    except re.error as error:
        problems.append(("melt.pattern", f"is not a regular expression: {error}"))
        return None
    parts = set(pattern.groupindex)
    for part in parts - set(_PARTS):
        problems.append(("melt.pattern", f"unknown part (?P<{part}>...); use {', '.join(_PARTS)}"))
    if not parts & {"group", "year", "measure", "outcome"}:
        problems.append(
            (
                "melt.pattern",
                "needs a named part: (?P<group>...), (?P<year>...) or (?P<measure>...)",
            )
        )
    out: dict[str, Any] = {"pattern": pattern.pattern}
    for key in ("measures", "groups", "outcomes", "years"):
        if key in melt:
            if not isinstance(melt[key], Mapping):
                problems.append((f"melt.{key}", "must map codes to values"))
                continue
            out[key] = {str(k): v for k, v in melt[key].items()}
    for code, target in out.get("measures", {}).items():
        if target not in VALUE_COLUMNS and target not in _TARGETS:
            problems.append(
                (
                    f"melt.measures.{code}",
                    f"{target!r} is not a canonical column"
                    + did_you_mean(str(target), VALUE_COLUMNS, n=1),
                )
            )
    for code, label in out.get("groups", {}).items():
        if isinstance(label, list | tuple) and len(label) != 2:
            problems.append((f"melt.groups.{code}", "must be a label or [dimension, label]"))
    if "measure" in parts and "measures" not in out:
        problems.append(("melt.measures", "the pattern has a measure part: map its codes"))
    value = str(melt.get("value", "rate"))
    if value not in _TARGETS:
        problems.append(("melt.value", f"{value!r} is not a canonical column"))
    out["value"] = value
    if "dimension" in melt:
        out["dimension"] = str(melt["dimension"])
    return out


# --- applying a recipe -------------------------------------------------------------------


def _filtered(n: Mapping[str, int]) -> str:
    return f"{n['n']} row(s) left out by the recipe's filter/exclude"


_FILTERED = _filtered
_NOTE_ORDER = ("filter", "units", "melt", "melt_blank", "year", "no_students", "markers")


class Tally:
    """A recipe's reading notes, counted over the chunks of a file and written once.

    Each note counts rows (and the rows of each group); over the chunks the counts are
    summed and the note reads as the whole file read at once gives it, in the same order.
    The filters' hits are gathered too: a filter that keeps no row of the whole file is
    an error naming the values the column holds (:meth:`finish`). Passed to
    :func:`apply_recipe` for each chunk of a file read in chunks.

    Examples
    --------
    >>> tally = Tally()
    >>> tally.add("year", {"n": 2}, None, lambda c: f"{c['n']} rows")
    >>> tally.add("year", {"n": 3}, None, lambda c: f"{c['n']} rows")
    >>> tally.notes()
    ['5 rows']
    """

    def __init__(self) -> None:
        self.items: dict[str, list[Any]] = {}
        self.hits: dict[str, list[Any]] = {}

    def add(
        self,
        key: str,
        counts: Mapping[str, int],
        groups: pd.Series | None,
        render: Any,
    ) -> None:
        item = self.items.setdefault(key, [dict.fromkeys(counts, 0), None, render])
        for name, value in counts.items():
            item[0][name] += value
        if groups is not None:  # summed in the order the groups first appear
            item[1] = {} if item[1] is None else item[1]
            for group, value in groups.items():
                item[1][group] = item[1].get(group, 0) + int(value)

    def filtered(self, column: str, wanted: tuple[str, ...], hit: bool, text: pd.Series) -> None:
        seen = self.hits.setdefault(column, [wanted, False, []])
        seen[1] = seen[1] or bool(hit)
        if not seen[1]:
            seen[2] = sorted({*seen[2], *sorted(set(text))[:10]})[:10]

    def finish(self, where: str | None) -> None:
        """Raise the error of filters that kept no row of the whole file."""
        problems = [
            {
                "row": None,
                "column": column,
                "value": ", ".join(wanted),
                "problem": "the recipe's filter keeps no row; the column holds "
                + ", ".join(repr(s) for s in seen),
            }
            for column, (wanted, hit, seen) in self.hits.items()
            if not hit
        ]
        if problems:
            raise DataValidationError(problems, source=where)

    def notes(self) -> list[str]:
        keys = sorted(self.items, key=lambda k: _NOTE_ORDER.index(k.split(":")[0]))
        out = []
        for key in keys:
            counts, groups, render = self.items[key]
            text = render(counts)
            if groups is not None:
                counted = pd.Series(groups, dtype="int64")
                text += _which_text(counted.sort_values(ascending=False, kind="stable"))
            out.append(text)
        return out


def apply_recipe(
    frame: pd.DataFrame,
    recipe: Recipe | Mapping[str, Any] | str | os.PathLike[str],
    *,
    lines: Any = None,
    source: str | None = None,
    partnership: Any = None,
    rates_in_percent: bool | None = None,
    nested: str = "district",
    _tally: Tally | None = None,
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Turn a frame read from a file (every cell as read) into canonical columns.

    Parameters
    ----------
    frame : DataFrame
        The file's table under its own headers. Not modified.
    recipe : recipe
        See :func:`load_recipe`.
    lines : array-like, optional
        The file line of each row (default: the index).
    source : str, optional
        Named in errors.
    partnership : str, mapping or path, optional
        One slug for every row, or a mapping from ids to partnership slugs (a dict or a
        two-column CSV, :func:`~c2c_analysis.io.units.read_unit_map`): only mapped rows are
        kept (the others are counted in a note) and each row's school or district is named
        in ``unit``. The ids are looked up in the recipe's ``ids`` columns, else in the
        column it maps to ``partnership``.
    rates_in_percent : bool, optional
        The unit of exact rate codes (``rate_codes: true``): default the recipe's, else
        decided on the whole column: percent when some code is above 1, written with ``%``
        or beside ranges; proportions (with a note) when every exact code is at or below
        1; a mix of codes at or below 1 with codes above is an error naming the rows.
    nested : {"district", "schools", "raise"}
        With a partnership mapping, what to keep of a district whose own rows (a blank
        school id, as ED Data Express lists them) are kept beside its schools' rows, which
        they contain: the district's rows (default), the schools', or an error. A note says
        what was left out; students are never counted twice.

    Returns
    -------
    (DataFrame, ndarray, list of str)
        The table under canonical names (plus kept columns), the file line of each of its
        rows, and the reading notes (rows filtered or left out, melts, markers). Validate it
        with :func:`~c2c_analysis.validate_outcomes` or read files with
        :func:`~c2c_analysis.read_outcomes` (``recipe=``), which does both.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"District": ["Springfield"], "Year": ["2018-19"],
    ...                      "CEALL": ["1200"], "RALL": ["0.2"], "CEBLK": ["*"], "RBLK": ["*"]})
    >>> recipe = {"columns": {"District": "partnership"},
    ...           "constants": {"outcome": "chronic_absence"},
    ...           "melt": {"pattern": "^(?P<measure>CE|R)(?P<group>[A-Z]+)$",
    ...                    "measures": {"CE": "denominator", "R": "rate"},
    ...                    "groups": {"ALL": "All students", "BLK": "Black"}}}
    >>> table, lines, notes = apply_recipe(wide, recipe)
    >>> table[["group", "denominator", "rate", "suppressed"]].values.tolist()
    [['All students', '1200', '0.2', False], ['Black', '', '', True]]
    """
    # Long because of its docstring and of the recipe's steps (drop, filter, partnership mapping,
    # rename, melt, constants, values, year, rate codes), applied in the documented order; each step
    # is a few lines.
    # ``_tally``: the frame is one chunk of a file; its notes are counted in the tally (and
    # written by it once every chunk was applied), a filter that keeps none of the chunk's
    # rows is no error (the tally decides for the whole file). Not for partnership
    # mappings or rate codes, which need the whole file.
    recipe = load_recipe(recipe)
    where = source or recipe.name or None
    problems: list[dict[str, Any]] = []
    notes: list[str] = []
    tally = Tally() if _tally is None else _tally
    lines = np.asarray(list(frame.index) if lines is None else list(lines), dtype=object)
    headers = [str(c) for c in frame.columns]
    data = frame.copy()
    data.columns = headers

    def missing(column: str, key: str) -> bool:
        if column in headers:
            return False
        problems.append(
            {
                "row": None,
                "column": column,
                "value": "",
                "problem": f"the recipe's {key} names a column not in the file"
                + (did_you_mean(column, headers) or f" (columns found: {', '.join(headers[:12])})"),
            }
        )
        return True

    for column in recipe.drop:
        if not missing(column, "drop"):
            data = data.drop(columns=column)
    keep = np.ones(len(data), dtype=bool)
    for key, rule in (("filter", recipe.filter), ("exclude", recipe.exclude)):
        for column, wanted in rule.items():
            if missing(column, key):
                continue
            text = data[column].map(lambda v: "" if v is None or v != v else str(v).strip())
            hit = text.isin([w.strip() for w in wanted]).to_numpy()
            if key == "filter" and _tally is not None:
                _tally.filtered(column, wanted, bool(hit.any()), text)
            elif key == "filter" and not hit.any():
                seen = sorted(set(text))[:10]
                problems.append(
                    {
                        "row": None,
                        "column": column,
                        "value": ", ".join(wanted),
                        "problem": "the recipe's filter keeps no row; the column holds "
                        + ", ".join(repr(s) for s in seen),
                    }
                )
            keep &= hit if key == "filter" else ~hit
    if not keep.all():
        tally.add("filter", {"n": int((~keep).sum())}, None, _FILTERED)
    data, lines = data.loc[keep].reset_index(drop=True), lines[keep]

    columns = dict(recipe.columns)
    if partnership is not None:
        from c2c_analysis.io.units import is_unit_map_path, select_units

        ids = list(recipe.ids.items()) or [
            (theirs, None) for theirs, ours in recipe.columns.items() if ours == "partnership"
        ]
        if not ids and "partnership" in headers:
            ids = [("partnership", None)]
        for theirs, name in ids:
            missing(theirs, "ids")
            if name is not None:
                missing(name, "ids")
        if problems:
            raise DataValidationError(problems, source=where)
        if not ids and isinstance(partnership, str) and not is_unit_map_path(partnership):
            data["partnership"] = partnership
        else:
            data, lines, unit_notes = select_units(
                data, partnership, ids=ids, lines=lines, source=where, nested=nested
            )
            for i, note in enumerate(unit_notes):
                tally.add(f"units:{i}", {}, None, lambda _, note=note: note)
        # The mapping gives partnership and unit: the file's columns stay under their names.
        columns = {k: v for k, v in columns.items() if v not in ("partnership", "unit")}

    for theirs in columns:  # rename: is for columns kept where present
        missing(theirs, "columns")
    year_column = recipe.year["column"] if recipe.year else None
    melted_year = bool(recipe.melt and "year" in re.compile(recipe.melt["pattern"]).groupindex)
    if year_column and year_column != "year" and not melted_year:
        missing(year_column, "year")
    if problems:
        raise DataValidationError(problems, source=where)
    data = data.rename(columns={**columns, **recipe.rename})
    if year_column and year_column in data.columns and year_column != "year":
        data = data.rename(columns={year_column: "year"})

    if recipe.melt:
        data, lines = _melt(data, lines, recipe, problems, where, tally)
    if problems:
        raise DataValidationError(problems, source=where)
    for column, value in recipe.constants.items():
        data[column] = value
    for column, mapping in recipe.values.items():
        if column in data.columns:
            text = data[column].map(lambda v: v if not isinstance(v, str) else v.strip())
            data[column] = text.map(lambda v, m=mapping: m.get(str(v), v) if v == v else v)
    if "year" in data.columns:
        offset = recipe.year["offset"] if recipe.year else 0
        data["year"] = _years(data["year"], offset)
        if offset:
            note = f"year is the file's {year_column or 'year'} {offset:+d}"
            tally.add("year", {}, None, lambda _, note=note: note)
    value_columns = [c for c in VALUE_COLUMNS if c in data.columns]
    if recipe.rate_codes and "rate" in data.columns:
        data["rate_code"] = data["rate"].to_numpy()
    data, lines = _values(data, lines, value_columns, recipe, tally)
    if _tally is None:
        notes = tally.notes()
    if recipe.rate_codes and "rate" in data.columns:
        percent = rates_in_percent if rates_in_percent is not None else recipe.rates_in_percent
        data = _rate_codes(data, lines, problems, notes, percent)
    if problems:
        raise DataValidationError(problems, source=where)
    data = data.drop(columns=[c for c in ("__rate_column__",) if c in data.columns])
    return data.reset_index(drop=True), lines, notes


def _melt(
    data: pd.DataFrame,
    lines: np.ndarray,
    recipe: Recipe,
    problems: list,
    where: str | None,
    tally: Tally,
) -> tuple[pd.DataFrame, np.ndarray]:
    # Long because a wide file's columns are matched, grouped into series, stacked and their blank
    # cells told apart from 'no students' in one pass whose intermediate tables are shared.
    melt = recipe.melt or {}
    pattern = re.compile(melt["pattern"])
    measures = melt.get("measures", {})
    groups = melt.get("groups")
    outcomes = melt.get("outcomes")
    kind = recipe.name or "the recipe's"
    pieces: dict[tuple, dict[str, str]] = {}
    matched = []
    for column in data.columns:
        match = pattern.match(str(column))
        if not match:
            continue
        matched.append(column)
        part = match.groupdict()
        if "measure" in part:
            target = measures.get(part["measure"])
            if target is None:
                problems.append(
                    {
                        "row": None,
                        "column": column,
                        "value": part["measure"],
                        "problem": f"unknown {kind} measure code (melt.measures knows "
                        f"{', '.join(measures)})",
                    }
                )
                continue
        else:
            target = melt.get("value", "rate")
        if groups is not None and "group" in part and part["group"] not in groups:
            problems.append(
                {
                    "row": None,
                    "column": column,
                    "value": part["group"],
                    "problem": f"unknown {kind} group code"
                    + (
                        did_you_mean(part["group"], groups, n=1)
                        or f" (melt.groups knows {', '.join(list(groups)[:20])})"
                    ),
                }
            )
            continue
        key = tuple((k, v) for k, v in sorted(part.items()) if k != "measure")
        pieces.setdefault(key, {})[target] = column
    if not matched:
        problems.append(
            {
                "row": None,
                "column": None,
                "value": melt["pattern"],
                "problem": "the recipe's melt pattern matches no column; columns found: "
                + ", ".join(map(str, data.columns[:15])),
            }
        )
        return data, lines
    ids = data.drop(columns=matched)
    rows, line_parts, value_of = [], [], []
    for key, targets in pieces.items():
        part = dict(key)
        piece = ids.copy()
        if "group" in part:
            label = (
                groups.get(part["group"], part["group"]) if groups is not None else part["group"]
            )
            if isinstance(label, list | tuple):
                piece["dimension"], piece["group"] = label[0], label[1]
            else:
                piece["group"] = label
        if "dimension" in melt and "dimension" not in piece:
            piece["dimension"] = melt["dimension"]
        if "dimension" in part:
            piece["dimension"] = part["dimension"]
        if "year" in part:
            piece["year"] = melt.get("years", {}).get(part["year"], part["year"])
        if "outcome" in part:
            piece["outcome"] = (outcomes or {}).get(part["outcome"], part["outcome"])
        for target, column in targets.items():
            piece[target] = data[column].to_numpy()
        # The file's column of each row's rate, for errors that name it.
        piece["__rate_column__"] = targets.get("rate", next(iter(targets.values())))
        rows.append(piece)
        line_parts.append(lines)
        value_of.append(list(targets))
    long = pd.concat(rows, ignore_index=True)
    lines = np.concatenate(line_parts)
    shape = f"{len(matched)} columns melted into {len(pieces)} series of rows"
    tally.add(
        "melt",
        {"long": len(long), "rows": len(data)},
        None,
        lambda n, shape=shape: f"{shape} ({n['long']} rows from {n['rows']})",
    )
    # Rows whose melted cells are all blank: the file has no such group there.
    value_columns = sorted({t for targets in value_of for t in targets})
    blank = np.ones(len(long), dtype=bool)
    nobody = np.zeros(len(long), dtype=bool)
    no_students = {m.strip().lower() for m in recipe.no_students}
    for column in value_columns:
        text = long[column].map(lambda v: "" if v is None or v != v else str(v).strip().lower())
        empty = (text == "").to_numpy()
        none = text.isin(no_students).to_numpy() if no_students else np.zeros(len(long), bool)
        blank &= empty | none
        nobody |= none
    drop_blank = blank & ~nobody
    if drop_blank.any():
        tally.add(
            "melt_blank",
            {"n": int(drop_blank.sum())},
            _group_counts(long, drop_blank),
            lambda n: f"{n['n']} melted row(s) with every value blank left out",
        )
    # Rows meaning "no students" stay for _values, which leaves them out with a note.
    keep = ~drop_blank
    long = long.loc[keep].reset_index(drop=True)
    return long, lines[keep]


def _which(frame: pd.DataFrame, mask: np.ndarray) -> str:
    counts = _group_counts(frame, mask)
    return "" if counts is None else _which_text(counts.sort_values(ascending=False, kind="stable"))


def _group_counts(frame: pd.DataFrame, mask: np.ndarray) -> pd.Series | None:
    """How many masked rows each group has, in the order the groups first appear."""
    if "group" not in frame.columns:
        return None
    return frame.loc[mask, "group"].astype(str).value_counts(sort=False)


def _which_text(counts: pd.Series) -> str:
    """' (Black 3, White 1)': groups and their rows, most first."""
    return (
        " ("
        + ", ".join(f"{g} {c}" for g, c in counts.head(8).items())
        + (" ..." if len(counts) > 8 else "")
        + ")"
    )


def _values(
    data: pd.DataFrame,
    lines: np.ndarray,
    value_columns: list[str],
    recipe: Recipe,
    tally: Tally,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Markers, "no students" cells and number formats of the value columns."""
    if not value_columns:
        return data, lines
    markers = {m.strip().lower() for m in recipe.markers}
    no_students = {m.strip().lower() for m in recipe.no_students}
    texts = {
        c: data[c].map(lambda v: "" if v is None or v != v else str(v).strip())
        for c in value_columns
    }
    if no_students:
        blank_or_none = np.ones(len(data), dtype=bool)
        nobody = np.zeros(len(data), dtype=bool)
        for column, text in texts.items():
            low = text.str.lower()
            none = low.isin(no_students).to_numpy()
            if column == "denominator":  # a cohort of 0 beside "no students" cells: nobody
                none = none | (low == "0").to_numpy()
            blank_or_none &= none | (low == "").to_numpy()
            nobody |= none
        gone = blank_or_none & nobody
        if gone.any():
            cells = ", ".join(repr(m) for m in recipe.no_students)
            tally.add(
                "no_students",
                {"n": int(gone.sum())},
                _group_counts(data, gone),
                lambda n, cells=cells: (
                    f"{n['n']} row(s) mean no students ({cells} cells, or a "
                    "cohort of 0) and were left out"
                ),
            )
            data, lines = data.loc[~gone].reset_index(drop=True), lines[~gone]
            texts = {c: t.loc[~gone].reset_index(drop=True) for c, t in texts.items()}
    marked = np.zeros(len(data), dtype=bool)
    for column, text in texts.items():
        if column == "rate" and recipe.rate_codes:
            continue  # rate codes carry their own marks (PS) and ranges (LT50)
        low = text.str.lower()
        hit = low.isin(markers).to_numpy(copy=True) if markers else np.zeros(len(data), bool)
        hit |= np.asarray(is_suppression_marker(text.to_numpy(dtype=object)), dtype=bool)
        if recipe.no_students:
            # a lone "no students" cell beside a count: no value, not a withheld one
            data.loc[low.isin(no_students).to_numpy(), column] = ""
        if hit.any():
            data[column] = data[column].astype(object)
            data.loc[hit, column] = ""
            marked |= hit
        if recipe.decimal == "," or recipe.thousands:
            convert = ~hit & (text != "").to_numpy()
            fixed = text[convert]
            if recipe.thousands:
                fixed = fixed.str.replace(recipe.thousands, "", regex=False)
            if recipe.decimal == ",":
                fixed = fixed.str.replace(",", ".", regex=False)
            data[column] = data[column].astype(object)
            data.loc[convert, column] = fixed.to_numpy()
    if marked.any():
        previous = data["suppressed"] if "suppressed" in data.columns else False
        data["suppressed"] = np.where(marked, True, previous)
        tally.add(
            "markers",
            {"n": int(marked.sum())},
            _group_counts(data, marked),
            lambda n: f"{n['n']} row(s) hold suppression markers; they are withheld",
        )
    return data, lines


def _years(values: pd.Series, offset: int) -> pd.Series:
    """Year cells as integers where they can be read (others stay, for validation to name)."""

    def one(value: object) -> object:
        year = _year_of(value)
        return value if year is None else year + offset

    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    return pd.Series(np.array([one(u) for u in uniques], dtype=object)[codes], index=values.index)


_SY = re.compile(r"^(?:sy|fy)?\s*(\d{4})\s*[-/\u2013]\s*(\d{2}|\d{4})$", re.I)


def _year_of(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else None
    if isinstance(value, pd.Timestamp):
        return int(value.year)
    text = str(value).strip()
    if match := _SY.match(text):
        start, end = int(match[1]), match[2]
        end_year = int(end) if len(end) == 4 else start // 100 * 100 + int(end)
        if end_year < start:
            end_year += 100
        return end_year if end_year == start + 1 else None
    if re.fullmatch(r"(?:sy|fy)?\s*\d{4}", text, re.I):
        digits = text[-4:]
        head, tail = int(digits[:2]), int(digits[2:])
        if (head + 1) % 100 == tail:  # two two-digit years: 1415 is 2014-15
            return 2000 + tail if tail < 50 else 1900 + tail
        return int(digits)
    if match := re.fullmatch(r"(\d{4})-\d{2}-\d{2}", text):
        return int(match[1])
    return None


def _rate_codes(
    data: pd.DataFrame,
    lines: np.ndarray,
    problems: list,
    notes: list[str] | None = None,
    rates_in_percent: bool | None = None,
) -> pd.DataFrame:
    """EDFacts-style rate codes: exact percents, ranges and bounds.

    Ranges and bounds (``80-84``, ``GE95``) are percents by their form. The unit of the
    exact codes is decided on the whole column as validation decides a rate column's
    (:func:`c2c_analysis.validation._rate_units`), never guessed: codes above 1, written
    with ``%``, or beside ranges are percents; codes at or below 1 beside those are an
    error listing the rows on each side; a column whose exact codes are all at or below 1
    (some strictly between 0 and 1) is proportions, and one of only 0 and 1 is read as
    proportions (0 % and 100 %), each with a note; ``rates_in_percent`` overrides all."""
    from c2c_analysis.io.edfacts import parse_rate_code

    notes = [] if notes is None else notes
    codes = data["rate"]
    factor, uniques = pd.factorize(codes.astype(object), use_na_sentinel=False)
    parsed = [parse_rate_code(u if not (isinstance(u, str) and u == "") else None) for u in uniques]
    table = np.array([p[:3] for p in parsed], dtype=float)[factor]
    status = np.array([p[3] for p in parsed], dtype=object)[factor]
    signed = np.array([isinstance(u, str) and u.strip().endswith("%") for u in uniques], bool)
    signed = signed[factor] if len(uniques) else np.zeros(0, dtype=bool)
    where = data["__rate_column__"] if "__rate_column__" in data.columns else None
    for i in np.flatnonzero(~np.isin(status, ("exact", "range", "suppressed", "missing"))):
        problems.append(
            {
                "row": lines[i],
                "column": "rate" if where is None else where.iat[int(i)],
                "value": str(data["rate_code"].iat[int(i)]),
                "problem": status[i],
            }
        )
    exact = status == "exact"
    # the exact codes as written (parse_rate_code divided them by 100), without float noise
    published = np.round(table[:, 0] * 100, 10)
    plain = exact & ~signed
    small = plain & (published > 0) & (published <= 1)
    between = plain & (published > 0) & (published < 1)
    large = (exact & (signed | (published > 1))) | (status == "range")
    as_proportions = plain.copy()
    if rates_in_percent is None and small.any() and large.any():
        from c2c_analysis.validation import listed_rows

        problems.append(
            {
                "row": None,
                "column": "rate",
                "value": "",
                "problem": "rate codes mix proportions and percents: exact codes at or below 1 ("
                + listed_rows(lines, small)
                + ") beside codes above 1 or ranges ("
                + listed_rows(lines, large)
                + "); say which with rates_in_percent=True or False",
            }
        )
    elif rates_in_percent is not None:
        kind = "percents" if rates_in_percent else "proportions"
        notes.append(
            f"exact rate codes read as {kind}, as told (rates_in_percent={rates_in_percent})"
        )
    elif small.any() and not large.any():
        # the same rule as a canonical rate column's: values all at or below 1 are
        # proportions (0.83 is 83 %, not 0.83 %); only 0 and 1 could be either
        rates_in_percent = False
        notes.append(
            "every exact rate code is at or below 1: read as proportions (0.83 is 83 %); "
            "pass rates_in_percent=True if they are percents"
            if between.any()
            else "the exact rate codes hold only 0 and 1: read as proportions (0 % and "
            "100 %); pass rates_in_percent=True if they are percents"
        )
    if rates_in_percent is False:
        table[as_proportions, 0] = published[as_proportions]
    out = data.copy()
    out["rate"], out["rate_low"], out["rate_high"] = table[:, 0], table[:, 1], table[:, 2]
    previous = out["suppressed"] if "suppressed" in out.columns else False
    out["suppressed"] = np.where(status == "suppressed", True, previous)
    return out
