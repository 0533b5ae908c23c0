"""The pipeline's body (restoration/pipeline.py): default iterations and given settings."""

import numpy as np

from restoration.pipeline import (
    MAX_ITER,
    MAX_ITER_SMALL,
    coding_iterations,
    fixed_selection,
    restore_image,
)
from restoration.selection import Selection
from restoration.split import biharmonic_fill


def test_default_iterations_keep_the_work_of_a_512_image():
    sizes = [(8, 8), (100, 100), (303, 384), (400, 400), (512, 512), (4096, 4096)]
    counts = [coding_iterations(size) for size in sizes]
    assert counts == sorted(counts, reverse=True)  # never more iterations on a larger image
    assert counts[0] == counts[1] == MAX_ITER_SMALL and counts[-2:] == [MAX_ITER, MAX_ITER]
    between = [(size, count) for size, count in zip(sizes, counts, strict=True)
               if MAX_ITER < count < MAX_ITER_SMALL]
    assert between  # the work of 512x512 where neither bound applies
    for size, count in between:
        assert count * size[0] * size[1] <= MAX_ITER * 512 * 512 < (count + 1) * size[0] * size[1]


def test_a_given_selection_of_the_fill_alone_returns_the_clipped_fill():
    rng = np.random.default_rng(0)
    image = rng.random((40, 40)).astype(np.float32)
    mask = rng.random(image.shape) >= 0.5
    fill = np.clip(biharmonic_fill(np.where(mask, image, 0)[None], mask[None])[0], 0, 1)
    for keep_observed in (True, False):
        result = restore_image(image, mask, keep_observed=keep_observed,
                               selection=Selection(None, None, None, {}, 0))
        np.testing.assert_array_equal(result.image, fill)
        assert result.smoothing is None and result.objective == 0 and result.nnz == 0


def test_fixed_selection_only_when_nothing_is_left_to_choose():
    one = (np.zeros((1, 3, 3), np.float32),)
    assert fixed_selection(one, 0.25, 1) == Selection(1.0, 0.25, 0, {}, 0)
    assert fixed_selection(one, None, 1.0) is None
    assert fixed_selection(one, 0.25, None) is None
    assert fixed_selection(one * 2, 0.25, 1.0) is None
