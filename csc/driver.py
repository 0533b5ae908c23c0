"""The driver of a Dask fit: the outer loop over the chunks of images held by the workers.

:class:`Driver` runs the loop of :func:`csc.learn.alternating_minimization` with the tasks of
:mod:`csc.chunk` applied to the chunks, through the cluster view of :mod:`csc.distributed`
(which builds the chunks and returns the result): the filters and the history stay here; the
dictionary step's consensus average and projection, the coupling rule on the chunks' sums and
the acceptance rule run here between the rounds of tasks. No dask import: every cluster call
goes through the view.
"""

import time
from dataclasses import replace
from itertools import accumulate

import numpy as np

from .chunk import (
    chunk_code_change,
    chunk_coupling_statistics,
    chunk_dictionary_iteration,
    chunk_state_arrays,
    chunk_terms,
    code_chunk,
    reject_coding_step,
)
from .coding import CodingState
from .coupling import backtrack, filter_units, reference_positions, reference_update
from .dictionary import group_penalties
from .fourier import crop_filters, pad_filters
from .outer_loop import accept_iteration
from .prox import filter_support_mask, project_filters
from .state import (
    HISTORY_KEYS,
    DictionaryState,
    LearningState,
    join_arrays,
    record,
    state_to_arrays,
)

__all__ = ["Driver"]


class Driver:
    """The outer loop of :func:`csc.learn.alternating_minimization` over the workers' chunks.

    Every round of the loop applies one task of :mod:`csc.chunk` to every chunk (one per worker)
    and brings back its small result (the cluster view's ``round``; ``read`` for the tasks that
    change nothing), so that what an outer iteration costs the scheduler grows with the number
    of workers, not with the number of image groups.

    Parameters
    ----------
    cluster : object
        The cluster view of :mod:`csc.distributed` (``round``, ``read``).
    chunk_groups : list of lists of slice
        Each chunk's image groups (:func:`csc.dictionary.image_groups` of all images).
    options : LearningOptions
    filter_size : int
    grid : (int, int)
        The padded grid.
    dtype : dtype
        The working float dtype.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
        The current filters (on the driver).
    iteration, best_objective, history
        As in :class:`csc.state.LearningState`.
    """

    def __init__(self, cluster, chunk_groups, options, filter_size, grid, dtype):
        self.cluster = cluster
        self.chunk_groups = chunk_groups
        starts = list(accumulate((len(part) for part in chunk_groups[:-1]), initial=0))
        # each chunk's groups among all groups, and their filter penalties rho_g
        self.group_indices = [slice(start, start + len(part))
                              for start, part in zip(starts, chunk_groups, strict=True)]
        rho = group_penalties([group for part in chunk_groups for group in part],
                              options.dictionary_penalty[1])
        self.rho_groups = [rho[indices] for indices in self.group_indices]
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
        terms = self._terms(self.filters)
        record(self.history, terms[:2], terms[2], seconds=0.0, accepted=True, n_backtracked=0,
               step_seconds=(0.0, 0.0, 0.0))
        self.best_objective = self.history["objective"][-1]

    def _terms(self, filters):
        """Summed ``(data, l1, nnz fraction)`` of every chunk's codes with ``filters``."""
        return _add_terms(self.cluster.read(chunk_terms, self.window(filters),
                                            self.options.sparsity_weight))

    def run(self, callback, bar):
        options, cluster = self.options, self.cluster
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
            data, l1, nnz = _add_terms(cluster.round(
                code_chunk, final_window, self.window(coded_filters), units=units,
                options=options, filter_size=self.filter_size))
            self.has_anchor = True
            coding_seconds = time.perf_counter() - clock

            def reject_codes(updated=updated):
                return _add_terms(cluster.round(reject_coding_step, self.window(updated),
                                                options.sparsity_weight))[:2]

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
        """Consensus ADMM over the chunks; returns the new filters and the last ``G`` window."""
        options, cluster = self.options, self.cluster
        # Python floats: a NumPy float64 weight would promote float32 windows to float64
        chunk_rho = [sum(rhos) for rhos in self.rho_groups]
        weights = [rho / sum(chunk_rho) for rho in chunk_rho]
        G = filters
        for t in range(options.dictionary_iter):
            windows = cluster.round(
                chunk_dictionary_iteration, self.window(G), first=t == 0,
                rho_data=options.dictionary_penalty[0], relaxation=options.relaxation,
                each=[{"rho_groups": rhos} for rhos in self.rho_groups])
            average = sum(w * term for w, term in zip(weights, windows, strict=True))
            G = project_filters(pad_filters(average, self.grid, xp=np), self.support, xp=np)
        return G, self.window(G)

    def _couple(self, filters, updated):
        """The CoGD rule on the chunks' sums; returns (filters, code units or None, count)."""
        options, cluster = self.options, self.cluster
        statistics = cluster.read(chunk_coupling_statistics, options.coupling,
                                  self.window(updated))
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
        change = sum(cluster.read(chunk_code_change, positions))
        coupled, n_changed = reference_update(filters, updated, residual_sum, positions, change,
                                              xp=np)
        return project_filters(coupled, self.support, xp=np), None, n_changed

    def callback_state(self):
        return LearningState(None, DictionaryState(None, None, self.filters), None,
                             self.iteration, self.best_objective, self.history)

    # -- checkpoints: the in-process fit's state and file format --------------------------------
    def checkpoint_arrays(self):
        """The arrays and metadata of the whole state's checkpoint (each chunk's share made
        compact on its worker, :func:`csc.chunk.chunk_state_arrays`, then joined here)."""
        arrays, meta = state_to_arrays(self.callback_state())
        arrays.update(join_arrays(self.cluster.read(chunk_state_arrays,
                                                    anchor=self.options.optimizer == "cogd")))
        return arrays, meta

    def resume(self, state):
        """Continue from a checkpoint's state: each chunk's share goes to its worker."""
        duals = state.dictionary.filters_dual
        if duals is not None and duals.shape[0] != self.group_indices[-1].stop:
            duals = None  # written with other groups: the copies' duals restart
        shares = []
        for part, groups in zip(self.chunk_groups, self.group_indices, strict=True):
            span = slice(part[0].start, part[-1].stop)

            def share(value, span=span):
                return None if value is None else value[span]

            coding = CodingState(*(share(getattr(state.coding, name)) for name in
                                   ("split", "split_dual", "codes", "codes_dual")))
            dictionary = DictionaryState(share(state.dictionary.split),
                                         share(state.dictionary.split_dual), None,
                                         None if duals is None else duals[groups])
            shares.append({"coding": coding, "dictionary": dictionary,
                           "anchor_codes": share(state.anchor_codes)})
        self.cluster.round(_resumed, each=shares)
        self.filters = state.dictionary.filters
        self.iteration, self.best_objective = state.iteration, state.best_objective
        self.history = state.history
        self.has_anchor = state.anchor_codes is not None


def _resumed(chunk, **share):
    """A chunk with its share of a checkpoint's state."""
    return replace(chunk, **share), None


def _add_terms(parts):
    """Sum ``(data, l1, nnz, size)`` over chunks -> ``(data, l1, nnz fraction)``."""
    data = sum(p[0] for p in parts)
    l1 = sum(p[1] for p in parts)
    return data, l1, sum(p[2] for p in parts) / sum(p[3] for p in parts)
