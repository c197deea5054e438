"""aggregate_students: student records to canonical counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from c2c_analysis import DataValidationError, load_sample
from c2c_analysis.io import aggregate_students


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "student_id": ["a", "b", "c", "d", "e", "f"],
            "class_of": [2019, 2019, 2019, 2019, 2020, 2020],
            "graduated": [1, 0, 1, 1, True, 0],
            "race": [
                "Black/ African American",
                "White",
                None,
                "White",
                "Hispanic/Latino of any race(s)",
                "",
            ],
            "low_income": [1, 1, 0, np.nan, 0, 1],
        }
    )


def count(frame, **kwargs):
    defaults = {
        "value": "graduated",
        "time": "class_of",
        "dimensions": ["race", "low_income"],
        "partnership": "p",
        "outcome": "hs_graduation",
    }
    return aggregate_students(frame, **{**defaults, **kwargs})


def test_counts_by_hand(records):
    # Class of 2019: 4 students, 3 graduated. Black 1/1, White 1/2, Not reported 1/1.
    out = count(records).set_index(["year", "dimension", "group"])
    assert out.loc[(2019, "all", "All students"), ["numerator", "denominator"]].tolist() == [3, 4]
    assert out.loc[(2019, "race_ethnicity", "White"), ["numerator", "denominator"]].tolist() == [
        1,
        2,
    ]
    assert out.loc[(2019, "race_ethnicity", "Not reported"), "denominator"] == 1


def test_missing_demographics_become_not_reported_never_dropped(records):
    out = count(records)
    for (year, dimension), rows in out.groupby(["year", "dimension"]):
        total = out.query("year == @year and dimension == 'all'")["denominator"].iloc[0]
        assert rows["denominator"].sum() == total, (year, dimension)
    assert "Not reported" in set(out.query("dimension == 'income'")["group"])


def test_flags_become_the_vocabulary_groups_and_labels_are_mapped(records):
    groups = set(count(records)["group"])
    assert {"Low income", "Not low income", "Black", "Hispanic/Latino"} <= groups


def test_groups_follow_the_vocabulary_order(records):
    race = count(records).query("year == 2019 and dimension == 'race_ethnicity'")["group"].tolist()
    assert race == ["Black", "White", "Not reported"]


def test_duplicate_student_in_a_period_is_an_error_naming_both_rows(records):
    frame = records.copy()
    frame.loc[3, "student_id"] = "a"
    with pytest.raises(DataValidationError, match="more than once") as caught:
        count(frame)
    assert caught.value.problems["row"].tolist() == [0, 3]


def test_same_student_in_two_periods_is_fine(records):
    frame = records.copy()
    frame.loc[4, "student_id"] = "a"
    assert len(count(frame)) > 0


def test_unknown_outcome_values_are_errors(records):
    frame = records.astype({"graduated": object})
    frame.loc[2, "graduated"] = None
    frame.loc[5, "graduated"] = "maybe"
    with pytest.raises(DataValidationError) as caught:
        count(frame)
    assert caught.value.problems["row"].tolist() == [2, 5]


def test_missing_columns_are_listed(records):
    with pytest.raises(DataValidationError, match="required column is missing") as caught:
        count(records, dimensions=["race", "gender"])
    assert caught.value.problems["column"].tolist() == ["gender"]


def test_partnership_column_splits_the_counts(records):
    frame = records.assign(partnership=["x", "x", "y", "y", "x", "y"])
    out = aggregate_students(
        frame, value="graduated", time="class_of", dimensions=["race"], outcome="hs_graduation"
    )
    assert sorted(out["partnership"].unique()) == ["x", "y"]


def test_sample_students_reproduce_the_sample_graduation_rows():
    students = load_sample("students")
    counts = aggregate_students(
        students,
        value="graduated",
        time="class_of",
        outcome="hs_graduation",
        dimensions=["race_ethnicity", "low_income", "gender", "disability", "english_learner"],
    )
    rows = load_sample("outcomes").query("partnership == 'tacoma' and outcome == 'hs_graduation'")
    keys = ["partnership", "outcome", "year", "dimension", "group"]
    merged = counts.merge(rows, on=keys, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert (merged["numerator_x"] == merged["numerator_y"]).all()
    assert (merged["denominator_x"] == merged["denominator_y"]).all()


def test_input_is_not_modified(records):
    before = records.copy()
    count(records)
    pd.testing.assert_frame_equal(records, before)


# --- renamed parameters (issue 19) ---------------------------------------------------------


def test_old_outcome_column_and_outcome_id_still_work_with_a_warning(records):
    with pytest.warns(DeprecationWarning, match="is deprecated") as caught:
        old = aggregate_students(
            records,
            outcome="graduated",
            time="class_of",
            dimensions=["race", "low_income"],
            partnership="p",
            outcome_id="hs_graduation",
        )
    messages = [str(w.message) for w in caught]
    assert any("outcome= as the column" in m and "use value=" in m for m in messages)
    assert any("outcome_id= is deprecated" in m and "use outcome=" in m for m in messages)
    pd.testing.assert_frame_equal(old, count(records))


def test_old_outcome_column_alone_is_read_as_the_column_with_a_warning(records):
    # outcome= names a column and value= is not given: the old usage, never a silent swap.
    frame = records.rename(columns={"graduated": "hs_graduation"})
    with pytest.warns(DeprecationWarning, match="outcome= as the column"):
        old = count(frame, value=None, outcome="hs_graduation")
    pd.testing.assert_frame_equal(old, count(frame, value="hs_graduation", outcome=None))
    pd.testing.assert_frame_equal(old, count(records))


def test_outcome_that_is_no_column_without_value_is_an_error(records):
    with pytest.raises(TypeError, match="value"):
        count(records, value=None, outcome="hs_graduation")


def test_new_outcome_is_the_id_even_when_a_column_has_that_name(records):
    frame = records.assign(hs_graduation=1)
    out = count(frame, outcome="hs_graduation")
    assert (out["outcome"] == "hs_graduation").all()
    pd.testing.assert_frame_equal(out, count(records))


def test_old_name_by_still_works_with_a_warning(records):
    with pytest.warns(DeprecationWarning, match="by= is deprecated"):
        old = count(records, dimensions=None, by=["race", "low_income"])
    pd.testing.assert_frame_equal(old, count(records))


# --- Dask DataFrames in (issue 18 item 3) ------------------------------------------------------

SAMPLE_OPTIONS = {
    "value": "graduated",
    "time": "class_of",
    "outcome": "hs_graduation",
    "dimensions": ["race_ethnicity", "low_income", "gender", "disability", "english_learner"],
}


@pytest.fixture(scope="module")
def dask_client():
    """Two in-process workers with one thread each, as CI runs them (the machine has 2 cores)."""
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_frame_gives_the_same_table_as_pandas(dask_client):
    import dask.dataframe as dd

    students = load_sample("students")
    expected = aggregate_students(students, **SAMPLE_OPTIONS)
    lazy = dd.from_pandas(students.sample(frac=1, random_state=2), npartitions=4)
    pd.testing.assert_frame_equal(aggregate_students(lazy, **SAMPLE_OPTIONS), expected)


def test_parquet_dataset_partitioned_by_year_gives_the_same_table_as_pandas(dask_client, tmp_path):
    import dask.dataframe as dd

    students = load_sample("students")
    students.to_parquet(tmp_path / "students", partition_cols=["class_of"])
    lazy = dd.read_parquet(tmp_path / "students")  # class_of comes back as categories
    assert lazy.npartitions > 1
    expected = aggregate_students(students, **SAMPLE_OPTIONS)
    pd.testing.assert_frame_equal(aggregate_students(lazy, **SAMPLE_OPTIONS), expected)


def test_dask_aggregation_is_a_tree_of_partial_counts_without_a_shuffle(dask_client):
    import dask.dataframe as dd

    from c2c_analysis.io.students import _dask_counts

    lazy = dd.from_pandas(load_sample("students"), npartitions=3)
    options = {
        "value": "graduated", "time": "class_of", "partnership": None,
        "id_column": "student_id",
        "dimensions": {"race_ethnicity": "race_ethnicity", "low_income": "income"},
    }  # fmt: skip
    summed = _dask_counts(lazy, np.dtype("int64"), **options)
    names = {str(key[0] if isinstance(key, tuple) else key) for key in dict(summed.dask)}
    assert not any("shuffle" in name for name in names)
    # One partial count per partition, then the combine: the counts come back small.
    assert summed.npartitions == 1
    assert len(summed.compute()) < len(load_sample("students")) / 100


def test_dask_frame_errors_like_pandas(dask_client):
    import dask.dataframe as dd

    frame = load_sample("students").head(50).copy()
    frame.loc[frame.index[7], "graduated"] = 2
    with pytest.raises(DataValidationError, match="outcome must be 1/0"):
        aggregate_students(dd.from_pandas(frame, npartitions=2), **SAMPLE_OPTIONS)
    with pytest.raises(DataValidationError, match="required column is missing"):
        aggregate_students(
            dd.from_pandas(frame.drop(columns="gender"), npartitions=2), **SAMPLE_OPTIONS
        )
