"""What every drawing of :mod:`c2c_analysis.plotting` shares: new axes laid out by
matplotlib's constrained layout, literal text, the percent axis, the legend outside the
lines and the colours of baseline, forecast, actual and signals.

matplotlib is imported inside the functions, so that importing the package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

BASELINE = "#4d4d4d"
FORECAST = "#7a7a7a"
ACTUAL = "#1b6ca8"
# Signals in the outcome's better direction and against it, and without a direction: the
# blue, orange and purple of NHS Making Data Count's charts.
IMPROVEMENT = "#0072b2"
CONCERN = "#d55e00"
NEUTRAL = "#7b3294"


def own(fig: Figure, **spacing: float) -> Figure:
    """Lay ``fig`` out as the package's figures are: matplotlib's constrained layout, which
    makes room for tick labels, titles and legends outside the axes at each draw (so the
    figure is shown and saved at its own size, without cropping).

    Parameters
    ----------
    fig : Figure
    **spacing : float
        Passed to the layout engine (``w_pad``, ``h_pad``, ``wspace``, ``hspace``).

    Returns
    -------
    Figure
        ``fig``, with the ``"constrained"`` layout engine.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = own(plt.figure())
    >>> laid_out(fig)
    True
    >>> plt.close(fig)
    """
    fig.set_layout_engine("constrained", **spacing)
    return fig


def laid_out(fig: Figure) -> bool:
    """Whether ``fig`` is laid out by constrained layout (a figure made here, or one the
    caller made with ``layout="constrained"``): it is then drawn at its own size, once.

    Parameters
    ----------
    fig : Figure

    Returns
    -------
    bool

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plt.figure()
    >>> laid_out(fig)
    False
    >>> plt.close(fig)
    """
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    return isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)


def new_axes(ax: Axes | None, figsize: tuple[float, float] = (8, 4.5)) -> Axes:
    """``ax``, or the axes of a new figure of ``figsize`` inches laid out by :func:`own`.

    Parameters
    ----------
    ax : Axes, optional
        Returned as it is (its figure's layout is the caller's).
    figsize : (float, float)
        Width and height of a new figure.

    Returns
    -------
    Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = new_axes(None)
    >>> [float(v) for v in ax.figure.get_size_inches()], laid_out(ax.figure)
    ([8.0, 4.5], True)
    >>> plt.close(ax.figure)
    """
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def literal(text: object) -> str:
    """``text`` drawn as it is spelled: every data- or parameter-derived string in a figure
    goes through here, so a label such as ``Income $0-$25k`` or ``Grp $\\foo{$ x`` is not
    read as mathtext (a dollar escaped as ``\\$`` is drawn as a dollar). The figure-text
    context of :mod:`c2c_analysis.report.escape`.

    Parameters
    ----------
    text : object
        Converted with ``str``.

    Returns
    -------
    str

    Examples
    --------
    >>> literal("Income $0-$25k")
    'Income \\\\$0-\\\\$25k'
    """
    return str(text).replace("$", r"\$")


def time_label(time: str) -> str:
    """The x label of a period column: ``school_year`` is drawn "School year".

    Parameters
    ----------
    time : str
        The column's name.

    Returns
    -------
    str
        Literal text (see :func:`literal`).

    Examples
    --------
    >>> time_label("school_year")
    'School year'
    """
    return literal(time.replace("_", " ").capitalize())


def percent_axis(ax: Axes) -> None:
    """Label the y axis of proportions in percent, with as many decimals as each tick
    needs: 72.5% (not a rounded 73%), and 70% (not 70.0%).

    Parameters
    ----------
    ax : Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> percent_axis(ax)
    >>> ax.yaxis.get_major_formatter()(0.725, 0)
    '72.5%'
    >>> plt.close(fig)
    """
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{100 * value:.6g}%"))


def legend_outside(ax: Axes) -> None:
    """The legend to the right of the axes, clear of the lines (constrained layout makes
    room for it; a figure without it is cropped to its contents when shown).

    Parameters
    ----------
    ax : Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> ax = new_axes(None)
    >>> _ = ax.plot([0, 1], [0, 1], label="line")
    >>> legend_outside(ax)
    >>> ax.figure.draw_without_rendering()
    >>> bool(ax.get_legend().get_window_extent().x0 > ax.get_window_extent().x1)
    True
    >>> plt.close(ax.figure)
    """
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
