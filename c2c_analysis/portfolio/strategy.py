"""A partnership's strategies: what each targets, for whom, from when, compared with whom."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from c2c_analysis._checks import require_columns
from c2c_analysis.validation import DataValidationError

__all__ = ["Portfolio", "Strategy"]


@dataclass(frozen=True)
class Strategy:
    """One strategy of a partnership's portfolio.

    Attributes
    ----------
    id, name : str
        Its id (unique in the portfolio) and its name in words.
    outcome : str
        The outcome id it targets.
    dimension : str
        The dimension of its targeted groups (``all`` for all students).
    groups : tuple of str
        The targeted groups.
    start : int
        The first period the strategy could affect.
    end : int or None
        Its last period (it is judged there), or None while it runs.
    partners : tuple of str
    investment : float or None
    contributing_indicators : tuple of str
        Indicator ids that show its progress before the outcome does.
    comparison : str or None
        The group of ``dimension`` its targeted groups' gaps are measured against, or
        another partnership (a comparative interrupted time series); None: All students.

    Examples
    --------
    >>> Strategy(id="coaching", name="Coaching", outcome="hs_graduation", dimension="all",
    ...          groups=("All students",), start=2013).comparison is None
    True
    """

    id: str
    name: str
    outcome: str
    dimension: str
    groups: tuple[str, ...]
    start: int
    end: int | None = None
    partners: tuple[str, ...] = ()
    investment: float | None = None
    contributing_indicators: tuple[str, ...] = ()
    comparison: str | None = None


@dataclass(frozen=True)
class Portfolio:
    """A partnership's strategies (see :func:`~c2c_analysis.read_portfolio`).

    Attributes
    ----------
    partnership : str
    strategies : tuple of Strategy
    source : str
        The file it was read from (its name), for error messages.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> load_sample("portfolio").to_frame()["id"].tolist()
    ['graduate-tacoma', 'equity-coaching', 'college-bound']
    """

    partnership: str
    strategies: tuple[Strategy, ...]
    source: str = ""

    def to_frame(self) -> pd.DataFrame:
        """One row per strategy.

        Returns
        -------
        DataFrame
            ``id, name, outcome, dimension, groups, start, end, partners, investment,
            contributing_indicators, comparison`` (lists joined by ", ").
        """
        rows = []
        for s in self.strategies:
            rows.append(
                {
                    "id": s.id,
                    "name": s.name,
                    "outcome": s.outcome,
                    "dimension": s.dimension,
                    "groups": ", ".join(s.groups),
                    "start": s.start,
                    "end": s.end,
                    "partners": ", ".join(s.partners),
                    "investment": s.investment,
                    "contributing_indicators": ", ".join(s.contributing_indicators),
                    "comparison": s.comparison,
                }
            )
        return pd.DataFrame(rows)

    def validate(self, data: pd.DataFrame) -> None:
        """Check the strategies against an outcome table; raise listing every problem.

        Parameters
        ----------
        data : DataFrame
            An outcome table with ``outcome``, ``dimension``, ``group`` and ``year`` (and
            ``partnership``, whose rows of this partnership are used).

        Raises
        ------
        DataValidationError
            Every problem: the partnership, an outcome, a group or a start not in the
            data, a comparison that names nothing in it.
        """
        require_columns(data, ["outcome", "dimension", "group", "year"])
        problems: list[dict[str, Any]] = []
        rows = data[data["partnership"] == self.partnership] if "partnership" in data else data
        if rows.empty:
            problems.append(
                {
                    "row": None,
                    "column": "partnership",
                    "value": self.partnership,
                    "problem": "partnership not in the data",
                }
            )
        for s in self.strategies:
            problems.extend(_strategy_problems(s, rows, data))
        if problems:
            raise DataValidationError(problems, source=self.source or "portfolio")


def _strategy_problems(s: Strategy, rows: pd.DataFrame, data: pd.DataFrame) -> list[dict]:
    """One strategy's problems against its partnership's ``rows``."""
    series = rows[rows["outcome"] == s.outcome]
    if series.empty:
        return [
            {
                "row": s.id,
                "column": "outcome",
                "value": s.outcome,
                "problem": "outcome not in the data for this partnership",
            }
        ]
    problems = []
    in_dimension = series[series["dimension"] == s.dimension]
    known = set(in_dimension["group"])
    for g in s.groups:
        if g not in known:
            problems.append(
                {
                    "row": s.id,
                    "column": "groups",
                    "value": g,
                    "problem": f"group not in the data (dimension {s.dimension})",
                }
            )
    years = series["year"]
    if not years.min() < s.start <= years.max():
        problems.append(
            {
                "row": s.id,
                "column": "start",
                "value": str(s.start),
                "problem": f"start outside the data ({years.min()}-{years.max()}): "
                "need periods before it and from it on",
            }
        )
    problems.extend(_comparison_problems(s, in_dimension, data))
    return problems


def _comparison_problems(s: Strategy, in_dimension: pd.DataFrame, data: pd.DataFrame) -> list:
    """A comparison names a group of the strategy's dimension or another partnership."""
    if not s.comparison or s.comparison in set(in_dimension["group"]):
        return []
    partnerships = set(data["partnership"]) if "partnership" in data else set()
    own = set(in_dimension["partnership"]) if "partnership" in in_dimension else set()
    if s.comparison in own:
        return [
            {
                "row": s.id,
                "column": "comparison",
                "value": s.comparison,
                "problem": "is the strategy's own partnership: compare with a group, or "
                "with another partnership",
            }
        ]
    if s.comparison in partnerships:
        return []
    close = difflib.get_close_matches(
        s.comparison, sorted(set(in_dimension["group"]) | partnerships), n=3
    )
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return [
        {
            "row": s.id,
            "column": "comparison",
            "value": s.comparison,
            "problem": f"neither a group of dimension {s.dimension} nor a partnership in the "
            f"data{hint}",
        }
    ]
