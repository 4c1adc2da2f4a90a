"""Applying a batch of permutations or sign flips to a vector or the rows of a matrix.

Permutations are integer index rows (gather convention, ``v[p]``); sign flips are ``int8``
rows of ``+1``/``-1`` (``s * v``). The dtype tells them apart, so every kernel and every
exact statistic takes either.
"""

from __future__ import annotations

import numpy as np

#: The dtype of sign-flip rows.
SIGN_DTYPE = np.int8


def is_signflip(rows: np.ndarray) -> bool:
    """Whether ``rows`` are sign flips (else permutations)."""
    return rows.dtype == SIGN_DTYPE


def transform(values: np.ndarray, rows: np.ndarray, signflip: bool | None = None) -> np.ndarray:
    """``values`` (n,) or (n, k) transformed by every row of ``rows`` (b, n): gathered
    (``values[p]``) or multiplied (``s * values``, each sign scaling a row of a matrix);
    ``signflip=None`` reads which from the dtype of ``rows``."""
    if signflip is None:
        signflip = is_signflip(rows)
    if not signflip:
        return values[rows]
    if values.dtype == object:  # exact integers: signs as Python ints, never int8 overflow
        rows = rows.astype(object)
    return rows * values if values.ndim == 1 else rows[..., None] * values
