"""The method comparison: simulated series, rival detectors, scores and simulation studies.

Data flow: :func:`simulate_alliance` (normal scores) or :func:`simulate_realistic` (bounded
Likert sums with AR(1) noise, trends, shaped repairs, informative missingness) plants
ruptures and returns ``(X, truth)``; every detector of the :data:`REGISTRY` (criterion,
control chart, partitioning, regression and Bayesian families) labels sessions with the
codes of :class:`~tukeyrupture.TukeyRuptureDetector`;
:func:`rupture_scores` compares labels with the truth; :func:`compare_detectors` runs grids
of conditions and detectors (serially, on loky workers or on a Dask cluster) and
:func:`sensitivity_study` a whole sensitivity study with its HTML report.
"""

from tukeyrupture.comparison.bocpd import BOCPDDetector
from tukeyrupture.comparison.charts import CUSUMDetector, EWMADetector
from tukeyrupture.comparison.compare import compare_detectors, make_detector
from tukeyrupture.comparison.metrics import (
    RuptureRocCurve,
    RuptureScores,
    make_rupture_scorer,
    rupture_roc_curve,
    rupture_scores,
)
from tukeyrupture.comparison.partitioning import RupturesDetector
from tukeyrupture.comparison.realistic import RealisticAlliance, simulate_realistic
from tukeyrupture.comparison.registry import FAMILIES, REGISTRY, build_detector, list_detectors
from tukeyrupture.comparison.rivals import (
    AbsoluteDropDetector,
    ReliableChangeDetector,
    ShewhartDetector,
)
from tukeyrupture.comparison.segmented import SegmentedRegressionDetector
from tukeyrupture.comparison.sensitivity import SensitivityResult, sensitivity_study
from tukeyrupture.comparison.simulate import SimulatedAlliance, simulate_alliance
from tukeyrupture.comparison.summary import plot_comparison, summarize_comparison

__all__ = [
    "FAMILIES",
    "REGISTRY",
    "AbsoluteDropDetector",
    "BOCPDDetector",
    "CUSUMDetector",
    "EWMADetector",
    "RealisticAlliance",
    "SegmentedRegressionDetector",
    "SensitivityResult",
    "build_detector",
    "list_detectors",
    "sensitivity_study",
    "simulate_realistic",
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
