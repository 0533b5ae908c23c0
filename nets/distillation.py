"""Losses that transfer the dense teacher's behaviour to a pruned student.

:func:`distillation_loss` is knowledge distillation on logits (plus an optional feature MSE);
:class:`LogitDiscriminator` and :func:`adversarial_losses` are GAL's adversarial alternative, a
discriminator telling teacher logits from student logits. Used while training soft masks
(:mod:`nets.masks`).

References
----------
Hinton, G., Vinyals, O., Dean, J. "Distilling the knowledge in a neural network",
arXiv:1503.02531. Lin et al., "Towards optimal structured CNN pruning via generative adversarial
learning" (GAL), CVPR 2019.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["LogitDiscriminator", "adversarial_losses", "distillation_loss"]


def distillation_loss(student_logits, teacher_logits, *, temperature=4.0, student_features=None,
                      teacher_features=None, feature_weight=1.0):
    r"""Knowledge distillation from the dense teacher: KD on logits plus feature MSE.

    ``T^2 KL(softmax(t / T) || softmax(s / T)) + feature_weight * mse(f_s, f_t)`` (the feature
    term only when both feature tensors are given).

    Parameters
    ----------
    student_logits, teacher_logits : Tensor of shape (n_images, n_classes)
    temperature : float, default 4.0
    student_features, teacher_features : Tensor of shape (n_images, n_features), optional
    feature_weight : float, default 1.0

    Returns
    -------
    Tensor (scalar)

    Examples
    --------
    >>> import torch
    >>> logits = torch.tensor([[2.0, 0.0, -1.0]])
    >>> float(distillation_loss(logits, logits))
    0.0
    """
    teacher_logits = teacher_logits.detach()
    log_student = nn.functional.log_softmax(student_logits / temperature, dim=1)
    log_teacher = nn.functional.log_softmax(teacher_logits / temperature, dim=1)
    loss = nn.functional.kl_div(log_student, log_teacher, log_target=True,
                                reduction="batchmean") * temperature**2
    if student_features is not None and teacher_features is not None:
        loss = loss + feature_weight * nn.functional.mse_loss(student_features,
                                                              teacher_features.detach())
    return loss


class LogitDiscriminator(nn.Module):
    """Small MLP telling teacher logits (label 1) from student logits (label 0), as in GAL.

    Parameters
    ----------
    n_classes : int
    hidden : int, default 64

    Examples
    --------
    >>> import torch
    >>> LogitDiscriminator(10)(torch.zeros(4, 10)).shape
    torch.Size([4])
    """

    def __init__(self, n_classes: int, *, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_classes, hidden), nn.ReLU(),
                                 nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, logits: Tensor) -> Tensor:
        """Real-vs-fake logit of shape (n_images,) for logits of shape (n_images, n_classes)."""
        return self.net(logits).squeeze(1)


def adversarial_losses(discriminator, student_logits, teacher_logits):
    """GAL's two losses: the student's (generator) loss and the discriminator's loss.

    Parameters
    ----------
    discriminator : LogitDiscriminator
    student_logits, teacher_logits : Tensor of shape (n_images, n_classes)

    Returns
    -------
    (Tensor, Tensor)
        ``generator_loss`` (backpropagate into the student only) and ``discriminator_loss``
        (computed on detached logits; backpropagate into the discriminator only). Backpropagate
        ``generator_loss`` before stepping the discriminator, or compute it again after the step:
        the step changes the weights its graph holds in place.

    Examples
    --------
    >>> import torch
    >>> discriminator = LogitDiscriminator(3)
    >>> generator_loss, discriminator_loss = adversarial_losses(
    ...     discriminator, torch.randn(4, 3), torch.randn(4, 3))
    >>> generator_loss.shape, discriminator_loss.shape
    (torch.Size([]), torch.Size([]))
    """
    bce = nn.functional.binary_cross_entropy_with_logits
    fake = discriminator(student_logits)
    generator_loss = bce(fake, torch.ones_like(fake))
    real = discriminator(teacher_logits.detach())
    fake_detached = discriminator(student_logits.detach())
    discriminator_loss = (bce(real, torch.ones_like(real))
                          + bce(fake_detached, torch.zeros_like(fake_detached)))
    return generator_loss, discriminator_loss
