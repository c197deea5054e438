"""Reports: the Papermill runner, what notebooks publish, and the helpers notebooks call."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping

from c2c_analysis._defaults import DEFAULT_MIN_CELL, DEFAULT_MIN_N
from c2c_analysis.report.escape import escape_html, escape_markdown, markdown, markdown_list
from c2c_analysis.report.outputs import ReportWriter, formula_safe_table, small_cells
from c2c_analysis.report.runner import (
    NOTEBOOKS,
    OutputFolderBusy,
    OutputFolderError,
    ReportFolderWarning,
    RunRecord,
    notebook_path,
    run_batch,
    run_report,
)
from c2c_analysis.validation import C2CDataWarning

__all__ = [
    "NOTEBOOKS",
    "OutputFolderBusy",
    "OutputFolderError",
    "ReportFolderWarning",
    "ReportWriter",
    "RunRecord",
    "escape_html",
    "escape_markdown",
    "formula_safe_table",
    "load_partnership",
    "load_portfolio",
    "markdown",
    "markdown_list",
    "notebook_path",
    "run_batch",
    "run_report",
    "small_cells",
]


def load_partnership(
    partnership: str,
    *,
    data_path: str | os.PathLike[str] = "",
    min_n: int = DEFAULT_MIN_N,
    min_cell: int | None = DEFAULT_MIN_CELL,
    top_bottom: bool | float | Mapping[int, float] | None = True,
):
    """One partnership's rows of an outcome table, and the same rows suppressed for publishing.

    Only the partnership's rows are read where the file allows (a Parquet filter, or one
    streaming pass over a CSV that keeps them; see
    :func:`~c2c_analysis.report.runner.read_partnership_rows`), validated as
    :func:`~c2c_analysis.read_outcomes` validates the whole file.

    Parameters
    ----------
    partnership : str
        The partnership's slug.
    data_path : path, optional
        The outcome file (empty: the bundled sample).
    min_n, min_cell, top_bottom
        Passed to :func:`~c2c_analysis.privacy.suppress` (defaults: the state-practice
        rules of :mod:`c2c_analysis.privacy`). ``min_cell`` 0 or None turns that rule off;
        ``top_bottom`` is True (the thresholds of
        :data:`~c2c_analysis.privacy.DEFAULT_TOP_BOTTOM`), False (off), one threshold, or
        ``{smallest group size: threshold}`` (keys may be text, as notebook parameters
        write them).

    Returns
    -------
    (DataFrame, SuppressionResult)
        The rows as read, and :func:`~c2c_analysis.privacy.suppress` of them.

    Raises
    ------
    ValueError
        If the table has no rows for ``partnership`` (naming the partnerships it has).
    """
    from c2c_analysis.report.prepared import load_prepared, protect_rows, read_rows

    settings = {"min_n": min_n, "min_cell": min_cell, "top_bottom": top_bottom}
    prepared = load_prepared(
        partnership, data_path, min_n=min_n, min_cell=min_cell, top_bottom=top_bottom
    )
    if prepared is not None:  # what the runner computed ahead, from these very inputs
        rows, notes, known, result = prepared
    else:
        rows, notes, known = read_rows(partnership, data_path)
        result = None
    for note in notes:  # the reading notes, as reading the file would warn them
        warnings.warn(note, C2CDataWarning, stacklevel=2)
    if rows.empty:
        listed = ", ".join(known[:10])
        raise ValueError(f"no rows for partnership {partnership!r} in the data (it has: {listed})")
    return rows, result if result is not None else protect_rows(rows, **settings)


def load_portfolio(partnership: str, portfolio_path: str | os.PathLike[str] = ""):
    """The partnership's portfolio: from ``portfolio_path``, else the bundled sample when it
    is this partnership's; ``None`` when there is none for this partnership."""
    from c2c_analysis.datasets import load_sample
    from c2c_analysis.portfolio import read_portfolio

    portfolio = read_portfolio(portfolio_path) if portfolio_path else load_sample("portfolio")
    return portfolio if portfolio.partnership == partnership else None
