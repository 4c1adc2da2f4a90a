"""The public entry point :func:`aovperm`: arguments -> design -> kernels -> engine -> table."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from permanova import (
    _arguments,
    _engine,
    _formula,
    _permutations,
    _replic,
    _rotation,
    _signflip,
    _validation,
)
from permanova._bases import Bases
from permanova._canonical import canonical_rows
from permanova._design import Design, Outcome
from permanova._methods import DESIGN_PERMUTING, build_kernels
from permanova._model import check_error_df, check_rank, design_of, is_formula, without_incomplete
from permanova._result_table import outcome_columns, result_frames
from permanova._table import (
    observed_table,
)
from permanova.results import AovPermResult


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
        are those of a separate run with the same ``random_state``. Or an R formula
        (``"y ~ type * cond + Error(subject/cond)"``; numeric columns are covariates,
        ``C(x)`` a factor; see the documentation), the roles then being given by it.
    subject : str, optional
        Subject identifier; required with ``within``. Each subject must belong to one
        between group and have exactly one observation per within cell (several, in any
        numbers, with ``rd_replic_kheradpajouh_renaud``).
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
    missing = _arguments.check_missing(missing)
    dropped: tuple = ()
    if missing == "drop_subjects":
        data, dropped = without_incomplete(data, dv, subject, within)
    formula = _formula.parse_formula(dv, data) if is_formula(dv) else None
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
    cols, outcome_rows = canonical_rows(cols, permutations is None and rotation is None)
    design = design_of(cols, formula, data, outcome_rows[0])
    outcomes = [
        Outcome.of(name, cols.y[rows, k])
        for k, (name, rows) in enumerate(zip(cols.outcomes, outcome_rows, strict=True))
    ]
    bases = Bases(design)
    check_rank(design, bases)
    cells = _validation._cell_index(cols, cols.within) if cols.replicated else None
    if cells is None:
        tables = [observed_table(bases, outcome) for outcome in outcomes]
    else:
        tables = [_replic.replic_table(design, cells, outcome) for outcome in outcomes]
    check_error_df(design, bases, tables[0])

    if cells is not None:
        kernels = [_replic.replic_kernels(design, cells, o) for o in outcomes]
    else:
        rotations = _rotation.rotations(design, rotation, rng) if method == "huh_jhun" else None
        kernels = [build_kernels(method, bases, o, rotations=rotations) for o in outcomes]
    unit_sizes = {kernel.unit_key: kernel.units for kernel in kernels[0]}
    observed = _engine.observed_statistics(kernels)
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
        outcome_columns(method, bases, outcome, table, obs, counts, source, args.observed, cells)
        for outcome, table, obs, counts in zip(outcomes, tables, observed, out.counts, strict=True)
    ]
    table, sphericity = result_frames(design, columns, cols.outcomes, cols.several)
    null = None
    if out.null is not None:
        null = out.null[:, :, [i - 1 for i in design.table_order()]]
        null = null if cols.several else null[0]
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


def _too_many_resamples(args) -> None:
    raise ValueError(
        f"`n_resamples` must be at most {_permutations.MAX_RESAMPLES:.0e} random "
        f"permutations (more would run for days); got {args.n_resamples}. Use exact=True "
        "for a design small enough to enumerate."
    )


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
