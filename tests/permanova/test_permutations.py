"""Counting, exact enumeration, random blocks and user matrices."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

import permanova
from permanova import _permutations as perms


def _stack(blocks, key="obs"):
    return np.concatenate([block.permutations()[key] for block in blocks])


def test_counts():
    assert perms.count_at_most([1] * 5, 120) == 120
    assert perms.count_at_most([1] * 5, 119) is None
    assert perms.count_at_most([2, 2, 3], 10**6) == math.factorial(7) // (2 * 2 * 6)
    assert perms.count_at_most([10, 10, 10], 10**13) == 5550996791340
    assert perms.count_at_most([10, 10, 10], 5550996791339) is None


def test_counts_of_huge_designs_by_logarithms():
    # a million rows: never a factorial of a million (decided by lgamma)
    assert perms.count_at_most([500_000, 500_000], 10**7) is None
    assert perms.count_at_most([1] * 171, 10**7) is None  # 171! overflows a float
    assert perms.log_count([1] * 171) == pytest.approx(math.lgamma(172))
    assert perms.log_count([3, 4]) == pytest.approx(math.log(35))


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
    n_expected = perms.count_at_most(sizes, 10**6)
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


def test_random_blocks_depend_only_on_the_seed_and_the_units():
    a = _stack(perms.random_blocks(np.random.default_rng(5), {"obs": 9}, 10_000), "obs")
    b = _stack(perms.random_blocks(np.random.default_rng(5), {"obs": 9}, 4_096), "obs")
    np.testing.assert_array_equal(a[:4_096], b)  # a longer run extends a shorter one
    assert a.shape == (10_000, 9)
    np.testing.assert_array_equal(np.sort(a, axis=1), np.tile(np.arange(9), (10_000, 1)))


def test_block_and_chunk_rows():
    assert perms.block_rows({"obs": 30}) == perms.BLOCK_SIZE
    assert perms.chunk_rows({"obs": 30}) == perms.EVAL_ROWS
    assert perms.block_rows({"obs": 2**20}) == 16 == perms.chunk_rows({"obs": 2**20})


def test_user_blocks():
    matrix = np.tile(np.arange(3), (10, 1))
    blocks = list(perms.user_blocks({"obs": matrix}, 4))
    assert [b.permutations()["obs"].shape[0] for b in blocks] == [4, 4, 2]
    assert [b.start for b in blocks] == [0, 4, 8]


def test_a_block_gives_the_same_permutations_each_time():
    """A random block keeps its own generator: drawing it twice (two threads, a retried
    Dask task) gives the same rows."""
    (block,) = perms.random_blocks(np.random.default_rng(3), {"obs": 7, "e": 5}, 100)
    first, second = block.permutations(), block.permutations()
    for key in ("obs", "e"):
        np.testing.assert_array_equal(first[key], second[key])


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


BIT_GENERATORS = (
    np.random.PCG64,
    np.random.PCG64DXSM,
    np.random.MT19937,
    np.random.Philox,
    np.random.SFC64,
)


@pytest.mark.parametrize("bit_generator", BIT_GENERATORS)
def test_compiled_draw_equals_generator_permuted(bit_generator):
    """The numba draw gives numpy's permutations and leaves the generator in numpy's state."""
    pytest.importorskip("numba")
    from permanova._compiled import permuted_rows

    for seed in range(3):
        for n_units in (1, 2, 3, 30, 69, 1001):
            ours = np.random.Generator(bit_generator(seed))
            numpy = np.random.Generator(bit_generator(seed))
            got = permuted_rows(ours, 40, n_units)
            rows = np.tile(np.arange(n_units), (40, 1))
            np.testing.assert_array_equal(got, numpy.permuted(rows, axis=1))
            assert ours.integers(2**62) == numpy.integers(2**62)


@pytest.mark.parametrize("buffered", [False, True])
@pytest.mark.parametrize("n_units", [2, 3, 17, 64, 65, 257, 4099])
def test_compiled_pcg64_draw_keeps_numpy_state(buffered, n_units):
    """PCG64's inline draw over many refills of its output buffer, starting with or
    without a buffered half word: numpy's permutations and numpy's exact state after."""
    pytest.importorskip("numba")
    from permanova._compiled import permuted_rows

    ours, numpy = np.random.default_rng(n_units), np.random.default_rng(n_units)
    if buffered:  # one 32-bit draw leaves the high half of a 64-bit output buffered
        assert ours.integers(7, dtype=np.uint32) == numpy.integers(7, dtype=np.uint32)
    for rows in (1, 2, 300):
        got = permuted_rows(ours, rows, n_units)
        expected = numpy.permuted(np.tile(np.arange(n_units), (rows, 1)), axis=1)
        np.testing.assert_array_equal(got, expected)
        assert ours.bit_generator.state == numpy.bit_generator.state


def test_compiled_blocks_equal_numpy_blocks():
    """``compiled=True`` changes how a block is drawn, never what (without numba it falls
    back to numpy)."""
    sizes = {"obs": 23, "e": 9}
    plain = list(perms.random_blocks(np.random.default_rng(4), sizes, 5000))
    compiled = list(perms.random_blocks(np.random.default_rng(4), sizes, 5000, compiled=True))
    for a, b in zip(plain, compiled, strict=True):
        for key in sizes:
            np.testing.assert_array_equal(a.permutations()[key], b.permutations()[key])


@pytest.mark.parametrize("group_size", [1, 2, 3, 4, 6])
def test_compiled_group_square_sums_equal_numpy(rng, group_size):
    """The compiled squared group sums are NumPy's up to the order of the additions."""
    pytest.importorskip("numba")
    from permanova._compiled import group_square_sums
    from permanova._screens import numpy_group_sums

    values = np.ascontiguousarray(rng.normal(size=(69, 17)) * 10.0 ** rng.integers(-8, 8, 17))
    table_perms = np.array([rng.permutation(69) for _ in range(11)])
    cells = rng.permutation(69)[: 69 // group_size * group_size].reshape(-1, group_size)
    sums = numpy_group_sums(values, table_perms[:, cells])
    expected = np.einsum("gbm,gbm->bm", sums, sums)
    got = group_square_sums(values, table_perms, cells)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


def test_compiled_screen_helpers_equal_numpy(rng):
    """The compiled inverse permutations and screen ratio are NumPy's."""
    pytest.importorskip("numba")
    from permanova._compiled import inverse_rows, screen_ratio
    from permanova._screens import _inverse, _ratio_and_error

    perms_ = np.array([rng.permutation(31) for _ in range(7)])
    np.testing.assert_array_equal(inverse_rows(perms_), _inverse(perms_))
    tested = rng.normal(size=(2, 9, 4)) * 10.0 ** rng.integers(-10, 10, (1, 9, 4))
    tested[:, 0, 0] = 0.0
    fitted = np.concatenate([tested, rng.normal(size=(1, 9, 4))])
    total = np.einsum("cbm,cbm->bm", fitted, fitted) + rng.normal(size=(9, 4)) ** 2
    total[1, 1] = np.einsum("c,c->", fitted[:, 1, 1], fitted[:, 1, 1])  # den 0
    num = np.einsum("cbm,cbm->bm", tested, tested)
    den = total - np.einsum("cbm,cbm->bm", fitted, fitted)
    delta, err_den, zero = np.array([1e-9, 1e-3, 1e-12, 0.0]), np.full(4, 1e-8), np.full(4, 1e-30)
    err_num = 2.0 * np.sqrt(np.abs(num)) * delta + delta**2
    with np.errstate(divide="ignore", invalid="ignore"):
        want = _ratio_and_error(num, den, 2.0, 11.0, err_num, err_den, zero)
        got = screen_ratio(tested, fitted, total, 2.0, 11.0, delta, err_den, zero)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_array_equal(np.isinf(got[1]), np.isinf(want[1]))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)


@pytest.mark.parametrize(
    ("design", "method"),
    [
        ("oneway", "freedman_lane"),
        ("twoway", "manly"),
        ("twoway", "ter_braak"),
        ("twoway", "kennedy"),
        ("twoway", "huh_jhun"),
        ("mixed", "rd_kheradpajouh_renaud"),
        ("mixed", "rde_kheradpajouh_renaud"),
        ("within2", "rd_kheradpajouh_renaud"),
    ],
)
def test_compiled_kernels_give_the_numpy_results(monkeypatch, design, method):
    """Forcing the compiled draws (and the compiled sums of the vector methods) on a short
    run changes no p-value, and the null F agree to rounding (the sums are added in
    another order)."""
    pytest.importorskip("numba")
    from permanova import _engine, _kernels

    rng = np.random.default_rng(11)
    frame, factors = _compiled_case(design, rng)
    options = dict(n_resamples=3000, exact=False, random_state=2, method=method, return_null=True)
    plain = permanova.aovperm(frame, "y", **factors, **options)
    monkeypatch.setattr(_engine, "COMPILED_WORK", 0)
    monkeypatch.setattr(perms, "COMPILED_WORK", 0)
    calls = []
    for module in (_kernels, perms):
        monkeypatch.setattr(module, "compiled", _counted(_kernels.compiled, calls))
    fast = permanova.aovperm(frame, "y", **factors, **options)
    assert "permuted_rows_pcg64" in calls
    assert ("stratum_sums" if design in ("mixed", "within2") else "vector_sums") in calls
    pd.testing.assert_frame_equal(plain.table, fast.table)
    np.testing.assert_allclose(fast.null_distribution, plain.null_distribution, rtol=1e-9)


def _counted(loader, calls):
    """``loader`` recording the names of the compiled kernels it hands out."""

    def counted(name):
        calls.append(name)
        return loader(name)

    return counted


def _compiled_case(design, rng):
    if design == "oneway":
        frame = pd.DataFrame({"g": np.repeat(list("abc"), 7), "y": rng.normal(size=21)})
        return frame, {"between": "g"}
    if design == "twoway":
        frame = pd.DataFrame(
            {
                "a": np.tile(list("xy"), 12),
                "b": np.repeat(list("pqr"), 8),
                "y": rng.normal(size=24) + 1e6,
            }
        )
        return frame, {"between": ["a", "b"]}
    subjects = 10
    cells = 6 if design == "within2" else 3
    frame = pd.DataFrame(
        {
            "s": np.repeat(np.arange(subjects), cells),
            "c": np.tile(np.arange(cells) % 3, subjects),
            "d": np.tile(np.arange(cells) // 3, subjects),
            "t": np.repeat(np.arange(subjects) % 2, cells),
        }
    )
    frame["y"] = rng.normal(size=len(frame)) + frame["s"] * 0.5
    if design == "within2":
        return frame, {"subject": "s", "within": ["c", "d"]}
    return frame, {"subject": "s", "between": "t", "within": "c"}
