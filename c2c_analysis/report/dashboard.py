"""The network dashboard: ``index.html`` with one row per partnership.

Each report records a small summary in its ``results.json`` (:func:`summary`, under
``"dashboard"``); :func:`render_index` reads them back and writes one row per report: each
core outcome's latest rate, its change since the first year and its run-chart signal icon,
the largest gap and how it changed, how many strategies beat their baseline, the report's
date, its status and a link. The table is sortable without any script: it is written once
per sort order, each copy pre-sorted on the server, and the column headers link to the
copy sorted by that column (CSS ``:target`` shows it); the page's policy forbids scripts.
Where the batch holds at least :data:`FUNNEL_MIN` partnerships with graduation counts, a
funnel plot shows their latest graduation rates against their cohort sizes.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from c2c_analysis.report.escape import csp_meta, escape_html
from c2c_analysis.report.page import REPORT_CSS
from c2c_analysis.schema import OUTCOMES, better_direction

__all__ = ["FUNNEL_MIN", "render_index", "summary"]

#: Fewest partnerships with graduation counts for the funnel plot.
FUNNEL_MIN = 5
_CATCH_ALL = frozenset({"Not reported", "Unknown", "Withheld groups"})


def _number(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def summary(
    *,
    partnership: str,
    name: str,
    overview: pd.DataFrame,
    variation: pd.DataFrame | None = None,
    gap_changes: pd.DataFrame | None = None,
    scorecard: pd.DataFrame | None = None,
    data: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """What the dashboard shows of one report, JSON-safe (recorded in ``results.json``).

    Parameters
    ----------
    partnership, name : str
        The slug and the name in words.
    overview : DataFrame
        :func:`~c2c_analysis.outcome_overview` of the (suppressed) data.
    variation : DataFrame, optional
        An SPC summary with ``outcome`` and ``variation`` (NHS rules).
    gap_changes : DataFrame, optional
        :func:`~c2c_analysis.gap_change`: the largest gap at the end and its category.
    scorecard : DataFrame, optional
        :func:`~c2c_analysis.evaluate_portfolio`'s table.
    data : DataFrame, optional
        The suppressed rows: the latest all-students graduation count for the funnel.

    Returns
    -------
    dict
        ``partnership``, ``name``, ``outcomes`` (per outcome id: ``latest_rate``,
        ``last_year``, ``change_pp``, ``variation``), ``largest_gap`` (or ``None``),
        ``strategies`` (``beat``, ``judged``, ``total``) and ``graduation`` (latest
        ``numerator``, ``denominator`` and ``year``, or ``None``).
    """
    signals = {}
    if variation is not None and len(variation) and "variation" in variation.columns:
        last = variation.drop_duplicates("outcome", keep="last")
        signals = dict(zip(last["outcome"].astype(str), last["variation"].astype(str), strict=True))
    outcomes = {}
    for _, row in overview.iterrows():  # one row per outcome: a handful
        outcomes[str(row["outcome"])] = {
            "latest_rate": _number(row["latest_rate"]),
            "last_year": int(row["last_year"]),
            "change_pp": _number(row["change_pp"]),
            "variation": signals.get(str(row["outcome"]), ""),
        }
    largest = None
    if gap_changes is not None and len(gap_changes):
        usable = gap_changes[
            np.isfinite(pd.to_numeric(gap_changes["gap_end_pp"], errors="coerce"))
            & ~gap_changes["group"].isin(_CATCH_ALL)
            & (gap_changes["category"] != "insufficient_data")
        ]
        if len(usable):
            top = usable.loc[usable["gap_end_pp"].abs().idxmax()]
            largest = {
                "outcome": str(top["outcome"]),
                "group": str(top["group"]),
                "reference": str(top["reference"]),
                "gap_end_pp": _number(top["gap_end_pp"]),
                "gap_change_pp": _number(top["gap_change_pp"]),
                "category": str(top["category"]),
            }
    strategies = None
    if scorecard is not None:
        verdicts = scorecard["verdict"].astype(str)
        strategies = {
            "beat": int((verdicts == "turned_the_curve").sum()),
            "judged": int((verdicts != "insufficient_data").sum()),
            "total": len(verdicts),
        }
    graduation = None
    if data is not None and len(data):
        rows = data[
            (data["outcome"] == "hs_graduation")
            & (data["dimension"] == "all")
            & data["numerator"].notna()
            & data["denominator"].notna()
        ]
        if len(rows):
            latest: Any = rows["year"].idxmax()
            last = rows.loc[latest]
            graduation = {
                "numerator": int(last["numerator"]),
                "denominator": int(last["denominator"]),
                "year": int(last["year"]),
            }
    return {
        "partnership": partnership,
        "name": name,
        "outcomes": outcomes,
        "largest_gap": largest,
        "strategies": strategies,
        "graduation": graduation,
    }


def _read(path: Path) -> dict | None:
    if path.is_symlink():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _label(outcome: str) -> str:
    return OUTCOMES[outcome].label if outcome in OUTCOMES else outcome


def _cell(
    entry: Mapping[str, Any] | None, outcome: str, usual_year: int | None = None
) -> tuple[str, float]:
    from c2c_analysis.report.icons import variation_icon

    rate = _number(entry.get("latest_rate")) if isinstance(entry, Mapping) else None
    if not isinstance(entry, Mapping) or rate is None:
        return "\u2013", -math.inf
    change = _number(entry.get("change_pp"))
    kind = str(entry.get("variation") or "")
    high = None
    if kind in ("special_cause_improvement", "special_cause_concern"):
        high = (kind == "special_cause_improvement") == (better_direction(outcome) == "higher")
    icon = variation_icon(kind, high=high, size=22) if kind else ""
    text = f"<strong>{100 * rate:.1f}%</strong>"
    year = entry.get("last_year")
    if isinstance(year, int) and year != usual_year:
        text += f" ({year})"
    if change is not None:
        text += f"<br>{change:+.1f} pts".replace("-", "\u2212")
    if icon:
        text += f' <span class="c2c-icon">{icon}</span>'
    return text, rate


def _gap_text(gap: Mapping[str, Any] | None) -> tuple[str, float]:
    from c2c_analysis.report.tables import CATEGORY_WORDS

    end = _number(gap.get("gap_end_pp")) if isinstance(gap, Mapping) else None
    if not isinstance(gap, Mapping) or end is None:
        return "\u2013", -math.inf
    size = abs(end)
    words = CATEGORY_WORDS.get(str(gap.get("category")), str(gap.get("category", "")))
    text = (
        f"<strong>{size:.1f} pts</strong> {escape_html(gap.get('group'))} vs "
        f"{escape_html(gap.get('reference'))}, "
        f"{escape_html(_label(str(gap.get('outcome'))).lower())}"
        f": {escape_html(words)}"
    )
    return text, size


def _rows(out_dir: Path, index_rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for row in index_rows:
        results = _read(out_dir / row["folder"] / "results.json") if row.get("folder") else None
        dash = results.get("dashboard") if isinstance(results, dict) else None
        dash = dash if isinstance(dash, dict) else {}
        name = str(dash.get("name") or row["partnership"])
        if row.get("notebook") not in (None, "", "partnership_report"):
            name += f" ({str(row['notebook']).replace('_', ' ')})"
        rows.append({**row, "dash": dash, "name": name})
    return rows


def _funnel(rows: Sequence[Mapping[str, Any]]) -> str:
    counts = [
        {"unit": r["name"], **r["dash"]["graduation"]}
        for r in rows
        if isinstance(r["dash"].get("graduation"), dict)
    ]
    if len(counts) < FUNNEL_MIN:
        return ""
    # A figure without pyplot: no global backend or state in the batch's process.
    from matplotlib.figure import Figure

    from c2c_analysis import plotting
    from c2c_analysis.report.page import figure_html
    from c2c_analysis.spc import funnel_chart

    table = pd.DataFrame(counts)
    result = funnel_chart(table, numerator="numerator", denominator="denominator", unit="unit")
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    plotting.plot_funnel(result, ax=ax)
    years = sorted({c["year"] for c in counts})
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}-{years[-1]}"
    ax.set_title(f"Latest high school graduation rate against cohort size ({span})")
    flags = result.table.get("flag_95", pd.Series("within", index=result.table.index))
    outside = [
        f"{unit} ({flag})"
        for unit, flag in zip(result.table["unit"], flags, strict=True)
        if flag != "within"
    ]
    alt = (
        f"Funnel plot of {len(counts)} partnerships' latest high school graduation rates "
        "against their cohort sizes, with 95% and 99.8% control limits around the pooled "
        f"rate; outside the 95% limits: {', '.join(outside) or 'none'}."
    )
    return "<h2>Graduation rates against cohort size</h2>" + figure_html(fig, alt=alt)


_INDEX_CSS = (
    REPORT_CSS.replace("\n", "")
    + "body{margin:1em auto;max-width:1400px;padding:0 12px}"
    + ".c2c-sort{display:none}.c2c-sort:target{display:block}"
    + "body:not(:has(.c2c-sort:target)) #by-name{display:block}"
    + ".failed{color:#a3211a;font-weight:600}.succeeded{color:#126b2b}"
    + ".c2c-table th a{color:inherit}"
    + ":is(.jp-RenderedHTMLCommon,body) .c2c-table table{font-size:.85em}"
    + ":is(.jp-RenderedHTMLCommon,body) .c2c-table td{min-width:5.5em}"
)


def render_index(out_dir: str | Path, index_rows: Sequence[Mapping[str, Any]]) -> str:
    """The dashboard page for the report folders of ``out_dir``.

    Parameters
    ----------
    out_dir : path
        The output folder (each report's ``results.json`` is read from it).
    index_rows : sequence of mapping
        One per report (the runner's rows: ``folder``, ``partnership``, ``notebook``,
        ``status``, ``when``, ``detail`` and ``link``).

    Returns
    -------
    str
        The whole ``index.html``.
    """
    # Long because the page is written top to bottom in one place (head, filters, one
    # row per report, the legend), so its HTML reads in the order it is shown.
    out_dir = Path(out_dir)
    rows = _rows(out_dir, index_rows)
    outcomes = [o for o in OUTCOMES if any(o in r["dash"].get("outcomes", {}) for r in rows)]
    headers = ["Partnership", *(_label(o) for o in outcomes)]
    headers += ["Largest gap (points)", "Strategies beating their baseline", "Report"]
    keys = ["name", *outcomes, "gap", "strategies", "when"]
    years = [
        e.get("last_year")
        for r in rows
        for e in r["dash"].get("outcomes", {}).values()
        if isinstance(e, Mapping)
    ]
    usual_year = max(set(years), key=years.count) if years else None
    table = []
    for r in rows:
        dash = r["dash"]
        link = escape_html(r["name"])
        if r.get("link") and r.get("status") == "succeeded":
            href = escape_html(urllib.parse.quote(r["folder"]) + "/report.html")
            link = f'<a href="{href}">{link}</a>'
        cells, sort = [link], [r["name"].lower()]
        for outcome in outcomes:
            text, value = _cell(dash.get("outcomes", {}).get(outcome), outcome, usual_year)
            cells.append(text)
            sort.append(value)
        text, value = _gap_text(dash.get("largest_gap"))
        cells.append(text)
        sort.append(value)
        strategies = dash.get("strategies")
        if isinstance(strategies, dict):
            beat, judged = strategies.get("beat", 0), strategies.get("judged", 0)
            total = strategies.get("total", 0)
            text = f"{beat} of {judged} judged"
            if total != judged:
                text += f" ({total - judged} not yet)"
            cells.append(text)
            sort.append(beat)
        else:
            cells.append("no portfolio")
            sort.append(-1)
        when = str(r.get("when") or "")
        status = r.get("status", "failed")
        detail = f"<br>{escape_html(r['detail'])}" if r.get("detail") else ""
        cells.append(
            f"{escape_html(when[:10]) or chr(0x2013)}<br>"
            f'<span class="{escape_html(status)}">{escape_html(status)}</span>{detail}'
        )
        sort.append(when)
        table.append((cells, sort))
    sections = []
    for position, key in enumerate(keys):
        ident = f"by-{key}"

        def sort_key(i: int, p: int = position) -> tuple[Any]:
            return (table[i][1][p],)

        order = sorted(range(len(table)), key=sort_key, reverse=position != 0)
        head = "".join(
            f'<th scope="col"><a href="#by-{k}">{escape_html(h)}</a>'
            f"{' (sorted)' if k == key else ''}</th>"
            for k, h in zip(keys, headers, strict=True)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<{"th scope=row" if j == 0 else "td"} data-label="{escape_html(headers[j])}">'
                f"{c}</{'th' if j == 0 else 'td'}>"
                for j, c in enumerate(table[i][0])
            )
            + "</tr>"
            for i in order
        )
        caption = f"Partnerships, sorted by {headers[position].lower()}"
        sections.append(
            f'<section class="c2c-sort" id="{ident}" aria-label="{escape_html(caption)}">'
            f'<div class="c2c-table"><table><caption>{escape_html(caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>"
        )
    n_ok = sum(r.get("status") == "succeeded" for r in rows)
    latest = f" ({usual_year} unless a year is given)" if usual_year else ""
    intro = (
        f"<p>{len(rows)} report{'s' if len(rows) != 1 else ''}, {n_ok} succeeded. Each "
        f"outcome shows the latest all-students rate{latest}, its change since the first "
        "year in percentage points (pts) and the run-chart signal (NHS Making Data Count "
        "icons: blue improvement, orange concern, grey no signal). Select a column's header "
        "to sort by it; counts under the reports' minimum are withheld in every report.</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"{csp_meta()}"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Partnership reports: network dashboard</title><style>{_INDEX_CSS}</style>"
        "</head><body><main><h1>Partnership reports: network dashboard</h1>"
        f"{intro}{''.join(sections)}{_funnel(rows)}</main></body></html>"
    )
