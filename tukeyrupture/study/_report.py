"""Stage 4 of the study: the frozen report, which holds the tables as frames and saves them."""

from __future__ import annotations

import json
import os
import types
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

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
    "anova_data",
)
INDEXED_TABLES = ("table1", "alliance_summary", "missing_items")


@dataclass(frozen=True)
class StudyReport:
    """Everything :func:`run_study` computed: the study's tables as frames, and settings.

    Tables are pandas DataFrames (change a copy, not the report's own). Percentages are in
    percent, rounded to one decimal. The figures and the HTML report are drawn from these
    frames alone (:attr:`figures`, :meth:`save`).

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
        ``effect`` (permanova's name: ``session``, ``type``, ``type:session``; empty for
        Total), ``n`` (rupture sequences), then the columns of
        :meth:`permanova.AovPermResult.to_frame` (``df, df_error, SS, SS_error, F,
        p_parametric, p_permutation``), the mean and SD of each cell of the effect
        (``M_pre, SD_pre, ..., M_post_unrepaired, SD_post_unrepaired``; NaN outside the
        effect), ``method``, ``n_resamples``, ``exact``, ``random_state`` (the seed given
        to :func:`permanova.aovperm` for that test) and ``note`` (why a test was not
        computed, and how many unresolved ruptures the mixed ANOVA excluded).
    posthoc : DataFrame
        For each mixed ANOVA whose interaction has ``p_permutation`` < ``alpha``: central
        vs post within each rupture type (:func:`permanova.posthoc`), with
        ``p_permutation`` and the Holm-adjusted ``p_holm``.
    anova_data : DataFrame
        The long data every test ran on: ``informant, behaviour, comparison, subject``
        (the sequence), ``type`` (repair), ``session`` (pre, central or post) and
        ``value``; ``aovperm`` on a test's rows with its ``random_state`` repeats it.
    scores : mapping of str to DataFrame
        Per informant, the alliance totals as a session-indexed frame (index: dyad,
        columns: session; NaN for a missing session).
    results : mapping of str to RuptureResult or None
        Per informant, the detector's frozen output on ``scores[informant]`` (None
        without data); the control charts of Figures 1 and 2 draw it.
    settings : mapping of str to object
        The settings used: detector parameters, pooled SD per informant, scoring,
        ``max_missing_items``, ``n_resamples``, ``random_state`` (as given), ``seed``,
        ``alpha``, whether codes were given, versions.
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
    anova_data: pd.DataFrame = field(repr=False)
    scores: types.MappingProxyType = field(repr=False)
    results: types.MappingProxyType = field(repr=False)
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

    @property
    def codes_given(self) -> bool:
        """Whether behaviour codes were analysed (the ANOVA sections exist)."""
        return bool(self.settings["codes_given"])

    @cached_property
    def figures(self) -> types.MappingProxyType:
        """Figures 1-8 (1-3 without codes), matplotlib Figures drawn from the report.

        Control charts of a repaired and of an unrepaired rupture (1, 2), central sessions
        over treatment (3), behaviour by session type (4: children's ruptures, positive
        child involvement; 5: children's, positive therapist behavior; 6 and 7: the same
        for therapists' ruptures), and the rupture type x session interaction (8). Drawn
        once, on first use.
        """
        from tukeyrupture.study import _figures

        return types.MappingProxyType(_figures.build_figures(self))

    @property
    def captions(self) -> types.MappingProxyType:
        """A caption per figure (the keys of :attr:`figures`)."""
        from tukeyrupture.study import _figures

        return types.MappingProxyType(_figures.captions(self))

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
        from tukeyrupture.study import _display

        return _display.table1(self.table1)

    def effects(self, alpha: float | None = None) -> pd.DataFrame:
        """The ANOVA effects with a permutation p below ``alpha``, written out.

        Parameters
        ----------
        alpha : float or None, default=None
            The bound; None uses the run's ``alpha`` (the post hoc threshold).

        Returns
        -------
        DataFrame
            Columns ``Ruptures``, ``Behaviour``, ``Comparison``, ``Effect`` and ``Test``
            (``"F(1, 10) = 6.20, p = .032*"``), one row per effect.

        Examples
        --------
        >>> from tukeyrupture.datasets import load_study_demo
        >>> from tukeyrupture.study import run_study
        >>> demo = load_study_demo()
        >>> report = run_study(demo.alliance, demo.codes, n_resamples=99, random_state=0)
        >>> list(report.effects().columns)
        ['Ruptures', 'Behaviour', 'Comparison', 'Effect', 'Test']
        """
        from tukeyrupture.study import _display

        bound = self.settings["alpha"] if alpha is None else alpha
        return _display.effects(self.anova, bound)

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
        ``accordance.csv``, ``anova.csv``, ``posthoc.csv``, ``anova_data.csv``,
        ``alliance_scores.csv`` (long: informant, dyad, session, alliance),
        ``settings.json`` (with the ``seed``), ``figure1.png`` ... and ``report.html``.

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
        from tukeyrupture.study import _figures, _html

        out = _output_folder(out_dir)
        for name in TABLE_NAMES:
            frame = getattr(self, name)
            frame.to_csv(out / f"{name}.csv", index=name in INDEXED_TABLES)
        self._long_scores().to_csv(out / "alliance_scores.csv", index=False)
        (out / "settings.json").write_text(
            json.dumps(_plain(self.settings), indent=2) + "\n", encoding="utf-8"
        )
        images = {}
        for name, figure in self.figures.items():
            images[name] = _figures.png_bytes(figure)
            (out / f"{name}.png").write_bytes(images[name])
        path = out / "report.html"
        path.write_text(_html.render(self, images, source), encoding="utf-8")
        return path

    def _long_scores(self) -> pd.DataFrame:
        columns = ["informant", "dyad", "session", "alliance"]
        parts = [
            wide.rename_axis("dyad")
            .reset_index()
            .melt(id_vars="dyad", var_name="session", value_name="alliance")
            .dropna(subset=["alliance"])
            .assign(informant=informant)
            .sort_values(["dyad", "session"])
            for informant, wide in self.scores.items()
            if not wide.empty
        ]
        if not parts:
            return pd.DataFrame(columns=columns)
        return pd.concat(parts, ignore_index=True)[columns]


def _output_folder(out_dir) -> Path:
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(
            f"`out_dir` must be a folder path (str or path-like); got "
            f"{type(out_dir).__name__} {out_dir!r}."
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`out_dir` must be a folder; {str(out)!r} is a file.")
    out.mkdir(parents=True, exist_ok=True)
    return out


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
