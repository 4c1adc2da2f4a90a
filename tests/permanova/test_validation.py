"""Bad input to ``permanova.aovperm``: clear errors that name the culprit; frames untouched."""

import copy
import re

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

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
WITHIN_METHODS = ["rd_kheradpajouh_renaud", "rde_kheradpajouh_renaud"]


def _all(*words):
    """Regex matching a message that contains every one of ``words`` (any order)."""
    return "(?s)" + "".join(f"(?=.*{re.escape(str(w))})" for w in words)


def _between(n_per_group=6, seed=0):
    rng = np.random.default_rng(seed)
    groups = np.repeat(["a", "b", "c"], n_per_group)
    return pd.DataFrame(
        {
            "y": rng.normal(size=groups.size),
            "g": groups,
            "h": np.tile(["u", "v"], groups.size // 2),
            "label": [f"r{i}" for i in range(groups.size)],
        }
    )


def _mixed(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(8):
        for cond in ("pre", "mid", "post"):
            rows.append((f"s{s:02d}", "child" if s < 4 else "adult", cond, rng.normal()))
    return pd.DataFrame(rows, columns=["subject", "type", "cond", "y"])


MIXED = {"subject": "subject", "between": "type", "within": "cond"}


def _raises(frame, error, match, **kwargs):
    """aovperm(frame, **kwargs) raises ``error`` matching ``match``; frame left unchanged."""
    before = copy.deepcopy(frame)
    kwargs.setdefault("dv", "y")
    kwargs.setdefault("n_resamples", 19)
    kwargs.setdefault("random_state", 0)
    with pytest.raises(error, match=match):
        permanova.aovperm(frame, **kwargs)
    pd.testing.assert_frame_equal(frame, before)


# --------------------------------------------------------------------------------------------
# the frame and its columns
# --------------------------------------------------------------------------------------------
def test_data_must_be_a_dataframe():
    with pytest.raises(TypeError, match="data"):
        permanova.aovperm(_between().to_dict("list"), "y", between="g")


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"dv": "score", "between": "g"}, "score"),
        ({"between": "group"}, "group"),
        ({"between": ["g", "hh"]}, "hh"),
    ],
)
def test_missing_between_columns_are_named(kwargs, missing):
    _raises(_between(), ValueError, _all(missing), **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({**MIXED, "subject": "id"}, "id"),
        ({**MIXED, "within": "session"}, "session"),
        ({**MIXED, "between": "kind"}, "kind"),
    ],
)
def test_missing_repeated_measures_columns_are_named(kwargs, missing):
    _raises(_mixed(), ValueError, _all(missing), **kwargs)


def test_non_numeric_outcome():
    frame = _between()
    _raises(frame, TypeError, _all("label"), dv="label", between="g")
    frame = _between().assign(y=lambda d: d["y"].round(2).astype(str))
    _raises(frame, TypeError, _all("y"), between="g")


def test_nan_in_outcome_names_the_rows():
    frame = _between()
    frame.loc[[13, 17], "y"] = np.nan
    _raises(frame, ValueError, _all("y", "13", "17"), between="g")


def test_nan_in_outcome_names_the_index_labels():
    frame = _between()
    frame.index = [f"obs{i}" for i in range(len(frame))]
    frame.loc["obs4", "y"] = np.nan
    _raises(frame, ValueError, _all("y", "obs4"), between="g")


def test_nan_in_between_factor_names_the_rows():
    frame = _between()
    frame.loc[11, "g"] = None
    _raises(frame, ValueError, _all("g", "11"), between="g")
    frame = _between()
    frame.loc[14, "h"] = np.nan
    _raises(frame, ValueError, _all("h", "14"), between=["g", "h"])


def test_nan_in_within_factor_and_subject_names_the_rows():
    frame = _mixed()
    frame.loc[19, "cond"] = None
    _raises(frame, ValueError, _all("cond", "19"), **MIXED)
    frame = _mixed()
    frame.loc[22, "subject"] = None
    _raises(frame, ValueError, _all("subject", "22"), **MIXED)


def test_factor_with_a_single_level():
    frame = _between().assign(g="a")
    _raises(frame, ValueError, _all("g"), between="g")
    frame = _mixed().assign(cond="pre")
    _raises(frame, ValueError, _all("cond"), **MIXED)


def test_subject_missing_a_within_cell_is_named():
    frame = _mixed()
    drop = frame.index[(frame["subject"] == "s03") & (frame["cond"] == "mid")]
    frame = frame.drop(index=drop)
    _raises(frame, ValueError, _all("s03"), **MIXED)


def test_subject_with_two_rows_in_a_within_cell_is_named():
    frame = _mixed()
    frame.loc[frame.index[(frame["subject"] == "s05") & (frame["cond"] == "post")], "cond"] = "pre"
    # s05 now has two "pre" rows and no "post" row; either complaint must name s05
    _raises(frame, ValueError, _all("s05"), **MIXED)
    extra = _mixed()
    extra = pd.concat([extra, extra[extra["subject"] == "s06"].iloc[[0]]], ignore_index=True)
    _raises(extra, ValueError, _all("s06"), **MIXED)


def test_subject_in_two_between_groups_is_named():
    frame = _mixed()
    frame.loc[(frame["subject"] == "s02") & (frame["cond"] == "post"), "type"] = "adult"
    _raises(frame, ValueError, _all("s02"), **MIXED)


def test_within_without_subject():
    _raises(_mixed(), ValueError, _all("subject"), within="cond")


def test_no_factor_at_all():
    with pytest.raises(ValueError, match="between|within"):
        permanova.aovperm(_between(), "y")


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------
def test_unknown_method_lists_the_valid_ones():
    _raises(_between(), ValueError, _all("freedman-lane", *BETWEEN_METHODS), between="g",
            method="freedman-lane")  # fmt: skip
    _raises(_mixed(), ValueError, _all("kheradpajouh", *WITHIN_METHODS), method="kheradpajouh",
            **MIXED)  # fmt: skip


@pytest.mark.parametrize("method", WITHIN_METHODS)
def test_within_method_on_a_between_design(method):
    _raises(_between(), ValueError, _all(method), between="g", method=method)


@pytest.mark.parametrize("method", ["freedman_lane", "manly", "huh_jhun", "dekker"])
def test_between_method_on_a_repeated_measures_design(method):
    _raises(_mixed(), ValueError, _all(method), method=method, **MIXED)


# --------------------------------------------------------------------------------------------
# parameters
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_resamples", [0, -3])
def test_n_resamples_below_one(n_resamples):
    _raises(_between(), ValueError, _all("n_resamples", str(n_resamples)), between="g",
            n_resamples=n_resamples)  # fmt: skip


@pytest.mark.parametrize("n_resamples", [2.5, "1000", None])
def test_n_resamples_not_an_integer(n_resamples):
    _raises(_between(), (TypeError, ValueError), _all("n_resamples"), between="g",
            n_resamples=n_resamples)  # fmt: skip


def test_exact_with_an_astronomical_count():
    # 60 observations in 3 groups of 20: about 5.8e26 distinct group assignments
    frame = _between(n_per_group=20)
    _raises(frame, ValueError, _all("exact"), between="g", exact=True)
    _raises(_mixed(), ValueError, _all("exact"), exact=True, **MIXED)


@pytest.mark.parametrize("exact", ["yes", 2, None])
def test_exact_bad_value(exact):
    _raises(_between(), (TypeError, ValueError), _all("exact"), between="g", exact=exact)


def test_alternative_bad_value():
    _raises(_between(), ValueError, _all("alternative", "sideways"), between="g",
            alternative="sideways")  # fmt: skip


@pytest.mark.parametrize("batch_size", [0, -1])
def test_batch_size_bad_value(batch_size):
    _raises(_between(), ValueError, _all("batch_size"), between="g", batch_size=batch_size)


# --------------------------------------------------------------------------------------------
# user permutation matrices
# --------------------------------------------------------------------------------------------
def _random_perms(n_rows, n_units, seed=0):
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_rows, n_units)), axis=1)


def test_valid_user_permutations_are_accepted():
    frame = _between()
    perms = _random_perms(30, len(frame))
    res = permanova.aovperm(frame, "y", between="g", permutations=perms)
    assert res.n_resamples == 30
    assert not res.exact


@pytest.mark.parametrize(
    "perms",
    [
        _random_perms(10, 17),  # one unit short
        _random_perms(10, 19),  # one unit too many
        _random_perms(10, 18)[0],  # 1-D
        _random_perms(10, 18)[None],  # 3-D
        np.empty((0, 18), dtype=np.intp),  # no permutation
    ],
    ids=["short", "long", "1d", "3d", "empty"],
)
def test_user_permutations_wrong_shape(perms):
    _raises(_between(), ValueError, _all("permutations"), between="g", permutations=perms)


def test_user_permutations_float_dtype():
    perms = _random_perms(10, 18).astype(float)
    _raises(_between(), TypeError, _all("permutations"), between="g", permutations=perms)


@pytest.mark.parametrize("kind", ["duplicate", "out_of_range", "negative", "one_based"])
def test_user_permutations_row_not_a_permutation(kind):
    perms = _random_perms(10, 18)
    if kind == "duplicate":
        perms[4, perms[4] == 0] = 1  # index 1 appears twice, 0 never
    elif kind == "out_of_range":
        perms[7, perms[7] == 17] = 18
    elif kind == "negative":
        perms[2, perms[2] == 0] = -1
    else:
        perms = perms + 1  # a permuco column matrix not shifted to 0-based
    _raises(_between(), ValueError, _all("permutations"), between="g", permutations=perms)


def test_user_permutations_repeated_measures_units_are_observations():
    frame = _mixed()
    n_subjects = frame["subject"].nunique()
    # the units are the 24 observations, not the 8 subjects
    _raises(frame, ValueError, _all("permutations"),
            permutations=_random_perms(10, n_subjects), **MIXED)  # fmt: skip
    res = permanova.aovperm(frame, "y", permutations=_random_perms(10, len(frame)), **MIXED)
    assert res.n_resamples == 10


def test_huh_jhun_units_are_the_rotated_residuals():
    # huh_jhun permutes n - rank(reduced model) = 18 - 1 rotated residuals, not 18 rows
    frame = _between()
    _raises(frame, ValueError, _all("permutations"), between="g", method="huh_jhun",
            permutations=_random_perms(10, len(frame)))  # fmt: skip
    res = permanova.aovperm(
        frame, "y", between="g", method="huh_jhun", permutations=_random_perms(10, 17)
    )
    assert res.n_resamples == 10


def _helmert_v(n):
    """(n - 1) x n orthonormal rows orthogonal to the intercept (a valid huh_jhun V)."""
    return linalg.helmert(n)


def test_huh_jhun_user_rotation_is_validated():
    frame = _between()
    n = len(frame)
    ok = permanova.aovperm(
        frame, "y", between="g", method="huh_jhun", rotation=_helmert_v(n), n_resamples=19
    )
    assert ok.n_resamples == 19
    _raises(frame, ValueError, _all("rotation"), between="g", method="huh_jhun",
            rotation=np.eye(n - 2, n))  # fmt: skip
    _raises(frame, ValueError, _all("rotation"), between="g", method="huh_jhun",
            rotation=2.0 * _helmert_v(n))  # fmt: skip
    not_orthogonal_to_d = np.eye(n)[: n - 1]  # orthonormal rows, not orthogonal to 1
    _raises(frame, ValueError, _all("rotation"), between="g", method="huh_jhun",
            rotation=not_orthogonal_to_d)  # fmt: skip
    _raises(frame, ValueError, _all("rotation"), between="g", method="freedman_lane",
            rotation=np.eye(n))  # fmt: skip


# --------------------------------------------------------------------------------------------
# valid calls leave the frame untouched too
# --------------------------------------------------------------------------------------------
def test_valid_calls_do_not_modify_the_frame():
    frame = _mixed()
    frame["type"] = pd.Categorical(frame["type"], categories=["child", "adult"])
    frame.index = frame.index[::-1] + 100
    before = copy.deepcopy(frame)
    permanova.aovperm(frame, "y", n_resamples=19, random_state=0, **MIXED)
    pd.testing.assert_frame_equal(frame, before)
    between = _between()
    before = copy.deepcopy(between)
    permanova.aovperm(between, "y", between=["g", "h"], n_resamples=19, random_state=0)
    pd.testing.assert_frame_equal(between, before)


def _dup_index(frame):
    return frame.set_axis([0] * len(frame))


def _multi_index(frame):
    idx = pd.MultiIndex.from_arrays([np.arange(len(frame)) % 3, np.arange(len(frame))])
    return frame.set_axis(idx)


def _numeric_ids(frame):
    return frame.assign(
        subject=frame["subject"].str[1:].astype(int),
        # numbers in the order of the labels: the levels' order is the table's order
        cond=frame["cond"].map({"mid": 1, "post": 2, "pre": 3}),
    )


def _nullable_dtypes(frame):
    return frame.astype({"y": "Float64", "subject": "string", "type": "string"})


def _unused_category(frame):
    kind = pd.Categorical(frame["type"], categories=["adult", "child", "unused"])
    return frame.assign(type=kind)


@pytest.mark.parametrize(
    "variant", [_dup_index, _multi_index, _numeric_ids, _nullable_dtypes, _unused_category]
)
def test_frame_variants_give_the_same_table(variant):
    frame = _mixed(seed=3)
    ref = permanova.aovperm(frame, "y", n_resamples=99, random_state=0, **MIXED)
    other = variant(frame)
    before = copy.deepcopy(other)
    res = permanova.aovperm(other, "y", n_resamples=99, random_state=0, **MIXED)
    pd.testing.assert_frame_equal(res.table, ref.table)
    pd.testing.assert_frame_equal(other, before)


def test_pandas_na_in_a_nullable_outcome_names_the_row():
    frame = _mixed().astype({"y": "Float64"})
    frame.loc[9, "y"] = pd.NA
    _raises(frame, ValueError, _all("y", "9"), **MIXED)


# --------------------------------------------------------------------------------------------
# column labels: unique, one level, any hashable label
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("last", "role"),
    [("y", "dv"), ("type", "between"), ("cond", "within"), ("subject", "subject")],
)
def test_duplicated_column_in_use_is_named(last, role):
    frame = _mixed().assign(extra=1.0)
    frame = frame.set_axis(["subject", "type", "cond", "y", last], axis=1)
    _raises(frame, ValueError, _all("unique", f"{last!r} (`{role}`)"), **MIXED)


def test_unused_duplicated_column_is_ignored():
    frame = _between()
    ref = permanova.aovperm(frame, "y", between="g", n_resamples=99, random_state=0)
    twice = frame.set_axis(["y", "g", "label", "label"], axis=1)
    res = permanova.aovperm(twice, "y", between="g", n_resamples=99, random_state=0)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_multiindex_columns_are_rejected():
    frame = _between()
    frame.columns = pd.MultiIndex.from_product([["x"], frame.columns])
    _raises(frame, ValueError, _all("MultiIndex", "data"), dv=("x", "y"), between=("x", "g"))


def test_integer_column_labels_are_accepted():
    frame = _mixed(seed=2)
    ref = permanova.aovperm(frame, "y", n_resamples=99, random_state=0, **MIXED)
    numbered = frame.set_axis([10, 11, 12, 13], axis=1)
    res = permanova.aovperm(
        numbered, 13, subject=10, between=11, within=12, n_resamples=99, random_state=0
    )
    assert res.table.index.tolist() == ["11", "12", "11:12"]
    np.testing.assert_array_equal(res.table.to_numpy(), ref.table.to_numpy())
    _raises(numbered, ValueError, _all("14", "`within`"), dv=13, subject=10, within=14)


def test_labels_that_would_share_an_effect_name():
    frame = _between().assign(h2=lambda d: d["h"]).set_axis(["y", "g", "h", "label", 1], axis=1)
    frame = frame.rename(columns={"h": "1"})
    _raises(frame, ValueError, _all("'1'", "1", "rename"), between=["1", 1])


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"dv": [["y"]], "between": "g"}, "`dv`"),
        ({"dv": None, "between": "g"}, "`dv`"),
        ({"between": [["g"]]}, "`between`"),
        ({"between": {"g"}}, "`between`"),
        ({**MIXED, "subject": ["subject"]}, "`subject`"),
    ],
)
def test_labels_must_be_hashable(kwargs, word):
    frame = _mixed() if "subject" in kwargs else _between()
    _raises(frame, TypeError, _all(word), **kwargs)


# --------------------------------------------------------------------------------------------
# outcome and factor dtypes
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("convert", "words"),
    [
        (lambda y: y.astype(complex), ("y", "complex")),
        (lambda y: y + 1j, ("y", "complex")),
        (lambda y: y.astype(complex).astype(object), ("y", "complex")),
        (lambda y: y.astype(str).astype(object), ("y", "text", "pd.to_numeric")),
        (lambda y: y.astype(str).astype("string"), ("y", "text", "pd.to_numeric")),
        (lambda y: y > 0, ("y", "boolean")),
        (lambda y: pd.to_datetime(y * 1e9), ("y", "numeric")),
        (lambda y: pd.Categorical(y.round(1)), ("y", "numeric")),
    ],
    ids=[
        "complex",
        "complex-imag",
        "complex-object",
        "text-object",
        "text-string",
        "bool",
        "datetime",
        "categorical",
    ],  # fmt: skip
)
def test_outcome_types(convert, words):
    frame = _between()
    _raises(frame.assign(y=convert(frame["y"])), TypeError, _all(*words), between="g")


def test_object_outcome_holding_numbers_is_read_as_numbers():
    frame = _between()
    ref = permanova.aovperm(frame, "y", between="g", n_resamples=99, random_state=0)
    boxed = frame.assign(y=frame["y"].astype(object))
    res = permanova.aovperm(boxed, "y", between="g", n_resamples=99, random_state=0)
    pd.testing.assert_frame_equal(res.table, ref.table)
    boxed.loc[4, "y"] = None
    _raises(boxed, ValueError, _all("y", "missing", "4"), between="g")


def test_boolean_factors():
    frame = _mixed(seed=4)
    ref = permanova.aovperm(frame, "y", n_resamples=99, random_state=0, **MIXED)
    flagged = frame.assign(type=frame["type"] == "child")
    res = permanova.aovperm(flagged, "y", n_resamples=99, random_state=0, **MIXED)
    np.testing.assert_array_equal(res.table.to_numpy(), ref.table.to_numpy())


# --------------------------------------------------------------------------------------------
# n_resamples and batch_size: integers from 1 to 2**63 - 1
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_resamples",
    [10**20, 2**63, np.uint64(2**64 - 1), 1e20, float("inf"), float("nan"), 1e4 + 0.5],
    ids=["10**20", "2**63", "uint64-max", "1e20", "inf", "nan", "fractional"],
)
def test_n_resamples_out_of_range_is_a_value_error(n_resamples):
    _raises(_between(), ValueError, _all("n_resamples"), between="g", n_resamples=n_resamples)


@pytest.mark.parametrize("n_resamples", [True, np.bool_(False), "100", 1j])
def test_n_resamples_of_a_wrong_type(n_resamples):
    _raises(_between(), TypeError, _all("n_resamples"), between="g", n_resamples=n_resamples)


@pytest.mark.parametrize("n_resamples", [99, 99.0, np.int64(99), np.uint16(99), np.float32(99)])
def test_n_resamples_integral_values_of_any_type(n_resamples):
    res = permanova.aovperm(
        _between(), "y", between="g", n_resamples=n_resamples, exact=False, random_state=0
    )
    assert res.n_resamples == 99 and type(res.n_resamples) is int


def test_positive_int_bounds():
    from permanova._arguments import check_positive_int

    assert check_positive_int(2**63 - 1, "n") == 2**63 - 1
    assert check_positive_int(1e4, "n") == 10_000
    with pytest.raises(ValueError, match=_all("`batch_size`", "2**63 - 1")):
        check_positive_int(2**63, "batch_size")


# --------------------------------------------------------------------------------------------
# random_state: seeds are never modified; generators are advanced
# --------------------------------------------------------------------------------------------
def _p(frame, random_state):
    res = permanova.aovperm(frame, "y", between=["g", "h"], n_resamples=199,
                            random_state=random_state)  # fmt: skip
    return res.table["p_permutation"].to_numpy()


def test_same_seed_sequence_twice_gives_the_same_result():
    frame = _between()
    seed = np.random.SeedSequence(2024)
    first = _p(frame, seed)
    assert seed.n_children_spawned == 0
    np.testing.assert_array_equal(_p(frame, seed), first)
    np.testing.assert_array_equal(_p(frame, np.random.SeedSequence(2024)), first)


def test_seed_sequence_that_already_spawned_is_copied_with_its_state():
    frame = _between()
    seed = np.random.SeedSequence(7)
    seed.spawn(2)
    state = (seed.entropy, seed.spawn_key, seed.pool_size, seed.n_children_spawned)
    first = _p(frame, seed)
    assert (seed.entropy, seed.spawn_key, seed.pool_size, seed.n_children_spawned) == state
    np.testing.assert_array_equal(_p(frame, seed), first)


def test_generator_and_bit_generator_are_used_and_advanced():
    frame = _between()
    rng = np.random.default_rng(3)
    first = _p(frame, rng)
    assert rng.bit_generator.seed_seq.n_children_spawned > 0
    np.testing.assert_array_equal(_p(frame, np.random.default_rng(3)), first)
    bits = np.random.PCG64(3)
    np.testing.assert_array_equal(_p(frame, bits), first)
    assert bits.seed_seq.n_children_spawned > 0


def test_random_state_is_accepted_and_advanced():
    frame = _between()
    legacy = np.random.RandomState(11)
    first = _p(frame, legacy)
    assert legacy.randint(2**31) != np.random.RandomState(11).randint(2**31)
    np.testing.assert_array_equal(_p(frame, np.random.RandomState(11)), first)


@pytest.mark.parametrize(
    ("seed", "error"),
    [
        (1.5, TypeError),
        ("0", TypeError),
        (True, TypeError),
        (object(), TypeError),
        ([1.0, 2.0], TypeError),
        (-1, ValueError),
        ([3, -2], ValueError),
    ],  # fmt: skip
)
def test_bad_random_state(seed, error):
    _raises(_between(), error, _all("random_state"), between="g", random_state=seed)


# --------------------------------------------------------------------------------------------
# user permutation matrices are only read
# --------------------------------------------------------------------------------------------
def test_user_permutations_are_not_modified():
    frame = _between()
    perms = _random_perms(25, len(frame), seed=4)
    before = perms.copy()
    first = permanova.aovperm(frame, "y", between="g", permutations=perms)
    np.testing.assert_array_equal(perms, before)
    perms.flags.writeable = False
    again = permanova.aovperm(frame, "y", between="g", permutations=perms)
    pd.testing.assert_frame_equal(again.table, first.table)


def test_user_permutation_dict_is_not_modified():
    frame = _between()
    perms = {"g": _random_perms(25, len(frame) - 1, seed=5)}
    before = {k: v.copy() for k, v in perms.items()}
    for v in perms.values():
        v.flags.writeable = False
    permanova.aovperm(frame, "y", between="g", method="huh_jhun", permutations=perms)
    assert perms.keys() == before.keys()
    np.testing.assert_array_equal(perms["g"], before["g"])
