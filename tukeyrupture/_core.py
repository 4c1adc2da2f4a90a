"""Vectorised kernels of Tukey's control-chart rupture rule.

Every function works on a 2-D float array ``X`` of shape ``(n_series, n_sessions)`` with NaN
for missing sessions and treats all rows at once. Rows are sorted once along axis 1 (NaN
last) and order statistics are gathered from the flattened sorted array through small
per-count index tables. Session rules are element-wise comparisons, in which NaN compares
False: that encodes "both sessions observed" for free. ``detect_arrays`` drives the kernels
over row chunks so that temporaries stay under a fixed byte budget, and evaluates the
session rules on a transposed copy of each chunk (sessions x series), where every
comparison runs over one long contiguous row instead of millions of 12-element rows.
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

# Bytes of temporaries allowed per row chunk: small enough to stay cache-friendly, large
# enough that the per-chunk Python overhead is negligible.
CHUNK_BYTES = 8 * 2**20

# Multiplying eight 0/1 bytes (read as one little-endian uint64) by this constant gathers
# them into the top byte, bit j = byte j: a branch-free packbits for short rows.
_GATHER_BYTES = np.uint64(0x0102040810204080)
_MAX_BITS = 64


class RowSummary(NamedTuple):
    """Per-series order statistics (each of shape ``(n_series,)``, NaN where undefined)."""

    n_observed: np.ndarray
    median: np.ndarray
    q1: np.ndarray
    q3: np.ndarray
    lower_half_median: np.ndarray


def observed_bits(X):
    """Observed sessions of each row as the bits of a uint64 (bit t = session t).

    Only for ``n_sessions <= 64``; :func:`eligible_series` falls back to run lengths
    beyond that.
    """
    n_rows, n_cols = X.shape
    n_words = -(-n_cols // 8)
    observed = np.zeros((n_rows, n_words * 8), dtype=np.uint8)
    np.logical_not(np.isnan(X), out=observed[:, :n_cols].view(bool))
    words = (observed.view("<u8") * _GATHER_BYTES) >> np.uint64(56)
    bits = words[:, 0].copy()
    for word in range(1, n_words):
        bits |= words[:, word] << np.uint64(8 * word)
    return bits


def count_observed(X, bits=None):
    """Number of observed (non-NaN) sessions per row."""
    if bits is not None:
        return np.bitwise_count(bits).astype(np.intp)
    return np.count_nonzero(~np.isnan(X), axis=1)


def longest_observed_run(X):
    """Length of the longest run of consecutive observed sessions in each row."""
    if X.shape[1] == 0:
        return np.zeros(X.shape[0], dtype=np.int32)
    observed = ~np.isnan(X)
    running = np.cumsum(observed, axis=1, dtype=np.int32)
    last_reset = np.maximum.accumulate(np.where(observed, 0, running), axis=1)
    return (running - last_reset).max(axis=1)


def eligible_series(X, min_consecutive, bits=None):
    """Rows with at least ``min_consecutive`` consecutive observed sessions.

    ``bits`` (from :func:`observed_bits`) gives the fast path for up to 64 sessions: a run
    of ``m`` ones survives ``m - 1`` shift-and-AND steps, done by doubling.
    """
    if min_consecutive > X.shape[1]:
        return np.zeros(X.shape[0], dtype=bool)
    if bits is None and X.shape[1] <= _MAX_BITS:
        bits = observed_bits(X)
    if bits is None:
        return longest_observed_run(X) >= min_consecutive
    covered, runs = 1, bits
    while covered < min_consecutive:
        step = min(covered, min_consecutive - covered)
        runs = runs & (runs >> np.uint64(step))
        covered += step
    return runs != 0


def _middle_pair(start, size):
    """Positions of the two middle values of ``sorted[start : start + size]``."""
    return start + np.maximum(size - 1, 0) // 2, start + size // 2


def _hinge_tables(n_sessions, lower_half, with_median):
    """Index pairs of the lower hinge, upper hinge, then (if needed) the exclusive lower
    half and the median, for each count of observed values.

    Row ``c`` serves the series with ``c`` observed values: each statistic is the mean of
    the two sorted values at its pair of positions. ``valid[c]`` is False where the lower
    half is empty (exclusive halves of one value).
    """
    count = np.arange(n_sessions + 1)
    hinge = (count + 1) // 2
    tables = [_middle_pair(0, hinge), _middle_pair(count - hinge, hinge)]
    lower = hinge
    if lower_half == "exclusive":
        lower = count // 2
        tables.append(_middle_pair(0, lower))
    if with_median:
        tables.append(_middle_pair(0, count))
    pairs = np.stack([np.stack(pair, axis=1) for pair in tables], axis=1)
    return pairs, lower > 0


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


def row_summaries(
    X, *, quartile_method="tukey", lower_half="inclusive", n_observed=None, with_median=True
):
    """Median, quartiles and lower-half median of each row's observed values.

    Tukey's hinges are the medians of the inclusive halves (the median belongs to both
    halves when the count is odd); ``lower_half`` only changes the lower-half median used
    by the pre-session and repair rules. ``with_median=False`` leaves the median NaN.
    """
    n_rows, n_cols = X.shape
    if n_observed is None:
        n_observed = count_observed(X)
    sorted_rows = np.sort(X, axis=1)
    pairs, valid = _hinge_tables(n_cols, lower_half, with_median)
    positions = pairs[n_observed] + (np.arange(n_rows) * n_cols)[:, None, None]
    values = sorted_rows.reshape(-1)[positions]
    stats = list(((values[..., 0] + values[..., 1]) / 2).T)
    lower_hinge, upper_hinge = stats[0], stats[1]
    lower_half_median = stats[2] if lower_half == "exclusive" else lower_hinge
    if not valid.all():
        lower_half_median = np.where(valid[n_observed], lower_half_median, np.nan)
    median = stats[-1] if with_median else np.full(n_rows, np.nan)
    if quartile_method == "tukey":
        q1, q3 = lower_hinge, upper_hinge
    else:
        q1, q3 = _numpy_quartiles(sorted_rows, n_observed, quartile_method)
    return RowSummary(n_observed, median, q1, q3, lower_half_median)


def tcc_mask(X, q1, iqr, lower_half_median, iqr_multiplier, eligible):
    """TCC criterion: ``x[t] < Q1 - k * IQR`` and ``x[t-1] > LHM`` (column 0 never)."""
    lower_control_limit = q1 - iqr_multiplier * iqr
    pairs = _tcc_pairs(X.T, lower_control_limit, lower_half_median, eligible)
    return _sessions_by_series(pairs, first_session=1, dtype=bool)


def absolute_mask(X, threshold, eligible):
    """Absolute criterion: a decrease ``x[t-1] - x[t] >= threshold`` (and > 0)."""
    pairs = _absolute_pairs(X.T, threshold, eligible)
    return _sessions_by_series(pairs, first_session=1, dtype=bool)


def _tcc_pairs(sessions, lower_control_limit, lower_half_median, eligible):
    """TCC mask of sessions 1..n-1, from sessions x series values."""
    limit = np.where(eligible, lower_control_limit, -np.inf)
    mask = np.less(sessions[1:], limit)
    mask &= sessions[:-1] > lower_half_median
    return mask


def _absolute_pairs(sessions, threshold, eligible):
    """Absolute-criterion mask of sessions 1..n-1, from sessions x series values."""
    drop = sessions[:-1] - sessions[1:]
    mask = np.greater_equal(drop, np.where(eligible, threshold, np.inf))
    if not threshold > 0:
        mask &= drop > 0
    return mask


def _sessions_by_series(pairs, first_session, dtype):
    """Back from sessions x series (covering ``first_session``..) to series x sessions."""
    n_sessions = pairs.shape[0] + first_session
    out = np.zeros((pairs.shape[1], n_sessions), dtype=dtype)
    out[:, first_session:] = pairs.T
    return out


def _repair_codes(sessions, central, lower_half_median):
    """Label codes of sessions 1..n-1 (sessions x series) given their central mask."""
    codes = np.full(central.shape, UNRESOLVED, dtype=np.int8)
    post = sessions[2:]
    codes[:-1] -= 2 * (post >= lower_half_median).view(np.int8)
    codes[:-1] -= (post < lower_half_median).view(np.int8)
    codes *= central
    return codes


def repair_labels(X, central, lower_half_median):
    """Label each central session: repaired if ``x[t+1] >= LHM``, unrepaired if below,
    unresolved when t is the last session or ``x[t+1]`` is missing.

    ``central`` is a boolean mask of shape ``(n_series, n_sessions)``.
    """
    sessions = np.vstack([np.full((1, X.shape[0]), np.nan), X.T])
    codes = _repair_codes(sessions, central.T, lower_half_median)
    return np.ascontiguousarray(codes.T)


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


_SESSION_OUTPUTS = {
    "labels": np.int8,
    "tcc": bool,
    "absolute": bool,
    "score": float,
    "drop": float,
}
_SERIES_OUTPUTS = {
    "eligible": bool,
    "median": float,
    "q1": float,
    "q3": float,
    "lower_half_median": float,
}


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
    eligible, median, q1, q3, lower_half_median``; only those are stored.
    """
    n_rows, n_cols = X.shape
    wanted = set(outputs)
    result = {
        name: np.empty((n_rows, n_cols), dtype)
        for name, dtype in _SESSION_OUTPUTS.items()
        if name in wanted
    }
    result.update(
        {
            name: np.empty(n_rows, dtype)
            for name, dtype in _SERIES_OUTPUTS.items()
            if name in wanted
        }
    )
    for rows in row_chunks(n_rows, n_cols):
        block = X[rows]
        bits = observed_bits(block) if n_cols <= _MAX_BITS else None
        eligible = eligible_series(block, min_consecutive, bits=bits)
        summary = row_summaries(
            block,
            quartile_method=quartile_method,
            lower_half=lower_half,
            n_observed=count_observed(block, bits),
            with_median="median" in wanted,
        )
        iqr = summary.q3 - summary.q1
        lower_half_median = summary.lower_half_median
        chunk = {"eligible": eligible, **summary._asdict()}
        if wanted & {"labels", "tcc", "absolute"}:
            sessions = np.ascontiguousarray(block.T)
            lower_control_limit = summary.q1 - iqr_multiplier * iqr
            tcc = _tcc_pairs(sessions, lower_control_limit, lower_half_median, eligible)
            central = tcc
            absolute = None
            if absolute_threshold is not None:
                absolute = _absolute_pairs(sessions, absolute_threshold, eligible)
                central = tcc | absolute
            if "labels" in wanted:
                result["labels"][rows, 0] = NO_RUPTURE
                result["labels"][rows, 1:] = _repair_codes(sessions, central, lower_half_median).T
            if "tcc" in wanted:
                chunk["tcc"] = _sessions_by_series(tcc, 1, bool)
            if "absolute" in wanted:
                chunk["absolute"] = (
                    np.zeros(block.shape, dtype=bool)
                    if absolute is None
                    else _sessions_by_series(absolute, 1, bool)
                )
        if "score" in wanted:
            chunk["score"] = tcc_score(block, summary.q1, iqr, lower_half_median, eligible)
        if "drop" in wanted:
            chunk["drop"] = session_drop(block)
        for name, target in result.items():
            if name != "labels":
                target[rows] = chunk[name]
    return result
