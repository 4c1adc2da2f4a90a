"""The scikit-learn estimator for Tukey's control-chart rupture rule."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted

from tukeyrupture import _core
from tukeyrupture._validation import SeriesInput, is_dask_array, row_and_column_labels
from tukeyrupture.results import RuptureResult

FEATURE_NAMES = (
    "n_ruptures",
    "n_repaired",
    "n_unrepaired",
    "n_unresolved",
    "has_rupture",
    "first_rupture_session",
    "eligible",
)


def rupture_features(labels, eligible):
    """Per-series features of :meth:`TukeyRuptureDetector.transform` from labels.

    Counts, ``has_rupture`` and ``first_rupture_session`` (1-based position) are NaN for
    an ineligible series; ``first_rupture_session`` is also NaN without a rupture.
    """
    features = np.empty((labels.shape[0], len(FEATURE_NAMES)))
    is_rupture = labels != _core.NO_RUPTURE
    features[:, 0] = np.count_nonzero(is_rupture, axis=1)
    for column, label in enumerate((_core.REPAIRED, _core.UNREPAIRED, _core.UNRESOLVED), 1):
        features[:, column] = np.count_nonzero(labels == label, axis=1)
    features[:, 4] = features[:, 0] > 0
    first = np.argmax(is_rupture, axis=1) + 1.0
    features[:, 5] = np.where(features[:, 4] > 0, first, np.nan)
    features[:, :6][~eligible] = np.nan
    features[:, 6] = eligible
    return features


class TukeyRuptureDetector(SeriesInput, TransformerMixin, BaseEstimator):
    """Alliance-rupture detection with Tukey's control charts.

    Each row of ``X`` is one person's alliance series (columns = sessions, NaN = missing).
    A session t is a central rupture session when the series is eligible and either

    * the TCC criterion holds: ``x[t] < Q1 - k * IQR`` and ``x[t-1] > LHM``, or
    * the absolute criterion holds: ``x[t-1] - x[t] >= c * s`` (a decrease),

    with Q1, IQR and the lower-half median LHM of the series' observed values, ``k =
    iqr_multiplier``, ``c = absolute_sd_multiplier`` and ``s`` the pooled standard
    deviation. The rupture is repaired when ``x[t+1] >= LHM``, unrepaired when below, and
    unresolved when ``x[t+1]`` is missing or t is the last session.

    Parameters
    ----------
    iqr_multiplier : float, default=1.0
        ``k`` of the control limits ``Q1 - k * IQR`` and ``Q3 + k * IQR``. The study used
        1.0; Tukey's classical fence is 1.5.
    quartile_method : {"tukey"} or a ``numpy.quantile`` method, default="tukey"
        How Q1 and Q3 are computed: Tukey's hinges (medians of the inclusive halves) or
        ``numpy.quantile(..., method=quartile_method)`` on the observed values.
    lower_half : {"inclusive", "exclusive"}, default="inclusive"
        The lower half of ``n`` sorted values is the smallest ``ceil(n / 2)`` values
        (inclusive: the median belongs to it when ``n`` is odd) or ``floor(n / 2)``.
    absolute_sd_multiplier : float or None, default=2.0
        ``c`` of the absolute criterion; None switches it off. The study used 2.0.
    pooled_sd : {"within", "total"}, float or None, default=None
        The SD ``s`` of the absolute criterion. None or ``"within"`` learns the
        within-series pooled SD of the eligible training series, ``"total"`` the SD of all
        their observed values; a float is used as is.
    min_consecutive : int, default=7
        A series is analysed only with at least this many consecutive observed sessions.

    Attributes
    ----------
    pooled_sd_ : float
        The SD used by the absolute criterion (NaN when it is off, or when the training
        data have no eligible series: then ``predict`` raises for eligible series).
    n_features_in_ : int
        Number of sessions seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame given to ``fit`` (when they are all strings).

    See Also
    --------
    tukeyrupture.RuptureResult : What :meth:`detect` returns.

    Notes
    -----
    ``decision_function`` returns the TCC score ``(Q1 - x[t]) / IQR`` so that
    ``decision_function(X) > k`` is the TCC criterion for every ``k``; ROC curves over
    ``k`` are one call: :func:`tukeyrupture.comparison.metrics.rupture_roc_curve`, or
    ``sklearn.metrics.roc_curve`` on the scores with the infinities clipped to the float
    range (``np.nan_to_num(score, posinf=f.max, neginf=f.min)`` with
    ``f = np.finfo(float)``), which keeps their order.

    A decrease is required for the absolute criterion (``x[t-1] - x[t] > 0``), so a
    pooled SD of 0 does not turn equal consecutive sessions into ruptures.

    References
    ----------
    .. [1] Tukey, J. W. (1977). *Exploratory Data Analysis*. Addison-Wesley.
    .. [2] Alemi, F. (2004). Tukey's control chart. *Quality Management in Health Care*,
       13(4), 216-221.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture import TukeyRuptureDetector
    >>> X = np.array([[40, 41, 40, 42, 34, 41, 40, 41, 42, 40.0],
    ...               [38, 39, 38, 37, 39, 38, 30, 31, 38, 39.0]])
    >>> detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X)
    >>> detector.predict(X)
    array([[0, 0, 0, 0, 1, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 2, 0, 0, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "iqr_multiplier": [Interval(Real, 0, None, closed="left")],
        "quartile_method": [StrOptions(set(_core.QUARTILE_METHODS))],
        "lower_half": [StrOptions({"inclusive", "exclusive"})],
        "absolute_sd_multiplier": [Interval(Real, 0, None, closed="left"), None],
        "pooled_sd": [
            StrOptions({"within", "total"}),
            Interval(Real, 0, None, closed="left"),
            None,
        ],
        "min_consecutive": [Interval(Integral, 1, None, closed="left")],
    }

    _dask_input = True
    _finite_params = ("iqr_multiplier", "absolute_sd_multiplier", "pooled_sd", "min_consecutive")

    def __init__(
        self,
        iqr_multiplier=1.0,
        quartile_method="tukey",
        lower_half="inclusive",
        absolute_sd_multiplier=2.0,
        pooled_sd=None,
        min_consecutive=7,
    ):
        self.iqr_multiplier = iqr_multiplier
        self.quartile_method = quartile_method
        self.lower_half = lower_half
        self.absolute_sd_multiplier = absolute_sd_multiplier
        self.pooled_sd = pooled_sd
        self.min_consecutive = min_consecutive

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the pooled SD of the absolute criterion and the number of sessions.

        Parameters
        ----------
        X : array-like or dask array of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.
        y : None
            Ignored.

        Returns
        -------
        self : TukeyRuptureDetector
            The fitted detector.

        Raises
        ------
        TypeError
            If ``X`` does not hold real numbers (complex, boolean, datetime or timedelta
            values, strings, other objects, or DataFrame columns of such dtypes), or a
            parameter has the wrong type; the message names it.
        ValueError
            If ``X`` has the wrong shape, fewer than 2 sessions or infinite values, or a
            parameter is out of range.

        Warns
        -----
        UserWarning
            When the pooled SD cannot be learned because no training series is eligible.
        """
        X = self._check_fit_X(X)
        self.pooled_sd_ = self._learn_pooled_sd(X)
        return self

    def _learn_pooled_sd(self, X):
        if self.absolute_sd_multiplier is None:
            return float("nan")
        if isinstance(self.pooled_sd, Real):
            return float(self.pooled_sd)
        kind = self.pooled_sd or "within"
        if is_dask_array(X):
            from tukeyrupture import _dask

            sd, dof = _dask.pooled_sd(X, self.min_consecutive, kind)
        else:
            sd, dof = _core.pooled_sd(X, _core.eligible_series(X, self.min_consecutive), kind)
        if dof == 0:
            warnings.warn(
                f"`pooled_sd` could not be learned: the training series with at least "
                f"{self.min_consecutive} consecutive observed sessions (min_consecutive) give "
                "no degrees of freedom (none is eligible, or each has one value). pooled_sd_ "
                "is NaN and predict raises for eligible series; pass pooled_sd=<float> or "
                "absolute_sd_multiplier=None.",
                UserWarning,
                stacklevel=4,
            )
        return sd

    def _kernel_options(self):
        return {
            "iqr_multiplier": self.iqr_multiplier,
            "quartile_method": self.quartile_method,
            "lower_half": self.lower_half,
            "min_consecutive": self.min_consecutive,
        }

    def _run(self, X, outputs, needs_absolute=True):
        """Run the kernels on a validated array; refuse when the SD is unknown but needed."""
        multiplier = self.absolute_sd_multiplier if needs_absolute else None
        unknown_sd = multiplier is not None and np.isnan(self.pooled_sd_)
        if unknown_sd:
            outputs = (*outputs, "eligible")
        arrays = _core.detect_arrays(
            X,
            absolute_sd_multiplier=multiplier,
            pooled_sd=self.pooled_sd_,
            outputs=outputs,
            **self._kernel_options(),
        )
        if unknown_sd and arrays["eligible"].any():
            raise ValueError(
                "`pooled_sd` is unknown (pooled_sd_ is NaN: the training data had no eligible "
                "series) but X holds eligible series that the absolute criterion needs it "
                "for; refit on longer series, pass pooled_sd=<float>, or set "
                "absolute_sd_multiplier=None."
            )
        return arrays

    def _dispatch(self, X, method, **map_options):
        """Validate X, then run ``method`` on it (blockwise for a dask array)."""
        X_checked = self._check_X(X)
        if is_dask_array(X_checked):
            from tukeyrupture import _dask

            return _dask.map_rows(X_checked, method, **map_options)
        return method(X_checked)

    def _predict_array(self, X):
        return self._run(X, ("labels",))["labels"]

    def _score_array(self, X):
        return self._run(X, ("score",), needs_absolute=False)["score"]

    def _transform_array(self, X):
        arrays = self._run(X, ("labels", "eligible"))
        return rupture_features(arrays["labels"], arrays["eligible"])

    def predict(self, X):
        """Label every session: 0 none, 1 repaired, 2 unrepaired, 3 unresolved.

        Parameters
        ----------
        X : array-like or dask array of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        labels : ndarray (or dask array) of int8, shape (n_series, n_sessions)
            :class:`~tukeyrupture.RuptureLabel` codes of the central rupture sessions.

        Raises
        ------
        ValueError
            If ``pooled_sd_`` is NaN while the absolute criterion is on and X holds an
            eligible series.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> X = np.array([[6, 6, 7, 6, 7, 3, 4, 6.0]])
        >>> TukeyRuptureDetector(pooled_sd=1.0).fit(X).predict(X)
        array([[0, 0, 0, 0, 0, 2, 0, 0]], dtype=int8)
        """
        return self._dispatch(X, self._predict_array, dtype=np.int8)

    def decision_function(self, X):
        """TCC score ``(Q1 - x[t]) / IQR`` of each session (``-inf`` where it cannot apply).

        The score is finite only where the series is eligible, ``x[t]`` and ``x[t-1]`` are
        observed and ``x[t-1] > LHM``; with IQR = 0 it is ``+inf`` below Q1. Thus
        ``decision_function(X) > k`` is exactly the TCC criterion with ``iqr_multiplier=k``.

        Parameters
        ----------
        X : array-like or dask array of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        score : ndarray (or dask array) of float, shape (n_series, n_sessions)
            The TCC score.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> X = np.array([[5, 6, 6, 5, 6, 2, 6, 5, 6, 5.0]])
        >>> detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(X)
        >>> detector.decision_function(X)
        array([[-inf, -inf,  -1.,   0., -inf,   3., -inf,   0., -inf,   0.]])
        """
        return self._dispatch(X, self._score_array, dtype=np.float64)

    def transform(self, X):
        """Per-series rupture features for pipelines.

        Parameters
        ----------
        X : array-like or dask array of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions.

        Returns
        -------
        features : ndarray (or dask array) of shape (n_series, 7)
            Columns ``n_ruptures, n_repaired, n_unrepaired, n_unresolved, has_rupture,
            first_rupture_session, eligible`` (see :meth:`get_feature_names_out`).
            Counts and ``has_rupture`` are NaN for ineligible series and
            ``first_rupture_session`` (1-based session position) is NaN without a
            rupture.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> X = np.array([[6, 6, 7, 6, 7, 3, 4, 6.0], [6, 6, 7, np.nan, 7, 3, 4, 6.0]])
        >>> TukeyRuptureDetector(pooled_sd=1.0).fit(X).transform(X)
        array([[ 1.,  0.,  1.,  0.,  1.,  6.,  1.],
               [nan, nan, nan, nan, nan, nan,  0.]])
        """
        return self._dispatch(
            X, self._transform_array, dtype=np.float64, n_columns=len(FEATURE_NAMES)
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against the names seen in ``fit``; the output names do not depend on
            them.

        Returns
        -------
        feature_names_out : ndarray of str
            ``n_ruptures, n_repaired, n_unrepaired, n_unresolved, has_rupture,
            first_rupture_session, eligible``.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> TukeyRuptureDetector().fit(np.ones((2, 8))).get_feature_names_out()[:2]
        array(['n_ruptures', 'n_repaired'], dtype=object)
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(FEATURE_NAMES, dtype=object)

    def detect(self, X) -> RuptureResult:
        """Everything the rule computes, as a :class:`~tukeyrupture.RuptureResult`.

        Parameters
        ----------
        X : array-like of shape (n_series, n_sessions)
            Alliance scores, NaN for missing sessions. A DataFrame's index and columns
            label the series and sessions of ``to_frame()``; a dask array is computed.

        Returns
        -------
        result : RuptureResult
            Labels, criterion masks, eligibility, chart statistics per series, scores and
            drops; ``result.to_frame()`` lists the ruptures.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> X = np.array([[6, 6, 7, 6, 7, 3, 4, 6.0]])
        >>> result = TukeyRuptureDetector(pooled_sd=1.0).fit(X).detect(X)
        >>> result.lower_control_limit, result.lower_half_median
        (array([3.5]), array([5.]))
        >>> result.to_frame()[["central_session", "repair", "criterion"]]
           central_session      repair criterion
        0                6  unrepaired      both
        """
        source = X
        if is_dask_array(X):
            X = self._check_X(X).compute()
        X_checked = self._check_X(X)
        arrays = self._run(
            X_checked,
            (
                "labels",
                "tcc",
                "absolute",
                "score",
                "drop",
                "eligible",
                "median",
                "q1",
                "q3",
                "iqr",
                "lower_control_limit",
                "upper_control_limit",
                "lower_half_median",
            ),
        )
        series_labels, session_labels = row_and_column_labels(
            source if not is_dask_array(source) else X_checked, *X_checked.shape
        )
        return RuptureResult(
            labels=arrays["labels"],
            tcc=arrays["tcc"],
            absolute=arrays["absolute"],
            eligible=arrays["eligible"],
            median=arrays["median"],
            q1=arrays["q1"],
            q3=arrays["q3"],
            iqr=arrays["iqr"],
            lower_control_limit=arrays["lower_control_limit"],
            upper_control_limit=arrays["upper_control_limit"],
            lower_half_median=arrays["lower_half_median"],
            score=arrays["score"],
            drop=arrays["drop"],
            series_labels=series_labels,
            session_labels=session_labels,
        )
