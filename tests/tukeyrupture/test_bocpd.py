"""Bayesian online change-point detector: a per-series run-length oracle, sweeps, contract."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.tukeyrupture import oracle
from tukeyrupture import rupture_scores, simulate_alliance
from tukeyrupture.comparison.bocpd import BOCPDDetector

DETECTORS = [BOCPDDetector(), BOCPDDetector(sd=2.5, hazard=0.2, prior_alpha=1.0)]


@parametrize_with_checks(DETECTORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = 40 + 2.5 * rng.standard_normal((30, 14))
    drops = rng.random(X.shape) < 0.07
    X -= 7.0 * np.cumsum(drops, axis=1) * (rng.random((30, 1)) < 0.5) + 7.0 * drops
    X[rng.random(X.shape) < 0.2] = np.nan
    return X


def posterior(values, kappa0, alpha0, beta0):
    """Normal-gamma posterior from a segment's values in batch form (Murphy 2007, eq. 85-89)."""
    n = len(values)
    mean = sum(values) / n if n else 0.0
    kappa = kappa0 + n
    return (
        n * mean / kappa,
        kappa,
        alpha0 + n / 2,
        beta0 + 0.5 * sum((v - mean) ** 2 for v in values) + kappa0 * n * mean**2 / (2 * kappa),
    )


def log_predictive(x, values, kappa0, alpha0, beta0):
    mu, kappa, alpha, beta = posterior(values, kappa0, alpha0, beta0)
    scale = math.sqrt(beta * (kappa + 1) / (alpha * kappa))
    return stats.t.logpdf(x, df=2 * alpha, loc=mu, scale=scale)


def bocpd_oracle(x, s, hazard, kappa0, alpha0, beta0):
    """Adams & MacKay's recursion for one series, with each run's values kept in a list."""
    observed = x[~np.isnan(x)]
    z = (x - observed.mean()) / s
    runs = []  # (probability, values of the current segment)
    score = [-math.inf] * x.size
    for t, value in enumerate(z):
        if math.isnan(value):
            continue
        if not runs:
            runs = [(1.0, [value])]
            continue
        expected = sum(p * posterior(v, kappa0, alpha0, beta0)[0] for p, v in runs)
        change = hazard * math.exp(log_predictive(value, [], kappa0, alpha0, beta0))
        grown = [
            (p * (1 - hazard) * math.exp(log_predictive(value, v, kappa0, alpha0, beta0)), v)
            for p, v in runs
        ]
        total = change + sum(p for p, _ in grown)
        runs = [(change / total, [value])] + [(p / total, [*v, value]) for p, v in grown]
        if value < expected:
            score[t] = change / total
    return score


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"hazard": 0.2, "prior_kappa": 1.0, "prior_alpha": 1.0, "prior_beta": 3.0},
        {"hazard": 0.01, "sd": 4.0, "threshold": 0.3},
    ],
)
def test_matches_per_series_run_length_recursion(data, params):
    detector = BOCPDDetector(**params).fit(data)
    score = detector.decision_function(data)
    labels = detector.predict(data)
    p = detector.get_params()
    for i, x in enumerate(data):
        expected = np.asarray(
            bocpd_oracle(
                x, detector.sd_, p["hazard"], p["prior_kappa"], p["prior_alpha"], p["prior_beta"]
            )
        )
        np.testing.assert_array_equal(np.isneginf(score[i]), np.isneginf(expected))
        finite = ~np.isneginf(expected)
        np.testing.assert_allclose(score[i, finite], expected[finite], rtol=1e-9, atol=1e-14)
        assert labels[i].tolist() == oracle.repair_labels(x, expected > p["threshold"])
    assert labels.any()


def test_learns_the_pooled_within_series_sd(data):
    rows = [x[~np.isnan(x)] for x in data]
    ss = sum(((r - r.mean()) ** 2).sum() for r in rows)
    dof = sum(r.size - 1 for r in rows)
    assert BOCPDDetector().fit(data).sd_ == pytest.approx(math.sqrt(ss / dof), rel=1e-12)


def test_decision_function_sweeps_the_threshold(data):
    detector = BOCPDDetector().fit(data)
    score = detector.decision_function(data)
    finite = score[np.isfinite(score)]
    assert ((finite >= 0) & (finite <= 1)).all()
    for threshold in (0.0, 0.05, 0.1, 0.5, 0.9):
        detector.set_params(threshold=threshold)
        np.testing.assert_array_equal(detector.predict(data) != 0, score > threshold)
    first_observed = np.argmax(~np.isnan(data), axis=1)
    assert np.isneginf(score[np.arange(data.shape[0]), first_observed]).all()
    assert np.isneginf(score[np.isnan(data)]).all()


def test_recall_rises_with_depth_and_false_positives_fall_with_the_threshold():
    recalls = []
    for depth in (0.5, 2.0, 4.0):
        sim = simulate_alliance(300, 16, depth=depth, missing_rate=0.1, random_state=8)
        labels = BOCPDDetector().fit(sim.X).predict(sim.X)
        recalls.append(rupture_scores(sim.labels, labels).recall)
    assert recalls[0] < recalls[1] < recalls[2]
    sim = simulate_alliance(300, 16, depth=2.0, missing_rate=0.1, random_state=9)
    detector = BOCPDDetector().fit(sim.X)
    rates = [
        rupture_scores(
            sim.labels, detector.set_params(threshold=threshold).predict(sim.X)
        ).false_positive_rate
        for threshold in (0.02, 0.05, 0.1, 0.3)
    ]
    assert all(a >= b for a, b in zip(rates[:-1], rates[1:]))
    assert rates[0] > rates[-1]


def test_a_rise_is_never_flagged():
    x = np.array([[30, 31, 30, 29, 31, 40, 41, 40, 39, 41.0]])
    detector = BOCPDDetector(sd=1.0, threshold=0.0).fit(x)
    assert np.isneginf(detector.decision_function(x)[0, 5])


def test_degenerate_rows_are_never_flagged():
    X = np.vstack([np.full(10, np.nan), np.full(10, 5.0), [np.nan] * 9 + [3.0]])
    assert not BOCPDDetector(sd=1.0).fit(X).predict(X).any()


def test_unlearnable_sd_warns_and_flags_nothing():
    X = np.array([[1.0, np.nan, np.nan], [np.nan, 2.0, 0.0]])
    with pytest.warns(UserWarning, match="`sd`"):
        detector = BOCPDDetector().fit(np.full((2, 3), 4.0))
    assert not detector.predict(X).any()


@pytest.mark.parametrize("exponent", [-600, 300, 1000])
def test_scores_do_not_depend_on_the_unit(exponent, data):
    small = BOCPDDetector().fit(data).decision_function(data)
    with np.errstate(over="raise"):
        huge = BOCPDDetector().fit(data * 2.0**exponent)
        np.testing.assert_allclose(huge.decision_function(data * 2.0**exponent), small)


def test_inputs_are_not_modified_frames_work_and_rows_are_independent(data):
    before = data.copy()
    frame = pd.DataFrame(data)
    for estimator in DETECTORS:
        fitted = clone(estimator).fit(data)
        score = fitted.decision_function(data)
        # a frame arrives in column-major order: sums over sessions may round differently
        from_frame = clone(estimator).fit(frame).decision_function(frame)
        np.testing.assert_allclose(from_frame, score, rtol=1e-12)
        subset = fitted.decision_function(data[[4, 0, 9]])
        np.testing.assert_allclose(subset, score[[4, 0, 9]], rtol=1e-12)
    np.testing.assert_array_equal(data, before)


@pytest.mark.parametrize(
    ("estimator", "name"),
    [
        (BOCPDDetector(hazard=0.0), "hazard"),
        (BOCPDDetector(hazard=1.0), "hazard"),
        (BOCPDDetector(threshold=1.0), "threshold"),
        (BOCPDDetector(threshold=-0.1), "threshold"),
        (BOCPDDetector(sd=0.0), "sd"),
        (BOCPDDetector(sd=np.inf), "sd"),
        (BOCPDDetector(prior_kappa=0.0), "prior_kappa"),
        (BOCPDDetector(prior_alpha=-1.0), "prior_alpha"),
        (BOCPDDetector(prior_beta=np.inf), "prior_beta"),
    ],
)
def test_bad_parameters_raise_naming_them(estimator, name):
    with pytest.raises(ValueError, match=name):
        estimator.fit(np.ones((3, 8)))
