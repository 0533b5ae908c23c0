"""The channel-mask layers of pruning: :class:`SoftMask` and :class:`MaskedLayer`.

A :class:`SoftMask` scales each channel by a trainable non-negative value; a channel whose value
is exactly 0 can be removed without changing the output. The CIFAR ResNets
(:mod:`nets.models.resnet`, ``soft_mask=True``) put one after the first conv of every residual
block (SPEC 4); :func:`nets.insert_soft_masks` puts one on every prunable channel group of any
model: behind the group's activation (the ``input_mask`` of the layer reading it) where it can,
else on the output of the group's BatchNorm or leading layer, wrapped in a :class:`MaskedLayer`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from csc.validation import check_int

__all__ = ["MaskedLayer", "SoftMask"]


class SoftMask(nn.Module):
    r"""Channel-wise soft mask ``y[:, c] = weight[c] * x[:, c]`` (the pruning variable of SPEC 4).

    Parameters
    ----------
    n_channels : int
        Number of channels; the mask starts at ones (uniform).

    Attributes
    ----------
    weight : Parameter of shape (n_channels,)
        Non-negative mask values; channels whose value is exactly 0 can be removed.

    Raises
    ------
    ValueError
        If ``n_channels`` is not an integer >= 1.

    Examples
    --------
    >>> import torch
    >>> mask = SoftMask(2)
    >>> with torch.no_grad():
    ...     _ = mask.weight.copy_(torch.tensor([0.0, 0.5]))
    >>> mask(torch.ones(1, 2, 1, 1)).detach().flatten()
    tensor([0.0000, 0.5000])
    """

    def __init__(self, n_channels: int):
        super().__init__()
        check_int("n_channels", n_channels, 1)
        self.weight = nn.Parameter(torch.ones(n_channels))

    def forward(self, x: Tensor) -> Tensor:
        """Scale ``x`` of shape (n_images, n_channels, ...) channel-wise."""
        return x * self.weight.view((1, -1) + (1,) * (x.ndim - 2))


class MaskedLayer(nn.Module):
    r"""A layer followed by a :class:`SoftMask` over its output channels: ``mask(layer(x))``.

    :func:`nets.insert_soft_masks` wraps the layers that lead channel groups (a BatchNorm,
    or a convolution or linear layer not followed by one) in it where it cannot put the mask
    behind their activation, and
    :func:`nets.fold_soft_masks` multiplies the mask back into the layer's weight
    and bias, so a masked layer is exactly a rescaled one.

    Parameters
    ----------
    layer : nn.Conv2d, nn.Linear or affine nn.BatchNorm2d / nn.BatchNorm1d
        Its output channels (``out_channels``, ``out_features`` or ``num_features``) are masked.

    Attributes
    ----------
    layer : nn.Module
    mask : SoftMask
        Starts at ones, on the layer's device and dtype.

    Examples
    --------
    >>> import torch
    >>> masked = MaskedLayer(torch.nn.Linear(3, 2))
    >>> masked.mask.weight.shape
    torch.Size([2])
    """

    def __init__(self, layer: nn.Module):
        super().__init__()
        width = getattr(layer, "out_channels", None) or getattr(layer, "out_features", None) \
            or getattr(layer, "num_features", None)
        weight = getattr(layer, "weight", None)
        if width is None or not isinstance(weight, Tensor):
            raise TypeError(f"`layer` must be a convolution, linear or affine BatchNorm layer, "
                            f"got {layer!r}")
        self.layer = layer
        self.mask = SoftMask(width).to(device=weight.device, dtype=weight.dtype)
        self.train(layer.training)

    def forward(self, x: Tensor) -> Tensor:
        """``mask(layer(x))``."""
        return self.mask(self.layer(x))
