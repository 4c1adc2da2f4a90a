"""Hit rates of rupture detectors against known (simulated) ruptures.

Labels are the int8 arrays of ``predict`` (0 none, 1 repaired, 2 unrepaired, 3 unresolved)
of shape ``(n_series, n_sessions)``; any non-zero label is a central rupture session.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import auc, make_scorer, roc_curve
from sklearn.utils.validation import check_is_fitted

from tukeyrupture._validation import check_bool, check_integer, read_only

__all__ = [
    "RuptureRocCurve",
    "RuptureScores",
    "make_rupture_scorer",
    "rupture_roc_curve",
    "rupture_scores",
]

# Metrics for which a smaller value is better (the scorer negates them).
_LOWER_IS_BETTER = frozenset({"false_positive_rate"})
METRICS = (
    "precision",
    "recall",
    "f1",
    "sensitivity",
    "specificity",
    "false_positive_rate",
    "repair_agreement",
)


@dataclass(frozen=True)
class RuptureScores:
    """Agreement of predicted with true rupture labels (see :func:`rupture_scores`).

    Attributes
    ----------
    precision, recall, f1 : float
        Session level: matched predictions / predictions, matched true ruptures / true
        ruptures, and ``2 * matched / (true + predicted)``.
    sensitivity, specificity : float
        Series level: share of series with a true rupture that have a predicted one, and
        share of series without a true rupture that have none predicted.
    false_positive_rate : float
        Session level: unmatched predictions / sessions that are not true central sessions.
    repair_agreement : float
        Share of matched pairs whose labels (repaired, unrepaired, unresolved) agree.
    n_true, n_predicted, n_matched : int
        Numbers of true ruptures, predicted ruptures and matched pairs.
    n_series, n_series_with_rupture : int
        Number of series, and of series with at least one true rupture.
    tolerance : int
        The matching window in sessions.

    Examples
    --------
    >>> from tukeyrupture.comparison.metrics import rupture_scores
    >>> scores = rupture_scores([[0, 1, 0, 0, 2, 0]], [[0, 1, 0, 0, 0, 0]])
    >>> scores.to_frame()[["precision", "recall", "f1", "n_matched"]].round(3)
       precision  recall     f1  n_matched
    0        1.0     0.5  0.667          1
    """

    precision: float
    recall: float
    f1: float
    sensitivity: float
    specificity: float
    false_positive_rate: float
    repair_agreement: float
    n_true: int
    n_predicted: int
    n_matched: int
    n_series: int
    n_series_with_rupture: int
    tolerance: int = field(default=0)

    def to_dict(self) -> dict:
        """The scores as a plain ``dict`` (field name -> value)."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """A one-row DataFrame with one column per field."""
        return pd.DataFrame([self.to_dict()])


def _check_zero_division(zero_division):
    if isinstance(zero_division, (bool, np.bool_)) or not isinstance(zero_division, Real):
        raise TypeError(
            f"`zero_division` must be a real number (e.g. 0.0 or nan); got {zero_division!r}."
        )
    return float(zero_division)


def _check_labels(name, labels, allow_bool=False):
    try:
        array = np.asarray(labels)
    except ValueError as error:  # ragged lists
        raise ValueError(f"`{name}` must be a rectangular label array; {error}") from None
    if array.dtype.kind == "b" and not allow_bool:
        raise TypeError(
            f"`{name}` must hold the int labels 0..3 of `predict` (or of "
            "SimulatedAlliance.labels), not a boolean mask: repair agreement needs the labels."
        )
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(
            f"`{name}` must be a label array of shape (n_series, n_sessions); got "
            f"{array.ndim} dimensions."
        )
    if array.dtype.kind not in "iub":
        if array.dtype.kind != "f" or not np.all(np.isin(array, (0, 1, 2, 3))):
            raise TypeError(f"`{name}` must hold integer labels 0..3; got dtype {array.dtype}.")
    bad = (array < 0) | (array > 3)
    if bad.any():
        raise ValueError(f"`{name}` must hold labels 0 (none), 1, 2 or 3; got {array[bad][0]!r}.")
    return array.astype(np.int8, copy=False)


def _rupture_scores_iv(y_true, y_pred, tolerance):
    y_true = _check_labels("y_true", y_true)
    y_pred = _check_labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"`y_true` and `y_pred` must have the same shape; got {y_true.shape} and "
            f"{y_pred.shape}."
        )
    return y_true, y_pred, check_integer("tolerance", tolerance, 0)


def _offsets(tolerance):
    """0, -1, +1, -2, +2, ...: by distance, a prediction before the truth first on ties."""
    yield 0
    for distance in range(1, tolerance + 1):
        yield -distance
        yield distance


def _match_ruptures(y_true, y_pred, tolerance=0):
    """Greedy one-to-one matching of true and predicted ruptures within ``tolerance``.

    Returns ``(n_matched, n_agreeing)``: the number of matched pairs and of pairs whose
    labels are equal. Pairs are taken by increasing distance ``|t_pred - t_true|``
    (prediction before truth first on ties), each rupture at most once, within a series.
    Every offset is one vectorised comparison of shifted columns.
    """
    true_free = y_true != 0
    pred_free = y_pred != 0
    n_sessions = y_true.shape[1]
    n_matched = n_agreeing = 0
    # no two sessions are further than n_sessions - 1 apart: a larger window is the same
    for offset in _offsets(min(tolerance, max(n_sessions - 1, 0))):
        true_cols = slice(max(0, -offset), n_sessions - max(0, offset))
        pred_cols = slice(max(0, offset), n_sessions - max(0, -offset))
        pairs = true_free[:, true_cols] & pred_free[:, pred_cols]
        n_matched += int(np.count_nonzero(pairs))
        n_agreeing += int(np.count_nonzero(pairs & (y_true[:, true_cols] == y_pred[:, pred_cols])))
        true_free[:, true_cols] &= ~pairs
        pred_free[:, pred_cols] &= ~pairs
    return n_matched, n_agreeing


def _ratio(numerator, denominator, zero_division):
    return numerator / denominator if denominator > 0 else float(zero_division)


def rupture_scores(
    y_true, y_pred, tolerance: int = 0, *, zero_division: float = math.nan
) -> RuptureScores:
    """Session- and series-level hit rates of predicted against true rupture labels.

    Parameters
    ----------
    y_true : array-like of int of shape (n_series, n_sessions)
        True labels (e.g. :attr:`SimulatedAlliance.labels
        <tukeyrupture.comparison.simulate.SimulatedAlliance>`); a 1-D array is one series.
    y_pred : array-like of int of shape (n_series, n_sessions)
        Predicted labels (``predict`` of any detector).
    tolerance : int, default=0
        A prediction within ``tolerance`` sessions of a true rupture in the same series
        counts as a hit. Any tolerance of at least ``n_sessions - 1`` means the same:
        the whole series.
    zero_division : float, default=nan
        Value of a ratio whose denominator is 0 (e.g. precision without predictions).

    Returns
    -------
    RuptureScores
        Precision, recall, F1, sensitivity, specificity, false-positive rate, repair
        agreement and the counts behind them; ``to_dict()`` and ``to_frame()`` give them as
        a dict or a one-row DataFrame.

    Raises
    ------
    ValueError
        If the shapes differ, a label is not in 0..3 or ``tolerance`` is negative.
    TypeError
        If the labels are not integers (a boolean mask included), ``tolerance`` is not an
        integer or ``zero_division`` not a number.

    Notes
    -----
    Each true rupture is matched to at most one predicted rupture and vice versa: pairs are
    taken greedily by distance (0 first; at equal distance a prediction before the true
    session first). Series-level sensitivity and specificity ignore positions: a series is
    positive when it holds any rupture. Repair agreement compares the labels (repaired,
    unrepaired, unresolved) of matched pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.metrics import rupture_scores
    >>> y_true = np.array([[0, 0, 1, 0, 0, 2], [0, 0, 0, 0, 0, 0]])
    >>> y_pred = np.array([[0, 0, 0, 1, 0, 3], [0, 1, 0, 0, 0, 0]])
    >>> scores = rupture_scores(y_true, y_pred, tolerance=1)
    >>> round(scores.precision, 3), scores.recall, scores.specificity, scores.repair_agreement
    (0.667, 1.0, 0.0, 0.5)
    >>> round(rupture_scores(y_true, y_pred).f1, 3)
    0.4
    """
    y_true, y_pred, tolerance = _rupture_scores_iv(y_true, y_pred, tolerance)
    zero_division = _check_zero_division(zero_division)
    n_matched, n_agreeing = _match_ruptures(y_true, y_pred, tolerance)
    true_any = (y_true != 0).any(axis=1)
    pred_any = (y_pred != 0).any(axis=1)
    n_true = int(np.count_nonzero(y_true))
    n_predicted = int(np.count_nonzero(y_pred))
    n_series_with_rupture = int(np.count_nonzero(true_any))
    n_series = int(y_true.shape[0])
    return RuptureScores(
        precision=_ratio(n_matched, n_predicted, zero_division),
        recall=_ratio(n_matched, n_true, zero_division),
        f1=_ratio(2 * n_matched, n_true + n_predicted, zero_division),
        sensitivity=_ratio(
            int(np.count_nonzero(true_any & pred_any)), n_series_with_rupture, zero_division
        ),
        specificity=_ratio(
            int(np.count_nonzero(~true_any & ~pred_any)),
            n_series - n_series_with_rupture,
            zero_division,
        ),
        false_positive_rate=_ratio(n_predicted - n_matched, y_true.size - n_true, zero_division),
        repair_agreement=_ratio(n_agreeing, n_matched, zero_division),
        n_true=n_true,
        n_predicted=n_predicted,
        n_matched=n_matched,
        n_series=n_series,
        n_series_with_rupture=n_series_with_rupture,
        tolerance=tolerance,
    )


def _rupture_metric(y_true, y_pred, *, metric, tolerance, zero_division):
    return getattr(rupture_scores(y_true, y_pred, tolerance, zero_division=zero_division), metric)


def make_rupture_scorer(
    metric: str, tolerance: int = 0, *, zero_division: float = 0.0
) -> Callable[..., float]:
    """A scikit-learn scorer from one field of :func:`rupture_scores`.

    Parameters
    ----------
    metric : {"precision", "recall", "f1", "sensitivity", "specificity", \
"false_positive_rate", "repair_agreement"}
        The score. ``false_positive_rate`` is negated (scikit-learn maximises scores).
    tolerance : int, default=0
        Matching window, as in :func:`rupture_scores`.
    zero_division : float, default=0.0
        Value of an undefined ratio (0 keeps model selection away from detectors that
        flag nothing).

    Returns
    -------
    callable
        ``scorer(estimator, X, y_true)`` calling ``estimator.predict(X)``; use it as
        ``scoring=`` in ``GridSearchCV`` or ``cross_val_score`` with ``y`` the 2-D array
        of true labels (the splitters index its rows together with those of ``X``).

    Raises
    ------
    ValueError
        If ``metric`` is unknown (the message lists the valid names) or ``tolerance`` is
        negative.
    TypeError
        If ``metric`` is not a str, ``tolerance`` not an integer or ``zero_division`` not
        a number.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from tukeyrupture.detector import TukeyRuptureDetector
    >>> from tukeyrupture.comparison.metrics import make_rupture_scorer
    >>> from tukeyrupture.comparison.simulate import simulate_alliance
    >>> sim = simulate_alliance(300, 20, depth=3.0, random_state=0)
    >>> search = GridSearchCV(
    ...     TukeyRuptureDetector(absolute_sd_multiplier=None),
    ...     {"iqr_multiplier": [0.5, 1.0, 1.5]},
    ...     scoring=make_rupture_scorer("f1"),
    ... ).fit(sim.X, sim.labels)
    >>> search.best_params_
    {'iqr_multiplier': 0.5}
    """
    if not isinstance(metric, str):
        raise TypeError(f"`metric` must be a str, one of {list(METRICS)}; got {metric!r}.")
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {list(METRICS)}; got {metric!r}.")
    return make_scorer(
        _rupture_metric,
        greater_is_better=metric not in _LOWER_IS_BETTER,
        metric=metric,
        tolerance=check_integer("tolerance", tolerance, 0),
        zero_division=_check_zero_division(zero_division),
    )


@dataclass(frozen=True)
class RuptureRocCurve:
    """ROC curve of session-level rupture detection over the threshold of a score.

    Attributes
    ----------
    fpr, tpr : ndarray of float
        False- and true-positive rates over all sessions (read-only).
    thresholds : ndarray of float
        A session is flagged when ``score >= threshold``. The first threshold is ``+inf``
        (nothing flagged) and a final ``-inf`` flags every session, including those where
        the score cannot apply.
    auc : float
        Area under the curve.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.metrics import RuptureRocCurve
    >>> roc = RuptureRocCurve(fpr=np.array([0.0, 0.5, 1.0]), tpr=np.array([0.0, 1.0, 1.0]),
    ...                       thresholds=np.array([np.inf, 2.0, -np.inf]), auc=0.75)
    >>> roc.to_frame()
       threshold  fpr  tpr
    0        inf  0.0  0.0
    1        2.0  0.5  1.0
    2       -inf  1.0  1.0
    """

    fpr: np.ndarray = field(repr=False)
    tpr: np.ndarray = field(repr=False)
    thresholds: np.ndarray = field(repr=False)
    auc: float

    def __post_init__(self):
        for name in ("fpr", "tpr", "thresholds"):
            object.__setattr__(self, name, read_only(getattr(self, name)))

    def to_frame(self) -> pd.DataFrame:
        """One row per point: ``threshold, fpr, tpr``."""
        return pd.DataFrame({"threshold": self.thresholds, "fpr": self.fpr, "tpr": self.tpr})


def rupture_roc_curve(estimator, X, y_true, *, drop_intermediate: bool = True) -> RuptureRocCurve:
    """ROC curve over the threshold of ``decision_function`` in one call.

    For :class:`~tukeyrupture.detector.TukeyRuptureDetector` the score is the TCC score
    ``(Q1 - x[t]) / IQR`` and ``score > k`` is the TCC criterion with
    ``iqr_multiplier=k``, so the curve runs over ``k`` (the absolute criterion is not part
    of it). The rivals with a ``decision_function`` (``ShewhartDetector``,
    ``ReliableChangeDetector``, ``AbsoluteDropDetector``) work the same way.

    Parameters
    ----------
    estimator : estimator with ``decision_function``
        Used as is when fitted; otherwise a clone is fitted on ``X`` (the estimator given is
        never modified).
    X : array-like of shape (n_series, n_sessions)
        Alliance scores, NaN for missing sessions.
    y_true : array-like of int of shape (n_series, n_sessions)
        True labels; any non-zero label is a true central session.
    drop_intermediate : bool, default=True
        Passed to ``sklearn.metrics.roc_curve``.

    Returns
    -------
    RuptureRocCurve
        ``fpr``, ``tpr``, ``thresholds`` and ``auc``; ``to_frame()`` lists the points.

    Raises
    ------
    TypeError
        If ``estimator`` has no ``decision_function`` or ``drop_intermediate`` is not a
        bool.
    ValueError
        If ``y_true`` does not have the shape of ``X`` or holds labels outside 0..3.

    Notes
    -----
    The scores of all sessions are flattened and passed to ``sklearn.metrics.roc_curve``
    against the mask of true central sessions. ``roc_curve`` rejects infinite scores, so
    ``-inf`` (the criterion cannot apply: session 0, a missing session, an ineligible
    series, a pre-session below the lower-half median) is replaced by a value below every
    finite score and ``+inf`` (IQR = 0 and a value below Q1) by one above; the thresholds
    are mapped back to ``-inf`` and to the largest float. A point with threshold ``tau``
    flags ``score >= tau``; for the strict TCC rule that is ``iqr_multiplier`` just below
    ``tau``. Sessions where the score cannot apply stay in the denominators, so the last
    point before ``-inf`` shows the highest true-positive rate any ``k`` reaches.

    Examples
    --------
    >>> from tukeyrupture.detector import TukeyRuptureDetector
    >>> from tukeyrupture.comparison.metrics import rupture_roc_curve
    >>> from tukeyrupture.comparison.simulate import simulate_alliance
    >>> sim = simulate_alliance(500, 20, depth=3.0, random_state=0)
    >>> roc = rupture_roc_curve(TukeyRuptureDetector(), sim.X, sim.labels)
    >>> round(roc.auc, 3)
    0.774
    >>> roc.to_frame().head(3).round(3)
       threshold  fpr    tpr
    0        inf  0.0  0.000
    1      5.737  0.0  0.002
    2      4.935  0.0  0.002
    """
    drop_intermediate = check_bool("drop_intermediate", drop_intermediate)
    if not hasattr(estimator, "decision_function"):
        raise TypeError(
            f"`estimator` must have a decision_function (e.g. TukeyRuptureDetector); got "
            f"{type(estimator).__name__}."
        )
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        estimator = clone(estimator).fit(X)
    score = np.asarray(estimator.decision_function(X), dtype=np.float64)
    truth = _check_labels("y_true", y_true, allow_bool=True)
    if truth.shape != score.shape:
        raise ValueError(f"`y_true` must have the shape of X, {score.shape}; got {truth.shape}.")
    score = score.ravel()
    finite = score[np.isfinite(score)]
    low = (finite.min() if finite.size else 0.0) - 1.0
    high = (finite.max() if finite.size else 0.0) + 1.0
    score = np.where(score == -np.inf, low, np.where(score == np.inf, high, score))
    fpr, tpr, thresholds = roc_curve(
        (truth != 0).ravel(), score, drop_intermediate=drop_intermediate
    )
    thresholds = np.where(thresholds == low, -np.inf, thresholds)
    thresholds = np.where(thresholds == high, np.finfo(np.float64).max, thresholds)
    return RuptureRocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds, auc=float(auc(fpr, tpr)))
