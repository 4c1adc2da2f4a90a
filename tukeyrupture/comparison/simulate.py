"""Alliance series with planted ruptures, and their true labels, for simulation studies."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from permanova._arguments import check_random_state
from tukeyrupture import _core
from tukeyrupture._validation import check_integer, check_real, read_only

_LABEL_NAMES = np.array(_core.LABEL_NAMES)


@dataclass(frozen=True)
class SimulatedAlliance:
    """Simulated alliance series and the truth about their planted ruptures.

    Attributes
    ----------
    X : ndarray of float, shape (n_series, n_sessions)
        The observed scores (NaN for missing sessions). Read-only.
    labels : ndarray of int8, shape (n_series, n_sessions)
        True label of each session in the detector's coding
        (:class:`~tukeyrupture.results.RuptureLabel`): 0 none, 1 repaired, 2 unrepaired,
        3 unresolved. Read-only.
    central : ndarray of bool, shape (n_series, n_sessions)
        ``labels != 0``: the true central rupture sessions. Read-only.
    person_mean : ndarray of float, shape (n_series,)
        Each person's alliance level before the trend and the ruptures. Read-only.
    params : dict
        The keyword arguments of :func:`simulate_alliance` that made the data.

    Examples
    --------
    >>> from tukeyrupture.comparison.simulate import simulate_alliance
    >>> sim = simulate_alliance(200, 12, rupture_rate=0.1, missing_rate=0.1, random_state=0)
    >>> sim.n_series, sim.n_sessions, sim.params["missing_rate"]
    (200, 12, 0.1)
    >>> int(sim.central.sum()) == sim.n_ruptures
    True
    """

    X: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    central: np.ndarray = field(repr=False)
    person_mean: np.ndarray = field(repr=False)
    params: dict = field(repr=False)

    def __post_init__(self):
        for name in ("X", "labels", "central", "person_mean"):
            object.__setattr__(self, name, read_only(getattr(self, name)))
        object.__setattr__(self, "params", dict(self.params))

    @property
    def n_series(self) -> int:
        """Number of series (rows)."""
        return int(self.X.shape[0])

    @property
    def n_sessions(self) -> int:
        """Number of sessions (columns)."""
        return int(self.X.shape[1])

    @property
    def n_ruptures(self) -> int:
        """Number of true central rupture sessions."""
        return int(np.count_nonzero(self.central))

    def __repr__(self) -> str:
        return (
            f"SimulatedAlliance(n_series={self.n_series}, n_sessions={self.n_sessions}, "
            f"n_ruptures={self.n_ruptures})"
        )

    def to_frame(self) -> pd.DataFrame:
        """The data in long format: one row per series and session.

        Returns
        -------
        DataFrame
            Columns ``series`` (0-based row), ``session`` (1-based), ``score`` (NaN when
            missing), ``label`` (the true int8 label) and ``rupture`` (``"none"``,
            ``"repaired"``, ``"unrepaired"`` or ``"unresolved"``). The frame feeds
            ``from_long(frame, series="series", session="session", value="score")``.

        Examples
        --------
        >>> from tukeyrupture.comparison.simulate import simulate_alliance
        >>> sim = simulate_alliance(2, 5, rupture_rate=0.5, scale=(0, 60), random_state=3)
        >>> sim.to_frame().head(5)
           series  session  score  label     rupture
        0       0        1   39.0      0        none
        1       0        2   42.0      0        none
        2       0        3   38.0      1    repaired
        3       0        4   43.0      0        none
        4       0        5   36.0      3  unresolved
        """
        n_series, n_sessions = self.X.shape
        labels = self.labels.ravel()
        return pd.DataFrame(
            {
                "series": np.repeat(np.arange(n_series), n_sessions),
                "session": np.tile(np.arange(1, n_sessions + 1), n_series),
                "score": self.X.ravel(),
                "label": labels,
                "rupture": _LABEL_NAMES[labels],
            }
        )


#: Largest ``n_series * n_sessions`` simulated at once (16 GiB of float64 scores).
MAX_CELLS = 2**31


def _check_rupture_rate(rupture_rate):
    rate = check_real("rupture_rate", rupture_rate, low=0, high=1)
    if rate > 0.5:
        raise ValueError(
            f"`rupture_rate` must be <= 0.5, since ruptures are never adjacent (the session "
            f"after a rupture is its post session); got {rate:g}."
        )
    return rate


def _check_scale(scale):
    if scale is None:
        return None
    if isinstance(scale, (str, bytes)) or not hasattr(scale, "__len__") or len(scale) != 2:
        raise TypeError(f"`scale` must be None or a pair (lo, hi); got {scale!r}.")
    lo = check_real("scale[0]", scale[0])
    hi = check_real("scale[1]", scale[1])
    if not lo < hi:
        raise ValueError(f"`scale` must satisfy lo < hi; got {tuple(scale)!r}.")
    return (lo, hi)


def _simulate_alliance_iv(
    n_series,
    n_sessions,
    *,
    mean,
    between_sd,
    within_sd,
    ar,
    trend,
    rupture_rate,
    depth,
    repair_rate,
    missing_rate,
    scale,
):
    """Validate the arguments of :func:`simulate_alliance`; return them normalised."""
    n_series = check_integer("n_series", n_series, 1)
    n_sessions = check_integer("n_sessions", n_sessions, 3)
    if n_series * n_sessions > MAX_CELLS:
        raise ValueError(
            f"`n_series` * `n_sessions` must be at most {MAX_CELLS} (2**31) scores; got "
            f"n_series={n_series} * n_sessions={n_sessions} = {n_series * n_sessions}. "
            "Simulate fewer or shorter series (e.g. in batches with different seeds)."
        )
    return {
        "n_series": n_series,
        "n_sessions": n_sessions,
        "mean": check_real("mean", mean),
        "between_sd": check_real("between_sd", between_sd, low=0),
        "within_sd": check_real("within_sd", within_sd, low=0),
        "ar": check_real("ar", ar, low=-1, high=1, open_low=True, open_high=True),
        "trend": check_real("trend", trend),
        "rupture_rate": _check_rupture_rate(rupture_rate),
        "depth": check_real("depth", depth, low=0),
        "repair_rate": check_real("repair_rate", repair_rate, low=0, high=1),
        "missing_rate": check_real("missing_rate", missing_rate, low=0, high=1),
        "scale": _check_scale(scale),
    }


def simulate_alliance(
    n_series: int,
    n_sessions: int,
    *,
    mean: float = 40.0,
    between_sd: float = 4.0,
    within_sd: float = 2.5,
    ar: float = 0.0,
    trend: float = 0.0,
    rupture_rate: float = 0.05,
    depth: float = 2.0,
    repair_rate: float = 0.5,
    missing_rate: float = 0.0,
    scale: tuple[float, float] | None = None,
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
) -> SimulatedAlliance:
    """Simulate alliance series with planted repaired and unrepaired ruptures.

    Person i has the level ``m_i = mean + between_sd * z_i``; session t (0-based) scores

    ``x[i, t] = m_i + trend * t + e[i, t] - d * (R[i, t] + U[i, 0..t])``,

    where ``e`` is a stationary AR(1) process with coefficient ``ar`` and marginal standard
    deviation ``within_sd``, ``d = depth * within_sd``, ``R[i, t]`` is 1 at the central
    session of a repaired rupture and ``U[i, 0..t]`` counts the unrepaired ruptures at or
    before session t. Everything is drawn for all series at once (loops run over sessions
    only), so a million series of 20 sessions take about a second.

    Parameters
    ----------
    n_series : int
        Number of series (persons), at least 1; ``n_series * n_sessions`` is at most
        ``MAX_CELLS`` (2**31).
    n_sessions : int
        Number of sessions per series, at least 3.
    mean : float, default=40.0
        Mean alliance level over persons.
    between_sd : float, default=4.0
        Standard deviation of the person levels.
    within_sd : float, default=2.5
        Marginal standard deviation of the session-to-session noise around a person's level
        (the within-person SD); also the unit of ``depth``.
    ar : float, default=0.0
        Lag-1 autocorrelation of the noise, in (-1, 1).
    trend : float, default=0.0
        Change of every person's expected score per session, in score points.
    rupture_rate : float, default=0.05
        Probability that a session 1 .. n_sessions - 1 is the central session of a rupture
        (see Notes), in [0, 0.5].
    depth : float, default=2.0
        Size of the drop at a rupture, in ``within_sd`` units (>= 0).
    repair_rate : float, default=0.5
        Probability that a rupture is repaired, in [0, 1].
    missing_rate : float, default=0.0
        Probability that a session is missing (NaN), independently of everything else,
        in [0, 1].
    scale : (float, float) or None, default=None
        ``(lo, hi)`` of a questionnaire's total score: scores are rounded to integers and
        clipped to ``[lo, hi]``. None keeps continuous scores.
    random_state : int, Generator, SeedSequence, RandomState or None, default=None
        Seed of ``numpy.random.default_rng``. A ``SeedSequence`` is copied, never advanced,
        so the same sequence gives the same data on every call; a ``Generator`` is used
        as is (its state moves on, as numpy's convention is); a legacy ``RandomState`` is
        accepted and seeds the generator with 128 bits drawn from it (so it advances, as
        any use of a RandomState does). None draws fresh entropy.

    Returns
    -------
    SimulatedAlliance
        ``X``, the true ``labels`` (detector coding), the ``central`` mask, the person
        levels and ``params``.

    Raises
    ------
    TypeError
        If a size is not an integer, a parameter is not a real number or
        ``random_state`` is none of the accepted types.
    ValueError
        If a parameter is out of range (e.g. ``n_sessions < 3``, ``n_series *
        n_sessions > MAX_CELLS``, ``depth < 0``, a rate
        outside [0, 1], ``rupture_rate > 0.5``, ``|ar| >= 1``, a negative seed), naming
        the argument, or if the parameters make scores overflow the float range.

    See Also
    --------
    tukeyrupture.comparison.compare.compare_detectors : Simulation studies over grids of these
        arguments.

    Notes
    -----
    **Where ruptures occur.** Sessions 1 .. n_sessions - 1 (0-based) can be central sessions,
    since a rupture is a drop from the preceding session; session 0 never is. Ruptures are
    never adjacent: the session after a rupture (its post session) is never itself a
    central session. The rupture indicators form a Markov chain over sessions: session 1 is
    a rupture with probability ``p = rupture_rate``, and a later session with probability
    ``p / (1 - p)`` when the preceding session is not a rupture (0 when it is). Then
    every session 1 .. n - 1 is a central session with probability exactly ``p``, which
    requires ``p <= 0.5``.

    **Repaired and unrepaired.** A repaired rupture lowers only its central session by
    ``d``: the score returns to the person's level at the next session. An unrepaired
    rupture lowers the level by ``d`` from its central session to the end of the series (a
    persistent step); later ruptures drop further from that lowered level.

    **Truth labels** use the detector's coding: the central session gets 1 (repaired) or
    2 (unrepaired); it gets 3 (unresolved) when it is the last session or the post session
    is missing, as the detector would label it. A rupture whose central session is missing
    cannot be observed and has no label (its effect on the level remains).

    **Randomness.** Person levels, noise, ruptures and missingness come from four
    independent child streams of ``random_state``. With the same seed, changing ``depth``,
    ``trend`` or ``mean`` keeps the noise and rupture positions (common random numbers),
    and the first k rows do not depend on ``n_series``.

    ``scale`` rounds and clips after the ruptures are planted, so near the floor of the
    scale a drop can be smaller than ``d``.

    Examples
    --------
    >>> from tukeyrupture.comparison.simulate import simulate_alliance
    >>> sim = simulate_alliance(1000, 20, rupture_rate=0.1, random_state=0)
    >>> sim
    SimulatedAlliance(n_series=1000, n_sessions=20, n_ruptures=1884)
    >>> sim.X.shape, sim.labels.dtype
    ((1000, 20), dtype('int8'))
    >>> round(float(sim.X.mean()), 1)
    37.5
    >>> simulate_alliance(3, 8, scale=(12, 60), random_state=0).X[0]
    array([48., 41., 37., 48., 49., 45., 47., 43.])
    """
    params = _simulate_alliance_iv(
        n_series,
        n_sessions,
        mean=mean,
        between_sd=between_sd,
        within_sd=within_sd,
        ar=ar,
        trend=trend,
        rupture_rate=rupture_rate,
        depth=depth,
        repair_rate=repair_rate,
        missing_rate=missing_rate,
        scale=scale,
    )
    n, m = params["n_series"], params["n_sessions"]
    rng = check_random_state(random_state)
    level_rng, noise_rng, rupture_rng, missing_rng = rng.spawn(4)

    # huge parameters overflow to inf; that is reported below, naming them
    with np.errstate(over="ignore", invalid="ignore"):
        person_mean = params["mean"] + params["between_sd"] * level_rng.standard_normal(n)

        X = noise_rng.standard_normal((n, m))
        ar = params["ar"]
        if ar != 0.0:
            X[:, 1:] *= math.sqrt(1.0 - ar * ar)
            for t in range(1, m):
                X[:, t] += ar * X[:, t - 1]
        X *= params["within_sd"]
        X += person_mean[:, None]
        if params["trend"] != 0.0:
            X += params["trend"] * np.arange(m)

        rupture, repaired = _draw_ruptures(rupture_rng, n, m, params)
        drop = params["depth"] * params["within_sd"]
        if drop > 0 and params["rupture_rate"] > 0:
            # Drops in units of d: the running count of unrepaired ruptures (a persistent step)
            # plus the one-session dip of a repaired rupture.
            steps = np.cumsum(
                rupture & ~repaired, axis=1, dtype=np.int16 if m < 2**15 else np.int32
            )
            steps += repaired
            X -= drop * steps

    if not np.isfinite(X).all():
        raise ValueError(
            "The scores overflow the float range: `mean`, `between_sd`, `within_sd`, "
            "`trend` or `depth` * `within_sd` is too large in magnitude (got "
            f"mean={params['mean']:g}, between_sd={params['between_sd']:g}, "
            f"within_sd={params['within_sd']:g}, trend={params['trend']:g}, "
            f"depth={params['depth']:g})."
        )
    if params["scale"] is not None:
        np.rint(X, out=X)
        np.clip(X, *params["scale"], out=X)

    if params["missing_rate"] > 0:
        missing = missing_rng.random((n, m), dtype=np.float32) < params["missing_rate"]
        X[missing] = np.nan

    labels = _true_labels(X, rupture, repaired)
    return SimulatedAlliance(
        X=X,
        labels=labels,
        central=labels != _core.NO_RUPTURE,
        person_mean=person_mean,
        params=params,
    )


#: Parameters of simulate_alliance other than the two sizes and the seed, with their
#: defaults (read from its signature, where they are written once).
SIMULATION_DEFAULTS: dict[str, Any] = {
    name: parameter.default
    for name, parameter in inspect.signature(simulate_alliance).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY and name != "random_state"
}


def _draw_ruptures(rng, n, m, params):
    """Boolean ``(n, m)`` masks of the planted central sessions and of the repaired ones.

    One uniform ``u`` per session 1 .. m - 1 decides both: with the session's threshold
    ``c`` (``p`` at session 1, ``p / (1 - p)`` later), ``u < c`` plants a rupture unless the
    preceding session holds one, and ``u < c * repair_rate`` makes it repaired (given
    ``u < c``, ``u / c`` is uniform, so repairs are independent of everything else).
    """
    rupture = np.zeros((n, m), dtype=bool)
    repaired = np.zeros((n, m), dtype=bool)
    rate = params["rupture_rate"]
    if rate == 0.0:
        return rupture, repaired
    threshold = np.full(m - 1, rate / (1.0 - rate) if rate < 0.5 else 1.0)
    threshold[0] = rate
    uniform = rng.random((n, m - 1), dtype=np.float32)
    rupture[:, 1:] = uniform < threshold.astype(np.float32)
    repaired[:, 1:] = uniform < (threshold * params["repair_rate"]).astype(np.float32)
    for t in range(2, m):
        rupture[:, t] &= ~rupture[:, t - 1]
    repaired &= rupture
    return rupture, repaired


def _true_labels(X, rupture, repaired):
    """Detector-coded truth: unresolved at the last session or before a missing session."""
    labels = np.where(repaired, np.int8(_core.REPAIRED), np.int8(_core.UNREPAIRED))
    post_missing = np.ones(X.shape, dtype=bool)
    np.isnan(X[:, 1:], out=post_missing[:, :-1])
    np.copyto(labels, np.int8(_core.UNRESOLVED), where=post_missing)
    return np.where(rupture & ~np.isnan(X), labels, np.int8(_core.NO_RUPTURE))
