"""Network architectures used by the ``nets`` examples, tests and benchmarks.

:class:`SmallCNN` (8x8 digits, ReLU or binarized activations) for sparse training, and the CIFAR
ResNets (:func:`resnet20`, :func:`resnet56`, :func:`resnet110`, :func:`resnet18`) built from
:class:`BasicBlock`, optionally with a :class:`SoftMask` after each block's first conv for
channel pruning, and :class:`MobileNetV2` for 32x32 inputs (depthwise convolutions, inverted
residuals: a structure only the dependency-graph pruning of :func:`nets.prune` handles).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from csc.validation import check_choice, check_int

from .binarized import BinarizedReLU

__all__ = [
    "BasicBlock",
    "CifarResNet",
    "InvertedResidual",
    "MaskedLayer",
    "MobileNetV2",
    "SmallCNN",
    "SoftMask",
    "resnet18",
    "resnet20",
    "resnet56",
    "resnet110",
]


# --- small CNNs ---

_ACTIVATIONS = ("relu", "binarized", "binarized_clipped")


def _make_activation(activation: str) -> nn.Module:
    if activation == "relu":
        return nn.ReLU()
    if activation == "binarized":
        return BinarizedReLU("relu")
    return BinarizedReLU("clipped_relu")


class SmallCNN(nn.Module):
    r"""Two conv layers and two linear layers for 8x8 single-channel images (sklearn digits).

    ``conv3x3(1->w) - act - conv3x3(w->2w) - act - maxpool2 - linear(2w*16->hidden) - act -
    linear(hidden->num_classes)``.

    Parameters
    ----------
    num_classes : int, default 10
    activation : {"relu", "binarized", "binarized_clipped"}, default "relu"
        Hidden activation: ReLU, or :class:`~nets.binarized.BinarizedReLU` with the ReLU
        or clipped-ReLU straight-through gradient.
    width : int, default 16
        Channels of the first conv (the second has ``2 * width``).
    hidden : int, default 64
        Units of the hidden linear layer.
    batch_norm : bool, default False
        Insert ``BatchNorm2d`` after each conv and ``BatchNorm1d`` after the hidden linear
        layer (before the activation).

    Raises
    ------
    ValueError
        If ``activation`` is unknown or a size is not a positive int.

    Examples
    --------
    >>> import torch
    >>> SmallCNN()(torch.zeros(2, 1, 8, 8)).shape
    torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, *, activation: str = "relu", width: int = 16,
                 hidden: int = 64, batch_norm: bool = False):
        super().__init__()
        check_choice("activation", activation, _ACTIVATIONS)
        for name, value in (("num_classes", num_classes), ("width", width),
                            ("hidden", hidden)):
            check_int(name, value, 1)

        def norm(kind, n):
            return kind(n) if batch_norm else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), norm(nn.BatchNorm2d, width),
            _make_activation(activation),
            nn.Conv2d(width, 2 * width, 3, padding=1), norm(nn.BatchNorm2d, 2 * width),
            _make_activation(activation),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 16, hidden), norm(nn.BatchNorm1d, hidden),
            _make_activation(activation), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (n_images, num_classes) for ``x`` of shape (n_images, 1, 8, 8)."""
        return self.classifier(self.features(x))


# --- CIFAR ResNets ---


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

    :func:`nets.graph_pruning.insert_soft_masks` wraps the layers that lead channel groups
    (a BatchNorm, or a convolution or linear layer not followed by one) in it, and
    :func:`nets.graph_pruning.fold_soft_masks` multiplies the mask back into the layer's weight
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


class _ShortcutA(nn.Module):
    """Parameter-free shortcut: spatial subsampling plus zero channels (He et al., option A)."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.stride = stride
        extra = planes - in_planes
        self.pad = (extra // 2, extra - extra // 2)

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return nn.functional.pad(x, (0, 0, 0, 0, self.pad[0], self.pad[1]))


class BasicBlock(nn.Module):
    r"""CIFAR residual block ``relu(bn2(conv2(m * relu(bn1(conv1 x)))) + shortcut(x))``.

    Parameters
    ----------
    in_planes : int
        Input channels.
    mid_planes : int
        Output channels of ``conv1`` (the prunable width; equal to ``planes`` unless pruned).
    planes : int
        Output channels of the block.
    stride : int
        Stride of ``conv1`` (and of the shortcut).
    shortcut : {"A", "B"}
        Shortcut used when the shape changes: ``"A"`` subsamples and pads zero channels (no
        parameters, no multiply-adds), ``"B"`` is a strided 1x1 conv followed by BN.
    soft_mask : bool
        Insert a :class:`SoftMask` after the first conv's ReLU; a mask value of exactly 0
        makes the channel removable without changing the output.

    Notes
    -----
    The mask sits after ``relu(bn1(.))`` so that a zero mask entry silences the channel entirely
    (BN's shift would otherwise leak through); removing the channel then deletes ``conv1``'s output
    channel, ``bn1``'s entry and ``conv2``'s input channel.
    """

    def __init__(self, in_planes: int, mid_planes: int, planes: int, stride: int = 1, *,
                 shortcut: str = "A", soft_mask: bool = False):
        super().__init__()
        check_choice("shortcut", shortcut, ("A", "B"))
        self.conv1 = nn.Conv2d(in_planes, mid_planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_planes)
        self.mask = SoftMask(mid_planes) if soft_mask else None
        self.conv2 = nn.Conv2d(mid_planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride == 1 and in_planes == planes:
            self.shortcut = nn.Identity()
        elif shortcut == "A":
            self.shortcut = _ShortcutA(in_planes, planes, stride)
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: Tensor) -> Tensor:
        """Map (n, in_planes, h, w) to (n, planes, h / stride, w / stride)."""
        out = nn.functional.relu(self.bn1(self.conv1(x)))
        if self.mask is not None:
            out = self.mask(out)
        out = self.bn2(self.conv2(out))
        return nn.functional.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    r"""ResNet for 32x32 inputs: 3x3 stem, stages of :class:`BasicBlock`, global pooling, linear.

    Parameters
    ----------
    n_blocks : sequence of int
        Blocks per stage.
    widths : sequence of int
        Channels per stage (same length as ``n_blocks``); every stage but the first halves the
        resolution.
    num_classes : int, default 10
    shortcut : {"A", "B"}, default "A"
    soft_mask : bool, default False
        Put a :class:`SoftMask` after the first conv of each block.

    Attributes
    ----------
    blocks : list of BasicBlock
        The residual blocks in forward order (also reachable through ``stages``).

    Examples
    --------
    >>> import torch
    >>> resnet20()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, n_blocks, widths, *, num_classes: int = 10, shortcut: str = "A",
                 soft_mask: bool = False):
        super().__init__()
        n_blocks, widths = list(n_blocks), list(widths)
        if len(n_blocks) != len(widths) or not n_blocks:
            raise ValueError(
                f"`n_blocks` and `widths` must be non-empty and of equal length, got {n_blocks!r}"
                f" and {widths!r}"
            )
        check_int("num_classes", num_classes, 1)
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        stages, in_planes = [], widths[0]
        for index, (count, planes) in enumerate(zip(n_blocks, widths, strict=True)):
            layers = []
            for position in range(count):
                stride = 2 if (index > 0 and position == 0) else 1
                layers.append(BasicBlock(in_planes, planes, planes, stride, shortcut=shortcut,
                                         soft_mask=soft_mask))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(in_planes, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    @property
    def blocks(self) -> list:
        """The residual blocks in forward order."""
        return [block for stage in self.stages for block in stage]

    def features(self, x: Tensor) -> Tensor:
        """Globally pooled features of shape (n_images, widths[-1]) for (n_images, 3, h, w)."""
        out = nn.functional.relu(self.bn1(self.conv1(x)))
        out = self.stages(out)
        return out.mean(dim=(2, 3))

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (n_images, num_classes) for ``x`` of shape (n_images, 3, h, w)."""
        return self.fc(self.features(x))


def resnet20(num_classes: int = 10, *, soft_mask: bool = False) -> CifarResNet:
    """ResNet-20 for CIFAR (16-32-64, 3 blocks per stage, option-A shortcuts; 40.55 M MACs)."""
    return CifarResNet([3, 3, 3], [16, 32, 64], num_classes=num_classes, shortcut="A",
                       soft_mask=soft_mask)


def resnet56(num_classes: int = 10, *, soft_mask: bool = False) -> CifarResNet:
    """ResNet-56 for CIFAR (16-32-64, 9 blocks per stage, option-A shortcuts; 125.49 M MACs)."""
    return CifarResNet([9, 9, 9], [16, 32, 64], num_classes=num_classes, shortcut="A",
                       soft_mask=soft_mask)


def resnet110(num_classes: int = 10, *, soft_mask: bool = False) -> CifarResNet:
    """ResNet-110 for CIFAR (16-32-64, 18 blocks per stage, option-A shortcuts)."""
    return CifarResNet([18, 18, 18], [16, 32, 64], num_classes=num_classes, shortcut="A",
                       soft_mask=soft_mask)


def resnet18(num_classes: int = 10, *, soft_mask: bool = False) -> CifarResNet:
    """ResNet-18 with the CIFAR stem (3x3 conv, no max-pool), 64-128-256-512, option-B shortcuts.

    555.42 M multiply-adds on a 1x3x32x32 input (conv + linear, 1x1 shortcut convs included).
    """
    return CifarResNet([2, 2, 2, 2], [64, 128, 256, 512], num_classes=num_classes, shortcut="B",
                       soft_mask=soft_mask)


# --- MobileNetV2 for 32x32 inputs ---


def _conv_bn_act(in_channels, out_channels, kernel_size, stride=1, *, groups=1, activation=True):
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
        layers = [] if expand_ratio == 1 else [_conv_bn_act(in_channels, hidden, 1)]
        layers += [_conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                   _conv_bn_act(hidden, out_channels, 1, activation=False)]
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
        layers = [_conv_bn_act(3, in_channels, 3)]
        for t, c, n, s in self.SETTINGS:
            for position in range(n):
                layers.append(InvertedResidual(in_channels, scaled(c),
                                               s if position == 0 else 1, t))
                in_channels = scaled(c)
        layers.append(_conv_bn_act(in_channels, last_channels, 1))
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
