"""The fruit/city evaluation protocol (SPEC 1.4): learn, restore, measure.

Pure functions that return plain dicts; tables and files are :mod:`restoration.reports`, figures
:mod:`restoration.figures`, and nothing here prints. ``cogd evaluate`` is a thin wrapper.

Protocol: the ten images of a set, gray and contrast-normalised (:func:`load_protocol_images`);
100 filters 11x11, ``lambda = 1`` and 20 outer x (10 + 10) inner iterations (the
:class:`csc.ConvolutionalDictionary` defaults); one dictionary learned from all ten images
jointly. Reconstruction: mask 1, the training codes are decoded. Inpainting: each pixel kept with
probability 0.75 (mask drawn from ``default_rng(random_state)``), the dictionary learned from the
incomplete images, then the codes re-solved with the learned dictionary (``model.encode``) and
decoded. ``random_state`` also draws the initial dictionary (it is passed to the estimator as
its ``random_state``). Results record it as ``seed``, the ``cogd evaluate --seed`` of their file
names and tables.
"""

import time

import numpy as np

from csc.images import as_float
from csc.validation import check_bool, check_choice, check_in_range, check_int

from .metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim

__all__ = [
    "TASKS",
    "PUBLISHED",
    "METRIC_KEYS",
    "load_protocol_images",
    "protocol_mask",
    "image_metrics",
    "summarize",
    "evaluate",
    "evaluate_set",
]

TASKS = ("reconstruct", "inpaint")
KEPT_FRACTION = 0.75

#: Published averages (papers' protocol PSNR, SSIM), SPEC 1.4.
PUBLISHED = {
    "FFCSC": {("fruit", "reconstruct"): (26.70, 0.9602), ("city", "reconstruct"): (26.98, 0.9618),
              ("fruit", "inpaint"): (23.65, 0.9000), ("city", "inpaint"): (24.31, 0.9199)},
    "CoGD": {("fruit", "reconstruct"): (27.60, 0.9635), ("city", "reconstruct"): (28.10, 0.9642),
             ("fruit", "inpaint"): (25.31, 0.9211), ("city", "inpaint"): (25.58, 0.9314)},
}

METRIC_KEYS = ("protocol_psnr", "protocol_ssim", "psnr", "ssim", "psnr_missing")


def load_protocol_images(set_name):
    """The ten images of a bundled set, gray and contrast-normalised, float64 (10, 100, 100)."""
    from .datasets import load_image_set
    from .preprocess import local_contrast_normalize, rgb_to_gray

    return local_contrast_normalize(rgb_to_gray(load_image_set(set_name)))


def protocol_mask(shape, random_state, *, kept=KEPT_FRACTION):
    """Boolean mask (True = observed), each pixel kept with probability ``kept``, drawn from
    ``numpy.random.default_rng(random_state)``."""
    return np.random.default_rng(random_state).random(shape) >= 1.0 - kept


def image_metrics(reference, estimate, mask=None):
    """Metrics of one image: papers' protocol PSNR/SSIM, standard PSNR/SSIM, missing-pixel PSNR.

    Standard metrics use ``data_range = reference.max() - reference.min()``; ``psnr_missing``
    (over ``mask == False``) is None without a mask or when nothing is missing.

    Raises
    ------
    ValueError
        As :func:`restoration.metrics.psnr`, or a constant ``reference`` (no range).
    """
    protocol = protocol_psnr(reference, estimate)  # checks both arrays
    data_range = float(np.ptp(np.asarray(reference, dtype=np.float64)))
    if not data_range > 0:
        raise ValueError("`reference` is constant: its range, the peak of PSNR/SSIM, is 0")
    row = {"protocol_psnr": protocol,
           "protocol_ssim": protocol_ssim(reference, estimate),
           "psnr": psnr(reference, estimate, data_range=data_range),
           "ssim": ssim(reference, estimate, data_range=data_range),
           "psnr_missing": None}
    if mask is not None and not np.all(mask):
        row["psnr_missing"] = psnr_missing(reference, estimate, mask, data_range=data_range)
    return row


def summarize(rows):
    """Mean of every metric over the per-image rows (None when a metric is absent)."""
    if not isinstance(rows, list | tuple) or not all(isinstance(row, dict) for row in rows):
        raise TypeError(f"`rows` must be a list of dicts (metrics per image), got {rows!r}")
    means = {}
    for key in METRIC_KEYS:
        values = [row[key] for row in rows if row.get(key) is not None]
        means[key] = float(np.mean(values)) if values else None
    return means


def evaluate(images, *, task="reconstruct", optimizer="admm", random_state=0, max_iter=20,
             sparsity_weight=1.0, coupling="reference", n_filters=100, filter_size=11,
             coupling_quantiles=(0.5, 0.5), backtrack_rate=1.0, kept=KEPT_FRACTION,
             dtype=np.float32, progress=False, set_name=None):
    """Run the protocol on contrast-normalised gray images; return the result dict.

    Parameters
    ----------
    images : ndarray of shape (n_images, H, W)
        Ground truth (already gray and contrast-normalised).
    task : {'reconstruct', 'inpaint'}
    optimizer : {'admm', 'cogd'}
    random_state : int
        Draws the initial dictionary (the estimator's ``random_state``) and (inpainting) the
        mask; recorded as ``config["seed"]``.
    max_iter, sparsity_weight, coupling, n_filters, filter_size, coupling_quantiles,
    backtrack_rate :
        Passed to :class:`csc.ConvolutionalDictionary`.
    kept : float
        Fraction of pixels kept for inpainting.
    dtype : numpy dtype
        Working precision of the fit.
    progress : bool
        Progress bar of the fit.
    set_name : str or None
        Recorded in the result.

    Returns
    -------
    dict
        ``config``, ``per_image`` (list of metric dicts), ``averages``, ``objective`` and ``nnz``
        (final accepted iterate of the fit), ``encode_objective``/``encode_nnz`` (inpainting:
        the re-solved codes on the incomplete images), ``fit_seconds``, ``seconds`` (fit, encode
        and metrics), ``history`` (objective, nnz, seconds per outer iteration) and ``arrays``
        (``truth``, ``mask``, ``observed``, ``restored``, ``filters``; not JSON).

    Raises
    ------
    ValueError
        Unknown task, images that are not a non-empty real stack, ``kept`` outside (0, 1],
        ``random_state`` not an integer >= 0, ``dtype`` not float32/float64, or invalid learner
        parameters (naming the argument).
    """
    from csc import ConvolutionalDictionary

    check_choice("task", task, TASKS)
    images = as_float(images, integer_dtype=np.float64).astype(np.float64)
    if images.ndim != 3 or 0 in images.shape:
        raise ValueError(f"`images` must have shape (n_images, H, W), got {images.shape}")
    check_in_range("kept", kept, 0, 1, closed=(False, True))
    check_int("random_state", random_state, 0)
    check_bool("progress", progress)
    if _float_dtype(dtype) is None:
        raise ValueError(f"`dtype` must be float32 or float64, got {dtype!r}")
    try:
        coupling_quantiles = tuple(coupling_quantiles)
    except TypeError:
        raise ValueError(f"`coupling_quantiles` must be two numbers in [0, 1], got "
                         f"{coupling_quantiles!r}") from None
    mask = protocol_mask(images.shape, random_state, kept=kept) if task == "inpaint" else \
        np.ones(images.shape, bool)
    observed = images * mask
    model = ConvolutionalDictionary(
        n_filters, filter_size, sparsity_weight=sparsity_weight, optimizer=optimizer,
        max_iter=max_iter, coupling=coupling, coupling_quantiles=tuple(coupling_quantiles),
        backtrack_rate=backtrack_rate, random_state=random_state, progress=progress,
    )
    start = time.perf_counter()
    model.fit(observed.astype(dtype), mask.astype(dtype))
    encode_objective = encode_nnz = None
    if task == "inpaint":
        codes = model.encode(observed.astype(dtype), mask.astype(dtype))
        encode_objective = float(model.objective(observed.astype(dtype), codes,
                                                 mask.astype(dtype)))
        encode_nnz = float(np.count_nonzero(codes)) / codes.size
    else:
        codes = model.codes_
    restored = np.asarray(model.decode(codes), dtype=np.float64)
    rows = [dict(image=index + 1, **image_metrics(t, r, m if task == "inpaint" else None))
            for index, (t, r, m) in enumerate(zip(images, restored, mask, strict=True))]
    seconds = time.perf_counter() - start
    history = model.history_
    return {
        "config": {"set": set_name, "task": task, "optimizer": optimizer, "seed": random_state,
                   "max_iter": max_iter, "sparsity_weight": sparsity_weight,
                   "coupling": coupling if optimizer == "cogd" else None,
                   "coupling_quantiles": list(coupling_quantiles),
                   "backtrack_rate": backtrack_rate, "n_filters": n_filters,
                   "filter_size": filter_size, "kept": kept if task == "inpaint" else 1.0,
                   "dtype": np.dtype(dtype).name, "n_images": len(images)},
        "per_image": rows,
        "averages": summarize(rows),
        "objective": float(history["objective"][-1]),
        "nnz": float(history["nnz"][-1]),
        "encode_objective": encode_objective,
        "encode_nnz": encode_nnz,
        "backtracked": int(sum(history["backtracked"])),
        "fit_seconds": float(history["seconds"][-1]),
        "seconds": float(seconds),
        "history": {key: [float(v) for v in history[key]]
                    for key in ("objective", "nnz", "seconds")},
        "arrays": {"truth": images, "mask": mask, "observed": observed, "restored": restored,
                   "filters": np.asarray(model.filters_)},
    }


def _float_dtype(dtype):
    """``dtype`` as a NumPy float32/float64 dtype, or None for anything else."""
    try:
        dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        return None
    return dtype if dtype in (np.float32, np.float64) else None


def evaluate_set(set_name, **options):
    """:func:`evaluate` on a bundled set (``'fruit'`` or ``'city'``)."""
    return evaluate(load_protocol_images(set_name), set_name=set_name, **options)
