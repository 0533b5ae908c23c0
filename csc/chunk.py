"""One chunk of a fit: the per-image work of an outer iteration, for one or more image groups.

The images of a fit are split into the groups of the consensus dictionary step
(:func:`csc.dictionary.image_groups`). A *chunk* is a contiguous run of one or more groups with
everything that is per image: the padded signal and weights, the codes with the coding step's
splits and duals, the dictionary step's data split and dual, and the duals of its groups'
filter copies. As dask-glm runs one local update on every chunk of an array (a NumPy array
being one chunk), the in-process fit runs these functions on one chunk holding every group
(:func:`csc.dictionary.admm_dictionary_update`,
:func:`csc.learn.alternating_minimization`) and a Dask fit (:mod:`csc.distributed`) applies them
to the chunk each worker holds, its driver (:mod:`csc.driver`) combining what they return.

- The steps work on spectra (kernels: the caller validates): :func:`dictionary_factors` and
  :func:`dictionary_iteration` (the dictionary step), :func:`coding_step`, and
  :func:`encode_signal` (the coding of ``encode``, one block of images).
- The tasks work on a :class:`Chunk` and on the ``s x s`` windows of the filters (what travels
  to a worker): each is a step with the transforms between windows and spectra around it, and
  none changes its inputs, so that a chunk lost with its worker is built again by replaying
  them.

The steps take NumPy or CuPy arrays, the tasks NumPy chunks (a Dask fit's). No dask import:
everything here runs, and is tested, without a cluster.
"""

from dataclasses import dataclass, replace

import numpy as np

from ._kernels import consensus_filter_step, gram
from .backend import float_dtype
from .coding import CodingState, admm_sparse_code, objective_terms
from .coupling import backtrack_codes, code_change_squares, reference_statistics
from .fourier import crop_filters, pad_filters, spatial, spectra
from .images import prepare_signal
from .linalg import capacitance_inverse
from .outer_loop import sum_of_squares
from .prox import data_split_update
from .state import DictionaryState, LearningState, state_to_arrays

__all__ = [
    "DictionaryFactors", "dictionary_factors", "dictionary_iteration", "coding_step",
    "filter_spectra", "encode_signal",
    "Chunk", "new_chunk", "chunk_terms", "chunk_dictionary_iteration", "chunk_coupling_statistics",
    "chunk_code_change", "code_chunk", "reject_coding_step", "chunk_state_arrays",
]


# -- the steps ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DictionaryFactors:
    """What every inner iteration of one dictionary step reuses, for the groups of a chunk.

    Attributes
    ----------
    codes_hat : ndarray of shape (m, n_filters, Hp, Wq)
    codes_gram, inverse : ndarrays of shape (n_groups, size, size, Hp, Wq)
        Each group's Gram matrix of its codes and capacitance inverse, stacked with zero
        padding: group ``g`` in ``[g, :m_g, :m_g]``, ``size`` the largest group.
    masked_signal : ndarray of shape (m, n_channels, Hp, Wp)
        ``W * S``.
    """

    codes_hat: object
    codes_gram: object
    inverse: object
    masked_signal: object


def dictionary_factors(signal, weights, codes, bounds, shifts, *, xp):
    """Factor the dictionary step of a chunk's groups for its codes (kernel).

    Parameters
    ----------
    signal, weights : ndarray of shape (m, n_channels, Hp, Wp)
    codes : ndarray of shape (m, n_filters, Hp, Wp)
    bounds : sequence of n_groups + 1 ints
        Boundaries of the groups along the image axis, from 0 to ``m``.
    shifts : sequence of n_groups floats
        Each group's capacitance shift ``rho_g / rho_data``.

    Returns
    -------
    DictionaryFactors
    """
    codes_hat = spectra(codes, xp=xp)
    starts, stops = bounds[:-1], bounds[1:]
    size = max(stop - start for start, stop in zip(starts, stops, strict=True))
    shape = (len(shifts), size, size) + codes_hat.shape[2:]
    codes_gram = xp.zeros(shape, dtype=codes_hat.dtype)
    inverse = xp.zeros(shape, dtype=codes_hat.dtype)
    for g, (start, stop, shift) in enumerate(zip(starts, stops, shifts, strict=True)):
        m = stop - start
        codes_gram[g, :m, :m] = gram(codes_hat[start:stop], xp=xp)
        inverse[g, :m, :m] = capacitance_inverse(codes_gram[g, :m, :m], shift, xp=xp)
    return DictionaryFactors(codes_hat, codes_gram, inverse, weights * signal)


def dictionary_iteration(weights, factors, split, split_dual, duals_hat, filters_hat, *, bounds,
                         rho_data, rho_groups, relaxation, xp):
    """One inner iteration of the consensus dictionary step on a chunk (kernel).

    Every group's relaxed filter step, which updates the dual of its filter copy to
    ``U_g + relaxation d_g + (1 - relaxation) G`` in place
    (:func:`csc._kernels.consensus_filter_step`), then the data split ``Y1 ~ X d`` and its dual
    (:func:`csc.prox.data_split_update`). The consensus correction ``U_g -= G`` with the next
    projected filters ``G`` is the caller's, as ``G`` projects the average over every chunk.

    Parameters
    ----------
    weights : ndarray of shape (m, n_channels, Hp, Wp)
    factors : DictionaryFactors
        Of the chunk's codes.
    split, split_dual : ndarrays of shape (m, n_channels, Hp, Wp)
        ``Y1`` and its scaled dual (not changed).
    duals_hat : ndarray of shape (n_groups, n_filters, n_channels, Hp, Wq), C-contiguous
        Spectra of the scaled duals ``U_g`` of the groups' filter copies; overwritten.
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
        Spectrum of the projected filters ``G``.
    bounds : sequence of n_groups + 1 ints
        As in :func:`dictionary_factors`.
    rho_data : float
    rho_groups : sequence of n_groups floats
        Each group's filter penalty ``rho_g``.
    relaxation : float

    Returns
    -------
    split, split_dual : new ndarrays
    average_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
        ``sum_g rho_g U_g / sum_g rho_g`` over the chunk's groups.
    """
    average_hat, Xd_hat = consensus_filter_step(
        factors.codes_hat, spectra(split - split_dual, xp=xp), filters_hat, duals_hat,
        factors.inverse, codes_gram=factors.codes_gram, bounds=bounds, rho_data=rho_data,
        rho_filter=rho_groups, relaxation=relaxation, xp=xp)
    split, split_dual = data_split_update(spatial(Xd_hat, split.shape[-2:], xp=xp), split,
                                          split_dual, factors.masked_signal, weights,
                                          rho=rho_data, relaxation=relaxation, xp=xp)
    return split, split_dual, average_hat


def coding_step(signal, weights, filters_hat, coding, options, *, filter_size, xp):
    """The coding step of an outer iteration on a chunk, and the objective of its codes (kernel).

    Parameters
    ----------
    signal, weights : ndarray of shape (m, n_channels, Hp, Wp)
    filters_hat : ndarray of shape (n_filters, n_channels, Hp, Wq)
    coding : CodingState
        Warm start (not changed).
    options : LearningOptions
        :meth:`csc.options.LearningOptions.coding_arguments` set the ADMM solver.
    filter_size : int

    Returns
    -------
    coding : CodingState
    terms : (float, float)
        Data and ``l1`` terms of the new codes (:func:`csc.coding.objective_terms`).
    """
    coded = admm_sparse_code(signal, weights, filters_hat, **options.coding_arguments(),
                             state=coding, filter_size=filter_size, xp=xp)
    terms = objective_terms(signal, weights, filters_hat, coded.state.codes,
                            sparsity_weight=options.sparsity_weight,
                            reconstruction=coded.reconstruction, xp=xp)
    return coded.state, terms


def filter_spectra(filters, grid, dtype, *, xp):
    """Spectra ``(n_filters, n_channels, Hp, Wq)`` of filters ``(n_filters, s, s)`` (or with a
    channel axis) on the padded grid ``grid``, in the working float dtype of ``dtype``."""
    filters = xp.asarray(filters).astype(float_dtype(dtype))
    filters = filters[:, None] if filters.ndim == 3 else filters
    return spectra(pad_filters(filters, grid, xp=xp), xp=xp)


def encode_signal(signal, weights, filters, options, *, max_iter, xp):
    """Codes of a padded signal with fixed filters by ADMM (what ``encode`` runs).

    Parameters
    ----------
    signal, weights : ndarray of shape (n_images, n_channels, Hp, Wp)
        From :func:`csc.images.prepare_signal`.
    filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    options : LearningOptions
    max_iter : int

    Returns
    -------
    ndarray of shape (n_images, n_filters, Hp, Wp)
    """
    return admm_sparse_code(
        signal, weights, filter_spectra(filters, signal.shape[-2:], signal.dtype, xp=xp),
        **options.coding_arguments(max_iter), filter_size=filters.shape[-1], xp=xp,
    ).coefficients


# -- the tasks of a Dask fit -------------------------------------------------------------------
@dataclass(frozen=True)
class Chunk:
    """A chunk's share of a :class:`csc.state.LearningState` (padded, channels first).

    Attributes
    ----------
    signal, weights : ndarray of shape (m, n_channels, Hp, Wp)
    bounds : tuple of int
        Boundaries of the chunk's groups along its image axis, from 0 to ``m``.
    coding : CodingState
        The chunk's codes, splits and duals.
    dictionary : DictionaryState
        Data split and dual of the dictionary step; ``filters`` is None (the driver holds
        them); ``filters_dual`` ``(n_groups, n_filters, n_channels, Hp, Wq)``: the duals of the
        groups' filter copies.
    anchor_codes : ndarray of shape (m, n_filters, Hp, Wp) or None
        The codes before the last coding step (the coupling's anchor, and the codes restored when
        the step is rejected).
    factors : DictionaryFactors or None
        Of the chunk's codes, during a dictionary step (None outside one).
    """

    signal: object
    weights: object
    bounds: tuple
    coding: CodingState
    dictionary: DictionaryState
    anchor_codes: object = None
    factors: object = None


def new_chunk(images, mask, *, bounds, filter_size, channel_axis, n_filters):
    """The chunk of ``images`` (the user's layout, image axis first) at the start of a fit, and
    its summary: shape, dtype and ``sum(signal ** 2)`` (float64) of its padded signal."""
    signal, weights, xp = prepare_signal(images, mask, filter_size=filter_size,
                                         channel_axis=channel_axis)
    n_images, n_channels = signal.shape[:2]
    coding = CodingState.zeros(n_images, n_channels, n_filters, signal.shape[-2:],
                               dtype=signal.dtype, xp=xp)
    chunk = Chunk(signal, weights, tuple(bounds), coding,
                  DictionaryState(xp.zeros_like(signal), xp.zeros_like(signal), None))
    return chunk, (signal.shape, signal.dtype, sum_of_squares(signal))


def _window_spectra(window, grid):
    return spectra(pad_filters(window, grid, xp=np), xp=np)


def chunk_terms(chunk, filters_window, sparsity_weight):
    """``(data, l1, nnz, size)``: objective terms and non-zero count of the chunk's codes."""
    codes = chunk.coding.codes
    data, l1 = objective_terms(chunk.signal, chunk.weights,
                               _window_spectra(filters_window, chunk.signal.shape[-2:]), codes,
                               sparsity_weight=sparsity_weight, xp=np)
    return data, l1, int(np.count_nonzero(codes)), codes.size


def chunk_dictionary_iteration(chunk, filters_window, *, first, rho_data, rho_groups,
                               relaxation):
    """One inner iteration of the dictionary step on a chunk (:func:`dictionary_iteration`).

    The first iteration of a step factors it for the chunk's codes (:func:`dictionary_factors`,
    kept in the chunk for the others); the others first apply the consensus correction
    ``U_g -= G`` of the previous iteration (:func:`code_chunk` applies the last one of a step),
    with ``G`` the filters of ``filters_window``.

    Returns
    -------
    chunk : Chunk
        With the new data split and duals and the step's factors.
    window : ndarray of the shape of ``filters_window``
        The ``s x s`` window of the chunk's ``rho_g``-weighted average of its groups' duals (its
        consensus term).
    """
    grid = chunk.signal.shape[-2:]
    filters_hat = _window_spectra(filters_window, grid)
    factors = chunk.factors
    if first:
        factors = dictionary_factors(chunk.signal, chunk.weights, chunk.coding.codes,
                                     chunk.bounds, [rho / rho_data for rho in rho_groups], xp=np)
    duals = chunk.dictionary.filters_dual
    if duals is None:
        duals = np.zeros((len(chunk.bounds) - 1,) + filters_hat.shape, dtype=filters_hat.dtype)
    duals = duals - filters_hat if not first else duals.copy()  # a new array: inputs unchanged
    split, split_dual, average_hat = dictionary_iteration(
        chunk.weights, factors, chunk.dictionary.split, chunk.dictionary.split_dual, duals,
        filters_hat, bounds=chunk.bounds, rho_data=rho_data, rho_groups=rho_groups,
        relaxation=relaxation, xp=np)
    window = crop_filters(spatial(average_hat, grid, xp=np), filters_window.shape[-1])
    return replace(chunk, dictionary=DictionaryState(split, split_dual, None, duals),
                   factors=factors), window


def chunk_coupling_statistics(chunk, rule, updated_window):
    """The chunk's sums over images for the coupling ``rule`` (:mod:`csc.coupling`)."""
    codes = chunk.coding.codes
    if rule == "filter":
        return np.sum(np.abs(codes), axis=(0, 2, 3))
    grid = chunk.signal.shape[-2:]
    return reference_statistics(chunk.signal, chunk.weights,
                                pad_filters(updated_window, grid, xp=np), codes, xp=np)


def chunk_code_change(chunk, positions):
    """:func:`csc.coupling.code_change_squares` of the chunk's codes since its anchor."""
    return code_change_squares(chunk.coding.codes, chunk.anchor_codes, positions, xp=np)


def code_chunk(chunk, final_window, filters_window, *, units, options, filter_size):
    """Finish the dictionary step, apply the coupling to the codes, run the coding step.

    ``final_window``: the filters after the dictionary step (their consensus correction), or
    None when the step did not run; ``units``: the filters flagged by the per-filter coupling
    rule, or None; ``filters_window``: the filters to code with.

    Returns
    -------
    chunk : Chunk
        Its anchor is the codes before this step; no factors.
    (data, l1, nnz, size)
        Objective terms and non-zero count of the new codes.
    """
    grid = chunk.signal.shape[-2:]
    dictionary = chunk.dictionary
    if final_window is not None:  # the last dual update of the dictionary step
        dictionary = replace(dictionary, filters_dual=dictionary.filters_dual
                             - _window_spectra(final_window, grid))
    codes = chunk.coding.codes
    coding = chunk.coding
    if units is not None:
        coding = replace(coding, codes=backtrack_codes(codes, chunk.anchor_codes, units,
                                                       rate=options.backtrack_rate, xp=np))
    coding, (data, l1) = coding_step(chunk.signal, chunk.weights,
                                     _window_spectra(filters_window, grid), coding, options,
                                     filter_size=filter_size, xp=np)
    new = replace(chunk, coding=coding, dictionary=dictionary, anchor_codes=codes, factors=None)
    return new, (data, l1, int(np.count_nonzero(coding.codes)), codes.size)


def reject_coding_step(chunk, filters_window, sparsity_weight):
    """The chunk after a rejected coding step (its codes back to the anchor), and
    :func:`chunk_terms` of those codes with the filters of ``filters_window``."""
    new = replace(chunk, coding=replace(chunk.coding, codes=chunk.anchor_codes))
    return new, chunk_terms(new, filters_window, sparsity_weight)


def chunk_state_arrays(chunk, *, anchor):
    """The checkpoint arrays of the chunk's share of the state (:func:`csc.state.state_to_arrays`;
    with its anchor codes when ``anchor``)."""
    share = LearningState(chunk.coding, chunk.dictionary, chunk.anchor_codes if anchor else None)
    return state_to_arrays(share)[0]
