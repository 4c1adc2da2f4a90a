"""The clinical study's analysis, end to end: detection, rupture sequences, ANOVAs, report.

:func:`run_study` reproduces the analysis of the study on alliance ruptures in child
psychotherapy that this package was written for (see the "Reproducing the study" page).
Its stages, one module each, in the order the data flow:

1. ``_inputs``: the data layout (informants, items, scales, behaviours) and checked copies
   of the alliance items, the codes and the parameters;
2. ``_sequences``: alliance totals from item scores, Tukey's control-chart rupture rule per
   informant, and the rupture sequences (pre-rupture, central and post-rupture session)
   with their alliance scores and coded behaviour;
3. ``_anova``: the permutation ANOVAs, one function per family of tests;
4. ``_report``: the frozen :class:`StudyReport`, which holds the tables as frames
   (``_summaries`` counts Table 1 and the summaries, ``_exclusions`` lists what was left
   out);
5. ``_figures`` and ``_html``: Figures 1-8 and the self-contained HTML report, drawn from
   the report alone, with every display label in ``_labels`` (``_display`` writes the
   tables in the study's words).
"""

from tukeyrupture.study._inputs import (
    BEHAVIOURS,
    INFORMANTS,
    ITEMS,
    MAX_MISSING_ITEMS,
    SCALES,
)
from tukeyrupture.study._report import StudyReport
from tukeyrupture.study._run import run_study

__all__ = [
    "BEHAVIOURS",
    "INFORMANTS",
    "ITEMS",
    "MAX_MISSING_ITEMS",
    "SCALES",
    "StudyReport",
    "run_study",
]
