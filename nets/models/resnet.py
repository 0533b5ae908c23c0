"""CIFAR ResNets (He et al., 2016): :class:`CifarResNet` of :class:`BasicBlock`, and
:func:`resnet20`, :func:`resnet56`, :func:`resnet110`, :func:`resnet18`.

With ``soft_mask=True`` every block carries a :class:`~nets.models.layers.SoftMask` after its
first conv (SPEC 4, the CIFAR pruning protocol): :class:`nets.SoftMaskFISTA` trains the masks,
:func:`nets.soft_mask_pairs` pairs each with the block's second conv for :class:`nets.CoGD`,
:func:`nets.prune` removes the zero-mask channels (``conv1``'s outputs, ``bn1``'s entries,
``conv2``'s inputs) and :func:`nets.fold_soft_masks` multiplies the kept mask values into
``conv2``. Multiply-adds as measured by :func:`nets.measure_cost` on a 1x3x32x32 input:
ResNet-20 40.55 M, ResNet-56 125.49 M, ResNet-18 (CIFAR stem) 555.42 M.
"""

from __future__ import annotations

from torch import Tensor, nn

from csc.validation import check_choice, check_int

from .layers import SoftMask

__all__ = ["BasicBlock", "CifarResNet", "resnet18", "resnet20", "resnet56", "resnet110"]


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
