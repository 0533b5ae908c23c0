"""The ``cogd`` command line: a thin wrapper over the Python API.

Only this module prints. Every user error exits with status 2 and a one-line message (``cogd:
error: ...``), before anything is written; outputs are checked (folder, overwrite) before the
computation, written atomically and never overwrite an existing file without ``--force``. The
first line is printed before the long computation starts. ``cogd inpaint`` without an input is a
demo that writes to a cache folder (``$XDG_CACHE_HOME/cogd``, else ``~/.cache/cogd``), so that it
can be run again and never writes into the current folder.
"""

import argparse
import glob
import os
import sys
import tempfile

import numpy as np

from .io import IMAGE_SUFFIXES, JPEG_QUALITY

__all__ = ["main"]

REPORT_HELP = (
    "printed: objective = 1/2 ||M (b - D z)||^2 + lambda ||z||_1 of the sparse coding (b: the "
    "image's detail layer scaled to unit RMS, M: the observed pixels, D: the dictionary, z: the "
    "codes; lower is a better fit), nnz = fraction of non-zero codes z (lower is sparser), "
    "lambda = --sparsity-weight and sigma = --smoothing (the Gaussian that separates the smooth "
    "part from the detail), chosen per image by predicting hidden observed pixels unless given; "
    "'biharmonic fill' means the sparse detail did not predict them better, so the fill alone "
    "is the result; PSNR/SSIM are measured on the image as written to the file")


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: ...)`` where there is a default worth showing (not None or a flag's)."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UsageError(message)


def _say(text):
    print(text, flush=True)


# -- argument types (argparse turns their ValueError into a one-line usage error) -----------------
def _positive_int(text):
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _seed(text):
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _fraction(text):
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


def _quality(text):
    value = int(text)
    if not 1 <= value <= 100:
        raise ValueError(text)
    return value


_positive_int.__name__ = "integer >= 1"
_seed.__name__ = "integer >= 0"
_fraction.__name__ = "fraction in [0, 1)"
_quality.__name__ = "integer in [1, 100]"


# -- inputs and outputs --------------------------------------------------------------------------
def _user_input(function, *args, **kwargs):
    """Call ``function``; a ValueError or TypeError (bad user input) becomes a UsageError."""
    try:
        return function(*args, **kwargs)
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None


def _as_unit(image):
    """The float policy of the whole project (:func:`csc.images.as_float`), in float64."""
    from csc.images import as_float

    return _user_input(as_float, image, name="image", finite=False).astype(np.float64)


def _expand(patterns):
    """Files named by ``patterns`` (a file name is taken as it is, even with glob characters)."""
    paths = []
    for pattern in patterns:
        matches = [pattern] if os.path.isfile(pattern) else sorted(glob.glob(pattern))
        if not matches:
            raise UsageError(f"no file matches {pattern!r}")
        paths.extend(matches)
    return paths


def _read_gray_images(paths):
    """The images as one float64 stack, gray (RGB converted), by the project's float policy."""
    from .io import read_image
    from .preprocess import rgb_to_gray

    images = []
    for path in paths:
        image = _user_input(read_image, path)
        images.append(_user_input(rgb_to_gray, image) if image.ndim == 3 else _as_unit(image))
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UsageError(f"all training images must have the same size, got {sorted(shapes)}")
    return np.stack(images)


def _check_output(path, force, suffixes=None, option="--output"):
    """Refuse, before any computation, an output that could not or should not be written."""
    if suffixes is not None and not path.lower().endswith(suffixes):
        raise UsageError(f"{option} must end with one of {', '.join(suffixes)}, got {path!r}")
    if os.path.isdir(path):
        raise UsageError(f"{option} {path} is a folder; give a file name")
    if os.path.exists(path) and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"output folder {folder} is not writable")


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


def _restoration_output(args, demo_name):
    """Checked output path: ``-o``, or (demo without input) ``demo_name`` in the cache folder,
    which the demo overwrites."""
    if args.output is not None:
        _check_output(args.output, args.force, IMAGE_SUFFIXES)
        return args.output
    if args.input is not None:
        raise UsageError("-o/--output is required")
    output = os.path.join(_demo_folder(), demo_name)
    _check_output(output, True, IMAGE_SUFFIXES)
    return output


def _restoration_input(args):
    """Image, mask and display name of ``cogd inpaint``/``reconstruct`` (the demo without input)."""
    from .io import read_image

    if args.input is None:
        from skimage import data

        image, name = data.camera(), "camera (scikit-image)"
    else:
        image, name = _user_input(read_image, args.input), args.input
    mask = _user_input(_mask_of, image, getattr(args, "mask", None),
                       getattr(args, "missing", None), getattr(args, "seed", 0))
    return image, mask, name


def _mask_of(image, mask_path, missing, seed):
    """The mask of ``--mask`` (read), or of ``--missing`` and ``--seed`` (drawn), or None."""
    from .io import read_mask

    if mask_path is not None:
        return read_mask(mask_path, image.shape[:2])
    if missing is not None:
        return np.random.default_rng(seed).random(image.shape[:2]) >= missing
    return None


def _describe(image):
    colour = "RGB" if image.ndim == 3 else "gray"
    return f"{image.shape[0]}x{image.shape[1]} {colour} {image.dtype}"


def _iterations(args):
    """``max_iter`` when given on the command line (else the API's default)."""
    return {} if args.max_iter is None else {"max_iter": args.max_iter}


def _report(label, info, output):
    settings = ", ".join("biharmonic fill" if s.smoothing is None else
                         f"lambda {s.sparsity_weight:g} sigma {s.smoothing:g}"
                         for s in info.selections)
    _say(f"{label}: objective {info.objective:.6g}, nnz {info.nnz:.4f}, {settings}, "
         f"{info.n_iter} iterations x {info.n_tiles} tile(s), {info.seconds:.1f} s -> {output}")


def _quality_text(truth, estimate, channel_axis, mask=None):
    """PSNR, SSIM (images of at least 7x7) and PSNR on the missing pixels, as one line."""
    from .metrics import SSIM_WINDOW, psnr, psnr_missing, ssim

    text = f"PSNR {psnr(truth, estimate, data_range=1.0):.2f} dB"
    if min(truth.shape[:2]) >= SSIM_WINDOW:
        text += f", SSIM {ssim(truth, estimate, data_range=1.0, channel_axis=channel_axis):.4f}"
    else:
        text += f", SSIM n/a (under {SSIM_WINDOW}x{SSIM_WINDOW} pixels)"
    if mask is not None and not mask.all():
        text += (f", PSNR on missing pixels "
                 f"{psnr_missing(truth, estimate, mask, data_range=1.0):.2f} dB")
    return text


def _format_name(output, stored):
    suffix = os.path.splitext(output)[1].lower().lstrip(".")
    kind = {"jpeg": "jpg", "tiff": "tif"}.get(suffix, suffix).upper()
    return f"{kind} {stored.dtype}"


def _encode(args, output, image, like):
    """``(bytes, image as stored)`` of ``image`` in the format of ``output`` (in memory)."""
    from .io import encode_image

    return _user_input(encode_image, image, os.path.splitext(output)[1], like=like,
                       quality=args.jpeg_quality)


def _output_dtype(image):
    return image.dtype if image.dtype.kind in "uf" else np.dtype(np.uint8)


def _comparison(label, truth, data, channel_axis, mask=None):
    """One line: ``data`` (as stored) against the ground truth."""
    if not np.all(np.isfinite(truth)):
        return f"  {label}: no comparison (the input has NaN or infinite values)"
    return f"  {label}: {_quality_text(truth, _as_unit(data), channel_axis, mask)}"


def _inpaint(args):
    if args.input is None and args.mask is None and args.missing is None:
        args.missing = 0.5
    if args.input is not None and args.mask is None and args.missing is None:
        raise UsageError("give --mask MASK or --missing FRACTION")
    output = _restoration_output(args, "inpainted_camera.png")
    image, mask, name = _restoration_input(args)
    missing = f"{mask.size - int(mask.sum())} of {mask.size} pixels missing ({1 - mask.mean():.0%})"
    if args.missing is not None:
        missing += f" (--missing {args.missing:g}, --seed {args.seed})"
    _say(f"cogd inpaint: {name}, {_describe(image)}, {missing}; filling and coding...")
    from .inpainting import restore
    from .io import write_bytes

    channel_axis = -1 if image.ndim == 3 else None
    info = _user_input(
        restore, image, mask, dictionary=args.dictionary, sparsity_weight=args.sparsity_weight,
        smoothing=args.smoothing, channel_axis=channel_axis, progress=not args.quiet,
        **_iterations(args))
    data, stored = _encode(args, output, info.image, _output_dtype(image))
    lines = []
    if args.missing is not None:  # the input is the ground truth
        truth, encoding = _as_unit(image), _format_name(output, stored)
        lines.append(_comparison(f"inpaint    vs original ({encoding} as written)", truth,
                                 stored, channel_axis, mask))
        if args.baseline and np.all(np.isfinite(truth)):
            from skimage.restoration import inpaint_biharmonic

            observed = mask if image.ndim == 2 else mask[..., None]
            baseline = inpaint_biharmonic(np.where(observed, truth, 0), ~mask,
                                          channel_axis=channel_axis)
            _, baseline = _encode(args, output, baseline, stored.dtype)
            lines.append(_comparison(f"biharmonic vs original ({encoding}, the same way)",
                                     truth, baseline, channel_axis, mask))
    write_bytes(output, data)
    _report("inpaint", info, output)
    for line in lines:
        _say(line)
    return 0


def _reconstruct(args):
    output = _restoration_output(args, "reconstructed_camera.png")
    image, _, name = _restoration_input(args)
    _say(f"cogd reconstruct: {name}, {_describe(image)}; coding...")
    from .inpainting import restore
    from .io import write_bytes

    channel_axis = -1 if image.ndim == 3 else None
    info = _user_input(
        restore, image, dictionary=args.dictionary, sparsity_weight=args.sparsity_weight,
        smoothing=args.smoothing, channel_axis=channel_axis, progress=not args.quiet,
        **_iterations(args))
    data, stored = _encode(args, output, info.image, _output_dtype(image))
    line = _comparison(f"reconstruction vs input ({_format_name(output, stored)} as written)",
                       _as_unit(image), stored, channel_axis)
    write_bytes(output, data)
    _report("reconstruct", info, output)
    _say(line)
    return 0


def _learn(args):
    _check_output(args.output, args.force, (".npz",))
    if args.checkpoint is not None:
        _check_output(args.checkpoint, True, option="--checkpoint")
    paths = _expand(args.images)
    _say(f"cogd learn: {len(paths)} image(s), {args.n_filters} filters "
         f"{args.filter_size}x{args.filter_size}, {args.max_iter} outer iterations "
         f"({args.optimizer}) -> {args.output}")
    images = _read_gray_images(paths)
    from csc import ConvolutionalDictionary

    from .preprocess import local_contrast_normalize

    if args.lcn:
        images = _user_input(local_contrast_normalize, images)
    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        optimizer=args.optimizer, max_iter=args.max_iter, random_state=args.seed,
        checkpoint=args.checkpoint, progress=not args.quiet,
    )
    _user_input(model.fit, images.astype(np.float32))
    model.save(args.output)
    history = model.history_
    _say(f"learned {args.n_filters} filters {args.filter_size}x{args.filter_size} from "
         f"{len(paths)} images: objective {history['objective'][-1]:.6g}, "
         f"nnz {history['nnz'][-1]:.4f}, {history['seconds'][-1]:.1f} s -> {args.output}")
    return 0


def _evaluate(args):
    from .figures import require_matplotlib
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
    _say(f"cogd evaluate: {args.set} {args.task} ({args.optimizer}, seed {args.seed}), "
         f"{args.max_iter} outer iterations -> {args.out_dir}")
    from .protocol import evaluate_set

    try:
        result = evaluate_set(
            args.set, task=args.task, optimizer=args.optimizer, random_state=args.seed,
            max_iter=args.max_iter, sparsity_weight=args.sparsity_weight, coupling=args.coupling,
            n_filters=args.n_filters, filter_size=args.filter_size, progress=not args.quiet)
        write_results(result, args.out_dir, force=args.force, figures=args.figures)
    except (ValueError, TypeError, FileExistsError) as error:
        raise UsageError(str(error)) from None
    averages = result["averages"]
    line = (f"{args.set} {args.task} ({args.optimizer}, seed {args.seed}): PSNR (papers) "
            f"{averages['protocol_psnr']:.2f} dB, SSIM (papers) {averages['protocol_ssim']:.4f}, "
            f"PSNR {averages['psnr']:.2f} dB, SSIM {averages['ssim']:.4f}")
    if averages["psnr_missing"] is not None:
        line += f", PSNR missing {averages['psnr_missing']:.2f} dB"
    _say(f"{line}; objective {result['objective']:.6g}, nnz {result['nnz']:.5f}, "
         f"{result['seconds']:.1f} s -> {paths['md']}")
    return 0


# -- many inputs ---------------------------------------------------------------------------------
def _batch(args, inputs):
    """``cogd inpaint|reconstruct`` on several inputs, in this process or on a Dask cluster."""
    folder = args.output
    if folder is None or not os.path.isdir(folder):
        raise UsageError(f"with several inputs, -o/--output must be an existing folder, got "
                         f"{folder!r}")
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("give --workers or --scheduler, not both")
    if args.command == "inpaint" and args.mask is None and args.missing is None:
        raise UsageError("give --mask MASK or --missing FRACTION")
    outputs = []
    for path in inputs:
        stem, suffix = os.path.splitext(os.path.basename(path))
        output = os.path.join(folder, stem + (suffix if suffix.lower() in IMAGE_SUFFIXES
                                              else ".png"))
        if output in outputs:
            raise UsageError(f"two inputs would both be written to {output}")
        _check_output(output, args.force, IMAGE_SUFFIXES)
        outputs.append(output)
    settings = {"mask": getattr(args, "mask", None), "missing": getattr(args, "missing", None),
                "seed": getattr(args, "seed", 0), "dictionary": args.dictionary,
                "sparsity_weight": args.sparsity_weight, "smoothing": args.smoothing,
                "max_iter": args.max_iter, "jpeg_quality": args.jpeg_quality}
    where = ("this process" if args.workers is None and args.scheduler is None else
             f"{args.workers} local worker(s)" if args.workers else args.scheduler)
    _say(f"cogd {args.command}: {len(inputs)} images on {where} -> {folder}")
    if args.workers is None and args.scheduler is None:
        failed = sum(not _say_result(_restore_file(args.command, path, output, settings))
                     for path, output in zip(inputs, outputs, strict=True))
    else:
        failed = _batch_on_dask(args, inputs, outputs, settings)
    if failed:
        raise UsageError(f"{failed} of {len(inputs)} images failed (see above)")
    return 0


def _say_result(result):
    """Print one image's ``(ok, line)``; return ``ok``."""
    ok, text = result
    if ok:
        _say(text)
    else:
        print(f"cogd: error: {text}", file=sys.stderr, flush=True)
    return ok


def _batch_on_dask(args, inputs, outputs, settings):
    """Restore the files as tasks of a Dask cluster; return the number that failed."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError("--workers and --scheduler need Dask: pip install 'cogd[dask]'") from None
    cluster = None
    if args.scheduler is not None:
        client = _user_input(Client, args.scheduler, timeout="20s")
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(_restore_file, args.command, path, output, settings, pure=False)
                   for path, output in zip(inputs, outputs, strict=True)]
        return sum(not _say_result(future.result()) for future in as_completed(futures))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _restore_file(command, path, output, settings):
    """Restore one file and write it atomically (where the task runs); ``(ok, one line)``."""
    from .inpainting import restore
    from .io import encode_image, read_image, write_bytes

    try:
        image = read_image(path)
        mask = _mask_of(image, settings["mask"], settings["missing"], settings["seed"])
        channel_axis = -1 if image.ndim == 3 else None
        iterations = {} if settings["max_iter"] is None else {"max_iter": settings["max_iter"]}
        info = restore(image, mask, dictionary=settings["dictionary"],
                       sparsity_weight=settings["sparsity_weight"],
                       smoothing=settings["smoothing"], channel_axis=channel_axis, **iterations)
        data, stored = encode_image(info.image, os.path.splitext(output)[1],
                                    like=_output_dtype(image), quality=settings["jpeg_quality"])
        write_bytes(output, data)
    except (ValueError, TypeError, OSError) as error:
        return False, f"{path}: {_one_line(error)}"
    text = f"{path}: objective {info.objective:.6g}, nnz {info.nnz:.4f}, {info.seconds:.1f} s"
    if command == "reconstruct" or settings["missing"] is not None:
        text += (f", {_quality_text(_as_unit(image), _as_unit(stored), channel_axis, mask)} "
                 "vs the input")
    return True, f"{text} -> {output}"


# -- the parser ------------------------------------------------------------------------------
def _add_common(sub):
    sub.add_argument("--force", action="store_true", help="overwrite existing output files")
    sub.add_argument("--quiet", action="store_true", help="no progress bar")


def _build_parser():
    parser = _Parser(
        prog="cogd",
        description="Convolutional sparse coding with ADMM and cogradient descent (CoGD): "
                    "inpaint or sparsely reconstruct images with a convolutional dictionary, "
                    "learn dictionaries, run the fruit/city protocol. `cogd inpaint` alone runs "
                    "a demo. `cogd COMMAND --help` describes each command.")
    commands = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND",
                                     parser_class=_Parser)

    about = ("fill the missing pixels of an image (given by --mask, or removed at random with "
             "--missing, which also measures the result against the input and against "
             "biharmonic inpainting); without INPUT, a demo on scikit-image's camera photo with "
             "50 % of the pixels missing, written to the cache folder (~/.cache/cogd)")
    inpaint = commands.add_parser("inpaint", help="fill missing pixels of an image (no INPUT: "
                                  "a demo)", description=about, epilog=REPORT_HELP)
    about = ("sparse approximation of a whole image: its smooth part plus the dictionary's "
             "sparse synthesis of its detail, measured against the input; without INPUT, "
             "scikit-image's camera photo, written to the cache folder")
    reconstruct = commands.add_parser("reconstruct", help="sparse approximation of an image",
                                      description=about, epilog=REPORT_HELP)
    for sub, run in ((inpaint, _inpaint), (reconstruct, _reconstruct)):
        sub.add_argument("inputs", nargs="*", metavar="INPUT",
                         help="image file (PNG/JPEG/TIFF, gray or RGB; alpha is dropped); "
                              "several files or glob patterns: each is restored on its own and "
                              "written into the folder -o")
        if sub is inpaint:
            masks = sub.add_mutually_exclusive_group()
            masks.add_argument("--mask", help="mask image of the same size: white (above half "
                               "the range in every channel) = observed, black = missing")
            masks.add_argument("--missing", type=_fraction,
                               help="remove this fraction of the pixels at random and measure "
                                    "the result against the input (default 0.5 for the demo)")
            sub.add_argument("--seed", type=_seed, default=0, help="seed of --missing")
            sub.add_argument("--no-baseline", dest="baseline", action="store_false",
                             help="with --missing, skip the biharmonic baseline")
        sub.add_argument("-o", "--output",
                         help="output image (.png, .jpg, .tif); required with INPUT; with "
                              "several inputs an existing folder, where each output keeps its "
                              "input's name (.png for other suffixes); the demo writes to the "
                              "cache folder and overwrites its own output")
        sub.add_argument("--workers", type=_positive_int, default=None,
                         help="with several inputs: restore them on a local Dask cluster of "
                              "this many worker processes (one thread each)")
        sub.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="with several inputs: restore them on the workers of this Dask "
                              "scheduler (e.g. tcp://host:8786; the files must be readable and "
                              "writable there at the same paths)")
        sub.add_argument("--dictionary", help="dictionary .npz written by `cogd learn` "
                         "(default: the bundled one)")
        sub.add_argument("--sparsity-weight", type=float, default=None,
                         help="lambda, relative to the RMS of the observed detail: larger is "
                              "sparser and smoother (default: chosen per image)")
        sub.add_argument("--smoothing", type=float, default=None,
                         help="sigma in pixels of the Gaussian smooth part (default: chosen per "
                              "image)")
        sub.add_argument("--max-iter", type=_positive_int, default=None,
                         help="FISTA iterations (default: 36 for 512x512 and larger images, "
                              "up to 100 for smaller ones)")
        sub.add_argument("--jpeg-quality", type=_quality, default=JPEG_QUALITY,
                         help="quality of a .jpg output (PSNR/SSIM are measured after encoding)")
        _add_common(sub)
        sub.set_defaults(run=run)

    learn = commands.add_parser(
        "learn", help="learn a convolutional dictionary from images",
        description="learn a convolutional dictionary from gray or RGB images of one size "
                    "(converted to gray, contrast-normalised unless --no-lcn) and write it as "
                    ".npz for --dictionary; prints the objective 1/2 ||b - D z||^2 + lambda "
                    "||z||_1 and nnz (fraction of non-zero codes) of the last iteration")
    learn.add_argument("images", nargs="+", help="image files or glob patterns")
    learn.add_argument("-o", "--output", required=True, help="dictionary file (.npz)")
    learn.add_argument("--n-filters", type=_positive_int, default=100, help="number of filters")
    learn.add_argument("--filter-size", type=_positive_int, default=11,
                       help="side of the square filters (pixels)")
    learn.add_argument("--sparsity-weight", type=float, default=1.0, help="lambda")
    learn.add_argument("--optimizer", choices=["admm", "cogd"], default="admm",
                       help="ADMM, or ADMM with the CoGD coupling rule")
    learn.add_argument("--max-iter", type=_positive_int, default=20,
                       help="outer iterations (dictionary step + coding step)")
    learn.add_argument("--no-lcn", dest="lcn", action="store_false",
                       help="skip local contrast normalisation")
    learn.add_argument("--seed", type=_seed, default=0, help="seed of the initial dictionary")
    learn.add_argument("--checkpoint", help="resume from / save to this .npz checkpoint "
                       "(written after every outer iteration)")
    _add_common(learn)
    learn.set_defaults(run=_learn)

    evaluate = commands.add_parser(
        "evaluate", help="fruit/city protocol: learn, restore, PSNR/SSIM tables and figures",
        description="the papers' protocol on a bundled image set: learn one dictionary from "
                    "the ten gray contrast-normalised images, reconstruct or inpaint them, "
                    "write Markdown/CSV/JSON tables (and PNG figures) to --out-dir")
    evaluate.add_argument("set", choices=["fruit", "city"], help="bundled image set")
    evaluate.add_argument("--task", choices=["reconstruct", "inpaint"], default="reconstruct",
                          help="reconstruction, or inpainting with 25 %% of the pixels missing")
    evaluate.add_argument("--optimizer", choices=["admm", "cogd"], default="admm",
                          help="ADMM, or ADMM with the CoGD coupling rule")
    evaluate.add_argument("--coupling", choices=["reference", "filter"], default="reference",
                          help="CoGD rule (with --optimizer cogd)")
    evaluate.add_argument("--seed", type=_seed, default=0,
                          help="initial dictionary and inpainting mask")
    evaluate.add_argument("--max-iter", type=_positive_int, default=20, help="outer iterations")
    evaluate.add_argument("--sparsity-weight", type=float, default=1.0, help="lambda")
    evaluate.add_argument("--n-filters", type=_positive_int, default=100,
                          help="number of filters")
    evaluate.add_argument("--filter-size", type=_positive_int, default=11,
                          help="side of the square filters")
    evaluate.add_argument("--out-dir", default=".", help="existing folder for tables and figures")
    evaluate.add_argument("--no-figures", dest="figures", action="store_false",
                          help="tables only (no matplotlib needed)")
    _add_common(evaluate)
    evaluate.set_defaults(run=_evaluate)
    return parser


def main(argv=None):
    """Run the ``cogd`` command; return the exit status.

    0: done (or help printed); 2: a user error, reported on one line, nothing written; 1: an
    operating-system error (disk full, permissions) or out of memory, on one line; 130:
    interrupted.
    """
    parser = _build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as stop:  # --help (argparse prints, then exits)
            return stop.code if isinstance(stop.code, int) else 0
        if args.command is None:
            parser.print_help()
            return 0
        if hasattr(args, "inputs"):
            inputs = _expand(args.inputs)
            if len(inputs) > 1:
                return _batch(args, inputs)
            if args.workers is not None or args.scheduler is not None:
                raise UsageError("--workers and --scheduler are for several inputs")
            args.input = inputs[0] if inputs else None
        return args.run(args)
    except UsageError as error:
        print(f"cogd: error: {_one_line(error)}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as error:
        print(f"cogd: error: {type(error).__name__}: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cogd: interrupted", file=sys.stderr)
        return 130


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


if __name__ == "__main__":
    sys.exit(main())
