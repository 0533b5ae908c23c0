"""Cost of a forward pass measured on the real modules: multiply-adds and parameters.

:func:`measure_cost` runs one forward pass under ``torch.utils.flop_counter.FlopCounterMode`` and
reports multiply-adds = counted FLOPs / 2, convolutions and linear layers only (BN, ReLU, pooling
and additions are not counted), with the parameter count (:func:`count_parameters`), as a
:class:`ModelCost`. This is the convention of the published CIFAR figures: ResNet-56 has 125.49 M
and ResNet-18 (CIFAR stem) 555.42 M multiply-adds on a 1x3x32x32 input. :func:`model_call` is
how every function of ``nets`` runs a model on an input (modes restored, errors named).
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from ._checks import check_example_inputs, check_module

__all__ = ["ModelCost", "count_parameters", "measure_cost", "model_call"]


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


def measure_cost(model: nn.Module, example_inputs: Tensor | None = None) -> ModelCost:
    """Multiply-adds and parameters measured on the real modules.

    Runs one forward pass in eval mode under ``torch.utils.flop_counter.FlopCounterMode`` and
    reports ``total FLOPs / 2`` (the counter counts 2 FLOPs per multiply-add for convolutions and
    matrix products; BN, activations, pooling and additions are not counted). The training mode of
    every module of ``model`` is restored.

    Parameters
    ----------
    model : nn.Module
    example_inputs : Tensor of shape (n_images, ...), optional
        One input batch the model takes (as for :func:`nets.prune`). Default: zeros of shape
        (1, 3, 32, 32) with the dtype and device of the model's first parameter or buffer
        (float32 on the CPU for a model without floating-point ones).

    Returns
    -------
    ModelCost

    Raises
    ------
    TypeError
        If ``model`` is not a module or ``example_inputs`` not a tensor.
    ValueError
        If the model cannot take ``example_inputs`` (the model's own error is quoted).

    Examples
    --------
    >>> from nets.models import resnet56
    >>> round(measure_cost(resnet56()).mflops, 2)
    125.49
    """
    check_module("model", model)
    if example_inputs is None:
        tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
        floating = tensor is not None and tensor.dtype.is_floating_point
        example_inputs = torch.zeros(1, 3, 32, 32,
                                     dtype=tensor.dtype if floating else torch.float32,
                                     device=tensor.device if tensor is not None else None)
    check_example_inputs(example_inputs)
    with FlopCounterMode(display=False) as counter, \
            model_call(model, f"`example_inputs` of shape {tuple(example_inputs.shape)}"), \
            torch.no_grad():
        model.eval()
        model(example_inputs)
    return ModelCost(macs=int(counter.get_total_flops()) // 2, parameters=count_parameters(model))


@contextlib.contextmanager
def model_call(model, what):
    """Run ``model`` on an input inside the block: every module's training mode is restored
    after it, and an error of the model on that input becomes one ValueError naming ``what``.

    Parameters
    ----------
    model : nn.Module
    what : str
        The input, as the error names it (``"`images` of shape (2, 3)"``).

    Raises
    ------
    ValueError
        From a RuntimeError, ValueError, IndexError or TypeError of the block: "the model cannot
        take {what}: {the error, on one line}".
    """
    modes = [(module, module.training) for module in model.modules()]
    try:
        yield
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        reason = " ".join(str(error).split())[:300]
        raise ValueError(f"the model cannot take {what}: {reason}") from error
    finally:
        for module, training in modes:
            module.training = training
