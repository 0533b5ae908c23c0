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

The steps are those of :mod:`csc.chunk` (:func:`csc.chunk.dictionary_factors`,
:func:`csc.chunk.dictionary_iteration`) on one chunk of every group; a Dask fit runs the same
steps on one chunk per task and projects the average on its driver (:mod:`csc.driver`).
"""

from .chunk import dictionary_factors, dictionary_iteration
from .fourier import spatial, spectra
from .prox import project_filters
from .state import DictionaryState

__all__ = ["admm_dictionary_update", "image_groups", "even_parts", "group_bounds",
           "group_penalties"]


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
    state : csc.state.DictionaryState
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
    csc.state.DictionaryState
        New state; ``.filters`` are the projected filters.
    """
    n_images = codes.shape[0]
    groups = image_groups(n_images, group_size or n_images)
    bounds = group_bounds(groups)
    rho_groups = group_penalties(groups, rho_filter)
    factors = dictionary_factors(signal, weights, codes, bounds,
                                 [rho / rho_data for rho in rho_groups], xp=xp)
    grid = signal.shape[-2:]
    Y1, U1, G = state.split, state.split_dual, state.filters
    G_hat = spectra(G, xp=xp)
    U2 = state.filters_dual
    if U2 is None or U2.shape != (len(groups),) + G_hat.shape:
        U2 = xp.zeros((len(groups),) + G_hat.shape, dtype=G_hat.dtype)
    for _ in range(max_iter):
        Y1, U1, average_hat = dictionary_iteration(
            weights, factors, Y1, U1, U2, G_hat, bounds=bounds, rho_data=rho_data,
            rho_groups=rho_groups, relaxation=relaxation, xp=xp)
        G = project_filters(spatial(average_hat, grid, xp=xp), support, xp=xp)
        G_hat = spectra(G, xp=xp)
        U2 -= G_hat  # the consensus correction of every group's dual
    return DictionaryState(Y1, U1, G, U2)


def image_groups(n_images, group_size):
    """Contiguous groups of at most ``group_size`` images whose sizes differ by at most one.

    Returns
    -------
    list of slice
    """
    return even_parts(n_images, -(-n_images // group_size))


def even_parts(n_items, n_parts):
    """``n_parts`` contiguous slices of ``range(n_items)`` whose sizes differ by at most one.

    Returns
    -------
    list of slice
    """
    bounds = [round(i * n_items / n_parts) for i in range(n_parts + 1)]
    return [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:], strict=True)]


def group_bounds(groups):
    """Boundaries of contiguous groups (slices) counted from the first one's start.

    Returns
    -------
    list of int
        ``len(groups) + 1`` boundaries, from 0 to the images the groups hold.
    """
    first = groups[0].start
    return [group.start - first for group in groups] + [groups[-1].stop - first]


def group_penalties(groups, rho_filter):
    """Each group's filter penalty ``rho_g = rho_filter m_g / n_images`` (they add up to
    ``rho_filter``), for the groups of :func:`image_groups` of all ``n_images`` images.

    Returns
    -------
    list of float
    """
    n_images = groups[-1].stop
    return [rho_filter * (group.stop - group.start) / n_images for group in groups]
