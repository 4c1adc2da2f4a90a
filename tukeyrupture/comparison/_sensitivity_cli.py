"""``tukeyrupture sensitivity``: the sensitivity study from the command line.

``tukeyrupture.cli`` registers the command with :func:`add_sensitivity_command` (in
``_COMMANDS``) and puts library messages in the command line's words with
:data:`SENSITIVITY_FLAGS` (in ``_FLAGS["sensitivity"]``).
"""

from __future__ import annotations

import json

#: Python parameter (as library messages write it) -> the command line's words.
SENSITIVITY_FLAGS: dict[str, str] = {
    "preset": "--preset",
    "detectors": "--detectors",
    "n_series": "--series",
    "random_state": "--seed",
    "backend": "--backend",
    "grid": "the grid",
    "depth": "--depths",
    "n_sessions": "--lengths",
    "ar": "--ar",
    "repair": "--repair",
    "rupture_rate": "--rupture-rate",
}

# option dest -> factor of the grid
_GRID_OPTIONS = {
    "depths": "depth",
    "lengths": "n_sessions",
    "missingness": "missingness",
    "ar": "ar",
    "repair": "repair",
    "rupture_rate": "rupture_rate",
}


def add_sensitivity_command(subparsers) -> None:
    """Add the ``sensitivity`` subparser (``run=run_sensitivity_command``) to ``subparsers``."""
    from tukeyrupture.cli import _SEED_HELP, _non_negative_int, _positive_int
    from tukeyrupture.comparison._realistic_iv import PRESETS, REPAIR_SHAPES
    from tukeyrupture.comparison.registry import REGISTRY
    from tukeyrupture.comparison.sensitivity import DEFAULT_GRID, MISSINGNESS

    def default(factor):
        return " ".join(map(str, DEFAULT_GRID[factor]))

    parser = subparsers.add_parser(
        "sensitivity",
        help="every detector over a grid of realistic simulated conditions (HTML report)",
        description=(
            "Simulate realistic alliance series (bounded Likert sums with a ceiling, AR(1) "
            "noise, a trend, shaped repairs, missingness) and run every detector with one "
            "factor at a time varied around the preset: rupture depth, series length, "
            "missingness, autocorrelation and repair shape. Writes sensitivity.html (a "
            "self-contained report), scores.csv, roc.csv, timing.csv and run.json."
        ),
    )
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="children",
        help="simulator preset (default: children)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="output folder")
    parser.add_argument(
        "--detectors",
        nargs="+",
        metavar="NAME",
        choices=list(REGISTRY),
        help="detectors (default: every installed one)",
    )
    parser.add_argument(
        "--series",
        type=_positive_int,
        default=250,
        metavar="N",
        help="series per condition (default: 250)",
    )
    parser.add_argument(
        "--depths",
        nargs="+",
        type=float,
        metavar="D",
        help=f"rupture depths in within-SD units (default: {default('depth')})",
    )
    parser.add_argument(
        "--lengths",
        nargs="+",
        type=_positive_int,
        metavar="L",
        help=f"series lengths (default: {default('n_sessions')})",
    )
    parser.add_argument(
        "--missingness",
        nargs="+",
        choices=list(MISSINGNESS),
        help=f"missingness levels (default: {default('missingness')})",
    )
    parser.add_argument(
        "--ar",
        nargs="+",
        type=float,
        metavar="A",
        help=f"AR(1) coefficients (default: {default('ar')})",
    )
    parser.add_argument(
        "--repair",
        nargs="+",
        choices=list(REPAIR_SHAPES),
        help=f"repair shapes (default: {default('repair')})",
    )
    parser.add_argument(
        "--rupture-rate",
        type=float,
        metavar="P",
        help=f"share of rupture sessions (default: {default('rupture_rate')})",
    )
    parser.add_argument(
        "--seed", type=_non_negative_int, default=None, metavar="S", help=_SEED_HELP
    )
    parser.add_argument(
        "--backend",
        choices=["serial", "dask"],
        default="serial",
        help="where the conditions run (default: serial); dask starts a "
        "local cluster unless --scheduler is given",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --backend dask: address of a running dask scheduler",
    )
    parser.add_argument("--no-progress", action="store_true", help="do not show the progress bar")
    parser.set_defaults(run=run_sensitivity_command)


def _grid(args):
    from tukeyrupture.comparison.sensitivity import DEFAULT_GRID

    grid = dict(DEFAULT_GRID)
    for option, factor in _GRID_OPTIONS.items():
        value = getattr(args, option)
        if value is not None:
            grid[factor] = value
    return grid


def run_sensitivity_command(args) -> int:
    """Run the study of ``args`` and write its files into ``--out``; return the exit code."""
    from tukeyrupture import __version__, cli
    from tukeyrupture.comparison.sensitivity import sensitivity_study

    if args.scheduler is not None and args.backend != "dask":
        raise cli.CommandError("--scheduler needs --backend dask")
    out = cli._output_folder("--out", args.out)
    grid = _grid(args)
    seed = cli._seed(args)
    with cli._dask_client(args) as client:
        result = sensitivity_study(
            args.preset,
            grid,
            args.detectors,
            args.series,
            seed,
            progress=not args.no_progress,
            backend=client,
        )
    report = result.to_html(out / "sensitivity.html")
    for name in ("scores", "roc", "timing"):
        getattr(result, name).to_csv(out / f"{name}.csv", index=False)
    run = {
        "preset": result.preset,
        "grid": {factor: [str(v) for v in levels] for factor, levels in grid.items()},
        "detectors": list(result.timing["detector"]),
        "n_series": result.n_series,
        "seed": seed,
        "backend": args.backend,
        "version": __version__,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    base = result.scores[result.scores["factor"] == "baseline"]
    print(f"Baseline ({result.preset} preset, {result.n_series} series):")
    cli._print_table(
        base[
            ["detector", "family", "recall", "false_positive_rate", "repair_accuracy", "auc"]
        ].round(3),
        "No results.",
    )
    print(f"Wrote {report}, scores.csv, roc.csv, timing.csv and run.json in {out}.")
    return cli.EXIT_OK
