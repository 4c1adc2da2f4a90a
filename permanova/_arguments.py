"""Checks of the scalar and option arguments shared by the public functions.

Message pattern: ``"`n_resamples` must be a positive integer; got -3."``. ``TypeError`` for
types, ``ValueError`` for values.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable

import numpy as np
import pandas as pd

from permanova._methods import ALIASES, BETWEEN_METHODS, WITHIN_METHODS

MAX_INT64 = np.iinfo(np.int64).max


def check_positive_int(value, name: str) -> int:
    """An integer from 1 to ``2**63 - 1`` (integral floats such as ``1e4`` are accepted)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a positive integer; got {value!r}.")
    if isinstance(value, numbers.Integral):
        number = int(value)
    else:
        real = float(value)
        if not math.isfinite(real) or not real.is_integer():
            raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
        number = int(real)
    if number < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    if number > MAX_INT64:
        raise ValueError(
            f"`{name}` must be a positive integer of at most 2**63 - 1 ({MAX_INT64}); "
            f"got {value!r}."
        )
    return number


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def check_label(value, name: str):
    """A column label: a string or another hashable value (pandas allows int labels)."""
    if value is None or isinstance(value, (list, tuple)) or not isinstance(value, Hashable):
        raise TypeError(f"`{name}` must be a column label (a string, say); got {value!r}.")
    return value


def as_name_list(value, name: str) -> list:
    """``None`` -> [], a column label -> [label], a list/tuple of labels -> list."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple, pd.Index, np.ndarray)):
        try:
            return [check_label(value, name)]
        except TypeError:
            raise TypeError(
                f"`{name}` must be a column label or a list of column labels; got {value!r}."
            ) from None
    labels = list(value)
    for label in labels:
        if label is None or isinstance(label, (list, tuple)) or not isinstance(label, Hashable):
            raise TypeError(
                f"`{name}` must be a column label or a list of column labels; got {value!r}."
            )
    if len(set(labels)) != len(labels):
        raise ValueError(f"`{name}` lists a column more than once; got {labels!r}.")
    return labels


def check_method(method, repeated: bool) -> str:
    """Normalise a method name (case-insensitive; permuco's spellings accepted)."""
    valid = WITHIN_METHODS if repeated else BETWEEN_METHODS
    if method is None:
        return valid[0]
    if not isinstance(method, str):
        raise TypeError(f"`method` must be a string or None; got {method!r}.")
    name = ALIASES.get(method.lower(), method.lower())
    if name in valid:
        return name
    other = BETWEEN_METHODS if repeated else WITHIN_METHODS
    if name in other:
        kind = "with a within factor" if repeated else "without a within factor"
        raise ValueError(
            f"`method` {method!r} does not apply to designs {kind}; valid methods here: "
            f"{', '.join(valid)}."
        )
    raise ValueError(
        f"`method` must be one of {', '.join(BETWEEN_METHODS + WITHIN_METHODS)}; got {method!r}."
    )


def check_exact(exact):
    if isinstance(exact, str) and exact == "auto":
        return "auto"
    if isinstance(exact, (bool, np.bool_)):
        return bool(exact)
    raise ValueError(f'`exact` must be "auto", True or False; got {exact!r}.')


def check_alternative(alternative) -> str:
    """``"greater"``, ``"less"`` or ``"two-sided"`` (permuco's ``"two.sided"`` accepted)."""
    if alternative == "two.sided":
        alternative = "two-sided"
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(
            f'`alternative` must be "greater", "less" or "two-sided"; got {alternative!r}.'
        )
    return alternative


_SEED_TYPES = (
    "None, a non-negative int, a numpy SeedSequence, Generator, BitGenerator or RandomState"
)


def check_random_state(random_state) -> np.random.Generator:
    """A Generator for ``random_state``; a SeedSequence given is never modified.

    * ``None``: fresh OS entropy; an int or a sequence of ints: ``default_rng(seed)``.
    * ``SeedSequence``: a Generator built from a *copy* (spawning from the result leaves the
      caller's object unchanged, so two calls with it give the same results).
    * ``Generator`` / ``BitGenerator``: used as is, hence advanced (numpy/scipy convention).
    * ``RandomState``: four 32-bit words are drawn from it to seed a new Generator, which
      advances it as any use of a RandomState does.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.BitGenerator):
        return np.random.Generator(random_state)
    if isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(copy_seed_sequence(random_state))
    if isinstance(random_state, np.random.RandomState):
        words = random_state.randint(0, 2**32, size=4, dtype=np.uint64)
        return np.random.default_rng(words.tolist())
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, (bool, np.bool_, str, bytes)) or not (
        isinstance(random_state, numbers.Integral)
        or isinstance(random_state, (list, tuple, np.ndarray))
    ):
        raise TypeError(f"`random_state` must be {_SEED_TYPES}; got {random_state!r}.")
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError) as error:
        kind = TypeError if isinstance(error, TypeError) else ValueError
        message = f"`random_state` must be {_SEED_TYPES}; got {random_state!r} ({error})."
        raise kind(message) from None


def copy_seed_sequence(seed: np.random.SeedSequence) -> np.random.SeedSequence:
    """An independent copy of a ``SeedSequence`` (same entropy, key and spawn count)."""
    return np.random.SeedSequence(
        seed.entropy,
        spawn_key=seed.spawn_key,
        pool_size=seed.pool_size,
        n_children_spawned=seed.n_children_spawned,
    )


BACKENDS = ("threads", "dask")


def check_n_jobs(n_jobs) -> int | None:
    """scikit-learn's ``n_jobs``: None, a positive integer or a negative one (-1 = all
    cores, -2 = all but one, ...)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"`n_jobs` must be None or an integer (-1 for all cores); got {n_jobs!r}.")
    if int(n_jobs) == 0:
        raise ValueError("`n_jobs` must be None, a positive integer or -1 (all cores); got 0.")
    return int(n_jobs)


def check_backend(backend):
    """``(use_dask, client)`` for ``backend``: None/"threads", "dask" or a Dask client."""
    if backend is None or (isinstance(backend, str) and backend == "threads"):
        return False, None
    if isinstance(backend, str):
        if backend != "dask":
            raise ValueError(
                f"`backend` must be one of {list(BACKENDS)} or a dask.distributed.Client; "
                f"got {backend!r}."
            )
        return True, None
    if type(backend).__name__ == "Client" and type(backend).__module__.startswith("distributed"):
        return True, backend
    raise TypeError(
        f"`backend` must be None, 'threads', 'dask' or a dask.distributed.Client; got "
        f"{type(backend).__name__}."
    )


_MISSING = ("raise", "drop_subjects")


def check_missing(missing) -> str:
    if not isinstance(missing, str) or missing not in _MISSING:
        raise ValueError(f"`missing` must be one of {list(_MISSING)}; got {missing!r}.")
    return missing
