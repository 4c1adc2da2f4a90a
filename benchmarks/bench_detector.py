"""Speed and memory of ``TukeyRuptureDetector`` against a sort floor and a per-series loop.

For every size (1e4, 1e5 and 1e6 series; 12 and 20 sessions; 10% of sessions missing) it
times, with the data made outside the timed call:

* ``fit``: ``TukeyRuptureDetector(pooled_sd=2.0).fit(X)`` (validation only: the SD is given);
* ``predict``: ``detector.predict(X)`` on the fitted detector;
* the floor: ``np.sort(X, axis=1)`` on the same array (every method must at least sort);
* a plain per-series Python loop implementing the same rule with ``np.median`` and friends,
  timed on the first 1,000 series and **extrapolated linearly** to all series (the loop's
  cost per series does not depend on the number of series); its labels are checked against
  ``predict`` on those series;
* the peak memory allocated by ``predict`` above what was allocated before (tracemalloc,
  output included), as a multiple of ``X.nbytes``.

Times are medians of ``timeit.repeat``. Targets (issue 2): predict within 3x of the sort
floor, at least 100x faster than the loop, peak extra memory at most 4x the input.

Run from the repository root::

    python benchmarks/bench_detector.py           # all sizes (about 1.5 GiB of memory)
    python benchmarks/bench_detector.py --quick   # 1e4 and 1e5 series only
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import median_time, peak_memory_mib, print_table

from tukeyrupture import TukeyRuptureDetector

SEED = 20261128
N_SERIES = (10_000, 100_000, 1_000_000)
N_SESSIONS = (12, 20)
MISSING_RATE = 0.10
REAL_VALUED_SHARE = 0.2  # rows left real-valued (e.g. item means); the rest are totals
LOOP_SERIES = 1_000
POOLED_SD = 2.0
ABSOLUTE_SD_MULTIPLIER = 2.0

COLUMNS = (
    "series",
    "sessions",
    "fit s",
    "predict s",
    "sort s",
    "predict/sort",
    "<=3x",
    "loop s (extrap.)",
    "loop/predict",
    ">=100x",
    "loop agrees",
    "peak MiB",
    "peak/input",
    "<=4x",
)


def make_scores(n_series: int, n_sessions: int, seed: int = SEED) -> np.ndarray:
    """TASC-like alliance totals: person means around 38, 10% of sessions missing.

    Most rows are integer totals in 12..48; a share of rows stays real-valued.
    """
    rng = np.random.default_rng(seed)
    person = rng.normal(38.0, 3.5, size=(n_series, 1))
    X = person + rng.normal(0.0, 2.0, size=(n_series, n_sessions))
    drops = rng.random((n_series, n_sessions)) < 0.03  # occasional alliance drops
    X[drops] -= rng.uniform(4.0, 12.0, size=int(drops.sum()))
    integer_rows = rng.random(n_series) >= REAL_VALUED_SHARE
    X[integer_rows] = np.rint(X[integer_rows])
    np.clip(X, 12.0, 48.0, out=X)
    X[rng.random((n_series, n_sessions)) < MISSING_RATE] = np.nan
    return X


def _median(sorted_values: np.ndarray) -> float:
    return float(np.median(sorted_values))


def loop_predict(
    X: np.ndarray,
    iqr_multiplier: float = 1.0,
    absolute_threshold: float = ABSOLUTE_SD_MULTIPLIER * POOLED_SD,
    min_consecutive: int = 7,
) -> np.ndarray:
    """The rule written plainly, one series at a time (the peer, and a check)."""
    labels = np.zeros(X.shape, dtype=np.int8)
    for i, x in enumerate(X):
        observed = ~np.isnan(x)
        longest = run = 0
        for seen in observed:
            run = run + 1 if seen else 0
            longest = max(longest, run)
        if longest < min_consecutive:
            continue
        values = np.sort(x[observed])
        n = values.size
        half = math.ceil(n / 2)
        lower_half_median = _median(values[:half])
        q1, q3 = lower_half_median, _median(values[n - half :])
        lower_limit = q1 - iqr_multiplier * (q3 - q1)
        for t in range(1, x.size):
            if not (observed[t] and observed[t - 1]):
                continue
            drop = x[t - 1] - x[t]
            tcc = x[t] < lower_limit and x[t - 1] > lower_half_median
            absolute = drop >= absolute_threshold and drop > 0
            if not (tcc or absolute):
                continue
            if t + 1 == x.size or not observed[t + 1]:
                labels[i, t] = 3
            else:
                labels[i, t] = 1 if x[t + 1] >= lower_half_median else 2
    return labels


def bench_case(n_series: int, n_sessions: int, repeat: int) -> dict:
    X = make_scores(n_series, n_sessions)
    detector = TukeyRuptureDetector(
        pooled_sd=POOLED_SD, absolute_sd_multiplier=ABSOLUTE_SD_MULTIPLIER
    )
    fit_s = median_time(lambda: TukeyRuptureDetector(pooled_sd=POOLED_SD).fit(X), repeat)
    detector.fit(X)
    predict_s = median_time(lambda: detector.predict(X), repeat)
    sort_s = median_time(lambda: np.sort(X, axis=1), repeat)
    subset = X[:LOOP_SERIES]
    loop_s = median_time(lambda: loop_predict(subset), max(1, min(repeat, 3)))
    loop_extrapolated = loop_s * n_series / subset.shape[0]
    agrees = bool(np.array_equal(loop_predict(subset), detector.predict(subset)))
    peak = peak_memory_mib(lambda: detector.predict(X))
    input_mib = X.nbytes / 2**20
    return {
        "series": n_series,
        "sessions": n_sessions,
        "fit s": fit_s,
        "predict s": predict_s,
        "sort s": sort_s,
        "predict/sort": predict_s / sort_s,
        "<=3x": predict_s / sort_s <= 3,
        "loop s (extrap.)": loop_extrapolated,
        "loop/predict": loop_extrapolated / predict_s,
        ">=100x": loop_extrapolated / predict_s >= 100,
        "loop agrees": agrees,
        "peak MiB": peak,
        "peak/input": peak / input_mib,
        "<=4x": peak / input_mib <= 4,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1e4 and 1e5 series only")
    parser.add_argument("--repeat", type=int, default=5, help="timeit repeats (default 5)")
    args = parser.parse_args(argv)
    sizes = N_SERIES[:2] if args.quick else N_SERIES
    print(
        f"TukeyRuptureDetector(pooled_sd={POOLED_SD}) predict; {MISSING_RATE:.0%} NaN; "
        f"median of {args.repeat} runs; loop timed on {LOOP_SERIES:,} series and "
        f"extrapolated linearly; numpy {np.__version__}, Python "
        f"{platform.python_version()}, {platform.machine()}"
    )
    rows = []
    for n_series in sizes:
        for n_sessions in N_SESSIONS:
            rows.append(bench_case(n_series, n_sessions, args.repeat))
            print(f"  done: {n_series:,} x {n_sessions}", file=sys.stderr, flush=True)
    print_table(rows, COLUMNS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
