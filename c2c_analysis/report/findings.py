"""Findings in words: the report's answers to its three questions, computed by the library.

Is it improving? Are gaps closing, and how? Did our strategies beat the baseline?
:func:`findings` turns the analyses' tables into sentences with their numbers and the
method behind each, hedged honestly: "within noise" is said when an interval spans zero.
Every sentence is plain text (labels from data are quoted as they are spelled); the report
escapes it for its context.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.schema import OUTCOMES, better_direction

__all__ = ["GAP_WORDS", "VERDICT_WORDS", "findings", "headlines"]

#: How each gap-change category reads: (verb phrase of the gap, how it happened).
GAP_WORDS: Mapping[str, tuple[str, str]] = {
    "narrowing_both_improving": ("narrowed", "as both groups improved"),
    "narrowing_lower_improving_higher_flat": (
        "narrowed",
        "as {lower} improved and {higher} held steady",
    ),
    "narrowing_lower_up_higher_down": (
        "narrowed",
        "as {lower} improved and {higher} declined",
    ),
    "narrowing_higher_declined": (
        "narrowed",
        "because {higher} declined, not because {lower} improved",
    ),
    "narrowing_both_declining": ("narrowed", "as both groups declined, {higher} faster"),
    "narrowing_other": ("narrowed", ""),
    "widening_both_improving": ("widened", "although both groups improved ({higher} faster)"),
    "widening_lower_flat_or_declining": (
        "widened",
        "as {lower} stalled or declined",
    ),
    "widening_other": ("widened", ""),
    "stable_gap_both_improving": ("stayed about the same", "as both groups improved"),
    "stable_gap_both_declining": ("stayed about the same", "as both groups declined"),
    "no_change": ("stayed about the same", "with neither group changing"),
    "stable_gap_other": ("stayed about the same", ""),
    "reversed_lower_ahead": ("reversed", "{lower}, who were behind, are now ahead"),
}

#: How each scorecard verdict reads.
VERDICT_WORDS: Mapping[str, str] = {
    "turned_the_curve": "beat its baseline (beyond the projection's prediction interval)",
    "below_baseline": "fell short of its baseline (below the projection's prediction interval)",
    "above_baseline_within_noise": "was above its baseline, but within noise",
    "on_baseline": "was on its baseline",
    "insufficient_data": "cannot be judged yet",
}

#: Groups that are not a group of students to compare ("Not reported" holds whoever the
#: source could not classify).
_CATCH_ALL = frozenset({"Not reported", "Unknown", "Withheld groups"})

_COLUMNS = [
    "topic", "outcome", "group", "sentence", "estimate", "ci_lower", "ci_upper", "method",
    "verdict",
]  # fmt: skip


def _label(outcome: str, labels: Mapping[str, str] | None) -> str:
    if labels and outcome in labels:
        return str(labels[outcome])
    return OUTCOMES[outcome].label if outcome in OUTCOMES else str(outcome)


def _who(label: str) -> str:
    """``Black students``, but ``Students with disabilities`` (no second "students")."""
    return label if "students" in label.lower() else f"{label} students"


def _pair(group: str, reference: str) -> str:
    """``Black and White students``; ``Students with disabilities and Students without
    disabilities``."""
    if "students" in group.lower() or "students" in reference.lower():
        return f"{_who(group)} and {_who(reference)}"
    return f"{group} and {reference} students"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _points(value: float) -> str:
    return f"{abs(value):.1f} point{'s' if round(abs(value), 1) != 1 else ''}"


def _improvement(trends, runs, overview, labels) -> list[dict]:
    rows = []
    runs = runs.set_index("outcome") if runs is not None and len(runs) else None
    latest = overview.set_index("outcome") if overview is not None and len(overview) else None
    for _, t in trends.iterrows():
        outcome = str(t["outcome"])
        lower_better = better_direction(outcome) == "lower"
        label = _label(outcome, labels)
        parts = [label]
        if (
            latest is not None
            and outcome in latest.index
            and np.isfinite(latest.loc[outcome, "latest_rate"])
        ):
            row = latest.loc[outcome]
            parts = [f"{label} was {_pct(row['latest_rate'])} in {int(row['last_year'])}"]
        slope, low, high = t["slope_pp"], t["ci_lower_pp"], t["ci_upper_pp"]
        if not np.isfinite(slope):
            sentence = f"{parts[0]}; there are too few years for a trend."
            rows.append(
                _row("improving", outcome, "All students", sentence, method="none",
                     verdict="too_few_years")
            )  # fmt: skip
            continue
        good_low, good_high = (-high, -low) if lower_better else (low, high)
        if good_low > 0:
            verdict = "improving"
        elif good_high < 0:
            verdict = "worsening"
        else:
            verdict = "no clear trend: the change is within noise"
        direction = "up" if slope > 0 else "down"
        span = f"{t['first_period']}-{t['last_period']}"
        sentence = (
            f"{parts[0]}: {direction} {_points(slope)} a year over {span} "
            f"(95% interval {low:+.1f} to {high:+.1f}), {verdict}"
        )
        if runs is not None and outcome in runs.index:
            run = runs.loc[outcome]
            if bool(run["runs_signal"]):
                if run["longest_run"] > run["longest_run_max"]:
                    why = (
                        f"a run of {int(run['longest_run'])} years on one side of the median, "
                        f"more than the {int(run['longest_run_max'])} chance allows"
                    )
                else:
                    k = int(run["n_crossings"])
                    why = (
                        f"only {k} crossing{'s' if k != 1 else ''} of the median, fewer than "
                        f"the {int(run['n_crossings_min'])} chance gives"
                    )
                sentence += f"; the run chart signals a shift ({why})"
            else:
                sentence += "; the run chart shows no shift beyond chance"
        rows.append(
            _row(
                "improving", outcome, "All students", sentence + ".", estimate=slope,
                ci_lower=low, ci_upper=high,
                method="quasi-binomial trend (percentage points a year); Anhøj run chart rules",
                verdict=verdict.split(":")[0].replace("no clear trend", "within_noise"),
            )
        )  # fmt: skip
    return rows


def _gaps(gap_changes: pd.DataFrame, labels, largest: int) -> list[dict]:
    usable = gap_changes[
        np.isfinite(gap_changes["gap_end_pp"])
        & (gap_changes["category"] != "insufficient_data")
        & ~gap_changes["group"].isin(_CATCH_ALL)
        & ~gap_changes["reference"].isin(_CATCH_ALL)
    ]
    if usable.empty:
        return []
    order = usable["gap_end_pp"].abs().sort_values(ascending=False).index[:largest]
    rows = []
    for _, g in usable.loc[order].iterrows():
        outcome = str(g["outcome"])
        group, reference = str(g["group"]), str(g["reference"])
        higher, lower = (reference, group) if g["higher"] == "reference" else (group, reference)
        verb, how = GAP_WORDS.get(str(g["category"]), ("changed", ""))
        how = how.format(higher=_who(higher), lower=_who(lower))
        change, se = g["gap_change_pp"], g["se_gap_change_pp"]
        sentence = (
            f"In {_label(outcome, labels).lower()}, the gap between {_pair(group, reference)} "
            f"{verb} from {abs(g['gap_start_pp']):.1f} to {abs(g['gap_end_pp']):.1f} "
            f"points ({int(g['start'])}-{int(g['end'])})"
        )
        if how:
            sentence += f" {how}"
        low, high = change - 1.96 * se, change + 1.96 * se
        if np.isfinite(se) and low < 0 < high and verb != "stayed about the same":
            sentence += f"; the change ({change:+.1f} points, 95% interval {low:+.1f} to "
            sentence += f"{high:+.1f}) is within noise"
        rows.append(
            _row(
                "gaps", outcome, group, sentence + ".", estimate=change, ci_lower=low,
                ci_upper=high, method="gap change with the excellence-with-equity typology",
                verdict=verb.replace("stayed about the same", "stable"),
            )
        )  # fmt: skip
    return rows


def _strategies(scorecard: pd.DataFrame, names: Mapping[str, str] | None) -> list[dict]:
    rows = []
    for _, s in scorecard.iterrows():
        name = str((names or {}).get(s["strategy"], s["strategy"]))
        verdict = str(s["verdict"])
        words = VERDICT_WORDS.get(verdict, verdict)
        group = str(s["group"])
        subject = name if group == "All students" else f"{name} ({_who(group)})"
        if verdict == "insufficient_data" or not np.isfinite(s.get("actual", np.nan)):
            note = f": {s['note']}" if s.get("note") else ""
            rows.append(
                _row("strategies", s["outcome"], s["group"], f"{subject} {words}{note}.",
                     verdict=verdict)
            )  # fmt: skip
            continue
        sentence = (
            f"{subject} {words}: {_pct(s['actual'])} in {int(s['last_period'])} against a "
            f"projected {_pct(s['projected'])} (95% prediction interval "
            f"{_pct(s['pi_lower'])} to {_pct(s['pi_upper'])})"
        )
        first: Any = s.get("baseline_first")
        last: Any = s.get("baseline_last")
        if np.isfinite(first) and np.isfinite(last):
            length = int(last - first + 1)
            ahead = int(s["last_period"] - last)
            if length < 5:
                sentence += f"; a {length}-year baseline is short, so the projection is uncertain"
            if ahead > length:
                sentence += (
                    f"; the projection runs {ahead} years past a {length}-year baseline, "
                    "so read it with care"
                )
        rows.append(
            _row(
                "strategies", s["outcome"], s["group"], sentence + ".",
                estimate=s["difference_pp"], method="baseline projection with prediction interval",
                verdict=verdict,
            )
        )  # fmt: skip
    return rows


def _row(topic, outcome, group, sentence, *, estimate=np.nan, ci_lower=np.nan, ci_upper=np.nan,
         method="", verdict="") -> dict:  # fmt: skip
    return dict(
        zip(
            _COLUMNS,
            [topic, outcome, group, sentence, estimate, ci_lower, ci_upper, method, verdict],
            strict=True,
        )
    )


def findings(
    *,
    trends: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    overview: pd.DataFrame | None = None,
    gap_changes: pd.DataFrame | None = None,
    scorecard: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
    strategy_names: Mapping[str, str] | None = None,
    largest_gaps: int = 3,
) -> pd.DataFrame:
    """The report's findings as sentences with their numbers.

    Parameters
    ----------
    trends : DataFrame, optional
        :func:`~c2c_analysis.trend` of the All students rows, one row per outcome.
    runs : DataFrame, optional
        The run-chart summary (:func:`~c2c_analysis.spc_table` with ``summary=True``,
        ``by=["outcome"]``): the sentence names a signal and why.
    overview : DataFrame, optional
        :func:`~c2c_analysis.outcome_overview`: each outcome's latest rate and year.
    gap_changes : DataFrame, optional
        :func:`~c2c_analysis.gap_change`: the ``largest_gaps`` largest gaps at the end are
        told with how they changed, in the typology's words.
    scorecard : DataFrame, optional
        :func:`~c2c_analysis.evaluate_portfolio`'s table: each strategy's verdict with its
        caveats (a short baseline; a projection far past it).
    labels, strategy_names : mapping, optional
        Outcome labels (default: the catalogue's) and strategy names (default: their ids).
    largest_gaps : int

    Returns
    -------
    DataFrame
        One row per finding: ``topic`` (``improving``, ``gaps``, ``strategies``),
        ``outcome``, ``group``, ``sentence``, ``estimate`` (the number the sentence is
        about: slope or gap change in points, or actual minus projected), ``ci_lower``,
        ``ci_upper``, ``method`` and ``verdict`` (``improving``, ``worsening``,
        ``within_noise`` or ``too_few_years`` for trends; ``narrowed``, ``widened``,
        ``stable`` or ``reversed`` for gaps; the scorecard's verdict for strategies).

    Examples
    --------
    >>> import pandas as pd
    >>> trends = pd.DataFrame({"outcome": ["hs_graduation"], "slope_pp": [1.2],
    ...                        "ci_lower_pp": [0.4], "ci_upper_pp": [2.0],
    ...                        "first_period": [2010], "last_period": [2019]})
    >>> findings(trends=trends)["sentence"].iloc[0]  # doctest: +NORMALIZE_WHITESPACE
    'High school graduation: up 1.2 points a year over 2010-2019
     (95% interval +0.4 to +2.0), improving.'
    """
    rows: list[dict] = []
    if trends is not None and len(trends):
        rows += _improvement(trends, runs, overview, labels)
    if gap_changes is not None and len(gap_changes):
        rows += _gaps(gap_changes, labels, largest_gaps)
    if scorecard is not None and len(scorecard):
        rows += _strategies(scorecard, strategy_names)
    return pd.DataFrame(rows, columns=_COLUMNS)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def headlines(
    findings: pd.DataFrame,
    *,
    gap_changes: pd.DataFrame | None = None,
    scorecard: pd.DataFrame | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """One sentence per question, for the report's first screen.

    Parameters
    ----------
    findings : DataFrame
        :func:`findings`' table.
    gap_changes : DataFrame, optional
        Every gap (not only the largest): how many narrowed, widened or held.
    scorecard : DataFrame, optional
        :func:`~c2c_analysis.evaluate_portfolio`'s table.
    labels : mapping, optional
        Outcome labels.

    Returns
    -------
    dict
        ``improving``, ``gaps`` and ``strategies``: a sentence each (empty data say so).

    Examples
    --------
    >>> table = findings(trends=pd.DataFrame({"outcome": ["hs_graduation"], "slope_pp": [1.2],
    ...     "ci_lower_pp": [0.4], "ci_upper_pp": [2.0], "first_period": [2010],
    ...     "last_period": [2019]}))
    >>> print(headlines(table)["improving"])  # doctest: +NORMALIZE_WHITESPACE
    Of 1 outcome with a trend, 1 is improving (High school graduation), 0 worsening and
    0 within noise.
    """
    out = {}
    trend = findings[findings["topic"] == "improving"] if len(findings) else findings
    judged = trend[trend["verdict"] != "too_few_years"] if len(trend) else trend
    if len(judged):
        counts = judged["verdict"].value_counts()
        up = judged.loc[judged["verdict"] == "improving", "outcome"]
        down = judged.loc[judged["verdict"] == "worsening", "outcome"]
        names = lambda o: ", ".join(_label(x, labels) for x in o)  # noqa: E731
        text = (
            f"Of {_count(len(judged), 'outcome')} with a trend, {counts.get('improving', 0)} "
            f"{'is' if counts.get('improving', 0) == 1 else 'are'} improving"
        )
        text += f" ({names(up)})" if len(up) else ""
        text += f", {counts.get('worsening', 0)} worsening"
        text += f" ({names(down)})" if len(down) else ""
        text += f" and {counts.get('within_noise', 0)} within noise."
        out["improving"] = text
    else:
        out["improving"] = "No outcome has enough years for a trend."
    if gap_changes is not None and len(gap_changes):
        usable = gap_changes[
            (gap_changes["category"] != "insufficient_data")
            & ~gap_changes["group"].isin(_CATCH_ALL)
            & np.isfinite(gap_changes["gap_end_pp"])
        ]
        kind = usable["category"].str.split("_").str[0]
        n = len(usable)
        text = (
            f"Of {_count(n, 'gap')} with data at both ends, {int((kind == 'narrowing').sum())} "
            f"narrowed, {int((kind == 'widening').sum())} widened, "
            f"{int(kind.isin(['stable', 'no']).sum())} stayed about the same and "
            f"{int((kind == 'reversed').sum())} reversed."
        )
        largest = findings[findings["topic"] == "gaps"] if len(findings) else findings
        if len(largest):
            text += " Largest: " + largest["sentence"].iloc[0]
        out["gaps"] = text if n else "No gap has data at both its first and last year."
    else:
        out["gaps"] = "No gaps could be computed."
    if scorecard is not None and len(scorecard):
        verdicts = scorecard["verdict"].astype(str)
        judged_verdicts = verdicts[verdicts != "insufficient_data"]
        beat = scorecard.loc[verdicts == "turned_the_curve"]
        text = (
            f"{len(beat)} of {_count(len(judged_verdicts), 'strategy result')} beat "
            f"{'its' if len(judged_verdicts) == 1 else 'their'} baseline beyond the "
            "prediction interval"
        )
        if len(beat):
            text += (
                " ("
                + ", ".join(
                    f"{s} for {_who(g)}" if g != "All students" else str(s)
                    for s, g in zip(beat["strategy"], beat["group"], strict=True)
                )
                + ")"
            )
        within = int((judged_verdicts == "above_baseline_within_noise").sum())
        text += f"; {within} {'was' if within == 1 else 'were'} above it within noise"
        short = (scorecard["baseline_last"] - scorecard["baseline_first"] + 1) < 5
        if short.any():
            text += "; short baselines make these projections uncertain"
        missing = int((verdicts == "insufficient_data").sum())
        if missing:
            text += f"; {missing} cannot be judged yet"
        out["strategies"] = text + "."
    else:
        out["strategies"] = "No strategy portfolio was given for this partnership."
    return out
