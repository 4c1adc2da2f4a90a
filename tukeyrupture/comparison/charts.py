"""Control charts with memory: the EWMA chart and the lower one-sided CUSUM.

Both charts standardise each series by its own baseline (the mean ``mu0`` and standard
deviation ``sigma`` of its first observed sessions), run a recursion over the sessions for
all series at once (a loop over sessions, none over series) and flag one session per
*excursion* of the chart statistic to the low side: the session at which the excursion
began, which is the classical estimate of when the process changed (Page's "last zero" of
the CUSUM, Nishina's last crossing of the centre line for the EWMA). The excursion is
flagged when its peak passes the control limit, so the score of a session is the peak of
the excursion that begins there and ``decision_function(X) > limit`` is exactly ``predict``
for every limit. Missing sessions are skipped: the recursion runs over the observed
sessions in order, and an excursion continues across a gap.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from tukeyrupture import _core
from tukeyrupture.comparison.rivals import _RivalDetector

__all__ = ["CUSUMDetector", "EWMADetector"]

_SD_CONSTRAINT = [StrOptions({"baseline", "pooled"}), Interval(Real, 0, None, closed="neither")]
_BASELINE_CONSTRAINT = [Interval(Integral, 2, None, closed="left"), None]


def baseline_moments(block, n_baseline):
    """Mean and SD (ddof=1) of the first ``n_baseline`` observed sessions of each row.

    ``n_baseline=None`` uses every observed session. Rows with fewer than two baseline
    values get a NaN SD (one value) or NaN mean and SD (none).
    """
    observed = ~np.isnan(block)
    baseline = observed
    if n_baseline is not None:
        baseline = observed & (np.cumsum(observed, axis=1) <= n_baseline)
    count = baseline.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(baseline, block, 0.0).sum(axis=1) / count
        deviation = np.where(baseline, block - mean[:, None], 0.0)
        sd = np.sqrt(np.einsum("ij,ij->i", deviation, deviation) / (count - 1))
    return mean, np.where(count >= 2, sd, np.nan)


def excursion_scores(statistic, inside):
    """Peak of ``statistic`` over each excursion, at the session where the excursion begins.

    ``inside`` marks the observed sessions at which the chart is on the low side; an
    excursion is a maximal run of such sessions, missing sessions (NaN ``statistic``)
    neither ending nor joining it. Every other session, and session 0, scores ``-inf``.
    """
    n_rows, n_cols = statistic.shape
    observed = ~np.isnan(statistic)
    starts = np.zeros((n_rows, n_cols), dtype=bool)
    previous = np.zeros(n_rows, dtype=bool)
    for t in range(n_cols):
        starts[:, t] = inside[:, t] & ~previous
        previous = np.where(observed[:, t], inside[:, t], previous)
    peak = np.full((n_rows, n_cols), -np.inf)
    carry = np.full(n_rows, -np.inf)
    for t in range(n_cols - 1, -1, -1):
        current = np.where(inside[:, t], np.fmax(statistic[:, t], carry), -np.inf)
        peak[:, t] = current
        carry = np.where(observed[:, t], current, carry)
    score = np.where(starts, peak, -np.inf)
    score[:, :1] = -np.inf
    return score


class _ChartDetector(_RivalDetector):
    """Baseline standardisation shared by the EWMA and CUSUM charts.

    Subclasses implement ``_chart(deviation, sigma)`` returning the chart statistic (NaN
    at missing sessions) and the mask of sessions on the low side, from the deviations
    ``mu0 - x`` and the per-series ``sigma``; ``_limit`` names the control-limit parameter.
    """

    _limit: str = ""

    def _learn(self, X):
        if not isinstance(self.sd, str):
            self.sd_ = float(self.sd)
        elif self.sd == "baseline":
            self.sd_ = math.nan
        else:
            self.sd_, dof = _core.pooled_sd(X, np.ones(X.shape[0], dtype=bool), "within")
            if dof == 0:
                warnings.warn(
                    "`sd='pooled'` could not be learned: the training series give no degrees "
                    "of freedom; sd_ is NaN and nothing will be flagged. Pass sd=<float>.",
                    UserWarning,
                    stacklevel=4,
                )

    def _score(self, block):
        # a power of two per row brings |x| below 1 (exact): no square or sum can overflow
        exponents = _core.row_exponents(block)
        block = np.ldexp(block, -exponents[:, None])
        mean, sigma = baseline_moments(block, self.n_baseline)
        if self.sd != "baseline":
            sigma = np.ldexp(np.full(block.shape[0], self.sd_), -exponents)
        # no limits without a positive sigma: such series are never flagged
        sigma = np.where(sigma > 0, sigma, np.nan)
        statistic, inside = self._chart(mean[:, None] - block, sigma)
        score = excursion_scores(statistic, inside)
        score[np.isnan(sigma)] = -np.inf
        return score

    def _central(self, block):
        return self._score(block) > getattr(self, self._limit)

    def decision_function(self, X) -> np.ndarray:
        """Peak of the low-side excursion that begins at each session (``-inf`` elsewhere).

        ``score > limit`` (``n_sigma`` of the EWMA chart, ``h`` of the CUSUM) is exactly
        the rule of :meth:`predict`, so sweeping a threshold over the score sweeps the
        chart's control limit. Session 0, missing sessions, sessions inside an excursion
        and series without a positive sigma score ``-inf``.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray of float, shape (n_series, n_sessions)
            The excursion peaks in the chart's units (EWMA: standard errors of the EWMA;
            CUSUM: baseline SDs).

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture.comparison.charts import CUSUMDetector
        >>> X = np.array([[40, 41, 40, 42, 41, 42, 33, 41, 42, 34, 33, 34.0]])
        >>> CUSUMDetector().fit(X).decision_function(X).round(2)
        array([[ -inf,  -inf,  0.46,  -inf,  -inf,  -inf, 30.23,  -inf,  -inf,  -inf,  -inf,
                 -inf]])
        """
        X = self._check_X(X)
        return self._by_chunks(X, self._score, np.float64)


class EWMADetector(_ChartDetector):
    r"""Lower one-sided EWMA control chart (Roberts 1959) with limits from a baseline.

    Per series, ``mu0`` and ``sigma`` are the mean and standard deviation (ddof=1) of the
    first ``n_baseline`` observed sessions. Over the observed sessions ``x_1, x_2, ...``
    (missing sessions skipped) the chart runs

    .. math::

        z_j = \lambda x_j + (1 - \lambda) z_{j-1}, \qquad z_0 = \mu_0,

    with the exact standard error of ``z_j`` after ``j`` observations,

    .. math::

        \sigma_{z,j} = \sigma \sqrt{\frac{\lambda}{2 - \lambda}
        \left[1 - (1 - \lambda)^{2j}\right]},

    and is out of control when ``z_j < mu0 - L * sigma_{z,j}``, i.e. when the standardised
    statistic ``w_j = (mu0 - z_j) / sigma_{z,j}`` exceeds ``L``. An excursion is a run of
    observed sessions with ``z_j < mu0``; when its peak ``w`` exceeds ``L``, the session at
    which it began (the last crossing of the centre line, Nishina's estimate of the change
    point) is the central rupture session. Repair follows the lower-half-median rule.

    Parameters
    ----------
    lam : float, default=0.2
        Smoothing weight ``lambda`` in (0, 1]; 1 gives the Shewhart chart of the baseline.
    n_sigma : float, default=3.0
        Width ``L`` of the lower control limit, in standard errors of the EWMA.
    n_baseline : int or None, default=5
        Number of first observed sessions that estimate ``mu0`` and ``sigma`` (at least 2);
        None uses all observed sessions (a retrospective, Phase I chart).
    sd : {"baseline", "pooled"} or float, default="baseline"
        ``sigma``: the baseline SD of each series, the within-series pooled SD of the
        training series (learned in ``fit``), or a known positive value.

    Attributes
    ----------
    sd_ : float
        The pooled or given ``sigma`` (NaN with ``sd="baseline"``).
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    See Also
    --------
    CUSUMDetector : Page's lower one-sided CUSUM.
    tukeyrupture.comparison.rivals.ShewhartDetector : The chart without memory.

    Notes
    -----
    Series with fewer than two observed sessions, or whose baseline does not vary
    (``sigma = 0``), have no control limits and are never flagged. A rupture inside the
    baseline lowers ``mu0`` and inflates ``sigma``, the price of limits estimated from the
    series itself. The flagged session is an estimate: an excursion begins before the
    drop when the EWMA was already a little below ``mu0``, and with a small ``lambda`` the
    EWMA may cross the centre line only a session or two after it. An excursion that
    begins at session 0 cannot be flagged (no rival flags session 0), and a second drop
    during an ongoing excursion is not flagged separately (in the example below, the drop
    at session 9 falls in the excursion that began at session 6).

    References
    ----------
    .. [1] Roberts, S. W. (1959). Control chart tests based on geometric moving averages.
       *Technometrics*, 1(3), 239-250.
    .. [2] Lucas, J. M., & Saccucci, M. S. (1990). Exponentially weighted moving average
       control schemes: Properties and enhancements. *Technometrics*, 32(1), 1-12.
    .. [3] Nishina, K. (1992). A comparison of control charts from the viewpoint of
       change-point estimation. *Quality and Reliability Engineering International*, 8(6),
       537-541.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.charts import EWMADetector
    >>> X = np.array([[40, 41, 40, 42, 41, 42, 33, 41, 42, 34, 33, 34.0]])
    >>> EWMADetector().fit(X).predict(X)
    array([[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "lam": [Interval(Real, 0, 1, closed="right")],
        "n_sigma": [Interval(Real, 0, None, closed="left")],
        "n_baseline": _BASELINE_CONSTRAINT,
        "sd": _SD_CONSTRAINT,
    }
    _finite_params = ("lam", "n_sigma", "n_baseline", "sd")
    _limit = "n_sigma"

    def __init__(self, lam=0.2, n_sigma=3.0, n_baseline=5, sd="baseline"):
        self.lam = lam
        self.n_sigma = n_sigma
        self.n_baseline = n_baseline
        self.sd = sd

    def _chart(self, deviation, sigma):
        lam = float(self.lam)
        n_rows, n_cols = deviation.shape
        statistic = np.full((n_rows, n_cols), np.nan)
        ewma = np.zeros(n_rows)  # z - mu0 as mu0 - z, in the units of X
        count = np.zeros(n_rows)
        for t in range(n_cols):
            observed = ~np.isnan(deviation[:, t])
            ewma = np.where(observed, lam * deviation[:, t] + (1.0 - lam) * ewma, ewma)
            count += observed
            factor = np.sqrt(lam / (2.0 - lam) * (1.0 - (1.0 - lam) ** (2.0 * count)))
            with np.errstate(divide="ignore", invalid="ignore"):
                statistic[:, t] = np.where(observed, ewma / (sigma * factor), np.nan)
        return statistic, statistic > 0


class CUSUMDetector(_ChartDetector):
    r"""Lower one-sided tabular CUSUM (Page 1954) with ``k`` and ``h`` in SD units.

    Per series, ``mu0`` and ``sigma`` are the mean and standard deviation (ddof=1) of the
    first ``n_baseline`` observed sessions. Over the observed sessions (missing sessions
    skipped) the lower CUSUM accumulates standardised shortfalls beyond the reference
    value ``k``:

    .. math::

        C_j = \max\left(0,\; C_{j-1} + \frac{\mu_0 - x_j}{\sigma} - k\right),
        \qquad C_0 = 0,

    and signals when ``C_j > h``. The chart is not restarted after a signal: an excursion
    is a run of observed sessions with ``C_j > 0``, and when its peak exceeds ``h`` the
    session at which it began (the session after the last zero of ``C``, the classical
    estimate of the change point) is the central rupture session. The statistic does not
    depend on ``h``, so the score (the peak) sweeps ``h`` exactly. Repair follows the
    lower-half-median rule.

    Parameters
    ----------
    k : float, default=0.5
        Reference value (allowance) in SDs; ``k = delta / 2`` is optimal for a shift of
        ``delta`` SDs.
    h : float, default=4.0
        Decision interval in SDs (4 or 5 are the textbook choices with ``k = 0.5``).
    n_baseline : int or None, default=5
        Number of first observed sessions that estimate ``mu0`` and ``sigma`` (at least 2);
        None uses all observed sessions.
    sd : {"baseline", "pooled"} or float, default="baseline"
        ``sigma``: the baseline SD of each series, the within-series pooled SD of the
        training series (learned in ``fit``), or a known positive value.

    Attributes
    ----------
    sd_ : float
        The pooled or given ``sigma`` (NaN with ``sd="baseline"``).
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    See Also
    --------
    EWMADetector : The EWMA chart.

    Notes
    -----
    As for :class:`EWMADetector`: series without a positive ``sigma`` are never flagged,
    an excursion that begins at session 0 cannot be flagged, and a second drop during an
    ongoing excursion is not flagged separately.

    References
    ----------
    .. [1] Page, E. S. (1954). Continuous inspection schemes. *Biometrika*, 41(1/2),
       100-115.
    .. [2] Montgomery, D. C. (2009). *Introduction to Statistical Quality Control* (6th
       ed.), section 9.1. Wiley.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.charts import CUSUMDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 42, 33, 41, 42, 34, 33, 34.0]])
    >>> CUSUMDetector(k=0.5, h=4.0).fit(X).predict(X)
    array([[0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "k": [Interval(Real, 0, None, closed="left")],
        "h": [Interval(Real, 0, None, closed="left")],
        "n_baseline": _BASELINE_CONSTRAINT,
        "sd": _SD_CONSTRAINT,
    }
    _finite_params = ("k", "h", "n_baseline", "sd")
    _limit = "h"

    def __init__(self, k=0.5, h=4.0, n_baseline=5, sd="baseline"):
        self.k = k
        self.h = h
        self.n_baseline = n_baseline
        self.sd = sd

    def _chart(self, deviation, sigma):
        k = float(self.k)
        n_rows, n_cols = deviation.shape
        statistic = np.full((n_rows, n_cols), np.nan)
        cusum = np.zeros(n_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            shortfall = deviation / sigma[:, None] - k
        for t in range(n_cols):
            observed = ~np.isnan(shortfall[:, t])
            cusum = np.where(observed, np.maximum(0.0, cusum + shortfall[:, t]), cusum)
            statistic[:, t] = np.where(observed, cusum, np.nan)
        return statistic, statistic > 0
