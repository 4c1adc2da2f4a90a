"""Tests of the bundled demo data."""

import doctest
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from tukeyrupture import TukeyRuptureDetector, from_long
from tukeyrupture.datasets import load_alliance

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_alliance_demo.py"


@pytest.fixture(scope="module")
def alliance():
    return load_alliance()


def test_columns_and_dtypes(alliance):
    assert list(alliance.columns) == ["series", "session", "score"]
    assert pd.api.types.is_string_dtype(alliance["series"])
    assert alliance["session"].dtype == np.int64
    assert alliance["score"].dtype == np.float64


def test_shape_and_ranges(alliance):
    lengths = alliance.groupby("series")["session"].max()
    assert 200 <= lengths.size <= 500
    assert lengths.min() >= 4 and lengths.max() <= 20
    assert alliance["session"].min() == 1
    assert alliance["score"].between(12, 48).all()
    np.testing.assert_array_equal(alliance["score"], np.round(alliance["score"]))
    assert 35 <= alliance["score"].mean() <= 41
    assert not alliance.duplicated(["series", "session"]).any()
    assert alliance.equals(alliance.sort_values(["series", "session"]))


def test_has_missing_sessions_and_every_repair_kind(alliance):
    X, _, _ = from_long(alliance, series="series", session="session", value="score")
    assert np.isnan(X).any(axis=1).mean() > 0.3
    result = TukeyRuptureDetector().fit(X).detect(X)
    assert 0 < result.n_eligible < result.n_series
    assert set(result.to_frame()["repair"]) == {"repaired", "unrepaired", "unresolved"}
    assert set(result.to_frame()["criterion"]) == {"tcc", "absolute", "both"}


def test_returns_a_new_frame_each_call(alliance):
    first = load_alliance()
    first.loc[0, "score"] = -1.0
    assert load_alliance().equals(alliance)


def test_generator_reproduces_the_bundled_file(alliance):
    spec = importlib.util.spec_from_file_location("make_alliance_demo", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.make_alliance_demo()
    pd.testing.assert_frame_equal(
        made.astype({"score": float}), alliance, check_dtype=False, check_index_type=False
    )


def test_getting_started_examples_run(tmp_path, monkeypatch):
    """The Python examples of docs/getting_started.rst (they use the demo data)."""
    pytest.importorskip("dask.array")
    page = Path(__file__).resolve().parents[2] / "docs" / "getting_started.rst"
    monkeypatch.chdir(tmp_path)  # the page saves a figure
    outcome = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE,
        verbose=False,
        report=True,
    )
    plt.close("all")
    assert outcome.attempted > 10
    assert outcome.failed == 0
