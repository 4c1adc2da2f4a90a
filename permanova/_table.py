"""The parametric ANOVA table of one outcome: df, sums of squares, F and parametric p."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import special

from permanova import _sphericity
from permanova._bases import Bases
from permanova._design import Outcome, cell_means, residualize, rounding_bound

#: The table's columns computed here (the permutation p-value is added by the caller).
PARAMETRIC_COLUMNS = ("df", "df_error", "SS", "SS_error", "F", "p_parametric")
#: Methods whose statistic at the identity is the parametric table's F.
TABLE_STATISTIC = (
    "freedman_lane",
    "manly",
    "dekker",
    "draper_stoneman",
    "rd_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
)


def f_pvalue(f, df1, df2):
    """Upper tail of the F distribution (``scipy.stats.f.sf`` without its overhead)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return special.fdtrc(df1, df2, f)


def observed_table(bases: Bases, outcome: Outcome) -> dict:
    """Parametric ANOVA of one outcome: per effect (model order) df, df_error, SS,
    SS_error, F, p.

    Between designs: type III sums of squares, ``SS = ||P_{R_D X} y||^2`` with ``D`` the
    model without the effect, against the residual of the full model. Repeated measures:
    the error term of an effect is its ``Error(subject/within)`` stratum (permuco's
    ``effect_anova_rnd``). The sums of squares are those of the scaled outcome; sums at
    its rounding level are exact zeros (constant outcome, perfect fit), so that F is NaN
    (0/0) or inf rather than a ratio of rounding errors.

    The error sums of squares are taken from the (uncentred) outcome minus its cell means
    (and subject means, for the within strata) first: each difference rounds relative to
    itself, and the rounding errors of the means are constant within cells (subjects), so
    they lie in the model and drop out of the residual, which keeps its relative accuracy
    even for a nearly perfect fit.
    """
    design = bases.design
    zero = (rounding_bound(design.n, design.X.shape[1]) * outcome.scale) ** 2
    out = {key: [] for key in PARAMETRIC_COLUMNS}
    within_cells = _within_cells(design, outcome)
    effects = range(1, len(design.effects) + 1)
    if design.repeated:
        within_subjects = within_cells - cell_means(within_cells, design.subjects)
        for i in effects:
            stratum, _ = bases.stratum(i)
            base = within_subjects if design.within_part(i) else within_cells
            error, _ = stratum.error(base[design.row_order][None, :])
            ss = float(np.sum((bases.tested(i).T @ outcome.y) ** 2))
            sse = float(error[0] @ error[0])
            _append(out, bases.tested(i).shape[1], stratum.df, ss, sse, zero)
        return out
    resid = residualize(bases.full(), within_cells)
    sse = float(resid @ resid)
    df_error = design.n - bases.full().shape[1]
    for i in effects:
        ss = float(np.sum((bases.tested(i).T @ outcome.y) ** 2))
        _append(out, bases.tested(i).shape[1], df_error, ss, sse, zero)
    return out


def _within_cells(design, outcome: Outcome) -> np.ndarray:
    """The scaled outcome minus its cell means, or its mean when the cell means need not
    lie in the model (the residuals of either are those of the outcome)."""
    if design.cells is None:
        return outcome.y
    return outcome.scaled - cell_means(outcome.scaled, design.cells)


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


def resolve_exactly(method: str, table: dict, observed) -> np.ndarray:
    """Where an observed sum of squares is at the rounding level, take the exact value.

    The floats then cannot tell 0 from a tiny but real sum of squares (a near-perfect
    additive fit, say); the exact sums of squares decide whether F is 0, finite, infinite
    or undefined (0/0). The table's SS, SS_error, F and parametric p are replaced by the
    exact values for the methods whose identity statistic is the table's. ``observed`` is
    the engine's :class:`~permanova._engine.Observed` of this outcome. Returns the mask of
    the effects so resolved (their permutations are all decided exactly).
    """
    resolved = np.zeros(observed.degenerate.shape, dtype=bool)
    for j in np.flatnonzero(observed.degenerate):
        lazy = observed.exact[j]
        exact = None if lazy is None else lazy.value()
        if exact is None:
            continue
        num, den = exact
        resolved[j] = not (num == 0 and den == 0)
        if method in TABLE_STATISTIC:
            unit = lazy.statistic.unit
            table["SS"][j] = float(num * unit)
            table["SS_error"][j] = float(den * unit)
        df, df_error = table["df"][j], table["df_error"][j]
        if num == 0 and den == 0:
            f = np.nan
        elif den == 0:
            f = np.inf
        else:
            f = float((num / df) / (den / df_error))
        if method in TABLE_STATISTIC or np.isnan(f):
            table["F"][j] = f
            table["p_parametric"][j] = float(f_pvalue(f, df, df_error))
    return resolved


def strata_error(bases: Bases, outcome: Outcome, table: dict) -> float:
    """The error sum of squares of every stratum of the design, added (scaled units).

    Between designs have one, the residual. Repeated measures have one per stratum of
    ``Error(subject/within)``, the subject stratum included even when no effect is
    tested in it (as afex's generalized eta squared adds them). Strata with a tested
    effect take the table's value; the others are computed.
    """
    design = bases.design
    if not design.repeated:
        return float(table["SS_error"][0])
    by_stratum = {}
    for i in range(1, len(design.effects) + 1):
        by_stratum.setdefault(design.within_part(i), table["SS_error"][i - 1])
    if 0 not in by_stratum:
        base = _within_cells(design, outcome)[design.row_order]
        error, _ = bases.error_stratum(0).error(base[None, :])
        by_stratum[0] = float(error[0] @ error[0])
    return float(sum(by_stratum.values()))


def effect_sizes(design, table: dict, error_total: float, observed: tuple = ()) -> dict:
    """Partial and generalized eta squared of every effect (model order).

    ``eta2_partial = SS / (SS + SS_error)``. ``eta2_generalized`` (Olejnik & Algina,
    2003, as afex's ``ges``): ``SS / (SS + E + O - o)`` with ``E`` the error sums of
    squares of every stratum (:func:`strata_error`), ``O`` the sums of squares of the
    effects that involve a measured (``observed``) variable and ``o`` the effect's own
    when it is one of them. 0/0 gives NaN.
    """
    ss = np.asarray(table["SS"], dtype=float)
    sse = np.asarray(table["SS_error"], dtype=float)
    measured = np.array([bool(set(f) & set(observed)) for f in design.effect_factors])
    others = ss[measured].sum() - np.where(measured, ss, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        partial = ss / (ss + sse)
        generalized = ss / (ss + error_total + others)
    return {"eta2_partial": partial, "eta2_generalized": generalized}


def sphericity_tests(bases: Bases, outcome: Outcome) -> dict:
    """Mauchly's test and the epsilons of every effect with a within part of more than
    one df: ``{effect index (1-based): SphericityTest}`` (model order).

    As car and afex, from the subject-by-cell table and the between-subject model
    (intercept, between effects and covariates); an effect crossed with between factors
    has the sphericity of its within part. Where the residual covariance of the
    contrasts is singular (fewer subjects than contrasts, no variance) the tests are
    NaN, silently: the permutation test does not need them.
    """
    design = bases.design
    if not design.repeated:
        return {}
    prepared, positions = bases.once(("sphericity",), lambda: _sphericity_design(bases))
    y = outcome.scaled[design.row_order].reshape(design.n_subjects, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tests = _sphericity.tests(y, prepared)
    return {i: tests[p] for i, p in positions.items() if p in tests}


def within_positions(design) -> dict[int, tuple[int, ...]]:
    """``{effect index (1-based): positions of its within factors in design.within}``:
    the within part whose sphericity an effect has."""
    return {
        i: tuple(
            design.within.index(f) for f in design.effect_factors[i - 1] if f in design.within
        )
        for i in range(1, len(design.effects) + 1)
    }


def _sphericity_design(bases: Bases):
    """The design's part of the sphericity tests, and each effect's within part."""
    design = bases.design
    n_cells = int(np.prod(design.table_shape[1:]))
    first_rows = design.row_order[::n_cells]
    between = np.isin(design.assign, bases.stratum_effects(0))
    positions = within_positions(design)
    parts = [p for p in dict.fromkeys(positions.values()) if p]
    prepared = _sphericity.prepare(
        design.table_shape[1:],
        None,
        parts,
        design.X[first_rows][:, between],
        (design.n_subjects, n_cells),
    )
    return prepared, positions


def corrected_columns(table: dict, tests: dict) -> dict:
    """``p_parametric_gg`` and ``p_parametric_hf`` (model order): the parametric p with
    both df times ``min(1, epsilon)``; the uncorrected p where no correction applies."""
    p = np.asarray(table["p_parametric"], dtype=float)
    out = {"p_parametric_gg": p.copy(), "p_parametric_hf": p.copy()}
    for i, test in tests.items():
        args = (table["F"][i - 1], table["df"][i - 1], table["df_error"][i - 1])
        out["p_parametric_gg"][i - 1] = _sphericity.corrected_pvalues(*args, test.epsilon_gg)
        out["p_parametric_hf"][i - 1] = _sphericity.corrected_pvalues(*args, test.epsilon_hf)
    return out
