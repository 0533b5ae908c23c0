"""Sparse coding of a detail layer with a fixed dictionary, region by region.

:func:`code_region` codes one region: it is placed on a padded grid grown to a fast FFT length
(:func:`csc.fourier.pad_signal`), coded by masked FISTA (:func:`csc.fista_sparse_code`, with the
larger backtracked step) on its observed pixels, and synthesised. :func:`code_detail` codes a
whole image in tiles (a core plus a margin of two filter widths, so that neighbouring tiles agree
up to the solver's tolerance) and writes the cores back.
"""

from dataclasses import dataclass

import numpy as np

from csc.backend import to_numpy
from csc.coding import objective_terms
from csc.fista import fista_sparse_code
from csc.fourier import crop_signal, pad_filters, pad_signal, spectra

__all__ = ["CodedDetail", "CodedRegion", "code_detail", "code_region", "n_coding_tiles",
           "tile_windows", "TILE_PIXELS", "STEP_SCALE"]

TILE_PIXELS = 1024 * 1024  # coded pixels per tile
# First FISTA step 2 / L: with pixels missing the data term's curvature is lower than L, and the
# larger step reached the objective of 60 classical iterations in about 40 on half-masked photos;
# where it is too large (few pixels missing) the solver's bound test falls back to 1 / L.
STEP_SCALE = 2.0


@dataclass(frozen=True)
class CodedRegion:
    """Result of :func:`code_region`.

    Attributes
    ----------
    synthesis : ndarray of shape (h, w), float32, on the device
        ``D z`` on the region.
    codes : ndarray of shape (n_filters, h + s - 1, w + s - 1)-like, on the device
        The codes on the region's padded grid (pass them back as ``initial_codes``).
    objective : float
        ``1/2 ||M (b - D z)||^2 + lambda ||z||_1``.
    nnz : int
        Number of non-zero codes.
    """

    synthesis: object
    codes: object
    objective: float
    nnz: int


@dataclass(frozen=True)
class CodedDetail:
    """Result of :func:`code_detail`.

    Attributes
    ----------
    synthesis : ndarray of shape (H, W), float32
        ``D z`` on the image grid (NumPy).
    objective : float
        ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` summed over the tiles (tile margins counted in
        each tile).
    nnz : float
        Fraction of non-zero code entries.
    n_tiles : int
    """

    synthesis: object
    objective: float
    nnz: float
    n_tiles: int


def tile_windows(shape, margin, *, tile_pixels=None):
    """Tiles covering an image of ``shape = (H, W)``: square cores of side
    ``max(64, sqrt(tile_pixels) - 2 margin)``, each inside a window that adds up to ``margin``
    pixels of context on every side the image has them.

    Parameters
    ----------
    shape : (int, int)
    margin : int
    tile_pixels : int or None
        Pixels per tile (core plus margins); :data:`TILE_PIXELS` when None.

    Returns
    -------
    list of (window, core, core_in_window), each a ``(slice, slice)``
        ``image[window][core_in_window]`` is ``image[core]``.
    """
    tile_pixels = TILE_PIXELS if tile_pixels is None else tile_pixels
    side = max(64, int(np.sqrt(tile_pixels)) - 2 * margin)

    def spans(length):  # (core, window) along one axis
        return [(slice(start, min(start + side, length)),
                 slice(max(start - margin, 0), min(start + side + margin, length)))
                for start in range(0, length, side)]

    return [((rows_window, cols_window), (rows, cols),
             (slice(rows.start - rows_window.start, rows.stop - rows_window.start),
              slice(cols.start - cols_window.start, cols.stop - cols_window.start)))
            for rows, rows_window in spans(shape[0]) for cols, cols_window in spans(shape[1])]


def code_region(detail, observed, filters, *, sparsity_weight, max_iter, initial_codes=None,
                callback=None, xp=np):
    """FISTA-code one region (or a stack of regions of one size) of a detail layer on its
    observed pixels.

    Parameters
    ----------
    detail : ndarray of shape (h, w) or (n_regions, h, w)
        Zero at missing pixels. A stack is coded in one solve (the regions are independent
        problems that share the FFTs' batches).
    observed : ndarray of bool of the shape of ``detail``
    filters : ndarray of shape (n_filters, s, s), float32
    sparsity_weight : float
    max_iter : int
    initial_codes : ndarray or None
        Warm start: the ``codes`` of an earlier call on the same region.
    callback : callable(int) or None
        Called after every iteration.
    xp : module
        Where the coding runs (``numpy`` or ``cupy``).

    Returns
    -------
    CodedRegion
        Of the shapes of the input (a stack gives stacked ``synthesis`` and ``codes``).
    """
    import scipy.fft

    s = filters.shape[-1]
    single = np.ndim(detail) == 2
    stack = (lambda array: array[None]) if single else (lambda array: array)
    shape = detail.shape[-2:]
    grid = tuple(scipy.fft.next_fast_len(n + s - 1, real=True) for n in shape)
    signal = pad_signal(xp.asarray(stack(detail), np.float32)[:, None], s, grid_shape=grid, xp=xp)
    weights = pad_signal(xp.asarray(stack(observed), np.float32)[:, None], s, grid_shape=grid,
                         xp=xp)
    filters_hat = spectra(pad_filters(xp.asarray(filters)[:, None], grid, xp=xp), xp=xp)
    if initial_codes is not None:
        initial_codes = stack(initial_codes)
    result = fista_sparse_code(signal, weights, filters_hat, sparsity_weight=sparsity_weight,
                               max_iter=max_iter, initial_codes=initial_codes, callback=callback,
                               filter_size=s, step_scale=STEP_SCALE, xp=xp)
    codes, reconstruction = result.coefficients, result.reconstruction
    objective = sum(objective_terms(signal, weights, filters_hat, codes,
                                    sparsity_weight=sparsity_weight,
                                    reconstruction=reconstruction, xp=xp))
    synthesis = crop_signal(reconstruction[:, 0], s, shape)
    return CodedRegion(synthesis[0] if single else synthesis, codes[0] if single else codes,
                       objective, int(xp.count_nonzero(codes)))


def code_detail(detail, observed, filters, *, sparsity_weight, max_iter, progress=None, xp=np):
    """FISTA-code a detail layer on its observed pixels, tile by tile; return ``D z``.

    Parameters
    ----------
    detail : ndarray of shape (H, W)
        Zero at missing pixels (NumPy).
    observed : ndarray of bool of shape (H, W)
    filters : ndarray of shape (n_filters, s, s), float32
    sparsity_weight : float
    max_iter : int
        FISTA iterations per tile.
    progress : object with ``update(n)`` or None
        Advanced by one per iteration of every tile.
    xp : module
        Where the coding runs (``numpy`` or ``cupy``); inputs and outputs stay on the host.

    Returns
    -------
    CodedDetail
    """
    tiles = tile_windows(detail.shape, 2 * filters.shape[-1])
    synthesis = np.empty(detail.shape, np.float32)
    objective = nonzero = total = 0.0
    for window, core, core_in_window in tiles:
        coded = code_region(detail[window], observed[window], filters,
                            sparsity_weight=sparsity_weight, max_iter=max_iter,
                            callback=None if progress is None else lambda _: progress.update(1),
                            xp=xp)
        objective += coded.objective
        nonzero += coded.nnz
        total += coded.codes.size
        synthesis[core] = to_numpy(coded.synthesis[core_in_window])
    return CodedDetail(synthesis, objective, nonzero / total, len(tiles))


def n_coding_tiles(shape, filter_size):
    """Number of tiles :func:`code_detail` uses for an image of ``shape = (H, W)``."""
    return len(tile_windows(shape, 2 * filter_size))
