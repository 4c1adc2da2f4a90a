"""Dask adapter: lazy checks and block-wise application over row chunks.

Imported only when a dask array is passed, so dask stays an optional extra.
"""

from __future__ import annotations

import dask
import numpy as np

from tukeyrupture import _core
from tukeyrupture._validation import check_dtype


def _check_block(block):
    if np.isinf(block).any():
        raise ValueError("Input X contains infinity; only finite values and NaN are allowed.")
    return block


def check_dask_input(estimator, X, *, reset):
    """Check shape and dtype without computing; infinities are caught per block later."""
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array for `X` (series x sessions), got a {X.ndim}D dask array."
        )
    check_dtype("X", X.dtype, "a dask array of ")
    n_sessions = X.shape[1]
    if X.shape[0] == 0:
        raise ValueError(
            f"Invalid `X`: found array with 0 sample(s) (shape={X.shape}) while a minimum of "
            f"1 is required by {name}."
        )
    if reset:
        if n_sessions < 2:
            raise ValueError(
                f"Found array with {n_sessions} feature(s) (shape={X.shape}) while a minimum "
                f"of 2 is required by {name}."
            )
        estimator.n_features_in_ = n_sessions
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_sessions != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_sessions} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    return X.astype(np.float64).rechunk({1: -1}).map_blocks(_check_block, dtype=np.float64)


def _pooled_sd_block(block, min_consecutive, kind):
    return _core.pooled_sd_parts(block, _core.eligible_series(block, min_consecutive), kind)


def pooled_sd(X, min_consecutive, kind):
    """Pooled SD from per-block sufficient sums, combined exactly; returns ``(sd, dof)``."""
    blocks = X.to_delayed().ravel()
    parts = dask.compute(
        *[dask.delayed(_pooled_sd_block)(b, min_consecutive, kind) for b in blocks]
    )
    return _core.finish_pooled_sd(*_core.combine_pooled_parts(parts, kind))


def map_rows(X, function, *, dtype, n_columns=None):
    """Apply a row-wise array function to each row chunk, lazily."""
    if n_columns is None:
        return X.map_blocks(function, dtype=dtype)
    return X.map_blocks(function, dtype=dtype, chunks=(X.chunks[0], (n_columns,)))
