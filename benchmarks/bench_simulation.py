"""Throughput of simulation studies: simulate + detect, serial vs loky vs a Dask cluster.

For 1e5 and 1e6 series of 20 sessions (the default ``simulate_alliance`` parameters: 5 %
rupture rate, depth 2 SD) it times, with set-up outside the timed call:

* ``simulate``: ``simulate_alliance(N, 20)``;
* ``detect``: ``TukeyRuptureDetector().fit(X).predict(X)`` on those data;
* ``simulate+detect+score``: ``compare_detectors(["tcc"], ...)`` with the N series split
  into 8 cells (replications of N / 8 series), so every cell simulates, fits, predicts and
  scores against the truth; once per backend: ``serial``, ``loky`` (2 workers) and
  ``dask`` (a ``LocalCluster`` of 2 single-threaded worker processes, started before the
  timing; its start-up is not counted);
* for scale, the ``ruptures`` adapter (``RupturesDetector``, PELT, one Python call per
  series) on 2,000 series.

Each figure is the median of ``timeit.repeat`` (3 runs; 1 for 1e6 series unless
``--repeat`` says otherwise) and is reported as series per second. The loky pool and the
Dask workers are warmed up by one small call first. Peak memory (tracemalloc, this process
only) is given for the serial cases.

Run from the repository root::

    python benchmarks/bench_simulation.py           # 1e5 and 1e6 series
    python benchmarks/bench_simulation.py --quick   # 1e5 series only
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import median_time, peak_memory_mib, print_table

from tukeyrupture import TukeyRuptureDetector, compare_detectors, simulate_alliance
from tukeyrupture.comparison.partitioning import RupturesDetector

N_SERIES = (100_000, 1_000_000)
N_SESSIONS = 20
N_CELLS = 8
N_WORKERS = 2
RUPTURES_SERIES = 2_000
SEED = 20261128
COLUMNS = ("case", "backend", "series", "cells", "seconds", "series/s", "peak MiB")


def _compare(n_series, backend):
    conditions = [{"n_series": n_series // N_CELLS, "n_sessions": N_SESSIONS}]
    return compare_detectors(
        ["tcc"],
        conditions,
        n_replications=N_CELLS,
        random_state=SEED,
        backend=backend,
        progress=False,
        n_jobs=N_WORKERS,
    )


def _row(case, backend, n_series, cells, seconds, peak=None):
    return {
        "case": case,
        "backend": backend,
        "series": n_series,
        "cells": cells,
        "seconds": seconds,
        "series/s": n_series / seconds,
        "peak MiB": peak,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e5 series only")
    parser.add_argument("--repeat", type=int, default=None, help="timing runs per case")
    args = parser.parse_args(argv)
    sizes = N_SERIES[:1] if args.quick else N_SERIES

    import distributed

    print(
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{N_SESSIONS} sessions; compare runs {N_CELLS} cells of N/{N_CELLS} series; "
        f"{N_WORKERS} workers for loky and dask."
    )
    rows = []
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        for backend in ("loky", "dask"):
            _compare(N_CELLS * 100, backend)  # warm up the pool / the workers
        for n_series in sizes:
            repeat = args.repeat or (3 if n_series <= 100_000 else 1)
            sim = simulate_alliance(n_series, N_SESSIONS, random_state=SEED)
            seconds = median_time(
                lambda n=n_series: simulate_alliance(n, N_SESSIONS, random_state=SEED),
                repeat=repeat,
            )
            peak = peak_memory_mib(
                lambda n=n_series: simulate_alliance(n, N_SESSIONS, random_state=SEED)
            )
            rows.append(_row("simulate", "serial", n_series, 1, seconds, peak))
            seconds = median_time(
                lambda X=sim.X: TukeyRuptureDetector().fit(X).predict(X), repeat=repeat
            )
            peak = peak_memory_mib(lambda X=sim.X: TukeyRuptureDetector().fit(X).predict(X))
            rows.append(_row("detect (fit+predict)", "serial", n_series, 1, seconds, peak))
            del sim
            for backend in ("serial", "loky", "dask"):
                seconds = median_time(lambda n=n_series, b=backend: _compare(n, b), repeat=repeat)
                peak = (
                    peak_memory_mib(lambda n=n_series: _compare(n, "serial"))
                    if (backend == "serial")
                    else None
                )
                rows.append(
                    _row("simulate+detect+score", backend, n_series, N_CELLS, seconds, peak)
                )
    sim = simulate_alliance(RUPTURES_SERIES, N_SESSIONS, random_state=SEED)
    detector = RupturesDetector().fit(sim.X)
    seconds = median_time(lambda: detector.predict(sim.X), repeat=1)
    rows.append(_row("ruptures PELT predict", "serial", RUPTURES_SERIES, 1, seconds))
    print_table(rows, COLUMNS)


if __name__ == "__main__":
    main()
