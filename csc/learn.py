"""Convolutional dictionary learning as a function: :func:`learn_dictionary` and its loop.

:func:`learn_dictionary` is the functional form of :class:`csc.ConvolutionalDictionary` (as
scikit-learn's ``dict_learning`` is of ``DictionaryLearning``): it takes images like ``fit``,
validates everything once (:class:`csc.options.LearningOptions` validates the solver options
when built), chooses where the fit runs (in this process, or for a ``dask.array.Array`` on the
active ``distributed.Client``'s workers, :mod:`csc.distributed`), and in process runs
:func:`alternating_minimization`, the kernel loop on the padded channels-first arrays (the steps
of :mod:`csc.chunk` on one chunk of every image).
"""

import os
import time
from dataclasses import replace

from .backend import check_memory, is_dask_array
from .chunk import coding_step
from .coding import CodingState, objective_terms
from .coupling import couple_dictionary
from .dictionary import admm_dictionary_update, image_groups
from .fourier import crop_filters, pad_filters, spectra
from .images import prepare_signal
from .options import LEARNING_COPIES, LearningOptions
from .outer_loop import (
    accept_iteration,
    fingerprint,
    initial_dictionary,
    iteration_hook,
    progress_bar,
    sum_of_squares,
)
from .prox import filter_support_mask, project_filters
from .state import (
    DictionaryState,
    LearnedDictionary,
    LearningState,
    load_state,
    nnz_fraction,
    record,
    save_state,
)
from .validation import check_bool, check_callable, check_int, check_random_state

__all__ = ["learn_dictionary", "alternating_minimization"]


def learn_dictionary(images, mask=None, *, n_filters=100, filter_size=11, options=None,
                     channel_axis=None, initial_filters=None, random_state=None, checkpoint=None,
                     progress=False, callback=None):
    """Learn convolutional filters from images (the functional form of ``fit``).

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W), (H, W), or with a colour axis
        NumPy or CuPy; float32/float64 kept, integers scaled by :func:`csc.images.as_float`.
        A ``dask.array.Array`` (image axis first) is learned from on the active
        ``distributed.Client``'s workers (:func:`csc.distributed.learn_dictionary_distributed`);
        without a client it is computed and learned from in this process.
    mask : ndarray of the images' shape (or without the colour axis), or None
        1 (True) where a pixel is observed, 0 where it is missing.
    n_filters, filter_size : int
    options : LearningOptions or None
        Solver options; the defaults when None.
    channel_axis, initial_filters, random_state, checkpoint, progress, callback
        As in :class:`csc.ConvolutionalDictionary`.

    Returns
    -------
    LearnedDictionary
        Its ``codes`` have the images' array type: NumPy or CuPy, or for a dask array a dask
        array (one chunk per group of the dictionary step), with or without a client.

    Raises
    ------
    ValueError
        Invalid images, mask or parameters, naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from csc import LearningOptions, learn_dictionary
    >>> images = np.random.default_rng(0).standard_normal((2, 24, 24)).astype(np.float32)
    >>> result = learn_dictionary(images, n_filters=4, filter_size=5, random_state=0,
    ...                           options=LearningOptions(max_iter=3))
    >>> result.filters.shape, result.codes.shape, len(result.history["objective"])
    ((4, 5, 5), (2, 4, 28, 28), 4)
    """
    options = LearningOptions() if options is None else options
    if not isinstance(options, LearningOptions):
        raise TypeError(f"`options` must be a LearningOptions, got {type(options).__name__}")
    check_int("n_filters", n_filters, 1)
    check_int("filter_size", filter_size, 1)
    check_random_state("random_state", random_state)
    check_callable("callback", callback)
    check_bool("progress", progress)
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise TypeError(f"`checkpoint` must be None or a path, got {checkpoint!r}")
    arguments = dict(n_filters=n_filters, filter_size=filter_size, options=options,
                     channel_axis=channel_axis, initial_filters=initial_filters,
                     random_state=random_state, checkpoint=checkpoint, progress=progress,
                     callback=callback)
    if not is_dask_array(images):
        return _learn_in_process(images, mask, **arguments)
    from . import distributed

    distributed.check_image_axis(images, mask)
    client = distributed.active_client()
    if client is not None:
        return distributed.learn_dictionary_distributed(images, mask, client=client,
                                                        **arguments)
    result = _learn_in_process(images.compute(),
                               mask.compute() if is_dask_array(mask) else mask, **arguments)
    n_images = result.codes.shape[0]
    groups = image_groups(n_images, options.images_per_group or n_images)
    return replace(result, codes=distributed.codes_as_dask_array(result.codes, groups))


def _learn_in_process(images, mask, *, n_filters, filter_size, options, channel_axis,
                      initial_filters, random_state, checkpoint, progress, callback):
    """:func:`learn_dictionary` of NumPy or CuPy images (validated options)."""
    signal, weights, xp = prepare_signal(images, mask, filter_size=filter_size,
                                         channel_axis=channel_axis)
    options.check_precision(signal.dtype)
    n_images, n_channels = signal.shape[:2]
    check_memory("n_filters", n_filters, (max(n_images, n_channels), n_filters) + signal.shape[2:],
                 signal.dtype, copies=LEARNING_COPIES, xp=xp)
    initial = initial_dictionary(n_filters, filter_size, n_channels, initial_filters=initial_filters,
                                 random_state=random_state)
    key = fingerprint(signal.shape, signal.dtype, sum_of_squares(signal), n_filters, filter_size,
                      options, channel_axis, random_state) if checkpoint else None
    state = load_state(checkpoint, fingerprint=key, xp=xp) if checkpoint else None
    bar = progress_bar(options, state.iteration if state else 0) if progress else None

    def save(current):
        save_state(checkpoint, current, fingerprint=key)

    after_iteration = iteration_hook(bar=bar, save=save if checkpoint else None,
                                     callback=callback)
    try:
        state = alternating_minimization(signal, weights, xp.asarray(initial.astype(signal.dtype)),
                                         options, state=state, callback=after_iteration,
                                         progress=bar, xp=xp)
    finally:
        if bar is not None:
            bar.close()
    filters = crop_filters(state.dictionary.filters, filter_size)
    return LearnedDictionary(filters[:, 0] if channel_axis is None else filters,
                             state.coding.codes, state.iteration,
                             {name: list(values) for name, values in state.history.items()},
                             n_channels)


def alternating_minimization(signal, weights, initial_filters, options, *, state=None,
                             callback=None, progress=None, xp):
    """Alternate ADMM dictionary and coding steps (kernel: inputs are valid).

    Each outer iteration runs a dictionary step, the CoGD coupling (when
    ``options.optimizer == 'cogd'``), then a coding step, and evaluates the objective. The
    iteration is accepted when the objective did not increase; otherwise the state after the
    dictionary step (old codes, new filters) is tried, and failing that the previous filters and
    codes are restored (the ADMM splits and duals keep their progress), so the objective of the
    accepted iterates never increases (SPEC 1.3). The history records the wall time of each
    step (on CuPy, kernel launches are asynchronous: the step times are only indicative).

    Parameters
    ----------
    signal : ndarray of shape (n_images, n_channels, Hp, Wp)
        Padded signal.
    weights : ndarray of shape (n_images, n_channels, Hp, Wp)
        Data weights: 1 observed, 0 missing and on the padding.
    initial_filters : ndarray of shape (n_filters, n_channels, s, s)
    options : LearningOptions
    state : LearningState or None
        Resume from this state.
    callback : callable(LearningState) -> bool or None
        Called after every outer iteration; returning True stops.
    progress : object with ``update(n)`` or None
        A progress bar.

    Returns
    -------
    LearningState
    """
    grid = signal.shape[-2:]
    n_images, n_channels = signal.shape[:2]
    n_filters, _, filter_size, _ = initial_filters.shape
    support = filter_support_mask(grid, filter_size, dtype=signal.dtype, xp=xp)
    lam = options.sparsity_weight
    if state is None:
        filters = project_filters(pad_filters(initial_filters, grid, xp=xp), support, xp=xp)
        coding = CodingState.zeros(n_images, n_channels, n_filters, grid, dtype=signal.dtype,
                                   xp=xp)
        state = LearningState(coding, DictionaryState(xp.zeros_like(signal),
                                                      xp.zeros_like(signal), filters))
        terms = objective_terms(signal, weights, spectra(filters, xp=xp), coding.codes,
                                sparsity_weight=lam, xp=xp)
        record(state.history, terms, nnz_fraction(coding.codes), seconds=0.0, accepted=True,
               n_backtracked=0, step_seconds=(0.0, 0.0, 0.0))
        state.best_objective = state.history["objective"][-1]
    start = time.perf_counter() - state.history["seconds"][-1]
    while state.iteration < options.max_iter:
        state.iteration += 1
        codes, filters = state.coding.codes, state.dictionary.filters
        clock = time.perf_counter()
        if xp.any(codes):
            state.dictionary = admm_dictionary_update(
                signal, weights, codes, state.dictionary, support,
                rho_data=options.dictionary_penalty[0], rho_filter=options.dictionary_penalty[1],
                max_iter=options.dictionary_iter, relaxation=options.relaxation,
                group_size=options.images_per_group, xp=xp,
            )
        updated_filters = state.dictionary.filters
        dictionary_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        n_backtracked = 0
        if options.optimizer == "cogd" and state.anchor_codes is not None:
            coupled_filters, coupled_codes, n_backtracked = couple_dictionary(
                signal, weights, filters, updated_filters, state.anchor_codes, codes, support,
                rule=options.coupling, iteration=state.iteration, max_iter=options.max_iter,
                quantiles=options.coupling_quantiles, rate=options.backtrack_rate, xp=xp,
            )
            state.dictionary.filters = coupled_filters
            state.coding.codes = coupled_codes
        state.anchor_codes = codes if options.optimizer == "cogd" else None  # the rule's anchor
        coupling_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        state.coding, terms = coding_step(signal, weights, spectra(state.dictionary.filters, xp=xp),
                                          state.coding, options, filter_size=filter_size, xp=xp)
        coding_seconds = time.perf_counter() - clock

        def restore_codes(codes=codes, updated_filters=updated_filters):
            state.coding.codes = codes
            return objective_terms(signal, weights, spectra(updated_filters, xp=xp), codes,
                                   sparsity_weight=lam, xp=xp)

        accepted, kept, terms = accept_iteration(terms, state.best_objective, state.history,
                                                 restore_codes)
        if kept != "step":
            state.dictionary.filters = updated_filters if kept == "dictionary" else filters
        state.best_objective = min(state.best_objective, sum(terms))
        record(state.history, terms, nnz_fraction(state.coding.codes),
               seconds=time.perf_counter() - start, accepted=accepted, n_backtracked=n_backtracked,
               step_seconds=(dictionary_seconds, coupling_seconds, coding_seconds))
        if progress is not None:
            progress.update(1)
        if callback is not None and callback(state):
            break
    return state
