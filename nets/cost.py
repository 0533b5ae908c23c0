"""Cost of a forward pass measured on the real modules: multiply-adds and parameters.

:func:`measure_cost` runs one forward pass under ``torch.utils.flop_counter.FlopCounterMode`` and
reports multiply-adds = counted FLOPs / 2, convolutions and linear layers only (BN, ReLU, pooling
and additions are not counted), with the parameter count (:func:`count_parameters`), as a
:class:`ModelCost`. This is the convention of the published CIFAR figures: ResNet-56 has 125.49 M
and ResNet-18 (CIFAR stem) 555.42 M multiply-adds on a 1x3x32x32 input.
:func:`macs_per_channel` gives what removing one channel of a block saves (used by
:func:`nets.pruning.plan_for_macs`).
"""

from __future__ import annotations

import contextlib
import itertools
import numbers
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ._checks import check_module
from .masks import masked_blocks

__all__ = ["ModelCost", "count_parameters", "macs_per_channel", "measure_cost"]


@dataclass(frozen=True)
class ModelCost:
    """Cost of one forward pass.

    Attributes
    ----------
    macs : int
        Multiply-adds of convolutions and linear layers (``FlopCounterMode`` FLOPs / 2).
    parameters : int
        Number of parameter entries (BN affine parameters included; buffers excluded).
    """

    macs: int
    parameters: int

    @property
    def mflops(self) -> float:
        """``macs / 1e6``: the "MFLOPs" of the pruning literature (multiply-adds)."""
        return self.macs / 1e6


def count_parameters(model: nn.Module) -> int:
    """Number of parameter entries of ``model`` (buffers excluded).

    Examples
    --------
    >>> import torch
    >>> count_parameters(torch.nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters())


def measure_cost(model: nn.Module, *, input_size=(1, 3, 32, 32)) -> ModelCost:
    """Multiply-adds and parameters measured on the real modules.

    Runs one forward pass in eval mode under ``torch.utils.flop_counter.FlopCounterMode`` and
    reports ``total FLOPs / 2`` (the counter counts 2 FLOPs per multiply-add for convolutions and
    matrix products; BN, activations, pooling and additions are not counted). The training mode of
    every module of ``model`` is restored.

    Parameters
    ----------
    model : nn.Module
        With or without parameters (the input then is float32 on the CPU, or takes the dtype and
        device of the first buffer).
    input_size : tuple of int, default (1, 3, 32, 32)
        Shape of the zero input of the forward pass.

    Returns
    -------
    ModelCost

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    ValueError
        If ``input_size`` is not a tuple of positive integers, or the model cannot take an input
        of that size (the model's own error is quoted).

    Examples
    --------
    >>> from nets.models import resnet56
    >>> round(measure_cost(resnet56()).mflops, 2)
    125.49
    """
    example = _example_input(model, input_size)
    with FlopCounterMode(display=False) as counter:
        _forward_in_eval_mode(model, example, input_size)
    return ModelCost(macs=int(counter.get_total_flops()) // 2, parameters=count_parameters(model))


def _example_input(model, input_size):
    """Zeros of ``input_size`` with the dtype and device of the model's first parameter/buffer."""
    check_module("model", model)
    if not isinstance(input_size, tuple | list | torch.Size) or not input_size or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and 0 < n <= 2**31
            for n in input_size):
        raise ValueError(f"`input_size` must be a tuple of positive integers, got {input_size!r}")
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    floating = tensor is not None and tensor.dtype.is_floating_point
    return torch.zeros(tuple(int(n) for n in input_size),
                       dtype=tensor.dtype if floating else torch.float32,
                       device=tensor.device if tensor is not None else None)


def _forward_in_eval_mode(model, example, input_size):
    """One no-grad forward pass in eval mode; every module's training mode is restored.

    A model that cannot take ``input_size`` raises a ValueError naming it.
    """
    with model_call(model, f"an input of `input_size` {tuple(input_size)}"):
        model.eval()
        with torch.no_grad():
            model(example)


@contextlib.contextmanager
def model_call(model, what):
    """Run a model on an input in the block: every module's training mode is restored after it,
    and an error of the model on that input becomes one ValueError naming ``what``."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        yield
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        reason = " ".join(str(error).split())[:300]
        raise ValueError(f"the model cannot take {what}: {reason}") from error
    finally:
        for module, training in modes:
            module.training = training


def macs_per_channel(model: nn.Module, *, input_size=(1, 3, 32, 32)) -> dict:
    """Multiply-adds removed per pruned channel of each block (conv1 output + conv2 input).

    Parameters
    ----------
    model : nn.Module
        A model made of :class:`~nets.models.BasicBlock`. One forward pass is run in eval mode;
        the training mode is restored.
    input_size : tuple of int, default (1, 3, 32, 32)

    Returns
    -------
    dict of str to int
        Block name (as in ``model.named_modules()``) to the multiply-adds that removing one
        output channel of its ``conv1`` saves (that channel of ``conv1`` and the matching input
        channel of ``conv2``).

    Raises
    ------
    TypeError, ValueError
        As :func:`measure_cost`.

    Examples
    --------
    >>> from nets.models import resnet20
    >>> macs_per_channel(resnet20())["stages.0.0"]  # (16 * 9 + 16 * 9) * 32 * 32
    294912
    """
    example = _example_input(model, input_size)
    sizes = {}
    hooks = [block.conv1.register_forward_hook(
        lambda module, args, out, name=name: sizes.__setitem__(name, out.shape[-2] * out.shape[-1]))
        for name, block in masked_blocks(model)]
    try:
        _forward_in_eval_mode(model, example, input_size)
    finally:
        for hook in hooks:
            hook.remove()
    costs = {}
    for name, block in masked_blocks(model):
        kernel1 = block.conv1.kernel_size[0] * block.conv1.kernel_size[1]
        kernel2 = block.conv2.kernel_size[0] * block.conv2.kernel_size[1]
        per_channel = block.conv1.in_channels * kernel1 + block.conv2.out_channels * kernel2
        costs[name] = per_channel * sizes[name]
    return costs
