"""PyTorch companion: CoGD coupling for BN/mask pruning, iRDA, binarized networks with RVS.

The top level holds what an ordinary training loop reaches for: the optimizers, the models, the
pruning steps and the cost and sparsity counters. Everything else (pure update functions,
proximal operators, result types, the RVSCGD toy model, distillation losses) is imported from
its submodule:

=========================  =====================================================================
``nets.cogd``              CoGD coupling rules on (BN scale or soft mask, conv) pairs
``nets.optim``             ``ProximalOptimizer``, the ``step`` skeleton of the optimizers below
``nets.irda``              iRDA: ``irda_update``, ``IRDA``, ``irda_init_``, ``irda_param_groups``
``nets.prox_sgd``          prox-SGD baselines: ``prox_sgd_update``, ``ProxSGD``, ``SqrtProxSGD``
``nets.prox``              thresholding operators: ``prox_l1``, ``prox_l0``, transformed l1
``nets.sparsity``          zero counting: ``sparsity``, ``SparsityReport``, ``LayerSparsity``
``nets.binarized``         ``BinarizedReLU``, ``binarized_relu`` (straight-through gradient)
``nets.rvs``               relaxed variable splitting: ``RVS``, ``prunable_weights``
``nets.rvscgd_toy``        the paper's one-hidden-layer teacher-student toy and its trainer
``nets.models``            ``SmallCNN``, CIFAR ResNets, ``MobileNetV2``, ``SoftMask``
``nets.masks``             soft-mask training: ``SoftMaskFISTA``, ``mask_pairs``, ``compute_mask``
``nets.pruning``           plans, ``remove_channels`` (CIFAR ``BasicBlock``), ``recalibrate_bn``
``nets.graph_pruning``     ``prune`` for any model (Torch-Pruning's dependency graph),
                           ``insert_soft_masks``, ``soft_mask_pairs``, ``fold_soft_masks``
``nets.importance``        CoGD scores as Torch-Pruning importances
``nets.cost``              ``measure_cost``, ``count_parameters``, ``macs_per_channel``
``nets.distillation``      ``distillation_loss``, GAL's ``LogitDiscriminator``
=========================  =====================================================================

``nets.prune`` (and the two modules above) need ``torch-pruning`` (the ``nets`` extra); it is
imported on first use, so ``import nets`` works without it.
"""

from .binarized import BinarizedReLU
from .cogd import CoGD, conv_bn_pairs
from .cost import measure_cost
from .irda import IRDA, irda_init_
from .masks import SoftMaskFISTA, compute_mask, mask_pairs
from .models import MobileNetV2, SmallCNN, SoftMask, resnet18, resnet20, resnet56, resnet110
from .prox_sgd import ProxSGD, SqrtProxSGD
from .pruning import (
    bn_scale_scores,
    plan_for_macs,
    plan_from_masks,
    plan_from_scores,
    recalibrate_bn,
    remove_channels,
)
from .rvs import RVS, prunable_weights
from .sparsity import sparsity

__all__ = [
    # optimizers
    "CoGD",
    "IRDA",
    "ProxSGD",
    "SqrtProxSGD",
    "SoftMaskFISTA",
    "RVS",
    # layers and models
    "BinarizedReLU",
    "SoftMask",
    "SmallCNN",
    "MobileNetV2",
    "resnet18",
    "resnet20",
    "resnet56",
    "resnet110",
    # what the optimizers act on
    "conv_bn_pairs",
    "mask_pairs",
    "prunable_weights",
    "irda_init_",
    # pruning
    "compute_mask",
    "bn_scale_scores",
    "plan_from_masks",
    "plan_from_scores",
    "plan_for_macs",
    "remove_channels",
    "recalibrate_bn",
    "prune",
    # measuring
    "measure_cost",
    "sparsity",
]


def __getattr__(name):
    # `prune` needs torch-pruning: imported on first use (a clear ImportError names the extra)
    if name == "prune":
        from .graph_pruning import prune

        return prune
    raise AttributeError(f"module 'nets' has no attribute {name!r}")
