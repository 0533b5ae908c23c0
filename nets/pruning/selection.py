"""Selection: which channels go, from the importance scores of every prunable group.

:func:`select_zero_channels` keeps exactly the non-zero-scored channels (trained soft masks:
the eval output does not change); :func:`select_for_macs` removes the lowest scores over all
groups until a :class:`~nets.pruning.cost_model.ChannelCostModel` meets a multiply-add target.
"""

from __future__ import annotations

import torch

__all__ = ["select_for_macs", "select_zero_channels"]


def select_zero_channels(group_scores):
    """The zero-scored channels of every group (the best channel of a group is always kept).

    Parameters
    ----------
    group_scores : list of Tensor of shape (n_group_channels,)

    Returns
    -------
    list of list of int
        The channels to remove from each group.
    """
    removal = []
    for values in group_scores:
        zero = [int(c) for c in torch.nonzero(values == 0).flatten()]
        if len(zero) == len(values):
            zero.remove(int(torch.argmax(values)))
        removal.append(zero)
    return removal


def select_for_macs(cost_model, group_scores, target_macs):
    """Lowest scores first, over all groups, until the modelled cost is <= ``target_macs``.

    Network slimming's global threshold: the channels of every group are ranked together by
    score (ties by group, then channel), and removed in that order, each group keeping at least
    one channel, until ``cost_model.total()`` is at most ``target_macs``.

    Parameters
    ----------
    cost_model : ChannelCostModel
        Of the same groups; channels are removed from it as they are selected.
    group_scores : list of Tensor of shape (n_group_channels,)
    target_macs : float

    Returns
    -------
    (list of list of int, float)
        The channels to remove from each group, and the modelled multiply-adds after removing
        them (above ``target_macs`` when one channel per group costs more).
    """
    entries = sorted((float(value), g, c) for g, values in enumerate(group_scores)
                     for c, value in enumerate(values))
    removal = [[] for _ in group_scores]
    total = cost_model.total()
    for _, g, c in entries:
        if total <= target_macs:
            break
        if len(removal[g]) + 1 >= len(group_scores[g]):
            continue
        removal[g].append(c)
        total += cost_model.remove(g, c)
    return removal, total
