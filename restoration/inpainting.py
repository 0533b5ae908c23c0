"""Inpainting and sparse reconstruction of real images: the public entry points.

:func:`restore` runs the pipeline of :mod:`restoration.pipeline` (biharmonic fill, a dictionary
adapted to the image, per-image choice of the settings by hold-out, smooth part + FISTA-coded
detail with its residual interpolated, luminance coding of colour images) and returns a
:class:`restoration.pipeline.Restoration` with the image, the settings chosen and what the
learning and the coding did; :func:`restore_batch` restores several images with one dictionary
learned from all of them; :func:`inpaint` and :func:`reconstruct` return the image.
:func:`inpaint` of a ``dask.array.Array`` restores it block by block
(:func:`restoration.blockwise.inpaint_blocks`).
"""

import numbers

import numpy as np

from csc.backend import is_dask_array

from .adaptation import SET_LEARNING, adapt_dictionary
from .pipeline import adapts, adapts_set, check_parameters, learning_planes, restore_image

__all__ = ["restore", "restore_batch", "adapt_batch", "inpaint", "reconstruct"]


def restore(image, mask=None, *, dictionary=None, sparsity_weight=None, smoothing=None,
            max_iter=None, channel_axis=None, keep_observed=None, adapt=None, random_state=0,
            progress=False):
    """Restore an image with a convolutional sparse model; return the image, the settings used
    and the coding's objective, sparsity and time.

    Parameters
    ----------
    image : ndarray of shape (H, W), or (H, W, C)-like with ``channel_axis``
        Floats in [0, 1], or unsigned integers (scaled to [0, 1] by their dtype's range,
        :func:`csc.images.as_float`). Values at missing pixels are ignored (NaN allowed there).
        NumPy or CuPy (the coding runs on the array's device; the fill on the host).
    mask : ndarray of shape (H, W) or the image's shape, or None
        The observed pixels, by the one mask rule of the API and the CLI
        (:func:`restoration.masks.observed_pixels`): True or 1 observed, False or 0 missing; a
        mask with other values is an image, white (above half its dtype's range: 0/255 uint8,
        0/65535 uint16, floats above 0.5) observed. None: every pixel is observed (a sparse
        approximation of the whole image, :func:`reconstruct`).
    dictionary : None, path, ConvolutionalDictionary, ndarray (n_filters, s, s), or a list of them
        Filters for the detail layer (see :func:`restoration.load_dictionary`). Several: chosen
        per image by hold-out with the other settings. None: the bundled dictionaries.
    sparsity_weight : float or None, default None
        ``lambda`` relative to the RMS of the observed detail (the detail is scaled to unit RMS).
        None: chosen per image from :data:`restoration.pipeline.SPARSITY_WEIGHTS` by hold-out
        when pixels are missing, its first value otherwise.
    smoothing : float or None, default None
        Standard deviation (pixels) of the Gaussian that defines the smooth part. None: chosen
        per image from :data:`restoration.pipeline.SMOOTHINGS` (or the biharmonic fill alone)
        by hold-out when pixels are missing, :data:`restoration.pipeline.
        RECONSTRUCTION_SMOOTHING` otherwise. Given values are used as they are.
    max_iter : int or None, default None
        FISTA iterations. None: :func:`restoration.pipeline.coding_iterations` of the image's
        size (48 from 512x512 up, up to 100 on smaller images).
    channel_axis : int or None
        Axis of the colour channels (as in scikit-image); None for a gray image.
    keep_observed : bool or None, default None
        Return observed pixels unchanged; None means True when a ``mask`` is given.
    adapt : bool or None, default None
        Learn a dictionary from the image itself (:func:`restoration.adaptation.adapt_dictionary`:
        a few windows of its detail layer, warm-started from the first dictionary, the regions
        of the hold-out withheld) and add it to the candidates of the hold-out, which
        keeps it only where it predicts significantly better. None: when pixels are missing, the
        image holds enough windows (the learning then has a bounded cost) and it repeats itself
        (:func:`restoration.adaptation.repetition`; :func:`restoration.pipeline.adapts`). With nothing missing, True codes with the learned dictionary.
    random_state : int, numpy Generator or None, default 0
        Seed of the pixels the hold-out hides and of the learning; a given seed gives the same
        result.
    progress : bool, default False
        Show a progress bar (fill tiles, learning, the choice of settings, FISTA iterations).

    Returns
    -------
    restoration.pipeline.Restoration

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
    return restore_image(image, mask, dictionary=dictionary, sparsity_weight=sparsity_weight,
                         smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                         keep_observed=keep_observed, adapt=adapt, random_state=random_state,
                         progress=progress)


def restore_batch(images, masks=None, *, dictionary=None, sparsity_weight=None, smoothing=None,
                  max_iter=None, channel_axis=None, keep_observed=None, adapt=None,
                  random_state=0, progress=False):
    """Restore several images, adapting one dictionary to all of them.

    As :func:`restore` on each image, except that the adapted dictionary is learned once, from
    windows of every image (each image's hold-out regions withheld, :func:`restoration.pipeline.
    learning_planes`) with :data:`restoration.adaptation.SET_LEARNING`, and offered to the
    hold-out of each image, where a dictionary learned from several images is chosen by least
    error like the given ones: the protocol of the convolutional sparse coding papers, which
    learn from the whole corrupted set.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W) (or with a channel axis), or a sequence of images
        Images of one size as a stack, or of several sizes as a list.
    masks : ndarray or sequence of masks (one per image), or None
        As ``mask`` of :func:`restore`, per image; None: every pixel observed.
    dictionary, sparsity_weight, smoothing, max_iter, keep_observed, progress
        As in :func:`restore`, for every image.
    channel_axis : int or None
        Axis of the colour channels of each image (of a stack: counted without its first axis).
    adapt : bool or None, default None
        Learn the dictionary; None: when pixels are missing and the images together hold
        enough windows and repeat themselves (:func:`restoration.pipeline.adapts`), or are
        small images that let learning read enough pixels together
        (:func:`restoration.pipeline.adapts_set`).
    random_state : int, numpy Generator or None, default 0
        Seed of every image's hold-out and of the learning (a Generator or None is drawn once
        for an integer seed).

    Returns
    -------
    tuple of restoration.pipeline.Restoration
        One per image; they share the one ``Adaptation`` (whose ``seconds`` is the learning's,
        outside every image's ``seconds``).

    Raises
    ------
    ValueError, TypeError
        Invalid images, masks or parameters, naming the argument.
    """
    if is_dask_array(images) or isinstance(images, str | bytes) or not hasattr(images, "__len__"):
        raise TypeError(f"`images` must be a stack (n_images, H, W[, C]) or a list of images, "
                        f"got {type(images).__name__}")
    if len(images) == 0:
        raise ValueError("`images` is empty; give at least one image")
    if masks is not None and (not hasattr(masks, "__len__") or len(masks) != len(images)):
        raise ValueError(f"`masks` must hold one mask per image ({len(images)}), got "
                         f"{len(masks) if hasattr(masks, '__len__') else type(masks).__name__}")
    check_parameters(max_iter=max_iter, sparsity_weight=sparsity_weight, smoothing=smoothing,
                     image_shape=(np.inf, np.inf), keep_observed=keep_observed,
                     progress=progress, adapt=adapt, random_state=random_state)
    if not isinstance(random_state, numbers.Integral):  # one seed: learning and hold-outs agree
        random_state = int(np.random.default_rng(random_state).integers(2**31))
    masks = [None] * len(images) if masks is None else list(masks)
    learned = adapt_batch(images, masks, channel_axes=[channel_axis] * len(images), adapt=adapt,
                          random_state=random_state)
    return tuple(restore_image(image, mask, dictionary=dictionary,
                               sparsity_weight=sparsity_weight, smoothing=smoothing,
                               max_iter=max_iter, channel_axis=channel_axis,
                               keep_observed=keep_observed, adapt=learned is not None,
                               random_state=random_state, progress=progress, learned=learned)
                 for image, mask in zip(images, masks, strict=True))


def adapt_batch(images, masks, *, channel_axes, adapt=None, random_state=0):
    """The dictionary :func:`restore_batch` (and ``cogd`` on several files) learns from every
    image, or None.

    Parameters
    ----------
    images, masks : sequences of ndarray
        The images and their masks (None: every pixel observed).
    channel_axes : sequence of int or None
        The channel axis of each image.
    adapt : bool or None
        None: learn when pixels are missing and the images hold enough windows and repeat
        themselves (:func:`restoration.pipeline.adapts`) or are a set of small images with
        enough pixels to read (:func:`restoration.pipeline.adapts_set`).
    random_state : int
        The seed every image is then restored with (its hold-out's regions are withheld).

    Returns
    -------
    restoration.adaptation.Adaptation or None

    Raises
    ------
    ValueError
        An image or mask that :func:`restore` refuses, naming its place in the batch.
    """
    if adapt is False:
        return None
    planes = []
    for index, (image, mask, axis) in enumerate(zip(images, masks, channel_axes, strict=True)):
        try:
            planes += learning_planes(image, mask, channel_axis=axis, random_state=random_state)
        except ValueError as error:  # name the image of the batch
            raise ValueError(f"batch image {index}: {error}") from None
    missing = any(mask is not None and not np.all(mask) for mask in masks)
    if not (adapt or (missing and (adapts(planes) or adapts_set(planes)))):
        return None
    return adapt_dictionary([plane for plane, _ in planes], [readable for _, readable in planes],
                            None, learning=SET_LEARNING, random_state=random_state)


def inpaint(image, mask, *, dictionary=None, sparsity_weight=None, smoothing=None,
            max_iter=None, channel_axis=None, keep_observed=True, adapt=None, random_state=0,
            progress=False):
    """Fill missing pixels of a gray or colour image with a convolutional sparse model.

    :func:`restore` with a mask, returning only the image.

    Parameters
    ----------
    image, mask, dictionary, sparsity_weight, smoothing, max_iter, channel_axis, adapt,
    random_state, progress
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
                              keep_observed=keep_observed, adapt=adapt,
                              random_state=random_state)
    return restore(image, mask, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                   keep_observed=keep_observed, adapt=adapt, random_state=random_state,
                   progress=progress).image


def reconstruct(image, dictionary=None, *, sparsity_weight=None, smoothing=None,
                max_iter=None, channel_axis=None, adapt=False, random_state=0, progress=False):
    """Sparse approximation of a whole image: smooth part + ``D z`` with sparse codes ``z``.

    :func:`restore` with every pixel observed, returning only the image; the detail is
    approximated, not copied, so the output shows what the dictionary represents at this
    sparsity.

    Parameters
    ----------
    image, dictionary, sparsity_weight, smoothing, max_iter, channel_axis, random_state, progress
        As in :func:`restore` (with nothing missing, None means the first bundled dictionary,
        the first of :data:`restoration.pipeline.SPARSITY_WEIGHTS` and
        :data:`restoration.pipeline.RECONSTRUCTION_SMOOTHING`).
    adapt : bool, default False
        Code with a dictionary learned from the image itself instead.

    Returns
    -------
    ndarray of the image's shape, float in [0, 1]
    """
    return restore(image, None, dictionary=dictionary, sparsity_weight=sparsity_weight,
                   smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                   keep_observed=False, adapt=adapt, random_state=random_state,
                   progress=progress).image
