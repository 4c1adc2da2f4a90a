"""Many outcomes at once: the F of every outcome from one set of products per chunk.

A *screen* holds the kernels of one effect for every outcome of a run, the permuted
vectors stacked as the columns of one ``(units, n_outcomes)`` matrix. A batch of
permutations gathers its rows once, ``v = u[P]`` of shape ``(b, n, n_outcomes)``, and one
product with the effect's basis gives every outcome's projections. The error sum of
squares is then the squared norm of the permuted vector (that of ``u``: a permutation
keeps it) or of its stratum, minus the squared norm of the projections: a difference,
whose rounding error is relative to ``||u||^2`` rather than to the result. Each screen
therefore returns with its F a bound on that error (relative to F); the engine lets the
outcome's own kernel (:mod:`permanova._kernels`, explicit residuals) decide every
permutation whose F the bound cannot place on one side of the observed F. The counts are
thus those of separate runs, and the null statistics equal theirs to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from permanova._design import rounding_bound
from permanova._kernels import DesignKernel, StratumKernel, VectorKernel, gather

_EPS = np.finfo(float).eps


def _columns(vectors) -> np.ndarray:
    """The vectors as the columns of one C-contiguous matrix (rows gather contiguously)."""
    return np.ascontiguousarray(np.stack(vectors, axis=1))


def _squares(a: np.ndarray) -> np.ndarray:
    """``sum over axis 1`` of the squares of a ``(b, k, m)`` array: ``(b, m)``."""
    return np.einsum("bkm,bkm->bm", a, a)


def _ratio_and_error(num, den, df_num, df_den, err_num, err_den):
    """F and a bound on its relative error (inf where a sum may be zero)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = (num / df_num) / (den / df_den)
        rel = 2.0 * (err_num / num + err_den / den)
    rel = np.where((num > err_num) & (den > err_den), rel, np.inf)
    return f, rel


@dataclass(frozen=True)
class VectorScreen:
    """The outcomes' :class:`~permanova._kernels.VectorKernel` s of one effect."""

    unit_key: str
    u: np.ndarray  # (units, n_outcomes)
    basis: np.ndarray
    k_num: int
    squares: np.ndarray  # ||u||^2 per outcome
    delta: np.ndarray  # bound of the error of a projection's norm, per outcome
    df_num: float
    df_den: float

    @classmethod
    def of(cls, kernels: list[VectorKernel]) -> VectorScreen:
        first = kernels[0]
        u = _columns([k.u for k in kernels])
        norms = np.sqrt(np.einsum("nm,nm->m", u, u))
        bound = rounding_bound(u.shape[0], first.basis.shape[1])
        return cls(
            first.unit_key,
            u,
            np.ascontiguousarray(first.basis.T),
            first.k_num,
            norms**2,
            bound * norms,
            first.ratio.df_num,
            first.ratio.df_den,
        )

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        v = gather(self.u, perms, cache)  # (b, n, m)
        a = np.matmul(self.basis, v)  # (b, K, m)
        num = _squares(a[:, : self.k_num])
        den = self.squares - _squares(a)
        n = self.u.shape[0]
        err_num = 2.0 * np.sqrt(np.abs(num)) * self.delta + self.delta**2
        norms = np.sqrt(self.squares)
        err_den = 3.0 * norms * self.delta + 2.0 * n * _EPS * self.squares
        return _ratio_and_error(num, den, self.df_num, self.df_den, err_num, err_den)


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
    fixed_basis: np.ndarray  # (K, n), table order
    num_basis: np.ndarray  # (k, n), table order
    squares: np.ndarray
    delta: np.ndarray

    @classmethod
    def of(cls, kernels: list[StratumKernel]) -> StratumScreen:
        first = kernels[0]
        u = _columns([k.u for k in kernels])
        norms = np.sqrt(np.einsum("nm,nm->m", u, u))
        width = first.stratum.fixed_basis.shape[1] + first.num_basis.shape[1] + 1
        bound = rounding_bound(u.shape[0], width) * (len(first.stratum.terms) + 1)
        return cls(
            first.unit_key,
            u,
            first,
            np.ascontiguousarray(first.stratum.fixed_basis.T),
            np.ascontiguousarray(first.num_basis.T),
            norms**2,
            bound * norms,
        )

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        kernel = self.kernel
        v = gather(self.u, kernel.table_perms(perms, cache), cache)  # (b, n, m), table order
        a = np.matmul(self.fixed_basis, v)
        if kernel.nested:
            num = _squares(a[:, : self.num_basis.shape[0]])
        else:
            num = _squares(np.matmul(self.num_basis, v))
        shape = kernel.stratum.table_shape
        table = v.reshape((v.shape[0], *shape, v.shape[2]))
        stratum = np.zeros_like(num)
        for sign, axes in kernel.stratum.terms:
            if not axes:
                stratum += sign * self.squares
                continue
            sums = table.sum(axis=tuple(axis + 1 for axis in axes))
            sums = sums.reshape(sums.shape[0], -1, sums.shape[-1])
            count = int(np.prod([shape[axis] for axis in axes]))
            stratum += (sign / count) * _squares(sums)
        den = stratum - _squares(a)
        err_num = 2.0 * np.sqrt(np.abs(num)) * self.delta + self.delta**2
        err_den = 3.0 * np.sqrt(self.squares) * self.delta
        ratio = kernel.ratio
        return _ratio_and_error(num, den, ratio.df_num, ratio.df_den, err_num, err_den)


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
        ry = _columns([k.ry for k in kernels])
        return cls(first.unit_key, first, ry, np.array([k.ratio.noise for k in kernels]))

    def statistics(self, perms: np.ndarray, cache: dict | None = None):
        """``(F, relative error bound)``, each ``(b, n_outcomes)``."""
        fit = self.kernel.fits(perms, self.ry)  # (b, m, n)
        num = np.einsum("bmn,bmn->bm", fit, fit)
        resid = self.ry.T[None] - fit
        den = np.einsum("bmn,bmn->bm", resid, resid)
        err_num = 2.0 * np.sqrt(num) * self.noise + self.noise**2
        err_den = 2.0 * np.sqrt(den) * self.noise + self.noise**2
        ratio = self.kernel.ratio
        return _ratio_and_error(num, den, ratio.df_num, ratio.df_den, err_num, err_den)


_SCREENS = {VectorKernel: VectorScreen, StratumKernel: StratumScreen, DesignKernel: DesignScreen}


def screen(kernels: list):
    """The screen of one effect from its kernels, one per outcome."""
    return _SCREENS[type(kernels[0])].of(kernels)
