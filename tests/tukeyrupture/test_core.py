"""The kernels of ``tukeyrupture._core`` against the per-series oracle."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tukeyrupture import oracle
from tests.tukeyrupture.strategies import (
    QUARTILE_METHODS,
    full_params,
    parameter_settings,
    random_series,
    session_arrays,
)
from tukeyrupture import TukeyRuptureDetector, _core

ALL_OUTPUTS = (
    "labels",
    "tcc",
    "absolute",
    "score",
    "drop",
    "eligible",
    "median",
    "q1",
    "q3",
    "lower_half_median",
)
SERIES_STATS = ("median", "q1", "q3", "lower_half_median")


def core_run(X, params, s, outputs=ALL_OUTPUTS):
    p = full_params(params)
    c = p["absolute_sd_multiplier"]
    return _core.detect_arrays(
        X,
        iqr_multiplier=p["iqr_multiplier"],
        quartile_method=p["quartile_method"],
        lower_half=p["lower_half"],
        min_consecutive=p["min_consecutive"],
        absolute_sd_multiplier=c,
        pooled_sd=s,
        outputs=outputs,
    )


def assert_core_matches_oracle(X, params, s):
    got = core_run(X, params, s)
    want = oracle.detect_loop(X, full_params(params), s)
    np.testing.assert_array_equal(got["eligible"], want["eligible"])
    np.testing.assert_array_equal(got["tcc"], want["tcc"])
    np.testing.assert_array_equal(got["absolute"], want["absolute"])
    np.testing.assert_array_equal(got["labels"], want["labels"])
    np.testing.assert_array_equal(got["score"], want["score"])
    for name in SERIES_STATS:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    assert got["labels"].dtype == np.int8


# --- small exact examples -------------------------------------------------------------


def test_study_style_example_repaired_and_unrepaired():
    # values 5,6,6,5,6,2,6,5,6,5: sorted 2 5 5 5 5 6 6 6 6 6; lower half (5) 2 5 5 5 5 -> 5
    # Q1 = 5, Q3 = 6, IQR = 1, LCL = 4 (k = 1). Session 5 (0-based) = 2 < 4, pre 6 > 5.
    x = np.array([[5, 6, 6, 5, 6, 2, 6, 5, 6, 5.0], [5, 6, 6, 5, 6, 2, 4, 5, 6, 5.0]])
    got = core_run(x, {"absolute_sd_multiplier": None}, math.nan)
    np.testing.assert_array_equal(got["labels"][0], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(got["labels"][1], [0, 0, 0, 0, 0, 2, 0, 0, 0, 0])
    # second row sorted: 2 4 5 5 5 5 6 6 6 6 -> lower half 2 4 5 5 5 -> Q1 = LHM = 5
    np.testing.assert_array_equal(got["q1"], [5.0, 5.0])
    np.testing.assert_array_equal(got["lower_half_median"], [5.0, 5.0])


def test_unresolved_last_session_and_missing_post():
    x = np.array(
        [[6, 6, 7, 6, 7, 6, 7, 2.0], [6, 6, 7, 6, 7, 2, np.nan, 7.0], [6, 6, 7, 6, 7, 7, 2, 6]]
    )
    got = core_run(x, {"absolute_sd_multiplier": None, "min_consecutive": 5}, math.nan)
    assert got["labels"][0, 7] == oracle.UNRESOLVED
    assert got["labels"][1, 5] == oracle.UNRESOLVED
    assert got["labels"][2, 6] == oracle.REPAIRED


def test_tukey_hinges_odd_and_even_counts():
    # n = 7: 1 2 3 4 5 6 7 -> hinges: median(1..4) = 2.5, median(4..7) = 5.5
    # n = 8: 1..8 -> hinges: median(1..4) = 2.5, median(5..8) = 6.5
    X = np.array([[7, 1, 6, 2, 5, 3, 4, np.nan], [8, 1, 7, 2, 6, 3, 5, 4.0]])
    summary = _core.row_summaries(X)
    np.testing.assert_array_equal(summary.q1, [2.5, 2.5])
    np.testing.assert_array_equal(summary.q3, [5.5, 6.5])
    np.testing.assert_array_equal(summary.median, [4.0, 4.5])
    np.testing.assert_array_equal(summary.lower_half_median, [2.5, 2.5])
    exclusive = _core.row_summaries(X, lower_half="exclusive")
    # exclusive lower half of 7 values: 1 2 3 -> 2; of 8 values: 1..4 -> 2.5
    np.testing.assert_array_equal(exclusive.lower_half_median, [2.0, 2.5])
    # the hinges do not depend on lower_half
    np.testing.assert_array_equal(exclusive.q1, [2.5, 2.5])
    np.testing.assert_array_equal(exclusive.q3, [5.5, 6.5])


def test_absolute_criterion_requires_a_decrease_when_threshold_is_zero():
    # With c * s == 0 the rule "x[t-1] - x[t] >= 0" would flag every equal or increasing
    # pair; the implementation (and the oracle) require a positive decrease.
    x = np.array([[5, 5, 5, 6, 5, 5, 5, 5.0]])
    got = core_run(x, {"pooled_sd": 0.0, "iqr_multiplier": 1.0}, 0.0)
    np.testing.assert_array_equal(got["absolute"][0], [0, 0, 0, 0, 1, 0, 0, 0])
    want = oracle.detect_loop(x, full_params({}), 0.0)
    np.testing.assert_array_equal(got["absolute"], want["absolute"])
    # c = 0 with a positive SD: threshold 0 as well
    got = core_run(x, {"absolute_sd_multiplier": 0.0}, 3.0)
    np.testing.assert_array_equal(got["absolute"][0], [0, 0, 0, 0, 1, 0, 0, 0])


def test_absolute_criterion_boundary_is_inclusive():
    x = np.array([[10, 10, 6, 10, 10, 10, 10, 10.0]])
    got = core_run(x, {"iqr_multiplier": 100.0, "absolute_sd_multiplier": 2.0}, 2.0)
    np.testing.assert_array_equal(got["absolute"][0], [0, 0, 1, 0, 0, 0, 0, 0])
    got = core_run(x, {"iqr_multiplier": 100.0, "absolute_sd_multiplier": 2.0}, 2.0000001)
    assert not got["absolute"].any()


def test_tcc_strict_inequalities():
    # x[t] == LCL is not below it; x[t-1] == LHM is not above it.
    # 4 4 4 5 5 5 5 : Q1 = 4, Q3 = 5, IQR 1, k = 0 -> LCL 4; nothing below
    x = np.array([[5, 4, 5, 4, 5, 4, 5.0]])
    got = core_run(x, {"iqr_multiplier": 0.0, "absolute_sd_multiplier": None}, math.nan)
    assert not got["tcc"].any()
    # pre-session equal to LHM: 3 is below LCL but the previous value equals LHM (= Q1)
    x = np.array([[5, 5, 5, 6, 6, 6, 5, 2.0]])
    summary = _core.row_summaries(x)
    assert summary.lower_half_median[0] == 5.0
    got = core_run(x, {"iqr_multiplier": 0.0, "absolute_sd_multiplier": None}, math.nan)
    assert not got["tcc"].any()


def test_score_with_zero_iqr():
    # sorted 3 5 5 5 5 5 5 6 6: Q1 = median(3 5 5 5 5) = 5 = Q3 = median(5 5 5 6 6), LHM 5
    x = np.array([[5, 5, 6, 5, 6, 3, 5, 5, 5.0]])
    got = core_run(x, {"absolute_sd_multiplier": None}, math.nan)
    assert got["q1"][0] == got["q3"][0] == 5.0
    assert got["score"][0, 5] == np.inf  # below Q1, pre-session 6 > LHM
    assert got["score"][0, 3] == -np.inf  # equal to Q1 with IQR 0: never a TCC flag
    assert got["score"][0, 6] == -np.inf  # pre-session 3 not above LHM
    assert not np.isnan(got["score"]).any()
    np.testing.assert_array_equal(got["labels"][0], [0, 0, 0, 0, 0, 1, 0, 0, 0])
    # above Q1 with IQR 0
    x = np.array([[5, 5, 5, 5, 5, 5, 6, 7, 5.0]])
    got = core_run(x, {"absolute_sd_multiplier": None}, math.nan)
    assert got["q1"][0] == got["q3"][0] == 5.0
    np.testing.assert_array_equal(got["score"][0], [-np.inf] * 9)


# --- kernels one by one ---------------------------------------------------------------


@pytest.mark.parametrize("n_cols", [1, 2, 7, 8, 9, 16, 63, 64])
def test_observed_bits(n_cols, rng):
    X = rng.normal(size=(50, n_cols))
    X[rng.random(X.shape) < 0.4] = np.nan
    bits = _core.observed_bits(X)
    for i in range(X.shape[0]):
        want = sum(1 << t for t in range(n_cols) if not np.isnan(X[i, t]))
        assert int(bits[i]) == want
    np.testing.assert_array_equal(
        _core.count_observed(X, bits), np.count_nonzero(~np.isnan(X), axis=1)
    )
    np.testing.assert_array_equal(_core.count_observed(X), np.count_nonzero(~np.isnan(X), axis=1))


@pytest.mark.parametrize("n_cols", [2, 5, 12, 64, 65, 70, 130])
def test_longest_run_and_eligibility(n_cols, rng):
    X = rng.normal(size=(300, n_cols))
    X[rng.random(X.shape) < rng.uniform(0, 0.6, size=(300, 1))] = np.nan
    X[0] = np.nan
    X[1] = 1.0
    longest = _core.longest_observed_run(X)
    want = np.array([oracle.longest_observed_run(row) for row in X])
    np.testing.assert_array_equal(longest, want)
    for min_consecutive in (1, 2, 3, 5, 7, 8, 10, 33, n_cols, n_cols + 1):
        got = _core.eligible_series(X, min_consecutive)
        np.testing.assert_array_equal(got, want >= min_consecutive, err_msg=str(min_consecutive))


@settings(max_examples=250, deadline=None, derandomize=True)
@given(X=session_arrays(), method=st.sampled_from(QUARTILE_METHODS), half=st.booleans())
def test_row_summaries_vs_oracle(X, method, half):
    lower_half = "inclusive" if half else "exclusive"
    summary = _core.row_summaries(X, quartile_method=method, lower_half=lower_half)
    for i, row in enumerate(X):
        want = oracle.series_stats(row, quartile_method=method, lower_half=lower_half)
        assert summary.n_observed[i] == np.count_nonzero(~np.isnan(row))
        for name in ("median", "q1", "q3", "lower_half_median"):
            got = getattr(summary, name)[i]
            assert got == want[name] or (np.isnan(got) and np.isnan(want[name])), name


@settings(max_examples=150, deadline=None, derandomize=True)
@given(X=session_arrays(), params=parameter_settings())
def test_mask_kernels_vs_oracle(X, params):
    p = full_params(params)
    s = 1.7
    want = oracle.detect_loop(X, p, s)
    summary = _core.row_summaries(
        X, quartile_method=p["quartile_method"], lower_half=p["lower_half"]
    )
    eligible = _core.eligible_series(X, p["min_consecutive"])
    iqr = summary.q3 - summary.q1
    lhm = summary.lower_half_median
    tcc = _core.tcc_mask(X, summary.q1, iqr, lhm, p["iqr_multiplier"], eligible)
    np.testing.assert_array_equal(tcc, want["tcc"])
    score = _core.tcc_score(X, summary.q1, iqr, lhm, eligible)
    np.testing.assert_array_equal(score, want["score"])
    if p["absolute_sd_multiplier"] is not None:
        absolute = _core.absolute_mask(X, p["absolute_sd_multiplier"] * s, eligible)
        np.testing.assert_array_equal(absolute, want["absolute"])
        central = tcc | absolute
    else:
        central = tcc
    labels = _core.repair_labels(X, central, lhm)
    np.testing.assert_array_equal(labels, want["labels"])
    drop = _core.session_drop(X)
    assert np.isnan(drop[:, 0]).all()
    np.testing.assert_array_equal(drop[:, 1:], X[:, :-1] - X[:, 1:])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(X=session_arrays(max_series=20), min_consecutive=st.integers(1, 10))
def test_pooled_sd_vs_oracle(X, min_consecutive):
    eligible = _core.eligible_series(X, min_consecutive)
    for kind in ("within", "total"):
        sd, dof = _core.pooled_sd(X, eligible, kind)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            want = oracle.pooled_sd(X, kind=kind, min_consecutive=min_consecutive)
        if math.isnan(want):
            assert caught
            assert math.isnan(sd)
            assert dof == 0
        else:
            assert dof > 0
            scale = np.nanmax(np.abs(X))
            assert sd == pytest.approx(want, rel=1e-9, abs=1e-12 * scale)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(X=session_arrays(min_series=2, max_series=20), cut=st.integers(1, 19))
def test_pooled_parts_combine_across_blocks(X, cut):
    cut = min(cut, X.shape[0] - 1)
    eligible = _core.eligible_series(X, 3)
    for kind, rtol in (("total", 1e-9), ("within", 1e-12)):
        parts = [
            _core.pooled_sd_parts(X[:cut], eligible[:cut], kind),
            _core.pooled_sd_parts(X[cut:], eligible[cut:], kind),
        ]
        split = _core.finish_pooled_sd(*_core.combine_pooled_parts(parts, kind))
        whole = _core.pooled_sd(X, eligible, kind)
        assert split[1] == whole[1]
        np.testing.assert_allclose(split[0], whole[0], rtol=rtol, atol=1e-12)


def test_pooled_sd_hand_computed():
    X = np.array([[1, 2, 3, np.nan], [10, 10, 14, 14], [np.nan, 1, np.nan, 5]])
    eligible = np.array([True, True, False])
    # within: (2 + 16) / (2 + 3) ; total: SD of 1 2 3 10 10 14 14
    sd, dof = _core.pooled_sd(X, eligible, "within")
    assert dof == 5
    assert sd == pytest.approx(math.sqrt(18 / 5))
    sd, dof = _core.pooled_sd(X, eligible, "total")
    assert dof == 6
    assert sd == pytest.approx(np.std([1, 2, 3, 10, 10, 14, 14], ddof=1))
    sd, dof = _core.pooled_sd(X, np.zeros(3, dtype=bool), "within")
    assert math.isnan(sd) and dof == 0


@settings(max_examples=300, deadline=None, derandomize=True)
@given(X=session_arrays(), params=parameter_settings(), s=st.floats(0, 10))
def test_detect_arrays_vs_oracle(X, params, s):
    assert_core_matches_oracle(X, params, s)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    X=session_arrays(min_sessions=60, max_sessions=75, max_series=5), params=parameter_settings()
)
def test_detect_arrays_vs_oracle_beyond_64_sessions(X, params):
    assert_core_matches_oracle(X, params, 2.5)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(X=session_arrays(), params=parameter_settings(), s=st.floats(0, 10))
def test_detect_arrays_outputs_subset(X, params, s):
    everything = core_run(X, params, s)
    for name in ALL_OUTPUTS:
        alone = core_run(X, params, s, outputs=(name,))
        assert set(alone) == {name}
        np.testing.assert_array_equal(alone[name], everything[name], err_msg=name)


@pytest.mark.parametrize("chunk_bytes", [1, 100, 2000])
def test_chunking_does_not_change_results(monkeypatch, rng, chunk_bytes):
    X = random_series(rng, 257, 13, integer=True)
    X[::17] = np.nan
    params = {"quartile_method": "linear", "min_consecutive": 4, "pooled_sd": 1.3}
    before = core_run(X, params, 1.3)
    monkeypatch.setattr(_core, "CHUNK_BYTES", chunk_bytes)
    chunks = list(_core.row_chunks(*X.shape))
    assert len(chunks) > 1
    assert np.concatenate([np.arange(X.shape[0])[c] for c in chunks]).tolist() == list(
        range(X.shape[0])
    )
    after = core_run(X, params, 1.3)
    for name in ALL_OUTPUTS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert_core_matches_oracle(X, params, 1.3)
    # and through the estimator
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = TukeyRuptureDetector(**params).fit(X)
    np.testing.assert_array_equal(det.predict(X), before["labels"])


# --- the large random cross-check ---------------------------------------------------------

LARGE_SETTINGS = [
    {},
    {"iqr_multiplier": 1.5, "absolute_sd_multiplier": None},
    {"pooled_sd": "total", "lower_half": "exclusive"},
    {"quartile_method": "linear", "iqr_multiplier": 0.5, "min_consecutive": 5},
    {"quartile_method": "hazen", "pooled_sd": 2.75, "min_consecutive": 3},
    {"iqr_multiplier": 0.0, "absolute_sd_multiplier": 1.0, "min_consecutive": 10},
    {"quartile_method": "inverted_cdf", "lower_half": "exclusive", "min_consecutive": 1},
    {"iqr_multiplier": 3.0, "pooled_sd": 0.0, "quartile_method": "midpoint"},
]


@pytest.mark.parametrize("integer", [True, False], ids=["integer", "real"])
def test_large_random_cross_check(integer):
    """40,000 series (2 x 8 settings x 2,500) against the oracle: labels, masks, scores, stats
    and ``pooled_sd_`` learned by ``fit``."""
    rng = np.random.default_rng(8128 + integer)
    for params in LARGE_SETTINGS:
        X = random_series(rng, 2500, int(rng.integers(8, 21)), integer=integer)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            detector = TukeyRuptureDetector(**params).fit(X)
            s = oracle.fitted_pooled_sd(X, full_params(params))
        if math.isnan(s):
            assert math.isnan(detector.pooled_sd_)
        else:
            assert detector.pooled_sd_ == pytest.approx(s, rel=1e-12)
        result = detector.detect(X)
        want = oracle.detect_loop(X, full_params(params), detector.pooled_sd_)
        np.testing.assert_array_equal(result.labels, want["labels"], err_msg=str(params))
        np.testing.assert_array_equal(result.tcc, want["tcc"])
        np.testing.assert_array_equal(result.absolute, want["absolute"])
        np.testing.assert_array_equal(result.score, want["score"])
        np.testing.assert_array_equal(result.eligible, want["eligible"])
        for name in oracle.STAT_NAMES:
            np.testing.assert_array_equal(getattr(result, name), want[name], err_msg=name)
        np.testing.assert_array_equal(detector.predict(X), want["labels"])


# --- issue 8: numerical range ---------------------------------------------------------

FLOAT_MAX = np.finfo(np.float64).max


def test_hinges_near_the_float_maximum_do_not_overflow():
    """Finding F5 (fixed): (a + b) / 2 overflowed for a + b > the float maximum."""
    x = np.array([[FLOAT_MAX, FLOAT_MAX, 0.75 * FLOAT_MAX, FLOAT_MAX, 0.5 * FLOAT_MAX]])
    summary = _core.row_summaries(x)
    # sorted: M/2, 3M/4, M, M, M; hinges are medians of the 3 smallest and 3 largest
    assert summary.q1[0] == 0.75 * FLOAT_MAX
    assert summary.q3[0] == FLOAT_MAX
    assert summary.median[0] == FLOAT_MAX
    even = np.array([[FLOAT_MAX, np.nextafter(FLOAT_MAX, 0), -FLOAT_MAX, -FLOAT_MAX]])
    summary = _core.row_summaries(even)
    assert summary.q3[0] == FLOAT_MAX / 2 + np.nextafter(FLOAT_MAX, 0) / 2
    assert summary.q1[0] == -FLOAT_MAX
    assert summary.median[0] == (np.nextafter(FLOAT_MAX, 0) - FLOAT_MAX) / 2


@pytest.mark.parametrize("method", ["tukey", "linear", "hazen", "midpoint"])
def test_rows_near_the_float_maximum_equal_their_scaled_down_copy(rng, method):
    X = random_series(rng, 200, 12, integer=False)
    X[::3] -= 30.0  # values of both signs: differences of values are twice their size
    params = {"quartile_method": method, "iqr_multiplier": 1.5, "min_consecutive": 5}
    small = core_run(X, params, 2.0)
    exponent = 1024 - int(np.frexp(np.nanmax(np.abs(X)))[1])
    factor = 2.0**exponent
    with np.errstate(over="raise"):
        huge = core_run(X * factor, params, 2.0 * factor)
    for name in ("labels", "tcc", "absolute", "score", "eligible"):
        np.testing.assert_array_equal(huge[name], small[name], err_msg=name)
    for name in SERIES_STATS:
        np.testing.assert_array_equal(huge[name], small[name] * factor, err_msg=name)
    np.testing.assert_array_equal(huge["drop"], small["drop"] * factor)
    assert small["labels"].any()


def test_overflow_shifts_touch_only_rows_near_the_maximum():
    X = np.array([[1.0, -3.0], [2.0**1020, 1.0], [np.nan, np.nan], [-(2.0**1022), 0.0]])
    np.testing.assert_array_equal(_core.overflow_shifts(X, headroom=3), [0, 0, 0, 1023])
    np.testing.assert_array_equal(_core.overflow_shifts(X, headroom=5), [0, 1021, 0, 1023])
    shifted = _core.shift_rows(X, _core.overflow_shifts(X, headroom=5))
    np.testing.assert_array_equal(shifted[0], X[0])
    np.testing.assert_array_equal(shifted[[1, 3]], [[0.5, 2.0**-1021], [-0.5, 0.0]])


@pytest.mark.parametrize("kind", ["within", "total"])
@pytest.mark.parametrize("exponent", [-1000, -540, -300, 0, 300, 511, 1000])
def test_pooled_sd_scales_exactly(rng, kind, exponent):
    X = random_series(rng, 50, 10, integer=False)
    eligible = _core.eligible_series(X, 3)
    sd, dof = _core.pooled_sd(X, eligible, kind)
    scaled, scaled_dof = _core.pooled_sd(X * 2.0**exponent, eligible, kind)
    assert scaled_dof == dof
    assert scaled == np.ldexp(sd, exponent)
    want = oracle.pooled_sd(X[eligible], kind=kind, min_consecutive=1)
    assert sd == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("kind", ["within", "total"])
def test_pooled_sd_ignores_a_huge_offset_of_integer_scores(rng, kind):
    X = random_series(rng, 40, 12, integer=True)
    eligible = _core.eligible_series(X, 7)
    for offset in (1e12, -(2.0**52), 12345678.0):
        assert _core.pooled_sd(X + offset, eligible, kind) == _core.pooled_sd(X, eligible, kind)


def test_pooled_sd_of_values_spanning_the_float_range():
    # deviations of +-M about 0: the SD is M * sqrt(n / (n - 1)), beyond the float range
    x = np.array([[FLOAT_MAX, -FLOAT_MAX] * 4])
    sd, dof = _core.pooled_sd(x, np.array([True]), "within")
    assert dof == 7 and sd == np.inf
    x = np.array([[FLOAT_MAX, -FLOAT_MAX, 0.0, 0.0] * 4]) / 4
    sd, _ = _core.pooled_sd(x, np.array([True]), "within")
    assert sd == pytest.approx(FLOAT_MAX / 4 * math.sqrt(8 / 15), rel=1e-15)
