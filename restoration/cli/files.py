"""Restore one file: the one path of ``cogd inpaint|reconstruct`` for every input.

A single input runs it in this process (with a progress bar, reported on several lines by
:mod:`restoration.cli.inpaint`); each of several inputs runs it in this process or as a task on
a Dask worker (one line each, :mod:`restoration.cli.batch`). The image is restored, encoded in
the output's format in memory (and decoded back), measured as encoded against the input, and
only then written atomically: an input that fails leaves nothing written.
"""

import os
from dataclasses import dataclass

import numpy as np

from .common import UsageError, as_unit, say

__all__ = ["RestoredFile", "file_settings", "read_input", "restore_file", "describe_adaptation",
           "save_dictionary"]


@dataclass(frozen=True)
class RestoredFile:
    """Result of :func:`restore_file`.

    Attributes
    ----------
    restoration : restoration.pipeline.Restoration
        What the pipeline returned (settings chosen, adaptation, objective, nnz, time).
    comparisons : tuple of (str, str)
        ``(label, measurements)`` against the input of the image as written: the restoration
        (``reconstruct``, or ``inpaint`` with ``--missing``: the input is the ground truth), then
        the biharmonic baseline encoded the same way (``inpaint --missing`` with the baseline).
    """

    restoration: object
    comparisons: tuple


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
    or None."""
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
        return image, drawn >= settings["missing"]
    return image, None


def restore_file(command, image, mask, output, settings, *, progress=False):
    """Restore ``image``, measure it as encoded for ``output``, then write it atomically.

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
        Input the restoration or the encoder refuses (the caller reports it as a user error).
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
    comparisons = _comparisons(command, image, mask, stored, output, settings)
    write_bytes(output, data)
    return RestoredFile(info, comparisons)


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


def _comparisons(command, image, mask, stored, output, settings):
    """The :attr:`RestoredFile.comparisons` (none for ``inpaint`` without ``--missing``: no
    ground truth)."""
    if command == "inpaint" and settings["missing"] is None:
        return ()
    truth, channel_axis = as_unit(image), (-1 if image.ndim == 3 else None)
    encoding = _format_name(output, stored)
    if command == "reconstruct":
        return ((f"reconstruction vs input ({encoding} as written)",
                 _measured(truth, stored, channel_axis)),)
    rows = [(f"inpaint    vs original ({encoding} as written)",
             _measured(truth, stored, channel_axis, mask))]
    if settings["baseline"] and np.all(np.isfinite(truth)):
        from skimage.restoration import inpaint_biharmonic

        observed = mask if image.ndim == 2 else mask[..., None]
        baseline = inpaint_biharmonic(np.where(observed, truth, 0), ~mask,
                                      channel_axis=channel_axis)
        _, baseline = _encode(baseline, output, settings, like=stored.dtype)
        rows.append((f"biharmonic vs original ({encoding}, the same way)",
                     _measured(truth, baseline, channel_axis, mask)))
    return tuple(rows)


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
