"""Small helpers shared by the benchmark scripts: timing, peak memory, an aligned table.

Set-up stays outside the measured callable: pass a zero-argument function that does only the
work to measure (``functools.partial`` or a ``lambda``).
"""

from __future__ import annotations

import gc
import statistics
import sys
import timeit
import tracemalloc
from collections.abc import Callable, Mapping, Sequence

__all__ = ["median_time", "peak_memory_mib", "print_table"]


def median_time(fn: Callable[[], object], repeat: int = 5, number: int = 1) -> float:
    """Median over ``repeat`` runs of the time of one call of ``fn``, in seconds.

    Each run calls ``fn`` ``number`` times (``timeit.repeat``, garbage collection off during a
    run as timeit does); the per-call time of a run is its total divided by ``number``.
    """
    if repeat < 1 or number < 1:
        raise ValueError(f"`repeat` and `number` must be >= 1; got {repeat} and {number}.")
    times = timeit.repeat(fn, repeat=repeat, number=number)
    return statistics.median(times) / number


def peak_memory_mib(fn: Callable[[], object]) -> float:
    """Peak memory allocated while ``fn()`` runs, above what was allocated before, in MiB.

    Measured with ``tracemalloc``, which sees Python objects and numpy buffers (numpy reports
    its allocations to tracemalloc). The result of ``fn`` is dropped before returning.
    """
    gc.collect()
    started_here = not tracemalloc.is_tracing()
    if started_here:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        if started_here:
            tracemalloc.stop()
    return (peak - baseline) / 2**20


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value == 0 or 1e-3 <= abs(value) < 1e6:
            return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
        return f"{value:.3g}"
    return str(value)


def print_table(
    rows: Sequence[Mapping | Sequence],
    columns: Sequence[str],
    file=None,
) -> str:
    """Print ``rows`` (mappings keyed by column, or sequences in column order) aligned.

    Numbers are right-aligned with about 4 significant digits, text is left-aligned, a missing
    value (``None``, NaN or a key not in a mapping) prints as ``-``. Returns the table text.
    """
    cells = []
    numeric = [True] * len(columns)
    for row in rows:
        values = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        if len(values) != len(columns):
            raise ValueError(f"a row has {len(values)} values for {len(columns)} columns.")
        for j, v in enumerate(values):
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                numeric[j] = False
        cells.append([_cell(v) for v in values])
    widths = [max([len(c)] + [len(r[j]) for r in cells]) for j, c in enumerate(columns)]

    def line(values):
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    text = "\n".join(
        [line(list(columns)), "  ".join("-" * w for w in widths)] + [line(r) for r in cells]
    )
    print(text, file=file if file is not None else sys.stdout)
    return text
