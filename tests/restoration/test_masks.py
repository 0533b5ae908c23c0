"""The one mask rule (restoration/masks.py): the Python API and ``cogd inpaint --mask`` read the
same arrays as the same observed pixels."""

import imageio.v3 as iio
import numpy as np
import pytest
from skimage import data

from restoration import restore
from restoration.cli import main
from restoration.io import encode_image, read_mask
from restoration.masks import observed_pixels
from restoration.metrics import psnr_missing

PATTERN = np.random.default_rng(5).random((24, 28)) >= 0.4  # True = observed
ARRAYS = {  # every way of writing PATTERN that the rule accepts, with its file format
    "bool": (PATTERN, ".png"),
    "uint8 0/1": (PATTERN.astype(np.uint8), ".png"),
    "uint8 0/255": (PATTERN.astype(np.uint8) * 255, ".png"),
    "uint16 0/65535": (PATTERN.astype(np.uint16) * 65535, ".png"),
    "float 0/1": (PATTERN.astype(np.float32), ".tif"),
    "uint8 grey levels": (np.where(PATTERN, 128, 127).astype(np.uint8), ".png"),
    "float grey levels": (np.where(PATTERN, 0.51, 0.49).astype(np.float32), ".tif"),
}
SETTINGS = dict(smoothing=1.0, sparsity_weight=0.25, max_iter=2)
IMAGE = data.camera()[100:124, 200:228]


@pytest.fixture(scope="module")
def reference():
    """The restoration with the boolean mask, as the API returns it and as a PNG stores it."""
    restored = restore(IMAGE, PATTERN, **SETTINGS).image
    return restored, encode_image(restored, ".png")[1]


@pytest.mark.parametrize("kind", ARRAYS)
def test_the_api_and_the_cli_read_the_same_arrays_as_the_same_pixels(kind, tmp_path, reference):
    array, suffix = ARRAYS[kind]
    np.testing.assert_array_equal(observed_pixels(array), PATTERN)
    np.testing.assert_array_equal(restore(IMAGE, array, **SETTINGS).image, reference[0])
    assert psnr_missing(IMAGE / 255, reference[0], array) == \
        psnr_missing(IMAGE / 255, reference[0], PATTERN)
    iio.imwrite(tmp_path / "image.png", IMAGE)
    iio.imwrite(tmp_path / f"mask{suffix}", array)
    np.testing.assert_array_equal(read_mask(tmp_path / f"mask{suffix}", PATTERN.shape), PATTERN)
    assert main(["inpaint", str(tmp_path / "image.png"), "--mask", str(tmp_path / f"mask{suffix}"),
                 "-o", str(tmp_path / "out.png"), "--smoothing", "1", "--sparsity-weight", "0.25",
                 "--max-iter", "2", "--quiet"]) == 0
    np.testing.assert_array_equal(iio.imread(tmp_path / "out.png"), reference[1])


def test_a_dask_mask_is_read_whole_not_block_by_block():
    da = pytest.importorskip("dask.array")
    mask = np.where(PATTERN, 255, 0).astype(np.uint8)
    mask[:12, :14] = PATTERN[:12, :14]  # one block holds only 0 and 1: black in a mask image
    lazy = observed_pixels(da.from_array(mask, chunks=(12, 14)))
    np.testing.assert_array_equal(lazy.compute(), observed_pixels(mask))
    assert not observed_pixels(mask)[:12, :14].any()


@pytest.mark.parametrize("mask,message", [
    (np.full((2, 2), np.nan), "NaN"), (np.full((2, 2), "1"), "numeric"),
])
def test_masks_that_are_not_numbers_are_refused(mask, message):
    with pytest.raises(ValueError, match=message):
        observed_pixels(mask)
