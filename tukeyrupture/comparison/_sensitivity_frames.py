"""The frames of a sensitivity study's result: rates with Wilson intervals, ROC, timing."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def _interval(count, total, confidence):
    """Wilson interval of ``count / total`` (NaN where ``total`` is 0)."""
    count, total = np.asarray(count, dtype=float), np.asarray(total, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    low, high = proportion_confint(count, safe, alpha=1 - confidence, method="wilson")
    return np.where(total > 0, low, np.nan), np.where(total > 0, high, np.nan)


def scores_frame(cells, results, detectors, confidence):
    rows = [
        {"factor": factor, "level": level, "condition": index, **row}
        for factor, level, index in cells
        for row in results[index][1]
    ]
    frame = pd.DataFrame(rows)
    frame.insert(3, "family", frame["detector"].map({n: f for n, f, _ in detectors}))
    rates = {
        "recall": ("n_matched", "n_true"),
        "false_positive_rate": ("n_false_positive", "n_negative"),
        "repair_accuracy": ("n_repair_agree", "n_matched"),
    }
    for rate, (count, total) in rates.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[rate] = np.where(frame[total] > 0, frame[count] / frame[total], np.nan)
        frame[f"{rate}_low"], frame[f"{rate}_high"] = _interval(
            frame[count], frame[total], confidence
        )
    frame = frame.drop(columns=["condition", "seconds"])
    return frame[[c for c in frame.columns if c != "auc"] + ["auc"]]


def roc_frame(cells, results):
    parts = [
        pd.DataFrame(
            {
                "factor": factor,
                "level": [level] * len(fpr),
                "detector": name,
                "threshold": thresholds,
                "fpr": fpr,
                "tpr": tpr,
            }
        )
        for factor, level, index in cells
        for name, fpr, tpr, thresholds in results[index][2]
    ]
    columns = ["factor", "level", "detector", "threshold", "fpr", "tpr"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def timing_frame(results, detectors, n_series):
    seconds = {name: 0.0 for name, _, _ in detectors}
    for _, rows, _ in results:
        for row in rows:
            seconds[row["detector"]] += row["seconds"]
    total = n_series * len(results)
    return pd.DataFrame(
        {
            "detector": list(seconds),
            "family": [family for _, family, _ in detectors],
            "seconds": list(seconds.values()),
            "n_series": total,
            "ms_per_1000_series": [1e6 * value / total for value in seconds.values()],
        }
    )
