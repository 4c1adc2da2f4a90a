"""Public functions: :func:`aovperm`, the one-way and mixed shortcuts, and :func:`posthoc`."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from permanova import _engine, _permutations, _validation
from permanova._design import Design, build_design, orthonormal_basis
from permanova._methods import (
    DESIGN_PERMUTING,
    METHODS,
    f_pvalue,
    huh_jhun_rotation,
    observed_table,
)
from permanova.results import TABLE_COLUMNS, AovPermResult


def aovperm(
    data: pd.DataFrame,
    dv: str,
    *,
    subject: str | None = None,
    between: str | list[str] | None = None,
    within: str | list[str] | None = None,
    method: str | None = None,
    n_resamples: int = 10_000,
    permutations: np.ndarray | Mapping[str, np.ndarray] | None = None,
    exact: bool | str = "auto",
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
    alternative: str = "greater",
    return_null: bool = False,
    progress: bool = False,
    batch_size: int | None = None,
    rotation: np.ndarray | Mapping[str, np.ndarray] | None = None,
) -> AovPermResult:
    """Permutation ANOVA with the methods of R's permuco.

    Factorial between-subjects, within-subject (repeated measures) and mixed designs, with
    sum-to-zero coding and type III sums of squares: each effect is tested against the
    full model without it. For designs with a within factor, the error term of an effect
    is its ``Error(subject/within)`` stratum (the subjects for between-subjects effects,
    the subject-by-within interaction for within effects and their interactions).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: one row per observation. It is not modified.
    dv : str
        Numeric outcome column.
    subject : str, optional
        Subject identifier; required with ``within``. Each subject must belong to one
        between group and have exactly one observation per within cell.
    between, within : str or list of str, optional
        Between-subjects and within-subject factors (full factorial of all listed
        factors). At least one factor is needed.
    method : str, optional
        Between-subjects designs: ``"freedman_lane"`` (default), ``"manly"``,
        ``"ter_braak"``, ``"kennedy"``, ``"huh_jhun"``, ``"dekker"``,
        ``"draper_stoneman"``. Designs with a within factor: ``"rd_kheradpajouh_renaud"``
        (default), ``"rde_kheradpajouh_renaud"``, ``"rd_replic_kheradpajouh_renaud"``.
        Case-insensitive; permuco's spellings (``"terBraak"``,
        ``"Rd_kheradPajouh_renaud"``, ...) are accepted.
    n_resamples : int, default=10_000
        Number of random permutations (Monte-Carlo). Ignored with ``permutations``.
    permutations : array-like of int of shape (B, n_units), or dict, optional
        Permutations to use instead of random ones: 0-based index vectors applied by
        gathering (the permuted vector is ``v[p]``), one per row, identity *not* included.
        The units are the rows of ``data`` for every method except ``huh_jhun``, whose
        units are the ``n - rank(D)`` rotated residuals of each effect (``D``: the model
        without the effect); when the effects of a ``huh_jhun`` run have different numbers
        of units, give a dict ``{effect: (B, n_units) array}``. A permuco matrix ``P``
        (one permutation per column, 1-based, identity first) maps to ``P[:, 1:].T - 1``.
    exact : {"auto", True, False}, default="auto"
        ``"auto"`` enumerates every distinct permutation when there are at most
        ``n_resamples`` of them; ``True`` always enumerates (``ValueError`` above
        ``10**7``); ``False`` never does. For one-way between designs the distinct
        permutations are the distinct group assignments, ``n! / prod(n_g!)``; otherwise
        all ``n_units!`` permutations.
    random_state : None, int, SeedSequence, Generator, BitGenerator or RandomState, optional
        Seed of the random permutations (and of the ``huh_jhun`` rotation). A
        ``SeedSequence`` is never modified (the same one gives the same result twice); a
        ``Generator``, ``BitGenerator`` or legacy ``RandomState`` is used as is and
        advanced, as in numpy and scipy.
    alternative : {"greater", "less", "two-sided"}, default="greater"
        ``"greater"`` counts ``F_b >= F_obs`` (the usual F test), ``"less"`` counts
        ``F_b <= F_obs``. ``"two-sided"`` (permuco's default, also spelled
        ``"two.sided"``) counts ``|F_b| >= |F_obs|``, which for F statistics is the same
        as ``"greater"``.
    return_null : bool, default=False
        Keep the F of every permutation in ``null_distribution``.
    progress : bool, default=False
        Show a tqdm progress bar (needs the ``progress`` extra).
    batch_size : int, optional
        Deprecated; it has no effect and gives a ``DeprecationWarning``. The permutations
        are evaluated in fixed chunks aligned to their blocks (at most 1024 rows, memory
        ``O(1024 * n)``), so that the results are identical whatever was asked for.
    rotation : ndarray or dict, optional
        ``huh_jhun`` only. Either the ``n x n`` random matrix given to permuco as
        ``rnd_rotation`` (the rotation of each effect is then derived from it as permuco
        does), or the ``(n - rank(D)) x n`` matrix ``V`` itself (rows orthonormal and
        orthogonal to the reduced model ``D``), or a dict ``{effect: V}``. Default: an
        ``n x n`` standard normal matrix drawn from ``random_state``.

    Returns
    -------
    AovPermResult
        ``.table`` with ``df, df_error, SS, SS_error, F, p_parametric, p_permutation`` per
        effect.

    Raises
    ------
    TypeError
        Wrong types (a non-numeric outcome, a non-integer permutation matrix, ...).
    ValueError
        Missing columns, missing values, a factor with one level, an unbalanced
        repeated-measures design, an unknown or inapplicable method, a bad permutation
        matrix, ``n_resamples < 1``, ``exact=True`` with too many permutations.

    See Also
    --------
    oneway_between, oneway_within, mixed, posthoc

    Notes
    -----
    With ``D`` the model without the tested effect, ``X`` the effect's columns,
    ``R_A``/``H_A`` the residual/hat projections on ``col(A)`` and ``P`` a permutation:

    * freedman_lane: ``y* = P R_D y``; manly: ``y* = P y``; ter_braak:
      ``y* = P R_full y`` (compared with the F of ``y``, as permuco 1.1.3); then
      ``F = (||H_{R_D X} y*||^2 / df) / (||R_full y*||^2 / df_error)``.
    * kennedy: ``y* = P R_D y``, ``F`` from ``H_{R_D X} y*`` against ``R_{R_D X} y*``.
    * huh_jhun: ``V`` rotates ``R_D`` into ``n - rank(D)`` coordinates; ``P`` permutes
      ``V y`` and ``F`` compares ``H_{VX}`` with ``R_{VX}``.
    * dekker / draper_stoneman: ``P`` permutes the rows of ``R_D X`` / ``X``; ``F`` of
      ``R_D y`` on ``R_D (P R_D X)`` / ``R_D (P X)``.
    * rd_kheradpajouh_renaud: ``y* = P R_D y``, ``F = (||H_{R_D X} y*||^2 / df) /
      (||H_{R_D Z} y*||^2 / df_error)`` with ``Z`` the subject-by-stratum columns;
      ``rde_kheradpajouh_renaud`` adds the other strata to ``D``;
      ``rd_replic_kheradpajouh_renaud`` first projects ``y*`` on the subject-by-cell
      model (identical to Rd with one observation per cell).

    The p-value counts the observed statistic as one permutation:
    ``p = (1 + #{F_b >= F_obs}) / (1 + B)``; exact runs give ``#{F_b >= F_obs} / N``
    over all ``N`` distinct permutations (identity included). ``F_obs`` is the method's
    own statistic at the identity (equal to the table's ``F`` up to rounding). Every sum
    of squares is computed as the squared norm of a residual or projection of the centred
    outcome (never as a difference of squared norms), and a permuted ``F_b`` ties with
    ``F_obs`` when they differ by less than the rounding error that is possible for the
    data at hand (a bound of order ``k n eps`` times the outcome's scale over the square
    roots of the two sums of squares); those permutations are decided again in exact
    rational arithmetic, so that exact ties count and near ties do not, whatever the
    offsets, the fit or the CPU (see the "Ties" section of the documentation). Unless
    ``permutations`` or ``rotation`` are given, the rows are first put in a canonical
    order (by cell, then outcome; subjects by cell, then outcomes), so the result does
    not depend on the order of the rows of ``data`` nor on the subject labels.

    References
    ----------
    Frossard, J. & Renaud, O. (2021). Permutation tests for regression, ANOVA, and
    comparison of signals: the permuco package. *Journal of Statistical Software*, 99(15).
    Kherad-Pajouh, S. & Renaud, O. (2015). A general permutation approach for analyzing
    repeated measures ANOVA and mixed-model designs. *Statistical Papers*, 56, 947-967.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"group": np.repeat(["a", "b", "c"], 6),
    ...                      "y": rng.normal(size=18) + np.repeat([0.0, 1.0, 2.5], 6)})
    >>> res = permanova.aovperm(data, "y", between="group", n_resamples=2000,
    ...                         random_state=1)
    >>> res.table[["df", "df_error", "F", "p_permutation"]].round(4)
            df  df_error       F  p_permutation
    effect
    group    2        15  5.7266          0.022
    """
    args = _validation.aovperm_iv(
        data,
        dv,
        subject,
        between,
        within,
        method,
        n_resamples,
        permutations,
        exact,
        random_state,
        alternative,
        return_null,
        progress,
        batch_size,
        rotation,
    )
    cols, method, rng = args.columns, args.method, args.rng
    if batch_size is not None:
        warnings.warn(
            "`batch_size` has no effect and will be removed: the permutations are evaluated "
            "in fixed chunks, so the results are the same for every batch size.",
            DeprecationWarning,
            stacklevel=2,
        )
    if permutations is None and args.n_resamples > _permutations.MAX_RESAMPLES:
        _too_many_resamples(args)
    if permutations is None and rotation is None:
        cols = _canonical_rows(cols)
    design = build_design(
        cols.y, cols.codes, cols.n_levels, cols.between, cols.within, cols.subject_codes
    )
    parametric = observed_table(design)
    _check_error_df(design, parametric)

    rotations = _rotations(design, rotation, rng) if method == "huh_jhun" else None
    kernels = METHODS[method](design, rotations=rotations)
    unit_sizes = {k.unit_key: _units(k) for k in kernels}
    observed = _engine.observed_statistics(kernels, unit_sizes)

    blocks, total, is_exact, identity = _permutation_source(
        design, method, unit_sizes, permutations, args.exact, args.n_resamples, rng
    )
    out = _engine.run(
        kernels,
        blocks,
        observed,
        total,
        chunk_rows=_permutations.chunk_rows(unit_sizes),
        alternative="less" if args.alternative == "less" else "greater",
        return_null=args.return_null,
        progress=args.progress,
        identity=identity,
    )
    resolved = _exact_observed_table(method, parametric, observed)
    with np.errstate(invalid="ignore"):
        if is_exact:
            pvalues = out.counts / total
        else:
            pvalues = (1.0 + out.counts) / (1.0 + total)
    undefined = np.isnan(parametric["F"]) | (np.isnan(observed.statistic) & ~resolved)
    pvalues = np.where(undefined, np.nan, pvalues)
    if undefined.any():
        warnings.warn(
            "the F statistic is undefined (0/0) for some effects (constant outcome or a "
            "perfect fit); their p-values are NaN.",
            RuntimeWarning,
            stacklevel=2,
        )

    order = [i - 1 for i in design.table_order()]
    columns = {key: np.asarray(parametric[key])[order] for key in TABLE_COLUMNS[:-1]}
    for key in ("SS", "SS_error"):  # back to the outcome's units (may overflow to inf)
        with np.errstate(over="ignore"):
            columns[key] = np.ldexp(columns[key], 2 * design.exponent)
    columns["df"] = columns["df"].astype(np.int64)
    columns["df_error"] = columns["df_error"].astype(np.int64)
    columns["p_permutation"] = pvalues[order]
    table = pd.DataFrame(
        columns, index=pd.Index([design.effects[i] for i in order], name="effect")
    )
    null = out.null[:, order] if out.null is not None else None
    return AovPermResult(
        table=table,
        n_resamples=int(total),
        exact=bool(is_exact),
        method=method,
        alternative=args.alternative,
        null_distribution=null,
    )


#: Methods whose statistic at the identity is the parametric table's F.
_TABLE_STATISTIC = (
    "freedman_lane",
    "manly",
    "dekker",
    "draper_stoneman",
    "rd_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
)


def _exact_observed_table(method: str, parametric: dict, observed) -> np.ndarray:
    """Where an observed sum of squares is at the rounding level, take the exact value.

    The floats then cannot tell 0 from a tiny but real sum of squares (a near-perfect
    additive fit, say); the exact sums of squares decide whether F is 0, finite, infinite
    or undefined (0/0). The table's SS, SS_error, F and parametric p are replaced by the
    exact values for the methods whose identity statistic is the table's. Returns the
    mask of the effects so resolved (their permutations are all decided exactly).
    """
    resolved = np.zeros(observed.degenerate.shape, dtype=bool)
    for j in np.flatnonzero(observed.degenerate):
        lazy = observed.exact[j]
        exact = None if lazy is None else lazy.value()
        if exact is None:
            continue
        num, den = exact
        resolved[j] = not (num == 0 and den == 0)
        if method in _TABLE_STATISTIC:
            unit = lazy.statistic.unit
            parametric["SS"][j] = float(num * unit)
            parametric["SS_error"][j] = float(den * unit)
        df, df_error = parametric["df"][j], parametric["df_error"][j]
        if num == 0 and den == 0:
            f = np.nan
        elif den == 0:
            f = np.inf
        else:
            f = float((num / df) / (den / df_error))
        if method in _TABLE_STATISTIC or np.isnan(f):
            parametric["F"][j] = f
            parametric["p_parametric"][j] = float(f_pvalue(f, df, df_error))
    return resolved


def _too_many_resamples(args) -> None:
    raise ValueError(
        f"`n_resamples` must be at most {_permutations.MAX_RESAMPLES:.0e} random "
        f"permutations (more would run for days); got {args.n_resamples}. Use exact=True "
        "for a design small enough to enumerate."
    )


def _canonical_rows(cols: _validation.Columns) -> _validation.Columns:
    """The rows in an order that depends neither on the order of ``data`` nor on the
    subject labels.

    Between designs: by cell, then by outcome value (rows equal in both are
    interchangeable). Repeated measures: subjects ordered by between cell, then by their
    outcomes cell by cell; within a subject, by within cell. Random permutations of these
    rows, hence every result, are then the same for any row order of the data.
    """
    between = [cols.codes[f] for f in reversed(cols.between)]
    if not cols.within:
        order = np.lexsort([cols.y, *between])
    else:
        within = [cols.codes[f] for f in reversed(cols.within)]
        by_subject = np.lexsort([*within, cols.subject_codes])  # the subject-by-cell table
        n_subjects = int(cols.subject_codes.max()) + 1
        table = cols.y[by_subject].reshape(n_subjects, -1)
        first = by_subject[:: table.shape[1]]  # one row of each subject
        subject_keys = [*table.T[::-1], *(codes[first] for codes in between)]
        rank = np.empty(n_subjects, dtype=np.intp)
        rank[np.lexsort(subject_keys)] = np.arange(n_subjects)
        order = np.lexsort([*within, rank[cols.subject_codes]])
    # the subjects are recoded by rank, so that no basis depends on their labels either
    subject = None if cols.subject_codes is None else cols.subject_codes[order]
    if cols.within:
        subject = rank[subject]
    return dataclasses.replace(
        cols,
        y=cols.y[order],
        codes={name: codes[order] for name, codes in cols.codes.items()},
        subject_codes=subject,
    )


def _check_error_df(design: Design, parametric: dict) -> None:
    """Every effect needs an error term with at least one degree of freedom."""
    df_error = np.asarray(parametric["df_error"])
    if (df_error >= 1).all():
        return
    if not design.repeated:
        rank = orthonormal_basis(design.X).shape[1]
        raise ValueError(
            f"the design leaves no residual degrees of freedom ({design.n} rows for "
            f"{rank} parameters); every cell needs replicates."
        )
    bad = [design.effects[i] for i in np.flatnonzero(df_error < 1)]
    raise ValueError(
        f"the error strata of effects {bad} have no degrees of freedom; a mixed design "
        "needs at least 2 subjects in some between group for the between effects."
    )


def _units(kernel) -> int:
    return kernel.u.shape[0] if hasattr(kernel, "u") else kernel.source.shape[0]


def _rotations(design: Design, rotation, rng: np.random.Generator) -> dict:
    """``{effect: V}`` for huh_jhun, from a user matrix/dict or a random ``n x n`` draw."""
    n = design.n
    if rotation is None:
        raw = rng.standard_normal((n, n))
        return {name: huh_jhun_rotation(design, i, raw) for i, name in _enum(design)}
    if isinstance(rotation, Mapping):
        unknown = sorted(set(rotation) - set(design.effects))
        missing = [e for e in design.effects if e not in rotation]
        if unknown or missing:
            raise ValueError(
                f"`rotation` as a dict needs one matrix per effect {list(design.effects)}; "
                f"unknown: {unknown}, missing: {missing}."
            )
        return {name: _check_v(design, i, rotation[name], name) for i, name in _enum(design)}
    array = _as_float_matrix(rotation, "rotation")
    if array.shape == (n, n):
        return {name: huh_jhun_rotation(design, i, array) for i, name in _enum(design)}
    return {name: _check_v(design, i, array, name) for i, name in _enum(design)}


def _enum(design):
    return enumerate(design.effects, start=1)


def _as_float_matrix(value, name) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise TypeError(f"`{name}` must be a real numeric matrix; got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if array.ndim != 2 or not np.isfinite(array).all():
        raise ValueError(f"`{name}` must be a finite 2-D matrix; got shape {array.shape}.")
    return array


def _check_v(design: Design, i: int, value, effect: str) -> np.ndarray:
    v = _as_float_matrix(value, "rotation")
    reduced = design.X[:, ~design.columns(i)]
    m = design.n - orthonormal_basis(reduced).shape[1]
    if v.shape != (m, design.n):
        raise ValueError(
            f"`rotation` for effect {effect!r} must be the raw {design.n} x {design.n} "
            f"matrix or V of shape ({m}, {design.n}); got {v.shape}."
        )
    scale = max(1.0, float(np.abs(v).max()))
    if not np.allclose(v @ v.T, np.eye(m), atol=1e-8 * scale) or not np.allclose(
        v @ reduced, 0.0, atol=1e-8 * scale * max(1.0, np.abs(reduced).max())
    ):
        raise ValueError(
            f"`rotation` V for effect {effect!r} must have orthonormal rows orthogonal to the "
            "model without that effect."
        )
    return v


def _user_matrices(permutations, unit_sizes: dict, method: str) -> dict:
    if isinstance(permutations, Mapping):
        if method != "huh_jhun":
            raise TypeError(
                "`permutations` must be a (B, n) integer array; a dict is accepted only for "
                "method 'huh_jhun' (one matrix per effect)."
            )
        unknown = sorted(set(permutations) - set(unit_sizes))
        missing = [k for k in unit_sizes if k not in permutations]
        if unknown or missing:
            raise ValueError(
                f"`permutations` as a dict needs one matrix per effect {list(unit_sizes)}; "
                f"unknown: {unknown}, missing: {missing}."
            )
        out = {
            k: _permutations.check_permutation_matrix(
                permutations[k], unit_sizes[k], f"permutations[{k!r}]"
            )
            for k in unit_sizes
        }
    else:
        sizes = set(unit_sizes.values())
        if len(sizes) > 1:
            raise ValueError(
                "with method 'huh_jhun' the effects have different numbers of units "
                f"{unit_sizes}; give `permutations` as a dict {{effect: (B, n_units)}}."
            )
        shared = _permutations.check_permutation_matrix(permutations, sizes.pop())
        out = dict.fromkeys(unit_sizes, shared)
    lengths = {m.shape[0] for m in out.values()}
    if len(lengths) > 1:
        raise ValueError(
            f"every matrix in `permutations` needs the same number of rows; got {lengths}."
        )
    return out


def _permutation_source(design, method, unit_sizes, permutations, exact, n_resamples, rng):
    """(blocks iterator, number of permutations, exact?, identity-mask function or None)."""
    rows = _permutations.block_rows(unit_sizes)
    if permutations is not None:
        matrices = _user_matrices(permutations, unit_sizes, method)
        total = next(iter(matrices.values())).shape[0]
        return _permutations.user_blocks(matrices, rows), total, False, None
    assignments = design.oneway_between and method != "huh_jhun"
    sizes = set(unit_sizes.values())
    if assignments:
        group_sizes = np.bincount(design.group_codes)
    elif len(sizes) == 1:
        group_sizes = np.ones(next(iter(sizes)), dtype=np.int64)
    else:
        group_sizes = None  # huh_jhun with effects of different sizes: no common enumeration
    if exact is True:
        if group_sizes is None:
            raise ValueError(
                "`exact=True` is not available for method 'huh_jhun' when the effects have "
                f"different numbers of rotated units {unit_sizes}."
            )
        count = _permutations.count_at_most(group_sizes, _permutations.MAX_EXACT)
        if count is None:
            digits = _permutations.log_count(group_sizes) / np.log(10.0)
            raise ValueError(
                f"`exact=True` would enumerate about 10^{digits:.1f} permutations, more than "
                f"the limit of {_permutations.MAX_EXACT:.0e}; use exact=False (Monte-Carlo) "
                "instead."
            )
    elif exact == "auto" and group_sizes is not None:
        count = _permutations.count_at_most(group_sizes, n_resamples)
    else:
        count = None
    if count is None:
        blocks = _permutations.random_blocks(rng, unit_sizes, n_resamples)
        return blocks, n_resamples, False, None
    if assignments:
        kind = "design" if method in DESIGN_PERMUTING else "vector"
        blocks = _permutations.all_assignments(design.group_codes, kind)
        codes = design.group_codes

        def identity(perms):
            return (codes[perms] == codes).all(axis=1)

    else:
        blocks = _permutations.all_permutations(next(iter(sizes)))

        def identity(perms):
            return (perms == np.arange(perms.shape[1])).all(axis=1)

    keys = list(unit_sizes)
    return ({k: block for k in keys} for block in blocks), int(count), True, identity


# --------------------------------------------------------------------------------------
# convenience wrappers
# --------------------------------------------------------------------------------------
def oneway_between(data: pd.DataFrame, dv: str, between: str, **kwargs) -> AovPermResult:
    """One-way between-subjects permutation ANOVA (one factor, independent groups).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.
    dv : str
        Numeric outcome column.
    between : str
        The grouping factor.
    **kwargs
        Keyword arguments of :func:`aovperm` (``method``, ``n_resamples``,
        ``permutations``, ``exact``, ``random_state``, ``alternative``, ``return_null``,
        ``progress``, ``batch_size``, ``rotation``).

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import pandas as pd
    >>> import permanova
    >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
    ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
    >>> res = permanova.oneway_between(data, "y", "g")
    >>> res.exact, res.n_resamples
    (True, 70)
    >>> round(float(res.table.loc["g", "p_permutation"]), 4)
    0.0286
    """
    _reject(kwargs, "oneway_between", ("within", "subject"))
    if not isinstance(between, str):
        raise TypeError(f"`between` must be one column name; got {between!r}.")
    return aovperm(data, dv, between=between, **kwargs)


def oneway_within(
    data: pd.DataFrame, dv: str, within: str, *, subject: str, **kwargs
) -> AovPermResult:
    """One-way repeated-measures permutation ANOVA.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and level of ``within``.
    dv : str
        Numeric outcome column.
    within : str
        The within-subject factor.
    subject : str
        Subject identifier.
    **kwargs
        Keyword arguments of :func:`aovperm`.

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(3)
    >>> data = pd.DataFrame({"s": np.repeat(np.arange(8), 3),
    ...                      "t": np.tile(["t1", "t2", "t3"], 8)})
    >>> data["y"] = rng.normal(size=24) + np.tile([0.0, 1.0, 2.0], 8)
    >>> res = permanova.oneway_within(data, "y", "t", subject="s", random_state=0,
    ...                               n_resamples=999)
    >>> res.table[["df", "df_error"]]
            df  df_error
    effect
    t        2        14
    """
    _reject(kwargs, "oneway_within", ("between",))
    if not isinstance(within, str):
        raise TypeError(f"`within` must be one column name; got {within!r}.")
    return aovperm(data, dv, subject=subject, within=within, **kwargs)


def mixed(
    data: pd.DataFrame,
    dv: str,
    *,
    subject: str,
    between: str | list[str],
    within: str | list[str],
    **kwargs,
) -> AovPermResult:
    """Mixed (between x within) permutation ANOVA.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and within cell.
    dv : str
        Numeric outcome column.
    subject : str
        Subject identifier; each subject belongs to one between group.
    between, within : str or list of str
        Between-subjects and within-subject factors (both required).
    **kwargs
        Keyword arguments of :func:`aovperm`.

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"s": np.repeat(np.arange(10), 2),
    ...                      "grp": np.repeat(["x", "y"], 10),
    ...                      "time": np.tile(["pre", "post"], 10)})
    >>> data["y"] = rng.normal(size=20)
    >>> res = permanova.mixed(data, "y", subject="s", between="grp", within="time",
    ...                       random_state=0, n_resamples=499)
    >>> list(res.table.index)
    ['grp', 'time', 'grp:time']
    >>> res.table["df_error"].tolist()
    [8, 8, 8]
    """
    if between is None or within is None:
        raise ValueError("`mixed` needs both `between` and `within` factors.")
    return aovperm(data, dv, subject=subject, between=between, within=within, **kwargs)


def _reject(kwargs, function: str, names: tuple) -> None:
    """A clear error for design arguments that a shortcut has no use for."""
    for name in names:
        if name in kwargs:
            if name == "subject":
                raise TypeError(
                    f"`{function}` takes no `subject` argument (independent observations)."
                )
            raise TypeError(
                f"`{function}` takes no `{name}` argument; use `aovperm` (or `mixed`) for "
                f"designs with {name} factors."
            )
