"""Dependency groups: Torch-Pruning's ``DependencyGraph`` of a model and its prunable groups.

Torch-Pruning traces one forward pass and couples every layer that shares a channel: the
BatchNorm after a conv, the convs that read it, residual additions, concatenations, depthwise
convs, flattening into a linear head. A *group* holds, for the output channels of one conv or
linear layer (its root), every slice that must go with them. :func:`dependency_graph` builds
the graph (with :class:`~nets.pruning.mask_pruner.SoftMaskPruner`, so masks are sliced too),
:func:`prunable_groups` lists the full-width groups that can be pruned without changing the
model's output shape, and :func:`consumers` finds the layers reading a node's channels.

Only :func:`dependency_graph` needs ``torch-pruning`` (the ``nets`` extra): it imports
:mod:`nets.pruning.mask_pruner` on first use, so ``import nets`` works without it, and a call
without it raises an ImportError naming the extra.

References
----------
Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023, arXiv:2301.12900.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._checks import check_example_inputs, check_module
from ..cost import model_call
from ..models import SoftMask

__all__ = [
    "BATCH_NORMS",
    "LEADING_TYPES",
    "check_ignored",
    "consumers",
    "dependency_graph",
    "is_output_item",
    "output_channels",
    "prunable_groups",
]

LEADING_TYPES = (nn.modules.conv._ConvNd, nn.Linear)  # the layers whose outputs lead a group
BATCH_NORMS = nn.modules.batchnorm._BatchNorm


def dependency_graph(model: nn.Module, example_inputs: Tensor):
    """Torch-Pruning's ``DependencyGraph`` of ``model``, with
    :class:`~nets.pruning.mask_pruner.SoftMaskPruner` registered.

    Tracing runs one forward pass in eval mode with gradients on (no running statistics move);
    the training mode of every module is restored afterwards.

    Parameters
    ----------
    model : nn.Module
    example_inputs : Tensor of shape (n_images, ...)
        One input batch the model takes.

    Returns
    -------
    torch_pruning.DependencyGraph

    Raises
    ------
    ImportError
        Without torch-pruning (the message names the ``nets`` extra).
    TypeError
        If ``model`` is not a module or ``example_inputs`` not a tensor.
    ValueError
        If the model cannot take ``example_inputs`` (the model's own error is quoted).
    """
    from .mask_pruner import SoftMaskPruner, tp  # needs torch-pruning

    check_module("model", model)
    check_example_inputs(example_inputs)
    with model_call(model, f"`example_inputs` of shape {tuple(example_inputs.shape)}"), \
            torch.enable_grad():
        return tp.DependencyGraph().build_dependency(
            model, example_inputs, customized_pruners={SoftMask: SoftMaskPruner()},
            verbose=False)


def check_ignored(model, ignored_layers):
    """``ignored_layers`` (None, a module or an iterable of modules) as a list of submodules of
    ``model``.

    Raises
    ------
    TypeError
        If ``ignored_layers`` is not a module or an iterable.
    ValueError
        If an entry is not a module of ``model``.
    """
    if ignored_layers is None:
        return []
    if isinstance(ignored_layers, nn.Module):
        ignored_layers = [ignored_layers]
    try:
        ignored_layers = list(ignored_layers)
    except TypeError:
        raise TypeError(f"`ignored_layers` must be a list of modules of the model, got "
                        f"{type(ignored_layers).__name__}") from None
    own = {id(m) for m in model.modules()}
    for index, layer in enumerate(ignored_layers):
        if not isinstance(layer, nn.Module) or id(layer) not in own:
            raise ValueError(f"`ignored_layers[{index}]` must be a module of the model, got "
                             f"{type(layer).__name__}")
    return ignored_layers


def prunable_groups(graph, ignored_layers=()):
    """Full-width groups led by a conv or linear layer, minus those reaching the model output.

    A group that prunes the output channels of a node without successors (the classifier, a
    block whose output is the model's) would change the output's shape, so it is left out, as
    are groups holding the output channels of an ignored layer and groups through an operation
    that Torch-Pruning takes for element-wise but that changes the channel count (it would
    couple the wrong channels), and groups of one channel.

    Parameters
    ----------
    graph : torch_pruning.DependencyGraph
    ignored_layers : sequence of nn.Module
        Layers of the graph's model whose output channels are kept.

    Returns
    -------
    list of torch_pruning.Group
        In the order of ``graph.get_all_groups``; ``group[0]`` is the root's output pruning,
        ``group[0].idxs`` all of its channels.
    """
    groups = []
    for group in graph.get_all_groups(ignored_layers=list(ignored_layers),
                                      root_module_types=LEADING_TYPES):
        reaches_output = any(is_output_item(item) and not item.dep.target.outputs
                             for item in group)
        unmapped = any(_changes_channel_count(item.dep.target) for item in group)
        if not reaches_output and not unmapped and len(group[0].idxs) > 1:
            groups.append(group)
    return groups


def _changes_channel_count(node) -> bool:
    """An "element-wise" node whose output has another channel count than an input.

    Channel padding (the option-A shortcuts of the CIFAR ResNets) is traced by Torch-Pruning as
    an element-wise operation, which maps channel ``c`` to ``c``; the shapes recorded by
    autograd show that it is not. Parameters (leaves, such as a linear weight read transposed)
    are not compared.
    """
    if not _is_elementwise(node) or node.grad_fn is None:
        return False
    try:
        output = node.grad_fn._input_metadata[0].shape
        inputs = [function._input_metadata[index].shape  # activations, not parameters
                  for function, index in node.grad_fn.next_functions
                  if function is not None and not hasattr(function, "variable")]
    except (AttributeError, IndexError):  # autograd metadata not exposed: trust the graph
        return False
    return len(output) > 1 and any(len(shape) > 1 and shape[1] not in (1, output[1])
                                   for shape in inputs)


def _is_elementwise(node) -> bool:
    """Torch-Pruning traced the node as an element-wise operation (``OPTYPE.ELEMENTWISE``:
    activations, pooling, additions), which maps channel ``c`` to channel ``c``."""
    return node.type.name == "ELEMENTWISE"


def is_output_item(item) -> bool:
    """The group item prunes its layer's own channels (not a consumer's input channels)."""
    return item.dep.handler.__name__ == "prune_out_channels"


def output_channels(module) -> int | None:
    """Output channels of a conv, linear, BatchNorm or SoftMask module (None otherwise)."""
    if isinstance(module, SoftMask):
        return module.weight.shape[0]
    for attribute in ("out_channels", "out_features", "num_features"):
        if isinstance(getattr(module, attribute, None), int):
            return getattr(module, attribute)
    return None


def consumers(node):
    """The conv and linear layers reading ``node``'s channels unchanged, or None if unsure.

    The search goes past element-wise nodes (activations, pooling, additions); any other node
    (a concatenation, a flattening, a BatchNorm) makes the answer None.
    """
    found, stack, seen = [], list(node.outputs), set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if isinstance(current.module, LEADING_TYPES):
            found.append(current.module)
        elif _is_elementwise(current):
            stack.extend(current.outputs)
        else:
            return None
    return list(dict.fromkeys(found))
