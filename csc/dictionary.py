"""Dictionary update with the codes fixed: ADMM, Woodbury or consensus.

Problem (on the padded grid, see :mod:`csc.fourier`)::

    min_d  1/2 sum W * (S - sum_k d_k (*) X_k)^2   s.t.  supp(d_k) in s x s window, ||d_k|| <= 1

Two solvers, both factoring their per-frequency systems once per call:

- ``'woodbury'``: splits ``Y1 = X d`` (masked data prox) and ``G = d`` (projection); the ``d``
  update solves ``(rho_data X^H X + rho_filter I) d = rhs`` at every frequency with an
  ``n_images x n_images`` capacitance (Heide et al. 2015). Memory ``O(n_images^2 Hp Wp)``.
- ``'consensus'``: one filter copy per image, each updated by Sherman-Morrison, averaged and
  projected (Garcia-Cardona and Wohlberg 2018, sec. IV-D; Sorel and Sroubek 2016). Memory
  ``O(n_images n_filters Hp Wp)``; the image axis can be partitioned across workers.
"""

from dataclasses import dataclass

from ._kernels import dictionary_solve, gram
from .fourier import spatial, spectra
from .linalg import capacitance_inverse
from .prox import masked_data_prox, project_filters

__all__ = ["DictionaryState", "admm_dictionary_update", "SOLVERS"]

SOLVERS = ("woodbury", "consensus")


@dataclass
class DictionaryState:
    """Warm-start state of :func:`admm_dictionary_update`.

    Attributes
    ----------
    split, split_dual : ndarray of shape (n_images, n_channels, Hp, Wp)
        Data split ``Y1 ~ X d`` and its scaled dual.
    filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
        Projected filters ``G`` (the returned dictionary, zero outside the window).
    filters_dual : ndarray
        Scaled dual of ``G``: spatial ``(n_filters, n_channels, Hp, Wp)`` for Woodbury,
        per-image spectra ``(n_images, n_filters, n_channels, Hp, Wq)`` for consensus (None until
        first used).
    """

    split: object
    split_dual: object
    filters: object
    filters_dual: object = None


def admm_dictionary_update(
    signal, weights, codes, state, support, *, rho_data, rho_filter, max_iter=10,
    relaxation=1.8, solver="woodbury", xp,
):
    """Update the filters for fixed codes by ADMM (kernel: the caller validates inputs).

    Parameters
    ----------
    signal : ndarray of shape (n_images, n_channels, Hp, Wp)
    weights : ndarray broadcastable to ``signal``
    codes : ndarray of shape (n_images, n_filters, Hp, Wp)
    state : DictionaryState
        Warm start; ``state.filters`` holds the current (projected) filters.
    support : ndarray of shape (Hp, Wp)
        Indicator of the filter window.
    rho_data, rho_filter : float
        ADMM penalties of the data split and the filter (projection) split.
    max_iter : int
    relaxation : float
        Over-relaxation in (0, 2).
    solver : {'woodbury', 'consensus'}

    Returns
    -------
    DictionaryState
        New state; ``.filters`` are the projected filters.
    """
    if solver == "woodbury":
        return _woodbury(signal, weights, codes, state, support, rho_data, rho_filter,
                         max_iter, relaxation, xp)
    return _consensus(signal, weights, codes, state, support, rho_data, rho_filter, max_iter,
                      relaxation, xp)


def _woodbury(signal, weights, codes, state, support, rho_data, rho_filter, max_iter,
              relaxation, xp):
    grid = signal.shape[-2:]
    codes_hat = spectra(codes, xp=xp)
    codes_gram = gram(codes_hat, xp=xp)
    inverse = capacitance_inverse(codes_gram, rho_filter / rho_data, xp=xp)
    masked_signal = weights * signal
    Y1, U1, G = state.split, state.split_dual, state.filters
    U2 = state.filters_dual if state.filters_dual is not None else xp.zeros_like(G)
    for _ in range(max_iter):
        d_hat, Xd_hat = dictionary_solve(codes_hat, spectra(Y1 - U1, xp=xp),
                                         spectra(G - U2, xp=xp), inverse, codes_gram=codes_gram,
                                         rho_data=rho_data, rho_filter=rho_filter, xp=xp)
        d, Xd = spatial(d_hat, grid, xp=xp), spatial(Xd_hat, grid, xp=xp)
        Xd_relaxed = relaxation * Xd + (1 - relaxation) * Y1
        d_relaxed = relaxation * d + (1 - relaxation) * G
        Y1 = masked_data_prox(Xd_relaxed + U1, masked_signal, weights, rho_data, xp=xp)
        G = project_filters(d_relaxed + U2, support, xp=xp)
        U1 = U1 + Xd_relaxed - Y1
        U2 = U2 + d_relaxed - G
    return DictionaryState(Y1, U1, G, U2)


def _consensus(signal, weights, codes, state, support, rho_data, rho_filter, max_iter,
               relaxation, xp):
    grid = signal.shape[-2:]
    n_images = codes.shape[0]
    codes_hat = spectra(codes, xp=xp)[:, None]  # (n_images, 1, n_filters, Hp, Wq)
    power = xp.sum((codes_hat * codes_hat.conj()).real, axis=2, keepdims=True)
    factor = rho_data / (rho_filter + rho_data * power)  # Sherman-Morrison, per image
    masked_signal = weights * signal
    Y1, U1, G = state.split, state.split_dual, state.filters
    G_hat = spectra(G, xp=xp)
    U2_hat = state.filters_dual
    if U2_hat is None or U2_hat.shape[0] != n_images:
        U2_hat = xp.zeros((n_images,) + G_hat.shape, dtype=G_hat.dtype)
    for _ in range(max_iter):
        # per image n and channel c: rhs = rho1 conj(x_n) (Y1 - U1)_nc + rho2 (G - U2_n)_c
        data_hat = spectra(Y1 - U1, xp=xp)[:, :, None]  # (n_images, n_channels, 1, Hp, Wq)
        rhs = rho_data * codes_hat.conj().swapaxes(1, 2) * data_hat.swapaxes(1, 2)
        rhs = rhs + rho_filter * (G_hat - U2_hat)  # (n_images, n_filters, n_channels, Hp, Wq)
        projected = xp.sum(codes_hat.swapaxes(1, 2) * rhs, axis=1, keepdims=True)
        d_hat = (rhs - factor.swapaxes(1, 2) * codes_hat.conj().swapaxes(1, 2) * projected)
        d_hat /= rho_filter
        Xd = spatial(xp.sum(codes_hat.swapaxes(1, 2) * d_hat, axis=1), grid, xp=xp)
        Xd_relaxed = relaxation * Xd + (1 - relaxation) * Y1
        d_relaxed_hat = relaxation * d_hat + (1 - relaxation) * G_hat
        Y1 = masked_data_prox(Xd_relaxed + U1, masked_signal, weights, rho_data, xp=xp)
        average_hat = xp.mean(d_relaxed_hat + U2_hat, axis=0)
        G = project_filters(spatial(average_hat, grid, xp=xp), support, xp=xp)
        G_hat = spectra(G, xp=xp)
        U1 = U1 + Xd_relaxed - Y1
        U2_hat = U2_hat + d_relaxed_hat - G_hat
    return DictionaryState(Y1, U1, G, U2_hat)
