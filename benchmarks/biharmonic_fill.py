"""The pipeline's biharmonic fill against scikit-image's ``inpaint_biharmonic``.

``restoration.biharmonic.BiharmonicSolver`` solves scikit-image's equations with its own
assembly and factorisation. This measures, on scikit-image's ``camera`` (512x512, gray, floats in
[0, 1]) with ``--fractions`` of its pixels missing at random (``default_rng(0)``):

- ``skimage``: ``inpaint_biharmonic`` (SuperLU through ``spsolve``, MMD_ATA ordering, partial
  pivoting);
- ``default ordering``: the solver's system factorised with SuperLU's defaults (COLAMD, partial
  pivoting), as this package did before the ordering below;
- ``solver``: ``BiharmonicSolver`` as shipped (minimum degree on ``A + A^T``, no pivoting, the
  default as fallback), its construction (assembly and factorisation) and one fill, then a second
  fill on the same mask (what the restoration's residual costs with the factorisation kept).

Each in a fresh process (peak memory is that process's ``VmHWM``, imports included); the
largest difference from scikit-image's result is given beside.

    python benchmarks/biharmonic_fill.py --out benchmarks/results/biharmonic_fill.md
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from restoration.io import write_text

from common import in_fresh_process, machine, peak_memory_gib

METHODS = ("skimage", "default ordering", "solver")


def problem(fraction):
    from skimage import data

    image = data.camera() / 255.0
    observed = np.random.default_rng(0).random(image.shape) >= fraction
    return image, observed


def run_case(method, fraction):
    """One method on one mask, in this process: seconds, factor size, peak memory, result."""
    from scipy.sparse.linalg import splu
    from skimage.restoration import inpaint_biharmonic

    import restoration.biharmonic as biharmonic

    image, observed = problem(fraction)
    values = np.where(observed, image, 0.0)
    row = {"method": method, "fraction": fraction}
    if method == "skimage":
        start = time.perf_counter()
        filled = inpaint_biharmonic(values, ~observed)
        row["seconds"] = time.perf_counter() - start
    else:
        if method == "default ordering":
            biharmonic._factorise = splu  # SuperLU's defaults
        start = time.perf_counter()
        solver = biharmonic.BiharmonicSolver(observed)
        filled = solver.fill(values)
        row["seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        solver.fill(values)
        row["second_fill_seconds"] = time.perf_counter() - start
        factors = solver._factors
        row["factor_mib"] = (factors.L.nnz + factors.U.nnz) * 12 / 2 ** 20  # value + index
    row["peak_gib"] = peak_memory_gib()  # before the reference below adds its own
    reference = inpaint_biharmonic(values, ~observed) if method != "skimage" else filled
    row["max_difference"] = float(np.max(np.abs(filled - reference)))
    return row


def markdown(rows, command):
    lines = ["# Biharmonic fill: the pipeline's solver against scikit-image", "",
             f"Command: `{command}`", "", f"Machine: {machine()}", "",
             "scikit-image's `camera` (512x512), pixels missing at random; each method in a "
             "fresh process. 'factors': SuperLU's L + U (values and indices); 'second fill': "
             "another fill on the same mask with the factorisation kept (the residual's fill of "
             "`restore`); 'difference': largest absolute difference from scikit-image's result.",
             "", "| missing | method | seconds | second fill s | factors MiB | peak GiB | "
             "difference |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        second = row.get("second_fill_seconds")
        factors = row.get("factor_mib")
        lines.append(f"| {row['fraction']:.0%} | {row['method']} | {row['seconds']:.2f} | "
                     f"{'-' if second is None else f'{second:.3f}'} | "
                     f"{'-' if factors is None else f'{factors:.0f}'} | {row['peak_gib']:.2f} | "
                     f"{row['max_difference']:.1e} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/biharmonic_fill.md")
    parser.add_argument("--fractions", nargs="+", type=float, default=[0.5, 0.75, 0.9])
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)  # METHOD FRACTION
    args = parser.parse_args(argv)
    if args.run:
        method, fraction = args.run
        print(json.dumps(run_case(method, float(fraction))))
        return
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    rows = []
    for fraction in args.fractions:
        for method in METHODS:
            rows.append(in_fresh_process(__file__, method, fraction))
            print(f"{fraction:.0%} {method}: {rows[-1]['seconds']:.2f} s", flush=True)
    command = "python " + " ".join(["benchmarks/biharmonic_fill.py"] + sys.argv[1:])
    write_text(args.out, markdown(rows, command))


if __name__ == "__main__":
    main()
