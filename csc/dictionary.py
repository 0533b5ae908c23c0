"""Dictionary update with the codes fixed: ADMM, Woodbury or consensus.

Problem (on the padded grid, see :mod:`csc.fourier`)::

    min_d  1/2 sum W * (S - sum_k d_k (*) X_k)^2   s.t.  supp(d_k) in s x s window, ||d_k|| <= 1

ADMM splits ``Y1 = X d`` (masked data prox) and ``G = d`` (projection onto the constraint). The
images are split into groups of at most ``group_size``; each group ``g`` keeps its own filter copy
``d_g`` and solves ``(rho_data X_g^H X_g + rho_g I) d_g = rhs_g`` at every frequency by Woodbury
with an ``m_g x m_g`` capacitance (Heide et al. 2015) factored once per call; the projected
filters ``G`` are the projection of the ``rho_g``-weighted average of the copies (consensus ADMM,
Garcia-Cardona and Wohlberg 2018, sec. IV-D; Sorel and Sroubek 2016), with
``rho_g = rho_filter m_g / n_images`` so that the copies' penalties add up to ``rho_filter``.

One group is the exact filter update (Woodbury), whose factoring costs ``O(n_images^2 n_filters)``
and memory ``O(n_images^2)`` per frequency; with groups of a fixed size (1: one copy per image,
Sherman-Morrison) cost and memory per image do not grow with the number of images, and the copies
add ``n_groups n_filters n_channels`` spectra of memory.
"""

from dataclasses import dataclass

from ._kernels import consensus_filter_step, gram
from .fourier import spatial, spectra
from .linalg import capacitance_inverse
from .prox import masked_data_prox, project_filters

__all__ = ["DictionaryState", "admm_dictionary_update", "image_groups"]


@dataclass
class DictionaryState:
    """Warm-start state of :func:`admm_dictionary_update`.

    Attributes
    ----------
    split, split_dual : ndarray of shape (n_images, n_channels, Hp, Wp)
        Data split ``Y1 ~ X d`` and its scaled dual.
    filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
        Projected filters ``G`` (the returned dictionary, zero outside the window).
    filters_dual : ndarray of shape (n_groups, n_filters, n_channels, Hp, Wq) or None
        Spectra of the scaled duals of the group copies of ``G`` (None until first used, reset
        when the number of groups changes).
    """

    split: object
    split_dual: object
    filters: object
    filters_dual: object = None


def admm_dictionary_update(
    signal, weights, codes, state, support, *, rho_data, rho_filter, max_iter=10,
    relaxation=1.8, group_size=None, xp,
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
    group_size : int or None, default None
        Most images per group; None: one group (the exact filter update).

    Returns
    -------
    DictionaryState
        New state; ``.filters`` are the projected filters.
    """
    n_images = codes.shape[0]
    groups = image_groups(n_images, group_size or n_images)
    bounds = [group.start for group in groups] + [n_images]
    rho_groups = [rho_filter * (group.stop - group.start) / n_images for group in groups]
    codes_hat = spectra(codes, xp=xp)
    codes_gram, inverse = _group_factors(codes_hat, groups, [r / rho_data for r in rho_groups],
                                         xp=xp)
    masked_signal = weights * signal
    grid = signal.shape[-2:]
    Y1, U1, G = state.split, state.split_dual, state.filters
    G_hat = spectra(G, xp=xp)
    U2 = state.filters_dual
    if U2 is None or U2.shape != (len(groups),) + G_hat.shape:
        U2 = xp.zeros((len(groups),) + G_hat.shape, dtype=G_hat.dtype)
    for _ in range(max_iter):
        average_hat, Xd_hat = consensus_filter_step(  # U2 <- d_relaxed + U2 per group
            codes_hat, spectra(Y1 - U1, xp=xp), G_hat, U2, inverse, codes_gram=codes_gram,
            bounds=bounds, rho_data=rho_data, rho_filter=rho_groups, relaxation=relaxation,
            xp=xp)
        Xd_relaxed = relaxation * spatial(Xd_hat, grid, xp=xp) + (1 - relaxation) * Y1
        Y1 = masked_data_prox(Xd_relaxed + U1, masked_signal, weights, rho_data, xp=xp)
        G = project_filters(spatial(average_hat, grid, xp=xp), support, xp=xp)
        G_hat = spectra(G, xp=xp)
        U1 = U1 + Xd_relaxed - Y1
        U2 -= G_hat
    return DictionaryState(Y1, U1, G, U2)


def image_groups(n_images, group_size):
    """Contiguous groups of at most ``group_size`` images whose sizes differ by at most one.

    Returns
    -------
    list of slice
    """
    n_groups = -(-n_images // group_size)
    bounds = [round(i * n_images / n_groups) for i in range(n_groups + 1)]
    return [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def _group_factors(codes_hat, groups, shifts, *, xp):
    """Each group's Gram matrix and capacitance inverse, stacked with zero padding.

    Returns
    -------
    codes_gram, inverse : ndarrays of shape (n_groups, m, m, Hp, Wq)
        Group ``g`` in ``[g, :m_g, :m_g]``, ``m`` the largest group size.
    """
    size = max(group.stop - group.start for group in groups)
    shape = (len(groups), size, size) + codes_hat.shape[2:]
    codes_gram = xp.zeros(shape, dtype=codes_hat.dtype)
    inverse = xp.zeros(shape, dtype=codes_hat.dtype)
    for g, (group, shift) in enumerate(zip(groups, shifts, strict=True)):
        m = group.stop - group.start
        codes_gram[g, :m, :m] = gram(codes_hat[group], xp=xp)
        inverse[g, :m, :m] = capacitance_inverse(codes_gram[g, :m, :m], shift, xp=xp)
    return codes_gram, inverse
