"""Counting zero parameters: the sparsity :math:`\\sigma` reported for sparse networks.

:func:`sparsity` returns a :class:`SparsityReport` with one :class:`LayerSparsity` per
parameter tensor and the overall fraction of zeros (the :math:`\\sigma` of the iRDA paper, which
counts all parameters; ``weights_only=True`` counts conv/linear kernels only).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ._checks import check_module

__all__ = ["LayerSparsity", "SparsityReport", "sparsity"]


@dataclass(frozen=True)
class LayerSparsity:
    """Zeros in one parameter tensor."""

    name: str
    n_zeros: int
    n_params: int

    @property
    def sparsity(self) -> float:
        """Fraction of zero entries."""
        return self.n_zeros / self.n_params if self.n_params else 0.0


@dataclass(frozen=True)
class SparsityReport:
    """Per-parameter and overall sparsity :math:`\\sigma` = zeros / all parameters."""

    layers: tuple[LayerSparsity, ...]
    n_zeros: int
    n_params: int

    @property
    def sparsity(self) -> float:
        """Overall fraction of zero entries."""
        return self.n_zeros / self.n_params if self.n_params else 0.0


def sparsity(model: nn.Module, *, weights_only: bool = False) -> SparsityReport:
    r"""Sparsity :math:`\sigma` = (number of zero parameters) / (number of parameters).

    Parameters
    ----------
    model : nn.Module
    weights_only : bool, default False
        Count only parameters whose name ends in ``weight`` and that have at least two
        dimensions (conv/linear kernels). The paper's :math:`\sigma` counts all parameters.

    Returns
    -------
    SparsityReport
        ``layers`` (one :class:`LayerSparsity` per parameter), ``n_zeros``, ``n_params``
        and the overall ``sparsity``.

    Raises
    ------
    TypeError
        If ``model`` is not a module.

    Examples
    --------
    >>> import torch
    >>> layer = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = layer.weight.copy_(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))
    >>> sparsity(layer).sparsity
    0.75
    """
    check_module("model", model)
    layers = []
    for name, p in model.named_parameters():
        if weights_only and not (name.endswith("weight") and p.dim() >= 2):
            continue
        layers.append(LayerSparsity(name, int((p == 0).sum()), p.numel()))
    return SparsityReport(tuple(layers), sum(x.n_zeros for x in layers),
                          sum(x.n_params for x in layers))
