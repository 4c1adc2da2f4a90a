"""The exact integer arithmetic that re-decides permutations inside the tie band."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

import permanova
from permanova import _exact


def test_integer_vector_is_an_exact_power_of_two_multiple():
    values = np.array([0.1, -2.5, 3.0, 2.0**-40, 0.0])
    ints, scale = _exact.integer_vector(values)
    ratios = {Fraction(int(i)) / Fraction(float(v)) for i, v in zip(ints, values) if v != 0}
    assert ratios == {Fraction(scale)}
    assert scale & (scale - 1) == 0  # a power of two


def test_projection_matches_floats_and_handles_rank_deficiency():
    rng = np.random.default_rng(0)
    m = np.column_stack([np.ones(6), [1, 1, -1, -1, 0, 0], [1, 1, -1, -1, 0, 0]])  # repeated
    v = rng.integers(-50, 50, size=(3, 6)).astype(object)
    got = _exact.Projection.of(m).squares(v)
    q = np.linalg.qr(m[:, :2])[0]
    expected = ((v.astype(float) @ q) ** 2).sum(axis=1)
    np.testing.assert_allclose([float(g) for g in got], expected, rtol=1e-12)
    residual = _exact.residual(v[0], m)
    assert all(int(x) == x for x in residual)
    assert not np.any((m.T.astype(int) @ residual).astype(float))  # orthogonal to M exactly


def test_no_columns_projects_to_zero():
    projection = _exact.Projection.of(np.zeros((4, 0)))
    assert projection.squares(np.ones((2, 4), dtype=object)) == [0, 0]


def test_ratio_conventions():
    stat = _exact.ExactStatistic(lambda: None)
    assert stat.sums is None  # too large: the engine then counts the band as ties
    assert _exact._ratio(Fraction(0), Fraction(0)) == 0
    assert _exact._ratio(Fraction(1), Fraction(0)) == float("inf")


NEAR_TIE = (
    "0x1.1b102a0e5eba6p-2 0x1.1a5b57c9062d6p-2 0x1.1b34541c3d3d0p-2 0x1.1ae2f57d08972p-2 "
    "0x1.1aa3abe4c3329p-2 0x1.1ac7d5f2a1b53p-2 0x1.1ad9eaf990f68p-2 0x1.1aa3abe4c3329p-2"
)


def _near_tie_frame():
    y = [float.fromhex(h) for h in NEAR_TIE.split()]
    return pd.DataFrame({"g": np.repeat(["g0", "g1", "g2", "g3"], 2), "y": y})


def test_near_tie_is_not_counted():
    # two permutations differ from the observed F by ~1e-16 relative: not ties
    res = permanova.aovperm(_near_tie_frame(), "y", between="g", exact=True)
    assert res.table.loc["g", "p_permutation"] * 105 == pytest.approx(65)


def test_designs_too_large_for_exact_arithmetic_count_the_band_as_ties(monkeypatch):
    monkeypatch.setattr(_exact, "MAX_ROWS", 4)
    res = permanova.aovperm(_near_tie_frame(), "y", between="g", exact=True)
    assert res.table.loc["g", "p_permutation"] * 105 == pytest.approx(67)  # conservative
    data = pd.DataFrame({"g": ["a", "b", "c", "c"], "y": [0.0, 2.0, 0.0625, 0.0]})
    res = permanova.aovperm(data, "y", between="g", exact=True)
    assert res.table.loc["g", "p_permutation"] * 12 == pytest.approx(6)  # ties still count


def test_integer_matrix_scales_covariate_columns_exactly():
    """Coded columns stay; a covariate column becomes integers times one power of two."""
    from fractions import Fraction

    from permanova._exact import integer_matrix

    x = np.array([[1.0, 0.1, 3.0], [1.0, -2.75, 1e-3], [-1.0, 0.5, 2.0]])
    out = integer_matrix(x)
    assert [int(v) for v in out[:, 0]] == [1, 1, -1]
    for j in (1, 2):
        ratios = {Fraction(int(out[i, j])) / Fraction(float(x[i, j])) for i in range(3)}
        assert len(ratios) == 1  # one exact scale per column
        (scale,) = ratios
        assert scale.denominator == 1 and scale.numerator & (scale.numerator - 1) == 0


def test_covariate_design_ties_are_decided_exactly():
    """A covariate with fractional values: p-values of every permutation against an exact
    rational brute force (ties included)."""
    import itertools
    from fractions import Fraction

    import pandas as pd

    from permanova._exact import Projection

    g = np.array(["a", "a", "a", "b", "b", "b"])
    x = np.array([0.1, 0.3, 0.1, 0.3, 0.1, 0.3])
    y = np.array([1.0, 2.0, 2.0, 1.0, 3.0, 3.0]) + 1e6
    data = pd.DataFrame({"g": g, "x": x, "y": y})
    perms = np.array(list(itertools.permutations(range(6)))[1:])
    res = permanova.aovperm(data, "y ~ g + x", permutations=perms, method="manly")
    code = np.where(g == "a", 1, -1)
    xs = [Fraction(float(v)) for v in x]
    full = np.array([[1, c, v * 10**17] for c, v in zip(code, xs)], dtype=object)
    full = np.vectorize(int, otypes=[object])(full)
    ys = [Fraction(float(v)) - Fraction(10**6) for v in y]
    yi = np.array([int(v * 8) for v in ys], dtype=object)
    for effect, column in (("g", 1), ("x", 2)):
        reduced = np.delete(full, column, axis=1)
        pf, pr = Projection.of(full), Projection.of(reduced)
        stats = []
        for p in [tuple(range(6)), *map(tuple, perms)]:
            v = yi[list(p)]
            a, b = pf.squares(v[None])[0], pr.squares(v[None])[0]
            total = sum(int(t) * int(t) for t in v)
            num, den = a - b, total - a
            stats.append(Fraction(0) if num == 0 else (float("inf") if den == 0 else num / den))
        observed = stats[0]
        count = sum(1 for s in stats if s >= observed)
        assert res.table.loc[effect, "p_permutation"] == pytest.approx(
            count / len(stats), abs=1e-15
        ), effect
