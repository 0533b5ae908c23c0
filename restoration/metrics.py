"""Image quality metrics: standard PSNR/SSIM, the papers' protocol variants, missing-pixel PSNR.

Standard metrics follow scikit-image (explicit ``data_range``, ``channel_axis`` for colour). The
protocol variants (SPEC 1.4) are what the CSC papers report on the fruit/city tables: each image
and its estimate are min-max normalised to [0, 1] separately, PSNR uses peak 1, and SSIM is one
global window with sample statistics.
"""

import numpy as np

__all__ = ["psnr", "ssim", "psnr_missing", "protocol_psnr", "protocol_ssim"]


def _pair(reference, estimate):
    reference = np.asarray(reference, dtype=np.float64)
    estimate = np.asarray(estimate, dtype=np.float64)
    if reference.shape != estimate.shape:
        raise ValueError(f"reference and estimate must have the same shape, got "
                         f"{reference.shape} and {estimate.shape}")
    return reference, estimate


def _peak_snr(mse, peak):
    return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))


def psnr(reference, estimate, *, data_range=1.0):
    """Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB.

    Parameters
    ----------
    reference, estimate : array_like of the same shape
        Gray ``(H, W)``, colour ``(H, W, C)`` or a batch; all entries count.
    data_range : float
        Peak value (1 for images in [0, 1], 255 for uint8 scale).

    Returns
    -------
    float
        ``inf`` when the images are equal.

    Examples
    --------
    >>> import numpy as np
    >>> round(psnr(np.zeros(4), np.full(4, 0.1)), 2)
    20.0
    """
    reference, estimate = _pair(reference, estimate)
    return _peak_snr(np.mean((reference - estimate) ** 2), data_range)


def psnr_missing(reference, estimate, mask, *, data_range=1.0):
    """PSNR over the missing pixels only (``mask`` False).

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W) or (H, W, C)
    mask : array_like of bool, shape (H, W) or the images' shape
        True where the pixel was observed.
    data_range : float

    Returns
    -------
    float
    """
    reference, estimate = _pair(reference, estimate)
    missing = ~np.asarray(mask, dtype=bool)
    if missing.shape != reference.shape:
        if missing.shape != reference.shape[:missing.ndim]:
            raise ValueError(f"mask must have shape {reference.shape[:2]} or {reference.shape}, "
                             f"got {missing.shape}")
        missing = np.broadcast_to(
            missing.reshape(missing.shape + (1,) * (reference.ndim - missing.ndim)),
            reference.shape)
    if not missing.any():
        raise ValueError("mask has no missing pixel")
    return _peak_snr(np.mean((reference[missing] - estimate[missing]) ** 2), data_range)


def ssim(reference, estimate, *, data_range=1.0, channel_axis=None):
    """Structural similarity as :func:`skimage.metrics.structural_similarity` (7x7 windows).

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W), or colour with ``channel_axis``
    data_range : float
    channel_axis : int or None

    Returns
    -------
    float
    """
    from skimage.metrics import structural_similarity

    reference, estimate = _pair(reference, estimate)
    return float(structural_similarity(reference, estimate, data_range=data_range,
                                       channel_axis=channel_axis))


def _min_max(image):
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def protocol_psnr(reference, estimate):
    """PSNR of the papers' protocol: both images min-max normalised to [0, 1], peak 1.

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W)

    Returns
    -------
    float
    """
    reference, estimate = _pair(reference, estimate)
    return psnr(_min_max(reference), _min_max(estimate), data_range=1.0)


def protocol_ssim(reference, estimate):
    """SSIM of the papers' protocol: min-max normalised images, one global window.

    ``(2 mu_a mu_b + C1)(2 cov_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))`` with
    ``C1 = 0.01^2``, ``C2 = 0.03^2`` and sample (``n - 1``) variance and covariance over all
    pixels.

    Parameters
    ----------
    reference, estimate : array_like of shape (H, W)

    Returns
    -------
    float
    """
    reference, estimate = _pair(reference, estimate)
    a, b = _min_max(reference).ravel(), _min_max(estimate).ravel()
    c1, c2 = 0.01**2, 0.03**2
    mean_a, mean_b = a.mean(), b.mean()
    covariance = np.cov(a, b, ddof=1)
    var_a, var_b, cov_ab = covariance[0, 0], covariance[1, 1], covariance[0, 1]
    return float((2 * mean_a * mean_b + c1) * (2 * cov_ab + c2)
                 / ((mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)))
