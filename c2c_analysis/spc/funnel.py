"""Funnel plots: units (schools, partnerships) against their size, with control limits.

A funnel plot compares many units on one proportion without ranking them: each unit's rate
is plotted against its size (the denominator), around a centre (a target or the pooled rate)
with control limits that narrow as the size grows (Spiegelhalter 2005a). Units outside the
limits are flagged "above" or "below".

Limits are exact binomial quantiles made continuous by Spiegelhalter's interpolation
(2005a, appendix A.1.1) or, on request, the normal approximation. When the units differ more
than binomial sampling allows (over-dispersion), the limits are widened by a multiplicative
factor or an additive random-effects variance (Spiegelhalter 2005b).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats

from c2c_analysis._checks import check_level, require_columns
from c2c_analysis._results import Result
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["FunnelResult", "funnel_chart", "level_suffix"]

METHODS = ("exact", "normal")
SCALES = ("identity", "arcsine")
ADJUSTMENTS = ("none", "multiplicative", "additive")
FLAGS = ("above", "below", "within")


def _flags(rate: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Each unit's flag (:data:`FLAGS`): above the upper limit, below the lower, within."""
    return np.select([rate > upper, rate < lower], FLAGS[:2], FLAGS[2])


REFERENCES = (
    "Spiegelhalter DJ (2005). Funnel plots for comparing institutional performance. "
    "Statistics in Medicine 24:1185-1202 (appendix A.1.1: interpolated binomial limits).",
    "Spiegelhalter DJ (2005). Handling over-dispersion of performance indicators. "
    "Quality and Safety in Health Care 14:347-351.",
)


def level_suffix(level: float) -> str:
    """Column suffix of a confidence level.

    Parameters
    ----------
    level : float
        A confidence level in (0, 1).

    Returns
    -------
    str
        The level in percent without its decimal point, as the funnel's columns
        (``lower_95``, ``flag_998``) name it.

    Examples
    --------
    >>> level_suffix(0.95), level_suffix(0.998)
    ('95', '998')
    """
    return f"{100 * level:.10g}".replace(".", "")


# --- the transformation the z-scores and the over-dispersion live on ------------------------


def _forward(p: np.ndarray | np.float64, scale: str) -> np.ndarray | np.float64:
    return np.arcsin(np.sqrt(p)) if scale == "arcsine" else p


def _backward(x: np.ndarray, scale: str) -> np.ndarray:
    # Clipping on the transformed scale keeps limits monotone in n: sin² of an angle past
    # 0 or pi/2 would fold back inside [0, 1].
    if scale == "arcsine":
        return np.sin(np.clip(x, 0.0, math.pi / 2)) ** 2
    return np.clip(x, 0.0, 1.0)


def _standard_error(n: np.ndarray, centre: float, scale: str) -> np.ndarray:
    if scale == "arcsine":
        return 1.0 / (2.0 * np.sqrt(n))
    return np.sqrt(centre * (1.0 - centre) / n)


def _interpolated_quantile(p: float, n: np.ndarray, centre: float) -> np.ndarray:
    """Spiegelhalter's (2005a, A.1.1) continuous p-quantile of a binomial proportion.

    r is the binomial p-quantile (the smallest r with F(r) >= p), then
    alpha = (F(r) - p) / (F(r) - F(r - 1)) and the limit is (r - alpha) / n.
    """
    r = stats.binom.ppf(p, n, centre)
    at_r = stats.binom.cdf(r, n, centre)
    below_r = stats.binom.cdf(r - 1, n, centre)
    step = at_r - below_r
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(step > 0, (at_r - p) / step, 0.0)
    return np.clip((r - alpha) / n, 0.0, 1.0)


def _limits(
    n: np.ndarray,
    *,
    centre: float,
    level: float,
    method: str,
    scale: str,
    adjustment: str,
    phi: float,
    tau2: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits for sizes ``n`` at one level (vectorized over ``n``)."""
    n = np.asarray(n, dtype=float)
    tail = (1.0 - level) / 2.0
    centre_t = _forward(np.float64(centre), scale)
    se = _standard_error(n, centre, scale)
    if method == "exact":
        lower_t = _forward(_interpolated_quantile(tail, n, centre), scale)
        upper_t = _forward(_interpolated_quantile(1.0 - tail, n, centre), scale)
    else:
        z = stats.norm.ppf(1.0 - tail)
        lower_t, upper_t = centre_t - z * se, centre_t + z * se
    if adjustment == "multiplicative":
        factor = np.full_like(n, math.sqrt(max(phi, 1.0)))
    elif adjustment == "additive":
        factor = np.sqrt(1.0 + tau2 / se**2)
    else:
        factor = np.ones_like(n)
    lower = _backward(centre_t + factor * (lower_t - centre_t), scale)
    upper = _backward(centre_t + factor * (upper_t - centre_t), scale)
    return lower, upper


def _dispersion(
    z: np.ndarray, se: np.ndarray, winsorize: float | None
) -> tuple[float, float, np.ndarray]:
    """phi, tau² and the (winsorised) z-scores they come from (Spiegelhalter 2005b)."""
    count = len(z)
    if winsorize:
        # numpy's default (linear) quantile is R's type 7, which FunnelPlotR uses too.
        low, high = np.quantile(z, [winsorize, 1.0 - winsorize])
        z = np.clip(z, low, high)
    phi = float(np.mean(z**2))
    weights = 1.0 / se**2
    spread = weights.sum() - (weights**2).sum() / weights.sum()
    excess = count * phi - (count - 1)
    tau2 = float(excess / spread) if excess > 0 and spread > 0 else 0.0
    return phi, tau2, z


# --- the result ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class FunnelResult(Result):
    """A funnel chart: each unit's rate against its size, with control limits.

    Attributes
    ----------
    table : DataFrame
        One row per unit; the columns are listed in :func:`funnel_chart`'s Returns.
    summary : DataFrame
        One row: ``centre, centre_source, method, scale, adjustment, phi, tau2, n_units``
        and ``n_above_<level>`` / ``n_below_<level>`` for each level.
    settings : dict
        The call's options (``method`` is the limits' method, ``"exact"`` or
        ``"normal"``), the columns used, the ``references``, the package ``version``, the
        ``analysis`` and its ``method_reference``.
    notes : tuple of str
        What the limits are, which centre and adjustment were used and why, and any rows
        dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"unit": list("abcd"), "numerator": [40, 45, 60, 52],
    ...                      "denominator": [100, 100, 100, 100]})
    >>> result = funnel_chart(data, overdispersion=False)
    >>> result.conf_int(0.9)[["unit", "lower", "upper", "flag"]].round(3)
      unit  lower  upper    flag
    0    a  0.405   0.57   below
    1    b  0.405   0.57  within
    2    c  0.405   0.57   above
    3    d  0.405   0.57  within
    >>> result.settings["method_reference"].startswith("Spiegelhalter")
    True
    """

    analysis: ClassVar[str] = "Funnel plot"
    method_reference: ClassVar[str] = (
        "Spiegelhalter (2005), Funnel plots for comparing institutional performance, "
        "Statistics in Medicine 24:1185-1202"
    )

    def _limits_at(self, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        row = self.summary.iloc[0]
        return _limits(
            n,
            centre=float(row["centre"]),
            level=level,
            method=self.settings["method"],
            scale=self.settings["scale"],
            adjustment=str(row["adjustment"]),
            phi=float(row["phi"]),
            tau2=float(row["tau2"]),
        )

    def limits(self, denominator: Sequence[float] | np.ndarray | float) -> pd.DataFrame:
        """The control limits for any sizes (the funnel's curves).

        Parameters
        ----------
        denominator : float or sequence of float
            Sizes (whole numbers for exact limits).

        Returns
        -------
        DataFrame
            One row per size: ``denominator`` and ``lower_<level>``, ``upper_<level>`` for
            each level, computed exactly as for the units.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"unit": list("ab"), "numerator": [40, 60],
        ...                      "denominator": [100, 100]})
        >>> funnel_chart(data, overdispersion=False).limits([100]).round(3).values.tolist()
        [[100.0, 0.4, 0.6, 0.35, 0.65]]
        """
        n = np.atleast_1d(np.asarray(denominator, dtype=float))
        if (n <= 0).any() or not np.isfinite(n).all():
            raise ValueError("denominator: sizes must be positive and finite")
        if self.settings["method"] == "exact" and (n != np.round(n)).any():
            raise ValueError("denominator: exact binomial limits need whole-number sizes")
        out: dict[str, np.ndarray] = {"denominator": n}
        for level in self.settings["levels"]:
            lower, upper = self._limits_at(n, level)
            out[f"lower_{level_suffix(level)}"] = lower
            out[f"upper_{level_suffix(level)}"] = upper
        return pd.DataFrame(out)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Each unit's control limits at confidence ``level`` (any level, not only those
        of the chart), and where its rate lies.

        The limits are the interval in which a unit of its size lies with probability
        ``level`` when its true rate is the centre (with the chart's over-dispersion
        adjustment): an interval around the centre, not around the unit's rate.

        Parameters
        ----------
        level : float
            Two-sided confidence level, in (0, 1).

        Returns
        -------
        DataFrame
            One row per unit: ``unit``, ``denominator``, ``rate``, ``lower``, ``upper``
            (proportions in [0, 1]) and ``flag`` (``"above"``, ``"below"`` or ``"within"``;
            on a limit counts as within).
        """
        level = check_level(level)
        n = self.table["denominator"].to_numpy(dtype=float)
        rate = self.table["rate"].to_numpy(dtype=float)
        lower, upper = self._limits_at(n, level)
        flag = _flags(rate, lower, upper)
        return pd.DataFrame(
            {
                "unit": self.table["unit"].to_numpy(),
                "denominator": self.table["denominator"].to_numpy(),
                "rate": rate,
                "lower": lower,
                "upper": upper,
                "flag": flag,
            }
        )

    def plot(self, ax=None):
        """The funnel plot (see :func:`c2c_analysis.plotting.plot_funnel`).

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw (None: a new figure).

        Returns
        -------
        Axes
        """
        from c2c_analysis.plotting import plot_funnel

        return plot_funnel(self, ax=ax)

    def to_dict(self) -> dict[str, Any]:
        """Every member, JSON-safe (``type``, ``table`` as records, ``settings``, ``notes``);
        ``summary`` is its one row as a mapping."""
        out = super().to_dict()
        out["summary"] = out["summary"][0] if out["summary"] else {}
        return out

    def _title(self) -> str:
        row = self.summary.iloc[0]
        return (
            f"Funnel chart of {int(row['n_units'])} units around the {row['centre_source']} "
            f"rate {100 * float(row['centre']):.1f}% ({row['method']} limits, "
            f"over-dispersion adjustment: {row['adjustment']})"
        )

    def _repr_html_(self) -> str:
        return super()._repr_html_() + self.table.to_html(index=False, escape=True, border=0)


# --- input ----------------------------------------------------------------------------------


def _problem(unit: Any, column: str, value: Any, problem: str) -> dict[str, Any]:
    return {"row": None, "column": column, "value": str(value), "problem": f"{problem} ({unit})"}


def _counts(
    data: pd.DataFrame, numerator: str, denominator: str, unit: str, method: str
) -> tuple[pd.DataFrame, list[str]]:
    """Validated counts summed per unit (in order of first appearance) and reading notes."""
    # Long because every check names the unit, column and value of each bad row in one
    # list (one error for all problems), before the sums.
    require_columns(data, [numerator, denominator, unit])
    frame = pd.DataFrame(
        {
            "unit": data[unit].to_numpy(),
            "numerator": pd.to_numeric(data[numerator], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            ),
            "denominator": pd.to_numeric(data[denominator], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            ),
        },
        index=data.index,
    )
    problems: list[dict[str, Any]] = []
    for column, name in (("numerator", numerator), ("denominator", denominator)):
        unreadable = frame[column].isna() & data[name].notna().to_numpy()
        problems += [
            {"row": i, "column": name, "value": str(v), "problem": "not a number"}
            for i, v in data.loc[unreadable.to_numpy(), name].items()
        ]
    no_unit = data[unit].isna().to_numpy()
    problems += [
        {"row": i, "column": unit, "value": "", "problem": "unit is missing"}
        for i in data.index[no_unit]
    ]
    for column, name in (("numerator", numerator), ("denominator", denominator)):
        negative = frame[column] < 0
        problems += [
            {"row": i, "column": name, "value": str(v), "problem": f"negative count ({u})"}
            for i, v, u in zip(
                frame.index[negative], frame[column][negative], frame["unit"][negative], strict=True
            )
        ]
    over = frame["numerator"] > frame["denominator"]
    problems += [
        {
            "row": i,
            "column": numerator,
            "value": f"{num:g} > {den:g}",
            "problem": f"numerator larger than denominator ({u})",
        }
        for i, num, den, u in zip(
            frame.index[over],
            frame["numerator"][over],
            frame["denominator"][over],
            frame["unit"][over],
            strict=True,
        )
    ]
    if problems:
        raise DataValidationError(problems)

    notes: list[str] = []
    incomplete = frame["numerator"].isna() | frame["denominator"].isna()
    if incomplete.any():
        left_out = pd.unique(frame.loc[incomplete, "unit"])
        shown = ", ".join(map(str, left_out[:5])) + (", ..." if len(left_out) > 5 else "")
        message = (
            f"{int(incomplete.sum())} row(s) without a numerator or denominator left out "
            f"(units: {shown})"
        )
        warnings.warn(message, C2CDataWarning, stacklevel=3)
        notes.append(message + ".")
        frame = frame[~incomplete.to_numpy()]
    if frame.empty:
        raise DataValidationError(
            [{"row": None, "column": denominator, "value": "", "problem": "no usable rows"}]
        )
    units = frame.groupby("unit", sort=False)[["numerator", "denominator"]].sum().reset_index()
    if len(units) < len(frame):
        notes.append(f"{len(frame)} rows summed into {len(units)} units.")
    problems = [
        _problem(u, denominator, 0, "the unit's denominator is zero")
        for u in units.loc[units["denominator"] == 0, "unit"]
    ]
    if method == "exact":
        fractional = units["denominator"] != np.round(units["denominator"])
        problems += [
            _problem(u, denominator, v, "exact binomial limits need a whole-number denominator")
            for u, v in zip(
                units.loc[fractional, "unit"], units.loc[fractional, "denominator"], strict=True
            )
        ]
    if problems:
        raise DataValidationError(problems)
    return units, notes


def _check_options(
    target: float | None,
    overdispersion: bool | str,
    method: str,
    levels: Sequence[float],
    scale: str,
    winsorize: float | None,
) -> tuple[float, ...]:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}; got {scale!r}")
    if not isinstance(overdispersion, bool) and overdispersion not in ADJUSTMENTS[1:]:
        raise ValueError(
            "overdispersion must be True, False, 'multiplicative' or 'additive'; "
            f"got {overdispersion!r}"
        )
    if target is not None and not (0.0 < float(target) < 1.0):
        hint = f" (a percentage? use {float(target) / 100:g})" if 1 < float(target) < 100 else ""
        raise ValueError(
            f"target must be a proportion strictly between 0 and 1; got {target}{hint}"
        )
    if winsorize is not None and not (0.0 <= float(winsorize) < 0.5):
        raise ValueError(f"winsorize must be in [0, 0.5) (0.1 is 10% at each end); got {winsorize}")
    levels = tuple(float(level) for level in np.atleast_1d(levels))
    if not levels or any(not (0.0 < level < 1.0) for level in levels):
        raise ValueError(f"levels must be confidence levels in (0, 1); got {levels}")
    suffixes = [level_suffix(level) for level in levels]
    if len(set(suffixes)) != len(suffixes):
        raise ValueError(f"levels must be distinct; got {levels}")
    return tuple(sorted(levels))


def _discreteness_notes(
    num: np.ndarray,
    den: np.ndarray,
    centre: float,
    levels: Sequence[float],
    flags: dict[str, np.ndarray],
) -> list[str]:
    """Say how many flags a strict binomial test would not give.

    The interpolated limit lies inside the step below the quantile count r, so a unit with
    exactly r is plotted beyond it although P(R >= r) exceeds the tail probability; for
    small units this matters (10 of 10 at a centre of 83% has P = 0.16, yet lies above
    the 99.8% limit)."""
    notes = []
    upper_tail = stats.binom.sf(num - 1, den, centre)  # P(R >= r)
    lower_tail = stats.binom.cdf(num, den, centre)  # P(R <= r)
    for level in levels:
        suffix = level_suffix(level)
        tail = (1.0 - level) / 2.0
        flag = flags[f"flag_{suffix}"]
        lenient = ((flag == "above") & (upper_tail > tail)) | (
            (flag == "below") & (lower_tail > tail)
        )
        if lenient.any():
            notes.append(
                f"{int(lenient.sum())} unit(s) flagged at {100 * level:.10g}% have an exact "
                f"binomial tail probability above {tail:g} (their count is on the discrete "
                "step that the interpolation smooths; small units are affected most)."
            )
    return notes


def _centre(num: np.ndarray, den: np.ndarray, target: float | None) -> tuple[float, str, str]:
    """The centre, where it comes from, and the note that says so."""
    if target is not None:
        centre = float(target)
        return centre, "target", f"Centre: the target, {100 * centre:.2f}%."
    centre = float(num.sum() / den.sum())
    if centre in (0.0, 1.0):
        raise ValueError(
            f"the pooled rate is {centre:g}: every unit is at {centre:.0%}, so no funnel "
            "exists; give a target"
        )
    return centre, "pooled", f"Centre: the pooled rate of the units, {100 * centre:.2f}%."


def _limits_note(method: str, scale: str) -> str:
    if method == "exact":
        return (
            "Limits: exact binomial quantiles with Spiegelhalter's (2005) interpolation "
            "(Statistics in Medicine 24:1185, appendix A.1.1)."
        )
    return "Limits: normal approximation, centre ± z·sqrt(centre(1 − centre)/n)" + (
        " on the arcsine scale." if scale == "arcsine" else "."
    )


def _adjustment(
    overdispersion: bool | str, phi: float, tau2: float, winsorize: float | None, method: str
) -> tuple[str, list[str]]:
    """The over-dispersion adjustment applied, and the notes that say which and why."""
    trimmed = f", z-scores winsorised at {100 * winsorize:g}% each end" if winsorize else ""
    notes = []
    if overdispersion is True:
        adjustment = "multiplicative" if phi > 1 else "none"
        notes.append(
            f"Over-dispersion: phi = {phi:.3f}{trimmed}; "
            + (
                "limits widened by sqrt(phi) (the multiplicative adjustment applies when phi > 1)."
                if adjustment == "multiplicative"
                else "phi <= 1, so no adjustment (it applies only when phi > 1)."
            )
        )
    elif overdispersion is False:
        adjustment = "none"
        notes.append(f"Over-dispersion: not adjusted (phi = {phi:.3f}{trimmed}).")
    else:
        adjustment = str(overdispersion)
        if adjustment == "multiplicative":
            floor = " floored at 1" if phi < 1 else ""
            notes.append(
                f"Over-dispersion: limits widened by sqrt(phi), phi = {phi:.3f}{trimmed}{floor}."
            )
        else:
            notes.append(
                f"Over-dispersion: additive, between-unit variance tau² = {tau2:.4g} "
                f"(phi = {phi:.3f}{trimmed})."
            )
    if method == "exact" and adjustment != "none":
        notes.append(
            "The exact limits' distance from the centre is scaled by the adjustment's factor."
        )
    return adjustment, notes


# --- the analysis ----------------------------------------------------------------------------


def funnel_chart(
    data: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    unit: str = "unit",
    target: float | None = None,
    overdispersion: bool | str = True,
    method: str = "exact",
    levels: Sequence[float] = (0.95, 0.998),
    scale: str = "identity",
    winsorize: float | None = 0.1,
) -> FunnelResult:
    """Funnel chart: each unit's rate against its size, with control limits around a centre.

    Rows sharing a unit are summed (several years, or schools of one partnership). Each unit
    is compared with the limits for its own size and flagged ``"above"``, ``"below"`` or
    ``"within"`` at each level.

    Parameters
    ----------
    data : DataFrame
        One or more rows per unit with counts. Not modified.
    numerator, denominator : str
        Columns of counts (students meeting the outcome, students in the cohort). Rows with
        either missing are left out with a :class:`C2CDataWarning`.
    unit : str
        Column naming the unit (school, district, partnership).
    target : float, optional
        The centre as a proportion in (0, 1). Default: the pooled rate Σnumerator /
        Σdenominator over the units.
    overdispersion : bool or {"multiplicative", "additive"}
        ``True`` (default): the multiplicative adjustment when the estimated phi exceeds 1,
        none otherwise (the notes say which). ``False``: no adjustment (phi and tau² are still
        estimated and reported). ``"multiplicative"``: limits widened by sqrt(phi), phi
        floored at 1 (no adjustment narrows the binomial limits). ``"additive"``: a
        between-unit variance tau² added to each unit's sampling variance.
    method : {"exact", "normal"}
        ``"exact"`` (default): binomial quantiles with Spiegelhalter's interpolation.
        ``"normal"``: the normal approximation centre ± z·sqrt(centre(1 − centre)/n).
    levels : sequence of float
        Two-sided levels of the limits; default 95% and 99.8% (about 2 and 3 sigma).
    scale : {"identity", "arcsine"}
        The scale of the z-scores, of phi and tau², and of the normal limits: the proportion
        itself (default) or the variance-stabilising arcsin(sqrt(p)) with standard error
        1/(2·sqrt(n)), which Spiegelhalter (2005b) suggests for proportions and FunnelPlotR
        uses for proportion data.
    winsorize : float or None
        Fraction of z-scores shrunk in at each end before phi is estimated (0.1: to the 10th
        and 90th percentiles, as Spiegelhalter 2005b does); ``None`` or 0 for none.

    Returns
    -------
    FunnelResult
        ``.table`` has one row per unit, in order of first appearance:

        - ``unit``: the unit, as given.
        - ``numerator``, ``denominator``: the unit's summed counts.
        - ``rate``: numerator / denominator.
        - ``z``: (g(rate) − g(centre)) / s, with g and s of ``scale``; unadjusted.
        - ``z_adjusted``: ``z`` divided by the adjustment's factor (equal to ``z`` when no
          adjustment applies).
        - ``lower_<level>``, ``upper_<level>``: the limits for the unit's size, proportions
          in [0, 1] (``lower_95``, ``upper_95``, ``lower_998``, ``upper_998`` by default).
        - ``flag_<level>``: ``"above"`` (rate above the upper limit), ``"below"`` or
          ``"within"`` (on a limit counts as within).

        ``.summary`` (one row): ``centre``, ``centre_source`` (``"target"`` or
        ``"pooled"``), ``method``, ``scale``, ``adjustment`` (the one applied: ``"none"``,
        ``"multiplicative"`` or ``"additive"``), ``phi`` (winsorised if asked), ``tau2``,
        ``n_units``, and ``n_above_<level>``, ``n_below_<level>`` for each level.
        ``.limits(n)`` gives the limits for any sizes and ``.plot()`` draws the funnel.

    Raises
    ------
    DataValidationError
        A column is missing; a count is not a number or negative; a numerator exceeds its
        denominator; a unit is missing or its denominator sums to zero; with
        ``method="exact"``, a unit's denominator is not a whole number.
    ValueError
        An option is out of range, or the pooled rate is 0 or 1 (no funnel exists).

    Notes
    -----
    Exact limits (Spiegelhalter 2005a, appendix A.1.1): for a tail probability p (0.025 and
    0.975 at 95%), let r be the smallest count with F(r) >= p, F the Binomial(n, centre)
    distribution function; with alpha = (F(r) − p) / (F(r) − F(r − 1)) the limit is
    (r − alpha) / n, which interpolates between the discrete quantiles so that the limits
    are smooth curves. The limit lies within the step below r, so a unit whose count is r
    lies beyond it: for small units the chance of a flag exceeds the nominal tail (10 of 10
    at a centre of 83% lies above the 99.8% limit although P(R = 10) = 0.16). The notes
    count the flagged units whose exact binomial tail probability exceeds the level's tail.

    Over-dispersion (Spiegelhalter 2005b): z_i = (g(y_i) − g(θ0)) / s_i, with s_i =
    sqrt(θ0(1 − θ0)/n_i) (or 1/(2·sqrt(n_i)) on the arcsine scale); phi = Σ z_i² / I over
    the I units (z winsorised first). Multiplicative limits: g(θ0) ± z_p·sqrt(phi)·s_i.
    Additive: tau² = (I·phi − (I − 1)) / (Σw_i − Σw_i²/Σw_i), w_i = 1/s_i², and 0 when
    I·phi <= I − 1; limits g(θ0) ± z_p·sqrt(s_i² + tau²). Both are the paper's formulas
    for ``method="normal"``. For ``method="exact"`` the exact limit's distance from the
    centre (on the same scale) is multiplied by the same factor, sqrt(phi) or
    sqrt(1 + tau²/s_i²), which keeps the binomial asymmetry for small units. Limits are
    clipped to [0, 1].

    References
    ----------
    Spiegelhalter DJ (2005a). Funnel plots for comparing institutional performance.
    *Statistics in Medicine* 24:1185–1202.

    Spiegelhalter DJ (2005b). Handling over-dispersion of performance indicators.
    *Quality and Safety in Health Care* 14:347–351.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> data = load_sample("outcomes").query(
    ...     "outcome == 'hs_graduation' and dimension == 'all' and year == 2019"
    ... )
    >>> result = funnel_chart(data, unit="partnership", overdispersion=False)
    >>> result.table[["unit", "denominator", "rate", "flag_998"]].round(3)
                  unit  denominator   rate flag_998
    0           tacoma         2124  0.896    above
    1      harbor_city         6665  0.808    below
    2         riverton         1404  0.814   within
    3  lakeside_county          658  0.853   within
    4     north_valley          147  0.810   within
    >>> result.summary[["centre", "centre_source", "method", "adjustment"]].round(4)
       centre centre_source method adjustment
    0  0.8284        pooled  exact       none
    """
    levels = _check_options(target, overdispersion, method, levels, scale, winsorize)
    units, notes = _counts(data, numerator, denominator, unit, method)
    num = units["numerator"].to_numpy()
    den = units["denominator"].to_numpy()
    centre, centre_source, centre_note = _centre(num, den, target)
    notes.insert(0, centre_note)
    notes.append(_limits_note(method, scale))

    rate = num / den
    se = _standard_error(den, centre, scale)
    z = (_forward(rate, scale) - _forward(np.float64(centre), scale)) / se
    phi, tau2, _ = _dispersion(z, se, winsorize or None)
    adjustment, adjustment_notes = _adjustment(overdispersion, phi, tau2, winsorize, method)
    notes += adjustment_notes

    table = units.assign(rate=rate, z=z)
    for column in ("numerator", "denominator"):
        if (table[column] == np.round(table[column])).all():
            table[column] = table[column].astype("int64")
    if adjustment == "multiplicative":
        table["z_adjusted"] = z / math.sqrt(max(phi, 1.0))
    elif adjustment == "additive":
        table["z_adjusted"] = z / np.sqrt(1.0 + tau2 / se**2)
    else:
        table["z_adjusted"] = z
    summary: dict[str, Any] = {
        "centre": centre,
        "centre_source": centre_source,
        "method": method,
        "scale": scale,
        "adjustment": adjustment,
        "phi": phi,
        "tau2": tau2,
        "n_units": len(units),
    }
    flags = {}
    for level in levels:
        suffix = level_suffix(level)
        lower, upper = _limits(
            den,
            centre=centre,
            level=level,
            method=method,
            scale=scale,
            adjustment=adjustment,
            phi=phi,
            tau2=tau2,
        )
        table[f"lower_{suffix}"] = lower
        table[f"upper_{suffix}"] = upper
        flags[f"flag_{suffix}"] = _flags(rate, lower, upper)
        summary[f"n_above_{suffix}"] = int((rate > upper).sum())
        summary[f"n_below_{suffix}"] = int((rate < lower).sum())
    for name, values in flags.items():
        table[name] = values
    if method == "exact" and adjustment == "none" and (num == np.round(num)).all():
        notes += _discreteness_notes(num, den, centre, levels, flags)

    settings = {
        "numerator": numerator,
        "denominator": denominator,
        "unit": unit,
        "target": None if target is None else float(target),
        "overdispersion": overdispersion,
        "method": method,
        "levels": list(levels),
        "scale": scale,
        "winsorize": None if not winsorize else float(winsorize),
        "references": list(REFERENCES),
    }
    return FunnelResult(
        table=table.reset_index(drop=True),
        summary=pd.DataFrame([summary]),
        settings=settings,
        notes=tuple(notes),
    )
