"""Summaries of a comparison frame: mean scores per condition and detector, and a plot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tukeyrupture._validation import check_columns

__all__ = ["plot_comparison", "summarize_comparison"]

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _check_columns(frame, **columns):
    """``frame`` as compare_detectors returns it, holding the columns each argument names."""
    check_columns(frame, "frame", ())
    for argument, column in columns.items():
        names = [column] if isinstance(column, str) else list(column)
        for name in names:
            if name not in frame.columns:
                raise ValueError(
                    f"`{argument}`: column {name!r} is not in the frame; its columns are "
                    f"{list(frame.columns)}."
                )


def summarize_comparison(
    frame: pd.DataFrame,
    by: str | Sequence[str] = "depth",
    metrics: str | Sequence[str] = ("recall", "precision", "false_positive_rate", "specificity"),
) -> pd.DataFrame:
    """Mean of each metric over replications, per detector and value of ``by``.

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`compare_detectors`.
    by : str or list of str, default="depth"
        Condition columns to group by (besides ``detector``).
    metrics : str or list of str
        Metric columns to average (NaN values are skipped); a str is one metric.

    Returns
    -------
    DataFrame
        Index ``(detector, *by)`` in the frame's detector order; one column per metric.

    Examples
    --------
    >>> from tukeyrupture.comparison import compare_detectors, summarize_comparison
    >>> frame = compare_detectors(["tcc"], {"depth": [0.0, 4.0]}, 2, 0, progress=False)
    >>> summarize_comparison(frame, metrics=["recall"]).round(2)
                    recall
    detector depth
    tcc      0.0      0.09
             4.0      0.73
    """
    by = [by] if isinstance(by, str) else list(by)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    _check_columns(frame, by=by, metrics=metrics, detector="detector")
    order = pd.Categorical(frame["detector"], categories=frame["detector"].unique())
    return (
        frame.groupby([order, *[frame[c] for c in by]], observed=True)[metrics]
        .mean()
        .rename_axis(["detector", *by])
    )


def plot_comparison(
    frame: pd.DataFrame,
    x: str = "depth",
    metric: str = "recall",
    *,
    ax: Axes | None = None,
    hue: str = "detector",
    confidence: float = 0.95,
) -> Axes:
    """Curves of a metric against a condition parameter, one line per detector.

    Each point is the mean over replications (NaN skipped), with a band of the
    ``confidence`` t-interval of that mean.

    Parameters
    ----------
    frame : DataFrame
        Output of :func:`compare_detectors`; filter it first when other condition
        parameters vary as well (their replications are pooled otherwise).
    x : str, default="depth"
        Condition column on the horizontal axis.
    metric : str, default="recall"
        Metric column on the vertical axis.
    ax : matplotlib Axes or None, default=None
        Where to draw; None draws on a new figure.
    hue : str, default="detector"
        Column with one line per value.
    confidence : float, default=0.95
        Level of the band, in (0, 1).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Examples
    --------
    >>> from tukeyrupture.comparison import compare_detectors, plot_comparison
    >>> frame = compare_detectors(["tcc", "shewhart"], {"depth": [1.0, 3.0]}, 3, 0, progress=False)
    >>> ax = plot_comparison(frame, x="depth", metric="recall")
    >>> [line.get_label() for line in ax.get_lines()]
    ['tcc', 'shewhart']
    """
    from scipy import stats

    _check_columns(frame, x=x, metric=metric, hue=hue)
    if not 0 < confidence < 1:
        raise ValueError(f"`confidence` must be in (0, 1); got {confidence!r}.")
    if not pd.api.types.is_numeric_dtype(frame[metric]):
        raise TypeError(f"`metric` column {metric!r} must be numeric.")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    summary = frame.groupby([hue, x], sort=False)[metric].agg(["mean", "std", "count"])
    for name in frame[hue].unique():
        part = summary.loc[name].sort_index()
        positions = part.index.to_numpy(dtype=float)
        count = part["count"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            quantile = stats.t.ppf((1 + confidence) / 2, np.maximum(count - 1, 1))
            half = np.where(count > 1, quantile * part["std"] / np.sqrt(count), np.nan)
        mean = part["mean"].to_numpy(dtype=float)
        (line,) = ax.plot(positions, mean, marker="o", label=str(name))
        ax.fill_between(
            positions, mean - half, mean + half, color=line.get_color(), alpha=0.2, linewidth=0
        )
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.legend(title=hue, fontsize="small")
    ax.grid(True, alpha=0.3)
    return ax
