"""Presets and argument checks of :func:`tukeyrupture.comparison.realistic.simulate_realistic`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral
from typing import Any

from tukeyrupture._validation import check_integer, check_real
from tukeyrupture.comparison.simulate import MAX_CELLS, _check_rupture_rate

#: Repair shapes, coded 1, 2, 3 in :attr:`RealisticAlliance.repair_shape` (0: no rupture).
REPAIR_SHAPES: tuple[str, ...] = ("v", "slow", "no_return")

# Settings shared by both presets: weekly sessions over about three months, a slow return
# over three sessions, 10% of sessions missing at random and 30% after a rupture.
_COMMON = {
    "n_sessions": 15,
    "lengths": (8, 15),
    "n_items": 12,
    "ar": 0.3,
    "ar_spread": 0.2,
    "depth": 2.0,
    "recovery": 3,
    "missing_rate": 0.1,
    "post_rupture_missing": 0.3,
}
# mean, between_sd, within_sd and item_noise were solved by simulation (and quadrature for
# the alpha of the rupture-free model) so that the scores match the study's descriptives.
#: Settings of ``simulate_realistic`` by preset name (see its Notes).
PRESETS: dict[str, dict[str, Any]] = {
    "children": {
        **_COMMON,
        "item_range": (1, 4),
        "aggregate": "sum",
        "mean": 38.35,
        "between_sd": 1.73,
        "within_sd": 1.73,
        "item_noise": 0.13,
        "trend": 0.1,
        "rupture_rate": 0.02,
        "repair": {"v": 0.53, "no_return": 0.47},
    },
    "therapists": {
        **_COMMON,
        "item_range": (1, 5),
        "aggregate": "mean",
        "mean": 3.828,
        "between_sd": 0.204,
        "within_sd": 0.204,
        "item_noise": 0.01,
        "trend": 0.01,
        "rupture_rate": 0.03,
        "repair": {"v": 0.8, "no_return": 0.2},
    },
}


def _check_item_range(value):
    name = "item_range"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"`{name}` must be a pair (low, high); got {value!r}.")
    low, high = (check_integer(f"{name}[{i}]", v, -(2**31)) for i, v in enumerate(value))
    if not low < high:
        raise ValueError(f"`{name}` must satisfy low < high; got {tuple(value)!r}.")
    return (low, high)


def _check_lengths(lengths, n_sessions):
    if lengths is None:
        return (n_sessions, n_sessions)
    if isinstance(lengths, Integral) and not isinstance(lengths, bool):
        low = high = int(lengths)
    elif isinstance(lengths, (tuple, list)) and len(lengths) == 2:
        low, high = (check_integer(f"lengths[{i}]", v, 3) for i, v in enumerate(lengths))
    else:
        raise TypeError(
            f"`lengths` must be None, an integer or a pair (low, high); got {lengths!r}."
        )
    if not 3 <= low <= high <= n_sessions:
        raise ValueError(
            f"`lengths` must satisfy 3 <= low <= high <= n_sessions={n_sessions}; got {lengths!r}."
        )
    return (low, high)


def _check_repair(repair):
    if isinstance(repair, str):
        repair = {repair: 1.0}
    if not isinstance(repair, Mapping):
        raise TypeError(
            f"`repair` must be one of {list(REPAIR_SHAPES)} or a dict shape -> probability; "
            f"got {repair!r}."
        )
    unknown = sorted(str(name) for name in repair if name not in REPAIR_SHAPES)
    if unknown:
        raise ValueError(f"`repair` shapes must be in {list(REPAIR_SHAPES)}; got {unknown}.")
    probabilities = {
        name: check_real(f"repair[{name!r}]", repair.get(name, 0.0), low=0, high=1)
        for name in REPAIR_SHAPES
    }
    total = sum(probabilities.values())
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(f"`repair` probabilities must sum to 1; got {total:g}.")
    return probabilities


def _check_ar(ar, ar_spread):
    ar = check_real("ar", ar, low=-1, high=1, open_low=True, open_high=True)
    ar_spread = check_real("ar_spread", ar_spread, low=0)
    if abs(ar) + ar_spread >= 1:
        raise ValueError(
            "`ar` +- `ar_spread` must lie inside (-1, 1) (the person-specific coefficients "
            f"are uniform on [ar - ar_spread, ar + ar_spread]); got ar={ar:g}, "
            f"ar_spread={ar_spread:g}."
        )
    return ar, ar_spread


def _check_preset(preset):
    if not isinstance(preset, str) or preset not in PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(PRESETS)}; got {preset!r}.")
    return preset


def _simulate_realistic_iv(n_series, preset, overrides):
    """Validate the arguments of :func:`simulate_realistic`; return them normalised."""
    params = {"preset": _check_preset(preset), **PRESETS[preset]}
    params.update({key: value for key, value in overrides.items() if value is not None})
    n_series = check_integer("n_series", n_series, 1)
    m = check_integer("n_sessions", params["n_sessions"], 3)
    if n_series * m > MAX_CELLS:
        raise ValueError(
            f"`n_series` * `n_sessions` must be at most {MAX_CELLS} (2**31); got "
            f"{n_series} * {m}. Simulate in batches with different seeds."
        )
    if params["aggregate"] not in ("sum", "mean"):
        raise ValueError(f"`aggregate` must be 'sum' or 'mean'; got {params['aggregate']!r}.")
    ar, ar_spread = _check_ar(params["ar"], params["ar_spread"])
    return {
        "n_series": n_series,
        **params,
        "n_sessions": m,
        "lengths": _check_lengths(params["lengths"], m),
        "n_items": check_integer("n_items", params["n_items"], 1),
        "item_range": _check_item_range(params["item_range"]),
        "mean": check_real("mean", params["mean"]),
        "between_sd": check_real("between_sd", params["between_sd"], low=0),
        "within_sd": check_real("within_sd", params["within_sd"], low=0),
        "item_noise": check_real("item_noise", params["item_noise"], low=0, high=1),
        "ar": ar,
        "ar_spread": ar_spread,
        "trend": check_real("trend", params["trend"]),
        "rupture_rate": _check_rupture_rate(params["rupture_rate"]),
        "depth": check_real("depth", params["depth"], low=0),
        "repair": _check_repair(params["repair"]),
        "recovery": check_integer("recovery", params["recovery"], 2),
        "missing_rate": check_real("missing_rate", params["missing_rate"], low=0, high=1),
        "post_rupture_missing": check_real(
            "post_rupture_missing", params["post_rupture_missing"], low=0, high=1
        ),
    }
