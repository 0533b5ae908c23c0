"""The ``step`` skeleton shared by the proximal optimizers of ``nets``.

:class:`ProximalOptimizer` runs ``step(closure=None)`` the ``torch.optim`` way (closure with
gradients on, update with gradients off, the loss returned) and hands every parameter that has
a gradient to :meth:`ProximalOptimizer._update`. Subclasses (:class:`~nets.irda.IRDA`,
:class:`~nets.prox_sgd.ProxSGD`, :class:`~nets.prox_sgd.SqrtProxSGD`,
:class:`~nets.masks.SoftMaskFISTA`) validate their hyperparameters in ``__init__``, pass them
through ``defaults`` and implement only that per-parameter update, which calls a pure update
function.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["ProximalOptimizer"]


class ProximalOptimizer(torch.optim.Optimizer):
    """Base class: ``step`` loops over the parameters with a gradient and calls ``_update``.

    Subclasses implement ``_update(param, group)``, which runs under ``torch.no_grad()``, reads
    ``param.grad`` and the hyperparameters in ``group``, keeps per-parameter state (tensors and
    numbers only) in ``self.state[param]`` if it needs any, and writes the new value into
    ``param`` in place. Parameters without a gradient are skipped and get no state.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters or parameter groups.
    defaults : dict
        Default hyperparameters, merged into each group.

    Examples
    --------
    >>> import torch
    >>> class SignDescent(ProximalOptimizer):
    ...     def __init__(self, params, *, lr):
    ...         super().__init__(params, dict(lr=lr))
    ...     def _update(self, param, group):
    ...         param.sub_(group["lr"] * param.grad.sign())
    >>> weight = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    >>> weight.grad = torch.tensor([3.0, -0.5])
    >>> SignDescent([weight], lr=0.25).step()
    >>> weight.detach()
    tensor([ 0.7500, -0.7500])
    """

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter with a gradient once.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; run with gradients enabled.

        Returns
        -------
        The closure's loss, or None without a closure.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group)
        return loss

    def _update(self, param: Tensor, group: dict) -> None:
        """Write the new value of ``param`` (which has a gradient) in place."""
        raise NotImplementedError
