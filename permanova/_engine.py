"""Batched evaluation: blocks of permutations -> thin products per effect -> F -> counts.

The permutations arrive in blocks whose boundaries depend only on the design (see
:mod:`permanova._permutations`). Each block is evaluated on its own, in chunks of a fixed
number of rows (the last one padded), so every product has the same shape and the same
rows whatever the caller asks for: the F of a permutation is bit-for-bit the same on a
given machine, whether the blocks run one after the other, in threads (``n_jobs``) or on
Dask workers. Only the exceedance counts are kept, unless the caller asks for the null
distribution.

With several outcomes, one set of products per chunk serves all of them (:mod:`screens
<permanova._screens>`); a permutation that the fast statistics cannot place on either
side of the observed F with certainty is evaluated again by the outcome's own kernel, so
the counts are those of separate runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from permanova import _screens
from permanova._kernels import COMPILED_WORK, Kernel, StratumKernel, compiled
from permanova._permutations import IdentityMask, chunk_rows

#: Floats of one outcome-by-permutation work array of a multi-outcome chunk (16 MiB).
_MULTI_CHUNK = 2**21


@dataclass(frozen=True)
class Observed:
    """What the permuted statistics of one outcome's kernels are compared with."""

    statistic: np.ndarray  # F at the identity (or the method's fixed observed F)
    tolerance: np.ndarray  # relative half-width of the tie band
    exact: list  # exact sums at the identity (lazy), or None where not decided exactly
    degenerate: np.ndarray  # an observed sum of squares at the rounding level

    @property
    def low(self) -> np.ndarray:
        return self.statistic * (1.0 - self.tolerance)

    @property
    def high(self) -> np.ndarray:
        return self.statistic * (1.0 + self.tolerance)


def observed_statistics(kernels: list[list[Kernel]]) -> list[Observed]:
    """Each kernel's F at the identity (or its fixed observed value) and its tie band,
    per outcome (``kernels[outcome][effect]``).

    A permuted ``F_b`` is within rounding error of ``F_obs`` when ``|F_b - F_obs| <=
    tolerance * F_obs`` (:meth:`permanova._kernels.Ratio.tie_tolerance`). Those
    permutations are decided again in exact arithmetic (``kernel.exact``), so that exact
    ties count and near ties do not; kernels without an exact form count them as ties.
    The kernels of one effect share their bases, so the stratum kernels of every outcome
    are evaluated at the identity in one batch.
    """
    n_effects = len(kernels[0])
    sums = [identity_sums([ks[j] for ks in kernels]) for j in range(n_effects)]
    return [_observed(ks, [pair[k] for pair in sums]) for k, ks in enumerate(kernels)]


def identity_sums(kernels: list[Kernel]) -> list:
    """``(num, den)`` at the identity of the kernels of one effect (one per outcome), or
    None for those compared with a fixed observed value."""
    first = kernels[0]
    if first.fixed_observed is not None:
        return [None] * len(kernels)
    if isinstance(first, StratumKernel) and all(first.shares_layout(k) for k in kernels):
        num, den = first.sums_of(np.stack([k.u_table for k in kernels]))
        return list(zip(num[:, None], den[:, None], strict=True))
    identity = np.arange(first.units, dtype=np.intp)[None, :]
    return [kernel.sums(identity) for kernel in kernels]


def _observed(kernels: list[Kernel], sums: list) -> Observed:
    """The :class:`Observed` of one outcome's kernels from their sums at the identity."""
    statistic = np.empty(len(kernels))
    tolerance = np.empty(len(kernels))
    degenerate = np.zeros(len(kernels), dtype=bool)
    exact = []
    for j, (kernel, pair) in enumerate(zip(kernels, sums, strict=True)):
        if kernel.fixed_observed is not None:
            statistic[j], tolerance[j] = kernel.fixed_observed, kernel.fixed_tolerance
            exact.append(None)
            continue
        num, den = pair
        identity = np.arange(kernel.units, dtype=np.intp)[None, :]
        statistic[j] = kernel.ratio.statistic(num, den)[0]
        tolerance[j] = kernel.ratio.tie_tolerance(float(num[0]), float(den[0]))
        degenerate[j] = kernel.ratio.degenerate(num, den)[0]
        exact.append(_LazyObserved(kernel.exact, identity) if kernel.exact else None)
    return Observed(statistic, tolerance, exact, degenerate)


class _LazyObserved:
    """The exact ``(num, den)`` at the identity, computed when first needed."""

    def __init__(self, statistic, identity):
        self.statistic, self.identity, self._value = statistic, identity, None
        self._lock = threading.Lock()

    def __getstate__(self):  # Dask ships it to its workers
        return {"statistic": self.statistic, "identity": self.identity, "_value": self._value}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def value(self):
        """The exact sums, or None when the design is too large to decide exactly."""
        with self._lock:
            if self._value is None and self.statistic.sums is not None:
                self._value = self.statistic.sums(self.identity)[0]
        return self._value


@dataclass(frozen=True)
class Evaluation:
    """Everything a block needs: the kernels ``[outcome][effect]``, what they are compared
    with, and how (shipped once to every thread or Dask worker)."""

    kernels: list  # [outcome][effect]
    observed: list  # [outcome] Observed
    screens: list | None  # [effect] multi-outcome screens (None for one outcome)
    bands: tuple | None  # (low, high, tolerance, degenerate), each (n_outcomes, n_effects)
    chunk_rows: int
    greater: bool
    return_null: bool
    identity: IdentityMask | None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.kernels), len(self.kernels[0])


@dataclass(frozen=True)
class BlockResult:
    start: int
    rows: int
    counts: np.ndarray  # (n_outcomes, n_effects)
    null: np.ndarray | None  # (n_outcomes, rows, n_effects)


@dataclass(frozen=True)
class EngineOutput:
    counts: np.ndarray  # (n_outcomes, n_effects): permutations at least as extreme
    null: np.ndarray | None  # (n_outcomes, total, n_effects)


def evaluation(
    kernels: list,
    observed: list,
    *,
    alternative: str,
    return_null: bool,
    identity,
    total: int,
    signflip: bool = False,
) -> Evaluation:
    """The :class:`Evaluation` of a run (``kernels[outcome][effect]``, ``total``
    permutations, or sign flips: each outcome then runs its own kernels, the screens and
    compiled gathers holding for permutations only)."""
    unit_sizes = {kernel.unit_key: kernel.units for kernel in kernels[0]}
    rows = chunk_rows(unit_sizes)
    work = total * max(unit_sizes.values()) * len(kernels)
    if work >= COMPILED_WORK and compiled("vector_sums") is not None and not signflip:
        kernels = [[dataclasses.replace(k, compiled=True) for k in ks] for ks in kernels]
    if len(kernels) == 1 or signflip:
        screens = None
    else:
        screens = [
            _screens.screen([ks[j] for ks in kernels], total) for j in range(len(kernels[0]))
        ]
        rows = min(rows, _MULTI_CHUNK // (max(unit_sizes.values()) * len(kernels)))
    bands = None
    if screens is not None:
        bands = tuple(
            np.array([getattr(o, name) for o in observed])
            for name in ("low", "high", "tolerance", "degenerate")
        )
    return Evaluation(
        kernels=kernels,
        observed=observed,
        screens=screens,
        bands=bands,
        chunk_rows=int(max(1, rows)),
        greater=alternative != "less",
        return_null=return_null,
        identity=identity,
    )


def evaluate_block(task: Evaluation, block, workspace: dict | None = None) -> BlockResult:
    """Counts (and null statistics) of one block of permutations."""
    perms = block.permutations()
    rows = next(iter(perms.values())).shape[0]
    n_outcomes, n_effects = task.shape
    counts = np.zeros((n_outcomes, n_effects), dtype=np.int64)
    null = np.empty((n_outcomes, rows, n_effects)) if task.return_null else None
    workspace = {} if workspace is None else workspace
    for start in range(0, rows, task.chunk_rows):
        pieces, valid = _chunk(perms, start, task.chunk_rows)
        cache: dict = {"workspace": workspace}  # gathers shared by kernels in this chunk
        for j in range(n_effects):
            if task.screens is None:
                decided = [_single(task, k, j, pieces, valid, cache) for k in range(n_outcomes)]
                f, extreme = (np.stack(parts) for parts in zip(*decided, strict=True))
            else:
                f, extreme = _multi(task, j, pieces, valid, cache)
            counts[:, j] += np.count_nonzero(extreme, axis=1)
            if null is not None:
                null[:, start : start + valid, j] = f
    return BlockResult(block.start, rows, counts, null)


def _chunk(perms: dict, start: int, rows: int):
    """Rows ``start:start + rows`` of every key, a short chunk padded with copies of its
    first row so that the products always have ``rows`` rows."""
    pieces = {}
    for key, block in perms.items():
        piece = block[start : start + rows]
        valid = piece.shape[0]
        if valid < rows:
            padding = np.broadcast_to(piece[:1], (rows - valid, piece.shape[1]))
            piece = np.concatenate([piece, padding])
        pieces[key] = piece
    return pieces, valid


def _single(task: Evaluation, k: int, j: int, pieces: dict, valid: int, cache):
    """F of kernel ``[k][j]`` for the valid rows of a chunk, and which are extreme."""
    kernel = task.kernels[k][j]
    perms = pieces[kernel.unit_key]
    num, den = kernel.sums(perms, cache)
    return _decide(task, k, j, perms[:valid], num[:valid], den[:valid])


def _decide(task: Evaluation, k: int, j: int, perms, num, den):
    """F and extremeness of the permutations ``perms`` of kernel ``[k][j]`` from their
    float sums: inside the tie band, with a sum at the rounding level, or when the
    observed F is degenerate, the exact statistic decides."""
    kernel, observed = task.kernels[k][j], task.observed[k]
    low, high = observed.low[j], observed.high[j]
    fixed = task.identity is not None and kernel.fixed_observed is not None
    if kernel.compiled and not fixed:  # one pass, without the GIL
        ratio = kernel.ratio
        f, extreme, unsure = compiled("decide")(
            num,
            den,
            ratio.noise * ratio.noise,
            ratio.df_num,
            ratio.df_den,
            low,
            high,
            task.greater,
            bool(observed.degenerate[j]),
        )
    else:
        f = kernel.ratio.statistic(num, den)
        if fixed:
            f[task.identity(perms)] = kernel.fixed_observed
        extreme = f >= low if task.greater else f <= high
        unsure = kernel.ratio.degenerate(num, den) | ((f >= low) & (f <= high))
        if observed.degenerate[j]:
            unsure[:] = True
    band = np.flatnonzero(unsure)
    lazy = observed.exact[j]
    if band.size and lazy is not None:
        exact_observed = lazy.value()
        if exact_observed is not None:
            extreme[band] = kernel.exact.extreme(perms[band], exact_observed, task.greater)
    return f, extreme


def _multi(task: Evaluation, j: int, pieces: dict, valid: int, cache):
    """F of effect ``j`` for every outcome (rows: outcomes) and which are extreme: one
    screen for all outcomes; the outcomes' own kernels decide what it cannot."""
    screen = task.screens[j]
    perms = pieces[screen.unit_key]
    f, rel = screen.statistics(perms, cache)
    low, high, band, degenerate = (values[:, j] for values in task.bands)
    if task.kernels[0][j].compiled:  # one pass, without the GIL
        f, extreme, unsure = compiled("screen_decide")(
            f, rel, low, high, band, degenerate, task.greater, valid
        )
    else:
        f, rel = f[:valid].T, rel[:valid].T  # (n_outcomes, rows)
        low, high, band, degenerate = (v[:, None] for v in (low, high, band, degenerate))
        # the kernel's own F lies within rel of the screen's (and within its band of the truth)
        with np.errstate(invalid="ignore", over="ignore"):
            smallest = f * (1.0 - rel) * (1.0 - band)
            largest = f * (1.0 + rel) * (1.0 + band)
        below, above = largest < low, smallest > high
        unsure = ~(below | above) | ~np.isfinite(rel)
        unsure |= degenerate
        extreme = above if task.greater else below
    if task.kernels[0][j].fixed_observed is not None and task.identity is not None:
        unsure[:, task.identity(perms[:valid])] = True
    for k in np.flatnonzero(unsure.any(axis=1)):
        rows = np.flatnonzero(unsure[k])
        num, den = task.kernels[k][j].sums(perms[rows])
        f[k, rows], extreme[k, rows] = _decide(task, k, j, perms[rows], num, den)
    return f, extreme


# --------------------------------------------------------------------------------------
# running the blocks: serially, in threads or on Dask
# --------------------------------------------------------------------------------------
def effective_jobs(n_jobs: int | None) -> int:
    """Threads for ``n_jobs`` (scikit-learn convention: None = 1, -1 = all cores)."""
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, _cores() + 1 + n_jobs)
    return n_jobs


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def run(
    task: Evaluation,
    blocks: Iterable,
    total: int,
    *,
    n_jobs: int = 1,
    client=None,
    use_dask: bool = False,
    progress: bool = False,
) -> EngineOutput:
    """Evaluate every block (serially, in ``n_jobs`` threads, or on Dask) and add up."""
    n_outcomes, n_effects = task.shape
    counts = np.zeros((n_outcomes, n_effects), dtype=np.int64)
    null = np.empty((n_outcomes, total, n_effects)) if task.return_null else None
    bar = _progress_bar(total, progress)
    try:
        with _single_threaded_blas():
            if use_dask:
                from permanova import _dask

                results = _dask.map_blocks(task, blocks, client)
            elif n_jobs > 1:
                results = _threaded(task, blocks, n_jobs)
            else:
                workspace: dict = {}
                results = (evaluate_block(task, block, workspace) for block in blocks)
            for result in results:
                counts += result.counts
                if null is not None:
                    null[:, result.start : result.start + result.rows] = result.null
                if bar is not None:
                    bar.update(result.rows)
    finally:
        if bar is not None:
            bar.close()
    return EngineOutput(counts=counts, null=null)


def _threaded(task: Evaluation, blocks: Iterable, n_jobs: int):
    """Results of the blocks evaluated in ``n_jobs`` threads, each taking the next block
    when it is done with one (NumPy and the compiled kernels release the GIL), so at most
    ``n_jobs`` blocks are held at once. The blocks are taken in order, so a block's
    permutations do not depend on the thread that draws them."""
    iterator, lock, results = iter(blocks), threading.Lock(), queue.SimpleQueue()
    stop = threading.Event()

    def work():
        workspace: dict = {}
        try:
            while not stop.is_set():
                with lock:
                    block = next(iterator, None)
                if block is None:
                    break
                results.put(evaluate_block(task, block, workspace))
        except BaseException as error:  # handed to the caller's thread
            results.put(_Failed(error))
        finally:
            results.put(None)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(n_jobs)]
    for thread in threads:
        thread.start()
    try:
        running = n_jobs
        while running:
            result = results.get()
            if result is None:
                running -= 1
            elif isinstance(result, _Failed):
                raise result.error
            else:
                yield result
    finally:
        stop.set()
        for thread in threads:
            thread.join()


@dataclass(frozen=True)
class _Failed:
    """An exception raised in a worker thread."""

    error: BaseException


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="perm", desc="permutations")


def _single_threaded_blas():
    """Limit BLAS to one thread while blocks run (when threadpoolctl is available).

    The products are thin (``b x n`` by ``n x k`` with small ``k``) and memory-bound:
    BLAS threads only add synchronisation (the engine's own threads use the cores).
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
