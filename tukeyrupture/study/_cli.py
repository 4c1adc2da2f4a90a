"""``tukeyrupture study``: the command line over :func:`run_study` and ``report.save``."""

from __future__ import annotations

import numpy as np
import pandas as pd


def add_study_command(subparsers) -> None:
    """Add ``tukeyrupture study`` to the command line's subparsers."""
    from tukeyrupture import cli

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
        type=cli._positive_int,
        default=5000,
        metavar="B",
        help="permutations per test (default: 5000)",
    )
    parser.add_argument(
        "--max-missing-items",
        type=cli._non_negative_int,
        default=None,
        metavar="K",
        help=(
            "a session total needs all but at most K answered items, else the session is "
            "missing (default: 6, half of the 12 items)"
        ),
    )
    parser.add_argument(
        "--seed",
        type=cli._non_negative_int,
        default=None,
        metavar="S",
        help=cli._SEED_HELP,
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(run=_run_study)


def _study_input(args) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Alliance and codes frames, indexed by line numbers, and their names for messages."""
    from tukeyrupture import cli

    if args.demo:
        if args.alliance is not None or args.codes is not None:
            raise cli.CommandError("give either --demo or --alliance/--codes files, not both")
        from tukeyrupture.datasets import load_study_demo

        demo = load_study_demo()
        args.names.update(alliance="the demo alliance data", codes="the demo codes")
        return cli._with_line_numbers(demo.alliance), cli._with_line_numbers(demo.codes)
    if args.alliance is None:
        raise cli.CommandError("give --alliance FILE (and --codes FILE), or --demo")
    args.names["alliance"] = f"--alliance {args.alliance}"
    alliance = cli._read_table(args.alliance, "--alliance", text_columns=["dyad"])
    if args.codes is None:
        return alliance, None
    args.names["codes"] = f"--codes {args.codes}"
    return alliance, cli._read_table(args.codes, "--codes", text_columns=["dyad"])


def _print_effects(report) -> None:
    """One line per ANOVA effect (Tables 2 and 3) with a permutation p below alpha."""
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
    from tukeyrupture import TukeyRuptureDetector, cli
    from tukeyrupture.study import ITEMS, run_study

    alliance, codes = _study_input(args)
    if not np.isfinite(args.iqr_multiplier) or args.iqr_multiplier < 0:
        raise cli.CommandError(
            f"--iqr-multiplier must be a non-negative number; got {args.iqr_multiplier}"
        )
    options = {}
    if args.max_missing_items is not None:
        if args.max_missing_items > len(ITEMS):
            raise cli.CommandError(
                f"--max-missing-items must be an integer from 0 to {len(ITEMS)} (the number "
                f"of items); got {args.max_missing_items}"
            )
        options["max_missing_items"] = args.max_missing_items
    out = cli._output_folder("--out", args.out)
    seed = cli._seed(args)
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
        print(f"Note: {cli._in_cli_words(note, args.names)}")
    if report.codes_given:
        print(f"Permutation tests: {args.n_resamples} resamples, seed {seed}.")
        _print_effects(report)
    print(f"Report written to {path} (tables as CSV and figures as PNG in {out}).")
    return cli.EXIT_OK
