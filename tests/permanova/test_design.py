"""Sum-to-zero coding, model matrices, bases and strata."""

from __future__ import annotations

import numpy as np
import pytest

from permanova._design import (
    build_design,
    complement_basis,
    effect_terms,
    orthonormal_basis,
    residualize,
    row_kronecker,
    sum_coding,
)


def test_sum_coding_matches_contr_sum():
    coded = sum_coding(np.array([0, 1, 2, 2, 0]), 3)
    expected = np.array([[1, 0], [0, 1], [-1, -1], [-1, -1], [1, 0]], dtype=float)
    np.testing.assert_array_equal(coded, expected)


def test_row_kronecker_first_factor_fastest_and_empty():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[10.0, 20.0], [30.0, 40.0]])
    out = row_kronecker(a, b)
    np.testing.assert_array_equal(out[0], [10, 20, 20, 40])
    assert row_kronecker(a, np.zeros((2, 0))) is a


def test_effect_terms_in_r_order():
    assert effect_terms(["A", "B", "C"]) == [
        ("A",),
        ("B",),
        ("C",),
        ("A", "B"),
        ("A", "C"),
        ("B", "C"),
        ("A", "B", "C"),
    ]


def _two_way(rng, n_a=2, n_b=3, reps=4):
    a = np.repeat(np.arange(n_a), n_b * reps)
    b = np.tile(np.repeat(np.arange(n_b), reps), n_a)
    return build_design({"A": a, "B": b}, {"A": n_a, "B": n_b}, ["A", "B"], [], None)


def test_design_columns_and_assign(rng):
    design = _two_way(rng)
    assert design.effects == ("A", "B", "A:B")
    np.testing.assert_array_equal(design.assign, [0, 1, 2, 2, 3, 3])
    assert design.X.shape == (24, 6)
    # sum-to-zero: every non-intercept column sums to zero in a balanced design
    np.testing.assert_allclose(design.X[:, 1:].sum(axis=0), 0.0)
    assert not design.repeated and not design.oneway_between


def test_rm_design_strata(rng):
    n_s, n_c = 5, 3
    subject = np.repeat(np.arange(n_s), n_c)
    group = (subject >= 2).astype(int)
    cond = np.tile(np.arange(n_c), n_s)
    design = build_design(
        {"g": group, "c": cond},
        {"g": 2, "c": 3},
        ["g"],
        ["c"],
        subject,
    )
    assert design.subject_matrix().shape == (15, n_s - 1)
    assert design.table_shape == (n_s, n_c)
    assert design.within_part(1) == 0  # g: subject stratum
    assert design.within_part(2) == 2  # c
    assert design.within_part(3) == 2  # g:c -> c stratum
    assert design.table_order() == [1, 2, 3]


def test_table_order_groups_strata(rng):
    n_s = 8
    subject = np.repeat(np.arange(n_s), 4)
    codes = {
        "g": (subject % 2).astype(int),
        "c": np.tile([0, 0, 1, 1], n_s),
        "t": np.tile([0, 1, 0, 1], n_s),
    }
    design = build_design(codes, {"g": 2, "c": 2, "t": 2}, ["g"], ["c", "t"], subject)
    names = [design.effects[i - 1] for i in design.table_order()]
    assert names == ["g", "c", "g:c", "t", "g:t", "c:t", "g:c:t"]


def test_orthonormal_basis_rank_and_residuals(rng):
    a = rng.normal(size=(10, 2))
    a = np.hstack([a, a @ [[1.0], [2.0]]])
    q = orthonormal_basis(a)
    assert q.shape == (10, 2)
    np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(residualize(q, a), 0.0, atol=1e-12)
    assert orthonormal_basis(np.zeros((4, 2))).shape == (4, 0)
    assert orthonormal_basis(np.zeros((4, 0))).shape == (4, 0)


@pytest.mark.parametrize("deficient", [False, True])
def test_complement_basis(rng, deficient):
    a = rng.normal(size=(8, 3))
    if deficient:
        a[:, 2] = a[:, 0] + a[:, 1]
    c = complement_basis(a)
    rank = 2 if deficient else 3
    assert c.shape == (8, 8 - rank)
    np.testing.assert_allclose(c.T @ c, np.eye(8 - rank), atol=1e-12)
    np.testing.assert_allclose(c.T @ a, 0.0, atol=1e-12)


def _dense_strata(design, i):
    """The dense oracle of effect ``i``'s bases (permuco's definitions, n x n_subjects):
    ``R_D X`` and ``R_D R_X Z`` with ``Z`` the subject-by-stratum columns."""
    x_full = design.X
    cols = design.columns(i)
    q_full = orthonormal_basis(x_full)
    q_d = orthonormal_basis(x_full[:, ~cols])
    z_raw = row_kronecker(
        design.subject_matrix(), x_full[:, design.assign == design.within_part(i)]
    )
    z = residualize(q_full, z_raw)
    q_rdx = orthonormal_basis(residualize(q_d, x_full[:, cols]))
    q_rdz = orthonormal_basis(residualize(q_d, z), scale=np.abs(z_raw).max() * 10)
    return q_d, q_rdx, q_rdz, z


@pytest.mark.parametrize("method", ["rd_kheradpajouh_renaud", "rde_kheradpajouh_renaud"])
def test_stratum_kernels_equal_dense_projections(rng, method):
    """The subject-by-cell means equal the projections on dense error-stratum bases (Rde:
    with the other strata removed from the permuted residual by dense projections too)."""
    from permanova import _methods
    from permanova._bases import Bases
    from permanova._design import Outcome

    n_s = 9
    subject = np.repeat(np.arange(n_s), 6)
    between = {"g": np.array([0, 0, 0, 0, 1, 1, 1, 2, 2])[subject]}
    within = {"c": np.tile(np.repeat([0, 1, 2], 2), n_s), "t": np.tile([0, 1], 3 * n_s)}
    shuffle = rng.permutation(subject.size)  # rows in no particular order
    codes = {k: v[shuffle] for k, v in {**between, **within}.items()}
    design = build_design(codes, {"g": 3, "c": 3, "t": 2}, ["g"], ["c", "t"], subject[shuffle])
    outcome = Outcome.of("y", rng.normal(size=subject.size) + 5.0 * subject[shuffle])
    bases = Bases(design)
    kernels = _methods.build_kernels(method, bases, outcome)
    perms = np.array([rng.permutation(design.n) for _ in range(50)])
    perms[0] = np.arange(design.n)
    parts = {design.within_part(j) for j in range(1, len(design.effects) + 1)}
    for i, kernel in enumerate(kernels, start=1):
        q_d, q_num, q_den, _ = _dense_strata(design, i)
        u = residualize(q_d, outcome.y)
        if method == "rde_kheradpajouh_renaud":
            others = [p for p in parts if p != design.within_part(i)]
            e = np.hstack(
                [
                    row_kronecker(design.subject_matrix(), design.X[:, design.assign == p])
                    for p in others
                ]
            )
            e = residualize(
                orthonormal_basis(np.hstack([design.X, _dense_strata(design, i)[3]])), e
            )
            u = residualize(orthonormal_basis(e, scale=10.0), u)
        np.testing.assert_allclose(kernel.u, u, atol=1e-9)
        v = u[perms]
        direct = (((v @ q_num) ** 2).sum(1) / q_num.shape[1]) / (
            ((v @ q_den) ** 2).sum(1) / q_den.shape[1]
        )
        np.testing.assert_allclose(kernel.statistics(perms), direct, rtol=1e-9)
        assert kernel.ratio.df_den == q_den.shape[1]
