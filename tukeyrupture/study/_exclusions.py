"""Every session row, series and rupture sequence left out of an analysis, with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tukeyrupture.study._anova import UNRESOLVED_PATTERN
from tukeyrupture.study._inputs import BEHAVIOURS, ROLES
from tukeyrupture.study._sequences import analysed_mask, item_scoring

EXCLUSION_COLUMNS = ["informant", "excluded_from", "behaviour", "unit", "n", "reason", "examples"]


def _examples(labels, limit=5) -> str:
    labels = [str(label.item() if isinstance(label, np.generic) else label) for label in labels]
    more = f" (and {len(labels) - limit} more)" if len(labels) > limit else ""
    return ", ".join(labels[:limit]) + more


def _exclusion(informant, excluded_from, unit, labels, reason, behaviour=""):
    return {
        "informant": informant,
        "excluded_from": excluded_from,
        "behaviour": behaviour,
        "unit": unit,
        "n": len(labels),
        "reason": reason,
        "examples": _examples(labels),
    }


def _alliance_exclusions(alliance, detection, max_missing, min_consecutive):
    informant = detection.informant
    own = alliance[alliance["informant"] == informant]
    scoring = item_scoring(own, max_missing)
    rows = [
        _exclusion(
            informant,
            "alliance totals",
            "session rows",
            own.index[(scoring == "unanswered").to_numpy()],
            "no item answered: the session counts as missing",
        ),
        _exclusion(
            informant,
            "alliance totals",
            "session rows",
            own.index[(scoring == "set_missing").to_numpy()],
            f"more than {max_missing} items missing (max_missing_items): the session counts "
            "as missing",
        ),
    ]
    if detection.result is not None:
        ineligible = detection.scores.index[~np.asarray(detection.result.eligible)]
        reason = f"fewer than {min_consecutive} consecutive sessions: not analysed"
    else:
        ineligible = detection.scores.index
        reason = "a single session in the data: not analysed"
    rows.append(_exclusion(informant, "rupture detection", "series", ineligible, reason))
    return rows


def _with_roles(frame, behaviours) -> list[str]:
    """``"child:D04:7 (pre, post)"``: each sequence with the sessions lacking the values."""
    roles = pd.Series("", index=frame.index)
    for role in ROLES:
        lacking = frame[[f"{b}_{role}" for b in behaviours]].isna().all(axis=1)
        roles = roles + np.where(lacking, f"{role}, ", "")
    return (frame["sequence"].astype(str) + " (" + roles.str[:-2] + ")").tolist()


def _sequence_exclusions(own, informant, codes_given):
    ids = own["sequence"]
    coded = own["coded"].astype(bool).to_numpy()
    no_post = own["post_session"].isna().to_numpy()
    where = (informant, "every ANOVA", "rupture sequences")
    if not codes_given:
        rows = [_exclusion(*where, ids, "no codes given (codes=None)")]
    else:
        rows = [
            _exclusion(
                *where,
                ids[~coded & no_post],
                "no post-rupture session (rupture at the series' last session): not coded",
            ),
            _exclusion(
                *where,
                _with_roles(own[~coded & ~no_post], list(BEHAVIOURS)),
                "the codes have no row for the session(s) in brackets",
            ),
        ]
    for behaviour in BEHAVIOURS:
        analysed = analysed_mask(own, behaviour)
        rows.append(
            _exclusion(
                informant,
                "every ANOVA of the behaviour",
                "rupture sequences",
                _with_roles(own[coded & ~analysed], [behaviour]),
                "coded, but the behaviour is missing (NaN) at the session(s) in brackets",
                behaviour,
            )
        )
        unresolved = own[analysed & (own["repair"] == "unresolved").to_numpy()]
        rows.append(
            _exclusion(
                informant,
                "central vs post",
                "rupture sequences",
                unresolved["sequence"],
                "unresolved rupture (no post-rupture alliance score, so no rupture type): "
                "not in the rupture type x session ANOVA nor its post hoc tests",
                behaviour,
            )
        )
    return rows


def _untested(anova) -> pd.DataFrame:
    """Tests not run although they had sequences: all their sequences are left out."""
    tests = anova[anova["effect"] != ""].drop_duplicates(["informant", "behaviour", "comparison"])
    skipped = tests[(tests["method"] == "") & (tests["n"] > 0)]
    return pd.DataFrame(
        {
            "informant": skipped["informant"],
            "excluded_from": skipped["comparison"],
            "behaviour": skipped["behaviour"],
            "unit": "rupture sequences",
            "n": skipped["n"].astype("int64"),
            "reason": skipped["note"].astype(str).str.replace(UNRESOLVED_PATTERN, "", regex=True),
            "examples": "all sequences of the test",
        }
    )


def exclusions(
    alliance, detections, sequences, anova, *, codes_given, max_missing, min_consecutive
) -> pd.DataFrame:
    """Every row, series and sequence left out of an analysis: where, why and how many."""
    parts = []
    for informant, detection in detections.items():
        rows = _alliance_exclusions(alliance, detection, max_missing, min_consecutive)
        own = sequences[sequences["informant"] == informant]
        rows += _sequence_exclusions(own, informant, codes_given)
        parts += [
            pd.DataFrame(rows, columns=EXCLUSION_COLUMNS),
            _untested(anova[anova["informant"] == informant]),
        ]
    frame = pd.concat(parts, ignore_index=True)[EXCLUSION_COLUMNS]
    frame = frame[frame["n"] > 0].reset_index(drop=True)
    return frame.astype({"n": "int64"})
