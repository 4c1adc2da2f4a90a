"""The study's pipeline end to end: inputs -> sequences -> tests -> report."""

from __future__ import annotations

import types
from typing import Any

import pandas as pd

from tukeyrupture.detector import TukeyRuptureDetector
from tukeyrupture.study import _anova, _exclusions, _summaries
from tukeyrupture.study._inputs import INFORMANTS, ITEMS, MAX_MISSING_ITEMS, SCALES, run_study_iv
from tukeyrupture.study._report import StudyReport
from tukeyrupture.study._sequences import detect_all


def _alliance_notes(missing_items, max_missing_items) -> list[str]:
    """Notes on the session rows that were prorated or counted as missing."""
    notes = []
    for informant, counts in missing_items.iterrows():
        if counts["unanswered"]:
            notes.append(
                f"{counts['unanswered']} {informant} session row(s) have no item answered; "
                "they count as missing sessions."
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
    if isinstance(random_state, int) or hasattr(random_state, "__index__"):
        return int(random_state)
    return None if random_state is None else repr(random_state)


def _settings(options, random_state, codes_given, detections, anova, posthoc):
    import permanova
    from tukeyrupture import __version__

    methods = sorted({m for m in [*anova["method"], *posthoc["method"]] if m})
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
        "codes_given": codes_given,
        "n_resamples": options["n_resamples"],
        "random_state": _given(random_state),
        "seed": options["seed"],
        "alpha": options["alpha"],
        "min_sequences_per_group": _anova.MIN_PER_GROUP,
        "permutation_method": ", ".join(methods) if methods else "none run",
        "tukeyrupture_version": __version__,
        "permanova_version": permanova.__version__,
    }


def _run_notes(codes_given, anova, exclusions) -> list[str]:
    notes = []
    if not codes_given:
        notes.append("No codes given: the in-session behaviour analyses were not run.")
    untested = anova[(anova["effect"] != "") & anova["p_permutation"].isna()]
    if codes_given and not untested.empty:
        notes.append(
            f"{len(untested)} ANOVA row(s) have no test (see their note column): too few "
            "coded rupture sequences."
        )
    return notes + _exclusion_notes(exclusions)


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
       interaction has a permutation p < ``alpha``, post-hoc tests central vs post within
       each rupture type (:func:`permanova.posthoc`: paired permutation tests whose F is that of a
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
        hold stated empty rows and the HTML report leaves out the sections that need
        codes. Not modified.
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
        Show a tqdm progress bar (on stderr) over each family of permutation tests.
    max_missing_items : int or None, default=6
        A session total is prorated from the answered items when at most this many of the
        12 items are missing; with more, the session counts as missing (half of the items,
        see Notes). None: any session with one answered item is scored.

    Returns
    -------
    StudyReport
        Tables 1-3, sequences, exclusions, missing-item counts, the tests' data,
        settings, seed and notes as frames; its ``figures`` (1-8) are drawn from them and
        ``.save(out_dir)`` writes everything with an HTML report.

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
    alliance, codes, options, notes = run_study_iv(
        alliance, codes, detector, n_resamples, random_state, alpha, progress, max_missing_items
    )
    limit, codes_given = options["max_missing_items"], codes is not None
    missing_items = _summaries.missing_items(alliance, limit)
    notes += _alliance_notes(missing_items, limit)
    detections, sequences = detect_all(alliance, codes, options["detector"], limit)
    notes += [d.note for d in detections.values() if d.note]
    data, anova, posthoc = _anova.run_tests(
        sequences,
        seed=options["seed"],
        n_resamples=options["n_resamples"],
        alpha=options["alpha"],
        progress=options["progress"],
    )
    exclusions = _exclusions.exclusions(
        alliance,
        detections,
        sequences,
        anova,
        codes_given=codes_given,
        max_missing=limit,
        min_consecutive=options["detector"].min_consecutive,
    )
    settings = _settings(options, random_state, codes_given, detections, anova, posthoc)
    return StudyReport(
        table1=_summaries.table1(detections, sequences),
        alliance_summary=_summaries.alliance_summary(detections),
        sequences=sequences,
        central_sessions=_summaries.central_sessions(sequences),
        accordance=_summaries.accordance(sequences),
        anova=anova,
        posthoc=posthoc,
        missing_items=missing_items,
        exclusions=exclusions,
        anova_data=data,
        scores=types.MappingProxyType({i: d.scores for i, d in detections.items()}),
        results=types.MappingProxyType({i: d.result for i, d in detections.items()}),
        settings=types.MappingProxyType(settings),
        seed=options["seed"],
        notes=tuple(notes + _run_notes(codes_given, anova, exclusions)),
    )
