"""Checks of the data frame, the column roles and the design; the arguments of
:func:`permanova.aovperm` (the scalar checks are in :mod:`permanova._arguments`).

Message pattern: ``"`n_resamples` must be a positive integer; got -3."``. ``TypeError`` for
types, ``ValueError`` for values. The input frame is only read.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from permanova._arguments import (
    as_name_list,
    check_alternative,
    check_backend,
    check_bool,
    check_exact,
    check_label,
    check_method,
    check_n_jobs,
    check_positive_int,
    check_random_state,
)


@dataclass(frozen=True)
class Columns:
    """Validated columns of the frame, as arrays in row order.

    Factors are keyed by ``str(label)`` (the effect names of the table); messages about a
    column use the user's label.
    """

    y: np.ndarray  # (n, n_outcomes)
    codes: dict
    n_levels: dict
    levels: dict
    between: list
    within: list
    subject_codes: np.ndarray | None
    subject_levels: object
    outcomes: tuple = ()  # the outcome labels
    several: bool = False  # `dv` was a list (the result has an outcome level)
    covariates: dict = field(default_factory=dict)  # name -> float values (formulas)
    full_factorial: bool = True  # the model is the full factorial of the factors
    replicated: bool = False  # some subject has several observations in a within cell


def _show_rows(index, mask, limit=5) -> str:
    rows = _plain(index[np.asarray(mask)][:limit])
    more = int(np.count_nonzero(mask)) - len(rows)
    text = ", ".join(repr(r) for r in rows)
    return f"[{text}{', ...' if more > 0 else ''}]"


def _plain(values) -> list:
    """Python scalars for messages (``1`` rather than ``np.int64(1)``)."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def check_frame(data) -> pd.DataFrame:
    """A non-empty DataFrame with one level of column labels."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame in long format; got {type(data)!r}.")
    if isinstance(data.columns, pd.MultiIndex):
        raise ValueError(
            f"`data` has MultiIndex columns ({data.columns.nlevels} levels, e.g. "
            f"{data.columns[0]!r}); give a frame with one level of column labels, e.g. "
            "data.set_axis(['_'.join(map(str, c)) for c in data.columns], axis=1)."
        )
    if data.shape[0] == 0:
        raise ValueError("`data` has no rows.")
    return data


def check_columns(data: pd.DataFrame, roles: dict) -> None:
    """Every named column exists exactly once; no column plays two roles."""
    missing = []
    seen: dict = {}
    for role, names in roles.items():
        for name in names:
            if name not in data.columns:
                missing.append(f"{name!r} (`{role}`)")
            if name in seen and seen[name] != role:
                raise ValueError(f"column {name!r} is given as both `{seen[name]}` and `{role}`.")
            seen[name] = role
    if missing:
        raise ValueError(
            f"columns not found in `data`: {', '.join(missing)}; available columns: "
            f"{list(data.columns)[:20]!r}."
        )
    duplicated = set(data.columns[data.columns.duplicated()])
    repeated = [f"{name!r} (`{role}`)" for name, role in seen.items() if name in duplicated]
    if repeated:
        raise ValueError(
            f"`data` has several columns labelled {', '.join(repeated)}; column labels must "
            "be unique (rename or drop the duplicates, e.g. after pd.concat(axis=1))."
        )


def _factor_codes(column: pd.Series):
    """Integer codes and levels of a factor column (categories order, else sorted)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.cat.remove_unused_categories()
        levels = list(cat.cat.categories)
        codes = cat.cat.codes.to_numpy()
    else:
        values = column.to_numpy()
        try:  # sorted levels, as R's factor()
            levels, codes = np.unique(values, return_inverse=True)
        except TypeError:  # values that cannot be ordered: order of appearance
            codes, levels = pd.factorize(values)
    return np.asarray(codes, dtype=np.intp).reshape(-1), _plain(levels)


_REAL_KINDS = ("integer", "floating", "mixed-integer-float", "empty")


def outcome_values(data: pd.DataFrame, dv) -> np.ndarray:
    """The ``dv`` column as finite float64 values (messages name the rows by label)."""
    column = data[dv]
    dtype = column.dtype
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if pd.api.types.is_complex_dtype(dtype) or kind == "complex":
        raise TypeError(
            f"`dv` column {dv!r} must be real; got complex values (dtype {dtype}), whose "
            "imaginary part cannot be analysed."
        )
    if pd.api.types.is_bool_dtype(dtype) or kind == "boolean":
        raise TypeError(
            f"`dv` column {dv!r} must be numeric; got booleans (dtype {dtype}); convert "
            "them with .astype(float) if 0/1 scores are meant."
        )
    numeric = pd.api.types.is_numeric_dtype(dtype)
    if not numeric and not (pd.api.types.is_object_dtype(dtype) and kind in _REAL_KINDS):
        hint = ""
        if kind == "string":
            hint = " holding text; convert numbers stored as text with pd.to_numeric"
        raise TypeError(f"`dv` column {dv!r} must be numeric; got dtype {dtype}{hint}.")
    try:
        y = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (OverflowError, TypeError, ValueError) as error:
        raise TypeError(f"`dv` column {dv!r} must hold real numbers; {error}.") from None
    if np.isnan(y).any():
        raise ValueError(
            f"`dv` column {dv!r} has missing values in rows {_show_rows(data.index, np.isnan(y))}."
        )
    if not np.isfinite(y).all():
        raise ValueError(
            f"`dv` column {dv!r} has infinite values in rows "
            f"{_show_rows(data.index, ~np.isfinite(y))}."
        )
    return y


def _check_effect_names(factors: list) -> None:
    """Effects are named by ``str(label)``: two labels must not give the same name."""
    names: dict = {}
    for label in factors:
        other = names.setdefault(str(label), label)
        if other is not label and other != label:
            raise ValueError(
                f"factor columns {other!r} and {label!r} would both be named {str(label)!r} "
                "in the table; rename one of them."
            )


def _subject_codes(data: pd.DataFrame, subject):
    """``(codes, levels)`` of the subject column (``(None, None)`` without one)."""
    if subject is None:
        return None, None
    na = data[subject].isna().to_numpy()
    if na.any():
        raise ValueError(
            f"`subject` column {subject!r} has missing values in rows "
            f"{_show_rows(data.index, na)}."
        )
    return _factor_codes(data[subject])


def outcome_names(dv) -> tuple[list, bool]:
    """``(labels, several)``: ``dv`` as a list of outcome labels, and whether it was a list."""
    if isinstance(dv, (list, tuple, pd.Index, np.ndarray)):
        labels = as_name_list(dv, "dv")
        if not labels:
            raise ValueError("`dv` must name at least one outcome column; got an empty list.")
        return labels, True
    return [check_label(dv, "dv")], False


def check_data(
    data,
    dv,
    subject,
    between,
    within,
    covariates: dict | None = None,
    full_factorial=True,
    replicates=False,
) -> Columns:
    """Validate the frame and the column roles; return arrays (the frame is not modified).

    ``covariates`` (formulas only) maps covariate names to their float values, already
    checked by the formula parser; ``full_factorial`` says whether the model is the full
    factorial of the factors (otherwise empty between cells are left to the rank check
    of the model matrix).
    """
    data = check_frame(data)
    outcomes, several = outcome_names(dv)
    if subject is not None:
        check_label(subject, "subject")
    between = as_name_list(between, "between")
    within = as_name_list(within, "within")
    if not between and not within and not covariates:
        raise ValueError("give at least one factor in `between` or `within`.")
    if within and subject is None:
        raise ValueError(
            "`subject` is required when `within` is given (it identifies the repeated measures)."
        )
    roles = {"dv": outcomes, "between": between, "within": within}
    if subject is not None:
        roles["subject"] = [subject]
    check_columns(data, roles)
    _check_effect_names(between + within)
    y = np.stack([outcome_values(data, name) for name in outcomes], axis=1)

    codes, n_levels, levels = {}, {}, {}
    for role, names in (("between", between), ("within", within)):
        for name in names:
            na = data[name].isna().to_numpy()
            if na.any():
                raise ValueError(
                    f"`{role}` factor {name!r} has missing values in rows "
                    f"{_show_rows(data.index, na)}."
                )
            key = str(name)
            codes[key], levels[key] = _factor_codes(data[name])
            n_levels[key] = len(levels[key])
            if n_levels[key] < 2:
                raise ValueError(
                    f"`{role}` factor {name!r} must have at least 2 levels; got {levels[key]!r}."
                )

    subject_codes, subject_levels = _subject_codes(data, subject)

    between, within = [str(f) for f in between], [str(f) for f in within]
    cols = Columns(
        y,
        codes,
        n_levels,
        levels,
        between,
        within,
        subject_codes,
        subject_levels,
        tuple(outcomes),
        several,
        dict(covariates or {}),
        full_factorial,
    )
    replicated = _check_structure(cols, subject, replicates)
    return dataclasses.replace(cols, replicated=replicated)


def _check_structure(cols: Columns, subject, replicates: bool = False) -> bool:
    """Check the design; return whether some subject has replicates in a within cell
    (allowed with ``replicates`` only)."""
    n = cols.y.shape[0]
    # every between cell observed
    if cols.between and cols.full_factorial:
        cell = _cell_index(cols, cols.between)
        n_cells = int(np.prod([cols.n_levels[f] for f in cols.between]))
        observed = np.unique(cell).size
        if observed < n_cells:
            raise ValueError(
                f"every combination of the `between` factors {cols.between} must be observed; "
                f"{n_cells - observed} of {n_cells} cells are empty."
            )
    if cols.subject_codes is None:
        return False
    subj = cols.subject_codes
    n_subjects = int(subj.max()) + 1
    if not cols.within:
        counts = np.bincount(subj, minlength=n_subjects)
        if (counts > 1).any():
            bad = _plain(cols.subject_levels[i] for i in np.flatnonzero(counts > 1)[:5])
            raise ValueError(
                f"subjects {bad!r} have several rows but no `within` factor was given; "
                "name the repeated-measures factor in `within`."
            )
        return False
    # a subject belongs to one between group
    if cols.between:
        cell = _cell_index(cols, cols.between)
        pairs = np.unique(subj.astype(np.int64) * (cell.max() + 1) + cell)
        groups_per_subject = np.bincount(pairs // (cell.max() + 1), minlength=n_subjects)
        if (groups_per_subject > 1).any():
            rows = np.flatnonzero(groups_per_subject > 1)[:5]
            bad = _plain(cols.subject_levels[i] for i in rows)
            raise ValueError(
                f"subjects {bad!r} appear in more than one group of the `between` factors "
                f"{cols.between}; a subject must belong to exactly one between group."
            )
    for name, values in cols.covariates.items():
        first = np.full(n_subjects, np.nan)
        first[subj[::-1]] = values[::-1]  # the first value of each subject
        varies = np.flatnonzero(values != first[subj])
        if varies.size:
            bad = _plain(cols.subject_levels[i] for i in np.unique(subj[varies])[:5])
            raise ValueError(
                f"covariate {name!r} varies within subjects {bad!r}; in an Error() model a "
                "covariate must be constant within each subject (a between-subject covariate)."
            )
    # exactly one observation per subject and within cell
    wcell = _cell_index(cols, cols.within)
    n_wcells = int(np.prod([cols.n_levels[f] for f in cols.within]))
    table = np.zeros((n_subjects, n_wcells), dtype=np.int64)
    np.add.at(table, (subj, wcell), 1)
    missing = (table == 0).any(axis=1)
    repeated = (table > 1).any(axis=1)
    if missing.any():
        bad = _plain(cols.subject_levels[i] for i in np.flatnonzero(missing)[:5])
        raise ValueError(
            f"subjects {bad!r} miss at least one cell of the `within` factors {cols.within}; "
            "each subject needs exactly one observation per within cell."
        )
    if repeated.any() and not replicates:
        bad = _plain(cols.subject_levels[i] for i in np.flatnonzero(repeated)[:5])
        raise ValueError(
            f"subjects {bad!r} have more than one observation in a cell of the `within` "
            f"factors {cols.within}; each subject needs exactly one observation per within "
            "cell (average replicates first, or use method='rd_replic_kheradpajouh_renaud')."
        )
    if n_subjects < 2:
        raise ValueError(f"`subject` column {subject!r} must hold at least 2 subjects.")
    del n
    return bool(repeated.any())


def _cell_index(cols: Columns, factors) -> np.ndarray:
    cell = np.zeros(cols.y.shape[0], dtype=np.int64)
    for f in factors:
        cell = cell * cols.n_levels[f] + cols.codes[f]
    return cell


def _formula_columns(data, formula, subject, between, within, replicates) -> Columns:
    """The columns of a parsed formula (``permanova._formula.Formula``); the keyword
    roles must then be left out."""
    given = [
        name
        for name, value in (("subject", subject), ("between", between), ("within", within))
        if value is not None
    ]
    if given:
        raise ValueError(
            f"with a formula, give the factors in it (Error(subject/within) for repeated "
            f"measures), not as keywords; got {given} as well."
        )
    if not formula.intercept:
        raise ValueError(
            f"`dv` formula {formula.formula!r} removes the intercept; the ANOVA tests each "
            "effect against a model with an intercept (remove the - 1 or + 0)."
        )
    if not formula.terms:
        raise ValueError(f"`dv` formula {formula.formula!r} has no term to test.")
    factors = list(formula.between) + list(formula.within)
    full = not formula.covariates and {frozenset(t) for t in formula.terms} == {
        frozenset(t)
        for order in range(1, len(factors) + 1)
        for t in itertools.combinations(factors, order)
    }
    terms = {frozenset(t) for t in formula.terms}
    missing = [
        ":".join(combo)
        for order in range(1, len(formula.within) + 1)
        for combo in itertools.combinations(formula.within, order)
        if frozenset(combo) not in terms
    ]
    if missing:
        raise ValueError(
            f"`dv` formula {formula.formula!r}: the fixed part must hold every combination "
            f"of the Error() within factors (each is an error stratum); missing {missing}."
        )
    covariates = {name: data[name].to_numpy(dtype=np.float64) for name in formula.covariates}
    return check_data(
        data,
        formula.outcome,
        formula.subject,
        list(formula.between),
        list(formula.within),
        covariates,
        full,
        replicates,
    )


def check_observed(observed, variables: list) -> tuple:
    """The measured (not manipulated) variables of the generalized eta squared."""
    names = [str(name) for name in as_name_list(observed, "observed")]
    unknown = [name for name in names if name not in variables]
    if unknown:
        raise ValueError(
            f"`observed` must name variables of the design {variables}; got {unknown}."
        )
    return tuple(names)


@dataclass(frozen=True)
class AovPermArgs:
    """Normalised arguments of :func:`permanova.aovperm`."""

    columns: Columns
    method: str
    n_resamples: int
    exact: object
    alternative: str
    return_null: bool
    progress: bool
    batch_size: int | None
    rng: np.random.Generator
    n_jobs: int | None = None
    use_dask: bool = False
    client: object = None
    observed: tuple = ()
    signflip: bool = False


def aovperm_iv(
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
    n_jobs=None,
    backend=None,
    observed=None,
    formula=None,
    permutation_type="permutation",
) -> AovPermArgs:
    """Check every argument of ``aovperm`` (scalars first, then the frame)."""
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    if permutation_type not in ("permutation", "signflip"):
        raise ValueError(
            f"`permutation_type` must be 'permutation' or 'signflip'; got {permutation_type!r}."
        )
    n_jobs = check_n_jobs(n_jobs)
    use_dask, client = check_backend(backend)
    exact = check_exact(exact)
    alternative = check_alternative(alternative)
    return_null = check_bool(return_null, "return_null")
    progress = check_bool(progress, "progress")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if permutations is not None and exact is True:
        raise ValueError("`exact=True` cannot be combined with user-given `permutations`.")
    repeated = (
        bool(formula.within) if formula is not None else bool(as_name_list(within, "within"))
    )
    method = check_method(method, repeated=repeated)
    if rotation is not None and method != "huh_jhun":
        raise ValueError(f"`rotation` applies to method 'huh_jhun' only; got method {method!r}.")
    rng = check_random_state(random_state)
    replicates = method == "rd_replic_kheradpajouh_renaud"
    if formula is None:
        columns = check_data(data, dv, subject, between, within, replicates=replicates)
    else:
        columns = _formula_columns(data, formula, subject, between, within, replicates)
    if columns.replicated and permutation_type == "signflip":
        raise ValueError(
            "`permutation_type='signflip'` is not available for replicated within cells; "
            "use permutations."
        )
    observed = check_observed(
        observed, columns.between + columns.within + list(columns.covariates)
    )
    return AovPermArgs(
        columns,
        method,
        n_resamples,
        exact,
        alternative,
        return_null,
        progress,
        batch_size,
        rng,
        n_jobs,
        use_dask,
        client,
        observed,
        permutation_type == "signflip",
    )
