"""The permutation methods of permuco, one function per method, and the observed table.

Each method turns a :class:`~permanova._design.Design` into one *kernel* per effect: the
quantities, built once by QR, that give the F statistic of a whole batch of permutations
from one thin matrix product. Three kernel kinds cover all methods:

* :class:`VectorKernel` -- the method permutes a vector ``u`` (the outcome, residuals or
  rotated residuals). With ``A = u[P] @ basis`` (``P`` a batch of permutations), the
  numerator sum of squares is ``||A[:, :k]||^2`` and the denominator either
  ``const - ||A[:, :k_res]||^2`` (a residual whose squared norm is permutation-invariant)
  or ``||A[:, k:]||^2`` (an error stratum of a repeated-measures design).
* :class:`DesignKernel` -- the method permutes the rows of the tested columns of the
  design (dekker, draper_stoneman). With ``S = source[P]`` and ``A = Q_D' S``, the
  numerator is ``c' (G0 - A'A)^+ c`` with ``c = S' ry`` and ``G0 = source' source``:
  stacked ``k x k`` problems, never an ``n x n`` matrix.
* :class:`StratumKernel` -- the repeated-measures methods: as a vector kernel, but the
  squared norm on the (large) error stratum comes from marginal sums of the
  subject-by-cell table minus a projection on the few fixed columns of that stratum.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import special

from permanova._design import (
    Design,
    column_scale,
    complement_basis,
    orthonormal_basis,
    residualize,
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
class VectorKernel:
    """F of one effect for methods that permute a vector (see module docstring)."""

    unit_key: str
    u: np.ndarray
    basis: np.ndarray
    k_num: int
    residual_denominator: bool
    const: float
    k_res: int
    df_num: float
    df_den: float
    observed: float | None = None

    def statistics(self, perms: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """F for a batch of permutations (b, n_units); ``cache`` shares gathers per batch."""
        return self.statistics_of(_gather(self.u, perms, cache))

    def statistics_of(self, permuted: np.ndarray) -> np.ndarray:
        """F for the permuted vectors ``permuted = u[perms]`` of shape (b, n_units)."""
        a = permuted @ self.basis
        num_part = a[:, : self.k_num]
        num = np.einsum("ij,ij->i", num_part, num_part)
        if self.residual_denominator:
            res = a[:, : self.k_res]
            den = self.const - np.einsum("ij,ij->i", res, res)
        else:
            err = a[:, self.k_num :]
            den = np.einsum("ij,ij->i", err, err)
        return _ratio(
            num,
            den,
            self.df_num,
            self.df_den,
            self.norm2,
            self.u.shape[0],
            self.residual_denominator,
        )

    @property
    def norm2(self) -> float:
        return float(self.u @ self.u)


@dataclass(frozen=True)
class DesignKernel:
    """F of one effect for methods that permute rows of the design (see module docstring)."""

    unit_key: str
    source: np.ndarray
    reduced_basis: np.ndarray
    ry: np.ndarray
    gram: np.ndarray
    const: float
    df_num: float
    df_den: float

    def statistics(self, perms: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """F for a batch of permutations of the rows (b, n)."""
        n, k = self.source.shape
        step = max(1, _DESIGN_CHUNK // (n * k))
        if perms.shape[0] <= step:
            return self._statistics(perms)
        return np.concatenate(
            [self._statistics(perms[i : i + step]) for i in range(0, perms.shape[0], step)]
        )

    def _statistics(self, perms: np.ndarray) -> np.ndarray:
        permuted = self.source[perms]  # (b, n, k)
        c = np.einsum("bnk,n->bk", permuted, self.ry)
        a = np.einsum("nr,bnk->brk", self.reduced_basis, permuted)
        gram = self.gram - np.einsum("brk,brl->bkl", a, a)
        eigval, eigvec = np.linalg.eigh(gram)
        scale = max(float(np.max(np.diag(self.gram))), np.finfo(float).tiny)
        keep = eigval > _GRAM_TOL * scale
        proj = np.einsum("bkj,bk->bj", eigvec, c)
        with np.errstate(divide="ignore", invalid="ignore"):
            num = np.where(keep, proj * proj / np.where(keep, eigval, 1.0), 0.0).sum(axis=1)
        den = self.const - num
        return _ratio(num, den, self.df_num, self.df_den, self.const, self.ry.shape[0], True)


@dataclass(frozen=True)
class StratumKernel:
    """F of one effect of a repeated-measures design, from the subject-by-cell table.

    The error space of an effect whose within part is ``w`` is ``T_w - F_w``: ``T_w``
    holds the functions of (subject, levels of ``w``) free of lower-order terms of ``w``
    (for ``w`` empty: the subject means), ``F_w`` the fixed effects with within part
    ``w``. Then ``||H v||^2 = sum_{J <= w} (-1)^{|w - J|} M(subject + J) - ||Q_F' v||^2``,
    ``M(K)`` being the sum of squared marginal sums over ``K`` divided by their counts:
    a few reductions of the reshaped table and one product of width ``k_num + k_F``,
    instead of a product with a basis of the (large) error stratum.
    """

    unit_key: str
    u: np.ndarray
    row_order: np.ndarray | None
    table_shape: tuple
    basis: np.ndarray  # rows in table order: [Q_rdx, Q_F] or [Q_rdx, Q_F - Q_rdx]
    k_num: int
    nested: bool  # True when col(Q_rdx) lies in col(Q_F): basis = [Q_rdx, Q_F - Q_rdx]
    marginals: tuple  # (sign, axes summed over, count) per term
    df_num: float
    df_den: float
    observed: float | None = None

    def statistics(self, perms: np.ndarray, cache: dict | None = None) -> np.ndarray:
        """F for a batch of permutations (b, n) of the observations."""
        if self.row_order is not None:
            perms = _gather(perms, self.row_order, cache, axis=1)
        v = _gather(self.u, perms, cache)
        a = v @ self.basis
        num_part = a[:, : self.k_num]
        fixed = a[:, self.k_num :]
        num = np.einsum("ij,ij->i", num_part, num_part)
        den = -np.einsum("ij,ij->i", fixed, fixed)
        if self.nested:
            den -= num
        norm2 = float(self.u @ self.u)
        table = v.reshape((v.shape[0], *self.table_shape))
        for sign, axes, count in self.marginals:
            if not axes:  # the whole table: ||v||^2 = ||u||^2 for every permutation
                den += sign * norm2
                continue
            sums = _sum_axes(table, axes).reshape(v.shape[0], -1)
            den += sign * np.einsum("ij,ij->i", sums, sums) / count
        return _ratio(num, den, self.df_num, self.df_den, norm2, self.u.shape[0], True)


def _sum_axes(table: np.ndarray, axes: tuple) -> np.ndarray:
    """Sum a batch of tables over ``axes`` (indices into the table without the batch axis).

    The axes are short (factor levels), so adding slices is much faster than a reduction
    whose inner loop runs over a handful of elements.
    """
    for axis in sorted(axes, reverse=True):
        lead = (slice(None),) * (axis + 1)
        parts = [table[(*lead, level)] for level in range(table.shape[axis + 1])]
        total = np.add(parts[0], parts[1])
        for part in parts[2:]:
            np.add(total, part, out=total)
        table = total
    return table


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


def _ratio(num, den, df_num, df_den, norm2, n, cancelled):
    """``(num / df_num) / (den / df_den)`` with sums of squares at rounding level set to 0.

    ``norm2`` is the squared norm of the permuted vector (length ``n``). A numerator below
    ``(64 n eps)^2 norm2`` is zero; so is a denominator below that (or below
    ``64 n eps norm2`` when it is obtained by subtraction). Then ``0 / x = 0``,
    ``0 / 0 = 0`` (a permutation without effect nor error is not extreme) and
    ``x / 0 = inf``: the statistic never depends on rounding noise.
    """
    n_eps = 64 * n * np.finfo(float).eps
    small = n_eps * n_eps * norm2
    num = np.where(num <= small, 0.0, num)
    den = np.where(den <= (n_eps * norm2 if cancelled else small), 0.0, den)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (num / df_num) / (den / df_den)
    return np.where(num == 0.0, 0.0, f)


# --------------------------------------------------------------------------------------
# observed tables
# --------------------------------------------------------------------------------------
def _f_pvalue(f, df1, df2):
    """Upper tail of the F distribution (``scipy.stats.f.sf`` without its overhead)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.fdtrc(df1, df2, f)


def observed_table(design: Design) -> dict:
    """Parametric ANOVA of the design: per effect df, df_error, SS, SS_error, F, p.

    Between designs: type III sums of squares, ``SS = ||P_{R_D X} y||^2`` with ``D`` the
    model without the effect, against the residual of the full model. Repeated measures:
    the error term of an effect is its ``Error(subject/within)`` stratum (permuco's
    ``effect_anova_rnd``).
    """
    y = design.y
    # sums of squares at the rounding level of y are exact zeros (constant outcome, perfect
    # fit), so that F is NaN (0/0) or inf rather than a ratio of rounding errors
    centred = y - y.mean()
    zero = (64 * design.n * np.finfo(float).eps) ** 2 * max(float(y @ y), 1e-300)
    if float(centred @ centred) <= zero:
        zero = np.inf
    out = {key: [] for key in ("df", "df_error", "SS", "SS_error", "F", "p_parametric")}
    if design.repeated:
        for i in range(1, len(design.effects) + 1):
            parts = _rm_parts(design, i)
            ss = float(np.sum((parts["q_rdx"].T @ y) ** 2))
            sse = float(np.sum((parts["q_rdz"].T @ y) ** 2))
            _append(out, parts["q_rdx"].shape[1], parts["q_rdz"].shape[1], ss, sse, zero)
        return out
    q_full = orthonormal_basis(design.X)
    resid = residualize(q_full, y)
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
    out["p_parametric"].append(float(_f_pvalue(f, df, df_error)))


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
def _between_parts(design: Design, i: int):
    """Bases of the reduced model ``D`` (without effect i) and of ``R_D X_i``."""
    cols = design.columns(i)
    x = design.X[:, cols]
    q_d = orthonormal_basis(design.X[:, ~cols])
    q_rdx = orthonormal_basis(residualize(q_d, x), scale=column_scale(x))
    return q_d, q_rdx


def _residual_kernel(design, u, q_rdx, q_d, observed=None):
    df_den = design.n - (q_d.shape[1] + q_rdx.shape[1])
    return VectorKernel(
        unit_key="obs",
        u=u,
        basis=np.hstack([q_rdx, q_d]),
        k_num=q_rdx.shape[1],
        residual_denominator=True,
        const=float(u @ u),
        k_res=q_rdx.shape[1] + q_d.shape[1],
        df_num=q_rdx.shape[1],
        df_den=df_den,
        observed=observed,
    )


def freedman_lane(design: Design, **_) -> list:
    """Permute the residuals of the reduced model: ``y* = P R_D y``."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        kernels.append(_residual_kernel(design, residualize(q_d, design.y), q_rdx, q_d))
    return kernels


def manly(design: Design, **_) -> list:
    """Permute the (centred) outcome: ``y* = P y``."""
    u = design.y - design.y.mean()
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        kernels.append(_residual_kernel(design, u, q_rdx, q_d))
    return kernels


def ter_braak(design: Design, **_) -> list:
    """Permute the residuals of the full model, ``y* = P R_full y``.

    As permuco 1.1.3: the permuted statistics are the F of ``y*`` itself, compared with the
    observed F of ``y`` (the identity of ``y*`` gives the F of the residuals, about 0).
    """
    q_full = orthonormal_basis(design.X)
    u = residualize(q_full, design.y)
    y = design.y
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        df_den = design.n - q_full.shape[1]
        f_obs = (np.sum((q_rdx.T @ y) ** 2) / q_rdx.shape[1]) / (float(u @ u) / df_den)
        kernels.append(_residual_kernel(design, u, q_rdx, q_d, observed=float(f_obs)))
    return kernels


def kennedy(design: Design, **_) -> list:
    """Permute ``R_D y`` and test it against ``R_D X`` alone (no nuisance columns)."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        q_d, q_rdx = _between_parts(design, i)
        u = residualize(q_d, design.y)
        kernels.append(
            VectorKernel(
                unit_key="obs",
                u=u,
                basis=q_rdx,
                k_num=q_rdx.shape[1],
                residual_denominator=True,
                const=float(u @ u),
                k_res=q_rdx.shape[1],
                df_num=q_rdx.shape[1],
                df_den=design.n - q_d.shape[1] - q_rdx.shape[1],
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
        u = v @ design.y
        x = design.X[:, design.columns(i)]
        q_vx = orthonormal_basis(v @ x, scale=column_scale(x))
        kernels.append(
            VectorKernel(
                unit_key=name,
                u=u,
                basis=q_vx,
                k_num=q_vx.shape[1],
                residual_denominator=True,
                const=float(u @ u),
                k_res=q_vx.shape[1],
                df_num=q_vx.shape[1],
                df_den=design.n - q_full_rank,
            )
        )
    return kernels


def _design_kernel(design: Design, i: int, permute_residualised: bool) -> DesignKernel:
    q_d, q_rdx = _between_parts(design, i)
    x = design.X[:, design.columns(i)]
    source = residualize(q_d, x) if permute_residualised else x
    ry = residualize(q_d, design.y)
    return DesignKernel(
        unit_key="obs",
        source=np.ascontiguousarray(source),
        reduced_basis=q_d,
        ry=ry,
        gram=source.T @ source,
        const=float(ry @ ry),
        df_num=q_rdx.shape[1],
        df_den=design.n - q_d.shape[1] - q_rdx.shape[1],
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


def _stratum_kernel(u, q_num, q_den) -> VectorKernel:
    return VectorKernel(
        unit_key="obs",
        u=u,
        basis=np.hstack([q_num, q_den]),
        k_num=q_num.shape[1],
        residual_denominator=False,
        const=0.0,
        k_res=0,
        df_num=q_num.shape[1],
        df_den=q_den.shape[1],
    )


def _table_kernel(design: Design, i: int, u, q_num, df_den) -> StratumKernel:
    """:class:`StratumKernel` of effect ``i`` for the permuted vector ``u``."""
    w = design.within_part(i)
    # F_w: the effects of the stratum (for w = 0: the intercept and the between effects)
    same_stratum = [j for j in range(1, len(design.effects) + 1) if design.within_part(j) == w]
    if w == 0:
        same_stratum = [0, *same_stratum]
    q_fixed = orthonormal_basis(design.X[:, np.isin(design.assign, same_stratum)])
    within_axes = {f: 1 + k for k, f in enumerate(design.within)}
    w_axes = [within_axes[f] for f in (design.effect_factors[w - 1] if w else ())]
    all_within = set(within_axes.values())
    marginals = []
    for size in range(len(w_axes) + 1):
        for kept in combinations(w_axes, size):
            summed = tuple(sorted(all_within - set(kept)))
            count = int(np.prod([design.table_shape[a] for a in summed])) if summed else 1
            sign = -1.0 if (len(w_axes) - size) % 2 else 1.0
            marginals.append((sign, summed, count))
    order = design.row_order
    identity = np.array_equal(order, np.arange(design.n))
    # the tested columns usually lie in F_w: then one product of width k_F is enough
    nested = bool(np.abs(residualize(q_fixed, q_num)).max(initial=0.0) < 1e-10)
    if nested:
        q_rest = orthonormal_basis(residualize(q_num, q_fixed), scale=1.0)
        basis = np.hstack([q_num, q_rest])
    else:
        basis = np.hstack([q_num, q_fixed])
    return StratumKernel(
        unit_key="obs",
        u=u,
        row_order=None if identity else order,
        table_shape=design.table_shape,
        basis=np.ascontiguousarray(basis[order]),
        k_num=q_num.shape[1],
        nested=nested,
        marginals=tuple(marginals),
        df_num=q_num.shape[1],
        df_den=df_den,
    )


def rd_kheradpajouh_renaud(design: Design, **_) -> list:
    """Permute ``R_D y``; F is the ratio of its projections on ``R_D X`` and ``R_D Z``."""
    kernels = []
    for i in range(1, len(design.effects) + 1):
        p = _rm_parts(design, i)
        u = residualize(p["q_d"], design.y)
        kernels.append(_table_kernel(design, i, u, p["q_rdx"], p["q_rdz"].shape[1]))
    return kernels


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
        kernels.append(_table_kernel(design, i, u, q_rdex, q_rdez.shape[1]))
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
        kernel = _stratum_kernel(u, w_num, w_den)
        kernels.append(kernel)
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
