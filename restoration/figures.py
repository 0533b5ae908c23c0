"""Figures of protocol runs: convergence curves, filter grids, before/after panels (PNG).

Drawn on :class:`matplotlib.figure.Figure` objects rendered by the Agg canvas: pyplot is never
imported, so the caller's backend and open figures are left alone. Files are written atomically.
"""

import numpy as np

from csc.validation import check_int

from .io import atomic_write

__all__ = ["require_matplotlib", "plot_convergence", "plot_filters", "plot_panel"]

DPI = 100


def require_matplotlib():
    """Raise ImportError with install instructions when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("the figures need matplotlib: pip install 'cogd[examples]' "
                          "(or leave the figures out)") from None


def _figure(size):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=DPI)


def _save_figure(figure, path, *, gray=False):
    """Render with Agg and write a PNG atomically; ``gray`` stores one 8-bit channel."""
    import imageio.v3 as iio
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    if gray:  # ITU-R 601 luma, as Pillow's "L" conversion
        pixels = np.round(pixels @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    atomic_write(path, lambda temporary: iio.imwrite(temporary, pixels, extension=".png"))


def plot_convergence(histories, path, *, title=None):
    """Objective per outer iteration, one line per label (e.g. ADMM vs CoGD), written as PNG.

    Parameters
    ----------
    histories : dict of label -> sequence of float
        Objective per outer iteration (index 0 = initial point); a label may also map to a
        list of sequences (several seeds), drawn with the same colour.
    path : str
    title : str or None

    Raises
    ------
    TypeError
        ``histories`` is not a non-empty dict.
    """
    if not isinstance(histories, dict) or not histories:
        raise TypeError(f"`histories` must be a non-empty dict of label -> objectives, got "
                        f"{type(histories).__name__}")
    figure = _figure((5, 3.5))
    axis = figure.subplots()
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
    """Grid of learned filters ``(n_filters, s, s)``, each scaled to its own range, as PNG.

    Raises
    ------
    ValueError
        ``filters`` is not a finite real array of shape ``(n_filters, s, s)`` with a filter.
    """
    filters = np.asarray(filters)
    if filters.ndim != 3 or 0 in filters.shape or filters.dtype.kind not in "biuf" \
            or not np.all(np.isfinite(filters)):
        raise ValueError(f"`filters` must be finite real filters of shape (n_filters, s, s), got "
                         f"shape {filters.shape} and dtype {filters.dtype}")
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
    figure = _figure((5, 5 * rows / columns))
    axis = figure.subplots()
    axis.imshow(canvas, cmap="gray", interpolation="nearest")
    axis.set_axis_off()
    figure.tight_layout()
    _save_figure(figure, path, gray=True)


def plot_panel(truth, observed, restored, path, *, mask=None, n_columns=5):
    """Rows original / observed (inpainting) / restored of the first images, as PNG.

    Raises
    ------
    ValueError
        The three stacks are not real ``(n_images, H, W)`` arrays of one shape, or
        ``n_columns`` is not an integer >= 1.
    """
    truth, observed, restored = (np.asarray(a) for a in (truth, observed, restored))
    for name, stack in (("truth", truth), ("observed", observed), ("restored", restored)):
        if stack.ndim != 3 or 0 in stack.shape or stack.shape != truth.shape \
                or stack.dtype.kind not in "biuf":
            raise ValueError(f"`{name}` must be real images of shape (n_images, H, W) like "
                             f"`truth`, got shape {stack.shape} and dtype {stack.dtype}")
    check_int("n_columns", n_columns, 1)
    n_columns = min(n_columns, len(truth))
    low, high = np.percentile(truth, [0.5, 99.5])
    rows = [("original", truth)]
    if mask is not None:
        rows.append(("observed", np.where(mask, observed, low)))
    rows.append(("restored", restored))
    figure = _figure((1.2 * n_columns, 1.2 * len(rows)))
    axes = figure.subplots(len(rows), n_columns, squeeze=False)
    for row_axes, (label, stack) in zip(axes, rows, strict=True):
        for column, axis in enumerate(row_axes):
            axis.imshow(stack[column], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
        row_axes[0].set_ylabel(label)
    figure.tight_layout()
    _save_figure(figure, path, gray=True)
