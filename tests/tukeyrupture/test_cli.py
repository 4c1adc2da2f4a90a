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
    X, rows, sessions = from_long(
        data, series=series, session=session, value=value, fill_gaps=True
    )
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


def test_non_numeric_scores_name_the_line(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text("id,week,tasc\na,1,40\na,2,forty\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert f"column 'tasc' (--value) of {path} must be numeric" in message
    assert message.endswith("['forty'] on lines [3].")


def test_duplicated_sessions_name_the_lines(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("id,week,tasc\na,1,40\na,1,41\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert "more than one row for the same (id, week) pair: lines [2, 3]" in _error(capsys)


def test_line_numbers_count_blank_lines_and_quoted_newlines(tmp_path, capsys):
    path = tmp_path / "gaps.csv"
    path.write_text('id,week,tasc\na,1,40\n\n"b\nc",1,41\n\n  \na,2,oops\n')
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert _error(capsys).endswith("['oops'] on lines [8].")


def _write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _long_text(sessions, scores, sep=",", decimal="."):
    rows = [sep.join(["id", "week", "tasc"])]
    for session, score in zip(sessions, scores):
        rows.append(sep.join(["p1", str(session), str(score).replace(".", decimal)]))
    return "\n".join(rows) + "\n"


def test_header_only_file(tmp_path, capsys):
    path = _write(tmp_path, "id,week,tasc\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert _error(capsys).endswith(f"{path} (FILE.csv) has no data rows, only the header line")


def test_separator_is_read_from_the_first_non_blank_line(tmp_path, capsys):
    text = "\n" + _long_text(range(1, 9), [4.5] * 7 + [9.25], sep=";", decimal=",")
    path = _write(tmp_path, text)
    assert main(["detect", str(path), *COLUMNS, "--range", "1", "7"]) == 2
    assert _error(capsys).endswith("[9.25] on lines [10].")


def test_duplicated_column_names(tmp_path, capsys):
    path = _write(tmp_path, "\nid,week,tasc,tasc\na,1,40,41\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    assert _error(capsys).endswith(
        "duplicated column names ['tasc'] on line 2 (its header); rename them"
    )


def test_semicolons_and_decimal_commas_read_as_study_reads_them(long_csv, tmp_path, capsys):
    data = pd.read_csv(long_csv)
    data["tasc"] = data["tasc"] + 0.25
    comma, semicolon = tmp_path / "comma.csv", tmp_path / "semicolon.csv"
    data.to_csv(comma, index=False)
    data.to_csv(semicolon, index=False, sep=";", decimal=",")
    assert main(["detect", str(comma), *COLUMNS, "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["detect", str(semicolon), *COLUMNS, "--out", str(tmp_path / "b.csv")]) == 0
    capsys.readouterr()
    first, second = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert len(first) == 2
    pd.testing.assert_frame_equal(first, second)
    tabs = tmp_path / "tabs.tsv"
    data.to_csv(tabs, index=False, sep="\t")
    assert main(["detect", str(tabs), *COLUMNS, "--out", str(tmp_path / "c.csv")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "c.csv"), first)


def test_a_session_nobody_attended_breaks_the_run(tmp_path, capsys):
    # session 8 is missing for everybody: 7 and 9 are not consecutive sessions (the study's
    # rule), so the drop at 9 is no rupture and the series has only 7 consecutive sessions
    sessions = [1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14]
    scores = [40, 41, 40, 42, 41, 40, 41, 30, 41, 40, 41, 42, 40]
    path = _write(tmp_path, _long_text(sessions, scores))
    out = tmp_path / "r.csv"
    assert main(["detect", str(path), *COLUMNS, "--no-absolute", "--out", str(out)]) == 0
    assert "No ruptures found." in capsys.readouterr().out
    # had 7 and 9 been adjacent, session 9 would be a TCC rupture
    adjacent = _write(tmp_path, _long_text(range(1, 14), scores), "adjacent.csv")
    assert main(["detect", str(adjacent), *COLUMNS, "--no-absolute", "--out", str(out)]) == 0
    assert list(pd.read_csv(out)["central_session"]) == [8]


def test_a_stray_text_session_names_its_line(tmp_path, capsys):
    sessions = [*range(1, 5), ".", *range(6, 10)]
    path = _write(tmp_path, _long_text(sessions, [40] * 9))
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert f"column 'week' (--session) of {path} mixes session numbers and text" in message
    assert "['.'] on lines [6] are not numbers" in message


def test_labels_s1_to_s15_in_natural_order(tmp_path, capsys):
    scores = [40, 41, 40, 42, 41, 40, 41, 30, 41, 40, 41, 42, 40, 41, 40]
    path = _write(tmp_path, _long_text([f"S{t}" for t in range(15, 0, -1)], scores[::-1]))
    out = tmp_path / "r.csv"
    assert main(["detect", str(path), *COLUMNS, "--no-absolute", "--out", str(out)]) == 0
    written = pd.read_csv(out)
    assert list(written[["pre_session", "central_session", "post_session"]].iloc[0]) == [
        "S7",
        "S8",
        "S9",
    ]


@pytest.mark.parametrize(
    ("sessions", "text"),
    [
        ([1, 2, 2.5], "fractional [2.5] on lines [4]"),
        ([1, 2, "intake"], "['intake'] on lines [4] are not numbers"),
        ([1, 2, 3_000_000], "3000000 session columns for 3 observed session numbers"),
    ],
)
def test_sessions_that_cannot_be_ordered(tmp_path, capsys, sessions, text):
    path = _write(tmp_path, _long_text(sessions, [40, 41, 42]))
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert text in message and "(--session)" in message


def test_range_rejects_a_typo(tmp_path, capsys):
    scores = [6.0, 6.5, 6.0, 99.0, 6.5, 6.0, 6.5, 6.0]
    path = _write(tmp_path, _long_text(range(1, 9), scores))
    assert main(["detect", str(path), *COLUMNS, "--range", "1", "7"]) == 2
    message = _error(capsys)
    assert f"column 'tasc' (--value) of {path} has scores outside --range [1, 7]" in message
    assert message.endswith("[99.0] on lines [5].")
    assert main(["detect", str(path), *COLUMNS, "--range", "1", "100"]) == 0
    capsys.readouterr()
    assert main(["detect", str(path), *COLUMNS, "--range", "7", "1"]) == 2
    assert "--range must be a pair (low, high) with low <= high" in _error(capsys)
    assert main(["detect", "--demo", "--range", "1", "7"]) == 2
    assert "of the demo data has scores outside --range [1, 7]" in _error(capsys)


def test_series_ids_keep_leading_zeros(tmp_path, capsys):
    text = "id,week,tasc\n" + "".join(
        f"{name},{week},{40 - 10 * (name == '007' and week == 5)}\n"
        for name in ("007", "7")
        for week in range(1, 9)
    )
    out = tmp_path / "r.csv"
    assert main(["detect", _write(tmp_path, text).as_posix(), *COLUMNS, "--out", str(out)]) == 0
    assert "2 series" in capsys.readouterr().out
    assert pd.read_csv(out, dtype={"series": str})["series"].tolist() == ["007"]


def test_messages_in_cli_words():
    names = {**cli._FLAGS["detect"], "data": "f.csv", "data['v']": "column 'v' of f.csv"}
    sklearn = "The 'pooled_sd' parameter of TukeyRuptureDetector must be a float. Got -1 instead."
    assert cli._in_cli_words(sklearn, names) == (
        "--pooled-sd must be 'within', 'total' or a non-negative number; got -1."
    )
    other = "The 'n_bins' parameter of X must be an int in the range [1, inf). Got 0 instead."
    assert cli._in_cli_words(other, {}) == "`n_bins` must be an int in the range [1, inf); got 0."
    assert (
        cli._in_cli_words("pass pooled_sd=<float> or set absolute_sd_multiplier=None.", names)
        == "pass --pooled-sd <number> or set --no-absolute."
    )
    assert (
        cli._in_cli_words("`data['v']` is bad in rows [3, 4]; the data are fine", names)
        == "column 'v' of f.csv is bad on lines [3, 4]; the data are fine"
    )
    assert cli._in_cli_words("`data` has rows [2]; pooled_sd_ is NaN", names) == (
        "f.csv has lines [2]; the pooled SD is NaN"
    )


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
def test_bad_parameter_values_name_the_flag(option, value, name, capsys):
    assert main(["detect", "--demo", option, value]) == 2
    message = _error(capsys)
    assert f"error: {option} must be" in message
    assert name not in message and "parameter" not in message and "None" not in message


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
    message = _error(capsys)
    assert f"cannot write --out {out}" in message and "no-such-dir" in message


def test_warning_when_pooled_sd_cannot_be_learned(capsys):
    assert main(["detect", "--demo", "--min-consecutive", "25"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("tukeyrupture detect: warning: the pooled SD could not")
    assert "predict" not in captured.err
    assert "(--min-consecutive)" in captured.err
    assert captured.err.rstrip().endswith("pass --pooled-sd <number> or --no-absolute.")
    assert "pooled_sd" not in captured.err and "absolute_sd_multiplier" not in captured.err
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


# --- regressions of the bad-input sweep ----------------------------------------------------


@pytest.mark.parametrize("line", ["p1,5", "p1"])
def test_a_short_row_is_an_error_naming_its_line(tmp_path, capsys, line):
    rows = [f"p1,{week},{40 + week % 3}" for week in range(1, 9)]
    rows[3] = line  # line 5 of the file
    path = _write(tmp_path, "id,week,tasc\n" + "\n".join(rows) + "\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    width = len(line.split(","))
    assert f"Expected 3 fields in line 5, saw {width}" in message


def test_a_row_with_an_empty_field_is_a_missing_score(tmp_path, capsys):
    rows = [f"p1,{week},{40 + week % 3}" for week in range(1, 9)]
    rows[3] = "p1,4,"
    path = _write(tmp_path, "id,week,tasc\n" + "\n".join(rows) + "\n")
    assert main(["detect", str(path), *COLUMNS]) == 0
    assert "1 series" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("odd", "text"),
    [
        (".", "non-numeric values ['.'] on lines [5]."),
        ("1.234,5", "non-numeric values ['1.234,5'] on lines [5]."),
        ("40.5", "has ['40.5'] with a decimal point on lines [5]"),
    ],
)
def test_one_odd_entry_of_a_decimal_comma_file_names_its_line_only(tmp_path, capsys, odd, text):
    scores = [40.25, 39.75, 41.5, 0.0, 40.0, 42.5, 41.0, 40.5]
    path = _write(tmp_path, _long_text(range(1, 9), scores, sep=";", decimal=","))
    lines = path.read_text().splitlines()
    lines[4] = f"p1;4;{odd}"
    path.write_text("\n".join(lines) + "\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert text in message
    assert "40,25" not in message


def test_columns_must_differ_in_cli_words(long_csv, capsys):
    argv = ["detect", str(long_csv), "--series", "id", "--session", "week", "--value", "week"]
    assert main(argv) == 2
    message = _error(capsys)
    assert "--series, --session and --value must name three different columns" in message
    assert "`series`" not in message


def test_a_file_with_one_session(tmp_path, capsys):
    path = _write(tmp_path, "id,week,tasc\np1,1,40\np2,1,38\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert "has only one session" in message and "at least 2" in message
    assert "reshape" not in message


def test_compare_checks_out_before_computing(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = blocker / "sub"
    assert main(["compare", "--demo", "--out", str(out), "--no-progress", "--seed", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # failed before the seed line and the computation
    assert f"tukeyrupture compare: error: cannot create the folder --out {out}" in captured.err


def test_rows_with_another_separator_than_the_header(tmp_path, capsys):
    path = _write(tmp_path, "id;week;tasc\np1,1,40\np1,2,41\n")
    assert main(["detect", str(path), *COLUMNS]) == 2
    message = _error(capsys)
    assert "Expected 3 fields in line 2, saw 1 (and 1 more short lines)" in message
    assert "fields separated by ';'" in message
