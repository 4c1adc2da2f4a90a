"""Rival change-point detectors with the ``predict`` contract of ``TukeyRuptureDetector``.

Every rival labels the sessions of ``X`` (shape ``(n_series, n_sessions)``, NaN = missing)
with the same int8 codes (0 none, 1 repaired, 2 unrepaired, 3 unresolved) and decides
repair with the same lower-half-median rule (:func:`tukeyrupture._core.repair_labels`), so
that every metric of :mod:`tukeyrupture.comparison.metrics` applies to all of them. Only the
choice of the central rupture sessions differs. No rival flags session 0: a rupture is a
drop from the preceding session.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from tukeyrupture import _core
from tukeyrupture._validation import SeriesInput

__all__ = [
    "AbsoluteDropDetector",
    "ReliableChangeDetector",
    "ShewhartDetector",
]

# d2 of the moving range of two observations: E|X1 - X2| = d2 * sigma for normal data.
D2_MOVING_RANGE = 1.128


class _RivalDetector(SeriesInput, BaseEstimator):
    """Shared plumbing: validation, chunked labelling with the lower-half-median repair rule.

    Subclasses implement ``_learn(X)`` (fitted state from validated data) and
    ``_central(X)`` (boolean mask of central sessions of a validated block); those with a
    continuous score implement ``_score(X)`` too.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate the parameters and ``X`` and learn what the rule needs.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.
        y : None
            Ignored.

        Returns
        -------
        self : estimator
            The fitted detector.

        Raises
        ------
        TypeError
            If ``X`` does not hold real numbers (complex, boolean, datetime or timedelta
            values, strings, other objects) or a parameter has the wrong type.
        ValueError
            If ``X`` has the wrong shape or infinite values, or a parameter is out of
            range.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.rivals import ReliableChangeDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 30, 41, 40.0], [38, 37, 39, 38, 39, 38, 37, 38]])
        >>> round(ReliableChangeDetector().fit(X).sd_, 3)
        2.776
        """
        X = self._check_fit_X(X)
        self._learn(X)
        return self

    def _learn(self, X):
        """Default: nothing to learn beyond ``n_features_in_``."""

    def _by_chunks(self, X, function, dtype):
        out = np.empty(X.shape, dtype=dtype)
        for rows in _core.row_chunks(*X.shape):
            out[rows] = function(X[rows])
        return out

    def _labels(self, block):
        lower_half_median = _core.row_summaries(block).lower_half_median
        return _core.repair_labels(block, self._central(block), lower_half_median)

    def predict(self, X) -> np.ndarray:
        """Label every session: 0 none, 1 repaired, 2 unrepaired, 3 unresolved.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        labels : ndarray of int8, shape (n_series, n_sessions)
            Codes of :class:`~tukeyrupture.results.RuptureLabel` at the central sessions;
            repair by the lower-half-median rule of the series.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.rivals import ShewhartDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 30, 33, 34, 41, 42.0]])
        >>> ShewhartDetector(n_sigma=2).fit(X).predict(X)
        array([[0, 0, 0, 0, 0, 2, 0, 0, 0, 0]], dtype=int8)
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._labels, np.int8)


def _pooled_sd_or_warn(X, eligible, kind, name, what):
    sd, dof = _core.pooled_sd(X, eligible, kind)
    if dof == 0:
        warnings.warn(
            f"`{name}` could not be learned: {what} give no degrees of freedom; "
            f"{name}_ is NaN. Pass {name}=<float>.",
            UserWarning,
            stacklevel=5,
        )
    return sd


def _scored_drop(block, scale):
    """``(x[t-1] - x[t]) / scale`` where both sessions are observed, ``-inf`` elsewhere.

    A scale of 0 gives ``+inf`` for a positive drop (and ``-inf`` otherwise). Rows near
    the float maximum are scaled down by a power of two first, so a drop between values of
    opposite sign does not overflow.
    """
    shifts = _core.overflow_shifts(block, headroom=2)
    drop = _core.session_drop(_core.shift_rows(block, shifts))
    scale = np.ldexp(float(scale), -shifts)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = drop / scale[:, None]
    score = np.where((scale == 0)[:, None], np.where(drop > 0, np.inf, -np.inf), score)
    return np.where(np.isnan(score), -np.inf, score)


class AbsoluteDropDetector(_RivalDetector):
    """The study's absolute criterion alone: a drop of at least ``c`` pooled SDs.

    Session t is a central rupture session when the series is eligible (at least
    ``min_consecutive`` consecutive observed sessions), ``x[t-1]`` and ``x[t]`` are observed
    and ``x[t-1] - x[t] >= sd_multiplier * s`` with a positive drop, ``s`` being the pooled
    standard deviation. This is ``TukeyRuptureDetector`` without its TCC criterion.

    Parameters
    ----------
    sd_multiplier : float, default=2.0
        ``c`` of the criterion (study: 2.0).
    pooled_sd : {"within", "total"}, float or None, default=None
        None or ``"within"`` learns the within-series pooled SD of the eligible training
        series in ``fit``, ``"total"`` the SD of all their observed values; a float is used
        as is.
    min_consecutive : int, default=7
        A series is analysed only with at least this many consecutive observed sessions.

    Attributes
    ----------
    pooled_sd_ : float
        The SD ``s`` (NaN when no training series is eligible: then ``predict`` raises for
        eligible series).
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    See Also
    --------
    tukeyrupture.detector.TukeyRuptureDetector : TCC or this criterion.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.rivals import AbsoluteDropDetector
    >>> X = np.array([[6, 6, 7, 6, 7, 3, 4, 6.0]])
    >>> AbsoluteDropDetector(pooled_sd=1.0).fit(X).predict(X)
    array([[0, 0, 0, 0, 0, 2, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "sd_multiplier": [Interval(Real, 0, None, closed="left")],
        "pooled_sd": [
            StrOptions({"within", "total"}),
            Interval(Real, 0, None, closed="left"),
            None,
        ],
        "min_consecutive": [Interval(Integral, 1, None, closed="left")],
    }
    _finite_params = ("sd_multiplier", "pooled_sd", "min_consecutive")

    def __init__(self, sd_multiplier=2.0, pooled_sd=None, min_consecutive=7):
        self.sd_multiplier = sd_multiplier
        self.pooled_sd = pooled_sd
        self.min_consecutive = min_consecutive

    def _learn(self, X):
        if isinstance(self.pooled_sd, Real):
            self.pooled_sd_ = float(self.pooled_sd)
            return
        eligible = _core.eligible_series(X, self.min_consecutive)
        self.pooled_sd_ = _pooled_sd_or_warn(
            X, eligible, self.pooled_sd or "within", "pooled_sd", "the eligible training series"
        )

    def _eligible(self, block):
        eligible = _core.eligible_series(block, self.min_consecutive)
        if np.isnan(self.pooled_sd_) and eligible.any():
            raise ValueError(
                "`pooled_sd` is unknown (pooled_sd_ is NaN: the training data had no eligible "
                "series) but X holds eligible series; pass pooled_sd=<float>."
            )
        return eligible

    def _central(self, block):
        eligible = self._eligible(block)
        shifts = _core.overflow_shifts(block, headroom=2)
        threshold = _core.scaled_threshold(self.sd_multiplier, self.pooled_sd_, shifts)
        return _core.absolute_mask(_core.shift_rows(block, shifts), threshold, eligible)

    def _score(self, block):
        score = _scored_drop(block, self.pooled_sd_)
        score[~self._eligible(block)] = -np.inf
        return score

    def decision_function(self, X) -> np.ndarray:
        """Drop from the preceding session in pooled SDs, ``(x[t-1] - x[t]) / s``.

        ``-inf`` where the criterion cannot apply (ineligible series, session 0, either
        session missing); ``score >= c`` (with a positive drop) is the criterion for
        ``sd_multiplier=c``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            The standardised drop.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.rivals import AbsoluteDropDetector
        >>> X = np.array([[6, 6, 7, 6, 7, 3, 4, 6.0]])
        >>> AbsoluteDropDetector(pooled_sd=2.0).fit(X).decision_function(X)
        array([[-inf,  0. , -0.5,  0.5, -0.5,  2. , -0.5, -1. ]])
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)


class ShewhartDetector(_RivalDetector):
    """Individuals (X) control chart: a session below ``mean - n_sigma * sigma``.

    Per series, the centre line is the mean of the observed sessions and ``sigma`` is the
    mean moving range (absolute differences of consecutive observed sessions) divided by
    ``d2 = 1.128``. Session t >= 1 is a central rupture session when ``x[t]`` is observed
    and ``x[t] < centre - n_sigma * sigma``.

    Parameters
    ----------
    n_sigma : float, default=3.0
        Width of the lower control limit in sigmas.

    Attributes
    ----------
    n_features_in_ : int
        Number of sessions seen in ``fit`` (nothing else is learned).

    Notes
    -----
    A series without two consecutive observed sessions has no moving range: no sigma and
    no ruptures. With ``sigma = 0`` every session below the mean is flagged.

    References
    ----------
    .. [1] Wheeler, D. J., & Chambers, D. S. (1992). *Understanding Statistical Process
       Control* (2nd ed.). SPC Press.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.rivals import ShewhartDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 30, 41, 40, 41, 42.0]])
    >>> ShewhartDetector(n_sigma=2).fit(X).predict(X)
    array([[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {"n_sigma": [Interval(Real, 0, None, closed="left")]}
    _finite_params = ("n_sigma",)

    def __init__(self, n_sigma=3.0):
        self.n_sigma = n_sigma

    def _score(self, block):
        # the sums of values and of moving ranges reach n_sessions * 2 * max |x|: rows that
        # could overflow are scaled down by a power of two (the score is scale-free)
        headroom = math.ceil(math.log2(max(block.shape[1], 1))) + 2
        block = _core.shift_rows(block, _core.overflow_shifts(block, headroom))
        observed = ~np.isnan(block)
        count = observed.sum(axis=1)
        moving_range = np.abs(_core.session_drop(block))
        n_ranges = np.count_nonzero(~np.isnan(moving_range), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            centre = np.where(observed, block, 0.0).sum(axis=1) / count
            sigma = np.nansum(moving_range, axis=1) / n_ranges / D2_MOVING_RANGE
            score = (centre[:, None] - block) / sigma[:, None]
        below = block < centre[:, None]
        score = np.where(sigma[:, None] == 0, np.where(below, np.inf, -np.inf), score)
        score = np.where(np.isnan(score), -np.inf, score)
        score[:, 0] = -np.inf
        return score

    def _central(self, block):
        return self._score(block) > self.n_sigma

    def decision_function(self, X) -> np.ndarray:
        """Distance below the centre line in sigmas, ``(centre - x[t]) / sigma``.

        ``-inf`` at session 0, at missing sessions and in series without a sigma;
        ``score > n_sigma`` is the chart's rule.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            The standardised distance below the centre line.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.rivals import ShewhartDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 30, 41, 40, 41, 42.0]])
        >>> ShewhartDetector().fit(X).decision_function(X).round(2)[0, 4:7]
        array([-0.41,  3.32, -0.41])
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)


class ReliableChangeDetector(_RivalDetector):
    """Jacobson-Truax reliable deterioration between consecutive sessions.

    Session t is a central rupture session when ``x[t-1]`` and ``x[t]`` are observed and
    the reliable change index of the drop exceeds ``critical``:

    ``RCI = (x[t-1] - x[t]) / S_diff > critical``, with
    ``S_diff = sqrt(2) * SD * sqrt(1 - reliability)``.

    Parameters
    ----------
    reliability : float, default=0.8
        Reliability of the alliance score in [0, 1) (e.g. Cronbach's alpha; the study
        reports 0.72 to 0.87 for the TASC and 0.91 to 0.96 for the WAI-S).
    sd : float or None, default=None
        ``SD`` of the formula. None learns the within-series pooled SD of the training
        series (all series with at least two observed sessions) in ``fit``; pass a
        normative SD to follow Jacobson and Truax literally.
    critical : float, default=1.96
        Critical value of the RCI (1.96: two-sided 5 % level).

    Attributes
    ----------
    sd_ : float
        The SD used (NaN, with a warning at ``fit``, when the training series have no
        degrees of freedom; nothing is then flagged).
    s_diff_ : float
        Standard error of the difference, ``sqrt(2) * sd_ * sqrt(1 - reliability)``.
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    References
    ----------
    .. [1] Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical
       approach to defining meaningful change in psychotherapy research. *Journal of
       Consulting and Clinical Psychology*, 59(1), 12-19.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.rivals import ReliableChangeDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 30, 41, 40, 41, 42.0]])
    >>> detector = ReliableChangeDetector(sd=4.0).fit(X)
    >>> round(detector.s_diff_, 3)
    2.53
    >>> detector.predict(X)
    array([[0, 0, 0, 0, 0, 1, 0, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "reliability": [Interval(Real, 0, 1, closed="left")],
        "sd": [Interval(Real, 0, None, closed="left"), None],
        "critical": [Interval(Real, 0, None, closed="left")],
    }
    _finite_params = ("reliability", "sd", "critical")

    def __init__(self, reliability=0.8, sd=None, critical=1.96):
        self.reliability = reliability
        self.sd = sd
        self.critical = critical

    def _learn(self, X):
        if self.sd is not None:
            self.sd_ = float(self.sd)
        else:
            everything = np.ones(X.shape[0], dtype=bool)
            self.sd_ = _pooled_sd_or_warn(X, everything, "within", "sd", "the training series")
        self.s_diff_ = self.sd_ * math.sqrt(2.0 * (1.0 - self.reliability))

    def _score(self, block):
        return _scored_drop(block, self.s_diff_)

    def _central(self, block):
        return self._score(block) > self.critical

    def decision_function(self, X) -> np.ndarray:
        """The reliable change index of the drop, ``(x[t-1] - x[t]) / S_diff``.

        ``-inf`` at session 0 and where either session is missing; ``score > critical``
        is the rule.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            The RCI of each session's drop.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.rivals import ReliableChangeDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 30, 41, 40, 41, 42.0]])
        >>> ReliableChangeDetector(sd=4.0).fit(X).decision_function(X).round(2)[0, 4:7]
        array([ 0.4 ,  4.35, -4.35])
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)
