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
import itertools
import math
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from permanova import _exact, _sphericity
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
from permanova._table import f_pvalue, within_positions

#: The columns of :func:`replic_table`.
TABLE_COLUMNS = ("df", "df_error", "SS", "SS_error", "F", "p_parametric")


@dataclass(frozen=True)
class Groups:
    """The subject-cells of the rows, in table order (subject, then within cell).

    ``codes`` (n,) gives each row's subject-cell, ``order`` the rows sorted by it,
    ``starts`` where each subject-cell begins in that order, ``counts`` its rows and
    ``first`` its first row; ``shape`` is ``(n_subjects, n_cells)``.
    """

    codes: np.ndarray
    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    first: np.ndarray
    shape: tuple

    @classmethod
    def of(cls, subject_codes: np.ndarray, within_cells: np.ndarray) -> Groups:
        pairs = np.stack([np.asarray(subject_codes), np.asarray(within_cells)], axis=1)
        unique, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
        codes = inverse.reshape(-1)
        order = np.argsort(codes, kind="stable")
        counts = np.bincount(codes)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        shape = (np.unique(unique[:, 0]).shape[0], np.unique(unique[:, 1]).shape[0])
        return cls(codes, order, starts, counts, first, shape)

    @property
    def size(self) -> int:
        return self.counts.shape[0]

    def means(self, v: np.ndarray) -> np.ndarray:
        """Group means of a batch ``v`` (b, n) whose columns are in ``order``: (b, G)."""
        return np.add.reduceat(v, self.starts, axis=1) / self.counts


@dataclass(frozen=True)
class ErrorSpace:
    """``col(R_X Z)`` on the subject-cell rows, ``Z`` the subject indicators times the
    within columns ``W``: ``Z`` is block diagonal by subject, so that for ``r`` orthogonal
    to ``X``, ``||H_{R_X Z} r||^2 = ||H_Z r||^2 + ||H_{R_Z X} r||^2`` (the two projections
    are orthogonal): per-subject products and a basis of ``p`` columns, never the
    ``G x (n_subjects * k)`` matrix ``Z``.
    """

    subject_bases: np.ndarray  # (C, k), the same for every subject, or (S, C, k)
    rest: np.ndarray  # (G, r): orthonormal basis of R_Z X
    df: int  # rank(R_X Z) = rank(Z) + rank(R_Z X) - rank(X)

    @classmethod
    def of(cls, x: np.ndarray, w: np.ndarray, shape: tuple, weights=None) -> ErrorSpace:
        """``x`` (G, p), ``w`` (C, k) the within columns of each cell, rows of ``x`` and
        ``weights`` (G,) (the rows of ``Z``, or None) in table order."""
        q_w = orthonormal_basis(w)
        if weights is None:
            bases = q_w
        else:
            weighted = weights.reshape(shape)[:, :, None] * q_w[None]
            bases = np.linalg.qr(weighted)[0]  # full rank: the weights are positive
        x_table = np.moveaxis(x.reshape(*shape, x.shape[1]), -1, 0)  # (p, S, C)
        fit = _on_subjects(_on_subjects(x_table, bases, True), bases, False)
        r_z_x = np.moveaxis(x_table - fit, 0, -1).reshape(x.shape)
        rest = orthonormal_basis(r_z_x, scale=column_scale(x))
        df = shape[0] * q_w.shape[1] + rest.shape[1] - orthonormal_basis(x).shape[1]
        return cls(bases, rest, df)

    def norms2(self, r: np.ndarray) -> np.ndarray:
        """``||H_{R_X Z} r||^2`` of every row of ``r`` (b, G), each orthogonal to ``X``."""
        b = r.shape[0]
        table = r.reshape(b, -1, self.subject_bases.shape[-2])
        coef = _on_subjects(table, self.subject_bases, True)
        return row_norms2(coef.reshape(b, -1)) + row_norms2(r @ self.rest)


def _on_subjects(table: np.ndarray, bases: np.ndarray, transpose: bool) -> np.ndarray:
    """Per subject: ``B' t`` (``transpose``) or ``B c`` for a table (..., S, C or k)."""
    if bases.ndim == 2:
        return table @ (bases if transpose else bases.T)
    pattern = "...sc,sck->...sk" if transpose else "...sk,sck->...sc"
    return np.einsum(pattern, table, bases)


@dataclass(frozen=True)
class ReplicKernel(Kernel):
    """F of one effect: the subject-cell means ``m`` of ``u[p]`` projected on the
    orthonormal basis of ``R_{D_g} X_g`` (``basis_num``) and, freed of ``X_g``
    (``basis_full``), on the error space ``R_{X_g} Z_g`` (``error``)."""

    u: np.ndarray
    groups: Groups = field(repr=False)
    basis_num: np.ndarray = field(repr=False)  # (G, r_x)
    basis_full: np.ndarray = field(repr=False)  # (G, rank X)
    error: ErrorSpace = field(repr=False)

    @property
    def units(self) -> int:
        return self.u.shape[0]

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        sorted_perms = gather(perms, self.groups.order, cache, axis=1)
        m = self.groups.means(gather(self.u, sorted_perms, cache))
        num = row_norms2(m @ self.basis_num)
        r = np.subtract(m, (m @ self.basis_full) @ self.basis_full.T)
        return num, self.error.norms2(r)


@dataclass(frozen=True)
class ReplicScreen:
    """The :class:`ReplicKernel` s of one effect for several outcomes (one design): the
    statistics of every outcome from one gather and one set of products per chunk, with
    a bound on their relative error (the engine's screen protocol: the outcomes' own
    kernels decide what the bound cannot place)."""

    unit_key: str
    kernel: ReplicKernel = field(repr=False)
    u: np.ndarray = field(repr=False)  # (n, n_outcomes)
    noise: np.ndarray = field(repr=False)  # per outcome

    @classmethod
    def of(cls, kernels: list[ReplicKernel]) -> ReplicScreen:
        first = kernels[0]
        u = np.ascontiguousarray(np.stack([k.u for k in kernels], axis=1))
        return cls(first.unit_key, first, u, np.array([k.ratio.noise for k in kernels]))

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        kernel, groups = self.kernel, self.kernel.groups
        b, n_outcomes = perms.shape[0], self.u.shape[1]
        v = self.u[gather(perms, groups.order, cache, axis=1)]  # (b, n, m)
        m = np.add.reduceat(v, groups.starts, axis=1) / groups.counts[:, None]
        m = m.transpose(0, 2, 1).reshape(b * n_outcomes, groups.size)
        num = row_norms2(m @ kernel.basis_num).reshape(b, n_outcomes)
        r = m - (m @ kernel.basis_full) @ kernel.basis_full.T
        den = kernel.error.norms2(r).reshape(b, n_outcomes)
        # direct squared norms: errors 2 ||a|| noise + noise^2, as the kernels'
        err_num = 2.0 * np.sqrt(num) * self.noise + self.noise**2
        err_den = 2.0 * np.sqrt(den) * self.noise + self.noise**2
        ratio = kernel.ratio
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            f = (num / ratio.df_num) / (den / ratio.df_den)
            rel = 2.0 * (err_num / num + err_den / den)
        zero = self.noise**2
        clear = (num > err_num) & (den > err_den) & (num > zero) & (den > zero)
        return f, np.where(clear, rel, np.inf)


def subject_cell_groups(design: Design, within_cells: np.ndarray) -> Groups:
    """The subject-cells of ``design``'s rows, checked.

    Raises ValueError when ``within_cells`` does not have one code per row, when the
    model lacks a term of the full factorial of the within factors, when a
    subject lacks a within cell, or when a model column (a covariate) varies between the
    replicates of a subject-cell (the means model then has no single row per cell).
    """
    within_cells = np.asarray(within_cells)
    if within_cells.shape != (design.n,):
        raise ValueError(
            f"within_cells must have one code per row ({design.n}); got shape {within_cells.shape}"
        )
    _check_within_factorial(design)
    groups = Groups.of(design.subjects, within_cells)
    n_subjects, n_cells = groups.shape
    if groups.size != n_subjects * n_cells:
        raise ValueError(
            "rd_replic_kheradpajouh_renaud needs every subject observed in every within "
            f"cell: {n_subjects * n_cells - groups.size} of {n_subjects * n_cells} "
            "subject-cells have no observation"
        )
    if not np.array_equal(design.X, design.X[groups.first][groups.codes]):
        raise ValueError(
            "rd_replic_kheradpajouh_renaud needs a model that is constant within each "
            "subject and within cell; a covariate varies between the replicates of a "
            "subject's cell"
        )
    return groups


def _check_within_factorial(design: Design) -> None:
    """The model must hold every term of the within factors: permuco fits the permuted
    vector on the subject-by-within model, which is the subject-cell means only then."""
    present = {frozenset(f) for f in design.effect_factors}
    missing = [
        ":".join(term)
        for size in range(1, len(design.within) + 1)
        for term in itertools.combinations(design.within, size)
        if frozenset(term) not in present
    ]
    if missing:
        raise ValueError(
            "rd_replic_kheradpajouh_renaud needs every term of the within factors "
            f"{list(design.within)} in the model; missing: {missing}"
        )


def _part_columns(design: Design, groups: Groups, part: int) -> np.ndarray:
    """Columns of the within part ``part`` (an effect index; 0, the intercept, for the
    subjects), one row per within cell (``(C, k)``)."""
    w = design.X[:, design.assign == part]
    return w[groups.first[: groups.shape[1]]]


def _tested_basis(x: np.ndarray, assign: np.ndarray, i: int) -> np.ndarray:
    """Orthonormal basis of ``R_D X_i``."""
    tested = assign == i
    x_i = x[:, tested]
    reduced = orthonormal_basis(x[:, ~tested])
    return orthonormal_basis(residualize(reduced, x_i), scale=column_scale(x_i))


def replic_kernels(design: Design, within_cells: np.ndarray, outcome: Outcome) -> list[Kernel]:
    """The kernels of every effect (model order) of ``design`` for one outcome.

    Parameters
    ----------
    design : Design
        A repeated-measures design (``design.subjects`` set), its rows the observations,
        replicates included (:func:`permanova._design.build_design` on the replicated
        rows, or a formula's model). Every subject needs every within cell.
    within_cells : ndarray of int of shape (n,)
        The within cell of each row (any codes: two rows of a subject are replicates when
        their codes are equal).
    outcome : Outcome
        The outcome (``Outcome.of``): its centred ``y`` is permuted, ``scale`` sets the
        rounding level and ``integers`` the exact statistic.

    Returns
    -------
    list of ReplicKernel
        ``unit_key="obs"`` (the rows are permuted); ``exact`` decides ties in rational
        arithmetic for small designs with integer coded columns (else its ``sums`` is
        None and the engine counts the tie band as ties).
    """
    groups = subject_cell_groups(design, within_cells)
    x_g = design.X[groups.first]
    basis_full = np.ascontiguousarray(orthonormal_basis(x_g))
    kernels = []
    for i in range(1, len(design.effects) + 1):
        basis_num = np.ascontiguousarray(_tested_basis(x_g, design.assign, i))
        error = ErrorSpace.of(
            x_g, _part_columns(design, groups, design.within_part(i)), groups.shape
        )
        reduced = orthonormal_basis(design.X[:, ~design.columns(i)])
        width = design.X.shape[1] + basis_num.shape[1] + error.subject_bases.shape[-1]
        kernels.append(
            ReplicKernel(
                unit_key="obs",
                u=residualize(reduced, outcome.y),
                groups=groups,
                basis_num=basis_num,
                basis_full=basis_full,
                error=error,
                ratio=Ratio(
                    df_num=basis_num.shape[1],
                    df_den=error.df,
                    noise=rounding_bound(design.n, width) * outcome.scale,
                ),
                exact=_exact.ExactStatistic(
                    functools.partial(_exact_replic, design, groups, outcome, i)
                ),
            )
        )
    return kernels


def replic_table(design: Design, within_cells: np.ndarray, outcome: Outcome) -> dict:
    """permuco's ANOVA table of replicated data, per effect (model order).

    ``df``/``df_error`` the ranks of ``R_D X`` and ``R_X Z``, ``SS``/``SS_error`` the
    squared projections of the full data on them (in the scaled outcome's units, as
    :func:`permanova._table.observed_table`), ``F`` and ``p_parametric``. Sums of squares
    at the rounding level are exact zeros (F is then 0, inf, or NaN for 0/0).

    Examples
    --------
    >>> import numpy as np
    >>> from permanova._design import Outcome, build_design
    >>> subject = np.repeat(np.arange(4), 4)  # 4 subjects, 2 cells, 2 replicates each
    >>> cond = np.tile([0, 0, 1, 1], 4)
    >>> design = build_design({"cond": cond}, {"cond": 2}, [], ["cond"], subject)
    >>> y = np.array([1.0, 2, 4, 4, 2, 3, 6, 5, 0, 1, 2, 2, 3, 3, 5, 7])
    >>> table = replic_table(design, cond, Outcome.of("y", y))
    >>> table["df"], table["df_error"], round(table["F"][0], 4)
    ([1], [3], 50.0)
    """
    groups, x_w, weights, totals, within, zero = _weighted(design, within_cells, outcome)
    out = {key: [] for key in TABLE_COLUMNS}
    for i in range(1, len(design.effects) + 1):
        q_num = _tested_basis(x_w, design.assign, i)
        w = _part_columns(design, groups, design.within_part(i))
        error = ErrorSpace.of(x_w, w, groups.shape, weights)
        ss = float(row_norms2((totals @ q_num)[None])[0])
        sse = float(error.norms2(within[None])[0])
        _append(out, q_num.shape[1], error.df, ss, sse, zero)
    return out


def replic_strata_error(design: Design, within_cells: np.ndarray, outcome: Outcome) -> float:
    """The error sums of squares of every stratum (the subjects and each within part of
    the model), full data, added: the ``E`` of generalized eta squared
    (:func:`permanova._table.effect_sizes`) for replicated data. Scaled outcome units."""
    groups, x_w, weights, _, within, zero = _weighted(design, within_cells, outcome)
    parts = {0} | {design.within_part(i) for i in range(1, len(design.effects) + 1)}
    total = 0.0
    for part in sorted(parts):
        error = ErrorSpace.of(x_w, _part_columns(design, groups, part), groups.shape, weights)
        sse = float(error.norms2(within[None])[0])
        total += 0.0 if sse <= zero else sse
    return total


def _weighted(design: Design, within_cells: np.ndarray, outcome: Outcome) -> tuple:
    """The full data as weighted subject-cell rows: ``(groups, sqrt(count) X_g,
    sqrt(count), totals, within, zero)``. A projection of the full data on a space of
    functions of (subject, cell) is that of ``totals`` (sums / sqrt(count)) on the
    weighted rows; ``within`` is the same for the outcome minus its cell means (each
    difference rounds relative to itself; the means lie in the model, as in
    observed_table), freed of ``X``; ``zero`` the rounding level of a sum of squares."""
    groups = subject_cell_groups(design, within_cells)
    weights = np.sqrt(groups.counts)
    x_w = design.X[groups.first] * weights[:, None]
    if design.cells is None:
        base = outcome.y
    else:
        base = outcome.scaled - cell_means(outcome.scaled, design.cells)
    totals = np.bincount(groups.codes, weights=outcome.y, minlength=groups.size) / weights
    within = np.bincount(groups.codes, weights=base, minlength=groups.size) / weights
    within = residualize(orthonormal_basis(x_w), within)
    zero = (rounding_bound(design.n, design.X.shape[1]) * outcome.scale) ** 2
    return groups, x_w, weights, totals, within, zero


def _append(out: dict, df: int, df_error: int, ss: float, sse: float, zero: float):
    ss, sse = (0.0 if s <= zero else s for s in (ss, sse))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.float64(ss / df) / np.float64(sse / df_error) if df_error else np.nan
    row = (df, df_error, ss, sse, float(f), float(f_pvalue(f, df, df_error)))
    for key, value in zip(TABLE_COLUMNS, row, strict=True):
        out[key].append(value)


def replic_sphericity(design: Design, within_cells: np.ndarray, outcome: Outcome) -> dict:
    """Mauchly's test and the epsilons of every effect with a within part of more than
    one df, ``{effect index (1-based): SphericityTest}``, on the subject-cell means (as
    afex, which averages replicates), like :func:`permanova._table.sphericity_tests`.

    ``within_cells`` must number the cells in C order over ``design.within`` (the last
    factor fastest, ``design.table_shape`` levels), as ``cell * n_levels + code`` builds
    them; silently NaN where the covariance is singular, as there.
    """
    groups = subject_cell_groups(design, within_cells)
    within_shape = tuple(design.table_shape[1:])
    n_subjects, n_cells = groups.shape
    if n_cells != int(np.prod(within_shape)):
        raise ValueError(
            f"within_cells must number the {int(np.prod(within_shape))} cells of the within "
            f"factors {list(design.within)}; got {n_cells} distinct codes"
        )
    means = np.bincount(groups.codes, weights=outcome.scaled) / groups.counts
    effects = range(1, len(design.effects) + 1)
    between = np.isin(design.assign, [0, *(j for j in effects if design.within_part(j) == 0)])
    first_rows = groups.first[::n_cells]
    positions = within_positions(design)
    parts = [p for p in dict.fromkeys(positions.values()) if p]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tests = _sphericity.sphericity(
            means.reshape(n_subjects, n_cells),
            within_shape,
            None,
            parts,
            between_model=design.X[first_rows][:, between],
        )
    return {i: tests[p] for i, p in positions.items() if p in tests}


def _exact_replic(design: Design, groups: Groups, outcome: Outcome, i: int):
    """``(sums, unit)`` of the exact statistic of effect ``i``, or None (too large, or a
    model that is not integer coded)."""
    x_g = design.X[groups.first]
    n_subjects, n_cells = groups.shape
    w = _part_columns(design, groups, design.within_part(i))
    if n_subjects * w.shape[1] + x_g.shape[1] > _exact.MAX_COLUMNS:
        return None
    z_g = np.kron(np.eye(n_subjects), w)  # subject indicators times W, table order
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
