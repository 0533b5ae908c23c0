"""Online convolutional dictionary learning: the filters updated one mini-batch of images at a time.

For image collections that do not fit in memory, or that arrive as a stream,
:func:`learn_dictionary_online` (the functional form of
:meth:`csc.ConvolutionalDictionary.partial_fit`) follows the surrogate-function (second-order)
method of Liu, Garcia-Cardona, Wohlberg and Yin (2018). For mini-batch ``t``:

1. code the batch with the current filters ``D_{t-1}`` (masked ADMM,
   :func:`csc.coding.admm_sparse_code`, or FISTA, :func:`csc.fista.fista_sparse_code`);
2. fold it into the statistics of the surrogate with forgetting, ``A <- beta_t A + sum_n
   X_n^T X_n`` and ``B <- beta_t B + sum_n X_n^T S~_n`` with ``beta_t = (1 - 1/t)^p``, so that
   batch ``tau`` weighs ``(tau / t)^p`` at step ``t`` (``p``, the forgetting exponent, discounts
   the codes of early, poor dictionaries);
3. minimise the surrogate ``1/2 <d, A d> - <B, d>`` over the constraint set (support in the
   ``s x s`` window, ``||d_k|| <= 1``) by FISTA from ``D_{t-1}``;
4. with ``optimizer='cogd'`` and the per-filter rule, move the filters whose codes collapsed while
   they moved back toward ``D_{t-1}`` (the filter half of
   :func:`csc.coupling.filter_coupling`; a batch's codes are not kept, so the code half and the
   reference rule, which need the previous codes, do not apply).

Statistics in the frequency domain, of a size independent of the images: the filters live in the
``s x s`` window, so ``X^T X`` restricted to it depends on the codes' circular cross-correlations
at lags ``|k| < s`` only (an ``M x M`` matrix per lag, ``(2s - 1)^2`` lags). ``A`` is kept as their
spectra on a ``(2s - 1) x (2s - 1)`` grid, the smallest on which circular convolution with a
filter in the window gives the window's values exactly; ``B`` is ``X^T S~`` in the window. The
paper keeps ``X^H X`` at every frequency of the image grid (``M^2`` per frequency of an image);
here the state is ``M^2 (2s - 1) s`` complex numbers whatever the number and size of the images,
so batches of different image sizes may follow each other.

Masks: ``1/2 ||W^1/2 (D X - S)||^2`` is majorised by ``1/2 ||D X - S~||^2`` plus a constant, with
equality at ``D_{t-1}``, for ``S~ = W S + (1 - W) D_{t-1} X`` (the missing pixels and the padding
filled with the current reconstruction; weights in [0, 1]): a majorise-minimise step (Mairal 2013)
that keeps the statistics those of an unmasked problem. SPORCO's masked online learner
(``OnlineConvBPDNMaskDictLearn``) is the paper's first-order (SGD) method instead.

References
----------
Liu, Garcia-Cardona, Wohlberg, Yin, "First- and second-order methods for online convolutional
dictionary learning", SIAM J. Imaging Sci. 11(2), 2018, arXiv:1709.00106.
Mairal, "Stochastic majorization-minimization algorithms for large-scale optimization", NeurIPS
2013, arXiv:1306.4650.
"""

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from .backend import check_memory, to_numpy
from .chunk import filter_spectra
from .coding import admm_sparse_code, objective_terms
from .coupling import backtrack, filter_units
from .fista import fista_sparse_code
from .fourier import crop_filters, filter_adjoint, pad_filters, spatial, spectra
from .images import prepare_signal
from .options import LEARNING_COPIES, LearningOptions
from .outer_loop import fingerprint, initial_dictionary
from .persistence import load_checkpoint, save_checkpoint
from .prox import project_filters
from .validation import check_choice, check_int, check_nonnegative, check_random_state

__all__ = ["OnlineState", "ONLINE_HISTORY_KEYS", "CODING_SOLVERS", "learn_dictionary_online",
           "read_online_checkpoint", "new_online_state", "online_step", "batch_statistics",
           "surrogate_gradient", "minimize_surrogate", "save_online_state", "load_online_state"]

CODING_SOLVERS = ("admm", "fista")
ONLINE_HISTORY_KEYS = ("objective", "data_term", "nnz", "n_images", "seconds", "backtracked",
                       "coding_seconds", "dictionary_seconds")
# filter rows of the statistics' cross-spectra taken at once (bounds their image-grid temporaries)
_ROW_BLOCK = 8


@dataclass
class OnlineState:
    """What online learning carries from one mini-batch to the next (on the working device).

    Attributes
    ----------
    filters : ndarray of shape (n_filters, n_channels, s, s)
    statistics_hat : ndarray of shape ((2s - 1) s, n_filters, n_filters), complex
        ``A``: spectra of the codes' cross-correlations at lags ``|k| < s`` on the
        ``(2s - 1) x (2s - 1)`` grid, frequency first (a Hermitian matrix per frequency).
    correlation : ndarray of shape (n_filters, n_channels, s, s)
        ``B``: ``X^T S~`` in the window.
    n_batches, n_images : int
        Mini-batches and images seen.
    history : dict of lists
        One row per mini-batch (:data:`ONLINE_HISTORY_KEYS`): the batch's ``objective``,
        ``data_term`` and ``nnz`` with the filters it was coded with, the cumulative
        ``n_images`` and ``seconds`` (compute time), ``backtracked`` filters, and the seconds of
        the coding and dictionary steps.
    """

    filters: object
    statistics_hat: object
    correlation: object
    n_batches: int = 0
    n_images: int = 0
    history: dict = field(default_factory=lambda: {key: [] for key in ONLINE_HISTORY_KEYS})


def learn_dictionary_online(images, mask=None, *, state=None, n_filters=100, filter_size=11,
                            options=None, coding_solver="admm", coding_iter=100,
                            forgetting_exponent=10.0, channel_axis=None, initial_filters=None,
                            random_state=None, checkpoint=None):
    """Update a dictionary with one mini-batch of images (the functional form of ``partial_fit``).

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W), (H, W), or with a colour axis
        NumPy or CuPy, as in :func:`csc.learn.learn_dictionary`; one mini-batch.
    mask : ndarray of the images' shape (or without the colour axis), or None
        Weights in [0, 1]: 1 (True) where a pixel is observed, 0 where it is missing.
    state : OnlineState or None
        From the previous mini-batch; None starts (or resumes ``checkpoint``).
    n_filters, filter_size : int
    options : LearningOptions or None
        ``sparsity_weight``, ``coding_penalty``, ``relaxation`` and ``non_negative`` (coding),
        ``dictionary_iter`` (FISTA iterations on the surrogate), ``optimizer``, ``coupling``
        (``'filter'`` with ``'cogd'``), ``coupling_quantiles``, ``backtrack_rate``.
    coding_solver : {'admm', 'fista'}
    coding_iter : int
        Iterations of the coding of each mini-batch.
    forgetting_exponent : float
        ``p`` >= 0 (0: every batch weighs the same).
    channel_axis, random_state : as in :func:`csc.learn.learn_dictionary`
    initial_filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
        Starting filters when there is no state (a random draw from ``random_state`` if None).
    checkpoint : path or None
        Written (atomically) after the batch; read when ``state`` is None and it exists and
        belongs to these parameters.

    Returns
    -------
    OnlineState

    Raises
    ------
    ValueError
        Invalid images, mask (weights above 1), parameters, or a state or checkpoint of another
        dictionary, naming the argument or the file.

    Examples
    --------
    >>> import numpy as np
    >>> from csc.online import learn_dictionary_online
    >>> images = np.random.default_rng(0).standard_normal((4, 24, 24)).astype(np.float32)
    >>> state = None
    >>> for batch in (images[:2], images[2:]):
    ...     state = learn_dictionary_online(batch, state=state, n_filters=4, filter_size=5,
    ...                                     coding_iter=20, random_state=0)
    >>> state.filters.shape, state.n_batches, state.n_images
    ((4, 1, 5, 5), 2, 4)
    """
    settings = _checked_settings(n_filters, filter_size, options, coding_solver, coding_iter,
                                 forgetting_exponent, random_state, checkpoint)
    options = settings.pop("options")
    signal, weights, xp = prepare_signal(images, mask, filter_size=filter_size,
                                         channel_axis=channel_axis)
    if bool(xp.any(weights > 1)):
        raise ValueError("`mask` of online learning must hold weights in [0, 1] (1 observed, "
                         f"0 missing), got a maximum of {float(xp.max(weights))}")
    options.check_precision(signal.dtype)
    n_channels = signal.shape[1]
    check_memory("n_filters", n_filters, (signal.shape[0], n_filters) + signal.shape[2:],
                 signal.dtype, copies=LEARNING_COPIES, xp=xp)
    key = _fingerprint(n_filters, filter_size, options, channel_axis, random_state, settings)
    if state is None and checkpoint is not None:
        state = load_online_state(checkpoint, fingerprint=key, xp=xp)
    if state is None:
        initial = initial_dictionary(n_filters, filter_size, n_channels,
                                     initial_filters=initial_filters, random_state=random_state)
        state = new_online_state(xp.asarray(initial.astype(signal.dtype)), xp=xp)
    expected = (n_filters, n_channels, filter_size, filter_size)
    if tuple(state.filters.shape) != expected or state.filters.dtype != signal.dtype:
        raise ValueError(f"`state` holds filters of shape {tuple(state.filters.shape)} and dtype "
                         f"{state.filters.dtype}, the images need {expected} in {signal.dtype} "
                         "(another dictionary, or images of another dtype or channel count)")
    state = OnlineState(*(xp.asarray(getattr(state, name)) for name in _ONLINE_ARRAYS),
                        state.n_batches, state.n_images, state.history)
    state = online_step(signal, weights, state, options, filter_size=filter_size, xp=xp,
                        **settings)
    if checkpoint is not None:
        save_online_state(checkpoint, state, fingerprint=key)
    return state


def read_online_checkpoint(checkpoint, *, n_filters=100, filter_size=11, options=None,
                           coding_solver="admm", coding_iter=100, forgetting_exponent=10.0,
                           channel_axis=None, random_state=None):
    """The :class:`OnlineState` (on NumPy) that :func:`learn_dictionary_online` with these
    parameters wrote to ``checkpoint``, or None when there is no such file: where a stream of
    mini-batches stopped (``n_images``), before its next batch.

    Raises
    ------
    ValueError
        Invalid parameters, or a file that is damaged or belongs to other parameters, naming it.
    """
    settings = _checked_settings(n_filters, filter_size, options, coding_solver, coding_iter,
                                 forgetting_exponent, random_state, checkpoint)
    options = settings.pop("options")
    key = _fingerprint(n_filters, filter_size, options, channel_axis, random_state, settings)
    return load_online_state(checkpoint, fingerprint=key, xp=np)


def _checked_settings(n_filters, filter_size, options, coding_solver, coding_iter,
                      forgetting_exponent, random_state, checkpoint):
    """The validated parameters of online learning: ``options`` and the online settings."""
    options = LearningOptions() if options is None else options
    if not isinstance(options, LearningOptions):
        raise TypeError(f"`options` must be a LearningOptions, got {type(options).__name__}")
    check_int("n_filters", n_filters, 1)
    check_int("filter_size", filter_size, 1)
    check_int("coding_iter", coding_iter, 1)
    check_choice("coding_solver", coding_solver, CODING_SOLVERS)
    check_nonnegative("forgetting_exponent", forgetting_exponent)
    check_random_state("random_state", random_state)
    if options.optimizer == "cogd" and options.coupling != "filter":
        raise ValueError("online learning applies the CoGD rule with coupling='filter' only "
                         "(the reference rule needs the codes of the previous outer iteration, "
                         f"which online learning does not keep), got coupling={options.coupling!r}")
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise TypeError(f"`checkpoint` must be None or a path, got {checkpoint!r}")
    return {"options": options, "coding_solver": coding_solver, "coding_iter": coding_iter,
            "forgetting_exponent": float(forgetting_exponent)}


def _fingerprint(n_filters, filter_size, options, channel_axis, random_state, settings):
    """The checkpoint's fingerprint: the parameters (no data: a stream's images may change; the
    state is checked against every batch)."""
    return fingerprint((), "any", None, n_filters, filter_size, options, channel_axis,
                       random_state, online=settings)


def new_online_state(filters, *, xp):
    """The state before the first mini-batch: ``filters`` ``(n_filters, n_channels, s, s)``
    (projected onto the constraint set) and zero statistics."""
    n_filters, n_channels, s, _ = filters.shape
    support = xp.ones((s, s), dtype=filters.dtype)
    complex_dtype = (xp.zeros(1, filters.dtype) + 0j).dtype
    return OnlineState(project_filters(filters, support, xp=xp),
                       xp.zeros(((2 * s - 1) * s, n_filters, n_filters), complex_dtype),
                       xp.zeros_like(filters))


def online_step(signal, weights, state, options, *, filter_size, coding_solver, coding_iter,
                forgetting_exponent, xp):
    """One mini-batch of online learning (kernel: inputs are valid; see the module docstring).

    Parameters
    ----------
    signal, weights : ndarray of shape (n_images, n_channels, Hp, Wp)
        From :func:`csc.images.prepare_signal`; weights in [0, 1].
    state : OnlineState
        Not changed.
    options : LearningOptions
    filter_size : int
    coding_solver, coding_iter, forgetting_exponent
        As in :func:`learn_dictionary_online`.

    Returns
    -------
    OnlineState
    """
    clock = time.perf_counter()
    filters_hat = filter_spectra(state.filters, signal.shape[-2:], signal.dtype, xp=xp)
    if coding_solver == "admm":
        coded = admm_sparse_code(signal, weights, filters_hat,
                                 **options.coding_arguments(coding_iter),
                                 filter_size=filter_size, xp=xp)
    else:
        coded = fista_sparse_code(signal, weights, filters_hat,
                                  sparsity_weight=options.sparsity_weight, max_iter=coding_iter,
                                  non_negative=options.non_negative, filter_size=filter_size,
                                  xp=xp)
    codes, reconstruction = coded.coefficients, coded.reconstruction
    terms = objective_terms(signal, weights, filters_hat, codes,
                            sparsity_weight=options.sparsity_weight,
                            reconstruction=reconstruction, xp=xp)
    coding_seconds, clock = time.perf_counter() - clock, time.perf_counter()
    filled = weights * signal + (1 - weights) * reconstruction
    statistics_hat, correlation = batch_statistics(codes, filled, filter_size, xp=xp)
    n_batches = state.n_batches + 1
    forget = (1 - 1 / n_batches) ** forgetting_exponent
    statistics_hat += forget * state.statistics_hat
    correlation += forget * state.correlation
    filters = minimize_surrogate(statistics_hat, correlation, state.filters,
                                 n_iter=options.dictionary_iter, xp=xp)
    n_backtracked = 0
    if options.optimizer == "cogd":
        units = filter_units(xp.sum(xp.abs(codes), axis=(0, 2, 3)), state.filters, filters,
                             quantiles=options.coupling_quantiles, xp=xp)
        filters = backtrack(filters, state.filters, units, rate=options.backtrack_rate, xp=xp)
        n_backtracked = int(xp.count_nonzero(units))
    dictionary_seconds = time.perf_counter() - clock
    history = {key: list(values) for key, values in state.history.items()}
    n_images = state.n_images + signal.shape[0]
    previous_seconds = history["seconds"][-1] if history["seconds"] else 0.0
    row = {"objective": sum(terms), "data_term": terms[0],
           "nnz": float(xp.count_nonzero(codes)) / codes.size, "n_images": n_images,
           "seconds": previous_seconds + coding_seconds + dictionary_seconds,
           "backtracked": n_backtracked, "coding_seconds": coding_seconds,
           "dictionary_seconds": dictionary_seconds}
    for key in ONLINE_HISTORY_KEYS:
        history[key].append(row[key])
    return OnlineState(filters, statistics_hat, correlation, n_batches, n_images, history)


def _lags(array, filter_size, *, xp):
    """The circular lags ``|k| < s`` of ``(..., Hp, Wp)`` arrays, in the circular order of a
    ``(2s - 1) x (2s - 1)`` grid (lags 0 to s - 1, then -(s - 1) to -1)."""
    height, width = array.shape[-2:]
    rows = xp.concatenate([xp.arange(filter_size), xp.arange(height - filter_size + 1, height)])
    cols = xp.concatenate([xp.arange(filter_size), xp.arange(width - filter_size + 1, width)])
    return array[..., rows[:, None], cols[None, :]]


def batch_statistics(codes, filled_signal, filter_size, *, xp):
    """One mini-batch's surrogate statistics (``A`` and ``B`` of :class:`OnlineState`).

    Parameters
    ----------
    codes : ndarray of shape (n_images, n_filters, Hp, Wp)
    filled_signal : ndarray of shape (n_images, n_channels, Hp, Wp)
        ``S~``, the signal with its missing pixels filled.
    filter_size : int

    Returns
    -------
    statistics_hat : ndarray of shape ((2s - 1) s, n_filters, n_filters), complex
        A new array (the caller may add to it in place).
    correlation : ndarray of shape (n_filters, n_channels, s, s)
    """
    grid = codes.shape[-2:]
    n_images, n_filters = codes.shape[:2]
    codes_hat = spectra(codes, xp=xp)
    by_frequency = xp.moveaxis(codes_hat.reshape(n_images, n_filters, -1), -1, 0)  # (F, n, M)
    adjoint = xp.conj(xp.swapaxes(by_frequency, 1, 2))  # (F, M, n)
    lags = []
    for start in range(0, n_filters, _ROW_BLOCK):
        cross = adjoint[:, start:start + _ROW_BLOCK] @ by_frequency  # sum_n conj(X_m) X_m'
        cross = xp.moveaxis(cross, 0, -1).reshape(cross.shape[1:] + codes_hat.shape[2:])
        lags.append(_lags(spatial(cross, grid, xp=xp), filter_size, xp=xp))
    lags_hat = spectra(xp.concatenate(lags), xp=xp)  # (M, M, 2s - 1, s)
    statistics_hat = xp.ascontiguousarray(
        xp.moveaxis(lags_hat.reshape(n_filters, n_filters, -1), -1, 0))
    correlation = crop_filters(spatial(filter_adjoint(codes_hat, spectra(filled_signal, xp=xp),
                                                      xp=xp), grid, xp=xp), filter_size)
    return statistics_hat, xp.ascontiguousarray(correlation)


def surrogate_gradient(statistics_hat, correlation, filters, *, xp):
    """``A d - B`` in the window: the gradient of the surrogate ``1/2 <d, A d> - <B, d>``.

    Parameters
    ----------
    statistics_hat : ndarray of shape ((2s - 1) s, n_filters, n_filters)
    correlation, filters : ndarrays of shape (n_filters, n_channels, s, s)

    Returns
    -------
    ndarray of shape (n_filters, n_channels, s, s)
    """
    n_filters, n_channels, s, _ = filters.shape
    small = (2 * s - 1, 2 * s - 1)
    filters_hat = spectra(pad_filters(filters, small, xp=xp), xp=xp)
    by_frequency = xp.moveaxis(filters_hat.reshape(n_filters, n_channels, -1), -1, 0)
    product = xp.moveaxis(statistics_hat @ by_frequency, 0, -1)
    product = product.reshape((n_filters, n_channels) + filters_hat.shape[2:])
    return crop_filters(spatial(product, small, xp=xp), s) - correlation


def minimize_surrogate(statistics_hat, correlation, filters, *, n_iter, xp):
    """FISTA on the surrogate over ``{d : ||d_k|| <= 1}`` from ``filters`` (kernel).

    The step is ``1 / L`` with ``L = max_f ||A_f||_2``, a bound of the largest eigenvalue of the
    windowed operator (its compression to the window). With ``A = 0`` (no non-zero code yet) the
    filters are returned as they are.

    Returns
    -------
    ndarray of shape (n_filters, n_channels, s, s)
    """
    lipschitz = float(xp.max(xp.abs(xp.linalg.eigvalsh(statistics_hat))))
    if not lipschitz > 0:
        return filters
    support = xp.ones(filters.shape[-2:], dtype=filters.dtype)
    current = momentum = filters
    t = 1.0
    for _ in range(n_iter):
        gradient = surrogate_gradient(statistics_hat, correlation, momentum, xp=xp)
        new = project_filters(momentum - gradient / lipschitz, support, xp=xp)
        t, t_prev = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * t * t)), t
        momentum = new + ((t_prev - 1.0) / t) * (new - current)
        current = new
    return current


# -- the state in a checkpoint ------------------------------------------------------------------
_ONLINE_ARRAYS = ("filters", "statistics_hat", "correlation")


def save_online_state(path, state, *, fingerprint):
    """Write an :class:`OnlineState` as the checkpoint ``path`` (atomically; the checkpoint
    format of :mod:`csc.persistence`)."""
    save_checkpoint(path, {name: to_numpy(getattr(state, name)) for name in _ONLINE_ARRAYS},
                    fingerprint=fingerprint,
                    meta={"n_batches": state.n_batches, "n_images": state.n_images,
                          "history": state.history})


def load_online_state(path, *, fingerprint, xp):
    """The :class:`OnlineState` of the checkpoint ``path``, or None when there is no file.

    Raises
    ------
    ValueError
        The file is damaged, incomplete or belongs to other parameters, naming it.
    """
    stored = load_checkpoint(path, fingerprint=fingerprint)
    if stored is None:
        return None
    arrays, meta = stored
    try:
        history = meta["history"]
        if set(history) != set(ONLINE_HISTORY_KEYS):
            raise KeyError("history")
        return OnlineState(*(xp.asarray(arrays[name]) for name in _ONLINE_ARRAYS),
                           int(meta["n_batches"]), int(meta["n_images"]), history)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"checkpoint {str(path)!r} is incomplete (no {error}); remove it or "
                         "choose another path") from None
