"""Small problems shared by the csc tests."""

import numpy as np

from csc.fourier import pad_filters, pad_signal, spatial, spectra
from csc.prox import filter_support_mask, project_filters
from csc.state import DictionaryState


def coding_problem(seed=0, *, n_images=2, size=16, n_filters=4, filter_size=5, missing=0.3,
                   dtype=np.float64):
    """Padded signal, weights and filter spectra of a small masked coding problem."""
    rng = np.random.default_rng(seed)
    grid = (size + filter_size - 1,) * 2
    support = filter_support_mask(grid, filter_size, dtype=np.float64, xp=np)
    filters = project_filters(
        pad_filters(rng.standard_normal((n_filters, 1, filter_size, filter_size)), grid, xp=np),
        support, xp=np)
    images = rng.standard_normal((n_images, 1, size, size))
    mask = (rng.random(images.shape) >= missing).astype(float)
    signal = pad_signal(images * mask, filter_size, xp=np).astype(dtype)
    weights = pad_signal(mask, filter_size, xp=np).astype(dtype)
    return signal, weights, spectra(filters.astype(dtype), xp=np)


def dictionary_problem(seed=0, n_images=3, size=14, n_filters=4, s=4):
    """Masked signal, weights, sparse codes, a DictionaryState and the filter support of a small
    dictionary-step problem."""
    rng = np.random.default_rng(seed)
    grid = (size + s - 1,) * 2
    codes = rng.standard_normal((n_images, n_filters) + grid) * (rng.random(
        (n_images, n_filters) + grid) < 0.1)
    signal = np.zeros((n_images, 1) + grid)
    signal[..., s - 1:, s - 1:] = rng.standard_normal((n_images, 1, size, size))
    weights = np.zeros_like(signal)
    weights[..., s - 1:, s - 1:] = rng.random((n_images, 1, size, size)) > 0.2
    support = filter_support_mask(grid, s, dtype=np.float64, xp=np)
    filters = project_filters(rng.standard_normal((n_filters, 1) + grid), support, xp=np)
    state = DictionaryState(np.zeros_like(signal), np.zeros_like(signal), filters)
    return signal * weights, weights, codes, state, support


def data_gradient(signal, weights, filters_hat, codes):
    """``D^T W (D X - S)`` in the spatial domain."""
    from csc.fourier import analyze, synthesize

    grid = signal.shape[-2:]
    residual = weights * (spatial(synthesize(filters_hat, spectra(codes, xp=np), xp=np), grid,
                                  xp=np) - signal)
    return spatial(analyze(filters_hat, spectra(residual, xp=np), xp=np), grid, xp=np)


#: the ways a dictionary file can be damaged, for :func:`write_dictionary_file`
DICTIONARY_DAMAGES = ("empty", "bytes", "zip header", "truncated", "npy", "directory", "1-D",
                      "5-D uint16", "uint16", "nan", "bad json", "json list", "unknown parameter",
                      "wrong n_filters", "no params")


def write_dictionary_file(path, filters, damage=None):
    """A dictionary file of ``filters`` ``(n_filters, s, s)`` at ``path``, damaged as named
    (one of :data:`DICTIONARY_DAMAGES`, or None for an intact one)."""
    import json
    import os

    params = {"n_filters": len(filters), "filter_size": filters.shape[-1]}
    entries = {"filters": filters, "params": np.asarray(json.dumps(params))}
    raw = {"empty": b"", "bytes": b"not a dictionary", "zip header": b"PK\x03\x04garbage"}
    if damage in raw:
        path.write_bytes(raw[damage])
    elif damage == "npy":
        with open(path, "wb") as stream:
            np.save(stream, filters)
    elif damage == "directory":
        os.mkdir(path)
    else:
        changed = {
            None: {}, "truncated": {},
            "1-D": {"filters": np.zeros(5)},
            "5-D uint16": {"filters": np.zeros((2, 1, 1, 3, 3), np.uint16)},
            "uint16": {"filters": filters.astype(np.uint16)},
            "nan": {"filters": np.full_like(filters, np.nan)},
            "bad json": {"params": np.asarray("{bad")},
            "json list": {"params": np.asarray("[1, 2]")},
            "unknown parameter": {"params": np.asarray(json.dumps({**params, "speed": 1}))},
            "wrong n_filters": {"params": np.asarray(json.dumps({**params, "n_filters": 99}))},
            "no params": {"params": None},
        }[damage]
        entries = {k: v for k, v in {**entries, **changed}.items() if v is not None}
        np.savez(path, **entries)
        if damage == "truncated":
            path.write_bytes(path.read_bytes()[:200])
