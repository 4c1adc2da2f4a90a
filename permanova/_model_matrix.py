"""Model matrices of parsed formulas, with R's rule for coding a factor by contrasts or
indicators (Chambers and Hastie 1992, p. 38), in sum-to-zero or treatment coding."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from permanova._design import row_kronecker, sum_coding
from permanova._formula import Formula, _check_columns, _read_variables
from permanova._validation import check_frame


@dataclass(frozen=True)
class ModelMatrix:
    """A model matrix as R's ``model.matrix`` builds it (from :func:`model_matrix`).

    Attributes
    ----------
    X : ndarray of shape (n, p)
        The intercept column (if any), then one block of columns per term. Read-only.
    assign : ndarray of shape (p,)
        Term of each column, as ``attr(X, "assign")``: 0 for the intercept, ``i`` for
        ``term_labels[i - 1]``. Read-only.
    term_labels, column_names : tuple of str
        The terms, as :attr:`Formula.term_labels`; the columns
        as R names them: ``"(Intercept)"``, ``"groupb"`` (treatment coding), ``"group1"``
        (sum coding), ``"groupa"`` (indicators), ``"x"``, ``"groupb:x"``.
    coding : {"sum", "treatment"}
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


def model_matrix(parsed: Formula, data: pd.DataFrame, coding: str = "sum") -> ModelMatrix:
    """The model matrix of a parsed formula, as R's ``model.matrix`` builds it.

    A factor ``F`` of a term ``T`` is coded by contrasts when ``T`` without ``F`` is
    empty or contained in a preceding term, by indicators (one column per level)
    otherwise; without intercept the first factor gets indicators. In ``y ~ A + A:B``,
    ``A:B`` has ``n_A (n_B - 1)`` columns; ``y ~ A:B`` has the intercept and every cell.
    A term's columns are row-wise products, the first variable varying fastest.

    Parameters
    ----------
    parsed : Formula
        From :func:`parse_formula`.
    data : pandas.DataFrame
        The data (usually the frame the formula was parsed against). It is not modified.
    coding : {"sum", "treatment"}, default="sum"
        R's ``contr.sum`` (level ``j`` is ``e_j``, the last level ``-1``) or
        ``contr.treatment`` (the first level is the reference).

    Returns
    -------
    ModelMatrix
        ``X``, ``assign`` (column -> term), the term labels and R's column names.

    Examples
    --------
    >>> import pandas as pd
    >>> from permanova._formula import parse_formula
    >>> from permanova._model_matrix import model_matrix
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
        raise TypeError(f"`parsed` must be a Formula from parse_formula; got {parsed!r}.")
    if coding not in ("sum", "treatment"):
        raise ValueError(f"`coding` must be 'sum' or 'treatment'; got {coding!r}.")
    data = check_frame(data)
    _check_columns(parsed.formula, data, list(parsed.variables))
    n = data.shape[0]
    blocks = [np.ones((n, 1))] if parsed.intercept else []
    names = ["(Intercept)"] if parsed.intercept else []
    assign = [0] if parsed.intercept else []
    values = _read_variables(parsed.formula, data, parsed.variables, set(parsed.factors))
    for name in parsed.covariates:
        if isinstance(values[name], tuple):
            raise ValueError(
                f"`data` column {name!r} is not numeric, but `formula` {parsed.formula!r} "
                "was parsed with it as a covariate; parse the formula against this frame."
            )
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
    X.flags.writeable = assign_array.flags.writeable = False
    return ModelMatrix(X, assign_array, parsed.term_labels, tuple(names), coding, data.index)


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
        # as R's model.matrix: the first factor (of the first term holding one) gets
        # indicators, whose columns span the missing intercept
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
    labels = [name + _level_label(level) for level in levels]
    if encoding == "indicators":
        return (codes[:, None] == np.arange(len(levels))).astype(float), labels
    if coding == "treatment":
        return (codes[:, None] == np.arange(1, len(levels))).astype(float), labels[1:]
    return sum_coding(codes, len(levels)), [f"{name}{j}" for j in range(1, len(levels))]


def _level_label(level) -> str:
    """A level as R prints it in column names (``TRUE``, ``2`` for 2.0)."""
    if isinstance(level, (bool, np.bool_)):
        return "TRUE" if level else "FALSE"
    if isinstance(level, float):
        return str(int(level)) if level.is_integer() else format(level, ".15g")
    return str(level)
