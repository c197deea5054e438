"""The report page: title, findings, figures with alt text, sources, and its style sheet.

A report notebook shows these pieces with ``IPython.display.HTML``; the runner's HTML
export adds :data:`TEMPLATE_BLOCKS` to its nbconvert template (the page's style sheet, and
``alt`` text on every figure from the output's metadata, which
:func:`c2c_analysis.plotting.set_theme` sets from each figure) and takes the page's
``<title>`` from the title the notebook showed (:func:`report_title`).

All text from data goes through :func:`~c2c_analysis.report.escape.escape_html`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from c2c_analysis.report.escape import escape_html

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REPORT_CSS",
    "TEMPLATE_BLOCKS",
    "TITLE_MIME",
    "DataNotes",
    "collect_data_warnings",
    "figure_grid",
    "figure_html",
    "findings_html",
    "headline_html",
    "notes_html",
    "partnership_title",
    "report_title",
    "sources_html",
    "title_html",
]

#: The output metadata key that carries the page's title from the notebook to the export.
TITLE_MIME = "c2c_analysis/title"

#: The report's style: readable measure, tables as cards under 600 px, grids of figures
#: that collapse to two and then one column, and print rules (no scroll boxes, no
#: folded details, figures kept whole).
REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 color:#1f1f1f;line-height:1.45}
main,.jp-Notebook{max-width:1180px;margin:0 auto}
h1{font-size:1.9em;margin:.3em 0}
.c2c-lede{font-size:1.05em;color:#333}
.c2c-questions{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:12px;
 margin:.6em 0 1em}
.c2c-questions section{border:1px solid #c8c8c8;border-left:6px solid #005a9c;border-radius:4px;
 padding:.5em .8em;background:#f7f9fb}
.c2c-questions h3{margin:.1em 0 .3em;font-size:1.02em}
.c2c-questions p{margin:.2em 0}
.c2c-findings li{margin:.25em 0}
.c2c-table{overflow-x:auto;margin:.4em 0 1em}
.c2c-table table{border-collapse:collapse;font-size:.92em;min-width:50%}
.c2c-table caption{text-align:left;font-weight:600;padding:.3em 0}
.c2c-table th,.c2c-table td{border-bottom:1px solid #d6d6d6;padding:4px 8px;text-align:left;
 vertical-align:top}
.c2c-table thead th{background:#eef2f6;border-bottom:2px solid #8a8a8a}
.c2c-table td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.c2c-footnote{font-size:.85em;color:#444;margin:.2em 0}
.c2c-icon svg{vertical-align:middle}
details{margin:.3em 0}
details>summary{cursor:pointer;font-weight:600;padding:.2em 0}
.c2c-grid{display:grid;grid-template-columns:repeat(var(--c2c-cols,3),minmax(0,1fr));gap:10px}
.c2c-figure{margin:0 0 1em}
.c2c-figure img{max-width:100%;height:auto}
.c2c-figure figcaption{font-size:.88em;color:#333}
.c2c-sources li{margin:.15em 0}
img{max-width:100%;height:auto}
.jp-OutputArea-output{overflow-x:auto}
@media (max-width:900px){.c2c-grid{grid-template-columns:repeat(2,minmax(0,1fr))}
 .c2c-questions{grid-template-columns:1fr}}
@media (max-width:600px){body{margin:0 6px}
 .c2c-grid{grid-template-columns:1fr}
 .c2c-table table,.c2c-table thead,.c2c-table tbody,.c2c-table tr,.c2c-table th,
 .c2c-table td{display:block;width:auto}
 .c2c-table caption{display:block;width:auto}
 .c2c-table thead tr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 .c2c-table tr{border:1px solid #c8c8c8;border-radius:4px;margin:0 0 8px;padding:4px}
 .c2c-table th,.c2c-table td{border:0;padding:2px 4px}
 .c2c-table td.num{text-align:left;white-space:normal}
 .c2c-table td::before{content:attr(data-label) ": ";font-weight:600}}
@media print{.jp-OutputArea-output,.c2c-table{overflow:visible}
 details>summary{display:none} details{display:block}
 .c2c-figure,.c2c-table tr,.c2c-questions section{break-inside:avoid}
 .c2c-questions{grid-template-columns:repeat(3,1fr)}
 a{color:#000;text-decoration:underline}}
"""

# As specific as JupyterLab's own table rules (and later), so that ours apply.
REPORT_CSS = REPORT_CSS.replace(".c2c-table", ":is(.jp-RenderedHTMLCommon,body) .c2c-table")

#: Blocks added to the runner's nbconvert template: the style sheet, and images that carry
#: the alt text of their output's metadata (``{"image/svg+xml": {"alt": ...}}``).
TEMPLATE_BLOCKS = (
    """
{%- block html_head_css -%}<style>"""
    + REPORT_CSS.replace("\n", "")
    + """</style>{%- endblock html_head_css -%}
{% block data_svg scoped -%}
<div class="jp-RenderedSVG jp-OutputArea-output {{ extra_class }}" data-mime-type="image/svg+xml">
<img src="data:image/svg+xml;base64,{{ output.data['image/svg+xml'] | text_base64 | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/svg+xml')) or 'Chart.') | escape_html }}">
</div>
{%- endblock data_svg %}
{% block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/png')) or 'Chart.') | escape_html }}">
</div>
{%- endblock data_png %}
"""
)


class DataNotes(list[str]):
    """The data warnings a report collected (a list of str); :meth:`stop` ends the collecting."""

    # The handler collecting the warnings, and the one it replaced (set when collecting starts).
    _show: Any = None
    _shown: Any = None

    def stop(self) -> None:
        """Show data warnings on stderr again, as before :func:`collect_data_warnings`."""
        import warnings

        if warnings.showwarning is getattr(self, "_show", None):
            warnings.showwarning = self._shown


def collect_data_warnings() -> DataNotes:
    """Send every :class:`~c2c_analysis.C2CDataWarning` from now on to a list, not to stderr.

    A report notebook calls it once, in its first cell: the data warnings of every later
    cell (reading, resolving published rates, projecting baselines) are then the report's
    data notes, each said once, instead of stderr text in the published page (which would
    also show the package's file paths). Other warnings are shown as before.

    Returns
    -------
    DataNotes
        A list of the messages, in the order first raised, without repeats; it grows as
        cells run. Its ``stop()`` restores the previous handling.

    Examples
    --------
    >>> import warnings
    >>> from c2c_analysis import C2CDataWarning
    >>> from c2c_analysis.report import page
    >>> notes = page.collect_data_warnings()
    >>> warnings.warn("3 rows derived", C2CDataWarning)
    >>> warnings.warn("3 rows derived", C2CDataWarning)
    >>> notes
    ['3 rows derived']
    >>> notes.stop()
    """
    import warnings

    from c2c_analysis.validation import C2CDataWarning

    notes = DataNotes()
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if isinstance(category, type) and issubclass(category, C2CDataWarning):
            text = str(message)
            if text not in notes:
                notes.append(text)
            return
        shown(message, category, filename, lineno, file, line)

    # The warnings filters are left as they are (a message repeated from one place is shown
    # once by default, and said once here anyway), so stop() restores all it changed.
    notes._show, notes._shown = show, shown
    warnings.showwarning = show
    return notes


def partnership_title(data: pd.DataFrame | None, partnership: str) -> str:
    """The partnership's name in words: the data's ``partnership_name`` when it has one,
    else the slug title-cased (``harbor_city`` -> ``Harbor City``).

    Examples
    --------
    >>> partnership_title(None, "harbor_city")
    'Harbor City'
    """
    if data is not None and "partnership_name" in data.columns:
        names = data["partnership_name"].dropna().astype(str).str.strip()
        names = names[names != ""]
        if len(names):
            return str(names.mode().iloc[0])
    return re.sub(r"[_-]+", " ", str(partnership)).strip().title()


def title_html(name: str, report: str = "partnership report", *, lede: str = ""):
    """The page's heading as an ``IPython.display.HTML``-displayable bundle: an ``<h1>``
    "Name: report", with the title in the output's metadata for the page's ``<title>``.

    Returns
    -------
    tuple (dict, dict)
        ``(data, metadata)`` for ``IPython.display.display(data, metadata=metadata,
        raw=True)``.
    """
    title = f"{name}: {report}"
    body = f"<h1>{escape_html(title)}</h1>"
    if lede:
        body += f'<p class="c2c-lede">{escape_html(lede)}</p>'
    return {"text/html": body}, {TITLE_MIME: title}


def report_title(notebook) -> str | None:
    """The title a notebook's output set with :func:`title_html`, or ``None``."""
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            title = output.get("metadata", {}).get(TITLE_MIME)
            if isinstance(title, str) and title:
                return title
    return None


def _items(sentences: Iterable[str]) -> str:
    return "".join(f"<li>{escape_html(s)}</li>" for s in sentences)


_QUESTIONS = (
    ("improving", "Is it improving?"),
    ("gaps", "Are gaps closing, and how?"),
    ("strategies", "Did our strategies beat the baseline?"),
)


def headline_html(headlines: Mapping[str, str]) -> str:
    """The three questions answered in one sentence each, side by side (stacked on a
    phone)."""
    cards = "".join(
        f"<section><h3>{escape_html(question)}</h3><p>{escape_html(headlines.get(topic, ''))}"
        "</p></section>"
        for topic, question in _QUESTIONS
    )
    return f'<div class="c2c-questions">{cards}</div>'


def findings_html(findings: pd.DataFrame, headlines: Mapping[str, str] | None = None) -> str:
    """The "Findings" section: the headlines, then each question's sentences."""
    parts = ['<section class="c2c-findings"><h2 id="findings">Findings</h2>']
    if headlines:
        parts.append(headline_html(headlines))
    for topic, question in _QUESTIONS:
        rows: Any = findings[findings["topic"] == topic]["sentence"] if len(findings) else []
        if len(rows):
            parts.append(
                f"<details{' open' if topic != 'improving' else ''}><summary>{question} "
                f"({len(rows)} finding{'s' if len(rows) != 1 else ''})</summary>"
                f"<ul>{_items(rows)}</ul></details>"
            )
    parts.append("</section>")
    return "".join(parts)


def notes_html(notes: Sequence[str], *, heading: str | None = None) -> str:
    """A list of plain-text notes (the data notes, withheld groups in words)."""
    head = f"<h3>{escape_html(heading)}</h3>" if heading else ""
    notes = list(notes)
    return f"{head}<ul>{_items(notes)}</ul>" if notes else head


def figure_html(fig, *, alt: str | None = None, caption: str | None = None) -> str:
    """``fig`` as an ``<figure>`` holding its SVG as an image with ``alt`` text (default:
    :func:`~c2c_analysis.plotting.describe_figure`) and an optional caption; the figure is
    closed."""
    from c2c_analysis.plotting import describe_figure, figure_svg

    alt = alt or describe_figure(fig)
    svg = figure_svg(fig)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    cap = f"<figcaption>{escape_html(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="c2c-figure"><img src="data:image/svg+xml;base64,{data}" '
        f'alt="{escape_html(alt)}">{cap}</figure>'
    )


def figure_grid(figures: Sequence[Any], *, columns: int = 3) -> str:
    """Figures (:func:`figure_html`, or the pending figures of a
    :class:`~c2c_analysis.report.figures.FigureRenderer`) in a grid of ``columns`` that
    collapses to two columns under 900 px and one under 600 px."""
    cells = "".join(str(figure) for figure in figures)  # a FigureRenderer's are waited for
    return f'<div class="c2c-grid" style="--c2c-cols:{int(columns)}">' + cells + "</div>"


_PUBLISHED = re.compile(r"modelled to agree with the published ([0-9.]+%) \(([^,)]+)")


def sources_html(data: pd.DataFrame, *, sample: bool = False) -> str:
    """Where the numbers come from: each distinct ``source`` with its rows, and for the
    bundled sample which figures are real and which modelled.

    Parameters
    ----------
    data : DataFrame
        The report's rows (with ``source``).
    sample : bool
        The rows are the bundled sample (``data/sample/README.md`` tells its provenance).
    """
    if "source" not in data.columns or data.empty:
        return "<p>The data carry no source.</p>"
    sources = data["source"].fillna("not given").astype(str)
    cited = sources.str.extract(_PUBLISHED)
    real = cited[0].notna()
    grouped = sources.where(~real, "modelled to agree with a published figure")
    counts = grouped.value_counts()
    items = "".join(
        f"<li>{escape_html(name)}: {count:,} row{'s' if count != 1 else ''}</li>"
        for name, count in counts.items()
    )
    parts = [f'<ul class="c2c-sources">{items}</ul>']
    if sample:
        parts.append(
            "<p><strong>What is real and what is modelled.</strong> This report runs on the "
            "package's bundled sample. Only the published figures listed below are real; every "
            "other rate, every count of students and every cohort size is modelled or "
            "synthetic, and the strategies are fictional (data/sample/README.md gives the "
            "provenance of every file). Do not cite these numbers as a partnership's results.</p>"
        )
    if real.any():
        rows = data.loc[real.to_numpy(), ["outcome", "group", "year"]].copy()
        rows["published"] = cited.loc[real, 0].to_numpy()
        rows["cited"] = cited.loc[real, 1].to_numpy()
        rows = rows.sort_values(["outcome", "group", "year"])
        from c2c_analysis.report.tables import html_table

        parts.append(
            html_table(
                rows,
                {
                    "outcome": "Outcome",
                    "group": "Group",
                    "year": "Year (class of)",
                    "published": "Published rate",
                    "cited": "Source id",
                },
                caption="Real, published figures that the modelled series agree with",
                footnotes=[
                    "Source ids are listed with their citations in data/sample/README.md "
                    "(tacoma_published.csv); the counts behind these rates are modelled."
                ],
            )
        )
    elif not sample:
        kinds = sources.unique()
        parts.append(
            f"<p>All {len(data):,} rows come from the {len(kinds)} source"
            f"{'s' if len(kinds) != 1 else ''} above, as published, with small cells withheld.</p>"
        )
    return "".join(parts)
