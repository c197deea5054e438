"""Reports: the Papermill runner, what notebooks publish, and the helpers notebooks call."""

from __future__ import annotations

import os

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


def load_partnership(partnership: str, *, data_path: str | os.PathLike[str] = "", min_n: int = 10):
    """One partnership's rows of an outcome table, and the same rows suppressed for publishing.

    Returns
    -------
    (DataFrame, SuppressionResult)
        The rows as read, and :func:`~c2c_analysis.privacy.suppress` of them.

    Raises
    ------
    ValueError
        If the table has no rows for ``partnership``.
    """
    from c2c_analysis.datasets import load_sample
    from c2c_analysis.io.outcomes import read_outcomes
    from c2c_analysis.privacy import suppress

    table = read_outcomes(data_path) if data_path else load_sample("outcomes")
    rows = table[table["partnership"] == partnership].reset_index(drop=True)
    if rows.empty:
        known = ", ".join(sorted(table["partnership"].unique())[:10])
        raise ValueError(f"no rows for partnership {partnership!r} in the data (it has: {known})")
    return rows, suppress(rows, min_n=min_n)


def load_portfolio(partnership: str, portfolio_path: str | os.PathLike[str] = ""):
    """The partnership's portfolio: from ``portfolio_path``, else the bundled sample when it
    is this partnership's; ``None`` when there is none for this partnership."""
    from c2c_analysis.datasets import load_sample
    from c2c_analysis.portfolio import read_portfolio

    portfolio = read_portfolio(portfolio_path) if portfolio_path else load_sample("portfolio")
    return portfolio if portfolio.partnership == partnership else None
