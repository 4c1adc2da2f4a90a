"""One registry of every built-in rupture detector, with its change-point family.

The families follow Eubanks-Carter, Gorman and Muran (2012), who sort the change-point
methods of psychotherapy research into criterion-based, control-chart, partitioning and
regression methods; Bayesian change-point models are the fifth family here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from tukeyrupture.comparison.bocpd import BOCPDDetector
from tukeyrupture.comparison.charts import CUSUMDetector, EWMADetector
from tukeyrupture.comparison.partitioning import RupturesDetector
from tukeyrupture.comparison.rivals import (
    AbsoluteDropDetector,
    ReliableChangeDetector,
    ShewhartDetector,
)
from tukeyrupture.comparison.segmented import SegmentedRegressionDetector
from tukeyrupture.detector import TukeyRuptureDetector

__all__ = ["FAMILIES", "REGISTRY", "DetectorEntry", "build_detector", "list_detectors"]

#: The change-point families, in the order of :func:`list_detectors`.
FAMILIES: tuple[str, ...] = (
    "criterion",
    "control chart",
    "partitioning",
    "regression",
    "bayesian",
)


@dataclass(frozen=True)
class DetectorEntry:
    """A built-in detector: its estimator class, default parameters and family.

    Attributes
    ----------
    name : str
        The registry name (``build_detector(name)``).
    family : str
        One of :data:`FAMILIES`.
    estimator : type
        The estimator class.
    params : tuple of (str, object)
        Parameters that differ from the class defaults.
    description : str
        One line on the rule.
    requires : str or None
        Optional package the detector needs, or None.
    extra : str or None
        The ``tukeyrupture`` extra that installs it (``pip install 'tukeyrupture[extra]'``).

    Examples
    --------
    >>> from tukeyrupture.comparison.registry import REGISTRY
    >>> REGISTRY["tcc_only"].build()
    TukeyRuptureDetector(absolute_sd_multiplier=None)
    """

    name: str
    family: str
    estimator: type
    params: tuple[tuple[str, Any], ...] = field(default=())
    description: str = ""
    requires: str | None = None
    extra: str | None = None

    def build(self, **params) -> Any:
        """A new, unfitted estimator; ``params`` override the registered parameters."""
        return self.estimator(**{**dict(self.params), **params})

    @property
    def available(self) -> bool:
        """Whether the optional package (if any) is installed."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None


def _entries(*entries: DetectorEntry) -> Mapping[str, DetectorEntry]:
    return MappingProxyType({entry.name: entry for entry in entries})


#: Built-in detectors by name (read-only).
REGISTRY: Mapping[str, DetectorEntry] = _entries(
    DetectorEntry(
        "tcc",
        "control chart",
        TukeyRuptureDetector,
        description="the study's rule: Tukey's control chart (TCC) or a 2-SD absolute drop",
    ),
    DetectorEntry(
        "tcc_only",
        "control chart",
        TukeyRuptureDetector,
        (("absolute_sd_multiplier", None),),
        description="Tukey's control chart alone: x[t] < Q1 - k IQR after x[t-1] > LHM",
    ),
    DetectorEntry(
        "shewhart",
        "control chart",
        ShewhartDetector,
        description="individuals chart: x[t] below the mean - 3 moving-range sigmas",
    ),
    DetectorEntry(
        "ewma",
        "control chart",
        EWMADetector,
        description="lower EWMA chart (Roberts 1959), limits from the series' baseline",
    ),
    DetectorEntry(
        "cusum",
        "control chart",
        CUSUMDetector,
        description="lower one-sided CUSUM (Page 1954), k and h in baseline SDs",
    ),
    DetectorEntry(
        "absolute",
        "criterion",
        AbsoluteDropDetector,
        description="a drop of at least 2 pooled SDs from the preceding session",
    ),
    DetectorEntry(
        "reliable_change",
        "criterion",
        ReliableChangeDetector,
        description="Jacobson-Truax reliable deterioration between consecutive sessions",
    ),
    DetectorEntry(
        "pelt",
        "partitioning",
        RupturesDetector,
        (("algorithm", "pelt"),),
        description="PELT segmentation (ruptures), changes to a lower segment mean",
        requires="ruptures",
        extra="rivals",
    ),
    DetectorEntry(
        "binseg",
        "partitioning",
        RupturesDetector,
        (("algorithm", "binseg"),),
        description="binary segmentation (ruptures), changes to a lower segment mean",
        requires="ruptures",
        extra="rivals",
    ),
    DetectorEntry(
        "window",
        "partitioning",
        RupturesDetector,
        (("algorithm", "window"),),
        description="sliding-window search (ruptures), changes to a lower segment mean",
        requires="ruptures",
        extra="rivals",
    ),
    DetectorEntry(
        "segmented",
        "regression",
        SegmentedRegressionDetector,
        description="interrupted time-series regression: the most significant level drop",
    ),
    DetectorEntry(
        "bocpd",
        "bayesian",
        BOCPDDetector,
        description="Bayesian online change-point detection (Adams & MacKay 2007)",
    ),
)


def _check_name(name):
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"Unknown detector name {name!r}; valid names are {sorted(REGISTRY)}.")
    return REGISTRY[name]


def build_detector(name: str, **params) -> Any:
    """A new, unfitted estimator of the registered detector ``name``.

    Parameters
    ----------
    name : str
        A name of :data:`REGISTRY` (see :func:`list_detectors`).
    **params
        Parameters of the estimator that replace the registered ones.

    Returns
    -------
    estimator
        The unfitted estimator.

    Raises
    ------
    ValueError
        If ``name`` is unknown (the message lists the valid names) or a parameter is not
        one of the estimator's.

    Examples
    --------
    >>> from tukeyrupture.comparison.registry import build_detector
    >>> build_detector("cusum", h=5.0)
    CUSUMDetector(h=5.0)
    """
    entry = _check_name(name)
    valid = entry.estimator().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(
            f"`params` {unknown} are not parameters of {entry.estimator.__name__} "
            f"(detector {name!r}); valid parameters are {sorted(valid)}."
        )
    return entry.build(**params)


def list_detectors(family: str | None = None) -> pd.DataFrame:
    """The registered detectors as a table, one row per detector.

    Parameters
    ----------
    family : str or None, default=None
        Keep only the detectors of this family (one of :data:`FAMILIES`).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, family, estimator`` (class name), ``params`` (the registered
        non-default parameters as a dict), ``description``, ``requires`` and ``extra``
        (optional package and the extra that installs it, missing when there is none) and
        ``available`` (whether the package is installed); rows by family in the order of
        :data:`FAMILIES`, then in registry order.

    Raises
    ------
    ValueError
        If ``family`` is not one of :data:`FAMILIES`.

    Examples
    --------
    >>> from tukeyrupture.comparison.registry import list_detectors
    >>> list_detectors("control chart")[["name", "estimator"]]
           name             estimator
    0       tcc  TukeyRuptureDetector
    1  tcc_only  TukeyRuptureDetector
    2  shewhart      ShewhartDetector
    3      ewma          EWMADetector
    4     cusum         CUSUMDetector
    """
    if family is not None and family not in FAMILIES:
        raise ValueError(f"`family` must be one of {list(FAMILIES)} or None; got {family!r}.")
    rows = [
        {
            "name": entry.name,
            "family": entry.family,
            "estimator": entry.estimator.__name__,
            "params": dict(entry.params),
            "description": entry.description,
            "requires": entry.requires,
            "extra": entry.extra,
            "available": entry.available,
        }
        for wanted in FAMILIES
        for entry in REGISTRY.values()
        if entry.family == wanted and family in (None, wanted)
    ]
    columns = ["name", "family", "estimator", "params", "description", "requires", "extra"]
    return pd.DataFrame(rows, columns=[*columns, "available"])
