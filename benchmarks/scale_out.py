"""Scale-out on Dask: distributed dictionary learning (1 vs 2 workers) and a 100-megapixel inpainting.

Part ``fit``: 80 gray images (the fruit and city sets, pre-processed as in the papers' protocol,
and their mirror images), ``ConvolutionalDictionary(64, 8, group_size=10)`` on a
``LocalCluster`` of 1 and then 2 worker processes (one thread each), and in process on every core
and on one thread, each in a fresh process. Reported per run: seconds per outer iteration
(iterations 2 and later: the first has no dictionary step), the speed-up, the bytes that travel
per outer iteration (driver to workers, workers to driver, and between workers), each worker's
peak memory (``VmHWM``), the final objectives, and where one worker's time goes (Dask's task
stream: compute by kind of task, transfers, the rest) against one in-process thread; with
``--label before`` (the code at d93f481) only the one-worker and one-thread runs. From the
measured per-group time and traffic and part ``scheduler``'s measured tasks and scheduler time, a
projection of the time per outer iteration for 10,000 images on 100 workers (assumptions printed
with it).

Part ``scheduler``: the scheduler's cost of a distributed fit as the number of groups grows, on
one ``LocalCluster`` of many small workers (16 processes of one thread) and tiny images (24x24,
``group_size=1``, so a group is one image): for 8, 64 and 512 groups, the tasks the scheduler
runs per outer iteration (a scheduler plugin counts the tasks that finish) and the CPU seconds of
the scheduler's thread per outer iteration (``time.thread_time`` on its event loop; the workers,
started by ``dask worker``, and the driver run in processes of their own, so that thread does the
scheduler's work only), with the wall time; also the scheduler's CPU rate with no work (worker
heartbeats).
``--label`` names the code measured (``before``: the code at d93f481; ``after``: this one); the
10,000-image projection of part ``fit`` is computed from these measurements.

Part ``large``: a 10240x10240 gray image (105 megapixels: scikit-image's camera photo tiled 20x20
with mirror images, written as an uncompressed TIFF in a temporary folder, not kept) with 50 % of
its pixels missing (a Dask random mask), inpainted by ``restoration.inpaint`` on the memory-mapped
file as a dask array, stored block by block into a memory-mapped uint8 TIFF, in a fresh process
with Dask's threaded scheduler (2 threads): time, peak memory, and PSNR against the full image.

Usage::

    python benchmarks/scale_out.py --out benchmarks/results/scale_out.md [--parts fit scheduler large]
        [--label after]
"""

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import common
from common import cpu_description, peak_memory_gib, write_report

# this script's functions, each in a fresh interpreter
in_fresh_process = functools.partial(common.in_fresh_process, __file__)

PARAMS = dict(n_filters=64, filter_size=8, sparsity_weight=0.8, group_size=10,
              random_state=0)
MAX_ITER = 4
TILES = 20  # the large image is the camera photo tiled TILES x TILES
# part scheduler: tiny images, one per group, on many one-thread workers
SCHEDULER_GROUPS = (8, 64, 512)
SCHEDULER_WORKERS = 16
SCHEDULER_SIDE = 24
# 16 workers on a loaded 2-core machine can starve an event loop past Dask's default timeouts
TIMEOUTS = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "300s",
            "DASK_DISTRIBUTED__COMM__TIMEOUTS__TCP": "900s"}
SCHEDULER_PARAMS = dict(n_filters=4, filter_size=5, sparsity_weight=0.1, group_size=1,
                        max_iter=5, random_state=0)


def training_images():
    from restoration.datasets import load_image_set
    from restoration.preprocess import local_contrast_normalize, rgb_to_gray

    images = np.concatenate([local_contrast_normalize(rgb_to_gray(load_image_set(name)))
                             for name in ("fruit", "city")])
    images = np.concatenate([images, images[:, ::-1], images[:, :, ::-1],
                             images[:, ::-1, ::-1]])
    return images.astype(np.float32)


def call_counter():
    """Count the driver's calls to the chunks and what they send and bring back, by patching
    ``csc.distributed._Cluster._call`` (``dask.sizeof`` of each object); None for the code at
    d93f481, which had no such calls (tasks instead)."""
    from dask.sizeof import sizeof

    from csc import distributed

    view = getattr(distributed, "_Cluster", None)
    if not hasattr(view, "_call"):
        return None
    counts = {"calls": 0, "to_workers": 0, "from_workers": 0}
    call = view._call

    def counted(self, method, function, args, kwargs, each):
        results = call(self, method, function, args, kwargs, each)
        counts["calls"] += len(results)
        counts["to_workers"] += len(results) * sizeof((args, kwargs)) + sizeof(each)
        counts["from_workers"] += sizeof(results)
        return results

    view._call = counted
    return counts


def _vmhwm(dask_worker=None):
    return peak_memory_gib()


def _peer_bytes(dask_worker):
    return dask_worker.transfer_outgoing_bytes_total


def _time_chunk_calls(dask_worker=None):
    """On a worker: time every call of this code's chunk holders by the step it applies (they
    run outside Dask's tasks, so outside its task stream)."""
    from csc.distributed import _ChunkHolder

    seconds = {}

    def timer(call):
        def timed(self, function, args, kwargs):
            start, cpu = time.time(), time.thread_time()
            try:
                return call(self, function, args, kwargs)
            finally:
                seconds.setdefault(function.__name__, []).append(
                    (start, time.time(), time.thread_time() - cpu))
        return timed

    _ChunkHolder.apply = timer(_ChunkHolder.apply)
    _ChunkHolder.read = timer(_ChunkHolder.read)
    _ChunkHolder.timings = seconds


def _chunk_call_times(dask_worker=None):
    from csc.distributed import _ChunkHolder

    return _ChunkHolder.timings


def task_seconds(records, start, stop):
    """Seconds per kind of task (the key's name) computing between ``start`` and ``stop``
    (``time.time()``), and the seconds of transfers and deserialisation, from Dask's task
    stream."""
    seconds = {}
    for record in records:
        for part in record["startstops"]:
            if part["start"] < start or part["stop"] > stop:
                continue
            name = str(record["key"]).split("-")[0] if part["action"] == "compute" else \
                part["action"]
            seconds[name] = seconds.get(name, 0.0) + part["stop"] - part["start"]
    return seconds


def fit_run(n_workers):
    """One distributed fit (run in a fresh process); a dict of measurements."""
    import dask.array as da
    from distributed import Client, LocalCluster, get_task_stream

    from csc import ConvolutionalDictionary

    images = training_images()
    counts = call_counter()
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        start_peers = sum(client.run(_peer_bytes).values())
        marks = []

        def mark(state):
            marks.append((time.perf_counter(), time.time(), dict(counts or {}),
                          sum(client.run(_peer_bytes).values())))
            return False

        model = ConvolutionalDictionary(**PARAMS, max_iter=MAX_ITER, callback=mark)
        if counts is not None:
            client.run(_time_chunk_calls)
        with get_task_stream(client) as stream:
            model.fit(da.from_array(images, chunks=16))
        records, cpu = list(stream.data), None
        if counts is not None:  # the chunks' calls as records of the task stream's form
            timings = [spans for worker in client.run(_chunk_call_times).values()
                       for spans in worker.items()]
            records += [{"key": name, "startstops": [{"action": "compute", "start": start,
                                                      "stop": stop} for start, stop, _ in spans]}
                        for name, spans in timings]
            # the CPU seconds of the calls' thread, per outer iteration measured
            cpu = sum(seconds for _, spans in timings for start, stop, seconds in spans
                      if marks[0][1] <= start and stop <= marks[-1][1]) / (len(marks) - 1)
        overhead = scheduler_overhead(client)
        memory = sorted(client.run(_vmhwm).values())
    seconds = [b[0] - a[0] for a, b in zip(marks[:-1], marks[1:], strict=True)]
    n_measured = len(marks) - 1
    per_iteration = {key: (marks[-1][2][key] - marks[0][2][key]) / n_measured
                     for key in counts or {}}  # "calls" too
    # every byte the workers sent (Worker.transfer_outgoing_bytes_total): to the driver and to
    # each other (the filter windows are computed on one worker and fetched by the others)
    per_iteration["between_workers"] = (marks[-1][3] - marks[0][3]) / n_measured
    tasks = {name: value / n_measured
             for name, value in task_seconds(records, marks[0][1], marks[-1][1]).items()}
    return {"n_workers": n_workers, "n_images": len(images), "seconds": seconds,
            "history_seconds": model.history_["seconds"],
            "objective": model.history_["objective"], "bytes": per_iteration,
            "task_seconds": tasks, "cpu_seconds": cpu, "start_peer_bytes": start_peers,
            "worker_peak_gib": memory, "task_overhead_ms": overhead,
            "n_groups": -(-len(images) // PARAMS["group_size"])}


def scheduler_overhead(client, n_tasks=2000):
    """Milliseconds per no-op task through this scheduler (submit, run, gather)."""
    start = time.perf_counter()
    client.gather(client.map(_noop, range(n_tasks), pure=False))
    return 1000 * (time.perf_counter() - start) / n_tasks


def _noop(value):
    return value


def local_run(n_threads=None):
    """The in-process fit, on every core (``n_threads`` None) or on one thread, as a worker."""
    import contextlib

    from csc import ConvolutionalDictionary
    from csc.backend import limit_threads

    cpu = [time.process_time()]  # this process's CPU seconds at the end of every iteration
    with limit_threads(n_threads) if n_threads else contextlib.nullcontext():
        model = ConvolutionalDictionary(**PARAMS, max_iter=MAX_ITER, callback=lambda state: (
            cpu.append(time.process_time()), False)[1]).fit(training_images())
    history = model.history_
    return {"objective": history["objective"], "seconds": history["seconds"],
            "cpu_seconds": cpu[1:],
            **{key: history[key] for key in ("dictionary_seconds", "coupling_seconds",
                                             "coding_seconds")}}


def large_run():
    """The 105-megapixel inpainting (run in a fresh process)."""
    import dask
    import dask.array as da
    import tifffile
    from skimage import data

    from restoration import inpaint

    camera = data.camera()
    tile = np.block([[camera, camera[:, ::-1]], [camera[::-1], camera[::-1, ::-1]]])
    side = camera.shape[0] * TILES
    with tempfile.TemporaryDirectory() as folder:
        source = tifffile.memmap(os.path.join(folder, "large.tif"), shape=(side, side),
                                 dtype=np.uint8)
        for row in range(0, TILES, 2):  # written in strips: never the whole image in memory
            source[row * 512:(row + 2) * 512] = np.tile(tile, (1, TILES // 2))
        source.flush()
        del source
        image = da.from_array(tifffile.memmap(os.path.join(folder, "large.tif")),
                              chunks=(512, 512))
        mask = da.random.RandomState(0).random_sample(image.shape, chunks=(512, 512)) >= 0.5
        target = tifffile.memmap(os.path.join(folder, "restored.tif"), shape=image.shape,
                                 dtype=np.uint8)
        start = time.perf_counter()
        restored = inpaint(image, mask)
        as_bytes = da.round(restored * 255).astype(np.uint8)
        with dask.config.set(scheduler="threads", num_workers=2):
            da.store(as_bytes, target, lock=False)
        seconds = time.perf_counter() - start
        target.flush()
        peak = peak_memory_gib()
        # PSNR of the stored result against the full image, strip by strip
        error = 0.0
        truth = tifffile.memmap(os.path.join(folder, "large.tif"))
        for start_row in range(0, side, 1024):
            rows = slice(start_row, start_row + 1024)
            difference = target[rows].astype(np.float64) - truth[rows]
            error += float(np.sum(difference ** 2))
        psnr = 10 * np.log10(255.0 ** 2 / (error / truth.size))
        return {"shape": list(image.shape), "megapixels": image.size / 1e6,
                "seconds": seconds, "peak_gib": peak, "psnr": psnr,
                "chunks": 512}


def scheduler_run(n_groups):
    """Part scheduler for ``n_groups`` groups (run in a fresh process): the scheduler of a
    ``LocalCluster`` here, alone on its event loop; the workers (``dask worker``, their nannies
    with them) and the driver each in processes of their own."""
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class TaskCounter(SchedulerPlugin):
        name = "task-counter"

        def __init__(self):
            self.finished = 0

        def transition(self, key, start, finish, *args, **kwargs):
            if start == "processing" and finish == "memory":
                self.finished += 1

    from distributed import Client

    with LocalCluster(n_workers=0, processes=True, dashboard_address=None) as cluster:
        cluster.scheduler.add_plugin(TaskCounter())
        with Client(cluster.scheduler_address) as client:
            empty_rate = idle_rate(client)  # the scheduler's background without workers
        workers = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", cluster.scheduler_address,
             "--nworkers", str(SCHEDULER_WORKERS), "--nthreads", "1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return dict(in_fresh_process("scheduler-driver", cluster.scheduler_address,
                                         n_groups), idle_empty_rate=empty_rate)
        finally:
            workers.terminate()
            workers.wait()


def idle_rate(client, seconds=10):
    """CPU seconds per second of the scheduler's thread while no work runs."""
    start = client.run_on_scheduler(_scheduler_sample)[0], time.perf_counter()
    time.sleep(seconds)
    return ((client.run_on_scheduler(_scheduler_sample)[0] - start[0])
            / (time.perf_counter() - start[1]))


def _scheduler_sample(dask_scheduler):
    """CPU seconds of the scheduler's event-loop thread (where this runs) and tasks finished."""
    return time.thread_time(), dask_scheduler.plugins["task-counter"].finished


def scheduler_driver(address, n_groups):
    """The fit of part scheduler, on the cluster at ``address``; per outer iteration from the
    second on (the first has no dictionary step): tasks, scheduler CPU seconds, wall seconds."""
    import dask.array as da
    from distributed import Client

    from csc import ConvolutionalDictionary

    rng = np.random.default_rng(0)
    images = rng.standard_normal((n_groups, SCHEDULER_SIDE, SCHEDULER_SIDE)).cumsum(1).cumsum(2)
    images = ((images - images.mean()) / images.std()).astype(np.float32)
    counts = call_counter()
    with Client(address) as client:
        client.wait_for_workers(SCHEDULER_WORKERS, timeout=600)
        idle = idle_rate(client)  # the scheduler's background with the workers (heartbeats)
        marks = []

        def mark(state):
            marks.append((time.perf_counter(), *client.run_on_scheduler(_scheduler_sample),
                          (counts or {}).get("calls", 0), time.process_time()))
            return False

        ConvolutionalDictionary(**SCHEDULER_PARAMS, callback=mark).fit(
            da.from_array(images, chunks=64))
        n_workers = len(client.scheduler_info()["workers"])
    steps = [[b[i] - a[i] for a, b in zip(marks[:-1], marks[1:], strict=True)]
             for i in range(5)]
    return {"n_groups": n_groups, "n_workers": n_workers, "wall_seconds": steps[0],
            "scheduler_seconds": steps[1], "tasks": steps[2], "calls": steps[3],
            "driver_seconds": steps[4], "idle_scheduler_rate": idle}


def scheduler_figures(runs):
    """Per run of part scheduler: medians over outer iterations 3 to 5 (iteration 2 includes
    Numba's compilation in every worker) of the tasks, the calls to the chunks (none at
    d93f481), the scheduler's and the driver's CPU seconds and the wall seconds, with the chunks
    (busy workers)."""
    figures = []
    for run in runs:
        median = {key: float(np.median(run[key][1:])) if key in run else 0.0
                  for key in ("tasks", "calls", "scheduler_seconds", "driver_seconds",
                              "wall_seconds")}
        figures.append(dict(median, n_groups=run["n_groups"],
                            chunks=min(run["n_groups"], run["n_workers"]),
                            idle=run["idle_scheduler_rate"],
                            idle_empty=run.get("idle_empty_rate")))
    return figures


def projection(fit, scheduler):
    """Time per outer iteration for 10,000 images on 100 workers, from the measurements (the
    assumptions are printed with the table)."""
    one, two = fit["1"], fit["2"]
    per_group = np.median(one["seconds"][1:]) / one["n_groups"]  # one worker holds every group
    groups, workers = 10_000 // PARAMS["group_size"], 100
    compute = per_group * groups / workers
    figures = scheduler_figures(scheduler["runs"])
    low, high = min(figures, key=lambda f: f["chunks"]), figures[-1]
    calls_per_chunk = (high["calls"] - low["calls"]) / (high["chunks"] - low["chunks"])
    calls = high["calls"] + calls_per_chunk * (workers - high["chunks"])
    tasks = high["tasks"] + (high["tasks"] - low["tasks"]) / (high["chunks"] - low["chunks"]) \
        * (workers - high["chunks"])
    # the scheduler's CPU: its work per call at 512 groups (less its idle work), and the
    # heartbeats of 100 workers for as long as the compute takes: the idle work that 16 workers
    # add to that of the scheduler alone, per heartbeat (Dask's interval for 16 workers), at
    # Dask's heartbeat interval for 100 workers
    from distributed.scheduler import heartbeat_interval

    heartbeats = max(high["idle"] - (high["idle_empty"] or 0.0), 0.0) \
        * heartbeat_interval(SCHEDULER_WORKERS) / SCHEDULER_WORKERS
    heartbeat_rate = workers / heartbeat_interval(workers)
    per_call = (high["scheduler_seconds"] - high["idle"] * high["wall_seconds"]) / high["calls"]
    forwarding, beating = per_call * calls, heartbeats * heartbeat_rate * compute
    driver = high["driver_seconds"] / high["calls"] * calls
    driver_bytes = two["bytes"]["from_workers"] / two["n_workers"] * workers
    return {"per_group_seconds": per_group, "compute": compute, "calls": calls,
            "calls_per_chunk": calls_per_chunk, "tasks": tasks, "per_call_ms": 1000 * per_call,
            "heartbeats": heartbeats, "heartbeat_rate": heartbeat_rate,
            "idle_empty": high["idle_empty"],
            "forwarding": forwarding, "beating": beating, "scheduler": forwarding + beating,
            "driver": driver,
            "driver_ms_per_call": 1000 * high["driver_seconds"] / high["calls"],
            "driver_bytes": driver_bytes,
            "total": compute + forwarding + beating + driver + driver_bytes / 1e9}


def before_projection(scheduler, groups):
    """The tasks and the scheduler's CPU seconds per outer iteration of the code at d93f481 for
    ``groups`` groups: its tasks per group and CPU per task as measured in part scheduler."""
    figures = scheduler_figures(scheduler["runs"])
    low, high = figures[0], figures[-1]
    per_group = (high["tasks"] - low["tasks"]) / (high["n_groups"] - low["n_groups"])
    tasks = high["tasks"] + per_group * (groups - high["n_groups"])
    per_task = (high["scheduler_seconds"] - high["idle"] * high["wall_seconds"]) / high["tasks"]
    return tasks, per_task * tasks


def _provenance(part):
    return ["Command:", "", "```", part["command"], "```", "",
            *([part["note"], ""] if part.get("note") else [])]


def _median_step(history_seconds):
    return float(np.median(np.diff(history_seconds)[1:]))


def fit_report(fit, scheduler):
    after = fit["after"]
    one, two, local, thread = after["1"], after["2"], after["local"], after["local-1"]
    median = {key: float(np.median(run["seconds"][1:])) for key, run in (("1", one), ("2", two))}
    lines = [
        "## Distributed dictionary learning, 1 vs 2 workers", "",
        f"{one['n_images']} gray 100x100 images (fruit and city, pre-processed, with mirror "
        f"images), `ConvolutionalDictionary({PARAMS})`, {MAX_ITER} outer iterations, "
        f"{one['n_groups']} groups of 10 images, one chunk of groups per worker; `LocalCluster` "
        "with one thread per worker, each run in a fresh process. Seconds per outer iteration: "
        f"median of iterations 2 to {MAX_ITER} (the first has no dictionary step).", "",
        *_provenance(after),
        "| workers | s / outer iteration (each) | median | speed-up | driver -> workers "
        "(KB / it) | workers -> driver (KB / it) | sent by the workers, to the driver and to "
        "each other (KB / it) | peak memory per worker (GiB) | final objective |",
        "|---|---|---|---|---|---|---|---|---|"]
    for key, run in (("1", one), ("2", two)):
        traffic = [f"{run['bytes'][k] / 1e3:.0f}" if k in run["bytes"] else "-"
                   for k in ("to_workers", "from_workers", "between_workers")]
        lines.append(
            f"| {key} | {' / '.join(f'{s:.2f}' for s in run['seconds'][1:])} | "
            f"{median[key]:.2f} | {median['1'] / median[key]:.2f}x | {' | '.join(traffic)} | "
            f"{' / '.join(f'{m:.2f}' for m in run['worker_peak_gib'])} | "
            f"{run['objective'][-1]:.6g} |")
    lines += [
        "", f"In-process fit of the same images: final objective {local['objective'][-1]:.6g}; "
        f"{_median_step(local['seconds']):.2f} s per outer iteration on every core, "
        f"{_median_step(thread['seconds']):.2f} s on one thread.",
        f"Scheduler overhead measured on the same cluster: {one['task_overhead_ms']:.2f} ms per "
        f"no-op task (1 worker), {two['task_overhead_ms']:.2f} ms (2 workers).", "",
        f"Reading: 2 workers are {median['1'] / median['2']:.2f}x as fast as 1 (floor 1.6x).", ""]
    lines += worker_report(fit)
    if scheduler is not None and "after" in scheduler:
        p = projection(after, scheduler["after"])
        before = ("" if "before" not in scheduler else
                  "; the code at d93f481, measured the same way, would run {:,.0f} tasks and "
                  "{:.1f} s of scheduler CPU".format(*before_projection(
                      scheduler["before"], 10_000 // PARAMS["group_size"])))
        lines += [
            "### Projection: 10,000 images on 100 workers", "",
            "From the measurements above and in the scheduler part below: images of the same "
            "size and dictionary; 1,000 groups of 10, one chunk of 10 groups per worker, each "
            "worker one core as fast as this machine's; compute per group as measured with 1 "
            f"worker ({p['per_group_seconds']:.3f} s per group per outer iteration); "
            f"{p['calls_per_chunk']:.1f} calls per chunk per outer iteration as measured, so "
            f"{p['calls']:,.0f} calls and {p['tasks']:,.0f} tasks; the scheduler forwards every "
            f"call at the measured {p['per_call_ms']:.2f} ms of CPU (16 workers, 512 groups, "
            "its idle work taken out) and, in parallel with the compute, the heartbeats of 100 "
            f"workers ({p['heartbeat_rate']:.0f} a second, Dask's interval for 100 workers) at "
            f"the measured {1000 * p['heartbeats']:.2f} ms of CPU each ("
            + ("the idle work that 16 workers add to the scheduler's own, which runs whatever "
               "the work and is left out" if p["idle_empty"] else
               "all the scheduler's idle work with 16 workers counted as heartbeats") + "); the "
            f"driver spends the measured {p['driver_ms_per_call']:.2f} ms of CPU per call; each "
            "chunk's consensus terms and sums as measured with 2 workers, through a 1 GB/s link "
            "at the driver; no stragglers.", "",
            "| part | seconds per outer iteration |", "|---|---|",
            f"| compute (10 groups per worker) | {p['compute']:.1f} |",
            f"| scheduler, forwarding {p['calls']:,.0f} calls ({p['tasks']:,.0f} tasks) | "
            f"{p['forwarding']:.2f} |",
            f"| scheduler, heartbeats (in parallel with the compute) | {p['beating']:.2f} |",
            f"| driver ({p['calls']:,.0f} calls) | {p['driver']:.2f} |",
            f"| driver traffic ({p['driver_bytes'] / 1e6:.1f} MB at 1 GB/s) | "
            f"{p['driver_bytes'] / 1e9:.3f} |",
            f"| total | {p['total']:.1f} |", "",
            f"The scheduler's share is {100 * p['scheduler'] / p['compute']:.1f} % of the "
            f"compute (floor: at most 10 %), the driver's {100 * p['driver'] / p['compute']:.1f}"
            f" %{before}.", ""]
    return lines


def worker_report(fit):
    """Why one worker was slower than one in-process thread: its time by kind of step."""
    lines = ["### One worker against one in-process thread", "",
             "The same fit on one Dask worker and in process on one thread "
             "(`limit_threads(1)`), for the code at d93f481 (before) and this code (after): "
             "seconds per outer iteration (median of iterations 2 to 4), and where a worker's "
             "time goes: compute seconds per outer iteration by kind of task (before: Dask's "
             "task stream; after: the chunk holders' calls, timed on the worker), transfers and "
             "deserialisation (task stream), and the rest: the worker waiting for the driver "
             "and the scheduler between rounds.", ""]
    for label in ("before", "after"):
        if label in fit:
            lines += [f"{label.capitalize()}:", "", *_provenance(fit[label])]
    lines += ["| code | one thread in process: s / it (dictionary / coding step) | its CPU s / "
              "it | one worker: s / it | in tasks | their CPU s | by kind of task | transfers + "
              "deserialisation | outside tasks |", "|---|---|---|---|---|---|---|---|---|"]
    for label in ("before", "after"):
        if label not in fit:
            continue
        thread, worker = fit[label]["local-1"], fit[label]["1"]
        steps = [float(np.median(thread[key][2:])) for key in ("dictionary_seconds",
                                                               "coding_seconds")]
        seconds = float(np.median(worker["seconds"][1:]))
        tasks = worker["task_seconds"]
        other = {k: v for k, v in tasks.items() if k in ("transfer", "deserialize")}
        compute = {k: v for k, v in tasks.items() if k not in other}
        in_tasks = sum(compute.values())
        kinds = ", ".join(f"{k} {v:.2f}" for k, v in sorted(compute.items(),
                                                            key=lambda kv: -kv[1]) if v >= 0.01)
        cpu = [f"{_median_step([0.0, *run['cpu_seconds']]):.2f}" if run.get("cpu_seconds")
               else "-" for run in (thread,)] + \
            [f"{worker['cpu_seconds']:.2f}" if worker.get("cpu_seconds") else "-"]
        lines.append(
            f"| {label} | {_median_step(thread['seconds']):.2f} ({steps[0]:.2f} / "
            f"{steps[1]:.2f}) | {cpu[0]} | {seconds:.2f} | {in_tasks:.2f} | {cpu[1]} | {kinds} | "
            f"{sum(other.values()):.2f} | {seconds - in_tasks - sum(other.values()):.2f} |")
    return lines + [""]


def scheduler_report(scheduler):
    lines = [
        "## Scheduler cost as the groups grow", "",
        f"A `LocalCluster`'s scheduler alone on its event loop, {SCHEDULER_WORKERS} worker "
        "processes of one thread (`dask worker`) and the driver in processes of their own; "
        f"{SCHEDULER_SIDE}x{SCHEDULER_SIDE} images, one per group, `ConvolutionalDictionary("
        f"{SCHEDULER_PARAMS})`. Per outer iteration (median of iterations 3 to 5; the second "
        "includes Numba's compilation in every worker): the tasks that finished (a scheduler "
        "plugin), the driver's calls to the chunks (none at d93f481, which ran tasks), the CPU "
        "seconds of the scheduler's thread (`time.thread_time`) and of the driver's process, "
        "and the wall seconds; and the scheduler's CPU with no work, with the 16 workers (its "
        "heartbeats and its own background) and before they joined.", ""]
    for label in ("before", "after"):
        if label in scheduler:
            lines += [f"{label.capitalize()}:", "", *_provenance(scheduler[label])]
    lines += ["| code | groups | chunks (busy workers) | tasks / outer iteration | calls / "
              "outer iteration | scheduler CPU s / outer iteration | driver CPU s / outer "
              "iteration | wall s / outer iteration | scheduler CPU idle, with / without the "
              "workers (s / s) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for label in ("before", "after"):
        if label not in scheduler:
            continue
        figures = scheduler_figures(scheduler[label]["runs"])
        for f in figures:
            chunks = f["chunks"] if label == "after" else "-"
            driver = f"{f['driver_seconds']:.2f}" if f["driver_seconds"] else "-"
            lines.append(f"| {label} | {f['n_groups']} | {chunks} | {f['tasks']:,.0f} | "
                         f"{f['calls']:,.0f} | {f['scheduler_seconds']:.2f} | {driver} | "
                         f"{f['wall_seconds']:.1f} | {f['idle']:.3f} / "
                         f"{'-' if f['idle_empty'] is None else format(f['idle_empty'], '.3f')} |")
        ratios = [f"{figures[-1][key] / figures[0][key]:.2f}x" if figures[0][key] else "-"
                  for key in ("tasks", "calls", "scheduler_seconds")]
        lines.append(f"| {label}: 512 / 8 groups | | | {ratios[0]} | {ratios[1]} | {ratios[2]} "
                     "| | | |")
    return lines + [""]


def report(results, out):
    lines = ["# Scale-out on Dask", "", f"Machine: {cpu_description()}.", ""]
    if "fit" in results:
        lines += fit_report(results["fit"], results.get("scheduler"))
    if "scheduler" in results:
        lines += scheduler_report(results["scheduler"])
    if "large" in results:
        r = results["large"]
        lines += [
            "## A 105-megapixel image, block by block", "",
            f"{r['shape'][0]}x{r['shape'][1]} gray uint8 ({r['megapixels']:.0f} MP, "
            "scikit-image's camera tiled with mirror images), 50 % of the pixels missing, "
            f"blocks of {r['chunks']}x{r['chunks']} plus a 32-pixel margin, Dask's threaded "
            "scheduler with 2 threads, input and output memory-mapped TIFFs.", "",
            *_provenance(r),
            "| megapixels | time (s) | peak memory (GiB) | PSNR vs the full image (dB) |",
            "|---|---|---|---|",
            f"| {r['megapixels']:.0f} | {r['seconds']:.0f} | {r['peak_gib']:.2f} | "
            f"{r['psnr']:.2f} |", ""]
    write_report(lines, results, out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/scale_out.md")
    parser.add_argument("--parts", nargs="+", choices=["fit", "scheduler", "large"],
                        default=["fit", "scheduler", "large"])
    parser.add_argument("--label", default="after", choices=["before", "after"],
                        help="parts fit and scheduler: the code measured (before: the code at "
                             "d93f481, one worker against one thread only in part fit)")
    parser.add_argument("--note", default="")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown file from its .json")
    parser.add_argument("--run", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(TIMEOUTS)  # read by Dask in every process started from here
    if args.run:
        name, *rest = args.run
        value = {"fit": lambda: fit_run(int(rest[0])),
                 "local": lambda: local_run(int(rest[0]) if rest else None),
                 "large": large_run, "scheduler": lambda: scheduler_run(int(rest[0])),
                 "scheduler-driver": lambda: scheduler_driver(rest[0], int(rest[1]))}[name]()
        print(json.dumps(value))
        return
    previous = {}
    json_path = os.path.splitext(args.out)[0] + ".json"
    if os.path.exists(json_path):
        with open(json_path) as handle:
            previous = json.load(handle)
    results = dict(previous)
    command = "python benchmarks/scale_out.py " + " ".join(
        f"'{a}'" if " " in a else a for a in sys.argv[1:])
    if not args.report_only and "fit" in args.parts:
        runs = {"1": in_fresh_process("fit", 1), "local-1": in_fresh_process("local", 1)}
        if args.label != "before":  # the code at d93f481: one worker against one thread
            runs.update({"2": in_fresh_process("fit", 2), "local": in_fresh_process("local")})
        results.setdefault("fit", {})[args.label] = dict(runs, command=command, note=args.note)
    if not args.report_only and "scheduler" in args.parts:
        runs = [in_fresh_process("scheduler", n) for n in SCHEDULER_GROUPS]
        results.setdefault("scheduler", {})[args.label] = {"runs": runs, "command": command,
                                                           "note": args.note}
    if not args.report_only and "large" in args.parts:
        results["large"] = dict(in_fresh_process("large"), command=command, note=args.note)
    report(results, args.out)


if __name__ == "__main__":
    main()
