"""Fused kernels of the solvers (Numba on NumPy arrays, array expressions elsewhere).

ADMM's split, prox and dual updates are elementwise; the dictionary step's frequency-domain
solve and Gram matrix are sums over filters or images at every frequency; the synthesis of
sparse codes touches only their non-zeros. As array expressions these take several memory passes
and allocate temporaries (or, for the synthesis, an FFT of code size). On NumPy one Numba loop
does each in one or two passes; on CuPy the same maths runs as array expressions. (Serial loops:
``parallel=True`` measured no faster here, the kernels are memory-bound, and its threads compete
with the FFT's.)
"""

import numpy as np

from .fourier import filter_adjoint
from .fourier import synthesize as _synthesize_expression
from .linalg import gram as _gram_expression
from .linalg import woodbury_solve
from .prox import soft_threshold

__all__ = ["shrink_dual_update", "sparse_synthesis", "fista_update", "synthesize", "gram",
           "consensus_filter_step"]

try:  # numba is a dependency; keep the module importable where its JIT is unavailable
    import numba
except ImportError:  # pragma: no cover
    numba = None

if numba is not None:

    @numba.njit(fastmath=True, cache=True)
    def _shrink_dual_update_numba(correlation, Y, U, relaxation, threshold, non_negative,
                                  row_nnz):
        for r in range(Y.shape[0]):
            count = 0
            for i in range(Y.shape[1]):
                v = Y[r, i] + (1 - relaxation) * U[r, i] + relaxation * correlation[r, i]
                if non_negative:
                    y = max(v - threshold, 0.0)
                else:
                    y = max(v - threshold, 0.0) - max(-v - threshold, 0.0)
                Y[r, i] = y
                U[r, i] = v - y
                count += y != 0
            row_nnz[r] = count

    @numba.njit(fastmath=True, cache=True)
    def _sparse_synthesis_numba(codes, row_nnz, filters, out):
        n_filters, n_channels, size_y, size_x = filters.shape
        height, width = out.shape[2], out.shape[3]
        out[:] = 0
        for row in range(row_nnz.size):
            if row_nnz[row] == 0:
                continue
            y = row % height
            k = (row // height) % n_filters
            n = row // (height * n_filters)
            for x in range(width):
                value = codes[row, x]
                if value == 0:
                    continue
                split = min(size_x, width - x)  # columns x + j, j < split, do not wrap
                for c in range(n_channels):
                    for i in range(size_y):
                        r = y + i - height if y + i >= height else y + i
                        for j in range(split):
                            out[n, c, r, x + j] += filters[k, c, i, j] * value
                        for j in range(split, size_x):
                            out[n, c, r, x + j - width] += filters[k, c, i, j] * value

    @numba.njit(fastmath=True, cache=True)
    def _fista_update_numba(codes, momentum, gradient, step, threshold, inertia, non_negative,
                            row_nnz, sums):
        for r in range(codes.shape[0]):
            count = 0
            along = 0.0  # <gradient, new - momentum>
            squared = 0.0  # ||new - momentum||^2
            for i in range(codes.shape[1]):
                v = momentum[r, i] - step * gradient[r, i]
                if non_negative:
                    y = max(v - threshold, 0.0)
                else:
                    y = max(v - threshold, 0.0) - max(-v - threshold, 0.0)
                move = y - momentum[r, i]
                along += move * gradient[r, i]
                squared += move * move
                momentum[r, i] = y + inertia * (y - codes[r, i])
                codes[r, i] = y
                count += y != 0
            row_nnz[r] = count
            sums[r, 0] = along
            sums[r, 1] = squared

    @numba.njit(fastmath=True, cache=True)
    def _synthesize_numba(filters_hat, codes_hat, out):
        n_filters, n_channels, n_freq = filters_hat.shape
        out[:] = 0
        for n in range(codes_hat.shape[0]):
            for c in range(n_channels):
                for k in range(n_filters):
                    for f in range(n_freq):
                        out[n, c, f] += filters_hat[k, c, f] * codes_hat[n, k, f]

    @numba.njit(fastmath=True, cache=True)
    def _gram_numba(operator_hat, out):
        m, n_columns, n_freq = operator_hat.shape
        out[:] = 0
        for k in range(n_columns):
            for i in range(m):
                for j in range(i, m):
                    for f in range(n_freq):
                        out[i, j, f] += operator_hat[i, k, f] * operator_hat[j, k, f].conjugate()
        for i in range(m):
            for j in range(i):
                for f in range(n_freq):
                    out[i, j, f] = out[j, i, f].conjugate()

    @numba.njit(fastmath=True, cache=True)
    def _consensus_filter_step_numba(codes_hat, data_hat, filters_hat, duals_hat, codes_gram,
                                     inverse, bounds, rho_data, rho_filter, relaxation,
                                     average_out, data_out):
        # per group g (images bounds[g]:bounds[g + 1]; n, i, j count from bounds[g]) with filter
        # term F = G - U_g: X rhs = rho_filter X F + rho_data (X X^H) B, so two passes over the
        # codes suffice; then U_g <- G + (1 - relaxation) U_g + relaxation X^H weight / rho
        n_filters, n_freq = codes_hat.shape[1:]
        n_channels = data_hat.shape[1]
        size = codes_gram.shape[1]
        projected = np.empty((size, n_freq), dtype=codes_hat.dtype)
        weight = np.empty((size, n_freq), dtype=codes_hat.dtype)
        average_out[:] = 0
        total_rho = rho_filter.sum()
        for g in range(bounds.size - 1):
            first, n_images = bounds[g], bounds[g + 1] - bounds[g]
            gram, inv, rho, dual = codes_gram[g], inverse[g], rho_filter[g], duals_hat[g]
            share = rho / total_rho
            for c in range(n_channels):
                for n in range(n_images):
                    for f in range(n_freq):
                        projected[n, f] = 0
                    for k in range(n_filters):
                        for f in range(n_freq):
                            projected[n, f] += codes_hat[first + n, k, f] * (
                                filters_hat[k, c, f] - dual[k, c, f])
                    for f in range(n_freq):
                        projected[n, f] *= rho
                    for j in range(n_images):
                        for f in range(n_freq):
                            projected[n, f] += rho_data * gram[n, j, f] * data_hat[first + j, c, f]
                for i in range(n_images):  # solved = C^-1 projected; weight = rho_data B - solved
                    for f in range(n_freq):
                        weight[i, f] = 0
                    for j in range(n_images):
                        for f in range(n_freq):
                            weight[i, f] += inv[i, j, f] * projected[j, f]
                    for f in range(n_freq):
                        data_out[first + i, c, f] = weight[i, f] / rho_data
                        weight[i, f] = relaxation / rho * (
                            rho_data * data_hat[first + i, c, f] - weight[i, f])
                for k in range(n_filters):  # d = F + X^H weight / rho, relaxed, plus U_g
                    for f in range(n_freq):
                        dual[k, c, f] = filters_hat[k, c, f] + (1 - relaxation) * dual[k, c, f]
                    for n in range(n_images):
                        for f in range(n_freq):
                            dual[k, c, f] += codes_hat[first + n, k, f].conjugate() * weight[n, f]
                    for f in range(n_freq):
                        average_out[k, c, f] += share * dual[k, c, f]


def shrink_dual_update(correlation, Y, U, *, relaxation, threshold, non_negative=False, xp):
    """Relaxed soft-threshold split and scaled dual update of ADMM, fused and in place.

    With the primal iterate written as ``X = Y - U + correlation`` (the Woodbury form of the
    coding step), ``v = relaxation X + (1 - relaxation) Y + U
    = Y + (1 - relaxation) U + relaxation correlation``; then ``Y <- soft(v, threshold)`` and
    ``U <- v - Y``.

    Parameters
    ----------
    correlation : ndarray of shape (..., Wp)
        ``D^H w`` (read only).
    Y, U : ndarrays of the shape and dtype of ``correlation``, C-contiguous
        Overwritten.
    relaxation, threshold : float
    non_negative : bool

    Returns
    -------
    ndarray of int of shape ``Y.shape[:-1]``
        Number of non-zero entries of the new ``Y`` in each row (last axis).
    """
    if xp is np and numba is not None and correlation.flags.c_contiguous:
        dtype = Y.dtype.type
        width = Y.shape[-1]
        row_nnz = np.empty(Y.shape[:-1], dtype=np.int32)
        _shrink_dual_update_numba(correlation.reshape(-1, width), Y.reshape(-1, width),
                                  U.reshape(-1, width), dtype(relaxation), dtype(threshold),
                                  bool(non_negative), row_nnz.ravel())
        return row_nnz
    v = Y + (1 - relaxation) * U + relaxation * correlation
    Y[...] = soft_threshold(v, threshold, non_negative=non_negative, xp=xp)
    U[...] = v - Y
    return xp.count_nonzero(Y, axis=-1)


def sparse_synthesis(codes, row_nnz, filters, *, xp):
    """``sum_k d_k (*) x_k`` (circular, on the padded grid) by scattering the non-zero codes.

    Costs ``nnz * s^2 * n_channels`` multiply-adds plus a scan of the rows that hold non-zeros:
    cheaper than the FFTs of the codes when the codes are sparse. NumPy only (Numba); other
    backends use the FFT.

    Parameters
    ----------
    codes : ndarray of shape (n_images, n_filters, Hp, Wp), C-contiguous
    row_nnz : ndarray of int of shape (n_images, n_filters, Hp)
        Number of non-zeros per row of ``codes``; rows counted zero are skipped.
    filters : ndarray of shape (n_filters, n_channels, s, s)
        The filters' support window (top-left of the padded grid), ``s`` at most the grid.

    Returns
    -------
    ndarray of shape (n_images, n_channels, Hp, Wp)
    """
    if xp is not np or numba is None:
        raise NotImplementedError("sparse_synthesis needs NumPy arrays and Numba")
    out = np.empty((codes.shape[0], filters.shape[1]) + codes.shape[2:], dtype=codes.dtype)
    _sparse_synthesis_numba(codes.reshape(-1, codes.shape[-1]), np.ravel(row_nnz),
                            np.ascontiguousarray(filters, dtype=codes.dtype), out)
    return out


def fista_update(codes, momentum, gradient, *, step, threshold, inertia, non_negative=False, xp):
    """Proximal gradient step and FISTA extrapolation, fused and in place.

    ``new = soft(momentum - step * gradient, threshold)``, then
    ``momentum <- new + inertia * (new - codes)`` and ``codes <- new``.

    Parameters
    ----------
    codes, momentum : ndarrays of one shape (..., W) and dtype, C-contiguous
        Overwritten.
    gradient : ndarray of that shape and dtype (read only)
    step, threshold, inertia : float
    non_negative : bool

    Returns
    -------
    row_nnz : ndarray of int of shape ``codes.shape[:-1]``
        The number of non-zero new codes in every row (for :func:`sparse_synthesis`).
    along, squared : float
        ``<gradient, new - momentum>`` and ``||new - momentum||^2`` (the terms of the quadratic
        upper bound that a step-size test needs), summed in float64.
    """
    if xp is np and numba is not None and codes.flags.c_contiguous \
            and momentum.flags.c_contiguous and gradient.flags.c_contiguous:
        dtype = codes.dtype.type
        width = codes.shape[-1]
        row_nnz = np.empty(codes.shape[:-1], dtype=np.int64)
        sums = np.empty((row_nnz.size, 2), dtype=np.float64)
        _fista_update_numba(codes.reshape(-1, width), momentum.reshape(-1, width),
                            gradient.reshape(-1, width), dtype(step), dtype(threshold),
                            dtype(inertia), bool(non_negative), row_nnz.reshape(-1), sums)
        along, squared = sums.sum(axis=0)
        return row_nnz, float(along), float(squared)
    new = soft_threshold(momentum - step * gradient, threshold, non_negative=non_negative, xp=xp)
    move = new - momentum
    along = float(xp.sum(move * gradient, dtype=xp.float64))
    squared = float(xp.sum(move * move, dtype=xp.float64))
    momentum[...] = new + inertia * (new - codes)
    codes[...] = new
    return xp.count_nonzero(codes, axis=-1), along, squared


def synthesize(filters_hat, codes_hat, *, xp):
    """Spectrum of ``sum_k d_k (*) x_k`` (:func:`csc.fourier.synthesize`), in one pass on NumPy.

    Parameters
    ----------
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
    codes_hat : ndarray of shape (n_images, n_filters, Hp, Wq)

    Returns
    -------
    ndarray of shape (n_images, n_channels, Hp, Wq)
    """
    if xp is not np or numba is None or not (filters_hat.flags.c_contiguous
                                             and codes_hat.flags.c_contiguous) \
            or filters_hat.dtype != codes_hat.dtype:
        return _synthesize_expression(filters_hat, codes_hat, xp=xp)
    n_filters, n_channels = filters_hat.shape[:2]
    out = np.empty((codes_hat.shape[0], n_channels) + codes_hat.shape[2:], codes_hat.dtype)
    _synthesize_numba(filters_hat.reshape(n_filters, n_channels, -1),
                      codes_hat.reshape(codes_hat.shape[0], n_filters, -1),
                      out.reshape(out.shape[0], n_channels, -1))
    return out


def gram(operator_hat, *, xp):
    """``A_f A_f^H`` for every frequency (:func:`csc.linalg.gram`), in one pass on NumPy.

    Parameters
    ----------
    operator_hat : ndarray of shape (m, K, Hp, Wq)

    Returns
    -------
    ndarray of shape (m, m, Hp, Wq)
    """
    m = operator_hat.shape[0]
    if xp is not np or numba is None or m == 1 or not operator_hat.flags.c_contiguous:
        return _gram_expression(operator_hat, xp=xp)
    freq = operator_hat.shape[2:]
    out = np.empty((m, m) + freq, dtype=operator_hat.dtype)
    _gram_numba(operator_hat.reshape(m, operator_hat.shape[1], -1), out.reshape(m, m, -1))
    return out


def consensus_filter_step(codes_hat, data_hat, filters_hat, duals_hat, inverse, *, codes_gram,
                          bounds, rho_data, rho_filter, relaxation, xp):
    """One relaxed ADMM filter step of every image group (consensus), in the frequency domain.

    Group ``g`` (images ``bounds[g]:bounds[g + 1]``, codes ``X_g``, filter copy ``d_g``) solves
    ``(rho_data X_g^H X_g + rho_g I) d_g = rho_data X_g^H B_g + rho_g (G - U_g)`` at every
    frequency by Woodbury with its ``m_g x m_g`` capacitance; then ``U_g <- relaxation d_g +
    (1 - relaxation) G + U_g`` (in place) and the ``rho_g``-weighted average of the new ``U_g``
    is returned for the projection. On NumPy one fused kernel makes two passes over the codes and
    the duals per channel (``X rhs`` is formed from ``X (G - U_g)`` and the Gram matrix);
    elsewhere the groups are solved one after the other by :func:`csc.linalg.woodbury_solve`.

    Parameters
    ----------
    codes_hat : ndarray of shape (n_images, n_filters, Hp, Wq)
    data_hat : ndarray of shape (n_images, n_channels, Hp, Wq)
        Spectrum ``B`` of the data term.
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
        Spectrum of the projected filters ``G``.
    duals_hat : ndarray of shape (n_groups, n_filters, n_channels, Hp, Wq), C-contiguous
        Spectra of the scaled duals ``U_g``; overwritten.
    inverse : ndarray of shape (n_groups, m, m, Hp, Wq)
        Group ``g``'s :func:`csc.linalg.capacitance_inverse` with shift ``rho_g / rho_data`` in
        ``inverse[g, :m_g, :m_g]`` (``m`` the largest group).
    codes_gram : ndarray of shape (n_groups, m, m, Hp, Wq)
        Each group's :func:`gram` of its codes, laid out like ``inverse``.
    bounds : sequence of n_groups + 1 ints
        Group boundaries along the image axis, from 0 to ``n_images``.
    rho_data : float
    rho_filter : sequence of n_groups floats
        ``rho_g``.
    relaxation : float

    Returns
    -------
    average_hat : ndarray of the shape of ``filters_hat``
        ``sum_g rho_g U_g / sum_g rho_g`` of the updated duals.
    Xd_hat : ndarray of the shape of ``data_hat``
        ``X_g d_g`` of every image.
    """
    rho_filter = [float(rho) for rho in rho_filter]
    if xp is np and numba is not None and duals_hat.flags.c_contiguous:
        n_images, n_filters = codes_hat.shape[:2]
        n_groups, _, n_channels = duals_hat.shape[:3]
        size = inverse.shape[1]
        n_freq = codes_hat.shape[2] * codes_hat.shape[3]
        dtype = duals_hat.dtype
        real = duals_hat.real.dtype
        average_hat = np.empty(filters_hat.shape, dtype=dtype)
        Xd_hat = np.empty(data_hat.shape, dtype=dtype)
        square = (n_groups, size, size, n_freq)
        _consensus_filter_step_numba(
            np.ascontiguousarray(codes_hat, dtype=dtype).reshape(n_images, n_filters, n_freq),
            np.ascontiguousarray(data_hat, dtype=dtype).reshape(n_images, n_channels, n_freq),
            np.ascontiguousarray(filters_hat, dtype=dtype).reshape(n_filters, n_channels, n_freq),
            duals_hat.reshape(n_groups, n_filters, n_channels, n_freq),
            np.ascontiguousarray(codes_gram, dtype=dtype).reshape(square),
            np.ascontiguousarray(inverse, dtype=dtype).reshape(square),
            np.asarray(bounds, dtype=np.int64), real.type(rho_data),
            np.asarray(rho_filter, dtype=real), real.type(relaxation),
            average_hat.reshape(n_filters, n_channels, n_freq),
            Xd_hat.reshape(n_images, n_channels, n_freq),
        )
        return average_hat, Xd_hat
    average_hat, Xd_hat = xp.zeros_like(filters_hat), xp.empty_like(data_hat)
    for g, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        group_codes, rho, m = codes_hat[start:stop], rho_filter[g], stop - start
        rhs = (rho_data * filter_adjoint(group_codes, data_hat[start:stop], xp=xp)
               + rho * (filters_hat - duals_hat[g]))
        d_hat, Xd_hat[start:stop] = woodbury_solve(
            rhs, inverse[g, :m, :m], lambda v, codes=group_codes: synthesize(v, codes, xp=xp),
            lambda w, codes=group_codes: filter_adjoint(codes, w, xp=xp), rho_a=rho_data, rho_b=rho,
            axis=0, xp=xp,
        )
        duals_hat[g] += relaxation * d_hat + (1 - relaxation) * filters_hat
        average_hat += rho / sum(rho_filter) * duals_hat[g]
    return average_hat, Xd_hat
