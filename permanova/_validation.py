"""Checks of the data frame, the column roles, the design and the parameters.

Message pattern: ``"`n_resamples` must be a positive integer; got -3."``. ``TypeError`` for
types, ``ValueError`` for values. The input frame is only read.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from permanova._methods import ALIASES, BETWEEN_METHODS, WITHIN_METHODS


@dataclass(frozen=True)
class Columns:
    """Validated columns of the frame, as arrays in row order."""

    y: np.ndarray
    codes: dict
    n_levels: dict
    levels: dict
    between: list
    within: list
    subject_codes: np.ndarray | None
    subject_levels: object


def _show_rows(index, mask, limit=5) -> str:
    rows = _plain(index[np.asarray(mask)][:limit])
    more = int(np.count_nonzero(mask)) - len(rows)
    text = ", ".join(repr(r) for r in rows)
    return f"[{text}{', ...' if more > 0 else ''}]"


def _plain(values) -> list:
    """Python scalars for messages (``1`` rather than ``np.int64(1)``)."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def check_positive_int(value, name: str) -> int:
    """An integer >= 1 (integral floats such as ``1e4`` are accepted)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a positive integer; got {value!r}.")
    if not np.isfinite(value) or value != int(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return int(value)


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def as_name_list(value, name: str) -> list:
    """``None`` -> [], a column name -> [name], a list/tuple of names -> list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise ValueError(f"`{name}` lists a column more than once; got {list(value)!r}.")
        return list(value)
    raise TypeError(f"`{name}` must be a column name or a list of column names; got {value!r}.")


def check_frame(data) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame in long format; got {type(data)!r}.")
    if data.shape[0] == 0:
        raise ValueError("`data` has no rows.")
    return data


def check_columns(data: pd.DataFrame, roles: dict) -> None:
    """Every named column exists; no column plays two roles."""
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


def _factor_codes(column: pd.Series, role: str):
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


def check_data(data, dv, subject, between, within) -> Columns:
    """Validate the frame and the column roles; return arrays (the frame is not modified)."""
    data = check_frame(data)
    if not isinstance(dv, str):
        raise TypeError(f"`dv` must be a column name; got {dv!r}.")
    if subject is not None and not isinstance(subject, str):
        raise TypeError(f"`subject` must be a column name or None; got {subject!r}.")
    between = as_name_list(between, "between")
    within = as_name_list(within, "within")
    if not between and not within:
        raise ValueError("give at least one factor in `between` or `within`.")
    if within and subject is None:
        raise ValueError(
            "`subject` is required when `within` is given (it identifies the repeated measures)."
        )
    roles = {"dv": [dv], "between": between, "within": within}
    if subject is not None:
        roles["subject"] = [subject]
    check_columns(data, roles)

    outcome = data[dv]
    if (
        not pd.api.types.is_numeric_dtype(outcome.dtype)
        or pd.api.types.is_bool_dtype(outcome.dtype)
        or pd.api.types.is_complex_dtype(outcome.dtype)
    ):
        raise TypeError(f"`dv` column {dv!r} must be numeric; got dtype {outcome.dtype}.")
    y = outcome.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isnan(y).any():
        raise ValueError(
            f"`dv` column {dv!r} has missing values in rows {_show_rows(data.index, np.isnan(y))}."
        )
    if not np.isfinite(y).all():
        raise ValueError(
            f"`dv` column {dv!r} has infinite values in rows "
            f"{_show_rows(data.index, ~np.isfinite(y))}."
        )

    codes, n_levels, levels = {}, {}, {}
    for role, names in (("between", between), ("within", within)):
        for name in names:
            na = data[name].isna().to_numpy()
            if na.any():
                raise ValueError(
                    f"`{role}` factor {name!r} has missing values in rows "
                    f"{_show_rows(data.index, na)}."
                )
            codes[name], levels[name] = _factor_codes(data[name], role)
            n_levels[name] = len(levels[name])
            if n_levels[name] < 2:
                raise ValueError(
                    f"`{role}` factor {name!r} must have at least 2 levels; got {levels[name]!r}."
                )

    subject_codes, subject_levels = None, None
    if subject is not None:
        na = data[subject].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"`subject` column {subject!r} has missing values in rows "
                f"{_show_rows(data.index, na)}."
            )
        subject_codes, subject_levels = _factor_codes(data[subject], "subject")

    cols = Columns(y, codes, n_levels, levels, between, within, subject_codes, subject_levels)
    _check_structure(cols, subject)
    return cols


def _check_structure(cols: Columns, subject) -> None:
    n = cols.y.shape[0]
    # every between cell observed
    if cols.between:
        cell = _cell_index(cols, cols.between)
        n_cells = int(np.prod([cols.n_levels[f] for f in cols.between]))
        observed = np.unique(cell).size
        if observed < n_cells:
            raise ValueError(
                f"every combination of the `between` factors {cols.between} must be observed; "
                f"{n_cells - observed} of {n_cells} cells are empty."
            )
    if cols.subject_codes is None:
        return
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
        return
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
    if repeated.any():
        bad = _plain(cols.subject_levels[i] for i in np.flatnonzero(repeated)[:5])
        raise ValueError(
            f"subjects {bad!r} have more than one observation in a cell of the `within` "
            f"factors {cols.within}; each subject needs exactly one observation per within "
            "cell (average replicates first)."
        )
    if n_subjects < 2:
        raise ValueError(f"`subject` column {subject!r} must hold at least 2 subjects.")
    del n


def _cell_index(cols: Columns, factors) -> np.ndarray:
    cell = np.zeros(cols.y.shape[0], dtype=np.int64)
    for f in factors:
        cell = cell * cols.n_levels[f] + cols.codes[f]
    return cell


def check_method(method, repeated: bool) -> str:
    """Normalise a method name (case-insensitive; permuco's spellings accepted)."""
    valid = WITHIN_METHODS if repeated else BETWEEN_METHODS
    if method is None:
        return valid[0]
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string or None; got {method!r}.")
    name = ALIASES.get(method.lower(), method.lower())
    if name in valid:
        return name
    other = BETWEEN_METHODS if repeated else WITHIN_METHODS
    if name in other:
        kind = "with a within factor" if repeated else "without a within factor"
        raise ValueError(
            f"`method` {method!r} does not apply to designs {kind}; valid methods here: "
            f"{', '.join(valid)}."
        )
    raise ValueError(
        f"`method` must be one of {', '.join(BETWEEN_METHODS + WITHIN_METHODS)}; got {method!r}."
    )


def check_exact(exact):
    if isinstance(exact, str) and exact == "auto":
        return "auto"
    if isinstance(exact, (bool, np.bool_)):
        return bool(exact)
    raise ValueError(f'`exact` must be "auto", True or False; got {exact!r}.')


def check_alternative(alternative) -> str:
    """``"greater"``, ``"less"`` or ``"two-sided"`` (permuco's ``"two.sided"`` accepted)."""
    if alternative == "two.sided":
        alternative = "two-sided"
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(
            f'`alternative` must be "greater", "less" or "two-sided"; got {alternative!r}.'
        )
    return alternative


def check_random_state(random_state) -> np.random.Generator:
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as error:
        raise TypeError(
            "`random_state` must be None, an int, a numpy SeedSequence or Generator; "
            f"got {random_state!r} ({error})."
        ) from None


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
) -> AovPermArgs:
    """Check every argument of ``aovperm`` (scalars first, then the frame)."""
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    exact = check_exact(exact)
    alternative = check_alternative(alternative)
    return_null = check_bool(return_null, "return_null")
    progress = check_bool(progress, "progress")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if permutations is not None and exact is True:
        raise ValueError("`exact=True` cannot be combined with user-given `permutations`.")
    method = check_method(method, repeated=bool(as_name_list(within, "within")))
    if rotation is not None and method != "huh_jhun":
        raise ValueError(f"`rotation` applies to method 'huh_jhun' only; got method {method!r}.")
    rng = check_random_state(random_state)
    columns = check_data(data, dv, subject, between, within)
    return AovPermArgs(
        columns, method, n_resamples, exact, alternative, return_null, progress, batch_size, rng
    )
