"""BatchNorm running statistics re-estimated on training images: :func:`recalibrate_bn`.

Masks or pruned channels that moved during training, and sparse training (iRDA), leave the
running statistics of the BatchNorms out of date; one no-grad pass in training mode recomputes
them before an evaluation.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from csc.validation import check_int

from ._checks import check_module
from .cost import model_call

__all__ = ["recalibrate_bn"]


@torch.no_grad()
def recalibrate_bn(model: nn.Module, images: Tensor, *, batch_size: int = 256) -> nn.Module:
    """Recompute every BatchNorm's running statistics with one no-grad pass over ``images``.

    Soft masks (or pruned channels) that moved during training leave the running mean and variance
    of the BNs downstream of them out of date, so an eval-mode evaluation of the masked or pruned
    model is pessimistic. This resets the running statistics, runs ``images`` through the model in
    training mode without gradients with ``momentum=None`` (cumulative average over the batches),
    then restores each BN's momentum and every module's training mode. No parameter is changed.

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
    try:
        with model_call(model, f"`images` of shape {tuple(images.shape)}"):
            for bn in norms:
                bn.reset_running_stats()
                bn.momentum = None
            model.train()
            for start in range(0, len(images), batch_size):
                model(images[start:start + batch_size].to(reference.device, dtype))
    except ValueError:
        for bn, (mean, var, count) in zip(norms, saved, strict=True):  # leave the model as it was
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)
            bn.num_batches_tracked.copy_(count)
        raise
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum
    return model
