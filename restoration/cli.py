"""The ``cogd`` command line: a thin wrapper over the Python API.

Only this module prints. Every user error exits with status 2 and a one-line message; outputs
are written atomically and never overwrite an existing file without ``--force``.
"""

import argparse
import glob
import os
import sys

import numpy as np

__all__ = ["main"]


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _read_gray_images(patterns):
    import imageio.v3 as iio

    from .preprocess import rgb_to_gray

    paths = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise UsageError(f"no file matches {pattern!r}")
        paths.extend(matches)
    images = []
    for path in paths:
        try:
            image = iio.imread(path)
        except Exception as error:  # imageio raises many types for unreadable files
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "unreadable"
            raise UsageError(f"cannot read image {path!r}: {reason}") from None
        if image.ndim == 3 and image.shape[-1] == 4:
            image = image[..., :3]
        if image.ndim == 3 and image.shape[-1] == 3:
            image = rgb_to_gray(image)
        elif image.ndim == 2:
            image = image / 255.0 if image.dtype == np.uint8 else image.astype(np.float64)
        else:
            raise UsageError(f"{path!r}: expected a gray or RGB image, got shape {image.shape}")
        images.append(image)
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UsageError(f"all training images must have the same size, got {sorted(shapes)}")
    return paths, np.stack(images)


def _check_output(path, force):
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


def _evaluate(args):
    from . import evaluation

    if not os.path.isdir(args.out_dir):
        raise UsageError(f"--out-dir {args.out_dir} is not an existing folder")
    config = {"set": args.set, "task": args.task, "optimizer": args.optimizer, "seed": args.seed}
    paths = evaluation.output_paths(args.out_dir, evaluation.result_stem(config),
                                    figures=args.figures)
    for path in paths.values():
        _check_output(path, args.force)
    if args.figures:
        try:
            evaluation._pyplot()
        except ImportError as error:
            raise UsageError(f"{error}; or pass --no-figures") from None
    try:
        result = evaluation.evaluate_set(
            args.set, task=args.task, optimizer=args.optimizer, seed=args.seed,
            max_iter=args.max_iter, sparsity_weight=args.sparsity_weight, coupling=args.coupling,
            n_filters=args.n_filters, filter_size=args.filter_size, progress=not args.quiet)
        evaluation.write_results(result, args.out_dir, force=args.force, figures=args.figures)
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
