"""Result containers: :class:`AovPermResult` and :class:`PosthocResult` (frozen)."""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

TABLE_COLUMNS = ("df", "df_error", "SS", "SS_error", "F", "p_parametric", "p_permutation")

#: Columns printed by the summaries when the table has them, and their headers.
_PRINTED = ("df", "df_error", "SS", "F", "eta2_partial", "eta2_generalized", "p_parametric",
            "p_parametric_gg", "p_parametric_hf", "p_permutation")  # fmt: skip
_SPHERICITY_PRINTED = ("W", "p_mauchly", "epsilon_gg", "epsilon_hf")
_POSTHOC_PRINTED = ("level_1", "level_2", "n_1", "n_2", "difference", "hedges_g", "F",
                    "p_permutation", "p_holm")  # fmt: skip
_HEADERS = {"p_parametric": "parametric P(>F)", "p_parametric_gg": "GG P(>F)",
            "p_parametric_hf": "HF P(>F)", "p_permutation": "resampled P(>F)",
            "p_holm": "Holm P(>F)", "W": "Mauchly W", "p_mauchly": "p",
            "epsilon_gg": "GG eps", "epsilon_hf": "HF eps"}  # fmt: skip
_CUTS, _CODES = (0.001, 0.01, 0.05, 0.1), ("***", "**", "*", ".", " ")  # R's symnum
SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"


@dataclass(frozen=True, repr=False)
class AovPermResult:
    """Result of :func:`permanova.aovperm`.

    ``print(result)`` shows :meth:`summary`; :meth:`plot` draws an effect's null
    distribution and :meth:`null_frame` returns it with effect names.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per effect (index: effect name such as ``"type"``, ``"cond"`` or
        ``"type:cond"``) with columns ``df, df_error, SS, SS_error, F, p_parametric,
        p_permutation``, and, where computed, effect sizes (``eta2_partial``,
        ``eta2_generalized``) and sphericity-corrected parametric p-values
        (``p_parametric_gg``, ``p_parametric_hf``). With several outcomes (``dv`` a
        list) the index has two levels, ``(outcome, effect)``: ``table.loc["y2"]`` is the
        table of outcome ``"y2"``. ``df_error``/``SS_error`` are the residual of the full
        model for between-subjects designs and the effect's error stratum for designs
        with a within factor.
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
        ``outcomes[k]``. :meth:`null_frame` gives it with effect names.
    outcomes : tuple of str
        The outcome columns, in the order given.
    sphericity : pandas.DataFrame or None
        For designs with within factors: one row per within effect with more than one
        degree of freedom (``(outcome, effect)`` rows with several outcomes), with
        Mauchly's ``W``, ``chi2``, ``chi2_df``, ``p_mauchly``, and the
        Greenhouse-Geisser and Huynh-Feldt epsilons ``epsilon_gg``, ``epsilon_hf``
        (Lecoutre's form, uncorrected, as car and afex print it: it may exceed 1; the
        corrected p-values use ``min(1, epsilon)``). None otherwise.
    dropped : tuple
        With ``missing="drop_subjects"``: the labels of the subjects (rows, without within
        factors) left out for a missing outcome or a missing within cell.
    """

    table: pd.DataFrame
    n_resamples: int
    exact: bool
    method: str
    alternative: str = "greater"
    null_distribution: np.ndarray | None = field(default=None, repr=False)
    outcomes: tuple = ()
    sphericity: pd.DataFrame | None = field(default=None, repr=False)
    dropped: tuple = ()

    def __post_init__(self):
        if self.null_distribution is not None:
            self.null_distribution.flags.writeable = False

    def __repr__(self) -> str:
        null = self.null_distribution
        return (
            f"AovPermResult(method={self.method!r}, n_resamples={self.n_resamples}, "
            f"exact={self.exact}, alternative={self.alternative!r}, "
            f"outcomes={self.outcomes!r}, effects={self._effects()!r}, "
            f"null_distribution={'None' if null is None else f'<array {null.shape}>'})"
        )

    def summary(self) -> str:
        """The ANOVA table as text, laid out like permuco's print, with significance codes.

        Returns
        -------
        str
            The method and B (exact or Monte-Carlo); per effect (a block per outcome) the
            columns present among ``df, df_error, SS, F, eta2_partial, eta2_generalized,
            p_parametric(_gg, _hf), p_permutation`` and the code of the permutation p;
            the sphericity tests if any; the codes' legend.

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
        ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
        >>> print(permanova.aovperm(data, "y", between="g").summary())
        Permutation ANOVA
        Resampling test using freedman_lane to handle nuisance variables and 70 permutations.
        B = 70: all distinct permutations (exact, identity included).
        <BLANKLINE>
          df df_error   SS     F eta2_partial eta2_generalized parametric P(>F) resampled P(>F)
        g  1        6 20.8 13.96       0.6995           0.6995         0.009658         0.02857 *
        ---
        Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
        """
        lines = [
            "Permutation ANOVA",
            f"Resampling test using {self.method} to handle nuisance variables and "
            f"{self.n_resamples} permutations.",
            f"B = {self._kind()}.",
        ]
        if self.alternative not in ("greater", "two-sided"):
            lines.append(f"Alternative: {self.alternative} (F_b <= F_obs counted).")
        for outcome, table in self._blocks(self.table):
            lines += ["", f"Outcome: {outcome}"] if outcome is not None else [""]
            lines.append(_format_table(table, _PRINTED, codes="p_permutation"))
        if self.sphericity is not None and len(self.sphericity):
            lines += ["", "Sphericity (Mauchly's test; Greenhouse-Geisser, Huynh-Feldt epsilons)"]
            for outcome, table in self._blocks(self.sphericity):
                lines += [f"Outcome: {outcome}"] if outcome is not None else []
                lines.append(_format_table(table, _SPHERICITY_PRINTED, codes=None))
        lines += ["---", SIGNIF_LEGEND]
        return "\n".join(lines)

    __str__ = summary

    def to_frame(self) -> pd.DataFrame:
        """A new tidy DataFrame: one row per effect, with the run's settings as columns.

        Returns
        -------
        pandas.DataFrame
            Column ``effect``, then the table's columns (``df, df_error, SS, SS_error, F,
            p_parametric, p_permutation`` and any effect-size or corrected-p columns),
            then ``method, n_resamples, exact``; with several outcomes an ``outcome``
            column comes first.

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

    def null_frame(self) -> pd.DataFrame:
        """The null distribution as a DataFrame with one column per effect.

        Returns
        -------
        pandas.DataFrame
            One row per permutation (index ``permutation``, 0-based, in the order of
            ``null_distribution``), one column per effect in the order of ``table``. With
            several outcomes the rows have a two-level ``(outcome, permutation)`` index,
            like the table's ``(outcome, effect)``: ``null_frame().loc["y2"]`` is the null
            distribution of outcome ``"y2"``.

        Raises
        ------
        ValueError
            When the run kept no null distribution (``return_null=False``).

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
        ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
        >>> res = permanova.aovperm(data, "y", between="g", return_null=True)
        >>> null = res.null_frame()
        >>> null.shape, list(null.columns), null.index.name
        ((70, 1), ['g'], 'permutation')
        """
        null = self._null("null_frame()")
        effects = self._effects()
        if null.ndim == 2:
            index = pd.RangeIndex(null.shape[0], name="permutation")
        else:
            index = pd.MultiIndex.from_product(
                [list(self.outcomes), range(null.shape[1])], names=["outcome", "permutation"]
            )
        return pd.DataFrame(np.array(null).reshape(-1, null.shape[-1]), index, effects)

    def plot(self, effect: str, ax=None, outcome: Hashable | None = None, bins="auto"):
        """Histogram of an effect's permutation null distribution, with the observed F.

        Parameters
        ----------
        effect : str
            The effect, as named in ``table`` (``"type:cond"``).
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure's axes by default.
        outcome : column label, optional
            Required with several outcomes: whose null distribution to draw.
        bins : int, sequence or str, default="auto"
            As in :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ValueError
            Without a null distribution (run with ``return_null=True``), for an unknown
            effect or outcome, or a missing ``outcome`` with several outcomes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4,
        ...                      "y": [1.0, 2.1, 2.9, 4.2, 4.8, 5.1, 6.0, 7.2]})
        >>> res = permanova.aovperm(data, "y", between="g", return_null=True)
        >>> ax = res.plot("g")
        >>> ax.get_xlabel()
        'F'
        """
        null = self._null("plot()")
        k, table = self._outcome_position(outcome)
        effects = self._effects()
        if effect not in effects:
            raise ValueError(f"`effect` must be one of {effects}; got {effect!r}.")
        j = effects.index(effect)
        values = null[:, j] if null.ndim == 2 else null[k, :, j]
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        values = values[np.isfinite(values)]
        ax.hist(values, bins=bins, color="0.75", edgecolor="0.45", label="permutations")
        observed = float(table.loc[effect, "F"])
        p = float(table.loc[effect, "p_permutation"])
        ax.axvline(observed, color="C3", lw=2, label=f"observed F = {observed:.4g} (p = {p:.4g})")
        where = "" if outcome is None else f" ({outcome})"
        kind = "exact" if self.exact else "Monte-Carlo"
        ax.set_title(f"{effect}{where}: {self.method}, B = {self.n_resamples} ({kind})")
        ax.set_xlabel("F")
        ax.set_ylabel("permutations")
        ax.legend()
        return ax

    def _kind(self) -> str:
        if self.exact:
            return f"{self.n_resamples}: all distinct permutations (exact, identity included)"
        return f"{self.n_resamples} random permutations (Monte-Carlo) + the observed F"

    def _effects(self) -> list:
        index = self.table.index
        return list(index if index.nlevels == 1 else index.unique(level=-1))

    def _blocks(self, frame: pd.DataFrame):
        """``(outcome or None, table of that outcome)`` in the order of the outcomes."""
        if frame.index.nlevels == 1:
            return [(None, frame)]
        return [(o, frame.loc[o]) for o in frame.index.unique(level=0)]

    def _null(self, what: str) -> np.ndarray:
        if self.null_distribution is None:
            raise ValueError(
                f"{what} needs the null distribution: run aovperm(..., return_null=True)."
            )
        return self.null_distribution

    def _outcome_position(self, outcome):
        """``(position, table)`` of ``outcome`` (None for a single-outcome result)."""
        several = self.table.index.nlevels > 1
        if outcome is None and several:
            raise ValueError(f"`outcome` is needed with several outcomes: {list(self.outcomes)}.")
        if outcome is None:
            return 0, self.table
        if outcome not in self.outcomes:
            raise ValueError(f"`outcome` must be one of {list(self.outcomes)}; got {outcome!r}.")
        k = list(self.outcomes).index(outcome)
        return k, (self.table.loc[outcome] if several else self.table)


def _format_table(table: pd.DataFrame, printed, *, codes: str | None) -> str:
    """Columns ``printed`` (if present), 4 significant digits, NaN blank, ``codes``'s codes."""
    shown = {
        _HEADERS.get(column, str(column)): [_cell(v) for v in table[column]]
        for column in printed
        if column in table.columns
    }
    if codes is not None:
        shown[""] = [signif_code(p) for p in table[codes]]
    text = pd.DataFrame(shown, index=[str(i) for i in table.index]).to_string()
    return "\n".join(line.rstrip() for line in text.splitlines())


def _cell(value) -> str:
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return "" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def signif_code(p) -> str:
    """R's significance code of a p-value (``"***"`` below 0.001, ... ``" "``, NaN ``""``).

    Examples
    --------
    >>> [signif_code(p) for p in (0.0004, 0.004, 0.04, 0.07, 0.5, float("nan"))]
    ['***', '**', '*', '.', ' ', '']
    """
    if p is None or not np.isfinite(p):
        return ""
    return _CODES[int(np.searchsorted(_CUTS, p, side="left"))]


@dataclass(frozen=True, repr=False)
class PosthocResult:
    """Result of :func:`permanova.posthoc`.

    ``print(result)`` shows :meth:`summary`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per pair of levels of ``factor`` in every level combination of ``by``,
        with a column per factor of ``by`` (its level), then ``level_1, level_2, n_1, n_2,
        mean_1, mean_2, difference (mean_1 - mean_2), hedges_g, F, df_error,
        p_parametric, p_permutation, exact, n_resamples, p_holm, note``. ``hedges_g`` is
        the standardised mean difference (see :func:`permanova.posthoc`). ``F`` is the
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

    def __repr__(self) -> str:
        return (
            f"PosthocResult(factor={self.factor!r}, by={self.by!r}, paired={self.paired}, "
            f"method={self.method!r}, n_resamples={self.n_resamples}, "
            f"n_comparisons={len(self.table)})"
        )

    def summary(self) -> str:
        """The comparisons as text, with significance codes of the Holm-adjusted p.

        Returns
        -------
        str
            A heading, one line per comparison (``by`` levels, levels, sizes, difference,
            Hedges' g, F, permutation p, Holm p and its code), the notes, the legend.

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
        ...                      "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0,
        ...                            1.5, 2.5, 3.5, 4.5]})
        >>> print(permanova.posthoc(data, "y", "g").summary())
        Pairwise permutation tests of g (independent groups), Holm-adjusted
        Method: freedman_lane; permutations per comparison: 70 (exact).
        <BLANKLINE>
          level_1 level_2 n_1 n_2 difference hedges_g     F resampled P(>F) Holm P(>F)
        0       a       b   4   4         -4   -2.691  19.2         0.02857    0.08571  .
        1       a       c   4   4       -0.5  -0.3364   0.3          0.6857     0.6857
        2       b       c   4   4        3.5    2.355  14.7         0.02857    0.08571  .
        ---
        Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1
        """
        kind = "paired levels" if self.paired else "independent groups"
        within = f" within levels of {', '.join(map(str, self.by))}" if self.by else ""
        lines = [
            f"Pairwise permutation tests of {self.factor}{within} ({kind}), Holm-adjusted",
            f"Method: {self.method}; permutations per comparison: {self._runs()}.",
            "",
        ]
        table = self.table
        lines.append(_format_table(table, [*self.by, *_POSTHOC_PRINTED], codes="p_holm"))
        notes = [f"  {i}: {note}" for i, note in zip(table.index, table["note"]) if note]
        if notes:
            lines += ["Notes:", *notes]
        lines += ["---", SIGNIF_LEGEND]
        return "\n".join(lines)

    __str__ = summary

    def _runs(self) -> str:
        tested = self.table[self.table["n_resamples"] > 0]
        kinds = np.where(tested["exact"].astype(bool), "exact", "Monte-Carlo")
        runs = dict.fromkeys(f"{n} ({k})" for n, k in zip(tested["n_resamples"], kinds))
        return ", ".join(runs) or "none (no comparison tested)"

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
