"""The partitioning family: offline segmentations of the ``ruptures`` package (extra
``rivals``) with the ``predict`` contract of ``TukeyRuptureDetector``."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from tukeyrupture import _core
from tukeyrupture._validation import check_numeric_input
from tukeyrupture.comparison.rivals import _pooled_sd_or_warn, _RivalDetector

__all__ = ["RupturesDetector"]


def _import_ruptures():
    try:
        import ruptures
    except ImportError as error:
        raise ImportError(
            "RupturesDetector needs the optional package `ruptures`; install it with "
            "`pip install 'tukeyrupture[rivals]'`."
        ) from error
    return ruptures


_RUPTURES_ALGORITHMS = {"pelt": "Pelt", "binseg": "Binseg", "window": "Window"}


class RupturesDetector(_RivalDetector):
    """Adapter to the ``ruptures`` change-point package: flags changes where the level drops.

    Each series' observed values (missing sessions removed) are segmented by
    ``ruptures.Pelt``, ``ruptures.Binseg`` or ``ruptures.Window`` with cost ``model`` and
    ``predict(pen=penalty)``. A change point whose segment after has a lower mean than the
    segment before is a central rupture session (the first session of the lower segment,
    mapped back to its position in ``X``). Repair follows the lower-half-median rule, like
    every detector here. This detector loops over series (``ruptures`` segments one signal
    at a time), so it is far slower than the vectorised ones.

    Parameters
    ----------
    algorithm : {"pelt", "binseg", "window"}, default="pelt"
        The search method.
    model : {"l2", "l1", "rbf"}, default="l2"
        The segment cost of ``ruptures``.
    penalty : float or None, default=None
        Penalty per change point. None (only with ``model="l2"``) uses the BIC-type
        ``2 * s**2 * log(n)`` with ``n`` the series' number of observed sessions and ``s``
        the within-series pooled SD learned in ``fit``.
    min_size : int, default=1
        Minimum segment length; 1 lets a one-session dip (a repaired rupture) be a segment.
    width : int, default=4
        Window length of ``algorithm="window"`` (ignored otherwise).
    jump : int, default=1
        Subsampling of candidate change points (``ruptures`` defaults to 5; 1 considers every
        session).

    Attributes
    ----------
    sd_ : float
        The pooled SD behind the default penalty (NaN when ``penalty`` is given).
    n_features_in_ : int
        Number of sessions seen in ``fit``.

    Notes
    -----
    A series too short for the search (``ruptures`` raises ``BadSegmentationParameters``)
    gets no change points.

    References
    ----------
    .. [1] Truong, C., Oudre, L., & Vayatis, N. (2020). Selective review of offline change
       point detection methods. *Signal Processing*, 167, 107299.

    Examples
    --------
    >>> import numpy as np
    >>> from tukeyrupture.comparison.partitioning import RupturesDetector
    >>> X = np.array([[40, 41, 40, 42, 41, 40, 41, 40, 33, 32.0]])
    >>> detector = RupturesDetector(penalty=10.0).fit(X)
    >>> detector.change_points(X[0])
    [8, 10]
    >>> detector.predict(X)
    array([[0, 0, 0, 0, 0, 0, 0, 0, 2, 0]], dtype=int8)
    """

    _parameter_constraints: dict = {
        "algorithm": [StrOptions(set(_RUPTURES_ALGORITHMS))],
        "model": [StrOptions({"l2", "l1", "rbf"})],
        "penalty": [Interval(Real, 0, None, closed="left"), None],
        "min_size": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 2, None, closed="left")],
        "jump": [Interval(Integral, 1, None, closed="left")],
    }
    _finite_params = ("penalty", "min_size", "width", "jump")

    def __init__(self, algorithm="pelt", model="l2", penalty=None, min_size=1, width=4, jump=1):
        self.algorithm = algorithm
        self.model = model
        self.penalty = penalty
        self.min_size = min_size
        self.width = width
        self.jump = jump

    def _learn(self, X):
        _import_ruptures()
        if self.penalty is not None:
            self.sd_ = float("nan")
            return
        if self.model != "l2":
            raise ValueError(
                f"`penalty` must be given for model={self.model!r}; the default penalty "
                "(None) is defined for model='l2' only."
            )
        everything = np.ones(X.shape[0], dtype=bool)
        self.sd_ = _pooled_sd_or_warn(X, everything, "within", "sd", "the training series")

    def _search(self, ruptures):
        options = {"model": self.model, "min_size": self.min_size, "jump": self.jump}
        if self.algorithm == "window":
            options["width"] = self.width
        return getattr(ruptures, _RUPTURES_ALGORITHMS[self.algorithm])(**options)

    def _unit_exponent(self, values):
        """``E`` such that the search runs on ``values / 2**E``.

        The default penalty ``2 s**2 log(n)`` scales with the square of the data, so the
        search gives the same change points in units of a power of two near ``s``, where
        the squares of the cost cannot overflow or underflow (values far above ``s`` set a
        larger unit). A given penalty is in the data's own units: no rescaling.
        """
        if self.penalty is not None or not 0 < self.sd_ < math.inf:
            return 0
        largest = int(_core.row_exponents(values[None, :])[0])
        return max(math.frexp(self.sd_)[1], largest - 500)

    def _penalty(self, n_observed, exponent=0):
        """The penalty in the units ``2**exponent`` of the search."""
        if self.penalty is not None:
            return float(self.penalty)
        sd = math.ldexp(self.sd_, -exponent) if math.isfinite(self.sd_) else self.sd_
        return 2.0 * sd**2 * math.log(n_observed)

    def change_points(self, x) -> list[int]:
        """Breakpoints of one series' observed values, as ``ruptures`` returns them.

        Parameters
        ----------
        x : array-like of shape (n_sessions,)
            One series; missing sessions (NaN) are removed first.

        Returns
        -------
        list of int
            End indices of the segments in the observed values (the last is their count);
            ``[n]`` when there is no change or the series is too short.
        """
        check_is_fitted(self)
        ruptures = _import_ruptures()
        values = check_numeric_input(x, name="x").astype(np.float64)
        if values.ndim != 1:
            raise ValueError(f"`x` must be one series (1-D); got shape {values.shape}.")
        values = values[~np.isnan(values)]
        if np.isinf(values).any():
            raise ValueError("`x` must hold finite numbers or NaN; got infinity.")
        exponent = self._unit_exponent(values)
        values = np.ldexp(values, -exponent)
        n = values.shape[0]
        penalty = self._penalty(n, exponent) if n > 1 else float("nan")
        if n < 2 or math.isnan(penalty):
            return [n]
        try:
            breakpoints = self._search(ruptures).fit(values).predict(pen=penalty)
        except ruptures.exceptions.BadSegmentationParameters:
            return [n]
        return [int(b) for b in breakpoints]

    def _central(self, block):
        central = np.zeros(block.shape, dtype=bool)
        for row, x in enumerate(block):
            positions = np.flatnonzero(~np.isnan(x))
            values = x[positions]
            bounds = [0, *self.change_points(values)]
            # segment means compared on values scaled below 1, so their sums cannot overflow
            values = np.ldexp(values, -_core.row_exponents(values[None, :])[0])
            for start, cut, end in zip(bounds[:-2], bounds[1:-1], bounds[2:]):
                if values[cut:end].mean() < values[start:cut].mean():
                    central[row, positions[cut]] = True
        return central
