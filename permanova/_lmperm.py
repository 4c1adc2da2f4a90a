"""Permutation t tests of regression coefficients: :func:`lmperm`, as R permuco's ``lmperm``."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from permanova import (
    _arguments,
    _engine,
    _formula,
    _lm_kernels,
    _model_matrix,
    _permutations,
    _rotation,
    _signflip,
    _validation,
)
from permanova._design import scale_outcome
from permanova._lm_results import LM_COLUMNS, LmPermResult, lm_table

PERMUTATION_TYPES = ("permutation", "signflip")
#: A column is aliased (R's ``lm``) when its residual on the earlier columns is below
#: this fraction of its norm (R's ``qr`` tolerance).
_ALIAS_TOL = 1e-7


def lmperm(
    data: pd.DataFrame,
    formula: str,
    *,
    method: str | None = None,
    n_resamples: int = 10_000,
    permutations: np.ndarray | None = None,
    permutation_type: str = "permutation",
    exact: bool | str = "auto",
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
    return_null: bool = False,
    rotation: np.ndarray | None = None,
    n_jobs: int | None = None,
    coding: str = "treatment",
) -> LmPermResult:
    """Permutation t tests of the coefficients of a linear model, as R permuco's ``lmperm``.

    Each coefficient is tested with the other columns of the model matrix as nuisance
    variables, by permuting (or sign-flipping) what ``method`` prescribes, with a t
    statistic per transformation. Factors use treatment coding, as R's ``lm`` and
    permuco print them (``groupb``, ``groupc``: differences from the first level).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation. It is not modified.
    formula : str
        An R formula, ``"y ~ x1 + x2 + group"``: numeric columns are covariates, string,
        boolean or categorical columns factors.
    method : str, optional
        ``"freedman_lane"`` (default), ``"manly"``, ``"ter_braak"`` (``"terBraak"``),
        ``"kennedy"``, ``"huh_jhun"``, ``"dekker"`` or ``"draper_stoneman"``.
        Case-insensitive.
    n_resamples : int, default=10_000
        Number of random transformations (Monte-Carlo). Ignored with ``permutations``.
    permutations : array-like of shape (B, n_units), optional
        Transformations to use instead of random ones, identity *not* included: 0-based
        index vectors applied by gathering (``v[p]``) for ``permutation_type=
        "permutation"``, rows of ``+1``/``-1`` for ``"signflip"``. The units are the rows
        of ``data``, except for ``huh_jhun`` (``n - p + 1`` rotated residuals, ``p`` the
        number of columns of the model matrix). A permuco matrix ``P`` (one
        transformation per column, identity first) maps to ``P[:, 1:].T - 1``
        (permutations) or ``P[:, 1:].T`` (sign flips).
    permutation_type : {"permutation", "signflip"}, default="permutation"
        Permute the units, or flip their signs (permuco's ``type``).
    exact : {"auto", True, False}, default="auto"
        ``"auto"`` enumerates every transformation when there are at most ``n_resamples``
        of them (``n!`` permutations, ``2**n`` sign flips), ``True`` always does
        (``ValueError`` above ``10**7``), ``False`` never does.
    random_state : None, int, SeedSequence, Generator, BitGenerator or RandomState, optional
        Seed of the random transformations (and of the ``huh_jhun`` rotation). A
        ``SeedSequence`` is never modified; a ``Generator`` is used as is and advanced.
    return_null : bool, default=False
        Keep the t of every transformation in ``null_distribution``.
    rotation : ndarray of shape (n, n), optional
        ``huh_jhun`` only: the random matrix given to permuco as ``rnd_rotation``.
        Default: standard normal, drawn from ``random_state``.
    n_jobs : int, optional
        Threads that evaluate blocks of transformations (None = 1, -1 = all cores). The
        results are identical for every value.
    coding : {"treatment", "sum"}, default="treatment"
        Contrasts of the factors: R's default ``contr.treatment`` (``groupb``: the
        difference from the first level) or ``contr.sum`` (``group1``: the deviation of
        the first level from the mean of the levels), as after ``contrasts(x) <- contr.sum``
        in permuco's examples.

    Returns
    -------
    LmPermResult
        ``.table`` indexed by coefficient with ``estimate, std_error, t, p_parametric,
        p_permutation_less, p_permutation_greater, p_permutation_two_sided``.

    Raises
    ------
    TypeError
        Wrong argument types (a non-numeric outcome, a non-integer permutation matrix).
    ValueError
        A bad formula or missing values, no residual degrees of freedom, an unknown
        method or permutation type, a bad transformation matrix, ``exact=True`` with too
        many transformations.

    See Also
    --------
    aovperm : permutation F tests of the effects (sum-to-zero coding).

    Notes
    -----
    With ``D`` the other columns, ``x`` the tested one, ``R_A``/``H_A`` the residual/hat
    projections on ``col(A)`` and ``P`` a permutation or sign flip, permuco's statistics
    (``df = n - p``) are:

    * freedman_lane ``y* = P R_D y``, manly ``y* = P (y - mean(y)) + mean(y)``,
      ter_braak ``y* = P R_full y`` (compared with the t of ``y``): the t of ``x`` in the
      full model fitted to ``y*``;
    * kennedy: ``P R_D y`` regressed on ``R_D x`` alone (df still ``n - p``);
    * huh_jhun: ``P V y`` on ``V x``, ``V`` rotating the complement of ``D`` into
      ``n - p + 1`` coordinates (the intercept is tested too, as in permuco);
    * dekker / draper_stoneman: ``R_D y`` on ``R_D (P R_D x)`` / ``R_D (P x)``.

    ``p_less = #{t_b <= t_obs} / N``, ``p_greater = #{t_b >= t_obs} / N`` and
    ``p_two_sided = #{|t_b| >= |t_obs|} / N``, the observed statistic counted as one of
    the ``N = B + 1`` (Monte-Carlo, user matrices) or included in the ``N`` enumerated
    transformations. Transformed designs that lose rank (dekker, draper_stoneman) have no
    statistic and are left out of ``N``, as permuco does. Ties are decided as in
    :func:`aovperm`: a ``t_b`` within rounding error of ``t_obs`` is compared again in
    exact rational arithmetic (except huh_jhun, where it counts as a tie). Unless
    ``permutations`` or ``rotation`` are given, the rows are first sorted (by the model
    matrix, then the outcome), so the result does not depend on their order.

    References
    ----------
    Frossard, J. & Renaud, O. (2021). Permutation tests for regression, ANOVA, and
    comparison of signals: the permuco package. *Journal of Statistical Software*, 99(15).
    Winkler, A. M. et al. (2014). Permutation inference for the general linear model.
    *NeuroImage*, 92, 381-397.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"x": rng.normal(size=30),
    ...                      "group": np.repeat(["a", "b", "c"], 10)})
    >>> data["y"] = 0.8 * data["x"] + (data["group"] == "c") + rng.normal(size=30)
    >>> res = permanova.lmperm(data, "y ~ x + group", n_resamples=1999, random_state=1)
    >>> res.table[["estimate", "t", "p_permutation_two_sided"]].round(3)
                 estimate      t  p_permutation_two_sided
    coefficient
    (Intercept)     0.145  0.533                      NaN
    x               0.541  2.680                    0.016
    groupb          0.625  1.572                    0.139
    groupc          0.675  1.761                    0.076

    Sign flips instead of permutations, and permuco's printed table:

    >>> res = permanova.lmperm(data, "y ~ x + group", permutation_type="signflip",
    ...                        n_resamples=1999, random_state=1)
    >>> print(res)  # doctest: +ELLIPSIS
    Table of marginal t-test of the betas
    Resampling test using freedman_lane to handle nuisance variables and 1999 signflips ...
    ...
    """
    _validation.check_frame(data)
    if not isinstance(formula, str) or "~" not in formula:
        raise TypeError(f"`formula` must be a string 'y ~ terms'; got {formula!r}.")
    if coding not in ("treatment", "sum"):
        raise ValueError(f"`coding` must be 'treatment' or 'sum'; got {coding!r}.")
    y, X, assign, names = _model_matrices(data, formula, coding)
    options = dict(method=method, n_resamples=n_resamples, permutations=permutations)
    options.update(permutation_type=permutation_type, exact=exact, random_state=random_state)
    options.update(return_null=return_null, rotation=rotation, n_jobs=n_jobs)
    return lmperm_matrices(y, X, assign, names, formula=formula, **options)


def _model_matrices(data: pd.DataFrame, formula: str, coding: str):
    """``(y, X, assign, column_names)`` of ``formula`` on ``data``."""
    parsed = _formula.parse_formula(formula, data)
    if parsed.subject is not None:
        raise ValueError(
            f"`formula` {formula!r}: lmperm tests fixed effects only (as permuco's lmperm); "
            "for Error() models use aovperm."
        )
    mm = _model_matrix.model_matrix(parsed, data, coding=coding)
    y = _validation.outcome_values(data, parsed.outcome)
    return y, np.asarray(mm.X, dtype=np.float64), np.asarray(mm.assign), list(mm.column_names)


@dataclass(frozen=True)
class _Args:
    method: str
    n_resamples: int
    signflip: bool
    exact: object
    rng: np.random.Generator
    return_null: bool
    n_jobs: int


def _lmperm_iv(
    method,
    n_resamples,
    permutations,
    permutation_type,
    exact,
    random_state,
    return_null,
    rotation,
    n_jobs,
) -> _Args:
    n_resamples = _arguments.check_positive_int(n_resamples, "n_resamples")
    if permutation_type not in PERMUTATION_TYPES:
        raise ValueError(
            f"`permutation_type` must be 'permutation' or 'signflip'; got {permutation_type!r}."
        )
    exact = _arguments.check_exact(exact)
    if permutations is not None and exact is True:
        raise ValueError("`exact=True` cannot be combined with user-given `permutations`.")
    method = _arguments.check_method(method, repeated=False)
    if rotation is not None and method != "huh_jhun":
        raise ValueError(f"`rotation` applies to method 'huh_jhun' only; got method {method!r}.")
    if permutations is None and n_resamples > _permutations.MAX_RESAMPLES:
        raise ValueError(
            f"`n_resamples` must be at most {_permutations.MAX_RESAMPLES:.0e}; got {n_resamples}."
        )
    return _Args(
        method,
        n_resamples,
        permutation_type == "signflip",
        exact,
        _arguments.check_random_state(random_state),
        _arguments.check_bool(return_null, "return_null"),
        _engine.effective_jobs(_arguments.check_n_jobs(n_jobs)),
    )


def lmperm_matrices(
    y,
    X,
    assign,
    names,
    *,
    formula=None,
    method=None,
    n_resamples=10_000,
    permutations=None,
    permutation_type="permutation",
    exact="auto",
    random_state=None,
    return_null=False,
    rotation=None,
    n_jobs=None,
) -> LmPermResult:
    """:func:`lmperm` on a model matrix ``X`` (intercept column first, ``assign`` 0) and
    an outcome ``y``, with the coefficient ``names`` (internal)."""
    args = _lmperm_iv(
        method,
        n_resamples,
        permutations,
        permutation_type,
        exact,
        random_state,
        return_null,
        rotation,
        n_jobs,
    )
    y, X = _check_arrays(y, X, names)
    kept = _independent_columns(X)
    n, p = X.shape[0], len(kept)
    if n - p < 1:
        raise ValueError(
            f"the model leaves no residual degrees of freedom ({n} rows for {p} parameters)."
        )
    parametric = _parametric(y, X, kept)
    intercept = np.asarray(assign)[kept] == 0
    tested = [k for k in range(p) if args.method == "huh_jhun" or not intercept[k]]
    if not tested:
        raise ValueError(f"`formula` has no coefficient to test besides the intercept: {names}.")
    canonical = permutations is None and rotation is None
    order = np.lexsort([y, *X.T[::-1]]) if canonical else np.arange(n)
    scaled, _ = scale_outcome(y[order])
    model = _lm_kernels.LinearModel(X[order][:, kept], scaled, intercept, args.signflip)
    raw = None
    if args.method == "huh_jhun":
        _rotation.check_size(n)
        raw = _check_rotation(rotation, n) if rotation is not None else None
        raw = args.rng.standard_normal((n, n)) if raw is None else raw
    kernels = _lm_kernels.kernels(model, args.method, tested, raw)
    source = _source(args, permutations, {"obs": kernels[0].units})
    pvalues, null, observed = _run(args, kernels, source)
    columns = np.asarray(kept)[tested]
    _exact_zeros(parametric, columns, observed, n - p)
    full = np.full((3, X.shape[1]), np.nan)
    full[:, columns] = pvalues
    tested_names = [names[kept[k]] for k in tested]
    return LmPermResult(
        table=lm_table(names, parametric, full),
        method=args.method,
        permutation_type="signflip" if args.signflip else "permutation",
        n_resamples=int(source.total),
        exact=bool(source.exact),
        null_distribution=None if null is None else pd.DataFrame(null, columns=tested_names),
        formula=formula,
    )


def _source(args: _Args, permutations, unit_sizes: dict):
    """The transformations of the run (user matrix, enumeration or random blocks)."""
    units = unit_sizes["obs"]
    if args.signflip:
        matrices = None
        if permutations is not None:
            matrices = {"obs": _signflip.check_signflip_matrix(permutations, units)}
        return _signflip.source(
            unit_sizes,
            signflips=matrices,
            exact=args.exact,
            n_resamples=args.n_resamples,
            rng=args.rng,
        )
    matrices = None
    if permutations is not None:
        matrices = {"obs": _permutations.check_permutation_matrix(permutations, units)}
    return _permutations.source(
        unit_sizes,
        group_codes=None,
        kind="vector",
        permutations=matrices,
        exact=args.exact,
        n_resamples=args.n_resamples,
        rng=args.rng,
    )


def _run(args: _Args, kernels: list, source):
    """``(p-values (3, k), null (total, k) or None)``: less, greater, two-sided."""
    observed = _lm_kernels.observe(kernels, args.signflip)
    chunk = _permutations.chunk_rows({"obs": kernels[0].units})
    task = _lm_kernels.Task(
        kernels, observed, args.signflip, source.identity, chunk, args.return_null
    )
    work = partial(_lm_kernels.evaluate_block, task)
    counts = np.zeros((3, len(kernels)), dtype=np.int64)
    valid = np.zeros(len(kernels), dtype=np.int64)
    null = np.empty((source.total, len(kernels))) if args.return_null else None
    with ThreadPoolExecutor(args.n_jobs) if args.n_jobs > 1 else _Serial() as pool:
        for start, c, v, part in pool.map(work, source.blocks):
            counts += c
            valid += v
            if null is not None:
                null[start : start + part.shape[0]] = part
    with np.errstate(invalid="ignore", divide="ignore"):
        if source.exact:
            pvalues = counts / valid
        else:
            pvalues = (1.0 + counts) / (1.0 + valid)
    if observed.undefined.any():
        warnings.warn(
            "the t statistic is undefined (0/0: a constant outcome or a perfect fit) for "
            "some coefficients; their permutation p-values are NaN.",
            RuntimeWarning,
            stacklevel=3,
        )
        pvalues[:, observed.undefined] = np.nan
    return pvalues, null, observed


def _exact_zeros(parametric: dict, columns: np.ndarray, observed, df: int) -> None:
    """Where a sum of squares of a tested coefficient is at the rounding level (a constant
    outcome, a perfect fit), ``t`` is 0, ``+-inf`` or NaN (0/0) rather than a ratio of
    rounding errors, and ``p_parametric`` follows."""
    flagged = observed.degenerate | observed.undefined
    t = np.where(observed.undefined, np.nan, observed.t)[flagged]
    parametric["t"][columns[flagged]] = t
    parametric["p_parametric"][columns[flagged]] = 2 * stats.t.sf(np.abs(t), df)


class _Serial:
    """A stand-in for a thread pool that maps in the calling thread."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(function, iterable):
        return map(function, iterable)


def _check_arrays(y, X, names):
    """Finite float copies of ``y`` (n,) and ``X`` (n, p), rows named in messages."""
    y = np.asarray(y, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if y.ndim != 1 or X.ndim != 2 or X.shape[0] != y.shape[0] or X.shape[1] != len(names):
        raise ValueError(
            f"the outcome ({y.shape}) and model matrix ({X.shape}) do not match {len(names)} "
            "coefficient names."
        )
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(X).all(axis=1))
    if bad.size:
        raise ValueError(
            f"the outcome or the model has missing or infinite values in rows "
            f"{bad[:5].tolist()}; drop or impute them first."
        )
    return y, X


def _independent_columns(X: np.ndarray) -> list[int]:
    """The columns not aliased with earlier ones (R's ``lm`` keeps the first of a
    collinear set): residual above :data:`_ALIAS_TOL` times the column's norm."""
    kept: list[int] = []
    basis = np.zeros((X.shape[0], 0))
    for j in range(X.shape[1]):
        x = X[:, j]
        r = x - basis @ (basis.T @ x)
        r = r - basis @ (basis.T @ r)  # twice: orthogonal to working precision
        norm = float(np.sqrt(r @ r))
        if norm > _ALIAS_TOL * float(np.sqrt(x @ x)) and norm > 0:
            kept.append(j)
            basis = np.column_stack([basis, r / norm])
    return kept


def _parametric(y: np.ndarray, X: np.ndarray, kept: list[int]) -> dict:
    """OLS estimates, standard errors, t and two-sided p (NaN for aliased columns)."""
    q, r = np.linalg.qr(X[:, kept])
    beta = scipy.linalg.solve_triangular(r, q.T @ y)
    resid = y - X[:, kept] @ beta
    df = X.shape[0] - len(kept)
    r_inv = scipy.linalg.solve_triangular(r, np.eye(len(kept)))
    se = np.sqrt((resid @ resid) / df * (r_inv**2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    out = {key: np.full(X.shape[1], np.nan) for key in LM_COLUMNS[:4]}
    for key, values in zip(LM_COLUMNS[:4], (beta, se, t, 2 * stats.t.sf(np.abs(t), df))):
        out[key][kept] = values
    return out


def _check_rotation(rotation, n: int) -> np.ndarray:
    array = np.asarray(rotation)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise TypeError(f"`rotation` must be a real numeric matrix; got dtype {array.dtype}.")
    if array.shape != (n, n) or not np.isfinite(array).all():
        raise ValueError(
            f"`rotation` must be a finite {n} x {n} matrix (permuco's rnd_rotation); got "
            f"shape {array.shape}."
        )
    return array.astype(np.float64)
