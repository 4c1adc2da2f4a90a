"""TukeyRuptureDetector: the estimator API, pandas and dask input, sklearn checks."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.tukeyrupture import oracle
from tests.tukeyrupture.strategies import full_params, random_series
from tukeyrupture import RuptureLabel, RuptureResult, TukeyRuptureDetector
from tukeyrupture.comparison.simulate import simulate_alliance

FEATURES = [
    "n_ruptures",
    "n_repaired",
    "n_unrepaired",
    "n_unresolved",
    "has_rupture",
    "first_rupture_session",
    "eligible",
]
FRAME_COLUMNS = [
    "series",
    "pre_session",
    "central_session",
    "post_session",
    "repair",
    "criterion",
    "drop",
    "score",
]
REPAIR_NAMES = {1: "repaired", 2: "unrepaired", 3: "unresolved"}


@pytest.fixture
def X(rng):
    X = random_series(rng, 300, 12, integer=True, max_nan=0.2)
    X[0] = np.nan
    X[1] = 30.0
    X[2, ::2] = np.nan  # ineligible: no run of 2
    return X


def oracle_for(X, params=None):
    params = full_params(params or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = oracle.fitted_pooled_sd(X, params)
    return s, oracle.detect_loop(X, params, s)


@parametrize_with_checks(
    [
        TukeyRuptureDetector(),
        TukeyRuptureDetector(absolute_sd_multiplier=None, quartile_method="linear"),
        TukeyRuptureDetector(pooled_sd="total", lower_half="exclusive", min_consecutive=2),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_fit_predict_decision_transform_match_oracle(X):
    detector = TukeyRuptureDetector()
    assert detector.fit(X) is detector
    s, want = oracle_for(X)
    assert detector.pooled_sd_ == pytest.approx(s, rel=1e-12)
    assert detector.n_features_in_ == 12
    labels = detector.predict(X)
    assert labels.dtype == np.int8 and labels.shape == X.shape
    np.testing.assert_array_equal(labels, want["labels"])
    assert want["labels"].any()  # the fixture holds ruptures
    score = detector.decision_function(X)
    assert score.dtype == np.float64 and score.shape == X.shape
    np.testing.assert_array_equal(score, want["score"])
    features = detector.transform(X)
    assert features.shape == (X.shape[0], 7)
    np.testing.assert_array_equal(features, oracle.features_loop(want["labels"], want["eligible"]))
    np.testing.assert_array_equal(detector.fit_transform(X), features)
    assert list(detector.get_feature_names_out()) == FEATURES


def test_labels_are_rupture_label_codes():
    """predict's codes, RuptureLabel and to_frame's repair names tell the same story."""
    X = np.array(
        [
            [40, 41, 40, 42, 34, 41, 40, 41, 42, 40.0],  # repaired at position 4
            [38, 39, 38, 37, 39, 38, 30, 31, 38, 39.0],  # unrepaired at 6
            [38, 39, 38, 37, 39, 38, 39, 38, 39, 30.0],  # unresolved at 9 (last session)
        ]
    )
    detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X)
    labels = detector.predict(X)
    rows, sessions = np.nonzero(labels)
    assert list(zip(rows, sessions)) == [(0, 4), (1, 6), (2, 9)]
    assert [RuptureLabel(code) for code in labels[rows, sessions]] == [
        RuptureLabel.REPAIRED,
        RuptureLabel.UNREPAIRED,
        RuptureLabel.UNRESOLVED,
    ]
    frame = detector.detect(X).to_frame()
    names = [RuptureLabel(code).name.lower() for code in labels[rows, sessions]]
    assert frame["repair"].tolist() == names


def test_known_series_end_to_end():
    # sorted 2 5 5 5 5 6 6 6 6 6: Q1 = LHM = 5, Q3 = 6, LCL 4 (k = 1); session 6 (1-based)
    x = np.array([[5, 6, 6, 5, 6, 2, 6, 5, 6, 5.0]])
    detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(x)
    assert math.isnan(detector.pooled_sd_)
    np.testing.assert_array_equal(detector.predict(x), [[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]])
    result = detector.detect(x)
    assert result.q1[0] == 5 and result.q3[0] == 6 and result.iqr[0] == 1
    assert result.lower_control_limit[0] == 4 and result.upper_control_limit[0] == 7
    assert result.lower_half_median[0] == 5 and result.median[0] == 5.5
    frame = result.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS
    row = frame.iloc[0]
    assert (row.series, row.pre_session, row.central_session, row.post_session) == (0, 5, 6, 7)
    assert (row["repair"], row["criterion"], row["drop"], row["score"]) == (
        "repaired",
        "tcc",
        4.0,
        3.0,
    )
    # transform: 1-based first rupture session
    np.testing.assert_array_equal(detector.transform(x), [[1, 1, 0, 0, 1, 6, 1]])


def test_absolute_criterion_with_fixed_pooled_sd():
    x = np.array([[10, 11, 10, 11, 10, 11, 7, 10.0]])
    detector = TukeyRuptureDetector(iqr_multiplier=100.0, pooled_sd=2.01).fit(x)
    assert detector.pooled_sd_ == 2.01
    result = detector.detect(x)
    np.testing.assert_array_equal(result.absolute[0], [0, 0, 0, 0, 0, 0, 0, 0])
    detector = TukeyRuptureDetector(iqr_multiplier=100.0, pooled_sd=1.5).fit(x)
    result = detector.detect(x)
    np.testing.assert_array_equal(result.absolute[0], [0, 0, 0, 0, 0, 0, 1, 0])
    assert not result.tcc.any()
    frame = result.to_frame()
    assert list(frame.criterion) == ["absolute"]
    assert list(frame.repair) == ["repaired"]  # 10 >= LHM 10


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"pooled_sd": "total", "lower_half": "exclusive", "min_consecutive": 4},
        {"quartile_method": "linear", "iqr_multiplier": 0.5, "pooled_sd": 1.0},
        {"absolute_sd_multiplier": None, "iqr_multiplier": 0.0},
    ],
)
def test_detect_and_to_frame_match_oracle(X, params):
    detector = TukeyRuptureDetector(**params).fit(X)
    s, want = oracle_for(X, params)
    result = detector.detect(X)
    assert isinstance(result, RuptureResult)
    np.testing.assert_array_equal(result.labels, want["labels"])
    np.testing.assert_array_equal(result.tcc, want["tcc"])
    np.testing.assert_array_equal(result.absolute, want["absolute"])
    np.testing.assert_array_equal(result.eligible, want["eligible"])
    np.testing.assert_array_equal(result.score, want["score"])
    for name in oracle.STAT_NAMES:
        np.testing.assert_array_equal(getattr(result, name), want[name], err_msg=name)
    np.testing.assert_array_equal(result.drop[:, 1:], X[:, :-1] - X[:, 1:])
    assert result.n_series == X.shape[0]
    assert result.n_eligible == want["eligible"].sum()
    assert result.n_ruptures == np.count_nonzero(want["labels"])
    frame = result.to_frame()
    assert list(frame.columns) == FRAME_COLUMNS
    rows, cols = np.nonzero(want["labels"])
    assert len(frame) == len(rows)
    np.testing.assert_array_equal(frame.series.to_numpy(), rows)
    np.testing.assert_array_equal(frame.central_session.to_numpy(), cols + 1)
    np.testing.assert_array_equal(frame.pre_session.to_numpy(), cols)
    post = frame.post_session.to_numpy(dtype=float, na_value=np.nan)
    np.testing.assert_array_equal(post, np.where(cols + 1 < X.shape[1], cols + 2, np.nan))
    assert list(frame.repair) == [REPAIR_NAMES[v] for v in want["labels"][rows, cols]]
    tcc, absolute = want["tcc"][rows, cols], want["absolute"][rows, cols]
    criterion = np.where(tcc & absolute, "both", np.where(tcc, "tcc", "absolute"))
    assert list(frame.criterion) == list(criterion)
    np.testing.assert_array_equal(frame["drop"].to_numpy(), X[rows, cols - 1] - X[rows, cols])
    np.testing.assert_array_equal(frame.score.to_numpy(), want["score"][rows, cols])


def test_result_is_frozen_and_read_only(X):
    result = TukeyRuptureDetector().fit(X).detect(X)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.labels = None
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable, field.name
    assert "n_series=300" in repr(result)


def test_dataframe_input_labels_carried_into_to_frame(X):
    index = pd.Index([f"child{i:03d}" for i in range(X.shape[0])], name="id")
    columns = pd.Index([f"s{t}" for t in range(1, 13)])
    frame_in = pd.DataFrame(X, index=index, columns=columns)
    copy = frame_in.copy()
    detector = TukeyRuptureDetector().fit(frame_in)
    assert list(detector.feature_names_in_) == list(columns)
    result = detector.detect(frame_in)
    np.testing.assert_array_equal(result.labels, TukeyRuptureDetector().fit(X).predict(X))
    table = result.to_frame()
    rows, cols = np.nonzero(result.labels)
    assert list(table.series) == list(index[rows])
    assert list(table.central_session) == list(columns[cols])
    assert list(table.pre_session) == list(columns[cols - 1])
    expected_post = [columns[c + 1] if c + 1 < 12 else None for c in cols]
    got_post = [None if pd.isna(v) else v for v in table.post_session]
    assert got_post == expected_post
    pd.testing.assert_frame_equal(frame_in, copy)
    np.testing.assert_array_equal(detector.predict(frame_in), result.labels)


def test_dataframe_integer_session_columns(X):
    frame_in = pd.DataFrame(X, index=np.arange(100, 400), columns=np.arange(1, 13))
    detector = TukeyRuptureDetector().fit(frame_in)
    table = detector.detect(frame_in).to_frame()
    rows, cols = np.nonzero(detector.predict(X))
    np.testing.assert_array_equal(table.series.to_numpy(), rows + 100)
    np.testing.assert_array_equal(table.central_session.to_numpy(), cols + 1)


def test_set_output_pandas(X):
    index = pd.RangeIndex(1000, 1000 + X.shape[0])
    frame_in = pd.DataFrame(X, index=index, columns=[f"s{t}" for t in range(12)])
    detector = TukeyRuptureDetector().set_output(transform="pandas").fit(frame_in)
    out = detector.transform(frame_in)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == FEATURES
    pd.testing.assert_index_equal(out.index, index)
    np.testing.assert_array_equal(out.to_numpy(), TukeyRuptureDetector().fit(X).transform(X))


def test_list_input(X):
    rows = [[float(v) for v in row] for row in X[:20]]
    detector = TukeyRuptureDetector(pooled_sd=1.0).fit(rows)
    np.testing.assert_array_equal(detector.predict(rows), detector.predict(X[:20]))


def test_integer_dtype_input(rng):
    X = rng.integers(12, 49, size=(50, 10))
    detector = TukeyRuptureDetector().fit(X)
    np.testing.assert_array_equal(detector.predict(X), detector.predict(X.astype(float)))


def test_pipeline_with_classifier(rng):
    X = random_series(rng, 400, 12, integer=True, max_nan=0.3)
    y = (rng.random(400) < 0.5).astype(int)
    pipe = make_pipeline(
        TukeyRuptureDetector(), HistGradientBoostingClassifier(max_iter=10, random_state=0)
    )
    pipe.fit(X, y)
    assert pipe.predict(X).shape == (400,)
    assert pipe.predict_proba(X).shape == (400, 2)
    assert list(pipe[:-1].get_feature_names_out()) == FEATURES


def test_clone_and_get_params():
    detector = TukeyRuptureDetector(
        iqr_multiplier=1.5,
        quartile_method="hazen",
        lower_half="exclusive",
        absolute_sd_multiplier=None,
        pooled_sd="total",
        min_consecutive=5,
    )
    params = detector.get_params()
    assert params == {
        "iqr_multiplier": 1.5,
        "quartile_method": "hazen",
        "lower_half": "exclusive",
        "absolute_sd_multiplier": None,
        "pooled_sd": "total",
        "min_consecutive": 5,
    }
    copy = clone(detector)
    assert copy is not detector and copy.get_params() == params
    assert TukeyRuptureDetector().get_params() == full_params({})
    detector.set_params(iqr_multiplier=3.0)
    assert detector.iqr_multiplier == 3.0


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    for method in ("predict", "decision_function", "transform", "detect"):
        with pytest.raises(NotFittedError):
            getattr(TukeyRuptureDetector(), method)(np.ones((2, 8)))


def test_pooled_sd_without_degrees_of_freedom():
    short = np.ones((5, 6))  # no series has 7 consecutive sessions
    with pytest.warns(UserWarning, match="pooled_sd"):
        detector = TukeyRuptureDetector().fit(short)
    assert math.isnan(detector.pooled_sd_)
    np.testing.assert_array_equal(detector.predict(short), np.zeros((5, 6)))
    with_gap = np.ones((2, 6))
    with_gap[0] = [5, 6, 5, 6, 5, 1]
    detector.predict(with_gap)  # nothing eligible: fine
    eligible = np.array([[5, 6, 5, 6, 5, 6.0], [1, 2, 3, 4, 5, 6.0]])
    with pytest.warns(UserWarning):
        detector = TukeyRuptureDetector(min_consecutive=6).fit(np.array([[1, 2, 3, 4, 5, np.nan]]))
    for method in ("predict", "transform", "detect"):
        with pytest.raises(ValueError, match="pooled_sd"):
            getattr(detector, method)(eligible)
    # the TCC score does not need the pooled SD
    detector.decision_function(eligible)
    # a constant eligible series gives one dof per value minus one: SD 0, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = TukeyRuptureDetector().fit(np.full((3, 8), 4.0))
    assert flat.pooled_sd_ == 0.0
    assert not flat.predict(np.full((3, 8), 4.0)).any()


def test_pooled_sd_total_without_dof_min_consecutive_one():
    # one eligible series with one observed value: no dof for either reading
    X = np.array([[np.nan, 4.0, np.nan]])
    for kind in ("within", "total"):
        # finding F3 (fixed): the message must not claim that no series is eligible
        with pytest.warns(UserWarning, match="degrees of freedom") as caught:
            detector = TukeyRuptureDetector(pooled_sd=kind, min_consecutive=1).fit(X)
        assert math.isnan(detector.pooled_sd_)
        assert "no training series has" not in str(caught[0].message)


def test_absolute_off_gives_nan_pooled_sd(X):
    for pooled in (None, "within", "total", 1.5):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            det = TukeyRuptureDetector(absolute_sd_multiplier=None, pooled_sd=pooled).fit(X)
        assert math.isnan(det.pooled_sd_)


def test_pooled_sd_readings(X):
    within = TukeyRuptureDetector().fit(X).pooled_sd_
    assert TukeyRuptureDetector(pooled_sd="within").fit(X).pooled_sd_ == within
    total = TukeyRuptureDetector(pooled_sd="total").fit(X).pooled_sd_
    assert total == pytest.approx(oracle.pooled_sd(X, kind="total"), rel=1e-12)
    assert within == pytest.approx(oracle.pooled_sd(X, kind="within"), rel=1e-12)
    assert TukeyRuptureDetector(pooled_sd=2.75).fit(X).pooled_sd_ == 2.75
    assert TukeyRuptureDetector(pooled_sd=0).fit(X).pooled_sd_ == 0.0


def test_predict_uses_fitted_pooled_sd_only(X, rng):
    detector = TukeyRuptureDetector().fit(X)
    other = random_series(rng, 50, 12, integer=True)
    s = detector.pooled_sd_
    want = oracle.detect_loop(other, full_params({}), s)
    np.testing.assert_array_equal(detector.predict(other), want["labels"])
    assert detector.pooled_sd_ == s


# --- dask ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pooled", [None, "total"])
def test_dask_input_gives_numpy_result(X, pooled):
    da = pytest.importorskip("dask.array")
    dX = da.from_array(X, chunks=(37, 12))
    assert dX.numblocks[0] > 1
    detector = TukeyRuptureDetector(pooled_sd=pooled).fit(X)
    lazy = TukeyRuptureDetector(pooled_sd=pooled).fit(dX)
    assert lazy.pooled_sd_ == pytest.approx(detector.pooled_sd_, rel=1e-12)
    assert lazy.n_features_in_ == 12
    for method in ("predict", "decision_function", "transform"):
        out = getattr(detector, method)(dX)
        assert isinstance(out, da.Array), method
        computed = out.compute()
        want = getattr(detector, method)(X)
        assert computed.dtype == want.dtype
        np.testing.assert_array_equal(computed, want, err_msg=method)
    result = detector.detect(dX)
    np.testing.assert_array_equal(result.labels, detector.predict(X))


def test_dask_column_chunks_are_rechunked(X):
    da = pytest.importorskip("dask.array")
    dX = da.from_array(X, chunks=(50, 5))
    detector = TukeyRuptureDetector().fit(X)
    np.testing.assert_array_equal(detector.predict(dX).compute(), detector.predict(X))
    np.testing.assert_allclose(TukeyRuptureDetector().fit(dX).pooled_sd_, detector.pooled_sd_)


def test_dask_errors(X):
    da = pytest.importorskip("dask.array")
    detector = TukeyRuptureDetector().fit(X)
    with pytest.raises(ValueError, match="feature"):
        detector.predict(da.from_array(X[:, :10], chunks=(50, 10)))
    with pytest.raises(ValueError, match="X"):
        detector.predict(da.from_array(X[0], chunks=5))
    bad = X.copy()
    bad[5, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        detector.predict(da.from_array(bad, chunks=(50, 12))).compute()
    with pytest.raises(TypeError, match="X"):
        detector.predict(da.from_array(X.astype(str), chunks=(50, 12)))


def test_roc_curve_over_k_with_finite_scores(rng):
    """roc_curve refuses infinite scores (finding F8); clipping the infinities to the float
    range keeps the order of the scores, so the curve is the one over k."""
    from sklearn.metrics import roc_curve

    X = random_series(rng, 200, 12, integer=True, max_nan=0.1)
    detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X)
    score = detector.decision_function(X)
    y = rng.random(X.shape) < 0.1
    f = np.finfo(float)
    fpr, tpr, thresholds = roc_curve(
        y.ravel(),
        np.nan_to_num(score, posinf=f.max, neginf=f.min).ravel(),
        drop_intermediate=False,
    )
    for k, tp_rate in zip(thresholds, tpr):
        if not 0 <= k < 10:
            continue
        # roc_curve flags score >= threshold; the TCC mask with iqr_multiplier=k is score > k,
        # which at k = a score value is finding F1 (see the xfail test in test_properties.py)
        assert tp_rate == pytest.approx(((score >= k) & y).sum() / y.sum())


def test_to_frame_without_ruptures_has_the_columns():
    x = np.full((3, 9), 4.0)
    frame = TukeyRuptureDetector().fit(x).detect(x).to_frame()
    assert frame.empty
    assert list(frame.columns) == FRAME_COLUMNS


def test_get_feature_names_out_checks_input_features(X):
    columns = [f"s{t}" for t in range(12)]
    detector = TukeyRuptureDetector().fit(pd.DataFrame(X, columns=columns))
    assert list(detector.get_feature_names_out(columns)) == FEATURES
    with pytest.raises(ValueError):
        detector.get_feature_names_out([f"t{t}" for t in range(12)])
    plain = TukeyRuptureDetector().fit(X)
    with pytest.raises(ValueError):
        plain.get_feature_names_out(["a", "b"])


def test_decision_function_is_minus_inf_for_ineligible_series(X):
    detector = TukeyRuptureDetector(absolute_sd_multiplier=None, min_consecutive=13).fit(X)
    assert (detector.decision_function(X) == -np.inf).all()
    assert not detector.predict(X).any()
    features = detector.transform(X)
    assert np.isnan(features[:, :6]).all() and (features[:, 6] == 0).all()


def test_dask_predict_with_unknown_pooled_sd_raises(X):
    da = pytest.importorskip("dask.array")
    gappy = X.copy()
    gappy[:, ::2] = np.nan  # no two consecutive sessions: nothing eligible in fit
    with pytest.warns(UserWarning, match="pooled_sd"):
        detector = TukeyRuptureDetector(min_consecutive=2).fit(gappy)
    with pytest.raises(ValueError, match="pooled_sd"):
        detector.predict(da.from_array(X, chunks=(50, 12))).compute()
    short = np.full((4, 12), np.nan)
    short[:, 0] = 1.0
    out = detector.predict(da.from_array(short, chunks=(2, 12))).compute()
    assert not out.any()


# --- issue 8: results do not depend on the unit of the scores -------------------------


@pytest.mark.parametrize("exponent", [-540, -300, 300, 511])
def test_rupture_count_does_not_depend_on_the_unit(exponent):
    """The issue's example: at 2**-540 the squares underflowed (pooled SD 0, every drop a
    rupture), at 2**511 they overflowed (pooled SD inf, no absolute rupture)."""
    sim = simulate_alliance(100, 12, rupture_rate=0.05, random_state=0)
    factor = 2.0**exponent
    reference = TukeyRuptureDetector().fit(sim.X)
    detector = TukeyRuptureDetector().fit(sim.X * factor)
    assert detector.pooled_sd_ == reference.pooled_sd_ * factor
    np.testing.assert_array_equal(detector.predict(sim.X * factor), reference.predict(sim.X))
    result = detector.detect(sim.X * factor).to_frame()
    want = reference.detect(sim.X).to_frame()
    assert len(result) == len(want) > 0
    np.testing.assert_array_equal(result["drop"], want["drop"] * factor)
    np.testing.assert_array_equal(result["score"], want["score"])


@pytest.mark.parametrize("exponent", [-540, 511, 1017])
@pytest.mark.parametrize("pooled", [None, "total"])
def test_dask_at_extreme_scales(X, exponent, pooled):
    da = pytest.importorskip("dask.array")
    factor = 2.0**exponent
    Y = X * factor
    detector = TukeyRuptureDetector(pooled_sd=pooled).fit(Y)
    lazy = TukeyRuptureDetector(pooled_sd=pooled).fit(da.from_array(Y, chunks=(13, 12)))
    assert lazy.pooled_sd_ == pytest.approx(detector.pooled_sd_, rel=1e-12)
    assert detector.pooled_sd_ == TukeyRuptureDetector(pooled_sd=pooled).fit(X).pooled_sd_ * factor
    np.testing.assert_array_equal(
        detector.predict(da.from_array(Y, chunks=(13, 12))).compute(), detector.predict(Y)
    )


def test_values_at_the_float_maximum_end_to_end():
    """Finding F5 (fixed), end to end: the largest floats give the labels, statistics and
    drops of the same series scaled down."""
    top = np.finfo(np.float64).max
    x = np.array([[1.0, 1.0, 0.75, 1.0, -1.0, 1.0, 1.0, 0.98, 1.0, 1.0]])
    big = x * top
    small = big * 2.0**-1000
    for params in ({}, {"quartile_method": "linear"}, {"iqr_multiplier": 0.1}):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = TukeyRuptureDetector(**params).fit(big).detect(big)
        want = TukeyRuptureDetector(**params).fit(small).detect(small)
        np.testing.assert_array_equal(got.labels, want.labels)
        assert got.labels.any()
        for name in ("median", "q1", "q3", "lower_half_median", "iqr"):
            assert getattr(got, name)[0] == np.ldexp(getattr(want, name)[0], 1000), name
        assert np.isfinite(got.lower_control_limit).all()
