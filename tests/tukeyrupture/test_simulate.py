"""Tests of simulate_alliance: truth against parameters, seeds, labels, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tukeyrupture.comparison.simulate import SimulatedAlliance, simulate_alliance


def _within(estimate, target, standard_error, z=4.0):
    """``estimate`` is within ``z`` standard errors of ``target``."""
    return abs(estimate - target) <= z * standard_error


def test_shapes_dtypes_and_read_only():
    sim = simulate_alliance(50, 12, missing_rate=0.1, random_state=0)
    assert isinstance(sim, SimulatedAlliance)
    assert sim.X.shape == sim.labels.shape == sim.central.shape == (50, 12)
    assert sim.X.dtype == np.float64
    assert sim.labels.dtype == np.int8
    assert sim.person_mean.shape == (50,)
    np.testing.assert_array_equal(sim.central, sim.labels != 0)
    for name in ("X", "labels", "central", "person_mean"):
        with pytest.raises(ValueError):
            getattr(sim, name)[0] = 1
    assert sim.params["n_series"] == 50 and sim.params["missing_rate"] == 0.1
    assert repr(sim).startswith("SimulatedAlliance(n_series=50, n_sessions=12")


@pytest.mark.parametrize("rate", [0.05, 0.2, 0.5])
def test_rupture_rate_per_session(rate):
    sim = simulate_alliance(20_000, 20, rupture_rate=rate, random_state=1)
    central = sim.central
    # Every session 1 .. n - 1 is a central session with probability rate.
    per_session = central[:, 1:].mean(axis=0)
    se = np.sqrt(rate * (1 - rate) / central.shape[0])
    assert all(_within(share, rate, se) for share in per_session)
    assert not central[:, 0].any()
    assert not (central[:, 1:] & central[:, :-1]).any()


def test_rupture_rate_above_one_half_is_refused():
    with pytest.raises(ValueError, match=r"`rupture_rate` must be <= 0.5"):
        simulate_alliance(10, 8, rupture_rate=0.7)


def test_repair_rate_among_resolved_ruptures():
    sim = simulate_alliance(20_000, 20, rupture_rate=0.1, repair_rate=0.3, random_state=2)
    resolved = sim.labels[(sim.labels == 1) | (sim.labels == 2)]
    share = np.mean(resolved == 1)
    assert _within(share, 0.3, np.sqrt(0.3 * 0.7 / resolved.size))
    # Without missing sessions, unresolved ruptures are exactly those at the last session.
    unresolved = np.argwhere(sim.labels == 3)
    assert (unresolved[:, 1] == 19).all()


def test_depth_of_repaired_ruptures():
    depth, within_sd = 2.5, 3.0
    sim = simulate_alliance(
        20_000, 20, within_sd=within_sd, depth=depth, repair_rate=1.0, random_state=3
    )
    rows, cols = np.nonzero(sim.labels == 1)
    deviation = sim.X[rows, cols] - sim.person_mean[rows]
    assert _within(deviation.mean(), -depth * within_sd, within_sd / np.sqrt(rows.size))
    # A repaired rupture returns to the person's level at the next session.
    after = sim.X[rows, cols + 1] - sim.person_mean[rows]
    assert _within(after.mean(), 0.0, within_sd / np.sqrt(rows.size))


def test_depth_of_unrepaired_ruptures_persists():
    depth, within_sd = 2.0, 2.5
    sim = simulate_alliance(
        20_000, 20, within_sd=within_sd, depth=depth, repair_rate=0.0, random_state=4
    )
    rows, cols = np.nonzero(sim.labels == 2)
    keep = cols < 18
    rows, cols = rows[keep], cols[keep]
    step = sim.X[rows, cols + 2] - sim.X[rows, cols - 1]
    # Another (unrepaired) rupture at t + 2, with probability p / (1 - p) after the
    # rupture-free post session, adds its depth.
    expected = -depth * within_sd * (1 + 0.05 / 0.95)
    assert _within(step.mean(), expected, np.sqrt(2) * within_sd / np.sqrt(rows.size))


def test_missing_rate_and_truth_with_missing_sessions():
    sim = simulate_alliance(5_000, 20, rupture_rate=0.2, missing_rate=0.25, random_state=5)
    missing = np.isnan(sim.X)
    assert _within(missing.mean(), 0.25, np.sqrt(0.25 * 0.75 / missing.size))
    assert not sim.central[missing].any()
    post_missing = np.ones_like(missing)
    post_missing[:, :-1] = missing[:, 1:]
    np.testing.assert_array_equal(sim.labels == 3, sim.central & post_missing)


def test_noise_parameters():
    sim = simulate_alliance(
        20_000,
        20,
        between_sd=5.0,
        within_sd=2.0,
        ar=0.5,
        trend=0.25,
        rupture_rate=0.0,
        random_state=6,
    )
    assert _within(sim.person_mean.std(ddof=1), 5.0, 5.0 / np.sqrt(2 * 20_000))
    noise = sim.X - sim.person_mean[:, None] - 0.25 * np.arange(20)
    assert _within(noise.std(), 2.0, 0.05)
    lag1 = np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]
    assert _within(lag1, 0.5, 0.01)
    slope = np.polyfit(np.arange(20), sim.X.mean(axis=0), 1)[0]
    assert _within(slope, 0.25, 0.01)
    assert sim.n_ruptures == 0


def test_scale_rounds_and_clips():
    sim = simulate_alliance(500, 10, mean=10.0, between_sd=5.0, scale=(4, 16), random_state=7)
    assert np.array_equal(sim.X, np.rint(sim.X))
    assert sim.X.min() == 4 and sim.X.max() == 16


def test_reproducible_seeds():
    a = simulate_alliance(100, 15, missing_rate=0.1, random_state=42)
    b = simulate_alliance(100, 15, missing_rate=0.1, random_state=42)
    c = simulate_alliance(100, 15, missing_rate=0.1, random_state=43)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.X, c.X, equal_nan=True)
    seq = np.random.SeedSequence(42)
    d = simulate_alliance(100, 15, missing_rate=0.1, random_state=seq)
    e = simulate_alliance(100, 15, missing_rate=0.1, random_state=np.random.SeedSequence(42))
    np.testing.assert_array_equal(d.X, e.X)


def test_prefix_rows_and_common_random_numbers():
    small = simulate_alliance(30, 12, rupture_rate=0.2, random_state=9)
    large = simulate_alliance(80, 12, rupture_rate=0.2, random_state=9)
    np.testing.assert_array_equal(small.X, large.X[:30])
    deep = simulate_alliance(30, 12, rupture_rate=0.2, depth=4.0, random_state=9)
    np.testing.assert_array_equal(small.labels, deep.labels)
    assert (deep.X <= small.X + 1e-12).all()


def test_to_frame_long_format():
    sim = simulate_alliance(4, 6, rupture_rate=0.3, missing_rate=0.2, random_state=10)
    frame = sim.to_frame()
    assert list(frame.columns) == ["series", "session", "score", "label", "rupture"]
    assert len(frame) == 24 and frame["session"].min() == 1
    wide = frame.pivot(index="series", columns="session", values="score").to_numpy()
    np.testing.assert_array_equal(wide, sim.X)
    names = {0: "none", 1: "repaired", 2: "unrepaired", 3: "unresolved"}
    assert (frame["rupture"] == frame["label"].map(names)).all()


@settings(max_examples=40, deadline=None)
@given(
    n_series=st.integers(1, 30),
    n_sessions=st.integers(3, 15),
    rupture_rate=st.floats(0, 0.5),
    repair_rate=st.floats(0, 1),
    missing_rate=st.floats(0, 0.9),
    seed=st.integers(0, 2**32 - 1),
)
def test_label_invariants(n_series, n_sessions, rupture_rate, repair_rate, missing_rate, seed):
    sim = simulate_alliance(
        n_series,
        n_sessions,
        rupture_rate=rupture_rate,
        repair_rate=repair_rate,
        missing_rate=missing_rate,
        random_state=seed,
    )
    labels, missing = sim.labels, np.isnan(sim.X)
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    assert not labels[:, 0].any()
    assert not labels[missing].any()
    assert not (sim.central[:, 1:] & sim.central[:, :-1]).any()
    assert (labels[:, -1] != 1).all() and (labels[:, -1] != 2).all()
    if rupture_rate == 0:
        assert sim.n_ruptures == 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"depth": -1}, "depth"),
        ({"rupture_rate": 1.5}, "rupture_rate"),
        ({"rupture_rate": -0.1}, "rupture_rate"),
        ({"repair_rate": -0.1}, "repair_rate"),
        ({"missing_rate": 2.0}, "missing_rate"),
        ({"n_sessions": 2}, "n_sessions"),
        ({"n_series": 0}, "n_series"),
        ({"ar": 1.0}, "ar"),
        ({"within_sd": -1.0}, "within_sd"),
        ({"between_sd": float("nan")}, "between_sd"),
        ({"mean": float("inf")}, "mean"),
        ({"scale": (10, 5)}, "scale"),
    ],
)
def test_bad_values_name_the_argument(kwargs, name):
    arguments = {"n_series": 10, "n_sessions": 8, **kwargs}
    with pytest.raises(ValueError, match=f"`{name}"):
        simulate_alliance(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"n_series": 2.5}, "n_series"), ({"depth": "deep"}, "depth"), ({"scale": 5}, "scale")],
)
def test_bad_types_name_the_argument(kwargs, name):
    arguments = {"n_series": 10, "n_sessions": 8, **kwargs}
    with pytest.raises(TypeError, match=f"`{name}"):
        simulate_alliance(**arguments)


def test_depth_message_wording():
    with pytest.raises(ValueError, match=r"`depth` must be >= 0; got -1\."):
        simulate_alliance(10, 8, depth=-1)


# --- issue 8 item 4: seeds ----------------------------------------------------------


def _seed_sequence_state(seq):
    return (seq.entropy, seq.spawn_key, seq.pool_size, seq.n_children_spawned)


def test_seed_sequence_is_never_modified():
    seq = np.random.SeedSequence(42)
    before = _seed_sequence_state(seq)
    first = simulate_alliance(30, 10, missing_rate=0.1, random_state=seq)
    second = simulate_alliance(30, 10, missing_rate=0.1, random_state=seq)
    assert _seed_sequence_state(seq) == before
    np.testing.assert_array_equal(first.X, second.X)
    np.testing.assert_array_equal(first.labels, second.labels)
    # the data are those of the int seed of the same entropy
    np.testing.assert_array_equal(
        first.X, simulate_alliance(30, 10, missing_rate=0.1, random_state=42).X
    )


def test_spawned_seed_sequence_keeps_its_position():
    parent = np.random.SeedSequence(7)
    parent.spawn(3)
    before = _seed_sequence_state(parent)
    a = simulate_alliance(10, 8, random_state=parent)
    assert _seed_sequence_state(parent) == before
    twin = np.random.SeedSequence(7, n_children_spawned=3)
    np.testing.assert_array_equal(a.X, simulate_alliance(10, 8, random_state=twin).X)


def test_generator_is_used_as_a_stream():
    rng = np.random.default_rng(3)
    a = simulate_alliance(10, 8, random_state=rng)
    b = simulate_alliance(10, 8, random_state=rng)
    assert not np.array_equal(a.X, b.X)
    again = np.random.default_rng(3)
    np.testing.assert_array_equal(a.X, simulate_alliance(10, 8, random_state=again).X)


def test_random_state_is_accepted_and_advanced_as_numpy_does():
    legacy = np.random.RandomState(11)
    a = simulate_alliance(10, 8, random_state=legacy)
    b = simulate_alliance(10, 8, random_state=legacy)
    assert not np.array_equal(a.X, b.X)
    np.testing.assert_array_equal(
        a.X, simulate_alliance(10, 8, random_state=np.random.RandomState(11)).X
    )


# a sequence of ints is a valid seed, as for numpy.random.default_rng
@pytest.mark.parametrize("seed", ["0", 1.5, True, np.bool_(False), object()])
def test_seed_of_wrong_type(seed):
    with pytest.raises(TypeError, match="`random_state`"):
        simulate_alliance(10, 8, random_state=seed)


def test_negative_seed():
    with pytest.raises(ValueError, match="`random_state`"):
        simulate_alliance(10, 8, random_state=-1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean": 1e308, "between_sd": 1e308},
        {"within_sd": 1e300, "depth": 1e300, "rupture_rate": 0.3},
        {"trend": 1e308},
    ],
)
def test_parameters_that_overflow_the_scores(kwargs):
    with pytest.raises(ValueError, match="overflow"):
        simulate_alliance(10, 8, random_state=0, **kwargs)


def test_numpy_integer_seed():
    np.testing.assert_array_equal(
        simulate_alliance(5, 6, random_state=np.int64(4)).X,
        simulate_alliance(5, 6, random_state=4).X,
    )


@pytest.mark.parametrize(("n_series", "n_sessions"), [(10**12, 10), (5, 10**9)])
def test_too_many_scores_are_refused_before_allocating(n_series, n_sessions):
    with pytest.raises(ValueError, match=r"`n_series` \* `n_sessions` must be at most"):
        simulate_alliance(n_series, n_sessions, random_state=0)
