"""Stage 3 of the study: the permutation ANOVAs, one function per family of tests.

Each family (pre vs central, rupture type x session, post hoc) draws its own seeds from the
run's seed, shows its own progress and returns tidy rows built from
:meth:`permanova.AovPermResult.to_frame` (or :meth:`permanova.PosthocResult.to_frame`): one
row per effect with the columns of permanova plus the study's keys, the number of
sequences, the cell means and SDs, the seed and a note.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from tukeyrupture._validation import progress_bar
from tukeyrupture.study._inputs import BEHAVIOURS, INFORMANTS, REPAIRS
from tukeyrupture.study._labels import SOURCE_LABELS, TOTAL
from tukeyrupture.study._sequences import analysed_mask

MIN_PER_GROUP = 2
FAMILIES = ("pre vs central", "central vs post", "posthoc")
UNRESOLVED_NOTE = "{} coded unresolved rupture(s) (no post session) excluded"
UNRESOLVED_PATTERN = re.compile(
    "(^|; )" + re.escape(UNRESOLVED_NOTE).replace(r"\{\}", r"\d+") + "$"
)
_CELLS = {  # effect -> the cells whose mean and SD describe it
    "pre vs central": {"session": ("pre", "central")},
    "central vs post": {
        "type": REPAIRS,
        "session": ("central", "post"),
        "type:session": tuple(f"{r}_{k}" for k in REPAIRS for r in ("central", "post")),
    },
}
_DESCRIPTIVES = [
    f"{stat}_{cell}"
    for cell in (
        "pre",
        "central",
        "post",
        *REPAIRS,
        *(f"{role}_{kind}" for kind in REPAIRS for role in ("central", "post")),
    )
    for stat in ("M", "SD")
]
_KEYS = ["informant", "behaviour", "comparison"]
_RUN = ["method", "n_resamples", "exact", "random_state", "note"]
ANOVA_COLUMNS = [
    *_KEYS,
    "source",
    "effect",
    "n",
    "df",
    "df_error",
    "SS",
    "SS_error",
    "F",
    "p_parametric",
    "p_permutation",
    *_DESCRIPTIVES,
    *_RUN,
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
    "p_parametric",
    "p_permutation",
    "p_holm",
    "M_central",
    "SD_central",
    "M_post",
    "SD_post",
    *_RUN,
]
_INTEGERS = {"n": "Int64", "n_resamples": "Int64", "random_state": "Int64"}


def anova_data(sequences: pd.DataFrame) -> pd.DataFrame:
    """The long data of every test: one row per sequence (``subject``) and session.

    ``pre vs central`` holds the sequences with the behaviour observed at all three
    sessions; ``central vs post`` those of them whose rupture is repaired or unrepaired.
    """
    parts = []
    for behaviour in BEHAVIOURS:
        used = sequences[analysed_mask(sequences, behaviour)]
        resolved = used[used["repair"].isin(REPAIRS)]
        for comparison, rows, roles in (
            ("pre vs central", used, ("pre", "central")),
            ("central vs post", resolved, ("central", "post")),
        ):
            for role in roles:
                parts.append(
                    pd.DataFrame(
                        {
                            "informant": rows["informant"].to_numpy(dtype=object),
                            "behaviour": behaviour,
                            "comparison": comparison,
                            "subject": rows["sequence"].to_numpy(dtype=object),
                            "type": rows["repair"].to_numpy(dtype=object),
                            "session": role,
                            "value": rows[f"{behaviour}_{role}"].to_numpy(dtype=float),
                        }
                    )
                )
    columns = [*_KEYS, "subject", "type", "session", "value"]
    return pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)


def family_seeds(seed: int, family: str) -> pd.Series:
    """The seed of each (informant, behaviour) test of ``family``.

    ``default_rng(seed)`` draws three 32-bit seeds per informant and behaviour, in the
    order of ``INFORMANTS`` x ``BEHAVIOURS``, one per family: a row is reproduced by a
    direct ``aovperm`` call with its seed, the whole run by the run's seed.
    """
    slots = pd.MultiIndex.from_product([INFORMANTS, BEHAVIOURS], names=["informant", "behaviour"])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, 2**32, size=(len(slots), len(FAMILIES)), dtype=np.uint64)
    return pd.Series(draws[:, FAMILIES.index(family)].astype(np.int64), index=slots)


def _slots(data, comparison):
    """Each (informant, behaviour) with the long data of its test (maybe empty)."""
    own = data[data["comparison"] == comparison]
    groups = dict(tuple(own.groupby(["informant", "behaviour"], sort=False)))
    empty = own.iloc[:0]
    return [((i, b), groups.get((i, b), empty)) for i in INFORMANTS for b in BEHAVIOURS]


def _quietly(test, *args, **options):
    """Run a permanova test; a ValueError or a linear-algebra failure becomes a reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return test(*args, **options), ""
    except (ValueError, np.linalg.LinAlgError) as error:
        return None, f"test not computed: {error}"


def _m_sd(data, by) -> pd.DataFrame:
    """Mean and SD (ddof=1) of ``value`` per cell of ``by`` (NaN SD for one value)."""
    stats = data.groupby(by)["value"].agg(M="mean", SD=lambda v: v.std(ddof=1))
    if isinstance(by, list):
        stats.index = ["_".join(map(str, key)) for key in stats.index]
    return stats


def _descriptives(data, comparison) -> dict[str, dict[str, float]]:
    """Per effect, ``{"M_pre": ..., "SD_pre": ...}`` over the effect's cells."""
    stats = pd.concat(
        [_m_sd(data, "session"), _m_sd(data, "type"), _m_sd(data, ["session", "type"])]
    )
    out = {}
    for effect, cells in _CELLS[comparison].items():
        chosen = stats.reindex(list(cells))
        out[effect] = {
            f"{stat}_{cell}": float(chosen.at[cell, stat])
            for cell in cells
            for stat in ("M", "SD")
        }
    return out


def _rows(keys, comparison, n, result, note, seed, n_resamples, data) -> pd.DataFrame:
    """The effect rows of one test (from ``result.to_frame()``) and its Total row."""
    effects = list(_CELLS[comparison])
    if result is None:
        frame = pd.DataFrame({"effect": effects})
    else:
        frame = result.to_frame().set_index("effect").loc[effects].reset_index()
        frame["exact"] = frame["exact"].astype(bool)
    described = _descriptives(data, comparison)
    frame = frame.assign(
        source=frame["effect"].map(SOURCE_LABELS),
        n=n,
        n_resamples=n_resamples,
        random_state=seed,
        note=note,
    )
    cells = pd.DataFrame([described[e] for e in frame["effect"]], index=frame.index)
    total = {"source": TOTAL, "effect": "", "n": n, "df": n - 1 if n else np.nan, "note": ""}
    frame = pd.concat([frame.join(cells), pd.DataFrame([total])], ignore_index=True)
    return frame.assign(informant=keys[0], behaviour=keys[1], comparison=comparison)


def _tidy(frames, columns) -> pd.DataFrame:
    """Rows in the study's order with every column (NaN where a row has no value)."""
    frame = pd.concat(frames, ignore_index=True).reindex(columns=columns)
    frame = frame.astype(_INTEGERS)
    frame["exact"] = frame["exact"].astype(object).where(frame["exact"].notna(), None)
    for column in ("method", "note"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), "")
    return frame


def _not_tested(sizes) -> str:
    if len(sizes) == 1:
        (n,) = sizes.values()
        return f"not tested: {n} coded rupture sequence(s); at least {MIN_PER_GROUP} are needed"
    listed = ", ".join(f"{kind}: {n}" for kind, n in sizes.items())
    return (
        f"not tested: coded sequences per rupture type ({listed}); at least "
        f"{MIN_PER_GROUP} per type are needed"
    )


def _family(data, comparison, design, *, seed, n_resamples, progress, notes=None):
    """Every (informant, behaviour) test of one ANOVA family, as tidy rows."""
    from permanova import aovperm

    seeds = family_seeds(seed, comparison)
    frames = []
    slots = _slots(data, comparison)
    with progress_bar(
        total=len(slots), desc=f"permutation tests ({comparison})", unit="test", enabled=progress
    ) as bar:
        for keys, own in slots:
            n = own["subject"].nunique()
            groups = design.get("between")
            sizes = (
                {kind: own.loc[own["type"] == kind, "subject"].nunique() for kind in REPAIRS}
                if groups
                else {"all": n}
            )
            result, note = None, ""
            if min(sizes.values()) < MIN_PER_GROUP:
                note = _not_tested(sizes)
            else:
                result, note = _quietly(
                    aovperm,
                    own,
                    "value",
                    subject="subject",
                    n_resamples=n_resamples,
                    random_state=int(seeds[keys]),
                    **design,
                )
            extra = (notes or {}).get(keys, "")
            note = "; ".join(part for part in (note, extra) if part)
            frames.append(
                _rows(keys, comparison, n, result, note, int(seeds[keys]), n_resamples, own)
            )
            bar.update(1)
    return _tidy(frames, ANOVA_COLUMNS)


def oneway_tests(data, *, seed, n_resamples, progress=False) -> pd.DataFrame:
    """Pre vs central: a one-way within-subject permutation ANOVA per informant, behaviour."""
    return _family(
        data,
        "pre vs central",
        {"within": "session"},
        seed=seed,
        n_resamples=n_resamples,
        progress=progress,
    )


def mixed_tests(data, *, seed, n_resamples, progress=False) -> pd.DataFrame:
    """Rupture type (between) x session (central, post; within) mixed permutation ANOVAs.

    The note of each test says how many analysed unresolved ruptures it leaves out.
    """
    analysed = data[(data["comparison"] == "pre vs central") & (data["session"] == "pre")]
    unresolved = analysed[analysed["type"] == "unresolved"].groupby(["informant", "behaviour"])
    notes = {keys: UNRESOLVED_NOTE.format(len(rows)) for keys, rows in unresolved}
    return _family(
        data,
        "central vs post",
        {"between": "type", "within": "session"},
        seed=seed,
        n_resamples=n_resamples,
        progress=progress,
        notes=notes,
    )


def _posthoc_rows(keys, own, seed, n_resamples):
    """Central vs post within each rupture type of one mixed ANOVA, Holm-adjusted."""
    from permanova import posthoc

    sizes = own.groupby("type")["subject"].nunique().reindex(list(REPAIRS), fill_value=0)
    testable = [kind for kind in REPAIRS if sizes[kind] >= MIN_PER_GROUP]
    frame = pd.DataFrame({"rupture_type": list(REPAIRS), "n": sizes.to_numpy()})
    note = ""
    if testable:
        result, note = _quietly(
            posthoc,
            own[own["type"].isin(testable)],
            "value",
            "session",
            subject="subject",
            by="type",
            n_resamples=n_resamples,
            random_state=seed,
        )
        if result is not None:
            columns = ["df_error", "F", "p_parametric", "p_permutation", "p_holm", "exact"]
            tests = result.to_frame().rename(columns={"type": "rupture_type"})
            tests = tests[["rupture_type", *columns, "method"]].assign(df=1)
            frame = frame.merge(tests, on="rupture_type", how="left", validate="1:1")
    cells = _m_sd(own, ["session", "type"])
    for role in ("central", "post"):
        chosen = cells.reindex([f"{role}_{kind}" for kind in REPAIRS])
        frame[f"M_{role}"] = chosen["M"].to_numpy()
        frame[f"SD_{role}"] = chosen["SD"].to_numpy()
    small = ~frame["rupture_type"].isin(testable)
    too_few = "not tested: " + frame["n"].astype(str) + f" sequence(s); at least {MIN_PER_GROUP}"
    frame["note"] = np.where(small, too_few + " are needed", note)
    if "method" in frame:
        frame["method"] = frame["method"].where(~small, "")
    return frame.assign(
        informant=keys[0],
        behaviour=keys[1],
        comparison="central vs post",
        n_resamples=n_resamples,
        random_state=seed,
    )


def posthoc_tests(data, anova, *, seed, n_resamples, alpha, progress=False) -> pd.DataFrame:
    """Post hoc tests of every mixed ANOVA whose interaction has p_permutation < alpha."""
    seeds = family_seeds(seed, "posthoc")
    interaction = anova[(anova["effect"] == "type:session") & (anova["p_permutation"] < alpha)]
    flagged = list(zip(interaction["informant"], interaction["behaviour"]))
    slots = [(keys, own) for keys, own in _slots(data, "central vs post") if keys in flagged]
    frames = []
    with progress_bar(
        total=len(slots), desc="permutation tests (post hoc)", unit="test", enabled=progress
    ) as bar:
        for keys, own in slots:
            frames.append(_posthoc_rows(keys, own, int(seeds[keys]), n_resamples))
            bar.update(1)
    if not frames:
        return _tidy([pd.DataFrame(columns=POSTHOC_COLUMNS)], POSTHOC_COLUMNS)
    return _tidy(frames, POSTHOC_COLUMNS)


def run_tests(sequences, *, seed, n_resamples, alpha, progress=False):
    """The long test data, Tables 2 and 3 (``anova``) and the post hoc tests."""
    data = anova_data(sequences)
    options = {"seed": seed, "n_resamples": n_resamples, "progress": progress}
    oneway = oneway_tests(data, **options)
    mixed = mixed_tests(data, **options)
    order = {keys: i for i, keys in enumerate((i, b) for i in INFORMANTS for b in BEHAVIOURS)}
    anova = pd.concat([oneway, mixed], ignore_index=True)
    slot = pd.Series(list(zip(anova["informant"], anova["behaviour"]))).map(order)
    anova = anova.iloc[np.argsort(slot.to_numpy(), kind="stable")].reset_index(drop=True)
    return data, anova, posthoc_tests(data, anova, alpha=alpha, **options)
