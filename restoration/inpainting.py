"""Inpainting and sparse reconstruction of real images: the public entry points.

:func:`restore` runs the pipeline of :mod:`restoration.pipeline` (biharmonic fill, per-image
choice of the settings by hold-out, smooth part + FISTA-coded detail, luminance coding of colour
images) and returns a :class:`restoration.pipeline.Restoration` with the image, the settings
chosen and what the coding did; :func:`inpaint` and :func:`reconstruct` return the image.
:func:`inpaint` of a ``dask.array.Array`` restores it block by block
(:func:`restoration.blockwise.inpaint_blocks`).
"""

from csc.backend import is_dask_array

from .pipeline import restore_image

__all__ = ["restore", "inpaint", "reconstruct"]


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
        by hold-out when pixels are missing, its first value otherwise. Given values are used as
        they are.
    max_iter : int or None, default None
        FISTA iterations. None: :func:`restoration.pipeline.coding_iterations` of the image's
        size (36 from 512x512 up, up to 100 on smaller images).
    channel_axis : int or None
        Axis of the colour channels (as in scikit-image); None for a gray image.
    keep_observed : bool or None, default None
        Return observed pixels unchanged; None means True when a ``mask`` is given.
    progress : bool, default False
        Show a progress bar (fill tiles, the choice of settings, FISTA iterations).

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
                         keep_observed=keep_observed, progress=progress)


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
