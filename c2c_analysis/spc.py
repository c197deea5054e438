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

``nhs`` (NHS England "Making Data Count", as NHSRplotthedots 0.2.2 computes it): process
limits at the mean ± 2.66·MR̄ on I charts; a point beyond a limit; 7 or more rising or falling
(a tie breaks the trend); two of three consecutive points between two-thirds of the limit
distance and the limit, all three on one side of the mean; 7 or more in a row on one side (a
point on the mean breaks it). A point flagged by several rules takes the first in that order,
and its direction from the rule (a trend's from the trend, the others' from their side). With
``improvement`` each point is special cause improvement or concern (neutral high or low
without one), or common cause, and the summary gives the variation and assurance (target
against limits) that the NHS icons show.

Labels as x (units without a time order, funnel-style) have no runs analysis.

Sigma signals are strict: beyond, not on, a limit.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import comb

from c2c_analysis._arrays import group_codes
from c2c_analysis._results import json_safe

__all__ = ["CHARTS", "SPCResult", "control_chart", "run_chart", "runs_limits", "spc_table"]

CHARTS = ("run", "i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s")
_D2 = 1.128  # d2 for moving ranges of two points
# The MR chart's tabulated upper limit factor D4 for n = 2 (Montgomery, Appendix VI; qicharts2);
# it is also Nelson's (1982) screening threshold for moving ranges.
_D4 = 3.267
# NHS Making Data Count: process limits at mean ± 2.66·MR̄ and the "close to a limit" band from
# two-thirds of that (1.7733·MR̄); the constants of its Excel tool and NHSRplotthedots.
_NHS_LIMIT = 2.66


@dataclass(frozen=True, repr=False)
class SPCResult:
    """A run or control chart.

    Attributes
    ----------
    table : DataFrame
        One row per subgroup: ``x, y, n, part, center, lower, upper, sigma_signal,
        runs_signal, included, baseline, withheld, in_signal_run`` (``baseline``: the
        point is in the baseline that ``freeze`` sets, all points without one; ``withheld``:
        every row of the point carried a suppression marker such as ``*``, ``NS`` or
        ``N<10``; such points
        have no value and are counted, never silently missing; ``lower``/``upper`` are NaN on
        run charts;
        ``y`` is the plotted value; ``runs_signal`` is the phase's runs signal, repeated on
        its points; with ``rules="nhs"`` also ``nhs_rule`` and ``nhs_class``).
    summary : DataFrame
        One row per phase: ``part, n_points, n_withheld, n_useful, longest_run, longest_run_max,
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


def _group_mean(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    count = np.bincount(keys, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _group_sum(keys, values, size) / count


def _group_sd(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sample standard deviation (n − 1) of each group; NaN for groups of fewer than two."""
    count = np.bincount(keys, minlength=size)
    mean = _group_mean(keys, values, size)
    squares = _group_sum(keys, (values - mean[keys]) ** 2, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 1, np.sqrt(squares / (count - 1)), np.nan)


def _mean_mr(
    keys: np.ndarray, mr: np.ndarray, use: np.ndarray, size: int, screen: bool
) -> np.ndarray:
    ok = use & np.isfinite(mr)
    mean = _group_mean(keys[ok], mr[ok], size)
    if screen:
        # Nelson (1982): estimate sigma from the moving ranges strictly below 3.267 × their
        # mean (once), so that one jump does not widen the limits it should stand out against.
        keep = ok & (mr < _D4 * mean[keys])
        screened = _group_mean(keys[keep], mr[keep], size)
        # Where every range but the jumps is 0 (rounded values, 5.0 eleven times and one
        # 5.1), screening leaves no spread and every point would signal: keep the mean.
        mean = np.where(screened > 0, screened, mean)
    return mean


def _given(cl: float | None, n_phases: int, estimate: np.ndarray) -> np.ndarray:
    return estimate if cl is None else np.full(n_phases, float(cl))


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
    ordered: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame``: one row per subgroup with _sid (series), _part (phase label), _order
    (position), x, y, n, s (subgroup sd for xbar/s), m (subgroup size), included, baseline.
    Rows are sorted by _sid, _order. ``ordered`` is False when x has no time order (labels):
    runs rules are then skipped. Returns the point table and the phase summary.

    Long because every chart shares one pass: limits per chart, then the runs rules, then
    the table; splitting it would pass a dozen arrays between the parts."""
    pid, first_row = group_codes(frame["_sid"].to_numpy(), frame["_part"].to_numpy())
    n_phases = len(first_row)
    y = frame["y"].to_numpy(dtype=float)
    n = frame["n"].to_numpy(dtype=float)
    withheld = (
        frame["withheld"].to_numpy(dtype=bool)
        if "withheld" in frame
        else np.zeros(len(y), dtype=bool)
    )
    included = frame["included"].to_numpy(dtype=bool) & np.isfinite(y)
    base = included & frame["baseline"].to_numpy(dtype=bool)
    # Phases without baseline points (a freeze before the phase began) use all their points.
    has_base = np.bincount(pid[base], minlength=n_phases) > 0
    base = base | (included & ~has_base[pid])
    # A moving range counts only when both of its points do (an excluded point, or one after
    # the freeze, takes its two moving ranges out of the sigma estimate). qicharts2 instead
    # differences across an excluded point; see control_chart's Notes.
    mr_use = base & np.r_[False, base[:-1]]

    center = np.full(n_phases, np.nan)  # the centre line drawn, and the runs analysis's
    limit_centre = None  # where the limits are centred elsewhere (g chart: the mean)
    spread = np.full(len(frame), np.nan)  # sigma of each point
    plotted = y.copy()
    if chart == "run":
        center = _given(cl, n_phases, _group_median(pid[base], y[base], n_phases))
    elif chart in ("i", "t"):
        values = y ** (1 / 3.6) if chart == "t" else y
        plotted = values
        mr, _ = _moving_ranges(pid, values)
        mr_bar = _mean_mr(pid, mr, mr_use, n_phases, screen_mr)
        center = _group_mean(pid[base], values[base], n_phases)
        if cl is not None:
            center = np.full(n_phases, float(cl) ** (1 / 3.6) if chart == "t" else float(cl))
        if rules == "nhs" and chart == "i":
            spread = (mr_bar * _NHS_LIMIT / 3)[pid]  # 3 "sigma" = 2.66·MR̄
        else:
            spread = (mr_bar / _D2)[pid]
    elif chart == "mr":
        mr, _ = _moving_ranges(pid, y)
        plotted = mr
        # The mean of all the phase's moving ranges: screened ranges would no longer show
        # above the limit this chart exists to show them against.
        center = _given(cl, n_phases, _mean_mr(pid, mr, mr_use, n_phases, screen=False))
        spread = (center * (_D4 - 1) / 3)[pid]  # so that 3 sigma reaches D4·MR̄ = 3.267·MR̄
    elif chart in ("p", "pp", "u", "up"):
        num = y * n  # y is the proportion; recover the counts
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = _group_sum(pid[base], num[base], n_phases) / _group_sum(
                pid[base], n[base], n_phases
            )
            center = _given(cl, n_phases, pooled)
            c = center[pid]
            spread = np.sqrt(c * (1 - c) / n) if chart in ("p", "pp") else np.sqrt(c / n)
            z = (y - c) / spread
        if chart in ("pp", "up"):
            if ordered:
                # Laney (2002): between-subgroup variation from the moving ranges of z.
                mr, _ = _moving_ranges(pid, z)
                sigma_z = _mean_mr(pid, mr, mr_use, n_phases, screen_mr) / _D2
            else:
                # Units without a time order (funnel-style data): moving ranges would depend
                # on the order of the labels, so σz is the standard deviation of the z-scores
                # (qicharts2 0.7.2; Spiegelhalter 2005, Qual Saf Health Care 14:347).
                ok_z = base & np.isfinite(z)
                sigma_z = _group_sd(pid[ok_z], z[ok_z], n_phases)
            spread = spread * sigma_z[pid]
    elif chart == "c":
        center = _given(cl, n_phases, _group_mean(pid[base], y[base], n_phases))
        spread = np.sqrt(center)[pid]
    elif chart == "g":
        mean = _given(cl, n_phases, _group_mean(pid[base], y[base], n_phases))
        spread = np.sqrt(mean * (mean + 1))[pid]  # Benneyan (2001)
        limit_centre = mean
        # Geometric counts are skewed: the centre line, and the runs analysis against it,
        # is the median (Provost & Murray 2011, pp. 228-229), or the theoretical median
        # 0.693·ḡ when the centre is given.
        median = _group_median(pid[base], y[base], n_phases)
        center = median if cl is None else np.full(n_phases, 0.693 * float(cl))
    elif chart in ("xbar", "s"):
        m = frame["m"].to_numpy(dtype=float)
        s_i = frame["s"].to_numpy(dtype=float)
        ok = base & np.isfinite(s_i) & (m > 1)
        # Montgomery §6.3.2: with one subgroup size in the phase, s̄ is the mean of the sᵢ
        # (eq. 6.29); with sizes that vary, the pooled s̄ = √(Σ(nᵢ−1)sᵢ²/Σ(nᵢ−1)) (eq. 6.31).
        sized = np.isfinite(m) & (m > 0)
        smallest = np.full(n_phases, np.inf)
        largest = np.full(n_phases, -np.inf)
        np.minimum.at(smallest, pid[sized], m[sized])
        np.maximum.at(largest, pid[sized], m[sized])
        weights = m - 1
        with np.errstate(divide="ignore", invalid="ignore"):
            pooled = np.sqrt(
                _group_sum(pid[ok], (weights * s_i**2)[ok], n_phases)
                / _group_sum(pid[ok], weights[ok], n_phases)
            )
        s_bar = np.where(largest > smallest, pooled, _group_mean(pid[ok], s_i[ok], n_phases))
        c4_i = _c4(m)
        if chart == "xbar":
            with np.errstate(divide="ignore", invalid="ignore"):
                grand = _group_sum(pid[base], (m * y)[base], n_phases) / _group_sum(
                    pid[base], m[base], n_phases
                )
                center = _given(cl, n_phases, grand)
                spread = s_bar[pid] / (c4_i * np.sqrt(m))  # x̿ ± A3(nᵢ)·s̄ at 3 sigma
        else:
            plotted = s_i
            center = _given(cl, n_phases, s_bar)
            with np.errstate(divide="ignore", invalid="ignore"):
                # B3(nᵢ)·s̄ and B4(nᵢ)·s̄: s̄·(1 ∓ 3·c5/c4), c5 = √(1 − c4²).
                spread = center[pid] * np.sqrt(1 - c4_i**2) / c4_i
    else:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    centre_point = center[pid]
    limit_point = centre_point if limit_centre is None else limit_centre[pid]
    lower = limit_point - sigma * spread
    upper = limit_point + sigma * spread
    if chart in ("p", "pp"):
        lower, upper = np.clip(lower, 0, 1), np.clip(upper, 0, 1)
    elif chart in ("u", "up", "c", "g", "mr", "s", "t"):
        lower = np.maximum(lower, 0)
    if chart == "run":
        lower = upper = np.full(len(frame), np.nan)
    sigma_signal = np.isfinite(plotted) & ((plotted > upper) | (plotted < lower))

    # Runs analysis on included points against the phase's centre line.
    runs_rules = ordered and chart != "mr"
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
            "n_withheld": np.bincount(pid[withheld], minlength=n_phases),
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
        rule, direction, parts = _nhs_rules(
            pid, plotted, limit_point, sigma * spread, runs_use, sigma_signal, ordered=runs_rules
        )
        flags = rule > 0
        signal = np.bincount(pid[flags], minlength=n_phases) > 0
        point_in_long_run = flags
        summary["n_shift_points"] = np.bincount(pid[parts["shift"]], minlength=n_phases)
        summary["n_trend_points"] = np.bincount(pid[parts["trend"]], minlength=n_phases)
        summary["n_two_of_three"] = np.bincount(pid[parts["two_of_three"]], minlength=n_phases)
    else:
        raise ValueError("rules must be 'anhoej', 'ihi' or 'nhs'")
    if not runs_rules and rules != "nhs":
        # Moving ranges are autocorrelated, and labels without a time order have no runs: no
        # runs signal (as in qicharts2); IHI's astronomical points are named by the user.
        signal = summary["astronomical"].to_numpy() if rules == "ihi" else signal & False
        point_in_long_run = np.zeros(len(frame), dtype=bool)
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
            "baseline": frame["baseline"].to_numpy(dtype=bool),
            "withheld": withheld,
            "in_signal_run": point_in_long_run,
        }
    )
    if rules == "nhs":
        table["nhs_rule"] = np.array(["none", *_NHS_RULES], dtype=object)[rule]
        table["nhs_class"] = _nhs_classes(rule, direction, improvement)
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


def _trend_lengths(pid: np.ndarray, values: np.ndarray, use: np.ndarray) -> np.ndarray:
    """For each point, the number of points in the rising or falling run it ends or belongs to
    (IHI: differences between used points of a phase; equal neighbours are skipped)."""
    out = np.zeros(len(values))
    idx = np.flatnonzero(use)
    if len(idx) < 2:
        return out
    k, v = pid[idx], values[idx]
    diff = np.sign(np.diff(v))
    d_idx = np.flatnonzero((k[1:] == k[:-1]) & (diff != 0))
    d_key, d_sign = k[1:][d_idx], diff[d_idx]
    lengths = _segments(d_key, d_sign) + 1  # n differences = n + 1 points
    # Attach each difference's run length to both points it joins.
    np.maximum.at(out, idx[d_idx + 1], lengths)
    np.maximum.at(out, idx[d_idx], lengths)
    return out


#: The NHS rules in their order of precedence: a point flagged by several takes the first.
_NHS_RULES = ("beyond_limit", "trend", "two_of_three", "shift")


def _nhs_rules(
    pid: np.ndarray,
    y: np.ndarray,
    centre: np.ndarray,
    half_width: np.ndarray,
    use: np.ndarray,
    outside: np.ndarray,
    *,
    ordered: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Making Data Count's rules on the used points of each phase.

    Returns, for every point, the rule that flags it (0 none, else 1 + its index in
    ``_NHS_RULES``), its direction (+1 high or rising, −1 low or falling, 0 none), and each
    rule's own points before precedence. Precedence and directions follow NHSRplotthedots
    0.2.2 (NEWS, issue #171): beyond a limit (its side), a trend of 7 (its direction), two of
    three consecutive points near a limit (between two-thirds of the limit distance and the
    limit, all three on one side of the mean), 7 in a row on one side (a point on the mean
    breaks the run)."""
    size = len(y)
    rule = np.zeros(size, dtype=int)
    direction = np.zeros(size, dtype=int)
    parts = {name: np.zeros(size, dtype=bool) for name in ("trend", "two_of_three", "shift")}
    idx = np.flatnonzero(use)
    if len(idx) == 0:
        return rule, direction, parts
    k, v, c = pid[idx], y[idx], centre[idx]
    side = np.sign(v - c).astype(int)
    out = outside[idx]
    trend = np.zeros(len(v), dtype=bool)
    two = np.zeros(len(v), dtype=bool)
    shift = np.zeros(len(v), dtype=bool)
    trend_dir = np.zeros(len(v), dtype=int)
    if ordered and len(v) > 1:
        same_next = k[1:] == k[:-1]
        step = np.where(same_next, np.sign(np.diff(v)), 0.0)
        # Six equal non-zero steps in a row are a trend of seven points (ties break it).
        steps = _segments(k[1:], step)
        in_trend = (step != 0) & (steps >= 6)
        trend[:-1] |= in_trend
        trend[1:] |= in_trend
        # A trend point takes the step to the next point when that one is in a trend too,
        # else the step from the previous point.
        following = np.r_[trend[1:] & same_next, False]
        sign = np.where(following & trend, np.r_[step, 0.0], np.r_[0.0, step])
        trend_dir = np.where(sign == 1, 1, -1)
        shift = (side != 0) & (_segments(k, side) >= 7)
        close = ~out & (np.abs(v - c) > half_width[idx] * 2 / 3)
        if len(v) >= 3:
            window = (
                (k[:-2] == k[2:])
                & (close[:-2].astype(int) + close[1:-1] + close[2:] >= 2)
                & (np.abs(side[:-2] + side[1:-1] + side[2:]) == 3)
            )
            for offset in range(3):
                two[offset : len(v) - 2 + offset] |= window
            two &= close
    code = np.select([out, trend, two, shift], [1, 2, 3, 4], 0)
    side_dir = np.where(side > 0, 1, -1)
    rule[idx] = code
    direction[idx] = np.where(code == 2, trend_dir, np.where(code > 0, side_dir, 0))
    for name, mask in (("trend", trend), ("two_of_three", two), ("shift", shift)):
        parts[name][idx] = mask
    return rule, direction, parts


def _nhs_classes(rule: np.ndarray, direction: np.ndarray, improvement: str | None) -> np.ndarray:
    classes = np.full(len(rule), "common_cause", dtype=object)
    flagged = rule > 0
    if improvement in ("increase", "decrease"):
        good = direction * (1 if improvement == "increase" else -1) > 0
        classes[flagged & good] = "special_cause_improvement"
        classes[flagged & ~good] = "special_cause_concern"
    else:  # neutral: high or low, for the purple icons
        classes[flagged & (direction > 0)] = "special_cause_neutral_high"
        classes[flagged & (direction < 0)] = "special_cause_neutral_low"
    return classes


def _nhs_summary(table, pid, n_phases, improvement, target) -> pd.DataFrame:
    """Variation (the last point's class) and assurance (the target against the last point's
    limits: strictly outside them on the good side passes, on the bad side fails, a target
    on or inside a limit is hit and miss), as NHSRplotthedots computes them."""
    # The last point of each phase that has a value (a withheld last point says nothing).
    order = np.arange(len(pid))
    valued = np.isfinite(table["y"].to_numpy(dtype=float))
    last = np.zeros(n_phases, dtype=int)
    np.maximum.at(last, pid, order)
    if valued.any():
        best = np.full(n_phases, -1)
        np.maximum.at(best, pid[valued], order[valued])
        last = np.where(best >= 0, best, last)
    variation = table["nhs_class"].to_numpy()[last]
    lower = table["lower"].to_numpy()[last]
    upper = table["upper"].to_numpy()[last]
    if target is None:
        assurance = np.full(n_phases, "no_target", dtype=object)
    elif improvement not in ("increase", "decrease"):
        assurance = np.full(n_phases, "not_applicable", dtype=object)
    else:
        increase = improvement == "increase"
        passing = target < lower if increase else target > upper
        failing = target > upper if increase else target < lower
        assurance = np.where(
            passing,
            "consistently_passing",
            np.where(failing, "consistently_failing", "hit_and_miss"),
        )
    return pd.DataFrame({"variation": variation, "assurance": assurance})


# --- preparation ---------------------------------------------------------------------------------


#: Period labels that sort in time order as text: "2016", "2015-16", "2015-2016", "2015/16".
_PERIOD_TEXT = re.compile(r"^\s*\d{4}(\s*[-/\u2013]\s*\d{2,4})?\s*$")


def _has_time_order(values: pd.Series) -> bool:
    """Numbers, dates and school-year text ("2015-16") have a time order; other labels (text,
    categories) do not."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return False
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return True
    text = values.dropna().astype(str)
    return bool(len(text)) and bool(text.str.match(_PERIOD_TEXT).all())


def _check_rates_as_counts(
    values: pd.Series, counts: pd.Series, *, y: str, n: str, chart: str
) -> None:
    """With a denominator, ``y`` is a count: a rate column passed as ``y`` would be charted
    as rate/n, and a numerator above its denominator as a proportion above 1."""
    from c2c_analysis.validation import DataValidationError

    def refuse(row, value, problem):
        raise DataValidationError(
            [{"row": row, "column": y, "value": str(value), "problem": problem}]
        )

    advice = (
        f"pass y='numerator', or derive it as round({y} × {n}) first, or chart the rate "
        "itself without n"
    )
    finite = values[np.isfinite(values)]
    if len(finite) and finite.between(0, 1).all() and (finite % 1 != 0).any():
        row = finite.index[(finite % 1 != 0).to_numpy()][0]
        refuse(row, finite.loc[row], f"with n={n!r} the {chart} chart takes y as the numerator "
               f"(a count), but {y!r} holds proportions between 0 and 1; {advice}")  # fmt: skip
    ratelike = re.search(r"(^|_)(rate|pct|percent|proportion|share)s?($|_)", y.lower())
    if ratelike and len(finite):
        refuse(finite.index[0], finite.iloc[0], f"with n={n!r} the {chart} chart takes y as "
               f"the numerator (a count), but {y!r} is named as a rate; {advice}")  # fmt: skip
    denominators = pd.to_numeric(counts, errors="coerce")
    over = (values > denominators) & (denominators > 0)
    if chart in ("p", "pp", "run") and over.any():
        row = values.index[over.to_numpy()][0]
        refuse(row, values.loc[row], f"the numerator {y!r} is larger than its denominator "
               f"{n!r} ({counts.loc[row]}): a proportion cannot exceed 1")  # fmt: skip


def _baseline(
    out: pd.DataFrame, x: str, freeze: Any, by: Sequence[str], *, name: str | None = None
) -> np.ndarray:
    """Which points belong to the baseline: x ≤ ``freeze``, or, for x without numbers (dates,
    labels) and an integer ``freeze``, the first ``freeze`` points of each series (qicharts2's
    idiom)."""
    if freeze is None:
        return np.ones(len(out), dtype=bool)
    values = out[x]
    numeric_x = pd.api.types.is_numeric_dtype(values) and not isinstance(
        values.dtype, pd.CategoricalDtype
    )
    if isinstance(freeze, int | np.integer) and not isinstance(freeze, bool) and not numeric_x:
        position = out.groupby(list(by), sort=False).cumcount() if by else np.arange(len(out))
        return np.asarray(position) < int(freeze)
    if pd.api.types.is_datetime64_any_dtype(values) and isinstance(freeze, str):
        try:
            freeze = pd.Timestamp(freeze)
        except ValueError:
            freeze = None
    try:
        return (values <= freeze).to_numpy(dtype=bool)
    except TypeError:
        shown = name or x
        raise ValueError(
            f"freeze={freeze!r} cannot be compared with {shown!r} ({values.dtype}): give the "
            f"last baseline value of {shown!r} (e.g. a date), or an integer number of "
            "baseline points"
        ) from None


def _withheld(data: pd.DataFrame, column: str) -> pd.Series:
    """Cells that carry a suppression marker (``*``, ``s``, ``NS``, ``N<10``, ``PS``...)."""
    from c2c_analysis.schema import is_suppression_marker

    values = data[column]
    if pd.api.types.is_numeric_dtype(values):
        return pd.Series(False, index=data.index)
    return pd.Series(is_suppression_marker(values.to_numpy(dtype=object)), index=data.index)


def _values(data: pd.DataFrame, column: str) -> pd.Series:
    """Numbers; suppression markers become missing (and are counted as withheld), any other
    text is an error naming its rows."""
    values = data[column]
    numbers = pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_numeric_dtype(values):
        return numbers
    bad = numbers.isna() & values.notna() & ~_withheld(data, column)
    bad &= values.astype(str).str.strip().ne("")
    if bad.any():
        from c2c_analysis.validation import DataValidationError

        raise DataValidationError(
            [
                {"row": row, "column": column, "value": str(values.loc[row]),
                 "problem": "not a number, nor a suppression marker (*, s, NS, N<10, PS, ...)"}
                for row in values.index[bad.to_numpy()][:50]
            ]
        )  # fmt: skip
    return numbers


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
    agg: str | None,
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
    no_x = data[x].isna()
    if no_x.any():
        import warnings

        from c2c_analysis.validation import C2CDataWarning

        rows = ", ".join(map(str, data.index[no_x][:5])) + (", ..." if no_x.sum() > 5 else "")
        warnings.warn(
            f"{int(no_x.sum())} rows without a value of {x!r} were left out of the chart "
            f"(rows {rows})",
            C2CDataWarning,
            stacklevel=3,
        )
        data = data.loc[~no_x]
    withheld = _withheld(data, y)
    if "suppressed" in data.columns:  # the canonical flag: withheld by the source or by us
        withheld = withheld | data["suppressed"].fillna(False).astype(bool)
    values = _values(data, y).where(~withheld)
    if n:
        withheld = withheld | _withheld(data, n)
        _check_rates_as_counts(values, data[n], y=y, n=n, chart=chart)
        count = _values(data, n).where(~withheld)
        # A row counts only with both its numerator and its denominator: a withheld
        # numerator adds nothing to the denominator, and a missing denominator nothing to
        # the numerator.
        both = values.notna() & count.notna()
        values, count = values.where(both), count.where(both)
    # The user's columns get private names, so that none can clash with the ones made here.
    keys = [f"_by{i}" for i in range(len(by))] + ["x"]
    frame = pd.DataFrame(
        {**{f"_by{i}": data[c].to_numpy() for i, c in enumerate(by)}, "x": data[x].to_numpy()},
        index=data.index,
    )
    if isinstance(part, str):
        frame["_part_label"] = data[part].to_numpy()
    frame["_y"] = values
    frame["_withheld"] = withheld.to_numpy()
    if n:
        frame["_n"] = count
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
        if agg is None:
            agg = "sum" if chart == "c" else "mean"  # a c chart counts events per subgroup
        if agg not in ("mean", "sum", "median"):
            raise ValueError("agg must be 'mean', 'sum' or 'median'")
        if agg == "sum":
            out = grouped["_y"].sum(min_count=1).reset_index().rename(columns={"_y": "y"})
        else:
            out = getattr(grouped["_y"], agg)().reset_index().rename(columns={"_y": "y"})
        out["n"] = np.nan
    any_withheld = grouped["_withheld"].any().to_numpy()
    out["withheld"] = grouped["_withheld"].all().to_numpy()
    if not n and agg == "sum":
        # A total with a withheld part is not known: the point is withheld, never a
        # silently smaller sum.
        out.loc[any_withheld, "y"] = np.nan
        out["withheld"] = any_withheld
    if "s" not in out:
        out["s"] = np.nan
        out["m"] = 1.0
    if isinstance(part, str):
        labels = grouped["_part_label"].first().reset_index(drop=True)
        out["_part"] = labels.to_numpy()
    else:
        out["_part"] = 1
        if part is not None:
            for boundary in sorted(part):
                out.loc[out["x"] >= boundary, "_part"] += 1
    out["included"] = True
    if exclude is not None:
        out.loc[out["x"].isin(list(exclude)), "included"] = False
    by_keys = keys[:-1]
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    out["baseline"] = _baseline(out, "x", freeze, by_keys, name=x)
    if freeze is not None and len(out) and not out["baseline"].any():
        import warnings

        from c2c_analysis.validation import C2CDataWarning

        warnings.warn(
            f"freeze={freeze!r} is before the first {x!r} ({out['x'].min()}): no point is in "
            "the baseline, so the limits use every point",
            C2CDataWarning,
            stacklevel=3,
        )
    if by:
        out["_sid"] = group_codes(*(out[c].to_numpy() for c in by_keys))[0]
    else:
        out["_sid"] = 0
    return out.sort_values(["_sid", "x"], kind="stable").reset_index(drop=True)


def _check_chart(chart: str, n: str | None, rules: str, improvement: str | None) -> None:
    if chart not in CHARTS:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    if chart in ("p", "pp", "u", "up") and n is None:
        raise ValueError(f"a {chart} chart needs n= (the denominator column)")
    if rules not in ("anhoej", "ihi", "nhs"):
        raise ValueError(f"rules must be 'anhoej', 'ihi' or 'nhs', not {rules!r}")
    if improvement not in (None, "increase", "decrease", "neutral"):
        raise ValueError(
            f"improvement must be 'increase', 'decrease', 'neutral' or None, not {improvement!r}"
        )


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
    agg: str | None = None,
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
        The subgroup column: integers or dates (a time order), or labels (text or
        categories, in sorted or category order: units without a time order, as in a
        funnel-style chart; the runs rules are then skipped and Laney's σz is the standard
        deviation of the z-scores).
    chart : {"i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s", "run"}
        ``pp``/``up`` are Laney's p′ and u′. ``xbar``/``s`` use the rows sharing an x as the
        subgroup's sample.
    n : str, optional
        Denominator column (required for p, pp, u, up). ``y`` is then a count: a column of
        proportions raises an error that says which call to make (a rate is never divided
        by ``n`` again). Rows whose ``y`` is missing add nothing to the denominator.
    part : sequence or str, optional
        x values at which a new phase begins, or a column of phase labels. Each phase has
        its own centre line, limits and runs analysis.
    freeze : x value or int, optional
        Last x of the baseline: centre line and limits come from the baseline and extend to
        later points; the runs analysis covers all points against the frozen centre line.
        With dates or labels as x, an integer is the number of baseline points (the
        qicharts2 idiom ``freeze=24``) and a text date is read as a date.
    exclude : sequence, optional
        x values left out of centre line, limits and runs analysis (still shown, still able
        to signal).
    cl : float, optional
        A fixed centre line.
    agg : {"mean", "sum", "median"}, optional
        How rows sharing an x combine when there is no ``n``: by default their sum on a c
        chart (events per subgroup) and their mean otherwise.
    screen_mr : bool
        Estimate sigma from the moving ranges strictly below 3.267 × their mean (Nelson
        1982; once) on I, T, p′ and u′ charts. The MR chart itself is never screened.
    rules : {"anhoej", "ihi", "nhs"}
        With ``"nhs"`` the table gains ``nhs_rule`` (``beyond_limit``, ``trend``,
        ``two_of_three``, ``shift`` or ``none``: the first rule in that order of precedence
        that flags the point) and ``nhs_class`` (``special_cause_improvement``,
        ``special_cause_concern``, ``special_cause_neutral_high``/``_low`` without a
        direction of improvement, or ``common_cause``), and the summary ``variation`` (the
        last point's class) and ``assurance`` (``consistently_passing``,
        ``consistently_failing``, ``hit_and_miss``, ``no_target`` or ``not_applicable``).
    sigma : float
        Width of the limits in sigmas.
    improvement : {"increase", "decrease", "neutral"}, optional
        NHS rules: which direction is improvement (None: neutral).
    target : float, optional
        NHS rules: the target for the assurance summary (a target on a limit is hit and
        miss).
    astronomical : sequence, optional
        IHI rules: x values the user names as astronomical points.

    Returns
    -------
    SPCResult

    Notes
    -----
    Limits at σ = ``sigma`` = 3 (other widths scale the distance from the centre):

    - I: x̄ ± 3·MR̄/1.128 (MR̄ screened, see ``screen_mr``); with ``rules="nhs"`` Making Data
      Count's x̄ ± 2.66·MR̄, and its "close to a limit" band from 1.7733·MR̄.
    - MR: centre MR̄ (every moving range of the phase, unscreened), limits [0, 3.267·MR̄]
      (D4 for n = 2, Montgomery Appendix VI); no runs signal, as moving ranges are
      autocorrelated.
    - p: p̄ ± 3√(p̄(1−p̄)/nᵢ) clipped to [0, 1]; p′ (Laney 2002): the p limits times
      σz, the moving ranges of zᵢ = (pᵢ − p̄)/√(p̄(1−p̄)/nᵢ) over 1.128, or for x without a
      time order the sample standard deviation of the zᵢ. u: ū ± 3√(ū/nᵢ), u′ likewise.
    - c: c̄ ± 3√c̄ (rows sharing an x summed).
    - g: limits ḡ ± 3√(ḡ(ḡ+1)) (Benneyan 2001) around the mean; the centre line, and the
      runs analysis, is the median (0.693·``cl`` when a centre is given).
    - t: an I chart of y^(1/3.6), back-transformed (Nelson 1994).
    - x̄: x̿ = Σnᵢx̄ᵢ/Σnᵢ ± A3(nᵢ)·s̄; s: centre s̄, limits B3(nᵢ)·s̄ and B4(nᵢ)·s̄, where s̄
      is the mean of the sᵢ for one subgroup size and the pooled √(Σ(nᵢ−1)sᵢ²/Σ(nᵢ−1)) for
      sizes that vary (Montgomery §6.3.2, eqs. 6.29-6.31).

    Count and dispersion limits are cut at 0. Excluded points: a moving range that touches
    an excluded point leaves the sigma estimate; qicharts2 instead takes the difference
    across the excluded point, so its sigma can differ where points are excluded.

    References
    ----------
    Montgomery (2019), Introduction to Statistical Quality Control, 8th ed. Laney (2002),
    Improved control charts for attributes, Quality Engineering 14(4):531-537. Anhøj &
    Olesen (2014), Run charts revisited, PLoS ONE 9(11):e113825. Provost & Murray (2011),
    The Health Care Data Guide. NHS England, Making Data Count (2019); NHSRplotthedots 0.2.2.
    Nelson (1982), Control charts for individual measurements, J Qual Technol 14(3):172-173.
    Benneyan (2001), Number-between g-type statistical quality control charts, Health Care
    Manag Sci 4:305-318. Anhøj, qicharts2 0.8.1.

    Examples
    --------
    >>> import pandas as pd
    >>> absent = [30, 28, 35, 31, 29, 33, 27, 30, 32, 29, 31, 34]
    >>> data = pd.DataFrame({"month": range(1, 13), "absent": absent, "enrolled": [120] * 12})
    >>> result = control_chart(data, y="absent", n="enrolled", x="month", chart="p")
    >>> round(float(result.table["center"].iloc[0]), 4), bool(result.summary["runs_signal"].iloc[0])
    (0.2562, False)
    """
    _check_chart(chart, n, rules, improvement)
    frame = _prepare(
        data, y=y, x=x, n=n, by=[], chart=chart, part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    ordered = _has_time_order(frame["x"])
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
        ordered=ordered,
    )
    settings = {
        "time_order": ordered,
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
    agg: str | None = None,
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
    _check_chart("run", n, rules, None)
    frame = _prepare(
        data, y=y, x=x, n=n, by=[], chart="run", part=part, freeze=freeze, exclude=exclude, agg=agg
    )
    ordered = _has_time_order(frame["x"])
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
        ordered=ordered,
    )
    settings = {
        "chart": "run",
        "rules": rules,
        "x": x,
        "y": y,
        "n": n,
        "freeze": json_safe(freeze),
        "time_order": ordered,
    }
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
    agg: str | None = None,
    screen_mr: bool = True,
    rules: str = "anhoej",
    sigma: float = 3.0,
    improvement: str | None = None,
    target: float | None = None,
    astronomical: Sequence[Any] | None = None,
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
        As in :func:`control_chart` (``improvement``, ``target`` and ``astronomical`` apply
        to every series).

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
    _check_chart(chart, n, rules, improvement)
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
        improvement=improvement,
        target=target,
        astronomical=astronomical,
        ordered=_has_time_order(frame["x"]),
    )
    private = [f"_by{i}" for i in range(len(by))]
    names = dict(zip(private, by, strict=True))
    keys = frame[[*private, "_sid"]].drop_duplicates("_sid").set_index("_sid").rename(columns=names)
    result = phases if summary else table
    clash = sorted(set(by) & set(result.columns))
    if clash:
        raise ValueError(
            f"by column(s) {', '.join(map(repr, clash))} have the name of a result column; "
            "rename them first"
        )
    if summary:
        out = keys.loc[phases["_sid"]].reset_index(drop=True)
        return pd.concat([out, phases.drop(columns="_sid").reset_index(drop=True)], axis=1)
    out = frame[private].rename(columns=names).reset_index(drop=True)
    return pd.concat([out, table.drop(columns="_sid").reset_index(drop=True)], axis=1)
