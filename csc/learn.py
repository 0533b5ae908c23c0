"""Convolutional dictionary learning: alternate coding and dictionary ADMM steps, optionally
coupled by the cogradient (CoGD) rule; the :class:`ConvolutionalDictionary` estimator."""

import inspect
import json
import os
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from . import coupling
from .backend import array_module, float_dtype, to_numpy
from .coding import CodingState, admm_sparse_code, objective_terms
from .dictionary import DictionaryState, admm_dictionary_update
from .fourier import (
    crop_filters,
    crop_signal,
    pad_filters,
    pad_signal,
    spatial,
    spectra,
    synthesize,
)
from .prox import filter_support_mask, project_filters
from .validation import check_choice, check_int, check_positive, is_positive

__all__ = ["ConvolutionalDictionary", "LearningOptions", "learn_dictionary", "COUPLING_RULES"]

OPTIMIZERS = ("admm", "cogd")
COUPLING_RULES = ("filter", "reference")
# images per group of the dictionary step (None: one group), see csc.dictionary
DICTIONARY_GROUP_SIZES = {"auto": 10, "woodbury": None, "consensus": 1}
HISTORY_KEYS = ("objective", "data_term", "nnz", "seconds", "accepted", "backtracked")


@dataclass(frozen=True)
class LearningOptions:
    """Options of :func:`learn_dictionary` (see :class:`ConvolutionalDictionary`)."""

    sparsity_weight: float = 1.0
    optimizer: str = "admm"
    max_iter: int = 20
    coding_iter: int = 10
    dictionary_iter: int = 10
    coding_penalty: tuple = (1.0, 3.0)
    dictionary_penalty: tuple = (1.0, 30.0)
    relaxation: float = 1.8
    dictionary_solver: str = "auto"
    non_negative: bool = False
    coupling: str = "reference"
    coupling_quantiles: tuple = (0.5, 0.5)
    backtrack_rate: float = 1.0


@dataclass
class LearningState:
    """Everything an interrupted fit needs to resume (arrays on the working device)."""

    coding: CodingState
    dictionary: DictionaryState
    anchor_codes: object = None
    iteration: int = 0
    best_objective: float = float("inf")
    history: dict = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})


def learn_dictionary(signal, weights, initial_filters, options, *, state=None, callback=None,
                     progress=None, xp):
    """Learn filters by alternating ADMM coding and dictionary steps (kernel; inputs valid).

    Each outer iteration runs a dictionary step, the CoGD coupling (when
    ``options.optimizer == 'cogd'``), then a coding step, and evaluates the objective. The
    iteration is accepted when the objective did not increase; otherwise the state after the
    dictionary step (old codes, new filters) is tried, and failing that the previous filters and
    codes are restored (the ADMM splits and duals keep their progress), so the objective of the
    accepted iterates never increases (SPEC 1.3).

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
        _record(state, *objective_terms(signal, weights, spectra(filters, xp=xp), coding.codes,
                                        sparsity_weight=lam, xp=xp), coding.codes, 0.0, True, 0)
        state.best_objective = state.history["objective"][-1]
    start = time.perf_counter() - state.history["seconds"][-1]
    while state.iteration < options.max_iter:
        state.iteration += 1
        codes, filters = state.coding.codes, state.dictionary.filters
        if xp.any(codes):
            state.dictionary = admm_dictionary_update(
                signal, weights, codes, state.dictionary, support,
                rho_data=options.dictionary_penalty[0], rho_filter=options.dictionary_penalty[1],
                max_iter=options.dictionary_iter, relaxation=options.relaxation,
                group_size=DICTIONARY_GROUP_SIZES[options.dictionary_solver], xp=xp,
            )
        updated_filters = state.dictionary.filters
        n_backtracked = 0
        if options.optimizer == "cogd" and state.anchor_codes is not None:
            coupled_filters, coupled_codes, n_backtracked = _couple(
                signal, weights, filters, updated_filters, state.anchor_codes, codes, options,
                state.iteration, support, xp=xp,
            )
            state.dictionary.filters = coupled_filters
            state.coding.codes = coupled_codes
        state.anchor_codes = codes
        filters_hat = spectra(state.dictionary.filters, xp=xp)
        coded = admm_sparse_code(
            signal, weights, filters_hat, sparsity_weight=lam,
            rho_data=options.coding_penalty[0], rho_sparse=options.coding_penalty[1],
            max_iter=options.coding_iter, relaxation=options.relaxation,
            non_negative=options.non_negative, state=state.coding, filter_size=filter_size,
            xp=xp,
        )
        state.coding = coded.state
        terms = objective_terms(signal, weights, filters_hat, state.coding.codes,
                                sparsity_weight=lam, reconstruction=coded.reconstruction, xp=xp)
        accepted = sum(terms) <= state.best_objective
        if not accepted:  # fall back on the dictionary step alone, then on the previous iterate
            fallback = objective_terms(signal, weights, spectra(updated_filters, xp=xp), codes,
                                       sparsity_weight=lam, xp=xp)
            state.coding.codes = codes
            if sum(fallback) <= state.best_objective:
                state.dictionary.filters, terms = updated_filters, fallback
            else:
                state.dictionary.filters = filters
                terms = (state.history["data_term"][-1],
                         state.history["objective"][-1] - state.history["data_term"][-1])
        state.best_objective = min(state.best_objective, sum(terms))
        _record(state, *terms, state.coding.codes, time.perf_counter() - start, accepted,
                n_backtracked)
        if progress is not None:
            progress.update(1)
        if callback is not None and callback(state):
            break
    return state


def _record(state, data_term, l1_term, codes, seconds, accepted, n_backtracked):
    xp = array_module(codes)
    history = state.history
    history["objective"].append(data_term + l1_term)
    history["data_term"].append(data_term)
    history["nnz"].append(float(xp.count_nonzero(codes)) / codes.size)
    history["seconds"].append(seconds)
    history["accepted"].append(bool(accepted))
    history["backtracked"].append(int(n_backtracked))


def _couple(signal, weights, filters, updated_filters, anchor_codes, codes, options, iteration,
            support, *, xp):
    """Apply the CoGD coupling after a dictionary step; return (filters, codes, n_backtracked).

    The filters returned are feasible (``support`` is the filter window): the per-filter rule
    moves between two feasible points, the reference rule is projected back.
    """
    if options.coupling == "filter":
        sparse_scores = xp.sum(xp.abs(codes), axis=(0, 2, 3))
        partner_scores = xp.sqrt(xp.sum((updated_filters - filters) ** 2, axis=(1, 2, 3)))
        units = coupling.asynchronous_units(
            sparse_scores, partner_scores, sparse_quantile=options.coupling_quantiles[0],
            partner_quantile=options.coupling_quantiles[1], xp=xp,
        )
        rate = options.backtrack_rate
        new_filters = coupling.backtrack(updated_filters, filters, units, rate=rate, xp=xp)
        new_codes = coupling.backtrack(codes.swapaxes(0, 1), anchor_codes.swapaxes(0, 1), units,
                                       rate=rate, xp=xp).swapaxes(0, 1)
        return new_filters, new_codes, int(xp.count_nonzero(units))
    new_filters, new_codes, n_changed = _reference_coupling(
        signal, weights, filters, updated_filters, anchor_codes, codes, iteration,
        options.max_iter, xp=xp)
    return project_filters(new_filters, support, xp=xp), new_codes, n_changed


def _reference_coupling(signal, weights, filters, updated_filters, anchor_codes, codes, iteration,
                        max_iter, *, xp):
    """The CSC rule of the CoGD reference code (``backtracking_btb.m``), see SPEC 3.

    At the ``m`` largest entries of the image-summed codes (on the padded grid),
    ``d += 0.1 * c * p * d_old`` with ``c = 0.05 * sum(W (D X - S))`` and
    ``p = min(||X[:, pos] - X_old[:, pos]|| / (|d - d_old| + 1e-5), 1)``, where
    ``m = min(round(alpha_i * size), 255)`` and ``alpha_i = (T - i) / (3 T)``. Kept as in the
    reference: the count saturates at 255 (a ``uint8`` cast), the positions are taken on the
    padded grid, so most fall outside the filter window where ``d_old = 0`` and nothing changes.
    Not kept: the reference skips the largest entry and decodes positions with an off-by-one
    stride, and it does not project the result back onto the constraint set (:func:`_couple`
    does: without it the filters' norms grew to 2.27 on the fruit inpainting protocol).
    """
    grid = signal.shape[-2:]
    reconstruction = spatial(synthesize(spectra(updated_filters, xp=xp), spectra(codes, xp=xp),
                                        xp=xp), grid, xp=xp)
    c = 0.05 * float(xp.sum(weights * (reconstruction - signal), dtype=xp.float64))
    summed = xp.sum(codes, axis=0)  # (n_filters, Hp, Wp)
    alpha = max(max_iter - iteration, 0) / (3 * max_iter)
    count = min(int(alpha * summed.size + 0.5), 255)
    if count == 0:
        return updated_filters, codes, 0
    positions = xp.argpartition(summed.ravel(), summed.size - count)[-count:]
    k, y, x = xp.unravel_index(positions, summed.shape)
    previous = filters[k, :, y, x]  # (count, n_channels)
    current = updated_filters[k, :, y, x]
    code_change = xp.sqrt(xp.sum((codes - anchor_codes)[:, k, y, x] ** 2, axis=0))[:, None]
    p = xp.minimum(code_change / (xp.abs(current - previous) + 1e-5), 1)
    new_filters = updated_filters.copy()
    new_filters[k, :, y, x] = current + 0.1 * c * p * previous
    return new_filters, codes, int(xp.count_nonzero(xp.any(previous != 0, axis=1)))


class ConvolutionalDictionary:
    """Learn convolutional filters by alternating sparse coding and filter updates.

    Minimises, over filters ``d_k`` (``s x s``, ``||d_k|| <= 1``) and codes ``x_{n,k}``,

    .. math::

        F(d, x) = \\frac12 \\sum_n \\| M_n \\odot (b_n - \\sum_k d_k * x_{n,k}) \\|_2^2
                  + \\lambda \\sum_{n,k} \\|x_{n,k}\\|_1

    on the zero-padded grid (SPEC 1), with ADMM for both steps and, for
    ``optimizer='cogd'``, the cogradient coupling between codes and filters (SPEC 3).

    Parameters
    ----------
    n_filters : int, default 100
    filter_size : int, default 11
        Side ``s`` of the square filters.
    sparsity_weight : float, default 1.0
        ``lambda``.
    optimizer : {'admm', 'cogd'}, default 'admm'
    max_iter : int, default 20
        Outer iterations (one dictionary step and one coding step each).
    coding_iter, dictionary_iter : int, default 10
        Inner ADMM iterations per coding and per dictionary step.
    encode_iter : int, default 100
        ADMM iterations of :meth:`encode`.
    coding_penalty : (float, float) or None, default None
        ADMM penalties ``(rho_data, rho_sparse)`` of the coding step; None means
        ``(1, 3 * sparsity_weight)``, the best of a sweep on the fruit protocol (lambda 1) and on
        a small problem with lambda 0.1 (``rho_sparse`` in 1..10 lambda, ``rho_data`` in 0.3..10).
    dictionary_penalty : (float, float), default (1.0, 30.0)
        ADMM penalties ``(rho_data, rho_filter)`` of the dictionary step (same sweep).
    relaxation : float, default 1.8
        ADMM over-relaxation in (0, 2).
    dictionary_solver : {'auto', 'woodbury', 'consensus'}, default 'auto'
        Filter update of the dictionary step (:mod:`csc.dictionary`): ``'woodbury'`` solves it
        exactly with ``n_images x n_images`` factors per frequency (cost and memory grow with
        ``n_images^2``); ``'consensus'`` keeps one filter copy per image; ``'auto'`` keeps one
        copy per group of at most 10 images (the exact update up to 10 images, linear in the
        number of images beyond).
    coupling : {'reference', 'filter'}, default 'reference'
        CoGD rule: the reference code's entry-wise rule (see :func:`_reference_coupling`) or
        per-filter units (codes' l1 mass vs filter movement, both backtracked to their
        anchors). The default was chosen by measured objective on the fruit and city protocol
        (``benchmarks/results/coupling_rules.md``): the reference rule ends within 0.2 % of plain
        ADMM, the per-filter rule 5-6 % above it.
    coupling_quantiles : (float, float), default (0.5, 0.5)
        Quantiles ``alpha`` (codes) and ``beta`` (filters) of the per-filter rule.
    backtrack_rate : float, default 1.0
        Fraction of the way back to the anchor for flagged filters.
    non_negative : bool, default False
        Constrain codes to be non-negative.
    channel_axis : int or None, default None
        Axis of colour channels in the images (None: gray).
    initial_filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s), optional
        Starting dictionary; random normal (projected) when None.
    random_state : int, numpy Generator or None
    checkpoint : str or None
        Path of an ``.npz`` checkpoint written atomically after every outer iteration; ``fit``
        resumes from it when it exists and matches the problem.
    progress : bool, default False
        Show a progress bar (tqdm) over outer iterations.
    callback : callable(LearningState) -> bool, optional
        Called after every outer iteration; returning True stops.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    n_iter_ : int
    history_ : dict of lists
        Per outer iteration (index 0 is the initial point): ``objective``, ``data_term``,
        ``nnz`` (fraction of non-zero code entries), ``seconds`` (cumulative wall time),
        ``accepted`` and ``backtracked`` (units or entries changed by the coupling).
    codes_ : ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Codes of the training images at the end of ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from csc import ConvolutionalDictionary
    >>> images = np.random.default_rng(0).standard_normal((2, 24, 24)).astype(np.float32)
    >>> model = ConvolutionalDictionary(4, 5, max_iter=3, random_state=0).fit(images)
    >>> model.filters_.shape, model.decode(model.encode(images)).shape
    ((4, 5, 5), (2, 24, 24))
    """

    def __init__(self, n_filters=100, filter_size=11, *, sparsity_weight=1.0, optimizer="admm",
                 max_iter=20, coding_iter=10, dictionary_iter=10, encode_iter=100,
                 coding_penalty=None, dictionary_penalty=(1.0, 30.0), relaxation=1.8,
                 dictionary_solver="auto", coupling="reference", coupling_quantiles=(0.5, 0.5),
                 backtrack_rate=1.0, non_negative=False, channel_axis=None, initial_filters=None,
                 random_state=None, checkpoint=None, progress=False, callback=None):
        self.n_filters = n_filters
        self.filter_size = filter_size
        self.sparsity_weight = sparsity_weight
        self.optimizer = optimizer
        self.max_iter = max_iter
        self.coding_iter = coding_iter
        self.dictionary_iter = dictionary_iter
        self.encode_iter = encode_iter
        self.coding_penalty = coding_penalty
        self.dictionary_penalty = dictionary_penalty
        self.relaxation = relaxation
        self.dictionary_solver = dictionary_solver
        self.coupling = coupling
        self.coupling_quantiles = coupling_quantiles
        self.backtrack_rate = backtrack_rate
        self.non_negative = non_negative
        self.channel_axis = channel_axis
        self.initial_filters = initial_filters
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.progress = progress
        self.callback = callback

    # -- scikit-learn style parameters ------------------------------------------------------
    def get_params(self, deep=True):
        """Constructor parameters as a dict."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter {name!r}; valid: {sorted(valid)}")
            setattr(self, name, value)
        return self

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, images, mask=None):
        """Learn the filters from images, optionally with missing pixels.

        Parameters
        ----------
        images : ndarray of shape (n_images, H, W), (H, W), or with a channel axis
            NumPy or CuPy; float32/float64 kept, other dtypes computed in float32.
        mask : ndarray of the shape of ``images`` or None
            1 (True) where a pixel is observed, 0 where it is missing.

        Returns
        -------
        self
        """
        options = self._options()
        signal, weights, xp = self._prepare(images, mask)
        n_channels = signal.shape[1]
        initial = self._initial_filters(n_channels, signal.dtype, xp)
        fingerprint = self._fingerprint(signal) if self.checkpoint else None
        state = self._load_checkpoint(fingerprint, xp) if self.checkpoint else None
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=options.max_iter, desc=f"cdl[{options.optimizer}]",
                       initial=state.iteration if state else 0, unit="it")

        def callback(current):
            if bar is not None:
                history = current.history
                bar.set_postfix(objective=f"{history['objective'][-1]:.5g}",
                                nnz=f"{history['nnz'][-1]:.4f}")
            if self.checkpoint:
                _save_checkpoint(self.checkpoint, current, fingerprint)
            return bool(self.callback(current)) if self.callback is not None else False

        try:
            state = learn_dictionary(signal, weights, initial, options, state=state,
                                     callback=callback, progress=bar, xp=xp)
        finally:
            if bar is not None:
                bar.close()
        filters = crop_filters(state.dictionary.filters, self.filter_size)
        self.filters_ = filters[:, 0] if self.channel_axis is None else filters
        self.codes_ = state.coding.codes
        self.n_iter_ = state.iteration
        self.history_ = {key: list(values) for key, values in state.history.items()}
        self.n_channels_ = n_channels
        return self

    def fit_transform(self, images, mask=None):
        """Fit, then return the training codes ``codes_``."""
        return self.fit(images, mask).codes_

    def encode(self, images, mask=None):
        """Sparse codes of images with the learned filters (ADMM, ``encode_iter`` iterations).

        Parameters
        ----------
        images : ndarray of shape (n_images, H, W) (or with channels, as in :meth:`fit`)
        mask : ndarray of the shape of ``images`` or None

        Returns
        -------
        ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
        """
        self._check_fitted()
        options = self._options()
        signal, weights, xp = self._prepare(images, mask)
        filters_hat = self._filters_hat(signal.shape[-2:], signal.dtype, xp)
        result = admm_sparse_code(
            signal, weights, filters_hat, sparsity_weight=options.sparsity_weight,
            rho_data=options.coding_penalty[0], rho_sparse=options.coding_penalty[1],
            max_iter=self.encode_iter, relaxation=self.relaxation,
            non_negative=self.non_negative, filter_size=self.filter_size, xp=xp,
        )
        return result.coefficients

    transform = encode

    def decode(self, codes):
        """Images synthesised from codes: ``sum_k d_k (*) x_k`` cropped to the image grid.

        Parameters
        ----------
        codes : ndarray of shape (n_images, n_filters, Hp, Wp)

        Returns
        -------
        ndarray of shape (n_images, Hp - s + 1, Wp - s + 1) (channels last when colour)
        """
        self._check_fitted()
        xp = array_module(codes)
        if codes.ndim != 4 or codes.shape[1] != self.n_filters:
            raise ValueError(f"`codes` must have shape (n_images, {self.n_filters}, Hp, Wp), "
                             f"got {codes.shape}")
        grid = codes.shape[-2:]
        if min(grid) < self.filter_size:
            raise ValueError(f"`codes` grid {grid} is smaller than the filters")
        filters_hat = self._filters_hat(grid, codes.dtype, xp)
        images = crop_signal(spatial(synthesize(filters_hat, spectra(codes, xp=xp), xp=xp), grid,
                                     xp=xp), self.filter_size)
        return images[:, 0] if self.channel_axis is None else xp.moveaxis(images, 1, -1)

    def objective(self, images, codes, mask=None):
        """Objective ``F`` (SPEC 1) of codes for images with the learned filters, as a float."""
        self._check_fitted()
        signal, weights, xp = self._prepare(images, mask)
        filters_hat = self._filters_hat(signal.shape[-2:], signal.dtype, xp)
        return sum(objective_terms(signal, weights, filters_hat, xp.asarray(codes, signal.dtype),
                                   sparsity_weight=self.sparsity_weight, xp=xp))

    # -- persistence ------------------------------------------------------------------------
    def save(self, path):
        """Write the learned filters and the parameters to an ``.npz`` file atomically."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("initial_filters", "callback", "random_state", "checkpoint")}
        _atomic_savez(path, filters=to_numpy(self.filters_),
                      history=np.asarray(json.dumps(self.history_)),
                      params=np.asarray(json.dumps(params)))

    @classmethod
    def load(cls, path):
        """Load a dictionary written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as archive:
            missing = {"filters", "params"} - set(archive.files)
            if missing:
                raise ValueError(f"{path!r} is not a saved ConvolutionalDictionary "
                                 f"(missing {sorted(missing)})")
            params = json.loads(str(archive["params"]))
            model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in params.items()})
            model.filters_ = archive["filters"]
            model.history_ = json.loads(str(archive["history"])) if "history" in archive else {}
        model.n_iter_ = max(len(model.history_.get("objective", [])) - 1, 0)
        model.n_channels_ = 1 if model.filters_.ndim == 3 else model.filters_.shape[1]
        return model

    # -- internals --------------------------------------------------------------------------
    def _options(self):
        check_int("n_filters", self.n_filters, 1)
        check_int("filter_size", self.filter_size, 1)
        for name in ("max_iter", "coding_iter", "dictionary_iter", "encode_iter"):
            check_int(name, getattr(self, name), 1)
        check_positive("sparsity_weight", self.sparsity_weight)
        coding_penalty = self.coding_penalty
        if coding_penalty is None and is_positive(self.sparsity_weight):
            coding_penalty = (1.0, 3.0 * float(self.sparsity_weight))
        for name, value in (("coding_penalty", coding_penalty),
                            ("dictionary_penalty", self.dictionary_penalty)):
            if (not isinstance(value, (tuple, list)) or len(value) != 2
                    or not all(is_positive(v) for v in value)):
                raise ValueError(f"`{name}` must be a pair of positive floats, got {value!r}")
        if not (is_positive(self.relaxation) and self.relaxation < 2):
            raise ValueError(f"`relaxation` must be in (0, 2), got {self.relaxation!r}")
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("dictionary_solver", self.dictionary_solver, tuple(DICTIONARY_GROUP_SIZES))
        check_choice("coupling", self.coupling, COUPLING_RULES)
        quantiles = self.coupling_quantiles
        if (not isinstance(quantiles, (tuple, list)) or len(quantiles) != 2
                or not all(0 <= q <= 1 for q in quantiles)):
            raise ValueError(f"`coupling_quantiles` must be two numbers in [0, 1], "
                             f"got {quantiles!r}")
        if not (is_positive(self.backtrack_rate) and self.backtrack_rate <= 1):
            raise ValueError(f"`backtrack_rate` must be in (0, 1], got {self.backtrack_rate!r}")
        return LearningOptions(
            sparsity_weight=float(self.sparsity_weight), optimizer=self.optimizer,
            max_iter=self.max_iter, coding_iter=self.coding_iter,
            dictionary_iter=self.dictionary_iter,
            coding_penalty=tuple(float(v) for v in coding_penalty),
            dictionary_penalty=tuple(float(v) for v in self.dictionary_penalty),
            relaxation=float(self.relaxation), dictionary_solver=self.dictionary_solver,
            non_negative=bool(self.non_negative), coupling=self.coupling,
            coupling_quantiles=tuple(float(q) for q in quantiles),
            backtrack_rate=float(self.backtrack_rate),
        )

    def _prepare(self, images, mask):
        """Validate images and mask; return padded ``(signal, weights, xp)`` channels-first."""
        xp = array_module(images, mask)
        images = xp.asarray(images)
        gray = self.channel_axis is None
        base_ndim = 2 if gray else 3
        if images.ndim not in (base_ndim, base_ndim + 1):
            layout = "(H, W) or (n_images, H, W)" if gray else "(H, W, C) or (n_images, H, W, C)"
            raise ValueError(f"`images` must have shape {layout}, got shape {images.shape}")
        if images.dtype.kind not in "biuf":
            raise ValueError(f"`images` must be numeric, got dtype {images.dtype}")
        if mask is not None:
            mask = xp.asarray(mask)
            if mask.shape != images.shape:
                raise ValueError(f"`mask` must have the shape of `images` {images.shape}, "
                                 f"got {mask.shape}")

        def channels_first(array):
            array = array[None] if array.ndim == base_ndim else array
            if gray:
                return array[:, None]
            axis = self.channel_axis + (1 if self.channel_axis >= 0 else 0)
            return xp.moveaxis(array, axis, 1)

        images = channels_first(images).astype(float_dtype(images.dtype), copy=False)
        if not bool(xp.all(xp.isfinite(images))):
            raise ValueError("`images` contains NaN or infinite values")
        height, width = images.shape[-2:]
        if min(height, width) < self.filter_size:
            raise ValueError(f"`filter_size` ({self.filter_size}) is larger than the images "
                             f"({height}x{width})")
        if hasattr(self, "n_channels_") and images.shape[1] != self.n_channels_:
            raise ValueError(f"`images` have {images.shape[1]} channels, the dictionary "
                             f"{self.n_channels_}")
        if mask is None:
            weights = xp.ones(images.shape, images.dtype)
        else:
            weights = channels_first(mask).astype(images.dtype)
            if not bool(xp.all(xp.isfinite(weights))) or bool(xp.any(weights < 0)):
                raise ValueError("`mask` must be finite and non-negative (1 observed, 0 missing)")
            if not bool(xp.any(weights)):
                raise ValueError("`mask` has no observed pixel")
        signal = pad_signal(images * (weights > 0), self.filter_size, xp=xp)
        return signal, pad_signal(weights, self.filter_size, xp=xp), xp

    def _initial_filters(self, n_channels, dtype, xp):
        s = self.filter_size
        if self.initial_filters is None:
            rng = np.random.default_rng(self.random_state)
            initial = rng.standard_normal((self.n_filters, n_channels, s, s))
        else:
            initial = np.asarray(to_numpy(self.initial_filters), dtype=np.float64)
            if initial.ndim == 3:
                initial = initial[:, None]
            if initial.shape != (self.n_filters, n_channels, s, s):
                raise ValueError(f"`initial_filters` must have shape "
                                 f"({self.n_filters}, {s}, {s}) or ({self.n_filters}, "
                                 f"{n_channels}, {s}, {s}), got {initial.shape}")
        initial = initial / np.maximum(np.linalg.norm(initial.reshape(len(initial), -1), axis=1),
                                       1e-12)[:, None, None, None]
        return xp.asarray(initial.astype(dtype))

    def _filters_hat(self, grid, dtype, xp):
        filters = xp.asarray(self.filters_).astype(float_dtype(dtype))
        filters = filters[:, None] if filters.ndim == 3 else filters
        return spectra(pad_filters(filters, grid, xp=xp), xp=xp)

    def _check_fitted(self):
        if not hasattr(self, "filters_"):
            raise ValueError("this ConvolutionalDictionary is not fitted yet; call `fit` first")

    def _fingerprint(self, signal):
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("initial_filters", "callback", "checkpoint", "progress",
                               "max_iter")}
        params["random_state"] = repr(params["random_state"])
        return json.dumps({"params": params, "shape": list(signal.shape),
                           "dtype": str(signal.dtype),
                           "checksum": float(array_module(signal).sum(signal ** 2))},
                          sort_keys=True, default=str)

    def _load_checkpoint(self, fingerprint, xp):
        if not os.path.exists(self.checkpoint):
            return None
        with np.load(self.checkpoint, allow_pickle=False) as archive:
            if str(archive["fingerprint"]) != fingerprint:
                raise ValueError(f"checkpoint {self.checkpoint!r} belongs to another problem or "
                                 "other parameters; remove it or choose another path")
            arrays = {name: xp.asarray(archive[name]) for name in archive.files
                      if name not in ("fingerprint", "meta")}
            meta = json.loads(str(archive["meta"]))
        coding = CodingState(arrays["coding_split"], arrays["coding_split_dual"],
                             arrays["codes"], arrays["codes_dual"])
        dictionary = DictionaryState(arrays["dictionary_split"], arrays["dictionary_split_dual"],
                                     arrays["filters"], arrays.get("filters_dual"))
        return LearningState(coding, dictionary, arrays.get("anchor_codes"), meta["iteration"],
                             meta["best_objective"], meta["history"])


def _save_checkpoint(path, state, fingerprint):
    arrays = {
        "coding_split": state.coding.split, "coding_split_dual": state.coding.split_dual,
        "codes": state.coding.codes, "codes_dual": state.coding.codes_dual,
        "dictionary_split": state.dictionary.split,
        "dictionary_split_dual": state.dictionary.split_dual,
        "filters": state.dictionary.filters,
    }
    if state.dictionary.filters_dual is not None:
        arrays["filters_dual"] = state.dictionary.filters_dual
    if state.anchor_codes is not None:
        arrays["anchor_codes"] = state.anchor_codes
    meta = {"iteration": state.iteration, "best_objective": state.best_objective,
            "history": state.history}
    _atomic_savez(path, fingerprint=np.asarray(fingerprint), meta=np.asarray(json.dumps(meta)),
                  **{name: to_numpy(value) for name, value in arrays.items()})


def _atomic_savez(path, **arrays):
    """Write an ``.npz`` through a temporary file in the same folder, then rename it."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(suffix=".npz", dir=folder)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
