"""Command-line interface: ``tukeyrupture <command> ...``.

Each command is a pair of functions: ``_add_<name>_parser(subparsers)`` declares its
arguments and sets ``run=_run_<name>``; ``_run_<name>(args) -> int`` reads, calls the
library, prints or writes, and returns the exit code. A new command adds its two functions
and one entry in ``_COMMANDS``. ``main`` turns :class:`CommandError`, ``ValueError``,
``TypeError`` and ``OSError`` raised by a command into a one-line message on stderr,
``<prog> <command>: error: <message>``, and exit code 2 (no traceback).
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

PROG = "tukeyrupture"
EXIT_OK = 0
EXIT_ERROR = 2


class CommandError(Exception):
    """A user error found by a command (missing file, column, ...): printed in one line."""


def _read_csv(path: str) -> pd.DataFrame:
    """Read a CSV file, with one-line errors for a missing or unreadable file."""
    file = Path(path)
    if not file.exists():
        raise CommandError(f"file not found: {path}")
    if file.is_dir():
        raise CommandError(f"{path} is a directory, not a CSV file")
    try:
        return pd.read_csv(file)
    except pd.errors.EmptyDataError:
        raise CommandError(f"{path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CommandError(f"cannot read {path} as CSV: {first_line}") from None


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
            "them. FILE.csv has one row per series and session. Prints one row per "
            "rupture (central session) and a one-line summary."
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
    """The long data, a name for messages and the column of each option."""
    options = {"--series": args.series, "--session": args.session, "--value": args.value}
    if args.demo:
        if args.file is not None:
            raise CommandError("give either FILE.csv or --demo, not both")
        from tukeyrupture.datasets import load_alliance

        defaults = {"--series": "series", "--session": "session", "--value": "score"}
        columns = {option: options[option] or defaults[option] for option in options}
        return load_alliance(), "the demo data", columns
    if args.file is None:
        raise CommandError("give FILE.csv, or --demo for the bundled data")
    absent = [option for option, name in options.items() if name is None]
    if absent:
        raise CommandError(f"the following arguments are required with FILE.csv: {absent}")
    return _read_csv(args.file), args.file, options


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
    _check_columns(data, source, columns)
    X, series_labels, session_labels = from_long(
        data, series=columns["--series"], session=columns["--session"], value=columns["--value"]
    )
    frame = pd.DataFrame(X, index=pd.Index(series_labels, dtype=object), columns=session_labels)
    detector = TukeyRuptureDetector(
        iqr_multiplier=args.iqr_multiplier,
        absolute_sd_multiplier=None if args.no_absolute else args.absolute_sd_multiplier,
        pooled_sd=args.pooled_sd,
        min_consecutive=args.min_consecutive,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        detector.fit(frame)
    for warning in caught:
        print(f"{args.prog}: warning: {warning.message}", file=sys.stderr)
    result = detector.detect(frame)
    table = result.to_frame()
    if args.out is not None:
        table.to_csv(args.out, index=False)
    _print_table(table, "No ruptures found.")
    print(_detect_summary(result, detector, args))
    if args.out is not None:
        print(f"Rupture table written to {args.out}.")
    return EXIT_OK


# --------------------------------------------------------------------------- study


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def _add_study_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "study",
        help="run the whole study (Tables 1-3, Figures 1-8) and write an HTML report",
        description=(
            "Run the study's analysis: alliance totals, rupture detection per informant "
            "(children and therapists), rupture sequences and permutation ANOVAs of the "
            "coded in-session behaviour. Writes CSV tables, PNG figures and one "
            "self-contained report.html into --out, and prints Table 1."
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
        "--seed",
        type=int,
        default=None,
        metavar="S",
        help="seed of the permutation tests (default: a fresh one, printed and recorded)",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(run=_run_study)


def _read_study_csv(path: str) -> pd.DataFrame:
    """A CSV file; a spreadsheet export with ';' between fields reads with decimal commas."""
    file = Path(path)
    if file.is_file():
        with file.open(encoding="utf-8", errors="replace") as handle:
            header = handle.readline()
        if header.count(";") > header.count(","):
            try:
                return pd.read_csv(file, sep=";", decimal=",")
            except (pd.errors.ParserError, UnicodeDecodeError) as error:
                first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
                raise CommandError(f"cannot read {path} as CSV: {first_line}") from None
    return _read_csv(path)


def _study_input(args) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    if args.demo:
        if args.alliance is not None or args.codes is not None:
            raise CommandError("give either --demo or --alliance/--codes files, not both")
        from tukeyrupture.datasets import load_study_demo

        demo = load_study_demo()
        return demo.alliance, demo.codes
    if args.alliance is None:
        raise CommandError("give --alliance FILE (and --codes FILE), or --demo")
    frames = []
    for path in (args.alliance, args.codes):
        if path is None:
            frames.append(None)
            continue
        frame = _read_study_csv(path)
        frame.index = pd.RangeIndex(2, len(frame) + 2)  # rows named by their line number
        frames.append(frame)
    return frames[0], frames[1]


def _print_effects(report) -> None:
    """One line per ANOVA effect (Tables 2 and 3) with a permutation p below alpha."""
    from tukeyrupture._study_figures import format_p

    alpha = report.settings["alpha"]
    anova = report.anova
    shown = anova[(anova["source"] != "Total") & (anova["p"] < alpha)]
    if shown.empty:
        print(f"No ANOVA effect has p < {alpha:g}.")
        return
    print(f"ANOVA effects with p < {alpha:g} (Tables 2 and 3 in the report):")
    for row in shown.itertuples(index=False):
        behaviour = row.behaviour.replace("_", " ")
        print(
            f"  {row.informant}s' ruptures, {behaviour}, {row.comparison}: {row.source} "
            f"F({int(row.df)}, {int(row.df_error)}) = {row.F:.2f}, {format_p(row.p)}{row.stars}"
        )


def _run_study(args) -> int:
    from tukeyrupture import TukeyRuptureDetector
    from tukeyrupture.study import run_study

    alliance, codes = _study_input(args)
    if not np.isfinite(args.iqr_multiplier) or args.iqr_multiplier < 0:
        raise CommandError(
            f"--iqr-multiplier must be a non-negative number; got {args.iqr_multiplier}"
        )
    seed = args.seed
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**32)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {args.out} is a file, not a folder")
    try:
        report = run_study(
            alliance,
            codes,
            detector=TukeyRuptureDetector(iqr_multiplier=args.iqr_multiplier),
            n_resamples=args.n_resamples,
            random_state=seed,
            progress=not args.no_progress,
        )
    except (ValueError, TypeError) as error:
        if args.demo:
            raise
        raise CommandError(f"{error} (rows are line numbers of the CSV file)") from None
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
        print(f"Note: {note}")
    print(f"Permutation tests: {args.n_resamples} resamples, seed {seed}.")
    _print_effects(report)
    print(f"Report written to {path} (tables as CSV and figures as PNG in {out}).")
    return EXIT_OK


# --------------------------------------------------------------------------- compare


def _add_compare_parser(subparsers) -> None:
    from tukeyrupture.compare import DEMO_DETECTORS, DETECTORS

    parser = subparsers.add_parser(
        "compare",
        help="compare rupture detectors on simulated series (depth x detector)",
        description=(
            "Simulate alliance series with planted ruptures at several depths, run every "
            "detector on each replicate and score it against the truth. Writes "
            "comparison.csv (one row per depth x detector x replication), sensitivity.png "
            "(recall against depth) and false_positives.png, and prints the mean scores."
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
        help=f"detectors to compare (default: {' '.join(DEMO_DETECTORS)})",
    )
    parser.add_argument(
        "--depths", nargs="+", type=float, metavar="D", help="rupture depths in within-SD units"
    )
    parser.add_argument("--series", type=int, metavar="N", help="series per replicate")
    parser.add_argument("--replications", type=int, metavar="R", help="replicates per depth")
    parser.add_argument("--seed", type=int, default=0, help="root seed (default: 0)")
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

    from tukeyrupture.compare import (
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
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with _dask_client(args):
        frame = compare_detectors(
            list(args.detectors or DEMO_DETECTORS),
            conditions,
            n_replications=DEMO_REPLICATIONS if args.replications is None else args.replications,
            random_state=args.seed,
            backend=args.backend,
            progress=False,
        )
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
    n_replications = int(frame["replication"].max()) + 1
    print(
        f"Compared {frame['detector'].nunique()} detectors on "
        f"{frame['condition'].nunique()} depths x {n_replications} replications "
        f"({int(frame['n_series'].iloc[0])} series of {int(frame['n_sessions'].iloc[0])} "
        "sessions); mean over replications:"
    )
    _print_table(summary.reset_index(), "No results.")
    print(
        f"Wrote {out / 'comparison.csv'}, {out / 'sensitivity.png'} and "
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
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        _silence_stdout()
        return 1
    except (CommandError, ValueError, TypeError, OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{args.prog}: error: {message}", file=sys.stderr)
        return EXIT_ERROR
