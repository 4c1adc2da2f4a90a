"""Exact rational-arithmetic oracle for the permutation p-values of ``permanova.aovperm``.

Written from the definitions of the methods (Frossard & Renaud, 2021, for the
between-subjects methods; Kherad-Pajouh & Renaud, 2015, for the repeated-measures ``Rd``
method), independently of permanova's numerical code. Nothing here is rounded:

* the outcome's floats are converted to :class:`fractions.Fraction` (their exact binary
  values), factors get sum-to-zero coding with integer entries;
* ``fit(M, v) = v' M (M'M)^+ M' v`` is ``(M_r' v)' G^{-1} (M_r' v)``, where ``M_r`` keeps a
  maximal set of linearly independent columns of ``M`` (exact elimination, so rank
  deficiency is decided exactly) and ``G = M_r' M_r`` is inverted exactly;
* for the enumeration the permuted vector ``u`` is written ``U / L`` with ``U`` integer,
  so that every sum of squares is an integer numerator over a fixed denominator,
  computed with Python's unbounded integers (numpy arrays of dtype ``object``).

Methods: ``freedman_lane`` (``u = R_D y``) and ``manly`` (``u = y - mean(y)``) for
between-subjects designs, with ``SS = fit(X, v) - fit(D, v)`` and
``SS_error = v'v - fit(X, v)``; ``rd_kheradpajouh_renaud`` (``u = R_D y``, all rows
permuted) for designs with a within factor, with the same numerator and the error stratum
of the effect as denominator, ``SS_error = fit(Z_w, v) - fit(F_w, v)``: ``Z_w`` are the
subject indicators times the columns of the effect's within part ``w`` (the subject
indicators alone when ``w`` is empty) and ``F_w`` the columns of the effects whose within
part is ``w`` (plus the intercept when ``w`` is empty). ``D`` is always the fixed-effect
model without the tested effect, ``X`` the full fixed-effect model. ``F = 0`` when
``SS = 0`` (also ``0 / 0``: not extreme) and ``F = inf`` when ``SS > 0 = SS_error``.

Examples
--------
>>> import pandas as pd
>>> data = pd.DataFrame({"g": ["a", "b", "c", "c"], "y": [0.0, 2.0, 0.0625, 0.0]})
>>> effect = exact_aovperm(data, "y", between="g", enumeration="assignments")["g"]
>>> effect.f, effect.count, effect.total, effect.p
(Fraction(3009, 4), 6, 12, Fraction(1, 2))
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations, permutations, product

import numpy as np
import pandas as pd

INF = math.inf
BETWEEN_METHODS = ("freedman_lane", "manly")
WITHIN_METHODS = ("rd_kheradpajouh_renaud",)


# --------------------------------------------------------------------------------------
# exact linear algebra
# --------------------------------------------------------------------------------------
def independent_columns(columns: list[tuple[int, ...]]) -> list[int]:
    """Indices of a maximal linearly independent subset of ``columns``, greedily in order."""
    echelon: list[tuple[int, list[Fraction]]] = []  # (pivot position, reduced column)
    kept = []
    for index, column in enumerate(columns):
        reduced = [Fraction(x) for x in column]
        for pivot, row in echelon:
            if reduced[pivot]:
                factor = reduced[pivot] / row[pivot]
                reduced = [a - factor * b for a, b in zip(reduced, row)]
        nonzero = [k for k, x in enumerate(reduced) if x]
        if nonzero:
            echelon.append((nonzero[0], reduced))
            kept.append(index)
    return kept


def inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse of a non-singular square matrix (Gauss-Jordan with Fractions)."""
    size = len(matrix)
    work = [
        [Fraction(x) for x in row] + [Fraction(int(i == j)) for j in range(size)]
        for i, row in enumerate(matrix)
    ]
    for col in range(size):
        pivot = next(r for r in range(col, size) if work[r][col])
        work[col], work[pivot] = work[pivot], work[col]
        lead = work[col][col]
        work[col] = [x / lead for x in work[col]]
        for r in range(size):
            if r != col and work[r][col]:
                factor = work[r][col]
                work[r] = [a - factor * b for a, b in zip(work[r], work[col])]
    return [row[size:] for row in work]


@dataclass(frozen=True)
class Projection:
    """``fit(M, v) = v' M (M'M)^+ M' v`` for an integer matrix ``M`` given by columns.

    ``columns`` (n, r) holds independent columns of ``M`` and ``weights / scale`` is
    ``(M_r' M_r)^{-1}``, both as integer arrays of dtype ``object``.
    """

    columns: np.ndarray
    weights: np.ndarray
    scale: int

    @classmethod
    def of(cls, columns: list[tuple[int, ...]], n: int) -> Projection:
        kept = [columns[i] for i in independent_columns(columns)]
        basis = np.array([[int(x) for x in col] for col in kept], dtype=object).T
        basis = basis.reshape(n, len(kept))
        if not kept:
            return cls(basis, np.zeros((0, 0), dtype=object), 1)
        gram = (basis.T @ basis).tolist()
        inv = inverse(gram)
        scale = math.lcm(*(x.denominator for row in inv for x in row))
        weights = np.array([[int(x * scale) for x in row] for row in inv], dtype=object)
        return cls(basis, weights, scale)

    @property
    def rank(self) -> int:
        return self.columns.shape[1]

    def coefficients(self, v: list[Fraction]) -> list[Fraction]:
        """``(M_r' M_r)^{-1} M_r' v``: the least-squares coefficients (exact)."""
        b = [sum(int(m) * x for m, x in zip(col, v)) for col in self.columns.T]
        return [
            sum(Fraction(int(w)) * bj for w, bj in zip(row, b)) / self.scale
            for row in self.weights
        ]

    def residual(self, v: list[Fraction]) -> list[Fraction]:
        """``v - M (M'M)^+ M' v`` (exact)."""
        beta = self.coefficients(v)
        return [x - sum(int(m) * c for m, c in zip(row, beta)) for x, row in zip(v, self.columns)]

    def numerators(self, vectors: np.ndarray) -> np.ndarray:
        """``fit(M, v) * scale`` for each row of ``vectors`` (m, n), an integer array."""
        if self.rank == 0:
            return np.zeros(vectors.shape[0], dtype=object)
        b = vectors @ self.columns
        return ((b @ self.weights) * b).sum(axis=1)


# --------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------
def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def sum_coded(values: pd.Series) -> list[tuple[int, ...]]:
    """Sum-to-zero coding (R's ``contr.sum``): ``levels - 1`` integer columns."""
    levels = sorted(pd.unique(values))
    last = levels[-1]
    return [
        tuple(1 if x == level else -1 if x == last else 0 for x in values) for level in levels[:-1]
    ]


def _products(blocks: list[list[tuple[int, ...]]]) -> list[tuple[int, ...]]:
    """Columns of an interaction: element-wise products of one column from each block."""
    return [tuple(math.prod(parts) for parts in zip(*combo)) for combo in product(*blocks)]


@dataclass(frozen=True)
class ExactDesign:
    """Full-factorial fixed-effect model of ``between + within`` factors, exactly coded."""

    y: tuple[Fraction, ...]
    effects: tuple[str, ...]
    effect_factors: tuple[tuple[str, ...], ...]
    effect_columns: tuple[tuple[tuple[int, ...], ...], ...]
    between: tuple[str, ...]
    within: tuple[str, ...]
    subject: tuple | None
    cells: tuple  # the design cell of each row: rows of one cell are interchangeable

    @property
    def n(self) -> int:
        return len(self.y)

    def within_part(self, index: int) -> tuple[str, ...]:
        return tuple(f for f in self.effect_factors[index] if f in self.within)

    def model(self, drop: Iterable[int] = ()) -> list[tuple[int, ...]]:
        """Columns of the intercept and every effect except those in ``drop``."""
        drop = set(drop)
        columns = [(1,) * self.n]
        for index, block in enumerate(self.effect_columns):
            if index not in drop:
                columns.extend(block)
        return columns


def exact_design(data: pd.DataFrame, dv: str, between=None, within=None, subject=None):
    """Code ``data`` exactly: Fractions for the outcome, sum-to-zero integer columns."""
    between, within = _as_list(between), _as_list(within)
    factors = between + within
    if not factors:
        raise ValueError("at least one factor is needed")
    if within and subject is None:
        raise ValueError("`subject` is required with `within`")
    main = {f: sum_coded(data[f]) for f in factors}
    terms = [c for order in range(1, len(factors) + 1) for c in combinations(factors, order)]
    subject_ids = tuple(data[subject]) if within else None
    keys = [subject] if within else []
    cells = tuple(zip(*(data[k] for k in keys + factors)))
    if within and len(set(cells)) != len(cells):
        raise ValueError("one observation per subject and within cell is required")
    return ExactDesign(
        y=tuple(Fraction(float(v)) for v in data[dv]),
        effects=tuple(":".join(t) for t in terms),
        effect_factors=tuple(terms),
        effect_columns=tuple(tuple(_products([main[f] for f in t])) for t in terms),
        between=tuple(between),
        within=tuple(within),
        subject=subject_ids,
        cells=cells,
    )


# --------------------------------------------------------------------------------------
# the statistic of one effect
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EffectStatistic:
    """``F(v) = ((fit(num+, v) - fit(num-, v)) / df) / ((den+ - fit(den-, v)) / df_error)``.

    ``den_plus`` is ``None`` for ``v'v``. ``u`` is the vector the method permutes.
    """

    name: str
    u: tuple[Fraction, ...]
    num_plus: Projection
    num_minus: Projection
    den_plus: Projection | None
    den_minus: Projection

    @property
    def df(self) -> int:
        return self.num_plus.rank - self.num_minus.rank

    @property
    def df_error(self) -> int:
        plus = len(self.u) if self.den_plus is None else self.den_plus.rank
        return plus - self.den_minus.rank

    def sums_of_squares(self, vectors: np.ndarray, denominator: int):
        """Sums of squares of ``v = vectors / denominator`` as integers (object arrays).

        Returns ``(ss, ss_error, scale)``: the exact sums of squares are ``ss * scale``
        and ``ss_error * scale``.
        """
        parts = [self.num_plus, self.num_minus, self.den_minus]
        if self.den_plus is not None:
            parts.append(self.den_plus)
        common = math.lcm(*(p.scale for p in parts))
        fits = [p.numerators(vectors) * (common // p.scale) for p in parts]
        ss = fits[0] - fits[1]
        if self.den_plus is None:
            plus = (vectors * vectors).sum(axis=1) * common
        else:
            plus = fits[3]
        ss_error = plus - fits[2]
        if any(x < 0 for x in ss) or any(x < 0 for x in ss_error):
            raise AssertionError("a sum of squares is negative in exact arithmetic")
        return ss, ss_error, Fraction(1, common * denominator**2)

    def ratio(self, ss: int, ss_error: int) -> Fraction | float:
        """F from (scaled) sums of squares: ``0`` when ``SS = 0``, ``inf`` when only
        ``SS_error = 0``."""
        if ss == 0:
            return Fraction(0)
        if ss_error == 0:
            return INF
        return Fraction(ss * self.df_error, ss_error * self.df)


def at_least(ss: int, ss_error: int, ss_obs: int, sse_obs: int) -> bool:
    """``F(ss, ss_error) >= F(ss_obs, sse_obs)`` for one effect (same dfs), exactly.

    Same conventions as :meth:`EffectStatistic.ratio`; integer cross-multiplication.
    """
    if ss_obs == 0:  # F_obs = 0
        return True
    if ss == 0:  # F = 0 < F_obs
        return False
    if ss_error == 0:  # F = inf
        return True
    if sse_obs == 0:  # F_obs = inf > F
        return False
    return ss * sse_obs >= ss_obs * ss_error


def _statistics(design: ExactDesign, method: str) -> list[EffectStatistic]:
    n = design.n
    full = Projection.of(design.model(), n)
    out = []
    for index, name in enumerate(design.effects):
        reduced = Projection.of(design.model(drop=[index]), n)
        if method == "manly":
            mean = sum(design.y) / n
            u = tuple(v - mean for v in design.y)
        else:
            u = tuple(reduced.residual(list(design.y)))
        if method in BETWEEN_METHODS:
            out.append(EffectStatistic(name, u, full, reduced, None, full))
            continue
        stratum = _stratum(design, index)
        out.append(EffectStatistic(name, u, full, reduced, *stratum))
    return out


def _stratum(design: ExactDesign, index: int) -> tuple[Projection, Projection]:
    """``(Z_w, F_w)`` of the error stratum of effect ``index`` (see module docstring)."""
    w = design.within_part(index)
    subjects = sorted(set(design.subject))
    indicators = [tuple(int(s == level) for s in design.subject) for level in subjects]
    same = [j for j in range(len(design.effects)) if design.within_part(j) == w]
    if w:
        w_columns = list(design.effect_columns[design.effects.index(":".join(w))])
        fixed = []
    else:
        w_columns = [(1,) * design.n]
        fixed = [(1,) * design.n]
    for j in same:
        fixed.extend(design.effect_columns[j])
    z = _products([indicators, w_columns])
    return Projection.of(z, design.n), Projection.of(fixed, design.n)


# --------------------------------------------------------------------------------------
# enumeration
# --------------------------------------------------------------------------------------
def assignment_permutations(groups: tuple) -> Iterator[tuple[int, ...]]:
    """One permutation ``p`` (``v = u[p]``) per distinct assignment of units to groups.

    The positions of group ``g`` (in increasing order) receive the units assigned to
    ``g`` (in increasing order); there are ``n! / prod(n_g!)`` assignments.
    """
    levels = sorted(set(groups))
    positions = [[i for i, g in enumerate(groups) if g == level] for level in levels]

    def assign(free: tuple[int, ...], level: int):
        if level == len(levels) - 1:
            yield [free]
            return
        for chosen in combinations(free, len(positions[level])):
            rest = tuple(x for x in free if x not in chosen)
            for tail in assign(rest, level + 1):
                yield [chosen, *tail]

    for parts in assign(tuple(range(len(groups))), 0):
        p = [0] * len(groups)
        for where, units in zip(positions, parts):
            for i, unit in zip(where, units):
                p[i] = unit
        yield tuple(p)


def subject_relabellings(design: ExactDesign) -> list[tuple[int, ...]]:
    """Row permutations that relabel the subjects within each between cell (identity first).

    Row ``i`` (subject ``s``, within cell ``w``) goes to the row of (``sigma(s)``, ``w``).
    """
    n_between = len(design.between)
    row_of = {(c[0], c[1 + n_between :]): i for i, c in enumerate(design.cells)}
    members: dict = {}
    for c in design.cells:
        members.setdefault(c[1 : 1 + n_between], set()).add(c[0])
    groups = [sorted(g) for g in members.values()]
    out = []
    for images in product(*(permutations(g) for g in groups)):
        sigma = {s: t for g, image in zip(groups, images) for s, t in zip(g, image)}
        out.append(tuple(row_of[(sigma[c[0]], c[1 + n_between :])] for c in design.cells))
    return out


def distinct_permutations(perms: Iterable, design: ExactDesign, reduce: bool = True) -> Counter:
    """Multiplicity of each class of permutations that have the same statistics.

    ``p`` and ``p[pi]`` (the permuted vector reordered by the row permutation ``pi``)
    give the same sums of squares whenever ``pi`` maps every model matrix onto a matrix
    with the same column space:

    * between designs: ``pi`` reorders rows within a design cell (identical rows); the
      representative puts the units of each cell in increasing order;
    * repeated measures: ``pi`` relabels the subjects of one between cell (``X`` and ``D``
      do not involve the subjects, the columns of ``Z_w`` are permuted); the
      representative is the smallest ``p[pi]``.

    ``reduce=False`` keeps every permutation as its own class.
    """
    counts: Counter = Counter()
    if not reduce:
        counts.update(tuple(p) for p in perms)
        return counts
    if design.within:
        relabellings = subject_relabellings(design)
        for p in perms:
            counts[min(tuple(p[i] for i in pi) for pi in relabellings)] += 1
        return counts
    blocks: dict = {}
    for i, cell in enumerate(design.cells):
        blocks.setdefault(cell, []).append(i)
    blocks = [b for b in blocks.values() if len(b) > 1]
    for p in perms:
        p = list(p)
        for block in blocks:
            for i, unit in zip(block, sorted(p[i] for i in block)):
                p[i] = unit
        counts[tuple(p)] += 1
    return counts


@dataclass(frozen=True)
class ExactEffect:
    """Exact results for one effect.

    ``count`` permutations among the ``total`` evaluated have ``F >= f``; ``p`` is
    ``count / total`` for an enumeration (identity included) and
    ``(1 + count) / (1 + total)`` for a user matrix (identity excluded).
    """

    effect: str
    df: int
    df_error: int
    ss: Fraction
    ss_error: Fraction
    f: Fraction | float
    count: int
    total: int
    p: Fraction


def exact_aovperm(
    data: pd.DataFrame,
    dv: str,
    *,
    between=None,
    within=None,
    subject=None,
    method: str | None = None,
    enumeration: str = "rows",
    permutations_matrix: np.ndarray | None = None,
    reduce: bool = True,
) -> dict[str, ExactEffect]:
    """Exact observed F and permutation p-value of every effect, keyed by effect name.

    ``enumeration``: ``"rows"`` (all ``n!`` permutations of the rows), ``"assignments"``
    (one-way between designs: the ``n! / prod(n_g!)`` distinct group assignments, each
    standing for ``prod(n_g!)`` row permutations with the same statistic) or
    ``"identity"`` (the observed table only). ``permutations_matrix`` (B, n), 0-based,
    identity excluded, replaces the enumeration. ``reduce`` shares the work between
    permutations with provably equal statistics (see :func:`distinct_permutations`).
    """
    design = exact_design(data, dv, between, within, subject)
    if method is None:
        method = "rd_kheradpajouh_renaud" if design.within else "freedman_lane"
    allowed = WITHIN_METHODS if design.within else BETWEEN_METHODS
    if method not in allowed:
        raise ValueError(f"method {method!r} is not one of {allowed}")
    if permutations_matrix is not None:
        perms = [tuple(int(i) for i in row) for row in np.asarray(permutations_matrix)]
    elif enumeration == "rows":
        perms = permutations(range(design.n))
    elif enumeration == "assignments":
        if design.within or len(design.between) != 1:
            raise ValueError("enumeration='assignments' needs a one-way between design")
        perms = assignment_permutations(tuple(data[design.between[0]]))
    elif enumeration == "identity":
        perms = [tuple(range(design.n))]
    else:
        raise ValueError(f"unknown enumeration {enumeration!r}")
    distinct = distinct_permutations(perms, design, reduce)
    user = permutations_matrix is not None
    return {stat.name: _evaluate(stat, distinct, user) for stat in _statistics(design, method)}


def _evaluate(stat: EffectStatistic, distinct: Counter, user: bool) -> ExactEffect:
    denominator = math.lcm(*(x.denominator for x in stat.u))
    u_int = np.array([int(x * denominator) for x in stat.u], dtype=object)
    ss_obs, sse_obs, scale = stat.sums_of_squares(u_int[None, :], denominator)
    f_obs = stat.ratio(ss_obs[0], sse_obs[0])
    index = np.array(list(distinct), dtype=np.intp).reshape(len(distinct), len(u_int))
    ss, sse, _ = stat.sums_of_squares(u_int[index], denominator)
    count = sum(
        weight
        for weight, a, b in zip(distinct.values(), ss, sse)
        if at_least(a, b, ss_obs[0], sse_obs[0])
    )
    total = sum(distinct.values())
    p = Fraction(1 + count, 1 + total) if user else Fraction(count, total)
    return ExactEffect(
        effect=stat.name,
        df=stat.df,
        df_error=stat.df_error,
        ss=ss_obs[0] * scale,
        ss_error=sse_obs[0] * scale,
        f=f_obs,
        count=count,
        total=total,
        p=p,
    )
