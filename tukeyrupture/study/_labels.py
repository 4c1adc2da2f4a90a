"""Every word the study's report, figures and command line show, and how numbers are written.

Data frames of the report use the data's own names (``child``, ``positive_child_involvement``,
``type:session``); these labels turn them into the study's words.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INFORMANT_LABELS = {"child": "Children", "therapist": "Therapists"}
WHOSE = {"child": "children's", "therapist": "therapists'"}
BEHAVIOUR_LABELS = {
    "positive_child_involvement": "Positive child involvement",
    "positive_therapist_behavior": "Positive therapist behavior",
}
ROLE_LABELS = {"pre": "Pre-rupture", "central": "Central rupture", "post": "Post-rupture"}
REPAIR_LABELS = {"repaired": "Repaired", "unrepaired": "Unrepaired", "unresolved": "Unresolved"}
CRITERION_LABELS = {"tcc": "TCC", "absolute": "Absolute drop", "both": "TCC and absolute"}
SOURCE_LABELS = {
    "session": "Session",
    "type": "Rupture type",
    "type:session": "Session x Rupture type",
}
TOTAL = "Total"
COMPARISON_LABELS = {
    "pre vs central": "Pre vs central (one-way within)",
    "central vs post": "Central vs post (rupture type x session)",
}

TABLE1_LABELS = {
    "series_analysed": "Time series analyzed",
    "series_with_ruptures": "Time series with ruptures",
    "ruptures_total": "Ruptures total",
    "repaired": "Repaired ruptures",
    "unrepaired": "Unrepaired ruptures",
    "unresolved": "Unresolved ruptures",
    "coded": "Coded ruptures",
}
SUMMARY_LABELS = {
    "scale": "Scale",
    "series": "Series",
    "series_analysed": "Series analysed",
    "sessions_observed": "Sessions (analysed series)",
    "alliance_mean": "Mean alliance",
    "alliance_sd": "SD",
    "pooled_sd": "Pooled SD (absolute criterion)",
}
ACCORDANCE_LABELS = {
    "dyad": "Dyad",
    "child_central_sessions": "Child's central sessions",
    "therapist_central_sessions": "Therapist's central sessions",
    "both": "Both",
}
MISSING_ITEMS_LABELS = {
    "session_rows": "Session rows",
    "complete": "All items answered",
    "prorated": "Prorated (imputed)",
    "set_missing": "Set missing (too many items missing)",
    "unanswered": "No item answered",
}
EXCLUSION_LABELS = {
    "informant": "Informant",
    "excluded_from": "Left out of",
    "behaviour": "Behaviour",
    "unit": "Unit",
    "n": "n",
    "reason": "Reason",
    "examples": "Which (first ones)",
}
SEQUENCE_LABELS = {
    "dyad": "Dyad",
    "sessions": "Sessions (pre, central, post)",
    "repair": "Repair",
    "criterion": "Criterion",
    "drop": "Drop",
    "alliance": "Alliance (pre, central, post)",
    "limits": "LHM / LCL",
    "coded": "Coded",
}

# APA marks; the study read p < .10 as marginally significant, so that gets a mark of its own.
MARKS = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.10, "\u2020"))
MARKS_NOTE = (
    "\u2020 p < .10 (marginal: the study interpreted p < .10 as marginally significant), "
    "* p < .05, ** p < .01, *** p < .001 (permutation p-values)."
)
NOT_TESTED = "not tested"


def mark(p) -> str:
    """The significance mark of a p-value (``""`` when not below .10 or not a number)."""
    if p is None or pd.isna(p):
        return ""
    return next((text for bound, text in MARKS if p < bound), "")


def format_p(p) -> str:
    """``p = .043`` (APA: no leading zero), ``p < .001`` for tiny values."""
    if p is None or pd.isna(p) or not np.isfinite(p):
        return NOT_TESTED
    if p < 0.001:
        return "p < .001"
    return "p = " + f"{p:.3f}".lstrip("0")


def format_f(df, df_error, F) -> str:
    """``F(1, 10) = 1.69``, or ``""`` for a test that was not computed."""
    if pd.isna(F) or pd.isna(df):
        return ""
    return f"F({int(df)}, {int(df_error)}) = {F:.2f}"


def format_m_sd(mean, sd) -> str:
    """``10.80 (2.97)``; ``""`` without a mean, no brackets without an SD."""
    if pd.isna(mean):
        return ""
    return f"{mean:.2f}" + (f" ({sd:.2f})" if pd.notna(sd) else "")


def sessions_text(*sessions) -> str:
    """``6, 7, 8``; a missing session as ``-``."""
    return ", ".join("-" if pd.isna(s) else str(int(s)) for s in sessions)
