"""The CoGD coupling rules on bare tensors (pure functions; :class:`nets.CoGD` applies them).

The rules are not re-implemented here: each function scores the units of its tensors and calls
:mod:`csc.coupling` with ``xp=torch``.

:func:`backtrack_update` (BN training, SPEC 3 "BN training")
    Units are channels. ``s_x(c) = |gamma_c|``, ``s_w(c) = sum_i ||W[c, i]||_1`` of the conv that
    feeds the BN (``partner_axis=0``). Units in the asynchronous set
    ``J = {c : K(s_x)_c <= alpha, K(s_w)_c >= beta}`` are moved back to their epoch-start values
    (both ``gamma_c`` and ``W[c]``).

:func:`revival_update` (pruning reference rule, SPEC 3 "Pruning")
    For a soft mask ``m`` over ``C`` channels consumed by the conv ``W`` (``partner_axis=1``):
    ``ind = minmax(sqrt(minmax(ks)))`` with ``ks_c = sum_o ||W[o, c]||_1``; every ``c`` with
    ``ind_c > median(ind)`` and ``m_c < 0.5`` gets ``m_c = 0.75``.

References
----------
Li, Zhang et al., "Cogradient Descent for Bilinear Optimization", CVPR 2020, arXiv:2006.09142.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from csc.coupling import asynchronous_units, backtrack, revive_collapsed_masks

__all__ = ["BacktrackResult", "backtrack_update", "revival_update", "unit_scores"]


def unit_scores(tensor: Tensor, *, axis: int = 0) -> Tensor:
    """l1 norm of each unit: ``sum |tensor|`` over every axis but ``axis``.

    Parameters
    ----------
    tensor : Tensor of shape (..., n_units, ...)
    axis : int
        Axis indexing the units (0: output channels of a conv, 1: its input channels).

    Returns
    -------
    Tensor of shape (n_units,)

    Examples
    --------
    >>> unit_scores(torch.ones(4, 3, 3, 3), axis=1)
    tensor([36., 36., 36.])
    """
    moved = tensor.detach().abs().movedim(axis, 0)
    return moved.reshape(moved.shape[0], -1).sum(dim=1)


@dataclass(frozen=True)
class BacktrackResult:
    """Output of :func:`backtrack_update`.

    Attributes
    ----------
    sparse : Tensor of shape (n_units, ...)
    partner : Tensor of the partner's shape
    units : bool Tensor of shape (n_units,)
        The asynchronous set ``J``.
    """

    sparse: Tensor
    partner: Tensor
    units: Tensor


def backtrack_update(sparse, partner, sparse_anchor, partner_anchor, *, partner_axis=0,
                     kernel="linear", coupling_quantiles=(0.5, 0.5), backtrack_rate=1.0):
    """One CoGD backtracking step on bare tensors (the BN rule); inputs are not modified.

    Parameters
    ----------
    sparse : Tensor of shape (n_units,) or (n_units, ...)
        The sparse variable (BN ``gamma``); ``s_x`` is its per-unit l1 norm.
    partner : Tensor with ``partner.shape[partner_axis] == n_units``
        The dense partner (the conv weight feeding the BN); ``s_w`` is its per-unit l1 norm.
    sparse_anchor, partner_anchor : Tensor
        Epoch-start values, shapes of ``sparse`` and ``partner``.
    partner_axis : int
    kernel : {'linear', 'polynomial', 'sqrt'}
    coupling_quantiles : (float, float) in [0, 1], default (0.5, 0.5)
        ``alpha`` and ``beta`` as quantiles of the kernelised scores of the sparse variable and
        of the partner (medians by default).
    backtrack_rate : float in (0, 1], default 1.0
        1 restores the anchors exactly.

    Returns
    -------
    BacktrackResult

    Examples
    --------
    >>> sparse = torch.tensor([0.0, 0.9, 1.1, 0.1])  # unit 0 collapsed, its filter grew
    >>> partner = torch.tensor([3.0, 1.0, 1.0, 0.2]).view(4, 1)
    >>> result = backtrack_update(sparse, partner, torch.ones(4), torch.ones(4, 1))
    >>> result.units
    tensor([ True, False, False, False])
    >>> result.sparse
    tensor([1.0000, 0.9000, 1.1000, 0.1000])
    """
    units = asynchronous_units(
        unit_scores(sparse, axis=0), unit_scores(partner, axis=partner_axis),
        sparse_quantile=coupling_quantiles[0], partner_quantile=coupling_quantiles[1],
        kernel=kernel, xp=torch,
    )
    new_sparse = backtrack(sparse, sparse_anchor, units, rate=backtrack_rate, xp=torch)
    new_partner = backtrack(partner.movedim(partner_axis, 0),
                            partner_anchor.movedim(partner_axis, 0), units, rate=backtrack_rate,
                            xp=torch).movedim(0, partner_axis)
    return BacktrackResult(sparse=new_sparse, partner=new_partner.contiguous(), units=units)


def revival_update(mask, partner, *, partner_axis=1, kernel="sqrt", quantile=0.5,
                   collapse_below=0.5, revival=0.75):
    """The reference pruning rule on bare tensors; the input is not modified.

    Parameters
    ----------
    mask : Tensor of shape (n_channels,)
        Soft mask values (non-negative).
    partner : Tensor with ``partner.shape[partner_axis] == n_channels``
        Weight of the conv consuming the masked channels, shape (n_out, n_channels, kh, kw).
    partner_axis : int
    kernel : {'linear', 'polynomial', 'sqrt'}
    quantile : float in [0, 1]
        Threshold ``alpha`` as a quantile of the indicator (median by default).
    collapse_below, revival : float

    Returns
    -------
    Tensor of shape (n_channels,)

    Examples
    --------
    >>> mask = torch.tensor([0.0, 0.2, 0.9, 0.0])
    >>> partner = torch.tensor([4.0, 1.0, 3.0, 0.5]).view(1, 4, 1, 1)
    >>> revival_update(mask, partner)
    tensor([0.7500, 0.2000, 0.9000, 0.0000])
    """
    return revive_collapsed_masks(
        mask, unit_scores(partner, axis=partner_axis), collapse_below=collapse_below,
        revival=revival, quantile=quantile, kernel=kernel, xp=torch,
    )
