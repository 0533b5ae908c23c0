"""Channel pruning of any model on Torch-Pruning's dependency graph.

One module per step of :func:`prune` (the layering: each imports only those above it):

=================================  ===========================================================
``nets.pruning.graph``             dependency groups: ``dependency_graph`` (tracing),
                                   ``prunable_groups``, ``consumers``, ``check_ignored``
``nets.pruning.mask_pruner``       ``SoftMaskPruner``: Torch-Pruning's handler of a ``SoftMask``
                                   (the one module importing ``torch_pruning`` at import time)
``nets.pruning.importance``        channel importances: ``SoftMaskImportance``,
                                   ``CoGDImportance``, ``ScoreImportance``,
                                   ``group_channel_scores``
``nets.pruning.cost_model``        ``ChannelCostModel``: multiply-adds after removing channels
``nets.pruning.selection``         ``select_zero_channels``, ``select_for_macs`` (greedy)
``nets.pruning.surgery``           ``PruningPlan``, ``apply_plan``, ``remove_group_channels``
``nets.pruning.placement``         where a mask goes: ``reader_behind_activation``,
                                   ``add_input_mask``, ``fold_input_mask``
``nets.pruning.soft_masks``        ``insert_soft_masks``, ``soft_mask_pairs``,
                                   ``fold_soft_masks``
``nets.pruning.prune``             ``prune`` -> ``PruneResult``
=================================  ===========================================================

The functions that trace a model (``prune``, ``apply_plan``, ``insert_soft_masks``,
``soft_mask_pairs``) need ``torch-pruning`` (the ``nets`` extra) and import it on first use:
without it they raise an ImportError naming the extra, and everything else works.
"""

from .importance import CoGDImportance, ScoreImportance, SoftMaskImportance
from .prune import PruneResult, prune
from .soft_masks import fold_soft_masks, insert_soft_masks, soft_mask_pairs
from .surgery import PruningPlan, apply_plan

__all__ = [
    "CoGDImportance",
    "PruneResult",
    "PruningPlan",
    "ScoreImportance",
    "SoftMaskImportance",
    "apply_plan",
    "fold_soft_masks",
    "insert_soft_masks",
    "prune",
    "soft_mask_pairs",
]
