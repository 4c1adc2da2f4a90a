"""Argument checks of :func:`tukeyrupture.comparison.sensitivity.sensitivity_study`: the grid,
its distinct conditions, the detectors and the backend."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from numbers import Integral, Real

import numpy as np

from tukeyrupture.comparison._realistic_iv import PRESETS, _check_preset, _simulate_realistic_iv
from tukeyrupture.comparison.compare import _root_seed
from tukeyrupture.comparison.registry import REGISTRY, build_detector

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


def _check_number(name, value, kind, check, expected):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        raise TypeError(f"`{name}` must be {expected}; got {value!r}.")
    if not check(value):
        raise ValueError(f"`{name}` must be {expected}; got {value!r}.")
    return value


def _sensitivity_study_iv(
    preset, grid, detectors, n_series, random_state, progress, backend, tolerance, confidence
):
    preset = _check_preset(preset)
    n_series = int(
        _check_number("n_series", n_series, Integral, lambda v: v >= 1, "an integer >= 1")
    )
    tolerance = int(
        _check_number("tolerance", tolerance, Integral, lambda v: v >= 0, "an integer >= 0")
    )
    confidence = float(
        _check_number("confidence", confidence, Real, lambda v: 0 < v < 1, "a number in (0, 1)")
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
