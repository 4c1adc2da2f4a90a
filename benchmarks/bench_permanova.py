"""Benchmark of ``permanova.aovperm``: set-up, threads, many outcomes, Dask, the floor.

Every section prints one table (``_harness.print_table``); times are medians of
``timeit.repeat`` with the data built outside the timed call, memory is the ``tracemalloc``
peak of one call above what was allocated before it. Sections (``--section NAME``, repeatable;
default ``all``, in this order):

setup
    Set-up cost against pingouin's parametric ANOVA. A mixed 2 x 3 design (between factor
    ``type`` with 2 levels, within factor ``cond`` with 3; 100, 300, 1,000, 3,000 and 10,000
    subjects, 3 rows each): ``aovperm(..., n_resamples=1, exact=False)`` (essentially the
    set-up) beside ``pingouin.mixed_anova`` on the same data, the ratio ours/pingouin, the
    peak extra memory of ours and its MiB per 1,000 rows. A within-only 2-level design
    (1,000, 4,000 and 8,000 subjects) beside ``pingouin.rm_anova``, mostly for memory.
    The marginal MiB per 1,000 rows is the memory slope from the previous size (a fixed
    cost, the permutation block, dominates MiB per 1,000 rows at small sizes). Targets
    (issue 9): 10,000 subjects within 5x of pingouin; memory linear in the rows (read here
    as: the slope of the last step at most 1.5x that of the first step from 1,000 subjects
    on; memory quadratic in the rows would give 2.4x (within) to 3.3x (mixed)).
jobs
    Threads. One-way N = 30 (3 groups of 10) and the mixed 2 x 3 design with 23 subjects,
    1e6 permutations: ``n_jobs=1`` and ``n_jobs=-1`` against the single-threaded floor (see
    *existing*); ratios ours(n_jobs=-1)/floor (targets: one-way 0.55, mixed 1.0) and
    ours(n_jobs=1)/floor, and whether both tables are identical.
outcomes
    200 simulated outcomes ``y0..y199`` on the mixed 2 x 3 design (23 subjects), 1e4
    permutations: one call with ``dv=[...]`` against a loop of 200 single-outcome calls with
    the same ``random_state``; ratio loop/ours (target >= 20) and, checked outside the
    timing, whether the p-values equal the loop's exactly.
dask
    A ``LocalCluster(n_workers=2, threads_per_worker=1)`` (worker processes unless
    ``--dask-threads``) and its ``Client`` passed as ``backend`` against the serial run:
    the mixed design with 2e5 permutations and the 200 outcomes with 1e4; times, ratio
    serial/dask and whether the tables are identical. Skipped when dask is not installed.
existing
    The per-permutation cost on the small designs (one-way N = 30; mixed 2 x 3 with 23
    subjects, n = 69 observations) for B = 1e4, 1e5 and 1e6 Monte-Carlo permutations:

    * ours   ``aovperm(..., n_resamples=B, exact=False, random_state=0)`` (default method:
      freedman_lane / rd_kheradpajouh_renaud);
    * floor  only drawing the B permutations of the n observations, in the same blocks as
      ``aovperm`` (one child generator per block, ``Generator.permuted``), and gathering
      the outcome ``y[perm]`` once per permutation;
    * naive  the same draws and gathers, then the statistic of each effect from products
      with ``n x n`` projection matrices (``Y_perm @ H``), one batch at a time;
    * scipy  ``scipy.stats.permutation_test`` with the one-way F statistic (``f_oneway``,
      ``vectorized=True``; one-way design only);

    with the ratios ours/floor, naive/ours, scipy/ours and the peak memory of ours; a last
    run at 2e6 permutations reports the peak extra memory of ``aovperm``. Before timing,
    the naive statistic is checked against ``aovperm(..., permutations=P,
    return_null=True)`` on the same permutations.

``--quick`` is a smoke run: smaller designs and B (setup: up to 1,000 subjects; jobs 1e5;
outcomes 1e3; dask 2e4 and 1e3; existing 1e3 and 1e4). ``--max-subjects N`` drops the
set-up sizes above N. A section that fails prints its traceback and the others still run;
the exit status is 1 when a section failed or a result differed from its reference.

Run from the repository root::

    python benchmarks/bench_permanova.py                      # everything (minutes)
    python benchmarks/bench_permanova.py --quick              # smoke run
    python benchmarks/bench_permanova.py --section setup --max-subjects 1000
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sys
import time
import traceback
import warnings

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
MIXED = {"subject": "subject", "between": "type", "within": "cond"}
WITHIN = {"subject": "subject", "within": "cond"}
N_OUTCOMES = 200


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def oneway_frame(seed=0):
    rng = np.random.default_rng(seed)
    group = np.repeat(["g0", "g1", "g2"], 10)
    y = rng.normal(50.0, 10.0, group.size) + np.where(group == "g1", 6.0, 0.0)
    return pd.DataFrame({"y": y, "group": group})


def mixed_frame(n_subjects=23, seed=0):
    """Mixed 2 x 3: the first ``n_subjects // 2`` subjects are "child", the rest "therapist"."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_subjects):
        kind = "child" if s < n_subjects // 2 else "therapist"
        base = rng.normal(50.0, 8.0) + (3.0 if kind == "child" else 0.0)
        for j, cond in enumerate(["pre", "central", "post"]):
            rows.append((f"s{s:02d}", kind, cond, base + 2.0 * j + rng.normal(0.0, 4.0)))
    return pd.DataFrame(rows, columns=["subject", "type", "cond", "y"])


def within_frame(n_subjects, seed=0):
    """Within-only design: 2 conditions per subject, a subject effect and a small shift."""
    rng = np.random.default_rng(seed)
    base = np.repeat(rng.normal(50.0, 8.0, n_subjects), 2)
    shift = np.tile([0.0, 1.0], n_subjects)
    return pd.DataFrame(
        {
            "subject": np.repeat([f"s{s}" for s in range(n_subjects)], 2),
            "cond": np.tile(["a", "b"], n_subjects),
            "y": base + shift + rng.normal(0.0, 4.0, 2 * n_subjects),
        }
    )


def outcomes_frame(n_outcomes=N_OUTCOMES, seed=1):
    """The 23-subject mixed design with outcomes ``y0, y1, ...``: a third null, the rest not."""
    frame = mixed_frame()
    rng = np.random.default_rng(seed)
    codes = frame["subject"].factorize()[0]
    step = frame["cond"].map({"pre": 0.0, "central": 1.0, "post": 2.0}).to_numpy()
    child = (frame["type"] == "child").to_numpy(float)
    columns = {}
    for k in range(n_outcomes):
        effect = 0.0 if k % 3 == 0 else 1.5
        subjects = rng.normal(0.0, 8.0, codes.max() + 1)[codes]
        noise = rng.normal(0.0, 4.0, len(frame))
        columns[f"y{k}"] = 50.0 + subjects + effect * (step + 2.0 * child) + noise
    names = list(columns)
    return pd.concat([frame, pd.DataFrame(columns)], axis=1), names


DESIGNS = {
    "one-way": (oneway_frame(), {"between": "group"}),
    "mixed 2x3": (mixed_frame(), MIXED),
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


def ours(frame, factors, n_resamples, dv="y", **options):
    return permanova.aovperm(
        frame, dv, n_resamples=n_resamples, exact=False, random_state=0, **factors, **options
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
# section helpers
# --------------------------------------------------------------------------------------------
def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _identical_tables(a, b) -> bool:
    """Same index, columns and values (NaN where the other has NaN), bit for bit."""
    return a.table.equals(b.table)


def _quietly(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with warnings silenced (pingouin's pandas deprecations)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------------------------
# section: set-up against pingouin
# --------------------------------------------------------------------------------------------
def _setup_row(case, n_subjects, frame, factors, peer):
    ours_call = functools.partial(
        permanova.aovperm, frame, "y", n_resamples=1, exact=False, random_state=0, **factors
    )
    peer_call = functools.partial(_quietly, peer, data=frame, dv="y", **factors)
    ours_call()  # warm-up, and a failure here is reported before any timing
    peer_call()
    repeat = 5 if len(frame) <= 10_000 else 3
    t_ours = median_time(ours_call, repeat=repeat)
    t_peer = median_time(peer_call, repeat=repeat)
    mem = peak_memory_mib(ours_call)
    peer_mem = peak_memory_mib(peer_call)
    print(f"  done setup {case} {n_subjects:,} subjects", file=sys.stderr, flush=True)
    return {
        "case": case,
        "subjects": n_subjects,
        "rows": len(frame),
        "ours s": t_ours,
        "pingouin s": t_peer,
        "ours/pingouin": t_ours / t_peer,
        "ours MiB": mem,
        "MiB per 1k rows": mem / (len(frame) / 1000),
        "pingouin MiB": peer_mem,
    }


def _add_marginal_memory(rows):
    """Add each row's memory slope from the previous size of its case, in MiB per 1k rows.

    A fixed cost (the permutation block, buffers) dominates MiB per 1,000 rows at small
    sizes; the slope between sizes is what grows with n when memory is not linear.
    """
    previous = {}
    for row in rows:
        before = previous.get(row["case"])
        row["marginal MiB per 1k rows"] = (
            None
            if before is None
            else (row["ours MiB"] - before["ours MiB"]) / (row["rows"] - before["rows"]) * 1000
        )
        previous[row["case"]] = row


def _linear_memory(rows, case, from_subjects=1000):
    """Slope of the last step over the slope of the first step starting at ``from_subjects``
    or more subjects, and the largest size; None with fewer than two such steps."""
    mine = [r for r in rows if r["case"] == case]
    steps = [
        after["marginal MiB per 1k rows"]
        for before, after in zip(mine, mine[1:])
        if before["subjects"] >= from_subjects
    ]
    if len(steps) < 2 or steps[0] <= 0:
        return None
    return steps[-1] / steps[0], mine[-1]["subjects"]


def section_setup(args, failures):
    import pingouin

    mixed_sizes = [100, 300, 1_000] if args.quick else [100, 300, 1_000, 3_000, 10_000]
    within_sizes = [250, 1_000] if args.quick else [1_000, 4_000, 8_000]
    if args.max_subjects is not None:
        mixed_sizes = [s for s in mixed_sizes if s <= args.max_subjects]
        within_sizes = [s for s in within_sizes if s <= args.max_subjects]
    print(f"pingouin {pingouin.__version__}")
    rows = []
    for n_subjects in mixed_sizes:
        frame = mixed_frame(n_subjects)
        rows.append(_setup_row("mixed 2x3", n_subjects, frame, MIXED, pingouin.mixed_anova))
    for n_subjects in within_sizes:
        frame = within_frame(n_subjects)
        rows.append(_setup_row("within 2", n_subjects, frame, WITHIN, pingouin.rm_anova))
    if not rows:
        print(f"no design has at most --max-subjects {args.max_subjects} subjects")
        return
    _add_marginal_memory(rows)
    print_table(rows, list(rows[0]))
    print(
        "note: ours = aovperm(..., n_resamples=1, exact=False) (set-up plus one permutation);"
        " pingouin = mixed_anova (mixed) / rm_anova (within); MiB = tracemalloc peak of one"
        " call; marginal = slope from the previous size."
    )
    if args.quick:
        print("quick run: the targets are stated for 10,000 / 8,000 subjects (full run)")
    big = [r for r in rows if r["case"] == "mixed 2x3" and r["subjects"] == 10_000]
    if big:
        ratio = big[0]["ours/pingouin"]
        print(f"target mixed 10,000 subjects within 5x of pingouin: {_verdict(ratio <= 5)}")
    for case in ("mixed 2x3", "within 2"):
        linear = _linear_memory(rows, case)
        if linear is not None:
            ratio, largest = linear
            print(
                f"target memory linear ({case}): marginal MiB per 1k rows up to {largest:,}"
                f" subjects = {ratio:.2f} x that from 1,000 subjects on: {_verdict(ratio <= 1.5)}"
            )


# --------------------------------------------------------------------------------------------
# section: n_jobs against the floor
# --------------------------------------------------------------------------------------------
JOBS_TARGETS = {"one-way": 0.55, "mixed 2x3": 1.0}


def section_jobs(args, failures):
    b = 100_000 if args.quick else 1_000_000
    repeat = 3 if b >= 1_000_000 else 5
    rows = []
    for name, (frame, factors) in DESIGNS.items():
        y = frame["y"].to_numpy(float)
        one = functools.partial(ours, frame, factors, b, n_jobs=1)
        every = functools.partial(ours, frame, factors, b, n_jobs=-1)
        identical = _identical_tables(one(), every())  # also the warm-up
        if not identical:
            failures.append(f"jobs {name}: n_jobs=1 and n_jobs=-1 tables differ")
        t_one = median_time(one, repeat=repeat)
        t_every = median_time(every, repeat=repeat)
        t_floor = median_time(functools.partial(floor, y, b), repeat=repeat)
        target = JOBS_TARGETS[name]
        rows.append(
            {
                "case": name,
                "n": len(frame),
                "B": b,
                "n_jobs=1 s": t_one,
                "n_jobs=-1 s": t_every,
                "floor s": t_floor,
                "-1/floor": t_every / t_floor,
                "1/floor": t_one / t_floor,
                "1/-1": t_one / t_every,
                "target -1/floor": target,
                "verdict": _verdict(t_every / t_floor <= target),
                "identical": identical,
            }
        )
        print(f"  done jobs {name} B={b:,}", file=sys.stderr, flush=True)
    print_table(rows, list(rows[0]))
    print(
        f"note: floor = single-threaded draw (blocks of {BLOCK_SIZE}, Generator.permuted) +"
        f" gather y[perm]; {os.cpu_count()} cpu(s); 1/-1 = speed-up of all cores;"
        " identical = n_jobs=1 and n_jobs=-1 tables equal bit for bit."
    )
    if args.quick:
        print("quick run: the targets are stated for B = 1e6 (full run)")


# --------------------------------------------------------------------------------------------
# section: many outcomes against a loop
# --------------------------------------------------------------------------------------------
def many_outcomes(frame, names, factors, n_resamples, **options):
    return permanova.aovperm(
        frame, names, n_resamples=n_resamples, exact=False, random_state=0, **factors, **options
    )


def outcome_loop(frame, names, factors, n_resamples, **options):
    return [ours(frame, factors, n_resamples, dv=name, **options) for name in names]


def _same_p(many, separate, names) -> bool:
    """p-values of every outcome of ``many`` equal those of its separate run exactly."""
    for name, single in zip(names, separate, strict=True):
        mine = many.table.loc[name].loc[single.table.index, "p_permutation"].to_numpy()
        if not np.array_equal(mine, single.table["p_permutation"].to_numpy(), equal_nan=True):
            return False
    return True


def section_outcomes(args, failures):
    b = 1_000 if args.quick else 10_000
    frame, names = outcomes_frame()
    one_call = functools.partial(many_outcomes, frame, names, MIXED, b)
    loop = functools.partial(outcome_loop, frame, names, MIXED, b)
    identical = _same_p(one_call(), loop(), names)  # also the warm-up
    if not identical:
        failures.append("outcomes: p-values differ from the loop's")
    t_one = median_time(one_call, repeat=5)
    t_loop = median_time(loop, repeat=1 if args.quick else 3)
    mem = peak_memory_mib(one_call)
    row = {
        "case": "mixed 2x3",
        "outcomes": len(names),
        "B": b,
        "ours s": t_one,
        "loop s": t_loop,
        "loop/ours": t_loop / t_one,
        "target": ">= 20",
        "verdict": _verdict(t_loop / t_one >= 20),
        "ours MiB": mem,
        "identical p": identical,
    }
    print_table([row], list(row))
    print(f"identical p: {identical}")
    print(
        f"note: ours = one aovperm call with dv=[y0..y{len(names) - 1}]; loop = one call per"
        " outcome, same random_state (0)."
    )
    if args.quick:
        print("quick run: the target is stated for B = 1e4 (full run)")


# --------------------------------------------------------------------------------------------
# section: a two-worker dask cluster against the serial run
# --------------------------------------------------------------------------------------------
def section_dask(args, failures):
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        print("dask not installed, skipped")
        return
    processes = not args.dask_threads
    b = 20_000 if args.quick else 200_000
    b_outcomes = 1_000 if args.quick else 10_000
    frame_many, names = outcomes_frame()
    mixed, _ = DESIGNS["mixed 2x3"]
    cases = [
        ("mixed 2x3", mixed, "y", b),
        (f"mixed 2x3, {len(names)} outcomes", frame_many, names, b_outcomes),
    ]
    print(
        f"dask {dask.__version__}; LocalCluster(n_workers=2, threads_per_worker=1,"
        f" processes={processes})"
    )
    rows = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=processes, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        for case, frame, dv, n_resamples in cases:
            run = functools.partial(
                permanova.aovperm,
                frame,
                dv,
                n_resamples=n_resamples,
                exact=False,
                random_state=0,
                **MIXED,
            )
            serial = run
            on_dask = functools.partial(run, backend=client)
            identical = _identical_tables(serial(), on_dask())  # also the warm-up
            if not identical:
                failures.append(f"dask {case}: tables differ from the serial run")
            t_serial = median_time(serial, repeat=3)
            t_dask = median_time(on_dask, repeat=3)
            rows.append(
                {
                    "case": case,
                    "B": n_resamples,
                    "serial s": t_serial,
                    "dask s": t_dask,
                    "serial/dask": t_serial / t_dask,
                    "identical": identical,
                }
            )
            print(f"  done dask {case}", file=sys.stderr, flush=True)
    print_table(rows, list(rows[0]))
    print(f"identical tables: {all(r['identical'] for r in rows)}")
    print(
        "note: serial = aovperm(...) in this process (n_jobs=None); dask = the same call with"
        " backend=Client(LocalCluster); 2 workers on a 2-core machine: at most 2x."
    )


# --------------------------------------------------------------------------------------------
# section: the per-permutation cost on the small designs (floor, naive, scipy)
# --------------------------------------------------------------------------------------------
def section_existing(args, failures):
    sizes = [1_000, 10_000] if args.quick else [10_000, 100_000, 1_000_000]
    big = 100_000 if args.quick else 2_000_000
    scipy_measure_max = 10_000 if args.quick else 1_000_000

    print(f"scipy batch {SCIPY_BATCH}")
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
    print()
    if args.quick:
        print("quick run: the targets below are stated for B = 1e6 and 2e6 (full run)")
    largest = max(sizes)
    for row in rows:
        if row["B"] != largest:
            continue
        print(
            f"target ours/floor <= 2 at B={largest:,} ({row['design']}):"
            f" {_verdict(row['ours/floor'] <= 2)}"
        )
        if row["scipy/ours"] is not None:
            print(
                f"target scipy/ours >= 10 at B={largest:,} ({row['design']}):"
                f" {_verdict(row['scipy/ours'] >= 10)}"
            )
    for row in big_rows:
        print(
            f"target peak < 256 MiB at B={big:,} ({row['design']}):"
            f" {_verdict(row['peak extra MiB'] < 256)}"
        )


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
SECTIONS = {
    "setup": section_setup,
    "jobs": section_jobs,
    "outcomes": section_outcomes,
    "dask": section_dask,
    "existing": section_existing,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--section",
        action="append",
        choices=[*SECTIONS, "all"],
        help="run only this section (repeat the flag for several; default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and B (smoke run)")
    parser.add_argument(
        "--max-subjects",
        type=int,
        default=None,
        metavar="N",
        help="setup section: skip the designs with more than N subjects",
    )
    parser.add_argument(
        "--dask-threads",
        action="store_true",
        help="dask section: workers as threads of this process instead of processes",
    )
    args = parser.parse_args(argv)
    if args.max_subjects is not None and args.max_subjects < 1:
        parser.error(f"--max-subjects must be a positive integer; got {args.max_subjects}")
    wanted = set(args.section or ["all"])
    chosen = [name for name in SECTIONS if "all" in wanted or name in wanted]

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
        f" pandas {pd.__version__}, {platform.machine()}, {os.cpu_count()} cpu(s); block size"
        f" {BLOCK_SIZE}; load average {os.getloadavg()[0]:.2f}"
    )
    crashed, failures = [], []
    for name in chosen:
        print(f"\n== {name} ==")
        try:
            SECTIONS[name](args, failures)
        except Exception:  # a section that cannot run yet must not stop the others
            sys.stdout.flush()
            traceback.print_exc()
            sys.stderr.flush()
            crashed.append(name)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    for name in crashed:
        print(f"section {name} FAILED (traceback above)")
    for failure in failures:
        print(f"MISMATCH: {failure}")
    return 1 if crashed or failures else 0


if __name__ == "__main__":
    sys.exit(main())
