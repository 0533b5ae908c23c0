"""Argument checks of ``nets`` that need torch (the scalar ones are in :mod:`csc.validation`)."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["check_module", "check_tensors"]


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
