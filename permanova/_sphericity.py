"""Sphericity of within-subject effects: Mauchly's test, Greenhouse-Geisser and Huynh-Feldt.

Pure NumPy/SciPy, computed as R's ``car::Anova`` for a multivariate linear model
(``summary(Anova(mlm, idata, idesign), multivariate=FALSE)``, which afex prints):

* the subjects' outcomes in the within cells form the ``(n_subjects, n_cells)`` table ``Y``;
  ``Q`` is an orthonormal basis of an effect's contrasts (``d`` columns, the Kronecker
  product of the effect factors' contrasts and of constant vectors of the other within
  factors) and ``E = R'R`` with ``R`` the residuals of ``Y Q`` on the between-subject model
  (``n_error = n_subjects - rank`` degrees of freedom);
* with ``lambda`` the eigenvalues of ``E``: ``W = prod(lambda) / mean(lambda)**d`` (Mauchly),
  ``GG = sum(lambda)**2 / (d * sum(lambda**2))``, and Huynh-Feldt in Lecoutre's form
  ``HF = ((n_error + 1) * d * GG - 2) / (d * (n_error - d * GG))``;
* Mauchly's p with R's second-order correction (``stats:::mauchly.test.SSD``):
  ``rho = 1 - (2 d^2 + d + 2) / (6 d n_error)``, ``z = -n_error rho log W`` on
  ``f = d (d + 1) / 2 - 1`` df, ``w2 = (d+2)(d-1)(d-2)(2 d^3 + 6 d^2 + 3 c + 2) /
  (288 (n_error d rho)^2)`` and ``p = P(chi2_f > z) + w2 (P(chi2_{f+4} > z) - P(chi2_f > z))``,
  where ``c`` is the number of within *cells* (not ``d``: R's code, kept to give R's p).

Everything depends only on the column space of the contrasts, so the basis is free.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from scipy import special


class SphericityTest(NamedTuple):
    """Sphericity statistics of one within effect (``d > 1`` contrasts)."""

    d: int  # number of orthonormal contrasts of the effect (its within df)
    error_df: int  # residual df of the between-subject model (n_subjects - rank)
    W: float  # Mauchly's W
    chi2: float  # -n_error * rho * log(W)
    chi2_df: int  # d (d + 1) / 2 - 1
    p_mauchly: float  # with R's second-order correction
    epsilon_gg: float  # Greenhouse-Geisser
    epsilon_hf: float  # Huynh-Feldt (Lecoutre), uncorrected: may exceed 1 (or be inf)


def sphericity(
    table: np.ndarray,
    within_shape: tuple[int, ...],
    group_codes: np.ndarray | None,
    effects: Iterable[tuple[int, ...]],
    *,
    between_model: np.ndarray | None = None,
) -> dict[tuple[int, ...], SphericityTest]:
    """Mauchly's test and the Greenhouse-Geisser and Huynh-Feldt epsilons of within effects.

    Parameters
    ----------
    table : array-like of float of shape (n_subjects, n_cells)
        Each subject's outcome in each within cell, the cells in C order over the within
        factors (the last factor varies fastest). It is not modified.
    within_shape : tuple of int
        Number of levels of each within factor; their product is ``n_cells``.
    group_codes : array-like of int of shape (n_subjects,), or None
        The between-subject cell of each subject (any integer labels); all equal (or
        None) without between factors. The between model is then the cell means, with
        ``n_subjects - n_groups`` residual df.
    effects : iterable of tuple of int
        The within effects, each as the positions of its within factors in
        ``within_shape`` (``(0,)``, ``(1,)``, ``(0, 1)``). An effect crossed with between
        factors (``type:cond``) has the sphericity of its within part (``(cond,)``).
    between_model : array-like of shape (n_subjects, p), optional
        The between-subject model matrix (intercept included), instead of
        ``group_codes``: for between-subject covariates, as the ``lm`` of afex/car.

    Returns
    -------
    dict of tuple -> SphericityTest
        One entry per effect with more than one contrast (``d > 1``), in the order given.
        Effects with one contrast have no entry: sphericity holds trivially (epsilon 1).
        When the residual contrast matrix is rank deficient (fewer residual df than
        contrasts, or a numerically singular ``E``, for example a constant outcome), the
        statistics are NaN and a ``RuntimeWarning`` names the effects (car marks them
        singular and gives NA).

    Raises
    ------
    ValueError, TypeError
        A malformed argument (named in the message).

    Notes
    -----
    Formulas in the module docstring. Numerical guards, each a no-op where car gives a
    defined value: per-subject offsets are removed before the contrasts and the
    between-model projection is applied twice, so huge offsets do not change the result;
    ``E = R'R`` is singular when the smallest singular value of ``R`` is below
    ``max(n, d) * eps`` times the largest, or the largest is at the data's rounding level
    (car's test is ``eigenvalue < sqrt(eps)`` in absolute terms, which depends on the
    outcome's units); ``W <= 1``, ``chi2 >= 0``, ``1/d <= GG <= 1`` and ``0 <= p <= 1``
    are enforced against rounding. HF is reported uncorrected, as car and afex print it:
    above 1 when the data are close to spherical, ``+inf`` when ``n_error = d`` and
    ``GG = 1``; :func:`corrected_pvalues` uses ``min(1, HF)``.

    Examples
    --------
    >>> import numpy as np
    >>> table = np.array([[2.2, 1.1, 8.2], [3.1, 2.5, 4.5], [4.3, 4.1, 3.4],
    ...                   [4.1, 5.2, 6.2], [7.2, 6.4, 7.2]])
    >>> test = sphericity(table, (3,), None, [(0,)])[(0,)]
    >>> round(test.W, 4), round(test.p_mauchly, 4), round(test.epsilon_gg, 4)
    (0.2104, 0.0965, 0.5588)
    """
    y = _table_iv(table)
    return tests(y, prepare(within_shape, group_codes, effects, between_model, y.shape))


class Prepared(NamedTuple):
    """What the tests need of the design alone (:func:`prepare`), shared by outcomes."""

    shape: tuple[int, ...]  # levels of the within factors
    basis_between: np.ndarray  # orthonormal basis of the between-subject model
    error_df: int
    contrasts: dict  # effect -> orthonormal contrasts, for the effects with d > 1


def prepare(within_shape, group_codes, effects, between_model, table_shape) -> Prepared:
    """The design's part of :func:`sphericity` (arguments as there; ``table_shape`` is
    ``(n_subjects, n_cells)``), checked once for the outcomes of one design."""
    shape = _shape_iv(within_shape, table_shape[1])
    basis, rank = _between_iv(group_codes, between_model, table_shape[0])
    contrasts = {}
    for effect in (_effect_iv(e, len(shape)) for e in effects):
        contrasts[effect] = _contrasts(shape, effect)
    return Prepared(shape, basis, table_shape[0] - rank, contrasts)


def tests(y: np.ndarray, design: Prepared) -> dict[tuple[int, ...], SphericityTest]:
    """:func:`sphericity` of the float table ``y`` (n_subjects, n_cells) of a prepared
    design."""
    # the rounding level of the data: residuals below it are no variance
    noise = 64 * np.finfo(np.float64).eps * np.sqrt(y.size) * (np.abs(y).max() if y.size else 0)
    y = y - y.mean(axis=1, keepdims=True)  # per-subject offsets vanish in every contrast
    out, singular = {}, []
    n_cells = int(np.prod(design.shape))
    for effect, contrasts in design.contrasts.items():
        d = contrasts.shape[1]
        if d < 2:
            continue
        residuals = _residuals(y @ contrasts, design.basis_between)
        out[effect], ok = _one_effect(residuals, d, design.error_df, n_cells, noise)
        if not ok:
            singular.append(effect)
    if singular:
        warnings.warn(
            f"the residual covariance of the contrasts of within effects {singular} is "
            "singular (fewer residual degrees of freedom than contrasts, or no variance): "
            "their Mauchly test and epsilons are NaN.",
            RuntimeWarning,
            stacklevel=2,
        )
    return out


def corrected_pvalues(F, df, df_error, epsilon) -> np.ndarray:
    """Parametric p-values of F tests with both df scaled by ``min(1, epsilon)``.

    Parameters
    ----------
    F, df, df_error, epsilon : array-like of float (broadcast together)
        The F statistic, its numerator and denominator df, and the epsilon (GG or HF;
        NaN gives NaN).

    Returns
    -------
    ndarray of float
        ``P(F(e df, e df_error) > F)`` with ``e = min(1, epsilon)`` (as car and afex).

    Examples
    --------
    >>> round(float(corrected_pvalues(4.0, 2, 20, 0.6)), 4)
    0.0632
    >>> bool(corrected_pvalues(4.0, 2, 20, 1.7) == corrected_pvalues(4.0, 2, 20, 1.0))
    True
    """
    scale = np.minimum(1.0, np.asarray(epsilon, dtype=np.float64))
    df = np.asarray(df, dtype=np.float64) * scale
    df_error = np.asarray(df_error, dtype=np.float64) * scale
    return special.fdtrc(df, df_error, np.asarray(F, dtype=np.float64))


def subject_table(
    y: np.ndarray, subject_codes: np.ndarray, within_codes: list, within_shape: tuple
) -> np.ndarray:
    """The ``(n_subjects, n_cells)`` table of each subject's mean outcome in each cell.

    Replicated observations of a cell are averaged (as afex's ``fun_aggregate = mean``).

    Parameters
    ----------
    y : ndarray of shape (n,)
        The outcome, one value per row.
    subject_codes : ndarray of int of shape (n,)
        Subject of each row, ``0 .. n_subjects - 1``.
    within_codes : list of ndarray of int of shape (n,)
        The level code of each row for each within factor (in the order of
        ``within_shape``).
    within_shape : tuple of int
        Number of levels of each within factor.

    Returns
    -------
    ndarray of shape (n_subjects, prod(within_shape))

    Raises
    ------
    ValueError
        When a subject has no observation in some cell.

    Examples
    --------
    >>> subject_table(np.array([1.0, 2.0, 3.0, 5.0, 4.0]), np.array([0, 0, 1, 1, 1]),
    ...               [np.array([0, 1, 0, 1, 1])], (2,))
    array([[1. , 2. ],
           [3. , 4.5]])
    """
    n_subjects = int(subject_codes.max()) + 1
    n_cells = int(np.prod(within_shape))
    cells = np.ravel_multi_index(tuple(within_codes), within_shape) if within_codes else 0
    flat = subject_codes * n_cells + cells
    counts = np.bincount(flat, minlength=n_subjects * n_cells)
    if (counts == 0).any():
        raise ValueError(
            f"{np.count_nonzero(counts.reshape(n_subjects, -1).min(axis=1) == 0)} subjects "
            "have no observation in some within cell; sphericity needs complete subjects."
        )
    sums = np.bincount(flat, weights=y, minlength=n_subjects * n_cells)
    return (sums / counts).reshape(n_subjects, n_cells)


def _one_effect(residuals: np.ndarray, d: int, error_df: int, n_cells: int, noise: float):
    """``(SphericityTest, defined)`` from the residual contrast matrix of one effect."""
    nan = SphericityTest(d, error_df, np.nan, np.nan, d * (d + 1) // 2 - 1, *[np.nan] * 3)
    if error_df < d:
        return nan, False
    s = np.linalg.svd(residuals, compute_uv=False)
    if s[0] <= noise or s[-1] <= s[0] * max(residuals.shape) * np.finfo(np.float64).eps:
        return nan, False
    lam = (s / s[0]) ** 2  # the eigenvalues of E up to a common scale (which cancels)
    log_w = min(np.log(lam).sum() - d * np.log(lam.mean()), 0.0)  # <= 0 by AM-GM
    gg = float(np.clip(lam.sum() ** 2 / (d * (lam**2).sum()), 1.0 / d, 1.0))
    num, den = np.float64((error_df + 1) * d * gg - 2), np.float64(d * (error_df - d * gg))
    with np.errstate(divide="ignore"):  # error_df = d and GG = 1: +inf (used as 1)
        hf = float(num / den)
    chi2, chi2_df, p = _mauchly_p(log_w, d, error_df, n_cells)
    return SphericityTest(d, error_df, float(np.exp(log_w)), chi2, chi2_df, p, gg, hf), True


def _mauchly_p(log_w: float, d: int, n: int, n_cells: int):
    """Mauchly's chi-square, its df and R's corrected p (see the module docstring)."""
    rho = 1.0 - (2 * d**2 + d + 2) / (6 * d * n)
    w2 = (
        (d + 2) * (d - 1) * (d - 2) * (2 * d**3 + 6 * d**2 + 3 * n_cells + 2)
        / (288 * (n * d * rho) ** 2)
    )  # fmt: skip
    z = max(-n * rho * log_w, 0.0) + 0.0  # never -0.0
    f = d * (d + 1) // 2 - 1
    pr1, pr2 = special.chdtrc(f, z), special.chdtrc(f + 4, z)
    return float(z), f, float(np.clip(pr1 + w2 * (pr2 - pr1), 0.0, 1.0))


def _contrasts(shape: tuple[int, ...], effect: tuple[int, ...]) -> np.ndarray:
    """Orthonormal ``(n_cells, d)`` basis of an effect's within contrasts (C order)."""
    basis = np.ones((1, 1))
    for position, levels in enumerate(shape):
        factor = _helmert(levels) if position in effect else np.full((levels, 1), levels**-0.5)
        basis = np.kron(basis, factor)
    return basis


def _helmert(levels: int) -> np.ndarray:
    """Normalised Helmert contrasts: orthonormal columns orthogonal to the constant."""
    out = np.zeros((levels, levels - 1))
    for j in range(1, levels):
        out[:j, j - 1] = 1.0
        out[j, j - 1] = -j
        out[:, j - 1] /= np.sqrt(j * (j + 1))
    return out


def _residuals(z: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """``z`` minus its projection on ``col(basis)``, refined once (huge offsets)."""
    for _ in range(2):
        z = z - basis @ (basis.T @ z)
    return z


def _table_iv(table) -> np.ndarray:
    y = np.asarray(table)
    if y.dtype.kind not in "iuf" or y.ndim != 2:
        raise TypeError(
            f"`table` must be a 2-D array of real numbers (subjects x within cells); got "
            f"dtype {y.dtype} with {y.ndim} dimension(s)."
        )
    y = y.astype(np.float64)
    if not np.isfinite(y).all():
        raise ValueError("`table` must be finite; it has NaN or infinite entries.")
    return y


def _shape_iv(within_shape, n_cells: int) -> tuple[int, ...]:
    try:
        shape = tuple(int(k) for k in within_shape)
    except (TypeError, ValueError):
        raise TypeError(f"`within_shape` must be a tuple of ints; got {within_shape!r}.") from None
    if not shape or min(shape) < 1 or int(np.prod(shape)) != n_cells:
        raise ValueError(
            f"`within_shape` must be positive level counts whose product is the number of "
            f"columns of `table` ({n_cells}); got {within_shape!r}."
        )
    return shape


def _between_iv(group_codes, between_model, n: int):
    """An orthonormal basis of the between-subject model and its rank."""
    if between_model is not None:
        if group_codes is not None:
            raise ValueError("give `group_codes` or `between_model`, not both.")
        x = np.asarray(between_model, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != n or not np.isfinite(x).all():
            raise ValueError(
                f"`between_model` must be a finite (n_subjects, p) array with {n} rows; got "
                f"shape {x.shape}."
            )
        u, s, _ = np.linalg.svd(x, full_matrices=False)
        rank = int((s > s[0] * max(x.shape) * np.finfo(np.float64).eps).sum()) if s.size else 0
        return u[:, :rank], rank
    codes = np.zeros(n, dtype=np.intp) if group_codes is None else np.asarray(group_codes)
    if codes.shape != (n,) or codes.dtype.kind not in "iub":
        raise ValueError(
            f"`group_codes` must be {n} integer codes (one per subject); got dtype "
            f"{codes.dtype} and shape {codes.shape}."
        )
    _, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    basis = np.zeros((n, counts.size))
    basis[np.arange(n), inverse.reshape(-1)] = 1.0
    return basis / np.sqrt(counts), counts.size


def _effect_iv(effect, n_factors: int) -> tuple[int, ...]:
    try:
        positions = tuple(int(k) for k in effect)
    except (TypeError, ValueError):
        raise TypeError(f"each of `effects` must be a tuple of ints; got {effect!r}.") from None
    if not positions or len(set(positions)) != len(positions):
        raise ValueError(f"each of `effects` must list distinct factor positions; got {effect!r}.")
    if min(positions) < 0 or max(positions) >= n_factors:
        raise ValueError(
            f"`effects` positions must be in 0..{n_factors - 1} (the within factors); got "
            f"{effect!r}."
        )
    return positions
