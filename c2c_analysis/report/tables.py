"""Tables for people: the report's HTML tables, with labels, units and words.

The published CSV and Excel files keep the analyses' machine columns (see
:class:`~c2c_analysis.report.ReportWriter`); the HTML report shows the same numbers as a
reader expects them: outcome labels instead of ids, percentages with one decimal,
percentage points with a sign, whole counts, years as years, headers in words with their
units, no index column and no truncation (long tables are split by outcome and folded
into ``<details>``). A withheld cell reads "withheld (fewer than 10)" with a footnote.

Every piece of text from data goes through :func:`~c2c_analysis.report.escape.escape_html`
(the one escaping path); the only markup a table holds unescaped is the package's own
icons (:mod:`c2c_analysis.report.icons`). Cells are formatted column by column (pandas'
vectorized string operations), never row by row. Notebooks show the result with
``IPython.display.HTML``.

On a screen under 600 pixels wide the report's style sheet shows each row as a card with
every column labelled (``data-label``), so no column is cut off on a phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from c2c_analysis.report.escape import escape_html
from c2c_analysis.report.findings import VERDICT_WORDS
from c2c_analysis.schema import INDICATORS, OUTCOMES, better_direction

__all__ = [
    "COLUMNS",
    "Column",
    "decomposition_table",
    "gap_tables",
    "glance_table",
    "html_table",
    "inequality_table",
    "outcome_label",
    "scorecard_table",
    "segmented_table",
    "spc_summary_table",
    "trend_table",
    "withheld_text",
]

_DASH = "\u2013"
_MINUS = "\u2212"


@dataclass(frozen=True)
class Column:
    """How a column reads: its ``header`` in words with its unit, its ``kind`` (how a
    value is written) and its ``meaning`` (for the data dictionary)."""

    header: str
    kind: str
    meaning: str


#: Columns of the published tables: header, kind and meaning. Kinds: ``text``, ``label``
#: (an outcome id shown by its label), ``pct`` (a proportion shown as a percentage),
#: ``pp`` (percentage points with a sign), ``count``, ``year``, ``number``, ``html``
#: (the package's own markup) and ``verdict`` (a scorecard verdict in words).
COLUMNS: Mapping[str, Column] = {
    "partnership": Column("Partnership", "text", "the partnership's slug"),
    "outcome": Column("Outcome", "label", "outcome id from the catalogue (schema.OUTCOMES)"),
    "label": Column("Outcome", "text", "the outcome's label"),
    "dimension": Column("Dimension", "text", "what the groups are split by"),
    "group": Column("Group", "text", "the group of students"),
    "reference": Column("Compared with", "text", "the reference group of the gap"),
    "first_year": Column("First year", "year", "first year with data"),
    "last_year": Column("Latest year", "year", "last year with data"),
    "n_years": Column("Years", "count", "years with data"),
    "missing_years": Column("Years missing", "text", "years without data between first and last"),
    "latest_rate": Column("Latest rate (%)", "pct", "all students' rate in the last year (0-1)"),
    "latest_denominator": Column("Students (latest year)", "count", "cohort in the last year"),
    "change_pp": Column(
        "Change since first year (points)", "pp", "latest minus first rate, percentage points"
    ),
    "n_periods": Column("Years", "count", "periods in the series"),
    "first_period": Column("From", "year", "first period"),
    "last_period": Column("To", "year", "last period"),
    "slope_pp": Column("Trend (points a year)", "pp", "trend slope, percentage points a year"),
    "ci_lower_pp": Column("95% interval from", "pp", "lower confidence limit, points"),
    "ci_upper_pp": Column("95% interval to", "pp", "upper confidence limit, points"),
    "average_change_pp": Column(
        "Average change (points a year)", "pp", "average yearly change, percentage points"
    ),
    "start": Column("From", "year", "start year"),
    "end": Column("To", "year", "end year"),
    "rate_start": Column("Rate, first year (%)", "pct", "the group's rate at the start (0-1)"),
    "rate_end": Column("Rate, latest year (%)", "pct", "the group's rate at the end (0-1)"),
    "reference_rate_start": Column(
        "Reference rate, first year (%)", "pct", "the reference group's rate at the start (0-1)"
    ),
    "reference_rate_end": Column(
        "Reference rate, latest year (%)", "pct", "the reference group's rate at the end (0-1)"
    ),
    "gap_start_pp": Column("Gap, first year (points)", "pp", "group minus reference at start"),
    "gap_end_pp": Column("Gap, latest year (points)", "pp", "group minus reference at end"),
    "gap_change_pp": Column("Change in gap (points)", "pp", "gap at end minus gap at start"),
    "se_gap_change_pp": Column("Standard error (points)", "number", "of the gap change"),
    "category": Column("How it changed", "text", "gap-change typology"),
    "note": Column("Note", "text", "why a value is missing or needs care"),
    "rate": Column("Rate (%)", "pct", "numerator / denominator (0-1)"),
    "gap_pp": Column("Gap (points)", "pp", "group minus reference, percentage points"),
    "numerator": Column("Students meeting the outcome", "count", "numerator"),
    "denominator": Column("Students", "count", "denominator: the cohort"),
    "total_change": Column("Total change (points)", "pp", "rate at end minus rate at start"),
    "composition_effect": Column(
        "Composition effect (points)", "pp", "part of the change from the mix of groups"
    ),
    "rate_effect": Column("Rate effect (points)", "pp", "part of the change from groups' rates"),
    "strategy": Column("Strategy", "text", "strategy id from the portfolio"),
    "actual": Column("Actual (%)", "pct", "the value at the judged period (0-1)"),
    "projected": Column("Projected (%)", "pct", "the baseline's projection (0-1)"),
    "pi_lower": Column("Prediction interval from (%)", "pct", "lower prediction limit (0-1)"),
    "pi_upper": Column("Prediction interval to (%)", "pct", "upper prediction limit (0-1)"),
    "difference_pp": Column(
        "Actual minus projected (points)", "pp", "actual minus projected, percentage points"
    ),
    "gap_vs_projection_pp": Column(
        "Gap vs projection (points)",
        "pp",
        "actual gap minus projected gap; negative: the gap narrowed beyond its projection",
    ),
    "verdict": Column("Verdict", "verdict", "scorecard verdict"),
    "overlaps": Column("Overlapping strategies", "text", "strategies on the same groups"),
    "part": Column("Phase", "count", "phase of the chart (a new one starts at a freeze)"),
    "n_points": Column("Points", "count", "points in the chart"),
    "longest_run": Column("Longest run", "count", "longest run on one side of the median"),
    "longest_run_max": Column("Longest run allowed", "count", "Anhøj limit for runs"),
    "n_crossings": Column("Median crossings", "count", "times the series crossed its median"),
    "n_crossings_min": Column("Fewest crossings expected", "count", "Anhøj limit for crossings"),
    "runs_signal": Column("Shift signal", "text", "whether Anhøj's rules signal a shift"),
    "variation": Column("Variation", "text", "NHS Making Data Count variation class"),
    "assurance": Column("Assurance", "text", "NHS Making Data Count assurance class"),
    "p_value": Column("p-value", "number", "two-sided p-value"),
    "dispersion": Column("Dispersion", "number", "quasi-binomial Pearson X² / df"),
}

#: Words for the gap-change typology's categories (the table's "How it changed").
CATEGORY_WORDS: Mapping[str, str] = {
    "narrowing_both_improving": "narrowed, both groups improved",
    "narrowing_lower_improving_higher_flat": "narrowed, the lower group improved",
    "narrowing_lower_up_higher_down": "narrowed, the lower group improved, the higher declined",
    "narrowing_higher_declined": "narrowed because the higher group declined",
    "narrowing_both_declining": "narrowed, both groups declined",
    "narrowing_other": "narrowed",
    "widening_both_improving": "widened, both groups improved",
    "widening_lower_flat_or_declining": "widened, the lower group stalled or declined",
    "widening_other": "widened",
    "stable_gap_both_improving": "about the same, both groups improved",
    "stable_gap_both_declining": "about the same, both groups declined",
    "no_change": "no change",
    "stable_gap_other": "about the same",
    "reversed_lower_ahead": "reversed: the lower group is now ahead",
    "insufficient_data": "not enough data",
}

_VARIATION_WORDS = {
    "common_cause": "no signal",
    "special_cause_improvement": "improving (signal)",
    "special_cause_concern": "concern (signal)",
    "special_cause_neutral_high": "higher (signal)",
    "special_cause_neutral_low": "lower (signal)",
}


def outcome_label(outcome: object, labels: Mapping[str, str] | None = None) -> str:
    """The label of an outcome id (``labels``, then the catalogue, else the id)."""
    key = str(outcome)
    if labels and key in labels:
        return str(labels[key])
    entry = OUTCOMES.get(key) or INDICATORS.get(key)
    return entry.label if entry is not None else key


def withheld_text(min_n: int) -> str:
    """What a withheld cell says."""
    return f"withheld (fewer than {int(min_n)})"


def _format(values: pd.Series, kind: str, labels: Mapping[str, str] | None) -> pd.Series:
    """``values`` written for people (escaped text), column-wise."""
    if len(values) == 0:
        return pd.Series([], index=values.index, dtype=object)
    if kind == "html":
        return values.fillna("").astype(str)
    if kind in ("pct", "pp", "count", "year", "number"):
        numbers = pd.to_numeric(values, errors="coerce").astype(float)
        missing = ~np.isfinite(numbers)
        if kind == "pct":
            text = (100 * numbers).round(1).map("{:.1f}%".format, na_action="ignore")
        elif kind == "pp":
            text = numbers.round(1).map("{:+.1f}".format, na_action="ignore")
            text = text.str.replace("-", _MINUS, regex=False).str.replace("+0.0", "0.0")
            text = text.str.replace(_MINUS + "0.0", "0.0", regex=False)
        elif kind == "count":
            text = numbers.round(0).map("{:,.0f}".format, na_action="ignore")
        elif kind == "year":
            text = numbers.map("{:.0f}".format, na_action="ignore")
        else:
            text = numbers.map("{:.3g}".format, na_action="ignore")
        return text.where(~missing, _DASH).fillna(_DASH)
    if kind == "label":
        text = values.map(lambda v: outcome_label(v, labels), na_action="ignore")
    elif kind == "verdict":
        text = values.map(lambda v: VERDICT_WORDS.get(str(v), str(v)), na_action="ignore")
    else:
        text = values.astype(object).where(values.notna(), None)
        text = text.map(lambda v: "yes" if v is True else "no" if v is False else v)
    return text.fillna(_DASH).astype(str).map(escape_html).replace("", _DASH)


def html_table(
    frame: pd.DataFrame,
    columns: Sequence[str] | Mapping[str, str],
    *,
    caption: str | None = None,
    kinds: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    withheld: pd.Series | np.ndarray | None = None,
    withheld_columns: Sequence[str] = (),
    min_n: int = 10,
    footnotes: Sequence[str] = (),
    row_header: bool = True,
) -> str:
    """``frame`` as an HTML table for people.

    Parameters
    ----------
    frame : DataFrame
        The rows to show (the index is not shown).
    columns : sequence or mapping
        Columns to show, in order; a mapping gives each one's header (default: the
        header of :data:`COLUMNS`, else the name with spaces).
    caption : str, optional
        The table's caption (plain text).
    kinds : mapping, optional
        Kind per column where it is not the one :data:`COLUMNS` gives.
    labels : mapping, optional
        Outcome labels for ``label`` columns.
    withheld : boolean array, optional
        Rows whose values are withheld: their ``withheld_columns`` read "withheld (fewer
        than ``min_n``)" and a footnote says why.
    footnotes : sequence of str
        Further notes under the table (plain text).
    row_header : bool
        The first column is each row's header (``<th scope="row">``).

    Returns
    -------
    str
        A ``<div class="c2c-table">`` holding the table and its footnotes.

    Examples
    --------
    >>> table = pd.DataFrame({"outcome": ["hs_graduation"], "latest_rate": [0.8959],
    ...                       "change_pp": [34.615]})
    >>> html = html_table(table, ["outcome", "latest_rate", "change_pp"])
    >>> "High school graduation" in html, "89.6%" in html, "+34.6" in html
    (True, True, True)
    """
    names = list(columns)
    headers = dict(columns) if isinstance(columns, Mapping) else {}
    kinds = dict(kinds or {})
    cells = []
    for name in names:
        spec = COLUMNS.get(name)
        header = headers.get(name) or (spec.header if spec else str(name).replace("_", " "))
        kind = kinds.get(name) or (spec.kind if spec else "text")
        text = (
            _format(frame[name], kind, labels)
            if name in frame.columns
            else pd.Series(_DASH, index=frame.index)
        )
        if withheld is not None and name in withheld_columns:
            mask = np.asarray(withheld, dtype=bool)
            text = text.where(~mask, withheld_text(min_n))
        numeric = kind in ("pct", "pp", "count", "number")
        cells.append((escape_html(header), text.to_numpy(dtype=object), numeric))
    head = "".join(f'<th scope="col">{h}</th>' for h, _, _ in cells)
    rows = np.full(len(frame), "", dtype=object)
    for position, (header, cell_text, numeric) in enumerate(cells):
        tag = "th" if row_header and position == 0 else "td"
        scope = ' scope="row"' if tag == "th" else ""
        cls = ' class="num"' if numeric else ""
        rows = rows + f'<{tag}{scope}{cls} data-label="{header}">' + cell_text + f"</{tag}>"
    body = "".join("<tr>" + rows + "</tr>") if len(rows) else ""
    if not len(rows):
        body = f'<tr><td colspan="{len(cells)}">No rows: the data do not allow this table.</td>'
        body += "</tr>"
    caption_html = f"<caption>{escape_html(caption)}</caption>" if caption else ""
    notes = list(footnotes)
    if withheld is not None and np.asarray(withheld, dtype=bool).any():
        notes.append(
            f"Withheld: fewer than {int(min_n)} students, or a number that would let a "
            "smaller withheld group be worked out (see the data notes)."
        )
    foot = "".join(f'<p class="c2c-footnote">{escape_html(n)}</p>' for n in notes)
    return (
        f'<div class="c2c-table"><table>{caption_html}<thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{foot}</div>"
    )


def _words(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    return values.map(lambda v: mapping.get(str(v), str(v).replace("_", " ")), na_action="ignore")


def glance_table(
    overview: pd.DataFrame,
    *,
    trends: pd.DataFrame | None = None,
    variation: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The at-a-glance table: each outcome's latest rate, change, trend and signal icon.

    Parameters
    ----------
    overview : DataFrame
        :func:`~c2c_analysis.outcome_overview`.
    trends : DataFrame, optional
        :func:`~c2c_analysis.trend` of all students (slope and interval per outcome).
    variation : DataFrame, optional
        An SPC summary with ``outcome``, ``variation`` (and ``assurance``): the NHS icons.
    """
    from c2c_analysis.report.icons import assurance_icon, variation_icon

    table = overview.copy()
    if trends is not None and len(trends):
        table = table.merge(
            trends[["outcome", "slope_pp", "ci_lower_pp", "ci_upper_pp"]], on="outcome", how="left"
        )
    columns = {
        "label": "Outcome",
        "latest_rate": "Latest rate (%)",
        "last_year": "Latest year",
        "latest_denominator": "Students (latest year)",
        "change_pp": "Change since first year (points)",
    }
    if "slope_pp" in table.columns:
        lower = table["outcome"].map(lambda o: better_direction(str(o)) == "lower")
        low, high = table["ci_lower_pp"], table["ci_upper_pp"]
        good_low = np.where(lower, -high, low)
        good_high = np.where(lower, -low, high)
        verdict = np.where(
            good_low > 0, "improving", np.where(good_high < 0, "worsening", "within noise")
        )
        verdict = np.where(np.isfinite(table["slope_pp"]), verdict, "too few years")
        slope = _format(table["slope_pp"], "pp", None)
        table["_trend"] = slope.to_numpy(dtype=object) + " a year: " + verdict
        columns["_trend"] = "Trend (points a year)"
    if variation is not None and len(variation):
        last = variation.drop_duplicates("outcome", keep="last").set_index("outcome")
        icons = []
        for outcome in table["outcome"]:
            if outcome not in last.index:
                icons.append(_DASH)
                continue
            row = last.loc[outcome]
            kind = str(row.get("variation", ""))
            icon = variation_icon(kind, high=_high(kind, str(outcome)))
            icon += assurance_icon(str(row.get("assurance", "")))
            words = escape_html(_VARIATION_WORDS.get(kind, kind.replace("_", " ")))
            icons.append(f'<span class="c2c-icon">{icon}</span> {words}' if icon else words)
        table["_icon"] = icons
        columns["_icon"] = "Run-chart signal"
    return html_table(
        table,
        columns,
        kinds={"_trend": "text", "_icon": "html"},
        labels=labels,
        caption="Core outcomes at a glance (all students)",
        footnotes=[
            "Trend: quasi-binomial slope with its 95% interval; improving or worsening only "
            "when the whole interval is on one side, in the outcome's better direction. "
            "Signal: Anhøj's run-chart rules with NHS Making Data Count icons (blue: "
            "improvement, orange: concern, grey: no signal)."
        ],
    )


def _high(variation: str, outcome: str) -> bool | None:
    if variation == "special_cause_improvement":
        return better_direction(outcome) == "higher"
    if variation == "special_cause_concern":
        return better_direction(outcome) == "lower"
    return None


def trend_table(trends: pd.DataFrame, *, labels: Mapping[str, str] | None = None) -> str:
    """Each outcome's trend for all students, in points a year with its interval."""
    return html_table(
        trends,
        [
            "outcome",
            "first_period",
            "last_period",
            "slope_pp",
            "ci_lower_pp",
            "ci_upper_pp",
            "average_change_pp",
            "note",
        ],
        labels=labels,
        caption="Trend of each outcome, all students",
    )


def _withheld_rows(gap_changes: pd.DataFrame, data: pd.DataFrame | None) -> np.ndarray:
    """Rows whose group was withheld at the end year (so its gap is not shown)."""
    if data is None or "suppressed" not in data.columns:
        return np.zeros(len(gap_changes), dtype=bool)
    withheld = data.loc[
        data["suppressed"].fillna(False).astype(bool), ["outcome", "dimension", "group", "year"]
    ].drop_duplicates()
    withheld["_withheld"] = True
    keyed = gap_changes[["outcome", "dimension", "group", "end"]].rename(columns={"end": "year"})
    keyed = keyed.assign(year=pd.to_numeric(keyed["year"], errors="coerce"))
    withheld = withheld.assign(year=pd.to_numeric(withheld["year"], errors="coerce"))
    merged = keyed.merge(withheld, on=["outcome", "dimension", "group", "year"], how="left")
    return merged["_withheld"].fillna(False).to_numpy(dtype=bool) & ~np.isfinite(
        pd.to_numeric(gap_changes["gap_end_pp"], errors="coerce").to_numpy(dtype=float)
    )


def gap_tables(
    gap_changes: pd.DataFrame,
    *,
    data: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
    min_n: int = 10,
    open_outcome: str | None = "hs_graduation",
    catch_all: Sequence[str] = ("Not reported", "Unknown", "Withheld groups"),
) -> str:
    """The gap-change table split by outcome, each in a ``<details>`` (one left open).

    Every row is shown (no truncation); groups withheld in the end year read "withheld
    (fewer than ``min_n``)"; catch-all groups ("Not reported") are left out.
    """
    shown = gap_changes[~gap_changes["group"].isin(catch_all)].copy()
    if shown.empty:
        return '<p class="c2c-empty">No gaps: the data have no groups to compare.</p>'
    withheld = _withheld_rows(shown, data)
    shown["_how"] = _words(shown["category"], CATEGORY_WORDS)
    shown["_group"] = shown["group"].astype(str) + " vs " + shown["reference"].astype(str)
    shown["_years"] = (
        _format(shown["start"], "year", None) + _DASH + _format(shown["end"], "year", None)
    )
    columns = {
        "_group": "Group vs reference",
        "dimension": "Dimension",
        "_years": "Years",
        "gap_start_pp": "Gap, first year (points)",
        "gap_end_pp": "Gap, latest year (points)",
        "gap_change_pp": "Change in gap (points)",
        "_how": "How it changed",
    }
    parts = []
    for outcome, frame in shown.groupby("outcome", sort=False):
        mask = withheld[(shown["outcome"] == outcome).to_numpy()]
        label = outcome_label(outcome, labels)
        table = html_table(
            frame.assign(dimension=frame["dimension"].str.replace("_", " ")),
            columns,
            kinds={"_years": "html", "_how": "text"},
            caption=f"Gaps in {label.lower()}",
            withheld=mask,
            withheld_columns=["gap_start_pp", "gap_end_pp", "gap_change_pp"],
            min_n=min_n,
            footnotes=[
                "Gap: the group's rate minus the reference group's, in percentage points "
                "(negative: the group is behind)."
            ],
        )
        is_open = " open" if outcome == open_outcome else ""
        parts.append(
            f"<details{is_open}><summary>{escape_html(label)}: {len(frame)} gaps"
            f"</summary>{table}</details>"
        )
    return "".join(parts)


def decomposition_table(
    decomposition: pd.DataFrame, *, labels: Mapping[str, str] | None = None
) -> str:
    """Kitagawa's split of each outcome's change, in points."""
    table = decomposition.copy()
    for name in ("total_change", "composition_effect", "rate_effect"):
        if name in table.columns:
            table[name] = 100 * pd.to_numeric(table[name], errors="coerce")
    for name in ("rate_start", "rate_end"):
        if name not in table.columns:
            table[name] = np.nan
    return html_table(
        table,
        [
            "outcome",
            "start",
            "end",
            "rate_start",
            "rate_end",
            "total_change",
            "composition_effect",
            "rate_effect",
            "note",
        ],
        labels=labels,
        caption="How much of each outcome's change is composition (race/ethnicity)",
    )


def scorecard_table(scorecard: pd.DataFrame, *, names: Mapping[str, str] | None = None) -> str:
    """The strategy scorecard with one sign orientation: positive is better than baseline.

    "Beyond the projection" is the actual minus the projected rate in the outcome's better
    direction, and "Gap beyond projection" is how much more the gap to the comparison
    group narrowed than projected; both are positive when the strategy did better than
    its baseline. A projection that runs further past its baseline than the baseline is
    long says so in the caveat column.
    """
    table = scorecard.copy()
    sign = np.where(table["outcome"].map(lambda o: better_direction(str(o)) == "lower"), -1, 1)
    table["_beyond"] = sign * pd.to_numeric(table["difference_pp"], errors="coerce")
    table["_gap"] = -pd.to_numeric(table["gap_vs_projection_pp"], errors="coerce")
    table["_strategy"] = table["strategy"].map(lambda s: str((names or {}).get(s, s)))
    first = pd.to_numeric(table["baseline_first"], errors="coerce")
    last = pd.to_numeric(table["baseline_last"], errors="coerce")
    judged = pd.to_numeric(table["last_period"], errors="coerce")
    length, ahead = last - first + 1, judged - last
    caveat = np.where(length < 5, length.map("{:.0f}-year baseline: short".format), "")
    long = ahead > length
    far = ahead.map("{:.0f}".format) + " years projected past a " + length.map("{:.0f}".format)
    far = far + "-year baseline: read with care"
    caveat = np.where(long, np.where(caveat != "", caveat + "; " + far, far), caveat)
    caveat = np.where(np.isfinite(length) & np.isfinite(ahead), caveat, "")
    table["_caveat"] = caveat
    table["_baseline"] = (
        _format(table["baseline_first"], "year", None)
        + _DASH
        + _format(table["baseline_last"], "year", None)
    )
    return html_table(
        table,
        {
            "_strategy": "Strategy",
            "group": "Group",
            "outcome": "Outcome",
            "_baseline": "Baseline years",
            "last_period": "Judged in",
            "actual": "Actual (%)",
            "projected": "Projected (%)",
            "pi_lower": "Prediction interval from (%)",
            "pi_upper": "Prediction interval to (%)",
            "_beyond": "Beyond the projection (points, + is better)",
            "_gap": "Gap beyond projection (points, + is narrower)",
            "verdict": "Verdict",
            "_caveat": "Caveat",
        },
        kinds={"_beyond": "pp", "_gap": "pp", "_baseline": "html", "_caveat": "text"},
        caption="Strategy scorecard: positive numbers are better than the baseline projected",
        footnotes=[
            "Signs: every signed number is positive when the result is better than the "
            "baseline projected (a higher rate, or a lower one for outcomes where lower is "
            "better; a gap that narrowed more than projected). The verdict compares the "
            "actual value with the projection's 95% prediction interval."
        ],
    )


def segmented_table(segmented: pd.DataFrame) -> str:
    """Segmented regressions: level and slope change per strategy and group."""
    if segmented.empty:
        return '<p class="c2c-empty">No segmented regression could be fitted.</p>'
    table = segmented.copy()
    if "term" in table.columns:
        table["term"] = (
            table["term"]
            .map(
                {"level_change": "level change", "slope_change": "slope change"}, na_action="ignore"
            )
            .fillna(table["term"])
        )
    columns = {
        "strategy": "Strategy",
        "group": "Group",
        "term": "Change at the start",
        "effect_pp": "Effect (points)",
        "odds_ratio": "Odds ratio",
        "p_value": "p-value",
        "note": "Note",
    }
    present = {k: v for k, v in columns.items() if k in table.columns}
    return html_table(
        table,
        present,
        kinds={"effect_pp": "pp", "odds_ratio": "number", "p_value": "number"},
        caption="Segmented regressions at each strategy's start (quasi-binomial)",
    )


def inequality_table(heat: pd.DataFrame) -> str:
    """WHO HEAT summary measures of inequality."""
    columns = [c for c in heat.columns if c not in ("partnership",)]
    kinds = {c: "number" for c in columns if pd.api.types.is_numeric_dtype(heat[c])}
    return html_table(heat, columns, kinds=kinds, caption="Summary measures of inequality")


def spc_summary_table(summary: pd.DataFrame, *, by: str | None = None) -> str:
    """An SPC summary for people: points, runs, crossings, signal and NHS variation."""
    table = summary.copy()
    if "runs_signal" in table.columns:
        table["runs_signal"] = table["runs_signal"].map({True: "yes", False: "no"})
    if "variation" in table.columns:
        table["variation"] = _words(table["variation"], _VARIATION_WORDS)
    if "assurance" in table.columns:
        table["assurance"] = table["assurance"].astype(str).str.replace("_", " ")
    columns = [by] if by else []
    columns += [
        c
        for c in (
            "part",
            "n_points",
            "longest_run",
            "longest_run_max",
            "n_crossings",
            "n_crossings_min",
            "runs_signal",
            "variation",
            "assurance",
        )
        if c in table.columns
    ]
    return html_table(table, columns, kinds={"part": "count"}, caption="Chart signals")
