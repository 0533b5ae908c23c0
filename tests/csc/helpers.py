"""Small problems shared by the csc tests."""

import numpy as np

from csc.fourier import pad_filters, pad_signal, spatial, spectra
from csc.prox import filter_support_mask, project_filters


def coding_problem(seed=0, *, n_images=2, size=16, n_filters=4, filter_size=5, missing=0.3,
                   dtype=np.float64):
    """Padded signal, weights and filter spectra of a small masked coding problem."""
    rng = np.random.default_rng(seed)
    grid = (size + filter_size - 1,) * 2
    support = filter_support_mask(grid, filter_size, dtype=np.float64, xp=np)
    filters = project_filters(
        pad_filters(rng.standard_normal((n_filters, 1, filter_size, filter_size)), grid, xp=np),
        support, xp=np)
    images = rng.standard_normal((n_images, 1, size, size))
    mask = (rng.random(images.shape) >= missing).astype(float)
    signal = pad_signal(images * mask, filter_size, xp=np).astype(dtype)
    weights = pad_signal(mask, filter_size, xp=np).astype(dtype)
    return signal, weights, spectra(filters.astype(dtype), xp=np)


def data_gradient(signal, weights, filters_hat, codes):
    """``D^T W (D X - S)`` in the spatial domain."""
    from csc.fourier import analyze, synthesize

    grid = signal.shape[-2:]
    residual = weights * (spatial(synthesize(filters_hat, spectra(codes, xp=np), xp=np), grid,
                                  xp=np) - signal)
    return spatial(analyze(filters_hat, spectra(residual, xp=np), xp=np), grid, xp=np)
