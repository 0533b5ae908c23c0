"""Bad input to the public API of ``restoration``: a ValueError or TypeError naming the argument,
early, never a NaN/inf result, a numpy error or a MemoryError (regressions of issue 16)."""

import os

import imageio.v3 as iio
import numpy as np
import pytest

from restoration import inpaint, load_dictionary, reconstruct, restore
from restoration.io import encode_image, read_image, write_image
from restoration.metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim
from restoration.preprocess import rgb_to_gray

FILTERS = np.random.default_rng(0).standard_normal((3, 4, 4)).astype(np.float32)


@pytest.fixture
def image():
    return np.random.default_rng(1).random((16, 16))


@pytest.fixture
def mask():
    return np.random.default_rng(2).random((16, 16)) >= 0.4


# -- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", [psnr, ssim, protocol_psnr, protocol_ssim])
@pytest.mark.parametrize("reference,message", [
    (np.full((8, 8), np.nan), "`reference` contains NaN"),
    (np.full((8, 8), np.inf), "`reference` contains NaN"),
    (np.zeros((8, 8), complex), "`reference` must hold real numbers"),
    (np.zeros((8, 8), object), "`reference` must hold real numbers"),
    (np.zeros((0, 8)), "`reference` is empty"),
])
def test_metrics_refuse_what_is_not_an_image(metric, reference, message):
    with pytest.raises(ValueError, match=message):
        metric(reference, np.zeros(reference.shape))


@pytest.mark.parametrize("data_range", [0, -1.0, float("nan"), float("inf"), True])
def test_data_range_must_be_positive(image, data_range):
    for metric in (psnr, ssim):
        with pytest.raises(ValueError, match="`data_range`"):
            metric(image, image, data_range=data_range)


def test_data_range_is_inferred_from_the_dtype_as_scikit_image_does(image):
    from skimage.metrics import peak_signal_noise_ratio

    estimate = np.clip(image + 0.05, 0, 1)
    as_uint8 = (np.round(image * 255).astype(np.uint8), np.round(estimate * 255).astype(np.uint8))
    assert psnr(*as_uint8) == pytest.approx(peak_signal_noise_ratio(*as_uint8))  # range 255
    assert psnr(image, estimate) == pytest.approx(peak_signal_noise_ratio(image, estimate,
                                                                          data_range=1))
    assert psnr(np.zeros(4, bool), np.ones(4, bool)) == 0.0  # booleans: range 1
    with pytest.raises(ValueError, match="different dtypes"):
        psnr(as_uint8[0], estimate)  # 0..255 against 0..1: ambiguous without data_range
    with pytest.raises(ValueError, match="outside the range"):
        psnr(image * 5, estimate)
    assert np.isfinite(psnr(image * 5, estimate, data_range=5.0))


def test_psnr_missing_refuses_nan_and_masks_that_are_not_numbers(image, mask):
    for bad in (np.full(mask.shape, np.nan), np.full(mask.shape, "m"), "mask"):
        with pytest.raises(ValueError, match="`mask`"):
            psnr_missing(image, image, bad)


def test_ssim_names_reference_for_images_under_7_pixels():
    with pytest.raises(ValueError, match="`reference` must be at least 7x7"):
        ssim(np.zeros((3, 3)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="`reference` must have at least 2 pixels"):
        protocol_ssim(np.zeros((1, 1)), np.zeros((1, 1)))


# -- restore ----------------------------------------------------------------------------------
def test_nan_at_missing_pixels_is_ignored_and_refused_at_observed_ones(image, mask):
    holes = np.where(mask, image, np.nan)
    restored = inpaint(holes, mask, dictionary=FILTERS, max_iter=3)
    expected = inpaint(np.where(mask, image, 0), mask, dictionary=FILTERS, max_iter=3)
    np.testing.assert_array_equal(restored, expected)
    holes[mask.nonzero()[0][0], mask.nonzero()[1][0]] = np.inf
    with pytest.raises(ValueError, match="`image` contains NaN or infinite values at observed"):
        inpaint(holes, mask, dictionary=FILTERS)


def test_a_huge_smoothing_is_refused_before_the_fill(image, mask, monkeypatch):
    import restoration.pipeline

    def fill_started(*args, **kwargs):
        raise AssertionError("the fill started before `smoothing` was checked")

    monkeypatch.setattr(restoration.pipeline, "biharmonic_fill", fill_started)
    with pytest.raises(ValueError, match="`smoothing` must be at most the image's larger side"):
        inpaint(image, mask, smoothing=1e9)


@pytest.mark.parametrize("dictionary", [np.zeros((0, 5, 5)), np.zeros((2, 3, 4)), [],
                                        np.ones((2, 3, 3), int), np.ones((2, 3, 3), complex)])
def test_an_empty_or_odd_dictionary_is_refused(image, dictionary):
    with pytest.raises(ValueError, match="`dictionary`"):
        reconstruct(image, dictionary=dictionary)


def test_load_dictionary_names_damaged_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "zip.npz").write_bytes(b"PK\x03\x04garbage")
    for name in ("empty.npz", "zip.npz", "missing.npz"):
        with pytest.raises(ValueError, match=f"`dictionary`: cannot load dictionary .*{name}"):
            load_dictionary(str(tmp_path / name))


def test_channel_axis_smoothing_and_flags_are_checked(image, mask):
    colour = np.stack([image] * 3, axis=-1)
    with pytest.raises(ValueError, match="`channel_axis` must be None or an integer"):
        inpaint(colour, mask, channel_axis=5)
    with pytest.raises(ValueError, match="`keep_observed`"):
        restore(image, mask, keep_observed="yes")
    with pytest.raises(ValueError, match="`smoothing`"):
        restore(image, mask, smoothing=-1.0)


def test_a_ragged_image_is_named(mask):
    with pytest.raises(ValueError, match="`image` must be an array"):
        inpaint([[0.5, 0.5], [0.5]], mask)


# -- files ------------------------------------------------------------------------------------
@pytest.mark.parametrize("image,suffix,message", [
    (np.zeros(5), ".png", "`image` must have shape"),
    (np.zeros(()), ".png", "`image` must have shape"),
    (np.zeros((4, 4, 4)), ".jpg", "`image` must have shape"),  # RGBA: JPEG has no alpha
    (np.zeros((4, 4, 2)), ".jpeg", "`image` must have shape"),  # gray + alpha
    (np.full((4, 4), np.nan), ".png", "`image` contains NaN"),
    (np.full((4, 4), 1.5), ".png", r"`image` values must lie in \[0, 1\]"),
    (np.zeros((4, 4), complex), ".tif", "`image` must hold real numbers"),
    (np.zeros((0, 4)), ".png", "`image` must have shape"),
])
def test_write_image_refuses_what_it_cannot_store_and_writes_nothing(tmp_path, image, suffix,
                                                                    message):
    with pytest.raises(ValueError, match=message):
        write_image(tmp_path / f"out{suffix}", image)
    assert os.listdir(tmp_path) == []


def test_write_image_scales_integers_by_the_float_policy(tmp_path):
    white = np.full((4, 4), 255, np.uint8)
    write_image(tmp_path / "white.png", white)
    np.testing.assert_array_equal(read_image(tmp_path / "white.png"), white)
    write_image(tmp_path / "alpha.png", np.ones((4, 4, 4)))  # PNG keeps alpha
    assert iio.imread(tmp_path / "alpha.png").shape == (4, 4, 4)


def test_jpeg_quality_is_exposed_and_what_is_returned_is_what_was_written(tmp_path):
    image = np.random.default_rng(3).random((16, 16, 3))
    for quality in (10, 95):
        stored = write_image(tmp_path / f"q{quality}.jpg", image, quality=quality)
        np.testing.assert_array_equal(stored, read_image(tmp_path / f"q{quality}.jpg"))
    assert os.path.getsize(tmp_path / "q10.jpg") < os.path.getsize(tmp_path / "q95.jpg")
    with pytest.raises(ValueError, match="`quality`"):
        encode_image(image, ".jpg", quality=0)


def test_rgb_to_gray_scales_16_bit_by_its_range():
    pixel = np.array([[[65535, 65535, 65535]]], np.uint16)
    np.testing.assert_allclose(rgb_to_gray(pixel), [[0.9999]], atol=1e-6)
