"""The portfolio file reader: a partnership's strategies from YAML or CSV."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from c2c_analysis.portfolio.strategy import Portfolio, Strategy
from c2c_analysis.schema import ALL_STUDENTS, INDICATORS, OUTCOMES, RELATED_OUTCOMES
from c2c_analysis.validation import DataValidationError

__all__ = ["read_portfolio"]

#: The fields every strategy must have.
REQUIRED_FIELDS = ("id", "name", "outcome", "start")

#: The fields that hold lists (separated by ``;`` in a CSV file).
LIST_FIELDS = ("groups", "partners", "contributing_indicators")


def read_portfolio(path: str | os.PathLike[str], *, data: pd.DataFrame | None = None) -> Portfolio:
    """Read a partnership's strategy portfolio from YAML (or the same fields from CSV).

    YAML::

        partnership: tacoma
        strategies:
          - id: grad-coaches
            name: Graduation coaches in every high school
            outcome: hs_graduation
            dimension: race_ethnicity            # default: all
            groups: [Black, Hispanic/Latino]     # default: all students
            start: 2013                          # first period the strategy could affect
            end: 2016                            # optional
            partners: [Tacoma Public Schools]
            investment: 1200000
            contributing_indicators: [attendance_rate, ninth_grade_course_passing]
            comparison: White                    # a group, or another partnership

    CSV: one row per strategy with the same column names; ``partnership`` on every row;
    list fields separated by ``;``.

    Parameters
    ----------
    path : str or path-like
        A ``.yaml``/``.yml`` file, or a CSV file (any other suffix).
    data : DataFrame, optional
        An outcome table to check the strategies against (outcomes, groups, start; see
        ``Portfolio.validate()``).

    Returns
    -------
    Portfolio
        ``partnership``, ``strategies`` (one :class:`~c2c_analysis.portfolio.Strategy`
        each, in the file's order) and ``source`` (the file's name).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    DataValidationError
        Missing fields, unknown outcome ids (neither in the catalogue nor in ``data``),
        duplicate strategy ids, non-integer starts; with ``data``: groups and starts
        outside the data.

    Examples
    --------
    >>> from c2c_analysis.datasets import sample_path
    >>> portfolio = read_portfolio(sample_path("portfolio"))
    >>> portfolio.partnership, [s.id for s in portfolio.strategies][:2]
    ('tacoma', ['graduate-tacoma', 'equity-coaching'])
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file path, not {type(path).__name__}")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a DataFrame or None, not {type(data).__name__}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    partnership, entries = _read_entries(path)
    problems: list[dict[str, Any]] = []
    if not partnership:
        problems.append(
            {"row": None, "column": "partnership", "value": "", "problem": "partnership is missing"}
        )
    known_outcomes = set(OUTCOMES) | set(INDICATORS) | set(RELATED_OUTCOMES)
    if data is not None and "outcome" in data:
        known_outcomes |= set(data["outcome"].unique())
    strategies = []
    seen: set[str] = set()
    for i, entry in enumerate(entries, start=1):
        strategy = _strategy(entry, i, seen, known_outcomes, problems)
        if strategy is not None:
            strategies.append(strategy)
    if problems:
        raise DataValidationError(problems, source=path.name)
    portfolio = Portfolio(
        partnership=str(partnership), strategies=tuple(strategies), source=path.name
    )
    if data is not None:
        portfolio.validate(data)
    return portfolio


def _problem(row: str | None, column: str | None, value: str, problem: str) -> dict[str, Any]:
    return {"row": row, "column": column, "value": value, "problem": problem}


def _read_entries(path: Path) -> tuple[Any, list[Mapping[str, Any]]]:
    """The file's partnership and its strategies' raw fields (YAML, or CSV rows)."""
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
        except yaml.YAMLError as error:
            raise DataValidationError(
                [_problem(None, None, "", f"not valid YAML: {error}")], source=path.name
            ) from None
        if not isinstance(content, Mapping):
            raise DataValidationError(
                [_problem(None, None, "", "expected a mapping with partnership and strategies")],
                source=path.name,
            )
        entries = content.get("strategies") or []
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
            raise DataValidationError(
                [_problem(None, "strategies", "", "expected a list of strategies, each a mapping")],
                source=path.name,
            )
        return content.get("partnership"), entries
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    partnership = frame["partnership"].iloc[0] if "partnership" in frame and len(frame) else None
    entries = [
        {
            str(k): ([x.strip() for x in v.split(";") if x.strip()] if k in LIST_FIELDS else v)
            for k, v in row.items()
            if v != ""
        }
        for row in frame.to_dict("records")
    ]
    return partnership, entries


def _strategy(
    entry: Mapping[str, Any],
    i: int,
    seen: set[str],
    known_outcomes: set[str],
    problems: list[dict[str, Any]],
) -> Strategy | None:
    """The ``i``-th entry as a :class:`Strategy`; its problems are added to ``problems``
    (None when its start or end is not a whole year)."""
    where = str(entry.get("id", f"strategy {i}"))
    for name in REQUIRED_FIELDS:
        if entry.get(name) in (None, ""):
            problems.append(_problem(where, name, "", "required field is missing"))
    if entry.get("id") in seen:
        problems.append(_problem(where, "id", str(entry.get("id")), "duplicate strategy id"))
    seen.add(str(entry.get("id")))
    if entry.get("outcome") and entry["outcome"] not in known_outcomes:
        problems.append(_problem(where, "outcome", str(entry["outcome"]), "unknown outcome id"))
    try:
        given: Any = entry.get("start")  # None or text: TypeError or ValueError
        start = int(given)
        end = int(entry["end"]) if entry.get("end") not in (None, "") else None
    except (TypeError, ValueError):
        problems.append(
            _problem(where, "start", str(entry.get("start")), "start and end must be whole years")
        )
        return None
    groups = entry.get("groups") or [ALL_STUDENTS]
    groups = [groups] if isinstance(groups, str) else list(groups)
    dimension = entry.get("dimension") or ("all" if groups == [ALL_STUDENTS] else "")
    if not dimension:
        problems.append(
            _problem(where, "dimension", "", "dimension is needed when groups are given")
        )
    investment = entry.get("investment")
    return Strategy(
        id=str(entry.get("id")),
        name=str(entry.get("name")),
        outcome=str(entry.get("outcome")),
        dimension=str(dimension),
        groups=tuple(str(g) for g in groups),
        start=start,
        end=end,
        partners=tuple(str(p) for p in entry.get("partners") or ()),
        investment=float(investment) if investment not in (None, "") else None,
        contributing_indicators=tuple(str(c) for c in entry.get("contributing_indicators") or ()),
        comparison=str(entry["comparison"]) if entry.get("comparison") else None,
    )
