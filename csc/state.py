"""The state of a fit, its result and its history, and the state's checkpoint arrays.

What every fit shares (in process, :mod:`csc.learn`, and on Dask, :mod:`csc.distributed`): the
warm-start state of the dictionary step (:class:`DictionaryState`, beside
:class:`csc.coding.CodingState` of the coding step), the whole state of a fit
(:class:`LearningState`), its result (:class:`LearnedDictionary`), one history row per outer
iteration (:func:`record`), and the state as the named arrays and metadata of a checkpoint file
(:func:`state_to_arrays`, :func:`state_from_arrays`; :func:`join_arrays` joins those of chunks),
written and read by :func:`save_state` and :func:`load_state` (the file format is
:mod:`csc.persistence`'s).
"""

from dataclasses import dataclass, field

import numpy as np

from .backend import array_module, to_numpy
from .coding import CodingState
from .persistence import load_checkpoint, save_checkpoint

__all__ = ["DictionaryState", "LearningState", "LearnedDictionary", "HISTORY_KEYS", "record",
           "nnz_fraction", "state_to_arrays", "join_arrays", "state_from_arrays", "save_state",
           "load_state"]

HISTORY_KEYS = ("objective", "data_term", "nnz", "seconds", "accepted", "backtracked",
                "dictionary_seconds", "coupling_seconds", "coding_seconds")


@dataclass
class DictionaryState:
    """Warm-start state of :func:`csc.dictionary.admm_dictionary_update`.

    Attributes
    ----------
    split, split_dual : ndarray of shape (n_images, n_channels, Hp, Wp)
        Data split ``Y1 ~ X d`` and its scaled dual.
    filters : ndarray of shape (n_filters, n_channels, Hp, Wp)
        Projected filters ``G`` (the returned dictionary, zero outside the window); None in a
        chunk of a Dask fit (the driver holds them).
    filters_dual : ndarray of shape (n_groups, n_filters, n_channels, Hp, Wq) or None
        Spectra of the scaled duals of the group copies of ``G`` (None until first used, reset
        when the number of groups changes).
    """

    split: object
    split_dual: object
    filters: object
    filters_dual: object = None


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
    """Result of :func:`csc.learn_dictionary`.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, s, s), or (n_filters, n_channels, s, s) for colour
    codes : ndarray of shape (n_images, n_filters, H + s - 1, W + s - 1)
        Codes of the training images, on the padded grid, in the images' array type: NumPy or
        CuPy for NumPy or CuPy images; for a ``dask.array.Array`` of images a
        ``dask.array.Array`` (one chunk per group of the dictionary step) whether the fit ran
        on a cluster or, without a ``distributed.Client``, in this process.
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


# -- the state in a checkpoint -----------------------------------------------------------------
# What resuming needs, and no more: the dense arrays (the ADMM splits and duals, the filters and
# their group copies' duals), and the codes and the coupling's anchor codes, which are sparse, as
# their non-zero entries (flat index and value); a state without anchor codes (a fit with
# optimizer='admm' has no use for them) stores none.
_STATE_ARRAYS = {  # file name -> (state part, attribute)
    "coding_split": ("coding", "split"), "coding_split_dual": ("coding", "split_dual"),
    "codes_dual": ("coding", "codes_dual"),
    "dictionary_split": ("dictionary", "split"),
    "dictionary_split_dual": ("dictionary", "split_dual"),
    "filters": ("dictionary", "filters"), "filters_dual": ("dictionary", "filters_dual"),
}
_SPARSE_ARRAYS = ("codes", "anchor_codes")


def _sparse(state, name):
    return state.anchor_codes if name == "anchor_codes" else \
        getattr(state.coding, "codes", None)


def state_to_arrays(state):
    """A :class:`LearningState` as the arrays and metadata of a checkpoint.

    Returns
    -------
    arrays : dict of str -> ndarray
        NumPy arrays by file name (those that are None, or in a part that is None, left out);
        the codes and anchor codes as ``<name>_index`` (flat int64 indices of the non-zero
        entries) and ``<name>_value``.
    meta : dict
        ``iteration``, ``best_objective`` and ``history`` (JSON-serialisable).
    """
    arrays = {name: getattr(getattr(state, part), attribute, None)
              for name, (part, attribute) in _STATE_ARRAYS.items()}
    for name in _SPARSE_ARRAYS:
        values = _sparse(state, name)
        if values is not None:
            flat = values.reshape(-1)
            index = array_module(values).flatnonzero(flat)
            arrays[f"{name}_index"], arrays[f"{name}_value"] = index.astype("int64"), flat[index]
    meta = {"iteration": state.iteration, "best_objective": state.best_objective,
            "history": state.history}
    return {name: to_numpy(value) for name, value in arrays.items() if value is not None}, meta


def join_arrays(shares):
    """The checkpoint arrays of consecutive shares of a state along the image axis (each of
    :func:`state_to_arrays`, e.g. the chunks of a Dask fit) as those of the whole: dense arrays
    concatenated along their first axis (images, or groups for ``filters_dual``), the sparse
    entries' flat indices shifted by the entries of the shares before."""
    offsets = np.cumsum([0] + [share["codes_dual"].size for share in shares[:-1]])
    joined = {}
    for name in shares[0]:
        parts = [share[name] for share in shares]
        if name.endswith("_index"):
            parts = [part + offset for part, offset in zip(parts, offsets, strict=True)]
        joined[name] = np.concatenate(parts)
    return joined


def state_from_arrays(arrays, meta, *, xp, path):
    """The :class:`LearningState` of a checkpoint's arrays and metadata (inverse of
    :func:`state_to_arrays`), its arrays on the device of ``xp``.

    Parameters
    ----------
    arrays, meta
        As :func:`csc.persistence.load_checkpoint` returns them.
    path : path-like
        The checkpoint's, for the message.

    Raises
    ------
    ValueError
        An array or a metadata entry is missing or does not fit the others (naming the file).
    """
    try:
        dense = {name: arrays[f"{name}_value"] for name in _SPARSE_ARRAYS
                 if f"{name}_value" in arrays}
        for name, values in dense.items():
            dense[name] = np.zeros(arrays["codes_dual"].shape, arrays["codes_dual"].dtype)
            dense[name].reshape(-1)[arrays[f"{name}_index"]] = values
        arrays = {name: xp.asarray(value) for name, value in {**arrays, **dense}.items()}
        coding = CodingState(*(arrays[name] for name in ("coding_split", "coding_split_dual",
                                                          "codes", "codes_dual")))
        dictionary = DictionaryState(arrays["dictionary_split"], arrays["dictionary_split_dual"],
                                     arrays["filters"], arrays.get("filters_dual"))
        history = meta["history"]
        for key in HISTORY_KEYS:  # checkpoints written before the per-step times were recorded
            history.setdefault(key, [0.0] * len(history["objective"]))
        return LearningState(coding, dictionary, arrays.get("anchor_codes"), meta["iteration"],
                             meta["best_objective"], history)
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as error:
        raise ValueError(f"checkpoint {str(path)!r} is incomplete or damaged ({error}); remove "
                         "it or choose another path") from None


def save_state(path, state, *, fingerprint):
    """Write ``state`` (a :class:`LearningState`) as the checkpoint ``path`` (atomically).

    ``fingerprint``: the text identifying the problem (:func:`csc.outer_loop.fingerprint`).
    """
    arrays, meta = state_to_arrays(state)
    save_checkpoint(path, arrays, fingerprint=fingerprint, meta=meta)


def load_state(path, *, fingerprint, xp):
    """The :class:`LearningState` of the checkpoint ``path``, or None when there is no file.

    Raises
    ------
    ValueError
        The file is damaged, incomplete or belongs to another problem (another
        ``fingerprint``), naming it.
    """
    stored = load_checkpoint(path, fingerprint=fingerprint)
    return None if stored is None else state_from_arrays(*stored, xp=xp, path=path)
