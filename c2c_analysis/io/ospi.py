"""Washington OSPI Report Card graduation files.

OSPI publishes one file per school year (``SchoolYear, OrganizationLevel, County, ESDName,
..., DistrictCode, DistrictName, SchoolCode, SchoolName, StudentGroupType, StudentGroup,
Cohort, BeginningGrade9, TransferIn, TransferOut, FinalCohort, Graduate, ...,
GraduationRate, Suppression``). Column names drift between years (``BegginingGrade9``,
``TransferredIn``, ``Final Cohort``, ``DAT`` for ``Suppression``...); an alias map absorbs
them. Suppression marks (``N<10``, ``Cross Group``) set ``suppressed``; top/bottom codes
(``<1.54%``, ``>95%``, ``Top/Bottom Range: >72.7%``) become ``rate_low``/``rate_high``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, renamed
from c2c_analysis.io.edfacts import entity_slugs, id_text, load_source
from c2c_analysis.io.units import select_units
from c2c_analysis.schema import normalize_dimension, normalize_group
from c2c_analysis.validation import C2CDataWarning, DataValidationError, column_key, validate_table

__all__ = ["read_ospi_graduation"]

_ALIASES = {
    "school_year": ("schoolyear",),
    "organization_level": ("organizationlevel",),
    "county": ("county",),
    "district_code": ("districtcode",),
    "district_name": ("districtname",),
    "school_code": ("schoolcode",),
    "school_name": ("schoolname",),
    "student_group_type": ("studentgrouptype",),
    "student_group": ("studentgroup",),
    "cohort": ("cohort",),
    "beginning_grade9": ("beginninggrade9", "beggininggrade9"),
    "transfer_in": ("transferin", "transferredin"),
    "transfer_out": ("transferout", "transferredout"),
    "final_cohort": ("finalcohort", "adjustedcohort"),
    "graduates": ("graduate", "graduates"),
    "graduation_rate": ("graduationrate", "rate"),
    "suppression": ("suppression", "dat", "datreason", "suppressionreason"),
}
_LOOKUP = {alias: ours for ours, aliases in _ALIASES.items() for alias in aliases}
_REQUIRED = ("school_year", "organization_level", "student_group_type", "student_group", "cohort")
_GROUP_TYPES = {
    "all": "all",
    "allstudents": "all",
    "race": "race_ethnicity",
    "raceethnicity": "race_ethnicity",
    "federalrace": "race_ethnicity",
    "gender": "gender",
    "lowincome": "income",
    "frl": "income",
    "ell": "english_learner",
    "englishlanguagelearners": "english_learner",
    "swd": "disability",
    "studentswithdisabilities": "disability",
    "specialeducation": "disability",
    "504": "section_504",
    "section504": "section_504",
    "foster": "foster_care",
    "fostercare": "foster_care",
    "homeless": "homeless",
    "migrant": "migrant",
    "military": "military_connected",
    "militaryparent": "military_connected",
    "hicap": "highly_capable",
    "highlycapable": "highly_capable",
}
_COHORT_YEARS = {"four": 4, "five": 5, "six": 6, "seven": 7}
_OK = {"", "no dat", "none", "no suppression", "not suppressed", "null", "nan"}
_RANGE = re.compile(r"^([<>]=?)\s*(\d+(?:\.\d+)?)\s*%$")


def _suppression(text: object) -> tuple[str, float, float]:
    """('ok' | 'suppressed' | 'missing' | 'range' | error, rate_low, rate_high)."""
    nan = float("nan")
    value = (
        ""
        if text is None or (isinstance(text, float) and np.isnan(text))
        else str(text).strip().lower()
    )
    value = re.sub(r"^(dat applied|suppressed|top/bottom range|top/bottom)\s*:\s*", "", value)
    if value in _OK:
        return "ok", nan, nan
    if value == "no students":
        return "missing", nan, nan
    if re.search(r"n\s*<\s*\d+|cross (student )?group|cross grade", value):
        return "suppressed", nan, nan
    if match := _RANGE.match(value):
        bound = float(match[2]) / 100
        return ("range", bound, 1.0) if match[1].startswith(">") else ("range", 0.0, bound)
    return f"unknown OSPI suppression mark {text!r}", nan, nan


def read_ospi_graduation(
    source: str | os.PathLike[str] | pd.DataFrame,
    *,
    organization_level: str = "district",
    partnership: str | Mapping[str, str] | os.PathLike[str] | None = None,
    sheet: str | int | None = None,
    rates_in_percent: bool | None = None,
    level: Any = DEPRECATED,
) -> pd.DataFrame:
    """Read a Washington OSPI Report Card graduation file.

    Parameters
    ----------
    source : path or DataFrame
        CSV or Excel file, or a frame of it. Never modified.
    organization_level : {"district", "school", "state"}
        The organization level to read; rows at other levels are left out with a warning
        that counts them (a district file holds its schools too).
    partnership : str, mapping or path, optional
        The slug of every row, or a mapping from district or school codes to slugs (a dict,
        or a two-column CSV of code and partnership; for ``organization_level="school"`` a
        district code keeps every school of the district). Only mapped rows are kept, with a
        note counting the rows of other codes left out, and ``unit`` names each row's school
        or district (code and name); sum them with :func:`~c2c_analysis.combine_units`.
        Default: a slug of the district's (school's) name; ``washington`` for the state.
    sheet : str or int, optional
        Excel sheet.
    rates_in_percent : bool, optional
        Whether ``GraduationRate`` is in percent (True) or a proportion (False); default:
        decided from the values (a mix is an error listing the rows).
    level
        Deprecated name of ``organization_level`` (removed in 0.3; ``level`` is a
        confidence level everywhere else).

    Returns
    -------
    DataFrame
        The canonical outcome table: ``outcome`` ``hs_graduation`` for the four-year cohort
        (``hs_graduation_5yr`` ... for extended cohorts), ``year`` the class-of year (the
        school year's ending year for the four-year cohort, one year earlier per extra year
        for extended cohorts), ``numerator`` graduates, ``denominator`` the final (adjusted)
        cohort, ``rate``; then ``school_year``, ``organization_level``, ``county``,
        ``district_code``, ``district_name``, ``school_code``, ``school_name``,
        ``beginning_grade9``, ``transfer_in``, ``transfer_out`` where present and
        ``suppression`` as published.

    Raises
    ------
    DataValidationError
        Missing columns, unknown cohorts or suppression marks, each with its line.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"SchoolYear": ["2014-15"], "OrganizationLevel": ["District"],
    ...     "DistrictCode": ["27010"], "DistrictName": ["Tacoma School District"],
    ...     "StudentGroupType": ["Race"], "StudentGroup": ["Black/ African American"],
    ...     "Cohort": ["Four Year"], "BegginingGrade9": ["380"], "FinalCohort": ["352"],
    ...     "Graduate": ["285"], "GraduationRate": ["0.8097"], "Suppression": ["No DAT"]})
    >>> table = read_ospi_graduation(raw)
    >>> table[["partnership", "year", "group", "numerator", "denominator"]].values.tolist()
    [['tacoma-school-district', 2015, 'Black', 285, 352]]
    """
    level = renamed(
        "read_ospi_graduation",
        "level",
        level,
        "organization_level",
        organization_level,
        default="district",
    )
    if level not in ("district", "school", "state"):
        raise ValueError(
            f"organization_level must be 'district', 'school' or 'state', not {level!r}"
        )
    frame, name = _read_columns(source, sheet)
    frame, mapped = _at_level(frame, level, partnership, name)
    lines = frame["__line__"]
    cohort_years, parsed, status = _checked_codes(frame, lines, name)
    out = _canonical(frame, cohort_years, parsed, status)
    for column in ("district_code", "school_code"):
        if column in frame:
            frame[column] = frame[column].map(id_text)
    if mapped:
        out.insert(0, "partnership", frame["partnership"].to_numpy())
        out["unit"] = frame["unit"].to_numpy()
    else:
        # Not mapped: no slug given, or the state's one slug (a path is always mapped).
        given = cast("str | Mapping[str, str] | None", partnership)
        out.insert(0, "partnership", _ospi_partnerships(frame, level, given))
    out["source"] = name or "OSPI Report Card graduation"
    for column in _EXTRA:
        if column in frame:
            out[column] = frame[column].to_numpy()
    empty = status == "missing"  # "No Students": no group to report, not a 0 % group
    if empty.any():
        groups = pd.Series(out["group"].to_numpy()[empty]).value_counts()
        shown = ", ".join(f"{g} ({k})" for g, k in groups.head(8).items())
        warnings.warn(
            f"{name or 'OSPI file'}: {int(empty.sum())} row(s) marked 'No Students' left out "
            f"(groups: {shown}{' ...' if len(groups) > 8 else ''})",
            C2CDataWarning,
            stacklevel=2,
        )
        out = out.loc[~empty].reset_index(drop=True)
        lines = lines[~empty].reset_index(drop=True)
        cohort_years = cohort_years[~empty].reset_index(drop=True)
    # Only the published rate follows rates_in_percent: the bounds of ">95%" and "<5%" are
    # proportions already (_suppression divided them by 100).
    units: dict[str, bool] = {"rate_low": False, "rate_high": False}
    if rates_in_percent is not None:
        units["rate"] = bool(rates_in_percent)
    table = validate_table(
        out, source=name, rows=lines.to_list(), aliases=False, rates_in_percent=units
    )
    # Class-of year: an extended (k-year) rate reported in a school year belongs to the
    # cohort expected to graduate k - 4 years earlier.
    table["year"] = table["year"] - (cohort_years.to_numpy(dtype=int) - 4)
    return table


#: The file's columns kept after the canonical ones, where present.
_EXTRA = (
    "school_year",
    "organization_level",
    "county",
    "district_code",
    "district_name",
    "school_code",
    "school_name",
    "beginning_grade9",
    "transfer_in",
    "transfer_out",
    "suppression",
)


def _read_columns(
    source: str | os.PathLike[str] | pd.DataFrame, sheet: str | int | None
) -> tuple[pd.DataFrame, str | None]:
    """The file with our names for its columns (however the year's file spells them)."""
    frame, name = load_source(source, sheet)
    ours_of: dict[str, str] = {}
    for column in frame.columns:
        ours = _LOOKUP.get(column_key(column).replace("_", ""))
        if ours and ours not in ours_of.values():
            ours_of[column] = ours
    frame = frame.rename(columns=ours_of)
    missing = [c for c in _REQUIRED if c not in frame]
    if missing:
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": c,
                    "value": "",
                    "problem": "required OSPI column is missing",
                }
                for c in missing
            ],
            source=name,
        )
    return frame, name


def _at_level(
    frame: pd.DataFrame,
    level: str,
    partnership: str | Mapping[str, str] | os.PathLike[str] | None,
    name: str | None,
) -> tuple[pd.DataFrame, bool]:
    """The rows of one organisation level, and of the mapped units where a mapping is given
    (with ``partnership`` and ``unit`` columns; True when so)."""
    levels = frame["organization_level"].astype(str).str.strip().str.lower()
    keep = levels == level
    if (~keep).any():
        counts = levels[~keep].value_counts().to_dict()
        shown = ", ".join(f"{n} {lvl}" for lvl, n in counts.items())
        warnings.warn(
            f"{name or 'OSPI file'}: rows at other levels left out ({shown}); "
            "pass organization_level= to read them",
            C2CDataWarning,
            stacklevel=3,
        )
    frame = frame[keep].reset_index(drop=True)
    mapped = partnership is not None and not (level == "state" and isinstance(partnership, str))
    if mapped and partnership is not None:
        for column in ("district_code", "school_code"):
            if column in frame:
                frame[column] = frame[column].map(id_text)
        ids = [("district_code", "district_name")]
        if level == "school":
            ids.insert(0, ("school_code", "school_name"))
        frame, kept_lines, unit_notes = select_units(
            frame,
            partnership,
            ids=ids,
            lines=frame["__line__"].to_numpy(),
            source=name,
            widths={"district_code": 5},  # CCDDD: county and district, as in 01147
        )
        frame["__line__"] = kept_lines
        for note in unit_notes:
            warnings.warn(f"{name or 'OSPI file'}: {note}", C2CDataWarning, stacklevel=3)
    return frame, mapped


def _checked_codes(
    frame: pd.DataFrame, lines: pd.Series, name: str | None
) -> tuple[pd.Series, list[tuple[str, float, float]], np.ndarray]:
    """Each row's cohort length (years), its parsed suppression mark and the mark's status;
    unknown cohorts and marks are one error listing each row."""
    problems: list[dict] = []
    cohort_years = frame["cohort"].map(
        lambda v: _COHORT_YEARS.get(str(v).strip().lower().split(" ")[0])
    )
    problems += [
        {
            "row": lines.iat[i],
            "column": "Cohort",
            "value": str(frame["cohort"].iat[i]),
            "problem": "unknown cohort",
        }
        for i in np.flatnonzero(cohort_years.isna()).tolist()
    ]
    marks = frame["suppression"] if "suppression" in frame else pd.Series("", index=frame.index)
    parsed = [_suppression(v) for v in marks]
    status = np.array([p[0] for p in parsed], dtype=object)
    unknown = ~np.isin(status, ("ok", "suppressed", "missing", "range"))
    problems += [
        {
            "row": lines.iat[i],
            "column": "Suppression",
            "value": str(marks.iat[i]),
            "problem": status[i],
        }
        for i in np.flatnonzero(unknown).tolist()
    ]
    if problems:
        raise DataValidationError(problems, source=name)
    return cohort_years, parsed, status


def _canonical(
    frame: pd.DataFrame,
    cohort_years: pd.Series,
    parsed: list[tuple[str, float, float]],
    status: np.ndarray,
) -> pd.DataFrame:
    """The canonical columns of the rows, before validation (the partnership comes after)."""
    dimension = frame["student_group_type"].map(
        lambda t: _GROUP_TYPES.get(
            re.sub(r"[^a-z0-9]", "", str(t).lower()), normalize_dimension(str(t))
        )
    )
    years = frame["school_year"]  # validation turns "2014-15" into 2015 and names bad values
    out = pd.DataFrame(
        {
            "outcome": [
                "hs_graduation" if k == 4 else f"hs_graduation_{int(k)}yr" for k in cohort_years
            ],
            "year": years,
            "dimension": dimension,
            "group": [
                normalize_group(str(g), d)
                for g, d in zip(frame["student_group"], dimension, strict=True)
            ],
            "numerator": frame["graduates"].map(_null) if "graduates" in frame else np.nan,
            "denominator": frame["final_cohort"].map(_null) if "final_cohort" in frame else np.nan,
            "rate": frame["graduation_rate"].map(_null) if "graduation_rate" in frame else np.nan,
            "rate_low": [p[1] for p in parsed],
            "rate_high": [p[2] for p in parsed],
            "suppressed": status == "suppressed",
        }
    )
    ranged = status == "range"
    out.loc[ranged, "rate"] = np.nan
    return out


def _null(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip()
    return np.nan if text.upper() in {"NULL", "", "NA", "N/A"} else text


def _ospi_partnerships(
    frame: pd.DataFrame, level: str, partnership: str | Mapping[str, str] | None
) -> pd.Series:
    if level == "state" and not isinstance(partnership, str):
        return pd.Series("washington", index=frame.index)
    code, name = (
        ("school_code", "school_name") if level == "school" else ("district_code", "district_name")
    )
    codes = frame[code] if code in frame else pd.Series("", index=frame.index)
    return entity_slugs(frame.get(name, codes), codes, partnership, code)
