"""The per-chunk steps and tasks, without Dask: a chunk of several groups, pure tasks."""

import copy

import numpy as np
import pytest

from csc import LearningOptions
from csc.chunk import (
    Chunk,
    chunk_dictionary_iteration,
    chunk_terms,
    code_chunk,
    coding_step,
    new_chunk,
)
from csc.coding import CodingState, admm_sparse_code, objective_terms
from csc.dictionary import admm_dictionary_update, group_bounds, group_penalties, image_groups
from csc.fourier import crop_filters, pad_filters, spectra
from csc.prox import project_filters
from csc.state import DictionaryState

from .helpers import dictionary_problem

S = 4


def problem(seed=0):
    signal, weights, codes, state, support = dictionary_problem(seed, n_images=5, size=12,
                                                                n_filters=3, s=S)
    return signal, weights, codes, state.filters, support


def chunks_of(signal, weights, codes, parts):
    """One Chunk per run of groups, holding ``codes``."""
    chunks = []
    for part in parts:
        span = slice(part[0].start, part[-1].stop)
        coding = CodingState(np.zeros_like(signal[span]), np.zeros_like(signal[span]),
                             codes[span], np.zeros_like(codes[span]))
        dictionary = DictionaryState(np.zeros_like(signal[span]), np.zeros_like(signal[span]),
                                     None)
        chunks.append(Chunk(signal[span], weights[span], tuple(group_bounds(part)), coding,
                            dictionary))
    return chunks


def test_chunks_of_several_groups_give_the_in_process_dictionary_step():
    # 5 images in groups of 2, 1 and 2; a chunk of the first two groups and one of the third,
    # combined as the Dask driver combines them, against the in-process step on all groups
    signal, weights, codes, filters, support = problem()
    rho_data, rho_filter, relaxation, n_iter = 1.0, 5.0, 1.8, 6
    groups = image_groups(5, 2)
    parts = [groups[:2], groups[2:]]
    chunks = chunks_of(signal, weights, codes, parts)
    rho = group_penalties(groups, rho_filter)
    rho_groups = [rho[:2], rho[2:]]
    chunk_rho = [sum(rhos) for rhos in rho_groups]
    G = filters
    for t in range(n_iter):
        before = copy.deepcopy(chunks)
        results = [chunk_dictionary_iteration(chunk, crop_filters(G, S), first=t == 0,
                                              rho_data=rho_data, rho_groups=rhos,
                                              relaxation=relaxation)
                   for chunk, rhos in zip(chunks, rho_groups, strict=True)]
        assert_same(before, chunks)  # a task changes none of its inputs
        chunks = [chunk for chunk, _ in results]
        assert all(chunk.factors is not None for chunk in chunks)  # kept for the whole step
        average = sum(rho / sum(chunk_rho) * window
                      for rho, (_, window) in zip(chunk_rho, results, strict=True))
        G = project_filters(pad_filters(average, signal.shape[-2:], xp=np), support, xp=np)
    reference = admm_dictionary_update(
        signal, weights, codes, DictionaryState(np.zeros_like(signal), np.zeros_like(signal),
                                                filters),
        support, rho_data=rho_data, rho_filter=rho_filter, max_iter=n_iter,
        relaxation=relaxation, group_size=2, xp=np)
    np.testing.assert_allclose(G, reference.filters, atol=1e-12)
    for name in ("split", "split_dual"):
        np.testing.assert_allclose(np.concatenate([getattr(c.dictionary, name) for c in chunks]),
                                   getattr(reference, name), atol=1e-12)
    duals = np.concatenate([c.dictionary.filters_dual for c in chunks]) - spectra(G, xp=np)
    assert duals.shape == reference.filters_dual.shape == (3, 3, 1, 15, 8)  # one per group
    np.testing.assert_allclose(duals, reference.filters_dual, atol=1e-10)


def assert_same(old, new):
    if isinstance(old, np.ndarray):
        np.testing.assert_array_equal(old, new)
    elif isinstance(old, list | tuple):
        for a, b in zip(old, new, strict=True):
            assert_same(a, b)
    elif hasattr(old, "__dataclass_fields__"):
        for name in old.__dataclass_fields__:
            assert_same(getattr(old, name), getattr(new, name))
    else:
        assert old == new


def test_code_chunk_is_the_coding_step_and_leaves_its_inputs_unchanged():
    signal, weights, codes, filters, _ = problem(1)
    options = LearningOptions(sparsity_weight=0.3, coding_iter=4)
    groups = image_groups(5, 2)
    chunk = chunks_of(signal, weights, codes, [groups])[0]
    before = copy.deepcopy(chunk)
    new, (data, l1, nnz, size) = code_chunk(chunk, None, crop_filters(filters, S), units=None,
                                            options=options, filter_size=S)
    assert_same(before, chunk)
    coding, terms = coding_step(signal, weights, spectra(filters, xp=np), chunk.coding, options,
                                filter_size=S, xp=np)
    np.testing.assert_array_equal(new.coding.codes, coding.codes)
    assert (data, l1) == pytest.approx(terms, rel=1e-12)
    assert new.anchor_codes is chunk.coding.codes
    assert nnz == np.count_nonzero(coding.codes) and size == codes.size
    expected = admm_sparse_code(signal, weights, spectra(filters, xp=np),
                                **options.coding_arguments(), state=chunk.coding, xp=np)
    np.testing.assert_allclose(coding.codes, expected.coefficients, atol=1e-12)
    assert terms == pytest.approx(objective_terms(signal, weights, spectra(filters, xp=np),
                                                  expected.coefficients, sparsity_weight=0.3,
                                                  xp=np), rel=1e-10)
    assert chunk_terms(new, crop_filters(filters, S), 0.3)[:2] == pytest.approx(terms, rel=1e-10)


def test_new_chunk_holds_the_padded_images_and_zero_state():
    images = np.random.default_rng(2).random((3, 10, 10))
    chunk, (shape, dtype, sum_of_squares) = new_chunk(images, None, bounds=[0, 2, 3],
                                                      filter_size=S, channel_axis=None,
                                                      n_filters=2)
    assert chunk.signal.shape == shape == (3, 1, 13, 13) and chunk.bounds == (0, 2, 3)
    assert dtype == np.float64 and sum_of_squares == pytest.approx(np.sum(images ** 2))
    assert chunk.coding.codes.shape == (3, 2, 13, 13) and not chunk.coding.codes.any()
    assert chunk.dictionary.filters is None and chunk.anchor_codes is None
    assert chunk.factors is None
