"""Schools and districts inside a partnership: keep a partnership's units, then combine them.

A national or state file lists every school (or district). A partnership is some of them:
:func:`read_unit_map` reads the mapping from LEA or school ids to partnership slugs (a dict
or a two-column CSV), the readers keep only the mapped rows (:func:`select_units`: the
others are left out with a note, since filtering a national file to one partnership is the
normal use) and name each row's school or district in the optional canonical column
``unit``. :func:`combine_units` then sums the units of each partnership into partnership
rows.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.schema import slugify
from c2c_analysis.validation import DataValidationError

__all__ = ["combine_units", "read_unit_map", "select_units"]

UnitMap = Mapping[Any, str] | str | os.PathLike[str]


def _id_key(value: object) -> str:
    """An id as compared: trimmed text, a number stored by Excel as its digits, and leading
    zeros dropped from all-digit ids ('0100005' and 100005.0 are one LEA)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text


def _text(value: object) -> str:
    """An id as written: trimmed text, a number Excel stored as its digits (no zeros
    dropped: "01147" stays five characters)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _name_key(name: object) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


# Id columns of a known width: an id written shorter lost its leading zeros (an NCES LEA
# id has 7 digits, a school id 12, a Washington OSPI district code 5 as in 01147).
_WIDTHS = {
    "leaid": 7,
    "nces_lea_id": 7,
    "nces_leaid": 7,
    "ncessch": 12,
    "nces_sch_id": 12,
    "nces_schid": 12,
}
# Headers of a mapping file's id column that say which kind of id it holds.
_SCHOOL_HEADERS = frozenset(
    {
        "school_id",
        "school_code",
        "schoolcode",
        "schoolid",
        "school",
        "ncessch",
        "nces_sch_id",
        "nces_schid",
        "sch_id",
        "schid",
    }
)
_DISTRICT_HEADERS = frozenset(
    {
        "lea_id",
        "leaid",
        "lea",
        "lea_code",
        "nces_lea_id",
        "nces_leaid",
        "district_id",
        "district_code",
        "districtcode",
        "districtid",
        "district",
    }
)
# What select_units keeps of a district whose own (district-level) rows and school rows
# are both kept: the district's rows, the schools' rows, or an error.
NESTED = ("district", "schools", "raise")


def _kind_of_column(column: str) -> str | None:
    """'school' or 'district' for an id column named so (NCESSCH, SchoolCode; LEAID, NCES
    LEA ID, DistrictCode), else None."""
    key = _name_key(column)
    if "sch" in key:
        return "school"
    if "lea" in key or "dist" in key:
        return "district"
    return None


def _kind_of_header(header: str) -> str | None:
    """The kind of ids a mapping file's header names: 'school', 'district', a column name
    ('column:<key>'), or None for a header such as 'id' that does not say."""
    key = _name_key(header)
    if key in _SCHOOL_HEADERS:
        return "school"
    if key in _DISTRICT_HEADERS:
        return "district"
    if key in ("", "id", "ids", "code", "unit", "unit_id", "key"):
        return None
    return f"column:{key}"


def _unit_pairs(spec: UnitMap) -> tuple[list[tuple[object, str | None, str, str]], str]:
    """(row, kind, id as written, slug) for every id of a mapping, and its name for
    messages. ``kind`` is None (any id column), 'school', 'district' or 'column:<key>':
    from a mapping file's header (``school_id,partnership``), or the outer keys of a dict
    of dicts (``{"school_id": {"1147": "tacoma"}}``)."""
    problems: list[dict[str, Any]] = []
    raw: list[tuple[object, str | None, object, object]] = []
    where = "partnership mapping"
    if isinstance(spec, Mapping):
        for key, value in spec.items():
            if isinstance(value, Mapping):
                kind = _kind_of_header(str(key))
                if kind is None:
                    problems.append(
                        {
                            "row": str(key),
                            "column": None,
                            "value": str(key),
                            "problem": "a nested mapping's key must name the kind of its ids "
                            "(school_id, lea_id or an id column of the file)",
                        }
                    )
                    continue
                raw += [(k, kind, k, v) for k, v in value.items()]
            else:
                raw.append((key, None, key, value))
    else:
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"no such partnership mapping file: {path}")
        where = path.name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [r for r in csv.reader(handle) if any(c.strip() for c in r)]
        kind = None
        start = 1
        if rows and not any(ch.isdigit() for ch in rows[0][0]):
            kind = _kind_of_header(rows[0][0])
            rows = rows[1:]
            start = 2
        for line, row in enumerate(rows, start=start):
            cells = [c.strip() for c in row if c.strip()]
            if len(cells) != 2:
                problems.append(
                    {
                        "row": line,
                        "column": None,
                        "value": ",".join(row),
                        "problem": "expected two cells: an id and its partnership",
                    }
                )
                continue
            raw.append((line, kind, cells[0], cells[1]))
    out: list[tuple[object, str | None, str, str]] = []
    seen: dict[tuple[str | None, str], str] = {}
    for where_given, kind, key, name in raw:
        try:
            slug = slugify(name)
        except ValueError:
            problems.append(
                {"row": where_given, "column": None, "value": str(name), "problem": "gives no slug"}
            )
            continue
        ident = (kind, _id_key(key))
        if ident in seen and seen[ident] != slug:
            problems.append(
                {
                    "row": where_given,
                    "column": None,
                    "value": str(key),
                    "problem": f"id mapped to both {seen[ident]!r} and {slug!r}",
                }
            )
        seen[ident] = slug
        out.append((where_given, kind, _text(key), slug))
    if problems:
        raise DataValidationError(problems, source=where)
    return out, where


def is_unit_map_path(spec: object) -> bool:
    """Whether ``partnership=`` names a mapping file rather than one slug: a path object, or
    text that no slug can be (it holds a '.', '/' or '\\')."""
    if isinstance(spec, os.PathLike):
        return True
    return isinstance(spec, str) and any(c in spec for c in "./\\")


def read_unit_map(spec: UnitMap) -> dict[str, str]:
    """A mapping from LEA or school ids to partnership slugs, ids as readers compare them.

    Parameters
    ----------
    spec : mapping or path
        ``{id: partnership}``, or a CSV file of two columns (id, partnership); its first row
        is a header when its id cell holds no digit. A header may say which kind of id the
        file holds: ``school_id`` (or ``school_code``, ``NCESSCH``), ``lea_id`` (or
        ``district_code``, ``LEAID``) or the name of the data file's id column; ``id`` does
        not say. A dict says so with dicts: ``{"school_id": {"1147": "tacoma"}}``.
        Partnership names become slugs (``Graduate Tacoma`` -> ``graduate-tacoma``).

    Returns
    -------
    dict
        ``{id key: slug}``; id keys are trimmed text, leading zeros dropped from all-digit
        ids (``0100005`` and ``100005`` are one id), prefixed by their kind where the
        mapping says it (``"school:1147"``). The readers match ids more carefully
        (:func:`select_units`): each id column by itself, zeros dropped only within its
        width.

    Raises
    ------
    DataValidationError
        A file row without two cells, an id given twice with different partnerships, or a
        name that gives no slug.

    Examples
    --------
    >>> read_unit_map({"5308700": "Tacoma", 530870001234: "tacoma"})
    {'5308700': 'tacoma', '530870001234': 'tacoma'}
    """
    pairs, _ = _unit_pairs(spec)
    return {(f"{k}:" if k else "") + _id_key(key): slug for _, k, key, slug in pairs}


def select_units(
    frame: pd.DataFrame,
    partnership: UnitMap | str,
    *,
    ids: Sequence[tuple[str, str | None]],
    lines: np.ndarray | Sequence[object] | None = None,
    source: str | None = None,
    widths: Mapping[str, int] | None = None,
    nested: str = "district",
) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Keep the rows a partnership mapping names; set ``partnership`` and ``unit``.

    Parameters
    ----------
    frame : DataFrame
        Rows of a file. Not modified.
    partnership : str, mapping or path
        One slug for every row, or a mapping from ids to slugs (:func:`read_unit_map`).
    ids : sequence of (id column, name column or None)
        The file's id columns, finest first (school, then district). A row is kept when one
        of its ids is mapped; the finest mapped id decides its partnership. Its ``unit`` is
        its finest id, and that id's name: ``"530870001234 Lincoln High School"``.
    lines : array, optional
        The rows' file lines, filtered alike.
    source : str, optional
        The file, for messages.
    widths : mapping, optional
        ``{id column: digits}`` for id columns of a known width (NCES ids are known).
    nested : {"district", "schools", "raise"}
        What to keep of a district whose own rows (a blank school id) are kept beside rows
        of its schools, which they contain: the district's rows (the partnership's figure
        as the district publishes it), the schools' rows, or an error. Either way a note
        says what was left out; the two are never both kept.

    Returns
    -------
    (DataFrame, array, list of str)
        The kept rows, their lines, and the reading notes (how many rows of other ids were
        left out, mapped ids the file does not hold, nested units left out).

    Raises
    ------
    DataValidationError
        If no id column is in the file, no row is mapped (naming the ids found), one mapped
        id matches ids in two id columns (a district 01147 and a school 1147: say which
        with a mapping file's header ``lea_id`` or ``school_id``), or ``nested="raise"``
        and a kept district contains kept schools.

    Notes
    -----
    Each id column is matched by itself, against the mapping's ids of its kind (a mapping
    that does not say its kind is tried on every column). Ids are compared as written;
    where both are all digits, leading zeros are dropped only for a mapping id no longer
    than the column's width (its longest id, or its known width), so ``100005`` finds the
    LEA ``0100005`` but the district ``01147`` never finds the school ``1147``.
    """
    if nested not in NESTED:
        raise ValueError(f"nested must be one of {', '.join(NESTED)}, not {nested!r}")
    lines = np.asarray(list(frame.index) if lines is None else list(lines), dtype=object)
    present = [(i, n) for i, n in ids if i in frame.columns]
    if not present:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": ", ".join(i for i, _ in ids),
                    "value": "",
                    "problem": "a partnership mapping needs an id column; the file has none of "
                    "these",
                }
            ],
            source=source,
        )
    n = len(frame)
    texts = {i: _map_text(frame[i], _text) for i, _ in present}
    notes: list[str] = []
    if isinstance(partnership, str) and not is_unit_map_path(partnership):
        slug = slugify(partnership)
        keep = np.ones(n, dtype=bool)
        slugs = np.full(n, slug, dtype=object)
    else:
        pairs, where = _unit_pairs(partnership)
        slugs, hits = _match(texts, present, pairs, widths or {})
        _refuse_ambiguous(hits, texts, frame, present, where, source)
        keep = np.array([s is not None for s in slugs], dtype=bool)
        matched = {key for found in hits.values() for key in found}
        unseen = sorted({key for _, _, key, _ in pairs} - matched)
        if not keep.any():
            shown = sorted({k for v in texts.values() for k in v if k})[:8]
            raise DataValidationError(
                [
                    {
                        "row": None,
                        "column": ", ".join(c for c, _ in present),
                        "value": ", ".join(sorted({k for _, _, k, _ in pairs})[:8]),
                        "problem": "no row's id is in the partnership mapping; ids in the file: "
                        + ", ".join(shown),
                    }
                ],
                source=source,
            )
        left = n - int(keep.sum())
        others = len({tuple(texts[c][i] for c, _ in present) for i in np.flatnonzero(~keep)})
        kept_units = len({tuple(texts[c][i] for c, _ in present) for i in np.flatnonzero(keep)})
        notes.append(
            f"partnership mapping: kept {int(keep.sum())} row(s) of {kept_units} unit(s) "
            f"({', '.join(sorted(set(slugs[keep])))})"
            + (f"; left out {left} row(s) of {others} other unit(s)" if left else "")
        )
        keep = _unnest(keep, slugs, texts, present, frame, nested, notes, source)
        if unseen:
            notes.append(
                f"{len(unseen)} mapped id(s) not in the file: {', '.join(unseen[:8])}"
                + (" ..." if len(unseen) > 8 else "")
            )
    kept = frame.loc[keep].reset_index(drop=True)
    unit = np.full(len(kept), "", dtype=object)
    for column, name in reversed(present):  # the finest id with a value names the unit
        text = texts[column][keep]
        label = text
        if name is not None and name in kept.columns:
            names = _map_text(kept[name], _plain)
            label = np.array(
                [f"{t} {m}".strip() if t else "" for t, m in zip(text, names, strict=True)],
                dtype=object,
            )
        unit = np.where(text != "", label, unit)
    kept["partnership"] = slugs[keep]
    kept["unit"] = unit
    return kept, lines[keep], notes


def _stripped(text: str) -> str:
    return text.lstrip("0") or "0"


def _match(
    texts: Mapping[str, np.ndarray],
    present: Sequence[tuple[str, str | None]],
    pairs: Sequence[tuple[object, str | None, str, str]],
    widths: Mapping[str, int],
) -> tuple[np.ndarray, dict[str, set[str]]]:
    """Each row's slug (its finest mapped id's) and, per id column, the mapping ids that
    matched in it."""
    n = len(next(iter(texts.values())))
    slugs = np.full(n, None, dtype=object)
    hits: dict[str, set[str]] = {}
    # A kind no id column of this file has (a header 'name', a school_id beside a file
    # whose id columns are not named so) says nothing here: such ids are tried everywhere.
    kinds = {_kind_of_column(c) for c, _ in present} | {
        f"column:{_name_key(c)}" for c, _ in present
    }
    pairs = [(row, k if k in kinds else None, text, slug) for row, k, text, slug in pairs]
    for column, _ in reversed(present):  # finest last, so it wins
        kind, key = _kind_of_column(column), f"column:{_name_key(column)}"
        values = texts[column]
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
        digits = [len(u) for u in uniques if u.isdigit()]
        width = max([*digits, widths.get(column, _WIDTHS.get(_name_key(column), 0))])
        exact: dict[str, tuple[str, str]] = {}
        loose: dict[str, tuple[str, str]] = {}
        for _, their_kind, text, slug in pairs:
            if their_kind is not None and their_kind not in (kind, key):
                continue
            exact.setdefault(text, (text, slug))
            if text.isdigit() and len(text) <= width:
                loose.setdefault(_stripped(text), (text, slug))
        found = []
        for u in uniques:
            hit = exact.get(u) if u else None
            if hit is None and u.isdigit():
                hit = loose.get(_stripped(u))
            found.append(hit)
        hits[column] = {h[0] for h in found if h is not None}
        if not len(uniques):
            continue
        slug_of = np.array([None if h is None else h[1] for h in found], dtype=object)[codes]
        mapped = np.array([s is not None for s in slug_of], dtype=bool)
        slugs[mapped] = slug_of[mapped]
    return slugs, hits


def _refuse_ambiguous(
    hits: Mapping[str, set[str]],
    texts: Mapping[str, np.ndarray],
    frame: pd.DataFrame,
    present: Sequence[tuple[str, str | None]],
    where: str,
    source: str | None,
) -> None:
    """One mapped id found in two id columns (a district 01147 and a school 1147) is an
    error: which unit it means cannot be told."""
    columns = [c for c, _ in present]
    problems = []
    for key in sorted(set().union(*hits.values())):
        inside = [c for c in columns if key in hits[c]]
        if len(inside) < 2:
            continue
        found = []
        for column in inside:
            values = texts[column]
            match = [
                v
                for v in dict.fromkeys(values)
                if v == key or (v.isdigit() and key.isdigit() and _stripped(v) == _stripped(key))
            ]
            found.append(f"{column} {', '.join(match[:3])}")
        problems.append(
            {
                "row": None,
                "column": ", ".join(inside),
                "value": key,
                "problem": f"the mapped id {key} ({where}) matches ids of more than one kind ("
                + "; ".join(found)
                + "): say which with a mapping file's header (lea_id or school_id, or the "
                "file's id column), a dict such as {'school_id': {...}}, or write the id with "
                "all its digits",
            }
        )
    if problems:
        raise DataValidationError(problems, source=source)


def _unnest(
    keep: np.ndarray,
    slugs: np.ndarray,
    texts: Mapping[str, np.ndarray],
    present: Sequence[tuple[str, str | None]],
    frame: pd.DataFrame,
    nested: str,
    notes: list[str],
    source: str | None,
) -> np.ndarray:
    """Keep one level of a district whose own rows and school rows are both kept (an ED
    Data Express or OSPI file lists a district's row beside its schools' rows): the
    district's rows contain the schools', so keeping both would count students twice."""
    columns = [c for c, _ in present]
    if len(columns) < 2:
        return keep
    blank = np.column_stack([texts[c] == "" for c in columns])
    # the level of each row: the position of its finest id with a value
    level = np.where(blank.all(axis=1), len(columns), np.argmin(blank, axis=1))
    keep = keep.copy()
    for j in range(1, len(columns)):
        outer = keep & (level == j)
        if not outer.any():
            continue
        ident = _map_text(
            pd.Series(texts[columns[j]], dtype=object),
            lambda t: _stripped(t) if t.isdigit() else t,
        )
        owners = pd.MultiIndex.from_arrays([slugs, ident])
        containers = set(owners[outer])
        inner = keep & (level < j) & owners.isin(containers)
        if not inner.any():
            continue
        holding = outer & owners.isin(set(owners[inner]))
        label = present[j][1]
        named = _map_text(frame[label], _plain) if label in frame else np.full(len(frame), "")
        names = dict.fromkeys(
            f"{texts[columns[j]][i]} {named[i]}".strip() for i in np.flatnonzero(holding)
        )
        schools = len({tuple(texts[c][i] for c in columns) for i in np.flatnonzero(inner)})
        shown = ", ".join(list(names)[:4]) + (" ..." if len(names) > 4 else "")
        if nested == "raise":
            raise DataValidationError(
                [
                    {
                        "row": None,
                        "column": columns[j],
                        "value": shown,
                        "problem": f"{len(names)} kept unit(s) at the {columns[j]} level contain "
                        f"{schools} kept unit(s) below them ({int(inner.sum())} rows), whose "
                        "students they count too: pass nested='district' or 'schools' to keep "
                        "one level",
                    }
                ],
                source=source,
            )
        if nested == "district":
            keep &= ~inner
            notes.append(
                f"nested units: kept the {columns[j]}-level rows of {shown} as the "
                f"partnership's figure and left out {int(inner.sum())} row(s) of its "
                f"{schools} unit(s) below, which those rows contain (pass nested='schools' "
                "to keep the units below instead)"
            )
        else:
            keep &= ~holding
            notes.append(
                f"nested units: kept the rows of {schools} unit(s) below {shown} and left out "
                f"{int(holding.sum())} {columns[j]}-level row(s), which contain them (pass "
                "nested='district' to keep the district's own rows instead)"
            )
    return keep


def _plain(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _map_text(values: pd.Series, func) -> np.ndarray:
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=False)
    if not len(values):
        return np.array([], dtype=object)
    return np.array([func(u) for u in uniques], dtype=object)[codes]


_KEYS = ("partnership", "outcome", "dimension", "group")
_KINDS = ("exact", "derived", "ranged", "withheld")


def combine_units(
    data: pd.DataFrame,
    *,
    time: str = "year",
    numerator: str = "numerator",
    denominator: str = "denominator",
    rate: str = "rate",
) -> pd.DataFrame:
    """Sum the schools or districts (``unit``) of each partnership into partnership rows.

    Parameters
    ----------
    data : DataFrame
        Canonical rows with a ``unit`` column (as the readers give them with a partnership
        mapping). Rows with a blank ``unit`` are partnership rows already and pass through.
        Not modified.
    time : str
        The period column (``"year"``, or ``"period"`` in a table that has only ``period``).
    numerator, denominator, rate : str
        Column names.

    Returns
    -------
    DataFrame
        One row per (partnership, outcome, period, dimension, group): the canonical columns
        (``numerator`` only where every unit gave counts; ``rate`` where no unit was
        range-coded or withheld; else ``rate_low``/``rate_high`` only), then ``units`` (how
        many units were combined), ``units_exact`` (counts), ``units_derived`` (rate ×
        cohort), ``units_ranged`` (a published range), ``units_withheld``, and ``note``
        saying so in words. ``source`` joins the units' sources.

    Raises
    ------
    ValueError
        If a required column is missing, or a key has both a partnership row and unit rows.

    Notes
    -----
    Each unit's count of students meeting the outcome is resolved by
    :func:`c2c_analysis._rows.resolve_rows`: the numerator where counts exist; else
    rate × cohort (a published exact rate); else the middle of a published range. Each
    unit's bounds cover every whole count its publication allows: a rate r rounded to a
    step w (0.01 for a whole percent, as :func:`c2c_analysis._rows.rate_precision` reads it)
    on n students allows [⌈(r − w/2)·n⌉, ⌊(r + w/2)·n⌋]; a range low-high written to a
    precision w allows [⌈(low − w/2)·n⌉, ⌊(high + w/2)·n⌋] (``80-84`` covers 79.5 % to
    84.5 %), both cut to [0, n]; a withheld unit with a known cohort n allows [0, n];
    exact counts allow only themselves. The partnership's count is the sum, and its
    bounds the sums of the bounds:

        rate = Σ kᵢ / Σ nᵢ,   rate_low = Σ lowᵢ / Σ nᵢ,   rate_high = Σ highᵢ / Σ nᵢ.

    Where a unit is range-coded or withheld, the combined row publishes only its bounds
    (its ``rate`` is empty), so every analysis uses it at the middle of the bounds with
    their width in its uncertainty. A withheld unit whose cohort is unknown, or a rate
    without a cohort count, leaves the partnership's count unknown: the row is withheld.
    Where every unit gave counts or an exact rate, the row publishes ``rate`` (Σ kᵢ / Σ nᵢ)
    without bounds: the rounding of the derived rates is small beside the binomial
    variance of the sum (±0.5 % of 450 students is a variance of 1.7 students², beside
    about 64 for the binomial).

    Rows of a district beside rows of its own schools in one key (columns ``nces_leaid``
    and ``nces_schid``, or ``district_code`` and ``school_code``, the district's row with
    a blank school id) would count the schools' students twice: that is an error (the
    readers keep one level, see ``nested`` in :func:`select_units`).

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"partnership": ["tacoma"] * 3, "outcome": ["hs_graduation"] * 3,
    ...     "year": [2015] * 3, "dimension": ["all"] * 3, "group": ["All students"] * 3,
    ...     "unit": ["1 Lincoln", "2 Stadium", "3 Oakland"],
    ...     "numerator": [80, None, None], "denominator": [100, 200, 10],
    ...     "rate": [0.8, 0.9, None], "suppressed": [False, False, True]})
    >>> row = combine_units(rows).iloc[0]
    >>> int(row["denominator"]), round(float(row["rate_low"]), 4), round(float(row["rate_high"]), 4)
    (310, 0.8355, 0.8742)
    >>> row["note"].split(";")[0]
    '3 units: 1 exact counts, 1 derived from rate × cohort, 1 withheld'

    90 % of 200 students, rounded to a whole percent, is 179 to 181 students (89.5 % to
    90.5 %), so (80 + 179 + 0) / 310 = 0.8355 and (80 + 181 + 10) / 310 = 0.8742.
    """
    # Long because of its docstring (the bounds' formulas) and of the bounds of each kind of
    # published value (exact, range, withheld), computed side by side on the same arrays.
    from c2c_analysis._rows import resolve_rows

    if time == "year" and "year" not in data.columns and "period" in data.columns:
        time = "period"
    missing = [c for c in (*_KEYS, time, "unit") if c not in data.columns]
    if missing:
        raise ValueError(f"combine_units needs the column(s) {', '.join(missing)}")
    keys = ["partnership", "outcome", time, "dimension", "group"]
    unit = data["unit"].fillna("").astype(str).str.strip()
    whole = data.loc[(unit == "").to_numpy()]
    parts = data.loc[(unit != "").to_numpy()]
    if len(whole) and len(parts):
        both = whole[keys].merge(parts[keys].drop_duplicates(), on=keys)
        if len(both):
            first = " | ".join(str(v) for v in both.iloc[0])
            raise ValueError(
                f"{len(both)} key(s) have both a partnership row and unit rows (first: {first}); "
                "leave out one or the other"
            )
    _refuse_nested(parts, keys)
    resolved = resolve_rows(parts, numerator=numerator, denominator=denominator, rate=rate)
    basis = resolved["basis"].to_numpy()
    cohort = resolved["cohort"].to_numpy()
    value = resolved["rate"].to_numpy()
    num = (
        pd.to_numeric(parts[numerator], errors="coerce").to_numpy(dtype=float)
        if (numerator in parts)
        else np.full(len(parts), np.nan)
    )
    low = (
        pd.to_numeric(parts["rate_low"], errors="coerce").to_numpy(dtype=float)
        if ("rate_low" in parts)
        else np.full(len(parts), np.nan)
    )
    high = (
        pd.to_numeric(parts["rate_high"], errors="coerce").to_numpy(dtype=float)
        if ("rate_high" in parts)
        else np.full(len(parts), np.nan)
    )
    given = (
        pd.to_numeric(parts[rate], errors="coerce").to_numpy(dtype=float)
        if (rate in parts)
        else np.full(len(parts), np.nan)
    )
    counted = basis == "counts"
    derived = basis == "rate"
    ranged = basis == "range"
    known_cohort = np.isfinite(cohort)
    withheld_known = ~(counted | derived | ranged) & known_cohort
    unknown = ~(counted | derived | ranged | withheld_known)  # no cohort: cannot be summed
    n = np.where(known_cohort, cohort, 0.0)
    point = np.select([counted, derived | ranged], [num, value * n], np.nan)
    k_low, k_high = _count_bounds(given, low, high, n, derived, ranged)
    k_low = np.select([counted, derived | ranged, withheld_known], [num, k_low, 0.0], np.nan)
    k_high = np.select([counted, derived | ranged, withheld_known], [num, k_high, n], np.nan)
    frame = (
        parts[keys]
        .reset_index(drop=True)
        .assign(
            _n=n,
            _k=np.nan_to_num(point),
            _low=np.nan_to_num(k_low),
            _high=np.nan_to_num(k_high),
            units=1,
            units_exact=counted.astype(int),
            units_derived=derived.astype(int),
            units_ranged=ranged.astype(int),
            units_withheld=(withheld_known | unknown).astype(int),
            _unknown=unknown.astype(int),
            _open=(ranged | withheld_known).astype(int),
            source=parts["source"].astype(str).to_numpy() if "source" in parts else "",
        )
    )
    if "partnership_name" in parts:
        frame["partnership_name"] = parts["partnership_name"].to_numpy()
    sums = ["_n", "_k", "_low", "_high", "units", *(f"units_{k}" for k in _KINDS)]
    sums += ["_unknown", "_open"]
    grouped = frame.groupby(keys, sort=True, dropna=False)
    out = grouped[sums].sum().reset_index()
    out["source"] = grouped["source"].agg(lambda s: "; ".join(dict.fromkeys(s))).to_numpy()
    if "partnership_name" in frame:
        out["partnership_name"] = grouped["partnership_name"].first().to_numpy()
    total = out["_n"].to_numpy(dtype=float)
    withheld = (out["_unknown"].to_numpy() > 0) | ~(total > 0)
    opened = (out["_open"].to_numpy() > 0) & ~withheld
    exact = out["units_exact"].to_numpy() == out["units"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["numerator"] = pd.array(
            np.where(exact & ~withheld, np.round(out["_k"]), np.nan), dtype="Float64"
        ).astype("Int64")
        # pandas-stubs lack the masked arrays' round() (FloatingArray.round exists).
        cohorts = pd.array(np.where(total > 0, total, np.nan), dtype="Float64")
        out["denominator"] = cohorts.round().astype("Int64")  # type: ignore[attr-defined]
        out["rate"] = np.where(withheld | opened, np.nan, out["_k"] / total)
        out["rate_low"] = np.where(opened, out["_low"] / total, np.nan)
        out["rate_high"] = np.where(opened, out["_high"] / total, np.nan)
    out["suppressed"] = withheld
    out["note"] = [
        _unit_note(row, w)
        for row, w in zip(
            out[["units", *(f"units_{k}" for k in _KINDS)]].itertuples(), withheld, strict=True
        )
    ]
    columns = [*keys, "numerator", "denominator", "rate", "rate_low", "rate_high"]
    columns += ["suppressed", "source"]
    columns += ["partnership_name"] if "partnership_name" in out else []
    columns += ["units", *(f"units_{k}" for k in _KINDS), "note"]
    combined = out[columns]
    if len(whole):
        passed = whole.drop(columns="unit").assign(units=0, note="a partnership row as given")
        combined = pd.concat([combined, passed[[c for c in columns if c in passed]]])
        combined = combined.sort_values(keys, kind="stable")
    return combined.reset_index(drop=True)


def _unit_note(row: Any, withheld: bool) -> str:
    parts = [
        f"{count} {word}"
        for count, word in (
            (row.units_exact, "exact counts"),
            (row.units_derived, "derived from rate × cohort"),
            (row.units_ranged, "range-coded"),
            (row.units_withheld, "withheld"),
        )
        if count
    ]
    text = f"{row.units} unit{'s' if row.units != 1 else ''}: " + ", ".join(parts)
    if withheld:
        text += "; a unit without a cohort count leaves the total unknown, so it is withheld"
    elif row.units_ranged or row.units_withheld:
        text += (
            "; bounds cover every count the units allow (rounded rates and ranges widened by "
            "their rounding, withheld units from 0 to their cohort)"
        )
    return text


def _count_bounds(
    given: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    n: np.ndarray,
    derived: np.ndarray,
    ranged: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The whole counts a rounded rate (``derived``) or a range (``ranged``) allows on n
    students, cut to [0, n]; a rate with more digits than 1e-6 is taken as exact."""
    from c2c_analysis._rows import rate_precision

    step = rate_precision(np.where(derived, given, np.nan))
    width = rate_precision(np.where(ranged, low, np.nan))
    bottom = np.where(derived, given - step / 2, low - width / 2)
    top = np.where(derived, given + step / 2, high + width / 2)
    with np.errstate(invalid="ignore"):
        # 1e-9: a bound that is a whole count in exact arithmetic stays one in floats
        k_low = np.ceil(bottom * n - 1e-9)
        k_high = np.floor(top * n + 1e-9)
        exact = derived & (step == 0)
        k_low = np.where(exact, given * n, k_low)
        k_high = np.where(exact, given * n, k_high)
        return np.clip(k_low, 0, n), np.clip(k_high, 0, n)


_NESTING = (("nces_leaid", "nces_schid"), ("district_code", "school_code"))


def _refuse_nested(parts: pd.DataFrame, keys: list[str]) -> None:
    """A district's own row beside rows of its schools, in one key: an error, as summing
    them would count the schools' students twice."""
    for outer, inner in _NESTING:
        if outer not in parts or inner not in parts:
            continue
        district = _map_text(
            parts[outer], lambda v: _stripped(_plain(v)) if _plain(v).isdigit() else _plain(v)
        )
        school = _map_text(parts[inner], _plain)
        frame = parts[keys].assign(_district=district, _unit=parts["unit"].to_numpy())
        whole = frame[(school == "") & (district != "")]
        below = frame[school != ""]
        if not len(whole) or not len(below):
            continue
        both = whole.merge(below, on=[*keys, "_district"], suffixes=("", "_school"))
        if len(both):
            first = both.iloc[0]
            schools = both.loc[both["_unit"] == first["_unit"], "_unit_school"].unique()
            raise ValueError(
                f"the unit {first['_unit']!r} is a district whose own row contains the rows of "
                f"its schools ({', '.join(repr(str(u)) for u in schools[:3])}) in "
                f"{len(both)} case(s) (first: {' | '.join(str(first[k]) for k in keys)}): "
                "summing them would count those students twice; keep one level (read with "
                "nested='district' or nested='schools')"
            )
