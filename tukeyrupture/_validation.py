"""The package's private helpers, one behaviour each.

Checks of arrays and scalars and their message wording (``"`name` must be ...; got ..."``),
the listing of offending rows, checks of a frame's column labels, read-only arrays and the
one progress-bar policy (tqdm, off unless asked for) used by the detector, the study and the
method comparison.
"""

from __future__ import annotations

import math
from numbers import Integral, Number, Real

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted, validate_data

# dtype kinds that hold session scores: signed and unsigned integers, floats. Booleans,
# complex numbers, datetimes, timedeltas, strings, bytes and records do not.
NUMERIC_KINDS = frozenset("iuf")
_KIND_NAMES = {
    "b": "boolean",
    "c": "complex",
    "M": "datetime",
    "m": "timedelta",
    "U": "string",
    "S": "bytes",
    "V": "structured",
    "O": "object",
}


def is_dask_array(X) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "map_blocks")


def _kind_name(dtype):
    """``"boolean"``, ``"complex"``, ... for a numpy dtype; None for other dtypes."""
    return _KIND_NAMES.get(dtype.kind) if isinstance(dtype, np.dtype) else None


_HINTS = {
    "boolean": " Convert a mask explicitly ({name}.astype(float)) if 0/1 scores are meant.",
    "complex": " The imaginary part would be lost; pass the real part if that is meant.",
    "datetime": " Pass the scores, not dates.",
    "timedelta": " Pass the scores, not durations.",
}


class ComplexDataError(TypeError, ValueError):
    """Complex input: a ``TypeError`` that is also the ``ValueError`` scikit-learn's
    estimator checks expect ("Complex data not supported")."""


def check_dtype(name, dtype, where="an array of "):
    """Raise ``TypeError`` naming ``name`` unless ``dtype`` is an integer or float dtype."""
    if isinstance(dtype, np.dtype) and dtype.kind in NUMERIC_KINDS:
        return
    kind = _kind_name(dtype)
    described = f"{kind} dtype {dtype}" if kind else f"dtype {dtype}"
    message = (
        f"`{name}` must hold real numeric session scores (integers or floats, NaN for "
        f"missing); got {where}{described}.{_HINTS.get(kind, '').format(name=name)}"
    )
    if kind == "complex":
        raise ComplexDataError(f"Complex data not supported: {message}")
    raise TypeError(message)


def _is_real_number(value) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, (bool, np.bool_, complex, np.complexfloating)):
        return False
    return isinstance(value, Number) and not isinstance(value, (np.datetime64, np.timedelta64))


def _object_to_float(array, name):
    """An object array of real numbers (None / pd.NA for missing) as float64."""
    bad = [value for value in array.flat if not _is_real_number(value)][:1]
    if bad:
        bad = bad[0]
        if isinstance(bad, (complex, np.complexfloating)):
            check_dtype(name, np.dtype(complex), "an object array of ")
        kind = type(bad).__name__
        # numpy's own wording for such objects, which scikit-learn's checks look for
        detail = (
            ""
            if isinstance(bad, (str, bytes))
            else (f" (float() argument must be a string or a real number, not '{kind}')")
        )
        raise TypeError(
            f"`{name}` must hold real numeric session scores; got an object array holding "
            f"{bad!r} of type {kind}{detail}."
        )
    values = [np.nan if v is None or v is pd.NA else v for v in array.flat]
    return np.array(values, dtype=np.float64).reshape(array.shape)


def _frame_dtype(dtype):
    """The numpy dtype behind a pandas column dtype, or None when there is none."""
    if isinstance(dtype, np.dtype):
        return dtype
    if pd.api.types.is_bool_dtype(dtype):
        return np.dtype(bool)
    if pd.api.types.is_complex_dtype(dtype):
        return np.dtype(complex)
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return np.dtype(np.float64)  # nullable Int64 / Float64: NA becomes NaN
    return None


def check_numeric_input(X, name="X"):
    """Reject data that are not real numbers, with a message that names ``name``.

    Runs before scikit-learn's ``validate_data``, which would read booleans as 0/1,
    datetimes as day counts and drop imaginary parts. DataFrames are returned unchanged
    (scikit-learn reads their column names) once every column is integer or float;
    object arrays of real numbers (None for missing) are converted to float; dask arrays
    are checked lazily by their dtype.
    """
    if isinstance(X, pd.DataFrame):
        bad = [
            (column, dtype)
            for column, dtype in X.dtypes.items()
            if getattr(_frame_dtype(dtype), "kind", None) not in NUMERIC_KINDS
        ]
        for column, dtype in bad:
            if pd.api.types.is_complex_dtype(dtype):
                check_dtype(name, np.dtype(complex), f"column {column!r} of ")
        if bad:
            listed = ", ".join(f"{column!r} ({dtype})" for column, dtype in bad[:5])
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise TypeError(
                f"`{name}` must hold real numeric session scores (integer or float columns); "
                f"columns {listed}{more} are not. Convert them (e.g. pd.to_numeric) or pass "
                "the score columns only."
            )
        return X
    if is_dask_array(X):
        check_dtype(name, X.dtype, "a dask array of ")
        return X
    if hasattr(X, "tocsr"):
        if hasattr(X, "dtype"):
            check_dtype(name, X.dtype, "a sparse matrix of ")
        return X
    try:
        array = X if isinstance(X, np.ndarray) else np.asarray(X)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"`{name}` must be a rectangular array of scores; {error}") from None
    if array.dtype.kind == "O":
        return _object_to_float(array, name)
    check_dtype(name, array.dtype)
    return array


def check_finite(name, value):
    """Reject booleans and infinities, which scikit-learn's numeric intervals let through."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a number, not a boolean; got {value!r}.")
    if isinstance(value, (int, float, np.number)) and not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number; got {value!r}.")


def check_bool(name, value):
    """Return ``value`` as a bool; anything but True/False (e.g. ``"no"``) is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def check_params(estimator, finite_names):
    """Validate ``estimator``'s parameters again (they may be changed after ``fit``)."""
    estimator._validate_params()
    for name in finite_names:
        check_finite(name, getattr(estimator, name))


def _is_number_label(label) -> bool:
    return label is not None and label is not pd.NA and _is_real_number(label)


def check_session_columns(estimator, X, reset):
    """Numeric session labels of a DataFrame must be increasing, and as in ``fit``.

    scikit-learn checks the order of string column names only; a frame whose columns are
    session numbers taken out of order would otherwise be read in column order.
    """
    if not isinstance(X, pd.DataFrame):
        return
    columns = list(X.columns)
    numeric = bool(columns) and all(_is_number_label(label) for label in columns)
    if numeric and not all(a < b for a, b in zip(columns[:-1], columns[1:])):
        raise ValueError(
            f"Invalid `X`: its columns are numeric session labels, so they must be "
            f"strictly increasing; got columns {columns}. Sort the columns, e.g. "
            "X.sort_index(axis=1)."
        )
    if reset:
        estimator._session_columns_in_ = columns if numeric else None
        return
    fitted = getattr(estimator, "_session_columns_in_", None)
    if fitted is not None and columns != fitted:
        raise ValueError(
            f"Invalid `X`: its columns must be the numeric session labels seen in fit, in "
            f"the same order: "
            f"{fitted}; got columns {columns}."
        )


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
        check_session_columns(estimator, X, options.get("reset", True))
        if isinstance(X, np.ndarray) and X.ndim == 1:
            raise ValueError(
                f"Invalid `X`: expected a 2-D array of shape (n_series, n_sessions); got a 1-D "
                f"array of length {X.shape[0]}. Reshape your data: for one series use "
                "x.reshape(1, -1)."
            )
        # scikit-learn's finiteness test sums X first: near the float maximum that sum
        # overflows (and it then checks element-wise), which is no reason to warn
        with np.errstate(over="ignore", invalid="ignore"):
            return validate_data(estimator, X, **options)
    except ValueError as error:
        if isinstance(error, TypeError) or str(error).startswith("Invalid `X`"):
            raise
        raise ValueError(
            f"Invalid `X`: expected a 2-D array of shape (n_series, n_sessions) holding "
            f"finite numbers or NaN (for one series use x.reshape(1, -1)). {error}"
        ) from None


class SeriesInput:
    """The input contract every detector shares: ``(n_series, n_sessions)`` floats, NaN.

    Mixed in before ``BaseEstimator``: declares NaN support, validates the parameters named
    in ``_finite_params`` and ``X`` in ``fit`` (``_check_fit_X``) and again, against the
    fitted state, in every other method (``_check_X``), with the messages of
    :func:`validate_series_array`. Dask arrays are checked lazily where ``_dask_input``.
    """

    _finite_params: tuple = ()
    _dask_input = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _validation_options(self):
        return {"ensure_all_finite": "allow-nan", "ensure_min_features": 2, "dtype": np.float64}

    def _check_fit_X(self, X):
        for name in self._finite_params:
            check_finite(name, getattr(self, name))
        if self._dask_input and is_dask_array(X):
            from tukeyrupture import _dask

            return _dask.check_dask_input(self, X, reset=True)
        return validate_series_array(self, X, **self._validation_options())

    def _check_X(self, X):
        check_is_fitted(self)
        check_params(self, self._finite_params)
        if self._dask_input and is_dask_array(X):
            from tukeyrupture import _dask

            return _dask.check_dask_input(self, X, reset=False)
        # ensure_min_features=1: a wrong session count is reported as a mismatch with fit
        options = {**self._validation_options(), "ensure_min_features": 1}
        return validate_series_array(self, X, reset=False, **options)


# --------------------------------------------------------------------------- messages


def plain(value):
    """A numpy scalar as the Python scalar it holds (``3``, not ``np.int64(3)``)."""
    return value.item() if isinstance(value, np.generic) else value


def show_rows(index, limit=5) -> str:
    """``"[3, 7] (and 2 more)"``: the first offending row labels, as messages list them."""
    labels = [plain(label) for label in list(index)[:limit]]
    more = f" (and {len(index) - limit} more)" if len(index) > limit else ""
    return f"{labels}{more}"


def check_column_labels(frame, name, used=None) -> None:
    """Reject MultiIndex columns and duplicated labels (of ``used``, or of every column)."""
    if isinstance(frame.columns, pd.MultiIndex):
        raise ValueError(
            f"`{name}` must have one level of column labels, but `{name}` has MultiIndex "
            f"column labels ({frame.columns.nlevels} levels, e.g. {plain(frame.columns[0])!r}): "
            "flatten them first, e.g. `frame.columns = ['_'.join(map(str, c)) for c in "
            "frame.columns]`."
        )
    labels = frame.columns[frame.columns.duplicated()]
    repeated = [plain(c) for c in pd.unique(labels) if used is None or c in used]
    if repeated:
        raise ValueError(
            f"`{name}` has duplicated column labels {repeated}: the labels {repeated} repeat; "
            "give each column a name of its own."
        )


def check_columns(frame, name, columns) -> None:
    """A DataFrame with flat, unique labels holding ``columns``, or a TypeError/ValueError."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame; got {type(frame).__name__}.")
    check_column_labels(frame, name)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"`{name}` has no column(s) {missing}; it needs {list(columns)} "
            f"(available: {list(frame.columns)})."
        )


# --------------------------------------------------------------------------- scalars


def check_integer(name, value, minimum=None, maximum=None) -> int:
    """``value`` as an int within ``[minimum, maximum]``; booleans are not integers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an integer; got {value!r}.")
    too_low = minimum is not None and value < minimum
    if too_low or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = "a non-negative integer" if minimum == 0 else f">= {minimum}"
        elif minimum is None:
            bounds = f"<= {maximum}"
        else:
            bounds = f"an integer from {minimum} to {maximum}"
        raise ValueError(f"`{name}` must be {bounds}; got {int(value)}.")
    return int(value)


def check_real(name, value, *, low=None, high=None, open_low=False, open_high=False) -> float:
    """``value`` as a finite float within the bounds (open or closed); no booleans."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be a finite number; got {value!r}.")
    too_low = low is not None and (value <= low if open_low else value < low)
    too_high = high is not None and (value >= high if open_high else value > high)
    if too_low or too_high:
        if low is not None and high is not None:
            left, right = "(" if open_low else "[", ")" if open_high else "]"
            bounds = f"in {left}{low:g}, {high:g}{right}"
        elif low is not None:
            bounds = f"> {low:g}" if open_low else f">= {low:g}"
        else:
            bounds = f"< {high:g}" if open_high else f"<= {high:g}"
        raise ValueError(f"`{name}` must be {bounds}; got {value:g}.")
    return value


# --------------------------------------------------------------------------- arrays


def read_only(value) -> np.ndarray:
    """``value`` as an array that cannot be written to (results never change)."""
    array = np.asarray(value)
    array.flags.writeable = False
    return array


# --------------------------------------------------------------------------- progress


def progress_bar(iterable=None, *, total, desc, unit, enabled):
    """A tqdm bar on stderr, or a silent stand-in with the same methods when not enabled.

    The one policy of the package: library functions take ``progress=False`` by default
    and the command line shows a bar unless ``--no-progress`` is given.
    """
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled)
