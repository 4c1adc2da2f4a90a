"""The result of :func:`permanova.lmperm` (frozen) and its printed table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

LM_COLUMNS = (
    "estimate",
    "std_error",
    "t",
    "p_parametric",
    "p_permutation_less",
    "p_permutation_greater",
    "p_permutation_two_sided",
)
#: permuco's column headings, for the printed table.
_HEADINGS = (
    "Estimate",
    "Std. Error",
    "t value",
    "parametric Pr(>|t|)",
    "resampled Pr(<t)",
    "resampled Pr(>t)",
    "resampled Pr(>|t|)",
)


@dataclass(frozen=True)
class LmPermResult:
    """Result of :func:`permanova.lmperm`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per coefficient (index ``coefficient``: R's names, such as
        ``"(Intercept)"``, ``"x1"``, ``"groupb"``) with columns ``estimate, std_error, t,
        p_parametric, p_permutation_less, p_permutation_greater,
        p_permutation_two_sided``. The first four are the ordinary least-squares fit
        (``p_parametric`` two-sided). The permutation p-values of the intercept are NaN
        (it is not tested), except with ``huh_jhun``, which tests it as permuco does.
        Coefficients aliased with earlier columns (a rank-deficient model) have NaN
        everywhere, as R's ``lm``.
    method : str
        The method that handles the nuisance variables.
    permutation_type : str
        ``"permutation"`` or ``"signflip"``.
    n_resamples : int
        Number of transformations evaluated: ``B`` for Monte-Carlo runs and user matrices
        (the observed statistic is counted on top), ``N`` (all of them, identity included)
        for exact runs.
    exact : bool
        Whether every permutation (``n!``) or sign flip (``2**n``) was enumerated.
    null_distribution : pandas.DataFrame or None
        With ``return_null=True``: the t statistic of every transformation, one column per
        tested coefficient: the ``B`` random or given ones (the observed t not included),
        or all ``N`` of an exact run (identity included). Transformed designs that lost
        rank (dekker, draper_stoneman) are NaN.
    formula : str or None
        The formula of the model.
    """

    table: pd.DataFrame = field(repr=False)
    method: str
    permutation_type: str
    n_resamples: int
    exact: bool
    null_distribution: pd.DataFrame | None = field(default=None, repr=False)
    formula: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """A new tidy DataFrame: one row per coefficient, with the run's settings.

        Returns
        -------
        pandas.DataFrame
            Columns ``coefficient``, the table's columns, then ``method,
            permutation_type, n_resamples, exact``.

        Examples
        --------
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ...                      "y": [1.1, 2.3, 2.8, 4.5, 4.9, 6.2]})
        >>> frame = permanova.lmperm(data, "y ~ x").to_frame()
        >>> frame[["coefficient", "p_permutation_two_sided", "n_resamples", "exact"]]
           coefficient  p_permutation_two_sided  n_resamples  exact
        0  (Intercept)                      NaN          720   True
        1            x                 0.002778          720   True
        """
        frame = self.table.reset_index()
        frame["method"] = self.method
        frame["permutation_type"] = self.permutation_type
        frame["n_resamples"] = self.n_resamples
        frame["exact"] = self.exact
        return frame

    def summary(self, digits: int = 4) -> str:
        """The table as permuco prints it: heading, resampling line, then the table.

        Parameters
        ----------
        digits : int, default=4
            Significant digits of the printed numbers.

        Returns
        -------
        str
        """
        kind = "exact" if self.exact else "Monte-Carlo"
        lines = [
            "Table of marginal t-test of the betas",
            f"Resampling test using {self.method} to handle nuisance variables and "
            f"{self.n_resamples} {self.permutation_type}s ({kind}).",
        ]
        shown = self.table.copy()
        shown.columns = list(_HEADINGS)
        text = shown.to_string(
            float_format=lambda v: f"{v:.{digits}g}", na_rep="", index_names=False
        )
        return "\n".join([*lines, text])

    def __str__(self) -> str:
        return self.summary()

    def plot(self, coefficient: str, ax=None, bins="auto"):
        """Histogram of a coefficient's null distribution of t, with the observed t.

        Parameters
        ----------
        coefficient : str
            As named in ``table`` (``"groupb"``).
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure's axes by default.
        bins : int, sequence or str, default="auto"
            As in :meth:`matplotlib.axes.Axes.hist`.

        Returns
        -------
        matplotlib.axes.Axes

        Raises
        ------
        ValueError
            Without a null distribution (run with ``return_null=True``) or for a
            coefficient that was not tested.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import pandas as pd
        >>> import permanova
        >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        ...                      "y": [1.1, 2.3, 2.8, 4.5, 4.9, 6.2]})
        >>> ax = permanova.lmperm(data, "y ~ x", return_null=True).plot("x")
        >>> ax.get_xlabel()
        't'
        """
        if self.null_distribution is None:
            raise ValueError(
                "plot() needs the null distribution: run lmperm(..., return_null=True)."
            )
        tested = list(self.null_distribution.columns)
        if coefficient not in tested:
            raise ValueError(f"`coefficient` must be one of {tested}; got {coefficient!r}.")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        values = self.null_distribution[coefficient].to_numpy()
        ax.hist(
            values[np.isfinite(values)],
            bins=bins,
            color="0.75",
            edgecolor="0.45",
            label=f"{self.permutation_type}s",
        )
        observed = float(self.table.loc[coefficient, "t"])
        p = float(self.table.loc[coefficient, "p_permutation_two_sided"])
        ax.axvline(
            observed,
            color="C3",
            lw=2,
            label=f"observed t = {observed:.4g} (two-sided p = {p:.4g})",
        )
        kind = "exact" if self.exact else "Monte-Carlo"
        ax.set_title(
            f"{coefficient}: {self.method}, {self.n_resamples} {self.permutation_type}s ({kind})"
        )
        ax.set_xlabel("t")
        ax.set_ylabel(f"{self.permutation_type}s")
        ax.legend()
        return ax


def lm_table(names, parametric: dict, pvalues: np.ndarray) -> pd.DataFrame:
    """The result table: ``parametric`` columns and the ``(3, p)`` permutation p-values
    (less, greater, two-sided)."""
    columns = dict(parametric)
    for key, values in zip(LM_COLUMNS[4:], pvalues, strict=True):
        columns[key] = values
    return pd.DataFrame(columns, index=pd.Index(list(names), name="coefficient"))
