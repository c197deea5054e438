"""Small-cell suppression of linked tables, at least cost, before anything is published.

A count small enough to identify a child must never be published, and neither a withheld
count nor the outcome of a withheld group may be recoverable from what is published.
:func:`suppress` treats each partnership, outcome and period as a set of **linked tables**
(see :mod:`c2c_analysis.audit`): a dimension whose groups partition All students adds the
constraints "the groups sum to All", a dimension that does not (only Foster youth reported)
adds none, and declared links between outcomes (:data:`~c2c_analysis.schema.OUTCOME_LINKS`)
and between school units and their partnership join the tables they connect.

1. **Primary suppression.** A row whose denominator is below ``min_n`` is withheld: its
   numerator, denominator and rate (a denominator missing from the row is worked out from
   numerator / rate, so "3 students, 50%" is a cohort of 6). A row whose numerator or
   complement (students who did not meet the outcome) is below ``min_cell``, or whose rate
   is within the ``top_bottom`` threshold of 0% or 100%, keeps its denominator and publishes
   its rate only as a range (top/bottom coding: ``95%-100%``), wide enough to hold at least
   ``spread + 1`` counts (no count is known to within one student).
2. **Secondary protection**, chosen at least cost by one mixed-integer program over the
   linked sets that hold a primary cell (scipy's HiGHS ``milp``; sets without one are not
   touched): no hidden value may be alone in a published sum, and the hidden part of each
   published sum (a set that differencing isolates) must hold at least ``min_n`` students
   and at least ``spread`` students who met and who did not meet the outcome. A row that
   must not stay exact is, where that suffices, **published as a range** instead of
   withheld: its rate as the narrowest band on a fixed grid (5, 10, 20, 25, 50 or 100
   points wide, never centred on the rate) whose counts span at least ``2 x spread``
   students (twice the audit's margin: the sums around it narrow what a range allows),
   its denominator withheld only where a withheld size needs it. The group stays in gaps
   and trends (analyses use a range at its midpoint, with its width in the uncertainty;
   ``c2c_analysis._rows``). The cost is the information lost: a range costs the
   band's share of the group's students, withholding outright the rest, a withheld size a
   quarter more; a catch-all group (``Not reported``) costs half, groups named in ``keep``
   ten times as much, and All students a thousand times, so the total goes only when
   nothing else protects.
3. **Check.** The choice is published on paper and attacked by the audit's own attacker
   (:mod:`c2c_analysis.audit`): the same reading of published columns, the same linked
   facts and the same integer ranges, so what ``suppress`` accepts is what
   :func:`~c2c_analysis.audit.audit_disclosure` passes. A value determined to within one
   student, or a set under ``min_n`` or all-or-none, adds a constraint (one more of the
   values around it is hidden, or a range around it is withheld) and the sets concerned
   are solved again, until nothing is exposed. Two differences remain by design: a total
   missing from the table is taken as published (it may be, elsewhere), so the check is
   the stricter there; and which dimensions partition All students and which outcome
   links hold is decided on the true counts here, on the published ones in the audit, so
   where only withheld counts contradict the catalogue the audit assumes a partition or
   link that the check knows does not hold (the audit is the stricter there).

State practice followed by the defaults (``min_n=10``, ``min_cell=5``,
``top_bottom=DEFAULT_TOP_BOTTOM``): a minimum group of 10 is the most common state rule (39
states in 2010; NCES 2011-603) and the rule of Washington OSPI's report card and of
EDFacts/ED Data Express for graduation rates; counts of 1-4 are masked in many states' files
(the "fewer than 5" rule of NCES 2011-603's examples and of Texas TEA's masking); rates near
0% and 100% are published as ranges that depend on the group's size (NCES 2011-603's
recommended reporting rules; OSPI's "Top/Bottom Range" marks such as ``>95%``). The
thresholds used here (:data:`DEFAULT_TOP_BOTTOM`: 10% for groups of 10-19, 5% for 20-99, 2%
for 100-499, 1% from 500) follow that pattern; check them against your state's current rules.

Totals published elsewhere (a county table, a previous report) are outside this function's
view; suppress every table of a release together, and run
:func:`~c2c_analysis.audit.audit_disclosure` on what you publish.

References
----------
National Center for Education Statistics (2010). *Statistical Methods for Protecting
Personally Identifiable Information in Aggregate Reporting* (SLDS Technical Brief 3, NCES
2011-603). US Department of Education.

Fischetti, M., & Salazar-Gonzalez, J.-J. (2000). Models and algorithms for optimizing cell
suppression in tabular data with linear constraints. *JASA*, 95(451), 916-928.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from c2c_analysis._arrays import group_codes
from c2c_analysis._defaults import DEFAULT_MIN_CELL, DEFAULT_MIN_N, DEFAULT_TOP_BOTTOM
from c2c_analysis._disclosure import (
    DEFAULT_SPREAD,
    key_frame,
    knowledge,
    linked_structure,
    run_attack,
    with_totals,
)
from c2c_analysis._results import Result
from c2c_analysis.schema import ALL_STUDENTS, NOT_REPORTED, OUTCOME_LINKS, OUTCOMES, PARTITIONS

__all__ = [
    "DEFAULT_MIN_CELL",
    "DEFAULT_MIN_N",
    "DEFAULT_TOP_BOTTOM",
    "SuppressionResult",
    "suppress",
    "suppression_notes",
]

# DEFAULT_MIN_N (10), DEFAULT_MIN_CELL (5) and DEFAULT_TOP_BOTTOM live in _defaults, which
# the command line imports without scipy; they are re-exported here.

_RECORD_COLUMNS = ("row", "rule", "detail", "students")
_CATCH_ALL = frozenset({NOT_REPORTED, "Unknown", "Other", "Missing"})
_DEFAULT = object()
#: Widths of the ranges secondary protection publishes, narrowest first (grid-aligned).
_BANDS = (0.05, 0.10, 0.20, 0.25, 0.50, 1.0)
#: A band's counts span at least this many times ``spread`` (2: fewer audit rounds).
_BAND_SPAN = 2


@dataclass(frozen=True, repr=False, kw_only=True)
class SuppressionResult(Result):
    """What :func:`suppress` publishes and what it withheld.

    Attributes
    ----------
    table : DataFrame
        The input with withheld values emptied and ``suppressed`` set (top/bottom-coded rows
        keep ``suppressed`` false and carry their range in ``rate_low``/``rate_high``).
    summary : DataFrame
        Cells and students withheld or coded per rule: ``rule``, ``cells``, ``students``
        (most cells first).
    record : DataFrame
        One row per withheld or coded cell: the key columns present, ``row`` (the input's
        index label), ``rule`` (``min_n``, ``min_cell``, ``top_coded``, ``bottom_coded``,
        ``complementary``, ``source``), ``detail`` (the reason in words, without the
        withheld value) and ``students`` (the row's denominator, the students whose outcome
        is withheld or coded; missing where the source withheld it).
    min_n : int
    settings : dict
        The parameters used, ``linked_sets_solved``, ``audit_rounds``, and (from the
        :class:`~c2c_analysis._results.Result` base) the package ``version``, the
        ``analysis`` and its ``method_reference``.
    notes : tuple of str
        The withheld groups in sentences (:func:`suppression_notes`).
    """

    record: pd.DataFrame
    min_n: int

    analysis: ClassVar[str] = "Cell suppression with complementary suppression"
    method_reference: ClassVar[str] = (
        "Hundepool et al. (2012), Statistical Disclosure Control, Wiley, chapter 4; "
        "Fischetti & Salazar-Gonzalez (2000), JASA 95:916-928"
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe description: settings and counts per rule (never the withheld values).

        Not every member as other results' ``to_dict``: ``record`` holds each withheld
        row's number of students, which the published files must not tell.
        """
        summary = self.summary
        return {
            "settings": dict(self.settings),
            "cells_withheld": int(self.table["suppressed"].sum()),
            "by_rule": {
                str(r): int(c) for r, c in zip(summary["rule"], summary["cells"], strict=True)
            },
            "students_by_rule": {
                str(r): int(s) for r, s in zip(summary["rule"], summary["students"], strict=True)
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
    min_n: int = DEFAULT_MIN_N,
    complementary: bool = True,
    top_bottom: float | Mapping[int, float] | None = _DEFAULT,  # type: ignore[assignment]
    min_cell: int | None = _DEFAULT,  # type: ignore[assignment]
    time: str | None = None,
    links: Iterable[tuple[str, str]] | None = None,
    partitions: Iterable[str] | None = None,
    units_partition: bool | None = None,
    keep: Sequence[str] = (),
    spread: int = DEFAULT_SPREAD,
) -> SuppressionResult:
    """Withhold small cells, and the cells that would give them away, before publishing.

    Parameters
    ----------
    table : DataFrame
        A canonical outcome table (``numerator``, ``denominator``, ``rate``; for the linked
        tables ``partnership, outcome, dimension, group``, the period and optionally
        ``unit``). Not modified.
    min_n : int
        Rows with a denominator below this are withheld (default 10).
    complementary : bool
        Choose secondary suppressions so that nothing withheld can be worked out (default
        true). With false only the primary rules apply.
    top_bottom : float, mapping or None
        Publish rates within this distance of 0 or 1 only as a range. A float applies to
        every row; a mapping ``{smallest denominator: threshold}`` picks the threshold by
        cohort size. Default :data:`DEFAULT_TOP_BOTTOM`; None turns coding off.
    min_cell : int or None
        Rows whose numerator or complement is below this publish their rate as a range
        (withheld when ``top_bottom`` is None). Default :data:`DEFAULT_MIN_CELL`; None
        turns the rule off.
    time : str, optional
        The period column (default ``year``, or ``period`` when there is no ``year``).
    links : iterable of (outcome, outcome), optional
        Outcome pairs whose first denominator is the second's numerator (default
        :data:`~c2c_analysis.schema.OUTCOME_LINKS`; ``()`` for none). A link is an
        equation only in a partnership, unit and period where the counts agree pair by
        pair; where one pair differs it adds nothing there.
    partitions : iterable of str, optional
        Dimensions taken to partition All students where missing counts leave it open
        (default :data:`~c2c_analysis.schema.PARTITIONS`). Complete counts decide by
        themselves: the groups partition when their denominators add up to All's.
    units_partition : bool, optional
        Whether school units add up to their partnership where counts leave it open
        (default: assumed).
    keep : sequence of str
        Groups to publish wherever protection allows (a report's focus groups): they are
        chosen for secondary suppression only when a cheaper choice does not protect.
    spread : int
        A withheld count must stay uncertain over at least this many students (default 3:
        never known to within one).

    Returns
    -------
    SuppressionResult
        ``.table`` to publish, ``.record`` of every withheld or coded cell and why,
        ``.summary`` of cells and students per rule, ``.notes`` in sentences.

    Raises
    ------
    ValueError
        If ``min_n`` is below 1, the count columns are missing, or a threshold is not
        between 0 and 0.5.

    Notes
    -----
    Rows already marked suppressed stay withheld and are protected like primary cells.
    Rows that publish only a rate (no counts) are left as they are. Secondary
    suppression of a numerator keeps the row's denominator when that protects; a
    denominator is withheld only with its numerator. Each linked set is its own
    mixed-integer program (a few dozen binary variables), so the work grows with the
    number of partnerships and periods, not with their product.

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
    >>> print(result.table[["group", "numerator", "denominator", "rate_low", "rate_high",
    ...                     "suppressed"]].to_string(index=False))
           group  numerator  denominator  rate_low  rate_high  suppressed
    All students        170          200       NaN        NaN       False
           Asian       <NA>         <NA>       NaN        NaN        True
           Black       <NA>         <NA>       0.8        1.0       False
           White        125          144       NaN        NaN       False
    >>> result.record["rule"].tolist()
    ['min_n', 'complementary_range']

    Black students stay in the table as a range (80%-100%, their count and size withheld):
    the 6 Asian students' count is then anywhere from 0 to beyond 10.
    """
    # Long because the primary rules (min_n, min_cell, top/bottom coding) and the record
    # of each cell's rule and reason are one pass over the same arrays.
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"suppress expects a DataFrame, not {type(table).__name__}")
    if min_n < 1:
        raise ValueError(f"min_n must be at least 1, not {min_n}")
    missing = [c for c in ("numerator", "denominator") if c not in table.columns]
    if missing:
        raise ValueError(f"suppress needs the count columns; missing: {', '.join(missing)}")
    if top_bottom is _DEFAULT:
        top_bottom = DEFAULT_TOP_BOTTOM
    if min_cell is _DEFAULT:
        min_cell = DEFAULT_MIN_CELL
    links = tuple(OUTCOME_LINKS if links is None else links)
    partitions = frozenset(PARTITIONS if partitions is None else partitions)
    period = _time_column(table, time)

    out, placeholder, truth = _placeholders(table, links, period, min_n)
    for column in ("rate", "rate_low", "rate_high"):
        if column not in out:
            out[column] = np.nan
    out["suppressed"] = (
        out["suppressed"].fillna(False).astype(bool) if "suppressed" in out else False
    )
    out["numerator"] = out["numerator"].astype("Int64")
    out["denominator"] = out["denominator"].astype("Int64")
    n_rows = len(out)
    num = out["numerator"].to_numpy(dtype="float64", na_value=np.nan)
    den = out["denominator"].to_numpy(dtype="float64", na_value=np.nan)
    rate = out["rate"].to_numpy(dtype="float64", na_value=np.nan)
    source_hidden = out["suppressed"].to_numpy().copy()
    num[source_hidden] = np.nan
    den[source_hidden] = np.nan
    den[placeholder] = truth

    # A missing denominator follows from numerator / rate.
    derived = ~np.isfinite(den) & np.isfinite(num) & np.isfinite(rate) & (rate > 0)
    den = np.where(derived, np.round(num / np.where(derived, rate, 1.0)), den)
    rate_only = ~source_hidden & ~np.isfinite(num) & ~np.isfinite(den)

    hide_num = source_hidden | rate_only
    hide_den = source_hidden | rate_only
    rules = np.full(n_rows, "", dtype=object)
    details = np.full(n_rows, "", dtype=object)
    rules[source_hidden] = "source"
    details[source_hidden] = "withheld by the source"
    rules[placeholder] = "placeholder"
    details[placeholder] = (
        "listed as withheld: the source has no row for it, and its absence would tell its count"
    )

    small = ~hide_den & np.isfinite(den) & (den < min_n)
    rules[small] = "min_n"
    details[small] = np.where(
        derived[small],
        f"fewer than {min_n} students (the group's size follows from its count and rate)",
        f"fewer than {min_n} students",
    )
    hide_num |= small
    hide_den |= small

    low = out["rate_low"].to_numpy(dtype="float64", na_value=np.nan).copy()
    high = out["rate_high"].to_numpy(dtype="float64", na_value=np.nan).copy()
    coded = np.zeros(n_rows, dtype=bool)
    open_rows = ~hide_num & np.isfinite(num)
    comp = den - num
    with np.errstate(invalid="ignore", divide="ignore"):
        exact_rate = np.where(np.isfinite(den) & (den > 0), num / den, rate)
    few_low = np.zeros(n_rows, dtype=bool)
    few_high = np.zeros(n_rows, dtype=bool)
    if min_cell is not None:
        few_low = open_rows & (num < min_cell)
        few_high = open_rows & np.isfinite(den) & (comp < min_cell)
    thr = np.zeros(n_rows)
    if top_bottom is not None:
        thr = np.nan_to_num(_thresholds(top_bottom, den), nan=0.0)
    near_low = open_rows & (exact_rate < thr)
    near_high = open_rows & (exact_rate > 1 - thr)
    bottom = (few_low | near_low) & ~(few_high | near_high)
    top = (few_high | near_high) & ~(few_low | near_low)
    both = (few_low | near_low) & (few_high | near_high)
    if top_bottom is None or not np.isfinite(den).any():
        both |= bottom | top
        bottom[:] = False
        top[:] = False
    both |= (bottom | top) & ~np.isfinite(den)
    bottom &= np.isfinite(den)
    top &= np.isfinite(den)
    # The coded range holds every count below min_cell, the threshold's share of the cohort
    # and at least spread + 1 counts, rounded out to whole percentages.
    cell_floor = (min_cell - 1) if min_cell is not None else 0
    with np.errstate(invalid="ignore", divide="ignore"):
        span = np.maximum.reduce(
            [np.floor(thr * den), np.full(n_rows, cell_floor), np.full(n_rows, spread)]
        )
        width = np.minimum(np.ceil(100 * span / den - 1e-9) / 100, 0.5)
    low[bottom], high[bottom] = 0.0, width[bottom]
    low[top], high[top] = 1 - width[top], 1.0
    coded = bottom | top
    for mask, rule in ((bottom, "bottom_coded"), (top, "top_coded")):
        rules[mask] = np.where(
            (few_low | few_high)[mask] & ~(near_low | near_high)[mask], "min_cell", rule
        )
        details[mask] = [
            f"rate published as {lo:.0%}-{hi:.0%}"
            for lo, hi in zip(low[mask], high[mask], strict=True)
        ]
    rules[both] = "min_cell"
    details[both] = (
        f"numerator and rate withheld: fewer than {min_cell} students met or did not meet it"
        if min_cell is not None
        else "numerator and rate withheld"
    )
    hide_num |= coded | both

    primary_num = hide_num.copy()
    primary_den = hide_den.copy()
    withhold = hide_num & ~coded
    rounds = 0
    sets_solved = 0
    if complementary and hide_num.any():
        hide_num, hide_den, withheld, low, high, rounds, sets_solved = _secondary(
            out,
            num=num,
            den=den,
            hide_num=hide_num,
            hide_den=hide_den,
            withhold=withhold,
            rate_low=np.where(coded, low, np.nan),
            rate_high=np.where(coded, high, np.nan),
            rate_only=rate_only,
            period=period,
            min_n=min_n,
            links=links,
            partitions=partitions,
            units_partition=units_partition,
            keep=frozenset(keep),
            spread=spread,
        )
        hide_num |= primary_num
        hide_den |= primary_den
        withheld |= withhold
        lost_range = coded & withheld
        new_num = hide_num & ~primary_num
        rules[new_num | lost_range] = np.where(withheld, "complementary", "complementary_range")[
            new_num | lost_range
        ]
        ranged_new = new_num & ~withheld
        details[ranged_new] = [
            f"rate published as {lo:.0%}-{hi:.0%}"
            + ("; the group's size withheld" if d else "")
            + ": an exact count would let a withheld cell be worked out"
            for lo, hi, d in zip(
                low[ranged_new], high[ranged_new], hide_den[ranged_new], strict=True
            )
        ]
        details[(new_num | lost_range) & withheld & ~hide_den] = (
            "numerator and rate withheld: they would follow from the totals"
        )
        details[(new_num | lost_range) & withheld & hide_den & ~primary_den] = (
            "withheld: its counts would let a withheld cell be worked out"
        )
    else:
        withheld = withhold
    coded_out = hide_num & ~withheld & ~rate_only
    out.loc[hide_num & ~rate_only, "numerator"] = pd.NA
    out.loc[hide_den & ~rate_only, "denominator"] = pd.NA
    out.loc[hide_num & ~rate_only, "rate"] = np.nan
    out["rate_low"] = np.where(
        coded_out, low, np.where(hide_num & ~rate_only, np.nan, out["rate_low"])
    )
    out["rate_high"] = np.where(
        coded_out, high, np.where(hide_num & ~rate_only, np.nan, out["rate_high"])
    )
    out["suppressed"] = withheld & ~rate_only
    listed = (rules != "") & hide_num & ~rate_only
    positions = np.flatnonzero(listed)
    record = pd.DataFrame(
        {
            "row": np.asarray(out.index)[positions],
            "rule": rules[positions],
            "detail": details[positions],
            "students": pd.array(
                np.where(np.isfinite(den[positions]), den[positions], np.nan), dtype="Int64"
            ),
        }
    )
    keys = [
        c
        for c in ("partnership", "unit", "outcome", period, "dimension", "group")
        if c in table.columns
    ]
    record = pd.concat([out.iloc[positions][keys].reset_index(drop=True), record], axis=1)
    settings = {
        "min_n": min_n,
        "complementary": complementary,
        "min_cell": min_cell,
        "top_bottom": top_bottom
        if not isinstance(top_bottom, Mapping)
        else {int(k): float(v) for k, v in top_bottom.items()},
        "links": [list(pair) for pair in links],
        "spread": spread,
        "keep": list(keep),
        "linked_sets_solved": sets_solved,
        "audit_rounds": rounds,
    }
    return _suppression_result(out, record, min_n, settings)


def _suppression_result(
    table: pd.DataFrame, record: pd.DataFrame, min_n: int, settings: dict[str, Any]
) -> SuppressionResult:
    """The result of a suppression, its summary and notes computed from ``record``."""
    result = SuppressionResult(
        table=table, summary=_rule_summary(record), record=record, min_n=min_n, settings=settings
    )
    return dataclasses.replace(result, notes=tuple(suppression_notes(result)))


def _rule_summary(record: pd.DataFrame) -> pd.DataFrame:
    """Cells and students withheld or coded per rule: ``rule, cells, students``."""
    if record.empty:
        return pd.DataFrame({"rule": [], "cells": [], "students": []}).astype(
            {"cells": int, "students": int}
        )
    grouped = record.groupby("rule", sort=False)
    out = pd.DataFrame(
        {
            "cells": grouped.size(),
            "students": grouped["students"].sum(min_count=0).astype(int),
        }
    )
    return out.sort_values("cells", ascending=False, kind="stable").reset_index()


def _placeholders(
    table: pd.DataFrame, links: tuple[tuple[str, str], ...], period: str, min_n: int
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The table plus a withheld row for each group a linked outcome counts fewer than
    ``min_n`` of but the outcome itself does not list (its absence says "zero"); the flags
    of those rows and their denominators (the linked numerators)."""
    out = table.copy()
    cols = [c for c in ("partnership", "unit", period, "dimension", "group") if c in table]
    if not links or "outcome" not in table or len(cols) < 3:
        return out, np.zeros(len(out), dtype=bool), np.array([])
    base = [c for c in ("partnership", "unit", period) if c in table]
    added = []
    known = table[["outcome", *cols]].assign(
        _num=pd.to_numeric(table["numerator"], errors="coerce")
    )
    known.loc[
        table["suppressed"].fillna(False).astype(bool) if "suppressed" in table else [], "_num"
    ] = np.nan
    for _ in range(len(links)):  # placeholders of one link may need their own downstream
        grew = False
        for target, source in links:
            outcome = known["outcome"].to_numpy()
            is_target = outcome == target
            if not is_target.any():
                continue
            full, _ = group_codes(*(known[c].to_numpy() for c in cols))
            block, _ = group_codes(*(known[c].to_numpy() for c in base))
            small = (outcome == source) & ~(known["_num"].to_numpy() >= min_n)
            # The outcome is reported for that partnership and period, but not the group.
            wanted = small & np.isin(block, block[is_target]) & ~np.isin(full, full[is_target])
            if wanted.any():
                rows = known.loc[wanted, cols].assign(
                    _truth=known.loc[wanted, "_num"].to_numpy(), outcome=target
                )
                added.append(rows)
                known = pd.concat(
                    [known, rows.drop(columns="_truth").assign(_num=np.nan)], ignore_index=True
                )
                grew = True
        if not grew:
            break
    if not added:
        return out, np.zeros(len(out), dtype=bool), np.array([])
    extra = pd.concat(added, ignore_index=True)
    truth = extra.pop("_truth").to_numpy(dtype="float64", na_value=np.nan)
    extra = extra.assign(numerator=pd.NA, denominator=pd.NA, rate=np.nan, suppressed=True)
    if "source" in table:
        extra["source"] = "placeholder (c2c_analysis.privacy)"
    start = (
        (out.index.max() + 1) if len(out) and pd.api.types.is_integer_dtype(out.index) else len(out)
    )
    extra.index = pd.RangeIndex(start, start + len(extra))
    out = pd.concat([out, extra[[c for c in extra.columns if c in out.columns or c in cols]]])
    flags = np.r_[np.zeros(len(table), dtype=bool), np.ones(len(extra), dtype=bool)]
    return out, flags, truth


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


def _bands(num: np.ndarray, den: np.ndarray, spread: int) -> tuple[np.ndarray, np.ndarray]:
    """The range a row's rate is published as when secondary protection codes it: the
    narrowest band of :data:`_BANDS` on a fixed grid (never centred on the rate, so its
    middle tells nothing) whose counts span at least ``spread`` students (the caller asks
    for twice the audit's ``spread``). NaN where even
    0%-100% does not (cohorts under ``spread``)."""
    low = np.full(len(num), np.nan)
    high = np.full(len(num), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(np.isfinite(num) & (den > 0), num / den, np.nan)
    todo = np.isfinite(rate)
    for width in _BANDS:
        start = np.round(np.clip(np.floor(rate / width + 1e-9) * width, 0.0, 1.0 - width), 2)
        end = np.round(start + width, 2)
        with np.errstate(invalid="ignore"):
            span = np.floor(end * den + 1e-9) - np.ceil(start * den - 1e-9)
            hit = todo & (span >= spread)
        low[hit], high[hit] = start[hit], end[hit]
        todo &= ~hit
    return low, high


class _Program:
    """Secondary suppression as one mixed-integer program over linked sets.

    Variables, for each of the ``n`` rows (real and virtual totals): ``h`` (numerator and
    exact rate not published: coded as a range or withheld) at ``i``, ``f`` (denominator
    withheld) at ``n + i``, ``g`` (withheld outright, no range) at ``2n + i``. The audit's
    variables (numerator ``i``, denominator ``n + i``) are the ``h`` and ``f`` flags of the
    same index. Every constraint row belongs to one linked set, so any subset of sets is
    solved in one call."""

    def __init__(self, structure, *, lower, upper, cost, num, den, min_n, spread, no_band, sets):
        self.n = n = structure.n_rows
        self.structure = structure
        self.lower, self.upper, self.cost = lower, upper, cost
        self.ri: list[np.ndarray] = []
        self.ci: list[np.ndarray] = []
        self.va: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.up: list[np.ndarray] = []
        self.owner: list[np.ndarray] = []
        self.rows = 0
        linked = structure.linked
        wanted = np.zeros(linked.max() + 1 if n else 0, dtype=bool)
        wanted[sets] = True  # only the linked sets that hold a primary cell
        every = np.flatnonzero(wanted[linked])
        # A denominator, and a withheld row, only with its hidden numerator; a row whose
        # cohort is too small for any range is withheld whenever its numerator is hidden.
        self._add_pairs(n + every, every, linked[every])
        self._add_pairs(2 * n + every, every, linked[every])
        nb = np.flatnonzero(no_band & wanted[linked])
        self._add_pairs(nb, 2 * n + nb, linked[nb])
        # No hidden value alone in a published sum.
        for variables, _ in structure.eqs:
            if not wanted[linked[variables[0] % n]]:
                continue
            items = np.unique(variables)
            k = len(items)
            if k < 2:
                continue
            block = -np.ones((k, k)) + 2 * np.eye(k)
            self._add(
                np.repeat(np.arange(k), k),
                np.tile(items, k),
                block.ravel(),
                k,
                linked[items[0] % n],
            )
        # The hidden part of a sum with a published total: enough students, both outcomes.
        value_n = np.nan_to_num(num, nan=0.0)
        value_d = np.nan_to_num(den, nan=float(min_n))
        for kind, total, members in structure.sets:
            if not wanted[linked[total % n]]:
                continue
            groups = members % n
            need = float(max(min_n, spread)) if kind == 1 else float(spread)
            checks = (
                [value_d[groups]]
                if kind == 1
                else [
                    value_n[groups],
                    np.maximum(value_d[groups] - value_n[groups], 0.0),
                ]
            )
            k = len(members)
            for vals in checks:
                # sum(v_i x_i) >= need (x_j - x_t):  -sum(v x) + need x_j - need x_t <= 0
                block = np.tile(-vals, (k, 1)) + need * np.eye(k)
                r = np.repeat(np.arange(k), k + 1)
                c = np.tile(np.r_[members, total], k)
                a = np.c_[block, np.full(k, -need)].ravel()
                self._add(r, c, a, k, linked[total % n])
        self._base = self.rows

    def _add(self, r, c, a, rows, owner, lo=-np.inf, up=0.0):
        self.ri.append(np.asarray(r) + self.rows)
        self.ci.append(np.asarray(c))
        self.va.append(np.asarray(a, dtype=float))
        self.lo.append(np.full(rows, lo))
        self.up.append(np.full(rows, up))
        self.owner.append(np.full(rows, owner))
        self.rows += rows

    def _add_pairs(self, first, second, owner):
        """first_k - second_k <= 0 for each k."""
        k = len(first)
        if k:
            self.ri.append(np.repeat(np.arange(k), 2) + self.rows)
            self.ci.append(np.c_[first, second].ravel())
            self.va.append(np.tile([1.0, -1.0], k))
            self.lo.append(np.full(k, -np.inf))
            self.up.append(np.zeros(k))
            self.owner.append(np.asarray(owner))
            self.rows += k

    def cut(self, columns: np.ndarray, owner: int) -> None:
        """At least one of ``columns`` more."""
        self._add(
            np.zeros(len(columns), int), columns, np.ones(len(columns)), 1, owner, 1.0, np.inf
        )

    def solve(self, sets: np.ndarray) -> np.ndarray | None:
        """The least-cost flags of the rows of ``sets`` (None when nothing is feasible)."""
        n = self.n
        owner = np.concatenate(self.owner)
        chosen = np.flatnonzero(np.isin(owner, sets))
        rows = np.flatnonzero(np.isin(self.structure.linked, sets))
        cols = np.r_[rows, n + rows, 2 * n + rows]
        position = np.full(3 * n, -1)
        position[cols] = np.arange(len(cols))
        A = sparse.csr_matrix(
            (np.concatenate(self.va), (np.concatenate(self.ri), np.concatenate(self.ci))),
            shape=(self.rows, 3 * n),
        )[chosen][:, cols]
        lo, up = np.concatenate(self.lo)[chosen], np.concatenate(self.up)[chosen]
        lb, ub = self.lower[cols], self.upper[cols]
        for presolve in (True, False):
            result = milp(
                self.cost[cols],
                constraints=LinearConstraint(A, lo, up),
                bounds=Bounds(lb, ub),
                integrality=np.ones(len(cols)),
                options={"presolve": presolve, "time_limit": 20},
            )
            if result.x is None:
                continue
            x = np.round(result.x)
            activity = A @ x
            if (
                (activity <= up + 1e-6).all()
                and (activity >= lo - 1e-6).all()
                and (x >= lb).all()
                and (x <= ub).all()
            ):
                out = np.zeros(3 * n, dtype=bool)
                out[cols] = x > 0.5
                return out
        return None


def _secondary(
    out: pd.DataFrame,
    *,
    num: np.ndarray,
    den: np.ndarray,
    hide_num: np.ndarray,
    hide_den: np.ndarray,
    withhold: np.ndarray,
    rate_low: np.ndarray,
    rate_high: np.ndarray,
    rate_only: np.ndarray,
    period: str,
    min_n: int,
    links: tuple[tuple[str, str], ...],
    partitions: frozenset[str],
    units_partition: bool | None,
    keep: frozenset[str],
    spread: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """Least-cost secondary protection of the linked sets that hold a primary cell,
    checked by the audit's attacker until nothing is exposed.

    Returns the flags (numerator hidden, denominator hidden, withheld outright; primary
    ones included), the published ranges, the number of audit rounds and of sets solved."""
    # Long because each round chooses, audits and re-chooses on the same linked sets and
    # arrays; split, each piece would take and return all of them.
    keys, virtual = with_totals(key_frame(out, period))
    n_real = len(out)
    n = len(keys)
    extra = n - n_real
    pad = np.full(extra, np.nan)
    num_all = np.r_[num, pad]
    den_all = np.r_[den, pad]
    if extra:
        # A total missing from the table may be published elsewhere: treat it as known,
        # equal to the sum of the first complete dimension of its set.
        _fill_virtual_totals(keys, virtual, num_all, den_all)
    structure = linked_structure(
        keys, num_all, den_all, partitions=partitions, links=links, units_partition=units_partition
    )
    no = np.zeros(extra, dtype=bool)
    only = np.r_[rate_only, no]
    h_fixed = np.r_[hide_num, no]
    f_fixed = np.r_[hide_den, no]
    g_fixed = np.r_[withhold, no] & ~only
    fixed_open = virtual

    # Ranges: a primary code keeps its own; any other row gets a band on the fixed grid.
    band_low, band_high = _bands(num_all, den_all, _BAND_SPAN * spread)
    coded = np.isfinite(np.r_[rate_low, pad])
    low_all = np.where(coded, np.r_[rate_low, pad], band_low)
    high_all = np.where(coded, np.r_[rate_high, pad], band_high)
    no_band = ~np.isfinite(low_all) & ~only & ~fixed_open
    width = np.where(np.isfinite(low_all), high_all - low_all, 1.0)

    # Cost: the information lost. A range loses its width's share of the group's outcome,
    # withholding loses the rest, a withheld size a quarter more; catch-all groups cost
    # half, kept groups ten times, All students a thousand times.
    groups = keys["group"].to_numpy()
    weight = np.where(
        groups == ALL_STUDENTS,
        1000.0,
        np.where(
            np.isin(groups, list(_CATCH_ALL)), 0.5, np.where(np.isin(groups, list(keep)), 10.0, 1.0)
        ),
    )
    size = np.nan_to_num(den_all, nan=float(min_n))
    cost = np.r_[
        weight * size * width + 1.0, 0.25 * weight * size + 1.0, weight * size * (1 - width) + 1.0
    ]
    lower = np.r_[h_fixed | only, f_fixed | only, g_fixed].astype(float)
    upper = np.r_[~fixed_open, ~fixed_open, ~fixed_open & ~only].astype(float)

    linked = structure.linked
    active = np.unique(linked[h_fixed & ~only])
    num_est, den_est = _estimates(structure, num_all, den_all)
    program = _Program(
        structure,
        lower=lower,
        upper=upper,
        cost=cost,
        num=num_est,
        den=den_est,
        min_n=min_n,
        spread=spread,
        no_band=no_band,
        sets=active,
    )
    # Which constraints touch each variable (for the cuts).
    touching: dict[int, list[np.ndarray]] = {}
    solving = np.isin(linked, active)
    for variables, _ in (*structure.eqs, *structure.ineqs):
        if solving[variables[0] % n]:
            for v in variables.tolist():
                touching.setdefault(v, []).append(variables)

    flags = lower > 0.5
    rate_pub = np.r_[out["rate"].to_numpy(dtype="float64", na_value=np.nan), pad]
    pending = active
    rounds = 0
    for _ in range(60):
        solved = program.solve(pending)
        rows_p = np.isin(linked, pending)
        every = np.r_[rows_p, rows_p, rows_p]
        if solved is None:  # nothing satisfies every rule: withhold what may be withheld
            flags[every] = (upper > 0.5)[every]
            break
        flags[every] = solved[every]
        h, f, g = flags[:n], flags[n : 2 * n], flags[2 * n :]
        ranged = h & ~g
        know = knowledge(
            np.where(h, np.nan, num_all),
            np.where(f, np.nan, den_all),
            np.where(h & ~only, np.nan, rate_pub),
            np.where(ranged & ~only, low_all, np.nan),
            np.where(ranged & ~only, high_all, np.nan),
        )
        targets = (h | f) & ~only & ~fixed_open
        attack = run_attack(
            structure,
            know,
            targets,
            min_n=min_n,
            spread=spread,
            exact=False,
            rows=np.flatnonzero(rows_p),
        )
        rounds += 1
        if not attack.exposed_groups:
            break
        hidden = np.r_[h, f]
        again = set()
        for group, exposed in zip(attack.exposed_groups, attack.exposed_values, strict=True):
            # One more value hidden in a sum that holds an exposed value, or one range
            # there (or of the exposed rows) withheld outright.
            candidates: set[int] = set()
            near: set[int] = {int(v) % n for v in exposed}
            for v in exposed:
                for variables in touching.get(int(v), ()):
                    candidates.update(int(u) for u in variables if not hidden[u])
                    near.update(int(u) % n for u in variables)
                other = int(v + n if v < n else v - n)
                if not hidden[other]:
                    candidates.add(other)
            rows_g = np.array(sorted(near), dtype=int)
            candidates.update(int(2 * n + r) for r in rows_g[ranged[rows_g]])
            columns = np.array(sorted(c for c in candidates if upper[c] > 0.5), dtype=int)
            owner = int(linked[group[0] % n])
            if len(columns):
                program.cut(columns, owner)
                again.add(owner)
            else:  # pragma: no cover - a safety net: withhold the whole set
                rows_s = np.flatnonzero(linked == owner)
                for offset in (0, n, 2 * n):
                    flags[offset + rows_s] = upper[offset + rows_s] > 0.5
        if not again:
            break
        pending = np.array(sorted(again))
    h, f, g = flags[:n], flags[n : 2 * n], flags[2 * n :]
    return (
        h[:n_real],
        f[:n_real],
        g[:n_real],
        low_all[:n_real],
        high_all[:n_real],
        rounds,
        len(active),
    )


def _estimates(structure, num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts with those the source withheld estimated: in each sum with a known total, the
    students the known members leave, shared equally among the unknown ones (what an
    attacker learns about them together). The program's rules for isolated sets need a
    size for every member; the check attacks the published facts, not these estimates."""
    n = structure.n_rows
    values = np.r_[num, den].astype(float)
    for _, total, members in structure.sets:
        unknown = ~np.isfinite(values[members])
        if unknown.any() and np.isfinite(values[total]):
            left = values[total] - np.nansum(values[members])
            values[members[unknown]] = max(left, 0.0) / unknown.sum()
    return values[:n], values[n:]


def _fill_virtual_totals(keys, virtual, num, den) -> None:
    base_cols = ["partnership", "unit", "outcome", "time"]
    frame = keys.assign(_num=num, _den=den)
    members = frame[~virtual & (frame["dimension"] != "all")]
    sums = members.groupby([*base_cols, "dimension"], sort=False).agg(
        _num=("_num", lambda s: s.sum() if s.notna().all() else np.nan),
        _den=("_den", lambda s: s.sum() if s.notna().all() else np.nan),
    )
    best = sums.dropna().groupby(level=base_cols, sort=False).max()
    rows = np.flatnonzero(virtual)
    index = pd.MultiIndex.from_frame(keys.loc[rows, base_cols])
    found = best.reindex(index)
    num[rows] = found["_num"].to_numpy()
    den[rows] = found["_den"].to_numpy()


# --- notes ----------------------------------------------------------------------------------

_REASONS = {
    "min_n": "fewer than {min_n} students were in the group",
    "source": "the source withheld it",
    "complementary": (
        "publishing it would let a smaller withheld group be worked out from the totals"
    ),
    "min_cell": "fewer than {min_cell} students met, or did not meet, the outcome",
}


def _group_phrase(group: str, dimension: str) -> str:
    if group == NOT_REPORTED:
        label = dimension.replace("_", " ").replace("race ethnicity", "race/ethnicity")
        return f"students whose {label} was not reported"
    if group.lower().startswith("students") or group.lower().endswith("students"):
        return group
    return f"{group} students"


def _years(values: Sequence[Any]) -> str:
    items = sorted({str(v)[:10] for v in values})
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def suppression_notes(
    result: SuppressionResult, *, partnership_names: Mapping[str, str] | None = None
) -> list[str]:
    """Sentences for a report's data notes: which groups were withheld or coded, and why.

    Parameters
    ----------
    result : SuppressionResult
        What :func:`suppress` returned.
    partnership_names : mapping, optional
        Display names of partnerships; with more than one partnership each sentence names
        its own.

    Returns
    -------
    list of str
        One sentence per group, outcome and reason, years listed together; never a
        withheld value.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "partnership": "p", "outcome": "hs_graduation", "year": 2016,
    ...     "dimension": ["all", "race_ethnicity", "race_ethnicity", "race_ethnicity"],
    ...     "group": ["All students", "Asian", "Black", "White"],
    ...     "numerator": [170, 30, 5, 135], "denominator": [200, 40, 8, 152],
    ...     "suppressed": False})
    >>> notes = suppression_notes(suppress(table, min_cell=None, top_bottom=None))
    >>> print(notes[1])  # doctest: +NORMALIZE_WHITESPACE
    High school graduation for Black students in 2016 was withheld because fewer than 10
    students were in the group.
    >>> print(notes[0])  # doctest: +NORMALIZE_WHITESPACE
    High school graduation for Asian students in 2016 is shown as a range, without the
    group's size, because an exact figure would let a smaller withheld group be worked out
    from the totals.
    """
    record = result.record
    if record.empty:
        return [
            f"No group was withheld: every group published has at least {result.min_n} students."
        ]
    time = next((c for c in ("year", "period") if c in record.columns), None)
    settings = result.settings
    names = dict(partnership_names or {})
    several = "partnership" in record and record["partnership"].nunique() > 1
    sentences = []
    columns = [
        c for c in ("partnership", "unit", "outcome", "dimension", "group", "rule") if c in record
    ]
    frame = record.assign(_rule=record["rule"]).fillna({c: "" for c in columns})
    for key, rows in frame.groupby(columns, sort=False):
        values: dict[str, Any] = dict(
            zip(columns, key if isinstance(key, tuple) else (key,), strict=True)
        )
        outcome = str(values.get("outcome", ""))
        label = (
            OUTCOMES[outcome].label.lower() if outcome in OUTCOMES else outcome.replace("_", " ")
        )
        who = _group_phrase(str(values.get("group", "")), str(values.get("dimension", "")))
        # The outcome is the subject ("High school graduation for Black students in 2015 and
        # 2016 was withheld"): one verb form, and no possessive of a phrase such as
        # "students whose race/ethnicity was not reported".
        subject = label[:1].upper() + label[1:] + f" for {who}"
        where = ""
        if values.get("unit"):
            where += f" at {values['unit']}"
        if several and values.get("partnership"):
            where += f" in {names.get(values['partnership'], values['partnership'])}"
        when = f" in {_years(rows[time].tolist())}" if time else ""
        rule = str(values["rule"])
        if rule == "complementary_range":
            size = (
                ", without the group's size,"
                if rows["detail"].str.contains("size withheld").all()
                else ""
            )
            sentences.append(
                f"{subject}{where}{when} is shown as a range{size} because an exact "
                "figure would let a smaller withheld group be worked out from the totals."
            )
            continue
        if rule in ("top_coded", "bottom_coded") or (
            rule == "min_cell" and rows["detail"].str.startswith("rate published").all()
        ):
            side = (
                "near 100%"
                if rule == "top_coded" or rows["detail"].str.contains("100%").all()
                else "near 0%"
            )
            if rule == "min_cell":
                why = (
                    f"fewer than {settings.get('min_cell')} students met, or did not meet, "
                    "the outcome"
                )
            else:
                why = (
                    f"the rate was {side}, which would tell families the outcome of "
                    "nearly every student"
                )
            sentences.append(f"{subject}{where}{when} is shown as a range because {why}.")
            continue
        reason = _REASONS.get(rule, rule).format(
            min_n=result.min_n, min_cell=settings.get("min_cell")
        )
        sentences.append(f"{subject}{where}{when} was withheld because {reason}.")
    return sentences
