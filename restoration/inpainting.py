"""Inpainting and sparse reconstruction of real images: smooth part + sparse-coded detail.

Pipeline of :func:`restore` (DESIGN.md, "Restoration on real photos"):

1. fill the missing pixels by biharmonic inpainting (:func:`restoration.split.biharmonic_fill`,
   one solve for channels that share a mask, in tiles for large images);
2. choose the smoothing and the sparsity weight for this image by hold-out
   (:func:`restoration.selection.select_settings`: hidden observed pixels are predicted with each
   candidate and with the fill alone); when the fill alone predicts best, it is the result;
3. smooth part ``s = gaussian(fill, smoothing)``, detail ``b = image - s`` on observed pixels,
   scaled to unit RMS over the observed pixels;
4. masked convolutional sparse coding of the detail with a fixed dictionary by FISTA
   (:func:`restoration.tiling.code_detail`), ``min_z 1/2 ||M (b - D z)||^2 + lambda ||z||_1``,
   observed pixels only, in tiles for large images;
5. ``restored = s + rms * D z`` (the fill with its detail replaced), observed pixels put back,
   clipped to [0, 1].

Colour images whose channels share one mask are coded once, on their luminance
(``0.299 R + 0.587 G + 0.114 B``): the luminance's coded detail replaces the fill's, and the
fill's chroma is kept (a change of luminance alone is the same change of R, G and B), so a colour
image costs little more than a gray one (``benchmarks/inpaint_vs_peers.py``). Channels with
their own masks are coded one after the other.

:func:`inpaint` and :func:`reconstruct` return the image; :func:`restore` returns a
:class:`Restoration` with the image, the settings chosen and what the coding did.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from csc import ConvolutionalDictionary
from csc.backend import array_module, is_dask_array, to_numpy
from csc.images import as_array, as_float, image_layout, mask_weights
from csc.validation import check_bool, check_int, check_positive, check_representable

from .datasets import DEFAULT_DICTIONARIES, DEFAULT_DICTIONARY
from .preprocess import LUMA_WEIGHTS
from .selection import Selection, select_settings
from .split import biharmonic_fill, detail_layer, n_fill_tiles, smooth, unit_rms_detail
from .tiling import code_detail, n_coding_tiles

__all__ = ["Restoration", "restore", "inpaint", "reconstruct", "load_dictionary",
           "load_dictionaries", "detail_layer", "DEFAULT_DICTIONARY", "MAX_ITER", "MAX_ITER_SMALL",
           "coding_iterations", "SMOOTHINGS",
           "SPARSITY_WEIGHTS"]

#: FISTA iterations of the coding (per tile) of images of 512x512 pixels and more; smaller
#: images get the same work in more iterations, up to MAX_ITER_SMALL (:func:`coding_iterations`).
MAX_ITER = 36
MAX_ITER_SMALL = 100
#: Candidates of the per-image choice (the first ones are used when nothing is missing).
SMOOTHINGS = (1.0, 1.5)
SPARSITY_WEIGHTS = (0.25,)


@dataclass(frozen=True)
class Restoration:
    """Result of :func:`restore`: the restored image, the settings used and what the coding did.

    Attributes
    ----------
    image : ndarray of the input image's shape, float in [0, 1]
        float64 for float64 input, float32 otherwise; on the input's device.
    selections : tuple of restoration.selection.Selection
        The settings of every coded plane (one for a gray image or a colour image coded on its
        luminance, one per channel otherwise), with the hold-out errors they were chosen by
        (empty when the settings were given or nothing was missing).
    objective : float
        Coding objective ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` of the unit-RMS detail layers,
        summed over the coded planes and tiles (tile margins counted in each tile); 0 when no
        plane was coded.
    nnz : float
        Fraction of non-zero code entries (0 when no plane was coded).
    n_iter : int
        FISTA iterations per tile.
    n_tiles : int
        Coding tiles per plane.
    seconds : float
        Wall time of the whole call.
    """

    image: object
    selections: tuple
    objective: float
    nnz: float
    n_iter: int
    n_tiles: int
    seconds: float

    @property
    def smoothing(self):
        """Smoothing of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].smoothing

    @property
    def sparsity_weight(self):
        """Sparsity weight of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].sparsity_weight

    @property
    def dictionary(self):
        """Index of the dictionary of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].dictionary


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


def load_dictionaries(dictionary=None):
    """The candidate dictionaries of :func:`restore`, each as :func:`load_dictionary` returns it.

    Parameters
    ----------
    dictionary : None, one dictionary specification, or a list or tuple of them
        None: the bundled dictionaries (``restoration.datasets.DEFAULT_DICTIONARIES``).

    Returns
    -------
    tuple of ndarray of shape (n_filters, s, s), float32
    """
    if dictionary is None:
        dictionary = DEFAULT_DICTIONARIES
    if isinstance(dictionary, list | tuple):
        if not dictionary:
            raise ValueError("`dictionary` is an empty list; give at least one dictionary")
        return tuple(load_dictionary(item) for item in dictionary)
    return (load_dictionary(dictionary),)


def restore(image, mask=None, *, dictionary=None, sparsity_weight=None, smoothing=None,
            max_iter=None, channel_axis=None, keep_observed=None, progress=False):
    """Restore an image with a convolutional sparse model; return the image, the settings used
    and the coding's objective, sparsity and time.

    Parameters
    ----------
    image : ndarray of shape (H, W), or (H, W, C)-like with ``channel_axis``
        Floats in [0, 1], or unsigned integers (scaled to [0, 1] by their dtype's range,
        :func:`csc.images.as_float`). Values at missing pixels are ignored (NaN allowed there).
        NumPy or CuPy (the coding runs on the array's device; the fill on the host).
    mask : ndarray of bool of shape (H, W) or the image's shape, or None
        True (or 1) where the pixel is observed; None: every pixel is observed (a sparse
        approximation of the whole image, :func:`reconstruct`).
    dictionary : None, path, ConvolutionalDictionary, ndarray (n_filters, s, s), or a list of them
        Filters for the detail layer (see :func:`load_dictionary`). Several: chosen per image
        by hold-out with the other settings. None: the bundled dictionaries.
    sparsity_weight : float or None, default None
        ``lambda`` relative to the RMS of the observed detail (the detail is scaled to unit RMS).
        None: chosen per image from :data:`SPARSITY_WEIGHTS` by hold-out when pixels are missing,
        its first value otherwise.
    smoothing : float or None, default None
        Standard deviation (pixels) of the Gaussian that defines the smooth part. None: chosen
        per image from :data:`SMOOTHINGS` (or the biharmonic fill alone) by hold-out when pixels
        are missing, its first value otherwise. Given values are used as they are.
    max_iter : int or None, default None
        FISTA iterations. None: :func:`coding_iterations` of the image's size (36 from 512x512
        up, up to 100 on smaller images).
    channel_axis : int or None
        Axis of the colour channels (as in scikit-image); None for a gray image.
    keep_observed : bool or None, default None
        Return observed pixels unchanged; None means True when a ``mask`` is given.
    progress : bool, default False
        Show a progress bar (fill tiles, the choice of settings, FISTA iterations).

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
    >>> result = restore(image, mask, max_iter=5, smoothing=1.0, sparsity_weight=0.25)
    >>> result.image.shape, result.n_iter, 0 < result.nnz < 1
    ((64, 64), 5, True)
    """
    start = time.perf_counter()
    xp = array_module(image, mask)
    channels, observed, layout = _validated_image(image, mask, channel_axis)
    _check_parameters(max_iter=max_iter, sparsity_weight=sparsity_weight, smoothing=smoothing,
                      image_shape=channels.shape[-2:], keep_observed=keep_observed,
                      progress=progress)
    if max_iter is None:
        max_iter = coding_iterations(channels.shape[-2:])
    dictionaries = load_dictionaries(dictionary)
    luminance = len(channels) == 3 and bool((observed == observed[:1]).all())
    planes = 1 if luminance else len(channels)
    n_tiles = n_coding_tiles(channels.shape[-2:], max(d.shape[-1] for d in dictionaries))
    with tqdm(total=n_fill_tiles(channels.shape[-2:]) + planes * (1 + n_tiles * max_iter),
              disable=not progress, desc="restoring", unit="step", leave=False) as bar:
        fill = biharmonic_fill(channels, observed, progress=bar)
        restored = np.empty_like(fill)
        selections, objective, nonzero = [], 0.0, 0.0
        for index in range(planes):
            if luminance:
                plane = np.tensordot(LUMA_WEIGHTS, channels, axes=1).astype(channels.dtype)
                plane_fill = np.tensordot(LUMA_WEIGHTS, fill, axes=1).astype(channels.dtype)
                seen, targets = observed[0], slice(None)
            else:
                plane, seen, plane_fill = channels[index], observed[index], fill[index]
                targets = slice(index, index + 1)
            selection = _settings(plane, seen, dictionaries, sparsity_weight, smoothing, xp)
            bar.update(1)
            selections.append(selection)
            if selection.smoothing is None:  # the fill alone predicted the hidden pixels best
                restored[targets] = fill[targets]
                bar.update(n_tiles * max_iter)
                continue
            smooth_part = smooth(plane_fill, selection.smoothing)
            detail, scale = unit_rms_detail(plane - smooth_part, seen)
            coded = code_detail(detail.astype(np.float32), seen,
                                dictionaries[selection.dictionary],
                                sparsity_weight=selection.sparsity_weight, max_iter=max_iter,
                                progress=bar, xp=xp)
            # the plane's new detail replaces the fill's (for colour: the luminance's; the fill's
            # chroma is kept as it is)
            restored[targets] = fill[targets] + (smooth_part + scale * coded.synthesis
                                                 - plane_fill)
            objective += coded.objective
            nonzero += coded.nnz
    if keep_observed or (keep_observed is None and mask is not None):
        restored = np.where(observed, channels, restored)
    restored = np.clip(restored, 0.0, 1.0).astype(channels.dtype)
    restored = xp.asarray(layout.from_internal(restored[None], xp=np))
    return Restoration(restored, tuple(selections), objective, nonzero / planes, int(max_iter),
                       n_tiles, time.perf_counter() - start)


def inpaint(image, mask, *, dictionary=None, sparsity_weight=None, smoothing=None,
            max_iter=None, channel_axis=None, keep_observed=True, progress=False):
    """Fill missing pixels of a gray or colour image with a convolutional sparse model.

    :func:`restore` with a mask, returning only the image.

    Parameters
    ----------
    image, mask, dictionary, sparsity_weight, smoothing, max_iter, channel_axis, progress
        As in :func:`restore` (``mask`` is required). ``image`` may be a ``dask.array.Array``
        (an image larger than memory): it is restored in overlapping blocks and a lazy dask array
        is returned (:func:`restoration.blockwise.inpaint_blocks`; no progress bar).
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
    if is_dask_array(image):
        from .blockwise import inpaint_blocks

        return inpaint_blocks(image, mask, dictionary=dictionary, sparsity_weight=sparsity_weight,
                              smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                              keep_observed=keep_observed)
    return restore(image, mask, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                   keep_observed=keep_observed, progress=progress).image


def reconstruct(image, dictionary=None, *, sparsity_weight=None, smoothing=None,
                max_iter=None, channel_axis=None, progress=False):
    """Sparse approximation of a whole image: smooth part + ``D z`` with sparse codes ``z``.

    :func:`restore` with every pixel observed, returning only the image; the detail is
    approximated, not copied, so the output shows what the dictionary represents at this
    sparsity.

    Parameters
    ----------
    image, dictionary, sparsity_weight, smoothing, max_iter, channel_axis, progress
        As in :func:`restore` (with nothing missing, None means the first candidate).

    Returns
    -------
    ndarray of the image's shape, float in [0, 1]
    """
    return restore(image, None, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                   keep_observed=False, progress=progress).image


# -- steps ------------------------------------------------------------------------------------
def _settings(plane, observed, dictionaries, sparsity_weight, smoothing, xp):
    """The :class:`Selection` of one plane: the given values, or the hold-out choice."""
    smoothings = SMOOTHINGS if smoothing is None else (float(smoothing),)
    weights = SPARSITY_WEIGHTS if sparsity_weight is None else (float(sparsity_weight),)
    fixed = sparsity_weight is not None and smoothing is not None and len(dictionaries) == 1
    if observed.all() or fixed:
        return Selection(smoothings[0], weights[0], 0, {}, 0)
    return select_settings(plane, observed, dictionaries, smoothings=smoothings,
                           sparsity_weights=weights, xp=xp)


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


def coding_iterations(shape):
    """Default FISTA iterations for an image of ``shape = (H, W)``: as many as the work of
    :data:`MAX_ITER` iterations on 512x512 pixels allows, between :data:`MAX_ITER` and
    :data:`MAX_ITER_SMALL`. Measured with ``benchmarks/inpaint_vs_peers.py`` against 36
    iterations everywhere: fruit/city in the papers' protocol with a dictionary learned from the
    corrupted set +0.11 to +0.16 dB per seed, with the bundled dictionaries -0.01 to -0.04 on
    fruit and +0.03 to +0.05 on city; coins (303x384, 81 iterations) +0.14 dB.

    >>> coding_iterations((512, 512)), coding_iterations((303, 384)), coding_iterations((100, 100))
    (36, 81, 100)
    """
    work = MAX_ITER * 512 * 512 // (int(shape[0]) * int(shape[1]))
    return int(min(max(work, MAX_ITER), MAX_ITER_SMALL))


def _check_parameters(*, max_iter, sparsity_weight, smoothing, image_shape, keep_observed,
                      progress):
    """The scalar parameters of :func:`restore`, against the image's ``(H, W)``.

    ``smoothing`` may not exceed the image's larger side (a wider Gaussian is flat over the
    image).
    """
    if max_iter is not None:
        check_int("max_iter", max_iter, 1)
    if sparsity_weight is not None:
        check_positive("sparsity_weight", sparsity_weight)
        check_representable("sparsity_weight", sparsity_weight, np.float32)  # coding precision
    if smoothing is not None:
        check_positive("smoothing", smoothing)
        if smoothing > max(image_shape):
            raise ValueError(f"`smoothing` must be at most the image's larger side "
                             f"({max(image_shape)} pixels), got {smoothing!r}")
    check_bool("progress", progress)
    if keep_observed is not None:
        check_bool("keep_observed", keep_observed)
