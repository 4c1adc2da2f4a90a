"""Vectorised kernels of Tukey's control-chart rupture rule.

Every function works on a 2-D float array ``X`` of shape ``(n_series, n_sessions)`` with NaN
for missing sessions and treats all rows at once: rows are sorted once along axis 1 (NaN
last), order statistics are read with ``np.take_along_axis``, and session masks are plain
element-wise comparisons (a comparison with NaN is False, which encodes "both sessions
observed" for free). ``detect_arrays`` drives the kernels over row chunks so that the
temporaries stay under a fixed byte budget whatever the number of series.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NUMPY_QUANTILE_METHODS = frozenset(
    {
        "inverted_cdf",
        "averaged_inverted_cdf",
        "closest_observation",
        "interpolated_inverted_cdf",
        "hazen",
        "weibull",
        "linear",
        "median_unbiased",
        "normal_unbiased",
        "lower",
        "higher",
        "midpoint",
        "nearest",
    }
)
QUARTILE_METHODS = frozenset({"tukey"}) | NUMPY_QUANTILE_METHODS

NO_RUPTURE, REPAIRED, UNREPAIRED, UNRESOLVED = 0, 1, 2, 3

# Bytes of temporaries allowed per row chunk: small enough to stay in cache-friendly
# territory, large enough that the per-chunk Python overhead is negligible.
CHUNK_BYTES = 8 * 2**20


class RowSummary(NamedTuple):
    """Per-series order statistics (each of shape ``(n_series,)``, NaN where undefined)."""

    n_observed: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    lower_half_median: np.ndarray


def _half_median(sorted_rows, start, size):
    """Median of ``sorted_rows[i, start[i] : start[i] + size[i]]`` for every row i."""
    size = np.asarray(size)
    valid = size > 0
    first = start + np.maximum(size - 1, 0) // 2
    second = start + size // 2
    idx = np.stack([first, second], axis=1)
    idx = np.where(valid[:, None], idx, 0)
    pair = np.take_along_axis(sorted_rows, idx, axis=1)
    middle = (pair[:, 0] + pair[:, 1]) / 2
    return np.where(valid, middle, np.nan)


def _numpy_quartiles(sorted_rows, n_observed, method):
    """Q1 and Q3 by ``numpy.quantile`` on the observed values, one call per row length."""
    q1 = np.full(sorted_rows.shape[0], np.nan)
    q3 = np.full(sorted_rows.shape[0], np.nan)
    for count in np.unique(n_observed):
        if count == 0:
            continue
        rows = np.flatnonzero(n_observed == count)
        quartiles = np.quantile(sorted_rows[rows, :count], [0.25, 0.75], axis=1, method=method)
        q1[rows] = quartiles[0]
        q3[rows] = quartiles[1]
    return q1, q3


def row_summaries(X, *, quartile_method="tukey", lower_half="inclusive"):
    """Median, quartiles and lower-half median of each row's observed values.

    Tukey's hinges use the inclusive halves (the median belongs to both halves when the
    count is odd); ``lower_half`` only changes the lower-half median used by the
    pre-session and repair rules.
    """
    sorted_rows = np.sort(X, axis=1)
    n_observed = np.count_nonzero(~np.isnan(X), axis=1)
    zeros = np.zeros_like(n_observed)
    median = _half_median(sorted_rows, zeros, n_observed)
    hinge_size = (n_observed + 1) // 2
    lower_size = hinge_size if lower_half == "inclusive" else n_observed // 2
    lower_half_median = _half_median(sorted_rows, zeros, lower_size)
    if quartile_method == "tukey":
        q1 = _half_median(sorted_rows, zeros, hinge_size)
        q3 = _half_median(sorted_rows, n_observed - hinge_size, hinge_size)
    else:
        q1, q3 = _numpy_quartiles(sorted_rows, n_observed, quartile_method)
    return RowSummary(n_observed, median, q1, q3, lower_half_median)


def longest_observed_run(X):
    """Length of the longest run of consecutive observed sessions in each row."""
    observed = ~np.isnan(X)
    running = np.cumsum(observed, axis=1, dtype=np.int32)
    last_reset = np.maximum.accumulate(np.where(observed, 0, running), axis=1)
    if X.shape[1] == 0:
        return np.zeros(X.shape[0], dtype=np.int32)
    return (running - last_reset).max(axis=1)


def eligible_series(X, min_consecutive):
    """Rows with at least ``min_consecutive`` consecutive observed sessions."""
    return longest_observed_run(X) >= min_consecutive


def tcc_mask(X, q1, iqr, lower_half_median, iqr_multiplier, eligible):
    """TCC criterion: ``x[t] < Q1 - k * IQR`` and ``x[t-1] > LHM`` (column 0 never)."""
    lower_control_limit = q1 - iqr_multiplier * iqr
    mask = np.zeros(X.shape, dtype=bool)
    np.logical_and(
        X[:, 1:] < lower_control_limit[:, None],
        X[:, :-1] > lower_half_median[:, None],
        out=mask[:, 1:],
    )
    mask &= eligible[:, None]
    return mask


def absolute_mask(X, threshold, eligible):
    """Absolute criterion: a decrease ``x[t-1] - x[t] >= threshold`` (and > 0)."""
    mask = np.zeros(X.shape, dtype=bool)
    drop = X[:, :-1] - X[:, 1:]
    np.logical_and(drop >= threshold, drop > 0, out=mask[:, 1:])
    mask &= eligible[:, None]
    return mask


def session_drop(X):
    """``x[t-1] - x[t]`` for every session (NaN at t = 0 or where either is missing)."""
    drop = np.full(X.shape, np.nan)
    np.subtract(X[:, :-1], X[:, 1:], out=drop[:, 1:])
    return drop


def tcc_score(X, q1, iqr, lower_half_median, eligible):
    """TCC score ``(Q1 - x[t]) / IQR`` where the pre-session rule holds, ``-inf`` elsewhere.

    ``score > k`` is the TCC criterion for multiplier ``k``; with IQR = 0 a value below Q1
    scores ``+inf`` and any other value ``-inf``.
    """
    score = np.full(X.shape, -np.inf)
    current = X[:, 1:]
    below_q1 = current < q1[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = (q1[:, None] - current) / iqr[:, None]
    raw = np.where(iqr[:, None] > 0, raw, np.where(below_q1, np.inf, -np.inf))
    applies = (X[:, :-1] > lower_half_median[:, None]) & ~np.isnan(current) & eligible[:, None]
    score[:, 1:] = np.where(applies, raw, -np.inf)
    return score


def repair_labels(X, central, lower_half_median):
    """Label each central session: repaired if ``x[t+1] >= LHM``, unrepaired if below,
    unresolved when t is the last session or ``x[t+1]`` is missing."""
    post = np.full(X.shape, np.nan)
    post[:, :-1] = X[:, 1:]
    labels = np.full(X.shape, UNRESOLVED, dtype=np.int8)
    labels[post >= lower_half_median[:, None]] = REPAIRED
    labels[post < lower_half_median[:, None]] = UNREPAIRED
    labels[~central] = NO_RUPTURE
    return labels


def pooled_sd(X, eligible, kind="within"):
    """Pooled standard deviation of the eligible rows and its degrees of freedom.

    ``"within"``: ``sqrt(sum_i sum_t (x_it - mean_i)^2 / sum_i (n_i - 1))``;
    ``"total"``: the standard deviation (ddof=1) of all observed values of those rows.
    Returns ``(sd, dof)``; ``sd`` is NaN when ``dof`` is 0.
    """
    parts = pooled_sd_parts(X, eligible, kind)
    if kind == "within":
        return finish_pooled_sd(*parts)
    return finish_pooled_sd(*combine_total_parts([parts]))


def pooled_sd_parts(X, eligible, kind="within"):
    """Sufficient sums for :func:`pooled_sd` on one block of rows.

    ``"within"`` gives ``(sum of squared deviations, sum of (n_i - 1))``, which add across
    blocks; ``"total"`` gives ``(count, sum, sum of squares about the block mean)`` for the
    pairwise (Chan et al.) combination of :func:`combine_total_parts`.
    """
    rows = X[eligible]
    observed = ~np.isnan(rows)
    if kind == "within":
        counts = observed.sum(axis=1)
        means = np.where(observed, rows, 0.0).sum(axis=1) / np.maximum(counts, 1)
        deviations = np.where(observed, rows - means[:, None], 0.0)
        return float((deviations**2).sum()), int((counts - 1).clip(min=0).sum())
    values = rows[observed]
    if values.size == 0:
        return 0, 0.0, 0.0
    return values.size, float(values.sum()), float(((values - values.mean()) ** 2).sum())


def combine_total_parts(parts):
    """Combine per-block ``(count, sum, centred sum of squares)`` into ``(ss, dof)``."""
    count, total, sum_squares = 0, 0.0, 0.0
    for block_count, block_sum, block_ss in parts:
        if block_count == 0:
            continue
        if count == 0:
            count, total, sum_squares = block_count, block_sum, block_ss
            continue
        delta = block_sum / block_count - total / count
        sum_squares += block_ss + delta**2 * count * block_count / (count + block_count)
        count += block_count
        total += block_sum
    return sum_squares, max(count - 1, 0)


def finish_pooled_sd(sum_squares, dof):
    """``sqrt(sum_squares / dof)``, NaN when there are no degrees of freedom."""
    if dof <= 0:
        return float("nan"), 0
    return float(np.sqrt(sum_squares / dof)), dof


def row_chunks(n_rows, n_cols, bytes_per_cell=64):
    """Row slices whose temporaries (``bytes_per_cell`` per cell) fit ``CHUNK_BYTES``."""
    rows_per_chunk = max(1, CHUNK_BYTES // max(1, n_cols * bytes_per_cell))
    for start in range(0, n_rows, rows_per_chunk):
        yield slice(start, min(start + rows_per_chunk, n_rows))


def detect_arrays(
    X,
    *,
    iqr_multiplier,
    quartile_method,
    lower_half,
    min_consecutive,
    absolute_threshold,
    outputs=("labels",),
):
    """Run the whole rule chunk by chunk and return the requested arrays.

    ``absolute_threshold`` is ``absolute_sd_multiplier * pooled_sd`` (None: criterion off).
    ``outputs`` names what to return among ``labels, tcc, absolute, score, drop,
    eligible, median, q1, q3, lower_half_median``; only those are computed and stored.
    """
    n_rows, n_cols = X.shape
    wanted = set(outputs)
    session_dtypes = {
        "labels": np.int8,
        "tcc": bool,
        "absolute": bool,
        "score": float,
        "drop": float,
    }
    series_dtypes = {
        "eligible": bool,
        "median": float,
        "q1": float,
        "q3": float,
        "lower_half_median": float,
    }
    result = {name: np.empty((n_rows, n_cols), dtype) for name, dtype in session_dtypes.items()}
    result = {name: value for name, value in result.items() if name in wanted}
    result.update(
        {name: np.empty(n_rows, dtype) for name, dtype in series_dtypes.items() if name in wanted}
    )
    for rows in row_chunks(n_rows, n_cols):
        block = X[rows]
        summary = row_summaries(block, quartile_method=quartile_method, lower_half=lower_half)
        iqr = summary.q3 - summary.q1
        eligible = eligible_series(block, min_consecutive)
        tcc = tcc_mask(block, summary.q1, iqr, summary.lower_half_median, iqr_multiplier, eligible)
        if absolute_threshold is None:
            absolute = np.zeros_like(tcc)
        else:
            absolute = absolute_mask(block, absolute_threshold, eligible)
        chunk = {"tcc": tcc, "absolute": absolute, "eligible": eligible}
        if "labels" in wanted:
            chunk["labels"] = repair_labels(block, tcc | absolute, summary.lower_half_median)
        if "score" in wanted:
            chunk["score"] = tcc_score(
                block, summary.q1, iqr, summary.lower_half_median, eligible
            )
        if "drop" in wanted:
            chunk["drop"] = session_drop(block)
        chunk.update(summary._asdict())
        for name, target in result.items():
            target[rows] = chunk[name]
    return result
