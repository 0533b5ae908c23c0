"""Helpers shared by the benchmark scripts: the fruit/city problem, both solvers, the machine.

The scripts are run as ``python benchmarks/<script>.py``, which puts this folder first on
``sys.path``, so they import this module as ``common``.
"""

import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np


def load_problem(name, missing, seed):
    from restoration.datasets import load_image_set
    from restoration.preprocess import local_contrast_normalize, rgb_to_gray

    images = local_contrast_normalize(rgb_to_gray(load_image_set(name)))
    mask = np.ones(images.shape)
    if missing > 0:
        mask = (np.random.default_rng(seed).random(images.shape) >= missing).astype(float)
    return images, mask


def run_ours(images, mask, initial, args, optimizer):
    from csc import ConvolutionalDictionary

    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        optimizer=optimizer, max_iter=args.max_iter, initial_filters=initial,
    )
    model.fit(images.astype(args.dtype), mask.astype(args.dtype))
    history = model.history_
    return {"objective": history["objective"], "nnz": history["nnz"],
            "seconds": history["seconds"], "data_term": history["data_term"]}


def run_sporco(images, mask, initial, args, *, keep_arrays=False):
    """SPORCO's ConvBPDNMaskDictLearn on the problem; with ``keep_arrays`` the result also holds
    its learned ``filters`` (n_filters, s, s) and final ``codes`` on this package's grid."""
    import sporco.fft
    from sporco.dictlrn import cbpdndlmd

    from csc import ConvolutionalDictionary

    sporco.fft.pyfftw_planner_effort = args.sporco_planner
    s, lam = args.filter_size, args.sparsity_weight
    pad = ((0, 0), (0, s - 1), (0, s - 1))
    signal = np.pad(images * mask, pad).transpose(1, 2, 0).astype(args.dtype)
    weights = np.pad(mask, pad).transpose(1, 2, 0).astype(args.dtype)
    nnz = []

    def record_nnz(solver):  # runs after SPORCO has recorded the iteration's time
        codes = solver.getcoef()
        nnz.append(float(np.count_nonzero(codes)) / codes.size)

    options = cbpdndlmd.ConvBPDNMaskDictLearn.Options(
        {"Verbose": False, "MaxMainIter": args.sporco_iter, "AccurateDFid": True,
         "Callback": record_nnz, "CBPDN": {"rho": 20 * lam + 0.5}, "CCMOD": {"rho": 0.2}},
        dmethod="cns")
    start = time.perf_counter()
    solver = cbpdndlmd.ConvBPDNMaskDictLearn(initial.transpose(1, 2, 0).astype(args.dtype),
                                             signal, lam, weights, options, dmethod="cns")
    setup = time.perf_counter() - start
    solver.solve()
    stats = solver.getitstat()
    codes = np.moveaxis(solver.getcoef().squeeze(), (0, 1), (-2, -1))
    # SPORCO puts the image top-left on the padded grid, this package bottom-right
    codes = np.roll(codes, (s - 1, s - 1), axis=(-2, -1))
    evaluator = ConvolutionalDictionary(args.n_filters, s, sparsity_weight=lam)
    evaluator.filters_ = np.moveaxis(solver.getdict().squeeze(), -1, 0)
    result = {"objective": [float(v) for v in stats.ObjFun],
              "seconds": [float(v) for v in stats.Time],
              "setup_seconds": setup,
              "nnz": nnz,
              "objective_by_this_package": evaluator.objective(images, codes.astype(np.float64),
                                                               mask)}
    if keep_arrays:
        result["filters"], result["codes"] = evaluator.filters_, codes
    return result


def time_to_reach(history, target):
    for objective, seconds in zip(history["objective"], history["seconds"], strict=True):
        if objective <= target:
            return seconds
    return None


def machine():
    import numpy
    import scipy

    try:
        import sporco

        sporco_version = sporco.__version__
    except ImportError:  # pragma: no cover
        sporco_version = "absent"
    return (f"{cpu_description()}, NumPy {numpy.__version__}, SciPy {scipy.__version__}, "
            f"SPORCO {sporco_version}")


def cpu_description():
    """CPU model, number of cores and Python version."""
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_memory_gib():
    """Peak resident memory of this process (``VmHWM``; ``ru_maxrss`` would include the
    parent's memory at fork time)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20


def in_fresh_process(script, function, *args):
    """``python script --run function args...`` in a fresh interpreter: the JSON of its last
    line of output (its stderr's end in the error when it fails)."""
    command = [sys.executable, script, "--run", function, *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_report(lines, results, out):
    """The Markdown ``lines`` written to ``out``, ``results`` beside it as ``.json``, and
    printed."""
    text = "\n".join(lines)
    with open(out, "w") as handle:
        handle.write(text)
    with open(os.path.splitext(out)[0] + ".json", "w") as handle:
        json.dump(results, handle, indent=1)
    print(text)


def merge_runs(paths, keys):
    """The results of several runs of one benchmark (its JSON files, e.g. runs of different
    parts) as one run's: the lists under ``keys`` concatenated, the commands joined."""
    runs = []
    for path in paths:
        with open(path) as file:
            runs.append(json.load(file))
    return {"command": "`, then `".join(run["command"] for run in runs), "machine": machine(),
            **{key: [row for run in runs for row in run[key]] for key in keys}}
