"""Simulation studies: rupture detectors compared over grids of simulated conditions."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from permanova._arguments import copy_seed_sequence
from tukeyrupture._validation import check_bool, check_integer, progress_bar
from tukeyrupture.comparison.metrics import RuptureScores, rupture_scores
from tukeyrupture.comparison.registry import REGISTRY, build_detector
from tukeyrupture.comparison.simulate import (
    SIMULATION_DEFAULTS,
    _simulate_alliance_iv,
    simulate_alliance,
)

__all__ = [
    "DETECTORS",
    "compare_detectors",
    "make_detector",
]

#: Built-in detectors by name (the registry's): a factory returning a new, unfitted estimator.
DETECTORS: dict[str, Callable[[], Any]] = {name: entry.build for name, entry in REGISTRY.items()}

#: Sizes used when a condition does not give them.
DEFAULT_CONDITION: dict[str, Any] = {"n_series": 200, "n_sessions": 20}

#: Optional packages of built-in detectors: estimator class -> (module, extra).
_OPTIONAL = {e.estimator: (e.requires, e.extra) for e in REGISTRY.values() if e.requires}

#: The grid of ``tukeyrupture compare --demo``: depth x detector.
DEMO_CONDITIONS: dict[str, list] = {"depth": [0.0, 1.0, 2.0, 3.0, 4.0], "n_series": [80]}
DEMO_DETECTORS: tuple[str, ...] = (
    "tcc",
    "tcc_only",
    "absolute",
    "shewhart",
    "reliable_change",
    "ewma",
    "cusum",
    "segmented",
    "bocpd",
    "pelt",
)
DEMO_REPLICATIONS = 8

_BACKENDS = ("serial", "loky", "dask")

#: Largest number of cells (conditions x replications) of one call of compare_detectors.
MAX_CELLS = 10**6
# Score columns of the frame (``n_series`` is already a condition column).
_SCORE_FIELDS = tuple(name for name in RuptureScores.__dataclass_fields__ if name != "n_series")


def make_detector(name: str) -> Any:
    """A new estimator of the built-in detector ``name``, with its registered parameters.

    Parameters
    ----------
    name : str
        A name of :data:`tukeyrupture.comparison.registry.REGISTRY` (see
        :func:`~tukeyrupture.comparison.registry.list_detectors`, which gives each
        detector's family): ``"tcc"`` (``TukeyRuptureDetector()``, the study's rule: TCC
        or absolute), ``"tcc_only"``, ``"absolute"``, ``"shewhart"``, ``"ewma"``,
        ``"cusum"``, ``"reliable_change"``, ``"segmented"``, ``"bocpd"``, ``"pelt"``,
        ``"binseg"``, ``"window"`` (the last three need the ``rivals`` extra).

    Returns
    -------
    estimator
        An unfitted estimator.

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message lists the valid names.

    Examples
    --------
    >>> from tukeyrupture.comparison.compare import make_detector
    >>> make_detector("shewhart")
    ShewhartDetector()
    """
    return build_detector(name)


def _missing_dependency(estimator) -> str | None:
    """Why ``estimator`` cannot run here (an optional package is missing), or None."""
    for kind, (module, extra) in _OPTIONAL.items():
        if isinstance(estimator, kind):
            try:
                importlib.import_module(module)
            except ImportError:
                return (
                    f"needs the optional package `{module}`: pip install 'tukeyrupture[{extra}]'"
                )
    return None


def _available_defaults():
    """The default detectors whose optional packages are installed; warn about the rest."""
    pairs, skipped = [], []
    for name in DEMO_DETECTORS:
        estimator = make_detector(name)
        reason = _missing_dependency(estimator)
        if reason is None:
            pairs.append((name, estimator))
        else:
            skipped.append(f"{name!r} ({reason})")
    if skipped:
        warnings.warn(
            f"skipped default detector(s) {', '.join(skipped)}.", UserWarning, stacklevel=5
        )
    return pairs


def _check_detectors(detectors):
    if detectors is None:
        return _available_defaults()
    if isinstance(detectors, str):
        detectors = [detectors]
    if isinstance(detectors, Mapping):
        pairs = list(detectors.items())
    elif isinstance(detectors, Iterable):
        pairs = [(name, make_detector(name)) for name in detectors]
    else:
        raise TypeError(
            "`detectors` must be None, a dict of name -> estimator or a list of built-in "
            f"names; got {type(detectors).__name__}."
        )
    if not pairs:
        raise ValueError("`detectors` must name at least one detector.")
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"`detectors` names must be unique; {repeated} repeat.")
    for name, estimator in pairs:
        if not isinstance(name, str):
            raise TypeError(f"`detectors` names must be strings; got {name!r}.")
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise TypeError(
                f"`detectors[{name!r}]` must be an estimator with fit and predict; "
                f"got {estimator!r}."
            )
        reason = _missing_dependency(estimator)
        if reason is not None:
            raise ImportError(f"detector {name!r} {reason}.")
    return pairs


def _root_seed(random_state) -> np.random.SeedSequence:
    """A SeedSequence to spawn cell seeds from; a given SeedSequence is copied, not advanced."""
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        return copy_seed_sequence(random_state)
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        raise TypeError(
            "`random_state` must be an int, a numpy SeedSequence or None; got a "
            f"{type(random_state).__name__}: each cell needs its own independent stream, "
            "spawned from a seed. Pass the seed the generator was made from."
        )
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, Integral):
        raise TypeError(
            f"`random_state` must be an int, a numpy SeedSequence or None; got {random_state!r}."
        )
    if random_state < 0:
        raise ValueError(f"`random_state` must be a non-negative integer; got {random_state}.")
    return np.random.SeedSequence(int(random_state))


def _is_single_value(key, value):
    """In a dict of lists, a scalar (or a ``(lo, hi)`` pair for ``scale``) is one value."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        return True
    return (
        key == "scale"
        and isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(v, (int, float, np.number)) for v in value)
    )


def _check_conditions(conditions):
    if isinstance(conditions, Mapping):
        grid = {
            key: [value] if _is_single_value(key, value) else list(value)
            for key, value in conditions.items()
        }
        empty = sorted(str(key) for key, values in grid.items() if not values)
        if empty:
            raise ValueError(
                f"`conditions` must give at least one value for each argument; {empty} "
                "have an empty list."
            )
        expanded = ParameterGrid(grid)
        if len(expanded) > MAX_CELLS:
            raise ValueError(
                f"`conditions` must expand to at most {MAX_CELLS} conditions; its grid has "
                f"{len(expanded)}."
            )
        conditions = list(expanded) if grid else [{}]
    elif isinstance(conditions, Iterable) and not isinstance(conditions, str):
        conditions = list(conditions)
    else:
        raise TypeError(
            "`conditions` must be a list of dicts of simulate_alliance arguments or a dict "
            f"of lists; got {type(conditions).__name__}."
        )
    if not conditions:
        raise ValueError("`conditions` must hold at least one condition.")
    valid = set(DEFAULT_CONDITION) | set(SIMULATION_DEFAULTS)
    checked = []
    for condition in conditions:
        if not isinstance(condition, Mapping):
            raise TypeError(f"`conditions` must hold dicts; got {condition!r}.")
        unknown = sorted(set(condition) - valid)
        if unknown:
            raise ValueError(
                f"`conditions` has unknown simulate_alliance arguments {unknown}; valid "
                f"arguments are {sorted(valid)}."
            )
        checked.append(
            _simulate_alliance_iv(**{**SIMULATION_DEFAULTS, **DEFAULT_CONDITION, **condition})
        )
    return checked


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, Integral):
        raise TypeError(f"`n_jobs` must be None or a nonzero integer; got {n_jobs!r}.")
    if n_jobs == 0:
        raise ValueError(
            "`n_jobs` must be None, a positive number of workers or negative (-1: all CPUs, "
            "-2: all but one, ...); got 0."
        )
    return int(n_jobs)


def _compare_detectors_iv(
    detectors, conditions, n_replications, random_state, backend, progress, tolerance, n_jobs
):
    pairs = _check_detectors(detectors)
    n_replications = check_integer("n_replications", n_replications, 1, MAX_CELLS)
    checked = _check_conditions(conditions)
    if len(checked) * n_replications > MAX_CELLS:
        raise ValueError(
            f"`n_replications` * number of conditions must be at most {MAX_CELLS} cells; got "
            f"{n_replications} * {len(checked)}. Use fewer replications or conditions, or "
            "split the study into several calls with different seeds."
        )
    if backend not in _BACKENDS:
        raise ValueError(f"`backend` must be one of {list(_BACKENDS)}; got {backend!r}.")
    n_jobs = _check_n_jobs(n_jobs)
    tolerance = check_integer("tolerance", tolerance, 0)
    check_bool("progress", progress)
    root = _root_seed(random_state)
    return pairs, checked, n_replications, root, tolerance, n_jobs


def _run_cell(cell, condition_index, replication, condition, seed, detectors, tolerance):
    """Simulate one (condition, replication) cell and score every detector on it."""
    sim = simulate_alliance(**condition, random_state=seed)
    rows = []
    for order, (name, detector) in enumerate(detectors):
        predicted = clone(detector).fit(sim.X).predict(sim.X)
        scores = rupture_scores(sim.labels, predicted, tolerance)
        rows.append(
            {
                "condition": condition_index,
                "replication": replication,
                "detector": name,
                "_order": order,
                **scores.to_dict(),
            }
        )
    return cell, rows


def _bar(cells, total, enabled):
    return progress_bar(cells, total=total, desc="compare_detectors", unit="cell", enabled=enabled)


def _run_dask(cells, progress):
    try:
        from distributed import as_completed, get_client
    except ImportError as error:
        raise ImportError(
            "`backend='dask'` needs dask.distributed: pip install 'dask[distributed]'."
        ) from error
    try:
        client = get_client()
    except ValueError:
        raise ValueError(
            "`backend='dask'` needs a running dask.distributed Client: create one first, e.g. "
            "`from distributed import Client; client = Client()` (or connect to a cluster)."
        ) from None
    futures = [client.submit(_run_cell, *cell, pure=False) for cell in cells]
    try:
        results = [
            future.result() for future in _bar(as_completed(futures), len(futures), progress)
        ]
    finally:
        client.cancel(futures)
    return results


def _run_loky(cells, progress, n_jobs):
    from joblib import Parallel, delayed

    parallel = Parallel(
        n_jobs=-1 if n_jobs is None else n_jobs,
        backend="loky",
        return_as="generator_unordered",
    )
    tasks = (delayed(_run_cell)(*cell) for cell in cells)
    return list(_bar(parallel(tasks), len(cells), progress))


def compare_detectors(
    detectors: Mapping[str, Any] | Sequence[str] | None,
    conditions: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    n_replications: int = 100,
    random_state: int | np.random.SeedSequence | None = None,
    backend: str = "serial",
    progress: bool = False,
    *,
    tolerance: int = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Score rupture detectors on simulated alliance data over a grid of conditions.

    For every condition and replication (a *cell*) one data set is simulated with
    :func:`~tukeyrupture.simulate_alliance`; every detector is fitted on that data
    set and predicts it, and :func:`~tukeyrupture.rupture_scores` compares its
    labels with the truth.

    Parameters
    ----------
    detectors : dict of str -> estimator, list of str, or None
        Estimators by name (any estimator with ``fit`` and ``predict`` returning label
        arrays; each is cloned per cell), or names of built-in detectors
        (:func:`make_detector`: ``"tcc"``, ``"tcc_only"``, ``"absolute"``,
        ``"shewhart"``, ``"reliable_change"``, ``"pelt"``, ``"binseg"``, ``"window"``).
        None: the default set ``DEMO_DETECTORS``, without those whose optional package
        is not installed (a ``UserWarning`` names them). A detector asked for explicitly
        whose optional package is missing raises ``ImportError`` naming the extra.
    conditions : list of dict, or dict of lists
        Keyword arguments of ``simulate_alliance`` per condition; a dict of lists is
        expanded to their full grid (``sklearn.model_selection.ParameterGrid`` order).
        ``n_series`` and ``n_sessions`` default to 200 and 20; ``n_series * n_sessions``
        is at most ``simulate.MAX_CELLS`` (2**31) in each condition.
    n_replications : int, default=100
        Data sets per condition; conditions x replications (the cells) are at most
        ``MAX_CELLS`` (10**6).
    random_state : int, SeedSequence or None, default=None
        Root seed (None: fresh entropy, as numpy does). Cell ``c * n_replications + r``
        (condition c, replication r) draws its data from child
        ``SeedSequence(random_state).spawn(n_cells)[c * n_replications + r]``, so results
        do not depend on the backend or on the order of execution. A SeedSequence is used
        through a copy: it is not advanced, and the same one gives the same results
        again. ``RandomState`` and ``Generator`` are refused (``TypeError``): cells need
        independent streams spawned from a seed.
    backend : {"serial", "loky", "dask"}, default="serial"
        Where cells run: in this process, in joblib's loky process pool, or on the current
        ``dask.distributed`` Client (``distributed.get_client()``), so the same call runs
        on a cluster.
    progress : bool, default=False
        Show a tqdm progress bar over cells (on stderr).
    tolerance : int, default=0
        Matching window of ``rupture_scores`` (at least ``n_sessions - 1``: the whole
        series).
    n_jobs : int or None, default=None
        Number of loky workers (None or -1: all CPUs, -2: all but one, ...; not 0);
        ignored by the other backends.

    Returns
    -------
    DataFrame
        One row per condition x detector x replication (sorted in that order) with
        columns ``condition`` (index of the condition), ``replication``, ``detector``,
        the simulation parameters of the condition (``n_series``, ``n_sessions``,
        ``mean``, ..., ``scale``) and every field of
        :class:`~tukeyrupture.comparison.metrics.RuptureScores` (``precision``, ``recall``, ``f1``,
        ``sensitivity``, ``specificity``, ``false_positive_rate``,
        ``repair_agreement``, counts). Identical for every backend given the seed.

    Raises
    ------
    ValueError
        For an unknown detector name, an unknown or invalid simulation argument (naming
        it), an argument of ``conditions`` with an empty list of values, more than
        ``MAX_CELLS`` cells, ``n_jobs=0``, an unknown backend, or ``backend="dask"``
        without a running Client.
    TypeError
        For arguments of the wrong type, including a ``RandomState`` or ``Generator``.
    ImportError
        For a detector asked for by name or instance whose optional package is missing.

    Warns
    -----
    UserWarning
        With ``detectors=None``, naming the default detectors that were skipped.

    Notes
    -----
    Detectors that learn from data (the pooled SD of ``"tcc"`` and ``"absolute"``, the SD
    of ``"reliable_change"``, the penalty of ``"pelt"``) are fitted on the simulated
    replicate itself, ruptures included, as the study fitted its pooled SD on its own
    sample. Ratios without a denominator (e.g. precision when nothing is flagged) are NaN.

    Examples
    --------
    >>> from tukeyrupture.comparison.compare import compare_detectors
    >>> frame = compare_detectors(
    ...     ["tcc", "shewhart"], {"depth": [1.0, 3.0]}, n_replications=3, random_state=0,
    ...     progress=False,
    ... )
    >>> frame.shape
    (12, 27)
    >>> frame.groupby(["detector", "depth"])["recall"].mean().round(2)
    detector  depth
    shewhart  1.0      0.01
              3.0      0.14
    tcc       1.0      0.24
              3.0      0.59
    Name: recall, dtype: float64
    """
    pairs, checked, n_replications, root, tolerance, n_jobs = _compare_detectors_iv(
        detectors, conditions, n_replications, random_state, backend, progress, tolerance, n_jobs
    )
    seeds = root.spawn(len(checked) * n_replications)
    cells = [
        (
            index * n_replications + replication,
            index,
            replication,
            condition,
            seeds[index * n_replications + replication],
            pairs,
            tolerance,
        )
        for index, condition in enumerate(checked)
        for replication in range(n_replications)
    ]
    if backend == "serial":
        results = [_run_cell(*cell) for cell in _bar(cells, len(cells), progress)]
    elif backend == "loky":
        results = _run_loky(cells, progress, n_jobs)
    else:
        results = _run_dask(cells, progress)
    rows = [row for _, cell_rows in sorted(results, key=lambda item: item[0]) for row in cell_rows]
    frame = pd.DataFrame(rows).drop(columns="n_series")
    parameters = pd.DataFrame(checked)
    parameters["scale"] = pd.Series([c["scale"] for c in checked], dtype=object)
    parameters.insert(0, "condition", np.arange(len(checked)))
    frame = frame.merge(parameters, on="condition", how="left")
    frame = frame.sort_values(["condition", "_order", "replication"], kind="stable")
    columns = ["condition", "replication", "detector", *parameters.columns[1:], *_SCORE_FIELDS]
    return frame[columns].reset_index(drop=True)
