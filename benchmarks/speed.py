"""Speed of dictionary learning: this package vs SPORCO in one run, and a scaling table.

Part 1 (``--parts compare``): the fruit reconstruction protocol (ten 100x100 LCN gray images,
100 filters 11x11, lambda 1, the same random initial dictionary) solved by this package
(``ConvolutionalDictionary``, 20 outer iterations of 10 coding + 10 dictionary ADMM steps) and
by SPORCO's ``ConvBPDNMaskDictLearn`` (100 iterations), in float32 and float64, one after the
other in the same process. Reported: seconds per outer iteration of each, their ratio, both
final objectives, and the time this package needs to reach the objective SPORCO reaches after
30 and after 100 of its iterations, against SPORCO's time for those iterations.

Part 2 (``--parts profile``): cProfile of a fruit fit, own time grouped by kind of work.

Part 3 (``--parts solvers``): the dictionary step's solvers (``dictionary_solver``: exact
Woodbury, consensus over groups of at most 10 images ('auto'), one copy per image) for 10, 40
and 160 fruit-sized images: seconds per outer iteration and per dictionary step, peak memory
and the objective after 6 outer iterations (fresh process per case, as for the scaling table).

Part 4 (``--parts fft``): the inverse real 2-D FFT of a fruit-sized stack of code maps by
``scipy.fft.irfft2`` and by the two 1-D passes :func:`csc.backend.irfft2` uses.

Part 5 (``--parts scaling``): seconds per outer iteration (median over outer iterations 2-4, each
a dictionary step and a coding step) and peak resident memory, varying one factor at a time
from the fruit problem: number of images (10, 40, 160: fruit, then fruit and city under the
eight flips/rotations), image size (100: fruit; 256, 512: ten scikit-image photos, resized and
centre-cropped, LCN) and number of filters (32, 100, 256). Each case runs in a fresh process
so that its peak memory is its own. The fitted exponent is the slope of log(time) against
log(factor) (pixels for the size).

Usage::

    python benchmarks/speed.py --out benchmarks/results/speed.md
"""

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from types import SimpleNamespace

import numpy as np

from common import load_problem, peak_memory_gib, run_ours, run_sporco, time_to_reach
from common import machine as describe_machine

SCALING = {"n_images": (10, 40, 160), "size": (100, 256, 512), "n_filters": (32, 100, 256)}
SOLVERS = ("woodbury", "auto", "consensus")
BASE = {"n_images": 10, "size": 100, "n_filters": 100}
PHOTOS = ("camera", "astronaut", "coffee", "chelsea", "coins", "moon", "brick", "grass",
          "gravel", "immunohistochemistry")


def scaling_images(n_images, size):
    """LCN gray images for one scaling case (see the module docstring)."""
    from restoration.datasets import load_image_set
    from restoration.preprocess import local_contrast_normalize, rgb_to_gray

    if size == 100:
        images = [rgb_to_gray(load_image_set(name)) for name in ("fruit", "city")]
        images = np.concatenate(images)
        variants = [np.rot90(images, r, axes=(1, 2)) for r in range(4)]
        variants += [v[:, ::-1] for v in variants]
        stack = np.concatenate(variants)[:n_images]  # fruit first, then city
        return local_contrast_normalize(np.ascontiguousarray(stack))
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    images = []
    for name in PHOTOS[:n_images]:
        image = getattr(skimage.data, name)()
        image = rgb2gray(image) if image.ndim == 3 else image / 255.0
        scale = size / min(image.shape)
        image = resize(image, (max(size, round(image.shape[0] * scale)),
                               max(size, round(image.shape[1] * scale))), anti_aliasing=True)
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        images.append(image[top:top + size, left:left + size])
    return local_contrast_normalize(np.stack(images))


def run_case(n_images, size, n_filters, dtype, max_iter, solver="auto"):
    """One scaling case in this process; returns its timings and peak memory."""
    from csc import ConvolutionalDictionary

    images = scaling_images(n_images, size).astype(dtype)
    initial = np.random.default_rng(0).standard_normal((n_filters, 11, 11))
    model = ConvolutionalDictionary(n_filters, 11, max_iter=max_iter, initial_filters=initial,
                                    dictionary_solver=solver)
    model.fit(images)
    seconds = np.diff(model.history_["seconds"])
    return {"n_images": n_images, "size": size, "n_filters": n_filters, "solver": solver,
            "seconds_per_iteration": float(np.median(seconds[1:])),
            "first_iteration_seconds": float(seconds[0]),
            # iterations 3.. (iteration 1 has no dictionary step: its codes are still zero)
            "dictionary_seconds": float(np.median(model.history_["dictionary_seconds"][3:])),
            "objective": model.history_["objective"][-1], "peak_rss_gib": peak_memory_gib()}


def run_in_subprocess(*case):
    """:func:`run_case` in a fresh process, so that its peak memory is its own."""
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--case",
                             json.dumps(case)], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def profile_fit(images, max_iter):
    """Where the time of a fit goes: cProfile totals grouped by kind of work."""
    from csc import ConvolutionalDictionary

    initial = np.random.default_rng(0).standard_normal((100, 11, 11))
    model = ConvolutionalDictionary(100, 11, max_iter=2, initial_filters=initial)
    model.fit(images)  # compile (or load) every kernel first
    model.set_params(max_iter=max_iter)
    profiler = cProfile.Profile()
    profiler.enable()
    model.fit(images)
    profiler.disable()
    groups = {}
    for (filename, _, function), row in pstats.Stats(profiler).stats.items():
        own = row[2]
        if "pocketfft" in filename or "pypocketfft" in function:
            key = "FFT (scipy.fft)"
        elif "_kernels" in filename and function.endswith("_numba"):
            key = f"kernel {function.removesuffix('_numba').lstrip('_')}"
        elif "einsum" in function or "matmul" in function:
            key = "einsum / matmul"
        elif "linalg" in filename and function in ("inv", "_umath_linalg"):
            key = "numpy.linalg.inv"
        else:
            key = "other (NumPy element-wise, Python)"
        groups[key] = groups.get(key, 0.0) + own
    return {"seconds_per_iteration": model.history_["seconds"][-1] / max_iter,
            "groups": {k: v / max_iter for k, v in sorted(groups.items(), key=lambda x: -x[1])}}


def compare(dtype, args):

    images, mask = load_problem("fruit", 0.0, 0)
    initial = np.random.default_rng(0).standard_normal((100, 11, 11))
    options = SimpleNamespace(n_filters=100, filter_size=11, sparsity_weight=1.0,
                              max_iter=args.max_iter, sporco_iter=args.sporco_iter,
                              sporco_planner="FFTW_MEASURE", dtype=dtype)
    run_ours(images, mask, initial, SimpleNamespace(**dict(vars(options), max_iter=2)),
             "admm")  # compile (or load) the Numba kernels, as SPORCO's setup is not timed
    ours = run_ours(images, mask, initial, options, "admm")
    print(f"[{dtype}] this package: F = {ours['objective'][-1]:.1f} in "
          f"{ours['seconds'][-1]:.1f} s", flush=True)
    sporco = run_sporco(images, mask, initial, options)
    print(f"[{dtype}] SPORCO: F = {sporco['objective'][-1]:.1f} in "
          f"{sporco['seconds'][-1]:.1f} s", flush=True)
    reached = {}
    for iteration in (30, 100):
        if iteration <= args.sporco_iter:
            target = sporco["objective"][iteration - 1]
            reached[iteration] = {"objective": target,
                                  "sporco_seconds": sporco["seconds"][iteration - 1],
                                  "our_seconds": time_to_reach(ours, target)}
    return {"ours": ours, "sporco": sporco, "reached": reached}


def best_time(function, repeat=7):
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def fft_timings():
    """Inverse FFT variants and sparse vs FFT synthesis on fruit-sized code stacks."""
    import scipy.fft

    from csc import _kernels
    from csc.backend import irfft2
    from csc.fourier import pad_filters, spectra, synthesize

    rng = np.random.default_rng(0)
    shape, grid = (10, 100, 110, 110), (110, 110)
    maps_hat = scipy.fft.rfft2(rng.standard_normal(shape).astype(np.float32), workers=-1)
    transforms = {
        "scipy.fft.irfft2": best_time(lambda: scipy.fft.irfft2(maps_hat, s=grid, workers=-1)),
        "csc.backend.irfft2 (ifft + irfft)": best_time(lambda: irfft2(maps_hat, grid, xp=np)),
        "scipy.fft.rfft2 (forward, for scale)": best_time(
            lambda: scipy.fft.rfft2(np.empty(shape, np.float32), workers=-1)),
    }
    filters = rng.standard_normal((100, 1, 11, 11)).astype(np.float32)
    filters_hat = spectra(pad_filters(filters, grid, xp=np), xp=np)
    synthesis = {}
    for density in (0.001, 0.005, 0.01, 0.02, 0.05):
        codes = (rng.standard_normal(shape) * (rng.random(shape) < density)).astype(np.float32)
        row_nnz = np.count_nonzero(codes, axis=-1)
        synthesis[density] = {
            "sparse": best_time(lambda c=codes, r=row_nnz: spectra(
                _kernels.sparse_synthesis(c, r, filters, xp=np), xp=np)),
            "fft": best_time(lambda c=codes: synthesize(filters_hat, spectra(c, xp=np), xp=np))}
    return {"transforms": transforms, "synthesis": synthesis}


def machine():
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    import numba

    return f"{describe_machine()}, Numba {numba.__version__}, {memory:.0f} GiB RAM"


def fit_exponent(factors, seconds):
    return float(np.polyfit(np.log(factors), np.log(seconds), 1)[0])


def report(results):
    commands = sorted(set(results["commands"].values()))
    lines = ["# Speed: this package vs SPORCO, and scaling", "",
             "Commands (each wrote the parts named by its `--parts`, all by default): "
             + ", ".join(f"`{c}`" for c in commands), "",
             f"Machine: {results['machine']}.", "",
             "GPU: none was available to this session, so the CuPy path is not timed here "
             "(the same solvers run on CuPy arrays; see `tests/csc/test_cupy_backend.py`).", ""]
    if "compare" in results:
        lines += ["## 1. Time to SPORCO's objective (fruit, reconstruction)", "",
                  "Same problem, initial dictionary, lambda 1; this package: 20 outer "
                  "iterations (10 coding + 10 dictionary ADMM iterations each), SPORCO: 100 "
                  "iterations (one coding + one dictionary ADMM iteration each, its masked-CDL "
                  "example penalties, FFTW_MEASURE; setup not counted). Both ran one after the "
                  "other in one process on all cores.", "",
                  "| dtype | SPORCO iterations | SPORCO objective | SPORCO s | this package s "
                  "to that objective | speed-up |", "|---|---|---|---|---|---|"]
        for dtype, run in results["compare"].items():
            for iteration, row in run["reached"].items():
                ours = row["our_seconds"]
                speedup = "not reached" if ours is None else f"{row['sporco_seconds'] / ours:.1f}x"
                ours = "-" if ours is None else f"{ours:.2f}"
                lines.append(f"| {dtype} | {iteration} | {row['objective']:.1f} | "
                             f"{row['sporco_seconds']:.1f} | {ours} | **{speedup}** |")
        lines += ["", "| dtype | method | iterations | final objective | seconds | "
                  "s / iteration |", "|---|---|---|---|---|---|"]
        for dtype, run in results["compare"].items():
            ours, sporco = run["ours"], run["sporco"]
            n_ours, n_sporco = len(ours["seconds"]) - 1, len(sporco["seconds"])
            per_ours = ours["seconds"][-1] / n_ours
            per_sporco = sporco["seconds"][-1] / n_sporco
            lines.append(f"| {dtype} | this package | {n_ours} outer | "
                         f"{ours['objective'][-1]:.1f} | {ours['seconds'][-1]:.1f} | "
                         f"{per_ours:.2f} |")
            lines.append(f"| {dtype} | SPORCO | {n_sporco} | {sporco['objective'][-1]:.1f} | "
                         f"{sporco['seconds'][-1]:.1f} | {per_sporco:.2f} |")
            lines.append(f"| {dtype} | ratio (SPORCO iteration / outer iteration here) | | | | "
                         f"{per_sporco / per_ours:.2f} |")
        lines += ["", "An outer iteration here does 10 coding and 10 dictionary ADMM iterations, "
                  "a SPORCO iteration one of each, so the per-iteration ratio is not a speed-up; "
                  "the time to the same objective is.", ""]
    if "profile" in results:
        profile = results["profile"]
        lines += ["## 2. Where the time goes (fruit, float32, one outer iteration)", "",
                  f"cProfile of a 6-outer-iteration fit, own time per outer iteration, grouped "
                  f"(profiling overhead included): {profile['seconds_per_iteration']:.2f} s "
                  "per outer iteration.", "", "| work | s / outer iteration |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in profile["groups"].items()]
        lines.append("")
    if "solvers" in results:
        lines += ["## 3. Dictionary-step solvers against the number of images (float32)", "",
                  "Fruit-sized images (100x100, 100 filters 11x11, lambda 1), 6 outer iterations; "
                  "'woodbury' solves the filter update exactly (`n_images x n_images` factors "
                  "per frequency), 'auto' (the default) keeps one filter copy per group of at "
                  "most 10 images (the exact update up to 10 images), 'consensus' one copy per "
                  "image (see `csc/dictionary.py`). Medians over outer iterations 2-6.", "",
                  "| images | solver | s / outer iteration | s / dictionary step | "
                  "peak memory (GiB) | objective after 6 |", "|---|---|---|---|---|---|"]
        for row in results["solvers"]:
            lines.append(f"| {row['n_images']} | {row['solver']} | "
                         f"{row['seconds_per_iteration']:.2f} | {row['dictionary_seconds']:.2f} "
                         f"| {row['peak_rss_gib']:.2f} | {row['objective']:.1f} |")
        lines.append("")
    if "fft" in results:
        lines += ["## 4. Code-size transforms (10 x 100 x 110 x 110, float32, best of 7)", "",
                  "| inverse transform | ms |", "|---|---|"]
        lines += [f"| {k} | {1e3 * v:.1f} |" for k, v in results["fft"]["transforms"].items()]
        lines += ["", "Spectrum of `D X` from codes of a given density: sparse scatter "
                  "(`csc._kernels.sparse_synthesis`, then a signal-size FFT) against the FFT of "
                  "the codes. The solver scatters while `nnz * s^2 * channels <= 2 * size` "
                  "(`csc.coding.SPARSE_SYNTHESIS_BUDGET`), i.e. up to about 1.7 % density for "
                  "11 x 11 filters.", "",
                  "| density | sparse ms | FFT ms |", "|---|---|---|"]
        lines += [f"| {float(d):.1%} | {1e3 * v['sparse']:.1f} | {1e3 * v['fft']:.1f} |"
                  for d, v in results["fft"]["synthesis"].items()]
        lines.append("")
    if "scaling" in results:
        lines += ["## 5. Scaling (float32, one factor at a time from the fruit problem)", "",
                  "Default solver ('auto'), 4 outer iterations; medians over outer iterations "
                  "2-4 (the first has no dictionary step: the codes start at zero).", "",
                  "| factor | images | size | filters | s / outer iteration | s / dictionary step "
                  "| first iteration s | peak memory (GiB) | objective |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for factor, rows in results["scaling"].items():
            for row in rows:
                lines.append(f"| {factor} | {row['n_images']} | {row['size']} | "
                             f"{row['n_filters']} | {row['seconds_per_iteration']:.2f} | "
                             f"{row['dictionary_seconds']:.2f} | "
                             f"{row['first_iteration_seconds']:.2f} | "
                             f"{row['peak_rss_gib']:.2f} | {row['objective']:.1f} |")
        lines += ["", "Fitted exponents (slope of log time against log factor):", ""]
        for factor, rows in results["scaling"].items():
            values = [row[factor] ** (2 if factor == "size" else 1) for row in rows]
            name = "pixels (size^2)" if factor == "size" else factor
            exponent = fit_exponent(values, [row["seconds_per_iteration"] for row in rows])
            lines.append(f"- {name}: **{exponent:.2f}**")
        lines.append("")
    lines += ["Where the time went before this work and what changed: "
              "[speed_history.md](speed_history.md).", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", help="Markdown report (JSON written beside)")
    parts = ["compare", "profile", "solvers", "fft", "scaling"]
    parser.add_argument("--parts", nargs="+", default=parts, choices=parts)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--max-iter", type=int, default=20)
    parser.add_argument("--sporco-iter", type=int, default=100)
    parser.add_argument("--factors", nargs="+", default=list(SCALING), choices=list(SCALING),
                        help="scaling factors to run (with --update, the others are kept)")
    parser.add_argument("--update", action="store_true",
                        help="keep the other parts' results from the JSON beside --out")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: one scaling case as JSON
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(*json.loads(args.case))))
        return
    if not args.out:
        parser.error("--out is required")
    command = "python " + " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
    json_path = os.path.splitext(args.out)[0] + ".json"
    results = {"commands": {}}
    if args.update and os.path.exists(json_path):
        with open(json_path) as stream:
            results = json.load(stream)["results"]
    results["machine"] = machine()
    results.setdefault("commands", {})
    results["commands"].update({part: command for part in args.parts})
    if "compare" in args.parts:
        results["compare"] = {dtype: compare(dtype, args) for dtype in args.dtypes}
    if "profile" in args.parts:
        results["profile"] = profile_fit(load_problem("fruit", 0.0, 0)[0].astype(np.float32), 6)
    if "fft" in args.parts:
        results["fft"] = fft_timings()
    if "scaling" in args.parts:
        results.setdefault("scaling", {})
        for factor in args.factors:
            values = SCALING[factor]
            rows = []
            for value in values:
                case = dict(BASE, **{factor: value})
                rows.append(run_in_subprocess(case["n_images"], case["size"],
                                              case["n_filters"], "float32", 4))
                print(f"{factor}={value}: {rows[-1]['seconds_per_iteration']:.2f} s/it, "
                      f"{rows[-1]['peak_rss_gib']:.2f} GiB", flush=True)
            results["scaling"][factor] = rows
    if "solvers" in args.parts:
        results["solvers"] = []
        for n_images in SCALING["n_images"]:
            for solver in SOLVERS:
                row = run_in_subprocess(n_images, 100, 100, "float32", 6, solver)
                results["solvers"].append(row)
                print(f"{n_images} images, {solver}: {row['seconds_per_iteration']:.2f} s/it, "
                      f"objective {row['objective']:.1f}", flush=True)
    text = report(results)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as stream:
        stream.write(text)
    with open(json_path, "w") as stream:
        json.dump({"results": results}, stream)
    print(text)


if __name__ == "__main__":
    main()
