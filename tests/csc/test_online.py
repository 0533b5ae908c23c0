"""Online dictionary learning (csc.online, ConvolutionalDictionary.partial_fit)."""

import numpy as np
import pytest
from scipy.signal import correlate, fftconvolve

from csc import ConvolutionalDictionary, LearningOptions
from csc.fourier import crop_filters, filter_adjoint, pad_filters, spatial, spectra, synthesize
from csc.online import (
    batch_statistics,
    learn_dictionary_online,
    minimize_surrogate,
    surrogate_gradient,
)
from csc.prox import project_filters


def codes_and_signal(seed=0, grid=(13, 11), n_images=2, n_filters=3, n_channels=2):
    rng = np.random.default_rng(seed)
    codes = rng.standard_normal((n_images, n_filters) + grid)
    codes *= rng.random(codes.shape) < 0.3
    return codes, rng.standard_normal((n_images, n_channels) + grid)


def full_grid_gradient(codes, signal, filters):
    """``X^T (X d - S)`` on the image grid, cropped to the window: the independent truth."""
    grid = codes.shape[-2:]
    codes_hat = spectra(codes, xp=np)
    padded_hat = spectra(pad_filters(filters, grid, xp=np), xp=np)
    residual = spatial(synthesize(padded_hat, codes_hat, xp=np), grid, xp=np) - signal
    return crop_filters(spatial(filter_adjoint(codes_hat, spectra(residual, xp=np), xp=np), grid,
                                xp=np), filters.shape[-1])


def test_the_windowed_statistics_give_the_gradient_on_the_image_grid():
    s = 4
    codes, signal = codes_and_signal()
    filters = np.random.default_rng(1).standard_normal((3, 2, s, s))
    statistics_hat, correlation = batch_statistics(codes, signal, s, xp=np)
    assert statistics_hat.shape == ((2 * s - 1) * s, 3, 3)  # whatever the image grid
    np.testing.assert_allclose(surrogate_gradient(statistics_hat, correlation, filters, xp=np),
                               full_grid_gradient(codes, signal, filters), atol=1e-10)
    # Hermitian at every frequency: the surrogate is a real quadratic form
    np.testing.assert_allclose(statistics_hat, np.conj(np.swapaxes(statistics_hat, 1, 2)),
                               atol=1e-10)


def test_statistics_add_over_batches_of_any_image_size():
    s = 3
    small = codes_and_signal(0, grid=(9, 9))
    large = codes_and_signal(1, grid=(14, 12))
    filters = np.random.default_rng(2).standard_normal((3, 2, s, s))
    statistics = [batch_statistics(*batch, s, xp=np) for batch in (small, large)]
    summed = [statistics[0][i] + statistics[1][i] for i in range(2)]
    expected = full_grid_gradient(*small, filters) + full_grid_gradient(*large, filters)
    np.testing.assert_allclose(surrogate_gradient(*summed, filters, xp=np), expected, atol=1e-10)


def test_minimize_surrogate_reaches_the_constrained_minimiser():
    s = 3
    codes, signal = codes_and_signal(3)
    statistics_hat, correlation = batch_statistics(codes, signal, s, xp=np)
    start = np.random.default_rng(4).standard_normal((3, 2, s, s))
    filters = minimize_surrogate(statistics_hat, correlation, start, n_iter=3000, xp=np)
    norms = np.sqrt(np.sum(filters ** 2, axis=(1, 2, 3)))
    assert np.all(norms <= 1 + 1e-12)
    # a fixed point of the projected gradient step: the optimality condition of the problem
    gradient = surrogate_gradient(statistics_hat, correlation, filters, xp=np)
    step = project_filters(filters - 1e-3 * gradient, np.ones((s, s)), xp=np)
    np.testing.assert_allclose(step, filters, atol=1e-7)


ATOMS, ATOM_SIZE, FILTER_SIZE = 4, 4, 6


def synthetic_images(seed=0, n_images=24, side=32):
    """Sums of the shifted atoms (random 4x4) with sparse random amplitudes, and the atoms."""
    rng = np.random.default_rng(seed)
    atoms = rng.standard_normal((ATOMS, ATOM_SIZE, ATOM_SIZE))
    atoms /= np.linalg.norm(atoms, axis=(1, 2), keepdims=True)
    shape = (n_images, ATOMS, side - ATOM_SIZE + 1, side - ATOM_SIZE + 1)
    maps = (rng.random(shape) < 0.015) * rng.choice([-1, 1], shape) * (1 + rng.random(shape))
    images = np.stack([sum(fftconvolve(maps[i, k], atoms[k]) for k in range(ATOMS))
                       for i in range(n_images)])
    return images, atoms


def atom_correlations(filters, atoms):
    """For every atom, the best normalised correlation with a filter, over all shifts."""
    return np.array([max(np.abs(correlate(f, atom)).max() / np.linalg.norm(f) for f in filters)
                     for atom in atoms])


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_partial_fit_recovers_known_atoms(missing):
    images, atoms = synthetic_images()
    mask = np.random.default_rng(5).random(images.shape) >= missing
    model = ConvolutionalDictionary(8, FILTER_SIZE, sparsity_weight=0.2, encode_iter=50,
                                    dictionary_iter=20, random_state=1)
    for _ in range(4):
        for start in range(0, len(images), 8):
            model.partial_fit(images[start:start + 8], mask[start:start + 8])
    assert model.n_iter_ == 12 and model.online_state_.n_images == 96
    assert np.all(atom_correlations(model.filters_, atoms) >= 0.9)
    history = model.history_
    assert history["n_images"][-1] == 96 and history["objective"][-1] < history["objective"][0]


@pytest.mark.parametrize("solver", ["admm", "fista"])
def test_partial_fit_then_encode_with_masks(solver):
    images, _ = synthetic_images(1, n_images=6, side=20)
    mask = np.random.default_rng(2).random(images.shape) > 0.4
    model = ConvolutionalDictionary(6, FILTER_SIZE, sparsity_weight=0.2, encode_iter=30,
                                    coding_solver=solver, random_state=0)
    model.partial_fit(images[:3], mask[:3]).partial_fit(images[3:], mask[3:])
    codes = model.encode(images, mask)
    assert codes.shape == (6, 6, 25, 25) and np.all(np.isfinite(codes))
    observed = mask.astype(bool)
    error = np.mean((model.decode(codes) - images)[observed] ** 2)
    assert error < 0.5 * np.mean(images[observed] ** 2)  # the codes explain the observed pixels
    assert not hasattr(model, "codes_")


def test_cogd_backtracks_filters_with_the_per_filter_rule():
    images, _ = synthetic_images(2, n_images=8, side=20)
    model = ConvolutionalDictionary(6, FILTER_SIZE, sparsity_weight=0.2, encode_iter=20,
                                    optimizer="cogd", coupling="filter", random_state=0)
    for start in (0, 4, 0, 4):
        model.partial_fit(images[start:start + 4])
    assert sum(model.history_["backtracked"]) > 0


def test_partial_fit_resumes_its_checkpoint_exactly(tmp_path):
    images, _ = synthetic_images(3, n_images=6, side=16)
    params = dict(n_filters=4, filter_size=FILTER_SIZE, sparsity_weight=0.2, encode_iter=10,
                  random_state=0)
    straight = ConvolutionalDictionary(**params)
    for start in (0, 2, 4):
        straight.partial_fit(images[start:start + 2])
    path = str(tmp_path / "online.npz")
    first = ConvolutionalDictionary(**params, checkpoint=path)
    first.partial_fit(images[:2]).partial_fit(images[2:4])
    resumed = ConvolutionalDictionary(**params, checkpoint=path).resume_partial_fit()
    assert resumed.online_state_.n_images == 4  # where the stream stopped, before a new batch
    resumed.partial_fit(images[4:])
    assert resumed.n_iter_ == 3 and resumed.online_state_.n_images == 6
    np.testing.assert_array_equal(resumed.filters_, straight.filters_)
    assert resumed.history_["objective"] == straight.history_["objective"]
    with pytest.raises(ValueError, match="another problem"):  # other parameters
        ConvolutionalDictionary(**dict(params, sparsity_weight=0.3), checkpoint=path).partial_fit(
            images[:2])


def test_partial_fit_continues_a_loaded_dictionary_and_fit_starts_afresh(tmp_path):
    images, _ = synthetic_images(4, n_images=4, side=16)
    model = ConvolutionalDictionary(4, FILTER_SIZE, max_iter=2, random_state=0).fit(images)
    model.save(tmp_path / "d.npz")
    loaded = ConvolutionalDictionary.load(tmp_path / "d.npz")
    state = learn_dictionary_online(images[:2], n_filters=4, filter_size=FILTER_SIZE,
                                    coding_iter=100, initial_filters=model.filters_,
                                    options=LearningOptions(max_iter=2))
    np.testing.assert_allclose(loaded.partial_fit(images[:2]).filters_, state.filters[:, 0])
    assert model.partial_fit(images[:2]).online_state_.n_batches == 1
    assert not hasattr(model.fit(images), "online_state_")


@pytest.mark.parametrize("params, images, mask, message", [
    (dict(optimizer="cogd"), None, None, "coupling='filter'"),
    (dict(coding_solver="ista"), None, None, "coding_solver"),
    (dict(forgetting_exponent=-1), None, None, "forgetting_exponent"),
    ({}, None, "weights", r"weights in \[0, 1\]"),
    ({}, "colour", None, "state"),
    ({}, "float32", None, "dtype"),
    ({}, "nan", None, "images"),
])
def test_bad_input_to_partial_fit_is_one_clear_error(params, images, mask, message):
    batch = np.random.default_rng(0).random((2, 12, 12))
    model = ConvolutionalDictionary(3, 4, encode_iter=5, random_state=0, **params)
    if images in ("colour", "float32"):
        model.partial_fit(batch)  # a first batch, then one of another kind
        model.channel_axis = -1 if images == "colour" else None
        batch = np.stack([batch] * 3, axis=-1) if images == "colour" else \
            batch.astype(np.float32)
    if images == "nan":
        batch[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=message):
        model.partial_fit(batch, 2.0 * np.ones(batch.shape) if mask else None)


def test_partial_fit_refuses_a_dask_array():
    da = pytest.importorskip("dask.array")
    with pytest.raises(TypeError, match="one mini-batch"):
        ConvolutionalDictionary(3, 4).partial_fit(da.zeros((2, 12, 12)))
