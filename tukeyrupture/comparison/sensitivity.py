"""Sensitivity study: every detector over a one-factor-at-a-time grid of realistic data."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from tukeyrupture.comparison import _sensitivity_run
from tukeyrupture.comparison._realistic_iv import PRESETS, _check_preset, _simulate_realistic_iv
from tukeyrupture.comparison.compare import _root_seed
from tukeyrupture.comparison.registry import REGISTRY, build_detector

__all__ = ["DEFAULT_GRID", "MISSINGNESS", "SensitivityResult", "sensitivity_study"]

#: Levels of the ``"missingness"`` factor: the ``simulate_realistic`` rates they set.
MISSINGNESS: dict[str, dict[str, float]] = {
    "none": {"missing_rate": 0.0, "post_rupture_missing": 0.0},
    "mcar": {"missing_rate": 0.1, "post_rupture_missing": 0.1},
    "after_rupture": {"missing_rate": 0.1, "post_rupture_missing": 0.5},
}

#: The grid of ``sensitivity_study(grid=None)``: one factor at a time around the preset,
#: with 5% rupture sessions in every condition (single-level factors are fixed settings).
DEFAULT_GRID: dict[str, list] = {
    "depth": [1.0, 2.0, 3.0, 4.0],
    "n_sessions": [8, 15, 30],
    "missingness": ["none", "mcar", "after_rupture"],
    "ar": [0.0, 0.3, 0.6],
    "repair": ["v", "slow", "no_return"],
    "rupture_rate": [0.05],
}

#: Largest number of distinct conditions of one study.
MAX_CONDITIONS = 10_000


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
        """Write the self-contained HTML report (see :func:`write_sensitivity_report
        <tukeyrupture.comparison._sensitivity_report.write_sensitivity_report>`)."""
        from tukeyrupture.comparison._sensitivity_report import write_sensitivity_report

        return write_sensitivity_report(self, path)


# --------------------------------------------------------------------------- arguments


def _check_grid(grid, preset):
    if grid is None:
        grid = DEFAULT_GRID
    if not isinstance(grid, Mapping):
        raise TypeError(f"`grid` must be a dict of factor -> list of levels; got {grid!r}.")
    valid = sorted({*PRESETS[preset], "missingness"})
    checked = {}
    for factor, levels in grid.items():
        if factor not in valid:
            raise ValueError(
                f"`grid` has the unknown factor {factor!r}; valid factors are {valid}."
            )
        levels = list(levels) if isinstance(levels, (list, tuple, np.ndarray)) else [levels]
        if not levels:
            raise ValueError(f"`grid[{factor!r}]` must hold at least one level; got [].")
        if factor == "missingness":
            unknown = [level for level in levels if level not in MISSINGNESS]
            if unknown:
                raise ValueError(
                    f"`grid['missingness']` levels must be in {list(MISSINGNESS)}; got {unknown}."
                )
        checked[factor] = levels
    return checked


def _expand(factor, level):
    """The simulate_realistic arguments of one level of one factor."""
    if factor == "missingness":
        return dict(MISSINGNESS[level])
    if factor == "n_sessions":
        return {"n_sessions": level, "lengths": level}
    return {factor: level}


def _conditions(grid, preset, n_series):
    """``(cells, conditions)``: (factor, level, condition index) per cell, and the distinct
    simulate_realistic overrides, each validated; the baseline is condition 0."""
    fixed = {}
    for factor, levels in grid.items():
        if len(levels) == 1:
            fixed.update(_expand(factor, levels[0]))
    cells = [("baseline", "preset", fixed)]
    for factor, levels in grid.items():
        if len(levels) > 1:
            cells.extend((factor, level, {**fixed, **_expand(factor, level)}) for level in levels)
    conditions, index, indexed = [], {}, []
    for factor, level, overrides in cells:
        try:
            resolved = _simulate_realistic_iv(n_series, preset, overrides)
        except (TypeError, ValueError) as error:
            where = "the fixed settings" if factor == "baseline" else f"{factor}={level!r}"
            raise type(error)(f"`grid` ({where}): {error}") from None
        # conditions that resolve to the same simulator arguments run once
        key = repr(sorted(resolved.items()))
        if key not in index:
            index[key] = len(conditions)
            conditions.append(overrides)
        indexed.append((factor, level, index[key]))
    if len(conditions) > MAX_CONDITIONS:
        raise ValueError(
            f"`grid` must give at most {MAX_CONDITIONS} conditions; got {len(conditions)}."
        )
    return indexed, conditions


def _family(name, estimator):
    entry = REGISTRY.get(name)
    return (
        entry.family if entry is not None and isinstance(estimator, entry.estimator) else "other"
    )


def _check_detectors(detectors):
    """``[(name, family, estimator)]``; None: every registered detector that is installed."""
    if detectors is None:
        skipped = [name for name, entry in REGISTRY.items() if not entry.available]
        if skipped:
            warnings.warn(
                f"skipped detector(s) {skipped}: their optional package is not installed.",
                UserWarning,
                stacklevel=4,
            )
        detectors = [name for name in REGISTRY if name not in skipped]
    if isinstance(detectors, str):
        detectors = [detectors]
    if isinstance(detectors, Mapping):
        pairs = list(detectors.items())
    elif isinstance(detectors, Iterable):
        pairs = [(name, _registered(name)) for name in detectors]
    else:
        raise TypeError(
            "`detectors` must be None, a list of registered names or a dict of name -> "
            f"estimator; got {type(detectors).__name__}."
        )
    if not pairs:
        raise ValueError("`detectors` must name at least one detector.")
    names = [name for name, _ in pairs]
    if len(set(names)) < len(names):
        raise ValueError(f"`detectors` names must be unique; got {names}.")
    for name, estimator in pairs:
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise TypeError(
                f"`detectors[{name!r}]` must be an estimator with fit and predict; "
                f"got {estimator!r}."
            )
    return [(str(name), _family(name, estimator), estimator) for name, estimator in pairs]


def _registered(name):
    estimator = build_detector(name)
    entry = REGISTRY[name]
    if not entry.available:
        raise ImportError(
            f"detector {name!r} needs the optional package `{entry.requires}`: "
            "pip install 'tukeyrupture[rivals]'."
        )
    return estimator


def _check_backend(backend):
    """``(use_dask, client)``."""
    if backend is None:
        return False, None
    if isinstance(backend, str):
        if backend != "dask":
            raise ValueError(
                f"`backend` must be None, 'dask' or a dask.distributed Client; got {backend!r}."
            )
        return True, None
    if type(backend).__name__ == "Client" and type(backend).__module__.startswith("distributed"):
        return True, backend
    raise TypeError(
        "`backend` must be None, 'dask' or a dask.distributed Client; got "
        f"{type(backend).__name__}."
    )


def _check_number(name, value, check, expected):
    kind = Integral if expected.startswith("an integer") else Real
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        raise TypeError(f"`{name}` must be {expected}; got {value!r}.")
    if not check(value):
        raise ValueError(f"`{name}` must be {expected}; got {value!r}.")
    return value


def _sensitivity_study_iv(
    preset, grid, detectors, n_series, random_state, progress, backend, tolerance, confidence
):
    preset = _check_preset(preset)
    n_series = int(_check_number("n_series", n_series, lambda v: v >= 1, "an integer >= 1"))
    tolerance = int(_check_number("tolerance", tolerance, lambda v: v >= 0, "an integer >= 0"))
    confidence = float(
        _check_number("confidence", confidence, lambda v: 0 < v < 1, "a number in (0, 1)")
    )
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True or False; got {progress!r}.")
    grid = _check_grid(grid, preset)
    cells, conditions = _conditions(grid, preset, n_series)
    return {
        "preset": preset,
        "grid": grid,
        "cells": cells,
        "conditions": conditions,
        "detectors": _check_detectors(detectors),
        "n_series": n_series,
        "root": _root_seed(random_state),
        "progress": bool(progress),
        "backend": _check_backend(backend),
        "tolerance": tolerance,
        "confidence": confidence,
    }


# --------------------------------------------------------------------------- frames


def _interval(count, total, confidence):
    """Wilson interval of ``count / total`` (NaN where ``total`` is 0)."""
    count, total = np.asarray(count, dtype=float), np.asarray(total, dtype=float)
    safe = np.where(total > 0, total, 1.0)
    low, high = proportion_confint(count, safe, alpha=1 - confidence, method="wilson")
    return np.where(total > 0, low, np.nan), np.where(total > 0, high, np.nan)


def _scores_frame(cells, results, detectors, confidence):
    rows = [
        {"factor": factor, "level": level, "condition": index, **row}
        for factor, level, index in cells
        for row in results[index][1]
    ]
    frame = pd.DataFrame(rows)
    frame.insert(3, "family", frame["detector"].map({n: f for n, f, _ in detectors}))
    rates = {
        "recall": ("n_matched", "n_true"),
        "false_positive_rate": ("n_false_positive", "n_negative"),
        "repair_accuracy": ("n_repair_agree", "n_matched"),
    }
    for rate, (count, total) in rates.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[rate] = np.where(frame[total] > 0, frame[count] / frame[total], np.nan)
        frame[f"{rate}_low"], frame[f"{rate}_high"] = _interval(
            frame[count], frame[total], confidence
        )
    frame = frame.drop(columns=["condition", "seconds"])
    return frame[[c for c in frame.columns if c != "auc"] + ["auc"]]


def _roc_frame(cells, results):
    parts = [
        pd.DataFrame(
            {
                "factor": factor,
                "level": [level] * len(fpr),
                "detector": name,
                "threshold": thresholds,
                "fpr": fpr,
                "tpr": tpr,
            }
        )
        for factor, level, index in cells
        for name, fpr, tpr, thresholds in results[index][2]
    ]
    columns = ["factor", "level", "detector", "threshold", "fpr", "tpr"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def _timing_frame(results, detectors, n_series):
    seconds = {name: 0.0 for name, _, _ in detectors}
    for _, rows, _ in results:
        for row in rows:
            seconds[row["detector"]] += row["seconds"]
    total = n_series * len(results)
    return pd.DataFrame(
        {
            "detector": list(seconds),
            "family": [family for _, family, _ in detectors],
            "seconds": list(seconds.values()),
            "n_series": total,
            "ms_per_1000_series": [1e6 * value / total for value in seconds.values()],
        }
    )


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
        scores=_scores_frame(args["cells"], results, args["detectors"], args["confidence"]),
        roc=_roc_frame(args["cells"], results),
        timing=_timing_frame(results, args["detectors"], args["n_series"]),
        preset=args["preset"],
        grid=args["grid"],
        n_series=args["n_series"],
        seed=int(args["root"].entropy),
        confidence=args["confidence"],
        tolerance=args["tolerance"],
    )
