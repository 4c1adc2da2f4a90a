"""``permanova.posthoc``: rows by position, stated exclusions, one progress bar, seeds,
Hedges' g."""

import copy
import math
import re
import sys
import warnings

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

import permanova

posthoc_module = sys.modules["permanova.posthoc"]


def _all(*words):
    """Regex matching a message that contains every one of ``words`` (any order)."""
    return "(?s)" + "".join(f"(?=.*{re.escape(str(w))})" for w in words)


def _groups(seed=0, n=4, shifts=(0.0, 0.8, 2.5)):
    rng = np.random.default_rng(seed)
    g = np.repeat(["a", "b", "c"][: len(shifts)], n)
    return pd.DataFrame({"g": g, "y": rng.normal(size=g.size) + np.repeat(shifts, n)})


def _repeated(seed=0, n_subjects=6):
    rng = np.random.default_rng(seed)
    rows = [
        (f"s{s}", "young" if s % 2 else "old", cond, rng.normal() + 0.7 * k)
        for s in range(n_subjects)
        for k, cond in enumerate(("pre", "mid", "post"))
    ]
    return pd.DataFrame(rows, columns=["subject", "age", "cond", "y"])


def _run(frame, *args, **kwargs):
    """posthoc on ``frame``; asserts the frame is left unchanged."""
    before = copy.deepcopy(frame)
    kwargs.setdefault("random_state", 0)
    kwargs.setdefault("n_resamples", 199)
    res = permanova.posthoc(frame, *args, **kwargs)
    pd.testing.assert_frame_equal(frame, before)
    return res


# --------------------------------------------------------------------------------------------
# rows are used by position
# --------------------------------------------------------------------------------------------
def test_duplicated_index_labels_do_not_fetch_rows_twice():
    frame = _groups(n=3, shifts=(0.0, 1.0))
    ref = _run(frame, "y", "g", exact=True)
    concat = pd.concat([frame.iloc[:3], frame.iloc[3:]])  # index 0, 1, 2, 3, 4, 5
    concat.index = [0, 1, 2, 0, 1, 2]
    res = _run(concat, "y", "g", exact=True)
    assert res.table.loc[0, ["n_1", "n_2"]].tolist() == [3, 3]
    pd.testing.assert_frame_equal(res.table, ref.table)


@pytest.mark.parametrize(
    "index",
    [
        lambda n: [7] * n,
        lambda n: np.arange(n)[::-1] * 10,
        lambda n: pd.MultiIndex.from_arrays([np.arange(n) % 2, np.zeros(n, int)]),
    ],
    ids=["all-equal", "reversed", "multiindex-with-duplicates"],
)
def test_any_index_gives_the_same_table(index):
    frame = _repeated()
    kwargs = {"subject": "subject", "by": "age"}
    ref = _run(frame, "y", "cond", **kwargs)
    res = _run(frame.set_axis(index(len(frame))), "y", "cond", **kwargs)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_messages_name_the_frames_row_labels():
    frame = _groups()
    frame.index = [f"obs{i}" for i in range(len(frame))]
    frame.loc["obs5", "y"] = np.nan
    with pytest.raises(ValueError, match=_all("y", "obs5")):
        _run(frame, "y", "g")
    frame = _groups().set_axis([0, 1] * 6)
    frame.iloc[7, frame.columns.get_loc("g")] = None
    with pytest.raises(ValueError, match=_all("g", "[1]")):
        _run(frame, "y", "g")


def test_invalid_comparison_is_named():
    frame = _repeated()
    # s3 loses "mid": every pair with "mid" is invalid (paired), and the message says which
    frame = frame.drop(index=frame.index[(frame.subject == "s3") & (frame.cond == "mid")])
    with pytest.raises(ValueError, match=_all("'mid' vs 'post'", "s3")):
        _run(frame, "y", "cond", subject="subject", paired=True)


# --------------------------------------------------------------------------------------------
# comparisons that cannot be made, and undefined p-values, are stated
# --------------------------------------------------------------------------------------------
def test_by_group_lacking_a_level_is_stated_and_left_out_of_holm():
    frame = _repeated(n_subjects=8)
    frame = frame[~((frame.age == "old") & (frame.cond == "post"))]
    with pytest.warns(UserWarning, match=_all("2 of 6 comparisons", "age='old'")):
        res = _run(frame, "y", "cond", subject="subject", by="age")
    table = res.table
    assert table[["age", "level_1", "level_2"]].values.tolist() == [
        ["old", "mid", "post"],
        ["old", "mid", "pre"],
        ["old", "post", "pre"],
        ["young", "mid", "post"],
        ["young", "mid", "pre"],
        ["young", "post", "pre"],
    ]
    skipped = table["note"] != ""
    assert skipped.tolist() == [True, False, True, False, False, False]
    assert table.loc[0, "note"] == "not tested: level 'post' is not observed in this group"
    assert table.loc[skipped, ["F", "p_permutation", "p_holm"]].isna().all().all()
    assert (table.loc[skipped, "n_resamples"] == 0).all()
    assert table.loc[skipped, "n_1"].tolist() == [4, 0]
    tested = table.loc[~skipped, "p_permutation"].to_numpy(float)
    np.testing.assert_allclose(
        table.loc[~skipped, "p_holm"], multipletests(tested, method="holm")[1]
    )


def test_too_few_observations_are_stated():
    frame = pd.DataFrame(
        {
            "g": ["a", "b", "a", "a", "b", "b"],
            "site": ["x"] * 2 + ["y"] * 4,
            "y": [1.0, 2.0, 0.5, 1.5, 3.0, 4.5],
        }  # fmt: skip
    )
    with pytest.warns(UserWarning, match=_all("1 of 2", "site='x'")):
        res = _run(frame, "y", "g", by="site")
    assert res.table["note"].tolist()[0].startswith("not tested: 2 observations")
    assert res.table.loc[1, "note"] == ""
    assert res.table.loc[1, "p_holm"] == res.table.loc[1, "p_permutation"]


def test_undefined_f_is_stated_and_left_out_of_holm():
    frame = _groups(n=4)
    frame.loc[frame.g.isin(["a", "b"]), "y"] = 2.5  # constant outcome in the pair a, b
    with pytest.warns(RuntimeWarning, match=_all("'a' vs 'b'", "Holm")) as record:
        res = _run(frame, "y", "g")
    assert sum("'a' vs 'b'" in str(w.message) for w in record) == 1
    table = res.table
    assert np.isnan(table.loc[0, "p_permutation"]) and np.isnan(table.loc[0, "p_holm"])
    assert "left out of the Holm family" in table.loc[0, "note"]
    assert (table.loc[1:, "note"] == "").all()
    # Holm over the two defined p-values only (a family of 2, not 3)
    holm = multipletests(table.loc[1:, "p_permutation"].to_numpy(float), method="holm")[1]
    np.testing.assert_allclose(table.loc[1:, "p_holm"], holm)
    assert table.loc[1, "p_holm"] < min(1.0, 3 * table.loc[1:, "p_permutation"].min())


def test_ordinary_call_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = _run(_groups(), "y", "g")
    assert (res.table["note"] == "").all() and res.table["p_holm"].notna().all()


# --------------------------------------------------------------------------------------------
# one progress bar for the family
# --------------------------------------------------------------------------------------------
def test_one_progress_bar_over_the_comparisons(monkeypatch):
    bars = []
    real = posthoc_module.tqdm

    def recording(*args, **kwargs):
        bar = real(*args, **kwargs)
        bars.append((kwargs, bar))
        return bar

    monkeypatch.setattr(posthoc_module, "tqdm", recording)
    frame = _groups()
    frame.loc[frame.g == "c", "g"] = "b"
    frame.loc[[0, 1], "g"] = "c"  # a: 2, b: 8, c: 2 rows
    _run(frame, "y", "g", progress=True)
    assert len(bars) == 1
    kwargs, bar = bars[0]
    assert kwargs["desc"] == "comparisons" and not kwargs["disable"]
    assert bar.total == 3 and bar.n == 3


def test_progress_prints_only_the_family_bar(capsys):
    _run(_groups(), "y", "g", progress=True, n_resamples=999, exact=False)
    err = capsys.readouterr().err
    assert "comparisons" in err and "3/3" in err
    assert "permutations" not in err
    _run(_groups(), "y", "g", progress=False)
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------------------------
# seeds
# --------------------------------------------------------------------------------------------
def test_seed_sequence_is_not_modified():
    seed = np.random.SeedSequence(12345)
    first = _run(_groups(), "y", "g", random_state=seed, exact=False)
    assert seed.n_children_spawned == 0
    second = _run(_groups(), "y", "g", random_state=seed, exact=False)
    pd.testing.assert_frame_equal(first.table, second.table)


def test_generator_is_advanced_and_random_state_accepted():
    rng = np.random.default_rng(5)
    _run(_groups(), "y", "g", random_state=rng, exact=False)
    assert rng.bit_generator.seed_seq.n_children_spawned == 3
    legacy = np.random.RandomState(3)
    state = legacy.get_state()[1].copy()
    a = _run(_groups(), "y", "g", random_state=legacy, exact=False)
    assert not np.array_equal(legacy.get_state()[1], state)
    b = _run(_groups(), "y", "g", random_state=np.random.RandomState(3), exact=False)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_untested_rows_do_not_shift_the_others_random_streams():
    # each row has its own child generator, whether or not the other rows are tested
    frame = pd.concat([_groups(seed=1).assign(site="x"), _groups(seed=2).assign(site="y")])
    full = _run(frame, "y", "g", by="site", exact=False)
    lacking = frame[~((frame.site == "x") & (frame.g == "a"))]
    with pytest.warns(UserWarning):
        part = _run(lacking, "y", "g", by="site", exact=False)
    cols = ["site", "level_1", "level_2", "p_permutation"]
    pd.testing.assert_frame_equal(part.table.loc[2:, cols], full.table.loc[2:, cols])


# --------------------------------------------------------------------------------------------
# column labels and dtypes
# --------------------------------------------------------------------------------------------
def test_integer_column_labels_are_accepted():
    frame = _repeated()
    ref = _run(frame, "y", "cond", subject="subject", by="age")
    numbered = frame.set_axis([0, 1, 2, 3], axis=1)
    res = _run(numbered, 3, 2, subject=0, by=1)
    expected = ref.table.rename(columns={"age": 1})
    pd.testing.assert_frame_equal(res.table, expected)
    assert res.factor == 2 and res.by == [1]


def test_duplicated_and_multiindex_columns_are_rejected():
    frame = _groups().assign(z=1.0)
    twice = frame.set_axis(["g", "y", "y"], axis=1)
    with pytest.raises(ValueError, match=_all("'y'", "unique")):
        _run(twice, "y", "g")
    twice = frame.set_axis(["g", "y", "g"], axis=1)
    with pytest.raises(ValueError, match=_all("'g'", "`factor`", "unique")):
        _run(twice, "y", "g")
    multi = frame.set_axis(pd.MultiIndex.from_tuples([("g", ""), ("y", ""), ("z", "")]), axis=1)
    with pytest.raises(ValueError, match="MultiIndex"):
        _run(multi, "y", "g")


def test_unused_duplicated_column_is_harmless():
    frame = _groups().assign(z=1.0, w=2.0)
    ref = _run(frame, "y", "g")
    res = _run(frame.set_axis(["g", "y", "z", "z"], axis=1), "y", "g")
    pd.testing.assert_frame_equal(res.table, ref.table)


@pytest.mark.parametrize("label", [["g"], {"g": 1}, None])
def test_unhashable_or_none_factor_is_a_type_error(label):
    with pytest.raises(TypeError, match="`factor`"):
        _run(_groups(), "y", label)


def test_boolean_factor():
    frame = _groups(shifts=(0.0, 2.0))
    ref = _run(frame, "y", "g")
    res = _run(frame.assign(g=frame.g == "b"), "y", "g")
    assert res.table[["level_1", "level_2"]].values.tolist() == [[False, True]]
    assert res.table.loc[0, "p_permutation"] == ref.table.loc[0, "p_permutation"]


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (lambda y: y.astype(complex), ("y", "complex")),
        (lambda y: y.astype(str).astype(object), ("y", "pd.to_numeric")),
        (lambda y: y > 0, ("y", "boolean")),
    ],
    ids=["complex", "numbers-as-text", "bool"],
)
def test_bad_outcome_types(values, words):
    frame = _groups()
    with pytest.raises(TypeError, match=_all(*words)):
        _run(frame.assign(y=values(frame.y)), "y", "g")


@pytest.mark.parametrize(
    ("kwargs", "error", "word"),
    [
        ({"n_resamples": 10**20}, ValueError, "n_resamples"),
        ({"n_resamples": True}, TypeError, "n_resamples"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"exact": "yes"}, ValueError, "exact"),
        ({"progress": "yes"}, TypeError, "progress"),
        ({"paired": 1}, TypeError, "paired"),
        ({"random_state": 1.5}, TypeError, "random_state"),
        ({"random_state": -1}, ValueError, "random_state"),
    ],
)
def test_bad_parameters(kwargs, error, word):
    with pytest.raises(error, match=word):
        _run(_groups(), "y", "g", **kwargs)


def test_by_column_named_like_a_result_column():
    frame = _groups().assign(note=["x", "y"] * 6)
    with pytest.raises(ValueError, match=_all("`by`", "'note'", "rename")):
        _run(frame, "y", "g", by="note")


# --------------------------------------------------------------------------------------------
# Hedges' g
# --------------------------------------------------------------------------------------------
def _exact_j(df):
    # Hedges (1981): J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2))
    return math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2))


def test_hedges_g_independent_matches_pingouin():
    frame = _groups(seed=3, n=5)
    res = _run(frame, "y", "g", n_resamples=99, exact=False)
    for row in res.table.itertuples():
        x = frame.y[frame.g == row.level_1].to_numpy()
        y = frame.y[frame.g == row.level_2].to_numpy()
        d = pg.compute_effsize(x, y, eftype="cohen")
        np.testing.assert_allclose(row.hedges_g, d * _exact_j(x.size + y.size - 2), rtol=1e-12)
        # pingouin's hedges uses the approximation J = 1 - 3 / (4 df - 1): 0.1% apart here
        approx = pg.compute_effsize(x, y, eftype="hedges")
        np.testing.assert_allclose(row.hedges_g, approx, rtol=2e-3)


def test_hedges_g_unequal_groups_uses_the_pooled_sd():
    frame = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 6, "y": [1.0, 2.0, 4.0, 3, 5, 6, 8, 9, 11]})
    res = _run(frame, "y", "g")
    a, b = frame.y[:3].to_numpy(), frame.y[3:].to_numpy()
    pooled = np.sqrt((2 * a.var(ddof=1) + 5 * b.var(ddof=1)) / 7)
    expected = (a.mean() - b.mean()) / pooled * _exact_j(7)
    np.testing.assert_allclose(res.table.loc[0, "hedges_g"], expected, rtol=1e-12)


def test_hedges_g_paired_is_d_av_as_pingouin():
    frame = _repeated(seed=4, n_subjects=7)
    res = _run(frame, "y", "cond", subject="subject", paired=True)
    wide = frame.pivot(index="subject", columns="cond", values="y")
    for row in res.table.itertuples():
        x, y = wide[row.level_1].to_numpy(), wide[row.level_2].to_numpy()
        d_av = pg.compute_effsize(x, y, paired=True, eftype="cohen")
        np.testing.assert_allclose(row.hedges_g, d_av * _exact_j(2 * 7 - 2), rtol=1e-12)
        approx = pg.compute_effsize(x, y, paired=True, eftype="hedges")
        np.testing.assert_allclose(row.hedges_g, approx, rtol=1e-3)


def test_hedges_g_within_by_groups():
    frame = _repeated(seed=5, n_subjects=8)
    res = _run(frame, "y", "cond", subject="subject", by="age")
    row = res.table.iloc[4]  # young, mid vs pre
    part = frame[frame.age == row.age].pivot(index="subject", columns="cond", values="y")
    x, y = part[row.level_1].to_numpy(), part[row.level_2].to_numpy()
    d_av = (x.mean() - y.mean()) / np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
    np.testing.assert_allclose(row.hedges_g, d_av * _exact_j(6), rtol=1e-12)


def test_hedges_g_undefined_cases_are_nan():
    # 3 observations: df = 1, J(1) = 0, no unbiased estimator
    frame = pd.DataFrame({"g": ["a", "b", "b"], "y": [1.0, 2.0, 4.0]})
    assert np.isnan(_run(frame, "y", "g").table.loc[0, "hedges_g"])
    # untested comparison
    frame = _repeated(n_subjects=8)
    frame = frame[~((frame.age == "old") & (frame.cond == "post"))]
    with pytest.warns(UserWarning):
        res = _run(frame, "y", "cond", subject="subject", by="age")
    assert res.table.loc[res.table.note.str.startswith("not tested"), "hedges_g"].isna().all()
    # constant pair: 0/0
    frame = _groups(n=4)
    frame.loc[frame.g.isin(["a", "b"]), "y"] = 2.5
    with pytest.warns(RuntimeWarning):
        res = _run(frame, "y", "g")
    assert np.isnan(res.table.loc[0, "hedges_g"]) and np.isfinite(res.table.loc[1, "hedges_g"])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100), shift=st.floats(-1e3, 1e3))
def test_hedges_g_is_affine_invariant_and_antisymmetric(seed, scale, shift):
    frame = _groups(seed=seed, n=4, shifts=(0.0, 1.0))
    ref = _run(frame, "y", "g", n_resamples=9, exact=False).table.loc[0, "hedges_g"]
    moved = frame.assign(y=frame.y * scale + shift)
    out = _run(moved, "y", "g", n_resamples=9, exact=False).table.loc[0, "hedges_g"]
    np.testing.assert_allclose(out, ref, rtol=1e-9)
    flipped = frame.assign(y=-frame.y)
    out = _run(flipped, "y", "g", n_resamples=9, exact=False).table.loc[0, "hedges_g"]
    np.testing.assert_allclose(out, -ref, rtol=1e-12)
