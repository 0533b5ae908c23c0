"""Pre-processing of the CSC protocol (gray conversion, local contrast normalisation) and the
project's two sets of luminance weights."""

import numpy as np
from scipy import ndimage

from csc.images import as_float
from csc.validation import check_in_range, check_int

__all__ = ["rgb_to_gray", "gaussian_window", "local_contrast_normalize", "LUMA_WEIGHTS",
           "MATLAB_GRAY_WEIGHTS"]

# Two sets of (R, G, B) weights, on purpose: changing either would move committed results.
#: ITU-R BT.601 luma, the restoration pipeline's luminance coding of colour images
#: (:mod:`restoration.pipeline`). They sum to 1, which that coding relies on: a change of the
#: luminance alone is the same change of R, G and B.
LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114])
#: MATLAB ``rgb2gray``'s rounded BT.601 weights (they sum to 0.9999), which the CSC papers'
#: protocol used: :func:`rgb_to_gray` reproduces it.
MATLAB_GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140])
LUMA_WEIGHTS.setflags(write=False)
MATLAB_GRAY_WEIGHTS.setflags(write=False)


def rgb_to_gray(images):
    """Gray images by MATLAB ``rgb2gray``'s weights, after the project's float policy.

    Parameters
    ----------
    images : ndarray of shape (..., 3)
        Integers are divided by their dtype's largest value (uint8 by 255, uint16 by 65535),
        floats kept (:func:`csc.images.as_float`, in float64).

    Returns
    -------
    ndarray of shape (...), float64
        ``0.2989 R + 0.5870 G + 0.1140 B`` (:data:`MATLAB_GRAY_WEIGHTS`).

    Raises
    ------
    ValueError
        No colour axis of size 3, a non-numeric dtype, or NaN/inf.
    """
    images = as_float(images, integer_dtype=np.float64)
    if images.ndim == 0 or images.shape[-1] != 3:
        raise ValueError(f"`images` must end with a colour axis of size 3, got {images.shape}")
    return images.astype(np.float64) @ MATLAB_GRAY_WEIGHTS


def gaussian_window(size=13, sigma=3 * 1.591):
    """Gaussian window ``(size, size)`` normalised to sum 1 (MATLAB ``fspecial('gaussian')``)."""
    check_int("size", size, 1, 1001)
    check_in_range("sigma", sigma, 0, 1e6, closed=(False, True))
    radius = (size - 1) / 2
    grid = np.arange(size) - radius
    window = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * sigma**2))
    return window / window.sum()


def local_contrast_normalize(images, *, size=13, sigma=3 * 1.591, zero_mean=True):
    """Local contrast normalisation of gray images (SPEC 1.4, as the FFCSC/CoGD code does it).

    With ``g`` the Gaussian window and ``*`` convolution with mirror padding (no edge repeat):
    ``mu = g * x``, ``std = sqrt(max(g * x^2 - mu^2, 0))`` floored at its lower median over the
    image (the median of the non-zero values when that is 0), ``y = (x - mu) / std``; then each
    image is made zero-mean (the reference code's ``ZERO_MEAN`` option).

    Parameters
    ----------
    images : ndarray of shape (H, W) or (n_images, H, W)
    size : int
        Side of the Gaussian window.
    sigma : float
        Its standard deviation in pixels.
    zero_mean : bool
        Subtract each normalised image's mean.

    Returns
    -------
    ndarray of the input shape, float64

    Raises
    ------
    ValueError
        Not one or a stack of gray images, a non-numeric dtype, or NaN/inf.
    """
    images = as_float(images, integer_dtype=np.float64).astype(np.float64)
    if images.ndim not in (2, 3) or 0 in images.shape:
        raise ValueError(f"`images` must have shape (H, W) or (n_images, H, W), not empty, got "
                         f"{images.shape}")
    window = gaussian_window(size, sigma)
    single = images.ndim == 2
    stack = images[None] if single else images
    out = np.empty_like(stack)
    for index, image in enumerate(stack):
        local_mean = ndimage.convolve(image, window, mode="mirror")
        local_square = ndimage.convolve(image**2, window, mode="mirror")
        local_std = np.sqrt(np.maximum(local_square - local_mean**2, 0))
        floor = _lower_median(local_std.ravel())
        if floor == 0:
            nonzero = local_std[local_std > 0]
            floor = _lower_median(nonzero) if nonzero.size else 0.0
        local_std = np.maximum(local_std, floor)
        local_std[local_std == 0] = np.finfo(np.float64).eps
        normalized = (image - local_mean) / local_std
        out[index] = normalized - normalized.mean() if zero_mean else normalized
    return out[0] if single else out


def _lower_median(values):
    """``sort(values)[round(n / 2)]`` with MATLAB's 1-based rounding (the lower median)."""
    ordered = np.sort(values)
    return float(ordered[int(np.floor(len(ordered) / 2 + 0.5)) - 1])
