"""Generate the bundled synthetic study: ``study_alliance.csv`` and ``study_codes.csv``.

The data are SYNTHETIC: no person, session or recording in them is real. They imitate the
design of the clinical study that ``tukeyrupture.study.run_study`` reproduces (89 anxious
children in cognitive-behavioural therapy, each rating the alliance weekly, and their
therapists doing the same), never its numbers.

``study_alliance.csv`` (item level, one row per dyad, informant and attended session):

* 89 dyads (``D01`` ... ``D89``) with 10 to 16 planned sessions, numbered from 1;
* children answer a TASC-like scale: 12 items scored 1 to 4 (totals 12 to 48, mostly high,
  with ceiling effects); therapists a WAI-S-like scale: 12 items scored 1 to 7, scored as
  the item mean;
* each person's alliance drifts smoothly from session to session (an AR(1) process around a
  person-level mean with a small upward trend), and the items scatter around it;
* about 2% (children) and 4% (therapists) of the item answers are missing;
* sessions are missing at random, and some series drop out early or are too patchy to hold 7
  consecutive sessions: 19 child and 33 therapist series are ineligible by construction, so
  that 70 child and 56 therapist series can be analysed, as in the study;
* alliance drops are planted in 13 child and 18 therapist series (a few series carry two or
  three): after the drop the alliance returns to the person's usual level (repaired) or
  stays low (unrepaired), and the session after a drop is sometimes missing (unresolved).
  Noise also produces detections and some planted drops are too small to be found, as in
  real data.

``study_codes.csv`` (coded in-session behaviour, one row per dyad, informant and coded
session): for the rupture sequences that the study's detector (``TukeyRuptureDetector()``,
k = 1, absolute criterion 2 pooled SD) finds in the alliance data, the sessions are "coded"
like audio recordings with the CIRS and the TABBS: ``positive_child_involvement`` (4 items
scored 0 to 5, sum 0 to 20) and ``positive_therapist_behavior`` (7 items scored 0 to 4, sum
0 to 28). About a fifth of the sequences lack the recording of one session, as in the study.
The planted effects: during therapists' ruptures both behaviours dip at the central session
and, after repaired ruptures only, come back at the post session; during children's ruptures
they rise slightly from the pre to the central session (as the study found) and do not
differ between repaired and unrepaired ruptures.

Run from the repository root::

    python scripts/make_study_demo.py

The seed is fixed, so the files are reproduced byte for byte by the same numpy version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from tukeyrupture import TukeyRuptureDetector, from_long, total_scores

SEED = 20170089
N_DYADS = 89
N_ITEMS = 12
N_INELIGIBLE = {"child": 19, "therapist": 33}
N_PLANTED = {"child": 6, "therapist": 15}
UNREPAIRED_SHARE = {"child": 0.5, "therapist": 0.35}
# informant: (lowest item score, highest, statistic, person mean on the item scale, its SD,
#             session-to-session SD, item noise SD, share of missing items)
SCALES = {
    "child": (1, 4, "sum", 3.1, 0.25, 0.08, 0.3, 0.02),
    "therapist": (1, 7, "mean", 5.0, 0.45, 0.12, 0.35, 0.04),
}
TREND = (0.035, 0.03)  # mean and SD across persons of the slope (item units per session)
ITEM_SPREAD = 0.5  # SD of the item difficulties around the person's level
AR = 0.85
CODED_SHARE = 0.8
BEHAVIOURS = {
    # name: (number of items, highest item score)
    "positive_child_involvement": (4, 5),
    "positive_therapist_behavior": (7, 4),
}
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "tukeyrupture" / "_data"


def _session_plan(rng, n_dyads):
    """Number of planned sessions per dyad: 12 (manualised CBT) or 10 to 16 (usual care)."""
    cbt = rng.random(n_dyads) < 0.5
    return np.where(cbt, 12, rng.integers(10, 17, n_dyads))


def _longest_run(observed):
    best = run = 0
    for flag in observed:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _attendance(rng, n_sessions, eligible, missing_rate):
    """Observed-session mask with (eligible) or without (ineligible) a run of 7."""
    while True:
        if eligible:
            observed = rng.random(n_sessions) >= missing_rate
        elif rng.random() < 0.5:  # drop-out after 3 to 6 sessions
            observed = np.zeros(n_sessions, dtype=bool)
            last = int(rng.integers(3, 7))
            observed[:last] = rng.random(last) >= missing_rate / 2
        else:  # patchy: many missed weeks
            observed = rng.random(n_sessions) >= 0.35
        if (_longest_run(observed) >= 7) == eligible and observed.sum() >= 2:
            return observed


def _latent_series(rng, n_sessions, mean, person_sd, within_sd):
    """Person-level mean + small trend + AR(1) fluctuation, on the item scale."""
    level = rng.normal(mean, person_sd)
    trend = rng.normal(*TREND)
    noise = np.empty(n_sessions)
    noise[0] = rng.normal(0.0, within_sd)
    innovation_sd = within_sd * np.sqrt(1 - AR**2)
    for t in range(1, n_sessions):
        noise[t] = AR * noise[t - 1] + rng.normal(0.0, innovation_sd)
    return level + trend * (np.arange(n_sessions) - n_sessions / 2) + noise


def _plant_drops(rng, latent, observed, within_sd, unrepaired_share):
    """Plant one to three drops; return the latent series changed in place."""
    n_sessions = latent.size
    n_drops = rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3])
    # the session after a drop is nearly always attended (the study had no unresolved one)
    candidates = [
        t
        for t in range(1, n_sessions)
        if observed[t] and observed[t - 1] and (t + 1 < n_sessions and observed[t + 1])
    ]
    rng.shuffle(candidates)
    chosen = []
    for t in candidates:
        if all(abs(t - other) >= 3 for other in chosen):
            chosen.append(t)
        if len(chosen) == n_drops:
            break
    for t in chosen:
        size = rng.uniform(6.0, 10.0) * within_sd
        latent[t] -= size
        if t + 1 < n_sessions and rng.random() < unrepaired_share:  # unrepaired: stays low a while
            stay = int(rng.integers(1, 3))
            latent[t + 1 : t + 1 + stay] -= size * rng.uniform(0.7, 1.0)
    return latent


def _items(rng, latent, low, high, noise_sd, missing_share):
    offsets = rng.normal(0.0, ITEM_SPREAD, N_ITEMS)
    raw = latent[:, None] + offsets[None, :] + rng.normal(0.0, noise_sd, (latent.size, N_ITEMS))
    items = np.clip(np.rint(raw), low, high)
    items[rng.random(items.shape) < missing_share] = np.nan
    return items


def make_alliance(rng: np.random.Generator) -> pd.DataFrame:
    """The item-level alliance data of both informants."""
    n_sessions = _session_plan(rng, N_DYADS)
    dyads = [f"D{number:02d}" for number in range(1, N_DYADS + 1)]
    frames = []
    for informant, (low, high, _, mean, person_sd, within_sd, noise_sd, missing) in SCALES.items():
        ineligible = set(rng.choice(N_DYADS, N_INELIGIBLE[informant], replace=False))
        eligible_index = [i for i in range(N_DYADS) if i not in ineligible]
        planted = set(rng.choice(eligible_index, N_PLANTED[informant], replace=False))
        missing_rate = 0.06 if informant == "child" else 0.1
        for i, dyad in enumerate(dyads):
            observed = _attendance(rng, n_sessions[i], i not in ineligible, missing_rate)
            latent = _latent_series(rng, n_sessions[i], mean, person_sd, within_sd)
            if i in planted:
                latent = _plant_drops(
                    rng, latent, observed, within_sd, UNREPAIRED_SHARE[informant]
                )
            items = _items(rng, latent, low, high, noise_sd, missing)
            sessions = np.flatnonzero(observed)
            frame = pd.DataFrame(items[sessions], columns=[f"item_{j}" for j in range(1, 13)])
            frame.insert(0, "session", sessions + 1)
            frame.insert(0, "informant", informant)
            frame.insert(0, "dyad", dyad)
            frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    return data.sort_values(["dyad", "informant", "session"], ignore_index=True)


def _sequences(alliance: pd.DataFrame) -> pd.DataFrame:
    """Rupture sequences found by the study's detector, per informant."""
    frames = []
    for informant, (_, _, statistic, *_) in SCALES.items():
        rows = alliance[alliance["informant"] == informant]
        items = rows[[f"item_{j}" for j in range(1, 13)]]
        scores = rows[["dyad", "session"]].assign(
            alliance=total_scores(items, statistic=statistic).to_numpy()
        )
        X, series, sessions = from_long(scores, series="dyad", session="session", value="alliance")
        frame = pd.DataFrame(X, index=series, columns=sessions)
        result = TukeyRuptureDetector().fit(X).detect(frame)
        found = result.to_frame().rename(columns={"series": "dyad"})
        frames.append(found.assign(informant=informant))
    return pd.concat(frames, ignore_index=True)


def _behaviour(rng, center, sd, n_items, top):
    return int(np.clip(np.rint(rng.normal(center, sd)), 0, n_items * top))


def make_codes(rng: np.random.Generator, alliance: pd.DataFrame) -> pd.DataFrame:
    """Coded behaviour for the sessions of (most) rupture sequences."""
    sequences = _sequences(alliance)
    # centre of each behaviour per informant and role; post depends on the repair
    effects = {
        "child": {"pre": -1.0, "central": 1.0, "repaired": 0.8, "unrepaired": 0.6},
        "therapist": {"pre": 1.2, "central": -2.2, "repaired": 1.4, "unrepaired": -2.4},
    }
    centres = {"positive_child_involvement": 11.0, "positive_therapist_behavior": 8.5}
    rows = {}
    for sequence in sequences.itertuples(index=False):
        if rng.random() > CODED_SHARE:
            missing_role = rng.choice(["pre", "central", "post"])
        else:
            missing_role = None
        roles = {
            "pre": sequence.pre_session,
            "central": sequence.central_session,
            "post": sequence.post_session,
        }
        person = {name: rng.normal(0.0, 1.8) for name in BEHAVIOURS}
        for role, session in roles.items():
            if role == missing_role or pd.isna(session):
                continue
            key = (sequence.dyad, sequence.informant, int(session))
            if key in rows:
                continue
            shift_key = role if role != "post" else sequence.repair
            shift = effects[sequence.informant].get(shift_key, 0.0)
            rows[key] = {
                name: _behaviour(rng, centres[name] + person[name] + shift, 1.6, *scale)
                for name, scale in BEHAVIOURS.items()
            }
    codes = pd.DataFrame(
        [
            {"dyad": dyad, "informant": informant, "session": session, **values}
            for (dyad, informant, session), values in rows.items()
        ]
    )
    return codes.sort_values(["dyad", "informant", "session"], ignore_index=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(SEED)
    alliance = make_alliance(rng)
    codes = make_codes(rng, alliance)
    args.out.mkdir(parents=True, exist_ok=True)
    alliance.to_csv(args.out / "study_alliance.csv", index=False, float_format="%g")
    codes.to_csv(args.out / "study_codes.csv", index=False)
    print(f"wrote {len(alliance)} alliance rows and {len(codes)} code rows to {args.out}")


if __name__ == "__main__":
    main()
