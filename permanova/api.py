"""Public functions: :func:`aovperm`, the one-way and mixed shortcuts, and :func:`posthoc`."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from permanova import _engine, _formula, _permutations, _rotation, _signflip, _validation
from permanova._bases import Bases
from permanova._design import Design, Outcome, build_design
from permanova._methods import DESIGN_PERMUTING, build_kernels
from permanova._sphericity import SphericityTest
from permanova._table import (
    corrected_columns,
    effect_sizes,
    observed_table,
    resolve_exactly,
    sphericity_tests,
    strata_error,
)
from permanova.results import TABLE_COLUMNS, AovPermResult

#: Effect sizes in every table; the sphericity-corrected parametric p of repeated designs.
EFFECT_SIZE_COLUMNS = ("eta2_partial", "eta2_generalized")
CORRECTED_COLUMNS = ["p_parametric_gg", "p_parametric_hf"]
SPHERICITY_COLUMNS = list(SphericityTest._fields)


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
    n_jobs: int | None = None,
    backend: str | object | None = None,
    observed: str | list[str] | None = None,
    missing: str = "raise",
    permutation_type: str = "permutation",
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
    dv : str or list of str
        Numeric outcome column, or a list of them: every outcome is then tested on the
        same design with the same permutations (one set of products for all of them), the
        table has an ``(outcome, effect)`` index and each outcome's table and p-values
        are those of a separate run with the same ``random_state``.
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
        are evaluated in fixed chunks aligned to their blocks (at most 4096 rows and 4 MiB
        per work array), so that the results are identical whatever was asked for.
    rotation : ndarray or dict, optional
        ``huh_jhun`` only. Either the ``n x n`` random matrix given to permuco as
        ``rnd_rotation`` (the rotation of each effect is then derived from it as permuco
        does), or the ``(n - rank(D)) x n`` matrix ``V`` itself (rows orthonormal and
        orthogonal to the reduced model ``D``), or a dict ``{effect: V}``. Default: an
        ``n x n`` standard normal matrix drawn from ``random_state``. Its memory is
        ``O(n^2)``: huh_jhun refuses designs of more than ``HUH_JHUN_MAX_ROWS`` (4000)
        rows; every other method needs memory linear in the rows.
    n_jobs : int, optional
        Threads that evaluate blocks of permutations (scikit-learn convention: None = 1,
        -1 = all cores, -2 = all but one). Results are bit-identical for every value.
    backend : {None, "threads", "dask"} or dask.distributed.Client, optional
        ``"dask"`` evaluates the blocks on dask's current scheduler (an active
        ``dask.distributed.Client``, else dask's threaded scheduler), a ``Client`` on that
        cluster (``n_jobs`` is then ignored). Each block carries its own generator, so the
        result equals the serial run exactly. Needs the ``dask`` extra.
    observed : str or list of str, optional
        Measured (not manipulated) factors, for the generalized eta squared (afex's
        ``observed``): the sums of squares of the effects that involve them join its
        denominator. Default: every factor is manipulated.
    permutation_type : {"permutation", "signflip"}, default="permutation"
        ``"signflip"`` multiplies the method's vector (or design rows) by random signs
        instead of permuting it (permuco's ``Pmat(type = "signflip")``; exchangeable
        errors symmetric about zero). ``permutations`` then holds rows of ``+1``/``-1``
        (the identity excluded); ``exact="auto"`` enumerates all ``2**n`` sign vectors
        when there are at most ``n_resamples``, the identity counted as one.
    missing : {"raise", "drop_subjects"}, default="raise"
        What to do with a missing outcome or a subject that lacks a within cell:
        ``"raise"`` a ``ValueError`` naming the rows or subjects; ``"drop_subjects"``
        analyse the complete subjects only (each row is a subject without ``within``),
        with a warning that counts the dropped ones, listed in ``result.dropped``.

    Returns
    -------
    AovPermResult
        ``.table`` with ``df, df_error, SS, SS_error, F, p_parametric, p_permutation,
        eta2_partial, eta2_generalized`` per effect (per outcome and effect when ``dv`` is
        a list) and, for designs with a within factor, ``p_parametric_gg`` and
        ``p_parametric_hf``: the parametric p with both df times the Greenhouse-Geisser or
        Huynh-Feldt epsilon (capped at 1; the uncorrected p for effects whose within part
        has one df, and for between effects). ``.sphericity`` holds Mauchly's test and the
        epsilons (as car and afex compute them) of every effect whose within part has more
        than one df. The permutation p-value needs no correction: permuting the
        observations within the design leaves the covariance of the within cells as it
        is, so the null distribution is that of the data's own covariance, spherical or
        not (see the documentation).

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

    Several outcomes on one design, in two threads:

    >>> data["z"] = rng.normal(size=18)
    >>> res = permanova.aovperm(data, ["y", "z"], between="group", n_resamples=2000,
    ...                         random_state=1, n_jobs=2)
    >>> res.table["p_permutation"].round(3).tolist()
    [0.022, 0.343]
    """
    missing = _validation.check_missing(missing)
    dropped: tuple = ()
    if missing == "drop_subjects":
        data, dropped = _drop_incomplete(data, dv, subject, within)
    formula = _formula.parse_formula(dv, data) if _is_formula(dv) else None
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
        n_jobs,
        backend,
        observed,
        formula,
        permutation_type,
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
    if method == "huh_jhun":
        _rotation.check_size(cols.y.shape[0])
    cols, outcome_rows = _canonical_rows(cols, permutations is None and rotation is None)
    design = _design_of(cols, formula, data, outcome_rows[0])
    outcomes = [
        Outcome.of(name, cols.y[rows, k])
        for k, (name, rows) in enumerate(zip(cols.outcomes, outcome_rows, strict=True))
    ]
    bases = Bases(design)
    _check_rank(design, bases)
    tables = [observed_table(bases, outcome) for outcome in outcomes]
    _check_error_df(design, bases, tables[0])

    rotations = _rotation.rotations(design, rotation, rng) if method == "huh_jhun" else None
    kernels = [build_kernels(method, bases, o, rotations=rotations) for o in outcomes]
    unit_sizes = {kernel.unit_key: kernel.units for kernel in kernels[0]}
    observed = [_engine.observed_statistics(ks) for ks in kernels]
    source = _source(args, design, unit_sizes, permutations)
    task = _engine.evaluation(
        kernels,
        observed,
        alternative=args.alternative,
        return_null=args.return_null,
        identity=source.identity,
        total=source.total,
        signflip=args.signflip,
    )
    out = _engine.run(
        task,
        source.blocks,
        source.total,
        n_jobs=_engine.effective_jobs(args.n_jobs),
        use_dask=args.use_dask,
        client=args.client,
        progress=args.progress,
    )
    columns = [
        _outcome_columns(method, bases, outcome, table, obs, counts, source, args.observed)
        for outcome, table, obs, counts in zip(outcomes, tables, observed, out.counts, strict=True)
    ]
    order = [i - 1 for i in design.table_order()]
    effects = [design.effects[i] for i in order]
    names = [*TABLE_COLUMNS, *EFFECT_SIZE_COLUMNS]
    if design.repeated:
        names += CORRECTED_COLUMNS
    stacked = {key: np.concatenate([c[key] for c in columns]) for key in names}
    null = None if out.null is None else out.null[:, :, order]
    if cols.several:
        index = pd.MultiIndex.from_product(
            [list(cols.outcomes), effects], names=["outcome", "effect"]
        )
    else:
        index = pd.Index(effects, name="effect")
        null = None if null is None else null[0]
    table = pd.DataFrame(stacked, index=index)
    sphericity = None
    if design.repeated:
        sphericity = _sphericity_frame(
            design, [c["sphericity"] for c in columns], cols.outcomes, cols.several
        )
    return AovPermResult(
        table=table,
        n_resamples=int(source.total),
        exact=bool(source.exact),
        method=method,
        alternative=args.alternative,
        null_distribution=null,
        outcomes=tuple(cols.outcomes),
        sphericity=sphericity,
        dropped=dropped,
    )


def _outcome_columns(method, bases, outcome, table, observed, counts, source, measured) -> dict:
    """The result columns of one outcome (rows in the design's table order), and its
    sphericity tests under ``"sphericity"``."""
    design = bases.design
    resolved = resolve_exactly(method, table, observed)
    with np.errstate(invalid="ignore"):
        if source.exact:
            pvalues = counts / source.total
        else:
            pvalues = (1.0 + counts) / (1.0 + source.total)
    undefined = np.isnan(table["F"]) | (np.isnan(observed.statistic) & ~resolved)
    pvalues = np.where(undefined, np.nan, pvalues)
    if undefined.any():
        warnings.warn(
            f"the F statistic of outcome {outcome.name!r} is undefined (0/0) for some "
            "effects (constant outcome or a perfect fit); their p-values are NaN.",
            RuntimeWarning,
            stacklevel=3,
        )
    order = [i - 1 for i in design.table_order()]
    columns = {key: np.asarray(table[key])[order] for key in TABLE_COLUMNS[:-1]}
    for key in ("SS", "SS_error"):  # back to the outcome's units (may overflow to inf)
        with np.errstate(over="ignore"):
            columns[key] = np.ldexp(columns[key], 2 * outcome.exponent)
    columns["df"] = columns["df"].astype(np.int64)
    columns["df_error"] = columns["df_error"].astype(np.int64)
    columns["p_permutation"] = pvalues[order]
    sizes = effect_sizes(design, table, strata_error(bases, outcome, table), measured)
    extra = dict(sizes)
    tests = sphericity_tests(bases, outcome)
    if design.repeated:
        extra.update(corrected_columns(table, tests))
    columns.update({key: np.asarray(values)[order] for key, values in extra.items()})
    columns["sphericity"] = {
        design.effects[i - 1]: tests[i] for i in design.table_order() if i in tests
    }
    return columns


def _sphericity_frame(design: Design, tests: list, outcomes: tuple, several: bool):
    """``result.sphericity``: one row per effect (and outcome) with a within part of more
    than one df."""
    rows = [
        {"outcome": name, "effect": effect, **test._asdict()}
        for name, by_effect in zip(outcomes, tests, strict=True)
        for effect, test in by_effect.items()
    ]
    columns = ["outcome", "effect", *SPHERICITY_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    if not several:
        frame = frame.drop(columns="outcome")
    return frame.set_index(["outcome", "effect"] if several else "effect")


def _too_many_resamples(args) -> None:
    raise ValueError(
        f"`n_resamples` must be at most {_permutations.MAX_RESAMPLES:.0e} random "
        f"permutations (more would run for days); got {args.n_resamples}. Use exact=True "
        "for a design small enough to enumerate."
    )


def _canonical_rows(cols: _validation.Columns, canonical: bool):
    """The rows in an order that depends neither on the order of ``data`` nor on the
    subject labels, and the rows of each outcome in that order.

    Between designs: by cell, then by outcome value (rows equal in both are
    interchangeable). Repeated measures: subjects ordered by between cell, then by their
    outcomes cell by cell; within a subject, by within cell. Random permutations of these
    rows, hence every result, are then the same for any row order of the data. Each
    outcome gets its own order; the design (cells, subjects by cell) is the same in all of
    them, so the outcomes share it. ``canonical=False`` (user permutations or rotations,
    which index the rows as given) keeps the data's order.
    """
    if not canonical:
        return cols, [np.arange(cols.y.shape[0])] * cols.y.shape[1]
    orders = [_canonical_order(cols, cols.y[:, k]) for k in range(cols.y.shape[1])]
    order, rank = orders[0]
    # the subjects are recoded by rank, so that no basis depends on their labels either
    subject = None if cols.subject_codes is None else rank[cols.subject_codes[order]]
    cols = dataclasses.replace(
        cols,
        codes={name: codes[order] for name, codes in cols.codes.items()},
        covariates={name: values[order] for name, values in cols.covariates.items()},
        subject_codes=subject,
    )
    return cols, [rows for rows, _ in orders]


def _canonical_order(cols: _validation.Columns, y: np.ndarray):
    """``(order, subject ranks or None)`` of one outcome (see :func:`_canonical_rows`)."""
    between = [cols.codes[f] for f in reversed(cols.between)]
    covariates = list(cols.covariates.values())[::-1]
    if not cols.within:
        return np.lexsort([y, *covariates, *between]), None
    within = [cols.codes[f] for f in reversed(cols.within)]
    by_subject = np.lexsort([*within, cols.subject_codes])  # the subject-by-cell table
    n_subjects = int(cols.subject_codes.max()) + 1
    table = y[by_subject].reshape(n_subjects, -1)
    first = by_subject[:: table.shape[1]]  # one row of each subject
    subject_keys = [*table.T[::-1], *(v[first] for v in covariates), *(c[first] for c in between)]
    rank = np.empty(n_subjects, dtype=np.intp)
    rank[np.lexsort(subject_keys)] = np.arange(n_subjects)
    return np.lexsort([*within, rank[cols.subject_codes]]), rank


def _drop_incomplete(data, dv, subject, within):
    """``missing="drop_subjects"``: the data without the subjects that miss an outcome or
    a within cell, and their labels (with a warning that counts them)."""
    data = _validation.check_frame(data)
    if _is_formula(dv):
        lhs = dv.split("~", 1)[0].strip().strip("`")
        rows = data.dropna(subset=[lhs]) if lhs in data.columns else data
        parsed = _formula.parse_formula(dv, rows)
        outcomes, subject, within = [parsed.outcome], parsed.subject, list(parsed.within)
    else:
        outcomes = _validation.outcome_names(dv)[0]
        within = _validation.as_name_list(within, "within")
    kept, dropped = _validation.drop_incomplete(data, outcomes, subject, within)
    if dropped:
        what = "subjects" if subject is not None and within else "rows"
        warnings.warn(
            f"missing='drop_subjects' dropped {len(dropped)} {what} with a missing outcome "
            f"or a missing within cell: {list(dropped[:5])}{' ...' if len(dropped) > 5 else ''}"
            " (listed in result.dropped).",
            UserWarning,
            stacklevel=3,
        )
    return kept, dropped


def _source(args, design: Design, unit_sizes: dict, permutations):
    """Where the run's permutations (or sign flips) come from."""
    huh_jhun = args.method == "huh_jhun"
    if args.signflip:
        matrices = None
        if permutations is not None:
            check = _signflip.check_signflip_matrix
            matrices = _permutations.user_matrices(permutations, unit_sizes, huh_jhun, check)
        return _signflip.source(
            unit_sizes,
            signflips=matrices,
            exact=args.exact,
            n_resamples=args.n_resamples,
            rng=args.rng,
        )
    matrices = None
    if permutations is not None:
        matrices = _permutations.user_matrices(permutations, unit_sizes, huh_jhun)
    assignments = design.oneway_between and not huh_jhun
    return _permutations.source(
        unit_sizes,
        group_codes=design.group_codes if assignments else None,
        kind="design" if args.method in DESIGN_PERMUTING else "vector",
        permutations=matrices,
        exact=args.exact,
        n_resamples=args.n_resamples,
        rng=args.rng,
    )


def _is_formula(dv) -> bool:
    return isinstance(dv, str) and "~" in dv


def _design_of(cols: _validation.Columns, formula, data: pd.DataFrame, rows: np.ndarray):
    """The design of the keyword roles or of a formula (``rows``: the data's rows in the
    canonical order). A formula that is the full factorial of its factors gives the
    keyword form's design (the same tables), with R's effect names."""
    args = (cols.codes, cols.n_levels, cols.between, cols.within, cols.subject_codes)
    if formula is None:
        return build_design(*args)
    if cols.full_factorial:
        design = build_design(*args)
        names = {frozenset(t): label for t, label in zip(formula.terms, formula.term_labels)}
        return dataclasses.replace(
            design, effects=tuple(names[frozenset(f)] for f in design.effect_factors)
        )
    matrix = _formula.model_matrix(formula, data.iloc[rows], coding="sum")
    model = (np.array(matrix.X), matrix.assign, matrix.term_labels, formula.terms)
    return build_design(*args, model=model)


def _check_rank(design: Design, bases: Bases) -> None:
    """A formula's model matrix must have full column rank."""
    rank, width = bases.full().shape[1], design.X.shape[1]
    if rank < width:
        raise ValueError(
            f"the model matrix has rank {rank} for {width} columns: some terms are aliased "
            "(empty cells of the factors they combine, or collinear covariates); drop or "
            "merge them."
        )


def _check_error_df(design: Design, bases: Bases, table: dict) -> None:
    """Every effect needs an error term with at least one degree of freedom."""
    df_error = np.asarray(table["df_error"])
    if (df_error >= 1).all():
        return
    if not design.repeated:
        rank = bases.full().shape[1]
        raise ValueError(
            f"the design leaves no residual degrees of freedom ({design.n} rows for "
            f"{rank} parameters); every cell needs replicates."
        )
    bad = [design.effects[i] for i in np.flatnonzero(df_error < 1)]
    raise ValueError(
        f"the error strata of effects {bad} have no degrees of freedom; a mixed design "
        "needs at least 2 subjects in some between group for the between effects."
    )


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
