"""Das Gupta's standardization and decomposition of rates, for any number of factors, any rate
function, vector factors across subgroups and any number of populations."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._checks import DEPRECATED, renamed, require_columns
from c2c_analysis._results import json_safe
from c2c_analysis.decompose.results import DasGuptaResult
from c2c_analysis.validation import DataValidationError

__all__ = ["das_gupta"]

#: The rate of a population from its factors' values (scalars, or arrays over subgroups).
RateFunction = Callable[..., float]


def das_gupta(
    data: pd.DataFrame,
    *,
    group: str | None = None,
    factors: Sequence[str],
    subgroup: str | None = None,
    rate_function: RateFunction | None = None,
    order: Sequence[Any] | None = None,
    population: str = DEPRECATED,
    rate: RateFunction | None = DEPRECATED,
) -> DasGuptaResult:
    """Das Gupta's multi-factor standardization and decomposition of rates.

    Parameters
    ----------
    data : DataFrame
        One row per population (and per subgroup, for vector factors) with a column per
        factor.
    group : str
        The column naming the populations compared (e.g. the year, or "pre"/"post").
        Populations are compared in the order of ``order``, else of the column's categories
        when it is a pandas Categorical, else ascending when every value is a number or a
        date (years), else in the order they first appear in ``data``; never
        alphabetically. Effects are the second minus the first (``population_to`` −
        ``population_from``).
    factors : sequence of str
        The factor columns.
    subgroup : str, optional
        For vector factors: the column naming the subgroups (e.g. age groups); every
        population must have the same subgroups.
    rate_function : callable, optional
        ``rate_function(**{factor: values})`` returning the population's rate, where values
        are scalars (or arrays over subgroups). Default: the product of the factors (summed
        over subgroups).
    order : sequence, optional
        Every population once, in the order to compare them: ``order=["pre", "post"]`` gives
        post minus pre whatever the rows' order.
    population : str
        Deprecated name of ``group`` (until 0.3).
    rate : callable
        Deprecated name of ``rate_function`` (until 0.3).

    Returns
    -------
    DasGuptaResult
        ``.table``: one row per population and factor: ``population``, ``factor``,
        ``standardized_rate`` (the rate with every other factor standardized; Das Gupta's
        "P−α" rates), and ``crude_rate``. ``.summary`` (also ``.effects``): one row per
        pair of populations (first, second in the comparison order) and factor:
        ``population_from`` (the first), ``population_to`` (the second), ``factor``,
        ``effect`` (difference of the standardized rates, second minus first), ``share``
        (of the difference in crude rates) and ``crude_difference`` (second minus first).
        ``.settings`` names the comparison: ``populations`` (in order), ``first``,
        ``second`` (the first and the last population), ``order`` (how the order was
        chosen: ``given``, ``categorical``, ``ascending`` or ``first appearance``) and
        ``comparison`` (in words).

    Notes
    -----
    For two populations the standardized rate of population k for factor α averages the rate
    function over every way of taking the other factors from k or from the other
    population, with weights |S|!(P−1−|S|)!/P! for a set S taken from the other population:
    Das Gupta's symmetric formulas, which for products give e.g. α₁(β₁+β₂)/2 with two
    factors. The effects then add up exactly to the difference in crude rates. With N > 2
    populations, pairwise results are made consistent with Das Gupta's equations 6.11
    (standardized rates) so that effects between any two populations are differences of one
    set of rates (and add up along a chain: 1→3 = 1→2 + 2→3).

    References
    ----------
    Das Gupta, P. (1993). Standardization and Decomposition of Rates: A User's Manual. US
    Bureau of the Census, Current Population Reports P23-186.

    Examples
    --------
    >>> import pandas as pd
    >>> earnings = pd.DataFrame({"pop": ["black", "white"], "avg_earnings": [10930, 16591],
    ...                          "earner_share": [0.717892, 0.825974]})
    >>> result = das_gupta(earnings, group="pop", factors=["avg_earnings", "earner_share"])
    >>> result.effects[["factor", "effect"]].round(1).values.tolist()
    [['avg_earnings', 4369.9], ['earner_share', 1487.3]]
    >>> result.settings["comparison"]
    'white minus black'
    """
    # Long because of its docstring (the comparison order, the N-population formulas); the
    # work is in _population_order, _factor_values, _standardized_rates and _effects.
    group = renamed("das_gupta", "population", population, "group", group, default=None)
    rate_function = renamed("das_gupta", "rate", rate, "rate_function", rate_function, default=None)
    if group is None:
        raise TypeError("das_gupta() needs group=, the column naming the populations")
    factors = list(factors)
    if not factors:
        raise ValueError("das_gupta needs at least one factor")
    require_columns(data, [group, *factors, *([subgroup] if subgroup else [])])
    pops, how = _population_order(data[group], order)
    if len(pops) < 2:
        raise ValueError("das_gupta needs at least two populations")
    values = _factor_values(data, group, factors, subgroup, pops)
    function: RateFunction = rate_function or _product_rate(factors)

    def evaluate(choice: Mapping[str, Any]) -> float:
        return float(function(**choice))

    crude = {p: evaluate(values[p]) for p in pops}
    standardized = _standardized_rates(values, pops, factors, evaluate)
    table = pd.DataFrame(
        [
            {
                "population": p,
                "factor": f,
                "standardized_rate": standardized[p][f],
                "crude_rate": crude[p],
            }
            for p in pops
            for f in factors
        ]
    )
    n = len(pops)
    return DasGuptaResult(
        table=table,
        summary=_effects(pops, factors, crude, standardized),
        settings={
            "group": group,
            "factors": factors,
            "subgroup": subgroup,
            "populations": [json_safe(p) for p in pops],
            "first": json_safe(pops[0]),
            "second": json_safe(pops[-1]),
            "order": how,
            "comparison": (
                f"{pops[1]} minus {pops[0]}"
                if n == 2
                else "each later population minus each earlier one, in the order "
                + ", ".join(map(str, pops))
            ),
            "method": "das_gupta",
        },
    )


def _product_rate(factors: list[str]) -> RateFunction:
    """The default rate function: the product of the factors, summed over subgroups."""

    def rate(**kw: Any) -> float:
        product = np.prod([np.asarray(kw[f], dtype=float) for f in factors], axis=0)
        return float(np.sum(product))

    return rate


def _standardized_rates(
    values: Mapping[Any, Mapping[str, Any]],
    pops: list[Any],
    factors: list[str],
    evaluate: Callable[[Mapping[str, Any]], float],
) -> dict[Any, dict[str, float]]:
    """Each population's standardized rate per factor: the pairwise rates, made consistent
    across N populations by Das Gupta's equations 6.11 (no change for two)."""
    pairwise: dict[tuple[Any, Any], dict[str, float]] = {}
    for a, b in itertools.permutations(pops, 2):
        pairwise[(a, b)] = {
            f: _standardized(values[a], values[b], f, factors, evaluate) for f in factors
        }
    n = len(pops)
    standardized: dict[Any, dict[str, float]] = {}
    for y in pops:
        standardized[y] = {}
        for f in factors:
            own = np.mean([pairwise[(y, j)][f] for j in pops if j != y])
            correction = sum(
                sum(pairwise[(x, j)][f] for j in pops if j not in (x, y))
                - (n - 2) * pairwise[(x, y)][f]
                for x in pops
                if x != y
            ) / (n * (n - 1))
            standardized[y][f] = float(own + correction)
    return standardized


def _effects(
    pops: list[Any],
    factors: list[str],
    crude: Mapping[Any, float],
    standardized: Mapping[Any, Mapping[str, float]],
) -> pd.DataFrame:
    """One row per pair of populations (in the comparison order) and factor."""
    rows = []
    for i, j in itertools.combinations(range(len(pops)), 2):
        a, b = pops[i], pops[j]
        diff = crude[b] - crude[a]
        for f in factors:
            effect = standardized[b][f] - standardized[a][f]
            rows.append(
                {
                    "population_from": a,
                    "population_to": b,
                    "factor": f,
                    "effect": effect,
                    "share": effect / diff if diff else math.nan,
                    "crude_difference": diff,
                }
            )
    return pd.DataFrame(rows)


def _population_order(values: pd.Series, order: Sequence[Any] | None) -> tuple[list, str]:
    """The populations in the order they are compared, and how that order was chosen."""
    present = pd.unique(values.dropna()).tolist()
    if order is not None:
        wanted = list(order)
        repeated = [p for p, times in Counter(wanted).items() if times > 1]
        unknown = [p for p in wanted if p not in present]
        absent = [p for p in present if p not in wanted]
        if repeated or unknown or absent:
            problems = []
            if repeated:
                problems.append(f"repeats {repeated}")
            if unknown:
                problems.append(f"names {unknown}, not in the column {values.name!r}")
            if absent:
                problems.append(f"leaves out {absent}")
            raise ValueError(
                "order must list every population of "
                f"{values.name!r} once: it {'; '.join(problems)}"
            )
        return wanted, "given"
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if c in present], "categorical"
    dtype = pd.Series(present).dtype if present else values.dtype
    ordered = pd.api.types.is_datetime64_any_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    )
    if ordered:  # years and dates: their own order, whatever the rows' order
        return sorted(present), "ascending"
    return present, "first appearance"


def _factor_values(
    data: pd.DataFrame, population: str, factors: list[str], subgroup: str | None, pops: list[Any]
) -> dict[Any, dict[str, Any]]:
    """Each population's factor values: scalars, or arrays over the subgroups (in the first
    population's order)."""
    out: dict[Any, dict[str, Any]] = {}
    order = None
    for p in pops:
        rows = data[data[population] == p]
        if subgroup is None:
            if len(rows) != 1:
                raise DataValidationError(
                    [
                        {
                            "row": None,
                            "column": population,
                            "value": str(p),
                            "problem": f"{len(rows)} rows; give subgroup= for vector factors",
                        }
                    ]
                )
            out[p] = {f: float(rows[f].iloc[0]) for f in factors}
        else:
            rows = rows.set_index(subgroup)
            if order is None:
                order = list(rows.index)
            if (
                sorted(map(str, rows.index)) != sorted(map(str, order))
                or rows.index.duplicated().any()
            ):
                raise DataValidationError(
                    [
                        {
                            "row": None,
                            "column": subgroup,
                            "value": str(p),
                            "problem": "populations must have the same subgroups, once each",
                        }
                    ]
                )
            out[p] = {f: rows.loc[order, f].to_numpy(dtype=float) for f in factors}
    return out


def _standardized(
    own: Mapping[str, Any],
    other: Mapping[str, Any],
    factor: str,
    factors: list[str],
    evaluate: Callable[[Mapping[str, Any]], float],
) -> float:
    """Rate of the population ``own`` with every factor but ``factor`` standardized against
    ``other``: the Shapley-weighted average over which other factors come from ``other``."""
    rest = [f for f in factors if f != factor]
    p = len(factors)
    total = 0.0
    for size in range(len(rest) + 1):
        weight = math.factorial(size) * math.factorial(p - 1 - size) / math.factorial(p)
        for swapped in itertools.combinations(rest, size):
            choice = {f: (other[f] if f in swapped else own[f]) for f in factors}
            total += weight * evaluate(choice)
    return total
