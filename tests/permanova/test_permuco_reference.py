"""Every case of R permuco 1.1.3 in tests/data/permuco reproduced on the same permutations.

F, SS, df and the parametric p to 1e-8 (relative), the permutation p exactly, and the whole
null distribution against permuco's ``distribution.csv``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import permanova

DATA = Path(__file__).resolve().parents[1] / "data" / "permuco"
CASES = sorted(p.name for p in DATA.glob("case*"))


def _parse_call(text: str):
    """method, subject, between, within from the aovperm line of call.txt."""
    line = next(line for line in text.splitlines() if "aovperm(" in line)
    formula = re.search(r"aovperm\(([^,]+),", line).group(1)
    method = re.search(r'method = "([^"]+)"', line).group(1)
    rhs = formula.split("~")[1]
    error = re.search(r"Error\((\w+)/\(?([^)]*)\)?\)", rhs)
    fixed = rhs.split("+ Error")[0]
    factors = [f.strip() for f in re.split(r"[*+]", fixed) if f.strip()]
    if error:
        subject = error.group(1)
        within = [w.strip() for w in error.group(2).split("*")]
        between = [f for f in factors if f not in within]
    else:
        subject, within, between = None, [], factors
    return method, subject, between or None, within or None


def _load(case: str):
    folder = DATA / case
    method, subject, between, within = _parse_call((folder / "call.txt").read_text())
    data = pd.read_csv(folder / "data.csv")
    perm = np.loadtxt(folder / "perm.csv", delimiter=",", dtype=np.int64)
    expected = pd.read_csv(folder / "expected.csv").set_index("effect")
    dist = pd.read_csv(folder / "distribution.csv")
    kwargs = dict(subject=subject, between=between, within=within, method=method)
    if method == "huh_jhun":
        kwargs["rotation"] = np.loadtxt(folder / "huh_jhun_V.csv", delimiter=",")
    return data, perm, expected, dist, kwargs


def test_all_cases_present():
    assert len(CASES) == 20


@pytest.mark.parametrize("case", CASES)
def test_reproduces_permuco(case):
    data, perm, expected, dist, kwargs = _load(case)
    before = data.copy()
    res = permanova.aovperm(data, "y", permutations=perm[1:], return_null=True, **kwargs)
    pd.testing.assert_frame_equal(data, before)
    table = res.table
    assert list(table.index) == list(expected.index)
    error_df = "df_resid" if "df_resid" in expected else "df_error"
    error_ss = "SS_resid" if "SS_resid" in expected else "SS_error"
    np.testing.assert_array_equal(table["df"], expected["df"])
    np.testing.assert_array_equal(table["df_error"], expected[error_df])
    np.testing.assert_allclose(table["F"], expected["F"], rtol=1e-8)
    np.testing.assert_allclose(table["SS"], expected["SS"], rtol=1e-8)
    np.testing.assert_allclose(table["SS_error"], expected[error_ss], rtol=1e-8)
    np.testing.assert_allclose(table["p_parametric"], expected["parametric_p"], rtol=1e-8)
    # the permutation p-value exactly: a multiple of 1/500
    counts = np.rint(table["p_permutation"].to_numpy() * 500)
    np.testing.assert_array_equal(counts, np.rint(expected["permutation_p"].to_numpy() * 500))
    np.testing.assert_allclose(table["p_permutation"], expected["permutation_p"], rtol=1e-12)
    assert res.n_resamples == 499 and not res.exact
    # the null distribution (rows 1: of permuco's, row 0 being the observed statistic)
    null = res.null_distribution
    assert null.shape == (499, len(expected))
    ref = dist[list(expected.index)].to_numpy()[1:]
    np.testing.assert_allclose(null, ref, rtol=1e-8, atol=1e-10)


def test_huh_jhun_from_raw_rotation():
    """The n x n matrix given to permuco reproduces its V (and so its p-value)."""
    data, perm, expected, _, kwargs = _load("case05")
    kwargs["rotation"] = np.loadtxt(DATA / "case05" / "rnd_rotation.csv", delimiter=",")
    res = permanova.aovperm(data, "y", permutations=perm[1:], **kwargs)
    assert res.table.loc["group", "p_permutation"] == pytest.approx(
        expected.loc["group", "permutation_p"], rel=1e-12
    )


def test_huh_jhun_rotation_dict_and_permutation_dict():
    data, perm, expected, _, kwargs = _load("case05")
    v = kwargs.pop("rotation")
    res = permanova.aovperm(
        data, "y", permutations={"group": perm[1:]}, rotation={"group": v}, **kwargs
    )
    assert res.table.loc["group", "p_permutation"] == pytest.approx(0.004)


def test_permutation_rows_gather_the_outcome():
    """A row ``p`` of ``permutations`` tests ``y[p]`` (the gather convention that maps
    permuco's ``P`` to ``P[:, 1:].T - 1``): with manly, the null F of row ``b`` is the F
    of the data whose outcome is gathered by it."""
    data, perm, _, _, kwargs = _load("case02")
    res = permanova.aovperm(data, "y", permutations=perm[1:6], return_null=True, **kwargs)
    for b, row in enumerate(perm[1:6]):
        permuted = data.assign(y=data["y"].to_numpy()[row])
        table = permanova.aovperm(permuted, "y", between="group", n_resamples=1).table
        assert res.null_distribution[b, 0] == pytest.approx(table["F"].iloc[0], rel=1e-10)
        scattered = np.empty_like(row)
        scattered[row] = np.arange(row.size)  # the other convention differs
        if not np.array_equal(scattered, row):
            other = data.assign(y=data["y"].to_numpy()[scattered])
            f_other = permanova.aovperm(other, "y", between="group", n_resamples=1).table["F"]
            assert res.null_distribution[b, 0] != pytest.approx(f_other.iloc[0], rel=1e-10)


@pytest.mark.parametrize("case", CASES)
def test_formula_form_reproduces_the_keyword_form(case):
    """permuco's call, its formula given verbatim, gives the keyword form's table."""
    data, perm, _, _, kwargs = _load(case)
    line = next(x for x in (DATA / case / "call.txt").read_text().splitlines() if "aovperm(" in x)
    formula = re.search(r"aovperm\(([^,]+),", line).group(1)
    keyword = permanova.aovperm(data, "y", permutations=perm[1:], **kwargs)
    for role in ("subject", "between", "within"):
        kwargs.pop(role)
    formal = permanova.aovperm(data, formula, permutations=perm[1:], **kwargs)
    pd.testing.assert_frame_equal(formal.table, keyword.table)


def test_permuco_spellings_accepted():
    data, perm, _, _, kwargs = _load("case03")
    assert kwargs["method"] == "terBraak"
    res = permanova.aovperm(data, "y", permutations=perm[1:6], **kwargs)
    assert res.method == "ter_braak"
