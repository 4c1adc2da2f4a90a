"""Kernels compiled with numba (the optional ``fast`` extra), equal to their NumPy forms.

:func:`permuted_rows` draws as ``Generator.permuted(..., axis=1)`` does: for every row
the units are shuffled by Fisher-Yates from the last position down, each index drawn by
masked rejection from the bit generator's 32-bit stream. The same generator gives the
same permutations and is left in the same state (``tests/permanova/test_permutations.py``
checks this for every numpy bit generator). :func:`group_sums` adds the gathered rows in
the order of the NumPy form (so the sums are bitwise the same) without its temporaries.
Both release the GIL, so blocks run in parallel threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.np.random.generator_core import next_uint32


@njit(nogil=True, cache=True)
def permuted_rows(generator, rows, n):  # pragma: no cover - compiled
    out = np.empty((rows, n), dtype=np.intp)
    bitgen = generator.bit_generator
    for r in range(rows):
        for k in range(n):
            out[r, k] = k
        for i in range(n - 1, 0, -1):
            limit = np.uint64(i)
            mask = limit
            for shift in (1, 2, 4, 8, 16, 32):
                mask |= mask >> np.uint64(shift)
            value = np.uint64(next_uint32(bitgen)) & mask
            while value > limit:
                value = np.uint64(next_uint32(bitgen)) & mask
            j = np.intp(value)
            swap = out[r, i]
            out[r, i] = out[r, j]
            out[r, j] = swap
    return out


@njit(nogil=True, cache=True)
def group_sums(values, cells):  # pragma: no cover - compiled
    """``sum_c values[cells[:, :, c]]`` as ``(groups, b, columns)``, the cells added in order."""
    batch, groups, n_cells = cells.shape
    out = np.empty((groups, batch, values.shape[1]))
    for i in range(batch):
        for g in range(groups):
            row = out[g, i]
            row[:] = values[cells[i, g, 0]]
            for c in range(1, n_cells):
                row += values[cells[i, g, c]]
    return out
