"""A plain, per-series reference implementation of SPEC A2/A3, written from the spec text.

Nothing here is vectorised on purpose: one series at a time, one session at a time, so
that the batch core in ``tukeyrupture._core`` can be checked against an independent
reading of the rules. Conventions fixed here (and flagged in the test report):

* ``quartile_method="tukey"``: Q1 and Q3 are Tukey's hinges, i.e. the medians of the
  smallest and of the largest ``ceil(n / 2)`` observed values, whatever ``lower_half`` says;
  ``lower_half`` only changes the lower-half median (LHM).
* The absolute criterion also requires a positive decrease ``x[t-1] - x[t] > 0`` (it only
  matters when ``c * s == 0``).
* The TCC score is ``(Q1 - x[t]) / IQR`` where the pre-session condition holds in an
  eligible series; with IQR = 0 it is ``+inf`` below Q1 and ``-inf`` at or above Q1; it is
  ``-inf`` everywhere else.
* Both criteria only act on eligible series.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np

NO_RUPTURE, REPAIRED, UNREPAIRED, UNRESOLVED = 0, 1, 2, 3
STAT_NAMES = (
    "median",
    "q1",
    "q3",
    "iqr",
    "lower_control_limit",
    "upper_control_limit",
    "lower_half_median",
)


def is_observed(value) -> bool:
    return not math.isnan(value)


def longest_observed_run(x) -> int:
    """Length of the longest run of consecutive observed (non-NaN) sessions."""
    best = 0
    current = 0
    for value in x:
        if is_observed(float(value)):
            current += 1
            best = max(best, current)
        else:
            current = 0
    return best


def observed_values(x) -> list[float]:
    return sorted(float(value) for value in x if is_observed(float(value)))


def lower_half_size(n: int, lower_half: str) -> int:
    if lower_half == "inclusive":
        return (n + 1) // 2
    if lower_half == "exclusive":
        return n // 2
    raise ValueError(lower_half)


def median_of(values) -> float:
    if len(values) == 0:
        return math.nan
    return float(np.median(np.asarray(values, dtype=float)))


def series_stats(x, *, quartile_method="tukey", lower_half="inclusive", iqr_multiplier=1.0):
    """Median, quartiles, IQR, control limits and LHM of the observed values of ``x``."""
    values = observed_values(x)
    n = len(values)
    if n == 0:
        return dict.fromkeys(STAT_NAMES, math.nan)
    median = median_of(values)
    lhm = median_of(values[: lower_half_size(n, lower_half)])
    if quartile_method == "tukey":
        hinge = (n + 1) // 2
        q1 = median_of(values[:hinge])
        q3 = median_of(values[n - hinge :])
    else:
        array = np.asarray(values, dtype=float)
        q1 = float(np.quantile(array, 0.25, method=quartile_method))
        q3 = float(np.quantile(array, 0.75, method=quartile_method))
    iqr = q3 - q1
    return {
        "median": median,
        "q1": q1,
        "q3": q3,
        "iqr": iqr,
        "lower_control_limit": q1 - iqr_multiplier * iqr,
        "upper_control_limit": q3 + iqr_multiplier * iqr,
        "lower_half_median": lhm,
    }


def detect_series(
    x,
    *,
    iqr_multiplier=1.0,
    quartile_method="tukey",
    lower_half="inclusive",
    absolute_sd_multiplier=2.0,
    pooled_sd=math.nan,
    min_consecutive=7,
):
    """All per-session outputs for one series, as plain Python lists and a stats dict."""
    x = [float(value) for value in x]
    m = len(x)
    eligible = longest_observed_run(x) >= min_consecutive
    stats = series_stats(
        x,
        quartile_method=quartile_method,
        lower_half=lower_half,
        iqr_multiplier=iqr_multiplier,
    )
    q1 = stats["q1"]
    iqr = stats["iqr"]
    lcl = stats["lower_control_limit"]
    lhm = stats["lower_half_median"]
    use_absolute = absolute_sd_multiplier is not None
    threshold = absolute_sd_multiplier * pooled_sd if use_absolute else math.nan

    tcc = [False] * m
    absolute = [False] * m
    score = [-math.inf] * m
    labels = [NO_RUPTURE] * m
    for t in range(1, m):
        if not eligible:
            break
        before = x[t - 1]
        now = x[t]
        if not (is_observed(before) and is_observed(now)):
            continue
        if before > lhm:
            if now < lcl:
                tcc[t] = True
            if iqr > 0:
                score[t] = (q1 - now) / iqr
            elif now < q1:
                score[t] = math.inf
            else:
                score[t] = -math.inf
        if use_absolute:
            drop = before - now
            if drop > 0 and drop >= threshold:
                absolute[t] = True
    for t in range(m):
        if not (tcc[t] or absolute[t]):
            continue
        if t + 1 < m and is_observed(x[t + 1]):
            labels[t] = REPAIRED if x[t + 1] >= lhm else UNREPAIRED
        else:
            labels[t] = UNRESOLVED
    return {
        "labels": labels,
        "tcc": tcc,
        "absolute": absolute,
        "score": score,
        "eligible": eligible,
        "stats": stats,
        "n_observed": len(observed_values(x)),
        "longest_run": longest_observed_run(x),
    }


def pooled_sd(X, *, kind="within", min_consecutive=7):
    """Pooled SD over the eligible rows of ``X``; NaN and a UserWarning without dof.

    The sums of squares are exact (fractions), so subnormal or huge sessions neither
    underflow nor overflow on the way to the SD."""
    sum_squares = Fraction(0)
    dof = 0
    all_values = []
    for row in X:
        if longest_observed_run(row) < min_consecutive:
            continue
        values = [Fraction(float(v)) for v in row if is_observed(float(v))]
        if kind == "within":
            mean = sum(values) / len(values)
            sum_squares += sum((v - mean) ** 2 for v in values)
            dof += len(values) - 1
        else:
            all_values.extend(values)
    if kind == "total":
        dof = len(all_values) - 1
        if dof > 0:
            mean = sum(all_values) / len(all_values)
            sum_squares = sum((v - mean) ** 2 for v in all_values)
    if dof <= 0:
        warnings.warn("no degrees of freedom for the pooled SD", UserWarning, stacklevel=2)
        return math.nan
    return _float_sqrt(sum_squares / dof)


def _float_sqrt(value: Fraction) -> float:
    """``sqrt(value)`` as a float: ``inf`` beyond the float range, subnormal or 0 below it."""
    if value == 0:
        return 0.0
    half_exponent = (value.numerator.bit_length() - value.denominator.bit_length()) // 2
    root = math.sqrt(float(value / Fraction(4) ** half_exponent))
    try:
        return math.ldexp(root, half_exponent)
    except OverflowError:
        return math.inf


def fitted_pooled_sd(X, params):
    """The ``pooled_sd_`` that ``fit(X)`` should learn under the parameter dict ``params``."""
    if params.get("absolute_sd_multiplier", 2.0) is None:
        return math.nan
    choice = params.get("pooled_sd")
    min_consecutive = params.get("min_consecutive", 7)
    if choice is None or choice == "within":
        return pooled_sd(X, kind="within", min_consecutive=min_consecutive)
    if choice == "total":
        return pooled_sd(X, kind="total", min_consecutive=min_consecutive)
    return float(choice)


def detect_loop(X, params, s):
    """Run :func:`detect_series` on every row; stack outputs into numpy arrays."""
    X = np.asarray(X, dtype=float)
    n, m = X.shape
    out = {
        "labels": np.zeros((n, m), dtype=np.int8),
        "tcc": np.zeros((n, m), dtype=bool),
        "absolute": np.zeros((n, m), dtype=bool),
        "score": np.full((n, m), -np.inf),
        "eligible": np.zeros(n, dtype=bool),
        "longest_run": np.zeros(n, dtype=np.int64),
        "n_observed": np.zeros(n, dtype=np.int64),
    }
    for name in STAT_NAMES:
        out[name] = np.full(n, np.nan)
    keys = (
        "iqr_multiplier",
        "quartile_method",
        "lower_half",
        "absolute_sd_multiplier",
        "min_consecutive",
    )
    options = {key: params[key] for key in keys if key in params}
    for i in range(n):
        one = detect_series(X[i], pooled_sd=s, **options)
        out["labels"][i] = one["labels"]
        out["tcc"][i] = one["tcc"]
        out["absolute"][i] = one["absolute"]
        out["score"][i] = one["score"]
        out["eligible"][i] = one["eligible"]
        out["longest_run"][i] = one["longest_run"]
        out["n_observed"][i] = one["n_observed"]
        for name in STAT_NAMES:
            out[name][i] = one["stats"][name]
    return out


def features_loop(labels, eligible):
    """``transform`` features, row by row: counts, has_rupture, 1-based first, eligible."""
    n = labels.shape[0]
    features = np.full((n, 7), np.nan)
    for i in range(n):
        features[i, 6] = float(eligible[i])
        if not eligible[i]:
            continue
        row = list(labels[i])
        ruptures = [t for t, label in enumerate(row) if label != NO_RUPTURE]
        features[i, 0] = len(ruptures)
        features[i, 1] = row.count(REPAIRED)
        features[i, 2] = row.count(UNREPAIRED)
        features[i, 3] = row.count(UNRESOLVED)
        features[i, 4] = float(len(ruptures) > 0)
        if ruptures:
            features[i, 5] = ruptures[0] + 1
    return features


def repair_labels(x, central) -> list[int]:
    """The study's repair rule for one series: each flagged session labelled from the next
    one against the series' lower-half median (1 repaired, 2 unrepaired, 3 unresolved)."""
    lhm = series_stats(x)["lower_half_median"]
    labels = []
    for t, flagged in enumerate(central):
        if not flagged:
            labels.append(0)
        elif t + 1 >= len(x) or not is_observed(x[t + 1]):
            labels.append(3)
        else:
            labels.append(1 if x[t + 1] >= lhm else 2)
    return labels
