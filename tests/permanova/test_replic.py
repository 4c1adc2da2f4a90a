"""rd_replic_kheradpajouh_renaud on replicated observations (permanova._replic).

The oracle is a plain per-permutation loop written from permuco 1.1.3's
``fisher_Rd_replic_kheradPajouh_renaud_rnd`` and ``effect_anova_rnd`` (least-squares fits
of the model matrices as R builds them: sum-coded subjects, their row-wise Kronecker
product with the model columns, the duplicated rows of the subject-by-cell model dropped).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import permanova
from permanova import _engine, _permutations, _screens
from permanova._design import Outcome, build_design
from permanova._replic import (
    ReplicKernel,
    ReplicScreen,
    replic_kernels,
    replic_sphericity,
    replic_strata_error,
    replic_table,
)

RTOL = 1e-9


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def replicated(between_sizes, within_levels, counts, seed, offset=0.0):
    """Long data: ``between_sizes`` subjects per level of ``type`` (None: within only),
    ``within_levels`` {factor: levels}, ``counts`` replicates per subject-cell (an int, or
    "unbalanced": 1 to 3 at random)."""
    rng = np.random.default_rng(seed)
    sizes = between_sizes or [6]
    rows = []
    subject = 0
    cells = list(itertools.product(*(range(k) for k in within_levels.values())))
    for group, size in enumerate(sizes):
        for _ in range(size):
            for cell in cells:
                r = counts if isinstance(counts, int) else int(rng.integers(1, 4))
                rows.extend([(subject, group, *cell)] * r)
            subject += 1
    frame = pd.DataFrame(rows, columns=["subject", "type", *within_levels])
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # rows mixed
    effects = sum(frame[f] * (k + 1) * 0.4 for k, f in enumerate(within_levels))
    noise = rng.normal(size=len(frame)) + rng.normal(size=subject)[frame["subject"]]
    frame["y"] = offset + effects + 0.3 * frame["type"] + noise
    if between_sizes is None:
        frame = frame.drop(columns="type")
    return frame


def design_of(frame, within):
    between = ["type"] if "type" in frame else []
    factors = between + list(within)
    codes = {f: frame[f].to_numpy() for f in factors}
    n_levels = {f: int(frame[f].max()) + 1 for f in factors}
    subjects = frame["subject"].to_numpy()
    design = build_design(codes, n_levels, between, list(within), subjects)
    cells = np.zeros(len(frame), dtype=int)
    for f in within:
        cells = cells * n_levels[f] + codes[f]
    return design, cells


def kernels_of(frame, within):
    design, cells = design_of(frame, within)
    outcome = Outcome.of("y", frame["y"].to_numpy())
    return design, cells, outcome, replic_kernels(design, cells, outcome)


DESIGNS = {
    "mixed balanced": ([4, 5], {"cond": 3}, 2),
    "mixed unbalanced": ([4, 5], {"cond": 3}, "unbalanced"),
    "within balanced": (None, {"cond": 3, "time": 2}, 3),
    "within unbalanced": (None, {"cond": 3, "time": 2}, "unbalanced"),
    "mixed two within unbalanced": ([3, 4], {"cond": 2, "time": 3}, "unbalanced"),
}


# --------------------------------------------------------------------------------------------
# the oracle, from permuco's R code
# --------------------------------------------------------------------------------------------
def fitted(a, y):
    return a @ np.linalg.lstsq(a, y, rcond=None)[0]


def resid(a, y):
    return y - fitted(a, y)


def rank(a):
    return np.linalg.matrix_rank(a, tol=1e-7 * max(1.0, np.abs(a).max()))


def khatrirao(a, b):
    return np.einsum("ni,nj->nij", a, b).reshape(a.shape[0], -1)


def contr_sum(codes):
    levels = int(codes.max()) + 1
    out = np.zeros((codes.shape[0], levels - 1))
    for j in range(levels - 1):
        out[codes == j, j] = 1.0
    out[codes == levels - 1] = -1.0
    return out


def within_part(design, j):
    return design.within_part(j)


def permuco_replic(design, y, i, perms):
    """``fisher_Rd_replic_kheradPajouh_renaud_rnd``: (num, den) per permutation, each a
    sum of squares over its rank, and the two ranks."""
    mm, assign = design.X, design.assign
    zid = contr_sum(design.subjects)
    effects = range(1, len(design.effects) + 1)
    gr_effects = {0} | {within_part(design, j) or j for j in effects}
    mm_gr_fixed = mm[:, np.isin(assign, list(gr_effects))]
    mm_gr = np.hstack([mm_gr_fixed, khatrirao(zid, mm_gr_fixed)])
    keep = ~pd.DataFrame(mm_gr).duplicated().to_numpy()
    sel_x, sel_w = assign == i, assign == within_part(design, i)
    pry = resid(mm[:, ~sel_x], y)[perms].T  # columns: permutations
    fpry = fitted(mm_gr, pry)[keep]
    d_dup = mm[keep][:, ~sel_x]
    rdx_dup = resid(d_dup, mm[keep][:, sel_x])
    z_dup = resid(mm[keep], khatrirao(zid[keep], mm[keep][:, sel_w]))
    rdz_dup = resid(d_dup, z_dup)
    rx, rz = rank(rdx_dup), rank(rdz_dup)
    num = (fitted(rdx_dup, fpry) ** 2).sum(axis=0) / rx
    den = (fitted(rdz_dup, fpry) ** 2).sum(axis=0) / rz
    return num, den, rx, rz


def permuco_table(design, y, i):
    """``effect_anova_rnd`` on the full data: SSn, dfn, SSd, dfd."""
    mm, assign = design.X, design.assign
    sel_x, sel_w = assign == i, assign == within_part(design, i)
    z = resid(mm, khatrirao(contr_sum(design.subjects), mm[:, sel_w]))
    d = mm[:, ~sel_x]
    rdx, rdz = resid(d, mm[:, sel_x]), resid(d, z)
    return (fitted(rdx, y) ** 2).sum(), rank(rdx), (fitted(rdz, y) ** 2).sum(), rank(rdz)


def random_perms(n, b, seed):
    rng = np.random.default_rng(seed)
    return np.vstack([np.arange(n), np.array([rng.permutation(n) for _ in range(b)])])


# --------------------------------------------------------------------------------------------
# kernels and table against the oracle
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(DESIGNS))
def test_kernels_match_permuco_loop(name):
    sizes, within, counts = DESIGNS[name]
    frame = replicated(sizes, within, counts, seed=len(name))
    design, _, outcome, kernels = kernels_of(frame, within)
    perms = random_perms(design.n, 25, seed=3)  # the identity first
    y = frame["y"].to_numpy()
    unit = 4.0**outcome.exponent
    assert len(kernels) == len(design.effects)
    for i, kernel in enumerate(kernels, start=1):
        num, den = kernel.sums(perms)
        ref_num, ref_den, rx, rz = permuco_replic(design, y, i, perms)
        assert (kernel.ratio.df_num, kernel.ratio.df_den) == (rx, rz)
        np.testing.assert_allclose(num * unit / rx, ref_num, rtol=RTOL)
        np.testing.assert_allclose(den * unit / rz, ref_den, rtol=RTOL)
        np.testing.assert_allclose(kernel.statistics(perms), ref_num / ref_den, rtol=RTOL)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_table_matches_permuco_effect_anova(name):
    sizes, within, counts = DESIGNS[name]
    frame = replicated(sizes, within, counts, seed=len(name) + 1)
    design, cells, outcome, _ = kernels_of(frame, within)
    table = replic_table(design, cells, outcome)
    unit = 4.0**outcome.exponent
    for i in range(1, len(design.effects) + 1):
        ssn, dfn, ssd, dfd = permuco_table(design, frame["y"].to_numpy(), i)
        assert (table["df"][i - 1], table["df_error"][i - 1]) == (dfn, dfd)
        np.testing.assert_allclose(table["SS"][i - 1] * unit, ssn, rtol=RTOL)
        np.testing.assert_allclose(table["SS_error"][i - 1] * unit, ssd, rtol=RTOL)
        f = (ssn / dfn) / (ssd / dfd)
        np.testing.assert_allclose(table["F"][i - 1], f, rtol=RTOL)
        np.testing.assert_allclose(
            table["p_parametric"][i - 1], stats.f.sf(f, dfn, dfd), rtol=1e-7
        )


@pytest.mark.parametrize("name", ["mixed unbalanced", "within unbalanced"])
def test_strata_error_matches_permuco_strata(name):
    sizes, within, counts = DESIGNS[name]
    frame = replicated(sizes, within, counts, seed=len(name) + 2)
    design, cells, outcome, _ = kernels_of(frame, within)
    y, mm = frame["y"].to_numpy(), design.X
    parts = {0} | {design.within_part(i) for i in range(1, len(design.effects) + 1)}
    expected = 0.0
    for part in parts:  # effect_anova_rnd's error term of each stratum
        z = resid(mm, khatrirao(contr_sum(design.subjects), mm[:, design.assign == part]))
        expected += (fitted(z, y) ** 2).sum()
    got = replic_strata_error(design, cells, outcome) * 4.0**outcome.exponent
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_balanced_replicates_table_f_is_the_identity_statistic():
    frame = replicated([4, 5], {"cond": 3}, 3, seed=8)
    design, cells, outcome, kernels = kernels_of(frame, ["cond"])
    table = replic_table(design, cells, outcome)
    identity = np.arange(design.n)[None]
    for i, kernel in enumerate(kernels):
        np.testing.assert_allclose(kernel.statistics(identity)[0], table["F"][i], rtol=RTOL)


def test_unbalanced_replicates_table_f_differs_from_the_identity_statistic():
    # permuco prints the full-data F but compares its distribution with the F of the means
    frame = replicated([4, 5], {"cond": 3}, "unbalanced", seed=9)
    design, cells, outcome, kernels = kernels_of(frame, ["cond"])
    table = replic_table(design, cells, outcome)
    identity = np.arange(design.n)[None]
    got = [k.statistics(identity)[0] for k in kernels]
    assert not np.allclose(got, table["F"], rtol=1e-6)


# --------------------------------------------------------------------------------------------
# against pingouin on the subject-cell means (balanced replicates)
# --------------------------------------------------------------------------------------------
def means_of(frame, within):
    keys = ["subject", *(["type"] if "type" in frame else []), *within]
    return frame.groupby(keys, as_index=False)["y"].mean()


def test_balanced_mixed_table_matches_pingouin_on_the_means():
    r = 2
    frame = replicated([5, 5], {"cond": 3}, r, seed=11)
    design, cells, outcome, _ = kernels_of(frame, ["cond"])
    table = replic_table(design, cells, outcome)
    aov = pg.mixed_anova(
        means_of(frame, ["cond"]), dv="y", within="cond", between="type", subject="subject"
    ).set_index("Source")
    unit = 4.0**outcome.exponent
    for i, name in enumerate(["type", "cond", "Interaction"]):
        row = aov.loc[name]
        np.testing.assert_allclose(table["F"][i], row["F"], rtol=1e-8)
        np.testing.assert_allclose(table["p_parametric"][i], row["p_unc"], rtol=1e-7)
        np.testing.assert_allclose(table["SS"][i] * unit, r * row["SS"], rtol=1e-8)
        assert (table["df"][i], table["df_error"][i]) == (row["DF1"], row["DF2"])


def test_balanced_within_table_matches_pingouin_on_the_means():
    r = 3
    frame = replicated(None, {"cond": 3, "time": 2}, r, seed=12)
    design, cells, outcome, _ = kernels_of(frame, ["cond", "time"])
    table = replic_table(design, cells, outcome)
    aov = pg.rm_anova(
        means_of(frame, ["cond", "time"]),
        dv="y",
        within=["cond", "time"],
        subject="subject",
        correction=False,
        detailed=True,
    ).set_index("Source")
    unit = 4.0**outcome.exponent
    for i, name in enumerate(["cond", "time", "cond * time"]):
        row = aov.loc[name]
        np.testing.assert_allclose(table["F"][i], row["F"], rtol=1e-8)
        np.testing.assert_allclose(table["p_parametric"][i], row["p_unc"], rtol=1e-7)
        np.testing.assert_allclose(table["SS"][i] * unit, r * row["SS"], rtol=1e-8)
        assert (table["df"][i], table["df_error"][i]) == (row["ddof1"], row["ddof2"])


# --------------------------------------------------------------------------------------------
# one observation per cell: the method is Rd
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "within"), [([4, 5], {"cond": 3}), (None, {"cond": 3, "time": 2})]
)
def test_one_observation_per_cell_is_rd(sizes, within):
    frame = replicated(sizes, within, 1, seed=13)
    design, _, _, kernels = kernels_of(frame, list(within))
    perms = random_perms(design.n, 40, seed=4)[1:]
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        between="type" if sizes else None,
        within=list(within),
        method="rd_kheradpajouh_renaud",
        permutations=perms,
        return_null=True,
    )
    null = res.null_frame()
    assert null.shape[0] in (perms.shape[0], perms.shape[0] + 1)
    rows = perms if null.shape[0] == perms.shape[0] else np.vstack([np.arange(design.n), perms])
    for name, kernel in zip(design.effects, kernels, strict=True):
        np.testing.assert_allclose(kernel.statistics(rows), null[name].to_numpy(), rtol=RTOL)


def test_screen_of_several_outcomes_matches_their_kernels():
    frame = replicated([4, 5], {"cond": 3}, "unbalanced", seed=23)
    design, cells = design_of(frame, ["cond"])
    rng = np.random.default_rng(0)
    outcomes = [
        Outcome.of(f"y{k}", frame["y"].to_numpy() * (k + 1) + rng.normal(size=design.n))
        for k in range(3)
    ]
    kernels = [replic_kernels(design, cells, o) for o in outcomes]
    perms = random_perms(design.n, 15, seed=7)
    for j in range(len(design.effects)):
        f, rel = ReplicScreen.of([ks[j] for ks in kernels]).statistics(perms)
        assert f.shape == rel.shape == (perms.shape[0], 3)
        for k, ks in enumerate(kernels):
            np.testing.assert_allclose(f[:, k], ks[j].statistics(perms), rtol=RTOL)
        assert np.all(rel < 1e-8)


@pytest.mark.parametrize("n_outcomes", [1, 2])
def test_engine_counts_give_permucos_p(n_outcomes, monkeypatch):
    # permuco: p = mean(F_b >= F_1) over its distribution, whose first column (b = 1) is
    # the identity; the engine counts the permutations without the identity, plus one
    monkeypatch.setitem(_screens._SCREENS, ReplicKernel, ReplicScreen)
    frame = replicated([4, 5], {"cond": 3}, "unbalanced", seed=24)
    design, cells = design_of(frame, ["cond"])
    ys = [frame["y"].to_numpy(), frame["y"].to_numpy() ** 2]
    outcomes = [Outcome.of(f"y{k}", ys[k]) for k in range(n_outcomes)]
    kernels = [replic_kernels(design, cells, o) for o in outcomes]
    perms = random_perms(design.n, 199, seed=8)[1:]
    source = _permutations.source(
        {"obs": design.n},
        group_codes=None,
        kind="vector",
        permutations={"obs": perms},
        exact=False,
        n_resamples=perms.shape[0],
        rng=np.random.default_rng(0),
    )
    observed = _engine.observed_statistics(kernels)
    task = _engine.evaluation(
        kernels,
        observed,
        alternative="greater",
        return_null=False,
        identity=source.identity,
        total=source.total,
    )
    counts = _engine.run(task, source.blocks, source.total).counts
    everything = np.vstack([np.arange(design.n), perms])
    for k, y in enumerate(ys[:n_outcomes]):
        for i in range(1, len(design.effects) + 1):
            num, den, _, _ = permuco_replic(design, y, i, everything)
            distribution = np.round(num / den, 10)
            expected = np.mean(distribution >= distribution[0])
            assert (counts[k, i - 1] + 1) / (perms.shape[0] + 1) == expected


@pytest.mark.parametrize("counts", [2, "unbalanced"])
def test_sphericity_is_that_of_the_subject_cell_means(counts):
    frame = replicated([4, 5], {"cond": 3, "time": 2}, counts, seed=25)
    design, cells, outcome, _ = kernels_of(frame, ["cond", "time"])
    tests = replic_sphericity(design, cells, outcome)
    means = means_of(frame, ["cond", "time"])
    res = permanova.aovperm(
        means, "y", subject="subject", between="type", within=["cond", "time"], n_resamples=9
    )
    expected = res.sphericity
    assert sorted(design.effects[i - 1] for i in tests) == sorted(expected.index)
    for i, test in tests.items():
        row = expected.loc[design.effects[i - 1]]
        for name in ("W", "p_mauchly", "epsilon_gg", "epsilon_hf"):
            np.testing.assert_allclose(getattr(test, name), row[name], rtol=1e-9)
        assert (test.d, test.error_df) == (row["d"], row["error_df"])


def test_sphericity_matches_pingouin_on_the_means():
    frame = replicated(None, {"cond": 4}, "unbalanced", seed=26)
    design, cells, outcome, _ = kernels_of(frame, ["cond"])
    (test,) = replic_sphericity(design, cells, outcome).values()
    means = means_of(frame, ["cond"])
    spher = pg.sphericity(means, dv="y", within="cond", subject="subject")
    np.testing.assert_allclose(test.W, spher.W, rtol=1e-9)
    np.testing.assert_allclose(test.p_mauchly, spher.pval, rtol=1e-7)
    gg = pg.epsilon(means, dv="y", within="cond", subject="subject", correction="gg")
    np.testing.assert_allclose(test.epsilon_gg, gg, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# invariances
# --------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), shuffle_seed=st.integers(0, 2**16))
def test_row_order_invariance(seed, shuffle_seed):
    frame = replicated([3, 4], {"cond": 3}, "unbalanced", seed=seed)
    design, cells, outcome, kernels = kernels_of(frame, ["cond"])
    shuffle = np.random.default_rng(shuffle_seed).permutation(len(frame))
    moved = frame.iloc[shuffle].reset_index(drop=True)
    design2, cells2, outcome2, kernels2 = kernels_of(moved, ["cond"])
    perms = random_perms(design.n, 10, seed=seed)
    inverse = np.argsort(shuffle)
    moved_perms = inverse[perms[:, shuffle]]  # the same permutation of the moved rows
    for a, b in zip(kernels, kernels2, strict=True):
        np.testing.assert_allclose(a.statistics(perms), b.statistics(moved_perms), rtol=RTOL)
    t1, t2 = replic_table(design, cells, outcome), replic_table(design2, cells2, outcome2)
    for key in ("SS", "SS_error", "F", "p_parametric"):
        np.testing.assert_allclose(t1[key], t2[key], rtol=RTOL)


def test_huge_offset_invariance():
    frame = replicated([4, 5], {"cond": 3}, "unbalanced", seed=14, offset=1e9)
    shifted = frame.assign(y=frame["y"] - 1e9)  # exact: both within a factor 2 of 1e9
    _, cells, outcome, kernels = kernels_of(frame, ["cond"])
    design, _, outcome2, kernels2 = kernels_of(shifted, ["cond"])
    perms = random_perms(design.n, 20, seed=5)
    for a, b in zip(kernels, kernels2, strict=True):
        np.testing.assert_allclose(a.statistics(perms), b.statistics(perms), rtol=1e-9)
    t1, t2 = replic_table(design, cells, outcome), replic_table(design, cells, outcome2)
    np.testing.assert_allclose(t1["F"], t2["F"], rtol=1e-9)


def test_inputs_not_modified():
    frame = replicated([3, 3], {"cond": 2}, "unbalanced", seed=15)
    design, cells, outcome = (*design_of(frame, ["cond"]), Outcome.of("y", frame["y"].to_numpy()))
    before = (design.X.copy(), cells.copy(), outcome.y.copy())
    kernels = replic_kernels(design, cells, outcome)
    kernels[0].sums(random_perms(design.n, 3, seed=0))
    replic_table(design, cells, outcome)
    for old, new in zip(before, (design.X, cells, outcome.y), strict=True):
        np.testing.assert_array_equal(old, new)


# --------------------------------------------------------------------------------------------
# exact statistic
# --------------------------------------------------------------------------------------------
def test_exact_sums_match_float_sums():
    frame = replicated([3, 3], {"cond": 2}, "unbalanced", seed=16)
    frame["y"] = np.round(frame["y"], 2)
    design, _, _, kernels = kernels_of(frame, ["cond"])
    perms = random_perms(design.n, 6, seed=6)
    for kernel in kernels:
        exact = kernel.exact
        assert exact.sums is not None
        num, den = kernel.sums(perms)
        pairs = exact.sums(perms)
        np.testing.assert_allclose([float(a * exact.unit) for a, _ in pairs], num, rtol=RTOL)
        np.testing.assert_allclose([float(b * exact.unit) for _, b in pairs], den, rtol=RTOL)


def test_exact_statistic_sees_replicate_swaps_as_ties():
    # exchanging two replicates of one subject-cell leaves the means, hence F, unchanged
    frame = replicated([3, 3], {"cond": 2}, 2, seed=17)
    frame["y"] = np.round(frame["y"], 1)
    design, cells, _, kernels = kernels_of(frame, ["cond"])
    a, b = np.flatnonzero((frame["subject"] == 0) & (cells == 1))[:2]
    swap = np.arange(design.n)
    swap[[a, b]] = swap[[b, a]]
    identity = np.arange(design.n)[None]
    for kernel in kernels:
        observed = kernel.exact.sums(identity)[0]
        assert kernel.exact.sums(swap[None])[0] == observed
        assert kernel.exact.extreme(swap[None], observed, greater=True)[0]
        assert kernel.exact.extreme(swap[None], observed, greater=False)[0]
        assert isinstance(observed[0], Fraction)


def test_exact_is_none_for_a_wide_design():
    # the subject stratum has 6 + 40 columns, the cond stratum 6 + 40 x 2 > 64
    frame = replicated([20, 20], {"cond": 3}, 2, seed=18)
    _, _, _, kernels = kernels_of(frame, ["cond"])
    assert [k.exact.sums is None for k in kernels] == [False, True, True]


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------
def test_within_cells_of_the_wrong_length():
    frame = replicated([3, 3], {"cond": 2}, 2, seed=19)
    design, cells = design_of(frame, ["cond"])
    outcome = Outcome.of("y", frame["y"].to_numpy())
    with pytest.raises(ValueError, match=r"within_cells must have one code per row \(24\)"):
        replic_kernels(design, cells[:-1], outcome)


def test_covariate_varying_within_a_cell_is_rejected():
    frame = replicated([3, 3], {"cond": 2}, 2, seed=20)
    design, cells = design_of(frame, ["cond"])
    x = np.hstack([design.X, np.arange(design.n, dtype=float)[:, None]])
    design = replace(design, X=x, assign=np.append(design.assign, len(design.effects)))
    outcome = Outcome.of("y", frame["y"].to_numpy())
    with pytest.raises(ValueError, match="covariate varies between the replicates"):
        replic_table(design, cells, outcome)


def test_subject_missing_a_within_cell_is_rejected():
    frame = replicated([3, 3], {"cond": 3}, 2, seed=21)
    frame = frame[~((frame["subject"] == 2) & (frame["cond"] == 1))].reset_index(drop=True)
    design, cells = design_of(frame, ["cond"])
    outcome = Outcome.of("y", frame["y"].to_numpy())
    with pytest.raises(ValueError, match="1 of 18 subject-cells have no observation"):
        replic_kernels(design, cells, outcome)


def test_within_model_that_is_not_factorial_is_rejected():
    frame = replicated(None, {"cond": 2, "time": 2}, 2, seed=22)
    design, cells = design_of(frame, ["cond", "time"])
    keep = design.assign < 3  # drop cond:time
    design = replace(
        design,
        X=design.X[:, keep],
        assign=design.assign[keep],
        effects=design.effects[:2],
        effect_factors=design.effect_factors[:2],
    )
    outcome = Outcome.of("y", frame["y"].to_numpy())
    with pytest.raises(ValueError, match=r"missing: \['cond:time'\]"):
        replic_kernels(design, cells, outcome)
