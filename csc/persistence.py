"""Files: the project's one atomic writer, and the dictionary and checkpoint ``.npz`` formats.

Every file the project writes (dictionaries, checkpoints, images, evaluation tables and figures)
goes through :func:`atomic_write`: a temporary file in the destination's folder, renamed onto
the destination when complete, so an output is never half written; it gets the mode of a newly
created file (``0o666`` less the umask, 0644 under the usual umask 022).

Formats (NumPy ``.npz``, no pickles):

- dictionary: ``filters`` ``(n_filters, s, s)`` or ``(n_filters, n_channels, s, s)``, ``params``
  (JSON text of the estimator's parameters) and ``history`` (JSON text of its history);
- checkpoint: the solver's arrays by name, ``fingerprint`` (text identifying the problem and
  parameters) and ``meta`` (JSON text: iteration, best objective, history).
"""

import json
import os
import tempfile
import threading
import zipfile

import numpy as np

__all__ = ["atomic_write", "current_umask", "save_npz", "save_dictionary",
           "read_dictionary_file", "save_checkpoint", "load_checkpoint"]


def atomic_write(path, write):
    """Call ``write(temporary_path)``, then rename the temporary file onto ``path``.

    The temporary file lies in the destination's folder and keeps its suffix (so that writers
    choosing the format from it work); it is removed if ``write`` fails. The file gets the mode
    ``0o666 & ~umask`` that ``open`` would give a new file (``mkstemp`` creates it 0600).

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
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


_UMASK_LOCK = threading.Lock()


def current_umask():
    """The process's umask, read without changing it where the system allows.

    Linux reports it in ``/proc/self/status``; elsewhere it is set and restored at once (under a
    lock, so this module's own writers never see the temporary value).
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:
        umask = os.umask(0o022)
        os.umask(umask)
    return umask


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


def _open_npz(path, kind):
    """``np.load`` of an ``.npz`` archive; every way a file can fail to be one is a ValueError."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else \
            type(error).__name__
        if "pickle" in reason:  # numpy's message for a file that is not an .npz archive
            reason = "not a NumPy .npz archive"
        raise ValueError(f"cannot load {kind} {str(path)!r}: {reason}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"cannot load {kind} {str(path)!r}: a .npy array, not an .npz archive")
    return archive


def _read_json(archive, key, path, kind):
    try:
        return json.loads(str(archive[key][()]))
    except (ValueError, TypeError, KeyError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"cannot load {kind} {str(path)!r}: entry {key!r} is not valid JSON "
                         f"text ({error})") from None


def _read_array(archive, key, path, kind):
    try:
        return archive[key]
    except (ValueError, zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"cannot load {kind} {str(path)!r}: entry {key!r} is damaged "
                         f"({error})") from None


def read_dictionary_file(path):
    """Read the arrays of a dictionary file: ``(filters, params, history)``.

    (:meth:`csc.ConvolutionalDictionary.load` builds the estimator from them.)

    Raises
    ------
    ValueError
        The file cannot be read, is not a saved dictionary, or its filters are not real, finite
        and of shape ``(n_filters, s, s)`` or ``(n_filters, n_channels, s, s)`` (naming the file).
    """
    kind = "dictionary"
    with _open_npz(path, kind) as archive:
        missing = {"filters", "params"} - set(archive.files)
        if missing:
            raise ValueError(f"{str(path)!r} is not a saved ConvolutionalDictionary "
                             f"(missing {sorted(missing)})")
        params = _read_json(archive, "params", path, kind)
        history = _read_json(archive, "history", path, kind) if "history" in archive else {}
        filters = _read_array(archive, "filters", path, kind)
    if not isinstance(params, dict) or not isinstance(history, dict):
        raise ValueError(f"cannot load {kind} {str(path)!r}: 'params' and 'history' must be "
                         "JSON objects")
    if filters.ndim not in (3, 4) or filters.shape[-1] != filters.shape[-2] \
            or filters.dtype.kind != "f" or 0 in filters.shape:
        raise ValueError(f"{str(path)!r} must hold real float filters of shape (n_filters, s, s) "
                         f"or (n_filters, n_channels, s, s), got shape {filters.shape} and dtype "
                         f"{filters.dtype}")
    if not np.all(np.isfinite(filters)):
        raise ValueError(f"{str(path)!r}: the filters contain NaN or infinite values")
    return filters, params, history


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
        The file cannot be read or is not a checkpoint, or its fingerprint differs from
        ``fingerprint`` (another problem or other parameters).
    """
    if not os.path.exists(path):
        return None
    kind = "checkpoint"
    with _open_npz(path, kind) as archive:
        if not {"fingerprint", "meta"} <= set(archive.files):
            raise ValueError(f"{str(path)!r} is not a checkpoint (a dictionary file?); remove it "
                             "or choose another path")
        if str(_read_array(archive, "fingerprint", path, kind)) != fingerprint:
            raise ValueError(f"checkpoint {str(path)!r} belongs to another problem or other "
                             "parameters; remove it or choose another path")
        arrays = {name: _read_array(archive, name, path, kind) for name in archive.files
                  if name not in ("fingerprint", "meta")}
        meta = _read_json(archive, "meta", path, kind)
    if not isinstance(meta, dict):
        raise ValueError(f"cannot load {kind} {str(path)!r}: 'meta' must be a JSON object")
    return arrays, meta
