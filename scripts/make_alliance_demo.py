"""Generate the bundled synthetic alliance data set ``tukeyrupture/_data/alliance.csv``.

The data are SYNTHETIC: no person and no session in them is real. They imitate weekly
child-rated alliance totals of the Therapeutic Alliance Scale for Children (TASC: 12 items
scored 1 to 4, so totals run from 12 to 48, and children mostly rate their therapist high):

* 300 series (``C001`` ... ``C300``) of 8 to 20 sessions, numbered from 1;
* a person-level mean around 38 (SD 3.5), a person-level session-to-session SD of 1 to
  2.5 points and a small upward trend; totals are rounded to integers and clipped to
  12..48 (so high scorers meet the ceiling, as real TASC data do);
* about 8% of sessions missing (their rows are absent from the file), and about one series
  in ten ending early (drop-out), so some series are too short to be analysed;
* a planted alliance drop of 6 to 12 points in about a third of the series: in 60% of them
  the next session returns to the person's usual level (a repaired rupture), in the others
  the alliance stays low for a few sessions (an unrepaired rupture). The session after a
  drop can itself be missing, which the detector reports as unresolved.

Noise alone also produces some detections, as it would in real data; the file does not say
which series carry a planted drop. Run from the repository root::

    python scripts/make_alliance_demo.py

The seed is fixed, so the file is reproduced byte for byte by the same numpy version.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261128
N_SERIES = 300
MIN_SESSIONS, MAX_SESSIONS = 8, 20
SCORE_MIN, SCORE_MAX = 12, 48
MISSING_RATE = 0.08
DROPOUT_RATE = 0.10
DROP_RATE = 1 / 3
REPAIRED_SHARE = 0.6

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "tukeyrupture" / "_data" / "alliance.csv"


def _one_series(rng: np.random.Generator, number: int) -> pd.DataFrame:
    n_sessions = int(rng.integers(MIN_SESSIONS, MAX_SESSIONS + 1))
    person_mean = float(np.clip(rng.normal(38.0, 3.5), 26.0, 46.0))
    person_sd = float(rng.uniform(1.0, 2.5))
    trend = float(rng.normal(0.08, 0.08))
    sessions = np.arange(n_sessions)
    level = person_mean + trend * (sessions - sessions.mean())
    scores = level + rng.normal(0.0, person_sd, n_sessions)
    keep = rng.random(n_sessions) >= MISSING_RATE

    if n_sessions >= 8 and rng.random() < DROP_RATE:
        central = int(rng.integers(2, n_sessions - 1))  # 0-based; a post session exists
        size = float(rng.uniform(6.0, 12.0))
        scores[central] = level[central] - size + rng.normal(0.0, 0.5)
        keep[central - 1] = keep[central] = True
        if rng.random() >= REPAIRED_SHARE:  # unrepaired: stays low, then recovers slowly
            length = int(rng.integers(2, 5))
            for step, t in enumerate(range(central + 1, min(central + 1 + length, n_sessions))):
                recovery = (step + 1) / (length + 1)
                scores[t] = level[t] - size * (1 - recovery) * rng.uniform(0.7, 1.0)

    if rng.random() < DROPOUT_RATE:
        keep[int(rng.integers(4, n_sessions)) :] = False

    totals = np.clip(np.rint(scores), SCORE_MIN, SCORE_MAX).astype(int)
    return pd.DataFrame(
        {
            "series": f"C{number:03d}",
            "session": sessions[keep] + 1,
            "score": totals[keep],
        }
    )


def make_alliance_demo(seed: int = SEED, n_series: int = N_SERIES) -> pd.DataFrame:
    """The synthetic long data set: columns ``series, session, score``."""
    rng = np.random.default_rng(seed)
    frames = [_one_series(rng, number) for number in range(1, n_series + 1)]
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    args = parser.parse_args()
    data = make_alliance_demo()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    data.to_csv(args.out, index=False, lineterminator="\n")
    print(
        f"wrote {args.out}: {data['series'].nunique()} series, {len(data)} sessions, "
        f"{args.out.stat().st_size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    main()
