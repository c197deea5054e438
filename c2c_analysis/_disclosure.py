"""The attacker of the disclosure audit (private module, public names).

The linked structure of an outcome table (partitions, outcome links, school units), what is
known about each cell, and the integer-programming attack that finds the feasible range of
every withheld count: shared by :func:`~c2c_analysis.audit.audit_disclosure` (the audit of
what a report publishes) and :func:`~c2c_analysis.privacy.suppress` (which runs the same
attacker on its own choice of cells). The method is described in :mod:`c2c_analysis.audit`.

References
----------
Hundepool, A., Domingo-Ferrer, J., Franconi, L., Giessing, S., Nordholt, E. S., Spicer, K.,
& de Wolf, P.-P. (2012). *Statistical Disclosure Control*. Wiley. Chapter 4.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from c2c_analysis._arrays import group_codes
from c2c_analysis.schema import ALL_STUDENTS

__all__ = [
    "DEFAULT_SPREAD",
    "KEYS",
    "Attack",
    "Knowledge",
    "Structure",
    "run_attack",
    "key_frame",
    "knowledge",
    "knowledge_from_table",
    "linked_structure",
    "with_totals",
]

#: A withheld value whose feasible range spans fewer than this many students is exposed
#: (``spread=3``: determined to within one student either side).
DEFAULT_SPREAD = 3

KEYS = ("partnership", "unit", "outcome", "time", "dimension", "group")


# --- the linked structure ------------------------------------------------------------------


@dataclass(frozen=True)
class Structure:
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


def key_frame(table: pd.DataFrame, time: str) -> pd.DataFrame:
    """The key columns as plain text (missing keys become '')."""
    out = pd.DataFrame(index=range(len(table)))
    for key in KEYS:
        column = time if key == "time" else key
        if column in table:
            values = table[column].to_numpy()
            out[key] = pd.Series(values).astype(object).where(pd.notna(values), "").astype(str)
        else:
            out[key] = ""
    return out


def with_totals(keys: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
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
    missing = missing.assign(dimension="all", group=ALL_STUDENTS)[list(KEYS)]
    out = pd.concat([keys, missing], ignore_index=True)
    return out, np.r_[np.zeros(len(keys), dtype=bool), np.ones(len(missing), dtype=bool)]


def linked_structure(
    keys: pd.DataFrame,
    num: np.ndarray,
    den: np.ndarray,
    *,
    partitions: Iterable[str],
    links: Iterable[tuple[str, str]],
    units_partition: bool | None,
) -> Structure:
    """Equations and inequalities among the rows' counts (``num``/``den``: what is known,
    NaN where not, used to decide which dimensions and units partition their total)."""
    # Long because the three kinds of links (partitions, outcome links, school units)
    # build the one list of equations and inequalities over the same variable numbering.
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
        cols: Sequence[str] = ("partnership", "outcome", "time", "dimension", "group")
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
    return Structure(n, eqs, ineqs, sets, linked, decided)


# --- the attacker ---------------------------------------------------------------------------


@dataclass
class Knowledge:
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


def knowledge(num, den, rate, rate_low, rate_high) -> Knowledge:
    """What published columns tell about each row: the counts, and the rate's bounds (an
    exact rate is known to half a unit in its last printed decimal, a range to its ends).
    The one reading of a published row, used by the audit and by suppression's check."""
    tol = _rate_tolerance(rate)
    exact = np.isfinite(rate)
    low = np.where(exact, np.fmax(rate - tol, np.nan_to_num(rate_low, nan=-np.inf)), rate_low)
    high = np.where(exact, np.fmin(rate + tol, np.nan_to_num(rate_high, nan=np.inf)), rate_high)
    low = np.where(np.isinf(low), np.nan, low)
    high = np.where(np.isinf(high), np.nan, high)
    return Knowledge(num, den, low, high)


def knowledge_from_table(frame: pd.DataFrame) -> Knowledge:
    """Published facts of canonical-like rows (numerator/denominator/rate/rate_low/rate_high)."""

    def column(name: str) -> np.ndarray:
        if name not in frame:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[name], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )

    return knowledge(
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
        self._bounds = np.c_[lower, np.where(np.isinf(upper), None, upper)]
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
            result = self._relaxation(sign * c, presolve)
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

    def _relaxation(self, c: np.ndarray, presolve: bool):
        """HiGHS on the linear relaxation, minimising c @ x."""
        return linprog(
            c,
            A_ub=self.A_ub,
            b_ub=self.b_ub,
            A_eq=self.A_eq,
            b_eq=self.b_eq,
            bounds=self._bounds,
            method="highs",
            options={"presolve": presolve},
        )

    def point(self, c: np.ndarray, *, maximize: bool, presolve: bool = True) -> np.ndarray | None:
        """A verified feasible vertex of the linear program optimising c @ x (possibly
        fractional); None when none could be verified. With presolve on it serves only as
        a feasible point; with presolve off its value in a group where it is integral is
        that group's integer optimum."""
        result = self._relaxation(-c if maximize else c, presolve)
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
class Attack:
    """Ranges of withheld values (``cells``) and of isolated sets (``sets``), the exposed
    ones, and for each connected group with an exposed value its unknown variables
    (``exposed_groups``) and those of its exposed values (``exposed_values``)."""

    cells: pd.DataFrame
    sets: pd.DataFrame
    exposed_groups: list[np.ndarray] = field(default_factory=list)
    exposed_values: list[np.ndarray] = field(default_factory=list)


def run_attack(
    structure: Structure,
    know: Knowledge,
    targets: np.ndarray,
    *,
    min_n: int,
    spread: int = DEFAULT_SPREAD,
    exact: bool = True,
    rows: np.ndarray | None = None,
) -> Attack:
    """The attacker's integer ranges of the targets' numerators, denominators and
    complements, and of the isolated sets.

    With ``exact=False`` (suppression's check) a value is settled as soon as feasible integer
    points show it is not exposed: first a few integer programs over every connected group
    at once (the sums of all numerators, denominators and complements, maximised and
    minimised: six solver calls however many groups there are), then one call per value
    still unsettled. The ranges are then inner bounds; the verdicts are the exact audit's."""
    # Long because the attack is one algorithm over shared solver state (components,
    # constraint matrices, settled values): bounds, checks and isolated sets.
    n = structure.n_rows
    value = np.r_[know.num, know.den]
    unknown = ~np.isfinite(value)
    keep = np.zeros(n, dtype=bool)
    if rows is None:
        keep[:] = True
    else:
        keep[rows] = True

    # Constraint rows over the unknown variables, with known values moved to the right.
    # (variables, coefs, rhs)
    eq_rows: list[tuple[np.ndarray, np.ndarray, float]] = []
    ub_rows: list[tuple[np.ndarray, np.ndarray, float]] = []
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
    for target in target_rows:
        t = int(target)
        wanted: list[tuple[str, dict[int, float]]] = []
        if unknown[t]:
            wanted.append(("n", {t: 1.0}))
        if unknown[n + t]:
            wanted.append(("d", {n + t: 1.0}))
        wanted.append(("c", {n + t: 1.0, t: -1.0}))
        for what, cell_coef in wanted:
            objectives.append(("cell", t, what))
            terms.append(cell_coef)
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
    for k in np.flatnonzero(has_var).tolist():
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
        for k in np.flatnonzero(bad & ~has_var).tolist():
            obj_kind, ref, what = objectives[k]
            row = ref if obj_kind == "cell" else int(set_items[ref][1][0] % n)
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
    return Attack(cells, sets_frame, exposed_groups, exposed_values)
