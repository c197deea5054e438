"""privacy.suppress: nothing under min_n is published, and nothing withheld can be recomputed."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from c2c_analysis import load_sample
from c2c_analysis.audit import audit_disclosure
from c2c_analysis.privacy import suppress
from c2c_analysis.schema import NOT_REPORTED


def table(groups: dict[str, tuple[int, int]], *, dimension: str = "race_ethnicity") -> pd.DataFrame:
    """One partnership-year: the All students row plus one dimension's groups."""
    num = sum(v[0] for v in groups.values())
    den = sum(v[1] for v in groups.values())
    rows = [("all", "All students", num, den)] + [
        (dimension, g, n, d) for g, (n, d) in groups.items()
    ]
    frame = pd.DataFrame(rows, columns=["dimension", "group", "numerator", "denominator"])
    frame.insert(0, "year", 2019)
    frame.insert(0, "outcome", "hs_graduation")
    frame.insert(0, "partnership", "p")
    frame["rate"] = frame["numerator"] / frame["denominator"]
    frame["suppressed"] = False
    return frame


# The min_n rule on its own (coding and min_cell off), as the first tests of this module had it.
COUNTS_ONLY = {"min_cell": None, "top_bottom": None}


def test_denominator_of_exactly_min_n_is_published():
    # Two cells under 10 (so no complementary cell is needed) beside one of exactly 10.
    result = suppress(
        table({"A": (5, 9), "E": (2, 3), "B": (8, 10), "C": (80, 100)}), **COUNTS_ONLY
    )
    assert result.table.set_index("group").loc["B", "denominator"] == 10
    assert result.table.set_index("group").loc[["A", "E"], "suppressed"].all()


def test_complementary_protection_codes_the_smallest_sibling_as_a_range():
    # A's 9 students are withheld; its count and size would follow from All students minus
    # the others, so the smallest sibling B (30 of 40) loses its exact count and size but
    # stays in the table as the narrowest grid band holding 75% whose counts span at least
    # 2 x spread = 6 students: 60%-80% (24-32 of 40; 75%-80% holds 30-32, 70%-80% 28-32).
    result = suppress(
        table({"A": (5, 9), "B": (30, 40), "C": (80, 100), "D": (90, 120)}), **COUNTS_ONLY
    )
    published = result.table.set_index("group")
    assert published["suppressed"].to_dict() == {
        "All students": False,
        "A": True,
        "B": False,
        "C": False,
        "D": False,
    }
    assert (published.loc["B", "rate_low"], published.loc["B", "rate_high"]) == (0.6, 0.8)
    assert pd.isna(published.loc["B", "numerator"])
    assert pd.isna(published.loc["B", "denominator"])
    assert result.record.set_index("group")["rule"].to_dict() == {
        "A": "min_n",
        "B": "complementary_range",
    }
    # Hand check of what that leaves: n_A + n_B = 205 - 170 = 35 and d_A + d_B = 49, with
    # 0.6 d_B <= n_B <= 0.8 d_B: d_A = 9 gives n_A in 3..11 (at most 9), d_A = 0 gives
    # n_A = 0.
    assert audit_disclosure(result.table).safe


def test_two_small_cells_need_no_complementary_cell():
    result = suppress(table({"A": (5, 9), "B": (3, 4), "C": (80, 100)}), **COUNTS_ONLY)
    assert result.table.loc[result.table["suppressed"], "group"].tolist() == ["A", "B"]


def test_complementary_can_be_turned_off():
    result = suppress(
        table({"A": (5, 9), "B": (30, 40), "C": (80, 100)}), complementary=False, **COUNTS_ONLY
    )
    assert result.table["suppressed"].sum() == 1


def test_withheld_rows_lose_counts_rate_and_bounds():
    row = suppress(table({"A": (5, 9), "B": (3, 4), "C": (80, 100)})).table.iloc[1]
    assert pd.isna(row["numerator"])
    assert pd.isna(row["denominator"])
    assert np.isnan(row["rate"])


def test_min_cell_withholds_all_or_none_outcomes():
    # 14 of 14 graduated: publishing it tells every family.
    result = suppress(
        table({"A": (14, 14), "B": (30, 40), "C": (80, 100)}), min_cell=1, top_bottom=None
    )
    assert result.record.set_index("group").loc["A", "rule"] == "min_cell"


def test_top_coding_publishes_a_range_and_keeps_the_denominator():
    result = suppress(table({"A": (98, 100), "B": (30, 40), "C": (60, 100)}), top_bottom=0.05)
    row = result.table.set_index("group").loc["A"]
    assert (row["rate_low"], row["rate_high"]) == (0.95, 1.0)
    assert np.isnan(row["rate"])
    assert pd.isna(row["numerator"])
    assert row["denominator"] == 100
    # Its numerator would follow from the total: the smallest sibling's exact count and rate
    # go too, published as the band 60%-80% (24-32 of 40), and that sibling keeps its
    # denominator. By hand: n_A = 188 - 60 - n_B lies in 96..100.
    sibling = result.table.set_index("group").loc["B"]
    assert not sibling["suppressed"]
    assert pd.isna(sibling["numerator"])
    assert np.isnan(sibling["rate"])
    assert (sibling["rate_low"], sibling["rate_high"]) == (0.6, 0.8)
    assert sibling["denominator"] == 40


def test_top_bottom_thresholds_by_cohort_size():
    # Washington-style table: 10% for cohorts of 10-19, 5% for 20-99, 2% from 100.
    rules = {10: 0.10, 20: 0.05, 100: 0.02}
    result = suppress(
        table({"A": (11, 12), "B": (39, 40), "C": (99, 100), "D": (2, 50)}),
        top_bottom=rules,
        complementary=False,
        min_cell=None,
    )
    coded = result.record.set_index("group")["rule"].to_dict()
    assert coded == {"A": "top_coded", "B": "top_coded", "C": "top_coded", "D": "bottom_coded"}
    # Cohort of 50 at 5% would be 0-2 students (known to within one): the range is widened
    # to hold 0-3, i.e. 3/50 = 6%.
    assert result.table.set_index("group").loc["D", "rate_high"] == 0.06


def test_bottom_coding_uses_the_threshold_for_the_cohort():
    result = suppress(
        table({"D": (3, 50), "E": (40, 60)}),
        top_bottom={10: 0.10, 20: 0.08},
        complementary=False,
        min_cell=None,
    )
    row = result.table.set_index("group").loc["D"]
    assert (row["rate_low"], row["rate_high"]) == (0.0, 0.08)


def test_rows_already_suppressed_count_for_the_complementary_rule():
    frame = table({"A": (20, 30), "B": (30, 40), "C": (80, 100)})
    frame.loc[frame["group"] == "A", ["numerator", "denominator", "rate"]] = np.nan
    frame.loc[frame["group"] == "A", "suppressed"] = True
    result = suppress(frame.astype({"numerator": "Int64", "denominator": "Int64"}), **COUNTS_ONLY)
    sibling = result.table.set_index("group").loc["B"]
    assert pd.isna(sibling["numerator"])
    assert np.isnan(sibling["rate"])


def test_single_group_dimension_never_withholds_all_students():
    # Only Foster youth reported: the dimension does not add up to All students, so the
    # small group is withheld and the total stays (issue 15).
    frame = table({"Foster youth": (5, 8)}, dimension="foster_care")
    frame.loc[0, ["numerator", "denominator"]] = [170, 200]
    result = suppress(frame)
    published = result.table.set_index("group")
    assert published.loc["Foster youth", "suppressed"]
    assert not published.loc["All students", "suppressed"]
    assert published.loc["All students", "denominator"] == 200


def test_input_is_not_modified_and_record_holds_no_values():
    frame = table({"A": (5, 9), "B": (30, 40), "C": (80, 100)})
    before = frame.copy()
    result = suppress(frame, **COUNTS_ONLY)
    pd.testing.assert_frame_equal(frame, before)
    assert list(result.record.columns) == [
        "partnership",
        "outcome",
        "year",
        "dimension",
        "group",
        "row",
        "rule",
        "detail",
        "students",
    ]
    assert not result.record["detail"].str.contains("5").any()


def test_summary_and_json_description():
    result = suppress(table({"A": (5, 9), "B": (30, 40), "C": (80, 100)}), **COUNTS_ONLY)
    summary = result.summary.set_index("rule")
    assert summary["cells"].to_dict() == {"min_n": 1, "complementary_range": 1}
    # their cohorts
    assert summary["students"].to_dict() == {"min_n": 9, "complementary_range": 40}
    assert result.to_dict()["cells_withheld"] == 1  # B is published as a range
    assert "0x" not in repr(result)


def test_sample_outcomes_publish_no_small_cell():
    original = load_sample("outcomes")
    published = suppress(original).table.iloc[: len(original)]
    visible = (
        published["denominator"].notna()
        | published["numerator"].notna()
        | published["rate"].notna()
    )
    assert (original.loc[visible, "denominator"].fillna(10**9) >= 10).all()
    assert published["suppressed"].sum() > original["suppressed"].sum()


# --- properties ---------------------------------------------------------------------------------


@st.composite
def partnership_tables(draw):
    """A partnership-year with 1-3 dimensions, each splitting the same cohort, and the same
    students who met the outcome, into groups (every dimension adds up to All students, as a
    consistent table does: a split that does not would let the naive attacker below claim
    values no consistent table has)."""
    total = draw(st.integers(1, 400))
    rows = []
    total_num = draw(st.integers(0, total))
    for dim in draw(
        st.lists(
            st.sampled_from(["race_ethnicity", "income", "gender"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    ):
        k = draw(st.integers(1, 6))
        cuts = sorted(draw(st.lists(st.integers(0, total), min_size=k - 1, max_size=k - 1)))
        sizes = np.diff([0, *cuts, total])
        left = total_num
        for i, size in enumerate(sizes):
            rest = int(sizes[i + 1 :].sum())
            n = draw(st.integers(max(0, left - rest), min(int(size), left)))
            left -= n
            if size > 0:
                rows.append((dim, f"g{i}", int(n), int(size)))
    frame = pd.DataFrame(
        [("all", "All students", total_num, total), *rows],
        columns=["dimension", "group", "numerator", "denominator"],
    )
    frame.insert(0, "year", 2019)
    frame.insert(0, "outcome", "o")
    frame.insert(0, "partnership", "p")
    frame["suppressed"] = False
    return frame


def recomputed(published: pd.DataFrame, column: str) -> list[tuple[str, str]]:
    """An attacker's try: a dimension with one hidden value and a visible total."""
    total = published.loc[published["dimension"] == "all", column]
    if total.isna().all():
        return []
    found = []
    for dim, rows in published[published["dimension"] != "all"].groupby("dimension"):
        hidden = rows[rows[column].isna()]
        if len(hidden) == 1:
            found.append((dim, hidden["group"].iloc[0]))
    return found


@settings(max_examples=30, deadline=None)
@given(
    partnership_tables(),
    st.integers(2, 30),
    st.one_of(st.none(), st.sampled_from([0.02, 0.05, 0.1])),
)
def test_no_published_cell_is_below_min_n(frame, min_n, top_bottom):
    published = suppress(frame, min_n=min_n, top_bottom=top_bottom).table
    shown = (
        published["numerator"].notna()
        | published["denominator"].notna()
        | published["rate"].notna()
    )
    assert (frame.loc[shown, "denominator"] >= min_n).all()


@settings(max_examples=30, deadline=None)
@given(
    partnership_tables(),
    st.integers(2, 30),
    st.one_of(st.none(), st.sampled_from([0.02, 0.05, 0.1])),
)
def test_no_withheld_value_can_be_recomputed(frame, min_n, top_bottom):
    published = suppress(frame, min_n=min_n, top_bottom=top_bottom).table
    assert recomputed(published, "numerator") == []
    assert recomputed(published, "denominator") == []
    # A hidden numerator never sits beside a visible rate and denominator (rate x n = numerator).
    hidden = published["numerator"].isna()
    assert not (hidden & published["rate"].notna() & published["denominator"].notna()).any()


def test_numerator_without_denominator_is_not_published_when_its_cohort_is_small():
    # 3 students at 50%: the cohort of 6 follows (issue 15).
    frame = table({"A": (3, 6), "B": (40, 50), "C": (80, 100)})
    frame.loc[frame["group"] == "A", "denominator"] = pd.NA
    result = suppress(frame.astype({"denominator": "Int64"}))
    row = result.table.set_index("group").loc["A"]
    assert row["suppressed"]
    assert pd.isna(row["numerator"])
    assert np.isnan(row["rate"])
    assert result.record.set_index("group").loc["A", "rule"] == "min_n"


def test_notes_say_in_words_which_group_was_withheld_and_why():
    result = suppress(table({"A": (5, 9), "B": (30, 40), "C": (80, 100)}), **COUNTS_ONLY)
    assert (
        "High school graduation for A students in 2019 was withheld because fewer than 10 "
        "students were in the group." in result.notes
    )


def test_notes_on_groups_not_reported_read_as_sentences():
    frame = table({"A": (30, 40), "B": (60, 80), NOT_REPORTED: (3, 6)})
    notes = suppress(frame, **COUNTS_ONLY).notes
    assert any(
        n.startswith(
            "High school graduation for students whose race/ethnicity was not reported in 2019 "
            "was withheld"
        )
        for n in notes
    ), notes
    assert not any("reported's" in n or "students's" in n for n in notes)


def test_defaults_are_state_practice():
    result = suppress(table({"A": (30, 40), "B": (60, 80)}))
    assert result.settings["min_n"] == 10
    assert result.settings["min_cell"] == 5
    assert result.settings["top_bottom"] == {10: 0.10, 20: 0.05, 100: 0.02, 500: 0.01}


def test_an_outcome_link_that_the_counts_contradict_adds_no_constraint():
    # The catalogue links enrollment's denominator to graduation's numerator group by group.
    # Here no pair is equal (enrollment counts another cohort: 41 vs 6, 33 vs 30, 101 vs
    # 100, 175 vs 136), so the link does not hold and withholding graduation's small group
    # A must leave enrollment untouched.
    grad = table({"A": (6, 8), "B": (30, 40), "C": (100, 120)})
    enrollment = table({"A": (20, 41), "B": (20, 33), "C": (60, 101)}).assign(
        outcome="postsecondary_enrollment"
    )
    result = suppress(pd.concat([grad, enrollment], ignore_index=True))
    published = result.table[result.table["outcome"] == "postsecondary_enrollment"]
    assert published["numerator"].notna().all()
    assert published["denominator"].notna().all()
    assert audit_disclosure(result.table).safe


def test_a_link_that_holds_protects_the_linked_cohort():
    # Same tables with enrollment counted among graduation's graduates (41 -> 30 for B):
    # B's enrollment cohort is graduation's B numerator, so when graduation codes B's count
    # as a range, enrollment B's cohort cannot stay exact.
    grad = table({"A": (6, 8), "B": (30, 40), "C": (100, 120)})
    enrollment = table({"A": (3, 6), "B": (20, 30), "C": (60, 100)}).assign(
        outcome="postsecondary_enrollment"
    )
    result = suppress(pd.concat([grad, enrollment], ignore_index=True))
    published = result.table.set_index(["outcome", "group"])
    if pd.isna(published.loc[("hs_graduation", "B"), "numerator"]):
        assert pd.isna(published.loc[("postsecondary_enrollment", "B"), "denominator"])
    assert audit_disclosure(result.table).safe


def test_a_catch_all_group_protects_before_a_named_group_of_the_same_size():
    # A's 9 students need a second hidden count in the sum; "Not reported" and B are the
    # same size (40), and the catch-all costs half (issue 15: "Not reported" before named
    # groups), so it is the one coded as a range and B stays exact.
    result = suppress(
        table({"A": (5, 9), "Not reported": (30, 40), "B": (30, 40), "C": (80, 100)}),
        **COUNTS_ONLY,
    )
    published = result.table.set_index("group")
    assert published.loc["B", "numerator"] == 30
    assert pd.isna(published.loc["Not reported", "numerator"])
    assert result.record.set_index("group").loc["Not reported", "rule"] == "complementary_range"
