"""The t kernels of :func:`permanova.lmperm` (R permuco's ``lmperm``) and their evaluation.

Each coefficient ``x`` (a column of the model matrix) is tested with the other columns
``D`` as nuisance variables. A *t kernel* holds what one coefficient needs, built once: the
vector the method transforms (permutes or sign-flips), the unit direction of ``R_D x`` and
the basis of the residual projection, so that the t statistics of a whole batch of
transformations come from thin matrix products. The t statistic is
``t = (q'v) sqrt(df) / ||v - B B'v||`` (``q = R_D x / ||R_D x||``, ``B`` the basis), or, for
the methods that transform the design (dekker, draper_stoneman), the same for ``R_D y`` on
``m = R_D (P s)``.

A transformed ``t_b`` within rounding error of ``t_obs`` (the tie band of
:class:`~permanova._kernels.Ratio` on ``t**2``), or with a sum of squares at the rounding
level, is decided again in exact rational arithmetic (:mod:`permanova._exact`), so that
exact ties count and near ties do not.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from permanova import _exact
from permanova._design import complement_basis, orthonormal_basis, residualize, rounding_bound
from permanova._kernels import GRAM_TOL, Ratio, row_norms2
from permanova._transform import transform

#: permuco's t statistic per method: which vector is transformed, which basis the
#: residual is taken on (``"full"``: the whole model, ``"coefficient"``: ``R_D x`` alone).
VECTOR_METHODS = {
    "freedman_lane": ("reduced", "full"),
    "manly": ("centred", "full"),
    "ter_braak": ("full", "full"),
    "kennedy": ("reduced", "coefficient"),
    "huh_jhun": ("rotated", "coefficient"),
}
DESIGN_METHODS = {"dekker": True, "draper_stoneman": False}  # residualise the source?


@dataclass(frozen=True)
class LinearModel:
    """A full-rank model matrix ``X`` (columns kept), its outcome and its settings."""

    X: np.ndarray  # (n, p) full column rank
    y: np.ndarray  # scaled outcome (a power of two times the data), not centred
    intercept: np.ndarray  # (p,) bool: the constant column(s)
    signflip: bool

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def df(self) -> int:
        return self.X.shape[0] - self.X.shape[1]

    @functools.cached_property
    def integers(self):
        """``(y, X)`` as exact integers (each column times its own power of two: the
        column spaces, hence every t statistic, are unchanged)."""
        columns = [_exact.integer_vector(c)[0] for c in self.X.T]
        matrix = np.stack(columns, axis=1) if columns else np.zeros((self.n, 0), object)
        return _exact.integer_vector(self.y)[0], matrix


@dataclass(frozen=True)
class TKernel:
    """The t statistic of one coefficient for a batch of transformations (see module)."""

    units: int
    u: np.ndarray  # transformed vector (vector methods) or design column (design methods)
    basis: np.ndarray  # vector: (units, k), column 0 the direction q; design: basis of D
    ratio: Ratio
    ry: np.ndarray | None = None  # design methods: R_D y
    offset: np.ndarray | None = None  # added after the transformation (manly, no intercept)
    fixed_observed: float | None = None  # ter_braak compares with the t of y
    fixed_tolerance: float = 0.0
    fixed_undefined: bool = False  # the t of y is 0/0
    exact: ExactT | None = field(default=None, repr=False)

    def sums(self, rows: np.ndarray, signflip: bool):
        """``(c, den, singular)``: ``t = c sqrt(df / den)`` for every row of ``rows``;
        ``singular`` marks transformed designs that lost rank (design methods)."""
        v = transform(self.u, rows, signflip)
        if self.ry is None:
            if self.offset is not None:
                v = v + self.offset
            a = v @ self.basis
            den = row_norms2(v - a @ self.basis.T)
            return a[:, 0], den, np.zeros(rows.shape[0], dtype=bool)
        m = v - (v @ self.basis) @ self.basis.T
        g = row_norms2(m)
        singular = g <= GRAM_TOL * float(self.u @ self.u)
        g = np.where(singular, 1.0, g)
        cr = m @ self.ry
        den = row_norms2(self.ry - m * (cr / g)[:, None])
        return cr / np.sqrt(g), den, singular

    def statistics(self, c: np.ndarray, den: np.ndarray) -> np.ndarray:
        """``t`` from :meth:`sums`: 0 when ``c`` is at the rounding level, ``+-inf`` when
        only the residual is."""
        zero = self.ratio.noise**2
        num = c * c
        with np.errstate(divide="ignore", invalid="ignore"):
            t = c * np.sqrt(self.ratio.df_den / den)
            t = np.where(den <= zero, np.sign(c) * np.inf, t)
        return np.where(num <= zero, 0.0, t)


def kernels(model: LinearModel, method: str, tested: list[int], rotation) -> list[TKernel]:
    """The :class:`TKernel` of every tested column (indices into ``model.X``)."""
    full = orthonormal_basis(model.X)
    return [_kernel(model, method, j, full, rotation) for j in tested]


def _kernel(model: LinearModel, method: str, j: int, full: np.ndarray, rotation) -> TKernel:
    x = model.X[:, j]
    reduced = np.delete(model.X, j, axis=1)
    q_d = orthonormal_basis(reduced)
    rdx = residualize(q_d, x)
    q = rdx / np.sqrt(rdx @ rdx)
    centred = bool(np.delete(model.intercept, j).any())
    y = model.y - model.y.mean() if centred else model.y
    scale = float(np.sqrt(y @ y))
    if method in DESIGN_METHODS:
        source = rdx if DESIGN_METHODS[method] else x
        noise = rounding_bound(model.n, q_d.shape[1] + 1) * scale
        exact = ExactT(model, method, j)
        return TKernel(
            model.n, source, q_d, Ratio(1, model.df, noise), residualize(q_d, y), exact=exact
        )
    permuted, residual_on = VECTOR_METHODS[method]
    basis = np.column_stack([q, q_d]) if residual_on == "full" else q[:, None]
    offset = None
    if method == "huh_jhun":
        v = _rotation(reduced, rotation)
        vx = v @ x
        u, basis = v @ y, (vx / np.sqrt(vx @ vx))[:, None]
        width = model.n  # V itself comes from an n x n QR
    else:
        width = basis.shape[1]
        if permuted == "centred":  # permuco flips y - mean(y) and adds the mean back
            u = model.y - model.y.mean()
            offset = None if centred else np.full(model.n, model.y.mean())
            if model.signflip:
                # the rounding of the mean is a constant error in u, which a sign flip
                # turns into one the intercept no longer absorbs: up to eps |mean| each
                scale = max(scale, float(np.sqrt(model.y @ model.y)))
        else:
            u = residualize(q_d if permuted == "reduced" else full, y)
    ratio = Ratio(1, model.df, rounding_bound(model.n, width) * scale)
    kernel = TKernel(
        u.shape[0], u, basis, ratio, offset=offset, exact=ExactT(model, method, j, offset)
    )
    if method != "ter_braak":
        return kernel
    c, den = float(q @ y), float(u @ u)
    observed = float(kernel.statistics(np.array([c]), np.array([den]))[0])
    return TKernel(
        kernel.units,
        u,
        basis,
        ratio,
        fixed_observed=observed,
        fixed_tolerance=ratio.tie_tolerance(c * c, den),
        fixed_undefined=bool(c * c <= ratio.noise**2 and den <= ratio.noise**2),
        exact=kernel.exact,
    )


def _rotation(reduced: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """huh_jhun's ``V = Omega Q_c'`` (permuco): ``Q_c`` a basis of the complement of
    ``D``, ``Omega`` the Q factor of the leading block of ``raw`` with R's diagonal made
    positive."""
    q_c = complement_basis(reduced)
    m = q_c.shape[1]
    q, r = np.linalg.qr(raw[:m, :m])
    signs = np.where(np.diag(r) < 0, -1.0, 1.0)
    return (q * signs) @ q_c.T


# --------------------------------------------------------------------------------------
# exact statistics
# --------------------------------------------------------------------------------------
class ExactT:
    """Exact keys ``sign(t) t**2`` (up to a positive factor common to the coefficient's
    statistics) for the transformations that the floats cannot decide: an increasing
    function of ``t``, so comparing keys compares t. ``nan`` marks a transformed design
    that lost rank (no statistic)."""

    def __init__(self, model: LinearModel, method: str, j: int, offset=None):
        self.model, self.method, self.j, self.offset = model, method, j, offset

    @functools.cached_property
    def parts(self):
        """``(vector, source, reduced, full_or_None)`` in integers, or None when the design
        is too large (or the method not rational: huh_jhun)."""
        model = self.model
        if self.method == "huh_jhun" or not _exact.small_enough(model.X):
            return None
        y, X = model.integers
        x, reduced = X[:, self.j], np.delete(X, self.j, axis=1)
        if self.method in DESIGN_METHODS:
            source = _exact.residual(x, reduced) if DESIGN_METHODS[self.method] else x
            return _exact.residual(y, reduced), source, _exact.Projection.of(reduced), None
        permuted, residual_on = VECTOR_METHODS[self.method]
        offset = None
        if permuted == "centred":  # n (y - mean), plus n mean when the mean is not in D
            u = y * model.n - y.sum()
            if self.offset is not None:
                offset = np.full(model.n, y.sum(), dtype=object)
        else:
            u = _exact.residual(y, reduced if permuted == "reduced" else X)
        full = _exact.Projection.of(X) if residual_on == "full" else None
        return (u, offset), _exact.residual(x, reduced), None, full

    def keys(self, rows: np.ndarray, signflip: bool) -> list:
        """The exact key of every row of ``rows`` (a batch of transformations)."""
        vector, source, reduced, full = self.parts
        if reduced is not None:
            w = transform(source, rows, signflip)
            m = reduced.residual(w.T).T
            ry = vector
            norm = int((ry * ry).sum())
            return [_key(int(c), int(g), norm, g) for c, g in zip(m @ ry, (m * m).sum(1))]
        u, offset = vector
        v = transform(u, rows, signflip)
        if offset is not None:
            v = v + offset
        return self._vector_keys(v, source, full)

    @functools.cached_property
    def observed_key(self):
        """The exact key of the observed statistic (ter_braak: the t of ``y``)."""
        if self.method == "ter_braak":
            y, X = self.model.integers
            x = _exact.residual(X[:, self.j], np.delete(X, self.j, axis=1))
            return self._vector_keys(y[None, :], x, self.parts[3])[0]
        units = self.model.n
        identity = np.ones((1, units), np.int8) if self.model.signflip else np.arange(units)[None]
        return self.keys(identity, self.model.signflip)[0]

    @staticmethod
    def _vector_keys(v: np.ndarray, r: np.ndarray, full) -> list:
        c = v @ r
        norms = (v * v).sum(axis=1)
        if full is not None:
            dens = [int(a) - f for a, f in zip(norms, full.squares(v), strict=True)]
            return [_key(int(ci), 1, den) for ci, den in zip(c, dens, strict=True)]
        rr = int(r @ r)  # kennedy: the residual on R_D x alone
        return [_key(int(ci), rr, int(a), rr) for ci, a in zip(c, norms, strict=True)]


def _key(c: int, g: int, total, weight: int | None = None):
    """``sign(c) c**2 / (g den)`` with ``den = total - c**2 / weight`` (``weight`` None:
    ``total`` is the denominator itself): 0 for ``c = 0``, ``+-inf`` for ``den = 0``,
    ``nan`` for ``g = 0``."""
    if g == 0:
        return float("nan")
    if c == 0:
        return Fraction(0)
    den = Fraction(total) - (Fraction(c * c, weight) if weight is not None else 0)
    if den == 0:
        return float("inf") if c > 0 else float("-inf")
    return Fraction(c * c, g) / den * (1 if c > 0 else -1)


# --------------------------------------------------------------------------------------
# evaluation: blocks -> chunks -> t -> counts (less, greater, two-sided)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Observed:
    """The observed t of each kernel and its tie band."""

    t: np.ndarray
    tolerance: np.ndarray
    degenerate: np.ndarray
    undefined: np.ndarray  # both sums of squares at the rounding level (0/0)


def observe(kernels: list[TKernel], signflip: bool) -> Observed:
    """Each kernel's t at the identity (ter_braak: the t of ``y``) and its tie band."""
    out = {key: np.zeros(len(kernels)) for key in ("t", "tol", "deg", "undef")}
    for j, kernel in enumerate(kernels):
        identity = np.ones((1, kernel.units), np.int8) if signflip else np.arange(kernel.units)
        c, den, singular = kernel.sums(identity.reshape(1, -1), signflip)
        zero = kernel.ratio.noise**2
        if kernel.fixed_observed is not None:
            out["t"][j], out["tol"][j] = kernel.fixed_observed, kernel.fixed_tolerance
            out["undef"][j] = kernel.fixed_undefined
            continue
        out["undef"][j] = (c[0] ** 2 <= zero) and (den[0] <= zero)
        out["t"][j] = kernel.statistics(c, den)[0]
        out["tol"][j] = kernel.ratio.tie_tolerance(float(c[0] ** 2), float(den[0]))
        out["deg"][j] = kernel.ratio.degenerate(c**2, den)[0] or singular[0]
    bools = [out[k].astype(bool) for k in ("deg", "undef")]
    return Observed(out["t"], out["tol"], *bools)


@dataclass(frozen=True)
class Task:
    """What every block needs (shipped once to each thread)."""

    kernels: list
    observed: Observed
    signflip: bool
    identity: object  # callable marking the identity rows of an enumeration, or None
    chunk: int
    return_null: bool


def evaluate_block(task: Task, block):
    """``(start, counts (3, k), valid (k,), null (rows, k) or None)`` of one block."""
    rows_all = block.permutations()["obs"]
    b, k = rows_all.shape[0], len(task.kernels)
    counts, valid = np.zeros((3, k), dtype=np.int64), np.zeros(k, dtype=np.int64)
    null = np.empty((b, k)) if task.return_null else None
    for start in range(0, b, task.chunk):
        rows = rows_all[start : start + task.chunk]
        for j, kernel in enumerate(task.kernels):
            t, extreme = _decide(task, j, kernel, rows)
            counts[:, j] += np.count_nonzero(extreme, axis=1)
            valid[j] += np.count_nonzero(~np.isnan(t))
            if null is not None:
                null[start : start + rows.shape[0], j] = t
    return block.start, counts, valid, null


def _decide(task: Task, j: int, kernel: TKernel, rows: np.ndarray):
    """t of every row and whether it is as extreme as the observed t: (3, b) for less,
    greater, two-sided. Rows in the tie band are decided by the exact keys."""
    c, den, singular = kernel.sums(rows, task.signflip)
    t = np.where(singular, np.nan, kernel.statistics(c, den))
    fixed = np.zeros(rows.shape[0], dtype=bool)
    if task.identity is not None and kernel.fixed_observed is not None:
        fixed = task.identity(rows)
        t[fixed] = kernel.fixed_observed
    t_obs = task.observed.t[j]
    width = task.observed.tolerance[j] * abs(t_obs) if np.isfinite(t_obs) else 0.0
    with np.errstate(invalid="ignore"):
        extreme = np.array([t <= t_obs + width, t >= t_obs - width, abs(t) >= abs(t_obs) - width])
        unsure = (abs(t - t_obs) <= width) | (abs(abs(t) - abs(t_obs)) <= width)
    unsure |= kernel.ratio.degenerate(c * c, den) | singular | task.observed.degenerate[j]
    band = np.flatnonzero(unsure & ~fixed)
    exact = kernel.exact
    if band.size and exact is not None and exact.parts is not None:
        observed = exact.observed_key
        keys = exact.keys(rows[band], task.signflip)
        for b, key in zip(band, keys, strict=True):
            if key != key:  # nan: the transformed design lost rank
                t[b], extreme[:, b] = np.nan, False
            else:
                extreme[:, b] = (key <= observed, key >= observed, abs(key) >= abs(observed))
    return t, extreme
