"""Inpainting and sparse reconstruction of real images: smooth part + sparse-coded detail.

Pipeline of :func:`restore` (DESIGN.md, "Restoration on real photos"), per colour channel:

1. fill the missing pixels by biharmonic inpainting (:func:`skimage.restoration.inpaint_biharmonic`);
2. smooth part ``s = gaussian(fill, smoothing)``, detail ``b = image - s`` on observed pixels,
   scaled to unit RMS over the observed pixels;
3. masked convolutional sparse coding of the detail with a fixed dictionary by FISTA
   (:func:`restoration.tiling.code_detail`), ``min_z 1/2 ||M (b - D z)||^2 + lambda ||z||_1``,
   observed pixels only, padding unobserved, in tiles for large images;
4. ``restored = s + rms * D z``, observed pixels put back, clipped to [0, 1].

:func:`inpaint` and :func:`reconstruct` return the image; :func:`restore` returns a
:class:`Restoration` with the image and what the coding did.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from csc import ConvolutionalDictionary
from csc.backend import array_module, to_numpy
from csc.images import as_array, as_float, image_layout, mask_weights
from csc.validation import (
    check_bool,
    check_int,
    check_positive,
    check_random_state,
    check_representable,
)

from .datasets import DEFAULT_DICTIONARY
from .tiling import code_detail

__all__ = ["Restoration", "restore", "inpaint", "reconstruct", "load_dictionary", "detail_layer",
           "DEFAULT_DICTIONARY"]

DETAIL_SIGMA = 1.0


@dataclass(frozen=True)
class Restoration:
    """Result of :func:`restore`: the restored image and what the coding did.

    Attributes
    ----------
    image : ndarray of the input image's shape, float in [0, 1]
        float64 for float64 input, float32 otherwise; on the input's device.
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

    image: object
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
        None loads the bundled default (``restoration.datasets.DEFAULT_DICTIONARY``); a path
        loads a file written by :meth:`csc.ConvolutionalDictionary.save` (``cogd learn``).

    Returns
    -------
    ndarray of shape (n_filters, s, s), float32

    Raises
    ------
    ValueError
        A file that cannot be read or is not a dictionary file, an unfitted estimator, or filters
        that are not real, finite, square and gray (at least one filter), naming ``dictionary``.
    """
    if dictionary is None:
        dictionary = DEFAULT_DICTIONARY
    if isinstance(dictionary, str | Path):
        try:
            dictionary = ConvolutionalDictionary.load(dictionary)
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"`dictionary`: {error}") from None
    if isinstance(dictionary, ConvolutionalDictionary):
        if not hasattr(dictionary, "filters_"):
            raise ValueError("`dictionary` is a ConvolutionalDictionary that is not fitted")
        dictionary = dictionary.filters_
    filters = as_array(to_numpy(dictionary), name="dictionary", xp=np)
    if filters.ndim == 4 and filters.shape[1] == 1:
        filters = filters[:, 0]
    if filters.ndim != 3 or filters.shape[1] != filters.shape[2] or filters.dtype.kind != "f" \
            or 0 in filters.shape:
        raise ValueError(f"`dictionary` must hold gray square float filters (n_filters, s, s), "
                         f"at least one, got shape {filters.shape} and dtype {filters.dtype}")
    if not np.all(np.isfinite(filters)):
        raise ValueError("`dictionary` contains NaN or infinite values")
    return filters.astype(np.float32)


def restore(image, mask=None, *, dictionary=None, sparsity_weight=0.25, max_iter=60,
            smoothing=DETAIL_SIGMA, learn=False, learn_iter=10, channel_axis=None,
            keep_observed=None, progress=False, random_state=0):
    """Restore an image with a convolutional sparse model; return the image and the coding's
    objective, sparsity and time.

    Parameters
    ----------
    image : ndarray of shape (H, W), or (H, W, C)-like with ``channel_axis``
        Floats in [0, 1], or unsigned integers (scaled to [0, 1] by their dtype's range,
        :func:`csc.images.as_float`). Values at missing pixels are ignored. NumPy or CuPy (the
        coding runs on the array's device; the fill on the host).
    mask : ndarray of bool of shape (H, W) or the image's shape, or None
        True (or 1) where the pixel is observed; None: every pixel is observed (a sparse
        approximation of the whole image, :func:`reconstruct`).
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
    keep_observed : bool or None, default None
        Return observed pixels unchanged; None means True when a ``mask`` is given.
    progress : bool, default False
        Show a progress bar over FISTA iterations (all tiles).
    random_state : int or None, default 0
        Seed of the dictionary learning (``learn=True``).

    Returns
    -------
    Restoration

    Raises
    ------
    ValueError
        Invalid image, mask or parameters, naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from restoration import restore
    >>> image = data.camera()[200:264, 200:264]
    >>> mask = np.random.default_rng(0).random(image.shape) >= 0.5
    >>> result = restore(image, mask, max_iter=5)
    >>> result.image.shape, result.n_iter, 0 < result.nnz < 1
    ((64, 64), 5, True)
    """
    start = time.perf_counter()
    xp = array_module(image, mask)
    channels, observed, layout = _validated_image(image, mask, channel_axis)
    _check_parameters(max_iter=max_iter, learn_iter=learn_iter, sparsity_weight=sparsity_weight,
                      smoothing=smoothing, image_shape=channels.shape[-2:], learn=learn,
                      dictionary=dictionary, keep_observed=keep_observed, progress=progress,
                      random_state=random_state)
    filters = load_dictionary(dictionary)
    smooth = np.stack([_smooth(_biharmonic_fill(c, o), smoothing)
                       for c, o in zip(channels, observed, strict=True)])
    detail, scale = _unit_rms_detail(channels - smooth, observed)
    if learn:
        filters = _adapt_dictionary(detail, observed, filters, sparsity_weight, learn_iter,
                                    random_state, progress)
    coded = code_detail(detail, observed, filters, sparsity_weight=sparsity_weight,
                        max_iter=max_iter, progress=progress, xp=xp)
    restored = smooth + scale * coded.synthesis
    if keep_observed or (keep_observed is None and mask is not None):
        restored = np.where(observed, channels, restored)
    restored = np.clip(restored, 0.0, 1.0).astype(channels.dtype)
    restored = xp.asarray(layout.from_internal(restored[None], xp=np))
    return Restoration(restored, coded.objective, coded.nnz, float(sparsity_weight),
                       int(max_iter), coded.n_tiles, time.perf_counter() - start)


def inpaint(image, mask, *, dictionary=None, sparsity_weight=0.25, max_iter=60,
            smoothing=DETAIL_SIGMA, learn=False, learn_iter=10, channel_axis=None,
            keep_observed=True, progress=False, random_state=0):
    """Fill missing pixels of a gray or colour image with a convolutional sparse model.

    :func:`restore` with a mask, returning only the image.

    Parameters
    ----------
    image, mask, dictionary, sparsity_weight, max_iter, smoothing, learn, learn_iter,
    channel_axis, progress, random_state
        As in :func:`restore` (``mask`` is required).
    keep_observed : bool, default True
        Return observed pixels unchanged.

    Returns
    -------
    ndarray of the image's shape, float in [0, 1]
        float64 for float64 input, float32 otherwise.

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
    if mask is None:
        raise ValueError("`mask` is required (True = observed); use `reconstruct` without one")
    return restore(image, mask, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   max_iter=max_iter, smoothing=smoothing, learn=learn, learn_iter=learn_iter,
                   channel_axis=channel_axis, keep_observed=keep_observed, progress=progress,
                   random_state=random_state).image


def reconstruct(image, dictionary=None, *, sparsity_weight=0.25, max_iter=60,
                smoothing=DETAIL_SIGMA, channel_axis=None, progress=False):
    """Sparse approximation of a whole image: smooth part + ``D z`` with sparse codes ``z``.

    :func:`restore` with every pixel observed, returning only the image; the detail is
    approximated, not copied, so the output shows what the dictionary represents at this
    sparsity.

    Parameters
    ----------
    image, dictionary, sparsity_weight, max_iter, smoothing, channel_axis, progress
        As in :func:`restore`.

    Returns
    -------
    ndarray of the image's shape, float in [0, 1]
    """
    return restore(image, None, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   max_iter=max_iter, smoothing=smoothing, channel_axis=channel_axis,
                   keep_observed=False, progress=progress).image


# -- steps ------------------------------------------------------------------------------------
def _validated_image(image, mask, channel_axis):
    """Image and mask as ``(channels, observed, layout)``: ``channels`` (C, H, W) float on the
    host, zero at missing pixels; ``observed`` (C, H, W) bool.

    Values at observed pixels must be finite and lie in [0, 1]; values at missing pixels are
    ignored (NaN allowed there). Signed integers are refused (their policy maps to [-1, 1]).
    """
    image = as_array(to_numpy(image), name="image", xp=np)
    layout = image_layout(image, channel_axis, batch=False, name="image")
    if image.dtype.kind == "i":
        raise ValueError(f"`image` must hold floats in [0, 1] or unsigned integers, got dtype "
                         f"{image.dtype}")
    values = layout.to_internal(as_float(image, name="image", finite=False), xp=np)[0]
    if mask is None:
        observed = np.ones(values.shape, bool)
    else:
        observed = mask_weights(to_numpy(mask), layout, dtype=bool, binary=True,
                                each_channel=True)[0]
    kept = values[observed]
    if not np.all(np.isfinite(kept)):
        raise ValueError("`image` contains NaN or infinite values at observed pixels (mark them "
                         "missing in `mask`)")
    if kept.min() < -1e-6 or kept.max() > 1 + 1e-6:
        raise ValueError(f"`image` values must lie in [0, 1], got "
                         f"[{kept.min():.4g}, {kept.max():.4g}]")
    return np.where(observed, values, values.dtype.type(0)), observed, layout


def _check_parameters(*, max_iter, learn_iter, sparsity_weight, smoothing, image_shape, learn,
                      dictionary, keep_observed, progress, random_state):
    """The scalar parameters of :func:`restore`, against the image's ``(H, W)``.

    ``smoothing`` may not exceed the image's larger side (a wider Gaussian is flat over the
    image). With ``learn``, the image must be at least as large as the dictionary's filters.
    """
    check_int("max_iter", max_iter, 1)
    check_int("learn_iter", learn_iter, 1)
    check_positive("sparsity_weight", sparsity_weight)
    check_representable("sparsity_weight", sparsity_weight, np.float32)  # the coding's precision
    check_positive("smoothing", smoothing)
    if smoothing > max(image_shape):
        raise ValueError(f"`smoothing` must be at most the image's larger side "
                         f"({max(image_shape)} pixels), got {smoothing!r}")
    check_bool("learn", learn)
    check_bool("progress", progress)
    if keep_observed is not None:
        check_bool("keep_observed", keep_observed)
    check_random_state("random_state", random_state)
    if learn:
        size = load_dictionary(dictionary).shape[-1]
        if min(image_shape) < size:
            raise ValueError(f"`learn=True` needs an `image` at least as large as the "
                             f"dictionary's filters ({size}x{size}), got "
                             f"{image_shape[0]}x{image_shape[1]}")


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
