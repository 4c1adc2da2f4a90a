"""Cross-checks of ``permanova.aovperm`` against independent implementations.

Oracles:

* between-subjects designs: statsmodels ``anova_lm(ols(y ~ C(a, Sum) * ...), typ=3)``
  (sum-to-zero coding, type III), balanced and unbalanced;
* within-subject designs: pingouin ``rm_anova`` and statsmodels ``AnovaRM`` (no sphericity
  correction: permuco's parametric F is the classical ``Error(subject/within)`` F);
* balanced mixed designs: pingouin ``mixed_anova``; unbalanced mixed designs: the type III
  stratum analysis computed with statsmodels on orthonormal within-subject contrasts (pingouin
  weights the groups by their size, permuco does not, so pingouin is only an oracle when the
  groups are balanced);
* exact permutation p-values: ``scipy.stats.permutation_test(..., n_resamples=np.inf)``;
* posthoc: scipy's t-tests (F = t^2), scipy's exact two-sample permutation test and
  statsmodels' Holm adjustment.
"""

import itertools
import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
import statsmodels.formula.api as smf
from scipy import linalg, stats
from statsmodels.stats.anova import AnovaRM, anova_lm
from statsmodels.stats.multitest import multipletests

import permanova

BETWEEN_METHODS = [
    "freedman_lane",
    "manly",
    "ter_braak",
    "kennedy",
    "huh_jhun",
    "dekker",
    "draper_stoneman",
]
WITHIN_METHODS = [
    "rd_kheradpajouh_renaud",
    "rde_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
]
RTOL = 1e-8


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def _row(table, effect):
    """Row of ``table`` for ``effect`` whatever the order of the factors in its name."""
    parts = effect.split(":")
    for order in itertools.permutations(parts):
        name = ":".join(order)
        if name in table.index:
            return table.loc[name]
    raise AssertionError(f"effect {effect!r} not in table index {list(table.index)}")


def _close(got, expected, what, rtol=RTOL, atol=1e-12):
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=what)


def _between_frame(cells, seed, effects=None):
    """Long frame with one row per observation; ``cells`` maps a level tuple to a count."""
    rng = np.random.default_rng(seed)
    rows = []
    for levels, count in cells.items():
        shift = 0.0 if effects is None else effects.get(levels, 0.0)
        for _ in range(count):
            rows.append((*levels, 50.0 + shift + 10.0 * rng.standard_normal()))
    n_factors = len(next(iter(cells)))
    names = ["A", "B", "D"][:n_factors]  # "C" would shadow patsy's C()
    frame = pd.DataFrame(rows, columns=[*names, "y"])
    # shuffle the rows: the row order of the input must not matter
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True), names


def _statsmodels_between(frame, factors):
    rhs = " * ".join(f"C({f}, Sum)" for f in factors)
    fit = smf.ols(f"y ~ {rhs}", data=frame).fit()
    table = anova_lm(fit, typ=3)
    out = {}
    for name, row in table.iterrows():
        if name in ("Intercept", "Residual"):
            continue
        effect = ":".join(part[2 : part.index(",")] for part in name.split(":"))
        out[effect] = row
    return out, table.loc["Residual"]


def _within_frame(n_subjects, within_levels, seed, between_sizes=None):
    """Complete repeated-measures frame: one row per subject and within cell.

    ``within_levels`` maps each within factor to its number of levels; ``between_sizes`` (one
    between factor "type") gives the number of subjects per group.
    """
    rng = np.random.default_rng(seed)
    factors = list(within_levels)
    cells = list(itertools.product(*[range(k) for k in within_levels.values()]))
    cell_effect = dict(zip(cells, rng.normal(0.0, 2.0, len(cells)), strict=True))
    groups = []
    if between_sizes is not None:
        for g, size in enumerate(between_sizes):
            groups += [f"grp{g}"] * size
        n_subjects = len(groups)
    rows = []
    for s in range(n_subjects):
        subject_effect = rng.normal(0.0, 5.0)
        group = groups[s] if groups else None
        group_shift = 0.0 if group is None else 1.5 * int(group[-1])
        for cell in cells:
            y = 40.0 + subject_effect + group_shift + cell_effect[cell] + rng.normal(0.0, 3.0)
            row = {"subject": f"s{s:02d}", "y": y}
            if group is not None:
                row["type"] = group
            for factor, level in zip(factors, cell, strict=True):
                row[factor] = f"{factor}{level}"
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _mixed_frame(between_cells, within_levels, seed):
    """Repeated-measures frame; ``between_cells`` maps a tuple of between levels (factors
    "type", "site") to its number of subjects, ``within_levels`` a within factor to its
    number of levels. Shuffled rows."""
    rng = np.random.default_rng(seed)
    names = ["type", "site"][: len(next(iter(between_cells)))]
    factors = list(within_levels)
    cells = list(itertools.product(*[range(k) for k in within_levels.values()]))
    rows = []
    subject = 0
    for levels, count in between_cells.items():
        shift = rng.normal(0.0, 3.0)
        cell_effect = rng.normal(0.0, 2.0, len(cells))
        for _ in range(count):
            base = 40.0 + shift + rng.normal(0.0, 5.0)
            for c, cell in enumerate(cells):
                row = {"subject": f"s{subject:02d}", "y": base + cell_effect[c] + rng.normal()}
                row.update(zip(names, levels, strict=True))
                row.update((f, f"{f}{level}") for f, level in zip(factors, cell, strict=True))
                rows.append(row)
            subject += 1
    frame = pd.DataFrame(rows)
    return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True), names


def _stratum_oracle(frame, within, between):
    """Type III ANOVA of a repeated-measures design, stratum by stratum, with statsmodels.

    ``within`` and ``between`` are lists of factors. Each subject's cell values (one per
    within cell) are projected on orthonormal contrasts: for a within effect ``E`` the
    Kronecker product of Helmert contrasts of the factors in ``E`` and normalised constant
    vectors of the others (for ``E`` empty: the subject totals / sqrt(n_cells)). Each contrast
    is regressed on the sum-coded between factors (``anova_lm(typ=3)``): the intercept row is
    the within effect ``E``, a between term ``T`` the interaction ``T:E`` and the residual
    the error of the stratum ``subject:E``; sums over the contrasts of ``E`` give the
    univariate (``Error(subject/within)``) sums of squares. With unbalanced groups this is
    permuco's convention (unweighted, type III), not pingouin's (weighted).
    """
    levels = {f: sorted(frame[f].unique()) for f in within}
    wide = frame.pivot_table(index="subject", columns=within, values="y", aggfunc="first")
    cells = (
        pd.MultiIndex.from_product([levels[f] for f in within])
        if len(within) > 1
        else pd.Index(levels[within[0]])
    )
    wide = wide.reindex(columns=cells)  # C order: the last within factor varies fastest
    assert not wide.isna().any().any()
    values = wide.to_numpy()
    groups = frame.groupby("subject")[between].first().loc[wide.index]
    rhs = " * ".join(f"C({f}, Sum)" for f in between) or "1"

    def type3(v):
        sub = groups.reset_index(drop=True).assign(v=v)
        return anova_lm(smf.ols(f"v ~ {rhs}", data=sub).fit(), typ=3)

    def term_name(row_name):
        if row_name == "Intercept":
            return ()
        return tuple(part[2 : part.index(",")] for part in row_name.split(":"))

    table = {}
    for r in range(len(within) + 1):
        for subset in itertools.combinations(within, r):
            contrast = np.ones((1, 1))
            for f in within:
                k = len(levels[f])
                block = linalg.helmert(k).T if f in subset else np.ones((k, 1)) / np.sqrt(k)
                contrast = np.kron(contrast, block)
            fits = [type3(values @ contrast[:, j]) for j in range(contrast.shape[1])]
            ss = sum(t["sum_sq"] for t in fits)
            df = sum(t["df"] for t in fits)
            for name in ss.index:
                if name == "Residual" or (name == "Intercept" and not subset):
                    continue
                effect = ":".join(term_name(name) + subset)
                f_value = (ss[name] / df[name]) / (ss["Residual"] / df["Residual"])
                table[effect] = {
                    "df": df[name],
                    "df_error": df["Residual"],
                    "SS": ss[name],
                    "SS_error": ss["Residual"],
                    "F": f_value,
                    "p_parametric": stats.f.sf(f_value, df[name], df["Residual"]),
                }
    return table


def _f_oneway_stat(*samples, axis=-1):
    return stats.f_oneway(*samples, axis=axis).statistic


def _rm_f_stat(*samples, axis=-1):
    """Classical one-way repeated-measures F; sample j holds condition j for every subject."""
    y = np.stack([np.moveaxis(s, axis, -1) for s in samples], axis=-2)  # (..., k, n_subjects)
    k, n = y.shape[-2:]
    grand = y.mean(axis=(-2, -1), keepdims=True)
    ss_cond = n * ((y.mean(axis=-1, keepdims=True) - grand) ** 2).sum(axis=(-2, -1))
    ss_subj = k * ((y.mean(axis=-2, keepdims=True) - grand) ** 2).sum(axis=(-2, -1))
    ss_err = ((y - grand) ** 2).sum(axis=(-2, -1)) - ss_cond - ss_subj
    return (ss_cond / (k - 1)) / (ss_err / ((k - 1) * (n - 1)))


# --------------------------------------------------------------------------------------------
# between-subjects designs vs statsmodels type III
# --------------------------------------------------------------------------------------------
BETWEEN_DESIGNS = {
    "oneway_balanced": ({("a1",): 6, ("a2",): 6, ("a3",): 6}, {("a2",): 8.0}),
    "oneway_unbalanced": ({("a1",): 4, ("a2",): 9, ("a3",): 6, ("a4",): 3}, {("a3",): -6.0}),
    "twoway_balanced": (
        {(a, b): 4 for a in ("a1", "a2") for b in ("b1", "b2", "b3")},
        {("a1", "b2"): 9.0, ("a2", "b3"): -4.0},
    ),
    "twoway_unbalanced": (
        {
            ("a1", "b1"): 3,
            ("a1", "b2"): 7,
            ("a1", "b3"): 4,
            ("a2", "b1"): 6,
            ("a2", "b2"): 2,
            ("a2", "b3"): 5,
        },
        {("a1", "b2"): 9.0, ("a2", "b1"): 5.0},
    ),
    "threeway_unbalanced": (
        {
            (a, b, c): 2 + (i * 7 + 3) % 4
            for i, (a, b, c) in enumerate(
                itertools.product(("a1", "a2"), ("b1", "b2"), ("c1", "c2", "c3"))
            )
        },
        {("a1", "b1", "c2"): 12.0, ("a2", "b2", "c3"): -7.0},
    ),
}


@pytest.mark.parametrize("design", list(BETWEEN_DESIGNS))
def test_between_matches_statsmodels_type3(design):
    cells, effects = BETWEEN_DESIGNS[design]
    frame, factors = _between_frame(cells, seed=11, effects=effects)
    expected, residual = _statsmodels_between(frame, factors)
    between = factors[0] if len(factors) == 1 else factors
    res = permanova.aovperm(frame, "y", between=between, n_resamples=99, random_state=0)
    assert len(res.table) == len(expected)
    for effect, row in expected.items():
        got = _row(res.table, effect)
        _close(got["df"], row["df"], f"{effect} df")
        _close(got["SS"], row["sum_sq"], f"{effect} SS")
        _close(got["F"], row["F"], f"{effect} F")
        _close(got["p_parametric"], row["PR(>F)"], f"{effect} p_parametric")
        _close(got["df_error"], residual["df"], f"{effect} df_error")
        _close(got["SS_error"], residual["sum_sq"], f"{effect} SS_error")


@pytest.mark.parametrize("method", BETWEEN_METHODS)
def test_between_observed_table_is_method_independent(method):
    # permuco's table (F, SS, df, parametric p) does not depend on the permutation method
    cells, effects = BETWEEN_DESIGNS["twoway_unbalanced"]
    frame, factors = _between_frame(cells, seed=5, effects=effects)
    expected, residual = _statsmodels_between(frame, factors)
    res = permanova.aovperm(
        frame, "y", between=factors, method=method, n_resamples=49, random_state=1
    )
    for effect, row in expected.items():
        got = _row(res.table, effect)
        _close(got["F"], row["F"], f"{method} {effect} F")
        _close(got["SS"], row["sum_sq"], f"{method} {effect} SS")
        _close(got["p_parametric"], row["PR(>F)"], f"{method} {effect} p_parametric")
        _close(got["SS_error"], residual["sum_sq"], f"{method} {effect} SS_error")
        assert 0 < got["p_permutation"] <= 1


def test_between_numeric_and_categorical_factor_columns():
    # a factor stored as integers or as a pandas Categorical is still a factor
    cells, effects = BETWEEN_DESIGNS["twoway_unbalanced"]
    frame, factors = _between_frame(cells, seed=3, effects=effects)
    expected, _ = _statsmodels_between(frame, factors)
    coded = frame.assign(
        A=frame["A"].map({"a1": 1, "a2": 2}),
        B=pd.Categorical(frame["B"], categories=["b3", "b1", "b2"]),
    )
    res = permanova.aovperm(coded, "y", between=["A", "B"], n_resamples=19, random_state=0)
    for effect, row in expected.items():
        _close(_row(res.table, effect)["F"], row["F"], f"{effect} F")


# --------------------------------------------------------------------------------------------
# within-subject and mixed designs vs pingouin / AnovaRM / stratum oracle
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_oneway_within_matches_pingouin_and_anovarm(method):
    frame = _within_frame(9, {"cond": 4}, seed=21)
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        within="cond",
        method=method,
        n_resamples=49,
        random_state=0,
    )
    aov = pg.rm_anova(
        frame, dv="y", within="cond", subject="subject", correction=False, detailed=True
    )
    rm = AnovaRM(frame, "y", "subject", within=["cond"]).fit().anova_table
    got = _row(res.table, "cond")
    _close(got["F"], aov.loc[0, "F"], "F vs pingouin")
    _close(got["p_parametric"], aov.loc[0, "p_unc"], "p vs pingouin")
    _close(got["SS"], aov.loc[0, "SS"], "SS vs pingouin")
    _close(got["SS_error"], aov.loc[1, "SS"], "SS_error vs pingouin")
    _close(got["df"], aov.loc[0, "DF"], "df vs pingouin")
    _close(got["df_error"], aov.loc[1, "DF"], "df_error vs pingouin")
    _close(got["F"], rm.loc["cond", "F Value"], "F vs AnovaRM")
    _close(got["p_parametric"], rm.loc["cond", "Pr > F"], "p vs AnovaRM")


@pytest.mark.parametrize("method", ["rd_kheradpajouh_renaud", "rde_kheradpajouh_renaud"])
def test_twoway_within_matches_pingouin_and_anovarm(method):
    frame = _within_frame(8, {"cond": 3, "time": 2}, seed=22)
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        within=["cond", "time"],
        method=method,
        n_resamples=49,
        random_state=0,
    )
    aov = pg.rm_anova(
        frame,
        dv="y",
        within=["cond", "time"],
        subject="subject",
        correction=False,
        detailed=True,
    ).set_index("Source")
    rm = AnovaRM(frame, "y", "subject", within=["cond", "time"]).fit().anova_table
    assert len(res.table) == 3
    for effect, pg_name in [("cond", "cond"), ("time", "time"), ("cond:time", "cond * time")]:
        got = _row(res.table, effect)
        expected = aov.loc[pg_name]
        _close(got["F"], expected["F"], f"{effect} F vs pingouin")
        _close(got["p_parametric"], expected["p_unc"], f"{effect} p vs pingouin")
        _close(got["SS"], expected["SS"], f"{effect} SS vs pingouin")
        _close(got["df"], expected["ddof1"], f"{effect} df")
        _close(got["df_error"], expected["ddof2"], f"{effect} df_error")
        ss_error = expected["MS"] / expected["F"] * expected["ddof2"]
        _close(got["SS_error"], ss_error, f"{effect} SS_error", rtol=1e-7)
        _close(got["F"], rm.loc[effect, "F Value"], f"{effect} F vs AnovaRM")
        _close(got["p_parametric"], rm.loc[effect, "Pr > F"], f"{effect} p vs AnovaRM")


@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_balanced_mixed_matches_pingouin(method):
    frame = _within_frame(None, {"cond": 3}, seed=23, between_sizes=[6, 6])
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        between="type",
        within="cond",
        method=method,
        n_resamples=49,
        random_state=0,
    )
    aov = pg.mixed_anova(
        frame, dv="y", within="cond", between="type", subject="subject", correction=False
    ).set_index("Source")
    assert len(res.table) == 3
    for effect, pg_name in [("type", "type"), ("cond", "cond"), ("type:cond", "Interaction")]:
        got = _row(res.table, effect)
        expected = aov.loc[pg_name]
        _close(got["F"], expected["F"], f"{effect} F vs pingouin")
        _close(got["p_parametric"], expected["p_unc"], f"{effect} p vs pingouin")
        _close(got["SS"], expected["SS"], f"{effect} SS vs pingouin")
        _close(got["df"], expected["DF1"], f"{effect} df")
        _close(got["df_error"], expected["DF2"], f"{effect} df_error")


@pytest.mark.parametrize("sizes", [(10, 13), (4, 9), (3, 5)])
def test_unbalanced_mixed_matches_type3_strata(sizes):
    frame = _within_frame(None, {"cond": 3}, seed=24, between_sizes=list(sizes))
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        between="type",
        within="cond",
        n_resamples=49,
        random_state=0,
    )
    oracle = _stratum_oracle(frame, ["cond"], ["type"])
    for effect, expected in oracle.items():
        got = _row(res.table, effect)
        for column, value in expected.items():
            _close(got[column], value, f"{effect} {column}")


@pytest.mark.parametrize(
    ("between_cells", "within_levels"),
    [
        ({("t0", "u0"): 3, ("t0", "u1"): 5, ("t1", "u0"): 4, ("t1", "u1"): 2}, {"cond": 3}),
        ({("t0",): 4, ("t1",): 7}, {"cond": 3, "time": 2}),
        ({("t0",): 3, ("t1",): 2, ("t2",): 4}, {"cond": 2, "time": 3}),
    ],
    ids=["2between_x_1within", "1between_x_2within", "3groups_x_2within"],
)
@pytest.mark.parametrize("method", ["rd_kheradpajouh_renaud", "rde_kheradpajouh_renaud"])
def test_unbalanced_multifactor_mixed_matches_type3_strata(between_cells, within_levels, method):
    frame, between = _mixed_frame(between_cells, within_levels, seed=26)
    within = list(within_levels)
    res = permanova.aovperm(
        frame,
        "y",
        subject="subject",
        between=between,
        within=within,
        method=method,
        n_resamples=19,
        random_state=0,
    )
    oracle = _stratum_oracle(frame, within, between)
    assert len(res.table) == len(oracle)
    for effect, expected in oracle.items():
        got = _row(res.table, effect)
        for column, value in expected.items():
            _close(got[column], value, f"{effect} {column}")


def test_stratum_oracle_agrees_with_anovarm_for_two_within_factors():
    # guards the multi-factor contrasts of the oracle against an independent implementation
    frame = _within_frame(7, {"cond": 3, "time": 2}, seed=27)
    oracle = _stratum_oracle(frame, ["cond", "time"], [])
    rm = AnovaRM(frame, "y", "subject", within=["cond", "time"]).fit().anova_table
    assert set(oracle) == set(rm.index)
    for effect, expected in oracle.items():
        _close(expected["F"], rm.loc[effect, "F Value"], effect)
        _close(expected["df_error"], rm.loc[effect, "Den DF"], effect)


def test_stratum_oracle_agrees_with_pingouin_when_balanced():
    # guards the oracle above: with equal group sizes it must reproduce pingouin
    frame = _within_frame(None, {"cond": 4}, seed=25, between_sizes=[5, 5])
    oracle = _stratum_oracle(frame, ["cond"], ["type"])
    aov = pg.mixed_anova(
        frame, dv="y", within="cond", between="type", subject="subject", correction=False
    ).set_index("Source")
    for effect, pg_name in [("type", "type"), ("cond", "cond"), ("type:cond", "Interaction")]:
        _close(oracle[effect]["F"], aov.loc[pg_name, "F"], effect)
        _close(oracle[effect]["SS"], aov.loc[pg_name, "SS"], effect)


# --------------------------------------------------------------------------------------------
# exact and Monte-Carlo permutation p-values vs scipy
# --------------------------------------------------------------------------------------------
def _oneway_frame(sizes, seed, shift=3.0):
    rng = np.random.default_rng(seed)
    groups = np.repeat([f"g{i}" for i in range(len(sizes))], sizes)
    y = rng.normal(10.0, 4.0, groups.size) + shift * (groups == "g1")
    order = rng.permutation(groups.size)
    return pd.DataFrame({"g": groups[order], "y": y[order]})


def _multiset_count(sizes):
    return math.factorial(sum(sizes)) // math.prod(math.factorial(s) for s in sizes)


@pytest.mark.parametrize(
    ("sizes", "seed"),
    [((3, 3, 3), 1), ((3, 4, 3), 2), ((4, 3), 6), ((3, 3, 4), 4), ((2, 2, 2, 3), 5)],
)
@pytest.mark.parametrize(
    "method", ["freedman_lane", "manly", "kennedy", "dekker", "draper_stoneman"]
)
def test_exact_p_equals_scipy_permutation_test(sizes, seed, method):
    # For a one-way between design the reduced model is the intercept: freedman_lane, manly
    # and kennedy permute the centred outcome and their F is then the one-way F of the
    # relabelled data; dekker and draper_stoneman permute the rows of the (centred) group
    # design, which relabels the observations the inverse way: over all distinct group
    # assignments each gives the null distribution of scipy's "independent" scheme. (ter_braak
    # permutes the full-model residuals and huh_jhun rotated residuals: other nulls.) Equal
    # group sizes create exact ties (relabelled groups) that must count as ties.
    frame = _oneway_frame(sizes, seed)
    samples = [frame.loc[frame["g"] == f"g{i}", "y"].to_numpy() for i in range(len(sizes))]
    ref = stats.permutation_test(
        samples,
        _f_oneway_stat,
        permutation_type="independent",
        n_resamples=np.inf,
        vectorized=True,
        alternative="greater",
    )
    n_distinct = _multiset_count(sizes)
    assert ref.null_distribution.size == n_distinct
    res = permanova.aovperm(frame, "y", between="g", method=method, exact=True)
    assert res.exact
    got = res.table.loc["g"]
    _close(got["F"], ref.statistic, "observed F")
    assert got["p_permutation"] == pytest.approx(ref.pvalue, rel=1e-12, abs=0)
    assert got["p_permutation"] * n_distinct == pytest.approx(
        round(ref.pvalue * n_distinct), abs=1e-6
    )


def test_exact_auto_enumerates_when_count_is_small():
    frame = _oneway_frame((3, 3, 3), seed=7)
    samples = [frame.loc[frame["g"] == f"g{i}", "y"].to_numpy() for i in range(3)]
    ref = stats.permutation_test(
        samples,
        _f_oneway_stat,
        permutation_type="independent",
        n_resamples=np.inf,
        vectorized=True,
        alternative="greater",
    )
    auto = permanova.aovperm(frame, "y", between="g", n_resamples=2000, random_state=0)
    assert auto.exact  # 1680 distinct group assignments <= 2000
    assert auto.table.loc["g", "p_permutation"] == pytest.approx(ref.pvalue, rel=1e-12)
    mc = permanova.aovperm(frame, "y", between="g", n_resamples=1000, random_state=0)
    assert not mc.exact  # 1680 > 1000: Monte-Carlo
    forced = permanova.aovperm(frame, "y", between="g", exact=False, n_resamples=5000)
    assert not forced.exact


@pytest.mark.parametrize(("sizes", "seed", "shift"), [((4, 4, 4), 8, 3.0), ((3, 5, 4), 9, 2.0)])
def test_monte_carlo_p_within_sampling_error_of_exact(sizes, seed, shift):
    frame = _oneway_frame(sizes, seed, shift=shift)
    exact = permanova.aovperm(frame, "y", between="g", exact=True)
    p_exact = exact.table.loc["g", "p_permutation"]
    assert 0.005 < p_exact < 0.995, "choose data with a non-degenerate p"
    n_resamples = 20_000
    for random_state in (0, 1):
        mc = permanova.aovperm(
            frame,
            "y",
            between="g",
            exact=False,
            n_resamples=n_resamples,
            random_state=random_state,
        )
        p_mc = mc.table.loc["g", "p_permutation"]
        sd = math.sqrt(p_exact * (1 - p_exact) / n_resamples)
        assert abs(p_mc - p_exact) <= 4 * sd + 1 / n_resamples, (p_mc, p_exact, sd)


def _tiny_design(case):
    """Designs small enough to enumerate every permutation of the units."""
    if case == "within":
        frame = _within_frame(2, {"cond": 3}, seed=61)
        return frame, {"subject": "subject", "within": "cond"}, "rd_kheradpajouh_renaud"
    if case == "mixed":
        frame = _within_frame(None, {"cond": 2}, seed=62, between_sizes=[2, 1])
        kwargs = {"subject": "subject", "between": "type", "within": "cond"}
        return frame, kwargs, "rde_kheradpajouh_renaud"
    if case == "factorial":
        cells = {("a1", "b1"): 2, ("a1", "b2"): 2, ("a2", "b1"): 2, ("a2", "b2"): 1}
        frame, factors = _between_frame(cells, seed=65, effects={("a1", "b2"): 5.0})
        return frame, {"between": factors}, "freedman_lane"
    method = {"oneway_huh_jhun": "huh_jhun", "oneway_ter_braak": "ter_braak"}[case]
    return _oneway_frame((3, 2, 3), seed=63), {"between": "g"}, method


@pytest.mark.parametrize(
    "case", ["within", "mixed", "factorial", "oneway_huh_jhun", "oneway_ter_braak"]
)
def test_monte_carlo_p_within_sampling_error_of_exact_other_designs(case):
    # random permutations of the units (observations; rotated residuals for huh_jhun) must
    # be uniform: the Monte-Carlo p estimates the exact p of the same method and rotation
    frame, kwargs, method = _tiny_design(case)
    exact = permanova.aovperm(frame, "y", method=method, exact=True, random_state=0, **kwargs)
    assert exact.exact
    n_resamples = 20_000
    mc = permanova.aovperm(
        frame, "y", method=method, exact=False, n_resamples=n_resamples, random_state=0, **kwargs
    )
    p_exact = exact.table["p_permutation"].to_numpy(float)
    p_mc = mc.table.loc[exact.table.index, "p_permutation"].to_numpy(float)
    sd = np.sqrt(p_exact * (1 - p_exact) / n_resamples)
    assert np.all(np.abs(p_mc - p_exact) <= 4 * sd + 1 / n_resamples), (p_mc, p_exact, sd)


def _within_subject_permutations(frame):
    """Every within-subject relabelling of the rows (gather convention), identity excluded."""
    positions = [
        frame.index[frame["subject"] == s].to_numpy()[
            np.argsort(frame.loc[frame["subject"] == s, "cond"])
        ]
        for s in sorted(frame["subject"].unique())
    ]
    k = len(positions[0])
    rows = []
    for choice in itertools.product(itertools.permutations(range(k)), repeat=len(positions)):
        perm = np.arange(len(frame))
        for pos, sigma in zip(positions, choice, strict=True):
            perm[pos] = pos[list(sigma)]
        rows.append(perm)
    perms = np.asarray(rows)
    identity = (perms == np.arange(len(frame))).all(axis=1)
    assert identity.sum() == 1
    return perms[~identity]


@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_within_user_permutations_match_scipy_samples(method):
    # The default scheme of the Kherad-Pajouh-Renaud methods permutes the reduced residuals
    # across ALL observations (as permuco does), whereas scipy's "samples" scheme only
    # shuffles the condition labels within each subject: the two null distributions differ,
    # so the default Monte-Carlo p is not compared with scipy. The schemes coincide when we
    # pass the within-subject relabellings ourselves through ``permutations=``: for a
    # balanced one-way within design the reduced model of "cond" is the intercept and the
    # statistic of the permuted reduced residuals is the classical RM F of the relabelled
    # data, so the p-value must equal scipy's exact one.
    frame = _within_frame(4, {"cond": 3}, seed=31)
    perms = _within_subject_permutations(frame)
    assert perms.shape == (6**4 - 1, len(frame))
    wide = frame.pivot(index="subject", columns="cond", values="y")
    ref = stats.permutation_test(
        tuple(wide[c].to_numpy() for c in wide.columns),
        _rm_f_stat,
        permutation_type="samples",
        n_resamples=np.inf,
        vectorized=True,
        alternative="greater",
    )
    res = permanova.aovperm(
        frame, "y", subject="subject", within="cond", method=method, permutations=perms
    )
    got = res.table.loc["cond"]
    _close(got["F"], ref.statistic, "observed F")
    assert res.n_resamples == perms.shape[0]
    assert got["p_permutation"] == pytest.approx(ref.pvalue, rel=1e-12, abs=0)


# --------------------------------------------------------------------------------------------
# posthoc: pairwise tests vs scipy t-tests / permutation_test, Holm vs statsmodels
# --------------------------------------------------------------------------------------------
def test_posthoc_between_pairs_match_scipy_and_holm():
    frame = _oneway_frame((5, 4, 6), seed=41, shift=4.0)
    res = permanova.posthoc(frame, "y", "g", exact=True)
    table = res.table
    assert len(table) == 3
    for _, row in table.iterrows():
        a = frame.loc[frame["g"] == row["level_1"], "y"].to_numpy()
        b = frame.loc[frame["g"] == row["level_2"], "y"].to_numpy()
        t = stats.ttest_ind(a, b)
        _close(row["F"], t.statistic**2, "F = t^2")
        _close(row["p_parametric"], t.pvalue, "two-sided t-test p")
        ref = stats.permutation_test(
            (a, b),
            _f_oneway_stat,
            permutation_type="independent",
            n_resamples=np.inf,
            vectorized=True,
            alternative="greater",
        )
        assert row["p_permutation"] == pytest.approx(ref.pvalue, rel=1e-12)
    holm = multipletests(table["p_permutation"].to_numpy(float), method="holm")[1]
    _close(table["p_holm"].to_numpy(float), holm, "Holm adjustment")


def test_posthoc_paired_pairs_match_paired_t_test():
    frame = _within_frame(7, {"cond": 3}, seed=42)
    res = permanova.posthoc(frame, "y", "cond", subject="subject", n_resamples=199, random_state=0)
    assert len(res.table) == 3
    wide = frame.pivot(index="subject", columns="cond", values="y")
    for _, row in res.table.iterrows():
        t = stats.ttest_rel(wide[row["level_1"]], wide[row["level_2"]])
        _close(row["F"], t.statistic**2, "F = t^2 (paired)")
        _close(row["p_parametric"], t.pvalue, "two-sided paired t-test p")
        assert 0 < row["p_permutation"] <= 1


# --------------------------------------------------------------------------------------------
# exact enumeration vs the same statistic over every permutation given explicitly
# --------------------------------------------------------------------------------------------
def _all_but_identity(n):
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.intp)
    return perms[1:]  # itertools starts with the identity


@pytest.mark.parametrize(
    ("case", "method"),
    [
        ("oneway", "freedman_lane"),
        ("oneway", "dekker"),
        ("factorial", "freedman_lane"),
        ("factorial", "kennedy"),
        ("factorial", "draper_stoneman"),
        ("within", "rd_kheradpajouh_renaud"),
        ("mixed", "rde_kheradpajouh_renaud"),
    ],
)
def test_exact_equals_every_permutation_given_explicitly(case, method):
    # exact p = #{F_b >= F_obs over all N distinct permutations, identity included} / N must
    # equal (1 + #{...over the N - 1 others}) / N computed from an explicit matrix of all n!
    # permutations (for one-way designs each distinct group assignment appears prod(n_g!)
    # times among the n! permutations, which leaves the fraction unchanged). Not ter_braak:
    # as in permuco its permuted statistic is the F of the permuted full-model residuals,
    # which is 0 for every within-group shuffle, while the identity counts with the observed
    # F, so the identity's class is not uniform over the n! permutations.
    if case == "oneway":
        frame = _oneway_frame((3, 2, 2), seed=51)
        kwargs = {"between": "g"}
    elif case == "factorial":
        cells = {("a1", "b1"): 2, ("a1", "b2"): 2, ("a2", "b1"): 2, ("a2", "b2"): 1}
        frame, factors = _between_frame(cells, seed=52, effects={("a1", "b2"): 15.0})
        kwargs = {"between": factors}
    elif case == "within":
        frame = _within_frame(2, {"cond": 3}, seed=53)
        kwargs = {"subject": "subject", "within": "cond"}
    else:
        frame = _within_frame(None, {"cond": 2}, seed=54, between_sizes=[2, 1])
        kwargs = {"subject": "subject", "between": "type", "within": "cond"}
    explicit = permanova.aovperm(
        frame, "y", method=method, permutations=_all_but_identity(len(frame)), **kwargs
    )
    exact = permanova.aovperm(frame, "y", method=method, exact=True, **kwargs)
    assert exact.exact
    np.testing.assert_allclose(
        exact.table["p_permutation"].to_numpy(float),
        explicit.table.loc[exact.table.index, "p_permutation"].to_numpy(float),
        rtol=1e-12,
    )
