"""The runs rules: Anhøj's, the IHI's and NHS England's, and the NHS classes of a point.

``anhoej`` (default; Anhøj & Olesen 2014): points on the centre line neither count nor break a
run; a signal is a longest run above round(log2(n_useful)) + 3, or fewer crossings of the
centre line than the 5% quantile of Binomial(n_useful − 1, 0.5).

``ihi`` (Provost & Murray 2011, Perla et al. 2011): a shift of 6 or more points on one side of
the median (points on it skipped), a trend of 5 or more points rising or falling (ties
skipped), too few or too many runs by the exact distribution of the number of runs
(Swed & Eisenhart 1943, 5% two-sided), and astronomical points where the user names them.

``nhs`` (NHS England "Making Data Count", as NHSRplotthedots 0.2.2 computes it): a point
beyond a limit; 7 or more rising or falling (a tie breaks the trend); two of three
consecutive points between two-thirds of the limit distance and the limit, all three on one
side of the mean; 7 or more in a row on one side (a point on the mean breaks it). A point
flagged by several rules takes the first in that order, and its direction from the rule (a
trend's from the trend, the others' from their side). With ``better`` each point is special
cause improvement or concern (neutral high or low without one), or common cause
(:func:`nhs_classes`), and :func:`nhs_summary` gives the variation and assurance (target
against limits) that the NHS icons show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.spc.limits import normal_runs_limits, runs_distribution_limits, runs_limits

__all__ = ["NHS_RULES", "RULES", "Runs", "nhs_classes", "nhs_summary", "runs_analysis"]

#: The rule sets.
RULES = ("anhoej", "ihi", "nhs")

#: The NHS rules in their order of precedence: a point flagged by several takes the first.
NHS_RULES = ("beyond_limit", "trend", "two_of_three", "shift")


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
    ``NHS_RULES``), its direction (+1 high or rising, −1 low or falling, 0 none), and each
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


@dataclasses.dataclass(frozen=True)
class Runs:
    """The runs analysis of every phase.

    ``columns``: the summary's runs columns in order (``n_useful, longest_run,
    longest_run_max, n_crossings, n_crossings_min`` and the rule set's own); ``signal`` per
    phase; ``in_signal_run`` per point; with NHS rules ``rule`` (0 none, else 1 + the index
    in :data:`NHS_RULES`) and ``direction`` (+1, −1, 0) per point, else None.

    Examples
    --------
    >>> import numpy as np
    >>> runs = Runs(columns={}, signal=np.array([False]), in_signal_run=np.zeros(3, dtype=bool))
    >>> runs.rule is None
    True
    """

    columns: dict[str, np.ndarray]
    signal: np.ndarray
    in_signal_run: np.ndarray
    rule: np.ndarray | None = None
    direction: np.ndarray | None = None


def _ihi(
    pid: np.ndarray,
    n_phases: int,
    *,
    plotted: np.ndarray,
    use: np.ndarray,
    useful: np.ndarray,
    side: np.ndarray,
    run_len: np.ndarray,
    n_useful: np.ndarray,
    crossings: np.ndarray,
    named: np.ndarray | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The IHI rules' summary columns and signal of each phase."""
    up_keys, up_side = pid[useful], side[useful]
    shift = _group_max(up_keys, run_len.astype(float), n_phases) >= 6
    trend = _group_max(pid, _trend_lengths(pid, plotted, use), n_phases) >= 5
    above = np.bincount(up_keys[up_side > 0], minlength=n_phases)
    below = np.bincount(up_keys[up_side < 0], minlength=n_phases)
    limits = [
        runs_distribution_limits(int(a), int(b)) if a + b <= 200 else normal_runs_limits(a, b)
        for a, b in zip(above, below, strict=True)
    ]
    runs_min = np.array([lim[0] for lim in limits])
    runs_max = np.array([lim[1] for lim in limits])
    n_runs = np.where(n_useful > 0, crossings + 1, 0)
    too_few_many = (n_runs < runs_min) | (n_runs > runs_max)
    astro = np.zeros(n_phases, dtype=bool)
    if named is not None:
        astro = np.bincount(pid[named], minlength=n_phases) > 0
    columns = {
        "shift": shift,
        "trend": trend,
        "n_runs": n_runs,
        "runs_min": runs_min,
        "runs_max": runs_max,
        "astronomical": astro,
    }
    return columns, shift | trend | too_few_many | astro


def runs_analysis(
    pid: np.ndarray,
    n_phases: int,
    *,
    plotted: np.ndarray,
    centre: np.ndarray,
    limit_centre: np.ndarray,
    half_width: np.ndarray,
    use: np.ndarray,
    outside: np.ndarray,
    x: pd.Series,
    rules: str,
    ordered: bool,
    astronomical: Sequence[Any] | None,
) -> Runs:
    """The runs rules on the used points of each phase, against its centre line.

    Parameters
    ----------
    pid : array of int
        Each point's phase, points sorted by phase and position.
    n_phases : int
        Number of phases.
    plotted, centre : arrays
        Each point's value and its phase's centre line.
    limit_centre, half_width : arrays
        Where the limits are centred and their distance from it (NHS rules).
    use : array of bool
        Points in the analysis (included, with a value).
    outside : array of bool
        Points strictly beyond a limit (NHS rules).
    x : Series
        The points' subgroups (IHI rules: ``astronomical`` names some of them).
    rules : {"anhoej", "ihi", "nhs"}
    ordered : bool
        The points have a time order (and are not moving ranges); without one there are no
        runs signals (IHI's astronomical points aside).
    astronomical : sequence or None
        IHI rules: the x values the user names as astronomical points.

    Returns
    -------
    Runs

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> y = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    >>> runs = runs_analysis(np.zeros(10, dtype=int), 1, plotted=y, centre=np.full(10, 5.5),
    ...     limit_centre=np.full(10, 5.5), half_width=np.full(10, np.nan),
    ...     use=np.ones(10, dtype=bool), outside=np.zeros(10, dtype=bool),
    ...     x=pd.Series(range(10)), rules="anhoej", ordered=True, astronomical=None)
    >>> int(runs.columns["longest_run"][0]), int(runs.columns["n_crossings"][0])
    (5, 1)
    >>> bool(runs.signal[0])
    True
    """
    side = np.sign(np.where(use, plotted - centre, 0.0))
    useful = use & (side != 0)
    up_keys, up_side = pid[useful], side[useful]
    run_len = _segments(up_keys, up_side)
    n_useful = np.bincount(up_keys, minlength=n_phases)
    longest = _group_max(up_keys, run_len.astype(float), n_phases)
    changes = np.zeros(len(up_side), dtype=bool)
    changes[1:] = (up_keys[1:] == up_keys[:-1]) & (up_side[1:] != up_side[:-1])
    crossings = np.bincount(up_keys[changes], minlength=n_phases)
    longest_max, crossings_min = runs_limits(n_useful)
    columns: dict[str, np.ndarray] = {
        "n_useful": n_useful,
        "longest_run": longest.astype(int),
        "longest_run_max": longest_max,
        "n_crossings": crossings,
        "n_crossings_min": crossings_min,
    }
    in_run = np.zeros(len(plotted), dtype=bool)
    rule = direction = None
    if rules == "anhoej":
        signal = (longest > longest_max) | (crossings < crossings_min)
        in_run[np.flatnonzero(useful)] = run_len > longest_max[up_keys]
    elif rules == "ihi":
        named = x.isin(list(astronomical)).to_numpy() if astronomical else None
        ihi, signal = _ihi(
            pid,
            n_phases,
            plotted=plotted,
            use=use,
            useful=useful,
            side=side,
            run_len=run_len,
            n_useful=n_useful,
            crossings=crossings,
            named=named,
        )
        columns.update(ihi)
        in_run[np.flatnonzero(useful)] = run_len >= 6  # the shift's points
    elif rules == "nhs":
        rule, direction, parts = _nhs_rules(
            pid, plotted, limit_centre, half_width, use, outside, ordered=ordered
        )
        flags = rule > 0
        signal = np.bincount(pid[flags], minlength=n_phases) > 0
        in_run = flags
        columns["n_shift_points"] = np.bincount(pid[parts["shift"]], minlength=n_phases)
        columns["n_trend_points"] = np.bincount(pid[parts["trend"]], minlength=n_phases)
        columns["n_two_of_three"] = np.bincount(pid[parts["two_of_three"]], minlength=n_phases)
    else:
        raise ValueError("rules must be 'anhoej', 'ihi' or 'nhs'")
    if not ordered and rules != "nhs":
        # Moving ranges are autocorrelated, and labels without a time order have no runs: no
        # runs signal (as in qicharts2); IHI's astronomical points are named by the user.
        signal = columns["astronomical"] if rules == "ihi" else signal & False
        in_run = np.zeros(len(plotted), dtype=bool)
    return Runs(
        columns=columns, signal=signal, in_signal_run=in_run, rule=rule, direction=direction
    )


def nhs_classes(rule: np.ndarray, direction: np.ndarray, better: str | None) -> np.ndarray:
    """Each point's NHS class from its rule and direction (:func:`runs_analysis`).

    Parameters
    ----------
    rule, direction : arrays of int
        From :class:`Runs` (rule 0: no signal).
    better : {"higher", "lower"} or None
        The favourable direction; None: neutral.

    Returns
    -------
    array of str
        ``special_cause_improvement``, ``special_cause_concern``,
        ``special_cause_neutral_high``/``_low`` (without ``better``) or ``common_cause``.

    Examples
    --------
    >>> import numpy as np
    >>> nhs_classes(np.array([0, 1, 4]), np.array([0, 1, -1]), "higher").tolist()
    ['common_cause', 'special_cause_improvement', 'special_cause_concern']
    """
    classes = np.full(len(rule), "common_cause", dtype=object)
    flagged = rule > 0
    if better in ("higher", "lower"):
        good = direction * (1 if better == "higher" else -1) > 0
        classes[flagged & good] = "special_cause_improvement"
        classes[flagged & ~good] = "special_cause_concern"
    else:  # neutral: high or low, for the purple icons
        classes[flagged & (direction > 0)] = "special_cause_neutral_high"
        classes[flagged & (direction < 0)] = "special_cause_neutral_low"
    return classes


def nhs_summary(
    table: pd.DataFrame,
    pid: np.ndarray,
    n_phases: int,
    better: str | None,
    target: float | None,
) -> pd.DataFrame:
    """Variation and assurance of each phase, as NHSRplotthedots computes them.

    Variation is the last point's class; assurance compares the target with the last
    point's limits: strictly outside them on the good side passes, on the bad side fails,
    a target on or inside a limit is hit and miss.

    Parameters
    ----------
    table : DataFrame
        The points, with ``y``, ``lower``, ``upper`` and ``nhs_class``.
    pid : array of int
        Each point's phase.
    n_phases : int
        Number of phases.
    better : {"higher", "lower"} or None
        The favourable direction.
    target : float or None
        The target.

    Returns
    -------
    DataFrame
        One row per phase: ``variation`` (a class of :func:`nhs_classes`) and ``assurance``
        (``consistently_passing``, ``consistently_failing``, ``hit_and_miss``,
        ``no_target`` or ``not_applicable`` without ``better``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({"y": [5.0, 6.0], "lower": [2.0, 2.0], "upper": [8.0, 8.0],
    ...                       "nhs_class": ["common_cause", "common_cause"]})
    >>> nhs_summary(table, np.array([0, 0]), 1, "higher", 1.0).iloc[0].tolist()
    ['common_cause', 'consistently_passing']
    """
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
    elif better not in ("higher", "lower"):
        assurance = np.full(n_phases, "not_applicable", dtype=object)
    else:
        increase = better == "higher"
        passing = target < lower if increase else target > upper
        failing = target > upper if increase else target < lower
        assurance = np.where(
            passing,
            "consistently_passing",
            np.where(failing, "consistently_failing", "hit_and_miss"),
        )
    return pd.DataFrame({"variation": variation, "assurance": assurance})
