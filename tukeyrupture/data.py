"""Pandas adapters: long data to session-indexed arrays, item scores to totals."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd


def _first_rows(index, limit=5) -> str:
    labels = list(index[:limit])
    more = f" (and {len(index) - limit} more)" if len(index) > limit else ""
    return f"{labels}{more}"


def _from_long_iv(data, series, session, value):
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`data` must be a pandas DataFrame; got {type(data).__name__}.")
    missing = [name for name in (series, session, value) if name not in data.columns]
    if missing:
        raise ValueError(
            f"`data` has no column(s) {missing}; available columns: {list(data.columns)}."
        )
    keys_missing = data.index[data[[series, session]].isna().any(axis=1)]
    if len(keys_missing):
        raise ValueError(
            f"`data` has missing `{series}` or `{session}` in rows {_first_rows(keys_missing)}."
        )
    duplicated = data.index[data.duplicated([series, session], keep=False)]
    if len(duplicated):
        raise ValueError(
            f"`data` has more than one row for the same ({series}, {session}) pair: rows "
            f"{_first_rows(duplicated)}."
        )
    scores = data[value]
    if pd.api.types.is_bool_dtype(scores) or not pd.api.types.is_numeric_dtype(scores):
        converted = pd.to_numeric(scores, errors="coerce")
        bad = data.index[converted.isna() & scores.notna()]
        if len(bad) or pd.api.types.is_bool_dtype(scores):
            raise ValueError(
                f"`data[{value!r}]` must be numeric; non-numeric values in rows "
                f"{_first_rows(bad if len(bad) else data.index)}."
            )
        scores = converted
    if np.isinf(scores.to_numpy(dtype=float, na_value=np.nan)).any():
        bad = data.index[np.isinf(scores.to_numpy(dtype=float, na_value=np.nan))]
        raise ValueError(f"`data[{value!r}]` has infinite values in rows {_first_rows(bad)}.")
    return scores


def from_long(
    data: pd.DataFrame, *, series: str, session: str, value: str, fill_gaps: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn long data (one row per series and session) into a session-indexed array.

    Parameters
    ----------
    data : DataFrame
        Long data; not modified.
    series, session, value : str
        Columns holding the series id, the session (any sortable label) and the score.
    fill_gaps : bool, default=False
        With integer sessions, give every session number between the first and the last
        a column, so that a session nobody attended (a missing week) still breaks a run of
        consecutive sessions. By default the columns are the sessions present in the data.

    Returns
    -------
    X : ndarray of float64, shape (n_series, n_sessions)
        Scores with NaN for missing sessions; rows in sorted series order, columns in
        sorted session order.
    series_labels : ndarray of shape (n_series,)
        The series id of each row.
    session_labels : ndarray of shape (n_sessions,)
        The session of each column.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame.
    ValueError
        On missing columns, missing keys, duplicated (series, session) pairs or
        non-numeric scores, naming the rows.

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
    """
    scores = _from_long_iv(data, series, session, value)
    frame = pd.DataFrame(
        {"series": data[series].to_numpy(), "session": data[session].to_numpy(), "v": scores}
    )
    wide = frame.pivot(index="series", columns="session", values="v").sort_index(axis=1)
    sessions = wide.columns
    if fill_gaps and len(sessions):
        if not pd.api.types.is_integer_dtype(sessions):
            raise TypeError(
                f"`fill_gaps=True` needs integer sessions; `data[{session!r}]` has dtype "
                f"{sessions.dtype}."
            )
        wide = wide.reindex(columns=np.arange(sessions.min(), sessions.max() + 1))
    X = wide.to_numpy(dtype=np.float64, na_value=np.nan)
    return X, wide.index.to_numpy(), wide.columns.to_numpy()


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
    if isinstance(items, pd.DataFrame):
        bad = [c for c, t in items.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
        if bad:
            raise TypeError(f"`items` must hold numeric item scores; columns {bad} are not.")
        values = items.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        array = np.asarray(items)
        if array.dtype.kind not in "biufO":
            raise TypeError(f"`items` must hold numeric item scores; got dtype {array.dtype}.")
        try:
            values = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"`items` must hold numeric item scores; {error}") from None
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
        Item scores, NaN for a missing item; not modified.
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
    observed_sum = np.where(observed, values, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_mean = observed_sum / n_observed
    totals = observed_sum + n_missing * row_mean if statistic == "sum" else row_mean
    allowed = n_missing == 0 if impute is None else n_observed > 0
    if max_missing is not None:
        allowed &= n_missing <= max_missing
    totals = np.where(allowed, totals, np.nan)
    if isinstance(items, pd.DataFrame):
        return pd.Series(totals, index=items.index, name="total")
    return totals
