"""Argument checks of ``nets`` that need torch (the scalar ones are in :mod:`csc.validation`)."""

from __future__ import annotations

import numbers

import torch
from torch import Tensor, nn

__all__ = ["as_generator", "check_example_inputs", "check_module", "check_tensors", "describe"]


def check_module(name, value):
    """``value`` is a ``torch.nn.Module`` (``TypeError`` otherwise)."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"`{name}` must be a torch.nn.Module, got {type(value).__name__}")


def check_example_inputs(value):
    """``value`` is a tensor: one input batch of a model (``TypeError`` otherwise)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"`example_inputs` must be a Tensor (one input batch), got "
                        f"{type(value).__name__}")


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


def as_generator(random_state):
    """The ``torch.Generator`` that ``random_state`` names (scikit-learn's convention).

    Parameters
    ----------
    random_state : None, int >= 0 or torch.Generator
        None: torch's global generator (returned as None, which torch's samplers read so); an
        integer: a new CPU generator seeded with it; a generator: itself (its draws continue).

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
        raise ValueError(f"`random_state` must be None, an integer >= 0 or a torch.Generator, got "
                         f"{random_state!r}")
    return torch.Generator().manual_seed(int(random_state))


def describe(value) -> str:
    """A one-line description of ``value`` for an error message (a tensor's shape and dtype,
    not its values)."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    return repr(value) if isinstance(value, int | float | str | type(None)) \
        else type(value).__name__
