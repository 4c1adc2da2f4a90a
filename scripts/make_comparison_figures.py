"""Draw the figures of ``docs/change_points.rst`` and ``docs/sensitivity.rst``.

* ``change_points_series.png``: one realistic series (children preset, one planted
  rupture of 5 within-person SDs, the first complete series with exactly one) under every
  registered detector, the sessions each flags marked;
* ``sensitivity_*.png``: the figures of the default sensitivity study's report
  (``tukeyrupture sensitivity --preset children``), taken from its embedded PNGs.

Run from the repository root::

    python scripts/make_comparison_figures.py
"""

from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from tukeyrupture import list_detectors, sensitivity_study, simulate_realistic
from tukeyrupture.comparison.registry import REGISTRY

OUT = Path(__file__).resolve().parents[1] / "docs" / "_static"
SENSITIVITY = ("recall", "false_positives", "repair", "roc", "timing")


def _example_series():
    """The first simulated series with exactly one planted rupture and no missing session."""
    sim = simulate_realistic(200, preset="children", depth=5.0, rupture_rate=0.08, random_state=4)
    ruptures = (sim.central == 1).sum(axis=1)
    complete = ~np.isnan(sim.X).any(axis=1)
    row = int(np.flatnonzero((ruptures == 1) & complete)[0])
    return sim.X[row : row + 1], int(np.flatnonzero(sim.central[row])[0])


def series_figure(path: Path) -> None:
    x, truth = _example_series()
    frame = list_detectors()
    available = [name for name in frame["name"] if REGISTRY[name].available]
    fig, axes = plt.subplots(
        len(available), 1, figsize=(7.5, 1.05 * len(available)), sharex=True, sharey=True
    )
    sessions = np.arange(1, x.shape[1] + 1)
    for ax, name in zip(axes, available, strict=True):
        labels = REGISTRY[name].build().fit(x).predict(x)[0]
        flagged = labels > 0
        ax.plot(sessions, x[0], color="0.35", marker="o", markersize=3, linewidth=1)
        ax.axvline(truth + 1, color="tab:green", linewidth=6, alpha=0.25)
        ax.plot(sessions[flagged], x[0, flagged], "v", color="tab:red", markersize=8)
        family = REGISTRY[name].family
        ax.set_ylabel(f"{name}\n({family})", rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.margins(y=0.25)
    axes[-1].set_xlabel("session (green band: the planted rupture; red: flagged)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sensitivity_figures() -> None:
    result = sensitivity_study(preset="children", random_state=0, progress=False)
    with tempfile.TemporaryDirectory() as folder:
        page = result.to_html(Path(folder) / "sensitivity.html").read_text()
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    for name, data in zip(SENSITIVITY, images, strict=False):
        (OUT / f"sensitivity_{name}.png").write_bytes(base64.b64decode(data))


if __name__ == "__main__":
    series_figure(OUT / "change_points_series.png")
    sensitivity_figures()
