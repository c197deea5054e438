"""Many series at once: baseline_summary, trend, gap_change and decompose_rate_change against
project_baseline on the same 1,000,000 series × 10 years.

    python benchmarks/series.py [--series N] [--years Y]

A series is one partnership's outcome for one group (``partnership, outcome, dimension,
group``); the table holds N / 5 partnerships, each with five race/ethnicity groups and an All
students row (so N group series plus N / 5 All students series), with rounded published
rates in 5 % of the rows and withheld cells in 3 %. Every function runs once on the whole
table, in one run, and the ratio of its seconds to project_baseline's is printed (target
of issue 18: each at most 3×). gap_change compares each group with White from the first to
the last year; decompose_rate_change splits the change of every partnership's rate over its
five groups (N group series, N / 5 decompositions). Peak memory is the process's maximum
resident size after each step.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import warnings

import numpy as np
import pandas as pd

from c2c_analysis.decompose import decompose_rate_change
from c2c_analysis.equity import gap_change
from c2c_analysis.trends import baseline_summary, project_baseline, trend

GROUPS = ("Asian", "Black", "Hispanic/Latino", "White", "Two or more races")


def table(series: int, years: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    partnerships = max(series // len(GROUPS), 1)
    labels = np.array(["All students", *GROUPS], dtype=object)
    per = len(labels) * years
    rows = partnerships * per
    group = np.tile(np.repeat(np.arange(len(labels)), years), partnerships)
    frame = pd.DataFrame(
        {
            "partnership": pd.array(
                np.repeat(np.char.add("p", np.arange(partnerships).astype(str)), per), dtype="str"
            ),
            "outcome": "hs_graduation",
            "dimension": pd.array(
                np.where(group == 0, "all", "race_ethnicity").astype(object), dtype="str"
            ),
            "group": pd.array(labels[group], dtype="str"),
            "year": np.tile(np.arange(2010, 2010 + years), partnerships * len(labels)),
        }
    )
    denominator = rng.integers(20, 400, rows).astype(float)
    level = np.repeat(rng.uniform(0.5, 0.9, partnerships * len(labels)), years)
    trend_ = np.repeat(rng.normal(0, 0.01, partnerships * len(labels)), years)
    p = np.clip(level + trend_ * (frame["year"].to_numpy() - 2010), 0.02, 0.98)
    numerator = rng.binomial(denominator.astype(int), p).astype(float)
    # All students rows are the sums of their groups.
    sums = numerator.reshape(partnerships, len(labels), years)[:, 1:].sum(axis=1)
    dens = denominator.reshape(partnerships, len(labels), years)[:, 1:].sum(axis=1)
    numerator.reshape(partnerships, len(labels), years)[:, 0] = sums
    denominator.reshape(partnerships, len(labels), years)[:, 0] = dens
    published = (group > 0) & (rng.random(rows) < 0.05)
    withheld = (group > 0) & ~published & (rng.random(rows) < 0.03)
    withheld &= frame["year"].to_numpy() > 2014  # every baseline keeps its years
    frame["rate"] = np.where(published, np.round(numerator / denominator, 2), np.nan)
    frame["numerator"] = np.where(published | withheld, np.nan, numerator)
    frame["denominator"] = np.where(withheld, np.nan, denominator)
    frame["suppressed"] = withheld
    return frame


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: kilobytes


def timed(name: str, call):
    gc.collect()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # range/derived-row notices, not the subject here
        result = call()
    seconds = time.perf_counter() - start
    print(f"{name:<24} {seconds:8.2f} s   peak memory so far {peak_gb():5.1f} GB", flush=True)
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1_000_000, help="group series")
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args()
    data = table(args.series, args.years)
    groups = data[data["dimension"] != "all"]
    print(
        f"{args.series:,} group series + {args.series // len(GROUPS):,} All students series "
        f"x {args.years} years = {len(data):,} rows"
    )
    projection, base = timed(
        "project_baseline", lambda: project_baseline(data, baseline=(2010, 2014))
    )
    seconds = {
        "baseline_summary": timed("baseline_summary", lambda: baseline_summary(projection))[1],
        "trend": timed("trend", lambda: trend(data))[1],
        "gap_change": timed(
            "gap_change",
            lambda: gap_change(groups, start="first", end="last", reference="White"),
        )[1],
        "decompose_rate_change": timed(
            "decompose_rate_change",
            lambda: decompose_rate_change(data, start="first", end="last"),
        )[1],
    }
    print()
    print(f"ratios to project_baseline ({base:.2f} s) on the same series (target: <= 3x)")
    for name, value in seconds.items():
        print(f"  {name:<24} {value / base:6.2f}x")


if __name__ == "__main__":
    main()
