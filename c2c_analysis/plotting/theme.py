"""The package's look: the theme, each group's fixed colour, how figures are shown in a
notebook and written as SVG, and their alt text."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from c2c_analysis.plotting._axes import laid_out

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CATCH_ALL_GROUPS",
    "GROUP_COLORS",
    "describe_figure",
    "figure_svg",
    "group_colors",
    "set_theme",
]

#: One colour per group in every figure of every partnership: Okabe & Ito's colour-blind
#: safe palette (with Tol's wine and teal for the last race/ethnicity categories); the
#: higher-rated side of a two-group dimension in blue, the other in vermillion.
GROUP_COLORS: Mapping[str, str] = {
    "All students": "#000000",
    "White": "#0072b2",
    "Black": "#d55e00",
    "Hispanic/Latino": "#e69f00",
    "Asian": "#009e73",
    "American Indian/Alaska Native": "#cc79a7",
    "Native Hawaiian/Other Pacific Islander": "#56b4e9",
    "Two or more races": "#882255",
    "Middle Eastern/North African": "#44aa99",
    "Low income": "#d55e00",
    "Not low income": "#0072b2",
    "Students with disabilities": "#d55e00",
    "Students without disabilities": "#0072b2",
    "English learner": "#d55e00",
    "Not English learner": "#0072b2",
    "Female": "#cc79a7",
    "Male": "#009e73",
    "Gender X": "#e69f00",
    "Not reported": "#999999",
    "Withheld groups": "#999999",
}
_OTHER_COLORS = ("#332288", "#117733", "#999933", "#aa4499", "#88ccee", "#661100", "#6699cc")
#: Groups left out of comparisons: whoever the source could not classify.
CATCH_ALL_GROUPS = frozenset({"Not reported", "Unknown", "Withheld groups"})


def group_colors(labels: Iterable[object]) -> dict[str, str]:
    """The fixed colour of each group label; a label outside the vocabularies gets one of
    seven further colours chosen from its spelling, so it too is the same in every figure.

    Parameters
    ----------
    labels : iterable
        Group labels (converted with ``str``).

    Returns
    -------
    dict
        Colour (hex) by label.

    Examples
    --------
    >>> group_colors(["Black", "White"])
    {'Black': '#d55e00', 'White': '#0072b2'}
    """
    import zlib

    out = {}
    for label in labels:
        text = str(label)
        out[text] = GROUP_COLORS.get(
            text, _OTHER_COLORS[zlib.crc32(text.encode("utf-8")) % len(_OTHER_COLORS)]
        )
    return out


def set_theme(*, figure_format: str | None = None, **kwargs: Any) -> None:
    """Apply the package's figure style (seaborn's ``whitegrid``, readable font sizes).

    This changes matplotlib's global settings, which is why no other function does it.

    Parameters
    ----------
    figure_format : str, optional
        In a notebook, the format figures are shown in: ``"svg"`` (what the report
        templates use: sharp on a phone and in print, and quicker to make than PNG for
        line charts) or ``"png"``. Outside IPython it is ignored. Figures laid out by
        constrained layout (the package's own, or ``layout="constrained"``) are drawn once
        at their own size; any other figure is cropped to its contents as usual (which
        draws it twice).
    **kwargs
        Passed to :func:`seaborn.set_theme`.

    Examples
    --------
    >>> import matplotlib as mpl
    >>> set_theme()
    >>> mpl.rcParams["axes.grid"]
    True
    """
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(**{"style": "whitegrid", "context": "notebook", **kwargs})
    # Titles sit just above the axes (the package's charts put nothing else there), so
    # matplotlib need not measure every tick label to place them: 10-15% of each
    # figure's drawing time in the reports (benchmarks/report.py).
    mpl.rcParams["axes.titley"] = 1.0
    # matplotlib's own colour map (perceptually uniform, colour-blind safe) rather than
    # seaborn's "rocket", which exists only where seaborn is imported: a process that
    # draws the package's figures with these settings need not import seaborn.
    mpl.rcParams["image.cmap"] = "viridis"
    if figure_format is not None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipykernel
            return
        shell = get_ipython()
        if shell is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats(figure_format)
            _register_figure_formatter(shell, figure_format)
    if figure_format == "svg":
        # Text stays text (drawn by the viewer's sans-serif font): half the size of
        # glyphs written as paths, and quicker to write.
        mpl.rcParams["svg.fonttype"] = "none"


def _register_figure_formatter(shell: Any, figure_format: str) -> None:
    """Show figures laid out by constrained layout at their own size (one draw instead of
    the two that cropping to the contents takes); others as the inline backend would."""
    from functools import partial

    from IPython.core.pylabtools import print_figure
    from matplotlib.figure import Figure

    mime = {"svg": "image/svg+xml", "png": "image/png"}.get(figure_format)
    if mime is None:
        return

    def show(fig: Figure, **kwargs: Any) -> tuple[Any, dict[str, str]] | None:
        if not fig.axes and not fig.lines:  # as IPython's print_figure: nothing to show
            return None
        if figure_format == "svg":
            data = figure_svg(fig, close=False)
        else:
            bbox = None if laid_out(fig) else "tight"
            data = print_figure(fig, figure_format, bbox_inches=bbox, **kwargs)
        # (data, metadata): the report's template writes the alt text from the metadata.
        return data, {"alt": describe_figure(fig)}

    formatter = shell.display_formatter.formatters[mime]
    formatter.for_type(Figure, partial(show, base64=True) if figure_format == "png" else show)


def describe_figure(fig: Figure) -> str:
    """The figure's alt text: what a plotting function or the caller set as
    ``fig._c2c_alt``, else its titles and axis labels in words.

    Parameters
    ----------
    fig : Figure

    Returns
    -------
    str

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.set_title("High school graduation"); _ = ax.set_ylabel("Rate")
    >>> describe_figure(fig)
    'Chart: High school graduation (y axis: Rate).'
    >>> plt.close(fig)
    """
    alt = getattr(fig, "_c2c_alt", None)
    if alt:
        return str(alt)
    parts = []
    suptitle = fig.get_suptitle()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        title = ax.get_title().replace("\\$", "$")
        ylabel = ax.get_ylabel().replace("\\$", "$")
        if title:
            parts.append(f"{title} (y axis: {ylabel})" if ylabel else title)
    text = "; ".join(parts[:12]) + ("; and more panels" if len(parts) > 12 else "")
    text = f"{suptitle}: {text}" if suptitle and text else suptitle or text
    return f"Chart: {text}." if text else "Chart."


def figure_svg(fig: Figure, *, close: bool = True) -> str:
    """``fig`` as SVG text, laid out as a notebook would show it (at its own size when it
    is laid out by constrained layout, as the package's figures are; cropped to its
    contents otherwise).

    Parameters
    ----------
    fig : Figure
    close : bool
        Close the figure afterwards.

    Returns
    -------
    str
        The SVG document.

    Examples
    --------
    >>> from c2c_analysis.plotting import plot_trends
    >>> import pandas as pd
    >>> data = pd.DataFrame({"year": [2020, 2021], "group": "All students",
    ...                      "numerator": [40, 45], "denominator": [100, 100]})
    >>> figure_svg(plot_trends(data).figure).lstrip().startswith("<?xml")
    True
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    # No creation date and ids hashed from the contents with a fixed salt: the same
    # figure gives the same bytes (reports are reproducible, and nbval can compare them).
    metadata = {"Date": None}
    with mpl.rc_context({"svg.hashsalt": "c2c_analysis"}):
        if laid_out(fig):
            fig.savefig(buffer, format="svg", bbox_inches=None, metadata=metadata)
            text = buffer.getvalue()
        else:
            text = _cropped_svg(fig, buffer, metadata)
    if close:
        plt.close(fig)
    return text


_SVG_SIZE = re.compile(
    r'(<svg\b[^>]*?)\swidth="([0-9.]+)pt" height="([0-9.]+)pt" viewBox="0 0 [0-9.]+ [0-9.]+"'
)


def _cropped_svg(fig: Figure, buffer: io.StringIO, metadata: dict[str, Any]) -> str:
    """``fig`` as SVG cropped to its contents (``bbox_inches="tight"``) in one draw.

    Matplotlib's tight crop lays the figure out once to measure it and draws it again: a
    third of the time of each report figure. Measured instead from the one draw (the
    renderer of the draw, its text sizes cached), the crop is a new ``viewBox`` on the
    same drawing, with the figure's background extended under any part of it that lies
    outside the figure (a legend beside the axes): the page shows what the tight crop
    shows.
    """
    import matplotlib as mpl

    measured: list[Any] = []

    def measure(event: Any) -> None:
        if event.canvas.figure is fig:
            measured.append(fig.get_tightbbox(event.renderer))

    # savefig switches the figure to the SVG canvas while it draws; draw events are
    # processed by the figure's callback registry, which that switch keeps.
    callback = fig.canvas.mpl_connect("draw_event", measure)
    try:
        fig.savefig(buffer, format="svg", bbox_inches=None, metadata=metadata)
    finally:
        fig.canvas.mpl_disconnect(callback)
    text = buffer.getvalue()
    found = _SVG_SIZE.search(text)
    if not measured or found is None:  # pragma: no cover - matplotlib changed its SVG head
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata=metadata)
        return buffer.getvalue()
    height = float(found.group(3))
    pad = float(mpl.rcParams["savefig.pad_inches"])
    box = measured[-1].padded(pad)
    x0, y0 = 72 * box.x0, height - 72 * box.y1  # points; SVG measures y down from the top
    width, tall = 72 * box.width, 72 * box.height
    head = (
        f'{found.group(1)} width="{width:.6g}pt" height="{tall:.6g}pt" '
        f'viewBox="{x0:.6g} {y0:.6g} {width:.6g} {tall:.6g}"'
    )
    background = _background(fig, x0, y0, width, tall)
    end = text.index(">", found.end()) + 1
    return text[: found.start()] + head + text[found.end() : end] + background + text[end:]


def _background(fig: Figure, x: float, y: float, width: float, height: float) -> str:
    """The figure's background colour under the whole cropped view (none when it is
    transparent), as savefig paints it (``savefig.facecolor``, "auto" meaning the
    figure's own)."""
    import matplotlib as mpl
    from matplotlib.colors import to_hex, to_rgba

    face = mpl.rcParams["savefig.facecolor"]
    rgba = to_rgba(fig.get_facecolor() if str(face) == "auto" else face)
    if rgba[3] == 0:
        return ""
    opacity = f' fill-opacity="{rgba[3]:.6g}"' if rgba[3] < 1 else ""
    return (
        f'\n <rect x="{x:.6g}" y="{y:.6g}" width="{width:.6g}" height="{height:.6g}" '
        f'fill="{to_hex(rgba)}"{opacity}/>'
    )
