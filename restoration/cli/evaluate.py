"""``cogd evaluate``: the fruit/city protocol (:func:`restoration.protocol.evaluate_set`), its
tables and figures (:func:`restoration.reports.write_results`)."""

import os

from .common import (
    UsageError,
    add_common,
    check_folder,
    check_output,
    non_negative_int,
    positive_int,
    say,
)

__all__ = ["add_parser", "run"]


def run(args):
    """Run ``cogd evaluate``; return the exit status."""
    from ..figures import require_matplotlib
    from ..reports import output_paths, result_stem, write_results

    check_folder(args.out_dir, "--out-dir")
    config = {"set": args.set, "task": args.task, "optimizer": args.optimizer, "seed": args.seed}
    paths = output_paths(args.out_dir, result_stem(config), figures=args.figures)
    if os.path.isdir(args.out_dir):  # a new folder holds nothing to overwrite
        for path in paths.values():
            check_output(path, args.force)
    if args.figures:
        try:
            require_matplotlib()
        except ImportError as error:
            raise UsageError(f"{error}; or pass --no-figures") from None
    say(f"cogd evaluate: {args.set} {args.task} ({args.optimizer}, seed {args.seed}), "
        f"{args.max_iter} outer iterations -> {args.out_dir}")
    from ..protocol import evaluate_set

    try:
        result = evaluate_set(
            args.set, task=args.task, optimizer=args.optimizer, random_state=args.seed,
            max_iter=args.max_iter, sparsity_weight=args.sparsity_weight, coupling=args.coupling,
            n_filters=args.n_filters, filter_size=args.filter_size, progress=not args.quiet)
        os.makedirs(args.out_dir, exist_ok=True)  # created once there are results to write
        write_results(result, args.out_dir, force=args.force, figures=args.figures)
    except (ValueError, TypeError, FileExistsError) as error:
        raise UsageError(str(error)) from None
    averages = result["averages"]
    line = (f"{args.set} {args.task} ({args.optimizer}, seed {args.seed}): PSNR (papers) "
            f"{averages['protocol_psnr']:.2f} dB, SSIM (papers) {averages['protocol_ssim']:.4f}, "
            f"PSNR {averages['psnr']:.2f} dB, SSIM {averages['ssim']:.4f}")
    if averages["psnr_missing"] is not None:
        line += f", PSNR missing {averages['psnr_missing']:.2f} dB"
    say(f"{line}; objective {result['objective']:.6g}, nnz {result['nnz']:.5f}, "
        f"{result['seconds']:.1f} s -> {paths['md']}")
    return 0


def add_parser(commands):
    """Add the ``evaluate`` command to ``commands`` (argparse subparsers)."""
    evaluate = commands.add_parser(
        "evaluate", help="fruit/city protocol: learn, restore, PSNR/SSIM tables and figures",
        description="the papers' protocol on a bundled image set: learn one dictionary from "
                    "the ten gray contrast-normalised images, reconstruct or inpaint them, "
                    "write Markdown/CSV/JSON tables (and PNG figures) to --out-dir; existing "
                    "files are kept unless --force")
    evaluate.add_argument("set", choices=["fruit", "city"], help="bundled image set")
    evaluate.add_argument("--task", choices=["reconstruct", "inpaint"], default="reconstruct",
                          help="reconstruction, or inpainting with 25 %% of the pixels missing")
    evaluate.add_argument("--optimizer", choices=["admm", "cogd"], default="admm",
                          help="ADMM, or ADMM with the CoGD coupling rule")
    evaluate.add_argument("--coupling", choices=["reference", "filter"], default="reference",
                          help="CoGD rule (with --optimizer cogd)")
    evaluate.add_argument("--seed", type=non_negative_int, default=0,
                          help="initial dictionary and inpainting mask")
    evaluate.add_argument("--max-iter", type=positive_int, default=20, help="outer iterations")
    evaluate.add_argument("--sparsity-weight", type=float, default=1.0, help="lambda")
    evaluate.add_argument("--n-filters", type=positive_int, default=100,
                          help="number of filters")
    evaluate.add_argument("--filter-size", type=positive_int, default=11,
                          help="side of the square filters")
    evaluate.add_argument("--out-dir", default=".", help="folder for tables and figures (created "
                          "with its missing parents once the results are computed)")
    evaluate.add_argument("--no-figures", dest="figures", action="store_false",
                          help="tables only (no matplotlib needed)")
    add_common(evaluate)
    evaluate.set_defaults(run=run)
