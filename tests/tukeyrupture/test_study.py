"""Tests of run_study: the study end to end on the demo, checked against direct calls."""

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
    tested = report.anova[(report.anova["source"] != "Total") & report.anova["p"].notna()]
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
        assert row.p == pytest.approx(direct["p_permutation"])
        assert row.p_parametric == pytest.approx(direct["p_parametric"])
        if row.source == "Session":
            first = "pre" if row.comparison == "pre vs central" else "central"
            values = data.loc[data["session"] == first, "value"]
            assert getattr(row, f"M_{first}") == pytest.approx(values.mean())
            assert getattr(row, f"SD_{first}") == pytest.approx(values.std(ddof=1))


def test_total_rows_and_stars(report):
    totals = report.anova[report.anova["source"] == "Total"]
    assert (totals["df"] == totals["n"] - 1).all()
    for row in report.anova.itertuples():
        if np.isfinite(row.p):
            expected = "**" if row.p < 0.05 else "*" if row.p < 0.1 else ""
            assert row.stars == expected


def test_posthoc_where_interaction_below_alpha(demo, report):
    interactions = report.anova[report.anova["source"] == "Session x Rupture type"]
    flagged = interactions[interactions["p"] < 0.1]
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
    not_flagged = interactions[~(interactions["p"] < 0.1)]
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
    with pytest.raises(error, match=pattern):
        run_study(alliance, codes, n_resamples=9)


@pytest.mark.parametrize(
    ("options", "error", "pattern"),
    [
        ({"n_resamples": 0}, ValueError, "n_resamples"),
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
