"""c2c_analysis.report.figures: the report's charts, and the helper process that draws some
of them on a second core for a single report."""

from __future__ import annotations

import os
import time
import warnings

import pandas as pd
import pytest

import c2c_analysis as c2c
from c2c_analysis import load_sample
from c2c_analysis.plotting import set_theme
from c2c_analysis.report import figures, load_portfolio, run_batch, run_report, runner
from c2c_analysis.report.figures import FigureRenderer, gap_chart, run_chart, strategy_chart


@pytest.fixture(autouse=True)
def _private_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("C2C_PRIVATE_DIR", str(tmp_path / "private"))
    monkeypatch.delenv(figures.HELPER_ENVIRONMENT, raising=False)


@pytest.fixture(scope="module")
def jobs():
    """One job of each chart from the sample's Tacoma rows (suppressed as a report is)."""
    data = c2c.suppress(load_sample("outcomes").query("partnership == 'tacoma'")).table
    overall = data[data["dimension"] == "all"]
    runs = c2c.spc_table(overall, by=["outcome"], y="numerator", n="denominator", x="year",
                         chart="run")  # fmt: skip
    outcome = runs.summary["outcome"].iloc[0]
    lines = c2c.gaps(data[data["dimension"] == "race_ethnicity"], reference="White")
    lines = lines[lines["outcome"] == "hs_graduation"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scorecard = c2c.evaluate_portfolio(data, load_portfolio("tacoma"), method="logit")
    row = scorecard.table[scorecard.table["verdict"] != "insufficient_data"].iloc[0]
    return [
        (run_chart, (runs.table[runs.table["outcome"] == outcome],
                     runs.summary[runs.summary["outcome"] == outcome].iloc[0].to_dict()),
         {"label": "Kindergarten readiness", "better": "higher"}),
        (gap_chart, (lines,), {"label": "High school graduation", "reference": "White",
                               "dimension": "race/ethnicity"}),
        (strategy_chart, (scorecard.projections[(row["strategy"], row["group"])], row.to_dict()),
         {"label": "Early grade reading"}),
    ]  # fmt: skip


@pytest.fixture
def helper(monkeypatch):
    made = figures.make_helper()
    if made is None:
        pytest.skip("the figure helper needs two cores and Unix sockets")
    made.launch()
    monkeypatch.setenv(figures.HELPER_ENVIRONMENT, made.environment[figures.HELPER_ENVIRONMENT])
    yield made
    made.stop()


def _ready(renderer, seconds=60.0):
    deadline = time.monotonic() + seconds
    while renderer._told and time.monotonic() < deadline:  # not listening yet
        renderer._connect()
        time.sleep(0.05)
    while not renderer._ready and time.monotonic() < deadline:
        renderer._receive(block=False)
        time.sleep(0.05)
    assert renderer._ready


def test_each_chart_says_what_it_shows(jobs):
    set_theme(figure_format="svg")
    for function, args, kwargs in jobs:
        html = function(*args, **kwargs)
        assert html.startswith('<figure class="c2c-figure"><img src="data:image/svg+xml;base64,')
        assert 'alt="' in html
    assert "largest is" in jobs[1][0](*jobs[1][1], **jobs[1][2])


def test_the_helper_draws_the_same_figures_as_the_notebook(jobs, helper):
    set_theme(figure_format="svg")
    here = [str(FigureRenderer(helper=False).submit(f, *a, **k)) for f, a, k in jobs]
    renderer = FigureRenderer()
    _ready(renderer)
    drawn = []
    for function, args, kwargs in jobs:
        pending = renderer.submit(function, *args, **kwargs)
        drawn.append(str(pending))  # one at a time: each is the helper's
    assert renderer.helped == len(jobs)
    assert drawn == here
    renderer.close()
    helper.process.wait(timeout=30)  # told to stop, it ends by itself
    assert not os.path.exists(helper.address)


def test_figures_keep_their_order_when_the_helper_and_the_notebook_share_them(jobs, helper):
    set_theme(figure_format="svg")
    expected = [str(FigureRenderer(helper=False).submit(f, *a, **k)) for f, a, k in jobs * 3]
    renderer = FigureRenderer()
    _ready(renderer)
    pending = [renderer.submit(f, *a, **k) for f, a, k in jobs * 3]
    assert [str(p) for p in pending] == expected
    assert renderer.helped >= 1
    assert renderer.drawn_here >= 1
    assert renderer.helped + renderer.drawn_here == len(expected)


def test_an_error_in_the_helper_is_raised_in_the_notebook(helper):
    renderer = FigureRenderer()
    _ready(renderer)
    empty = pd.DataFrame({"outcome": ["x"], "y": [0.5]}).iloc[:0]
    with pytest.raises(IndexError):
        str(renderer.submit(run_chart, empty, {}, label="X", better="higher"))
    assert renderer.drawn_here == 1  # drawn again here, where the error was raised
    assert str(renderer.submit(str.upper, "<figure>")) == "<FIGURE>"
    assert renderer.helped == 1  # and the helper goes on


def test_a_helper_killed_mid_figure_leaves_the_figure_to_the_notebook(jobs, helper):
    renderer = FigureRenderer()
    _ready(renderer)
    function, args, kwargs = jobs[1]
    pending = renderer.submit(function, *args, **kwargs)
    helper.process.kill()
    helper.process.wait(timeout=30)
    assert str(pending).startswith("<figure")  # the helper's, or drawn here when it died first
    assert str(renderer.submit(str.upper, "<f>")) == "<F>"  # and everything after it
    assert renderer.drawn_here >= 1
    assert renderer._connection is None


def test_the_helpers_warnings_are_said_in_the_notebook(helper):
    renderer = FigureRenderer()
    _ready(renderer)
    with pytest.warns(UserWarning, match="said in the helper"):
        str(renderer.submit(warnings.warn, "said in the helper"))
    assert renderer.helped == 1


def _listening(helper, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not os.path.exists(helper.address) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(helper.address)


def test_a_renderer_without_the_runs_key_draws_everything_itself(helper, monkeypatch):
    _listening(helper)
    right = helper.environment[figures.HELPER_ENVIRONMENT]
    monkeypatch.setenv(figures.HELPER_ENVIRONMENT, right.replace(helper.key, "00" * 32))
    renderer = FigureRenderer()
    assert renderer._told is None  # it was listening: refused, not "not yet"
    assert renderer._connection is None
    assert str(renderer.submit(str.upper, "<f>")) == "<F>"
    assert renderer.drawn_here == 1
    monkeypatch.setenv(figures.HELPER_ENVIRONMENT, right)  # the helper still serves its run
    rightful = FigureRenderer()
    _ready(rightful)
    assert str(rightful.submit(str.upper, "<g>")) == "<G>"
    assert rightful.helped == 1


def test_a_second_renderer_draws_by_itself_at_once(helper):
    first = FigureRenderer()
    _ready(first)
    started = time.monotonic()
    second = FigureRenderer()  # the helper serves one notebook: refused, never left waiting
    assert time.monotonic() - started < 10
    assert second._connection is None
    assert str(second.submit(str.upper, "<s>")) == "<S>"
    assert second.drawn_here == 1
    assert str(first.submit(str.upper, "<f>")) == "<F>"
    assert first.helped == 1


def test_a_function_of_the_notebook_is_drawn_in_the_notebook(helper):
    renderer = FigureRenderer()
    _ready(renderer)
    called = []

    def mine(*args, **kwargs):
        called.append(1)
        return "<figure>mine</figure>"

    mine.__module__ = "__main__"  # as a function defined in a notebook cell is,
    mine.__qualname__ = "_draw"  # named like one of the helper's own functions
    assert str(renderer.submit(mine)) == "<figure>mine</figure>"
    assert called == [1]
    assert renderer.helped == 0


def test_a_helper_of_another_installation_is_not_used(helper, monkeypatch):
    monkeypatch.setattr(figures, "_identity", lambda: {"c2c_analysis": "another"})
    renderer = FigureRenderer()
    deadline = time.monotonic() + 60
    while renderer._connection is not None or renderer._told:
        if time.monotonic() > deadline:
            break
        if renderer._told:
            renderer._connect()
        renderer._receive(block=False)
        time.sleep(0.05)
    assert renderer._connection is None
    assert not renderer._ready
    assert str(renderer.submit(str.upper, "<f>")) == "<F>"
    assert renderer.drawn_here == 1


def test_a_single_report_has_a_helper_that_ends_with_the_run(tmp_path, monkeypatch):
    started = []
    original = figures.make_helper

    def spy():
        made = original()
        started.append(made)
        return made

    monkeypatch.setattr(figures, "make_helper", spy)
    record = run_report("tacoma", out_dir=tmp_path / "reports")
    assert record.status == "succeeded", record.error
    assert len(started) == 1
    made = started[0]
    if made is not None:
        assert made.process is not None
        assert made.process.poll() is not None  # stopped with the run
        assert not os.path.exists(made.folder)
    batch = run_batch(["riverton"], out_dir=tmp_path / "batch", workers=1)
    assert batch[0].status == "succeeded", batch[0].error
    assert len(started) == 1  # a batch's workers fill the cores: no helper


def test_the_floor_notebook_has_no_helper(tmp_path):
    assert runner._figure_helper(tmp_path / "missing.ipynb") is None


def test_a_job_that_cannot_be_pickled_is_drawn_here_and_the_helper_goes_on(helper):
    renderer = FigureRenderer()
    _ready(renderer)
    assert str(renderer.submit(lambda: "<figure>a</figure>")) == "<figure>a</figure>"
    assert renderer.drawn_here == 1
    assert renderer._connection is not None
    assert str(renderer.submit(str.upper, "<f>")) == "<F>"
    assert renderer.helped == 1
