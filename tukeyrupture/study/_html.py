"""Stage 5 of the study: the self-contained HTML report of a StudyReport (PNG as base64)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from tukeyrupture.study import _display
from tukeyrupture.study._labels import (
    ACCORDANCE_LABELS,
    INFORMANT_LABELS,
    MARKS_NOTE,
    MISSING_ITEMS_LABELS,
    SUMMARY_LABELS,
    WHOSE,
)

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em;
        border-top: 2px solid #222; border-bottom: 2px solid #222; }
th, td { padding: 0.3em 0.7em; vertical-align: top; }
thead th { border-bottom: 1px solid #222; text-align: left; }
tbody th { text-align: left; font-weight: normal; font-style: italic; }
td { text-align: right; white-space: nowrap; }
table.text td, table.notes td:last-child { text-align: left; white-space: normal; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 0.4em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 1em; }
.small { font-size: 0.85em; color: #555; }
details { margin: 1em 0; }
"""


def _esc(value) -> str:
    return html.escape(str(value))


def _table(frame: pd.DataFrame, caption: str = "", kind: str = "", index: bool = True) -> str:
    """A frame as an HTML table (``to_html``): spanning index cells, no empty NaN text."""
    text = frame.to_html(
        index=index,
        na_rep="",
        border=0,
        classes=kind or None,
        float_format=lambda v: f"{v:.2f}",
        sparsify=True,
        escape=True,
    )
    if index and any(name is not None for name in frame.index.names):
        # one header row: the index names above the index cells, not in a row of their own
        names = [*frame.index.names, *frame.columns]
        cells = "".join(f"<th>{_esc('' if name is None else name)}</th>" for name in names)
        start, end = text.index("<thead>"), text.index("</thead>")
        text = f"{text[:start]}<thead><tr>{cells}</tr>{text[end:]}"
    if caption:
        head, rest = text.split(">", 1)
        text = f"{head}><caption>{_esc(caption)}</caption>{rest}"
    return text


def _figure(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    number = name.replace("figure", "")
    return (
        f'<figure id="{name}"><img alt="Figure {number}" src="data:image/png;base64,{data}">'
        f"<figcaption><b>Figure {number}.</b> {_esc(caption)}</figcaption></figure>"
    )


def _labelled(frame, columns) -> pd.DataFrame:
    shown = frame.rename(index=INFORMANT_LABELS, columns=columns)
    shown.index.name = None
    return shown


def _method(report) -> list[str]:
    detector = report.settings["detector"]
    return [
        "<h2>How ruptures were found</h2>",
        "<p>Each child's and each therapist's alliance ratings form a time series over the "
        "treatment sessions. A series is analysed when it has at least "
        f"{_esc(detector['min_consecutive'])} consecutive sessions. A session is a "
        "<i>central rupture session</i> when its score falls below the lower control "
        f"limit (first quartile minus {_esc(detector['iqr_multiplier'])} &times; the "
        "interquartile range of the series) while the previous session lies above the "
        "lower-half median, or when the score drops by at least "
        f"{_esc(detector['absolute_sd_multiplier'])} pooled standard deviations from the "
        "previous session. The previous session is the <i>pre-rupture</i> and the next "
        "the <i>post-rupture</i> session. A rupture is <i>repaired</i> when the post "
        "session is at or above the lower-half median, <i>unrepaired</i> when below, and "
        "<i>unresolved</i> when the post session is missing.</p>",
    ]


def _header(report, source) -> list[str]:
    settings = report.settings
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Alliance ruptures: study report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Alliance ruptures and in-session behaviour: study report</h1>",
        f'<p class="small">Made with tukeyrupture {_esc(settings["tukeyrupture_version"])} '
        f"(permanova {_esc(settings['permanova_version'])}). The analysis of the study on "
        "alliance ruptures in child psychotherapy.</p>",
        f"<p><b>Data:</b> {_esc(source)}</p>" if source else "",
    ]
    if report.codes_given:
        parts.append(
            f"<p><b>Permutation tests:</b> {_esc(settings['n_resamples'])} resamples per "
            f"test, seed {_esc(report.seed)} (<code>random_state={_esc(report.seed)}</code> "
            "repeats them).</p>"
        )
    else:
        parts.append(
            "<p>No behaviour codes were given, so no permutation test was run (seed "
            f"{_esc(report.seed)}).</p>"
        )
    parts += _method(report)
    if report.notes:
        parts.append('<div class="note"><b>Notes on the data</b><ul>')
        parts += [f"<li>{_esc(note)}</li>" for note in report.notes]
        parts.append("</ul></div>")
    return parts


def _table1_section(report) -> list[str]:
    return [
        '<h2 id="table1">Table 1. Alliance rupture sequences and rupture types</h2>',
        _table(
            report.formatted_table1(),
            "Frequencies of alliance rupture sequences and rupture types of children and "
            "therapists",
        ),
        '<p class="small">Percentages of series with ruptures are of the analysed series; '
        "percentages of rupture types are of all ruptures. Coded ruptures: sequences whose "
        "pre, central and post sessions were all coded; where a behaviour is missing at one "
        "of them, the number analysed for that behaviour follows in brackets (the sequences "
        'left out are listed under <a href="#exclusions">exclusions</a>).</p>',
        _table(
            _labelled(report.alliance_summary, SUMMARY_LABELS),
            "Alliance scores of the analysed series",
            kind="text",
        ),
    ]


def _exclusions_section(report) -> list[str]:
    """The items-scoring counts and every exclusion, with the rule used."""
    settings = report.settings
    parts = [
        '<h2 id="exclusions">What was scored, imputed and left out</h2>',
        f"<p>Missing items: {_esc(settings['missing_items_rule'])}; otherwise a missing item "
        "is replaced by the mean of the session's answered items (prorating). "
        f"<code>max_missing_items</code> = {_esc(settings['max_missing_items'])}.</p>",
        _table(
            _labelled(report.missing_items, MISSING_ITEMS_LABELS),
            "Alliance session rows by missing items",
        ),
    ]
    if report.exclusions.empty:
        return [*parts, "<p>No session, series or rupture sequence was left out.</p>"]
    caption = "Every session, series and rupture sequence left out of an analysis"
    return [*parts, _table(_display.exclusions(report.exclusions), caption, kind="text")]


def _course_section(report, images) -> list[str]:
    accordance = report.accordance
    both = int(accordance["both"].sum()) if len(accordance) else 0
    central = report.central_sessions.set_index("session").rename(columns=INFORMANT_LABELS)
    shown = accordance.assign(both=accordance["both"].map({True: "yes", False: "no"}))
    return [
        "<h2>Example control charts</h2>",
        *(_figure(name, images[name], report.captions[name]) for name in ("figure1", "figure2")),
        "<h2>Ruptures over the course of treatment</h2>",
        _figure("figure3", images["figure3"], report.captions["figure3"]),
        _table(central.T, "Central rupture sessions per treatment session (columns: session)"),
        f"<p>Accordance: {both} of {len(accordance)} dyads with a rupture have ruptures in "
        "both the child's and the therapist's series.</p>",
        "<details><summary>Dyads with ruptures</summary>"
        + _table(
            shown.rename(columns=ACCORDANCE_LABELS),
            "Central rupture sessions per dyad",
            kind="text",
            index=False,
        )
        + "</details>",
    ]


def _anova_sections(report, images) -> list[str]:
    parts = []
    for number, informant, figures in (
        (2, "child", ("figure4", "figure5")),
        (3, "therapist", ("figure6", "figure7")),
    ):
        whose = WHOSE[informant]
        parts += [
            f'<h2 id="table{number}">Table {number}. In-session behaviour during {whose} '
            "rupture sequences</h2>",
            _table(
                _display.anova(report.anova, informant),
                "Permutation test ANOVAs of positive child involvement and positive "
                f"therapist behavior during {whose} rupture sequences",
                kind="notes",
            ),
            f'<p class="small">{_esc(MARKS_NOTE)} df: effect, error; Total: df = n - 1. '
            "M (SD) per cell of the effect.</p>",
            *(_figure(name, images[name], report.captions[name]) for name in figures),
        ]
    parts.append('<h2 id="posthoc">Post-hoc tests and interaction</h2>')
    if report.posthoc.empty:
        parts.append(
            f"<p>No interaction had p &lt; {_esc(report.settings['alpha'])}: no post-hoc "
            "tests.</p>"
        )
    else:
        parts += [
            _table(
                _display.posthoc(report.posthoc),
                "Central vs post-rupture sessions within each rupture type",
                kind="notes",
            ),
            f'<p class="small">{_esc(MARKS_NOTE)} Marks on the Holm-adjusted p.</p>',
        ]
    parts.append(_figure("figure8", images["figure8"], report.captions["figure8"]))
    return parts


def render(report, images: dict, source: str | None = None) -> str:
    """The whole report as one HTML string."""
    parts = [
        *_header(report, source),
        *_table1_section(report),
        *_exclusions_section(report),
        *_course_section(report, images),
    ]
    if report.codes_given:
        parts += _anova_sections(report, images)
    else:
        parts.append(
            "<p>No behaviour codes were given: the in-session behaviour analyses (Tables 2 "
            "and 3, Figures 4-8 and the post hoc tests) were not run.</p>"
        )
    parts.append('<h2 id="sequences">All rupture sequences</h2>')
    if report.sequences.empty:
        parts.append("<p>No rupture was found.</p>")
    else:
        sequences = _display.sequences(report.sequences, report.codes_given)
        parts.append(_table(sequences, "One row per rupture sequence", kind="text"))
    parts += [
        '<h2 id="settings">Settings used</h2>',
        _table(_display.settings(report.settings), "Settings of this analysis", kind="text"),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
