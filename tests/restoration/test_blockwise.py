"""Block-wise inpainting of dask arrays against the in-memory restoration."""

import numpy as np
import pytest
from skimage import data

from restoration import inpaint, restore
from restoration.inpainting import load_dictionaries
from restoration.metrics import psnr

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def damaged():
    image = data.camera()[64:256, 128:320] / 255.0
    return image, np.random.default_rng(0).random(image.shape) >= 0.5


def test_blocks_equal_the_in_memory_restoration_within_tolerance(damaged):
    # Tolerance: a block sees 32 pixels of context (the fill's and twice the coding filters'
    # margin) and scales its detail to unit RMS on its own pixels, so lambda differs slightly
    # from block to block. Measured on this crop: mean |difference| 6e-4 (0.16 grey levels),
    # PSNR within 0.02 dB; the bounds leave a factor of about 3.
    image, mask = damaged
    whole = restore(image, mask, smoothing=1.5, sparsity_weight=0.25, max_iter=40,
                    dictionary=load_dictionaries()[1])
    blocks = inpaint(da.from_array(image, chunks=96), da.from_array(mask, chunks=64),
                     smoothing=1.5, sparsity_weight=0.25, max_iter=40,
                     dictionary=load_dictionaries()[1])
    assert isinstance(blocks, da.Array) and blocks.chunks == ((96, 96), (96, 96))
    result = blocks.compute(scheduler="threads")
    assert result.dtype == np.float64 and result.shape == image.shape
    difference = np.abs(result - whole.image)
    assert difference.mean() < 2e-3
    assert abs(psnr(image, result) - psnr(image, whole.image)) < 0.05
    np.testing.assert_array_equal(result[mask], image[mask])  # observed pixels kept


def test_blocks_choose_settings_once_and_handle_colour(damaged):
    image, mask = damaged
    colour = np.stack([image, image[::-1], image.T], axis=-1).astype(np.float32)
    result = inpaint(da.from_array(colour, chunks=(96, 96, 3)), mask, channel_axis=-1,
                     max_iter=10).compute()
    assert result.shape == colour.shape and result.dtype == np.float32
    missing = ~mask
    filled = np.where(mask[..., None], colour, 0)
    assert psnr(colour[missing], result[missing]) > psnr(colour[missing], filled[missing]) + 10


def test_blockwise_refuses_a_mask_of_another_shape(damaged):
    image, mask = damaged
    with pytest.raises(ValueError, match="`mask` must have shape"):
        inpaint(da.from_array(image), mask[:10])
