"""Pandas adapters: long data to session-indexed arrays, item scores to totals."""

from __future__ import annotations

from collections.abc import Hashable
from numbers import Integral, Real

import numpy as np
import pandas as pd

from tukeyrupture._sessions import (
    _column_labels,
    _filled_keys,
    _first_values,
    _session_keys,
)
from tukeyrupture._validation import check_column_labels, show_rows

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
