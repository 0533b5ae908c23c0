"""Online dictionary learning: against the batch fit and SPORCO's online learner, and its memory.

Part ``compare``: the 80 training images of ``scale_out.py`` (fruit and city, pre-processed as in
the papers' protocol, with their mirror images), 64 filters 8x8, lambda 0.8, the same initial
dictionary (``random_state=0``) for every method, each run in a fresh process:

- the batch fit, ``ConvolutionalDictionary(...).fit`` with 20 outer iterations;
- ``partial_fit`` on mini-batches of ``BATCH`` images, each pass in its own random order, for as
  many passes as the batch fit's time allows (the pass that would end beyond it is not run);
- SPORCO's ``OnlineConvBPDNMaskDictLearn`` (the paper's first-order, SGD method; the mask variant
  with the images zero-padded by ``s - 1`` and the mask zero there, so that it solves the same
  problem) on the same mini-batches, for the same time.

The learners are timed without the evaluations: after every pass, and for the batch fit at its
end, the dictionary is evaluated on the whole set in the same way, codes by ``encode``
(``EVAL_ITER`` ADMM iterations from zero codes) and the objective of SPEC 1 with them.

Part ``memory``: the peak resident memory (``VmHWM``) of ``cogd learn FOLDER --online``, one pass,
over 100 and over 1,000 gray PNG images of 100x100 (crops of scikit-image's photos at random
places, written to a temporary folder), each in a fresh process.

Usage::

    python benchmarks/online_cdl.py --out benchmarks/results/online_cdl.md [--parts compare memory]
"""

import argparse
import functools
import json
import os
import sys
import tempfile
import time

import numpy as np

import common
from common import cpu_description, peak_memory_gib, write_report

# this script's functions, each in a fresh interpreter
in_fresh_process = functools.partial(common.in_fresh_process, __file__)

PARAMS = dict(n_filters=64, filter_size=8, sparsity_weight=0.8, random_state=0)
BATCH_ITER = 20  # outer iterations of the batch fit
BATCH = 10  # images per mini-batch
ONLINE = dict(encode_iter=30, dictionary_iter=20, forgetting_exponent=10.0)
EVAL_ITER = 100
SPORCO = dict(eta_a=10.0, eta_b=20.0, rho=20 * PARAMS["sparsity_weight"] + 0.5)
MEMORY_SIZES = (100, 1000)
MEMORY_ARGUMENTS = ["--online", "--batch-size", "10", "--max-iter", "1", "--n-filters", "32",
                    "--filter-size", "8", "--quiet"]


def training_images():
    from scale_out import training_images as images

    return images()


def evaluate(filters, images):
    """Objective of the whole set with ``filters`` (codes by ``EVAL_ITER`` ADMM iterations)."""
    from csc import ConvolutionalDictionary

    model = ConvolutionalDictionary(**PARAMS, encode_iter=EVAL_ITER)
    model.filters_, model.n_channels_ = np.asarray(filters, dtype=images.dtype), 1
    return float(model.objective(images, model.encode(images)))


def batch_run():
    from csc import ConvolutionalDictionary

    images = training_images()
    start = time.perf_counter()
    model = ConvolutionalDictionary(**PARAMS, max_iter=BATCH_ITER).fit(images)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "history": model.history_["objective"],
            "history_seconds": model.history_["seconds"],
            "objective": evaluate(model.filters_, images)}


def timed_passes(images, budget, learn, filters):
    """``learn(batch)`` on the mini-batches (indices) of every pass, each pass in its own random
    order, for the passes that fit in ``budget`` seconds (the pass that would end beyond it is
    not run); after each, ``filters()`` evaluated (not timed). The rows of the passes."""
    rows, elapsed = [], 0.0
    for epoch in range(1000):
        if rows and elapsed + rows[-1]["seconds"] / len(rows) > budget:
            break
        order = np.random.default_rng([PARAMS["random_state"], epoch]).permutation(len(images))
        start = time.perf_counter()
        for first in range(0, len(images), BATCH):
            learn(order[first:first + BATCH])
        elapsed += time.perf_counter() - start
        rows.append({"pass": epoch + 1, "seconds": elapsed,
                     "objective": evaluate(filters(), images)})
    return rows


def online_run(budget):
    """``partial_fit`` for the passes that fit in ``budget`` seconds."""
    from csc import ConvolutionalDictionary

    images = training_images()
    model = ConvolutionalDictionary(**PARAMS, **ONLINE)
    rows = timed_passes(images, budget, lambda batch: model.partial_fit(images[batch]),
                        lambda: model.filters_)
    return {"passes": rows, "history": model.history_}


def sporco_run(budget):
    """SPORCO's ``OnlineConvBPDNMaskDictLearn`` on the same mini-batches, for ``budget``
    seconds."""
    import sporco.fft
    from sporco.dictlrn import onlinecdl

    from csc.outer_loop import initial_dictionary

    sporco.fft.pyfftw_planner_effort = "FFTW_ESTIMATE"  # it builds a solver, so plans, per batch

    images = training_images()
    s, lam = PARAMS["filter_size"], PARAMS["sparsity_weight"]
    initial = initial_dictionary(PARAMS["n_filters"], s, 1, random_state=PARAMS["random_state"])
    pad = ((0, 0), (0, s - 1), (0, s - 1))
    signal = np.pad(images, pad).transpose(1, 2, 0).astype(np.float32)
    mask = np.pad(np.ones_like(images), pad).transpose(1, 2, 0).astype(np.float32)
    options = onlinecdl.OnlineConvBPDNMaskDictLearn.Options({
        "Verbose": False, "ZeroMean": False, "eta_a": SPORCO["eta_a"], "eta_b": SPORCO["eta_b"],
        "DataType": np.float32,
        "CBPDN": {"rho": SPORCO["rho"], "AutoRho": {"Enabled": False}, "RelaxParam": 1.8,
                  "RelStopTol": 1e-7, "MaxMainIter": ONLINE["encode_iter"], "FastSolve": False,
                  "DataType": np.float32}})
    solver = onlinecdl.OnlineConvBPDNMaskDictLearn(
        initial[:, 0].transpose(1, 2, 0).astype(np.float32), lam, options)
    rows = timed_passes(images, budget,
                        lambda batch: solver.solve(signal[..., batch], mask[..., batch]),
                        lambda: np.moveaxis(solver.getdict().squeeze(), -1, 0))
    return {"passes": rows}


def memory_run(n_images):
    """Peak memory of ``cogd learn FOLDER --online`` over ``n_images`` crops (fresh process)."""
    import imageio.v3 as iio
    from skimage import color, data

    from restoration.cli import main

    photos = [data.camera(), color.rgb2gray(data.astronaut()), color.rgb2gray(data.coffee()),
              color.rgb2gray(data.chelsea()), color.rgb2gray(data.rocket())]
    photos = [(photo * 255 if photo.dtype != np.uint8 else photo).astype(np.uint8)
              for photo in photos]
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for index in range(n_images):
            photo = photos[index % len(photos)]
            top, left = (rng.integers(0, n - 100) for n in photo.shape)
            iio.imwrite(os.path.join(folder, f"crop{index:04d}.png"),
                        photo[top:top + 100, left:left + 100])
        status = main(["learn", folder, "-o", os.path.join(folder, "d.npz"),
                       *MEMORY_ARGUMENTS])
    return {"n_images": n_images, "status": status, "peak_gib": peak_memory_gib()}


def within(objective, reference):
    return 100 * (objective / reference - 1)


def report(results, out):
    lines = ["# Online dictionary learning", "", f"Machine: {cpu_description()}.", ""]
    if "compare" in results:
        r = results["compare"]
        batch, online, sporco = r["batch"], r["online"], r["sporco"]
        reference = batch["objective"]
        lines += [
            "## Against the batch fit and SPORCO's online learner (fruit + city, 80 images)", "",
            f"80 gray 100x100 images (fruit and city, pre-processed, with mirror images), "
            f"{PARAMS['n_filters']} filters {PARAMS['filter_size']}x{PARAMS['filter_size']}, "
            f"lambda {PARAMS['sparsity_weight']}, the same initial dictionary for every method. "
            f"Batch: `fit`, {BATCH_ITER} outer iterations. Online (this package): `partial_fit`"
            f" on mini-batches of {BATCH}, {ONLINE}. SPORCO: `OnlineConvBPDNMaskDictLearn` on "
            f"the same mini-batches, CBPDN rho {SPORCO['rho']}, {ONLINE['encode_iter']} "
            f"iterations, step eta_a / (eta_b + j) with {SPORCO['eta_a']} and "
            f"{SPORCO['eta_b']}, FFTW planner FFTW_ESTIMATE (it builds a new coding solver, "
            "so new FFT plans, for every mini-batch). Objective on the whole set: codes by `encode` "
            f"({EVAL_ITER} ADMM iterations from zero), then the objective of SPEC 1, for every "
            "dictionary alike (not timed). Seconds: the learner's own time, cumulative.", "",
            "Command:", "", "```", r["command"], "```", "",
            *([r["note"], ""] if r.get("note") else []),
            "| method | pass | seconds | objective on the whole set | vs the batch fit |",
            "|---|---|---|---|---|",
            f"| batch fit | {BATCH_ITER} outer iterations | {batch['seconds']:.1f} | "
            f"{reference:.1f} | 0.00 % |"]
        for name, run in (("online (this package)", online), ("SPORCO online", sporco)):
            for row in run["passes"]:
                lines.append(f"| {name} | {row['pass']} | {row['seconds']:.1f} | "
                             f"{row['objective']:.1f} | "
                             f"{within(row['objective'], reference):+.2f} % |")
        best = min(online["passes"], key=lambda row: row["objective"])
        first = next((row for row in online["passes"]
                      if within(row["objective"], reference) <= 5), None)
        lines += [
            "", f"The batch fit's own objective after {BATCH_ITER} outer iterations (its codes "
            f"warm-started from iteration to iteration): {batch['history'][-1]:.1f}.", "",
            "Reading: " + (
                f"the online dictionary is within 5 % of the batch fit's after pass "
                f"{first['pass']} ({first['seconds']:.0f} s, the batch fit "
                f"{batch['seconds']:.0f} s); " if first else
                "the online dictionary does not come within 5 % of the batch fit's in its "
                "time; ") +
            f"its best, pass {best['pass']}, is {within(best['objective'], reference):+.2f} %. "
            f"SPORCO's online learner ends at "
            f"{within(sporco['passes'][-1]['objective'], reference):+.2f} % in the same time.",
            ""]
    if "memory" in results:
        r = results["memory"]
        runs = r["runs"]
        ratio = runs[-1]["peak_gib"] / runs[0]["peak_gib"]
        lines += [
            "## Memory does not grow with the number of images", "",
            "`cogd learn FOLDER` with `" + " ".join(MEMORY_ARGUMENTS) + "` over gray 100x100 "
            "PNG crops of scikit-image's photos, each run in a fresh process; peak resident "
            "memory of that process (`VmHWM`).", "",
            "Command:", "", "```", r["command"], "```", "",
            *([r["note"], ""] if r.get("note") else []),
            "| images | peak memory (GiB) |", "|---|---|",
            *[f"| {run['n_images']} | {run['peak_gib']:.3f} |" for run in runs],
            "", f"Reading: {runs[-1]['n_images']} images peak at {ratio:.3f}x the memory of "
            f"{runs[0]['n_images']} (floor: within 10 %).", ""]
    write_report(lines, results, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/online_cdl.md")
    parser.add_argument("--parts", nargs="+", choices=["compare", "memory"],
                        default=["compare", "memory"])
    parser.add_argument("--note", default="")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown file from its .json")
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        name, *rest = args.run
        value = {"batch": batch_run, "online": lambda: online_run(float(rest[0])),
                 "sporco": lambda: sporco_run(float(rest[0])),
                 "memory": lambda: memory_run(int(rest[0]))}[name]()
        print(json.dumps(value))
        return
    json_path = os.path.splitext(args.out)[0] + ".json"
    results = {}
    if os.path.exists(json_path):
        with open(json_path) as handle:
            results = json.load(handle)
    command = "python benchmarks/online_cdl.py " + " ".join(
        f"'{a}'" if " " in a else a for a in sys.argv[1:])
    if not args.report_only and "compare" in args.parts:
        batch = in_fresh_process("batch")
        results["compare"] = {"batch": batch,
                              "online": in_fresh_process("online", batch["seconds"]),
                              "sporco": in_fresh_process("sporco", batch["seconds"]),
                              "command": command, "note": args.note}
    if not args.report_only and "memory" in args.parts:
        results["memory"] = {"runs": [in_fresh_process("memory", n) for n in MEMORY_SIZES],
                             "command": command, "note": args.note}
    report(results, args.out)


if __name__ == "__main__":
    main()
