"""Tests of simulate_realistic: moments against presets and quadrature, truth, seeds, input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from tukeyrupture.comparison.realistic import (
    PRESETS,
    REPAIR_SHAPES,
    RealisticAlliance,
    simulate_realistic,
)
from tukeyrupture.comparison.simulate import SimulatedAlliance

# The study's descriptives (Results): mean and SD of the children's TASC totals and the
# therapists' WAI-S item means over all analysed sessions.
STUDY = {"children": (38.68, 2.75), "therapists": (3.86, 0.31)}


def _score_moments(params, nodes=80):
    """Mean, SD and ceiling share of the rupture-free score, by Gauss-Hermite quadrature.

    Written from the model of the docstring, independently of the generator: the latent
    score at session t is normal with mean ``mean + trend * t`` and variance
    ``between_sd**2 + (1 - item_noise) * within_sd**2``; given it, item j is an independent
    rounded, clipped normal around the latent item level plus its offset; sessions are
    weighted by the share of series long enough to have them (MCAR missingness does not
    change the weights).
    """
    k = params["n_items"]
    lo, hi = params["item_range"]
    per_item = k if params["aggregate"] == "sum" else 1
    q, w = params["item_noise"], params["within_sd"]
    item_sd = w * math.sqrt(q * (k if per_item == 1 else 1 / k))
    latent_sd = math.sqrt(params["between_sd"] ** 2 + (1 - q) * w * w)
    x, weight = np.polynomial.hermite_e.hermegauss(nodes)
    weight = weight / weight.sum()
    low, high = params["lengths"]
    sessions = np.arange(params["n_sessions"])
    session_weight = (sessions[:, None] < np.arange(low, high + 1)).mean(axis=1)
    session_weight /= session_weight.sum()
    categories = np.arange(lo, hi + 1)
    upper = np.where(categories == hi, np.inf, categories + 0.5)
    lower = np.where(categories == lo, -np.inf, categories - 0.5)
    offsets = (np.arange(k) + 0.5) / k - 0.5
    first, second, ceiling = [], [], []
    for t in sessions:
        level = (params["mean"] + params["trend"] * t + latent_sd * x) / per_item
        centre = level[:, None, None] + offsets[None, :, None]  # node, item, category
        p = stats.norm.cdf((upper - centre) / item_sd) - stats.norm.cdf((lower - centre) / item_sd)
        item_mean = p @ categories
        item_var = p @ categories**2 - item_mean**2
        total = item_mean.sum(axis=1)
        first.append(weight @ total)
        second.append(weight @ (item_var.sum(axis=1) + total**2))
        ceiling.append(weight @ np.prod(p[:, :, -1], axis=1))
    mean = session_weight @ np.array(first)
    sd = math.sqrt(session_weight @ np.array(second) - mean**2)
    scale = 1 if per_item == k else k
    return mean / scale, sd / scale, float(session_weight @ np.array(ceiling))


def _observed(sim):
    return sim.X[~np.isnan(sim.X)]


def test_result_type_fields_and_read_only():
    sim = simulate_realistic(40, "children", random_state=0)
    assert isinstance(sim, RealisticAlliance) and isinstance(sim, SimulatedAlliance)
    assert sim.X.shape == sim.labels.shape == sim.planted.shape == (40, 15)
    assert sim.lengths.shape == sim.person_ar.shape == sim.person_mean.shape == (40,)
    assert sim.labels.dtype == np.int8 and sim.repair_shape.dtype == np.int8
    for name in ("X", "labels", "central", "planted", "repair_shape", "lengths", "person_ar"):
        with pytest.raises(ValueError):
            getattr(sim, name)[0] = 1
    assert repr(sim).startswith("RealisticAlliance(preset='children', n_series=40")
    frame = sim.to_frame()
    assert len(frame) == 40 * 15
    planted = frame["repair_shape"].notna().to_numpy()
    np.testing.assert_array_equal(planted, sim.planted.ravel())


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_marginal_mean_and_sd_match_the_study(preset):
    # the full preset (ruptures, missingness, lengths): the study's descriptives
    values = _observed(simulate_realistic(5000, preset, random_state=1))
    mean, sd = STUDY[preset]
    assert abs(values.mean() - mean) < 0.03 * sd
    assert abs(values.std() - sd) < 0.03 * sd


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("mean_shift", [0.0, 3.0])
def test_moments_and_ceiling_share_against_quadrature(preset, mean_shift):
    params = dict(PRESETS[preset], rupture_rate=0.0)
    # 3 within SDs higher, about 5% of the scores sit at the ceiling
    params["mean"] += mean_shift * params["within_sd"]
    sim = simulate_realistic(20_000, preset, **params, random_state=2)
    mean, sd, ceiling = _score_moments(params)
    values = _observed(sim)
    top = params["item_range"][1] * (params["n_items"] if params["aggregate"] == "sum" else 1)
    # person levels dominate the standard error of the mean: 20_000 persons
    assert abs(values.mean() - mean) < 4 * sd / math.sqrt(20_000)
    assert abs(values.std() - sd) < 0.015 * sd
    if mean_shift:
        assert ceiling > 0.03
        assert abs(np.mean(values == top) - ceiling) < 0.06 * ceiling


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_bounds_and_grid_of_values(preset):
    p = PRESETS[preset]
    sim = simulate_realistic(3000, preset, depth=6.0, rupture_rate=0.3, random_state=3)
    values = _observed(sim)
    k, (lo, hi) = p["n_items"], p["item_range"]
    if p["aggregate"] == "sum":
        assert values.min() >= k * lo and values.max() <= k * hi
        np.testing.assert_array_equal(values, np.rint(values))
    else:
        assert values.min() >= lo and values.max() <= hi
        np.testing.assert_allclose(values * k, np.rint(values * k), atol=1e-9)
    assert values.max() == (k * hi if p["aggregate"] == "sum" else hi)  # the ceiling is reached


def test_lengths_and_missing_rates():
    sim = simulate_realistic(
        20_000,
        "children",
        lengths=(8, 12),
        missing_rate=0.2,
        post_rupture_missing=0.2,
        rupture_rate=0.1,
        random_state=4,
    )
    assert sim.lengths.min() == 8 and sim.lengths.max() == 12
    # lengths uniform on 8..12
    counts = np.bincount(sim.lengths, minlength=13)[8:]
    assert stats.chisquare(counts).pvalue > 1e-4
    inside = np.arange(15) < sim.lengths[:, None]
    assert np.isnan(sim.X[~inside]).all()
    missing = np.isnan(sim.X[inside]).mean()
    assert abs(missing - 0.2) < 4 * math.sqrt(0.2 * 0.8 / inside.sum())
    assert not sim.planted[~inside].any()


def test_missing_more_likely_after_a_rupture():
    sim = simulate_realistic(
        20_000,
        "children",
        missing_rate=0.05,
        post_rupture_missing=0.6,
        rupture_rate=0.1,
        random_state=5,
    )
    inside = np.arange(15) < sim.lengths[:, None]
    after = np.zeros_like(sim.planted)
    after[:, 1:] = sim.planted[:, :-1]
    after &= inside
    post = np.isnan(sim.X[after]).mean()
    other = np.isnan(sim.X[inside & ~after]).mean()
    assert abs(post - 0.6) < 4 * math.sqrt(0.6 * 0.4 / after.sum())
    assert abs(other - 0.05) < 4 * math.sqrt(0.05 * 0.95 / (inside & ~after).sum())


@pytest.mark.parametrize("ar", [0.0, 0.5, -0.3])
def test_ar1_coefficient_recovered_on_long_series(ar):
    # AR(1) plus white item noise is ARMA(1, 1): the ratio of the lag-2 to the lag-1
    # autocovariance is phi whatever the white share (the ratio is 0/0 for phi = 0)
    sim = simulate_realistic(
        300,
        "children",
        n_sessions=400,
        lengths=400,
        ar=ar,
        ar_spread=0.0,
        trend=0.0,
        rupture_rate=0.0,
        missing_rate=0.0,
        post_rupture_missing=0.0,
        mean=30.0,
        within_sd=3.0,
        random_state=6,
    )
    centred = sim.X - sim.X.mean(axis=1, keepdims=True)
    lag1 = np.mean(centred[:, 1:] * centred[:, :-1])
    lag2 = np.mean(centred[:, 2:] * centred[:, :-2])
    variance = np.mean(centred**2)
    if ar == 0.0:
        assert abs(lag1 / variance) < 0.02
    else:
        assert abs(lag2 / lag1 - ar) < 0.05
        # the observed lag-1 autocorrelation is attenuated by the item (and rounding) noise
        assert abs(lag1 / variance) < abs(ar)


def test_person_specific_ar_coefficients():
    sim = simulate_realistic(20_000, "children", ar=0.4, ar_spread=0.3, random_state=7)
    assert sim.person_ar.min() >= 0.1 and sim.person_ar.max() <= 0.7
    assert abs(sim.person_ar.mean() - 0.4) < 4 * 0.6 / math.sqrt(12 * 20_000)
    assert stats.kstest((sim.person_ar - 0.1) / 0.6, "uniform").pvalue > 1e-4


def test_truth_consistent_with_planted_ruptures():
    sim = simulate_realistic(
        5000,
        "children",
        rupture_rate=0.2,
        repair={"v": 0.3, "slow": 0.3, "no_return": 0.4},
        random_state=8,
    )
    observed = ~np.isnan(sim.X)
    np.testing.assert_array_equal(sim.central, sim.planted & observed)
    np.testing.assert_array_equal(sim.central, sim.labels != 0)
    assert not sim.planted[:, 0].any()
    assert not (sim.planted[:, 1:] & sim.planted[:, :-1]).any()
    np.testing.assert_array_equal(sim.repair_shape > 0, sim.planted)
    post_missing = np.ones_like(observed)
    post_missing[:, :-1] = ~observed[:, 1:]
    labels, shape = sim.labels[sim.central], sim.repair_shape[sim.central]
    resolved = ~post_missing[sim.central]
    assert np.all(labels[~resolved] == 3)
    np.testing.assert_array_equal(labels[resolved], np.where(shape[resolved] == 3, 2, 1))
    shares = np.bincount(sim.repair_shape[sim.planted], minlength=4)[1:] / sim.planted.sum()
    np.testing.assert_allclose(shares, [0.3, 0.3, 0.4], atol=0.03)


@pytest.mark.parametrize("shape", REPAIR_SHAPES)
def test_drop_profile_of_each_repair_shape(shape):
    # common random numbers: the same seed with depth 0 gives the series without ruptures;
    # a wide item range keeps the items off their bounds, so only rounding blurs the drop
    options = dict(
        rupture_rate=0.1,
        repair=shape,
        recovery=4,
        item_noise=0.1,
        missing_rate=0.0,
        post_rupture_missing=0.0,
        within_sd=12.0,
        item_range=(-100, 100),
        random_state=9,
    )
    deep = simulate_realistic(3000, "children", depth=4.0, **options)
    flat = simulate_realistic(3000, "children", depth=0.0, **options)
    np.testing.assert_array_equal(deep.planted, flat.planted)
    drop = (flat.X - deep.X) / (4.0 * 12.0)
    single = deep.planted.sum(axis=1) == 1
    central = deep.planted.argmax(axis=1)
    rows = np.flatnonzero(single & (central + 5 <= deep.lengths))
    window = drop[rows[:, None], central[rows, None] + np.arange(-1, 5)]
    expected = {
        "v": [0, 1, 0, 0, 0, 0],
        "slow": [0, 1, 0.75, 0.5, 0.25, 0],
        "no_return": [0, 1, 1, 1, 1, 1],
    }
    # each of 12 items is rounded: a drop of 48 points is off by at most 6 in a session
    assert rows.size > 300
    np.testing.assert_allclose(window.mean(axis=0), expected[shape], atol=0.01)
    assert np.abs(window - expected[shape]).max() <= 12 * 0.5 * 2 / 48 + 1e-12


def test_reproducible_and_seed_not_modified():
    seed = np.random.SeedSequence(123)
    state = (seed.entropy, seed.spawn_key, seed.n_children_spawned)
    first = simulate_realistic(50, "therapists", random_state=seed)
    second = simulate_realistic(50, "therapists", random_state=seed)
    assert (seed.entropy, seed.spawn_key, seed.n_children_spawned) == state
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.labels, second.labels)
    third = simulate_realistic(50, "therapists", random_state=124)
    assert not np.array_equal(np.nan_to_num(first.X), np.nan_to_num(third.X))


def test_first_rows_do_not_depend_on_n_series():
    small = simulate_realistic(10, "children", random_state=10)
    large = simulate_realistic(100, "children", random_state=10)
    np.testing.assert_array_equal(small.X, large.X[:10])
    np.testing.assert_array_equal(small.labels, large.labels[:10])


def test_inputs_not_modified():
    repair = {"v": 0.5, "no_return": 0.5}
    lengths = [8, 10]
    simulate_realistic(5, "children", repair=repair, lengths=lengths, random_state=0)
    assert repair == {"v": 0.5, "no_return": 0.5} and lengths == [8, 10]
    assert PRESETS["children"]["repair"] == {"v": 0.53, "no_return": 0.47}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"preset": "adults"}, ValueError, "`preset` must be one of"),
        ({"n_series": 0}, ValueError, "`n_series` must be >= 1"),
        ({"n_series": 2.5}, TypeError, "`n_series` must be an integer"),
        ({"n_sessions": 2}, ValueError, "`n_sessions` must be >= 3"),
        ({"lengths": (8, 40)}, ValueError, "`lengths` must satisfy"),
        ({"lengths": "long"}, TypeError, "`lengths` must be None"),
        ({"n_items": 0}, ValueError, "`n_items` must be >= 1"),
        ({"item_range": (4, 1)}, ValueError, "`item_range` must satisfy low < high"),
        ({"item_range": 4}, TypeError, "`item_range` must be a pair"),
        ({"aggregate": "median"}, ValueError, "`aggregate` must be 'sum' or 'mean'"),
        ({"within_sd": -1.0}, ValueError, "`within_sd` must be >= 0"),
        ({"item_noise": 1.5}, ValueError, r"`item_noise` must be in \[0, 1\]"),
        ({"ar": 1.0}, ValueError, r"`ar` must be in \(-1, 1\)"),
        ({"ar": 0.8, "ar_spread": 0.3}, ValueError, "`ar` \\+- `ar_spread`"),
        ({"rupture_rate": 0.7}, ValueError, "`rupture_rate` must be <= 0.5"),
        ({"depth": float("nan")}, ValueError, "`depth` must be a finite number"),
        ({"repair": "fast"}, ValueError, "`repair` shapes must be in"),
        ({"repair": {"v": 0.5}}, ValueError, "`repair` probabilities must sum to 1"),
        ({"repair": 3}, TypeError, "`repair` must be one of"),
        ({"recovery": 1}, ValueError, "`recovery` must be >= 2"),
        ({"missing_rate": -0.1}, ValueError, r"`missing_rate` must be in \[0, 1\]"),
        ({"post_rupture_missing": 2.0}, ValueError, "`post_rupture_missing` must be in"),
        ({"random_state": "seed"}, TypeError, "`random_state` must be"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    arguments = {"n_series": 10, "preset": "children", **kwargs}
    with pytest.raises(error, match=match):
        simulate_realistic(**arguments)


@settings(max_examples=25, deadline=None)
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    rate=st.floats(0.0, 0.5),
    depth=st.floats(0.0, 5.0),
    missing=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_truth_invariants(preset, rate, depth, missing, seed):
    sim = simulate_realistic(
        20, preset, rupture_rate=rate, depth=depth, missing_rate=missing, random_state=seed
    )
    assert set(np.unique(sim.labels)) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(sim.central, sim.planted & ~np.isnan(sim.X))
    last = sim.lengths - 1
    at_end = sim.central[np.arange(20), last]
    assert np.all(sim.labels[np.arange(20), last][at_end] == 3)
