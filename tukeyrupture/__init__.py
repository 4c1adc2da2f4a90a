"""Alliance-rupture detection with Tukey's control charts."""

from importlib.metadata import PackageNotFoundError, version

from tukeyrupture.data import from_long, total_scores
from tukeyrupture.detector import TukeyRuptureDetector
from tukeyrupture.results import RuptureLabel, RuptureResult

try:
    __version__ = version("tukeyrupture")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "RuptureLabel",
    "RuptureResult",
    "TukeyRuptureDetector",
    "__version__",
    "from_long",
    "total_scores",
]
