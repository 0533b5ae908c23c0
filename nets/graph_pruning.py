"""Channel pruning of any model through Torch-Pruning's dependency graph.

:func:`prune` takes a model and an example input, builds Torch-Pruning's ``DependencyGraph``
(which couples every layer sharing a channel: the BatchNorm after a conv, the convs that read
it, residual additions, concatenations, depthwise convs, flattening into a linear head) and
removes whole channel groups, the lowest-scored first, until a multiply-add target measured by
:func:`nets.measure_cost` is met, or exactly the zero-scored channels. It returns a
:class:`PruneResult`: the smaller copy of the model and the :class:`~nets.pruning.PruningPlan`
it applied (replayable on a fresh dense model with :func:`apply_plan`).

Soft masks for any model: :func:`insert_soft_masks` wraps the layers that lead the prunable
groups in :class:`~nets.models.MaskedLayer`; :func:`soft_mask_pairs` pairs each mask with the
conv that reads it for :class:`nets.CoGD` (``rule="revival"``); after training with
:class:`~nets.masks.SoftMaskFISTA`, :func:`prune` removes the zero-mask channels and
:func:`fold_soft_masks` multiplies the remaining mask values into their layers.

:class:`SoftMaskPruner` teaches Torch-Pruning to slice a :class:`~nets.models.SoftMask`; pass it
as ``customized_pruners={SoftMask: SoftMaskPruner()}`` to Torch-Pruning's own pruners.

The module needs ``torch-pruning`` (the ``nets`` extra).

References
----------
Fang et al., "DepGraph: Towards Any Structural Pruning", CVPR 2023, arXiv:2301.12900.
Liu et al., "Learning efficient convolutional networks through network slimming", ICCV 2017,
arXiv:1708.06519.
"""

from __future__ import annotations

import contextlib
import copy
import math
import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from csc.validation import check_in_range, check_nonnegative

from ._checks import check_module
from .cost import ModelCost, measure_cost, model_call
from .importance import group_channel_scores
from .models import MaskedLayer, SoftMask
from .pruning import PruningPlan, _channel_indices

try:
    import torch_pruning as tp
except ImportError as error:  # pragma: no cover - the nets extra installs it
    raise ImportError("nets.prune needs torch-pruning 1.6 (pip install "
                      "'torch-pruning>=1.6,<1.7', or the `nets` extra of cogd)") from error

__all__ = [
    "PruneResult",
    "SoftMaskPruner",
    "apply_plan",
    "dependency_graph",
    "fold_soft_masks",
    "insert_soft_masks",
    "prune",
    "soft_mask_pairs",
]

_LEADING_TYPES = (nn.modules.conv._ConvNd, nn.Linear)
_BATCH_NORMS = nn.modules.batchnorm._BatchNorm


class SoftMaskPruner(tp.pruner.function.BasePruningFunc):
    """Torch-Pruning handler of :class:`~nets.models.SoftMask`: slices its ``weight``.

    A mask's input and output channels are the same channels (as a BatchNorm's), so pruning
    either prunes both. The new ``weight`` keeps ``requires_grad``.
    """

    TARGET_MODULES = SoftMask

    def prune_out_channels(self, layer: SoftMask, idxs) -> SoftMask:
        removed = {int(i) for i in idxs}
        keep = [i for i in range(layer.weight.shape[0]) if i not in removed]
        weight = layer.weight
        layer.weight = nn.Parameter(weight.detach()[keep].clone(),
                                    requires_grad=weight.requires_grad)
        return layer

    prune_in_channels = prune_out_channels

    def get_out_channels(self, layer: SoftMask) -> int:
        return layer.weight.shape[0]

    get_in_channels = get_out_channels


@dataclass(frozen=True)
class PruneResult:
    """What :func:`prune` returns.

    Attributes
    ----------
    model : nn.Module
        The pruned copy (the input model is not modified). Its parameters are new ``Parameter``
        objects: build a new optimizer for it.
    plan : PruningPlan
        ``plan.keep`` maps the name of the layer leading each pruned group (a conv or linear
        layer, as in ``model.named_modules()``) to its kept output channels;
        :func:`apply_plan` replays it on a fresh copy of the dense model.
    original_cost, cost : ModelCost
        :func:`nets.measure_cost` of the input and of the pruned model on ``example_inputs``'s
        shape.
    """

    model: nn.Module
    plan: PruningPlan
    original_cost: ModelCost
    cost: ModelCost


def dependency_graph(model: nn.Module, example_inputs: Tensor):
    """Torch-Pruning's ``DependencyGraph`` of ``model``, with :class:`SoftMaskPruner` registered.

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
    TypeError
        If ``model`` is not a module or ``example_inputs`` not a tensor.
    ValueError
        If the model cannot take ``example_inputs`` (the model's own error is quoted).
    """
    check_module("model", model)
    if not isinstance(example_inputs, Tensor):
        raise TypeError(f"`example_inputs` must be a Tensor (one input batch), got "
                        f"{type(example_inputs).__name__}")
    with model_call(model, f"`example_inputs` of shape {tuple(example_inputs.shape)}"), \
            torch.enable_grad():
        return tp.DependencyGraph().build_dependency(
            model, example_inputs, customized_pruners={SoftMask: SoftMaskPruner()},
            verbose=False)


def _prunable_groups(graph, ignored_layers):
    """Full-width groups led by a conv or linear layer, minus those reaching the model output.

    A group that prunes the output channels of a node without successors (the classifier, a
    block whose output is the model's) would change the output's shape, so it is left out, as
    are groups holding the output channels of an ignored layer and groups through an operation
    that Torch-Pruning takes for element-wise but that changes the channel count (it would
    couple the wrong channels).
    """
    groups = []
    for group in graph.get_all_groups(ignored_layers=list(ignored_layers),
                                      root_module_types=_LEADING_TYPES):
        reaches_output = any(_is_output_item(item) and not item.dep.target.outputs
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
    if node.type != tp.ops.OPTYPE.ELEMENTWISE or node.grad_fn is None:
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


def _is_output_item(item) -> bool:
    """The item prunes its layer's own channels (not a consumer's input channels)."""
    return item.dep.handler.__name__ == "prune_out_channels"


def _channel_count(module) -> int | None:
    if isinstance(module, SoftMask):
        return module.weight.shape[0]
    for attribute in ("out_channels", "out_features", "num_features"):
        if isinstance(getattr(module, attribute, None), int):
            return getattr(module, attribute)
    return None


def _copy_with(model, modules):
    """A deep copy of ``model`` and the copies of ``modules`` (modules of ``model``) in it."""
    duplicate = copy.deepcopy(model)
    names = {id(m): name for name, m in model.named_modules()}
    copies = dict(duplicate.named_modules())
    return duplicate, [copies[names[id(m)]] for m in modules]


def _check_ignored(model, ignored_layers):
    """``ignored_layers`` as a list of submodules of ``model``."""
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


def _score_function(model, scores):
    """``score_of(module)`` for the copy ``model``: user scores by name, or the defaults."""
    if scores is None:
        if any(isinstance(m, SoftMask) for m in model.modules()):
            return lambda m: m.weight if isinstance(m, SoftMask) else None
        return lambda m: m.weight if isinstance(m, _BATCH_NORMS) and m.affine else None
    if not isinstance(scores, dict):
        raise TypeError(f"`scores` must be a dict of module names to tensors, got "
                        f"{type(scores).__name__}")
    modules = dict(model.named_modules())
    by_module = {}
    for name, values in scores.items():
        width = _channel_count(modules.get(name)) if isinstance(name, str) else None
        if width is None:
            raise ValueError(f"`scores` key {name!r} must name a conv, linear, BatchNorm or "
                             "SoftMask module of the model")
        if not isinstance(values, Tensor) or values.shape != (width,) or values.dtype.is_complex \
                or not bool(torch.isfinite(values).all()):
            raise ValueError(f"`scores[{name!r}]` must be a finite real tensor of shape "
                             f"({width},), got {values!r}")
        by_module[modules[name]] = values
    return lambda m: by_module.get(m)


def _check_scores_reach_groups(model, scores, groups):
    """Every ``scores`` key names a module whose channels a prunable group holds."""
    held = {id(item.dep.target.module) for group in groups for item in group
            if _is_output_item(item)}
    modules = dict(model.named_modules())
    for name in scores:
        if id(modules[name]) not in held:
            raise ValueError(f"`scores` key {name!r} names a module whose channels no prunable "
                             "group holds (they reach the model's output, belong to an ignored "
                             "layer or pass through an operation the graph cannot map)")


class _CostModel:
    """Multiply-adds of the model as a function of the channels removed from each group.

    A conv costs ``s * out * in / groups`` (``s``: batch x output pixels x kernel size; a
    depthwise conv keeps ``in / groups = 1``), a linear layer ``s * out * in``; ``s`` and the
    cost of everything else (functional matmuls) come from one measured forward pass.
    """

    def __init__(self, groups, output_sizes, total_macs):
        layers = list(output_sizes)
        linears = {m for m in layers if isinstance(m, nn.Linear)}
        self.layers = layers
        self.scale, self.out, self.inner, self.depthwise = [], [], [], []
        for m in layers:
            kernel = math.prod(m.kernel_size) if m not in linears else 1
            self.scale.append(output_sizes[m] * kernel)
            self.out.append(m.out_features if m in linears else m.out_channels)
            self.inner.append(m.in_features if m in linears else m.in_channels)
            self.depthwise.append(m not in linears and m.groups == m.out_channels > 1)
        self.groups = [1 if m in linears else m.groups for m in layers]
        self.other = total_macs - sum(self._layer(i) for i in range(len(layers)))
        index = {m: i for i, m in enumerate(layers)}
        # effects[g][channel] = {(layer index, axis): number of that axis's entries removed}
        self.effects = []
        for group in groups:
            effect = [dict() for _ in range(len(group[0].idxs))]
            for item in group:
                layer = index.get(item.dep.target.module)
                if layer is None:
                    continue
                axis = "out" if self.depthwise[layer] or _is_output_item(item) else "in"
                for root in item.root_idxs:
                    effect[root][layer, axis] = effect[root].get((layer, axis), 0) + 1
            self.effects.append(effect)

    def _layer(self, i):
        inner = 1 if self.depthwise[i] else self.inner[i] / self.groups[i]
        return self.scale[i] * self.out[i] * inner

    def total(self) -> float:
        return self.other + sum(self._layer(i) for i in range(len(self.layers)))

    def remove(self, group: int, channel: int) -> float:
        """Remove one channel of a group; return the change of the total."""
        change = 0.0
        for (layer, axis), count in self.effects[group][channel].items():
            before = self._layer(layer)
            if axis == "out":
                self.out[layer] -= count
            else:
                self.inner[layer] -= count
            change += self._layer(layer) - before
        return change


@contextlib.contextmanager
def _recording_output_sizes(graph):
    """Yield ``{layer: output entries per output channel}`` for the graph's conv and linear
    layers, filled by the forward passes run inside the block (summed over calls)."""
    layers = [m for m in graph.module2node if isinstance(m, _LEADING_TYPES)]
    sizes = dict.fromkeys(layers, 0)

    def record(module, args, out):
        sizes[module] += out.numel() // out.shape[-1 if isinstance(module, nn.Linear) else 1]

    hooks = [m.register_forward_hook(record) for m in layers]
    try:
        yield sizes
    finally:
        for hook in hooks:
            hook.remove()


def _select_zero_channels(group_scores):
    """The zero-scored channels of every group (the best channel of a group is always kept)."""
    removal = []
    for values in group_scores:
        zero = [int(c) for c in torch.nonzero(values == 0).flatten()]
        if len(zero) == len(values):
            zero.remove(int(torch.argmax(values)))
        removal.append(zero)
    return removal


def _select_for_macs(cost_model, group_scores, target_macs):
    """Lowest scores first, over all groups, until the modelled cost is <= ``target_macs``."""
    entries = sorted((float(value), g, c) for g, values in enumerate(group_scores)
                     for c, value in enumerate(values))
    removal = [[] for _ in group_scores]
    total = cost_model.total()
    for _, g, c in entries:
        if total <= target_macs:
            break
        if len(removal[g]) + 1 >= len(group_scores[g]):
            continue
        removal[g].append(c)
        total += cost_model.remove(g, c)
    return removal, total


def _apply_removal(graph, model, groups, removal, names):
    """Prune each group's listed root channels; restore modes and ``requires_grad``."""
    modes = [(module, module.training) for module in model.modules()]
    requires_grad = {name: p.requires_grad for name, p in model.named_parameters()}
    keep = {}
    for group, channels in zip(groups, removal, strict=True):
        root = group[0].dep
        width = len(group[0].idxs)
        if channels:
            graph.get_pruning_group(root.target.module, root.handler, sorted(channels)).prune()
        keep[names[root.target.module]] = tuple(c for c in range(width) if c not in set(channels))
    for module, training in modes:
        module.training = training
    for name, p in model.named_parameters():
        p.requires_grad_(requires_grad.get(name, True))
    return PruningPlan(keep=keep)


def prune(model: nn.Module, example_inputs: Tensor, *, scores=None, target_macs=None,
          ratio=None, ignored_layers=None) -> PruneResult:
    r"""Remove the lowest-scored channel groups of any model (Torch-Pruning's dependency graph).

    Without ``target_macs`` and ``ratio``, exactly the channels whose score is 0 are removed
    (soft masks trained to 0: the eval output is unchanged). With one of them, channels are
    removed in increasing score order over all groups (a global threshold, as in network
    slimming) until the multiply-adds measured by :func:`nets.measure_cost` are at most the
    target. Every group keeps at least one channel. Groups whose channels reach the model's
    output, those of ``ignored_layers`` and those through an operation the graph cannot map
    (channel padding, as in the option-A shortcuts of :func:`~nets.models.resnet20`) are never
    pruned, so the output shape is kept.

    Parameters
    ----------
    model : nn.Module
        Not modified; a copy is pruned.
    example_inputs : Tensor of shape (n_images, ...)
        An input the model takes (its shape sets the measured cost; ``(1, 3, 224, 224)`` for an
        ImageNet model).
    scores : dict of str to Tensor of shape (n_channels,), optional
        Per-channel scores keyed by module name (as in ``model.named_modules()``): any conv or
        linear layer (its output channels), BatchNorm or :class:`~nets.models.SoftMask` of a
        group. A channel scores the mean ``|score|`` over the scored layers of its group;
        groups without a score are not pruned. Default: the soft masks if the model has any,
        else the BatchNorm scales ``|gamma|`` (network slimming's rule).
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
    TypeError
        If ``model`` is not a module, ``example_inputs`` not a tensor, ``scores`` not a dict or
        ``ignored_layers`` not a list of modules.
    ValueError
        If both ``target_macs`` and ``ratio`` are given or one is out of range, the target is
        below what keeping one channel per group costs, a ``scores`` entry names no scorable
        module of a prunable group or has the wrong shape, a layer of ``ignored_layers`` is not
        in the model, or the model cannot take ``example_inputs``.

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
    pruned, ignored = _copy_with(model, _check_ignored(model, ignored_layers))
    score_of = _score_function(pruned, scores)
    graph = dependency_graph(pruned, example_inputs)
    input_size = tuple(example_inputs.shape)
    with _recording_output_sizes(graph) as output_sizes:
        original_cost = measure_cost(pruned, input_size=input_size)
    if ratio is not None:
        target_macs = math.floor((1 - ratio) * original_cost.macs)
    prunable = _prunable_groups(graph, ignored)
    if scores is not None:
        _check_scores_reach_groups(pruned, scores, prunable)
    scored = [(group, group_channel_scores(group, score_of)) for group in prunable]
    groups = [group for group, values in scored if values is not None]
    group_scores = [values for _, values in scored if values is not None]
    if target_macs is None:
        removal = _select_zero_channels(group_scores)
    else:
        cost_model = _CostModel(groups, output_sizes, original_cost.macs)
        removal, predicted = _select_for_macs(cost_model, group_scores, target_macs)
        if predicted > target_macs:
            raise ValueError(f"`target_macs` {int(target_macs)} is below the "
                             f"{math.ceil(predicted)} multiply-adds left with one channel per "
                             "prunable group")
    plan = _apply_removal(graph, pruned, groups, removal,
                          {m: name for name, m in pruned.named_modules()})
    cost = measure_cost(pruned, input_size=input_size)
    if target_macs is not None and cost.macs > target_macs:
        warnings.warn(f"nets.prune: the pruned model measures {cost.macs} multiply-adds, above "
                      f"`target_macs` {int(target_macs)} (operations outside conv and linear "
                      "layers depend on the pruned channels)", RuntimeWarning, stacklevel=2)
    return PruneResult(model=pruned, plan=plan, original_cost=original_cost, cost=cost)


def apply_plan(model: nn.Module, example_inputs: Tensor, plan: PruningPlan) -> nn.Module:
    """Replay a plan of :func:`prune` on a copy of ``model`` (the same dense architecture).

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
        The pruned copy (training modes and ``requires_grad`` kept).

    Raises
    ------
    TypeError
        If ``plan`` is not a :class:`~nets.pruning.PruningPlan`.
    ValueError
        If the plan names a module that is not a conv or linear layer of the model, or its
        indices are not distinct integers in range (at least one).

    Examples
    --------
    >>> import torch
    >>> from nets.models import resnet20
    >>> example = torch.zeros(1, 3, 32, 32)
    >>> result = prune(resnet20(), example, ratio=0.3)
    >>> replayed = apply_plan(resnet20(), example, result.plan)
    >>> replayed.load_state_dict(result.model.state_dict())
    <All keys matched successfully>
    """
    if not isinstance(plan, PruningPlan) or not isinstance(plan.keep, dict):
        raise TypeError(f"`plan` must be a PruningPlan (a dict `keep`), got {plan!r}")
    check_module("model", model)
    pruned = copy.deepcopy(model)
    graph = dependency_graph(pruned, example_inputs)
    modules = dict(pruned.named_modules())
    groups, removal = [], []
    for name, channels in plan.keep.items():
        layer = modules.get(name)
        if not isinstance(layer, _LEADING_TYPES) or layer not in graph.module2node:
            raise ValueError(f"`plan.keep` names {name!r}, which is not a conv or linear layer "
                             "of the model's graph")
        pruner = graph.get_pruner_of_module(layer)
        width = pruner.get_out_channels(layer)
        kept = _channel_indices(name, channels, width)
        groups.append(graph.get_pruning_group(layer, pruner.prune_out_channels,
                                              list(range(width))))
        removal.append([c for c in range(width) if c not in set(kept)])
    _apply_removal(graph, pruned, groups, removal, {m: n for n, m in pruned.named_modules()})
    return pruned


def _mask_holders(graph, groups):
    """Layers to mask: each BatchNorm of a group, and each leading layer not feeding one."""
    holders = []
    for group in groups:
        for item in group:
            module = item.dep.target.module
            if isinstance(module, _BATCH_NORMS):
                holders.append(module)
            elif isinstance(module, _LEADING_TYPES) and _is_output_item(item):
                outputs = graph.module2node[module].outputs
                if not (outputs and all(isinstance(o.module, _BATCH_NORMS) for o in outputs)):
                    holders.append(module)
    return list(dict.fromkeys(holders))


def insert_soft_masks(model: nn.Module, example_inputs: Tensor, *,
                      ignored_layers=None) -> nn.Module:
    """Copy of ``model`` with a :class:`~nets.models.SoftMask` on every prunable channel group.

    Each BatchNorm of a prunable group (see :func:`prune`), and each conv or linear layer
    leading a group that does not feed a BatchNorm, is replaced by
    :class:`~nets.models.MaskedLayer` (the layer, then a mask over its output channels,
    starting at ones: the copy computes what ``model`` computes). A mask sits before the
    activation, so with an activation that maps 0 to 0 (ReLU, ReLU6, SiLU, GELU) a channel whose
    every mask is 0 is exactly 0 wherever it is read, and :func:`prune` (default scores)
    removes it without changing the eval output.

    Parameters
    ----------
    model : nn.Module
        Not modified. Its BatchNorms must be affine (the mask folds into their scale).
    example_inputs : Tensor of shape (n_images, ...)
    ignored_layers : list of nn.Module, optional
        Layers of ``model`` whose output channels get no mask (as in :func:`prune`).

    Returns
    -------
    nn.Module

    Raises
    ------
    TypeError, ValueError
        As :func:`prune`; ValueError also if the model already has a MaskedLayer or a group
        holds a BatchNorm without affine parameters.

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
    masked, ignored = _copy_with(model, _check_ignored(model, ignored_layers))
    graph = dependency_graph(masked, example_inputs)
    holders = _mask_holders(graph, _prunable_groups(graph, ignored))
    own_names = {m: name for name, m in masked.named_modules()}
    for module in holders:
        name = own_names[module]
        if isinstance(module, _BATCH_NORMS) and not module.affine:
            raise ValueError(f"the BatchNorm {name!r} has no affine parameters to fold a mask "
                             "into; build it with affine=True")
        parent_name, _, child = name.rpartition(".")
        parent = masked.get_submodule(parent_name) if parent_name else masked
        setattr(parent, child, MaskedLayer(module))
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
    ResNets this gives the pairs of :func:`nets.mask_pairs`.

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
    TypeError, ValueError
        As :func:`dependency_graph`.
    """
    graph = dependency_graph(model, example_inputs)
    pairs = []
    for module in model.modules():
        if not isinstance(module, SoftMask) or module not in graph.module2node:
            continue
        consumers = _consumers(graph.module2node[module])
        if consumers is not None and len(consumers) == 1:
            partner = _partner_weight(consumers[0], module.weight.shape[0])
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


def _consumers(node):
    """The conv and linear layers reading ``node``'s channels unchanged, or None if unsure."""
    found, stack, seen = [], list(node.outputs), set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if isinstance(current.module, _LEADING_TYPES):
            found.append(current.module)
        elif current.type == tp.ops.OPTYPE.ELEMENTWISE:
            stack.extend(current.outputs)
        else:
            return None
    return list(dict.fromkeys(found))


@torch.no_grad()
def fold_soft_masks(model: nn.Module) -> nn.Module:
    """Copy of ``model`` with every :class:`~nets.models.MaskedLayer` folded into its layer.

    ``mask(layer(x)) = layer'(x)`` with the layer's weight and bias scaled channel-wise by the
    mask (a conv's or linear layer's output rows, a BatchNorm's ``gamma`` and ``beta``), exactly
    in training and eval mode; the copy has plain layers in place of the masked ones.

    Parameters
    ----------
    model : nn.Module
        Not modified.

    Returns
    -------
    nn.Module

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
        if not isinstance(module, MaskedLayer):
            continue
        layer, values = module.layer, module.mask.weight.detach()
        if isinstance(layer, nn.modules.conv._ConvTransposeNd):
            raise ValueError(f"cannot fold the mask of the transposed conv {name!r}")
        shape = (-1,) + (1,) * (layer.weight.ndim - 1)
        layer.weight.mul_(values.view(shape))
        if layer.bias is not None:
            layer.bias.mul_(values)
        parent_name, _, child = name.rpartition(".")
        parent = folded.get_submodule(parent_name) if parent_name else folded
        setattr(parent, child, layer)
    return folded
