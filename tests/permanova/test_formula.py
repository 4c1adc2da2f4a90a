"""R formulas: parsing (terms, factors, covariates, Error()) and R's model matrices.

The expected matrices below are written out from R's documented rule (``model.matrix``: a
factor of a term is coded by contrasts when the term without it is contained in a
preceding term or is empty, by indicators otherwise; without intercept the first factor
gets indicators), and random designs are checked against patsy, which implements the
same rule independently.
"""

import re
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from permanova._design import build_design
from permanova._formula import Formula, parse_formula
from permanova._model_matrix import ModelMatrix, model_matrix


def _frame(n=24, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "A": np.resize(list("abc"), n),
            "B": np.resize(list("uuvv"), n),
            "C": rng.permutation(np.resize(list("pqr"), n)),
            "x": rng.normal(size=n),
            "z": rng.normal(size=n),
            "id": np.repeat(np.arange(n // 2), 2),
        }
    )


# ---------------------------------------------------------------------------------------
# permuco's own calls, verbatim


def test_emergencycost_formula():
    rng = np.random.default_rng(1)
    data = pd.DataFrame(
        {
            "cost": rng.gamma(2.0, 5000.0, 40),
            "LOSc": rng.normal(size=40),
            "sex": np.resize(["F", "M"], 40),
            "insurance": np.resize(["private", "semi_private", "public"], 40),
        }
    )
    f = parse_formula("cost ~ LOSc*sex*insurance", data)
    assert f.outcome == "cost"
    assert f.term_labels == (
        "LOSc",
        "sex",
        "insurance",
        "LOSc:sex",
        "LOSc:insurance",
        "sex:insurance",
        "LOSc:sex:insurance",
    )
    assert f.factors == ("sex", "insurance")
    assert f.covariates == ("LOSc",)
    assert f.intercept and f.subject is None and f.within == ()
    assert f.levels["insurance"] == ("private", "public", "semi_private")
    mm = model_matrix(f, data)
    # every term has all contrasts: 1 + 1 + 1 + 2 + 1 + 2 + 2 + 2 columns
    assert mm.assign.tolist() == [0, 1, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7]
    assert mm.column_names[-2:] == ("LOSc:sex1:insurance1", "LOSc:sex1:insurance2")


def test_jpah2016_formula():
    rng = np.random.default_rng(2)
    n_subjects, times = 12, ["t1", "t2", "t3"]
    data = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n_subjects), 3),
            "time": np.tile(times, n_subjects),
            "condition": np.repeat(np.resize(["control", "noise"], n_subjects), 3),
            "bmic": np.repeat(rng.normal(size=n_subjects), 3),
        }
    )
    data["iapa"] = rng.normal(size=len(data))
    f = parse_formula("iapa ~ bmic*condition*time + Error(id/time)", data)
    g = parse_formula("iapa ~ bmic*condition*time + Error(id/(time))", data)  # permuco's
    assert (g.terms, g.covariates, g.subject, g.within) == (f.terms, f.covariates, "id", ("time",))
    assert f.term_labels == (
        "bmic",
        "condition",
        "time",
        "bmic:condition",
        "bmic:time",
        "condition:time",
        "bmic:condition:time",
    )
    assert f.covariates == ("bmic",)
    assert f.factors == ("condition", "time")
    assert (f.subject, f.within, f.between) == ("id", ("time",), ("condition",))
    assert f.terms[-1] == ("bmic", "condition", "time")


@pytest.mark.parametrize(
    ("formula", "labels", "subject", "within"),
    [
        (
            "y ~ type * cond + Error(subject/cond)",
            ("type", "cond", "type:cond"),
            "subject",
            ("cond",),
        ),
        (
            "y ~ cond * time + Error(subject/(cond * time))",
            ("cond", "time", "cond:time"),
            "subject",
            ("cond", "time"),
        ),
        ("y ~ x1 + x2 + group", ("x1", "x2", "group"), None, ()),
    ],
)
def test_permuco_formulas(formula, labels, subject, within):
    n = 24
    data = pd.DataFrame(
        {
            "y": np.linspace(0.0, 1.0, n) ** 2,
            "type": np.repeat(["g1", "g2"], n // 2),
            "cond": np.tile(["c1", "c2"], n // 2),
            "time": np.tile(np.repeat(["t1", "t2"], 2), n // 4),
            "subject": np.repeat(np.arange(n // 4), 4),
            "x1": np.arange(n, dtype=float),
            "x2": np.cos(np.arange(n)),
            "group": np.resize(["a", "b", "c"], n),
        }
    )
    f = parse_formula(formula, data)
    assert f.term_labels == labels
    assert (f.subject, f.within) == (subject, within)


def test_full_factorial_is_the_keyword_design():
    # aovperm's keyword form codes between + within factors with _design.build_design
    data = _frame(24)
    codes, n_levels = {}, {}
    for name in ("A", "B"):
        codes[name] = pd.factorize(data[name], sort=True)[0]
        n_levels[name] = int(codes[name].max()) + 1
    design = build_design(codes, n_levels, ["A"], ["B"], data["id"].to_numpy())
    f = parse_formula("y ~ A*B + Error(id/B)", data)
    mm = model_matrix(f, data)
    assert f.term_labels == design.effects and f.terms == design.effect_factors
    np.testing.assert_array_equal(mm.X, design.X)  # the same 0/±1 products
    np.testing.assert_array_equal(mm.assign, design.assign)


def test_lmperm_columns_treatment():
    data = _frame().rename(columns={"A": "group", "x": "x1", "z": "x2"})
    mm = model_matrix(parse_formula("y ~ x1 + x2 + group", data), data, coding="treatment")
    assert mm.column_names == ("(Intercept)", "x1", "x2", "groupb", "groupc")
    assert mm.assign.tolist() == [0, 1, 2, 3, 3]
    expected = np.column_stack(
        [np.ones(24), data.x1, data.x2, data.group == "b", data.group == "c"]
    ).astype(float)
    np.testing.assert_array_equal(mm.X, expected)  # 0/1 indicators and copied values


# ---------------------------------------------------------------------------------------
# R's term order and intercept


@pytest.mark.parametrize(
    ("rhs", "labels"),
    [
        ("A:B + C + A", ("C", "A", "A:B")),
        ("(A + B + C)^2", ("A", "B", "C", "A:B", "A:C", "B:C")),
        ("(A + B + C)^2 - A:B", ("A", "B", "C", "A:C", "B:C")),
        ("A*B*C - A:B", ("A", "B", "C", "A:C", "B:C", "A:B:C")),
        ("(A + B):(C + x)", ("A:C", "A:x", "B:C", "B:x")),
        ("(A + B)/C", ("A", "B", "A:B:C")),
        ("A/B", ("A", "A:B")),
        ("B:A + A", ("A", "B:A")),
        ("A + B:A", ("A", "A:B")),
        ("C + A*B", ("C", "A", "B", "A:B")),
        ("A*B - A", ("B", "A:B")),
        ("A + (B)", ("A", "B")),
        ("x + x^2", ("x",)),
        ("1", ()),
    ],
)
def test_term_order_as_r(rhs, labels):
    f = parse_formula("y ~ " + rhs, _frame())
    assert f.term_labels == labels
    assert f.terms == tuple(tuple(label.split(":")) for label in labels)


@pytest.mark.parametrize(
    ("rhs", "intercept"),
    [
        ("A", True),
        ("A - 1", False),
        ("0 + A", False),
        ("A + 0", False),
        ("-1 + A", False),
        ("0 + 1 + A", True),
        ("A - 0", True),
    ],
)
def test_intercept(rhs, intercept):
    assert parse_formula("y ~ " + rhs, _frame()).intercept is intercept


# ---------------------------------------------------------------------------------------
# factors and covariates


def test_numeric_column_with_few_values_is_a_covariate():
    data = _frame()
    data["dose"] = np.resize([1, 2, 3], len(data))
    f = parse_formula("y ~ dose", data)
    assert (f.covariates, f.factors) == (("dose",), ())
    assert model_matrix(f, data).column_names == ("(Intercept)", "dose")
    g = parse_formula("y ~ C(dose)", data)
    assert (g.covariates, g.factors, g.term_labels) == ((), ("dose",), ("dose",))
    assert g.levels["dose"] == (1, 2, 3)
    assert model_matrix(g, data, "treatment").column_names == ("(Intercept)", "dose2", "dose3")
    assert parse_formula("y ~ factor(dose) * A", data).factors == ("dose", "A")


def test_levels_in_r_order():
    data = _frame(12)
    data["flag"] = np.resize([True, False, False], 12)
    data["size"] = pd.Categorical(
        np.resize(["small", "large"], 12), categories=["small", "medium", "large"]
    )
    data["num"] = np.resize([10.0, 2.0, 2.5], 12)
    f = parse_formula("y ~ flag + size + C(num) + A", data)
    assert f.levels["flag"] == (False, True)
    assert f.levels["size"] == ("small", "large")  # category order, unused dropped
    assert f.levels["num"] == (2.0, 2.5, 10.0)  # numeric order, not text order
    assert f.levels["A"] == ("a", "b", "c")
    mm = model_matrix(f, data, coding="treatment")
    assert mm.column_names == (
        "(Intercept)",
        "flagTRUE",
        "sizelarge",
        "num2.5",
        "num10",
        "Ab",
        "Ac",
    )
    assert model_matrix(f, data).column_names[:3] == ("(Intercept)", "flag1", "size1")


def test_backticked_names():
    data = _frame().rename(columns={"A": "dose level", "x": "my.x"})
    f = parse_formula("y ~ `dose level` * my.x", data)
    assert f.term_labels == ("dose level", "my.x", "dose level:my.x")


# ---------------------------------------------------------------------------------------
# Error()


@pytest.mark.parametrize(
    ("error", "subject", "within"),
    [
        ("Error(id)", "id", ()),
        ("Error(id/B)", "id", ("B",)),
        ("Error(id/(B*C))", "id", ("B", "C")),
        ("Error(id/(C*B))", "id", ("B", "C")),  # in the order of the fixed part
    ],
)
def test_error_shapes(error, subject, within):
    f = parse_formula(f"y ~ A*B*C + {error}", _frame())
    assert (f.subject, f.within) == (subject, within)
    assert f.term_labels == ("A", "B", "C", "A:B", "A:C", "B:C", "A:B:C")


def test_error_term_anywhere_in_the_sum():
    data = _frame()
    first = parse_formula("y ~ Error(id/B) + A*B", data)
    last = parse_formula("y ~ A*B + Error(id/B)", data)
    assert (first.terms, first.within, first.intercept) == (last.terms, last.within, True)
    assert parse_formula("y ~ 0 + A + Error(id)", data).intercept is False


@pytest.mark.parametrize(
    "error",
    [
        "Error(id/(B+C))",
        "Error(id/B/C)",
        "Error(id:B)",
        "Error(B*id)",
        "Error(C(id)/B)",
        "Error(id/log(B))",
    ],
)
def test_error_shapes_refused(error):
    with pytest.raises(
        ValueError, match=r"`formula`.*Error\(subject/within\)|`formula`.*column names only"
    ):
        parse_formula(f"y ~ A*B*C + {error}", _frame())


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ A*Error(id/B) + B", "term of its own"),
        ("y ~ A*B - Error(id/B)", "term of its own"),
        ("y ~ A*B + Error(id/B) + Error(id)", "several Error"),
        ("y ~ A + Error(id/B)", "'B' in Error\\(\\), which must also appear in the fixed part"),
        (
            "y ~ A*x + Error(id/x)",
            "'x' in Error\\(\\), which is a numeric covariate: write C\\(x\\)",
        ),
        ("y ~ A + id + Error(id)", "uses the subject 'id' in the fixed part"),
    ],
)
def test_error_misuse(formula, message):
    with pytest.raises(ValueError, match=message):
        parse_formula(formula, _frame())


# ---------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ A + Q + R", r"columns not in `data`: 'Q', 'R'; available columns"),
        ("A ~ B", r"needs the outcome 'A' to be a numeric column"),
        ("y ~ log(x)", r"uses log\(x\), which is not supported.*data.assign"),
        ("y ~ I(x**2)", r"is not supported"),
        ("log(y) ~ A", r"one outcome column left of '~'"),
        ("y + z ~ A", r"one outcome column left of '~'"),
        ("y ~ A %in% B", r"%in%"),
        ("y ~ A | B", r"several model parts"),
        ("y ~ .", r"the dot"),
        ("y ~ A +", r"not a valid formula"),
        ("y ~ (A", r"not a valid formula"),
        ("y ~ 2*A", r"not a valid formula"),
        (
            "y ~ A + Error(id + id:A)",
            r"not a valid formula: invalid syntax in 'Error\(id \+ id:A\)'",
        ),
        ("y A", r"one '~'"),
        ("y ~ A ~ B", r"one '~'"),
        ("~ A", r"one outcome column"),
        ("y ~ x + C(x)", r"uses 'x' both bare and as C\(x\)"),
        ("y ~ C(x, Sum)", r"uses C\(x, Sum\); C\(\) takes one column name only"),
        ("y ~ y + A", r"uses the outcome 'y' right of '~' too"),
    ],
)
def test_bad_formulas(formula, message):
    with pytest.raises(ValueError, match=r"`formula`.*" + message):
        parse_formula(formula, _frame())


def test_bad_columns():
    data = _frame(12)
    data["flag"] = True
    data["when"] = pd.date_range("2020-01-01", periods=12)
    data["mixed"] = ["a", 1] * 6
    data["yes"] = np.resize([True, False], 12)
    with pytest.raises(ValueError, match=r"factor 'flag', which has 1 level \(True\)"):
        parse_formula("y ~ flag", data)
    with pytest.raises(
        ValueError, match=r"column 'when', which holds values of dtype datetime64.*C\(when\)"
    ):
        parse_formula("y ~ when", data)
    assert parse_formula("y ~ C(when)", data).factors == ("when",)
    with pytest.raises(ValueError, match=r"column 'mixed', which holds values of mixed types"):
        parse_formula("y ~ mixed", data)
    with pytest.raises(ValueError, match=r"needs the outcome 'yes' to be a numeric column.*bool"):
        parse_formula("yes ~ A", data)
    with pytest.raises(TypeError, match=r"`formula` must be a string"):
        parse_formula(["y ~ A"], data)
    with pytest.raises(TypeError, match=r"`data` must be a pandas DataFrame"):
        parse_formula("y ~ A", data.to_dict())


def test_missing_and_infinite_values_name_columns_and_rows():
    data = _frame(12)
    data.loc[[3, 7], "x"] = np.nan
    data.loc[5, "A"] = None
    with pytest.raises(ValueError, match=r"'A' in rows \[5\]; 'x' in rows \[3, 7\]"):
        parse_formula("y ~ A * x", data)
    parse_formula("y ~ A", data.dropna(subset=["A"]))  # unused columns may have gaps
    data = _frame(12)
    data.loc[4, "x"] = np.inf
    with pytest.raises(ValueError, match=r"covariate 'x' has infinite values in rows \[4\]"):
        parse_formula("y ~ x", data)
    data.loc[2, "y"] = -np.inf
    with pytest.raises(ValueError, match=r"outcome 'y' has infinite values in rows \[2\]"):
        parse_formula("y ~ A", data)


def test_model_matrix_arguments():
    data = _frame()
    f = parse_formula("y ~ A", data)
    with pytest.raises(ValueError, match=r"`coding` must be 'sum' or 'treatment'; got 'helmert'"):
        model_matrix(f, data, coding="helmert")
    with pytest.raises(TypeError, match=r"`parsed` must be a Formula"):
        model_matrix("y ~ A", data)
    g = parse_formula("y ~ x", data)
    with pytest.raises(ValueError, match=r"column 'x' is not numeric"):
        model_matrix(g, data.assign(x=np.resize(["lo", "hi"], len(data))))


def test_inputs_not_modified_and_results_read_only():
    data = _frame()
    data["size"] = pd.Categorical(
        np.resize(["s", "m", "l"], len(data)), categories=["s", "m", "l", "xl"]
    )
    before = data.copy(deep=True)
    f = parse_formula("y ~ size * x + A + Error(id)", data)
    mm = model_matrix(f, data)
    pd.testing.assert_frame_equal(data, before)
    assert isinstance(f, Formula) and isinstance(mm, ModelMatrix)
    assert not mm.X.flags.writeable and not mm.assign.flags.writeable
    frame = mm.to_frame()
    frame.iloc[0, 0] = 99.0
    assert mm.X[0, 0] == 1.0
    assert list(frame.columns) == list(mm.column_names)
    with pytest.raises(AttributeError):
        f.outcome = "z"


# ---------------------------------------------------------------------------------------
# model matrices written out from R's rule

# rows: (a, u), (b, u), (c, u), (a, v), (b, v), (c, v)
_AB = pd.DataFrame({"y": np.arange(6.0), "A": list("abcabc"), "B": list("uuuvvv")})


def test_nested_term_treatment_as_r():
    mm = model_matrix(parse_formula("y ~ A + A:B", _AB), _AB, coding="treatment")
    assert mm.column_names == ("(Intercept)", "Ab", "Ac", "Aa:Bv", "Ab:Bv", "Ac:Bv")
    expected = [
        [1, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0],
        [1, 0, 0, 1, 0, 0],
        [1, 1, 0, 0, 1, 0],
        [1, 0, 1, 0, 0, 1],
    ]
    np.testing.assert_array_equal(mm.X, expected)
    assert mm.assign.tolist() == [0, 1, 1, 2, 2, 2]


def test_nested_term_sum_as_r():
    mm = model_matrix(parse_formula("y ~ A + A:B", _AB), _AB)
    assert mm.column_names == ("(Intercept)", "A1", "A2", "Aa:B1", "Ab:B1", "Ac:B1")
    expected = [
        [1, 1, 0, 1, 0, 0],
        [1, 0, 1, 0, 1, 0],
        [1, -1, -1, 0, 0, 1],
        [1, 1, 0, -1, 0, 0],
        [1, 0, 1, 0, -1, 0],
        [1, -1, -1, 0, 0, -1],
    ]
    np.testing.assert_array_equal(mm.X, expected)


def test_nested_term_two_by_three_has_four_columns():
    data = pd.DataFrame({"y": np.arange(6.0), "A": list("ababab"), "B": list("uuvvww")})
    mm = model_matrix(parse_formula("y ~ A + A:B", data), data, coding="treatment")
    assert mm.column_names == ("(Intercept)", "Ab", "Aa:Bv", "Ab:Bv", "Aa:Bw", "Ab:Bw")
    np.testing.assert_array_equal(
        mm.X,
        [
            [1, 0, 0, 0, 0, 0],
            [1, 1, 0, 0, 0, 0],
            [1, 0, 1, 0, 0, 0],
            [1, 1, 0, 1, 0, 0],
            [1, 0, 0, 0, 1, 0],
            [1, 1, 0, 0, 0, 1],
        ],
    )


def test_interaction_without_main_effects_as_r():
    # R keeps every cell indicator next to the intercept (rank 6 of 7 columns).
    mm = model_matrix(parse_formula("y ~ A:B", _AB), _AB)
    assert mm.column_names == ("(Intercept)", "Aa:Bu", "Ab:Bu", "Ac:Bu", "Aa:Bv", "Ab:Bv", "Ac:Bv")
    np.testing.assert_array_equal(mm.X, np.column_stack([np.ones(6), np.eye(6)]))
    no_intercept = model_matrix(parse_formula("y ~ 0 + A:B", _AB), _AB)
    np.testing.assert_array_equal(no_intercept.X, np.eye(6))


def test_no_intercept_as_r():
    mm = model_matrix(parse_formula("y ~ 0 + A + B", _AB), _AB)
    assert mm.column_names == ("Aa", "Ab", "Ac", "B1")
    np.testing.assert_array_equal(
        mm.X,
        [[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, -1], [0, 1, 0, -1], [0, 0, 1, -1]],
    )
    assert mm.assign.tolist() == [1, 1, 1, 2]
    covariate_first = model_matrix(
        parse_formula("y ~ 0 + x + A", _AB.assign(x=np.arange(6.0))), _AB.assign(x=np.arange(6.0))
    )
    assert covariate_first.column_names == ("x", "Aa", "Ab", "Ac")


def test_covariate_terms_as_r():
    data = _AB.assign(x=[0.5, 1.0, 2.0, -1.0, 3.0, 4.0])
    mm = model_matrix(parse_formula("y ~ A * x", data), data, coding="treatment")
    assert mm.column_names == ("(Intercept)", "Ab", "Ac", "x", "Ab:x", "Ac:x")
    x = data.x.to_numpy()
    b, c = (data.A == "b").to_numpy(float), (data.A == "c").to_numpy(float)
    np.testing.assert_array_equal(mm.X, np.column_stack([np.ones(6), b, c, x, b * x, c * x]))
    assert model_matrix(parse_formula("y ~ x * A", data), data).column_names == (
        "(Intercept)",
        "x",
        "A1",
        "A2",
        "x:A1",
        "x:A2",
    )
    slopes = model_matrix(parse_formula("y ~ A:x", data), data, coding="treatment")
    assert slopes.column_names == ("(Intercept)", "Aa:x", "Ab:x", "Ac:x")
    nested = model_matrix(parse_formula("y ~ x + x:A", data), data, coding="treatment")
    assert nested.column_names == ("(Intercept)", "x", "x:Ab", "x:Ac")


def test_contained_in_a_preceding_term_as_r():
    # B:C after A:B: C is coded by contrasts, since B is contained in A:B (R's TermCode)
    data = _frame(36)
    mm = model_matrix(parse_formula("y ~ A:B + B:C", data), data, coding="treatment")
    assert mm.column_names[7:] == ("Bu:Cq", "Bv:Cq", "Bu:Cr", "Bv:Cr")
    assert mm.assign.tolist() == [0] + [1] * 6 + [2] * 4


# ---------------------------------------------------------------------------------------
# cross-check with patsy

patsy = pytest.importorskip("patsy")
# (not "C": patsy would take the column for its C() function)
_VARIABLES = ("A", "B", "D", "x")
_TERMS = [t for k in (1, 2, 3) for t in combinations(_VARIABLES, k)]
_LEVELS = {"A": list("abc"), "B": list("uv"), "D": list("pqr")}


def _random_data(seed: int, replicates: int = 3) -> pd.DataFrame:
    """Every cell of A x B x D observed ``replicates`` times, rows shuffled, random x."""
    rng = np.random.default_rng(seed)
    cells = pd.MultiIndex.from_product(list(_LEVELS.values()), names=list(_LEVELS))
    data = cells.to_frame(index=False).loc[np.repeat(np.arange(len(cells)), replicates)]
    data = data.sample(frac=1.0, random_state=rng).reset_index(drop=True)
    return data.assign(y=rng.normal(size=len(data)), x=rng.normal(size=len(data)))


def _patsy_name(name: str, levels: dict) -> str | None:
    """patsy's column name in R's spelling (None for patsy's 'mean' columns)."""
    if name == "Intercept":
        return "(Intercept)"
    parts = []
    for part in name.split(":"):
        summed = re.fullmatch(r"C\((\w), Sum\)\[S\.(\w+)\]", part)
        plain = re.fullmatch(r"(\w)\[(?:T\.)?(\w+)\]", part)
        if summed:
            var, level = summed.groups()
            parts.append(f"{var}{levels[var].index(level) + 1}")
        elif plain:
            parts.append("".join(plain.groups()))
        elif re.fullmatch(r"\w", part):
            parts.append(part)
        else:
            return None
    return ":".join(sorted(parts))


def _our_names(mm: ModelMatrix) -> list:
    return [n if n == "(Intercept)" else ":".join(sorted(n.split(":"))) for n in mm.column_names]


def _compare_with_patsy(terms, intercept, coding, seed, equal_spans=True):
    """Our matrix, patsy's, and patsy's column names in R's spelling; checks the spans."""
    data = _random_data(seed)
    rhs = " + ".join(":".join(t) for t in terms)
    formula = f"y ~ {'' if intercept else '0 + '}{rhs}"
    ours = model_matrix(parse_formula(formula, data), data, coding=coding)
    wrap = (lambda v: f"C({v}, Sum)" if v in _LEVELS else v) if coding == "sum" else str
    patsy_rhs = " + ".join(":".join(map(wrap, t)) for t in terms)
    theirs = patsy.dmatrix(
        f"{'1' if intercept else '0'} + {patsy_rhs}", data, return_type="dataframe"
    )
    rank = np.linalg.matrix_rank
    both = rank(np.hstack([ours.X, theirs.to_numpy()]))
    assert both == rank(theirs.to_numpy())  # ours lies in the span of the terms
    if equal_spans:
        assert rank(ours.X) == both
    names = [_patsy_name(n, _LEVELS) for n in theirs.columns]
    if None not in names and sorted(names) == sorted(_our_names(ours)):
        by_name = dict(zip(_our_names(ours), ours.X.T))
        for name, column in zip(names, theirs.to_numpy().T):
            np.testing.assert_array_equal(by_name[name], column)  # products of 0, ±1 and x
    return ours, names


_FACTOR_TERMS = [t for t in _TERMS if "x" not in t]
_CODINGS = st.sampled_from(["sum", "treatment"])
_SEEDS = st.integers(0, 2**16)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    terms=st.lists(st.sampled_from(_FACTOR_TERMS), min_size=1, max_size=5, unique=True),
    intercept=st.booleans(),
    coding=_CODINGS,
    seed=_SEEDS,
)
def test_factor_models_span_what_patsy_spans(terms, intercept, coding, seed):
    _compare_with_patsy(terms, intercept, coding, seed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    terms=st.lists(st.sampled_from(_TERMS), min_size=1, max_size=5, unique=True),
    intercept=st.booleans(),
    coding=_CODINGS,
    seed=_SEEDS,
)
def test_models_with_a_covariate_lie_in_what_patsy_spans(terms, intercept, coding, seed):
    # R's rule takes "B is contained in B:x" for B being in the model, and may then code a
    # factor by contrasts where patsy keeps the full span: R's matrix can span less.
    _compare_with_patsy(terms, intercept, coding, seed, equal_spans=False)


def test_r_rule_with_a_covariate_term_spans_less_than_patsy():
    # y ~ 0 + B:x + A + A:B: A:B codes B by contrasts (A precedes) and A by contrasts too
    # (B is contained in the preceding B:x), so R gives 2 columns where patsy gives 3.
    ours, names = _compare_with_patsy(
        [("B", "x"), ("A",), ("A", "B")], False, "treatment", 0, equal_spans=False
    )
    assert ours.term_labels == ("A", "B:x", "B:A")
    assert ours.column_names == ("Aa", "Ab", "Ac", "Bu:x", "Bv:x", "Bv:Ab", "Bv:Ac")
    assert np.linalg.matrix_rank(ours.X) == 7 and len(names) == 8


def _closure(terms):
    closed = {
        frozenset(s) for t in terms for k in range(1, len(t) + 1) for s in combinations(t, k)
    }
    return sorted((tuple(v for v in _VARIABLES if v in s) for s in closed), key=len)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    generators=st.lists(st.sampled_from(_TERMS), min_size=1, max_size=3, unique=True),
    coding=_CODINGS,
    seed=_SEEDS,
)
def test_hierarchical_models_match_patsy_column_by_column(generators, coding, seed):
    ours, names = _compare_with_patsy(_closure(generators), True, coding, seed)
    assert sorted(names) == sorted(_our_names(ours))  # so every column was compared
    assert np.linalg.matrix_rank(ours.X) == ours.X.shape[1]
