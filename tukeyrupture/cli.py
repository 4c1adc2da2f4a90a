"""Command-line interface: ``tukeyrupture <command> ...``.

Each command is a pair of functions: one that adds its subparser and sets ``run``, and
``run(args) -> int``, which reads, calls the library, prints or writes, and returns the exit
code. ``detect`` lives here; ``study`` in :mod:`tukeyrupture.study._cli` and ``compare`` in
:mod:`tukeyrupture.comparison._compare_cli`, each beside the package it drives. A new
command adds its pair, one entry in ``_COMMANDS`` and its flag names in ``_FLAGS``. Files
are read by :mod:`tukeyrupture._cli_files`. ``main`` turns
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
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tukeyrupture._cli_files import (
    CommandError,
    _check_columns,
    _in_cli_words,
    _read_table,
    _with_line_numbers,
)
from tukeyrupture.comparison._compare_cli import add_compare_command
from tukeyrupture.comparison._sensitivity_cli import SENSITIVITY_FLAGS, add_sensitivity_command
from tukeyrupture.study._cli import add_study_command

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
    "sensitivity": SENSITIVITY_FLAGS,
}


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


# --------------------------------------------------------------------------- main

# One registration per command: each function adds its subparser and sets ``run``.
_COMMANDS = (_add_detect_parser, add_study_command, add_compare_command, add_sensitivity_command)


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
