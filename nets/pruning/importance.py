"""Channel importances: which channels of a dependency group go first.

Torch-Pruning separates *which* channels go (an importance: a callable mapping a dependency
group to one score per channel, the ``tp.importance.Importance`` protocol) from *how* they are
cut (the graph and its pruners). :func:`nets.prune` takes any importance, Torch-Pruning's own
(``tp.importance.MagnitudeImportance``, ``BNScaleImportance``, ``TaylorImportance``,
``LAMPImportance``, ``RandomImportance``, ...) or these:

:class:`SoftMaskImportance`
    ``|m_c|`` of every :class:`~nets.models.SoftMask` in the group (zero-mask channels first).
:class:`CoGDImportance`
    ``|x_c|`` of the sparse variables a :class:`nets.CoGD` couples: the soft masks
    (``rule="revival"``) or the BN scales ``gamma`` (``rule="backtrack"``, network slimming's
    rule, on the scales the backtracking kept alive).
:class:`ScoreImportance`
    Precomputed per-channel scores, keyed by module name.

All three reduce a group by :func:`group_channel_scores`: the mean over the scored layers of
the group, in the group's root channel order. A group without a scored layer gets ``None``,
which Torch-Pruning's pruners and :func:`nets.prune` read as "leave this group alone". They
are plain callables (no Torch-Pruning needed to build them), usable with Torch-Pruning's own
pruners (``tp.pruner.MetaPruner`` and friends) as well.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from .._checks import check_module, describe
from ..cogd import CoGD
from ..models import SoftMask
from .graph import is_output_item, output_channels

__all__ = ["CoGDImportance", "ScoreImportance", "SoftMaskImportance", "group_channel_scores"]


def group_channel_scores(group, score_of: Callable[[nn.Module], Tensor | None]):
    """Per-channel scores of a dependency group: the mean of its layers' scores.

    Parameters
    ----------
    group : torch_pruning.Group
        A group of a ``tp.DependencyGraph`` (all of its channels, as ``get_all_groups`` gives).
    score_of : callable
        ``score_of(module)`` returns a Tensor of shape (n_channels,) scoring the module's output
        channels (a BatchNorm's or mask's features, a conv's ``out_channels``), or None for a
        module without a score. Only the entries of a conv or linear layer whose *output*
        channels are in the group are read.

    Returns
    -------
    Tensor of shape (n_group_channels,) or None
        float64, in the order of the group's root indices (``group[0].idxs``); the mean over
        the scored layers that hold the channel (+inf for a channel none of them holds). None
        when no layer of the group is scored.
    """
    root = group[0].root_idxs
    total = torch.zeros(max(root) + 1, dtype=torch.float64)
    count = torch.zeros_like(total)
    for item in group:
        if not is_output_item(item):  # a consumer's input channels
            continue
        scores = score_of(item.dep.target.module)
        if scores is None:
            continue
        roots = torch.tensor(item.root_idxs, dtype=torch.long)
        values = scores.detach().abs().to("cpu", torch.float64)[torch.tensor(item.idxs)]
        total.scatter_add_(0, roots, values)
        count.scatter_add_(0, roots, torch.ones_like(values))
    if not bool(count.any()):
        return None
    mean = torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, torch.inf))
    return mean[torch.tensor(root)]


def _soft_mask_values(module):
    return module.weight if isinstance(module, SoftMask) else None


class SoftMaskImportance:
    """Channel importance = ``|m_c|``, the values of the soft masks in the group.

    A channel held by several masks (a residual group, a mask after a BatchNorm that reads
    concatenated features) scores their mean, so it is 0 exactly when every mask holding it is
    0. Groups without a mask score ``None`` (not pruned).

    Examples
    --------
    >>> import torch
    >>> import torch_pruning as tp
    >>> from nets.pruning.mask_pruner import SoftMaskPruner
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 1), SoftMask(3), torch.nn.Conv2d(3, 1, 1))
    >>> with torch.no_grad():
    ...     _ = model[1].weight.copy_(torch.tensor([0.5, 0.0, 2.0]))
    >>> graph = tp.DependencyGraph().build_dependency(
    ...     model, torch.zeros(1, 1, 2, 2), customized_pruners={SoftMask: SoftMaskPruner()})
    >>> group = graph.get_pruning_group(model[0], tp.prune_conv_out_channels, [0, 1, 2])
    >>> SoftMaskImportance()(group)
    tensor([0.5000, 0.0000, 2.0000], dtype=torch.float64)
    """

    def __call__(self, group):
        return group_channel_scores(group, _soft_mask_values)


class CoGDImportance:
    """Channel importance = ``|x_c|`` of the sparse variables coupled by a :class:`nets.CoGD`.

    Parameters
    ----------
    optimizer : nets.CoGD
        Its pairs' first tensors (soft masks or BN scales) score the channels of the layer whose
        ``weight`` they are; groups holding none of them score ``None``.

    Raises
    ------
    TypeError
        If ``optimizer`` is not a :class:`nets.CoGD`.

    Notes
    -----
    Pruning replaces the pruned layers' parameters, so build a new CoGD (and importance) for the
    pruned model.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, CoGD):
            raise TypeError(f"`optimizer` must be a nets.CoGD, got {type(optimizer).__name__}")
        self.optimizer = optimizer

    def __call__(self, group):
        coupled = {id(x) for x, _ in self.optimizer.pairs}

        def score_of(module):
            weight = getattr(module, "weight", None)
            return weight if id(weight) in coupled else None

        return group_channel_scores(group, score_of)


class ScoreImportance:
    """Channel importance from precomputed scores, keyed by module name.

    Parameters
    ----------
    model : nn.Module
        The model the names refer to (as in ``model.named_modules()``); pass the same model to
        :func:`nets.prune`.
    scores : dict of str to Tensor of shape (n_channels,)
        Per-channel scores of any conv or linear layer (its output channels), BatchNorm or
        :class:`~nets.models.SoftMask` of the model. A channel scores the mean ``|score|`` over
        the scored layers of its group; groups without a score are not pruned.

    Attributes
    ----------
    modules : dict of str to nn.Module
        The scored modules by name.

    Raises
    ------
    TypeError
        If ``model`` is not a module or ``scores`` not a dict.
    ValueError
        If a key names no conv, linear, BatchNorm or SoftMask module of the model, or its
        scores are not a finite real tensor with one entry per channel.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(),
    ...                             torch.nn.Conv2d(4, 2, 3))
    >>> importance = ScoreImportance(model, {"0": torch.tensor([3.0, 1.0, 0.0, 2.0])})
    >>> list(importance.modules)
    ['0']
    """

    def __init__(self, model: nn.Module, scores: dict):
        check_module("model", model)
        if not isinstance(scores, dict):
            raise TypeError(f"`scores` must be a dict of module names to tensors, got "
                            f"{type(scores).__name__}")
        named = dict(model.named_modules())
        self.modules, self._scores = {}, {}
        for name, values in scores.items():
            module = named.get(name) if isinstance(name, str) else None
            width = output_channels(module)
            if width is None:
                raise ValueError(f"`scores` key {name!r} must name a conv, linear, BatchNorm or "
                                 "SoftMask module of the model")
            if not isinstance(values, Tensor) or values.shape != (width,) \
                    or values.dtype.is_complex or not bool(torch.isfinite(values).all()):
                raise ValueError(f"`scores[{name!r}]` must be a finite real tensor of shape "
                                 f"({width},), got {describe(values)}")
            self.modules[name] = module
            self._scores[module] = values

    def __call__(self, group):
        return group_channel_scores(group, self._scores.get)

