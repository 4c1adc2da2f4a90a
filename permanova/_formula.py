"""R model formulas: terms, ``Error()`` strata and model matrices with R's coding rule.

formulaic parses the formula (its grammar and term order are R's); ``Error()`` and
``C()`` are read here from its parse, and no part of a formula is ever evaluated. The model
matrix is built here: formulaic's materializer does not follow R's rule for coding a
factor by contrasts or indicators (Chambers and Hastie 1992, p. 38; ``y ~ A:B`` differs).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from types import MappingProxyType

import formulaic
import numpy as np
import pandas as pd
from formulaic.errors import FormulaicError
from formulaic.parser import DefaultFormulaParser
from formulaic.parser.types import Token

from permanova._validation import _show_rows, check_frame

_FACTOR_CALL = re.compile(r"^(?:C|factor)\(\s*(?:`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*))\s*\)$")
_ERROR_CALL = re.compile(r"^Error\((.*)\)$", re.DOTALL)
_ERROR_SHAPES = "Error(subject), Error(subject/within) or Error(subject/(within1*within2))"
_ACCEPTED = (
    "accepted: column names, C(name) to take a column as a factor, the operators "
    f"+ - * : / ^ and parentheses, 0 or 1 for the intercept, and one {_ERROR_SHAPES} term"
)
_REJECTED_OPERATORS = {
    "|": "several model parts (|)",
    "in": "%in% (write A:B, or B/A for A nested in B)",
    ".": "the dot (.) for all columns (name the columns)",
}
_NUMERIC_KINDS = ("integer", "floating", "mixed-integer-float")


@dataclass(frozen=True)
class Formula:
    """A parsed R model formula (from :func:`parse_formula`).

    Attributes
    ----------
    formula, outcome : str
        The formula as given; the outcome column (left of ``~``).
    terms : tuple of tuple of str
        The terms of the fixed part in R's order (``attr(terms(f), "term.labels")``: by
        degree, then by order of appearance), each listing its variables in the order of
        their first appearance in the formula.
    term_labels : tuple of str
        The terms as R prints them: ``"A"``, ``"A:B"`` (a ``C(x)`` term is labelled ``"x"``).
    factors : tuple of str
        Variables taken as factors: text, boolean and categorical columns, and ``C(x)``.
    covariates : tuple of str
        Numeric columns not wrapped in ``C()``: they enter the model as given.
    intercept : bool
        False when the formula removes it (``- 1``, ``+ 0``).
    subject, within : str or None, tuple of str
        The subject column and the within factors (in the order of :attr:`factors`) of
        ``Error(subject/within)``; ``None, ()`` without ``Error()``.
    levels : mapping of str to tuple
        The levels of each factor in R's order: a Categorical's categories (unused ones
        dropped), otherwise sorted (booleans ``FALSE < TRUE``, numbers by value, text by
        code point).
    """

    formula: str
    outcome: str
    terms: tuple
    term_labels: tuple
    factors: tuple
    covariates: tuple
    intercept: bool
    subject: str | None = None
    within: tuple = ()
    levels: Mapping = field(default_factory=dict, repr=False, compare=False)

    @property
    def variables(self) -> tuple:
        """Every variable of the fixed part, in order of first appearance."""
        return tuple(dict.fromkeys(v for term in self.terms for v in term))

    @property
    def between(self) -> tuple:
        """The factors that are not within-subject factors."""
        return tuple(f for f in self.factors if f not in self.within)


def parse_formula(formula: str, data: pd.DataFrame) -> Formula:
    """Parse an R model formula against the columns of ``data``.

    Parameters
    ----------
    formula : str
        ``"outcome ~ terms"`` with ``+ - * : / ^``, parentheses and at most one
        ``Error()`` term: ``"y ~ A + A:B"``, ``"y ~ (A + B + C)^2 - A:B"``, ``"y ~ 0 + A"``,
        ``"y ~ cond * time + Error(subject/(cond * time))"``; ``"y ~ `dose level`"``.
    data : pandas.DataFrame
        The data in long format (one row per observation). It is not modified.

    Returns
    -------
    Formula
        The outcome, the terms in R's order, the factors, covariates and strata.

    Raises
    ------
    ValueError
        For a malformed formula, functions other than ``C()``, unknown columns, a
        non-numeric outcome, another ``Error()`` shape, a factor of one level, or missing
        values in the columns used (R would drop those rows: drop them first).

    Notes
    -----
    As in R, a numeric column is a covariate whatever the number of distinct values it
    takes (a dose coded 1, 2, 3 is one slope, not three groups): write ``C(dose)`` (or
    ``factor(dose)``) to take it as a factor. Text, boolean and categorical columns are
    factors. Transforms (``log(x)``) are rejected, never evaluated: add the column to the
    frame. An ordered Categorical is coded as an unordered one. Text levels are sorted by
    code point, as R in the C locale (a Categorical fixes another order).

    Examples
    --------
    >>> import pandas as pd
    >>> from permanova._formula import parse_formula
    >>> data = pd.DataFrame({"y": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0],
    ...                      "group": list("aabbaabb"), "x": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                      "id": [1, 1, 2, 2, 3, 3, 4, 4], "time": list("pqpqpqpq")})
    >>> f = parse_formula("y ~ x * group", data)
    >>> f.term_labels, f.factors, f.covariates
    (('x', 'group', 'x:group'), ('group',), ('x',))
    >>> f = parse_formula("y ~ group * time + Error(id/time)", data)
    >>> f.subject, f.within, f.between
    ('id', ('time',), ('group',))
    >>> parse_formula("y ~ C(x)", data).factors
    ('x',)
    """
    if not isinstance(formula, str):
        raise TypeError(f"`formula` must be a string such as 'y ~ A * B'; got {formula!r}.")
    data = check_frame(data)
    outcome, raw_terms, intercept, error_inner, order = _structure(formula)
    forced = {name for term in raw_terms for name, is_forced in term if is_forced}
    plain = {name for term in raw_terms for name, is_forced in term if not is_forced}
    if forced & plain:
        name = sorted(forced & plain)[0]
        raise _formula_error(formula, f"uses {name!r} both bare and as C({name})", "use one")
    variables = [v for v in order if v in forced | plain]
    rank = {v: i for i, v in enumerate(variables)}
    terms = tuple(  # variables in R's order; C(x) and factor(x) make one term
        dict.fromkeys(tuple(sorted({n for n, _ in t}, key=rank.get)) for t in raw_terms)
    )
    subject, within = (None, ()) if error_inner is None else _error_strata(error_inner, formula)
    _check_columns(formula, data, [outcome, *variables] + ([subject] if subject else []))
    values = _read_variables(formula, data, variables, forced)
    levels = {name: value[1] for name, value in values.items() if isinstance(value, tuple)}
    factors = tuple(levels)
    _check_roles(formula, outcome, variables, factors, subject, within)
    _numeric(data[outcome], f"the outcome {outcome!r}", formula, outcome=True)
    return Formula(
        formula=formula,
        outcome=outcome,
        terms=terms,
        term_labels=tuple(":".join(term) for term in terms),
        factors=factors,
        covariates=tuple(v for v in variables if v not in levels),
        intercept=intercept,
        subject=subject,
        within=tuple(f for f in factors if f in within),
        levels=MappingProxyType(levels),
    )


def _formula_error(formula: str, problem: str, accepted: str = _ACCEPTED) -> ValueError:
    return ValueError(f"`formula` {formula!r} {problem}{'; ' + accepted if accepted else ''}.")


def _parse(text: str, formula: str, tokens: bool = False):
    """formulaic's tokens or parse of ``text`` (no part of it is evaluated)."""
    try:
        if tokens:
            return list(DefaultFormulaParser().get_tokens(text))
        return formulaic.Formula(text)
    except (FormulaicError, SyntaxError) as error:  # formulaic reads C(...) as Python
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        if isinstance(error, SyntaxError):
            reason = f"invalid syntax in {str(error.text).strip()!r}"
        raise _formula_error(formula, f"is not a valid formula: {reason}") from None


def _structure(formula: str):
    """``(outcome, terms, intercept, error, order)``; terms as ``(name, forced)`` lists."""
    tokens = _parse(formula, formula, tokens=True)
    operators = [t.token for t in tokens if t.kind is Token.Kind.OPERATOR]
    if operators.count("~") != 1:
        raise _formula_error(formula, "must be 'outcome ~ terms', with one '~'")
    for symbol, what in _REJECTED_OPERATORS.items():
        if symbol in operators:
            raise _formula_error(formula, f"uses {what}, which is not supported")
    parsed = _parse(formula, formula)
    lhs = list(parsed.lhs) if hasattr(parsed, "lhs") else []
    outcome = lhs[0].factors if len(lhs) == 1 else ()
    if len(outcome) != 1 or outcome[0].eval_method.value != "lookup":
        raise _formula_error(
            formula, "must have one outcome column left of '~'", "compute it in `data` first"
        )
    intercept, terms, errors = False, [], []
    for term in parsed.rhs:
        if all(f.eval_method.value == "literal" and f.expr == "1" for f in term.factors):
            intercept = True
            continue
        variables = [_variable(f, formula) for f in term.factors]
        found = [inner for name, inner in variables if name is None]
        if found and len(variables) > 1:
            raise _formula_error(formula, f"uses Error() in {term}: add it as a term of its own")
        errors.extend(found)
        if not found:
            terms.append(variables)
    if len(errors) > 1:
        raise _formula_error(formula, "has several Error() terms")
    if not errors and re.search(r"\bError\s*\(", formula):
        raise _formula_error(formula, "removes Error(): add it as a term of its own")
    error = errors[0] if errors else None
    return str(outcome[0].expr), terms, intercept, error, _variable_order(tokens)


def _factor_call(expr: str) -> str | None:
    """The column of ``C(name)`` or ``factor(name)``, else None."""
    call = _FACTOR_CALL.match(expr)
    return (call.group(1) or call.group(2)) if call else None


def _variable(factor, formula: str) -> tuple:
    """``(name, forced_factor)`` of one formulaic factor, or ``(None, inner)`` for Error()."""
    expr = str(factor.expr)
    if factor.eval_method.value == "lookup":
        return expr, False
    if factor.eval_method.value == "python":
        if _ERROR_CALL.match(expr):
            return None, _ERROR_CALL.match(expr).group(1)
        if _factor_call(expr):
            return _factor_call(expr), True
        if re.match(r"^(C|factor)\(", expr):
            raise _formula_error(formula, f"uses {expr}", "C() takes one column name only")
    raise _formula_error(
        formula,
        f"uses {expr}, which is not supported",
        f"{_ACCEPTED}; compute transformed columns first, e.g. "
        "data.assign(log_x=np.log(data['x'])), and use their names",
    )


def _variable_order(tokens: list) -> list:
    """Variables of the right-hand side in order of first appearance (R's ``variables``)."""
    order = []
    for token in tokens[[t.token for t in tokens].index("~") + 1 :]:
        if token.kind is Token.Kind.NAME:
            order.append(str(token.token))
        elif token.kind is Token.Kind.PYTHON and _factor_call(str(token.token)):
            order.append(_factor_call(str(token.token)))
    return list(dict.fromkeys(order))


def _error_strata(inner: str, formula: str) -> tuple:
    """``(subject, within)`` of ``Error(subject/(a*b))``; other shapes are refused."""
    shape = f"uses Error({inner}), which is not supported"
    terms = [t for t in _parse(inner, formula) if str(t) != "1"]
    if any(f.eval_method.value != "lookup" for t in terms for f in t.factors):
        raise _formula_error(formula, shape, "Error() holds column names only")
    sets = [frozenset(str(f.expr) for f in t.factors) for t in terms]
    singles = [s for s in sets if len(s) == 1]
    subject = next(iter(singles[0])) if singles else None
    within = sorted(set().union(*sets) - {subject})
    combos = (c for k in range(len(within) + 1) for c in combinations(within, k))
    if subject is None or set(sets) != {frozenset({subject, *c}) for c in combos}:
        raise _formula_error(formula, shape, "accepted: " + _ERROR_SHAPES)
    return subject, tuple(within)


def _check_columns(formula: str, data: pd.DataFrame, names: list) -> None:
    """Every used column exists once and has no missing value (R would drop the rows)."""
    names = list(dict.fromkeys(names))
    missing = [repr(name) for name in names if name not in data.columns]
    if missing:
        raise ValueError(
            f"`formula` {formula!r} uses columns not in `data`: {', '.join(missing)}; "
            f"available columns: {list(data.columns)[:20]!r}."
        )
    duplicated = set(data.columns[data.columns.duplicated()])
    repeated = [repr(name) for name in names if name in duplicated]
    if repeated:
        raise ValueError(f"`data` has several columns labelled {', '.join(repeated)}.")
    gaps = [(name, data[name].isna().to_numpy()) for name in names]
    gaps = [f"{name!r} in rows {_show_rows(data.index, na)}" for name, na in gaps if na.any()]
    if gaps:
        raise ValueError(
            f"`formula` {formula!r} uses columns with missing values: {'; '.join(gaps)}. "
            "Drop or fill those rows first (e.g. data.dropna(subset=[...]))."
        )


def _check_roles(formula, outcome, variables, factors, subject, within) -> None:
    if outcome in variables or outcome == subject:
        raise _formula_error(formula, f"uses the outcome {outcome!r} right of '~' too", "")
    if subject is not None and subject in variables:
        raise _formula_error(formula, f"uses the subject {subject!r} in the fixed part", "")
    for name in within:
        if name not in factors:
            how = "which must also appear in the fixed part"
            if name in variables:
                how = f"which is a numeric covariate: write C({name}) in the fixed part"
            raise _formula_error(formula, f"has the within factor {name!r} in Error(), {how}", "")


def _is_factor(column: pd.Series, name: str, formula: str) -> bool:
    """R's rule: text, boolean and categorical columns are factors, numbers covariates."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        if kind in ("string", "boolean", *_NUMERIC_KINDS):
            return kind in ("string", "boolean")
        what = "values of mixed types" if kind.startswith("mixed") else f"{kind} values"
    elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return False
    else:
        what = f"values of dtype {dtype}"
    raise _formula_error(
        formula,
        f"uses column {name!r}, which holds {what}",
        f"a variable holds text, booleans or numbers: convert it, or write C({name}) to take "
        "its values as the levels of a factor",
    )


def _factor_codes(column: pd.Series, name: str, formula: str) -> tuple:
    """``(codes, levels)``: levels in R's order (categories, else sorted), unused dropped."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        cat = column.cat.remove_unused_categories()
        codes, levels = cat.cat.codes.to_numpy(), tuple(cat.cat.categories.tolist())
    else:
        try:
            found, codes = np.unique(column.to_numpy(), return_inverse=True)
        except TypeError:
            problem = f"uses factor {name!r}, whose values have types that cannot be sorted"
            raise _formula_error(formula, problem, "convert them, e.g. .astype(str)") from None
        levels = tuple(v.item() if isinstance(v, np.generic) else v for v in found)
    if len(levels) < 2:
        problem = f"uses factor {name!r}, which has {len(levels)} level ({levels[0]!r})"
        raise _formula_error(formula, problem, "a factor needs at least two levels")
    return np.asarray(codes, dtype=np.intp).reshape(-1), levels


def _numeric(column: pd.Series, what: str, formula: str, outcome: bool = False) -> np.ndarray:
    """A covariate or the outcome as finite floats (the outcome's dtype checked first)."""
    dtype = column.dtype
    types = pd.api.types
    if types.is_object_dtype(dtype):
        real = types.infer_dtype(column, skipna=True) in _NUMERIC_KINDS
    else:
        real = types.is_numeric_dtype(dtype) and not types.is_complex_dtype(dtype)
    if outcome and (not real or types.is_bool_dtype(dtype)):
        problem = f"needs {what} to be a numeric column (int or float); got dtype {dtype}"
        raise _formula_error(formula, problem, "convert it, e.g. with pd.to_numeric")
    values = column.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            f"`formula` {formula!r}: {what} has infinite values in rows "
            f"{_show_rows(column.index, ~np.isfinite(values))}."
        )
    return values


def _read_variables(formula: str, data: pd.DataFrame, variables, forced) -> dict:
    """Factor ``(codes, levels)`` or covariate values of each variable."""
    return {
        name: _factor_codes(data[name], name, formula)
        if name in forced or _is_factor(data[name], name, formula)
        else _numeric(data[name], f"covariate {name!r}", formula)
        for name in variables
    }
