"""A batch of 20 reports on threads against the same batch on a Dask LocalCluster of 2 workers
(issue 18: throughput ratio printed; target Dask within 10% of threads on one machine).

    python benchmarks/dask_batch.py [--rounds 1] [--reports 20] [--notebook NAME]

The data are the bundled sample's five partnerships, copied under new names up to
``--reports`` partnerships. Threads: ``run_batch(workers=2)``. Dask: ``run_batch(client=)``
on a ``LocalCluster(n_workers=2, threads_per_worker=1)`` of worker processes, started once
before timing (its start-up is printed apart: a cluster outlives a batch). Each report's
kernel is a subprocess in both. Runs alternate; the fastest of ``--rounds`` is compared.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from c2c_analysis.datasets import sample_path
from c2c_analysis.report import run_batch


def make_data(folder: Path, reports: int) -> Path:
    raw = pd.read_csv(sample_path("outcomes"), dtype=str, keep_default_na=False)
    names = sorted(raw["partnership"].unique())
    parts, count, copy = [], 0, 0
    while count < reports:
        take = names[: reports - count]
        rows = raw[raw["partnership"].isin(take)]
        parts.append(
            rows if copy == 0 else rows.assign(partnership=rows["partnership"] + f"_{copy}")
        )
        count += len(take)
        copy += 1
    path = folder / "outcomes.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="runs of each batch")
    parser.add_argument("--reports", type=int, default=20, help="reports in the batch")
    parser.add_argument("--notebook", default="partnership_report", help="report template")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault("C2C_PRIVATE_DIR", str(folder / "private"))
        data = make_data(folder, args.reports)
        start = time.perf_counter()
        cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        started = time.perf_counter() - start
        try:
            threads, dask, statuses = [], [], {}
            for i in range(args.rounds):
                for label, kwargs, times in (
                    ("threads", {"workers": 2}, threads),
                    ("dask", {"client": client}, dask),
                ):
                    begin = time.perf_counter()
                    records = run_batch(
                        data=data,
                        notebook=args.notebook,
                        out_dir=folder / f"{label}-{i}",
                        **kwargs,
                    )
                    times.append(time.perf_counter() - begin)
                    statuses[label] = sum(r.status == "succeeded" for r in records)
        finally:
            client.close()
            cluster.close()
        t, d = min(threads), min(dask)
        n = args.reports
        print(f"LocalCluster of 2 workers (1 thread each) started in {started:.1f} s")
        print(
            f"batch of {n} reports ({args.notebook}): threads (2) {t:.1f} s "
            f"({n / t * 60:.1f} reports/min); Dask LocalCluster (2) {d:.1f} s "
            f"({n / d * 60:.1f} reports/min); Dask throughput / threads {t / d:.2f}x "
            f"(target >= 0.90x), fastest of {args.rounds}; succeeded: {statuses}"
        )


if __name__ == "__main__":
    main()
