"""Restore one file: the one path of ``cogd inpaint|reconstruct`` for every input.

A single input runs it in this process (with progress bars, reported on several lines by
:mod:`restoration.cli.inpaint`); each of several inputs runs it in this process or as a task on
a Dask worker (one line each, :mod:`restoration.cli.batch`). :func:`restore_file` restores the
image, encodes it in the output's format in memory (decoded back: the image as written) and
writes it atomically: an input that fails leaves nothing written. Only then does
:func:`comparisons` measure the image as written against the input and, for ``inpaint
--missing``, compute the biharmonic baseline (tile by tile, as the restoration's own fill): an
interruption or a failure while comparing keeps the output.
"""

import os
from dataclasses import dataclass

import numpy as np

from .common import UsageError, as_unit, say

__all__ = ["RestoredFile", "file_settings", "read_input", "restore_file", "comparisons",
           "describe_adaptation", "save_dictionary"]


@dataclass(frozen=True)
class RestoredFile:
    """Result of :func:`restore_file`.

    Attributes
    ----------
    restoration : restoration.pipeline.Restoration
        What the pipeline returned (settings chosen, adaptation, objective, nnz, time).
    stored : ndarray of the input's shape
        The image as written, decoded from the file's bytes (the output's dtype).
    """

    restoration: object
    stored: object


def file_settings(args):
    """The options :func:`read_input` and :func:`restore_file` take from the command line, as a
    plain dict (it travels to Dask workers)."""
    return {"mask": getattr(args, "mask", None), "missing": getattr(args, "missing", None),
            "seed": getattr(args, "seed", 0), "baseline": getattr(args, "baseline", False),
            "dictionary": args.dictionary, "sparsity_weight": args.sparsity_weight,
            "smoothing": args.smoothing, "max_iter": args.max_iter,
            "jpeg_quality": args.jpeg_quality, "adapt": args.adapt, "learned": None}


def read_input(path, settings):
    """``(image, mask)`` of one input: the image file at ``path`` (None: scikit-image's camera
    photo, the demo) and the mask of ``--mask`` (read), of ``--missing`` and ``--seed`` (drawn),
    or None.

    Raises
    ------
    ValueError
        An unreadable image or mask, or a drawn mask with no missing or no observed pixel (one
        line, naming the option).
    """
    from ..io import read_image, read_mask

    if path is None:
        from skimage import data

        image = data.camera()
    else:
        image = read_image(path)
    if settings["mask"] is not None:
        return image, read_mask(settings["mask"], image.shape[:2])
    if settings["missing"] is not None:
        drawn = np.random.default_rng(settings["seed"]).random(image.shape[:2])
        mask = drawn >= settings["missing"]
        if mask.all() or not mask.any():
            raise ValueError(f"--missing {settings['missing']:g} removes "
                             f"{'no' if mask.all() else 'every'} pixel of this "
                             f"{image.shape[0]}x{image.shape[1]} image (--seed "
                             f"{settings['seed']}); give a fraction in (0, 1) that leaves "
                             f"pixels of both kinds")
        return image, mask
    return image, None


def restore_file(command, image, mask, output, settings, *, progress=False):
    """Restore ``image``, encode it for ``output`` in memory, then write it atomically.

    Parameters
    ----------
    command : {'inpaint', 'reconstruct'}
    image : ndarray of shape (H, W) or (H, W, 3)
        As read by :func:`read_input`.
    mask : ndarray of bool of shape (H, W) or None
    output : str
        The output file; its suffix chooses the format.
    settings : dict
        As :func:`file_settings` returns; ``settings["learned"]``: a dictionary learned from
        every input of a batch (:func:`restoration.inpainting.adapt_batch`), or None.
    progress : bool
        Show the restoration's progress bar.

    Returns
    -------
    RestoredFile

    Raises
    ------
    ValueError, TypeError
        Input the restoration or the encoder refuses (the caller reports it as a user error);
        nothing is written.
    OSError
        The output could not be written.
    """
    from ..io import write_bytes
    from ..pipeline import restore_image

    info = restore_image(image, mask, dictionary=settings["dictionary"],
                         sparsity_weight=settings["sparsity_weight"],
                         smoothing=settings["smoothing"], max_iter=settings["max_iter"],
                         channel_axis=-1 if image.ndim == 3 else None, adapt=settings["adapt"],
                         learned=settings["learned"], progress=progress)
    data, stored = _encode(info.image, output, settings, like=_output_dtype(image))
    write_bytes(output, data)
    return RestoredFile(info, stored)


def comparisons(command, image, mask, stored, output, settings, *, progress=False):
    """Measure the image as written against the input, one line at a time (none for
    ``inpaint`` without ``--missing``: no ground truth).

    Parameters
    ----------
    command, image, mask, output, settings
        As given to :func:`restore_file`.
    stored : ndarray
        :attr:`RestoredFile.stored`.
    progress : bool
        Show the progress bar of the biharmonic baseline.

    Yields
    ------
    (str, str)
        ``(label, measurements)``: the restoration (``reconstruct``, or ``inpaint --missing``:
        the input is the ground truth), then, for ``inpaint --missing`` with the baseline, the
        biharmonic fill of the same pixels encoded the same way. The baseline is the
        restoration's tiled fill (:func:`restoration.split.biharmonic_fill`), so its memory is
        bounded by a tile's, not the image's.
    """
    if command == "inpaint" and settings["missing"] is None:
        return
    truth, channel_axis = as_unit(image), (-1 if image.ndim == 3 else None)
    encoding = _format_name(output, stored)
    if command == "reconstruct":
        yield (f"reconstruction vs input ({encoding} as written)",
               _measured(truth, stored, channel_axis))
        return
    yield (f"inpaint    vs original ({encoding} as written)",
           _measured(truth, stored, channel_axis, mask))
    if settings["baseline"] and np.all(np.isfinite(truth)):
        _, baseline = _encode(_biharmonic(truth, mask, progress), output, settings,
                              like=stored.dtype)
        yield (f"biharmonic vs original ({encoding}, the same way)",
               _measured(truth, baseline, channel_axis, mask))


def _biharmonic(truth, mask, progress):
    """The biharmonic fill of the missing pixels of ``truth`` (H, W) or (H, W, C), tile by tile,
    with a progress bar of the tiles."""
    from tqdm.auto import tqdm

    from ..split import biharmonic_fill, n_fill_tiles

    channels = np.moveaxis(np.atleast_3d(truth), -1, 0)
    observed = np.broadcast_to(mask, channels.shape)
    with tqdm(total=n_fill_tiles(mask.shape), disable=not progress, desc="biharmonic baseline",
              unit="tile", leave=False) as bar:
        filled = biharmonic_fill(np.where(observed, channels, 0.0), observed, progress=bar)
    return np.moveaxis(filled, 0, -1).reshape(truth.shape)


def _encode(image, output, settings, *, like):
    """``(bytes, image as stored)`` of ``image`` in the format of ``output`` (in memory)."""
    from ..io import encode_image

    return encode_image(image, os.path.splitext(output)[1], like=like,
                        quality=settings["jpeg_quality"])


def _output_dtype(image):
    return image.dtype if image.dtype.kind in "uf" else np.dtype(np.uint8)


def _format_name(output, stored):
    suffix = os.path.splitext(output)[1].lower().lstrip(".")
    kind = {"jpeg": "jpg", "tiff": "tif"}.get(suffix, suffix).upper()
    return f"{kind} {stored.dtype}"


def _measured(truth, data, channel_axis, mask=None):
    """``data`` (as stored) against the ground truth: PSNR, SSIM (images of at least 7x7) and
    PSNR on the missing pixels, as one line."""
    from ..metrics import SSIM_WINDOW, psnr, psnr_missing, ssim

    if not np.all(np.isfinite(truth)):
        return "no comparison (the input has NaN or infinite values)"
    estimate = as_unit(data)
    text = f"PSNR {psnr(truth, estimate, data_range=1.0):.2f} dB"
    if min(truth.shape[:2]) >= SSIM_WINDOW:
        text += f", SSIM {ssim(truth, estimate, data_range=1.0, channel_axis=channel_axis):.4f}"
    else:
        text += f", SSIM n/a (under {SSIM_WINDOW}x{SSIM_WINDOW} pixels)"
    if mask is not None and not mask.all():
        text += (f", PSNR on missing pixels "
                 f"{psnr_missing(truth, estimate, mask, data_range=1.0):.2f} dB")
    return text


def describe_adaptation(info):
    """One line on the dictionary a restoration learned (its time, iterations and objective)
    and on the candidate that won."""
    learned = next((a for a in info.adaptations if a is not None), None)
    chosen = {"fill": "the biharmonic fill alone kept",
              "learned": "the learned dictionary chosen"}.get(info.candidate,
                                                             f"{info.candidate} chosen")
    if learned is None:
        return f"none learned; {chosen}"
    return (f"learned from {learned.n_windows} window(s) in {learned.seconds:.1f} s "
            f"({learned.n_iter} iterations, objective {learned.objective:.6g}); {chosen}")


def save_dictionary(learned, path):
    """Write the learned filters to ``path`` (a dictionary file ``--dictionary`` reads).

    Raises
    ------
    UsageError
        Nothing was learned (no input could be read).
    """
    if learned is None:
        raise UsageError("no dictionary was learned (no input could be read); nothing written "
                         f"to {path}")
    learned.estimator().save(path)
    say(f"  learned dictionary written to {path}")
