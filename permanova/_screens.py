"""Many outcomes at once: the F of every outcome from one set of products per chunk.

A *screen* holds the kernels of one effect for every outcome of a run, the permuted
vectors stacked as the columns of one ``(units, n_outcomes)`` matrix ``u``. The
projections of every outcome come from one product per chunk, the permutation being
applied to the few columns of the basis instead of to the outcomes (``B' u[p] =
B[p^-1]' u``), and the strata from sums of the outcomes' rows over the groups of the
subject-by-cell table. The error sum of
squares is then the squared norm of the permuted vector (that of ``u``: a permutation
keeps it) or of its stratum, minus the squared norm of the projections: a difference,
whose rounding error is relative to ``||u||^2`` rather than to the result. Each screen
therefore returns with its F a bound on that error (relative to F); the engine lets the
outcome's own kernel (:mod:`permanova._kernels`, explicit residuals) decide every
permutation whose F the bound cannot place on one side of the observed F. The counts are
thus those of separate runs, and the null statistics equal theirs to rounding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from permanova._kernels import (
    COMPILED_WORK,
    DesignKernel,
    StratumKernel,
    VectorKernel,
    compiled,
)
from permanova._replic import ReplicKernel, ReplicScreen

_EPS = np.finfo(float).eps


def _columns(vectors) -> np.ndarray:
    """The vectors as the columns of one C-contiguous matrix (rows gather contiguously)."""
    return np.ascontiguousarray(np.stack(vectors, axis=1))


def _squares(a: np.ndarray) -> np.ndarray:
    """Sum over the first axis of the squares of a ``(k, b, m)`` array: ``(b, m)``."""
    return np.einsum("kbm,kbm->bm", a, a)


def _inverse(perms: np.ndarray) -> np.ndarray:
    """The inverse of every permutation (row) of ``perms``."""
    inverse = np.empty_like(perms)
    positions = np.broadcast_to(np.arange(perms.shape[1], dtype=perms.dtype), perms.shape)
    np.put_along_axis(inverse, perms, positions, axis=1)
    return inverse


def _projections(basis_t: np.ndarray, inverse: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``basis' u[p]`` for every permutation and outcome: ``(k, b, m)``.

    ``basis' u[p] = basis[p^-1]' u``: gathering the few columns of the basis instead of
    the outcomes turns the batch into one matrix product ``(k b, n) @ (n, m)``.
    """
    k, b = basis_t.shape[0], inverse.shape[0]
    permuted = np.take(basis_t, inverse, axis=1).reshape(k * b, -1)
    return (permuted @ u).reshape(k, b, u.shape[1])


def _ratio_and_error(num, den, df_num, df_den, err_num, err_den, zero):
    """F and a bound on its relative error: inf where a sum may be zero or is at the
    kernels' rounding level ``zero`` (there the kernel decides, as in a separate run)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = (num / df_num) / (den / df_den)
        rel = 2.0 * (err_num / num + err_den / den)
    clear = (num > err_num) & (den > err_den) & (num > zero) & (den > zero)
    return f, np.where(clear, rel, np.inf)


def _noise(kernels) -> np.ndarray:
    """The kernels' rounding level, per outcome: the error bound of a projection's norm
    (relative to the outcome's scale, from which the permuted vectors are computed)."""
    return np.array([kernel.ratio.noise for kernel in kernels])


@dataclass(frozen=True)
class VectorScreen:
    """The outcomes' :class:`~permanova._kernels.VectorKernel` s of one effect."""

    unit_key: str
    u: np.ndarray  # (units, n_outcomes)
    basis: np.ndarray
    k_num: int
    squares: np.ndarray  # ||u||^2 per outcome
    delta: np.ndarray  # bound of the error of a projection's norm, per outcome (noise)
    df_num: float
    df_den: float

    @classmethod
    def of(cls, kernels: list[VectorKernel]) -> VectorScreen:
        first = kernels[0]
        u = _columns([k.u for k in kernels])
        return cls(
            first.unit_key,
            u,
            np.ascontiguousarray(first.basis.T),
            first.k_num,
            np.einsum("nm,nm->m", u, u),
            _noise(kernels),
            first.ratio.df_num,
            first.ratio.df_den,
        )

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        a = _projections(self.basis, _inverse(perms), self.u)
        num = _squares(a[: self.k_num])
        den = self.squares - _squares(a)
        n = self.u.shape[0]
        err_num = 2.0 * np.sqrt(np.abs(num)) * self.delta + self.delta**2
        norms = np.sqrt(self.squares)
        err_den = 3.0 * norms * self.delta + 2.0 * n * _EPS * self.squares + self.delta**2
        zero = self.delta**2
        return _ratio_and_error(num, den, self.df_num, self.df_den, err_num, err_den, zero)


@dataclass(frozen=True)
class StratumScreen:
    """The outcomes' :class:`~permanova._kernels.StratumKernel` s of one effect.

    ``||T_w v||^2 = sum over the terms of T_w of sign * ||m_J v||^2``, where ``||m_J
    v||^2`` is the sum over the groups of a term (subject and the levels kept) of the
    squared group sums over the group sizes, and ``||v||^2 = ||u||^2`` for the term
    that averages nothing.
    """

    unit_key: str
    u: np.ndarray  # (units, n_outcomes), rows in the data's order
    kernel: StratumKernel
    fixed_basis: np.ndarray  # (K, n): transposed, table order
    num_basis: np.ndarray  # (k, n): transposed, table order
    squares: np.ndarray
    delta: np.ndarray
    compiled: bool = False  # compiled group sums (the same sums; pays on long runs)

    @classmethod
    def of(cls, kernels: list[StratumKernel], compiled: bool = False) -> StratumScreen:
        first = kernels[0]
        u = _columns([k.u for k in kernels])
        return cls(
            first.unit_key,
            u,
            first,
            np.ascontiguousarray(first.stratum.fixed_basis.T),
            np.ascontiguousarray(first.num_basis.T),
            np.einsum("nm,nm->m", u, u),
            # the group sums add a rounding error per term of the stratum
            _noise(kernels) * (len(first.stratum.terms) + 1),
            compiled,
        )

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        kernel = self.kernel
        table_perms = kernel.table_perms(perms, cache)  # position in the table -> row
        if self.compiled:
            inverse = compiled("inverse_rows")(table_perms)
        else:
            inverse = _inverse(table_perms)
        a = _projections(self.fixed_basis, inverse, self.u)
        if kernel.nested:
            tested = a[: self.num_basis.shape[0]]
        else:
            tested = _projections(self.num_basis, inverse, self.u)
        stratum = np.zeros(a.shape[1:])
        for (sign, axes), cells in zip(kernel.stratum.terms, self.cells, strict=True):
            if not axes:
                stratum += sign * self.squares
                continue
            stratum += (sign / cells.shape[1]) * self._group_squares(table_perms, cells)
        err_den = 3.0 * np.sqrt(self.squares) * self.delta + self.delta**2
        ratio, zero = kernel.ratio, (self.delta / (len(kernel.stratum.terms) + 1)) ** 2
        if self.compiled:
            zeros = np.broadcast_to(zero, self.delta.shape)
            return compiled("screen_ratio")(
                tested, a, stratum, ratio.df_num, ratio.df_den, self.delta, err_den, zeros
            )
        num, den = _squares(tested), stratum - _squares(a)
        err_num = 2.0 * np.sqrt(np.abs(num)) * self.delta + self.delta**2
        return _ratio_and_error(num, den, ratio.df_num, ratio.df_den, err_num, err_den, zero)

    @functools.cached_property
    def cells(self) -> list:
        """The table positions of the groups of every term of the stratum, ``(groups,
        cells)`` (None for the term that averages nothing)."""
        shape = self.kernel.stratum.table_shape
        positions = np.arange(int(np.prod(shape))).reshape(shape)
        out = []
        for _, axes in self.kernel.stratum.terms:
            if not axes:
                out.append(None)
                continue
            moved = np.moveaxis(positions, list(axes), range(-len(axes), 0))
            size = int(np.prod([shape[axis] for axis in axes]))
            out.append(np.ascontiguousarray(moved.reshape(-1, size)))
        return out

    def _group_squares(self, table_perms: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """The sum over the groups (``cells``: their table positions) of the squared sums
        of ``u[p]`` over the group's cells, ``(b, m)`` (compiled with the ``fast`` extra
        on long runs: the same sums, the squares added in another order)."""
        if self.compiled:
            return compiled("group_square_sums")(self.u, table_perms, cells)
        return _squares(numpy_group_sums(self.u, table_perms[:, cells]))


def numpy_group_sums(values: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``sum_c values[cells[:, :, c]]`` as ``(groups, b, columns)``, cells added in order."""
    sums = np.take(values, cells[:, :, 0], axis=0)
    for c in range(1, cells.shape[2]):
        sums += np.take(values, cells[:, :, c], axis=0)
    return sums.transpose(1, 0, 2)


@dataclass(frozen=True)
class DesignScreen:
    """The outcomes' :class:`~permanova._kernels.DesignKernel` s of one effect: each
    permuted design is residualised and factored once for all outcomes."""

    unit_key: str
    kernel: DesignKernel
    ry: np.ndarray  # (n, n_outcomes)
    noise: np.ndarray  # per outcome

    @classmethod
    def of(cls, kernels: list[DesignKernel]) -> DesignScreen:
        first = kernels[0]
        return cls(first.unit_key, first, _columns([k.ry for k in kernels]), _noise(kernels))

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        fit = self.kernel.fits(perms, self.ry)  # (b, m, n)
        num = np.einsum("bmn,bmn->bm", fit, fit)
        resid = self.ry.T[None] - fit
        den = np.einsum("bmn,bmn->bm", resid, resid)
        err_num = 2.0 * np.sqrt(num) * self.noise + self.noise**2
        err_den = 2.0 * np.sqrt(den) * self.noise + self.noise**2
        ratio, zero = self.kernel.ratio, self.noise**2
        return _ratio_and_error(num, den, ratio.df_num, ratio.df_den, err_num, err_den, zero)


_SCREENS = {VectorKernel: VectorScreen, DesignKernel: DesignScreen, ReplicKernel: ReplicScreen}


def screen(kernels: list, total: int):
    """The screen of one effect from its kernels, one per outcome, for ``total``
    permutations (a long run of a repeated design uses the compiled group sums)."""
    if isinstance(kernels[0], StratumKernel):
        work = total * kernels[0].units * len(kernels)
        return StratumScreen.of(kernels, compiled=work >= COMPILED_WORK)
    return _SCREENS[type(kernels[0])].of(kernels)
