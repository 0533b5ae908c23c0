"""What the property-based tests share (tests/*/test_properties.py).

Every argument of a call is drawn from a pool of valid values or from a pool of invalid ones (a
third of the calls have none invalid); the one assertion is :func:`check_outcome`: with only
valid arguments the call returns a result of the documented shape, dtype and range; with an
invalid one it raises ``ValueError`` or ``TypeError`` whose message names an invalid argument
(in backticks, as every message of the project does), on one line, and nothing else.
"""

import re
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st


def property_settings(max_examples):
    """Deterministic (derandomized, no example database), no deadline: CI sees the same inputs
    on every run."""
    return settings(max_examples=max_examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@dataclass(frozen=True)
class Pool:
    """Valid and invalid values of one argument; ``names``: what a message about an invalid
    value of it may name (the argument itself by default)."""

    valid: st.SearchStrategy
    invalid: st.SearchStrategy | None = None
    names: tuple = ()


def draw_arguments(draw, pools):
    """``(values, bad)``: a value per argument and the names that an error may name."""
    candidates = [name for name, pool in pools.items() if pool.invalid is not None]
    n_bad = draw(st.sampled_from((0, 0, 1, 1, 1, 2)))
    chosen = set(draw(st.permutations(candidates))[:n_bad]) if candidates else set()
    values, bad = {}, set()
    for name, pool in pools.items():
        if name in chosen:
            values[name] = draw(pool.invalid)
            bad.update(pool.names or (name,))
        else:
            values[name] = draw(pool.valid)
    return values, bad


def names_argument(message, names):
    """Whether ``message`` names one of ``names`` as an argument (`name`, `name[..]`, `name.x`)."""
    return any(re.search(rf"`{re.escape(name)}[`\[.]", message) for name in names)


def check_outcome(call, bad, check=None):
    """Run ``call``: a result passing ``check`` when ``bad`` is empty, else a ValueError or
    TypeError naming one of ``bad``. Returns the result (None after an error)."""
    event("all arguments valid" if not bad else "an invalid argument")
    try:
        result = call()
    except (ValueError, TypeError) as error:
        message = str(error)
        assert bad, f"valid arguments refused: {type(error).__name__}: {message}"
        assert names_argument(message, bad), f"{message!r} names none of {sorted(bad)}"
        assert "\n" not in message and "Traceback" not in message, message
        return None
    assert not bad, f"invalid {sorted(bad)} accepted"
    if check is not None:
        check(result)
    return result


def random_array(seed, shape, dtype, *, low=0.0, high=1.0):
    """Uniform values in [low, high] of ``dtype`` (integers over their range by the float
    policy: ``high`` times the dtype's maximum), from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    values = np.asarray(low + (high - low) * rng.random(shape))
    dtype = np.dtype(dtype)
    if dtype.kind in "ui":
        return np.round(values * np.iinfo(dtype).max).astype(dtype)
    if dtype.kind == "b":
        return values >= 0.5
    return values.astype(dtype)


seeds = st.integers(0, 2**16)
#: bad scalars for a positive float parameter
bad_positive = st.sampled_from([0, -1.0, float("nan"), float("inf"), -float("inf"), True, "1",
                                None, [1.0], 1j])
#: bad values for an integer >= 1
bad_count = st.sampled_from([0, -3, 1.5, True, "2", None, float("nan"), 2.0])
