"""The cost model of channel removal: multiply-adds as a function of the channels removed.

:func:`recording_output_sizes` records, during the forward pass of :func:`nets.measure_cost`,
how many output entries each conv and linear layer computes per output channel;
:class:`ChannelCostModel` then predicts the multiply-adds after removing any channels of the
prunable groups without running the model again (the greedy selection of
:mod:`nets.pruning.selection` asks it once per channel). For conv and linear layers it is exact:
:func:`nets.prune` measures the pruned model afterwards and warns if operations outside them
(matmuls on pruned features) leave it above the target.
"""

from __future__ import annotations

import contextlib
import math

from torch import nn

from .graph import LEADING_TYPES, is_output_item

__all__ = ["ChannelCostModel", "recording_output_sizes"]


class ChannelCostModel:
    """Multiply-adds of the model as a function of the channels removed from each group.

    A conv costs ``s * out * in / groups`` (``s``: batch x output pixels x kernel size; a
    depthwise conv keeps ``in / groups = 1``), a linear layer ``s * out * in``; ``s`` and the
    cost of everything else (functional matmuls) come from one measured forward pass.

    Parameters
    ----------
    groups : list of torch_pruning.Group
        Full-width groups (:func:`~nets.pruning.graph.prunable_groups`).
    output_sizes : dict of nn.Module to int
        Output entries per output channel of every conv and linear layer of the graph, from
        :func:`recording_output_sizes` around the measured forward pass.
    total_macs : int
        The measured multiply-adds of that pass (:func:`nets.measure_cost`).
    """

    def __init__(self, groups, output_sizes, total_macs):
        layers = list(output_sizes)
        linears = {m for m in layers if isinstance(m, nn.Linear)}
        self.layers = layers
        self.scale, self.out, self.inner, self.depthwise = [], [], [], []
        for m in layers:
            kernel = math.prod(m.kernel_size) if m not in linears else 1
            self.scale.append(output_sizes[m] * kernel)
            self.out.append(m.out_features if m in linears else m.out_channels)
            self.inner.append(m.in_features if m in linears else m.in_channels)
            self.depthwise.append(m not in linears and m.groups == m.out_channels > 1)
        self.groups = [1 if m in linears else m.groups for m in layers]
        self.other = total_macs - sum(self._layer(i) for i in range(len(layers)))
        index = {m: i for i, m in enumerate(layers)}
        # effects[g][channel] = {(layer index, axis): number of that axis's entries removed}
        self.effects = []
        for group in groups:
            effect = [dict() for _ in range(len(group[0].idxs))]
            for item in group:
                layer = index.get(item.dep.target.module)
                if layer is None:
                    continue
                axis = "out" if self.depthwise[layer] or is_output_item(item) else "in"
                for root in item.root_idxs:
                    effect[root][layer, axis] = effect[root].get((layer, axis), 0) + 1
            self.effects.append(effect)

    def _layer(self, i):
        inner = 1 if self.depthwise[i] else self.inner[i] / self.groups[i]
        return self.scale[i] * self.out[i] * inner

    def total(self) -> float:
        """Modelled multiply-adds with the channels removed so far."""
        return self.other + sum(self._layer(i) for i in range(len(self.layers)))

    def remove(self, group: int, channel: int) -> float:
        """Remove one channel of a group; return the change of the total."""
        change = 0.0
        for (layer, axis), count in self.effects[group][channel].items():
            before = self._layer(layer)
            if axis == "out":
                self.out[layer] -= count
            else:
                self.inner[layer] -= count
            change += self._layer(layer) - before
        return change


@contextlib.contextmanager
def recording_output_sizes(graph):
    """Yield ``{layer: output entries per output channel}`` for the graph's conv and linear
    layers, filled by the forward passes run inside the block (summed over calls)."""
    layers = [m for m in graph.module2node if isinstance(m, LEADING_TYPES)]
    sizes = dict.fromkeys(layers, 0)

    def record(module, args, out):
        sizes[module] += out.numel() // out.shape[-1 if isinstance(module, nn.Linear) else 1]

    hooks = [m.register_forward_hook(record) for m in layers]
    try:
        yield sizes
    finally:
        for hook in hooks:
            hook.remove()
