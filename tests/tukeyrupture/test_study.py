"""Tests of run_study: the study end to end on the demo, checked against direct calls."""

import copy
import re

import numpy as np
import pandas as pd
import pytest

import permanova
from tukeyrupture import TukeyRuptureDetector, from_long, total_scores
from tukeyrupture.datasets import StudyDemo, load_study_demo
from tukeyrupture.study import StudyReport, run_study

B = 199
SEED = 7
ITEMS = [f"item_{j}" for j in range(1, 13)]
BEHAVIOURS = ["positive_child_involvement", "positive_therapist_behavior"]
STATISTIC = {"child": "sum", "therapist": "mean"}


@pytest.fixture(scope="module")
def demo():
    return load_study_demo()


@pytest.fixture(scope="module")
def report(demo):
    return run_study(demo.alliance, demo.codes, n_resamples=B, random_state=SEED)


def direct_detection(alliance, informant):
    """Totals, from_long and the detector, without run_study."""
    rows = alliance[alliance["informant"] == informant]
    totals = total_scores(rows[ITEMS], statistic=STATISTIC[informant]).to_numpy()
    long = pd.DataFrame({"dyad": rows["dyad"], "session": rows["session"], "v": totals})
    X, series, sessions = from_long(long, series="dyad", session="session", value="v")
    detector = TukeyRuptureDetector(iqr_multiplier=1.0, absolute_sd_multiplier=2.0)
    detector.fit(X)
    result = detector.detect(pd.DataFrame(X, index=series, columns=sessions))
    return detector, result


def direct_sequences(demo, informant, behaviour):
    """Coded sequences of one informant with the behaviour at pre, central and post."""
    _, result = direct_detection(demo.alliance, informant)
    frame = result.to_frame()
    codes = demo.codes[demo.codes["informant"] == informant].set_index(["dyad", "session"])
    values = {}
    for role in ("pre", "central", "post"):
        values[role] = [
            codes[behaviour].get((dyad, int(s)), np.nan) if pd.notna(s) else np.nan
            for dyad, s in zip(frame["series"], frame[f"{role}_session"])
        ]
    out = pd.DataFrame(
        {
            "subject": [f"{d}:{c}" for d, c in zip(frame["series"], frame["central_session"])],
            "type": frame["repair"].to_numpy(),
            **{role: np.asarray(v, dtype=float) for role, v in values.items()},
        }
    )
    return out.dropna(subset=["pre", "central", "post"])


def long_data(sequences, roles):
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "subject": sequences["subject"],
                    "type": sequences["type"],
                    "session": role,
                    "value": sequences[role],
                }
            )
            for role in roles
        ],
        ignore_index=True,
    )


def test_demo_layout(demo):
    assert isinstance(demo, StudyDemo)
    assert list(demo.alliance.columns) == ["dyad", "informant", "session", *ITEMS]
    assert demo.alliance["dyad"].nunique() == 89
    child = demo.alliance[demo.alliance["informant"] == "child"]
    therapist = demo.alliance[demo.alliance["informant"] == "therapist"]
    assert np.nanmin(child[ITEMS]) >= 1 and np.nanmax(child[ITEMS]) == 4
    assert np.nanmin(therapist[ITEMS]) >= 1 and np.nanmax(therapist[ITEMS]) == 7
    assert demo.alliance[ITEMS].isna().any().any()  # missing items
    assert set(demo.codes["positive_child_involvement"].dropna()) <= set(range(21))
    assert set(demo.codes["positive_therapist_behavior"].dropna()) <= set(range(29))
    assert load_study_demo().alliance is not demo.alliance  # a new frame per call


def test_table1_equals_detector_counts(demo, report):
    assert isinstance(report, StudyReport)
    for informant in ("child", "therapist"):
        _, result = direct_detection(demo.alliance, informant)
        frame = result.to_frame()
        row = report.table1.loc[informant]
        assert row["series_total"] == result.n_series
        assert row["series_analysed"] == result.n_eligible
        assert row["series_with_ruptures"] == frame["series"].nunique()
        assert row["ruptures_total"] == len(frame) == result.n_ruptures
        for repair in ("repaired", "unrepaired", "unresolved"):
            assert row[repair] == (frame["repair"] == repair).sum()
        codes = demo.codes[demo.codes["informant"] == informant]
        coded_keys = set(zip(codes["dyad"], codes["session"]))
        coded = sum(
            all(pd.notna(s) and (dyad, int(s)) in coded_keys for s in (pre, central, post))
            for dyad, pre, central, post in zip(
                frame["series"],
                frame["pre_session"],
                frame["central_session"],
                frame["post_session"],
            )
        )
        assert row["coded"] == coded
        assert row["series_with_ruptures_pct"] == pytest.approx(
            round(100 * frame["series"].nunique() / result.n_eligible, 1)
        )
    # the demo imitates the study's eligible series
    assert report.table1["series_analysed"].tolist() == [70, 56]


def test_pooled_sd_learned_per_informant(demo, report):
    for informant in ("child", "therapist"):
        detector, _ = direct_detection(demo.alliance, informant)
        assert report.settings["pooled_sd"][informant] == pytest.approx(detector.pooled_sd_)
        assert report.alliance_summary.loc[informant, "pooled_sd"] == pytest.approx(
            detector.pooled_sd_
        )


def test_sequences_one_row_per_rupture(report):
    assert len(report.sequences) == report.table1["ruptures_total"].sum()
    assert report.sequences["sequence"].is_unique
    totals = report.central_sessions[["child", "therapist"]].sum()
    assert totals.tolist() == report.table1["ruptures_total"].tolist()


def test_anova_rows_equal_direct_aovperm(demo, report):
    anova = report.anova
    tested = anova[(anova["source"] != "Total") & anova["p_permutation"].notna()]
    assert len(tested) >= 6
    effects = {
        "Session": "session",
        "Rupture type": "type",
        "Session x Rupture type": "type:session",
    }
    for row in tested.itertuples(index=False):
        sequences = direct_sequences(demo, row.informant, row.behaviour)
        if row.comparison == "pre vs central":
            data = long_data(sequences, ("pre", "central"))
            design = {"within": "session"}
        else:
            resolved = sequences[sequences["type"].isin(["repaired", "unrepaired"])]
            data = long_data(resolved, ("central", "post"))
            design = {"between": "type", "within": "session"}
        direct = permanova.aovperm(
            data,
            "value",
            subject="subject",
            n_resamples=B,
            random_state=int(row.random_state),
            **design,
        ).table.loc[effects[row.source]]
        assert row.n == data["subject"].nunique()
        assert row.df == direct["df"] and row.df_error == direct["df_error"]
        assert row.F == pytest.approx(direct["F"])
        assert row.p_permutation == pytest.approx(direct["p_permutation"])
        assert row.p_parametric == pytest.approx(direct["p_parametric"])
        if row.source == "Session":
            first = "pre" if row.comparison == "pre vs central" else "central"
            values = data.loc[data["session"] == first, "value"]
            assert getattr(row, f"M_{first}") == pytest.approx(values.mean())
            assert getattr(row, f"SD_{first}") == pytest.approx(values.std(ddof=1))


def test_total_rows_and_apa_marks(report):
    totals = report.anova[report.anova["source"] == "Total"]
    assert (totals["df"] == totals["n"] - 1).all()
    tested = report.anova[report.anova["p_permutation"].notna()]
    effects = report.effects(alpha=1.0)
    assert len(effects) == len(tested)
    for row, test in zip(tested.itertuples(), effects["Test"]):
        p = row.p_permutation
        expected = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
        expected = expected or ("\u2020" if p < 0.1 else "")
        assert test == (
            f"F({int(row.df)}, {int(row.df_error)}) = {row.F:.2f}, "
            f"p = {f'{p:.3f}'.lstrip('0')}{expected}"
        )
    assert any(t.endswith("**") for t in effects["Test"])  # the demo has p < .01 effects


def test_posthoc_where_interaction_below_alpha(demo, report):
    interactions = report.anova[report.anova["source"] == "Session x Rupture type"]
    flagged = interactions[interactions["p_permutation"] < 0.1]
    assert len(flagged) >= 1  # the demo plants an interaction for therapists' ruptures
    for row in flagged.itertuples(index=False):
        rows = report.posthoc[
            (report.posthoc["informant"] == row.informant)
            & (report.posthoc["behaviour"] == row.behaviour)
        ]
        assert sorted(rows["rupture_type"]) == ["repaired", "unrepaired"]
        sequences = direct_sequences(demo, row.informant, row.behaviour)
        resolved = sequences[sequences["type"].isin(["repaired", "unrepaired"])]
        direct = permanova.posthoc(
            long_data(resolved, ("central", "post")),
            "value",
            "session",
            subject="subject",
            by="type",
            n_resamples=B,
            random_state=int(rows["random_state"].iloc[0]),
        ).table.set_index("type")
        for line in rows.itertuples(index=False):
            assert line.F == pytest.approx(direct.loc[line.rupture_type, "F"])
            assert line.p_holm == pytest.approx(direct.loc[line.rupture_type, "p_holm"])
    not_flagged = interactions[~(interactions["p_permutation"] < 0.1)]
    for row in not_flagged.itertuples(index=False):
        assert not (
            (report.posthoc["informant"] == row.informant)
            & (report.posthoc["behaviour"] == row.behaviour)
        ).any()


def test_same_seed_same_tables(demo, report):
    again = run_study(demo.alliance, demo.codes, n_resamples=B, random_state=SEED)
    pd.testing.assert_frame_equal(again.anova, report.anova)
    pd.testing.assert_frame_equal(again.posthoc, report.posthoc)


def test_inputs_not_modified(demo):
    alliance, codes = demo.alliance.copy(), demo.codes.copy()
    run_study(demo.alliance, demo.codes, n_resamples=9, random_state=0)
    pd.testing.assert_frame_equal(demo.alliance, alliance)
    pd.testing.assert_frame_equal(demo.codes, codes)


def test_save_writes_every_table_and_figure(report, tmp_path):
    path = report.save(tmp_path / "out")
    assert path.name == "report.html"
    names = [
        "table1",
        "alliance_summary",
        "sequences",
        "central_sessions",
        "accordance",
        "anova",
        "posthoc",
        "alliance_scores",
        "missing_items",
        "exclusions",
    ]
    for name in names:
        assert (path.parent / f"{name}.csv").is_file()
    for number in range(1, 9):
        png = (path.parent / f"figure{number}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    text = path.read_text(encoding="utf-8")
    for heading in ("Table 1.", "Table 2.", "Table 3.", "Post-hoc", "Settings used"):
        assert heading in text
    figures = re.findall(
        r'<figure id="figure(\d)"><img alt="[^"]+" src="data:image/png;base64,', text
    )
    assert figures == [str(n) for n in range(1, 9)]
    assert "http://" not in text and "https://" not in text  # self-contained
    assert report.settings["tukeyrupture_version"] in text
    child = report.formatted_table1().loc["Children", "Time series with ruptures"]
    assert child in text
    table1 = pd.read_csv(path.parent / "table1.csv", index_col="informant")
    assert table1["ruptures_total"].tolist() == report.table1["ruptures_total"].tolist()


def test_figures_are_complete(report):
    assert sorted(report.figures) == [f"figure{n}" for n in range(1, 9)]
    assert set(report.captions) == set(report.figures)
    chart = report.figures["figure1"].axes[0]
    assert "repaired" in chart.get_title()


def test_too_small_groups_give_stated_rows(demo):
    codes = demo.codes[demo.codes["informant"] == "therapist"]
    one_child = demo.codes[demo.codes["informant"] == "child"].head(3)
    report = run_study(demo.alliance, pd.concat([codes, one_child]), n_resamples=9, random_state=0)
    child = report.anova[
        (report.anova["informant"] == "child") & (report.anova["source"] != "Total")
    ]
    assert child["F"].isna().all()
    assert child["note"].str.contains("not tested").all()


def test_unresolved_excluded_from_mixed_with_count(report):
    coded = report.sequences[report.sequences["coded"]]
    unresolved = (coded["informant"] == "therapist") & (coded["repair"] == "unresolved")
    mixed = report.anova[
        (report.anova["informant"] == "therapist")
        & (report.anova["comparison"] == "central vs post")
        & (report.anova["source"] == "Session")
    ]
    if unresolved.sum():
        assert mixed["note"].str.contains(f"{unresolved.sum()} coded unresolved").all()


def test_without_codes(demo):
    report = run_study(demo.alliance, None, n_resamples=9, random_state=0)
    assert report.table1["coded"].tolist() == [0, 0]
    assert report.anova.loc[report.anova["source"] != "Total", "F"].isna().all()
    assert any("No codes" in note for note in report.notes)


def test_informant_without_eligible_series(demo):
    alliance = demo.alliance[
        ~((demo.alliance["informant"] == "therapist") & (demo.alliance["session"] % 3 == 0))
    ]
    report = run_study(alliance, demo.codes, n_resamples=9, random_state=0)
    assert report.table1.loc["therapist", "series_analysed"] == 0
    assert report.table1.loc["therapist", "ruptures_total"] == 0
    assert any("No therapist series" in note for note in report.notes)


def test_codes_for_unknown_sessions_are_stated(demo):
    codes = demo.codes.copy()
    codes.loc[0, "session"] = 40
    report = run_study(demo.alliance, codes, n_resamples=9, random_state=0)
    assert any("no alliance row" in note for note in report.notes)


def _change(frame, row, column, value):
    frame = frame.astype({column: object}) if isinstance(value, str) else frame.copy()
    frame.loc[row, column] = value
    return frame


@pytest.mark.parametrize(
    ("what", "error", "pattern"),
    [
        ("informant", ValueError, r"'child' or 'therapist'; got \['Child'\] in rows \[5\]"),
        ("non-numeric", TypeError, r"item_3'\]` must be numeric; got \['3a'\] in rows \[7\]"),
        ("out of range", ValueError, r"child items outside 1..4 in rows \[7, 9\]"),
        ("session", ValueError, r"whole session numbers"),
        ("missing column", ValueError, r"no column\(s\) \['item_12'\]"),
        ("codes dyad", ValueError, r"dyads that are not in the alliance data: \['D99'\]"),
        ("codes range", ValueError, r"positive_child_involvement scores outside 0..20"),
        ("duplicate", ValueError, r"more than one row for the same"),
        ("not a frame", TypeError, r"must be a pandas DataFrame"),
        ("complex item", TypeError, r"item_1'\]` must be numeric; got complex .* rows \[2\]"),
        ("infinite session", ValueError, r"finite session numbers below 2\*\*53.* rows \[4\]"),
        ("huge session", ValueError, r"finite session numbers below 2\*\*53.* rows \[4\]"),
        ("codes session", ValueError, r"`codes\['session'\]` must hold finite.* rows \[1\]"),
    ],
)
def test_bad_input(demo, what, error, pattern):
    alliance, codes = demo.alliance, demo.codes
    if what == "informant":
        alliance = _change(alliance, 5, "informant", "Child")
    elif what == "non-numeric":
        alliance = _change(alliance, 7, "item_3", "3a")
    elif what == "out of range":
        alliance = _change(_change(alliance, 7, "item_3", 9.0), 9, "item_3", 9.0)
    elif what == "session":
        alliance = _change(alliance.astype({"session": float}), 4, "session", 2.5)
    elif what == "missing column":
        alliance = alliance.drop(columns="item_12")
    elif what == "codes dyad":
        codes = _change(codes, 3, "dyad", "D99")
    elif what == "codes range":
        codes = _change(codes, 2, "positive_child_involvement", 25.0)
    elif what == "duplicate":
        alliance = pd.concat([alliance, alliance.iloc[[3]]], ignore_index=True)
    elif what == "not a frame":
        alliance = alliance.to_numpy()
    elif what == "complex item":
        alliance = _change(alliance.astype({"item_1": object}), 2, "item_1", 3 + 1j)
    elif what in ("infinite session", "huge session"):
        value = np.inf if what == "infinite session" else 1e300
        alliance = _change(alliance.astype({"session": float}), 4, "session", value)
    elif what == "codes session":
        codes = _change(codes.astype({"session": float}), 1, "session", np.inf)
    with pytest.raises(error, match=pattern):
        run_study(alliance, codes, n_resamples=9)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"n_resamples": 0}, ValueError, "n_resamples"),
        ({"n_resamples": 10**20}, ValueError, "n_resamples"),
        ({"n_resamples": 1.5}, TypeError, "n_resamples"),
        ({"alpha": 1.5}, ValueError, "alpha"),
        ({"detector": "tcc"}, TypeError, "detector"),
    ],
)
def test_bad_parameters(demo, options, error, pattern):
    with pytest.raises(error, match=pattern):
        run_study(demo.alliance, demo.codes, **options)


def test_custom_detector_is_cloned(demo):
    detector = TukeyRuptureDetector(iqr_multiplier=1.5)
    report = run_study(demo.alliance, None, detector=detector, n_resamples=9, random_state=0)
    assert not hasattr(detector, "pooled_sd_")
    assert report.settings["detector"]["iqr_multiplier"] == 1.5


LAYOUT = ["Session", "Total", "Rupture type", "Session", "Session x Rupture type", "Total"]


def assert_tables_2_3_layout(anova):
    assert len(anova) == 4 * len(LAYOUT)
    for _, rows in anova.groupby(["informant", "behaviour"], sort=False):
        assert rows["source"].tolist() == LAYOUT
        assert rows["comparison"].tolist() == ["pre vs central"] * 2 + ["central vs post"] * 4


def test_anova_layout_with_and_without_tests(demo, report):
    assert_tables_2_3_layout(report.anova)
    assert_tables_2_3_layout(run_study(demo.alliance, None, n_resamples=9).anova)


def test_codes_without_informant_serve_both(demo):
    codes = demo.codes[demo.codes["informant"] == "therapist"].drop(columns="informant")
    report = run_study(demo.alliance, codes, n_resamples=9, random_state=0)
    assert any("no informant column" in note for note in report.notes)
    assert report.table1.loc["therapist", "coded"] == 12


# ---------------------------------------------------------------------------------------
# Exclusions, missing items, ranges, column labels, seeds, unmodified inputs (issue 8)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def no_png(monkeypatch):
    """``save`` without rendering the PNGs (slow and beside the point here)."""
    from tukeyrupture.study import _figures

    monkeypatch.setattr(_figures, "png_bytes", lambda figure: b"\x89PNG")


def _exclusion_n(report, informant, excluded_from, behaviour=None):
    rows = report.exclusions[
        (report.exclusions["informant"] == informant)
        & (report.exclusions["excluded_from"] == excluded_from)
    ]
    if behaviour is not None:
        rows = rows[rows["behaviour"] == behaviour]
    return int(rows["n"].sum())


def _test_n(report, informant, behaviour, comparison):
    rows = report.anova[
        (report.anova["informant"] == informant)
        & (report.anova["behaviour"] == behaviour)
        & (report.anova["comparison"] == comparison)
        & (report.anova["source"] == "Total")
    ]
    return int(rows["n"].iloc[0])


def assert_counts_reconcile(report):
    """Table 1, the exclusions and the ANOVAs' n tell one story."""
    for informant, row in report.table1.iterrows():
        assert row["series_total"] - row["series_analysed"] == _exclusion_n(
            report, informant, "rupture detection"
        )
        assert row["ruptures_total"] - row["coded"] == _exclusion_n(
            report, informant, "every ANOVA"
        )
        for behaviour in BEHAVIOURS:
            analysed = row[f"analysed_{behaviour}"]
            gaps = _exclusion_n(report, informant, "every ANOVA of the behaviour", behaviour)
            assert row["coded"] - gaps == analysed
            assert _test_n(report, informant, behaviour, "pre vs central") == analysed
            unresolved = _exclusion_n(report, informant, "central vs post", behaviour)
            assert _test_n(report, informant, behaviour, "central vs post") == (
                analysed - unresolved
            )


def test_counts_reconcile_on_the_demo(report):
    assert_counts_reconcile(report)
    assert list(report.exclusions.columns) == [
        "informant",
        "excluded_from",
        "behaviour",
        "unit",
        "n",
        "reason",
        "examples",
    ]
    assert (report.exclusions["n"] > 0).all()
    unresolved = report.sequences["coded"] & (report.sequences["repair"] == "unresolved")
    listed = report.exclusions[report.exclusions["excluded_from"] == "central vs post"]
    assert listed["n"].sum() == len(BEHAVIOURS) * unresolved.sum()


@pytest.fixture(scope="module")
def gap(demo, report):
    """The demo with positive child involvement missing at one coded child session."""
    coded = report.sequences[
        report.sequences["coded"] & (report.sequences["informant"] == "child")
    ].iloc[0]
    dyad, session = coded["dyad"], int(coded["central_session"])
    codes = demo.codes.copy()
    where = (
        (codes["dyad"] == dyad) & (codes["informant"] == "child") & (codes["session"] == session)
    )
    codes.loc[where, "positive_child_involvement"] = np.nan
    child = report.sequences[
        report.sequences["coded"]
        & (report.sequences["informant"] == "child")
        & (report.sequences["dyad"] == dyad)
    ]
    hit = child[
        (child["pre_session"] == session)
        | (child["central_session"] == session)
        | (child["post_session"] == session)
    ]
    gapped = run_study(demo.alliance, codes, n_resamples=B, random_state=SEED)
    return gapped, list(hit["sequence"])


def test_missing_behaviour_value_is_stated_and_counted(report, gap):
    gapped, hit = gap
    behaviour = "positive_child_involvement"
    row = gapped.exclusions[
        (gapped.exclusions["informant"] == "child")
        & (gapped.exclusions["excluded_from"] == "every ANOVA of the behaviour")
    ]
    assert row["behaviour"].tolist() == [behaviour]
    assert row["n"].tolist() == [len(hit)]
    assert all(sequence in row["examples"].iloc[0] for sequence in hit)
    child = gapped.table1.loc["child"]
    assert child["coded"] == report.table1.loc["child", "coded"]  # still coded ...
    assert child[f"analysed_{behaviour}"] == child["coded"] - len(hit)  # ... not analysed
    assert child["analysed_positive_therapist_behavior"] == child["coded"]  # other: kept
    assert_counts_reconcile(gapped)
    assert any("lack a positive_child_involvement score" in note for note in gapped.notes)
    cell = gapped.formatted_table1().loc["Children", "Coded ruptures"]
    coded = int(child["coded"])
    assert cell == f"{coded} (analysed: {coded - len(hit)} positive child involvement)"


def test_exclusions_saved_and_shown(gap, tmp_path, no_png):
    gapped, hit = gap
    path = gapped.save(tmp_path)
    saved = pd.read_csv(tmp_path / "exclusions.csv", keep_default_na=False)
    assert saved["n"].tolist() == gapped.exclusions["n"].tolist()
    assert saved["reason"].tolist() == gapped.exclusions["reason"].tolist()
    items = pd.read_csv(tmp_path / "missing_items.csv", index_col="informant")
    pd.testing.assert_frame_equal(items, gapped.missing_items)
    text = path.read_text(encoding="utf-8")
    assert 'id="exclusions"' in text and hit[0] in text
    assert f"{len(gapped.exclusions)} exclusion(s)" in repr(gapped)


def _one_item_answered(alliance, row, informant):
    """The alliance with the row's session answered on item_1 only."""
    alliance = alliance.copy()
    assert alliance.loc[row, "informant"] == informant
    alliance.loc[row, ITEMS[1:]] = np.nan
    return alliance


def test_total_from_one_item_is_a_missing_session(demo):
    child = demo.alliance.index[demo.alliance["informant"] == "child"]
    row = child[40]
    alliance = _one_item_answered(demo.alliance, row, "child")
    dyad, session = alliance.loc[row, "dyad"], alliance.loc[row, "session"]
    strict = run_study(alliance, None, n_resamples=9, random_state=0)
    loose = run_study(alliance, None, n_resamples=9, random_state=0, max_missing_items=None)
    assert strict.settings["max_missing_items"] == 6
    assert np.isnan(strict.scores["child"].loc[dyad, session])
    assert loose.scores["child"].loc[dyad, session] == 12 * alliance.loc[row, "item_1"]
    assert strict.missing_items.loc["child", "set_missing"] == 1
    assert loose.missing_items.loc["child", "set_missing"] == 0
    assert (
        loose.missing_items.loc["child", "prorated"]
        == strict.missing_items.loc["child", "prorated"] + 1
    )
    row_listed = strict.exclusions[strict.exclusions["reason"].str.contains("more than 6")]
    assert row_listed["n"].tolist() == [1] and row_listed["examples"].tolist() == [str(row)]
    assert any("1 set missing" in note for note in strict.notes)


@pytest.mark.parametrize("limit", [0, 2, 6, None])
def test_missing_items_counts(demo, limit):
    report = run_study(demo.alliance, None, n_resamples=9, random_state=0, max_missing_items=limit)
    for informant in ("child", "therapist"):
        rows = demo.alliance[demo.alliance["informant"] == informant]
        missing = rows[ITEMS].isna().sum(axis=1)
        bound = 12 if limit is None else limit
        counts = report.missing_items.loc[informant]
        assert counts["session_rows"] == len(rows)
        assert counts["complete"] == (missing == 0).sum()
        assert counts["prorated"] == ((missing > 0) & (missing <= bound) & (missing < 12)).sum()
        assert counts["set_missing"] == ((missing > bound) & (missing < 12)).sum()
        assert counts["unanswered"] == (missing == 12).sum()
        totals = total_scores(
            rows[ITEMS], max_missing=limit, statistic=STATISTIC[informant]
        ).to_numpy()
        scores = report.scores[informant]
        looked_up = [scores.loc[d, s] for d, s in zip(rows["dyad"], rows["session"])]
        np.testing.assert_allclose(looked_up, totals)


def test_stricter_missing_items_rule_drops_demo_sessions(demo):
    report = run_study(demo.alliance, None, n_resamples=9, random_state=0, max_missing_items=2)
    therapist = demo.alliance[demo.alliance["informant"] == "therapist"]
    assert (
        report.missing_items.loc["therapist", "set_missing"]
        == (therapist[ITEMS].isna().sum(axis=1) > 2).sum()
        > 0
    )
    assert_counts_reconcile(report)


@pytest.mark.parametrize(
    ("value", "error"), [(13, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)]
)
def test_bad_max_missing_items(demo, value, error):
    with pytest.raises(
        error, match=r"`max_missing_items` must be None or an integer from 0 to 12"
    ):
        run_study(demo.alliance, None, max_missing_items=value)


@pytest.mark.parametrize(
    ("informant", "value", "scale"),
    [("child", 5.0, "1..4"), ("child", 0.0, "1..4"), ("therapist", 8.0, "1..7")],
)
def test_out_of_range_items_name_rows_and_columns(demo, informant, value, scale):
    rows = demo.alliance.index[demo.alliance["informant"] == informant][[3, 11]]
    alliance = demo.alliance.copy()
    alliance.loc[rows[0], "item_2"] = value
    alliance.loc[rows[1], "item_9"] = value
    pattern = (
        rf"`alliance` has {informant} items outside {scale} in rows \[{rows[0]}, {rows[1]}\], "
        r"columns \['item_2', 'item_9'\]; e\.g\. row"
    )
    with pytest.raises(ValueError, match=pattern):
        run_study(alliance, None, n_resamples=9)


def test_therapist_range_is_not_the_child_range(demo):
    """A 7 is fine for a therapist and out of range for a child."""
    therapist = demo.alliance.index[demo.alliance["informant"] == "therapist"][0]
    alliance = demo.alliance.copy()
    alliance.loc[therapist, "item_1"] = 7.0
    run_study(alliance, None, n_resamples=9, random_state=0)
    child = demo.alliance.index[demo.alliance["informant"] == "child"][0]
    alliance.loc[child, "item_1"] = 7.0
    with pytest.raises(ValueError, match=rf"rows \[{child}\], columns \['item_1'\]"):
        run_study(alliance, None, n_resamples=9)


def test_out_of_range_codes_name_rows_and_column(demo):
    codes = demo.codes.copy()
    codes.loc[[4, 6], "positive_therapist_behavior"] = [29.0, -1.0]
    with pytest.raises(
        ValueError,
        match=r"positive_therapist_behavior scores outside 0..28 in rows \[4, 6\], columns "
        r"\['positive_therapist_behavior'\]",
    ):
        run_study(demo.alliance, codes, n_resamples=9)


def _multiindex(frame):
    frame = frame.copy()
    frame.columns = pd.MultiIndex.from_arrays([frame.columns, ["a"] * frame.shape[1]])
    return frame


@pytest.mark.parametrize("which", ["alliance", "codes"])
@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda f, c: pd.concat([f, f[[c]]], axis=1),
            r"`{which}` has duplicated column labels \['{column}'\]",
        ),
        (lambda f, c: _multiindex(f), r"`{which}` has MultiIndex column labels \(2 levels"),
    ],
)
def test_column_labels_must_be_unique_and_flat(demo, which, edit, pattern):
    column = "item_4" if which == "alliance" else "positive_child_involvement"
    frames = {"alliance": demo.alliance, "codes": demo.codes}
    frames[which] = edit(frames[which], column)
    with pytest.raises(ValueError, match=pattern.format(which=which, column=column)):
        run_study(frames["alliance"], frames["codes"], n_resamples=9)


@pytest.mark.parametrize(
    ("values", "pattern"),
    [
        (lambda s: s.astype(complex), "got complex numbers"),
        (lambda s: pd.to_datetime(s, unit="D"), "got dates or durations"),
        (lambda s: s.notna(), "got booleans"),
    ],
)
def test_non_score_dtypes_are_rejected(demo, values, pattern):
    alliance = demo.alliance.assign(item_2=values(demo.alliance["item_2"]))
    with pytest.raises(TypeError, match=rf"`alliance\['item_2'\]` must be numeric; {pattern}"):
        run_study(alliance, None, n_resamples=9)


def test_duplicated_index_labels_give_the_same_report(demo, report):
    """Row labels repeated after a ``pd.concat``: nothing is fetched twice or lost."""
    half = len(demo.alliance) // 2
    alliance = pd.concat([demo.alliance.iloc[:half], demo.alliance.iloc[half:]])
    alliance.index = np.r_[np.arange(half), np.arange(len(demo.alliance) - half)]
    codes = demo.codes.set_axis(np.zeros(len(demo.codes), dtype=int))
    again = run_study(alliance, codes, n_resamples=B, random_state=SEED)
    pd.testing.assert_frame_equal(again.table1, report.table1)
    pd.testing.assert_frame_equal(again.anova, report.anova)
    pd.testing.assert_frame_equal(again.missing_items, report.missing_items)


# Seeds ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(demo):
    """Without codes (fast): every ANOVA row still records the seed it was given."""
    return demo.alliance, None


def _run(small, random_state):
    report = run_study(*small, n_resamples=9, random_state=random_state)
    assert report.anova.loc[report.anova["source"] != "Total", "random_state"].notna().all()
    return report


def test_seed_is_drawn_recorded_and_reproduces(small, tmp_path, no_png):
    first, second = _run(small, None), _run(small, None)
    assert isinstance(first.seed, int) and 0 <= first.seed < 2**32
    assert first.seed != second.seed  # fresh entropy per run
    assert first.settings["seed"] == first.seed and first.settings["random_state"] is None
    assert f"seed {first.seed}" in repr(first)
    again = _run(small, first.seed)
    pd.testing.assert_frame_equal(again.anova, first.anova)
    pd.testing.assert_frame_equal(again.posthoc, first.posthoc)
    path = first.save(tmp_path)
    assert f'"seed": {first.seed}' in (tmp_path / "settings.json").read_text()
    assert f"seed {first.seed}" in path.read_text(encoding="utf-8")


def test_int_seed_is_recorded(small):
    report = _run(small, np.int64(11))
    assert report.seed == 11 and type(report.seed) is int
    assert report.settings["random_state"] == 11


def test_seed_sequence_is_not_modified(small):
    sequence = np.random.SeedSequence(11)
    state = sequence.generate_state(4)
    first = _run(small, sequence)
    second = _run(small, sequence)
    assert sequence.n_children_spawned == 0 and sequence.spawn_key == ()
    np.testing.assert_array_equal(sequence.generate_state(4), state)
    pd.testing.assert_frame_equal(first.anova, second.anova)
    assert first.seed == 11  # SeedSequence(11) seeds as 11 does
    pd.testing.assert_frame_equal(first.anova, _run(small, 11).anova)


def test_spawned_seed_sequence_is_reproduced_by_the_recorded_seed(small):
    child = np.random.SeedSequence(3).spawn(1)[0]
    report = _run(small, child)
    assert child.n_children_spawned == 0
    pd.testing.assert_frame_equal(_run(small, report.seed).anova, report.anova)


@pytest.mark.parametrize("make", [np.random.RandomState, np.random.default_rng])
def test_random_state_and_generator_are_accepted(small, make):
    first, second = _run(small, make(5)), _run(small, make(5))
    assert first.seed == second.seed
    pd.testing.assert_frame_equal(first.anova, second.anova)
    pd.testing.assert_frame_equal(_run(small, first.seed).anova, first.anova)


@pytest.mark.parametrize(
    ("value", "error"),
    [(1.5, TypeError), ("0", TypeError), (True, TypeError), (-1, ValueError)],
)
def test_bad_random_state(demo, value, error):
    with pytest.raises(error, match="`random_state` must be"):
        run_study(demo.alliance, None, n_resamples=9, random_state=value)


# Inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [False, True])
def test_inputs_deeply_unchanged(demo, shared):
    alliance = demo.alliance.copy()
    alliance.loc[alliance.index[[2, 5]], ["item_1", "item_7"]] = np.nan
    codes = demo.codes.copy()
    codes.loc[codes.index[3], "positive_child_involvement"] = np.nan
    if shared:
        codes = codes.drop(columns="informant")
    detector = TukeyRuptureDetector(iqr_multiplier=1.5)
    sequence = np.random.SeedSequence(2)
    before = copy.deepcopy((alliance, codes, detector.get_params(), sequence.generate_state(4)))
    run_study(alliance, codes, detector=detector, n_resamples=9, random_state=sequence)
    pd.testing.assert_frame_equal(alliance, before[0], check_exact=True)
    pd.testing.assert_frame_equal(codes, before[1], check_exact=True)
    assert detector.get_params() == before[2] and not hasattr(detector, "pooled_sd_")
    np.testing.assert_array_equal(sequence.generate_state(4), before[3])


@pytest.mark.parametrize("out_dir", [5, None, ["a"]])
def test_save_rejects_a_non_path(report, out_dir):
    with pytest.raises(TypeError, match="`out_dir` must be a folder path"):
        report.save(out_dir)
