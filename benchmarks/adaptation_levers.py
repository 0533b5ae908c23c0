"""Development measurements of the levers of ``restoration.restore`` (issue 26): an image-adapted
dictionary and the other ways to exploit an image's self-similarity inside the CSC model.

Development set (``DEV_IMAGES``): none of the images of ``benchmarks/inpaint_vs_peers.py`` and
none of the bundled dictionaries' training photos except two crops of coffee and rocket (a
check that nothing is lost where the bundled filters are at home): crops of scikit-image's
``stereo_motorcycle`` right view (the benchmark uses the left view, in colour, whole), page,
two crops of hubble_deep_field, microaneurysms, and two synthetic images: gratings of two
periods and orientations, and a 24x24 crop of the motorcycle tiled (a repeated pattern). 50 %
missing at random (``default_rng(1000 + i)``), gray, PSNR with data range 1 over the whole
image; gains over ``skimage.restoration.inpaint_biharmonic`` on the same input.

Each lever is measured as a change of the current pipeline: ``main`` is the pipeline of main
(no residual interpolation, no adaptation: ``fill_residual`` replaced by the identity);
``residual`` adds :func:`restoration.split.fill_residual`; ``context`` gives the hold-out's
hidden pixels their context (``restoration.selection.REGION_MARGIN``); ``adapt`` adds the
dictionary learned from the image as a candidate of the hold-out (``adapt=True``,
:mod:`restoration.adaptation`'s defaults; kept only when significantly better,
``restoration.selection.SIGNIFICANCE``); ``defaults`` is ``restore`` as shipped (``adapt=None``:
it learns only where the image repeats itself, :func:`restoration.pipeline.adapts`); the
other rows change one thing of ``adapt``. Levers that are not in the package are written here
from its parts.

    python benchmarks/adaptation_levers.py --out benchmarks/results/adaptation_levers.md
"""

import argparse
import json
import os
import shlex
import sys
import time
from contextlib import ExitStack
from functools import partial
from unittest import mock

import numpy as np

from restoration.io import write_text

from common import machine, merge_runs

LEVERS = ("main", "residual", "context", "defaults", "adapt", "no significance",
          "learn beside hidden pixels", "init #1", "72 filters", "12x12", "8x8 + 16x16",
          "16 windows", "20 iterations",
          "learn lambda 0.1", "learn lambda 0.4", "two passes", "shifted grids",
          "lambda candidates", "sigma candidates")


# -- the development set ----------------------------------------------------------------------
def dev_images():
    """``{name: gray float64 image in [0, 1]}`` of the development set."""
    import skimage.data as data
    from skimage.color import rgb2gray

    def gray(image):
        image = rgb2gray(image[..., :3]) if image.ndim == 3 else image / 255.0
        return np.ascontiguousarray(image, np.float64)

    def crop(image, top, left, size=256):
        return image[top:top + size, left:left + size]

    motorcycle = gray(data.stereo_motorcycle()[1])
    hubble = gray(data.hubble_deep_field())
    rows, cols = np.mgrid[0:256, 0:256]
    gratings = 0.5 + np.where(
        rows < 128, 0.3 * np.sin(2 * np.pi * (cols * np.cos(0.6) + rows * np.sin(0.6)) / 7.0),
        0.3 * np.sin(2 * np.pi * (cols * np.cos(2.0) + rows * np.sin(2.0)) / 5.0))
    return {"motorcycle engine": crop(motorcycle, 230, 280),
            "motorcycle shelf": crop(motorcycle, 0, 440),
            "motorcycle wheel": crop(motorcycle, 230, 60),
            "page": gray(data.page()),
            "hubble": crop(hubble, 40, 240),
            "hubble 2": crop(hubble, 500, 600),
            "microaneurysms": gray(data.microaneurysms()),
            "coffee": crop(gray(data.coffee()), 100, 100),
            "rocket": crop(gray(data.rocket()), 150, 200),
            "gratings": np.clip(gratings, 0, 1),
            "tiles": np.tile(crop(motorcycle, 300, 330, 24), (11, 11))[:256, :256]}


# -- the levers -------------------------------------------------------------------------------
def run_lever(lever, image, mask):
    """``(restored, info)`` of one lever; ``info`` holds seconds, objective, nnz, the chosen
    candidate and the learning's seconds and iterations."""
    import restoration.pipeline as pipeline
    import restoration.selection as selection
    from restoration import restore

    with ExitStack() as stack:
        if lever in ("main", "residual"):  # the hold-out of main: no context
            stack.enter_context(mock.patch.object(selection, "REGION_MARGIN", 0))
        if lever == "main":
            for module in (pipeline, selection):
                stack.enter_context(mock.patch.object(module, "fill_residual",
                                                      lambda models, *_, **__: models))
        if lever == "no significance":
            stack.enter_context(mock.patch.object(selection, "SIGNIFICANCE", 0.0))
        if lever == "lambda candidates":
            stack.enter_context(mock.patch.object(pipeline, "SPARSITY_WEIGHTS",
                                                  (0.15, 0.25, 0.4)))
        if lever == "sigma candidates":
            stack.enter_context(mock.patch.object(pipeline, "SMOOTHINGS", (1.0, 1.5, 2.0)))
        start = time.perf_counter()
        if lever in ("main", "residual", "context"):
            result = restore(image, mask, adapt=False)
        elif lever == "defaults":
            result = restore(image, mask)
        elif lever in ("adapt", "no significance", "two passes", "shifted grids",
                       "lambda candidates", "sigma candidates"):
            result = restore(image, mask, adapt=True)
        else:
            result = restore_with_learned(lever, image, mask)
        restored = result.image
        if lever == "two passes":
            restored = second_pass(image, mask, restored, result)
        elif lever == "shifted grids":
            restored = 0.5 * (restored + shifted(image, mask, 4))
        seconds = time.perf_counter() - start
    learned = [a for a in result.adaptations if a is not None]
    return restored, {"seconds": seconds, "objective": result.objective, "nnz": result.nnz,
                      "candidate": result.candidate,
                      "learn_seconds": sum(a.seconds for a in learned),
                      "learn_iter": sum(a.n_iter for a in learned)}


def restore_with_learned(lever, image, mask):
    """The ``adapt`` pipeline with other learned candidates: the hold-out of ``restore`` (same
    seed) is drawn first and learning reads what the pipeline's would
    (:meth:`restoration.selection.HoldOut.learnable`), or also the regions' kept pixels."""
    import restoration.pipeline as pipeline
    from restoration import load_dictionaries, restore
    from restoration.adaptation import adapt_dictionary
    from restoration.selection import hold_out, select_settings

    bundled = load_dictionaries(None)
    holdout = hold_out(mask, random_state=0)
    kept = holdout.learnable(mask)
    if lever == "learn beside hidden pixels":  # the regions' kept pixels too
        kept = mask & ~holdout.hidden
    plane = np.where(mask, image, 0.0)
    start = time.perf_counter()
    settings = {"learn beside hidden pixels": [dict(initial=bundled[0])],
                "init #1": [dict(initial=bundled[1])],
                "72 filters": [dict(initial=np.concatenate(bundled))],
                "12x12": [dict(initial=bundled[0], filter_size=12)],
                "8x8 + 16x16": [dict(initial=bundled[0], filter_size=8),
                                dict(initial=bundled[0])],
                "16 windows": [dict(initial=bundled[0], n_windows=16)],
                "20 iterations": [dict(initial=bundled[0], max_iter=20)],
                "learn lambda 0.1": [dict(initial=bundled[0], sparsity_weight=0.1)],
                "learn lambda 0.4": [dict(initial=bundled[0], sparsity_weight=0.4)]}[lever]
    learned = [adapt_dictionary([plane], [kept], **options) for options in settings]
    with mock.patch.object(pipeline, "select_settings", partial(select_settings,
                                                               n_trusted=len(bundled))):
        result = restore(image, mask, dictionary=[*bundled, *(a.filters for a in learned)],
                         adapt=False)
    names = result.candidates[:len(bundled)] + tuple(f"learned #{k}" for k in range(len(learned)))
    from dataclasses import replace

    return replace(result, adaptations=(learned[0],), candidates=names,
                   seconds=time.perf_counter() - start)


def second_pass(image, mask, restored, result):
    """Iterating the split: the smooth part re-estimated from the restoration, the detail coded
    again (warm settings: the first pass's choice), the residual interpolated."""
    from restoration import load_dictionaries
    from restoration.pipeline import coding_iterations
    from restoration.split import fill_residual, smooth, unit_rms_detail
    from restoration.tiling import code_detail

    chosen = result.selections[0]
    if chosen.smoothing is None:
        return restored
    learned = [a.filters for a in result.adaptations if a is not None]
    filters = [*load_dictionaries(None), *learned][chosen.dictionary]
    smooth_part = smooth(restored, chosen.smoothing)
    detail, scale = unit_rms_detail(image - smooth_part, mask)
    coded = code_detail(detail.astype(np.float32), mask, filters,
                        sparsity_weight=chosen.sparsity_weight,
                        max_iter=coding_iterations(image.shape))
    model = fill_residual(smooth_part + scale * coded.synthesis, image, mask)
    return np.clip(np.where(mask, image, model), 0, 1)


def shifted(image, mask, shift):
    """The restoration of the image moved by ``shift`` pixels down and right (reflected
    border), moved back."""
    from restoration import restore

    padded = np.pad(image, ((shift, 0), (shift, 0)), mode="reflect")[:image.shape[0],
                                                                      :image.shape[1]]
    moved = np.pad(mask, ((shift, 0), (shift, 0)), mode="reflect")[:mask.shape[0],
                                                                   :mask.shape[1]]
    out = restore(padded, moved, adapt=True).image
    back = np.pad(out[shift:, shift:], ((0, shift), (0, shift)), mode="edge")
    return np.where(mask, image, back)


# -- measurement and report ---------------------------------------------------------------------
def measure(levers, names):
    from skimage.restoration import inpaint_biharmonic

    from restoration.metrics import psnr

    images = dev_images()
    rows = []
    for index, (name, image) in enumerate(images.items()):
        if names and name not in names:
            continue
        mask = np.random.default_rng(1000 + index).random(image.shape) >= 0.5
        start = time.perf_counter()
        fill = inpaint_biharmonic(np.where(mask, image, 0), ~mask)
        base_seconds = time.perf_counter() - start
        base = psnr(image, fill, data_range=1.0)
        for lever in levers:
            restored, info = run_lever(lever, image, mask)
            rows.append({"image": name, "lever": lever, "biharmonic": base,
                         "biharmonic_seconds": base_seconds,
                         "gain": psnr(image, restored, data_range=1.0) - base, **info})
            print(f"{name:18s} {lever:18s} {rows[-1]['gain']:+.2f} dB "
                  f"{info['seconds']:.1f} s {info['candidate']}", flush=True)
    return rows


def markdown(rows, command, note):
    images = list(dict.fromkeys(row["image"] for row in rows))
    levers = list(dict.fromkeys(row["lever"] for row in rows))
    table = {(row["image"], row["lever"]): row for row in rows}
    lines = ["# Levers of `restoration.restore` on the development set (issue 26)", "",
             f"Command: `{command}`", "", f"Machine: {machine()}. {note}", "",
             "Gray images, 50 % missing at random, PSNR gain over biharmonic (dB, data range 1, "
             "whole image). 'main': the pipeline before this issue; 'residual': plus the "
             "interpolated residual; 'context': plus context around the hold-out's hidden pixels; "
             "'adapt': plus the dictionary learned from the image as a hold-out candidate "
             "(adapt=True: 36 filters 16x16 from bundled #0 zero-padded, 8 windows 64x64, "
             "lambda 0.2, at most 10 outer iterations); 'defaults': restore as shipped "
             "(adapt=None); every other row changes one thing of 'adapt'. "
             "Seconds: the whole restoration (learning included); 'learn': the learning alone "
             "(all learned candidates), with its outer iterations; 'won': the images where a "
             "learned dictionary restored the image.", "",
             "| lever | mean gain | median | worst image | seconds / image | learn s / "
             "iterations | won | objective / nnz (mean) |", "|---|---|---|---|---|---|---|---|"]
    for lever in levers:
        runs = [table[(image, lever)] for image in images if (image, lever) in table]
        gains = [run["gain"] for run in runs]
        worst = min(runs, key=lambda run: run["gain"])
        won = sum(run["candidate"].startswith("learned") for run in runs)
        lines.append(
            f"| {lever} | {np.mean(gains):+.3f} | {np.median(gains):+.2f} | {worst['image']} "
            f"{worst['gain']:+.2f} | {_mean(runs, 'seconds')} | {_mean(runs, 'learn_seconds')} / "
            f"{np.mean([r['learn_iter'] for r in runs]):.1f} | {won}/{len(runs)} | "
            f"{np.mean([r['objective'] for r in runs]):.0f} / "
            f"{np.mean([r['nnz'] for r in runs]):.4f} |")
    lines += ["", "Per image (gain in dB; the winning candidate of the hold-out):", "",
              "| image | biharmonic dB (s) | " + " | ".join(levers) + " |",
              "|---" * (len(levers) + 2) + "|"]
    for image in images:
        first = next(row for row in rows if row["image"] == image)
        cells = [f"{table[(image, lever)]['gain']:+.2f} {_short(table[(image, lever)])}"
                 if (image, lever) in table else "" for lever in levers]
        seconds = _mean([first], "biharmonic_seconds", 2)
        lines.append(f"| {image} | {first['biharmonic']:.2f} ({seconds}) | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _mean(runs, key, digits=1):
    """The mean of ``key`` over ``runs``, or '-' when the run kept no durations
    (``--no-seconds``)."""
    return f"{np.mean([run[key] for run in runs]):.{digits}f}" if key in runs[0] else "-"


def _short(row):
    candidate = row["candidate"]
    return ("L" if candidate.startswith("learned") else "F" if candidate == "fill" else
            "#" + candidate.split("#")[1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/adaptation_levers.md")
    parser.add_argument("--levers", nargs="+", choices=LEVERS, default=list(LEVERS))
    parser.add_argument("--images", nargs="+", default=None, help="a subset of the set")
    parser.add_argument("--note", default="", help="conditions of the run (load), for the report")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--from-json", metavar="JSON", nargs="+",
                        help="rewrite the report from the results of earlier runs (e.g. of "
                             "parts of the set run side by side)")
    parser.add_argument("--no-seconds", action="store_true",
                        help="keep no durations (a run on a machine busy with a timing benchmark)")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    if args.from_json:
        merged = merge_runs(args.from_json, ["rows"])
        write_text(args.out, markdown(merged["rows"], merged["command"], args.note))
        write_text(os.path.splitext(args.out)[0] + ".json", json.dumps(merged, indent=1))
        return
    rows = measure(args.levers, args.images)
    if args.no_seconds:
        rows = [{k: v for k, v in row.items() if not k.endswith("seconds")} for row in rows]
    command = "python " + shlex.join(["benchmarks/adaptation_levers.py"] + sys.argv[1:])
    write_text(args.out, markdown(rows, command, args.note))
    write_text(os.path.splitext(args.out)[0] + ".json",
               json.dumps({"command": command, "machine": machine(), "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
