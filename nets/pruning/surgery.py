"""Surgery: remove the channels of dependency groups from a model, as a :class:`PruningPlan` says.

A plan maps the name of the conv or linear layer leading each pruned group (its root, as in
``model.named_modules()``) to the output channels it keeps. :func:`remove_group_channels`
prunes groups of a traced graph through Torch-Pruning's per-layer handlers (the conv's output
channels, its BatchNorm's entries and running statistics, the consumers' input channels, the
masks of :class:`~nets.pruning.mask_pruner.SoftMaskPruner`, all at once); :func:`apply_plan`
replays a plan on a fresh copy of the dense model, which is also how :func:`nets.prune` cuts.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .._checks import check_module
from .graph import LEADING_TYPES, dependency_graph

__all__ = ["PruningPlan", "apply_plan", "channel_indices", "remove_group_channels"]


@dataclass(frozen=True)
class PruningPlan:
    """Channels to keep, by module name (as in ``model.named_modules()``).

    Attributes
    ----------
    keep : dict of str to tuple of int
        The name of the conv or linear layer leading each pruned dependency group to its
        sorted kept output channels (and with them the whole group's).
    """

    keep: dict = field(default_factory=dict)

    @property
    def n_kept(self) -> int:
        """Number of kept channels over all groups."""
        return sum(len(channels) for channels in self.keep.values())


def apply_plan(model: nn.Module, example_inputs: Tensor, plan: PruningPlan) -> nn.Module:
    """Replay a plan of :func:`nets.prune` on a copy of ``model`` (the same dense architecture).

    This is how a pruned checkpoint loads without pickling code: build the dense model,
    ``apply_plan`` the saved ``plan.keep``, then ``load_state_dict`` the pruned weights.

    Parameters
    ----------
    model : nn.Module
        Not modified.
    example_inputs : Tensor of shape (n_images, ...)
    plan : PruningPlan
        ``plan.keep`` maps conv or linear layer names to the output channels they keep.

    Returns
    -------
    nn.Module
        The pruned copy (training modes and ``requires_grad`` kept). Its parameters are new
        ``Parameter`` objects: build a new optimizer for it.

    Raises
    ------
    ImportError
        Without torch-pruning (the message names the ``nets`` extra).
    TypeError
        If ``plan`` is not a :class:`PruningPlan`.
    ValueError
        If the plan names a module that is not a conv or linear layer of the model (or one the
        model does not run), or its indices are not integers in range (at least one); the plan
        is checked before the model is traced.

    Examples
    --------
    >>> import torch
    >>> from nets import prune, resnet20
    >>> example = torch.zeros(1, 3, 32, 32)
    >>> result = prune(resnet20(), example, ratio=0.3)
    >>> replayed = apply_plan(resnet20(), example, result.plan)
    >>> replayed.load_state_dict(result.model.state_dict())
    <All keys matched successfully>
    """
    if not isinstance(plan, PruningPlan) or not isinstance(plan.keep, dict):
        raise TypeError(f"`plan` must be a PruningPlan (a dict `keep`), got {plan!r}")
    check_module("model", model)
    modules = dict(model.named_modules())
    removal = []
    for name, channels in plan.keep.items():
        layer = modules.get(name)
        if not isinstance(layer, LEADING_TYPES):
            raise ValueError(f"`plan.keep` names {name!r}, which is not a conv or linear layer "
                             "of the model")
        width = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
        kept = set(channel_indices(name, channels, width))
        removal.append([c for c in range(width) if c not in kept])
    pruned = copy.deepcopy(model)
    graph = dependency_graph(pruned, example_inputs)
    copies = dict(pruned.named_modules())
    roots = [copies[name] for name in plan.keep]
    for name, root in zip(plan.keep, roots, strict=True):
        if root not in graph.module2node:
            raise ValueError(f"`plan.keep` names {name!r}, a layer the model does not run on "
                             "`example_inputs`")
    remove_group_channels(graph, pruned, roots, removal)
    return pruned


def remove_group_channels(graph, model, roots, removal):
    """Prune the listed output channels of each root layer, with its whole dependency group.

    Parameters
    ----------
    graph : torch_pruning.DependencyGraph
        The graph of ``model``.
    model : nn.Module
        Pruned in place; every parameter keeps its ``requires_grad`` (Torch-Pruning's handlers
        build new parameters that would require gradients).
    roots : list of nn.Module
        Conv or linear layers of ``model``.
    removal : list of list of int
        The output channels of each root to remove (distinct, in range, not all of them).
    """
    requires_grad = {name: p.requires_grad for name, p in model.named_parameters()}
    for root, channels in zip(roots, removal, strict=True):
        if channels:
            pruner = graph.get_pruner_of_module(root)
            graph.get_pruning_group(root, pruner.prune_out_channels, sorted(channels)).prune()
    for name, p in model.named_parameters():
        p.requires_grad_(requires_grad.get(name, True))


def channel_indices(name, channels, width):
    """Sorted distinct channel indices of ``plan.keep[name]``, each an integer in [0, width).

    Raises
    ------
    ValueError
        If ``channels`` is empty, not a sequence of integers (booleans and floats are refused)
        or holds an index out of range; the message names ``plan.keep[name]``.
    """
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
