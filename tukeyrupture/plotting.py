"""Control charts of alliance series, as in the study's Figures 1 and 2."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd

from tukeyrupture._validation import check_numeric_input, is_dask_array
from tukeyrupture.results import RuptureLabel, RuptureResult

__all__ = ["plot_control_chart"]

# Colours that stay distinguishable for the common colour-vision deficiencies (Okabe-Ito).
_REPAIR_STYLE = {
    RuptureLabel.REPAIRED: ("#009E73", "Central session: repaired"),
    RuptureLabel.UNREPAIRED: ("#D55E00", "Central session: unrepaired"),
    RuptureLabel.UNRESOLVED: ("#7F7F7F", "Central session: unresolved"),
}
_SCORE_COLOR = "#0072B2"
_LINE_STYLES = {
    # name: (result attribute, label, colour, line style)
    "upper_control_limit": ("Upper control limit", "#999999", (0, (2, 2))),
    "median": ("Median", "#333333", "-"),
    "lower_half_median": ("Lower-half median", "#E69F00", "--"),
    "lower_control_limit": ("Lower control limit", "#CC0000", (0, (2, 2))),
}


def _plot_control_chart_iv(x, result, series, ax):
    if is_dask_array(x):
        raise TypeError("`x` must be a numpy array or DataFrame; compute the dask array first.")
    if not isinstance(result, RuptureResult):
        raise TypeError(
            f"`result` must be a RuptureResult (from TukeyRuptureDetector.detect); "
            f"got {type(result).__name__}."
        )
    x = check_numeric_input(x, name="x")
    if isinstance(x, pd.DataFrame):
        values = x.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(x, dtype=np.float64)
    if values.ndim == 1:
        values = values[np.newaxis, :]
    if values.ndim != 2:
        raise ValueError(f"`x` must be 1-D (one series) or 2-D; got {values.ndim}-D.")
    if values.shape != result.labels.shape:
        raise ValueError(
            f"`x` has shape {values.shape} but `result` was computed on shape "
            f"{result.labels.shape}; pass the array the result was computed on."
        )
    if np.isinf(values).any():
        where = tuple(int(i) for i in np.argwhere(np.isinf(values))[0])
        raise ValueError(
            f"`x` must hold finite scores or NaN for missing sessions; got "
            f"{values[where]} at position {where}."
        )
    if isinstance(series, bool) or not isinstance(series, Integral):
        raise TypeError(f"`series` must be an integer row position; got {type(series).__name__}.")
    if not 0 <= series < values.shape[0]:
        raise ValueError(
            f"`series` must be a row position in [0, {values.shape[0]}); got {series}."
        )
    if ax is not None and not hasattr(ax, "axhline"):
        raise TypeError(f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}.")
    return values[int(series)], int(series)


def _session_positions(session_labels):
    """x coordinates of the sessions and, for non-numeric labels, their tick labels."""
    labels = list(session_labels)
    numeric = all(isinstance(v, Real) and not isinstance(v, bool) for v in labels)
    if numeric and len(labels) and np.all(np.diff(np.asarray(labels, dtype=float)) > 0):
        return np.asarray(labels, dtype=float), None
    return np.arange(1, len(labels) + 1, dtype=float), [str(v) for v in labels]


def _format(value: float) -> str:
    return f"{value:.4g}"


def _draw_levels(ax, result, series):
    """The chart's horizontal lines; one at the level of an earlier one is drawn over it."""
    drawn = {}  # level -> name of the line drawn there first
    for name, (text, color, style) in _LINE_STYLES.items():
        level = float(getattr(result, name)[series])
        if np.isnan(level):
            continue
        same = next((first for at, first in drawn.items() if np.isclose(at, level)), None)
        label = f"{text} ({_format(level)})"
        if same is not None:  # drawn dashed and wider over the first, so both stay visible
            label = f"{text} ({_format(level)}, = {_LINE_STYLES[same][0].lower()})"
            style = (3, (4, 4))
        ax.axhline(
            level,
            color=color,
            linestyle=style,
            linewidth=1.4 if same is None else 2.6,
            label=label,
            zorder=2 if same is None else 2.5,
        )
        drawn.setdefault(level, name)


def _draw_ruptures(ax, positions, row, labels):
    """Shaded sequences, open pre/post markers and central sessions coloured by repair."""
    central = np.flatnonzero(labels)
    n_sessions = positions.size
    pre = central - 1
    post = central[central + 1 < n_sessions] + 1
    for t in central:
        color = _REPAIR_STYLE[RuptureLabel(labels[t])][0]
        end = positions[t + 1] if t + 1 < n_sessions else positions[t]
        ax.axvspan(positions[t - 1], end, color=color, alpha=0.10, linewidth=0, zorder=1)
    for observed_sessions, marker, text in (
        (pre, "s", "Pre-rupture session"),
        (post, "D", "Post-rupture session"),
    ):
        shown = observed_sessions[~np.isnan(row[observed_sessions])]
        if shown.size:
            ax.plot(
                positions[shown],
                row[shown],
                linestyle="none",
                marker=marker,
                markersize=11,
                markerfacecolor="none",
                markeredgecolor="black",
                markeredgewidth=1.3,
                label=text,
                zorder=4,
            )
    for code, (color, text) in _REPAIR_STYLE.items():
        sessions = central[labels[central] == code]
        if sessions.size:
            ax.plot(
                positions[sessions],
                row[sessions],
                linestyle="none",
                marker="o",
                markersize=11,
                markerfacecolor=color,
                markeredgecolor="black",
                markeredgewidth=0.8,
                label=text,
                zorder=5,
            )


def plot_control_chart(x, result: RuptureResult, series: int = 0, ax=None):
    """Draw Tukey's control chart of one alliance series with its ruptures.

    The chart of the study's Figures 1 and 2: the scores by session, the median, the
    lower-half median and both control limits as labelled horizontal lines, each central
    rupture session as a large dot coloured by repair (repaired, unrepaired, unresolved),
    the pre- and post-rupture sessions as open markers, and each pre/central/post sequence
    shaded. A missing session breaks the line. A line at the level of an earlier one (e.g.
    the lower-half median at the median) is drawn dashed and wider over it, so both stay
    visible, and its legend entry names the line it coincides with.

    Parameters
    ----------
    x : array-like of shape (n_series, n_sessions) or (n_sessions,)
        The scores ``result`` was computed on (a 1-D array is one series); not modified.
    result : RuptureResult
        The output of :meth:`TukeyRuptureDetector.detect` on ``x``.
    series : int, default=0
        Row position of the series to draw (use ``result.series_labels`` to find it).
    ax : matplotlib Axes or None, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes holding the chart.

    Raises
    ------
    TypeError
        If ``result`` is not a RuptureResult, ``series`` not an integer or ``x`` not
        numeric.
    ValueError
        If ``x`` does not have the shape ``result`` was computed on or holds an
        infinity, or ``series`` is out of range.

    See Also
    --------
    TukeyRuptureDetector.detect : Compute the result to draw.

    Notes
    -----
    Sessions are placed at their labels when these are increasing numbers (1-based
    positions for plain arrays, the session numbers from :func:`tukeyrupture.from_long`);
    other labels are written as tick labels under positions 1, 2, .... The title names
    the series, its number of ruptures, or that it was not analysed (too few consecutive
    sessions), in which case no rupture is marked.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from tukeyrupture import TukeyRuptureDetector
    >>> from tukeyrupture.plotting import plot_control_chart
    >>> X = np.array([[40, 41, 40, 42, 34, 41, 40, 41, 42, 40.0],
    ...               [38, 39, 38, 37, 39, 38, 30, 31, 38, 39.0]])
    >>> result = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X).detect(X)
    >>> ax = plot_control_chart(X, result, series=1)
    >>> ax.get_title()
    'Series 1: 1 rupture (1 unrepaired)'
    >>> [line.get_label() for line in ax.get_lines()][:3]
    ['Alliance score', 'Upper control limit (41)', 'Median (38)']
    """
    row, series = _plot_control_chart_iv(x, result, series, ax)
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(9.0, 4.5), layout="constrained")

    positions, tick_labels = _session_positions(result.session_labels)
    labels = np.asarray(result.labels[series])
    eligible = bool(result.eligible[series])

    ax.plot(
        positions,
        row,
        color=_SCORE_COLOR,
        marker="o",
        markersize=5,
        linewidth=1.8,
        label="Alliance score",
        zorder=3,
    )
    _draw_levels(ax, result, series)

    _draw_ruptures(ax, positions, row, labels)
    n_sessions = positions.size
    ax.set_title(_title(result, series, labels, eligible))
    ax.set_xlabel("Session")
    ax.set_ylabel("Alliance score")
    if tick_labels is not None:
        ax.set_xticks(positions, tick_labels)
    elif n_sessions <= 30:
        ax.set_xticks(positions)
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    observed = np.flatnonzero(~np.isnan(row))
    if observed.size:  # the series' own span, not the whole panel's
        ax.set_xlim(positions[observed[0]] - 0.5, positions[observed[-1]] + 0.5)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def _title(result, series, labels, eligible) -> str:
    name = f"Series {result.series_labels[series]}"
    if not eligible:
        return f"{name}: not analysed (too few consecutive sessions)"
    counts = [(int(np.count_nonzero(labels == code)), code.name.lower()) for code in _REPAIR_STYLE]
    total = sum(count for count, _ in counts)
    if total == 0:
        return f"{name}: no rupture"
    detail = ", ".join(f"{count} {kind}" for count, kind in counts if count)
    return f"{name}: {total} rupture{'s' if total > 1 else ''} ({detail})"
