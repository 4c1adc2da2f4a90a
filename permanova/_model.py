"""The design of a call: from the keyword roles or from a formula, with the checks that
need the design (rank, error degrees of freedom) and ``missing="drop_subjects"``."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd

from permanova import _arguments, _formula, _model_matrix, _validation
from permanova._bases import Bases
from permanova._design import Design, build_design
from permanova._validation import _plain, _subject_codes, check_columns


def without_incomplete(data, dv, subject, within):
    """``missing="drop_subjects"``: the data without the subjects that miss an outcome or
    a within cell, and their labels (with a warning that counts them)."""
    data = _validation.check_frame(data)
    if is_formula(dv):
        lhs = dv.split("~", 1)[0].strip().strip("`")
        rows = data.dropna(subset=[lhs]) if lhs in data.columns else data
        parsed = _formula.parse_formula(dv, rows)
        outcomes, subject, within = [parsed.outcome], parsed.subject, list(parsed.within)
    else:
        outcomes = _validation.outcome_names(dv)[0]
        within = _arguments.as_name_list(within, "within")
    kept, dropped = drop_incomplete(data, outcomes, subject, within)
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


def is_formula(dv) -> bool:
    return isinstance(dv, str) and "~" in dv


def design_of(cols: _validation.Columns, formula, data: pd.DataFrame, rows: np.ndarray):
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
    matrix = _model_matrix.model_matrix(formula, data.iloc[rows], coding="sum")
    model = (np.array(matrix.X), matrix.assign, matrix.term_labels, formula.terms)
    return build_design(*args, model=model)


def check_rank(design: Design, bases: Bases) -> None:
    """A formula's model matrix must have full column rank."""
    rank, width = bases.full().shape[1], design.X.shape[1]
    if rank < width:
        raise ValueError(
            f"the model matrix has rank {rank} for {width} columns: some terms are aliased "
            "(empty cells of the factors they combine, or collinear covariates); drop or "
            "merge them."
        )


def check_error_df(design: Design, bases: Bases, table: dict) -> None:
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


def drop_incomplete(data: pd.DataFrame, outcomes: list, subject, within: list):
    """``(data without the incomplete subjects, their labels)`` for
    ``missing="drop_subjects"``.

    A subject is incomplete when an outcome is missing in one of its rows or when it
    lacks a cell of the within factors (the cells of the whole data); without ``within``
    each row is a subject. Only the outcome may be missing: a missing factor or subject
    label stays an error.
    """
    check_columns(data, {"dv": outcomes, "subject": [] if subject is None else [subject]})
    missing = data[outcomes].isna().any(axis=1).to_numpy()
    if subject is None or not within:
        return data.loc[~missing], tuple(_plain(data.index[missing]))
    check_columns(data, {"within": within})
    labels = data[subject]
    if labels.isna().any():
        _subject_codes(data, subject)  # the error naming the rows
    cells = data[within].astype("object").apply(tuple, axis=1)
    complete = data.loc[~missing].assign(_cell=cells[~missing]).groupby(subject)["_cell"].nunique()
    n_cells = cells.nunique()
    bad = set(labels[missing]) | set(complete.index[complete < n_cells])
    bad |= set(labels) - set(complete.index)
    dropped = labels.isin(bad).to_numpy()
    return data.loc[~dropped], tuple(_plain(pd.unique(labels[dropped])))
