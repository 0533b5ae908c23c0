import numpy as np
import pytest

from restoration import load_dictionary, restore
from restoration.selection import BIHARMONIC, hold_out, holdout_regions, select_settings

from .test_inpainting import sparse_image


@pytest.fixture(scope="module")
def filters():
    return load_dictionary()


def test_two_dictionaries_are_told_apart_by_what_they_predict(filters):
    """An image made of one dictionary's atoms chooses that dictionary over random filters."""
    image = sparse_image(filters, (96, 96), n_atoms=40)
    observed = np.random.default_rng(3).random(image.shape) >= 0.5
    noise = np.random.default_rng(4).standard_normal(filters.shape).astype(np.float32)
    noise /= np.linalg.norm(noise.reshape(len(noise), -1), axis=1)[:, None, None]
    chosen = select_settings(image, observed, [noise, filters], smoothings=(1.0,),
                             sparsity_weights=(0.1,), max_iter=30)
    assert chosen.dictionary == 1
    assert chosen.errors[(1, 1.0, 0.1)] < chosen.errors[(0, 1.0, 0.1)]


def test_hold_out_hides_a_fraction_of_the_observed_pixels_of_the_cores_of_its_regions():
    observed = np.random.default_rng(0).random((160, 170)) >= 0.4
    holdout = hold_out(observed, region_size=40, n_regions=4, fraction=0.2, margin=8,
                       random_state=5)
    cores = np.zeros(observed.shape, bool)
    for rows, cols in holdout.regions:
        assert rows.stop - rows.start == cols.stop - cols.start == 56  # the core and its context
        cores[rows.start + 8:rows.stop - 8, cols.start + 8:cols.stop - 8] = True
    assert not (holdout.hidden & ~(observed & cores)).any()
    assert abs(holdout.hidden.sum() / (observed & cores).sum() - 0.2) < 0.03
    again = hold_out(observed, region_size=40, n_regions=4, fraction=0.2, margin=8,
                     random_state=5)
    np.testing.assert_array_equal(again.hidden, holdout.hidden)


def test_errors_are_the_pipelines_errors_on_the_hidden_pixels_and_the_least_is_chosen(filters):
    image = sparse_image(filters, (80, 80), n_atoms=25)
    observed = np.random.default_rng(1).random(image.shape) >= 0.5
    candidates = [(0, 1.0, 0.25), (0, 2.0, 0.25)]
    holdout = hold_out(observed, region_size=24, n_regions=4, fraction=0.2, margin=8)
    selection = select_settings(image, observed, [filters], smoothings=(1.0, 2.0),
                                sparsity_weights=(0.25,), holdout=holdout, max_iter=15)
    totals, count = dict.fromkeys(candidates + [BIHARMONIC], 0.0), 0
    for region in holdout.regions:
        values, hidden = image[region], holdout.hidden[region]
        kept = observed[region] & ~hidden
        for key in candidates:  # restore() of the region from the kept pixels
            _, sigma, lam = key
            estimate = restore(values, kept, dictionary=filters, smoothing=sigma,
                               sparsity_weight=lam, max_iter=15).image
            totals[key] += np.sum((estimate[hidden] - values[hidden]) ** 2)
        from skimage.restoration import inpaint_biharmonic

        fill = inpaint_biharmonic(np.where(kept, values, 0), ~kept)
        totals[BIHARMONIC] += np.sum((fill[hidden] - values[hidden]) ** 2)
        count += hidden.sum()
    assert selection.n_hidden == count > 0
    for key, total in totals.items():
        assert selection.errors[key] == pytest.approx(total / count, rel=1e-4)
    best = min(selection.errors, key=selection.errors.get)
    assert (selection.dictionary, selection.smoothing, selection.sparsity_weight) == \
        ((None, None, None) if best == BIHARMONIC else best)


def test_a_sparse_image_chooses_its_sparse_model_and_a_smooth_one_the_fill(filters):
    """Known answers: an image made of the dictionary's atoms is predicted best by its sparse
    model at a moderate weight (a huge weight removes every code); a smooth quadratic is
    predicted best by the biharmonic fill, which reproduces it."""
    image = sparse_image(filters, (96, 96), n_atoms=40)
    observed = np.random.default_rng(2).random(image.shape) >= 0.5
    sparse = select_settings(image, observed, [filters], smoothings=(1.0,),
                             sparsity_weights=(1e3, 0.1), max_iter=30)
    assert (sparse.dictionary, sparse.smoothing, sparse.sparsity_weight) == (0, 1.0, 0.1)
    assert sparse.errors[(0, 1.0, 0.1)] < min(sparse.errors[BIHARMONIC],
                                              sparse.errors[(0, 1.0, 1e3)])
    rows, cols = np.mgrid[0:96, 0:96] / 96.0
    smooth = 0.3 + 0.2 * rows + 0.1 * cols ** 2
    chosen = select_settings(smooth, observed, [filters], smoothings=(1.0,),
                             sparsity_weights=(0.1,), max_iter=30)
    assert (chosen.dictionary, chosen.smoothing, chosen.sparsity_weight) == (None, None, None)


def test_regions_are_inside_the_image_and_not_repeated():
    assert holdout_regions((30, 500), 64, 4) == [(slice(0, 30), slice(135, 165)),
                                                 (slice(0, 30), slice(335, 365))]
    for region in holdout_regions((200, 300), 64, 4):
        assert all(0 <= axis.start < axis.stop <= limit
                   for axis, limit in zip(region, (200, 300), strict=True))
