"""Fruit/city protocol: this package's dictionary learning vs SPORCO, in one process.

Both solve the same problem (SPEC 1): the ten LCN gray images of a set, 100 filters 11x11,
lambda 1, the same random initial dictionary, zero padding by s - 1 with the mask zero there
(and, for inpainting, 75 % of the pixels kept). Both report the same functional: this script
re-evaluates SPORCO's final iterate with this package's objective to show it.

Writes a Markdown report (and a JSON file beside it) with objective, nnz and seconds per outer
iteration for each method, and the time this package needs to reach the objective SPORCO reaches
after 30 and after 100 of its iterations.

Usage::

    python benchmarks/cdl_vs_sporco.py --set fruit --out benchmarks/results/cdl_vs_sporco.md
"""

import argparse
import json
import os
import sys

import numpy as np

from common import load_problem, machine, run_ours, run_sporco, time_to_reach


def report(results, args, command):
    lines = [f"# Dictionary learning: this package vs SPORCO ({args.set}, "
             f"{'inpainting' if args.missing else 'reconstruction'})", "",
             f"Command: `{command}`", "", f"Machine: {machine()}", "",
             f"Problem: {args.set} LCN gray images (10 x 100x100), {args.n_filters} filters "
             f"{args.filter_size}x{args.filter_size}, lambda {args.sparsity_weight}, "
             f"{int(round(100 * (1 - args.missing)))} % of pixels kept, {args.dtype}, "
             f"same initial dictionary (seed {args.seed}). SPORCO: ConvBPDNMaskDictLearn, "
             f"ADMM coding + consensus dictionary update, CBPDN rho = 20 lambda + 0.5, "
             f"CCMOD rho = 0.2 (its masked-CDL example settings), FFTW planner "
             f"{args.sporco_planner}; its setup time ({results['sporco']['setup_seconds']:.1f} s) "
             "is not counted. One SPORCO iteration = one coding + one dictionary ADMM "
             "iteration; one outer iteration here = 10 + 10 (SPEC 1.4).", ""]
    sporco = results["sporco"]
    lines += ["## Summary", "",
              "| method | iterations | final objective | nnz | seconds | s / iteration |",
              "|---|---|---|---|---|---|"]
    for name in ("admm", "cogd"):
        history = results[name]
        lines.append(f"| cogd package, optimizer={name} | {args.max_iter} outer | "
                     f"{history['objective'][-1]:.1f} | {history['nnz'][-1]:.4f} | "
                     f"{history['seconds'][-1]:.1f} | "
                     f"{history['seconds'][-1] / args.max_iter:.2f} |")
    lines.append(f"| SPORCO | {args.sporco_iter} | {sporco['objective'][-1]:.1f} | "
                 f"{sporco['nnz'][-1]:.4f} | {sporco['seconds'][-1]:.1f} | "
                 f"{sporco['seconds'][-1] / args.sporco_iter:.2f} |")
    lines += ["", f"SPORCO's final iterate evaluated with this package's objective: "
              f"{sporco['objective_by_this_package']:.4f} (SPORCO reports "
              f"{sporco['objective'][-1]:.4f}).", "", "## Time to SPORCO's objective", "",
              "| SPORCO iteration | its objective | SPORCO seconds | admm seconds | ratio | "
              "cogd seconds | ratio |", "|---|---|---|---|---|---|---|"]
    for iteration in (30, 100):
        if iteration > args.sporco_iter:
            continue
        target = sporco["objective"][iteration - 1]
        reference = sporco["seconds"][iteration - 1]
        row = f"| {iteration} | {target:.1f} | {reference:.1f} |"
        for name in ("admm", "cogd"):
            reached = time_to_reach(results[name], target)
            row += " not reached | - |" if reached is None else \
                f" {reached:.1f} | {reference / reached:.1f}x |"
        lines.append(row)
    lines += ["", "## Per outer iteration (this package)", "",
              "| outer | admm objective | admm nnz | admm s | cogd objective | cogd nnz | cogd s |",
              "|---|---|---|---|---|---|---|"]
    for i in range(args.max_iter + 1):
        admm, cogd = results["admm"], results["cogd"]
        lines.append(f"| {i} | {admm['objective'][i]:.1f} | {admm['nnz'][i]:.4f} | "
                     f"{admm['seconds'][i]:.1f} | {cogd['objective'][i]:.1f} | "
                     f"{cogd['nnz'][i]:.4f} | {cogd['seconds'][i]:.1f} |")
    lines += ["", "## SPORCO, every 10 iterations", "", "| iteration | objective | nnz | s |",
              "|---|---|---|---|"]
    for i in range(9, args.sporco_iter, 10):
        lines.append(f"| {i + 1} | {sporco['objective'][i]:.1f} | {sporco['nnz'][i]:.4f} | "
                     f"{sporco['seconds'][i]:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", default="fruit", choices=["fruit", "city"])
    parser.add_argument("--missing", type=float, default=0.0,
                        help="fraction of missing pixels (0.25 for the inpainting protocol)")
    parser.add_argument("--n-filters", type=int, default=100)
    parser.add_argument("--filter-size", type=int, default=11)
    parser.add_argument("--sparsity-weight", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--sporco-iter", type=int, default=100)
    parser.add_argument("--sporco-planner", default="FFTW_MEASURE")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="Markdown report (JSON written beside)")
    args = parser.parse_args(argv)
    command = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    images, mask = load_problem(args.set, args.missing, args.seed)
    initial = np.random.default_rng(args.seed).standard_normal(
        (args.n_filters, args.filter_size, args.filter_size))
    results = {}
    for optimizer in ("admm", "cogd"):
        results[optimizer] = run_ours(images, mask, initial, args, optimizer)
        print(f"{optimizer}: F = {results[optimizer]['objective'][-1]:.1f} in "
              f"{results[optimizer]['seconds'][-1]:.1f} s", flush=True)
    results["sporco"] = run_sporco(images, mask, initial, args)
    print(f"sporco: F = {results['sporco']['objective'][-1]:.1f} in "
          f"{results['sporco']['seconds'][-1]:.1f} s", flush=True)
    text = report(results, args, command)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as stream:
        stream.write(text)
    with open(os.path.splitext(args.out)[0] + ".json", "w") as stream:
        json.dump({"args": vars(args), "machine": machine(), "results": results}, stream)
    print(text)


if __name__ == "__main__":
    main()
