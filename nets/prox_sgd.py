"""Proximal SGD baselines of the iRDA paper: prox-SGD (FOBOS) and :math:`\\sqrt t`-prox-SGD.

Both take a gradient step and soft-threshold the result, :func:`prox_sgd_update`; they differ
only in the threshold (:math:`\\alpha\\lambda` for :class:`ProxSGD`,
:math:`\\sqrt t\\lambda/\\gamma` for :class:`SqrtProxSGD`). They are the baselines against which
:class:`~nets.irda.IRDA` is compared.

References
----------
.. [1] Jia, X., Zhao, L., Zhang, L., He, J., Xu, J. "Modified regularized dual averaging
   method for training sparse convolutional neural networks", arXiv:1807.04222.
"""

from __future__ import annotations

import math

from torch import Tensor

from csc.validation import check_nonnegative, check_positive

from .optim import ProximalOptimizer
from .prox import prox_l1

__all__ = ["ProxSGD", "SqrtProxSGD", "prox_sgd_update"]


def prox_sgd_update(weight: Tensor, grad: Tensor, *, lr: float, threshold: float) -> Tensor:
    r"""Proximal SGD step :math:`w \leftarrow S_\tau(w - \alpha g)` on bare tensors.

    Parameters
    ----------
    weight, grad : Tensor of shape (...)
    lr : float
        Step size :math:`\alpha`.
    threshold : float
        :math:`\tau` (``lr * sparsity_weight`` for prox-SGD, :math:`\sqrt t\lambda/\gamma`
        for :math:`\sqrt t`-prox-SGD).

    Returns
    -------
    Tensor of shape (...)

    Examples
    --------
    >>> import torch
    >>> prox_sgd_update(torch.tensor([1.0, 0.1]), torch.tensor([0.5, 0.0]), lr=1.0,
    ...                 threshold=0.25)
    tensor([0.2500, 0.0000])
    """
    return prox_l1(weight - lr * grad, threshold)


class ProxSGD(ProximalOptimizer):
    r"""Proximal SGD (FOBOS) for :math:`\ell_1`: :math:`w \leftarrow S_{\alpha\lambda}(w-\alpha g)`.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Step size :math:`\alpha > 0` (schedulers may edit it).
    sparsity_weight : float, default 1e-4
        :math:`\lambda \ge 0`; the threshold is ``lr * sparsity_weight``.

    Raises
    ------
    ValueError
        If ``lr <= 0`` or ``sparsity_weight < 0``.

    Notes
    -----
    Equation (19) of the iRDA paper: the threshold :math:`\alpha_t\lambda` shrinks with the
    step size, which is why prox-SGD produces little sparsity.

    Examples
    --------
    >>> import torch
    >>> weight = torch.nn.Parameter(torch.tensor([1.0, 0.05]))
    >>> weight.grad = torch.tensor([0.0, 0.1])
    >>> _ = ProxSGD([weight], lr=0.1, sparsity_weight=2.0).step()
    >>> weight.detach()
    tensor([0.8000, 0.0000])
    """

    def __init__(self, params, *, lr, sparsity_weight=1e-4):
        check_positive("lr", lr)
        check_nonnegative("sparsity_weight", sparsity_weight)
        super().__init__(params, dict(lr=lr, sparsity_weight=sparsity_weight))

    def _update(self, param, group):
        param.copy_(prox_sgd_update(param, param.grad, lr=group["lr"],
                                    threshold=group["lr"] * group["sparsity_weight"]))


class SqrtProxSGD(ProximalOptimizer):
    r"""The :math:`\sqrt t`-prox-SGD baseline: threshold :math:`t\lambda/\beta_t = \sqrt t\lambda/\gamma`.

    Parameters
    ----------
    params : iterable of Tensor or dict
    lr : float
        Step size :math:`\alpha > 0` of the gradient step.
    sparsity_weight : float, default 1e-6
        :math:`\lambda \ge 0`.
    gamma : float, default 1.0
        :math:`\gamma > 0` in :math:`\beta_t = \gamma\sqrt t`.

    Raises
    ------
    ValueError
        If ``lr <= 0``, ``sparsity_weight < 0`` or ``gamma <= 0``.

    Notes
    -----
    Equation (22) of the iRDA paper:
    :math:`w_{t+1} = S_{\sqrt t\lambda/\gamma}(w_t - \alpha g_t)`. The threshold grows
    without bound, so the iteration eventually drives every weight to zero; the paper
    uses it as a baseline. The counter :math:`t` is ``state["step"]``.

    Examples
    --------
    >>> import torch
    >>> weight = torch.nn.Parameter(torch.tensor([1.0]))
    >>> weight.grad = torch.tensor([0.0])
    >>> optimizer = SqrtProxSGD([weight], lr=1.0, sparsity_weight=0.1, gamma=0.5)
    >>> _ = optimizer.step()  # t = 1: threshold 0.2
    >>> weight.detach()
    tensor([0.8000])
    """

    def __init__(self, params, *, lr, sparsity_weight=1e-6, gamma=1.0):
        check_positive("lr", lr)
        check_nonnegative("sparsity_weight", sparsity_weight)
        check_positive("gamma", gamma)
        super().__init__(params, dict(lr=lr, sparsity_weight=sparsity_weight, gamma=gamma))

    def _update(self, param, group):
        state = self.state[param]
        t = int(state.get("step", 0)) + 1
        state["step"] = t
        threshold = math.sqrt(t) * group["sparsity_weight"] / group["gamma"]
        param.copy_(prox_sgd_update(param, param.grad, lr=group["lr"], threshold=threshold))
