"""Vectorised kernels of Tukey's control-chart rupture rule.

Every function works on a 2-D float array ``X`` of shape ``(n_series, n_sessions)`` with NaN
for missing sessions and treats all rows at once. Rows are sorted once along axis 1 (NaN
last) and order statistics are gathered from the flattened sorted array through small
per-count index tables. Session rules are element-wise comparisons, in which NaN compares
False: that encodes "both sessions observed" for free. ``detect_arrays`` drives the kernels
over row chunks so that temporaries stay under a fixed byte budget, and evaluates the
session rules on a transposed copy of each chunk (sessions x series), where every
comparison runs over one long contiguous row instead of millions of 12-element rows.

Numerical range: every rule is invariant under scaling by a power of two, which is exact in
floating point. Rows whose values come close enough to the float maximum that a hinge sum,
an IQR or a control limit could overflow are scaled down by a power of two first
(:func:`overflow_shifts`), and the pooled SD is summed in scaled form
(:func:`pooled_sd_parts`), so results do not depend on the unit of the scores.
"""

from __future__ import annotations

import math
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
#: The name of each label code, as ``to_frame`` tables write it.
LABEL_NAMES = ("none", "repaired", "unrepaired", "unresolved")

# Bytes of temporaries allowed per row chunk: small enough to stay cache-friendly, large
# enough that the per-chunk Python overhead is negligible.
CHUNK_BYTES = 8 * 2**20

# Multiplying eight 0/1 bytes (read as one little-endian uint64) by this constant gathers
# them into the top byte, bit j = byte j: a branch-free packbits for short rows.
_GATHER_BYTES = np.uint64(0x0102040810204080)
_MAX_BITS = 64

# Values below 2**_MAX_EXPONENT are finite.
_MAX_EXPONENT = int(np.finfo(np.float64).maxexp)


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


def _midpoints(low, high):
    """``(low + high) / 2`` correctly rounded, also where ``low + high`` overflows.

    Halving is exact for normal numbers, so ``low / 2 + high / 2`` gives the same value as
    ``(low + high) / 2`` wherever the sum is finite; it is used only where it is not (both
    values near the float maximum), keeping the common path to one addition.
    """
    with np.errstate(over="ignore"):
        total = low + high
    middle = total / 2
    overflow = np.isinf(total)
    if overflow.any():
        middle[overflow] = low[overflow] / 2 + high[overflow] / 2
    return middle


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
    stats = list(_midpoints(values[..., 0], values[..., 1]).T)
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
    if not np.all(threshold > 0):
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
    Returns ``(sd, dof)``; ``sd`` is NaN when ``dof`` is 0 (and ``inf`` only when the SD
    itself exceeds the float range). Scaling ``X`` by a power of two scales ``sd`` by
    exactly that power, and adding a constant to integer-valued ``X`` leaves it unchanged.
    """
    return finish_pooled_sd(*combine_pooled_parts([pooled_sd_parts(X, eligible, kind)], kind))


def row_exponents(X):
    """Binary exponent ``e`` of each row's largest magnitude: ``max |x| < 2**e`` (0 when the
    row is all NaN or all zero)."""
    if X.shape[1] == 0:
        return np.zeros(X.shape[0], dtype=np.int32)
    magnitude = np.maximum(np.fmax.reduce(X, axis=1), -np.fmin.reduce(X, axis=1))
    return np.frexp(magnitude)[1]


def _scaled_sum(values, exponents):
    """``sum(values * 2**exponents)`` as ``(mantissa, exponent)``, for non-negative values."""
    positive = values > 0
    if not positive.any():
        return 0.0, 0
    values, exponents = values[positive], exponents[positive].astype(np.int64)
    top = int((np.frexp(values)[1] + exponents).max())
    return float(np.ldexp(values, exponents - top).sum()), top


def pooled_sd_parts(X, eligible, kind="within"):
    """Sufficient sums for :func:`pooled_sd` on one block of rows, in scaled form.

    Each row is scaled by a power of two so that its largest magnitude is below 1 (exact),
    and centred on its first observed value before the two-pass sum of squares, so that
    neither the squares nor the sums can overflow or underflow and a constant offset of the
    data does not change the result. ``"within"`` gives ``(mantissa, exponent, dof)`` with
    the sum of squared deviations ``mantissa * 2**exponent``; ``"total"`` gives ``(count,
    mean, centred sum of squares, exponent)``, the mean in units of ``2**exponent`` and the
    sum of squares in units of ``4**exponent``. :func:`combine_pooled_parts` adds blocks.
    """
    rows = X[eligible]
    observed = ~np.isnan(rows)
    if kind == "within":
        counts = observed.sum(axis=1)
        exponents = row_exponents(rows)
        scaled = np.ldexp(rows, -exponents[:, None])
        first = scaled[np.arange(rows.shape[0]), np.argmax(observed, axis=1)]
        centred = np.where(observed, scaled - first[:, None], 0.0)
        means = centred.sum(axis=1) / np.maximum(counts, 1)
        deviations = np.where(observed, centred - means[:, None], 0.0)
        squares = np.einsum("ij,ij->i", deviations, deviations)
        mantissa, exponent = _scaled_sum(squares, 2 * exponents)
        return mantissa, exponent, int((counts - 1).clip(min=0).sum())
    values = rows[observed]
    if values.size == 0:
        return 0, 0.0, 0.0, 0
    exponent = int(row_exponents(values[None, :])[0])
    scaled = np.ldexp(values, -exponent)
    centred = scaled - scaled[0]
    mean = centred.mean()
    sum_squares = float(((centred - mean) ** 2).sum())
    return values.size, float(scaled[0] + mean), sum_squares, exponent


def combine_pooled_parts(parts, kind="within"):
    """Combine per-block :func:`pooled_sd_parts` into ``((mantissa, exponent), dof)``, the
    sum of squares being ``mantissa * 2**exponent``."""
    if kind == "within":
        mantissas = np.array([part[0] for part in parts], dtype=np.float64)
        exponents = np.array([part[1] for part in parts], dtype=np.int64)
        return _scaled_sum(mantissas, exponents), sum(part[2] for part in parts)
    count, mean, sum_squares, exponent = 0, 0.0, 0.0, 0
    for block_count, block_mean, block_ss, block_exponent in parts:
        if block_count == 0:
            continue
        if count == 0:
            count, mean, sum_squares, exponent = block_count, block_mean, block_ss, block_exponent
            continue
        # pairwise update (Chan et al.) in the units of the larger of the two exponents
        top = max(exponent, block_exponent)
        mean_a, mean_b = (
            math.ldexp(mean, exponent - top),
            math.ldexp(block_mean, block_exponent - top),
        )
        delta = mean_b - mean_a
        total = count + block_count
        sum_squares = (
            math.ldexp(sum_squares, 2 * (exponent - top))
            + math.ldexp(block_ss, 2 * (block_exponent - top))
            + delta * delta * (count * block_count / total)
        )
        mean = mean_a + delta * (block_count / total)
        count, exponent = total, top
    return (sum_squares, 2 * exponent), max(count - 1, 0)


def finish_pooled_sd(sum_squares, dof):
    """``sqrt(sum_squares / dof)`` from a scaled ``(mantissa, exponent)`` sum of squares;
    NaN when there are no degrees of freedom."""
    if dof <= 0:
        return float("nan"), 0
    mantissa, exponent = sum_squares
    half, odd = divmod(exponent, 2)
    with np.errstate(over="ignore"):
        sd = np.ldexp(np.sqrt(np.ldexp(mantissa / dof, odd)), half)
    return float(sd), dof


def overflow_shifts(X, headroom):
    """Per-row exponents that scale rows near the float maximum below 1 (0 for the others).

    A row is shifted when its largest magnitude is at least ``2**(1024 - headroom)``, i.e.
    when a quantity up to ``2**headroom`` times the values (a sum of two values, an IQR
    times the multiplier) could overflow. Rows far from the maximum keep their values
    bit for bit, and the shift, a power of two, is exact.
    """
    exponents = row_exponents(X)
    return np.where(exponents > _MAX_EXPONENT - headroom, exponents, 0)


def shift_rows(X, shifts, inverse=False):
    """``X * 2**-shifts`` by row (``2**shifts`` with ``inverse``); ``X`` itself when no row
    is shifted. Overflow on the way back gives the correctly rounded ``inf``."""
    if not shifts.any():
        return X
    exponents = shifts if inverse else -shifts
    with np.errstate(over="ignore"):
        return np.ldexp(X, exponents if X.ndim == 1 else exponents[:, None])


def scaled_threshold(multiplier, sd, shifts):
    """``multiplier * sd`` in the units of rows shifted by ``shifts`` (scalar when none is).

    A multiplier of 0 gives 0 even for an infinite SD.
    """
    if multiplier == 0:
        return 0.0
    if not shifts.any():
        return multiplier * sd
    with np.errstate(over="ignore"):
        return multiplier * np.ldexp(sd, -shifts)


def _tcc_headroom(iqr_multiplier):
    """Bits above the data that ``Q1 - k * IQR`` can need: ``k * IQR < 2k * max |x|``."""
    return math.frexp(max(1.0, float(iqr_multiplier)))[1] + 2


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
# per-series outputs in the units of X (scaled back for shifted rows), then eligibility
_SERIES_STATS = (
    "median",
    "q1",
    "q3",
    "iqr",
    "lower_control_limit",
    "upper_control_limit",
    "lower_half_median",
)
_SERIES_OUTPUTS = {"eligible": bool, **dict.fromkeys(_SERIES_STATS, float)}


def detect_arrays(
    X,
    *,
    iqr_multiplier,
    quartile_method,
    lower_half,
    min_consecutive,
    absolute_sd_multiplier=None,
    pooled_sd=float("nan"),
    outputs=("labels",),
):
    """Run the whole rule chunk by chunk and return the requested arrays.

    The absolute criterion compares drops with ``absolute_sd_multiplier * pooled_sd``
    (``absolute_sd_multiplier=None``: criterion off). ``outputs`` names what to return
    among ``labels, tcc, absolute, score, drop, eligible, median, q1, q3, iqr,
    lower_control_limit, upper_control_limit, lower_half_median``; only those are stored.
    Rows near the float maximum are evaluated scaled by a power of two
    (:func:`overflow_shifts`); statistics and drops are returned in the units of ``X``.
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
    headroom = _tcc_headroom(iqr_multiplier)
    for rows in row_chunks(n_rows, n_cols):
        block = X[rows]
        bits = observed_bits(block) if n_cols <= _MAX_BITS else None
        eligible = eligible_series(block, min_consecutive, bits=bits)
        shifts = overflow_shifts(block, headroom)
        block = shift_rows(block, shifts)
        summary = row_summaries(
            block,
            quartile_method=quartile_method,
            lower_half=lower_half,
            n_observed=count_observed(block, bits),
            with_median="median" in wanted,
        )
        iqr = summary.q3 - summary.q1
        lower_half_median = summary.lower_half_median
        lower_control_limit = summary.q1 - iqr_multiplier * iqr
        chunk = {
            "eligible": eligible,
            "median": summary.median,
            "q1": summary.q1,
            "q3": summary.q3,
            "iqr": iqr,
            "lower_control_limit": lower_control_limit,
            "lower_half_median": lower_half_median,
        }
        if "upper_control_limit" in wanted:
            chunk["upper_control_limit"] = summary.q3 + iqr_multiplier * iqr
        if wanted & {"labels", "tcc", "absolute"}:
            sessions = np.ascontiguousarray(block.T)
            tcc = _tcc_pairs(sessions, lower_control_limit, lower_half_median, eligible)
            central = tcc
            absolute = None
            if absolute_sd_multiplier is not None:
                threshold = scaled_threshold(absolute_sd_multiplier, pooled_sd, shifts)
                absolute = _absolute_pairs(sessions, threshold, eligible)
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
            chunk["drop"] = shift_rows(session_drop(block), shifts, inverse=True)
        for name, target in result.items():
            if name == "labels":
                continue
            value = chunk[name]
            target[rows] = (
                shift_rows(value, shifts, inverse=True) if name in _SERIES_STATS else value
            )
    return result
