"""The draws of ``Generator.permuted`` compiled with numba (the optional ``fast`` extra).

For every row the units are shuffled by Fisher-Yates from the last position down, each
index drawn by masked rejection from the bit generator's 32-bit stream, which is what
``Generator.permuted(..., axis=1)`` does: the same generator gives the same permutations
and is left in the same state (``tests/permanova/test_permutations.py`` checks this for
every numpy bit generator). Compiled without the GIL, blocks draw in parallel threads.
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
