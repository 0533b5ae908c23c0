"""The dictionary adapted to the image (restoration/adaptation.py) and its place in the pipeline:
honest hold-out, determinism, a case with a known answer, what is reported."""

import numpy as np
import pytest

import restoration.adaptation as adaptation
from restoration import load_dictionaries, restore, restore_batch
from restoration.adaptation import adapt_dictionary, learning_windows
from restoration.metrics import psnr
from restoration.pipeline import learning_planes
from restoration.selection import hold_out

from .test_inpainting import sparse_image


@pytest.fixture
def quick(monkeypatch):
    """Three outer iterations: what is checked does not depend on how long learning runs."""
    monkeypatch.setattr(adaptation, "LEARN_MAX_ITER", 3)


@pytest.fixture(scope="module")
def damaged():
    image = sparse_image(load_dictionaries()[0], (72, 80), n_atoms=30, seed=4)
    return image, np.random.default_rng(5).random(image.shape) >= 0.5


def test_pixels_hidden_by_the_hold_out_never_reach_learning(damaged, quick):
    image, mask = damaged
    hidden = hold_out(mask, random_state=2).hidden
    assert hidden.any()
    learned = restore(image, mask, adapt=True, random_state=2, max_iter=3).adaptations[0]
    perturbed = np.where(hidden, 1.0 - image, image)
    again = restore(perturbed, mask, adapt=True, random_state=2, max_iter=3).adaptations[0]
    np.testing.assert_array_equal(again.filters, learned.filters)
    seen = mask & ~hidden  # the test has teeth: a pixel learning reads changes the filters
    changed = np.where(seen & (np.arange(mask.size).reshape(mask.shape) % 7 == 0), 0.0, image)
    other = restore(changed, mask, adapt=True, random_state=2, max_iter=3).adaptations[0]
    assert not np.array_equal(other.filters, learned.filters)


def test_a_batch_learns_one_dictionary_without_any_images_hidden_pixels(damaged, quick):
    image, mask = damaged
    images, masks = np.stack([image, image[::-1]]), np.stack([mask, mask[:, ::-1]])
    results = restore_batch(images, masks, adapt=True, random_state=1, max_iter=3)
    assert results[0].adaptations[0] is results[1].adaptations[0]
    assert results[0].candidates == results[1].candidates == \
        ("dictionary #0", "dictionary #1", "learned")
    perturbed = images.copy()
    for index in range(2):
        hidden = hold_out(masks[index], random_state=1).hidden
        perturbed[index][hidden] = 1.0 - images[index][hidden]
    again = restore_batch(perturbed, masks, adapt=True, random_state=1, max_iter=3)
    np.testing.assert_array_equal(again[0].adaptations[0].filters,
                                  results[0].adaptations[0].filters)


def test_adaptation_is_deterministic_for_a_random_state(damaged, quick):
    image, mask = damaged
    first = restore(image, mask, adapt=True, random_state=7, max_iter=3)
    second = restore(image, mask, adapt=True, random_state=7, max_iter=3)
    np.testing.assert_array_equal(first.adaptations[0].filters, second.adaptations[0].filters)
    np.testing.assert_array_equal(first.image, second.image)
    assert first.selections[0].errors == second.selections[0].errors
    other = restore(image, mask, adapt=True, random_state=8, max_iter=3)
    assert not np.array_equal(other.adaptations[0].filters, first.adaptations[0].filters)


def known_atoms_image(shape, seed=0):
    """A flat image with many copies of three fine-grained atoms (period-3 gratings and a
    checkerboard, 12x12), which photo-trained filters represent poorly."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:12, 0:12]
    window = np.outer(np.hanning(12), np.hanning(12))
    atoms = [np.cos(2 * np.pi * rows / 3) * window, np.cos(2 * np.pi * (rows + cols) / 3) * window,
             ((rows + cols) % 2 * 2 - 1) * window]
    image = np.full(shape, 0.5)
    for _ in range(shape[0] * shape[1] // 60):
        top, left = rng.integers(0, shape[0] - 12), rng.integers(0, shape[1] - 12)
        image[top:top + 12, left:left + 12] += 0.08 * rng.choice([-1, 1]) * \
            atoms[rng.integers(3)]
    return np.clip(image, 0, 1)


def test_the_learned_dictionary_beats_the_bundled_one_on_an_image_of_a_few_known_atoms():
    image = known_atoms_image((128, 128))
    mask = np.random.default_rng(0).random(image.shape) >= 0.5
    bundled = restore(image, mask, adapt=False)
    adapted = restore(image, mask, adapt=True)
    assert adapted.candidate == "learned"
    assert psnr(image, adapted.image, data_range=1.0) > \
        psnr(image, bundled.image, data_range=1.0) + 1.0


def test_the_decision_and_the_learning_are_reported(damaged, quick):
    image, mask = damaged
    skipped = restore(image, mask, max_iter=3)  # adapt=None: too small an image to learn from
    assert not skipped.adapted and skipped.adaptations == (None,)
    assert skipped.candidates == ("dictionary #0", "dictionary #1")
    assert skipped.candidate in skipped.candidates + ("fill",)
    adapted = restore(image, mask, adapt=True, max_iter=3)
    learned = adapted.adaptations[0]
    assert adapted.adapted and adapted.candidates[-1] == "learned"
    assert learned.seconds > 0 and 1 <= learned.n_iter <= 3 and learned.n_windows == 1
    assert np.isfinite(learned.objective) and learned.objective > 0
    assert learned.filters.shape == (36, 16, 16)  # the bundled number, LEARN_FILTER_SIZE
    assert learned.filters.dtype == np.float32
    whole = restore(image, None, adapt=True, max_iter=3)  # nothing missing: the learned filters
    assert whole.candidate == "learned" and whole.selections[0].errors == {}


def test_windows_are_the_most_detailed_and_do_not_overlap():
    image = np.full((200, 260), 0.5)
    image[128:192, 32:96] = np.random.default_rng(0).random((64, 64))  # the one detailed area
    observed = np.ones(image.shape, bool)
    windows = learning_windows(image, observed, size=64, count=3)
    assert windows[0] == (slice(128, 192), slice(32, 96))
    for first in range(3):
        for second in range(first):
            a, b = windows[first], windows[second]
            assert a[0].stop <= b[0].start or b[0].stop <= a[0].start or \
                a[1].stop <= b[1].start or b[1].stop <= a[1].start
    assert learning_windows(image[:100, :100], observed[:100, :100], size=64, count=3) == \
        [(slice(0, 100), slice(0, 100))]  # a small image is learned from whole


def test_learning_planes_are_the_coded_planes_less_the_hidden_pixels(damaged):
    image, mask = damaged
    colour = np.stack([image, image * 0.5, image], axis=-1)
    (plane, readable), = learning_planes(colour, mask, channel_axis=-1, random_state=3)
    assert plane.shape == image.shape and readable.dtype == bool
    np.testing.assert_array_equal(readable, mask & ~hold_out(mask, random_state=3).hidden)
    assert len(learning_planes(colour, np.stack([mask, mask, ~mask], -1), channel_axis=-1)) == 3


def test_learning_reads_no_pixel_of_the_regions_when_the_rest_is_most_of_the_image():
    mask = np.random.default_rng(2).random((256, 256)) >= 0.5
    holdout = hold_out(mask, random_state=0)
    inside = np.zeros(mask.shape, bool)
    for region in holdout.regions:
        inside[region] = True
    np.testing.assert_array_equal(holdout.learnable(mask), mask & ~inside)


def test_repetition_tells_a_periodic_pattern_from_noise():
    rows, cols = np.mgrid[0:128, 0:128]
    observed = np.random.default_rng(0).random(rows.shape) >= 0.5
    stripes = 0.5 + 0.3 * np.sin(2 * np.pi * cols / 9.0)
    noise = np.random.default_rng(1).random(rows.shape)
    assert adaptation.repetition(stripes, observed) > 0.5  # shifted by its period: itself
    assert abs(adaptation.repetition(noise, observed)) < 0.1
    assert adaptation.repetition(np.full(rows.shape, 0.5), observed) == 0.0  # no detail
    assert adaptation.repetition(stripes[:4, :4], observed[:4, :4]) == 0.0  # under the shifts


def test_adapt_dictionary_pads_the_start_to_its_size_and_stops_early_when_nothing_changes():
    initial = load_dictionaries()[0][:8]
    flat = np.full((40, 40), 0.5)
    result = adapt_dictionary([flat], [np.ones(flat.shape, bool)], initial, max_iter=6)
    assert result.filters.shape == (8, 16, 16) and result.n_iter < 6
    cropped = adapt_dictionary([flat], [np.ones(flat.shape, bool)], initial, filter_size=8,
                               max_iter=1)
    assert cropped.filters.shape == (8, 8, 8)
    nothing = adapt_dictionary([flat], [np.zeros(flat.shape, bool)], initial)
    assert nothing.n_iter == 0 and nothing.n_windows == 0  # no pixel to read: the start kept
    np.testing.assert_array_equal(nothing.filters[:, 2:-2, 2:-2], initial)


@pytest.mark.parametrize("call, message", [
    (lambda image, mask: restore(image, mask, adapt="yes"), "`adapt`"),
    (lambda image, mask: restore(image, mask, random_state=-1), "`random_state`"),
    (lambda image, mask: restore_batch(image[None], mask[None, :3]), "batch image 0: `mask`"),
    (lambda image, mask: restore_batch(image, [mask]), "`masks`"),
    (lambda image, mask: restore_batch([], None), "`images`"),
])
def test_bad_adaptation_input_raises_one_clear_error(damaged, call, message):
    image, mask = damaged
    with pytest.raises(ValueError, match=message):
        call(image, mask)


def test_restore_batch_refuses_a_single_number():
    with pytest.raises(TypeError, match="`images`"):
        restore_batch(3.0)
