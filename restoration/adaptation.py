"""A dictionary adapted to the image itself: masked CoGD learning on windows of its detail layer.

The bundled dictionaries are generic; an image dominated by one repeated texture (stripes,
tiles, a woven or printed pattern) is represented far better by filters learned from the image
itself. :func:`adapt_dictionary` learns them with the project's own masked dictionary learning
(:class:`csc.ConvolutionalDictionary`, ``optimizer='cogd'``) and keeps it fast:

- only a few windows of the image are learned from, those with the most detail energy
  (:func:`learning_windows`); each window is filled and split into smooth part and detail on its
  own (with a margin of context), so learning never reads a pixel it was not given;
- the filters start from a bundled dictionary (a warm start: a few outer iterations refine
  atoms that are already good instead of growing them from noise), zero-padded to
  :data:`LEARN_FILTER_SIZE` pixels (room for a pattern's period: 16x16 filters restored tiles
  and gratings 1.6 and 2.2 dB better than 12x12 ones), with few inner ADMM iterations, and
  stop when an outer iteration lowers the objective by less than :data:`LEARN_TOL` of it.

A set of images restored together (:func:`restoration.restore_batch`) is learned from with
other settings, :data:`SET_LEARNING`: more, smaller and sparser filters from a random start, on
a coarser detail layer, for more iterations (``benchmarks/set_learning.py``, see
:data:`SET_LEARNING`); one small image alone is too little to learn such filters from (five
100x100 images of fruit, each learned from alone: -0.05 to +0.22 dB over biharmonic, against
+0.88 with the bundled dictionaries).

The pipeline (:mod:`restoration.pipeline`) adds the learned filters to the candidates of the
per-image hold-out (:mod:`restoration.selection`), which keeps them only where they predict the
hidden pixels significantly better. Learning reads no pixel of the hold-out's regions (neither
the windows' fills nor the fit; on a small image that the regions cover, none of its hidden
pixels: :meth:`restoration.selection.HoldOut.learnable`), so the pixels the hold-out hides
never enter it, and the hold-out compares the learned filters where they did not learn, as
most of the image is.
"""

import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .split import biharmonic_fill, smooth

__all__ = ["Adaptation", "Learning", "adapt_dictionary", "learning_windows", "learning_details",
           "repetition", "REPETITION", "SET_LEARNING", "SET_PIXELS", "LEARN_FILTER_SIZE",
           "LEARN_WINDOW", "LEARN_WINDOWS", "LEARN_MARGIN", "LEARN_SPARSITY", "LEARN_MAX_ITER",
           "LEARN_INNER_ITER", "LEARN_TOL", "LEARN_SMOOTHING"]

LEARN_FILTER_SIZE = 16  # side of the learned filters (the start is zero-padded to it)
LEARN_WINDOW = 64  # side of the learning windows
LEARN_WINDOWS = 8  # windows per image (an image of at most this many windows' pixels: all of it)
LEARN_MARGIN = 16  # context around each window for its own fill and smoothing
LEARN_SPARSITY = 0.2  # lambda of the learning, on the unit-RMS detail of the windows
LEARN_MAX_ITER = 10  # outer iterations at most
LEARN_INNER_ITER = 5  # ADMM iterations of each coding and dictionary step
LEARN_TOL = 0.01  # stop when an outer iteration lowers the objective by less than this fraction
LEARN_SMOOTHING = 1.0  # sigma of the smooth part of the learning windows
#: repetition() from which adapt=None learns: measured at 50 % missing on the development set
#: of benchmarks/adaptation_levers.py, its photos 0.04 to 0.21 and rocket 0.40 (the learned
#: dictionary never won there), gratings 0.83 and tiles 0.90 (it won by 2.8 and 8.7 dB): the
#: middle of the gap, so that learning's time is spent only where it has paid
REPETITION = 0.6
#: fewest pixels a set of small images (restore_batch) must let learning read for adapt=None to
#: learn from it with SET_LEARNING: eight times its filters' coefficients; on fruit at 75 % kept
#: (benchmarks/results/set_learning.md) one image (about 7000 pixels) learned nothing useful,
#: the ten (about 67000) did; between the two was not measured
SET_PIXELS = 8 * 64 * 8 * 8
REPETITION_CROP = 256  # side of the central crop repetition() measures
REPETITION_LAGS = (6, 40)  # the shifts (pixels) it looks at: beyond a filter, within a window


@dataclass(frozen=True)
class Learning:
    """Settings of :func:`adapt_dictionary` that differ between one image and a set of images.

    Attributes
    ----------
    n_filters : int or None
        Filters learned from a random start (drawn from ``random_state``); None: as many as the
        start ``initial``, from it (a warm start).
    filter_size : int
        Side of the filters.
    sparsity_weight : float
        Lambda of the learning, on the unit-RMS detail.
    max_iter, inner_iter : int
        Outer iterations at most; ADMM iterations of each coding and dictionary step.
    smoothing : float
        Sigma of the smooth part removed from the learning windows.
    tol : float
        Stop when an outer iteration lowers the objective by less than this fraction of it.
    """

    n_filters: object
    filter_size: int
    sparsity_weight: float
    max_iter: int
    inner_iter: int
    smoothing: float
    tol: float


#: The learning of :func:`restoration.restore_batch` (a set of images). Measured by
#: benchmarks/set_learning.py (benchmarks/results/set_learning.md) on fruit, seed 0, 75 % kept
#: (one dictionary learned from the ten images less their hold-out's hidden pixels, then
#: restoring each image with it alone):
#: 64 filters 8x8, lambda 0.8, 60 x (10 + 10) iterations from a random start on the contrast-
#: normalised images +0.97 dB over biharmonic (the bundled dictionaries +0.67); on the detail
#: ``x - smooth(fill, 3)`` at unit RMS +0.88 (sigma 5: +0.82, sigma 1: +0.68); lambda 0.2
#: +0.65; filters 16x16 +0.54; 10 x (5 + 5) iterations +0.78, 30 x (10 + 10) as good as 60
#: (+0.98 on the contrast-normalised images), all iterations run; the per-image settings
#: (LEARN_*) +0.11.
SET_LEARNING = Learning(n_filters=64, filter_size=8, sparsity_weight=0.8, max_iter=30,
                        inner_iter=10, smoothing=3.0, tol=0.0)


@dataclass(frozen=True)
class Adaptation:
    """Result of :func:`adapt_dictionary`.

    Attributes
    ----------
    filters : ndarray of shape (n_filters, s, s), float32
        The learned filters.
    seconds : float
        Wall time of the learning (windows, their fills, the fit).
    n_iter : int
        Outer iterations run.
    objective : float
        Learning objective ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` of the windows at the end.
    n_windows : int
        Windows learned from.
    n_images : int
        Images learned from (several: :func:`restoration.restore_batch`).
    parameters : dict
        The learner's parameters (:class:`csc.ConvolutionalDictionary`).
    history : dict of lists
        The learner's history (objective, nnz, seconds... per outer iteration).
    """

    filters: object
    seconds: float
    n_iter: int
    objective: float
    n_windows: int
    n_images: int
    parameters: dict
    history: dict

    def estimator(self):
        """The learned filters as a fitted :class:`csc.ConvolutionalDictionary`, whose ``save``
        writes a dictionary file that ``cogd --dictionary`` and ``ConvolutionalDictionary.load``
        read (``cogd inpaint --save-dictionary``)."""
        from csc import ConvolutionalDictionary

        model = ConvolutionalDictionary(**self.parameters)
        model.filters_, model.history_ = self.filters, self.history
        model.n_iter_, model.n_channels_ = self.n_iter, 1
        return model


def learning_windows(values, observed, *, size, count):
    """The windows of an image with the most detail energy.

    The energy is that of a high-pass of the observed pixels (the image minus its normalised
    Gaussian average over observed pixels, zero at missing ones), summed over each window of a
    grid of stride ``size // 2``; the highest windows are taken greedily, none overlapping
    another. An image of at most ``count`` windows' pixels is one window, the whole image.

    Parameters
    ----------
    values : ndarray of shape (H, W)
        Read at observed pixels only.
    observed : ndarray of bool of shape (H, W)
    size : int
        Window side (at most the image's smaller side).
    count : int
        Most windows.

    Returns
    -------
    list of (slice, slice)
    """
    height, width = observed.shape
    if height * width <= count * size * size:
        return [(slice(0, height), slice(0, width))]
    seen = observed.astype(np.float64)
    average = ndimage.gaussian_filter(np.where(observed, values, 0.0), 1.0) / np.maximum(
        ndimage.gaussian_filter(seen, 1.0), 1e-6)
    energy = np.where(observed, values - average, 0.0) ** 2
    sums = np.pad(energy, ((1, 0), (1, 0))).cumsum(0).cumsum(1)  # integral image
    step = max(size // 2, 1)
    tops = np.unique(np.r_[np.arange(0, height - size + 1, step), height - size])
    lefts = np.unique(np.r_[np.arange(0, width - size + 1, step), width - size])
    top, left = np.meshgrid(tops, lefts, indexing="ij")
    scores = (sums[top + size, left + size] - sums[top, left + size] - sums[top + size, left]
              + sums[top, left]).ravel()
    order = np.argsort(-scores, kind="stable")
    chosen = []
    for index in order:  # at most a few hundred candidates (a grid of half-windows)
        row, col = int(top.ravel()[index]), int(left.ravel()[index])
        if all(abs(row - other_row) >= size or abs(col - other_col) >= size
               for other_row, other_col in chosen):
            chosen.append((row, col))
            if len(chosen) == count:
                break
    return [(slice(row, row + size), slice(col, col + size)) for row, col in chosen]


def repetition(values, observed):
    """How much an image repeats itself: the largest normalised autocorrelation of its
    high-pass detail at a shift of :data:`REPETITION_LAGS` pixels, over its observed pixels.

    About 1 for a periodic pattern (stripes, tiles), near 0 for a photo, whose detail is
    correlated only over a few pixels; a dictionary learned from the image itself pays where the
    image repeats (:data:`REPETITION`). Measured on the central :data:`REPETITION_CROP` pixels
    (a bounded cost), with the masked autocorrelation ``sum(m d m' d') / sum(m m')`` (two FFTs
    of the detail and two of the mask).

    Parameters
    ----------
    values : ndarray of shape (H, W)
        Read at observed pixels only.
    observed : ndarray of bool of shape (H, W)

    Returns
    -------
    float
        In [-1, 1]; 0 when the image has no detail or is smaller than the shifts.
    """
    low, high = REPETITION_LAGS
    crop = tuple(slice(max((n - REPETITION_CROP) // 2, 0), max((n - REPETITION_CROP) // 2, 0)
                       + REPETITION_CROP) for n in observed.shape)
    values, observed = values[crop], observed[crop]
    if min(observed.shape) <= low:
        return 0.0
    seen = observed.astype(np.float64)
    average = ndimage.gaussian_filter(np.where(observed, values, 0.0), 1.0) / np.maximum(
        ndimage.gaussian_filter(seen, 1.0), 1e-6)
    detail = np.where(observed, values - average, 0.0)
    shape = tuple(2 * n for n in detail.shape)  # no wrap-around
    detail_hat, mask_hat = np.fft.rfft2(detail, shape), np.fft.rfft2(seen, shape)
    products = np.fft.irfft2(detail_hat * detail_hat.conj(), shape)
    counts = np.fft.irfft2(mask_hat * mask_hat.conj(), shape)
    correlation = products / np.maximum(counts, 1.0)
    if correlation[0, 0] <= 0:
        return 0.0
    rows = np.fft.fftfreq(shape[0], 1 / shape[0])[:, None]  # signed shifts
    cols = np.fft.fftfreq(shape[1], 1 / shape[1])[None, :]
    radius = np.hypot(rows, cols)
    # shifts where the crop overlaps itself enough (the observed fraction squared, as expected)
    band = (radius >= low) & (radius <= high) & (counts > 0.25 * counts[0, 0] * seen.mean())
    return float(correlation[band].max() / correlation[0, 0]) if band.any() else 0.0


def learning_details(values, observed, windows, *, smoothing, margin):
    """Unit-RMS detail layers of windows, each from its own fill of its own observed pixels.

    Parameters
    ----------
    values : ndarray of shape (H, W)
        Read at ``observed`` pixels only.
    observed : ndarray of bool of shape (H, W)
        The pixels learning may read (the hold-out's regions already removed).
    windows : list of (slice, slice)
        Windows of one size (those without a pixel to read are left out).
    smoothing : float
        Sigma of the smooth part.
    margin : int
        Context around each window for its fill and smoothing.

    Returns
    -------
    details : ndarray of shape (n_windows, h, w), float32
        ``values - smooth(fill)`` at observed pixels, zero elsewhere, not yet scaled (of shape
        ``(0, 0, 0)`` when no window has a pixel to read).
    masks : ndarray of bool of shape (n_windows, h, w)
    """
    height, width = observed.shape
    details, masks = [], []
    for rows, cols in windows:  # a few windows
        outer = (slice(max(rows.start - margin, 0), min(rows.stop + margin, height)),
                 slice(max(cols.start - margin, 0), min(cols.stop + margin, width)))
        inner = (slice(rows.start - outer[0].start, rows.stop - outer[0].start),
                 slice(cols.start - outer[1].start, cols.stop - outer[1].start))
        seen = observed[outer]
        if not seen[inner].any():  # nothing to learn from in this window
            continue
        crop = np.where(seen, values[outer], 0.0)
        fill = biharmonic_fill(crop[None], seen[None])[0]
        details.append(np.where(seen, crop - smooth(fill, smoothing), 0.0)[inner])
        masks.append(seen[inner])
    if not details:
        return np.zeros((0, 0, 0), np.float32), np.zeros((0, 0, 0), bool)
    return np.stack(details).astype(np.float32), np.stack(masks)


def adapt_dictionary(planes, observed, initial, *, learning=None, filter_size=None,
                     sparsity_weight=None, max_iter=None, n_windows=None, window=None,
                     random_state=0, progress=None):
    """Learn filters from windows of one or several images, warm-started from ``initial`` (or
    from a random start, :attr:`Learning.n_filters`).

    Parameters
    ----------
    planes : sequence of ndarray of shape (H, W)
        The images (gray planes, values in [0, 1]); several images are learned from together,
        :data:`LEARN_WINDOWS` windows each (images of different sizes allowed).
    observed : sequence of ndarray of bool of shape (H, W)
        The pixels learning may read, per image: observed and outside the hold-out's regions.
    initial : ndarray of shape (n_filters, s, s), float32
        The starting filters (a bundled dictionary); their number is kept. Unused when
        ``learning.n_filters`` is set.
    learning : Learning or None
        The settings; None: those of one image, ``Learning(None, LEARN_FILTER_SIZE,
        LEARN_SPARSITY, LEARN_MAX_ITER, LEARN_INNER_ITER, LEARN_SMOOTHING, LEARN_TOL)``
        (:data:`SET_LEARNING` for a set of images).
    filter_size : int or None
        Side of the learned filters (a warm start zero-padded or cropped to it, centred); None:
        ``learning.filter_size``.
    sparsity_weight : float or None
        Lambda of the learning on the unit-RMS detail; None: ``learning.sparsity_weight``.
    max_iter : int or None
        Most outer iterations; None: ``learning.max_iter``.
    n_windows : int or None
        Windows per image; None: :data:`LEARN_WINDOWS`.
    window : int or None
        Window side; None: :data:`LEARN_WINDOW` (at most the smallest image side).
    random_state : int or numpy.random.Generator
        Seed of the learner (the result is the same for the same seed).
    progress : object with ``update(n)`` or None
        Advanced by one per outer iteration.

    Returns
    -------
    Adaptation
        With no iteration when no window has a pixel to read (the warm start's filters, or
        zeros after a random start).
    """
    from csc import ConvolutionalDictionary

    start = time.perf_counter()
    if learning is None:
        learning = Learning(None, LEARN_FILTER_SIZE, LEARN_SPARSITY, LEARN_MAX_ITER,
                            LEARN_INNER_ITER, LEARN_SMOOTHING, LEARN_TOL)
    size = learning.filter_size if filter_size is None else filter_size
    if learning.n_filters is None:
        initial = _resized(initial, size)
        shape = initial.shape
    else:
        initial, shape = None, (learning.n_filters, size, size)
    sparsity_weight = learning.sparsity_weight if sparsity_weight is None else sparsity_weight
    max_iter = learning.max_iter if max_iter is None else max_iter
    n_windows = LEARN_WINDOWS if n_windows is None else n_windows
    window = LEARN_WINDOW if window is None else window
    window = min([window] + [min(np.shape(plane)) for plane in planes])
    details, masks = [], []
    for plane, seen in zip(planes, observed, strict=True):
        windows = learning_windows(plane, seen, size=window, count=n_windows)
        detail, mask = learning_details(plane, seen, windows, smoothing=learning.smoothing,
                                        margin=LEARN_MARGIN)
        details.extend(detail)
        masks.extend(mask)
    parameters = dict(n_filters=shape[0], filter_size=size,
                      sparsity_weight=float(sparsity_weight), optimizer="cogd", max_iter=max_iter,
                      coding_iter=learning.inner_iter, dictionary_iter=learning.inner_iter)
    if not details:  # no window has a pixel to read: nothing to learn, the start is kept
        filters = np.zeros(shape, np.float32) if initial is None else initial
        return Adaptation(np.asarray(filters, np.float32), time.perf_counter() - start, 0, 0.0,
                          0, len(planes), parameters, {})
    if len({detail.shape for detail in details}) > 1:  # whole small images of several sizes
        details, masks = _common_size(details, masks)
    details, masks = np.stack(details), np.stack(masks)
    rms = np.sqrt(np.sum(details.astype(np.float64) ** 2) / max(int(masks.sum()), 1))
    details = details / np.float32(rms if rms > 0 else 1.0)

    def stop(state):  # the stopping rule, then progress
        if progress is not None:
            progress.update(1)
        objective = state.history["objective"]
        return len(objective) > 2 and \
            objective[-2] - objective[-1] <= learning.tol * objective[-2]

    model = ConvolutionalDictionary(**parameters, initial_filters=initial,
                                    random_state=random_state, callback=stop).fit(details, masks)
    return Adaptation(np.asarray(model.filters_, np.float32), time.perf_counter() - start,
                      int(model.n_iter_), float(model.history_["objective"][-1]), len(details),
                      len(planes), parameters, model.history_)


def _resized(filters, size):
    """Filters ``(n, s, s)`` zero-padded (or cropped) to ``(n, size, size)``, centred."""
    grow = size - filters.shape[-1]
    if grow >= 0:
        side = (grow // 2, grow - grow // 2)
        return np.pad(filters, ((0, 0), side, side))
    cut = -grow
    return filters[:, cut // 2:cut // 2 + size, cut // 2:cut // 2 + size]


def _common_size(details, masks):
    """Windows of several sizes (whole small images) zero-padded to the largest, unobserved
    there (the learner pads with unobserved pixels anyway)."""
    height = max(detail.shape[0] for detail in details)
    width = max(detail.shape[1] for detail in details)
    pad = [((0, height - d.shape[0]), (0, width - d.shape[1])) for d in details]
    return ([np.pad(d, p) for d, p in zip(details, pad, strict=True)],
            [np.pad(m, p) for m, p in zip(masks, pad, strict=True)])
