"""Alliance-rupture detection with Tukey's control charts.

Three wings: this package holds the detector (kernels, estimator, results, data adapters,
plotting, dask adapter, datasets); :mod:`tukeyrupture.study` the seed study's pipeline;
:mod:`tukeyrupture.comparison` the method comparison (simulation, rival detectors,
metrics, simulation studies). The public names of the detector and of the comparison
are importable from here.
"""

from importlib.metadata import PackageNotFoundError, version

from tukeyrupture.comparison import (
    AbsoluteDropDetector,
    BOCPDDetector,
    CUSUMDetector,
    EWMADetector,
    RealisticAlliance,
    ReliableChangeDetector,
    RupturesDetector,
    SegmentedRegressionDetector,
    SensitivityResult,
    ShewhartDetector,
    SimulatedAlliance,
    build_detector,
    compare_detectors,
    list_detectors,
    make_rupture_scorer,
    plot_comparison,
    rupture_roc_curve,
    rupture_scores,
    sensitivity_study,
    simulate_alliance,
    simulate_realistic,
    summarize_comparison,
)
from tukeyrupture.data import from_long, total_scores
from tukeyrupture.detector import TukeyRuptureDetector
from tukeyrupture.results import RuptureLabel, RuptureResult

try:
    __version__ = version("tukeyrupture")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
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
    "RuptureLabel",
    "RuptureResult",
    "RupturesDetector",
    "ShewhartDetector",
    "SimulatedAlliance",
    "TukeyRuptureDetector",
    "__version__",
    "compare_detectors",
    "from_long",
    "make_rupture_scorer",
    "plot_comparison",
    "rupture_roc_curve",
    "rupture_scores",
    "simulate_alliance",
    "summarize_comparison",
    "total_scores",
]
