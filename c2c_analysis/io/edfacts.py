"""US Department of Education adjusted cohort graduation rate (ACGR) files.

Three layouts are read into the canonical outcome table:

- the wide LEA and school files: identifiers (``STNAM, FIPST, LEAID, ST_LEAID, LEANM``, and
  ``NCESSCH, ST_SCHID, SCHNAM`` for schools), then ``<GROUP>_COHORT_<yyyy>`` and
  ``<GROUP>_RATE_<yyyy>`` per student group, the suffix giving the school year (``1415``:
  2014-15, class of 2015);
- the long ED Data Express export (``School Year, State, NCES LEA ID, LEA, School, NCES SCH
  ID, Data Group, ..., Value, Numerator, Denominator, Subgroup, ...``);
- the newer long files (``SCHOOL_YEAR, ..., CATEGORY, COHORT, RATE``).

Rates are privacy-coded. :func:`parse_rate_code` reads every coding: exact percents (``93``,
``93%``), ranges of 5, 10 or 20 points (``80-84``, ``90-94``), bounds (``GE50``, ``LT50``,
``GE95``, ``GE99``, ``LE5``, ``LE1``, ``GT90``, ``>=90%``, ``<50%``), suppression marks
(``PS``, ``S``, ``*``, ``N<10``...), and ranges that a spreadsheet turned into dates
(``14-Oct`` is 10-14). Exact values become ``rate``; ranges and bounds become
``rate_low``/``rate_high`` with ``rate`` empty. The code as published stays in ``rate_code``.
An unknown code is an error that names it.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from c2c_analysis.io.outcomes import read_csv, read_excel
from c2c_analysis.io.recipes import Recipe, apply_recipe, load_recipe
from c2c_analysis.schema import COLUMNS, GROUP_ALIASES, NOT_REPORTED, label_key, slugify
from c2c_analysis.validation import DataValidationError, validate_table

__all__ = ["EDFACTS_GROUPS", "parse_rate_code", "read_edfacts_acgr"]

#: EDFacts group codes (wide files' prefixes and the newer files' CATEGORY) -> (dimension, group).
EDFACTS_GROUPS: Mapping[str, tuple[str, str]] = {
    "ALL": ("all", "All students"),
    "MAM": ("race_ethnicity", "American Indian/Alaska Native"),
    # ACGR files combine Asian and Pacific Islander students in one category.
    "MAS": ("race_ethnicity", "Asian/Pacific Islander"),
    "MBL": ("race_ethnicity", "Black"),
    "MHI": ("race_ethnicity", "Hispanic/Latino"),
    "MTR": ("race_ethnicity", "Two or more races"),
    "MWH": ("race_ethnicity", "White"),
    "MNP": ("race_ethnicity", "Native Hawaiian/Other Pacific Islander"),
    "CWD": ("disability", "Students with disabilities"),
    "ECD": ("income", "Low income"),
    "FCS": ("foster_care", "Foster care"),
    "HOM": ("homeless", "Homeless"),
    "LEP": ("english_learner", "English learner"),
}
# ED Data Express subgroup labels that our vocabularies do not already know.
_EXPRESS_SUBGROUPS = {
    "all students": ("all", "All students"),
    "asian/pacific islander": ("race_ethnicity", "Asian/Pacific Islander"),
    "asian or pacific islander": ("race_ethnicity", "Asian/Pacific Islander"),
    "children with disabilities": ("disability", "Students with disabilities"),
    "children with disabilities (idea)": ("disability", "Students with disabilities"),
    "economically disadvantaged": ("income", "Low income"),
    "english learner": ("english_learner", "English learner"),
    "limited english proficient": ("english_learner", "English learner"),
    "homeless enrolled": ("homeless", "Homeless"),
    "homeless": ("homeless", "Homeless"),
    "foster care students": ("foster_care", "Foster care"),
    "foster care": ("foster_care", "Foster care"),
}
_MISSING = {"", "NA", "N/A", ".", "-", "NULL", "NONE", "NAN"}
_SUPPRESSED = {"PS", "S", "*", "**", "DS", "N<10", "<10", "N/S", "NS", "SUPPRESSED", "‡", "†"}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_BOUND = re.compile(r"^(GE|GT|LE|LT|>=|=>|>|<=|=<|<|≥|≤)(\d+(?:\.\d+)?)$")
_BAND = re.compile(r"^(\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$")
_EXACT = re.compile(r"^\d+(?:\.\d+)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})-([A-Z]{3})$")
_MONTH_DAY = re.compile(r"^([A-Z]{3})-(\d{1,2})$")
_WIDE = re.compile(r"^([A-Z]{2,4})_(COHORT|RATE)_(\d{4})$")


def parse_rate_code(code: object) -> tuple[float, float, float, str]:
    """Read one EDFacts rate code.

    Returns
    -------
    (rate, rate_low, rate_high, status)
        Proportions (NaN where not given). ``status`` is ``"exact"``, ``"range"``,
        ``"suppressed"``, ``"missing"`` or, for a code that cannot be read, a sentence
        saying so.

    Examples
    --------
    >>> parse_rate_code("80-84")
    (nan, 0.8, 0.84, 'range')
    >>> parse_rate_code("GE95")
    (nan, 0.95, 1.0, 'range')
    >>> parse_rate_code("14-Oct")  # "10-14" after a spreadsheet read it as 14 October
    (nan, 0.1, 0.14, 'range')
    >>> parse_rate_code("93%")
    (0.93, nan, nan, 'exact')
    """
    nan = float("nan")
    if code is None or (isinstance(code, float) and np.isnan(code)) or code is pd.NA:
        return nan, nan, nan, "missing"
    if isinstance(code, _dt.date | pd.Timestamp):  # a band that a spreadsheet stored as a date
        low, high = float(code.month), float(code.day)
        return (
            (nan, low / 100, high / 100, "range")
            if low <= high
            else (nan, nan, nan, f"unknown EDFacts rate code {code!r}")
        )
    if isinstance(code, int | float | np.number) and not isinstance(code, bool):
        value = float(code)
        return (
            (value / 100, nan, nan, "exact")
            if 0 <= value <= 100
            else (nan, nan, nan, "rate outside 0-100")
        )
    text = re.sub(r"\s+", "", str(code)).upper()
    if text in _MISSING:
        return nan, nan, nan, "missing"
    if text in _SUPPRESSED:
        return nan, nan, nan, "suppressed"
    text = text.rstrip("%")
    if _EXACT.match(text):
        value = float(text)
        return (
            (value / 100, nan, nan, "exact")
            if value <= 100
            else (nan, nan, nan, "rate outside 0-100")
        )
    if match := _BAND.match(text):
        low, high = float(match[1]), float(match[2])
    elif match := _BOUND.match(text):
        sign, value = match[1], float(match[2])
        low, high = (value, 100.0) if sign in ("GE", "GT", ">=", "=>", ">", "≥") else (0.0, value)
    elif match := _DAY_MONTH.match(text) or _MONTH_DAY.match(text):
        day, month = (match[1], match[2]) if match.re is _DAY_MONTH else (match[2], match[1])
        if month not in _MONTHS:
            return nan, nan, nan, f"unknown EDFacts rate code {code!r}"
        low, high = float(_MONTHS[month]), float(day)
    else:
        return nan, nan, nan, f"unknown EDFacts rate code {code!r}"
    if not 0 <= low <= high <= 100:
        return (
            nan,
            nan,
            nan,
            f"unknown EDFacts rate code {code!r} (range out of order or above 100)",
        )
    return nan, low / 100, high / 100, "range"


def read_edfacts_acgr(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    partnership: str | Mapping[str, str] | os.PathLike[str] | None = None,
    sheet: str | int | None = None,
    rates_in_percent: bool | None = None,
    nested: str = "district",
) -> pd.DataFrame:
    """Read an EDFacts / ED Data Express adjusted cohort graduation rate file.

    Parameters
    ----------
    source : path or DataFrame
        CSV or Excel file (or a frame read with every column as text) in one of the three
        layouts described in this module. Never modified.
    partnership : str, mapping or path, optional
        The ``partnership`` slug of every row (a file of one district), or a mapping from
        NCES ids to slugs (a dict, or a two-column CSV of id and partnership): LEA ids keep
        every school of the district, school ids single schools (a school's own id wins).
        Only mapped rows are kept, with a note counting the rows of other ids left out
        (filtering a national file to a partnership is the normal use), and ``unit`` names
        each row's school or LEA (``"530870001234 Lincoln High School"``); sum them with
        :func:`~c2c_analysis.combine_units`. Default: a slug of the district's (or
        school's) name, with its NCES id appended where two share a name.
    sheet : str or int, optional
        Excel sheet.
    rates_in_percent : bool, optional
        The unit of exact rate codes. Default: decided on the whole file, as for any rate
        column: percents when some code is above 1, written with ``%`` or beside ranges
        (as the layouts publish them); proportions, with a note, when every exact code is
        at or below 1 (``0.83`` is 83 %). Codes at or below 1 beside codes above 1 or
        ranges are an error that lists the rows unless this says which.
    nested : {"district", "schools", "raise"}
        With a partnership mapping, what to keep of a district whose own rows (a blank
        school id, as ED Data Express lists them) are kept beside its schools' rows, which
        they contain: the district's rows (default), the schools', or an error. A note says
        what was left out; students are never counted twice.

    Returns
    -------
    DataFrame
        The canonical outcome table with ``outcome`` ``hs_graduation`` (four-year; extended
        rates in Data Express files become ``hs_graduation_5yr``, ``_6yr``), ``denominator``
        the adjusted cohort, ``numerator`` where the file gives it, ``rate`` or
        ``rate_low``/``rate_high``, ``suppressed`` for suppression marks; then
        ``unit`` (with a ``partnership`` slug or mapping), ``state, nces_leaid`` (7
        characters, zero-padded), ``lea_name``, ``nces_schid`` (12) and ``school_name``
        where present, and ``rate_code`` as published.

    Raises
    ------
    DataValidationError
        Unknown layouts, group codes, subgroups, school years or rate codes, each named with
        its line and column.

    Examples
    --------
    >>> import pandas as pd
    >>> wide = pd.DataFrame({"STNAM": ["WASHINGTON"], "FIPST": ["53"], "LEAID": ["5308700"],
    ...     "ST_LEAID": ["WA-27010"], "LEANM": ["Tacoma School District"],
    ...     "ALL_COHORT_1415": ["2027"], "ALL_RATE_1415": ["83"],
    ...     "MAM_COHORT_1415": ["39"], "MAM_RATE_1415": ["70-79"]})
    >>> table = read_edfacts_acgr(wide)
    >>> table[["partnership", "year", "denominator", "rate"]].values.tolist()[0]
    ['tacoma-school-district', 2015, 2027, 0.83]
    >>> table[["group", "rate_low", "rate_high", "rate_code"]].values.tolist()[1]
    ['American Indian/Alaska Native', 0.7, 0.79, '70-79']
    """
    frame, name = load_source(source, sheet)
    columns = {c.strip().upper(): c for c in frame.columns if c != "__line__"}
    if any(_WIDE.match(c) for c in columns):
        layout = "edfacts_acgr_wide"
    elif {"CATEGORY", "COHORT", "RATE"} <= set(columns):
        layout = "edfacts_acgr_long"
    elif {"SUBGROUP", "VALUE", "SCHOOL YEAR"} <= set(columns):
        layout = "ed_data_express"
    else:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": None,
                    "value": ", ".join(list(columns)[:8]),
                    "problem": "not an EDFacts ACGR layout (expected <GROUP>_RATE_<yyyy> columns, "
                    "CATEGORY/COHORT/RATE, or ED Data Express Subgroup/Value)",
                }
            ],
            source=name,
        )
    return _read_layout(frame, layout, partnership, name, rates_in_percent, nested)


def _fit(recipe_name: str, headers: list[str]) -> Recipe:
    """A shipped layout's recipe, without the optional columns a file leaves out."""
    spec = load_recipe(recipe_name).to_dict()
    present = set(headers)
    for key in ("columns", "ids"):
        if key in spec:
            spec[key] = {k: v for k, v in spec[key].items() if k in present}
    if "ids" in spec:
        spec["ids"] = {k: (v if v in present else None) for k, v in spec["ids"].items()}
    if "SCHOOL_YEAR" not in present and "SCHOOL YEAR" in present and "columns" in spec:
        spec["columns"] = {**spec["columns"], "SCHOOL YEAR": "year"}
    return load_recipe(spec)


def _read_layout(
    frame: pd.DataFrame,
    layout: str,
    partnership: str | Mapping[str, str] | os.PathLike[str] | None,
    name: str | None,
    rates_in_percent: bool | None,
    nested: str = "district",
) -> pd.DataFrame:
    """Every layout through its shipped recipe (melts, markers, "." cells meaning no
    students, rate codes, a partnership mapping), then what only code can say: the long
    files' group codes, Data Express subgroups and data groups, and partnership slugs."""
    import warnings

    from c2c_analysis.validation import C2CDataWarning

    upper = frame.rename(columns={c: c.strip().upper() for c in frame.columns if c != "__line__"})
    lines = upper.pop("__line__")
    recipe = _fit(layout, list(upper.columns))
    long, rows, notes = apply_recipe(
        upper,
        recipe,
        lines=lines,
        source=name,
        partnership=partnership,
        rates_in_percent=rates_in_percent,
        nested=nested,
    )
    problems: list[dict] = []
    if layout == "edfacts_acgr_long":
        _category_groups(long, rows, problems)
    elif layout == "ed_data_express":
        _express_groups(long, rows, problems)
    if problems:
        raise DataValidationError(problems, source=name)
    for ours, width in (("nces_leaid", 7), ("nces_schid", 12)):
        if ours in long:
            long[ours] = long[ours].map(id_text)
            long[ours] = long[ours].where(long[ours] == "", long[ours].str.zfill(width))
    for ours in ("state", "lea_name", "school_name"):
        if ours in long:
            long[ours] = long[ours].map(id_text)
    long["numerator"] = long["numerator"].map(_count) if "numerator" in long else np.nan
    long["denominator"] = long["denominator"].map(_count) if "denominator" in long else np.nan
    if partnership is None:
        long["partnership"] = _partnerships(long, None)
    else:
        long["unit"] = _unit_names(long)
    long["source"] = name or "EDFacts ACGR"
    extra = [
        c
        for c in (
            "unit",
            "state",
            "nces_leaid",
            "lea_name",
            "nces_schid",
            "school_name",
            "rate_code",
        )
        if c in long
    ]
    where = f"{name}: " if name else ""
    for note in notes:
        warnings.warn(where + note, C2CDataWarning, stacklevel=3)
    return validate_table(
        long[list(COLUMNS) + extra].reset_index(drop=True),
        source=name,
        rows=rows,
        aliases=False,
        rates_in_percent=False,  # rate codes are read into proportions, their unit noted
        rates_note="",
    )


def _unit_names(long: pd.DataFrame) -> pd.Series:
    """'530870001234 Lincoln High School': each row's school, else its LEA, id and name."""
    out = pd.Series("", index=long.index, dtype=object)
    for ident, label in (("nces_leaid", "lea_name"), ("nces_schid", "school_name")):
        if ident not in long:
            continue
        ids = long[ident].astype(str)
        names = long[label].astype(str) if label in long else pd.Series("", index=long.index)
        text = (ids + " " + names).str.strip()
        out = out.where(ids == "", text)
    return out


def _category_groups(long: pd.DataFrame, rows: np.ndarray, problems: list[dict]) -> None:
    codes = long.pop("category").map(lambda v: str(v).strip().upper())
    unknown = ~codes.isin(list(EDFACTS_GROUPS))
    problems += [
        {
            "row": rows[i],
            "column": "CATEGORY",
            "value": codes.iat[i],
            "problem": "unknown EDFacts group code",
        }
        for i in np.flatnonzero(unknown).tolist()
    ]
    long["dimension"] = codes.map(lambda c: EDFACTS_GROUPS.get(c, ("", ""))[0])
    long["group"] = codes.map(lambda c: EDFACTS_GROUPS.get(c, ("", ""))[1])


def _express_groups(long: pd.DataFrame, rows: np.ndarray, problems: list[dict]) -> None:
    labels = long.pop("subgroup").astype(str)
    groups = labels.map(_subgroup)
    problems += [
        {
            "row": rows[i],
            "column": "Subgroup",
            "value": labels.iat[i],
            "problem": "unknown ED Data Express subgroup",
        }
        for i in np.flatnonzero(groups.isna()).tolist()
    ]
    described = [c for c in ("data_group", "data_description", "characteristics") if c in long]
    text = (
        long[described].astype(str).agg(" ".join, axis=1).str.lower()
        if described
        else pd.Series("", index=long.index)
    )
    outcome = pd.Series("hs_graduation", index=long.index)
    for word, suffix in (("five-year", "_5yr"), ("six-year", "_6yr"), ("seven-year", "_7yr")):
        outcome[text.str.contains(word, regex=False)] = "hs_graduation" + suffix
    unrelated = ~text.str.contains("graduat|cohort|acgr", regex=True) & (text.str.strip() != "")
    problems += [
        {
            "row": rows[i],
            "column": "Data Group",
            "value": str(text.iat[i])[:60],
            "problem": "not a graduation-rate data group",
        }
        for i in np.flatnonzero(unrelated).tolist()
    ]
    long["outcome"] = outcome
    long["dimension"] = groups.map(lambda g: g[0] if g else "")
    long["group"] = groups.map(lambda g: g[1] if g else "")


# --- layouts --------------------------------------------------------------------------------


def load_source(
    source: str | os.PathLike[str] | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str | None]:
    """A state or federal file (or a frame already read) as cells, with its name.

    Parameters
    ----------
    source : str, path-like or pandas.DataFrame
        A CSV file, an Excel workbook, or a frame.
    sheet : str or int or None
        The workbook's sheet (ignored for CSV files and frames).

    Returns
    -------
    frame : pandas.DataFrame
        The cells (text for files, as given for a frame), plus ``__line__``: the file line
        of each row, or the frame's index label.
    name : str or None
        The file's name (None for a frame).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.

    Examples
    --------
    >>> import pandas as pd
    >>> frame, name = load_source(pd.DataFrame({"LEAID": [5300001]}), None)
    >>> frame.to_dict("records"), name
    ([{'LEAID': 5300001, '__line__': 0}], None)
    """
    if isinstance(source, pd.DataFrame):
        frame = source.astype(object).copy()
        frame["__line__"] = list(source.index)
        return frame, None
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() in {".xlsx", ".xlsm", ".xls"}:
        return read_excel(path, sheet), path.name
    return read_csv(path), path.name


def id_text(value: object) -> str:
    """An entity id as text: Excel's ``5300001.0`` is ``"5300001"``, a blank is ``""``.

    Parameters
    ----------
    value : object
        A cell of an id column.

    Returns
    -------
    str
        The id, stripped.

    Examples
    --------
    >>> id_text(5300001.0), id_text(float("nan")), id_text(" 0123 ")
    ('5300001', '', '0123')
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stored the id as a number
    return str(value).strip()


def _school_year(text: object) -> int | None:
    """The class-of year of a school year: '1415', '2014-15', '2014-2015' -> 2015."""
    value = str(text).strip()
    if re.fullmatch(r"\d{4}", value):  # two two-digit years, as in the wide files' suffixes
        start, end = int(value[:2]), int(value[2:])
        if (start + 1) % 100 != end:
            return None
        return 2000 + end if end < 50 else 1900 + end
    match = re.fullmatch(r"(\d{4})\s*[-/]\s*(\d{2}|\d{4})", value)
    if not match:
        return None
    start = int(match[1])
    end = int(match[2]) if len(match[2]) == 4 else start // 100 * 100 + int(match[2])
    if end < start:
        end += 100
    return end if end == start + 1 else None


def _count(value: object) -> object:
    """Cohort counts: numbers stay, suppression marks and blanks become missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip().replace(",", "")
    if text.upper() in _MISSING | _SUPPRESSED:
        return np.nan
    return text  # validation names anything that is not a whole number


def _subgroup(label: str) -> tuple[str, str] | None:
    key = label_key(label)
    if key in _EXPRESS_SUBGROUPS:
        return _EXPRESS_SUBGROUPS[key]
    found = {
        (dim, vocab[key])
        for dim, vocab in GROUP_ALIASES.items()
        if key in vocab and vocab[key] != NOT_REPORTED
    }
    return found.pop() if len(found) == 1 else None


def _slug(text: str) -> str:
    try:
        return slugify(text)
    except ValueError:
        return "unnamed"


def entity_slugs(
    names: pd.Series, ids: pd.Series, partnership: str | Mapping[str, str] | None, id_column: str
) -> pd.Series:
    """Partnership slugs for the rows of a state or federal file, shared by its readers.

    Parameters
    ----------
    names : pandas.Series
        The entity's name on each row.
    ids : pandas.Series
        The entity's id on each row (text).
    partnership : str or mapping or None
        One slug for every row; a mapping from entity id to slug; or None: a slug of the
        entity's name, with its id appended where two entities share a name.
    id_column : str
        The id column's name, for the error.

    Returns
    -------
    pandas.Series
        The slug of each row (the index of ``ids``).

    Raises
    ------
    DataValidationError
        When an id is not in the mapping.

    Examples
    --------
    >>> import pandas as pd
    >>> names = pd.Series(["Tacoma SD", "Union SD", "Union SD"])
    >>> entity_slugs(names, pd.Series(["1", "2", "3"]), None, "leaid").tolist()
    ['tacoma-sd', 'union-sd-2', 'union-sd-3']
    """
    if isinstance(partnership, str):
        return pd.Series(partnership, index=ids.index)
    if isinstance(partnership, Mapping):
        mapped = ids.map(lambda i: partnership.get(i))
        missing = mapped.isna()
        if missing.any():
            raise DataValidationError(
                [
                    {
                        "row": None,
                        "column": id_column,
                        "value": i,
                        "problem": "id not in the partnership mapping",
                    }
                    for i in sorted(set(ids[missing]))
                ]
            )
        return mapped
    slugs = names.map(_slug)
    pairs = pd.DataFrame({"slug": slugs, "id": ids}).drop_duplicates()
    clashing = set(pairs.loc[pairs["slug"].duplicated(keep=False), "slug"])
    return pd.Series(
        [f"{s}-{i}" if s in clashing and i else s for s, i in zip(slugs, ids, strict=True)],
        index=ids.index,
    )


def _partnerships(long: pd.DataFrame, partnership: str | Mapping[str, str] | None) -> pd.Series:
    school = "nces_schid" in long and (long["nces_schid"].str.len() > 0).any()
    id_column, name_column = ("nces_schid", "school_name") if school else ("nces_leaid", "lea_name")
    ids = long[id_column] if id_column in long else pd.Series("", index=long.index)
    names = (
        long[name_column]
        if name_column in long
        else long.get("state", pd.Series("", index=long.index))
    )
    return entity_slugs(names, ids, partnership, id_column)
