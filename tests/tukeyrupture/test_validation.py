"""Bad input (SPEC A5, issue 2): each raises ValueError/TypeError naming the argument,
and no input is ever modified."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from tukeyrupture import TukeyRuptureDetector
from tukeyrupture.comparison.partitioning import RupturesDetector
from tukeyrupture.comparison.rivals import (
    AbsoluteDropDetector,
    ReliableChangeDetector,
    ShewhartDetector,
)
from tukeyrupture.plotting import plot_control_chart

METHODS = ("predict", "decision_function", "transform", "detect")


@pytest.fixture
def X(rng):
    X = rng.integers(10, 40, size=(30, 12)).astype(float)
    X[rng.random(X.shape) < 0.1] = np.nan
    return X


@pytest.fixture
def fitted(X):
    return TukeyRuptureDetector().fit(X)


def bad_arrays(X):
    with_inf = X.copy()
    with_inf[3, 4] = np.inf
    with_neg_inf = X.copy()
    with_neg_inf[0, 0] = -np.inf
    return {
        "1-D": (X[0].copy(), ValueError, r"2-?D"),
        "3-D": (X[None].copy(), ValueError, r"dim 3|3-?D|2-?D"),
        "strings": (X.astype(str), TypeError, r"numeric"),
        "object with dicts": (
            np.array([[{"a": 1}, {"b": 2}, 3.0]] * 2, dtype=object),
            TypeError,
            r"numeric",
        ),
        "inf": (with_inf, ValueError, r"infinity"),
        "-inf": (with_neg_inf, ValueError, r"infinity"),
        "complex": (X + 1j, (ValueError, TypeError), r"[Cc]omplex"),
        "no series": (X[:0].copy(), ValueError, r"0 sample"),
        "no sessions": (X[:, :0].copy(), ValueError, r"0 feature"),
    }


CASES = list(bad_arrays(np.ones((5, 12))))


def assert_names_X(error):
    message = str(error.value)
    assert re.search(r"\bX\b", message), message


@pytest.mark.parametrize("case", CASES)
def test_bad_X_at_fit(X, case):
    bad, error, pattern = bad_arrays(X)[case]
    copy = bad.copy()
    with pytest.raises(error, match=pattern) as caught:
        TukeyRuptureDetector().fit(bad)
    assert_names_X(caught)
    np.testing.assert_array_equal(bad, copy)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES)
def test_bad_X_after_fit(fitted, X, case, method):
    bad, error, pattern = bad_arrays(X)[case]
    copy = bad.copy()
    with pytest.raises(error, match=pattern) as caught:
        getattr(fitted, method)(bad)
    assert_names_X(caught)
    np.testing.assert_array_equal(bad, copy)


def test_single_session_message_has_feature_wording(X):
    with pytest.raises(ValueError, match=r"1 feature\(s\)") as caught:
        TukeyRuptureDetector().fit(X[:, :1])
    assert_names_X(caught)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_sessions", [1, 5, 11, 13])
def test_different_number_of_sessions_at_predict(fitted, X, method, n_sessions):
    other = np.ones((4, n_sessions))
    with pytest.raises(ValueError, match=r"12") as caught:
        getattr(fitted, method)(other)
    assert_names_X(caught)
    assert str(n_sessions) in str(caught.value)


def test_non_numeric_dataframe(X):
    frame = pd.DataFrame(X, columns=[f"s{t}" for t in range(12)])
    frame["s3"] = frame["s3"].astype(str)
    copy = frame.copy()
    with pytest.raises(TypeError, match=r"s3") as caught:
        TukeyRuptureDetector().fit(frame)
    assert_names_X(caught)
    pd.testing.assert_frame_equal(frame, copy)


def test_dataframe_with_other_column_names_at_predict(X):
    columns = [f"s{t}" for t in range(12)]
    detector = TukeyRuptureDetector().fit(pd.DataFrame(X, columns=columns))
    with pytest.raises(ValueError, match="feature names"):
        detector.predict(pd.DataFrame(X, columns=[f"t{t}" for t in range(12)]))


BAD_PARAMETERS = [
    ("iqr_multiplier", -1.0),
    ("iqr_multiplier", -1e-9),
    ("iqr_multiplier", np.nan),
    ("iqr_multiplier", np.inf),
    ("iqr_multiplier", "1.0"),
    ("iqr_multiplier", None),
    ("absolute_sd_multiplier", -2.0),
    ("absolute_sd_multiplier", np.nan),
    ("absolute_sd_multiplier", np.inf),
    ("absolute_sd_multiplier", "2"),
    ("pooled_sd", -0.5),
    ("pooled_sd", np.nan),
    ("pooled_sd", np.inf),
    ("pooled_sd", -np.inf),
    ("pooled_sd", "pooled"),
    ("min_consecutive", -1),
    ("min_consecutive", 0),
    ("min_consecutive", 7.5),
    ("min_consecutive", 7.0),
    ("min_consecutive", np.nan),
    ("min_consecutive", np.inf),
    ("min_consecutive", "7"),
    ("min_consecutive", None),
    ("quartile_method", "tukeys"),
    ("quartile_method", "Linear"),
    ("quartile_method", None),
    ("quartile_method", 3),
    ("lower_half", "both"),
    ("lower_half", None),
    ("iqr_multiplier", True),
    ("absolute_sd_multiplier", True),
    ("pooled_sd", True),
    ("pooled_sd", False),
    ("min_consecutive", True),
]


@pytest.mark.parametrize(("name", "value"), BAD_PARAMETERS)
def test_bad_parameter_raises_naming_it(X, name, value):
    copy = X.copy()
    detector = TukeyRuptureDetector(**{name: value})  # __init__ does not validate
    assert detector.get_params()[name] is value
    with pytest.raises((ValueError, TypeError), match=name):
        detector.fit(X)
    np.testing.assert_array_equal(X, copy)
    assert not hasattr(detector, "pooled_sd_")


@pytest.mark.parametrize("name", ["iqr_multiplier", "absolute_sd_multiplier", "pooled_sd"])
def test_numeric_parameters_accept_numpy_scalars_and_ints(X, name):
    """numpy scalars and ints give exactly the results of the same plain float."""
    for value in (np.float64(1.5), np.float32(2.0), 3):
        want = TukeyRuptureDetector(**{name: float(value)}).fit(X)
        detector = TukeyRuptureDetector(**{name: value}).fit(X)
        np.testing.assert_array_equal(detector.predict(X), want.predict(X))
        np.testing.assert_array_equal(detector.decision_function(X), want.decision_function(X))
        assert detector.pooled_sd_ == want.pooled_sd_ or np.isnan(want.pooled_sd_)


def test_min_consecutive_accepts_numpy_integers(X):
    detector = TukeyRuptureDetector(min_consecutive=np.int64(3)).fit(X)
    want = TukeyRuptureDetector(min_consecutive=3).fit(X)
    np.testing.assert_array_equal(detector.predict(X), want.predict(X))


def test_bad_parameter_set_after_fit_raises_on_refit(X):
    detector = TukeyRuptureDetector().fit(X)
    detector.set_params(iqr_multiplier=-1.0)
    with pytest.raises(ValueError, match="iqr_multiplier"):
        detector.fit(X)


def test_all_nan_and_constant_rows_are_valid(X):
    Y = X.copy()
    Y[0] = np.nan
    Y[1] = 25.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detector = TukeyRuptureDetector().fit(Y)
        labels = detector.predict(Y)
    assert not labels[:2].any()
    result = detector.detect(Y)
    assert not result.eligible[0] and result.eligible[1]
    assert np.isnan(result.median[0]) and result.iqr[1] == 0


def test_all_nan_array_is_valid_input():
    Y = np.full((4, 9), np.nan)
    with pytest.warns(UserWarning, match="pooled_sd"):
        detector = TukeyRuptureDetector().fit(Y)
    assert not detector.predict(Y).any()
    assert (detector.decision_function(Y) == -np.inf).all()
    assert detector.detect(Y).to_frame().empty


# --- inputs are never modified --------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [{}, {"pooled_sd": "total", "quartile_method": "linear"}, {"absolute_sd_multiplier": None}],
)
def test_numpy_inputs_unmodified(X, params):
    inputs = {
        "float64": X,
        "float32": X.astype(np.float32),
        "fortran": np.asfortranarray(X),
        "integer": np.nan_to_num(X).astype(np.int64),
        "view": np.hstack([X, X])[:, ::2],
    }
    for label, array in inputs.items():
        copy = array.copy()
        detector = TukeyRuptureDetector(**params).fit(array)
        for method in METHODS:
            getattr(detector, method)(array)
        detector.detect(array).to_frame()
        np.testing.assert_array_equal(array, copy, err_msg=label)
        assert array.dtype == copy.dtype


def test_read_only_input_is_accepted(X):
    """A read-only array gives the results of a writeable copy and stays read-only."""
    frozen = X.copy()
    frozen.flags.writeable = False
    detector = TukeyRuptureDetector().fit(frozen)
    want = TukeyRuptureDetector().fit(X.copy())
    assert detector.pooled_sd_ == pytest.approx(want.pooled_sd_, rel=1e-12)
    for method in METHODS[:3]:
        np.testing.assert_array_equal(getattr(detector, method)(frozen), getattr(want, method)(X))
    pd.testing.assert_frame_equal(detector.detect(frozen).to_frame(), want.detect(X).to_frame())
    assert not frozen.flags.writeable
    np.testing.assert_array_equal(frozen, X)


def test_dataframe_inputs_unmodified(X):
    frame = pd.DataFrame(
        X, index=[f"p{i}" for i in range(X.shape[0])], columns=[f"s{t}" for t in range(12)]
    )
    nullable = frame.astype("Float64")
    for data in (frame, nullable):
        copy = data.copy()
        detector = TukeyRuptureDetector().fit(data)
        for method in METHODS:
            getattr(detector, method)(data)
        detector.set_output(transform="pandas").transform(data)
        detector.detect(data).to_frame()
        pd.testing.assert_frame_equal(data, copy)


def test_list_input_unmodified(X):
    rows = [[float(v) for v in row] for row in X]
    copy = [list(row) for row in rows]
    detector = TukeyRuptureDetector().fit(rows)
    for method in METHODS:
        getattr(detector, method)(rows)
    assert [[np.isnan(v) or v for v in r] for r in rows] == [
        [np.isnan(v) or v for v in r] for r in copy
    ]


def test_dask_input_unmodified(X):
    da = pytest.importorskip("dask.array")
    copy = X.copy()
    dX = da.from_array(X, chunks=(7, 12))
    detector = TukeyRuptureDetector().fit(dX)
    for method in ("predict", "decision_function", "transform"):
        getattr(detector, method)(dX).compute()
    detector.detect(dX)
    np.testing.assert_array_equal(X, copy)


def test_empty_dask_array_raises_like_numpy(X):
    """Finding F7 (fixed)."""
    da = pytest.importorskip("dask.array")
    with pytest.raises(ValueError, match="0 sample"):
        TukeyRuptureDetector().fit(da.from_array(X[:0], chunks=(10, 12)))


def test_one_dimensional_message_gives_one_hint(X):
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)") as caught:
        TukeyRuptureDetector().fit(X[0])
    assert "reshape(-1, 1)" not in str(caught.value)  # finding F6 (fixed)


# --- issue 8: non-real inputs are refused before scikit-learn converts them -----------

DETECTORS = [
    TukeyRuptureDetector(),
    AbsoluteDropDetector(),
    ShewhartDetector(),
    ReliableChangeDetector(),
    RupturesDetector(penalty=5.0),
]


def non_real_arrays(X):
    """Arrays whose dtype scikit-learn would silently turn into floats, and the dtype word
    the message must contain."""
    filled = np.nan_to_num(X, nan=20.0)
    days = filled.astype(np.int64)
    return {
        "complex": (X + 1j, r"[Cc]omplex"),
        "complex, zero imaginary part": (X.astype(complex), r"[Cc]omplex"),
        "boolean": (filled > 25, r"boolean"),
        "datetime": (days.astype("datetime64[D]"), r"datetime"),
        "timedelta": (days.astype("timedelta64[D]"), r"timedelta"),
        "object strings": (filled.astype(str).astype(object), r"str"),
        "object booleans": ((filled > 25).astype(object), r"bool"),
        "object complex": ((X + 1j).astype(object), r"[Cc]omplex"),
        "bytes": (filled.astype("S8"), r"bytes"),
    }


NON_REAL = list(non_real_arrays(np.ones((2, 3))))


@pytest.mark.parametrize("case", NON_REAL)
@pytest.mark.parametrize("detector", DETECTORS, ids=lambda d: type(d).__name__)
def test_non_real_arrays_are_type_errors_at_fit(X, detector, case):
    if isinstance(detector, RupturesDetector):
        pytest.importorskip("ruptures")
    bad, word = non_real_arrays(X)[case]
    copy = bad.copy()
    with pytest.raises(TypeError, match=word) as caught:
        detector.fit(bad)
    assert_names_X(caught)
    assert_unchanged(bad, copy)


def assert_unchanged(array, copy):
    assert array.dtype == copy.dtype
    if array.dtype.kind == "O":  # the copy holds the same objects, NaN included
        assert all(a is b for a, b in zip(array.flat, copy.flat))
    else:
        assert np.array_equal(array, copy, equal_nan=array.dtype.kind in "fc")


@pytest.mark.parametrize("case", NON_REAL)
@pytest.mark.parametrize("method", ["predict", "decision_function"])
@pytest.mark.parametrize(
    "detector",
    [d for d in DETECTORS if hasattr(d, "decision_function")],
    ids=lambda d: type(d).__name__,
)
def test_non_real_arrays_are_type_errors_after_fit(X, detector, method, case):
    bad, word = non_real_arrays(X)[case]
    fitted_detector = detector.fit(X)
    with pytest.raises(TypeError, match=word) as caught:
        getattr(fitted_detector, method)(bad)
    assert_names_X(caught)


@pytest.mark.parametrize("case", NON_REAL)
def test_non_real_arrays_are_type_errors_for_every_tukey_method(fitted, X, case):
    bad, word = non_real_arrays(X)[case]
    for method in METHODS:
        with pytest.raises(TypeError, match=word):
            getattr(fitted, method)(bad)


def test_complex_error_is_also_the_value_error_sklearn_checks_expect(X):
    with pytest.raises(ValueError, match="Complex data not supported"):
        TukeyRuptureDetector().fit(X + 1j)


def test_object_array_of_numbers_with_none_is_accepted(X):
    values = X.astype(object)
    values[np.isnan(X)] = None
    copy = values.copy()
    detector = TukeyRuptureDetector().fit(values)
    want = TukeyRuptureDetector().fit(X)
    assert detector.pooled_sd_ == want.pooled_sd_
    np.testing.assert_array_equal(detector.predict(values), want.predict(X))
    assert all(a is b for a, b in zip(values.flat, copy.flat))  # unmodified


@pytest.mark.parametrize(
    ("column", "word"),
    [
        (lambda v: v > 25, r"bool"),
        (lambda v: pd.array(v > 25, dtype="boolean"), r"boolean"),
        (lambda v: v + 1j, r"[Cc]omplex"),
        (lambda v: pd.to_datetime(np.nan_to_num(v), unit="D"), r"datetime"),
        (lambda v: pd.to_timedelta(np.nan_to_num(v), unit="D"), r"timedelta"),
        (lambda v: pd.Categorical(np.nan_to_num(v)), r"category"),
        (lambda v: v.astype(str), r"object|str"),
    ],
    ids=["bool", "nullable boolean", "complex", "datetime", "timedelta", "category", "text"],
)
def test_dataframe_with_a_non_real_column(X, column, word):
    frame = pd.DataFrame(X, columns=[f"s{t}" for t in range(12)])
    frame["s5"] = column(X[:, 5])
    copy = frame.copy()
    for detector in (TukeyRuptureDetector(), ShewhartDetector()):
        with pytest.raises(TypeError, match=word) as caught:
            detector.fit(frame)
        assert_names_X(caught)
        assert "s5" in str(caught.value)
    pd.testing.assert_frame_equal(frame, copy)


@pytest.mark.parametrize("case", ["complex", "boolean", "datetime", "timedelta"])
def test_dask_arrays_are_checked_lazily_by_dtype(X, case):
    da = pytest.importorskip("dask.array")
    bad, word = non_real_arrays(X)[case]
    lazy = da.from_array(bad, chunks=(7, 12))
    with pytest.raises(TypeError, match=word) as caught:
        TukeyRuptureDetector().fit(lazy)
    assert_names_X(caught)
    detector = TukeyRuptureDetector().fit(X)
    for method in ("predict", "decision_function", "transform", "detect"):
        with pytest.raises(TypeError, match=word):
            getattr(detector, method)(lazy)


@pytest.mark.parametrize("case", NON_REAL)
def test_plot_control_chart_refuses_non_real_x(X, case):
    bad, word = non_real_arrays(X)[case]
    result = TukeyRuptureDetector().fit(X).detect(X)
    with pytest.raises(TypeError, match=word) as caught:
        plot_control_chart(bad, result)
    assert re.search(r"`x`", str(caught.value))


def test_ragged_list_is_a_value_error_naming_X():
    ragged = [[1.0, 2.0, 3.0], [1.0, 2.0]]
    for detector in (TukeyRuptureDetector(), ShewhartDetector()):
        with pytest.raises(ValueError) as caught:
            detector.fit(ragged)
        assert_names_X(caught)


WRONG_TYPES = [
    (TukeyRuptureDetector, "quartile_method", 3),
    (TukeyRuptureDetector, "quartile_method", True),
    (TukeyRuptureDetector, "lower_half", True),
    (TukeyRuptureDetector, "lower_half", ["inclusive"]),
    (TukeyRuptureDetector, "pooled_sd", b"within"),
    (AbsoluteDropDetector, "sd_multiplier", True),
    (AbsoluteDropDetector, "pooled_sd", True),
    (AbsoluteDropDetector, "min_consecutive", True),
    (AbsoluteDropDetector, "sd_multiplier", "2"),
    (ShewhartDetector, "n_sigma", True),
    (ShewhartDetector, "n_sigma", "3"),
    (ReliableChangeDetector, "reliability", False),
    (ReliableChangeDetector, "sd", True),
    (ReliableChangeDetector, "critical", "1.96"),
    (RupturesDetector, "algorithm", 1),
    (RupturesDetector, "model", None),
    (RupturesDetector, "min_size", True),
    (RupturesDetector, "width", True),
    (RupturesDetector, "jump", True),
    (RupturesDetector, "penalty", True),
]


@pytest.mark.parametrize(("cls", "name", "value"), WRONG_TYPES)
def test_wrongly_typed_parameters_are_type_errors_naming_them(X, cls, name, value):
    if cls is RupturesDetector:
        pytest.importorskip("ruptures")
    with pytest.raises(TypeError, match=name):
        cls(**{name: value}).fit(X)


DETECTORS = (TukeyRuptureDetector, ShewhartDetector, ReliableChangeDetector, AbsoluteDropDetector)


@pytest.mark.parametrize("cls", DETECTORS)
def test_numeric_session_columns_out_of_order_are_refused(X, cls):
    frame = pd.DataFrame(X, columns=range(1, 13))[[1, 2, 3, 4, 5, 6, 8, 7, 9, 10, 11, 12]]
    with pytest.raises(ValueError, match=r"`X`.*strictly increasing.*sort_index"):
        cls().fit(frame)


@pytest.mark.parametrize("cls", DETECTORS)
def test_numeric_session_columns_must_match_fit(X, cls):
    frame = pd.DataFrame(X, columns=range(1, 13))
    detector = cls().fit(frame)
    methods = [m for m in METHODS if hasattr(detector, m)]
    for changed in (frame[frame.columns[::-1]], frame.rename(columns=lambda c: c + 1)):
        for method in methods:
            with pytest.raises(ValueError, match=r"`X`"):
                getattr(detector, method)(changed)
    detector.predict(frame)  # the same labels are accepted
    detector.predict(X)


@pytest.mark.parametrize(
    ("cls", "name", "value"),
    [
        (TukeyRuptureDetector, "iqr_multiplier", -1),
        (TukeyRuptureDetector, "quartile_method", "foo"),
        (TukeyRuptureDetector, "min_consecutive", 0),
        (ShewhartDetector, "n_sigma", -1.0),
        (ReliableChangeDetector, "reliability", 2.0),
    ],
)
def test_parameters_set_after_fit_are_validated_again(X, cls, name, value):
    detector = cls().fit(X).set_params(**{name: value})
    for method in (m for m in METHODS if hasattr(detector, m)):
        with pytest.raises(ValueError, match=name):
            getattr(detector, method)(X)


def test_infinite_parameter_set_after_fit_is_refused(X):
    detector = TukeyRuptureDetector().fit(X).set_params(iqr_multiplier=float("inf"))
    with pytest.raises(ValueError, match="iqr_multiplier"):
        detector.predict(X)
