"""How much of a change is composition and how much is real improvement.

- :func:`decompose_rate_change`: Kitagawa's split of the change in an overall rate between
  two periods into a composition effect (the mix of groups changed) and a rate effect (the
  groups' own rates changed).
- :func:`das_gupta`: Das Gupta's standardization and decomposition for any number of
  factors, any rate function, vector factors across subgroups and any number of
  populations.
- :func:`oaxaca_blinder`: the gap in a student-level outcome between two groups split into
  the part explained by covariates and the rest.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._arrays import group_codes, join_notes, segment_join, texts
from c2c_analysis._results import json_safe
from c2c_analysis._rows import resolve_rows
from c2c_analysis._time import start_end_rows
from c2c_analysis.validation import DataValidationError

__all__ = [
    "DasGuptaResult",
    "DecompositionResult",
    "OaxacaBlinderResult",
    "das_gupta",
    "decompose_rate_change",
    "oaxaca_blinder",
]


@dataclass(frozen=True, repr=False)
class _Result:
    table: pd.DataFrame
    summary: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: settings, summary and table as lists of records."""
        return {
            "settings": dict(self.settings),
            "summary": json_safe(self.summary),
            "table": json_safe(self.table),
        }

    def _repr_html_(self) -> str:
        return (
            f"<h4>{type(self).__name__}</h4>"
            + self.summary.to_html(index=False)
            + self.table.to_html(index=False)
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}\n{self.summary.to_string(index=False)}"

    def plot(self, ax=None):
        """Waterfall of the effects (see :func:`c2c_analysis.plotting.plot_waterfall`)."""
        from c2c_analysis.plotting import plot_waterfall

        return plot_waterfall(self, ax=ax)


class DecompositionResult(_Result):
    """Kitagawa decomposition: ``.table`` per group, ``.summary`` one row per series."""


class DasGuptaResult(_Result):
    """Das Gupta standardization: ``.table`` standardized rates, ``.summary`` factor effects."""


class OaxacaBlinderResult(_Result):
    """Oaxaca-Blinder: ``.table`` per covariate, ``.summary`` per component."""


# --- Kitagawa -------------------------------------------------------------------------------


def decompose_rate_change(
    data: pd.DataFrame,
    *,
    start: object,
    end: object,
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
    by: Sequence[str] | None = None,
) -> DecompositionResult:
    """Kitagawa's decomposition of the change in an overall rate.

    The overall rate is R = Σ cᵢ rᵢ, with cᵢ group i's share of the cohort and rᵢ its rate.
    Between ``start`` (1) and ``end`` (2):

    R₂ − R₁ = Σ (c₂ᵢ − c₁ᵢ)(r₁ᵢ + r₂ᵢ)/2  [composition]  +  Σ (r₂ᵢ − r₁ᵢ)(c₁ᵢ + c₂ᵢ)/2  [rate].

    The per-group composition term depends on the level of the rates; the centred term
    (c₂ᵢ − c₁ᵢ)(r̄ᵢ − R̄), with r̄ᵢ the group's mean rate and R̄ the mean overall rate, has the
    same total (the shares' changes sum to zero) and does not move when every rate moves
    together, so it says which groups' growth or decline moved the overall rate.

    Parameters
    ----------
    data : DataFrame
        Group rows of one dimension, for one or more series, and optionally the All
        students rows (dimension ``all``) of the same partnerships and outcomes: they are
        not decomposed, but let withheld groups be pooled (see Notes). Counts, or published
        rates or ranges with their cohort counts (the count derived as rate × cohort).
    start, end : period, "first" or "last"
        The two periods compared; ``start="first"`` and ``end="last"`` take each series' own
        first and last period (as in :func:`~c2c_analysis.gaps.gap_change`), so one call
        covers outcomes observed over different years.
    time, group, numerator, denominator : str
    by : sequence of str, optional
        Columns identifying a series (default: ``partnership``, ``outcome``, ``dimension``
        where present).

    Returns
    -------
    DecompositionResult
        ``.table``, one row per series and group: ``share_start``, ``share_end``,
        ``rate_start``, ``rate_end``, ``composition_effect``, ``composition_effect_centered``,
        ``rate_effect``. ``.summary``, one row per series: ``start``, ``end``,
        ``rate_start``, ``rate_end``,
        ``total_change``, ``composition_effect``, ``rate_effect``, ``note`` (why a series
        has no decomposition, e.g. withheld counts). Effects are in rate units
        (proportions); multiply by 100 for points.

    Notes
    -----
    A group present in only one period has share 0 in the other, and its one known rate is
    used for both (its rate effect is then 0). Where groups are withheld in a period and
    the All students row is given, they are pooled into one ``"Withheld groups"`` line: All
    students minus the published groups, which the published table already shows. Where
    that is impossible (no All students row, or groups that do not add up to it) the
    summary row is empty and ``note`` says why in words.

    References
    ----------
    Kitagawa, E. M. (1955). Components of a difference between two rates. Journal of the
    American Statistical Association 50(272):1168-1194.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' "
    ...     "and dimension == 'race_ethnicity'")
    >>> summary = decompose_rate_change(data, start=2012, end=2015).summary
    >>> summary[["total_change", "composition_effect", "rate_effect"]].round(4).values.tolist()
    [[0.1506, -0.0015, 0.1522]]
    """
    keys = (
        list(by)
        if by is not None
        else [c for c in ("partnership", "outcome", "dimension") if c in data.columns]
    )

    resolved = resolve_rows(data, numerator=numerator, denominator=denominator)
    # Composition needs each group's cohort and rate: counts, or a published rate or range
    # times its cohort (derived); a group without both is withheld.
    data = data.assign(
        _num=(resolved["rate"] * resolved["cohort"]).to_numpy(),
        _den=resolved["cohort"].to_numpy(),
        _basis=resolved["basis"].to_numpy(),
    )
    overall = _overall_rows(data, keys, time, group)
    frame = data[data["dimension"] != "all"] if "dimension" in data else data
    frame = start_end_rows(frame, keys, time, start, end)
    if keys:  # a series needs every key (rows missing one belong to no series)
        frame = frame.dropna(subset=keys)
    frame = frame.reset_index(drop=True)
    if not len(frame):
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": f"{start}, {end}",
                    "problem": "no series has both periods",
                }
            ]
        )
    codes = (
        group_codes(*(frame[k].to_numpy() for k in keys))[0]
        if keys
        else np.zeros(len(frame), dtype=np.int64)
    )
    n_series = int(codes.max()) + 1
    first_row = np.full(n_series, -1)
    first_row[codes[::-1]] = np.arange(len(codes))[::-1]
    series = frame[keys].iloc[first_row].reset_index(drop=True)
    periods = frame[["start", "end"]].iloc[first_row].reset_index(drop=True)
    rows = frame.assign(
        _code=codes, _side=(frame[time] == frame["end"]).to_numpy().astype(np.int64)
    )
    rows, pooled_note = _pool_withheld(rows, overall, series, keys, time, group)

    # Series still withheld: no decomposition, and a note listing the withheld cells.
    missing = (rows["_num"].isna() | rows["_den"].isna()).to_numpy()
    withheld = np.bincount(rows["_code"].to_numpy()[missing], minlength=n_series) > 0
    cells = segment_join(
        rows["_code"].to_numpy()[missing],
        (_as_text(rows[group][missing]) + " " + _as_text(rows[time][missing])).to_numpy(
            dtype=object
        ),
        n_series,
    )
    and_why = np.where(pooled_note == "", "", " and " + pooled_note)
    withheld_note = (
        "Not decomposed: the counts of " + cells + " are withheld" + and_why
        + ", so the overall rate's parts cannot be told apart."
    )  # fmt: skip

    # The rest: one line per series and group (groups in sorted order, as a pivot table).
    used = rows[~withheld[rows["_code"].to_numpy()]]
    derived = np.bincount(
        used["_code"].to_numpy()[used["_basis"].isin(["rate", "range"]).to_numpy()],
        minlength=n_series,
    )
    pair_codes, pair_first = (
        group_codes(used["_code"].to_numpy(), used[group].to_numpy())
        if len(used)
        else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    )
    pairs = (
        used[["_code", group]]
        .iloc[pair_first]
        .assign(_pair=np.arange(len(pair_first)))
        .sort_values(["_code", group], kind="stable")
    )
    n_pairs = len(pairs)
    side = used["_side"].to_numpy()
    num, den = used["_num"].to_numpy(dtype=float), used["_den"].to_numpy(dtype=float)

    def per_pair(values: np.ndarray, which: int) -> np.ndarray:
        hit = side == which
        sums = np.bincount(pair_codes[hit], weights=values[hit], minlength=n_pairs)
        return sums[pairs["_pair"].to_numpy()]

    n1, n2, x1, x2 = per_pair(den, 0), per_pair(den, 1), per_pair(num, 0), per_pair(num, 1)
    owner = pairs["_code"].to_numpy()
    total1 = np.bincount(owner, weights=n1, minlength=n_series)
    total2 = np.bincount(owner, weights=n2, minlength=n_series)
    # A series whose cohort is empty in a period has no shares (and no summary row).
    decomposed = ~withheld & (total1 != 0) & (total2 != 0)
    keep = decomposed[owner]
    owner, n1, n2, x1, x2 = owner[keep], n1[keep], n2[keep], x1[keep], x2[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        c1, c2 = n1 / total1[owner], n2 / total2[owner]
        r1 = np.where(n1 > 0, x1 / n1, np.nan)
        r2 = np.where(n2 > 0, x2 / n2, np.nan)
    r1 = np.where(np.isnan(r1), r2, r1)
    r2 = np.where(np.isnan(r2), r1, r2)

    def per_series(values: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=np.nan_to_num(values), minlength=n_series)

    big1, big2 = per_series(c1 * r1), per_series(c2 * r2)
    composition = (c2 - c1) * (r1 + r2) / 2
    rate_effect = (r2 - r1) * (c1 + c2) / 2
    table = series.iloc[owner].reset_index(drop=True)
    table[group] = pairs[group].iloc[np.flatnonzero(keep)].reset_index(drop=True)
    table = table.assign(
        share_start=c1,
        share_end=c2,
        rate_start=r1,
        rate_end=r2,
        composition_effect=composition,
        composition_effect_centered=(c2 - c1) * ((r1 + r2) / 2 - (big1 + big2)[owner] / 2),
        rate_effect=rate_effect,
    )

    notes = join_notes(
        n_series,
        [
            (pooled_note != "", pooled_note),
            (
                derived > 0,
                texts("", derived, " group row(s) derived from published rates or ranges and "
                       "cohorts"),
            ),
        ],
    )  # fmt: skip
    done = np.where(decomposed, 1.0, np.nan)
    summary = pd.concat([series, periods], axis=1).assign(
        rate_start=big1 * done,
        rate_end=big2 * done,
        total_change=(big2 - big1) * done,
        composition_effect=per_series(composition) * done,
        rate_effect=per_series(rate_effect) * done,
        note=np.where(withheld, withheld_note, notes),
    )
    summary = summary[decomposed | withheld].reset_index(drop=True)
    if not len(summary):
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": f"{start}, {end}",
                    "problem": "no series has both periods",
                }
            ]
        )
    return DecompositionResult(
        table=table,
        summary=summary,
        settings={"start": json_safe(start), "end": json_safe(end), "method": "kitagawa"},
    )


WITHHELD_GROUPS = "Withheld groups"


def _as_text(values: pd.Series) -> pd.Series:
    """Values as ``str()`` spells them (dates with their time, as f-strings do)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d %H:%M:%S")
    return values.astype(str)


def _overall_rows(data: pd.DataFrame, keys: list[str], time: str, group: str) -> pd.DataFrame:
    """The All students rows (counts or derived), keyed without the dimension."""
    if "dimension" not in data.columns:
        return pd.DataFrame()
    rows = data[(data["dimension"] == "all") & data["_num"].notna() & data["_den"].notna()]
    return rows[[k for k in keys if k != "dimension"] + [time, "_num", "_den"]]


def _pool_withheld(
    rows: pd.DataFrame,
    overall: pd.DataFrame,
    series: pd.DataFrame,
    keys: list[str],
    time: str,
    group: str,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Replace each series' withheld groups by one "Withheld groups" line in each period: All
    students minus the published groups (nothing the published table does not already
    show), for every series at once. A group withheld in either period, or with a row in
    one period only, is in the line in both.

    ``rows`` carry ``_code`` (the series) and ``_side`` (0 start, 1 end); ``series`` holds
    each series' keys. Returns the rows and a note per series; a series' rows are unchanged
    where pooling is impossible in either period, and its note says why."""
    n_series = len(series)
    codes, side = rows["_code"].to_numpy(), rows["_side"].to_numpy()
    withheld = (rows["_num"].isna() | rows["_den"].isna()).to_numpy()
    needs = np.bincount(codes[withheld], minlength=n_series) > 0
    # A group withheld in either period is pooled in both: pooled in one period only, its
    # students would move between the line and the group, which Kitagawa would count as a
    # change of composition that never happened.
    # So is a group with a row in one period only: in the other its students, if any, are
    # part of All students minus the published groups, that is of the line.
    pair = group_codes(codes, rows[group].to_numpy())[0] if len(rows) else codes
    size = int(pair.max(initial=-1)) + 1
    starts = np.bincount(pair[side == 0], minlength=size) > 0
    ends = np.bincount(pair[side == 1], minlength=size) > 0
    pooled_pair = np.bincount(pair[withheld], minlength=size) > 0
    missing = (pooled_pair[pair] | ~(starts & ends)[pair]) & needs[codes]
    notes = np.full(n_series, "", dtype=object)
    if not needs.any():
        return rows, notes
    if overall.empty:
        notes[needs] = "there is no All students row to derive them from"
        return rows, notes
    # Per series and period with withheld groups (a "slot"): its first withheld row, in the
    # order the rows come, and All students' counts minus the published groups' counts.
    slot = codes * 2 + side
    missing_rows = np.flatnonzero(missing)
    first = np.full(2 * n_series, -1)
    first[slot[missing_rows][::-1]] = missing_rows[::-1]
    slots = np.flatnonzero(first >= 0)
    lead = first[slots]
    matched = [k for k in keys if k != "dimension"]
    wanted = rows[[*matched, time]].iloc[lead].reset_index(drop=True)
    totals = overall.groupby([*matched, time], sort=False)[["_num", "_den"]].sum().reset_index()
    found = wanted.merge(totals, on=[*matched, time], how="left", indicator=True)
    published = ~missing
    shown_num = np.bincount(
        slot[published], weights=rows["_num"].to_numpy(dtype=float)[published],
        minlength=2 * n_series,
    )[slots]  # fmt: skip
    shown_den = np.bincount(
        slot[published], weights=rows["_den"].to_numpy(dtype=float)[published],
        minlength=2 * n_series,
    )[slots]  # fmt: skip
    known = (found["_merge"] == "both").to_numpy()
    num = found["_num"].to_numpy(dtype=float) - shown_num
    den = found["_den"].to_numpy(dtype=float) - shown_den
    with np.errstate(invalid="ignore"):
        adds_up = known & (den > 0) & (num >= -0.5) & (num <= den + 0.5)
    period = _as_text(wanted[time]).to_numpy(dtype=object)
    problem = np.where(
        ~known,
        "All students " + period + " is not published",
        "All students " + period + " minus the published groups leaves no students "
        "(the groups do not add up to All students)",
    )
    owner = slots // 2
    failed = np.bincount(owner[~adds_up], minlength=n_series) > 0
    # Problems in the order their periods' first withheld rows come.
    by_row = np.argsort(lead, kind="stable")
    bad = by_row[~adds_up[by_row]]
    notes[:] = segment_join(owner[bad], problem[bad], n_series, sep="; ")

    pooled = ~failed[owner]
    lines = rows.iloc[lead[pooled]].copy()
    lines[group] = WITHHELD_GROUPS
    lines["_num"] = np.minimum(np.maximum(num[pooled], 0.0), den[pooled])
    lines["_den"] = den[pooled]
    lines["_basis"] = "pooled"
    done = needs & ~failed
    drop = missing & done[codes]
    names = (
        pd.DataFrame({"_code": codes[drop], "_name": rows[group][drop].astype(str).to_numpy()})
        .drop_duplicates()
        .sort_values(["_code", "_name"], kind="stable")
    )
    listed = segment_join(names["_code"].to_numpy(), names["_name"].to_numpy(), n_series)
    notes[done] = (
        "withheld groups (" + listed[done] + f") pooled as {WITHHELD_GROUPS!r} in both "
        "periods (All students minus the published groups)"
    )
    return pd.concat([rows[~drop], lines], ignore_index=True), notes


# --- Das Gupta ---------------------------------------------------------------------------------


def das_gupta(
    data: pd.DataFrame,
    *,
    population: str,
    factors: Sequence[str],
    subgroup: str | None = None,
    rate: Callable[..., float] | None = None,
    order: Sequence[Any] | None = None,
) -> DasGuptaResult:
    """Das Gupta's multi-factor standardization and decomposition of rates.

    Parameters
    ----------
    data : DataFrame
        One row per population (and per subgroup, for vector factors) with a column per
        factor.
    population : str
        The column naming the population (e.g. the year, or "pre"/"post"). Populations are
        compared in the order of ``order``, else of the column's categories when it is a
        pandas Categorical, else ascending when every value is a number or a date (years),
        else in the order they first appear in ``data``; never alphabetically. Effects are
        the second minus the first (``population_to`` − ``population_from``).
    factors : sequence of str
        The factor columns.
    subgroup : str, optional
        For vector factors: the column naming the subgroups (e.g. age groups); every
        population must have the same subgroups.
    rate : callable, optional
        ``rate(**{factor: values})`` returning the population's rate, where values are
        scalars (or arrays over subgroups). Default: the product of the factors (summed over
        subgroups).
    order : sequence, optional
        Every population once, in the order to compare them: ``order=["pre", "post"]`` gives
        post minus pre whatever the rows' order.

    Returns
    -------
    DasGuptaResult
        ``.table``: one row per population and factor: ``population``, ``factor``,
        ``standardized_rate`` (the rate with every other factor standardized; Das Gupta's
        "P−α" rates), and ``crude_rate``. ``.summary``: one row per pair of populations
        (first, second in the comparison order) and factor: ``population_from`` (the first),
        ``population_to`` (the second), ``factor``, ``effect`` (difference of the
        standardized rates, second minus first), ``share`` (of the difference in crude
        rates) and ``crude_difference`` (second minus first). ``.settings`` names the
        comparison: ``populations`` (in order), ``first``, ``second`` (the first and the
        last population), ``order`` (how the order was chosen: ``given``, ``categorical``,
        ``ascending`` or ``first appearance``) and ``comparison`` (in words).

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
    >>> result = das_gupta(earnings, population="pop", factors=["avg_earnings", "earner_share"])
    >>> result.summary[["factor", "effect"]].round(1).values.tolist()
    [['avg_earnings', 4369.9], ['earner_share', 1487.3]]
    >>> result.settings["comparison"]
    'white minus black'
    """
    factors = list(factors)
    if not factors:
        raise ValueError("das_gupta needs at least one factor")
    missing = [
        c
        for c in [population, *factors, *([subgroup] if subgroup else [])]
        if c not in data.columns
    ]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )
    pops, how = _population_order(data[population], order)
    if len(pops) < 2:
        raise ValueError("das_gupta needs at least two populations")
    values = _factor_values(data, population, factors, subgroup, pops)
    if rate is None:

        def rate(**kw):
            product = np.prod([np.asarray(kw[f], dtype=float) for f in factors], axis=0)
            return float(np.sum(product))

    def evaluate(choice: Mapping[str, Any]) -> float:
        return float(rate(**choice))

    crude = {p: evaluate(values[p]) for p in pops}
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
    rows = []
    for i, j in itertools.combinations(range(n), 2):
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
    return DasGuptaResult(
        table=table,
        summary=pd.DataFrame(rows),
        settings={
            "factors": factors,
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


def _factor_values(data, population, factors, subgroup, pops) -> dict[Any, dict[str, Any]]:
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
    own: Mapping[str, Any], other: Mapping[str, Any], factor: str, factors: list[str], evaluate
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


# --- Oaxaca-Blinder ----------------------------------------------------------------------------

_WEIGHTS = ("pooled", "neumark", "reimers", "cotton", "reference", "other")


def oaxaca_blinder(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    covariates: Sequence[str],
    reference_group: object,
    weights: str = "pooled",
    detailed: bool = True,
    bootstrap: int = 0,
    seed: int | None = None,
) -> OaxacaBlinderResult:
    """Blinder-Oaxaca decomposition of the gap in a student-level outcome between two groups.

    gap = mean(outcome | reference group) − mean(outcome | other group), for A the reference
    group and B the other, with group means X̄ and OLS coefficients β (with an intercept):

    - twofold: explained = (X̄_A − X̄_B)'β*, unexplained = X̄_A'(β_A − β*) + X̄_B'(β* − β_B),
      where β* is ``weights``: ``pooled`` (a pooled regression with a group indicator,
      Jann 2008 / Fortin 2008), ``neumark`` (pooled without the indicator), ``reimers``
      (½β_A + ½β_B), ``cotton`` (group-size weighted), ``reference`` (β_A) or ``other`` (β_B);
    - threefold, from the other group's viewpoint: endowments (X̄_A − X̄_B)'β_B, coefficients
      X̄_B'(β_A − β_B), interaction (X̄_A − X̄_B)'(β_A − β_B).

    Written on numpy least squares: statsmodels' ``OaxacaBlinder`` reorders the groups
    silently, needs a constant column and has no detailed decomposition.

    Parameters
    ----------
    data : DataFrame
        One row per student; rows with a missing value in the outcome, group or covariates
        are left out and counted in the result's settings.
    outcome : str
        Numeric outcome (0/1 for a rate).
    group : str
        Column with exactly two values.
    covariates : sequence of str
        Numeric covariates (code categories as 0/1 columns; detailed contributions of a set
        of dummies depend on the omitted category).
    reference_group : value of ``group``
        Group A.
    weights : str
        β* of the twofold decomposition (see above).
    detailed : bool
        Include per-covariate contributions in ``.table``.
    bootstrap : int
        Resamples (within each group) for standard errors; 0 for none.
    seed : int, optional
        Seed of the bootstrap.

    Returns
    -------
    OaxacaBlinderResult
        ``.summary``: ``component`` (gap, explained, unexplained, endowments, coefficients,
        interaction), ``estimate`` and ``se`` (bootstrap, NaN without). ``.table``: per
        covariate (and the intercept): ``mean_reference``, ``mean_other``,
        ``coef_reference``, ``coef_other``, ``coef_star``, ``explained``, ``unexplained``,
        ``endowments``, ``coefficients``, ``interaction`` (and ``*_se`` with bootstrap).

    References
    ----------
    Oaxaca (1973), Male-female wage differentials in urban labor markets. International
    Economic Review 14:693-709. Blinder (1973), Wage discrimination: reduced form and
    structural estimates. J. Human Resources 8:436-455. Jann (2008), The Blinder-Oaxaca
    decomposition for linear regression models. Stata Journal 8(4):453-479.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> students = load_sample("students").query("class_of == 2015")
    >>> students = students.assign(white=(students["race_ethnicity"] == "White").astype(int))
    >>> result = oaxaca_blinder(students, outcome="graduated", group="white", reference_group=1,
    ...                         covariates=["low_income", "attendance_rate", "prior_score"])
    >>> summary = result.summary.set_index("component")
    >>> summary.loc[["gap", "explained"], "estimate"].round(3).tolist()
    [0.025, 0.027]
    """
    if weights not in _WEIGHTS:
        raise ValueError(f"weights must be one of {', '.join(_WEIGHTS)}, not {weights!r}")
    covariates = list(covariates)
    missing = [c for c in [outcome, group, *covariates] if c not in data.columns]
    if missing:
        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )
    frame = data[[outcome, group, *covariates]]
    complete = frame.notna().all(axis=1)
    frame = frame[complete]
    labels = frame[group].unique().tolist()
    if reference_group not in labels or len(labels) != 2:
        raise ValueError(
            f"{group!r} must have exactly two values including {reference_group!r}; found {labels}"
        )
    other_group = next(v for v in labels if v != reference_group)
    y = frame[outcome].astype(float).to_numpy()
    X = np.column_stack([np.ones(len(frame)), frame[covariates].astype(float).to_numpy()])
    is_a = (frame[group] == reference_group).to_numpy()
    names = ["intercept", *covariates]
    point = _ob_components(y, X, is_a, weights)
    summary = pd.DataFrame(
        {"component": list(point["summary"]), "estimate": list(point["summary"].values())}
    )
    table = pd.DataFrame({"covariate": names, **point["detail"]})
    if bootstrap:
        rng = np.random.default_rng(seed)
        a_idx, b_idx = np.flatnonzero(is_a), np.flatnonzero(~is_a)
        sums, details = [], []
        for _ in range(bootstrap):
            pick = np.concatenate([rng.choice(a_idx, len(a_idx)), rng.choice(b_idx, len(b_idx))])
            draw = _ob_components(y[pick], X[pick], is_a[pick], weights)
            sums.append(list(draw["summary"].values()))
            details.append(np.column_stack([draw["detail"][k] for k in _DETAIL]))
        summary["se"] = np.std(np.array(sums), axis=0, ddof=1)
        spread = np.std(np.array(details), axis=0, ddof=1)
        for i, k in enumerate(_DETAIL):
            table[f"{k}_se"] = spread[:, i]
    else:
        summary["se"] = np.nan
    settings = {
        "outcome": outcome,
        "group": group,
        "reference_group": json_safe(reference_group),
        "other_group": json_safe(other_group),
        "weights": weights,
        "bootstrap": bootstrap,
        "rows_used": int(complete.sum()),
        "rows_left_out": int((~complete).sum()),
    }
    return OaxacaBlinderResult(
        table=table if detailed else table.iloc[:0], summary=summary, settings=settings
    )


_DETAIL = ("explained", "unexplained", "endowments", "coefficients", "interaction")


def _ols(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    return coef


def _ob_components(y, X, is_a, weights) -> dict[str, Any]:
    xa, xb = X[is_a].mean(axis=0), X[~is_a].mean(axis=0)
    ba, bb = _ols(y[is_a], X[is_a]), _ols(y[~is_a], X[~is_a])
    if weights == "pooled":
        star = _ols(y, np.column_stack([X, is_a.astype(float)]))[:-1]
    elif weights == "neumark":
        star = _ols(y, X)
    elif weights == "reimers":
        star = 0.5 * ba + 0.5 * bb
    elif weights == "cotton":
        share = is_a.mean()
        star = share * ba + (1 - share) * bb
    elif weights == "reference":
        star = ba
    else:
        star = bb
    detail = {
        "mean_reference": xa,
        "mean_other": xb,
        "coef_reference": ba,
        "coef_other": bb,
        "coef_star": star,
        "explained": (xa - xb) * star,
        "unexplained": xa * (ba - star) + xb * (star - bb),
        "endowments": (xa - xb) * bb,
        "coefficients": xb * (ba - bb),
        "interaction": (xa - xb) * (ba - bb),
    }
    summary = {
        "gap": float(y[is_a].mean() - y[~is_a].mean()),
        "explained": float(detail["explained"].sum()),
        "unexplained": float(detail["unexplained"].sum()),
        "endowments": float(detail["endowments"].sum()),
        "coefficients": float(detail["coefficients"].sum()),
        "interaction": float(detail["interaction"].sum()),
    }
    return {"summary": summary, "detail": detail}
