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

from .split import biharmonic_fill, smooth, unit_rms_detail
from .tiling import code_region

__all__ = ["Selection", "select_settings", "holdout_regions", "BIHARMONIC"]

BIHARMONIC = "biharmonic"  # the key of the fill alone in Selection.errors
# the hold-out's regions, hidden fraction and FISTA iterations per candidate
REGION_SIZE, N_REGIONS, HOLDOUT, MAX_ITER = 64, 4, 0.15, 20


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


def select_settings(channel, observed, dictionaries, *, smoothings=(1.0, 1.5),
                    sparsity_weights=(0.25,), region_size=None, n_regions=None, holdout=None,
                    max_iter=None, random_state=0, xp=np):
    """Choose the dictionary, smoothing and sparsity weight that predict hidden pixels best.

    Parameters
    ----------
    channel : ndarray of shape (H, W)
        The image channel (values at missing pixels ignored).
    observed : ndarray of bool of shape (H, W)
    dictionaries : sequence of ndarray of shape (n_filters, s, s), float32
        The candidate dictionaries.
    smoothings, sparsity_weights : sequences of float
        The candidate grid.
    region_size, n_regions : int or None
        The regions (:func:`holdout_regions`); None: ``REGION_SIZE``, ``N_REGIONS``.
    holdout : float in (0, 1) or None
        Fraction of the observed pixels of the regions that are hidden; None: ``HOLDOUT``.
    max_iter : int or None
        FISTA iterations per candidate (per sparsity weight along a path); None: ``MAX_ITER``.
    random_state : int
        Seed of the hidden pixels.
    xp : module
        Where the coding runs.

    Returns
    -------
    Selection
    """
    region_size = REGION_SIZE if region_size is None else region_size
    n_regions = N_REGIONS if n_regions is None else n_regions
    holdout = HOLDOUT if holdout is None else holdout
    max_iter = MAX_ITER if max_iter is None else max_iter
    rng = np.random.default_rng(random_state)
    path = sorted(sparsity_weights, reverse=True)  # warm-started from the largest weight
    candidates = [(index, sigma, lam) for index in range(len(dictionaries))
                  for sigma in smoothings for lam in sparsity_weights]
    totals = dict.fromkeys([BIHARMONIC] + candidates, 0.0)
    values, seen = [], []
    for region in holdout_regions(channel.shape, region_size, n_regions):
        values.append(channel[region])
        seen.append(observed[region])
    values, seen = np.stack(values), np.stack(seen)  # (n_regions, h, w), one size
    hidden = seen & (rng.random(seen.shape) < holdout)
    kept = seen & ~hidden
    usable = hidden.any(axis=(1, 2)) & kept.any(axis=(1, 2))
    values, hidden, kept = values[usable], hidden[usable], kept[usable]
    n_hidden = int(hidden.sum())
    if n_hidden:
        truth = values[hidden]
        filled = biharmonic_fill(values, kept)  # one solve per region (their masks differ)
        totals[BIHARMONIC] += float(np.sum((filled[hidden] - truth) ** 2))
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
        estimates = np.clip(smoothed + scale * estimates, 0.0, 1.0)
        for index in range(len(dictionaries)):
            for rank, lam in enumerate(path):
                for position, sigma in enumerate(smoothings):
                    error = estimates[index, rank, position][hidden] - truth
                    totals[(index, sigma, lam)] += float(np.sum(error**2))
    if n_hidden == 0:
        index, sigma, lam = candidates[0]
        return Selection(sigma, lam, index, {}, 0)
    errors = {key: total / n_hidden for key, total in totals.items()}
    best = min(errors, key=errors.get)
    if best == BIHARMONIC:
        return Selection(None, None, None, errors, n_hidden)
    index, sigma, lam = best
    return Selection(sigma, lam, index, errors, n_hidden)
