"""Compact versions of the structures users bring to :func:`nets.prune` (torchvision-free).

Each follows its torchvision namesake's structure with a few narrow blocks, so that a
1x3x224x224 forward pass takes milliseconds: :class:`BottleneckResNet` (ResNet-50's
:class:`Bottleneck` blocks, projection shortcuts, residual additions), :class:`MobileNetV2Style`
(inverted residuals, depthwise convolutions, ReLU6, linear bottlenecks), :class:`VGGStyle`
(conv-BN-ReLU stages, flatten into a two-layer linear head) and :class:`DenseNetStyle`
(concatenating :class:`DenseLayer` s, a transition, the final ``norm5``). ``MODELS`` maps a
short name to each class; :func:`randomise_batch_norms` gives their BatchNorms non-trivial
parameters and statistics (so that a wrong slice shows). The tests of :mod:`nets.pruning` and
``benchmarks/prune_latency.py`` use them.

Examples
--------
>>> import torch
>>> model = randomise_batch_norms(MODELS["vgg_bn"](), random_state=0)
>>> model.eval()(torch.zeros(1, 3, 64, 64)).shape
torch.Size([1, 10])
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import as_generator
from .mobilenet import InvertedResidual, conv_bn_act

__all__ = [
    "MODELS",
    "Bottleneck",
    "BottleneckResNet",
    "DenseLayer",
    "DenseNetStyle",
    "MobileNetV2Style",
    "VGGStyle",
    "randomise_batch_norms",
]


class Bottleneck(nn.Module):
    """ResNet-50 block: 1x1 reduce, 3x3 (strided), 1x1 expand, plus the shortcut, then ReLU.

    Parameters
    ----------
    in_channels, width : int
        Input channels and inner width; the block outputs ``4 * width`` channels.
    stride : int, default 1
        Stride of the 3x3 conv and of the projection shortcut (a 1x1 conv and BatchNorm, present
        when the stride or the channel count changes).
    """

    expansion = 4

    def __init__(self, in_channels, width, stride=1):
        super().__init__()
        out_channels = width * self.expansion
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


class BottleneckResNet(nn.Module):
    """ResNet-50 layout (7x7 stem, max-pool, bottleneck stages, pooled linear head), narrow.

    Parameters
    ----------
    widths, blocks : sequence of int, default (8, 16, 32) and (2, 2, 2)
        Inner width and number of :class:`Bottleneck` blocks of each stage.
    num_classes : int, default 10
    """

    def __init__(self, widths=(8, 16, 32), blocks=(2, 2, 2), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, in_channels = [], 16
        for index, (width, count) in enumerate(zip(widths, blocks, strict=True)):
            layers = []
            for position in range(count):
                stride = 2 if index > 0 and position == 0 else 1
                layers.append(Bottleneck(in_channels, width, stride))
                in_channels = width * Bottleneck.expansion
            stages.append(nn.Sequential(*layers))
        self.layers = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.avgpool(self.layers(x)), 1))


class MobileNetV2Style(nn.Module):
    """MobileNetV2 layout (strided stem, inverted residuals, 1x1 head conv, dropout, linear).

    The blocks are :class:`~nets.models.mobilenet.InvertedResidual`; the narrow ImageNet-shaped
    layout is this module's (:class:`nets.MobileNetV2` is the 32x32 one).

    Parameters
    ----------
    num_classes : int, default 10
    last_channels : int, default 64
        Channels of the final 1x1 conv.
    """

    # expand ratio t, output channels c, repeats n, first stride s (torchvision's table, narrow)
    SETTINGS = ((1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2), (6, 24, 2, 2))

    def __init__(self, num_classes=10, last_channels=64):
        super().__init__()
        layers, in_channels = [conv_bn_act(3, 8, 3, 2)], 8
        for t, c, n, s in self.SETTINGS:
            for position in range(n):
                layers.append(InvertedResidual(in_channels, c, s if position == 0 else 1, t))
                in_channels = c
        layers.append(conv_bn_act(in_channels, last_channels, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last_channels, num_classes))

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class VGGStyle(nn.Module):
    """VGG-BN layout: conv-BN-ReLU stages with max-pools, flatten, two hidden linear layers.

    Parameters
    ----------
    num_classes : int, default 10
    hidden : int, default 64
        Units of each hidden linear layer.
    """

    CONFIG = (8, "M", 16, "M", 16, 16, "M", 32, 32, "M", 32, "M")

    def __init__(self, num_classes=10, hidden=64):
        super().__init__()
        layers, in_channels = [], 3
        for item in self.CONFIG:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(in_channels, item, 3, padding=1), nn.BatchNorm2d(item),
                           nn.ReLU(inplace=True)]
                in_channels = item
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(
            nn.Linear(in_channels * 4, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class DenseLayer(nn.Module):
    """DenseNet-BC layer: BN-ReLU-1x1 conv (4 x growth), BN-ReLU-3x3 conv (growth), concatenated.

    Parameters
    ----------
    in_channels, growth : int
        The layer outputs ``in_channels + growth`` channels (its input, then its new features).
    """

    def __init__(self, in_channels, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(nn.functional.relu(self.norm1(x)))
        out = self.conv2(nn.functional.relu(self.norm2(out)))
        return torch.cat([x, out], dim=1)


class DenseNetStyle(nn.Module):
    """DenseNet layout: stem, dense block, transition, dense block, ``norm5``, pooled linear.

    Parameters
    ----------
    num_classes : int, default 10
    growth : int, default 8
    layers : sequence of int, default (3, 3)
        :class:`DenseLayer` s per dense block; a transition (BN, ReLU, 1x1 conv halving the
        channels, 2x2 average pooling) follows every block but the last.
    """

    def __init__(self, num_classes=10, growth=8, layers=(3, 3)):
        super().__init__()
        channels = 16
        modules = [nn.Conv2d(3, channels, 7, 2, 3, bias=False), nn.BatchNorm2d(channels),
                   nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
        for index, count in enumerate(layers):
            for _ in range(count):
                modules.append(DenseLayer(channels, growth))
                channels += growth
            if index < len(layers) - 1:
                modules += [nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                            nn.Conv2d(channels, channels // 2, 1, bias=False), nn.AvgPool2d(2)]
                channels //= 2
        modules.append(nn.BatchNorm2d(channels))  # torchvision's norm5
        self.features = nn.Sequential(*modules)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = nn.functional.adaptive_avg_pool2d(nn.functional.relu(self.features(x)), 1)
        return self.classifier(torch.flatten(x, 1))


def randomise_batch_norms(model, random_state=None):
    """Random BatchNorm affine parameters and running statistics, in place.

    ``weight ~ U(0.5, 1.5)``, ``bias ~ 0.1 N(0, 1)``, ``running_mean ~ 0.1 N(0, 1)``,
    ``running_var ~ U(0.5, 1.5)``, drawn in that order for every ``BatchNorm1d`` / ``BatchNorm2d``
    in ``model.modules()`` order.

    Parameters
    ----------
    model : nn.Module
    random_state : None, int or torch.Generator

    Returns
    -------
    nn.Module
        ``model``.
    """
    generator = as_generator(random_state)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
                n = module.num_features
                module.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
    return model


MODELS = {"bottleneck_resnet": BottleneckResNet, "mobilenet_v2": MobileNetV2Style,
          "vgg_bn": VGGStyle, "densenet": DenseNetStyle}
