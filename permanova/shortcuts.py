"""The one-way and mixed shortcuts of :func:`permanova.aovperm`."""

from __future__ import annotations

import pandas as pd

from permanova.api import aovperm
from permanova.results import AovPermResult


# --------------------------------------------------------------------------------------
# convenience wrappers
# --------------------------------------------------------------------------------------
def oneway_between(data: pd.DataFrame, dv: str, between: str, **kwargs) -> AovPermResult:
    """One-way between-subjects permutation ANOVA (one factor, independent groups).

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per observation.
    dv : str
        Numeric outcome column.
    between : str
        The grouping factor.
    **kwargs
        Keyword arguments of :func:`aovperm` (``method``, ``n_resamples``,
        ``permutations``, ``exact``, ``random_state``, ``alternative``, ``return_null``,
        ``progress``, ``batch_size``, ``rotation``).

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import pandas as pd
    >>> import permanova
    >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
    ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
    >>> res = permanova.oneway_between(data, "y", "g")
    >>> res.exact, res.n_resamples
    (True, 70)
    >>> round(float(res.table.loc["g", "p_permutation"]), 4)
    0.0286
    """
    _reject(kwargs, "oneway_between", ("within", "subject"))
    if not isinstance(between, str):
        raise TypeError(f"`between` must be one column name; got {between!r}.")
    return aovperm(data, dv, between=between, **kwargs)


def oneway_within(
    data: pd.DataFrame, dv: str, within: str, *, subject: str, **kwargs
) -> AovPermResult:
    """One-way repeated-measures permutation ANOVA.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and level of ``within``.
    dv : str
        Numeric outcome column.
    within : str
        The within-subject factor.
    subject : str
        Subject identifier.
    **kwargs
        Keyword arguments of :func:`aovperm`.

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(3)
    >>> data = pd.DataFrame({"s": np.repeat(np.arange(8), 3),
    ...                      "t": np.tile(["t1", "t2", "t3"], 8)})
    >>> data["y"] = rng.normal(size=24) + np.tile([0.0, 1.0, 2.0], 8)
    >>> res = permanova.oneway_within(data, "y", "t", subject="s", random_state=0,
    ...                               n_resamples=999)
    >>> res.table[["df", "df_error"]]
            df  df_error
    effect
    t        2        14
    """
    _reject(kwargs, "oneway_within", ("between",))
    if not isinstance(within, str):
        raise TypeError(f"`within` must be one column name; got {within!r}.")
    return aovperm(data, dv, subject=subject, within=within, **kwargs)


def mixed(
    data: pd.DataFrame,
    dv: str,
    *,
    subject: str,
    between: str | list[str],
    within: str | list[str],
    **kwargs,
) -> AovPermResult:
    """Mixed (between x within) permutation ANOVA.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per subject and within cell.
    dv : str
        Numeric outcome column.
    subject : str
        Subject identifier; each subject belongs to one between group.
    between, within : str or list of str
        Between-subjects and within-subject factors (both required).
    **kwargs
        Keyword arguments of :func:`aovperm`.

    Returns
    -------
    AovPermResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import permanova
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"s": np.repeat(np.arange(10), 2),
    ...                      "grp": np.repeat(["x", "y"], 10),
    ...                      "time": np.tile(["pre", "post"], 10)})
    >>> data["y"] = rng.normal(size=20)
    >>> res = permanova.mixed(data, "y", subject="s", between="grp", within="time",
    ...                       random_state=0, n_resamples=499)
    >>> list(res.table.index)
    ['grp', 'time', 'grp:time']
    >>> res.table["df_error"].tolist()
    [8, 8, 8]
    """
    if between is None or within is None:
        raise ValueError("`mixed` needs both `between` and `within` factors.")
    return aovperm(data, dv, subject=subject, between=between, within=within, **kwargs)


def _reject(kwargs, function: str, names: tuple) -> None:
    """A clear error for design arguments that a shortcut has no use for."""
    for name in names:
        if name in kwargs:
            if name == "subject":
                raise TypeError(
                    f"`{function}` takes no `subject` argument (independent observations)."
                )
            raise TypeError(
                f"`{function}` takes no `{name}` argument; use `aovperm` (or `mixed`) for "
                f"designs with {name} factors."
            )
