"""Channel pruning of any model through Torch-Pruning's dependency graph: :func:`prune`.

The steps, each in its module of :mod:`nets.pruning`: trace the model into dependency groups
(:mod:`~nets.pruning.graph`), score the channels of every prunable group with an importance
(:mod:`~nets.pruning.importance`, or any of Torch-Pruning's), select the channels to remove
(:mod:`~nets.pruning.selection`, with the multiply-adds predicted by
:mod:`~nets.pruning.cost_model`), cut them from a copy (:mod:`~nets.pruning.surgery`) and
measure the result (:func:`nets.measure_cost`). The :class:`PruneResult` holds the smaller
copy and the :class:`~nets.pruning.surgery.PruningPlan` it applied.

References
----------
Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023, arXiv:2301.12900.
Liu et al., "Learning efficient convolutional networks through network slimming", ICCV 2017,
arXiv:1708.06519.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from torch import Tensor, nn

from csc.validation import check_in_range, check_nonnegative

from .._checks import check_module, describe
from ..cost import ModelCost, measure_cost
from ..models import SoftMask
from .cost_model import ChannelCostModel, recording_output_sizes
from .graph import check_ignored, dependency_graph, is_output_item, prunable_groups
from .importance import ScoreImportance, SoftMaskImportance
from .selection import select_for_macs, select_zero_channels
from .surgery import PruningPlan, apply_plan

__all__ = ["PruneResult", "prune"]


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` returns.

    Attributes
    ----------
    model : nn.Module
        The pruned copy (the input model is not modified). Its parameters are new ``Parameter``
        objects: build a new optimizer for it.
    plan : PruningPlan
        ``plan.keep`` maps the name of the layer leading each scored group (a conv or linear
        layer, as in ``model.named_modules()``) to its kept output channels;
        :func:`~nets.pruning.surgery.apply_plan` replays it on a fresh copy of the dense model.
    original_cost, cost : ModelCost
        :func:`nets.measure_cost` of the input and of the pruned model on ``example_inputs``.
    """

    model: nn.Module
    plan: PruningPlan
    original_cost: ModelCost
    cost: ModelCost


def prune(model: nn.Module, example_inputs: Tensor, *, importance=None, target_macs=None,
          ratio=None, ignored_layers=None) -> PruneResult:
    r"""Remove the least important channel groups of any model (Torch-Pruning's dependency graph).

    Without ``target_macs`` and ``ratio``, exactly the channels whose importance is 0 are
    removed (soft masks trained to 0: the eval output is unchanged). With one of them, channels
    are removed in increasing importance over all groups (a global threshold, as in network
    slimming) until the multiply-adds measured by :func:`nets.measure_cost` are at most the
    target. Every group keeps at least one channel. Groups whose channels reach the model's
    output, those of ``ignored_layers`` and those through an operation the graph cannot map
    (channel padding, as in the option-A shortcuts of :func:`~nets.models.resnet20`) are never
    pruned, so the output shape is kept.

    Parameters
    ----------
    model : nn.Module
        Not modified; a copy is pruned. The importance is evaluated on ``model`` itself.
    example_inputs : Tensor of shape (n_images, ...)
        An input the model takes (its shape sets the measured cost; ``(1, 3, 224, 224)`` for an
        ImageNet model).
    importance : callable, optional
        Torch-Pruning's importance protocol (``tp.importance.Importance``): called on each
        prunable group of ``model``'s dependency graph, it returns one score per channel of the
        group's root (a Tensor of shape ``(len(group[0].idxs),)``), or None to leave the group
        alone. Torch-Pruning's own importances work, and those of :mod:`nets.pruning.importance`
        (:class:`~nets.pruning.importance.SoftMaskImportance`,
        :class:`~nets.pruning.importance.CoGDImportance`,
        :class:`~nets.pruning.importance.ScoreImportance` for precomputed scores). Default: the
        soft masks (``SoftMaskImportance()``) if the model has any, else the BatchNorm scales
        ``|gamma|``, averaged over the BatchNorms of a group (network slimming's rule:
        ``tp.importance.BNScaleImportance(normalizer=None)``).
    target_macs : int, optional
        Multiply-adds to reach (``<=``), on ``example_inputs``'s shape.
    ratio : float in [0, 1), optional
        Fraction of the multiply-adds to remove: ``target_macs = floor((1 - ratio) * macs)``.
        Give at most one of ``target_macs`` and ``ratio``.
    ignored_layers : list of nn.Module, optional
        Layers of ``model`` whose output channels are kept.

    Returns
    -------
    PruneResult
        ``.model`` (the pruned copy, every module in the training mode and every parameter
        with the ``requires_grad`` it had), ``.plan``, ``.original_cost``, ``.cost``.

    Raises
    ------
    ImportError
        Without torch-pruning (the message names the ``nets`` extra).
    TypeError
        If ``model`` is not a module, ``example_inputs`` not a tensor, ``importance`` not
        callable or ``ignored_layers`` not a list of modules.
    ValueError
        If both ``target_macs`` and ``ratio`` are given or one is out of range, the target is
        below what keeping one channel per group costs, ``importance`` returns something else
        than None or one real score per channel, a module of a
        :class:`~nets.pruning.importance.ScoreImportance` is in no prunable group, a layer of
        ``ignored_layers`` is not in the model, or the model cannot take ``example_inputs``.

    Examples
    --------
    >>> import torch
    >>> from nets.models import resnet20
    >>> result = prune(resnet20(), torch.zeros(1, 3, 32, 32), ratio=0.5)
    >>> result.cost.macs <= 0.5 * result.original_cost.macs
    True
    >>> result.model(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """
    check_module("model", model)
    if target_macs is not None and ratio is not None:
        raise ValueError(f"give at most one of `target_macs` and `ratio`, got {target_macs!r} "
                         f"and {ratio!r}")
    if target_macs is not None:
        check_nonnegative("target_macs", target_macs)
    if ratio is not None:
        check_in_range("ratio", ratio, 0, 1, closed=(True, False))
    if importance is not None and not callable(importance):
        raise TypeError(f"`importance` must be an importance (a callable of a Torch-Pruning "
                        f"group), got {type(importance).__name__}")
    ignored = check_ignored(model, ignored_layers)
    graph = dependency_graph(model, example_inputs)
    importance = _default_importance(model) if importance is None else importance
    with recording_output_sizes(graph) as output_sizes:
        original_cost = measure_cost(model, example_inputs)
    if ratio is not None:
        target_macs = math.floor((1 - ratio) * original_cost.macs)
    names = {m: name for name, m in model.named_modules()}
    groups, group_scores = _scored_groups(prunable_groups(graph, ignored), importance, names)
    if target_macs is None:
        removal = select_zero_channels(group_scores)
    else:
        cost_model = ChannelCostModel(groups, output_sizes, original_cost.macs)
        removal, predicted = select_for_macs(cost_model, group_scores, target_macs)
        if predicted > target_macs:
            raise ValueError(f"`target_macs` {int(target_macs)} is below the "
                             f"{math.ceil(predicted)} multiply-adds left with one channel per "
                             "prunable group")
    plan = PruningPlan(keep={
        names[group[0].dep.target.module]: tuple(c for c in range(len(group[0].idxs))
                                                 if c not in set(channels))
        for group, channels in zip(groups, removal, strict=True)})
    pruned = apply_plan(model, example_inputs, plan)
    cost = measure_cost(pruned, example_inputs)
    if target_macs is not None and cost.macs > target_macs:
        warnings.warn(f"nets.prune: the pruned model measures {cost.macs} multiply-adds, above "
                      f"`target_macs` {int(target_macs)} (operations outside conv and linear "
                      "layers depend on the pruned channels)", RuntimeWarning, stacklevel=2)
    return PruneResult(model=pruned, plan=plan, original_cost=original_cost, cost=cost)


def _default_importance(model):
    """The soft masks if the model has any, else network slimming's mean ``|gamma|``."""
    if any(isinstance(m, SoftMask) for m in model.modules()):
        return SoftMaskImportance()
    import torch_pruning as tp  # present: dependency_graph needed it

    # normalizer=None: Torch-Pruning's default ("mean") rescales each group by its mean
    # score, which changes the order of channels across groups
    return tp.importance.BNScaleImportance(normalizer=None)


def _scored_groups(groups, importance, names):
    """The groups ``importance`` scores, and their scores; checks what it returns (``names``:
    module to name, for the errors)."""
    if isinstance(importance, ScoreImportance):
        _check_scores_reach_groups(importance, groups)
    scored, scores = [], []
    for group in groups:
        values = importance(group)
        if values is None:
            continue
        width = len(group[0].idxs)
        if not isinstance(values, Tensor) or values.shape != (width,) \
                or values.dtype.is_complex or bool(values.isnan().any()):
            raise ValueError(f"`importance` must return None or a real tensor of shape "
                             f"({width},) without NaN for the group of "
                             f"{names[group[0].dep.target.module]!r}, got {describe(values)}")
        scored.append(group)
        scores.append(values)
    return scored, scores


def _check_scores_reach_groups(importance, groups):
    """Every module a :class:`ScoreImportance` scores has its channels in a prunable group."""
    held = {id(item.dep.target.module) for group in groups for item in group
            if is_output_item(item)}
    for name, module in importance.modules.items():
        if id(module) not in held:
            raise ValueError(f"`importance` scores {name!r}, a module whose channels no "
                             "prunable group holds (they reach the model's output, belong to "
                             "an ignored layer or pass through an operation the graph cannot "
                             "map, or it is not a module of this model)")
