"""Constants, the limits of the runs analysis, and the centre lines and limits of every chart.

:func:`chart_limits` computes, for many phases at once (group-wise numpy operations), the
centre line of each phase and each point's sigma and limits; :func:`runs_limits` and
:func:`runs_distribution_limits` are the limits the runs rules compare against.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import comb, gammaln

from c2c_analysis._arrays import group_sum

__all__ = [
    "CHARTS",
    "D2",
    "D4",
    "NHS_LIMIT",
    "ChartLimits",
    "Points",
    "chart_limits",
    "normal_runs_limits",
    "runs_distribution_limits",
    "runs_limits",
]

CHARTS = ("run", "i", "mr", "p", "pp", "u", "up", "c", "g", "t", "xbar", "s")
D2 = 1.128  # d2 for moving ranges of two points
# The MR chart's tabulated upper limit factor D4 for n = 2 (Montgomery, Appendix VI; qicharts2);
# it is also Nelson's (1982) screening threshold for moving ranges.
D4 = 3.267
# NHS Making Data Count: process limits at mean ± 2.66·MR̄ and the "close to a limit" band from
# two-thirds of that (1.7733·MR̄); the constants of its Excel tool and NHSRplotthedots.
NHS_LIMIT = 2.66


# --- limits of the runs analysis ------------------------------------------------------------


def runs_limits(n_useful: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Anhøj's limits: longest run allowed and fewest crossings expected.

    Parameters
    ----------
    n_useful : int or array of int
        Number of useful points (not on the centre line) of each phase.

    Returns
    -------
    tuple of arrays
        The longest run allowed, round(log2(n)) + 3 (NaN for no points), and the fewest
        crossings expected, the 5% quantile of Binomial(n − 1, 0.5) (NaN for fewer than two
        points).

    Examples
    --------
    >>> import numpy as np
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
def runs_distribution_limits(above: int, below: int, alpha: float = 0.05) -> tuple[float, float]:
    """Fewest and most runs not signalling (the IHI rule of too few or too many runs).

    Parameters
    ----------
    above, below : int
        Number of points above and below the centre line.
    alpha : float
        Two-sided probability of a signal.

    Returns
    -------
    tuple of float
        The fewest and the most runs of the exact distribution of the number of runs of
        ``above`` and ``below`` points in random order (Swed & Eisenhart 1943) that do not
        signal; NaN when either count is 0.

    Examples
    --------
    >>> runs_distribution_limits(10, 10)
    (7.0, 15.0)
    """
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


def normal_runs_limits(above: int, below: int) -> tuple[float, float]:
    """Fewest and most runs not signalling, by the normal approximation of the number of
    runs (for long phases, where the exact distribution is replaced by it).

    Examples
    --------
    >>> normal_runs_limits(150, 150)
    (135, 167)
    """
    n = above + below
    mean = 2 * above * below / n + 1
    var = 2 * above * below * (2 * above * below - n) / (n**2 * (n - 1))
    half = 1.959963984540054 * math.sqrt(var)
    return math.ceil(mean - half), math.floor(mean + half)


# --- group-wise helpers ------------------------------------------------------------------------


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


def _moving_ranges(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """|y_i − y_{i−1}| within each group (NaN for a group's first point)."""
    mr = np.full(len(values), np.nan)
    same = np.zeros(len(values), dtype=bool)
    same[1:] = keys[1:] == keys[:-1]
    mr[1:] = np.abs(values[1:] - values[:-1])
    mr[~same] = np.nan
    return mr


def _group_mean(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    count = np.bincount(keys, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return group_sum(keys, values, size) / count


def _group_sd(keys: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sample standard deviation (n − 1) of each group; NaN for groups of fewer than two."""
    count = np.bincount(keys, minlength=size)
    mean = _group_mean(keys, values, size)
    squares = group_sum(keys, (values - mean[keys]) ** 2, size)
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
        keep = ok & (mr < D4 * mean[keys])
        screened = _group_mean(keys[keep], mr[keep], size)
        # Where every range but the jumps is 0 (rounded values, 5.0 eleven times and one
        # 5.1), screening leaves no spread and every point would signal: keep the mean.
        mean = np.where(screened > 0, screened, mean)
    return mean


def _given(cl: float | None, n_phases: int, estimate: np.ndarray) -> np.ndarray:
    return estimate if cl is None else np.full(n_phases, float(cl))


def _c4(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, dtype=float)
    with np.errstate(invalid="ignore"):
        out = np.sqrt(2 / (m - 1)) * np.exp(gammaln(m / 2) - gammaln((m - 1) / 2))
    return np.where(m > 1, out, np.nan)


# --- the points and their limits ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Points:
    """The subgroups of many phases, sorted by series and position.

    ``pid`` is each point's phase (0 .. ``n_phases`` − 1); ``y`` the value, ``n`` the
    denominator, ``s`` and ``m`` a subgroup's standard deviation and size (x̄ and s charts);
    ``included`` the points in the analysis (not excluded, with a value), ``base`` those the
    centre line and limits come from (the baseline, or the whole phase without one), and
    ``mr_use`` the moving ranges that count for sigma (both of their points in ``base``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "n": np.nan, "s": np.nan, "m": 1.0,
    ...                       "included": True, "baseline": [True, True, False]})
    >>> points = Points.from_frame(frame, np.zeros(3, dtype=int), 1)
    >>> points.base.tolist(), points.mr_use.tolist()
    ([True, True, False], [False, True, False])
    """

    pid: np.ndarray
    n_phases: int
    y: np.ndarray
    n: np.ndarray
    s: np.ndarray
    m: np.ndarray
    withheld: np.ndarray
    included: np.ndarray
    base: np.ndarray
    mr_use: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, pid: np.ndarray, n_phases: int) -> Points:
        """From the prepared frame (columns y, n, s, m, included, baseline, withheld)."""
        y = frame["y"].to_numpy(dtype=float)
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
        # A moving range counts only when both of its points do (an excluded point, or one
        # after the freeze, takes its two moving ranges out of the sigma estimate). qicharts2
        # instead differences across an excluded point; see control_chart's Notes.
        mr_use = base & np.r_[False, base[:-1]]
        return cls(
            pid=pid,
            n_phases=n_phases,
            y=y,
            n=frame["n"].to_numpy(dtype=float),
            s=frame["s"].to_numpy(dtype=float),
            m=frame["m"].to_numpy(dtype=float),
            withheld=withheld,
            included=included,
            base=base,
            mr_use=mr_use,
        )


@dataclasses.dataclass(frozen=True)
class ChartLimits:
    """A chart's centre lines and limits.

    ``center`` per phase (the centre line drawn, which the runs analysis uses); per point:
    ``plotted`` (the charted value, on the chart's scale), ``centre_point``, ``limit_point``
    (where the limits are centred: the mean on a g chart, else the centre line), ``spread``
    (one sigma), ``lower``, ``upper`` and ``sigma_signal`` (strictly beyond a limit).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "n": np.nan, "s": np.nan, "m": 1.0,
    ...                       "included": True, "baseline": [True, True, False]})
    >>> points = Points.from_frame(frame, np.zeros(3, dtype=int), 1)
    >>> limits = chart_limits(points, chart="run", rules="anhoej", sigma=3.0,
    ...                       screen_mr=False, cl=None, ordered=True)
    >>> limits.center.tolist(), limits.upper.tolist()
    ([1.5], [nan, nan, nan])
    """

    center: np.ndarray
    plotted: np.ndarray
    centre_point: np.ndarray
    limit_point: np.ndarray
    spread: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    sigma_signal: np.ndarray

    def on_original_scale(self, chart: str, y: np.ndarray) -> ChartLimits:
        """A t chart's values and limits back-transformed (other charts unchanged)."""
        if chart != "t":
            return self

        def back(v: np.ndarray) -> np.ndarray:
            return np.where(np.isfinite(v), np.maximum(v, 0) ** 3.6, np.nan)

        return dataclasses.replace(
            self,
            plotted=y,
            centre_point=back(self.centre_point),
            lower=back(self.lower),
            upper=back(self.upper),
        )


# Each chart's estimate: (centre line per phase, sigma per point, plotted values, centre of
# the limits per phase or None for the centre line).
_Estimate = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]


def _run(p: Points, cl: float | None) -> _Estimate:
    center = _given(cl, p.n_phases, _group_median(p.pid[p.base], p.y[p.base], p.n_phases))
    return center, np.full(len(p.y), np.nan), p.y.copy(), None


def _individuals(p: Points, chart: str, rules: str, screen_mr: bool, cl: float | None) -> _Estimate:
    """I chart, and the t chart as an I chart of y^(1/3.6) (Nelson 1994)."""
    values = p.y ** (1 / 3.6) if chart == "t" else p.y
    mr = _moving_ranges(p.pid, values)
    mr_bar = _mean_mr(p.pid, mr, p.mr_use, p.n_phases, screen_mr)
    center = _group_mean(p.pid[p.base], values[p.base], p.n_phases)
    if cl is not None:
        center = np.full(p.n_phases, float(cl) ** (1 / 3.6) if chart == "t" else float(cl))
    if rules == "nhs" and chart == "i":
        spread = (mr_bar * NHS_LIMIT / 3)[p.pid]  # 3 "sigma" = 2.66·MR̄
    else:
        spread = (mr_bar / D2)[p.pid]
    return center, spread, values, None


def _moving_range(p: Points, cl: float | None) -> _Estimate:
    mr = _moving_ranges(p.pid, p.y)
    # The mean of all the phase's moving ranges: screened ranges would no longer show
    # above the limit this chart exists to show them against.
    center = _given(cl, p.n_phases, _mean_mr(p.pid, mr, p.mr_use, p.n_phases, screen=False))
    spread = (center * (D4 - 1) / 3)[p.pid]  # so that 3 sigma reaches D4·MR̄ = 3.267·MR̄
    return center, spread, mr, None


def _attribute(
    p: Points, chart: str, screen_mr: bool, cl: float | None, ordered: bool
) -> _Estimate:
    """p and u charts, and Laney's p′ and u′."""
    pid, base, y, n = p.pid, p.base, p.y, p.n
    num = y * n  # y is the proportion; recover the counts
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = group_sum(pid[base], num[base], p.n_phases) / group_sum(
            pid[base], n[base], p.n_phases
        )
        center = _given(cl, p.n_phases, pooled)
        c = center[pid]
        spread = np.sqrt(c * (1 - c) / n) if chart in ("p", "pp") else np.sqrt(c / n)
        z = (y - c) / spread
    if chart in ("pp", "up"):
        if ordered:
            # Laney (2002): between-subgroup variation from the moving ranges of z.
            mr = _moving_ranges(pid, z)
            sigma_z = _mean_mr(pid, mr, p.mr_use, p.n_phases, screen_mr) / D2
        else:
            # Units without a time order (funnel-style data): moving ranges would depend
            # on the order of the labels, so σz is the standard deviation of the z-scores
            # (qicharts2 0.7.2; Spiegelhalter 2005, Qual Saf Health Care 14:347).
            ok_z = base & np.isfinite(z)
            sigma_z = _group_sd(pid[ok_z], z[ok_z], p.n_phases)
        spread = spread * sigma_z[pid]
    return center, spread, y.copy(), None


def _count(p: Points, cl: float | None) -> _Estimate:
    center = _given(cl, p.n_phases, _group_mean(p.pid[p.base], p.y[p.base], p.n_phases))
    return center, np.sqrt(center)[p.pid], p.y.copy(), None


def _geometric(p: Points, cl: float | None) -> _Estimate:
    mean = _given(cl, p.n_phases, _group_mean(p.pid[p.base], p.y[p.base], p.n_phases))
    spread = np.sqrt(mean * (mean + 1))[p.pid]  # Benneyan (2001)
    # Geometric counts are skewed: the centre line, and the runs analysis against it,
    # is the median (Provost & Murray 2011, pp. 228-229), or the theoretical median
    # 0.693·ḡ when the centre is given.
    median = _group_median(p.pid[p.base], p.y[p.base], p.n_phases)
    center = median if cl is None else np.full(p.n_phases, 0.693 * float(cl))
    return center, spread, p.y.copy(), mean


def _subgroups(p: Points, chart: str, cl: float | None) -> _Estimate:
    """x̄ and s charts from each subgroup's mean, standard deviation and size."""
    pid, base, m, s_i, n_phases = p.pid, p.base, p.m, p.s, p.n_phases
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
            group_sum(pid[ok], (weights * s_i**2)[ok], n_phases)
            / group_sum(pid[ok], weights[ok], n_phases)
        )
    s_bar = np.where(largest > smallest, pooled, _group_mean(pid[ok], s_i[ok], n_phases))
    c4_i = _c4(m)
    if chart == "xbar":
        with np.errstate(divide="ignore", invalid="ignore"):
            grand = group_sum(pid[base], (m * p.y)[base], n_phases) / group_sum(
                pid[base], m[base], n_phases
            )
            center = _given(cl, n_phases, grand)
            spread = s_bar[pid] / (c4_i * np.sqrt(m))  # x̿ ± A3(nᵢ)·s̄ at 3 sigma
        return center, spread, p.y.copy(), None
    center = _given(cl, n_phases, s_bar)
    with np.errstate(divide="ignore", invalid="ignore"):
        # B3(nᵢ)·s̄ and B4(nᵢ)·s̄: s̄·(1 ∓ 3·c5/c4), c5 = √(1 − c4²).
        spread = center[pid] * np.sqrt(1 - c4_i**2) / c4_i
    return center, spread, s_i, None


def _estimate(
    p: Points, *, chart: str, rules: str, screen_mr: bool, cl: float | None, ordered: bool
) -> _Estimate:
    if chart == "run":
        return _run(p, cl)
    if chart in ("i", "t"):
        return _individuals(p, chart, rules, screen_mr, cl)
    if chart == "mr":
        return _moving_range(p, cl)
    if chart in ("p", "pp", "u", "up"):
        return _attribute(p, chart, screen_mr, cl, ordered)
    if chart == "c":
        return _count(p, cl)
    if chart == "g":
        return _geometric(p, cl)
    if chart in ("xbar", "s"):
        return _subgroups(p, chart, cl)
    raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")


def chart_limits(
    points: Points,
    *,
    chart: str,
    rules: str,
    sigma: float,
    screen_mr: bool,
    cl: float | None,
    ordered: bool,
) -> ChartLimits:
    """Centre line of each phase, and each point's sigma, limits and sigma signal.

    Parameters
    ----------
    points : Points
        The subgroups of every phase.
    chart : str
        One of :data:`CHARTS` (see :func:`~c2c_analysis.spc.control_chart` for the limits).
    rules : str
        ``"nhs"`` puts I chart limits at the mean ± 2.66·MR̄ (Making Data Count).
    sigma : float
        Width of the limits in sigmas.
    screen_mr : bool
        Nelson's (1982) screening of moving ranges for sigma (I, T, p′ and u′ charts).
    cl : float or None
        A fixed centre line.
    ordered : bool
        The points have a time order (else Laney's σz is the standard deviation of z).

    Returns
    -------
    ChartLimits
        Limits are NaN on run charts; count and dispersion limits are cut at 0, proportion
        limits clipped to [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([10.0, 12, 11, 13, 12])
    >>> ones = np.ones(5, dtype=bool)
    >>> points = Points(pid=np.zeros(5, dtype=int), n_phases=1, y=y, n=np.full(5, np.nan),
    ...                 s=np.full(5, np.nan), m=np.ones(5), withheld=~ones, included=ones,
    ...                 base=ones, mr_use=np.r_[False, ones[1:]])
    >>> limits = chart_limits(points, chart="i", rules="anhoej", sigma=3.0, screen_mr=True,
    ...                       cl=None, ordered=True)
    >>> float(limits.center[0]), round(float(limits.upper[0]), 3)
    (11.6, 15.589)
    """
    center, spread, plotted, limit_centre = _estimate(
        points, chart=chart, rules=rules, screen_mr=screen_mr, cl=cl, ordered=ordered
    )
    centre_point = center[points.pid]
    limit_point = centre_point if limit_centre is None else limit_centre[points.pid]
    lower = limit_point - sigma * spread
    upper = limit_point + sigma * spread
    if chart in ("p", "pp"):
        lower, upper = np.clip(lower, 0, 1), np.clip(upper, 0, 1)
    elif chart in ("u", "up", "c", "g", "mr", "s", "t"):
        lower = np.maximum(lower, 0)
    if chart == "run":
        lower = upper = np.full(len(points.y), np.nan)
    sigma_signal = np.isfinite(plotted) & ((plotted > upper) | (plotted < lower))
    return ChartLimits(
        center=center,
        plotted=plotted,
        centre_point=centre_point,
        limit_point=limit_point,
        spread=spread,
        lower=lower,
        upper=upper,
        sigma_signal=sigma_signal,
    )
