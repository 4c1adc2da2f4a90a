"""The numbers of docs/from_r.rst ("Coming from R and pingouin") are the ones the code gives."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest


def test_coming_from_r_examples_run():
    pytest.importorskip("pingouin")
    pytest.importorskip("statsmodels")
    page = Path(__file__).resolve().parents[2] / "docs" / "from_r.rst"
    outcome = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.NORMALIZE_WHITESPACE,
        verbose=False,
        report=True,
    )
    assert outcome.attempted > 30
    assert outcome.failed == 0
