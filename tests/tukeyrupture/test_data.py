"""from_long and total_scores (SPEC A1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tukeyrupture import from_long, total_scores


def long_frame():
    return pd.DataFrame(
        {
            "id": ["b", "a", "a", "b", "a", "c"],
            "session": [2, 3, 1, 1, 2, 3],
            "score": [36.0, 38.0, 40.0, 35.0, np.nan, 30.0],
            "other": list("uvwxyz"),
        }
    )


# --- from_long --------------------------------------------------------------------------


def test_from_long_basic():
    data = long_frame()
    copy = data.copy()
    X, series, sessions = from_long(data, series="id", session="session", value="score")
    assert X.dtype == np.float64
    np.testing.assert_array_equal(series, ["a", "b", "c"])
    np.testing.assert_array_equal(sessions, [1, 2, 3])
    np.testing.assert_array_equal(X, [[40, np.nan, 38], [35, 36, np.nan], [np.nan, np.nan, 30]])
    pd.testing.assert_frame_equal(data, copy)


def test_from_long_orders_sessions_by_value():
    data = pd.DataFrame({"id": [1, 1, 1, 2], "t": [2.5, 0.5, 1.5, 0.5], "v": [3.0, 1.0, 2.0, 9.0]})
    X, series, sessions = from_long(data, series="id", session="t", value="v")
    np.testing.assert_array_equal(sessions, [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(X, [[1, 2, 3], [9, np.nan, np.nan]])
    dates = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01"])
    data = pd.DataFrame({"id": ["x"] * 3, "when": dates, "v": [3.0, 1.0, 2.0]})
    X, _, sessions = from_long(data, series="id", session="when", value="v")
    np.testing.assert_array_equal(X, [[1, 2, 3]])
    assert list(sessions) == sorted(dates)


def test_from_long_keeps_only_sessions_present_in_the_data():
    data = pd.DataFrame(
        {"id": ["a"] * 8, "session": list(range(10, 90, 10)), "score": [5, 6, 5, 6, 5, 2, 6, 5.0]}
    )
    X, _, sessions = from_long(data, series="id", session="session", value="score")
    assert X.shape == (1, 8)
    np.testing.assert_array_equal(sessions, list(range(10, 90, 10)))


def test_from_long_fill_gaps_is_opt_in():
    # session 3 attended by nobody: a column only with fill_gaps=True (finding F2)
    data = pd.DataFrame({"id": ["a", "a", "b"], "session": [1, 4, 2], "score": [1.0, 4.0, 2.0]})
    X, _, sessions = from_long(data, series="id", session="session", value="score")
    np.testing.assert_array_equal(sessions, [1, 2, 4])
    np.testing.assert_array_equal(X, [[1, np.nan, 4], [np.nan, 2, np.nan]])
    X, _, sessions = from_long(data, series="id", session="session", value="score", fill_gaps=True)
    np.testing.assert_array_equal(sessions, [1, 2, 3, 4])
    np.testing.assert_array_equal(X, [[1, np.nan, np.nan, 4], [np.nan, 2, np.nan, np.nan]])
    floats = data.astype({"session": float})
    with pytest.raises((TypeError, ValueError), match="fill_gaps"):
        from_long(floats, series="id", session="session", value="score", fill_gaps=True)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    table=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 10)),
        elements=st.one_of(st.integers(0, 60).map(float), st.just(np.nan)),
    ),
    drop=st.data(),
)
def test_from_long_round_trip(table, drop):
    n, m = table.shape
    long = pd.DataFrame(
        {
            "series": np.repeat([f"p{i:02d}" for i in range(n)], m),
            "session": np.tile(np.arange(1, m + 1), n),
            "score": table.reshape(-1),
        }
    )
    # drop some missing rows entirely (absent rows are missing sessions too), but keep
    # the first series complete so that every session occurs, and session 1 of every
    # series so that every series occurs
    droppable = long.index[(long.series != "p00") & (long.session != 1) & long.score.isna()]
    keep = (
        drop.draw(st.lists(st.sampled_from(list(droppable)), unique=True))
        if len(droppable)
        else []
    )
    long = long.drop(index=keep).sample(frac=1.0, random_state=0)
    X, series, sessions = from_long(long, series="series", session="session", value="score")
    np.testing.assert_array_equal(X, table)
    np.testing.assert_array_equal(sessions, np.arange(1, m + 1))
    assert list(series) == [f"p{i:02d}" for i in range(n)]


def test_from_long_errors_name_the_problem():
    data = long_frame()
    copy = data.copy()
    with pytest.raises(TypeError, match="data"):
        from_long(data.to_numpy(), series="id", session="session", value="score")
    with pytest.raises(ValueError, match="missing_col"):
        from_long(data, series="id", session="session", value="missing_col")
    with pytest.raises(ValueError, match="sess"):
        from_long(data, series="id", session="sess", value="score")
    dup = pd.concat([data, data.iloc[[1]]], ignore_index=True)
    with pytest.raises(ValueError, match=r"1.*6|duplicate|more than one"):
        from_long(dup, series="id", session="session", value="score")
    with pytest.raises(ValueError, match="6"):
        from_long(dup, series="id", session="session", value="score")
    with pytest.raises(ValueError, match="other"):
        from_long(data, series="id", session="session", value="other")
    bad = data.astype({"score": object})
    bad.loc[4, "score"] = "high"
    with pytest.raises(ValueError, match=r"score.*\[4\]"):
        from_long(bad, series="id", session="session", value="score")
    inf = data.copy()
    inf.loc[2, "score"] = np.inf
    with pytest.raises(ValueError, match=r"\[2\]"):
        from_long(inf, series="id", session="session", value="score")
    no_key = data.copy()
    no_key.loc[3, "session"] = np.nan
    with pytest.raises(ValueError, match=r"\[3\]"):
        from_long(no_key, series="id", session="session", value="score")
    pd.testing.assert_frame_equal(data, copy)


def test_from_long_numeric_strings_are_accepted():
    data = long_frame().astype({"score": object})
    data["score"] = data["score"].map(lambda v: v if np.isnan(v) else str(v))
    X, _, _ = from_long(data, series="id", session="session", value="score")
    want, _, _ = from_long(long_frame(), series="id", session="session", value="score")
    np.testing.assert_array_equal(X, want)


# --- total_scores ---------------------------------------------------------------------


def pandas_person_mean_total(frame, max_missing=None):
    """Row-wise fillna with the row mean, then sum (the study's single mean imputation)."""
    filled = frame.apply(lambda row: row.fillna(row.mean()), axis=1)
    total = filled.sum(axis=1, min_count=1)
    n_missing = frame.isna().sum(axis=1)
    total[n_missing == frame.shape[1]] = np.nan
    if max_missing is not None:
        total[n_missing > max_missing] = np.nan
    return total


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    items=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 15), st.integers(1, 8)),
        elements=st.one_of(st.integers(0, 6).map(float), st.just(np.nan)),
    ),
    max_missing=st.one_of(st.none(), st.integers(0, 8)),
)
def test_total_scores_vs_pandas_fillna(items, max_missing):
    copy = items.copy()
    got = total_scores(items, max_missing=max_missing)
    want = pandas_person_mean_total(pd.DataFrame(items), max_missing).to_numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(items, copy)
    mean = total_scores(items, max_missing=max_missing, statistic="mean")
    np.testing.assert_allclose(mean, want / items.shape[1], rtol=1e-12, atol=1e-12)
    strict = total_scores(items, impute=None)
    complete = ~np.isnan(items).any(axis=1)
    np.testing.assert_array_equal(np.isnan(strict), ~complete)
    np.testing.assert_allclose(strict[complete], items[complete].sum(axis=1))


def test_total_scores_examples():
    items = np.array([[4, 4, 3, 3], [4, np.nan, 2, 3], [np.nan, np.nan, np.nan, 1]])
    np.testing.assert_array_equal(total_scores(items), [14, 12, 4])
    np.testing.assert_array_equal(total_scores(items, max_missing=1), [14, 12, np.nan])
    np.testing.assert_array_equal(total_scores(items, max_missing=0), [14, np.nan, np.nan])
    np.testing.assert_array_equal(total_scores(items, impute=None), [14, np.nan, np.nan])
    np.testing.assert_array_equal(total_scores(items, statistic="mean"), [3.5, 3, 1])
    all_nan = np.full((2, 3), np.nan)
    assert np.isnan(total_scores(all_nan)).all()


def test_total_scores_dataframe():
    frame = pd.DataFrame(
        {"i1": [4, 4, np.nan], "i2": [4, np.nan, 1.0], "i3": [3, 2, np.nan]},
        index=pd.Index(["s1", "s2", "s3"], name="session"),
    )
    copy = frame.copy()
    out = total_scores(frame)
    assert isinstance(out, pd.Series)
    pd.testing.assert_index_equal(out.index, frame.index)
    np.testing.assert_array_equal(out.to_numpy(), [11, 9, 3])
    pd.testing.assert_series_equal(
        out, pandas_person_mean_total(frame), check_names=False, check_dtype=False
    )
    pd.testing.assert_frame_equal(frame, copy)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"impute": "median"}, ValueError, "impute"),
        ({"statistic": "max"}, ValueError, "statistic"),
        ({"max_missing": -1}, ValueError, "max_missing"),
        ({"max_missing": 1.5}, ValueError, "max_missing"),
        ({"max_missing": True}, ValueError, "max_missing"),
    ],
)
def test_total_scores_bad_parameters(kwargs, error, name):
    items = np.ones((3, 4))
    with pytest.raises(error, match=name):
        total_scores(items, **kwargs)


@pytest.mark.parametrize(
    ("items", "error"),
    [
        (np.ones(4), ValueError),
        (np.ones((2, 3, 4)), ValueError),
        (np.array([["a", "b"], ["c", "d"]]), TypeError),
        (np.array([[1.0, np.inf]]), ValueError),
        (np.array([[{"a": 1}, 2.0]], dtype=object), TypeError),
        (pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]}), TypeError),
    ],
)
def test_total_scores_bad_items(items, error):
    copy = items.copy()
    with pytest.raises(error, match="items"):
        total_scores(items)
    if isinstance(items, pd.DataFrame):
        pd.testing.assert_frame_equal(items, copy)
    else:
        np.testing.assert_array_equal(items, copy)
