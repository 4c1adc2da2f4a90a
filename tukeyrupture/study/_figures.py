"""Stage 5 of the study: Figures 1-8, drawn from a StudyReport alone (no pyplot state)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tukeyrupture.study._inputs import BEHAVIOURS, INFORMANTS, REPAIRS, ROLES
from tukeyrupture.study._labels import (
    BEHAVIOUR_LABELS,
    INFORMANT_LABELS,
    MARKS_NOTE,
    REPAIR_LABELS,
    ROLE_LABELS,
    WHOSE,
    format_p,
    mark,
    sessions_text,
)

INFORMANT_COLORS = {"child": "#0072B2", "therapist": "#D55E00"}
TYPE_COLORS = {"repaired": "#009E73", "unrepaired": "#CC79A7"}
BEHAVIOUR_FIGURES = {
    f"figure{4 + i}": (informant, behaviour)
    for i, (informant, behaviour) in enumerate((i, b) for i in INFORMANTS for b in BEHAVIOURS)
}


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _message(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def _example(report, repair):
    """The sequence row of an example rupture with this repair, or None.

    Children first (as in the study); among their ruptures, one found by both criteria,
    else by the TCC criterion, else any (the clearest charts); ties go to the first dyad.
    """
    sequences = report.sequences
    for informant in INFORMANTS:
        own = sequences[(sequences["informant"] == informant) & (sequences["repair"] == repair)]
        if own.empty or report.results.get(informant) is None:
            continue
        order = own["criterion"].map({"both": 0, "tcc": 1}).fillna(2)
        own = own.assign(_order=order.to_numpy()).sort_values(["_order", "dyad"], kind="stable")
        return own.iloc[0]
    return None


def _chart_caption(report, repair) -> str:
    sequence = _example(report, repair)
    if sequence is None:
        return f"Example of an alliance time series with an {repair} rupture: none found."
    whose = WHOSE[sequence["informant"]]
    sessions = sessions_text(*(sequence[f"{r}_session"] for r in ROLES)).split(", ")
    return (
        f"Example of {whose} alliance time series data with "
        f"{'a' if repair == 'repaired' else 'an'} {repair} rupture sequence "
        f"(dyad {sequence['dyad']}). Treatment sessions {sessions[0]}, {sessions[1]} and "
        f"{sessions[2]} are the pre-rupture, central rupture and post-rupture sessions. "
        "Where two lines coincide (e.g. the median and the lower-half median) the later "
        "one is drawn dashed over the first and its legend entry says so."
    )


def control_chart_figure(report, repair) -> Figure:
    """Figures 1 and 2: the control chart of a series with a repaired/unrepaired rupture."""
    from tukeyrupture.plotting import plot_control_chart

    figure = Figure(figsize=(9.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    sequence = _example(report, repair)
    if sequence is None:
        _message(ax, f"No {repair} rupture was found in the data.")
        return figure
    informant = sequence["informant"]
    scores = report.scores[informant]
    row = int(np.flatnonzero(np.asarray(scores.index) == sequence["dyad"])[0])
    plot_control_chart(scores.to_numpy(), report.results[informant], series=row, ax=ax)
    ax.set_title(f"{WHOSE[informant].capitalize()} alliance. " + ax.get_title())
    return figure


def central_sessions_figure(central: pd.DataFrame) -> Figure:
    """Figure 3: distribution of central rupture sessions over treatment, per informant."""
    figure = Figure(figsize=(8.5, 4.0), layout="constrained")
    ax = figure.add_subplot()
    width = 0.8 / len(INFORMANTS)
    sessions = central["session"].to_numpy()
    for i, informant in enumerate(INFORMANTS):
        ax.bar(
            sessions + (i - (len(INFORMANTS) - 1) / 2) * width,
            central[informant].to_numpy(),
            width=width,
            color=INFORMANT_COLORS[informant],
            label=INFORMANT_LABELS[informant],
        )
    ax.set_xticks(sessions)
    ax.set_xlabel("Treatment session")
    ax.set_ylabel("Number of central rupture sessions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return figure


def _p_of(report, informant, behaviour, comparison, effect) -> float:
    anova = report.anova
    row = anova[
        (anova["informant"] == informant)
        & (anova["behaviour"] == behaviour)
        & (anova["comparison"] == comparison)
        & (anova["effect"] == effect)
    ]
    return float(row["p_permutation"].iloc[0]) if len(row) else np.nan


def _test_data(report, informant, behaviour, comparison) -> pd.DataFrame:
    data = report.anova_data
    return data[
        (data["informant"] == informant)
        & (data["behaviour"] == behaviour)
        & (data["comparison"] == comparison)
    ]


def _bracket(ax, x0, x1, y, p):
    text = mark(p) or ("n.s." if np.isfinite(p) else "")
    if not text:
        return
    ax.plot([x0, x0, x1, x1], [y, y * 1.02, y * 1.02, y], color="black", linewidth=1)
    ax.text((x0 + x1) / 2, y * 1.03, text, ha="center", va="bottom")


def _role_values(report, informant, behaviour) -> dict[str, np.ndarray]:
    """Pre and central of the pre vs central test, post of the central vs post test."""
    pre_central = _test_data(report, informant, behaviour, "pre vs central")
    central_post = _test_data(report, informant, behaviour, "central vs post")
    sources = {"pre": pre_central, "central": pre_central, "post": central_post}
    return {
        role: data.loc[data["session"] == role, "value"].to_numpy(dtype=float)
        for role, data in sources.items()
    }


def behaviour_figure(report, informant, behaviour) -> Figure:
    """Figures 4-7: mean (SD) behaviour at pre, central and post sessions with marks."""
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = figure.add_subplot()
    label = BEHAVIOUR_LABELS[behaviour]
    title = f"{label} during {WHOSE[informant]} rupture sequences"
    values = _role_values(report, informant, behaviour)
    if not values["pre"].size:
        _message(ax, f"{title}:\nno coded rupture sequence.")
        return figure
    means = np.array([v.mean() if v.size else np.nan for v in values.values()])
    sds = np.array([v.std(ddof=1) if v.size > 1 else 0.0 for v in values.values()])
    positions = np.arange(3)
    ax.bar(
        positions,
        means,
        yerr=sds,
        capsize=5,
        color=["#bbbbbb", INFORMANT_COLORS[informant], "#bbbbbb"],
        edgecolor="black",
        linewidth=0.8,
    )
    ax.set_xticks(positions, [f"{ROLE_LABELS[r]}\n(n = {v.size})" for r, v in values.items()])
    ax.set_ylabel(label)
    top = np.nanmax(means + sds)
    top = top if np.isfinite(top) and top > 0 else 1.0
    p_pre = _p_of(report, informant, behaviour, "pre vs central", "session")
    p_post = _p_of(report, informant, behaviour, "central vs post", "session")
    _bracket(ax, 0, 0.95, top * 1.05, p_pre)
    _bracket(ax, 1.05, 2, top * 1.05, p_post)
    ax.set_ylim(0, top * 1.25)
    ax.set_title(title, fontsize="medium")
    return figure


def _interaction_panel(ax, report, informant, behaviour):
    data = _test_data(report, informant, behaviour, "central vs post")
    p = _p_of(report, informant, behaviour, "central vs post", "type:session")
    title = (
        f"{BEHAVIOUR_LABELS[behaviour]},\n{WHOSE[informant]} ruptures: "
        f"interaction {format_p(p)}{mark(p)}"
    )
    ax.set_title(title, fontsize="small")
    if data.empty:
        _message(ax, "no coded resolved rupture sequence")
        return
    for k, kind in enumerate(REPAIRS):
        part = data[data["type"] == kind]
        if part.empty:
            continue
        grouped = part.groupby("session")["value"]
        means = grouped.mean().reindex(["central", "post"])
        sds = grouped.std(ddof=1).reindex(["central", "post"]).fillna(0.0)
        ax.errorbar(
            np.array([0, 1]) + (k - 0.5) * 0.06,
            means.to_numpy(),
            yerr=sds.to_numpy(),
            marker="o",
            capsize=4,
            color=TYPE_COLORS[kind],
            label=f"{REPAIR_LABELS[kind]} (n = {part['subject'].nunique()})",
        )
    ax.set_xticks([0, 1], [ROLE_LABELS["central"], ROLE_LABELS["post"]])
    ax.set_xlim(-0.4, 1.4)
    ax.set_ylabel(BEHAVIOUR_LABELS[behaviour])
    ax.legend(frameon=False, fontsize="small")


def interaction_figure(report) -> Figure:
    """Figure 8: rupture type x session (central, post) means for every mixed ANOVA."""
    figure = Figure(figsize=(9.5, 7.0), layout="constrained")
    axes = figure.subplots(len(INFORMANTS), len(BEHAVIOURS), squeeze=False)
    for i, informant in enumerate(INFORMANTS):
        for j, behaviour in enumerate(BEHAVIOURS):
            _interaction_panel(axes[i, j], report, informant, behaviour)
    return figure


def captions(report) -> dict[str, str]:
    """The caption of every figure the report has (1-3 without codes, else 1-8)."""
    texts = {
        "figure1": _chart_caption(report, "repaired"),
        "figure2": _chart_caption(report, "unrepaired"),
        "figure3": (
            "Distribution of central rupture sessions based on time series analyses of "
            "children's and therapists' alliance scores."
        ),
    }
    if not report.codes_given:
        return texts
    for name, (informant, behaviour) in BEHAVIOUR_FIGURES.items():
        texts[name] = (
            f"{BEHAVIOUR_LABELS[behaviour]} during {WHOSE[informant]} rupture sequences: "
            "mean and SD over the coded sequences (post: resolved ruptures only). Marks: "
            f"{MARKS_NOTE} Pre vs central: one-way within-subject ANOVA; central vs post: "
            "session effect of the mixed ANOVA; n.s.: p >= .10."
        )
    texts["figure8"] = (
        "Interaction between session type (central vs post-rupture) and rupture type "
        "(repaired vs unrepaired): mean and SD of each behaviour during children's (top) "
        "and therapists' (bottom) rupture sequences; the panel titles give the permutation "
        f"p-value of the interaction. Marks: {MARKS_NOTE}"
    )
    return texts


def build_figures(report) -> dict[str, Figure]:
    """Every figure of the report, keyed ``figure1`` ... (the keys of :func:`captions`)."""
    figures = {
        "figure1": control_chart_figure(report, "repaired"),
        "figure2": control_chart_figure(report, "unrepaired"),
        "figure3": central_sessions_figure(report.central_sessions),
    }
    if report.codes_given:
        for name, (informant, behaviour) in BEHAVIOUR_FIGURES.items():
            figures[name] = behaviour_figure(report, informant, behaviour)
        figures["figure8"] = interaction_figure(report)
    return figures
