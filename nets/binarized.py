"""Binarized activations, sparse thresholding and relaxed variable splitting (RVSCGD).

Contents
--------
- :class:`BinarizedReLU`: forward :math:`1\\{x > 0\\}`, straight-through backward.
- Thresholding (proximal) operators of :math:`\\ell_0`, :math:`\\ell_1` and transformed
  :math:`\\ell_1`: :func:`prox_l0`, :func:`prox_l1`, :func:`prox_transformed_l1`,
  dispatched by :func:`prox_penalty`.
- The one-hidden-layer teacher-student model of SPEC section 6: :func:`toy_output`,
  :func:`coarse_gradient`, :func:`population_coarse_gradient`, :func:`population_loss`
  and the trainer :func:`rvscgd_toy`.
- :class:`RVS`: relaxed variable splitting for the conv/linear weights of any model.

References
----------
.. [1] Dinh, T., Xin, J. "Convergence of a relaxed variable splitting coarse gradient
   descent method for learning sparse weight binarized activation neural network",
   Front. Appl. Math. Stat. 6:13 (2020), doi:10.3389/fams.2020.00013.
.. [2] Zhang, S., Xin, J. "Minimization of transformed L1 penalty: closed form
   representation and iterative thresholding algorithms", Commun. Math. Sci. 15 (2017)
   511-537, doi:10.4310/CMS.2017.v15.n2.a9.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = [
    "BinarizedReLU",
    "RVS",
    "RVSCGDResult",
    "binarized_relu",
    "coarse_gradient",
    "population_coarse_gradient",
    "population_loss",
    "prox_l0",
    "prox_l1",
    "prox_penalty",
    "prox_transformed_l1",
    "prunable_weights",
    "rvscgd_toy",
    "toy_output",
    "transformed_l1",
]

_STRAIGHT_THROUGH = ("relu", "clipped_relu")
_PENALTIES = ("l0", "l1", "transformed_l1")


# --- binarized activation -------------------------------------------------------------


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

    Examples
    --------
    >>> import torch
    >>> binarized_relu(torch.tensor([-1.0, 0.0, 0.3, 2.0]))
    tensor([0., 0., 1., 1.])
    """
    if straight_through not in _STRAIGHT_THROUGH:
        raise ValueError(f"`straight_through` must be one of {_STRAIGHT_THROUGH}, "
                         f"got {straight_through!r}")
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
        if straight_through not in _STRAIGHT_THROUGH:
            raise ValueError(f"`straight_through` must be one of {_STRAIGHT_THROUGH}, "
                             f"got {straight_through!r}")
        self.straight_through = straight_through

    def forward(self, x: Tensor) -> Tensor:
        return _BinarizedReLUFunction.apply(x, self.straight_through == "clipped_relu")

    def extra_repr(self) -> str:
        return f"straight_through={self.straight_through!r}"


# --- thresholding operators ---------------------------------------------------------------


def prox_l1(x: Tensor, lam: float) -> Tensor:
    r"""Soft thresholding: :math:`\arg\min_u \tfrac12(u-x)^2 + \lambda|u|`, elementwise.

    Parameters
    ----------
    x : Tensor of any shape
    lam : float, >= 0

    Returns
    -------
    Tensor of the shape of ``x``.
    """
    return torch.sign(x) * torch.clamp(x.abs() - lam, min=0)


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
    """
    return (a + 1.0) * x.abs() / (a + x.abs())


def prox_transformed_l1(x: Tensor, lam: float, *, a: float) -> Tensor:
    r"""Closed-form thresholding of transformed :math:`\ell_1` (Zhang & Xin 2017, [2]_).

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
    """
    if penalty == "l0":
        return prox_l0(x, lam)
    if penalty == "l1":
        return prox_l1(x, lam)
    if penalty == "transformed_l1":
        return prox_transformed_l1(x, lam, a=a)
    raise ValueError(f"`penalty` must be one of {_PENALTIES}, got {penalty!r}")


# --- the one-hidden-layer teacher-student model ---------------------------------------------


def toy_output(inputs: Tensor, weight: Tensor) -> Tensor:
    r"""Network output :math:`y(Z, w) = \tfrac1k\sum_i \sigma(Z_i\cdot w)`.

    Parameters
    ----------
    inputs : Tensor of shape (n_samples, n_patches, n_features)
        :math:`Z`, one row per non-overlapping patch.
    weight : Tensor of shape (n_features,)

    Returns
    -------
    Tensor of shape (n_samples,)
    """
    return (inputs @ weight > 0).to(inputs.dtype).mean(dim=1)


def coarse_gradient(inputs: Tensor, weight: Tensor, teacher: Tensor) -> Tensor:
    r"""Sample mean of the coarse gradient :math:`g(w, Z)` of the toy model.

    Parameters
    ----------
    inputs : Tensor of shape (n_samples, n_patches, n_features)
    weight, teacher : Tensor of shape (n_features,)

    Returns
    -------
    Tensor of shape (n_features,)

    Notes
    -----
    :math:`g(w, Z) = (y(Z,w) - y(Z,w^*))\,\tfrac1k\sum_i \mu'(Z_i\cdot w) Z_i` with
    :math:`\mu'(x) = 1\{x>0\}` (ReLU derivative in place of :math:`\sigma' = 0`).
    """
    pre = inputs @ weight
    residual = (pre > 0).to(inputs.dtype).mean(dim=1) - toy_output(inputs, teacher)
    active = (pre > 0).to(inputs.dtype)
    per_sample = (active.unsqueeze(-1) * inputs).mean(dim=1)
    return (residual.unsqueeze(-1) * per_sample).mean(dim=0)


def _angle(x: Tensor, y: Tensor) -> float:
    denom = float(x.norm() * y.norm())
    if denom == 0.0:
        return math.pi / 2
    return math.acos(max(-1.0, min(1.0, float(x @ y) / denom)))


def population_coarse_gradient(weight: Tensor, teacher: Tensor, *, n_patches: int) -> Tensor:
    r"""Expected coarse gradient for :math:`Z_{ij}` i.i.d. :math:`N(0, 1)`.

    Parameters
    ----------
    weight, teacher : Tensor of shape (n_features,), non-zero
    n_patches : int
        :math:`k`.

    Returns
    -------
    Tensor of shape (n_features,)

    Notes
    -----
    Cross-patch terms vanish by independence, leaving
    :math:`\tfrac1k E[z\,1\{z\cdot w>0,\ z\cdot w^*\le0\}]`. Projected on the plane of
    :math:`w, w^*` this is a Gaussian integral over a wedge of angle :math:`\theta`,
    :math:`\sin(\theta/2)/\sqrt{2\pi}` times its unit bisector, which is
    :math:`(\hat w - \hat w^*)/(2\sin(\theta/2))`. Hence

    .. math:: E_Z[g(w, Z)] = \frac{1}{2k\sqrt{2\pi}}\Big(\frac{w}{\|w\|}
              - \frac{w^*}{\|w^*\|}\Big),

    a positive multiple of :math:`w - w^*` when :math:`\|w\| = \|w^*\| = 1`.
    """
    direction = weight / weight.norm() - teacher / teacher.norm()
    return direction / (2.0 * n_patches * math.sqrt(2.0 * math.pi))


def population_loss(weight: Tensor, teacher: Tensor, *, n_patches: int) -> float:
    r"""Population risk :math:`f(w) = E_Z[\tfrac12(y(Z,w)-y(Z,w^*))^2] = \theta/(2k\pi)`.

    Parameters
    ----------
    weight, teacher : Tensor of shape (n_features,)
    n_patches : int

    Returns
    -------
    float

    Notes
    -----
    Only the diagonal patch terms survive; each is :math:`P(\sigma(z\cdot w) \ne
    \sigma(z\cdot w^*)) = \theta/\pi`. The formula assumes a non-zero ``weight``.
    """
    return _angle(weight, teacher) / (2.0 * math.pi * n_patches)


@dataclass(frozen=True)
class RVSCGDResult:
    """Result of :func:`rvscgd_toy`.

    Attributes
    ----------
    sparse_weight : Tensor of shape (n_features,)
        The learned sparse weight :math:`u` (the paper's output).
    weight : Tensor of shape (n_features,)
        The dense, unit-norm :math:`w`.
    iterations : tuple of int
        Iteration numbers at which the history was recorded.
    loss : tuple of float
        Population risk of :math:`u` (:math:`\\theta(u, w^*)/(2k\\pi)`).
    batch_loss : tuple of float
        Empirical loss of :math:`w` on that iteration's mini-batch.
    angle_sparse, angle_dense : tuple of float
        :math:`\\theta(u, w^*)` and :math:`\\theta(w, w^*)` in radians.
    sparsity : tuple of float
        Fraction of zeros in :math:`u`.
    """

    sparse_weight: Tensor
    weight: Tensor
    iterations: tuple
    loss: tuple
    batch_loss: tuple
    angle_sparse: tuple
    angle_dense: tuple
    sparsity: tuple


def rvscgd_toy(teacher: Tensor, *, n_patches: int, penalty: str = "l0",
               sparsity_weight: float = 1e-4, coupling: float = 4e-3, step_size: float = 1e-5,
               max_iter: int = 1000, batch_size: int = 256, a: float = 1.0,
               initial_weight: Tensor | None = None, record_every: int = 1,
               generator: torch.Generator | None = None) -> RVSCGDResult:
    r"""RVSCGD (Algorithm 1 of [1]_) on the one-hidden-layer teacher-student model.

    Parameters
    ----------
    teacher : Tensor of shape (n_features,)
        :math:`w^*` (any non-zero scale; the model is scale invariant).
    n_patches : int
        :math:`k`.
    penalty : {"l0", "l1", "transformed_l1"}, default "l0"
    sparsity_weight : float, default 1e-4
        :math:`\lambda > 0`.
    coupling : float, default 4e-3
        :math:`\beta > 0`.
    step_size : float, default 1e-5
        :math:`\eta > 0`.
    max_iter : int, default 1000
    batch_size : int, default 256
        Fresh Gaussian samples :math:`Z` per iteration for the empirical coarse gradient.
    a : float, default 1.0
        Transformed-:math:`\ell_1` parameter.
    initial_weight : Tensor of shape (n_features,) or None
        :math:`w_0` (normalised); random Gaussian direction if None.
    record_every : int, default 1
    generator : torch.Generator or None

    Returns
    -------
    RVSCGDResult

    Raises
    ------
    ValueError
        On non-positive hyper-parameters, an unknown ``penalty`` or a zero ``teacher``.

    Notes
    -----
    For :math:`t = 0, 1, \dots`:
    :math:`u_{t+1} = \operatorname{prox}_{(\lambda/\beta) P}(w_t)`,
    :math:`\tilde w = w_t - \eta\,(g(w_t, Z_t) + \beta(w_t - u_{t+1}))`,
    :math:`w_{t+1} = \tilde w/\|\tilde w\|`.
    """
    for name, value in (("sparsity_weight", sparsity_weight), ("coupling", coupling),
                        ("step_size", step_size), ("a", a)):
        if not value > 0:
            raise ValueError(f"`{name}` must be > 0, got {value!r}")
    for name, value in (("n_patches", n_patches), ("max_iter", max_iter),
                        ("batch_size", batch_size), ("record_every", record_every)):
        if not (isinstance(value, int) and value >= 1):
            raise ValueError(f"`{name}` must be an int >= 1, got {value!r}")
    if penalty not in _PENALTIES:
        raise ValueError(f"`penalty` must be one of {_PENALTIES}, got {penalty!r}")
    teacher = torch.as_tensor(teacher, dtype=torch.float32)
    if teacher.dim() != 1 or float(teacher.norm()) == 0.0:
        raise ValueError(f"`teacher` must be a non-zero 1-D tensor, got shape "
                         f"{tuple(teacher.shape)}")
    n_features = teacher.numel()
    if initial_weight is None:
        w = torch.randn(n_features, generator=generator)
    else:
        w = torch.as_tensor(initial_weight, dtype=torch.float32).clone()
    w = w / w.norm()
    threshold_weight = sparsity_weight / coupling
    history = {key: [] for key in ("iterations", "loss", "batch_loss", "angle_sparse",
                                   "angle_dense", "sparsity")}
    u = prox_penalty(w, threshold_weight, penalty=penalty, a=a)
    for t in range(max_iter + 1):
        u = prox_penalty(w, threshold_weight, penalty=penalty, a=a)
        if t % record_every == 0 or t == max_iter:
            inputs = torch.randn(batch_size, n_patches, n_features, generator=generator)
            residual = toy_output(inputs, w) - toy_output(inputs, teacher)
            history["iterations"].append(t)
            history["batch_loss"].append(0.5 * float((residual ** 2).mean()))
            history["loss"].append(_angle(u, teacher) / (2.0 * math.pi * n_patches))
            history["angle_sparse"].append(_angle(u, teacher))
            history["angle_dense"].append(_angle(w, teacher))
            history["sparsity"].append(float((u == 0).float().mean()))
        if t == max_iter:
            break
        inputs = torch.randn(batch_size, n_patches, n_features, generator=generator)
        grad = coarse_gradient(inputs, w, teacher)
        w_tilde = w - step_size * (grad + coupling * (w - u))
        w = w_tilde / w_tilde.norm()
    return RVSCGDResult(sparse_weight=u, weight=w,
                        **{key: tuple(value) for key, value in history.items()})


# --- relaxed variable splitting for general models ------------------------------------------


def prunable_weights(model: nn.Module) -> list[Tensor]:
    """Weights of every ``nn.Conv*d`` and ``nn.Linear`` sub-module of ``model``.

    Parameters
    ----------
    model : nn.Module

    Returns
    -------
    list of nn.Parameter
    """
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
       :class:`BinarizedReLU`);
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
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"`{name}` must be a number > 0, got {value!r}")
        if penalty not in _PENALTIES:
            raise ValueError(f"`penalty` must be one of {_PENALTIES}, got {penalty!r}")
        self.params = list(params)
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
