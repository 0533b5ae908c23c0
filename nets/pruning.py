"""Channel pruning (SPEC 4): soft-mask training, pruning plans, physical removal, cost counting.

Pruning is done in two phases, as in Torch-Pruning's split between importance and surgery:

1. Train soft masks (:class:`~nets.models.SoftMask`, after the first conv of every residual block)
   with :class:`SoftMaskFISTA` (l1 proximal steps, masks clamped at >= 0) next to the weights'
   optimizer, optionally with :func:`distillation_loss` / :func:`adversarial_losses` from the dense
   teacher and with :class:`nets.CoGD` (``rule="revival"``) once per epoch.
2. Turn the masks (or any per-channel scores) into a :class:`PruningPlan` and call
   :func:`remove_channels`, which builds a smaller model with real smaller tensors (conv output
   channels, BN weights and running statistics, the next conv's input channels). Rebuild the
   optimizer afterwards: the pruned model has new ``Parameter`` objects.

Costs are measured on the real modules by :func:`measure_cost` with
``torch.utils.flop_counter.FlopCounterMode``: multiply-adds = counted FLOPs / 2, convolutions and
linear layers only (BN, ReLU, pooling and additions are not counted). This is the convention of the
published CIFAR figures: ResNet-56 has 125.49 M and ResNet-18 (CIFAR stem) 555.42 M multiply-adds on
a 1x3x32x32 input.

References
----------
Lin et al., "Towards optimal structured CNN pruning via generative adversarial learning" (GAL),
CVPR 2019. Liu et al., "Learning efficient convolutional networks through network slimming",
ICCV 2017, arXiv:1708.06519.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from .models import BasicBlock, SoftMask

__all__ = [
    "SoftMaskFISTA",
    "fista_mask_update",
    "PruningPlan",
    "ModelCost",
    "compute_mask",
    "masked_blocks",
    "mask_pairs",
    "plan_from_masks",
    "plan_from_scores",
    "bn_scale_scores",
    "plan_for_macs",
    "remove_channels",
    "recalibrate_bn",
    "measure_cost",
    "count_parameters",
    "distillation_loss",
    "LogitDiscriminator",
    "adversarial_losses",
]


# ---------------------------------------------------------------- mask optimizer (FISTA, l1)


def fista_mask_update(mask, grad, previous, t, *, lr, sparsity_weight):
    r"""One FISTA step on non-negative masks with an l1 penalty (pure; inputs not modified).

    ``x_new = max(y - lr * grad - lr * sparsity_weight, 0)`` (the proximal map of
    ``sparsity_weight * ||x||_1`` plus the constraint ``x >= 0``), then the extrapolation
    ``y_new = max(x_new + (t - 1) / t_new * (x_new - x_prev), 0)``,
    ``t_new = (1 + sqrt(1 + 4 t^2)) / 2``.

    Parameters
    ----------
    mask : Tensor of shape (n_channels,)
        Current (extrapolated) point ``y``; the value used in the forward pass.
    grad : Tensor of shape (n_channels,)
    previous : Tensor of shape (n_channels,)
        Previous proximal iterate ``x_prev``.
    t : float
        FISTA momentum counter (1 at start).
    lr, sparsity_weight : float

    Returns
    -------
    (Tensor, Tensor, float)
        New ``y``, new proximal iterate ``x_new`` and ``t_new``.

    Examples
    --------
    >>> y, x, t = fista_mask_update(torch.ones(2), torch.tensor([0.0, 5.0]), torch.ones(2), 1.0,
    ...                             lr=0.1, sparsity_weight=1.0)
    >>> y
    tensor([0.9000, 0.4000])
    """
    proximal = (mask - lr * grad - lr * sparsity_weight).clamp_min(0.0)
    t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    extrapolated = (proximal + ((t - 1.0) / t_new) * (proximal - previous)).clamp_min(0.0)
    return extrapolated, proximal, t_new


class SoftMaskFISTA(torch.optim.Optimizer):
    r"""FISTA with an l1 penalty for soft masks, clamped at >= 0 (SPEC 4; GAL's mask optimizer).

    Minimises ``loss(m) + sparsity_weight * ||m||_1`` subject to ``m >= 0`` by accelerated
    proximal gradient steps (Beck and Teboulle, 2009, doi:10.1137/080716542).

    Parameters
    ----------
    params : iterable of Tensor or dict
        Soft-mask parameters (use :func:`mask_pairs` or ``block.mask.weight``).
    lr : float
        Step size; the reference uses 100 x the weights' learning rate.
    sparsity_weight : float, default 0.0
        l1 weight ``lambda`` (>= 0).

    Raises
    ------
    ValueError
        If ``lr <= 0`` or ``sparsity_weight < 0``.

    Notes
    -----
    ``self.state[p]`` holds ``previous`` (the proximal iterate), ``output`` (the value written at
    the last step) and ``t``. Entries changed from outside since the last step (the CoGD revival)
    restart without momentum: their ``previous`` is reset to the new value.
    """

    def __init__(self, params, lr, *, sparsity_weight=0.0):
        if not lr > 0:
            raise ValueError(f"`lr` must be > 0, got {lr!r}")
        if not sparsity_weight >= 0:
            raise ValueError(f"`sparsity_weight` must be >= 0, got {sparsity_weight!r}")
        super().__init__(params, dict(lr=lr, sparsity_weight=sparsity_weight))

    @torch.no_grad()
    def step(self, closure=None):
        """One FISTA step on every mask with a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["previous"] = p.detach().clone()
                    state["output"] = p.detach().clone()
                    state["t"] = 1.0
                previous = torch.where(p == state["output"], state["previous"], p)
                new, proximal, t_new = fista_mask_update(
                    p, p.grad, previous, state["t"], lr=group["lr"],
                    sparsity_weight=group["sparsity_weight"],
                )
                p.copy_(new)
                state["previous"] = proximal
                state["output"] = new.clone()
                state["t"] = t_new
        return loss


# ---------------------------------------------------------------- plans


@dataclass(frozen=True)
class PruningPlan:
    """Channels to keep after the first conv of each block.

    Attributes
    ----------
    keep : dict of str to tuple of int
        Block name (as in ``model.named_modules()``) to the sorted kept channel indices.
    """

    keep: dict = field(default_factory=dict)

    @property
    def n_kept(self) -> int:
        return sum(len(channels) for channels in self.keep.values())


def masked_blocks(model: nn.Module) -> list[tuple[str, BasicBlock]]:
    """``(name, block)`` for every :class:`~nets.models.BasicBlock` of ``model``, forward order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BasicBlock)]


def mask_pairs(model: nn.Module) -> list[tuple[Tensor, Tensor]]:
    """``(block.mask.weight, block.conv2.weight)`` pairs for :class:`nets.CoGD` (revival rule).

    Raises
    ------
    ValueError
        If a block has no soft mask (build the model with ``soft_mask=True``).
    """
    pairs = []
    for name, block in masked_blocks(model):
        if block.mask is None:
            raise ValueError(f"block {name!r} has no soft mask; build the model with soft_mask=True")
        pairs.append((block.mask.weight, block.conv2.weight))
    return pairs


def compute_mask(scores: Tensor, *, ratio=None, n_channels=None) -> Tensor:
    """Keep-mask of the highest scores (pure).

    Parameters
    ----------
    scores : Tensor of shape (n,)
    ratio : float in [0, 1), optional
        Fraction of entries to remove (``floor(ratio * n)``).
    n_channels : int, optional
        Number of entries to keep (>= 1). Give exactly one of ``ratio`` and ``n_channels``.

    Returns
    -------
    bool Tensor of shape (n,)
        True for kept entries; ties are broken by the lower index.

    Raises
    ------
    ValueError
        If both or neither of ``ratio`` and ``n_channels`` are given, or one is out of range.

    Examples
    --------
    >>> compute_mask(torch.tensor([0.3, 0.1, 0.5, 0.2]), ratio=0.5)
    tensor([ True, False,  True, False])
    """
    n = scores.shape[0]
    if (ratio is None) == (n_channels is None):
        raise ValueError(f"give exactly one of `ratio` and `n_channels`, got {ratio!r} and "
                         f"{n_channels!r}")
    if ratio is not None:
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"`ratio` must be in [0, 1), got {ratio!r}")
        n_channels = n - math.floor(ratio * n)
    if not (isinstance(n_channels, int) and 1 <= n_channels <= n):
        raise ValueError(f"`n_channels` must be an int in [1, {n}], got {n_channels!r}")
    order = torch.argsort(-scores.detach(), stable=True)
    keep = torch.zeros(n, dtype=torch.bool, device=scores.device)
    keep[order[:n_channels]] = True
    return keep


def plan_from_scores(scores: dict, *, threshold=0.0) -> PruningPlan:
    """Keep every channel whose score is ``> threshold`` (at least the best one per block).

    Parameters
    ----------
    scores : dict of str to Tensor of shape (n_channels,)
        Block name to per-channel score.
    threshold : float
    """
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
    """
    return plan_from_scores({name: block.mask.weight for name, block in masked_blocks(model)
                             if block.mask is not None})


def bn_scale_scores(model: nn.Module) -> dict:
    """``|bn1.weight|`` of every block (network-slimming importance), block name to Tensor."""
    return {name: block.bn1.weight.detach().abs() for name, block in masked_blocks(model)}


def _channel_macs(model: nn.Module, input_size) -> dict:
    """Multiply-adds removed per pruned channel of each block (conv1 output + conv2 input)."""
    sizes = {}
    hooks = [block.conv1.register_forward_hook(
        lambda module, args, out, name=name: sizes.__setitem__(name, out.shape[-2] * out.shape[-1]))
        for name, block in masked_blocks(model)]
    try:
        with torch.no_grad():
            param = next(model.parameters())
            model.eval()(torch.zeros(input_size, dtype=param.dtype, device=param.device))
    finally:
        for hook in hooks:
            hook.remove()
    costs = {}
    for name, block in masked_blocks(model):
        kernel1 = block.conv1.kernel_size[0] * block.conv1.kernel_size[1]
        kernel2 = block.conv2.kernel_size[0] * block.conv2.kernel_size[1]
        per_channel = block.conv1.in_channels * kernel1 + block.conv2.out_channels * kernel2
        costs[name] = per_channel * sizes[name]
    return costs


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
    """
    was_training = model.training
    total = measure_cost(model, input_size=input_size).macs
    costs = _channel_macs(model, input_size)
    model.train(was_training)
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
    return new


def _slice_bn(bn: nn.BatchNorm2d, index: Tensor) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(len(index), eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                         track_running_stats=bn.track_running_stats,
                         device=bn.weight.device if bn.affine else None,
                         dtype=bn.weight.dtype if bn.affine else None)
    if bn.affine:
        new.weight.data.copy_(bn.weight.detach()[index])
        new.bias.data.copy_(bn.bias.detach()[index])
    if bn.track_running_stats:
        new.running_mean.copy_(bn.running_mean[index])
        new.running_var.copy_(bn.running_var[index])
        new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new


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
        The pruned model, in the training mode of ``model``. If the removed channels had mask
        exactly 0, its outputs equal the original model's (up to float rounding). Build a new
        optimizer for it: its parameters are new ``Parameter`` objects.

    Raises
    ------
    ValueError
        If the plan names a module that is not a block, keeps no channel, or an index is invalid.

    Examples
    --------
    >>> from nets.models import resnet20
    >>> model = resnet20(soft_mask=True)
    >>> plan = PruningPlan(keep={"stages.0.0": (0, 1, 2, 3)})
    >>> remove_channels(model, plan).stages[0][0].conv1.out_channels
    4
    """
    pruned = copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    for name, channels in plan.keep.items():
        block = modules.get(name)
        if not isinstance(block, BasicBlock):
            raise ValueError(f"`plan.keep` names {name!r}, which is not a BasicBlock of the model")
        width = block.conv1.out_channels
        channels = sorted(set(int(c) for c in channels))
        if not channels or channels[0] < 0 or channels[-1] >= width:
            raise ValueError(f"`plan.keep[{name!r}]` must hold channel indices in [0, {width}), "
                             f"at least one, got {tuple(channels)!r}")
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
                block.mask = mask
        block.conv2 = conv2
    return pruned


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
    """
    norms = [m for m in model.modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not norms:
        return model
    momenta = [bn.momentum for bn in norms]
    was_training = model.training
    try:
        for bn in norms:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        param = next(model.parameters())
        for start in range(0, len(images), batch_size):
            model(images[start:start + batch_size].to(param.device, param.dtype))
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    return model


# ---------------------------------------------------------------- costs


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
    """Number of parameter entries of ``model``."""
    return sum(p.numel() for p in model.parameters())


def measure_cost(model: nn.Module, *, input_size=(1, 3, 32, 32)) -> ModelCost:
    """Multiply-adds and parameters measured on the real modules.

    Runs one forward pass in eval mode under ``torch.utils.flop_counter.FlopCounterMode`` and
    reports ``total FLOPs / 2`` (the counter counts 2 FLOPs per multiply-add for convolutions and
    matrix products; BN, activations, pooling and additions are not counted). The training mode of
    ``model`` is restored.

    Parameters
    ----------
    model : nn.Module
    input_size : tuple of int, default (1, 3, 32, 32)

    Returns
    -------
    ModelCost

    Examples
    --------
    >>> from nets.models import resnet56
    >>> round(measure_cost(resnet56()).mflops, 2)
    125.49
    """
    was_training = model.training
    param = next(model.parameters())
    try:
        model.eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(input_size, dtype=param.dtype, device=param.device))
    finally:
        model.train(was_training)
    return ModelCost(macs=int(counter.get_total_flops()) // 2, parameters=count_parameters(model))


# ---------------------------------------------------------------- distillation and GAL


def distillation_loss(student_logits, teacher_logits, *, temperature=4.0, student_features=None,
                      teacher_features=None, feature_weight=1.0):
    r"""Knowledge distillation from the dense teacher: KD on logits plus feature MSE.

    ``T^2 KL(softmax(t / T) || softmax(s / T)) + feature_weight * mse(f_s, f_t)`` (the feature
    term only when both feature tensors are given).

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (n_images, n_classes)
    temperature : float, default 4.0
    student_features, teacher_features : Tensor of shape (n_images, n_features), optional
    feature_weight : float, default 1.0

    Returns
    -------
    Tensor (scalar)
    """
    teacher_logits = teacher_logits.detach()
    log_student = nn.functional.log_softmax(student_logits / temperature, dim=1)
    log_teacher = nn.functional.log_softmax(teacher_logits / temperature, dim=1)
    loss = nn.functional.kl_div(log_student, log_teacher, log_target=True,
                                reduction="batchmean") * temperature**2
    if student_features is not None and teacher_features is not None:
        loss = loss + feature_weight * nn.functional.mse_loss(student_features,
                                                              teacher_features.detach())
    return loss


class LogitDiscriminator(nn.Module):
    """Small MLP telling teacher logits (label 1) from student logits (label 0), as in GAL.

    Parameters
    ----------
    n_classes : int
    hidden : int, default 64
    """

    def __init__(self, n_classes: int, *, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_classes, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, logits: Tensor) -> Tensor:
        """Real-vs-fake logit of shape (n_images,) for logits of shape (n_images, n_classes)."""
        return self.net(logits).squeeze(1)


def adversarial_losses(discriminator, student_logits, teacher_logits):
    """GAL's two losses: the student's (generator) loss and the discriminator's loss.

    Parameters
    ----------
    discriminator : LogitDiscriminator
    student_logits, teacher_logits : Tensor of shape (n_images, n_classes)

    Returns
    -------
    (Tensor, Tensor)
        ``generator_loss`` (backpropagate into the student only) and ``discriminator_loss``
        (computed on detached logits; backpropagate into the discriminator only).
    """
    bce = nn.functional.binary_cross_entropy_with_logits
    fake = discriminator(student_logits)
    generator_loss = bce(fake, torch.ones_like(fake))
    real = discriminator(teacher_logits.detach())
    fake_detached = discriminator(student_logits.detach())
    discriminator_loss = (bce(real, torch.ones_like(real))
                          + bce(fake_detached, torch.zeros_like(fake_detached)))
    return generator_loss, discriminator_loss
