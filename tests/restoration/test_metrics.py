import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from restoration.metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    reference = rng.random((32, 40))
    return reference, np.clip(reference + 0.05 * rng.standard_normal(reference.shape), 0, 1)


def test_psnr_and_ssim_match_skimage(pair):
    reference, estimate = pair
    assert psnr(reference, estimate) == pytest.approx(
        peak_signal_noise_ratio(reference, estimate, data_range=1.0), rel=1e-12)
    assert ssim(reference, estimate) == pytest.approx(
        structural_similarity(reference, estimate, data_range=1.0), rel=1e-12)
    assert psnr(reference, reference) == float("inf")


def test_colour_ssim_uses_channel_axis():
    rng = np.random.default_rng(1)
    reference = rng.random((16, 16, 3))
    estimate = reference.copy()
    estimate[..., 1] = 0.5
    expected = np.mean([structural_similarity(reference[..., c], estimate[..., c], data_range=1)
                        for c in range(3)])
    assert ssim(reference, estimate, channel_axis=-1) == pytest.approx(expected, rel=1e-12)


def test_psnr_missing_counts_only_missing_pixels(pair):
    reference, estimate = pair
    mask = np.random.default_rng(2).random(reference.shape) >= 0.5
    spoiled = np.where(mask, 0.0, estimate)  # observed pixels wrong: must not matter
    mse = np.mean((reference[~mask] - estimate[~mask]) ** 2)
    assert psnr_missing(reference, spoiled, mask) == pytest.approx(10 * np.log10(1 / mse))
    colour = np.stack([reference] * 3, -1)
    assert psnr_missing(colour, np.stack([spoiled] * 3, -1), mask) == pytest.approx(
        10 * np.log10(1 / mse))
    with pytest.raises(ValueError, match="no missing pixel"):
        psnr_missing(reference, estimate, np.ones_like(mask))
    with pytest.raises(ValueError, match="`mask` must have shape"):
        psnr_missing(reference, estimate, mask[:5])


def test_protocol_metrics_normalise_each_image(pair):
    reference, estimate = pair
    # an affine change of either image does not change the protocol metrics
    assert protocol_psnr(3 * reference - 2, estimate) == pytest.approx(
        protocol_psnr(reference, 0.5 * estimate + 7))
    normalised = [(x - x.min()) / (x.max() - x.min()) for x in pair]
    assert protocol_psnr(reference, estimate) == pytest.approx(psnr(*normalised))
    assert protocol_ssim(reference, reference) == pytest.approx(1.0)


def test_protocol_ssim_is_skimage_with_one_window():
    # on a 7x7 image skimage's only uncropped 7x7 window covers the whole image
    rng = np.random.default_rng(3)
    a, b = rng.random((7, 7)), rng.random((7, 7))
    normalised = [(x - x.min()) / (x.max() - x.min()) for x in (a, b)]
    expected = structural_similarity(*normalised, win_size=7, data_range=1.0,
                                     use_sample_covariance=True)
    assert protocol_ssim(a, b) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("metric", [protocol_psnr, protocol_ssim])
@pytest.mark.parametrize("reference,estimate", [
    (np.float64(0.2), np.float64(0.9)), (np.zeros((1, 1)), np.ones((1, 1))),
    (np.array([3.0]), np.array([4.0]))])
def test_protocol_metrics_refuse_a_single_pixel(metric, reference, estimate):
    # Regression (issue 25): min-max normalisation maps one pixel to 0, so protocol_psnr of two
    # different one-pixel images returned inf
    with pytest.raises(ValueError, match="`reference` must have at least 2 pixels"):
        metric(reference, estimate)
