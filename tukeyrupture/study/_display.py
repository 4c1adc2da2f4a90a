"""The report's tables in the study's words: text frames for the HTML report and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tukeyrupture.study._inputs import BEHAVIOURS, ROLES
from tukeyrupture.study._labels import (
    BEHAVIOUR_LABELS,
    COMPARISON_LABELS,
    CRITERION_LABELS,
    EXCLUSION_LABELS,
    INFORMANT_LABELS,
    REPAIR_LABELS,
    SEQUENCE_LABELS,
    TABLE1_LABELS,
    TOTAL,
    format_f,
    format_m_sd,
    format_p,
    mark,
    sessions_text,
)


def _share(part, whole) -> str:
    part, whole = int(part), int(whole)
    if whole == 0:
        return "-"
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})"


def _coded(row) -> str:
    """``"11"``, or ``"11 (analysed: 10 positive child involvement)"`` when fewer entered."""
    coded = int(row["coded"])
    fewer = [
        f"{int(row[f'analysed_{b}'])} {b.replace('_', ' ')}"
        for b in BEHAVIOURS
        if f"analysed_{b}" in row and int(row[f"analysed_{b}"]) < coded
    ]
    return f"{coded} (analysed: {', '.join(fewer)})" if fewer else f"{coded}"


def table1(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 1 with percentages as text, one row per informant (``Children``, ...)."""
    shown = pd.DataFrame(index=frame.index.map(lambda i: INFORMANT_LABELS.get(i, i)))
    shown.index.name = "n"
    shown[TABLE1_LABELS["series_analysed"]] = frame["series_analysed"].astype(str).to_numpy()
    shown[TABLE1_LABELS["series_with_ruptures"]] = [
        _share(p, w) for p, w in zip(frame["series_with_ruptures"], frame["series_analysed"])
    ]
    shown[TABLE1_LABELS["ruptures_total"]] = frame["ruptures_total"].astype(str).to_numpy()
    for repair in ("repaired", "unrepaired", "unresolved"):
        shown[TABLE1_LABELS[repair]] = [
            _share(p, w) for p, w in zip(frame[repair], frame["ruptures_total"])
        ]
    shown[TABLE1_LABELS["coded"]] = [_coded(row) for _, row in frame.iterrows()]
    return shown


def _cells(frame) -> pd.Series:
    """``Pre 10.80 (2.97); Central 12.80 (2.30)``: the effect's cell means and SDs."""
    texts = pd.Series("", index=frame.index, dtype=object)
    for column in (c for c in frame.columns if c.startswith("M_")):
        cell = column[2:]
        text = [format_m_sd(m, s) for m, s in zip(frame[column], frame[f"SD_{cell}"])]
        name = " ".join(part.capitalize() for part in cell.split("_"))
        labelled = pd.Series([f"{name} {t}" if t else "" for t in text], index=frame.index)
        texts = texts.str.cat(labelled, sep="; ").str.strip("; ")
    return texts


def anova(frame: pd.DataFrame, informant: str) -> pd.DataFrame:
    """Table 2 or 3: rows indexed by behaviour, comparison and source (spanning cells)."""
    own = frame[frame["informant"] == informant]
    total = (own["source"] == TOTAL).to_numpy()
    p = own["p_permutation"]
    repeated = own.duplicated(["behaviour", "comparison", "note"]).to_numpy()  # once a test
    shown = pd.DataFrame(
        {
            "n": own["n"].astype(str).to_numpy(),
            "df": [
                str(int(d)) if t else ("" if pd.isna(d) else f"{int(d)}, {int(e)}")
                for d, e, t in zip(own["df"], own["df_error"], total)
            ],
            "F": ["" if pd.isna(f) else f"{f:.2f}" for f in own["F"]],
            "p": np.where(total, "", [format_p(v) + mark(v) for v in p]),
            "M (SD) per cell": np.where(total, "", _cells(own).to_numpy()),
            "Note": np.where(total | repeated, "", own["note"].to_numpy()),
        },
        index=pd.MultiIndex.from_arrays(
            [
                own["behaviour"].map(BEHAVIOUR_LABELS).to_numpy(),
                own["comparison"].map(COMPARISON_LABELS).to_numpy(),
                own["source"].to_numpy(),
            ],
            names=["Behaviour", "Comparison", "Source"],
        ),
    )
    return shown


def posthoc(frame: pd.DataFrame) -> pd.DataFrame:
    """The post hoc tests, indexed by informant, behaviour and rupture type."""
    return pd.DataFrame(
        {
            "n": frame["n"].astype(str).to_numpy(),
            "Test": [format_f(1, e, f) for e, f in zip(frame["df_error"], frame["F"])],
            "p": [format_p(v) for v in frame["p_permutation"]],
            "p (Holm)": [format_p(v) + mark(v) for v in frame["p_holm"]],
            "M (SD) central": [
                format_m_sd(m, s) for m, s in zip(frame["M_central"], frame["SD_central"])
            ],
            "M (SD) post": [format_m_sd(m, s) for m, s in zip(frame["M_post"], frame["SD_post"])],
            "Note": frame["note"].to_numpy(),
        },
        index=pd.MultiIndex.from_arrays(
            [
                frame["informant"].map(INFORMANT_LABELS).to_numpy(),
                frame["behaviour"].map(BEHAVIOUR_LABELS).to_numpy(),
                frame["rupture_type"].map(REPAIR_LABELS).to_numpy(),
            ],
            names=["Ruptures", "Behaviour", "Rupture type"],
        ),
    )


def _triple(frame, prefix, digits=1) -> list[str]:
    values = frame[[f"{prefix}_{role}" for role in ROLES]].to_numpy(dtype=float)
    return [", ".join("-" if np.isnan(v) else f"{v:.{digits}f}" for v in row) for row in values]


def sequences(frame: pd.DataFrame, codes_given: bool) -> pd.DataFrame:
    """One row per rupture sequence in readable columns, grouped by informant and dyad."""
    shown = pd.DataFrame(
        {
            SEQUENCE_LABELS["sessions"]: [
                sessions_text(*row) for row in frame[[f"{r}_session" for r in ROLES]].to_numpy()
            ],
            SEQUENCE_LABELS["repair"]: frame["repair"].map(REPAIR_LABELS).to_numpy(),
            SEQUENCE_LABELS["criterion"]: frame["criterion"].map(CRITERION_LABELS).to_numpy(),
            SEQUENCE_LABELS["drop"]: [f"{v:.2f}" for v in frame["drop"].astype(float)],
            SEQUENCE_LABELS["alliance"]: _triple(frame, "alliance", 2),
            SEQUENCE_LABELS["limits"]: [
                f"{a:.2f} / {b:.2f}"
                for a, b in zip(frame["lower_half_median"], frame["lower_control_limit"])
            ],
        },
        index=pd.MultiIndex.from_arrays(
            [frame["informant"].map(INFORMANT_LABELS).to_numpy(), frame["dyad"].to_numpy()],
            names=["Ruptures", SEQUENCE_LABELS["dyad"]],
        ),
    )
    if codes_given:
        shown[SEQUENCE_LABELS["coded"]] = np.where(frame["coded"].astype(bool), "yes", "no")
        for behaviour, label in BEHAVIOUR_LABELS.items():
            shown[f"{label} (pre, central, post)"] = _triple(frame, behaviour, 0)
    return shown


def effects(frame: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """The effects with ``p_permutation`` < ``alpha``, one text line each."""
    shown = frame[(frame["source"] != TOTAL) & (frame["p_permutation"] < alpha)]
    return pd.DataFrame(
        {
            "Ruptures": shown["informant"].map(INFORMANT_LABELS).to_numpy(),
            "Behaviour": shown["behaviour"].map(BEHAVIOUR_LABELS).to_numpy(),
            "Comparison": shown["comparison"].to_numpy(),
            "Effect": shown["source"].to_numpy(),
            "Test": [
                f"{format_f(d, e, f)}, {format_p(p)}{mark(p)}"
                for d, e, f, p in zip(
                    shown["df"], shown["df_error"], shown["F"], shown["p_permutation"]
                )
            ],
        }
    )


def exclusions(frame: pd.DataFrame) -> pd.DataFrame:
    """The exclusions with the study's names, grouped by informant."""
    shown = frame.assign(
        behaviour=frame["behaviour"].map(lambda b: BEHAVIOUR_LABELS.get(b, "all")),
        informant=frame["informant"].map(INFORMANT_LABELS),
    ).rename(columns=EXCLUSION_LABELS)
    return shown.set_index(EXCLUSION_LABELS["informant"])


def settings(values) -> pd.DataFrame:
    """Settings as one text column, nested mappings flattened (``detector: k``)."""
    rows = {}
    for key, value in values.items():
        inner = value.items() if hasattr(value, "items") else [(None, value)]
        for name, item in inner:
            rows[key if name is None else f"{key}: {name}"] = _setting(item)
    return pd.DataFrame({"Value": rows}).rename_axis("Setting")


def _setting(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "NaN" if not np.isfinite(value) else f"{value:.4g}"
    return "None" if value is None else str(value)
