"""Tests of the study's stages: seeds per family, tidy test rows, the frozen report of
frames, figures and HTML drawn from the report alone, and the journal-style display."""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import permanova
from tukeyrupture.datasets import load_study_demo
from tukeyrupture.study import StudyReport, run_study
from tukeyrupture.study._anova import family_seeds
from tukeyrupture.study._labels import format_f, format_p, mark

B = 99
SEED = 3


@pytest.fixture(scope="module")
def demo():
    return load_study_demo()


@pytest.fixture(scope="module")
def report(demo):
    return run_study(demo.alliance, demo.codes, n_resamples=B, random_state=SEED)


@pytest.fixture(scope="module")
def no_codes(demo):
    return run_study(demo.alliance, None, n_resamples=B, random_state=SEED)


@pytest.fixture
def no_png(monkeypatch):
    from tukeyrupture.study import _figures

    monkeypatch.setattr(_figures, "png_bytes", lambda figure: b"\x89PNG")


def test_family_seeds_are_the_runs_draws_in_slot_order():
    rng = np.random.default_rng(SEED)
    slots = [
        (i, b)
        for i in ("child", "therapist")
        for b in ("positive_child_involvement", "positive_therapist_behavior")
    ]
    draws = {slot: rng.integers(0, 2**32, size=3, dtype=np.uint64) for slot in slots}
    for column, family in enumerate(("pre vs central", "central vs post", "posthoc")):
        seeds = family_seeds(SEED, family)
        assert [int(seeds[slot]) for slot in slots] == [int(draws[s][column]) for s in slots]


def test_rows_are_aovperm_to_frame_of_the_saved_data(report):
    columns = ["df", "df_error", "SS", "SS_error", "F", "p_parametric", "p_permutation"]
    tested = report.anova[report.anova["method"] != ""]
    assert len(tested) > 0
    keys = ["informant", "behaviour", "comparison"]
    for key, rows in tested.groupby(keys, sort=False):
        data = report.anova_data.set_index(keys).loc[key].reset_index(drop=True)
        design = {"within": "session"}
        if key[2] == "central vs post":
            design["between"] = "type"
        direct = permanova.aovperm(
            data,
            "value",
            subject="subject",
            n_resamples=B,
            random_state=int(rows["random_state"].iloc[0]),
            **design,
        ).to_frame()
        direct = direct.set_index("effect").loc[rows["effect"], columns]
        np.testing.assert_allclose(rows[columns].to_numpy(float), direct.to_numpy(float))
        assert rows["n"].iloc[0] == data["subject"].nunique()


def test_report_holds_frames_and_is_frozen(report):
    for field in dataclasses.fields(StudyReport):
        value = getattr(report, field.name)
        if field.name in ("scores",):
            assert all(isinstance(v, pd.DataFrame) for v in value.values())
        elif field.name not in ("results", "settings", "seed", "notes"):
            assert isinstance(value, pd.DataFrame), field.name
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.anova = None
    assert "figures" not in {f.name for f in dataclasses.fields(StudyReport)}


def test_figures_read_the_report_alone(report):
    child = report.anova["informant"] == "child"
    interaction = report.anova["effect"] == "type:session"
    changed = dataclasses.replace(
        report,
        anova=report.anova.assign(
            p_permutation=report.anova["p_permutation"].mask(child & interaction, 0.0004)
        ),
    )
    titles = [ax.get_title() for ax in changed.figures["figure8"].axes[:2]]
    assert all(title.endswith("interaction p < .001***") for title in titles)
    original = [ax.get_title() for ax in report.figures["figure8"].axes[:2]]
    assert original != titles


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0004, "***"),
        (0.004, "**"),
        (0.049, "*"),
        (0.05, "\u2020"),
        (0.099, "\u2020"),
        (0.1, ""),
        (0.5, ""),
        (np.nan, ""),
        (None, ""),
    ],
)
def test_apa_marks(p, expected):
    assert mark(p) == expected


def test_numbers_are_written_as_in_journals():
    assert format_f(1, 10, 1.6912) == "F(1, 10) = 1.69"
    assert format_f(np.nan, np.nan, np.nan) == ""
    assert format_p(0.0432) == "p = .043"
    assert format_p(0.0001) == "p < .001"
    assert format_p(np.nan) == "not tested"


def test_html_reads_like_journal_tables(report, tmp_path, no_png):
    text = report.save(tmp_path).read_text(encoding="utf-8")
    assert "white-space: nowrap" in text
    assert "\u2020 p &lt; .10 (marginal" in text or "\u2020 p < .10 (marginal" in text
    table2 = text[text.index('id="table2"') : text.index('id="table3"')]
    # each behaviour named once for its rows (a spanning cell), not on every row
    assert table2.count(">Positive child involvement</th>") == 1
    assert re.search(r'rowspan="\d+"[^>]*>Positive child involvement', table2)
    sequences = text[text.index('id="sequences"') :]
    head = sequences[: sequences.index("</thead>")]
    assert "_" not in re.sub(r"<[^>]+>", "", head)  # no snake_case headers
    assert "Sessions (pre, central, post)" in head


def test_without_codes_the_code_sections_are_left_out(no_codes, tmp_path, no_png):
    assert sorted(no_codes.figures) == ["figure1", "figure2", "figure3"]
    path = no_codes.save(tmp_path)
    text = path.read_text(encoding="utf-8")
    assert 'id="table2"' not in text and 'id="posthoc"' not in text
    assert "not tested" not in text
    assert "No behaviour codes were given" in text
    assert sorted(p.name for p in tmp_path.glob("figure*.png")) == [
        "figure1.png",
        "figure2.png",
        "figure3.png",
    ]
    # the frames still state every test as not run, for the CSV files
    assert len(no_codes.anova) == 24 and no_codes.anova["F"].isna().all()


def test_coinciding_lines_in_figures_1_and_2_are_named(report):
    for name in ("figure1", "figure2"):
        labels = [line.get_label() for line in report.figures[name].axes[0].get_lines()]
        levels = [label for label in labels if label.startswith(("Median", "Lower-half"))]
        assert len(levels) == 2  # both lines drawn, even where they coincide
