"""EWMA and lower CUSUM charts: per-series oracles from the papers, sweeps, contract."""

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.tukeyrupture import oracle
from tukeyrupture import rupture_scores, simulate_alliance
from tukeyrupture.comparison.charts import CUSUMDetector, EWMADetector

CHARTS = [
    EWMADetector(),
    CUSUMDetector(),
    EWMADetector(sd="pooled", n_baseline=None),
    CUSUMDetector(sd=2.0),
]


@parametrize_with_checks(CHARTS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def data():
    """Continuous scores with planted drops and 20 % missing sessions."""
    rng = np.random.default_rng(12)
    X = 40 + 2.5 * rng.standard_normal((80, 16))
    drops = rng.random(X.shape) < 0.06
    X -= 7.0 * np.cumsum(drops, axis=1) * (rng.random((80, 1)) < 0.5)
    X -= 7.0 * drops
    X[rng.random(X.shape) < 0.2] = np.nan
    return X


def baseline(x, n_baseline):
    values = [v for v in x if not math.isnan(v)]
    values = values if n_baseline is None else values[:n_baseline]
    if len(values) < 2:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values)


def excursion_oracle(x, statistic):
    """Peak of each run of positive statistics at the session where it begins."""
    score = [-math.inf] * len(x)
    start, peak = None, -math.inf
    for t, value in enumerate(x):
        if math.isnan(value):
            continue
        if statistic[t] > 0:
            if start is None:
                start, peak = t, statistic[t]
            peak = max(peak, statistic[t])
        elif start is not None:
            score[start], start = peak, None
    if start is not None:
        score[start] = peak
    score[0] = -math.inf
    return score


def ewma_oracle(x, lam, n_baseline, sd=None):
    """Roberts (1959): the geometric moving average in closed form, exact limits."""
    mu0, sigma = baseline(x, n_baseline)
    sigma = sigma if sd is None else sd
    if not sigma > 0:
        return [-math.inf] * len(x)
    observed = [v for v in x if not math.isnan(v)]
    statistic, j = {}, 0
    for t, value in enumerate(x):
        if math.isnan(value):
            continue
        j += 1
        z = (1 - lam) ** j * mu0 + lam * sum(
            (1 - lam) ** (j - i) * observed[i - 1] for i in range(1, j + 1)
        )
        se = sigma * math.sqrt(lam / (2 - lam) * (1 - (1 - lam) ** (2 * j)))
        statistic[t] = (mu0 - z) / se
    return excursion_oracle(x, statistic)


def cusum_oracle(x, k, n_baseline, sd=None):
    """Page (1954): the decision-interval form ``S_n - min_{i <= n} S_i``."""
    mu0, sigma = baseline(x, n_baseline)
    sigma = sigma if sd is None else sd
    if not sigma > 0:
        return [-math.inf] * len(x)
    statistic, total, lowest = {}, 0.0, 0.0
    for t, value in enumerate(x):
        if math.isnan(value):
            continue
        total += (mu0 - value) / sigma - k
        lowest = min(lowest, total)
        statistic[t] = total - lowest
    return excursion_oracle(x, statistic)


def assert_scores_equal(actual, expected):
    expected = np.asarray(expected, dtype=float)
    np.testing.assert_array_equal(np.isneginf(actual), np.isneginf(expected))
    finite = ~np.isneginf(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("lam", "n_sigma", "n_baseline"), [(0.2, 3.0, 5), (0.5, 2.0, 8), (1.0, 2.5, None)]
)
def test_ewma_matches_per_series_oracle(data, lam, n_sigma, n_baseline):
    detector = EWMADetector(lam=lam, n_sigma=n_sigma, n_baseline=n_baseline).fit(data)
    score = detector.decision_function(data)
    labels = detector.predict(data)
    for i, x in enumerate(data):
        expected = ewma_oracle(list(x), lam, n_baseline)
        assert_scores_equal(score[i], expected)
        assert labels[i].tolist() == oracle.repair_labels(x, [s > n_sigma for s in expected])
    assert labels.any()


@pytest.mark.parametrize(
    ("k", "h", "n_baseline"), [(0.5, 4.0, 5), (1.0, 2.0, 3), (0.0, 5.0, None)]
)
def test_cusum_matches_page_decision_interval(data, k, h, n_baseline):
    detector = CUSUMDetector(k=k, h=h, n_baseline=n_baseline).fit(data)
    score = detector.decision_function(data)
    labels = detector.predict(data)
    for i, x in enumerate(data):
        expected = cusum_oracle(list(x), k, n_baseline)
        assert_scores_equal(score[i], expected)
        assert labels[i].tolist() == oracle.repair_labels(x, [s > h for s in expected])
    assert labels.any()


@pytest.mark.parametrize("kind", ["pooled", 3.0])
def test_charts_with_a_common_sd(data, kind):
    ewma = EWMADetector(sd=kind).fit(data)
    cusum = CUSUMDetector(sd=kind).fit(data)
    rows = [x[~np.isnan(x)] for x in data]
    pooled = math.sqrt(
        sum(((r - r.mean()) ** 2).sum() for r in rows) / sum(r.size - 1 for r in rows)
    )
    sd = pooled if kind == "pooled" else kind
    assert ewma.sd_ == pytest.approx(sd, rel=1e-12)
    ewma_score, cusum_score = ewma.decision_function(data), cusum.decision_function(data)
    for i, x in enumerate(data):
        assert_scores_equal(ewma_score[i], ewma_oracle(list(x), 0.2, 5, sd=sd))
        assert_scores_equal(cusum_score[i], cusum_oracle(list(x), 0.5, 5, sd=sd))


def test_baseline_sd_is_nan_attribute(data):
    assert math.isnan(EWMADetector().fit(data).sd_)


@pytest.mark.parametrize(
    ("detector", "limit"),
    [(EWMADetector(), "n_sigma"), (CUSUMDetector(), "h")],
    ids=["ewma", "cusum"],
)
def test_decision_function_sweeps_the_control_limit(detector, limit, data):
    detector = clone(detector).fit(data)
    score = detector.decision_function(data)
    for value in (0.0, 1.0, 2.5, 4.0, 8.0):
        detector.set_params(**{limit: value})
        np.testing.assert_array_equal(detector.predict(data) != 0, score > value)
    assert np.isneginf(score[:, 0]).all()
    assert np.isneginf(score[np.isnan(data)]).all()


@pytest.mark.parametrize(
    ("detector", "limit", "values"),
    [
        (EWMADetector(), "n_sigma", (1.0, 2.0, 3.0, 5.0)),
        (CUSUMDetector(), "h", (1.0, 2.0, 4.0, 8.0)),
    ],
    ids=["ewma", "cusum"],
)
def test_recall_rises_with_depth_and_false_positives_fall_with_the_limit(detector, limit, values):
    recalls = []
    for depth in (0.5, 2.0, 4.0):
        sim = simulate_alliance(400, 16, depth=depth, missing_rate=0.1, random_state=3)
        labels = clone(detector).fit(sim.X).predict(sim.X)
        recalls.append(rupture_scores(sim.labels, labels, tolerance=1).recall)
    assert recalls[0] < recalls[1] < recalls[2]
    sim = simulate_alliance(400, 16, depth=3.0, missing_rate=0.1, random_state=4)
    rates = [
        rupture_scores(
            sim.labels, clone(detector).set_params(**{limit: v}).fit(sim.X).predict(sim.X)
        ).false_positive_rate
        for v in values
    ]
    assert all(a >= b for a, b in zip(rates[:-1], rates[1:]))
    assert rates[0] > rates[-1]


def test_ewma_with_lambda_one_is_a_shewhart_chart_on_the_baseline():
    x = np.array([[40, 41, 40, 42, 41, 42, 33, 41, 42, 34.0]])
    mu0, sigma = x[0, :5].mean(), x[0, :5].std(ddof=1)
    score = EWMADetector(lam=1.0).fit(x).decision_function(x)
    assert score[0, 6] == pytest.approx((mu0 - 33) / sigma)
    assert score[0, 9] == pytest.approx((mu0 - 34) / sigma)


@pytest.mark.parametrize("estimator", CHARTS, ids=repr)
def test_degenerate_rows_are_never_flagged(estimator):
    X = np.vstack(
        [
            np.full(10, np.nan),
            np.full(10, 5.0),
            [np.nan] * 9 + [3.0],
            [5.0, 5, 5, 5, 5, 1, 1, 1, 1, 1],  # a baseline without variation
            np.arange(10.0)[::-1],
        ]
    )
    clone(estimator).fit(X)
    labels = clone(estimator).fit(X).predict(X)
    assert not labels[:3].any()
    if estimator.sd == "baseline":
        assert not labels[3].any()


@pytest.mark.parametrize("estimator", CHARTS[:2], ids=repr)
@pytest.mark.parametrize("exponent", [-600, 300, 1000])
def test_scores_do_not_depend_on_the_unit(estimator, exponent, data):
    small = clone(estimator).fit(data)
    huge = clone(estimator).fit(data * 2.0**exponent)
    with np.errstate(over="raise"):
        np.testing.assert_array_equal(
            huge.decision_function(data * 2.0**exponent), small.decision_function(data)
        )


def test_inputs_are_not_modified_and_frames_work(data):
    before = data.copy()
    frame = pd.DataFrame(data, index=[f"p{i}" for i in range(data.shape[0])])
    for estimator in CHARTS:
        labels = clone(estimator).fit(data).predict(data)
        np.testing.assert_array_equal(clone(estimator).fit(frame).predict(frame), labels)
    np.testing.assert_array_equal(data, before)


def test_row_subset_invariance(data):
    for estimator in CHARTS:
        fitted = clone(estimator).fit(data)
        rows = [5, 0, 17, 3]
        np.testing.assert_array_equal(
            fitted.decision_function(data[rows]), fitted.decision_function(data)[rows]
        )


@pytest.mark.parametrize(
    ("estimator", "name"),
    [
        (EWMADetector(lam=0.0), "lam"),
        (EWMADetector(lam=1.5), "lam"),
        (EWMADetector(n_sigma=-1.0), "n_sigma"),
        (EWMADetector(n_sigma=np.inf), "n_sigma"),
        (EWMADetector(n_baseline=1), "n_baseline"),
        (EWMADetector(sd="own"), "sd"),
        (EWMADetector(sd=0.0), "sd"),
        (CUSUMDetector(k=-0.5), "k"),
        (CUSUMDetector(h=np.inf), "h"),
        (CUSUMDetector(h="4"), "h"),
        (CUSUMDetector(sd=-2.0), "sd"),
    ],
)
def test_bad_parameters_raise_naming_them(estimator, name):
    with pytest.raises(ValueError, match=name):
        estimator.fit(np.ones((3, 8)))


def test_boolean_parameters_are_refused():
    with pytest.raises(TypeError, match="`lam`"):
        EWMADetector(lam=True).fit(np.ones((3, 8)))


def test_parameters_changed_after_fit_are_checked(data):
    detector = CUSUMDetector().fit(data)
    detector.set_params(h=-1.0)
    with pytest.raises(ValueError, match="'h'"):
        detector.predict(data)


def test_pooled_sd_without_degrees_of_freedom_warns():
    X = np.array([[1.0, np.nan, np.nan], [np.nan, 2.0, np.nan]])
    with pytest.warns(UserWarning, match="sd='pooled'"):
        detector = CUSUMDetector(sd="pooled").fit(X)
    assert not detector.predict(X).any()
