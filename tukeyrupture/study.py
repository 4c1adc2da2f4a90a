"""The clinical study's analysis, end to end: detection, rupture sequences, ANOVAs, report.

:func:`run_study` reproduces the analysis of the study on alliance ruptures in child
psychotherapy that this package was written for (see the "Reproducing the study" page):
per informant (children and therapists), alliance totals from item scores, Tukey's
control-chart rupture rule, rupture sequences (pre-rupture, central and post-rupture
session), and permutation ANOVAs of the coded in-session behaviour during these sequences.
It returns a :class:`StudyReport` with the study's Tables 1-3 and Figures 1-8, which
:meth:`StudyReport.save` writes as CSV and PNG files and one self-contained HTML report.
"""

from __future__ import annotations

import json
import os
import types
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from permanova._permutations import MAX_RESAMPLES
from tukeyrupture import _study_tables as tables
from tukeyrupture.detector import TukeyRuptureDetector

__all__ = ["BEHAVIOURS", "INFORMANTS", "SCALES", "StudyReport", "run_study"]

INFORMANTS = ("child", "therapist")
ITEMS = tuple(f"item_{j}" for j in range(1, 13))
KEYS = ("dyad", "informant", "session")
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
    """A coded in-session behaviour scale."""

    label: str
    low: float
    high: float


SCALES = {
    "child": Scale("TASC-like, 12 items scored 1-4, total = item sum (12-48)", 1, 4, "sum"),
    "therapist": Scale("WAI-S-like, 12 items scored 1-7, total = item mean (1-7)", 1, 7, "mean"),
}
BEHAVIOURS = {
    "positive_child_involvement": Behaviour("Positive child involvement", 0, 20),
    "positive_therapist_behavior": Behaviour("Positive therapist behavior", 0, 28),
}


def _label(value):
    return value.item() if isinstance(value, np.generic) else value


def _rows(index, limit=5) -> str:
    labels = [_label(item) for item in index[:limit]]
    more = f" (and {len(index) - limit} more)" if len(index) > limit else ""
    return f"{labels}{more}"


def _check_labels(data, name):
    """A DataFrame with one level of unique column labels, or a TypeError/ValueError."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"`{name}` must be a pandas DataFrame; got {type(data).__name__}.")
    if isinstance(data.columns, pd.MultiIndex):
        raise ValueError(
            f"`{name}` has MultiIndex column labels ({data.columns.nlevels} levels, e.g. "
            f"{_label(data.columns[0])!r}); it needs one level of column names "
            "(flatten them first)."
        )
    duplicated = data.columns[data.columns.duplicated()].unique()
    if len(duplicated):
        raise ValueError(
            f"`{name}` has duplicated column labels {[_label(c) for c in duplicated]}; "
            "each column needs a name of its own."
        )


def _check_frame(data, name, columns, allow_empty=False):
    _check_labels(data, name)
    missing = [column for column in columns if column not in data.columns]
    if missing:
        raise ValueError(
            f"`{name}` has no column(s) {missing}; it needs {list(columns)} "
            f"(available: {list(data.columns)})."
        )
    if data.empty and not allow_empty:
        raise ValueError(f"`{name}` has no rows.")
    missing_keys = data.index[data[list(KEYS)].isna().any(axis=1)]
    if len(missing_keys):
        raise ValueError(
            f"`{name}` has a missing dyad, informant or session in rows {_rows(missing_keys)}."
        )


def _check_informants(data, name):
    informant = data["informant"].astype(str)
    unknown = ~informant.isin(INFORMANTS)
    if unknown.any():
        values = sorted(set(informant[unknown]))
        raise ValueError(
            f"`{name}['informant']` must be 'child' or 'therapist'; got {values[:5]} in rows "
            f"{_rows(data.index[unknown.to_numpy()])}."
        )
    return informant


def _check_sessions(data, name):
    session = data["session"]
    numeric = pd.to_numeric(session, errors="coerce")
    bad = numeric.isna() | (numeric != np.round(numeric)) | pd.api.types.is_bool_dtype(session)
    if bool(np.any(bad)):
        raise ValueError(
            f"`{name}['session']` must hold whole session numbers; got "
            f"{list(session[bad.to_numpy()][:3])} in rows {_rows(data.index[bad.to_numpy()])}."
        )
    huge = ~(numeric.abs() <= MAX_SESSION_NUMBER).to_numpy(dtype=bool)
    if huge.any():
        raise ValueError(
            f"`{name}['session']` must hold finite session numbers below 2**53 in magnitude; "
            f"got {[_label(v) for v in session[huge][:3]]} in rows {_rows(data.index[huge])}."
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


def _numeric_columns(data, name, columns):
    """The columns as float, or TypeError naming the column and the non-numeric rows."""
    values = {}
    for column in columns:
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
                    f"{_rows(data.index[is_complex.to_numpy()])}."
                )
            raw = raw.mask(raw.astype(str).str.strip().eq("") & raw.notna())
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = numeric.isna() & raw.notna()
        if bad.any():
            raise TypeError(
                f"`{name}['{column}']` must be numeric; got {list(raw[bad][:3])} in rows "
                f"{_rows(data.index[bad.to_numpy()])}."
            )
        values[column] = numeric.astype("float64")
    frame = pd.DataFrame(values, index=data.index)
    infinite = np.isinf(frame.to_numpy()).any(axis=1)
    if infinite.any():
        raise ValueError(f"`{name}` has infinite values in rows {_rows(data.index[infinite])}.")
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
            f"{_rows(values.index[rows])}, columns {columns}; e.g. row "
            f"{_label(values.index[first])!r} has {column} = {values[column].iloc[first]:g} "
            "(leave a missing answer empty, not coded as a number)."
        )


def _check_duplicates(frame, name):
    duplicated = frame.duplicated(list(KEYS), keep=False)
    if duplicated.any():
        raise ValueError(
            f"`{name}` has more than one row for the same (dyad, informant, session): rows "
            f"{_rows(frame.index[duplicated.to_numpy()])}."
        )


def check_alliance(alliance) -> pd.DataFrame:
    """Validated copy of the item-level alliance data with float items and int sessions."""
    name = "alliance"
    _check_frame(alliance, name, (*KEYS, *ITEMS))
    informant = _check_informants(alliance, name)
    session = _check_sessions(alliance, name)
    items = _numeric_columns(alliance, name, ITEMS)
    for who, scale in SCALES.items():
        _check_range(
            items, name, scale.low, scale.high, (informant == who).to_numpy(), f"{who} items"
        )
    clean = pd.concat(
        [
            pd.DataFrame(
                {"dyad": alliance["dyad"].astype(str), "informant": informant, "session": session},
                index=alliance.index,
            ),
            items,
        ],
        axis=1,
    )
    _check_duplicates(clean, name)
    return clean


def check_codes(codes, alliance: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Validated copy of the codes and notes about code rows that match no alliance row."""
    name = "codes"
    notes = []
    _check_labels(codes, name)
    shared = "informant" not in codes.columns
    if shared:
        codes = codes.assign(informant=INFORMANTS[0])
        notes.append(
            "`codes` has no informant column: each coded session is used for both the "
            "children's and the therapists' rupture sequences."
        )
    _check_frame(codes, name, (*KEYS, *BEHAVIOURS), allow_empty=True)
    informant = _check_informants(codes, name)
    session = _check_sessions(codes, name)
    values = _numeric_columns(codes, name, tuple(BEHAVIOURS))
    for column, behaviour in BEHAVIOURS.items():
        _check_range(
            values[[column]],
            name,
            behaviour.low,
            behaviour.high,
            np.ones(len(values), dtype=bool),
            f"{column} scores",
        )
    clean = pd.concat(
        [
            pd.DataFrame(
                {"dyad": codes["dyad"].astype(str), "informant": informant, "session": session},
                index=codes.index,
            ),
            values,
        ],
        axis=1,
    )
    _check_duplicates(clean, name)
    if shared:
        clean = pd.concat([clean.assign(informant=who) for who in INFORMANTS])
    unknown = ~clean["dyad"].isin(set(alliance["dyad"]))
    if unknown.any():
        raise ValueError(
            f"`codes` has dyads that are not in the alliance data: "
            f"{sorted(set(clean.loc[unknown, 'dyad']))[:5]} in rows "
            f"{_rows(clean.index[unknown.to_numpy()])}."
        )
    known = pd.MultiIndex.from_frame(alliance[list(KEYS)])
    matched = pd.MultiIndex.from_frame(clean[list(KEYS)]).isin(known)
    if clean.empty:
        notes.append("`codes` has no rows: no rupture sequence is coded.")
    if not matched.all():
        rows = clean.index[~matched]
        notes.append(
            f"{len(rows)} code row(s) refer to sessions with no alliance row for that dyad and "
            f"informant (rows {_rows(rows)}); they are kept and used only where they are the "
            "session of a rupture sequence (e.g. the post session of an unresolved rupture)."
        )
    return clean, notes


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------

TABLE_NAMES = (
    "table1",
    "alliance_summary",
    "missing_items",
    "exclusions",
    "sequences",
    "central_sessions",
    "accordance",
    "anova",
    "posthoc",
)
INDEXED_TABLES = ("table1", "alliance_summary", "missing_items")
FIGURE_NAMES = tuple(f"figure{number}" for number in range(1, 9))


@dataclass(frozen=True)
class StudyReport:
    """Everything :func:`run_study` computed: the study's tables, figures and settings.

    Tables are pandas DataFrames (change a copy, not the report's own); figures are
    matplotlib Figures. Percentages are in percent, rounded to one decimal.

    Attributes
    ----------
    table1 : DataFrame
        The study's Table 1, indexed by informant (``"child"``, ``"therapist"``):
        ``series_total`` (series with any alliance row), ``series_analysed`` (eligible:
        at least ``min_consecutive`` consecutive sessions), ``series_with_ruptures`` and
        its percentage of the analysed series, ``ruptures_total``, ``repaired``,
        ``unrepaired`` and ``unresolved`` with their percentages of all ruptures,
        ``coded`` (sequences whose pre, central and post sessions all have codes) and,
        per behaviour, ``analysed_<behaviour>``: the coded sequences with that behaviour
        observed at all three sessions, which is the ``n`` of its pre vs central ANOVA
        (``coded`` minus the sequences listed in ``exclusions`` for a missing value).
    alliance_summary : DataFrame
        Per informant: scale, series, analysed series, observed sessions of the analysed
        series, mean and SD of their totals, and the pooled SD used by the absolute
        criterion.
    missing_items : DataFrame
        Per informant, how the session rows of ``alliance`` were scored:
        ``session_rows``, ``complete`` (all 12 items answered), ``prorated`` (1 to
        ``max_missing_items`` items missing: total from the answered items),
        ``set_missing`` (more missing items: a missing session) and ``unanswered`` (no
        item answered: a missing session).
    exclusions : DataFrame
        Every session row, series and rupture sequence left out of an analysis, one row
        per informant, analysis and reason: ``informant``, ``excluded_from`` (``"alliance
        totals"``, ``"rupture detection"``, ``"every ANOVA"``, ``"every ANOVA of the
        behaviour"``, ``"pre vs central"``, ``"central vs post"``), ``behaviour`` (empty
        when the exclusion holds for both), ``unit`` (``"session rows"``, ``"series"``,
        ``"rupture sequences"``), ``n``, ``reason`` and ``examples`` (the first row
        labels, dyads or sequences). Reasons with no case are left out.
    sequences : DataFrame
        One row per rupture sequence: ``informant, sequence`` (the subject id of the
        ANOVAs, ``"<informant>:<dyad>:<central session>"``), ``dyad``, the pre, central and
        post session, ``repair, criterion, drop, score`` (as
        :meth:`RuptureResult.to_frame`), the alliance score of each of the three sessions,
        the series' lower-half median and lower control limit, ``coded`` and the coded
        behaviour of each session (``<behaviour>_<pre|central|post>``).
    central_sessions : DataFrame
        Number of central rupture sessions per session number (``session``) for each
        informant (Figure 3).
    accordance : DataFrame
        Dyads with a rupture in either series: the central sessions found in the child's
        and in the therapist's series and whether both have one.
    anova : DataFrame
        Tables 2 and 3: ``informant, behaviour, comparison`` (``"pre vs central"``: one-way
        within-subject ANOVA; ``"central vs post"``: rupture type x session mixed ANOVA),
        ``source`` (``Session``, ``Rupture type``, ``Session x Rupture type``, ``Total``),
        ``n`` (rupture sequences), ``df, df_error, F``, ``p`` (permutation),
        ``p_parametric``, ``stars`` (``*`` p < .1, ``**`` p < .05), the mean and SD of each
        cell of the effect (``M_pre, SD_pre, ..., M_post_unrepaired, SD_post_unrepaired``;
        NaN outside the effect), ``method``, ``n_resamples``, ``random_state`` (the seed
        given to :func:`permanova.aovperm` for that test) and ``note`` (why a test was not
        computed, and how many unresolved ruptures the mixed ANOVA excluded).
    posthoc : DataFrame
        For each mixed ANOVA whose interaction has p < ``alpha``: a one-way within-subject
        ANOVA central vs post per rupture type, with Holm-adjusted p-values (``p_holm``).
    scores : mapping of str to DataFrame
        Per informant, the alliance totals as a session-indexed frame (index: dyad,
        columns: session; NaN for a missing session).
    results : mapping of str to RuptureResult or None
        Per informant, the detector's output on ``scores[informant]`` (None without data).
    figures : mapping of str to matplotlib Figure
        ``"figure1"`` ... ``"figure8"``: control charts of a repaired and of an unrepaired
        rupture (1, 2), central sessions over treatment (3), behaviour by session type
        (4: children's ruptures, positive child involvement; 5: children's, positive
        therapist behavior; 6 and 7: the same for therapists' ruptures), and the rupture
        type x session interaction (8).
    captions : mapping of str to str
        A caption per figure.
    settings : mapping of str to object
        The settings used: detector parameters, pooled SD per informant, scoring,
        ``max_missing_items``, ``n_resamples``, ``random_state`` (as given), ``seed``,
        ``alpha``, versions.
    seed : int
        The seed the tests were drawn from: ``run_study(..., random_state=report.seed)``
        repeats them. Drawn fresh when ``random_state`` was None.
    notes : tuple of str
        Stated entries about the data: informants without eligible series, prorated and
        missing totals, sequences left out for a missing behaviour value, code rows that
        match no alliance row, tests that could not be computed, and so on.

    See Also
    --------
    run_study : Make the report.
    """

    table1: pd.DataFrame
    alliance_summary: pd.DataFrame
    sequences: pd.DataFrame
    central_sessions: pd.DataFrame
    accordance: pd.DataFrame
    anova: pd.DataFrame
    posthoc: pd.DataFrame
    missing_items: pd.DataFrame
    exclusions: pd.DataFrame
    scores: types.MappingProxyType = field(repr=False)
    results: types.MappingProxyType = field(repr=False)
    figures: types.MappingProxyType = field(repr=False)
    captions: types.MappingProxyType = field(repr=False)
    settings: types.MappingProxyType = field(repr=False)
    seed: int
    notes: tuple = ()

    def __repr__(self) -> str:
        counts = "; ".join(
            f"{row.Index}: {int(row.series_analysed)} analysed, {int(row.ruptures_total)} ruptures"
            for row in self.table1.itertuples()
        )
        return (
            f"StudyReport({counts}; {len(self.anova)} ANOVA rows; {len(self.exclusions)} "
            f"exclusion(s) in .exclusions; seed {self.seed})"
        )

    def formatted_table1(self) -> pd.DataFrame:
        """Table 1 as printed in the study: counts with percentages as text.

        Returns
        -------
        DataFrame
            One row per informant (``Children``, ``Therapists``) and the columns ``Time
            series analyzed``, ``Time series with ruptures``, ``Ruptures total``,
            ``Repaired ruptures``, ``Unrepaired ruptures``, ``Unresolved ruptures``,
            ``Coded ruptures``; percentages as ``"18.6% (13/70)"``. Where a behaviour
            was missing at a session of a coded sequence, the coded cell adds the number
            analysed for it: ``"11 (analysed: 10 positive child involvement)"``.

        Examples
        --------
        >>> from tukeyrupture.datasets import load_study_demo
        >>> from tukeyrupture.study import run_study
        >>> demo = load_study_demo()
        >>> report = run_study(demo.alliance, None, n_resamples=9, random_state=0)
        >>> report.formatted_table1()["Time series with ruptures"].tolist()
        ['18.6% (13/70)', '32.1% (18/56)']
        """
        rows = {}
        for informant, row in self.table1.iterrows():
            label = tables.INFORMANT_LABELS.get(informant, informant)
            total = int(row["ruptures_total"])
            rows[label] = {
                "Time series analyzed": f"{int(row['series_analysed'])}",
                "Time series with ruptures": _share(
                    row["series_with_ruptures"], row["series_analysed"]
                ),
                "Ruptures total": f"{total}",
                "Repaired ruptures": _share(row["repaired"], total),
                "Unrepaired ruptures": _share(row["unrepaired"], total),
                "Unresolved ruptures": _share(row["unresolved"], total),
                "Coded ruptures": _coded(row),
            }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "n"
        return frame

    def save(self, out_dir, *, source: str | None = None) -> Path:
        """Write every table (CSV), every figure (PNG), the settings and ``report.html``.

        Parameters
        ----------
        out_dir : str or path-like
            Folder to write into; created if needed. Existing files of the same names are
            replaced.
        source : str or None, default=None
            A line saying where the data come from (e.g. the file names), shown at the top
            of the report.

        Returns
        -------
        Path
            The path of ``report.html``: one self-contained file (figures embedded as PNG,
            no external resources) that opens in any web browser.

        Raises
        ------
        TypeError
            If ``out_dir`` is not a str or path-like.
        ValueError
            If ``out_dir`` is an existing file.

        Notes
        -----
        Files: ``table1.csv``, ``alliance_summary.csv``, ``missing_items.csv``,
        ``exclusions.csv``, ``sequences.csv``, ``central_sessions.csv``,
        ``accordance.csv``, ``anova.csv``, ``posthoc.csv``, ``alliance_scores.csv``
        (long: informant, dyad, session, alliance), ``settings.json`` (with the
        ``seed``), ``figure1.png`` ... ``figure8.png`` and ``report.html``.

        Examples
        --------
        >>> import tempfile
        >>> from tukeyrupture.datasets import load_study_demo
        >>> from tukeyrupture.study import run_study
        >>> demo = load_study_demo()
        >>> report = run_study(demo.alliance, demo.codes, n_resamples=99, random_state=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = report.save(folder, source="synthetic demo data")
        ...     print(path.name, len(list(path.parent.glob("figure*.png"))))
        report.html 8
        """
        from tukeyrupture import _report_html, _study_figures

        if not isinstance(out_dir, (str, os.PathLike)):
            raise TypeError(
                f"`out_dir` must be a folder path (str or path-like); got "
                f"{type(out_dir).__name__} {out_dir!r}."
            )
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise ValueError(f"`out_dir` must be a folder; {str(out)!r} is a file.")
        out.mkdir(parents=True, exist_ok=True)
        for name in TABLE_NAMES:
            frame = getattr(self, name)
            frame.to_csv(out / f"{name}.csv", index=name in INDEXED_TABLES)
        self._long_scores().to_csv(out / "alliance_scores.csv", index=False)
        (out / "settings.json").write_text(
            json.dumps(_plain(self.settings), indent=2) + "\n", encoding="utf-8"
        )
        images = {}
        for name, figure in self.figures.items():
            png = _study_figures.png_bytes(figure)
            (out / f"{name}.png").write_bytes(png)
            images[name] = png
        path = out / "report.html"
        path.write_text(_report_html.render(self, images, source), encoding="utf-8")
        return path

    def _long_scores(self) -> pd.DataFrame:
        parts = []
        for informant, wide in self.scores.items():
            if wide.empty:
                continue
            long = wide.rename_axis("dyad").reset_index()
            long = long.melt(id_vars="dyad", var_name="session", value_name="alliance")
            long = long.dropna(subset=["alliance"]).assign(informant=informant)
            parts.append(long.sort_values(["dyad", "session"]))
        if not parts:
            return pd.DataFrame(columns=["informant", "dyad", "session", "alliance"])
        frame = pd.concat(parts, ignore_index=True)
        return frame[["informant", "dyad", "session", "alliance"]]


def _coded(row) -> str:
    """``"11"``, or ``"11 (analysed: 10 positive child involvement)"`` when fewer entered."""
    coded = int(row["coded"])
    fewer = [
        f"{int(row[f'analysed_{b}'])} {b.replace('_', ' ')}"
        for b in BEHAVIOURS
        if f"analysed_{b}" in row and int(row[f"analysed_{b}"]) < coded
    ]
    return f"{coded} (analysed: {', '.join(fewer)})" if fewer else f"{coded}"


def _share(part, whole) -> str:
    part, whole = int(part), int(whole)
    if whole == 0:
        return "-"
    return f"{100.0 * part / whole:.1f}% ({part}/{whole})"


def _plain(value):
    """Settings as JSON-ready builtins."""
    if isinstance(value, (dict, types.MappingProxyType)):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------------------
# The pipeline
# ---------------------------------------------------------------------------------------


def _seed_of(random_state) -> int:
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


_POOL_SIZE = np.random.SeedSequence(0).pool_size


def _max_missing_iv(max_missing_items):
    if max_missing_items is None:
        return None
    if isinstance(max_missing_items, (bool, np.bool_)) or not isinstance(
        max_missing_items, (int, np.integer)
    ):
        raise TypeError(
            f"`max_missing_items` must be None or an integer from 0 to {len(ITEMS)}; got "
            f"{max_missing_items!r}."
        )
    if not 0 <= max_missing_items <= len(ITEMS):
        raise ValueError(
            f"`max_missing_items` must be None or an integer from 0 to {len(ITEMS)}; got "
            f"{int(max_missing_items)}."
        )
    return int(max_missing_items)


def _run_study_iv(
    alliance, codes, detector, n_resamples, random_state, alpha, progress, max_missing_items
):
    if detector is None:
        detector = TukeyRuptureDetector()
    elif not isinstance(detector, TukeyRuptureDetector):
        raise TypeError(
            f"`detector` must be a TukeyRuptureDetector or None; got {type(detector).__name__}."
        )
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"`n_resamples` must be a positive integer; got {n_resamples!r}.")
    if not 1 <= n_resamples <= MAX_RESAMPLES:
        raise ValueError(
            f"`n_resamples` must be an integer from 1 to {MAX_RESAMPLES:.0e}; got {n_resamples}."
        )
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)):
        raise TypeError(f"`alpha` must be a number in (0, 1); got {alpha!r}.")
    if not 0 < alpha < 1:
        raise ValueError(f"`alpha` must be a number in (0, 1); got {alpha}.")
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be True or False; got {progress!r}.")
    max_missing_items = _max_missing_iv(max_missing_items)
    clean_alliance = check_alliance(alliance)
    notes = []
    clean_codes = None
    if codes is not None:
        clean_codes, notes = check_codes(codes, clean_alliance)
    seed = _seed_of(random_state)  # last: a Generator advances only for a run that happens
    options = {
        "detector": detector,
        "n_resamples": int(n_resamples),
        "seed": seed,
        "alpha": float(alpha),
        "max_missing_items": max_missing_items,
    }
    return clean_alliance, clean_codes, options, notes


class _Progress:
    """A tqdm bar over the permutation tests (or nothing)."""

    def __init__(self, enabled, total):
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                warnings.warn(
                    "progress=True needs tqdm (pip install tqdm); running without a bar.",
                    UserWarning,
                    stacklevel=3,
                )
            else:
                self.bar = tqdm(total=total, desc="permutation tests", unit="test")

    def add(self, count):
        if self.bar is not None:
            self.bar.total += count
            self.bar.refresh()

    def tick(self):
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _alliance_notes(alliance, informant, max_missing_items) -> list[str]:
    """Notes on the informant's session rows that were prorated or counted as missing."""
    counts = tables.missing_items(alliance, (informant,), max_missing_items).loc[informant]
    notes = []
    if counts["unanswered"]:
        notes.append(
            f"{counts['unanswered']} {informant} session row(s) have no item answered; they "
            "count as missing sessions."
        )
    if max_missing_items is None:
        rule = "no limit on missing items (max_missing_items=None)"
    else:
        rule = (
            f"{counts['set_missing']} set missing: more than {max_missing_items} of "
            f"{len(ITEMS)} items missing (max_missing_items={max_missing_items})"
        )
    if counts["prorated"] or counts["set_missing"]:
        notes.append(
            f"{counts['prorated']} {informant} session total(s) were prorated from the "
            f"answered items, {rule}; see the missing-items table (missing_items.csv)."
        )
    return notes


def _detect_all(alliance, codes, options, notes):
    """Per informant: totals, detection and rupture sequences (notes appended)."""
    detections, frames = {}, []
    for informant in INFORMANTS:
        notes += _alliance_notes(alliance, informant, options["max_missing_items"])
        long = tables.alliance_totals(
            alliance, informant, SCALES[informant].statistic, options["max_missing_items"]
        )
        detection = tables.detect_informant(long, informant, options["detector"])
        if detection.note:
            notes.append(detection.note)
        detections[informant] = detection
        frames.append(tables.sequences_frame(detection, codes, tuple(BEHAVIOURS)))
    sequences = pd.concat(
        [frame for frame in frames if not frame.empty] or frames[:1], ignore_index=True
    )
    sequences["coded"] = sequences["coded"].astype(bool)
    return detections, sequences


def _test_all(sequences, options, progress):
    """Tables 2 and 3 and the post-hoc tests, one seed triple per informant and behaviour."""
    from permanova import aovperm, posthoc

    n_resamples, alpha = options["n_resamples"], options["alpha"]
    rng = np.random.default_rng(options["seed"])
    slots = [(i, b) for i in INFORMANTS for b in BEHAVIOURS]
    seeds = {
        slot: [int(s) for s in rng.integers(0, 2**32, size=3, dtype=np.uint64)] for slot in slots
    }
    bar = _Progress(progress, total=2 * len(slots))
    anova_rows, posthoc_rows = [], []
    try:
        for informant, behaviour in slots:
            own = sequences[sequences["informant"] == informant]
            oneway_seed, mixed_seed, posthoc_seed = seeds[(informant, behaviour)]
            anova_rows += tables.oneway_rows(
                informant,
                behaviour,
                tables.oneway_data(own, behaviour),
                aovperm,
                n_resamples,
                oneway_seed,
                bar.tick,
            )
            analysed = own[tables.analysed_mask(own, behaviour)]
            mixed = tables.mixed_data(own, behaviour)
            rows = tables.mixed_rows(
                informant,
                behaviour,
                mixed,
                aovperm,
                n_resamples,
                mixed_seed,
                int((analysed["repair"] == "unresolved").sum()),
                bar.tick,
            )
            anova_rows += rows
            (interaction,) = [r["p"] for r in rows if r["source"] == "Session x Rupture type"]
            if np.isfinite(interaction) and interaction < alpha:
                bar.add(1)
                posthoc_rows += tables.posthoc_rows(
                    informant, behaviour, mixed, posthoc, n_resamples, posthoc_seed, bar.tick
                )
    finally:
        bar.close()
    anova = pd.DataFrame(anova_rows, columns=tables.ANOVA_COLUMNS)
    posthoc_table = pd.DataFrame(posthoc_rows, columns=tables.POSTHOC_COLUMNS)
    for frame in (anova, posthoc_table):
        for column in ("n", "n_resamples", "random_state"):
            frame[column] = frame[column].astype("Int64")
    return anova, posthoc_table


def _exclusion_notes(exclusions) -> list[str]:
    """A note per informant and behaviour on coded sequences left out for a missing value."""
    gaps = exclusions[exclusions["excluded_from"] == "every ANOVA of the behaviour"]
    return [
        f"{row.n} coded {row.informant} rupture sequence(s) lack a {row.behaviour} score at "
        f"one of their sessions ({row.examples}); they are left out of that behaviour's "
        "ANOVAs. Every exclusion is listed in the exclusions table (exclusions.csv)."
        for row in gaps.itertuples(index=False)
    ]


def _given(random_state):
    """``random_state`` as given, JSON-ready: None, an int or the object's repr."""
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return None if random_state is None else repr(random_state)


def _settings(options, random_state, detections, anova, posthoc_table):
    from tukeyrupture import __version__

    methods = sorted({m for m in anova["method"].tolist() + posthoc_table["method"].tolist() if m})
    limit = options["max_missing_items"]
    return {
        "detector": options["detector"].get_params(),
        "pooled_sd": {i: detections[i].pooled_sd for i in INFORMANTS},
        "scoring": {i: SCALES[i].name for i in INFORMANTS},
        "imputation": "a missing item is replaced by the mean of the session's observed items",
        "max_missing_items": limit,
        "missing_items_rule": (
            "any number of missing items is prorated"
            if limit is None
            else f"a session with more than {limit} of {len(ITEMS)} items missing is missing"
        ),
        "n_resamples": options["n_resamples"],
        "random_state": _given(random_state),
        "seed": options["seed"],
        "alpha": options["alpha"],
        "min_sequences_per_group": tables.MIN_PER_GROUP,
        "permutation_method": ", ".join(methods) if methods else "none run",
        "tukeyrupture_version": __version__,
        "permanova_version": _permanova_version(),
    }


def run_study(
    alliance: pd.DataFrame,
    codes: pd.DataFrame | None = None,
    *,
    detector: TukeyRuptureDetector | None = None,
    n_resamples: int = 5000,
    random_state: Any = None,
    alpha: float = 0.1,
    progress: bool = False,
    max_missing_items: int | None = MAX_MISSING_ITEMS,
) -> StudyReport:
    """Run the study's whole analysis on item-level alliance data and coded behaviour.

    For each informant (``"child"``, ``"therapist"``):

    1. alliance totals per session from the 12 item scores, a missing item replaced by the
       mean of the session's observed items (single person-mean imputation, i.e.
       prorating, :func:`tukeyrupture.total_scores`): the item **sum** for children
       (TASC-like, items 1-4) and the item **mean** for therapists (WAI-S-like, items
       1-7); a session with more than ``max_missing_items`` missing items, or none
       answered, counts as a missing session;
    2. eligibility: a series is analysed when it has at least ``min_consecutive`` (7)
       consecutive sessions;
    3. detection with a clone of ``detector`` fitted on that informant's series, so the
       pooled SD of the absolute criterion is learned from that informant's eligible
       series (study: k = 1, absolute criterion 2 pooled SD);
    4. rupture sequences: pre-rupture, central and post-rupture session of every rupture;
       a sequence is *coded* when ``codes`` has a row for each of its three sessions;
    5. for each coded behaviour, with :func:`permanova.aovperm`: a one-way within-subject
       permutation ANOVA, session pre vs central; a mixed permutation ANOVA rupture type
       (repaired/unrepaired, between) x session (central/post, within); and, where the
       interaction has p < ``alpha``, post-hoc tests central vs post within each rupture
       type (:func:`permanova.posthoc`: paired permutation tests whose F is that of a
       one-way within-subject ANOVA, two-sided, Holm-adjusted over the rupture types).

    Every session row, series and sequence that an analysis leaves out is listed with
    its reason in ``report.exclusions``.

    Parameters
    ----------
    alliance : DataFrame
        Item-level alliance data, one row per dyad, informant and session: columns
        ``dyad``, ``informant`` (``"child"`` or ``"therapist"``), ``session`` (whole
        numbers; a session without a row is missing) and ``item_1`` ... ``item_12`` (NaN
        for a missing answer). Column labels must be unique (one level). Not modified.
    codes : DataFrame or None, default=None
        Coded in-session behaviour, one row per dyad, informant and coded session: columns
        ``dyad``, ``informant`` (whose rupture sequence the session was coded for),
        ``session``, ``positive_child_involvement`` (0-20, e.g. the CIRS positive
        subscale) and ``positive_therapist_behavior`` (0-28, e.g. the TABBS positive
        subscale), NaN where a behaviour was not coded. Without an ``informant`` column
        each row serves both informants' sequences. None: ruptures only, the ANOVA tables
        hold stated empty rows. Not modified.
    detector : TukeyRuptureDetector or None, default=None
        The rupture rule; None uses ``TukeyRuptureDetector()``, the study's settings. It is
        cloned and fitted once per informant; the given object is not changed.
    n_resamples : int, default=5000
        Monte-Carlo permutations per test (:func:`permanova.aovperm` enumerates all
        permutations instead when there are at most this many).
    random_state : None, int, numpy SeedSequence, Generator or RandomState, default=None
        Seeds the tests. It becomes one integer ``seed``, recorded as ``report.seed``, in
        ``settings.json`` and in the HTML report: None draws a fresh 32-bit seed from the
        operating system's entropy (``numpy.random.SeedSequence()``); an int is the seed;
        a SeedSequence gives its entropy (a spawned one, a 32-bit integer from its state;
        it is never changed); a Generator or RandomState gives one random 32-bit integer
        (so it advances, as any use of it does). One seed per test slot is then drawn
        from ``numpy.random.default_rng(seed)`` in a fixed order, passed to ``aovperm``
        and recorded in the ``random_state`` column of ``anova`` and ``posthoc``: a row is
        reproduced by a direct ``aovperm`` call, the whole run by
        ``random_state=report.seed``.
    alpha : float, default=0.1
        Post-hoc tests are run where the interaction's permutation p-value is below
        ``alpha`` (the study interpreted p < .1 as marginally significant).
    progress : bool, default=False
        Show a tqdm progress bar over the permutation tests.
    max_missing_items : int or None, default=6
        A session total is prorated from the answered items when at most this many of the
        12 items are missing; with more, the session counts as missing (half of the items,
        see Notes). None: any session with one answered item is scored.

    Returns
    -------
    StudyReport
        Tables 1-3, sequences, exclusions, missing-item counts, figures 1-8, settings,
        seed and notes; ``.save(out_dir)`` writes them with an HTML report.

    Raises
    ------
    TypeError
        If a frame is not a DataFrame, an item or code column is not numeric (naming the
        column and rows; booleans, complex numbers and dates are not scores) or a
        parameter has the wrong type (``random_state`` of an unknown kind, ...).
    ValueError
        On missing, duplicated or MultiIndex column labels (naming them), missing keys,
        informants other than ``"child"`` and ``"therapist"``, non-integer, infinite or
        huge (beyond 2**53) sessions, duplicated (dyad, informant, session) rows, item
        scores outside the scale (1-4 for children, 1-7 for therapists) or codes outside
        theirs (naming the rows and columns), codes for dyads that have no alliance data,
        and invalid parameters.

    See Also
    --------
    tukeyrupture.TukeyRuptureDetector : The rupture rule.
    permanova.aovperm : The permutation ANOVA.
    tukeyrupture.datasets.load_study_demo : Synthetic data in this layout.

    Notes
    -----
    Each rupture sequence is one subject of the ANOVAs, as in the study: a series with
    two ruptures contributes two subjects (their sessions may even overlap), so the
    subjects are not independent persons. Each behaviour's ANOVAs use the coded sequences
    with that behaviour observed at all three sessions (``table1``'s
    ``analysed_<behaviour>``); a coded sequence with a missing value is left out of that
    behaviour's tests only, and listed in ``exclusions``. Unresolved ruptures (the post
    session is missing from the alliance data) take part in the pre vs central ANOVA when
    all three sessions are coded, and are excluded from the mixed ANOVA, with their
    number stated in the row's ``note`` and in ``exclusions``. A test needs at least 2
    coded sequences (for the mixed ANOVA: 2 per rupture type); smaller groups give a row
    with NaN statistics and the reason. An informant with no data or no eligible series
    gives zero counts and a note, not an error. Code rows for sessions that have no
    alliance row are kept (a recording can exist without a questionnaire) and stated in
    ``notes``.

    The default ``max_missing_items=6`` is the half rule of prorating: a scale score is
    the mean of the answered items when at least half of them are answered (Schafer and
    Graham, 2002; Graham, 2009; the rule of PROMIS short forms). Stricter rules (e.g. at
    most 20% missing: ``max_missing_items=2``) are one argument away; the report counts
    the prorated and the missing totals per informant (``missing_items``).

    References
    ----------
    .. [1] Schafer, J. L., & Graham, J. W. (2002). Missing data: Our view of the state
       of the art. *Psychological Methods*, 7(2), 147-177.
    .. [2] Graham, J. W. (2009). Missing data analysis: Making it work in the real
       world. *Annual Review of Psychology*, 60, 549-576.

    Examples
    --------
    >>> from tukeyrupture.datasets import load_study_demo
    >>> from tukeyrupture.study import run_study
    >>> demo = load_study_demo()
    >>> report = run_study(demo.alliance, demo.codes, n_resamples=99, random_state=0)
    >>> report.table1[["series_analysed", "series_with_ruptures", "ruptures_total"]]
               series_analysed  series_with_ruptures  ruptures_total
    informant
    child                   70                    13              14
    therapist               56                    18              21
    >>> report.seed
    0
    >>> report.missing_items[["prorated", "set_missing"]]
               prorated  set_missing
    informant
    child           211            0
    therapist       334            0
    >>> sorted(report.figures)[:3]
    ['figure1', 'figure2', 'figure3']
    """
    from tukeyrupture import _study_figures

    alliance, codes, options, notes = _run_study_iv(
        alliance, codes, detector, n_resamples, random_state, alpha, progress, max_missing_items
    )
    detections, sequences = _detect_all(alliance, codes, options, notes)
    if codes is None:
        notes.append("No codes given: the in-session behaviour analyses were not run.")
    anova, posthoc_table = _test_all(sequences, options, progress)
    untested = anova[(anova["source"] != "Total") & anova["p"].isna()]
    if codes is not None and not untested.empty:
        notes.append(
            f"{len(untested)} ANOVA row(s) have no test (see their note column): too few "
            "coded rupture sequences."
        )
    exclusions = tables.exclusions(
        alliance,
        detections,
        sequences,
        anova,
        tuple(BEHAVIOURS),
        codes_given=codes is not None,
        max_missing=options["max_missing_items"],
        min_consecutive=options["detector"].min_consecutive,
    )
    notes += _exclusion_notes(exclusions)
    results = {i: detections[i].result for i in INFORMANTS}
    scores = {i: detections[i].scores for i in INFORMANTS}
    central = tables.central_sessions(sequences, INFORMANTS)
    figures, captions = _study_figures.build_figures(
        scores=scores, results=results, sequences=sequences, central=central, anova=anova
    )
    return StudyReport(
        table1=tables.table1(detections, sequences, tuple(BEHAVIOURS)),
        alliance_summary=tables.alliance_summary(detections, SCALES),
        sequences=sequences,
        central_sessions=central,
        accordance=tables.accordance(sequences),
        anova=anova,
        posthoc=posthoc_table,
        missing_items=tables.missing_items(alliance, INFORMANTS, options["max_missing_items"]),
        exclusions=exclusions,
        scores=types.MappingProxyType(scores),
        results=types.MappingProxyType(results),
        figures=types.MappingProxyType(figures),
        captions=types.MappingProxyType(captions),
        settings=types.MappingProxyType(
            _settings(options, random_state, detections, anova, posthoc_table)
        ),
        seed=options["seed"],
        notes=tuple(notes),
    )


def _permanova_version() -> str:
    try:
        import permanova
        from tukeyrupture import __version__

        return str(getattr(permanova, "__version__", __version__))
    except ImportError:  # pragma: no cover
        return "not installed"
