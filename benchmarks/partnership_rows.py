"""A single report on a file of 1,500 partnerships against the same report on a file of that
partnership alone (issue 18 item 4: at most 1.5x, identical tables).

    python benchmarks/partnership_rows.py [--rounds 3] [--copies 300] [--notebook NAME]

The big file is made from the bundled sample: its five partnerships, then 299 more copies of
them under new names (``tacoma_001``...), so 1,500 partnerships; tacoma keeps its name, and
the small file holds tacoma's rows alone. Both are written as CSV and as Parquet (same file
name in two folders, so the ``source`` column matches). Prints, measured in one run:

- the time to read tacoma's rows (``read_partnership_rows``) from each file;
- the time of the report on the big file and on the small one, per format, the fastest of
  ``--rounds`` interleaved runs (on a shared machine other work only ever adds time), and
  their ratio (target <= 1.5x);
- whether the published tables (``tables/*.csv``) are byte-identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from c2c_analysis.datasets import sample_path
from c2c_analysis.report import run_report
from c2c_analysis.report.runner import read_partnership_rows


def make_files(folder: Path, copies: int) -> dict[str, Path]:
    raw = pd.read_csv(sample_path("outcomes"), dtype=str, keep_default_na=False)
    parts = [raw] + [
        raw.assign(partnership=raw["partnership"] + f"_{i:03d}") for i in range(1, copies)
    ]
    big = pd.concat(parts, ignore_index=True)
    one = raw[raw["partnership"] == "tacoma"]
    files = {}
    for label, frame in (("big", big), ("one", one)):
        (folder / label).mkdir()
        files[f"{label}.csv"] = folder / label / "outcomes.csv"
        frame.to_csv(files[f"{label}.csv"], index=False)
        files[f"{label}.parquet"] = folder / label / "outcomes.parquet"
        frame.to_parquet(files[f"{label}.parquet"], index=False, row_group_size=100_000)
    return files


def timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def tables(record) -> dict[str, bytes]:
    folder = Path(record.output) / "tables"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each report")
    parser.add_argument("--copies", type=int, default=300, help="copies of the 5 partnerships")
    parser.add_argument("--notebook", default="partnership_report", help="report template")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault("C2C_PRIVATE_DIR", str(folder / "private"))
        files = make_files(folder, args.copies)
        big = files["big.csv"]
        print(
            f"big file: {5 * args.copies} partnerships, "
            f"{sum(1 for _ in big.open()) - 1:,} rows, CSV {big.stat().st_size / 1e6:.0f} MB, "
            f"Parquet {files['big.parquet'].stat().st_size / 1e6:.0f} MB; "
            f"tacoma alone: {len(read_partnership_rows(files['one.csv'], ['tacoma'])[0])} rows"
        )
        for kind in ("csv", "parquet"):
            reads = {
                label: min(
                    timed(lambda p=files[f"{label}.{kind}"]: read_partnership_rows(p, ["tacoma"]))[
                        0
                    ]
                    for _ in range(args.rounds)
                )
                for label in ("big", "one")
            }
            print(
                f"{kind}: reading tacoma's rows: big {reads['big']:.2f} s, "
                f"alone {reads['one']:.2f} s"
            )
        for kind in ("csv", "parquet"):
            seconds = {"big": [], "one": []}
            records = {}
            for i in range(args.rounds):  # interleaved, so drift hits both alike
                for label in ("big", "one"):
                    took, record = timed(
                        lambda label=label, i=i, kind=kind: run_report(
                            "tacoma",
                            data=files[f"{label}.{kind}"],
                            notebook=args.notebook,
                            out_dir=folder / f"{kind}-{label}-{i}",
                        )
                    )
                    seconds[label].append(took)
                    records[label] = record
            b, o = min(seconds["big"]), min(seconds["one"])
            statuses = {label: r.status for label, r in records.items()}
            same = (
                tables(records["big"]) == tables(records["one"])
                if set(statuses.values()) == {"succeeded"}
                else None
            )
            print(
                f"{kind}: report ({args.notebook}) on the big file {b:.2f} s, on tacoma's own "
                f"file {o:.2f} s: ratio {b / o:.2f}x (target <= 1.5x), fastest of {args.rounds}; "
                f"runs {statuses}; published tables identical: "
                + (
                    "yes"
                    if same
                    else "no"
                    if same is False
                    else "not compared (a run failed: "
                    + "; ".join(f"{k}: {(r.error or '')[:160]}" for k, r in records.items())
                    + ")"
                )
            )


if __name__ == "__main__":
    main()
