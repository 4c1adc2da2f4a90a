"""Sign flips of the units: random blocks, complete enumeration, user matrices.

A sign flip is a vector ``s`` of ``+1``/``-1`` applied by multiplication (``v * s``), as
permuco's ``Pmat(type = "signflip")``. The sources mirror :mod:`permanova._permutations`:
every source yields *blocks* whose ``permutations()`` gives ``{unit_key: (rows, n_units)}``
arrays (here of ``int8`` signs), random blocks of :func:`~permanova._permutations.block_rows`
rows are each drawn from their own child generator (``rng.spawn``), so the signs, hence
the results, depend neither on the batching nor on the thread that draws a block, and
the complete enumeration of the ``2**n`` sign vectors is split by rank. Rank ``k`` flips
unit ``j`` when bit ``j`` of ``k`` is set: the order of R's ``expand.grid`` that permuco
uses, rank 0 (no flip) being the identity.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass

import numpy as np

from permanova._permutations import BLOCK_SIZE, MAX_EXACT, Source, block_rows
from permanova._transform import SIGN_DTYPE

#: Largest number of units whose ``2**n`` sign vectors ``exact=True`` enumerates.
MAX_EXACT_UNITS = int(math.log2(MAX_EXACT))


@dataclass(frozen=True)
class RandomSignBlock:
    """``rows`` uniform random sign vectors of each unit set, from their own generator
    (keys drawn in sorted order, so a block is the same wherever it is drawn)."""

    start: int
    generator: np.random.Generator
    unit_sizes: tuple  # ((key, n_units), ...) sorted by key
    rows: int

    def permutations(self) -> dict:
        generator = copy.deepcopy(self.generator)  # a block drawn twice gives the same rows
        out = {}
        for key, size in self.unit_sizes:
            bits = generator.integers(0, 2, size=(self.rows, size), dtype=SIGN_DTYPE)
            out[key] = np.subtract(1, 2 * bits, dtype=SIGN_DTYPE)
        return out


def random_blocks(rng: np.random.Generator, unit_sizes: dict, n_resamples: int):
    """The :class:`RandomSignBlock` s of ``n_resamples`` random sign vectors; every block
    of :func:`~permanova._permutations.block_rows` rows from its own child of ``rng``."""
    rows = block_rows(unit_sizes)
    sizes = tuple(sorted(unit_sizes.items()))
    for start in range(0, n_resamples, rows):
        yield RandomSignBlock(start, rng.spawn(1)[0], sizes, min(rows, n_resamples - start))


@dataclass(frozen=True)
class SignEnumerationBlock:
    """The sign vectors of ranks ``start..stop - 1`` of ``n_units`` units (the same array
    for every key)."""

    start: int
    stop: int
    n_units: int
    keys: tuple

    def permutations(self) -> dict:
        ranks = np.arange(self.start, self.stop, dtype=np.int64)
        bits = (ranks[:, None] >> np.arange(self.n_units, dtype=np.int64)) & 1
        return dict.fromkeys(self.keys, (1 - 2 * bits).astype(SIGN_DTYPE))


def all_signflips(n_units: int, keys: tuple = ("obs",)):
    """The :class:`SignEnumerationBlock` s of all ``2**n_units`` sign vectors."""
    total = 2**n_units
    for start in range(0, total, BLOCK_SIZE):
        yield SignEnumerationBlock(start, min(start + BLOCK_SIZE, total), n_units, keys)


def is_identity(signs: np.ndarray) -> np.ndarray:
    """Which sign vectors (rows) flip nothing."""
    return (signs == 1).all(axis=1)


def check_signflip_matrix(matrix, n_units: int, name: str = "permutations") -> np.ndarray:
    """Validate a user matrix of sign flips: (B, n_units), every entry +1 or -1.

    Returns an ``int8`` copy. A first row without any flip (a permuco matrix whose
    identity column was kept) gives a ``UserWarning``: it would be counted twice.
    """
    array = np.asarray(matrix)
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise TypeError(
            f"`{name}` must be a numeric array of +1/-1 sign flips; got dtype {array.dtype}."
        )
    if array.ndim != 2 or array.shape[1] != n_units or array.shape[0] < 1:
        raise ValueError(
            f"`{name}` must have shape (B, {n_units}) with B >= 1 (one sign flip of the "
            f"{n_units} units per row, identity excluded); got shape {array.shape}."
        )
    bad = np.flatnonzero(~np.isin(array, (-1, 1)).all(axis=1))
    if bad.size:
        raise ValueError(
            f"every entry of `{name}` must be +1 or -1 (sign flips); rows "
            f"{bad[:5].tolist()} hold other values. A permuco matrix P maps to P[:, 1:].T."
        )
    signs = array.astype(SIGN_DTYPE)
    if is_identity(signs[:1])[0]:
        warnings.warn(
            f"the first row of `{name}` flips no sign: the identity is counted once on top "
            "of the given rows, so it now counts twice. Drop it (permuco's P maps to "
            "P[:, 1:].T).",
            UserWarning,
            stacklevel=3,
        )
    return signs


def source(
    unit_sizes: dict, *, signflips, exact, n_resamples: int, rng: np.random.Generator
) -> Source:
    """Where the sign flips of a run come from (as :func:`permanova._permutations.source`).

    ``signflips``: the user's validated matrices ``{key: (B, n_key)}`` or None; ``exact``:
    True (all ``2**n``, refused above :data:`MAX_EXACT_UNITS` units), False (random) or
    ``"auto"`` (all when ``2**n <= n_resamples``, as permuco's ``Pmat``). Every key must
    have the same number of units for an enumeration.
    """
    if signflips is not None:
        total = next(iter(signflips.values())).shape[0]
        rows = block_rows(unit_sizes)
        blocks = (
            _UserSignBlock(start, {k: m[start : start + rows] for k, m in signflips.items()})
            for start in range(0, total, rows)
        )
        return Source(blocks, total, False, None)
    sizes = set(unit_sizes.values())
    n = next(iter(sizes))
    if exact is True:
        if len(sizes) > 1:
            raise ValueError(
                f"`exact=True` needs the same number of units for every test; got {unit_sizes}."
            )
        if n > MAX_EXACT_UNITS:
            raise ValueError(
                f"`exact=True` would enumerate 2^{n} sign flips, more than the limit of "
                f"{MAX_EXACT:.0e}; use exact=False (Monte-Carlo) instead."
            )
        enumerate_all = True
    else:
        enumerate_all = exact == "auto" and len(sizes) == 1 and n < 63 and 2**n <= n_resamples
    if not enumerate_all:
        return Source(random_blocks(rng, unit_sizes, n_resamples), n_resamples, False, None)
    return Source(all_signflips(n, tuple(unit_sizes)), 2**n, True, is_identity)


@dataclass(frozen=True)
class _UserSignBlock:
    """Rows ``start..`` of the user's sign-flip matrices."""

    start: int
    matrices: dict

    def permutations(self) -> dict:
        return self.matrices
