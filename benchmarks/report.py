"""Cost of a partnership report against the floor of running any notebook, and batch throughput.

    python benchmarks/report.py

Prints, measured in one run: the time of one partnership report; the floor (a notebook that only
imports the same libraries, run the same way through Papermill); their ratio; and the batch
throughput of the five sample partnerships with 1 and 2 workers and its ratio.
Targets (issue): report <= 1.5x the floor; 2 workers >= 1.7x the throughput of one.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import nbformat

from c2c_analysis.report import run_batch, run_report


def floor_notebook(folder: Path) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    parameters = nbformat.v4.new_code_cell(
        'partnership: str = "tacoma"  # slug\noutput_dir: str = ""  # unused'
    )
    parameters.metadata["tags"] = ["parameters"]
    imports = (
        "import warnings\nimport matplotlib.pyplot as plt\nimport pandas as pd\nimport seaborn\n"
        "import statsmodels.api as sm\nfrom IPython.display import Markdown, display\n"
        "import c2c_analysis as c2c\nfrom c2c_analysis import plotting\n"
        "from c2c_analysis.report import ReportWriter"
    )
    notebook.cells = [parameters, nbformat.v4.new_code_cell(imports)]
    path = folder / "floor.ipynb"
    nbformat.write(notebook, path)
    return path


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = floor_notebook(folder)
        run_report("tacoma", notebook=str(floor), out_dir=folder / "warm")  # warm caches once
        floor_s = min(
            timed(lambda: run_report("tacoma", notebook=str(floor), out_dir=folder / "f"))
            for _ in range(2)
        )
        report_s = min(timed(lambda: run_report("tacoma", out_dir=folder / "r")) for _ in range(2))
        print(
            f"one report: {report_s:.1f} s; floor (imports only): {floor_s:.1f} s; "
            f"ratio {report_s / floor_s:.2f}x"
        )
        one = timed(lambda: run_batch(out_dir=folder / "b1", workers=1))
        two = timed(lambda: run_batch(out_dir=folder / "b2", workers=2))
        print(
            f"batch of 5: 1 worker {one:.1f} s ({5 / one * 60:.1f} reports/min); "
            f"2 workers {two:.1f} s ({5 / two * 60:.1f} reports/min); "
            f"throughput ratio {one / two:.2f}x"
        )


if __name__ == "__main__":
    main()
