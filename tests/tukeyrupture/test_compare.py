"""Tests of compare_detectors (backends, seeds, grids, errors), its summary and plot."""

import json
import sys

import numpy as np
import pandas as pd
import pytest

from tukeyrupture.cli import main
from tukeyrupture.comparison.compare import (
    DEMO_DETECTORS,
    DETECTORS,
    compare_detectors,
    make_detector,
)
from tukeyrupture.comparison.metrics import rupture_scores
from tukeyrupture.comparison.partitioning import RupturesDetector
from tukeyrupture.comparison.simulate import simulate_alliance
from tukeyrupture.comparison.summary import plot_comparison, summarize_comparison
from tukeyrupture.detector import TukeyRuptureDetector

SMALL = {"n_series": 60, "n_sessions": 12}
GRID = [{**SMALL, "depth": 1.0}, {**SMALL, "depth": 3.0, "missing_rate": 0.1}]
FAST = ["tcc", "shewhart", "reliable_change"]


@pytest.fixture(scope="module")
def serial_frame():
    return compare_detectors(FAST, GRID, n_replications=3, random_state=11, progress=False)


def test_frame_layout(serial_frame):
    frame = serial_frame
    assert len(frame) == 2 * 3 * 3
    assert list(frame.columns[:4]) == ["condition", "replication", "detector", "n_series"]
    for column in ("depth", "missing_rate", "recall", "precision", "f1", "sensitivity"):
        assert column in frame.columns
    for column in ("specificity", "false_positive_rate", "repair_agreement", "n_true"):
        assert column in frame.columns
    assert list(frame["detector"].unique()) == FAST
    first = frame.iloc[:3]
    assert (first["condition"] == 0).all() and list(first["replication"]) == [0, 1, 2]
    assert (frame.loc[frame["condition"] == 1, "missing_rate"] == 0.1).all()
    assert frame[["condition", "detector", "replication"]].duplicated().sum() == 0


def test_cells_use_spawned_seeds_and_share_data(serial_frame):
    seeds = np.random.SeedSequence(11).spawn(6)
    sim = simulate_alliance(**GRID[1], random_state=seeds[1 * 3 + 2])
    predicted = TukeyRuptureDetector().fit(sim.X).predict(sim.X)
    expected = rupture_scores(sim.labels, predicted)
    row = serial_frame.query("condition == 1 and replication == 2 and detector == 'tcc'")
    assert row["recall"].item() == pytest.approx(expected.recall)
    assert row["n_true"].item() == sim.n_ruptures
    # Every detector saw the same data set in a cell.
    cell = serial_frame.query("condition == 1 and replication == 2")
    assert cell["n_true"].nunique() == 1


def test_reproducible_and_seed_dependent(serial_frame):
    again = compare_detectors(FAST, GRID, n_replications=3, random_state=11, progress=False)
    pd.testing.assert_frame_equal(again, serial_frame)
    other = compare_detectors(FAST, GRID, n_replications=3, random_state=12, progress=False)
    assert not other["n_true"].equals(serial_frame["n_true"])


def test_loky_equals_serial(serial_frame):
    frame = compare_detectors(
        FAST, GRID, n_replications=3, random_state=11, backend="loky", progress=False, n_jobs=2
    )
    pd.testing.assert_frame_equal(frame, serial_frame)


def test_dask_equals_serial(serial_frame):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        frame = compare_detectors(
            FAST, GRID, n_replications=3, random_state=11, backend="dask", progress=False
        )
    pd.testing.assert_frame_equal(frame, serial_frame)


def test_dask_without_client():
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="Client"):
        compare_detectors(["tcc"], [SMALL], n_replications=1, backend="dask", progress=False)


def test_recall_rises_with_depth_for_every_detector():
    pytest.importorskip("ruptures")
    frame = compare_detectors(
        sorted(DETECTORS),
        {"depth": [0.0, 2.0, 4.0], "n_series": [150], "n_sessions": [16]},
        n_replications=2,
        random_state=3,
        progress=False,
    )
    recall = frame.groupby(["detector", "depth"])["recall"].mean().unstack()
    assert (np.diff(recall.to_numpy(), axis=1) > 0).all(), recall


def test_false_positive_rate_on_rupture_free_series():
    frame = compare_detectors(
        ["tcc", "tcc_only", "shewhart"],
        [{"n_series": 300, "n_sessions": 20, "rupture_rate": 0.0}],
        n_replications=3,
        random_state=5,
        progress=False,
    )
    assert (frame["n_true"] == 0).all()
    assert frame["recall"].isna().all()
    fpr = frame.groupby("detector")["false_positive_rate"].mean()
    # Normal series: P(x < Q1 - IQR) is about 2 %, and the pre-session must be above the
    # lower-half median; the absolute criterion (2 pooled SDs) adds about 8 % of sessions.
    assert 0.005 < fpr["tcc_only"] < 0.04
    assert 0.03 < fpr["tcc"] < 0.15
    # Series level: specificity is the share of series without any flag.
    specificity = frame.groupby("detector")["specificity"].mean()
    assert specificity["tcc"] < specificity["tcc_only"] < specificity["shewhart"] <= 1


def test_custom_detectors_and_dict_grid():
    frame = compare_detectors(
        {"k=1.5": TukeyRuptureDetector(iqr_multiplier=1.5), "shewhart": make_detector("shewhart")},
        {"depth": [1.0, 2.0], "rupture_rate": [0.05, 0.1], "n_series": 40},
        n_replications=1,
        progress=False,
    )
    assert len(frame) == 4 * 2
    assert set(frame["detector"]) == {"k=1.5", "shewhart"}
    assert sorted(frame[["depth", "rupture_rate"]].drop_duplicates().itertuples(index=False)) == [
        (1.0, 0.05),
        (1.0, 0.1),
        (2.0, 0.05),
        (2.0, 0.1),
    ]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"detectors": ["tcc", "kalman"]}, ValueError, "kalman"),
        ({"conditions": [{"depth": -1}]}, ValueError, "`depth`"),
        ({"conditions": [{"rupture_rate": 1.2}]}, ValueError, "`rupture_rate`"),
        ({"conditions": [{"missing_rate": -0.5}]}, ValueError, "`missing_rate`"),
        ({"conditions": [{"n_sessions": 2}]}, ValueError, "`n_sessions`"),
        ({"conditions": [{"depht": 1.0}]}, ValueError, "depht"),
        ({"conditions": []}, ValueError, "`conditions`"),
        ({"n_replications": 0}, ValueError, "`n_replications`"),
        ({"backend": "spark"}, ValueError, "`backend`"),
        ({"detectors": {"x": object()}}, TypeError, "detectors"),
        ({"detectors": ["tcc", "tcc"]}, ValueError, "unique"),
        ({"conditions": {"depth": []}}, ValueError, "`conditions`.*'depth'"),
        ({"n_replications": 10**12}, ValueError, "`n_replications`"),
        ({"conditions": {"depth": [1.0, 2.0]}, "n_replications": 10**6}, ValueError, "cells"),
        ({"conditions": [{"n_series": 10**12}]}, ValueError, "`n_series`"),
        ({"backend": "loky", "n_jobs": 0}, ValueError, "`n_jobs`"),
        ({"n_jobs": 1.5}, TypeError, "`n_jobs`"),
        ({"n_jobs": True}, TypeError, "`n_jobs`"),
    ],
)
def test_bad_input(kwargs, error, match):
    arguments = {
        "detectors": ["tcc"],
        "conditions": [SMALL],
        "n_replications": 1,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(error, match=match):
        compare_detectors(**arguments)


def test_registry():
    assert {"tcc", "absolute", "shewhart", "reliable_change", "pelt"} <= set(DETECTORS)
    assert make_detector("tcc_only").absolute_sd_multiplier is None
    assert make_detector("tcc") is not make_detector("tcc")
    with pytest.raises(ValueError, match="valid names"):
        make_detector("nope")


def test_summary_and_plot(serial_frame):
    summary = summarize_comparison(serial_frame, by="depth", metrics=["recall", "precision"])
    assert list(summary.index.names) == ["detector", "depth"]
    assert list(summary.index.get_level_values(0).unique()) == FAST
    expected = serial_frame.query("detector == 'shewhart' and depth == 3.0")["recall"].mean()
    assert summary.loc[("shewhart", 3.0), "recall"] == pytest.approx(expected)

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    returned = plot_comparison(serial_frame, x="depth", metric="recall", ax=ax)
    assert returned is ax
    assert [line.get_label() for line in ax.get_lines()] == FAST
    assert len(ax.collections) == len(FAST)
    assert ax.get_xlabel() == "depth" and ax.get_ylabel() == "recall"
    plt.close(fig)
    with pytest.raises(ValueError, match="`metric`"):
        plot_comparison(serial_frame, metric="accuracy")
    with pytest.raises(ValueError, match="`confidence`"):
        plot_comparison(serial_frame, confidence=1.5)


def test_cli_compare_writes_csv_and_plots(tmp_path, capsys):
    out = tmp_path / "compare"
    code = main(
        [
            "compare",
            "--demo",
            "--out",
            str(out),
            "--detectors",
            "tcc",
            "shewhart",
            "--replications",
            "2",
            "--series",
            "30",
        ]
    )
    assert code == 0
    frame = pd.read_csv(out / "comparison.csv")
    assert len(frame) == 5 * 2 * 2
    assert (out / "sensitivity.png").stat().st_size > 0
    assert (out / "false_positives.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "Compared 2 detectors on 5 depths x 2 replications" in printed
    assert main(["compare", "--out", str(out)]) == 2
    assert "--demo" in capsys.readouterr().err


def test_scale_pair_in_a_dict_grid_is_one_value():
    frame = compare_detectors(
        ["tcc"],
        {"scale": (12, 60), "depth": [1.0, 2.0], "n_series": 30},
        n_replications=1,
        progress=False,
    )
    assert len(frame) == 2
    assert all(scale == (12.0, 60.0) for scale in frame["scale"])
    grid = compare_detectors(
        ["tcc"], {"scale": [None, (1, 7)], "n_series": 30}, n_replications=1, progress=False
    )
    assert list(grid["scale"]) == [None, (1.0, 7.0)]


def test_cli_compare_on_a_dask_scheduler(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")

    arguments = ["compare", "--demo", "--detectors", "tcc", "--replications", "1"]
    arguments += ["--series", "30", "--seed", "0", "--no-progress"]
    assert main([*arguments, "--out", str(tmp_path / "serial")]) == 0
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        code = main(
            [
                *arguments,
                "--out",
                str(tmp_path / "dask"),
                "--backend",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
            ]
        )
    assert code == 0
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "dask" / "comparison.csv"),
        pd.read_csv(tmp_path / "serial" / "comparison.csv"),
    )
    capsys.readouterr()
    assert main([*arguments, "--out", str(tmp_path), "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler needs --backend dask" in capsys.readouterr().err


# --- seeds -------------------------------------------------------------------------------


def test_a_seed_sequence_is_not_advanced():
    root = np.random.SeedSequence(11)
    first = compare_detectors(FAST, GRID, n_replications=3, random_state=root, progress=False)
    assert root.n_children_spawned == 0
    second = compare_detectors(FAST, GRID, n_replications=3, random_state=root, progress=False)
    pd.testing.assert_frame_equal(first, second)
    with_int = compare_detectors(FAST, GRID, n_replications=3, random_state=11, progress=False)
    pd.testing.assert_frame_equal(first, with_int)


@pytest.mark.parametrize(
    ("random_state", "error", "match"),
    [
        (np.random.RandomState(0), TypeError, "got a RandomState"),
        (np.random.default_rng(0), TypeError, "got a Generator"),
        (True, TypeError, "`random_state`"),
        (1.5, TypeError, "`random_state`"),
        (-1, ValueError, "non-negative"),
    ],
)
def test_bad_random_state(random_state, error, match):
    with pytest.raises(error, match=match):
        compare_detectors(["tcc"], [SMALL], 1, random_state=random_state, progress=False)


def test_none_draws_fresh_entropy():
    frame = compare_detectors(["tcc"], [SMALL], 1, random_state=None, progress=False)
    assert len(frame) == 1


# --- optional detectors -----------------------------------------------------------------


@pytest.fixture
def without_ruptures(monkeypatch):
    monkeypatch.setitem(sys.modules, "ruptures", None)  # `import ruptures` fails


def test_default_set_skips_detectors_that_need_a_missing_package(without_ruptures):
    with pytest.warns(UserWarning, match=r"skipped default detector\(s\) 'pelt'.*\[rivals\]"):
        frame = compare_detectors(None, [SMALL], 1, random_state=0, progress=False)
    assert list(frame["detector"]) == [name for name in DEMO_DETECTORS if name != "pelt"]


@pytest.mark.parametrize(
    "detectors", [["tcc", "pelt"], {"mine": RupturesDetector(algorithm="binseg")}]
)
def test_an_explicit_detector_needing_a_missing_package_raises(without_ruptures, detectors):
    with pytest.raises(ImportError, match=r"needs the optional package `ruptures`.*\[rivals\]"):
        compare_detectors(detectors, [SMALL], 1, random_state=0, progress=False)


def test_default_set_with_ruptures_installed():
    pytest.importorskip("ruptures")
    frame = compare_detectors(None, [SMALL], 1, random_state=0, progress=False)
    assert list(frame["detector"]) == list(DEMO_DETECTORS)


QUICK = ["--replications", "1", "--series", "20", "--no-progress"]


def test_cli_demo_without_ruptures_runs_the_others(without_ruptures, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--demo", "--out", str(out), *QUICK]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "tukeyrupture compare: warning: skipped default detector(s) 'pelt' (needs the "
        "optional package `ruptures`: pip install 'tukeyrupture[rivals]')."
    ]
    assert f"Compared {len(DEMO_DETECTORS) - 1} detectors" in captured.out
    run = json.loads((out / "run.json").read_text())
    assert run["skipped_detectors"] == ["pelt"]
    assert "pelt" not in set(pd.read_csv(out / "comparison.csv")["detector"])
    assert main(["compare", "--demo", "--out", str(out), "--detectors", "pelt", *QUICK]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tukeyrupture compare: error: detector 'pelt' needs the optional")
    assert len(err.splitlines()) == 1


def test_cli_seed_is_printed_saved_and_repeatable(tmp_path, capsys):
    argv = ["compare", "--demo", "--detectors", "tcc", *QUICK]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    seed = int(capsys.readouterr().out.splitlines()[0].removeprefix("seed: "))
    assert json.loads((tmp_path / "a" / "run.json").read_text())["seed"] == seed
    assert main([*argv, "--out", str(tmp_path / "b"), "--seed", str(seed)]) == 0
    assert capsys.readouterr().out.startswith(f"seed: {seed}\n")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "a" / "comparison.csv"),
        pd.read_csv(tmp_path / "b" / "comparison.csv"),
    )
    assert main([*argv, "--out", str(tmp_path / "c"), "--seed", "-3"]) == 2
    assert "--seed: expected a non-negative integer" in capsys.readouterr().err


def test_cli_messages_name_the_flags(tmp_path, capsys):
    argv = ["compare", "--depths", "-1", "--detectors", "tcc", *QUICK, "--out", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tukeyrupture compare: error: --depths must be")
    assert "`depth`" not in err


def test_cli_progress_bar_on_stderr(tmp_path, capsys):
    argv = ["compare", "--demo", "--detectors", "tcc", "--replications", "1", "--series", "20"]
    assert main([*argv, "--seed", "1", "--out", str(tmp_path)]) == 0
    assert "compare_detectors" in capsys.readouterr().err


def test_a_huge_tolerance_is_the_whole_series():
    huge = compare_detectors(["tcc"], [SMALL], 2, 3, progress=False, tolerance=10**9)
    whole = compare_detectors(["tcc"], [SMALL], 2, 3, progress=False, tolerance=11)
    pd.testing.assert_frame_equal(huge.drop(columns="tolerance"), whole.drop(columns="tolerance"))


def test_summary_takes_one_metric_as_a_string(serial_frame):
    one = summarize_comparison(serial_frame, metrics="recall")
    pd.testing.assert_frame_equal(one, summarize_comparison(serial_frame, metrics=["recall"]))


def test_summary_and_plot_refuse_multiindex_and_duplicated_columns(serial_frame):
    nested = serial_frame.copy()
    nested.columns = pd.MultiIndex.from_arrays([nested.columns, nested.columns])
    with pytest.raises(ValueError, match="`frame`.*MultiIndex"):
        summarize_comparison(nested)
    doubled = pd.concat([serial_frame, serial_frame[["recall"]]], axis=1)
    with pytest.raises(ValueError, match=r"`frame`.*\['recall'\] repeat"):
        summarize_comparison(doubled)
    with pytest.raises(ValueError, match=r"`frame`.*\['recall'\] repeat"):
        plot_comparison(doubled)
