"""Counts of the study: Table 1, the alliance summary, missing items, central sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tukeyrupture.study._inputs import BEHAVIOURS, INFORMANTS, SCALES
from tukeyrupture.study._sequences import analysed_mask, item_scoring

MISSING_ITEMS_COLUMNS = ["session_rows", "complete", "prorated", "set_missing", "unanswered"]
_REPAIRS = ("repaired", "unrepaired", "unresolved")


def _percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    """``100 * part / whole`` rounded to one decimal (Python's correct rounding); NaN of 0."""
    values = [
        round(100.0 * p / w, 1) if w else float("nan") for p, w in zip(part, whole, strict=True)
    ]
    return pd.Series(values, index=part.index, dtype="float64")


def table1(detections: dict, sequences: pd.DataFrame) -> pd.DataFrame:
    """The study's Table 1: series analysed, with ruptures, ruptures by repair, coded.

    ``analysed_<behaviour>``: the coded sequences with that behaviour observed at all
    three sessions, the ``n`` of its pre vs central ANOVA.
    """
    index = pd.Index(list(detections), name="informant")
    counted = sequences.assign(
        **{f"analysed_{b}": analysed_mask(sequences, b) for b in BEHAVIOURS}
    ).groupby("informant")
    counts = counted.agg(
        series_with_ruptures=("dyad", "nunique"),
        ruptures_total=("sequence", "size"),
        coded=("coded", "sum"),
        **{f"analysed_{b}": (f"analysed_{b}", "sum") for b in BEHAVIOURS},
    )
    counts = counts.reindex(index, fill_value=0)
    repairs = pd.crosstab(sequences["informant"], sequences["repair"])
    repairs = repairs.reindex(index=index, columns=list(_REPAIRS), fill_value=0)
    frame = pd.DataFrame(index=index)
    frame["series_total"] = [d.n_series for d in detections.values()]
    frame["series_analysed"] = [
        d.result.n_eligible if d.result is not None else 0 for d in detections.values()
    ]
    frame["series_with_ruptures"] = counts["series_with_ruptures"]
    frame["series_with_ruptures_pct"] = _percent(
        frame["series_with_ruptures"], frame["series_analysed"]
    )
    frame["ruptures_total"] = counts["ruptures_total"]
    for repair in _REPAIRS:
        frame[repair] = repairs[repair]
        frame[f"{repair}_pct"] = _percent(repairs[repair], frame["ruptures_total"])
    frame["coded"] = counts["coded"]
    for behaviour in BEHAVIOURS:
        frame[f"analysed_{behaviour}"] = counts[f"analysed_{behaviour}"]
    counted_columns = [c for c in frame.columns if not c.endswith("_pct")]
    frame[counted_columns] = frame[counted_columns].astype("int64")
    frame.columns.name = None
    return frame


def alliance_summary(detections: dict) -> pd.DataFrame:
    """Per informant: scale, series, observed sessions, mean and SD of totals, pooled SD."""
    rows = {}
    for informant, detection in detections.items():
        if detection.result is None:
            values, analysed = np.array([]), np.zeros(0, dtype=bool)
        else:
            analysed = np.asarray(detection.result.eligible)
            values = detection.scores.to_numpy()[analysed]
            values = values[~np.isnan(values)]
        rows[informant] = {
            "scale": SCALES[informant].name,
            "series": detection.n_series,
            "series_analysed": int(analysed.sum()),
            "sessions_observed": int(values.size),
            "alliance_mean": float(values.mean()) if values.size else np.nan,
            "alliance_sd": float(values.std(ddof=1)) if values.size > 1 else np.nan,
            "pooled_sd": detection.pooled_sd,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "informant"
    return frame


def missing_items(alliance: pd.DataFrame, max_missing) -> pd.DataFrame:
    """Per informant: session rows scored complete, prorated, set missing or unanswered."""
    counts = pd.crosstab(alliance["informant"], item_scoring(alliance, max_missing))
    counts = counts.reindex(
        index=pd.Index(INFORMANTS, name="informant"),
        columns=MISSING_ITEMS_COLUMNS[1:],
        fill_value=0,
    )
    counts.insert(0, "session_rows", counts.sum(axis=1))
    counts.columns.name = None
    return counts.astype("int64")


def central_sessions(sequences: pd.DataFrame) -> pd.DataFrame:
    """Number of central rupture sessions per session number and informant (Figure 3)."""
    sessions = pd.to_numeric(sequences["central_session"], errors="coerce")
    top = int(sessions.max()) if sessions.notna().any() else 1
    index = pd.RangeIndex(1, top + 1, name="session")
    counts = pd.crosstab(sessions, sequences["informant"])
    counts = counts.reindex(index=index, columns=list(INFORMANTS), fill_value=0)
    counts.columns.name = None
    return counts.astype("int64").reset_index()


def accordance(sequences: pd.DataFrame) -> pd.DataFrame:
    """Dyads with a rupture: central sessions of the child's and the therapist's series."""
    columns = ["dyad", "child_central_sessions", "therapist_central_sessions", "both"]
    if sequences.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    listed = (
        sequences.groupby(["dyad", "informant"])["central_session"]
        .agg(lambda s: ", ".join(str(int(v)) for v in sorted(s)))
        .unstack("informant")
        .reindex(columns=list(INFORMANTS))
        .astype(object)
        .fillna("")
    )
    frame = pd.DataFrame(
        {
            "dyad": listed.index,
            "child_central_sessions": listed["child"].to_numpy(),
            "therapist_central_sessions": listed["therapist"].to_numpy(),
        }
    )
    frame["both"] = (frame["child_central_sessions"] != "") & (
        frame["therapist_central_sessions"] != ""
    )
    return frame
