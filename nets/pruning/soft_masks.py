"""Soft masks for any model: insert them, pair them for CoGD, fold them away.

:func:`insert_soft_masks` wraps the layers that lead the prunable groups of a model (see
:mod:`nets.pruning.graph`) in :class:`~nets.models.MaskedLayer`; :func:`soft_mask_pairs` pairs
each mask with the conv that reads it for :class:`nets.CoGD` (``rule="revival"``); after
training with :class:`~nets.masks.SoftMaskFISTA`, :func:`nets.prune` removes the zero-mask
channels and :func:`fold_soft_masks` multiplies the remaining mask values into their layers.
The CIFAR ResNets built with ``soft_mask=True`` (SPEC 4) already hold their masks; the same
three steps apply to them.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from .._checks import check_module
from ..models import BasicBlock, MaskedLayer, SoftMask
from .graph import (
    BATCH_NORMS,
    LEADING_TYPES,
    check_ignored,
    consumers,
    dependency_graph,
    is_output_item,
    prunable_groups,
)

__all__ = ["fold_soft_masks", "insert_soft_masks", "soft_mask_pairs"]


def _mask_holders(graph, groups):
    """Layers to mask: each BatchNorm of a group, and each leading layer not feeding one."""
    holders = []
    for group in groups:
        for item in group:
            module = item.dep.target.module
            if isinstance(module, BATCH_NORMS):
                holders.append(module)
            elif isinstance(module, LEADING_TYPES) and is_output_item(item):
                outputs = graph.module2node[module].outputs
                if not (outputs and all(isinstance(o.module, BATCH_NORMS) for o in outputs)):
                    holders.append(module)
    return list(dict.fromkeys(holders))


def insert_soft_masks(model: nn.Module, example_inputs: Tensor, *,
                      ignored_layers=None) -> nn.Module:
    """Copy of ``model`` with a :class:`~nets.models.SoftMask` on every prunable channel group.

    Each BatchNorm of a prunable group (see :func:`nets.prune`), and each conv or linear layer
    leading a group that does not feed a BatchNorm, is replaced by
    :class:`~nets.models.MaskedLayer` (the layer, then a mask over its output channels,
    starting at ones: the copy computes what ``model`` computes). A mask sits before the
    activation, so with an activation that maps 0 to 0 (ReLU, ReLU6, SiLU, GELU) a channel whose
    every mask is 0 is exactly 0 wherever it is read, and :func:`nets.prune` (default importance)
    removes it without changing the eval output.

    Parameters
    ----------
    model : nn.Module
        Not modified. Its BatchNorms must be affine (the mask folds into their scale).
    example_inputs : Tensor of shape (n_images, ...)
    ignored_layers : list of nn.Module, optional
        Layers of ``model`` whose output channels get no mask (as in :func:`nets.prune`).

    Returns
    -------
    nn.Module

    Raises
    ------
    ImportError
        Without torch-pruning (the message names the ``nets`` extra).
    TypeError, ValueError
        As :func:`nets.prune`; ValueError also if the model already has a MaskedLayer or a
        group holds a BatchNorm without affine parameters.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
    ...                             torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3))
    >>> masked = insert_soft_masks(model, torch.zeros(1, 3, 8, 8))
    >>> type(masked[1]).__name__, masked[1].mask.weight.shape
    ('MaskedLayer', torch.Size([8]))
    """
    check_module("model", model)
    if any(isinstance(m, MaskedLayer) for m in model.modules()):
        raise ValueError("`model` already has soft masks (MaskedLayer modules)")
    ignored = check_ignored(model, ignored_layers)
    graph = dependency_graph(model, example_inputs)
    names = {m: name for name, m in model.named_modules()}
    holders = [names[m] for m in _mask_holders(graph, prunable_groups(graph, ignored))]
    masked = copy.deepcopy(model)
    for name in holders:
        module = masked.get_submodule(name)
        if isinstance(module, BATCH_NORMS) and not module.affine:
            raise ValueError(f"the BatchNorm {name!r} has no affine parameters to fold a mask "
                             "into; build it with affine=True")
        _replace(masked, name, MaskedLayer(module))
    return masked


def soft_mask_pairs(model: nn.Module, example_inputs: Tensor) -> list[tuple[Tensor, Tensor]]:
    """``(mask.weight, consumer.weight)`` pairs for :class:`nets.CoGD` (``rule="revival"``).

    The consumer is the one conv or linear layer that reads the masked channels, found through
    the dependency graph past activations, pooling and additions. For a depthwise conv the
    partner is a transposed (detached) view of its weight, channel ``c`` scored by its filter
    ``c``, so CoGD also revives the masks in front of the depthwise convs of a MobileNet (a
    collapsed group there silences the whole block, and with the mask before the activation no
    gradient brings it back). Masks read by several layers or through a concatenation or a
    flattening get no pair: :class:`~nets.masks.SoftMaskFISTA` still trains them. For the CIFAR
    ResNets built with ``soft_mask=True`` this gives ``(block.mask.weight, block.conv2.weight)``
    for every block.

    Parameters
    ----------
    model : nn.Module
        With :class:`~nets.models.SoftMask` modules (e.g. from :func:`insert_soft_masks`).
    example_inputs : Tensor of shape (n_images, ...)

    Returns
    -------
    list of (Parameter of shape (C,), Tensor of shape (C_out, C, ...))
        In the order of ``model.modules()``; the second item is the consumer's weight or, for a
        depthwise conv, its ``(1, C, k, k)`` transposed view.

    Raises
    ------
    ImportError, TypeError, ValueError
        As :func:`~nets.pruning.graph.dependency_graph`.

    Examples
    --------
    >>> import torch
    >>> from nets.models import resnet20
    >>> pairs = soft_mask_pairs(resnet20(soft_mask=True), torch.zeros(1, 3, 32, 32))
    >>> len(pairs), pairs[0][0].shape, pairs[0][1].shape
    (9, torch.Size([16]), torch.Size([16, 16, 3, 3]))
    """
    graph = dependency_graph(model, example_inputs)
    pairs = []
    for module in model.modules():
        if not isinstance(module, SoftMask) or module not in graph.module2node:
            continue
        readers = consumers(graph.module2node[module])
        if readers is not None and len(readers) == 1:
            partner = _partner_weight(readers[0], module.weight.shape[0])
            if partner is not None:
                pairs.append((module.weight, partner))
    return pairs


def _partner_weight(layer, n_channels):
    """``layer``'s weight with the ``n_channels`` channels it reads on axis 1, or None.

    A depthwise conv (one filter per channel) gives a transposed view of its weight, shape
    ``(1, C, k, k)``, so that its filter ``c`` scores channel ``c``; the view is detached (a
    leaf, as optimizers require) and shares the weight's storage, so it follows the training.
    """
    weight = layer.weight
    if isinstance(layer, nn.modules.conv._ConvNd) and \
            layer.groups == layer.in_channels == layer.out_channels == n_channels > 1:
        return weight.detach().transpose(0, 1)
    if weight.ndim >= 2 and weight.shape[1] == n_channels:
        return weight
    return None


@torch.no_grad()
def fold_soft_masks(model: nn.Module) -> nn.Module:
    """Copy of ``model`` with every soft mask multiplied into the layer next to it.

    A :class:`~nets.models.MaskedLayer` becomes its layer with the weight and bias scaled
    channel-wise by the mask (``mask(layer(x)) = layer'(x)``: a conv's or linear layer's output
    rows, a BatchNorm's ``gamma`` and ``beta``); the mask of a CIFAR
    :class:`~nets.models.BasicBlock` (``soft_mask=True``) scales the input channels of the
    block's ``conv2`` (``conv2(m * h) = conv2'(h)``) and is dropped. Both are exact, in training
    and eval mode; the copy is a plain model.

    Parameters
    ----------
    model : nn.Module
        Not modified.

    Returns
    -------
    nn.Module

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    ValueError
        If a MaskedLayer holds a transposed conv (its output channels are not its weight's
        rows).

    Examples
    --------
    >>> import torch
    >>> masked = torch.nn.Sequential(MaskedLayer(torch.nn.Linear(2, 2)))
    >>> with torch.no_grad():
    ...     _ = masked[0].mask.weight.copy_(torch.tensor([0.5, 0.0]))
    >>> x = torch.ones(1, 2)
    >>> torch.allclose(fold_soft_masks(masked)(x), masked(x))
    True
    """
    check_module("model", model)
    folded = copy.deepcopy(model)
    for name, module in list(folded.named_modules()):
        if isinstance(module, BasicBlock) and module.mask is not None:
            module.conv2.weight.mul_(module.mask.weight.detach().view(1, -1, 1, 1))
            module.mask = None
        if not isinstance(module, MaskedLayer):
            continue
        layer, values = module.layer, module.mask.weight.detach()
        if isinstance(layer, nn.modules.conv._ConvTransposeNd):
            raise ValueError(f"cannot fold the mask of the transposed conv {name!r}")
        shape = (-1,) + (1,) * (layer.weight.ndim - 1)
        layer.weight.mul_(values.view(shape))
        if layer.bias is not None:
            layer.bias.mul_(values)
        _replace(folded, name, layer)
    return folded


def _replace(model, name, module):
    """Put ``module`` in place of ``model``'s submodule ``name``."""
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, module)
