"""Torch-Pruning's handler of :class:`~nets.models.SoftMask` (the one module of ``nets`` that
imports ``torch_pruning`` at import time: an ImportError without it names the ``nets`` extra)."""

from __future__ import annotations

from torch import nn

from ..models import SoftMask

try:
    import torch_pruning as tp
except ImportError as error:  # pragma: no cover - the nets extra installs it
    raise ImportError("the pruning of nets (nets.prune, apply_plan, insert_soft_masks, "
                      "soft_mask_pairs) needs torch-pruning 1.6 (pip install "
                      "'torch-pruning>=1.6,<1.7', or the `nets` extra of cogd)") from error

__all__ = ["SoftMaskPruner"]


class SoftMaskPruner(tp.pruner.function.BasePruningFunc):
    """Torch-Pruning handler of :class:`~nets.models.SoftMask`: slices its ``weight``.

    A mask's input and output channels are the same channels (as a BatchNorm's), so pruning
    either prunes both. The new ``weight`` keeps ``requires_grad``. Pass it as
    ``customized_pruners={SoftMask: SoftMaskPruner()}`` to Torch-Pruning's own pruners.
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
