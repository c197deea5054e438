"""The results of the decompositions, in the package's one result shape: ``table``,
``summary``, ``settings``, ``notes``, ``to_dict()``, ``plot(ax=None)``, and ``conf_int(level)``
where there are intervals (Oaxaca-Blinder with the bootstrap)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from c2c_analysis._checks import check_level
from c2c_analysis._results import Result

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["DasGuptaResult", "DecompositionResult", "OaxacaBlinderResult"]

#: The components of the twofold and the threefold Oaxaca-Blinder decomposition.
TWOFOLD = ("explained", "unexplained")
THREEFOLD = ("endowments", "coefficients", "interaction")
COMPONENTS = ("gap", *TWOFOLD, *THREEFOLD)


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class _Waterfall(Result):
    """A decomposition: its figure is a waterfall from the start value through each
    effect to the end value."""

    def plot(self, ax: Axes | None = None) -> Axes:
        """Waterfall of the decomposition: the start value, each effect, the end value
        (the first series only, for a Kitagawa result; see
        :func:`c2c_analysis.plotting.plot_waterfall`).

        Parameters
        ----------
        ax : Axes, optional
            Where to draw (None: a new figure).

        Returns
        -------
        Axes
            One bar each for the start value, every effect and the end value.
        """
        from c2c_analysis.plotting import plot_waterfall

        return plot_waterfall(self, ax=ax)


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class DecompositionResult(_Waterfall):
    """Kitagawa's decomposition of the change in an overall rate (see
    :func:`~c2c_analysis.decompose.decompose_rate_change`).

    Attributes
    ----------
    table : DataFrame
        One row per series and group: the series' keys, the group, ``share_start``,
        ``share_end``, ``rate_start``, ``rate_end``, ``composition_effect``,
        ``composition_effect_centered``, ``rate_effect``.
    summary : DataFrame
        One row per series: its keys, ``start``, ``end``, ``rate_start``, ``rate_end``,
        ``total_change``, ``composition_effect``, ``rate_effect``, ``note``.
    settings : dict
        ``start``, ``end``, ``time``, ``group``, ``numerator``, ``denominator``, ``by``
        (the series' keys), ``method`` (``"kitagawa"``), the package ``version``,
        ``analysis`` (the method's name) and ``method_reference`` (the literature).
    notes : tuple of str
        Empty: each series' notes are in the summary's ``note`` column.

    The decomposition has no intervals (Kitagawa's components are exact identities of the
    counts), so there is no ``conf_int``.

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> from c2c_analysis.decompose import decompose_rate_change
    >>> data = load_sample("outcomes").query(
    ...     "partnership == 'tacoma' and outcome == 'hs_graduation' "
    ...     "and dimension == 'race_ethnicity'")
    >>> result = decompose_rate_change(data, start=2012, end=2015)
    >>> result.settings["method_reference"]
    'Kitagawa (1955), Components of a difference between two rates, JASA 50:1168-1194'
    >>> [bool(bar.get_height() > 0) for bar in result.plot().patches]
    [True, False, True, True]
    """

    analysis: ClassVar[str] = "Kitagawa decomposition"
    method_reference: ClassVar[str] = (
        "Kitagawa (1955), Components of a difference between two rates, JASA 50:1168-1194"
    )

    def _title(self) -> str:
        return f"{self.analysis}, {self.settings.get('start')} to {self.settings.get('end')}"


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class DasGuptaResult(_Waterfall):
    """Das Gupta's standardization and decomposition of rates (see
    :func:`~c2c_analysis.decompose.das_gupta`).

    Attributes
    ----------
    table : DataFrame
        One row per population and factor: ``population``, ``factor``,
        ``standardized_rate``, ``crude_rate``.
    summary : DataFrame
        The factor effects (also :attr:`effects`), one row per pair of populations and
        factor: ``population_from``, ``population_to``, ``factor``, ``effect``, ``share``,
        ``crude_difference``.
    settings : dict
        ``group`` (the column of the populations), ``factors``, ``subgroup``,
        ``populations`` (in the comparison order), ``first``, ``second``, ``order`` (how
        the order was chosen), ``comparison`` (in words), ``method`` (``"das_gupta"``),
        the package ``version``, ``analysis`` (the method's name) and
        ``method_reference`` (the literature).
    notes : tuple of str
        Empty.

    The decomposition is exact (no sampling model), so there is no ``conf_int``.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.decompose import das_gupta
    >>> data = pd.DataFrame({"pop": [1, 2], "a": [2.0, 3.0], "b": [5.0, 4.0]})
    >>> result = das_gupta(data, group="pop", factors=["a", "b"])
    >>> result.effects[["factor", "effect"]].values.tolist()
    [['a', 4.5], ['b', -2.5]]
    """

    analysis: ClassVar[str] = "Das Gupta standardization and decomposition"
    method_reference: ClassVar[str] = (
        "Das Gupta (1993), Standardization and Decomposition of Rates: A User's Manual, "
        "US Bureau of the Census, Current Population Reports P23-186"
    )

    @property
    def effects(self) -> pd.DataFrame:
        """The factor effects: :attr:`summary`, one row per pair of populations and factor
        (``population_from``, ``population_to``, ``factor``, ``effect``, ``share``,
        ``crude_difference``)."""
        return self.summary

    def _title(self) -> str:
        return f"{self.analysis}: {self.settings.get('comparison', '')}"


@dataclasses.dataclass(frozen=True, repr=False, kw_only=True)
class OaxacaBlinderResult(_Waterfall):
    """Blinder-Oaxaca decomposition of a gap between two groups (see
    :func:`~c2c_analysis.decompose.oaxaca_blinder`).

    Attributes
    ----------
    table : DataFrame
        Per covariate (and the intercept): ``covariate``, ``mean_reference``,
        ``mean_other``, ``coef_reference``, ``coef_other``, ``coef_star``, ``explained``,
        ``unexplained``, ``endowments``, ``coefficients``, ``interaction`` (and ``*_se``
        with the bootstrap); no rows with ``detailed=False``.
    summary : DataFrame
        One row per component (``gap``, ``explained``, ``unexplained``, ``endowments``,
        ``coefficients``, ``interaction``): ``component``, ``estimate``, ``se`` (bootstrap;
        NaN without).
    draws : DataFrame
        The bootstrap estimates, one row per resample and a column per component (no rows
        without the bootstrap): :meth:`conf_int` takes its percentiles.
    settings : dict
        The arguments (``value``, ``group``, ``covariates``, ``reference``, ``weights``,
        ``detailed``, ``bootstrap``, ``seed``), ``other_group``, the rows used and left out
        (``rows_used``, ``rows_left_out``), ``method`` (``"oaxaca_blinder"``), the package
        ``version``, ``analysis`` (the method's name) and ``method_reference`` (the
        literature). ``outcome`` repeats ``value`` and ``reference_group`` ``reference``
        (their keys before 0.2).
    notes : tuple of str
        How many rows were left out for missing values.

    Examples
    --------
    >>> import pandas as pd
    >>> from c2c_analysis.decompose import oaxaca_blinder
    >>> students = pd.DataFrame({"y": [1.0, 3.0, 2.0, 6.0, 0.0, 1.0, 1.0, 2.0],
    ...                          "g": ["a"] * 4 + ["b"] * 4, "x": [0, 1, 1, 2, 0, 0, 1, 1]})
    >>> result = oaxaca_blinder(students, value="y", group="g", reference="a",
    ...                         covariates=["x"])
    >>> result.gap
    2.0
    >>> result.twofold["estimate"].round(3).tolist()
    [1.0, 1.0]
    """

    draws: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=list(COMPONENTS), dtype=float)
    )

    analysis: ClassVar[str] = "Oaxaca-Blinder decomposition"
    method_reference: ClassVar[str] = (
        "Oaxaca (1973), Male-female wage differentials in urban labor markets, Int Econ Rev "
        "14:693-709; Blinder (1973), Wage discrimination: reduced form and structural "
        "estimates, J Hum Resour 8:436-455"
    )

    @property
    def gap(self) -> float:
        """The raw gap: mean of the reference group minus mean of the other group."""
        gap = self.summary.loc[self.summary["component"] == "gap", "estimate"]
        return float(gap.to_numpy(dtype=float)[0])

    @property
    def twofold(self) -> pd.DataFrame:
        """The twofold decomposition: the ``explained`` and ``unexplained`` rows of
        :attr:`summary` (``component``, ``estimate``, ``se``), which add up to the gap."""
        return self._components(TWOFOLD)

    @property
    def threefold(self) -> pd.DataFrame:
        """The threefold decomposition: the ``endowments``, ``coefficients`` and
        ``interaction`` rows of :attr:`summary` (``component``, ``estimate``, ``se``), which
        add up to the gap."""
        return self._components(THREEFOLD)

    def _components(self, names: tuple[str, ...]) -> pd.DataFrame:
        rows = self.summary[self.summary["component"].isin(names)]
        return rows.reset_index(drop=True)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Each component's interval at confidence ``level``, from the bootstrap.

        Percentile intervals of the bootstrap draws (:attr:`draws`), for any level; a result
        that holds standard errors but no draws gets estimate ± z·se.

        Parameters
        ----------
        level : float
            Confidence level, in (0, 1) (default 0.95).

        Returns
        -------
        DataFrame
            One row per component (``gap``, ``explained``, ``unexplained``, ``endowments``,
            ``coefficients``, ``interaction``): ``component``, ``estimate``, ``se``,
            ``ci_lower``, ``ci_upper``, ``level``.

        Raises
        ------
        ValueError
            When the result has no bootstrap (``bootstrap=0``): there are no intervals.

        Examples
        --------
        >>> from c2c_analysis import load_sample
        >>> from c2c_analysis.decompose import oaxaca_blinder
        >>> students = load_sample("students").query("class_of == 2015")
        >>> students = students.assign(white=(students["race_ethnicity"] == "White").astype(int))
        >>> result = oaxaca_blinder(students, value="graduated", group="white", reference=1,
        ...                         covariates=["low_income", "prior_score"], bootstrap=200,
        ...                         seed=1)
        >>> wide, narrow = result.conf_int(0.99), result.conf_int(0.8)
        >>> bool((wide["ci_lower"] <= narrow["ci_lower"]).all())
        True
        """
        level = check_level(level)
        out = self.summary[["component", "estimate", "se"]].reset_index(drop=True)
        if len(self.draws):
            draws = self.draws[out["component"].tolist()].to_numpy(dtype=float)
            lower, upper = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        elif out["se"].notna().any():
            from scipy import stats

            z = float(stats.norm.ppf((1 + level) / 2))
            estimate, se = out["estimate"].to_numpy(dtype=float), out["se"].to_numpy(dtype=float)
            lower, upper = estimate - z * se, estimate + z * se
        else:
            raise ValueError(
                "this Oaxaca-Blinder result has no intervals: give bootstrap= (e.g. 500) "
                "to oaxaca_blinder for them"
            )
        return out.assign(ci_lower=lower, ci_upper=upper, level=level)

    def _title(self) -> str:
        s = self.settings
        return f"{self.analysis}: {s.get('reference')} minus {s.get('other_group')}"
