"""The self-contained HTML report of a StudyReport (figures embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
import re

import numpy as np
import pandas as pd

from tukeyrupture._study_figures import BEHAVIOUR_LABELS, format_p
from tukeyrupture._study_tables import INFORMANT_LABELS

SUMMARY_LABELS = {
    "scale": "Scale",
    "series": "Series",
    "series_analysed": "Series analysed",
    "sessions_observed": "Sessions (analysed series)",
    "alliance_mean": "Mean alliance",
    "alliance_sd": "SD",
    "pooled_sd": "Pooled SD (absolute criterion)",
}
ACCORDANCE_LABELS = {
    "dyad": "Dyad",
    "child_central_sessions": "Child's central sessions",
    "therapist_central_sessions": "Therapist's central sessions",
    "both": "Both",
}
MISSING_ITEMS_LABELS = {
    "session_rows": "Session rows",
    "complete": "All items answered",
    "prorated": "Prorated (imputed)",
    "set_missing": "Set missing (too many items missing)",
    "unanswered": "No item answered",
}
EXCLUSION_LABELS = {
    "informant": "Informant",
    "excluded_from": "Left out of",
    "behaviour": "Behaviour",
    "unit": "Unit",
    "n": "n",
    "reason": "Reason",
    "examples": "Which (first ones)",
}
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.1em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { padding: 0.3em 0.7em; text-align: right; border-bottom: 1px solid #e3e3e3; }
th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
.wide { overflow-x: auto; }
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


def _number(value, digits=2) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)


_NUMBER_LIKE = re.compile(r"^[\d.,%()/ <=p-]*$")


def _is_text(column: pd.Series) -> bool:
    """Left-align words; right-align numbers, counts, percentages and p-values."""
    if pd.api.types.is_bool_dtype(column):
        return True
    if pd.api.types.is_numeric_dtype(column):
        return False
    return not column.dropna().astype(str).str.match(_NUMBER_LIKE).all()


def _table(frame: pd.DataFrame, caption: str = "", index: bool = False, digits=2) -> str:
    """A DataFrame as an HTML table; numbers right-aligned, text left-aligned."""
    if index:
        frame = frame.reset_index()
    text_columns = {column: _is_text(frame[column]) for column in frame.columns}
    head = "".join(
        f'<th class="{"text" if text_columns[c] else "num"}">{_esc(c)}</th>' for c in frame.columns
    )
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row):
            numeric = pd.api.types.is_numeric_dtype(frame[column]) and not isinstance(
                value, (bool, np.bool_)
            )
            if isinstance(value, (bool, np.bool_)):
                text = "yes" if value else "no"
            elif numeric:
                text = _number(value, digits)
            else:
                text = "" if pd.isna(value) else str(value)
            cells.append(
                f'<td class="{"text" if text_columns[column] else "num"}">{_esc(text)}</td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{_esc(caption)}</caption>" if caption else ""
    return (
        f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>" + "".join(body) + "</tbody></table>"
    )


def _figure(name: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    number = name.replace("figure", "")
    return (
        f'<figure id="{name}"><img alt="Figure {number}" src="data:image/png;base64,{data}">'
        f"<figcaption><b>Figure {number}.</b> {_esc(caption)}</figcaption></figure>"
    )


def _cells(row) -> str:
    """``pre 10.8 (2.97); central 12.8 (2.30)``: the effect's cell means and SDs."""
    parts = []
    for column in row.index:
        if column.startswith("M_") and pd.notna(row[column]):
            cell = column[2:]
            sd = row.get(f"SD_{cell}")
            sd_text = f" ({sd:.2f})" if pd.notna(sd) else ""
            parts.append(f"{cell.replace('_', ' ')} {row[column]:.2f}{sd_text}")
    return "; ".join(parts)


def anova_display(anova: pd.DataFrame, informant: str) -> pd.DataFrame:
    """Table 2/3 layout: behaviour, comparison, source, df, F, p, M (SD) per cell."""
    own = anova[anova["informant"] == informant]
    rows = []
    for _, row in own.iterrows():
        total = row["source"] == "Total"
        rows.append(
            {
                "Behaviour": BEHAVIOUR_LABELS.get(row["behaviour"], row["behaviour"]),
                "Comparison": row["comparison"],
                "Source": row["source"],
                "df": _number(row["df"], 0) if total else _df(row),
                "F": _number(row["F"], 2),
                "p": "" if total else (format_p(row["p"]) + row["stars"]),
                "n": _number(row["n"], 0),
                "M (SD) per cell": "" if total else _cells(row),
                "Note": "" if total else row["note"],
            }
        )
    return pd.DataFrame(rows)


def _df(row) -> str:
    if pd.isna(row["df"]):
        return ""
    return f"{int(row['df'])}, {int(row['df_error'])}"


def posthoc_display(posthoc: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, row in posthoc.iterrows():
        rows.append(
            {
                "Informant": INFORMANT_LABELS.get(row["informant"], row["informant"]),
                "Behaviour": BEHAVIOUR_LABELS.get(row["behaviour"], row["behaviour"]),
                "Rupture type": row["rupture_type"],
                "Comparison": row["comparison"],
                "n": _number(row["n"], 0),
                "df": "" if pd.isna(row["df"]) else f"1, {int(row['df_error'])}",
                "F": _number(row["F"], 2),
                "p": format_p(row["p"]),
                "p (Holm)": format_p(row["p_holm"]) + row["stars"],
                "M (SD) central": _msd(row["M_central"], row["SD_central"]),
                "M (SD) post": _msd(row["M_post"], row["SD_post"]),
                "Note": row["note"],
            }
        )
    return pd.DataFrame(rows)


def _msd(mean, sd) -> str:
    if pd.isna(mean):
        return ""
    return f"{mean:.2f}" + (f" ({sd:.2f})" if pd.notna(sd) else "")


def _sequences_display(sequences: pd.DataFrame) -> pd.DataFrame:
    if sequences.empty:
        return pd.DataFrame({"": ["No rupture was found."]})
    frame = sequences.copy()
    frame["informant"] = frame["informant"].map(INFORMANT_LABELS)
    frame["coded"] = frame["coded"].map({True: "yes", False: "no"})
    for column in ("pre_session", "central_session", "post_session"):
        frame[column] = frame[column].map(lambda v: "" if pd.isna(v) else str(int(v)))
    return frame.drop(columns=["sequence", "score"])


def _exclusions_section(report) -> list[str]:
    """The items-scoring counts and every exclusion, with the rule used."""
    settings = report.settings
    parts = [
        '<h2 id="exclusions">What was scored, imputed and left out</h2>',
        f"<p>Missing items: {_esc(settings['missing_items_rule'])}; otherwise a missing item "
        "is replaced by the mean of the session's answered items (prorating). "
        f"<code>max_missing_items</code> = {_esc(settings['max_missing_items'])}.</p>",
    ]
    scoring = report.missing_items.rename(index=INFORMANT_LABELS, columns=MISSING_ITEMS_LABELS)
    scoring.index.name = ""
    parts.append(_table(scoring, "Alliance session rows by missing items", index=True))
    if report.exclusions.empty:
        parts.append("<p>No session, series or rupture sequence was left out.</p>")
        return parts
    frame = report.exclusions.assign(
        informant=report.exclusions["informant"].map(INFORMANT_LABELS),
        behaviour=report.exclusions["behaviour"].map(lambda b: BEHAVIOUR_LABELS.get(b, "all")),
    ).rename(columns=EXCLUSION_LABELS)
    parts.append(
        '<div class="wide">'
        + _table(frame, "Every session, series and rupture sequence left out of an analysis")
        + "</div>"
    )
    return parts


def render(report, images: dict, source: str | None = None) -> str:
    """The whole report as one HTML string."""
    settings = report.settings
    version = settings.get("tukeyrupture_version", "")
    detector = settings["detector"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Alliance ruptures: study report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>Alliance ruptures and in-session behaviour: study report</h1>",
        f'<p class="small">Made with tukeyrupture {_esc(version)} (permanova '
        f"{_esc(settings.get('permanova_version', ''))}). The analysis of the study on "
        "alliance ruptures in child psychotherapy.</p>",
        f"<p><b>Data:</b> {_esc(source)}</p>" if source else "",
        f"<p><b>Permutation tests:</b> {_esc(settings['n_resamples'])} resamples per test, "
        f"seed {_esc(report.seed)} (<code>random_state={_esc(report.seed)}</code> repeats "
        "them).</p>",
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
    if report.notes:
        parts.append('<div class="note"><b>Notes on the data</b><ul>')
        parts += [f"<li>{_esc(note)}</li>" for note in report.notes]
        parts.append("</ul></div>")

    parts.append('<h2 id="table1">Table 1. Alliance rupture sequences and rupture types</h2>')
    parts.append(
        _table(
            report.formatted_table1(),
            "Frequencies of alliance rupture sequences and rupture types of children and "
            "therapists",
            index=True,
        )
    )
    parts.append(
        '<p class="small">Percentages of series with ruptures are of the analysed series; '
        "percentages of rupture types are of all ruptures. Coded ruptures: sequences whose "
        "pre, central and post sessions were all coded; where a behaviour is missing at one "
        "of them, the number analysed for that behaviour follows in brackets (the sequences "
        'left out are listed under <a href="#exclusions">exclusions</a>).</p>'
    )
    summary = report.alliance_summary.rename(index=INFORMANT_LABELS, columns=SUMMARY_LABELS)
    summary.index.name = ""
    parts.append(_table(summary, "Alliance scores of the analysed series", index=True))
    parts += _exclusions_section(report)

    parts.append("<h2>Example control charts</h2>")
    for name in ("figure1", "figure2"):
        parts.append(_figure(name, images[name], report.captions[name]))

    parts.append("<h2>Ruptures over the course of treatment</h2>")
    parts.append(_figure("figure3", images["figure3"], report.captions["figure3"]))
    central = report.central_sessions.rename(columns=INFORMANT_LABELS)
    parts.append(_table(central, "Central rupture sessions per treatment session"))
    both = int(report.accordance["both"].sum()) if len(report.accordance) else 0
    parts.append(
        f"<p>Accordance: {both} of {len(report.accordance)} dyads with a rupture have "
        "ruptures in both the child's and the therapist's series.</p>"
    )
    parts.append(
        "<details><summary>Dyads with ruptures</summary>"
        + _table(
            report.accordance.rename(columns=ACCORDANCE_LABELS),
            "Central rupture sessions per dyad",
        )
        + "</details>"
    )

    for number, informant, figures in (
        (2, "child", ("figure4", "figure5")),
        (3, "therapist", ("figure6", "figure7")),
    ):
        whose = "children's" if informant == "child" else "therapists'"
        parts.append(
            f'<h2 id="table{number}">Table {number}. In-session behaviour during {whose} '
            "rupture sequences</h2>"
        )
        parts.append(
            _table(
                anova_display(report.anova, informant),
                f"Permutation test ANOVAs of positive child involvement and positive "
                f"therapist behavior during {whose} rupture sequences",
            )
        )
        parts.append('<p class="small">* p &lt; .1, ** p &lt; .05. df: effect, error.</p>')
        for name in figures:
            parts.append(_figure(name, images[name], report.captions[name]))

    parts.append('<h2 id="posthoc">Post-hoc tests and interaction</h2>')
    if report.posthoc.empty:
        parts.append(
            f"<p>No interaction had p &lt; {_esc(settings['alpha'])}: no post-hoc tests.</p>"
        )
    else:
        parts.append(
            _table(
                posthoc_display(report.posthoc),
                "Central vs post-rupture sessions within each rupture type",
            )
        )
    parts.append(_figure("figure8", images["figure8"], report.captions["figure8"]))

    parts.append('<h2 id="sequences">All rupture sequences</h2>')
    parts.append(
        '<div class="wide">' + _table(_sequences_display(report.sequences), digits=2) + "</div>"
    )

    parts.append('<h2 id="settings">Settings used</h2>')
    parts.append(_table(_settings_display(settings), "Settings of this analysis"))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _settings_display(settings) -> pd.DataFrame:
    """Settings as two text columns, nested mappings flattened (``detector: k``)."""
    rows = []
    for key, value in settings.items():
        if hasattr(value, "items"):
            for inner, item in value.items():
                rows.append({"Setting": f"{key}: {inner}", "Value": _setting(item)})
        else:
            rows.append({"Setting": key, "Value": _setting(value)})
    return pd.DataFrame(rows)


def _setting(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "NaN" if not np.isfinite(value) else f"{value:.4g}"
    return "None" if value is None else str(value)
