"""Restoration of images larger than memory: overlapping blocks of a ``dask.array.Array``.

:func:`inpaint_blocks` (behind :func:`restoration.inpaint` for dask input) chooses the settings
once, by the pipeline's hold-out on a central crop (:func:`restoration.pipeline.restore_image`),
then restores every block with a margin of context (``dask.array.map_overlap``) by the same
pipeline with those settings (the fill alone included) and keeps the block's core. Only the
blocks being processed are in memory: peak memory is bounded by the block size and the number of
blocks processed at once (the scheduler's threads or workers), not by the image. The result is a
lazy dask array; store it block by block (``dask.array.store`` into a memory-mapped TIFF, a Zarr
array, ...).

A block differs from the in-memory restoration of the whole image by what it cannot see: the
biharmonic fill and the coding see ``margin`` pixels of context (the in-memory pipeline tiles
large images the same way), and the detail layer is scaled to unit RMS per block, so ``lambda``
is relative to the block's detail rather than the image's.
"""

import numpy as np

from csc.backend import float_dtype

from .dictionaries import load_dictionaries
from .masks import observed_pixels
from .pipeline import check_parameters, coding_iterations, fixed_selection, restore_image
from .split import FILL_MARGIN

__all__ = ["inpaint_blocks", "block_margin", "BLOCK_SIZE", "SAMPLE_SIZE"]

# Block side (pixels) when the array's chunks are larger. Measured with 2 blocks at a time on a
# 2048x2048 image (large_run of benchmarks/scale_out.py with TILES = 4, chunks 512 or 1024):
# peak 1.19 GiB with 512, 2.74 GiB with 1024 (the biharmonic fill of a block costs about 1 GiB
# per megapixel).
BLOCK_SIZE = 512
SAMPLE_SIZE = 512  # side of the central crop the settings are chosen on


def block_margin(filter_size):
    """Pixels of context around each block: two filter widths (the coding tiles' margin), and
    at least the biharmonic fill's tile margin."""
    return max(2 * int(filter_size), FILL_MARGIN)


def inpaint_blocks(image, mask, *, dictionary=None, sparsity_weight=None, smoothing=None,
                   max_iter=None, channel_axis=None, keep_observed=True, adapt=None,
                   random_state=0, block_size=None):
    """Inpaint a dask array block by block (lazy).

    Parameters
    ----------
    image : dask.array.Array of shape (H, W), or with a channel axis
        Values as in :func:`restoration.restore`.
    mask : dask.array.Array or ndarray of shape (H, W) (or the image's shape)
        The observed pixels by the mask rule (:func:`restoration.masks.observed_pixels`, applied
        to the whole mask before it is cut into blocks).
    dictionary, sparsity_weight, smoothing, channel_axis, keep_observed, adapt, random_state
        As in :func:`restoration.inpaint`; settings left None are chosen once for the whole
        image on its central ``SAMPLE_SIZE`` crop (the fill alone when that is best there), and
        so is the adapted dictionary (learned from that crop, then used by every block).
    max_iter : int or None
        FISTA iterations per block; None: :func:`restoration.pipeline.coding_iterations` of the
        whole image (48 from 512x512 up).
    block_size : int or None
        Largest block side; None: the array's chunks, at most :data:`BLOCK_SIZE`.

    Returns
    -------
    dask.array.Array of the image's shape
        float32 (float64 for float64 input), in [0, 1].
    """
    import dask.array as da

    if image.ndim not in (2, 3) or (image.ndim == 3) != (channel_axis is not None):
        raise ValueError(f"`image` must be (H, W), or (H, W, C)-like with `channel_axis`, got "
                         f"shape {image.shape} with channel_axis={channel_axis}")
    channel = None if channel_axis is None else channel_axis % image.ndim
    spatial = [axis for axis in range(image.ndim) if axis != channel]
    shape = tuple(image.shape[axis] for axis in spatial)
    mask = da.asarray(mask) if mask is not None else None
    if mask is None or mask.shape not in (shape, image.shape):
        raise ValueError(f"`mask` must have shape {shape} or {image.shape}, got "
                         f"{None if mask is None else mask.shape}")
    mask = observed_pixels(mask)
    check_parameters(max_iter=max_iter, sparsity_weight=sparsity_weight, smoothing=smoothing,
                     image_shape=shape, keep_observed=keep_observed, progress=False,
                     adapt=adapt, random_state=random_state)
    dictionaries = load_dictionaries(dictionary)
    max_iter = coding_iterations(shape) if max_iter is None else max_iter
    selection = None if adapt else fixed_selection(dictionaries, sparsity_weight, smoothing)
    if selection is None:
        sample = _sample(image, mask, spatial, dictionaries, sparsity_weight=sparsity_weight,
                         smoothing=smoothing, max_iter=max_iter, channel_axis=channel_axis,
                         adapt=adapt, random_state=random_state)
        selection = sample.selections[0]
        if sample.adaptations[0] is not None:
            dictionaries = dictionaries + (sample.adaptations[0].filters,)
    margin = block_margin(max(d.shape[-1] for d in dictionaries))
    side = BLOCK_SIZE if block_size is None else int(block_size)
    chunks = {axis: min(side, max(image.chunks[axis])) for axis in spatial}
    if channel is not None:
        chunks[channel] = -1
    image = image.rechunk(chunks)
    if mask.ndim != image.ndim:  # one mask for every channel
        mask = da.broadcast_to(da.expand_dims(mask, channel), image.shape)
    mask = mask.rechunk(image.chunks)
    depth = {axis: margin for axis in spatial}
    if channel is not None:
        depth[channel] = 0

    def block(image_block, mask_block):
        return restore_image(image_block, mask_block, dictionary=dictionaries, max_iter=max_iter,
                             channel_axis=channel_axis, keep_observed=keep_observed,
                             selection=selection).image

    return da.map_overlap(block, image, mask, depth=depth, boundary="none", trim=True,
                          dtype=float_dtype(image.dtype))


def _sample(image, mask, spatial, dictionaries, **settings):
    """The pipeline's :class:`restoration.pipeline.Restoration` of the central crop, whose
    first coded plane's selection (and learned dictionary) every block uses."""
    crop = [slice(None)] * image.ndim
    for axis in spatial:
        start = max((image.shape[axis] - SAMPLE_SIZE) // 2, 0)
        crop[axis] = slice(start, start + SAMPLE_SIZE)
    mask_crop = tuple(crop) if mask.ndim == image.ndim else tuple(crop[a] for a in spatial)
    return restore_image(np.asarray(image[tuple(crop)]), np.asarray(mask[mask_crop]),
                         dictionary=dictionaries, **settings)
