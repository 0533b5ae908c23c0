import numpy as np
from skimage.restoration import inpaint_biharmonic

from restoration.split import biharmonic_fill, n_fill_tiles, unit_rms_detail


def test_tiled_fill_agrees_with_one_global_solve():
    """Tiles with a 32-pixel margin: random holes and 8x8 blocks are filled as by one solve."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:150, 0:170] / 40.0
    image = 0.5 + 0.2 * np.sin(rows) * np.cos(1.3 * cols)
    observed = rng.random(image.shape) >= 0.5
    observed[60:68, 80:88] = False
    whole = inpaint_biharmonic(np.where(observed, image, 0), ~observed)
    tiled = biharmonic_fill(image[None], observed[None], tile_pixels=128 * 128)[0]
    assert n_fill_tiles(image.shape, tile_pixels=128 * 128) == 9  # cores of 64
    np.testing.assert_array_equal(tiled[observed], image[observed])
    assert np.max(np.abs(tiled - whole)) < 1e-4


def test_channels_with_one_mask_are_filled_like_gray_images():
    rng = np.random.default_rng(1)
    channels = rng.random((3, 40, 30))
    observed = np.broadcast_to(rng.random((40, 30)) >= 0.4, channels.shape)
    filled = biharmonic_fill(channels, observed)
    for channel, result in zip(channels, filled, strict=True):
        expected = inpaint_biharmonic(np.where(observed[0], channel, 0), ~observed[0])
        np.testing.assert_allclose(result, expected, atol=1e-10)


def test_unit_rms_detail_is_zero_at_missing_pixels_with_unit_observed_rms():
    rng = np.random.default_rng(2)
    detail = rng.standard_normal((2, 20, 20))
    observed = rng.random(detail.shape) >= 0.5
    scaled, rms = unit_rms_detail(detail, observed)
    assert rms.shape == (2, 1, 1) and not scaled[~observed].any()
    for plane, seen in zip(scaled, observed, strict=True):
        assert abs(np.sqrt(np.mean(plane[seen] ** 2)) - 1) < 1e-12
