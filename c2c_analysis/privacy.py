"""Small-cell suppression, applied before anything is published.

A count small enough to identify a child must never be published, and a withheld count must
not be recoverable from the published ones. :func:`suppress` applies, in order:

1. **Primary suppression**: rows whose denominator is below ``min_n`` (default 10, the rule
   most states use for graduation and assessment reports) lose their numerator,
   denominator, rate and bounds.
2. **Cell-size rule** (optional, ``min_cell``): rows where the numerator, or the students
   who did *not* meet the outcome (denominator - numerator), number fewer than
   ``min_cell``; publishing "0 of 14" or "14 of 14" tells every family the outcome.
3. **Top/bottom coding** (optional, ``top_bottom``): rates within a threshold of 0% or 100%
   are published only as a range (``rate_low``/``rate_high``, e.g. ``>95%`` as 0.95-1.0),
   without the numerator.
4. **Complementary suppression** (``complementary=True``): the groups of a dimension add up
   to the All students row of the same partnership, outcome and period, so a dimension in
   which exactly one numerator (or one denominator) is withheld gives it away. The
   smallest published group of that dimension is withheld too, and so on until every
   dimension has none or at least two withheld.

Matching a state's rules: Washington OSPI withholds n < 10 and top/bottom codes by cohort
size (``top_bottom={10: 0.10, 20: 0.05, 100: 0.02}``-style tables); EDFacts uses n < 10 (and
publishes ranges for small cohorts); some states use n < 20 (``min_n=20``) or also withhold
cells under 5 (``min_cell=5``). Totals published elsewhere (a county table, a previous
report) are outside this function's view; suppress all tables of a release together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis._util import group_codes
from c2c_analysis.schema import ALL_STUDENTS

__all__ = ["SuppressionResult", "suppress"]

_RECORD_COLUMNS = ("row", "rule", "detail")


@dataclass(frozen=True)
class SuppressionResult:
    """What :func:`suppress` publishes and what it withheld.

    Attributes
    ----------
    table : DataFrame
        The input with withheld values emptied and ``suppressed`` set (top/bottom-coded rows
        keep ``suppressed`` false and carry their range in ``rate_low``/``rate_high``).
    record : DataFrame
        One row per withheld or coded cell: the key columns present, ``row`` (the input's
        index label), ``rule`` (``min_n``, ``min_cell``, ``top_coded``, ``bottom_coded``,
        ``complementary``) and ``detail`` (the reason in words, without the withheld value).
    min_n : int
    """

    table: pd.DataFrame
    record: pd.DataFrame
    min_n: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Cells withheld or coded per rule: ``rule, cells``."""
        counts = self.record["rule"].value_counts().rename_axis("rule").reset_index(name="cells")
        return counts

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description: settings and counts per rule (never the withheld values)."""
        return {
            "settings": dict(self.settings),
            "cells_withheld": int(self.table["suppressed"].sum()),
            "by_rule": {
                str(r): int(c)
                for r, c in zip(self.summary["rule"], self.summary["cells"], strict=True)
            },
        }

    def _repr_html_(self) -> str:
        return (
            f"<p>Suppression (n &lt; {self.min_n}): {int(self.table['suppressed'].sum())} of "
            f"{len(self.table)} rows withheld</p>" + self.summary.to_html(index=False)
        )

    def __repr__(self) -> str:
        withheld = int(self.table["suppressed"].sum())
        return f"SuppressionResult(rows={len(self.table)}, withheld={withheld}, min_n={self.min_n})"


def suppress(
    table: pd.DataFrame,
    *,
    min_n: int = 10,
    complementary: bool = True,
    top_bottom: float | Mapping[int, float] | None = None,
    min_cell: int | None = None,
    time: str | None = None,
) -> SuppressionResult:
    """Withhold small cells, and the cells that would give them away, before publishing.

    Parameters
    ----------
    table : DataFrame
        A canonical outcome table (``numerator``, ``denominator``, ``rate``, and for the
        complementary rule ``partnership, outcome, dimension, group`` and the period). Not
        modified.
    min_n : int
        Rows with a denominator below this are withheld (default 10).
    complementary : bool
        Apply complementary suppression within each dimension (default true).
    top_bottom : float or mapping, optional
        Publish rates within this distance of 0 or 1 only as a range. A float applies to
        every row (``0.05``: above 95% becomes 0.95-1.0, below 5% becomes 0-0.05); a
        mapping ``{smallest denominator: threshold}`` picks the threshold by cohort size
        (the entry with the largest key not above the row's denominator).
    min_cell : int, optional
        Also withhold rows whose numerator or complement (denominator - numerator) is
        below this.
    time : str, optional
        The period column (default ``year``, or ``period`` when there is no ``year``).

    Returns
    -------
    SuppressionResult
        ``.table`` to publish, ``.record`` of every withheld or coded cell and why.

    Notes
    -----
    Rows without a denominator (rates published by a source without counts) cannot be
    checked against ``min_n`` and are left as they are. Rows already marked suppressed
    stay withheld and count as withheld for the complementary rule.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "partnership": "p", "outcome": "hs_graduation", "year": 2019,
    ...     "dimension": ["all", "race_ethnicity", "race_ethnicity", "race_ethnicity"],
    ...     "group": ["All students", "Asian", "Black", "White"],
    ...     "numerator": [170, 5, 40, 125], "denominator": [200, 6, 50, 144],
    ...     "rate": [0.85, 5 / 6, 0.8, 125 / 144], "suppressed": False})
    >>> result = suppress(table)
    >>> result.table["suppressed"].tolist()
    [False, True, True, False]
    >>> result.record["rule"].tolist()
    ['min_n', 'complementary']
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"suppress expects a DataFrame, not {type(table).__name__}")
    if min_n < 1:
        raise ValueError(f"min_n must be at least 1, not {min_n}")
    missing = [c for c in ("numerator", "denominator") if c not in table.columns]
    if missing:
        raise ValueError(f"suppress needs the count columns; missing: {', '.join(missing)}")
    out = table.copy()
    for column in ("rate", "rate_low", "rate_high"):
        if column not in out:
            out[column] = np.nan
    out["suppressed"] = (
        out["suppressed"].fillna(False).astype(bool) if "suppressed" in out else False
    )
    out["numerator"] = out["numerator"].astype("Int64")
    out["denominator"] = out["denominator"].astype("Int64")
    num = out["numerator"].to_numpy(dtype="float64", na_value=np.nan)
    den = out["denominator"].to_numpy(dtype="float64", na_value=np.nan)
    rows = np.asarray(out.index)
    records: list[tuple[Any, str, str]] = []

    hide_num = out["suppressed"].to_numpy().copy()  # numerator withheld
    hide_den = hide_num.copy()  # denominator withheld (with the numerator)

    small = ~hide_den & (den < min_n)
    records += [(rows[i], "min_n", f"denominator below {min_n}") for i in np.flatnonzero(small)]
    hide_num |= small
    hide_den |= small

    if min_cell is not None:
        few = ~hide_den & ((num < min_cell) | (den - num < min_cell))
        records += [
            (rows[i], "min_cell", f"numerator or its complement below {min_cell}")
            for i in np.flatnonzero(few)
        ]
        hide_num |= few
        hide_den |= few

    low = out["rate_low"].to_numpy(dtype="float64", na_value=np.nan).copy()
    high = out["rate_high"].to_numpy(dtype="float64", na_value=np.nan).copy()
    coded = np.zeros(len(out), dtype=bool)
    if top_bottom is not None:
        threshold = _thresholds(top_bottom, den)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(
                np.isfinite(num) & (den > 0),
                num / den,
                out["rate"].to_numpy(dtype="float64", na_value=np.nan),
            )
        top = ~hide_num & np.isfinite(threshold) & (rate > 1 - threshold)
        bottom = ~hide_num & np.isfinite(threshold) & (rate < threshold)
        for mask, rule, bounds in (
            (top, "top_coded", lambda t: (1 - t, 1.0)),
            (bottom, "bottom_coded", lambda t: (0.0, t)),
        ):
            for i in np.flatnonzero(mask):
                low[i], high[i] = bounds(threshold[i])
                records.append((rows[i], rule, f"rate published as {low[i]:.0%}-{high[i]:.0%}"))
        coded = top | bottom
        hide_num |= coded

    if complementary:
        extra_num, extra_full = _complementary(out, hide_num, hide_den, den, time)
        records += [
            (
                rows[i],
                "complementary",
                "numerator and rate withheld: they would follow from the total",
            )
            for i in extra_num
        ]
        records += [
            (
                rows[i],
                "complementary",
                "withheld: its counts would let a withheld cell be recomputed",
            )
            for i in extra_full
        ]
        hide_num[extra_num] = True
        hide_num[extra_full] = True
        hide_den[extra_full] = True

    out.loc[hide_num, "numerator"] = pd.NA
    out.loc[hide_den, "denominator"] = pd.NA
    out.loc[hide_num, "rate"] = np.nan
    ranged = coded & ~hide_den
    out["rate_low"] = np.where(ranged, low, np.where(hide_num, np.nan, low))
    out["rate_high"] = np.where(ranged, high, np.where(hide_num, np.nan, high))
    # Withheld: the rate is gone and no range stands in for it.
    out["suppressed"] = hide_num & ~ranged
    record = pd.DataFrame(records, columns=list(_RECORD_COLUMNS))
    keys = [
        c
        for c in ("partnership", "outcome", _time_column(out, time), "dimension", "group")
        if c in table.columns
    ]
    if len(record):
        record = pd.concat([table.loc[record["row"], keys].reset_index(drop=True), record], axis=1)
    else:
        record = pd.DataFrame(columns=[*keys, *_RECORD_COLUMNS])
    settings = {
        "min_n": min_n,
        "complementary": complementary,
        "min_cell": min_cell,
        "top_bottom": top_bottom
        if not isinstance(top_bottom, Mapping)
        else {int(k): float(v) for k, v in top_bottom.items()},
    }
    return SuppressionResult(table=out, record=record, min_n=min_n, settings=settings)


def _time_column(table: pd.DataFrame, time: str | None) -> str:
    if time is not None:
        return time
    return "year" if "year" in table.columns or "period" not in table.columns else "period"


def _thresholds(top_bottom: float | Mapping[int, float], den: np.ndarray) -> np.ndarray:
    if not isinstance(top_bottom, Mapping):
        value = float(top_bottom)
        if not 0 < value < 0.5:
            raise ValueError(f"top_bottom must be between 0 and 0.5, not {value}")
        return np.full(len(den), value)
    sizes = np.array(sorted(top_bottom), dtype=float)
    values = np.array([top_bottom[k] for k in sorted(top_bottom)], dtype=float)
    if ((values <= 0) | (values >= 0.5)).any():
        raise ValueError("top_bottom thresholds must be between 0 and 0.5")
    position = np.searchsorted(sizes, np.nan_to_num(den, nan=-1.0), side="right") - 1
    return np.where(position >= 0, values[np.maximum(position, 0)], np.nan)


def _complementary(
    table: pd.DataFrame,
    hide_num: np.ndarray,
    hide_den: np.ndarray,
    den: np.ndarray,
    time: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to withhold so that no dimension gives a withheld cell away.

    A dimension (the groups of one partnership, outcome, period and dimension) gives a cell
    away when exactly one of its numerators, or one of its denominators, is withheld while
    the All students total is visible: total minus the rest recomputes it. A total missing
    from the table counts as visible (it may be published elsewhere). Each round fixes every
    such dimension with its smallest eligible group: a lone numerator by withholding another
    group's numerator and rate (its denominator stays), a lone denominator by withholding
    another group in full; when no group is left, the total itself is withheld. Rounds
    repeat until nothing changes.

    Returns the rows whose numerator only, and the rows whose counts, became withheld.
    """
    none = np.array([], dtype=int)
    period = _time_column(table, time)
    keys = [c for c in ("partnership", "outcome", period) if c in table.columns]
    if "dimension" not in table.columns or "group" not in table.columns:
        return none, none
    member = (table["dimension"].to_numpy() != "all") & (table["group"].to_numpy() != ALL_STUDENTS)
    if not member.any():
        return none, none
    base = (
        group_codes(*(table[k].to_numpy() for k in keys))[0]
        if keys
        else np.zeros(len(table), dtype=int)
    )
    cell = group_codes(*(table[k].to_numpy() for k in [*keys, "dimension"]))[0]
    n_cells, n_bases = cell.max() + 1, base.max() + 1
    cell_base = np.zeros(n_cells, dtype=int)
    cell_base[cell] = base
    total = ~member
    has_total = np.bincount(base[total], minlength=n_bases) > 0
    size = np.nan_to_num(den, nan=np.inf)
    num_hidden, den_hidden = hide_num.copy(), hide_den.copy()

    def smallest(candidates: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame(
            {"cell": cell[candidates], "size": size[candidates], "pos": np.flatnonzero(candidates)}
        )
        return frame.sort_values(["size", "pos"], kind="stable").drop_duplicates("cell")

    while True:
        # A total is visible when a total row of the base shows it, or none is in the table.
        total_num = ~has_total | (
            np.bincount(base[total], weights=~num_hidden[total], minlength=n_bases) > 0
        )
        total_den = ~has_total | (
            np.bincount(base[total], weights=~den_hidden[total], minlength=n_bases) > 0
        )
        hidden_n = np.bincount(cell[member], weights=num_hidden[member], minlength=n_cells)
        hidden_d = np.bincount(cell[member], weights=den_hidden[member], minlength=n_cells)
        lone_n = (hidden_n == 1) & total_num[cell_base]
        lone_d = (hidden_d == 1) & total_den[cell_base] & ~lone_n
        if not (lone_n | lone_d).any():
            break
        for_num = smallest(member & lone_n[cell] & ~num_hidden)
        for_den = smallest(member & lone_d[cell] & ~den_hidden)
        fixed = np.concatenate([for_num["cell"].to_numpy(), for_den["cell"].to_numpy()])
        stuck = np.setdiff1d(np.flatnonzero(lone_n | lone_d), fixed)
        totals = np.flatnonzero(total & np.isin(base, cell_base[stuck]) & ~den_hidden)
        if not (len(for_num) or len(for_den) or len(totals)):
            break  # only totals that are not in this table could be withheld
        num_hidden[for_num["pos"].to_numpy()] = True
        full = np.concatenate([for_den["pos"].to_numpy(), totals]).astype(int)
        num_hidden[full] = True
        den_hidden[full] = True
    newly_full = den_hidden & ~hide_den
    newly_num = num_hidden & ~hide_num & ~newly_full
    return np.flatnonzero(newly_num), np.flatnonzero(newly_full)
