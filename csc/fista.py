"""Masked convolutional sparse coding by FISTA, with a lazily backtracked step.

Same problem, data layout and result type as :func:`csc.coding.admm_sparse_code` (see
:mod:`csc.coding`, which holds what the two solvers share).
"""

import math

from ._kernels import fista_update
from .coding import SparseCode, check_coding_arguments, code_synthesizer
from .fourier import analyze, spatial, spectra

__all__ = ["fista_sparse_code"]


def fista_sparse_code(
    signal, weights, filters_hat, *, sparsity_weight, max_iter=100, tol=None,
    non_negative=False, initial_codes=None, callback=None, filter_size=None, step_scale=1.0, xp,
):
    """Masked convolutional sparse coding by FISTA.

    Kernel: the caller validates inputs. The gradient of the data term is
    ``D^T (W (D Y - S))`` at the extrapolated point ``Y = X_k + b (X_k - X_{k-1})``; the step is
    ``step_scale / L`` with ``L = max_f lambda_max(A_f A_f^H)`` bounded by the trace
    ``sum_{k,c} |d_hat_{k,c,f}|^2``, exact for one channel (and an upper bound for ``W <= 1``).
    ``D Y = D X_k + b (D X_k - D X_{k-1})`` by linearity, and ``D X_k`` is synthesised from the
    sparse codes (as in :func:`csc.coding.admm_sparse_code`), so an iteration takes one
    code-size FFT (the inverse one of ``D^T``).

    With missing pixels the data term's Lipschitz constant is smaller than ``L`` (about half of
    it when half the pixels are missing at random), so a step above ``1 / L`` converges faster.
    ``step_scale > 1`` tries such a step and checks, at every iteration, the quadratic upper bound
    that FISTA's convergence rests on, ``f(X+) <= f(Y) + <grad f(Y), X+ - Y> + ||X+ - Y||^2 /
    (2 step)`` (its terms come out of the update kernel and the synthesis at no extra FFT); when
    it fails, the step is halved (down to ``1 / L``, where it always holds) and the momentum is
    restarted (Beck and Teboulle 2009, sec. 4, with the backtracking done lazily).

    Parameters
    ----------
    signal, weights, filters_hat, sparsity_weight, non_negative
        As in :func:`csc.coding.admm_sparse_code`.
    max_iter : int
    tol : float or None
        Stop when ``||X_new - X|| <= tol * ||X_new||``.
    initial_codes : ndarray of shape (n_images, n_filters, Hp, Wp) or None
    callback : callable(int) or None
        Called with the iteration number after every iteration (progress reporting).
    filter_size : int or None
        As in :func:`csc.coding.admm_sparse_code`: enables the sparse synthesis of ``D X``.
    step_scale : float in [1, 4]
        First step ``step_scale / L``; 1 is the classical, always valid step.

    Returns
    -------
    SparseCode
        ``reconstruction`` is ``D X`` of the returned codes on the padded grid; ``history`` has
        the ``step_scale`` in force at every iteration.

    References
    ----------
    Beck and Teboulle, "A Fast Iterative Shrinkage-Thresholding Algorithm", SIAM J. Imaging
    Sciences 2009, doi:10.1137/080716542.
    """
    check_coding_arguments(**locals())  # O(1): shapes, dtypes and scalars only
    grid = signal.shape[-2:]
    lipschitz = max(float(xp.max(xp.sum((filters_hat * filters_hat.conj()).real, axis=(0, 1)))),
                    1e-30)
    scale = float(step_scale)
    if initial_codes is None:
        initial_codes = xp.zeros((signal.shape[0], filters_hat.shape[0]) + tuple(grid),
                                 signal.dtype)
    codes = xp.array(initial_codes, dtype=signal.dtype, copy=True, order="C")
    momentum = codes.copy()
    synthesize_codes = code_synthesizer(filters_hat, filter_size, grid, xp=xp)
    DX = spatial(synthesize_codes(codes, xp.count_nonzero(codes, axis=-1)), grid, xp=xp)
    DY = DX
    adjoint_hat = filters_hat.conj()
    history = {"step_scale": []}
    t, converged = 1.0, False
    # code-size buffers written at every iteration (fresh arrays would be fresh pages each time)
    gradient_hat = gradient = None
    for n_iter in range(1, max_iter + 1):
        difference = DY - signal
        residual = weights * difference
        gradient_hat = analyze(adjoint_hat, spectra(residual, xp=xp), conjugated=True, xp=xp,
                               out=gradient_hat)
        gradient = spatial(gradient_hat, grid, xp=xp, out=gradient)
        t, t_prev = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t)), t
        inertia = (t_prev - 1.0) / t
        previous = codes.copy() if tol is not None else None
        step = scale / lipschitz
        row_nnz, along, squared = fista_update(
            codes, momentum, xp.ascontiguousarray(gradient, dtype=signal.dtype), step=step,
            threshold=step * sparsity_weight, inertia=inertia, non_negative=non_negative, xp=xp)
        history["step_scale"].append(scale)
        DX_previous, DX = DX, spatial(synthesize_codes(codes, row_nnz), grid, xp=xp)
        if scale > 1 and _above_quadratic_bound(DX, DY, signal, weights, residual, difference,
                                                along, squared, step, xp=xp):
            scale, t, DY = max(scale / 2, 1.0), 1.0, DX  # smaller step, momentum restarted
            momentum[...] = codes
        else:
            DY = DX + inertia * (DX - DX_previous)
        if tol is not None:
            change = float(xp.linalg.norm(codes - previous))
            converged = change <= tol * max(float(xp.linalg.norm(codes)), 1e-30)
        if callback is not None:
            callback(n_iter)
        if converged:
            break
    return SparseCode(codes, n_iter, converged, history=history, reconstruction=DX)


def _above_quadratic_bound(DX, DY, signal, weights, residual, difference, along, squared, step,
                           *, xp):
    """Whether ``f(X) > f(Y) + along + squared / (2 step)`` for ``f = 1/2 ||W^1/2 (D . - S)||^2``
    (``residual = W (DY - S)``, ``difference = DY - S``), with a relative tolerance for rounding."""
    data_y = 0.5 * float(xp.sum(residual * difference, dtype=xp.float64))
    new_difference = DX - signal
    data_x = 0.5 * float(xp.sum(weights * new_difference * new_difference, dtype=xp.float64))
    bound = data_y + along + squared / (2 * step)
    return data_x > bound + 1e-6 * abs(bound)
