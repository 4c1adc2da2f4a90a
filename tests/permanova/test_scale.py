"""Issue 9: many outcomes at once, ``n_jobs``, the Dask backend, huh_jhun's size limit and
linear memory in the number of rows.

The oracle of a multi-outcome run is the separate runs with the same ``random_state`` (or
the same ``permutations``): ``p_permutation`` exactly, ``df, df_error, SS, SS_error, F,
p_parametric`` to ``rtol=1e-12``, the null distribution to ``rtol=1e-9``. Parallel and Dask
runs must be bit-identical to the serial run.
"""

from __future__ import annotations

import re
import threading
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import permanova

MIB = 2**20
ONEWAY_METHODS = ["freedman_lane", "manly", "kennedy", "dekker", "draper_stoneman", "ter_braak"]
WITHIN_METHODS = [
    "rd_kheradpajouh_renaud",
    "rde_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
]
TABLE_CLOSE = ["SS", "SS_error", "F", "p_parametric"]
#: effects of the mixed design and the names of their rows in pingouin's `mixed_anova`
PINGOUIN_SOURCES = [("group", "group"), ("cond", "cond"), ("group:cond", "Interaction")]


# --------------------------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------------------------
def _oneway_frame(sizes=(5, 6, 7), seed=0):
    """One-way frame with ordinary and adversarial outcomes.

    ``flat`` is constant (F is 0/0), ``offset`` is 1e12 plus unit noise, ``ties`` is small
    integers (many exact ties), ``fit`` is the group means exactly (no residual) and ``big``
    is ``y * 2**40`` (same p as ``y``).
    """
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    y = rng.normal(size=n) + np.repeat([0.0, 0.7, 1.4], sizes)
    return pd.DataFrame(
        {
            "g": np.repeat(["a", "b", "c"], sizes),
            "y": y,
            "z": rng.normal(size=n),
            "flat": np.full(n, 3.0),
            "offset": 1e12 + rng.normal(size=n),
            "ties": rng.integers(0, 3, size=n),
            "fit": np.repeat([1.0, 2.0, 4.0], sizes),
            "big": y * 2.0**40,
        }
    )


ONEWAY_OUTCOMES = ["y", "z", "flat", "offset", "ties", "fit", "big"]


def _twoway_frame(levels=(2, 3), reps=3, seed=1):
    """Two-way between frame; ``additive`` is an exact additive fit (dyadic cell means)."""
    rng = np.random.default_rng(seed)
    n_a, n_b = levels
    a = np.repeat(np.arange(n_a), n_b * reps)
    b = np.tile(np.repeat(np.arange(n_b), reps), n_a)
    n = a.size
    y = rng.normal(size=n) + 0.8 * a
    return pd.DataFrame(
        {
            "A": np.array([f"a{i}" for i in range(n_a)])[a],
            "B": np.array([f"b{i}" for i in range(n_b)])[b],
            "y": y,
            "z": rng.normal(size=n),
            "ties": rng.integers(0, 3, size=n),
            "additive": 1.5 * a + np.array([0.0, 0.5, 2.25])[b],
            "flat": np.full(n, -2.0),
            "big": y * 2.0**40,
        }
    )


TWOWAY_OUTCOMES = ["y", "z", "ties", "additive", "flat", "big"]


def _mixed_frame(sizes=(4, 4), n_cond=3, seed=2):
    """Mixed frame: ``group`` (between) x ``cond`` (within), one row per subject and cell.

    ``additive`` is an exact subject + condition fit (dyadic values: no rounding).
    """
    rng = np.random.default_rng(seed)
    n_s = sum(sizes)
    subject_effect = np.repeat(rng.normal(size=n_s), n_cond)
    cond_effect = np.tile(np.linspace(0.0, 1.0, n_cond), n_s)
    y = rng.normal(size=n_s * n_cond) + subject_effect + cond_effect
    return pd.DataFrame(
        {
            "subject": np.repeat([f"s{i:03d}" for i in range(n_s)], n_cond),
            "group": np.repeat(np.repeat(["g1", "g2"], sizes), n_cond),
            "cond": np.tile([f"c{j}" for j in range(n_cond)], n_s),
            "y": y,
            "z": rng.normal(size=n_s * n_cond) + subject_effect,
            "ties": rng.integers(0, 4, size=n_s * n_cond),
            "offset": 1e12 + y,
            "additive": np.repeat(rng.integers(-8, 8, size=n_s) / 4.0, n_cond)
            + np.tile(np.arange(n_cond) * 0.75, n_s),
            "big": y * 2.0**40,
        }
    )


MIXED_OUTCOMES = ["y", "z", "ties", "offset", "additive", "big"]


def _two_within_frame(n_subjects=6, seed=3):
    """Two within factors ``A`` (2 levels) x ``B`` (3 levels), one row per subject and cell."""
    rng = np.random.default_rng(seed)
    a = np.tile(np.repeat(["a0", "a1"], 3), n_subjects)
    b = np.tile(["b0", "b1", "b2"], 2 * n_subjects)
    subject_effect = np.repeat(rng.normal(size=n_subjects), 6)
    n = 6 * n_subjects
    y = rng.normal(size=n) + subject_effect + 0.6 * (a == "a1")
    return pd.DataFrame(
        {
            "subject": np.repeat([f"s{i}" for i in range(n_subjects)], 6),
            "A": a,
            "B": b,
            "y": y,
            "z": rng.normal(size=n) + subject_effect,
            "ties": rng.integers(0, 3, size=n),
            "offset": 1e12 + y,
        }
    )


TWO_WITHIN_OUTCOMES = ["y", "z", "ties", "offset"]


def _user_permutations(n_rows, n_perms, seed=4):
    base = np.tile(np.arange(n_rows), (n_perms, 1))
    return np.random.default_rng(seed).permuted(base, axis=1)


# --------------------------------------------------------------------------------------------
# oracle: separate runs
# --------------------------------------------------------------------------------------------
def _recorded(run, dv):
    """``run(dv)`` and whether it warned that some F is undefined."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run(dv)
    undefined = any(
        issubclass(w.category, RuntimeWarning) and "undefined" in str(w.message) for w in caught
    )
    return result, undefined


def _assert_null_close(got, want, what):
    assert got.shape == want.shape, what
    for j in range(want.shape[1]):
        # an F that is 0 in exact arithmetic may come out as different tiny roundings
        finite = np.abs(want[:, j][np.isfinite(want[:, j])])
        atol = 1e-12 * float(finite.max(initial=0.0))
        np.testing.assert_allclose(
            got[:, j], want[:, j], rtol=1e-9, atol=atol, err_msg=f"{what}, effect {j}"
        )


def _assert_table_matches(got: pd.DataFrame, want: pd.DataFrame, what: str):
    assert got.index.name == "effect", what
    assert list(got.index) == list(want.index), what
    assert list(got.columns) == list(want.columns), what
    for column in ("df", "df_error", "p_permutation"):
        np.testing.assert_array_equal(
            got[column].to_numpy(), want[column].to_numpy(), err_msg=f"{what}: {column}"
        )
    for column in TABLE_CLOSE:
        np.testing.assert_allclose(
            got[column].to_numpy(),
            want[column].to_numpy(),
            rtol=1e-12,
            atol=0.0,
            err_msg=f"{what}: {column}",
        )


def _check_against_separate(run, names):
    """Run ``run(list(names))`` and ``run(name)`` for each name; assert the contract.

    Returns the multi-outcome result and the dict of separate results.
    """
    multi, multi_warned = _recorded(run, list(names))
    singles, single_warned = {}, False
    for name in names:
        singles[name], warned = _recorded(run, name)
        single_warned |= warned
    assert multi_warned == single_warned, "the undefined-F warning differs from separate runs"
    assert multi.outcomes == tuple(names)
    assert multi.table.index.names == ["outcome", "effect"]
    first = next(iter(singles.values()))
    assert multi.n_resamples == first.n_resamples
    assert multi.exact == first.exact
    assert multi.method == first.method
    for k, (name, single) in enumerate(singles.items()):
        _assert_table_matches(multi.table.loc[name], single.table, f"outcome {name!r}")
        if single.null_distribution is None:
            assert multi.null_distribution is None
            continue
        b, n_effects = single.null_distribution.shape
        assert multi.null_distribution.shape == (len(names), b, n_effects)
        _assert_null_close(
            multi.null_distribution[k], single.null_distribution, f"null of {name!r}"
        )
    return multi, singles


def _kind_kwargs(kind, n_rows):
    if kind == "monte_carlo":
        return {"n_resamples": 149, "exact": False, "random_state": 11}
    if kind == "exact":
        return {"n_resamples": 50_000, "exact": "auto"}
    return {"permutations": _user_permutations(n_rows, 100)}


# --------------------------------------------------------------------------------------------
# many outcomes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["monte_carlo", "exact", "user"])
@pytest.mark.parametrize("method", ONEWAY_METHODS)
def test_many_outcomes_oneway_equal_separate_runs(method, kind):
    frame = _oneway_frame(sizes=(3, 3, 2) if kind == "exact" else (5, 6, 7))
    before = frame.copy()
    kwargs = _kind_kwargs(kind, len(frame))

    def run(dv):
        return permanova.oneway_between(frame, dv, "g", method=method, return_null=True, **kwargs)

    multi, _ = _check_against_separate(run, ONEWAY_OUTCOMES)
    pd.testing.assert_frame_equal(frame, before)
    assert multi.exact == (kind == "exact")
    if kind == "exact":
        assert multi.n_resamples == 560
    p = multi.table["p_permutation"]
    assert p.loc["flat"].isna().all()
    assert not p.drop(index="flat", level="outcome").isna().any()
    # a power-of-two rescaling changes no p-value and no F
    np.testing.assert_array_equal(p.loc["big"].to_numpy(), p.loc["y"].to_numpy())
    np.testing.assert_allclose(
        multi.table.loc["big", "F"].to_numpy(), multi.table.loc["y", "F"].to_numpy(), rtol=1e-12
    )


def test_many_outcomes_huh_jhun_equal_separate_runs():
    frame = _oneway_frame()

    def run(dv):
        return permanova.aovperm(
            frame,
            dv,
            between="g",
            method="huh_jhun",
            n_resamples=199,
            random_state=5,
            return_null=True,
        )

    _check_against_separate(run, ["y", "z", "ties", "offset", "big"])


@pytest.mark.parametrize(
    ("kind", "method"),
    [
        ("monte_carlo", "freedman_lane"),
        ("monte_carlo", "kennedy"),
        ("monte_carlo", "manly"),
        ("exact", "freedman_lane"),
        ("user", "freedman_lane"),
        ("user", "dekker"),
    ],
)
def test_many_outcomes_twoway_equal_separate_runs(kind, method):
    if kind == "exact":
        # 2 x 2 cells of 2, 1, 1, 2 rows: 6! = 720 permutations of the rows
        frame = _twoway_frame(levels=(2, 2), reps=2).drop(index=[3, 5]).reset_index(drop=True)
    else:
        frame = _twoway_frame()
    kwargs = _kind_kwargs(kind, len(frame))

    def run(dv):
        return permanova.aovperm(
            frame, dv, between=["A", "B"], method=method, return_null=True, **kwargs
        )

    multi, _ = _check_against_separate(run, TWOWAY_OUTCOMES)
    if kind == "exact":
        assert multi.exact and multi.n_resamples == 720
    assert list(multi.table.loc["y"].index) == ["A", "B", "A:B"]
    assert multi.table.loc["flat", "p_permutation"].isna().all()
    # the additive fit leaves no residual: its interaction is 0/0
    assert np.isnan(multi.table.loc[("additive", "A:B"), "p_permutation"])


@pytest.mark.parametrize("kind", ["monte_carlo", "exact", "user"])
@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_many_outcomes_mixed_equal_separate_runs(method, kind):
    # exact: groups of 2 and 1 subjects x 2 conditions, 6! = 720 permutations of the rows
    frame = _mixed_frame(sizes=(2, 1), n_cond=2) if kind == "exact" else _mixed_frame()
    kwargs = _kind_kwargs(kind, len(frame))

    def run(dv):
        return permanova.mixed(
            frame,
            dv,
            subject="subject",
            between="group",
            within="cond",
            method=method,
            return_null=True,
            **kwargs,
        )

    multi, _ = _check_against_separate(run, MIXED_OUTCOMES)
    if kind == "exact":
        assert multi.exact and multi.n_resamples == 720
    np.testing.assert_array_equal(
        multi.table.loc["big", "p_permutation"].to_numpy(),
        multi.table.loc["y", "p_permutation"].to_numpy(),
    )


@pytest.mark.parametrize("kind", ["monte_carlo", "user"])
def test_many_outcomes_two_within_factors_equal_separate_runs(kind):
    frame = _two_within_frame()
    kwargs = _kind_kwargs(kind, len(frame))

    def run(dv):
        return permanova.aovperm(
            frame, dv, subject="subject", within=["A", "B"], return_null=True, **kwargs
        )

    multi, _ = _check_against_separate(run, TWO_WITHIN_OUTCOMES)
    assert list(multi.table.loc["y"].index) == ["A", "B", "A:B"]


@pytest.mark.parametrize("design", ["mixed", "two within"])
def test_many_outcomes_compiled_screens_equal_separate_runs(monkeypatch, design):
    """The compiled stratum screens and decisions (used on long runs) give the separate
    runs' tables."""
    pytest.importorskip("numba")
    from permanova import _engine, _screens

    monkeypatch.setattr(_screens, "COMPILED_WORK", 0)
    monkeypatch.setattr(_engine, "COMPILED_WORK", 0)
    if design == "mixed":
        frame, names = _mixed_frame(), MIXED_OUTCOMES
        factors = {"between": "group", "within": "cond"}
    else:
        frame, names = _two_within_frame(), TWO_WITHIN_OUTCOMES
        factors = {"within": ["A", "B"]}

    def run(dv):
        return permanova.aovperm(
            frame,
            dv,
            subject="subject",
            n_resamples=149,
            random_state=3,
            return_null=True,
            **factors,
        )

    _check_against_separate(run, names)


def test_many_outcomes_exact_within_equal_separate_runs():
    # one within factor, 3 subjects x 2 levels: 6! = 720 permutations
    frame = _two_within_frame(n_subjects=3)
    frame = frame[frame["B"] == "b0"].reset_index(drop=True)

    def run(dv):
        return permanova.oneway_within(
            frame, dv, "A", subject="subject", n_resamples=1000, return_null=True
        )

    multi, _ = _check_against_separate(run, ["y", "z", "ties"])
    assert multi.exact and multi.n_resamples == 720


def test_constant_outcome_warns_and_gives_nan_like_a_separate_run():
    frame = _oneway_frame()
    with pytest.warns(RuntimeWarning, match="undefined"):
        res = permanova.aovperm(frame, ["y", "flat"], between="g", n_resamples=99, random_state=0)
    assert np.isnan(res.table.loc[("flat", "g"), "p_permutation"])
    assert np.isnan(res.table.loc[("flat", "g"), "F"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no outcome is degenerate: no warning
        permanova.aovperm(frame, ["y", "z"], between="g", n_resamples=99, random_state=0)


@pytest.mark.parametrize(
    "design",
    [
        ("oneway", {"between": "g"}),
        ("mixed", {"subject": "subject", "between": "group", "within": "cond"}),
    ],
    ids=["oneway", "mixed"],
)
def test_outcome_order_does_not_matter(design):
    name, kwargs = design
    frame = _oneway_frame() if name == "oneway" else _mixed_frame()
    common = {"n_resamples": 499, "random_state": 8, "return_null": True, **kwargs}
    ab = permanova.aovperm(frame, ["y", "z"], **common)
    ba = permanova.aovperm(frame, ["z", "y"], **common)
    assert ab.outcomes == ("y", "z") and ba.outcomes == ("z", "y")
    for k_ab, k_ba, outcome in [(0, 1, "y"), (1, 0, "z")]:
        np.testing.assert_array_equal(
            ab.table.loc[outcome, "p_permutation"].to_numpy(),
            ba.table.loc[outcome, "p_permutation"].to_numpy(),
        )
        np.testing.assert_allclose(
            ab.table.loc[outcome, "F"].to_numpy(),
            ba.table.loc[outcome, "F"].to_numpy(),
            rtol=1e-12,
        )
        _assert_null_close(
            ab.null_distribution[k_ab], ba.null_distribution[k_ba], f"null of {outcome}"
        )


def test_single_outcome_list_and_str_layouts():
    frame = _oneway_frame()
    kwargs = {"between": "g", "n_resamples": 99, "random_state": 0, "return_null": True}
    one = permanova.aovperm(frame, "y", **kwargs)
    listed = permanova.aovperm(frame, ["y"], **kwargs)
    assert one.outcomes == ("y",)
    assert one.table.index.nlevels == 1 and one.table.index.name == "effect"
    assert one.null_distribution.shape == (99, 1)
    assert listed.outcomes == ("y",)
    assert listed.table.index.names == ["outcome", "effect"]
    assert listed.null_distribution.shape == (1, 99, 1)
    _assert_table_matches(listed.table.loc["y"], one.table, "dv=['y']")
    np.testing.assert_array_equal(listed.null_distribution[0], one.null_distribution)


def test_many_outcomes_to_frame():
    frame = _mixed_frame()
    names = ["y", "z", "ties"]
    kwargs = {
        "subject": "subject",
        "between": "group",
        "within": "cond",
        "n_resamples": 99,
        "random_state": 1,
    }
    multi = permanova.aovperm(frame, names, **kwargs)
    long = multi.to_frame()
    single_frames = {name: permanova.aovperm(frame, name, **kwargs).to_frame() for name in names}
    columns = list(single_frames["y"].columns)
    assert set(long.columns) == {"outcome", *columns}
    effects = list(single_frames["y"]["effect"])
    assert list(long["outcome"]) == [name for name in names for _ in effects]
    assert list(long["effect"]) == effects * len(names)
    for name, single in single_frames.items():
        part = long.loc[long["outcome"] == name, columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(part, single, check_exact=False, rtol=1e-12, atol=0.0)
        np.testing.assert_array_equal(part["p_permutation"], single["p_permutation"])


def test_many_outcomes_mixed_match_pingouin():
    pg = pytest.importorskip("pingouin")
    frame = _mixed_frame(sizes=(5, 5))
    names = ["y", "z", "ties", "big"]  # pingouin's sums of squares lose 1e12 offsets
    res = permanova.mixed(
        frame, names, subject="subject", between="group", within="cond", n_resamples=99
    )
    for name in names:
        aov = pg.mixed_anova(
            frame.assign(**{name: frame[name].astype(float)}),
            dv=name,
            within="cond",
            between="group",
            subject="subject",
            correction=False,
        ).set_index("Source")
        got = res.table.loc[name]
        for effect, source in PINGOUIN_SOURCES:
            np.testing.assert_allclose(
                got.loc[effect, "F"], aov.loc[source, "F"], rtol=1e-8, err_msg=f"{name} {effect}"
            )
            np.testing.assert_allclose(
                got.loc[effect, "p_parametric"],
                aov.loc[source, "p_unc"],
                rtol=1e-8,
                err_msg=f"{name} {effect}",
            )


@pytest.mark.parametrize(
    ("dv", "error", "match"),
    [
        ([], ValueError, "dv"),
        (["y", "y"], ValueError, "y"),
        (["y", "nope"], ValueError, "nope"),
        (["y", "label"], TypeError, "label"),
        (["y", "holes"], ValueError, "holes|NaN|missing"),
    ],
    ids=["empty", "duplicate", "missing", "non-numeric", "nan"],
)
def test_bad_outcome_lists(dv, error, match):
    frame = _oneway_frame().assign(label="x", holes=np.nan)
    frame.loc[1:, "holes"] = 1.0 * np.arange(1, len(frame))
    # a good list passes, so that the error below is about the bad list
    permanova.aovperm(frame, ["y", "z"], between="g", n_resamples=99, random_state=0)
    with pytest.raises(error, match=match):
        permanova.aovperm(frame, dv, between="g", n_resamples=99, random_state=0)


# --------------------------------------------------------------------------------------------
# n_jobs and backends: bit-identical to the serial run
# --------------------------------------------------------------------------------------------
def _case(name):
    """(frame, dv, keyword arguments) of runs spanning several 4096-row blocks."""
    mixed = {"subject": "subject", "between": "group", "within": "cond"}
    if name == "oneway_monte_carlo":
        return _oneway_frame(), "y", {"between": "g", "n_resamples": 10_000, "random_state": 3}
    if name == "oneway_dekker":
        return (
            _oneway_frame(),
            "y",
            {
                "between": "g",
                "method": "dekker",
                "n_resamples": 9_000,
                "random_state": 4,
            },
        )
    if name == "huh_jhun":
        return (
            _oneway_frame(),
            "y",
            {
                "between": "g",
                "method": "huh_jhun",
                "n_resamples": 9_000,
                "random_state": 6,
            },
        )
    if name == "mixed_monte_carlo":
        return _mixed_frame(), "y", {**mixed, "n_resamples": 10_000, "random_state": 5}
    if name == "many_outcomes":
        outcomes = ["y", "z", "ties", "offset", "big"]
        return _mixed_frame(), outcomes, {**mixed, "n_resamples": 9_000, "random_state": 7}
    if name == "exact":
        # 12! / (4!)^3 = 34650 assignments: 9 blocks
        return _oneway_frame(sizes=(4, 4, 4)), ["y", "ties"], {"between": "g", "exact": True}
    if name == "user":
        frame = _mixed_frame()
        return frame, "y", {**mixed, "permutations": _user_permutations(len(frame), 9_000)}
    raise AssertionError(name)


CASES = [
    "oneway_monte_carlo",
    "oneway_dekker",
    "huh_jhun",
    "mixed_monte_carlo",
    "many_outcomes",
    "exact",
    "user",
]


def _assert_identical(got, want):
    pd.testing.assert_frame_equal(got.table, want.table, check_exact=True)
    np.testing.assert_array_equal(got.null_distribution, want.null_distribution)
    assert got.n_resamples == want.n_resamples and got.exact == want.exact


@pytest.mark.parametrize("case", CASES)
def test_n_jobs_results_are_bit_identical(case):
    frame, dv, kwargs = _case(case)
    serial = permanova.aovperm(frame, dv, return_null=True, n_jobs=None, **kwargs)
    assert serial.n_resamples > 2 * 4096
    for n_jobs in (1, 2, -1, -2):
        parallel = permanova.aovperm(frame, dv, return_null=True, n_jobs=n_jobs, **kwargs)
        _assert_identical(parallel, serial)
    default = permanova.aovperm(frame, dv, return_null=True, **kwargs)
    _assert_identical(default, serial)


def test_an_error_in_a_worker_thread_reaches_the_caller():
    """A block that fails in one of the threads raises in the caller; no thread is left."""
    from permanova import _engine

    class Failing:
        start, rows = 0, 1

        def permutations(self):
            raise ZeroDivisionError("block 3")

    frame, dv, kwargs = _case("oneway_monte_carlo")
    captured = {}

    def spy(task, blocks, total, **options):
        captured["task"] = task
        return _engine.EngineOutput(np.zeros(task.shape, dtype=np.int64), None)

    original, _engine.run = _engine.run, spy
    try:
        permanova.aovperm(frame, dv, **kwargs)
    finally:
        _engine.run = original
    before = threading.active_count()
    blocks = [Failing() for _ in range(7)]
    with pytest.raises(ZeroDivisionError, match="block 3"):
        list(_engine._threaded(captured["task"], blocks, 2))
    assert threading.active_count() == before


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", -1.0])
def test_bad_n_jobs(n_jobs):
    frame = _oneway_frame()
    permanova.aovperm(frame, "y", between="g", n_resamples=99, n_jobs=2)
    with pytest.raises((ValueError, TypeError), match="n_jobs"):
        permanova.aovperm(frame, "y", between="g", n_resamples=99, n_jobs=n_jobs)


def test_backend_threads_is_the_serial_run():
    frame, dv, kwargs = _case("mixed_monte_carlo")
    serial = permanova.aovperm(frame, dv, return_null=True, **kwargs)
    threads = permanova.aovperm(frame, dv, return_null=True, backend="threads", n_jobs=2, **kwargs)
    _assert_identical(threads, serial)


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    # not the default client: backend="dask" alone must then use the threaded scheduler
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    client.close()
    cluster.close()


@pytest.mark.parametrize("case", ["oneway_monte_carlo", "many_outcomes", "exact", "user"])
def test_dask_default_threaded_scheduler_is_the_serial_run(case):
    pytest.importorskip("dask")
    from dask.callbacks import Callback

    frame, dv, kwargs = _case(case)
    serial = permanova.aovperm(frame, dv, return_null=True, **kwargs)
    tasks = []
    with Callback(pretask=lambda key, dsk, state: tasks.append(key)):
        result = permanova.aovperm(frame, dv, return_null=True, backend="dask", **kwargs)
    assert tasks, "backend='dask' ran no task on dask's threaded scheduler"
    _assert_identical(result, serial)


@pytest.mark.parametrize("case", ["oneway_monte_carlo", "many_outcomes", "exact", "user"])
def test_dask_client_is_the_serial_run(dask_client, case):
    from distributed import get_task_stream

    frame, dv, kwargs = _case(case)
    serial = permanova.aovperm(frame, dv, return_null=True, **kwargs)
    with get_task_stream(client=dask_client) as stream:
        result = permanova.aovperm(frame, dv, return_null=True, backend=dask_client, **kwargs)
    assert stream.data, "backend=Client ran no task on the cluster"
    _assert_identical(result, serial)


def test_dask_string_uses_the_current_client(dask_client):
    from distributed import get_task_stream

    frame, dv, kwargs = _case("many_outcomes")
    serial = permanova.aovperm(frame, dv, return_null=True, **kwargs)
    with dask_client.as_current(), get_task_stream(client=dask_client) as stream:
        # n_jobs is ignored by the dask backend
        result = permanova.aovperm(frame, dv, return_null=True, backend="dask", n_jobs=2, **kwargs)
    assert stream.data, "backend='dask' did not use the current Client"
    _assert_identical(result, serial)


@pytest.mark.parametrize("backend", ["spark", "thread", "", "loky"])
def test_unknown_backend_string(backend):
    frame = _oneway_frame()
    with pytest.raises(ValueError, match="backend") as info:
        permanova.aovperm(frame, "y", between="g", n_resamples=99, backend=backend)
    assert "threads" in str(info.value) and "dask" in str(info.value)


@pytest.mark.parametrize("backend", [object(), 2, ["dask"]], ids=["object", "int", "list"])
def test_backend_of_wrong_type(backend):
    frame = _oneway_frame()
    permanova.aovperm(frame, "y", between="g", n_resamples=99, backend="threads")
    with pytest.raises(TypeError, match="backend"):
        permanova.aovperm(frame, "y", between="g", n_resamples=99, backend=backend)


# --------------------------------------------------------------------------------------------
# memory
# --------------------------------------------------------------------------------------------
def _peak_bytes(function):
    """``(function(), peak bytes traced by tracemalloc during the call)``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


def _number_pattern(value: int) -> str:
    """A regex for ``value`` written with or without thousands separators."""
    return r"\b" + f"{value:,}".replace(",", "[,_ ]?") + r"\b"


def test_huh_jhun_refuses_designs_above_its_limit_before_allocating():
    limit = permanova.HUH_JHUN_MAX_ROWS
    assert limit == 4000
    n = limit + 1
    rng = np.random.default_rng(9)
    frame = pd.DataFrame({"g": np.resize(["a", "b", "c"], n), "y": rng.normal(size=n)})

    def run():
        with pytest.raises(ValueError, match=_number_pattern(limit)) as info:
            permanova.aovperm(
                frame, "y", between="g", method="huh_jhun", n_resamples=99, random_state=0
            )
        return info

    info, peak = _peak_bytes(run)
    assert re.search(_number_pattern(n), str(info.value))
    assert peak < 50 * MIB  # one n x n float matrix would be 128 MB
    # the other methods run on the same design
    res = permanova.aovperm(frame, "y", between="g", n_resamples=99, random_state=0)
    assert res.table.loc["g", "df_error"] == n - 3


def test_mixed_design_with_3000_subjects_has_linear_memory():
    pg = pytest.importorskip("pingouin")
    frame = _mixed_frame(sizes=(1500, 1500))[["subject", "group", "cond", "y"]]
    res, peak = _peak_bytes(
        lambda: permanova.mixed(
            frame,
            "y",
            subject="subject",
            between="group",
            within="cond",
            n_resamples=99,
            random_state=0,
        )
    )
    assert peak < 0.25 * (9000 * 3000 * 8)  # no n x n_subjects float matrix
    assert res.table["df_error"].tolist() == [2998, 5996, 5996]
    aov = pg.mixed_anova(
        frame, dv="y", within="cond", between="group", subject="subject", correction=False
    ).set_index("Source")
    for effect, source in PINGOUIN_SOURCES:
        np.testing.assert_allclose(res.table.loc[effect, "F"], aov.loc[source, "F"], rtol=1e-8)


def test_within_design_with_8000_subjects_runs_in_linear_memory():
    # 16,000 rows: one 16000 x 8000 float matrix is 1 GiB (this raised MemoryError before)
    n_subjects = 8000
    rng = np.random.default_rng(10)
    subject_effect = np.repeat(rng.normal(size=n_subjects), 2)
    y = rng.normal(size=2 * n_subjects) + subject_effect + np.tile([0.0, 0.05], n_subjects)
    frame = pd.DataFrame(
        {
            "subject": np.repeat(np.arange(n_subjects), 2),
            "time": np.tile(["pre", "post"], n_subjects),
            "y": y,
        }
    )
    res, peak = _peak_bytes(
        lambda: permanova.oneway_within(
            frame, "y", "time", subject="subject", n_resamples=99, random_state=0
        )
    )
    assert peak < 200 * MIB
    # with two levels the F is the square of the paired t statistic
    t = stats.ttest_rel(y[0::2], y[1::2])
    row = res.table.loc["time"]
    assert row["df"] == 1 and row["df_error"] == n_subjects - 1
    np.testing.assert_allclose(row["F"], t.statistic**2, rtol=1e-8)
    np.testing.assert_allclose(row["p_parametric"], t.pvalue, rtol=1e-8)


# values of the pre-issue-9 engine (commit 8120718), rounded to 10 significant digits; the
# parametric table is the same for the three Kherad-Pajouh-Renaud methods
PINNED_MIXED = {
    "group": (6.805308839, 0.03497950676),
    "cond": (4.185487316, 0.03759256094),
    "group:cond": (3.228242605, 0.07032004439),
}
PINNED_TWO_WITHIN = {
    "A": (1.106133132, 0.3334259052),
    "B": (1.282562362, 0.3127535361),
    "A:B": (0.4826774178, 0.6286096361),
}
# p_permutation of the pre-issue-9 engine (random_state=0, 99 permutations): counts / 100
PINNED_COUNTS = {
    "rd_kheradpajouh_renaud": ([5, 4, 6], [40, 29, 56]),
    "rde_kheradpajouh_renaud": ([5, 5, 10], [45, 28, 61]),
    "rd_replic_kheradpajouh_renaud": ([5, 4, 6], [40, 29, 56]),
}


def _pinned_runs(method):
    mixed = permanova.mixed(
        _mixed_frame(sizes=(4, 5), seed=21),
        "y",
        subject="subject",
        between="group",
        within="cond",
        method=method,
        n_resamples=99,
        random_state=0,
    )
    within = permanova.aovperm(
        _two_within_frame(n_subjects=7, seed=22),
        "y",
        subject="subject",
        within=["A", "B"],
        method=method,
        n_resamples=99,
        random_state=0,
    )
    return mixed, within


@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_small_designs_parametric_table_unchanged(method):
    mixed, within = _pinned_runs(method)
    for result, pinned in [(mixed, PINNED_MIXED), (within, PINNED_TWO_WITHIN)]:
        assert list(result.table.index) == list(pinned)
        for effect, (f, p) in pinned.items():
            assert result.table.loc[effect, "F"] == pytest.approx(f, rel=1e-9)
            assert result.table.loc[effect, "p_parametric"] == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_small_designs_permutation_p_unchanged(method):
    # the same random_state gives the same permutations as before, hence the same counts
    mixed, within = _pinned_runs(method)
    for result, counts in zip((mixed, within), PINNED_COUNTS[method]):
        np.testing.assert_array_equal(
            np.round(result.table["p_permutation"].to_numpy() * 100), counts
        )
