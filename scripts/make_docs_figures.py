"""Draw the control charts of ``docs/charts.rst`` into ``docs/_static/``.

Two series of the bundled synthetic data (:func:`tukeyrupture.datasets.load_alliance`),
analysed with the study's settings (k = 1, absolute criterion 2 x the pooled within-series
SD, 7 consecutive sessions), are drawn with :func:`tukeyrupture.plotting.plot_control_chart`:
one with a repaired and one with an unrepaired rupture. Each is the series that resembles
the study's Figure 1 (central rupture at session 3) and Figure 2 (session 11) most closely
among the series with no missing session and exactly one rupture, met by both criteria.
Run from the repository root::

    python scripts/make_docs_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tukeyrupture import TukeyRuptureDetector, from_long
from tukeyrupture.datasets import load_alliance
from tukeyrupture.plotting import plot_control_chart

OUT = Path(__file__).resolve().parents[1] / "docs" / "_static"
FIGURES = {  # file name: (repair, central session of the study's figure)
    "chart_repaired.png": ("repaired", 3),
    "chart_unrepaired.png": ("unrepaired", 11),
}


def _choose(table: pd.DataFrame, frame: pd.DataFrame, repair: str, session: int) -> str:
    """The series closest to the study's figure among the clear single-rupture series."""
    per_series = table.groupby("series")["repair"].transform("size")
    last = frame.notna().to_numpy()[:, ::-1].argmax(axis=1)
    n_observed = frame.notna().sum(axis=1).to_numpy()
    complete = pd.Series(frame.shape[1] - last == n_observed, index=frame.index)
    candidates = table[
        (per_series == 1)
        & (table["repair"] == repair)
        & (table["criterion"] == "both")
        & table["series"].map(complete)
    ]
    distance = (candidates["central_session"] - session).abs()
    return candidates.loc[distance.sort_values(kind="stable").index[0], "series"]


def main() -> None:
    data = load_alliance()
    X, series, sessions = from_long(data, series="series", session="session", value="score")
    frame = pd.DataFrame(X, index=pd.Index(series, dtype=object), columns=sessions)
    result = TukeyRuptureDetector().fit(frame).detect(frame)
    table = result.to_frame()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (repair, session) in FIGURES.items():
        chosen = _choose(table, frame, repair, session)
        position = int(np.flatnonzero(series == chosen)[0])
        ax = plot_control_chart(frame, result, series=position)
        ax.figure.savefig(OUT / name, dpi=110, metadata={"Software": None})
        plt.close(ax.figure)
        row = table[table["series"] == chosen].iloc[0]
        print(
            f"{name}: series {chosen}, sessions {row['pre_session']}-{row['central_session']}-"
            f"{row['post_session']} ({repair})"
        )


if __name__ == "__main__":
    main()
