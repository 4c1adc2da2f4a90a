"""The kernel protocol: what the engine needs of one effect of one outcome.

A *kernel* holds the quantities, built once by QR, that give the sums of squares of a whole
batch of permutations from thin matrix products. Every kernel offers the same interface
(:class:`Kernel`):

* ``unit_key`` and ``units``: which units it permutes and how many (the rows of ``data``,
  ``"obs"``, or the rotated residuals of one effect for huh_jhun);
* ``ratio``: the :class:`Ratio` that turns its sums of squares into F;
* ``fixed_observed``: the observed F when the method compares its permuted statistics with
  a fixed value rather than with its own statistic at the identity (ter Braak), else None;
* ``exact``: the same statistic in exact arithmetic, for the permutations that tie (or
  None where the method has no exact form);
* ``sums(perms, cache)``: ``(num, den)`` for a batch of permutations.

Three kernel kinds cover every method:

* :class:`VectorKernel` -- the method permutes a vector ``u`` (the outcome, residuals or
  rotated residuals). With ``A = u[P] @ basis`` (``P`` a batch of permutations), the
  numerator is ``||A[:, :k]||^2`` and the denominator the squared norm of the residual
  ``u[P] - A basis'``.
* :class:`DesignKernel` -- the method permutes the rows of the tested columns of the
  design (dekker, draper_stoneman): each permuted design is residualised on the reduced
  model and the outcome is fitted on it (stacked ``k x k`` problems, never ``n x n``).
* :class:`StratumKernel` -- the repeated-measures methods: the projection on the (large)
  error stratum comes from means over the subject-by-cell table, minus its projection on
  the few fixed columns of that stratum.

Every sum of squares is the squared norm of a computed vector, never a difference of
squared norms, so that its rounding error is relative to itself and to the outcome's
scale; :class:`Ratio` turns the sums into F and states how close two F must be to count as
a tie.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass, field

import numpy as np

from permanova import _exact
from permanova._design import orthonormal_basis
from permanova._transform import is_signflip, transform

#: Eigenvalues of a permuted Gram matrix below this fraction of its largest diagonal
#: entry are treated as zero (a permuted design that lost rank).
GRAM_TOL = 1e-11
#: Distance from the span of a kernel's untested columns below which the constant
#: direction is taken to lie in it (the columns are orthonormal).
_CONSTANT_TOL = 1e-10
#: Number of floats of a permuted design held at once (32 MiB).
_DESIGN_CHUNK = 2**22


@dataclass(frozen=True)
class Ratio:
    """Sums of squares -> F, with their rounding level and the tie tolerance.

    A sum of squares at most ``noise**2`` is an exact zero: ``0 / x = 0``, ``0 / 0 = 0``
    (a permutation with neither effect nor error is not extreme) and ``x / 0 = inf``.
    Two computed F whose exact values are equal differ by at most
    :meth:`tie_tolerance` times F, so F values that close count as ties.
    """

    df_num: float
    df_den: float
    noise: float

    def statistic(self, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        zero = self.noise * self.noise
        num = np.where(num <= zero, 0.0, num)
        den = np.where(den <= zero, 0.0, den)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = (num / self.df_num) / (den / self.df_den)
        return np.where(num == 0.0, 0.0, f)

    def degenerate(self, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        """Where a sum of squares is at the rounding level (taken as an exact zero)."""
        zero = self.noise * self.noise
        return (num <= zero) | (den <= zero)

    def tie_tolerance(self, num: float, den: float) -> float:
        """Relative tolerance of ``F`` for the sums of squares ``num`` and ``den``.

        The error of ``||A||^2`` is at most ``2 ||A|| noise``, i.e. relative
        ``2 noise / ||A||``; both statistics of a tie carry it, hence a factor 2 more.
        """
        zero = self.noise * self.noise
        if num <= zero or den <= zero:  # F is 0 or inf: decided exactly
            return 0.0
        rel = 4.0 * self.noise * (1.0 / np.sqrt(num) + 1.0 / np.sqrt(den))
        return float(min(rel, 0.5))


@dataclass(frozen=True, kw_only=True)
class Kernel(abc.ABC):
    """The interface every kernel offers the engine (see the module docstring)."""

    unit_key: str
    ratio: Ratio
    fixed_observed: float | None = None
    fixed_tolerance: float = 0.0
    exact: _exact.ExactStatistic | None = field(default=None, repr=False)
    #: evaluate batches with the compiled kernel (same sums up to rounding; pays on long runs)
    compiled: bool = field(default=False, repr=False)

    @property
    @abc.abstractmethod
    def units(self) -> int:
        """Number of permuted units."""

    @abc.abstractmethod
    def sums(self, perms: np.ndarray, cache: dict | None = None):
        """``(num, den)`` sums of squares for a batch of permutations ``(b, units)``.

        ``cache`` is the engine's per-chunk dict: kernels permuting the same vector share
        its gathers, and its ``"workspace"`` entry keeps work arrays from chunk to chunk.
        """

    def statistics(self, perms: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """F for a batch of permutations ``(b, units)``."""
        num, den = self.sums(perms, cache)
        return self.ratio.statistic(num, den)


#: Work (permutations times units times outcomes) from which the compiled kernels, when
#: numba is installed, pay for their loading (about a second per process).
COMPILED_WORK = 2**24


@functools.cache
def compiled(name: str):
    """The numba kernel ``name`` of :mod:`permanova._compiled`, or None without numba."""
    try:
        from permanova import _compiled
    except ImportError:
        return None
    return getattr(_compiled, name)


def row_norms2(a: np.ndarray) -> np.ndarray:
    """Squared norm of every row."""
    return np.einsum("ij,ij->i", a, a)


@dataclass(frozen=True)
class VectorKernel(Kernel):
    """F of one effect for methods that permute a vector (see module docstring)."""

    u: np.ndarray
    basis: np.ndarray
    k_num: int

    @property
    def units(self) -> int:
        return self.u.shape[0]

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        if self.compiled and not is_signflip(perms):
            u, basis_t = self.compiled_operands
            return compiled("vector_sums")(u, perms, basis_t, self.k_num)
        v = gather(self.u, perms, cache)
        a = v @ self.basis
        num = row_norms2(a[:, : self.k_num])
        # the residual itself, not ||v||^2 - ||a||^2: no cancellation in good fits
        resid = np.matmul(a, self.basis.T, out=scratch(cache, "resid", v.shape))
        return num, row_norms2(np.subtract(v, resid, out=resid))

    @functools.cached_property
    def compiled_operands(self) -> tuple[np.ndarray, np.ndarray]:
        """``(u, B')`` for the compiled kernel, without the constant direction when the
        untested columns span it: a permutation keeps the mean, so that coefficient is
        the same for every permutation (``u`` is centred instead; same sums)."""
        n = self.u.shape[0]
        constant = np.full(n, n**-0.5)
        reduced = self.basis[:, self.k_num :]
        if np.linalg.norm(constant - reduced @ (reduced.T @ constant)) > _CONSTANT_TOL:
            return self.u, np.ascontiguousarray(self.basis.T)
        rest = orthonormal_basis(reduced - np.outer(constant, constant @ reduced), scale=1.0)
        basis = np.hstack([self.basis[:, : self.k_num], rest])
        return self.u - self.u.mean(), np.ascontiguousarray(basis.T)


@dataclass(frozen=True)
class DesignKernel(Kernel):
    """F of one effect for methods that permute rows of the design (see module docstring)."""

    source: np.ndarray
    reduced_basis: np.ndarray
    ry: np.ndarray
    gram_scale: float

    @property
    def units(self) -> int:
        return self.source.shape[0]

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        n, k = self.source.shape
        step = max(1, _DESIGN_CHUNK // (n * (k + self.reduced_basis.shape[1])))
        parts = [self._sums(perms[i : i + step]) for i in range(0, perms.shape[0], step)]
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate(p) for p in zip(*parts))

    def fits(self, perms: np.ndarray, ry: np.ndarray) -> np.ndarray:
        """The fit of every column of ``ry`` (n, m) on each permuted design: (b, m, n)."""
        permuted = transform(self.source, perms)  # (b, n, k)
        coef = np.einsum("nr,bnk->brk", self.reduced_basis, permuted)
        m = permuted - np.einsum("nr,brk->bnk", self.reduced_basis, coef)  # R_D S[p]
        gram = np.einsum("bnk,bnl->bkl", m, m)
        c = np.einsum("bnk,nm->bkm", m, ry)
        eigval, eigvec = np.linalg.eigh(gram)
        keep = eigval > GRAM_TOL * self.gram_scale
        proj = np.einsum("bkj,bkm->bjm", eigvec, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(keep[..., None], proj / np.where(keep, eigval, 1.0)[..., None], 0)
        beta = np.einsum("bkj,bjm->bkm", eigvec, weights)
        return np.einsum("bnk,bkm->bmn", m, beta)

    def _sums(self, perms: np.ndarray):
        fit = self.fits(perms, self.ry[:, None])[:, 0]
        return row_norms2(fit), row_norms2(self.ry - fit)


@dataclass(frozen=True)
class Stratum:
    """The error stratum ``T_w - F_w`` of the within part ``w`` of a repeated design.

    ``T_w`` holds the functions of (subject, levels of ``w``) free of lower-order terms
    of ``w`` (for ``w`` empty: the subject means), ``F_w`` the fixed effects with within
    part ``w`` (``col(F_w)`` lies in ``T_w``). ``T_w v = sum_{J <= w} (-1)^{|w - J|}
    m_J``, ``m_J`` the table's means over the within factors outside ``J`` (subject
    kept): a few reductions of the reshaped subject-by-cell table, never a matrix of
    subject indicators. The error is the residual of ``T_w v`` on an orthonormal basis of
    ``F_w`` (no subtraction of squared norms, so large subject offsets cost no accuracy).
    Batches ``v`` are ``(b, n)`` in table order.
    """

    table_shape: tuple
    terms: tuple  # (sign, within axes averaged over) per term of T_w; the first is +1
    fixed_basis: np.ndarray  # (n, r) orthonormal basis of F_w, table order
    df: int  # dim(T_w) - rank(F_w)

    @functools.cached_property
    def block(self) -> np.ndarray:
        """``T_w`` on the within cells of one subject (the same for every subject: no
        term averages over subjects), for the compiled kernel."""
        n = int(np.prod(self.table_shape))
        cells = n // self.table_shape[0]
        return np.ascontiguousarray(self.project(np.eye(cells, n))[:, :cells].T)

    @functools.cached_property
    def cell_major(self) -> np.ndarray:
        """The table positions in cell-major order (cell ``c`` of subject ``s`` at ``c *
        n_subjects + s``): the compiled kernel's order, in which ``T_w`` acts on runs."""
        n = int(np.prod(self.table_shape))
        return np.arange(n).reshape(self.table_shape[0], -1).T.ravel()

    @functools.cached_property
    def fixed_basis_t(self) -> np.ndarray:
        """``F'`` with its columns in cell-major order."""
        return np.ascontiguousarray(self.fixed_basis[self.cell_major].T)

    def project(self, v: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """``T_w v`` for a batch ``v`` (b, n)."""
        b = v.shape[0]
        table = v.reshape((b, *self.table_shape))
        (_, axes), *rest = self.terms
        t = scratch(cache, "stratum", table.shape)
        np.copyto(t, mean_axes(table, axes, cache))
        for sign, axes in rest:
            (np.add if sign > 0 else np.subtract)(t, mean_axes(table, axes, cache), out=t)
        return t.reshape(b, -1)

    def error(self, v: np.ndarray, cache: dict | None = None):
        """``(T_w v - H_F T_w v, F' T_w v)`` for a batch ``v`` (b, n)."""
        t = self.project(v, cache)
        a = t @ self.fixed_basis
        resid = np.matmul(a, self.fixed_basis.T, out=scratch(cache, "resid", t.shape))
        return np.subtract(t, resid, out=resid), a


@dataclass(frozen=True)
class StratumKernel(Kernel):
    """F of one effect of a repeated-measures design: the tested projection against the
    effect's error :class:`Stratum`.

    When the tested columns lie in ``F_w`` (``nested``, the usual case) the stratum's
    basis starts with them, so that one product gives both sums of squares.
    """

    u: np.ndarray
    row_order: np.ndarray | None
    num_basis: np.ndarray  # rows in table order
    nested: bool
    stratum: Stratum

    @property
    def units(self) -> int:
        return self.u.shape[0]

    def table_perms(self, perms: np.ndarray, cache: dict | None) -> np.ndarray:
        """The permutations with their positions in table order."""
        if self.row_order is None:
            return perms
        return gather(perms, self.row_order, cache, axis=1)

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        if self.compiled and not is_signflip(perms):
            return self.compiled_sums(perms)
        if is_signflip(perms):  # the signs in table order times u in table order
            return self.sums_of(self.table_perms(perms, cache) * self.u_table, cache)
        return self.sums_of(gather(self.u, self.table_perms(perms, cache), cache), cache)

    def shares_layout(self, other: Kernel) -> bool:
        """Whether ``other`` is a stratum kernel of the same effect of the same design (it
        differs at most by its permuted vector), so both evaluate in one batch."""
        return (
            isinstance(other, StratumKernel)
            and other.stratum is self.stratum
            and other.num_basis is self.num_basis
            and other.row_order is self.row_order
            and other.nested == self.nested
        )

    def compiled_sums(self, perms: np.ndarray):
        """:meth:`sums` by the compiled kernel (the same sums up to rounding)."""
        stratum = self.stratum
        return compiled("stratum_sums")(
            self.u,
            perms,
            self.cell_major_rows,
            stratum.block,
            stratum.fixed_basis_t,
            self.num_basis_t,
            self.num_basis.shape[1],
        )

    @functools.cached_property
    def cell_major_rows(self) -> np.ndarray:
        """The rows of ``data`` in the compiled kernel's (cell-major) order."""
        positions = self.stratum.cell_major
        return positions if self.row_order is None else self.row_order[positions]

    @functools.cached_property
    def num_basis_t(self) -> np.ndarray:
        """``N'`` in cell-major order for the compiled kernel (no rows when nested)."""
        if self.nested:
            return np.empty((0, self.u.shape[0]))
        return np.ascontiguousarray(self.num_basis[self.stratum.cell_major].T)

    @functools.cached_property
    def u_table(self) -> np.ndarray:
        return self.u if self.row_order is None else self.u[self.row_order]

    def sums_of(self, v: np.ndarray, cache: dict | None = None):
        """``(num, den)`` of a batch of vectors ``v`` (b, n) in table order."""
        resid, a = self.stratum.error(v, cache)
        if self.nested:
            num = row_norms2(a[:, : self.num_basis.shape[1]])
        else:
            num = row_norms2(v @ self.num_basis)
        return num, row_norms2(resid)


def mean_axes(table: np.ndarray, axes: tuple, cache: dict | None) -> np.ndarray:
    """Means of a batch of tables over ``axes`` (indices into the table without the batch
    axis, possibly none), with those axes kept (length 1) for broadcasting.

    The axes are short (factor levels), so adding slices is much faster than a reduction
    whose inner loop runs over a handful of elements.
    """
    if not axes:
        return table
    count = 1
    for axis in sorted(axes, reverse=True):
        lead = (slice(None),) * (axis + 1)
        parts = [table[(*lead, slice(level, level + 1))] for level in range(table.shape[axis + 1])]
        total = scratch(cache, ("mean", axes, axis, table.ndim), parts[0].shape)
        np.add(parts[0], parts[1], out=total)
        for part in parts[2:]:
            np.add(total, part, out=total)
        table = total
        count *= len(parts)
    table /= count
    return table


def scratch(cache: dict | None, name, shape: tuple) -> np.ndarray:
    """A work array of ``shape``, reused from chunk to chunk through the engine's
    workspace: allocating (and page-faulting) large temporaries for every chunk costs
    more than the arithmetic on them."""
    if cache is None:
        return np.empty(shape)
    workspace = cache.setdefault("workspace", {})
    buffer = workspace.get(("scratch", name))
    if buffer is None or buffer.shape != shape:
        buffer = np.empty(shape)
        workspace[("scratch", name)] = buffer
    return buffer


def gather(
    source: np.ndarray, index: np.ndarray, cache: dict | None, axis: int | None = None
) -> np.ndarray:
    """``np.take(source, index, axis)``, once per chunk and into a reused buffer.

    ``cache`` is the engine's per-chunk dict (kernels permuting the same vector share the
    result); its ``"workspace"`` entry persists across chunks and holds the output
    buffers, so that the large ``(b, n)`` arrays are not allocated (and page-faulted)
    again for every chunk.
    """
    if axis is None and is_signflip(index):
        return transform(source, index)  # sign flips multiply
    if cache is None:
        return np.take(source, index, axis=axis)
    key = ("take", id(source), id(index), axis)
    if key in cache:
        return cache[key]
    workspace = cache.setdefault("workspace", {})
    shape = index.shape if axis is None else (*source.shape[:axis], *index.shape)
    shape = (*shape, *source.shape[1:]) if axis is None else shape
    slot = ("buffer", id(source) if axis is None else id(index), axis)
    buffer = workspace.get(slot)
    if buffer is None or buffer.shape[1:] != shape[1:] or buffer.shape[0] < shape[0]:
        buffer = np.empty(shape, dtype=source.dtype)
        workspace[slot] = buffer
    out = buffer[: shape[0]]
    np.take(source, index, axis=axis if axis is not None else 0, out=out, mode="clip")
    cache[key] = out
    return out
