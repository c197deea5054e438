"""A report people can read (issue 17): tables for people, findings first, figures with alt
text, sources, the network dashboard, and 0 serious axe-core violations in chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from c2c_analysis.report import dashboard, page, tables
from c2c_analysis.report.findings import findings, headlines
from c2c_analysis.report.outputs import ReportWriter, rounded_table

AXE = Path(__file__).parent / "data" / "axe-core" / "axe.min.js"


# --- tables ------------------------------------------------------------------------------------


def test_tables_show_labels_percentages_signed_points_counts_and_no_index():
    frame = pd.DataFrame(
        {
            "outcome": ["hs_graduation", "kindergarten_readiness"],
            "latest_rate": [0.895951, 0.536564],
            "last_year": [2019.0, 2019.0],
            "latest_denominator": pd.array([2124, 2270], dtype="Int64"),
            "change_pp": [34.615, -3.0603],
        }
    )
    html = tables.html_table(
        frame, ["outcome", "latest_rate", "last_year", "latest_denominator", "change_pp"]
    )
    # Hand-formatted: 0.895951 -> 89.6%, 34.615 -> +34.6, -3.0603 -> −3.1 (minus sign), 2,270.
    assert "High school graduation" in html
    assert "hs_graduation" not in html
    assert ">89.6%<" in html
    assert ">53.7%<" in html
    assert ">+34.6<" in html
    assert ">\u22123.1<" in html
    assert ">2,270<" in html
    assert ">2019<" in html
    assert "2019.0" not in html
    assert "NaN" not in html
    assert "dataframe" not in html
    assert "Latest rate (%)" in html
    assert "latest_rate" not in html


def test_table_text_from_data_is_escaped():
    frame = pd.DataFrame({"group": ["<img src=y onerror=alert(3)>"], "rate": [0.5]})
    html = tables.html_table(frame, ["group", "rate"])
    assert "<img" not in html
    assert "&lt;img src=y onerror=alert(3)&gt;" in html


def test_withheld_cells_read_in_words_with_a_footnote():
    frame = pd.DataFrame({"group": ["Black", "Asian"], "gap_end_pp": [np.nan, -2.0]})
    html = tables.html_table(
        frame,
        ["group", "gap_end_pp"],
        withheld=np.array([True, False]),
        withheld_columns=["gap_end_pp"],
        min_n=10,
    )
    assert ">withheld (fewer than 10)<" in html
    assert "Withheld: fewer than 10 students" in html  # the footnote


def _gap_changes():
    base = dict(
        partnership="tacoma", dimension="race_ethnicity", reference="White", start=2010,
        end=2019, gap_start_pp=-15.6, gap_end_pp=-5.0, gap_change_pp=10.6,
        se_gap_change_pp=2.0, higher="reference", category="narrowing_both_improving",
    )  # fmt: skip
    rows = [
        {**base, "outcome": "hs_graduation", "group": g}
        for g in ["Black", "Asian", "Hispanic/Latino", "Not reported"]
    ]
    rows += [{**base, "outcome": "postsecondary_enrollment", "group": "Black"}]
    rows[1].update(gap_end_pp=np.nan, gap_change_pp=np.nan, category="insufficient_data")
    return pd.DataFrame(rows)


def test_gap_tables_split_by_outcome_show_every_group_and_leave_out_catch_alls():
    changes = _gap_changes()
    data = pd.DataFrame(
        {"outcome": ["hs_graduation"], "dimension": ["race_ethnicity"], "group": ["Asian"],
         "year": [2019], "suppressed": [True]}
    )  # fmt: skip
    html = tables.gap_tables(changes, data=data, min_n=10)
    assert html.count("<details") == 2  # one per outcome
    assert "High school graduation: 3 gaps" in html  # Not reported left out
    assert "Not reported" not in html
    assert "withheld (fewer than 10)" in html  # Asian withheld in 2019
    assert "narrowed, both groups improved" in html  # the category in words


def test_scorecard_signs_are_positive_when_better_than_the_baseline():
    scorecard = pd.DataFrame(
        {
            "strategy": ["attend", "grad"],
            "outcome": ["chronic_absence", "hs_graduation"],
            "group": ["All students", "Black"],
            "baseline_first": [2010, 2010],
            "baseline_last": [2012, 2012],
            "last_period": [2015.0, 2019.0],
            "actual": [0.20, 0.81],
            "projected": [0.24, 0.755],
            "pi_lower": [0.22, 0.68],
            "pi_upper": [0.26, 0.82],
            # Chronic absence fell 4 points below its projection: better (lower is better).
            "difference_pp": [-4.0, 5.5],
            # The gap narrowed 9.4 points beyond its projection (negative in portfolio.py).
            "gap_vs_projection_pp": [np.nan, -9.4],
            "verdict": ["turned_the_curve", "above_baseline_within_noise"],
        }
    )
    html = tables.scorecard_table(scorecard)
    assert ">+4.0<" in html
    assert ">+5.5<" in html
    assert ">+9.4<" in html
    assert "positive numbers are better than the baseline" in html
    # 2019 is 7 years past a 3-year baseline (2010-2012): the long-projection caveat.
    assert "7 years projected past a 3-year baseline" in html
    assert "beat its baseline" in html  # the verdict in words


# --- findings and headlines ---------------------------------------------------------------------


def test_headlines_answer_the_three_questions():
    trends = pd.DataFrame(
        {"outcome": ["hs_graduation", "employment"], "slope_pp": [4.1, 0.6],
         "ci_lower_pp": [3.7, -0.7], "ci_upper_pp": [4.5, 1.8], "first_period": [2010, 2014],
         "last_period": [2019, 2019]}
    )  # fmt: skip
    said = findings(trends=trends, gap_changes=_gap_changes())
    top = headlines(said, gap_changes=_gap_changes())
    assert top["improving"].startswith("Of 2 outcomes with a trend, 1 is improving")
    # 3 usable gaps (Asian has no end value; Not reported is a catch-all), all narrowed.
    assert top["gaps"].startswith("Of 3 gaps with data at both ends, 3 narrowed")
    assert "between Black and White students narrowed from 15.6 to 5.0 points" in top["gaps"]
    assert top["strategies"] == "No strategy portfolio was given for this partnership."


# --- published files ----------------------------------------------------------------------------


def test_published_numbers_are_rounded_and_described(tmp_path):
    table = pd.DataFrame(
        {"outcome": ["kindergarten_readiness"], "change_pp": [8.111400000000001],
         "latest_rate": [0.5365642], "denominator": [2270]}
    )  # fmt: skip
    assert rounded_table(table)["change_pp"].iloc[0] == 8.11
    writer = ReportWriter(tmp_path, min_n=10)
    writer.table("overview", table)
    text = (tmp_path / "tables" / "overview.csv").read_text()
    assert "8.11," in text
    assert "8.1114" not in text
    assert "0.5366" in text
    dictionary = pd.read_csv(tmp_path / "tables" / "data_dictionary.csv")
    row = dictionary.set_index("column").loc["change_pp"]
    assert row["unit"] == "percentage points"
    assert row["table"] == "overview"
    sheets = pd.read_excel(tmp_path / "tables" / "overview.xlsx", sheet_name=None)
    assert set(sheets) == {"table", "dictionary"}


# --- the page -----------------------------------------------------------------------------------


def test_page_title_names_the_partnership_in_words():
    assert page.partnership_title(None, "harbor_city") == "Harbor City"
    named = pd.DataFrame({"partnership_name": ["Graduate Tacoma", None]})
    assert page.partnership_title(named, "tacoma") == "Graduate Tacoma"
    data, meta = page.title_html("Tacoma", "partnership report")
    assert data["text/html"] == "<h1>Tacoma: partnership report</h1>"
    notebook = {"cells": [{"outputs": [{"metadata": meta}]}]}
    assert page.report_title(notebook) == "Tacoma: partnership report"


def test_exported_figures_carry_the_alt_text_of_their_metadata(tmp_path):
    from c2c_analysis.report.runner import _export_html

    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'
    heading, meta = page.title_html("Harbor City", "partnership report")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data=heading, metadata=meta),
        nbformat.v4.new_output(
            "display_data",
            data={"image/svg+xml": svg},
            metadata={"image/svg+xml": {"alt": "Run chart of <graduation>, 2010-2019"}},
        ),
    ]
    nb.cells = [cell]
    _export_html(nb, tmp_path / "report.html", "harbor_city: partnership_report")
    html = (tmp_path / "report.html").read_text()
    assert 'alt="Run chart of &lt;graduation&gt;, 2010-2019"' in html
    assert "<title>Harbor City: partnership report</title>" in html
    assert "No description has been provided" not in html


# --- the dashboard ------------------------------------------------------------------------------


def _fake_reports(out: Path, n: int) -> list[dict]:
    rows = []
    for i in range(n):
        folder = out / f"p{i}"
        folder.mkdir(parents=True)
        summary = {
            "partnership": f"p{i}",
            "name": f"Partnership {i}",
            "outcomes": {
                "hs_graduation": {
                    "latest_rate": 0.8 + i / 100,
                    "last_year": 2019,
                    "change_pp": 3.0 - i,
                    "variation": "common_cause",
                },
            },
            "largest_gap": {
                "outcome": "hs_graduation",
                "group": "Black",
                "reference": "White",
                "gap_end_pp": -10.0 - i,
                "gap_change_pp": 2.0,
                "category": "narrowing_both_improving",
            },
            "strategies": {"beat": 1, "judged": 2, "total": 3} if i == 0 else None,
            "graduation": {"numerator": 80 * (i + 1), "denominator": 100 * (i + 1), "year": 2019},
        }
        (folder / "results.json").write_text(json.dumps({"dashboard": summary}))
        (folder / "report.html").write_text("<p>report</p>")
        rows.append(
            {"folder": f"p{i}", "partnership": f"p{i}", "notebook": "partnership_report",
             "status": "succeeded", "when": f"2026-01-0{i + 1}T10:00:00+00:00",
             "seconds": 1.0, "detail": "", "link": True}
        )  # fmt: skip
    return rows


def test_dashboard_has_a_row_per_partnership_sortable_without_script(tmp_path):
    html = dashboard.render_index(tmp_path, _fake_reports(tmp_path, 3))
    assert "<script" not in html.lower()
    assert html.count('href="p0/report.html"') >= 1
    assert "Partnership 2" in html
    assert "80.0%" in html
    assert "1 of 2 judged (1 not yet)" in html
    # One pre-sorted copy per column, linked from the headers (CSS :target shows one).
    assert 'id="by-name"' in html
    assert 'href="#by-hs_graduation"' in html
    by_rate = html[html.index('id="by-hs_graduation"') :]
    assert by_rate.index("Partnership 2") < by_rate.index("Partnership 0")  # highest first
    assert "<img" not in html  # fewer than FUNNEL_MIN partnerships: no funnel plot


def test_dashboard_draws_a_funnel_plot_from_five_partnerships(tmp_path):
    html = dashboard.render_index(tmp_path, _fake_reports(tmp_path, dashboard.FUNNEL_MIN))
    alt = re.search(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)"', html)
    assert alt
    assert alt.group(1).startswith("Funnel plot of 5 partnerships")


# --- a real report in chromium -----------------------------------------------------------------


def _chromium():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (make test installs them)"
        )
    return chromium, driver


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A batch of two sample partnerships through the CLI (tacoma has the portfolio)."""
    out = tmp_path_factory.mktemp("reports")
    run = subprocess.run(
        [sys.executable, "-m", "c2c_analysis.cli", "batch", "--partnerships", "tacoma",
         "riverton", "--out", str(out), "--workers", "2"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    return out, run


def test_a_batch_prints_no_kernel_warnings(published):
    _, run = published
    assert "without encryption" not in run.stdout + run.stderr
    assert "IPKernelApp" not in run.stdout + run.stderr
    assert run.returncode == 0, run.stdout[-2000:]


def test_the_report_opens_with_its_title_and_findings_before_any_table(published):
    out, _ = published
    html = (out / "tacoma" / "report.html").read_text()
    assert "<title>Tacoma: partnership report</title>" in html
    assert "partnership_report</title>" not in html
    findings_at = html.index('id="findings"')
    assert findings_at < html.index("<table")
    for stray in ("Empty DataFrame", 'class="dataframe"', "No description has been provided"):
        assert stray not in html
    assert "What is real and what is modelled" in html
    alts = re.findall(r"<img\b[^>]*>", html)
    assert alts
    assert all(re.search(r'alt="[^"]{20,}"', tag) for tag in alts)


def test_another_partnerships_report_says_nothing_about_tacoma(published):
    out, _ = published
    html = (out / "riverton" / "report.html").read_text()
    assert "Tacoma" not in html
    assert "tacoma" not in html
    assert "<title>Riverton: partnership report</title>" in html
    assert "No strategy portfolio was given for this partnership." in html


@pytest.mark.parametrize("name", ["tacoma/report.html", "index.html"])
def test_no_serious_or_critical_axe_violations(published, name, tmp_path):
    pytest.importorskip("selenium")
    axe_selenium = pytest.importorskip("axe_selenium_python")
    chromium, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    out, _ = published
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
                     f"--user-data-dir={tmp_path / 'profile'}"):  # fmt: skip
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        for width in (1280, 400):  # screenshots kept as test artefacts (in tmp_path)
            browser.set_window_size(width, 2000)
            browser.get((out / name).as_uri())
            browser.save_screenshot(str(tmp_path / f"{name.replace('/', '_')}_{width}.png"))
            axe = axe_selenium.Axe(browser, script_url=str(AXE))
            axe.inject()
            result = axe.run()
            assert result["testEngine"]["version"].startswith("4.")
            bad = [
                (v["id"], [n["html"][:120] for n in v["nodes"][:3]])
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert bad == [], f"{name} at {width} px: {bad}"
    finally:
        browser.quit()


def test_every_cli_option_and_argument_has_help():
    import argparse

    from c2c_analysis.cli import _parser

    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif not action.help and not isinstance(action, argparse._HelpAction):
                missing.append((" ".join(path), action.option_strings or action.dest))

    walk(_parser(), ["c2c"])
    assert missing == []
