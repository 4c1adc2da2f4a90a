"""Command-line interface: ``tukeyrupture <command> ...``.

Each command is a pair of functions: ``_add_<name>_parser(subparsers)`` declares its
arguments and sets ``run=_run_<name>``; ``_run_<name>(args) -> int`` reads, calls the
library, prints or writes, and returns the exit code. A new command adds its two functions,
one entry in ``_COMMANDS`` and its flag names in ``_FLAGS``. ``main`` turns
:class:`CommandError`, ``ValueError``, ``TypeError``, ``ImportError``, ``OSError`` and
``OverflowError`` raised by a command into a one-line message on stderr,
``<prog> <command>: error: <message>``, and exit code 2 (no traceback); warnings print as
``<prog> <command>: warning: <message>``.
Messages of the library are put in the command line's words by :func:`_in_cli_words`: the
flag instead of the Python parameter, the file instead of the DataFrame, file line numbers
(header = line 1) instead of rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

PROG = "tukeyrupture"
EXIT_OK = 0
EXIT_ERROR = 2

# Python parameter (as library messages write it) -> the command line's words.
_FLAGS: dict[str, dict[str, str]] = {
    "detect": {
        "iqr_multiplier": "--iqr-multiplier",
        "absolute_sd_multiplier=None": "--no-absolute",
        "absolute_sd_multiplier": "--absolute-sd-multiplier",
        "pooled_sd=<float>": "--pooled-sd <number>",
        "pooled_sd_": "the pooled SD",
        "pooled_sd": "--pooled-sd",
        "min_consecutive": "--min-consecutive",
        "value_range": "--range",
        "fill_gaps=True": "one column per session number",
        "`pooled_sd` could not be learned": "the pooled SD could not be learned",
        "pooled_sd_ is NaN and predict raises for eligible series": (
            "So the absolute criterion has no SD"
        ),
    },
    "study": {
        "iqr_multiplier": "--iqr-multiplier",
        "n_resamples": "--n-resamples",
        "random_state": "--seed",
        "max_missing_items": "--max-missing-items",
        "progress=True": "the progress bar",
    },
    "compare": {
        "detectors": "--detectors",
        "depth": "--depths",
        "n_series": "--series",
        "n_sessions": "the number of sessions",
        "n_replications": "--replications",
        "random_state": "--seed",
        "backend": "--backend",
    },
}
# What a flag takes, for scikit-learn's parameter messages (written for Python users).
_EXPECTED = {
    "iqr_multiplier": "a non-negative number",
    "absolute_sd_multiplier": "a non-negative number",
    "pooled_sd": "'within', 'total' or a non-negative number",
    "min_consecutive": "a positive integer",
}
_SKLEARN_PARAMETER = re.compile(
    r"The '(\w+)' parameter of \w+ must be (.+?)\. Got (.+?) instead\."
)
_FRAME_COLUMN = re.compile(r"`(\w+)\[('[^']*'|\"[^\"]*\")\]`")


class CommandError(Exception):
    """A user error found by a command (missing file, column, ...): printed in one line."""


def _in_cli_words(message: str, names: Mapping[str, str]) -> str:
    """``message`` of the library with the command line's words for ``names``.

    A name in backticks or quotes is replaced; one with ``_``, ``=`` or ``[`` also bare
    (``pooled_sd=<float>``), a plain word (``data``) only when quoted. ``frame['col']`` in
    backticks becomes "column 'col' of <frame's words>"; "rows [3, 4]" becomes "lines
    [3, 4]" and "row 6" "line 6", as frames read from files are indexed by line numbers.
    """
    message = _SKLEARN_PARAMETER.sub(
        lambda m: f"`{m[1]}` must be {_EXPECTED.get(m[1], m[2])}; got {m[3]}.", message
    )
    for name in sorted(names, key=len, reverse=True):
        key = re.escape(name)
        forms = [f"`{key}`", f"'{key}'"]
        if not name.isalnum():
            forms.append(rf"(?<![\w`'-]){key}(?![\w`'])")
        message = re.sub("|".join(forms), lambda _, name=name: names[name], message)

    def column(match):
        frame = names.get(match[1])
        return match[0] if frame is None else f"column {match[2]} of {frame}"

    message = _FRAME_COLUMN.sub(column, message)
    message = re.sub(r"\bin (rows (?=\[)|row (?=\d))", r"on \1", message)
    message = re.sub(r"\brows (?=\[)", "lines ", message)
    return re.sub(r"\brow (?=\d)", "line ", message)


def _separator(header: str) -> tuple[str, str]:
    """Field separator and decimal mark: ';' (with decimal commas, as spreadsheets in many
    locales export), tab, or ',' -- whichever the header line holds most of."""
    counts = {",": header.count(","), ";": header.count(";"), "\t": header.count("\t")}
    sep = max(counts, key=counts.get)
    return sep, "," if sep == ";" else "."


def _layout(file: Path, sep: str) -> tuple[list[str], list[int], list[int]]:
    """Header fields, and the file line number and number of fields of each record, the
    header's first (blank lines skipped, as pandas skips them; a quoted field may span
    lines)."""
    header, starts, widths, previous = None, [], [], 0
    with file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=sep)
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if len(record) > 1 or "".join(record).strip():
                header = record if header is None else header
                starts.append(start)
                widths.append(len(record))
    return header or [], starts, widths


def _check_short_records(path, option, sep, lines, widths) -> None:
    """A record with fewer fields than the header is an error, as one with more is
    (pandas would read the missing fields as empty)."""
    expected = widths[0]
    short = [(line, width) for line, width in zip(lines, widths) if width < expected]
    if short:
        line, width = short[0]
        more = f" (and {len(short) - 1} more short lines)" if len(short) > 1 else ""
        raise CommandError(
            f"cannot read {path} ({option}) as CSV: Expected {expected} fields in line "
            f"{line}, saw {width}{more} (fields separated by {sep!r}, as on the header "
            "line); leave a missing value empty between separators"
        )


# A number written with a decimal comma (1,5 or 12) and one written with a decimal point.
_COMMA_NUMBER = r"\s*[+-]?(?:\d+(?:,\d*)?|,\d+)(?:[eE][+-]?\d+)?\s*"
_POINT_NUMBER = r"\s*[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"


def _decimal_commas(frame, path, option, text_columns) -> pd.DataFrame:
    """Columns of a decimal-comma file that pandas left as text because of a few odd
    entries: their numbers as floats, the odd entries kept as text (so that messages
    name only their lines); a number with a decimal point there is an error."""
    frame = frame.copy()
    for column in frame.columns:
        if column in text_columns or frame[column].dtype.kind != "O":
            continue
        entries = frame[column].astype("string")
        comma = entries.str.fullmatch(_COMMA_NUMBER).fillna(False).to_numpy(dtype=bool)
        if not comma.any():
            continue
        point = entries.str.fullmatch(_POINT_NUMBER).fillna(False).to_numpy(dtype=bool)
        if point.any():
            lines = list(frame.index[point][:5])
            raise CommandError(
                f"{path} ({option}) separates fields by ';' and writes decimal commas, but "
                f"column {column!r} has {list(frame[column][point][:3])} with a decimal "
                f"point on lines {lines}; write them with a decimal comma"
            )
        converted = frame[column].astype(object)
        converted[comma] = [float(text.replace(",", ".")) for text in entries[comma]]
        frame[column] = (
            converted if (~comma & frame[column].notna()).any() else (converted.astype(np.float64))
        )
    return frame


def _read_table(path: str, option: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV file, indexed by file line numbers (header = line 1), for ``option``.

    Commas, semicolons (with decimal commas) or tabs separate the fields (see
    :func:`_separator`); ``text_columns`` are read as text, so that ids such as ``007``
    keep their zeros. One-line errors for a missing, empty, header-only or unreadable file.
    """
    file = Path(path)
    if not file.exists():
        raise CommandError(f"file not found: {path}")
    if file.is_dir():
        raise CommandError(f"{path} ({option}) is a directory, not a CSV file")
    with file.open(encoding="utf-8", errors="replace") as handle:
        header = next((line for line in handle if line.strip()), "")
    sep, decimal = _separator(header)
    try:
        frame = pd.read_csv(
            file, sep=sep, decimal=decimal, dtype={column: str for column in text_columns}
        )
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} ({option}) is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CommandError(f"cannot read {path} ({option}) as CSV: {first_line}") from None
    if frame.empty:
        raise CommandError(f"{path} ({option}) has no data rows, only the header line")
    header, lines, widths = _layout(file, sep)
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise CommandError(
            f"{path} ({option}) has duplicated column names {repeated} on line {lines[0]} "
            "(its header); rename them"
        )
    _check_short_records(path, option, sep, lines, widths)
    lines = lines[1:]
    frame.index = lines if len(lines) == len(frame) else pd.RangeIndex(2, len(frame) + 2)
    if decimal == ",":
        frame = _decimal_commas(frame, path, option, text_columns)
    return frame


def _with_line_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Bundled demo data, indexed by the line numbers of its CSV file (no blank lines)."""
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    return frame


def _check_columns(data: pd.DataFrame, source: str, columns: dict[str, str]) -> None:
    """``columns`` maps an option (``--series``) to the column name it gave."""
    missing = [f"{name!r} ({option})" for option, name in columns.items() if name not in data]
    if missing:
        available = ", ".join(repr(str(c)) for c in data.columns)
        raise CommandError(
            f"{source} has no column {', '.join(missing)}; its columns are: {available}"
        )


def _print_table(frame: pd.DataFrame, empty_message: str) -> None:
    if frame.empty:
        print(empty_message)
        return
    print(frame.to_string(index=False, float_format=lambda value: f"{value:.2f}"))


_SEED_HELP = (
    "seed of the random draws: the same seed repeats a run exactly (default: a fresh seed, "
    "printed as 'seed: N' and saved with the outputs)"
)


def _seed(args) -> int:
    """``--seed``, or a fresh one (printed, so that the run can be repeated)."""
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
    print(f"seed: {seed}")
    return seed


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer; got {text!r}")
    return value


# --------------------------------------------------------------------------- detect


def _pooled_sd_value(text: str) -> str | float:
    """``--pooled-sd``: ``within``, ``total`` or a number."""
    if text in ("within", "total"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 'within', 'total' or a number; got {text!r}"
        ) from None


def _add_detect_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "detect",
        help="detect alliance ruptures in a long CSV file (or the bundled demo data)",
        description=(
            "Detect alliance ruptures with Tukey's control charts, as the study defined "
            "them. FILE.csv has one row per series and session (fields separated by "
            "commas, or by semicolons with decimal commas, or by tabs). Sessions are "
            "whole numbers (or labels such as S1, S2, ...) and every session number from "
            "the first to the last gets a column: when nobody has session 8, sessions 7 "
            "and 9 are not consecutive. Prints one row per rupture (central session) and a "
            "one-line summary; errors name the file's line numbers (header = line 1)."
        ),
    )
    parser.add_argument("file", nargs="?", metavar="FILE.csv", help="long-format CSV file")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the bundled synthetic data (tukeyrupture.datasets.load_alliance)",
    )
    parser.add_argument("--series", metavar="COL", help="column with the series (person) id")
    parser.add_argument("--session", metavar="COL", help="column with the session number")
    parser.add_argument("--value", metavar="COL", help="column with the alliance score")
    parser.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("LOW", "HIGH"),
        help="plausible range of the scores, e.g. --range 12 48: a score outside is an error",
    )
    parser.add_argument(
        "--iqr-multiplier",
        type=float,
        default=1.0,
        metavar="K",
        help="k of the control limits Q1 - k*IQR (default: 1.0, the study; Tukey: 1.5)",
    )
    absolute = parser.add_mutually_exclusive_group()
    absolute.add_argument(
        "--absolute-sd-multiplier",
        type=float,
        default=2.0,
        metavar="C",
        help="c of the absolute criterion, a drop of c pooled SDs (default: 2.0)",
    )
    absolute.add_argument(
        "--no-absolute",
        action="store_true",
        help="switch the absolute criterion off (TCC criterion only)",
    )
    parser.add_argument(
        "--pooled-sd",
        type=_pooled_sd_value,
        default="within",
        metavar="S",
        help=(
            "SD of the absolute criterion: 'within' (pooled within series, default), "
            "'total' (SD of all scores) or a number"
        ),
    )
    parser.add_argument(
        "--min-consecutive",
        type=int,
        default=7,
        metavar="N",
        help="consecutive observed sessions a series needs to be analysed (default: 7)",
    )
    parser.add_argument("--out", metavar="ruptures.csv", help="also write the table as CSV")
    parser.set_defaults(run=_run_detect)


def _detect_input(args) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """The long data (indexed by line numbers), a name for messages, the option columns."""
    options = {"--series": args.series, "--session": args.session, "--value": args.value}
    if args.demo:
        if args.file is not None:
            raise CommandError("give either FILE.csv or --demo, not both")
        from tukeyrupture.datasets import load_alliance

        defaults = {"--series": "series", "--session": "session", "--value": "score"}
        columns = {option: options[option] or defaults[option] for option in options}
        return _with_line_numbers(load_alliance()), "the demo data", columns
    if args.file is None:
        raise CommandError("give FILE.csv, or --demo for the bundled data")
    absent = [option for option, name in options.items() if name is None]
    if absent:
        raise CommandError(f"the following arguments are required with FILE.csv: {absent}")
    return _read_table(args.file, "FILE.csv", text_columns=[args.series]), args.file, options


def _plain_label(label):
    return label.item() if isinstance(label, np.generic) else label


def _output_folder(option: str, path: str) -> Path:
    """The folder of ``option`` (``--out``), created now so that a bad path fails before
    the computation."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise CommandError(f"{option} {path} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"cannot create the folder {option} {path}: {error.strerror or error}"
        ) from None
    if not os.access(out, os.W_OK):
        raise CommandError(f"cannot write into the folder {option} {path}: permission denied")
    return out


def _detect_summary(result, detector, args) -> str:
    labels = np.asarray(result.labels)
    repaired, unrepaired, unresolved = (
        int(np.count_nonzero(labels == code)) for code in (1, 2, 3)
    )
    if detector.absolute_sd_multiplier is None:
        sd_text = "pooled SD not used (--no-absolute)"
    elif np.isnan(detector.pooled_sd_):
        sd_text = "pooled SD not learned (no eligible series)"
    else:
        source = "given" if isinstance(args.pooled_sd, float) else args.pooled_sd
        sd_text = f"pooled SD ({source}) = {detector.pooled_sd_:.3g}"
    return (
        f"Summary: {result.n_series} series, {result.n_eligible} eligible and analysed "
        f"(>= {detector.min_consecutive} consecutive observed sessions), "
        f"{int(np.count_nonzero(labels.any(axis=1)))} with ruptures; "
        f"{result.n_ruptures} ruptures ({repaired} repaired, {unrepaired} unrepaired, "
        f"{unresolved} unresolved); {sd_text}."
    )


def _run_detect(args) -> int:
    from tukeyrupture import TukeyRuptureDetector, from_long

    data, source, columns = _detect_input(args)
    if len(set(columns.values())) < 3:
        given = ", ".join(f"{option} {name}" for option, name in columns.items())
        raise CommandError(
            f"--series, --session and --value must name three different columns; got {given}"
        )
    _check_columns(data, source, columns)
    args.names["data"] = source
    for option, column in columns.items():
        args.names[f"data[{column!r}]"] = f"column {column!r} ({option}) of {source}"
    X, series_labels, session_labels = from_long(
        data,
        series=columns["--series"],
        session=columns["--session"],
        value=columns["--value"],
        fill_gaps=True,
        value_range=args.range,
    )
    if X.shape[1] < 2:
        raise CommandError(
            f"{source} has only one session ({_plain_label(session_labels[0])!r} in column "
            f"{columns['--session']!r}, --session); rupture detection needs at least 2 "
            "sessions per series"
        )
    frame = pd.DataFrame(X, index=pd.Index(series_labels, dtype=object), columns=session_labels)
    detector = TukeyRuptureDetector(
        iqr_multiplier=args.iqr_multiplier,
        absolute_sd_multiplier=None if args.no_absolute else args.absolute_sd_multiplier,
        pooled_sd=args.pooled_sd,
        min_consecutive=args.min_consecutive,
    )
    result = detector.fit(frame).detect(frame)
    table = result.to_frame()
    if args.out is not None:
        try:
            table.to_csv(args.out, index=False)
        except OSError as error:
            raise CommandError(
                f"cannot write --out {args.out}: {error.strerror or error}"
            ) from None
    _print_table(table, "No ruptures found.")
    print(_detect_summary(result, detector, args))
    if args.out is not None:
        print(f"Rupture table written to {args.out}.")
    return EXIT_OK


# --------------------------------------------------------------------------- study


def _add_study_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run the whole study (Tables 1-3, Figures 1-8) and write an HTML report",
        description=(
            "Run the study's analysis: alliance totals, rupture detection per informant "
            "(children and therapists), rupture sequences and permutation ANOVAs of the "
            "coded in-session behaviour. Writes CSV tables, PNG figures and one "
            "self-contained report.html into --out, and prints Table 1. Files are read as "
            "by 'tukeyrupture detect' (commas, semicolons with decimal commas, or tabs; "
            "every whole session number gets a column; errors name file line numbers)."
        ),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use the bundled synthetic study (tukeyrupture.datasets.load_study_demo)",
    )
    parser.add_argument(
        "--alliance",
        metavar="FILE",
        help="item-level alliance CSV: dyad, informant, session, item_1 .. item_12",
    )
    parser.add_argument(
        "--codes",
        metavar="FILE",
        help=(
            "coded behaviour CSV: dyad, informant, session, positive_child_involvement, "
            "positive_therapist_behavior (optional: without it, ruptures only)"
        ),
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="folder for the report")
    parser.add_argument(
        "--iqr-multiplier",
        type=float,
        default=1.0,
        metavar="K",
        help="k of the control limits Q1 - k*IQR (default: 1.0, the study; Tukey: 1.5)",
    )
    parser.add_argument(
        "--n-resamples",
        type=_positive_int,
        default=5000,
        metavar="B",
        help="permutations per test (default: 5000)",
    )
    parser.add_argument(
        "--max-missing-items",
        type=_non_negative_int,
        default=None,
        metavar="K",
        help=(
            "a session total needs all but at most K answered items, else the session is "
            "missing (default: 6, half of the 12 items)"
        ),
    )
    parser.add_argument(
        "--seed",
        type=_non_negative_int,
        default=None,
        metavar="S",
        help=_SEED_HELP,
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(run=_run_study)


def _study_input(args) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Alliance and codes frames, indexed by line numbers, and their names for messages."""
    if args.demo:
        if args.alliance is not None or args.codes is not None:
            raise CommandError("give either --demo or --alliance/--codes files, not both")
        from tukeyrupture.datasets import load_study_demo

        demo = load_study_demo()
        args.names.update(alliance="the demo alliance data", codes="the demo codes")
        return _with_line_numbers(demo.alliance), _with_line_numbers(demo.codes)
    if args.alliance is None:
        raise CommandError("give --alliance FILE (and --codes FILE), or --demo")
    args.names["alliance"] = f"--alliance {args.alliance}"
    alliance = _read_table(args.alliance, "--alliance", text_columns=["dyad"])
    if args.codes is None:
        return alliance, None
    args.names["codes"] = f"--codes {args.codes}"
    return alliance, _read_table(args.codes, "--codes", text_columns=["dyad"])


def _print_effects(report) -> None:
    """One line per ANOVA effect (Tables 2 and 3) with a permutation p below alpha."""
    if not report.codes_given:
        return
    alpha = report.settings["alpha"]
    shown = report.effects()
    if shown.empty:
        print(f"No ANOVA effect has p < {alpha:g}.")
        return
    print(f"ANOVA effects with p < {alpha:g} (Tables 2 and 3 in the report):")
    for row in shown.itertuples(index=False):
        print(
            f"  {row.Ruptures}, {row.Behaviour.lower()}, {row.Comparison}: {row.Effect} {row.Test}"
        )


def _run_study(args) -> int:
    from tukeyrupture import TukeyRuptureDetector
    from tukeyrupture.study import ITEMS, run_study

    alliance, codes = _study_input(args)
    if not np.isfinite(args.iqr_multiplier) or args.iqr_multiplier < 0:
        raise CommandError(
            f"--iqr-multiplier must be a non-negative number; got {args.iqr_multiplier}"
        )
    options = {}
    if args.max_missing_items is not None:
        if args.max_missing_items > len(ITEMS):
            raise CommandError(
                f"--max-missing-items must be an integer from 0 to {len(ITEMS)} (the number "
                f"of items); got {args.max_missing_items}"
            )
        options["max_missing_items"] = args.max_missing_items
    out = _output_folder("--out", args.out)
    seed = _seed(args)
    report = run_study(
        alliance,
        codes,
        detector=TukeyRuptureDetector(iqr_multiplier=args.iqr_multiplier),
        n_resamples=args.n_resamples,
        random_state=seed,
        progress=not args.no_progress,
        **options,
    )
    if args.demo:
        source = "the bundled synthetic demo study (not real patients)"
    else:
        source = f"alliance: {args.alliance}; codes: {args.codes or 'none'}"
    path = report.save(out, source=source)
    print("Table 1. Alliance rupture sequences and rupture types (columns: informants)")
    table1 = report.formatted_table1().T  # one line per count: fits a terminal
    table1.columns.name = None
    print(table1.to_string())
    for note in report.notes:
        print(f"Note: {_in_cli_words(note, args.names)}")
    print(f"Permutation tests: {args.n_resamples} resamples, seed {seed}.")
    _print_effects(report)
    print(f"Report written to {path} (tables as CSV and figures as PNG in {out}).")
    return EXIT_OK


# --------------------------------------------------------------------------- compare


def _add_compare_parser(subparsers) -> None:
    from tukeyrupture.comparison.compare import DEMO_DETECTORS, DETECTORS

    parser = subparsers.add_parser(
        "compare",
        help="compare rupture detectors on simulated series (depth x detector)",
        description=(
            "Simulate alliance series with planted ruptures at several depths, run every "
            "detector on each replicate and score it against the truth. Writes "
            "comparison.csv (one row per depth x detector x replication), run.json (seed, "
            "detectors, skipped detectors, grid), sensitivity.png (recall against depth) "
            "and false_positives.png, and prints the mean scores."
        ),
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the built-in grid: depths 0-4 SD, 80 series of 20 sessions, 8 replications",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="output directory")
    parser.add_argument(
        "--detectors",
        nargs="+",
        metavar="NAME",
        choices=sorted(DETECTORS),
        help=(
            f"detectors to compare (default: {' '.join(DEMO_DETECTORS)}, without those whose "
            "optional package is not installed)"
        ),
    )
    parser.add_argument(
        "--depths", nargs="+", type=float, metavar="D", help="rupture depths in within-SD units"
    )
    parser.add_argument("--series", type=_positive_int, metavar="N", help="series per replicate")
    parser.add_argument(
        "--replications", type=_positive_int, metavar="R", help="replicates per depth"
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=None, metavar="S", help=_SEED_HELP
    )
    parser.add_argument(
        "--backend",
        choices=["serial", "loky", "dask"],
        default="serial",
        help=(
            "where the cells run (default: serial); dask starts a local cluster unless "
            "--scheduler is given"
        ),
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --backend dask: address of a running dask.distributed scheduler",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(run=_run_compare)


def _dask_client(args):
    """A dask.distributed Client for ``--backend dask`` (closed afterwards), else a no-op."""
    import contextlib

    if args.backend != "dask":
        return contextlib.nullcontext()
    try:
        from distributed import Client
    except ImportError:
        raise CommandError(
            "--backend dask needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    if args.scheduler is not None:
        return Client(args.scheduler)
    return Client(processes=True, threads_per_worker=1, dashboard_address=None)


def _run_compare(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tukeyrupture import __version__
    from tukeyrupture.comparison.compare import (
        DEMO_CONDITIONS,
        DEMO_DETECTORS,
        DEMO_REPLICATIONS,
        compare_detectors,
        plot_comparison,
        summarize_comparison,
    )

    if not args.demo and args.depths is None:
        raise CommandError("give --demo for the built-in grid, or --depths D [D ...]")
    conditions = dict(DEMO_CONDITIONS)
    if args.depths is not None:
        conditions["depth"] = args.depths
    if args.series is not None:
        conditions["n_series"] = [args.series]
    if args.scheduler is not None and args.backend != "dask":
        raise CommandError("--scheduler needs --backend dask")
    n_replications = DEMO_REPLICATIONS if args.replications is None else args.replications
    out = _output_folder("--out", args.out)
    seed = _seed(args)
    with _dask_client(args):
        frame = compare_detectors(
            args.detectors,
            conditions,
            n_replications=n_replications,
            random_state=seed,
            backend=args.backend,
            progress=not args.no_progress,
        )
    detectors = list(frame["detector"].unique())
    run = {
        "seed": seed,
        "detectors": detectors,
        "skipped_detectors": [
            name for name in DEMO_DETECTORS if args.detectors is None and name not in detectors
        ],
        "conditions": conditions,
        "n_replications": n_replications,
        "backend": args.backend,
        "version": __version__,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    frame.to_csv(out / "comparison.csv", index=False)
    for metric, name in (("recall", "sensitivity"), ("false_positive_rate", "false_positives")):
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        plot_comparison(frame, x="depth", metric=metric, ax=ax)
        ax.set_xlabel("rupture depth (within-person SD)")
        ax.set_ylabel(
            "recall (share of true ruptures found)"
            if metric == "recall"
            else "false-positive rate (per session)"
        )
        fig.tight_layout()
        fig.savefig(out / f"{name}.png", dpi=120)
        plt.close(fig)
    summary = summarize_comparison(frame, by="depth", metrics=["recall", "precision"])
    summary["false_positive_rate"] = summarize_comparison(
        frame, by="depth", metrics=["false_positive_rate"]
    )["false_positive_rate"]
    print(
        f"Compared {frame['detector'].nunique()} detectors on "
        f"{frame['condition'].nunique()} depths x {n_replications} replications "
        f"({int(frame['n_series'].iloc[0])} series of {int(frame['n_sessions'].iloc[0])} "
        "sessions); mean over replications:"
    )
    _print_table(summary.reset_index(), "No results.")
    print(
        f"Wrote {out / 'comparison.csv'}, {out / 'run.json'}, {out / 'sensitivity.png'} and "
        f"{out / 'false_positives.png'}."
    )
    return EXIT_OK


# --------------------------------------------------------------------------- main

# One registration per command: each function adds its subparser and sets ``run``.
_COMMANDS = (_add_detect_parser, _add_study_parser, _add_compare_parser)


def build_parser() -> argparse.ArgumentParser:
    """The ``tukeyrupture`` parser with every registered command."""
    from tukeyrupture import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Alliance-rupture detection with Tukey's control charts.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add_parser in _COMMANDS:
        add_parser(subparsers)
    for name, subparser in subparsers.choices.items():
        subparser.set_defaults(prog=subparser.prog, command=name)
    return parser


def _silence_stdout() -> None:
    """Send what is left in stdout to devnull, so that exiting does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file
        pass


def _show_warning(prog, names):
    """``warnings.showwarning`` for the command line: one line in the CLI's words."""

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"{prog}: warning: {_in_cli_words(text, names)}", file=sys.stderr)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``tukeyrupture <command> ...`` and return its exit code.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        The arguments after the program name (None: ``sys.argv[1:]``).

    Returns
    -------
    exit_code : int
        0 on success, 2 on a usage error or a one-line error on stderr.

    Examples
    --------
    >>> from tukeyrupture.cli import main
    >>> main(["detect", "no-such-file.csv", "--series", "id", "--session", "s",
    ...       "--value", "v"])
    2
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_ERROR
    args.names = dict(_FLAGS.get(args.command, {}))  # commands add their files and columns
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("default", category=UserWarning)
            warnings.showwarning = _show_warning(args.prog, args.names)
            return args.run(args)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        _silence_stdout()
        return 1
    except (CommandError, ValueError, TypeError, ImportError, OSError, OverflowError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        if not isinstance(error, CommandError):
            message = _in_cli_words(message, args.names)
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
