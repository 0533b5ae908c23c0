"""``cogd inpaint`` and ``cogd reconstruct``: one input (or the demo) restored with a progress
bar and reported on several lines; several inputs are handed to :mod:`restoration.cli.batch`.
Both run :func:`restoration.cli.files.restore_file` on every input."""

import argparse
import os
import tempfile

from ..io import IMAGE_SUFFIXES, JPEG_QUALITY
from .batch import run_batch
from .common import (
    UsageError,
    add_common,
    check_output,
    expand,
    fraction,
    non_negative_int,
    positive_int,
    quality,
    say,
    user_input,
)
from .files import (
    comparisons,
    describe_adaptation,
    file_settings,
    read_input,
    restore_file,
    save_dictionary,
)

__all__ = ["add_parsers", "run", "REPORT_HELP", "DEMO_OUTPUTS"]

#: file names of the demo (no INPUT) in the cache folder
DEMO_OUTPUTS = {"inpaint": "inpainted_camera.png", "reconstruct": "reconstructed_camera.png"}

#: the epilog of each command's help: what its printed numbers mean
REPORT_HELP = {
    "inpaint": (
        "printed: objective = 1/2 ||M (b - D z)||^2 + lambda ||z||_1 of the sparse coding (b: "
        "the image's detail layer scaled to unit RMS over the observed pixels, M: the observed "
        "pixels, D: the dictionary, z: the codes; lower is a better fit), nnz = fraction of "
        "non-zero codes z (lower is sparser), lambda = --sparsity-weight and sigma = --smoothing "
        "(the Gaussian that separates the smooth part from the detail), chosen per image by "
        "predicting hidden observed pixels unless given; 'biharmonic fill' means the sparse "
        "detail did not predict them better, so the fill alone is the result; 'dictionary' says "
        "whether a dictionary was learned from the image (its time, outer iterations and "
        "learning objective) and which candidate restored it; with --missing, PSNR/SSIM against "
        "the input are measured on the image as written to the file, after it is written"),
    "reconstruct": (
        "printed: objective = 1/2 ||b - D z||^2 + lambda ||z||_1 of the sparse coding (b: the "
        "image's detail layer scaled to unit RMS, D: the dictionary, z: the codes; lower is a "
        "better fit), nnz = fraction of non-zero codes z (lower is sparser), lambda = "
        "--sparsity-weight and sigma = --smoothing (the Gaussian that separates the smooth part "
        "from the detail); 'dictionary' says whether a dictionary was learned from the image "
        "(--adapt) and which candidate coded it; PSNR/SSIM against the input are measured on "
        "the image as written to the file, after it is written"),
}

def _adapt_help():
    """The help of --adapt for each command, from the constants of restoration.adaptation."""
    from math import isqrt

    from ..adaptation import LEARN_WINDOW, LEARN_WINDOWS, SET_PIXELS

    side = isqrt(LEARN_WINDOWS * LEARN_WINDOW ** 2)
    return {
        "inpaint": "learn a dictionary from the image itself and let the hold-out choose it "
                   "where it predicts hidden pixels significantly better, or from all of several "
                   "inputs, chosen where it predicts them best (default: when pixels are missing "
                   f"and the image is at least about {side}x{side} and repeats a pattern, or the "
                   f"inputs are several smaller images with {SET_PIXELS} readable pixels "
                   "together)",
        "reconstruct": "learn a dictionary from the image itself (several inputs: one from all "
                       "of them) and code the image with it (default: no)",
    }


def run(args):
    """Run ``cogd inpaint|reconstruct``; return the exit status."""
    inputs = expand(args.inputs)
    if len(inputs) < 2 and (args.workers is not None or args.scheduler is not None):
        raise UsageError("--workers and --scheduler are for several inputs")
    if getattr(args, "save_dictionary", None) is not None:
        if args.adapt is False:
            raise UsageError("--save-dictionary keeps the learned dictionary; drop --no-adapt")
        check_output(args.save_dictionary, args.force, (".npz",), option="--save-dictionary")
        args.adapt = True
    if args.command == "inpaint" and args.mask is None and args.missing is None:
        if inputs:
            raise UsageError("give --mask MASK or --missing FRACTION")
        args.missing = 0.5  # the demo
    if len(inputs) > 1:
        return run_batch(args, inputs)
    return _run_one(args, inputs[0] if inputs else None)


def _run_one(args, path):
    """One input (``path``; None: the demo), with a progress bar and a report of several lines."""
    output = _output(args, path, DEMO_OUTPUTS[args.command])
    settings = file_settings(args)
    image, mask = user_input(read_input, path, settings)
    name = "camera (scikit-image)" if path is None else path
    if args.command == "inpaint":
        missing = (f"{mask.size - int(mask.sum())} of {mask.size} pixels missing "
                   f"({1 - mask.mean():.0%})")
        if args.missing is not None:
            missing += f" (--missing {args.missing:g}, --seed {args.seed})"
        say(f"cogd inpaint: {name}, {_describe(image)}, {missing}; filling and coding...")
    else:
        say(f"cogd reconstruct: {name}, {_describe(image)}; coding...")
    restored = user_input(restore_file, args.command, image, mask, output, settings,
                          progress=not args.quiet)
    info = restored.restoration
    settings_text = ", ".join("biharmonic fill" if s.smoothing is None else
                              f"lambda {s.sparsity_weight:g} sigma {s.smoothing:g}"
                              for s in info.selections)
    say(f"{args.command}: objective {info.objective:.6g}, nnz {info.nnz:.4f}, {settings_text}, "
        f"{info.n_iter} iterations x {info.n_tiles} tile(s), {info.seconds:.1f} s -> {output}")
    say(f"  dictionary: {describe_adaptation(info)}")
    for label, measured in comparisons(args.command, image, mask, restored.stored, output,
                                       settings, progress=not args.quiet):
        say(f"  {label}: {measured}")
    learned = next((a for a in info.adaptations if a is not None), None)
    if getattr(args, "save_dictionary", None) is not None:
        save_dictionary(learned, args.save_dictionary)
    return 0


def _output(args, path, demo_name):
    """Checked output path: ``-o``, or (demo without input) ``demo_name`` in the cache folder,
    which the demo overwrites."""
    if args.output is not None:
        check_output(args.output, args.force, IMAGE_SUFFIXES)
        return args.output
    if path is not None:
        raise UsageError("-o/--output is required")
    output = os.path.join(_demo_folder(), demo_name)
    check_output(output, True, IMAGE_SUFFIXES)
    return output


def _demo_folder():
    """``$XDG_CACHE_HOME/cogd`` (else ``~/.cache/cogd``), or a new temporary folder."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "cogd")
    try:
        os.makedirs(folder, exist_ok=True)
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="cogd-demo-")


def _describe(image):
    colour = "RGB" if image.ndim == 3 else "gray"
    return f"{image.shape[0]}x{image.shape[1]} {colour} {image.dtype}"


def add_parsers(commands):
    """Add the ``inpaint`` and ``reconstruct`` commands to ``commands`` (argparse subparsers);
    each help says only what applies to its command."""
    from ..pipeline import RECONSTRUCTION_SMOOTHING, SPARSITY_WEIGHTS

    about = ("fill the missing pixels of an image (given by --mask, or removed at random with "
             "--missing, which also measures the result against the input and against "
             "biharmonic inpainting); without INPUT, a demo on scikit-image's camera photo with "
             "50 % of the pixels missing, written to the cache folder (~/.cache/cogd)")
    inpaint = commands.add_parser("inpaint", help="fill missing pixels of an image (no INPUT: "
                                  "a demo)", description=about, epilog=REPORT_HELP["inpaint"])
    about = ("sparse approximation of a whole image: its smooth part plus the dictionary's "
             "sparse synthesis of its detail, measured against the input; without INPUT, "
             "scikit-image's camera photo, written to the cache folder")
    reconstruct = commands.add_parser("reconstruct", help="sparse approximation of an image",
                                      description=about, epilog=REPORT_HELP["reconstruct"])
    # with pixels missing the settings are chosen per image; with none, fixed defaults
    adapt_help = _adapt_help()
    defaults = {inpaint: ("the bundled ones, chosen per image", "chosen per image",
                          "chosen per image", "observed detail", adapt_help["inpaint"]),
                reconstruct: ("the first bundled one", f"{SPARSITY_WEIGHTS[0]:g}",
                              f"{RECONSTRUCTION_SMOOTHING:g}", "detail", adapt_help["reconstruct"])}
    for sub, (dictionary, weight, smoothing, detail, adapt) in defaults.items():
        sub.add_argument("inputs", nargs="*", metavar="INPUT",
                         help="image file (PNG/JPEG/TIFF, gray or RGB; alpha is dropped); "
                              "several files, glob patterns or folders (their image files): "
                              "each is restored on its own and written into the folder -o")
        if sub is inpaint:
            masks = sub.add_mutually_exclusive_group()
            masks.add_argument("--mask", help="mask image of the same size: white (above half "
                               "the range in every channel) = observed, black = missing; a mask "
                               "of only 0s and 1s: 1 = observed (the rule of the Python API, "
                               "restoration.masks)")
            masks.add_argument("--missing", type=fraction,
                               help="remove this fraction of the pixels at random and measure "
                                    "the result against the input (default 0.5 for the demo)")
            sub.add_argument("--seed", type=non_negative_int, default=0,
                             help="seed of --missing")
            sub.add_argument("--no-baseline", dest="baseline", action="store_false",
                             help="with --missing, skip the biharmonic baseline")
        sub.add_argument("-o", "--output",
                         help="output image (.png, .jpg, .tif); required with INPUT; with "
                              "several inputs an existing folder, where each output keeps its "
                              "input's name (.png for other suffixes); the demo writes to the "
                              "cache folder and overwrites its own output")
        sub.add_argument("--workers", type=positive_int, default=None,
                         help="with several inputs: restore them on a local Dask cluster of "
                              "this many worker processes (one thread each)")
        sub.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="with several inputs: restore them on the workers of this Dask "
                              "scheduler (e.g. tcp://host:8786; the files must be readable and "
                              "writable there at the same paths)")
        sub.add_argument("--dictionary", help=f"dictionary .npz written by `cogd learn` or "
                         f"--save-dictionary (default: {dictionary})")
        sub.add_argument("--adapt", action=argparse.BooleanOptionalAction, default=None,
                         help=adapt)
        if sub is inpaint:
            sub.add_argument("--save-dictionary", metavar="PATH",
                             help="write the learned dictionary to this .npz (implies --adapt; "
                                  "reuse it with --dictionary)")
        sub.add_argument("--sparsity-weight", type=float, default=None,
                         help=f"lambda, relative to the RMS of the {detail}: larger is sparser "
                              f"and smoother (default: {weight})")
        sub.add_argument("--smoothing", type=float, default=None,
                         help=f"sigma in pixels of the Gaussian smooth part (default: "
                              f"{smoothing})")
        sub.add_argument("--max-iter", type=positive_int, default=None,
                         help="FISTA iterations (default: 48 for 512x512 and larger images, "
                              "up to 100 for smaller ones)")
        sub.add_argument("--jpeg-quality", type=quality, default=JPEG_QUALITY,
                         help="quality of a .jpg output (PSNR/SSIM are measured after encoding)")
        add_common(sub)
        sub.set_defaults(run=run)
