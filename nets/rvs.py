"""Relaxed variable splitting (RVS): sparse copies of the conv/linear weights of any model.

:class:`RVS` keeps, next to each dense weight :math:`w` trained by an ordinary optimizer, a
sparse copy :math:`u = \\operatorname{prox}_{(\\lambda/\\beta)P}(w)` (l0, l1 or transformed l1,
:mod:`nets.prox`), adds the coupling gradient :math:`\\beta(w - u)` to ``w.grad`` and swaps
:math:`u` in for inference. :func:`prunable_weights` lists the weights it applies to. The
one-hidden-layer toy version with weight normalisation is :func:`nets.rvscgd_toy.rvscgd_toy`.

References
----------
.. [1] Dinh, T., Xin, J. "Convergence of a relaxed variable splitting coarse gradient
   descent method for learning sparse weight binarized activation neural network",
   Front. Appl. Math. Stat. 6:13 (2020), doi:10.3389/fams.2020.00013.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import Tensor, nn

from csc.validation import check_choice, check_positive

from ._checks import check_module, check_tensors
from .prox import PENALTIES, prox_penalty

__all__ = ["RVS", "prunable_weights"]


def prunable_weights(model: nn.Module) -> list[Tensor]:
    """Weights of every ``nn.Conv*d`` and ``nn.Linear`` sub-module of ``model``.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    list of nn.Parameter

    Raises
    ------
    TypeError
        If ``model`` is not a module.
    """
    check_module("model", model)
    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    return [m.weight for m in model.modules() if isinstance(m, kinds)]


class RVS:
    r"""Relaxed variable splitting for the conv/linear weights of a general model.

    Keeps, for each dense weight :math:`w` (updated by any optimizer), a sparse copy
    :math:`u = \operatorname{prox}_{(\lambda/\beta)P}(w)` that is used for inference.

    Parameters
    ----------
    params : iterable of Tensor
        Dense weights, e.g. ``prunable_weights(model)``.
    penalty : {"l0", "l1", "transformed_l1"}, default "l0"
    sparsity_weight : float
        :math:`\lambda > 0`.
    coupling : float
        :math:`\beta > 0`.
    a : float, default 1.0
        Transformed-:math:`\ell_1` parameter.

    Raises
    ------
    ValueError
        On non-positive ``sparsity_weight``, ``coupling`` or ``a``, an unknown
        ``penalty`` or an empty ``params``.

    Notes
    -----
    One training iteration of the augmented Lagrangian
    :math:`f(w) + \lambda P(u) + \tfrac\beta2\|w-u\|^2`:

    1. :meth:`update_sparse`: :math:`u \leftarrow \operatorname{prox}_{(\lambda/\beta)P}(w)`;
    2. forward/backward with the dense :math:`w` (coarse gradients through
       :class:`~nets.binarized.BinarizedReLU`);
    3. :meth:`add_coupling_grad`: ``w.grad += beta * (w - u)``;
    4. ``optimizer.step()``.

    At inference, ``with rvs.sparse_weights(): model(x)`` runs with :math:`u`;
    :meth:`apply_sparse_` writes :math:`u` into the model permanently. The toy
    trainer :func:`rvscgd_toy` additionally normalises :math:`w`; here no normalisation
    is applied (a layer followed by a binarized activation is scale invariant only
    without bias).

    Examples
    --------
    >>> import torch
    >>> from nets.binarized import BinarizedReLU
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 8), BinarizedReLU(),
    ...                             torch.nn.Linear(8, 2))
    >>> rvs = RVS(prunable_weights(model), sparsity_weight=1e-4, coupling=1e-2)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> rvs.update_sparse()
    >>> model(torch.randn(5, 4)).pow(2).mean().backward()
    >>> rvs.add_coupling_grad()
    >>> opt.step()
    >>> with rvs.sparse_weights():
    ...     out = model(torch.randn(5, 4))
    """

    def __init__(self, params, *, penalty="l0", sparsity_weight, coupling, a=1.0):
        for name, value in (("sparsity_weight", sparsity_weight), ("coupling", coupling),
                            ("a", a)):
            check_positive(name, value)
        check_choice("penalty", penalty, PENALTIES)
        self.params = check_tensors("params", params)
        if not self.params:
            raise ValueError("`params` must contain at least one tensor, got none")
        self.penalty = penalty
        self.sparsity_weight = sparsity_weight
        self.coupling = coupling
        self.a = a
        self.sparse = [None] * len(self.params)
        self.update_sparse()

    @torch.no_grad()
    def update_sparse(self):
        """Recompute every sparse copy :math:`u = \\operatorname{prox}(w)`."""
        lam = self.sparsity_weight / self.coupling
        self.sparse = [prox_penalty(p.detach(), lam, penalty=self.penalty, a=self.a)
                       for p in self.params]

    @torch.no_grad()
    def add_coupling_grad(self):
        """Add :math:`\\beta(w - u)` to each ``w.grad`` (creating it if missing)."""
        for p, u in zip(self.params, self.sparse, strict=True):
            coupling_grad = self.coupling * (p - u)
            if p.grad is None:
                p.grad = coupling_grad
            else:
                p.grad.add_(coupling_grad)

    @contextmanager
    def sparse_weights(self):
        """Context manager: the model's weights are the sparse :math:`u` inside the block."""
        saved = [p.detach().clone() for p in self.params]
        try:
            with torch.no_grad():
                for p, u in zip(self.params, self.sparse, strict=True):
                    p.copy_(u)
            yield self
        finally:
            with torch.no_grad():
                for p, w in zip(self.params, saved, strict=True):
                    p.copy_(w)

    @torch.no_grad()
    def apply_sparse_(self):
        """Overwrite the dense weights with :math:`u` (irreversible)."""
        for p, u in zip(self.params, self.sparse, strict=True):
            p.copy_(u)

    def sparsity(self) -> float:
        """Fraction of zero entries over all sparse copies :math:`u`."""
        zeros = sum(int((u == 0).sum()) for u in self.sparse)
        return zeros / sum(u.numel() for u in self.sparse)

    def state_dict(self) -> dict:
        """Hyper-parameters and sparse copies (by index), for checkpointing."""
        return dict(penalty=self.penalty, sparsity_weight=self.sparsity_weight,
                    coupling=self.coupling, a=self.a,
                    sparse=[u.clone() for u in self.sparse])

    def load_state_dict(self, state: dict):
        """Restore from :meth:`state_dict`."""
        if len(state["sparse"]) != len(self.params):
            raise ValueError(f"`state` holds {len(state['sparse'])} sparse tensors, "
                             f"expected {len(self.params)}")
        self.penalty = state["penalty"]
        self.sparsity_weight = state["sparsity_weight"]
        self.coupling = state["coupling"]
        self.a = state["a"]
        self.sparse = [u.clone() for u in state["sparse"]]
