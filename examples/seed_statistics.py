"""Per-seed summaries shared by the digits examples: mean ± spread and paired differences.

Imported by ``irda_digits.py`` and ``prune_digits.py`` (run as scripts, so this directory is on
``sys.path``); nothing else imports it.
"""

from __future__ import annotations

import math
import platform
import statistics


def mean_spread(values):
    """``"mean ± sample std"`` of ``values`` (spread 0 for a single value), two decimals."""
    values = list(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.fmean(values):.2f} ± {spread:.2f}"


def paired_difference(first, second):
    """Summary of the per-seed differences ``first[i] - second[i]``.

    Parameters
    ----------
    first, second : sequence of float
        Values of two methods on the same seeds, in the same order.

    Returns
    -------
    dict
        ``differences`` (per seed), ``mean``, ``spread`` (sample std of the differences, 0 for
        one seed), ``half_width`` (2 standard errors, ``2 spread / sqrt(n)``) and ``exceeds``:
        whether ``|mean| > half_width``, i.e. whether the mean difference is larger than its
        seed-to-seed noise (with one seed: never).

    Examples
    --------
    >>> summary = paired_difference([99.0, 98.0, 99.5], [98.0, 97.5, 98.0])
    >>> summary["mean"], summary["exceeds"]
    (1.0, True)
    """
    differences = [a - b for a, b in zip(first, second, strict=True)]
    mean = statistics.fmean(differences)
    spread = statistics.stdev(differences) if len(differences) > 1 else 0.0
    half_width = 2 * spread / math.sqrt(len(differences))
    return dict(differences=differences, mean=mean, spread=spread, half_width=half_width,
                exceeds=len(differences) > 1 and abs(mean) > half_width)


def paired_rows(pairs):
    """Markdown table of paired differences; ``pairs`` maps a label to ``(first, second)``."""
    lines = ["| difference (points) | per seed | mean ± spread | 2 s.e. | exceeds the noise? |",
             "|---|---|---|---|---|"]
    for label, (first, second) in pairs.items():
        summary = paired_difference(first, second)
        per_seed = " / ".join(f"{d:+.2f}" for d in summary["differences"])
        verdict = ("yes" if summary["exceeds"] else "no") + (
            f" ({'higher' if summary['mean'] > 0 else 'lower'})" if summary["exceeds"] else "")
        lines.append(f"| {label} | {per_seed} | {summary['mean']:+.2f} ± {summary['spread']:.2f} "
                     f"| {summary['half_width']:.2f} | {verdict} |")
    return lines


def environment():
    """One line: machine, Python and library versions (torch, NumPy, scikit-learn)."""
    import numpy
    import sklearn
    import torch

    return (f"{platform.platform()}, {platform.machine()} ({platform.processor() or 'unknown'}), "
            f"Python {platform.python_version()}, torch {torch.__version__}, "
            f"NumPy {numpy.__version__}, scikit-learn {sklearn.__version__}, "
            f"{torch.get_num_threads()} torch thread(s)")
