"""Cost of a partnership report against the floor of running any notebook, and batch throughput.

    python benchmarks/report.py [--rounds 5] [--batch-rounds 2]

Prints, measured in one run:

- the time of one partnership report (tacoma, the sample partnership with a portfolio);
- the floor: a notebook that only imports the same libraries, run the same way (through
  ``run_report``: Papermill, kernel start and stop, HTML export, provenance). "The same
  libraries" is measured, not listed: the report template and an empty notebook are run
  once with a last cell that saves the kernel's ``sys.modules``, and the floor imports every
  module the report added, in the order the report imported them;
- their ratio, from the fastest of ``--rounds`` interleaved runs each (on a shared machine
  other work only ever adds time, so the minimum is the steadiest figure; medians are
  printed too);
- batch throughput with 1 and 2 workers, for the five sample partnerships and for a batch
  of ten (the sample twice, the copies under new names). Five equal reports on two workers
  take at least three reports' time, so that batch cannot show more than 5/3 = 1.67x
  whatever the runner does; the batch of ten is the steadier throughput figure.

The report is measured as a user gets it from ``run_report``: the runner suppresses the
rows in a thread while the kernel starts and a helper process draws some figures on the
second core (docs/guides/runner.md); the floor notebook uses neither, and nor does a batch
(its workers fill the cores).

Targets (issue): report <= 1.5x the floor; 2 workers >= 1.7x the throughput of one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from c2c_analysis.datasets import load_sample
from c2c_analysis.report import notebook_path, run_batch, run_report

_DUMP = "import json as _json, sys as _sys\n_json.dump(list(_sys.modules), open({path!r}, 'w'))"


def _kernelspec(notebook) -> None:
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }


def _with_dump(notebook, path: Path):
    notebook.cells.append(nbformat.v4.new_code_cell(_DUMP.format(path=str(path))))
    return notebook


def _parameters_cell():
    cell = nbformat.v4.new_code_cell(
        'partnership: str = "tacoma"  # slug\noutput_dir: str = ""  # unused'
    )
    cell.metadata["tags"] = ["parameters"]
    return cell


def report_modules(folder: Path) -> list[str]:
    """Modules the report's kernel imports beyond an empty notebook's, in import order."""
    report = nbformat.read(notebook_path("partnership_report"), as_version=4)
    nbformat.write(_with_dump(report, folder / "report.json"), folder / "report_dump.ipynb")
    empty = nbformat.v4.new_notebook()
    _kernelspec(empty)
    empty.cells = [_parameters_cell()]
    nbformat.write(_with_dump(empty, folder / "empty.json"), folder / "empty_dump.ipynb")
    for name in ("report_dump", "empty_dump"):
        record = run_report("tacoma", notebook=str(folder / f"{name}.ipynb"), out_dir=folder / name)
        if record.status != "succeeded":
            raise RuntimeError(f"{name}: {record.error}")
    baseline = set(json.loads((folder / "empty.json").read_text()))
    return [
        m
        for m in json.loads((folder / "report.json").read_text())
        if m not in baseline and m != "__main__"
    ]


def floor_notebook(folder: Path, modules: list[str]) -> Path:
    notebook = nbformat.v4.new_notebook()
    _kernelspec(notebook)
    imports = (
        "import importlib\n"
        f"for _name in {modules!r}:\n"
        "    try:\n"
        "        importlib.import_module(_name)\n"
        "    except Exception:  # a module only importable from its package's own code\n"
        "        pass"
    )
    notebook.cells = [_parameters_cell(), nbformat.v4.new_code_cell(imports)]
    path = folder / "floor.ipynb"
    nbformat.write(notebook, path)
    return path


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def ten_partnerships(folder: Path) -> Path:
    import pandas as pd

    sample = load_sample("outcomes")
    copy = sample.assign(partnership=sample["partnership"] + "_b")
    path = folder / "ten.csv"
    pd.concat([sample, copy], ignore_index=True).to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of one report and floor")
    parser.add_argument("--batch-rounds", type=int, default=2, help="runs of each batch")
    args = parser.parse_args()
    rounds, batch_rounds = args.rounds, args.batch_rounds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        modules = report_modules(folder)
        floor = floor_notebook(folder, modules)
        floor_s, report_s = [], []
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits both alike
            floor_s.append(
                timed(lambda: run_report("tacoma", notebook=str(floor), out_dir=folder / "f"))
            )
            report_s.append(timed(lambda: run_report("tacoma", out_dir=folder / "r")))
        f, r = min(floor_s), min(report_s)
        fm, rm = statistics.median(floor_s), statistics.median(report_s)
        print(f"floor imports {len(modules)} modules (those the report's kernel imports)")
        print(
            f"one report: {r:.2f} s; floor: {f:.2f} s; ratio {r / f:.2f}x (target <= 1.5x), "
            f"fastest of {rounds}; medians {rm:.2f} s and {fm:.2f} s, ratio {rm / fm:.2f}x "
            f"(report {', '.join(f'{v:.2f}' for v in report_s)}; "
            f"floor {', '.join(f'{v:.2f}' for v in floor_s)})"
        )
        data = ten_partnerships(folder)
        for label, kwargs, count in (
            ("5 sample partnerships", {}, 5),
            ("10 partnerships", {"data": str(data)}, 10),
        ):
            if batch_rounds < 1:  # --batch-rounds 0: the report and its floor only
                break
            ones, twos = [], []
            for _ in range(batch_rounds):  # alternated, fastest of each
                ones.append(
                    timed(lambda kw=kwargs: run_batch(out_dir=folder / "b1", workers=1, **kw))
                )
                twos.append(
                    timed(lambda kw=kwargs: run_batch(out_dir=folder / "b2", workers=2, **kw))
                )
            one, two = min(ones), min(twos)
            print(
                f"batch of {label}: 1 worker {one:.1f} s ({count / one * 60:.1f} reports/min); "
                f"2 workers {two:.1f} s ({count / two * 60:.1f} reports/min); "
                f"throughput ratio {one / two:.2f}x (target >= 1.7x)"
            )


if __name__ == "__main__":
    main()
