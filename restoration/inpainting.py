"""Inpainting and sparse reconstruction of real images: smooth part + sparse-coded detail.

Pipeline (DESIGN.md, "Restoration on real photos"), per colour channel:

1. fill the missing pixels by biharmonic inpainting (:func:`skimage.restoration.inpaint_biharmonic`);
2. smooth part ``s = gaussian(fill, smoothing)``, detail ``b = image - s`` on observed pixels,
   scaled to unit RMS over the observed pixels;
3. masked convolutional sparse coding of the detail with a fixed dictionary by FISTA
   (:func:`csc.fista_sparse_code`), ``min_z 1/2 ||M (b - D z)||^2 + lambda ||z||_1``, observed
   pixels only, padding unobserved;
4. ``restored = s + rms * D z``, observed pixels put back, clipped to [0, 1].

Large images are coded in overlapping tiles (the filters are small, so a margin of two filter
widths makes the tiles independent up to the solver's tolerance).
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csc import ConvolutionalDictionary
from csc.backend import array_module, to_numpy
from csc.coding import fista_sparse_code, objective_terms, reconstruct_spatial
from csc.fourier import pad_filters, spectra
from csc.validation import check_int, check_positive
from data import DATA_DIR

__all__ = ["RestorationInfo", "inpaint", "reconstruct", "load_dictionary", "detail_layer",
           "DEFAULT_DICTIONARY"]

DEFAULT_DICTIONARY = DATA_DIR / "default_dictionary.npz"
DETAIL_SIGMA = 1.0
TILE_PIXELS = 1024 * 1024  # coded pixels per tile, summed over channels


@dataclass(frozen=True)
class RestorationInfo:
    """What :func:`inpaint` / :func:`reconstruct` did.

    Attributes
    ----------
    objective : float
        Coding objective ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` of the unit-RMS detail layer,
        summed over channels and tiles (tile margins counted in each tile).
    nnz : float
        Fraction of non-zero code entries.
    sparsity_weight : float
        ``lambda`` of the unit-RMS detail layer.
    n_iter : int
        FISTA iterations per tile.
    n_tiles : int
    seconds : float
        Wall time of the whole call.
    """

    objective: float
    nnz: float
    sparsity_weight: float
    n_iter: int
    n_tiles: int
    seconds: float


def detail_layer(image, sigma=DETAIL_SIGMA):
    """``image - gaussian(image, sigma)`` (reflect boundary) over the last two axes."""
    return image - _smooth(image, sigma)


def load_dictionary(dictionary=None):
    """Gray filters ``(n_filters, s, s)`` as float32 from a dictionary specification.

    Parameters
    ----------
    dictionary : None, str, path, ConvolutionalDictionary or ndarray of shape (n_filters, s, s)
        None loads the bundled default (``data/default_dictionary.npz``); a path loads a file
        written by :meth:`csc.ConvolutionalDictionary.save` (``cogd learn``).

    Returns
    -------
    ndarray of shape (n_filters, s, s), float32
    """
    if dictionary is None:
        dictionary = DEFAULT_DICTIONARY
    if isinstance(dictionary, (str, Path)):
        try:
            dictionary = ConvolutionalDictionary.load(dictionary)
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"`dictionary`: cannot load {str(dictionary)!r}: {error}") from None
    if isinstance(dictionary, ConvolutionalDictionary):
        dictionary = dictionary.filters_
    filters = np.asarray(to_numpy(dictionary))
    if filters.ndim == 4 and filters.shape[1] == 1:
        filters = filters[:, 0]
    if filters.ndim != 3 or filters.shape[1] != filters.shape[2] or filters.dtype.kind != "f":
        raise ValueError(f"`dictionary` must hold gray square float filters (n_filters, s, s), "
                         f"got shape {filters.shape} and dtype {filters.dtype}")
    if not np.all(np.isfinite(filters)):
        raise ValueError("`dictionary` contains NaN or infinite values")
    return filters.astype(np.float32)


def inpaint(image, mask, *, dictionary=None, sparsity_weight=0.25, max_iter=60,
            smoothing=DETAIL_SIGMA, learn=False, learn_iter=10, channel_axis=None,
            keep_observed=True, progress=False, return_info=False, random_state=0):
    """Fill missing pixels of a gray or colour image with a convolutional sparse model.

    Parameters
    ----------
    image : ndarray of shape (H, W), or (H, W, C) with ``channel_axis``
        Floats in [0, 1], or uint8/uint16 (scaled to [0, 1]). Values at missing pixels are
        ignored. NumPy or CuPy (the coding runs on the array's device; the fill on the host).
    mask : ndarray of bool of shape (H, W) or the image's shape
        True (or 1) where the pixel is observed.
    dictionary : None, path, ConvolutionalDictionary or ndarray (n_filters, s, s)
        Filters for the detail layer; the bundled default when None (see :func:`load_dictionary`).
    sparsity_weight : float, default 0.25
        ``lambda`` relative to the RMS of the observed detail (the detail is scaled to unit RMS).
    max_iter : int, default 60
        FISTA iterations.
    smoothing : float, default 1.0
        Standard deviation (pixels) of the Gaussian that defines the smooth part.
    learn : bool, default False
        First adapt the dictionary to the observed pixels of this image (CoGD, ``learn_iter``
        outer iterations, started from ``dictionary``, on the central 256x256 region at most).
    learn_iter : int, default 10
    channel_axis : int or None
        Axis of the colour channels (as in scikit-image); None for a gray image.
    keep_observed : bool, default True
        Return observed pixels unchanged.
    progress : bool, default False
        Show a progress bar over FISTA iterations (all tiles).
    return_info : bool, default False
        Also return a :class:`RestorationInfo`.
    random_state : int, default 0
        Seed of the dictionary learning (``learn=True``).

    Returns
    -------
    restored : ndarray of the image's shape, float in [0, 1]
        float64 for float64 input, float32 otherwise.
    info : RestorationInfo
        Only when ``return_info``.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from restoration import inpaint
    >>> image = data.camera()[200:264, 200:264]
    >>> mask = np.random.default_rng(0).random(image.shape) >= 0.5
    >>> inpaint(image, mask, max_iter=5).shape
    (64, 64)
    """
    return _restore(image, mask, dictionary, sparsity_weight, max_iter, smoothing, learn,
                    learn_iter, channel_axis, keep_observed, progress, return_info, random_state)


def reconstruct(image, dictionary=None, *, sparsity_weight=0.25, max_iter=60,
                smoothing=DETAIL_SIGMA, channel_axis=None, progress=False, return_info=False):
    """Sparse approximation of a whole image: smooth part + ``D z`` with sparse codes ``z``.

    The same model as :func:`inpaint` with every pixel observed; the detail is approximated,
    not copied, so the output shows what the dictionary represents at this sparsity.

    Parameters
    ----------
    image, dictionary, sparsity_weight, max_iter, smoothing, channel_axis, progress, return_info
        As in :func:`inpaint`.

    Returns
    -------
    restored : ndarray of the image's shape, float in [0, 1]
    info : RestorationInfo
        Only when ``return_info``.
    """
    return _restore(image, None, dictionary, sparsity_weight, max_iter, smoothing, False, 1,
                    channel_axis, False, progress, return_info, None)


def _restore(image, mask, dictionary, sparsity_weight, max_iter, smoothing, learn, learn_iter,
             channel_axis, keep_observed, progress, return_info, random_state):
    """The pipeline of the module docstring; ``mask=None`` means every pixel observed."""
    start = time.perf_counter()
    xp = array_module(image, mask)
    channels, to_layout, dtype = _channels_first(image, channel_axis)
    if mask is None:
        observed = np.ones(channels.shape, bool)
    else:
        observed = _check_mask(mask, image, channel_axis, channels.shape)
    check_int("max_iter", max_iter, 1)
    check_int("learn_iter", learn_iter, 1)
    check_positive("sparsity_weight", sparsity_weight)
    check_positive("smoothing", smoothing)
    filters = load_dictionary(dictionary)
    smooth = np.stack([_smooth(_biharmonic_fill(c, o), smoothing)
                       for c, o in zip(channels, observed, strict=True)])
    detail, scale = _unit_rms_detail(channels - smooth, observed)
    if learn:
        filters = _adapt_dictionary(detail, observed, filters, sparsity_weight, learn_iter,
                                    random_state, progress)
    coded, objective, nnz, n_tiles = _code_detail(
        detail, observed, filters, sparsity_weight, max_iter, progress, xp)
    restored = smooth + scale * coded
    if keep_observed:
        restored = np.where(observed, channels, restored)
    restored = xp.asarray(to_layout(np.clip(restored, 0.0, 1.0).astype(dtype)))
    if not return_info:
        return restored
    return restored, RestorationInfo(objective, nnz, float(sparsity_weight), int(max_iter),
                                     n_tiles, time.perf_counter() - start)


# -- steps ------------------------------------------------------------------------------------
def _smooth(image, sigma):
    """Gaussian smoothing over the last two axes (reflect boundary)."""
    from scipy import ndimage

    sigmas = (0,) * (np.ndim(image) - 2) + (sigma, sigma)
    return ndimage.gaussian_filter(image, sigmas, mode="reflect")


def _biharmonic_fill(channel, observed):
    """Biharmonic fill of the missing pixels of one channel ``(H, W)``."""
    if observed.all():
        return channel
    from skimage.restoration import inpaint_biharmonic

    return inpaint_biharmonic(np.where(observed, channel, 0.0), ~observed).astype(channel.dtype)


def _unit_rms_detail(detail, observed):
    """Detail ``(C, H, W)`` zero at missing pixels and scaled per channel to unit observed RMS."""
    detail = np.where(observed, detail, 0.0)
    counts = np.maximum(observed.sum(axis=(1, 2), keepdims=True), 1)
    rms = np.sqrt((detail * detail).sum(axis=(1, 2), keepdims=True) / counts)
    rms = np.where(rms > 0, rms, 1.0).astype(detail.dtype)
    return detail / rms, rms


def _tiles(length, core):
    """``[(start, stop)]`` cores of at most ``core`` covering ``range(length)``."""
    return [(start, min(start + core, length)) for start in range(0, length, core)]


def _code_detail(detail, observed, filters, sparsity_weight, max_iter, progress, xp):
    """FISTA-code ``detail (C, H, W)`` on observed pixels, tile by tile; return ``D z``.

    Returns
    -------
    (coded (C, H, W), objective, nnz, n_tiles)
    """
    import scipy.fft
    from tqdm.auto import tqdm

    n_channels, height, width = detail.shape
    s = filters.shape[-1]
    margin = 2 * s
    core = max(64, int(np.sqrt(TILE_PIXELS / n_channels)) - 2 * margin)
    tiles = [(rows, cols) for rows in _tiles(height, core) for cols in _tiles(width, core)]
    coded = np.empty(detail.shape, np.float32)
    objective = nonzero = total = 0.0
    device_filters = xp.asarray(filters)[:, None]
    with tqdm(total=len(tiles) * max_iter, disable=not progress, desc="sparse coding",
              unit="it", leave=False) as bar:
        for (top, bottom), (left, right) in tiles:
            top_x, left_x = max(top - margin, 0), max(left - margin, 0)
            bottom_x, right_x = min(bottom + margin, height), min(right + margin, width)
            tile = np.s_[:, top_x:bottom_x, left_x:right_x]
            # image bottom-right of a grid padded by s - 1 and grown to a fast FFT length
            grid = tuple(scipy.fft.next_fast_len(n + s - 1, real=True)
                         for n in (bottom_x - top_x, right_x - left_x))
            signal = xp.zeros((n_channels, 1) + grid, np.float32)
            weights = xp.zeros_like(signal)
            rows, cols = slice(s - 1, s - 1 + bottom_x - top_x), slice(s - 1, s - 1 + right_x - left_x)
            signal[:, 0, rows, cols] = xp.asarray(detail[tile], np.float32)
            weights[:, 0, rows, cols] = xp.asarray(observed[tile], np.float32)
            filters_hat = spectra(pad_filters(device_filters, grid, xp=xp), xp=xp)
            result = fista_sparse_code(signal, weights, filters_hat,
                                       sparsity_weight=sparsity_weight, max_iter=max_iter,
                                       callback=lambda _: bar.update(), xp=xp)
            codes = result.coefficients
            synthesis = reconstruct_spatial(filters_hat, codes, grid, xp=xp)
            data, l1 = objective_terms(signal, weights, filters_hat, codes,
                                       sparsity_weight=sparsity_weight,
                                       reconstruction=synthesis, xp=xp)
            objective += data + l1
            nonzero += float(xp.count_nonzero(codes))
            total += codes.size
            synthesis = synthesis[:, 0, rows, cols]
            coded[:, top:bottom, left:right] = to_numpy(
                synthesis[:, top - top_x:bottom - top_x, left - left_x:right - left_x])
    return coded, objective, nonzero / total, len(tiles)


def _adapt_dictionary(detail, observed, filters, sparsity_weight, learn_iter, random_state,
                      progress):
    """Dictionary learned by CoGD on the central (at most 256x256) region of the detail."""
    height, width = detail.shape[-2:]
    top, left = max((height - 256) // 2, 0), max((width - 256) // 2, 0)
    region = np.s_[:, top:top + 256, left:left + 256]
    model = ConvolutionalDictionary(
        len(filters), filters.shape[-1], sparsity_weight=sparsity_weight, optimizer="cogd",
        max_iter=learn_iter, initial_filters=filters, random_state=random_state,
        progress=progress)
    model.fit(detail[region].astype(np.float32), observed[region])
    return model.filters_.astype(np.float32)


# -- validation -------------------------------------------------------------------------------
def _channels_first(image, channel_axis):
    """Validate an image; return ``(channels (C, H, W) float, to_layout, output dtype)``."""
    image = np.asarray(to_numpy(image))
    if channel_axis is None and image.ndim != 2:
        raise ValueError(f"`image` must be gray (H, W), or pass `channel_axis` for colour; got "
                         f"shape {image.shape}")
    if channel_axis is not None:
        if image.ndim != 3 or not -3 <= channel_axis <= 2:
            raise ValueError(f"`image` with `channel_axis` must be (H, W, C)-like with 3 "
                             f"dimensions; got shape {image.shape} and channel_axis "
                             f"{channel_axis}")
    if min(image.shape) == 0:
        raise ValueError(f"`image` is empty: shape {image.shape}")
    if image.dtype in (np.uint8, np.uint16):
        dtype = np.dtype(np.float32)
        values = image.astype(np.float32) / np.iinfo(image.dtype).max
    elif image.dtype.kind == "f":
        dtype = image.dtype if image.dtype == np.float64 else np.dtype(np.float32)
        values = image.astype(dtype)
        if not np.all(np.isfinite(values)):
            raise ValueError("`image` contains NaN or infinite values")
        if values.min() < -1e-6 or values.max() > 1 + 1e-6:
            raise ValueError(f"float `image` values must lie in [0, 1], got "
                             f"[{values.min():.4g}, {values.max():.4g}]")
    else:
        raise ValueError(f"`image` must be float in [0, 1], uint8 or uint16; got dtype "
                         f"{image.dtype}")
    if channel_axis is None:
        return values[None], lambda channels: channels[0], dtype
    return (np.moveaxis(values, channel_axis, 0),
            lambda channels: np.moveaxis(channels, 0, channel_axis), dtype)


def _check_mask(mask, image, channel_axis, channels_shape):
    """Observed pixels as bool ``(C, H, W)``."""
    mask = np.asarray(to_numpy(mask))
    spatial_shape = channels_shape[1:]
    if mask.dtype != bool:
        if mask.dtype.kind not in "biuf" or not np.all(np.isin(mask, (0, 1))):
            raise ValueError("`mask` must be boolean or hold only 0 and 1 (1 = observed)")
        mask = mask.astype(bool)
    if mask.shape == spatial_shape:
        observed = np.broadcast_to(mask, channels_shape)
    elif channel_axis is not None and mask.shape == np.shape(image):
        observed = np.moveaxis(mask, channel_axis, 0)
    else:
        raise ValueError(f"`mask` must have shape {spatial_shape} (or the image's shape), got "
                         f"{mask.shape}")
    if not observed.any(axis=(1, 2)).all():
        raise ValueError("`mask` has no observed pixel (in some channel)")
    return np.ascontiguousarray(observed)

