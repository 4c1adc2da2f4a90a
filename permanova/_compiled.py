"""Kernels compiled with numba (the optional ``fast`` extra), equal to their NumPy forms
up to the order of their additions.

:func:`permuted_rows` draws as ``Generator.permuted(..., axis=1)`` does: for every row
the units are shuffled by Fisher-Yates from the last position down, each index drawn by
masked rejection from the bit generator's 32-bit stream. The same generator gives the
same permutations and is left in the same state (``tests/permanova/test_permutations.py``
checks this for every numpy bit generator). :func:`group_square_sums` and
:func:`vector_sums` compute the sums of squares of the many-outcome screens and of the
vector methods without NumPy's temporaries (the same sums up to rounding: they add in
another order). All release the GIL, so blocks run in parallel threads.

For numpy's default bit generator, PCG64, the draws read its state and run the PCG
XSL-RR 128/64 step inline (no call through the bit generator's function pointer per
draw), then write the advanced state back: the same stream.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.np.random.generator_core import next_uint32


def permuted_rows(generator: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """``generator.permuted(np.tile(np.arange(n), (rows, 1)), axis=1)``, advancing
    ``generator`` as that call does."""
    bit_generator = generator.bit_generator
    if type(bit_generator) is not np.random.PCG64:
        return _permuted_rows(generator, rows, n)
    state = bit_generator.state
    words = np.array(
        [
            *_halves(state["state"]["state"]),
            *_halves(state["state"]["inc"]),
            state["uinteger"],
            state["has_uint32"],
        ],
        dtype=np.uint64,
    )
    out = _permuted_rows_pcg64(words, rows, n)
    state["state"]["state"] = (int(words[0]) << 64) | int(words[1])
    state["has_uint32"] = int(words[5])
    state["uinteger"] = int(words[4])
    bit_generator.state = state
    return out


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
_LOW32 = np.uint64(0xFFFF_FFFF)
_MULTIPLIER_HIGH = np.uint64(0x2360_ED05_1FC6_5DA4)  # PCG's default 128-bit multiplier
_MULTIPLIER_LOW = np.uint64(0x4385_DF64_9FCC_F645)


@njit(nogil=True, cache=True)
def _permuted_rows_pcg64(words, rows, n):  # pragma: no cover - compiled
    """The draws of :func:`_permuted_rows` from PCG64 state ``words`` = (state high, state
    low, increment high, increment low, buffered 32 bits, has buffered), updated in place."""
    out = np.empty((rows, n), dtype=np.intp)
    high, low, inc_high, inc_low, buffered = words[0], words[1], words[2], words[3], words[4]
    has_uint32 = words[5] != 0
    for r in range(rows):
        for k in range(n):
            out[r, k] = k
        for i in range(n - 1, 0, -1):
            limit = np.uint64(i)
            mask = _mask(limit)
            while True:
                if has_uint32:
                    value = buffered
                    has_uint32 = False
                else:
                    high, low = _pcg_step(high, low, inc_high, inc_low)
                    word = _pcg_output(high, low)
                    buffered = word >> np.uint64(32)
                    has_uint32 = True
                    value = word & _LOW32
                value &= mask
                if value <= limit:
                    break
            _swap(out, r, i, np.intp(value))
    words[0], words[1], words[4], words[5] = high, low, buffered, np.uint64(has_uint32)
    return out


@njit(inline="always")
def _pcg_step(high, low, inc_high, inc_low):  # pragma: no cover - compiled
    """``state * multiplier + increment`` modulo 2**128, in 64-bit halves."""
    product_high, product_low = _multiply_64(low, _MULTIPLIER_LOW)
    product_high += high * _MULTIPLIER_LOW + low * _MULTIPLIER_HIGH
    new_low = product_low + inc_low
    carry = np.uint64(1) if new_low < product_low else np.uint64(0)
    return product_high + inc_high + carry, new_low


@njit(inline="always")
def _pcg_output(high, low):  # pragma: no cover - compiled
    """XSL-RR: the xor of the halves rotated right by the top 6 bits."""
    xored = high ^ low
    rotation = high >> np.uint64(58)
    return (xored >> rotation) | (xored << ((np.uint64(64) - rotation) & np.uint64(63)))


@njit(inline="always")
def _multiply_64(a, b):  # pragma: no cover - compiled
    """The 128-bit product of two 64-bit words as (high, low)."""
    a_low, a_high = a & _LOW32, a >> np.uint64(32)
    b_low, b_high = b & _LOW32, b >> np.uint64(32)
    low_low = a_low * b_low
    cross_1 = a_low * b_high
    cross_2 = a_high * b_low
    middle = (low_low >> np.uint64(32)) + (cross_1 & _LOW32) + (cross_2 & _LOW32)
    high = a_high * b_high + (cross_1 >> np.uint64(32)) + (cross_2 >> np.uint64(32))
    return high + (middle >> np.uint64(32)), (middle << np.uint64(32)) | (low_low & _LOW32)


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
def group_square_sums(values, cells):  # pragma: no cover - compiled
    """``sum_g (sum_c values[cells[:, g, c]])**2`` as ``(b, columns)``: the squared sums
    of the values over the cells of every group, added up without holding them."""
    batch, groups, n_cells = cells.shape
    columns = values.shape[1]
    out = np.zeros((batch, columns))
    row = np.empty(columns)
    for i in range(batch):
        for g in range(groups):
            first = values[cells[i, g, 0]]
            for k in range(columns):
                row[k] = first[k]
            for c in range(1, n_cells):
                other = values[cells[i, g, c]]
                for k in range(columns):
                    row[k] += other[k]
            for k in range(columns):
                out[i, k] += row[k] * row[k]
    return out


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
