"""huh_jhun's rotations: ``V`` (``(n - rank(D)) x n``) for every effect.

``V`` is dense: memory grows with the square of the rows and its QR with their cube, so
huh_jhun is limited to :data:`MAX_ROWS` rows (every other method is linear in the rows).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from permanova._design import Design, complement_basis, orthonormal_basis

#: Largest design (rows) that huh_jhun accepts: one ``n x n`` float matrix is 128 MiB.
MAX_ROWS = 4000


def check_size(n: int) -> None:
    """Refuse a design too large for an ``n x n`` rotation (before anything is built)."""
    if n > MAX_ROWS:
        raise ValueError(
            f"method 'huh_jhun' rotates the residuals with an n x n matrix (O(n^2) memory "
            f"and O(n^3) time); it is limited to designs of at most {MAX_ROWS} rows; got "
            f"{n} rows. Use 'freedman_lane', whose memory is linear in the rows."
        )


def huh_jhun_rotation(design: Design, i: int, raw: np.ndarray) -> np.ndarray:
    """permuco's ``V`` for effect ``i`` from an ``n x n`` random matrix ``raw``.

    ``V = Omega Q_c'``: ``Q_c`` (n x m) is an orthonormal basis of the complement of the
    reduced model ``D`` (complete QR), ``m = n - rank(D)``, and ``Omega`` is the Q factor
    of the leading ``m x m`` block of ``raw`` with the signs of R's diagonal made positive.
    """
    q_c = complement_basis(design.X[:, ~design.columns(i)])
    m = q_c.shape[1]
    q, r = np.linalg.qr(raw[:m, :m])
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    omega = q * signs
    return omega @ q_c.T


def rotations(design: Design, rotation, rng: np.random.Generator) -> dict:
    """``{effect: V}`` for huh_jhun, from a user matrix/dict or a random ``n x n`` draw."""
    n = design.n
    check_size(n)
    if rotation is None:
        raw = rng.standard_normal((n, n))
        return {name: huh_jhun_rotation(design, i, raw) for i, name in _enum(design)}
    if isinstance(rotation, Mapping):
        unknown = sorted(set(rotation) - set(design.effects))
        missing = [e for e in design.effects if e not in rotation]
        if unknown or missing:
            raise ValueError(
                f"`rotation` as a dict needs one matrix per effect {list(design.effects)}; "
                f"unknown: {unknown}, missing: {missing}."
            )
        return {name: _check_v(design, i, rotation[name], name) for i, name in _enum(design)}
    array = _as_float_matrix(rotation, "rotation")
    if array.shape == (n, n):
        return {name: huh_jhun_rotation(design, i, array) for i, name in _enum(design)}
    return {name: _check_v(design, i, array, name) for i, name in _enum(design)}


def _enum(design):
    return enumerate(design.effects, start=1)


def _as_float_matrix(value, name) -> np.ndarray:
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise TypeError(f"`{name}` must be a real numeric matrix; got dtype {array.dtype}.")
    array = array.astype(np.float64)
    if array.ndim != 2 or not np.isfinite(array).all():
        raise ValueError(f"`{name}` must be a finite 2-D matrix; got shape {array.shape}.")
    return array


def _check_v(design: Design, i: int, value, effect: str) -> np.ndarray:
    v = _as_float_matrix(value, "rotation")
    reduced = design.X[:, ~design.columns(i)]
    m = design.n - orthonormal_basis(reduced).shape[1]
    if v.shape != (m, design.n):
        raise ValueError(
            f"`rotation` for effect {effect!r} must be the raw {design.n} x {design.n} "
            f"matrix or V of shape ({m}, {design.n}); got {v.shape}."
        )
    scale = max(1.0, float(np.abs(v).max()))
    if not np.allclose(v @ v.T, np.eye(m), atol=1e-8 * scale) or not np.allclose(
        v @ reduced, 0.0, atol=1e-8 * scale * max(1.0, np.abs(reduced).max())
    ):
        raise ValueError(
            f"`rotation` V for effect {effect!r} must have orthonormal rows orthogonal to the "
            "model without that effect."
        )
    return v
