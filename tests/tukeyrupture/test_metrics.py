"""Tests of rupture_scores, the scorer in GridSearchCV and the ROC over k."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.model_selection import GridSearchCV, cross_val_score

from tukeyrupture.comparison.metrics import (
    RuptureScores,
    make_rupture_scorer,
    rupture_roc_curve,
    rupture_scores,
)
from tukeyrupture.comparison.rivals import ShewhartDetector
from tukeyrupture.comparison.simulate import simulate_alliance
from tukeyrupture.detector import TukeyRuptureDetector


def _oracle(y_true, y_pred, tolerance):
    """Per-series greedy matching by distance from an explicit sorted list of pairs."""
    n_matched = n_agreeing = 0
    for truth, pred in zip(y_true, y_pred):
        true_t = np.flatnonzero(truth)
        pred_t = np.flatnonzero(pred)
        pairs = [
            (abs(p - t), 0 if p <= t else 1, t, p)
            for t in true_t
            for p in pred_t
            if abs(p - t) <= tolerance
        ]
        used_t, used_p = set(), set()
        for _, _, t, p in sorted(pairs):
            if t in used_t or p in used_p:
                continue
            used_t.add(t)
            used_p.add(p)
            n_matched += 1
            n_agreeing += int(truth[t] == pred[p])
    return n_matched, n_agreeing


def test_perfect_prediction():
    sim = simulate_alliance(50, 10, rupture_rate=0.2, random_state=0)
    scores = rupture_scores(sim.labels, sim.labels)
    assert isinstance(scores, RuptureScores)
    assert scores.precision == scores.recall == scores.f1 == 1.0
    assert scores.sensitivity == scores.specificity == scores.repair_agreement == 1.0
    assert scores.false_positive_rate == 0.0
    assert scores.n_true == scores.n_predicted == scores.n_matched == sim.n_ruptures


def test_hand_example_with_tolerance():
    y_true = np.array([[0, 0, 0, 1, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0, 0, 0]])
    y_pred = np.array([[0, 0, 2, 0, 1, 0, 0, 2], [0, 0, 0, 0, 0, 1, 0, 0]])
    exact = rupture_scores(y_true, y_pred)
    assert (exact.n_matched, exact.n_true, exact.n_predicted) == (1, 2, 4)
    assert exact.precision == 0.25 and exact.recall == 0.5
    assert exact.f1 == pytest.approx(2 * 1 / 6)
    assert exact.sensitivity == 1.0 and exact.specificity == 0.0
    assert exact.false_positive_rate == pytest.approx(3 / 14)
    assert exact.repair_agreement == 1.0
    # tolerance 1: the true rupture at 3 matches the prediction at 2 (before it, at equal
    # distance), whose label (2) differs from the truth (1).
    loose = rupture_scores(y_true, y_pred, tolerance=1)
    assert loose.n_matched == 2 and loose.recall == 1.0 and loose.precision == 0.5
    assert loose.repair_agreement == 0.5
    frame = loose.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "tolerance"] == 1
    assert loose.to_dict()["n_matched"] == 2


def test_each_rupture_matched_at_most_once():
    y_true = np.array([[0, 1, 0, 1, 0, 0]])
    y_pred = np.array([[0, 0, 1, 0, 0, 0]])
    scores = rupture_scores(y_true, y_pred, tolerance=2)
    assert scores.n_matched == 1 and scores.recall == 0.5 and scores.precision == 1.0


def test_zero_division():
    y_true = np.zeros((3, 6), dtype=np.int8)
    y_pred = np.zeros((3, 6), dtype=np.int8)
    scores = rupture_scores(y_true, y_pred)
    assert math.isnan(scores.precision) and math.isnan(scores.recall)
    assert math.isnan(scores.sensitivity) and scores.specificity == 1.0
    assert rupture_scores(y_true, y_pred, zero_division=0.0).precision == 0.0


def test_one_dimensional_input_is_one_series():
    scores = rupture_scores([0, 1, 0, 0], [0, 1, 0, 0])
    assert scores.n_series == 1 and scores.recall == 1.0


@settings(max_examples=60, deadline=None)
@given(
    y_true=arrays(np.int8, (4, 9), elements=st.sampled_from([0, 0, 0, 1, 2, 3])),
    y_pred=arrays(np.int8, (4, 9), elements=st.sampled_from([0, 0, 0, 1, 2, 3])),
    tolerance=st.integers(0, 4),
)
def test_matching_equals_per_series_oracle(y_true, y_pred, tolerance):
    scores = rupture_scores(y_true, y_pred, tolerance)
    n_matched, n_agreeing = _oracle(y_true, y_pred, tolerance)
    assert scores.n_matched == n_matched
    if n_matched:
        assert scores.repair_agreement == pytest.approx(n_agreeing / n_matched)
    assert scores.n_matched <= min(scores.n_true, scores.n_predicted)
    assert rupture_scores(y_true, y_pred, tolerance + 1).n_matched >= n_matched


@pytest.mark.parametrize(
    ("y_true", "y_pred", "tolerance", "error", "match"),
    [
        (np.zeros((2, 5)), np.zeros((2, 6)), 0, ValueError, "same shape"),
        (np.full((2, 5), 4), np.zeros((2, 5)), 0, ValueError, "`y_true`"),
        (np.zeros((2, 5)), np.full((2, 5), 0.5), 0, TypeError, "`y_pred`"),
        (np.zeros((2, 5)), np.zeros((2, 5)), -1, ValueError, "`tolerance`"),
        (np.zeros((2, 5, 2)), np.zeros((2, 5, 2)), 0, ValueError, "`y_true`"),
    ],
)
def test_bad_input(y_true, y_pred, tolerance, error, match):
    with pytest.raises(error, match=match):
        rupture_scores(y_true, y_pred, tolerance)


def test_grid_search_with_scorer():
    sim = simulate_alliance(300, 20, depth=3.0, random_state=1)
    search = GridSearchCV(
        TukeyRuptureDetector(),
        {"iqr_multiplier": [0.5, 1, 1.5]},
        scoring=make_rupture_scorer("f1"),
    ).fit(sim.X, sim.labels)
    assert search.best_params_["iqr_multiplier"] in (0.5, 1, 1.5)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    fpr = cross_val_score(
        ShewhartDetector(), sim.X, sim.labels, scoring=make_rupture_scorer("false_positive_rate")
    )
    assert (fpr <= 0).all()
    multi = GridSearchCV(
        TukeyRuptureDetector(),
        {"iqr_multiplier": [1.0, 2.0]},
        scoring={
            "recall": make_rupture_scorer("recall", tolerance=1),
            "f1": make_rupture_scorer("f1"),
        },
        refit="f1",
    ).fit(sim.X, sim.labels)
    assert "mean_test_recall" in multi.cv_results_


def test_scorer_equals_rupture_scores():
    sim = simulate_alliance(100, 15, depth=2.0, random_state=2)
    detector = TukeyRuptureDetector().fit(sim.X)
    expected = rupture_scores(sim.labels, detector.predict(sim.X), 1, zero_division=0.0)
    assert make_rupture_scorer("recall", 1)(detector, sim.X, sim.labels) == expected.recall


def test_scorer_rejects_unknown_metric():
    with pytest.raises(ValueError, match="`metric`.*'f1'"):
        make_rupture_scorer("accuracy")
    with pytest.raises(ValueError, match="`tolerance`"):
        make_rupture_scorer("f1", tolerance=-2)


def test_roc_points_are_tcc_rates_over_k():
    sim = simulate_alliance(400, 20, depth=2.5, random_state=3)
    roc = rupture_roc_curve(TukeyRuptureDetector(), sim.X, sim.labels, drop_intermediate=False)
    assert roc.thresholds[0] == np.inf and roc.thresholds[-1] == -np.inf
    assert (roc.fpr[-1], roc.tpr[-1]) == (1.0, 1.0)
    assert 0.5 < roc.auc <= 1.0
    truth = sim.central
    for k in (0.5, 1.0, 1.5, 2.0):
        labels = (
            TukeyRuptureDetector(iqr_multiplier=k, absolute_sd_multiplier=None)
            .fit(sim.X)
            .predict(sim.X)
        )
        flagged = labels != 0
        tpr = flagged[truth].mean()
        fpr = flagged[~truth].mean()
        # The TCC criterion with multiplier k is "score > k": the point of the smallest
        # threshold above k.
        index = np.flatnonzero(roc.thresholds > k)[-1]
        assert roc.tpr[index] == pytest.approx(tpr)
        assert roc.fpr[index] == pytest.approx(fpr)
    frame = roc.to_frame()
    assert list(frame.columns) == ["threshold", "fpr", "tpr"]


def test_roc_does_not_modify_unfitted_estimator():
    sim = simulate_alliance(50, 12, random_state=4)
    detector = ShewhartDetector()
    roc = rupture_roc_curve(detector, sim.X, sim.labels)
    assert not hasattr(detector, "n_features_in_")
    assert roc.fpr[0] == 0.0 and roc.tpr[-1] == 1.0


def test_roc_with_only_infinite_scores():
    X = np.tile([5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0], (3, 1))
    y = np.zeros(X.shape, dtype=np.int8)
    y[0, 3] = 1
    roc = rupture_roc_curve(TukeyRuptureDetector(), X, y)
    np.testing.assert_array_equal(roc.fpr, [0.0, 1.0])
    np.testing.assert_array_equal(roc.tpr, [0.0, 1.0])
    with pytest.raises(ValueError, match="`y_true`"):
        rupture_roc_curve(TukeyRuptureDetector(), X, y[:, :4])


# --- issue 8: wrongly typed arguments are TypeErrors naming them -----------------------


@pytest.mark.parametrize("tolerance", [1.0, 1.5, True, "1", None])
def test_tolerance_of_wrong_type(tolerance):
    labels = np.zeros((2, 5), dtype=np.int8)
    with pytest.raises(TypeError, match="`tolerance`"):
        rupture_scores(labels, labels, tolerance)
    with pytest.raises(TypeError, match="`tolerance`"):
        make_rupture_scorer("f1", tolerance=tolerance)


@pytest.mark.parametrize("zero_division", ["0", None, True, [0.0]])
def test_zero_division_of_wrong_type(zero_division):
    labels = np.zeros((2, 5), dtype=np.int8)
    with pytest.raises(TypeError, match="`zero_division`"):
        rupture_scores(labels, labels, zero_division=zero_division)
    with pytest.raises(TypeError, match="`zero_division`"):
        make_rupture_scorer("f1", zero_division=zero_division)


@pytest.mark.parametrize("metric", [3, None, ["f1"], b"f1"])
def test_metric_of_wrong_type(metric):
    with pytest.raises(TypeError, match="`metric`"):
        make_rupture_scorer(metric)


@pytest.mark.parametrize("value", ["no", "False", 0, 1, None])
def test_drop_intermediate_must_be_a_bool(value):
    sim = simulate_alliance(20, 10, random_state=0)
    with pytest.raises(TypeError, match="`drop_intermediate`"):
        rupture_roc_curve(TukeyRuptureDetector(), sim.X, sim.labels, drop_intermediate=value)


def test_roc_needs_a_decision_function():
    sim = simulate_alliance(20, 10, random_state=0)
    with pytest.raises(TypeError, match="`estimator`"):
        rupture_roc_curve(object(), sim.X, sim.labels)


def test_boolean_masks_are_refused_as_labels_but_fine_for_roc():
    sim = simulate_alliance(30, 10, rupture_rate=0.2, random_state=1)
    with pytest.raises(TypeError, match="`y_true`.*boolean"):
        rupture_scores(sim.central, sim.labels)
    with pytest.raises(TypeError, match="`y_pred`.*boolean"):
        rupture_scores(sim.labels, sim.central)
    by_mask = rupture_roc_curve(TukeyRuptureDetector(), sim.X, sim.central)
    by_labels = rupture_roc_curve(TukeyRuptureDetector(), sim.X, sim.labels)
    assert by_mask.auc == by_labels.auc


def test_ragged_labels_are_a_value_error():
    with pytest.raises(ValueError, match="`y_true`"):
        rupture_scores([[0, 1, 0], [0, 1]], [[0, 1, 0], [0, 1, 0]])


def test_a_huge_tolerance_means_the_whole_series():
    sim = simulate_alliance(30, 12, rupture_rate=0.2, random_state=4)
    y_pred = np.roll(sim.labels, 3, axis=1)
    whole = rupture_scores(sim.labels, y_pred, tolerance=11)
    huge = rupture_scores(sim.labels, y_pred, tolerance=10**9)
    assert huge.tolerance == 10**9
    assert {**huge.to_dict(), "tolerance": 11} == whole.to_dict()
    assert whole.n_matched > rupture_scores(sim.labels, y_pred, tolerance=2).n_matched
