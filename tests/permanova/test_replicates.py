"""aovperm with replicated observations per subject and within cell (rd_replic)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

import permanova

REPLIC = "rd_replic_kheradpajouh_renaud"


def _replicated(rng, extra=True):
    rows = [
        (s, c, "x" if s % 2 else "y")
        for s in range(10)
        for c in "abc"
        for _ in range(2 + (extra and s == 3 and c == "a"))
    ]
    data = pd.DataFrame(rows, columns=["s", "c", "t"])
    data["y"] = rng.normal(size=len(data)) + data["s"] * 0.2
    return data


def _means(data, y):
    return data.assign(y=y).groupby(["s", "c", "t"], as_index=False)["y"].mean()


def test_balanced_replicates_are_the_anova_of_the_cell_means(rng):
    data = _replicated(rng, extra=False)
    res = permanova.aovperm(data, "y", subject="s", within="c", between="t", method=REPLIC)
    ref = pg.mixed_anova(_means(data, data["y"]), dv="y", within="c", between="t", subject="s")
    ref = ref.set_index("Source").rename(index={"Interaction": "t:c"})
    np.testing.assert_allclose(res.table["F"], ref.loc[["t", "c", "t:c"], "F"], rtol=1e-10)
    # the table is of the full data: two replicates double every sum of squares
    np.testing.assert_allclose(res.table["SS"], 2 * ref.loc[["t", "c", "t:c"], "SS"], rtol=1e-10)


def test_permuted_statistics_are_those_of_the_permuted_cell_means(rng):
    """Each permuted F is the F of the subject-cell means of the permuted R_D y."""
    data = _replicated(rng)
    perms = np.array([rng.permutation(len(data)) for _ in range(20)])
    res = permanova.aovperm(
        data, "y", subject="s", within="c", between="t", method=REPLIC,
        permutations=perms, return_null=True,
    )  # fmt: skip
    t_code = np.where(data["t"] == "x", 1.0, -1.0)[:, None]
    c = pd.get_dummies(data["c"]).to_numpy(float)
    cond = c[:, :-1] - c[:, -1:]
    rest = np.column_stack([np.ones(len(data)), cond, t_code * cond])  # D for the effect t
    q, _ = np.linalg.qr(rest)
    u = data["y"].to_numpy() - q @ (q.T @ data["y"].to_numpy())  # R_D y
    for b, p in enumerate(perms):
        means = _means(data, u[p])
        f = permanova.aovperm(means, "y", subject="s", within="c", between="t", n_resamples=1)
        assert res.null_distribution[b, 0] == pytest.approx(f.table.loc["t", "F"], rel=1e-9)


def test_row_order_and_keyword_formula_forms_agree(rng):
    data = _replicated(rng)
    kwargs = dict(method=REPLIC, n_resamples=500, random_state=0)
    keyword = permanova.aovperm(data, "y", subject="s", within="c", between="t", **kwargs)
    shuffled = data.sample(frac=1.0, random_state=1)
    again = permanova.aovperm(shuffled, "y", subject="s", within="c", between="t", **kwargs)
    pd.testing.assert_frame_equal(keyword.table, again.table)
    formula = permanova.aovperm(data, "y ~ t * c + Error(s/c)", **kwargs)
    pd.testing.assert_frame_equal(keyword.table, formula.table)


def test_several_outcomes_with_replicates_equal_separate_runs(rng):
    data = _replicated(rng)
    data["z"] = rng.normal(size=len(data))
    kwargs = dict(subject="s", within="c", between="t", method=REPLIC, n_resamples=300)
    both = permanova.aovperm(data, ["y", "z"], random_state=2, **kwargs)
    alone = permanova.aovperm(data, "z", random_state=2, **kwargs)
    np.testing.assert_array_equal(
        both.table.loc["z", "p_permutation"], alone.table["p_permutation"]
    )


def test_replicates_need_rd_replic_and_permutations(rng):
    data = _replicated(rng)
    with pytest.raises(ValueError, match="rd_replic_kheradpajouh_renaud"):
        permanova.aovperm(data, "y", subject="s", within="c", between="t")
    with pytest.raises(ValueError, match="signflip"):
        permanova.aovperm(
            data, "y", subject="s", within="c", method=REPLIC, permutation_type="signflip"
        )
