"""The permutation methods of permuco: one function per method, as permuco's
``fisher_<method>``, each building the :mod:`kernel <permanova._kernels>` of one effect of
one outcome.

Every method function has the signature ``method(bases, outcome, i, **options) ->
Kernel``: ``bases`` are the shared :class:`~permanova._bases.Bases` of the design,
``outcome`` an :class:`~permanova._design.Outcome` and ``i`` the effect (1-based).
:data:`METHODS` maps the names to the functions and :func:`build_kernels` builds the
kernels of every effect. With ``D`` the model without the tested effect, ``X`` its
columns, ``R_A``/``H_A`` the residual/hat projections on ``col(A)`` and ``P`` a
permutation:

* freedman_lane ``P R_D y``, manly ``P y``, ter_braak ``P R_full y`` (against the F of
  ``y``), kennedy ``P R_D y`` against ``R_D X`` alone, huh_jhun ``P V y`` (``V`` rotates
  ``R_D`` into ``n - rank(D)`` coordinates);
* dekker / draper_stoneman permute the rows of ``R_D X`` / ``X``;
* rd_kheradpajouh_renaud ``P R_D y`` against the effect's error stratum;
  rde_kheradpajouh_renaud removes the other random strata as well;
  rd_replic_kheradpajouh_renaud is Rd on the subject-by-cell fit of the permuted
  residuals, which with one observation per subject and within cell (required here) is Rd.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from fractions import Fraction

import numpy as np

from permanova import _exact
from permanova._bases import Bases
from permanova._design import (
    Design,
    Outcome,
    column_scale,
    orthonormal_basis,
    residualize,
    rounding_bound,
    row_kronecker,
)
from permanova._kernels import DesignKernel, Kernel, Ratio, StratumKernel, VectorKernel

BETWEEN_METHODS = (
    "freedman_lane",
    "manly",
    "ter_braak",
    "kennedy",
    "huh_jhun",
    "dekker",
    "draper_stoneman",
)
WITHIN_METHODS = (
    "rd_kheradpajouh_renaud",
    "rde_kheradpajouh_renaud",
    "rd_replic_kheradpajouh_renaud",
)
#: permuco's spellings (lower-cased) accepted as aliases.
ALIASES = {"terbraak": "ter_braak"}
#: Methods that permute the rows of the design rather than a vector.
DESIGN_PERMUTING = ("dekker", "draper_stoneman")


def ratio(design: Design, outcome: Outcome, width: int, df_num: float, df_den: float) -> Ratio:
    """The :class:`Ratio` of a kernel whose products use bases of ``width`` columns."""
    noise = rounding_bound(design.n, width) * outcome.scale
    return Ratio(df_num=df_num, df_den=df_den, noise=noise)


# --------------------------------------------------------------------------------------
# exact forms (built on first use: most runs never need them)
# --------------------------------------------------------------------------------------
def _exact_residual(outcome: Outcome, model: np.ndarray):
    """``(c * R_M y, 1 / c**2)``: the integer residual of the outcome and the unit that
    turns its sums of squares into those of the scaled outcome."""
    y, scale = outcome.integers
    u, factor = _exact.scaled_residual(y, model)
    return u, Fraction(1, (factor * scale) ** 2)


def _exact_vector(bases: Bases, outcome: Outcome, i: int, permuted: str, den_from="full"):
    """The exact statistic of effect ``i`` for a method that permutes ``R_D y`` or ``y``."""
    design = bases.design

    def build():
        if not _exact.small_enough(design.X):
            return None
        reduced = design.X[:, ~design.columns(i)]
        model = reduced if permuted == "reduced" else design.X[:, :1]
        u, unit = _exact_residual(outcome, model)
        return _exact.vector_statistic(u, design.X, reduced, den_from), unit

    return _exact.ExactStatistic(build)


# --------------------------------------------------------------------------------------
# between-subjects methods
# --------------------------------------------------------------------------------------
def _residual_kernel(bases: Bases, outcome: Outcome, i: int, u: np.ndarray, **fields):
    """A :class:`VectorKernel` testing ``R_D X`` against the full model's residual."""
    q_d, q_rdx = bases.reduced(i), bases.tested(i)
    basis = np.hstack([q_rdx, q_d])
    df_den = bases.design.n - basis.shape[1]
    return VectorKernel(
        unit_key="obs",
        u=u,
        basis=basis,
        k_num=q_rdx.shape[1],
        ratio=ratio(bases.design, outcome, basis.shape[1], q_rdx.shape[1], df_den),
        **fields,
    )


def freedman_lane(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute the residuals of the reduced model: ``y* = P R_D y``."""
    u = residualize(bases.reduced(i), outcome.y)
    exact = _exact_vector(bases, outcome, i, "reduced")
    return _residual_kernel(bases, outcome, i, u, exact=exact)


def manly(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute the (centred) outcome: ``y* = P y``."""
    exact = _exact_vector(bases, outcome, i, "centred")
    return _residual_kernel(bases, outcome, i, outcome.y, exact=exact)


def ter_braak(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute the residuals of the full model, ``y* = P R_full y``.

    As permuco 1.1.3: the permuted statistics are the F of ``y*`` itself, compared with the
    observed F of ``y`` (the identity of ``y*`` gives the F of the residuals, about 0).
    """
    u = residualize(bases.full(), outcome.y)
    kernel = _residual_kernel(bases, outcome, i, u)
    num = float(np.sum((bases.tested(i).T @ outcome.y) ** 2))
    den = float(u @ u)
    observed = float(kernel.ratio.statistic(np.array([num]), np.array([den]))[0])
    return replace(
        kernel, fixed_observed=observed, fixed_tolerance=kernel.ratio.tie_tolerance(num, den)
    )


def kennedy(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute ``R_D y`` and test it against ``R_D X`` alone (no nuisance columns)."""
    q_d, q_rdx = bases.reduced(i), bases.tested(i)
    design = bases.design
    df_den = design.n - q_d.shape[1] - q_rdx.shape[1]
    return VectorKernel(
        unit_key="obs",
        u=residualize(q_d, outcome.y),
        basis=q_rdx,
        k_num=q_rdx.shape[1],
        ratio=ratio(design, outcome, q_d.shape[1] + q_rdx.shape[1], q_rdx.shape[1], df_den),
        exact=_exact_vector(bases, outcome, i, "reduced", den_from="effect"),
    )


def huh_jhun(bases: Bases, outcome: Outcome, i: int, *, rotations: dict, **_) -> Kernel:
    """Rotate ``R_D`` into ``n - rank(D)`` coordinates, ``V y``, and permute those."""
    design = bases.design
    name = design.effects[i - 1]
    v = rotations[name]
    x = design.X[:, design.columns(i)]
    q_vx = orthonormal_basis(v @ x, scale=column_scale(x))
    df_den = design.n - bases.full().shape[1]
    return VectorKernel(
        unit_key=name,
        u=v @ outcome.y,
        basis=q_vx,
        k_num=q_vx.shape[1],
        # V itself (a QR of n x n) rounds like a basis of n columns
        ratio=ratio(design, outcome, design.n, q_vx.shape[1], df_den),
    )


def _design_kernel(bases: Bases, outcome: Outcome, i: int, residualised: bool) -> Kernel:
    design = bases.design
    q_d, q_rdx = bases.reduced(i), bases.tested(i)
    x = design.X[:, design.columns(i)]
    source = residualize(q_d, x) if residualised else x

    def build():
        if not _exact.small_enough(design.X):
            return None
        reduced = design.X[:, ~design.columns(i)]
        exact_source = _exact.residual(x, reduced) if residualised else x
        ry, unit = _exact_residual(outcome, reduced)
        sums = _exact.design_statistic(
            _exact.integer_matrix(exact_source), _exact.integer_matrix(reduced), ry
        )
        return sums, unit

    width = q_d.shape[1] + q_rdx.shape[1]
    return DesignKernel(
        unit_key="obs",
        source=np.ascontiguousarray(source),
        reduced_basis=q_d,
        ry=residualize(q_d, outcome.y),
        gram_scale=max(float(np.max(np.sum(source * source, axis=0))), np.finfo(float).tiny),
        ratio=ratio(design, outcome, width, q_rdx.shape[1], design.n - width),
        exact=_exact.ExactStatistic(build),
    )


def dekker(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute the rows of ``R_D X`` and residualise them again on ``D``."""
    return _design_kernel(bases, outcome, i, residualised=True)


def draper_stoneman(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute the rows of the tested columns ``X`` of the design."""
    return _design_kernel(bases, outcome, i, residualised=False)


# --------------------------------------------------------------------------------------
# repeated-measures methods (Kherad-Pajouh & Renaud)
# --------------------------------------------------------------------------------------
def _stratum_kernel(bases: Bases, outcome: Outcome, i: int, u: np.ndarray, models) -> Kernel:
    """The :class:`StratumKernel` of effect ``i`` for the permuted vector ``u``.

    ``models`` gives ``(full, reduced)`` (or None when too wide): integer matrices whose
    projections differ by the tested space, ``u`` being the residual of ``y`` on
    ``reduced`` (built only when an exact decision is needed).
    """
    design = bases.design
    stratum, nested = bases.stratum(i)
    q_num = bases.tested(i)
    row_order, num_basis, fixed_columns = bases.table_layout(i)
    width = stratum.fixed_basis.shape[1] + (0 if nested else q_num.shape[1])
    return StratumKernel(
        unit_key="obs",
        u=u,
        row_order=row_order,
        num_basis=num_basis,
        nested=nested,
        stratum=stratum,
        # T_w v: means of a few table cells, whose rounding is far below a product's
        ratio=ratio(design, outcome, width + 1, q_num.shape[1], stratum.df),
        exact=_exact.ExactStatistic(
            functools.partial(_exact_stratum, design, outcome, models, fixed_columns, stratum)
        ),
    )


def _exact_stratum(design: Design, outcome: Outcome, models, fixed_columns, stratum):
    """The exact statistic of a :class:`StratumKernel` (``models``: a function giving
    ``(full, reduced)``, or None for a model too wide to decide exactly)."""
    if design.n > _exact.MAX_ROWS:
        return None
    built = models()
    if built is None or not _exact.small_enough(*built, fixed_columns):
        return None
    full, reduced = built
    u, unit = _exact_residual(outcome, reduced)
    sums = _exact.stratum_statistic(
        u, full, reduced, fixed_columns, design.row_order, design.table_shape, stratum.terms
    )
    return sums, unit


def rd_kheradpajouh_renaud(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Permute ``R_D y``; F is the ratio of its projections on ``R_D X`` and on the error
    stratum of the effect (``R_D Z``, ``Z`` the subject-by-stratum columns)."""
    design = bases.design
    u = residualize(bases.reduced(i), outcome.y)
    return _stratum_kernel(bases, outcome, i, u, functools.partial(_rd_models, design, i))


def _rd_models(design: Design, i: int):
    """``(full, reduced)`` of effect ``i`` for the exact Rd statistic."""
    return design.X, design.X[:, ~design.columns(i)]


def _other_strata(design: Design, i: int) -> list[int]:
    """The within parts of the random strata that Rde removes for effect ``i``: those of
    the other effects or, when there are none, the subjects (0), as permuco's
    ``khatrirao(Z_id, <no columns>)`` is ``Z_id`` itself."""
    parts = {design.within_part(j) for j in range(1, len(design.effects) + 1)}
    return sorted(parts - {design.within_part(i)}) or [0]


def _rde_models(design: Design, i: int):
    """``(full, reduced)`` of effect ``i`` for the exact Rde statistic: ``D`` with the
    other strata ``E = R_[X, Z] (Z_id * M_e)``, or None when too wide to eliminate."""
    e_cols = design.X[:, np.isin(design.assign, _other_strata(design, i))]
    w_cols = design.X[:, design.assign == design.within_part(i)]
    n_columns = (design.n_subjects - 1) * max(e_cols.shape[1], w_cols.shape[1])
    if n_columns > _exact.MAX_COLUMNS:
        return None
    subjects = design.subject_matrix()
    e_exact = _exact.residual(
        row_kronecker(subjects, e_cols), np.hstack([design.X, row_kronecker(subjects, w_cols)])
    )
    reduced = np.hstack([_exact.integer_matrix(design.X[:, ~design.columns(i)]), e_exact])
    full = np.hstack([reduced, _exact.integer_matrix(design.X[:, design.columns(i)])])
    return full, reduced


def rde_kheradpajouh_renaud(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """As Rd, with the other random strata ``E`` added to the reduced model.

    The strata are orthogonal to each other and to the fixed effects (each subject has
    every within cell), so ``R_[D, E] y = R_D y - sum_e E_e y`` (``E_e y``: the error
    part of stratum ``e``, from the table's means), while ``R_[D, E] X = R_D X`` and the
    effect's own stratum are those of Rd.
    """
    design = bases.design
    u = residualize(bases.reduced(i), outcome.y)
    ordered = outcome.y[design.row_order][None, :]
    for part in _other_strata(design, i):
        error, _ = bases.error_stratum(part).error(ordered)
        u[design.row_order] -= error[0]
    models = functools.partial(_rde_models, design, i)
    return _stratum_kernel(bases, outcome, i, u, models)


def rd_replic_kheradpajouh_renaud(bases: Bases, outcome: Outcome, i: int, **_) -> Kernel:
    """Rd applied to the fit of the permuted residuals on the subject-by-cell model.

    permuco projects ``P R_D y`` on ``[M_gr, Z_id * M_gr]`` (``M_gr``: intercept and the
    purely between and purely within effects) before taking the Rd ratio, which pools
    replicated observations of a subject in a cell. With one observation per subject and
    within cell (required here) that model spans every function of (subject, cell): the
    projection is the identity and the method is Rd.
    """
    return rd_kheradpajouh_renaud(bases, outcome, i)


METHODS = {
    "freedman_lane": freedman_lane,
    "manly": manly,
    "ter_braak": ter_braak,
    "kennedy": kennedy,
    "huh_jhun": huh_jhun,
    "dekker": dekker,
    "draper_stoneman": draper_stoneman,
    "rd_kheradpajouh_renaud": rd_kheradpajouh_renaud,
    "rde_kheradpajouh_renaud": rde_kheradpajouh_renaud,
    "rd_replic_kheradpajouh_renaud": rd_replic_kheradpajouh_renaud,
}


def build_kernels(method: str, bases: Bases, outcome: Outcome, **options) -> list[Kernel]:
    """The kernels of every effect (model order) of ``outcome`` for ``method``."""
    function = METHODS[method]
    return [
        function(bases, outcome, i, **options) for i in range(1, len(bases.design.effects) + 1)
    ]
