"""Input checks shared by the detectors: dtypes, finiteness of parameters, labels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.utils.validation import validate_data


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "map_blocks")


def check_numeric_input(X, name="X"):
    """Reject non-numeric data with a message that names ``name``.

    DataFrames are returned unchanged (scikit-learn reads their column names); object
    arrays are converted to float; string arrays raise ``TypeError``.
    """
    if isinstance(X, pd.DataFrame):
        bad = [col for col, dtype in X.dtypes.items() if not _is_numeric_dtype(dtype)]
        if bad:
            raise TypeError(
                f"`{name}` must hold numeric session scores; columns {bad[:5]} are not numeric."
            )
        return X
    if is_dask_array(X) or hasattr(X, "tocsr"):
        return X
    array = np.asarray(X)
    if array.dtype.kind in "USV":
        raise TypeError(
            f"`{name}` must hold numeric session scores; got an array of dtype {array.dtype}."
        )
    if array.dtype.kind == "O":
        try:
            return array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"`{name}` must hold numeric session scores; {error}") from None
    return X


def _is_numeric_dtype(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def check_finite(name, value):
    """Reject booleans and infinities, which scikit-learn's numeric intervals let through."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a number, not a boolean; got {value!r}.")
    if isinstance(value, (int, float, np.number)) and not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number; got {value!r}.")


def row_and_column_labels(X, n_series, n_sessions):
    """A DataFrame's index and columns, else ``0..n_series-1`` and sessions ``1..n``."""
    if isinstance(X, pd.DataFrame):
        return np.asarray(X.index, dtype=object), np.asarray(X.columns, dtype=object)
    return np.arange(n_series), np.arange(1, n_sessions + 1)


def validate_series_array(estimator, X, **options):
    """``validate_data`` with messages that say the argument is ``X`` and what it should be.

    scikit-learn's own wording (e.g. "1 feature(s)", "X has 3 features, but ...") is kept
    after the prefix, so its estimator checks still recognise the errors.
    """
    try:
        X = check_numeric_input(X)
        if isinstance(X, np.ndarray) and X.ndim == 1:
            raise ValueError(
                f"Invalid `X`: expected a 2-D array of shape (n_series, n_sessions); got a 1-D "
                f"array of length {X.shape[0]}. Reshape your data: for one series use "
                "x.reshape(1, -1)."
            )
        return validate_data(estimator, X, **options)
    except ValueError as error:
        if str(error).startswith("Invalid `X`"):
            raise
        raise ValueError(
            f"Invalid `X`: expected a 2-D array of shape (n_series, n_sessions) holding "
            f"finite numbers or NaN (for one series use x.reshape(1, -1)). {error}"
        ) from None
