"""Stage 1 of the study: the data layout, and checked copies of the inputs and parameters."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from permanova._permutations import MAX_RESAMPLES
from tukeyrupture._validation import (
    check_bool,
    check_column_labels,
    check_columns,
    check_integer,
    check_real,
    plain,
    show_rows,
)
from tukeyrupture.detector import TukeyRuptureDetector

INFORMANTS = ("child", "therapist")
ITEMS = tuple(f"item_{j}" for j in range(1, 13))
KEYS = ("dyad", "informant", "session")
ROLES = ("pre", "central", "post")
REPAIRS = ("repaired", "unrepaired")
MAX_SESSION_SPAN = 1000
# Session numbers beyond this are not exactly representable as float64 integers.
MAX_SESSION_NUMBER = 2**53
MAX_MISSING_ITEMS = len(ITEMS) // 2  # the half rule of prorating (see run_study's Notes)


@dataclass(frozen=True)
class Scale:
    """An alliance questionnaire: item range and how items make a total score."""

    name: str
    low: float
    high: float
    statistic: str


@dataclass(frozen=True)
class Behaviour:
    """The score range of a coded in-session behaviour scale."""

    low: float
    high: float


SCALES = {
    "child": Scale("TASC-like, 12 items scored 1-4, total = item sum (12-48)", 1, 4, "sum"),
    "therapist": Scale("WAI-S-like, 12 items scored 1-7, total = item mean (1-7)", 1, 7, "mean"),
}
BEHAVIOURS = {
    "positive_child_involvement": Behaviour(0, 20),
    "positive_therapist_behavior": Behaviour(0, 28),
}


def _check_frame(data, name, columns, allow_empty=False):
    check_columns(data, name, columns)
    if data.empty and not allow_empty:
        raise ValueError(f"`{name}` has no rows.")
    missing_keys = data.index[data[list(KEYS)].isna().any(axis=1)]
    if len(missing_keys):
        raise ValueError(
            f"`{name}` has a missing dyad, informant or session in rows {show_rows(missing_keys)}."
        )


def _check_informants(data, name):
    informant = data["informant"].astype(str)
    unknown = ~informant.isin(INFORMANTS)
    if unknown.any():
        values = sorted(set(informant[unknown]))
        raise ValueError(
            f"`{name}['informant']` must be 'child' or 'therapist'; got {values[:5]} in rows "
            f"{show_rows(data.index[unknown.to_numpy()])}."
        )
    return informant


def _check_sessions(data, name):
    session = data["session"]
    numeric = pd.to_numeric(session, errors="coerce")
    bad = numeric.isna() | (numeric != np.round(numeric)) | pd.api.types.is_bool_dtype(session)
    if bool(np.any(bad)):
        raise ValueError(
            f"`{name}['session']` must hold whole session numbers; got "
            f"{list(session[bad.to_numpy()][:3])} in rows "
            f"{show_rows(data.index[bad.to_numpy()])}."
        )
    huge = ~(numeric.abs() <= MAX_SESSION_NUMBER).to_numpy(dtype=bool)
    if huge.any():
        raise ValueError(
            f"`{name}['session']` must hold finite session numbers below 2**53 in magnitude; "
            f"got {[plain(v) for v in session[huge][:3]]} in rows "
            f"{show_rows(data.index[huge])}."
        )
    session = numeric.astype("int64")
    span = int(session.max() - session.min()) + 1 if len(session) else 0
    if span > MAX_SESSION_SPAN:
        raise ValueError(
            f"`{name}['session']` runs from {session.min()} to {session.max()}; session "
            f"numbers must count treatment sessions (at most {MAX_SESSION_SPAN} apart), "
            "not dates or ids."
        )
    return session


def _unsupported_kind(column) -> str:
    """What a column holds when it looks numeric to pandas but is no score ('' if fine)."""
    if pd.api.types.is_bool_dtype(column):
        return "booleans"
    if pd.api.types.is_complex_dtype(column):
        return "complex numbers"
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        return f"dates or durations (dtype {column.dtype})"
    return ""


def _numeric_column(data, name, column):
    """One column as float, or a TypeError naming the column and the non-numeric rows."""
    raw = data[column]
    kind = _unsupported_kind(raw)
    if kind:
        raise TypeError(f"`{name}['{column}']` must be numeric; got {kind}.")
    if not pd.api.types.is_numeric_dtype(raw):  # blank text (e.g. " ") is missing
        is_complex = raw.map(lambda item: isinstance(item, (complex, np.complexfloating)))
        if is_complex.any():
            raise TypeError(
                f"`{name}['{column}']` must be numeric; got complex numbers "
                f"{list(raw[is_complex][:3])} in rows "
                f"{show_rows(data.index[is_complex.to_numpy()])}."
            )
        raw = raw.mask(raw.astype(str).str.strip().eq("") & raw.notna())
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = numeric.isna() & raw.notna()
    if bad.any():
        raise TypeError(
            f"`{name}['{column}']` must be numeric; got {list(raw[bad][:3])} in rows "
            f"{show_rows(data.index[bad.to_numpy()])}."
        )
    return numeric.astype("float64")


def _numeric_columns(data, name, columns):
    """The columns as float; infinite values are a ValueError naming the rows."""
    frame = pd.DataFrame(
        {column: _numeric_column(data, name, column) for column in columns}, index=data.index
    )
    infinite = np.isinf(frame.to_numpy()).any(axis=1)
    if infinite.any():
        raise ValueError(
            f"`{name}` has infinite values in rows {show_rows(data.index[infinite])}."
        )
    return frame


def _check_range(frame, name, low, high, mask, what):
    """ValueError naming the rows and columns of ``frame[mask]`` outside ``low..high``."""
    values = frame[mask]
    outside = (values < low) | (values > high)
    rows = outside.any(axis=1).to_numpy()
    if rows.any():
        first = int(np.flatnonzero(rows)[0])
        column = outside.columns[outside.iloc[first].to_numpy()][0]
        columns = list(outside.columns[outside.any(axis=0).to_numpy()])
        raise ValueError(
            f"`{name}` has {what} outside {low:g}..{high:g} in rows "
            f"{show_rows(values.index[rows])}, columns {columns}; e.g. row "
            f"{plain(values.index[first])!r} has {column} = {values[column].iloc[first]:g} "
            "(leave a missing answer empty, not coded as a number)."
        )


def _clean_keys(data, name):
    """``dyad`` (text), ``informant`` and ``session`` (int) of checked rows."""
    return pd.DataFrame(
        {
            "dyad": data["dyad"].astype(str),
            "informant": _check_informants(data, name),
            "session": _check_sessions(data, name),
        },
        index=data.index,
    )


def _check_duplicates(frame, name):
    duplicated = frame.duplicated(list(KEYS), keep=False)
    if duplicated.any():
        raise ValueError(
            f"`{name}` has more than one row for the same (dyad, informant, session): rows "
            f"{show_rows(frame.index[duplicated.to_numpy()])}."
        )


def check_alliance(alliance) -> pd.DataFrame:
    """Validated copy of the item-level alliance data with float items and int sessions."""
    name = "alliance"
    _check_frame(alliance, name, (*KEYS, *ITEMS))
    keys = _clean_keys(alliance, name)
    items = _numeric_columns(alliance, name, ITEMS)
    for who, scale in SCALES.items():
        mask = (keys["informant"] == who).to_numpy()
        _check_range(items, name, scale.low, scale.high, mask, f"{who} items")
    clean = pd.concat([keys, items], axis=1)
    _check_duplicates(clean, name)
    return clean


def _check_code_values(codes, name):
    values = _numeric_columns(codes, name, tuple(BEHAVIOURS))
    everywhere = np.ones(len(values), dtype=bool)
    for column, behaviour in BEHAVIOURS.items():
        _check_range(
            values[[column]], name, behaviour.low, behaviour.high, everywhere, f"{column} scores"
        )
    return values


def check_codes(codes, alliance: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Validated copy of the codes and notes about code rows that match no alliance row."""
    name = "codes"
    notes = []
    if not isinstance(codes, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame; got {type(codes).__name__}.")
    check_column_labels(codes, name)
    shared = "informant" not in codes.columns
    if shared:
        codes = codes.assign(informant=INFORMANTS[0])
        notes.append(
            "`codes` has no informant column: each coded session is used for both the "
            "children's and the therapists' rupture sequences."
        )
    _check_frame(codes, name, (*KEYS, *BEHAVIOURS), allow_empty=True)
    clean = pd.concat([_clean_keys(codes, name), _check_code_values(codes, name)], axis=1)
    _check_duplicates(clean, name)
    if shared:
        clean = pd.concat([clean.assign(informant=who) for who in INFORMANTS])
    unknown = ~clean["dyad"].isin(set(alliance["dyad"]))
    if unknown.any():
        raise ValueError(
            f"`codes` has dyads that are not in the alliance data: "
            f"{sorted(set(clean.loc[unknown, 'dyad']))[:5]} in rows "
            f"{show_rows(clean.index[unknown.to_numpy()])}."
        )
    if clean.empty:
        notes.append("`codes` has no rows: no rupture sequence is coded.")
    known = pd.MultiIndex.from_frame(alliance[list(KEYS)])
    matched = pd.MultiIndex.from_frame(clean[list(KEYS)]).isin(known)
    if not matched.all():
        rows = clean.index[~matched]
        notes.append(
            f"{len(rows)} code row(s) refer to sessions with no alliance row for that dyad and "
            f"informant (rows {show_rows(rows)}); they are kept and used only where they are "
            "the session of a rupture sequence (e.g. the post session of an unresolved "
            "rupture)."
        )
    return clean, notes


# --------------------------------------------------------------------------- parameters

_POOL_SIZE = np.random.SeedSequence(0).pool_size


def seed_of(random_state) -> int:
    """The run's integer seed: ``default_rng(seed)`` gives the generator the tests draw from.

    Drawn seeds have 32 bits, as the per-test seeds derived from them. A SeedSequence is
    only read (``generate_state`` does not advance it), never spawned from; a Generator
    or RandomState gives one draw, as any use of it would.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, (int, np.integer)) and not isinstance(
        random_state, (bool, np.bool_)
    ):
        if random_state < 0:
            raise ValueError(
                f"`random_state` must be a non-negative integer; got {int(random_state)}."
            )
        return int(random_state)
    if isinstance(random_state, np.random.SeedSequence):
        if (
            isinstance(random_state.entropy, int)
            and not random_state.spawn_key
            and random_state.pool_size == _POOL_SIZE
        ):
            return random_state.entropy  # default_rng(entropy) equals default_rng(it)
        return int(random_state.generate_state(1)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**32, dtype=np.uint64))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**32, dtype=np.uint64))
    raise TypeError(
        "`random_state` must be None, a non-negative integer, a numpy SeedSequence, "
        f"Generator or RandomState; got {random_state!r} ({type(random_state).__name__})."
    )


def _max_missing_iv(max_missing_items):
    if max_missing_items is None:
        return None
    wanted = f"`max_missing_items` must be None or an integer from 0 to {len(ITEMS)}"
    if isinstance(max_missing_items, (bool, np.bool_)) or not isinstance(
        max_missing_items, (int, np.integer)
    ):
        raise TypeError(f"{wanted}; got {max_missing_items!r}.")
    if not 0 <= max_missing_items <= len(ITEMS):
        raise ValueError(f"{wanted}; got {int(max_missing_items)}.")
    return int(max_missing_items)


def run_study_iv(
    alliance, codes, detector, n_resamples, random_state, alpha, progress, max_missing_items
):
    """Checked copies of the data, the options of the run and the notes on the codes."""
    if detector is None:
        detector = TukeyRuptureDetector()
    elif not isinstance(detector, TukeyRuptureDetector):
        raise TypeError(
            f"`detector` must be a TukeyRuptureDetector or None; got {type(detector).__name__}."
        )
    options = {
        "detector": detector,
        "n_resamples": check_integer("n_resamples", n_resamples, 1, MAX_RESAMPLES),
        "alpha": check_real("alpha", alpha, low=0, high=1, open_low=True, open_high=True),
        "progress": check_bool("progress", progress),
        "max_missing_items": _max_missing_iv(max_missing_items),
    }
    clean_alliance = check_alliance(alliance)
    notes = []
    clean_codes = None
    if codes is not None:
        clean_codes, notes = check_codes(codes, clean_alliance)
    options["seed"] = seed_of(random_state)  # last: a Generator advances only for a real run
    return clean_alliance, clean_codes, options, notes
