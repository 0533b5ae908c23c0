"""Proximal operators and projections of the CSC problem (closed forms), and the relaxed ADMM
update of the data split built on the masked data prox (shared by the coding and dictionary
steps)."""

__all__ = ["soft_threshold", "masked_data_prox", "data_split_update", "project_filters",
           "filter_support_mask"]


def soft_threshold(values, threshold, *, non_negative=False, xp):
    """Proximal operator of ``threshold * ||.||_1`` (or of ``l1 + indicator(>= 0)``).

    Written once for NumPy, CuPy and torch (``xp=torch``): only ``clip`` is used.

    Parameters
    ----------
    values : array
    threshold : float or array broadcastable to ``values``
        Non-negative.
    non_negative : bool
        Also project onto the non-negative orthant.
    xp : module
        ``numpy``, ``cupy`` or ``torch``.

    Returns
    -------
    array of the shape and dtype of ``values``
        ``sign(v) * max(|v| - threshold, 0)`` (``max(v - threshold, 0)`` when non-negative).

    Examples
    --------
    >>> import numpy as np
    >>> soft_threshold(np.array([-2.0, 0.5, 3.0]), 1.0, xp=np)
    array([-1.,  0.,  2.])
    """
    if non_negative:
        return xp.clip(values - threshold, 0, None)
    return values - xp.clip(values, -threshold, threshold)


def masked_data_prox(values, masked_signal, weights, rho, *, xp):
    """Proximal operator of ``1/2 ||W^{1/2} (s - y)||^2`` at ``values`` with step ``1 / rho``.

    Minimises ``1/2 sum W (s - y)^2 + rho/2 ||y - values||^2`` elementwise:
    ``y = (W s + rho v) / (W + rho)``.

    Parameters
    ----------
    values : ndarray of shape (n_images, n_channels, Hp, Wp)
    masked_signal : ndarray broadcastable to ``values``
        ``W * s``, precomputed once.
    weights : ndarray broadcastable to ``values``
        Non-negative data weights ``W`` (the mask: 1 observed, 0 missing or padding).
    rho : float
    """
    return (masked_signal + rho * values) / (weights + rho)


def data_split_update(product, split, split_dual, masked_signal, weights, *, rho, relaxation,
                      xp):
    """Relaxed ADMM update of a data split ``Y ~ A x`` and its scaled dual ``U``.

    With the new ``A x`` (``product``), ``r = relaxation A x + (1 - relaxation) Y`` (Boyd et al.
    2011, sec. 3.4.3), ``Y <- prox(r + U)`` by :func:`masked_data_prox`, ``U <- U + r - Y``.
    The data split of both the coding step (``A x = D X``) and the dictionary step
    (``A x = X d``).

    Parameters
    ----------
    product : ndarray of shape (n_images, n_channels, Hp, Wp)
        ``A x``.
    split, split_dual : ndarrays of that shape
        ``Y`` and ``U`` (not changed).
    masked_signal, weights, rho
        As in :func:`masked_data_prox`.
    relaxation : float in (0, 2)

    Returns
    -------
    split, split_dual : new ndarrays
    """
    relaxed = relaxation * product + (1 - relaxation) * split
    new_split = masked_data_prox(relaxed + split_dual, masked_signal, weights, rho, xp=xp)
    return new_split, split_dual + relaxed - new_split


def filter_support_mask(grid_shape, filter_size, *, dtype, xp):
    """Indicator ``(Hp, Wp)`` of the top-left ``s x s`` filter support on the padded grid."""
    support = xp.zeros(grid_shape, dtype=dtype)
    support[:filter_size, :filter_size] = 1
    return support


def project_filters(padded_filters, support, *, xp):
    """Euclidean projection onto ``{d : supp(d_k) in window, ||d_k||_2 <= 1}`` for each filter.

    Parameters
    ----------
    padded_filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
    support : ndarray of shape (Hp, Wp)
        Indicator of the filter window (:func:`filter_support_mask`).

    Returns
    -------
    ndarray of shape (n_filters, n_channels, Hp, Wp)
        Zero outside the window; filters with norm above 1 scaled to unit norm (the norm is
        taken jointly over channels).
    """
    restricted = padded_filters * support
    norms = xp.sqrt(xp.sum(restricted * restricted, axis=(1, 2, 3), keepdims=True))
    return restricted / xp.maximum(norms, 1)
