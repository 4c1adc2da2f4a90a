"""Hypothesis strategies: session-indexed arrays with NaN patterns, and parameter settings."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

DEFAULTS = {
    "iqr_multiplier": 1.0,
    "quartile_method": "tukey",
    "lower_half": "inclusive",
    "absolute_sd_multiplier": 2.0,
    "pooled_sd": None,
    "min_consecutive": 7,
}
QUARTILE_METHODS = (
    "tukey",
    "linear",
    "hazen",
    "weibull",
    "median_unbiased",
    "normal_unbiased",
    "inverted_cdf",
    "averaged_inverted_cdf",
    "closest_observation",
    "interpolated_inverted_cdf",
    "lower",
    "higher",
    "midpoint",
    "nearest",
)


@st.composite
def session_arrays(
    draw,
    *,
    min_series=1,
    max_series=12,
    min_sessions=2,
    max_sessions=16,
    kind=None,
    nan=True,
    special_rows=True,
):
    """A float array ``(n_series, n_sessions)`` with NaN for missing sessions.

    ``kind`` is ``"integer"`` (integer-valued scores, few distinct values so ties and
    IQR = 0 are common), ``"real"`` (any float in [-1e3, 1e3], subnormals included),
    ``"dyadic"`` (multiples of 1/8: differences are exact) or None (integer or real). With
    ``special_rows`` some rows are made all-NaN or constant.
    """
    n_series = draw(st.integers(min_series, max_series))
    n_sessions = draw(st.integers(min_sessions, max_sessions))
    shape = (n_series, n_sessions)
    kind = kind or draw(st.sampled_from(["integer", "real"]))
    if kind == "integer":
        low = draw(st.integers(-5, 40))
        width = draw(st.sampled_from([1, 3, 8, 36]))
        elements = st.integers(low, low + width).map(float)
    elif kind == "dyadic":
        elements = st.integers(-8000, 8000).map(lambda v: v / 8)
    else:
        elements = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=64)
    X = draw(hnp.arrays(np.float64, shape, elements=elements))
    if nan:
        missing = draw(
            st.one_of(
                hnp.arrays(np.bool_, shape, elements=st.booleans()),
                hnp.arrays(np.bool_, shape, elements=st.sampled_from([False] * 5 + [True])),
                st.just(np.zeros(shape, dtype=bool)),
            )
        )
        X[missing] = np.nan
    if special_rows and n_series > 1:
        special = draw(st.lists(st.integers(0, n_series - 1), max_size=2, unique=True))
        for row in special:
            if draw(st.booleans()):
                X[row] = np.nan
            else:
                X[row, ~np.isnan(X[row])] = draw(elements)
    return X


def integer_arrays(**kwargs):
    return session_arrays(kind="integer", **kwargs)


@st.composite
def parameter_settings(draw, *, absolute=None, pooled_float=True):
    """A dict of TukeyRuptureDetector parameters (only non-default keys may be missing)."""
    params = {
        "iqr_multiplier": draw(
            st.one_of(
                st.sampled_from([0.0, 0.5, 1.0, 1.5, 3.0]),
                st.floats(0, 5, allow_nan=False, allow_infinity=False),
            )
        ),
        "quartile_method": draw(st.sampled_from(QUARTILE_METHODS)),
        "lower_half": draw(st.sampled_from(["inclusive", "exclusive"])),
        "min_consecutive": draw(st.integers(1, 10)),
    }
    use_absolute = draw(st.booleans()) if absolute is None else absolute
    if use_absolute:
        params["absolute_sd_multiplier"] = draw(
            st.one_of(
                st.sampled_from([0.0, 0.5, 1.0, 2.0]),
                st.floats(0, 4, allow_nan=False, allow_infinity=False),
            )
        )
        choices = [st.none(), st.just("within"), st.just("total")]
        if pooled_float:
            choices.append(st.floats(0, 20, allow_nan=False, allow_infinity=False))
        params["pooled_sd"] = draw(st.one_of(*choices))
    else:
        params["absolute_sd_multiplier"] = None
        params["pooled_sd"] = draw(st.sampled_from([None, "within", "total", 1.0]))
    return params


def full_params(params):
    """``params`` completed with the detector's defaults."""
    return {**DEFAULTS, **params}


def random_series(rng, n_series, n_sessions, *, integer, max_nan=0.3):
    """A numpy-generated array for large cross-checks: integer 12..48 or real values,
    each row with its own NaN rate in ``[0, max_nan]``."""
    if integer:
        X = rng.integers(12, 49, size=(n_series, n_sessions)).astype(float)
    else:
        X = rng.normal(30.0, rng.uniform(0.5, 8.0, size=(n_series, 1)), (n_series, n_sessions))
    rate = rng.uniform(0.0, max_nan, size=(n_series, 1))
    X[rng.random((n_series, n_sessions)) < rate] = np.nan
    return X


@st.composite
def scalable_arrays(draw, *, min_series=1, max_series=12, min_sessions=2, max_sessions=16):
    """Session arrays that stay in the normal float range when scaled by ``2**k`` for
    ``-540 <= k`` and up to the largest ``k`` that keeps them finite: values are 0 or have
    magnitudes in ``[2**-300, 1e3]`` (integers, multiples of 1/8 or any such float)."""
    kind = draw(st.sampled_from(["integer", "dyadic", "real"]))
    if kind != "real":
        return draw(
            session_arrays(
                min_series=min_series,
                max_series=max_series,
                min_sessions=min_sessions,
                max_sessions=max_sessions,
                kind=kind,
            )
        )
    magnitudes = st.floats(2.0**-300, 1e3, allow_nan=False, allow_infinity=False)
    elements = st.one_of(st.just(0.0), magnitudes, magnitudes.map(lambda v: -v))
    n_series = draw(st.integers(min_series, max_series))
    n_sessions = draw(st.integers(min_sessions, max_sessions))
    X = draw(hnp.arrays(np.float64, (n_series, n_sessions), elements=elements))
    missing = draw(hnp.arrays(np.bool_, X.shape, elements=st.sampled_from([False] * 4 + [True])))
    X[missing] = np.nan
    return X


def largest_finite_exponent(X):
    """The largest ``k`` for which ``X * 2**k`` is finite: ``max |X| < 2**e`` gives
    ``1024 - e`` (1000 for an array of zeros and NaN)."""
    top = np.nanmax(np.abs(X), initial=0.0)
    return 1000 if top == 0 else 1024 - int(np.frexp(top)[1])
