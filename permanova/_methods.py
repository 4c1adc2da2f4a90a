"""The permutation methods of permuco, one function per method, and the observed table.

Each method turns a :class:`~permanova._design.Design` into one *kernel* per effect: the
quantities, built once by QR, that give the sums of squares of a whole batch of
permutations from thin matrix products. Three kernel kinds cover all methods:

* :class:`VectorKernel` -- the method permutes a vector ``u`` (the outcome, residuals or
  rotated residuals). With ``A = u[P] @ basis`` (``P`` a batch of permutations), the
  numerator sum of squares is ``||A[:, :k]||^2`` and the denominator either the squared
  norm of the residual ``u[P] - A basis'`` or ``||A[:, k:]||^2`` (an error stratum).
* :class:`DesignKernel` -- the method permutes the rows of the tested columns of the
  design (dekker, draper_stoneman): each permuted design is residualised on the reduced
  model and the outcome is fitted on it (stacked ``k x k`` problems, never ``n x n``).
* :class:`StratumKernel` -- the repeated-measures methods: the projection on the (large)
  error stratum comes from means over the subject-by-cell table, minus its projection on
  the few fixed columns of that stratum.

Every sum of squares is the squared norm of a computed vector, never a difference of
squared norms, so that its rounding error is relative to itself and to the outcome's
scale (:class:`Scale`); :class:`Ratio` turns the sums into F and states how close two F
must be to count as a tie.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from fractions import Fraction
from itertools import combinations

import numpy as np
from scipy import special

from permanova import _exact
from permanova._design import (
    Design,
    cell_means,
    column_scale,
    complement_basis,
    orthonormal_basis,
    residualize,
    rounding_bound,
    row_kronecker,
)

BETWEEN_METHODS = (
    "freedman_lane",
    "manly",
    "ter_braak",
    "kennedy",
    "huh_jhun",
    "dekker",
    "draper_stoneman",
)
WITHIN_METHODS = (
    "rd_kheradpajouh_renaud",
    "rde_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
)
#: permuco's spellings (lower-cased) accepted as aliases.
ALIASES = {"terbraak": "ter_braak"}
#: Methods that permute the rows of the design rather than a vector.
DESIGN_PERMUTING = ("dekker", "draper_stoneman")
#: Eigenvalues of a permuted Gram matrix below this fraction of its largest diagonal
#: entry are treated as zero (a permuted design that lost rank).
_GRAM_TOL = 1e-11
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


class _Statistics:
    """The F of a batch, shared by the kernels (each defines ``sums`` and ``ratio``)."""

    def statistics(self, perms: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """F for a batch of permutations (b, n_units); ``cache`` shares gathers per batch."""
        num, den = self.sums(perms, cache)
        return self.ratio.statistic(num, den)


def _row_norms2(a: np.ndarray) -> np.ndarray:
    """Squared norm of every row."""
    return np.einsum("ij,ij->i", a, a)


@dataclass(frozen=True)
class VectorKernel(_Statistics):
    """F of one effect for methods that permute a vector (see module docstring)."""

    unit_key: str
    u: np.ndarray
    basis: np.ndarray
    k_num: int
    residual_denominator: bool
    ratio: Ratio
    observed: float | None = None
    observed_tolerance: float = 0.0
    exact: _exact.ExactStatistic | None = field(default=None, repr=False)

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        """``(num, den)`` sums of squares for a batch of permutations (b, n_units)."""
        v = _gather(self.u, perms, cache)
        a = v @ self.basis
        num = _row_norms2(a[:, : self.k_num])
        if self.residual_denominator:
            # the residual itself, not ||v||^2 - ||a||^2: no cancellation in good fits
            resid = np.matmul(a, self.basis.T, out=_scratch(cache, "resid", v.shape))
            den = _row_norms2(np.subtract(v, resid, out=resid))
        else:
            den = _row_norms2(a[:, self.k_num :])
        return num, den


@dataclass(frozen=True)
class DesignKernel(_Statistics):
    """F of one effect for methods that permute rows of the design (see module docstring)."""

    unit_key: str
    source: np.ndarray
    reduced_basis: np.ndarray
    ry: np.ndarray
    gram_scale: float
    ratio: Ratio
    observed: float | None = None
    observed_tolerance: float = 0.0
    exact: _exact.ExactStatistic | None = field(default=None, repr=False)

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        """``(num, den)`` for a batch of permutations of the rows (b, n)."""
        n, k = self.source.shape
        step = max(1, _DESIGN_CHUNK // (n * (k + self.reduced_basis.shape[1])))
        parts = [self._sums(perms[i : i + step]) for i in range(0, perms.shape[0], step)]
        if len(parts) == 1:
            return parts[0]
        return tuple(np.concatenate(p) for p in zip(*parts))

    def _sums(self, perms: np.ndarray):
        permuted = self.source[perms]  # (b, n, k)
        coef = np.einsum("nr,bnk->brk", self.reduced_basis, permuted)
        m = permuted - np.einsum("nr,brk->bnk", self.reduced_basis, coef)  # R_D S[p]
        gram = np.einsum("bnk,bnl->bkl", m, m)
        c = np.einsum("bnk,n->bk", m, self.ry)
        eigval, eigvec = np.linalg.eigh(gram)
        keep = eigval > _GRAM_TOL * self.gram_scale
        proj = np.einsum("bkj,bk->bj", eigvec, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            weights = np.where(keep, proj / np.where(keep, eigval, 1.0), 0.0)
        beta = np.einsum("bkj,bj->bk", eigvec, weights)
        fit = np.einsum("bnk,bk->bn", m, beta)
        return _row_norms2(fit), _row_norms2(self.ry - fit)


@dataclass(frozen=True)
class StratumKernel(_Statistics):
    """F of one effect of a repeated-measures design, from the subject-by-cell table.

    The error space of an effect whose within part is ``w`` is ``T_w - F_w``: ``T_w``
    holds the functions of (subject, levels of ``w``) free of lower-order terms of ``w``
    (for ``w`` empty: the subject means), ``F_w`` the fixed effects with within part
    ``w`` (``col(F_w)`` lies in ``T_w``). ``T_w v = sum_{J <= w} (-1)^{|w - J|} m_J``,
    ``m_J`` the table's means over the within factors outside ``J`` (subject kept): a few
    reductions of the reshaped table. The error is then the residual of ``T_w v`` on an
    orthonormal basis of ``F_w`` (no subtraction of squared norms, so large subject
    offsets cost no accuracy).
    """

    unit_key: str
    u: np.ndarray
    row_order: np.ndarray | None
    table_shape: tuple
    num_basis: np.ndarray  # rows in table order
    fixed_basis: np.ndarray  # orthonormal basis of F_w, rows in table order
    nested: bool  # col(num_basis) lies in F_w: fixed_basis starts with num_basis
    terms: tuple  # (sign, within axes averaged over) per term of T_w
    ratio: Ratio
    observed: float | None = None
    observed_tolerance: float = 0.0
    exact: _exact.ExactStatistic | None = field(default=None, repr=False)

    def sums(self, perms: np.ndarray, cache: dict | None = None):
        """``(num, den)`` for a batch of permutations (b, n) of the observations."""
        if self.row_order is not None:
            perms = _gather(perms, self.row_order, cache, axis=1)
        v = _gather(self.u, perms, cache)
        b = v.shape[0]
        table = v.reshape((b, *self.table_shape))
        (_, axes), *rest = self.terms  # the first term has the sign +1
        t = _scratch(cache, "stratum", table.shape)
        np.copyto(t, _mean_axes(table, axes, cache))
        for sign, axes in rest:
            (np.add if sign > 0 else np.subtract)(t, _mean_axes(table, axes, cache), out=t)
        t = t.reshape(b, -1)
        a = t @ self.fixed_basis
        if self.nested:
            num = _row_norms2(a[:, : self.num_basis.shape[1]])
        else:
            num = _row_norms2(v @ self.num_basis)
        resid = np.matmul(a, self.fixed_basis.T, out=_scratch(cache, "resid", t.shape))
        den = _row_norms2(np.subtract(t, resid, out=resid))
        return num, den


def _mean_axes(table: np.ndarray, axes: tuple, cache: dict | None) -> np.ndarray:
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
        total = _scratch(cache, ("mean", axes, axis), parts[0].shape)
        np.add(parts[0], parts[1], out=total)
        for part in parts[2:]:
            np.add(total, part, out=total)
        table = total
        count *= len(parts)
    table /= count
    return table


def _scratch(cache: dict | None, name, shape: tuple) -> np.ndarray:
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


def _gather(
    source: np.ndarray, index: np.ndarray, cache: dict | None, axis: int | None = None
) -> np.ndarray:
    """``np.take(source, index, axis)``, once per batch and into a reused buffer.

    ``cache`` is the engine's per-batch dict (kernels permuting the same vector share the
    result); its ``"workspace"`` entry persists across batches and holds the output
    buffers, so that the large ``(b, n)`` arrays are not allocated (and page-faulted)
    again for every batch.
    """
    if cache is None:
        return np.take(source, index, axis=axis)
    key = ("take", id(source), id(index), axis)
    if key in cache:
        return cache[key]
    workspace = cache.setdefault("workspace", {})
    shape = index.shape if axis is None else (*source.shape[:axis], *index.shape)
    slot = ("buffer", id(source) if axis is None else id(index), axis)
    buffer = workspace.get(slot)
    if buffer is None or buffer.shape[1:] != shape[1:] or buffer.shape[0] < shape[0]:
        buffer = np.empty(shape, dtype=source.dtype)
        workspace[slot] = buffer
    out = buffer[: shape[0]]
    np.take(source, index, axis=axis, out=out, mode="clip")  # indices are valid
    cache[key] = out
    return out


# --------------------------------------------------------------------------------------
# observed tables
# --------------------------------------------------------------------------------------
def f_pvalue(f, df1, df2):
    """Upper tail of the F distribution (``scipy.stats.f.sf`` without its overhead)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.fdtrc(df1, df2, f)


def observed_table(design: Design) -> dict:
    """Parametric ANOVA of the design: per effect df, df_error, SS, SS_error, F, p.

    Between designs: type III sums of squares, ``SS = ||P_{R_D X} y||^2`` with ``D`` the
    model without the effect, against the residual of the full model. Repeated measures:
    the error term of an effect is its ``Error(subject/within)`` stratum (permuco's
    ``effect_anova_rnd``). The sums of squares are those of ``design.y`` (the scaled
    outcome); sums at its rounding level are exact zeros (constant outcome, perfect fit),
    so that F is NaN (0/0) or inf rather than a ratio of rounding errors.

    The error sums of squares are taken from the (uncentred) outcome minus its cell means
    (and subject means, for the within strata) first: each difference rounds relative to
    itself, and the rounding errors of the means are constant within cells (subjects), so
    they lie in the model and drop out of the residual, which keeps its relative accuracy
    even for a nearly perfect fit.
    """
    y = design.y
    zero = (rounding_bound(design.n, design.X.shape[1]) * design.scale) ** 2
    out = {key: [] for key in ("df", "df_error", "SS", "SS_error", "F", "p_parametric")}
    within_cells = design.scaled - cell_means(design.scaled, design.cells)
    if design.repeated:
        within_subjects = within_cells - cell_means(within_cells, design.subjects)
        for i in range(1, len(design.effects) + 1):
            parts = _rm_parts(design, i)
            base = within_subjects if design.within_part(i) else within_cells
            ss = float(np.sum((parts["q_rdx"].T @ y) ** 2))
            sse = float(np.sum((parts["q_rdz"].T @ base) ** 2))
            _append(out, parts["q_rdx"].shape[1], parts["q_rdz"].shape[1], ss, sse, zero)
        return out
    q_full = orthonormal_basis(design.X)
    resid = residualize(q_full, within_cells)
    sse = float(resid @ resid)
    df_error = design.n - q_full.shape[1]
    for i in range(1, len(design.effects) + 1):
        _, q_rdx = _between_parts(design, i)
        ss = float(np.sum((q_rdx.T @ y) ** 2))
        _append(out, q_rdx.shape[1], df_error, ss, sse, zero)
    return out


def _append(out, df, df_error, ss, sse, zero):
    ss = 0.0 if ss <= zero else ss
    sse = 0.0 if sse <= zero else sse
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.float64(ss / df) / np.float64(sse / df_error) if df_error > 0 else np.nan
    out["df"].append(df)
    out["df_error"].append(df_error)
    out["SS"].append(ss)
    out["SS_error"].append(sse)
    out["F"].append(float(f))
    out["p_parametric"].append(float(f_pvalue(f, df, df_error)))


def _ratio(design: Design, width: int, df_num: float, df_den: float) -> Ratio:
    """The :class:`Ratio` of a kernel whose products use bases of ``width`` columns."""
    noise = rounding_bound(design.n, width) * design.scale
    return Ratio(df_num=df_num, df_den=df_den, noise=noise)


# --------------------------------------------------------------------------------------
# between-subjects methods
# --------------------------------------------------------------------------------------
def _memo(function):
    """Cache a ``(design, i)`` helper in ``design.cache`` (bases are built once)."""

    def wrapper(design: Design, i: int):
        key = (function.__name__, i)
        if key not in design.cache:
            design.cache[key] = function(design, i)
        return design.cache[key]

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@_memo
def _exact_outcome(design: Design, _: int):
    """The outcome as exact integers (the scaled floats times a power of two) and that
    power of two."""
    return _exact.integer_vector(design.scaled)


def _exact_residual(design: Design, model: np.ndarray):
    """``(c * R_M y, 1 / c**2)``: the integer residual of the outcome and the unit that
    turns its sums of squares into those of the scaled outcome."""
    y, scale = _exact_outcome(design, 0)
    u, factor = _exact.scaled_residual(y, model)
    return u, Fraction(1, (factor * scale) ** 2)


def _exact_vector(design: Design, i: int, permuted: str, den_from: str = "full"):
    """The exact statistic of effect ``i`` for a method that permutes ``R_D y`` or ``y``."""

    def build():
        reduced = design.X[:, ~design.columns(i)]
        if not _exact.small_enough(design.X):
            return None
        u, unit = _exact_residual(design, reduced if permuted == "reduced" else design.X[:, :1])
        return _exact.vector_statistic(u, design.X, reduced, den_from), unit

    return _exact.ExactStatistic(build)


@_memo
def _between_parts(design: Design, i: int):
    """Bases of the reduced model ``D`` (without effect i) and of ``R_D X_i``."""
    cols = design.columns(i)
    x = design.X[:, cols]
    q_d = orthonormal_basis(design.X[:, ~cols])
    q_rdx = orthonormal_basis(residualize(q_d, x), scale=column_scale(x))
    return q_d, q_rdx


def _residual_kernel(design, u, q_rdx, q_d, observed=None):
    basis = np.hstack([q_rdx, q_d])
    df_den = design.n - basis.shape[1]
    ratio = _ratio(design, basis.shape[1], q_rdx.shape[1], df_den)
    return VectorKernel(
        unit_key="obs",
        u=u,
        basis=basis,
        k_num=q_rdx.shape[1],
        residual_denominator=True,
        ratio=ratio,
        observed=observed,
    )


def freedman_lane(design: Design, **_) -> list:
    """Permute the residuals of the reduced model: ``y* = P R_D y``."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        kernel = _residual_kernel(design, residualize(q_d, design.y), q_rdx, q_d)
        kernels.append(replace(kernel, exact=_exact_vector(design, i, "reduced")))
    return kernels


def manly(design: Design, **_) -> list:
    """Permute the (centred) outcome: ``y* = P y``."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        kernel = _residual_kernel(design, design.y, q_rdx, q_d)
        kernels.append(replace(kernel, exact=_exact_vector(design, i, "centred")))
    return kernels


def ter_braak(design: Design, **_) -> list:
    """Permute the residuals of the full model, ``y* = P R_full y``.

    As permuco 1.1.3: the permuted statistics are the F of ``y*`` itself, compared with the
    observed F of ``y`` (the identity of ``y*`` gives the F of the residuals, about 0).
    """
    q_full = orthonormal_basis(design.X)
    u = residualize(q_full, design.y)
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        kernel = _residual_kernel(design, u, q_rdx, q_d)
        num = float(np.sum((q_rdx.T @ design.y) ** 2))
        den = float(u @ u)
        observed = float(kernel.ratio.statistic(np.array([num]), np.array([den]))[0])
        kernels.append(
            replace(
                kernel,
                observed=observed,
                observed_tolerance=kernel.ratio.tie_tolerance(num, den),
            )
        )
    return kernels


def kennedy(design: Design, **_) -> list:
    """Permute ``R_D y`` and test it against ``R_D X`` alone (no nuisance columns)."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        df_den = design.n - q_d.shape[1] - q_rdx.shape[1]
        kernels.append(
            VectorKernel(
                unit_key="obs",
                u=residualize(q_d, design.y),
                basis=q_rdx,
                k_num=q_rdx.shape[1],
                residual_denominator=True,
                ratio=_ratio(design, q_d.shape[1] + q_rdx.shape[1], q_rdx.shape[1], df_den),
                exact=_exact_vector(design, i, "reduced", den_from="effect"),
            )
        )
    return kernels


def huh_jhun_rotation(design: Design, i: int, raw: np.ndarray) -> np.ndarray:
    """permuco's ``V`` for effect ``i`` from an ``n x n`` random matrix ``raw``.

    ``V = Omega Q_c'``: ``Q_c`` (n x m) is an orthonormal basis of the complement of the
    reduced model ``D`` (complete QR), ``m = n - rank(D)``, and ``Omega`` is the Q factor
    of the leading ``m x m`` block of ``raw`` with the signs of R's diagonal made positive.
    """
    q_c = complement_basis(design.X[:, ~design.columns(i)])
    m = q_c.shape[1]
    q, r = np.linalg.qr(raw[:m, :m])
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    omega = q * signs
    return omega @ q_c.T


def huh_jhun(design: Design, *, rotations: dict, **_) -> list:
    """Rotate ``R_D`` into ``n - rank(D)`` coordinates, ``V y``, and permute those."""
    kernels = []
    q_full_rank = orthonormal_basis(design.X).shape[1]
    for i, name in enumerate(design.effects, start=1):
        v = rotations[name]
        x = design.X[:, design.columns(i)]
        q_vx = orthonormal_basis(v @ x, scale=column_scale(x))
        kernels.append(
            VectorKernel(
                unit_key=name,
                u=v @ design.y,
                basis=q_vx,
                k_num=q_vx.shape[1],
                residual_denominator=True,
                # V itself (a QR of n x n) rounds like a basis of n columns
                ratio=_ratio(design, design.n, q_vx.shape[1], design.n - q_full_rank),
            )
        )
    return kernels


def _design_kernel(design: Design, i: int, permute_residualised: bool) -> DesignKernel:
    q_d, q_rdx = _between_parts(design, i)
    x = design.X[:, design.columns(i)]
    source = residualize(q_d, x) if permute_residualised else x

    def build():
        reduced = design.X[:, ~design.columns(i)]
        if not _exact.small_enough(design.X):
            return None
        exact_source = _exact.residual(x, reduced) if permute_residualised else x
        ry, unit = _exact_residual(design, reduced)
        sums = _exact.design_statistic(
            _exact.integer_matrix(exact_source), _exact.integer_matrix(reduced), ry
        )
        return sums, unit

    return DesignKernel(
        unit_key="obs",
        source=np.ascontiguousarray(source),
        reduced_basis=q_d,
        ry=residualize(q_d, design.y),
        gram_scale=max(float(np.max(np.sum(source * source, axis=0))), np.finfo(float).tiny),
        ratio=_ratio(
            design,
            q_d.shape[1] + q_rdx.shape[1],
            q_rdx.shape[1],
            design.n - q_d.shape[1] - q_rdx.shape[1],
        ),
        exact=_exact.ExactStatistic(build),
    )


def dekker(design: Design, **_) -> list:
    """Permute the rows of ``R_D X`` and residualise them again on ``D``."""
    return [_design_kernel(design, i, True) for i in range(1, len(design.effects) + 1)]


def draper_stoneman(design: Design, **_) -> list:
    """Permute the rows of the tested columns ``X`` of the design."""
    return [_design_kernel(design, i, False) for i in range(1, len(design.effects) + 1)]


# --------------------------------------------------------------------------------------
# repeated-measures methods (Kherad-Pajouh & Renaud)
# --------------------------------------------------------------------------------------
def _stratum_columns(design: Design, within_index: int) -> np.ndarray:
    """Columns of the within effect ``within_index`` (0: the intercept)."""
    return design.X[:, design.assign == within_index]


@_memo
def _full_basis(design: Design, _: int) -> np.ndarray:
    """Orthonormal basis of the full fixed-effect model."""
    return orthonormal_basis(design.X)


@_memo
def _rm_parts(design: Design, i: int) -> dict:
    """Reduced model, effect and error-stratum bases of effect ``i`` (Rd)."""
    cols = design.columns(i)
    x = design.X[:, cols]
    q_full = _full_basis(design, 0)
    z_raw = row_kronecker(design.subject_matrix, _stratum_columns(design, design.within_part(i)))
    z_scale = column_scale(z_raw)
    z = residualize(q_full, z_raw)
    q_d = orthonormal_basis(design.X[:, ~cols])
    q_rdx = orthonormal_basis(residualize(q_d, x), scale=column_scale(x))
    q_rdz = orthonormal_basis(residualize(q_d, z), scale=z_scale)
    return {
        "q_d": q_d,
        "q_rdx": q_rdx,
        "q_rdz": q_rdz,
        "z": z,
        "z_scale": z_scale,
        "q_full": q_full,
    }


def _stratum_kernel(design, u, q_num, q_den) -> VectorKernel:
    width = q_num.shape[1] + q_den.shape[1]
    return VectorKernel(
        unit_key="obs",
        u=u,
        basis=np.hstack([q_num, q_den]),
        k_num=q_num.shape[1],
        residual_denominator=False,
        ratio=_ratio(design, width, q_num.shape[1], q_den.shape[1]),
    )


def _table_kernel(design: Design, i: int, u, q_num, df_den, exact_models) -> StratumKernel:
    """:class:`StratumKernel` of effect ``i`` for the permuted vector ``u``.

    ``exact_models`` gives ``(full, reduced)`` (or None when too wide): integer matrices
    whose projections differ by the tested space, ``u`` being the residual of ``y`` on
    ``reduced`` (built only when an exact decision is needed).
    """
    w = design.within_part(i)
    # F_w: the effects of the stratum (for w = 0: the intercept and the between effects)
    same_stratum = [j for j in range(1, len(design.effects) + 1) if design.within_part(j) == w]
    if w == 0:
        same_stratum = [0, *same_stratum]
    fixed_columns = design.X[:, np.isin(design.assign, same_stratum)]
    q_fixed = orthonormal_basis(fixed_columns)
    within_axes = {f: 1 + k for k, f in enumerate(design.within)}
    w_axes = [within_axes[f] for f in (design.effect_factors[w - 1] if w else ())]
    all_within = set(within_axes.values())
    terms = []  # the term of w itself (sign +1) first
    for size in range(len(w_axes), -1, -1):
        for kept in combinations(w_axes, size):
            averaged = tuple(sorted(all_within - set(kept)))
            sign = -1.0 if (len(w_axes) - size) % 2 else 1.0
            terms.append((sign, averaged))
    order = design.row_order
    identity = np.array_equal(order, np.arange(design.n))
    # the tested columns usually lie in F_w: then one product gives both sums of squares
    nested = bool(np.abs(residualize(q_fixed, q_num)).max(initial=0.0) < 1e-10)
    if nested:
        q_rest = orthonormal_basis(residualize(q_num, q_fixed), scale=1.0)
        fixed = np.hstack([q_num, q_rest])
    else:
        fixed = q_fixed
    width = fixed.shape[1] + (0 if nested else q_num.shape[1])
    return StratumKernel(
        unit_key="obs",
        u=u,
        row_order=None if identity else order,
        table_shape=design.table_shape,
        num_basis=np.ascontiguousarray(q_num[order]),
        fixed_basis=np.ascontiguousarray(fixed[order]),
        nested=nested,
        terms=tuple(terms),
        # T_w v: means of a few table cells, whose rounding is far below a product's
        ratio=_ratio(design, width + 1, q_num.shape[1], df_den),
        exact=_exact.ExactStatistic(
            functools.partial(_exact_stratum, design, exact_models, fixed_columns, tuple(terms))
        ),
    )


def _exact_stratum(design: Design, exact_models, fixed_columns, terms):
    """The exact statistic of a :class:`StratumKernel` (``exact_models``: a function
    giving ``(full, reduced)``, or None for a model too wide to decide exactly)."""
    models = exact_models()
    if models is None or not _exact.small_enough(*models, fixed_columns):
        return None
    full, reduced = models
    u, unit = _exact_residual(design, reduced)
    sums = _exact.stratum_statistic(
        u, full, reduced, fixed_columns, design.row_order, design.table_shape, terms
    )
    return sums, unit


def rd_kheradpajouh_renaud(design: Design, **_) -> list:
    """Permute ``R_D y``; F is the ratio of its projections on ``R_D X`` and ``R_D Z``."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        p = _rm_parts(design, i)
        u = residualize(p["q_d"], design.y)
        models = functools.partial(_rd_models, design, i)
        kernels.append(_table_kernel(design, i, u, p["q_rdx"], p["q_rdz"].shape[1], models))
    return kernels


def _rd_models(design: Design, i: int):
    """``(full, reduced)`` of effect ``i`` for the exact Rd statistic."""
    return design.X, design.X[:, ~design.columns(i)]


def _rde_models(design: Design, i: int, e_cols: np.ndarray):
    """``(full, reduced)`` of effect ``i`` for the exact Rde statistic: ``D`` with
    ``e = R_[X, Z] E`` (the float code residualises ``E`` on ``X``, then on ``R_X Z``)."""
    z_raw = row_kronecker(design.subject_matrix, _stratum_columns(design, design.within_part(i)))
    e = row_kronecker(design.subject_matrix, e_cols)
    if e.shape[1] > _exact.MAX_COLUMNS:
        return None  # too wide to eliminate exactly
    e_exact = _exact.residual(e, np.hstack([design.X, z_raw]))
    reduced = np.hstack([_exact.integer_matrix(design.X[:, ~design.columns(i)]), e_exact])
    full = np.hstack([reduced, _exact.integer_matrix(design.X[:, design.columns(i)])])
    return full, reduced


def rde_kheradpajouh_renaud(design: Design, **_) -> list:
    """As Rd, with the other random strata ``E`` added to the reduced model."""
    within_parts = {design.within_part(j) for j in range(1, len(design.effects) + 1)}
    kernels = []
    for i in range(1, len(design.effects) + 1):
        p = _rm_parts(design, i)
        others = sorted(within_parts - {design.within_part(i)})
        e_cols = design.X[:, np.isin(design.assign, others)]
        e = row_kronecker(design.subject_matrix, e_cols)
        e_scale = column_scale(e)
        e = residualize(p["q_full"], e)
        e = residualize(orthonormal_basis(p["z"], scale=p["z_scale"]), e)
        cols = design.columns(i)
        x = design.X[:, cols]
        reduced = design.X[:, ~cols]
        q_d = orthonormal_basis(reduced)
        q_e = orthonormal_basis(residualize(q_d, e), scale=e_scale)
        q_de = np.hstack([q_d, q_e])
        q_rdex = orthonormal_basis(residualize(q_de, x), scale=column_scale(x))
        q_rdez = orthonormal_basis(residualize(q_de, p["z"]), scale=p["z_scale"])
        u = residualize(q_de, design.y)
        models = functools.partial(_rde_models, design, i, e_cols)
        kernels.append(_table_kernel(design, i, u, q_rdex, q_rdez.shape[1], models))
    return kernels


def rd_replic_kheradpajouh_renaud(design: Design, **_) -> list:
    """Rd applied to the fit of the permuted residuals on the subject-by-cell model.

    permuco projects ``P R_D y`` on ``[M_gr, Z_id * M_gr]`` (``M_gr``: intercept and the
    purely between and purely within effects) before taking the Rd ratio, which pools
    replicated observations of a subject in a cell. With one observation per subject and
    within cell (required here) that model is saturated and the method equals Rd.
    """
    selected = [0] + [
        j
        for j in range(1, len(design.effects) + 1)
        if set(design.effect_factors[j - 1]) <= set(design.between)
        or set(design.effect_factors[j - 1]) <= set(design.within)
    ]
    m_gr = design.X[:, np.isin(design.assign, selected)]
    q_gr = orthonormal_basis(np.hstack([m_gr, row_kronecker(design.subject_matrix, m_gr)]))
    if q_gr.shape[1] == design.n:  # saturated: the projection is the identity
        return rd_kheradpajouh_renaud(design)
    kernels = []
    for i in range(1, len(design.effects) + 1):
        p = _rm_parts(design, i)
        u = residualize(p["q_d"], design.y)
        w_num = q_gr @ (q_gr.T @ p["q_rdx"])
        w_den = q_gr @ (q_gr.T @ p["q_rdz"])
        kernels.append(_stratum_kernel(design, u, w_num, w_den))
    return kernels


METHODS = {
    "freedman_lane": freedman_lane,
    "manly": manly,
    "ter_braak": ter_braak,
    "kennedy": kennedy,
    "huh_jhun": huh_jhun,
    "dekker": dekker,
    "draper_stoneman": draper_stoneman,
    "rd_kheradpajouh_renaud": rd_kheradpajouh_renaud,
    "rde_kheradpajouh_renaud": rde_kheradpajouh_renaud,
    "rd_replic_kheradpajouh_renaud": rd_replic_kheradpajouh_renaud,
}
