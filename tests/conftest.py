"""Shared fixtures: a seeded generator and a non-interactive matplotlib backend."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(20261128)
