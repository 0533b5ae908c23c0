"""The one-hidden-layer binarized teacher-student model of SPEC section 6 and its RVSCGD trainer.

The network :math:`y(Z, w) = \\tfrac1k\\sum_i 1\\{Z_i\\cdot w > 0\\}` (:func:`toy_output`) learns a
teacher :math:`w^*` from Gaussian inputs. :func:`coarse_gradient` is the sample coarse gradient,
:func:`population_coarse_gradient` and :func:`population_loss` its closed-form expectations, and
:func:`rvscgd_toy` runs relaxed variable splitting coarse gradient descent (Algorithm 1 of [1]_)
and returns an :class:`RVSCGDResult`. ``examples/rvscgd_toy.py`` reproduces the paper's Fig. 4
setting with it.

References
----------
.. [1] Dinh, T., Xin, J. "Convergence of a relaxed variable splitting coarse gradient
   descent method for learning sparse weight binarized activation neural network",
   Front. Appl. Math. Stat. 6:13 (2020), doi:10.3389/fams.2020.00013.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from csc.validation import check_choice, check_int, check_positive

from ._checks import as_generator
from .prox import PENALTIES, prox_penalty

__all__ = [
    "RVSCGDResult",
    "coarse_gradient",
    "population_coarse_gradient",
    "population_loss",
    "rvscgd_toy",
    "toy_output",
]


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

    Examples
    --------
    >>> import torch
    >>> inputs = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # one sample, two patches
    >>> toy_output(inputs, torch.tensor([1.0, -1.0]))
    tensor([0.5000])
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

    Examples
    --------
    >>> import torch
    >>> inputs = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> coarse_gradient(inputs, torch.tensor([1.0, -1.0]), torch.tensor([-1.0, -1.0]))
    tensor([0.2500, 0.0000])
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

    Examples
    --------
    >>> import torch
    >>> population_coarse_gradient(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]),
    ...                            n_patches=1)
    tensor([ 0.1995, -0.1995])
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

    Examples
    --------
    >>> import torch
    >>> population_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), n_patches=1)
    0.25
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
               random_state=None) -> RVSCGDResult:
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
    random_state : None, int or torch.Generator
        Seed of the draws (an integer seeds a new generator; None uses torch's global one).

    Returns
    -------
    RVSCGDResult

    Raises
    ------
    ValueError
        On non-positive hyper-parameters, an unknown ``penalty``, a zero ``teacher`` or a
        ``random_state`` that is not None, an integer >= 0 or a generator.

    Notes
    -----
    For :math:`t = 0, 1, \dots`:
    :math:`u_{t+1} = \operatorname{prox}_{(\lambda/\beta) P}(w_t)`,
    :math:`\tilde w = w_t - \eta\,(g(w_t, Z_t) + \beta(w_t - u_{t+1}))`,
    :math:`w_{t+1} = \tilde w/\|\tilde w\|`.

    Examples
    --------
    >>> import torch
    >>> result = rvscgd_toy(torch.tensor([1.0, 0.0, -1.0, 0.0]), n_patches=2,
    ...                     sparsity_weight=1e-3, coupling=1e-2, step_size=1.0, max_iter=50,
    ...                     batch_size=64, record_every=10,
    ...                     random_state=0)
    >>> result.iterations
    (0, 10, 20, 30, 40, 50)
    >>> result.angle_sparse[-1] < result.angle_sparse[0], result.sparsity[-1]
    (True, 0.5)
    """
    for name, value in (("sparsity_weight", sparsity_weight), ("coupling", coupling),
                        ("step_size", step_size), ("a", a)):
        check_positive(name, value)
    for name, value in (("n_patches", n_patches), ("max_iter", max_iter),
                        ("batch_size", batch_size), ("record_every", record_every)):
        check_int(name, value, 1)
    check_choice("penalty", penalty, PENALTIES)
    generator = as_generator(random_state)
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
    for t in range(max_iter + 1):
        u = prox_penalty(w, threshold_weight, penalty=penalty, a=a)
        if t % record_every == 0 or t == max_iter:
            inputs = torch.randn(batch_size, n_patches, n_features, generator=generator)
            residual = toy_output(inputs, w) - toy_output(inputs, teacher)
            history["iterations"].append(t)
            history["batch_loss"].append(0.5 * float((residual ** 2).mean()))
            history["loss"].append(population_loss(u, teacher, n_patches=n_patches))
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
