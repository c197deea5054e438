"""aggregate_students on a student-level Parquet dataset with Dask workers capped in memory.

    python benchmarks/aggregate_dask.py [--rows 50000000] [--workers 2] [--memory-limit 1GB]
                                        [--compare-rows 2000000]

Writes a Parquet dataset partitioned by class year (``--rows`` student records, generated in
slices so the generator itself stays small) into a temporary folder, then, in one run:

- aggregates it with Dask on a ``LocalCluster`` whose workers are capped at
  ``--memory-limit`` each (the student-level frame is never computed whole: each partition is
  counted where it is read, and only the small table of counts travels), printing seconds,
  rows per second and each worker's peak memory;
- checks the result against pandas on a sample: the first ``--compare-rows`` records, read
  into pandas and aggregated there, must equal Dask's aggregation of the same records;
- times the pandas path on the whole dataset where it fits (skipped with a message when the
  dataset is larger than a quarter of this machine's memory).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from c2c_analysis.io import aggregate_students

BY = ["race_ethnicity", "low_income", "gender", "disability", "english_learner"]
RACES = np.array(
    ["American Indian/Alaska Native", "Asian", "Black", "Hispanic/Latino", "White",
     "Native Hawaiian/Other Pacific Islander", "Two or more races", None],
    dtype=object,
)  # fmt: skip


def write_dataset(folder: Path, rows: int, *, slice_rows: int = 2_000_000, seed: int = 1) -> None:
    """Student records partitioned by class year, written one slice at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    start = 0
    while start < rows:
        n = min(slice_rows, rows - start)
        frame = pd.DataFrame(
            {
                "student_id": np.arange(start, start + n),  # unique across the dataset
                "partnership": rng.choice([f"district_{i:03d}" for i in range(300)], n),
                "class_of": rng.integers(2010, 2020, n),
                "graduated": rng.random(n) < 0.8,
                "race_ethnicity": RACES[rng.integers(0, len(RACES), n)],
                "low_income": rng.integers(0, 2, n),
                "gender": np.where(rng.random(n) < 0.5, "Female", "Male"),
                "disability": rng.integers(0, 2, n),
                "english_learner": rng.integers(0, 2, n),
            }
        )
        pq.write_to_dataset(
            pa.Table.from_pandas(frame, preserve_index=False),
            root_path=str(folder),
            partition_cols=["class_of"],
            basename_template=f"slice{start // slice_rows:05d}-{{i}}.parquet",
        )
        start += n


def aggregate(records):
    return aggregate_students(
        records,
        value="graduated",
        time="class_of",
        outcome="hs_graduation",
        dimensions=BY,  # partnership: the records' own column (300 districts)
    )


def canonical(table: pd.DataFrame) -> pd.DataFrame:
    keys = ["partnership", "outcome", "year", "dimension", "group"]
    return table.sort_values(keys).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--compare-rows", type=int, default=2_000_000)
    args = parser.parse_args()

    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "students"
        began = time.perf_counter()
        write_dataset(folder, args.rows)
        size_mb = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 2**20
        print(f"dataset: {args.rows:,} rows, {size_mb:,.0f} MB of Parquet, written in "
              f"{time.perf_counter() - began:.0f} s")  # fmt: skip

        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                memory_limit=args.memory_limit,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            records = dd.read_parquet(str(folder))
            began = time.perf_counter()
            counts = aggregate(records)
            seconds = time.perf_counter() - began
            peaks = client.run(
                lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB
            )
            print(f"dask: {len(counts):,} canonical rows in {seconds:.1f} s, "
                  f"{args.rows / seconds:,.0f} rows/second")  # fmt: skip
            for address, peak in sorted(peaks.items()):
                print(f"  worker {address}: peak memory {peak:,.0f} MB "
                      f"(limit {args.memory_limit})")  # fmt: skip

            # Equality with pandas on a sample: the first slice's records.
            sample = pd.read_parquet(folder, filters=[("student_id", "<", args.compare_rows)])
            sample["class_of"] = sample["class_of"].astype(int)
            expected = canonical(aggregate(sample))
            got = canonical(
                aggregate(dd.read_parquet(str(folder), filters=[("student_id", "<",
                                                                 args.compare_rows)]))
            )  # fmt: skip
            pd.testing.assert_frame_equal(got, expected, check_dtype=False)
            print(f"sample of {len(sample):,} records: Dask equals pandas "
                  f"({len(expected):,} canonical rows)")  # fmt: skip

        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
        in_memory_mb = args.rows * 120 / 2**20  # about 120 bytes a record once read
        if in_memory_mb < total / 4:
            began = time.perf_counter()
            whole = pd.read_parquet(folder)
            whole["class_of"] = whole["class_of"].astype(int)
            aggregate(whole)
            seconds_pandas = time.perf_counter() - began
            print(f"pandas on the whole dataset: {seconds_pandas:.1f} s "
                  f"(Dask / pandas time: {seconds / seconds_pandas:.2f}x)")  # fmt: skip
        else:
            print(f"pandas on the whole dataset skipped: about {in_memory_mb:,.0f} MB in "
                  f"memory, more than a quarter of this machine's {total:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
