"""Network architectures used by the ``nets`` examples, tests and benchmarks.

=============================  ================================================================
``nets.models.layers``         :class:`SoftMask`, :class:`MaskedLayer` (the pruning masks)
``nets.models.small``          :class:`SmallCNN` (8x8 digits, ReLU or binarized activations)
``nets.models.resnet``         the CIFAR ResNets (:func:`resnet20`, :func:`resnet56`,
                               :func:`resnet110`, :func:`resnet18`) of :class:`BasicBlock`,
                               optionally with a :class:`SoftMask` in every block (SPEC 4)
``nets.models.mobilenet``      :class:`MobileNetV2` for 32x32 inputs (depthwise convolutions,
                               :class:`InvertedResidual` blocks)
``nets.models.zoo``            compact torchvision-style models for :func:`nets.prune`
                               (bottleneck ResNet, MobileNetV2, VGG-BN, DenseNet)
=============================  ================================================================
"""

from .layers import MaskedLayer, SoftMask
from .mobilenet import InvertedResidual, MobileNetV2
from .resnet import BasicBlock, CifarResNet, resnet18, resnet20, resnet56, resnet110
from .small import SmallCNN

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
