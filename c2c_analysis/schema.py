"""The canonical outcome table, the outcome catalogue and the group vocabularies.

Every reader produces the canonical table and every analysis accepts it. One row is one
outcome for one group of students in one period:

=============  =========  ============================================================
column         dtype      meaning
=============  =========  ============================================================
partnership    str        slug, safe as a file name (``[a-z0-9_-]+``), e.g. ``tacoma``
outcome        str        id from :data:`OUTCOMES` (or :data:`INDICATORS`), or a custom id
year           int64      school year's ending year, or the cohort's class-of year
dimension      str        ``all``, ``race_ethnicity``, ``income``, ``gender``, ...
group          str        e.g. ``All students``, ``Black``, ``Low income``
numerator      Int64      students meeting the outcome (nullable)
denominator    Int64      students in the cohort or tested (nullable)
rate           float64    numerator / denominator, a proportion in [0, 1]
rate_low       float64    lower bound where a source publishes a range (``80-84``)
rate_high      float64    upper bound where a source publishes a range
suppressed     bool       the source or our privacy step withheld the value
source         str        where the row came from (file name or citation)
=============  =========  ============================================================

Contributing indicators that move faster than a year use a ``period`` column
(datetime64, the first day of the month or week) in place of ``year``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Literal, cast

import pandas as pd

__all__ = [
    "ALL_STUDENTS",
    "COLUMNS",
    "DIMENSIONS",
    "DTYPES",
    "GROUPS",
    "INDICATORS",
    "KEY_COLUMNS",
    "NOT_REPORTED",
    "OUTCOMES",
    "OUTCOME_LINKS",
    "PARTITIONS",
    "RACE_ETHNICITY_2007",
    "RELATED_OUTCOMES",
    "RACE_ETHNICITY_2024",
    "SUPPRESSION_MARKERS",
    "Outcome",
    "better_direction",
    "did_you_mean",
    "empty_outcome_table",
    "infer_dimension",
    "is_suppression_marker",
    "is_total_label",
    "normalize_dimension",
    "normalize_group",
    "outcome_catalogue",
    "slugify",
]

#: Columns of the canonical outcome table, in order.
COLUMNS: tuple[str, ...] = (
    "partnership",
    "outcome",
    "year",
    "dimension",
    "group",
    "numerator",
    "denominator",
    "rate",
    "rate_low",
    "rate_high",
    "suppressed",
    "source",
)

#: dtype of every canonical column (``period`` replaces ``year`` for monthly indicators).
DTYPES: MappingProxyType[str, str] = MappingProxyType(
    {
        "partnership": "str",
        "outcome": "str",
        "year": "int64",
        "period": "datetime64[ns]",
        "dimension": "str",
        "group": "str",
        "numerator": "Int64",
        "denominator": "Int64",
        "rate": "float64",
        "rate_low": "float64",
        "rate_high": "float64",
        "suppressed": "bool",
        "source": "str",
    }
)

#: Columns that identify a row; no two rows of a valid table share them.
KEY_COLUMNS: tuple[str, ...] = ("partnership", "outcome", "year", "dimension", "group")

ALL_STUDENTS = "All students"
NOT_REPORTED = "Not reported"

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class Outcome:
    """One entry of the outcome catalogue.

    Attributes
    ----------
    id : str
        Identifier used in the ``outcome`` column.
    label : str
        Name for tables and figures.
    definition : str
        The usual definition in cradle-to-career partnerships (local definitions vary; a
        report should state the one it uses).
    better : {"higher", "lower"}
        The direction in which the outcome improves.
    denominator : str
        The students usually counted in the denominator.
    stage : str
        The stage of the cradle-to-career continuum.
    """

    id: str
    label: str
    definition: str
    better: Better
    denominator: str
    stage: str

    def to_dict(self) -> dict[str, str]:
        """The entry as a JSON-safe dictionary."""
        return asdict(self)


def _catalogue(*entries: Outcome) -> MappingProxyType[str, Outcome]:
    return MappingProxyType({entry.id: entry for entry in entries})


#: The core outcomes that cradle-to-career partnerships track every year.
OUTCOMES: MappingProxyType[str, Outcome] = _catalogue(
    Outcome(
        "kindergarten_readiness",
        "Kindergarten readiness",
        "Entering kindergartners who meet the readiness benchmark of the state's entry "
        "assessment (e.g. Washington's WaKIDS, all six domains)",
        "higher",
        "kindergartners assessed in the fall",
        "early childhood",
    ),
    Outcome(
        "early_grade_reading",
        "Early grade reading",
        "Third graders meeting the state standard in English language arts",
        "higher",
        "third graders tested",
        "elementary",
    ),
    Outcome(
        "middle_grade_math",
        "Middle grade math",
        "Eighth graders meeting the state standard in mathematics",
        "higher",
        "eighth graders tested",
        "middle school",
    ),
    Outcome(
        "hs_graduation",
        "High school graduation",
        "Four-year adjusted cohort graduation rate: students who earn a regular diploma "
        "within four years of entering ninth grade",
        "higher",
        "the adjusted ninth-grade cohort (class-of year)",
        "high school",
    ),
    Outcome(
        "postsecondary_enrollment",
        "Postsecondary enrollment",
        "High school graduates enrolled in a two- or four-year institution in the year "
        "after graduation (National Student Clearinghouse)",
        "higher",
        "high school graduates of the class",
        "postsecondary",
    ),
    Outcome(
        "postsecondary_completion",
        "Postsecondary completion",
        "Postsecondary enrollees who earn a certificate or degree within six years of "
        "enrolling (National Student Clearinghouse)",
        "higher",
        "postsecondary enrollees of the class",
        "postsecondary",
    ),
    Outcome(
        "employment",
        "Employment",
        "Young adults of the class employed in the fourth year after high school "
        "(state wage records or survey estimates)",
        "higher",
        "young adults of the class found in the records",
        "career",
    ),
)

#: Contributing indicators that move month by month.
INDICATORS: MappingProxyType[str, Outcome] = _catalogue(
    Outcome(
        "attendance_rate",
        "Attendance rate",
        "Days attended as a share of days enrolled",
        "higher",
        "student-days enrolled",
        "contributing indicator",
    ),
    Outcome(
        "chronic_absence",
        "Chronic absence",
        "Students who missed 10% or more of the days they were enrolled so far this year",
        "lower",
        "students enrolled",
        "contributing indicator",
    ),
    Outcome(
        "ninth_grade_course_passing",
        "Ninth-grade course passing",
        "Ninth graders passing every course at the latest grade check",
        "higher",
        "ninth graders enrolled",
        "contributing indicator",
    ),
)


#: Outcomes that state and federal files publish beside the core ones.
RELATED_OUTCOMES: MappingProxyType[str, Outcome] = _catalogue(
    *(
        Outcome(
            f"hs_graduation_{k}yr",
            f"{word}-year graduation",
            f"Extended adjusted cohort graduation rate: students who earn a regular diploma "
            f"within {k} years of entering ninth grade (year = the cohort's expected class)",
            "higher",
            "the adjusted ninth-grade cohort",
            "high school",
        )
        for k, word in ((5, "Five"), (6, "Six"), (7, "Seven"))
    )
)


def outcome_catalogue(*, indicators: bool = True) -> pd.DataFrame:
    """The outcome catalogue as a table, one row per outcome.

    Parameters
    ----------
    indicators : bool
        Include the contributing indicators after the core outcomes.

    Returns
    -------
    DataFrame
        Columns ``id, label, definition, better, denominator, stage``.

    Examples
    --------
    >>> outcome_catalogue(indicators=False)["id"].tolist()[:3]
    ['kindergarten_readiness', 'early_grade_reading', 'middle_grade_math']
    """
    entries = list(OUTCOMES.values())
    if indicators:
        entries += list(INDICATORS.values())
    return pd.DataFrame([entry.to_dict() for entry in entries])


def better_direction(outcome: str, *, default: Better = "higher") -> Better:
    """The direction in which ``outcome`` improves (``default`` for custom outcomes).

    Examples
    --------
    >>> better_direction("chronic_absence")
    'lower'
    """
    entry = OUTCOMES.get(outcome) or INDICATORS.get(outcome) or RELATED_OUTCOMES.get(outcome)
    return entry.better if entry is not None else default


# --- group vocabularies -------------------------------------------------------------------

#: The seven race/ethnicity categories of the US Department of Education's 2007 guidance
#: (the 1997 OMB standard with Hispanic/Latino asked first), in our labels.
RACE_ETHNICITY_2007: tuple[str, ...] = (
    "American Indian/Alaska Native",
    "Asian",
    "Black",
    "Hispanic/Latino",
    "Native Hawaiian/Other Pacific Islander",
    "White",
    "Two or more races",
)

#: The 2024 OMB standard (SPD 15, March 2024): a combined question that adds Middle
#: Eastern or North African; people may select several categories.
RACE_ETHNICITY_2024: tuple[str, ...] = (
    "American Indian/Alaska Native",
    "Asian",
    "Black",
    "Hispanic/Latino",
    "Middle Eastern/North African",
    "Native Hawaiian/Other Pacific Islander",
    "White",
    "Two or more races",
)

#: The groups of each standard dimension, in display order. Other dimensions and groups
#: are allowed; these are the ones the readers map real labels onto.
GROUPS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "all": (ALL_STUDENTS,),
        "race_ethnicity": (*RACE_ETHNICITY_2024, NOT_REPORTED),
        "income": ("Low income", "Not low income", NOT_REPORTED),
        "gender": ("Female", "Male", "Gender X", NOT_REPORTED),
        "disability": ("Students with disabilities", "Students without disabilities", NOT_REPORTED),
        "english_learner": ("English learner", "Not English learner", NOT_REPORTED),
    }
)

#: Standard dimensions (``geography`` holds places: schools, neighbourhoods, ZIP codes).
DIMENSIONS: tuple[str, ...] = (*GROUPS, "geography")

#: Dimensions whose groups, when a table lists two or more of them, partition All students
#: (each student in exactly one group, ``Not reported`` catching the rest), so the groups'
#: numerators and denominators add up to All students'. Disclosure control relies on it
#: where counts are missing; a table whose complete counts do not add up is read as it is.
PARTITIONS: frozenset[str] = frozenset(
    ("race_ethnicity", "income", "gender", "disability", "english_learner")
)

#: Outcomes counted among another outcome's successes, group by group and class: the
#: denominator of the first is the numerator of the second (postsecondary enrollment is
#: measured on the high school graduates of the class, completion on its enrollees). On the
#: bundled sample both hold exactly in the same year and group wherever both counts are
#: published (816 and 719 pairs; no other lag matches). Disclosure control uses a link only
#: where the counts agree (c2c_analysis.audit).
OUTCOME_LINKS: tuple[tuple[str, str], ...] = (
    ("postsecondary_enrollment", "hs_graduation"),
    ("postsecondary_completion", "postsecondary_enrollment"),
)


def label_key(label: str) -> str:
    """The key a group or dimension label is compared by: case and spacing do not matter.

    Lower case, single spaces, no spaces around ``/``, ``-``, ``,`` or ``&``, and ``&``
    written ``and``; the keys of :data:`GROUP_ALIASES` are such keys.

    Parameters
    ----------
    label : str
        A label as a file prints it (anything else is converted with ``str``).

    Returns
    -------
    str
        The comparison key.

    Examples
    --------
    >>> label_key("Black/ African  American")
    'black/african american'
    >>> label_key("  ALL Students ")
    'all students'
    """
    text = re.sub(r"\s+", " ", str(label).strip().lower())
    text = re.sub(r"\s*([/,\-&])\s*", r"\1", text)
    return text.replace("&", "and")


_DIMENSION_ALIASES = {
    "all": "all",
    "all students": "all",
    "total": "all",
    "race": "race_ethnicity",
    "ethnicity": "race_ethnicity",
    "race/ethnicity": "race_ethnicity",
    "race_ethnicity": "race_ethnicity",
    "raceethnicity": "race_ethnicity",
    "race and ethnicity": "race_ethnicity",
    "federal race/ethnicity": "race_ethnicity",
    "income": "income",
    "low income": "income",
    "low_income": "income",
    "free_reduced_lunch": "income",
    "frl_eligible": "income",
    "low-income": "income",
    "frl": "income",
    "frl status": "income",
    "economic status": "income",
    "socioeconomic status": "income",
    "economically disadvantaged": "income",
    "gender": "gender",
    "sex": "gender",
    "disability": "disability",
    "swd": "disability",
    "students_with_disabilities": "disability",
    "students with disabilities": "disability",
    "special education": "disability",
    "sped": "disability",
    "iep": "disability",
    "english learner": "english_learner",
    "english learners": "english_learner",
    "english_learner": "english_learner",
    "english_learners": "english_learner",
    "ell_status": "english_learner",
    "ell status": "english_learner",
    "english language learners": "english_learner",
    "ell": "english_learner",
    "el": "english_learner",
    "lep": "english_learner",
    "geography": "geography",
    "place": "geography",
    "socioeconomic": "income",
    "socioeconomically disadvantaged": "income",
    "foster": "foster_care",
    "foster care": "foster_care",
    "foster youth": "foster_care",
    "homeless": "homeless",
    "homelessness": "homeless",
    "housing status": "homeless",
    "migrant": "migrant",
    "migrant status": "migrant",
    "english learner status": "english_learner",
    "el status": "english_learner",
    "disability status": "disability",
    "iep status": "disability",
    "sex/gender": "gender",
    "swd status": "disability",
    "poverty": "income",
    "poverty status": "income",
    "economic disadvantage": "income",
    "econ disadv": "income",
}


def normalize_dimension(label: str) -> str:
    """Our name for a dimension label found in a file; unknown labels become snake_case.

    Examples
    --------
    >>> normalize_dimension("Race/Ethnicity")
    'race_ethnicity'
    >>> normalize_dimension("Foster Care")
    'foster_care'
    """
    key = label_key(label)
    if key in _DIMENSION_ALIASES:
        return _DIMENSION_ALIASES[key]
    return re.sub(r"[^a-z0-9]+", "_", key).strip("_")


def _aliases(mapping: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ours, labels in mapping.items():
        for label in (ours, *labels):
            out[label_key(label)] = ours
    return out


#: Labels as state and federal files print them, mapped to ours, per dimension
#: (``GROUP_ALIASES[dimension][label_key(label)]`` is our label). Each key is compared after
#: :func:`label_key`, so case and spacing around "/" do not matter.
GROUP_ALIASES: dict[str, dict[str, str]] = {
    "all": _aliases(
        {
            ALL_STUDENTS: (
                "all",
                "total",
                "all student",
                "all students",
                "district total",
                "districtwide",
                "district-wide",
                "district wide",
                "schoolwide",
                "school-wide",
                "school total",
                "statewide",
                "state total",
                "everyone",
                "all grades and students",
            )
        }
    ),
    "race_ethnicity": _aliases(
        {
            "American Indian/Alaska Native": (
                "American Indian or Alaska Native",
                "American Indian/Alaskan Native",
                "American Indian or Alaskan Native",
                "American Indian",
                "Native American",
                "Native American/Alaska Native",
                "AI/AN",
            ),
            "Asian": ("Asian American", "Asian, non-Hispanic"),
            "Black": (
                "Black/African American",
                "Black or African American",
                "African American",
                "African-American",
                "Black, non-Hispanic",
                "Black non-Hispanic",
                "Black (not Hispanic)",
                "Black or African American (not Hispanic or Latino)",
            ),
            # ACGR and several state files combine these two categories.
            "Asian/Pacific Islander": ("Asian or Pacific Islander", "Asian/Pacific Islanders"),
            "Hispanic/Latino": (
                "Hispanic/Latino of any race(s)",
                "Hispanic/Latino of any race",
                "Hispanic or Latino of any race",
                "Hispanic or Latino of any race(s)",
                "Hispanic or Latino",
                "Hispanic",
                "Latino",
                "Latina/o",
                "Latino/a",
                "Latinx",
                "Hispanic/Latinx",
            ),
            "Middle Eastern/North African": (
                "Middle Eastern or North African",
                "MENA",
                "Middle Eastern",
            ),
            "Native Hawaiian/Other Pacific Islander": (
                "Native Hawaiian or Other Pacific Islander",
                "Native Hawaiian or Pacific Islander",
                "Native Hawaiian/Pacific Islander",
                "Pacific Islander",
                "Pacific Islanders",
                "NHPI",
            ),
            "White": (
                "White, non-Hispanic",
                "White non-Hispanic",
                "White (not Hispanic)",
                "Caucasian",
            ),
            "Two or more races": (
                "Two or More Races",
                "Two or more",
                "2 or more races",
                "Multiracial",
                "Multi-racial",
                "Multiple races",
                "Multiracial and/or multiethnic",
            ),
            NOT_REPORTED: ("Unknown", "Missing", "Not provided", "Declined to state", "Unreported"),
        }
    ),
    "income": _aliases(
        {
            "Low income": (
                "Low-income",
                "Low income (free/reduced-price meals)",
                "Economically disadvantaged",
                "Free/reduced-price meals",
                "Free or reduced-price lunch",
                "Free/reduced lunch",
                "Free/reduced-price meal eligible",
                "FRL",
                "Socioeconomically disadvantaged",
                "Socio-economically disadvantaged",
                "Low SES",
                "Economically disadvantaged students",
                "Econ disadv",
                "Poverty",
                "In poverty",
            ),
            "Not low income": (
                "Non-low income",
                "Non low-income",
                "Not low-income",
                "Not economically disadvantaged",
                "Non-economically disadvantaged",
                "Non-FRL",
                "Not socioeconomically disadvantaged",
                "Not econ disadv",
                "Not in poverty",
                "Non-socioeconomically disadvantaged",
            ),
            NOT_REPORTED: ("Unknown", "Missing"),
        }
    ),
    "gender": _aliases(
        {
            "Female": ("F", "Girls", "Women"),
            "Male": ("M", "Boys", "Men"),
            "Gender X": ("X", "Non-binary", "Nonbinary"),
            NOT_REPORTED: ("Unknown", "Missing"),
        }
    ),
    "disability": _aliases(
        {
            "Students with disabilities": (
                "Students with disabilities (special education)",
                "With disabilities",
                "Students with a disability",
                "Special education",
                "SWD",
                "IEP",
                "Students with IEPs",
                "Students with an IEP",
                "Children with disabilities",
                "Children with disabilities (IDEA)",
            ),
            "Students without disabilities": (
                "Without disabilities",
                "Students without a disability",
                "Non-special education",
                "Not special education",
                "Non-SWD",
                "Non-IEP",
                "Not SWD",
                "No IEP",
                "General education",
            ),
            NOT_REPORTED: ("Unknown", "Missing"),
        }
    ),
    "english_learner": _aliases(
        {
            "English learner": (
                "English learners",
                "English language learners",
                "English language learner",
                "ELL",
                "EL",
                "Limited English proficient",
                "Limited English proficiency",
                "LEP",
                "ELs",
                "Multilingual learners",
                "Multilingual learner",
                "English learner students",
            ),
            "Not English learner": (
                "Non-English learner",
                "Non-English learners",
                "Non-English Language Learners",
                "Non-English language learner",
                "Not English learners",
                "Non-ELL",
                "Non-EL",
                "Not ELL",
                "Not EL",
                "Not limited English proficient",
            ),
            NOT_REPORTED: ("Unknown", "Missing"),
        }
    ),
    "foster_care": _aliases(
        {
            "Foster care": (
                "Foster youth",
                "Foster",
                "Students in foster care",
                "Foster care students",
                "Youth in foster care",
            ),
            "Not in foster care": ("Not foster youth", "Non-foster youth", "Not foster care"),
        }
    ),
    "homeless": _aliases(
        {
            "Homeless": (
                "Homeless youth",
                "Homeless students",
                "Homeless enrolled",
                "Students experiencing homelessness",
                "Experiencing homelessness",
                "McKinney-Vento",
            ),
            "Not homeless": ("Non-homeless", "Not experiencing homelessness"),
        }
    ),
    "migrant": _aliases(
        {
            "Migrant": ("Migrant students", "Migrant education", "Migratory"),
            "Not migrant": ("Non-migrant", "Non-migrant students"),
        }
    ),
}


def normalize_group(label: str, dimension: str | None = None) -> str:
    """Our label for a group label found in a file; unknown labels are returned trimmed.

    Parameters
    ----------
    label : str
        The label as the file prints it, e.g. ``"Black/ African American"``.
    dimension : str, optional
        The (normalized) dimension of the row. Without it, every vocabulary is tried and a
        label is mapped only when exactly one vocabulary knows it.

    Examples
    --------
    >>> normalize_group("Hispanic/Latino of any race(s)", "race_ethnicity")
    'Hispanic/Latino'
    >>> normalize_group("Black/ African American")
    'Black'
    >>> normalize_group("Foster Youth", "foster_care")
    'Foster care'
    >>> normalize_group(" Military connected ", "military")
    'Military connected'
    """
    key = label_key(label)
    if dimension is not None:
        return GROUP_ALIASES.get(dimension, {}).get(key, str(label).strip())
    found = {vocab[key] for vocab in GROUP_ALIASES.values() if key in vocab}
    return found.pop() if len(found) == 1 else str(label).strip()


def is_total_label(label: str) -> bool:
    """Whether a group label means every student ("Total", "All Students", "Districtwide").

    Examples
    --------
    >>> is_total_label("Districtwide"), is_total_label("White")
    (True, False)
    """
    return label_key(label) in GROUP_ALIASES["all"]


def infer_dimension(label: str) -> str | None:
    """The dimension a group label implies, or None when no vocabulary or several know it.

    Labels that every vocabulary shares (``Unknown``, ``Missing``) imply no dimension.

    Examples
    --------
    >>> infer_dimension("Socioeconomically Disadvantaged")
    'income'
    >>> infer_dimension("Total")
    'all'
    >>> infer_dimension("Unknown") is None
    True
    """
    key = label_key(label)
    found = [dim for dim, vocab in GROUP_ALIASES.items() if key in vocab]
    return found[0] if len(found) == 1 else None


def did_you_mean(value: str, choices: Iterable[str], *, n: int = 3) -> str:
    """A ``"; did you mean 'X'?"`` hint for an unknown label or id ("" when nothing is close).

    Matching ignores case and spacing; choices are listed as they are spelled.

    Examples
    --------
    >>> did_you_mean("Hispanc", ["Hispanic/Latino", "White"])
    "; did you mean 'Hispanic/Latino'?"
    >>> did_you_mean("hs_graduaton", ["hs_graduation", "employment"])
    "; did you mean 'hs_graduation'?"
    """
    spelled: dict[str, str] = {}
    for choice in choices:
        spelled.setdefault(label_key(choice), str(choice))
    key = label_key(value)
    close = difflib.get_close_matches(key, list(spelled), n=n, cutoff=0.6)
    # A label that starts another ("hispanic" of "hispanic/latino") is close too.
    close += [k for k in spelled if k.startswith(key) and k not in close and len(key) >= 3]
    if not close:
        return ""
    names = " or ".join(repr(spelled[k]) for k in close[:n])
    return f"; did you mean {names}?"


# --- suppression markers ------------------------------------------------------------------

#: What state and federal files print in place of a withheld count or rate, compared in
#: lower case with spaces removed. ``n<10``, ``<5`` and other "fewer than k" marks are
#: recognised for any k (see :func:`is_suppression_marker`); ``LT50`` and ``<5%`` are
#: range codes, not markers. EDFacts ``.`` ("no students")
#: is not a marker: readers leave such rows out.
SUPPRESSION_MARKERS: frozenset[str] = frozenset(
    {
        "*",
        "**",
        "***",
        "s",
        "ns",
        "n/s",
        "ps",
        "ds",
        "--",
        "---",
        "n/a",
        "dnr",
        "supp",
        "suppressed",
        "masked",
        "redacted",
        "‡",
        "†",
        "<",
        "≤",
        "toofew",
        "toofewstudents",
        "crossgroup",
    }
)
_FEWER_THAN = re.compile(r"^(?:n)?(?:<|<=|≤)\d+$")


def _marker_key(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return re.sub(r"\s+", "", value).lower()


def is_suppression_marker(values: object) -> object:
    """Whether values are suppression markers (``*``, ``s``, ``NS``, ``N<10``, ``<5``, ``PS``...).

    Parameters
    ----------
    values : scalar or array-like
        Cells as read from a file. Numbers, blanks and missing values are not markers.

    Returns
    -------
    bool or numpy.ndarray of bool
        A bool for a scalar, else one bool per value (computed once per distinct value).

    Notes
    -----
    One vocabulary (:data:`SUPPRESSION_MARKERS`, plus "fewer than k" marks such as ``N<10``
    and ``<5``) serves every reader and the run and control charts, so a withheld
    point is counted as withheld, never silently missing. Marks with a percent sign
    (``<5%``) are range codes, not markers.

    Examples
    --------
    >>> is_suppression_marker(["*", "N<10", "12", None, " ns ", "<5", "<5%"]).tolist()
    [True, True, False, False, True, True, False]
    >>> is_suppression_marker("PS")
    True
    """
    import numpy as np

    if isinstance(values, str) or values is None or not hasattr(values, "__len__"):
        key = _marker_key(values)
        return bool(key is not None and (key in SUPPRESSION_MARKERS or _FEWER_THAN.match(key)))
    # Neither text nor a scalar: a sequence or an array (hasattr(values, "__len__") above).
    items = cast("Iterable[object]", values)
    array = np.asarray(list(items) if not hasattr(values, "dtype") else items, dtype=object)
    if array.size == 0:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(pd.Series(array.ravel(), dtype=object))
    flags = np.array([bool(is_suppression_marker(u)) for u in uniques] + [False], dtype=bool)
    return flags[np.where(codes < 0, len(uniques), codes)].reshape(array.shape)


# --- partnership slugs --------------------------------------------------------------------


def slugify(name: object) -> str:
    """The partnership slug of a name as a source spells it: safe as a file name.

    Accents are dropped, apostrophes removed, ``&`` and every other run of characters that
    are not letters, digits or ``_`` become one ``-``; the result matches ``[a-z0-9][a-z0-9_-]*``
    and a slug maps to itself.

    Raises
    ------
    ValueError
        If the name holds no letter or digit.

    Examples
    --------
    >>> slugify("CHICAGO MATH & SCIENCE HS")
    'chicago-math-science-hs'
    >>> slugify("O'Bryant School Math/Science (Boston) @ Roxbury")
    'obryant-school-math-science-boston-roxbury'
    >>> slugify("tacoma_wa")
    'tacoma_wa'
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"['\u2019`]", "", text.lower())
    text = re.sub(r"[^a-z0-9_]+", "-", text).strip("-_")
    if not text:
        raise ValueError(f"{name!r} holds no letter or digit to make a partnership slug from")
    return text


def empty_outcome_table(*, time: Literal["year", "period"] = "year") -> pd.DataFrame:
    """A canonical outcome table with no rows and the right dtypes.

    Examples
    --------
    >>> empty_outcome_table().dtypes["numerator"]
    Int64Dtype()
    """
    columns = [time if column == "year" else column for column in COLUMNS]
    return pd.DataFrame({column: pd.Series(dtype=DTYPES[column]) for column in columns})
