"""Argument checks shared by the estimators and the restoration API: one clear ``ValueError``
naming the argument and what was expected."""

import numpy as np

__all__ = ["is_positive", "check_positive", "check_int", "check_choice"]


def is_positive(value):
    """True for a finite real number ``> 0`` (booleans excluded)."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
        and np.isfinite(value) and value > 0


def check_positive(name, value):
    if not is_positive(value):
        raise ValueError(f"`{name}` must be a positive number, got {value!r}")


def check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {choices}, got {value!r}")
