"""Pandas adapters: long data to session-indexed arrays, item scores to totals."""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from tukeyrupture._validation import check_column_labels, plain, show_rows

#: With ``fill_gaps=True`` the session numbers may span at most this many columns ...
MAX_FILLED_SESSIONS = 1000
#: ... unless at least one in this many of the spanned session numbers is observed.
MAX_FILL_RATIO = 10

# A session label that orders naturally: a prefix without digits, then a whole number.
_LABEL = re.compile(r"^\s*(\D*?)(\d+)\s*$")
# Session numbers beyond this are not exactly representable as float64 integers.
_LARGEST_SESSION = 2**53


def _first_values(values, limit=3) -> list:
    return [plain(value) for value in pd.unique(np.asarray(values, dtype=object))[:limit]]


# --------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class _Sessions:
    """Sortable keys of the session column and how to show a key as a label.

    ``kind`` is ``"number"`` (keys are the session numbers), ``"label"`` (keys are the
    numbers of labels such as ``S1``: ``labels`` maps key -> label, ``prefix`` and
    ``width`` write labels for filled gaps), ``"category"`` (keys are codes of an ordered
    categorical) or ``"time"`` (datetimes or timedeltas, their own keys).
    """

    keys: np.ndarray
    kind: str
    labels: dict | None = None
    prefix: str = ""
    width: int = 0
    categories: pd.Index | None = None


def _whole_numbers(numbers: pd.Series, where: str) -> np.ndarray:
    """Session numbers as int64; fractional, infinite or huge numbers name their rows."""
    values = numbers.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (np.abs(values) > _LARGEST_SESSION)
    if bad.any():
        raise ValueError(
            f"{where} must hold finite session numbers below 2**53 in magnitude; got "
            f"{_first_values(numbers[bad])} in rows {show_rows(numbers.index[bad])}."
        )
    fractional = values != np.round(values)
    if fractional.any():
        raise ValueError(
            f"{where} must hold whole session numbers (1, 2, 3, ...); got fractional "
            f"{_first_values(numbers[fractional])} in rows "
            f"{show_rows(numbers.index[fractional])}."
        )
    return values.astype(np.int64)


def _integer_numbers(numbers: pd.Series, where: str) -> np.ndarray:
    """Integer session numbers as int64; numbers beyond 2**53 name their rows."""
    unsigned = pd.api.types.is_unsigned_integer_dtype(numbers.dtype)
    values = numbers.to_numpy(dtype=np.uint64 if unsigned else np.int64)
    bad = values > _LARGEST_SESSION
    if not unsigned:
        bad |= values < -_LARGEST_SESSION
    if bad.any():
        raise ValueError(
            f"{where} must hold session numbers below 2**53 in magnitude; got "
            f"{_first_values(numbers[bad])} in rows {show_rows(numbers.index[bad])}."
        )
    return values.astype(np.int64)


def _natural_labels(text: pd.Series, where: str) -> _Sessions:
    """Labels such as ``S1 ... S15``: one prefix and a whole number, ordered by the number."""
    parts = text.astype(str).str.extract(_LABEL)
    unmatched = (parts[1].isna() | (parts[1].str.len() > 15)).to_numpy()
    if unmatched.any():
        raise ValueError(
            f"{where} must hold session numbers (1, 2, ...) or labels made of one prefix and "
            f"a whole number (S1, S2, ...), so that sessions can be put in order; got "
            f"{_first_values(text[unmatched])} in rows {show_rows(text.index[unmatched])}."
        )
    prefixes = pd.unique(parts[0])
    if len(prefixes) > 1:
        first = parts.index[parts[0] == prefixes[1]]
        raise ValueError(
            f"{where} holds session labels with different prefixes {list(prefixes[:5])} "
            f"(e.g. {prefixes[1]!r} in rows {show_rows(first)}); use one prefix or "
            "session numbers so that sessions can be put in order."
        )
    keys = parts[1].astype(np.int64).to_numpy()
    label_of = pd.Series(text.astype(str).str.strip().to_numpy()).groupby(keys).unique()
    ambiguous = label_of[label_of.map(len) > 1]
    if len(ambiguous):
        raise ValueError(
            f"{where} writes the same session number in different ways: labels "
            f"{list(ambiguous.iloc[0])} both mean session {ambiguous.index[0]}."
        )
    widths = parts[1].str.len().unique()
    return _Sessions(
        keys=keys,
        kind="label",
        labels={key: labels[0] for key, labels in label_of.items()},
        prefix=str(prefixes[0]),
        width=int(widths[0]) if len(widths) == 1 else 0,
    )


def _text_sessions(column: pd.Series, where: str) -> _Sessions:
    """Sessions stored as objects or strings: numbers written as text, or natural labels."""
    is_bool = column.map(lambda item: isinstance(item, (bool, np.bool_))).to_numpy(dtype=bool)
    numbers = pd.to_numeric(column.where(~is_bool), errors="coerce")
    is_number = numbers.notna().to_numpy()
    if is_number.all():
        return _Sessions(_whole_numbers(numbers, where), "number")
    if is_number.any() or is_bool.any():
        text = ~is_number
        raise ValueError(
            f"{where} mixes session numbers and text: {_first_values(column[text])} in rows "
            f"{show_rows(column.index[text])} are not numbers, while rows "
            f"{show_rows(column.index[is_number])} are; a session column must hold only "
            "numbers (fix or remove the text entries, e.g. a '.' for a missing value)."
        )
    return _natural_labels(column, where)


def _session_keys(column: pd.Series, where: str) -> _Sessions:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise TypeError(f"{where} must hold session numbers or labels; got booleans.")
    if isinstance(dtype, pd.CategoricalDtype):
        if dtype.ordered:
            codes = column.cat.codes.to_numpy(dtype=np.int64)
            return _Sessions(codes, "category", categories=dtype.categories)
        return _session_keys(column.astype(object), where)
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return _Sessions(column.to_numpy(), "time")
    if pd.api.types.is_complex_dtype(dtype):
        raise TypeError(f"{where} must hold session numbers or labels; got complex numbers.")
    if pd.api.types.is_integer_dtype(dtype):
        return _Sessions(_integer_numbers(column, where), "number")
    if pd.api.types.is_float_dtype(dtype):
        return _Sessions(_whole_numbers(column, where), "number")
    return _text_sessions(column, where)


def _filled_keys(sessions: _Sessions, observed: np.ndarray, where: str, index) -> np.ndarray:
    """Every session key from the first to the last observed one (``fill_gaps=True``)."""
    if sessions.kind == "time":
        raise TypeError(
            f"`fill_gaps=True` needs session numbers (or labels such as S1, S2); {where} "
            "holds dates or times."
        )
    if sessions.kind == "category":
        return np.arange(len(sessions.categories))
    low, high = int(observed.min()), int(observed.max())
    span = high - low + 1
    if span > MAX_FILLED_SESSIONS and span > MAX_FILL_RATIO * len(observed):
        extremes = index[(sessions.keys == low) | (sessions.keys == high)]
        raise ValueError(
            f"{where} runs from session {low} to {high}: with `fill_gaps=True` that is "
            f"{span} session columns for {len(observed)} observed session numbers. Session "
            f"numbers must count sessions (at most {MAX_FILLED_SESSIONS} columns, or at least "
            f"one observed session in {MAX_FILL_RATIO}), not dates or ids; the first and "
            f"last sessions are in rows {show_rows(extremes)}."
        )
    return np.arange(low, high + 1)


def _column_labels(sessions: _Sessions, keys: np.ndarray) -> np.ndarray:
    if sessions.kind == "label":
        labels = [
            sessions.labels.get(key, f"{sessions.prefix}{key:0{sessions.width}d}")
            for key in keys.tolist()
        ]
        return np.array(labels, dtype=object)
    if sessions.kind == "category":
        return sessions.categories[keys].to_numpy()
    return keys


# --------------------------------------------------------------------------- scores


def _check_names(data, series, session, value):
    names = {"series": series, "session": session, "value": value}
    for argument, name in names.items():
        if not isinstance(name, Hashable):
            raise TypeError(f"`{argument}` must be a column label; got {name!r}.")
    if len({series, session, value}) < 3:
        raise ValueError(
            f"`series`, `session` and `value` must be three different columns; got "
            f"{series!r}, {session!r} and {value!r}."
        )
    check_column_labels(data, "data", used=list(names.values()))
    missing = [name for name in names.values() if name not in data.columns]
    if missing:
        raise ValueError(
            f"`data` has no column(s) {missing}; available columns: {list(data.columns)}."
        )


def _scores(data, value) -> pd.Series:
    """The value column as float, or an error naming the non-numeric or infinite rows."""
    scores = data[value]
    where = f"`data[{value!r}]`"
    dtype = scores.dtype
    if (
        pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_complex_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
    ):
        raise TypeError(f"{where} must hold real-valued scores; got dtype {dtype}.")
    if not pd.api.types.is_numeric_dtype(dtype):
        is_complex = scores.map(lambda item: isinstance(item, (complex, np.complexfloating)))
        if is_complex.any():
            raise TypeError(
                f"{where} must hold real-valued scores; got complex numbers "
                f"{_first_values(scores[is_complex])} in rows "
                f"{show_rows(data.index[is_complex.to_numpy()])}."
            )
        is_bool = scores.map(lambda item: isinstance(item, (bool, np.bool_)))
        converted = pd.to_numeric(scores.where(~is_bool), errors="coerce")
        bad = (converted.isna() & scores.notna()).to_numpy()
        if bad.any():
            raise ValueError(
                f"{where} must be numeric; non-numeric values {_first_values(scores[bad])} "
                f"in rows {show_rows(data.index[bad])}."
            )
        scores = converted
    values = scores.to_numpy(dtype=np.float64, na_value=np.nan)
    infinite = np.isinf(values)
    if infinite.any():
        raise ValueError(f"{where} has infinite values in rows {show_rows(data.index[infinite])}.")
    return pd.Series(values, index=data.index)


def _is_hashable(item) -> bool:
    try:
        hash(item)
    except TypeError:
        return False
    return True


def _check_hashable(ids: pd.Series, where: str) -> None:
    """Series ids must be hashable (labels such as strings or numbers, not lists)."""
    if ids.dtype != object:
        return
    bad = ~ids.map(_is_hashable).to_numpy(dtype=bool)
    if bad.any():
        raise TypeError(
            f"{where} must hold series ids such as strings or numbers; got unhashable "
            f"{[type(item).__name__ for item in ids[bad][:3]]} values in rows "
            f"{show_rows(ids.index[bad])}."
        )


def _check_value_range(value_range):
    if value_range is None:
        return None
    if not isinstance(value_range, (tuple, list, np.ndarray)):
        raise TypeError(
            "`value_range` must be None or a pair (low, high) as a tuple, list or array; "
            f"got {type(value_range).__name__} {value_range!r}."
        )
    if len(value_range) != 2 or not all(
        isinstance(bound, Real) and not isinstance(bound, (bool, np.bool_))
        for bound in value_range
    ):
        raise TypeError(
            f"`value_range` must be None or a pair of numbers (low, high); got {value_range!r}."
        )
    low, high = (float(bound) for bound in value_range)
    if np.isnan(low) or np.isnan(high) or low > high:
        raise ValueError(
            f"`value_range` must be a pair (low, high) with low <= high; got {value_range!r}."
        )
    return low, high


def _from_long_iv(data, series, session, value, fill_gaps, value_range):
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame; got {type(data).__name__}.")
    if not isinstance(fill_gaps, (bool, np.bool_)):
        raise TypeError(f"`fill_gaps` must be True or False; got {fill_gaps!r}.")
    value_range = _check_value_range(value_range)
    _check_names(data, series, session, value)
    keys_missing = data.index[data[[series, session]].isna().any(axis=1).to_numpy()]
    if len(keys_missing):
        raise ValueError(
            f"`data` has missing `{series}` or `{session}` in rows {show_rows(keys_missing)}."
        )
    _check_hashable(data[series], f"`data[{series!r}]`")
    scores = _scores(data, value)
    if value_range is not None:
        outside = ((scores < value_range[0]) | (scores > value_range[1])).to_numpy()
        if outside.any():
            raise ValueError(
                f"`data[{value!r}]` has scores outside `value_range` "
                f"[{value_range[0]:g}, {value_range[1]:g}]: {_first_values(scores[outside])} "
                f"in rows {show_rows(data.index[outside])}."
            )
    sessions = _session_keys(data[session], f"`data[{session!r}]`")
    pairs = pd.DataFrame({"series": data[series].to_numpy(), "key": sessions.keys})
    duplicated = data.index[pairs.duplicated(keep=False).to_numpy()]
    if len(duplicated):
        raise ValueError(
            f"`data` has more than one row for the same ({series}, {session}) pair: rows "
            f"{show_rows(duplicated)}."
        )
    return scores, sessions, bool(fill_gaps)


def from_long(
    data: pd.DataFrame,
    *,
    series: Hashable,
    session: Hashable,
    value: Hashable,
    fill_gaps: bool = False,
    value_range: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn long data (one row per series and session) into a session-indexed array.

    Parameters
    ----------
    data : DataFrame
        Long data; not modified. Messages name offending rows by their index labels.
    series, session, value : str
        Columns holding the series id, the session and the score.
    fill_gaps : bool, default=False
        Give every session number between the first and the last a column, so that a
        session nobody attended (a missing week) still breaks a run of consecutive
        sessions. By default the columns are the sessions present in the data.
    value_range : (float, float) or None, default=None
        Plausible range ``(low, high)`` of the scores (e.g. ``(1, 7)`` for a 1-7 scale):
        a score outside it raises ``ValueError`` naming its rows. None: no check.

    Returns
    -------
    X : ndarray of float64, shape (n_series, n_sessions)
        Scores with NaN for missing sessions; rows in sorted series order, columns in
        session order.
    series_labels : ndarray of shape (n_series,)
        The series id of each row.
    session_labels : ndarray of shape (n_sessions,)
        The session of each column.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame, ``fill_gaps`` is not a bool, ``value_range`` is
        not a pair of numbers (tuple, list or array of length 2), the series ids are
        unhashable (lists), or a column has a type that cannot hold scores or sessions
        (booleans, complex numbers, also inside an object column).
    ValueError
        On missing, duplicated or MultiIndex columns, missing keys, duplicated (series,
        session) pairs, non-numeric or out-of-range scores, or sessions that cannot be
        ordered (see Notes), naming the rows.

    Notes
    -----
    Sessions are ordered as people read them:

    - **numbers** numerically, whether stored as numbers or as text (``"10"`` after
      ``"9"``); they must be whole numbers (``1.0`` is session 1, ``1.5`` is an error),
      and a column of numbers with a stray text entry (a ``"."`` for a missing value)
      is an error naming its rows, never a switch to text order;
    - **labels** made of one prefix and a whole number (``S1``, ``S2``, ..., ``S15``)
      by their number, so ``S2`` comes before ``S10``; other text (``"intake"``,
      different prefixes, ``S01`` next to ``S1``) is an error;
    - an **ordered categorical** by its categories, **dates and times** chronologically.

    With ``fill_gaps=True`` every session number from the first to the last gets a column
    (labels: every number with the prefix; ordered categoricals: every category). To
    catch dates or ids used as session numbers, the span may exceed
    ``MAX_FILLED_SESSIONS`` (1000) columns only if at least one in ``MAX_FILL_RATIO``
    (10) of the spanned numbers is observed: one row with session 3000000 among sessions
    1-20 is an error, not a 3000000-column array.

    Examples
    --------
    >>> import pandas as pd
    >>> from tukeyrupture import from_long
    >>> long = pd.DataFrame({"id": ["a", "a", "b", "b"], "session": [1, 3, 1, 2],
    ...                      "score": [40.0, 38.0, 35.0, 36.0]})
    >>> X, series, sessions = from_long(long, series="id", session="session", value="score")
    >>> X
    array([[40., nan, 38.],
           [35., 36., nan]])
    >>> series, sessions
    (array(['a', 'b'], dtype=object), array([1, 2, 3]))

    Labels such as ``S1 ... S10`` are put in the order of their numbers:

    >>> labelled = pd.DataFrame({"id": "a", "session": ["S10", "S2", "S1"],
    ...                          "score": [3.0, 2.0, 1.0]})
    >>> from_long(labelled, series="id", session="session", value="score")[2]
    array(['S1', 'S2', 'S10'], dtype=object)
    """
    scores, sessions, fill_gaps = _from_long_iv(
        data, series, session, value, fill_gaps, value_range
    )
    frame = pd.DataFrame(
        {"series": data[series].to_numpy(), "key": sessions.keys, "v": scores.to_numpy()}
    )
    wide = frame.pivot(index="series", columns="key", values="v").sort_index(axis=1)
    keys = wide.columns.to_numpy()
    if fill_gaps and len(keys):
        keys = _filled_keys(sessions, keys, f"`data[{session!r}]`", data.index)
        wide = wide.reindex(columns=keys)
    X = wide.to_numpy(dtype=np.float64, na_value=np.nan)
    return X, wide.index.to_numpy(), _column_labels(sessions, keys)


# --------------------------------------------------------------------------- totals


def _item_values(items) -> np.ndarray:
    if isinstance(items, pd.DataFrame):
        check_column_labels(items, "items")
        bad = [
            c
            for c, t in items.dtypes.items()
            if not pd.api.types.is_numeric_dtype(t)
            or pd.api.types.is_bool_dtype(t)
            or pd.api.types.is_complex_dtype(t)
        ]
        if bad:
            raise TypeError(f"`items` must hold real item scores; columns {bad} do not.")
        return items.to_numpy(dtype=np.float64, na_value=np.nan)
    try:
        array = np.asarray(items)
    except ValueError:
        lengths = [len(row) if hasattr(row, "__len__") else 1 for row in items]
        raise ValueError(
            "`items` rows must all have the same number of items (NaN for a missing "
            f"answer); got rows of lengths {sorted(set(lengths))}."
        ) from None
    if array.dtype.kind not in "iufO":
        raise TypeError(f"`items` must hold real item scores; got dtype {array.dtype}.")
    if array.dtype.kind == "O" and any(
        isinstance(item, (bool, np.bool_, complex, np.complexfloating, str))
        for item in array.reshape(-1)
    ):
        raise TypeError("`items` must hold real item scores; got booleans, strings or complex.")
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"`items` must hold numeric item scores; {error}") from None


def _row_means(observed_values, observed_sum, n_observed) -> np.ndarray:
    """Mean of each row's observed items, also where their sum overflows float64.

    Such rows are scaled by a power of two (exact) near their largest item first.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        means = observed_sum / n_observed
        overflow = ~np.isfinite(observed_sum)
        if overflow.any():
            rows = observed_values[overflow]
            exponent = np.frexp(np.abs(rows).max(axis=1))[1]
            scaled = np.ldexp(rows, -exponent[:, None]).sum(axis=1) / n_observed[overflow]
            means[overflow] = np.ldexp(scaled, exponent)
    return means


def _total_scores_iv(items, max_missing, impute, statistic):
    if impute not in ("person_mean", None):
        raise ValueError(f"`impute` must be 'person_mean' or None; got {impute!r}.")
    if statistic not in ("sum", "mean"):
        raise ValueError(f"`statistic` must be 'sum' or 'mean'; got {statistic!r}.")
    if max_missing is not None and (
        isinstance(max_missing, bool) or not isinstance(max_missing, Integral) or max_missing < 0
    ):
        raise ValueError(
            f"`max_missing` must be None or a non-negative integer; got {max_missing!r}."
        )
    values = _item_values(items)
    if values.ndim != 2:
        raise ValueError(
            f"`items` must be 2-D (rows = sessions, columns = items); got {values.ndim}-D."
        )
    if np.isinf(values).any():
        raise ValueError("`items` must not hold infinite values.")
    return values


def total_scores(
    items, *, max_missing: int | None = None, impute: str | None = "person_mean", statistic="sum"
):
    """Total score per row (session) of item scores, with person-mean imputation.

    Parameters
    ----------
    items : array-like or DataFrame of shape (n_rows, n_items)
        Item scores, NaN for a missing item; not modified. Every row must have the same
        number of items, and a DataFrame's column labels must be unique and flat.
    max_missing : int or None, default=None
        Rows with more than this many missing items become NaN (None: any number, as
        long as one item is observed).
    impute : {"person_mean", None}, default="person_mean"
        ``"person_mean"`` replaces a missing item by the mean of that row's observed items
        (single mean imputation); None leaves any row with a missing item NaN.
    statistic : {"sum", "mean"}, default="sum"
        Sum of the items (e.g. the TASC) or their mean (e.g. the WAI-S scored as the item
        mean).

    Returns
    -------
    totals : ndarray of shape (n_rows,), or Series with the DataFrame's index

    Raises
    ------
    TypeError
        For non-numeric, boolean or complex item scores.
    ValueError
        For ragged rows, a shape other than 2-D, infinite scores, duplicated or
        MultiIndex column labels, or an invalid parameter.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture import total_scores
    >>> items = np.array([[4, 4, 3, 3], [4, np.nan, 2, 3], [np.nan, np.nan, np.nan, 1]])
    >>> total_scores(items)
    array([14., 12.,  4.])
    >>> total_scores(items, max_missing=1)
    array([14., 12., nan])
    """
    values = _total_scores_iv(items, max_missing, impute, statistic)
    n_items = values.shape[1]
    observed = ~np.isnan(values)
    n_observed = observed.sum(axis=1)
    n_missing = n_items - n_observed
    observed_values = np.where(observed, values, 0.0)
    with np.errstate(over="ignore"):
        observed_sum = observed_values.sum(axis=1)
    row_mean = _row_means(observed_values, observed_sum, n_observed)
    if statistic == "sum":
        # An overflowing observed sum is rebuilt from the mean: inf, never inf - inf.
        with np.errstate(over="ignore", invalid="ignore"):
            totals = np.where(
                np.isfinite(observed_sum),
                observed_sum + n_missing * row_mean,
                n_items * row_mean,
            )
    else:
        totals = row_mean
    allowed = n_missing == 0 if impute is None else n_observed > 0
    if max_missing is not None:
        allowed &= n_missing <= max_missing
    totals = np.where(allowed, totals, np.nan)
    if isinstance(items, pd.DataFrame):
        return pd.Series(totals, index=items.index, name="total")
    return totals
