"""Segmented regression detector: statsmodels fits per series, sweeps, contract."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.tukeyrupture import oracle
from tukeyrupture import rupture_scores, simulate_alliance
from tukeyrupture.comparison.segmented import SegmentedRegressionDetector, drop_statistics

DETECTORS = [
    SegmentedRegressionDetector(),
    SegmentedRegressionDetector(correction="none", min_segment=1),
]


@parametrize_with_checks(DETECTORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = 40 + 0.2 * np.arange(14) + 2.5 * rng.standard_normal((40, 14))
    breaks = rng.integers(2, 13, size=40)
    X -= 6.0 * (np.arange(14) >= breaks[:, None]) * (rng.random((40, 1)) < 0.6)
    X[rng.random(X.shape) < 0.15] = np.nan
    return X


def statsmodels_oracle(x, min_segment, correction):
    """Fit y ~ 1 + t + step(tau) by statsmodels OLS at every candidate tau of one series."""
    sessions = np.flatnonzero(~np.isnan(x))
    y = x[sessions]
    statistics = {}
    if sessions.size >= 4:
        for position, tau in enumerate(sessions):
            if position < min_segment or sessions.size - position < min_segment:
                continue
            design = sm.add_constant(np.column_stack([sessions, sessions >= tau]).astype(float))
            fit = sm.OLS(y, design).fit()
            statistics[int(tau)] = -fit.tvalues[2]
    score = [-math.inf] * x.size
    if statistics:
        tau = max(statistics, key=lambda key: (statistics[key], -key))
        p = stats.t.sf(statistics[tau], sessions.size - 3)
        if correction == "bonferroni":
            p = min(1.0, p * len(statistics))
        score[tau] = -math.log10(p)
    return statistics, score


@pytest.mark.parametrize(
    ("min_segment", "correction"), [(2, "bonferroni"), (1, "none"), (3, "none")]
)
def test_matches_statsmodels_per_series(data, min_segment, correction):
    detector = SegmentedRegressionDetector(min_segment=min_segment, correction=correction)
    detector.fit(data)
    statistic, _ = drop_statistics(data, min_segment)
    score = detector.decision_function(data)
    labels = detector.predict(data)
    for i, x in enumerate(data):
        expected_statistics, expected_score = statsmodels_oracle(x, min_segment, correction)
        candidates = np.flatnonzero(~np.isnan(statistic[i]))
        assert candidates.tolist() == sorted(expected_statistics)
        np.testing.assert_allclose(
            statistic[i, candidates], [expected_statistics[t] for t in candidates], rtol=1e-8
        )
        expected_score = np.asarray(expected_score)
        np.testing.assert_array_equal(np.isneginf(score[i]), np.isneginf(expected_score))
        finite = ~np.isneginf(expected_score)
        np.testing.assert_allclose(score[i, finite], expected_score[finite], rtol=1e-8)
        assert labels[i].tolist() == oracle.repair_labels(x, expected_score > -math.log10(0.05))
    assert labels.any()


def test_decision_function_sweeps_alpha(data):
    detector = SegmentedRegressionDetector().fit(data)
    score = detector.decision_function(data)
    assert (np.count_nonzero(np.isfinite(score), axis=1) <= 1).all()
    for alpha in (1.0, 0.5, 0.05, 0.001):
        detector.set_params(alpha=alpha)
        np.testing.assert_array_equal(detector.predict(data) != 0, score > -math.log10(alpha))


def test_recall_rises_with_depth_and_false_positives_fall_with_alpha():
    recalls = []
    for depth in (0.5, 2.0, 4.0):
        sim = simulate_alliance(300, 16, depth=depth, missing_rate=0.1, random_state=5)
        labels = SegmentedRegressionDetector().fit(sim.X).predict(sim.X)
        recalls.append(rupture_scores(sim.labels, labels, tolerance=1).recall)
    assert recalls[0] < recalls[1] < recalls[2]
    sim = simulate_alliance(300, 16, depth=2.0, missing_rate=0.1, random_state=6)
    rates = [
        rupture_scores(
            sim.labels, SegmentedRegressionDetector(alpha=alpha).fit(sim.X).predict(sim.X)
        ).false_positive_rate
        for alpha in (0.9, 0.3, 0.05, 0.005)
    ]
    assert all(a >= b for a, b in zip(rates[:-1], rates[1:]))
    assert rates[0] > rates[-1]


def test_perfect_step_gives_infinite_evidence_and_constant_rows_none():
    X = np.array([[5, 5, 5, 5, 2, 2, 2, 2.0], [4.0] * 8, [np.nan] * 5 + [1, 2, 3.0]])
    detector = SegmentedRegressionDetector().fit(X)
    score = detector.decision_function(X)
    assert score[0, 4] == np.inf
    assert np.isneginf(np.delete(score[0], 4)).all()
    assert not detector.predict(X)[1:].any()
    assert np.isneginf(score[2]).all()  # three observed sessions: no degrees of freedom


def test_a_rise_is_not_a_drop():
    x = np.array([[30, 31, 30, 29, 31, 40, 41, 40, 39, 41.0]])
    assert not SegmentedRegressionDetector(alpha=0.5).fit(x).predict(x).any()


def test_trend_alone_is_not_a_drop():
    rng = np.random.default_rng(0)
    X = 30 + 1.0 * np.arange(20) + 0.5 * rng.standard_normal((50, 20))
    labels = SegmentedRegressionDetector(alpha=0.01).fit(X).predict(X)
    assert np.count_nonzero(labels) <= 2


@pytest.mark.parametrize("exponent", [-600, 300, 1000])
def test_scores_do_not_depend_on_the_unit(exponent, data):
    small = SegmentedRegressionDetector().fit(data).decision_function(data)
    with np.errstate(over="raise"):
        huge = SegmentedRegressionDetector().fit(data * 2.0**exponent)
        np.testing.assert_allclose(huge.decision_function(data * 2.0**exponent), small)


def test_inputs_are_not_modified_frames_work_and_rows_are_independent(data):
    before = data.copy()
    frame = pd.DataFrame(data)
    for estimator in DETECTORS:
        fitted = clone(estimator).fit(data)
        labels = fitted.predict(data)
        np.testing.assert_array_equal(clone(estimator).fit(frame).predict(frame), labels)
        np.testing.assert_array_equal(fitted.predict(data[[3, 1, 8]]), labels[[3, 1, 8]])
    np.testing.assert_array_equal(data, before)


@pytest.mark.parametrize(
    ("estimator", "name"),
    [
        (SegmentedRegressionDetector(alpha=0.0), "alpha"),
        (SegmentedRegressionDetector(alpha=1.5), "alpha"),
        (SegmentedRegressionDetector(alpha=np.nan), "alpha"),
        (SegmentedRegressionDetector(correction="holm"), "correction"),
        (SegmentedRegressionDetector(min_segment=0), "min_segment"),
        (SegmentedRegressionDetector(min_segment=2.5), "min_segment"),
    ],
)
def test_bad_parameters_raise_naming_them(estimator, name):
    with pytest.raises(ValueError, match=name):
        estimator.fit(np.ones((3, 8)))
