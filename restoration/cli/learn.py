"""``cogd learn``: a convolutional dictionary from image files, written as ``.npz`` for
``--dictionary``."""

import numpy as np

from .common import (
    UsageError,
    add_common,
    as_unit,
    check_output,
    expand,
    non_negative_int,
    positive_int,
    say,
    user_input,
)

__all__ = ["add_parser", "run"]


def run(args):
    """Run ``cogd learn``; return the exit status."""
    check_output(args.output, args.force, (".npz",))
    if args.checkpoint is not None:
        check_output(args.checkpoint, True, option="--checkpoint")
    paths = expand(args.images)
    say(f"cogd learn: {len(paths)} image(s), {args.n_filters} filters "
        f"{args.filter_size}x{args.filter_size}, {args.max_iter} outer iterations "
        f"({args.optimizer}) -> {args.output}")
    images = _read_gray_images(paths)
    from csc import ConvolutionalDictionary

    from ..preprocess import local_contrast_normalize

    if args.lcn:
        images = user_input(local_contrast_normalize, images)
    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        optimizer=args.optimizer, max_iter=args.max_iter, random_state=args.seed,
        checkpoint=args.checkpoint, progress=not args.quiet,
    )
    user_input(model.fit, images.astype(np.float32))
    model.save(args.output)
    history = model.history_
    say(f"learned {args.n_filters} filters {args.filter_size}x{args.filter_size} from "
        f"{len(paths)} images: objective {history['objective'][-1]:.6g}, "
        f"nnz {history['nnz'][-1]:.4f}, {history['seconds'][-1]:.1f} s -> {args.output}")
    return 0


def _read_gray_images(paths):
    """The images as one float64 stack, gray (RGB converted), by the project's float policy."""
    from ..io import read_image
    from ..preprocess import rgb_to_gray

    images = []
    for path in paths:
        image = user_input(read_image, path)
        images.append(user_input(rgb_to_gray if image.ndim == 3 else as_unit, image))
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UsageError(f"all training images must have the same size, got {sorted(shapes)}")
    return np.stack(images)


def add_parser(commands):
    """Add the ``learn`` command to ``commands`` (argparse subparsers)."""
    learn = commands.add_parser(
        "learn", help="learn a convolutional dictionary from images",
        description="learn a convolutional dictionary from gray or RGB images of one size "
                    "(converted to gray, contrast-normalised unless --no-lcn) and write it as "
                    ".npz for --dictionary; prints the objective 1/2 ||b - D z||^2 + lambda "
                    "||z||_1 and nnz (fraction of non-zero codes) of the last iteration")
    learn.add_argument("images", nargs="+", metavar="IMAGES",
                       help="image files, glob patterns or folders (their PNG, JPEG and TIFF "
                            "files, sorted)")
    learn.add_argument("-o", "--output", required=True, help="dictionary file (.npz)")
    learn.add_argument("--n-filters", type=positive_int, default=100, help="number of filters")
    learn.add_argument("--filter-size", type=positive_int, default=11,
                       help="side of the square filters (pixels)")
    learn.add_argument("--sparsity-weight", type=float, default=1.0, help="lambda")
    learn.add_argument("--optimizer", choices=["admm", "cogd"], default="admm",
                       help="ADMM, or ADMM with the CoGD coupling rule")
    learn.add_argument("--max-iter", type=positive_int, default=20,
                       help="outer iterations (dictionary step + coding step)")
    learn.add_argument("--no-lcn", dest="lcn", action="store_false",
                       help="skip local contrast normalisation")
    learn.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the initial dictionary")
    learn.add_argument("--checkpoint", help="resume from / save to this .npz checkpoint "
                       "(written after every outer iteration)")
    add_common(learn)
    learn.set_defaults(run=run)
