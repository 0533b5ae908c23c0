"""The smooth part and the detail layer of an image with missing pixels.

The restoration pipeline fills the missing pixels by biharmonic inpainting, takes a Gaussian
smoothing of the fill as the smooth part, and codes the detail (image minus smooth part, on the
observed pixels, scaled to unit RMS) with the sparse model. Large images are filled tile by tile
(with a margin, so that holes smaller than the margin are filled as by one global solve), which
bounds memory and lets a progress bar advance.
"""

import hashlib

import numpy as np
from scipy import ndimage

from .biharmonic import BiharmonicSolver
from .tiling import tile_windows

__all__ = ["biharmonic_fill", "fill_residual", "n_fill_tiles", "smooth", "detail_layer",
           "unit_rms_detail", "FILL_MARGIN"]

FILL_MARGIN = 32  # pixels of context around each fill tile


def smooth(image, sigma):
    """Gaussian smoothing over the last two axes (reflect boundary)."""
    sigmas = (0,) * (np.ndim(image) - 2) + (sigma, sigma)
    return ndimage.gaussian_filter(image, sigmas, mode="reflect")


def detail_layer(image, sigma=1.0):
    """``image - gaussian(image, sigma)`` (reflect boundary) over the last two axes."""
    return image - smooth(image, sigma)


def unit_rms_detail(detail, observed):
    """Detail ``(..., H, W)`` zeroed at missing pixels and divided by its RMS over the observed
    pixels of each ``(H, W)`` plane.

    Returns
    -------
    detail : ndarray of the input's shape and dtype
    rms : ndarray of shape (..., 1, 1)
        1 where a plane is zero.
    """
    detail = np.where(observed, detail, 0.0).astype(detail.dtype)
    counts = np.maximum(observed.sum(axis=(-2, -1), keepdims=True), 1)
    rms = np.sqrt((detail * detail).sum(axis=(-2, -1), keepdims=True) / counts)
    rms = np.where(rms > 0, rms, 1.0).astype(detail.dtype)
    return detail / rms, rms


def biharmonic_fill(channels, observed, *, tile_pixels=None, progress=None, solvers=None):
    """Biharmonic inpainting of the missing pixels of every channel (the equations of
    :func:`skimage.restoration.inpaint_biharmonic`, :class:`restoration.biharmonic.
    BiharmonicSolver`).

    Parameters
    ----------
    channels : ndarray of shape (n_channels, H, W)
        Values at missing pixels are ignored.
    observed : ndarray of bool of shape (n_channels, H, W)
    tile_pixels : int or None
        Pixels per tile (cores plus margins); :data:`restoration.tiling.TILE_PIXELS` when None.
    progress : object with ``update(n)`` or None
        Advanced by one per tile.
    solvers : dict or None
        Factorisations by mask: those found in it are reused and the new ones added, so that
        a later fill on the same masks (:func:`fill_residual`) solves without factorising. They
        hold about 0.4 kB per missing pixel of a 512x512 tile at 50 % missing, 2.5 kB at 90 %
        (the factors fill in more for larger connected unknown areas); None: none kept.

    Returns
    -------
    ndarray of the shape and dtype of ``channels``
        Observed pixels unchanged. Channels that share their mask are filled by one solve.
    """
    filled = np.array(channels, copy=True)
    every = (slice(None),)  # all channels
    for window, core, core_in_window in tile_windows(channels.shape[-2:], FILL_MARGIN,
                                                     tile_pixels=tile_pixels):
        tile = _fill(channels[every + window], observed[every + window], solvers)
        filled[every + core] = tile[every + core_in_window]
        if progress is not None:
            progress.update(1)
    return filled


def fill_residual(models, values, observed, *, progress=None, solvers=None):
    """Models of an image corrected at its missing pixels by the biharmonic interpolation of
    their residual on the observed pixels.

    A sparse model ``s + D z`` does not reproduce the observed pixels exactly (the sparsity
    weight leaves a residual, spatially correlated where the dictionary misses some structure);
    interpolating that residual into the missing pixels as the fill interpolates the image
    keeps what the observed neighbours say there. Measured on the development set of
    ``benchmarks/adaptation_levers.py`` (lever "residual").

    Parameters
    ----------
    models : ndarray of shape (..., H, W)
        One or several models of the image (they share the mask, so one solve serves them all).
    values : ndarray of shape (H, W)
        The image (read at observed pixels only).
    observed : ndarray of bool of shape (H, W)
    progress : object with ``update(n)`` or None
        Advanced by one per fill tile.
    solvers : dict or None
        As in :func:`biharmonic_fill` (the fill of the image on the same mask put them there).

    Returns
    -------
    ndarray of the shape of ``models``
        ``models`` at observed pixels; ``models`` plus the interpolated residual elsewhere.
    """
    shape = np.shape(models)
    stack = np.reshape(models, (-1,) + shape[-2:])
    residual = np.where(observed, values - stack, 0.0).astype(stack.dtype)
    filled = biharmonic_fill(residual, np.broadcast_to(observed, residual.shape),
                             progress=progress, solvers=solvers)
    return np.where(observed, stack, stack + filled).reshape(shape)


def n_fill_tiles(shape, *, tile_pixels=None):
    """Number of tiles :func:`biharmonic_fill` uses for an image of ``shape = (H, W)``."""
    return len(tile_windows(shape, FILL_MARGIN, tile_pixels=tile_pixels))


def _fill(channels, observed, solvers):
    """Biharmonic fill of one tile ``(n_channels, h, w)``."""
    if observed.all():
        return channels
    if (observed == observed[:1]).all():  # one factorisation for all
        return _solver(observed[0], channels.dtype, solvers).fill(channels).astype(channels.dtype)
    out = np.array(channels, copy=True)
    for index, seen in enumerate(observed):
        if not seen.all():
            out[index] = _solver(seen, channels.dtype, solvers).fill(channels[index])
    return out


def _solver(observed, dtype, solvers):
    """The :class:`BiharmonicSolver` of ``observed`` (H, W), from ``solvers`` when it holds one
    for this mask (added to it otherwise), in ``dtype``'s precision (float64 for integers)."""
    dtype = dtype if np.issubdtype(dtype, np.floating) else np.float64
    if solvers is None:
        return BiharmonicSolver(observed, dtype)
    key = (observed.shape, hashlib.blake2b(np.packbits(observed).tobytes()).hexdigest())
    if key not in solvers:
        solvers[key] = BiharmonicSolver(observed, dtype)
    return solvers[key]
