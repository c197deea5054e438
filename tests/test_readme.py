"""Every Python block of the README runs verbatim (issue 17 item 7).

The blocks run in order in one namespace (as a reader pastes them into one session), in a
folder holding the files they name: ``my_outcomes.csv`` (the bundled sample), and the
EDFacts and OSPI files of the reader tests (tests/test_io_edfacts.py, tests/test_io_ospi.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from c2c_analysis.datasets import sample_path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 3


def test_every_readme_python_block_runs_verbatim(tmp_path, monkeypatch):
    from test_io_edfacts import WIDE
    from test_io_ospi import HEADER_2015, ROWS_2015

    shutil.copyfile(sample_path("outcomes"), tmp_path / "my_outcomes.csv")
    (tmp_path / "acgr-lea-sy2014-15.csv").write_text(WIDE)
    (tmp_path / "Report_Card_Graduation_2014-15.csv").write_text(HEADER_2015 + ROWS_2015)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for number, block in enumerate(BLOCKS, 1):
        try:
            exec(compile(block, f"README python block {number}", "exec"), namespace)
        except Exception as exc:  # say which block failed
            raise AssertionError(f"README python block {number} failed: {exc!r}") from exc
    import matplotlib.pyplot as plt

    plt.close("all")
