"""Disclosure audit: what an attacker with everything a report publishes can learn.

Every published number is a linear fact about the counts behind it: a numerator, a
denominator, a rate (``numerator = rate x denominator`` within its rounding) or a range
(``rate_low x denominator <= numerator <= rate_high x denominator``). The tables are linked:

- a dimension whose groups **partition** All students (their denominators add up to All's,
  or the catalogue declares the dimension a partition, :data:`~c2c_analysis.schema.PARTITIONS`)
  says that the groups' numerators and denominators sum to All's; a dimension that does not
  (a file reporting only Foster youth) only says that each sum is at most All's;
- a declared **outcome link** (:data:`~c2c_analysis.schema.OUTCOME_LINKS`) says that one
  outcome's denominator is another's numerator, group by group (postsecondary enrollment is
  counted among the graduating class), in each partnership, unit and period where every
  pair whose two counts are known agrees; one known pair that differs says the outcomes
  were counted on other cohorts there, and none of that block's pairs is an equation
  (suppression decides on the true counts, the audit on the published ones);
- **school units** (an optional ``unit`` column) add up to their partnership's row.

:func:`audit_disclosure` collects those facts and computes, by integer programming (scipy's
HiGHS ``linprog``/``milp``), the feasible range of every withheld numerator, denominator and
complement, as tau-Argus's audit does (Hundepool et al. 2012, section 4.3). It reports a cell
**exposed** when a value is determined to within one student (its range spans at most
``spread - 1 = 2`` students), and a **set** of withheld cells that differencing isolates (the
withheld part of a published sum) when its students are certainly fewer than ``min_n`` or its
outcome is certainly all-or-none. :func:`~c2c_analysis.privacy.suppress` runs the same
attacker on its own choice of cells.

HiGHS presolve returned wrong bounds on small suppression problems here, so every bound is
solved with presolve off first and each solution is checked against the constraints before
it is used (a solution that fails is solved again with presolve on, and a value that still
cannot be verified counts as exposed). Points found with presolve on serve only as
feasible integer points (checked the same way), never as bounds. Groups of unknowns that
share no constraint are independent, so one linear program whose objective adds one
wanted optimum of every group gives all their optima at once (a group whose vertex is
fractional is solved again as an integer program): the number of solver calls grows with
the values of the largest group, not with the number of groups.

**What is read.** A folder is searched recursively (files and folders whose names start
with ``.`` inside it are skipped) for:

- ``*.csv`` (``tables/*.csv`` the runner writes, and any other CSV), read as tables with a
  header row;
- ``*.xlsx``, every sheet (``tables/*.xlsx``; the ``dictionary`` sheet names no cell and
  contributes nothing);
- ``*.json`` (``results.json``; ``provenance.json`` and ``status.json`` hold no cells): every
  list of records and every record whose values are all scalars, at any depth;
- ``*.ipynb``, the executed notebook: every ``<table>`` in the ``text/html`` data of its
  outputs (``display_data``, ``execute_result``); ``text/plain`` outputs, printed text,
  markdown cells and images are not read;
- ``*.html`` (``report.html``): every ``<table>`` of the page (the notebook's outputs as
  rendered, read again in case the notebook is not kept; a table whose outcome column holds
  labels rather than the catalogue's ids is taken to be about other outcomes, so its facts
  are not combined with the CSVs').

A table (long format) contributes the rows that name a ``group``, an ``outcome`` and a
period (``year`` or ``period``) and carry at least one of ``numerator``, ``denominator``
(or ``n``, ``n_students``, ``cohort``), ``rate``, ``rate_low``, ``rate_high``. Column names
are matched after trimming and lower-casing; rates written with ``%`` are read as percents;
``partnership``, ``unit`` and ``dimension`` are read where present (a missing dimension is
taken from another table's row of the same outcome and group). A table without those key
columns is skipped: a wide table (a column per group or per year), a table keyed by a
label alone, rates in percentage points (``*_pp``), gaps and model output are not read as
facts about a cell. Facts about the same cell from several tables are combined: the first
count read, the narrowest range. Figures, alt text and sentences in the narrative are not
parsed: a report must not state in words a count that its tables withhold.

Not read as facts: the runner's derived tables (``gap_change``: ``rate_start``/``rate_end``
by ``start``/``end``; ``decomposition``; ``overview``: ``latest_rate``, ``latest_denominator``;
``scorecard``: ``actual``; ``trends``; ``run_charts``) and ``results.json``'s dashboard
figures (``graduation``: ``numerator``/``denominator``/``year`` without an outcome or group).
They name a cell only through columns such as ``start`` or ``last_year``, and their rates of
range-coded rows are the ranges' midpoints, not facts about the counts, so reading them as
exact rates would make the attacker's problem wrong rather than stronger. An audit of a
report folder holding only such tables therefore checks no cell; publish the suppressed
outcome table beside them (or audit it directly) to have it checked.

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Nordholt, E. S., Spicer, K.,
& de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. Chapter 4 (magnitude and
frequency tables; the audit of a suppression pattern by linear programming).

Fischetti, M., & Salazar-Gonzalez, J.-J. (2000). Models and algorithms for optimizing cell
suppression in tabular data with linear constraints. *Journal of the American Statistical
Association*, 95(451), 916-928.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from c2c_analysis._arrays import group_codes
from c2c_analysis.schema import ALL_STUDENTS, OUTCOME_LINKS, PARTITIONS

__all__ = ["AuditResult", "audit_disclosure"]

#: A withheld value whose feasible range spans fewer than this many students is exposed
#: (``spread=3``: determined to within one student either side).
DEFAULT_SPREAD = 3

_KEYS = ("partnership", "unit", "outcome", "time", "dimension", "group")
_TOL = 1e-6


# --- the linked structure ------------------------------------------------------------------


@dataclass(frozen=True)
class _Structure:
    """Linear facts linking the rows of a table (variables: row i's numerator is i, its
    denominator is N + i). Equations and inequalities are (variables, coefficients) with
    right-hand side 0; ``sets`` are partition equations with a total row:
    (kind 0 numerator / 1 denominator, total variable, group variables)."""

    n_rows: int
    eqs: list[tuple[np.ndarray, np.ndarray]]
    ineqs: list[tuple[np.ndarray, np.ndarray]]
    sets: list[tuple[int, int, np.ndarray]]
    linked: np.ndarray
    partition: dict[tuple[int, str], bool]


def _key_frame(table: pd.DataFrame, time: str) -> pd.DataFrame:
    """The key columns as plain text (missing keys become '')."""
    out = pd.DataFrame(index=range(len(table)))
    for key in _KEYS:
        column = time if key == "time" else key
        if column in table:
            values = table[column].to_numpy()
            out[key] = pd.Series(values).astype(object).where(pd.notna(values), "").astype(str)
        else:
            out[key] = ""
    return out


def _with_totals(keys: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """``keys`` plus one virtual All students row for every (partnership, unit, outcome,
    period) whose groups are listed without one; the second value flags the virtual rows."""
    total = (keys["dimension"] == "all") | (keys["group"] == ALL_STUDENTS)
    base_cols = ["partnership", "unit", "outcome", "time"]
    have = keys.loc[total, base_cols].drop_duplicates()
    need = keys.loc[~total, base_cols].drop_duplicates()
    missing = need.merge(have, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
    if missing.empty:
        return keys, np.zeros(len(keys), dtype=bool)
    missing = missing.assign(dimension="all", group=ALL_STUDENTS)[list(_KEYS)]
    out = pd.concat([keys, missing], ignore_index=True)
    return out, np.r_[np.zeros(len(keys), dtype=bool), np.ones(len(missing), dtype=bool)]


def _structure(
    keys: pd.DataFrame,
    num: np.ndarray,
    den: np.ndarray,
    *,
    partitions: Iterable[str],
    links: Iterable[tuple[str, str]],
    units_partition: bool | None,
) -> _Structure:
    """Equations and inequalities among the rows' counts (``num``/``den``: what is known,
    NaN where not, used to decide which dimensions and units partition their total)."""
    n = len(keys)
    declared = set(partitions)
    eqs: list[tuple[np.ndarray, np.ndarray]] = []
    ineqs: list[tuple[np.ndarray, np.ndarray]] = []
    sets: list[tuple[int, int, np.ndarray]] = []
    decided: dict[tuple[int, str], bool] = {}
    dims = keys["dimension"].to_numpy()
    is_total = (dims == "all") | (keys["group"].to_numpy() == ALL_STUDENTS)
    base, _ = group_codes(*(keys[c].to_numpy() for c in ("partnership", "unit", "outcome", "time")))
    total_of = np.full(base.max() + 1 if n else 0, -1)
    total_of[base[is_total][::-1]] = np.flatnonzero(is_total)[::-1]

    def add_sum(members: np.ndarray, total: int, partition: bool, with_sets: bool) -> None:
        for kind in (0, 1):
            offset = kind * n
            variables = np.r_[members + offset, total + offset]
            coefs = np.r_[np.ones(len(members)), -1.0]
            if partition:
                eqs.append((variables, coefs))
                if with_sets:
                    sets.append((kind, total + offset, members + offset))
            else:
                ineqs.append((variables, coefs))
        if not partition:  # complements: sum of (d - n) at most the total's
            variables = np.r_[members, members + n, total, total + n]
            k = len(members)
            coefs = np.r_[-np.ones(k), np.ones(k), 1.0, -1.0]
            ineqs.append((variables, coefs))

    def partitions_total(members: np.ndarray, total: int, declared_here: bool) -> bool:
        values = den[members]
        if np.isfinite(values).all() and np.isfinite(den[total]):
            return bool(abs(values.sum() - den[total]) < 0.5)
        if np.isfinite(den[total]) and np.nansum(values) > den[total] + 0.5:
            return False
        return declared_here

    # Dimensions within each (partnership, unit, outcome, period).
    member = np.flatnonzero(~is_total)
    if len(member):
        block, _ = group_codes(base[member], dims[member])
        order = np.argsort(block, kind="stable")
        cuts = np.flatnonzero(np.diff(block[order])) + 1
        for rows in np.split(member[order], cuts):
            total = int(total_of[base[rows[0]]])
            if total < 0:
                continue
            dim = str(dims[rows[0]])
            part = len(rows) >= 2 and partitions_total(rows, total, dim in declared)
            decided[(int(base[rows[0]]), dim)] = part
            add_sum(rows, total, part, with_sets=True)

    # School units inside their partnership's row of the same outcome, period and group.
    unit = keys["unit"].to_numpy()
    inside = np.flatnonzero(unit != "")
    if len(inside):
        cols = ("partnership", "outcome", "time", "dimension", "group")
        code, _ = group_codes(*(keys[c].to_numpy() for c in cols))
        top = np.flatnonzero(unit == "")
        parent = np.full(code.max() + 1, -1)
        parent[code[top][::-1]] = top[::-1]
        order = inside[np.argsort(code[inside], kind="stable")]
        cuts = np.flatnonzero(np.diff(code[order])) + 1
        for rows in np.split(order, cuts):
            total = int(parent[code[rows[0]]])
            if total < 0:
                continue
            part = partitions_total(rows, total, units_partition is not False)
            add_sum(rows, total, part, with_sets=False)

    # Declared links: the denominator of one outcome is the numerator of another. A link
    # holds for a partnership, unit and period only if every pair whose two counts are
    # known is equal: one known pair that differs says the outcomes were counted on other
    # cohorts there, and none of that block's pairs is linked.
    cols = ["partnership", "unit", "time", "dimension", "group"]
    position = keys.assign(_pos=np.arange(n))
    for target, source in links:
        left = position[position["outcome"] == target][[*cols, "_pos"]]
        right = position[position["outcome"] == source][[*cols, "_pos"]]
        pairs = left.merge(right, on=cols, suffixes=("_d", "_n"))
        if pairs.empty:
            continue
        a = den[pairs["_pos_d"].to_numpy()]
        b = num[pairs["_pos_n"].to_numpy()]
        differs = np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) > 0.5)
        block, _ = group_codes(*(pairs[c].to_numpy() for c in ("partnership", "unit", "time")))
        broken = np.bincount(block, weights=differs) > 0
        held = ~broken[block]
        for d_row, n_row in zip(pairs["_pos_d"][held], pairs["_pos_n"][held], strict=True):
            eqs.append((np.array([n + d_row, n_row]), np.array([1.0, -1.0])))

    # Linked sets: rows joined by any fact.
    heads, tails = [], []
    for variables, _ in (*eqs, *ineqs):
        rows = np.unique(variables % n) if n else variables
        heads.append(rows[:-1])
        tails.append(rows[1:])
    if heads:
        graph = sparse.coo_matrix(
            (np.ones(sum(len(h) for h in heads)), (np.concatenate(heads), np.concatenate(tails))),
            shape=(n, n),
        )
        _, linked = connected_components(graph, directed=False)
    else:
        linked = np.arange(n)
    return _Structure(n, eqs, ineqs, sets, linked, decided)


# --- the attacker ---------------------------------------------------------------------------


@dataclass
class _Knowledge:
    """What is published about each row: exact counts (NaN when withheld) and rate bounds."""

    num: np.ndarray
    den: np.ndarray
    rate_low: np.ndarray
    rate_high: np.ndarray


def _rate_tolerance(rate: np.ndarray) -> np.ndarray:
    """Half a unit in the last decimal a rate was printed with (at most 12 decimals)."""
    out = np.full(len(rate), np.nan)
    finite = np.isfinite(rate)
    remaining = finite.copy()
    for digits in range(13):
        hit = remaining & (np.abs(np.round(rate, digits) - rate) < 1e-12)
        out[hit] = 0.5 * 10.0**-digits
        remaining &= ~hit
    out[remaining] = 0.5e-12
    return out


def _knowledge(num, den, rate, rate_low, rate_high) -> _Knowledge:
    """What published columns tell about each row: the counts, and the rate's bounds (an
    exact rate is known to half a unit in its last printed decimal, a range to its ends).
    The one reading of a published row, used by the audit and by suppression's check."""
    tol = _rate_tolerance(rate)
    exact = np.isfinite(rate)
    low = np.where(exact, np.fmax(rate - tol, np.nan_to_num(rate_low, nan=-np.inf)), rate_low)
    high = np.where(exact, np.fmin(rate + tol, np.nan_to_num(rate_high, nan=np.inf)), rate_high)
    low = np.where(np.isinf(low), np.nan, low)
    high = np.where(np.isinf(high), np.nan, high)
    return _Knowledge(num, den, low, high)


def _knowledge_from_table(frame: pd.DataFrame) -> _Knowledge:
    """Published facts of canonical-like rows (numerator/denominator/rate/rate_low/rate_high)."""

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )

    return _knowledge(
        column("numerator"),
        column("denominator"),
        column("rate"),
        column("rate_low"),
        column("rate_high"),
    )


def _check(x, A_eq, b_eq, A_ub, b_ub, lower, upper) -> bool:
    scale = 1.0 + np.abs(x).max(initial=0.0)
    tol = 1e-6 * scale
    if (x < lower - tol).any() or (x > upper + tol).any():
        return False
    if A_eq is not None and np.abs(A_eq @ x - b_eq).max(initial=0.0) > tol:
        return False
    return not (A_ub is not None and (A_ub @ x - b_ub).max(initial=-1.0) > tol)


class _Problem:
    """One connected group of unknown counts: min and max of linear objectives, integer."""

    def __init__(self, A_eq, b_eq, A_ub, b_ub, lower, upper, *, presolve_first=False):
        self.A_eq, self.b_eq, self.A_ub, self.b_ub = A_eq, b_eq, A_ub, b_ub
        self.lower, self.upper = lower, upper
        self.unverified = False
        # Presolve off first gives bounds that can be trusted; on first (suppression's
        # check) is faster, and a wrong bound it gives is a feasible point short of the
        # optimum: a narrower range, so a value taken for exposed, never one taken for safe.
        self.order = (True, False) if presolve_first else (False, True)

    def optimum(self, c: np.ndarray, *, maximize: bool) -> tuple[float, np.ndarray | None]:
        """Integer optimum of c @ x (inf when unbounded, NaN when it cannot be verified)."""
        sign = -1.0 if maximize else 1.0
        x = None
        for presolve in self.order:
            result = linprog(
                sign * c,
                A_ub=self.A_ub,
                b_ub=self.b_ub,
                A_eq=self.A_eq,
                b_eq=self.b_eq,
                bounds=np.c_[self.lower, np.where(np.isinf(self.upper), None, self.upper)],
                method="highs",
                options={"presolve": presolve},
            )
            if result.status == 3:
                return (np.inf if maximize else -np.inf), None
            if result.status == 0 and _check(result.x, *self._args()):
                x = result.x
                break
        if x is None:
            self.unverified = True
            return np.nan, None
        if np.abs(x - np.round(x)).max(initial=0.0) > 1e-6:
            x = self._integer(sign * c)
            if x is None:
                self.unverified = True
                return np.nan, None
        return float(c @ x), x

    def _args(self):
        return self.A_eq, self.b_eq, self.A_ub, self.b_ub, self.lower, self.upper

    def point(self, c: np.ndarray, *, maximize: bool, presolve: bool = True) -> np.ndarray | None:
        """A verified feasible vertex of the linear program optimising c @ x (possibly
        fractional); None when none could be verified. With presolve on it serves only as
        a feasible point; with presolve off its value in a group where it is integral is
        that group's integer optimum."""
        result = linprog(
            -c if maximize else c,
            A_ub=self.A_ub,
            b_ub=self.b_ub,
            A_eq=self.A_eq,
            b_eq=self.b_eq,
            bounds=np.c_[self.lower, np.where(np.isinf(self.upper), None, self.upper)],
            method="highs",
            options={"presolve": presolve},
        )
        if result.status == 0 and _check(result.x, *self._args()):
            return result.x
        return None

    def _integer(self, c: np.ndarray) -> np.ndarray | None:
        constraints = []
        if self.A_eq is not None:
            constraints.append(LinearConstraint(self.A_eq, self.b_eq, self.b_eq))
        if self.A_ub is not None:
            constraints.append(LinearConstraint(self.A_ub, -np.inf, self.b_ub))
        for presolve in self.order:
            result = milp(
                c,
                constraints=constraints,
                bounds=Bounds(self.lower, self.upper),
                integrality=np.ones(len(c)),
                options={"presolve": presolve, "time_limit": 30, "mip_rel_gap": 0.0},
            )
            if result.x is not None and _check(result.x, *self._args()):
                return np.round(result.x)
        return None


@dataclass
class _Attack:
    """Ranges of withheld values (``cells``) and of isolated sets (``sets``), the exposed
    ones, and for each connected group with an exposed value its unknown variables
    (``exposed_groups``) and those of its exposed values (``exposed_values``)."""

    cells: pd.DataFrame
    sets: pd.DataFrame
    exposed_groups: list[np.ndarray] = field(default_factory=list)
    exposed_values: list[np.ndarray] = field(default_factory=list)


def _attack(
    structure: _Structure,
    know: _Knowledge,
    targets: np.ndarray,
    *,
    min_n: int,
    spread: int = DEFAULT_SPREAD,
    exact: bool = True,
    rows: np.ndarray | None = None,
) -> _Attack:
    """The attacker's integer ranges of the targets' numerators, denominators and
    complements, and of the isolated sets.

    With ``exact=False`` (suppression's check) a value is settled as soon as feasible integer
    points show it is not exposed: first a few integer programs over every connected group
    at once (the sums of all numerators, denominators and complements, maximised and
    minimised: six solver calls however many groups there are), then one call per value
    still unsettled. The ranges are then inner bounds; the verdicts are the exact audit's."""
    n = structure.n_rows
    value = np.r_[know.num, know.den]
    unknown = ~np.isfinite(value)
    keep = np.zeros(n, dtype=bool)
    if rows is None:
        keep[:] = True
    else:
        keep[rows] = True

    # Constraint rows over the unknown variables, with known values moved to the right.
    eq_rows, ub_rows = [], []  # (variables, coefs, rhs)
    for source, out in ((structure.eqs, eq_rows), (structure.ineqs, ub_rows)):
        for variables, coefs in source:
            if not keep[variables[0] % n]:
                continue
            free = unknown[variables]
            if free.any():
                rhs = -float(coefs[~free] @ value[variables[~free]])
                out.append((variables[free], coefs[free], rhs))
    lower = np.zeros(2 * n)
    upper = np.full(2 * n, np.inf)
    for i in np.flatnonzero(keep & (unknown[:n] | unknown[n:])):
        nv, dv = i, n + i
        # A hair of slack: 0.6 x 10 is 6.000000000000001 in floating point.
        lo, hi = know.rate_low[i] - 1e-9, know.rate_high[i] + 1e-9
        if unknown[nv] and unknown[dv]:
            ub_rows.append((np.array([nv, dv]), np.array([1.0, -1.0]), 0.0))
            if np.isfinite(lo) and lo > 0:
                ub_rows.append((np.array([nv, dv]), np.array([-1.0, lo]), 0.0))
            if np.isfinite(hi) and hi < 1:
                ub_rows.append((np.array([nv, dv]), np.array([1.0, -hi]), 0.0))
        elif unknown[nv]:
            d = value[dv]
            upper[nv] = d
            if np.isfinite(lo):
                lower[nv] = max(0.0, np.ceil(lo * d - 1e-9))
            if np.isfinite(hi):
                upper[nv] = min(d, np.floor(hi * d + 1e-9))
        else:
            m = value[nv]
            lower[dv] = m
            if np.isfinite(lo) and lo > 0:
                upper[dv] = np.floor(m / lo + 1e-9)
            if np.isfinite(hi) and hi > 0:
                lower[dv] = max(m, np.ceil(m / hi - 1e-9))

    # Connected groups of unknown variables; the constraints as sparse matrices over them.
    free_vars = np.flatnonzero(unknown & np.r_[keep, keep])
    n_free = len(free_vars)
    local = np.full(2 * n, -1)
    local[free_vars] = np.arange(n_free)

    def sparse_rows(items):
        if not items:
            return sparse.csr_matrix((0, n_free)), np.zeros(0)
        r = np.concatenate([np.full(len(v), k) for k, (v, _, _) in enumerate(items)])
        c = np.concatenate([local[v] for v, _, _ in items])
        a = np.concatenate([coefs for _, coefs, _ in items])
        A = sparse.csr_matrix((a, (r, c)), shape=(len(items), n_free))
        return A, np.array([rhs for _, _, rhs in items])

    A_eq_all, b_eq_all = sparse_rows(eq_rows)
    A_ub_all, b_ub_all = sparse_rows(ub_rows)
    joined = abs(A_eq_all).T @ abs(A_eq_all) + abs(A_ub_all).T @ abs(A_ub_all)
    _, comp = connected_components(joined + sparse.eye(n_free), directed=False)
    first = lambda A: comp[A.indices[A.indptr[:-1]]] if A.shape[0] else np.zeros(0, int)  # noqa: E731
    eq_comp, ub_comp = first(A_eq_all), first(A_ub_all)

    # Objectives: each target's numerator, denominator and complement; each set's sums.
    target_rows = np.flatnonzero(targets & keep & (unknown[:n] | unknown[n:]))
    set_items, seen_sets = [], set()
    for kind, total, members in structure.sets:
        hidden = members[unknown[members]]
        if keep[members[0] % n] and not unknown[total] and len(hidden) >= 2:
            signature = tuple(hidden % n)
            if signature not in seen_sets:
                seen_sets.add(signature)
                set_items.append((kind, hidden))
    objectives: list[tuple[str, int, str]] = []
    terms: list[dict[int, float]] = []
    for i in target_rows:
        wanted = []
        if unknown[i]:
            wanted.append(("n", {i: 1.0}))
        if unknown[n + i]:
            wanted.append(("d", {n + i: 1.0}))
        wanted.append(("c", {n + i: 1.0, i: -1.0}))
        for what, coef in wanted:
            objectives.append(("cell", int(i), what))
            terms.append(coef)
    for s, (_, members) in enumerate(set_items):
        rows_s = members % n
        for what in ("n", "d", "c"):
            coef: dict[int, float] = {}
            for r in rows_s:
                for v, a in {"n": {r: 1.0}, "d": {n + r: 1.0}, "c": {n + r: 1.0, r: -1.0}}[
                    what
                ].items():
                    coef[int(v)] = coef.get(int(v), 0.0) + a
            objectives.append(("set", s, what))
            terms.append(coef)
    k_obj = len(objectives)
    o_r, o_c, o_a = [], [], []
    consts = np.zeros(k_obj)
    for k, coef in enumerate(terms):
        for v, a in coef.items():
            if unknown[v]:
                o_r.append(k)
                o_c.append(local[v])
                o_a.append(a)
            else:
                consts[k] += a * value[v]
    objective_matrix = sparse.csr_matrix((o_a, (o_r, o_c)), shape=(k_obj, n_free))
    has_var = np.diff(objective_matrix.indptr) > 0
    obj_comp = np.full(k_obj, -1)
    obj_comp[has_var] = comp[objective_matrix.indices[objective_matrix.indptr[:-1][has_var]]]
    is_cell = np.array([o[0] == "cell" for o in objectives], dtype=bool)
    limit = np.array([0.0 if o[0] == "cell" else (min_n if o[2] == "d" else 1) for o in objectives])

    low_seen = np.where(has_var, np.inf, consts)
    high_seen = np.where(has_var, -np.inf, consts)

    def see(x: np.ndarray, mask: np.ndarray | slice = slice(None)) -> None:
        """Record a feasible point's values (of the objectives in ``mask``)."""
        values = objective_matrix[mask] @ x + consts[mask]
        low_seen[mask] = np.minimum(low_seen[mask], values)
        high_seen[mask] = np.maximum(high_seen[mask], values)

    def settled() -> np.ndarray:
        return np.where(is_cell, high_seen - low_seen >= spread, high_seen >= limit)

    def problem_of(c_id) -> tuple[_Problem, np.ndarray]:
        """The program of one group (or of several, ``c_id`` an array)."""
        cols = np.flatnonzero(np.isin(comp, c_id))
        eq_sel = np.flatnonzero(np.isin(eq_comp, c_id))
        ub_sel = np.flatnonzero(np.isin(ub_comp, c_id))
        A_eq = A_eq_all[eq_sel][:, cols] if len(eq_sel) else None
        A_ub = A_ub_all[ub_sel][:, cols] if len(ub_sel) else None
        b_eq = b_eq_all[eq_sel] if len(eq_sel) else None
        b_ub = b_ub_all[ub_sel] if len(ub_sel) else None
        lo_c, up_c = lower[free_vars[cols]], upper[free_vars[cols]]
        return _Problem(A_eq, b_eq, A_ub, b_ub, lo_c, up_c, presolve_first=not exact), cols

    low = np.where(has_var, np.nan, consts)
    high = np.where(has_var, np.nan, consts)
    whole = _Problem(
        A_eq_all if A_eq_all.shape[0] else None,
        b_eq_all if A_eq_all.shape[0] else None,
        A_ub_all if A_ub_all.shape[0] else None,
        b_ub_all if A_ub_all.shape[0] else None,
        lower[free_vars],
        upper[free_vars],
    )
    n_comp = int(comp.max()) + 1 if n_free else 0

    def integral(x: np.ndarray) -> np.ndarray:
        """Per group: is the point integral there (then it is an integer point of it)?"""
        off = np.bincount(comp, weights=np.abs(x - np.round(x)) > 1e-6, minlength=n_comp)
        return off == 0

    if not exact and has_var.any():
        # Feasible points of the linear program over every group at once (the sums of
        # all numerators, denominators and complements, maximised and minimised) settle
        # most values in a few calls.
        kinds = np.array([o[2] for o in objectives])
        for what in ("n", "d", "c"):
            chosen = has_var & (kinds == what)
            if not chosen.any():
                continue
            direction = np.asarray(objective_matrix[chosen].sum(axis=0)).ravel()
            for maximize in (True, False):
                x = whole.point(direction, maximize=maximize)
                if x is not None:
                    see(np.round(x), np.flatnonzero(has_var & integral(x)[np.maximum(obj_comp, 0)]))

    # Optima in waves: the groups are independent, so one linear program over all of them,
    # whose objective adds one wanted optimum of each group, gives every group's optimum
    # at once (a group where the vertex is fractional is solved on its own as an integer
    # program). The number of calls grows with the values of the largest group, not with
    # the number of groups.
    tasks: dict[int, list[tuple[int, bool]]] = {}
    for k in np.flatnonzero(has_var):
        for maximize in (True, False) if is_cell[k] else (True,):
            tasks.setdefault(int(obj_comp[k]), []).append((int(k), maximize))
    members_of: dict[int, np.ndarray] = {}
    problems: dict[int, tuple[_Problem, np.ndarray]] = {}

    def alone(c_id: int, k: int, maximize: bool) -> float:
        """Group c_id's own optimum of objective k (the audit's one-group solve)."""
        if c_id not in problems:
            problems[c_id] = problem_of(c_id)
        problem, cols = problems[c_id]
        vec = objective_matrix[k][:, cols].toarray().ravel()
        best, x = problem.optimum(vec, maximize=maximize)
        if x is not None:
            full = np.zeros(n_free)
            full[cols] = x
            see(full, members_of[c_id])
        return best

    while tasks:
        wave = []
        for c_id in list(tasks):
            queue = tasks[c_id]
            while queue and not exact and settled()[queue[0][0]]:
                queue.pop(0)
            if not queue:
                del tasks[c_id]
                continue
            wave.append((c_id, *queue.pop(0)))
            if c_id not in members_of:
                members_of[c_id] = np.flatnonzero(obj_comp == c_id)
        if not wave:
            break
        direction = np.zeros(n_free)
        for _, k, maximize in wave:
            row = objective_matrix[k]
            direction[row.indices] += row.data if maximize else -row.data
        x = whole.point(direction, maximize=True, presolve=False) if len(wave) > 1 else None
        good = integral(x) if x is not None else np.zeros(n_comp, dtype=bool)
        if x is not None:
            xr = np.round(x)
            see(xr, np.flatnonzero(has_var & good[np.maximum(obj_comp, 0)]))
        rest = [(c_id, k, m) for c_id, k, m in wave if not good[c_id]]
        xi = None
        if len(rest) > 1:  # the groups left, as one integer program
            problem, cols = problem_of(np.array([c for c, _, _ in rest]))
            xi_c = problem._integer(-direction[cols])
            if xi_c is not None:
                xi = np.zeros(n_free)
                xi[cols] = xi_c
                see(xi, np.flatnonzero(np.isin(obj_comp, [c for c, _, _ in rest])))
        for c_id, k, maximize in wave:
            if good[c_id]:
                best = float((objective_matrix[k] @ xr)[0])
            elif xi is not None:
                best = float((objective_matrix[k] @ xi)[0])
            else:
                best = alone(c_id, k, maximize)
            if maximize:
                high[k] = best + consts[k]
            else:
                low[k] = best + consts[k]
    if not exact:
        ok = settled()
        low = np.where(ok & has_var, low_seen, low)
        high = np.where(ok & has_var, high_seen, high)
        low = np.where(np.isnan(low) & ~is_cell, low_seen, low)
    bad = np.where(is_cell, ~(high - low >= spread), ~(high >= limit))
    cell_records = [
        (ref, what, low[k], high[k], bool(bad[k]))
        for k, (kind, ref, what) in enumerate(objectives)
        if kind == "cell"
    ]
    set_records = [
        (ref, what, low[k], high[k], bool(bad[k]))
        for k, (kind, ref, what) in enumerate(objectives)
        if kind == "set"
    ]
    exposed_groups = [free_vars[comp == c] for c in np.unique(obj_comp[bad & has_var])]
    exposed_values = [
        free_vars[np.unique(objective_matrix[np.flatnonzero(bad & (obj_comp == c))].indices)]
        for c in np.unique(obj_comp[bad & has_var])
    ]
    if (bad & ~has_var).any():  # a value fixed by published numbers alone
        for k in np.flatnonzero(bad & ~has_var):
            kind, ref, what = objectives[k]
            row = ref if kind == "cell" else int(set_items[ref][1][0] % n)
            exposed_groups.append(np.array([row if what == "n" else n + row]))
            exposed_values.append(exposed_groups[-1])

    cells = pd.DataFrame(cell_records, columns=["row", "value", "low", "high", "exposed"])
    sets_frame = pd.DataFrame(set_records, columns=["set", "value", "low", "high", "exposed"])
    if len(sets_frame):
        sets_frame["rows"] = [tuple(int(r) for r in set_items[s][1] % n) for s in sets_frame["set"]]
        sets_frame["kind"] = [
            "numerator" if set_items[s][0] == 0 else "denominator" for s in sets_frame["set"]
        ]
    else:
        sets_frame["rows"] = []
        sets_frame["kind"] = []
    return _Attack(cells, sets_frame, exposed_groups, exposed_values)


# --- the audit of what a report publishes ----------------------------------------------------

_FACT_COLUMNS = {
    "numerator": ("numerator",),
    "denominator": ("denominator", "n", "n_students", "cohort"),
    "rate": ("rate",),
    "rate_low": ("rate_low",),
    "rate_high": ("rate_high",),
}


@dataclass(frozen=True)
class AuditResult:
    """What :func:`audit_disclosure` found.

    Attributes
    ----------
    table : DataFrame
        One row per withheld value: the cell's keys (``partnership, unit, outcome, time,
        dimension, group``), ``value`` (``numerator``, ``denominator`` or ``complement``),
        ``low`` and ``high`` (the attacker's feasible integer range; ``inf`` when
        unbounded, NaN when it could not be verified), ``exposed`` (the range spans fewer
        than ``spread`` students) and ``reason`` (in words, empty when safe).
    sets : DataFrame
        One row per isolated set of withheld cells (the withheld part of a published sum):
        ``cells`` (the groups, joined), the keys of the sum, ``value``, ``low``, ``high``,
        ``exposed`` and ``reason`` (under ``min_n`` students, or all-or-none).
    safe : bool
        No value and no set is exposed.
    sources : list of str
        What was parsed (file names, or ``table 0`` for tables passed in).
    settings : dict
    """

    table: pd.DataFrame
    sets: pd.DataFrame
    safe: bool
    sources: list[str]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame:
        """Counts: ``withheld_values``, ``exposed_values``, ``sets``, ``exposed_sets``."""
        return pd.DataFrame(
            {
                "withheld_values": [len(self.table)],
                "exposed_values": [int(self.table["exposed"].sum()) if len(self.table) else 0],
                "sets": [len(self.sets)],
                "exposed_sets": [int(self.sets["exposed"].sum()) if len(self.sets) else 0],
            }
        )

    @property
    def exposed(self) -> pd.DataFrame:
        """The exposed values and sets, described (no withheld value is shown)."""
        cells = self.table[self.table["exposed"]] if len(self.table) else self.table
        return cells

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: safe, counts, sources, settings, and the exposed cells' keys and reasons."""
        cells = self.exposed
        keys = [c for c in (*_KEYS, "value", "reason") if c in cells]
        return {
            "safe": bool(self.safe),
            **{k: int(v) for k, v in self.summary.iloc[0].items()},
            "sources": list(self.sources),
            "settings": dict(self.settings),
            "exposed": cells[keys].astype(str).to_dict("records"),
        }

    def __repr__(self) -> str:
        s = self.summary.iloc[0]
        return (
            f"AuditResult(safe={self.safe}, withheld_values={s['withheld_values']}, "
            f"exposed_values={s['exposed_values']}, exposed_sets={s['exposed_sets']})"
        )


def _percent(series: pd.Series) -> pd.Series:
    """Numbers, reading '85.2%' as 0.852 (a column with any % is read as percent)."""
    if series.dtype == object or pd.api.types.is_string_dtype(series):
        text = series.astype(str).str.strip()
        if text.str.endswith("%").any():
            return pd.to_numeric(text.str.rstrip("%"), errors="coerce") / 100
    return pd.to_numeric(series, errors="coerce")


def _facts(frame: pd.DataFrame) -> pd.DataFrame | None:
    """A published table's rows as facts about cells, or None when it names no cell."""
    columns = {str(c).strip().lower(): c for c in frame.columns}
    time = "year" if "year" in columns else "period" if "period" in columns else None
    if time is None or "group" not in columns or "outcome" not in columns:
        return None
    out = pd.DataFrame(index=frame.index)
    for key in ("partnership", "unit", "outcome", "dimension", "group"):
        out[key] = frame[columns[key]] if key in columns else ""
    out["time"] = frame[columns[time]]
    found = False
    for name, aliases in _FACT_COLUMNS.items():
        source = next((columns[a] for a in aliases if a in columns), None)
        if source is None:
            out[name] = np.nan
            continue
        found = True
        values = (
            _percent(frame[source])
            if name.startswith("rate")
            else pd.to_numeric(frame[source], errors="coerce")
        )
        out[name] = values.to_numpy(dtype="float64", na_value=np.nan)
    if not found:
        return None
    out["suppressed"] = (
        frame[columns["suppressed"]].astype(str).str.lower().isin(["true", "1", "yes"])
        if "suppressed" in columns
        else False
    )
    return out


def _records(value: Any) -> list[pd.DataFrame]:
    """Every list of records and every record inside a JSON value."""
    found = []
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        found.append(pd.DataFrame(value))
    elif isinstance(value, Mapping):
        if all(not isinstance(v, list | Mapping) for v in value.values()):
            found.append(pd.DataFrame([value]))
        for v in value.values():
            found.extend(_records(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_records(v))
    return found


def _html_tables(text: str) -> list[pd.DataFrame]:
    """Every ``<table>`` of an HTML text (none when it has none)."""
    import io

    if "<table" not in text:
        return []
    try:
        return pd.read_html(io.StringIO(text))
    except ValueError:  # no table pandas can read
        return []


def _notebook_tables(path: Path) -> list[pd.DataFrame]:
    """The tables in the ``text/html`` data of an executed notebook's outputs."""
    import nbformat

    tables = []
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                tables.extend(_html_tables("".join(html) if isinstance(html, list) else html))
    return tables


#: File types a report folder is read for (module notes).
_READ = (".csv", ".xlsx", ".json", ".ipynb", ".html", ".htm")


def _published(source: Any) -> tuple[list[pd.DataFrame], list[str]]:
    """Tables that a folder, file, table or list of them publishes, and their names."""
    if isinstance(source, pd.DataFrame):
        return [source], ["table"]
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"nothing to audit at {path}")
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            tables, names = [], []
            for file in files:
                t, nm = _published(file) if file.suffix.lower() in _READ else ([], [])
                tables += t
                names += nm
            return tables, names
        suffix = path.suffix.lower()
        if suffix == ".csv":
            return [pd.read_csv(path)], [path.name]
        if suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None)
            return list(sheets.values()), [f"{path.name}:{s}" for s in sheets]
        if suffix == ".json":
            records = _records(json.loads(path.read_text(encoding="utf-8")))
            return records, [f"{path.name}[{i}]" for i in range(len(records))]
        if suffix == ".ipynb":
            tables = _notebook_tables(path)
            return tables, [f"{path.name} output {i}" for i in range(len(tables))]
        if suffix in (".html", ".htm"):
            tables = _html_tables(path.read_text(encoding="utf-8", errors="replace"))
            return tables, [f"{path.name} table {i}" for i in range(len(tables))]
        return [], []
    if isinstance(source, Iterable):
        tables, names = [], []
        for i, item in enumerate(source):
            t, nm = _published(item)
            tables += t
            names += [f"table {i}" if n == "table" else n for n in nm]
        return tables, names
    raise TypeError(
        f"audit_disclosure reads a folder, files or DataFrames, not {type(source).__name__}"
    )


def audit_disclosure(
    source: str | os.PathLike[str] | pd.DataFrame | Sequence[Any],
    *,
    min_n: int = 10,
    spread: int = DEFAULT_SPREAD,
    links: Iterable[tuple[str, str]] | None = None,
    partitions: Iterable[str] | None = None,
    units_partition: bool | None = None,
) -> AuditResult:
    """Feasible range of every withheld count, given everything published.

    Parameters
    ----------
    source : path, DataFrame or sequence of them
        A report folder (every CSV, workbook, JSON file, notebook and HTML page in it, at
        any depth: see "What is read" in the module notes), one such file, a published
        table, or a list of these.
    min_n : int
        Smallest group that may be published (default 10): an isolated set with certainly
        fewer students is exposed.
    spread : int
        A withheld value whose feasible range spans fewer students is exposed (default 3:
        determined to within one student).
    links, partitions, units_partition
        As in :func:`~c2c_analysis.privacy.suppress` (defaults: the catalogue's outcome
        links and partitions; school units add up to their partnership where counts leave
        it open).

    Returns
    -------
    AuditResult
        ``.table`` (every withheld value's range), ``.sets``, ``.safe``.

    Notes
    -----
    Each fact is a linear constraint on non-negative integer counts (``0 <= n <= d``):
    published counts fix a value, a rate ``r`` printed with ``k`` decimals gives
    ``|n - r d| <= 0.5 10^-k d``, a range gives ``low d <= n <= high d``, and the links give
    equations and inequalities (module notes). The range of each withheld value is the
    minimum and maximum of a linear program; a fractional optimum is solved again as an
    integer program. Conflicting facts about one cell keep the first.

    Examples
    --------
    >>> import pandas as pd
    >>> published = pd.DataFrame({
    ...     "partnership": "p", "outcome": "hs_graduation", "year": 2019,
    ...     "dimension": ["all", "race_ethnicity", "race_ethnicity", "race_ethnicity"],
    ...     "group": ["All students", "Asian", "Black", "White"],
    ...     "numerator": [170, None, 40, 125], "denominator": [200, None, 50, 144]})
    >>> result = audit_disclosure(published)
    >>> result.safe
    False
    >>> print(result.table[["group", "value", "low", "high"]].to_string(index=False))
    group       value  low  high
    Asian   numerator  5.0   5.0
    Asian denominator  6.0   6.0
    Asian  complement  1.0   1.0
    """
    tables, names = _published(source)
    facts = [f for f in (_facts(t) for t in tables) if f is not None]
    used = [nm for nm, t in zip(names, tables, strict=True) if _facts(t) is not None]
    settings = {"min_n": min_n, "spread": spread}
    empty_cells = pd.DataFrame(columns=[*_KEYS, "value", "low", "high", "exposed", "reason"])
    if not facts:
        return AuditResult(empty_cells, pd.DataFrame(), True, used, settings)
    allf = pd.concat(facts, ignore_index=True)
    for key in _KEYS:
        allf[key] = allf[key].astype(object).where(allf[key].notna(), "").astype(str)
    # Dimension from another table when a table names only the group.
    known_dims = (
        allf[allf["dimension"] != ""]
        .drop_duplicates(["outcome", "group"])
        .set_index(["outcome", "group"])["dimension"]
    )
    blank = allf["dimension"] == ""
    if blank.any():
        fill = pd.MultiIndex.from_frame(allf.loc[blank, ["outcome", "group"]]).map(
            lambda k: known_dims.get(k, "all" if k[1] == ALL_STUDENTS else "")
        )
        allf.loc[blank, "dimension"] = list(fill)
    grouped = allf.groupby(list(_KEYS), sort=False)
    merged = grouped.agg(
        numerator=("numerator", "first"),
        denominator=("denominator", "first"),
        rate_low=("rate_low", "max"),
        rate_high=("rate_high", "min"),
    )
    rate = grouped["rate"].first()
    merged = merged.reset_index()
    know0 = _knowledge_from_table(
        merged.assign(rate=rate.to_numpy(), rate_low=np.nan, rate_high=np.nan)
    )
    low = np.fmax(know0.rate_low, merged["rate_low"].to_numpy())
    high = np.fmin(know0.rate_high, merged["rate_high"].to_numpy())
    keys, virtual = _with_totals(merged[list(_KEYS)])
    extra = len(keys) - len(merged)
    pad = np.full(extra, np.nan)
    num = np.r_[merged["numerator"].to_numpy(dtype="float64"), pad]
    den = np.r_[merged["denominator"].to_numpy(dtype="float64"), pad]
    structure = _structure(
        keys,
        num,
        den,
        partitions=PARTITIONS if partitions is None else partitions,
        links=OUTCOME_LINKS if links is None else tuple(links),
        units_partition=units_partition,
    )
    know = _Knowledge(num, den, np.r_[low, pad], np.r_[high, pad])
    targets = ~virtual & (~np.isfinite(num) | ~np.isfinite(den))
    attack = _attack(structure, know, targets, min_n=min_n, spread=spread, exact=True)
    names_map = {"n": "numerator", "d": "denominator", "c": "complement"}
    cells = attack.cells
    table = pd.concat(
        [keys.iloc[cells["row"].to_numpy()].reset_index(drop=True), cells.drop(columns="row")],
        axis=1,
    )
    table["value"] = table["value"].map(names_map)
    table["reason"] = np.where(
        table["exposed"],
        np.where(
            table["high"].isna(),
            "its range could not be verified",
            f"determined to within {spread - 1} students",
        ),
        "",
    )
    sets = attack.sets
    if len(sets):
        first = sets["rows"].map(lambda r: r[0]).to_numpy()
        base = keys.iloc[first][
            ["partnership", "unit", "outcome", "time", "dimension"]
        ].reset_index(drop=True)
        groups = sets["rows"].map(lambda r: ", ".join(keys["group"].to_numpy()[list(r)]))
        sets = pd.concat([base, sets.drop(columns=["set"]).reset_index(drop=True)], axis=1)
        sets.insert(5, "cells", groups.to_numpy())
        sets["value"] = sets["value"].map(names_map)
        sets["reason"] = np.where(
            sets["exposed"],
            np.where(
                sets["value"] == "denominator",
                f"certainly fewer than {min_n} students",
                "all-or-none outcome",
            ),
            "",
        )
        sets = sets.drop(columns=["rows"])
    safe = not bool(table["exposed"].any()) and not (len(sets) and bool(sets["exposed"].any()))
    return AuditResult(table, sets, safe, used, settings)
