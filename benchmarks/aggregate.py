"""Speed and memory of aggregate_students on 10 million student records.

    python benchmarks/aggregate.py [--rows N]

Prints rows per second and the peak memory added by the call, as a ratio to the input's own
size, measured in one run. (Targets in the issue: seconds, and a small multiple of the input.)
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
import pandas as pd

from c2c_analysis.io import aggregate_students
from c2c_analysis.schema import RACE_ETHNICITY_2007

RACES = np.array([*RACE_ETHNICITY_2007, None], dtype=object)  # None: not reported


def records(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = rng.integers(2010, 2020, n)
    ids = np.arange(n)  # unique per year by construction
    return pd.DataFrame(
        {
            "student_id": ids,
            "partnership": pd.Categorical(rng.choice([f"district_{i:03d}" for i in range(300)], n)),
            "class_of": years,
            "graduated": rng.random(n) < 0.8,
            "race_ethnicity": pd.array(RACES[rng.integers(0, len(RACES), n)], dtype="str"),
            "low_income": rng.integers(0, 2, n),
            "gender": pd.array(np.where(rng.random(n) < 0.5, "Female", "Male"), dtype="str"),
            "disability": rng.integers(0, 2, n),
            "english_learner": rng.integers(0, 2, n),
        }
    )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    data = records(args.rows)
    gc.collect()
    input_mb = data.memory_usage(deep=True).sum() / 2**20
    before = rss_mb()
    start = time.perf_counter()
    counts = aggregate_students(
        data,
        value="graduated",
        time="class_of",
        outcome="hs_graduation",
        dimensions=["race_ethnicity", "low_income", "gender", "disability", "english_learner"],
    )
    seconds = time.perf_counter() - start
    added = max(rss_mb() - before, 0.0)
    print(f"rows: {args.rows:,}   output rows: {len(counts):,}")
    print(f"seconds: {seconds:.2f}   rows/second: {args.rows / seconds:,.0f}")
    print(
        f"input size: {input_mb:,.0f} MB   peak memory added by the call: {added:,.0f} MB   "
        f"ratio: {added / input_mb:.2f}x the input"
    )


if __name__ == "__main__":
    main()
