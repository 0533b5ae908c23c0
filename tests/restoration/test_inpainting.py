import numpy as np
import pytest
from skimage.restoration import inpaint_biharmonic

import restoration.tiling as tiling
from restoration import inpaint, load_dictionary, reconstruct, restore
from restoration.metrics import psnr_missing


@pytest.fixture(scope="module")
def filters():
    return load_dictionary()


def sparse_image(filters, shape=(48, 48), n_atoms=12, seed=0):
    """Smooth background plus a few atoms of the dictionary: an image the model represents."""
    rng = np.random.default_rng(seed)
    image = np.full(shape, 0.5) + 0.1 * np.linspace(-1, 1, shape[1])[None]
    s = filters.shape[-1]
    for _ in range(n_atoms):
        top, left = rng.integers(0, shape[0] - s), rng.integers(0, shape[1] - s)
        image[top:top + s, left:left + s] += 0.15 * rng.choice([-1, 1]) * filters[
            rng.integers(len(filters))]
    return np.clip(image, 0, 1)


def test_inpaint_keeps_observed_pixels_and_beats_biharmonic_on_a_sparse_image(filters):
    image = sparse_image(filters)
    mask = np.random.default_rng(1).random(image.shape) >= 0.5
    info = restore(image, mask, max_iter=100, sparsity_weight=0.05)
    restored = info.image
    assert restored.shape == image.shape and restored.dtype == np.float64
    np.testing.assert_array_equal(restored[mask], image[mask])
    assert 0 <= restored.min() and restored.max() <= 1
    baseline = inpaint_biharmonic(np.where(mask, image, 0), ~mask)
    assert psnr_missing(image, restored, mask) > psnr_missing(image, baseline, mask)
    assert info.n_iter == 100 and info.n_tiles == 1 and 0 < info.nnz < 0.2
    assert info.objective > 0


def test_colour_is_coded_on_its_luminance_and_channel_axis_is_respected(filters):
    """With one mask, every channel keeps its own smooth part and receives the luminance's coded
    detail: a gray image stacked three times restores as the gray image; with a mask per
    channel, each channel is restored as a gray image with its own mask."""
    rng = np.random.default_rng(2)
    gray = sparse_image(filters, (32, 40))
    mask = rng.random((32, 40)) >= 0.5
    fixed = dict(max_iter=10, smoothing=1.0, sparsity_weight=0.25)
    stacked = inpaint(np.stack([gray] * 3, axis=-1), mask, channel_axis=-1, **fixed)
    for channel in range(3):
        np.testing.assert_allclose(stacked[..., channel], inpaint(gray, mask, **fixed), atol=1e-5)
    colour = np.stack([sparse_image(filters, (32, 40), seed=k) for k in range(3)], axis=-1)
    restored = inpaint(colour, mask, channel_axis=-1, **fixed)
    first = inpaint(np.moveaxis(colour, -1, 0), mask, channel_axis=0, **fixed)
    np.testing.assert_allclose(np.moveaxis(first, 0, -1), restored, atol=1e-6)
    detail = restored - inpaint(colour, mask, channel_axis=-1, max_iter=1, smoothing=1.0,
                                sparsity_weight=1e6)  # the smooth part alone: no code survives
    np.testing.assert_allclose(detail[..., 0][~mask], detail[..., 2][~mask], atol=1e-5)
    per_channel_mask = np.stack([mask, rng.random((32, 40)) >= 0.3, mask], axis=-1)
    separate = inpaint(colour, per_channel_mask, channel_axis=-1, **fixed)
    for channel in range(3):
        np.testing.assert_allclose(
            separate[..., channel],
            inpaint(colour[..., channel], per_channel_mask[..., channel], **fixed), atol=1e-5)


def test_uint8_is_scaled_and_returns_float32(filters):
    image = (255 * sparse_image(filters, (32, 32))).astype(np.uint8)
    mask = np.random.default_rng(3).random(image.shape) >= 0.3
    restored = inpaint(image, mask, max_iter=5)
    assert restored.dtype == np.float32
    np.testing.assert_allclose(restored, inpaint(image / np.float32(255), mask, max_iter=5),
                               atol=1e-6)


def test_restore_reports_the_default_iterations(filters):
    image = sparse_image(filters, (40, 40))
    mask = np.random.default_rng(4).random(image.shape) >= 0.5
    result = restore(image, mask, smoothing=1.0, sparsity_weight=0.25)
    assert result.n_iter == 100


def test_tiles_agree_with_the_whole_image(filters, monkeypatch):
    image = sparse_image(filters, (100, 90), n_atoms=30)
    mask = np.random.default_rng(4).random(image.shape) >= 0.5
    whole = inpaint(image, mask, max_iter=30)
    monkeypatch.setattr(tiling, "TILE_PIXELS", 96 * 96)  # cores of 64 pixels, margin 16
    info = restore(image, mask, max_iter=30)
    tiled = info.image
    assert info.n_tiles == 4
    assert np.max(np.abs(tiled - whole)) < 0.02
    assert np.mean(np.abs(tiled - whole)) < 1e-3


def test_reconstruct_approximates_better_with_less_sparsity(filters):
    image = sparse_image(filters)
    errors, nnzs = [], []
    for weight in (0.5, 0.1, 0.02):
        info = restore(image, sparsity_weight=weight, max_iter=60)
        restored = info.image
        np.testing.assert_array_equal(restored, reconstruct(image, sparsity_weight=weight,
                                                            max_iter=60))
        errors.append(np.mean((restored - image) ** 2))
        nnzs.append(info.nnz)
    assert errors[0] > errors[1] > errors[2] and nnzs[0] < nnzs[1] < nnzs[2]


@pytest.mark.parametrize("image,mask,kwargs,message", [
    (np.full((16, 16), np.nan), np.ones((16, 16), bool), {}, "NaN"),
    (np.full((16, 16), 2.0), np.ones((16, 16), bool), {}, r"\[0, 1\]"),
    (np.zeros((16, 16, 3)), np.ones((16, 16), bool), {}, "channel_axis"),
    (np.zeros((16, 16), np.int64), np.ones((16, 16), bool), {}, "dtype"),
    (np.zeros((16, 16)), np.ones((15, 16), bool), {}, "`mask` must have shape"),
    (np.zeros((16, 16)), np.zeros((16, 16), bool), {}, "no observed pixel"),
    (np.zeros((16, 16)), np.full((16, 16), 0.5), {}, "no observed pixel"),  # 0.5 is not white
    (np.zeros((16, 16)), np.full((16, 16), np.nan), {}, "NaN"),
    (np.zeros((16, 16)), np.full((16, 16), "1"), {}, "numeric"),
    (np.zeros((16, 16)), np.ones((16, 16), bool), {"max_iter": 0}, "max_iter"),
    (np.zeros((16, 16)), np.ones((16, 16), bool), {"sparsity_weight": -1}, "sparsity_weight"),
    (np.zeros((16, 16)), np.ones((16, 16), bool), {"dictionary": np.zeros((4, 3, 5))},
     "dictionary"),
    (np.zeros((16, 16)), np.ones((16, 16), bool), {"dictionary": "no-such-file.npz"},
     "cannot load"),
])
def test_bad_input_raises_one_clear_error(image, mask, kwargs, message):
    with pytest.raises(ValueError, match=message):
        inpaint(image, mask, **kwargs)
