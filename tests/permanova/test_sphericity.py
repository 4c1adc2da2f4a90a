"""Mauchly's test and the GG/HF epsilons against pingouin and a transcription of car's formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import permanova
from permanova import _sphericity
from permanova._sphericity import corrected_pvalues, sphericity, subject_table


# --------------------------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------------------------
def _contr_sum(levels: int) -> np.ndarray:
    return np.vstack([np.eye(levels - 1), -np.ones(levels - 1)])


def _car_reference(table, shape, groups, effect):
    """car's summary.Anova.mlm, written from its formulas: P the Kronecker product of
    contr.sum (effect factors) and ones (the others), SSPE = P' E P with E the pooled
    within-group SSP matrix, and solve/det/eigen as in R (not orthonormal, no SVD)."""
    P = np.ones((1, 1))
    for k, levels in enumerate(shape):
        P = np.kron(P, _contr_sum(levels) if k in effect else np.ones((levels, 1)))
    resid = np.asarray(table, float).copy()
    for g in np.unique(groups):
        resid[groups == g] -= resid[groups == g].mean(axis=0)
    E = resid.T @ resid
    sspe = P.T @ E @ P
    p, pp = P.shape
    n = table.shape[0] - np.unique(groups).size
    lam = np.linalg.eigvals(sspe @ np.linalg.inv(P.T @ P)).real
    gg = (lam.sum() / pp) ** 2 / ((lam**2).sum() / pp)
    hf = ((n + 1) * pp * gg - 2) / (pp * (n - pp * gg))
    U = np.linalg.solve(P.T @ P, sspe)
    log_w = np.log(np.linalg.det(U)) - pp * np.log(np.trace(U) / pp)
    rho = 1 - (2 * pp**2 + pp + 2) / (6 * pp * n)
    w2 = (pp + 2) * (pp - 1) * (pp - 2) * (2 * pp**3 + 6 * pp**2 + 3 * p + 2)
    w2 /= 288 * (n * pp * rho) ** 2
    z = -n * rho * log_w
    f = pp * (pp + 1) / 2 - 1
    pr1, pr2 = stats.chi2.sf(z, f), stats.chi2.sf(z, f + 4)
    return {"W": np.exp(log_w), "chi2": z, "p_mauchly": pr1 + w2 * (pr2 - pr1),
            "epsilon_gg": gg, "epsilon_hf": hf}  # fmt: skip


def _table(seed, n, shape, groups=1, spread=1.0):
    rng = np.random.default_rng(seed)
    cells = int(np.prod(shape))
    mix = rng.normal(size=(cells, cells)) * spread + np.eye(cells)
    y = rng.normal(size=(n, cells)) @ mix + rng.normal(size=cells) * 3
    codes = np.arange(n) % groups
    return y + codes[:, None] * rng.normal(size=cells), codes


def _long(y, shape, codes=None):
    """A long frame (subject, w0, w1, ..., g) of a C-order table."""
    cells = np.array(list(np.ndindex(*shape)))
    frame = pd.DataFrame(
        {
            "subject": np.repeat(np.arange(y.shape[0]), y.shape[1]),
            **{f"w{k}": np.tile(cells[:, k], y.shape[0]) for k in range(len(shape))},
            "y": y.reshape(-1),
        }
    )
    if codes is not None:
        frame["g"] = np.repeat(codes, y.shape[1])
    return frame


def _assert_test(test, reference, rtol=1e-9):
    for key, value in reference.items():
        np.testing.assert_allclose(getattr(test, key), value, rtol=rtol, err_msg=key)


# --------------------------------------------------------------------------------------------
# cross-checks
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("levels", [3, 4, 6])
def test_one_way_matches_pingouin(levels):
    y, _ = _table(levels, 12, (levels,))
    test = sphericity(y, (levels,), None, [(0,)])[(0,)]
    wide = pd.DataFrame(y)
    spher = pg.sphericity(wide)
    np.testing.assert_allclose(test.W, spher.W, rtol=1e-10)
    np.testing.assert_allclose(test.chi2, spher.chi2, rtol=1e-10)
    np.testing.assert_allclose(test.p_mauchly, spher.pval, rtol=1e-10)
    assert test.chi2_df == spher.dof == levels * (levels - 1) // 2 - 1
    np.testing.assert_allclose(test.epsilon_gg, pg.epsilon(wide), rtol=1e-10)
    # pingouin caps HF at 1; here HF < 1, and for one group Lecoutre's form is pingouin's
    hf = pg.epsilon(wide, correction="hf")
    assert test.epsilon_hf < 1
    np.testing.assert_allclose(test.epsilon_hf, hf, rtol=1e-10)
    assert (test.d, test.error_df) == (levels - 1, 11)


@pytest.mark.parametrize("levels", [3, 5])
def test_one_way_corrected_p_matches_pingouin_rm_anova(levels):
    y, _ = _table(10 + levels, 9, (levels,), spread=2.0)
    aov = pg.rm_anova(_long(y, (levels,)), dv="y", within="w0", subject="subject",
                      correction=True)  # fmt: skip
    test = sphericity(y, (levels,), None, [(0,)])[(0,)]
    row = aov.iloc[0]
    np.testing.assert_allclose(test.epsilon_gg, row["eps"], rtol=1e-10)
    np.testing.assert_allclose(test.W, row["W_spher"], rtol=1e-10)
    np.testing.assert_allclose(test.p_mauchly, row["p_spher"], rtol=1e-10)
    p_gg = corrected_pvalues(row["F"], row["ddof1"], row["ddof2"], test.epsilon_gg)
    np.testing.assert_allclose(p_gg, row["p_GG_corr"], rtol=1e-10)


def test_two_way_within_matches_pingouin_rm_anova():
    shape = (3, 4)
    y, _ = _table(3, 15, shape, spread=1.5)
    aov = pg.rm_anova(_long(y, shape), dv="y", within=["w0", "w1"], subject="subject",
                      correction=True)  # fmt: skip
    tests = sphericity(y, shape, None, [(0,), (1,), (0, 1)])
    for row, effect in zip(aov.itertuples(), [(0,), (1,), (0, 1)]):
        test = tests[effect]
        np.testing.assert_allclose(test.epsilon_gg, row.eps, rtol=1e-10)
        np.testing.assert_allclose(test.W, row.W_spher, rtol=1e-10)
        # pingouin uses R's k = n_cells in the second-order term too (here d >= 3 for w1)
        np.testing.assert_allclose(test.p_mauchly, row.p_spher, rtol=1e-10)
        p_gg = corrected_pvalues(row.F, row.ddof1, row.ddof2, test.epsilon_gg)
        np.testing.assert_allclose(p_gg, row.p_GG_corr, rtol=1e-10)


@pytest.mark.parametrize(
    ("shape", "groups", "effect"),
    [((4,), 1, (0,)), ((5,), 3, (0,)), ((3, 4), 2, (1,)), ((3, 4), 2, (0, 1)),
     ((2, 3, 3), 3, (1, 2)), ((2, 3, 3), 1, (0, 1, 2)), ((3, 2), 2, (0,))],
)  # fmt: skip
def test_matches_car_transcription(shape, groups, effect):
    y, codes = _table(sum(shape) + groups, 24, shape, groups=groups)
    test = sphericity(y, shape, codes, [effect])[effect]
    _assert_test(test, _car_reference(y, shape, codes, effect), rtol=1e-8)
    assert test.error_df == 24 - groups


def test_mixed_design_matches_pingouin_mixed_anova():
    y, codes = _table(21, 14, (4,), groups=2, spread=1.2)
    frame = _long(y, (4,), codes)
    aov = pg.mixed_anova(frame, dv="y", within="w0", between="g", subject="subject",
                         correction=True)  # fmt: skip
    test = sphericity(y, (4,), codes, [(0,)])[(0,)]
    within = aov.iloc[1]
    np.testing.assert_allclose(test.epsilon_gg, within["eps"], rtol=1e-10)
    np.testing.assert_allclose(test.W, within["W_spher"], rtol=1e-10)
    np.testing.assert_allclose(test.p_mauchly, within["p_spher"], rtol=1e-10)
    # the interaction takes the epsilon of its within part (as car/afex and pingouin)
    inter = aov.iloc[2]
    p_gg = corrected_pvalues(inter["F"], inter["DF1"], inter["DF2"], test.epsilon_gg)
    np.testing.assert_allclose(p_gg, inter["p_GG_corr"], rtol=1e-10)


def test_mixed_hf_is_lecoutre_not_pingouins():
    """In a mixed design HF uses N - g residual df (Lecoutre 1991, car/afex)."""
    y, codes = _table(5, 12, (3,), groups=3)
    test = sphericity(y, (3,), codes, [(0,)])[(0,)]
    gg, n, d = test.epsilon_gg, 12 - 3, 2
    np.testing.assert_allclose(test.epsilon_hf, ((n + 1) * d * gg - 2) / (d * (n - d * gg)))


def test_between_model_with_covariate_matches_plain_formula():
    y, codes = _table(8, 16, (4,), groups=2)
    x = np.random.default_rng(1).normal(size=16)
    model = np.column_stack([np.ones(16), codes == 1, x, x * (codes == 1)])
    test = sphericity(y, (4,), None, [(0,)], between_model=model)[(0,)]
    resid = y - model @ np.linalg.lstsq(model, y, rcond=None)[0]
    C = np.linalg.qr(_contr_sum(4))[0]
    M = C.T @ resid.T @ resid @ C
    lam = np.linalg.eigvalsh(M)
    np.testing.assert_allclose(test.epsilon_gg, lam.sum() ** 2 / (3 * (lam**2).sum()))
    np.testing.assert_allclose(test.W, np.prod(lam) / lam.mean() ** 3, rtol=1e-10)
    assert test.error_df == 12
    # indicator columns of the groups are the group codes
    by_codes = sphericity(y, (4,), codes, [(0,)])[(0,)]
    indicators = np.column_stack([codes == 0, codes == 1]).astype(float)
    by_model = sphericity(y, (4,), None, [(0,)], between_model=indicators)[(0,)]
    _assert_test(by_model, by_codes._asdict(), rtol=1e-10)


# --------------------------------------------------------------------------------------------
# corrected p-values
# --------------------------------------------------------------------------------------------
def test_corrected_pvalues():
    F, df, dfe = np.array([3.0, 5.0, 0.5]), np.array([2, 3, 4]), np.array([20, 30, 40])
    eps = np.array([0.6, 1.4, np.nan])
    p = corrected_pvalues(F, df, dfe, eps)
    np.testing.assert_allclose(p[0], stats.f.sf(3.0, 1.2, 12.0), rtol=1e-12)
    np.testing.assert_allclose(p[1], stats.f.sf(5.0, 3, 30), rtol=1e-12)  # min(1, eps)
    assert np.isnan(p[2])
    assert corrected_pvalues(3.0, 2, 20, 1.0) == pytest.approx(stats.f.sf(3.0, 2, 20))


# --------------------------------------------------------------------------------------------
# degenerate data: defined results
# --------------------------------------------------------------------------------------------
def test_perfect_sphericity():
    # residual contrasts +-e_j (each contrast twice): E proportional to the identity
    C = np.linalg.qr(_contr_sum(4))[0]
    coords = np.vstack([np.eye(3), -np.eye(3)] * 2)
    y = coords @ C.T + 7.0
    test = sphericity(y, (4,), None, [(0,)])[(0,)]
    assert test.W == pytest.approx(1.0, abs=1e-12)
    assert test.chi2 == pytest.approx(0.0, abs=1e-9) and test.p_mauchly == pytest.approx(1.0)
    assert test.epsilon_gg == pytest.approx(1.0, abs=1e-12)
    assert test.epsilon_hf > 1  # reported uncorrected, as car/afex
    assert corrected_pvalues(2.5, 3, 33, test.epsilon_hf) == pytest.approx(
        stats.f.sf(2.5, 3, 33), rel=1e-12
    )


@pytest.mark.parametrize(
    ("y", "groups"),
    [
        (np.random.default_rng(0).normal(size=(3, 4)), None),  # 2 residual df < 3 contrasts
        (np.random.default_rng(0).normal(size=(6, 4)), np.arange(6) % 4),  # 4 groups: 2 df
        (np.full((8, 3), 2.5), None),  # no variance
        (np.tile([1.0, 2.0, 4.0], (8, 1)) + np.arange(8)[:, None], None),  # offsets only
        (np.tile([0.1, 0.2, 0.4], (8, 1)) * 1e9 + np.arange(8)[:, None] / 3, None),  # rounding
    ],
    ids=[
        "n-subjects-le-d",
        "groups-leave-too-few-df",
        "constant",
        "subject-offsets-only",
        "rounding-noise-only",
    ],
)
def test_singular_covariance_gives_nan_and_a_warning(y, groups):
    with pytest.warns(RuntimeWarning, match=r"\[\(0,\)\].*singular"):
        test = sphericity(y, (y.shape[1],), groups, [(0,)])[(0,)]
    assert np.isnan([test.W, test.chi2, test.p_mauchly, test.epsilon_gg, test.epsilon_hf]).all()
    assert np.isnan(corrected_pvalues(3.0, 2, 10, test.epsilon_gg))


def test_perfect_sphericity_with_as_many_residual_df_as_contrasts_gives_infinite_hf():
    C = np.linalg.qr(_contr_sum(4))[0]
    y = np.linalg.qr(np.vstack([np.ones(4), np.eye(4)[:3]]).T)[0][:, 1:] @ C.T  # R'R = I
    test = sphericity(y, (4,), None, [(0,)])[(0,)]
    assert test.error_df == test.d == 3
    # 1/0 in exact arithmetic: +inf, or huge when GG rounds just below 1
    assert test.epsilon_gg == pytest.approx(1.0) and test.epsilon_hf > 1e12
    assert test.chi2 == 0.0 and not np.signbit(test.chi2)
    assert corrected_pvalues(2.0, 3, 9, test.epsilon_hf) == pytest.approx(stats.f.sf(2.0, 3, 9))
    # the same with the module's own contrasts: GG is exactly 1 and HF divides by 0
    exact = _sphericity._helmert(4) @ _sphericity._contrasts((4,), (0,)).T
    test = sphericity(exact, (4,), None, [(0,)])[(0,)]
    assert test.epsilon_gg == 1.0 and test.epsilon_hf == np.inf


def test_error_df_equal_to_d_is_defined():
    y, _ = _table(2, 4, (4,))  # 3 residual df, 3 contrasts: E has full rank
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        test = sphericity(y, (4,), None, [(0,)])[(0,)]
    assert 1 / 3 <= test.epsilon_gg <= 1 and 0 < test.W <= 1
    assert np.isfinite(test.p_mauchly)


def test_huge_offsets_do_not_change_the_result():
    y, codes = _table(4, 10, (2, 3), groups=2)
    ref = sphericity(y, (2, 3), codes, [(1,), (0, 1)])
    shifted = y + 1e8 + 1e6 * np.arange(10)[:, None]
    out = sphericity(shifted, (2, 3), codes, [(1,), (0, 1)])
    for effect in ref:
        _assert_test(out[effect], ref[effect]._asdict(), rtol=1e-6)


def test_one_contrast_effects_have_no_entry_and_order_is_kept():
    y, _ = _table(1, 10, (2, 3))
    out = sphericity(y, (2, 3), None, [(0, 1), (0,), (1,)])
    assert list(out) == [(0, 1), (1,)]
    assert sphericity(y, (2, 3), None, []) == {}


def test_input_is_not_modified():
    y, codes = _table(1, 10, (4,), groups=2)
    y_copy, codes_copy = y.copy(), codes.copy()
    sphericity(y, (4,), codes, [(0,)])
    np.testing.assert_array_equal(y, y_copy)
    np.testing.assert_array_equal(codes, codes_copy)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"table": np.ones(5)}, TypeError, "`table`"),
        ({"table": np.full((5, 3), "a")}, TypeError, "`table`"),
        ({"table": np.where(np.eye(5, 3), np.nan, 1.0)}, ValueError, "finite"),
        ({"within_shape": (2, 2)}, ValueError, "`within_shape`"),
        ({"within_shape": "abc"}, TypeError, "`within_shape`"),
        ({"group_codes": np.zeros(4, int)}, ValueError, "`group_codes`"),
        ({"group_codes": np.zeros(5)}, ValueError, "`group_codes`"),
        ({"effects": [(3,)]}, ValueError, "`effects`"),
        ({"effects": [(0, 0)]}, ValueError, "distinct"),
        ({"effects": [0]}, TypeError, "`effects`"),
        ({"between_model": np.ones((5, 1)), "group_codes": np.zeros(5, int)}, ValueError,
         "not both"),
        ({"between_model": np.ones((4, 1))}, ValueError, "`between_model`"),
    ],
)  # fmt: skip
def test_bad_input(kwargs, error, words):
    args = {"table": np.random.default_rng(0).normal(size=(5, 3)), "within_shape": (3,),
            "group_codes": None, "effects": [(0,)]}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(error, match=words):
        sphericity(**args)


# --------------------------------------------------------------------------------------------
# invariants
# --------------------------------------------------------------------------------------------
_shapes = st.sampled_from([((3,), (0,)), ((4,), (0,)), ((2, 3), (1,)), ((3, 3), (0, 1))])


@settings(max_examples=40, deadline=None)
@given(shape_effect=_shapes, seed=st.integers(0, 2**32 - 1), groups=st.integers(1, 3),
       shift=st.floats(-1e4, 1e4), scale=st.floats(1e-3, 1e3))  # fmt: skip
def test_invariances(shape_effect, seed, groups, shift, scale):
    shape, effect = shape_effect
    y, codes = _table(seed, 14, shape, groups=groups)
    ref = sphericity(y, shape, codes, [effect])[effect]
    assert 1 / ref.d - 1e-12 <= ref.epsilon_gg <= 1 + 1e-12
    assert 0 < ref.W <= 1 and 0 <= ref.p_mauchly <= 1
    rng = np.random.default_rng(seed)
    order = rng.permutation(14)
    offsets = rng.normal(size=(14, 1)) * 100
    variants = [
        (y + shift, codes),
        (y + offsets, codes),
        (y * scale, codes),
        (y[order], codes[order]),
        (y, codes + 5),  # group labels, not their values
    ]
    for table, group_codes in variants:
        out = sphericity(table, shape, group_codes, [effect])[effect]
        _assert_test(out, ref._asdict(), rtol=1e-7)


# --------------------------------------------------------------------------------------------
# helpers that build the inputs from long data and the table's columns
# --------------------------------------------------------------------------------------------
def test_subject_table_averages_replicates_and_rejects_missing_cells():
    y = np.array([1.0, 2.0, 3.0, 5.0, 4.0, 6.0, 7.0, 8.0])
    subjects = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    w0, w1 = np.array([0, 0, 1, 1, 0, 0, 1, 1]), np.array([0, 1, 0, 1, 0, 1, 0, 1])
    np.testing.assert_array_equal(
        subject_table(y, subjects, [w0, w1], (2, 2)), [[1, 2, 3, 5], [4, 6, 7, 8]]
    )
    replicated = subject_table(np.array([1.0, 3.0, 2.0]), np.array([0, 0, 0]),
                               [np.array([0, 0, 1])], (2,))  # fmt: skip
    np.testing.assert_array_equal(replicated, [[2.0, 2.0]])
    with pytest.raises(ValueError, match="1 subjects have no observation"):
        subject_table(y[:-1], subjects[:-1], [w0[:-1], w1[:-1]], (2, 2))


def _table_sphericity(data, dv, subject, between, within, result):
    """Long data -> subject-by-cell table and groups -> tests -> corrected p of each row
    (uncorrected where no correction applies: between effects, one-contrast parts)."""
    subject_codes = pd.factorize(data[subject])[0]
    within_codes = [pd.factorize(data[w], sort=True)[0] for w in within]
    shape = tuple(int(c.max()) + 1 for c in within_codes)
    table = subject_table(data[dv].to_numpy(float), subject_codes, within_codes, shape)
    first = pd.Series(np.arange(len(data))).groupby(subject_codes).first().to_numpy()
    groups = pd.factorize(data[between].iloc[first].apply(tuple, axis=1))[0] if between else None
    parts = [tuple(within.index(f) for f in e.split(":") if f in within)
             for e in result.table.index]  # fmt: skip
    tests = sphericity(table, shape, groups, sorted({p for p in parts if p}))
    p_gg = result.table["p_parametric"].to_numpy(float).copy()
    p_hf = p_gg.copy()
    for row, (part, r) in enumerate(zip(parts, result.table.itertuples())):
        if part in tests:
            p_gg[row] = corrected_pvalues(r.F, r.df, r.df_error, tests[part].epsilon_gg)
            p_hf[row] = corrected_pvalues(r.F, r.df, r.df_error, tests[part].epsilon_hf)
    return tests, (p_gg, p_hf)


def test_end_to_end_mixed_matches_pingouin():
    y, codes = _table(30, 12, (4,), groups=3, spread=1.5)
    frame = _long(y, (4,), codes).sample(frac=1.0, random_state=0)  # any row order
    frame["w0"] = frame["w0"].map(dict(enumerate("pqrs")))
    result = permanova.aovperm(frame, "y", subject="subject", between="g", within="w0",
                               n_resamples=9, random_state=0)  # fmt: skip
    tests, (p_gg, p_hf) = _table_sphericity(frame, "y", "subject", ["g"], ["w0"], result)
    aov = pg.mixed_anova(frame, dv="y", within="w0", between="g", subject="subject",
                         correction=True)  # fmt: skip
    np.testing.assert_allclose(result.table["F"], aov["F"], rtol=1e-9)
    np.testing.assert_allclose(p_gg[1:], aov["p_GG_corr"][1:], rtol=1e-9)
    assert p_gg[0] == result.table["p_parametric"].iloc[0]
    np.testing.assert_allclose(tests[(0,)].epsilon_gg, aov["eps"].iloc[1], rtol=1e-10)
    assert (p_hf >= result.table["p_parametric"].to_numpy() - 1e-15).all()


def test_end_to_end_two_within_matches_pingouin():
    shape = (3, 3)
    y, _ = _table(31, 10, shape, spread=1.3)
    frame = _long(y, shape)
    result = permanova.aovperm(frame, "y", subject="subject", within=["w0", "w1"],
                               n_resamples=9, random_state=0)  # fmt: skip
    _, (p_gg, _) = _table_sphericity(frame, "y", "subject", [], ["w0", "w1"], result)
    aov = pg.rm_anova(frame, dv="y", within=["w0", "w1"], subject="subject", correction=True)
    np.testing.assert_allclose(result.table["F"], aov["F"], rtol=1e-9)
    np.testing.assert_allclose(p_gg, aov["p_GG_corr"], rtol=1e-9)
