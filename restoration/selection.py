"""Per-image choice of the restoration settings by hold-out: hide observed pixels, predict them.

No fixed split between smooth part and detail, no fixed sparsity weight and no one dictionary is
best for every image (measured: the best smoothing and dictionary differ by image, and a
textureless image is better left to the biharmonic fill). :func:`select_settings` hides a random fraction of the observed pixels in a
few small regions of the image, restores the regions from the remaining pixels with every
candidate setting and with the biharmonic fill alone, and keeps what predicts the hidden pixels
best. The candidates share their fills, and the sparsity weights of one smoothing are solved as a
warm-started path from the largest to the smallest, so a whole grid costs little more than one
coding of the regions.
"""

from dataclasses import dataclass

import numpy as np

from csc.backend import to_numpy

from .split import biharmonic_fill, fill_residual, smooth, unit_rms_detail
from .tiling import code_region

__all__ = ["Selection", "HoldOut", "hold_out", "select_settings", "holdout_regions", "BIHARMONIC"]

BIHARMONIC = "biharmonic"  # the key of the fill alone in Selection.errors
# the hold-out's regions, hidden fraction and FISTA iterations per candidate
REGION_SIZE, N_REGIONS, HOLDOUT, MAX_ITER = 64, 4, 0.15, 20
REGION_MARGIN = 16  # context restored around each region's hidden pixels
LEARN_OUTSIDE = 0.75  # most of the observed pixels the regions may cover and learning avoid them
# Standard errors by which a challenger must beat the trusted candidates: a dictionary learned
# from the image predicted the hidden pixels of page (benchmarks/adaptation_levers.py) 2 % better
# than the bundled ones and restored the image 0.5 dB worse; the hold-out's error is a mean over
# about a thousand pixels, so a small difference is noise.
SIGNIFICANCE = 2.0


@dataclass(frozen=True)
class Selection:
    """Result of :func:`select_settings`.

    Attributes
    ----------
    smoothing, sparsity_weight : float or None
        The chosen setting; both None when the biharmonic fill alone predicted the hidden pixels
        best (the sparse detail is then left out).
    dictionary : int or None
        Index of the chosen dictionary among those given (None with the fill alone).
    errors : dict
        Mean squared error on the hidden pixels per candidate
        ``(dictionary, smoothing, sparsity_weight)``, and of the fill alone under
        :data:`BIHARMONIC`.
    n_hidden : int
        Number of hidden pixels the errors are averaged over (0: nothing to hide; the first
        candidate is returned).
    """

    smoothing: object
    sparsity_weight: object
    dictionary: object
    errors: dict
    n_hidden: int


def holdout_regions(shape, size, n_regions):
    """Up to ``n_regions`` square windows of side ``min(size, H, W)`` spread over the image.

    One window is centred; four sit on a 2x2 grid at 30 % and 70 % of each side (the same window
    is not repeated on small images).

    Returns
    -------
    list of (slice, slice)
    """
    height, width = shape
    size = min(size, height, width)
    centres = [(0.5, 0.5)] if n_regions == 1 else \
        [(fy, fx) for fy in (0.3, 0.7) for fx in (0.3, 0.7)][:n_regions]
    regions = []
    for fy, fx in centres:
        top = min(max(int(fy * height - size / 2), 0), height - size)
        left = min(max(int(fx * width - size / 2), 0), width - size)
        region = (slice(top, top + size), slice(left, left + size))
        if region not in regions:
            regions.append(region)
    return regions


@dataclass(frozen=True)
class HoldOut:
    """The observed pixels :func:`select_settings` hides (result of :func:`hold_out`).

    Attributes
    ----------
    regions : list of (slice, slice)
        The regions (:func:`holdout_regions`), all of one size, each a core and its context.
    hidden : ndarray of bool of shape (H, W)
        The hidden pixels (observed, inside the regions' cores). Nothing that is compared on
        them may have seen them: the fill and coding of the regions use ``observed & ~hidden``,
        and the learning of an adapted dictionary reads none of them (:meth:`learnable`).
    """

    regions: list
    hidden: object

    def learnable(self, observed):
        """The observed pixels the learning of an adapted dictionary may read,
        ``(H, W)`` bool (:mod:`restoration.adaptation`): those outside every region, so that
        the hold-out compares the learned filters where they did not learn, as most of the image
        is (a dictionary that has learned the neighbourhood of the hidden pixels predicts them
        better than the rest of the image, and was chosen where it lost: china pagoda of
        ``benchmarks/inpaint_vs_peers.py``, page of ``benchmarks/adaptation_levers.py``). When
        the regions cover more than :data:`LEARN_OUTSIDE` of the observed pixels (a small
        image), the observed pixels less the hidden ones."""
        inside = np.zeros(self.hidden.shape, bool)
        for region in self.regions:
            inside[region] = True
        outside = observed & ~inside
        if outside.sum() < (1 - LEARN_OUTSIDE) * observed.sum():
            return observed & ~self.hidden
        return outside


def hold_out(observed, *, region_size=None, n_regions=None, fraction=None, margin=None,
             random_state=0):
    """Draw the hidden pixels of the hold-out: a random ``fraction`` of the observed pixels of
    the core of each of :func:`holdout_regions`, the core being the region less ``margin``
    pixels of context on every side.

    The context matters: a region restored alone is restored worst along its border (its fill
    and its codes see nothing beyond), and hidden pixels there made the errors about ten times
    those of the whole image's restoration, and ranked a learned dictionary first where it lost
    2 dB (gratings of ``benchmarks/adaptation_levers.py``).

    Parameters
    ----------
    observed : ndarray of bool of shape (H, W)
    region_size, n_regions : int or None
        The cores' side and the number of regions; None: ``REGION_SIZE``, ``N_REGIONS``.
    margin : int or None
        Context around each core (less on images too small for it); None: ``REGION_MARGIN``.
    fraction : float in (0, 1) or None
        Fraction of the observed pixels of the regions that are hidden; None: ``HOLDOUT``.
    random_state : int or numpy.random.Generator
        Seed of the hidden pixels.

    Returns
    -------
    HoldOut
    """
    region_size = REGION_SIZE if region_size is None else region_size
    n_regions = N_REGIONS if n_regions is None else n_regions
    fraction = HOLDOUT if fraction is None else fraction
    margin = REGION_MARGIN if margin is None else margin
    rng = np.random.default_rng(random_state)
    side = min(region_size + 2 * margin, *observed.shape)
    regions = holdout_regions(observed.shape, side, n_regions)
    hidden = np.zeros(observed.shape, bool)
    for rows, cols in regions:  # one draw per region, in order
        inset = max((side - region_size) // 2, 0)
        core = (slice(rows.start + inset, rows.stop - inset),
                slice(cols.start + inset, cols.stop - inset))
        seen = observed[core]
        hidden[core] |= seen & (rng.random(seen.shape) < fraction)
    return HoldOut(regions, hidden)


def select_settings(channel, observed, dictionaries, *, smoothings=(1.0, 1.5),
                    sparsity_weights=(0.25,), holdout=None, n_trusted=None, max_iter=None,
                    xp=np):
    """Choose the dictionary, smoothing and sparsity weight that predict hidden pixels best.

    Each candidate restores the regions of the hold-out from their kept pixels as the pipeline
    restores an image (biharmonic fill, smooth part, unit-RMS detail coded by FISTA, the
    interpolated residual at the missing pixels, :func:`restoration.split.fill_residual`); so
    does the fill alone.

    Parameters
    ----------
    channel : ndarray of shape (H, W)
        The image channel (values at missing pixels ignored).
    observed : ndarray of bool of shape (H, W)
    dictionaries : sequence of ndarray of shape (n_filters, s, s), float32
        The candidate dictionaries.
    smoothings, sparsity_weights : sequences of float
        The candidate grid.
    holdout : HoldOut or None
        The hidden pixels; None: :func:`hold_out` of ``observed`` with its defaults.
    n_trusted : int or None
        The first ``n_trusted`` dictionaries (and the fill) are chosen by least error; the
        others (a dictionary learned from the image itself) only when they predict
        significantly better than the best of those (:data:`SIGNIFICANCE`). None: all trusted.
    max_iter : int or None
        FISTA iterations per candidate (per sparsity weight along a path); None: ``MAX_ITER``.
    xp : module
        Where the coding runs.

    Returns
    -------
    Selection
    """
    holdout = hold_out(observed) if holdout is None else holdout
    max_iter = MAX_ITER if max_iter is None else max_iter
    path = sorted(sparsity_weights, reverse=True)  # warm-started from the largest weight
    candidates = [(index, sigma, lam) for index in range(len(dictionaries))
                  for sigma in smoothings for lam in sparsity_weights]
    values = np.stack([channel[region] for region in holdout.regions])  # (n_regions, h, w)
    seen = np.stack([observed[region] for region in holdout.regions])
    hidden = np.stack([holdout.hidden[region] for region in holdout.regions])
    kept = seen & ~hidden
    usable = hidden.any(axis=(1, 2)) & kept.any(axis=(1, 2))
    values, hidden, kept = values[usable], hidden[usable], kept[usable]
    n_hidden = int(hidden.sum())
    if n_hidden == 0:
        index, sigma, lam = candidates[0]
        return Selection(sigma, lam, index, {}, 0)
    truth = values[hidden]
    solvers = {}  # one factorisation per region (their masks differ), for its residual too
    filled = biharmonic_fill(values, kept, solvers=solvers)
    smoothed = np.stack([smooth(filled, sigma) for sigma in smoothings])  # (n_s, n_r, h, w)
    detail, scale = unit_rms_detail(values - smoothed, kept)
    detail = detail.astype(np.float32)
    estimates = np.empty((len(dictionaries), len(path)) + smoothed.shape)
    for region in range(len(values)):
        # the smoothings of one region share its mask, so one solve (and one step size)
        # serves them all; regions differ in how much is missing and are solved apart
        for index, filters in enumerate(dictionaries):
            codes = None
            for rank, lam in enumerate(path):
                coded = code_region(detail[:, region], np.broadcast_to(
                    kept[region], detail[:, region].shape), filters, sparsity_weight=lam,
                    max_iter=max_iter, initial_codes=codes, xp=xp)
                codes = coded.codes
                estimates[index, rank, :, region] = to_numpy(coded.synthesis)
        # every candidate's residual of this region in one solve (they share its mask)
        models = smoothed[:, region] + scale[:, region] * estimates[:, :, :, region]
        estimates[:, :, :, region] = fill_residual(models, values[region], kept[region],
                                                   solvers=solvers)
    estimates = np.clip(estimates, 0.0, 1.0)
    squares = {BIHARMONIC: (filled[hidden] - truth) ** 2}  # per hidden pixel
    for index in range(len(dictionaries)):
        for rank, lam in enumerate(path):
            for position, sigma in enumerate(smoothings):
                squares[(index, sigma, lam)] = (estimates[index, rank, position][hidden]
                                                - truth) ** 2
    errors = {key: float(np.mean(squares[key])) for key in [BIHARMONIC] + candidates}
    best = _best(squares, errors, len(dictionaries) if n_trusted is None else n_trusted)
    if best == BIHARMONIC:
        return Selection(None, None, None, errors, n_hidden)
    index, sigma, lam = best
    return Selection(sigma, lam, index, errors, n_hidden)


def _best(squares, errors, n_trusted):
    """The candidate of least error, a challenger's (dictionary index ``>= n_trusted``) only
    when it beats the best trusted candidate by :data:`SIGNIFICANCE` standard errors of the
    paired difference of their squared errors."""
    trusted = [key for key in errors if key == BIHARMONIC or key[0] < n_trusted]
    best = min(trusted, key=errors.get)
    challengers = [key for key in errors if key not in trusted]
    if not challengers:
        return best
    challenger = min(challengers, key=errors.get)
    difference = squares[best] - squares[challenger]
    margin = SIGNIFICANCE * np.std(difference) / np.sqrt(len(difference))
    return challenger if np.mean(difference) > margin else best
