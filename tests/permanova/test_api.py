"""Unit tests of the public API: aovperm, the shortcuts, posthoc and the result objects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import permanova
from permanova import AovPermResult, PosthocResult

COLUMNS = [
    "df",
    "df_error",
    "SS",
    "SS_error",
    "F",
    "p_parametric",
    "p_permutation",
    "eta2_partial",
    "eta2_generalized",
]


@pytest.fixture
def oneway(rng):
    group = np.repeat(["a", "b", "c"], [5, 6, 7])
    y = rng.normal(size=18) + np.repeat([0.0, 0.8, 1.6], [5, 6, 7])
    return pd.DataFrame({"group": group, "y": y})


@pytest.fixture
def twoway(rng):
    a = np.repeat(["a1", "a2"], 12)
    b = np.tile(np.repeat(["b1", "b2", "b3"], 4), 2)
    y = rng.normal(size=24) + (a == "a2") * 1.0
    return pd.DataFrame({"A": a, "B": b, "y": y})


@pytest.fixture
def mixed_frame(rng):
    n_s = 10
    subject = np.repeat([f"s{i:02d}" for i in range(n_s)], 3)
    group = np.where(np.repeat(np.arange(n_s), 3) < 5, "g1", "g2")
    cond = np.tile(["c1", "c2", "c3"], n_s)
    y = (
        rng.normal(size=3 * n_s)
        + np.tile([0.0, 0.5, 1.5], n_s)
        + np.repeat(rng.normal(size=n_s), 3)
    )
    return pd.DataFrame({"subject": subject, "group": group, "cond": cond, "y": y})


# ------------------------------------------------------------------------------------
# aovperm
# ------------------------------------------------------------------------------------
def test_aovperm_table_layout(oneway):
    res = permanova.aovperm(oneway, "y", between="group", n_resamples=199, random_state=0)
    assert isinstance(res, AovPermResult)
    assert list(res.table.columns) == COLUMNS
    assert list(res.table.index) == ["group"] and res.table.index.name == "effect"
    assert res.method == "freedman_lane" and res.exact is False and res.n_resamples == 199
    assert res.null_distribution is None
    p = res.table.loc["group", "p_permutation"]
    assert 1 / 200 <= p <= 1 and round(p * 200) == pytest.approx(p * 200)


def test_aovperm_matches_f_oneway_and_scipy_exact(rng):
    group = np.repeat(["a", "b", "c"], [3, 3, 2])
    y = rng.normal(size=8)
    data = pd.DataFrame({"g": group, "y": y})
    res = permanova.aovperm(data, "y", between="g", exact=True)
    samples = [y[group == g] for g in "abc"]
    ref = stats.f_oneway(*samples)
    assert res.table.loc["g", "F"] == pytest.approx(ref.statistic, rel=1e-10)
    assert res.table.loc["g", "p_parametric"] == pytest.approx(ref.pvalue, rel=1e-10)

    def fstat(*s):
        return stats.f_oneway(*s).statistic

    exact = stats.permutation_test(samples, fstat, n_resamples=np.inf, alternative="greater")
    assert res.exact and res.n_resamples == 560
    assert res.table.loc["g", "p_permutation"] == pytest.approx(exact.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    "method", ["freedman_lane", "manly", "ter_braak", "kennedy", "dekker", "draper_stoneman"]
)
def test_exact_p_is_multiple_of_one_over_n(oneway, method):
    small = oneway.groupby("group").head(3)
    res = permanova.aovperm(small, "y", between="group", method=method, return_null=True)
    assert res.exact and res.n_resamples == 1680  # 9! / (3!)^3
    p = res.table.loc["group", "p_permutation"]
    assert p * 1680 == pytest.approx(round(p * 1680), abs=1e-9)
    assert res.null_distribution.shape == (1680, 1)


def test_exact_auto_switch(oneway):
    small = oneway.groupby("group").head(3)
    assert permanova.aovperm(small, "y", between="group", n_resamples=1680).exact
    res = permanova.aovperm(small, "y", between="group", n_resamples=1679, random_state=0)
    assert not res.exact and res.n_resamples == 1679
    res = permanova.aovperm(small, "y", between="group", exact=False, random_state=0)
    assert not res.exact and res.n_resamples == 10_000


def test_exact_true_too_large(oneway):
    with pytest.raises(ValueError, match="exact=True"):
        permanova.aovperm(oneway, "y", between="group", exact=True)


def test_reproducible_and_batch_size_independent(twoway):
    # The products are always formed on the same fixed chunks of the same permutations, so
    # the statistics are bit-identical on one machine whatever batch_size says (and
    # batch_size is deprecated); only another CPU may change their last bits.
    kw = dict(between=["A", "B"], n_resamples=5000, random_state=42, return_null=True)
    r1 = permanova.aovperm(twoway, "y", **kw)
    with pytest.warns(DeprecationWarning, match="batch_size"):
        r2 = permanova.aovperm(twoway, "y", batch_size=333, **kw)
    with pytest.warns(DeprecationWarning, match="batch_size"):
        r3 = permanova.aovperm(twoway, "y", batch_size=100_000, **kw)
    pd.testing.assert_frame_equal(r1.table, r2.table)
    pd.testing.assert_frame_equal(r1.table, r3.table)
    np.testing.assert_array_equal(r1.null_distribution, r2.null_distribution)
    np.testing.assert_array_equal(r1.null_distribution, r3.null_distribution)
    r4 = permanova.aovperm(twoway, "y", **{**kw, "random_state": 43})
    assert not np.array_equal(r1.null_distribution, r4.null_distribution)


@pytest.mark.parametrize("design", ["twoway", "mixed_frame"])
def test_row_order_of_data_does_not_matter(design, request):
    frame = request.getfixturevalue(design)
    if design == "twoway":
        kw = dict(between=["A", "B"])
    else:
        kw = dict(subject="subject", between="group", within="cond")
    kw.update(n_resamples=3000, random_state=5, return_null=True)
    ref = permanova.aovperm(frame, "y", **kw)
    for seed in range(3):
        shuffled = frame.sample(frac=1.0, random_state=seed)
        res = permanova.aovperm(shuffled, "y", **kw)
        np.testing.assert_array_equal(res.table["p_permutation"], ref.table["p_permutation"])
        # the rows are put in a canonical order first: the same numbers, bit for bit
        np.testing.assert_array_equal(res.null_distribution, ref.null_distribution)


def test_subject_labels_do_not_matter(mixed_frame):
    kw = dict(subject="subject", between="group", within="cond", n_resamples=999)
    ref = permanova.aovperm(mixed_frame, "y", random_state=2, **kw)
    renamed = mixed_frame.assign(subject="id" + mixed_frame["subject"].str[::-1])
    res = permanova.aovperm(renamed, "y", random_state=2, **kw)
    np.testing.assert_array_equal(res.table["p_permutation"], ref.table["p_permutation"])


def test_null_distribution_read_only_and_p_consistent(twoway):
    res = permanova.aovperm(
        twoway, "y", between=["A", "B"], n_resamples=999, random_state=1, return_null=True
    )
    null = res.null_distribution
    assert null.shape == (999, 3) and not null.flags.writeable
    for j, effect in enumerate(res.table.index):
        f_obs = res.table.loc[effect, "F"]
        p = (1 + np.count_nonzero(null[:, j] >= f_obs * (1 - 1e-12))) / 1000
        assert res.table.loc[effect, "p_permutation"] == pytest.approx(p)


def test_alternative_less(oneway):
    kw = dict(between="group", n_resamples=999, random_state=3)
    greater = permanova.aovperm(oneway, "y", **kw).table.loc["group", "p_permutation"]
    less = permanova.aovperm(oneway, "y", alternative="less", **kw)
    assert less.alternative == "less"
    assert greater + less.table.loc["group", "p_permutation"] == pytest.approx(1 + 1 / 1000)
    two = permanova.aovperm(oneway, "y", alternative="two.sided", **kw)
    assert two.alternative == "two-sided"
    assert two.table.loc["group", "p_permutation"] == greater


def test_all_between_methods_agree_on_table(twoway):
    tables = []
    for method in ["freedman_lane", "manly", "ter_braak", "kennedy", "dekker", "draper_stoneman"]:
        res = permanova.aovperm(
            twoway, "y", between=["A", "B"], method=method, n_resamples=99, random_state=0
        )
        assert res.method == method
        tables.append(res.table.drop(columns="p_permutation"))
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])


def test_huh_jhun_random_rotation_reproducible(twoway):
    kw = dict(between=["A", "B"], method="huh_jhun", n_resamples=500, return_null=True)
    r1 = permanova.aovperm(twoway, "y", random_state=7, **kw)
    r2 = permanova.aovperm(twoway, "y", random_state=7, batch_size=64, **kw)
    np.testing.assert_array_equal(r1.null_distribution, r2.null_distribution)
    assert r1.table["p_permutation"].between(1 / 501, 1).all()


def test_huh_jhun_permutation_dict_for_factorial(twoway, rng):
    # A: reduced model has rank 5 -> 19 units; B and A:B: rank 4 -> 20 units
    perms = {
        "A": np.array([rng.permutation(19) for _ in range(50)]),
        "B": np.array([rng.permutation(20) for _ in range(50)]),
        "A:B": np.array([rng.permutation(20) for _ in range(50)]),
    }
    res = permanova.aovperm(
        twoway, "y", between=["A", "B"], method="huh_jhun", permutations=perms, random_state=0
    )
    assert res.n_resamples == 50
    with pytest.raises(ValueError, match="dict"):
        permanova.aovperm(
            twoway, "y", between=["A", "B"], method="huh_jhun", permutations=perms["B"]
        )


def test_huh_jhun_rotation_checks(oneway):
    with pytest.raises(ValueError, match="rotation"):
        permanova.aovperm(oneway, "y", between="group", method="huh_jhun", rotation=np.eye(5))
    with pytest.raises(ValueError, match="orthonormal"):
        permanova.aovperm(
            oneway, "y", between="group", method="huh_jhun", rotation=np.ones((17, 18))
        )
    with pytest.raises(ValueError, match="huh_jhun"):
        permanova.aovperm(oneway, "y", between="group", rotation=np.eye(18))


def test_user_permutations(oneway, rng):
    perms = np.array([rng.permutation(18) for _ in range(99)])
    res = permanova.aovperm(oneway, "y", between="group", permutations=perms, return_null=True)
    assert res.n_resamples == 99 and not res.exact
    with pytest.raises(ValueError, match="exact=True"):
        permanova.aovperm(oneway, "y", between="group", permutations=perms, exact=True)
    with pytest.raises(ValueError, match="shape"):
        permanova.aovperm(oneway, "y", between="group", permutations=perms[:, :10])


def test_rm_methods(mixed_frame):
    kw = dict(subject="subject", between="group", within="cond", n_resamples=300)
    rd = permanova.aovperm(mixed_frame, "y", random_state=0, return_null=True, **kw)
    assert rd.method == "rd_kheradpajouh_renaud"
    assert list(rd.table.index) == ["group", "cond", "group:cond"]
    assert rd.table["df_error"].tolist() == [8, 16, 16]
    replic = permanova.aovperm(
        mixed_frame,
        "y",
        method="rd_replic_kheradpajouh_renaud",
        random_state=0,
        return_null=True,
        **kw,
    )
    np.testing.assert_allclose(replic.null_distribution, rd.null_distribution, rtol=1e-9)
    rde = permanova.aovperm(
        mixed_frame, "y", method="Rde_kheradPajouh_renaud", random_state=0, **kw
    )
    assert rde.method == "rde_kheradpajouh_renaud"
    pd.testing.assert_frame_equal(
        rde.table.drop(columns="p_permutation"), rd.table.drop(columns="p_permutation")
    )


def test_rm_matches_pingouin(mixed_frame):
    pg = pytest.importorskip("pingouin")
    ref = pg.mixed_anova(
        data=mixed_frame, dv="y", within="cond", between="group", subject="subject"
    ).set_index("Source")
    res = permanova.mixed(
        mixed_frame, "y", subject="subject", between="group", within="cond", n_resamples=10
    )
    assert res.table.loc["group", "F"] == pytest.approx(ref.loc["group", "F"], rel=1e-8)
    assert res.table.loc["cond", "F"] == pytest.approx(ref.loc["cond", "F"], rel=1e-8)
    assert res.table.loc["group:cond", "F"] == pytest.approx(ref.loc["Interaction", "F"], rel=1e-8)


def test_method_errors(oneway, mixed_frame):
    with pytest.raises(ValueError, match="freedman_lane"):
        permanova.aovperm(oneway, "y", between="group", method="nope")
    with pytest.raises(ValueError, match="does not apply"):
        permanova.aovperm(oneway, "y", between="group", method="rd_kheradpajouh_renaud")
    with pytest.raises(ValueError, match="does not apply"):
        permanova.aovperm(
            mixed_frame, "y", subject="subject", within="cond", between="group", method="manly"
        )


def test_parameter_errors(oneway):
    with pytest.raises(ValueError, match=r"`n_resamples` must be a positive integer; got -3\."):
        permanova.aovperm(oneway, "y", between="group", n_resamples=-3)
    with pytest.raises(TypeError, match="n_resamples"):
        permanova.aovperm(oneway, "y", between="group", n_resamples="many")
    with pytest.raises(ValueError, match="exact"):
        permanova.aovperm(oneway, "y", between="group", exact="yes")
    with pytest.raises(ValueError, match="alternative"):
        permanova.aovperm(oneway, "y", between="group", alternative="sideways")
    with pytest.raises(ValueError, match="batch_size"):
        permanova.aovperm(oneway, "y", between="group", batch_size=0)
    with pytest.raises(ValueError, match="subject"):
        permanova.aovperm(oneway, "y", within="group")
    with pytest.raises(ValueError, match="not found"):
        permanova.aovperm(oneway, "y", between="nope")


def test_input_not_modified(mixed_frame):
    before = mixed_frame.copy()
    permanova.aovperm(
        mixed_frame, "y", subject="subject", between="group", within="cond", n_resamples=50
    )
    pd.testing.assert_frame_equal(mixed_frame, before)


def test_progress_bar(oneway, capsys):
    pytest.importorskip("tqdm")
    res = permanova.aovperm(
        oneway, "y", between="group", n_resamples=500, exact=False, random_state=0, progress=True
    )
    shown = capsys.readouterr().err
    assert "500/500" in shown  # one bar, counting every permutation
    quiet = permanova.aovperm(
        oneway, "y", between="group", n_resamples=500, exact=False, random_state=0
    )
    assert capsys.readouterr().err == ""
    pd.testing.assert_frame_equal(res.table, quiet.table)


def test_constant_outcome_gives_nan(oneway):
    flat = oneway.assign(y=1.0)
    with pytest.warns(RuntimeWarning, match="undefined"):
        res = permanova.aovperm(flat, "y", between="group", n_resamples=50, random_state=0)
    assert np.isnan(res.table.loc["group", "p_permutation"])


# ------------------------------------------------------------------------------------
# shortcuts
# ------------------------------------------------------------------------------------
def test_oneway_between(oneway):
    a = permanova.oneway_between(oneway, "y", "group", n_resamples=99, random_state=0)
    b = permanova.aovperm(oneway, "y", between="group", n_resamples=99, random_state=0)
    pd.testing.assert_frame_equal(a.table, b.table)
    with pytest.raises(TypeError, match="between"):
        permanova.oneway_between(oneway, "y", ["group", "group"])
    with pytest.raises(TypeError, match="takes no `within`"):
        permanova.oneway_between(oneway, "y", "group", within="group")


def test_oneway_within(mixed_frame):
    res = permanova.oneway_within(
        mixed_frame, "y", "cond", subject="subject", n_resamples=99, random_state=0
    )
    assert list(res.table.index) == ["cond"]
    assert res.table.loc["cond", "df_error"] == 18
    pg = pytest.importorskip("pingouin")
    ref = pg.rm_anova(data=mixed_frame, dv="y", within="cond", subject="subject")
    assert res.table.loc["cond", "F"] == pytest.approx(ref["F"].iloc[0], rel=1e-8)


def test_mixed(mixed_frame):
    res = permanova.mixed(
        mixed_frame,
        "y",
        subject="subject",
        between="group",
        within="cond",
        n_resamples=99,
        random_state=0,
    )
    assert list(res.table.index) == ["group", "cond", "group:cond"]
    with pytest.raises(ValueError, match="both"):
        permanova.mixed(mixed_frame, "y", subject="subject", between=None, within="cond")


# ------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------
def test_aovperm_to_frame(twoway):
    res = permanova.aovperm(twoway, "y", between=["A", "B"], n_resamples=99, random_state=0)
    frame = res.to_frame()
    assert list(frame.columns) == ["effect", *COLUMNS, "method", "n_resamples", "exact"]
    assert frame["effect"].tolist() == ["A", "B", "A:B"]
    frame.loc[0, "F"] = -1.0
    assert res.table.loc["A", "F"] != -1.0
    with pytest.raises(AttributeError):
        res.method = "manly"


# ------------------------------------------------------------------------------------
# posthoc
# ------------------------------------------------------------------------------------
def test_posthoc_between(oneway):
    from statsmodels.stats.multitest import multipletests

    res = permanova.posthoc(oneway, "y", "group", n_resamples=999, random_state=0)
    assert isinstance(res, PosthocResult) and not res.paired
    table = res.table
    assert table[["level_1", "level_2"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    np.testing.assert_allclose(
        table["p_holm"], multipletests(table["p_permutation"], method="holm")[1]
    )
    # the one-df F is the squared Student t (pooled variance)
    sub = oneway[oneway["group"].isin(["a", "c"])]
    t = stats.ttest_ind(sub.loc[sub.group == "a", "y"], sub.loc[sub.group == "c", "y"])
    assert table.loc[1, "F"] == pytest.approx(t.statistic**2, rel=1e-10)
    assert table.loc[1, "p_parametric"] == pytest.approx(t.pvalue, rel=1e-8)
    again = permanova.posthoc(oneway, "y", "group", n_resamples=999, random_state=0)
    pd.testing.assert_frame_equal(res.table, again.table)
    frame = res.to_frame()
    assert frame["factor"].eq("group").all() and frame["method"].eq("freedman_lane").all()


def test_posthoc_paired_and_by(mixed_frame):
    res = permanova.posthoc(
        mixed_frame, "y", "cond", subject="subject", n_resamples=499, random_state=1
    )
    assert res.paired and res.method == "rd_kheradpajouh_renaud"
    sub = mixed_frame[mixed_frame["cond"].isin(["c1", "c2"])].sort_values(["subject", "cond"])
    t = stats.ttest_rel(sub.loc[sub.cond == "c1", "y"], sub.loc[sub.cond == "c2", "y"])
    assert res.table.loc[0, "F"] == pytest.approx(t.statistic**2, rel=1e-10)
    by = permanova.posthoc(
        mixed_frame, "y", "cond", subject="subject", by="group", n_resamples=199, random_state=1
    )
    assert by.table.shape[0] == 6 and by.table["group"].tolist() == ["g1"] * 3 + ["g2"] * 3
    between = permanova.posthoc(
        mixed_frame, "y", "group", subject="subject", by="cond", n_resamples=199, random_state=1
    )
    assert not between.paired and between.table.shape[0] == 3
    assert (between.table["n_1"] == 5).all()


def test_posthoc_errors(oneway):
    with pytest.raises(ValueError, match="subject"):
        permanova.posthoc(oneway, "y", "group", paired=True)
    with pytest.raises(ValueError, match="not found"):
        permanova.posthoc(oneway, "y", "nope")
    with pytest.raises(ValueError, match="`by`"):
        permanova.posthoc(oneway, "y", "group", by="group")


def test_shortcuts_name_the_argument_they_do_not_take(mixed_frame, oneway):
    with pytest.raises(TypeError, match="`oneway_within` takes no `between`"):
        permanova.oneway_within(mixed_frame, "y", "cond", subject="subject", between="group")
    with pytest.raises(TypeError, match="`oneway_between` takes no `within`"):
        permanova.oneway_between(oneway, "y", "group", within="group")
    with pytest.raises(TypeError, match="`oneway_between` takes no `subject`"):
        permanova.oneway_between(oneway, "y", "group", subject="group")
