"""Session columns of long data: sortable keys, labels, and the filling of gaps."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from tukeyrupture._validation import plain, show_rows

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
