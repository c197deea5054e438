"""Baseline projections ("turn the curve"): each series' baseline trend carried forward,
and whether, and since when, the actual values beat it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from c2c_analysis._checks import check_level
from c2c_analysis._time import time_column
from c2c_analysis.schema import better_direction
from c2c_analysis.trends._fits import empirical_logit, ols_fit
from c2c_analysis.trends._prepare import (
    ends,
    is_datetime,
    period_number,
    prepare,
    series_codes,
    series_keys,
)
from c2c_analysis.validation import DataValidationError

__all__ = ["PROJECTION_COLUMNS", "baseline_summary", "project_baseline", "projection_keys"]

#: The columns project_baseline adds; the other columns of its result identify the series.
PROJECTION_COLUMNS = frozenset(
    {
        "actual",
        "projected",
        "pi_lower",
        "pi_upper",
        "in_baseline",
        "difference_pp",
        "difference_students",
        "beyond_interval",
        "better",
    }
)


def projection_keys(projection: pd.DataFrame, time: str = "year") -> list[str]:
    """The columns of a :func:`project_baseline` result that identify its series.

    Parameters
    ----------
    projection : DataFrame
        The result of :func:`project_baseline`.
    time : str
        Its period column.

    Returns
    -------
    list of str
        Every column that is neither ``time`` nor one of :data:`PROJECTION_COLUMNS`, in
        the order of the table.

    Examples
    --------
    >>> import pandas as pd
    >>> projection = pd.DataFrame(columns=["partnership", "year", "actual", "projected"])
    >>> projection_keys(projection)
    ['partnership']
    """
    return [c for c in projection.columns if c not in PROJECTION_COLUMNS and c != time]


def project_baseline(
    data: pd.DataFrame,
    *,
    baseline: tuple[float, float],
    through: float | None = None,
    time: str = "year",
    by: str | Sequence[str] | None = None,
    numerator: str = "numerator",
    denominator: str = "denominator",
    method: Literal["linear", "logit"] = "linear",
    level: float = 0.95,
) -> pd.DataFrame:
    """Project each series' baseline trend forward and compare the actual values with it.

    Results-Based Accountability calls the forecast of an indicator from its own history
    its *baseline*; doing better than the baseline is *turning the curve*.

    Parameters
    ----------
    data : DataFrame
        One row per series and period. Not modified.
    baseline : (first, last)
        The periods whose values form the baseline, inclusive. At least 3 periods with a
        value are needed in every series.
    through : number or date, optional
        Project up to this period (default: the last period in the data). Years missing
        from the data are projected too, with ``actual`` empty; for dates (monthly data)
        only the months in the data are shown, since school months have summer gaps.
    time, numerator, denominator : str
        As in :func:`trend`.
    by : str or sequence of str, optional
        As in :func:`trend`.
    method : {"linear", "logit"}
        ``linear``: least squares on the rates, with the t-based prediction interval of a new
        observation. ``logit``: the same on the logit scale (empirical logits where counts
        are known), transformed back, so projections and intervals stay inside [0, 1].
    level : float
        Level of the prediction interval.

    Returns
    -------
    DataFrame
        One row per series and period from the baseline's first period to ``through``: the
        ``by`` columns, the ``time`` column, ``actual`` (the rate), ``projected``,
        ``pi_lower``, ``pi_upper``, ``in_baseline``, ``difference_pp`` ((actual −
        projected) · 100), ``difference_students`` ((actual − projected) · denominator: how
        many more, or fewer, students met the outcome than the baseline predicts),
        ``beyond_interval`` (actual outside the prediction interval), and ``better`` (the
        outcome's better direction, from the catalogue; ``higher`` for custom outcomes).

    Raises
    ------
    DataValidationError
        If a series has fewer than 3 baseline periods with a value (every such series is
        listed), or the baseline is not ``(first, last)`` with first < last.

    Notes
    -----
    The prediction interval of a new observation at period t is
    ŷ(t) ± t_{k−2} · s · √(1 + 1/k + (t − t̄)² / Σ(tᵢ − t̄)²), with k baseline periods and s
    the residual standard deviation; it covers the year-to-year noise of the baseline as
    well as the uncertainty of the line. With 3-5 baseline periods it is wide, as it should be.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> out = project_baseline(data, baseline=(2010, 2012), method="logit")
    >>> out.loc[out["year"] == 2015, ["actual", "projected"]].round(3).values.tolist()
    [[0.826, 0.822]]
    """
    check_level(level)
    if method not in ("linear", "logit"):
        raise ValueError(f"method must be 'linear' or 'logit', not {method!r}")
    _check_baseline(baseline, time)
    time = time_column(data, time)
    keys = series_keys(data, by, time)
    frame = prepare(data, keys, time, numerator, denominator, need_counts=False)
    first, last = period_number(pd.Series(list(baseline), dtype=data[time].dtype), time)
    codes, groups = series_codes(frame, keys)
    n_series = len(groups)
    t = frame["_t"].to_numpy()
    rate = frame["_rate"].to_numpy()
    in_base = (t >= first) & (t <= last) & np.isfinite(rate)
    base_count = np.bincount(codes[in_base], minlength=n_series)
    _require_baseline_periods(base_count, groups, baseline, time)

    if method == "logit":
        y = empirical_logit(frame["_num"].to_numpy(), frame["_den"].to_numpy(), rate)
    else:
        y = rate
    fit = ols_fit(
        codes[in_base], t[in_base], y[in_base], n_series, np.ones(n_series, bool), hac=False
    )

    if through is not None:
        end = float(period_number(pd.Series([through], dtype=data[time].dtype), time)[0])
    else:
        end = float(np.nanmax(t))
    grid = _projection_grid(frame, keys, codes, groups, time, first, end)
    return _compare(grid, keys, time, fit, base_count, (first, last), method=method, level=level)


def _check_baseline(baseline: object, time: str) -> None:
    """``baseline`` is ``(first, last)`` with first < last, or a DataValidationError."""
    if not (isinstance(baseline, Sequence) and len(baseline) == 2 and baseline[0] < baseline[1]):
        raise DataValidationError(
            [
                {
                    "row": None,
                    "column": time,
                    "value": str(baseline),
                    "problem": "baseline must be (first, last) with first < last",
                }
            ]
        )


def _require_baseline_periods(
    base_count: np.ndarray, groups: pd.DataFrame, baseline: Sequence[float], time: str
) -> None:
    """Every series has at least 3 baseline periods with a value; else an error listing each."""
    short = base_count < 3
    if short.any():
        problems = [
            {
                "row": None,
                "column": time,
                "value": ", ".join(f"{k}={v}" for k, v in row.items()),
                "problem": f"{base_count[i]} baseline period(s) with a value in "
                f"{baseline[0]}-{baseline[1]}; "
                "a baseline needs at least 3",
            }
            for i, row in zip(np.flatnonzero(short), groups[short].to_dict("records"), strict=True)
        ]
        raise DataValidationError(problems, source="project_baseline")


def _compare(
    grid: pd.DataFrame,
    keys: list[str],
    time: str,
    fit: dict[str, np.ndarray],
    base_count: np.ndarray,
    window: tuple[float, float],
    *,
    method: str,
    level: float,
) -> pd.DataFrame:
    """The projection of every row of ``grid``, its prediction interval, and the actual
    value's difference from it (the columns of :data:`PROJECTION_COLUMNS`)."""
    first, last = window
    g = grid["_code"].to_numpy()
    tt = grid["_t"].to_numpy()
    k = base_count[g].astype(float)
    resid_sd = np.sqrt(fit["dispersion"][g])
    spread = resid_sd * np.sqrt(1 + 1 / k + (tt - fit["t_mean"][g]) ** 2 / fit["sxx"][g])
    centre = fit["intercept"][g] + fit["slope"][g] * (tt - fit["t_mean"][g])
    tq = stats.t.ppf(0.5 + level / 2, k - 2)
    lower, upper = centre - tq * spread, centre + tq * spread
    if method == "logit":
        centre, lower, upper = (1 / (1 + np.exp(-v)) for v in (centre, lower, upper))

    actual = grid["_rate"].to_numpy()
    cohort = grid["_cohort"].to_numpy()
    out = grid[[*keys, time]].copy()
    out["actual"] = actual
    out["projected"] = centre
    out["pi_lower"] = lower
    out["pi_upper"] = upper
    out["in_baseline"] = (tt >= first) & (tt <= last)
    out["difference_pp"] = 100 * (actual - centre)
    out["difference_students"] = (actual - centre) * cohort
    out["beyond_interval"] = np.isfinite(actual) & ((actual < lower) | (actual > upper))
    outcome = grid["outcome"] if "outcome" in grid else pd.Series("", index=grid.index)
    out["better"] = outcome.map(lambda o: better_direction(str(o))).to_numpy()
    return out.reset_index(drop=True)


def baseline_summary(projection: pd.DataFrame, *, time: str = "year") -> pd.DataFrame:
    """Whether, and since when, each series turned the curve.

    Parameters
    ----------
    projection : DataFrame
        The result of :func:`project_baseline`.
    time : str
        Its period column.

    Returns
    -------
    DataFrame
        One row per series: its key columns, ``baseline_first``, ``baseline_last``,
        ``last_period``, ``actual``, ``projected``, ``pi_lower``, ``pi_upper`` and
        ``difference_pp`` at the last period with an actual value, ``periods_after``
        (post-baseline periods with a value), ``periods_better`` and ``periods_worse``
        (beyond the interval in the better or the worse direction), ``turned`` (the last
        period is beyond the interval in the better direction), ``turned_since`` (the first
        period of the final unbroken run of better-than-interval periods, when ``turned``),
        and ``verdict``: ``turned_the_curve``, ``above_baseline_within_noise`` (better than
        projected but inside the interval), ``on_baseline``, ``below_baseline`` (worse than
        the interval) or ``no_data_after_baseline``.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' and dimension == 'all'")
    >>> summary = baseline_summary(project_baseline(data, baseline=(2010, 2012), method="logit"))
    >>> summary[["verdict", "periods_after"]].values.tolist()
    [['on_baseline', 7]]
    """
    time = time_column(projection, time)
    columns = {"actual", "projected", "pi_lower", "pi_upper", "in_baseline", "better", time}
    missing = sorted(columns - set(projection.columns))
    if missing:
        raise ValueError(f"not a project_baseline result: missing {', '.join(missing)}")
    keys = projection_keys(projection, time)
    frame, codes, n_series = _in_series_order(projection, keys, time)
    n = len(frame)
    in_base = frame["in_baseline"].to_numpy(dtype=bool)
    actual = frame["actual"].to_numpy(dtype=float)
    projected = frame["projected"].to_numpy(dtype=float)
    lower = frame["pi_lower"].to_numpy(dtype=float)
    upper = frame["pi_upper"].to_numpy(dtype=float)
    everything = np.ones(n, dtype=bool)

    series_first, _ = _ends_where(codes, everything, n_series)
    base_first, base_last = _ends_where(codes, in_base, n_series)
    # After the baseline: later than its last period (rows are in period order).
    row = np.arange(n)
    after = ~in_base & np.isfinite(actual) & (base_last[codes] >= 0) & (row > base_last[codes])
    higher = np.ones(n_series, dtype=bool)
    present = series_first >= 0
    higher[present] = frame["better"].to_numpy(dtype=object)[series_first[present]] == "higher"
    up = higher[codes]
    with np.errstate(invalid="ignore"):
        beyond_up, beyond_down = actual > upper, actual < lower
    better = after & np.where(up, beyond_up, beyond_down)
    worse = after & np.where(up, beyond_down, beyond_up)
    first_after, last = _ends_where(codes, after, n_series)
    some = last >= 0
    at = np.maximum(last, 0)

    def at_last(values: np.ndarray) -> np.ndarray:
        return np.where(some, values[at], np.nan) if n else np.full(n_series, np.nan)

    last_actual, last_projected = at_last(actual), at_last(projected)
    turned = some & (better[at] if n else False)
    below = some & (worse[at] if n else False)
    run_start = _run_start(codes, after, better, first_after, n_series)
    with np.errstate(invalid="ignore"):
        ahead = np.where(higher, last_actual > last_projected, last_actual < last_projected)
    verdict = np.select(
        [~some, turned, below, ahead],
        ["no_data_after_baseline", "turned_the_curve", "below_baseline",
         "above_baseline_within_noise"],
        "on_baseline",
    ).astype(object)  # fmt: skip

    labels = frame[time]
    if keys:
        out = frame[keys].iloc[series_first].reset_index(drop=True)
    else:
        out = pd.DataFrame(index=range(n_series))
    out["baseline_first"] = _labels_at(labels, base_first)
    out["baseline_last"] = _labels_at(labels, base_last)
    out["last_period"] = _labels_at(labels, last)
    out["actual"] = last_actual
    out["projected"] = last_projected
    out["pi_lower"] = at_last(lower)
    out["pi_upper"] = at_last(upper)
    out["difference_pp"] = 100 * (last_actual - last_projected)
    out["periods_after"] = np.bincount(codes[after], minlength=n_series)
    out["periods_better"] = np.bincount(codes[better], minlength=n_series)
    out["periods_worse"] = np.bincount(codes[worse], minlength=n_series)
    out["turned"] = turned
    out["turned_since"] = _labels_at(labels, np.where(turned, run_start, -1))
    out["verdict"] = verdict
    return out


def _in_series_order(
    projection: pd.DataFrame, keys: list[str], time: str
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """``projection`` with series in the order they first appear (their codes count up
    from there) and periods in order, each row's series code, and the number of series."""
    codes, groups = series_codes(projection, keys)
    n_series = len(groups)
    order = (
        pd.DataFrame({"_code": codes, "_t": projection[time].to_numpy()})
        .sort_values(["_code", "_t"], kind="stable")
        .index.to_numpy()
    )
    return projection.iloc[order].reset_index(drop=True), codes[order], n_series


def _run_start(
    codes: np.ndarray, after: np.ndarray, better: np.ndarray, first_after: np.ndarray, n: int
) -> np.ndarray:
    """Row where each series' final unbroken run of better periods begins: right after the
    last post-baseline period that was not better, or at the first post-baseline period if
    every one was."""
    _, last_not_better = _ends_where(codes, after & ~better, n)
    next_after = np.full(len(codes) + 1, -1)
    after_rows = np.flatnonzero(after)
    next_after[after_rows[:-1]] = after_rows[1:]
    return np.where(last_not_better >= 0, next_after[last_not_better], first_after)


def _ends_where(codes: np.ndarray, mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row index of each series' first and last row where ``mask`` holds; -1 where none."""
    first, last = ends(codes[mask], n)
    rows = np.flatnonzero(mask)
    return (np.where(first >= 0, rows[np.maximum(first, 0)], -1) if len(rows) else first,
            np.where(last >= 0, rows[np.maximum(last, 0)], -1) if len(rows) else last)  # fmt: skip


def _labels_at(labels: pd.Series, idx: np.ndarray) -> pd.Series:
    """``labels`` at row ``idx`` of every series, NaN (NaT for dates) where ``idx`` is -1:
    whole numbers stay integers where every series has one."""
    if not len(labels):
        return pd.Series(np.full(len(idx), np.nan))
    values = labels.iloc[np.maximum(idx, 0)].reset_index(drop=True)
    return values.where(pd.Series(idx >= 0)) if (idx < 0).any() else values


def _projection_grid(
    frame: pd.DataFrame,
    keys: list[str],
    codes: np.ndarray,
    groups: pd.DataFrame,
    time: str,
    first: float,
    end: float,
) -> pd.DataFrame:
    """Every series × every period from ``first`` to ``end``; integer periods (years, or
    months for dates) missing from the data are filled in with no value."""
    observed = frame[(frame["_t"] >= first) & (frame["_t"] <= end)].copy()
    observed["_code"] = codes[observed.index]
    t_values = frame["_t"].to_numpy()
    integer = len(t_values) and np.all(np.mod(t_values, 1) == 0) and float(first).is_integer()
    if not integer or is_datetime(frame[time]):
        # School months have structural gaps (summer): only observed months are shown.
        return observed.sort_values(["_code", "_t"], kind="stable").reset_index(drop=True)
    periods = np.arange(math.ceil(first), math.floor(end) + 1).astype(float)
    full = groups.assign(_code=np.arange(len(groups))).merge(
        pd.DataFrame({"_t": periods}), how="cross"
    )
    grid = full.merge(observed.drop(columns=[*keys, time]), on=["_code", "_t"], how="left")
    grid[time] = grid["_t"].astype(frame[time].dtype)
    return grid.sort_values(["_code", "_t"], kind="stable").reset_index(drop=True)
