"""Tables and files of a protocol run: Markdown, CSV and JSON reports, written atomically.

:func:`write_results` writes the tables of a :func:`restoration.protocol.evaluate` result and,
optionally, its figures (:mod:`restoration.figures`).
"""

import csv
import io
import json
import os

from .figures import plot_convergence, plot_filters, plot_panel, require_matplotlib
from .io import write_text
from .protocol import METRIC_KEYS

__all__ = ["result_stem", "output_paths", "to_markdown", "to_csv", "to_json", "write_results"]


def result_stem(config):
    """File stem of a run, e.g. ``fruit_inpaint_cogd_seed0``."""
    return f"{config['set']}_{config['task']}_{config['optimizer']}_seed{config['seed']}"


def output_paths(out_dir, stem, *, figures=True):
    """Paths written by :func:`write_results`, by kind."""
    kinds = ["md", "csv", "json"] + (["convergence", "filters", "panel"] if figures else [])
    return {kind: os.path.join(out_dir, f"{stem}.{kind}" if kind in ("md", "csv", "json")
                               else f"{stem}_{kind}.png") for kind in kinds}


_RESULT_KEYS = ("config", "per_image", "averages", "objective", "nnz", "encode_objective",
                "encode_nnz", "fit_seconds", "seconds")


def _check_result(result):
    """``result`` is a dict as :func:`restoration.protocol.evaluate` returns."""
    if not isinstance(result, dict):
        raise TypeError(f"`result` must be the dict of restoration.protocol.evaluate, got "
                        f"{type(result).__name__}")
    missing = [key for key in _RESULT_KEYS if key not in result]
    if missing:
        raise ValueError(f"`result` is not a result of restoration.protocol.evaluate (no "
                         f"{', '.join(missing)})")


def _fmt(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


_COLUMNS = (("protocol_psnr", "PSNR (papers)", 2), ("protocol_ssim", "SSIM (papers)", 4),
            ("psnr", "PSNR", 2), ("ssim", "SSIM", 4), ("psnr_missing", "PSNR missing", 2))


def to_markdown(result):
    """Markdown report of one run: configuration, per-image table, averages, objective, time."""
    _check_result(result)
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
    _check_result(result)
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
    _check_result(result)
    return json.dumps({k: v for k, v in result.items() if k != "arrays"}, indent=1)


def write_results(result, out_dir, *, force=False, figures=True, stem=None):
    """Write the Markdown, CSV and JSON tables and (optionally) the figures of one run.

    Parameters
    ----------
    result : dict
        From :func:`restoration.protocol.evaluate`.
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
    TypeError, ValueError
        ``result`` is not a result of :func:`restoration.protocol.evaluate`, or ``out_dir`` is
        not an existing folder.
    FileExistsError
        An output exists and ``force`` is False.
    ImportError
        ``figures`` without matplotlib.
    """
    _check_result(result)
    if not os.path.isdir(out_dir):
        raise ValueError(f"`out_dir` must be an existing folder, got {out_dir!r}")
    paths = output_paths(out_dir, stem or result_stem(result["config"]), figures=figures)
    existing = [path for path in paths.values() if os.path.exists(path)]
    if existing and not force:
        raise FileExistsError(f"{existing[0]} exists; pass force=True (--force) to overwrite it")
    if figures:
        require_matplotlib()  # fail before writing anything
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
