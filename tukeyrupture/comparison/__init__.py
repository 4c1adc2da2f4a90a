"""The method comparison: simulated series, rival detectors, scores and simulation studies.

Data flow: :func:`simulate_alliance` plants ruptures and returns ``(X, truth)``; every rival
detector labels sessions with the codes of :class:`~tukeyrupture.TukeyRuptureDetector`;
:func:`rupture_scores` compares labels with the truth; :func:`compare_detectors` runs grids
of conditions and detectors (serially, on loky workers or on a Dask cluster).
"""

from tukeyrupture.comparison.compare import compare_detectors, make_detector
from tukeyrupture.comparison.metrics import (
    RuptureRocCurve,
    RuptureScores,
    make_rupture_scorer,
    rupture_roc_curve,
    rupture_scores,
)
from tukeyrupture.comparison.rivals import (
    AbsoluteDropDetector,
    ReliableChangeDetector,
    RupturesDetector,
    ShewhartDetector,
)
from tukeyrupture.comparison.simulate import SimulatedAlliance, simulate_alliance
from tukeyrupture.comparison.summary import plot_comparison, summarize_comparison

__all__ = [
    "AbsoluteDropDetector",
    "ReliableChangeDetector",
    "RuptureRocCurve",
    "RuptureScores",
    "RupturesDetector",
    "ShewhartDetector",
    "SimulatedAlliance",
    "compare_detectors",
    "make_detector",
    "make_rupture_scorer",
    "plot_comparison",
    "rupture_roc_curve",
    "rupture_scores",
    "simulate_alliance",
    "summarize_comparison",
]
