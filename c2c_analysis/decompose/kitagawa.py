"""Kitagawa's split of the change in an overall rate between two periods into a composition
effect (the mix of groups changed) and a rate effect (the groups' own rates changed), with
withheld groups pooled from the All students rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from c2c_analysis._arrays import group_codes, join_notes, segment_join, texts
from c2c_analysis._checks import require_columns
from c2c_analysis._results import json_safe
from c2c_analysis._rows import resolve_rows
from c2c_analysis._time import start_end_rows
from c2c_analysis.decompose.results import DecompositionResult
from c2c_analysis.validation import DataValidationError

__all__ = ["WITHHELD_GROUPS", "decompose_rate_change"]

#: The label of the one line that pools a series' withheld groups.
WITHHELD_GROUPS = "Withheld groups"


def decompose_rate_change(
    data: pd.DataFrame,
    *,
    start: object,
    end: object,
    time: str = "year",
    group: str = "group",
    numerator: str = "numerator",
    denominator: str = "denominator",
    by: str | Sequence[str] | None = None,
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
        first and last period (as in :func:`~c2c_analysis.gap_change`), so one call
        covers outcomes observed over different years.
    time, group, numerator, denominator : str
        Columns.
    by : str or sequence of str, optional
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
        (proportions); multiply by 100 for points. ``.plot()`` draws the first series'
        waterfall.

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
    # Long because of its docstring (the identity, the withheld groups); the steps are
    # _series_rows, _pool_withheld, _still_withheld and _kitagawa.
    keys = (
        [by]
        if isinstance(by, str)
        else list(by)
        if by is not None
        else [c for c in ("partnership", "outcome", "dimension") if c in data.columns]
    )
    require_columns(data, [time, group, *keys])
    rows, overall, series, periods = _series_rows(
        data, keys, time, start, end, numerator=numerator, denominator=denominator
    )
    n_series = len(series)
    rows, pooled_note = _pool_withheld(rows, overall, series, keys, time, group)
    withheld, withheld_note = _still_withheld(rows, time, group, pooled_note, n_series)
    table, parts = _kitagawa(rows, withheld, series, group)
    decomposed = parts["decomposed"]

    notes = join_notes(
        n_series,
        [
            (pooled_note != "", pooled_note),
            (
                parts["derived"] > 0,
                texts("", parts["derived"], " group row(s) derived from published rates or "
                      "ranges and cohorts"),
            ),
        ],
    )  # fmt: skip
    done = np.where(decomposed, 1.0, np.nan)
    summary = pd.concat([series, periods], axis=1).assign(
        rate_start=parts["rate_start"] * done,
        rate_end=parts["rate_end"] * done,
        total_change=(parts["rate_end"] - parts["rate_start"]) * done,
        composition_effect=parts["composition_effect"] * done,
        rate_effect=parts["rate_effect"] * done,
        note=np.where(withheld, withheld_note, notes),
    )
    summary = summary[decomposed | withheld].reset_index(drop=True)
    if not len(summary):
        raise _no_series(time, start, end)
    return DecompositionResult(
        table=table,
        summary=summary,
        settings={
            "start": json_safe(start),
            "end": json_safe(end),
            "time": time,
            "group": group,
            "numerator": numerator,
            "denominator": denominator,
            "by": keys,
            "method": "kitagawa",
        },
    )


def _no_series(time: str, start: object, end: object) -> DataValidationError:
    return DataValidationError(
        [
            {
                "row": None,
                "column": time,
                "value": f"{start}, {end}",
                "problem": "no series has both periods",
            }
        ]
    )


def _series_rows(
    data: pd.DataFrame,
    keys: list[str],
    time: str,
    start: object,
    end: object,
    *,
    numerator: str,
    denominator: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The group rows at each series' two periods, with ``_num``, ``_den`` and ``_basis``
    (counts, or derived from a published rate or range), ``_code`` (the series, in the
    order the series first come) and ``_side`` (0 start, 1 end); the All students rows
    (:func:`_overall_rows`); each series' keys; its ``start`` and ``end``."""
    resolved = resolve_rows(data, numerator=numerator, denominator=denominator)
    # Composition needs each group's cohort and rate: counts, or a published rate or range
    # times its cohort (derived); a group without both is withheld.
    data = data.assign(
        _num=(resolved["rate"] * resolved["cohort"]).to_numpy(),
        _den=resolved["cohort"].to_numpy(),
        _basis=resolved["basis"].to_numpy(),
    )
    overall = _overall_rows(data, keys, time)
    frame = data[data["dimension"] != "all"] if "dimension" in data else data
    frame = start_end_rows(frame, keys, time, start, end)
    if keys:  # a series needs every key (rows missing one belong to no series)
        frame = frame.dropna(subset=keys)
    frame = frame.reset_index(drop=True)
    if not len(frame):
        raise _no_series(time, start, end)
    codes, first_row = (
        group_codes(*(frame[k].to_numpy() for k in keys))
        if keys
        else (np.zeros(len(frame), dtype=np.int64), np.array([0]))
    )
    series = frame[keys].iloc[first_row].reset_index(drop=True)
    periods = frame[["start", "end"]].iloc[first_row].reset_index(drop=True)
    rows = frame.assign(
        _code=codes, _side=(frame[time] == frame["end"]).to_numpy().astype(np.int64)
    )
    return rows, overall, series, periods


def _still_withheld(
    rows: pd.DataFrame, time: str, group: str, pooled_note: np.ndarray, n_series: int
) -> tuple[np.ndarray, np.ndarray]:
    """Series still withheld after pooling (no decomposition), and a note per series listing
    the withheld cells."""
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
    return withheld, withheld_note


def _kitagawa(
    rows: pd.DataFrame, withheld: np.ndarray, series: pd.DataFrame, group: str
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The table, one line per series and group (groups in sorted order, as a pivot table),
    and per series: ``rate_start``, ``rate_end``, ``composition_effect``, ``rate_effect``,
    ``derived`` (group rows derived from rates or ranges) and ``decomposed``."""
    n_series = len(series)
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
    parts = {
        "rate_start": big1,
        "rate_end": big2,
        "composition_effect": per_series(composition),
        "rate_effect": per_series(rate_effect),
        "derived": derived,
        "decomposed": decomposed,
    }
    return table, parts


def _as_text(values: pd.Series) -> pd.Series:
    """Values as ``str()`` spells them (dates with their time, as f-strings do)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d %H:%M:%S")
    return values.astype(str)


def _overall_rows(data: pd.DataFrame, keys: list[str], time: str) -> pd.DataFrame:
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
    codes = rows["_code"].to_numpy()
    needs, missing = _to_pool(rows, group, n_series)
    notes = np.full(n_series, "", dtype=object)
    if not needs.any():
        return rows, notes
    if overall.empty:
        notes[needs] = "there is no All students row to derive them from"
        return rows, notes
    slots, lead, wanted, known, num, den = _slot_counts(
        rows, overall, keys, time, missing, n_series
    )
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


def _to_pool(rows: pd.DataFrame, group: str, n_series: int) -> tuple[np.ndarray, np.ndarray]:
    """Which series have withheld groups, and which rows go into their pooled line."""
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
    return needs, missing


def _slot_counts(
    rows: pd.DataFrame,
    overall: pd.DataFrame,
    keys: list[str],
    time: str,
    missing: np.ndarray,
    n_series: int,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Per series and period with rows to pool (a "slot", series × 2 + side): the slots,
    their first such row, that row's keys and period, whether All students is published
    there, and All students' counts minus the published groups' counts."""
    codes, side = rows["_code"].to_numpy(), rows["_side"].to_numpy()
    # The first row to pool, in the order the rows come.
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
    return slots, lead, wanted, known, num, den
