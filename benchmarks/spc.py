"""Speed and memory of spc_table: run-chart and p-chart analysis of 1,000,000 series x 12 points.

    python benchmarks/spc.py [--series N] [--sample M]

Prints seconds, series per second and the peak memory of the process for each chart, and the
ratio against calling control_chart / run_chart once per series on a sample of M series,
measured in the same run. Targets (issue): under 20 s and under 4 GB for the million series.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
import pandas as pd

from c2c_analysis.spc import control_chart, run_chart, spc_table


def data(series: int, points: int = 12, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, size=series * points)
    p = np.repeat(rng.uniform(0.05, 0.4, series), points)
    return pd.DataFrame(
        {
            "school": np.repeat(np.arange(series, dtype=np.int64), points),
            "month": np.tile(np.arange(points, dtype=np.int64), series),
            "num": rng.binomial(n, p),
            "den": n,
        }
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=1_000)
    args = parser.parse_args()
    frame = data(args.series)
    sample = frame[frame["school"] < args.sample]
    gc.collect()
    rows_mb = frame.memory_usage().sum() / 2**20
    print(f"series: {args.series:,} x 12 points ({len(frame):,} rows); input {rows_mb:,.0f} MB")
    for chart in ("run", "p"):
        start = time.perf_counter()
        table = spc_table(frame, by=["school"], y="num", n="den", x="month", chart=chart).table
        seconds = time.perf_counter() - start
        assert len(table) == len(frame)
        del table
        gc.collect()
        start = time.perf_counter()
        for _, rows in sample.groupby("school"):
            if chart == "run":
                run_chart(rows, y="num", n="den", x="month")
            else:
                control_chart(rows, y="num", n="den", x="month", chart="p")
        loop = time.perf_counter() - start
        per_series_loop = loop / args.sample
        per_series_table = seconds / args.series
        print(
            f"{chart:>3} chart: spc_table {seconds:6.2f} s "
            f"({args.series / seconds:,.0f} series/s); "
            f"one call per series {per_series_loop * 1e3:.2f} ms/series "
            f"(would take {per_series_loop * args.series / 60:,.0f} min for all); "
            f"ratio {per_series_loop / per_series_table:,.0f}x; "
            f"peak memory so far {peak_mb():,.0f} MB"
        )


if __name__ == "__main__":
    main()
