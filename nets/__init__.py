"""PyTorch companion: CoGD coupling for BN/mask pruning, iRDA, binarized networks with RVS.

The top level holds what a training loop and a pruning run call: the optimizers, the models,
the soft masks, :func:`prune` and its importances, the cost and sparsity counters. Everything
else (pure update functions, proximal operators, the steps of the pruning, the RVSCGD toy
model, distillation losses) is imported from its submodule:

=========================  =====================================================================
``nets.cogd``              ``CoGD`` (coupling rules on (BN scale or soft mask, conv) pairs),
                           ``CouplingReport``, ``conv_bn_pairs``
``nets.coupling``          the coupling rules on bare tensors: ``backtrack_update``,
                           ``revival_update``, ``unit_scores``
``nets.optim``             ``ProximalOptimizer``, the ``step`` skeleton of the optimizers below
``nets.irda``              iRDA: ``irda_update``, ``IRDA``, ``irda_init_``, ``irda_param_groups``
``nets.prox_sgd``          prox-SGD baselines: ``prox_sgd_update``, ``ProxSGD``, ``SqrtProxSGD``
``nets.prox``              thresholding operators: ``prox_l1``, ``prox_l0``, transformed l1
``nets.sparsity``          zero counting: ``sparsity``, ``SparsityReport``, ``LayerSparsity``
``nets.binarized``         ``BinarizedReLU``, ``binarized_relu`` (straight-through gradient)
``nets.rvs``               relaxed variable splitting: ``RVS``, ``prunable_weights``
``nets.rvscgd_toy``        the paper's one-hidden-layer teacher-student toy and its trainer
``nets.models``            ``SmallCNN``, CIFAR ResNets, ``MobileNetV2``, ``SoftMask``,
                           ``MaskedLayer``; ``nets.models.zoo``: compact torchvision-style models
``nets.masks``             soft-mask training: ``SoftMaskFISTA``, ``compute_mask``
``nets.pruning``           ``prune`` for any model (Torch-Pruning's dependency graph), one module
                           per step: graph, importance, cost model, selection, surgery, masks
``nets.batchnorm``         ``recalibrate_bn``
``nets.cost``              ``measure_cost``, ``count_parameters``, ``model_call``
``nets.distillation``      ``distillation_loss``, GAL's ``LogitDiscriminator``
=========================  =====================================================================

``prune``, ``apply_plan``, ``insert_soft_masks`` and ``soft_mask_pairs`` need ``torch-pruning``
(the ``nets`` extra); it is imported on first use, so ``import nets`` and ``from nets import *``
work without it, and those four raise an ImportError naming the extra.
"""

from .batchnorm import recalibrate_bn
from .binarized import BinarizedReLU
from .cogd import CoGD, conv_bn_pairs
from .cost import measure_cost
from .irda import IRDA, irda_init_
from .masks import SoftMaskFISTA, compute_mask
from .models import (
    MaskedLayer,
    MobileNetV2,
    SmallCNN,
    SoftMask,
    resnet18,
    resnet20,
    resnet56,
    resnet110,
)
from .prox_sgd import ProxSGD, SqrtProxSGD
from .pruning import (
    CoGDImportance,
    PruneResult,
    PruningPlan,
    ScoreImportance,
    SoftMaskImportance,
    apply_plan,
    fold_soft_masks,
    insert_soft_masks,
    prune,
    soft_mask_pairs,
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
    "MaskedLayer",
    "SmallCNN",
    "MobileNetV2",
    "resnet18",
    "resnet20",
    "resnet56",
    "resnet110",
    # what the optimizers act on
    "conv_bn_pairs",
    "soft_mask_pairs",
    "prunable_weights",
    "irda_init_",
    # pruning
    "insert_soft_masks",
    "compute_mask",
    "prune",
    "PruneResult",
    "PruningPlan",
    "apply_plan",
    "fold_soft_masks",
    "SoftMaskImportance",
    "CoGDImportance",
    "ScoreImportance",
    "recalibrate_bn",
    # measuring
    "measure_cost",
    "sparsity",
]
