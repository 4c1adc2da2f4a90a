"""The result table of a run: per outcome and effect the parametric columns, the
permutation p-value, the effect sizes and the sphericity corrections."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from permanova._design import Design
from permanova._replic import replic_sphericity, replic_strata_error
from permanova._sphericity import SphericityTest
from permanova._table import (
    corrected_columns,
    effect_sizes,
    resolve_exactly,
    sphericity_tests,
    strata_error,
)
from permanova.results import TABLE_COLUMNS

#: Effect sizes in every table; the sphericity-corrected parametric p of repeated designs.
EFFECT_SIZE_COLUMNS = ("eta2_partial", "eta2_generalized")


CORRECTED_COLUMNS = ["p_parametric_gg", "p_parametric_hf"]


SPHERICITY_COLUMNS = list(SphericityTest._fields)


def outcome_columns(
    method, bases, outcome, table, observed, counts, source, measured, replicated_cells=None
) -> dict:
    """The result columns of one outcome (rows in the design's table order), and its
    sphericity tests under ``"sphericity"``. ``replicated_cells``: each row's within cell
    when some subject has replicates (the table is then of the full data, the statistics
    of the subject-cell means)."""
    design = bases.design
    replicated = replicated_cells is not None
    # with replicates the exact statistic is of the means, not of the table's sums
    resolved = resolve_exactly(None if replicated else method, table, observed)
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
    if replicated:
        errors = replic_strata_error(design, replicated_cells, outcome)
        tests = replic_sphericity(design, replicated_cells, outcome)
    else:
        errors = strata_error(bases, outcome, table)
        tests = sphericity_tests(bases, outcome)
    extra = dict(effect_sizes(design, table, errors, measured))
    if design.repeated:
        extra.update(corrected_columns(table, tests))
    columns.update({key: np.asarray(values)[order] for key, values in extra.items()})
    columns["sphericity"] = {
        design.effects[i - 1]: tests[i] for i in design.table_order() if i in tests
    }
    return columns


def sphericity_frame(design: Design, tests: list, outcomes: tuple, several: bool):
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


def result_frames(design: Design, columns: list, outcomes: tuple, several: bool):
    """``(table, sphericity)`` of a run from the columns of each outcome: the table indexed
    by effect (``(outcome, effect)`` with several outcomes), the sphericity frame or None."""
    effects = [design.effects[i - 1] for i in design.table_order()]
    names = [*TABLE_COLUMNS, *EFFECT_SIZE_COLUMNS]
    if design.repeated:
        names += CORRECTED_COLUMNS
    stacked = {key: np.concatenate([c[key] for c in columns]) for key in names}
    if several:
        index = pd.MultiIndex.from_product([list(outcomes), effects], names=["outcome", "effect"])
    else:
        index = pd.Index(effects, name="effect")
    sphericity = None
    if design.repeated:
        sphericity = sphericity_frame(
            design, [c["sphericity"] for c in columns], outcomes, several
        )
    return pd.DataFrame(stacked, index=index), sphericity
