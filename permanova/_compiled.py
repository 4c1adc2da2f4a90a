"""Kernels compiled with numba (the optional ``fast`` extra), equal to their NumPy forms
up to the order of their additions.

:func:`permuted_rows` draws as ``Generator.permuted(..., axis=1)`` does: for every row
the units are shuffled by Fisher-Yates from the last position down, each index drawn by
masked rejection from the bit generator's 32-bit stream. The same generator gives the
same permutations and is left in the same state (``tests/permanova/test_permutations.py``
checks this for every numpy bit generator). For numpy's default bit generator, PCG64,
:func:`permuted_rows_pcg64` works on the state as words (:func:`pcg64_words`): it steps
the 128-bit state in LLVM's 128-bit integers, generates the outputs ahead and resolves two
rejection candidates at a time without a branch: the same stream.

The sums of squares of long runs: :func:`vector_sums` (the vector methods),
:func:`stratum_sums` (the repeated-measures strata), :func:`group_square_sums`,
:func:`inverse_rows` and :func:`screen_ratio` (the many-outcome screens), and the
decisions :func:`decide` and :func:`screen_decide` (F against the observed F and its tie
band). All release the GIL, so blocks run in parallel threads.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numba.np.random.generator_core import next_uint32


def permuted_rows(generator: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """``generator.permuted(np.tile(np.arange(n), (rows, 1)), axis=1)``, advancing
    ``generator`` as that call does."""
    bit_generator = generator.bit_generator
    words = pcg64_words(bit_generator)
    if words is None:
        return _permuted_rows(generator, rows, n)
    out = permuted_rows_pcg64(words, rows, n)
    state = bit_generator.state
    state["state"]["state"] = (int(words[0]) << 64) | int(words[1])
    state["has_uint32"] = int(words[5])
    state["uinteger"] = int(words[4])
    bit_generator.state = state
    return out


def pcg64_words(bit_generator) -> np.ndarray | None:
    """The state of a PCG64 ``bit_generator`` as the words :func:`permuted_rows_pcg64`
    advances (a copy: the generator itself is not touched), or None for other kinds."""
    if type(bit_generator) is not np.random.PCG64:
        return None
    state = bit_generator.state
    return np.array(
        [
            *_halves(state["state"]["state"]),
            *_halves(state["state"]["inc"]),
            state["uinteger"],
            state["has_uint32"],
        ],
        dtype=np.uint64,
    )


def _halves(value: int) -> tuple[int, int]:
    return value >> 64, value & 0xFFFF_FFFF_FFFF_FFFF


@njit(nogil=True, cache=True)
def _permuted_rows(generator, rows, n):  # pragma: no cover - compiled
    out = np.empty((rows, n), dtype=np.intp)
    bitgen = generator.bit_generator
    for r in range(rows):
        for k in range(n):
            out[r, k] = k
        for i in range(n - 1, 0, -1):
            limit = np.uint64(i)
            mask = _mask(limit)
            value = np.uint64(next_uint32(bitgen)) & mask
            while value > limit:
                value = np.uint64(next_uint32(bitgen)) & mask
            _swap(out, r, i, np.intp(value))
    return out


#: Floating-point freedoms of the sums of products: reordered additions (vector lanes)
#: and fused multiply-adds. The error bound of a sum of n products holds in any order,
#: and one machine always compiles the same order (bit-identical across ``n_jobs``).
_REORDER = {"reassoc", "contract"}
_MULTIPLIER = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645  # PCG64's 128-bit multiplier


#: 64-bit outputs of PCG64 generated ahead of the draws (with the state after each).
_AHEAD = 256


@njit(nogil=True, cache=True)
def permuted_rows_pcg64(words, rows, n):  # pragma: no cover - compiled
    """The draws of :func:`_permuted_rows` from PCG64 state ``words`` = (state high, state
    low, increment high, increment low, buffered 32 bits, has buffered), updated in place.

    The outputs are generated :data:`_AHEAD` at a time, each with the state after it, so
    that the state after the last 32 bits used can be written back. Each index takes the
    first of the next two masked candidates that is in range, chosen without a branch
    (a rejection is a coin flip the CPU cannot predict); when both are out of range, the
    next two.
    """
    out = np.empty((rows, n), dtype=np.intp)
    inc_high, inc_low = words[2], words[3]
    outputs = np.empty(_AHEAD, dtype=np.uint64)
    highs, lows = np.empty(_AHEAD, dtype=np.uint64), np.empty(_AHEAD, dtype=np.uint64)
    stream = outputs.view(np.uint32)  # the 32-bit draws: low half first (little-endian)
    masks = np.empty(n, dtype=np.uint64)
    for i in range(1, n):
        masks[i] = _mask(np.uint64(i))
    high, low, position = words[0], words[1], _ZERO
    if words[5] != 0:  # a buffered high half: an output whose low half is already used
        outputs[0], highs[0], lows[0] = words[4] << np.uint64(32), high, low
        position = _ONE
    high, low = _generate(outputs, highs, lows, position, high, low, inc_high, inc_low)
    first, refilled = position, False
    last = np.uint64(2 * _AHEAD - 2)
    row = np.empty(n, dtype=np.intp)
    for r in range(rows):
        for k in range(n):
            row[k] = k
        for i in range(n - 1, 0, -1):
            mask, limit = masks[i], np.uint64(i)
            while True:
                if position > last:  # keep the unused outputs, generate the rest
                    kept = position >> _ONE
                    for k in range(kept, _AHEAD):
                        outputs[k - kept], highs[k - kept], lows[k - kept] = (
                            outputs[k],
                            highs[k],
                            lows[k],
                        )
                    high, low = _generate(
                        outputs, highs, lows, _AHEAD - kept, high, low, inc_high, inc_low
                    )
                    position -= kept + kept
                    refilled = True
                c0 = np.uint64(stream[position]) & mask
                c1 = np.uint64(stream[position + _ONE]) & mask
                # 1 where a candidate is out of range (limit < 2**32: no wrap-around)
                out0, out1 = (limit - c0) >> _SIGN, (limit - c1) >> _SIGN
                j = c0 ^ ((c0 ^ c1) & (_ZERO - out0))
                if (out0 & out1) == _ZERO:
                    position += _ONE + out0
                    break
                position += np.uint64(2)
            swap = np.intp(j)
            row[i], row[swap] = row[swap], row[i]
        out[r] = row
    if position != first or refilled:
        used = (position - _ONE) >> _ONE  # the output of the last 32 bits used
        words[0], words[1] = highs[used], lows[used]
        words[4] = outputs[used] >> np.uint64(32)
        words[5] = _ONE if ((position - _ONE) & _ONE) == _ZERO else _ZERO
    return out


_ZERO, _ONE, _SIGN = np.uint64(0), np.uint64(1), np.uint64(63)


@njit(inline="always")
def _generate(outputs, highs, lows, start, high, low, inc_high, inc_low):  # pragma: no cover
    """PCG64 outputs ``start:`` and the state after each; returns the last state."""
    for k in range(start, _AHEAD):
        high, low = _lcg_step(high, low, inc_high, inc_low)
        highs[k], lows[k] = high, low
        outputs[k] = _pcg_output(high, low)
    return high, low


@intrinsic
def _lcg_step(typingctx, high, low, inc_high, inc_low):  # pragma: no cover - compiled
    """``state * multiplier + increment`` modulo 2**128 (in LLVM's 128-bit integers),
    the state and increment given as 64-bit halves."""
    word = types.uint64
    signature = types.UniTuple(word, 2)(word, word, word, word)

    def codegen(context, builder, sig, args):
        wide, narrow = ir.IntType(128), ir.IntType(64)
        shift = ir.Constant(wide, 64)

        def join(h, lo):
            return builder.or_(builder.shl(builder.zext(h, wide), shift), builder.zext(lo, wide))

        state, increment = join(args[0], args[1]), join(args[2], args[3])
        new = builder.add(builder.mul(state, ir.Constant(wide, _MULTIPLIER)), increment)
        halves = [builder.trunc(builder.lshr(new, shift), narrow), builder.trunc(new, narrow)]
        return context.make_tuple(builder, sig.return_type, halves)

    return signature, codegen


@njit(inline="always")
def _pcg_output(high, low):  # pragma: no cover - compiled
    """XSL-RR: the xor of the halves rotated right by the top 6 bits."""
    xored = high ^ low
    rotation = high >> np.uint64(58)
    return (xored >> rotation) | (xored << ((np.uint64(64) - rotation) & np.uint64(63)))


@njit(inline="always")
def _mask(limit):  # pragma: no cover - compiled
    """The smallest all-ones mask covering ``limit``."""
    mask = limit
    for shift in (1, 2, 4, 8, 16, 32):
        mask |= mask >> np.uint64(shift)
    return mask


@njit(inline="always")
def _swap(out, r, i, j):  # pragma: no cover - compiled
    swap = out[r, i]
    out[r, i] = out[r, j]
    out[r, j] = swap


@njit(nogil=True, cache=True)
def group_square_sums(values, perms, cells):  # pragma: no cover - compiled
    """``sum_g (sum_c values[perms[:, cells[g, c]]])**2`` as ``(b, columns)``: the squared
    sums of the values over the cells (positions) of every group, added up without
    holding them."""
    batch = perms.shape[0]
    groups, n_cells = cells.shape
    columns = values.shape[1]
    out = np.zeros((batch, columns))
    row = np.zeros(columns)  # the sum of all cells but the last (in order)
    for i in range(batch):
        p, total = perms[i], out[i]
        for g in range(groups):
            first = values[p[cells[g, 0]]]
            if n_cells == 1:
                for k in range(columns):
                    total[k] += first[k] * first[k]
                continue
            if n_cells > 2:
                second = values[p[cells[g, 1]]]
                for k in range(columns):
                    row[k] = first[k] + second[k]
                for c in range(2, n_cells - 1):
                    other = values[p[cells[g, c]]]
                    for k in range(columns):
                        row[k] += other[k]
            last = values[p[cells[g, n_cells - 1]]]
            for k in range(columns):
                cell_sum = (first[k] if n_cells == 2 else row[k]) + last[k]
                total[k] += cell_sum * cell_sum
    return out


@njit(nogil=True, cache=True)
def inverse_rows(perms):  # pragma: no cover - compiled
    """The inverse of every permutation (row) of ``perms``."""
    inverse = np.empty_like(perms)
    for r in range(perms.shape[0]):
        for j in range(perms.shape[1]):
            inverse[r, perms[r, j]] = j
    return inverse


@njit(nogil=True, cache=True, error_model="numpy")
def screen_ratio(tested, fitted, total, df_num, df_den, delta, err_den, zero):  # pragma: no cover
    """``(F, relative error bound)``, each ``(b, outcomes)``, of a screen whose sums of
    squares are ``num = sum_c tested[c]**2`` and ``den = total - sum_c fitted[c]**2``
    (projections ``(columns, b, outcomes)``), as ``permanova._screens._ratio_and_error``
    with ``err_num = 2 sqrt(|num|) delta + delta**2`` and the outcomes' ``err_den``,
    ``delta`` and ``zero``."""
    rows, outcomes = total.shape
    f, rel = np.empty((rows, outcomes)), np.empty((rows, outcomes))
    for r in range(rows):
        for k in range(outcomes):
            a = 0.0
            for c in range(tested.shape[0]):
                a += tested[c, r, k] * tested[c, r, k]
            fit = 0.0
            for c in range(fitted.shape[0]):
                fit += fitted[c, r, k] * fitted[c, r, k]
            b, d = total[r, k] - fit, delta[k]
            err_num = 2.0 * np.sqrt(np.abs(a)) * d + d * d
            f[r, k] = (a / df_num) / (b / df_den)
            clear = a > err_num and b > err_den[k] and a > zero[k] and b > zero[k]
            rel[r, k] = 2.0 * (err_num / a + err_den[k] / b) if clear else np.inf
    return f, rel


@njit(nogil=True, cache=True, fastmath=_REORDER)
def vector_sums(u, perms, basis_t, k_num):  # pragma: no cover - compiled
    """``(||A[:, :k]||^2, ||u[p] - A B'||^2)`` with ``A = u[p] B`` (``basis_t = B'``),
    row by row."""
    rows, n = perms.shape
    width = basis_t.shape[0]
    num, den = np.empty(rows), np.empty(rows)
    v, e, a = np.empty(n), np.empty(n), np.empty(width)
    for r in range(rows):
        for j in range(n):
            v[j] = u[perms[r, j]]
        _fit(v, basis_t, a, e)
        num[r] = _dot(a[:k_num], a[:k_num])
        den[r] = _dot(e, e)
    return num, den


@njit(inline="always", fastmath=_REORDER)
def _fit(v, basis_t, a, e):  # pragma: no cover - compiled
    """``a = B' v`` and the residual ``e = v - B a`` (``basis_t = B'``)."""
    e[:] = v
    for c in range(basis_t.shape[0]):
        a[c] = _dot(basis_t[c], v)
        coefficient = a[c]
        row = basis_t[c]
        for j in range(e.shape[0]):
            e[j] -= coefficient * row[j]


@njit(inline="always", fastmath=_REORDER)
def _dot(x, y):  # pragma: no cover - compiled
    """``x . y``, added in the order the CPU's vector width suits."""
    total = 0.0
    for j in range(x.shape[0]):
        total += x[j] * y[j]
    return total


@njit(nogil=True, cache=True, fastmath=_REORDER)
def stratum_sums(u, perms, order, block, fixed_t, num_t, k_num):  # pragma: no cover
    """``(num, den)`` of a stratum kernel, row by row: ``v = u[p][order]`` in cell-major
    table order (position ``c * n_subjects + s``), ``t = T_w v`` (``block``: ``T_w`` on the
    cells of one subject, the same for every subject), ``a = F' t``, ``den = ||t - F a||^2``
    and ``num = ||a[:k_num]||^2``, or ``||N' v||^2`` with ``num_t = N'`` when it has rows
    (``F'``, ``N'`` with columns in the same order)."""
    rows, n = perms.shape
    cells = block.shape[0]
    subjects = n // cells
    width, tested = fixed_t.shape[0], num_t.shape[0]
    num, den = np.empty(rows), np.empty(rows)
    v, t = np.empty(n), np.empty(n)
    a, b = np.empty(width), np.empty(max(tested, 1))
    for r in range(rows):
        p = perms[r]
        for k in range(n):
            v[k] = u[p[order[k]]]
        t[:] = 0.0
        for i in range(cells):  # cell i of every subject at once
            t_i = t[i * subjects : (i + 1) * subjects]
            for j in range(cells):
                weight, v_j = block[i, j], v[j * subjects : (j + 1) * subjects]
                for s in range(subjects):
                    t_i[s] += weight * v_j[s]
        for c in range(width):
            a[c] = _dot(fixed_t[c], t)
        for c in range(width):
            coefficient, row = a[c], fixed_t[c]
            for k in range(n):
                t[k] -= coefficient * row[k]
        den[r] = _dot(t, t)
        if tested:
            for c in range(tested):
                b[c] = _dot(num_t[c], v)
            num[r] = _dot(b[:tested], b[:tested])
        else:
            num[r] = _dot(a[:k_num], a[:k_num])
    return num, den


@njit(nogil=True, cache=True, error_model="numpy")
def decide(num, den, zero, df_num, df_den, low, high, greater, all_unsure):  # pragma: no cover
    """``(F, extreme, unsure)`` of a batch from its sums of squares, as
    :meth:`permanova._kernels.Ratio.statistic` and the engine's tie band decide them: a sum
    at most ``zero`` is an exact zero, ``F`` is extreme when ``F >= low`` (``greater``) or
    ``F <= high``, and unsure in the band ``[low, high]``, with a zero sum, or always
    (``all_unsure``: a degenerate observed F)."""
    rows = num.shape[0]
    f = np.empty(rows)
    extreme = np.empty(rows, dtype=np.bool_)
    unsure = np.empty(rows, dtype=np.bool_)
    for r in range(rows):
        numerator = num[r] if num[r] > zero else 0.0
        denominator = den[r] if den[r] > zero else 0.0
        value = 0.0 if numerator == 0.0 else (numerator / df_num) / (denominator / df_den)
        f[r] = value
        extreme[r] = value >= low if greater else value <= high
        unsure[r] = all_unsure or num[r] <= zero or den[r] <= zero or low <= value <= high
    return f, extreme, unsure


@njit(nogil=True, cache=True)
def screen_decide(f, rel, low, high, band, degenerate, greater, valid):  # pragma: no cover
    """``(F, extreme, unsure)``, each ``(outcomes, valid)``, of the first ``valid`` rows of
    a screen's ``(F, relative error bound)`` ``(rows, outcomes)``: the kernel's own F lies
    within ``rel`` of the screen's and within ``band`` of the exact one, so a permutation
    is decided where that interval is wholly below ``low`` or above ``high`` (and the
    observed F is not degenerate), and unsure elsewhere."""
    outcomes = f.shape[1]
    out = np.empty((outcomes, valid))
    extreme = np.empty((outcomes, valid), dtype=np.bool_)
    unsure = np.empty((outcomes, valid), dtype=np.bool_)
    for k in range(outcomes):
        for r in range(valid):
            value, error = f[r, k], rel[r, k]
            smallest = value * (1.0 - error) * (1.0 - band[k])
            largest = value * (1.0 + error) * (1.0 + band[k])
            below, above = largest < low[k], smallest > high[k]
            out[k, r] = value
            extreme[k, r] = above if greater else below
            unsure[k, r] = degenerate[k] or not (below or above) or not np.isfinite(error)
    return out, extreme, unsure
