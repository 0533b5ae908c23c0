"""Bad input to the public API of ``csc``: a ValueError or TypeError naming the argument, early,
never a NaN result, a numpy/numba error or a MemoryError (regressions of issue 16)."""

import os
import tracemalloc

import numpy as np
import pytest

from csc import (
    ConvolutionalDictionary,
    LearningOptions,
    admm_sparse_code,
    fista_sparse_code,
    learn_dictionary,
)
from csc.persistence import atomic_write, current_umask, load_checkpoint, save_dictionary

from .helpers import coding_problem, write_dictionary_file


@pytest.fixture
def images():
    return np.random.default_rng(0).random((2, 12, 12)).astype(np.float32)


def test_nan_initial_filters_are_refused(images):
    model = ConvolutionalDictionary(2, 3, max_iter=1, initial_filters=np.full((2, 3, 3), np.nan))
    with pytest.raises(ValueError, match="`initial_filters` contains NaN"):
        model.fit(images)
    with pytest.raises(ValueError, match="`initial_filters` must hold real numbers"):
        ConvolutionalDictionary(2, 3, initial_filters=np.ones((2, 3, 3), complex)).fit(images)


@pytest.mark.parametrize("weight", [1e300, 1e-300, 1e20, 1e-20])
def test_a_sparsity_weight_outside_float32_is_refused_for_float32_data(images, weight):
    with pytest.raises(ValueError, match="`sparsity_weight` must be in .* for float32"):
        ConvolutionalDictionary(2, 3, max_iter=1, sparsity_weight=weight).fit(images)
    fitted = ConvolutionalDictionary(2, 3, max_iter=1).fit(images)
    fitted.sparsity_weight = weight
    with pytest.raises(ValueError, match="`sparsity_weight`"):
        fitted.encode(images)


def test_the_same_weight_is_fine_in_float64(images):
    model = ConvolutionalDictionary(2, 3, max_iter=1, sparsity_weight=1e20)
    assert np.all(np.isfinite(model.fit(images.astype(np.float64)).codes_))


@pytest.mark.parametrize("solver", [admm_sparse_code, fista_sparse_code])
def test_solvers_refuse_zero_iterations_and_mismatched_shapes(solver):
    signal, weights, filters_hat = coding_problem()[:3]
    extra = {"rho_data": 1.0, "rho_sparse": 1.0} if solver is admm_sparse_code else {}
    with pytest.raises(ValueError, match="`max_iter` must be an integer >= 1, got 0"):
        solver(signal, weights, filters_hat, sparsity_weight=0.1, max_iter=0, xp=np, **extra)
    with pytest.raises(ValueError, match="`filters_hat` must be a complex array"):
        solver(signal[..., :-1], weights, filters_hat, sparsity_weight=0.1, xp=np, **extra)
    with pytest.raises(ValueError, match="`weights` must be real and broadcastable"):
        solver(signal, weights[..., :-1], filters_hat, sparsity_weight=0.1, xp=np, **extra)
    with pytest.raises(TypeError, match="`xp` must be the namespace"):
        solver(signal, weights, filters_hat, sparsity_weight=0.1, xp=object(), **extra)


@pytest.mark.parametrize("name", ["rho_data", "rho_sparse"])
def test_admm_refuses_a_zero_penalty(name):
    signal, weights, filters_hat = coding_problem()[:3]
    penalties = {"rho_data": 1.0, "rho_sparse": 1.0, name: 0.0}
    with pytest.raises(ValueError, match=f"`{name}`"):
        admm_sparse_code(signal, weights, filters_hat, sparsity_weight=0.1, xp=np, **penalties)


def test_empty_and_ragged_image_stacks_name_images():
    model = ConvolutionalDictionary(2, 3, max_iter=1)
    with pytest.raises(ValueError, match="`images` is empty"):
        model.fit(np.zeros((0, 10, 10)))
    with pytest.raises(ValueError, match="`images` must be an array, or a list of arrays of one"):
        model.fit([np.zeros((10, 10)), np.zeros((11, 10))])


def test_a_huge_dictionary_is_refused_before_allocating(images):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="`n_filters` = 1099511627776 is too large"):
            ConvolutionalDictionary(2**40, 3).fit(images)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**24  # 16 MiB: nothing of the dictionary's size was allocated


def test_random_state_must_seed_a_generator(images):
    for value in ("seed", -1, 1.5):
        with pytest.raises(ValueError, match="`random_state`"):
            ConvolutionalDictionary(2, 3, max_iter=1, random_state=value).fit(images)
    ConvolutionalDictionary(2, 3, max_iter=1, random_state=np.random.default_rng(0)).fit(images)


@pytest.mark.parametrize("damage,message", [
    ("empty", "No data left"), ("zip header", "not a zip file"), ("bytes", "not a NumPy .npz"),
    ("1-D", "must hold real float filters"), ("5-D uint16", "must hold real float filters"),
    ("bad json", "not valid JSON"), ("unknown parameter", "unknown parameters"),
    ("wrong n_filters", "does not match the filters"), ("nan", "NaN"),
])
def test_load_names_the_file_whatever_is_wrong_with_it(tmp_path, damage, message):
    path = tmp_path / "d.npz"
    write_dictionary_file(path, np.zeros((2, 3, 3), np.float32), damage)
    with pytest.raises(ValueError, match=message) as error:
        ConvolutionalDictionary.load(path)
    assert str(path) in str(error.value)


def test_a_dictionary_file_or_a_damaged_file_is_not_a_checkpoint(tmp_path, images):
    dictionary = tmp_path / "d.npz"
    save_dictionary(dictionary, np.zeros((2, 3, 3)), params={}, history={})
    with pytest.raises(ValueError, match="is not a checkpoint"):
        load_checkpoint(dictionary, fingerprint="x")
    damaged = tmp_path / "c.npz"
    damaged.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match="cannot load checkpoint"):
        ConvolutionalDictionary(2, 3, max_iter=1, checkpoint=str(damaged)).fit(images)
    assert damaged.read_bytes() == b"PK\x03\x04garbage"


def test_decode_and_objective_check_the_codes(images):
    model = ConvolutionalDictionary(2, 3, max_iter=1).fit(images)
    with pytest.raises(ValueError, match="`codes` must hold real floats"):
        model.decode(model.codes_.astype(complex))
    with pytest.raises(ValueError, match="`codes` contains NaN"):
        model.decode(np.full_like(model.codes_, np.nan))
    with pytest.raises(ValueError, match="`codes` must have shape"):
        model.objective(images, model.codes_[..., :-1])
    with pytest.raises(ValueError, match="`codes` must have shape"):
        model.decode(model.codes_.tolist()[0])


def test_learning_options_refuse_a_non_boolean_non_negative():
    with pytest.raises(ValueError, match="`non_negative`"):
        LearningOptions(non_negative="no")


def test_learn_dictionary_checks_callback_and_checkpoint(images):
    with pytest.raises(TypeError, match="`callback`"):
        learn_dictionary(images, n_filters=2, filter_size=3, callback="stop")
    with pytest.raises(TypeError, match="`checkpoint`"):
        learn_dictionary(images, n_filters=2, filter_size=3, checkpoint=3)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_write_gives_new_files_the_umask_mode(tmp_path, umask):
    previous = os.umask(umask)
    try:
        assert current_umask() == umask
        atomic_write(tmp_path / "out.bin", lambda path: open(path, "wb").close())
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / "out.bin").st_mode & 0o777 == 0o666 & ~umask
