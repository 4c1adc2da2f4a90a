"""Tables of the study: detection per informant, rupture sequences, Table 1, ANOVAs."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone

from tukeyrupture.data import from_long, total_scores
from tukeyrupture.results import RuptureResult

ROLES = ("pre", "central", "post")
INFORMANT_LABELS = {"child": "Children", "therapist": "Therapists"}
SOURCE_LABELS = {
    "session": "Session",
    "type": "Rupture type",
    "type:session": "Session x Rupture type",
}
MIN_PER_GROUP = 2
UNRESOLVED_NOTE = "{} coded unresolved rupture(s) (no post session) excluded"
_UNRESOLVED_NOTE = re.compile("(^|; )" + re.escape(UNRESOLVED_NOTE).replace(r"\{\}", r"\d+") + "$")


@dataclass(frozen=True)
class Detection:
    """Alliance totals and detector output of one informant."""

    informant: str
    scores: pd.DataFrame  # session-indexed totals: index dyad, columns session
    result: RuptureResult | None
    pooled_sd: float
    n_series: int
    note: str | None


def _items(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[[column for column in rows.columns if column.startswith("item_")]]


def alliance_totals(
    alliance: pd.DataFrame, informant: str, statistic: str, max_missing: int | None
) -> pd.DataFrame:
    """Long totals ``dyad, session, alliance`` of one informant (person-mean imputation).

    A session with more than ``max_missing`` missing items gets a NaN total (a missing
    session), as does a session with no item answered.
    """
    rows = alliance[alliance["informant"] == informant]
    totals = total_scores(
        _items(rows), max_missing=max_missing, impute="person_mean", statistic=statistic
    )
    return pd.DataFrame(
        {"dyad": rows["dyad"], "session": rows["session"], "alliance": totals.to_numpy()}
    )


MISSING_ITEMS_COLUMNS = ["session_rows", "complete", "prorated", "set_missing", "unanswered"]


def missing_item_masks(alliance: pd.DataFrame, informant: str, max_missing: int | None):
    """Row masks of one informant's sessions: prorated, set missing, unanswered."""
    rows = alliance[alliance["informant"] == informant]
    items = _items(rows)
    n_missing = items.isna().sum(axis=1).to_numpy()
    unanswered = n_missing == items.shape[1]
    limit = items.shape[1] if max_missing is None else max_missing
    set_missing = (n_missing > limit) & ~unanswered
    prorated = (n_missing > 0) & ~set_missing & ~unanswered
    return rows.index, {"prorated": prorated, "set_missing": set_missing, "unanswered": unanswered}


def missing_items(alliance: pd.DataFrame, informants, max_missing: int | None) -> pd.DataFrame:
    """Per informant: session rows scored complete, prorated, set missing or unanswered."""
    rows = {}
    for informant in informants:
        index, masks = missing_item_masks(alliance, informant, max_missing)
        counts = {name: int(mask.sum()) for name, mask in masks.items()}
        rows[informant] = {
            "session_rows": len(index),
            "complete": len(index) - sum(counts.values()),
            **counts,
        }
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=MISSING_ITEMS_COLUMNS)
    frame.index.name = "informant"
    return frame.astype("int64")


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


def sequences_frame(detection: Detection, codes: pd.DataFrame | None, behaviours) -> pd.DataFrame:
    """One row per rupture sequence with alliance scores and coded behaviour per session."""
    columns = [
        "informant",
        "sequence",
        "dyad",
        "pre_session",
        "central_session",
        "post_session",
        "repair",
        "criterion",
        "drop",
        "score",
        *(f"alliance_{role}" for role in ROLES),
        "lower_half_median",
        "lower_control_limit",
        "coded",
        *(f"{name}_{role}" for name in behaviours for role in ROLES),
    ]
    if detection.result is None or detection.result.n_ruptures == 0:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    result = detection.result
    frame = result.to_frame().rename(columns={"series": "dyad"})
    frame.insert(0, "informant", detection.informant)
    frame.insert(
        1,
        "sequence",
        [
            f"{detection.informant}:{d}:{s}"
            for d, s in zip(frame["dyad"], frame["central_session"])
        ],
    )
    scores = detection.scores
    row_of = {dyad: i for i, dyad in enumerate(scores.index)}
    rows = frame["dyad"].map(row_of).to_numpy()
    for role in ROLES:
        sessions = frame[f"{role}_session"]
        values = [
            scores.at[dyad, session] if pd.notna(session) and session in scores.columns else np.nan
            for dyad, session in zip(frame["dyad"], sessions)
        ]
        frame[f"alliance_{role}"] = np.asarray(values, dtype=float)
    frame["lower_half_median"] = result.lower_half_median[rows]
    frame["lower_control_limit"] = result.lower_control_limit[rows]
    coded = np.zeros(len(frame), dtype=bool)
    if codes is not None:
        own = codes[codes["informant"] == detection.informant].set_index(["dyad", "session"])
        present = np.ones(len(frame), dtype=bool)
        for role in ROLES:
            keys = list(zip(frame["dyad"], frame[f"{role}_session"]))
            found = np.array([pd.notna(s) and (d, int(s)) in own.index for d, s in keys])
            present &= found
            for name in behaviours:
                frame[f"{name}_{role}"] = [
                    own.at[(d, int(s)), name] if hit else np.nan
                    for (d, s), hit in zip(keys, found)
                ]
        coded = present
    else:
        for name in behaviours:
            for role in ROLES:
                frame[f"{name}_{role}"] = np.nan
    frame["coded"] = coded
    return frame[columns].reset_index(drop=True)


def _percent(part, whole):
    return round(100.0 * part / whole, 1) if whole else float("nan")


def table1(detections: dict, sequences: pd.DataFrame, behaviours) -> pd.DataFrame:
    """The study's Table 1: series analysed, with ruptures, ruptures by repair, coded.

    ``analysed_<behaviour>``: the coded sequences with that behaviour observed at all
    three sessions, the ``n`` of its pre vs central ANOVA.
    """
    rows = {}
    for informant, detection in detections.items():
        own = sequences[sequences["informant"] == informant]
        analysed = detection.result.n_eligible if detection.result is not None else 0
        with_ruptures = own["dyad"].nunique()
        total = len(own)
        counts = own["repair"].value_counts()
        rows[informant] = {
            "series_total": detection.n_series,
            "series_analysed": analysed,
            "series_with_ruptures": with_ruptures,
            "series_with_ruptures_pct": _percent(with_ruptures, analysed),
            "ruptures_total": total,
            "repaired": int(counts.get("repaired", 0)),
            "repaired_pct": _percent(counts.get("repaired", 0), total),
            "unrepaired": int(counts.get("unrepaired", 0)),
            "unrepaired_pct": _percent(counts.get("unrepaired", 0), total),
            "unresolved": int(counts.get("unresolved", 0)),
            "unresolved_pct": _percent(counts.get("unresolved", 0), total),
            "coded": int(own["coded"].astype(bool).sum()),
            **{f"analysed_{b}": int(analysed_mask(own, b).sum()) for b in behaviours},
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "informant"
    return frame


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
    index, masks = missing_item_masks(alliance, informant, max_missing)
    rows = [
        _exclusion(
            informant,
            "alliance totals",
            "session rows",
            index[masks["unanswered"]],
            "no item answered: the session counts as missing",
        ),
        _exclusion(
            informant,
            "alliance totals",
            "session rows",
            index[masks["set_missing"]],
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
    labels = []
    for _, row in frame.iterrows():
        roles = [r for r in ROLES if row[[f"{b}_{r}" for b in behaviours]].isna().all()]
        labels.append(f"{row['sequence']} ({', '.join(roles)})")
    return labels


def _sequence_exclusions(own, informant, behaviours, codes_given):
    ids = own["sequence"]
    coded = own["coded"].astype(bool).to_numpy()
    no_post = own["post_session"].isna().to_numpy()
    if not codes_given:
        rows = [
            _exclusion(
                informant, "every ANOVA", "rupture sequences", ids, "no codes given (codes=None)"
            )
        ]
    else:
        rows = [
            _exclusion(
                informant,
                "every ANOVA",
                "rupture sequences",
                ids[~coded & no_post],
                "no post-rupture session (rupture at the series' last session): not coded",
            ),
            _exclusion(
                informant,
                "every ANOVA",
                "rupture sequences",
                _with_roles(own[~coded & ~no_post], behaviours),
                "the codes have no row for the session(s) in brackets",
            ),
        ]
    for behaviour in behaviours:
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


def _untested(anova):
    """Tests not run although they had sequences: all their sequences are left out."""
    rows = []
    tests = anova[anova["source"] != "Total"].drop_duplicates(
        ["informant", "behaviour", "comparison"]
    )
    for row in tests.itertuples(index=False):
        if row.method or not row.n > 0:  # a test that ran (even with a NaN p)
            continue
        rows.append(
            {
                "informant": row.informant,
                "excluded_from": row.comparison,
                "behaviour": row.behaviour,
                "unit": "rupture sequences",
                "n": int(row.n),
                "reason": _UNRESOLVED_NOTE.sub("", str(row.note)),
                "examples": "all sequences of the test",
            }
        )
    return rows


def exclusions(
    alliance,
    detections,
    sequences,
    anova,
    behaviours,
    *,
    codes_given,
    max_missing,
    min_consecutive,
) -> pd.DataFrame:
    """Every row, series and sequence left out of an analysis: where, why and how many."""
    rows = []
    for informant, detection in detections.items():
        rows += _alliance_exclusions(alliance, detection, max_missing, min_consecutive)
        own = sequences[sequences["informant"] == informant]
        rows += _sequence_exclusions(own, informant, behaviours, codes_given)
        rows += _untested(anova[anova["informant"] == informant])
    frame = pd.DataFrame(rows, columns=EXCLUSION_COLUMNS)
    frame = frame[frame["n"] > 0].reset_index(drop=True)
    return frame.astype({"n": "int64"})


def alliance_summary(detections: dict, scales: dict) -> pd.DataFrame:
    """Per informant: scale, series, observed sessions, mean and SD of totals, pooled SD."""
    rows = {}
    for informant, detection in detections.items():
        if detection.result is None:
            values = np.array([])
            analysed = np.zeros(0, dtype=bool)
        else:
            analysed = np.asarray(detection.result.eligible)
            values = detection.scores.to_numpy()[analysed]
            values = values[~np.isnan(values)]
        rows[informant] = {
            "scale": scales[informant].name,
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


def central_sessions(sequences: pd.DataFrame, informants) -> pd.DataFrame:
    """Number of central rupture sessions per session number and informant (Figure 3)."""
    sessions = pd.to_numeric(sequences["central_session"], errors="coerce")
    top = int(sessions.max()) if sessions.notna().any() else 1
    index = pd.RangeIndex(1, top + 1, name="session")
    counts = {
        informant: sessions[sequences["informant"] == informant]
        .value_counts()
        .reindex(index, fill_value=0)
        .astype("int64")
        for informant in informants
    }
    return pd.DataFrame(counts, index=index).reset_index()


def accordance(sequences: pd.DataFrame) -> pd.DataFrame:
    """Dyads with a rupture: central sessions of the child's and the therapist's series."""
    columns = ["dyad", "child_central_sessions", "therapist_central_sessions", "both"]
    if sequences.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    listed = (
        sequences.groupby(["dyad", "informant"])["central_session"]
        .apply(lambda s: ", ".join(str(int(v)) for v in sorted(s)))
        .unstack("informant")
        .reindex(columns=["child", "therapist"])
        .astype(object)
    )
    frame = pd.DataFrame(
        {
            "dyad": listed.index,
            "child_central_sessions": listed["child"].fillna("").to_numpy(),
            "therapist_central_sessions": listed["therapist"].fillna("").to_numpy(),
        }
    )
    frame["both"] = (frame["child_central_sessions"] != "") & (
        frame["therapist_central_sessions"] != ""
    )
    return frame


# ---------------------------------------------------------------------------------------
# ANOVAs
# ---------------------------------------------------------------------------------------

ANOVA_COLUMNS = [
    "informant",
    "behaviour",
    "comparison",
    "source",
    "n",
    "df",
    "df_error",
    "F",
    "p",
    "p_parametric",
    "stars",
    *(f"{stat}_{cell}" for cell in ("pre", "central", "post") for stat in ("M", "SD")),
    *(f"{stat}_{cell}" for cell in ("repaired", "unrepaired") for stat in ("M", "SD")),
    *(
        f"{stat}_{session}_{kind}"
        for kind in ("repaired", "unrepaired")
        for session in ("central", "post")
        for stat in ("M", "SD")
    ),
    "method",
    "n_resamples",
    "exact",
    "random_state",
    "note",
]
POSTHOC_COLUMNS = [
    "informant",
    "behaviour",
    "rupture_type",
    "comparison",
    "n",
    "df",
    "df_error",
    "F",
    "p",
    "p_holm",
    "stars",
    "M_central",
    "SD_central",
    "M_post",
    "SD_post",
    "method",
    "n_resamples",
    "exact",
    "random_state",
    "note",
]


def stars(p) -> str:
    """The study's marks: ``**`` for p < .05, ``*`` for p < .1."""
    if p is None or not np.isfinite(p):
        return ""
    return "**" if p < 0.05 else "*" if p < 0.1 else ""


def _m_sd(values) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if values.size else np.nan
    sd = float(values.std(ddof=1)) if values.size > 1 else np.nan
    return mean, sd


def oneway_data(sequences: pd.DataFrame, behaviour: str) -> pd.DataFrame:
    """Long data of the pre vs central one-way ANOVA: one subject per coded sequence."""
    used = sequences[analysed_mask(sequences, behaviour)]
    return _long(used, behaviour, ("pre", "central"))


def mixed_data(sequences: pd.DataFrame, behaviour: str) -> pd.DataFrame:
    """Long data of the rupture type x session (central, post) mixed ANOVA."""
    analysed = analysed_mask(sequences, behaviour)
    used = sequences[analysed & sequences["repair"].isin(["repaired", "unrepaired"])]
    return _long(used, behaviour, ("central", "post"))


def analysed_mask(sequences, behaviour):
    """Coded sequences with the behaviour observed at all three sessions."""
    mask = sequences["coded"].astype(bool)
    for role in ROLES:
        mask &= sequences[f"{behaviour}_{role}"].notna()
    return mask.to_numpy()


def _long(used, behaviour, roles):
    parts = [
        pd.DataFrame(
            {
                "subject": used["sequence"].to_numpy(),
                "type": used["repair"].to_numpy(),
                "session": role,
                "value": used[f"{behaviour}_{role}"].to_numpy(dtype=float),
            }
        )
        for role in roles
    ]
    return pd.concat(parts, ignore_index=True)


def _row(informant, behaviour, comparison, source, **values):
    row = dict.fromkeys(ANOVA_COLUMNS, np.nan)
    row["exact"] = None
    row.update(
        informant=informant,
        behaviour=behaviour,
        comparison=comparison,
        source=source,
        stars="",
        note="",
        method="",
    )
    row.update(values)
    return row


def _total(informant, behaviour, comparison, n):
    """The study's "Total" row: the number of sequences minus one."""
    return _row(informant, behaviour, comparison, "Total", n=n, df=n - 1 if n else np.nan)


def _call(aovperm, data, options):
    """Run ``aovperm``; a ValueError or a linear-algebra failure becomes a stated reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return aovperm(data, "value", **options), ""
    except (ValueError, np.linalg.LinAlgError) as error:
        return None, f"test not computed: {error}"


def _descriptives(data, cells):
    out = {}
    for cell, mask in cells.items():
        mean, sd = _m_sd(data.loc[mask, "value"])
        out[f"M_{cell}"], out[f"SD_{cell}"] = mean, sd
    return out


def oneway_rows(informant, behaviour, data, aovperm, n_resamples, seed, tick):
    """Rows of the pre vs central one-way within-subject ANOVA."""
    comparison = "pre vs central"
    n = data["subject"].nunique()
    described = _descriptives(data, {role: data["session"] == role for role in ("pre", "central")})
    base = {"n": n, "n_resamples": n_resamples, "random_state": seed, **described}
    if n < MIN_PER_GROUP:
        note = f"not tested: {n} coded rupture sequence(s); at least {MIN_PER_GROUP} are needed"
        tick()
        return [
            _row(informant, behaviour, comparison, "Session", note=note, **base),
            _total(informant, behaviour, comparison, n),
        ]
    options = {
        "subject": "subject",
        "within": "session",
        "n_resamples": n_resamples,
        "random_state": seed,
    }
    result, note = _call(aovperm, data, options)
    tick()
    rows = []
    if result is None:
        rows.append(_row(informant, behaviour, comparison, "Session", note=note, **base))
    else:
        effect = result.table.loc["session"]
        rows.append(
            _row(
                informant,
                behaviour,
                comparison,
                "Session",
                df=effect["df"],
                df_error=effect["df_error"],
                F=effect["F"],
                p=effect["p_permutation"],
                p_parametric=effect["p_parametric"],
                stars=stars(effect["p_permutation"]),
                method=str(result.method),
                exact=bool(result.exact),
                **base,
            )
        )
    rows.append(_total(informant, behaviour, comparison, n))
    return rows


def mixed_rows(informant, behaviour, data, aovperm, n_resamples, seed, n_unresolved, tick):
    """Rows of the rupture type x session (central vs post) mixed ANOVA."""
    comparison = "central vs post"
    n = data["subject"].nunique()
    cells = {role: data["session"] == role for role in ("central", "post")}
    cells.update({kind: data["type"] == kind for kind in ("repaired", "unrepaired")})
    cells.update(
        {
            f"{role}_{kind}": (data["session"] == role) & (data["type"] == kind)
            for kind in ("repaired", "unrepaired")
            for role in ("central", "post")
        }
    )
    described = _descriptives(data, cells)
    pick = {
        "Rupture type": ("repaired", "unrepaired"),
        "Session": ("central", "post"),
        "Session x Rupture type": tuple(
            f"{role}_{kind}" for kind in ("repaired", "unrepaired") for role in ("central", "post")
        ),
    }
    group_sizes = {
        kind: data.loc[data["type"] == kind, "subject"].nunique()
        for kind in ("repaired", "unrepaired")
    }
    excluded = UNRESOLVED_NOTE.format(n_unresolved) if n_unresolved else ""
    note = ""
    result = None
    if min(group_sizes.values()) < MIN_PER_GROUP:
        sizes = ", ".join(f"{k}: {v}" for k, v in group_sizes.items())
        note = (
            f"not tested: coded sequences per rupture type ({sizes}); at least "
            f"{MIN_PER_GROUP} per type are needed"
        )
    else:
        options = {
            "subject": "subject",
            "between": "type",
            "within": "session",
            "n_resamples": n_resamples,
            "random_state": seed,
        }
        result, note = _call(aovperm, data, options)
    tick()
    note = "; ".join(part for part in (note, excluded) if part)
    rows = []
    for effect, source in (
        ("type", "Rupture type"),
        ("session", "Session"),
        ("type:session", "Session x Rupture type"),
    ):
        cell_stats = {
            key: value for key, value in described.items() if key.split("_", 1)[1] in pick[source]
        }
        values = {"n": n, "n_resamples": n_resamples, "random_state": seed, **cell_stats}
        if result is not None:
            line = result.table.loc[effect]
            values.update(
                df=line["df"],
                df_error=line["df_error"],
                F=line["F"],
                p=line["p_permutation"],
                p_parametric=line["p_parametric"],
                stars=stars(line["p_permutation"]),
                method=str(result.method),
                exact=bool(result.exact),
            )
        rows.append(_row(informant, behaviour, comparison, source, note=note, **values))
    rows.append(_total(informant, behaviour, comparison, n))
    return rows


def posthoc_rows(informant, behaviour, data, posthoc, n_resamples, seed, tick):
    """Post-hoc tests central vs post within each rupture type (``permanova.posthoc``).

    One paired permutation test per rupture type with at least ``MIN_PER_GROUP``
    sequences, Holm-adjusted over the tested types; smaller groups get a stated row.
    """
    sizes = data.groupby("type")["subject"].nunique()
    testable = [kind for kind in ("repaired", "unrepaired") if sizes.get(kind, 0) >= MIN_PER_GROUP]
    table, method, note = None, "", ""
    if testable:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result = posthoc(
                    data[data["type"].isin(testable)],
                    "value",
                    "session",
                    subject="subject",
                    by="type",
                    n_resamples=n_resamples,
                    random_state=seed,
                )
            table, method = result.table, str(result.method)
        except (ValueError, np.linalg.LinAlgError) as error:
            note = f"test not computed: {error}"
    tick()
    rows = []
    for kind in ("repaired", "unrepaired"):
        part = data[data["type"] == kind]
        m_central, sd_central = _m_sd(part.loc[part["session"] == "central", "value"])
        m_post, sd_post = _m_sd(part.loc[part["session"] == "post", "value"])
        row = dict.fromkeys(POSTHOC_COLUMNS, np.nan)
        row["exact"] = None
        row.update(
            informant=informant,
            behaviour=behaviour,
            rupture_type=kind,
            comparison="central vs post",
            n=int(sizes.get(kind, 0)),
            M_central=m_central,
            SD_central=sd_central,
            M_post=m_post,
            SD_post=sd_post,
            n_resamples=n_resamples,
            random_state=seed,
            stars="",
            method=method,
            note=note,
        )
        line = None if table is None else table[table["type"] == kind]
        if kind not in testable:
            row["method"] = ""
            row["note"] = (
                f"not tested: {row['n']} sequence(s); at least {MIN_PER_GROUP} are needed"
            )
        elif line is not None and len(line):
            line = line.iloc[0]
            row.update(
                df=1,
                df_error=line["df_error"],
                F=line["F"],
                p=line["p_permutation"],
                p_holm=line["p_holm"],
                exact=bool(line["exact"]),
                stars=stars(line["p_holm"]),
            )
        rows.append(row)
    return rows
