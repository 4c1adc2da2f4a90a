"""Make the figures and tables of the docs page "Reproducing the study".

Runs :func:`tukeyrupture.study.run_study` on the bundled synthetic study
(:func:`tukeyrupture.datasets.load_study_demo`) with the default 5000 permutations and a
fixed seed, and writes into ``docs/_static/``:

* ``study_figure1.png`` ... ``study_figure8.png``: the report's Figures 1-8;
* ``study_table1.csv``, ``study_table2.csv``, ``study_table3.csv``: Table 1 and the ANOVA
  tables of children's and therapists' rupture sequences, formatted as in the HTML report
  (read by ``csv-table`` directives in ``docs/study.rst``).

Run from the repository root::

    python scripts/make_study_figures.py

This is what ``tukeyrupture study --demo --out report --seed 2017`` computes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tukeyrupture.datasets import load_study_demo
from tukeyrupture.study import _display, run_study
from tukeyrupture.study._figures import png_bytes

SEED = 2017
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "_static"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    demo = load_study_demo()
    report = run_study(demo.alliance, demo.codes, n_resamples=5000, random_state=SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, figure in report.figures.items():
        (args.out / f"study_{name}.png").write_bytes(png_bytes(figure, dpi=80))
    report.formatted_table1().to_csv(args.out / "study_table1.csv")
    for number, informant in ((2, "child"), (3, "therapist")):
        table = _display.anova(report.anova, informant).drop(columns=["Note"]).reset_index()
        for column in ("Behaviour", "Comparison"):  # each name once, as in a journal table
            table[column] = table[column].where(table[column] != table[column].shift(), "")
        table.to_csv(args.out / f"study_table{number}.csv", index=False)
    print(report.formatted_table1().to_string())
    print(report.anova[["informant", "behaviour", "comparison", "source", "F", "p_permutation"]])
    print(report.posthoc[["informant", "behaviour", "rupture_type", "F", "p_holm"]])
    print(f"wrote 8 figures and 3 tables to {args.out}")


if __name__ == "__main__":
    main()
