"""The parametric ANOVA table of one outcome: df, sums of squares, F and parametric p."""

from __future__ import annotations

import numpy as np
from scipy import special

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
    within_cells = outcome.scaled - cell_means(outcome.scaled, design.cells)
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
