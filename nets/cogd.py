"""CoGD for PyTorch: the coupling rule of SPEC 3 on (BN scale or soft mask, convolution) pairs.

:class:`CoGD` wraps any ``torch.optim.Optimizer``: :meth:`CoGD.step` is exactly one step of the
wrapped optimizer, and :meth:`CoGD.couple` applies the coupling rule once per epoch:
``rule="backtrack"`` (BN training: :func:`nets.coupling.backtrack_update`, after which the
anchors are re-taken for the next epoch) or ``rule="revival"`` (pruning:
:func:`nets.coupling.revival_update`). :func:`conv_bn_pairs` gives the (BN scale, conv) pairs of
a model; :func:`nets.soft_mask_pairs` the (soft mask, consuming conv) pairs.

References
----------
Li, Zhang et al., "Cogradient Descent for Bilinear Optimization", CVPR 2020, arXiv:2006.09142.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from csc.coupling import KERNELS
from csc.validation import check_choice, check_in_range, check_nonnegative

from ._checks import check_module
from .coupling import backtrack_update, revival_update

__all__ = ["CoGD", "CouplingReport", "conv_bn_pairs"]

RULES = ("backtrack", "revival")


def conv_bn_pairs(model: nn.Module) -> list[tuple[Tensor, Tensor]]:
    """``(bn.weight, conv.weight)`` for every BatchNorm2d fed directly by a Conv2d.

    Modules are visited in registration order and each ``BatchNorm2d`` is paired with the most
    recent ``Conv2d`` whose ``out_channels`` equals its ``num_features`` (true for the models of
    :mod:`nets.models`, whose modules are registered in forward order).

    Returns
    -------
    list of (Tensor of shape (C,), Tensor of shape (C, C_in, kh, kw))

    Raises
    ------
    TypeError
        If ``model`` is not a module.

    Examples
    --------
    >>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
    >>> [tuple(t.shape) for t in conv_bn_pairs(model)[0]]
    [(4,), (4, 3, 3, 3)]
    """
    check_module("model", model)
    pairs, last_conv = [], None
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            last_conv = module
        elif isinstance(module, nn.BatchNorm2d) and module.affine:
            if last_conv is not None and last_conv.out_channels == module.num_features:
                pairs.append((module.weight, last_conv.weight))
                last_conv = None
    return pairs


@dataclass(frozen=True)
class CouplingReport:
    """What one :meth:`CoGD.couple` call changed.

    Attributes
    ----------
    n_flagged : tuple of int
        Units backtracked or revived, one entry per pair.
    n_units : tuple of int
        Units per pair.
    """

    n_flagged: tuple
    n_units: tuple

    @property
    def total_flagged(self) -> int:
        return int(sum(self.n_flagged))


class CoGD(torch.optim.Optimizer):
    r"""Cogradient descent: any base optimizer plus a once-per-epoch coupling step.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The base optimizer (SGD, AdamW, ...). :meth:`step` calls its ``step`` unchanged, so
        parameters outside ``pairs`` follow it exactly. ``param_groups`` *is* its list of param
        groups, so an LR scheduler attached to the CoGD (or to the base optimizer) sets its
        ``lr``.
    pairs : list of (Tensor, Tensor)
        ``(x, w)`` pairs: ``x`` of shape (n_units,) is the sparse variable (BN ``gamma`` or a soft
        mask), ``w`` its partner with ``w.shape[partner_axis] == n_units``. Every tensor appears
        in at most one pair.
    rule : {'backtrack', 'revival'}, default 'backtrack'
        :func:`~nets.coupling.backtrack_update` or :func:`~nets.coupling.revival_update`.
    kernel : {'linear', 'polynomial', 'sqrt'} or None
        None picks ``'linear'`` for ``'backtrack'`` and ``'sqrt'`` (the reference) for
        ``'revival'``.
    coupling_quantiles : (float, float) in [0, 1], default (0.5, 0.5)
        ``alpha`` and ``beta``, the quantiles of the sparse variable's and of the partner's
        kernelised scores (CoGD-a uses the a-quantile; as ``coupling_quantiles`` of
        :class:`csc.ConvolutionalDictionary`). ``'revival'`` uses the second only.
    backtrack_rate : float in (0, 1], default 1.0
        Backtracking rate (1 restores the epoch-start values).
    partner_axis : int or None
        Unit axis of ``w``: None picks 0 (conv feeding a BN) for ``'backtrack'`` and 1 (conv
        consuming a masked channel) for ``'revival'``.
    collapse_below, revival : float, default 0.5 and 0.75
        Revival rule: masks below ``collapse_below`` are set to ``revival``.

    Raises
    ------
    TypeError
        If ``optimizer`` is not an optimizer or a pair is not two floating-point tensors.
    ValueError
        If an option is out of range, a pair's shapes disagree or have no unit, or a tensor
        appears in two pairs.

    Attributes
    ----------
    param_groups : list of dict
        The base optimizer's param groups (the same list object, also after its
        ``load_state_dict``): what LR schedulers and training loops read and set.
    coupling_groups : list of dict
        The coupling rule's hyperparameters in two index-aligned groups, ``role="mask"`` (the
        ``x``) and ``role="coupled"`` (the ``w``).
    pairs : list of (Tensor, Tensor)
        The ``(x, w)`` pairs (read-only view of ``coupling_groups``).

    Notes
    -----
    ``self.state[p]`` holds only the anchor tensor of the backtrack rule, so :meth:`state_dict`
    round-trips (also through ``torch.save`` / ``torch.load`` with ``weights_only=True``).
    :meth:`state_dict` returns ``{"cogd": ..., "optimizer": ...}`` (the coupling state and groups,
    and the base optimizer's state_dict).
    Under DistributedDataParallel every rank must call :meth:`couple` at the same point; the
    replicas hold identical parameters, so the rule makes the same decision on all of them.
    The base optimizer's own state (momentum) is left unchanged by backtracking.

    Examples
    --------
    >>> model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    >>> base = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> optimizer = CoGD(base, conv_bn_pairs(model), rule="backtrack")
    >>> loss = model(torch.randn(2, 3, 5, 5)).square().mean()
    >>> loss.backward()
    >>> optimizer.step()
    >>> optimizer.couple().n_units
    (4,)
    """

    def __init__(self, optimizer, pairs, *, rule="backtrack", kernel=None,
                 coupling_quantiles=(0.5, 0.5), backtrack_rate=1.0, partner_axis=None,
                 collapse_below=0.5, revival=0.75):
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"`optimizer` must be a torch.optim.Optimizer, got {type(optimizer)}")
        check_choice("rule", rule, RULES)
        if kernel is None:
            kernel = "linear" if rule == "backtrack" else "sqrt"
        check_choice("kernel", kernel, KERNELS)
        if not isinstance(coupling_quantiles, tuple | list) or len(coupling_quantiles) != 2:
            raise ValueError(f"`coupling_quantiles` must be two numbers in [0, 1], got "
                             f"{coupling_quantiles!r}")
        for quantile in coupling_quantiles:
            check_in_range("coupling_quantiles", quantile, 0, 1)
        check_in_range("backtrack_rate", backtrack_rate, 0, 1, closed=(False, True))
        if partner_axis is None:
            partner_axis = 0 if rule == "backtrack" else 1
        check_nonnegative("collapse_below", collapse_below)
        check_nonnegative("revival", revival)
        if isinstance(partner_axis, bool) or not isinstance(partner_axis, numbers.Integral):
            raise ValueError(f"`partner_axis` must be None or an integer, got {partner_axis!r}")
        try:
            pairs = list(pairs)
        except TypeError:
            raise TypeError(f"`pairs` must be a list of (Tensor, Tensor) pairs, got "
                            f"{type(pairs).__name__}") from None
        if not pairs:
            raise ValueError("`pairs` must contain at least one (x, w) pair, got []")
        seen = set()
        for index, pair in enumerate(pairs):
            if not isinstance(pair, tuple | list) or len(pair) != 2 \
                    or not all(isinstance(t, Tensor) for t in pair):
                got = ([type(t).__name__ for t in pair] if isinstance(pair, tuple | list)
                       else type(pair).__name__)  # one line: no tensor reprs
                raise TypeError(f"`pairs[{index}]` must be a (Tensor, Tensor) pair, got {got}")
            x, w = pair
            if not (x.dtype.is_floating_point and w.dtype.is_floating_point):
                raise TypeError(f"`pairs[{index}]` must hold floating-point tensors, got "
                                f"{x.dtype} and {w.dtype}")
            if x.ndim != 1 or x.shape[0] == 0:
                raise ValueError(f"`pairs[{index}][0]` must be 1-D with at least one unit, got "
                                 f"shape {tuple(x.shape)}")
            if not -w.ndim <= partner_axis < w.ndim or w.shape[partner_axis] != x.shape[0]:
                raise ValueError(
                    f"`pairs[{index}][1]` must have {x.shape[0]} units on axis {partner_axis}, "
                    f"got shape {tuple(w.shape)}"
                )
            if id(x) in seen or id(w) in seen or x is w:
                raise ValueError(f"`pairs[{index}]` repeats a tensor of an earlier pair; every "
                                 "tensor may appear in one pair only")
            seen.update((id(x), id(w)))
        defaults = dict(rule=rule, kernel=kernel,
                        coupling_quantiles=tuple(float(q) for q in coupling_quantiles),
                        backtrack_rate=float(backtrack_rate), partner_axis=int(partner_axis),
                        collapse_below=float(collapse_below), revival=float(revival))
        groups = [{"params": [x for x, _ in pairs], "role": "mask"},
                  {"params": [w for _, w in pairs], "role": "coupled"}]
        super().__init__(groups, defaults)  # validates the groups into `coupling_groups`
        self.optimizer = optimizer

    @property
    def param_groups(self) -> list[dict]:
        """The base optimizer's param groups (what LR schedulers read and set)."""
        if "optimizer" not in self.__dict__:  # inside torch.optim.Optimizer.__init__
            return self.coupling_groups
        return self.optimizer.param_groups

    @param_groups.setter
    def param_groups(self, groups):
        # only torch.optim.Optimizer.__init__ assigns it, before the coupling groups are added
        self.coupling_groups = groups

    @property
    def pairs(self) -> list[tuple[Tensor, Tensor]]:
        """The ``(x, w)`` pairs, in the order given."""
        masks, coupled = self._groups()
        return list(zip(masks["params"], coupled["params"], strict=True))

    def _groups(self):
        masks = next(g for g in self.coupling_groups if g["role"] == "mask")
        coupled = next(g for g in self.coupling_groups if g["role"] == "coupled")
        return masks, coupled

    def add_param_group(self, param_group):
        """Add a group to the base optimizer (the coupling pairs are fixed at construction)."""
        if "optimizer" not in self.__dict__:  # inside torch.optim.Optimizer.__init__
            return super().add_param_group(param_group)
        return self.optimizer.add_param_group(param_group)

    def _snapshot_missing_anchors(self):
        masks, coupled = self._groups()
        if masks["rule"] != "backtrack":
            return
        for p in masks["params"] + coupled["params"]:
            if "anchor" not in self.state[p]:
                self.state[p]["anchor"] = p.detach().clone()

    @torch.no_grad()
    def step(self, closure=None):
        """One step of the base optimizer (anchors are taken before the very first step).

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; passed to the base optimizer.

        Returns
        -------
        The loss returned by the base optimizer's ``step``.
        """
        self._snapshot_missing_anchors()
        if closure is None:
            return self.optimizer.step()
        return self.optimizer.step(closure)

    def zero_grad(self, set_to_none: bool = True):
        """Clear gradients through the base optimizer and of the paired tensors."""
        self.optimizer.zero_grad(set_to_none=set_to_none)
        for group in self.coupling_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    @torch.no_grad()
    def couple(self) -> CouplingReport:
        """Apply the coupling rule once (call at the end of every epoch).

        For ``'backtrack'`` the anchors are then re-taken from the current values (the start of
        the next epoch). A pair holding NaN or infinite values (after a NaN gradient, say) is
        left unchanged with a ``RuntimeWarning`` naming it, since its scores rank nothing.

        Returns
        -------
        CouplingReport
        """
        self._snapshot_missing_anchors()
        masks, coupled = self._groups()
        flagged, sizes = [], []
        for index, (x, w) in enumerate(zip(masks["params"], coupled["params"], strict=True)):
            if not (bool(torch.isfinite(x).all()) and bool(torch.isfinite(w).all())):
                warnings.warn(f"CoGD.couple: pair {index} (shapes {tuple(x.shape)} and "
                              f"{tuple(w.shape)}) holds NaN or infinite values (a NaN gradient or "
                              "loss?); the coupling rule left it unchanged", RuntimeWarning,
                              stacklevel=2)
                flagged.append(0)
                sizes.append(int(x.shape[0]))
                continue
            if masks["rule"] == "revival":
                new = revival_update(x, w, partner_axis=masks["partner_axis"],
                                     kernel=masks["kernel"],
                                     quantile=masks["coupling_quantiles"][1],
                                     collapse_below=masks["collapse_below"],
                                     revival=masks["revival"])
                flagged.append(int((new != x).sum()))
                x.copy_(new)
            else:
                result = backtrack_update(
                    x, w, self.state[x]["anchor"], self.state[w]["anchor"],
                    partner_axis=masks["partner_axis"], kernel=masks["kernel"],
                    coupling_quantiles=masks["coupling_quantiles"],
                    backtrack_rate=masks["backtrack_rate"],
                )
                x.copy_(result.sparse)
                w.copy_(result.partner)
                self.state[x]["anchor"] = x.detach().clone()
                self.state[w]["anchor"] = w.detach().clone()
                flagged.append(int(result.units.sum()))
            sizes.append(int(x.shape[0]))
        return CouplingReport(n_flagged=tuple(flagged), n_units=tuple(sizes))

    def _coupled_params(self):
        return [p for group in self.coupling_groups for p in group["params"]]

    def state_dict(self):
        """``{"cogd": coupling state and groups, "optimizer": base optimizer state_dict}``.

        ``"cogd"`` has torch's layout: ``"state"`` maps the index of a paired tensor (masks
        first, then partners) to its anchor, ``"param_groups"`` holds the hyperparameters with
        ``"params"`` as indices.
        """
        index = {id(p): i for i, p in enumerate(self._coupled_params())}
        state = {index[id(p)]: dict(values) for p, values in self.state.items() if values}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.coupling_groups]
        return {"cogd": {"state": state, "param_groups": groups},
                "optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state_dict):
        """Load a dict produced by :meth:`state_dict` (into a newly built CoGD).

        Raises
        ------
        ValueError
            If the saved pairs do not match this optimizer's pairs in number or shapes.
        """
        saved = state_dict["cogd"]
        params = self._coupled_params()
        sizes = [len(g["params"]) for g in saved["param_groups"]]
        if sizes != [len(g["params"]) for g in self.coupling_groups]:
            raise ValueError(f"`state_dict` holds {sizes} coupled tensors per group, this CoGD "
                             f"{[len(g['params']) for g in self.coupling_groups]}")
        for index, values in saved["state"].items():
            anchor = values["anchor"]
            if anchor.shape != params[int(index)].shape:
                raise ValueError(f"`state_dict` anchor {index} has shape {tuple(anchor.shape)}, "
                                 f"its tensor {tuple(params[int(index)].shape)}")
        self.state.clear()
        for index, values in saved["state"].items():
            p = params[int(index)]
            self.state[p] = {k: v.to(p.device, p.dtype) for k, v in values.items()}
        for group, saved_group in zip(self.coupling_groups, saved["param_groups"], strict=True):
            group.update({k: v for k, v in saved_group.items() if k != "params"})
        self.optimizer.load_state_dict(state_dict["optimizer"])
