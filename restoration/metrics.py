"""Image quality metrics: standard PSNR/SSIM, the papers' protocol variants, missing-pixel PSNR.

Standard metrics follow scikit-image (``data_range`` given, or inferred from the dtype as
scikit-image does; ``channel_axis`` for colour); inputs must be finite real arrays. The
protocol variants (SPEC 1.4) are what the CSC papers report on the fruit/city tables: each image
and its estimate are min-max normalised to [0, 1] separately, PSNR uses peak 1, and SSIM is one
global window with sample statistics.
"""

import numpy as np

from csc.images import as_array, image_layout
from csc.validation import check_positive

from .masks import observed_pixels

__all__ = ["psnr", "ssim", "psnr_missing", "protocol_psnr", "protocol_ssim"]


def _checked(name, values):
    """A non-empty array of finite real numbers (bool, integer or float)."""
    values = as_array(values, name=name, xp=np)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"`{name}` must hold real numbers (float, integer or bool), got dtype "
                         f"{values.dtype}")
    if values.size == 0:
        raise ValueError(f"`{name}` is empty: shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"`{name}` contains NaN or infinite values")
    return values


def _pair(reference, estimate):
    reference, estimate = _checked("reference", reference), _checked("estimate", estimate)
    if reference.shape != estimate.shape:
        raise ValueError(f"`reference` and `estimate` must have the same shape, got "
                         f"{reference.shape} and {estimate.shape}")
    return reference, estimate


def _data_range(reference, estimate, data_range):
    """``data_range`` checked, or inferred from the dtype as scikit-image does.

    Inferred: the dtype's range (float [-1, 1], bool [0, 1], integers their full range), its
    maximum when ``reference`` has no negative value and its width otherwise; ``reference`` must
    lie in that range and ``estimate`` must have the same dtype (both floats at least).
    """
    if data_range is not None:
        check_positive("data_range", data_range)
        return float(data_range)
    same = reference.dtype == estimate.dtype or reference.dtype.kind == estimate.dtype.kind == "f"
    if not same:
        raise ValueError(f"`reference` ({reference.dtype}) and `estimate` ({estimate.dtype}) have "
                         "different dtypes, so their scale is ambiguous: convert both "
                         "(csc.images.as_float) or pass `data_range`")
    kind = reference.dtype.kind
    low, high = (-1.0, 1.0) if kind == "f" else (0.0, 1.0) if kind == "b" else \
        (float(np.iinfo(reference.dtype).min), float(np.iinfo(reference.dtype).max))
    smallest, largest = float(reference.min()), float(reference.max())
    if smallest < low or largest > high:
        raise ValueError(f"`reference` has values in [{smallest:.4g}, {largest:.4g}], outside the "
                         f"range [{low:g}, {high:g}] of its dtype {reference.dtype}: pass "
                         "`data_range`")
    return high if smallest >= 0 else high - low


def _peak_snr(mse, peak):
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def _mse(reference, estimate):
    difference = reference.astype(np.float64) - estimate.astype(np.float64)
    return float(np.mean(difference * difference))


def psnr(reference, estimate, *, data_range=None):
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB.

    Parameters
    ----------
    reference, estimate : array_like of the same shape
        Gray ``(H, W)``, colour ``(H, W, C)`` or a batch; all entries count. Finite real
        numbers (float, integer or bool).
    data_range : float or None
        Peak value (1 for images in [0, 1], 255 for uint8 scale). None infers it from the
        dtype as :func:`skimage.metrics.peak_signal_noise_ratio` does: 1 for floats in [0, 1]
        (2 when ``reference`` has negative values, which must lie in [-1, 1]), the dtype's
        maximum for unsigned integers (255 for uint8); then both arrays must have the same
        dtype (or both be floats).

    Returns
    -------
    float
        ``inf`` when the images are equal.

    Raises
    ------
    ValueError
        Different shapes, empty input, NaN/inf, a non-real dtype, ``data_range <= 0``, or a
        range that cannot be inferred (naming the argument).

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.zeros(4), np.full(4, 0.1)), 2)
    20.0
    """
    reference, estimate = _pair(reference, estimate)
    peak = _data_range(reference, estimate, data_range)
    return _peak_snr(_mse(reference, estimate), peak)


def psnr_missing(reference, estimate, mask, *, data_range=None):
    """PSNR over the missing pixels only (``mask`` False).

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W) or (H, W, C)
    mask : array_like of shape (H, W) or the images' shape
        The observed pixels by the mask rule of :func:`restoration.masks.observed_pixels`
        (True or 1, or white in a mask image); the others were missing.
    data_range : float or None
        As in :func:`psnr`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`psnr`; a mask of another shape, of values that are not numbers, or without a
        missing pixel.
    """
    reference, estimate = _pair(reference, estimate)
    peak = _data_range(reference, estimate, data_range)
    missing = ~observed_pixels(as_array(mask, name="mask", xp=np))
    if missing.shape != reference.shape:
        if missing.ndim > reference.ndim or missing.shape != reference.shape[:missing.ndim]:
            shapes = {reference.shape[:2], reference.shape}
            raise ValueError(f"`mask` must have shape {' or '.join(map(str, sorted(shapes)))}, "
                             f"got {missing.shape}")
        missing = np.broadcast_to(
            missing.reshape(missing.shape + (1,) * (reference.ndim - missing.ndim)),
            reference.shape)
    if not missing.any():
        raise ValueError("`mask` has no missing pixel")
    return _peak_snr(_mse(reference[missing], estimate[missing]), peak)


SSIM_WINDOW = 7


def ssim(reference, estimate, *, data_range=None, channel_axis=None):
    """Structural similarity as :func:`skimage.metrics.structural_similarity` (7x7 windows).

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W), or (H, W, C)-like with ``channel_axis``
        At least 7 pixels on each side.
    data_range : float or None
        As in :func:`psnr`.
    channel_axis : int or None

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`psnr`; images under 7x7, or a ``channel_axis`` that does not fit.
    """
    from skimage.metrics import structural_similarity

    reference, estimate = _pair(reference, estimate)
    layout = image_layout(reference, channel_axis, batch=False, name="reference")
    height, width = layout.internal_shape[-2:]
    if min(height, width) < SSIM_WINDOW:
        raise ValueError(f"`reference` must be at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels for "
                         f"SSIM's {SSIM_WINDOW}x{SSIM_WINDOW} window, got {height}x{width}")
    peak = _data_range(reference, estimate, data_range)
    return float(structural_similarity(reference.astype(np.float64), estimate.astype(np.float64),
                                       data_range=peak, channel_axis=channel_axis))


def _protocol_pair(reference, estimate):
    """The pair of :func:`_pair`, of at least two pixels: min-max normalisation maps a single
    pixel to 0 (two different one-pixel images would compare as equal) and leaves it no sample
    variance."""
    reference, estimate = _pair(reference, estimate)
    if reference.size < 2:
        raise ValueError(f"`reference` must have at least 2 pixels, got shape {reference.shape}")
    return reference, estimate


def _min_max(image):
    image = image.astype(np.float64)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def protocol_psnr(reference, estimate):
    """PSNR of the papers' protocol: both images min-max normalised to [0, 1], peak 1.

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W)
        At least two pixels.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`psnr`; a single pixel (or a 0-d array), which the normalisation maps to 0.
    """
    reference, estimate = _protocol_pair(reference, estimate)
    return psnr(_min_max(reference), _min_max(estimate), data_range=1.0)


def protocol_ssim(reference, estimate):
    """SSIM of the papers' protocol: min-max normalised images, one global window.

    ``(2 mu_a mu_b + C1)(2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))`` with
    ``C1 = 0.01^2``, ``C2 = 0.03^2`` and sample (``n - 1``) variance and covariance over all
    pixels.

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W)
        At least two pixels.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        As :func:`psnr`; a single pixel (or a 0-d array: no sample variance).
    """
    reference, estimate = _protocol_pair(reference, estimate)
    a, b = _min_max(reference).ravel(), _min_max(estimate).ravel()
    c1, c2 = 0.01**2, 0.03**2
    mean_a, mean_b = a.mean(), b.mean()
    covariance = np.cov(a, b, ddof=1)
    var_a, var_b, cov_ab = covariance[0, 0], covariance[1, 1], covariance[0, 1]
    return float((2 * mean_a * mean_b + c1) * (2 * cov_ab + c2)
                 / ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)))
