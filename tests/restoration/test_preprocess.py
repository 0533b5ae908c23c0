import numpy as np
import pytest
from scipy.signal import convolve2d

from restoration.preprocess import (
    LUMA_WEIGHTS,
    MATLAB_GRAY_WEIGHTS,
    gaussian_window,
    local_contrast_normalize,
    rgb_to_gray,
)


def reference_lcn(image, size=13, sigma=3 * 1.591):
    """Independent implementation: explicit mirror padding and a 'valid' 2-D convolution."""
    radius = size // 2
    grid = np.arange(size) - radius
    window = np.exp(-(grid[:, None] ** 2 + grid[None] ** 2) / (2 * sigma**2))
    window /= window.sum()
    padded = np.pad(image, radius, mode="reflect")  # mirror without repeating the edge
    mean = convolve2d(padded, window, mode="valid")
    square = convolve2d(padded**2, window, mode="valid")
    std = np.sqrt(np.clip(square - mean**2, 0, None))
    floor = np.sort(std.ravel())[int(np.floor(std.size / 2 + 0.5)) - 1]  # MATLAB round
    normalized = (image - mean) / np.maximum(std, floor)
    return normalized - normalized.mean()


def test_lcn_matches_an_independent_implementation():
    image = np.random.default_rng(0).random((37, 41))
    np.testing.assert_allclose(local_contrast_normalize(image), reference_lcn(image), atol=1e-12)


def test_lcn_output_is_zero_mean_and_batched_like_single_images():
    images = np.random.default_rng(1).random((3, 20, 20))
    out = local_contrast_normalize(images)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(out[1], local_contrast_normalize(images[1]))


def test_lcn_of_a_constant_image_is_finite():
    assert np.all(np.isfinite(local_contrast_normalize(np.full((16, 16), 0.3))))


def test_gaussian_window_sums_to_one_and_is_symmetric():
    window = gaussian_window()
    assert window.shape == (13, 13) and window.sum() == pytest.approx(1)
    np.testing.assert_allclose(window, window.T)
    np.testing.assert_allclose(window, window[::-1])


def test_rgb_to_gray_uses_matlab_weights_and_scales_uint8():
    pixel = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(rgb_to_gray(pixel), [[0.2989, 0.5870, 0.1140]])
    with pytest.raises(ValueError, match="colour axis"):
        rgb_to_gray(np.zeros((4, 4)))


def test_the_two_luminance_weights_differ_on_purpose():
    # the pipeline's luminance coding needs weights summing to 1; the papers' protocol rounds
    assert LUMA_WEIGHTS.sum() == pytest.approx(1.0, abs=1e-12)
    assert MATLAB_GRAY_WEIGHTS.sum() == pytest.approx(0.9999, abs=1e-12)
    pixel = np.array([[[0.2, 0.5, 0.9]]])
    assert rgb_to_gray(pixel)[0, 0] == pytest.approx(pixel[0, 0] @ MATLAB_GRAY_WEIGHTS)
