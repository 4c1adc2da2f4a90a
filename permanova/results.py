"""Result containers: :class:`AovPermResult` and :class:`PosthocResult` (frozen)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TABLE_COLUMNS = ("df", "df_error", "SS", "SS_error", "F", "p_parametric", "p_permutation")


@dataclass(frozen=True)
class AovPermResult:
    """Result of :func:`permanova.aovperm`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per effect (index: effect name such as ``"type"``, ``"cond"`` or
        ``"type:cond"``) with columns ``df, df_error, SS, SS_error, F, p_parametric,
        p_permutation``. With several outcomes (``dv`` a list) the index has two levels,
        ``(outcome, effect)``: ``table.loc["y2"]`` is the table of outcome ``"y2"``.
        ``df_error``/``SS_error`` are the residual of the full model for between-subjects
        designs and the effect's error stratum for designs with a within factor.
    n_resamples : int
        Number of permutations evaluated: ``B`` for Monte-Carlo runs and user matrices (the
        observed statistic is counted on top), ``N`` (all distinct permutations, identity
        included) for exact runs.
    exact : bool
        Whether every distinct permutation was enumerated.
    method : str
        The permutation method used.
    alternative : str
        ``"greater"``, ``"less"`` or ``"two-sided"``.
    null_distribution : ndarray of shape (n_resamples, n_effects) or None
        The method's F for every permutation (columns in the order of ``table``), when
        ``return_null=True``; read-only. With several outcomes its shape is
        ``(n_outcomes, n_resamples, n_effects)``: ``null_distribution[k]`` is that of
        ``outcomes[k]``.
    outcomes : tuple of str
        The outcome columns, in the order given.
    """

    table: pd.DataFrame
    n_resamples: int
    exact: bool
    method: str
    alternative: str = "greater"
    null_distribution: np.ndarray | None = field(default=None, repr=False)
    outcomes: tuple = ()

    def __post_init__(self):
        if self.null_distribution is not None:
            self.null_distribution.flags.writeable = False

    def to_frame(self) -> pd.DataFrame:
        """A new tidy DataFrame: one row per effect, with the run's settings as columns.

        Returns
        -------
        pandas.DataFrame
            Columns ``effect, df, df_error, SS, SS_error, F, p_parametric, p_permutation,
            method, n_resamples, exact``; with several outcomes an ``outcome`` column comes
            first.

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
        ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
        >>> frame = permanova.aovperm(data, "y", between="g").to_frame()
        >>> frame[["effect", "df", "df_error", "p_permutation", "n_resamples", "exact"]]
          effect  df  df_error  p_permutation  n_resamples  exact
        0      g   1         6       0.028571           70   True
        """
        frame = self.table.reset_index()
        if self.table.index.nlevels == 1:
            frame = frame.rename(columns={frame.columns[0]: "effect"})
        frame["method"] = self.method
        frame["n_resamples"] = self.n_resamples
        frame["exact"] = self.exact
        return frame


@dataclass(frozen=True)
class PosthocResult:
    """Result of :func:`permanova.posthoc`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per pair of levels of ``factor`` in every level combination of ``by``,
        with a column per factor of ``by`` (its level), then ``level_1, level_2, n_1, n_2,
        mean_1, mean_2, difference (mean_1 - mean_2), F, df_error, p_parametric,
        p_permutation, exact, n_resamples, p_holm, note``. ``F`` is the
        one-degree-of-freedom F (the square of the t statistic) and the p-values are
        two-sided. ``p_holm`` adjusts ``p_permutation`` (Holm) over the Holm family: the
        rows whose ``p_permutation`` is defined. ``note`` is empty for those rows and says
        why for the others: a comparison that could not be made (a level missing from the
        ``by`` group, too few observations; its statistics are NaN, ``n_resamples`` 0 and
        ``exact`` False) or an undefined F (0/0, a constant outcome in the pair). Those
        rows have a NaN ``p_holm``.
    factor : column label
        The factor whose levels are compared.
    by : list of column labels
        The factors within whose levels the comparisons are made (may be empty).
    paired : bool
        Whether the comparisons are within subjects.
    method : str
        The permutation method used for every comparison.
    n_resamples : int
        Number of resamples requested per comparison (``exact`` runs use all permutations).
    """

    table: pd.DataFrame
    factor: str
    by: list
    paired: bool
    method: str
    n_resamples: int

    def to_frame(self) -> pd.DataFrame:
        """A new tidy DataFrame with one row per comparison (a copy of ``table``).

        Returns
        -------
        pandas.DataFrame
            The comparison table plus a ``factor`` and a ``method`` column.

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
        ...                      "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0,
        ...                            1.5, 2.5, 3.5, 4.5]})
        >>> frame = permanova.posthoc(data, "y", "g").to_frame()
        >>> frame[["factor", "level_1", "level_2", "p_permutation", "p_holm"]].round(4)
          factor level_1 level_2  p_permutation  p_holm
        0      g       a       b         0.0286  0.0857
        1      g       a       c         0.6857  0.6857
        2      g       b       c         0.0286  0.0857
        """
        frame = self.table.copy()
        frame.insert(0, "factor", self.factor)
        frame["method"] = self.method
        return frame
