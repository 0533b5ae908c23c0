"""Soft masks for any model: insert them, pair them for CoGD, fold them away.

:func:`insert_soft_masks` puts a mask on the channels of every prunable group of a model (see
:mod:`nets.pruning.graph`): behind their activation, in front of the layer reading it, where
:mod:`nets.pruning.placement` finds one, else on the output of the group's BatchNorm or leading
layer (:class:`~nets.models.MaskedLayer`); :func:`soft_mask_pairs` pairs
each mask with the conv that reads it for :class:`nets.CoGD` (``rule="revival"``); after
training with :class:`~nets.masks.SoftMaskFISTA`, :func:`nets.prune` removes the zero-mask
channels and :func:`fold_soft_masks` multiplies the remaining mask values into their layers.
The CIFAR ResNets built with ``soft_mask=True`` (SPEC 4) already hold their masks; the same
three steps apply to them.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn

from csc.validation import check_choice

from .._checks import check_module
from ..models import BasicBlock, MaskedLayer, SoftMask
from .graph import (
    BATCH_NORMS,
    LEADING_TYPES,
    check_ignored,
    consumers,
    dependency_graph,
    is_output_item,
    output_channels,
    prunable_groups,
)
from .placement import INPUT_MASK, add_input_mask, fold_input_mask, reader_behind_activation

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


def insert_soft_masks(model: nn.Module, example_inputs: Tensor, *, ignored_layers=None,
                      placement: str = "after_activation") -> nn.Module:
    """Copy of ``model`` with a :class:`~nets.models.SoftMask` on every prunable channel group.

    The masks start at ones (the copy computes what ``model`` computes). Each BatchNorm of a
    prunable group (see :func:`nets.prune`), and each conv or linear layer leading a group that
    does not feed a BatchNorm, gets one mask over its output channels, placed

    - behind the activation that follows it (``placement="after_activation"``, the default)
      wherever the dependency graph finds one (module or functional: ``nn.ReLU6`` as well as
      ``torch.nn.functional.relu`` in a ``forward``) read by a single conv or linear layer
      (through pooling, means and flattenings that keep the channels): the mask is that
      layer's ``input_mask``, applied by a forward pre-hook (see
      :mod:`nets.pruning.placement`; module names do not change). A mask there still gets a
      gradient at exactly 0 (the activation's output times the gradient arriving there), as
      the mask of the CIFAR :class:`~nets.models.BasicBlock` does;
    - on the layer's output otherwise: the layer is replaced by
      :class:`~nets.models.MaskedLayer` (the layer, then the mask). Where an activation
      follows but no single reader exists (it is read by several layers, through an addition,
      a concatenation or a flattening into a linear layer), the mask is then before the
      activation, where a mask at 0 gets no gradient through ReLU or ReLU6 (only CoGD's
      revival brings it back), and a warning lists those layers and why. With
      ``placement="before_activation"`` every mask goes there (the placement of earlier
      versions; no warning).

    Either way a channel whose every mask is 0 is exactly 0 where it is read (with activations
    that map 0 to 0, for masks before them), so :func:`nets.prune` (default importance) removes
    it without changing the eval output.

    Parameters
    ----------
    model : nn.Module
        Not modified. A BatchNorm whose mask stays on its output must be affine (the mask folds
        into its scale).
    example_inputs : Tensor of shape (n_images, ...)
    ignored_layers : list of nn.Module, optional
        Layers of ``model`` whose output channels get no mask (as in :func:`nets.prune`).
    placement : {"after_activation", "before_activation"}, default "after_activation"

    Returns
    -------
    nn.Module

    Raises
    ------
    ImportError
        Without torch-pruning (the message names the ``nets`` extra).
    TypeError, ValueError
        As :func:`nets.prune`; ValueError also if the model already has soft masks,
        ``placement`` is not one of the two, or a BatchNorm that keeps its mask has no affine
        parameters.

    Warns
    -----
    UserWarning
        With ``placement="after_activation"``, if some masks had to stay before their
        activation (the message names the layers and the reasons).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8),
    ...                             torch.nn.ReLU(), torch.nn.Conv2d(8, 4, 3))
    >>> masked = insert_soft_masks(model, torch.zeros(1, 3, 8, 8))
    >>> masked[3].input_mask.weight.shape   # behind the ReLU, in front of the conv reading it
    torch.Size([8])
    >>> before = insert_soft_masks(model, torch.zeros(1, 3, 8, 8), placement="before_activation")
    >>> type(before[1]).__name__
    'MaskedLayer'
    """
    check_module("model", model)
    check_choice("placement", placement, ("after_activation", "before_activation"))
    if any(isinstance(m, SoftMask) for m in model.modules()):
        raise ValueError("`model` already has soft masks (SoftMask modules)")
    ignored = check_ignored(model, ignored_layers)
    graph = dependency_graph(model, example_inputs)
    names = {m: name for name, m in model.named_modules()}
    readers, before = {}, []
    for holder in _mask_holders(graph, prunable_groups(graph, ignored)):
        reader, reason = (None, None) if placement == "before_activation" \
            else reader_behind_activation(graph, holder)
        readers[names[holder]] = None if reader is None else names[reader]
        if reason is not None:
            before.append(f"{names[holder]!r} ({reason})")
    masked = copy.deepcopy(model)
    for name, reader in readers.items():  # input masks first: wrapping renames layers
        if reader is not None:
            add_input_mask(masked.get_submodule(reader),
                           output_channels(masked.get_submodule(name)))
    for name in [name for name, reader in readers.items() if reader is None]:
        module = masked.get_submodule(name)
        if isinstance(module, BATCH_NORMS) and not module.affine:
            raise ValueError(f"the BatchNorm {name!r} has no affine parameters to fold a mask "
                             "into; build it with affine=True")
        _replace(masked, name, MaskedLayer(module))
    if before:
        warnings.warn(f"nets.insert_soft_masks: {len(before)} mask(s) stay before their "
                      "activation, where a mask at exactly 0 gets no gradient (only CoGD's "
                      f"revival brings it back): {', '.join(before)}", UserWarning, stacklevel=2)
    return masked


def soft_mask_pairs(model: nn.Module, example_inputs: Tensor) -> list[tuple[Tensor, Tensor]]:
    """``(mask.weight, consumer.weight)`` pairs for :class:`nets.CoGD` (``rule="revival"``).

    The consumer is the one conv or linear layer that reads the masked channels, found through
    the dependency graph past activations, pooling and additions. For a depthwise conv the
    partner is a transposed (detached) view of its weight, channel ``c`` scored by its filter
    ``c``, so CoGD also revives the masks in front of the depthwise convs of a MobileNet (a
    collapsed group there silences the whole block, and with a mask before the activation no
    gradient brings it back). A mask behind an activation (a layer's ``input_mask``) pairs with
    that layer. Masks read by several layers or through a concatenation or a
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
    rows, a BatchNorm's ``gamma`` and ``beta``); a mask behind an activation (a layer's
    ``input_mask``, see :func:`insert_soft_masks`) and the mask of a CIFAR
    :class:`~nets.models.BasicBlock` (``soft_mask=True``) scale the input channels of the layer
    reading them (``conv2(m * h) = conv2'(h)``) and are dropped with their hook. All are exact,
    in training and eval mode; the copy is a plain model.

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
        if isinstance(getattr(module, INPUT_MASK, None), SoftMask):
            fold_input_mask(module)
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
