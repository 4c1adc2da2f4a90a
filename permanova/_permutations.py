"""Permutations of the units: counting, exact enumeration, random blocks, user matrices.

A permutation is a 0-based index vector ``p`` applied by gathering (``v[p]``). Random
permutations are drawn in blocks of :data:`BLOCK_SIZE` rows, each block from its own child
generator (``rng.spawn``), so that the permutations, hence the results, do not depend on how
the engine batches them. Exact enumeration is streamed in blocks as well.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from math import comb

import numpy as np
from scipy import special

BLOCK_SIZE = 4096
#: Largest number of indices in one block (16 MiB of ``intp``).
_BLOCK_CELLS = 2**21
#: Rows of the products that evaluate a block (at most; see :func:`chunk_rows`).
EVAL_ROWS = 1024
#: Largest number of permutations that ``exact=True`` agrees to enumerate.
MAX_EXACT = 10**7
#: Largest number of random permutations (more would run for days).
MAX_RESAMPLES = 10**10


def log_count(group_sizes) -> float:
    """Natural logarithm of ``n! / prod(n_g!)`` (``n!`` when every size is 1)."""
    sizes = np.asarray(group_sizes, dtype=np.float64)
    return math.lgamma(float(sizes.sum()) + 1.0) - float(np.sum(special.gammaln(sizes + 1.0)))


def count_at_most(group_sizes, limit: int) -> int | None:
    """``n! / prod(n_g!)`` when it is at most ``limit``, else None.

    The logarithm decides first, so that no huge factorial is ever computed (a one-way
    design of a million rows has about 10^(5.7e6) assignments).
    """
    if log_count(group_sizes) > math.log(max(limit, 1)) + 1e-6:
        return None
    total = math.factorial(int(sum(group_sizes)))
    for size in group_sizes:
        total //= math.factorial(int(size))
    return total if total <= limit else None


# --------------------------------------------------------------------------------------
# random blocks
# --------------------------------------------------------------------------------------
def block_rows(unit_sizes: dict) -> int:
    """Rows of a block: :data:`BLOCK_SIZE`, fewer for long units (memory bound).

    Depends only on the numbers of units, never on the batch size.
    """
    largest = max(unit_sizes.values())
    return int(min(BLOCK_SIZE, max(16, _BLOCK_CELLS // max(largest, 1))))


def chunk_rows(unit_sizes: dict) -> int:
    """Rows of every product that evaluates a block (depends only on the numbers of units)."""
    return min(EVAL_ROWS, block_rows(unit_sizes))


def random_blocks(
    rng: np.random.Generator, unit_sizes: dict, n_permutations: int
) -> Iterator[dict]:
    """Yield dicts ``{key: (b, n_key) int array}`` of uniform random permutations.

    Every block of :func:`block_rows` rows comes from its own child of ``rng`` (spawned
    in sequence); within a block the keys are drawn in sorted order. The last block is
    truncated to reach ``n_permutations`` rows.
    """
    keys = sorted(unit_sizes)
    rows = block_rows(unit_sizes)
    base_rows = min(rows, n_permutations)
    bases = {
        key: np.tile(np.arange(unit_sizes[key], dtype=np.intp), (base_rows, 1)) for key in keys
    }
    remaining = n_permutations
    while remaining > 0:
        size = min(rows, remaining)
        child = rng.spawn(1)[0]
        block = {}
        for key in keys:
            base = bases[key] if size == base_rows else bases[key][:size]
            block[key] = child.permuted(base, axis=1)
        remaining -= size
        yield block


# --------------------------------------------------------------------------------------
# exact enumeration
# --------------------------------------------------------------------------------------
def _select_and_remove(available: np.ndarray, picks: np.ndarray):
    """Split rows of ``available`` (b, m) into the picked columns (b, k) and the rest."""
    b, m = available.shape
    mask = np.zeros((b, m), dtype=bool)
    np.put_along_axis(mask, picks, True, axis=1)
    chosen = available[mask].reshape(b, -1)
    rest = available[~mask].reshape(b, m - chosen.shape[1])
    return chosen, rest


def all_permutations(n_units: int) -> Iterator[np.ndarray]:
    """Yield every permutation of ``n_units`` in lexicographic order, in blocks.

    The rank ``t`` is decoded into its factorial-base (Lehmer) digits, vectorised over
    the block. The first row is the identity.
    """
    total = math.factorial(n_units)
    radices = tuple(range(n_units, 0, -1))
    for start in range(0, total, BLOCK_SIZE):
        ranks = np.arange(start, min(start + BLOCK_SIZE, total), dtype=np.int64)
        digits = np.unravel_index(ranks, radices) if n_units > 0 else ()
        available = np.tile(np.arange(n_units, dtype=np.intp), (ranks.size, 1))
        out = np.empty((ranks.size, n_units), dtype=np.intp)
        for position in range(n_units):
            chosen, available = _select_and_remove(available, digits[position][:, None])
            out[:, position] = chosen[:, 0]
        yield out


def _unrank_combinations(ranks: np.ndarray, m: int, k: int) -> np.ndarray:
    """Combinations of ``k`` among ``m`` with colexicographic rank ``ranks`` (b, k)."""
    out = np.empty((ranks.size, k), dtype=np.intp)
    remainder = ranks.astype(np.int64).copy()
    for i in range(k, 0, -1):
        table = np.array([comb(c, i) for c in range(m)], dtype=np.int64)
        element = np.searchsorted(table, remainder, side="right") - 1
        out[:, i - 1] = element
        remainder -= table[element]
    return out


def all_assignments(group_codes: np.ndarray, kind: str) -> Iterator[np.ndarray]:
    """Yield one permutation per distinct assignment of the units to the groups.

    ``group_codes`` (n,) holds the group of each position (codes ``0..G-1``). The label
    sequences (multiset permutations of ``group_codes``) are decoded from their rank,
    level by level, with the combinatorial number system. Each label sequence ``lab`` is
    turned into a permutation ``p`` such that, for ``kind="vector"`` (methods that permute
    the outcome, ``v[p]``), position ``i`` of group ``g`` receives a unit ``j`` with
    ``lab[j] == g``; for ``kind="design"`` (methods that permute the rows of the design),
    ``group_codes[p] == lab``.
    """
    group_codes = np.asarray(group_codes)
    n = group_codes.size
    n_groups = int(group_codes.max()) + 1
    sizes = np.bincount(group_codes, minlength=n_groups)
    # level k picks sizes[k] positions among the n - sum(sizes[:k]) still free
    free = n - np.concatenate(([0], np.cumsum(sizes)[:-1]))
    radices = tuple(comb(int(free[k]), int(sizes[k])) for k in range(n_groups - 1))
    total = count_at_most(sizes, np.iinfo(np.int64).max)
    order_g = np.argsort(group_codes, kind="stable")
    for start in range(0, total, BLOCK_SIZE):
        ranks = np.arange(start, min(start + BLOCK_SIZE, total), dtype=np.int64)
        b = ranks.size
        digits = np.unravel_index(ranks, radices) if radices else ()
        labels = np.full((b, n), n_groups - 1, dtype=np.intp)
        available = np.tile(np.arange(n, dtype=np.intp), (b, 1))
        rows = np.arange(b)[:, None]
        for level in range(n_groups - 1):
            picks = _unrank_combinations(digits[level], int(free[level]), int(sizes[level]))
            chosen, available = _select_and_remove(available, picks)
            labels[rows, chosen] = level
        order_lab = np.argsort(labels, axis=1, kind="stable")
        perms = np.empty((b, n), dtype=np.intp)
        if kind == "vector":
            perms[:, order_g] = order_lab
        else:
            np.put_along_axis(perms, order_lab, np.broadcast_to(order_g, (b, n)), axis=1)
        yield perms


# --------------------------------------------------------------------------------------
# user matrices
# --------------------------------------------------------------------------------------
def check_permutation_matrix(matrix, n_units: int, name: str = "permutations") -> np.ndarray:
    """Validate a user matrix of permutations: (B, n_units) integers, each row a permutation.

    Returns a C-contiguous ``intp`` copy.
    """
    array = np.asarray(matrix)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"`{name}` must be an integer array of 0-based indices; got dtype {array.dtype}."
        )
    if array.ndim != 2 or array.shape[1] != n_units or array.shape[0] < 1:
        raise ValueError(
            f"`{name}` must have shape (B, {n_units}) with B >= 1 (one permutation of the "
            f"{n_units} units per row, identity excluded); got shape {array.shape}."
        )
    if array.min() < 0 or array.max() >= n_units:
        raise ValueError(
            f"`{name}` must hold 0-based indices in [0, {n_units - 1}]; got values in "
            f"[{array.min()}, {array.max()}]. A permuco matrix P maps to P[:, 1:].T - 1."
        )
    ordered = np.sort(array, axis=1)
    bad = np.flatnonzero((ordered != np.arange(n_units)).any(axis=1))
    if bad.size:
        raise ValueError(
            f"every row of `{name}` must be a permutation of 0..{n_units - 1}; rows "
            f"{bad[:5].tolist()} repeat an index."
        )
    return np.ascontiguousarray(array, dtype=np.intp)


def user_blocks(matrices: dict, rows: int) -> Iterator[dict]:
    """Yield the rows of validated user matrices ``{key: (B, n_key)}`` in blocks of ``rows``."""
    total = next(iter(matrices.values())).shape[0]
    for start in range(0, total, rows):
        yield {key: m[start : start + rows] for key, m in matrices.items()}
