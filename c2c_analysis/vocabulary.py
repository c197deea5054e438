"""The package's vocabulary: what each parameter name means, everywhere.

Each name means one thing in every function that takes it; a function that needs another
meaning uses another name. Names renamed in 0.2 keep working until 0.3 as keyword-only
parameters that emit a :class:`DeprecationWarning` and map to the new name
(:data:`RENAMED`).

Modules moved in 0.2, without a shim (a module named ``gaps`` would hide the function
``gaps``): ``c2c_analysis.gaps`` is ``c2c_analysis.equity`` and ``c2c_analysis.funnel`` is
``c2c_analysis.spc.funnel``. The functions themselves are where they were at the top level
(``c2c.gaps``, ``c2c.funnel_chart``).

The tables below are generated from :data:`PARAMETERS` and :data:`RENAMED`, which the test
suite checks against every public signature.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["PARAMETERS", "RENAMED", "Renamed", "SPC_SYNONYMS"]

#: Each shared parameter name and its one meaning.
PARAMETERS: dict[str, str] = {
    "data": "the input table, always the first (positional) argument; never modified",
    "time": "the period column: `year` (the school year's ending year or the class-of year), "
    "or `period` (a date) for monthly indicators; the default `year` means `period` in a "
    "monthly table",
    "group": "the group label column (e.g. `Black`, `Low income`)",
    "dimension": "the dimension column (`race_ethnicity`, `income`, ...), or one dimension's name",
    "outcome": "an outcome id of the catalogue (`hs_graduation`) or its column",
    "numerator": "the column counting students who met the outcome",
    "denominator": "the column counting students in the cohort or tested",
    "rate": "the column of published rates (proportions in [0, 1], or percents when said)",
    "by": "the columns that identify one series (a column name or a list of them)",
    "reference": "the reference group gaps are measured against: a label, `all`, `best`, "
    "or a mapping of dimension to label",
    "better": "the favourable direction, `higher` or `lower`; None takes it from the outcome "
    "catalogue (`better_direction(outcome)`)",
    "level": "a confidence level, a float in (0, 1) (default 0.95); never anything else",
    "seed": "the seed of simulated or bootstrapped intervals (None: fresh randomness)",
    "min_n": "the smallest number of students shown or published; smaller cells are withheld",
    "value": "a student-level response column (0/1 or a number) where one is analysed",
    "dimensions": "the demographic columns of student-level records, each a dimension",
    "baseline": "the baseline periods of a projection or chart",
    "ax": "the matplotlib Axes to draw into (None: a new figure); plot functions return it",
}

#: SPC's axis names, kept as qicharts2 users know them (``qic(x, y, n)``).
SPC_SYNONYMS: dict[str, str] = {
    "x": "time (the subgroup's period or label)",
    "y": "the value, or the numerator of a proportion or rate chart",
    "n": "the denominator (subgroup size) of a proportion or rate chart",
}


class Renamed(NamedTuple):
    """One renamed parameter: ``function(old=...)`` is now ``function(new=...)``."""

    function: str
    old: str
    new: str
    note: str = ""


#: Every parameter renamed in 0.2; the old names work until 0.3, with a DeprecationWarning.
RENAMED: tuple[Renamed, ...] = (
    Renamed("aggregate_students", "outcome", "value", "the 0/1 column of the student records"),
    Renamed("aggregate_students", "outcome_id", "outcome", "the outcome id"),
    Renamed("aggregate_students", "by", "dimensions", "the demographic columns"),
    Renamed("das_gupta", "population", "group", "the column naming the populations compared"),
    Renamed("das_gupta", "rate", "rate_function", "the function of the factors giving the rate"),
    Renamed("control_chart", "improvement", "better", '"increase" is "higher", "decrease" "lower"'),
    Renamed("inequality", "value", "rate", "the groups' estimates"),
    Renamed("inequality", "population", "denominator", "each group's number of students"),
    Renamed("inequality", "higher_is_better", "better", 'True is "higher", False "lower"'),
    Renamed("interrupted_time_series", "comparison", "control", "the rows of the control series"),
    Renamed("oaxaca_blinder", "outcome", "value", "the student-level response column"),
    Renamed("oaxaca_blinder", "reference_group", "reference"),
    Renamed("outcome_overview", "small_n", "min_n"),
    Renamed("read_ospi_graduation", "level", "organization_level", "state, district or school"),
    Renamed("spc_table", "improvement", "better", '"increase" is "higher", "decrease" "lower"'),
)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    rule = "  ".join("=" * w for w in widths)

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([rule, line(header), rule, *(line(r) for r in rows), rule])


def _doc() -> str:
    parameters = _table(
        ("name", "meaning"), [(f"``{k}``", v.replace("`", "``")) for k, v in PARAMETERS.items()]
    )
    spc = _table(("name", "meaning"), [(f"``{k}``", v) for k, v in SPC_SYNONYMS.items()])
    renamed = (
        _table(
            ("function", "old name", "new name", "note"),
            [(f"``{r.function}``", f"``{r.old}``", f"``{r.new}``", r.note) for r in RENAMED],
        )
        if RENAMED
        else "None."
    )
    return (
        (__doc__ or "")
        + "\n**Parameter names**\n\n"
        + parameters
        + "\n\n**SPC's axis names.** The run and control charts keep qicharts2's "
        "``x``, ``y`` and ``n``, which its users know:\n\n"
        + spc
        + "\n\n**Renamed in 0.2** (the old names work until 0.3, with a DeprecationWarning)\n\n"
        + renamed
        + "\n"
    )


__doc__ = _doc()
