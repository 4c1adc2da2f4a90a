"""Sign flips in aovperm (permuco's ``Pmat(type = "signflip")``) against plain loops."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import permanova


def _residual(a, v):
    q, _ = np.linalg.qr(a)
    return v - q @ (q.T @ v)


def _projection2(a, v):
    q = np.linalg.svd(a, full_matrices=False)[0][:, : np.linalg.matrix_rank(a)]
    return float(np.sum((q.T @ v) ** 2))


def _oneway(rng, n=8):
    return pd.DataFrame({"g": np.repeat(["a", "b"], n // 2), "y": rng.normal(size=n) + 3.0})


def _f_loop(y, x, signs, method):
    """freedman_lane / manly F of every sign vector, written from permuco's definitions."""
    ones = np.ones((y.size, 1))
    full = np.column_stack([ones, x])
    u = _residual(ones, y)  # R_D y (D: the intercept); manly flips y - mean(y) too
    out = []
    for s in signs:
        v = s * u
        num = _projection2(_residual(ones, x), v)
        den = float(np.sum(_residual(full, v) ** 2))
        out.append((num / x.shape[1]) / (den / (y.size - full.shape[1])))
    return np.array(out)


@pytest.mark.parametrize("method", ["freedman_lane", "manly"])
def test_exact_sign_flips_equal_a_loop(rng, method):
    data = _oneway(rng)
    x = np.where(data["g"] == "a", 1.0, -1.0)[:, None]
    signs = np.array(list(itertools.product([1, -1], repeat=8)))
    f = _f_loop(data["y"].to_numpy(), x, signs, method)
    res = permanova.aovperm(
        data, "y", between="g", method=method, permutation_type="signflip", return_null=True
    )
    assert res.exact and res.n_resamples == 256
    observed = f[0]  # the identity comes first in R's expand.grid order
    expected = np.mean(f >= observed * (1 - 1e-9))  # -s gives the same F: exact ties
    assert res.table.loc["g", "p_permutation"] == pytest.approx(expected, abs=1e-15)
    np.testing.assert_allclose(
        np.sort(res.null_distribution[:, 0]), np.sort(f), rtol=1e-9, atol=1e-20
    )


def test_user_sign_matrix_and_lmperm_agree(rng):
    """One-df effect: the F of aovperm is the t^2 of lmperm's coefficient, on the same
    sign flips; the two-sided p-values are equal."""
    data = _oneway(rng, n=12)
    signs = np.where(rng.random((300, 12)) < 0.5, -1, 1)
    kwargs = dict(permutations=signs, permutation_type="signflip")
    aov = permanova.aovperm(data, "y", between="g", return_null=True, **kwargs)
    lm = permanova.lmperm(data, "y ~ g", return_null=True, **kwargs)
    assert aov.table.loc["g", "p_permutation"] == pytest.approx(
        lm.table.loc["gb", "p_permutation_two_sided"], abs=1e-15
    )


def test_repeated_design_sign_flips_equal_a_loop(rng):
    """Rd with sign flips: F = ||H_{R_D X} s*u||^2 / ||H_{R_D Z} s*u||^2 (scaled by df)."""
    subjects, levels = 6, 3
    data = pd.DataFrame(
        {"s": np.repeat(np.arange(subjects), levels), "c": np.tile(list("pqr"), subjects)}
    )
    data["y"] = rng.normal(size=len(data)) + data["s"]
    signs = np.where(rng.random((50, len(data))) < 0.5, -1, 1)
    res = permanova.aovperm(
        data, "y", subject="s", within="c", permutations=signs,
        permutation_type="signflip", return_null=True,
    )  # fmt: skip
    c = pd.get_dummies(data["c"]).to_numpy(float)
    x = c[:, :-1] - c[:, -1:]  # sum coding
    ones = np.ones((len(data), 1))
    subject = pd.get_dummies(data["s"]).to_numpy(float)
    z = (subject[:, :, None] * x[:, None, :]).reshape(len(data), -1)
    u = _residual(ones, data["y"].to_numpy())
    expected = []
    for s in signs:
        v = s * u
        num = _projection2(_residual(ones, x), v) / 2
        den = _projection2(_residual(np.column_stack([ones, x]), z), v) / 10
        expected.append(num / den)
    np.testing.assert_allclose(res.null_distribution[:, 0], expected, rtol=1e-9)


def test_bad_permutation_type(rng):
    with pytest.raises(ValueError, match="`permutation_type` must be"):
        permanova.aovperm(_oneway(rng), "y", between="g", permutation_type="flip")


def test_sign_matrix_must_hold_signs(rng):
    data = _oneway(rng)
    with pytest.raises((TypeError, ValueError), match="permutations"):
        permanova.aovperm(
            data, "y", between="g", permutations=np.zeros((3, 8)), permutation_type="signflip"
        )


def test_several_outcomes_with_sign_flips_equal_separate_runs(rng):
    data = _oneway(rng, n=10)
    data["z"] = rng.normal(size=10)
    kwargs = dict(between="g", permutation_type="signflip", n_resamples=500, random_state=3)
    both = permanova.aovperm(data, ["y", "z"], exact=False, **kwargs)
    alone = permanova.aovperm(data, "z", exact=False, **kwargs)
    assert both.table.loc[("z", "g"), "p_permutation"] == alone.table.loc["g", "p_permutation"]
