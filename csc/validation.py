"""Argument checks shared by every package (``csc``, ``restoration``, ``nets``).

Each check raises one ``ValueError`` (``TypeError`` for a value of the wrong kind, where said)
that names the argument, says what was expected and shows what was received; it returns nothing.
Booleans are never accepted as numbers.
"""

import math
import numbers

import numpy as np

__all__ = [
    "is_number",
    "is_positive",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_in_range",
    "check_choice",
    "check_bool",
    "check_callable",
    "check_random_state",
    "check_representable",
]


def is_number(value):
    """True for a finite real number (Python or NumPy; booleans excluded)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) \
        and math.isfinite(value)


def is_positive(value):
    """True for a finite real number ``> 0`` (booleans excluded)."""
    return is_number(value) and value > 0


def check_positive(name, value):
    """``value`` is a finite number ``> 0``."""
    if not is_positive(value):
        raise ValueError(f"`{name}` must be a positive number, got {value!r}")


def check_nonnegative(name, value):
    """``value`` is a finite number ``>= 0``."""
    if not (is_number(value) and value >= 0):
        raise ValueError(f"`{name}` must be a number >= 0, got {value!r}")


def check_int(name, value, minimum, maximum=None):
    """``value`` is an integer (Python or NumPy, not bool) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum \
            or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be an integer {bound}, got {value!r}")


def check_in_range(name, value, low, high, *, closed=(True, True)):
    """``value`` is a finite number between ``low`` and ``high``.

    Parameters
    ----------
    closed : (bool, bool)
        Whether each end of the interval is included.
    """
    inside = is_number(value) and (value >= low if closed[0] else value > low) \
        and (value <= high if closed[1] else value < high)
    if not inside:
        interval = f"{'[' if closed[0] else '('}{low}, {high}{']' if closed[1] else ')'}"
        raise ValueError(f"`{name}` must be in {interval}, got {value!r}")


def check_choice(name, value, choices):
    """``value`` is one of ``choices``."""
    if not any(value is choice or (type(value) is type(choice) and value == choice)
               for choice in choices):
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, got {value!r}")


def check_bool(name, value):
    """``value`` is a boolean (Python or NumPy)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"`{name}` must be True or False, got {value!r}")


def check_callable(name, value):
    """``value`` is None or callable (``TypeError`` otherwise)."""
    if value is not None and not callable(value):
        raise TypeError(f"`{name}` must be None or callable, got {value!r}")


def check_random_state(name, value):
    """``value`` seeds :func:`numpy.random.default_rng`: None, an integer >= 0, a Generator,
    a BitGenerator or a SeedSequence."""
    if value is None or isinstance(value, np.random.Generator | np.random.BitGenerator
                                   | np.random.SeedSequence):
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"`{name}` must be None, an integer >= 0 or a numpy Generator, got "
                         f"{value!r}")


def check_representable(name, value, dtype):
    """``value`` (a positive number) lies in ``[sqrt(tiny), sqrt(max)]`` of the float ``dtype``.

    The product of two such numbers is finite and non-zero in that precision, so a penalty or a
    weight in this range neither overflows nor vanishes when the solvers multiply it by another
    (float32: about [1.1e-19, 1.8e19]; float64: about [1.5e-154, 1.3e154]).
    """
    info = np.finfo(dtype)
    low, high = math.sqrt(float(info.tiny)), math.sqrt(float(info.max))
    if not (is_number(value) and low <= value <= high):
        raise ValueError(f"`{name}` must be in [{low:.3g}, {high:.3g}] for {np.dtype(dtype).name} "
                         f"data, got {value!r}")
