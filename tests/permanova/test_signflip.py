"""Tests of permanova._signflip: enumeration in permuco's order, random blocks, user
matrices and the source of a run."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from permanova import _signflip
from permanova._permutations import BLOCK_SIZE, block_rows


def rows_of(blocks, key="obs"):
    return np.concatenate([b.permutations()[key] for b in blocks])


def test_enumeration_is_r_expand_grid_order():
    """permuco's Pmat(type = "signflip", counting = "all") is
    t(expand.grid(c(1, -1), ...)): the first unit flips fastest, identity first."""
    n = 5
    got = rows_of(_signflip.all_signflips(n))
    expected = [row[::-1] for row in itertools.product([1, -1], repeat=n)]
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, np.array(expected))
    assert _signflip.is_identity(got).tolist() == [True] + [False] * (2**n - 1)


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=13))
def test_enumeration_holds_every_sign_vector_once(n):
    got = rows_of(_signflip.all_signflips(n, ("a", "b")), "b")
    assert got.shape == (2**n, n)
    assert len({row.tobytes() for row in got}) == 2**n
    assert set(np.unique(got)) <= {-1, 1}


def test_enumeration_is_split_into_blocks():
    blocks = list(_signflip.all_signflips(13))
    assert [b.start for b in blocks] == [0, BLOCK_SIZE]
    assert sum(b.stop - b.start for b in blocks) == 2**13


def test_random_blocks_reproducible_and_fair():
    sizes = {"obs": 40}
    a = list(_signflip.random_blocks(np.random.default_rng(1), sizes, 10_000))
    b = list(_signflip.random_blocks(np.random.default_rng(1), sizes, 10_000))
    ra, rb = rows_of(a), rows_of(b)
    np.testing.assert_array_equal(ra, rb)
    np.testing.assert_array_equal(a[0].permutations()["obs"], a[0].permutations()["obs"])
    assert ra.shape == (10_000, 40) and set(np.unique(ra)) == {-1, 1}
    assert [blk.rows for blk in a][:-1] == [block_rows(sizes)] * (len(a) - 1)
    # 400 000 fair signs: the mean is within 5 standard errors of 0
    assert abs(ra.mean()) < 5 / np.sqrt(ra.size)
    other = rows_of(_signflip.random_blocks(np.random.default_rng(2), sizes, 10_000))
    assert (other != ra).any()


def test_transform():
    from permanova._transform import transform

    v = np.array([1.0, 2.0, 3.0])
    rows = np.array([[2, 0, 1]])
    np.testing.assert_array_equal(transform(v, rows), [[3.0, 1.0, 2.0]])
    signs = np.array([[1, -1, -1]], dtype=np.int8)
    np.testing.assert_array_equal(transform(v, signs), [[1.0, -2.0, -3.0]])


# --------------------------------------------------------------------------------------
# the source of a run
# --------------------------------------------------------------------------------------
def test_source_auto_enumerates_when_2_to_the_n_fits():
    rng = np.random.default_rng(0)
    src = _signflip.source({"obs": 6}, signflips=None, exact="auto", n_resamples=64, rng=rng)
    assert src.exact and src.total == 64 and src.identity is _signflip.is_identity
    src = _signflip.source({"obs": 6}, signflips=None, exact="auto", n_resamples=63, rng=rng)
    assert not src.exact and src.total == 63 and src.identity is None
    src = _signflip.source({"obs": 3}, signflips=None, exact=False, n_resamples=50, rng=rng)
    assert not src.exact and rows_of(src.blocks).shape == (50, 3)
    src = _signflip.source({"obs": 20}, signflips=None, exact=True, n_resamples=5, rng=rng)
    assert src.exact and src.total == 2**20


def test_source_refuses_too_many_for_exact():
    n = _signflip.MAX_EXACT_UNITS + 1
    with pytest.raises(ValueError, match=f"2\\^{n} sign flips"):
        _signflip.source(
            {"obs": n}, signflips=None, exact=True, n_resamples=5, rng=np.random.default_rng()
        )


def test_source_user_matrix():
    matrix = np.array([[1, -1, 1], [-1, -1, 1]], dtype=np.int8)
    src = _signflip.source(
        {"obs": 3}, signflips={"obs": matrix}, exact="auto", n_resamples=9, rng=None
    )
    assert not src.exact and src.total == 2
    np.testing.assert_array_equal(rows_of(src.blocks), matrix)


# --------------------------------------------------------------------------------------
# user matrices
# --------------------------------------------------------------------------------------
def test_check_signflip_matrix_accepts_floats_and_copies():
    matrix = np.array([[1.0, -1.0, -1.0]])
    out = _signflip.check_signflip_matrix(matrix, 3)
    assert out.dtype == np.int8 and not np.shares_memory(out, matrix)
    np.testing.assert_array_equal(out, [[1, -1, -1]])


@pytest.mark.parametrize(
    ("matrix", "error", "match"),
    [
        (np.array([["a", "b"]]), TypeError, "numeric array"),
        (np.array([[True, False]]), TypeError, "numeric array"),
        (np.ones((2, 3)), ValueError, r"shape \(B, 2\)"),
        (np.ones(2), ValueError, r"shape \(B, 2\)"),
        (np.zeros((0, 2)), ValueError, "B >= 1"),
        (np.array([[1, 0], [1, -1], [2, 1]]), ValueError, r"rows \[0, 2\]"),
        (np.array([[0.5, -1.0]]), ValueError, r"\+1 or -1"),
    ],
)
def test_check_signflip_matrix_errors(matrix, error, match):
    with pytest.raises(error, match=match):
        _signflip.check_signflip_matrix(matrix, 2, "permutations")


def test_identity_first_row_warns():
    with pytest.warns(UserWarning, match="counts twice"):
        _signflip.check_signflip_matrix(np.array([[1, 1], [-1, 1]]), 2)
