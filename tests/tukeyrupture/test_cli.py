"""Tests of the command line (in-process through ``main``, plus one subprocess run)."""

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from tukeyrupture import TukeyRuptureDetector, cli, from_long
from tukeyrupture.cli import main
from tukeyrupture.datasets import load_alliance

COLUMNS = ["--series", "id", "--session", "week", "--value", "tasc"]


@pytest.fixture
def long_csv(tmp_path):
    """Two eligible series with one TCC rupture each and one short series."""
    rows = []
    series = {
        "p1": [40, 41, 40, 42, 34, 41, 40, 41, 42, 40],
        "p2": [38, 39, 38, 37, 39, 38, 30, 31, 38, 39],
        "p3": [30, 31, 20],
    }
    for name, scores in series.items():
        rows += [(name, week, score) for week, score in enumerate(scores, start=1)]
    path = tmp_path / "alliance.csv"
    pd.DataFrame(rows, columns=["id", "week", "tasc"]).to_csv(path, index=False)
    return path


def _expected_frame(data, series, session, value, **params):
    X, rows, sessions = from_long(data, series=series, session=session, value=value)
    frame = pd.DataFrame(X, index=pd.Index(rows, dtype=object), columns=sessions)
    return TukeyRuptureDetector(**params).fit(frame).detect(frame).to_frame()


def test_demo_prints_table_and_summary(capsys):
    assert main(["detect", "--demo"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "series",
        "pre_session",
        "central_session",
        "post_session",
        "repair",
        "criterion",
        "drop",
        "score",
    ]
    expected = _expected_frame(load_alliance(), "series", "session", "score")
    assert len(lines) == len(expected) + 2
    summary = lines[-1]
    assert summary.startswith("Summary: 300 series, ")
    assert f"{len(expected)} ruptures" in summary
    for repair in ("repaired", "unrepaired", "unresolved"):
        assert f"{(expected['repair'] == repair).sum()} {repair}" in summary
    assert "pooled SD (within) = " in summary


def test_out_csv_equals_detector_output(long_csv, tmp_path, capsys):
    out = tmp_path / "ruptures.csv"
    argv = ["detect", str(long_csv), *COLUMNS, "--no-absolute", "--out", str(out)]
    assert main(argv) == 0
    expected = _expected_frame(
        pd.read_csv(long_csv), "id", "week", "tasc", absolute_sd_multiplier=None
    )
    written = pd.read_csv(out)
    assert list(written["central_session"]) == [5, 7]
    assert list(written["repair"]) == ["repaired", "unrepaired"]
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)
    out_text = capsys.readouterr().out
    assert "2 ruptures (1 repaired, 1 unrepaired, 0 unresolved)" in out_text
    assert "3 series, 2 eligible" in out_text
    assert "pooled SD not used" in out_text


def test_options_reach_the_detector(long_csv, tmp_path):
    out = tmp_path / "r.csv"
    argv = ["detect", str(long_csv), *COLUMNS, "--iqr-multiplier", "1.5"]
    argv += ["--absolute-sd-multiplier", "3", "--pooled-sd", "2.5", "--min-consecutive", "3"]
    assert main([*argv, "--out", str(out)]) == 0
    params = dict(iqr_multiplier=1.5, absolute_sd_multiplier=3.0, pooled_sd=2.5, min_consecutive=3)
    expected = _expected_frame(pd.read_csv(long_csv), "id", "week", "tasc", **params)
    pd.testing.assert_frame_equal(pd.read_csv(out), expected, check_dtype=False)
    assert "p3" in set(expected["series"])


@pytest.mark.parametrize("kind", ["within", "total"])
def test_pooled_sd_readings(kind, capsys):
    assert main(["detect", "--demo", "--pooled-sd", kind]) == 0
    X, _, _ = from_long(load_alliance(), series="series", session="session", value="score")
    sd = TukeyRuptureDetector(pooled_sd=kind).fit(X).pooled_sd_
    assert capsys.readouterr().out.rstrip().endswith(f"pooled SD ({kind}) = {sd:.3g}.")


def test_no_rupture_message(tmp_path, capsys):
    path = tmp_path / "flat.csv"
    pd.DataFrame({"id": "a", "week": range(1, 9), "tasc": 40}).to_csv(path, index=False)
    assert main(["detect", str(path), *COLUMNS]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No ruptures found.\n")
    assert "0 ruptures" in out


def _error(capsys):
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tukeyrupture detect: error: ")
    return lines[0]


def test_missing_file_message(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    assert main(["detect", str(missing), *COLUMNS]) == 2
    assert _error(capsys).endswith(f"file not found: {missing}")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert "is empty" in _error(capsys)


def test_missing_column(long_csv, capsys):
    argv = ["detect", str(long_csv), "--series", "id", "--session", "visit", "--value", "tasc"]
    assert main(argv) == 2
    message = _error(capsys)
    assert "no column 'visit' (--session)" in message
    assert "'id', 'week', 'tasc'" in message


def test_missing_column_options(long_csv, capsys):
    assert main(["detect", str(long_csv), "--series", "id"]) == 2
    message = _error(capsys)
    assert "--session" in message and "--value" in message


def test_no_input(capsys):
    assert main(["detect"]) == 2
    assert "--demo" in _error(capsys)


def test_file_and_demo(long_csv, capsys):
    assert main(["detect", str(long_csv), "--demo"]) == 2
    assert "not both" in _error(capsys)


def test_non_numeric_scores(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("id,week,tasc\na,1,40\na,2,forty\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert "must be numeric" in _error(capsys)


def test_duplicated_sessions(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("id,week,tasc\na,1,40\na,1,41\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert "more than one row" in _error(capsys)


@pytest.mark.parametrize(
    ("option", "value", "name"),
    [
        ("--iqr-multiplier", "-1", "iqr_multiplier"),
        ("--absolute-sd-multiplier", "-2", "absolute_sd_multiplier"),
        ("--pooled-sd", "-0.5", "pooled_sd"),
        ("--min-consecutive", "0", "min_consecutive"),
        ("--iqr-multiplier", "inf", "iqr_multiplier"),
    ],
)
def test_bad_parameter_values(option, value, name, capsys):
    assert main(["detect", "--demo", option, value]) == 2
    assert name in _error(capsys)


def test_usage_errors_exit_2(capsys):
    assert main(["detect", "--demo", "--pooled-sd", "many"]) == 2
    assert "--pooled-sd" in capsys.readouterr().err
    assert main(["detect", "--demo", "--no-absolute", "--absolute-sd-multiplier", "3"]) == 2
    assert "not allowed" in capsys.readouterr().err
    assert main([]) == 2
    assert main(["--help"]) == 0
    assert "detect" in capsys.readouterr().out


def test_unwritable_out(capsys, tmp_path):
    out = tmp_path / "no-such-dir" / "r.csv"
    assert main(["detect", "--demo", "--out", str(out)]) == 2
    assert "no-such-dir" in _error(capsys)


def test_warning_when_pooled_sd_cannot_be_learned(capsys):
    assert main(["detect", "--demo", "--min-consecutive", "25"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("tukeyrupture detect: warning: `pooled_sd` could not")
    assert "pooled SD not learned" in captured.out


def test_input_file_is_not_modified(long_csv):
    before = long_csv.read_bytes()
    assert main(["detect", str(long_csv), *COLUMNS]) == 0
    assert long_csv.read_bytes() == before


def test_installed_script_and_module(tmp_path):
    script = shutil.which("tukeyrupture")
    if script is None:
        pytest.skip("the tukeyrupture script is not installed on PATH")
    done = subprocess.run(
        [script, "detect", "--demo"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("Summary: 300 series")
    failed = subprocess.run(
        [sys.executable, "-m", "tukeyrupture", "detect", "missing.csv", *COLUMNS],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert failed.returncode == 2
    assert failed.stderr == "tukeyrupture detect: error: file not found: missing.csv\n"


def test_broken_pipe_exits_quietly(monkeypatch, capsys):
    def cut_short(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "_run_detect", cut_short)
    assert main(["detect", "--demo"]) == 1
    assert capsys.readouterr().err == ""
