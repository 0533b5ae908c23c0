"""Padded FFT convolution operators of the CSC model.

Layout: signals ``(n_images, n_channels, Hp, Wp)``, filters ``(n_filters, n_channels, Hp, Wp)``
(spatial support in the top-left ``s x s`` window), coefficient maps
``(n_images, n_filters, Hp, Wp)``. All operators are circular convolutions on the padded grid
``Hp x Wp``; spectra are ``rfft2`` over the last two axes, shape ``(..., Hp, Wp // 2 + 1)``.

Alignment: an image of size ``H x W`` is placed at offset ``(s - 1, s - 1)`` of a grid of size
``(H + s - 1) x (W + s - 1)`` and the grid is zero elsewhere (the mask is zero there too), so
coefficient ``X[n, k, i, j]`` is centred on image pixel ``(i - r, j - r)`` with ``r = (s - 1) / 2``
and circular convolution never wraps onto observed pixels.
"""

from .backend import irfft2, rfft2

__all__ = [
    "pad_signal",
    "crop_signal",
    "pad_filters",
    "crop_filters",
    "synthesize",
    "analyze",
    "filter_adjoint",
    "spectra",
    "spatial",
]


def pad_signal(signal, filter_size, *, grid_shape=None, xp):
    """Place ``(..., H, W)`` at offset ``(s - 1, s - 1)`` of a zero grid.

    Parameters
    ----------
    signal : array of shape (..., H, W)
    filter_size : int
        ``s``.
    grid_shape : (int, int) or None
        ``(Hp, Wp)``, at least ``(H + s - 1, W + s - 1)`` (e.g. a fast FFT length); None is
        exactly that, with the image bottom-right.

    Returns
    -------
    array of shape (..., Hp, Wp)
    """
    height, width = signal.shape[-2:]
    if grid_shape is None:
        grid_shape = (height + filter_size - 1, width + filter_size - 1)
    after = (grid_shape[0] - height - filter_size + 1, grid_shape[1] - width - filter_size + 1)
    pad = [(0, 0)] * (signal.ndim - 2) + [(filter_size - 1, after[0]), (filter_size - 1, after[1])]
    return xp.pad(signal, pad)


def crop_signal(padded, filter_size, shape=None):
    """Inverse of :func:`pad_signal`: the ``(H, W)`` image region of ``(..., Hp, Wp)``.

    ``shape`` is ``(H, W)``; None means ``(Hp - s + 1, Wp - s + 1)``.
    """
    if shape is None:
        return padded[..., filter_size - 1:, filter_size - 1:]
    return padded[..., filter_size - 1:filter_size - 1 + shape[0],
                  filter_size - 1:filter_size - 1 + shape[1]]


def pad_filters(filters, grid_shape, *, xp):
    """Zero-pad filters ``(..., s, s)`` to the padded grid ``(..., Hp, Wp)`` (top-left support)."""
    s_h, s_w = filters.shape[-2:]
    pad = [(0, 0)] * (filters.ndim - 2) + [(0, grid_shape[0] - s_h), (0, grid_shape[1] - s_w)]
    return xp.pad(filters, pad)


def crop_filters(padded_filters, filter_size):
    """Inverse of :func:`pad_filters`: keep the top-left ``s x s`` window."""
    return padded_filters[..., :filter_size, :filter_size]


def spectra(array, *, xp, out=None):
    """``rfft2`` over the last two axes (into ``out`` if given, see :func:`csc.backend.rfft2`)."""
    return rfft2(array, xp=xp, out=out)


def spatial(array_hat, grid_shape, *, xp, out=None):
    """Inverse of :func:`spectra` onto a real grid ``grid_shape = (Hp, Wp)`` (into ``out``)."""
    return irfft2(array_hat, grid_shape, xp=xp, out=out)


def synthesize(filters_hat, codes_hat, *, xp):
    """Spectrum of ``sum_k d_k (*) x_k``.

    Parameters
    ----------
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
    codes_hat : ndarray of shape (n_images, n_filters, Hp, Wq)

    Returns
    -------
    ndarray of shape (n_images, n_channels, Hp, Wq)
    """
    return xp.einsum("kcyx,nkyx->ncyx", filters_hat, codes_hat)


def analyze(filters_hat, residual_hat, *, conjugated=False, xp, out=None):
    """Spectrum of the adjoint ``D^T r``: correlation of the residual with every filter.

    Parameters
    ----------
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
    residual_hat : ndarray of shape (n_images, n_channels, Hp, Wq)
    conjugated : bool
        ``filters_hat`` is already conjugated (an iterative solver conjugates once, not at
        every iteration).
    out : ndarray of shape (n_images, n_filters, Hp, Wq) or None
        Array to write into (a buffer reused across iterations).

    Returns
    -------
    ndarray of shape (n_images, n_filters, Hp, Wq)
    """
    adjoint = filters_hat if conjugated else filters_hat.conj()
    if filters_hat.shape[1] == 1:
        return xp.multiply(adjoint[None, :, 0], residual_hat, out=out)
    return xp.einsum("kcyx,ncyx->nkyx", adjoint, residual_hat, out=out)


def filter_adjoint(codes_hat, residual_hat, *, xp):
    """Spectrum of ``X^T r``, the adjoint of ``d -> sum_k d_k (*) x_k`` with respect to the filters.

    Parameters
    ----------
    codes_hat : ndarray of shape (n_images, n_filters, Hp, Wq)
    residual_hat : ndarray of shape (n_images, n_channels, Hp, Wq)

    Returns
    -------
    ndarray of shape (n_filters, n_channels, Hp, Wq)
    """
    return xp.einsum("nkyx,ncyx->kcyx", codes_hat.conj(), residual_hat)
