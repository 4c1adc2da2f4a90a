"""R model formulas: terms, ``Error()`` strata and model matrices with R's coding rule.

formulaic parses the formula (its grammar and term order are R's: ``+``, ``*``, ``:``,
``/``, ``^``, ``-``, parentheses; terms sorted by degree, then by order of appearance).
``Error()`` and ``C()`` are read here from formulaic's parse, and no part of a formula is
ever evaluated as Python. The model matrix is built here as well: R codes a factor in a
term by contrasts or by indicators following the rule of Chambers and Heiberger
(Chambers and Hastie 1992, p. 38, as R's ``model.matrix`` implements it), which
formulaic's materializer does not follow (``y ~ A:B`` differs, for one).
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

from permanova._design import row_kronecker, sum_coding
from permanova._validation import _show_rows, check_frame

_FACTOR_CALL = re.compile(r"^(?:C|factor)\((.*)\)$", re.DOTALL)
_ERROR_CALL = re.compile(r"^Error\((.*)\)$", re.DOTALL)
_NAME = re.compile(r"^\s*(?:`([^`]+)`|([A-Za-z_.][A-Za-z0-9_.]*))\s*$")
_ACCEPTED = (
    "accepted: column names, C(name) to take a column as a factor, the operators "
    "+ - * : / ^ and parentheses, 0 or 1 for the intercept, and one Error(subject), "
    "Error(subject/within) or Error(subject/(within1*within2)) term"
)
_ERROR_SHAPES = "Error(subject), Error(subject/within) or Error(subject/(within1*within2))"
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
    formula : str
        The formula as given.
    outcome : str
        The outcome column (left of ``~``).
    terms : tuple of tuple of str
        The terms of the fixed part in R's order (``attr(terms(f), "term.labels")``: by
        degree, then by order of appearance); each term lists its variables in the order
        of their first appearance in the formula.
    term_labels : tuple of str
        The terms as R prints them: ``"A"``, ``"A:B"``. A ``C(x)`` term is labelled ``"x"``.
    factors : tuple of str
        Variables taken as factors: text, boolean and categorical columns, and ``C(x)``.
    covariates : tuple of str
        Numeric columns not wrapped in ``C()``: they enter the model as given.
    intercept : bool
        False when the formula removes it (``- 1``, ``+ 0``).
    subject : str or None
        The subject column of ``Error(subject/...)``, None without ``Error()``.
    within : tuple of str
        The within-subject factors of ``Error(subject/within)``, in the order of
        :attr:`factors`; empty for ``Error(subject)`` and without ``Error()``.
    levels : mapping of str to tuple
        The levels of each factor, in R's order (sorted as R's ``factor()``, booleans
        ``FALSE < TRUE``, a pandas Categorical's categories in their order, unused ones
        dropped).
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
        seen = dict.fromkeys(v for term in self.terms for v in term)
        return tuple(seen)

    @property
    def between(self) -> tuple:
        """The factors that are not within-subject factors."""
        return tuple(f for f in self.factors if f not in self.within)


@dataclass(frozen=True)
class ModelMatrix:
    """A model matrix as R's ``model.matrix`` builds it (from :func:`model_matrix`).

    Attributes
    ----------
    X : ndarray of shape (n, p)
        The columns: the intercept (if any), then one block per term.
    assign : ndarray of shape (p,)
        Term of each column: 0 for the intercept, ``i`` for ``term_labels[i - 1]``, as
        ``attr(X, "assign")``.
    term_labels : tuple of str
        The terms, as in :attr:`Formula.term_labels`.
    column_names : tuple of str
        As R names them: ``"(Intercept)"``, ``"groupb"`` (treatment coding), ``"group1"``
        (sum coding), ``"groupa"`` (indicators), ``"x"``, ``"groupb:x"``.
    coding : str
        ``"sum"`` or ``"treatment"``: the contrasts of the factors.
    index : pandas.Index
        The row labels of the data.
    """

    X: np.ndarray = field(repr=False)
    assign: np.ndarray = field(repr=False)
    term_labels: tuple
    column_names: tuple
    coding: str
    index: pd.Index = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a new DataFrame, columns named as R names them."""
        return pd.DataFrame(self.X.copy(), index=self.index, columns=list(self.column_names))


def parse_formula(formula: str, data: pd.DataFrame) -> Formula:
    """Parse an R model formula against the columns of ``data``.

    Parameters
    ----------
    formula : str
        ``"outcome ~ terms"``, optionally with one ``Error()`` term: ``"y ~ A * B"``,
        ``"y ~ A + A:B"``, ``"y ~ (A + B + C)^2 - A:B"``, ``"y ~ 0 + A"``,
        ``"y ~ x + group"``, ``"y ~ type * cond + Error(subject/cond)"``,
        ``"y ~ cond * time + Error(subject/(cond * time))"``. Column names that are not
        identifiers go in backticks: ``"y ~ `dose level`"``.
    data : pandas.DataFrame
        The data, in long format (one row per observation). It is not modified.

    Returns
    -------
    Formula
        The outcome, the terms in R's order, the factors, covariates and strata.

    Raises
    ------
    TypeError
        If ``formula`` is not a string or ``data`` not a DataFrame.
    ValueError
        If the formula is malformed or uses what is not supported (functions other than
        ``C()``, such as ``log(x)``: compute such columns first), names columns that
        ``data`` lacks, has a non-numeric outcome, an ``Error()`` term of another shape,
        a factor with fewer than two levels or missing values in the columns it uses.

    Notes
    -----
    As in R, a numeric column is a covariate, whatever the number of distinct values it
    takes (a dose coded 1, 2, 3 is one slope, not three groups): write ``C(dose)`` to
    take it as a factor. Text, boolean and categorical columns are factors. Transforms
    (``log(x)``, ``I(x^2)``) are rejected rather than evaluated: add the transformed
    column to the frame and use its name. A categorical column keeps its category order;
    an ordered categorical is coded like an unordered one (no polynomial contrasts).

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
    for name in sorted(forced & plain):
        raise _formula_error(
            formula, f"uses {name!r} both as a column and as C({name}); use one of them"
        )
    variables = [v for v in order if v in forced | plain]
    rank = {v: i for i, v in enumerate(variables)}
    terms = tuple(  # in variable order; C(x) and factor(x) make one term
        dict.fromkeys(tuple(sorted({n for n, _ in t}, key=rank.get)) for t in raw_terms)
    )
    subject, within = (None, ()) if error_inner is None else _error_strata(error_inner, formula)
    used = [outcome, *variables] + ([subject] if subject else [])
    _check_columns(formula, data, used)
    levels = {}
    for name in variables:
        if name in forced or _is_factor(data[name], name, formula):
            levels[name] = _factor_codes(data[name], name, formula)[1]
        else:
            _numeric(data[name], f"covariate {name!r}", formula)
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
            formula,
            "must have one outcome column left of '~'",
            "transform or combine outcomes in `data` first",
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


def _variable(factor, formula: str) -> tuple:
    """``(name, forced_factor)`` of one formulaic factor, or ``(None, inner)`` for Error()."""
    expr = str(factor.expr)
    if factor.eval_method.value == "lookup":
        return expr, False
    if factor.eval_method.value == "python":
        error = _ERROR_CALL.match(expr)
        if error:
            return None, error.group(1)
        call = _FACTOR_CALL.match(expr)
        name = _NAME.match(call.group(1)) if call else None
        if name:
            return name.group(1) or name.group(2), True
        if call:
            raise _formula_error(
                formula, f"uses {expr}", "C() takes one column name (the analysis sets the coding)"
            )
    raise _formula_error(
        formula,
        f"uses {expr}, which is not supported",
        _ACCEPTED + "; compute transformed columns first, e.g. "
        "data.assign(log_x=np.log(data['x'])), and use their names",
    )


def _variable_order(tokens: list) -> list:
    """Variables of the right-hand side in order of first appearance (R's ``variables``)."""
    order: list = []
    for token in tokens[[t.token for t in tokens].index("~") + 1 :]:
        call = _FACTOR_CALL.match(str(token.token))
        name = _NAME.match(call.group(1)) if call else None
        if token.kind is Token.Kind.NAME:
            order.append(str(token.token))
        elif token.kind is Token.Kind.PYTHON and name:
            order.append(name.group(1) or name.group(2))
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
    expected = {frozenset({subject, *c}) for k in range(len(within) + 1)
                for c in combinations(within, k)}  # fmt: skip
    if subject is None or set(sets) != expected:
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
    repeated = [repr(n) for n in names if n in set(data.columns[data.columns.duplicated()])]
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
        raise _formula_error(
            formula, f"uses the subject column {subject!r} of Error() in the fixed part", ""
        )
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
            raise _formula_error(
                formula,
                f"uses factor {name!r}, whose values have types that cannot be sorted",
                "convert them, e.g. with .astype(str)",
            ) from None
        levels = tuple(v.item() if isinstance(v, np.generic) else v for v in found)
    if len(levels) < 2:
        raise _formula_error(
            formula,
            f"uses factor {name!r}, which has {len(levels)} level ({levels[0]!r})",
            "a factor needs at least two levels",
        )
    return np.asarray(codes, dtype=np.intp).reshape(-1), levels


def _numeric(column: pd.Series, what: str, formula: str, outcome: bool = False) -> np.ndarray:
    """A covariate or the outcome as finite floats."""
    dtype = column.dtype
    if outcome and (_not_real(column) or pd.api.types.is_bool_dtype(dtype)):
        raise _formula_error(
            formula,
            f"needs {what} to be a numeric column (int or float); got dtype {dtype}",
            "convert it, e.g. with pd.to_numeric or .astype(float)",
        )
    values = column.to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            f"`formula` {formula!r}: {what} has infinite values in rows "
            f"{_show_rows(column.index, ~np.isfinite(values))}."
        )
    return values


def _not_real(column: pd.Series) -> bool:
    """True unless the column holds real numbers (of a numeric dtype, or as objects)."""
    dtype = column.dtype
    if pd.api.types.is_object_dtype(dtype):
        return pd.api.types.infer_dtype(column, skipna=True) not in _NUMERIC_KINDS
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_complex_dtype(dtype)


def model_matrix(parsed: Formula, data: pd.DataFrame, coding: str = "sum") -> ModelMatrix:
    """The model matrix of a parsed formula, as R's ``model.matrix`` builds it.

    A factor ``F`` of a term ``T`` is coded by contrasts when ``T`` without ``F`` is
    contained in a preceding term (the empty term always counts: the intercept, or the
    first factor of a model without intercept, which gets indicators instead), and by
    indicators (one column per level) otherwise: in ``y ~ A + A:B``, ``A:B`` has
    ``n_A (n_B - 1)`` columns. A term's columns are the row-wise products of the codings
    of its variables, the first variable varying fastest; a covariate enters as given.

    Parameters
    ----------
    parsed : Formula
        From :func:`parse_formula`.
    data : pandas.DataFrame
        The data (usually the frame the formula was parsed against). It is not modified.
    coding : {"sum", "treatment"}, default="sum"
        The contrasts: sum-to-zero (R's ``contr.sum``: level ``j`` is the unit vector
        ``e_j``, the last level ``-1``) or treatment (``contr.treatment``: the first level
        is the reference).

    Returns
    -------
    ModelMatrix
        ``X``, ``assign`` (column -> term), term labels and R's column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from permanova._formula import model_matrix, parse_formula
    >>> data = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    ...                      "group": list("abcabc"), "x": [0.5, 1, 2, 3, 5, 8]})
    >>> mm = model_matrix(parse_formula("y ~ group * x", data), data, coding="treatment")
    >>> mm.column_names
    ('(Intercept)', 'groupb', 'groupc', 'x', 'groupb:x', 'groupc:x')
    >>> mm.assign.tolist()
    [0, 1, 1, 2, 3, 3]
    >>> model_matrix(parse_formula("y ~ group", data), data).to_frame().iloc[:3]
       (Intercept)  group1  group2
    0          1.0     1.0     0.0
    1          1.0     0.0     1.0
    2          1.0    -1.0    -1.0
    """
    if not isinstance(parsed, Formula):
        raise TypeError(
            f"`parsed` must be a Formula from parse_formula; got {type(parsed).__name__}."
        )
    if coding not in ("sum", "treatment"):
        raise ValueError(f"`coding` must be 'sum' or 'treatment'; got {coding!r}.")
    data = check_frame(data)
    _check_columns(parsed.formula, data, list(parsed.variables))
    n = data.shape[0]
    blocks = [np.ones((n, 1))] if parsed.intercept else []
    names = ["(Intercept)"] if parsed.intercept else []
    assign = [0] if parsed.intercept else []
    values = _variable_values(parsed, data)
    for index, (term, encoding) in enumerate(zip(parsed.terms, _encodings(parsed)), start=1):
        block, block_names = np.ones((n, 1)), [""]
        for name in term:
            part, part_names = _variable_columns(name, values[name], encoding[name], coding)
            block = row_kronecker(block, part)
            block_names = [f"{a}:{b}" if a else b for b in part_names for a in block_names]
        blocks.append(block)
        names.extend(block_names)
        assign.extend([index] * block.shape[1])
    X = np.hstack(blocks) if blocks else np.zeros((n, 0))
    assign_array = np.asarray(assign, dtype=np.intp)
    X.flags.writeable = False
    assign_array.flags.writeable = False
    return ModelMatrix(
        X=X,
        assign=assign_array,
        term_labels=parsed.term_labels,
        column_names=tuple(names),
        coding=coding,
        index=data.index,
    )


def _variable_values(parsed: Formula, data: pd.DataFrame) -> dict:
    """Factor ``(codes, levels)`` and covariate values of every variable of the model."""
    values = {}
    for name in parsed.variables:
        column = data[name]
        if name in parsed.factors:
            values[name] = _factor_codes(column, name, parsed.formula)
        elif _is_factor(column, name, parsed.formula):
            raise ValueError(
                f"`data` column {name!r} is not numeric, but `formula` {parsed.formula!r} "
                "was parsed with it as a covariate; parse the formula against this frame."
            )
        else:
            values[name] = _numeric(column, f"covariate {name!r}", parsed.formula)
    return values


def _encodings(parsed: Formula) -> list:
    """R's factor pattern: per term, ``"contrasts"``, ``"indicators"`` or ``"covariate"``."""
    patterns = []
    for j, term in enumerate(parsed.terms):
        pattern = {}
        for name in term:
            rest = set(term) - {name}
            if name not in parsed.factors:
                pattern[name] = "covariate"
            elif not rest or any(rest <= set(t) for t in parsed.terms[:j]):
                pattern[name] = "contrasts"
            else:
                pattern[name] = "indicators"
        patterns.append(pattern)
    if not parsed.intercept:
        # R's model.matrix: without intercept the first factor of the first term holding
        # one is coded by indicators, so that its columns span the intercept.
        for pattern in patterns:
            first = next((name for name, how in pattern.items() if how != "covariate"), None)
            if first is not None:
                pattern[first] = "indicators"
                break
    return patterns


def _variable_columns(name: str, values, encoding: str, coding: str) -> tuple:
    """The columns of one variable in one term and their names (R's ``model.matrix``)."""
    if encoding == "covariate":
        return values[:, None], [name]
    codes, levels = values
    k = len(levels)
    labels = [_level_label(level) for level in levels]
    if encoding == "indicators":
        chosen = np.arange(k)
        return (codes[:, None] == chosen).astype(float), [name + label for label in labels]
    if coding == "treatment":
        chosen = np.arange(1, k)
        return (codes[:, None] == chosen).astype(float), [name + label for label in labels[1:]]
    return sum_coding(codes, k), [f"{name}{j}" for j in range(1, k)]


def _level_label(level) -> str:
    """A level as R prints it in column names (``TRUE``, ``2`` for 2.0)."""
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, float) and level.is_integer():
        return str(int(level))
    if isinstance(level, float):
        return format(level, ".15g")
    return str(level)
