"""Result containers of the rupture detector."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd

from tukeyrupture import _core
from tukeyrupture._validation import read_only


class RuptureLabel(IntEnum):
    """Label of one session in the output of ``TukeyRuptureDetector.predict``.

    Examples
    --------
    >>> from tukeyrupture import RuptureLabel
    >>> RuptureLabel(2).name
    'UNREPAIRED'
    """

    NO_RUPTURE = _core.NO_RUPTURE
    REPAIRED = _core.REPAIRED
    UNREPAIRED = _core.UNREPAIRED
    UNRESOLVED = _core.UNRESOLVED


_REPAIR_NAMES = np.array(_core.LABEL_NAMES)


@dataclass(frozen=True)
class RuptureResult:
    """Everything the detector computed for a batch of series.

    Session-level arrays have shape ``(n_series, n_sessions)``; series-level arrays have
    shape ``(n_series,)``. All arrays are read-only.

    Attributes
    ----------
    labels : ndarray of int8
        :class:`RuptureLabel` per session.
    tcc, absolute : ndarray of bool
        Sessions meeting the TCC criterion and the absolute criterion.
    eligible : ndarray of bool
        Series with enough consecutive observed sessions to be analysed.
    median, q1, q3, iqr, lower_control_limit, upper_control_limit, lower_half_median : ndarray
        Per-series chart statistics (NaN for a series with no observed value).
    score : ndarray of float
        The TCC score of ``TukeyRuptureDetector.decision_function``.
    drop : ndarray of float
        ``x[t-1] - x[t]`` (NaN where undefined).
    series_labels, session_labels : ndarray
        Labels of the rows and columns (a DataFrame's index and columns; otherwise
        ``0 .. n_series - 1`` and the 1-based session numbers).
    """

    labels: np.ndarray = field(repr=False)
    tcc: np.ndarray = field(repr=False)
    absolute: np.ndarray = field(repr=False)
    eligible: np.ndarray = field(repr=False)
    median: np.ndarray = field(repr=False)
    q1: np.ndarray = field(repr=False)
    q3: np.ndarray = field(repr=False)
    iqr: np.ndarray = field(repr=False)
    lower_control_limit: np.ndarray = field(repr=False)
    upper_control_limit: np.ndarray = field(repr=False)
    lower_half_median: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    drop: np.ndarray = field(repr=False)
    series_labels: np.ndarray = field(repr=False)
    session_labels: np.ndarray = field(repr=False)

    def __post_init__(self):
        for name, value in vars(self).items():
            object.__setattr__(self, name, read_only(value))

    @property
    def n_series(self) -> int:
        """Number of series (rows)."""
        return int(self.labels.shape[0])

    @property
    def n_eligible(self) -> int:
        """Number of series long enough to be analysed."""
        return int(np.count_nonzero(self.eligible))

    @property
    def n_ruptures(self) -> int:
        """Number of central rupture sessions over all series."""
        return int(np.count_nonzero(self.labels))

    def __repr__(self) -> str:
        return (
            f"RuptureResult(n_series={self.n_series}, n_eligible={self.n_eligible}, "
            f"n_ruptures={self.n_ruptures})"
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per rupture (central session), in series then session order.

        Returns
        -------
        DataFrame
            Columns ``series, pre_session, central_session, post_session, repair,
            criterion, drop, score``. Sessions are given by their labels; a central
            session in the last column has a missing ``post_session``.

        Examples
        --------
        >>> import numpy as np
        >>> from tukeyrupture import TukeyRuptureDetector
        >>> x = np.array([[5, 6, 6, 5, 6, 2, 6, 5, 6, 5.0]])
        >>> detector = TukeyRuptureDetector(absolute_sd_multiplier=None).fit(x)
        >>> frame = detector.detect(x).to_frame()
        >>> frame[["series", "pre_session", "central_session", "post_session"]]
           series  pre_session  central_session  post_session
        0       0            5                6             7
        >>> frame[["repair", "criterion", "drop", "score"]]
             repair criterion  drop  score
        0  repaired       tcc   4.0    3.0
        """
        series_index, session_index = np.nonzero(self.labels)
        sessions = np.asarray(self.session_labels, dtype=object)
        n_sessions = sessions.shape[0]
        has_post = session_index + 1 < n_sessions
        post = np.full(series_index.shape, None, dtype=object)
        post[has_post] = sessions[session_index[has_post] + 1]
        tcc = self.tcc[series_index, session_index]
        absolute = self.absolute[series_index, session_index]
        criterion = np.where(tcc & absolute, "both", np.where(tcc, "tcc", "absolute"))
        frame = pd.DataFrame(
            {
                "series": np.asarray(self.series_labels, dtype=object)[series_index],
                "pre_session": sessions[session_index - 1],
                "central_session": sessions[session_index],
                "post_session": post,
                "repair": _REPAIR_NAMES[self.labels[series_index, session_index]],
                "criterion": criterion,
                "drop": self.drop[series_index, session_index],
                "score": self.score[series_index, session_index],
            }
        )
        for column in ("series", "pre_session", "central_session", "post_session"):
            frame[column] = _tidy_labels(frame[column])
        return frame


def _tidy_labels(column: pd.Series) -> pd.Series:
    """Give an object column of labels a numeric dtype when every label is an integer."""
    values = column.dropna()
    if values.empty or not all(isinstance(v, (int, np.integer)) for v in values):
        return column
    if values.size == column.size:
        return column.astype("int64")
    return column.astype("Int64")
