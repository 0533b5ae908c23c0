"""Convolutional dictionary learning as a function: options, the alternating loop, checkpoints.

:func:`learn_dictionary` is the functional form of :class:`csc.ConvolutionalDictionary` (as
scikit-learn's ``dict_learning`` is of ``DictionaryLearning``): it takes images like ``fit``,
validates everything once (:class:`LearningOptions` validates the solver options when built), and
runs :func:`alternating_minimization`, the kernel loop on the padded channels-first arrays.
"""

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .backend import array_module, check_memory, float_dtype, is_dask_array, to_numpy
from .coding import CodingState, admm_sparse_code, objective_terms
from .coupling import COUPLING_RULES, couple_dictionary
from .dictionary import DictionaryState, admm_dictionary_update
from .fourier import crop_filters, pad_filters, spectra
from .images import prepare_signal
from .persistence import load_checkpoint, save_checkpoint
from .prox import filter_support_mask, project_filters
from .validation import (
    check_bool,
    check_callable,
    check_choice,
    check_in_range,
    check_int,
    check_positive,
    check_random_state,
    check_representable,
    is_number,
    is_positive,
)

__all__ = ["LearningOptions", "LearningState", "LearnedDictionary", "learn_dictionary",
           "alternating_minimization", "accept_iteration", "encode_signal", "filter_spectra",
           "OPTIMIZERS", "DICTIONARY_SOLVERS"]

OPTIMIZERS = ("admm", "cogd")
# images per group of the dictionary step (None: one group), see csc.dictionary
DICTIONARY_SOLVERS = {"auto": 10, "woodbury": None, "consensus": 1}
# code-sized arrays held at once by a fit (codes, duals, anchors, spectra, dictionary step)
LEARNING_COPIES = 8
HISTORY_KEYS = ("objective", "data_term", "nnz", "seconds", "accepted", "backtracked",
                "dictionary_seconds", "coupling_seconds", "coding_seconds")


@dataclass(frozen=True)
class LearningOptions:
    """Solver options of dictionary learning, validated when built.

    The fields are the parameters of :class:`csc.ConvolutionalDictionary` with the same names
    and defaults (see there); ``coding_penalty=None`` becomes ``(1, 3 * sparsity_weight)``.

    Raises
    ------
    ValueError
        A value out of its range, naming the field.
    """

    sparsity_weight: float = 1.0
    optimizer: str = "admm"
    max_iter: int = 20
    coding_iter: int = 10
    dictionary_iter: int = 10
    coding_penalty: tuple | None = None
    dictionary_penalty: tuple = (1.0, 30.0)
    relaxation: float = 1.8
    dictionary_solver: str = "auto"
    non_negative: bool = False
    coupling: str = "reference"
    coupling_quantiles: tuple = (0.5, 0.5)
    backtrack_rate: float = 1.0
    group_size: int | None = None

    def __post_init__(self):
        for name in ("max_iter", "coding_iter", "dictionary_iter"):
            check_int(name, getattr(self, name), 1)
        check_positive("sparsity_weight", self.sparsity_weight)
        coding_penalty = self.coding_penalty
        if coding_penalty is None:
            coding_penalty = (1.0, 3.0 * float(self.sparsity_weight))
        for name, value in (("coding_penalty", coding_penalty),
                            ("dictionary_penalty", self.dictionary_penalty)):
            if (not isinstance(value, tuple | list) or len(value) != 2
                    or not all(is_positive(v) for v in value)):
                raise ValueError(f"`{name}` must be a pair of positive floats, got {value!r}")
        check_in_range("relaxation", self.relaxation, 0, 2, closed=(False, False))
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("dictionary_solver", self.dictionary_solver, tuple(DICTIONARY_SOLVERS))
        check_choice("coupling", self.coupling, COUPLING_RULES)
        quantiles = self.coupling_quantiles
        if (not isinstance(quantiles, tuple | list) or len(quantiles) != 2
                or not all(is_number(q) and 0 <= q <= 1 for q in quantiles)):
            raise ValueError(f"`coupling_quantiles` must be two numbers in [0, 1], "
                             f"got {quantiles!r}")
        check_in_range("backtrack_rate", self.backtrack_rate, 0, 1, closed=(False, True))
        check_bool("non_negative", self.non_negative)
        if self.group_size is not None:
            check_int("group_size", self.group_size, 1)
            if self.dictionary_solver != "auto":
                raise ValueError(f"`group_size` sets the groups of the 'auto' dictionary solver; "
                                 f"leave it None with dictionary_solver="
                                 f"{self.dictionary_solver!r}")
        normalized = {
            "sparsity_weight": float(self.sparsity_weight),
            "coding_penalty": tuple(float(v) for v in coding_penalty),
            "dictionary_penalty": tuple(float(v) for v in self.dictionary_penalty),
            "relaxation": float(self.relaxation), "non_negative": bool(self.non_negative),
            "coupling_quantiles": tuple(float(q) for q in quantiles),
            "backtrack_rate": float(self.backtrack_rate),
        }
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    def check_precision(self, dtype):
        """Refuse weights and penalties that overflow or vanish in the working ``dtype``.

        Raises
        ------
        ValueError
            ``sparsity_weight`` or a penalty outside the range of
            :func:`csc.validation.check_representable`.
        """
        check_representable("sparsity_weight", self.sparsity_weight, dtype)
        for name in ("coding_penalty", "dictionary_penalty"):
            for value in getattr(self, name):
                check_representable(name, value, dtype)

    @property
    def images_per_group(self):
        """Most images per group of the dictionary step (None: one group of all images)."""
        if self.group_size is not None:
            return self.group_size
        return DICTIONARY_SOLVERS[self.dictionary_solver]

    @classmethod
    def field_names(cls):
        """Names of the options (a subset of the estimator's parameters)."""
        return tuple(f.name for f in dataclasses.fields(cls))


@dataclass
class LearningState:
    """Everything an interrupted fit needs to resume (arrays on the working device)."""

    coding: CodingState
    dictionary: DictionaryState
    anchor_codes: object = None
    iteration: int = 0
    best_objective: float = float("inf")
    history: dict = field(default_factory=lambda: {key: [] for key in HISTORY_KEYS})


@dataclass(frozen=True)
class LearnedDictionary:
    """Result of :func:`learn_dictionary`.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, s, s), or (n_filters, n_channels, s, s) for colour
    codes : ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Codes of the training images, on the padded grid.
    n_iter : int
        Outer iterations run (a resumed fit counts the earlier ones).
    history : dict of lists
        See :class:`csc.ConvolutionalDictionary`.
    n_channels : int
    """

    filters: object
    codes: object
    n_iter: int
    history: dict
    n_channels: int


def learn_dictionary(images, mask=None, *, n_filters=100, filter_size=11, options=None,
                     channel_axis=None, initial_filters=None, random_state=None, checkpoint=None,
                     progress=False, callback=None):
    """Learn convolutional filters from images (the functional form of ``fit``).

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W), (H, W), or with a colour axis
        NumPy or CuPy; float32/float64 kept, integers scaled by :func:`csc.images.as_float`.
        A ``dask.array.Array`` (image axis first) is learned from on the active
        ``distributed.Client``'s workers (:func:`csc.distributed.learn_dictionary_distributed`).
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
    if is_dask_array(images):
        from .distributed import learn_dictionary_distributed

        return learn_dictionary_distributed(
            images, mask, n_filters=n_filters, filter_size=filter_size, options=options,
            channel_axis=channel_axis, initial_filters=initial_filters,
            random_state=random_state, checkpoint=checkpoint, progress=progress,
            callback=callback)
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
    state = None
    if checkpoint:
        stored = load_checkpoint(checkpoint, fingerprint=key)
        state = None if stored is None else _state_from_arrays(*stored, xp=xp, path=checkpoint)
    bar = progress_bar(options, state.iteration if state else 0) if progress else None

    def save(current):
        arrays, meta = _state_to_arrays(current)
        save_checkpoint(checkpoint, arrays, fingerprint=key, meta=meta)

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
                             {key: list(values) for key, values in state.history.items()},
                             n_channels)


def progress_bar(options, initial):
    """A tqdm bar over the outer iterations of a fit, starting at ``initial``."""
    from tqdm.auto import tqdm

    return tqdm(total=options.max_iter, desc=f"cdl[{options.optimizer}]", initial=initial,
                unit="it")


def iteration_hook(*, bar, save, callback):
    """The ``callback`` of :func:`alternating_minimization` for a fit: progress, checkpoint, user.

    Parameters
    ----------
    bar : tqdm bar or None
    save : callable(LearningState) or None
        Writes the checkpoint.
    callback : callable(LearningState) -> bool or None
        The user's callback; True stops the fit.
    """
    def after_iteration(current):
        if bar is not None:
            history = current.history
            bar.set_postfix(objective=f"{history['objective'][-1]:.5g}",
                            nnz=f"{history['nnz'][-1]:.4f}")
        if save is not None:
            save(current)
        return bool(callback(current)) if callback is not None else False

    return after_iteration


def initial_dictionary(n_filters, filter_size, n_channels, *, initial_filters=None,
                       random_state=None):
    """Starting filters ``(n_filters, n_channels, s, s)`` (float64, NumPy), each of unit norm.

    ``initial_filters`` ``(n_filters, s, s)`` or ``(n_filters, n_channels, s, s)`` when given,
    otherwise a standard normal draw from ``numpy.random.default_rng(random_state)``.
    """
    shape = (n_filters, n_channels, filter_size, filter_size)
    if initial_filters is None:
        initial = np.random.default_rng(random_state).standard_normal(shape)
    else:
        initial = np.asarray(to_numpy(initial_filters))
        if initial.dtype.kind not in "biuf":
            raise ValueError(f"`initial_filters` must hold real numbers, got dtype {initial.dtype}")
        if not np.all(np.isfinite(initial)):
            raise ValueError("`initial_filters` contains NaN or infinite values")
        initial = initial.astype(np.float64)
        if initial.ndim == 3:
            initial = initial[:, None]
        if initial.shape != shape:
            raise ValueError(f"`initial_filters` must have shape ({n_filters}, {filter_size}, "
                             f"{filter_size}) or {shape}, got {initial.shape}")
    norms = np.linalg.norm(initial.reshape(n_filters, -1), axis=1)
    return initial / np.maximum(norms, 1e-12)[:, None, None, None]


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
        state.anchor_codes = codes
        coupling_seconds, clock = time.perf_counter() - clock, time.perf_counter()
        filters_hat = spectra(state.dictionary.filters, xp=xp)
        coded = admm_sparse_code(
            signal, weights, filters_hat, sparsity_weight=lam,
            rho_data=options.coding_penalty[0], rho_sparse=options.coding_penalty[1],
            max_iter=options.coding_iter, relaxation=options.relaxation,
            non_negative=options.non_negative, state=state.coding, filter_size=filter_size,
            xp=xp,
        )
        state.coding = coded.state
        coding_seconds = time.perf_counter() - clock
        terms = objective_terms(signal, weights, filters_hat, state.coding.codes,
                                sparsity_weight=lam, reconstruction=coded.reconstruction, xp=xp)

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


def accept_iteration(terms, best_objective, history, fallback_terms):
    """The acceptance rule of an outer iteration (SPEC 1.3), shared by every fit.

    The coded iterate is kept when its objective did not increase; otherwise the dictionary step
    alone (new filters, the codes before the coding step) when it did not, and failing that the
    previous iterate.

    Parameters
    ----------
    terms : (float, float)
        Objective terms of the coded iterate.
    best_objective : float
    history : dict
        The fit's history (the previous iterate's terms are its last entries).
    fallback_terms : callable() -> (float, float)
        Restores the codes before the coding step and returns the terms of the dictionary step's
        filters with them; called only when the coded iterate is rejected.

    Returns
    -------
    (accepted, kept, terms)
        ``kept`` is ``'step'``, ``'dictionary'`` or ``'previous'``; ``terms`` those of the kept
        iterate.
    """
    if sum(terms) <= best_objective:
        return True, "step", terms
    fallback = fallback_terms()
    if sum(fallback) <= best_objective:
        return False, "dictionary", fallback
    return False, "previous", (history["data_term"][-1],
                               history["objective"][-1] - history["data_term"][-1])


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
        sparsity_weight=options.sparsity_weight, rho_data=options.coding_penalty[0],
        rho_sparse=options.coding_penalty[1], max_iter=max_iter, relaxation=options.relaxation,
        non_negative=options.non_negative, filter_size=filters.shape[-1], xp=xp,
    ).coefficients


def nnz_fraction(codes):
    """Fraction of non-zero entries of ``codes``."""
    return float(array_module(codes).count_nonzero(codes)) / codes.size


def record(history, terms, nnz, *, seconds, accepted, n_backtracked, step_seconds):
    """Append one outer iteration to a fit's ``history`` (keys :data:`HISTORY_KEYS`)."""
    data_term, l1_term = terms
    history["objective"].append(data_term + l1_term)
    history["data_term"].append(data_term)
    history["nnz"].append(nnz)
    history["seconds"].append(seconds)
    history["accepted"].append(bool(accepted))
    history["backtracked"].append(int(n_backtracked))
    for key, value in zip(("dictionary_seconds", "coupling_seconds", "coding_seconds"),
                          step_seconds, strict=True):
        history[key].append(value)


# -- checkpoints -----------------------------------------------------------------------------
_STATE_ARRAYS = {  # file name -> (state part, attribute)
    "coding_split": ("coding", "split"), "coding_split_dual": ("coding", "split_dual"),
    "codes": ("coding", "codes"), "codes_dual": ("coding", "codes_dual"),
    "dictionary_split": ("dictionary", "split"),
    "dictionary_split_dual": ("dictionary", "split_dual"),
    "filters": ("dictionary", "filters"), "filters_dual": ("dictionary", "filters_dual"),
}


def fingerprint(signal_shape, dtype, sum_of_squares, n_filters, filter_size, options,
                channel_axis, random_state):
    """Text identifying the problem and the parameters a checkpoint may resume.

    ``sum_of_squares`` of the padded signal (float64) enters rounded to 8 significant digits, so
    that a sum taken group by group (a distributed fit) gives the fingerprint of the whole.
    """
    params = {name: value for name, value in dataclasses.asdict(options).items()
              if name != "max_iter"}  # a fit may be resumed with more iterations
    if params["group_size"] is None:  # as in the checkpoints written before it existed
        del params["group_size"]
    params.update(n_filters=n_filters, filter_size=filter_size, channel_axis=channel_axis,
                  random_state=repr(random_state))
    return json.dumps({"params": params, "shape": list(signal_shape), "dtype": str(dtype),
                       "checksum": float(f"{sum_of_squares:.8g}")},
                      sort_keys=True, default=str)


def sum_of_squares(signal):
    """``sum(signal ** 2)`` in float64 (the checksum of :func:`fingerprint`)."""
    xp = array_module(signal)
    return float(xp.sum(xp.square(signal, dtype=xp.float64)))


def _state_to_arrays(state):
    arrays = {name: getattr(getattr(state, part), attribute)
              for name, (part, attribute) in _STATE_ARRAYS.items()}
    arrays["anchor_codes"] = state.anchor_codes
    meta = {"iteration": state.iteration, "best_objective": state.best_objective,
            "history": state.history}
    return {name: to_numpy(value) for name, value in arrays.items() if value is not None}, meta


def _state_from_arrays(arrays, meta, *, xp, path):
    try:
        arrays = {name: xp.asarray(value) for name, value in arrays.items()}
        coding = CodingState(*(arrays[name] for name in ("coding_split", "coding_split_dual",
                                                          "codes", "codes_dual")))
        dictionary = DictionaryState(arrays["dictionary_split"], arrays["dictionary_split_dual"],
                                     arrays["filters"], arrays.get("filters_dual"))
        history = meta["history"]
        for key in HISTORY_KEYS:  # checkpoints written before the per-step times were recorded
            history.setdefault(key, [0.0] * len(history["objective"]))
        return LearningState(coding, dictionary, arrays.get("anchor_codes"), meta["iteration"],
                             meta["best_objective"], history)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"checkpoint {str(path)!r} is incomplete (no {error}); remove it or "
                         "choose another path") from None
