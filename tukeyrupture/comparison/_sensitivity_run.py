"""The cells of a sensitivity study and where they run: serially or on Dask."""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import clone
from sklearn.metrics import auc, roc_curve

from tukeyrupture.comparison.metrics import rupture_scores
from tukeyrupture.comparison.realistic import simulate_realistic

_FLOAT = np.finfo(np.float64)


def roc_points(score, labels, observed):
    """``(fpr, tpr, thresholds, auc)`` over the observed sessions' scores.

    Sessions beyond a series' end and missing sessions are left out (they are neither
    positives nor negatives); infinite scores are clipped to the float range, which keeps
    their order, as ``sklearn.metrics.roc_curve`` rejects infinities.
    """
    truth = labels[observed] != 0
    if truth.all() or not truth.any():
        return None
    score = np.nan_to_num(
        np.asarray(score, dtype=np.float64)[observed],
        nan=_FLOAT.min,
        posinf=_FLOAT.max,
        neginf=_FLOAT.min,
    )
    fpr, tpr, thresholds = roc_curve(truth, score)
    thresholds = np.where(thresholds <= _FLOAT.min, -np.inf, thresholds)
    return fpr, tpr, thresholds, float(auc(fpr, tpr))


def _score_detector(estimator, sim, observed, tolerance):
    """Counts of one detector on one data set, its fit + predict time and its ROC."""
    start = time.perf_counter()
    fitted = clone(estimator).fit(sim.X)
    predicted = fitted.predict(sim.X)
    seconds = time.perf_counter() - start
    scores = rupture_scores(sim.labels, predicted, tolerance)
    counts = {
        "n_true": scores.n_true,
        "n_matched": scores.n_matched,
        "n_false_positive": scores.n_predicted - scores.n_matched,
        # repair_agreement is n_agreeing / n_matched: round() recovers the integer
        "n_repair_agree": round(scores.repair_agreement * scores.n_matched)
        if scores.n_matched
        else 0,
        "seconds": seconds,
    }
    curve = None
    if hasattr(fitted, "decision_function"):
        curve = roc_points(fitted.decision_function(sim.X), sim.labels, observed)
    return counts, curve


def run_condition(index, preset, overrides, n_series, seed, detectors, tolerance):
    """Simulate the data of condition ``index`` and score every detector on it.

    Returns ``(index, rows, curves)``: one dict of counts per detector and one
    ``(detector, fpr, tpr, thresholds)`` per detector with a ``decision_function``.
    """
    sim = simulate_realistic(n_series, preset, **overrides, random_state=seed)
    observed = ~np.isnan(sim.X)
    n_negative = int(np.count_nonzero(observed & (sim.labels == 0)))
    rows, curves = [], []
    for name, estimator in detectors:
        counts, curve = _score_detector(estimator, sim, observed, tolerance)
        rows.append({"detector": name, "n_negative": n_negative, **counts, "auc": np.nan})
        if curve is not None:
            rows[-1]["auc"] = curve[3]
            curves.append((name, *curve[:3]))
    return index, rows, curves


class _NoBar:
    def update(self, n=1):
        pass

    def close(self):
        pass


def _progress_bar(total, enabled):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="sensitivity_study", unit="condition")


def run_serial(tasks, progress):
    bar = _progress_bar(len(tasks), progress)
    try:
        results = []
        for task in tasks:
            results.append(run_condition(*task))
            bar.update()
        return results
    finally:
        bar.close()


def _current_client():
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def run_dask(tasks, client, progress):
    """On ``client``, on the current dask.distributed client, or on dask's threads."""
    client = client if client is not None else _current_client()
    bar = _progress_bar(len(tasks), progress)
    try:
        if client is None:
            return _run_threaded(tasks, bar)
        from distributed import as_completed

        futures = [client.submit(run_condition, *task, pure=False) for task in tasks]
        try:
            for _ in as_completed(futures):
                bar.update()
            return client.gather(futures)
        finally:
            client.cancel(futures)
    finally:
        bar.close()


def _run_threaded(tasks, bar):
    import dask
    from dask.callbacks import Callback

    delayed = [dask.delayed(run_condition, pure=False)(*task) for task in tasks]
    keys = {item.key for item in delayed}

    def posttask(key, result, dsk, state, worker_id):
        if key in keys:
            bar.update()

    with Callback(posttask=posttask):
        return list(dask.compute(*delayed, scheduler="threads"))
