"""Segmented (interrupted time-series) regression: a level drop at an unknown session."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from scipy import stats
from sklearn.utils._param_validation import Interval, StrOptions

from tukeyrupture import _core
from tukeyrupture.comparison.rivals import _RivalDetector

__all__ = ["SegmentedRegressionDetector"]

# A residual sum of squares below this share of the total is rounding error of a perfect fit.
_RSS_TOLERANCE = 64 * np.finfo(np.float64).eps


def _centred(block):
    """Scores scaled below 1 by a power of two and centred per row; session positions
    centred on each row's observed mean; the observed mask and counts."""
    observed = ~np.isnan(block)
    count = observed.sum(axis=1)
    scaled = np.ldexp(block, -_core.row_exponents(block)[:, None])
    time = np.broadcast_to(np.arange(block.shape[1], dtype=np.float64), block.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(observed, scaled, 0.0).sum(axis=1) / count
        t_mean = np.where(observed, time, 0.0).sum(axis=1) / count
    y = np.where(observed, scaled - y_mean[:, None], 0.0)
    t = np.where(observed, time - t_mean[:, None], 0.0)
    return y, t, observed, count


def _reverse_cumsum(values):
    """``out[:, j] = values[:, j:].sum(axis=1)``."""
    return np.cumsum(values[:, ::-1], axis=1)[:, ::-1]


def drop_statistics(block, min_segment):
    """One-sided t statistic of a level drop at each session, and its degrees of freedom.

    For each series and each candidate session ``tau`` the model
    ``y_t = b0 + b1 * t + delta * [t >= tau] + e_t`` is fitted by least squares on the
    observed sessions (Frisch-Waugh: the step indicator and the scores are residualised
    on the line); the statistic is ``-delta_hat / se(delta_hat)``. Non-candidates are NaN.
    """
    y, t, observed, count = _centred(block)
    weight = observed.astype(np.float64)
    n_after = _reverse_cumsum(weight)
    t_after = _reverse_cumsum(t)
    y_after = _reverse_cumsum(y)
    n = count[:, None].astype(np.float64)
    stt = np.einsum("ij,ij->i", t, t)[:, None]
    sty = np.einsum("ij,ij->i", t, y)[:, None]
    syy = np.einsum("ij,ij->i", y, y)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        # the step, centred (y and t already sum to zero), then residualised on t
        sdd = n_after - n_after**2 / n
        sdt = t_after
        sdy = y_after
        edd = sdd - sdt**2 / stt
        edy = sdy - sdt * sty / stt
        delta = edy / edd
        rss = syy - sty**2 / stt - edy**2 / edd
        rss = np.where(rss > _RSS_TOLERANCE * syy, rss, 0.0)
        dof = count - 3
        se = np.sqrt(rss / dof[:, None] / edd)
        statistic = np.where(se > 0, -delta / se, np.sign(-delta) * np.inf)
    n_before = n - n_after
    candidate = observed & (n_before >= min_segment) & (n_after >= min_segment)
    candidate &= (dof >= 1)[:, None] & (stt > 0) & (edd > 0)
    statistic = np.where(candidate & (delta != 0), statistic, np.where(candidate, 0.0, np.nan))
    return statistic, dof


class SegmentedRegressionDetector(_RivalDetector):
    r"""Segmented regression: the most significant level drop of each series, if any.

    For each series and each candidate session :math:`\tau` (an observed session with at
    least ``min_segment`` observed sessions before it and ``min_segment`` from it on), the
    interrupted time-series model with a level change,

    .. math::

        y_t = \beta_0 + \beta_1 t + \delta \, \mathbb{1}[t \ge \tau] + \varepsilon_t,

    is fitted by ordinary least squares to the observed sessions (``t`` the session
    number; missing sessions are left out) and compared with the no-change line
    :math:`\delta = 0` by the one-sided t test of a drop,
    :math:`T_\tau = -\hat\delta / \widehat{\mathrm{se}}(\hat\delta)` with
    :math:`n - 3` degrees of freedom (``n`` observed sessions).

    Criterion: the session with the largest :math:`T_\tau` (the least-squares estimate of
    the break among drops, as in a sup-t test) is the central rupture session when its
    one-sided p-value, Bonferroni-adjusted for the ``m`` candidate sessions of the series
    (:math:`p_{adj} = \min(1, m p)`), is below ``alpha``. Repair follows the
    lower-half-median rule.

    Parameters
    ----------
    alpha : float, default=0.05
        Level of the test, in (0, 1].
    correction : {"bonferroni", "none"}, default="bonferroni"
        Adjustment of the p-value for the number of candidate sessions; ``"none"`` tests
        the selected session as if it had been chosen in advance (anticonservative).
    min_segment : int, default=2
        Observed sessions required on each side of the break (at least 1).

    Attributes
    ----------
    n_features_in_ : int
        Number of sessions seen in ``fit`` (nothing else is learned).

    See Also
    --------
    tukeyrupture.comparison.partitioning.RupturesDetector : Offline searches for several breaks.

    Notes
    -----
    One break per series at most: a series with two ruptures gets the more significant.
    The model is a level shift, so a one-session dip (a repaired rupture) is weak
    evidence against the line. Bonferroni is conservative here, the statistics of
    neighbouring sessions being strongly correlated. Series with fewer than four observed
    sessions, or no candidate session, are never flagged; a perfect fit gives an
    infinite statistic.

    References
    ----------
    .. [1] Wagner, A. K., Soumerai, S. B., Zhang, F., & Ross-Degnan, D. (2002). Segmented
       regression analysis of interrupted time series studies in medication use research.
       *Journal of Clinical Pharmacy and Therapeutics*, 27(4), 299-309.
    .. [2] Eubanks-Carter, C., Gorman, B. S., & Muran, J. C. (2012). Quantitative
       naturalistic methods for detecting change points in psychotherapy research: An
       illustration with alliance ruptures. *Psychotherapy Research*, 22(6), 621-637.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.segmented import SegmentedRegressionDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 40, 34, 33, 34, 33, 35, 34.0]])
    >>> detector = SegmentedRegressionDetector().fit(X)
    >>> detector.predict(X)
    array([[0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0]], dtype=int8)
    >>> detector.decision_function(X).round(2)[0, 5:8]
    array([-inf, 3.97, -inf])
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, 1, closed="right")],
        "correction": [StrOptions({"bonferroni", "none"})],
        "min_segment": [Interval(Integral, 1, None, closed="left")],
    }
    _finite_params = ("alpha", "min_segment")

    def __init__(self, alpha=0.05, correction="bonferroni", min_segment=2):
        self.alpha = alpha
        self.correction = correction
        self.min_segment = min_segment

    def _score(self, block):
        statistic, dof = drop_statistics(block, self.min_segment)
        filled = np.where(np.isnan(statistic), -np.inf, statistic)
        best = np.argmax(filled, axis=1)
        rows = np.arange(block.shape[0])
        top = filled[rows, best]
        has_candidate = top > -np.inf
        with np.errstate(invalid="ignore"):
            log_p = stats.t.logsf(top, np.maximum(dof, 1))
        if self.correction == "bonferroni":
            n_candidates = np.count_nonzero(~np.isnan(statistic), axis=1)
            log_p = np.minimum(0.0, log_p + np.log(np.maximum(n_candidates, 1)))
        score = np.full(block.shape, -np.inf)
        score[rows[has_candidate], best[has_candidate]] = -log_p[has_candidate] / math.log(10)
        return score

    def _central(self, block):
        return self._score(block) > -math.log10(self.alpha)

    def decision_function(self, X) -> np.ndarray:
        """``-log10`` of the (adjusted) p-value at each series' selected session.

        Every other session scores ``-inf``; ``score > -log10(alpha)`` (a p-value below
        ``alpha``) is exactly :meth:`predict`'s rule, so sweeping a threshold over the
        score sweeps ``alpha``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            ``-log10(p_adj)`` at the session of the largest drop statistic.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.segmented import SegmentedRegressionDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 40, 34, 33, 34, 33, 35, 34.0]])
        >>> score = SegmentedRegressionDetector().fit(X).decision_function(X)
        >>> int(np.argmax(score[0])), bool(score[0, 6] > -np.log10(0.05))
        (6, True)
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)
