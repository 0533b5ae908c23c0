"""Dictionary learning and sparse coding on Dask: each group of images stays on one worker.

:func:`learn_dictionary_distributed` runs the outer loop of :func:`csc.learn.alternating_minimization`
on a ``distributed`` cluster. The images are split into the groups of the consensus dictionary
step (:func:`csc.dictionary.image_groups`, at most ``group_size`` images each); a group's images,
codes, ADMM splits and duals and its filter copy's dual live on one worker for the whole fit. The
driver keeps the filters and the history. What travels, per outer iteration:

- to the workers: the filters' ``s x s`` windows, once per inner iteration of the dictionary step
  and once for the coding step (and the coupling's flagged units or positions);
- back: per inner iteration of the dictionary step, each group's consensus term (the ``s x s``
  window of its ``rho_g``-weighted filter copy plus dual); per outer iteration a few numbers per
  group (objective terms, non-zero count), and for ``optimizer='cogd'`` the coupling's sums over
  images (per-filter ``l1`` masses, or for the reference rule the image-summed codes).

The arithmetic is that of the in-process fit, group by group, so a distributed fit equals the
in-process fit of the same images up to the order of floating-point sums (tested: filters within
1e-6 relative in float64, the same objective history), whatever the chunking of the array or the
number of workers.

A lost worker loses nothing: every task is a pure function of its group's previous state and of
small constants the driver submits as tasks of their own, so the scheduler recomputes a lost
group from its lineage (from the start of the fit, or from the resumed checkpoint) and the fit
ends with the same result. Each task computes on one thread (:func:`csc.backend.limit_threads`):
the parallelism comes from the workers.

:func:`encode_distributed` codes a ``dask.array.Array`` block by block (lazily, a dask array).
"""

import operator
import time
from dataclasses import dataclass, replace

import numpy as np

from ._kernels import consensus_filter_step, gram
from .backend import float_dtype, is_dask_array, limit_threads
from .coding import CodingState, admm_sparse_code, objective_terms
from .coupling import (
    backtrack,
    backtrack_codes,
    code_change_squares,
    filter_units,
    reference_positions,
    reference_statistics,
    reference_update,
)
from .dictionary import DictionaryState, image_groups
from .fourier import crop_filters, pad_filters, spatial, spectra
from .images import prepare_signal
from .learn import (
    HISTORY_KEYS,
    LearnedDictionary,
    LearningState,
    _state_from_arrays,
    _state_to_arrays,
    accept_iteration,
    encode_signal,
    fingerprint,
    initial_dictionary,
    iteration_hook,
    learn_dictionary,
    load_checkpoint,
    progress_bar,
    record,
    save_checkpoint,
    sum_of_squares,
)
from .linalg import capacitance_inverse
from .prox import filter_support_mask, masked_data_prox, project_filters

__all__ = ["active_client", "learn_dictionary_distributed",
           "encode_distributed"]


def active_client():
    """The current ``distributed.Client``, or None (no client, or distributed not installed)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


# -- one group of images, on its worker --------------------------------------------------------
@dataclass
class GroupState:
    """One group's part of :class:`csc.learn.LearningState` (padded, channels first).

    Attributes
    ----------
    signal, weights : ndarray of shape (m, n_channels, Hp, Wp)
    coding : CodingState
        The group's codes, splits and duals.
    dictionary : DictionaryState
        Data split and dual of the dictionary step; ``filters`` is None (the driver holds them);
        ``filters_dual`` ``(1, n_filters, n_channels, Hp, Wq)``: the dual of the group's copy.
    anchor_codes : ndarray of shape (m, n_filters, Hp, Wp) or None
        The codes before the last coding step (the coupling's anchor, and the codes restored when
        the step is rejected).
    """

    signal: object
    weights: object
    coding: CodingState
    dictionary: DictionaryState
    anchor_codes: object = None


def _group_from_images(images, mask, *, filter_size, channel_axis, n_filters):
    with limit_threads(1):
        signal, weights, xp = prepare_signal(images, mask, filter_size=filter_size,
                                             channel_axis=channel_axis)
        n_images, n_channels = signal.shape[:2]
        coding = CodingState.zeros(n_images, n_channels, n_filters, signal.shape[-2:],
                                   dtype=signal.dtype, xp=xp)
        return GroupState(signal, weights, coding,
                          DictionaryState(xp.zeros_like(signal), xp.zeros_like(signal), None))


def _group_summary(group):
    """Shape, dtype and ``sum(signal ** 2)`` (float64) of a group."""
    return group.signal.shape, group.signal.dtype, sum_of_squares(group.signal)


def _padded_spectra(window, grid):
    return spectra(pad_filters(window, grid, xp=np), xp=np)


def _group_terms(group, filters_window, sparsity_weight):
    """Objective terms and non-zero count of the group's codes."""
    with limit_threads(1):
        codes = group.coding.codes
        data, l1 = objective_terms(group.signal, group.weights,
                                   _padded_spectra(filters_window, group.signal.shape[-2:]),
                                   codes, sparsity_weight=sparsity_weight, xp=np)
        return data, l1, int(np.count_nonzero(codes)), codes.size


def _dictionary_factors(group, *, rho_shift):
    """Code spectra, Gram matrix, capacitance inverse and masked signal of the group (what one
    dictionary step reuses at every inner iteration)."""
    with limit_threads(1):
        codes_hat = spectra(group.coding.codes, xp=np)
        codes_gram = gram(codes_hat, xp=np)[None]
        inverse = capacitance_inverse(codes_gram[0], rho_shift, xp=np)[None]
        return codes_hat, codes_gram, inverse, group.weights * group.signal


def _dictionary_iteration(group, dictionary, factors, filters_window, *, first, rho_data,
                          rho_group, relaxation):
    """One inner iteration of the consensus dictionary step for one group.

    The loop of :func:`csc.dictionary.admm_dictionary_update` with the group's share: the dual
    update ``U_g -= G`` of the previous iteration (unless ``first``), the group's filter step,
    and the data split. Returns the new state and the window of ``U_g`` (the consensus term).
    """
    with limit_threads(1):
        codes_hat, codes_gram, inverse, masked_signal = factors
        grid = group.signal.shape[-2:]
        filters_hat = _padded_spectra(filters_window, grid)
        duals = dictionary.filters_dual
        if duals is None:
            duals = np.zeros((1,) + filters_hat.shape, dtype=filters_hat.dtype)
        duals = duals - filters_hat if not first else duals.copy()
        Y1, U1 = dictionary.split, dictionary.split_dual
        m = group.signal.shape[0]
        average_hat, Xd_hat = consensus_filter_step(
            codes_hat, spectra(Y1 - U1, xp=np), filters_hat, duals, inverse,
            codes_gram=codes_gram, bounds=[0, m], rho_data=rho_data, rho_filter=[rho_group],
            relaxation=relaxation, xp=np)
        Xd_relaxed = relaxation * spatial(Xd_hat, grid, xp=np) + (1 - relaxation) * Y1
        Y1 = masked_data_prox(Xd_relaxed + U1, masked_signal, group.weights, rho_data, xp=np)
        U1 = U1 + Xd_relaxed - Y1
        window = crop_filters(spatial(average_hat, grid, xp=np), filters_window.shape[-1])
        return DictionaryState(Y1, U1, None, duals), window


def _coupling_statistics(group, rule, updated_window):
    """The group's sums over images for the coupling rule."""
    with limit_threads(1):
        codes = group.coding.codes
        if rule == "filter":
            return np.sum(np.abs(codes), axis=(0, 2, 3))
        grid = group.signal.shape[-2:]
        return reference_statistics(group.signal, group.weights,
                                    pad_filters(updated_window, grid, xp=np), codes, xp=np)


def _code_change(group, positions):
    with limit_threads(1):
        return code_change_squares(group.coding.codes, group.anchor_codes, positions, xp=np)


def _code_group(group, dictionary, final_window, filters_window, *, units, options,
                filter_size):
    """Finish the dictionary step, apply the coupling to the codes, run the coding step.

    Returns the new group (its anchor: the codes before this step) and its objective terms and
    non-zero count.
    """
    with limit_threads(1):
        grid = group.signal.shape[-2:]
        if final_window is not None:  # the last dual update of the dictionary step
            dictionary = replace(dictionary, filters_dual=dictionary.filters_dual
                                 - _padded_spectra(final_window, grid))
        codes = group.coding.codes
        coding = group.coding
        if units is not None:
            coding = replace(coding, codes=backtrack_codes(codes, group.anchor_codes, units,
                                                           rate=options.backtrack_rate, xp=np))
        filters_hat = _padded_spectra(filters_window, grid)
        lam = options.sparsity_weight
        coded = admm_sparse_code(
            group.signal, group.weights, filters_hat, sparsity_weight=lam,
            rho_data=options.coding_penalty[0], rho_sparse=options.coding_penalty[1],
            max_iter=options.coding_iter, relaxation=options.relaxation,
            non_negative=options.non_negative, state=coding, filter_size=filter_size, xp=np)
        data, l1 = objective_terms(group.signal, group.weights, filters_hat,
                                   coded.state.codes, sparsity_weight=lam,
                                   reconstruction=coded.reconstruction, xp=np)
        new = GroupState(group.signal, group.weights, coded.state, dictionary, codes)
        return new, (data, l1, int(np.count_nonzero(coded.state.codes)), codes.size)


def _reject(group):
    """The group after a rejected coding step: its codes back to the anchor."""
    return replace(group, coding=replace(group.coding, codes=group.anchor_codes))


def _constant(value):
    return value


# -- the driver ----------------------------------------------------------------------------------
class _Cluster:
    """The driver's view of the groups' futures, with the few collective operations needed."""

    def __init__(self, client):
        self.client = client

    def submit(self, function, *args, **kwargs):
        return self.client.submit(function, *args, pure=False, **kwargs)

    def constant(self, value):
        """A small array as a task of its own: recomputable after a worker is lost."""
        return self.submit(_constant, value)

    def map(self, function, *iterables, **kwargs):
        return [self.submit(function, *args, **kwargs) for args in zip(*iterables, strict=True)]

    def split(self, futures):
        """``[(big, small)]`` futures -> (futures of the big parts, gathered small parts)."""
        big = [self.submit(operator.getitem, future, 0) for future in futures]
        small = self.client.gather([self.submit(operator.getitem, future, 1)
                                    for future in futures])
        return big, small


def learn_dictionary_distributed(images, mask=None, *, n_filters, filter_size, options,
                                 channel_axis=None, initial_filters=None, random_state=None,
                                 checkpoint=None, progress=False, callback=None, client=None):
    """:func:`csc.learn.learn_dictionary` on a Dask cluster (see the module docstring).

    Parameters
    ----------
    images : dask.array.Array of shape (n_images, H, W), or (n_images, ...) with a channel axis
        Any chunking; the groups are taken along the image axis.
    mask : dask.array.Array, ndarray or None
        As in :func:`csc.learn.learn_dictionary`, with the image axis.
    client : distributed.Client or None
        None: the active client; without one, the arrays are computed and the fit runs in this
        process.
    Other parameters
        As in :func:`csc.learn.learn_dictionary` (validated there). A callback receives a
        :class:`csc.learn.LearningState` whose ``coding`` is None and whose ``dictionary`` holds
        only the filters: the codes stay on the workers.

    Returns
    -------
    csc.learn.LearnedDictionary
        ``codes`` is a ``dask.array.Array`` backed by the workers' memory (one chunk per group).
    """
    client = client if client is not None else active_client()
    if images.ndim < 3:
        raise ValueError(f"`images` as a dask array must have an image axis first, "
                         f"(n_images, H, W[, channels]), got shape {images.shape}")
    if client is None:  # no cluster: compute the arrays and fit in this process
        mask = mask.compute() if is_dask_array(mask) else mask
        return learn_dictionary(
            images.compute(), mask, n_filters=n_filters, filter_size=filter_size,
            options=options, channel_axis=channel_axis, initial_filters=initial_filters,
            random_state=random_state, checkpoint=checkpoint, progress=progress,
            callback=callback)
    import dask
    import dask.array as da

    cluster = _Cluster(client)
    n_images = images.shape[0]
    if mask is not None and mask.shape[:1] != (n_images,):
        raise ValueError(f"`mask` must have the image axis of `images` first ({n_images}), "
                         f"got shape {mask.shape}")
    groups = image_groups(n_images, options.images_per_group or n_images)
    workers = sorted(client.scheduler_info()["workers"])
    if not workers:
        raise ValueError("the Dask client has no workers")
    blocks = client.compute([images[group] for group in groups])
    mask_blocks = ([None] * len(groups) if mask is None else
                   client.compute([da.asarray(mask)[group] for group in groups]))
    futures = [cluster.submit(_group_from_images, block, mask_block, filter_size=filter_size,
                              channel_axis=channel_axis, n_filters=n_filters,
                              workers=[workers[g % len(workers)]], allow_other_workers=True)
               for g, (block, mask_block) in enumerate(zip(blocks, mask_blocks, strict=True))]
    summaries = client.gather(cluster.map(_group_summary, futures))
    shape = (n_images,) + summaries[0][0][1:]
    dtype = summaries[0][1]
    options.check_precision(dtype)
    n_channels, grid = shape[1], shape[2:]
    key = fingerprint(shape, dtype, sum(s[2] for s in summaries), n_filters, filter_size,
                      options, channel_axis, random_state) if checkpoint else None
    driver = _Driver(cluster, futures, groups, options, filter_size, grid, dtype)
    stored = load_checkpoint(checkpoint, fingerprint=key) if checkpoint else None
    if stored is None:
        initial = initial_dictionary(n_filters, filter_size, n_channels,
                                     initial_filters=initial_filters, random_state=random_state)
        driver.start(initial.astype(dtype))
    else:
        driver.resume(*stored, path=checkpoint)
    bar = progress_bar(options, driver.iteration) if progress else None

    def save(_):
        arrays, meta = _state_to_arrays(driver.gather_state())
        save_checkpoint(checkpoint, arrays, fingerprint=key, meta=meta)

    after_iteration = iteration_hook(bar=bar, save=save if checkpoint else None,
                                     callback=callback)
    try:
        driver.run(after_iteration, bar)
    finally:
        if bar is not None:
            bar.close()
    filters = crop_filters(driver.filters, filter_size)
    code_shape = (n_filters,) + tuple(grid)
    codes = da.concatenate([
        da.from_delayed(dask.delayed(cluster.submit(_codes_of, future)),
                        shape=(group.stop - group.start,) + code_shape, dtype=dtype)
        for future, group in zip(driver.groups, groups, strict=True)])
    return LearnedDictionary(filters[:, 0] if channel_axis is None else filters, codes,
                             driver.iteration, driver.history, n_channels)


def _codes_of(group):
    return group.coding.codes


class _Driver:
    """The outer loop of :func:`csc.learn.alternating_minimization` over the groups' futures."""

    def __init__(self, cluster, groups, image_groups, options, filter_size, grid, dtype):
        self.cluster = cluster
        self.groups = groups
        self.dictionaries = None
        self.image_groups = image_groups
        n_images = image_groups[-1].stop
        rho_filter = options.dictionary_penalty[1]
        self.rho_groups = [rho_filter * (g.stop - g.start) / n_images for g in image_groups]
        self.options = options
        self.filter_size = filter_size
        self.grid = tuple(grid)
        self.dtype = np.dtype(dtype)
        self.support = filter_support_mask(grid, filter_size, dtype=dtype, xp=np)
        self.filters = None
        self.iteration = 0
        self.best_objective = float("inf")
        self.has_anchor = False
        self.history = {key: [] for key in HISTORY_KEYS}

    def window(self, filters):
        """The ``s x s`` windows of padded filters, in the working dtype (what the workers get)."""
        return np.ascontiguousarray(crop_filters(filters, self.filter_size), dtype=self.dtype)

    def start(self, initial_filters):
        self.filters = project_filters(pad_filters(initial_filters, self.grid, xp=np),
                                       self.support, xp=np)
        self.dictionaries = self.cluster.map(operator.attrgetter("dictionary"), self.groups)
        terms = self._terms(self.filters)
        record(self.history, terms[:2], terms[2], seconds=0.0, accepted=True, n_backtracked=0,
               step_seconds=(0.0, 0.0, 0.0))
        self.best_objective = self.history["objective"][-1]

    def _terms(self, filters):
        """Summed ``(data, l1, nnz fraction)`` of every group's codes with ``filters``."""
        window = self.cluster.constant(self.window(filters))
        parts = self.cluster.client.gather(self.cluster.map(
            _group_terms, self.groups, [window] * len(self.groups),
            sparsity_weight=self.options.sparsity_weight))
        return _add_terms(parts)

    def run(self, callback, bar):
        options = self.options
        start = time.perf_counter() - self.history["seconds"][-1]
        while self.iteration < options.max_iter:
            self.iteration += 1
            filters = self.filters
            clock = time.perf_counter()
            updated, final_window = filters, None
            if self.history["nnz"][-1] > 0:
                updated, final_window = self._dictionary_step(filters)
            dictionary_seconds, clock = time.perf_counter() - clock, time.perf_counter()
            coded_filters, units, n_backtracked = updated, None, 0
            if options.optimizer == "cogd" and self.has_anchor:
                coded_filters, units, n_backtracked = self._couple(filters, updated)
            coupling_seconds, clock = time.perf_counter() - clock, time.perf_counter()
            window = self.cluster.constant(self.window(coded_filters))
            results = self.cluster.map(
                _code_group, self.groups, self.dictionaries,
                [final_window] * len(self.groups), [window] * len(self.groups), units=units,
                options=options, filter_size=self.filter_size)
            self.groups, parts = self.cluster.split(results)
            self.dictionaries = self.cluster.map(operator.attrgetter("dictionary"), self.groups)
            self.has_anchor = True
            coding_seconds = time.perf_counter() - clock
            data, l1, nnz = _add_terms(parts)

            def reject_codes(updated=updated):
                self.groups = self.cluster.map(_reject, self.groups)
                return self._terms(updated)[:2]

            accepted, kept, terms = accept_iteration((data, l1), self.best_objective,
                                                     self.history, reject_codes)
            self.filters = {"step": coded_filters, "dictionary": updated,
                            "previous": filters}[kept]
            if not accepted:  # the codes are those of the previous iterate again
                nnz = self.history["nnz"][-1]
            self.best_objective = min(self.best_objective, sum(terms))
            record(self.history, terms, nnz, seconds=time.perf_counter() - start,
                   accepted=accepted, n_backtracked=n_backtracked,
                   step_seconds=(dictionary_seconds, coupling_seconds, coding_seconds))
            if bar is not None:
                bar.update(1)
            if callback(self.callback_state()):
                break

    def _dictionary_step(self, filters):
        """Consensus ADMM over the groups; returns the new filters and the last ``G`` window."""
        options, cluster = self.options, self.cluster
        rho_data = options.dictionary_penalty[0]
        factors = [cluster.submit(_dictionary_factors, group, rho_shift=rho / rho_data)
                   for group, rho in zip(self.groups, self.rho_groups, strict=True)]
        # Python floats: a NumPy float64 weight would promote float32 windows to float64
        weights = [rho / sum(self.rho_groups) for rho in self.rho_groups]
        G = filters
        dictionaries = self.dictionaries
        for t in range(options.dictionary_iter):
            window = cluster.constant(self.window(G))
            results = [cluster.submit(_dictionary_iteration, group, dictionary, factor, window,
                                      first=t == 0, rho_data=rho_data, rho_group=rho,
                                      relaxation=options.relaxation)
                       for group, dictionary, factor, rho in zip(
                           self.groups, dictionaries, factors, self.rho_groups, strict=True)]
            dictionaries, windows = cluster.split(results)
            average = sum(w * term for w, term in zip(weights, windows, strict=True))
            G = project_filters(pad_filters(average, self.grid, xp=np), self.support, xp=np)
        self.dictionaries = dictionaries
        return G, cluster.constant(self.window(G))

    def _couple(self, filters, updated):
        """The CoGD rule on the groups' sums; returns (filters, code units or None, count)."""
        options, cluster = self.options, self.cluster
        window = cluster.constant(self.window(updated))
        statistics = cluster.client.gather(cluster.map(
            _coupling_statistics, self.groups, [options.coupling] * len(self.groups),
            [window] * len(self.groups)))
        if options.coupling == "filter":
            units = filter_units(sum(statistics), filters, updated,
                                 quantiles=options.coupling_quantiles, xp=np)
            coupled = backtrack(updated, filters, units, rate=options.backtrack_rate, xp=np)
            return coupled, units, int(np.count_nonzero(units))
        residual_sum = sum(s[0] for s in statistics)
        summed_codes = sum(s[1] for s in statistics)
        positions = reference_positions(summed_codes, iteration=self.iteration,
                                        max_iter=options.max_iter, xp=np)
        if positions is None:
            return project_filters(updated, self.support, xp=np), None, 0
        change = sum(cluster.client.gather(cluster.map(
            _code_change, self.groups, [positions] * len(self.groups))))
        coupled, n_changed = reference_update(filters, updated, residual_sum, positions, change,
                                              xp=np)
        return project_filters(coupled, self.support, xp=np), None, n_changed

    def callback_state(self):
        return LearningState(None, DictionaryState(None, None, self.filters), None,
                             self.iteration, self.best_objective, self.history)

    # -- checkpoints: the in-process fit's state and file format --------------------------------
    def gather_state(self):
        """The whole :class:`csc.learn.LearningState` (brought to the driver)."""
        groups = self.cluster.client.gather(self.groups)
        dictionaries = self.cluster.client.gather(self.dictionaries)

        def joined(values):
            return None if values[0] is None else np.concatenate(values)

        coding = CodingState(*(joined([getattr(g.coding, name) for g in groups])
                               for name in ("split", "split_dual", "codes", "codes_dual")))
        dictionary = DictionaryState(joined([d.split for d in dictionaries]),
                                     joined([d.split_dual for d in dictionaries]), self.filters,
                                     joined([d.filters_dual for d in dictionaries]))
        return LearningState(coding, dictionary, joined([g.anchor_codes for g in groups]),
                             self.iteration, self.best_objective, self.history)

    def resume(self, arrays, meta, *, path):
        """Continue from a checkpoint: each group's share of the state goes to its worker."""
        state = _state_from_arrays(arrays, meta, xp=np, path=path)
        duals = state.dictionary.filters_dual
        if duals is not None and duals.shape[0] != len(self.groups):
            duals = None  # written with other groups: the copies' duals restart
        loaded, self.groups, self.dictionaries = self.groups, [], []
        for g, (group, images) in enumerate(zip(loaded, self.image_groups, strict=True)):
            def part(value, images=images):
                return None if value is None else value[images]

            coding = CodingState(*(part(getattr(state.coding, name)) for name in
                                   ("split", "split_dual", "codes", "codes_dual")))
            dictionary = DictionaryState(part(state.dictionary.split),
                                         part(state.dictionary.split_dual), None,
                                         None if duals is None else duals[g:g + 1])
            self.groups.append(self.cluster.submit(_resumed_group, group, coding,
                                                   part(state.anchor_codes)))
            self.dictionaries.append(self.cluster.constant(dictionary))
        self.filters = state.dictionary.filters
        self.iteration, self.best_objective = state.iteration, state.best_objective
        self.history = state.history
        self.has_anchor = state.anchor_codes is not None


def _resumed_group(group, coding, anchor_codes):
    return replace(group, coding=coding, anchor_codes=anchor_codes)


def _add_terms(parts):
    """Sum ``(data, l1, nnz, size)`` over groups -> ``(data, l1, nnz fraction)``."""
    data = sum(p[0] for p in parts)
    l1 = sum(p[1] for p in parts)
    return data, l1, sum(p[2] for p in parts) / sum(p[3] for p in parts)


# -- coding with fixed filters -----------------------------------------------------------------
def _encode_block(images, mask, *, filters, options, encode_iter, channel_axis):
    with limit_threads(1):
        signal, weights, xp = prepare_signal(images, mask, filter_size=filters.shape[-1],
                                             channel_axis=channel_axis)
        return encode_signal(signal, weights, filters, options, max_iter=encode_iter, xp=xp)


def encode_distributed(images, mask, *, filters, options, encode_iter, channel_axis=None):
    """Codes of a dask array of images, block by block along the image axis (lazy).

    Parameters
    ----------
    images : dask.array.Array of shape (n_images, H, W) (or with a channel axis)
    mask : dask.array.Array, ndarray or None
        With the image axis.
    filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    options : csc.learn.LearningOptions
    encode_iter : int

    Returns
    -------
    dask.array.Array of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Chunked like ``images`` along the image axis; computed on the active client's workers
        when there is one (``.compute()``), otherwise by Dask's local scheduler.
    """
    import dask.array as da

    if images.ndim < 3:
        raise ValueError(f"`images` as a dask array must have an image axis first, "
                         f"(n_images, H, W[, channels]), got shape {images.shape}")
    filters = np.asarray(filters)
    filter_size = filters.shape[-1]
    images = images.rechunk({axis: -1 for axis in range(1, images.ndim)})
    spatial_axes = [a % images.ndim for a in range(1, images.ndim)
                    if channel_axis is None or a % images.ndim != channel_axis % images.ndim]
    height, width = (images.shape[a] for a in spatial_axes)
    grid = (height + filter_size - 1, width + filter_size - 1)
    args = [images]
    if mask is not None:
        if mask.shape[:1] != images.shape[:1]:
            raise ValueError(f"`mask` must have the image axis of `images` first "
                             f"({images.shape[0]}), got shape {mask.shape}")
        args.append(da.asarray(mask).rechunk((images.chunks[0],) + (-1,) * (mask.ndim - 1)))

    def block(image_block, mask_block=None):
        return _encode_block(image_block, mask_block, filters=filters, options=options,
                             encode_iter=encode_iter, channel_axis=channel_axis)

    out_chunks = (images.chunks[0], (filters.shape[0],), (grid[0],), (grid[1],))
    extra = {"new_axis": [3]} if images.ndim == 3 else {}
    return da.map_blocks(block, *args, dtype=float_dtype(images.dtype), chunks=out_chunks,
                         **extra)
