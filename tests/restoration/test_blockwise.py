"""Block-wise inpainting of dask arrays against the in-memory restoration."""

import numpy as np
import pytest
from skimage import data

from restoration import inpaint, load_dictionaries, restore
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


@pytest.mark.parametrize("keep_observed", [True, False])
def test_blocks_with_the_fill_alone_are_the_pipelines_restoration(keep_observed):
    # Regression (issue 25): the blocks' "fill alone" was a copy of the pipeline's branch that
    # ignored keep_observed; the blocks now run the pipeline itself with the settings chosen on
    # the sample. One block (the whole image): the in-memory restoration, bitwise.
    rows, cols = np.mgrid[0:96, 0:96] / 96.0
    smooth = 0.3 + 0.2 * rows + 0.1 * cols ** 2  # the biharmonic fill predicts it best
    mask = np.random.default_rng(2).random(smooth.shape) >= 0.5
    filters = load_dictionaries()[0]
    whole = restore(smooth, mask, dictionary=filters, keep_observed=keep_observed)
    assert whole.smoothing is None  # the fill alone was chosen
    blocks = inpaint(da.from_array(smooth, chunks=96), mask, dictionary=filters,
                     keep_observed=keep_observed)
    np.testing.assert_array_equal(blocks.compute(scheduler="synchronous"), whole.image)


def test_blockwise_checks_given_settings_before_building_the_graph(damaged):
    image, mask = damaged
    with pytest.raises(ValueError, match="`sparsity_weight`"):
        inpaint(da.from_array(image), mask, dictionary=load_dictionaries()[0], smoothing=1.0,
                sparsity_weight=-1.0)
