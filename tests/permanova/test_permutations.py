"""Counting, exact enumeration, random blocks and user matrices."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from permanova import _permutations as perms


def _stack(blocks, key=None):
    rows = [b if key is None else b[key] for b in blocks]
    return np.concatenate(rows)


def test_counts():
    assert perms.count_permutations(5) == 120
    assert perms.count_assignments([2, 2, 3]) == math.factorial(7) // (2 * 2 * 6)
    assert perms.count_assignments([10, 10, 10]) == 5550996791340


def test_all_permutations_lexicographic():
    got = _stack(perms.all_permutations(5))
    expected = np.array(list(itertools.permutations(range(5))))
    np.testing.assert_array_equal(got, expected)


def test_all_permutations_spans_blocks():
    got = _stack(perms.all_permutations(8))
    assert got.shape == (40320, 8)
    assert np.unique(got, axis=0).shape[0] == 40320
    np.testing.assert_array_equal(got[0], np.arange(8))


@pytest.mark.parametrize("kind", ["vector", "design"])
@pytest.mark.parametrize("sizes", [[2, 3], [2, 2, 3], [1, 2, 1, 2], [4, 4]])
def test_all_assignments_one_per_class(kind, sizes):
    codes = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(0)
    codes = rng.permutation(codes)  # groups need not be contiguous
    got = _stack(perms.all_assignments(codes, kind))
    n_expected = perms.count_assignments(sizes)
    assert got.shape == (n_expected, codes.size)
    # each row is a permutation
    np.testing.assert_array_equal(
        np.sort(got, axis=1), np.tile(np.arange(codes.size), (n_expected, 1))
    )
    if kind == "design":
        labels = codes[got]  # label sequence of the permuted design
    else:
        labels = np.empty_like(got)
        np.put_along_axis(labels, got, np.broadcast_to(codes, got.shape), axis=1)
    # the label sequences are all distinct and are exactly the multiset permutations
    assert np.unique(labels, axis=0).shape[0] == n_expected
    np.testing.assert_array_equal(np.sort(labels, axis=1)[0], np.sort(codes))


def test_random_blocks_do_not_depend_on_batching():
    rng1 = np.random.default_rng(5)
    rng2 = np.random.default_rng(5)
    a = _stack(perms.random_blocks(rng1, {"obs": 9}, 10_000), "obs")
    b = _stack(perms.rebatch(perms.random_blocks(rng2, {"obs": 9}, 10_000), 777), "obs")
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10_000, 9)
    np.testing.assert_array_equal(np.sort(a, axis=1), np.tile(np.arange(9), (10_000, 1)))


def test_rebatch_sizes():
    blocks = perms.random_blocks(np.random.default_rng(0), {"obs": 4}, 10_000)
    sizes = [b["obs"].shape[0] for b in perms.rebatch(blocks, 3000)]
    assert sizes == [3000, 3000, 3000, 1000]


def test_random_permutations_uniform():
    rng = np.random.default_rng(11)
    draws = _stack(perms.random_blocks(rng, {"obs": 3}, 60_000), "obs")
    _, counts = np.unique(draws, axis=0, return_counts=True)
    assert counts.size == 6
    assert np.all(np.abs(counts - 10_000) < 500)


def test_check_permutation_matrix_valid():
    out = perms.check_permutation_matrix(np.array([[1, 0, 2], [2, 1, 0]], dtype=np.int32), 3)
    assert out.dtype == np.intp and out.shape == (2, 3)


@pytest.mark.parametrize(
    "matrix, error, match",
    [
        (np.array([[0.0, 1.0, 2.0]]), TypeError, "integer"),
        (np.array([[True, False, True]]), TypeError, "integer"),
        (np.array([0, 1, 2]), ValueError, "shape"),
        (np.array([[0, 1]]), ValueError, "shape"),
        (np.array([[1, 2, 3]]), ValueError, "0-based"),
        (np.array([[0, 0, 2]]), ValueError, "permutation"),
        (np.zeros((0, 3), dtype=int), ValueError, "shape"),
    ],
)
def test_check_permutation_matrix_errors(matrix, error, match):
    with pytest.raises(error, match=match):
        perms.check_permutation_matrix(matrix, 3)
