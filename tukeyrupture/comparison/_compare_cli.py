"""``tukeyrupture compare``: the command line over :func:`compare_detectors`."""

from __future__ import annotations

import json


def add_compare_command(subparsers) -> None:
    """Add ``tukeyrupture compare`` to the command line's subparsers."""
    from tukeyrupture import cli
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
    parser.add_argument(
        "--series", type=cli._positive_int, metavar="N", help="series per replicate"
    )
    parser.add_argument(
        "--replications", type=cli._positive_int, metavar="R", help="replicates per depth"
    )
    parser.add_argument(
        "--seed", type=cli._non_negative_int, default=None, metavar="S", help=cli._SEED_HELP
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


def _run_compare(args) -> int:
    import matplotlib

    from tukeyrupture import cli

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tukeyrupture import __version__
    from tukeyrupture.comparison.compare import (
        DEMO_CONDITIONS,
        DEMO_DETECTORS,
        DEMO_REPLICATIONS,
        compare_detectors,
    )
    from tukeyrupture.comparison.summary import plot_comparison, summarize_comparison

    if not args.demo and args.depths is None:
        raise cli.CommandError("give --demo for the built-in grid, or --depths D [D ...]")
    conditions = dict(DEMO_CONDITIONS)
    if args.depths is not None:
        conditions["depth"] = args.depths
    if args.series is not None:
        conditions["n_series"] = [args.series]
    if args.scheduler is not None and args.backend != "dask":
        raise cli.CommandError("--scheduler needs --backend dask")
    n_replications = DEMO_REPLICATIONS if args.replications is None else args.replications
    out = cli._output_folder("--out", args.out)
    seed = cli._seed(args)
    with cli._dask_client(args):
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
    cli._print_table(summary.reset_index(), "No results.")
    print(
        f"Wrote {out / 'comparison.csv'}, {out / 'run.json'}, {out / 'sensitivity.png'} and "
        f"{out / 'false_positives.png'}."
    )
    return cli.EXIT_OK
