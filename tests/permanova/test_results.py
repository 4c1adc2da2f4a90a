"""Result containers: summary text, repr, null_frame, plot, sphericity frame (Agg backend
from conftest)."""

from __future__ import annotations

import dataclasses

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import permanova
from permanova._sphericity import sphericity
from permanova.results import (
    SIGNIF_LEGEND,
    AovPermResult,
    PosthocResult,
    signif_code,
)


def _mixed(seed=1, n=10):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "s": np.repeat(np.arange(n), 3),
            "grp": np.repeat(["x", "y"], 3 * n // 2),
            "t": np.tile(["a", "b", "c"], n),
        }
    )
    data["y"] = rng.normal(size=3 * n) + np.tile([0.0, 1.0, 2.0], n)
    data["z"] = rng.normal(size=3 * n)
    return data


@pytest.fixture(scope="module")
def mixed_result():
    return permanova.aovperm(_mixed(), "y", subject="s", between="grp", within="t",
                             n_resamples=199, random_state=0, return_null=True)  # fmt: skip


@pytest.fixture(scope="module")
def multi_result():
    return permanova.aovperm(_mixed(), ["y", "z"], subject="s", between="grp", within="t",
                             n_resamples=99, random_state=0, return_null=True)  # fmt: skip


def _table(effects=("A", "B", "A:B"), **extra):
    base = {
        "df": [1, 2, 2], "df_error": [12, 24, 24], "SS": [1.5, 20.25, 3.0],
        "SS_error": [10.0, 12.0, 12.0], "F": [1.8, 20.25, 3.0],
        "p_parametric": [0.2, 6.5e-6, 0.068], "p_permutation": [0.21, 0.0005, 0.049],
    }  # fmt: skip
    base.update(extra)
    return pd.DataFrame(base, index=pd.Index(list(effects), name="effect"))


def _sphericity_frame(tests: dict) -> pd.DataFrame:
    """The layout of ``result.sphericity``: effect index, the fields of SphericityTest."""
    frame = pd.DataFrame([t._asdict() for t in tests.values()], index=list(tests))
    return frame.rename_axis("effect")


def _result(table, **kwargs):
    args = {"n_resamples": 1999, "exact": False, "method": "freedman_lane", "outcomes": ("y",)}
    args.update(kwargs)
    return AovPermResult(table=table, **args)


# --------------------------------------------------------------------------------------------
# significance codes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("p", "code"),
    [(1e-9, "***"), (0.001, "***"), (0.0011, "**"), (0.01, "**"), (0.05, "*"), (0.0501, "."),
     (0.1, "."), (0.2, " "), (1.0, " "), (np.nan, ""), (None, "")],
)  # fmt: skip
def test_signif_code_uses_rs_right_closed_intervals(p, code):
    assert signif_code(p) == code


# --------------------------------------------------------------------------------------------
# summary and repr
# --------------------------------------------------------------------------------------------
def test_summary_heading_table_codes_and_legend():
    text = _result(_table()).summary()
    lines = text.splitlines()
    assert lines[0] == "Permutation ANOVA"
    assert "freedman_lane" in lines[1] and "1999 permutations" in lines[1]
    assert "Monte-Carlo" in lines[2]
    header = next(line for line in lines if "resampled P(>F)" in line)
    for column in ("df", "df_error", "SS", "F", "parametric P(>F)"):
        assert column in header
    rows = {line.split()[0]: line for line in lines if line.split()[:1] in (["A"], ["B"], ["A:B"])}
    assert set(rows) == {"A", "B", "A:B"}
    assert rows["B"].endswith("***") and rows["A:B"].endswith("*")
    assert rows["A"].rstrip().endswith("0.21")
    assert "20.25" in rows["B"] and "6.5e-06" in rows["B"]
    assert lines[-1] == SIGNIF_LEGEND and lines[-2] == "---"
    assert all(line == line.rstrip() for line in lines)


def test_summary_exact_wording():
    text = _result(_table(), exact=True, n_resamples=70).summary()
    assert "B = 70: all distinct permutations (exact" in text
    assert "Monte-Carlo" not in text


def test_summary_shows_optional_columns_only_when_present():
    plain = _result(_table()).summary()
    for header in ("eta2_partial", "eta2_generalized", "GG P(>F)", "HF P(>F)"):
        assert header not in plain
    full = _table(
        eta2_partial=[0.1, 0.6, 0.2],
        eta2_generalized=[0.05, 0.4, 0.1],
        p_parametric_gg=[0.2, 1e-4, 0.08],
        p_parametric_hf=[0.2, 2e-5, np.nan],
    )
    text = _result(full).summary()
    header = next(line for line in text.splitlines() if "resampled" in line)
    order = ["df", "SS", "F", "eta2_partial", "eta2_generalized", "parametric P(>F)",
             "GG P(>F)", "HF P(>F)", "resampled P(>F)"]  # fmt: skip
    positions = [header.index(h) for h in order]
    assert positions == sorted(positions)
    row = next(line for line in text.splitlines() if line.startswith("A:B"))
    assert row.split()[-2:] == ["0.049", "*"]  # the NaN HF p is blank
    assert len(row.split()) == 1 + 10 - 1 + 1  # name, 10 columns minus the NaN one, code


def test_summary_nan_p_has_no_code():
    table = _table(p_permutation=[np.nan, 0.0005, 0.049], F=[np.nan, 20.25, 3.0])
    row = next(line for line in _result(table).summary().splitlines() if line.startswith("A "))
    assert row.split() == ["A", "1", "12", "1.5", "0.2"]


def test_summary_less_alternative_is_stated():
    assert "Alternative: less" in _result(_table(), alternative="less").summary()
    assert "Alternative" not in _result(_table(), alternative="two-sided").summary()


def test_str_is_summary_and_print_works(mixed_result, capsys):
    assert str(mixed_result) == mixed_result.summary()
    print(mixed_result)
    out = capsys.readouterr().out
    assert "grp:t" in out and "rd_kheradpajouh_renaud" in out


def test_summary_of_several_outcomes_has_a_block_each(multi_result):
    text = multi_result.summary().split("Sphericity")[0]
    assert text.count("Outcome: ") == 2
    y_block, z_block = text.split("Outcome: y")[1].split("Outcome: z")
    for block in (y_block, z_block):
        assert all(effect in block for effect in ("grp", "t", "grp:t"))


def test_summary_shows_the_sphericity_block():
    tests = sphericity(np.random.default_rng(0).normal(size=(10, 3)), (3,), None, [(0,)])
    result = _result(_table(), sphericity=_sphericity_frame({"B": tests[(0,)]}))
    text = result.summary()
    assert "Sphericity (Mauchly" in text
    block = text.split("Sphericity")[1]
    assert "Mauchly W" in block and "GG eps" in block and "HF eps" in block
    assert f"{tests[(0,)].epsilon_gg:.4g}" in block
    # an empty frame (no effect with more than one df) prints no block
    empty = _result(_table(), sphericity=_sphericity_frame({}))
    assert "Sphericity" not in empty.summary()


def test_repr_is_one_readable_line(mixed_result):
    text = repr(mixed_result)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("AovPermResult(method='rd_kheradpajouh_renaud'")
    assert "effects=['grp', 't', 'grp:t']" in text and "<array (199, 3)>" in text
    assert "null_distribution=None" in repr(_result(_table()))


# --------------------------------------------------------------------------------------------
# to_frame with and without the optional columns
# --------------------------------------------------------------------------------------------
def test_to_frame_carries_optional_columns():
    table = _table(eta2_partial=[0.1, 0.6, 0.2], p_parametric_gg=[0.2, 1e-4, 0.08])
    frame = _result(table).to_frame()
    assert list(frame.columns) == ["effect", *table.columns, "method", "n_resamples", "exact"]
    np.testing.assert_array_equal(frame["eta2_partial"], table["eta2_partial"])
    assert table.index.name == "effect" and "effect" not in table.columns  # not modified


def test_to_frame_of_several_outcomes(multi_result):
    frame = multi_result.to_frame()
    assert list(frame.columns[:2]) == ["outcome", "effect"]
    assert frame["outcome"].tolist() == ["y"] * 3 + ["z"] * 3


# --------------------------------------------------------------------------------------------
# null_frame
# --------------------------------------------------------------------------------------------
def test_null_frame_single_outcome(mixed_result):
    null = mixed_result.null_frame()
    assert list(null.columns) == ["grp", "t", "grp:t"] and null.index.name == "permutation"
    np.testing.assert_array_equal(null.to_numpy(), mixed_result.null_distribution)
    null.iloc[0, 0] = -1.0  # a copy: the result's read-only array is untouched
    assert mixed_result.null_distribution[0, 0] != -1.0


def test_null_frame_several_outcomes(multi_result):
    null = multi_result.null_frame()
    null.iloc[0, 0] = -1.0  # a copy
    assert multi_result.null_distribution[0, 0, 0] != -1.0
    null = multi_result.null_frame()
    assert null.index.names == ["outcome", "permutation"]
    assert null.shape == (2 * 99, 3)
    np.testing.assert_array_equal(null.loc["z"].to_numpy(), multi_result.null_distribution[1])
    assert list(null.loc["y"].index) == list(range(99))


def test_null_frame_without_null_is_a_clear_error():
    with pytest.raises(ValueError, match=r"return_null=True"):
        _result(_table()).null_frame()


# --------------------------------------------------------------------------------------------
# plot
# --------------------------------------------------------------------------------------------
def test_plot_returns_axes_with_the_observed_f(mixed_result):
    ax = mixed_result.plot("t")
    assert isinstance(ax, matplotlib.axes.Axes)
    observed = mixed_result.table.loc["t", "F"]
    lines = [line for line in ax.get_lines() if np.allclose(line.get_xdata(), observed)]
    assert len(lines) == 1
    heights = sum(patch.get_height() for patch in ax.patches)
    assert heights == np.isfinite(mixed_result.null_distribution[:, 1]).sum()
    assert ax.get_xlabel() == "F" and "t" in ax.get_title()
    plt.close(ax.figure)


def test_plot_draws_on_the_given_axes(multi_result):
    fig, ax = plt.subplots()
    out = multi_result.plot("grp:t", ax=ax, outcome="z", bins=10)
    assert out is ax and len(ax.patches) == 10
    observed = multi_result.table.loc[("z", "grp:t"), "F"]
    assert any(np.allclose(line.get_xdata(), observed) for line in ax.get_lines())
    assert "(z)" in ax.get_title()
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"effect": "nope"}, "`effect` must be one of"),
     ({"effect": "t", "outcome": "w"}, "`outcome` must be one of")],
)  # fmt: skip
def test_plot_bad_arguments(mixed_result, kwargs, words):
    with pytest.raises(ValueError, match=words):
        mixed_result.plot(**kwargs)


def test_plot_needs_outcome_with_several(multi_result):
    with pytest.raises(ValueError, match=r"`outcome` is needed with several outcomes: \['y'"):
        multi_result.plot("t")


def test_plot_without_null_is_a_clear_error():
    with pytest.raises(ValueError, match=r"plot\(\) needs the null.*return_null=True"):
        _result(_table()).plot("A")


# --------------------------------------------------------------------------------------------
# frozen, read-only
# --------------------------------------------------------------------------------------------
def test_result_is_frozen_and_null_read_only(mixed_result):
    with pytest.raises(dataclasses.FrozenInstanceError):
        mixed_result.method = "manly"
    with pytest.raises(ValueError, match="read-only"):
        mixed_result.null_distribution[0, 0] = 1.0
    assert mixed_result.sphericity is None or isinstance(mixed_result.sphericity, pd.DataFrame)


# --------------------------------------------------------------------------------------------
# PosthocResult
# --------------------------------------------------------------------------------------------
def test_posthoc_summary_and_repr():
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"site": ["x"] * 9 + ["y"] * 6,
                         "g": ["a", "b", "c"] * 3 + ["a", "b"] * 3,
                         "y": rng.normal(size=15)})  # fmt: skip
    with pytest.warns(UserWarning):
        res = permanova.posthoc(data, "y", "g", by="site", n_resamples=99, random_state=0)
    text = res.summary()
    assert str(res) == text
    assert text.startswith("Pairwise permutation tests of g within levels of site")
    assert "hedges_g" in text and "Holm P(>F)" in text and text.endswith(SIGNIF_LEGEND)
    assert "Notes:" in text and "not tested: level 'c'" in text
    assert "(exact)" in text or "(Monte-Carlo)" in text
    text_repr = repr(res)
    assert "\n" not in text_repr and "n_comparisons=6" in text_repr


def test_posthoc_summary_without_tested_comparisons():
    table = pd.DataFrame({"level_1": ["a"], "level_2": ["b"], "n_1": [1], "n_2": [0],
                          "difference": [np.nan], "hedges_g": [np.nan], "F": [np.nan],
                          "p_permutation": [np.nan], "p_holm": [np.nan], "exact": [False],
                          "n_resamples": [0], "note": ["not tested"]})  # fmt: skip
    res = PosthocResult(table, "g", [], False, "freedman_lane", 99)
    text = res.summary()
    assert "none (no comparison tested)" in text and "0: not tested" in text
