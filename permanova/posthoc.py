"""Pairwise permutation tests between the levels of a factor, Holm-adjusted."""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.special import gammaln
from tqdm.auto import tqdm

from permanova._arguments import (
    as_name_list,
    check_bool,
    check_exact,
    check_label,
    check_method,
    check_positive_int,
    check_random_state,
)
from permanova._validation import (
    _factor_codes,
    _show_rows,
    _subject_codes,
    check_columns,
    check_frame,
    outcome_values,
)
from permanova.api import aovperm
from permanova.results import PosthocResult

_COLUMNS = (
    "level_1", "level_2", "n_1", "n_2", "mean_1", "mean_2", "difference", "hedges_g", "F",
    "df_error",
    "p_parametric", "p_permutation", "exact", "n_resamples", "p_holm", "note",
)  # fmt: skip
_UNDEFINED_F = "p undefined (F is 0/0: constant outcome in the pair); left out of the Holm family"


def posthoc(
    data: pd.DataFrame,
    dv: Hashable,
    factor: Hashable,
    *,
    subject: Hashable | None = None,
    by: Hashable | list | None = None,
    paired: bool | None = None,
    method: str | None = None,
    n_resamples: int = 10_000,
    exact: bool | str = "auto",
    random_state: int
    | np.random.Generator
    | np.random.SeedSequence
    | np.random.RandomState
    | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> PosthocResult:
    """Pairwise permutation tests between the levels of a factor, Holm-adjusted.

    Every pair of levels of ``factor`` is compared (within every level combination of
    ``by``, to follow up an interaction) by a permutation ANOVA of the two-level subset:
    a between-subjects test for independent groups, a one-way repeated-measures test for
    paired levels. The one-df F is the square of the t statistic, so the p-values are
    two-sided. The permutation p-values of the comparisons that were tested and have a
    defined p-value are then adjusted together with Holm's method
    (``statsmodels.stats.multitest.multipletests``).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format. It is not modified. Rows are used by position, so duplicated index
        labels (as after ``pd.concat``) are fine; messages name rows by their labels.
    dv : column label
        Numeric outcome column. Column labels may be strings or any other hashable
        label that exists in ``data`` (such as ints); they must be unique in ``data``.
    factor : column label
        The factor whose levels are compared.
    subject : column label, optional
        Subject identifier; needed for paired comparisons.
    by : column label or list of labels, optional
        Factors within whose levels the comparisons are made.
    paired : bool, optional
        Whether the levels of ``factor`` are repeated measures. Default: True when
        ``subject`` is given and subjects are observed at several levels of ``factor``.
    method : str, optional
        Permutation method (default ``"freedman_lane"`` for independent groups,
        ``"rd_kheradpajouh_renaud"`` for paired levels).
    n_resamples, exact, batch_size
        As in :func:`aovperm`, for each comparison.
    random_state : int, SeedSequence, Generator, BitGenerator or RandomState, optional
        Each comparison (every row of the table, tested or not) gets its own child of one
        generator, so a comparison's p-value does not depend on the others. A
        ``SeedSequence`` is never modified (the same one gives the same table twice); a
        ``Generator`` is used as is and therefore advanced, as in numpy and scipy; a
        ``RandomState`` is accepted and advanced (a new generator is seeded from 128 bits
        drawn from it).
    progress : bool, default=False
        One tqdm progress bar for the whole family (one step per tested comparison; the
        comparisons' own permutation runs show none). ``False`` shows nothing.

    Returns
    -------
    PosthocResult
        ``.table`` has one row per pair of levels of ``factor`` in every group of ``by``.
        Comparisons that cannot be made are stated, not dropped: a ``by`` group lacking
        one of the two levels, or with too few observations for an error term (fewer
        than 3 in the pair, or fewer than 2 subjects when paired), gives a row with NaN
        statistics, ``n_resamples`` 0 and the reason in ``note``. A tested comparison
        whose F is 0/0 (the outcome is constant in the pair) has NaN p-values and a
        ``note``. Neither kind enters the Holm family; their ``p_holm`` is NaN.
        ``hedges_g`` is the standardised mean difference of each tested pair (see Notes).

    Raises
    ------
    TypeError
        ``data`` not a DataFrame, a non-numeric or complex outcome, a bad parameter type.
    ValueError
        Missing, duplicated or MultiIndex columns, missing values, a ``factor`` with one
        level, bad parameter values; an invalid comparison (e.g. a paired comparison in
        which a subject misses a level) names the comparison.

    Warns
    -----
    UserWarning
        When some comparisons could not be tested.
    RuntimeWarning
        When some tested comparisons have an undefined F.

    See Also
    --------
    aovperm

    Notes
    -----
    Hedges' g is ``J(df) * (mean_1 - mean_2) / s`` with Hedges' (1981) exact small-sample
    correction ``J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2))`` (the
    approximation ``1 - 3 / (4 df - 1)`` used by pingouin differs by less than 0.3% for
    ``df >= 4``). Independent groups: ``s`` is the pooled SD,
    ``s^2 = (sum of squared deviations from each group's mean) / (n_1 + n_2 - 2)`` and
    ``df = n_1 + n_2 - 2``. Paired levels: the subjects' means at each level give ``s``,
    the average SD ``sqrt((s_1^2 + s_2^2) / 2)`` (Cumming's ``d_av``, as pingouin's paired
    ``compute_effsize``), with ``df = 2 (n - 1)`` for ``n`` subjects (as pingouin), so g does
    not depend on the correlation between the levels (unlike ``d_z``). g is NaN when
    ``df < 2`` (``J(1) = 0``), or 0/0, and infinite when only the SD is 0.

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

    A ``by`` group that lacks a level is stated in the table, not dropped:

    >>> import warnings
    >>> data = pd.DataFrame({"site": ["x"] * 8 + ["y"] * 4,
    ...                      "g": ["a", "b"] * 4 + ["a"] * 4,
    ...                      "y": np.arange(12.0)})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = permanova.posthoc(data, "y", "g", by="site")
    >>> res.table[["site", "n_1", "n_2", "p_permutation", "p_holm"]].round(4)
      site  n_1  n_2  p_permutation    p_holm
    0    x    4    4         0.6857  0.6857
    1    y    4    0            NaN       NaN
    >>> res.table.loc[1, "note"]
    "not tested: level 'b' is not observed in this group"
    """
    from statsmodels.stats.multitest import multipletests

    args = posthoc_iv(
        data, dv, factor, subject, by, paired, method, n_resamples, exact, random_state,
        batch_size, progress,
    )  # fmt: skip
    clash = [b for b in args.by if b in _COLUMNS]
    if clash:
        raise ValueError(f"`by` columns {clash!r} have the names of result columns; rename them.")
    needed = [dv, factor, *args.by] + ([] if subject is None else [subject])
    frame = data[needed]
    plan = _plan(args)
    children = args.rng.spawn(len(plan))
    records = []
    with tqdm(
        total=sum(not c.note for c in plan),
        desc="comparisons",
        unit="test",
        disable=not args.progress,
    ) as bar:
        for comparison, child in zip(plan, children):
            record = comparison.record(args)
            if not comparison.note:
                record.update(_test(frame, dv, factor, subject, args, comparison, child))
                record["hedges_g"] = _hedges_g(args, comparison)
                bar.update()
            records.append(record)
    table = pd.DataFrame(records)
    p = table["p_permutation"].to_numpy(dtype=np.float64)
    in_family = ~np.isnan(p)
    p_holm = np.full(p.shape, np.nan)
    if in_family.any():
        p_holm[in_family] = multipletests(p[in_family], method="holm")[1]
    table["p_holm"] = p_holm
    table["note"] = [c.note or ("" if ok else _UNDEFINED_F) for c, ok in zip(plan, in_family)]
    _warn(plan, in_family)
    return PosthocResult(
        table=table,
        factor=factor,
        by=args.by,
        paired=args.paired,
        method=args.method,
        n_resamples=args.n_resamples,
    )


@dataclass(frozen=True)
class _Comparison:
    """One pair of levels in one ``by`` group; rows are positions in ``data``."""

    key: dict
    level_1: object
    level_2: object
    rows_1: np.ndarray
    rows_2: np.ndarray
    note: str

    def describe(self) -> str:
        where = ", ".join(f"{name}={value!r}" for name, value in self.key.items())
        return f"{self.level_1!r} vs {self.level_2!r}" + (f" ({where})" if where else "")

    def record(self, args) -> dict:
        mean_1, mean_2 = _mean(args.y[self.rows_1]), _mean(args.y[self.rows_2])
        return {
            **self.key,
            "level_1": self.level_1,
            "level_2": self.level_2,
            "n_1": self.rows_1.size,
            "n_2": self.rows_2.size,
            "mean_1": mean_1,
            "mean_2": mean_2,
            "difference": mean_1 - mean_2,
            "hedges_g": np.nan,
            "F": np.nan,
            "df_error": np.nan,
            "p_parametric": np.nan,
            "p_permutation": np.nan,
            "exact": False,
            "n_resamples": 0,
        }


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else np.nan


def _hedges_g(args, comparison) -> float:
    """Hedges' g of a tested pair: pooled SD (independent) or average SD (paired, d_av),
    times the exact small-sample correction ``J(df)`` (see :func:`posthoc`)."""
    y1, y2 = args.y[comparison.rows_1], args.y[comparison.rows_2]
    if args.paired:
        y1, y2 = _subject_means(args, comparison)
        spread = (y1.var(ddof=1) + y2.var(ddof=1)) / 2
    else:
        deviations = np.concatenate([y1 - y1.mean(), y2 - y2.mean()])
        spread = (deviations**2).sum() / (y1.size + y2.size - 2)
    df = y1.size + y2.size - 2
    if df < 2:  # J(1) = 0: no unbiased estimator (E[1/s] is infinite)
        return np.nan
    correction = np.exp(gammaln(df / 2) - np.log(np.sqrt(df / 2)) - gammaln((df - 1) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(correction * (y1.mean() - y2.mean()) / np.sqrt(spread))


def _subject_means(args, comparison):
    """Each subject's mean at the two levels, for the subjects observed at both."""
    out = []
    for rows in (comparison.rows_1, comparison.rows_2):
        codes = args.subject_codes[rows]
        subjects, inverse = np.unique(codes, return_inverse=True)
        sums = np.bincount(inverse.reshape(-1), weights=args.y[rows])
        out.append(pd.Series(sums / np.bincount(inverse.reshape(-1)), index=subjects))
    both = out[0].index.intersection(out[1].index)
    return out[0][both].to_numpy(), out[1][both].to_numpy()


def _plan(args) -> list:
    """Every pair of levels in every ``by`` group, with the reason when it cannot be tested."""
    plan = []
    for key, rows in _by_groups(args):
        codes = args.factor_codes[rows]
        for c1, c2 in combinations(range(len(args.levels)), 2):
            rows_1, rows_2 = rows[codes == c1], rows[codes == c2]
            note = _why_untestable(args, (c1, rows_1), (c2, rows_2))
            plan.append(_Comparison(key, args.levels[c1], args.levels[c2], rows_1, rows_2, note))
    return plan


def _by_groups(args):
    """``(key, positions)`` per observed level combination of ``by``, in level order."""
    n = args.y.shape[0]
    if not args.by:
        return [({}, np.arange(n))]
    cells = np.stack([args.by_codes[b] for b in args.by], axis=1)
    unique, inverse = np.unique(cells, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return [
        (
            {b: args.by_levels[b][c] for b, c in zip(args.by, cell)},
            np.flatnonzero(inverse == g),
        )
        for g, cell in enumerate(unique)
    ]


def _why_untestable(args, first, second) -> str:
    missing = [args.levels[code] for code, rows in (first, second) if rows.size == 0]
    if len(missing) == 1:
        return f"not tested: level {missing[0]!r} is not observed in this group"
    if missing:
        return f"not tested: levels {missing[0]!r} and {missing[1]!r} are not observed here"
    rows = np.concatenate([first[1], second[1]])
    if args.paired:
        n_subjects = np.unique(args.subject_codes[rows]).size
        if n_subjects < 2:
            return "not tested: 1 subject (a paired comparison needs at least 2)"
    elif rows.size < 3:
        return "not tested: 2 observations leave no error degrees of freedom (3 needed)"
    return ""


def _test(frame, dv, factor, subject, args, comparison, child) -> dict:
    """Run :func:`aovperm` on the two levels' rows (taken by position, in frame order)."""
    pair = frame.iloc[np.sort(np.concatenate([comparison.rows_1, comparison.rows_2]))]
    kwargs = dict(
        method=args.method,
        n_resamples=args.n_resamples,
        exact=args.exact,
        random_state=child,
        batch_size=args.batch_size,
        progress=False,
    )
    design = {"subject": subject, "within": factor} if args.paired else {"between": factor}
    with warnings.catch_warnings():
        # stated once for the family by _warn, and in the note column
        warnings.filterwarnings("ignore", "the F statistic is undefined", RuntimeWarning)
        try:
            res = aovperm(pair, dv, **design, **kwargs)
        except ValueError as error:
            raise ValueError(f"comparison {comparison.describe()}: {error}") from None
    row = res.table.iloc[0]
    return {
        "F": row["F"],
        "df_error": int(row["df_error"]),
        "p_parametric": row["p_parametric"],
        "p_permutation": row["p_permutation"],
        "exact": res.exact,
        "n_resamples": res.n_resamples,
    }


def _warn(plan: list, in_family: np.ndarray) -> None:
    skipped = [c.describe() for c in plan if c.note]
    undefined = [c.describe() for c, ok in zip(plan, in_family) if not (ok or c.note)]
    if skipped:
        warnings.warn(
            f"{len(skipped)} of {len(plan)} comparisons could not be tested (see the `note` "
            f"column): {', '.join(skipped[:5])}{', ...' if len(skipped) > 5 else ''}.",
            UserWarning,
            stacklevel=3,
        )
    if undefined:
        warnings.warn(
            f"the F statistic is undefined (0/0: constant outcome) for {len(undefined)} "
            f"comparisons, left out of the Holm adjustment: {', '.join(undefined[:5])}"
            f"{', ...' if len(undefined) > 5 else ''}.",
            RuntimeWarning,
            stacklevel=3,
        )


@dataclass(frozen=True)
class PosthocArgs:
    """Normalised arguments of :func:`permanova.posthoc` (codes in row order)."""

    y: np.ndarray
    factor_codes: np.ndarray
    levels: list
    by: list
    by_codes: dict
    by_levels: dict
    subject_codes: np.ndarray | None
    paired: bool
    method: str
    n_resamples: int
    exact: object
    batch_size: int | None
    progress: bool
    rng: np.random.Generator


def posthoc_iv(
    data, dv, factor, subject, by, paired, method, n_resamples, exact, random_state,
    batch_size, progress,
) -> PosthocArgs:  # fmt: skip
    """Check every argument of ``posthoc``; messages name the rows by the frame's labels."""
    n_resamples = check_positive_int(n_resamples, "n_resamples")
    exact = check_exact(exact)
    progress = check_bool(progress, "progress")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    data = check_frame(data)
    check_label(dv, "dv")
    check_label(factor, "factor")
    if subject is not None:
        check_label(subject, "subject")
    by = as_name_list(by, "by")
    if factor in by:
        raise ValueError(f"`factor` {factor!r} cannot also be in `by`.")
    roles = {"dv": [dv], "factor": [factor], "by": by}
    if subject is not None:
        roles["subject"] = [subject]
    check_columns(data, roles)
    y = outcome_values(data, dv)
    codes, levels = {}, {}
    for role, name in [("factor", factor), *(("by", b) for b in by)]:
        na = data[name].isna().to_numpy()
        if na.any():
            raise ValueError(
                f"`{role}` column {name!r} has missing values in rows "
                f"{_show_rows(data.index, na)}."
            )
        codes[name], levels[name] = _factor_codes(data[name])
    if len(levels[factor]) < 2:
        raise ValueError(
            f"`factor` {factor!r} must have at least 2 levels; got {levels[factor]!r}."
        )
    subject_codes = _subject_codes(data, subject)[0]
    if paired is None:
        paired = subject_codes is not None and _seen_at_several_levels(
            subject_codes, codes[factor]
        )
    paired = check_bool(paired, "paired")
    if paired and subject is None:
        raise ValueError("`subject` is required for paired comparisons (`paired=True`).")
    return PosthocArgs(
        y=y,
        factor_codes=codes[factor],
        levels=levels[factor],
        by=by,
        by_codes={b: codes[b] for b in by},
        by_levels={b: levels[b] for b in by},
        subject_codes=subject_codes,
        paired=paired,
        method=check_method(method, paired),
        n_resamples=n_resamples,
        exact=exact,
        batch_size=batch_size,
        progress=progress,
        rng=check_random_state(random_state),
    )


def _seen_at_several_levels(subject_codes: np.ndarray, factor_codes: np.ndarray) -> bool:
    """Whether some subject is observed at more than one level of the factor."""
    pairs = np.unique(np.stack([subject_codes, factor_codes]), axis=1)
    return bool(np.unique(pairs[0]).size < pairs.shape[1])
