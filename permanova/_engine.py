"""Batched evaluation: permutations -> thin products per effect -> F -> counts.

The permutations arrive in blocks whose boundaries depend only on the design (see
:mod:`permanova._permutations`). Each block is evaluated in chunks of a fixed number of
rows, the last one padded, so every product has the same shape and the same rows whatever
the caller asks for: the F of a permutation is bit-for-bit the same on a given machine.
Memory is bounded by the chunk: only the exceedance counts are kept, unless the caller
asks for the null distribution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Observed:
    """What every kernel's permuted statistics are compared with."""

    statistic: np.ndarray  # F at the identity (or the method's fixed observed F)
    tolerance: np.ndarray  # relative half-width of the tie band
    exact: list  # exact sums at the identity (lazy), or None where not decided exactly
    degenerate: np.ndarray  # an observed sum of squares at the rounding level


@dataclass(frozen=True)
class EngineOutput:
    counts: np.ndarray  # number of permutations at least as extreme, per effect
    null: np.ndarray | None


def observed_statistics(kernels, unit_sizes: dict) -> Observed:
    """Each kernel's F at the identity (or its fixed observed value) and its tie band.

    A permuted ``F_b`` is within rounding error of ``F_obs`` when ``|F_b - F_obs| <=
    tolerance * F_obs`` (:meth:`permanova._methods.Ratio.tie_tolerance`). Those
    permutations are decided again in exact arithmetic (``kernel.exact``), so that exact
    ties count and near ties do not; kernels without an exact form count them as ties.
    """
    statistic = np.empty(len(kernels))
    tolerance = np.empty(len(kernels))
    degenerate = np.zeros(len(kernels), dtype=bool)
    exact = []
    for j, kernel in enumerate(kernels):
        if kernel.observed is not None:
            statistic[j], tolerance[j] = kernel.observed, kernel.observed_tolerance
            exact.append(None)
            continue
        identity = np.arange(unit_sizes[kernel.unit_key], dtype=np.intp)[None, :]
        num, den = kernel.sums(identity)
        statistic[j] = kernel.ratio.statistic(num, den)[0]
        tolerance[j] = kernel.ratio.tie_tolerance(float(num[0]), float(den[0]))
        degenerate[j] = kernel.ratio.degenerate(num, den)[0]
        exact.append(_LazyObserved(kernel.exact, identity) if kernel.exact else None)
    return Observed(statistic, tolerance, exact, degenerate)


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="perm", desc="permutations")


def run(
    kernels: list,
    blocks: Iterable[dict],
    observed: Observed,
    total: int,
    *,
    chunk_rows: int,
    alternative: str = "greater",
    return_null: bool = False,
    progress: bool = False,
    identity=None,
) -> EngineOutput:
    """Evaluate every block of permutations and count the extreme statistics.

    ``blocks`` yields dicts ``{unit_key: (b, n_units) permutations}``; ``observed`` (see
    :func:`observed_statistics`) holds what each kernel's statistics are compared with.
    ``identity``, given for exact enumerations, maps permutations to the
    mask of those that stand for the identity: there, a kernel with a fixed observed
    statistic (ter Braak's) takes that value, as permuco puts the observed statistic in the
    identity's slot.
    """
    greater = alternative == "greater"
    low = observed.statistic * (1.0 - observed.tolerance)
    high = observed.statistic * (1.0 + observed.tolerance)
    counts = np.zeros(len(kernels), dtype=np.int64)
    null = np.empty((total, len(kernels))) if return_null else None
    bar = _progress_bar(total, progress)
    done = 0
    workspace: dict = {}  # output buffers reused from chunk to chunk
    try:
        with _single_threaded_blas():
            for block in blocks:
                rows = next(iter(block.values())).shape[0]
                for start in range(0, rows, chunk_rows):
                    f, degenerate, pieces = _chunk_statistics(
                        kernels, block, start, chunk_rows, workspace, identity
                    )
                    extreme = f >= low if greater else f <= high
                    unsure = degenerate | ((f >= low) & (f <= high)) | observed.degenerate
                    _decide_exactly(kernels, observed, unsure, pieces, greater, extreme)
                    counts += np.count_nonzero(extreme, axis=0)
                    if null is not None:
                        null[done : done + f.shape[0]] = f
                    done += f.shape[0]
                if bar is not None:
                    bar.update(rows)
    finally:
        if bar is not None:
            bar.close()
    return EngineOutput(counts=counts, null=null)


class _LazyObserved:
    """The exact ``(num, den)`` at the identity, computed when first needed."""

    def __init__(self, statistic, identity):
        self.statistic, self.identity, self._value = statistic, identity, None

    def value(self):
        """The exact sums, or None when the design is too large to decide exactly."""
        if self._value is None and self.statistic.sums is not None:
            self._value = self.statistic.sums(self.identity)[0]
        return self._value


def _decide_exactly(kernels, observed, unsure, pieces, greater, extreme) -> None:
    """Re-decide, in exact arithmetic, the permutations that rounding could have misplaced."""
    for j, kernel in enumerate(kernels):
        band = np.flatnonzero(unsure[:, j])
        if observed.exact[j] is None or not band.size:
            continue
        exact_observed = observed.exact[j].value()
        if exact_observed is not None:
            perms = pieces[kernel.unit_key][band]
            extreme[band, j] = kernel.exact.extreme(perms, exact_observed, greater)


def _chunk_statistics(kernels, block, start, chunk_rows, workspace, identity) -> np.ndarray:
    """F of every kernel (columns) for rows ``start:start + chunk_rows`` of a block, where
    a sum of squares is at the rounding level, and those rows' permutations.

    A short chunk is padded with copies of its first row, so that the products always have
    ``chunk_rows`` rows.
    """
    pieces = {}
    for key, perms in block.items():
        piece = perms[start : start + chunk_rows]
        valid = piece.shape[0]
        if valid < chunk_rows:
            padding = np.broadcast_to(piece[:1], (chunk_rows - valid, piece.shape[1]))
            piece = np.concatenate([piece, padding])
        pieces[key] = piece
    cache: dict = {"workspace": workspace}  # gathers shared by kernels in this chunk
    f = np.empty((valid, len(kernels)))
    degenerate = np.empty((valid, len(kernels)), dtype=bool)
    for j, kernel in enumerate(kernels):
        perms = pieces[kernel.unit_key]
        num, den = kernel.sums(perms, cache)
        num, den = num[:valid], den[:valid]
        values = kernel.ratio.statistic(num, den)
        degenerate[:, j] = kernel.ratio.degenerate(num, den)
        if identity is not None and kernel.observed is not None:
            values[identity(perms[:valid])] = kernel.observed
        f[:, j] = values
    return f, degenerate, {key: piece[:valid] for key, piece in pieces.items()}


def _single_threaded_blas():
    """Limit BLAS to one thread while batches run (when threadpoolctl is available).

    The products are thin (``b x n`` by ``n x k`` with small ``k``) and memory-bound:
    BLAS threads only add synchronisation, and on a loaded machine they stall.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            return contextlib.nullcontext()
        _CONTROLLER = ThreadpoolController()  # inspecting the libraries is slow: once
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER = None
