"""MobileNetV2 (Sandler et al., 2018) for 32x32 inputs: :class:`MobileNetV2` of
:class:`InvertedResidual` blocks (depthwise convolutions, linear bottlenecks), and
:func:`conv_bn_act`, the conv-BatchNorm-ReLU6 unit they are made of.
"""

from __future__ import annotations

from torch import Tensor, nn

from csc.validation import check_int

__all__ = ["InvertedResidual", "MobileNetV2", "conv_bn_act"]


def conv_bn_act(in_channels, out_channels, kernel_size, stride=1, *, groups=1, activation=True):
    """``Conv2d`` (no bias, "same" padding) -> ``BatchNorm2d`` -> ``ReLU6`` (if ``activation``).

    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, groups : int
    activation : bool, default True

    Returns
    -------
    nn.Sequential
    """
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                        groups=groups, bias=False), nn.BatchNorm2d(out_channels)]
    if activation:
        layers.append(nn.ReLU6(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    r"""MobileNetV2 block: 1x1 expansion (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear projection.

    Each conv is followed by a BatchNorm; the input is added to the output when ``stride`` is 1
    and the channel counts agree.

    Parameters
    ----------
    in_channels, out_channels : int
    stride : {1, 2}
        Stride of the depthwise conv.
    expand_ratio : int
        Hidden channels = ``expand_ratio * in_channels`` (no expansion conv when 1).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        layers = [] if expand_ratio == 1 else [conv_bn_act(in_channels, hidden, 1)]
        layers += [conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                   conv_bn_act(hidden, out_channels, 1, activation=False)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Map (n, in_channels, h, w) to (n, out_channels, h / stride, w / stride)."""
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    r"""MobileNetV2 (Sandler et al., 2018) for 32x32 inputs, with a width multiplier.

    torchvision's layout with the CIFAR adaptation (stride-1 stem, the second stage not strided,
    so a 32x32 input ends at 4x4): a 3x3 stem conv, inverted residual stages with expansion 6
    (``SETTINGS``: expansion t, channels c, blocks n, first stride s), a 1x1 conv to
    ``last_channels``, global average pooling, dropout and a linear classifier. Channel counts
    are ``width_mult`` times torchvision's, rounded to multiples of 8 as torchvision rounds them, so
    for ``width_mult <= 1`` the parameters are those of
    ``torchvision.models.mobilenet_v2(width_mult=...)`` (strides do not change them).

    Parameters
    ----------
    num_classes : int, default 10
    width_mult : float, default 1.0
    last_channels : int, default 1280
        Channels of the final 1x1 conv (not scaled by ``width_mult``).
    dropout : float, default 0.2

    Examples
    --------
    >>> import torch
    >>> MobileNetV2(width_mult=0.35)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1))

    def __init__(self, num_classes: int = 10, *, width_mult: float = 1.0,
                 last_channels: int = 1280, dropout: float = 0.2):
        super().__init__()
        check_int("num_classes", num_classes, 1)
        check_int("last_channels", last_channels, 1)
        if isinstance(width_mult, bool) or not (isinstance(width_mult, int | float)
                                                and 0 < width_mult <= 4):
            raise ValueError(f"`width_mult` must be a number in (0, 4], got {width_mult!r}")

        def scaled(channels):  # torchvision's rounding to a multiple of 8 (at most 10 % down)
            value = channels * width_mult
            rounded = max(8, int(value + 4) // 8 * 8)
            return rounded + 8 if rounded < 0.9 * value else rounded

        in_channels = scaled(32)
        layers = [conv_bn_act(3, in_channels, 3)]
        for t, c, n, s in self.SETTINGS:
            for position in range(n):
                layers.append(InvertedResidual(in_channels, scaled(c),
                                               s if position == 0 else 1, t))
                in_channels = scaled(c)
        layers.append(conv_bn_act(in_channels, last_channels, 1))
        self.layers = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(last_channels, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")

    def features(self, x: Tensor) -> Tensor:
        """Pooled features of shape (n_images, last_channels) for (n_images, 3, h, w)."""
        return self.layers(x).mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (n_images, num_classes) for ``x`` of shape (n_images, 3, h, w)."""
        return self.fc(self.dropout(self.features(x)))
