"""Where a soft mask goes: behind the activation, at the input of the layer that reads it.

A mask ``m`` on a channel before its activation ``a`` computes ``a(m z)`` and gets the gradient
``a'(m z) z``, which is 0 at ``m = 0`` for ReLU and ReLU6: a mask trained to exactly 0 stays
there unless CoGD's revival resets it. Behind the activation, ``m a(z)``, its gradient is
``a(z)`` times the gradient arriving there, so a zero mask keeps learning (the mask of the CIFAR
:class:`~nets.models.BasicBlock`, SPEC 4, sits there).

A functional activation (``torch.nn.functional.relu`` in a ``forward``) has no module to put a
mask after, so the mask goes in front of the layer reading the activation instead: a
:class:`~nets.models.SoftMask` registered as that conv's or linear layer's ``input_mask`` and
applied by a forward pre-hook (as :mod:`torch.nn.utils.prune` applies its masks), the same for
module activations. Module names do not change, and :func:`fold_input_mask` multiplies the mask
into the reader's input channels (exact for any activation). :func:`reader_behind_activation`
finds the reader on Torch-Pruning's dependency graph, whose nodes are autograd nodes, so it sees
functional and module activations alike.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import SoftMask
from .graph import LEADING_TYPES

__all__ = ["INPUT_MASK", "add_input_mask", "fold_input_mask", "reader_behind_activation"]

INPUT_MASK = "input_mask"  # the attribute of a reader holding its mask
# autograd nodes of activations (ReLU6 and Hardtanh are HardtanhBackward), without the digit
ACTIVATIONS = ("ReluBackward", "HardtanhBackward", "LeakyReluBackward", "EluBackward",
               "GeluBackward", "SiluBackward", "HardswishBackward", "HardsigmoidBackward",
               "MishBackward", "SigmoidBackward", "TanhBackward", "SoftplusBackward")


def reader_behind_activation(graph, layer):
    """The conv or linear layer reading ``layer``'s channels right after their activation.

    Parameters
    ----------
    graph : torch_pruning.DependencyGraph
        A graph of the model holding ``layer``.
    layer : nn.Module
        A BatchNorm, conv or linear layer of the graph.

    Returns
    -------
    (nn.Module or None, str or None)
        ``(reader, None)`` when ``layer``'s output goes only to an activation (module or
        functional, or ``nn.PReLU``) and the activation's output reaches exactly one conv or
        linear layer, called once, through channel-preserving pooling, means and flattenings
        only: a mask in front of the reader is a mask behind the activation.
        ``(None, reason)`` when an activation follows but no such reader exists (``reason``
        says why); ``(None, None)`` when no activation follows directly (a mask on ``layer``'s
        output is not in front of one).
    """
    node = graph.module2node[layer]
    if len(node.outputs) != 1 or not _is_activation(node.outputs[0]):
        return None, None
    activation = node = node.outputs[0]
    while True:
        if not node.outputs:
            return None, "its activation's output is the model's output"
        if len(node.outputs) > 1:
            return None, (f"its activation's output is read by {len(node.outputs)} operations: "
                          + ", ".join(_node_name(n) for n in node.outputs))
        current = node.outputs[0]
        if isinstance(current.module, LEADING_TYPES):
            return _single_reader(current, node, _node_channels(activation))
        if not _keeps_channels(current):
            return None, (f"its activation's output goes through {_node_name(current)}, "
                          "which is not pooling or a reshape that keeps the channel axis")
        node = current


def _single_reader(reader, previous, width):
    """``(reader's module, None)`` if it reads only ``previous``'s output, with ``width``
    channels; ``(None, reason)`` otherwise."""
    module = reader.module
    inputs = [n for n in reader.inputs if n is not previous and not _is_transposed_weight(n)]
    if inputs:
        return None, "the layer reading its activation reads other inputs too (called twice?)"
    read = module.in_features if isinstance(module, nn.Linear) else module.in_channels
    if width is not None and read != width:
        return None, (f"the layer reading its activation takes {read} input channels, not "
                      f"{width}")
    return module, None


def _is_activation(node) -> bool:
    if isinstance(node.module, nn.PReLU):
        return True
    return node.type.name == "ELEMENTWISE" and len(node.inputs) == 1 \
        and _node_name(node).rstrip("0123456789") in ACTIVATIONS


def _keeps_channels(node) -> bool:
    """Pooling, a mean or a reshape with one input that keeps the channel axis (dimension 1):
    a per-channel scale commutes with it (a max-pool for scales >= 0)."""
    name = _node_name(node)
    kind = "Pool" in name or name.startswith("Mean") or node.type.name == "RESHAPE"
    if not kind or len(node.inputs) != 1:
        return False
    before, after = _node_channels(node.inputs[0]), _node_channels(node)
    return before is not None and before == after


def _node_channels(node):
    """Size of dimension 1 of the node's output, from the autograd metadata (None if unknown)."""
    try:
        shape = node.grad_fn._input_metadata[0].shape
    except (AttributeError, IndexError):
        return None
    return shape[1] if len(shape) > 1 else None


def _is_transposed_weight(node) -> bool:
    """A linear layer's ``weight.t()``, which Torch-Pruning lists among the layer's inputs."""
    functions = getattr(node.grad_fn, "next_functions", ())
    return _node_name(node).startswith("TBackward") and all(
        hasattr(function, "variable") for function, _ in functions if function is not None)


def _node_name(node) -> str:
    """A layer's class name, else the autograd node's name (``AddBackward0``, ...)."""
    if isinstance(node.module, nn.Module) and not type(node.module).__name__.startswith("_"):
        return type(node.module).__name__
    return node.grad_fn.name() if node.grad_fn is not None else type(node.module).__name__


def _apply_input_mask(layer, args):
    """Forward pre-hook of a reader: its input multiplied by its ``input_mask``."""
    return (getattr(layer, INPUT_MASK)(args[0]), *args[1:])


def add_input_mask(layer: nn.Module, n_channels: int) -> SoftMask:
    """Register a :class:`~nets.models.SoftMask` (ones) on ``layer``'s input channels.

    The mask becomes ``layer.input_mask`` (a submodule: its ``weight`` is in
    ``layer.parameters()`` and the state dict) and a forward pre-hook multiplies ``layer``'s
    input by it.

    Parameters
    ----------
    layer : conv or linear layer
        Reading ``n_channels`` channels on dimension 1.
    n_channels : int

    Returns
    -------
    SoftMask
        The new mask, on ``layer``'s device and dtype, in its training mode.
    """
    weight = layer.weight
    mask = SoftMask(n_channels).to(device=weight.device, dtype=weight.dtype)
    layer.add_module(INPUT_MASK, mask.train(layer.training))
    layer.register_forward_pre_hook(_apply_input_mask)
    return mask


@torch.no_grad()
def fold_input_mask(layer: nn.Module) -> None:
    """Multiply ``layer.input_mask`` into ``layer``'s input channels, then drop the mask and
    its hook (``layer(m * x) = layer'(x)``, in place).

    A linear layer's or transposed conv's weight is scaled along its input axis; a conv's entry
    ``weight[o, j]`` reads input channel ``(o // (out / groups)) * (in / groups) + j``, so
    grouped and depthwise convs are scaled channel by channel too.
    """
    values = getattr(layer, INPUT_MASK).weight.detach()
    weight = layer.weight
    trailing = (1,) * (weight.ndim - 2)
    if isinstance(layer, nn.Linear):
        weight.mul_(values.view(1, -1))
    elif layer.transposed:
        weight.mul_(values.view((-1, 1) + trailing))
    else:
        per_group_out = layer.out_channels // layer.groups
        per_group_in = weight.shape[1]
        read = (torch.arange(layer.out_channels, device=values.device) // per_group_out)[:, None] \
            * per_group_in + torch.arange(per_group_in, device=values.device)[None, :]
        weight.mul_(values[read].view(read.shape + trailing))
    delattr(layer, INPUT_MASK)
    # the hook is found by identity, as torch.nn.utils.prune.remove finds its own
    for key in [k for k, hook in layer._forward_pre_hooks.items() if hook is _apply_input_mask]:
        del layer._forward_pre_hooks[key]
