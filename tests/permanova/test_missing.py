"""``missing="drop_subjects"``: incomplete subjects left out, counted and listed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import permanova


@pytest.fixture
def mixed(rng):
    data = pd.DataFrame(
        {
            "s": np.repeat(np.arange(12), 3),
            "c": np.tile(list("abc"), 12),
            "t": np.repeat(np.where(np.arange(12) % 2, "x", "y"), 3),
        }
    )
    data["y"] = rng.normal(size=36) + data["s"] * 0.3
    return data


def _incomplete(mixed):
    """Subject 2 misses an outcome, subject 5 a within cell."""
    data = mixed.copy()
    data.loc[7, "y"] = np.nan
    return data.drop(index=[15])


def test_drop_subjects_equals_the_complete_subjects(mixed):
    data = _incomplete(mixed)
    before = data.copy()
    with pytest.warns(UserWarning, match="dropped 2 subjects"):
        res = permanova.aovperm(
            data, "y", subject="s", within="c", between="t", missing="drop_subjects",
            random_state=1,
        )  # fmt: skip
    pd.testing.assert_frame_equal(data, before)
    assert res.dropped == (2, 5)
    complete = mixed[~mixed["s"].isin([2, 5])]
    ref = permanova.aovperm(complete, "y", subject="s", within="c", between="t", random_state=1)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_drop_subjects_with_a_formula(mixed):
    data = _incomplete(mixed)
    with pytest.warns(UserWarning, match="dropped 2 subjects"):
        res = permanova.aovperm(
            data, "y ~ t * c + Error(s/c)", missing="drop_subjects", random_state=1
        )
    complete = mixed[~mixed["s"].isin([2, 5])]
    ref = permanova.aovperm(complete, "y ~ t * c + Error(s/c)", random_state=1)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_between_design_drops_rows(rng):
    data = pd.DataFrame({"g": list("aabbcc") * 3, "y": rng.normal(size=18)})
    data.loc[3, "y"] = np.nan
    with pytest.warns(UserWarning, match="dropped 1 rows"):
        res = permanova.aovperm(data, "y", between="g", missing="drop_subjects", random_state=0)
    assert res.dropped == (3,)
    ref = permanova.aovperm(data.drop(index=[3]), "y", between="g", random_state=0)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_complete_data_drops_nothing_silently(mixed, recwarn):
    res = permanova.aovperm(mixed, "y", subject="s", within="c", missing="drop_subjects")
    assert res.dropped == ()
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_default_stays_an_error(mixed):
    with pytest.raises(ValueError, match="missing values in rows"):
        permanova.aovperm(_incomplete(mixed), "y", subject="s", within="c", between="t")
    with pytest.raises(ValueError, match="miss at least one cell"):
        permanova.aovperm(mixed.drop(index=[4]), "y", subject="s", within="c")


def test_bad_missing_option(mixed):
    with pytest.raises(ValueError, match="`missing` must be one of"):
        permanova.aovperm(mixed, "y", subject="s", within="c", missing="drop")
