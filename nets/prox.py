"""Proximal (thresholding) operators on torch tensors: l1, l0 and transformed l1.

Each operator solves :math:`\\arg\\min_u \\tfrac12 (u - x)^2 + \\lambda P(u)` elementwise and
returns a new tensor. Soft thresholding (:math:`\\ell_1`) is not re-implemented here:
:func:`prox_l1` calls :func:`csc.prox.soft_threshold` with ``xp=torch``, the same function the
CSC solvers use. :func:`prox_penalty` dispatches on the penalty's name (used by
:class:`~nets.rvs.RVS` and :func:`~nets.rvscgd_toy.rvscgd_toy`).

References
----------
.. [1] Zhang, S., Xin, J. "Minimization of transformed L1 penalty: closed form
   representation and iterative thresholding algorithms", Commun. Math. Sci. 15 (2017)
   511-537, doi:10.4310/CMS.2017.v15.n2.a9.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from csc.prox import soft_threshold
from csc.validation import check_choice

__all__ = [
    "PENALTIES",
    "prox_l0",
    "prox_l1",
    "prox_penalty",
    "prox_transformed_l1",
    "transformed_l1",
]

PENALTIES = ("l0", "l1", "transformed_l1")


def prox_l1(x: Tensor, lam: float | Tensor, *, non_negative: bool = False) -> Tensor:
    r"""Soft thresholding :math:`S_\lambda(x) = \operatorname{sign}(x)\max(|x| - \lambda, 0)`.

    Parameters
    ----------
    x : Tensor of any shape
    lam : float or Tensor broadcastable to ``x``, >= 0
    non_negative : bool, default False
        Also project onto :math:`u \ge 0`: :math:`\max(x - \lambda, 0)`.

    Returns
    -------
    Tensor of the shape and dtype of ``x`` (a new tensor; ``x`` is not modified).

    Notes
    -----
    :math:`S_\lambda(x) = \arg\min_u \tfrac12 (u - x)^2 + \lambda |u|` (plus the indicator of
    :math:`u \ge 0` when ``non_negative``); computed by :func:`csc.prox.soft_threshold`.

    Examples
    --------
    >>> import torch
    >>> prox_l1(torch.tensor([-2.0, 0.5, 3.0]), 1.0)
    tensor([-1.,  0.,  2.])
    >>> prox_l1(torch.tensor([-2.0, 0.5, 3.0]), 1.0, non_negative=True)
    tensor([0., 0., 2.])
    """
    return soft_threshold(x, lam, non_negative=non_negative, xp=torch)


def prox_l0(x: Tensor, lam: float) -> Tensor:
    r"""Hard thresholding: :math:`\arg\min_u \tfrac12(u-x)^2 + \lambda 1\{u \ne 0\}`.

    Parameters
    ----------
    x : Tensor of any shape
    lam : float, >= 0

    Returns
    -------
    Tensor of the shape of ``x``: ``x`` where :math:`|x| > \sqrt{2\lambda}`, else 0 (at the
    tie :math:`|x| = \sqrt{2\lambda}` both values are minimisers; 0 is returned).

    Examples
    --------
    >>> import torch
    >>> prox_l0(torch.tensor([-2.0, 0.5, 3.0]), 0.5)
    tensor([-2.,  0.,  3.])
    """
    return torch.where(x.abs() > math.sqrt(2.0 * lam), x, torch.zeros_like(x))


def transformed_l1(x: Tensor, *, a: float) -> Tensor:
    r"""Transformed-:math:`\ell_1` penalty :math:`\rho_a(x) = (a+1)|x| / (a+|x|)`, elementwise.

    Parameters
    ----------
    x : Tensor of any shape
    a : float, > 0
        :math:`a \to 0` approaches :math:`\ell_0`, :math:`a \to \infty` approaches
        :math:`\ell_1`.

    Returns
    -------
    Tensor of the shape of ``x``.

    Examples
    --------
    >>> import torch
    >>> transformed_l1(torch.tensor([-1.0, 0.0, 3.0]), a=1.0)
    tensor([1.0000, 0.0000, 1.5000])
    """
    return (a + 1.0) * x.abs() / (a + x.abs())


def prox_transformed_l1(x: Tensor, lam: float, *, a: float) -> Tensor:
    r"""Closed-form thresholding of transformed :math:`\ell_1` (Zhang & Xin 2017, [1]_).

    Parameters
    ----------
    x : Tensor of any shape
    lam : float, >= 0
    a : float, > 0

    Returns
    -------
    Tensor of the shape of ``x``: :math:`\arg\min_u \tfrac12(u-x)^2 + \lambda\rho_a(u)`.

    Notes
    -----
    With :math:`\phi(x) = \arccos\!\big(1 - \tfrac{27\lambda a(a+1)}{2(a+|x|)^3}\big)`,

    .. math::

        g_\lambda(x) = \operatorname{sign}(x)\Big(\tfrac23(a+|x|)\cos\big(\tfrac{\phi(x)}3\big)
        - \tfrac{2a}3 + \tfrac{|x|}3\Big),

    and the minimiser is :math:`g_\lambda(x)` for :math:`|x| > t` and 0 otherwise, where
    :math:`t = \lambda(a+1)/a` if :math:`\lambda \le a^2/(2(a+1))` and
    :math:`t = \sqrt{2\lambda(a+1)} - a/2` otherwise. Derivation: for :math:`u > 0` the
    stationarity condition is the cubic :math:`v^3 - (a+x)v^2 + \lambda a(a+1) = 0` in
    :math:`v = a + u`, whose largest root the trigonometric formula gives. At
    :math:`|x| = t` both 0 and :math:`g_\lambda(x)` are minimisers; 0 is returned. The
    tests check the formula against a brute-force 1-D minimisation.

    Examples
    --------
    >>> import torch
    >>> prox_transformed_l1(torch.tensor([0.1, 2.0]), 0.25, a=1.0)
    tensor([0.0000, 1.9422])
    """
    if lam == 0:
        return x.clone()
    absx = x.abs()
    if lam <= a * a / (2.0 * (a + 1.0)):
        threshold = lam * (a + 1.0) / a
    else:
        threshold = math.sqrt(2.0 * lam * (a + 1.0)) - a / 2.0
    arg = 1.0 - 27.0 * lam * a * (a + 1.0) / (2.0 * (a + absx) ** 3)
    phi = torch.arccos(torch.clamp(arg, -1.0, 1.0))
    value = (2.0 / 3.0) * (a + absx) * torch.cos(phi / 3.0) - 2.0 * a / 3.0 \
        + absx / 3.0
    return torch.where(absx > threshold, torch.sign(x) * value, torch.zeros_like(x))


def prox_penalty(x: Tensor, lam: float, *, penalty: str, a: float = 1.0) -> Tensor:
    r"""Dispatch to the thresholding operator of ``penalty``.

    Parameters
    ----------
    x : Tensor of any shape
    lam : float
        Weight of the penalty in :math:`\arg\min_u \tfrac12(u-x)^2 + \lambda P(u)`; RVS
        uses :math:`\lambda/\beta`.
    penalty : {"l0", "l1", "transformed_l1"}
    a : float, default 1.0
        Parameter of the transformed-:math:`\ell_1` penalty (ignored otherwise).

    Returns
    -------
    Tensor of the shape of ``x``.

    Raises
    ------
    ValueError
        If ``penalty`` is unknown.

    Examples
    --------
    >>> import torch
    >>> prox_penalty(torch.tensor([-2.0, 0.5]), 1.0, penalty="l1")
    tensor([-1.,  0.])
    """
    check_choice("penalty", penalty, PENALTIES)
    if penalty == "l0":
        return prox_l0(x, lam)
    if penalty == "l1":
        return prox_l1(x, lam)
    return prox_transformed_l1(x, lam, a=a)
