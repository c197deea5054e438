"""One-line-per-outcome overview of an outcome table: coverage, latest value, data notes."""

from __future__ import annotations

import pandas as pd

from c2c_analysis._checks import DEPRECATED, renamed
from c2c_analysis.schema import ALL_STUDENTS, INDICATORS, OUTCOMES

__all__ = ["outcome_overview"]


def outcome_overview(
    data: pd.DataFrame, *, min_n: int = 10, small_n: int = DEPRECATED
) -> pd.DataFrame:
    """Coverage and latest all-students value of every outcome of every partnership.

    Parameters
    ----------
    data : DataFrame
        A canonical outcome table (see :func:`~c2c_analysis.read_outcomes`) with ``year``.
    min_n : int
        The smallest number of students shown: denominators below it count as small cells
        (they need suppression before publication).
    small_n : int
        Deprecated name of ``min_n`` (removed in 0.3).

    Returns
    -------
    DataFrame
        One row per (partnership, outcome), in catalogue order: ``partnership, outcome,
        label, first_year, last_year, n_years, missing_years`` (years absent between the
        first and the last, as text), ``latest_rate`` (all students, last year),
        ``latest_denominator``, ``change_pp`` (latest minus first all-students rate, in
        percentage points), ``n_groups`` (distinct dimension/group pairs), ``n_rows``,
        ``n_suppressed`` and ``n_small`` (rows with a denominator below ``min_n``).

    Examples
    --------
    >>> from c2c_analysis import load_sample
    >>> table = outcome_overview(load_sample("outcomes"))
    >>> row = table.query("partnership == 'tacoma' and outcome == 'hs_graduation'").iloc[0]
    >>> int(row["first_year"]), int(row["last_year"]), round(float(row["latest_rate"]), 3)
    (2010, 2019, 0.896)
    """
    min_n = renamed("outcome_overview", "small_n", small_n, "min_n", min_n, default=10)
    order = {name: i for i, name in enumerate([*OUTCOMES, *INDICATORS])}
    rows = []
    for (partnership, outcome), frame in data.groupby(["partnership", "outcome"], sort=False):
        years = sorted(frame["year"].unique())
        gaps = sorted(set(range(years[0], years[-1] + 1)) - set(years))
        overall = frame[frame["group"] == ALL_STUDENTS].sort_values("year")
        overall = overall[overall["rate"].notna()]
        latest = overall.iloc[-1] if len(overall) else None
        entry = OUTCOMES.get(str(outcome)) or INDICATORS.get(str(outcome))
        rows.append(
            {
                "partnership": partnership,
                "outcome": outcome,
                "label": entry.label if entry else outcome,
                "first_year": int(years[0]),
                "last_year": int(years[-1]),
                "n_years": len(years),
                "missing_years": ", ".join(str(y) for y in gaps),
                "latest_rate": float(latest["rate"]) if latest is not None else float("nan"),
                "latest_denominator": latest["denominator"] if latest is not None else pd.NA,
                "change_pp": 100 * (float(latest["rate"]) - float(overall.iloc[0]["rate"]))
                if latest is not None
                else float("nan"),
                "n_groups": frame[["dimension", "group"]].drop_duplicates().shape[0],
                "n_rows": len(frame),
                "n_suppressed": int(frame["suppressed"].sum()),
                "n_small": int((frame["denominator"] < min_n).fillna(False).sum()),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["latest_denominator"] = table["latest_denominator"].astype("Int64")
    table["_order"] = table["outcome"].map(order).fillna(len(order))
    return (
        table.sort_values(["partnership", "_order"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
