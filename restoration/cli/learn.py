"""``cogd learn``: a convolutional dictionary from image files, written as ``.npz`` for
``--dictionary``; with ``--online``, from any number of images, one mini-batch in memory at a
time (:meth:`csc.ConvolutionalDictionary.partial_fit`)."""

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
    if args.batch_size is not None and not args.online:
        raise UsageError("--batch-size sets the mini-batches of --online; add --online")
    paths = expand(args.images)
    from csc import ConvolutionalDictionary

    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        optimizer=args.optimizer, max_iter=args.max_iter, random_state=args.seed,
        checkpoint=args.checkpoint, progress=not (args.quiet or args.online),
        coupling="filter" if args.online else "reference",
    )
    passes = (f"{args.max_iter} pass(es) in mini-batches of {args.batch_size or BATCH_SIZE}"
              if args.online else f"{args.max_iter} outer iterations")
    say(f"cogd learn: {len(paths)} image(s), {args.n_filters} filters "
        f"{args.filter_size}x{args.filter_size}, {passes} ({args.optimizer}) -> {args.output}")
    if args.online:
        _learn_online(model, paths, args)
        history = model.history_
        summary = (f"{history['n_images'][-1]} images in {len(history['n_images'])} "
                   f"mini-batches: last mini-batch's objective {history['objective'][-1]:.6g}")
    else:
        images = _read_gray_images(paths, args.lcn)
        user_input(model.fit, images.astype(np.float32))
        history = model.history_
        summary = f"{len(paths)} images: objective {history['objective'][-1]:.6g}"
    model.save(args.output)
    say(f"learned {args.n_filters} filters {args.filter_size}x{args.filter_size} from {summary}, "
        f"nnz {history['nnz'][-1]:.4f}, {history['seconds'][-1]:.1f} s -> {args.output}")
    return 0


BATCH_SIZE = 10


def _learn_online(model, paths, args):
    """``args.max_iter`` passes over ``paths``, each in its own random order (from ``--seed``
    and the pass), ``--batch-size`` images read at a time; a checkpoint resumes where it stopped
    (the images seen give the pass and the place in it)."""
    from tqdm.auto import tqdm

    batch_size = args.batch_size or BATCH_SIZE
    n_paths = len(paths)
    state = getattr(user_input(model.resume_partial_fit), "online_state_", None)
    seen = state.n_images if state is not None else 0
    with tqdm(total=args.max_iter * n_paths, initial=min(seen, args.max_iter * n_paths),
              unit="image", desc="cogd learn --online", disable=args.quiet) as bar:
        for epoch in range(seen // n_paths, args.max_iter):
            order = np.random.default_rng([args.seed, epoch]).permutation(n_paths)
            start = seen - epoch * n_paths if epoch == seen // n_paths else 0
            for first in range(start, n_paths, batch_size):
                batch = [paths[i] for i in order[first:first + batch_size]]
                images = [_read_gray_image(path) for path in batch]
                if args.lcn:
                    from ..preprocess import local_contrast_normalize

                    images = [user_input(local_contrast_normalize, image) for image in images]
                for run_of_one_size in _same_size_runs(images):
                    user_input(model.partial_fit, np.stack(run_of_one_size).astype(np.float32))
                    bar.update(len(run_of_one_size))
                    bar.set_postfix(objective=f"{model.history_['objective'][-1]:.5g}")


def _same_size_runs(images):
    """Consecutive runs of images of one size (a mini-batch is one array)."""
    runs = []
    for image in images:
        if runs and runs[-1][0].shape == image.shape:
            runs[-1].append(image)
        else:
            runs.append([image])
    return runs


def _read_gray_image(path):
    """One image, gray (RGB converted), by the project's float policy, in float64."""
    from ..io import read_image
    from ..preprocess import rgb_to_gray

    image = user_input(read_image, path)
    return user_input(rgb_to_gray if image.ndim == 3 else as_unit, image)


def _read_gray_images(paths, lcn):
    """The images as one float64 stack, gray, contrast-normalised when ``lcn``."""
    images = [_read_gray_image(path) for path in paths]
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UsageError(f"all training images must have the same size, got {sorted(shapes)} "
                         "(--online takes images of several sizes)")
    images = np.stack(images)
    if lcn:
        from ..preprocess import local_contrast_normalize

        images = user_input(local_contrast_normalize, images)
    return images


def add_parser(commands):
    """Add the ``learn`` command to ``commands`` (argparse subparsers)."""
    learn = commands.add_parser(
        "learn", help="learn a convolutional dictionary from images",
        description="learn a convolutional dictionary from gray or RGB images of one size "
                    "(converted to gray, contrast-normalised unless --no-lcn) and write it as "
                    ".npz for --dictionary; prints the objective 1/2 ||b - D z||^2 + lambda "
                    "||z||_1 and nnz (fraction of non-zero codes) of the last iteration. With "
                    "--online, images of any number and size, read one mini-batch at a time "
                    "(memory does not grow with the number of images)")
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
                       help="outer iterations (dictionary step + coding step); with --online, "
                            "passes over the images")
    learn.add_argument("--online", action="store_true",
                       help="online learning: mini-batches, each coded then folded into the "
                            "dictionary (with --optimizer cogd, the per-filter coupling rule)")
    learn.add_argument("--batch-size", type=positive_int, default=None,
                       help=f"images per mini-batch of --online (default {BATCH_SIZE})")
    learn.add_argument("--no-lcn", dest="lcn", action="store_false",
                       help="skip local contrast normalisation")
    learn.add_argument("--seed", type=non_negative_int, default=0,
                       help="seed of the initial dictionary (and of the order of the passes of "
                            "--online)")
    learn.add_argument("--checkpoint", help="resume from / save to this .npz checkpoint "
                       "(written after every outer iteration, or every mini-batch)")
    add_common(learn)
    learn.set_defaults(run=run)
