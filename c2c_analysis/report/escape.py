"""One escaping path for text that comes from data or parameters.

Partnership names, outcome ids, group labels, file names, reading notes and error messages
come from files that pass through many hands (a state file is shared by every partnership of
the state). None of them may become markup: each reaches its context through one of these
functions.

- Markdown shown by a notebook (``display(Markdown(...))``): :func:`markdown` fills a trusted
  template with escaped values, :func:`markdown_list` makes a bulleted list of plain-text
  items, :func:`escape_markdown` escapes one piece of text;
- HTML the runner writes itself (``index.html``): :func:`escape_html`;
- spreadsheet cells (CSV and Excel): :func:`formula_safe`;
- figure text: every data-derived string drawn by :mod:`c2c_analysis.plotting` goes through its
  ``_literal`` helper (no mathtext from data);
- SVG: matplotlib escapes the text it writes, and the report embeds figures as images, in
  which an SVG cannot run script.

Tables shown as DataFrames are escaped by pandas (``DataFrame.to_html(escape=True)``, the
default of their notebook display). The report pages also carry a Content-Security-Policy
(:data:`CONTENT_SECURITY_POLICY`) that forbids every script, so markup that slipped past
this module still could not run.
"""

from __future__ import annotations

import html
import re
import string
from collections.abc import Iterable
from typing import Any

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "FORMULA_PREFIXES",
    "csp_meta",
    "escape_html",
    "escape_markdown",
    "formula_safe",
    "markdown",
    "markdown_list",
]

#: The policy of ``report.html`` and ``index.html``: no script of any kind (inline, remote,
#: event handlers, ``javascript:`` links), no remote fetches; inline styles and ``data:``
#: images (the figures) only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
)

#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV
#: Injection"): equals, plus, minus, at, tab and carriage return.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones that
# can start or end markup (emphasis, links, code, headings, lists, tables, math, HTML).
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|~$:&<>\"']")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"}
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c]+")


def escape_html(text: Any) -> str:
    """``text`` as HTML text or a quoted attribute value (``& < > " '`` escaped).

    Examples
    --------
    >>> escape_html('<img src=y onerror="alert(3)">')
    '&lt;img src=y onerror=&quot;alert(3)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


def escape_markdown(text: Any) -> str:
    """``text`` as literal inline Markdown: no markup, no HTML, no math, one line.

    HTML characters become entities and Markdown punctuation is backslash-escaped, so a
    renderer (nbconvert's mistune, JupyterLab's marked) shows the text as it is; line breaks
    become spaces, so the text cannot start a new block (a heading, a list, raw HTML).

    Examples
    --------
    >>> escape_markdown("<img src=y onerror=alert(3)>")
    '&lt;img src=y onerror=alert\\\\(3\\\\)&gt;'
    >>> escape_markdown("Income $0-$25k")
    'Income \\\\$0\\\\-\\\\$25k'
    """
    text = _LINE_BREAKS.sub(" ", str(text))
    return _MARKDOWN_SPECIAL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    # One pass: an entity made here is not escaped again (its '#' would break it).
    char = match.group()
    return _ENTITIES.get(char) or "\\" + char


class _MarkdownFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return escape_markdown(super().format_field(value, format_spec))


_FORMATTER = _MarkdownFormatter()


def markdown(template: str, /, *args: Any, **kwargs: Any) -> str:
    """Fill a trusted Markdown ``template`` (``str.format`` syntax) with escaped values.

    The template's own markup is kept; each value is formatted with its format spec and
    then escaped (:func:`escape_markdown`).

    Examples
    --------
    >>> markdown("**{}**: {n:,} rows", "<b>x</b>", n=1200)
    '**&lt;b&gt;x&lt;/b&gt;**: 1,200 rows'
    """
    return _FORMATTER.format(template, *args, **kwargs)


def markdown_list(items: Iterable[Any]) -> str:
    """A bulleted Markdown list of plain-text ``items``, each escaped.

    Examples
    --------
    >>> print(markdown_list(["3 cells are withheld", "read as cp1252 from <a>.csv"]))
    - 3 cells are withheld
    - read as cp1252 from &lt;a&gt;\\.csv
    """
    return "\n".join(f"- {escape_markdown(item)}" for item in items)


def csp_meta() -> str:
    """The ``<meta>`` element that applies :data:`CONTENT_SECURITY_POLICY` to a page."""
    return f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'


def formula_safe(value: Any) -> Any:
    """A spreadsheet cell that cannot be read as a formula.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
    leading apostrophe (OWASP's rule for CSV injection), which spreadsheets read as "this is
    text"; numbers, dates, missing values and other text are returned unchanged.

    Examples
    --------
    >>> formula_safe('=HYPERLINK("http://x","click")')
    '\\'=HYPERLINK("http://x","click")'
    >>> formula_safe(-3.5), formula_safe("Black")
    (-3.5, 'Black')

    References
    ----------
    OWASP, "CSV Injection", https://owasp.org/www-community/attacks/CSV_Injection
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
