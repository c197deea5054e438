"""audit_disclosure and suppress against attackers: nothing withheld is recoverable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from c2c_analysis import load_sample
from c2c_analysis.audit import audit_disclosure
from c2c_analysis.cli import main
from c2c_analysis.privacy import suppress


def one_year(dims: dict[str, dict[str, tuple[int, int]]], *, outcome="hs_graduation", year=2019):
    """All students plus dimensions whose groups partition them (counts checked)."""
    totals = {tuple(np.sum(list(groups.values()), axis=0)) for groups in dims.values()}
    assert len(totals) == 1, "every dimension must add up to the same total"
    num, den = totals.pop()
    rows = [("all", "All students", num, den)]
    rows += [(d, g, n, m) for d, groups in dims.items() for g, (n, m) in groups.items()]
    frame = pd.DataFrame(rows, columns=["dimension", "group", "numerator", "denominator"])
    frame.insert(0, "year", year)
    frame.insert(0, "outcome", outcome)
    frame.insert(0, "partnership", "p")
    frame["rate"] = frame["numerator"] / frame["denominator"]
    frame["suppressed"] = False
    return frame


# --- an attacker written independently of c2c_analysis.audit ----------------------------------


def attacker_ranges(published: pd.DataFrame) -> list[tuple[str, str, float, float]]:
    """Integer ranges of every withheld n, d and d - n of one partnership-year table whose
    dimensions each sum to All students, from the published counts and coded ranges."""
    rows = published.reset_index(drop=True)
    k = len(rows)
    # x = [n_0..n_k-1, d_0..d_k-1]
    lower, upper = np.zeros(2 * k), np.full(2 * k, 1e6)
    for i, r in rows.iterrows():
        if pd.notna(r["numerator"]):
            lower[i] = upper[i] = r["numerator"]
        if pd.notna(r["denominator"]):
            lower[k + i] = upper[k + i] = r["denominator"]
    A, lo, hi = [], [], []
    total = rows.index[rows["dimension"] == "all"][0]
    for _, members in rows[rows["dimension"] != "all"].groupby("dimension"):
        for offset in (0, k):
            a = np.zeros(2 * k)
            a[members.index + offset] = 1
            a[total + offset] -= 1
            A.append(a)
            lo.append(0)
            hi.append(0)
    for i, r in rows.iterrows():
        a = np.zeros(2 * k)
        a[i], a[k + i] = 1, -1  # n <= d
        A.append(a)
        lo.append(-np.inf)
        hi.append(0)
        if pd.notna(r.get("rate_low")) and pd.isna(r["numerator"]):
            # low d <= n <= high d, with a hair of slack for the float product
            for bound, bounds in (
                (r["rate_low"], (-1e-9, np.inf)),
                (r["rate_high"], (-np.inf, 1e-9)),
            ):
                a = np.zeros(2 * k)
                a[i], a[k + i] = 1, -bound
                A.append(a)
                lo.append(bounds[0])
                hi.append(bounds[1])
    constraints = LinearConstraint(np.array(A), lo, hi)
    found = []
    for i, r in rows.iterrows():
        if pd.notna(r["numerator"]) and pd.notna(r["denominator"]):
            continue
        for name, c in (
            ("n", np.eye(2 * k)[i]),
            ("d", np.eye(2 * k)[k + i]),
            ("c", np.eye(2 * k)[k + i] - np.eye(2 * k)[i]),
        ):
            if name == "d" and pd.notna(r["denominator"]):
                continue  # published
            ends = []
            for sign in (1, -1):
                res = milp(
                    sign * c,
                    constraints=constraints,
                    bounds=Bounds(lower, upper),
                    integrality=np.ones(2 * k),
                    options={"presolve": False},
                )
                assert res.status == 0, res.message
                ends.append(sign * res.fun)
            found.append((r["group"], name, ends[0], ends[1]))
    return found


@st.composite
def partnership_years(draw):
    """One cohort split by 1-3 dimensions into 1-6 groups each (small groups likely)."""
    total = draw(st.integers(10, 300))
    total_num = draw(st.integers(0, total))
    dims = {}
    for dim in draw(
        st.lists(
            st.sampled_from(["race_ethnicity", "income", "gender"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        k = draw(st.integers(2, 6))
        cuts = sorted(
            draw(st.lists(st.integers(1, total - 1), min_size=k - 1, max_size=k - 1, unique=True))
        )
        sizes = np.diff([0, *cuts, total])
        # Numerators: split total_num over the groups within their sizes.
        left, nums = total_num, []
        for j, size in enumerate(sizes):
            rest = int(sizes[j + 1 :].sum())
            low, high = max(0, left - rest), min(int(size), left)
            value = draw(st.integers(low, high))
            nums.append(value)
            left -= value
        dims[dim] = {
            f"g{j}": (int(n), int(d)) for j, (n, d) in enumerate(zip(nums, sizes, strict=True))
        }
    return one_year(dims)


@settings(max_examples=12, deadline=None)
@given(partnership_years())
def test_an_independent_attacker_recovers_no_withheld_value(frame):
    published = suppress(frame, links=()).table
    for group, value, low, high in attacker_ranges(published):
        assert high - low >= 3, (group, value, low, high)


# --- adversarial inputs --------------------------------------------------------------------------


def test_a_naive_publication_is_found_exposed():
    # Total minus the published groups gives Asian's 5 of 6 (issue 15's first leak).
    frame = one_year({"race_ethnicity": {"Asian": (5, 6), "Black": (40, 50), "White": (125, 144)}})
    frame.loc[frame["group"] == "Asian", ["numerator", "denominator", "rate"]] = np.nan
    result = audit_disclosure(frame)
    assert not result.safe
    asian = result.table.set_index(["group", "value"])
    assert (asian.loc[("Asian", "numerator"), ["low", "high"]] == [5, 5]).all()


def test_two_withheld_groups_that_all_graduated_are_an_exposed_set():
    # 2 of 2 and 3 of 3 withheld: differencing shows their 5 students all graduated.
    frame = one_year({"race_ethnicity": {"A": (2, 2), "B": (3, 3), "C": (40, 50), "D": (100, 120)}})
    withheld = frame["group"].isin(["A", "B"])
    frame.loc[withheld, ["numerator", "denominator", "rate"]] = np.nan
    result = audit_disclosure(frame)
    assert not result.safe
    assert set(result.sets.loc[result.sets["exposed"], "reason"]) >= {"all-or-none outcome"}


def test_suppress_protects_zero_and_hundred_percent_groups():
    frame = one_year(
        {"race_ethnicity": {"A": (12, 12), "B": (0, 11), "C": (40, 60), "D": (70, 100)}}
    )
    result = suppress(frame)
    assert audit_disclosure(result.table).safe
    published = result.table.set_index("group")
    assert not (published["rate"].isin([0.0, 1.0])).any()


def test_linked_outcomes_are_protected_together():
    # Enrollment's denominators are graduation's numerators group by group.
    grad = one_year({"race_ethnicity": {"A": (6, 8), "B": (30, 40), "C": (100, 120)}})
    enroll = one_year(
        {"race_ethnicity": {"A": (3, 6), "B": (20, 30), "C": (60, 100)}},
        outcome="postsecondary_enrollment",
    )
    both = pd.concat([grad, enroll], ignore_index=True)
    result = suppress(both)
    audit = audit_disclosure(result.table)
    assert audit.safe, audit.exposed


def test_school_units_add_up_to_their_partnership():
    rows = []
    for unit, counts in {"": (140, 200), "s1": (133, 190), "s2": (7, 10)}.items():
        rows.append(("all", "All students", *counts, unit))
    for unit, counts in {"": (4, 6), "s1": (1, 2), "s2": (3, 4)}.items():
        rows.append(("race_ethnicity", "A", *counts, unit))
    for unit, counts in {"": (136, 194), "s1": (132, 188), "s2": (4, 6)}.items():
        rows.append(("race_ethnicity", "B", *counts, unit))
    frame = pd.DataFrame(rows, columns=["dimension", "group", "numerator", "denominator", "unit"])
    frame = frame.assign(partnership="p", outcome="hs_graduation", year=2019, suppressed=False)
    frame["rate"] = frame["numerator"] / frame["denominator"]
    result = suppress(frame)
    assert audit_disclosure(result.table).safe


def test_single_group_dimension_keeps_all_students_published():
    frame = one_year({"race_ethnicity": {"A": (60, 80), "B": (100, 120)}})
    foster = frame.iloc[[1]].assign(
        dimension="foster_care", group="Foster youth", numerator=3, denominator=7, rate=3 / 7
    )
    result = suppress(pd.concat([frame, foster], ignore_index=True))
    published = result.table.set_index("group")
    assert published.loc["Foster youth", "suppressed"]
    assert published.loc["All students", "denominator"] == 200


# --- the bundled sample ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def tacoma():
    sample = load_sample("outcomes")
    return sample[sample["partnership"] == "tacoma"].reset_index(drop=True)


def test_tacoma_american_indian_graduation_is_published_when_kept(tacoma):
    result = suppress(tacoma, keep=["American Indian/Alaska Native"])
    grad = result.table[
        (result.table["outcome"] == "hs_graduation")
        & (result.table["group"] == "American Indian/Alaska Native")
    ]
    assert not grad["suppressed"].any()
    assert audit_disclosure(result.table).safe


def test_suppressed_sample_partnership_passes_the_audit(tacoma):
    result = suppress(tacoma)
    audit = audit_disclosure(result.table)
    assert audit.safe, audit.exposed
    assert len(audit.table) > 0


def test_cli_audit_exit_codes(tmp_path, tacoma):
    safe = tmp_path / "safe" / "tables"
    safe.mkdir(parents=True)
    suppress(tacoma).table.to_csv(safe / "outcomes.csv", index=False)
    assert main(["audit", str(tmp_path / "safe")]) == 0
    leaky = tmp_path / "leaky" / "tables"
    leaky.mkdir(parents=True)
    frame = one_year({"race_ethnicity": {"Asian": (5, 6), "Black": (40, 50), "White": (125, 144)}})
    frame.loc[frame["group"] == "Asian", ["numerator", "denominator", "rate"]] = np.nan
    frame.to_csv(leaky / "outcomes.csv", index=False)
    assert main(["audit", str(tmp_path / "leaky")]) == 1
    assert main(["audit", str(tmp_path / "missing")]) == 2


def test_cli_audit_exits_0_when_safe_1_when_exposed_2_when_missing(tmp_path):
    frame = one_year({"race_ethnicity": {"Asian": (5, 6), "Black": (40, 50), "White": (125, 144)}})
    safe = tmp_path / "safe" / "tables"
    safe.mkdir(parents=True)
    suppress(frame).table.to_csv(safe / "outcomes.csv", index=False)
    assert main(["audit", str(tmp_path / "safe")]) == 0
    leaky = tmp_path / "leaky" / "tables"
    leaky.mkdir(parents=True)
    frame.loc[frame["group"] == "Asian", ["numerator", "denominator", "rate"]] = np.nan
    frame.to_csv(leaky / "outcomes.csv", index=False)
    assert main(["audit", str(tmp_path / "leaky")]) == 1
    assert main(["audit", str(tmp_path / "missing")]) == 2


def test_tacoma_american_indian_graduation_is_never_withheld_by_default(tacoma):
    # Issue 15: the group the Tacoma question is about (37-51 graduates' cohorts a year)
    # stays in the table: exact where nothing needs it, else as a rate range, never withheld.
    result = suppress(tacoma)
    grad = result.table[
        (result.table["outcome"] == "hs_graduation")
        & (result.table["group"] == "American Indian/Alaska Native")
    ]
    assert len(grad) == 10  # 2010-2019
    assert not grad["suppressed"].any()
    shown = grad["rate"].notna() | (grad["rate_low"].notna() & grad["rate_high"].notna())
    assert shown.all()


def _notebook_with_table(path, frame):
    import nbformat

    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("frame")
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": frame.to_html(), "text/plain": frame.to_string()},
            execution_count=1,
        )
    ]
    notebook.cells.append(cell)
    nbformat.write(notebook, path)


def test_the_audit_combines_every_file_a_report_folder_publishes(tmp_path):
    # Each file alone is safe; together they give Asian's 5 of 6 (170 - 40 - 125 of 200 -
    # 50 - 144), so the audit must have read all of them: All students from results.json,
    # Black from a workbook, White from the notebook's HTML output, the withheld Asian row
    # from tables/*.csv. A raw copy in a hidden folder is not published and not read.
    frame = one_year({"race_ethnicity": {"Asian": (5, 6), "Black": (40, 50), "White": (125, 144)}})
    by_group = frame.set_index("group")
    report = tmp_path / "report"
    (report / "tables").mkdir(parents=True)
    withheld = frame[frame["group"] == "Asian"].assign(
        numerator=np.nan, denominator=np.nan, rate=np.nan, suppressed=True
    )
    withheld.to_csv(report / "tables" / "withheld.csv", index=False)
    frame[frame["group"] == "Black"].to_excel(report / "tables" / "black.xlsx", index=False)
    _notebook_with_table(report / "report.ipynb", frame[frame["group"] == "White"])
    total = by_group.loc["All students"]
    (report / "results.json").write_text(
        '{"headline": {"partnership": "p", "outcome": "hs_graduation", "year": 2019, '
        '"dimension": "all", "group": "All students", '
        f'"numerator": {total["numerator"]}, "denominator": {total["denominator"]}}}}}'
    )
    (report / ".private").mkdir()
    frame.to_csv(report / ".private" / "inputs.csv", index=False)

    result = audit_disclosure(report)
    assert not result.safe
    asian = result.table.set_index(["group", "value"])
    assert (asian.loc[("Asian", "numerator"), ["low", "high"]] == [5, 5]).all()
    assert sorted(result.sources) == sorted(
        ["results.json[0]", "report.ipynb output 0", "black.xlsx:Sheet1", "withheld.csv"]
    )
    # Without the All students row nothing pins Asian: each piece alone is safe.
    (report / "results.json").unlink()
    assert audit_disclosure(report).safe


def test_the_audit_reads_the_report_page_when_the_notebook_is_gone(tmp_path):
    frame = one_year({"race_ethnicity": {"Asian": (5, 6), "Black": (40, 50), "White": (125, 144)}})
    report = tmp_path / "report"
    report.mkdir()
    frame.loc[frame["group"] == "Asian", ["numerator", "denominator", "rate"]] = np.nan
    (report / "report.html").write_text(
        "<html><body><h1>Report</h1>" + frame.to_html(index=False) + "</body></html>"
    )
    result = audit_disclosure(report)
    assert result.sources == ["report.html table 0"]
    assert not result.safe
