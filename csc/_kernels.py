"""Fused elementwise kernels (Numba on NumPy arrays, array expressions elsewhere).

ADMM's split, prox and dual updates are elementwise; as array expressions they take several
memory passes and allocate temporaries. On NumPy one Numba loop does them in a single pass into
buffers owned by the solver; on CuPy the same maths runs as array expressions. (A serial loop
measured faster than ``parallel=True`` here: the update is memory-bound.)
"""

import numpy as np

from .prox import soft_threshold

__all__ = ["shrink_dual_update", "fista_update"]

try:  # numba is a dependency; keep the module importable where its JIT is unavailable
    import numba
except ImportError:  # pragma: no cover
    numba = None

if numba is not None:

    @numba.njit(fastmath=True, cache=True)
    def _shrink_dual_update_numba(X, Y, U, difference, relaxation, threshold, non_negative):
        for i in range(X.size):
            v = relaxation * X[i] + (1 - relaxation) * Y[i] + U[i]
            if non_negative:
                y = max(v - threshold, 0.0)
            else:
                y = max(v - threshold, 0.0) - max(-v - threshold, 0.0)
            Y[i] = y
            U[i] = v - y
            difference[i] = y - (v - y)

    @numba.njit(fastmath=True, cache=True)
    def _fista_update_numba(codes, momentum, gradient, step, threshold, inertia, non_negative):
        for i in range(codes.size):
            v = momentum[i] - step * gradient[i]
            if non_negative:
                y = max(v - threshold, 0.0)
            else:
                y = max(v - threshold, 0.0) - max(-v - threshold, 0.0)
            momentum[i] = y + inertia * (y - codes[i])
            codes[i] = y


def shrink_dual_update(X, Y, U, difference, *, relaxation, threshold, non_negative=False, xp):
    """Relaxed soft-threshold split and scaled dual update of ADMM, fused and in place.

    With ``v = relaxation X + (1 - relaxation) Y + U``: ``Y <- soft(v, threshold)``,
    ``U <- v - Y`` and ``difference <- Y - U`` (the next right-hand side term).

    Parameters
    ----------
    X : ndarray
        Primal variable (read only).
    Y, U, difference : ndarrays of the shape and dtype of ``X``, C-contiguous
        Overwritten.
    relaxation, threshold : float
    non_negative : bool
    """
    if xp is np and numba is not None and X.flags.c_contiguous:
        dtype = X.dtype.type
        _shrink_dual_update_numba(X.ravel(), Y.ravel(), U.ravel(), difference.ravel(),
                                  dtype(relaxation), dtype(threshold), bool(non_negative))
        return
    v = relaxation * X + (1 - relaxation) * Y + U
    Y[...] = soft_threshold(v, threshold, non_negative=non_negative, xp=xp)
    U[...] = v - Y
    difference[...] = Y - U


def fista_update(codes, momentum, gradient, *, step, threshold, inertia, non_negative=False, xp):
    """Proximal gradient step and FISTA extrapolation, fused and in place.

    ``new = soft(momentum - step * gradient, threshold)``, then
    ``momentum <- new + inertia * (new - codes)`` and ``codes <- new``.

    Parameters
    ----------
    codes, momentum : ndarrays of one shape and dtype, C-contiguous
        Overwritten.
    gradient : ndarray of that shape and dtype (read only)
    step, threshold, inertia : float
    non_negative : bool
    """
    if xp is np and numba is not None and codes.flags.c_contiguous \
            and momentum.flags.c_contiguous and gradient.flags.c_contiguous:
        dtype = codes.dtype.type
        _fista_update_numba(codes.ravel(), momentum.ravel(), gradient.ravel(), dtype(step),
                            dtype(threshold), dtype(inertia), bool(non_negative))
        return
    new = soft_threshold(momentum - step * gradient, threshold, non_negative=non_negative, xp=xp)
    momentum[...] = new + inertia * (new - codes)
    codes[...] = new
