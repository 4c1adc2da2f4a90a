"""Exact permutation p-values of ``permanova.aovperm`` against exact rational arithmetic.

The oracle (:mod:`tests.permanova.exact_oracle`) computes every F with
:class:`fractions.Fraction`, so that a permutation whose F equals the observed F in exact
arithmetic is a tie. ``exact=True`` must give the rational p exactly: ``p * N`` is the
integer count and ``Fraction(p).limit_denominator(N)`` the oracle's p. The data are
adversarial: large effects (ties from relabelling equal-sized groups or swapping whole
subjects), near-perfect fits, huge offsets. Monte-Carlo counts must not depend on
``batch_size`` or on the row order of ``data``.
"""

import functools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import AnovaRM, anova_lm

import permanova
from tests.permanova.exact_oracle import exact_aovperm

BETWEEN = ["freedman_lane", "manly"]
BATCH_SIZES = [None, 1, 7, 333]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _assert_exact(result, oracle, total):
    """``result`` (exact run over ``total`` permutations) gives the oracle's rational p."""
    assert result.exact
    assert result.n_resamples == total
    for effect, exact in oracle.items():
        p = float(result.table.loc[effect, "p_permutation"])
        count = p * total
        assert count == pytest.approx(round(count), abs=1e-6), (effect, p, total)
        got = Fraction(p).limit_denominator(total)
        assert got == exact.p, (
            f"{effect}: p = {got} ({p:.6g}), exact rational p = {exact.p} "
            f"({float(exact.p):.6g}); observed F = {float(exact.f):.17g}"
        )


def _count(result, effect):
    """Monte-Carlo or user-matrix count ``#{F_b >= F_obs}`` from ``p = (1 + c) / (1 + B)``."""
    p = float(result.table.loc[effect, "p_permutation"])
    count = p * (result.n_resamples + 1) - 1
    assert count == pytest.approx(round(count), abs=1e-6)
    return round(count)


def _shuffled(data, seed):
    order = np.random.default_rng(seed).permutation(len(data))
    return data.iloc[order].reset_index(drop=True), order


def _oneway(values_by_group):
    groups = [f"g{k}" for k, v in enumerate(values_by_group) for _ in v]
    return pd.DataFrame({"g": groups, "y": np.concatenate(values_by_group).astype(float)})


def _assignments(sizes):
    total = math.factorial(sum(sizes))
    for size in sizes:
        total //= math.factorial(size)
    return total


def _large_effects(seed):
    """Balanced one-way data whose group means differ by 100 to 1000 times the noise."""
    rng = np.random.default_rng(seed)
    n_groups, per_group = [(3, 2), (3, 3), (2, 4), (4, 2)][seed % 4]
    sigma = 10.0 ** rng.uniform(-3, 3)
    means = np.cumsum(rng.uniform(100, 1000, n_groups)) * sigma
    level = rng.normal() * 1000 * sigma
    y = level + np.repeat(rng.permutation(means), per_group)
    y = y + sigma * rng.standard_normal(y.size)
    return pd.DataFrame({"g": np.repeat([f"g{k}" for k in range(n_groups)], per_group), "y": y})


def _within_offsets(seed):
    """One-way within, 3 subjects x 2 sessions, subject offsets 100x the within noise."""
    rng = np.random.default_rng(seed)
    sigma = 10.0 ** rng.uniform(-3, 3)
    offsets = np.repeat(100 * sigma * rng.standard_normal(3), 2)
    y = offsets + np.tile([0.0, 5.0 * sigma], 3) + sigma * rng.standard_normal(6)
    subject = np.repeat(["s1", "s2", "s3"], 2)
    return pd.DataFrame({"s": subject, "t": np.tile(["t1", "t2"], 3), "y": y})


#: seeds of :func:`_within_offsets` whose tied permutations were lost to rounding noise
WITHIN_SEEDS = [6, 7, 9, 11, 15, 17, 18, 27]


def _mixed_issue():
    """The issue's mixed case: 4 subjects x 2 sessions, subjects 1-3 in group x, 4 in y."""
    return pd.DataFrame(
        {
            "s": np.repeat(["s1", "s2", "s3", "s4"], 2),
            "g": np.repeat(["x", "x", "x", "y"], 2),
            "t": np.tile(["t1", "t2"], 4),
            "y": [0, 0, 1, 0, 0, 1, -23.25, -17.9375],
        }
    )


def _two_way(seed, large):
    """2 x 2 between design with 2 observations per cell."""
    rng = np.random.default_rng(seed)
    a = np.repeat(["a1", "a2"], 4)
    b = np.tile(np.repeat(["b1", "b2"], 2), 2)
    cell = 2 * (a == "a2") + (b == "b2")
    shift = rng.uniform(100, 1000, 4) if large else rng.normal(size=4)
    y = shift[cell] + rng.standard_normal(8)
    return pd.DataFrame({"A": a, "B": b, "y": y})


def _random_permutations(n, size, seed):
    """``size`` distinct random permutations of ``n`` rows, identity excluded."""
    rng = np.random.default_rng(seed)
    rows = {tuple(rng.permutation(n)) for _ in range(2 * size)} - {tuple(range(n))}
    return np.array(sorted(rows)[:size])


# --------------------------------------------------------------------------------------------
# the oracle itself
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", BETWEEN)
def test_oracle_assignments_equal_row_permutations(method):
    rng = np.random.default_rng(0)
    for data in (
        _oneway([[0.0], [2.0], [0.0625, 0.0]]),
        _oneway([rng.normal(size=2), 50 + rng.normal(size=2), 50 + rng.normal(size=3)]),
    ):
        rows = exact_aovperm(data, "y", between="g", method=method, enumeration="rows")["g"]
        groups = exact_aovperm(data, "y", between="g", method=method, enumeration="assignments")
        sizes = data["g"].value_counts().to_numpy()
        assert rows.total == math.factorial(len(data))
        assert groups["g"].total == _assignments(sizes)
        assert rows.count == groups["g"].count * math.prod(math.factorial(s) for s in sizes)
        assert rows.p == groups["g"].p


def test_oracle_shared_work_changes_nothing():
    cases = [
        (_within_offsets(6), dict(within="t", subject="s"), None),
        (_mixed_issue(), MIXED, _random_permutations(8, 300, 3)),
        (_two_way(3, True), dict(between=["A", "B"]), _random_permutations(8, 300, 4)),
    ]
    for data, design, perms in cases:
        kw = dict(permutations_matrix=perms, **design)
        assert exact_aovperm(data, "y", reduce=True, **kw) == exact_aovperm(
            data, "y", reduce=False, **kw
        )


def test_oracle_matches_scipy_exact_permutation_test():
    rng = np.random.default_rng(1)
    samples = [rng.normal(size=3), rng.normal(size=3) + 0.5, rng.normal(size=2) + 1.0]
    data = _oneway(samples)

    def fstat(*s):
        return stats.f_oneway(*s).statistic

    ref = stats.permutation_test(samples, fstat, n_resamples=np.inf, alternative="greater")
    for method in BETWEEN:
        oracle = exact_aovperm(data, "y", between="g", method=method, enumeration="assignments")
        assert float(oracle["g"].p) == pytest.approx(ref.pvalue, rel=1e-12)
        assert float(oracle["g"].f) == pytest.approx(fstat(*samples), rel=1e-12)


def test_oracle_edge_conventions():
    # perfect fit: SS_error = 0 < SS gives F = inf; permutations with SS = 0 give F = 0
    data = _oneway([[1.0, 1.0], [3.0, 3.0]])
    effect = exact_aovperm(data, "y", between="g", enumeration="assignments")["g"]
    assert effect.f == math.inf and effect.ss_error == 0
    assert effect.p == Fraction(2, 6)  # the two perfect splits
    constant = _oneway([[2.0, 2.0], [2.0, 2.0]])
    effect = exact_aovperm(constant, "y", between="g", enumeration="assignments")["g"]
    assert effect.f == 0 and effect.p == 1


def _between_reference(data, factors):
    formula = "y ~ " + " * ".join(f"C({f}, Sum)" for f in factors)
    table = anova_lm(smf.ols(formula, data=data).fit(), typ=3)
    names = {f"C({f}, Sum)": f for f in factors}
    out = {}
    for index, row in table.iterrows():
        parts = index.split(":")
        if all(part in names for part in parts):
            out[":".join(names[part] for part in parts)] = row["F"]
    return out


def test_oracle_table_between_matches_statsmodels_and_permanova():
    rng = np.random.default_rng(2)
    cells = [("a1", "b1")] * 3 + [("a1", "b2")] * 2 + [("a2", "b1")] * 2 + [("a2", "b2")] * 4
    data = pd.DataFrame(cells, columns=["A", "B"])
    data["y"] = rng.normal(size=len(data)) + (data["A"] == "a2") * 1.5
    reference = _between_reference(data, ["A", "B"])
    table = permanova.aovperm(data, "y", between=["A", "B"], n_resamples=9).table
    for method in BETWEEN:
        oracle = exact_aovperm(
            data, "y", between=["A", "B"], method=method, enumeration="identity"
        )
        assert set(oracle) == set(reference)
        for effect, exact in oracle.items():
            np.testing.assert_allclose(float(exact.f), reference[effect], rtol=1e-9)
            np.testing.assert_allclose(float(exact.f), table.loc[effect, "F"], rtol=1e-9)
            assert exact.df_error == table.loc[effect, "df_error"] == len(data) - 4


def _within_frame(seed, n_subjects, within_levels, groups=None):
    rng = np.random.default_rng(seed)
    cells = np.array(list(np.ndindex(*within_levels)))
    rows = []
    for s in range(n_subjects):
        for cell in cells:
            row = {"s": f"s{s}", **{f"w{k}": f"l{c}" for k, c in enumerate(cell)}}
            if groups is not None:
                row["g"] = groups[s]
            rows.append(row)
    data = pd.DataFrame(rows)
    offset = rng.normal(size=n_subjects)[np.repeat(np.arange(n_subjects), len(cells))]
    data["y"] = offset + 0.4 * (data["w0"] == "l1") + rng.normal(size=len(data))
    return data


def _oracle_f(data, **design):
    oracle = exact_aovperm(data, "y", enumeration="identity", **design)
    return {k: (float(v.f), v.df, v.df_error) for k, v in oracle.items()}


def _check_against_permanova(data, oracle, **design):
    table = permanova.aovperm(data, "y", n_resamples=9, **design).table
    for effect, (f, df, df_error) in oracle.items():
        np.testing.assert_allclose(f, table.loc[effect, "F"], rtol=1e-9, err_msg=effect)
        assert (df, df_error) == (table.loc[effect, "df"], table.loc[effect, "df_error"])


def test_oracle_table_oneway_within_matches_pingouin():
    data = _within_frame(3, 4, (3,))
    design = dict(within="w0", subject="s")
    oracle = _oracle_f(data, **design)
    ref = pg.rm_anova(data, dv="y", within="w0", subject="s", correction=False)
    np.testing.assert_allclose(oracle["w0"][0], ref["F"].iloc[0], rtol=1e-9)
    assert oracle["w0"][1:] == (2, 6)
    _check_against_permanova(data, oracle, **design)


def test_oracle_table_twoway_within_matches_anovarm():
    data = _within_frame(4, 4, (2, 3))
    design = dict(within=["w0", "w1"], subject="s")
    oracle = _oracle_f(data, **design)
    ref = AnovaRM(data, "y", "s", within=["w0", "w1"]).fit().anova_table
    for effect, (f, df, df_error) in oracle.items():
        np.testing.assert_allclose(f, ref.loc[effect, "F Value"], rtol=1e-9, err_msg=effect)
        assert (df, df_error) == (ref.loc[effect, "Num DF"], ref.loc[effect, "Den DF"])
    _check_against_permanova(data, oracle, **design)


def test_oracle_table_mixed_matches_pingouin():
    data = _within_frame(5, 6, (3,), groups=["x", "x", "x", "y", "y", "y"])
    design = dict(between="g", within="w0", subject="s")
    oracle = _oracle_f(data, **design)
    ref = pg.mixed_anova(data, dv="y", within="w0", between="g", subject="s").set_index("Source")
    for effect, source in {"g": "g", "w0": "w0", "g:w0": "Interaction"}.items():
        np.testing.assert_allclose(oracle[effect][0], ref.loc[source, "F"], rtol=1e-9)
        assert oracle[effect][1:] == (ref.loc[source, "DF1"], ref.loc[source, "DF2"])
    _check_against_permanova(data, oracle, **design)


def test_oracle_table_unbalanced_mixed_two_within_matches_permanova():
    data = _within_frame(6, 5, (2, 2), groups=["x", "x", "y", "y", "y"])
    design = dict(between="g", within=["w0", "w1"], subject="s")
    oracle = _oracle_f(data, **design)
    assert oracle["g"][2] == 3 and oracle["w0:w1"][2] == 3
    _check_against_permanova(data, oracle, **design)


# --------------------------------------------------------------------------------------------
# exact ties
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", BETWEEN)
def test_oneway_unequal_groups_tie(method):
    data = _oneway([[0.0], [2.0], [0.0625, 0.0]])
    oracle = exact_aovperm(data, "y", between="g", method=method)
    assert oracle["g"].p == Fraction(6, 12)
    res = permanova.aovperm(data, "y", between="g", method=method, exact=True)
    _assert_exact(res, oracle, 12)


@pytest.mark.parametrize("method", BETWEEN)
@pytest.mark.parametrize("seed", range(40))
def test_balanced_large_effects(seed, method):
    data = _large_effects(seed)
    oracle = exact_aovperm(data, "y", between="g", method=method, enumeration="assignments")
    sizes = data["g"].value_counts().to_numpy()
    # only the relabellings of the equal-sized groups are as extreme as the observed split
    assert oracle["g"].count == math.factorial(len(sizes))
    res = permanova.aovperm(data, "y", between="g", method=method, exact=True)
    _assert_exact(res, oracle, _assignments(sizes))


@pytest.mark.parametrize("seed", WITHIN_SEEDS)
def test_within_subject_offsets_oracle(seed):
    oracle = exact_aovperm(_within_offsets(seed), "y", within="t", subject="s")
    # subjects relabelled (3!) times both sessions swapped (2): 12 of 720
    assert oracle["t"].p == Fraction(1, 60)


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
@pytest.mark.parametrize("seed", WITHIN_SEEDS)
def test_within_subject_offsets(seed, batch_size):
    data = _within_offsets(seed)
    oracle = exact_aovperm(data, "y", within="t", subject="s")
    for shuffle in (None, 0, 1):
        frame = data if shuffle is None else _shuffled(data, shuffle)[0]
        res = permanova.aovperm(
            frame, "y", within="t", subject="s", exact=True, batch_size=batch_size
        )
        _assert_exact(res, oracle, 720)


MIXED = dict(between="g", within="t", subject="s")


@functools.cache
def _mixed_issue_oracle():
    return exact_aovperm(_mixed_issue(), "y", **MIXED)


@pytest.mark.parametrize("groups", [("x", "x", "y", "y"), ("x", "x", "x", "y")])
def test_mixed_ordinary_exact(groups):
    # on ordinary data there are no ties to lose: a check of the oracle's definitions
    data = _mixed_issue().assign(g=np.repeat(groups, 2), y=np.random.default_rng(0).normal(size=8))
    oracle = exact_aovperm(data, "y", **MIXED)
    res = permanova.aovperm(data, "y", exact=True, **MIXED)
    _assert_exact(res, oracle, 40320)


def test_mixed_issue_case_exact():
    res = permanova.aovperm(_mixed_issue(), "y", exact=True, **MIXED)
    _assert_exact(res, _mixed_issue_oracle(), 40320)


def test_mixed_issue_case_user_matrix():
    data = _mixed_issue()
    perms = _random_permutations(8, 2000, 15)
    oracle = exact_aovperm(data, "y", permutations_matrix=perms, **MIXED)
    res = permanova.aovperm(data, "y", permutations=perms, **MIXED)
    for effect, exact in oracle.items():
        assert _count(res, effect) == exact.count, effect


@pytest.mark.parametrize("batch_size", [1, 333])
def test_mixed_issue_case_monte_carlo_batch_independent(batch_size):
    data = _mixed_issue()
    kw = dict(n_resamples=2000, random_state=11, **MIXED)
    default = permanova.aovperm(data, "y", **kw).table["p_permutation"]
    batched = permanova.aovperm(data, "y", batch_size=batch_size, **kw).table["p_permutation"]
    pd.testing.assert_series_equal(default, batched)


@pytest.mark.parametrize("target", [1e5, 1e6, 1e7, 1e8, 1e9])
@pytest.mark.parametrize("method", BETWEEN)
def test_near_perfect_fit(target, method):
    rng = np.random.default_rng(int(math.log10(target)))
    means = np.repeat([0.0, 1.0, 2.5], 3)
    noise = rng.standard_normal(9)
    data = _oneway([means[:3], means[3:6], means[6:]])
    f_unit = exact_aovperm(data.assign(y=means + noise), "y", between="g", enumeration="identity")
    scale = math.sqrt(float(f_unit["g"].f) / target)
    data["y"] = means + scale * noise
    oracle = exact_aovperm(data, "y", between="g", method=method, enumeration="assignments")
    assert target / 10 < float(oracle["g"].f) < target * 10
    res = permanova.aovperm(data, "y", between="g", method=method, exact=True)
    np.testing.assert_allclose(res.table.loc["g", "F"], float(oracle["g"].f), rtol=1e-9)
    _assert_exact(res, oracle, 1680)


def _dyadic(values):
    """Values on the grid 2**-10: adding 1e8 or 2**40 to them is exact in float64."""
    return np.round(np.asarray(values) * 1024) / 1024


def _offset_case(case):
    """(data on the grid 2**-10, design, number of permutations) of the offset tests."""
    if case == "mixed":
        return _mixed_issue(), MIXED, 40320
    if case == "oneway":
        data, design, total = _large_effects(1), dict(between="g"), 1680
    else:
        data, design, total = _within_offsets(6), dict(within="t", subject="s"), 720
    return data.assign(y=_dyadic(100 * data["y"] / data["y"].std())), design, total


@pytest.mark.parametrize("offset", [1e8, 2.0**40])
@pytest.mark.parametrize("case", ["oneway", "within", "mixed"])
def test_huge_offsets(case, offset):
    data, design, total = _offset_case(case)
    shifted = data.assign(y=data["y"] + offset)
    assert np.array_equal(shifted["y"] - offset, data["y"])  # the shift is exact
    # the offset lies in the intercept, so the exact p of the shifted data is that of y
    if case == "mixed":
        oracle = _mixed_issue_oracle()
    else:
        enumeration = "assignments" if case == "oneway" else "rows"
        oracle = exact_aovperm(data, "y", enumeration=enumeration, **design)
    res = permanova.aovperm(shifted, "y", exact=True, **design)
    _assert_exact(res, oracle, total)


@pytest.mark.parametrize("method", BETWEEN)
@pytest.mark.parametrize("large", [False, True])
def test_two_way_between_exact(large, method):
    data = _two_way(7, large)
    oracle = exact_aovperm(data, "y", between=["A", "B"], method=method)
    res = permanova.aovperm(data, "y", between=["A", "B"], method=method, exact=True)
    _assert_exact(res, oracle, 40320)


@pytest.mark.parametrize("method", BETWEEN)
@pytest.mark.parametrize("large", [False, True])
def test_two_way_between_user_matrix(large, method):
    data = _two_way(8, large)
    perms = _random_permutations(8, 2000, 9)
    design = dict(between=["A", "B"], method=method)
    oracle = exact_aovperm(data, "y", permutations_matrix=perms, **design)
    res = permanova.aovperm(data, "y", permutations=perms, **design)
    assert res.n_resamples == 2000 and not res.exact
    for effect, exact in oracle.items():
        assert _count(res, effect) == exact.count, effect
    # the same permutations written for the rows of a shuffled frame give the same counts
    shuffled, order = _shuffled(data, 10)
    position = np.argsort(order)  # new position of each original row
    mapped = position[perms[:, order]]
    res = permanova.aovperm(shuffled, "y", permutations=mapped, **design)
    for effect, exact in oracle.items():
        assert _count(res, effect) == exact.count, effect


#: Near ties: permutations whose F differs from the observed F by a relative 1e-16 to 3e-12
#: in exact arithmetic, so they are *not* ties (found by a random sweep of designs with
#: large effects, values on a grid and offsets). (layout, between groups, y as float.hex)
NEAR_TIES = {
    "mixed": (
        "mixed",
        ("x", "x", "y", "y"),
        "0x1.c907380dac48dp+13 0x1.e597ab8e870d6p+15 -0x1.3a34f68966721p+15 "
        "0x1.56c56a0a4136ap+15 -0x1.c907380dac48dp+15 0x1.c907380dac48dp+15 "
        "-0x1.ac76c48cd1844p+15 0x1.01140f87b0e8fp+15",
    ),
    "within2-a": (
        "within2",
        None,
        "-0x1.99873e6e14eb8p+10 0x1.b0a0d9cf9dfd4p+10 -0x1.9a4b0f04cedcep+10 "
        "0x1.b01e4ec0775c6p+10 -0x1.9a16d76525cfcp+10 0x1.b0ce8a7b51e8dp+10 "
        "-0x1.9a85cd986d0bap+10 0x1.afcffb50f9c8bp+10",
    ),
    "within2-b": (
        "within2",
        None,
        "0x1.0c60d8ffbe196p+7 0x1.0c4c7242ca27ap+7 0x1.0c0f3e0bee525p+7 "
        "0x1.0c82d98fff570p+7 0x1.31c7de144eac1p+7 0x1.31f0ab8e368fap+7 "
        "0x1.3205124b2a816p+7 0x1.3278adcf3b860p+7",
    ),
    "within2-c": (
        "within2",
        None,
        "0x1.ffc66021e6fdbp+10 0x1.efa46b491401ap+13 0x1.8e5b87c0f4eafp+10 "
        "0x1.e0a975a45017ap+13 0x1.012500a6d563fp+11 0x1.ef9b7ad32310ap+13 "
        "0x1.90089dde221c6p+10 0x1.e0c4470622eabp+13",
    ),
    "oneway": (
        "oneway",
        None,
        "0x1.1b102a0e5eba6p-2 0x1.1a5b57c9062d6p-2 0x1.1b34541c3d3d0p-2 "
        "0x1.1ae2f57d08972p-2 0x1.1aa3abe4c3329p-2 0x1.1ac7d5f2a1b53p-2 "
        "0x1.1ad9eaf990f68p-2 0x1.1aa3abe4c3329p-2",
    ),
    "within": (
        "within",
        None,
        "0x1.869bad064ab59p-1 0x1.875cdcddb188bp-1 0x1.6c87fef2f7c54p-1 "
        "0x1.6c67cc4f114ccp-1 0x1.1904a5d52f2e8p-1 0x1.1924d87915a71p-1 "
        "0x1.34db18df1cb62p-1 0x1.353bb0cad01fap-1",
    ),
}


def _near_tie_case(name):
    """(data, design, enumeration of the oracle, number of permutations) of a near tie."""
    layout, groups, values = NEAR_TIES[name]
    y = [float.fromhex(v) for v in values.split()]
    if layout == "oneway":
        return pd.DataFrame({"g": np.repeat(["g0", "g1", "g2", "g3"], 2), "y": y}), (
            dict(between="g"),
            "assignments",
            2520,
        )
    if layout == "mixed":
        return _mixed_issue().assign(g=np.repeat(groups, 2), y=y), (MIXED, "rows", 40320)
    if layout == "within":
        frame = pd.DataFrame({"s": np.repeat(["s0", "s1", "s2", "s3"], 2), "t": ["t0", "t1"] * 4})
        return frame.assign(y=y), (dict(within="t", subject="s"), "rows", 40320)
    frame = pd.DataFrame(
        {"s": np.repeat(["s0", "s1"], 4), "a": ["a1", "a1", "a2", "a2"] * 2, "b": ["b1", "b2"] * 4}
    )
    return frame.assign(y=y), (dict(within=["a", "b"], subject="s"), "rows", 40320)


@pytest.mark.parametrize("name", sorted(NEAR_TIES))
def test_near_ties_are_not_ties(name):
    data, (design, enumeration, total) = _near_tie_case(name)
    oracle = exact_aovperm(data, "y", enumeration=enumeration, **design)
    res = permanova.aovperm(data, "y", exact=True, **design)
    _assert_exact(res, oracle, total)


# --------------------------------------------------------------------------------------------
# Monte-Carlo counts: independent of batch size and row order
# --------------------------------------------------------------------------------------------
def _ordinary_designs():
    rng = np.random.default_rng(12)
    oneway = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 4)})
    oneway["y"] = rng.normal(size=12) + (oneway["g"] == "c") * 0.8
    twoway = _two_way(13, False)
    mixed = _within_frame(14, 6, (2,), groups=["x", "x", "x", "y", "y", "y"])
    return {
        "oneway": (oneway, dict(between="g")),
        "twoway": (twoway, dict(between=["A", "B"])),
        "mixed": (mixed, dict(between="g", within="w0", subject="s")),
    }


@pytest.mark.parametrize("case", ["oneway", "twoway", "mixed"])
def test_monte_carlo_counts_batch_size_and_row_order_independent(case):
    data, design = _ordinary_designs()[case]
    kw = dict(n_resamples=999, random_state=21, **design)
    reference = permanova.aovperm(data, "y", **kw)
    counts = {e: _count(reference, e) for e in reference.table.index}
    for batch_size in (1, 333):
        res = permanova.aovperm(data, "y", batch_size=batch_size, **kw)
        assert {e: _count(res, e) for e in res.table.index} == counts, batch_size
    for seed in (0, 1):
        shuffled, _ = _shuffled(data, seed)
        res = permanova.aovperm(shuffled, "y", **kw)
        assert {e: _count(res, e) for e in res.table.index} == counts, f"shuffle {seed}"
