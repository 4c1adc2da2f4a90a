"""Batched evaluation: permutations -> one thin product per effect -> F -> counts.

Memory is bounded by the batch size: only the exceedance counts are kept, unless the
caller asks for the null distribution.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

#: Relative tolerance of the comparison with the observed statistic: ``F_b`` counts as
#: at least as extreme as ``F_obs`` when ``F_b >= F_obs * (1 - TIE_RTOL)``.
TIE_RTOL = 1e-12


@dataclass
class EngineOutput:
    observed: np.ndarray  # the method's own F at the identity, per effect
    counts: np.ndarray  # number of permutations at least as extreme, per effect
    n_evaluated: int
    null: np.ndarray | None


def observed_statistics(kernels, unit_sizes: dict) -> np.ndarray:
    """Each kernel's statistic at the identity permutation (or its fixed observed value)."""
    out = np.empty(len(kernels))
    for j, kernel in enumerate(kernels):
        if getattr(kernel, "observed", None) is not None:
            out[j] = kernel.observed
            continue
        identity = np.arange(unit_sizes[kernel.unit_key], dtype=np.intp)[None, :]
        out[j] = kernel.statistics(identity)[0]
    return out


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "`progress=True` needs tqdm; install it with `pip install tukeyrupture[progress]` "
            "or `pip install tqdm`."
        ) from None
    return tqdm(total=total, unit="perm", desc="permutations")


def run(
    kernels: list,
    batches: Iterable[dict],
    observed: np.ndarray,
    total: int,
    *,
    alternative: str = "greater",
    return_null: bool = False,
    progress: bool = False,
    identity=None,
) -> EngineOutput:
    """Evaluate every batch of permutations and count the extreme statistics.

    ``batches`` yields dicts ``{unit_key: (b, n_units) permutations}``; ``observed`` holds
    the statistics compared against (one per kernel). ``identity``, given for exact
    enumerations, maps a batch to the mask of its rows that stand for the identity: there,
    a kernel with a fixed observed statistic (ter Braak's) takes that value, as permuco
    puts the observed statistic in the identity's slot.
    """
    n_effects = len(kernels)
    counts = np.zeros(n_effects, dtype=np.int64)
    null = np.empty((total, n_effects)) if return_null else None
    if alternative == "greater":
        thresholds = observed * (1.0 - TIE_RTOL)
    else:
        thresholds = observed * (1.0 + TIE_RTOL)
    bar = _progress_bar(total, progress)
    done = 0
    try:
        with _single_threaded_blas():
            done = _loop(kernels, batches, thresholds, alternative, counts, null, bar, identity)
    finally:
        if bar is not None:
            bar.close()
    return EngineOutput(observed=observed, counts=counts, n_evaluated=done, null=null)


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


def _loop(kernels, batches, thresholds, alternative, counts, null, bar, identity) -> int:
    done = 0
    workspace: dict = {}  # output buffers reused from batch to batch
    for batch in batches:
        b = next(iter(batch.values())).shape[0]
        cache: dict = {"workspace": workspace}  # gathers shared by kernels in this batch
        for j, kernel in enumerate(kernels):
            perms = batch[kernel.unit_key]
            f = kernel.statistics(perms, cache)
            if identity is not None and getattr(kernel, "observed", None) is not None:
                f[identity(perms)] = kernel.observed
            if alternative == "greater":
                counts[j] += np.count_nonzero(f >= thresholds[j])
            else:
                counts[j] += np.count_nonzero(f <= thresholds[j])
            if null is not None:
                null[done : done + b, j] = f
        done += b
        if bar is not None:
            bar.update(b)
    return done
