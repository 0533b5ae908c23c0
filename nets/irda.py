"""Iterative regularized dual averaging (iRDA) for sparse CNNs.

The update maths lives in the pure function :func:`irda_update`, testable on bare tensors; the
optimizer :class:`IRDA` is a thin :class:`~nets.optim.ProximalOptimizer` around it.
:func:`irda_init_` is the paper's large-scale initialisation and :func:`irda_param_groups`
chooses which parameters get the :math:`\\ell_1` term. The proximal-SGD baselines are in
:mod:`nets.prox_sgd`, the zero counting in :mod:`nets.sparsity`.

References
----------
.. [1] Jia, X., Zhao, L., Zhang, L., He, J., Xu, J. "Modified regularized dual averaging
   method for training sparse convolutional neural networks", arXiv:1807.04222.
.. [2] Xiao, L. "Dual averaging methods for regularized stochastic learning and online
   optimization", JMLR 11 (2010) 2543-2596.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from csc.validation import check_choice, check_int, check_nonnegative, check_positive

from ._checks import as_generator, check_module
from .optim import ProximalOptimizer
from .prox import prox_l1

__all__ = [
    "IRDA",
    "irda_init_",
    "irda_param_groups",
    "irda_update",
]

_CENTERS = ("zero", "initial")
_RETRAIN_MODES = ("restart", "continue")


# --- pure update function ----------------------------------------------------------------


def irda_update(grad_avg: Tensor, grad: Tensor, *, step: int, sparsity_weight: float,
                gamma: float, weight: Tensor | None = None,
                center: Tensor | None = None) -> tuple[Tensor, Tensor]:
    r"""One iRDA iteration (Algorithm 1 of [1]_) on bare tensors.

    Parameters
    ----------
    grad_avg : Tensor of shape (...)
        Running average :math:`\bar g_{t-1}` (zeros at ``step == 1``).
    grad : Tensor of shape (...)
        Stochastic gradient :math:`g_t` at the current weights :math:`w_t`.
    step : int
        Iteration counter :math:`t \ge 1` (counted over steps 1 and 2 together).
    sparsity_weight : float
        :math:`\lambda \ge 0`.
    gamma : float
        :math:`\gamma > 0` in :math:`\beta_t = \gamma\sqrt t`.
    weight : Tensor of shape (...) or None
        Current weights :math:`w_t`. If given (step 2, "iterative retraining"), gradient
        entries at zero weights are set to zero before averaging and those weights stay
        zero.
    center : Tensor of shape (...) or None
        Proximal centre :math:`w_0`; None means :math:`w_0 = 0` (Algorithm 1).

    Returns
    -------
    new_weight : Tensor of shape (...)
        :math:`w_{t+1}`.
    new_grad_avg : Tensor of shape (...)
        :math:`\bar g_t`.

    Notes
    -----
    With :math:`h(w) = \tfrac12\|w\|^2` centred at :math:`w_0 = 0`,

    .. math::

        \bar g_t = \tfrac{t-1}{t}\bar g_{t-1} + \tfrac1t g_t,\qquad
        w_{t+1} = \arg\min_w \langle \bar g_t, w\rangle + \lambda\|w\|_1
                  + \tfrac{\beta_t}{2t}\|w\|^2
                = -\tfrac{\sqrt t}{\gamma}\, S_\lambda(\bar g_t).

    A coordinate is zero exactly when :math:`|\bar g_t| \le \lambda`. In step 2 a zero
    coordinate receives no new gradient, so its :math:`|\bar g_t|` only decays by the
    factor :math:`(t-1)/t` and it stays zero: the support can only shrink.

    With a centre :math:`w_0` (Xiao's RDA, equations (12)-(15) of [1]_, with
    :math:`h(w) = \tfrac12\|w - w_0\|^2`) the minimiser is
    :math:`S_{\sqrt t\lambda/\gamma}(w_0 - (\sqrt t/\gamma)\bar g_t)`; the same formula
    with :math:`w_0 = 0`. There a zero coordinate is not automatically kept at zero in
    step 2, so it is set to zero explicitly (retraining updates only non-zero weights).

    Examples
    --------
    >>> import torch
    >>> weight, grad_avg = irda_update(torch.zeros(2), torch.tensor([0.5, -0.3]), step=1,
    ...                                sparsity_weight=0.1, gamma=2.0)
    >>> weight
    tensor([-0.2000,  0.1000])
    """
    if weight is not None:
        grad = torch.where(weight == 0, torch.zeros_like(grad), grad)
    new_grad_avg = grad_avg * ((step - 1) / step) + grad / step
    scale = math.sqrt(step) / gamma
    if center is None:
        new_weight = prox_l1(new_grad_avg, sparsity_weight) * (-scale)
    else:
        new_weight = prox_l1(center - scale * new_grad_avg, scale * sparsity_weight)
    if weight is not None:
        new_weight = torch.where(weight == 0, torch.zeros_like(new_weight), new_weight)
    return new_weight, new_grad_avg


# --- optimizer -------------------------------------------------------------------------


class IRDA(ProximalOptimizer):
    r"""Iterative regularized dual averaging for :math:`\ell_1`-regularized networks.

    Parameters
    ----------
    params : iterable of Tensor or dict
        Parameters or parameter groups; each group may override ``sparsity_weight``,
        ``gamma`` and ``retrain_after``.
    sparsity_weight : float, default 1e-4
        :math:`\lambda \ge 0` of the :math:`\ell_1` term (0 gives plain dual averaging).
    gamma : float, default 1.0
        :math:`\gamma > 0` in :math:`\beta_t = \gamma\sqrt t`; the effective step size is
        about :math:`1/(\gamma\sqrt t)`.
    retrain_after : int or None, default None
        Switch a group to step 2 (iterative retraining) once its counter exceeds this
        many iterations, i.e. for :math:`t > T`. ``None``: only :meth:`start_retraining`
        switches.
    center : {"zero", "initial"}, default "zero"
        Proximal centre :math:`w_0` of :math:`h(w) = \tfrac12\|w - w_0\|^2`. ``"zero"`` is
        Algorithm 1 of [1]_ (:math:`w_0 = 0`, the initial weights only enter through the
        first gradient). ``"initial"`` is Xiao's RDA centred at the weights found at the
        first step (equation (12) of [1]_); an extension, not the paper's Algorithm 1,
        useful for networks without normalisation layers, where the first
        zero-centred step :math:`w_2 = -S_\lambda(g_1)/\gamma` can leave a dead network.
    retrain_mode : {"restart", "continue"}, default "restart"
        How step 2 continues. ``"continue"`` is Algorithm 1 of [1]_: the same counter, the
        same running average and :math:`\beta_t = \gamma\sqrt t`. ``"restart"`` (the
        default; an extension, not in the paper) restarts the dual average at the switch: with
        :math:`T` the iterations of step 1 and :math:`\tau = t - T`, step 2 is the same
        closed form (:func:`irda_update`, masked) centred at the weights :math:`w_{T+1}`
        reached by step 1, with :math:`\beta_\tau = \gamma\sqrt{T}\sqrt\tau`. Its first
        step has the size :math:`1/(\gamma\sqrt T)` of the last step of step 1 and the size
        then decays as :math:`1/\sqrt\tau` instead of staying near
        :math:`1/(\gamma\sqrt T)`, so the iterate settles (see Notes).

    Raises
    ------
    ValueError
        If ``sparsity_weight < 0``, ``gamma <= 0``, ``retrain_after`` is not None or a
        non-negative int, or ``center`` or ``retrain_mode`` is unknown.

    Notes
    -----
    Step 1 (:math:`t \le T`) is RDA, :func:`irda_update` without mask:
    :math:`w_{t+1} = -(\sqrt t/\gamma)\,\operatorname{sign}(\bar g_t)
    \max(|\bar g_t| - \lambda, 0)`. The starting weights :math:`w_1` (see
    :func:`irda_init_`) enter only through the gradients; the proximal centre is
    :math:`w_0 = 0`.

    Step 2 (:math:`t > T`) with ``retrain_mode="continue"``, our reading of Algorithm 1 of
    [1]_: the update rule is *still the RDA closed form* (equation (31) is identical to
    (28)), with the same counter :math:`t` and the same running average :math:`\bar g`,
    continued; the only change is that gradient entries at weights that are currently zero
    are set to zero before they enter the average (equations (29)-(30)). It is not plain
    SGD on the surviving weights.
    Consequences: zeros stay zero (their :math:`|\bar g|` decays), surviving weights can
    still be thresholded to zero, so sparsity is non-decreasing during step 2.

    With ``retrain_mode="restart"`` the same holds (masked gradients, zeros stay zero), on
    the restarted average and the restarted counter :math:`\tau`.

    The counter :math:`t` is kept per parameter in ``state["step"]``; the running
    average in ``state["grad_avg"]``; with ``"restart"``, from the switch on,
    ``state["retrain_start"]`` (:math:`T`) and ``state["center"]``. All round-trip through
    ``state_dict``.

    The effective step size :math:`1/(\gamma\sqrt t)` has no schedule beyond
    :math:`1/\sqrt t`, so late in a short run the iterate still moves much more per step
    than SGD after a learning-rate decay (on the digits CNN of ``examples/irda_digits.py``,
    about 2 % of each kernel's norm per step in the last epoch, against 0.02 % for SGD).
    BatchNorm running statistics, averaged over the last few batches, then describe
    weights that are no longer there: re-estimate them on training data before evaluating
    (:func:`irda_param_groups` keeps BatchNorm parameters out of the :math:`\ell_1` term if
    wanted). Even with re-estimated statistics the iterate itself does not settle during
    the paper's step 2 (``retrain_mode="continue"``): on that CNN the training accuracy
    measured after each of the last 10 of 30 epochs drops to between 76 % and 96 % at some
    epoch on every one of 10 seeds, so the final accuracy depends on where the run happens
    to stop, and tiny floating-point differences between machines change it by several
    points. With ``retrain_mode="restart"`` it stays between 98.8 % and 100 % on every seed
    (``examples/irda_digits.py --trace``, ``benchmarks/results/sparse_training.md``).

    References
    ----------
    .. [1] Jia et al., "Modified regularized dual averaging method for training sparse
       convolutional neural networks", arXiv:1807.04222.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Linear(4, 2)
    >>> opt = IRDA(model.parameters(), sparsity_weight=1e-3, gamma=1.0, retrain_after=100)
    >>> loss = model(torch.ones(3, 4)).pow(2).sum()
    >>> loss.backward()
    >>> _ = opt.step()
    """

    def __init__(self, params, *, sparsity_weight=1e-4, gamma=1.0, retrain_after=None,
                 center="zero", retrain_mode="restart"):
        check_nonnegative("sparsity_weight", sparsity_weight)
        check_positive("gamma", gamma)
        if retrain_after is not None:
            check_int("retrain_after", retrain_after, 0)
        check_choice("center", center, _CENTERS)
        check_choice("retrain_mode", retrain_mode, _RETRAIN_MODES)
        defaults = dict(sparsity_weight=sparsity_weight, gamma=gamma,
                        retrain_after=retrain_after, retraining=False, center=center,
                        retrain_mode=retrain_mode)
        super().__init__(params, defaults)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("retrain_after", None)
            group.setdefault("retraining", False)
            group.setdefault("center", "zero")
            group.setdefault("retrain_mode", "continue")

    def start_retraining(self):
        """Switch every parameter group to step 2 (masked RDA) from the next step on."""
        for group in self.param_groups:
            group["retraining"] = True

    def in_retraining(self, group_index=0):
        """Whether group ``group_index`` will use step 2 at its next iteration."""
        group = self.param_groups[group_index]
        if group["retraining"]:
            return True
        steps = [int(self.state[p]["step"]) for p in group["params"] if p in self.state]
        after = group["retrain_after"]
        return after is not None and bool(steps) and max(steps) + 1 > after

    def _update(self, param, group):
        """One iRDA iteration of ``param`` (:func:`irda_update`); state created on first use."""
        state = self.state[param]
        if len(state) == 0:
            state["step"] = 0
            state["grad_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            if group["center"] == "initial":
                state["center"] = param.detach().clone()
        t = int(state["step"]) + 1
        after = group["retrain_after"]
        masked = group["retraining"] or (after is not None and t > after)
        step, gamma = t, group["gamma"]
        if masked and group["retrain_mode"] == "restart":
            if "retrain_start" not in state:  # first step 2 iteration: restart the average
                state["retrain_start"] = t - 1
                state["center"] = param.detach().clone()
                state["grad_avg"] = torch.zeros_like(state["grad_avg"])
            start = int(state["retrain_start"])
            step, gamma = t - start, gamma * math.sqrt(max(start, 1))
        new_weight, state["grad_avg"] = irda_update(
            state["grad_avg"], param.grad, step=step, sparsity_weight=group["sparsity_weight"],
            gamma=gamma, weight=param if masked else None, center=state.get("center"))
        param.copy_(new_weight)
        state["step"] = t


# --- initialisation and parameter groups ---------------------------------------------


def irda_init_(module: nn.Module, *, scale: float, random_state=None):
    r"""Initialise conv/linear weights for iRDA: uniform, zero mean, std :math:`s/\sqrt n`.

    Parameters
    ----------
    module : nn.Module
        Every ``nn.Conv*d`` and ``nn.Linear`` sub-module (or the module itself) gets
        ``weight ~ U(-b, b)`` with :math:`b = \sqrt 3\, s/\sqrt n`; biases are zeroed.
    scale : float
        :math:`s > 0`. The paper uses :math:`s \gg \sqrt 2` (10 to 100).
    random_state : None, int or torch.Generator
        Seed of the draws (an integer seeds a new generator; None uses torch's global one).

    Returns
    -------
    nn.Module
        ``module``, modified in place.

    Raises
    ------
    TypeError
        If ``module`` is not a module.
    ValueError
        If ``scale <= 0`` or ``random_state`` is not None, an integer >= 0 or a generator.

    Notes
    -----
    Equation (25) of the iRDA paper: :math:`\sigma = \sqrt{s^2/n}`, :math:`n = k^2 c`
    (fan-in: kernel area times input channels; ``in_features`` for linear layers).

    Examples
    --------
    >>> import torch
    >>> layer = irda_init_(torch.nn.Linear(3, 2), scale=10.0)  # bound sqrt(3) * 10 / sqrt(3)
    >>> bool(layer.weight.abs().max() <= 10.0), layer.bias.tolist()
    (True, [0.0, 0.0])
    """
    check_module("module", module)
    check_positive("scale", scale)
    generator = as_generator(random_state)
    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    with torch.no_grad():
        for sub in module.modules():
            if not isinstance(sub, kinds):
                continue
            fan_in = sub.weight[0].numel()
            bound = math.sqrt(3.0) * scale / math.sqrt(fan_in)
            noise = torch.rand(sub.weight.shape, generator=generator, dtype=sub.weight.dtype)
            sub.weight.copy_((2 * noise - 1) * bound)
            if sub.bias is not None:
                sub.bias.zero_()
    return module


def irda_param_groups(model: nn.Module, *, penalize: str = "all") -> list[dict]:
    r"""Parameter groups for :class:`IRDA`: which parameters get the :math:`\ell_1` term.

    Parameters
    ----------
    model : nn.Module
    penalize : {"all", "weights"}, default "all"
        ``"all"``: one group with every parameter; the optimizer's ``sparsity_weight`` and
        ``center`` apply to all of them (Algorithm 1 of [1]_ applied literally; the paper's
        :math:`\sigma` counts all parameters). ``"weights"``: conv/linear kernels (names
        ending in ``weight``, at least two dimensions) in a first group with the optimizer's
        defaults; every other parameter (biases, BatchNorm scales and shifts) in a second
        group with ``sparsity_weight=0`` and ``center="initial"``, i.e. plain dual averaging
        started from their initial values, so the first step does not reset BatchNorm
        scales to :math:`-g_1/\gamma`. An extension, not in the paper.

    Returns
    -------
    list of dict
        Groups for ``IRDA(groups, ...)``; empty groups are left out.

    Raises
    ------
    ValueError
        If ``penalize`` is unknown.

    Examples
    --------
    >>> import torch
    >>> kernels, others = irda_param_groups(torch.nn.Linear(3, 2), penalize="weights")
    >>> len(kernels["params"]), len(others["params"]), others["sparsity_weight"]
    (1, 1, 0.0)
    """
    check_choice("penalize", penalize, ("all", "weights"))
    named = list(model.named_parameters())
    if penalize == "all":
        return [{"params": [p for _, p in named]}]
    kernels = [p for n, p in named if n.endswith("weight") and p.dim() >= 2]
    kernel_ids = {id(p) for p in kernels}
    others = [p for _, p in named if id(p) not in kernel_ids]
    groups = []
    if kernels:
        groups.append({"params": kernels})
    if others:
        groups.append({"params": others, "sparsity_weight": 0.0, "center": "initial"})
    return groups
