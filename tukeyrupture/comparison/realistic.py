"""Realistic alliance series: bounded sums of Likert items with a ceiling, AR(1) noise,
a trend, shaped repairs, informative missingness and series of varying length."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from permanova._arguments import check_random_state
from tukeyrupture import _core
from tukeyrupture.comparison._realistic_iv import (
    PRESETS,
    REPAIR_SHAPES,
    _simulate_realistic_iv,
)
from tukeyrupture.comparison.simulate import SimulatedAlliance

__all__ = ["PRESETS", "REPAIR_SHAPES", "RealisticAlliance", "simulate_realistic"]

_SHAPE_NAMES = np.array([None, *REPAIR_SHAPES], dtype=object)


@dataclass(frozen=True)
class RealisticAlliance(SimulatedAlliance):
    """Realistic simulated alliance series and the truth about their planted ruptures.

    A :class:`~tukeyrupture.comparison.SimulatedAlliance` (``X``, ``labels``, ``central``,
    ``person_mean``, ``params`` mean the same) with the extra truth of
    :func:`simulate_realistic`.

    Attributes
    ----------
    lengths : ndarray of int, shape (n_series,)
        Number of sessions of each series; later columns of ``X`` are NaN. Read-only.
    person_ar : ndarray of float, shape (n_series,)
        Each person's AR(1) coefficient of the session-level noise. Read-only.
    planted : ndarray of bool, shape (n_series, n_sessions)
        Every planted central session, observed or not (``central`` is its observed
        part). Read-only.
    repair_shape : ndarray of int8, shape (n_series, n_sessions)
        At planted sessions 1 (``"v"``), 2 (``"slow"``) or 3 (``"no_return"``), the index
        in :data:`REPAIR_SHAPES` plus one; 0 elsewhere. Read-only.

    Examples
    --------
    >>> from tukeyrupture.comparison.realistic import simulate_realistic
    >>> sim = simulate_realistic(300, "children", random_state=0)
    >>> sim
    RealisticAlliance(preset='children', n_series=300, n_sessions=15, n_ruptures=61)
    >>> int(sim.lengths.min()), int(sim.lengths.max())
    (8, 15)
    """

    lengths: np.ndarray = field(repr=False)
    person_ar: np.ndarray = field(repr=False)
    planted: np.ndarray = field(repr=False)
    repair_shape: np.ndarray = field(repr=False)

    def __post_init__(self):
        super().__post_init__()
        for name in ("lengths", "person_ar", "planted", "repair_shape"):
            array = np.asarray(getattr(self, name))
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    def __repr__(self) -> str:
        return (
            f"RealisticAlliance(preset={self.params.get('preset')!r}, "
            f"n_series={self.n_series}, n_sessions={self.n_sessions}, "
            f"n_ruptures={self.n_ruptures})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The data in long format, with the planted repair shape.

        Returns
        -------
        DataFrame
            The columns of :meth:`SimulatedAlliance.to_frame
            <tukeyrupture.comparison.SimulatedAlliance.to_frame>` and ``repair_shape``
            (``"v"``, ``"slow"``, ``"no_return"`` at planted sessions, missing elsewhere).

        Examples
        --------
        >>> from tukeyrupture.comparison.realistic import simulate_realistic
        >>> sim = simulate_realistic(2, "children", rupture_rate=0.3, random_state=1)
        >>> sim.to_frame().columns.tolist()
        ['series', 'session', 'score', 'label', 'rupture', 'repair_shape']
        """
        frame = super().to_frame()
        frame["repair_shape"] = _SHAPE_NAMES[self.repair_shape.ravel()]
        return frame


def simulate_realistic(
    n_series: int,
    preset: str = "children",
    *,
    n_sessions: int | None = None,
    lengths: int | tuple[int, int] | None = None,
    n_items: int | None = None,
    item_range: tuple[int, int] | None = None,
    aggregate: str | None = None,
    mean: float | None = None,
    between_sd: float | None = None,
    within_sd: float | None = None,
    item_noise: float | None = None,
    ar: float | None = None,
    ar_spread: float | None = None,
    trend: float | None = None,
    rupture_rate: float | None = None,
    depth: float | None = None,
    repair: str | Mapping[str, float] | None = None,
    recovery: int | None = None,
    missing_rate: float | None = None,
    post_rupture_missing: float | None = None,
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
) -> RealisticAlliance:
    """Simulate questionnaire alliance scores with planted ruptures of three repair shapes.

    Person i has the level ``m_i = mean + between_sd * z_i`` and the AR(1) coefficient
    ``phi_i``, uniform on ``[ar - ar_spread, ar + ar_spread]``. At session t (0-based) the
    latent score is

    ``T[i, t] = m_i + trend * t + sqrt(1 - item_noise) * within_sd * e[i, t] - D[i, t]``,

    with ``e`` a stationary AR(1) process with coefficient ``phi_i`` and unit variance and
    ``D`` the drops of the planted ruptures (``depth * within_sd`` each, shaped by the
    repair). Item j of the ``n_items = k`` items is ``clip(round(T / k_s + c_j + u), lo, hi)``
    with the offset ``c_j = (j + 0.5) / k - 0.5`` (items of graded difficulty) and
    independent item noise ``u``, ``(lo, hi) = item_range`` and ``k_s = n_items`` for sums
    (1 for means); the score is the sum or the mean of the items. The item noise makes up
    the share ``item_noise`` of the within-person variance ``within_sd**2`` of the score
    (before rounding), so ``depth`` is in units of the within-person SD the detectors see.
    Everything is drawn for all series at once (loops run over sessions and items).

    Parameters
    ----------
    n_series : int
        Number of series (persons), at least 1.
    preset : {"children", "therapists"}, default="children"
        Settings that reproduce the study's descriptives (see Notes); every other argument
        left at None takes its value from :data:`PRESETS`.
    n_sessions : int, optional
        Number of columns (the longest series), at least 3.
    lengths : int or (int, int), optional
        Number of sessions per series: one value, or ``(low, high)`` for lengths uniform
        on ``low .. high`` (inclusive), with ``3 <= low <= high <= n_sessions``.
    n_items : int, optional
        Number of Likert items per questionnaire.
    item_range : (int, int), optional
        Lowest and highest item category; scores of sums lie in
        ``[n_items * lo, n_items * hi]``, the highest being the ceiling.
    aggregate : {"sum", "mean"}, optional
        Score = sum or mean of the items.
    mean, between_sd : float, optional
        Mean and SD over persons of the latent level at session 0, in score units.
    within_sd : float, optional
        Within-person SD of the latent score (session noise plus item noise); the unit of
        ``depth``.
    item_noise : float, optional
        Share in [0, 1] of ``within_sd**2`` that is item-level noise (white, independent
        across items); the rest is the AR(1) session noise.
    ar : float, optional
        Mean AR(1) coefficient of the session noise, in (-1, 1).
    ar_spread : float, optional
        Half-width of the uniform distribution of the persons' coefficients (>= 0,
        ``|ar| + ar_spread < 1``).
    trend : float, optional
        Change of the expected latent score per session, in score units.
    rupture_rate : float, optional
        Probability in [0, 0.5] that a session 1 .. length - 1 is a central rupture session;
        ruptures are never adjacent (as in ``simulate_alliance``).
    depth : float, optional
        Drop at a rupture in ``within_sd`` units (>= 0).
    repair : {"v", "slow", "no_return"} or dict, optional
        Repair shape of every rupture, or probabilities of the shapes (summing to 1):
        ``"v"`` returns to the level at the next session, ``"slow"`` returns linearly over
        ``recovery`` sessions, ``"no_return"`` keeps the drop to the end of the series.
    recovery : int, optional
        Sessions a slow return takes (>= 2): the drop is ``d * (1 - j / recovery)`` at the
        j-th session after the central one.
    missing_rate : float, optional
        Probability in [0, 1] that a session within a series' length is missing,
        completely at random.
    post_rupture_missing : float, optional
        Probability in [0, 1] that the session after a central rupture session is missing
        (instead of ``missing_rate``); equal to ``missing_rate`` for MCAR data.
    random_state : int, Generator, SeedSequence or None, default=None
        Seed of ``numpy.random.default_rng``; a SeedSequence is copied, never advanced.

    Returns
    -------
    RealisticAlliance
        ``X`` and the truth: ``labels`` (detector coding), ``central``, ``planted``,
        ``repair_shape``, ``person_mean``, ``person_ar``, ``lengths`` and ``params``.

    Raises
    ------
    TypeError
        If a size is not an integer, a parameter not a number, or a pair not a pair.
    ValueError
        If ``preset`` is unknown or a parameter is out of range, naming the argument.

    See Also
    --------
    tukeyrupture.comparison.simulate_alliance : Normal scores without items or ceiling.
    tukeyrupture.comparison.sensitivity.sensitivity_study : Detectors over a grid of these
        arguments.

    Notes
    -----
    **Truth.** The central session of a ``"v"`` or ``"slow"`` rupture is labelled repaired
    (1), of a ``"no_return"`` rupture unrepaired (2), and unresolved (3) when its post
    session is missing or beyond the series' end, as the detectors would label it; a
    planted rupture at a missing session is in ``planted`` but not in ``labels``. A slow
    return is repaired in the truth although the post session is still below the level:
    the study's one-session repair rule tends to call it unrepaired, which is what the
    repair accuracy of a sensitivity study over ``repair`` shows.

    **Presets.** The study reports the children's TASC total (12 items, 1-4, sum 12-48):
    mean 38.68, SD 2.75, alpha 0.72-0.87 per week; the therapists' WAI-S item mean (12
    items; the text says "5-point scale ranging from 0 to 5", read here as 1-5): mean
    3.86, SD 0.31, alpha 0.91-0.96. The presets' latent ``mean``, SDs and ``item_noise``
    were solved (by simulation, with the rupture-free alpha by quadrature) so that the
    simulated scores have that mean and SD over all observed sessions, with a
    cross-sectional alpha of 0.80 (children) and 0.91 (therapists, the highest that
    item rounding allows at that SD). Between- and within-person SDs are taken equal (an
    intraclass correlation of about 0.5), since the study reports only the total SD.
    Lengths (8 to 15 weekly sessions), trend, autocorrelation, the rupture rates (15
    ruptures in 70 child series, 20 in 56 therapist series, about 2% and 3% of
    sessions), the repair shares (53% and 80% repaired) and the missingness are
    plausible settings, not estimates.

    **Randomness.** Levels, coefficients, session noise, each item, rupture positions,
    shapes, missingness and lengths use their own child streams of ``random_state``:
    with the same seed, changing ``depth``, ``trend``, ``repair`` or a missing rate keeps
    everything else (common random numbers), and the first rows do not depend on
    ``n_series``.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.realistic import simulate_realistic
    >>> sim = simulate_realistic(2000, "children", random_state=0)
    >>> round(float(np.nanmean(sim.X)), 1), round(float(np.nanstd(sim.X)), 1)
    (38.7, 2.7)
    >>> float(np.nanmax(sim.X)) <= 48.0
    True
    >>> ther = simulate_realistic(2000, "therapists", repair="slow", random_state=0)
    >>> round(float(np.nanmean(ther.X)), 2), np.unique(ther.labels).tolist()
    (3.87, [0, 1, 3])
    """
    overrides = {
        name: value
        for name, value in locals().items()
        if name not in ("n_series", "preset", "random_state")
    }
    p = _simulate_realistic_iv(n_series, preset, overrides)
    streams = dict(
        zip(
            ("level", "ar", "noise", "items", "rupture", "shape", "missing", "length"),
            check_random_state(random_state).spawn(8),
        )
    )
    n, m = p["n_series"], p["n_sessions"]
    lengths = streams["length"].integers(p["lengths"][0], p["lengths"][1] + 1, size=n)
    inside = np.arange(m) < lengths[:, None]
    person_mean = p["mean"] + p["between_sd"] * streams["level"].standard_normal(n)
    person_ar = p["ar"] + p["ar_spread"] * (2.0 * streams["ar"].random(n) - 1.0)
    noise_sd = math.sqrt(1.0 - p["item_noise"]) * p["within_sd"]
    with np.errstate(over="ignore", invalid="ignore"):
        latent = noise_sd * _ar1_noise(streams["noise"], person_ar, m)
        latent += person_mean[:, None] + p["trend"] * np.arange(m)
        planted = _plant_ruptures(streams["rupture"], inside, p["rupture_rate"])
        shape = _draw_shapes(streams["shape"], planted, p["repair"])
        latent -= p["depth"] * p["within_sd"] * _drop_profile(shape, p["recovery"])
    if not np.isfinite(latent).all():
        raise ValueError(
            "The latent scores overflow the float range: `mean`, `between_sd`, "
            "`within_sd`, `trend` or `depth` is too large in magnitude."
        )
    X = _likert_scores(streams["items"], latent, p)
    X[~inside | _missing_mask(streams["missing"], planted, p)] = np.nan
    labels = _true_labels(X, shape)
    return RealisticAlliance(
        X=X,
        labels=labels,
        central=labels != _core.NO_RUPTURE,
        person_mean=person_mean,
        params=p,
        lengths=lengths,
        person_ar=person_ar,
        planted=planted,
        repair_shape=shape,
    )


def _ar1_noise(rng, phi, m):
    """Stationary unit-variance AR(1) rows with coefficients ``phi`` (one per row)."""
    noise = rng.standard_normal((phi.size, m))
    innovation_sd = np.sqrt(1.0 - phi * phi)
    for t in range(1, m):
        noise[:, t] = phi * noise[:, t - 1] + innovation_sd * noise[:, t]
    return noise


def _plant_ruptures(rng, inside, rate):
    """Central sessions as in ``simulate_alliance``: rate ``rate`` each, never adjacent.

    Session 1 is a rupture with probability ``p``, later sessions with ``p / (1 - p)``
    unless the preceding one is (a Markov chain whose marginal rate is exactly ``p``);
    sessions beyond a series' length get none.
    """
    n, m = inside.shape
    planted = np.zeros((n, m), dtype=bool)
    if rate == 0.0:
        return planted
    threshold = np.full(m - 1, rate / (1.0 - rate) if rate < 0.5 else 1.0)
    threshold[0] = rate
    planted[:, 1:] = rng.random((n, m - 1)) < threshold
    for t in range(2, m):
        planted[:, t] &= ~planted[:, t - 1]
    return planted & inside


def _draw_shapes(rng, planted, repair):
    """Repair-shape codes (1, 2, 3 = REPAIR_SHAPES) at planted sessions, 0 elsewhere."""
    edges = np.cumsum([repair[name] for name in REPAIR_SHAPES])
    codes = 1 + np.searchsorted(edges[:-1], rng.random(planted.shape), side="right")
    return np.where(planted, codes, 0).astype(np.int8)


def _drop_profile(shape, recovery):
    """Drops in units of ``d``: one session (v), a linear return (slow), a step (no_return)."""
    profile = (shape == 1).astype(np.float64)
    profile += np.cumsum(shape == 3, axis=1)
    slow = shape == 2
    m = shape.shape[1]
    for lag in range(min(recovery, m)):
        profile[:, lag:] += (1.0 - lag / recovery) * slow[:, : m - lag]
    return profile


def _likert_scores(rng, latent, p):
    """Sum (or mean) of ``n_items`` rounded, clipped items around the latent score.

    Item j sits ``(j + 0.5) / k - 0.5`` categories above the latent item level (items of
    graded difficulty, spread evenly over one category), so that the rounding thresholds
    of the items are staggered and the total moves by one point per ``1 / k`` category.
    """
    k = p["n_items"]
    per_item = k if p["aggregate"] == "sum" else 1
    # item noise sd on the item scale so that it adds item_noise * within_sd**2 to the score
    item_sd = p["within_sd"] * math.sqrt(p["item_noise"] * (k if per_item == 1 else 1 / k))
    centre = latent / per_item
    total = np.zeros_like(latent)
    for j, item_rng in enumerate(rng.spawn(k)):
        item = centre + ((j + 0.5) / k - 0.5) + item_sd * item_rng.standard_normal(latent.shape)
        total += np.clip(np.rint(item), *p["item_range"])
    return total if per_item == k else total / k


def _missing_mask(rng, planted, p):
    """MCAR at ``missing_rate``; the session after a rupture at ``post_rupture_missing``."""
    probability = np.full(planted.shape, p["missing_rate"])
    probability[:, 1:][planted[:, :-1]] = p["post_rupture_missing"]
    return rng.random(planted.shape) < probability


def _true_labels(X, shape):
    """Detector-coded truth of the observed planted sessions (unresolved: post missing)."""
    labels = np.where(shape == 3, np.int8(_core.UNREPAIRED), np.int8(_core.REPAIRED))
    post_missing = np.ones(X.shape, dtype=bool)
    np.isnan(X[:, 1:], out=post_missing[:, :-1])
    labels[post_missing] = _core.UNRESOLVED
    return np.where((shape > 0) & ~np.isnan(X), labels, np.int8(_core.NO_RUPTURE))
