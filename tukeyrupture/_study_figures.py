"""Figures 1-8 of the study, drawn on matplotlib Figures (no pyplot state)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from tukeyrupture import _study_tables as tables

INFORMANT_COLORS = {"child": "#0072B2", "therapist": "#D55E00"}
TYPE_COLORS = {"repaired": "#009E73", "unrepaired": "#CC79A7"}
ROLE_LABELS = {"pre": "Pre-rupture", "central": "Central rupture", "post": "Post-rupture"}
BEHAVIOUR_LABELS = {
    "positive_child_involvement": "Positive child involvement",
    "positive_therapist_behavior": "Positive therapist behavior",
}
WHOSE = {"child": "children's", "therapist": "therapists'"}
BEHAVIOUR_FIGURES = {
    "figure4": ("child", "positive_child_involvement"),
    "figure5": ("child", "positive_therapist_behavior"),
    "figure6": ("therapist", "positive_child_involvement"),
    "figure7": ("therapist", "positive_therapist_behavior"),
}


def png_bytes(figure: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def format_p(p) -> str:
    """``p = .04`` style (APA: no leading zero), ``p < .001`` for tiny values."""
    if p is None or not np.isfinite(p):
        return "not tested"
    if p < 0.001:
        return "p < .001"
    return "p = " + f"{p:.3f}".lstrip("0")


def _message(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def _example(scores, results, sequences, repair):
    """Informant, row position and sequence of an example rupture with this repair.

    Children first (as in the study); among their ruptures, one found by both criteria,
    else by the TCC criterion, else any; ties go to the first dyad.
    """
    for informant in ("child", "therapist"):
        own = sequences[(sequences["informant"] == informant) & (sequences["repair"] == repair)]
        if own.empty or results.get(informant) is None:
            continue
        # prefer a rupture that meets both criteria, then the TCC one: the clearest charts
        order = own["criterion"].map({"both": 0, "tcc": 1}).fillna(2)
        own = own.assign(_order=order.to_numpy()).sort_values(["_order", "dyad"], kind="stable")
        dyad = own.iloc[0]["dyad"]
        row = int(np.flatnonzero(np.asarray(scores[informant].index) == dyad)[0])
        return informant, row, own.iloc[0]
    return None


def control_chart_figure(scores, results, sequences, repair):
    """Figures 1 and 2: the control chart of a series with a repaired/unrepaired rupture."""
    from tukeyrupture.plotting import plot_control_chart

    figure = Figure(figsize=(9.5, 4.5), layout="constrained")
    ax = figure.add_subplot()
    found = _example(scores, results, sequences, repair)
    if found is None:
        _message(ax, f"No {repair} rupture was found in the data.")
        return figure, f"Example of an alliance time series with an {repair} rupture: none found."
    informant, row, sequence = found
    plot_control_chart(scores[informant].to_numpy(), results[informant], series=row, ax=ax)
    ax.set_title(f"{WHOSE[informant].capitalize()} alliance. " + ax.get_title())
    caption = (
        f"Example of {WHOSE[informant]} alliance time series data with "
        f"{'a' if repair == 'repaired' else 'an'} {repair} rupture sequence "
        f"(dyad {sequence['dyad']}). Treatment sessions "
        f"{_session(sequence['pre_session'])}, {_session(sequence['central_session'])} and "
        f"{_session(sequence['post_session'])} are the pre-rupture, central rupture and "
        "post-rupture sessions."
    )
    return figure, caption


def _session(value):
    return "-" if pd.isna(value) else str(int(value))


def central_sessions_figure(central: pd.DataFrame):
    """Figure 3: distribution of central rupture sessions over treatment, per informant."""
    figure = Figure(figsize=(8.5, 4.0), layout="constrained")
    ax = figure.add_subplot()
    informants = [column for column in central.columns if column != "session"]
    width = 0.8 / max(len(informants), 1)
    sessions = central["session"].to_numpy()
    for i, informant in enumerate(informants):
        ax.bar(
            sessions + (i - (len(informants) - 1) / 2) * width,
            central[informant].to_numpy(),
            width=width,
            color=INFORMANT_COLORS.get(informant, None),
            label=tables.INFORMANT_LABELS.get(informant, informant),
        )
    ax.set_xticks(sessions)
    ax.set_xlabel("Treatment session")
    ax.set_ylabel("Number of central rupture sessions")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(frameon=False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    caption = (
        "Distribution of central rupture sessions based on time series analyses of "
        "children's and therapists' alliance scores."
    )
    return figure, caption


def _p_of(anova, informant, behaviour, comparison, source):
    row = anova[
        (anova["informant"] == informant)
        & (anova["behaviour"] == behaviour)
        & (anova["comparison"] == comparison)
        & (anova["source"] == source)
    ]
    return float(row["p"].iloc[0]) if len(row) else np.nan


def _bracket(ax, x0, x1, y, p):
    mark = tables.stars(p) or ("n.s." if np.isfinite(p) else "")
    if not mark:
        return
    ax.plot([x0, x0, x1, x1], [y, y * 1.02, y * 1.02, y], color="black", linewidth=1)
    ax.text((x0 + x1) / 2, y * 1.03, mark, ha="center", va="bottom")


def behaviour_figure(sequences, anova, informant, behaviour):
    """Figures 4-7: mean (SD) behaviour at pre, central and post sessions with stars."""
    figure = Figure(figsize=(5.5, 4.2), layout="constrained")
    ax = figure.add_subplot()
    own = sequences[sequences["informant"] == informant]
    used = own[tables.analysed_mask(own, behaviour)] if len(own) else own
    label = BEHAVIOUR_LABELS[behaviour]
    title = f"{label} during {WHOSE[informant]} rupture sequences"
    caption = (
        f"{label} during {WHOSE[informant]} rupture sequences: mean and SD over the coded "
        "sequences (post: resolved ruptures only). * p < .1, ** p < .05 (permutation tests: "
        "pre vs central, one-way within-subject ANOVA; central vs post, session effect of "
        "the mixed ANOVA)."
    )
    if used.empty:
        _message(ax, f"{title}:\nno coded rupture sequence.")
        return figure, caption
    values = {
        "pre": used[f"{behaviour}_pre"].to_numpy(dtype=float),
        "central": used[f"{behaviour}_central"].to_numpy(dtype=float),
        "post": used.loc[used["repair"] != "unresolved", f"{behaviour}_post"].to_numpy(
            dtype=float
        ),
    }
    means = [v.mean() if v.size else np.nan for v in values.values()]
    sds = [v.std(ddof=1) if v.size > 1 else 0.0 for v in values.values()]
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
    top = np.nanmax(np.asarray(means) + np.asarray(sds))
    top = top if np.isfinite(top) and top > 0 else 1.0
    p_pre = _p_of(anova, informant, behaviour, "pre vs central", "Session")
    p_post = _p_of(anova, informant, behaviour, "central vs post", "Session")
    _bracket(ax, 0, 0.95, top * 1.05, p_pre)
    _bracket(ax, 1.05, 2, top * 1.05, p_post)
    ax.set_ylim(0, top * 1.25)
    ax.set_title(title, fontsize="medium")
    return figure, caption


def interaction_figure(sequences, anova, informants, behaviours):
    """Figure 8: rupture type x session (central, post) means for every ANOVA."""
    figure = Figure(figsize=(9.5, 7.0), layout="constrained")
    axes = figure.subplots(len(informants), len(behaviours), squeeze=False)
    for i, informant in enumerate(informants):
        own = sequences[sequences["informant"] == informant]
        for j, behaviour in enumerate(behaviours):
            ax = axes[i, j]
            data = tables.mixed_data(own, behaviour) if len(own) else pd.DataFrame()
            p = _p_of(anova, informant, behaviour, "central vs post", "Session x Rupture type")
            title = (
                f"{BEHAVIOUR_LABELS[behaviour]},\n{WHOSE[informant]} ruptures: "
                f"interaction {format_p(p)}{tables.stars(p)}"
            )
            if data.empty:
                ax.set_title(title, fontsize="small")
                _message(ax, "no coded resolved rupture sequence")
                continue
            for k, kind in enumerate(("repaired", "unrepaired")):
                part = data[data["type"] == kind]
                if part.empty:
                    continue
                grouped = part.groupby("session")["value"]
                means = grouped.mean().reindex(["central", "post"])
                sds = grouped.std(ddof=1).reindex(["central", "post"]).fillna(0.0)
                n = part["subject"].nunique()
                ax.errorbar(
                    np.array([0, 1]) + (k - 0.5) * 0.06,
                    means.to_numpy(),
                    yerr=sds.to_numpy(),
                    marker="o",
                    capsize=4,
                    color=TYPE_COLORS[kind],
                    label=f"{kind.capitalize()} (n = {n})",
                )
            ax.set_xticks([0, 1], ["Central rupture", "Post-rupture"])
            ax.set_xlim(-0.4, 1.4)
            ax.set_ylabel(BEHAVIOUR_LABELS[behaviour])
            ax.set_title(title, fontsize="small")
            ax.legend(frameon=False, fontsize="small")
    caption = (
        "Interaction between session type (central vs post-rupture) and rupture type "
        "(repaired vs unrepaired): mean and SD of each behaviour during children's (top) "
        "and therapists' (bottom) rupture sequences; the panel titles give the permutation "
        "p-value of the interaction (* p < .1, ** p < .05)."
    )
    return figure, caption


def build_figures(*, scores, results, sequences, central, anova):
    """All eight figures and their captions, keyed ``figure1`` ... ``figure8``."""
    figures, captions = {}, {}
    for name, repair in (("figure1", "repaired"), ("figure2", "unrepaired")):
        figures[name], captions[name] = control_chart_figure(scores, results, sequences, repair)
    figures["figure3"], captions["figure3"] = central_sessions_figure(central)
    for name, (informant, behaviour) in BEHAVIOUR_FIGURES.items():
        figures[name], captions[name] = behaviour_figure(sequences, anova, informant, behaviour)
    figures["figure8"], captions["figure8"] = interaction_figure(
        sequences, anova, ("child", "therapist"), tuple(BEHAVIOUR_LABELS)
    )
    return figures, captions
