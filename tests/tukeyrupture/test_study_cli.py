"""Tests of ``tukeyrupture study``: demo and file input, printed summary, one-line errors."""

import json

import pandas as pd
import pytest

from tukeyrupture import study
from tukeyrupture.cli import build_parser, main
from tukeyrupture.datasets import load_study_demo

FAST = ["--n-resamples", "99", "--seed", "1", "--no-progress"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study_input")
    demo = load_study_demo()
    alliance, codes = folder / "alliance.csv", folder / "codes.csv"
    demo.alliance.to_csv(alliance, index=False)
    demo.codes.to_csv(codes, index=False)
    return alliance, codes


def run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_demo_writes_report_and_prints_table1(tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, stderr = run(["study", "--demo", "--out", str(out), *FAST], capsys)
    assert code == 0, stderr
    assert "Table 1" in stdout
    assert "Children" in stdout and "Therapists" in stdout
    assert "18.6% (13/70)" in stdout  # the demo's children: 13 of 70 series with ruptures
    assert f"Report written to {out / 'report.html'}" in stdout
    assert "synthetic demo study" in (out / "report.html").read_text(encoding="utf-8")
    assert len(list(out.glob("figure*.png"))) == 8
    settings = (out / "settings.json").read_text()
    assert '"n_resamples": 99' in settings and '"random_state": 1' in settings


def test_files_give_the_same_table1_as_the_demo(files, tmp_path, capsys):
    alliance, codes = files
    out_files, out_demo = tmp_path / "files", tmp_path / "demo"
    argv = ["study", "--alliance", str(alliance), "--codes", str(codes), "--out", str(out_files)]
    code, _, stderr = run([*argv, *FAST], capsys)
    assert code == 0, stderr
    assert run(["study", "--demo", "--out", str(out_demo), *FAST], capsys)[0] == 0
    for name in ("table1", "anova"):
        pd.testing.assert_frame_equal(
            pd.read_csv(out_files / f"{name}.csv"), pd.read_csv(out_demo / f"{name}.csv")
        )


def test_options_reach_the_analysis(tmp_path, capsys):
    out = tmp_path / "k15"
    argv = ["study", "--demo", "--out", str(out), "--iqr-multiplier", "1.5", *FAST]
    assert run(argv, capsys)[0] == 0
    assert '"iqr_multiplier": 1.5' in (out / "settings.json").read_text()


def test_progress_bar_on_stderr(tmp_path, capsys):
    argv = ["study", "--demo", "--out", str(tmp_path / "p"), "--n-resamples", "9", "--seed", "1"]
    code, _, stderr = run(argv, capsys)
    assert code == 0
    assert "permutation tests" in stderr


def _one_line_error(code, stderr, text):
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("tukeyrupture study: error:")
    assert text in lines[0]


def test_bad_item_names_the_line(files, tmp_path, capsys):
    alliance, codes = files
    data = pd.read_csv(alliance)
    data.loc[4, "item_2"] = 9  # line 6 of the file (header is line 1)
    bad = tmp_path / "bad.csv"
    data.to_csv(bad, index=False)
    argv = ["study", "--alliance", str(bad), "--codes", str(codes), "--out", str(tmp_path)]
    code, _, stderr = run([*argv, *FAST], capsys)
    _one_line_error(code, stderr, f"--alliance {bad} has child items outside 1..4 on lines [6]")
    assert "line 6 has item_2 = 9" in stderr


@pytest.mark.parametrize(
    ("edit", "text"),
    [
        (
            lambda d: d.assign(informant=d["informant"].replace("therapist", "clinician")),
            "got ['clinician']",
        ),
        (lambda d: d.astype({"item_1": object}).assign(item_1="x"), "must be numeric"),
        (lambda d: d.drop(columns="dyad"), "no column(s) ['dyad']"),
    ],
)
def test_bad_alliance_file(files, tmp_path, capsys, edit, text):
    alliance, codes = files
    bad = tmp_path / "bad.csv"
    edit(pd.read_csv(alliance)).to_csv(bad, index=False)
    argv = ["study", "--alliance", str(bad), "--codes", str(codes), "--out", str(tmp_path / "o")]
    code, _, stderr = run([*argv, *FAST], capsys)
    _one_line_error(code, stderr, text)


def test_codes_for_unknown_dyad(files, tmp_path, capsys):
    alliance, codes = files
    data = pd.read_csv(codes)
    data.loc[0, "dyad"] = "X1"
    bad = tmp_path / "codes.csv"
    data.to_csv(bad, index=False)
    argv = ["study", "--alliance", str(alliance), "--codes", str(bad), "--out", str(tmp_path)]
    code, _, stderr = run([*argv, *FAST], capsys)
    _one_line_error(code, stderr, "dyads that are not in the alliance data: ['X1']")


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--demo", "--alliance", "a.csv"], "either --demo or --alliance"),
        ([], "give --alliance FILE"),
        (["--alliance", "no-such-file.csv"], "file not found: no-such-file.csv"),
        (["--demo", "--iqr-multiplier", "-1"], "--iqr-multiplier must be a non-negative"),
    ],
)
def test_usage_errors(tmp_path, capsys, extra, text):
    code, _, stderr = run(["study", "--out", str(tmp_path / "o"), *extra, *FAST], capsys)
    _one_line_error(code, stderr, text)


def test_out_is_a_file(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x")
    code, _, stderr = run(["study", "--demo", "--out", str(target), *FAST], capsys)
    _one_line_error(code, stderr, "is a file, not a folder")


@pytest.mark.parametrize(
    "argv", [["study", "--demo"], ["study", "--demo", "--out", "o", "--n-resamples", "0"]]
)
def test_argparse_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_semicolon_export_with_decimal_commas(tmp_path, capsys):
    demo = load_study_demo()
    alliance, codes = tmp_path / "alliance.csv", tmp_path / "codes.csv"
    demo.alliance.to_csv(alliance, sep=";", decimal=",", index=False)
    demo.codes.to_csv(codes, sep=";", decimal=",", index=False)
    argv = ["study", "--alliance", str(alliance), "--codes", str(codes), "--out", str(tmp_path)]
    code, stdout, stderr = run([*argv, *FAST], capsys)
    assert code == 0, stderr
    assert "32.1% (18/56)" in stdout


def test_fresh_seed_is_printed_and_saved(tmp_path, capsys):
    out = tmp_path / "fresh"
    argv = ["study", "--demo", "--out", str(out), "--n-resamples", "19", "--no-progress"]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert stderr == ""  # no raw warnings (nor a progress bar with --no-progress)
    seed = int(stdout.splitlines()[0].removeprefix("seed: "))
    assert json.loads((out / "settings.json").read_text())["random_state"] == seed
    again = tmp_path / "again"
    code, stdout, _ = run([*argv[:3], str(again), *argv[4:], "--seed", str(seed)], capsys)
    assert code == 0 and stdout.splitlines()[0] == f"seed: {seed}"
    pd.testing.assert_frame_equal(pd.read_csv(out / "anova.csv"), pd.read_csv(again / "anova.csv"))


@pytest.mark.parametrize("seed", ["-1", "x", "1.5"])
def test_bad_seed(tmp_path, capsys, seed):
    code, _, stderr = run(["study", "--demo", "--out", str(tmp_path), "--seed", seed], capsys)
    assert code == 2
    assert "--seed: expected a non-negative integer" in stderr


def test_max_missing_items_reaches_run_study(tmp_path, capsys):
    out = tmp_path / "k2"
    argv = ["study", "--demo", "--out", str(out), "--max-missing-items", "2", *FAST]
    code, _, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert json.loads((out / "settings.json").read_text())["max_missing_items"] == 2
    code, _, stderr = run([*argv[:5], "13", *FAST], capsys)
    _one_line_error(code, stderr, "--max-missing-items must be an integer from 0 to 12")
    assert "max_missing_items" not in stderr and "None" not in stderr
    help_text = build_parser()._subparsers._group_actions[0].choices["study"].format_help()
    assert f"(default: {study.MAX_MISSING_ITEMS}, half of the 12 items)" in " ".join(
        help_text.split()
    )


def test_header_only_and_stray_session_text(files, tmp_path, capsys):
    alliance, codes = files
    header_only = tmp_path / "header.csv"
    header_only.write_text(alliance.read_text().splitlines()[0] + "\n")
    argv = ["study", "--alliance", str(header_only), "--out", str(tmp_path / "o"), *FAST]
    code, _, stderr = run(argv, capsys)
    _one_line_error(code, stderr, f"{header_only} (--alliance) has no data rows")
    data = pd.read_csv(alliance).astype({"session": object})
    data.loc[9, "session"] = "."
    stray = tmp_path / "stray.csv"
    data.to_csv(stray, index=False)
    argv = ["study", "--alliance", str(stray), "--out", str(tmp_path / "o"), *FAST]
    code, _, stderr = run(argv, capsys)
    _one_line_error(code, stderr, f"column 'session' of --alliance {stray}")
    assert "on lines [11]" in stderr


@pytest.mark.parametrize("session", ["inf", "1e300"])
def test_infinite_or_huge_session_names_the_line(files, tmp_path, capsys, session):
    alliance, _ = files
    data = pd.read_csv(alliance).astype({"session": object})
    data.loc[3, "session"] = session  # line 5 of the file
    bad = tmp_path / "bad.csv"
    data.to_csv(bad, index=False)
    argv = ["study", "--alliance", str(bad), "--out", str(tmp_path / "o"), *FAST]
    code, _, stderr = run(argv, capsys)
    _one_line_error(code, stderr, f"column 'session' of --alliance {bad} must hold finite")
    assert "on lines [5]" in stderr


def test_a_short_row_of_a_study_file(files, tmp_path, capsys):
    alliance, _ = files
    lines = alliance.read_text().splitlines()
    lines[6] = ",".join(lines[6].split(",")[:5])  # line 7 of the file
    bad = tmp_path / "short.csv"
    bad.write_text("\n".join(lines) + "\n")
    argv = ["study", "--alliance", str(bad), "--out", str(tmp_path / "o"), *FAST]
    code, _, stderr = run(argv, capsys)
    _one_line_error(code, stderr, "Expected 15 fields in line 7, saw 5")


def test_unusable_out_fails_before_the_analysis(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = blocker / "sub"
    code, stdout, stderr = run(["study", "--demo", "--out", str(out), *FAST], capsys)
    _one_line_error(code, stderr, f"cannot create the folder --out {out}")
    assert stdout == ""


def test_alliance_without_codes_leaves_out_the_code_sections(files, tmp_path, capsys):
    alliance, _ = files
    out = tmp_path / "ruptures_only"
    argv = ["study", "--alliance", str(alliance), "--out", str(out), *FAST]
    code, stdout, stderr = run(argv, capsys)
    assert code == 0, stderr
    assert "Table 1" in stdout and "Permutation tests" not in stdout
    assert "ANOVA effects" not in stdout and "No ANOVA effect" not in stdout
    text = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="table2"' not in text and 'id="table3"' not in text
    assert "No behaviour codes were given" in text
    assert sorted(p.name for p in out.glob("figure*.png")) == [
        "figure1.png",
        "figure2.png",
        "figure3.png",
    ]
