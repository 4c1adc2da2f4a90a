"""Permutations of the units: counting, exact enumeration, random blocks, user matrices.

A permutation is a 0-based index vector ``p`` applied by gathering (``v[p]``). Every source
yields *blocks*: small picklable descriptions (:class:`RandomBlock`,
:class:`PermutationBlock`, :class:`AssignmentBlock`, :class:`UserBlock`) whose
``permutations()`` gives ``{unit_key: (rows, n_units)}``. Random permutations are drawn in
blocks of :data:`BLOCK_SIZE` rows, each block from its own child generator (``rng.spawn``),
so the permutations, hence the results, depend neither on how the engine batches them nor
on which thread or Dask worker draws a block. Exact enumeration is split by rank.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from math import comb

import numpy as np
from scipy import special

from permanova._kernels import COMPILED_WORK, compiled

BLOCK_SIZE = 4096
#: Largest number of indices in one block (16 MiB of ``intp``).
_BLOCK_CELLS = 2**21
#: Largest number of floats of one work array of the evaluation (4 MiB).
_CHUNK_CELLS = 2**19
#: Rows of the products that evaluate a block (at most; see :func:`chunk_rows`).
EVAL_ROWS = 4096
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
    """Rows of every product that evaluates a block: at most :data:`EVAL_ROWS`, fewer for
    long units so that each work array stays within 4 MiB (depends only on the numbers of
    units)."""
    largest = max(unit_sizes.values())
    return int(min(EVAL_ROWS, block_rows(unit_sizes), max(16, _CHUNK_CELLS // max(largest, 1))))


@dataclass(frozen=True)
class RandomBlock:
    """``rows`` uniform random permutations of each unit set, from their own generator.

    Within a block the keys are drawn in sorted order, each from ``generator``, so a
    block is the same wherever it is drawn (a thread, a Dask worker).
    """

    start: int
    generator: np.random.Generator
    unit_sizes: tuple  # ((key, n_units), ...) sorted by key
    rows: int
    compiled: bool = False  # draw with the compiled Generator.permuted (same permutations)

    def permutations(self) -> dict:
        to_words = compiled("pcg64_words") if self.compiled else None
        words = None if to_words is None else to_words(self.generator.bit_generator)
        if words is not None:  # PCG64's state as words: the generator is not touched
            draw = compiled("permuted_rows_pcg64")
            return {key: draw(words, self.rows, size) for key, size in self.unit_sizes}
        generator = copy.deepcopy(self.generator)  # a block drawn twice gives the same rows
        draw = compiled("permuted_rows") if self.compiled else None
        out = {}
        for key, size in self.unit_sizes:
            if draw is not None:
                out[key] = draw(generator, self.rows, size)
                continue
            rows = np.tile(np.arange(size, dtype=np.intp), (self.rows, 1))
            out[key] = generator.permuted(rows, axis=1, out=rows)
        return out


def random_blocks(
    rng: np.random.Generator, unit_sizes: dict, n_permutations: int, compiled: bool = False
):
    """The :class:`RandomBlock` s of ``n_permutations`` random permutations.

    Every block of :func:`block_rows` rows comes from its own child of ``rng``, spawned in
    sequence as the blocks are iterated; the last block is truncated. ``compiled`` asks
    for the compiled draw (used when numba is installed; the permutations are the same).
    """
    rows = block_rows(unit_sizes)
    sizes = tuple(sorted(unit_sizes.items()))
    for start in range(0, n_permutations, rows):
        size = min(rows, n_permutations - start)
        yield RandomBlock(start, rng.spawn(1)[0], sizes, size, compiled)


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


@dataclass(frozen=True)
class PermutationBlock:
    """Permutations of ``n_units`` with lexicographic ranks ``start..stop - 1``, the same
    array for every key (the rank ``t`` is decoded into its factorial-base digits,
    vectorised over the block; rank 0 is the identity)."""

    start: int
    stop: int
    n_units: int
    keys: tuple

    def permutations(self) -> dict:
        n = self.n_units
        ranks = np.arange(self.start, self.stop, dtype=np.int64)
        digits = np.unravel_index(ranks, tuple(range(n, 0, -1))) if n > 0 else ()
        available = np.tile(np.arange(n, dtype=np.intp), (ranks.size, 1))
        out = np.empty((ranks.size, n), dtype=np.intp)
        for position in range(n):
            chosen, available = _select_and_remove(available, digits[position][:, None])
            out[:, position] = chosen[:, 0]
        return dict.fromkeys(self.keys, out)


def all_permutations(n_units: int, keys: tuple = ("obs",)):
    """The :class:`PermutationBlock` s of every permutation of ``n_units``."""
    total = math.factorial(n_units)
    for start in range(0, total, BLOCK_SIZE):
        yield PermutationBlock(start, min(start + BLOCK_SIZE, total), n_units, keys)


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


@dataclass(frozen=True)
class AssignmentBlock:
    """One permutation per distinct assignment of the units to the groups, for the
    assignments of ranks ``start..stop - 1`` (see :func:`all_assignments`)."""

    start: int
    stop: int
    group_codes: np.ndarray
    kind: str
    keys: tuple

    def permutations(self) -> dict:
        codes = self.group_codes
        n = codes.size
        n_groups = int(codes.max()) + 1
        sizes = np.bincount(codes, minlength=n_groups)
        # level k picks sizes[k] positions among the n - sum(sizes[:k]) still free
        free = n - np.concatenate(([0], np.cumsum(sizes)[:-1]))
        radices = tuple(comb(int(free[k]), int(sizes[k])) for k in range(n_groups - 1))
        ranks = np.arange(self.start, self.stop, dtype=np.int64)
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
        order_g = np.argsort(codes, kind="stable")
        perms = np.empty((b, n), dtype=np.intp)
        if self.kind == "vector":
            perms[:, order_g] = order_lab
        else:
            np.put_along_axis(perms, order_lab, np.broadcast_to(order_g, (b, n)), axis=1)
        return dict.fromkeys(self.keys, perms)


def all_assignments(group_codes: np.ndarray, kind: str, keys: tuple = ("obs",)):
    """The :class:`AssignmentBlock` s of every distinct assignment to the groups.

    ``group_codes`` (n,) holds the group of each position (codes ``0..G-1``). The label
    sequences (multiset permutations of ``group_codes``) are decoded from their rank,
    level by level, with the combinatorial number system. Each label sequence ``lab`` is
    turned into a permutation ``p`` such that, for ``kind="vector"`` (methods that permute
    the outcome, ``v[p]``), position ``i`` of group ``g`` receives a unit ``j`` with
    ``lab[j] == g``; for ``kind="design"`` (methods that permute the rows of the design),
    ``group_codes[p] == lab``.
    """
    group_codes = np.asarray(group_codes)
    total = count_at_most(np.bincount(group_codes), np.iinfo(np.int64).max)
    for start in range(0, total, BLOCK_SIZE):
        yield AssignmentBlock(start, min(start + BLOCK_SIZE, total), group_codes, kind, keys)


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


@dataclass(frozen=True)
class UserBlock:
    """Rows ``start..`` of the user's permutation matrices."""

    start: int
    matrices: dict

    def permutations(self) -> dict:
        return self.matrices


def user_blocks(matrices: dict, rows: int):
    """The :class:`UserBlock` s of validated user matrices ``{key: (B, n_key)}``."""
    total = next(iter(matrices.values())).shape[0]
    for start in range(0, total, rows):
        yield UserBlock(start, {key: m[start : start + rows] for key, m in matrices.items()})


# --------------------------------------------------------------------------------------
# the source of one run
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IdentityMask:
    """Which permutations of an exact enumeration stand for the identity: those that
    keep every unit's group (``codes``, for assignments) or every unit in place."""

    codes: np.ndarray | None

    def __call__(self, perms: np.ndarray) -> np.ndarray:
        if self.codes is None:
            return (perms == np.arange(perms.shape[1])).all(axis=1)
        return (self.codes[perms] == self.codes).all(axis=1)


@dataclass(frozen=True)
class Source:
    """The permutations of one run: lazily iterated blocks and what they add up to."""

    blocks: object  # an iterable of blocks (see the module docstring)
    total: int
    exact: bool
    identity: IdentityMask | None  # exact enumerations only


def source(
    unit_sizes: dict,
    *,
    group_codes: np.ndarray | None,
    kind: str,
    permutations,
    exact,
    n_resamples: int,
    rng: np.random.Generator,
) -> Source:
    """Where the permutations of a run come from.

    ``permutations``: the user's matrices (``{key: (B, n_key)}``, validated) or None;
    ``group_codes``: the groups of a one-way between design whose distinct assignments
    are enumerated (None: all permutations of the units); ``kind``: ``"vector"`` or
    ``"design"`` (see :func:`all_assignments`); ``exact``: True, False or ``"auto"``.
    """
    if permutations is not None:
        total = next(iter(permutations.values())).shape[0]
        return Source(user_blocks(permutations, block_rows(unit_sizes)), total, False, None)
    sizes = set(unit_sizes.values())
    if group_codes is not None:
        group_sizes = np.bincount(group_codes)
    elif len(sizes) == 1:
        group_sizes = np.ones(next(iter(sizes)), dtype=np.int64)
    else:
        group_sizes = None  # huh_jhun with effects of different sizes: no common enumeration
    if exact is True:
        if group_sizes is None:
            raise ValueError(
                "`exact=True` is not available for method 'huh_jhun' when the effects have "
                f"different numbers of rotated units {unit_sizes}."
            )
        count = count_at_most(group_sizes, MAX_EXACT)
        if count is None:
            digits = log_count(group_sizes) / np.log(10.0)
            raise ValueError(
                f"`exact=True` would enumerate about 10^{digits:.1f} permutations, more than "
                f"the limit of {MAX_EXACT:.0e}; use exact=False (Monte-Carlo) instead."
            )
    elif exact == "auto" and group_sizes is not None:
        count = count_at_most(group_sizes, n_resamples)
    else:
        count = None
    if count is None:
        compiled = n_resamples * sum(unit_sizes.values()) >= COMPILED_WORK
        blocks = random_blocks(rng, unit_sizes, n_resamples, compiled)
        return Source(blocks, n_resamples, False, None)
    keys = tuple(unit_sizes)
    if group_codes is not None:
        blocks = all_assignments(group_codes, kind, keys)
    else:
        blocks = all_permutations(next(iter(sizes)), keys)
    return Source(blocks, int(count), True, IdentityMask(group_codes))


def user_matrices(permutations, unit_sizes: dict, per_effect: bool, check=None) -> dict:
    """The user's ``permutations`` as validated matrices ``{unit_key: (B, n_key)}``.

    ``per_effect``: the units differ from effect to effect (huh_jhun), so a dict
    ``{effect: matrix}`` is accepted. ``check(matrix, n_units, name)`` validates one
    matrix (default: :func:`check_permutation_matrix`; sign flips give their own).
    """
    check = check or check_permutation_matrix
    if isinstance(permutations, Mapping):
        if not per_effect:
            raise TypeError(
                "`permutations` must be a (B, n) integer array; a dict is accepted only for "
                "method 'huh_jhun' (one matrix per effect)."
            )
        unknown = sorted(set(permutations) - set(unit_sizes))
        missing = [k for k in unit_sizes if k not in permutations]
        if unknown or missing:
            raise ValueError(
                f"`permutations` as a dict needs one matrix per effect {list(unit_sizes)}; "
                f"unknown: {unknown}, missing: {missing}."
            )
        out = {
            k: check(permutations[k], unit_sizes[k], f"permutations[{k!r}]") for k in unit_sizes
        }
    else:
        sizes = set(unit_sizes.values())
        if len(sizes) > 1:
            raise ValueError(
                "with method 'huh_jhun' the effects have different numbers of units "
                f"{unit_sizes}; give `permutations` as a dict {{effect: (B, n_units)}}."
            )
        shared = check(permutations, sizes.pop(), "permutations")
        out = dict.fromkeys(unit_sizes, shared)
    lengths = {m.shape[0] for m in out.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"every matrix in `permutations` needs the same number of rows; got {lengths}."
        )
    return out
