"""The fruit/city evaluation protocol (SPEC 1.4): learn, restore, measure, tabulate, plot.

The pipeline is a set of pure functions that return plain dicts; writing files and figures is
separate (:func:`write_results`), and nothing here prints. ``cogd evaluate`` is a thin wrapper.

Protocol: the ten images of a set, gray and contrast-normalised (:func:`load_protocol_images`);
100 filters 11x11, ``lambda = 1`` and 20 outer x (10 + 10) inner iterations (the
:class:`csc.ConvolutionalDictionary` defaults); one dictionary learned from all ten images
jointly. Reconstruction: mask 1, the training codes are decoded. Inpainting: each pixel kept with
probability 0.75 (mask drawn from ``default_rng(seed)``), the dictionary learned from the
incomplete images, then the codes re-solved with the learned dictionary (``model.encode``) and
decoded. The seed also draws the initial dictionary (``default_rng(seed).standard_normal``, the
same draw as ``random_state=seed``).
"""

import csv
import io
import json
import os
import time

import numpy as np

from .io import atomic_write, write_text
from .metrics import protocol_psnr, protocol_ssim, psnr, psnr_missing, ssim

__all__ = [
    "TASKS",
    "PUBLISHED",
    "load_protocol_images",
    "protocol_mask",
    "initial_dictionary",
    "image_metrics",
    "summarize",
    "evaluate",
    "evaluate_set",
    "result_stem",
    "output_paths",
    "to_markdown",
    "to_csv",
    "to_json",
    "write_results",
    "plot_convergence",
    "plot_filters",
    "plot_panel",
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
    from data import load_image_set

    from .preprocess import local_contrast_normalize, rgb_to_gray

    return local_contrast_normalize(rgb_to_gray(load_image_set(set_name)))


def protocol_mask(shape, seed, *, kept=KEPT_FRACTION):
    """Boolean mask (True = observed), each pixel kept with probability ``kept``."""
    return np.random.default_rng(seed).random(shape) >= 1.0 - kept


def initial_dictionary(n_filters, filter_size, seed):
    """Random normal initial filters ``(n_filters, s, s)`` (projected by the learner)."""
    return np.random.default_rng(seed).standard_normal((n_filters, filter_size, filter_size))


def image_metrics(reference, estimate, mask=None):
    """Metrics of one image: papers' protocol PSNR/SSIM, standard PSNR/SSIM, missing-pixel PSNR.

    Standard metrics use ``data_range = reference.max() - reference.min()``; ``psnr_missing``
    (over ``mask == False``) is None without a mask or when nothing is missing.
    """
    data_range = float(reference.max() - reference.min())
    row = {"protocol_psnr": protocol_psnr(reference, estimate),
           "protocol_ssim": protocol_ssim(reference, estimate),
           "psnr": psnr(reference, estimate, data_range=data_range),
           "ssim": ssim(reference, estimate, data_range=data_range),
           "psnr_missing": None}
    if mask is not None and not np.all(mask):
        row["psnr_missing"] = psnr_missing(reference, estimate, mask, data_range=data_range)
    return row


def summarize(rows):
    """Mean of every metric over the per-image rows (None when a metric is absent)."""
    means = {}
    for key in METRIC_KEYS:
        values = [row[key] for row in rows if row.get(key) is not None]
        means[key] = float(np.mean(values)) if values else None
    return means


def evaluate(images, *, task="reconstruct", optimizer="admm", seed=0, max_iter=20,
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
    seed : int
        Draws the initial dictionary and (inpainting) the mask.
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
        Unknown task, or invalid learner parameters.
    """
    from csc import ConvolutionalDictionary

    if task not in TASKS:
        raise ValueError(f"`task` must be one of {TASKS}, got {task!r}")
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"`images` must have shape (n_images, H, W), got {images.shape}")
    if not 0 < kept <= 1:
        raise ValueError(f"`kept` must be in (0, 1], got {kept!r}")
    mask = protocol_mask(images.shape, seed, kept=kept) if task == "inpaint" else \
        np.ones(images.shape, bool)
    observed = images * mask
    model = ConvolutionalDictionary(
        n_filters, filter_size, sparsity_weight=sparsity_weight, optimizer=optimizer,
        max_iter=max_iter, coupling=coupling, coupling_quantiles=tuple(coupling_quantiles),
        backtrack_rate=backtrack_rate,
        initial_filters=initial_dictionary(n_filters, filter_size, seed), progress=progress,
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
        "config": {"set": set_name, "task": task, "optimizer": optimizer, "seed": seed,
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


def evaluate_set(set_name, **options):
    """:func:`evaluate` on a bundled set (``'fruit'`` or ``'city'``)."""
    return evaluate(load_protocol_images(set_name), set_name=set_name, **options)


# -- tables --------------------------------------------------------------------------------------
def result_stem(config):
    """File stem of a run, e.g. ``fruit_inpaint_cogd_seed0``."""
    return f"{config['set']}_{config['task']}_{config['optimizer']}_seed{config['seed']}"


def output_paths(out_dir, stem, *, figures=True):
    """Paths written by :func:`write_results`, by kind."""
    kinds = ["md", "csv", "json"] + (["convergence", "filters", "panel"] if figures else [])
    return {kind: os.path.join(out_dir, f"{stem}.{kind}" if kind in ("md", "csv", "json")
                               else f"{stem}_{kind}.png") for kind in kinds}


def _fmt(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


_COLUMNS = (("protocol_psnr", "PSNR (papers)", 2), ("protocol_ssim", "SSIM (papers)", 4),
            ("psnr", "PSNR", 2), ("ssim", "SSIM", 4), ("psnr_missing", "PSNR missing", 2))


def to_markdown(result):
    """Markdown report of one run: configuration, per-image table, averages, objective, time."""
    config = result["config"]
    columns = [c for c in _COLUMNS if c[0] != "psnr_missing" or config["task"] == "inpaint"]
    lines = [f"# {config['set']} {config['task']}, optimizer={config['optimizer']}, "
             f"seed {config['seed']}", "",
             f"{config['n_images']} images, {config['n_filters']} filters "
             f"{config['filter_size']}x{config['filter_size']}, lambda "
             f"{config['sparsity_weight']}, {config['max_iter']} outer iterations, "
             f"{100 * config['kept']:.0f} % of pixels kept, {config['dtype']}"
             + (f", coupling {config['coupling']}" if config["coupling"] else "") + ".", "",
             "| image | " + " | ".join(c[1] for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for row in result["per_image"]:
        lines.append(f"| {row['image']} | "
                     + " | ".join(_fmt(row[k], d) for k, _, d in columns) + " |")
    lines.append("| **mean** | "
                 + " | ".join(_fmt(result["averages"][k], d) for k, _, d in columns) + " |")
    lines += ["", f"Final objective {result['objective']:.2f}, nnz {result['nnz']:.5f} "
              f"(fit, {config['max_iter']} outer iterations)."]
    if result["encode_objective"] is not None:
        lines.append(f"Re-solved codes: objective {result['encode_objective']:.2f}, "
                     f"nnz {result['encode_nnz']:.5f}.")
    lines += [f"Time: fit {result['fit_seconds']:.1f} s, total {result['seconds']:.1f} s.", ""]
    return "\n".join(lines)


def to_csv(result):
    """CSV of one run: one row per image, then a ``mean`` row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", *METRIC_KEYS, "objective", "nnz", "seconds"])
    for row in result["per_image"]:
        writer.writerow([row["image"], *("" if row[k] is None else repr(row[k])
                                         for k in METRIC_KEYS), "", "", ""])
    averages = result["averages"]
    writer.writerow(["mean", *("" if averages[k] is None else repr(averages[k])
                               for k in METRIC_KEYS),
                     repr(result["objective"]), repr(result["nnz"]), repr(result["seconds"])])
    return buffer.getvalue()


def to_json(result):
    """JSON text of a run (everything but the arrays)."""
    return json.dumps({k: v for k, v in result.items() if k != "arrays"}, indent=1)


def write_results(result, out_dir, *, force=False, figures=True, stem=None):
    """Write the Markdown, CSV and JSON tables and (optionally) the figures of one run.

    Parameters
    ----------
    result : dict
        From :func:`evaluate`.
    out_dir : str
        Existing folder.
    force : bool
        Overwrite existing files; otherwise raise before writing anything.
    figures : bool
        Also write the convergence plot, the filter grid and the before/after panel (PNG,
        needs matplotlib).
    stem : str or None
        File stem; :func:`result_stem` by default.

    Returns
    -------
    dict of paths by kind

    Raises
    ------
    FileExistsError
        An output exists and ``force`` is False.
    ImportError
        ``figures`` without matplotlib.
    """
    paths = output_paths(out_dir, stem or result_stem(result["config"]), figures=figures)
    existing = [path for path in paths.values() if os.path.exists(path)]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} exists; pass force=True (--force) to overwrite it")
    if figures:
        require_pyplot()  # fail before writing anything
    write_text(paths["md"], to_markdown(result))
    write_text(paths["csv"], to_csv(result))
    write_text(paths["json"], to_json(result))
    if figures:
        label = result["config"]["optimizer"]
        plot_convergence({label: result["history"]["objective"]}, paths["convergence"],
                         title=_title(result["config"]))
        plot_filters(result["arrays"]["filters"], paths["filters"])
        arrays = result["arrays"]
        plot_panel(arrays["truth"], arrays["observed"], arrays["restored"], paths["panel"],
                   mask=arrays["mask"] if result["config"]["task"] == "inpaint" else None)
    return paths


def _title(config):
    return f"{config['set']} {config['task']}, seed {config['seed']}"


# -- figures -------------------------------------------------------------------------------------
def require_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError("the figures need matplotlib: pip install 'cogd[examples]' "
                          "(or leave the figures out)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(figure, path, *, gray=False):
    """Save as PNG atomically; ``gray`` stores one 8-bit channel (a quarter of the size)."""
    plt = require_pyplot()

    def write(temporary):
        figure.savefig(temporary, dpi=100, format="png")
        if gray:
            from PIL import Image

            with Image.open(temporary) as image:
                image.convert("L").save(temporary, format="png", optimize=True)

    try:
        atomic_write(path, write)
    finally:
        plt.close(figure)


def plot_convergence(histories, path, *, title=None):
    """Objective per outer iteration, one line per label (e.g. ADMM vs CoGD), written as PNG.

    Parameters
    ----------
    histories : dict of label -> sequence of float
        Objective per outer iteration (index 0 = initial point); a label may also map to a
        list of sequences (several seeds), drawn with the same colour.
    path : str
    title : str or None
    """
    plt = require_pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.5))
    for index, (label, values) in enumerate(histories.items()):
        runs = values if values and isinstance(values[0], (list, tuple, np.ndarray)) else [values]
        for run_index, run in enumerate(runs):
            axis.plot(np.arange(len(run)), run, color=f"C{index}", alpha=0.8,
                      label=label if run_index == 0 else None)
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("outer iteration")
    axis.set_ylabel("objective F")
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    axis.legend()
    if title:
        axis.set_title(title)
    figure.tight_layout()
    _save_figure(figure, path)


def plot_filters(filters, path):
    """Grid of learned filters ``(n_filters, s, s)``, each scaled to its own range, as PNG."""
    plt = require_pyplot()
    filters = np.asarray(filters)
    n = len(filters)
    columns = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / columns))
    s = filters.shape[-1]
    canvas = np.full((rows * (s + 1) + 1, columns * (s + 1) + 1), np.nan)
    for index, kernel in enumerate(filters):
        low, high = kernel.min(), kernel.max()
        r, c = divmod(index, columns)
        canvas[1 + r * (s + 1):1 + r * (s + 1) + s, 1 + c * (s + 1):1 + c * (s + 1) + s] = \
            (kernel - low) / (high - low) if high > low else 0.5
    figure, axis = plt.subplots(figsize=(5, 5 * rows / columns))
    axis.imshow(canvas, cmap="gray", interpolation="nearest")
    axis.set_axis_off()
    figure.tight_layout()
    _save_figure(figure, path, gray=True)


def plot_panel(truth, observed, restored, path, *, mask=None, n_columns=5):
    """Rows original / observed (inpainting) / restored of the first images, as PNG."""
    plt = require_pyplot()
    n_columns = min(n_columns, len(truth))
    low, high = np.percentile(truth, [0.5, 99.5])
    rows = [("original", truth)]
    if mask is not None:
        rows.append(("observed", np.where(mask, observed, low)))
    rows.append(("restored", restored))
    figure, axes = plt.subplots(len(rows), n_columns, figsize=(1.2 * n_columns, 1.2 * len(rows)),
                                squeeze=False)
    for row_axes, (label, stack) in zip(axes, rows, strict=True):
        for column, axis in enumerate(row_axes):
            axis.imshow(stack[column], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(label)
    figure.tight_layout()
    _save_figure(figure, path, gray=True)
