"""Rounding: statistics stable on adversarial data, ties decided from the possible error."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import permanova
from permanova import _permutations
from tests.permanova.exact_oracle import exact_aovperm


def _oneway(y, sizes):
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    return pd.DataFrame({"g": groups, "y": np.asarray(y, dtype=float)})


def test_relabelled_equal_groups_tie_exactly():
    # groups [0], [2], [0.0625, 0]: swapping the two singletons leaves F unchanged
    data = pd.DataFrame({"g": ["a", "b", "c", "c"], "y": [0.0, 2.0, 0.0625, 0.0]})
    res = permanova.aovperm(data, "y", between="g", exact=True)
    assert res.n_resamples == 12
    assert res.table.loc["g", "p_permutation"] * 12 == pytest.approx(6)


@pytest.mark.parametrize("offset", [0.0, 1e8, 2.0**40, -3e12])
@pytest.mark.parametrize("spread", [1.0, 1e3])
def test_large_effects_and_offsets_keep_the_exact_p(offset, spread):
    # three balanced groups: the 3! relabellings of the groups tie with the identity
    rng = np.random.default_rng(4)
    # multiples of 1/64: every offset below adds to them without rounding
    y = np.round((np.repeat([0.0, 1.0, 2.0], 3) * spread + rng.normal(size=9)) * 64) / 64
    ref = permanova.aovperm(_oneway(y, [3, 3, 3]), "y", between="g", exact=True)
    p = ref.table.loc["g", "p_permutation"]
    if spread > 1:  # only the relabellings are as extreme
        assert p == pytest.approx(6 / 1680)
    for method in ("freedman_lane", "manly", "draper_stoneman", "dekker", "kennedy"):
        res = permanova.aovperm(
            _oneway(y + offset, [3, 3, 3]), "y", between="g", exact=True, method=method
        )
        assert res.table.loc["g", "p_permutation"] == p, method


def _exact_oneway_f(y, sizes) -> Fraction:
    """One-way F of the float data ``y`` in rational arithmetic."""
    values = [Fraction(float(v)) for v in y]
    groups, start = [], 0
    for size in sizes:
        groups.append(values[start : start + size])
        start += size
    grand = sum(values) / len(values)
    means = [sum(g) / len(g) for g in groups]
    ss = sum(len(g) * (m - grand) ** 2 for g, m in zip(groups, means, strict=True))
    sse = sum((v - m) ** 2 for g, m in zip(groups, means, strict=True) for v in g)
    return (ss / (len(sizes) - 1)) / (sse / (len(values) - len(sizes)))


@pytest.mark.parametrize("noise", [1e-5, 1e-7, 1e-9])
def test_near_perfect_fit_is_accurate(noise):
    rng = np.random.default_rng(8)
    y = np.repeat([1.0, 3.0, 2.0], 4) + rng.normal(size=12) * noise
    res = permanova.aovperm(_oneway(y, [4, 4, 4]), "y", between="g", exact=True)
    exact = _exact_oneway_f(y, [4, 4, 4])
    assert res.table.loc["g", "F"] == pytest.approx(float(exact), rel=1e-10)
    assert res.table.loc["g", "p_permutation"] == pytest.approx(6 / 34650)


def test_subject_offsets_do_not_hide_within_ties():
    # 3 subjects x 2 sessions, subject offsets 100x the session effect: the 3! x 2
    # permutations that move whole subjects (and swap sessions consistently) tie
    rng = np.random.default_rng(0)
    offsets = np.repeat([100.0, -250.0, 40.0], 2)
    y = offsets + np.tile([0.0, 1.0], 3) + rng.normal(size=6) * 0.01
    data = pd.DataFrame({"s": np.repeat(["a", "b", "c"], 2), "t": np.tile(["1", "2"], 3)})
    data["y"] = y
    ps = set()
    for seed in range(3):
        shuffled = data.sample(frac=1.0, random_state=seed)
        res = permanova.aovperm(shuffled, "y", subject="s", within="t", exact=True)
        ps.add(res.table.loc["t", "p_permutation"])
    assert len(ps) == 1
    assert ps.pop() == pytest.approx(12 / 720)


@pytest.mark.parametrize("power", [-540, -300, 300, 1000])
def test_outcome_scale_does_not_matter(power):
    rng = np.random.default_rng(1)
    y = rng.normal(size=12) + np.repeat([0.0, 0.5, 1.0], 4)
    kw = dict(between="g", n_resamples=999, random_state=0)
    ref = permanova.aovperm(_oneway(y, [4, 4, 4]), "y", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "constant outcome" warning, no overflow
        res = permanova.aovperm(_oneway(np.ldexp(y, power), [4, 4, 4]), "y", **kw)
    for column in ("F", "p_parametric"):
        assert res.table[column].to_numpy() == pytest.approx(ref.table[column].to_numpy())
    np.testing.assert_array_equal(res.table["p_permutation"], ref.table["p_permutation"])
    # SS in the outcome's units: 4**power times, inf where that is not a float
    with np.errstate(over="ignore"):
        expected = np.ldexp(ref.table["SS"].to_numpy(), 2 * power)
    np.testing.assert_allclose(res.table["SS"], expected, rtol=1e-12)


def test_constant_outcome_still_undefined():
    with pytest.warns(RuntimeWarning, match="undefined"):
        res = permanova.aovperm(_oneway([0.1] * 9, [3, 3, 3]), "y", between="g")
    assert np.isnan(res.table.loc["g", "p_permutation"])


def test_huge_design_counts_by_logarithms():
    # 1e6 rows: decided from lgamma, no factorial of a million is computed
    assert _permutations.count_at_most([500_000, 500_000], 10**4) is None
    assert _permutations.log_count([500_000, 500_000]) == pytest.approx(
        math.lgamma(1_000_001) - 2 * math.lgamma(500_001)
    )


@pytest.mark.parametrize("n", [171, 400])
def test_exact_true_with_many_units_is_a_clear_error(n):
    data = _oneway(np.arange(n, dtype=float), [n // 2, n - n // 2])
    with pytest.raises(ValueError, match=r"exact=True.*10\^\d+"):
        permanova.aovperm(data, "y", between="g", exact=True)


def test_too_many_random_permutations_is_a_clear_error():
    data = _oneway(np.arange(40, dtype=float), [20, 20])
    with pytest.raises(ValueError, match="n_resamples"):
        permanova.aovperm(data, "y", between="g", n_resamples=10**20)


DEGENERATE = {
    # y = A + B exactly, one value moved by 2**-44: SS and SS_error of A:B about 1e-27
    "tiny interaction": "0x1p-44 0x0p+0 0x1.8p+1 0x1.8p+1 0x1.4p+2 0x1.4p+2 0x1p+3",
    # the singleton cell moved by 2**-42: SS > 0 = SS_error, F = inf exactly
    "infinite F": "0x0p+0 0x0p+0 0x1.8p+1 0x1.8p+1 0x1.4p+2 0x1.4p+2 0x1.0000000000080p+3",
}


@pytest.mark.parametrize("method", ["freedman_lane", "manly"])
@pytest.mark.parametrize("case", sorted(DEGENERATE))
def test_observed_sums_of_squares_below_rounding_are_decided_exactly(case, method):
    y = [float.fromhex(h) for h in DEGENERATE[case].split()]
    data = pd.DataFrame(
        {"A": ["a0"] * 4 + ["a1"] * 3, "B": ["b0", "b0", "b1", "b1", "b0", "b0", "b1"], "y": y}
    )
    oracle = exact_aovperm(data, "y", between=["A", "B"], method=method, enumeration="rows")
    res = permanova.aovperm(data, "y", between=["A", "B"], exact=True, method=method)
    for effect, exact in oracle.items():
        assert Fraction(res.table.loc[effect, "p_permutation"]).limit_denominator(5040) == exact.p
    f = res.table.loc["A:B", "F"]
    assert f == (np.inf if case == "infinite F" else pytest.approx(0.6))


def test_exact_zero_interaction_in_a_within_design():
    y = [
        float.fromhex(h)
        for h in (
            "-0x1.7p+4 -0x1.1000000000080p+5 -0x1.8p+3 -0x1.7p+4 -0x1p+4 "
            "-0x1.affffffffff00p+4 -0x1.4p+2 -0x1p+4"
        ).split()
    ]
    data = pd.DataFrame(
        {"s": ["s0"] * 4 + ["s1"] * 4, "a": ["a1", "a1", "a2", "a2"] * 2, "b": ["b1", "b2"] * 4}
    ).assign(y=y)
    res = permanova.aovperm(data, "y", subject="s", within=["a", "b"], exact=True)
    assert res.table.loc["a:b", "p_permutation"] == 1.0
    assert res.table.loc["a", "p_permutation"] * 630 == pytest.approx(73)
