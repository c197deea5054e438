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
        is a header when its id cell holds no digit. Partnership names become slugs
        (``Graduate Tacoma`` -> ``graduate-tacoma``).

    Returns
    -------
    dict
        ``{id key: slug}``; id keys are trimmed text, leading zeros dropped from all-digit
        ids (``0100005`` and ``100005`` are one id).

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
    problems: list[dict[str, Any]] = []
    pairs: list[tuple[object, object, object]] = []
    where = "partnership mapping"
    if isinstance(spec, Mapping):
        pairs = [(k, k, v) for k, v in spec.items()]
    else:
        path = Path(spec)
        if not path.exists():
            raise FileNotFoundError(f"no such partnership mapping file: {path}")
        where = path.name
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = [r for r in csv.reader(handle) if any(c.strip() for c in r)]
        if rows and not any(ch.isdigit() for ch in rows[0][0]):
            rows = rows[1:]
        for line, row in enumerate(rows, start=2 if len(rows) else 1):
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
            pairs.append((line, cells[0], cells[1]))
    out: dict[str, str] = {}
    for row, key, name in pairs:
        try:
            slug = slugify(name)
        except ValueError:
            problems.append(
                {"row": row, "column": None, "value": str(name), "problem": "gives no slug"}
            )
            continue
        ident = _id_key(key)
        if ident in out and out[ident] != slug:
            problems.append(
                {
                    "row": row,
                    "column": None,
                    "value": str(key),
                    "problem": f"id mapped to both {out[ident]!r} and {slug!r}",
                }
            )
        out[ident] = slug
    if problems:
        raise DataValidationError(problems, source=where)
    return out


def select_units(
    frame: pd.DataFrame,
    partnership: UnitMap | str,
    *,
    ids: Sequence[tuple[str, str | None]],
    lines: np.ndarray | Sequence[object] | None = None,
    source: str | None = None,
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

    Returns
    -------
    (DataFrame, array, list of str)
        The kept rows, their lines, and the reading notes (how many rows of other ids were
        left out, and mapped ids the file does not hold).

    Raises
    ------
    DataValidationError
        If no id column is in the file, or no row is mapped (naming the ids found).
    """
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
    keys = {i: _map_text(frame[i], _id_key) for i, _ in present}
    notes: list[str] = []
    if isinstance(partnership, str) and not is_unit_map_path(partnership):
        slug = slugify(partnership)
        keep = np.ones(n, dtype=bool)
        slugs = np.full(n, slug, dtype=object)
    else:
        mapping = read_unit_map(partnership)
        slugs = np.full(n, None, dtype=object)
        for column, _ in reversed(present):  # finest last, so it wins
            hit = _map_text(pd.Series(keys[column]), lambda k: mapping.get(k)).astype(object)
            found = np.array([h is not None for h in hit], dtype=bool)
            slugs[found] = hit[found]
        keep = np.array([s is not None for s in slugs], dtype=bool)
        seen = set().union(*(set(k) for k in keys.values()))
        unseen = sorted(set(mapping) - seen)
        if not keep.any():
            shown = sorted({k for v in keys.values() for k in v if k})[:8]
            raise DataValidationError(
                [
                    {
                        "row": None,
                        "column": ", ".join(c for c, _ in present),
                        "value": ", ".join(sorted(mapping)[:8]),
                        "problem": "no row's id is in the partnership mapping; ids in the file: "
                        + ", ".join(shown),
                    }
                ],
                source=source,
            )
        left = n - int(keep.sum())
        others = len({tuple(keys[c][i] for c, _ in present) for i in np.flatnonzero(~keep)})
        kept_units = len({tuple(keys[c][i] for c, _ in present) for i in np.flatnonzero(keep)})
        notes.append(
            f"partnership mapping: kept {int(keep.sum())} row(s) of {kept_units} unit(s) "
            f"({', '.join(sorted(set(slugs[keep])))})"
            + (f"; left out {left} row(s) of {others} other unit(s)" if left else "")
        )
        if unseen:
            notes.append(
                f"{len(unseen)} mapped id(s) not in the file: {', '.join(unseen[:8])}"
                + (" ..." if len(unseen) > 8 else "")
            )
    kept = frame.loc[keep].reset_index(drop=True)
    unit = np.full(len(kept), "", dtype=object)
    for column, name in reversed(present):  # the finest id with a value names the unit
        text = _map_text(kept[column], lambda v: "" if _id_key(v) == "" else _plain(v))
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
    rate × cohort (a published exact rate); else a range [low × cohort, high × cohort] (a
    published range); a withheld unit with a known cohort n may hold any count in [0, n].
    The partnership's count is the sum, and its bounds the sums of the bounds:

        rate = Σ kᵢ / Σ nᵢ,   rate_low = Σ lowᵢ / Σ nᵢ,   rate_high = Σ highᵢ / Σ nᵢ.

    Where a unit is range-coded or withheld, the combined row publishes only its bounds
    (its ``rate`` is empty), so every analysis uses it at the middle of the bounds with
    their width in its uncertainty. A withheld unit whose cohort is unknown, or a rate
    without a cohort count, leaves the partnership's count unknown: the row is withheld.
    The rounding of derived rates is not carried (it is small beside the binomial
    variance of the sum).

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
    (310, 0.8387, 0.871)
    >>> row["note"].split(";")[0]
    '3 units: 1 exact counts, 1 derived from rate × cohort, 1 withheld'

    (80 + 0.9 × 200 + 0) / 310 = 0.8387 and (80 + 180 + 10) / 310 = 0.8710.
    """
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
    counted = basis == "counts"
    derived = basis == "rate"
    ranged = basis == "range"
    known_cohort = np.isfinite(cohort)
    withheld_known = ~(counted | derived | ranged) & known_cohort
    unknown = ~(counted | derived | ranged | withheld_known)  # no cohort: cannot be summed
    n = np.where(known_cohort, cohort, 0.0)
    point = np.select([counted, derived | ranged], [num, value * n], np.nan)
    k_low = np.select(
        [counted, derived, ranged, withheld_known], [num, value * n, low * n, 0.0], np.nan
    )
    k_high = np.select(
        [counted, derived, ranged, withheld_known], [num, value * n, high * n, n], np.nan
    )
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
        out["denominator"] = (
            pd.array(np.where(total > 0, total, np.nan), dtype="Float64").round().astype("Int64")
        )
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
        text += "; bounds cover every value the ranged and withheld units allow"
    return text
