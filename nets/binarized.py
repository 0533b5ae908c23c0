"""Binarized activation: forward :math:`1\\{x > 0\\}`, straight-through backward.

The step function has zero derivative almost everywhere, so :func:`binarized_relu` and its
module form :class:`BinarizedReLU` back-propagate a surrogate instead: the ReLU derivative
(the coarse gradient of [1]_) or the clipped-ReLU derivative. Sparse training of networks with
this activation is in :mod:`nets.rvs`; the paper's teacher-student toy in
:mod:`nets.rvscgd_toy`.

References
----------
.. [1] Dinh, T., Xin, J. "Convergence of a relaxed variable splitting coarse gradient
   descent method for learning sparse weight binarized activation neural network",
   Front. Appl. Math. Stat. 6:13 (2020), doi:10.3389/fams.2020.00013.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from csc.validation import check_choice

__all__ = ["BinarizedReLU", "binarized_relu"]

_STRAIGHT_THROUGH = ("relu", "clipped_relu")


class _BinarizedReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, clipped):
        ctx.save_for_backward(x)
        ctx.clipped = clipped
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        window = (x > 0) & (x < 1) if ctx.clipped else x > 0
        return grad_output * window.to(grad_output.dtype), None


def _check_input(x):
    if not isinstance(x, Tensor) or not x.dtype.is_floating_point:
        kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"`x` must be a real floating-point Tensor, got {kind}")


def binarized_relu(x: Tensor, *, straight_through: str = "relu") -> Tensor:
    r"""Binarized ReLU :math:`\sigma(x) = 1\{x > 0\}` with a straight-through gradient.

    Parameters
    ----------
    x : Tensor of any shape
    straight_through : {"relu", "clipped_relu"}, default "relu"
        Backward surrogate: the ReLU derivative :math:`1\{x > 0\}` (the coarse gradient
        of [1]_) or the clipped-ReLU derivative :math:`1\{0 < x < 1\}`.

    Returns
    -------
    Tensor of the shape and dtype of ``x``, entries in {0, 1}.

    Raises
    ------
    ValueError
        If ``straight_through`` is not one of the two names.
    TypeError
        If ``x`` is not a real floating-point tensor (integer, boolean and complex tensors are
        refused: the gradient needs a real float).

    Examples
    --------
    >>> import torch
    >>> binarized_relu(torch.tensor([-1.0, 0.0, 0.3, 2.0]))
    tensor([0., 0., 1., 1.])
    """
    check_choice("straight_through", straight_through, _STRAIGHT_THROUGH)
    _check_input(x)
    return _BinarizedReLUFunction.apply(x, straight_through == "clipped_relu")


class BinarizedReLU(nn.Module):
    r"""Module form of :func:`binarized_relu`: forward :math:`1\{x>0\}`, straight-through backward.

    Parameters
    ----------
    straight_through : {"relu", "clipped_relu"}, default "relu"
        See :func:`binarized_relu`.

    Raises
    ------
    ValueError
        If ``straight_through`` is not one of the two names.

    Examples
    --------
    >>> import torch
    >>> act = BinarizedReLU()
    >>> x = torch.tensor([-1.0, 2.0], requires_grad=True)
    >>> act(x).sum().backward()
    >>> x.grad
    tensor([0., 1.])
    """

    def __init__(self, straight_through: str = "relu"):
        super().__init__()
        check_choice("straight_through", straight_through, _STRAIGHT_THROUGH)
        self.straight_through = straight_through

    def forward(self, x: Tensor) -> Tensor:
        """``1{x > 0}`` of a real floating-point tensor (``TypeError`` otherwise)."""
        _check_input(x)
        return _BinarizedReLUFunction.apply(x, self.straight_through == "clipped_relu")

    def extra_repr(self) -> str:
        return f"straight_through={self.straight_through!r}"
