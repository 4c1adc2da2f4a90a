"""Bundled demo data, read from the package's ``_data`` folder.

Every loader returns a new pandas DataFrame, so callers may modify it freely.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_alliance"]


def _read_csv(name: str, dtype: dict[str, str]) -> pd.DataFrame:
    """Read ``tukeyrupture/_data/<name>`` with fixed column dtypes."""
    source = resources.files("tukeyrupture").joinpath("_data", name)
    with source.open("rb") as handle:
        return pd.read_csv(handle, dtype=dtype)


def load_alliance() -> pd.DataFrame:
    """Synthetic weekly child-rated alliance scores in long format (demo data).

    The data are **synthetic**, made by ``scripts/make_alliance_demo.py`` with a fixed
    seed: 300 series (``"C001"`` ... ``"C300"``) of 8 to 20 weekly sessions that imitate
    totals of the Therapeutic Alliance Scale for Children (TASC: 12 items scored 1 to 4,
    totals 12 to 48) with person-level means around 38. About 8% of sessions are missing
    (their rows are absent) and some series end early, so not every series has the 7
    consecutive sessions the rule needs. About a third of the series carry a planted drop
    of 6 to 12 points, followed either by a return to the person's usual level (repaired)
    or by a few low sessions (unrepaired); noise produces some further detections.

    Returns
    -------
    data : DataFrame
        One row per observed session, columns ``series`` (str), ``session`` (int,
        1-based) and ``score`` (float, an integer total), sorted by series and session.

    See Also
    --------
    tukeyrupture.from_long : Turn the long data into a session-indexed array.

    Examples
    --------
    >>> from tukeyrupture import from_long
    >>> from tukeyrupture.datasets import load_alliance
    >>> data = load_alliance()
    >>> list(data.columns)
    ['series', 'session', 'score']
    >>> data["series"].nunique(), int(data["score"].min()) >= 12, int(data["score"].max())
    (300, True, 48)
    >>> X, series, sessions = from_long(data, series="series", session="session",
    ...                                 value="score")
    >>> X.shape, series[0], sessions[[0, -1]]
    ((300, 20), 'C001', array([ 1, 20]))
    """
    return _read_csv("alliance.csv", {"series": "str", "session": "int64", "score": "float64"})
