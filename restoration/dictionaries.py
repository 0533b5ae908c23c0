"""The dictionaries of the restoration pipeline: gray float32 filters from a file, an estimator or
an array, and the bundled candidates (``restoration.datasets.DEFAULT_DICTIONARIES``)."""

from pathlib import Path

import numpy as np

from csc import ConvolutionalDictionary
from csc.backend import to_numpy
from csc.images import as_array

from .datasets import DEFAULT_DICTIONARIES, DEFAULT_DICTIONARY

__all__ = ["load_dictionary", "load_dictionaries"]


def load_dictionary(dictionary=None):
    """Gray filters ``(n_filters, s, s)`` as float32 from a dictionary specification.

    Parameters
    ----------
    dictionary : None, str, path, ConvolutionalDictionary or ndarray of shape (n_filters, s, s)
        None loads the bundled default (``restoration.datasets.DEFAULT_DICTIONARY``); a path
        loads a file written by :meth:`csc.ConvolutionalDictionary.save` (``cogd learn``).

    Returns
    -------
    ndarray of shape (n_filters, s, s), float32

    Raises
    ------
    ValueError
        A file that cannot be read or is not a dictionary file, an unfitted estimator, or filters
        that are not real, finite, square and gray (at least one filter), naming ``dictionary``.

    Examples
    --------
    >>> from restoration import load_dictionary
    >>> load_dictionary().shape
    (36, 12, 12)
    """
    if dictionary is None:
        dictionary = DEFAULT_DICTIONARY
    if isinstance(dictionary, str | Path):
        try:
            dictionary = ConvolutionalDictionary.load(dictionary)
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"`dictionary`: {error}") from None
    if isinstance(dictionary, ConvolutionalDictionary):
        if not hasattr(dictionary, "filters_"):
            raise ValueError("`dictionary` is a ConvolutionalDictionary that is not fitted")
        dictionary = dictionary.filters_
    filters = as_array(to_numpy(dictionary), name="dictionary", xp=np)
    if filters.ndim == 4 and filters.shape[1] == 1:
        filters = filters[:, 0]
    if filters.ndim != 3 or filters.shape[1] != filters.shape[2] or filters.dtype.kind != "f" \
            or 0 in filters.shape:
        raise ValueError(f"`dictionary` must hold gray square float filters (n_filters, s, s), "
                         f"at least one, got shape {filters.shape} and dtype {filters.dtype}")
    if not np.all(np.isfinite(filters)):
        raise ValueError("`dictionary` contains NaN or infinite values")
    return filters.astype(np.float32)


def load_dictionaries(dictionary=None):
    """The candidate dictionaries of :func:`restoration.restore`, each by :func:`load_dictionary`.

    Parameters
    ----------
    dictionary : None, one dictionary specification, or a list or tuple of them
        None: the bundled dictionaries (``restoration.datasets.DEFAULT_DICTIONARIES``).

    Returns
    -------
    tuple of ndarray of shape (n_filters, s, s), float32

    Raises
    ------
    ValueError
        An empty list, or a specification :func:`load_dictionary` refuses.
    """
    if dictionary is None:
        dictionary = DEFAULT_DICTIONARIES
    if isinstance(dictionary, list | tuple):
        if not dictionary:
            raise ValueError("`dictionary` is an empty list; give at least one dictionary")
        return tuple(load_dictionary(item) for item in dictionary)
    return (load_dictionary(dictionary),)
