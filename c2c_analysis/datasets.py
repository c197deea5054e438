"""The bundled sample data: real published Tacoma figures and synthetic partnerships.

Every file's provenance is in ``data/sample/README.md``; which numbers are real and which
are modelled is stated there and in each file's ``source`` column.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

import pandas as pd

from c2c_analysis.io.outcomes import read_outcomes

if TYPE_CHECKING:
    from c2c_analysis.portfolio import Portfolio

__all__ = ["list_samples", "load_sample", "sample_path"]

_FILES = {
    "outcomes": "outcomes.csv",
    "tacoma_published": "tacoma_published.csv",
    "students": "students.csv",
    "indicators": "indicators.csv",
    "portfolio": "portfolio.yaml",
}
_DESCRIPTIONS = {
    "outcomes": "synthetic outcome table: 5 partnerships, 7 core outcomes, 2010-2019, 6 dimensions "
    "(Tacoma's graduation series modelled to agree with the published figures)",
    "tacoma_published": "real published Tacoma graduation, enrollment and completion rates with "
    "their citations (rates only)",
    "students": "synthetic student records of Tacoma's graduating classes 2010-2019, consistent "
    "with Tacoma's graduation rows in 'outcomes'",
    "indicators": "synthetic monthly contributing indicators for two partnerships, 2014-15 to "
    "2018-19, with a real shift in Tacoma's from January 2017",
    "portfolio": "illustrative strategy portfolio for tacoma (fictional strategies; read with "
    "read_portfolio)",
}


def _sample_dir() -> Path:
    """Inside an installed wheel the data is ``c2c_analysis/_sample``; in a checkout (or an
    editable install) it is the repository's ``data/sample``."""
    packaged = resources.files("c2c_analysis") / "_sample"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "data" / "sample"


def sample_path(name: str) -> Path:
    """The path of a sample file, for functions that take a file (and for notebooks).

    Examples
    --------
    >>> sample_path("outcomes").name
    'outcomes.csv'
    """
    if name not in _FILES:
        raise KeyError(f"unknown sample {name!r}; choose one of {', '.join(sorted(_FILES))}")
    path = _sample_dir() / _FILES[name]
    if not path.exists():
        raise FileNotFoundError(f"sample file missing from the installation: {path.name}")
    return path


def list_samples() -> pd.DataFrame:
    """The bundled samples: ``name, file, description``.

    Examples
    --------
    >>> list_samples()["name"].tolist()
    ['indicators', 'outcomes', 'portfolio', 'students', 'tacoma_published']
    """
    rows = [{"name": n, "file": _FILES[n], "description": _DESCRIPTIONS[n]} for n in sorted(_FILES)]
    return pd.DataFrame(rows)


# The name "portfolio" gives a Portfolio, any other a DataFrame: the overlap of a Literal
# with str is intended (overloads are tried in order), as in typeshed's open().
@overload
def load_sample(name: Literal["portfolio"]) -> Portfolio: ...  # type: ignore[overload-overlap]
@overload
def load_sample(name: str) -> pd.DataFrame: ...


def load_sample(name: str) -> pd.DataFrame | Portfolio:
    """Load a bundled sample data set.

    Parameters
    ----------
    name : {"outcomes", "tacoma_published", "students", "indicators", "portfolio"}
        ``outcomes`` and ``indicators`` come back as validated canonical tables (the
        indicators with ``period`` in place of ``year``); ``tacoma_published`` as printed,
        one row per published figure with its source; ``students`` one row per student;
        ``portfolio`` as a :class:`~c2c_analysis.portfolio.Portfolio`.

    Returns
    -------
    DataFrame or Portfolio
        A DataFrame for every name but ``"portfolio"``, which gives a
        :class:`~c2c_analysis.portfolio.Portfolio` (the strategies read from the sample
        portfolio file; :func:`sample_path` gives the file itself). Type checkers see the
        same: ``load_sample("portfolio")`` is typed ``Portfolio``, any other name
        ``DataFrame``.

        - ``outcomes``: the canonical columns of :data:`c2c_analysis.schema.COLUMNS`.
        - ``indicators``: the same with ``period`` in place of ``year``.
        - ``tacoma_published``: one row per published figure, as printed: ``geography``,
          ``nces_leaid`` (text), ``measure``, ``class_of``, ``year_as_published`` (text),
          ``student_group``, ``value_pct``, ``value_as_published`` (text), ``source_id``,
          ``notes``.
        - ``students``: one row per student: ``student_id``, ``partnership``,
          ``class_of``, ``graduated`` (1/0), ``race_ethnicity``, ``gender``, ``low_income``,
          ``english_learner``, ``disability`` (1/0 flags), ``attendance_rate``,
          ``prior_score``.

    Examples
    --------
    >>> outcomes = load_sample("outcomes")
    >>> sorted(outcomes["partnership"].unique())[:2]
    ['harbor_city', 'lakeside_county']
    >>> published = load_sample("tacoma_published")
    >>> published.query("class_of == 2015 and student_group == 'Black'")["value_pct"].tolist()
    [81.0]
    """
    path = sample_path(name)
    if name == "portfolio":
        from c2c_analysis.portfolio import read_portfolio  # statsmodels: loaded when needed

        return read_portfolio(path)
    if name in ("outcomes", "indicators"):
        return read_outcomes(path)
    if name == "tacoma_published":
        return pd.read_csv(
            path, dtype={"nces_leaid": str, "year_as_published": str, "value_as_published": str}
        )
    return pd.read_csv(
        path,
        dtype={"student_id": "str", "race_ethnicity": "str", "gender": "str", "partnership": "str"},
        keep_default_na=False,
        na_values={"race_ethnicity": [""]},
    )
