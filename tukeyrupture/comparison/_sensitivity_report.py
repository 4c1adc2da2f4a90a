"""The self-contained HTML report of a sensitivity study (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import io
from numbers import Real
from pathlib import Path

import numpy as np
import pandas as pd

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.88em; }
th, td { padding: 0.25em 0.6em; text-align: right; border-bottom: 1px solid #e3e3e3; }
th { background: #f3f3f3; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
.small { font-size: 0.85em; color: #555; }
.wide { overflow-x: auto; }
"""

_RATES = {
    "recall": "Recall (share of true central sessions found)",
    "false_positive_rate": "False-positive rate (per session without a rupture)",
    "repair_accuracy": "Repair accuracy (matched ruptures with the true label)",
}
_MARKERS = {
    "criterion": "o",
    "control chart": "s",
    "partitioning": "^",
    "regression": "D",
    "bayesian": "P",
}


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(png: str, caption: str) -> str:
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{png}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _colours(detectors):
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    return {name: cmap(i % 20) for i, name in enumerate(detectors)}


def _level_positions(levels):
    """x positions: the values for numeric levels, 0, 1, ... (labelled) otherwise."""
    numeric = all(isinstance(v, Real) and not isinstance(v, bool) for v in levels)
    if numeric:
        return [float(v) for v in levels], None
    return list(range(len(levels))), [str(v) for v in levels]


def _rate_figure(scores, rate, families, colours):
    import matplotlib.pyplot as plt

    factors = [f for f in dict.fromkeys(scores["factor"]) if f != "baseline"]
    columns = min(3, max(len(factors), 1))
    rows = -(-max(len(factors), 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.3 * rows), squeeze=False)
    for ax, factor in zip(axes.flat, factors):
        part = scores[scores["factor"] == factor]
        levels = list(dict.fromkeys(part["level"]))
        positions, labels = _level_positions(levels)
        where = dict(zip(map(repr, levels), positions))
        for name, rows_ in part.groupby("detector", sort=False):
            x = [where[repr(level)] for level in rows_["level"]]
            y = rows_[rate].to_numpy(dtype=float)
            error = np.abs(rows_[[f"{rate}_low", f"{rate}_high"]].to_numpy(float).T - y)
            ax.errorbar(
                x,
                y,
                yerr=error,
                color=colours[name],
                capsize=2,
                lw=1.2,
                marker=_MARKERS.get(families[name], "v"),
                ms=4,
                label=name,
            )
        if labels is not None:
            ax.set_xticks(positions, labels)
        ax.set_xlabel(factor)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(factors) :]:
        ax.set_visible(False)
    axes.flat[0].set_ylabel(rate.replace("_", " "))
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    fig.tight_layout()
    return _png(fig)


def _roc_figure(roc, colours):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    baseline = roc[roc["factor"] == "baseline"]
    for name, curve in baseline.groupby("detector", sort=False):
        ax.plot(curve["fpr"], curve["tpr"], color=colours[name], lw=1.3, label=name)
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1)
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("recall (true-positive rate)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def _timing_figure(timing, colours):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.35 * len(timing) + 1))
    ax.barh(
        timing["detector"],
        timing["ms_per_1000_series"],
        color=[colours[n] for n in timing["detector"]],
    )
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("milliseconds per 1000 series (fit + predict)")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def _interval_text(frame, rate):
    def text(row):
        if pd.isna(row[rate]):
            return ""
        return f"{row[rate]:.3f} [{row[f'{rate}_low']:.3f}, {row[f'{rate}_high']:.3f}]"

    return frame.apply(text, axis=1)


def _baseline_table(scores, confidence):
    base = scores[scores["factor"] == "baseline"]
    level = f"{100 * confidence:g}% CI"
    table = pd.DataFrame({"detector": base["detector"], "family": base["family"]})
    for rate, label in (
        ("recall", "recall"),
        ("false_positive_rate", "false-positive rate"),
        ("repair_accuracy", "repair accuracy"),
    ):
        table[f"{label} [{level}]"] = _interval_text(base, rate)
    table["AUC"] = base["auc"].round(3)
    table["true ruptures"] = base["n_true"]
    return table.to_html(index=False, na_rep="", border=0)


def _settings_table(result):
    from tukeyrupture.comparison._realistic_iv import PRESETS

    rows = [
        {"setting": name, "value": repr(value)} for name, value in PRESETS[result.preset].items()
    ]
    rows += [
        {"setting": f"grid: {factor}", "value": ", ".join(map(repr, levels))}
        for factor, levels in result.grid.items()
    ]
    rows += [
        {"setting": "series per condition", "value": str(result.n_series)},
        {"setting": "seed (random_state)", "value": str(result.seed)},
        {"setting": "matching tolerance (sessions)", "value": str(result.tolerance)},
    ]
    return pd.DataFrame(rows).to_html(index=False, border=0)


def render_sensitivity_report(result) -> str:
    """The report of a :class:`~tukeyrupture.comparison.sensitivity.SensitivityResult` as
    one HTML page (no external files or links)."""
    from tukeyrupture import __version__

    scores, timing = result.scores, result.timing
    families = dict(zip(timing["detector"], timing["family"]))
    colours = _colours(list(timing["detector"]))
    level = f"{100 * result.confidence:g}%"
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Sensitivity study ({html.escape(result.preset)})</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Sensitivity of rupture detectors: {html.escape(result.preset)} preset</h1>",
        f"<p class='small'>tukeyrupture {html.escape(__version__)}; {result.n_series} "
        f"simulated series per condition; seed {result.seed}. Each factor varies alone "
        "around the preset's condition (the baseline); every condition uses the same seed "
        "(common random numbers). Intervals are Wilson score intervals at "
        f"{level} over sessions, treated as independent trials (sessions of one series "
        "are correlated, so they are somewhat too narrow).</p>",
        "<h2>Baseline</h2>",
        f"<div class='wide'>{_baseline_table(scores, result.confidence)}</div>",
    ]
    for rate, title in _RATES.items():
        parts += [
            f"<h2>{html.escape(title)}</h2>",
            _figure(
                _rate_figure(scores, rate, families, colours),
                f"{title} against each factor, with {level} intervals.",
            ),
        ]
    parts.append("<h2>ROC curves at the baseline</h2>")
    if (result.roc["factor"] == "baseline").any():
        parts.append(
            _figure(
                _roc_figure(result.roc, colours),
                "ROC over each detector's own threshold (its decision_function).",
            )
        )
    else:
        parts.append("<p>No detector has a decision_function.</p>")
    parts += [
        "<h2>Run time</h2>",
        _figure(_timing_figure(timing, colours), "Fit + predict time per 1000 series."),
        timing.round(4).to_html(index=False, border=0),
        "<h2>Settings</h2>",
        _settings_table(result),
        "<h2>All scores</h2><details><summary>One row per factor, level and detector"
        "</summary><div class='wide'>",
        scores.round(4).to_html(index=False, na_rep="", border=0),
        "</div></details></body></html>",
    ]
    return "\n".join(parts)


def write_sensitivity_report(result, path: str | Path) -> Path:
    """Write :func:`render_sensitivity_report` to ``path`` (a folder gets
    ``sensitivity.html``); return the file's path."""
    path = Path(path)
    if path.is_dir():
        path = path / "sensitivity.html"
    path.write_text(render_sensitivity_report(result), encoding="utf-8")
    return path
