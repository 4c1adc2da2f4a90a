"""Tests of the rival detectors: scikit-learn contract, per-series oracles, ruptures adapter."""

import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from tukeyrupture import _core
from tukeyrupture.comparison.partitioning import RupturesDetector
from tukeyrupture.comparison.rivals import (
    AbsoluteDropDetector,
    ReliableChangeDetector,
    ShewhartDetector,
)
from tukeyrupture.comparison.simulate import simulate_alliance

rpt = pytest.importorskip("ruptures")

RIVALS = [
    AbsoluteDropDetector(),
    ShewhartDetector(),
    ReliableChangeDetector(),
    RupturesDetector(),
    RupturesDetector(algorithm="binseg"),
    RupturesDetector(algorithm="window", width=4),
]


@pytest.fixture(scope="module")
def data():
    sim = simulate_alliance(
        120, 14, rupture_rate=0.1, depth=3.0, missing_rate=0.05, random_state=0
    )
    return sim.X, sim.labels


@parametrize_with_checks(RIVALS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", RIVALS, ids=lambda e: repr(e))
def test_clone_params_and_pipeline(estimator, data):
    X, _ = data
    params = estimator.get_params()
    copy = clone(estimator)
    assert copy.get_params() == params
    expected = clone(estimator).fit(X).predict(X)
    assert expected.dtype == np.int8 and expected.shape == X.shape
    assert set(np.unique(expected)) <= {0, 1, 2, 3}
    assert not expected[:, 0].any()
    pipeline = make_pipeline(FunctionTransformer(), clone(estimator)).fit(X)
    np.testing.assert_array_equal(pipeline.predict(X), expected)


def _lower_half_median(x):
    values = np.sort(x[~np.isnan(x)])
    lower = values[: math.ceil(values.size / 2)]
    return np.median(lower) if lower.size else np.nan


def _repair_oracle(X, central):
    labels = np.zeros(X.shape, dtype=np.int8)
    for i, x in enumerate(X):
        lhm = _lower_half_median(x)
        for t in np.flatnonzero(central[i]):
            if t + 1 >= x.size or np.isnan(x[t + 1]):
                labels[i, t] = 3
            else:
                labels[i, t] = 1 if x[t + 1] >= lhm else 2
    return labels


def _shewhart_oracle(X, n_sigma):
    central = np.zeros(X.shape, dtype=bool)
    for i, x in enumerate(X):
        ranges = [abs(x[t] - x[t - 1]) for t in range(1, x.size)]
        ranges = [r for r in ranges if not np.isnan(r)]
        if not ranges:
            continue
        sigma = np.mean(ranges) / 1.128
        centre = np.nanmean(x)
        for t in range(1, x.size):
            central[i, t] = x[t] < centre - n_sigma * sigma
    return central


def test_shewhart_matches_per_series_oracle(data):
    X, _ = data
    for n_sigma in (1.0, 2.0, 3.0):
        labels = ShewhartDetector(n_sigma=n_sigma).fit(X).predict(X)
        expected = _repair_oracle(X, _shewhart_oracle(X, n_sigma))
        np.testing.assert_array_equal(labels, expected)


def test_reliable_change_matches_formula(data):
    X, _ = data
    detector = ReliableChangeDetector(reliability=0.7, sd=3.0, critical=1.5).fit(X)
    s_diff = math.sqrt(2) * 3.0 * math.sqrt(1 - 0.7)
    assert detector.s_diff_ == pytest.approx(s_diff)
    central = np.zeros(X.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        central[:, 1:] = (X[:, :-1] - X[:, 1:]) / s_diff > 1.5
    np.testing.assert_array_equal(detector.predict(X), _repair_oracle(X, central))


def test_reliable_change_learns_pooled_sd(data):
    X, _ = data
    detector = ReliableChangeDetector().fit(X)
    rows = [x[~np.isnan(x)] for x in X]
    ss = sum(((r - r.mean()) ** 2).sum() for r in rows)
    dof = sum(r.size - 1 for r in rows)
    assert detector.sd_ == pytest.approx(math.sqrt(ss / dof))


def test_absolute_matches_core_rule(data):
    X, _ = data
    detector = AbsoluteDropDetector(sd_multiplier=1.5).fit(X)
    eligible = _core.eligible_series(X, 7)
    sd, _ = _core.pooled_sd(X, eligible, "within")
    assert detector.pooled_sd_ == pytest.approx(sd)
    central = np.zeros(X.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        central[:, 1:] = (X[:, :-1] - X[:, 1:]) >= 1.5 * sd
    central &= eligible[:, None]
    np.testing.assert_array_equal(detector.predict(X), _repair_oracle(X, central))


@pytest.mark.parametrize(
    ("detector", "threshold", "strict"),
    [
        (ShewhartDetector(n_sigma=2.0), 2.0, True),
        (ReliableChangeDetector(critical=1.96), 1.96, True),
        (AbsoluteDropDetector(sd_multiplier=2.0), 2.0, False),
    ],
    ids=["shewhart", "reliable_change", "absolute"],
)
def test_decision_function_agrees_with_predict(detector, threshold, strict, data):
    X, _ = data
    detector = clone(detector).fit(X)
    score = detector.decision_function(X)
    flagged = score > threshold if strict else score >= threshold
    np.testing.assert_array_equal(flagged, detector.predict(X) != 0)
    assert np.isneginf(score[:, 0]).all()


def _direct_central(X, algorithm, penalty, **options):
    """Call ruptures directly on each series and flag drops: the adapter's oracle."""
    classes = {"pelt": rpt.Pelt, "binseg": rpt.Binseg, "window": rpt.Window}
    central = np.zeros(X.shape, dtype=bool)
    for i, x in enumerate(X):
        positions = np.flatnonzero(~np.isnan(x))
        signal = x[positions]
        try:
            bkps = classes[algorithm](model="l2", **options).fit(signal).predict(pen=penalty)
        except rpt.exceptions.BadSegmentationParameters:
            continue
        bounds = [0, *bkps]
        for a, b, c in zip(bounds[:-2], bounds[1:-1], bounds[2:]):
            if signal[b:c].mean() < signal[a:b].mean():
                central[i, positions[b]] = True
    return central


@pytest.mark.parametrize("algorithm", ["pelt", "binseg", "window"])
def test_ruptures_adapter_equals_direct_call(algorithm, data):
    X, _ = data
    penalty = 25.0
    options = {"min_size": 1, "jump": 1}
    if algorithm == "window":
        options["width"] = 4
    detector = RupturesDetector(algorithm=algorithm, penalty=penalty).fit(X)
    central = _direct_central(X, algorithm, penalty, **options)
    assert central.any()
    np.testing.assert_array_equal(detector.predict(X), _repair_oracle(X, central))
    x = X[3]
    direct = rpt.Pelt(model="l2", min_size=1, jump=1) if algorithm == "pelt" else None
    if direct is not None:
        expected = direct.fit(x[~np.isnan(x)]).predict(pen=penalty)
        assert detector.change_points(x) == expected


def test_ruptures_default_penalty_is_bic_type(data):
    X, _ = data
    detector = RupturesDetector().fit(X)
    n = np.count_nonzero(~np.isnan(X[0]))
    assert detector._penalty(n) == pytest.approx(2 * detector.sd_**2 * math.log(n))
    central = np.zeros(X.shape, dtype=bool)
    for i, x in enumerate(X):
        n_i = np.count_nonzero(~np.isnan(x))
        central[i] = _direct_central(
            x[None, :], "pelt", 2 * detector.sd_**2 * math.log(n_i), min_size=1, jump=1
        )[0]
    np.testing.assert_array_equal(detector.predict(X) != 0, central)


def test_ruptures_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "ruptures", None)
    with pytest.raises(ImportError, match=r"rivals"):
        RupturesDetector().fit(np.ones((3, 8)))


def test_ruptures_default_penalty_needs_l2():
    with pytest.raises(ValueError, match="`penalty`"):
        RupturesDetector(model="l1").fit(np.random.default_rng(0).normal(size=(4, 10)))
    RupturesDetector(model="l1", penalty=5.0).fit(np.ones((3, 8)))


@pytest.mark.parametrize(
    ("estimator", "name"),
    [
        (ShewhartDetector(n_sigma=-1), "n_sigma"),
        (ShewhartDetector(n_sigma=np.inf), "n_sigma"),
        (ReliableChangeDetector(reliability=1.0), "reliability"),
        (ReliableChangeDetector(sd=-2.0), "sd"),
        (AbsoluteDropDetector(sd_multiplier=-1.0), "sd_multiplier"),
        (RupturesDetector(algorithm="dynp"), "algorithm"),
        (RupturesDetector(width=1), "width"),
    ],
)
def test_bad_parameters_raise_at_fit(estimator, name):
    with pytest.raises(ValueError, match=name):
        estimator.fit(np.ones((3, 8)))


def test_all_nan_and_constant_rows_have_no_ruptures():
    X = np.vstack([np.full(10, np.nan), np.full(10, 5.0), np.arange(10.0)[::-1]])
    for estimator in RIVALS:
        labels = clone(estimator).fit(X).predict(X)
        assert not labels[:2].any()


def test_inputs_not_modified(data):
    X, _ = data
    before = X.copy()
    for estimator in RIVALS:
        clone(estimator).fit(X).predict(X)
    np.testing.assert_array_equal(X, before)


@settings(max_examples=25, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(2, 8), st.integers(3, 10)),
        elements=st.one_of(st.floats(0, 60, allow_nan=False), st.just(np.nan)),
    ),
    rows=st.data(),
)
def test_row_subset_invariance(X, rows):
    subset = rows.draw(st.lists(st.integers(0, X.shape[0] - 1), min_size=1, max_size=5))
    for estimator in (ShewhartDetector(), ReliableChangeDetector(sd=2.0)):
        full = estimator.fit(X).predict(X)
        np.testing.assert_array_equal(estimator.predict(X[subset]), full[subset])


# --- issue 8: the rivals are as scale-invariant as their rules ----------------------

SCALE_FREE = [
    ShewhartDetector(n_sigma=2.0),
    ReliableChangeDetector(),
    AbsoluteDropDetector(sd_multiplier=1.5),
]


@pytest.mark.parametrize("estimator", SCALE_FREE, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("exponent", [-1000, -540, -300, 300, 511, "top"])
def test_scale_free_rivals_give_identical_results_at_any_scale(estimator, exponent, data):
    X, _ = data
    X = X - 40.0  # both signs: drops between them are twice the values
    if exponent == "top":
        exponent = 1024 - int(np.frexp(np.nanmax(np.abs(X)))[1])
    factor = 2.0**exponent
    small = clone(estimator).fit(X)
    huge = clone(estimator).fit(X * factor)
    with np.errstate(over="raise", under="ignore"):
        np.testing.assert_array_equal(huge.predict(X * factor), small.predict(X))
        np.testing.assert_array_equal(
            huge.decision_function(X * factor), small.decision_function(X)
        )
    assert small.predict(X).any()


def test_ruptures_default_penalty_is_scale_invariant(data):
    X, _ = data
    X = X[:20]
    small = RupturesDetector().fit(X)
    for exponent in (-540, 511, 1016):
        huge = RupturesDetector().fit(X * 2.0**exponent)
        assert huge.sd_ == small.sd_ * 2.0**exponent
        np.testing.assert_array_equal(huge.predict(X * 2.0**exponent), small.predict(X))


def test_reliable_change_s_diff_does_not_overflow_before_the_result():
    X = np.array([[1.0, 2.0, 1.0, 3.0, 1.0, 2.0, 1.0]]) * 2.0**1020
    detector = ReliableChangeDetector(reliability=0.0).fit(X)
    assert math.isfinite(detector.s_diff_)
    assert detector.s_diff_ == pytest.approx(math.sqrt(2) * detector.sd_)


def test_change_points_refuses_non_real_series():
    detector = RupturesDetector(penalty=5.0).fit(np.ones((3, 8)))
    with pytest.raises(TypeError, match="`x`"):
        detector.change_points(np.ones(8) + 1j)
    with pytest.raises(TypeError, match="`x`"):
        detector.change_points(np.ones(8, dtype=bool))
    with pytest.raises(ValueError, match="`x`"):
        detector.change_points(np.ones((2, 4)))
    with pytest.raises(ValueError, match="`x`"):
        detector.change_points(np.array([1.0, np.inf, 2.0]))
