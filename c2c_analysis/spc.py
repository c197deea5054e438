"""Run charts and control charts for one series or a million.

Every chart is computed by one engine that works on many series at once with group-wise
numpy operations (sorting, run-length encoding, ``bincount``): :func:`run_chart` and
:func:`control_chart` run it on one series, :func:`spc_table` on every series of a table.

Rules
-----
``anhoej`` (default; Anhøj & Olesen 2014): points on the centre line neither count nor break a
run; a signal is a longest run above round(log2(n_useful)) + 3, or fewer crossings of the
centre line than the 5% quantile of Binomial(n_useful − 1, 0.5).

``ihi`` (Provost & Murray 2011, Perla et al. 2011): a shift of 6 or more points on one side of
the median (points on it skipped), a trend of 5 or more points rising or falling (ties
skipped), too few or too many runs by the exact distribution of the number of runs
(Swed & Eisenhart 1943, 5% two-sided), and astronomical points where the user names them.

``nhs`` (NHS England "Making Data Count"): points beyond the limits; 7 or more in a row on one
side of the mean (a point on the mean breaks it); 7 or more rising or falling; two of three
consecutive points beyond 2σ on the same side. With ``improvement`` each point is special
cause improvement, special cause concern, or common cause, and the summary gives the
variation and assurance (target against limits) that the NHS icons show.

Sigma signals are strict: beyond, not on, a limit.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import comb

from c2c_analysis._util import group_codes, json_safe

__all__ = ["CHARTS", "SPCResult", "control_chart", "run_chart", "runs_limits", "spc_table"]

CHARTS = ("run", "i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s")
_D2 = 1.128  # d2 for moving ranges of two points
_D4 = 3.267  # upper limit factor of the MR chart (3 sigma)
TABLE_COLUMNS = (
    "x",
    "y",
    "n",
    "part",
    "center",
    "lower",
    "upper",
    "sigma_signal",
    "runs_signal",
    "included",
)
SUMMARY_COLUMNS = (
    "part",
    "n_points",
    "n_useful",
    "longest_run",
    "longest_run_max",
    "n_crossings",
    "n_crossings_min",
    "runs_signal",
    "n_sigma_signals",
)


@dataclass(frozen=True, repr=False)
class SPCResult:
    """A run or control chart.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup: ``x, y, n, part, center, lower, upper, sigma_signal,
        runs_signal, included`` (``lower``/``upper`` are NaN on run charts; ``y`` is the
        plotted value; ``runs_signal`` is the phase's runs signal, repeated on its points;
        with ``rules="nhs"`` also ``nhs_class``).
    summary : DataFrame
        One row per phase: ``part, n_points, n_useful, longest_run, longest_run_max,
        n_crossings, n_crossings_min, runs_signal, n_sigma_signals`` (and the IHI or NHS
        rule columns for those rules).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def plot(self, ax=None):
        """The chart: centre line, limits, phases, signals highlighted."""
        from c2c_analysis.plotting import plot_spc

        return plot_spc(self, ax=ax)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: settings and the per-phase summary."""
        return {"settings": json_safe(self.settings), "summary": json_safe(self.summary)}

    def _repr_html_(self) -> str:
        return (
            f"<p>{self.settings.get('chart')} chart ({self.settings.get('rules')} rules)</p>"
            + self.summary.to_html(index=False)
        )

    def __repr__(self) -> str:
        return (
            f"SPCResult(chart={self.settings.get('chart')!r}, "
            f"rules={self.settings.get('rules')!r})\n" + self.summary.to_string(index=False)
        )


# --- limits of the runs analysis ------------------------------------------------------------


def runs_limits(n_useful: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Anhøj's limits: longest run allowed and fewest crossings expected.

    Examples
    --------
    >>> [int(v) for v in runs_limits(np.array([10, 20, 24, 30]))[0]]
    [6, 7, 8, 8]
    >>> [int(v) for v in runs_limits(np.array([10, 20, 24, 30]))[1]]
    [2, 6, 8, 10]
    """
    n = np.asarray(n_useful, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        longest = np.where(n > 0, np.round(np.log2(np.maximum(n, 1))) + 3, np.nan)
        crossings = np.where(n > 1, stats.binom.ppf(0.05, np.maximum(n - 1, 1), 0.5), np.nan)
    return longest, crossings


@functools.lru_cache(maxsize=4096)
def _runs_distribution_limits(above: int, below: int, alpha: float = 0.05) -> tuple[float, float]:
    """Fewest and most runs not signalling, from the exact distribution of the number of runs
    of ``above`` and ``below`` points in random order (Swed & Eisenhart 1943)."""
    if above == 0 or below == 0:
        return math.nan, math.nan
    total = comb(above + below, above, exact=True)
    probs = {}
    for r in range(2, above + below + 1):
        k = r // 2
        if r % 2 == 0:
            ways = 2 * comb(above - 1, k - 1, exact=True) * comb(below - 1, k - 1, exact=True)
        else:
            ways = comb(above - 1, k - 1, exact=True) * comb(below - 1, k, exact=True) + comb(
                above - 1, k, exact=True
            ) * comb(below - 1, k - 1, exact=True)
        probs[r] = ways / total
    cumulative, lower = 0.0, 2
    for r in sorted(probs):
        cumulative += probs[r]
        if cumulative > alpha / 2:
            lower = r
            break
    cumulative, upper = 0.0, above + below
    for r in sorted(probs, reverse=True):
        cumulative += probs[r]
        if cumulative > alpha / 2:
            upper = r
            break
    return float(lower), float(upper)


# --- group-wise helpers ------------------------------------------------------------------------


def _segments(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Length of the run each position belongs to, where a run is consecutive positions with
    the same key and the same non-zero value (zeros must have been removed)."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=int)
    start = np.ones(n, dtype=bool)
    start[1:] = (keys[1:] != keys[:-1]) | (values[1:] != values[:-1])
    run_id = np.cumsum(start) - 1
    lengths = np.bincount(run_id)
    return lengths[run_id]


def _group_max(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=float)
    if len(keys):
        np.maximum.at(out, keys, values)
    return out


def _group_median(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Median of each group (NaN for empty groups), by one sort over all groups."""
    ok = np.isfinite(values)
    k, v = keys[ok], values[ok]
    order = np.lexsort((v, k))
    k, v = k[order], v[order]
    counts = np.bincount(k, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    out = np.full(size, np.nan)
    has = counts > 0
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    out[has] = (v[lo[has]] + v[hi[has]]) / 2
    return out


def _group_sum(keys, values, size):
    return np.bincount(keys, weights=values, minlength=size)


def _moving_ranges(series_keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|y_i − y_{i−1}| within each group (NaN for a group's first point), and its group."""
    mr = np.full(len(values), np.nan)
    same = np.zeros(len(values), dtype=bool)
    same[1:] = series_keys[1:] == series_keys[:-1]
    mr[1:] = np.abs(values[1:] - values[:-1])
    mr[~same] = np.nan
    return mr, series_keys


def _mean_mr(
    keys: np.ndarray, mr: np.ndarray, use: np.ndarray, size: int, screen: bool
) -> np.ndarray:
    ok = use & np.isfinite(mr)
    total = _group_sum(keys[ok], mr[ok], size)
    count = np.bincount(keys[ok], minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / count
    if screen:
        # Nelson's screening: leave out moving ranges above 3.267 x their mean, once.
        keep = ok & (mr <= _D4 * mean[keys])
        total = _group_sum(keys[keep], mr[keep], size)
        count = np.bincount(keys[keep], minlength=size)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = total / count
    return mean


# --- the engine --------------------------------------------------------------------------------


def _engine(
    frame: pd.DataFrame,
    *,
    chart: str,
    rules: str,
    sigma: float,
    screen_mr: bool,
    cl: float | None,
    improvement: str | None,
    target: float | None,
    astronomical: Sequence[Any] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame``: one row per subgroup with _sid (series), _part (phase label), _order
    (position), x, y, n, s (subgroup sd for xbar/s), m (subgroup size), included, baseline.
    Rows are sorted by _sid, _order. Returns the point table and the phase summary."""
    pid, first_row = group_codes(frame["_sid"].to_numpy(), frame["_part"].to_numpy())
    n_phases = len(first_row)
    y = frame["y"].to_numpy(dtype=float)
    n = frame["n"].to_numpy(dtype=float)
    included = frame["included"].to_numpy(dtype=bool) & np.isfinite(y)
    base = included & frame["baseline"].to_numpy(dtype=bool)
    # Phases without baseline points (a freeze before the phase began) use all their points.
    has_base = np.bincount(pid[base], minlength=n_phases) > 0
    base = base | (included & ~has_base[pid])
    # A moving range counts only when both of its points do (an excluded point, or one after
    # the freeze, takes its two moving ranges out of the sigma estimate).
    mr_use = base & np.r_[False, base[:-1]]

    center = np.full(n_phases, np.nan)
    spread = np.full(len(frame), np.nan)  # sigma of each point
    plotted = y.copy()
    if chart == "run":
        center = _group_median(pid[base], y[base], n_phases)
    elif chart in ("i", "t"):
        values = y ** (1 / 3.6) if chart == "t" else y
        plotted = values
        mr, _ = _moving_ranges(pid, values)
        mr_bar = _mean_mr(pid, mr, mr_use, n_phases, screen_mr)
        count = np.bincount(pid[base], minlength=n_phases)
        with np.errstate(divide="ignore", invalid="ignore"):
            center = _group_sum(pid[base], values[base], n_phases) / count
        spread = (mr_bar / _D2)[pid]
    elif chart == "mr":
        mr, _ = _moving_ranges(pid, y)
        plotted = mr
        center = _mean_mr(pid, mr, mr_use, n_phases, screen_mr)
        spread = (center / _D2 * 0.8525)[pid]  # sigma of a moving range: d3 = 0.8525 for n = 2
    elif chart in ("p", "pp", "u", "up"):
        num = y * n  # y is the proportion; recover the counts
        with np.errstate(divide="ignore", invalid="ignore"):
            center = _group_sum(pid[base], num[base], n_phases) / _group_sum(
                pid[base], n[base], n_phases
            )
            if cl is not None:  # limits around the given centre line
                center = np.full(n_phases, float(cl))
            c = center[pid]
            spread = np.sqrt(c * (1 - c) / n) if chart in ("p", "pp") else np.sqrt(c / n)
        if chart in ("pp", "up"):
            # Laney: the between-subgroup variation from the moving ranges of the z-scores.
            with np.errstate(divide="ignore", invalid="ignore"):
                z = (y - c) / spread
            mr, _ = _moving_ranges(pid, z)
            sigma_z = _mean_mr(pid, mr, mr_use, n_phases, screen_mr) / _D2
            spread = spread * sigma_z[pid]
    elif chart == "c":
        count = np.bincount(pid[base], minlength=n_phases)
        with np.errstate(divide="ignore", invalid="ignore"):
            center = _group_sum(pid[base], y[base], n_phases) / count
        if cl is not None:
            center = np.full(n_phases, float(cl))
        spread = np.sqrt(center)[pid]
    elif chart == "g":
        count = np.bincount(pid[base], minlength=n_phases)
        with np.errstate(divide="ignore", invalid="ignore"):
            center = _group_sum(pid[base], y[base], n_phases) / count
        if cl is not None:
            center = np.full(n_phases, float(cl))
        spread = np.sqrt(center * (center + 1))[pid]
    elif chart in ("xbar", "s"):
        m = frame["m"].to_numpy(dtype=float)
        s_i = frame["s"].to_numpy(dtype=float)
        c4_i = _c4(m)
        ok = base & np.isfinite(s_i) & (m > 1)
        # sigma: size-weighted pooled s-bar / c4 (Montgomery 6.3.2, equal sizes reduce to s-bar/c4).
        weights = m - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            s_bar = _group_sum(pid[ok], (weights * s_i)[ok], n_phases) / _group_sum(
                pid[ok], weights[ok], n_phases
            )
            m_bar = _group_sum(pid[ok], m[ok], n_phases) / np.bincount(pid[ok], minlength=n_phases)
            sigma_hat = s_bar / _c4(m_bar)
        if chart == "xbar":
            with np.errstate(divide="ignore", invalid="ignore"):
                center = _group_sum(pid[base], (m * y)[base], n_phases) / _group_sum(
                    pid[base], m[base], n_phases
                )
                spread = sigma_hat[pid] / np.sqrt(m)
        else:
            plotted = s_i
            center = s_bar
            with np.errstate(divide="ignore", invalid="ignore"):
                spread = sigma_hat[pid] * np.sqrt(1 - c4_i**2)
                centre_i = sigma_hat[pid] * c4_i
    else:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    if cl is not None:
        center = np.full(n_phases, float(cl) ** (1 / 3.6) if chart == "t" else float(cl))
    centre_point = center[pid]
    if chart == "s":
        centre_point = np.where(np.isfinite(centre_i), centre_i, centre_point)
    lower = centre_point - sigma * spread
    upper = centre_point + sigma * spread
    if chart in ("p", "pp"):
        lower, upper = np.clip(lower, 0, 1), np.clip(upper, 0, 1)
    elif chart in ("u", "up", "c", "g", "mr", "s"):
        lower = np.maximum(lower, 0)
    if chart == "run":
        lower = upper = np.full(len(frame), np.nan)
    sigma_signal = np.isfinite(plotted) & ((plotted > upper) | (plotted < lower))

    # Runs analysis on included points against the phase's centre line.
    runs_use = included & np.isfinite(plotted)
    side = np.sign(np.where(runs_use, plotted - centre_point, 0.0))
    useful = runs_use & (side != 0)
    up_keys, up_side = pid[useful], side[useful]
    run_len = _segments(up_keys, up_side)
    n_useful = np.bincount(up_keys, minlength=n_phases)
    longest = _group_max(up_keys, run_len.astype(float), n_phases)
    changes = np.zeros(len(up_side), dtype=bool)
    changes[1:] = (up_keys[1:] == up_keys[:-1]) & (up_side[1:] != up_side[:-1])
    crossings = np.bincount(up_keys[changes], minlength=n_phases)
    longest_max, crossings_min = runs_limits(n_useful)
    summary = pd.DataFrame(
        {
            "_sid": frame["_sid"].to_numpy()[first_row],
            "part": frame["_part"].to_numpy()[first_row],
            "n_points": np.bincount(pid, minlength=n_phases),
            "n_useful": n_useful,
            "longest_run": longest.astype(int),
            "longest_run_max": longest_max,
            "n_crossings": crossings,
            "n_crossings_min": crossings_min,
        }
    )
    point_in_long_run = np.zeros(len(frame), dtype=bool)
    if rules == "anhoej":
        signal = (longest > longest_max) | (crossings < crossings_min)
        point_in_long_run[np.flatnonzero(useful)] = run_len > longest_max[up_keys]
    elif rules == "ihi":
        shift_len = run_len  # points on the median are skipped: the same runs
        shift = _group_max(up_keys, shift_len.astype(float), n_phases) >= 6
        trend_len = _trend_lengths(pid, plotted, runs_use)
        trend = _group_max(pid, trend_len, n_phases) >= 5
        above = np.bincount(up_keys[up_side > 0], minlength=n_phases)
        below = np.bincount(up_keys[up_side < 0], minlength=n_phases)
        limits = [
            _runs_distribution_limits(int(a), int(b)) if a + b <= 200 else _normal_runs_limits(a, b)
            for a, b in zip(above, below, strict=True)
        ]
        runs_min = np.array([lim[0] for lim in limits])
        runs_max = np.array([lim[1] for lim in limits])
        n_runs = np.where(n_useful > 0, crossings + 1, 0)
        too_few_many = (n_runs < runs_min) | (n_runs > runs_max)
        astro = np.zeros(n_phases, dtype=bool)
        if astronomical:
            named = frame["x"].isin(list(astronomical)).to_numpy()
            astro = np.bincount(pid[named], minlength=n_phases) > 0
        signal = shift | trend | too_few_many | astro
        summary["shift"] = shift
        summary["trend"] = trend
        summary["n_runs"] = n_runs
        summary["runs_min"] = runs_min
        summary["runs_max"] = runs_max
        summary["astronomical"] = astro
        point_in_long_run[np.flatnonzero(useful)] = shift_len >= 6
    elif rules == "nhs":
        shift_len = _segments(pid[runs_use], np.sign(plotted[runs_use] - centre_point[runs_use]))
        # A point on the mean breaks a run (unlike Anhøj): it makes its own "run" of side 0.
        side_all = np.sign(plotted[runs_use] - centre_point[runs_use])
        shift_flag = (shift_len >= 7) & (side_all != 0)
        trend_len = _trend_lengths(pid, plotted, runs_use, ties_break=True)
        beyond_two = runs_use & (np.abs(plotted - centre_point) > 2 * spread)
        two_of_three = _two_of_three(pid, np.sign(plotted - centre_point), beyond_two)
        flags = np.zeros(len(frame), dtype=bool)
        flags[np.flatnonzero(runs_use)] = shift_flag
        flags |= trend_len >= 7
        flags |= two_of_three
        flags |= sigma_signal
        signal = np.bincount(pid[flags], minlength=n_phases) > 0
        point_in_long_run = flags
        summary["n_shift_points"] = np.bincount(pid[runs_use][shift_flag], minlength=n_phases)
        summary["n_trend_points"] = np.bincount(pid[trend_len >= 7], minlength=n_phases)
        summary["n_two_of_three"] = np.bincount(pid[two_of_three], minlength=n_phases)
    else:
        raise ValueError("rules must be 'anhoej', 'ihi' or 'nhs'")
    summary["runs_signal"] = signal
    summary["n_sigma_signals"] = np.bincount(pid[sigma_signal], minlength=n_phases)
    # Report the t chart on the original scale.
    if chart == "t":
        back = lambda v: np.where(np.isfinite(v), np.maximum(v, 0) ** 3.6, np.nan)  # noqa: E731
        plotted, centre_point, lower, upper = y, back(centre_point), back(lower), back(upper)
    table = pd.DataFrame(
        {
            "_sid": frame["_sid"].to_numpy(),
            "x": frame["x"].to_numpy(),
            "y": plotted,
            # Denominators when given (p/u charts, and run charts of numerators over them).
            "n": frame["m"].to_numpy(dtype=float) if chart in ("xbar", "s") else n,
            "part": frame["_part"].to_numpy(),
            "center": centre_point,
            "lower": lower,
            "upper": upper,
            "sigma_signal": sigma_signal,
            "runs_signal": signal[pid],
            "included": frame["included"].to_numpy(dtype=bool),
            "in_signal_run": point_in_long_run,
        }
    )
    if rules == "nhs":
        table["nhs_class"] = _nhs_classes(table, flags, improvement)
        summary = summary.merge(
            _nhs_summary(table, pid, n_phases, improvement, target),
            left_index=True,
            right_index=True,
        )
    return table, summary


def _c4(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore"):
        from scipy.special import gammaln

        out = np.sqrt(2 / (m - 1)) * np.exp(gammaln(m / 2) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


def _normal_runs_limits(above: int, below: int) -> tuple[float, float]:
    """For long phases the exact distribution is replaced by its normal approximation."""
    n = above + below
    mean = 2 * above * below / n + 1
    var = 2 * above * below * (2 * above * below - n) / (n**2 * (n - 1))
    half = 1.959963984540054 * math.sqrt(var)
    return math.ceil(mean - half), math.floor(mean + half)


def _trend_lengths(
    pid: np.ndarray, values: np.ndarray, use: np.ndarray, *, ties_break: bool = False
) -> np.ndarray:
    """For each point, the number of points in the rising or falling run it ends or belongs to.

    Consecutive differences are taken between used points of a phase; equal neighbours are
    skipped (IHI) or break the trend (NHS)."""
    out = np.zeros(len(values))
    idx = np.flatnonzero(use)
    if len(idx) < 2:
        return out
    k, v = pid[idx], values[idx]
    diff = np.sign(np.diff(v))
    same = k[1:] == k[:-1]
    d_idx = np.flatnonzero(same)
    d_key, d_sign = k[1:][d_idx], diff[d_idx]
    if not ties_break:
        keep = d_sign != 0
        d_idx, d_key, d_sign = d_idx[keep], d_key[keep], d_sign[keep]
    else:
        # A tie is a run of its own that no trend can span.
        d_sign = np.where(d_sign == 0, np.nan, d_sign)
    lengths = _segments(d_key, np.nan_to_num(d_sign, nan=2.0)) + 1  # n differences = n + 1 points
    if ties_break:
        lengths = np.where(np.isnan(d_sign), 0, lengths)
    # Attach each difference's run length to both points it joins.
    points = idx[d_idx + 1]
    np.maximum.at(out, points, lengths)
    np.maximum.at(out, idx[d_idx], lengths)
    return out


def _two_of_three(pid: np.ndarray, side: np.ndarray, beyond: np.ndarray) -> np.ndarray:
    """Points beyond 2σ that are two (or three) of three consecutive points of one phase
    beyond 2σ on the same side."""
    out = np.zeros(len(side), dtype=bool)
    if len(side) < 3:
        return out
    same_phase = pid[:-2] == pid[2:]
    for s in (1.0, -1.0):
        hit = beyond & (side == s)
        count = hit[:-2].astype(int) + hit[1:-1] + hit[2:]
        windows = np.flatnonzero((count >= 2) & same_phase)
        for k in range(3):
            out[windows + k] |= hit[windows + k]
    return out


def _nhs_classes(table: pd.DataFrame, flags: np.ndarray, improvement: str | None) -> np.ndarray:
    above = (table["y"] > table["center"]).to_numpy()
    classes = np.full(len(table), "common_cause", dtype=object)
    if improvement in (None, "neutral"):
        classes[flags] = "special_cause_neither"
        return classes
    good = above if improvement == "increase" else ~above
    classes[flags & good] = "special_cause_improvement"
    classes[flags & ~good] = "special_cause_concern"
    return classes


def _nhs_summary(table, pid, n_phases, improvement, target) -> pd.DataFrame:
    last = np.zeros(n_phases, dtype=int)
    last[pid] = np.arange(len(pid))  # the last point of each phase
    cls = table["nhs_class"].to_numpy()[last]
    lower = table["lower"].to_numpy()[last]
    upper = table["upper"].to_numpy()[last]
    variation = np.where(cls == "common_cause", "common_cause", cls)
    assurance = np.full(n_phases, "no_target", dtype=object)
    if target is not None and improvement in ("increase", "decrease"):
        passing_side = target <= lower if improvement == "increase" else target >= upper
        failing_side = target > upper if improvement == "increase" else target < lower
        assurance = np.where(
            passing_side,
            "consistently_passing",
            np.where(failing_side, "consistently_failing", "hit_and_miss"),
        )
    return pd.DataFrame({"variation": variation, "assurance": assurance})


# --- preparation ---------------------------------------------------------------------------------


def _prepare(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    n: str | None,
    by: Sequence[str],
    chart: str,
    part: Sequence[Any] | str | None,
    freeze: Any,
    exclude: Sequence[Any] | None,
    agg: str,
) -> pd.DataFrame:
    """One row per series and x: the plotted value and its denominator or subgroup size."""
    missing = [
        c
        for c in [y, x, *([n] if n else []), *by, *([part] if isinstance(part, str) else [])]
        if c not in data.columns
    ]
    if missing:
        from c2c_analysis.validation import DataValidationError

        raise DataValidationError(
            [
                {"row": None, "column": c, "value": "", "problem": "required column is missing"}
                for c in missing
            ]
        )
    keys = [*by, x]
    cols = {"_y": pd.to_numeric(data[y], errors="coerce")}
    if n:
        cols["_n"] = pd.to_numeric(data[n], errors="coerce")
    frame = data[keys + ([part] if isinstance(part, str) else [])].assign(**cols)
    grouped = frame.groupby(keys, sort=True, observed=True, dropna=False)
    if chart in ("xbar", "s"):
        out = grouped["_y"].agg(y="mean", s="std", m="count").reset_index()
        out["n"] = out["m"]
    elif n:
        out = grouped[["_y", "_n"]].sum(min_count=1).reset_index()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["y"] = np.where(out["_n"] > 0, out["_y"] / out["_n"], np.nan)
        out["n"] = out["_n"]
        out = out.drop(columns=["_y", "_n"])
    else:
        if agg not in ("mean", "sum", "median"):
            raise ValueError("agg must be 'mean', 'sum' or 'median'")
        out = getattr(grouped["_y"], agg)().reset_index().rename(columns={"_y": "y"})
        out["n"] = np.nan
    if "s" not in out:
        out["s"] = np.nan
        out["m"] = 1.0
    if isinstance(part, str):
        labels = grouped[part].first().reset_index(drop=True)
        out["_part"] = labels.to_numpy()
    else:
        out["_part"] = 1
        if part is not None:
            for boundary in sorted(part):
                out.loc[out[x] >= boundary, "_part"] += 1
    out["included"] = True
    if exclude is not None:
        out.loc[out[x].isin(list(exclude)), "included"] = False
    out["baseline"] = True if freeze is None else (out[x] <= freeze).to_numpy()
    out = out.rename(columns={x: "x"}) if x != "x" else out
    if by:
        out["_sid"] = group_codes(*(out[c].to_numpy() for c in by))[0]
    else:
        out["_sid"] = 0
    return out.sort_values(["_sid", "x"], kind="stable").reset_index(drop=True)


def _check_chart(chart: str, n: str | None) -> None:
    if chart not in CHARTS:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    if chart in ("p", "pp", "u", "up") and n is None:
        raise ValueError(f"a {chart} chart needs n= (the denominator column)")


def control_chart(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    chart: str,
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str = "mean",
    screen_mr: bool = True,
    rules: str = "anhoej",
    sigma: float = 3.0,
    improvement: str | None = None,
    target: float | None = None,
    astronomical: Sequence[Any] | None = None,
) -> SPCResult:
    """A Shewhart control chart of one series, with runs analysis.

    Parameters
    ----------
    data : DataFrame
        One series. Not modified.
    y : str
        The value column, or the numerator when ``n`` names a denominator column (the
        plotted value is then Σy/Σn per x).
    x : str
        The subgroup column: integers, dates or labels (in sorted order).
    chart : {"i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s", "run"}
        ``pp``/``up`` are Laney's p′ and u′. ``xbar``/``s`` use the rows sharing an x as the
        subgroup's sample.
    n : str, optional
        Denominator column (required for p, pp, u, up).
    part : sequence or str, optional
        x values at which a new phase begins, or a column of phase labels. Each phase has
        its own centre line, limits and runs analysis.
    freeze : x value, optional
        Last x of the baseline: centre line and limits come from the baseline and extend to
        later points; the runs analysis covers all points against the frozen centre line.
    exclude : sequence, optional
        x values left out of centre line, limits and runs analysis (still shown, still able
        to signal).
    cl : float, optional
        A fixed centre line.
    agg : {"mean", "sum", "median"}
        How rows sharing an x combine when there is no ``n``.
    screen_mr : bool
        Leave out moving ranges above 3.267 × their mean (once) before estimating sigma
        (I, MR, T, p′, u′ charts).
    rules : {"anhoej", "ihi", "nhs"}
    sigma : float
        Width of the limits in sigmas.
    improvement : {"increase", "decrease", "neutral"}, optional
        NHS rules: which direction is improvement.
    target : float, optional
        NHS rules: the target for the assurance summary.
    astronomical : sequence, optional
        IHI rules: x values the user names as astronomical points.

    Returns
    -------
    SPCResult

    Notes
    -----
    Limits (σ = ``sigma``): I: x̄ ± σ·MR̄/1.128; MR: [0, 3.267·MR̄]; p: p̄ ± σ√(p̄(1−p̄)/nᵢ)
    clipped to [0, 1]; p′: the p limits times σ_z = MR̄(z)/1.128 of the z-scores
    zᵢ = (pᵢ − p̄)/√(p̄(1−p̄)/nᵢ) (Laney 2002); u: ū ± σ√(ū/nᵢ), u′ likewise; c: c̄ ± σ√c̄;
    g: ḡ ± σ√(ḡ(ḡ+1)); t: an I chart of y^(1/3.6), back-transformed; x̄: the size-weighted
    mean ± σ·(s̄/c4)/√nᵢ; s: (s̄/c4)(c4(nᵢ) ± σ√(1 − c4(nᵢ)²)). Count and dispersion limits
    are cut at 0.

    References
    ----------
    Montgomery (2019), Introduction to Statistical Quality Control, 8th ed. Laney (2002),
    Improved control charts for attributes, Quality Engineering 14(4):531-537. Anhøj &
    Olesen (2014), Run charts revisited, PLoS ONE 9(11):e113825. Provost & Murray (2011),
    The Health Care Data Guide. NHS England, Making Data Count (2019).

    Examples
    --------
    >>> import pandas as pd
    >>> absent = [30, 28, 35, 31, 29, 33, 27, 30, 32, 29, 31, 34]
    >>> data = pd.DataFrame({"month": range(1, 13), "absent": absent, "enrolled": [120] * 12})
    >>> result = control_chart(data, y="absent", n="enrolled", x="month", chart="p")
    >>> round(float(result.table["center"].iloc[0]), 4), bool(result.summary["runs_signal"].iloc[0])
    (0.2562, False)
    """
    _check_chart(chart, n)
    frame = _prepare(
        data, y=y, x=x, n=n, by=[], chart=chart, part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    table, summary = _engine(
        frame,
        chart=chart,
        rules=rules,
        sigma=sigma,
        screen_mr=screen_mr,
        cl=cl,
        improvement=improvement,
        target=target,
        astronomical=astronomical,
    )
    settings = {
        "chart": chart,
        "rules": rules,
        "sigma": sigma,
        "screen_mr": screen_mr,
        "x": x,
        "y": y,
        "n": n,
        "freeze": json_safe(freeze),
        "improvement": improvement,
        "target": target,
    }
    return SPCResult(
        table=table.drop(columns="_sid"), summary=summary.drop(columns="_sid"), settings=settings
    )


def run_chart(
    data: pd.DataFrame,
    *,
    y: str,
    x: str,
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str = "mean",
    rules: str = "anhoej",
    astronomical: Sequence[Any] | None = None,
) -> SPCResult:
    """A run chart of one series: the median and the runs analysis.

    Parameters are those of :func:`control_chart` (without limits).

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"week": range(1, 21), "y": [5, 6, 4, 7, 5, 6, 5, 4, 6, 5,
    ...                                                  8, 9, 8, 9, 10, 9, 8, 9, 10, 9]})
    >>> summary = run_chart(data, y="y", x="week").summary
    >>> summary[["longest_run", "longest_run_max", "runs_signal"]].values.tolist()
    [[10, 7.0, True]]
    """
    frame = _prepare(
        data, y=y, x=x, n=n, by=[], chart="run", part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    table, summary = _engine(
        frame,
        chart="run",
        rules=rules,
        sigma=3.0,
        screen_mr=False,
        cl=cl,
        improvement=None,
        target=None,
        astronomical=astronomical,
    )
    settings = {"chart": "run", "rules": rules, "x": x, "y": y, "n": n, "freeze": json_safe(freeze)}
    return SPCResult(
        table=table.drop(columns="_sid"), summary=summary.drop(columns="_sid"), settings=settings
    )


def spc_table(
    data: pd.DataFrame,
    *,
    by: Sequence[str],
    y: str,
    x: str,
    chart: str = "run",
    n: str | None = None,
    part: Sequence[Any] | str | None = None,
    freeze: Any = None,
    exclude: Sequence[Any] | None = None,
    cl: float | None = None,
    agg: str = "mean",
    screen_mr: bool = True,
    rules: str = "anhoej",
    sigma: float = 3.0,
    summary: bool = False,
) -> pd.DataFrame:
    """The same chart for every series identified by ``by``, in one vectorized pass.

    Parameters
    ----------
    by : sequence of str
        Columns identifying a series (school, group...).
    summary : bool
        Return the per-phase summary instead of the per-point table.
    Others
        As in :func:`control_chart`.

    Returns
    -------
    DataFrame
        The per-point table of :class:`SPCResult` with the ``by`` columns in front (or the
        per-phase summary with the ``by`` columns in front).

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("indicators").query(
    ...     "outcome == 'chronic_absence' and dimension == 'geography'")
    >>> phases = spc_table(data, by=["partnership", "group"], y="numerator", n="denominator",
    ...                    x="period", chart="pp", summary=True)
    >>> len(phases), sorted(phases.columns[:2])
    (8, ['group', 'partnership'])
    """
    by = [by] if isinstance(by, str) else list(by)
    _check_chart(chart, n)
    frame = _prepare(
        data, y=y, x=x, n=n, by=by, chart=chart, part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    table, phases = _engine(
        frame,
        chart=chart,
        rules=rules,
        sigma=sigma,
        screen_mr=screen_mr,
        cl=cl,
        improvement=None,
        target=None,
        astronomical=None,
    )
    keys = frame[[*by, "_sid"]].drop_duplicates("_sid").set_index("_sid")
    if summary:
        out = keys.loc[phases["_sid"]].reset_index(drop=True)
        return pd.concat([out, phases.drop(columns="_sid").reset_index(drop=True)], axis=1)
    out = frame[by].reset_index(drop=True)
    return pd.concat([out, table.drop(columns="_sid").reset_index(drop=True)], axis=1)
