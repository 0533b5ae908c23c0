"""Files: the project's one atomic writer, and the dictionary and checkpoint ``.npz`` formats.

Every file the project writes (dictionaries, checkpoints, images, evaluation tables and figures)
goes through :func:`atomic_write`: a temporary file in the destination's folder, renamed onto
the destination when complete, so an output is never half written.

Formats (NumPy ``.npz``, no pickles):

- dictionary: ``filters`` ``(n_filters, s, s)`` or ``(n_filters, n_channels, s, s)``, ``params``
  (JSON text of the estimator's parameters) and ``history`` (JSON text of its history);
- checkpoint: the solver's arrays by name, ``fingerprint`` (text identifying the problem and
  parameters) and ``meta`` (JSON text: iteration, best objective, history).
"""

import json
import os
import tempfile

import numpy as np

__all__ = ["atomic_write", "save_npz", "save_dictionary", "load_dictionary",
           "save_checkpoint", "load_checkpoint"]


def atomic_write(path, write):
    """Call ``write(temporary_path)``, then rename the temporary file onto ``path``.

    The temporary file lies in the destination's folder and keeps its suffix (so that writers
    choosing the format from it work); it is removed if ``write`` fails.

    Parameters
    ----------
    path : path-like
    write : callable(str)
        Writes the whole file at the path it is given.
    """
    folder = os.path.dirname(os.path.abspath(path))
    suffix = os.path.splitext(path)[1]
    handle, temporary = tempfile.mkstemp(prefix=".partial-", suffix=suffix, dir=folder)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def save_npz(path, **arrays):
    """:func:`numpy.savez` through :func:`atomic_write`."""

    def write(temporary):
        with open(temporary, "wb") as stream:
            np.savez(stream, **arrays)

    atomic_write(path, write)


def _json_array(value):
    return np.asarray(json.dumps(value))


def save_dictionary(path, filters, *, params, history):
    """Write a dictionary file (module docstring).

    Parameters
    ----------
    path : path-like
    filters : ndarray of shape (n_filters, s, s) or (n_filters, n_channels, s, s)
    params : dict
        JSON-serialisable estimator parameters.
    history : dict of lists
    """
    save_npz(path, filters=np.asarray(filters), history=_json_array(history),
             params=_json_array(params))


def load_dictionary(path):
    """Read a dictionary file; return ``(filters, params, history)``.

    Raises
    ------
    ValueError
        The file is not a saved dictionary.
    """
    with np.load(path, allow_pickle=False) as archive:
        missing = {"filters", "params"} - set(archive.files)
        if missing:
            raise ValueError(f"{str(path)!r} is not a saved ConvolutionalDictionary "
                             f"(missing {sorted(missing)})")
        params = json.loads(str(archive["params"]))
        history = json.loads(str(archive["history"])) if "history" in archive else {}
        return archive["filters"], params, history


def save_checkpoint(path, arrays, *, fingerprint, meta):
    """Write a checkpoint (module docstring).

    Parameters
    ----------
    path : path-like
    arrays : dict of str -> ndarray
        NumPy arrays (copy device arrays to the host first).
    fingerprint : str
    meta : dict
        JSON-serialisable.
    """
    save_npz(path, fingerprint=np.asarray(fingerprint), meta=_json_array(meta), **arrays)


def load_checkpoint(path, *, fingerprint):
    """Read a checkpoint; return ``(arrays, meta)``, or None when ``path`` does not exist.

    Raises
    ------
    ValueError
        The checkpoint's fingerprint differs from ``fingerprint`` (another problem or other
        parameters).
    """
    if not os.path.exists(path):
        return None
    with np.load(path, allow_pickle=False) as archive:
        if str(archive["fingerprint"]) != fingerprint:
            raise ValueError(f"checkpoint {str(path)!r} belongs to another problem or other "
                             "parameters; remove it or choose another path")
        arrays = {name: archive[name] for name in archive.files
                  if name not in ("fingerprint", "meta")}
        return arrays, json.loads(str(archive["meta"]))
