"""The detector registry: names, families, building, listing."""

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone

from tukeyrupture import simulate_alliance
from tukeyrupture.comparison import compare
from tukeyrupture.comparison.registry import (
    FAMILIES,
    REGISTRY,
    DetectorEntry,
    build_detector,
    list_detectors,
)

NEW = {"ewma": "control chart", "cusum": "control chart"}
NEW |= {"segmented": "regression", "bocpd": "bayesian"}


def test_every_family_has_a_member_and_every_member_a_family():
    families = {entry.family for entry in REGISTRY.values()}
    assert families == set(FAMILIES)
    for name, family in NEW.items():
        assert REGISTRY[name].family == family
    assert all(name == entry.name for name, entry in REGISTRY.items())


def test_existing_names_are_kept_with_their_estimators():
    """The names of the first release build the same estimators as then."""
    from tukeyrupture import (
        AbsoluteDropDetector,
        ReliableChangeDetector,
        RupturesDetector,
        ShewhartDetector,
        TukeyRuptureDetector,
    )

    before = {
        "tcc": TukeyRuptureDetector(),
        "tcc_only": TukeyRuptureDetector(absolute_sd_multiplier=None),
        "absolute": AbsoluteDropDetector(),
        "shewhart": ShewhartDetector(),
        "reliable_change": ReliableChangeDetector(),
        "pelt": RupturesDetector(algorithm="pelt"),
        "binseg": RupturesDetector(algorithm="binseg"),
        "window": RupturesDetector(algorithm="window"),
    }
    for name, expected in before.items():
        built = build_detector(name)
        assert type(built) is type(expected)
        assert built.get_params() == expected.get_params()
        assert compare.make_detector(name).get_params() == expected.get_params()
    assert set(compare.DETECTORS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_each_detector_builds_fresh_and_labels_simulated_series(name):
    entry = REGISTRY[name]
    if not entry.available:
        pytest.importorskip(entry.requires)
    first, second = build_detector(name), build_detector(name)
    assert first is not second
    assert clone(first).get_params() == first.get_params()
    sim = simulate_alliance(30, 12, depth=3.0, rupture_rate=0.1, random_state=0)
    labels = first.fit(sim.X).predict(sim.X)
    assert labels.shape == sim.X.shape and labels.dtype == np.int8
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    assert not labels[:, 0].any()


def test_build_detector_overrides_parameters():
    detector = build_detector("pelt", penalty=3.0)
    assert detector.get_params()["algorithm"] == "pelt"
    assert detector.penalty == 3.0
    assert build_detector("tcc_only", iqr_multiplier=1.5).absolute_sd_multiplier is None
    assert build_detector("ewma", lam=0.1).lam == 0.1


def test_unknown_names_and_parameters_are_refused_clearly():
    with pytest.raises(ValueError, match=r"Unknown detector name 'cusums'.*'bocpd'"):
        build_detector("cusums")
    with pytest.raises(ValueError, match="Unknown detector name"):
        build_detector(None)
    with pytest.raises(ValueError, match=r"\['lambda'\].*EWMADetector.*'lam'"):
        build_detector("ewma", **{"lambda": 0.3})


def test_list_detectors_is_a_table_by_family():
    table = list_detectors()
    assert isinstance(table, pd.DataFrame)
    assert list(table.columns) == [
        "name",
        "family",
        "estimator",
        "params",
        "description",
        "requires",
        "extra",
        "available",
    ]
    assert sorted(table["name"]) == sorted(REGISTRY)
    order = [FAMILIES.index(family) for family in table["family"]]
    assert order == sorted(order)
    row = table.set_index("name").loc["binseg"]
    assert row["estimator"] == "RupturesDetector"
    assert row["params"] == {"algorithm": "binseg"}
    assert row["requires"] == "ruptures" and row["extra"] == "rivals"
    assert table.set_index("name")["description"].str.len().gt(10).all()
    partitioning = list_detectors("partitioning")
    assert list(partitioning["name"]) == ["pelt", "binseg", "window"]
    with pytest.raises(ValueError, match="`family`"):
        list_detectors("charts")


def test_registry_and_entries_are_read_only():
    with pytest.raises(TypeError):
        REGISTRY["mine"] = REGISTRY["tcc"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        REGISTRY["tcc"].family = "criterion"
    entry = DetectorEntry("x", "regression", type(build_detector("segmented")))
    assert entry.available and entry.build().alpha == 0.05


# --- invariants of the new detectors, on arbitrary data ---------------------------------

LIMITS = {"ewma": "n_sigma", "cusum": "h", "segmented": "alpha", "bocpd": "threshold"}
STRICTER = {"ewma": 4.0, "cusum": 6.0, "segmented": 0.01, "bocpd": 0.4}


@settings(max_examples=30, deadline=None)
@given(
    X=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(2, 12)),
        elements=st.one_of(st.floats(0, 60, allow_nan=False), st.just(np.nan)),
    ),
    order=st.randoms(use_true_random=False),
)
@pytest.mark.parametrize("name", sorted(LIMITS))
def test_new_detectors_are_row_wise_and_monotone_in_their_limit(name, X, order):
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # too little data for a pooled SD
        detector = build_detector(name, **({"sd": 2.0} if name == "bocpd" else {})).fit(X)
    labels = detector.predict(X)
    assert set(np.unique(labels)) <= {0, 1, 2, 3}
    assert not labels[:, 0].any()
    assert not labels[np.isnan(X)].any()
    rows = list(range(X.shape[0]))
    order.shuffle(rows)
    np.testing.assert_array_equal(detector.predict(X[rows]), labels[rows])
    stricter = clone(detector).set_params(**{LIMITS[name]: STRICTER[name]}).fit(X)
    assert not (stricter.predict(X) != 0)[labels == 0].any()
    np.testing.assert_array_equal(X, before)
