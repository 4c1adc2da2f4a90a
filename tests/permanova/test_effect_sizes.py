"""Effect sizes and sphericity corrections in the table, against pingouin and afex's
formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

import permanova


def _mixed(rng, subjects=14, levels=3, offset=0.0):
    frame = pd.DataFrame(
        {
            "s": np.repeat(np.arange(subjects), levels),
            "c": np.tile([f"c{k}" for k in range(levels)], subjects),
            "t": np.repeat(np.where(np.arange(subjects) % 2, "x", "y"), levels),
        }
    )
    scatter = rng.normal(size=(subjects, levels)) * np.linspace(0.5, 2.0, levels)
    frame["y"] = offset + scatter.ravel() + frame["s"] * 0.4
    return frame


def test_mixed_design_matches_pingouin(rng):
    data = _mixed(rng)
    res = permanova.aovperm(data, "y", subject="s", within="c", between="t", random_state=0)
    ref = pg.mixed_anova(data, dv="y", within="c", between="t", subject="s", effsize="np2")
    ref = ref.set_index("Source").rename(index={"Interaction": "t:c"})
    for effect in ("t", "c", "t:c"):
        row = res.table.loc[effect]
        np.testing.assert_allclose(row["eta2_partial"], ref.loc[effect, "np2"], rtol=1e-10)
    for effect in ("c", "t:c"):
        gg = ref.loc[effect, "p_GG_corr"]
        np.testing.assert_allclose(res.table.loc[effect, "p_parametric_gg"], gg, rtol=1e-10)
        np.testing.assert_allclose(
            res.sphericity.loc[effect, "epsilon_gg"], ref.loc[effect, "eps"], rtol=1e-10
        )
        np.testing.assert_allclose(
            res.sphericity.loc[effect, "W"], ref.loc[effect, "W_spher"], rtol=1e-10
        )
    # a between effect is not corrected
    assert res.table.loc["t", "p_parametric_gg"] == res.table.loc["t", "p_parametric"]


def test_within_design_generalized_eta_squared_matches_pingouin(rng):
    """pingouin on the data; ours the same after a huge offset (pingouin, which subtracts
    squared norms, loses seven digits there)."""
    data = _mixed(rng, subjects=12, levels=4)
    ref = pg.rm_anova(data, dv="y", within="c", subject="s", effsize="ng2", correction=True)
    shifted = data.assign(y=data["y"] + 1e9)
    for frame in (data, shifted):
        res = permanova.aovperm(frame, "y", subject="s", within="c", random_state=0)
        row = res.table.loc["c"]
        np.testing.assert_allclose(row["eta2_generalized"], ref["ng2"][0], rtol=1e-6)
        np.testing.assert_allclose(row["p_parametric_gg"], ref["p_GG_corr"][0], rtol=1e-6)
        np.testing.assert_allclose(
            res.sphericity.loc["c", "p_mauchly"], ref["p_spher"][0], rtol=1e-6
        )
    exact = permanova.aovperm(data, "y", subject="s", within="c", random_state=0).table
    np.testing.assert_allclose(exact.loc["c", "eta2_generalized"], ref["ng2"][0], rtol=1e-10)


def test_two_within_factors_generalized_eta_squared_is_afex_formula(rng):
    """ges = SS / (SS + sum of the error SS of every stratum, subjects included)."""
    subjects = 9
    data = pd.DataFrame(
        {
            "s": np.repeat(np.arange(subjects), 6),
            "a": np.tile(np.repeat(["a1", "a2"], 3), subjects),
            "b": np.tile(["b1", "b2", "b3"], 2 * subjects),
        }
    )
    data["y"] = rng.normal(size=len(data)) + data["s"] * 0.7 + (data["a"] == "a2") * 0.5
    res = permanova.aovperm(data, "y", subject="s", within=["a", "b"], random_state=0)
    table = data.pivot_table(index="s", columns=["a", "b"], values="y").to_numpy()
    grand = table.mean()
    subject_ss = 6 * np.sum((table.mean(axis=1) - grand) ** 2)
    errors = subject_ss + res.table["SS_error"].sum()
    expected = res.table["SS"] / (res.table["SS"] + errors)
    np.testing.assert_allclose(res.table["eta2_generalized"], expected, rtol=1e-10)
    ref = pg.rm_anova(data, dv="y", within=["a", "b"], subject="s", effsize="ng2")
    np.testing.assert_allclose(res.table["eta2_generalized"].to_numpy(), ref["ng2"], rtol=1e-8)
    assert list(res.sphericity.index) == ["b", "a:b"]  # a has one df


def test_between_design_generalized_with_a_measured_factor(rng):
    data = pd.DataFrame(
        {
            "a": np.tile(["p", "q"], 12),
            "b": np.repeat(["u", "v", "w"], 8),
            "y": rng.normal(size=24),
        }
    )
    plain = permanova.aovperm(data, "y", between=["a", "b"], random_state=0).table
    np.testing.assert_allclose(plain["eta2_generalized"], plain["eta2_partial"], rtol=1e-12)
    measured = permanova.aovperm(data, "y", between=["a", "b"], random_state=0, observed="b").table
    ss, sse = measured["SS"], measured["SS_error"].iloc[0]
    obs = ss["b"] + ss["a:b"]
    expected = {
        "a": ss["a"] / (ss["a"] + sse + obs),
        "b": ss["b"] / (ss["b"] + sse + obs - ss["b"]),
        "a:b": ss["a:b"] / (ss["a:b"] + sse + obs - ss["a:b"]),
    }
    for effect, value in expected.items():
        np.testing.assert_allclose(measured.loc[effect, "eta2_generalized"], value, rtol=1e-12)


def test_observed_must_name_a_factor(rng):
    data = _mixed(rng)
    with pytest.raises(ValueError, match="`observed` must name variables"):
        permanova.aovperm(data, "y", between="t", observed="nope")


def test_singular_sphericity_gives_nan_without_warning(rng):
    """Three subjects, four levels: too few residual df for the contrasts."""
    data = _mixed(rng, subjects=3, levels=4)
    res = permanova.aovperm(data, "y", subject="s", within="c", random_state=0)
    assert np.isnan(res.sphericity.loc["c", "epsilon_gg"])
    assert np.isnan(res.table.loc["c", "p_parametric_gg"])
    assert np.isfinite(res.table.loc["c", "p_permutation"])


def test_several_outcomes_have_a_sphericity_row_each(rng):
    data = _mixed(rng)
    data["z"] = rng.normal(size=len(data))
    res = permanova.aovperm(data, ["y", "z"], subject="s", within="c", random_state=0)
    single = permanova.aovperm(data, "z", subject="s", within="c", random_state=0)
    pd.testing.assert_series_equal(
        res.sphericity.loc["z"].loc["c"], single.sphericity.loc["c"], check_names=False
    )
    assert res.table.loc[("z", "c"), "eta2_partial"] == single.table.loc["c", "eta2_partial"]
