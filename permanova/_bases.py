"""The orthonormal bases of a design, built once and shared by every outcome and effect.

:class:`Bases` builds each basis the first time a method asks for it (pivoted QR of thin
``n x p`` matrices) and keeps it for the other effects and outcomes of the run. Nothing is
wider than the fixed-effect model: the error strata of repeated measures are described by
:class:`~permanova._kernels.Stratum` (means over the subject-by-cell table and the basis of
the few fixed columns of the stratum), so memory and time grow linearly with the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations

import numpy as np

from permanova._design import Design, column_scale, orthonormal_basis, residualize
from permanova._kernels import Stratum

#: A tested basis counts as lying in the fixed columns of its stratum when its residual
#: there is below this (the bases are orthonormal: an absolute bound).
_NESTED_TOL = 1e-10


class Bases:
    """The bases of one :class:`~permanova._design.Design` (see module docstring)."""

    def __init__(self, design: Design):
        self.design = design
        self._built: dict = {}

    def once(self, key, build: Callable):
        """``build()``, computed on the first call with ``key`` and kept (design-only
        quantities shared by the effects and the outcomes of a run)."""
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def full(self) -> np.ndarray:
        """Orthonormal basis of the full fixed-effect model."""
        return self.once("full", lambda: orthonormal_basis(self.design.X))

    def reduced(self, i: int) -> np.ndarray:
        """Orthonormal basis of the model without effect ``i`` (``D``)."""
        return self.once(("reduced", i), lambda: orthonormal_basis(self._reduced_columns(i)))

    def tested(self, i: int) -> np.ndarray:
        """Orthonormal basis of ``R_D X_i``, the tested columns free of the reduced model."""

        def build():
            x = self.design.X[:, self.design.columns(i)]
            return orthonormal_basis(residualize(self.reduced(i), x), scale=column_scale(x))

        return self.once(("tested", i), build)

    def _reduced_columns(self, i: int) -> np.ndarray:
        return self.design.X[:, ~self.design.columns(i)]

    def stratum_effects(self, w: int) -> list[int]:
        """The effects whose within part is ``w`` (with the intercept, 0, for ``w = 0``)."""
        d = self.design
        same = [j for j in range(1, len(d.effects) + 1) if d.within_part(j) == w]
        return [0, *same] if w == 0 else same

    def fixed(self, w: int) -> np.ndarray:
        """Orthonormal basis of ``F_w``, the fixed columns of stratum ``w`` (row order)."""

        def build():
            d = self.design
            return orthonormal_basis(d.X[:, np.isin(d.assign, self.stratum_effects(w))])

        return self.once(("fixed", w), build)

    def stratum(self, i: int) -> tuple[Stratum, bool]:
        """The error :class:`Stratum` of effect ``i`` and whether its tested basis lies in
        the stratum's fixed columns (then the stratum's basis starts with it)."""
        return self.once(("stratum", i), lambda: self._stratum(i))

    def table_layout(self, i: int) -> tuple:
        """``(row order or None when the rows are already in table order, the tested
        basis in table order, the fixed columns of the stratum)`` of effect ``i``."""

        def build():
            d = self.design
            order = d.row_order
            in_order = np.array_equal(order, np.arange(d.n))
            fixed = d.X[:, np.isin(d.assign, self.stratum_effects(d.within_part(i)))]
            return (
                None if in_order else order,
                np.ascontiguousarray(self.tested(i)[order]),
                fixed,
            )

        return self.once(("table layout", i), build)

    def error_stratum(self, w: int) -> Stratum:
        """The :class:`Stratum` of within part ``w`` (0: the subjects)."""
        return self.once(("error stratum", w), lambda: self._stratum_with(w, self.fixed(w)))

    def _stratum(self, i: int) -> tuple[Stratum, bool]:
        w = self.design.within_part(i)
        q_fixed, q_num = self.fixed(w), self.tested(i)
        nested = bool(np.abs(residualize(q_fixed, q_num)).max(initial=0.0) < _NESTED_TOL)
        if not nested:
            return self.error_stratum(w), False
        rest = orthonormal_basis(residualize(q_num, q_fixed), scale=1.0)
        return self._stratum_with(w, np.hstack([q_num, rest])), True

    def _stratum_with(self, w: int, fixed: np.ndarray) -> Stratum:
        d = self.design
        return Stratum(
            table_shape=d.table_shape,
            terms=stratum_terms(d, w),
            fixed_basis=np.ascontiguousarray(fixed[d.row_order]),
            df=stratum_dimension(d, w) - self.fixed(w).shape[1],
        )


def stratum_terms(design: Design, w: int) -> tuple:
    """``(sign, within axes averaged over)`` of every term of ``T_w``, the term of ``w``
    itself (sign +1) first (axes index the subject-by-cell table, subject = 0)."""
    within_axes = {f: 1 + k for k, f in enumerate(design.within)}
    w_axes = [within_axes[f] for f in (design.effect_factors[w - 1] if w else ())]
    all_within = set(within_axes.values())
    terms = []
    for size in range(len(w_axes), -1, -1):
        for kept in combinations(w_axes, size):
            averaged = tuple(sorted(all_within - set(kept)))
            sign = -1.0 if (len(w_axes) - size) % 2 else 1.0
            terms.append((sign, averaged))
    return tuple(terms)


def stratum_dimension(design: Design, w: int) -> int:
    """``dim(T_w)``: the subjects times the contrasts of the within factors of ``w``."""
    factors = design.effect_factors[w - 1] if w else ()
    levels = dict(zip(design.within, design.table_shape[1:], strict=True))
    return design.n_subjects * int(np.prod([levels[f] - 1 for f in factors]))
