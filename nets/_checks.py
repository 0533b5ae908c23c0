"""Argument checks of ``nets`` that need torch (the scalar ones are in :mod:`csc.validation`)."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

__all__ = ["as_generator", "check_module", "check_tensors"]


def check_module(name, value):
    """``value`` is a ``torch.nn.Module`` (``TypeError`` otherwise)."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"`{name}` must be a torch.nn.Module, got {type(value).__name__}")


def check_tensors(name, values):
    """``values`` is an iterable of floating-point tensors; return them as a list.

    Raises
    ------
    TypeError
        Not an iterable, or an entry that is not a floating-point tensor.
    """
    try:
        values = list(values)
    except TypeError:
        raise TypeError(f"`{name}` must be an iterable of tensors, got "
                        f"{type(values).__name__}") from None
    for index, value in enumerate(values):
        if not isinstance(value, Tensor) or not value.dtype.is_floating_point:
            kind = value.dtype if isinstance(value, Tensor) else type(value).__name__
            raise TypeError(f"`{name}[{index}]` must be a floating-point tensor, got {kind}")
    return values


def as_generator(random_state, name="random_state"):
    """The ``torch.Generator`` that ``random_state`` names (scikit-learn's convention).

    Parameters
    ----------
    random_state : None, int >= 0 or torch.Generator
        None: torch's global generator (returned as None, which torch's samplers read so); an
        integer: a new CPU generator seeded with it; a generator: itself (its draws continue).
    name : str
        The argument's name in the error.

    Returns
    -------
    torch.Generator or None

    Raises
    ------
    ValueError
        For anything else (booleans included).
    """
    if random_state is None or isinstance(random_state, torch.Generator):
        return random_state
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral) \
            or random_state < 0:
        raise ValueError(f"`{name}` must be None, an integer >= 0 or a torch.Generator, got "
                         f"{random_state!r}")
    return torch.Generator().manual_seed(int(random_state))

