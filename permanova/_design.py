"""Model matrices for factorial ANOVA: sum-to-zero coding, effects, bases and strata.

Everything here is pure numpy/scipy. A :class:`Design` holds the fixed-effect model matrix
(intercept first, then one block of columns per effect, as R's ``model.matrix`` with
``contr.sum``), the ``assign`` map from columns to effects and, for repeated measures, the
layout of the subject-by-within-cell table whose means give the error strata of
``Error(subject/within)``. An :class:`Outcome` holds one outcome, scaled and centred.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import scipy.linalg

from permanova import _exact

# Relative tolerance of the rank decisions (R's ``qr`` uses 1e-7 as well).
RANK_TOL = 1e-7
#: Safety factor of the rounding bounds (see :func:`rounding_bound`).
TIE_FACTOR = 8.0
_EPS = np.finfo(float).eps


def rounding_bound(n: int, width: int) -> float:
    """Relative rounding error of a norm ``||B' v||`` or ``||v - B B' v||`` (``B``: n x width).

    Each entry of ``v @ B`` is a sum of ``n`` products, and the bases themselves carry the
    rounding of their QR factorisation; :data:`TIE_FACTOR` ``(width + 1) n eps`` bounds
    both with a margin (the rounding errors that really occur grow like ``sqrt(n) eps``).
    """
    return TIE_FACTOR * (width + 1) * max(n, 1) * _EPS


@dataclass(frozen=True)
class Design:
    """A coded factorial design (internal): everything the methods need but the outcome.

    Nothing here grows faster than the number of rows: the error strata of repeated
    measures are means over the subject-by-within-cell table (:attr:`row_order`,
    :attr:`table_shape`), never a matrix of subject indicators.

    Attributes
    ----------
    X : ndarray of shape (n, p)
        Fixed-effect model matrix: intercept, then the sum-coded columns of every effect.
    assign : ndarray of shape (p,)
        Effect of each column: 0 for the intercept, ``i`` for ``effects[i - 1]``.
    effects : tuple of str
        Effect names in model order (main effects, then two-way interactions, ...).
    effect_factors : tuple of tuple of str
        The factors of each effect.
    between, within : tuple of str
        Between-subjects and within-subject factors.
    cells : ndarray of shape (n,) or None
        The cell (combination of the levels of every factor) of each row; None for a
        model whose column space need not hold the cell means (a formula that is not the
        full factorial of its factors, or has covariates).
    subjects : ndarray of shape (n,) or None
        Subject codes ``0..n_subjects - 1`` (repeated-measures designs only).
    group_codes : ndarray of shape (n,) or None
        Cell of the single between factor (one-way between designs only).
    row_order : ndarray of shape (n,) or None
        Repeated measures only: the rows sorted by subject, then by the within factors
        (first factor slowest), so that ``v[row_order].reshape(table_shape)`` is the
        complete subject-by-within-cell table (one observation per cell is required).
    table_shape : tuple of int or None
        ``(n_subjects, n_levels(within_1), ...)``.
    """

    X: np.ndarray
    assign: np.ndarray
    effects: tuple
    effect_factors: tuple
    between: tuple
    within: tuple
    cells: np.ndarray | None
    subjects: np.ndarray | None = None
    group_codes: np.ndarray | None = None
    row_order: np.ndarray | None = None
    table_shape: tuple | None = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def repeated(self) -> bool:
        return len(self.within) > 0

    @property
    def oneway_between(self) -> bool:
        return len(self.between) == 1 and not self.within

    @property
    def n_subjects(self) -> int:
        return 0 if self.table_shape is None else self.table_shape[0]

    def columns(self, effect_index: int) -> np.ndarray:
        """Boolean mask of the model-matrix columns of effect ``effect_index`` (1-based)."""
        return self.assign == effect_index

    def within_part(self, effect_index: int) -> int:
        """Index (1-based) of the effect made of the within factors of an effect, 0 if none.

        This is the stratum of the effect under ``Error(subject/within)``: ``type`` -> 0
        (subjects), ``cond`` and ``type:cond`` -> ``cond``.
        """
        factors = self.effect_factors[effect_index - 1]
        part = tuple(f for f in factors if f in self.within)
        if not part:
            return 0
        return self.effect_factors.index(part) + 1

    def table_order(self) -> list[int]:
        """Effect indices (1-based) in the order of the output table.

        Between designs keep the model order. Repeated-measures designs group the effects
        by stratum, as permuco does: between-subjects effects first, then each within
        effect followed by its interactions with between factors.
        """
        indices = list(range(1, len(self.effects) + 1))
        if not self.repeated:
            return indices
        return sorted(
            indices,
            key=lambda i: (self.within_part(i), len(self.effect_factors[i - 1])),
        )

    def subject_matrix(self) -> np.ndarray:
        """Sum-coded subject indicators, ``n x (n_subjects - 1)``: for the exact
        arithmetic of small designs only (callers check the size first)."""
        return sum_coding(self.subjects, self.n_subjects)


@dataclass(frozen=True, eq=False)
class Outcome:
    """One outcome of a design (internal).

    Attributes
    ----------
    name : str
        The column it comes from.
    y : ndarray of shape (n,)
        The outcome, scaled by ``2**-exponent`` (exact) so that its largest magnitude is
        below 1, then centred: every statistic is invariant to both, and no square can
        overflow or underflow.
    scaled : ndarray of shape (n,)
        The scaled outcome, not centred.
    scale : float
        ``||y||``: the rounding errors of every sum of squares are relative to it
        (:func:`rounding_bound`).
    exponent : int
        The binary exponent removed (sums of squares scale by ``4**exponent``).
    """

    name: str
    y: np.ndarray
    scaled: np.ndarray
    scale: float
    exponent: int

    @classmethod
    def of(cls, name: str, values: np.ndarray) -> Outcome:
        scaled, exponent = scale_outcome(values)
        centred = scaled - scaled.mean()
        return cls(name, centred, scaled, float(np.sqrt(centred @ centred)), exponent)

    @functools.cached_property
    def integers(self) -> tuple[np.ndarray, int]:
        """The scaled outcome as exact integers (times one power of two) and that power
        of two: the start of every exact statistic (built when one is needed)."""
        return _exact.integer_vector(self.scaled)


def sum_coding(codes: np.ndarray, n_levels: int) -> np.ndarray:
    """Sum-to-zero (deviation) coding of integer level codes: ``n_levels - 1`` columns.

    Level ``j < n_levels - 1`` is the unit vector ``e_j``; the last level is all ``-1``
    (R's ``contr.sum``).
    """
    coded = np.zeros((codes.shape[0], n_levels - 1))
    rows = np.flatnonzero(codes < n_levels - 1)
    coded[rows, codes[rows]] = 1.0
    coded[codes == n_levels - 1, :] = -1.0
    return coded


def row_kronecker(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Kronecker (Khatri-Rao) product; the columns of ``a`` vary fastest.

    An empty ``b`` returns ``a`` (as permuco's ``khatrirao``).
    """
    if b.shape[1] == 0:
        return a
    return (b[:, :, None] * a[:, None, :]).reshape(a.shape[0], -1)


def effect_terms(factors: list[str]) -> list[tuple[str, ...]]:
    """Terms of the full factorial in R's order: main effects, then 2-way, 3-way, ..."""
    return [
        combo for order in range(1, len(factors) + 1) for combo in combinations(factors, order)
    ]


def build_design(
    codes: dict[str, np.ndarray],
    n_levels: dict[str, int],
    between: list[str],
    within: list[str],
    subject_codes: np.ndarray | None,
    model: tuple | None = None,
) -> Design:
    """Code a design: by default the full factorial of ``between + within`` factors
    (sum-to-zero coding); ``model`` is ``(X, assign, effect names, effect variables)`` of
    any other model (a formula's, covariates included), its rows in the order of
    ``codes``."""
    factors = list(between) + list(within)
    if model is None:
        X, assign, effects, effect_factors = _full_factorial(codes, n_levels, factors)
        cells = np.zeros(X.shape[0], dtype=np.intp)
        for f in factors:
            cells = cells * n_levels[f] + codes[f]
        cells = np.unique(cells, return_inverse=True)[1].reshape(-1)
    else:
        X, assign, effects, effect_factors = model
        cells = None  # the cell means need not lie in the model
    row_order = table_shape = None
    if within:
        # lexsort: the last key is the primary one
        keys = [codes[f] for f in reversed(within)] + [subject_codes]
        row_order = np.lexsort(keys)
        table_shape = (int(subject_codes.max()) + 1, *(n_levels[f] for f in within))
    oneway = model is None and len(between) == 1 and not within
    return Design(
        X=X,
        assign=np.asarray(assign),
        effects=tuple(effects),
        effect_factors=tuple(effect_factors),
        between=tuple(between),
        within=tuple(within),
        cells=cells,
        subjects=subject_codes if within else None,
        group_codes=codes[between[0]] if oneway else None,
        row_order=row_order,
        table_shape=table_shape,
    )


def _full_factorial(codes: dict, n_levels: dict, factors: list) -> tuple:
    """``(X, assign, effect names, effect factors)`` of the full factorial of ``factors``."""
    main = {f: sum_coding(codes[f], n_levels[f]) for f in factors}
    n = next(iter(codes.values())).shape[0]
    blocks = [np.ones((n, 1))]
    assign = [0]
    terms = effect_terms(factors)
    for index, term in enumerate(terms, start=1):
        block = main[term[0]]
        for factor in term[1:]:
            block = row_kronecker(block, main[factor])
        blocks.append(block)
        assign.extend([index] * block.shape[1])
    return np.hstack(blocks), assign, [":".join(term) for term in terms], terms


def scale_outcome(y: np.ndarray) -> tuple[np.ndarray, int]:
    """``(y * 2**-e, e)`` with ``e`` the binary exponent of ``max |y|`` (exact scaling).

    The design then centres the scaled outcome: subtracting the mean rounds each value
    relative to the result (not to the offset), so huge offsets cost no accuracy, and the
    rounding of the mean itself is a constant, which no statistic sees.
    """
    y = np.asarray(y, dtype=np.float64)
    largest = float(np.max(np.abs(y))) if y.size else 0.0
    exponent = int(np.frexp(largest)[1]) if largest > 0 else 0
    return np.ldexp(y, -exponent), exponent


def column_scale(a: np.ndarray) -> float:
    """Largest column norm of ``a`` (0 for an empty matrix)."""
    if a.size == 0:
        return 0.0
    return float(np.sqrt((a * a).sum(axis=0)).max())


def orthonormal_basis(a: np.ndarray, tol: float = RANK_TOL, scale: float | None = None):
    """Orthonormal basis of the column space of ``a`` by pivoted QR (rank-revealing).

    Columns whose pivot is below ``tol * scale`` are treated as linearly dependent, so
    the number of columns returned is the rank. ``scale`` defaults to the largest column
    norm of ``a``; for a residualised matrix pass the norm *before* residualisation, so
    that a column left with rounding errors only counts as zero.
    """
    n, k = a.shape
    if k == 0:
        return np.zeros((n, 0))
    if scale is None:
        scale = column_scale(a)
    if scale == 0.0:
        return np.zeros((n, 0))
    q, r, _ = scipy.linalg.qr(a, mode="economic", pivoting=True)
    rank = int(np.count_nonzero(np.abs(np.diag(r)) > tol * scale))
    return q[:, :rank]


def cell_means(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The mean of ``values`` over each group, for every element (``groups``: codes).

    One refinement step (the mean of the deviations from the first mean is added) makes
    the mean accurate relative to the spread of the group, not to its level: a group of
    equal values gets exactly their value.
    """
    counts = np.maximum(np.bincount(groups), 1)
    means = np.bincount(groups, weights=values) / counts
    correction = np.bincount(groups, weights=values - means[groups]) / counts
    return (means + correction)[groups]


def residualize(basis: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Residuals of ``a`` (vector or matrix) after projection on an orthonormal basis."""
    return a - basis @ (basis.T @ a)


def complement_basis(a: np.ndarray, tol: float = RANK_TOL) -> np.ndarray:
    """Orthonormal basis (n x (n - rank)) of the orthogonal complement of ``col(a)``.

    The trailing columns of the complete Householder QR of ``a``, as R's
    ``qr.Q(qr(a), complete = TRUE)[, -(1:rank)]``.
    """
    n, k = a.shape
    rank = orthonormal_basis(a, tol).shape[1]
    # Without pivoting when a has full column rank, so that the basis is the one R builds.
    if rank == k:
        q, _ = scipy.linalg.qr(a, mode="full")
    else:
        q, _, _ = scipy.linalg.qr(a, mode="full", pivoting=True)
    return q[:, rank:n]
