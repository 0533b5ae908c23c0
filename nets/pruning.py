"""Channel pruning, phase 2: pruning plans, physical channel removal and BN recalibration.

Pruning is done in two phases, as in Torch-Pruning's split between importance and surgery:

1. Train soft masks (:class:`~nets.models.SoftMask`, after the first conv of every residual block)
   with :class:`~nets.masks.SoftMaskFISTA` next to the weights' optimizer, optionally with the
   losses of :mod:`nets.distillation` and with :class:`nets.CoGD` (``rule="revival"``) once per
   epoch (:mod:`nets.masks`).
2. Turn the masks (or any per-channel scores, e.g. :func:`bn_scale_scores`) into a
   :class:`PruningPlan` (:func:`plan_from_masks`, :func:`plan_from_scores`,
   :func:`plan_for_macs`) and call :func:`remove_channels`, which builds a smaller model with real
   smaller tensors (conv output channels, BN weights and running statistics, the next conv's input
   channels). Rebuild the optimizer afterwards: the pruned model has new ``Parameter`` objects.
   :func:`recalibrate_bn` re-estimates the BatchNorm running statistics of a masked or pruned
   model.

Costs are measured by :mod:`nets.cost`. The surgery here knows the CIFAR
:class:`~nets.models.BasicBlock`; :func:`nets.prune` (:mod:`nets.graph_pruning`) prunes any model
through Torch-Pruning's dependency graph and, on these ResNets, removes the same channels.

References
----------
Lin et al., "Towards optimal structured CNN pruning via generative adversarial learning" (GAL),
CVPR 2019. Liu et al., "Learning efficient convolutional networks through network slimming",
ICCV 2017, arXiv:1708.06519.
"""

from __future__ import annotations

import copy
import itertools
import math
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from csc.validation import check_in_range, check_int, check_nonnegative

from ._checks import check_module
from .cost import macs_per_channel, measure_cost
from .masks import compute_mask, masked_blocks
from .models import BasicBlock, SoftMask

__all__ = [
    "PruningPlan",
    "bn_scale_scores",
    "mask_scores",
    "plan_for_macs",
    "plan_from_masks",
    "plan_from_scores",
    "recalibrate_bn",
    "remove_channels",
]


# ---------------------------------------------------------------- plans


@dataclass(frozen=True)
class PruningPlan:
    """Channels to keep, by module name (as in ``model.named_modules()``).

    Attributes
    ----------
    keep : dict of str to tuple of int
        Module name to the sorted kept channel indices: for :func:`remove_channels` a
        :class:`~nets.models.BasicBlock` (the output channels of its first conv); for
        :func:`nets.prune` and :func:`nets.graph_pruning.apply_plan` the conv or linear layer
        leading a dependency group (its output channels, and with them the whole group's).
    """

    keep: dict = field(default_factory=dict)

    @property
    def n_kept(self) -> int:
        """Number of kept channels over all blocks."""
        return sum(len(channels) for channels in self.keep.values())


def plan_from_scores(scores: dict, *, threshold=0.0) -> PruningPlan:
    """Keep every channel whose score is ``> threshold`` (at least the best one per block).

    Parameters
    ----------
    scores : dict of str to Tensor of shape (n_channels,)
        Block name to per-channel score.
    threshold : float

    Returns
    -------
    PruningPlan

    Examples
    --------
    >>> import torch
    >>> plan_from_scores({"stages.0.0": torch.tensor([0.0, 0.3, 0.0]),
    ...                   "stages.0.1": torch.zeros(2)}).keep
    {'stages.0.0': (1,), 'stages.0.1': (0,)}
    """
    _check_scores(scores)
    check_in_range("threshold", threshold, -math.inf, math.inf)
    keep = {}
    for name, values in scores.items():
        kept = torch.nonzero(values.detach() > threshold).flatten()
        if kept.numel() == 0:
            kept = compute_mask(values, n_channels=1).nonzero().flatten()
        keep[name] = tuple(int(i) for i in kept)
    return PruningPlan(keep=keep)


def plan_from_masks(model: nn.Module) -> PruningPlan:
    """Remove exactly the channels whose soft mask is 0 (keeping one channel per block at least).

    A block whose mask is all zero keeps its channel 0; its zero mask value is folded into the next
    conv by :func:`remove_channels`, so outputs are still unchanged.

    Parameters
    ----------
    model : nn.Module
        A model made of :class:`~nets.models.BasicBlock` with soft masks; blocks without a mask
        are left out of the plan.

    Returns
    -------
    PruningPlan

    Examples
    --------
    >>> import torch
    >>> from nets.models import resnet20
    >>> model = resnet20(soft_mask=True)
    >>> with torch.no_grad():
    ...     _ = model.stages[0][0].mask.weight[:12].zero_()
    >>> plan_from_masks(model).keep["stages.0.0"]
    (12, 13, 14, 15)
    """
    return plan_from_scores({name: block.mask.weight for name, block in masked_blocks(model)
                             if block.mask is not None})


def bn_scale_scores(model: nn.Module) -> dict:
    """``|bn1.weight|`` of every block (network-slimming importance), block name to Tensor.

    Examples
    --------
    >>> from nets.models import resnet20
    >>> scores = bn_scale_scores(resnet20())
    >>> len(scores), scores["stages.0.0"].shape
    (9, torch.Size([16]))
    """
    return {name: block.bn1.weight.detach().abs() for name, block in masked_blocks(model)}


def mask_scores(model: nn.Module) -> dict:
    """``|mask.weight|`` of every block with a soft mask, block name to Tensor.

    With :func:`plan_for_macs` this removes the channels with the smallest masks (the exactly
    zero ones first) until a multiply-add budget is met, so a mask-pruned model can be brought to
    a given cost whatever number of masks training left at exactly 0.

    Examples
    --------
    >>> from nets.models import resnet20
    >>> scores = mask_scores(resnet20(soft_mask=True))
    >>> len(scores), float(scores["stages.0.0"].min())
    (9, 1.0)
    """
    return {name: block.mask.weight.detach().abs() for name, block in masked_blocks(model)
            if block.mask is not None}


def plan_for_macs(model: nn.Module, scores: dict, *, target_macs, input_size=(1, 3, 32, 32)):
    """Global threshold on ``scores`` that brings the model to at most ``target_macs``.

    Channels are removed in increasing score order over all blocks (network slimming's global
    threshold) until the multiply-adds of the pruned model are ``<= target_macs`` (at least one
    channel per block is kept).

    Parameters
    ----------
    model : CifarResNet
    scores : dict of str to Tensor of shape (n_channels,)
    target_macs : int
    input_size : tuple of int

    Returns
    -------
    PruningPlan

    Examples
    --------
    >>> from nets.models import resnet20
    >>> model = resnet20()
    >>> plan = plan_for_macs(model, bn_scale_scores(model), target_macs=30_000_000)
    >>> measure_cost(remove_channels(model, plan)).macs <= 30_000_000
    True
    """
    _check_scores(scores)
    check_nonnegative("target_macs", target_macs)
    total = measure_cost(model, input_size=input_size).macs
    costs = macs_per_channel(model, input_size=input_size)
    widths = {name: block.conv1.out_channels for name, block in masked_blocks(model)}
    for name, values in scores.items():
        if widths.get(name) != values.shape[0]:
            raise ValueError(f"`scores[{name!r}]` must score the {widths.get(name)} channels of a "
                             f"block of the model, got {values.shape[0]} (or no such block)")
    entries = sorted((float(v), name, int(c)) for name, values in scores.items()
                     for c, v in enumerate(values.detach().cpu()))
    removed = {name: set() for name in scores}
    for _, name, channel in entries:
        if total <= target_macs:
            break
        if len(removed[name]) + 1 >= scores[name].shape[0]:
            continue
        removed[name].add(channel)
        total -= costs[name]
    keep = {name: tuple(c for c in range(scores[name].shape[0]) if c not in removed[name])
            for name in scores}
    return PruningPlan(keep=keep)


def _check_scores(scores):
    """``scores`` is a dict of block names to finite 1-D tensors with at least one entry."""
    if not isinstance(scores, dict):
        raise TypeError(f"`scores` must be a dict of block names to tensors, got "
                        f"{type(scores).__name__}")
    for name, values in scores.items():
        if not isinstance(values, Tensor) or values.ndim != 1 or values.numel() == 0 \
                or values.dtype.is_complex or not bool(torch.isfinite(values).all()):
            raise ValueError(f"`scores[{name!r}]` must be a finite real 1-D tensor with at least "
                             f"one entry, got {values!r}")


# ---------------------------------------------------------------- surgery


def _slice_conv(conv: nn.Conv2d, *, out_index=None, in_index=None) -> nn.Conv2d:
    weight = conv.weight.detach()
    if out_index is not None:
        weight = weight[out_index]
    if in_index is not None:
        weight = weight[:, in_index]
    new = nn.Conv2d(weight.shape[1] * conv.groups, weight.shape[0], conv.kernel_size,
                    stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                    groups=conv.groups, bias=conv.bias is not None, padding_mode=conv.padding_mode,
                    device=weight.device, dtype=weight.dtype)
    new.weight.data.copy_(weight)
    new.weight.requires_grad_(conv.weight.requires_grad)
    if conv.bias is not None:
        bias = conv.bias.detach()
        new.bias.data.copy_(bias[out_index] if out_index is not None else bias)
        new.bias.requires_grad_(conv.bias.requires_grad)
    return new.train(conv.training)


def _slice_bn(bn: nn.BatchNorm2d, index: Tensor) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(len(index), eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                         track_running_stats=bn.track_running_stats,
                         device=bn.weight.device if bn.affine else None,
                         dtype=bn.weight.dtype if bn.affine else None)
    if bn.affine:
        new.weight.data.copy_(bn.weight.detach()[index])
        new.bias.data.copy_(bn.bias.detach()[index])
    if bn.affine:
        new.weight.requires_grad_(bn.weight.requires_grad)
        new.bias.requires_grad_(bn.bias.requires_grad)
    if bn.track_running_stats:
        new.running_mean.copy_(bn.running_mean[index])
        new.running_var.copy_(bn.running_var[index])
        new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new.train(bn.training)


def remove_channels(model: nn.Module, plan: PruningPlan, *, fold_masks: bool = True) -> nn.Module:
    """Build a smaller copy of ``model`` keeping only the planned channels of every block.

    For each block in ``plan.keep``: ``conv1`` keeps those output channels, ``bn1`` those entries
    (weight, bias, running mean and variance), ``conv2`` those input channels. The input model is
    not modified.

    Parameters
    ----------
    model : nn.Module
        A model made of :class:`~nets.models.BasicBlock` (e.g. :func:`~nets.models.resnet56`).
    plan : PruningPlan
    fold_masks : bool, default True
        Multiply the kept soft-mask values into ``conv2``'s input channels and drop the mask
        (``conv2(m * h) == conv2'(h)``), so the pruned model is a plain ResNet. With False the
        mask is kept, sliced.

    Returns
    -------
    nn.Module
        The pruned model; every module keeps the training mode (train/eval) it had in
        ``model``, and every parameter its ``requires_grad``. If the removed channels had mask
        exactly 0, its outputs equal the original model's (up to float rounding). Build a new
        optimizer for it: its parameters are new ``Parameter`` objects.

    Raises
    ------
    TypeError
        If ``model`` is not a module or ``plan`` not a :class:`PruningPlan`.
    ValueError
        If the plan names a module that is not a block, keeps no channel, or an index is not an
        integer (booleans and floats are refused) in range.

    Examples
    --------
    >>> from nets.models import resnet20
    >>> model = resnet20(soft_mask=True)
    >>> plan = PruningPlan(keep={"stages.0.0": (0, 1, 2, 3)})
    >>> remove_channels(model, plan).stages[0][0].conv1.out_channels
    4
    """
    check_module("model", model)
    if not isinstance(plan, PruningPlan) or not isinstance(plan.keep, dict):
        raise TypeError(f"`plan` must be a PruningPlan (a dict `keep`), got {plan!r}")
    pruned = copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    for name, channels in plan.keep.items():
        block = modules.get(name)
        if not isinstance(block, BasicBlock):
            raise ValueError(f"`plan.keep` names {name!r}, which is not a BasicBlock of the model")
        width = block.conv1.out_channels
        channels = _channel_indices(name, channels, width)
        index = torch.tensor(channels, dtype=torch.long, device=block.conv1.weight.device)
        block.conv1 = _slice_conv(block.conv1, out_index=index)
        block.bn1 = _slice_bn(block.bn1, index)
        conv2 = _slice_conv(block.conv2, in_index=index)
        if block.mask is not None:
            values = block.mask.weight.detach()[index]
            if fold_masks:
                conv2.weight.data.mul_(values.view(1, -1, 1, 1))
                block.mask = None
            else:
                mask = SoftMask(len(channels)).to(values.device, values.dtype)
                mask.weight.data.copy_(values)
                mask.weight.requires_grad_(block.mask.weight.requires_grad)
                block.mask = mask.train(block.mask.training)
        block.conv2 = conv2
    return pruned


def _channel_indices(name, channels, width):
    """Sorted distinct channel indices of ``plan.keep[name]``, each an integer in [0, width)."""
    if isinstance(channels, Tensor):
        if channels.dtype.is_floating_point or channels.dtype.is_complex \
                or channels.dtype == torch.bool or channels.ndim != 1:
            raise ValueError(f"`plan.keep[{name!r}]` must hold integer channel indices, got a "
                             f"tensor of dtype {channels.dtype} and shape {tuple(channels.shape)}")
        channels = channels.tolist()
    try:
        channels = list(channels)
    except TypeError:
        raise ValueError(f"`plan.keep[{name!r}]` must be a sequence of channel indices, got "
                         f"{channels!r}") from None
    valid = all(isinstance(c, numbers.Integral) and not isinstance(c, bool | np.bool_)
                and 0 <= c < width for c in channels)
    if not channels or not valid:
        raise ValueError(f"`plan.keep[{name!r}]` must hold integer channel indices in "
                         f"[0, {width}), at least one, got {tuple(channels)!r}")
    return sorted({int(c) for c in channels})


@torch.no_grad()
def recalibrate_bn(model: nn.Module, images: Tensor, *, batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm's running statistics with one no-grad pass over ``images``.

    Soft masks (or pruned channels) that moved during training leave the running mean and variance
    of the BNs downstream of them out of date, so an eval-mode evaluation of the masked or pruned
    model is pessimistic. This resets the running statistics, runs ``images`` through the model in
    training mode without gradients with ``momentum=None`` (cumulative average over the batches),
    then restores each BN's momentum and the model's training mode. No parameter is changed.

    Parameters
    ----------
    model : nn.Module
    images : Tensor of shape (n_images, ...)
        Training images (never test images).
    batch_size : int, default 256

    Returns
    -------
    nn.Module
        ``model`` itself, recalibrated in place.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).eval()
    >>> model = recalibrate_bn(model, torch.randn(8, 1, 6, 6))
    >>> int(model[1].num_batches_tracked), model.training
    (1, False)

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    ValueError
        If ``images`` is not a non-empty tensor the model can take (the running statistics are
        then left as they were), or ``batch_size`` is not an integer >= 1.
    """
    check_module("model", model)
    if not isinstance(images, Tensor) or images.ndim < 1 or len(images) == 0:
        raise ValueError(f"`images` must be a non-empty Tensor of shape (n_images, ...), got "
                         f"{getattr(images, 'shape', images)!r}")
    check_int("batch_size", batch_size, 1)
    norms = [m for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return model
    reference = next(itertools.chain(model.parameters(), model.buffers()))
    dtype = reference.dtype if reference.dtype.is_floating_point else images.dtype
    momenta = [bn.momentum for bn in norms]
    saved = [(bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone())
             for bn in norms]
    was_training = model.training
    try:
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size].to(reference.device, dtype))
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        for bn, (mean, var, count) in zip(norms, saved, strict=True):  # leave the model as it was
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.num_batches_tracked.copy_(count)
        reason = " ".join(str(error).split())[:300]
        raise ValueError(f"the model cannot take `images` of shape {tuple(images.shape)}: "
                         f"{reason}") from error
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    return model
