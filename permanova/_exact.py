"""Exact rational statistics, for the few permutations whose F ties with the observed one.

Floating point cannot tell an exact tie from an F that differs from the observed one by
less than its rounding error. The engine therefore decides the permutations inside the
tie band (:meth:`permanova._methods.Ratio.tie_tolerance`) again here, in integer
arithmetic on the data as given: the outcome's floats are scaled to integers, the coded
model matrices are integers, and every sum of squares is an exact rational. Only exact
ties and the rare near ties fall inside the band, so this costs little.

An :class:`ExactStatistic` maps a batch of permutations to exact ``(num, den)`` pairs;
F is ``(num / df_num) / (den / df_den)`` as for the float kernels, with ``0 / 0 = 0``
and ``x / 0 = inf``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from permanova._transform import transform


def integer_vector(values: np.ndarray) -> tuple[np.ndarray, int]:
    """The floats ``values`` times one power of two, as exact Python integers, and that
    power of two."""
    fractions = [Fraction(float(v)) for v in values]
    scale = max((f.denominator for f in fractions), default=1)
    return np.array([int(f * scale) for f in fractions], dtype=object), scale


def integer_matrix(matrix: np.ndarray) -> np.ndarray:
    """A model matrix as exact Python ints: integer columns (coded factors) as they are,
    any other column (a covariate) times the power of two that makes it integral. Scaling
    a column leaves its span, hence every projection, unchanged."""
    if matrix.dtype == object:
        return np.vectorize(int, otypes=[object])(matrix) if matrix.size else matrix
    if np.array_equal(matrix, np.rint(matrix)):
        return np.rint(matrix).astype(np.int64).astype(object)
    columns = [integer_vector(column)[0] for column in matrix.T]
    return np.stack(columns, axis=1)


def _independent_columns(matrix: np.ndarray) -> list[int]:
    """Indices of a maximal set of linearly independent columns (exact elimination)."""
    rows = [[Fraction(int(v)) for v in row] for row in matrix.T @ matrix]  # the Gram matrix
    chosen: list[int] = []
    basis: list[list[Fraction]] = []  # reduced rows of the chosen columns' Gram rows
    for j, row in enumerate(rows):
        reduced = list(row)
        for pivot_col, pivot_row in zip(chosen, basis, strict=True):
            if reduced[pivot_col] != 0:
                factor = reduced[pivot_col] / pivot_row[pivot_col]
                reduced = [a - factor * b for a, b in zip(reduced, pivot_row, strict=True)]
        if reduced[j] != 0:
            chosen.append(j)
            basis.append(reduced)
    return chosen


def _inverse(gram: np.ndarray) -> list[list[Fraction]]:
    """Exact inverse of a nonsingular integer matrix (Gauss-Jordan on fractions)."""
    k = gram.shape[0]
    rows = [
        [Fraction(int(v)) for v in gram[i]] + [Fraction(int(i == j)) for j in range(k)]
        for i in range(k)
    ]
    for col in range(k):
        pivot = next(r for r in range(col, k) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for r in range(k):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [row[k:] for row in rows]


@dataclass(frozen=True)
class Projection:
    """``||H_M v||^2`` for a fixed integer matrix ``M`` and integer vectors ``v``."""

    columns: np.ndarray  # (n, r) independent columns of M, Python integers
    adjugate: np.ndarray  # (r, r) integers: det * (M'M)^-1
    det: int  # a common denominator of (M'M)^-1

    @classmethod
    def of(cls, matrix: np.ndarray) -> Projection:
        matrix = integer_matrix(matrix)
        cols = _independent_columns(matrix) if matrix.shape[1] else []
        columns = matrix[:, cols]
        if not cols:
            return cls(columns, np.zeros((0, 0), dtype=object), 1)
        inverse = _inverse(columns.T @ columns)
        det = math.lcm(*(value.denominator for row in inverse for value in row))
        adjugate = np.array([[int(v * det) for v in row] for row in inverse], dtype=object)
        return cls(columns, adjugate, det)

    def squares(self, v: np.ndarray) -> list[Fraction]:
        """``||H_M v_b||^2`` for every row ``v_b`` of ``v`` (c, n)."""
        if self.columns.shape[1] == 0:
            return [Fraction(0)] * v.shape[0]
        b = v @ self.columns
        quad = ((b @ self.adjugate) * b).sum(axis=1)
        return [Fraction(int(q), self.det) for q in quad]

    def residual(self, y: np.ndarray) -> np.ndarray:
        """``det * R_M y`` (integers) for an integer vector ``y``."""
        if self.columns.shape[1] == 0:
            return y.copy()
        coef = self.adjugate @ (self.columns.T @ y)
        return y * self.det - self.columns @ coef


def _norms2(v: np.ndarray) -> list[int]:
    return [int(x) for x in (v * v).sum(axis=1)]


#: Largest design decided in exact arithmetic: rows, and columns of a model matrix (its
#: exact elimination costs the cube of the columns). Larger designs count the permutations
#: of the tie band as ties.
MAX_ROWS = 5000
MAX_COLUMNS = 64


@dataclass(frozen=True)
class ExactStatistic:
    """Exact ``(num, den)`` of a kernel for a batch of permutations ``(c, n_units)``.

    ``build`` returns ``(sums, unit)``: the function that computes them, and the factor
    that turns them into sums of squares of the design's scaled outcome (the integers are
    that outcome times a constant). It runs on first use (most runs never need it) and
    returns None for a design too large to decide exactly.
    """

    build: Callable[[], tuple[Callable, Fraction] | None]

    @functools.cached_property
    def _built(self):
        return self.build()

    @property
    def sums(self) -> Callable[[np.ndarray], list[tuple[Fraction, Fraction]]] | None:
        return None if self._built is None else self._built[0]

    @property
    def unit(self) -> Fraction:
        return self._built[1]

    def extreme(self, perms: np.ndarray, observed: tuple, greater: bool) -> np.ndarray:
        """Whether each permutation's exact F is at least (at most) the observed F."""
        obs = _ratio(*observed)
        out = np.empty(perms.shape[0], dtype=bool)
        for b, pair in enumerate(self.sums(perms)):
            f = _ratio(*pair)
            out[b] = f >= obs if greater else f <= obs
        return out


def _ratio(num: Fraction, den: Fraction):
    """``num / den`` with ``0 / 0 = 0`` and ``x / 0 = inf`` (the df cancel in comparisons
    of F values of the same kernel)."""
    if num == 0:
        return Fraction(0)
    if den == 0:
        return float("inf")
    return num / den


def residual(y: np.ndarray, model: np.ndarray) -> np.ndarray:
    """``c * R_M y`` as integers (``c`` a positive integer) for integer ``y`` and ``M``
    (``y`` a vector or a matrix of columns)."""
    return scaled_residual(y, model)[0]


def scaled_residual(y: np.ndarray, model: np.ndarray) -> tuple[np.ndarray, int]:
    """``(c * R_M y, c)``: the integer residual and its factor ``c``."""
    projection = Projection.of(model)
    return projection.residual(integer_matrix(np.asarray(y))), projection.det


def small_enough(*matrices: np.ndarray) -> bool:
    """Whether a design with these model matrices is decided in exact arithmetic."""
    return all(m.shape[0] <= MAX_ROWS and m.shape[1] <= MAX_COLUMNS for m in matrices)


def vector_statistic(u: np.ndarray, full: np.ndarray, reduced: np.ndarray, den_from: str):
    """Permute the integer vector ``u``; num = ``||H_full v||^2 - ||H_D v||^2``.

    ``den_from="full"``: ``||v||^2 - ||H_full v||^2`` (freedman_lane, manly, ter_braak);
    ``"effect"``: ``||v||^2 - num`` (kennedy).
    """
    p_full, p_reduced = Projection.of(full), Projection.of(reduced)

    def sums(perms):
        v = transform(u, perms)
        fit_full, fit_reduced, norms = p_full.squares(v), p_reduced.squares(v), _norms2(v)
        out = []
        for a, b, c in zip(fit_full, fit_reduced, norms, strict=True):
            num = a - b
            out.append((num, c - (a if den_from == "full" else num)))
        return out

    return sums


def design_statistic(source: np.ndarray, reduced: np.ndarray, ry: np.ndarray):
    """Permute the rows of the integer matrix ``source``; num = ``||H_[D, S[p]] ry||^2``
    (``ry`` is orthogonal to ``D``), den = ``||ry||^2 - num`` (dekker, draper_stoneman)."""
    norm = int((ry * ry).sum())

    def sums(perms):
        out = []
        for p in perms:
            fit = Projection.of(np.hstack([reduced, transform(source, p[None])[0]]))
            fit = fit.squares(ry[None, :])[0]
            out.append((fit, norm - fit))
        return out

    return sums


def stratum_statistic(
    u: np.ndarray,
    full: np.ndarray,
    reduced: np.ndarray,
    fixed: np.ndarray,
    row_order: np.ndarray,
    table_shape: tuple,
    terms: tuple,
):
    """Repeated measures: num as :func:`vector_statistic`; den = ``||T_w v||^2 -
    ||H_F v||^2`` with ``T_w v = sum sign * (means over the within axes of a term)``."""
    p_full, p_reduced, p_fixed = Projection.of(full), Projection.of(reduced), Projection.of(fixed)
    within = table_shape[1:]
    total = int(np.prod(within)) if within else 1
    inverse = np.argsort(row_order)

    def stratum(v):
        """``total * T_w v`` (integers), in the rows' order."""
        table = v[:, row_order].reshape((v.shape[0], *table_shape))
        t = np.zeros(table.shape, dtype=object)
        for sign, axes in terms:
            count = int(np.prod([table_shape[a] for a in axes])) if axes else 1
            part = table.sum(axis=tuple(a + 1 for a in axes), keepdims=True) if axes else table
            t = t + (int(sign) * (total // count)) * part
        return t.reshape(v.shape[0], -1)[:, inverse]

    def sums(perms):
        v = transform(u, perms)
        t = stratum(v)
        num = [a - b for a, b in zip(p_full.squares(v), p_reduced.squares(v), strict=True)]
        # ||H_F v||^2 = ||H_F T_w v||^2: F lies in T_w
        fixed_fit = p_fixed.squares(t)
        den = [
            Fraction(n2, total * total) - f / (total * total)
            for n2, f in zip(_norms2(t), fixed_fit, strict=True)
        ]
        return list(zip(num, den, strict=True))

    return sums
