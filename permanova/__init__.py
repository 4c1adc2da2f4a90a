"""Permutation ANOVA for between, within and mixed designs, with the methods of R's permuco."""

from importlib.metadata import PackageNotFoundError, version

from permanova._lm_results import LmPermResult
from permanova._lmperm import lmperm
from permanova._rotation import MAX_ROWS as HUH_JHUN_MAX_ROWS
from permanova.api import aovperm
from permanova.posthoc import posthoc
from permanova.results import AovPermResult, PosthocResult
from permanova.shortcuts import mixed, oneway_between, oneway_within

try:
    __version__ = version("tukeyrupture")  # the distribution that ships both packages
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "HUH_JHUN_MAX_ROWS",
    "AovPermResult",
    "LmPermResult",
    "PosthocResult",
    "__version__",
    "aovperm",
    "lmperm",
    "mixed",
    "oneway_between",
    "oneway_within",
    "posthoc",
]
