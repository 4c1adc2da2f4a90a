"""Bundled demo data, read from the package's ``_data`` folder.

Every loader returns a new pandas DataFrame, so callers may modify it freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pandas as pd

__all__ = ["StudyDemo", "load_alliance", "load_study_demo"]


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


@dataclass(frozen=True)
class StudyDemo:
    """The synthetic study of :func:`load_study_demo`: ``alliance`` and ``codes`` frames."""

    alliance: pd.DataFrame
    codes: pd.DataFrame


def load_study_demo() -> StudyDemo:
    """Synthetic study data: item-level alliance of 89 dyads and coded behaviour (demo).

    The data are **synthetic**, made by ``scripts/make_study_demo.py`` with a fixed seed
    in the layout :func:`tukeyrupture.study.run_study` reads; they imitate the design of
    the clinical study it reproduces, never its numbers. 89 child-therapist dyads
    (``"D01"`` ... ``"D89"``) with 10 to 16 sessions: children answer a TASC-like scale
    (12 items scored 1 to 4, scored as the sum), therapists a WAI-S-like scale (12 items
    scored 1 to 7, scored as the mean). Items, sessions and whole series are missing so that
    70 child and 56 therapist series have the 7 consecutive sessions needed; alliance
    drops are planted in some series. The codes cover the sessions of the rupture
    sequences the study's detector finds, some with a session missing (no recording).

    Returns
    -------
    StudyDemo
        A frozen dataclass with two new DataFrames:

        ``alliance``
            One row per dyad, informant and attended session: ``dyad`` (str),
            ``informant`` (``"child"`` or ``"therapist"``), ``session`` (int, from 1) and
            ``item_1`` ... ``item_12`` (float, NaN for a missing answer).
        ``codes``
            One row per dyad, informant and coded session: ``dyad``, ``informant``,
            ``session``, ``positive_child_involvement`` (0-20, like the CIRS positive
            subscale) and ``positive_therapist_behavior`` (0-28, like the TABBS positive
            subscale).

    See Also
    --------
    tukeyrupture.study.run_study : Analyse the data as the study did.

    Examples
    --------
    >>> from tukeyrupture.datasets import load_study_demo
    >>> demo = load_study_demo()
    >>> demo.alliance["dyad"].nunique(), sorted(demo.alliance["informant"].unique())
    (89, ['child', 'therapist'])
    >>> list(demo.codes.columns)
    ['dyad', 'informant', 'session', 'positive_child_involvement', 'positive_therapist_behavior']
    """
    keys = {"dyad": "str", "informant": "str", "session": "int64"}
    items = {f"item_{j}": "float64" for j in range(1, 13)}
    codes = {"positive_child_involvement": "float64", "positive_therapist_behavior": "float64"}
    return StudyDemo(
        alliance=_read_csv("study_alliance.csv", {**keys, **items}),
        codes=_read_csv("study_codes.csv", {**keys, **codes}),
    )
