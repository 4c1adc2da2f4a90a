"""Benchmark of ``permanova.aovperm`` against the floor, a naive projection and scipy.

Designs: a one-way between design (n = 30, 3 groups of 10) and a mixed 2 x 3 design (23
subjects in 2 groups of 11 and 12, a within factor with 3 levels: n = 69 observations).
For B = 1e4, 1e5 and 1e6 Monte-Carlo permutations it reports

* ours   ``aovperm(..., n_resamples=B, exact=False, random_state=0)`` (default method:
           freedman_lane / rd_kheradpajouh_renaud);
* floor  only drawing the B permutations of the n observations, in the same blocks as
           ``aovperm`` (one child generator per block, ``Generator.permuted``), and gathering
           the outcome ``y[perm]`` once per permutation;
* naive  the same draws and gathers, then the statistic of each effect from products with
           ``n x n`` projection matrices (``Y_perm @ H``), one batch at a time;
* scipy  ``scipy.stats.permutation_test`` with the one-way F statistic
           (``f_oneway``, ``vectorized=True``; one-way design only);

with the ratios ours/floor, naive/ours, scipy/ours and the peak memory (tracemalloc) of ours.
A last run at 2e6 permutations reports the peak extra memory of ``aovperm``.

Before timing, the naive statistic is checked against ``aovperm(..., permutations=P,
return_null=True)`` on the same permutations, so that both compute the same thing.

Run ``python benchmarks/bench_permanova.py`` (``--quick`` for a smoke run with small B).
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
import scipy
from scipy import linalg, stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _harness import median_time, peak_memory_mib, print_table

import permanova

try:  # the block size of aovperm's random permutations (the floor draws the same blocks)
    from permanova._permutations import BLOCK_SIZE
except ImportError:  # pragma: no cover - depends on the implementation
    BLOCK_SIZE = 4096

SCIPY_BATCH = 100_000


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def oneway_frame(seed=0):
    rng = np.random.default_rng(seed)
    group = np.repeat(["g0", "g1", "g2"], 10)
    y = rng.normal(50.0, 10.0, group.size) + np.where(group == "g1", 6.0, 0.0)
    return pd.DataFrame({"y": y, "group": group})


def mixed_frame(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(23):
        kind = "child" if s < 11 else "therapist"
        base = rng.normal(50.0, 8.0) + (3.0 if kind == "child" else 0.0)
        for j, cond in enumerate(["pre", "central", "post"]):
            rows.append((f"s{s:02d}", kind, cond, base + 2.0 * j + rng.normal(0.0, 4.0)))
    return pd.DataFrame(rows, columns=["subject", "type", "cond", "y"])


DESIGNS = {
    "one-way": (oneway_frame(), {"between": "group"}),
    "mixed 2x3": (mixed_frame(), {"subject": "subject", "between": "type", "within": "cond"}),
}


# --------------------------------------------------------------------------------------------
# the naive n x n projection (permuco's definitions, written with dense projectors)
# --------------------------------------------------------------------------------------------
def _sum_coding(values):
    levels = sorted(pd.unique(values))
    out = np.zeros((len(values), len(levels) - 1))
    for j, level in enumerate(levels[:-1]):
        out[:, j] = values == level
    out[values == levels[-1]] = -1.0
    return out


def _projector(a):
    basis = linalg.orth(a)
    return basis @ basis.T, basis.shape[1]


def _resid(a, b):
    h, _ = _projector(a)
    return b - h @ b


def _khatrirao(a, b):
    return np.einsum("ij,ik->ijk", a, b).reshape(a.shape[0], -1)


class Naive:
    """Per effect: reduced residuals r, n x n projectors onto the effect and error spaces.

    Between designs (freedman_lane): r = residuals of the model without the effect, error =
    residual maker of the full model. Designs with a within factor (rd_kheradpajouh_renaud):
    error = the subject x within-part stratum, residualised as in permuco.
    """

    def __init__(self, frame, between=None, within=None, subject=None):
        y = frame["y"].to_numpy(float)
        n = y.size
        names = [f for f in (between, within) if f is not None]
        coded = {f: _sum_coding(frame[f].to_numpy()) for f in names}
        blocks = [np.ones((n, 1))] + [coded[f] for f in names]
        parts = [()] + [(f,) for f in names]
        if len(names) == 2:
            blocks.append(_khatrirao(coded[names[0]], coded[names[1]]))
            parts.append(tuple(names))
        assign = np.concatenate([np.full(b.shape[1], i) for i, b in enumerate(blocks)])
        mm = np.hstack(blocks)
        self.names = [":".join(p) for p in parts[1:]]
        self.effects = []
        for i in range(1, len(blocks)):
            d = mm[:, assign != i]
            x = mm[:, assign == i]
            h_x, rank_x = _projector(_resid(d, x))
            if subject is None:
                h_full, rank_full = _projector(mm)
                h_z, rank_z = np.eye(n) - h_full, n - rank_full
            else:
                ids = _sum_coding(frame[subject].to_numpy())
                inner = coded[within] if within in parts[i] else np.ones((n, 1))
                z = _resid(mm, _khatrirao(ids, inner))
                h_z, rank_z = _projector(_resid(d, z))
            self.effects.append((_resid(d, y), h_x, rank_x, h_z, rank_z))

    def statistics(self, perms):
        out = np.empty((perms.shape[0], len(self.effects)))
        for j, (r, h_x, rank_x, h_z, rank_z) in enumerate(self.effects):
            yp = r[perms]
            num = ((yp @ h_x) ** 2).sum(axis=1) / rank_x
            den = ((yp @ h_z) ** 2).sum(axis=1) / rank_z
            out[:, j] = num / den
        return out


# --------------------------------------------------------------------------------------------
# the measured callables
# --------------------------------------------------------------------------------------------
def _blocks(n, n_resamples, seed=0):
    rng = np.random.default_rng(seed)
    base = np.tile(np.arange(n, dtype=np.intp), (BLOCK_SIZE, 1))
    remaining = n_resamples
    while remaining > 0:
        size = min(BLOCK_SIZE, remaining)
        child = rng.spawn(1)[0]
        yield child.permuted(base[:size], axis=1)
        remaining -= size


def floor(y, n_resamples):
    total = 0.0
    for perms in _blocks(y.size, n_resamples):
        total += y[perms][:, 0].sum()  # touch the gathered block
    return total


def naive(model, n, n_resamples):
    kept = 0
    for perms in _blocks(n, n_resamples):
        kept += int((model.statistics(perms) > 1.0).sum())
    return kept


def ours(frame, factors, n_resamples):
    return permanova.aovperm(
        frame, "y", n_resamples=n_resamples, exact=False, random_state=0, **factors
    )


def _f_stat(*samples, axis=-1):
    return stats.f_oneway(*samples, axis=axis).statistic


def scipy_test(frame, n_resamples):
    samples = [g["y"].to_numpy() for _, g in frame.groupby("group", sort=True)]
    return stats.permutation_test(
        samples,
        _f_stat,
        permutation_type="independent",
        vectorized=True,
        n_resamples=n_resamples,
        batch=SCIPY_BATCH,
        alternative="greater",
        rng=np.random.default_rng(0),
    )


def check_naive(frame, factors, model):
    """The naive statistic equals aovperm's null distribution on the same permutations."""
    perms = np.stack([np.random.default_rng(k).permutation(len(frame)) for k in range(200)])
    res = permanova.aovperm(frame, "y", permutations=perms, return_null=True, **factors)
    index = list(res.table.index)
    expected = res.null_distribution[:, [index.index(e) for e in model.names]]
    np.testing.assert_allclose(model.statistics(perms), expected, rtol=1e-8)


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small B, few repeats (smoke run)")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]
    big = 100_000 if args.quick else 2_000_000
    scipy_measure_max = 10_000 if args.quick else 1_000_000

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
        f" {platform.machine()}, {os.cpu_count()} cpu(s); block size {BLOCK_SIZE}; "
        f"scipy batch {SCIPY_BATCH}; load average {os.getloadavg()[0]:.2f}"
    )
    rows, notes = [], []
    for name, (frame, factors) in DESIGNS.items():
        n = len(frame)
        model = Naive(frame, **factors)
        check_naive(frame, factors, model)
        y = frame["y"].to_numpy(float)
        ours(frame, factors, 1_000)  # warm-up (imports, caches)
        for b in sizes:
            repeat = 3 if b >= 1_000_000 else 5
            t_ours = median_time(functools.partial(ours, frame, factors, b), repeat=repeat)
            t_floor = median_time(functools.partial(floor, y, b), repeat=repeat)
            naive_repeat = 1 if b >= 1_000_000 else 3
            t_naive = median_time(functools.partial(naive, model, n, b), repeat=naive_repeat)
            t_scipy, scipy_how, scipy_mem = None, "-", None
            if "between" in factors and "within" not in factors:
                if b <= scipy_measure_max:
                    reps = 1 if b >= 1_000_000 else 3
                    t_scipy = median_time(functools.partial(scipy_test, frame, b), repeat=reps)
                    scipy_how = f"measured x{reps}"
                    if b <= 100_000:
                        scipy_mem = peak_memory_mib(functools.partial(scipy_test, frame, b))
                else:  # pragma: no cover - only when scipy_measure_max < max(sizes)
                    t_scipy = rows[-1]["scipy s"] * b / rows[-1]["B"]
                    scipy_how = "extrapolated"
            mem = peak_memory_mib(functools.partial(ours, frame, factors, b))
            rows.append(
                {
                    "design": name,
                    "n": n,
                    "B": b,
                    "ours s": t_ours,
                    "floor s": t_floor,
                    "naive s": t_naive,
                    "scipy s": t_scipy,
                    "scipy": scipy_how,
                    "ours/floor": t_ours / t_floor,
                    "naive/ours": t_naive / t_ours,
                    "scipy/ours": None if t_scipy is None else t_scipy / t_ours,
                    "ours MiB": mem,
                    "scipy MiB": scipy_mem,
                }
            )
            print(f"  done {name} B={b:,}", file=sys.stderr, flush=True)
    print()
    print_table(rows, list(rows[0]))
    notes.append(
        "times: median seconds per call (timeit.repeat, 5 repeats, 3 at B=1e6; naive 3 / 1; "
        "scipy 'measured xk' = median of k runs); MiB: tracemalloc peak of one call (scipy: "
        "B <= 1e5 only)."
    )
    notes.append(
        "floor: draw + gather one vector (y); aovperm gathers one reduced-residual vector per "
        "effect (3 for the mixed design)."
    )

    print()
    big_rows = []
    for name, (frame, factors) in DESIGNS.items():
        start = time.perf_counter()
        mem = peak_memory_mib(functools.partial(ours, frame, factors, big))
        elapsed = time.perf_counter() - start
        big_rows.append(
            {
                "design": name,
                "B": big,
                "peak extra MiB": mem,
                "time s (under tracemalloc)": elapsed,
            }
        )
    print_table(big_rows, list(big_rows[0]))
    print()
    for note in notes:
        print("note:", note)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print()
    if args.quick:
        print("quick run: the targets below are stated for B = 1e6 and 2e6 (full run)")
    largest = max(sizes)
    for row in rows:
        if row["B"] != largest:
            continue
        verdict = "met" if row["ours/floor"] <= 2 else "NOT met"
        print(f"target ours/floor <= 2 at B={largest:,} ({row['design']}): {verdict}")
        if row["scipy/ours"] is not None:
            verdict = "met" if row["scipy/ours"] >= 10 else "NOT met"
            print(f"target scipy/ours >= 10 at B={largest:,} ({row['design']}): {verdict}")
    for row in big_rows:
        verdict = "met" if row["peak extra MiB"] < 256 else "NOT met"
        print(f"target peak < 256 MiB at B={big:,} ({row['design']}): {verdict}")


if __name__ == "__main__":
    main()
