"""The ``cogd`` command line: a thin wrapper over the Python API.

Only this module prints. Every user error exits with status 2 and a one-line message; outputs
are written atomically and never overwrite an existing file without ``--force``.
"""

import argparse
import glob
import os
import sys

import numpy as np

from .io import IMAGE_SUFFIXES, write_image

__all__ = ["main"]


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _read_gray_images(patterns):
    from .io import read_image
    from .preprocess import rgb_to_gray

    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise UsageError(f"no file matches {pattern!r}")
        paths.extend(matches)
    images = []
    for path in paths:
        image = _user_input(read_image, path)
        if image.ndim == 3:
            image = rgb_to_gray(image)
        else:
            image = image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
        images.append(image)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UsageError(f"all training images must have the same size, got {sorted(shapes)}")
    return paths, np.stack(images)


def _user_input(function, *args, **kwargs):
    """Call ``function``; a ValueError (bad user input) becomes a UsageError."""
    try:
        return function(*args, **kwargs)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _check_output(path, force, suffixes=None):
    if suffixes is not None and not path.lower().endswith(suffixes):
        raise UsageError(f"--output must end with one of {', '.join(suffixes)}, got {path!r}")
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"output folder {folder} does not exist")


def _learn(args):
    from csc import ConvolutionalDictionary

    from .preprocess import local_contrast_normalize

    if not args.output.endswith(".npz"):
        raise UsageError(f"--output must end with .npz, got {args.output!r}")
    _check_output(args.output, args.force)
    paths, images = _read_gray_images(args.images)
    if args.lcn:
        images = local_contrast_normalize(images)
    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        optimizer=args.optimizer, max_iter=args.max_iter, random_state=args.seed,
        checkpoint=args.checkpoint, progress=not args.quiet,
    )
    try:
        model.fit(images.astype(np.float32))
    except ValueError as error:
        raise UsageError(str(error)) from None
    model.save(args.output)
    history = model.history_
    print(f"learned {args.n_filters} filters {args.filter_size}x{args.filter_size} from "
          f"{len(paths)} images: objective {history['objective'][-1]:.6g}, "
          f"nnz {history['nnz'][-1]:.4f}, {history['seconds'][-1]:.1f} s -> {args.output}")
    return 0


def _restoration_input(args):
    """Image, mask and display name of ``cogd inpaint``/``reconstruct`` (the demo without input)."""
    from .io import read_image, read_mask

    if args.input is None:
        from skimage import data

        image, name = data.camera(), "camera (scikit-image)"
    else:
        image, name = _user_input(read_image, args.input), args.input
    if getattr(args, "mask", None) is not None:
        mask = _user_input(read_mask, args.mask, image.shape[:2])
    elif getattr(args, "missing", None) is not None:
        if not 0 <= args.missing < 1:
            raise UsageError(f"--missing must be in [0, 1), got {args.missing}")
        mask = np.random.default_rng(args.seed).random(image.shape[:2]) >= args.missing
    else:
        mask = None
    return image, mask, name


def _restoration_output(args, demo_output):
    """Checked output path: ``-o``, or ``demo_output`` for the demo without input."""
    output = args.output or (demo_output if args.input is None else None)
    if output is None:
        raise UsageError("-o/--output is required")
    _check_output(output, args.force, IMAGE_SUFFIXES)
    return output


def _report(label, info):
    print(f"{label}: objective {info.objective:.6g}, nnz {info.nnz:.4f}, "
          f"lambda {info.sparsity_weight:g}, {info.n_iter} iterations x {info.n_tiles} tile(s), "
          f"{info.seconds:.1f} s")


def _quality(truth, estimate, channel_axis, mask=None):
    from .metrics import psnr, psnr_missing, ssim

    text = (f"PSNR {psnr(truth, estimate):.2f} dB, "
            f"SSIM {ssim(truth, estimate, channel_axis=channel_axis):.4f}")
    if mask is not None and not mask.all():
        text += f", PSNR on missing pixels {psnr_missing(truth, estimate, mask):.2f} dB"
    return text


def _as_unit(image):
    return image / np.iinfo(image.dtype).max if image.dtype.kind == "u" else image


def _inpaint(args):
    from .inpainting import restore

    if args.input is None and args.mask is None and args.missing is None:
        args.missing = 0.5
    if args.input is not None and args.mask is None and args.missing is None:
        raise UsageError("give --mask MASK or --missing FRACTION")
    output = _restoration_output(args, "inpainted_camera.png")
    image, mask, name = _restoration_input(args)
    channel_axis = -1 if image.ndim == 3 else None
    info = _user_input(
        restore, image, mask, dictionary=args.dictionary, sparsity_weight=args.sparsity_weight,
        max_iter=args.max_iter, learn=args.learn, channel_axis=channel_axis,
        progress=not args.quiet)
    restored = info.image
    _user_input(write_image, output, restored, like=image.dtype)
    print(f"{name}: {1 - mask.mean():.0%} of {mask.size} pixels missing -> {output}")
    _report("inpaint", info)
    if args.missing is not None:  # the input is the ground truth
        truth = _as_unit(image).astype(np.float64)
        print(f"  inpaint   vs original: {_quality(truth, restored, channel_axis, mask)}")
        if args.input is None:
            from skimage.restoration import inpaint_biharmonic

            baseline = inpaint_biharmonic(np.where(mask, truth, 0), ~mask)
            print(f"  biharmonic vs original: {_quality(truth, baseline, channel_axis, mask)}")
    return 0


def _reconstruct(args):
    from .inpainting import restore

    output = _restoration_output(args, "reconstructed_camera.png")
    image, _, name = _restoration_input(args)
    channel_axis = -1 if image.ndim == 3 else None
    info = _user_input(
        restore, image, dictionary=args.dictionary, sparsity_weight=args.sparsity_weight,
        max_iter=args.max_iter, channel_axis=channel_axis, progress=not args.quiet)
    restored = info.image
    _user_input(write_image, output, restored, like=image.dtype)
    print(f"{name} -> {output}")
    _report("reconstruct", info)
    truth = _as_unit(image).astype(np.float64)
    print(f"  reconstruction vs input: {_quality(truth, restored, channel_axis)}")
    return 0


def _evaluate(args):
    from .figures import require_matplotlib
    from .protocol import evaluate_set
    from .reports import output_paths, result_stem, write_results

    if not os.path.isdir(args.out_dir):
        raise UsageError(f"--out-dir {args.out_dir} is not an existing folder")
    config = {"set": args.set, "task": args.task, "optimizer": args.optimizer, "seed": args.seed}
    paths = output_paths(args.out_dir, result_stem(config), figures=args.figures)
    for path in paths.values():
        _check_output(path, args.force)
    if args.figures:
        try:
            require_matplotlib()
        except ImportError as error:
            raise UsageError(f"{error}; or pass --no-figures") from None
    try:
        result = evaluate_set(
            args.set, task=args.task, optimizer=args.optimizer, seed=args.seed,
            max_iter=args.max_iter, sparsity_weight=args.sparsity_weight, coupling=args.coupling,
            n_filters=args.n_filters, filter_size=args.filter_size, progress=not args.quiet)
        write_results(result, args.out_dir, force=args.force, figures=args.figures)
    except (ValueError, FileExistsError) as error:
        raise UsageError(str(error)) from None
    averages = result["averages"]
    line = (f"{args.set} {args.task} ({args.optimizer}, seed {args.seed}): PSNR (papers) "
            f"{averages['protocol_psnr']:.2f} dB, SSIM (papers) {averages['protocol_ssim']:.4f}, "
            f"PSNR {averages['psnr']:.2f} dB, SSIM {averages['ssim']:.4f}")
    if averages["psnr_missing"] is not None:
        line += f", PSNR missing {averages['psnr_missing']:.2f} dB"
    print(f"{line}; objective {result['objective']:.6g}, nnz {result['nnz']:.5f}, "
          f"{result['seconds']:.1f} s -> {paths['md']}")
    return 0


def _build_parser():
    parser = _Parser(prog="cogd", description="Convolutional sparse coding with ADMM and CoGD.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    learn = commands.add_parser("learn", help="learn a convolutional dictionary from images")
    learn.add_argument("images", nargs="+", help="image files or glob patterns (gray or RGB)")
    learn.add_argument("-o", "--output", required=True, help="dictionary file (.npz)")
    learn.add_argument("--n-filters", type=int, default=100)
    learn.add_argument("--filter-size", type=int, default=11)
    learn.add_argument("--sparsity-weight", type=float, default=1.0)
    learn.add_argument("--optimizer", choices=["admm", "cogd"], default="admm")
    learn.add_argument("--max-iter", type=int, default=20, help="outer iterations")
    learn.add_argument("--no-lcn", dest="lcn", action="store_false",
                       help="skip local contrast normalisation")
    learn.add_argument("--seed", type=int, default=0)
    learn.add_argument("--checkpoint", help="resume from / save to this .npz checkpoint")
    learn.add_argument("--force", action="store_true", help="overwrite the output file")
    learn.add_argument("--quiet", action="store_true", help="no progress bar")
    learn.set_defaults(run=_learn)

    for command, run, about in (
            ("inpaint", _inpaint, "fill missing pixels of an image (no INPUT: a demo on "
                                  "scikit-image's camera with 50 % of the pixels missing)"),
            ("reconstruct", _reconstruct, "sparse approximation of an image with a dictionary")):
        sub = commands.add_parser(command, help=about, description=about)
        sub.add_argument("input", nargs="?", help="image file (PNG/JPEG/TIFF, gray or RGB)")
        if command == "inpaint":
            masks = sub.add_mutually_exclusive_group()
            masks.add_argument("--mask", help="mask image, white (> half range) = observed")
            masks.add_argument("--missing", type=float,
                               help="remove this fraction of the pixels at random")
            sub.add_argument("--seed", type=int, default=0, help="seed of --missing")
            sub.add_argument("--learn", action="store_true",
                             help="adapt the dictionary to the observed pixels first (CoGD)")
        sub.add_argument("-o", "--output", help="output image (.png, .jpg, .tif)")
        sub.add_argument("--dictionary", help="dictionary .npz (cogd learn); default: bundled")
        sub.add_argument("--sparsity-weight", type=float, default=0.25,
                         help="lambda relative to the detail's RMS")
        sub.add_argument("--max-iter", type=int, default=60, help="FISTA iterations")
        sub.add_argument("--force", action="store_true", help="overwrite the output file")
        sub.add_argument("--quiet", action="store_true", help="no progress bar")
        sub.set_defaults(run=run)

    evaluate = commands.add_parser(
        "evaluate", help="fruit/city protocol: learn, restore, PSNR/SSIM tables and figures")
    evaluate.add_argument("set", choices=["fruit", "city"], help="bundled image set")
    evaluate.add_argument("--task", choices=["reconstruct", "inpaint"], default="reconstruct")
    evaluate.add_argument("--optimizer", choices=["admm", "cogd"], default="admm")
    evaluate.add_argument("--coupling", choices=["reference", "filter"], default="reference",
                          help="CoGD rule (with --optimizer cogd)")
    evaluate.add_argument("--seed", type=int, default=0,
                          help="initial dictionary and inpainting mask")
    evaluate.add_argument("--max-iter", type=int, default=20, help="outer iterations")
    evaluate.add_argument("--sparsity-weight", type=float, default=1.0)
    evaluate.add_argument("--n-filters", type=int, default=100)
    evaluate.add_argument("--filter-size", type=int, default=11)
    evaluate.add_argument("--out-dir", default=".", help="existing folder for tables and figures")
    evaluate.add_argument("--no-figures", dest="figures", action="store_false",
                          help="tables only (no matplotlib needed)")
    evaluate.add_argument("--force", action="store_true", help="overwrite existing outputs")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(run=_evaluate)
    return parser


def main(argv=None):
    """Run the ``cogd`` command; return the exit status."""
    try:
        args = _build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as error:
        print(f"cogd: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cogd: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
