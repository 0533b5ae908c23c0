"""Convolutional sparse coding with the filters fixed: ADMM, masked, batched.

Problem (on the padded grid, see :mod:`csc.fourier`)::

    min_X  1/2 sum W * (S - sum_k d_k (*) X_k)^2 + lam * ||X||_1

with ``W`` the data weights (mask, zero on the padding). Also what the FISTA solver
(:mod:`csc.fista`) shares with ADMM: the result type, the objective, the synthesis of ``D X``
from sparse codes and the argument checks.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from . import _kernels
from ._kernels import gram, shrink_dual_update
from .backend import array_module
from .fourier import analyze, crop_filters, spatial, spectra, synthesize
from .linalg import apply_capacitance, capacitance_inverse
from .prox import data_split_update
from .validation import (
    check_bool,
    check_callable,
    check_in_range,
    check_int,
    check_nonnegative,
    check_positive,
    check_representable,
)

__all__ = [
    "CodingState",
    "SparseCode",
    "admm_sparse_code",
    "objective_terms",
    "reconstruct_spatial",
    "code_synthesizer",
    "SPARSE_SYNTHESIS_BUDGET",
    "check_coding_arguments",
]


@dataclass
class CodingState:
    """Warm-start state of :func:`admm_sparse_code` (all spatial, padded grid).

    Attributes
    ----------
    split : ndarray of shape (n_images, n_channels, Hp, Wp)
        Data split ``Y1 ~ D X``.
    split_dual : ndarray of shape (n_images, n_channels, Hp, Wp)
        Scaled dual ``U1``.
    codes : ndarray of shape (n_images, n_filters, Hp, Wp)
        Sparse split ``Y2 ~ X``: the returned, exactly sparse coefficient maps.
    codes_dual : ndarray of shape (n_images, n_filters, Hp, Wp)
        Scaled dual ``U2``.
    """

    split: object
    split_dual: object
    codes: object
    codes_dual: object

    @classmethod
    def zeros(cls, n_images, n_channels, n_filters, grid_shape, *, dtype, xp):
        signal_shape = (n_images, n_channels) + tuple(grid_shape)
        code_shape = (n_images, n_filters) + tuple(grid_shape)
        return cls(
            xp.zeros(signal_shape, dtype), xp.zeros(signal_shape, dtype),
            xp.zeros(code_shape, dtype), xp.zeros(code_shape, dtype),
        )


@dataclass(frozen=True)
class SparseCode:
    """Result of a sparse coding solver.

    Attributes
    ----------
    coefficients : ndarray of shape (n_images, n_filters, Hp, Wp)
        Sparse coefficient maps on the padded grid.
    n_iter : int
    converged : bool
        Whether the tolerance was met (always False when ``tol`` is None).
    state : CodingState or None
        ADMM variables for a warm start (None for FISTA).
    history : dict
        Per-iteration ``primal_residual``/``dual_residual`` (ADMM).
    reconstruction : ndarray of shape (n_images, n_channels, Hp, Wp) or None
        ``D @ coefficients`` on the padded grid when the solver has it at no extra FFT (ADMM).
    """

    coefficients: object
    n_iter: int
    converged: bool
    state: object = None
    history: dict = field(default_factory=dict)
    reconstruction: object = None


def reconstruct_spatial(filters_hat, codes, grid_shape, *, xp):
    """``sum_k d_k (*) X_k`` on the padded grid, shape ``(n_images, n_channels, Hp, Wp)``."""
    return spatial(synthesize(filters_hat, spectra(codes, xp=xp), xp=xp), grid_shape, xp=xp)


def objective_terms(signal, weights, filters_hat, codes, *, sparsity_weight, reconstruction=None,
                    xp):
    """Data term ``1/2 sum W (S - D X)^2`` and ``l1`` term ``lam ||X||_1``, summed in float64.

    Parameters
    ----------
    signal : ndarray of shape (n_images, n_channels, Hp, Wp)
    weights : ndarray broadcastable to ``signal``
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
    codes : ndarray of shape (n_images, n_filters, Hp, Wp)
    reconstruction : ndarray of the shape of ``signal`` or None
        ``D X`` when the caller has it already (saves its FFTs); computed when None.

    Returns
    -------
    (float, float)

    Raises
    ------
    ValueError, TypeError
        Arrays of other shapes or dtypes, or a negative ``sparsity_weight`` (naming it).
    """
    check_coding_arguments(signal, weights, filters_hat, sparsity_weight=sparsity_weight,
                           codes=codes, reconstruction=reconstruction, xp=xp)
    if reconstruction is None:
        reconstruction = reconstruct_spatial(filters_hat, codes, signal.shape[-2:], xp=xp)
    residual = reconstruction - signal
    data = 0.5 * float(xp.sum(weights * residual * residual, dtype=xp.float64))
    l1 = sparsity_weight * float(xp.sum(xp.abs(codes), dtype=xp.float64))
    return data, l1


def admm_sparse_code(
    signal, weights, filters_hat, *, sparsity_weight, rho_data, rho_sparse, max_iter=10,
    tol=None, relaxation=1.8, non_negative=False, state=None, filter_size=None, xp,
):
    """Masked convolutional sparse coding by ADMM with a per-frequency Woodbury solve.

    Kernel: the caller validates inputs. Splits ``Y1 = D X`` (masked data prox) and ``Y2 = X``
    (soft threshold); the ``X`` update solves ``(rho_data D^H D + rho_sparse I) X = rhs`` at every
    frequency with a capacitance over channels (Sherman-Morrison for one channel) factored once.

    One FFT of code size per iteration: by Woodbury ``X = Y2 - U2 + D^H w`` with ``w`` of signal
    size, so only ``D^H w`` is transformed back; ``D Y2`` is synthesised from the sparse ``Y2``
    (:func:`csc._kernels.sparse_synthesis`, when ``filter_size`` is given on NumPy) and ``D U2``
    follows from the update ``U2 = v - Y2`` (its recursion contracts by ``|1 - relaxation| < 1``,
    so rounding does not accumulate; it is recomputed by one FFT at the start of every call).

    Parameters
    ----------
    signal : ndarray of shape (n_images, n_channels, Hp, Wp)
        Zero-padded signal.
    weights : ndarray broadcastable to ``signal``
        Data weights: 1 observed, 0 missing or padding.
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wp // 2 + 1)
    sparsity_weight : float
        ``lam``.
    rho_data, rho_sparse : float
        ADMM penalties of the data and sparsity splits.
    max_iter : int
    tol : float or None
        Stop when the relative primal and dual residuals (:func:`_relative_residuals`) fall
        below ``tol``; None runs ``max_iter`` iterations.
    relaxation : float
        Over-relaxation parameter in (0, 2) (Boyd et al. 2011, sec. 3.4.3).
    non_negative : bool
        Constrain the codes to be non-negative.
    state : CodingState or None
        Warm start; zeros when None.
    filter_size : int or None
        Side ``s`` of the filters' support (top-left ``s x s`` window of the grid). Enables the
        sparse synthesis of ``D Y2``; None synthesises it by FFT (same result, slower).

    Returns
    -------
    SparseCode
        ``coefficients`` are the exactly sparse split ``Y2``; ``reconstruction`` is ``D Y2``.

    References
    ----------
    Boyd et al., "Distributed Optimization and Statistical Learning via the ADMM",
    doi:10.1561/2200000016. Wohlberg, "Efficient Algorithms for Convolutional Sparse
    Representations", IEEE TIP 2016, doi:10.1109/TIP.2015.2495260.
    """
    check_coding_arguments(**locals())  # O(1): shapes, dtypes and scalars only
    grid = signal.shape[-2:]
    n_images, n_channels = signal.shape[:2]
    if state is None:
        state = CodingState.zeros(n_images, n_channels, filters_hat.shape[0], grid,
                                  dtype=signal.dtype, xp=xp)
    # the solver owns copies of the state: the code split and its dual are updated in place
    Y1, U1 = state.split, state.split_dual
    Y2, U2 = xp.array(state.codes, copy=True), xp.array(state.codes_dual, copy=True)
    masked_signal = weights * signal
    filter_gram = gram(xp.swapaxes(filters_hat, 0, 1), xp=xp)  # D D^H, (n_channels,) * 2 + freq
    inverse = capacitance_inverse(filter_gram, rho_sparse / rho_data, xp=xp)
    threshold = sparsity_weight / rho_sparse
    synthesize_codes = code_synthesizer(filters_hat, filter_size, grid, xp=xp)
    history = {"primal_residual": [], "dual_residual": []}
    converged = False
    DY2_hat = synthesize_codes(Y2, xp.count_nonzero(Y2, axis=-1))
    DU2_hat = synthesize(filters_hat, spectra(U2, xp=xp), xp=xp)
    for n_iter in range(1, max_iter + 1):
        # Woodbury: q = C^-1 D rhs, X = Y2 - U2 + D^H w with w = (rho_data B - q) / rho_sparse
        B_hat = spectra(Y1 - U1, xp=xp)
        D_rhs = rho_data * apply_capacitance(filter_gram, B_hat, axis=1, xp=xp)
        q = apply_capacitance(inverse, D_rhs + rho_sparse * (DY2_hat - DU2_hat), axis=1, xp=xp)
        w_hat = (rho_data * B_hat - q) / rho_sparse
        correlation = spatial(analyze(filters_hat, w_hat, xp=xp), grid, xp=xp)
        DX = spatial(q / rho_data, grid, xp=xp)
        Y1_old = Y1
        Y1, U1 = data_split_update(DX, Y1, U1, masked_signal, weights, rho=rho_data,
                                   relaxation=relaxation, xp=xp)
        if tol is not None:
            X, Y2_old = Y2 - U2 + correlation, Y2.copy()
        # D v for v = Y2 + (1 - a) U2 + a D^H w, then D U2_new = D v - D Y2_new
        Dv_hat = DY2_hat + (1 - relaxation) * DU2_hat
        Dv_hat += relaxation * apply_capacitance(filter_gram, w_hat, axis=1, xp=xp)
        row_nnz = shrink_dual_update(correlation, Y2, U2, relaxation=relaxation,
                                     threshold=threshold, non_negative=non_negative, xp=xp)
        DY2_hat = synthesize_codes(Y2, row_nnz)
        DU2_hat = Dv_hat - DY2_hat
        if tol is not None:
            primal, dual = _relative_residuals(
                filters_hat, (DX - Y1, X - Y2), (DX, X), (Y1, Y2),
                (rho_data * (Y1 - Y1_old), rho_sparse * (Y2 - Y2_old)),
                (rho_data * Y1, rho_sparse * Y2), xp=xp,
            )
            history["primal_residual"].append(primal)
            history["dual_residual"].append(dual)
            if primal < tol and dual < tol:
                converged = True
                break
    return SparseCode(Y2, n_iter, converged, CodingState(Y1, U1, Y2, U2), history,
                      spatial(DY2_hat, grid, xp=xp))


# Sparse synthesis is used while nnz * s^2 * n_channels multiply-adds stay below this many per
# code entry: on fruit-sized stacks with 11 x 11 filters the scatter and the code-size FFT it
# replaces cost about the same at 2 % density (benchmarks/results/speed.md, section 3).
SPARSE_SYNTHESIS_BUDGET = 2.0


def code_synthesizer(filters_hat, filter_size, grid, *, xp):
    """Return ``(codes, row_nnz) -> spectrum of D codes``, sparse spatial or by FFT.

    ``row_nnz`` counts the non-zero codes of every row (last axis). The scatter
    (:func:`csc._kernels.sparse_synthesis`) is used on NumPy with ``filter_size`` given, while
    the codes are sparse enough (:data:`SPARSE_SYNTHESIS_BUDGET`); the ADMM and FISTA solvers
    synthesise their iterates with it.
    """

    codes_hat = None  # the codes' spectra, one buffer for every call

    def by_fft(codes, row_nnz):
        nonlocal codes_hat
        codes_hat = spectra(codes, xp=xp, out=codes_hat)
        return _kernels.synthesize(filters_hat, codes_hat, xp=xp)

    if filter_size is None or xp is not np or _kernels.numba is None:
        return by_fft
    filters = crop_filters(spatial(filters_hat, grid, xp=xp), filter_size)
    cost_per_entry = filter_size * filter_size * filters.shape[1]

    def synthesize_codes(codes, row_nnz):
        if int(row_nnz.sum()) * cost_per_entry > SPARSE_SYNTHESIS_BUDGET * codes.size:
            return by_fft(codes, row_nnz)
        return spectra(_kernels.sparse_synthesis(codes, row_nnz, filters, xp=xp), xp=xp)

    return synthesize_codes


def _relative_residuals(filters_hat, primal, split_a, split_b, dual, dual_scale, *, xp):
    """Relative primal and dual residuals of the stacked constraint ``[D; I] X = [Y1; Y2]``.

    ``r = ||[D X - Y1; X - Y2]|| / max(||[D X; X]||, ||[Y1; Y2]||)`` and
    ``s = ||rho1 D^T dY1 + rho2 dY2|| / ||rho1 D^T Y1 + rho2 Y2||``. Boyd et al. (2011, sec. 3.3)
    scale ``s`` by ``||A^T rho U||``, but with the whole objective in the split variables the
    ``X`` update makes ``A^T rho U`` equal to ``-s`` at every iteration, so that ratio is always
    1; the scale of the splits is used instead.
    """

    def norm(parts):
        return math.sqrt(sum(float(xp.sum(p * p, dtype=xp.float64)) for p in parts))

    def adjoint(data_part, code_part):
        grid = code_part.shape[-2:]
        back = spatial(analyze(filters_hat, spectra(data_part, xp=xp), xp=xp), grid, xp=xp)
        return back + code_part

    relative_primal = norm(primal) / max(norm(split_a), norm(split_b), 1e-30)
    relative_dual = norm([adjoint(*dual)]) / max(norm([adjoint(*dual_scale)]), 1e-30)
    return relative_primal, relative_dual


def check_coding_arguments(signal, weights, filters_hat, *, sparsity_weight, xp, max_iter=1,
                           tol=None, non_negative=False, rho_data=1.0, rho_sparse=1.0,
                           relaxation=1.0, state=None, filter_size=None, initial_codes=None,
                           callback=None, step_scale=1.0, codes=None, reconstruction=None):
    """Arguments of :func:`admm_sparse_code` / :func:`csc.fista.fista_sparse_code` (and, with
    ``codes``, of :func:`objective_terms`): shapes, dtypes and scalars, in constant time, no pass
    over the arrays, so the learner's inner calls pay nothing.

    Raises
    ------
    ValueError
        Naming the argument: wrong shape or dtype, a scalar out of range.
    TypeError
        ``xp`` is not the arrays' namespace, or ``callback`` is not callable.
    """
    for name, array in (("signal", signal), ("weights", weights), ("filters_hat", filters_hat)):
        if not hasattr(array, "shape") or not hasattr(array, "dtype"):
            raise TypeError(f"`{name}` must be a NumPy or CuPy array, got {type(array).__name__}")
    if array_module(signal, weights, filters_hat) is not xp:
        raise TypeError(f"`xp` must be the namespace of the arrays "
                        f"({array_module(signal).__name__}), got {xp!r}")
    if signal.ndim != 4 or signal.dtype not in (np.float32, np.float64) or 0 in signal.shape:
        raise ValueError(f"`signal` must be a float32/float64 array of shape (n_images, "
                         f"n_channels, Hp, Wp), got shape {signal.shape} and dtype {signal.dtype}")
    n_images, n_channels, height, width = signal.shape
    expected = (n_channels, height, width // 2 + 1)
    if filters_hat.ndim != 4 or filters_hat.dtype.kind != "c" or filters_hat.shape[1:] != expected \
            or filters_hat.shape[0] == 0:
        raise ValueError(f"`filters_hat` must be a complex array of shape (n_filters, "
                         f"{', '.join(map(str, expected))}) (the rfft2 of filters on the grid "
                         f"of `signal`), got shape {filters_hat.shape} and dtype "
                         f"{filters_hat.dtype}")
    if weights.dtype.kind not in "biuf" or weights.ndim > 4 or any(
            w not in (1, n) for w, n in zip(weights.shape[::-1], signal.shape[::-1],
                                            strict=False)):
        raise ValueError(f"`weights` must be real and broadcastable to `signal` {signal.shape}, "
                         f"got shape {weights.shape} and dtype {weights.dtype}")
    code_shape = (n_images, filters_hat.shape[0], height, width)
    if codes is not None:  # objective_terms: a weight of 0 gives the data term alone
        check_nonnegative("sparsity_weight", sparsity_weight)
        for name, array, shape in (("codes", codes, code_shape),
                                   ("reconstruction", reconstruction, signal.shape)):
            if array is not None and tuple(getattr(array, "shape", ())) != shape:
                raise ValueError(f"`{name}` must have shape {shape}, got "
                                 f"{getattr(array, 'shape', array)!r}")
        return
    check_representable("sparsity_weight", sparsity_weight, signal.dtype)
    check_int("max_iter", max_iter, 1)
    if tol is not None:
        check_positive("tol", tol)
    check_bool("non_negative", non_negative)
    check_representable("rho_data", rho_data, signal.dtype)
    check_representable("rho_sparse", rho_sparse, signal.dtype)
    check_in_range("relaxation", relaxation, 0, 2, closed=(False, False))
    if filter_size is not None:
        check_int("filter_size", filter_size, 1, min(height, width))
    check_callable("callback", callback)
    check_in_range("step_scale", step_scale, 1, 4)
    if initial_codes is not None and tuple(getattr(initial_codes, "shape", ())) != code_shape:
        raise ValueError(f"`initial_codes` must have shape {code_shape}, got "
                         f"{getattr(initial_codes, 'shape', initial_codes)!r}")
    if state is not None:
        if not isinstance(state, CodingState):
            raise TypeError(f"`state` must be None or a CodingState, got {type(state).__name__}")
        shapes = {"split": signal.shape, "split_dual": signal.shape, "codes": code_shape,
                  "codes_dual": code_shape}
        for name, shape in shapes.items():
            if tuple(getattr(getattr(state, name), "shape", ())) != shape:
                raise ValueError(f"`state.{name}` must have shape {shape}, got "
                                 f"{getattr(getattr(state, name), 'shape', None)}")
