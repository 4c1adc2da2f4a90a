"""Blocks of permutations on Dask: a ``dask.distributed`` cluster or dask's own scheduler.

Each block carries its own generator (or its ranks, or its rows of the user's matrices),
so a worker evaluates exactly what the serial run evaluates: the results are equal. The
evaluation (kernels, observed statistics) goes to every worker once; then at most a few
blocks per worker are in flight, so memory per worker stays bounded by the block size.
Imported only when ``backend="dask"`` is asked for.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from permanova._engine import BlockResult, Evaluation, effective_jobs, evaluate_block

#: Blocks in flight per worker thread.
_IN_FLIGHT = 2


def _require_dask():
    try:
        import dask
    except ImportError:
        raise ImportError(
            "backend='dask' needs dask: pip install 'dask[distributed]' (the package's "
            "`dask` extra)."
        ) from None
    return dask


def _active_client(client):
    """The client given, or the active ``dask.distributed`` client, or None."""
    if client is not None:
        return client
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # no client: dask's own scheduler
        return None


def map_blocks(task: Evaluation, blocks: Iterable, client=None) -> Iterator[BlockResult]:
    """Evaluate ``blocks`` on the cluster of ``client`` (or the default scheduler)."""
    dask = _require_dask()
    client = _active_client(client)
    if client is None:
        yield from _local(dask, task, blocks)
    else:
        yield from _distributed(client, task, blocks)


def _local(dask, task: Evaluation, blocks: Iterable) -> Iterator[BlockResult]:
    """Waves of delayed block evaluations on dask's default (threaded) scheduler."""
    shared = dask.delayed(task, pure=True, traverse=False)
    wave = _IN_FLIGHT * effective_jobs(-1)
    iterator = iter(blocks)
    while batch := list(itertools.islice(iterator, wave)):
        calls = [dask.delayed(evaluate_block, pure=True)(shared, block) for block in batch]
        yield from dask.compute(*calls)


def _distributed(client, task: Evaluation, blocks: Iterable) -> Iterator[BlockResult]:
    """Waves of futures on a ``dask.distributed`` cluster, the evaluation scattered once."""
    shared = client.scatter(task, broadcast=True, hash=False)
    wave = _IN_FLIGHT * (sum(client.nthreads().values()) or 1)
    iterator = iter(blocks)
    while batch := list(itertools.islice(iterator, wave)):
        futures = [client.submit(evaluate_block, shared, block, pure=False) for block in batch]
        yield from client.gather(futures)
