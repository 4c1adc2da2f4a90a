"""Property-based tests of ``permanova.aovperm`` (hypothesis).

The data are drawn from a seeded numpy generator (continuous, no accidental ties); hypothesis
chooses the design, the sizes, the seeds and the transformations.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import permanova

COLUMNS = ["df", "df_error", "SS", "SS_error", "F", "p_parametric"]
FAST = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------
@st.composite
def oneway_between(draw, max_count=2000):
    """One-way between frame whose number of distinct group assignments is <= max_count."""
    n_groups = draw(st.integers(2, 4))
    sizes = draw(st.lists(st.integers(2, 4), min_size=n_groups, max_size=n_groups))
    while _multiset_count(sizes) > max_count:
        sizes[sizes.index(max(sizes))] -= 1
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"g{i}" for i in range(n_groups)], sizes)
    y = (
        rng.normal(0.0, 1.0, groups.size)
        + rng.normal(0.0, 1.0, n_groups)[np.repeat(np.arange(n_groups), sizes)]
    )
    order = rng.permutation(groups.size)
    frame = pd.DataFrame({"g": groups[order], "y": y[order]})
    return {"data": frame, "dv": "y", "between": "g"}, sizes


BETWEEN_METHODS = [
    "freedman_lane",
    "manly",
    "ter_braak",
    "kennedy",
    "huh_jhun",
    "dekker",
    "draper_stoneman",
]
WITHIN_METHODS = [
    "rd_kheradpajouh_renaud",
    "rde_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
]


@st.composite
def any_design(draw):
    """Keyword arguments of aovperm (design and method) for a one-way, factorial or mixed
    design."""
    kwargs = draw(_any_frame())
    methods = WITHIN_METHODS if "within" in kwargs else BETWEEN_METHODS
    return {**kwargs, "method": draw(st.sampled_from(methods))}


@st.composite
def _any_frame(draw):
    kind = draw(st.sampled_from(["oneway", "factorial", "mixed"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "oneway":
        kwargs, _ = draw(oneway_between(max_count=10**9))
        return kwargs
    if kind == "factorial":
        a = draw(st.integers(2, 3))
        b = draw(st.integers(2, 3))
        counts = draw(st.lists(st.integers(2, 4), min_size=a * b, max_size=a * b))
        rows = []
        for i in range(a):
            for j in range(b):
                for _ in range(counts[i * b + j]):
                    rows.append((f"a{i}", f"b{j}", rng.normal(i - j, 1.0)))
        frame = pd.DataFrame(rows, columns=["A", "B", "y"])
        frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
        return {"data": frame, "dv": "y", "between": ["A", "B"]}
    n_groups = 2
    sizes = draw(st.lists(st.integers(2, 4), min_size=n_groups, max_size=n_groups))
    k = draw(st.integers(2, 3))
    rows = []
    subject = 0
    for g, size in enumerate(sizes):
        for _ in range(size):
            base = rng.normal(0.0, 2.0)
            for c in range(k):
                rows.append((f"s{subject}", f"t{g}", f"c{c}", base + rng.normal(0.5 * c, 1.0)))
            subject += 1
    frame = pd.DataFrame(rows, columns=["subject", "type", "cond", "y"])
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    return {"data": frame, "dv": "y", "subject": "subject", "between": "type", "within": "cond"}


def _multiset_count(sizes):
    return math.factorial(sum(sizes)) // math.prod(math.factorial(s) for s in sizes)


def _factor_columns(kwargs):
    cols = []
    for key in ("between", "within", "subject"):
        value = kwargs.get(key)
        if value is not None:
            cols += [value] if isinstance(value, str) else list(value)
    return cols


def _assert_same_observed(table, other, rtol=1e-9):
    other = other.loc[table.index]
    for column in COLUMNS:
        np.testing.assert_allclose(
            other[column].to_numpy(float),
            table[column].to_numpy(float),
            rtol=rtol,
            atol=1e-12,
            err_msg=column,
        )


# --------------------------------------------------------------------------------------------
# p-value range and granularity
# --------------------------------------------------------------------------------------------
@FAST
@given(design=any_design(), n_resamples=st.integers(1, 300), random_state=st.integers(0, 10**6))
def test_monte_carlo_p_in_range_and_on_the_grid(design, n_resamples, random_state):
    res = permanova.aovperm(
        **design, n_resamples=n_resamples, exact=False, random_state=random_state
    )
    assert not res.exact
    assert res.n_resamples == n_resamples
    p = res.table["p_permutation"].to_numpy(float)
    assert np.all(p > 0) and np.all(p <= 1)
    assert np.all(p >= 1 / (n_resamples + 1) - 1e-15)
    counts = p * (n_resamples + 1)
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    pp = res.table["p_parametric"].to_numpy(float)
    assert np.all((pp >= 0) & (pp <= 1))


@FAST
@given(case=oneway_between(max_count=3000), batch_size=st.integers(1, 500))
def test_exact_p_is_a_multiple_of_one_over_n(case, batch_size):
    kwargs, sizes = case
    n_distinct = _multiset_count(sizes)
    res = permanova.aovperm(**kwargs, exact=True)
    assert res.exact
    p = res.table.loc["g", "p_permutation"]
    assert 1 / n_distinct - 1e-15 <= p <= 1
    assert p * n_distinct == pytest.approx(round(p * n_distinct), abs=1e-6)
    # enumeration in small batches gives the same count
    small = permanova.aovperm(**kwargs, exact=True, batch_size=batch_size)
    assert small.table.loc["g", "p_permutation"] == p


# --------------------------------------------------------------------------------------------
# invariances of the observed table
# --------------------------------------------------------------------------------------------
@FAST
@given(design=any_design(), seed=st.integers(0, 2**32 - 1), keep_index=st.booleans())
def test_observed_table_invariant_to_row_order(design, seed, keep_index):
    res = permanova.aovperm(**design, n_resamples=9, random_state=0)
    frame = design["data"]
    shuffled = frame.iloc[np.random.default_rng(seed).permutation(len(frame))]
    if not keep_index:
        shuffled = shuffled.reset_index(drop=True)
    other = permanova.aovperm(**{**design, "data": shuffled}, n_resamples=9, random_state=0)
    _assert_same_observed(res.table, other.table)


@FAST
@given(design=any_design(), seed=st.integers(0, 2**32 - 1))
def test_observed_table_invariant_to_level_relabelling(design, seed):
    res = permanova.aovperm(**design, n_resamples=9, random_state=0)
    rng = np.random.default_rng(seed)
    frame = design["data"].copy()
    for column in _factor_columns(design):
        levels = frame[column].unique()
        # new names in a shuffled order, so that the sorted order of the levels changes too
        new = [f"L{i}_{column}" for i in rng.permutation(len(levels))]
        frame[column] = frame[column].map(dict(zip(levels, new, strict=True)))
    other = permanova.aovperm(**{**design, "data": frame}, n_resamples=9, random_state=0)
    _assert_same_observed(res.table, other.table)


# moderate scales: a large shift over a tiny spread would cancel digits and blur exact ties
# (equal group sizes produce F values equal to the observed one) beyond any tolerance
nonzero = st.one_of(st.floats(-20.0, -0.1), st.floats(0.1, 20.0))


@FAST
@given(design=any_design(), a=nonzero, b=st.floats(-100.0, 100.0))
def test_f_and_p_invariant_to_affine_outcome(design, a, b):
    res = permanova.aovperm(**design, n_resamples=99, exact=False, random_state=3)
    frame = design["data"].assign(y=a * design["data"]["y"] + b)
    other = permanova.aovperm(
        **{**design, "data": frame}, n_resamples=99, exact=False, random_state=3
    )
    table, moved = res.table, other.table.loc[res.table.index]
    for column in ("F", "p_parametric"):
        np.testing.assert_allclose(moved[column], table[column], rtol=1e-7, err_msg=column)
    for column in ("SS", "SS_error"):
        np.testing.assert_allclose(moved[column], a**2 * table[column], rtol=1e-7)
    np.testing.assert_array_equal(moved[["df", "df_error"]], table[["df", "df_error"]])
    # same permutations, same F up to rounding: the permutation p-value does not move
    # (for a < 0 the rows are drawn in another order: the outcome enters the canonical
    # order of the rows, so only an exact p-value would be invariant)
    if a > 0:
        np.testing.assert_array_equal(moved["p_permutation"], table["p_permutation"])


# --------------------------------------------------------------------------------------------
# reproducibility and batching
# --------------------------------------------------------------------------------------------
@FAST
@given(
    design=any_design(),
    batch_sizes=st.lists(st.integers(1, 400), min_size=2, max_size=3),
    n_resamples=st.integers(1, 700),
    random_state=st.integers(0, 2**32 - 1),
)
def test_same_result_for_any_batch_size(design, batch_sizes, n_resamples, random_state):
    runs = [
        permanova.aovperm(
            **design,
            n_resamples=n_resamples,
            exact=False,
            random_state=random_state,
            batch_size=batch_size,
            return_null=True,
        )
        for batch_size in [None, *batch_sizes]
    ]
    first = runs[0]
    assert first.null_distribution.shape == (n_resamples, len(first.table))
    for run in runs[1:]:
        np.testing.assert_array_equal(run.table["p_permutation"], first.table["p_permutation"])
        # tiny designs have permutations whose error sum of squares is zero in exact
        # arithmetic: their F is rounding noise (~1e30) that may depend on the product
        # shapes; compare the ordinary values and require the degenerate ones to stay huge
        ordinary = first.null_distribution < 1e8
        np.testing.assert_allclose(
            run.null_distribution[ordinary],
            first.null_distribution[ordinary],
            rtol=1e-10,
            atol=1e-12,
        )
        assert np.all(run.null_distribution[~ordinary] >= 1e6)


@FAST
@given(design=any_design(), random_state=st.integers(0, 2**32 - 1))
def test_reproducible_for_a_given_random_state(design, random_state):
    kwargs = {**design, "n_resamples": 200, "exact": False, "return_null": True}
    one = permanova.aovperm(**kwargs, random_state=random_state)
    two = permanova.aovperm(**kwargs, random_state=random_state)
    pd.testing.assert_frame_equal(one.table, two.table)
    np.testing.assert_array_equal(one.null_distribution, two.null_distribution)
    # a Generator built from the same seed gives the same draws
    three = permanova.aovperm(**kwargs, random_state=np.random.default_rng(random_state))
    np.testing.assert_array_equal(three.null_distribution, one.null_distribution)
    # and another seed gives another null distribution (continuous data: no chance equality)
    other = permanova.aovperm(**kwargs, random_state=random_state + 1)
    assert not np.array_equal(other.null_distribution, one.null_distribution)


@FAST
@given(design=any_design(), n_resamples=st.integers(1, 300), random_state=st.integers(0, 10**6))
def test_p_value_counts_the_null_distribution(design, n_resamples, random_state):
    kwargs = {
        **design,
        "n_resamples": n_resamples,
        "exact": False,
        "random_state": random_state,
        "return_null": True,
    }
    greater = permanova.aovperm(**kwargs)
    less = permanova.aovperm(**kwargs, alternative="less")
    null = greater.null_distribution
    np.testing.assert_array_equal(less.null_distribution, null)
    f_obs = greater.table["F"].to_numpy(float)
    # exceedances counted with a relative tolerance far below any real difference
    above = (null >= f_obs * (1 - 1e-9)).sum(axis=0)
    below = (null <= f_obs * (1 + 1e-9)).sum(axis=0)
    np.testing.assert_allclose(
        greater.table["p_permutation"], (1 + above) / (1 + n_resamples), rtol=1e-12
    )
    np.testing.assert_allclose(
        less.table["p_permutation"], (1 + below) / (1 + n_resamples), rtol=1e-12
    )
