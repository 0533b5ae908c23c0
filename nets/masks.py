"""Soft channel masks: the mask optimizer and keep-masks from scores.

Phase 1 of channel pruning (phase 2, the removal, is :func:`nets.prune`). A
:class:`~nets.models.SoftMask` (after the first conv of each CIFAR residual block, or on every
prunable group by :func:`nets.insert_soft_masks`) scales its channels; :class:`SoftMaskFISTA`
trains the masks with an l1 penalty and the constraint ``m >= 0``, so unneeded channels reach
exactly 0 (GAL's mask optimizer), next to :class:`nets.CoGD` (``rule="revival"``, on the pairs
of :func:`nets.soft_mask_pairs`). :func:`compute_mask` turns any per-channel scores into a
keep-mask.

References
----------
Beck, A., Teboulle, M. "A fast iterative shrinkage-thresholding algorithm for linear inverse
problems", SIAM J. Imaging Sci. 2 (2009) 183-202, doi:10.1137/080716542. Lin et al., "Towards
optimal structured CNN pruning via generative adversarial learning" (GAL), CVPR 2019.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from csc.validation import check_in_range, check_int, check_nonnegative, check_positive

from .optim import ProximalOptimizer
from .prox import prox_l1

__all__ = ["SoftMaskFISTA", "compute_mask", "fista_mask_update"]


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
    >>> import torch
    >>> y, x, t = fista_mask_update(torch.ones(2), torch.tensor([0.0, 5.0]), torch.ones(2), 1.0,
    ...                             lr=0.1, sparsity_weight=1.0)
    >>> y
    tensor([0.9000, 0.4000])
    """
    proximal = prox_l1(mask - lr * grad, lr * sparsity_weight, non_negative=True)
    t_new = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t))
    extrapolated = (proximal + ((t - 1.0) / t_new) * (proximal - previous)).clamp_min(0.0)
    return extrapolated, proximal, t_new


class SoftMaskFISTA(ProximalOptimizer):
    r"""FISTA with an l1 penalty for soft masks, clamped at >= 0 (SPEC 4; GAL's mask optimizer).

    Minimises ``loss(m) + sparsity_weight * ||m||_1`` subject to ``m >= 0`` by accelerated
    proximal gradient steps (Beck and Teboulle, 2009, doi:10.1137/080716542).

    Parameters
    ----------
    params : iterable of Tensor or dict
        Soft-mask parameters (the ``weight`` of every :class:`~nets.models.SoftMask`).
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

    Examples
    --------
    >>> import torch
    >>> mask = torch.nn.Parameter(torch.ones(3))
    >>> optimizer = SoftMaskFISTA([mask], lr=0.5, sparsity_weight=1.0)
    >>> mask.grad = torch.tensor([0.0, 1.0, 2.0])
    >>> _ = optimizer.step()
    >>> mask.detach()
    tensor([0.5000, 0.0000, 0.0000])
    """

    def __init__(self, params, *, lr, sparsity_weight=0.0):
        check_positive("lr", lr)
        check_nonnegative("sparsity_weight", sparsity_weight)
        super().__init__(params, dict(lr=lr, sparsity_weight=sparsity_weight))

    def _update(self, param, group):
        """One FISTA step (:func:`fista_mask_update`); state created on first use."""
        state = self.state[param]
        if not state:
            state["previous"] = param.detach().clone()
            state["output"] = param.detach().clone()
            state["t"] = 1.0
        previous = torch.where(param == state["output"], state["previous"], param)
        new, proximal, t_new = fista_mask_update(
            param, param.grad, previous, state["t"], lr=group["lr"],
            sparsity_weight=group["sparsity_weight"],
        )
        param.copy_(new)
        state["previous"] = proximal
        state["output"] = new.clone()
        state["t"] = t_new


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
        If both or neither of ``ratio`` and ``n_channels`` are given, or one is out of range,
        or ``scores`` is not a finite real 1-D tensor.

    Examples
    --------
    >>> import torch
    >>> compute_mask(torch.tensor([0.3, 0.1, 0.5, 0.2]), ratio=0.5)
    tensor([ True, False,  True, False])
    """
    if not isinstance(scores, Tensor) or scores.ndim != 1 or scores.dtype.is_complex \
            or scores.dtype == torch.bool or not bool(torch.isfinite(scores).all()):
        raise ValueError(f"`scores` must be a finite real 1-D tensor, got {scores!r}")
    n = scores.shape[0]
    if (ratio is None) == (n_channels is None):
        raise ValueError(f"give exactly one of `ratio` and `n_channels`, got {ratio!r} and "
                         f"{n_channels!r}")
    if ratio is not None:
        check_in_range("ratio", ratio, 0, 1, closed=(True, False))
        n_channels = n - math.floor(ratio * n)
    check_int("n_channels", n_channels, 1, n)
    order = torch.argsort(-scores.detach(), stable=True)
    keep = torch.zeros(n, dtype=torch.bool, device=scores.device)
    keep[order[:n_channels]] = True
    return keep
