"""Pairwise permutation tests between the levels of a factor, Holm-adjusted."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from permanova import _validation
from permanova.api import aovperm
from permanova.results import PosthocResult


def posthoc(
    data: pd.DataFrame,
    dv: str,
    factor: str,
    *,
    subject: str | None = None,
    by: str | list[str] | None = None,
    paired: bool | None = None,
    method: str | None = None,
    n_resamples: int = 10_000,
    exact: bool | str = "auto",
    random_state: int | np.random.Generator | np.random.SeedSequence | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> PosthocResult:
    """Pairwise permutation tests between the levels of a factor, Holm-adjusted.

    Every pair of levels of ``factor`` is compared (within every level combination of
    ``by``, to follow up an interaction) by a permutation ANOVA of the two-level subset:
    a between-subjects test for independent groups, a one-way repeated-measures test for
    paired levels. The one-df F is the square of the t statistic, so the p-values are
    two-sided. The permutation p-values of all comparisons are then adjusted together
    with Holm's method (``statsmodels.stats.multitest.multipletests``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. It is not modified.
    dv : str
        Numeric outcome column.
    factor : str
        The factor whose levels are compared.
    subject : str, optional
        Subject identifier; needed for paired comparisons.
    by : str or list of str, optional
        Factors within whose levels the comparisons are made.
    paired : bool, optional
        Whether the levels of ``factor`` are repeated measures. Default: True when
        ``subject`` is given and subjects are observed at several levels of ``factor``.
    method : str, optional
        Permutation method (default ``"freedman_lane"`` for independent groups,
        ``"rd_kheradpajouh_renaud"`` for paired levels).
    n_resamples, exact, random_state, batch_size, progress
        As in :func:`aovperm`; each comparison gets its own child of the random
        generator, so the table is reproducible.

    Returns
    -------
    PosthocResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(0)
    >>> data = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 5),
    ...                      "y": rng.normal(size=15) + np.repeat([0.0, 0.2, 3.0], 5)})
    >>> res = permanova.posthoc(data, "y", "g", random_state=0, n_resamples=999)
    >>> res.table[["level_1", "level_2"]].to_records(index=False).tolist()
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> bool(res.table["p_holm"].iloc[1] < 0.05)
    True
    """
    from statsmodels.stats.multitest import multipletests

    data = _validation.check_frame(data)
    if not isinstance(factor, str):
        raise TypeError(f"`factor` must be a column name; got {factor!r}.")
    by = _validation.as_name_list(by, "by")
    if factor in by:
        raise ValueError(f"`factor` {factor!r} cannot also be in `by`.")
    roles = {"dv": [dv], "factor": [factor], "by": by}
    if subject is not None:
        roles["subject"] = [subject]
    _validation.check_columns(data, roles)
    for name in [factor, *by]:
        na = data[name].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"factor {name!r} has missing values in rows "
                f"{_validation._show_rows(data.index, na)}."
            )
    if paired is None:
        paired = bool(
            subject is not None and data.groupby(subject, sort=False)[factor].nunique().max() > 1
        )
    paired = _validation.check_bool(paired, "paired")
    if paired and subject is None:
        raise ValueError("`subject` is required for paired comparisons (`paired=True`).")
    rng = _validation.check_random_state(random_state)
    chosen = _validation.check_method(method, paired)
    n_resamples = _validation.check_positive_int(n_resamples, "n_resamples")
    levels = _validation._factor_codes(data[factor], "factor")[1]
    if len(levels) < 2:
        raise ValueError(f"`factor` {factor!r} must have at least 2 levels; got {levels!r}.")

    if by:
        keys = by[0] if len(by) == 1 else by
        by_groups = list(data.groupby(keys, sort=True, observed=True).groups.items())
    else:
        by_groups = [(None, data.index)]
    rows = []
    for key, index in by_groups:
        subset = data.loc[index]
        present = [lev for lev in levels if (subset[factor] == lev).any()]
        for level_1, level_2 in combinations(present, 2):
            pair = subset[subset[factor].isin([level_1, level_2])]
            child = rng.spawn(1)[0]
            kwargs = dict(
                method=chosen,
                n_resamples=n_resamples,
                exact=exact,
                random_state=child,
                batch_size=batch_size,
                progress=progress,
            )
            if paired:
                res = aovperm(pair, dv, subject=subject, within=factor, **kwargs)
            else:
                res = aovperm(pair, dv, between=factor, **kwargs)
            row = res.table.iloc[0]
            y1 = pair.loc[pair[factor] == level_1, dv].to_numpy(dtype=float)
            y2 = pair.loc[pair[factor] == level_2, dv].to_numpy(dtype=float)
            record = {}
            if by:
                key_tuple = key if isinstance(key, tuple) else (key,)
                record.update(dict(zip(by, key_tuple)))
            record.update(
                level_1=level_1,
                level_2=level_2,
                n_1=y1.size,
                n_2=y2.size,
                mean_1=y1.mean(),
                mean_2=y2.mean(),
                difference=y1.mean() - y2.mean(),
                F=row["F"],
                df_error=int(row["df_error"]),
                p_parametric=row["p_parametric"],
                p_permutation=row["p_permutation"],
                exact=res.exact,
                n_resamples=res.n_resamples,
            )
            rows.append(record)
    table = pd.DataFrame(rows)
    if len(table):
        table["p_holm"] = multipletests(table["p_permutation"].to_numpy(), method="holm")[1]
    return PosthocResult(
        table=table,
        factor=factor,
        by=by,
        paired=paired,
        method=chosen,
        n_resamples=n_resamples,
    )
