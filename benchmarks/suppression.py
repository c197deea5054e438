"""What disclosure control hides, what it costs, and whether the audit passes it.

    python benchmarks/suppression.py [--before REV ...] [--rounds 3] [--no-audit]

On ``data/sample/outcomes.csv`` (the bundled sample, five partnerships), for the current
:func:`c2c_analysis.privacy.suppress` and for earlier versions read from git (default:
``5ca819d^``, the code before issue 15, and ``b1e8388``, its first linked-table version),
prints per version and setting:

- cells withheld (rows published with ``suppressed`` true, not counting the 69 rows the
  source already withheld) and the students in them (their true denominators);
- cells range-coded (rows published as a rate range that the input gave exactly);
- the time of ``suppress`` on one partnership (the call each report's kernel makes:
  ``load_partnership`` runs ``suppress(rows, min_n=min_n)``), fastest of ``--rounds``, and
  the total over the five; the CPU time of tacoma's call too (steadier on a busy machine);
- the audit (:func:`c2c_analysis.audit.audit_disclosure`, exact) of each partnership's
  published table: values withheld, values and sets exposed.

Settings: the defaults (``min_n=10``, ``min_cell=5``, top/bottom coding) and ``min_n`` only
(``min_cell=None, top_bottom=None``). An earlier version whose defaults differ is run with
the same arguments, so every column compares like with like. The machine is shared: times
are minima of repeated runs, and other work only ever adds to them.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from c2c_analysis import audit as current_audit
from c2c_analysis import privacy as current_privacy
from c2c_analysis.datasets import load_sample

SETTINGS = {
    "defaults": {},
    "min_n only": {"min_cell": None, "top_bottom": None},
}


def _load_version(rev: str, folder: Path):
    """privacy and audit modules of ``rev`` (from git), importable side by side."""
    root = Path(__file__).resolve().parents[1]
    tag = "".join(ch if ch.isalnum() else "_" for ch in rev)
    modules = {}
    for name in ("audit", "privacy"):
        try:
            text = subprocess.run(
                ["git", "show", f"{rev}:c2c_analysis/{name}.py"],
                cwd=root,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        except subprocess.CalledProcessError:
            if name == "audit":  # versions before the audit had none
                continue
            raise
        module_name = f"_c2c_{name}_{tag}"
        text = text.replace("from c2c_analysis.audit import", f"from _c2c_audit_{tag} import")
        path = folder / f"{module_name}.py"
        path.write_text(text, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        modules[name] = module
    return modules["privacy"]


def _accepts(function, keyword: str) -> bool:
    import inspect

    return keyword in inspect.signature(function).parameters


def _figures(sample: pd.DataFrame, published: pd.DataFrame) -> dict[str, int]:
    published = published.iloc[: len(sample)]
    source = sample["suppressed"].to_numpy()
    withheld = published["suppressed"].fillna(False).astype(bool).to_numpy() & ~source
    ranged = (
        published["rate_low"].notna().to_numpy()
        & ~published["suppressed"].fillna(False).astype(bool).to_numpy()
        & sample["rate_low"].isna().to_numpy()
    )
    den = sample["denominator"].to_numpy(dtype="float64")
    return {
        "cells withheld": int(withheld.sum()),
        "students withheld": int(np.nansum(den[withheld])),
        "cells range-coded": int(ranged.sum()),
        "students in ranges": int(np.nansum(den[ranged])),
    }


def run(version: str, suppress, sample: pd.DataFrame, *, rounds: int, audit: bool) -> list[dict]:
    rows = []
    for setting, kwargs in SETTINGS.items():
        if any(not _accepts(suppress, k) for k in kwargs):
            continue
        parts, times, cpu, audits = [], {}, {}, {}
        for slug in sorted(sample["partnership"].unique()):
            rows_p = sample[sample["partnership"] == slug].reset_index(drop=True)
            best, best_cpu = np.inf, np.inf
            for _ in range(rounds):
                start, start_cpu = time.perf_counter(), time.process_time()
                result = suppress(rows_p, min_n=10, **kwargs)
                best = min(best, time.perf_counter() - start)
                best_cpu = min(best_cpu, time.process_time() - start_cpu)
            times[slug] = best
            cpu[slug] = best_cpu
            parts.append(result.table.iloc[: len(rows_p)])
            if audit:
                checked = current_audit.audit_disclosure(result.table)
                summary = checked.summary.iloc[0]
                audits[slug] = (
                    int(summary["withheld_values"]),
                    int(summary["exposed_values"]),
                    int(summary["exposed_sets"]),
                )
        published = pd.concat(parts, ignore_index=True)
        order = sample.sort_values("partnership", kind="stable").reset_index(drop=True)
        figures = _figures(order, published)
        rows.append(
            {
                "version": version,
                "setting": setting,
                **figures,
                "s per partnership (max)": round(max(times.values()), 3),
                "s all five": round(sum(times.values()), 3),
                "tacoma s": round(times.get("tacoma", np.nan), 3),
                "tacoma cpu s": round(cpu.get("tacoma", np.nan), 3),
                "exposed values": sum(a[1] for a in audits.values()) if audit else "",
                "exposed sets": sum(a[2] for a in audits.values()) if audit else "",
                "withheld values audited": sum(a[0] for a in audits.values()) if audit else "",
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", nargs="*", default=["5ca819d^", "b1e8388"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-audit", action="store_true")
    args = parser.parse_args(argv)
    sample = load_sample("outcomes")
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for rev in args.before:
            try:
                old = _load_version(rev, Path(folder))
            except Exception as error:  # a revision that is not there: say so, go on
                print(f"skipping {rev}: {error}")
                continue
            results += run(rev, old.suppress, sample, rounds=args.rounds, audit=not args.no_audit)
        results += run(
            "current",
            current_privacy.suppress,
            sample,
            rounds=args.rounds,
            audit=not args.no_audit,
        )
    table = pd.DataFrame(results)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False))
    print(
        "\ncells/students withheld: published suppressed, not by the source; ranges: rates "
        "published as a range that the input gave exactly; times: fastest of "
        f"{args.rounds} runs; audit: exact attacker over each partnership's published table."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
