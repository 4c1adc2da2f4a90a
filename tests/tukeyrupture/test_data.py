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
    data = pd.DataFrame({"id": [1, 1, 1, 2], "t": [10, 2, 9, 2], "v": [3.0, 1.0, 2.0, 9.0]})
    X, series, sessions = from_long(data, series="id", session="t", value="v")
    np.testing.assert_array_equal(sessions, [2, 9, 10])
    np.testing.assert_array_equal(X, [[1, 2, 3], [9, np.nan, np.nan]])
    # whole numbers stored as floats (a CSV column with a gap) are session numbers
    X_float, _, sessions = from_long(
        data.astype({"t": float}), series="id", session="t", value="v"
    )
    assert sessions.dtype == np.int64
    np.testing.assert_array_equal(X_float, X)
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
    _, _, filled = from_long(floats, series="id", session="session", value="score", fill_gaps=True)
    np.testing.assert_array_equal(filled, [1, 2, 3, 4])
    dates = data.assign(session=pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-02"]))
    with pytest.raises(TypeError, match="fill_gaps"):
        from_long(dates, series="id", session="session", value="score", fill_gaps=True)


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


def one_series(sessions, scores=None):
    scores = np.arange(1.0, len(sessions) + 1) if scores is None else scores
    return pd.DataFrame({"id": "a", "session": sessions, "score": scores})


def sessions_of(data, **kwargs):
    return from_long(data, series="id", session="session", value="score", **kwargs)


def test_sessions_written_as_text_are_ordered_as_numbers():
    data = one_series(pd.Series(["10", "9", "1", " 2", "1e1"][:4], dtype=object))
    X, _, sessions = sessions_of(data)
    np.testing.assert_array_equal(sessions, [1, 2, 9, 10])
    assert sessions.dtype == np.int64
    np.testing.assert_array_equal(X, [[3, 4, 2, 1]])
    duplicate = one_series(pd.Series(["1", 1.0, 2], dtype=object))
    with pytest.raises(ValueError, match=r"more than one row.*\[0, 1\]"):
        sessions_of(duplicate)


@pytest.mark.parametrize("dtype", [object, "string"])
def test_one_stray_text_entry_in_a_session_column_is_an_error(dtype):
    # as read from a CSV file: 25 numbers written as text and one "."
    text = pd.Series([str(t) for t in range(1, 27)], dtype=dtype)
    text[13] = "."
    data = one_series(text)
    copy = data.copy()
    with pytest.raises(
        ValueError,
        match=r"mixes session numbers and text: \['\.'\] in rows \[13\]",
    ):
        sessions_of(data)
    pd.testing.assert_frame_equal(data, copy)


def test_mixed_numbers_and_labels_are_an_error():
    data = one_series(pd.Series([1, 2, "S3"], dtype=object))
    with pytest.raises(ValueError, match=r"mixes.*'S3'.*rows \[2\]"):
        sessions_of(data)
    with pytest.raises(ValueError, match="mixes"):
        sessions_of(one_series(pd.Series([1, True, 3], dtype=object)))
    with pytest.raises(TypeError, match="booleans"):
        sessions_of(one_series([True, False]))


def test_labels_with_one_prefix_are_in_natural_order():
    labels = [f"S{t}" for t in range(15, 0, -1)]
    X, _, sessions = sessions_of(one_series(labels))
    assert list(sessions) == [f"S{t}" for t in range(1, 16)]
    np.testing.assert_array_equal(X[0], np.arange(15.0, 0.0, -1))
    _, _, filled = sessions_of(one_series(["Week 3", "Week 1", "Week 10"]), fill_gaps=True)
    assert list(filled) == [f"Week {t}" for t in range(1, 11)]
    _, _, padded = sessions_of(one_series(["S03", "S01"]), fill_gaps=True)
    assert list(padded) == ["S01", "S02", "S03"]


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (["S1", "S2", "intake"], r"prefix and a whole number.*'intake'.*rows \[2\]"),
        (["S1", "T2", "S3"], r"different prefixes \['S', 'T'\].*rows \[1\]"),
        (["S1", "S01"], r"\['S1', 'S01'\] both mean session 1"),
        (["S1.5", "S2"], r"'S1\.5'"),
    ],
)
def test_labels_that_cannot_be_ordered_are_an_error(labels, match):
    with pytest.raises(ValueError, match=match):
        sessions_of(one_series(labels))


@pytest.mark.parametrize("sessions", [[1.0, 1.5, 2.0], ["1", "1.5"], [1.0, np.inf], [1.0, 1e300]])
def test_fractional_or_infinite_session_numbers_are_an_error(sessions):
    data = one_series(pd.Series(sessions, dtype=object if isinstance(sessions[0], str) else float))
    with pytest.raises(ValueError, match=r"`data\['session'\]` must hold .*rows \[1\]"):
        sessions_of(data)


def test_ordered_categorical_sessions_follow_their_categories():
    order = ["intake", "middle", "end", "follow-up"]
    data = one_series(
        pd.Categorical(["end", "intake", "follow-up"], categories=order, ordered=True)
    )
    X, _, sessions = sessions_of(data)
    assert list(sessions) == ["intake", "end", "follow-up"]
    np.testing.assert_array_equal(X, [[2, 1, 3]])
    _, _, filled = sessions_of(data, fill_gaps=True)
    assert list(filled) == order


def test_fill_gaps_refuses_an_absurd_span():
    data = pd.DataFrame(
        {"id": ["a"] * 20 + ["b"], "session": [*range(1, 21), 3_000_000], "score": 1.0}
    )
    X, _, sessions = sessions_of(data)  # without fill_gaps: 21 columns
    assert X.shape == (2, 21)
    with pytest.raises(ValueError, match=r"3000000 session columns for 21 .*rows \[0, 20\]"):
        sessions_of(data, fill_gaps=True)
    as_text = data.assign(session=data["session"].astype(str).replace("3000000", "3e6"))
    with pytest.raises(ValueError, match="fill_gaps=True"):
        sessions_of(as_text, fill_gaps=True)
    # a long but dense span is fine: 1500 sessions, one in three observed
    dense = one_series(list(range(1, 1501, 3)))
    X, _, sessions = sessions_of(dense, fill_gaps=True)
    assert X.shape == (1, 1498) and sessions[0] == 1 and sessions[-1] == 1498


@pytest.mark.parametrize("fill_gaps", ["no", 1, None, "False"])
def test_fill_gaps_must_be_a_bool(fill_gaps):
    with pytest.raises(TypeError, match="`fill_gaps` must be True or False"):
        sessions_of(one_series([1, 3]), fill_gaps=fill_gaps)
    assert sessions_of(one_series([1, 3]), fill_gaps=np.True_)[2].tolist() == [1, 2, 3]


def test_value_range_rejects_implausible_scores():
    data = one_series([1, 2, 3, 4], scores=[3.0, 99.0, np.nan, 7.0])
    copy = data.copy()
    X, _, _ = sessions_of(data, value_range=(1, 99))  # bounds are inclusive, NaN allowed
    assert X[0, 1] == 99
    with pytest.raises(
        ValueError, match=r"outside `value_range` \[1, 7\]: \[99\.0\] in rows \[1\]"
    ):
        sessions_of(data, value_range=(1, 7))
    pd.testing.assert_frame_equal(data, copy)
    assert sessions_of(data, value_range=(0, np.inf))[0].shape == (1, 4)


@pytest.mark.parametrize(
    ("value_range", "error"),
    [
        ((7, 1), ValueError),
        ((1, np.nan), ValueError),
        ((1, 2, 3), TypeError),
        (7, TypeError),
        ("1-7", TypeError),
        ((True, 7), TypeError),
        (("1", "7"), TypeError),
    ],
)
def test_value_range_must_be_a_pair_of_numbers(value_range, error):
    with pytest.raises(error, match="`value_range`"):
        sessions_of(one_series([1, 2]), value_range=value_range)


def test_duplicated_and_multiindex_columns_are_named():
    data = long_frame()
    twice = pd.concat([data, data[["score"]]], axis=1)
    with pytest.raises(ValueError, match=r"duplicated column labels \['score'\]"):
        from_long(twice, series="id", session="session", value="score")
    other_twice = pd.concat([data, data[["other"]]], axis=1)  # unused: harmless
    assert from_long(other_twice, series="id", session="session", value="score")[0].shape == (3, 3)
    nested = data.copy()
    nested.columns = pd.MultiIndex.from_product([["x"], data.columns])
    with pytest.raises(ValueError, match="MultiIndex"):
        from_long(nested, series=("x", "id"), session=("x", "session"), value=("x", "score"))
    with pytest.raises(ValueError, match="three different columns"):
        from_long(data, series="id", session="id", value="score")
    with pytest.raises(TypeError, match="`value` must be a column label"):
        from_long(data, series="id", session="session", value=["score"])


@pytest.mark.parametrize("dtype", ["bool", "complex128", "datetime64[ns]"])
def test_scores_of_the_wrong_type(dtype):
    data = long_frame().assign(score=np.zeros(6).astype(dtype))
    with pytest.raises(TypeError, match=r"`data\['score'\]` must hold real-valued scores"):
        from_long(data, series="id", session="session", value="score")
    text = long_frame().astype({"score": object})
    text.loc[1, "score"] = True
    with pytest.raises(ValueError, match=r"non-numeric values \[True\] in rows \[1\]"):
        from_long(text, series="id", session="session", value="score")


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


def test_total_scores_ragged_rows():
    with pytest.raises(ValueError, match=r"same number of items.*lengths \[2, 3\]"):
        total_scores([[1, 2, 3], [1, 2]])


def test_total_scores_column_labels():
    frame = pd.DataFrame(np.ones((2, 3)), columns=["i1", "i2", "i1"])
    with pytest.raises(ValueError, match=r"duplicated column labels \['i1'\]"):
        total_scores(frame)
    frame.columns = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1)])
    with pytest.raises(ValueError, match="`items` must have one level"):
        total_scores(frame)


@pytest.mark.parametrize(
    "items",
    [
        np.array([[True, False]]),
        np.array([[1 + 1j, 2.0]]),
        np.array([[True, 2.0]], dtype=object),
        pd.DataFrame({"a": [True, False], "b": [1.0, 2.0]}),
    ],
)
def test_total_scores_rejects_booleans_and_complex(items):
    with pytest.raises(TypeError, match="`items` must hold real item scores"):
        total_scores(items)


# --- regressions of the bad-input sweep ----------------------------------------------------


def test_from_long_rejects_complex_in_object_column():
    data = pd.DataFrame(
        {"id": ["a"] * 3, "s": [1, 2, 3], "v": pd.Series([1j, 2, 3], dtype=object)}
    )
    with pytest.raises(TypeError, match=r"`data\['v'\]` must hold real-valued.*rows \[0\]"):
        from_long(data, series="id", session="s", value="v")


@pytest.mark.parametrize(
    "sessions",
    [np.array([1, 2, 2**63 + 5], dtype=np.uint64), np.array([1, 2, -(2**53) - 1])],
)
def test_from_long_rejects_huge_integer_sessions(sessions):
    data = pd.DataFrame({"id": ["a"] * 3, "s": sessions, "v": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"`data\['s'\]` .* below 2\*\*53.*rows \[2\]"):
        from_long(data, series="id", session="s", value="v")


def test_from_long_accepts_small_unsigned_sessions():
    data = pd.DataFrame(
        {"id": ["a"] * 3, "s": np.array([3, 1, 2], dtype=np.uint64), "v": [3.0, 1.0, 2.0]}
    )
    X, _, sessions = from_long(data, series="id", session="s", value="v")
    np.testing.assert_array_equal(X, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(sessions, [1, 2, 3])


def test_from_long_rejects_unhashable_series_ids():
    data = pd.DataFrame({"id": [["a"], ["a"], "b"], "s": [1, 2, 1], "v": [1.0, 2.0, 3.0]})
    with pytest.raises(TypeError, match=r"`data\['id'\]` must hold series ids.*rows \[0, 1\]"):
        from_long(data, series="id", session="s", value="v")


@pytest.mark.parametrize("value_range", [{1: 2, 3: 4}, "ab", (1, 2, 3), ("1", 2)])
def test_from_long_value_range_must_be_a_pair(value_range):
    with pytest.raises(TypeError, match="`value_range` must be None or a pair"):
        from_long(
            long_frame(), series="id", session="session", value="score", value_range=value_range
        )


def test_from_long_value_range_accepts_an_array():
    X, _, _ = from_long(
        long_frame(),
        series="id",
        session="session",
        value="score",
        value_range=np.array([0.0, 50.0]),
    )
    assert X.shape == (3, 3)


def test_total_scores_hold_at_any_finite_scale():
    np.testing.assert_array_equal(total_scores([[1e308, 1e308]], statistic="mean"), [1e308])
    np.testing.assert_array_equal(
        total_scores([[2.0**1023, 2.0**1023]], statistic="mean"), [2.0**1023]
    )
    np.testing.assert_array_equal(total_scores([[2.0**1023, 2.0**1023]]), [np.inf])
    np.testing.assert_allclose(total_scores([[1e308, -1e308, 1e308, np.nan]]), [1e308 + 1e308 / 3])
    np.testing.assert_array_equal(
        total_scores([[1e308, 1e308, np.nan]], statistic="mean"), [1e308]
    )
    assert not np.isnan(total_scores([[1e308, 1e308, np.nan]])).any()
