"""Sensitivity study: every detector over a one-factor-at-a-time grid of realistic data."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tukeyrupture.comparison import _sensitivity_run
from tukeyrupture.comparison._sensitivity_frames import roc_frame, scores_frame, timing_frame
from tukeyrupture.comparison._sensitivity_iv import (
    DEFAULT_GRID,
    MISSINGNESS,
    _sensitivity_study_iv,
)

__all__ = ["DEFAULT_GRID", "MISSINGNESS", "SensitivityResult", "sensitivity_study"]


@dataclass(frozen=True)
class SensitivityResult:
    """Detection rates of every detector against each factor of a sensitivity study.

    Attributes
    ----------
    scores : DataFrame
        One row per factor, level and detector (the first rows, ``factor="baseline"``,
        are the preset's condition): ``factor, level, detector, family``, the counts
        ``n_true, n_matched, n_negative, n_false_positive, n_repair_agree``, the rates
        ``recall``, ``false_positive_rate`` and ``repair_accuracy`` each with its
        confidence interval (``_low``, ``_high``), and ``auc`` (NaN without a
        ``decision_function``).
    roc : DataFrame
        ROC points over each detector's score threshold, one row per point:
        ``factor, level, detector, threshold, fpr, tpr``.
    timing : DataFrame
        Per detector: ``seconds`` of ``fit`` + ``predict`` over all conditions,
        ``n_series`` analysed and ``ms_per_1000_series``.
    preset : str
        The preset of :func:`~tukeyrupture.comparison.realistic.simulate_realistic`.
    grid : dict
        The factors and their levels (single-level factors included).
    n_series : int
        Series simulated per condition.
    seed : int
        Entropy of the root seed: ``random_state=seed`` repeats the study.
    confidence : float
        Level of the intervals.
    tolerance : int
        Matching window in sessions.

    Examples
    --------
    >>> from tukeyrupture.comparison.sensitivity import sensitivity_study
    >>> result = sensitivity_study(
    ...     grid={"depth": [1.0, 4.0]}, detectors=["absolute"], n_series=100,
    ...     random_state=0, progress=False)
    >>> result
    SensitivityResult(preset='children', factors=['depth'], detectors=['absolute'], n_series=100)
    >>> result.to_frame()[["factor", "level", "recall"]].round(2)
         factor   level  recall
    0  baseline  preset    0.40
    1     depth     1.0    0.15
    2     depth     4.0    0.70
    """

    scores: pd.DataFrame = field(repr=False)
    roc: pd.DataFrame = field(repr=False)
    timing: pd.DataFrame = field(repr=False)
    preset: str
    grid: dict = field(repr=False)
    n_series: int
    seed: int = field(repr=False)
    confidence: float = field(repr=False)
    tolerance: int = field(repr=False)

    def __repr__(self) -> str:
        factors = [name for name, levels in self.grid.items() if len(levels) > 1]
        return (
            f"SensitivityResult(preset={self.preset!r}, factors={factors}, "
            f"detectors={list(self.timing['detector'])}, n_series={self.n_series})"
        )

    def to_frame(self) -> pd.DataFrame:
        """A copy of :attr:`scores` (one row per factor, level and detector)."""
        return self.scores.copy()

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report.

        Parameters
        ----------
        path : str or Path
            The file, or a folder (the file is then ``sensitivity.html`` in it).

        Returns
        -------
        Path
            The file written: one page with the figures embedded as base64 PNG (recall,
            false-positive rate and repair accuracy against each factor, ROC curves at the
            baseline, run times) and the tables; no external files or links.

        Examples
        --------
        >>> import tempfile
        >>> from tukeyrupture.comparison.sensitivity import sensitivity_study
        >>> result = sensitivity_study(grid={"depth": [1.0, 3.0]}, detectors=["tcc"],
        ...                            n_series=30, random_state=0, progress=False)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     print(result.to_html(folder).name)
        sensitivity.html
        """
        from tukeyrupture.comparison._sensitivity_report import write_sensitivity_report

        return write_sensitivity_report(self, path)


# --------------------------------------------------------------------------- the study


def sensitivity_study(
    preset: str = "children",
    grid: Mapping[str, Any] | None = None,
    detectors: Iterable[str] | Mapping[str, Any] | None = None,
    n_series: int = 250,
    random_state: int | np.random.SeedSequence | None = None,
    progress: bool = True,
    backend: Any = None,
    *,
    tolerance: int = 0,
    confidence: float = 0.95,
) -> SensitivityResult:
    """Recall, false positives, repair accuracy and ROC of every detector against each factor.

    The study varies one factor at a time around the preset's condition (the *baseline*):
    for each level of each factor with several levels, ``n_series`` series are simulated
    with :func:`~tukeyrupture.comparison.realistic.simulate_realistic` (the preset, the
    single-level factors, and that level), and every detector is fitted on them and
    predicts them. Identical conditions (e.g. a level equal to the baseline) run once.

    Parameters
    ----------
    preset : {"children", "therapists"}, default="children"
        The simulator's preset.
    grid : dict of str -> list, optional
        Factor -> levels. A factor is a ``simulate_realistic`` argument (``"depth"``,
        ``"ar"``, ``"repair"``, ``"trend"``, ...), ``"n_sessions"`` (a series length:
        every series gets that many sessions) or ``"missingness"`` (levels of
        :data:`MISSINGNESS`). A factor with one level (or a non-list value) is a fixed
        setting of every condition. Default :data:`DEFAULT_GRID`: depth, series length,
        missingness, autocorrelation and repair shape, at 5% rupture sessions.
    detectors : list of str, dict of str -> estimator, or None, default=None
        Names of the registry (:func:`~tukeyrupture.comparison.registry.list_detectors`),
        or estimators by name (each is cloned per condition). None: every registered
        detector whose optional package is installed (a ``UserWarning`` names the rest).
    n_series : int, default=250
        Series simulated per condition.
    random_state : int, SeedSequence or None, default=None
        Root seed. Every condition draws from the same seed (common random numbers: levels
        differ only by what the factor changes); a SeedSequence is copied, not advanced.
    progress : bool, default=True
        Show a tqdm progress bar over the conditions.
    backend : None, "dask" or dask.distributed.Client, default=None
        None runs the conditions one after the other; ``"dask"`` on the current
        dask.distributed client if there is one, else on dask's threaded scheduler; a
        Client on that client. The numbers do not depend on the backend (run times do).
    tolerance : int, default=0
        A prediction within ``tolerance`` sessions of a true rupture is a hit
        (:func:`~tukeyrupture.comparison.metrics.rupture_scores`).
    confidence : float, default=0.95
        Level of the Wilson intervals.

    Returns
    -------
    SensitivityResult
        ``scores`` (rates with intervals per factor, level and detector), ``roc``,
        ``timing``; ``to_html(path)`` writes the report.

    Raises
    ------
    ValueError
        If ``preset``, a factor, a level, ``n_series``, ``tolerance``, ``confidence`` or
        ``backend`` is invalid, naming it (and the factor and level).
    TypeError
        If an argument has the wrong type.
    ImportError
        If a detector asked for needs an optional package that is not installed.

    Notes
    -----
    **Rates.** Per condition and detector, over all series: *recall* = matched true
    central sessions / true central sessions (observed ones: the truth's ``labels``);
    *false-positive rate* = flagged sessions without a true rupture / observed sessions
    without one (sessions beyond a series' end or missing are not counted, unlike
    :func:`rupture_scores`, whose denominator is every cell); *repair accuracy* = matched
    ruptures whose label (repaired, unrepaired, unresolved) equals the truth / matched
    ruptures. Intervals are Wilson score intervals (``statsmodels``' ``proportion_confint``)
    that treat sessions as independent trials: sessions of one series are correlated, so
    the intervals are somewhat too narrow; larger ``n_series`` narrows them.

    **ROC.** For detectors with a ``decision_function`` (whose threshold is the method's
    own parameter), ``sklearn.metrics.roc_curve`` over the observed sessions' scores;
    ``auc`` is its area.

    Examples
    --------
    >>> from tukeyrupture.comparison.sensitivity import sensitivity_study
    >>> result = sensitivity_study(
    ...     grid={"depth": [1.0, 3.0], "rupture_rate": 0.05},
    ...     detectors=["tcc", "cusum"], n_series=100, random_state=1, progress=False)
    >>> result.to_frame().pivot(index="level", columns="detector", values="recall").round(2)
    detector  cusum   tcc
    level
    1.0        0.00  0.06
    3.0        0.12  0.35
    preset     0.12  0.15
    """
    args = _sensitivity_study_iv(
        preset,
        grid,
        detectors,
        n_series,
        random_state,
        progress,
        backend,
        tolerance,
        confidence,
    )
    pairs = [(name, estimator) for name, _, estimator in args["detectors"]]
    tasks = [
        (
            index,
            args["preset"],
            overrides,
            args["n_series"],
            args["root"],
            pairs,
            args["tolerance"],
        )
        for index, overrides in enumerate(args["conditions"])
    ]
    use_dask, client = args["backend"]
    if use_dask:
        results = _sensitivity_run.run_dask(tasks, client, args["progress"])
    else:
        results = _sensitivity_run.run_serial(tasks, args["progress"])
    results = sorted(results, key=lambda result: result[0])
    return SensitivityResult(
        scores=scores_frame(args["cells"], results, args["detectors"], args["confidence"]),
        roc=roc_frame(args["cells"], results),
        timing=timing_frame(results, args["detectors"], args["n_series"]),
        preset=args["preset"],
        grid=args["grid"],
        n_series=args["n_series"],
        seed=int(args["root"].entropy),
        confidence=args["confidence"],
        tolerance=args["tolerance"],
    )
