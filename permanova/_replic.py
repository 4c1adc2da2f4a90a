"""rd_replic_kheradpajouh_renaud on replicated observations (permuco 1.1.3).

With several observations of a subject in a within cell, permuco's
``fisher_Rd_replic_kheradPajouh_renaud_rnd`` permutes ``u = R_D y`` over all rows (``D``:
the model without the tested effect, on the full data), fits the permuted vector on the
subject-by-cell model and keeps one row per subject and cell: the subject-cell means
``m`` of ``u[p]`` (each observation weighted ``1 / count``, so unbalanced replicates are
allowed). On those reduced rows (``X_g``, ``D_g``: the model rows of each subject-cell)

    F = (||H_{R_{D_g} X_g} m||^2 / r_x) / (||H_{Z_g} m||^2 / r_z),

``Z_g = R_{X_g} (subject indicators * W_g)``, ``W`` the columns of the effect's within
part (the intercept for between-subjects effects), ``r`` the ranks. At the identity the
means of ``R_D y`` give the F of the subject-cell means of ``y`` (the means of ``H_D y``
lie in ``D_g``).

permuco's printed table (``effect_anova_rnd``) is computed on the full data instead:
``SS = ||H_{R_D X} y||^2``, ``SS_error = ||H_{R_D Z} y||^2`` with ``Z = R_X (subject
indicators * W)``, ``F`` their ratio over the ranks and its parametric p. Both spaces are
functions of (subject, cell), so :func:`replic_table` computes them on the reduced rows
weighted by ``sqrt(count)``. With balanced replicates (``r`` per subject-cell) every sum
of squares is ``r`` times that of the means and the table's F is the permuted F at the
identity; with unbalanced replicates they differ, and permuco's permutation p compares
the permuted F with the one at the identity (the first column of its distribution), not
with the table's F.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from permanova import _exact
from permanova._design import (
    Design,
    Outcome,
    cell_means,
    column_scale,
    orthonormal_basis,
    residualize,
    rounding_bound,
)
from permanova._kernels import Kernel, Ratio, gather, row_norms2
from permanova._table import f_pvalue

#: The columns of :func:`replic_table`.
TABLE_COLUMNS = ("df", "df_error", "SS", "SS_error", "F", "p_parametric")


@dataclass(frozen=True)
class Groups:
    """The subject-cells of the rows: ``codes`` (n,) in ``0..G-1`` by first appearance,
    the rows sorted by group (``order``), where each group starts in that order
    (``starts``), ``counts`` and one row of each group (``first``)."""

    codes: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    first: np.ndarray

    @classmethod
    def of(cls, subject_codes: np.ndarray, within_cells: np.ndarray) -> Groups:
        pairs = np.stack([np.asarray(subject_codes), np.asarray(within_cells)], axis=1)
        _, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
        # renumber by first appearance, as R's duplicated() keeps the first row
        rank = np.empty(first.shape[0], dtype=np.intp)
        rank[np.argsort(first, kind="stable")] = np.arange(first.shape[0])
        codes = rank[inverse.reshape(-1)]
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return cls(codes, order, starts, counts, np.sort(first))

    @property
    def size(self) -> int:
        return self.counts.shape[0]

    def means(self, v: np.ndarray) -> np.ndarray:
        """Group means of a batch ``v`` (b, n) whose columns are in ``order``: (b, G)."""
        return np.add.reduceat(v, self.starts, axis=1) / self.counts


@dataclass(frozen=True)
class ReplicKernel(Kernel):
    """F of one effect: the projections of the subject-cell means of ``u[p]`` on the
    orthonormal bases of ``R_{D_g} X_g`` (``basis_num``) and ``Z_g`` (``basis_den``)."""

    u: np.ndarray
    groups: Groups = field(repr=False)
    basis_num: np.ndarray = field(repr=False)  # (G, r_x)
    basis_den: np.ndarray = field(repr=False)  # (G, r_z)

    @property
    def units(self) -> int:
        return self.u.shape[0]

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        sorted_perms = gather(perms, self.groups.order, cache, axis=1)
        m = self.groups.means(gather(self.u, sorted_perms, cache))
        return row_norms2(m @ self.basis_num), row_norms2(m @ self.basis_den)


def subject_cell_groups(design: Design, within_cells: np.ndarray) -> Groups:
    """The subject-cells of ``design``'s rows, checking that its model is constant in each.

    Raises ValueError when ``within_cells`` does not have one code per row or when a model
    column (a covariate) varies between the replicates of a subject-cell: the means model
    of the method then has no single row per subject-cell.
    """
    within_cells = np.asarray(within_cells)
    if within_cells.shape != (design.n,):
        raise ValueError(
            f"within_cells must have one code per row ({design.n}); got shape {within_cells.shape}"
        )
    groups = Groups.of(design.subjects, within_cells)
    if not np.array_equal(design.X, design.X[groups.first][groups.codes]):
        raise ValueError(
            "rd_replic_kheradpajouh_renaud needs a model that is constant within each "
            "subject and within cell; a covariate varies between the replicates of a "
            "subject's cell"
        )
    return groups


def _within_columns(design: Design, i: int) -> np.ndarray:
    """Columns of the within part of effect ``i`` (the intercept for a between effect)."""
    return design.X[:, design.assign == design.within_part(i)]


def _indicators(codes: np.ndarray, n_levels: int) -> np.ndarray:
    out = np.zeros((codes.shape[0], n_levels))
    out[np.arange(codes.shape[0]), codes] = 1.0
    return out


def _bases(x: np.ndarray, assign: np.ndarray, z: np.ndarray, i: int, weights=None):
    """Orthonormal bases of ``R_D X_i`` and ``R_X Z`` (rows scaled by ``weights``)."""
    if weights is not None:
        x, z = x * weights[:, None], z * weights[:, None]
    tested = assign == i
    x_i = x[:, tested]
    q_num = orthonormal_basis(
        residualize(orthonormal_basis(x[:, ~tested]), x_i), scale=column_scale(x_i)
    )
    q_den = orthonormal_basis(residualize(orthonormal_basis(x), z), scale=column_scale(z))
    return q_num, q_den


def _error_columns(design: Design, groups: Groups, i: int) -> np.ndarray:
    """Subject indicators times the within part of effect ``i``, one row per group."""
    subjects = design.subjects[groups.first]
    z_id = _indicators(subjects, int(subjects.max()) + 1)
    w = _within_columns(design, i)[groups.first]
    return (w[:, :, None] * z_id[:, None, :]).reshape(w.shape[0], -1)


def replic_kernels(design: Design, within_cells: np.ndarray, outcome: Outcome) -> list[Kernel]:
    """The kernels of every effect (model order) of ``design`` for one outcome.

    Parameters
    ----------
    design : Design
        A repeated-measures design (``design.subjects`` set), its rows the observations,
        replicates included (:func:`permanova._design.build_design` with the replicated
        rows, or a formula's model).
    within_cells : ndarray of int of shape (n,)
        The within cell of each row (any codes: two rows of a subject are replicates when
        their codes are equal).
    outcome : Outcome
        The outcome (``Outcome.of``): its centred ``y`` is permuted, ``scale`` sets the
        rounding level and ``integers`` the exact statistic.

    Returns
    -------
    list of ReplicKernel
        ``unit_key="obs"``; ``exact`` decides ties in rational arithmetic for designs
        small enough (:func:`permanova._exact.small_enough`) with integer coded columns,
        else is None.
    """
    groups = subject_cell_groups(design, within_cells)
    x_g = design.X[groups.first]
    kernels = []
    for i in range(1, len(design.effects) + 1):
        z_g = _error_columns(design, groups, i)
        q_num, q_den = _bases(x_g, design.assign, z_g, i)
        reduced = orthonormal_basis(design.X[:, ~design.columns(i)])
        width = design.X.shape[1] + q_num.shape[1] + q_den.shape[1]
        kernels.append(
            ReplicKernel(
                unit_key="obs",
                u=residualize(reduced, outcome.y),
                groups=groups,
                basis_num=np.ascontiguousarray(q_num),
                basis_den=np.ascontiguousarray(q_den),
                ratio=Ratio(
                    df_num=q_num.shape[1],
                    df_den=q_den.shape[1],
                    noise=rounding_bound(design.n, width) * outcome.scale,
                ),
                exact=_exact.ExactStatistic(
                    functools.partial(_exact_replic, design, groups, z_g, outcome, i)
                ),
            )
        )
    return kernels


def replic_table(design: Design, within_cells: np.ndarray, outcome: Outcome) -> dict:
    """permuco's ANOVA table of replicated data, per effect (model order).

    ``df``/``df_error`` the ranks of ``R_D X`` and ``R_X Z``, ``SS``/``SS_error`` the
    squared projections of the full data on them (scaled outcome units, as
    :func:`permanova._table.observed_table`), ``F`` and ``p_parametric``. Sums of squares
    at the rounding level are exact zeros (F is then 0, inf or NaN for 0/0).
    """
    groups = subject_cell_groups(design, within_cells)
    x_g = design.X[groups.first]
    weights = np.sqrt(groups.counts)
    # within cells the outcome minus its cell means (each difference rounds relative to
    # itself; the means lie in the model), as observed_table does
    y = (
        outcome.y
        if design.cells is None
        else outcome.scaled - cell_means(outcome.scaled, design.cells)
    )
    totals = np.bincount(groups.codes, weights=outcome.y, minlength=groups.size) / weights
    within = np.bincount(groups.codes, weights=y, minlength=groups.size) / weights
    zero = (rounding_bound(design.n, design.X.shape[1]) * outcome.scale) ** 2
    out = {key: [] for key in TABLE_COLUMNS}
    for i in range(1, len(design.effects) + 1):
        q_num, q_den = _bases(x_g, design.assign, _error_columns(design, groups, i), i, weights)
        ss = float(row_norms2((totals @ q_num)[None])[0])
        sse = float(row_norms2((within @ q_den)[None])[0])
        ss, sse = (0.0 if s <= zero else s for s in (ss, sse))
        df, df_error = q_num.shape[1], q_den.shape[1]
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.float64(ss / df) / np.float64(sse / df_error) if df_error else np.nan
        for key, value in zip(
            TABLE_COLUMNS, (df, df_error, ss, sse, float(f), float(f_pvalue(f, df, df_error)))
        ):
            out[key].append(value)
    return out


def _exact_replic(design: Design, groups: Groups, z_g: np.ndarray, outcome: Outcome, i: int):
    """``(sums, unit)`` of the exact statistic of effect ``i``, or None (too large, or a
    model that is not integer coded)."""
    x_g = design.X[groups.first]
    den_model = np.hstack([x_g, z_g])
    if design.n > _exact.MAX_ROWS or not _exact.small_enough(design.X, den_model):
        return None
    if not np.array_equal(design.X, np.rint(design.X)):
        return None
    y, scale = outcome.integers
    u, factor = _exact.scaled_residual(y, design.X[:, ~design.columns(i)])
    lcm = math.lcm(*(int(c) for c in groups.counts))
    weight = np.array([lcm // int(c) for c in groups.counts], dtype=object)
    p_full = _exact.Projection.of(x_g)
    p_reduced = _exact.Projection.of(x_g[:, ~design.columns(i)])
    p_den = _exact.Projection.of(den_model)

    def sums(perms):
        v = u[np.asarray(perms)[:, groups.order]]
        m = np.add.reduceat(v, groups.starts, axis=1) * weight  # lcm * means, integers
        full = p_full.squares(m)
        num = [a - b for a, b in zip(full, p_reduced.squares(m), strict=True)]
        den = [c - a for a, c in zip(full, p_den.squares(m), strict=True)]
        return list(zip(num, den, strict=True))

    return sums, Fraction(1, (factor * scale * lcm) ** 2)
