"""Stage 2 of the study: alliance totals, detection per informant and rupture sequences."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from tukeyrupture.data import from_long, total_scores
from tukeyrupture.results import RuptureResult
from tukeyrupture.study._inputs import BEHAVIOURS, INFORMANTS, ITEMS, ROLES, SCALES

SEQUENCE_COLUMNS = [
    "informant",
    "sequence",
    "dyad",
    *(f"{role}_session" for role in ROLES),
    "repair",
    "criterion",
    "drop",
    "score",
    *(f"alliance_{role}" for role in ROLES),
    "lower_half_median",
    "lower_control_limit",
    "coded",
    *(f"{name}_{role}" for name in BEHAVIOURS for role in ROLES),
]


@dataclass(frozen=True)
class Detection:
    """Alliance totals and detector output of one informant."""

    informant: str
    scores: pd.DataFrame  # session-indexed totals: index dyad, columns session
    result: RuptureResult | None
    pooled_sd: float
    n_series: int
    note: str | None


def _own(alliance, informant):
    return alliance[alliance["informant"] == informant]


def alliance_totals(alliance: pd.DataFrame, informant: str, max_missing) -> pd.DataFrame:
    """Long totals ``dyad, session, alliance`` of one informant (person-mean imputation).

    A session with more than ``max_missing`` missing items gets a NaN total (a missing
    session), as does a session with no item answered.
    """
    rows = _own(alliance, informant)
    totals = total_scores(
        rows[list(ITEMS)],
        max_missing=max_missing,
        impute="person_mean",
        statistic=SCALES[informant].statistic,
    )
    return pd.DataFrame(
        {"dyad": rows["dyad"], "session": rows["session"], "alliance": totals.to_numpy()}
    )


def item_scoring(alliance: pd.DataFrame, max_missing) -> pd.Series:
    """How each session row was scored: complete, prorated, set_missing or unanswered."""
    n_missing = alliance[list(ITEMS)].isna().sum(axis=1)
    limit = len(ITEMS) if max_missing is None else max_missing
    scoring = np.select(
        [n_missing == 0, n_missing == len(ITEMS), n_missing > limit],
        ["complete", "unanswered", "set_missing"],
        "prorated",
    )
    return pd.Series(scoring, index=alliance.index, name="scoring")


def detect_informant(long: pd.DataFrame, informant: str, detector) -> Detection:
    """Fit a clone of ``detector`` on this informant's series (pooled SD) and detect."""
    if long.empty:
        note = f"No {informant} alliance data: nothing to analyse for {informant}s."
        return Detection(informant, pd.DataFrame(), None, float("nan"), 0, note)
    X, series, sessions = from_long(
        long, series="dyad", session="session", value="alliance", fill_gaps=True
    )
    scores = pd.DataFrame(X, index=pd.Index(series, name="dyad"), columns=sessions)
    if X.shape[1] < 2:
        note = f"The {informant} data hold a single session: no series can be analysed."
        return Detection(informant, scores, None, float("nan"), X.shape[0], note)
    fitted = clone(detector)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted.fit(scores)
    result = fitted.detect(scores)
    note = None
    if result.n_eligible == 0:
        note = (
            f"No {informant} series has {fitted.min_consecutive} consecutive sessions: no "
            f"{informant} series could be analysed, so there are no {informant} ruptures."
        )
    return Detection(informant, scores, result, float(fitted.pooled_sd_), X.shape[0], note)


def _by_role(frame, long, values, role, indicator=None):
    """``frame`` with the ``values`` of ``long`` at each row's ``<role>_session`` merged in."""
    right = long.rename(
        columns={"session": f"{role}_session", **{v: f"{v}_{role}" for v in values}}
    )
    if indicator is not None:
        right = right.assign(**{indicator: True})
    return frame.merge(right, on=["dyad", f"{role}_session"], how="left", validate="m:1")


def _ruptures(detection: Detection) -> pd.DataFrame:
    """The detector's rupture rows with informant, sequence id and chart levels."""
    result = detection.result
    frame = result.to_frame().rename(columns={"series": "dyad"})
    for role in ROLES:
        frame[f"{role}_session"] = pd.to_numeric(frame[f"{role}_session"]).astype("Int64")
    limits = pd.DataFrame(
        {
            "dyad": np.asarray(result.series_labels, dtype=object),
            "lower_half_median": result.lower_half_median,
            "lower_control_limit": result.lower_control_limit,
        }
    )
    frame = frame.merge(limits, on="dyad", how="left", validate="m:1")
    sequence = detection.informant + ":" + frame["dyad"].astype(str) + ":"
    return frame.assign(
        informant=detection.informant,
        sequence=sequence + frame["central_session"].astype(str),
    )


def sequences_frame(detection: Detection, codes: pd.DataFrame | None) -> pd.DataFrame:
    """One row per rupture sequence with alliance scores and coded behaviour per session."""
    if detection.result is None or detection.result.n_ruptures == 0:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in SEQUENCE_COLUMNS})
    frame = _ruptures(detection)
    long = detection.scores.rename_axis(index="dyad").reset_index()
    long = long.melt(id_vars="dyad", var_name="session", value_name="alliance")
    behaviours = list(BEHAVIOURS)
    if codes is None:
        own = pd.DataFrame(columns=["dyad", "session", *behaviours])
    else:
        own = codes.loc[
            codes["informant"] == detection.informant, ["dyad", "session", *behaviours]
        ]
    own = own.astype({"session": "int64", **dict.fromkeys(behaviours, "float64")})
    for role in ROLES:
        frame = _by_role(frame, long, ["alliance"], role)
        frame = _by_role(frame, own, behaviours, role, indicator=f"_coded_{role}")
    present = frame[[f"_coded_{role}" for role in ROLES]].notna()
    frame["coded"] = present.all(axis=1).to_numpy()
    return frame[SEQUENCE_COLUMNS].reset_index(drop=True)


def detect_all(alliance, codes, detector, max_missing):
    """Per informant the Detection, and every informant's rupture sequences in one frame."""
    detections = {
        informant: detect_informant(
            alliance_totals(alliance, informant, max_missing), informant, detector
        )
        for informant in INFORMANTS
    }
    frames = [sequences_frame(detection, codes) for detection in detections.values()]
    sequences = pd.concat(
        [frame for frame in frames if not frame.empty] or frames[:1], ignore_index=True
    )
    return detections, sequences.astype({"coded": bool})


def analysed_mask(sequences, behaviour) -> np.ndarray:
    """Coded sequences with the behaviour observed at all three sessions."""
    observed = sequences[[f"{behaviour}_{role}" for role in ROLES]].notna().all(axis=1)
    return (sequences["coded"].astype(bool) & observed).to_numpy()
