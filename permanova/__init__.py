"""Permutation ANOVA for between, within and mixed designs, with the methods of R's permuco."""

from permanova._rotation import MAX_ROWS as HUH_JHUN_MAX_ROWS
from permanova.api import aovperm, mixed, oneway_between, oneway_within
from permanova.posthoc import posthoc
from permanova.results import AovPermResult, PosthocResult

__all__ = [
    "HUH_JHUN_MAX_ROWS",
    "AovPermResult",
    "PosthocResult",
    "aovperm",
    "mixed",
    "oneway_between",
    "oneway_within",
    "posthoc",
]
