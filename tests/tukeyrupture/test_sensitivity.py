"""Tests of sensitivity_study and its HTML report (tiny grids)."""

import dataclasses
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import roc_auc_score

from tukeyrupture.comparison.realistic import simulate_realistic
from tukeyrupture.comparison.registry import build_detector
from tukeyrupture.comparison.rivals import ShewhartDetector
from tukeyrupture.comparison.sensitivity import (
    DEFAULT_GRID,
    MISSINGNESS,
    SensitivityResult,
    sensitivity_study,
)

TINY = {"depth": [0.5, 4.0], "rupture_rate": 0.1}


@pytest.fixture(scope="module")
def tiny():
    return sensitivity_study(
        grid=TINY, detectors=["absolute", "tcc"], n_series=150, random_state=3, progress=False
    )


def _rows(result, factor, level, detector):
    frame = result.scores
    mask = (frame["factor"] == factor) & (frame["detector"] == detector)
    mask &= frame["level"].map(lambda value: value == level)
    return frame[mask].iloc[0]


def test_result_shape_and_repr(tiny):
    assert isinstance(tiny, SensitivityResult)
    assert repr(tiny) == (
        "SensitivityResult(preset='children', factors=['depth'], "
        "detectors=['absolute', 'tcc'], n_series=150)"
    )
    frame = tiny.to_frame()
    assert list(frame["factor"]) == ["baseline"] * 2 + ["depth"] * 4
    assert set(frame["family"]) == {"criterion", "control chart"}
    frame.loc[0, "recall"] = -1.0
    assert tiny.scores.loc[0, "recall"] != -1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny.preset = "therapists"
    assert list(tiny.timing["detector"]) == ["absolute", "tcc"]
    assert (tiny.timing["n_series"] == 150 * 3).all()


@pytest.mark.parametrize("detector", ["absolute", "tcc"])
def test_recall_rises_with_depth(tiny, detector):
    shallow = _rows(tiny, "depth", 0.5, detector)
    deep = _rows(tiny, "depth", 4.0, detector)
    assert deep["recall"] > shallow["recall"] + 0.2
    assert deep["recall_low"] > shallow["recall_high"]


def test_counts_against_a_direct_computation(tiny):
    # condition depth=4: the preset with the grid's fixed rupture rate, the root seed 3
    sim = simulate_realistic(150, "children", depth=4.0, rupture_rate=0.1, random_state=3)
    detector = build_detector("absolute").fit(sim.X)
    predicted = detector.predict(sim.X)
    observed = ~np.isnan(sim.X)
    true = sim.labels != 0
    row = _rows(tiny, "depth", 4.0, "absolute")
    assert row["n_true"] == true.sum()
    assert row["n_matched"] == (true & (predicted != 0)).sum()
    negative = observed & ~true
    assert row["n_negative"] == negative.sum()
    assert row["n_false_positive"] == (negative & (predicted != 0)).sum()
    agree = true & (predicted != 0) & (predicted == sim.labels)
    assert row["n_repair_agree"] == agree.sum()
    score = detector.decision_function(sim.X)[observed]
    finite = np.nan_to_num(score, posinf=1e300, neginf=-1e300)
    assert row["auc"] == pytest.approx(roc_auc_score(true[observed], finite), abs=1e-12)


def test_wilson_intervals_against_scipy(tiny):
    for _, row in tiny.scores.iterrows():
        for rate, count, total in (
            ("recall", "n_matched", "n_true"),
            ("false_positive_rate", "n_false_positive", "n_negative"),
            ("repair_accuracy", "n_repair_agree", "n_matched"),
        ):
            interval = binomtest(int(row[count]), int(row[total])).proportion_ci(
                0.95, method="wilson"
            )
            assert row[rate] == pytest.approx(row[count] / row[total])
            assert row[f"{rate}_low"] == pytest.approx(interval.low, abs=1e-12)
            assert row[f"{rate}_high"] == pytest.approx(interval.high, abs=1e-12)
            assert 0 <= row[f"{rate}_low"] <= row[rate] <= row[f"{rate}_high"] <= 1


def test_roc_frame(tiny):
    roc = tiny.roc
    assert list(roc.columns) == ["factor", "level", "detector", "threshold", "fpr", "tpr"]
    for (factor, detector), curve in roc.groupby(["factor", "detector"]):
        if factor == "depth":
            continue
        assert curve["fpr"].is_monotonic_increasing and curve["tpr"].is_monotonic_increasing
        assert curve["fpr"].iloc[-1] == 1.0 and curve["tpr"].iloc[-1] == 1.0
        area = np.trapezoid(curve["tpr"], curve["fpr"])
        assert area == pytest.approx(_rows(tiny, factor, "preset", detector)["auc"])


def test_identical_conditions_run_once_and_match_the_baseline():
    result = sensitivity_study(
        grid={"depth": [2.0, 3.0]},
        detectors=["absolute"],
        n_series=60,
        random_state=1,
        progress=False,
    )
    counts = ["n_true", "n_matched", "n_false_positive", "n_negative", "auc"]
    baseline = _rows(result, "baseline", "preset", "absolute")[counts]
    same = _rows(result, "depth", 2.0, "absolute")[counts]
    pd.testing.assert_series_equal(baseline, same, check_names=False)
    assert result.timing["n_series"].iloc[0] == 60 * 2  # two distinct conditions


def test_factors_expand_to_simulator_arguments():
    result = sensitivity_study(
        grid={"n_sessions": [8, 20], "missingness": ["none", "after_rupture"]},
        detectors=["absolute"],
        n_series=40,
        random_state=2,
        progress=False,
    )
    observed = result.scores.set_index(["factor", "level"])
    observed = observed["n_negative"] + observed["n_true"]
    complete = simulate_realistic(
        40, "children", missing_rate=0.0, post_rupture_missing=0.0, random_state=2
    )
    assert observed.loc[("missingness", "none")] == complete.lengths.sum()
    for length in (8, 20):
        sim = simulate_realistic(40, "children", n_sessions=length, lengths=length, random_state=2)
        assert sim.X.shape == (40, length)
        assert observed.loc[("n_sessions", length)] == np.count_nonzero(~np.isnan(sim.X))
    after = simulate_realistic(40, "children", **MISSINGNESS["after_rupture"], random_state=2)
    assert observed.loc[("missingness", "after_rupture")] == np.count_nonzero(~np.isnan(after.X))


def test_reproducible_and_seed_not_modified():
    seed = np.random.SeedSequence(99)
    state = (seed.entropy, seed.n_children_spawned)
    options = dict(grid={"depth": [1.0, 3.0]}, detectors=["tcc"], n_series=40, progress=False)
    first = sensitivity_study(random_state=seed, **options)
    second = sensitivity_study(random_state=seed, **options)
    assert (seed.entropy, seed.n_children_spawned) == state
    pd.testing.assert_frame_equal(first.scores, second.scores)
    fresh = sensitivity_study(random_state=None, **options)
    again = sensitivity_study(random_state=fresh.seed, **options)
    pd.testing.assert_frame_equal(fresh.scores, again.scores)


def _assert_same_numbers(serial, parallel):
    pd.testing.assert_frame_equal(serial.scores, parallel.scores, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(serial.roc, parallel.roc, check_exact=False, rtol=1e-12)
    counts = ["n_true", "n_matched", "n_false_positive", "n_negative", "n_repair_agree"]
    pd.testing.assert_frame_equal(serial.scores[counts], parallel.scores[counts])


def test_serial_equals_dask_threads(tiny):
    pytest.importorskip("dask")
    threaded = sensitivity_study(
        grid=TINY,
        detectors=["absolute", "tcc"],
        n_series=150,
        random_state=3,
        progress=False,
        backend="dask",
    )
    _assert_same_numbers(tiny, threaded)


def test_serial_equals_dask_client(tiny):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        on_client = sensitivity_study(
            grid=TINY,
            detectors=["absolute", "tcc"],
            n_series=150,
            random_state=3,
            progress=True,
            backend=client,
        )
    _assert_same_numbers(tiny, on_client)


def test_estimators_by_name_and_detectors_without_a_score():
    pytest.importorskip("ruptures")
    result = sensitivity_study(
        grid={"depth": [1.0, 3.0]},
        detectors={"chart2": ShewhartDetector(n_sigma=2.0), "pelt": build_detector("pelt")},
        n_series=30,
        random_state=0,
        progress=False,
    )
    families = dict(zip(result.timing["detector"], result.timing["family"]))
    assert families == {"chart2": "other", "pelt": "partitioning"}
    assert result.scores.loc[result.scores["detector"] == "pelt", "auc"].isna().all()
    assert set(result.roc["detector"]) == {"chart2"}


def test_default_grid_conditions():
    # one factor at a time around the preset; depth 2 and ar 0.3 are the baseline itself
    from tukeyrupture.comparison._sensitivity_iv import _conditions

    cells, conditions = _conditions(DEFAULT_GRID, "children", 10)
    assert len(conditions) == 15
    assert [cell[2] for cell in cells if cell[:2] in {("depth", 2.0), ("ar", 0.3)}] == [0, 0]
    assert cells[0] == ("baseline", "preset", 0)
    assert conditions[0] == {"rupture_rate": 0.05}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"preset": "adults"}, ValueError, "`preset` must be one of"),
        ({"grid": {"speed": [1, 2]}}, ValueError, "unknown factor 'speed'; valid factors"),
        ({"grid": {"depth": []}}, ValueError, r"`grid\['depth'\]` must hold at least one"),
        ({"grid": [1, 2]}, TypeError, "`grid` must be a dict"),
        ({"grid": {"missingness": ["some"]}}, ValueError, r"`grid\['missingness'\]` levels"),
        ({"grid": {"depth": [1.0, -1.0]}}, ValueError, r"`grid` \(depth=-1.0\): `depth`"),
        ({"grid": {"ar": 0.99}}, ValueError, r"`grid` \(the fixed settings\): `ar` \+-"),
        ({"n_series": 0}, ValueError, "`n_series` must be an integer >= 1"),
        ({"n_series": 2.5}, TypeError, "`n_series` must be an integer"),
        ({"tolerance": -1}, ValueError, "`tolerance` must be an integer >= 0"),
        ({"confidence": 1.5}, ValueError, r"`confidence` must be a number in \(0, 1\)"),
        ({"backend": "loky"}, ValueError, "`backend` must be None, 'dask' or a"),
        ({"backend": 3}, TypeError, "`backend` must be None, 'dask' or a"),
        ({"detectors": ["nope"]}, ValueError, "Unknown detector name 'nope'"),
        ({"detectors": 3}, TypeError, "`detectors` must be None, a list"),
        ({"detectors": []}, ValueError, "`detectors` must name at least one"),
        ({"detectors": {"x": 1}}, TypeError, r"`detectors\['x'\]` must be an estimator"),
        ({"progress": "yes"}, TypeError, "`progress` must be True or False"),
        ({"random_state": -1}, ValueError, "`random_state` must be a non-negative"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    arguments = {
        "grid": {"depth": [1.0, 2.0]},
        "detectors": ["absolute"],
        "n_series": 5,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        sensitivity_study(**arguments)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.references, self.images = [], 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href"):
                self.references.append(value)
        if tag in ("script", "link", "iframe"):
            self.references.append(tag)
        self.images += tag == "img"


def test_report_is_written_and_self_contained(tiny, tmp_path):
    path = tiny.to_html(tmp_path)
    assert path == tmp_path / "sensitivity.html"
    text = path.read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    # recall, false positives, repair accuracy, ROC, run time
    assert parser.images == 5
    assert all(reference.startswith("data:image/png;base64,") for reference in parser.references)
    assert "http://" not in text and "https://" not in text
    assert "<table" in text and "absolute" in text
    other = tiny.to_html(tmp_path / "other.html")
    assert other.exists()


@pytest.fixture
def cli_with_sensitivity(monkeypatch):
    """``tukeyrupture.cli`` with the command wired as the lead wires it."""
    from tukeyrupture import cli
    from tukeyrupture.comparison._sensitivity_cli import (
        SENSITIVITY_FLAGS,
        add_sensitivity_command,
    )

    if "sensitivity" not in cli._FLAGS:
        monkeypatch.setattr(cli, "_COMMANDS", (*cli._COMMANDS, add_sensitivity_command))
        monkeypatch.setitem(cli._FLAGS, "sensitivity", SENSITIVITY_FLAGS)
    return cli


TINY_FLAGS = [
    "--series",
    "30",
    "--detectors",
    "absolute",
    "--depths",
    "1",
    "4",
    "--lengths",
    "12",
    "--missingness",
    "none",
    "--ar",
    "0.3",
    "--repair",
    "v",
    "--seed",
    "5",
    "--no-progress",
]


def test_command_writes_the_report_and_tables(cli_with_sensitivity, tmp_path, capsys):
    out = tmp_path / "study"
    assert cli_with_sensitivity.main(["sensitivity", "--out", str(out), *TINY_FLAGS]) == 0
    assert {path.name for path in out.iterdir()} == {
        "sensitivity.html",
        "scores.csv",
        "roc.csv",
        "timing.csv",
        "run.json",
    }
    scores = pd.read_csv(out / "scores.csv")
    expected = sensitivity_study(
        grid={
            **DEFAULT_GRID,
            "depth": [1.0, 4.0],
            "n_sessions": [12],
            "missingness": ["none"],
            "ar": [0.3],
            "repair": ["v"],
        },
        detectors=["absolute"],
        n_series=30,
        random_state=5,
        progress=False,
    )
    np.testing.assert_array_equal(scores["n_matched"], expected.scores["n_matched"])
    assert "seed: 5" in capsys.readouterr().out


def test_command_errors_in_the_command_line_words(cli_with_sensitivity, tmp_path, capsys):
    flags = [flag if flag != "12" else "2" for flag in TINY_FLAGS]
    assert cli_with_sensitivity.main(["sensitivity", "--out", str(tmp_path), *flags]) == 2
    error = capsys.readouterr().err
    assert "error:" in error and "--lengths" in error and "must be >= 3" in error
    assert (
        cli_with_sensitivity.main(
            ["sensitivity", "--out", str(tmp_path), "--scheduler", "tcp://x:1", *TINY_FLAGS]
        )
        == 2
    )
    assert "--scheduler needs --backend dask" in capsys.readouterr().err


def test_fixed_settings_only_give_the_baseline_and_a_report(tmp_path):
    result = sensitivity_study(
        grid={"depth": 3.0, "repair": "v"},
        detectors=["tcc"],
        n_series=30,
        random_state=0,
        progress=False,
    )
    assert list(result.scores["factor"]) == ["baseline"]
    assert repr(result).startswith("SensitivityResult(preset='children', factors=[]")
    assert result.to_html(tmp_path / "r.html").read_text(encoding="utf-8").count("<img") == 5
