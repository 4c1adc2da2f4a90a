"""Bayesian online change-point detection (Adams & MacKay 2007) for many series at once."""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np
from scipy.special import gammaln
from sklearn.utils._param_validation import Interval

from tukeyrupture import _core
from tukeyrupture.comparison.rivals import _RivalDetector

__all__ = ["BOCPDDetector"]


def _predictive_constants(alpha):
    """The part of the Student-t log density that depends only on ``alpha``."""
    return gammaln(alpha + 0.5) - gammaln(alpha) - 0.5 * np.log(2.0 * math.pi * alpha)


def _student_logpdf(x, mean, kappa, alpha, beta, constant):
    """Log predictive density of the normal-gamma model: Student-t with ``2 alpha``
    degrees of freedom, location ``mean`` and squared scale
    ``beta (kappa + 1) / (alpha kappa)``."""
    scale2 = beta * (kappa + 1.0) / (alpha * kappa)
    return (
        constant
        - 0.5 * np.log(scale2)
        - (alpha + 0.5) * np.log1p((x - mean) ** 2 / (2.0 * alpha * scale2))
    )


def _updated(mean, beta, kappa, x):
    """Normal-gamma posterior ``(mean, beta)`` after one more observation ``x``."""
    return (kappa * mean + x) / (kappa + 1.0), beta + kappa * (x - mean) ** 2 / (
        2.0 * (kappa + 1.0)
    )


def change_probabilities(z, hazard, kappa0, alpha0, beta0):
    """Run-length filtering of every row of ``z`` (NaN = missing, skipped).

    Returns ``(probability, expected)``: ``P(a segment begins at t | z_0..z_t)`` and the
    posterior predictive mean of ``z_t`` given the earlier sessions (mixture over run
    lengths of the current segment), both NaN at missing sessions and at each row's first
    observed session. Column ``j`` of the state holds the run of ``j + 1`` observations.
    """
    n_rows, n_cols = z.shape
    length = np.arange(1, n_cols + 1, dtype=np.float64)
    kappa, alpha = kappa0 + length, alpha0 + length / 2.0
    constant = _predictive_constants(alpha)
    constant0 = float(_predictive_constants(np.float64(alpha0)))
    log_r = np.full((n_rows, n_cols), -np.inf)
    mean = np.zeros((n_rows, n_cols))
    beta = np.full((n_rows, n_cols), float(beta0))
    started = np.zeros(n_rows, dtype=bool)
    probability = np.full((n_rows, n_cols), np.nan)
    expected = np.full((n_rows, n_cols), np.nan)
    log_hazard, log_survival = math.log(hazard), math.log1p(-hazard)
    for t in range(n_cols):
        observed = ~np.isnan(z[:, t])
        x = np.where(observed, z[:, t], 0.0)
        old = slice(0, t)  # before session t, a run holds at most t observations
        new_log_r = np.empty((n_rows, t + 1))
        new_log_r[:, 0] = log_hazard + _student_logpdf(x, 0.0, kappa0, alpha0, beta0, constant0)
        new_log_r[:, 1:] = log_r[:, old] + log_survival
        new_log_r[:, 1:] += _student_logpdf(
            x[:, None], mean[:, old], kappa[old], alpha[old], beta[:, old], constant[old]
        )
        # normalise (a row's first observation has only the new run: it gets probability 1)
        top = new_log_r.max(axis=1, keepdims=True)
        new_log_r -= top + np.log(np.exp(new_log_r - top).sum(axis=1, keepdims=True))
        updates = started & observed
        probability[:, t] = np.where(updates, np.exp(new_log_r[:, 0]), np.nan)
        prior_mean = np.einsum("ij,ij->i", np.exp(log_r[:, old]), mean[:, old])
        expected[:, t] = np.where(updates, prior_mean, np.nan)
        new_mean, new_beta = np.empty((n_rows, t + 1)), np.empty((n_rows, t + 1))
        new_mean[:, 0], new_beta[:, 0] = _updated(0.0, float(beta0), kappa0, x)
        new_mean[:, 1:], new_beta[:, 1:] = _updated(
            mean[:, old], beta[:, old], kappa[old], x[:, None]
        )
        rows = observed[:, None]
        np.copyto(log_r[:, : t + 1], new_log_r, where=rows)
        np.copyto(mean[:, : t + 1], new_mean, where=rows)
        np.copyto(beta[:, : t + 1], new_beta, where=rows)
        started |= observed
    return probability, expected


class BOCPDDetector(_RivalDetector):
    r"""Bayesian online change-point detection (Adams & MacKay 2007), drops only.

    Each series is standardised, ``z_t = (x_t - m) / s`` with ``m`` the mean of its
    observed sessions and ``s`` the within-series pooled SD of the training series (or
    ``sd``), and modelled as segments of independent normal scores whose mean and
    precision are drawn afresh at every change point from the normal-gamma prior

    .. math::

        \mu \mid \tau \sim N(0, 1 / (\kappa_0 \tau)), \qquad
        \tau \sim \mathrm{Gamma}(\alpha_0, \beta_0),

    with a change before each session with constant probability ``H`` (the hazard). The
    run-length posterior (the number of observations ``r`` of the current segment) is
    updated online, for all series at once:

    .. math::

        P(r_t = r + 1, z_{1:t}) &= P(r_{t-1} = r, z_{1:t-1})\,(1 - H)\,
        \pi_r(z_t), \\
        P(r_t = 1, z_{1:t}) &= H\, \pi_0(z_t) \textstyle\sum_r P(r_{t-1} = r, z_{1:t-1}),

    where :math:`\pi_r` is the Student-t posterior predictive of a run of ``r``
    observations (:math:`2\alpha_r` degrees of freedom, location :math:`\mu_r`, squared
    scale :math:`\beta_r (\kappa_r + 1) / (\alpha_r \kappa_r)`) and :math:`\pi_0` that of
    the prior. Here a new segment begins *with* ``z_t`` (its predictive is the prior's), so
    ``P(r_t = 1 | z_{1:t})`` is the posterior probability of a change at session t.

    Session t is a central rupture session when that probability exceeds ``threshold``
    and ``z_t`` lies below the posterior predictive mean of the segment before it (a drop,
    not a rise). Missing sessions are skipped (no observation, no change opportunity), and
    a series' first observed session cannot be a change. Repair follows the
    lower-half-median rule.

    Parameters
    ----------
    hazard : float, default=0.05
        ``H``, the prior probability of a change before each observed session, in (0, 1)
        (``1 / H`` is the expected segment length).
    threshold : float, default=0.1
        Posterior probability of a change above which a drop is flagged, in [0, 1). One
        session rarely carries the evidence for 0.5 online; 0.1 with the default hazard is
        a Bayes factor of about 2 in favour of a change.
    sd : float or None, default=None
        ``s``: None learns the within-series pooled SD of the training series in ``fit``.
    prior_kappa : float, default=0.25
        :math:`\kappa_0` (positive): a segment mean has prior SD
        :math:`\sigma / \sqrt{\kappa_0}`, two segment SDs by default, so that drops of two
        or three SDs are plausible new levels.
    prior_alpha, prior_beta : float, default=2.0
        :math:`\alpha_0, \beta_0` (positive) of the segment precision in units of
        ``s**-2``: the defaults give it prior mean 1 (the segment SD near ``s``) and a
        prior predictive with 4 degrees of freedom.

    Attributes
    ----------
    sd_ : float
        The SD ``s`` (NaN, with a warning, when it cannot be learned: nothing is then
        flagged).
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    Notes
    -----
    The decision is online: the probability of a change at session t uses the sessions up
    to t only. Centring on the series mean makes the prior location data-dependent
    (empirical Bayes), as the Shewhart chart's centre line is.

    References
    ----------
    .. [1] Adams, R. P., & MacKay, D. J. C. (2007). Bayesian online changepoint
       detection. arXiv:0710.3742.
    .. [2] Murphy, K. P. (2007). Conjugate Bayesian analysis of the Gaussian distribution
       (technical note), section 3.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.bocpd import BOCPDDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 40, 34, 35, 34, 33, 35, 34.0]])
    >>> detector = BOCPDDetector(sd=1.0).fit(X)
    >>> detector.predict(X)
    array([[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "hazard": [Interval(Real, 0, 1, closed="neither")],
        "threshold": [Interval(Real, 0, 1, closed="left")],
        "sd": [Interval(Real, 0, None, closed="neither"), None],
        "prior_kappa": [Interval(Real, 0, None, closed="neither")],
        "prior_alpha": [Interval(Real, 0, None, closed="neither")],
        "prior_beta": [Interval(Real, 0, None, closed="neither")],
    }
    _finite_params = ("hazard", "threshold", "sd", "prior_kappa", "prior_alpha", "prior_beta")

    def __init__(
        self,
        hazard=0.05,
        threshold=0.1,
        sd=None,
        prior_kappa=0.25,
        prior_alpha=2.0,
        prior_beta=2.0,
    ):
        self.hazard = hazard
        self.threshold = threshold
        self.sd = sd
        self.prior_kappa = prior_kappa
        self.prior_alpha = prior_alpha
        self.prior_beta = prior_beta

    def _learn(self, X):
        if self.sd is not None:
            self.sd_ = float(self.sd)
            return
        self.sd_, _ = _core.pooled_sd(X, np.ones(X.shape[0], dtype=bool), "within")
        if not self.sd_ > 0:
            warnings.warn(
                f"`sd` could not be learned: the training series give a pooled SD of "
                f"{self.sd_}; nothing will be flagged. Pass sd=<float>.",
                UserWarning,
                stacklevel=4,
            )

    def _standardised(self, block):
        exponents = _core.row_exponents(block)
        block = np.ldexp(block, -exponents[:, None])
        observed = ~np.isnan(block)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(observed, block, 0.0).sum(axis=1) / observed.sum(axis=1)
        sd = np.ldexp(np.full(block.shape[0], self.sd_), -exponents)
        with np.errstate(invalid="ignore", over="ignore"):
            return (block - mean[:, None]) / sd[:, None]

    def _score(self, block):
        if not self.sd_ > 0:
            return np.full(block.shape, -np.inf)
        z = self._standardised(block)
        probability, expected = change_probabilities(
            z,
            float(self.hazard),
            float(self.prior_kappa),
            float(self.prior_alpha),
            float(self.prior_beta),
        )
        drop = z < expected
        return np.where(drop, probability, -np.inf)

    def _central(self, block):
        return self._score(block) > self.threshold

    def decision_function(self, X) -> np.ndarray:
        """Posterior probability of a change at each session where the score drops.

        ``-inf`` where ``z_t`` is not below the predictive mean, at missing sessions and at
        each series' first observed session; ``score > threshold`` is exactly
        :meth:`predict`'s rule.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            ``P(change at t | sessions up to t)`` at drops.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.bocpd import BOCPDDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 40, 34, 35, 34, 33, 35, 34.0]])
        >>> BOCPDDetector(sd=1.0).fit(X).decision_function(X).round(3)[0, 5:8]
        array([0.015, 0.952,  -inf])
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)
