"""The restoration pipeline's body: smooth part + sparse-coded detail, plane by plane.

:func:`restore_image` is what :func:`restoration.restore` (and ``inpaint``, ``reconstruct``) and
every block of :func:`restoration.blockwise.inpaint_blocks` run (DESIGN.md, "Restoration on real
photos"):

1. fill the missing pixels by biharmonic inpainting (:func:`restoration.split.biharmonic_fill`,
   one solve for channels that share a mask, in tiles for large images);
2. choose the smoothing and the sparsity weight for this image by hold-out
   (:func:`restoration.selection.select_settings`: hidden observed pixels are predicted with each
   candidate and with the fill alone); when the fill alone predicts best, it is the result. The
   block-wise path passes the settings it chose once for the whole image instead (``selection``);
3. smooth part ``s = gaussian(fill, smoothing)``, detail ``b = image - s`` on observed pixels,
   scaled to unit RMS over the observed pixels;
4. masked convolutional sparse coding of the detail with a fixed dictionary by FISTA
   (:func:`restoration.tiling.code_detail`), ``min_z 1/2 ||M (b - D z)||^2 + lambda ||z||_1``,
   observed pixels only, in tiles for large images;
5. ``restored = s + rms * D z`` (the fill with its detail replaced), corrected at the missing
   pixels by the biharmonic interpolation of its residual on the observed pixels
   (:func:`restoration.split.fill_residual`), observed pixels put back (``keep_observed``),
   clipped to [0, 1].

Colour images whose channels share one mask are coded once, on their luminance
(:data:`restoration.preprocess.LUMA_WEIGHTS`): the luminance's coded detail replaces the fill's,
and the fill's chroma is kept (a change of luminance alone is the same change of R, G and B), so
a colour image costs little more than a gray one (``benchmarks/inpaint_vs_peers.py``). Channels
with their own masks are coded one after the other.
"""

import time
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from csc.backend import array_module, to_numpy
from csc.images import as_array, as_float, image_layout, mask_weights
from csc.validation import (
    check_bool,
    check_int,
    check_positive,
    check_random_state,
    check_representable,
)

from .adaptation import (
    LEARN_FILTER_SIZE,
    LEARN_MAX_ITER,
    LEARN_WINDOW,
    LEARN_WINDOWS,
    REPETITION,
    SET_PIXELS,
    adapt_dictionary,
    repetition,
)
from .dictionaries import load_dictionaries
from .masks import observed_pixels
from .preprocess import LUMA_WEIGHTS
from .selection import Selection, hold_out, select_settings
from .split import biharmonic_fill, fill_residual, n_fill_tiles, smooth, unit_rms_detail
from .tiling import code_detail, n_coding_tiles

__all__ = ["Restoration", "restore_image", "adapts", "adapts_set", "fixed_selection",
           "check_parameters",
           "coding_iterations", "MAX_ITER", "MAX_ITER_SMALL", "SMOOTHINGS", "SPARSITY_WEIGHTS",
           "RECONSTRUCTION_SMOOTHING"]

#: FISTA iterations of the coding (per tile) of images of 512x512 pixels and more; smaller
#: images get the same work in more iterations, up to MAX_ITER_SMALL (:func:`coding_iterations`).
#: 48 against 36: +0.04 dB at 50 % missing on the gray photos, +0.01 at 75 %, for about 1.2x the
#: time (benchmarks/results/holdout_grid.md).
MAX_ITER = 48
MAX_ITER_SMALL = 100
#: Candidates of the per-image choice (benchmarks/results/holdout_grid.md: 1.5 and 2.5 against
#: 1 and 1.5, +0.08 dB at 50 % missing on the gray photos, no photo lower, same cost).
SMOOTHINGS = (1.5, 2.5)
SPARSITY_WEIGHTS = (0.25,)
#: Smoothing when nothing is missing (no hidden pixels to choose by; the sparsity weight is then
#: the first of SPARSITY_WEIGHTS).
RECONSTRUCTION_SMOOTHING = 1.0


@dataclass(frozen=True)
class Restoration:
    """Result of :func:`restoration.restore`: the restored image, the settings used and what the
    coding did.

    Attributes
    ----------
    image : ndarray of the input image's shape, float in [0, 1]
        float64 for float64 input, float32 otherwise; on the input's device.
    selections : tuple of restoration.selection.Selection
        The settings of every coded plane (one for a gray image or a colour image coded on its
        luminance, one per channel otherwise), with the hold-out errors they were chosen by
        (empty when the settings were given or nothing was missing). Their ``dictionary``
        indexes the candidates: the given (or bundled) dictionaries, then the learned one.
    adaptations : tuple of restoration.adaptation.Adaptation or None
        Per coded plane, the dictionary learned from it (its filters, time, outer iterations
        and objective), or None where none was learned.
    candidates : tuple of str
        Names of the candidate dictionaries, in the order ``Selection.dictionary`` indexes them:
        ``'dictionary #k'`` for the given (or bundled) ones, then ``'learned'`` when a
        dictionary was learned.
    objective : float
        Coding objective ``1/2 ||M (b - D z)||^2 + lambda ||z||_1`` of the unit-RMS detail layers,
        summed over the coded planes and tiles (tile margins counted in each tile); 0 when no
        plane was coded.
    nnz : float
        Fraction of non-zero code entries (0 when no plane was coded).
    n_iter : int
        FISTA iterations per tile.
    n_tiles : int
        Coding tiles per plane.
    seconds : float
        Wall time of the whole call.
    """

    image: object
    selections: tuple
    adaptations: tuple
    candidates: tuple
    objective: float
    nnz: float
    n_iter: int
    n_tiles: int
    seconds: float

    @property
    def smoothing(self):
        """Smoothing of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].smoothing

    @property
    def sparsity_weight(self):
        """Sparsity weight of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].sparsity_weight

    @property
    def dictionary(self):
        """Index of the dictionary of the first coded plane (None: the fill alone was used)."""
        return self.selections[0].dictionary

    @property
    def adapted(self):
        """Whether a dictionary was learned from the image (for any coded plane)."""
        return any(adaptation is not None for adaptation in self.adaptations)

    @property
    def candidate(self):
        """Name of the candidate that restored the first coded plane (an entry of
        ``candidates``), or ``'fill'`` when the biharmonic fill alone was kept."""
        index = self.selections[0].dictionary
        return "fill" if index is None else self.candidates[index]


def restore_image(image, mask, *, dictionary=None, sparsity_weight=None, smoothing=None,
                  max_iter=None, channel_axis=None, keep_observed=None, adapt=None,
                  random_state=0, progress=False, selection=None, learned=None):
    """The pipeline (module docstring) on one image; :func:`restoration.restore` documents the
    arguments and the result.

    Parameters
    ----------
    image, mask, dictionary, sparsity_weight, smoothing, max_iter, channel_axis, keep_observed,
    adapt, random_state, progress
        As in :func:`restoration.restore` (validated here).
    selection : restoration.selection.Selection or None
        The settings of every plane, the fill alone included (``smoothing`` None), with
        ``selection.dictionary`` indexing the dictionaries of ``dictionary``; None: per plane,
        the given ``sparsity_weight`` and ``smoothing`` or the hold-out choice.
    learned : restoration.adaptation.Adaptation or None
        A dictionary already learned from this image among others (:func:`restoration.
        restore_batch`), its learning having read only :func:`learning_planes` of this image
        with this ``random_state``: the candidate of every plane instead of learning one.

    Returns
    -------
    Restoration

    Raises
    ------
    ValueError
        Invalid image, mask or parameters, naming the argument.
    """
    start = time.perf_counter()
    xp = array_module(image, mask)
    channels, observed, layout = _validated_image(image, mask, channel_axis)
    check_parameters(max_iter=max_iter, sparsity_weight=sparsity_weight, smoothing=smoothing,
                     image_shape=channels.shape[-2:], keep_observed=keep_observed,
                     progress=progress, adapt=adapt, random_state=random_state)
    if max_iter is None:
        max_iter = coding_iterations(channels.shape[-2:])
    dictionaries = load_dictionaries(dictionary)
    luminance = _luminance(observed)
    planes = 1 if luminance else len(channels)
    learning = LEARN_MAX_ITER if adapt is not False and selection is None else 0
    sizes = [d.shape[-1] for d in dictionaries] + ([LEARN_FILTER_SIZE] if learning else [])
    n_tiles = estimate = n_coding_tiles(channels.shape[-2:], max(sizes))  # at most
    n_fill = n_fill_tiles(channels.shape[-2:])
    with tqdm(total=n_fill + planes * (1 + learning + estimate * max_iter + n_fill),
              disable=not progress, desc="restoring", unit="step", leave=False) as bar:
        # one tile: its factorisations serve the residual's fills too (several: not kept, they
        # would hold every tile's at once)
        solvers = {} if n_fill == 1 else None
        fill = biharmonic_fill(channels, observed, progress=bar, solvers=solvers)
        restored = np.empty_like(fill)
        selections, adaptations, objective, nonzero = [], [], 0.0, 0.0
        for plane, plane_fill, seen, targets in _planes(channels, fill, observed, luminance):
            if selection is not None:
                chosen, adaptation = selection, None
            else:
                chosen, adaptation = _settings(plane, seen, dictionaries,
                                               sparsity_weight=sparsity_weight,
                                               smoothing=smoothing, adapt=adapt,
                                               random_state=random_state, learned=learned,
                                               progress=bar, xp=xp)
            candidates = dictionaries if adaptation is None else \
                dictionaries + (adaptation.filters,)
            bar.update(1)
            selections.append(chosen)
            adaptations.append(adaptation)
            if chosen.smoothing is None:  # the fill alone predicted the hidden pixels best
                # (here, or on the block-wise path's sample)
                restored[targets] = fill[targets]
                bar.update(estimate * max_iter + n_fill)
                continue
            smooth_part = smooth(plane_fill, chosen.smoothing)
            detail, scale = unit_rms_detail(plane - smooth_part, seen)
            coded = code_detail(detail.astype(np.float32), seen, candidates[chosen.dictionary],
                                sparsity_weight=chosen.sparsity_weight, max_iter=max_iter,
                                progress=bar, xp=xp)
            model = smooth_part + scale * coded.synthesis
            if not seen.all():
                model = fill_residual(model, plane, seen, progress=bar, solvers=solvers)
            else:
                bar.update(n_fill)
            # the plane's new detail replaces the fill's (for colour: the luminance's; the fill's
            # chroma is kept as it is)
            restored[targets] = fill[targets] + (model - plane_fill)
            objective += coded.objective
            nonzero += coded.nnz
            bar.update((estimate - coded.n_tiles) * max_iter)
            n_tiles = coded.n_tiles
    if keep_observed or (keep_observed is None and mask is not None):
        restored = np.where(observed, channels, restored)
    restored = np.clip(restored, 0.0, 1.0).astype(channels.dtype)
    restored = xp.asarray(layout.from_internal(restored[None], xp=np))
    names = tuple(f"dictionary #{index}" for index in range(len(dictionaries)))
    if any(adaptation is not None for adaptation in adaptations):
        names += ("learned",)
    return Restoration(restored, tuple(selections), tuple(adaptations), names, objective,
                       nonzero / planes, int(max_iter), n_tiles, time.perf_counter() - start)


def learning_planes(image, mask, *, channel_axis=None, random_state=0):
    """The coded planes of an image with the pixels the learning of an adapted dictionary may
    read in each (:meth:`restoration.selection.HoldOut.learnable` of the hold-out that
    :func:`restore_image` draws with ``random_state``): ``[(plane, readable)]``, ``(H, W)``
    arrays (validated as in :func:`restore_image`)."""
    channels, observed, _ = _validated_image(image, mask, channel_axis)
    return [(plane, hold_out(seen, random_state=random_state).learnable(seen))
            for plane, _, seen, _ in _planes(channels, channels, observed, _luminance(observed))]


def _luminance(observed):
    """Whether the planes ``(C, H, W)`` are coded on their luminance: RGB with one mask."""
    return len(observed) == 3 and bool((observed == observed[:1]).all())


def _planes(channels, fill, observed, luminance):
    """The coded planes ``(plane, plane_fill, observed, targets)``: the luminance of a colour
    image with one mask (``targets`` every channel), otherwise each channel."""
    if luminance:
        yield (np.tensordot(LUMA_WEIGHTS, channels, axes=1).astype(channels.dtype),
               np.tensordot(LUMA_WEIGHTS, fill, axes=1).astype(channels.dtype), observed[0],
               slice(None))
        return
    for index in range(len(channels)):
        yield channels[index], fill[index], observed[index], slice(index, index + 1)


def fixed_selection(dictionaries, sparsity_weight, smoothing):
    """The :class:`Selection` of given settings (one dictionary, ``sparsity_weight`` and
    ``smoothing`` given), or None when something is left to the hold-out choice."""
    if sparsity_weight is None or smoothing is None or len(dictionaries) != 1:
        return None
    return Selection(float(smoothing), float(sparsity_weight), 0, {}, 0)


def _settings(plane, observed, dictionaries, *, sparsity_weight, smoothing, adapt,
              random_state, learned, progress, xp):
    """``(selection, adaptation)`` of one plane: the given values or the hold-out choice among
    ``dictionaries`` and, when adapting, the dictionary learned from the plane or the given
    ``learned`` one (the last candidate, ``adaptation.filters``; None when there is none)."""
    if adapt is False:
        learned = None
    elif learned is not None:
        adapt = True
    fixed = fixed_selection(dictionaries, sparsity_weight, smoothing)
    if fixed is not None and not adapt:
        return fixed, None
    smoothings = SMOOTHINGS if smoothing is None else (float(smoothing),)
    weights = SPARSITY_WEIGHTS if sparsity_weight is None else (float(sparsity_weight),)
    if observed.all():  # nothing to hide: learned filters (adapt=True) are used as they are
        sigma = RECONSTRUCTION_SMOOTHING if smoothing is None else float(smoothing)
        if not adapt:
            return Selection(sigma, weights[0], 0, {}, 0), None
        if learned is None:
            learned = adapt_dictionary([plane], [observed], dictionaries[0],
                                       random_state=random_state, progress=progress)
        return Selection(sigma, weights[0], len(dictionaries), {}, 0), learned
    holdout = hold_out(observed, random_state=random_state)
    if learned is None and (adapt or (adapt is None and adapts([(plane, observed)]))):
        learned = adapt_dictionary([plane], [holdout.learnable(observed)], dictionaries[0],
                                   random_state=random_state, progress=progress)
    candidates = dictionaries if learned is None else dictionaries + (learned.filters,)
    trusted = len(candidates) if learned is not None and learned.n_images > 1 else \
        len(dictionaries)
    return select_settings(plane, observed, candidates, smoothings=smoothings,
                           sparsity_weights=weights, holdout=holdout, n_trusted=trusted,
                           xp=xp), learned


def adapts(planes):
    """Whether ``adapt=None`` learns a dictionary from ``planes``, ``[(values, observed)]`` of
    ``(H, W)`` (one image's, or every image's of a batch): when they hold
    :data:`restoration.adaptation.LEARN_WINDOWS` windows of :data:`restoration.adaptation.
    LEARN_WINDOW` pixels a side (learning then reads a fixed number of windows, a bounded time,
    chosen from more of the image) and repeat themselves (their mean
    :func:`restoration.adaptation.repetition` at least :data:`restoration.adaptation.
    REPETITION`): the learned dictionary won where the image repeats a pattern and nowhere
    else, so elsewhere its time is saved."""
    pixels = sum(observed.size for _, observed in planes)
    if pixels < LEARN_WINDOWS * LEARN_WINDOW ** 2:
        return False
    return np.mean([repetition(values, observed) for values, observed in planes]) >= REPETITION


def adapts_set(planes):
    """Whether ``adapt=None`` learns a dictionary from a set of small images (of
    :func:`restoration.restore_batch`), ``[(values, readable)]`` of ``(H, W)``: when there are
    several, each small enough to be learned from whole (at most :data:`restoration.adaptation.
    LEARN_WINDOWS` windows' pixels: the time stays bounded), and learning may read at least
    :data:`restoration.adaptation.SET_PIXELS` of their pixels together (a 100x100 image of
    fruit at 75 % kept restored about as biharmonic does with the filters learned from it alone;
    the ten learned together, ``restore_batch``, +0.77 to +0.85 dB over biharmonic against
    +0.66 to +0.69 with the bundled dictionaries: ``benchmarks/results/set_learning.md``,
    ``benchmarks/results/inpaint_vs_peers.md``)."""
    small = all(readable.size <= LEARN_WINDOWS * LEARN_WINDOW ** 2 for _, readable in planes)
    pixels = sum(int(readable.sum()) for _, readable in planes)
    return len(planes) > 1 and small and pixels >= SET_PIXELS


def _validated_image(image, mask, channel_axis):
    """Image and mask as ``(channels, observed, layout)``: ``channels`` (C, H, W) float on the
    host, zero at missing pixels; ``observed`` (C, H, W) bool.

    Values at observed pixels must be finite and lie in [0, 1]; values at missing pixels are
    ignored (NaN allowed there). Signed integers are refused (their policy maps to [-1, 1]).
    """
    image = as_array(to_numpy(image), name="image", xp=np)
    layout = image_layout(image, channel_axis, batch=False, name="image")
    if image.dtype.kind == "i":
        raise ValueError(f"`image` must hold floats in [0, 1] or unsigned integers, got dtype "
                         f"{image.dtype}")
    values = layout.to_internal(as_float(image, name="image", finite=False), xp=np)[0]
    if mask is None:
        observed = np.ones(values.shape, bool)
    else:
        observed = mask_weights(observed_pixels(to_numpy(mask)), layout, dtype=bool,
                                binary=True, each_channel=True)[0]
    kept = values[observed]
    if not np.all(np.isfinite(kept)):
        raise ValueError("`image` contains NaN or infinite values at observed pixels (mark them "
                         "missing in `mask`)")
    if kept.min() < -1e-6 or kept.max() > 1 + 1e-6:
        raise ValueError(f"`image` values must lie in [0, 1], got "
                         f"[{kept.min():.4g}, {kept.max():.4g}]")
    return np.where(observed, values, values.dtype.type(0)), observed, layout


def coding_iterations(shape):
    """Default FISTA iterations for an image of ``shape = (H, W)``: as many as the work of
    :data:`MAX_ITER` iterations on 512x512 pixels allows, between :data:`MAX_ITER` and
    :data:`MAX_ITER_SMALL`. Measured with ``benchmarks/inpaint_vs_peers.py`` against 36
    iterations everywhere: fruit/city in the papers' protocol with a dictionary learned from the
    corrupted set +0.11 to +0.16 dB per seed, with the bundled dictionaries -0.01 to -0.04 on
    fruit and +0.03 to +0.05 on city; coins (303x384, 81 iterations) +0.14 dB.

    >>> coding_iterations((512, 512)), coding_iterations((303, 384)), coding_iterations((100, 100))
    (48, 100, 100)
    """
    work = MAX_ITER * 512 * 512 // (int(shape[0]) * int(shape[1]))
    return int(min(max(work, MAX_ITER), MAX_ITER_SMALL))


def check_parameters(*, max_iter, sparsity_weight, smoothing, image_shape, keep_observed,
                     progress, adapt=None, random_state=0):
    """The scalar parameters of :func:`restoration.restore`, against the image's ``(H, W)``.

    ``smoothing`` may not exceed the image's larger side (a wider Gaussian is flat over the
    image).

    Raises
    ------
    ValueError
        A parameter out of its range, naming it.
    """
    if max_iter is not None:
        check_int("max_iter", max_iter, 1)
    if sparsity_weight is not None:
        check_positive("sparsity_weight", sparsity_weight)
        check_representable("sparsity_weight", sparsity_weight, np.float32)  # coding precision
    if smoothing is not None:
        check_positive("smoothing", smoothing)
        if smoothing > max(image_shape):
            raise ValueError(f"`smoothing` must be at most the image's larger side "
                             f"({max(image_shape)} pixels), got {smoothing!r}")
    check_bool("progress", progress)
    if keep_observed is not None:
        check_bool("keep_observed", keep_observed)
    if adapt is not None:
        check_bool("adapt", adapt)
    check_random_state("random_state", random_state)
