"""Sparse coding of a detail layer with a fixed dictionary, tile by tile.

Each tile (a core plus a margin of two filter widths, so that neighbouring tiles agree up to the
solver's tolerance) is placed on a padded grid grown to a fast FFT length
(:func:`csc.fourier.pad_signal`), coded by masked FISTA (:func:`csc.fista_sparse_code`) on its
observed pixels, synthesised, and its core is written back.
"""

from dataclasses import dataclass

import numpy as np

from csc.backend import to_numpy
from csc.coding import fista_sparse_code, objective_terms
from csc.fourier import crop_signal, pad_filters, pad_signal, spectra

__all__ = ["CodedDetail", "code_detail", "tile_ranges", "TILE_PIXELS"]

TILE_PIXELS = 1024 * 1024  # coded pixels per tile, summed over channels


@dataclass(frozen=True)
class CodedDetail:
    """Result of :func:`code_detail`.

    Attributes
    ----------
    synthesis : ndarray of shape (n_channels, H, W), float32
        ``D z`` on the image grid.
    objective : float
        ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` summed over channels and tiles (tile margins
        counted in each tile).
    nnz : float
        Fraction of non-zero code entries.
    n_tiles : int
    """

    synthesis: object
    objective: float
    nnz: float
    n_tiles: int


def tile_ranges(length, core):
    """``[(start, stop)]`` cores of at most ``core`` covering ``range(length)``."""
    return [(start, min(start + core, length)) for start in range(0, length, core)]


def code_detail(detail, observed, filters, *, sparsity_weight, max_iter, progress=False, xp=np):
    """FISTA-code ``detail`` on its observed pixels, tile by tile; return ``D z``.

    Parameters
    ----------
    detail : ndarray of shape (n_channels, H, W)
        Zero at missing pixels (NumPy).
    observed : ndarray of bool of shape (n_channels, H, W)
    filters : ndarray of shape (n_filters, s, s), float32
    sparsity_weight : float
    max_iter : int
        FISTA iterations per tile.
    progress : bool
        Show a progress bar over the iterations of all tiles.
    xp : module
        Where the coding runs (``numpy`` or ``cupy``); inputs and outputs stay on the host.

    Returns
    -------
    CodedDetail
    """
    import scipy.fft
    from tqdm.auto import tqdm

    n_channels, height, width = detail.shape
    s = filters.shape[-1]
    margin = 2 * s
    core = max(64, int(np.sqrt(TILE_PIXELS / n_channels)) - 2 * margin)
    tiles = [(rows, cols) for rows in tile_ranges(height, core)
             for cols in tile_ranges(width, core)]
    synthesis = np.empty(detail.shape, np.float32)
    objective = nonzero = total = 0.0
    device_filters = xp.asarray(filters)[:, None]
    with tqdm(total=len(tiles) * max_iter, disable=not progress, desc="sparse coding",
              unit="it", leave=False) as bar:
        for (top, bottom), (left, right) in tiles:
            top_x, left_x = max(top - margin, 0), max(left - margin, 0)
            bottom_x, right_x = min(bottom + margin, height), min(right + margin, width)
            tile = np.s_[:, None, top_x:bottom_x, left_x:right_x]
            shape = (bottom_x - top_x, right_x - left_x)
            grid = tuple(scipy.fft.next_fast_len(n + s - 1, real=True) for n in shape)
            signal = pad_signal(xp.asarray(detail[tile], np.float32), s, grid_shape=grid, xp=xp)
            weights = pad_signal(xp.asarray(observed[tile], np.float32), s, grid_shape=grid,
                                 xp=xp)
            filters_hat = spectra(pad_filters(device_filters, grid, xp=xp), xp=xp)
            result = fista_sparse_code(signal, weights, filters_hat,
                                       sparsity_weight=sparsity_weight, max_iter=max_iter,
                                       callback=lambda _: bar.update(), filter_size=s, xp=xp)
            codes, reconstruction = result.coefficients, result.reconstruction
            data, l1 = objective_terms(signal, weights, filters_hat, codes,
                                       sparsity_weight=sparsity_weight,
                                       reconstruction=reconstruction, xp=xp)
            objective += data + l1
            nonzero += float(xp.count_nonzero(codes))
            total += codes.size
            tile_synthesis = crop_signal(reconstruction[:, 0], s, shape)
            synthesis[:, top:bottom, left:right] = to_numpy(
                tile_synthesis[:, top - top_x:bottom - top_x, left - left_x:right - left_x])
    return CodedDetail(synthesis, objective, nonzero / total, len(tiles))
