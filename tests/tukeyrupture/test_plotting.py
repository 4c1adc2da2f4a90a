"""Tests of the control chart."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from tukeyrupture import TukeyRuptureDetector
from tukeyrupture.plotting import plot_control_chart

REPAIRED, UNREPAIRED, UNRESOLVED = "#009E73", "#D55E00", "#7F7F7F"

X = np.array(
    [
        [40, 41, 40, 42, 34, 41, 40, 41, 42, 40.0],  # repaired TCC rupture at position 4
        [38, 39, 38, 37, 39, 38, 30, 31, 38, 39.0],  # unrepaired at 6
        [38, 39, 38, 37, 39, 38, 39, 38, 39, 30.0],  # unresolved at 9 (last session)
        [38, 39, np.nan, 37, 39, 38, np.nan, 31, 38, 39.0],  # not eligible
        [np.nan] * 10,
    ]
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def result():
    return TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X).detect(X)


def _line(ax, prefix):
    lines = [line for line in ax.get_lines() if line.get_label().startswith(prefix)]
    assert len(lines) == 1, [line.get_label() for line in ax.get_lines()]
    return lines[0]


def test_returns_axes_with_scores_and_levels(result):
    ax = plot_control_chart(X, result, series=0)
    assert isinstance(ax, plt.Axes)
    scores = _line(ax, "Alliance score")
    np.testing.assert_array_equal(scores.get_xdata(), np.arange(1, 11))
    np.testing.assert_array_equal(scores.get_ydata(), X[0])
    for prefix, attribute in [
        ("Median", "median"),
        ("Lower-half median", "lower_half_median"),
        ("Lower control limit", "lower_control_limit"),
        ("Upper control limit", "upper_control_limit"),
    ]:
        line = _line(ax, prefix)
        np.testing.assert_allclose(line.get_ydata(), getattr(result, attribute)[0])
    assert _line(ax, "Lower control limit").get_label() == "Lower control limit (39)"
    assert ax.get_title() == "Series 0: 1 rupture (1 repaired)"
    assert ax.get_xlabel() == "Session" and ax.get_ylabel() == "Alliance score"
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "Central session: repaired" in legend and "Pre-rupture session" in legend


@pytest.mark.parametrize(
    ("series", "session", "label", "color"),
    [
        (0, 5, "Central session: repaired", REPAIRED),
        (1, 7, "Central session: unrepaired", UNREPAIRED),
        (2, 10, "Central session: unresolved", UNRESOLVED),
    ],
)
def test_central_session_marked_and_coloured(result, series, session, label, color):
    ax = plot_control_chart(X, result, series=series)
    central = _line(ax, label)
    np.testing.assert_array_equal(central.get_xdata(), [session])
    np.testing.assert_array_equal(central.get_ydata(), [X[series, session - 1]])
    assert to_rgba(central.get_markerfacecolor()) == to_rgba(color)
    np.testing.assert_array_equal(_line(ax, "Pre-rupture session").get_xdata(), [session - 1])
    if session < 10:
        np.testing.assert_array_equal(_line(ax, "Post-rupture session").get_xdata(), [session + 1])
    else:
        assert not [ln for ln in ax.get_lines() if ln.get_label() == "Post-rupture session"]
    assert len(ax.patches) == 1  # the shaded pre/central/post sequence


def test_one_dimensional_input():
    x = X[1]
    result = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(x[None]).detect(x[None])
    ax = plot_control_chart(x, result)
    np.testing.assert_array_equal(_line(ax, "Alliance score").get_ydata(), x)
    assert _line(ax, "Central session: unrepaired").get_xdata()[0] == 7


def test_draws_on_given_axes_and_leaves_input_alone(result):
    fig, ax = plt.subplots()
    before = X.copy()
    assert plot_control_chart(X, result, series=1, ax=ax) is ax
    assert plt.gcf() is fig
    np.testing.assert_array_equal(X, before)


def test_ineligible_and_empty_series(result):
    ax = plot_control_chart(X, result, series=3)
    assert ax.get_title() == "Series 3: not analysed (too few consecutive sessions)"
    assert not [ln for ln in ax.get_lines() if ln.get_label().startswith("Central")]
    ax = plot_control_chart(X, result, series=4)
    assert [line.get_label() for line in ax.get_lines()] == ["Alliance score"]


def test_dataframe_labels_on_axis_and_title():
    frame = pd.DataFrame(X[:2], index=["anna", "ben"], columns=[f"w{i}" for i in range(10)])
    result = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(frame).detect(frame)
    ax = plot_control_chart(frame, result, series=1)
    assert ax.get_title().startswith("Series ben: ")
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"w{i}" for i in range(10)]
    np.testing.assert_array_equal(_line(ax, "Central session").get_xdata(), [7])


def test_numeric_session_labels_are_coordinates():
    frame = pd.DataFrame(X[:1], columns=np.arange(3, 13))
    result = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(frame).detect(frame)
    ax = plot_control_chart(frame, result)
    np.testing.assert_array_equal(_line(ax, "Alliance score").get_xdata(), np.arange(3, 13))
    assert ax.get_xlim() == (2.5, 12.5)


@pytest.mark.parametrize("series", [5, -1, 100])
def test_series_out_of_range(result, series):
    with pytest.raises(ValueError, match="`series`"):
        plot_control_chart(X, result, series=series)


@pytest.mark.parametrize("series", [1.0, "0", True, None])
def test_series_wrong_type(result, series):
    with pytest.raises(TypeError, match="`series`"):
        plot_control_chart(X, result, series=series)


def test_shape_mismatch(result):
    with pytest.raises(ValueError, match="`x` has shape"):
        plot_control_chart(X[:3], result)
    with pytest.raises(ValueError, match="`x` has shape"):
        plot_control_chart(X[0], result)
    with pytest.raises(ValueError, match="`x` must be 1-D"):
        plot_control_chart(X[None], result)


def test_bad_types(result):
    with pytest.raises(TypeError, match="`result`"):
        plot_control_chart(X, X)
    with pytest.raises(TypeError, match="`x`"):
        plot_control_chart([["a"] * 10] * 5, result)
    with pytest.raises(TypeError, match="`ax`"):
        plot_control_chart(X, result, ax="axes")


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_scores_in_x_are_refused(result, value):
    x = X.copy()
    x[1, 3] = value
    with pytest.raises(ValueError, match=r"`x` must hold finite scores.*\(1, 3\)"):
        plot_control_chart(x, result, series=0)
    plot_control_chart(X, result, series=3)  # NaN (missing sessions) stays allowed


def test_coinciding_lines_are_told_apart():
    """Median = lower-half median: the second line is drawn dashed over the first."""
    x = np.array([[5, 5, 5, 5, 5, 6, 7, 8, 3.0]])  # lower half all 5: median 5 = LHM 5
    result = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(x).detect(x)
    assert result.median[0] == result.lower_half_median[0] == 5
    ax = plot_control_chart(x, result)
    lines = {line.get_label(): line for line in ax.get_lines()}
    median = lines["Median (5)"]
    lhm = lines["Lower-half median (5, = median)"]
    assert median.get_linestyle() == "-" and lhm.get_linestyle() == "--"
    assert lhm.get_linewidth() > median.get_linewidth() and lhm.get_zorder() > median.get_zorder()
    assert median.get_ydata()[0] == lhm.get_ydata()[0] == 5
