"""What the outer loop of every fit shares, in process (:mod:`csc.learn`) and on Dask
(:mod:`csc.distributed`): the starting filters, the acceptance rule, the progress bar, the hook
run after each outer iteration (progress, checkpoint, callback) and the fingerprint that ties a
checkpoint to its problem.
"""

import dataclasses
import json

import numpy as np

from .backend import array_module, to_numpy

__all__ = ["initial_dictionary", "accept_iteration", "progress_bar", "iteration_hook",
           "fingerprint", "sum_of_squares"]


def initial_dictionary(n_filters, filter_size, n_channels, *, initial_filters=None,
                       random_state=None):
    """Starting filters ``(n_filters, n_channels, s, s)`` (float64, NumPy), each of unit norm.

    ``initial_filters`` ``(n_filters, s, s)`` or ``(n_filters, n_channels, s, s)`` when given,
    otherwise a standard normal draw from ``numpy.random.default_rng(random_state)``.

    Raises
    ------
    ValueError
        ``initial_filters`` of another shape, not real, or not finite.
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


def progress_bar(options, initial):
    """A tqdm bar over the outer iterations of a fit, starting at ``initial``."""
    from tqdm.auto import tqdm

    return tqdm(total=options.max_iter, desc=f"cdl[{options.optimizer}]", initial=initial,
                unit="it")


def iteration_hook(*, bar, save, callback):
    """The callback of a fit's outer loop: progress, checkpoint, then the user's callback.

    Parameters
    ----------
    bar : tqdm bar or None
    save : callable(LearningState) or None
        Writes the checkpoint.
    callback : callable(LearningState) -> bool or None
        The user's callback; True stops the fit.

    Returns
    -------
    callable(LearningState) -> bool
        True to stop.
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


def fingerprint(signal_shape, dtype, sum_of_squares, n_filters, filter_size, options,
                channel_axis, random_state, *, online=None):
    """Text identifying the problem and the parameters a checkpoint may resume.

    ``sum_of_squares`` of the padded signal (float64) enters rounded to 8 significant digits, so
    that a sum taken group by group (a distributed fit) gives the fingerprint of the whole; None
    for online learning, whose data stream is not part of its problem (``online``: its
    settings).
    """
    params = {name: value for name, value in dataclasses.asdict(options).items()
              if name != "max_iter"}  # a fit may be resumed with more iterations
    if params["group_size"] is None:  # as in the checkpoints written before it existed
        del params["group_size"]
    params.update(n_filters=n_filters, filter_size=filter_size, channel_axis=channel_axis,
                  random_state=repr(random_state))
    if online is not None:
        params.update(online=online)
    checksum = None if sum_of_squares is None else float(f"{sum_of_squares:.8g}")
    return json.dumps({"params": params, "shape": list(signal_shape), "dtype": str(dtype),
                       "checksum": checksum}, sort_keys=True, default=str)


def sum_of_squares(signal):
    """``sum(signal ** 2)`` in float64 (the checksum of :func:`fingerprint`)."""
    xp = array_module(signal)
    return float(xp.sum(xp.square(signal, dtype=xp.float64)))
