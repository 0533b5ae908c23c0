"""The hold-out grid of ``restoration.restore`` against its cost, on the gray photos (issue 26).

``restore`` chooses per image among the candidates ``restoration.pipeline.SMOOTHINGS`` x
``SPARSITY_WEIGHTS`` x the bundled dictionaries by hold-out, then codes the detail layer with
``MAX_ITER`` FISTA iterations (scaled up for smaller images by ``coding_iterations``). One
setting changes those three constants for the whole run (``--setting NAME=SMOOTHINGS/WEIGHTS/
ITERATIONS``, e.g. ``wide=1.5,2.5/0.25,0.4/60``); every image of ``--images`` (the gray photos
of ``benchmarks/inpaint_vs_peers.py``, with its masks and mask seeds) is restored with the
defaults otherwise, and ``skimage.restoration.inpaint_biharmonic`` right before it, in the same
process, so that the time ratio of the two shares the machine's load. The score is the PSNR
gain over biharmonic (data range 1, whole image), with the objective and the fraction of
non-zero codes of the coding beside it.

Each restoration appends one JSON line to ``--out`` (a rerun skips what is there);
``--report`` writes the lines as Markdown.

    python benchmarks/holdout_grid.py --out grid.jsonl --setting shipped=1,1.5/0.25/36
    python benchmarks/holdout_grid.py --out grid.jsonl --setting wide=1.5,2.5/0.25,0.4/60
    python benchmarks/holdout_grid.py --report grid.jsonl --out holdout_grid.md
"""

import argparse
import json
import os
import time

import numpy as np
from inpaint_vs_peers import GRAY, _seed, load_image, make_mask

from common import machine


def parse_setting(text):
    """``NAME=S1,S2/W1,W2/ITER`` as ``(name, smoothings, weights, iterations)``."""
    name, _, spec = text.partition("=")
    try:
        smoothings, weights, iterations = spec.split("/")
        return (name, tuple(float(v) for v in smoothings.split(",")),
                tuple(float(v) for v in weights.split(",")), int(iterations))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--setting must read NAME=S1,S2/W1,W2/ITERATIONS, got {text!r}") from None


def run(setting, image_name, kind):
    """One image with one setting: the restore's report and biharmonic's, timed back to back."""
    from skimage.restoration import inpaint_biharmonic

    import restoration.pipeline as pipeline
    from restoration import restore
    from restoration.metrics import psnr

    name, pipeline.SMOOTHINGS, pipeline.SPARSITY_WEIGHTS, pipeline.MAX_ITER = setting
    image = load_image(image_name)
    mask = make_mask(kind, image.shape, _seed(image_name))
    start = time.perf_counter()
    fill = inpaint_biharmonic(np.where(mask, image, 0), ~mask)
    fill_seconds = time.perf_counter() - start
    result = restore(image, mask)
    chosen = result.selections[0]
    return {"setting": name, "smoothings": list(setting[1]), "weights": list(setting[2]),
            "max_iter": setting[3], "image": image_name, "mask": kind,
            "gain": psnr(image, result.image, data_range=1.0) - psnr(image, fill, data_range=1.0),
            "seconds": result.seconds, "biharmonic_seconds": fill_seconds,
            "objective": result.objective, "nnz": result.nnz, "n_iter": result.n_iter,
            "chosen": [chosen.dictionary, chosen.smoothing, chosen.sparsity_weight],
            "load": os.getloadavg()[0]}


def report(lines):
    """Markdown tables of the JSON lines: per setting and mask, then per image."""
    rows = [json.loads(line) for line in lines if line.strip()]
    settings = list(dict.fromkeys(row["setting"] for row in rows))
    masks = list(dict.fromkeys(row["mask"] for row in rows))
    out = ["| setting | smoothings / sparsity weights / iterations | mask | images | mean gain "
           "(dB) | worst image | time / biharmonic's (mean, max) | objective / nnz (mean) |",
           "|---|---|---|---|---|---|---|---|"]
    for setting in settings:
        for kind in masks:
            cell = [r for r in rows if r["setting"] == setting and r["mask"] == kind]
            if not cell:
                continue
            first, worst = cell[0], min(cell, key=lambda r: r["gain"])
            ratios = [r["seconds"] / r["biharmonic_seconds"] for r in cell]
            grid = (f"{','.join(map(str, first['smoothings']))} / "
                    f"{','.join(map(str, first['weights']))} / {first['max_iter']}")
            out.append(f"| {setting} | {grid} | {kind} | {len(cell)} | "
                       f"{np.mean([r['gain'] for r in cell]):+.3f} | {worst['image']} "
                       f"{worst['gain']:+.2f} | {np.mean(ratios):.1f}x, {max(ratios):.1f}x | "
                       f"{np.mean([r['objective'] for r in cell]):.0f} / "
                       f"{np.mean([r['nnz'] for r in cell]):.4f} |")
    out += ["", "Per image (gain in dB; the chosen dictionary, smoothing and sparsity weight; "
            "time / biharmonic's):", ""]
    images = list(dict.fromkeys(row["image"] for row in rows))
    for kind in masks:
        out += [f"{kind} missing:", "", "| image | " + " | ".join(settings) + " |",
                "|---|" + "---|" * len(settings)]
        for image in images:
            cells = []
            for setting in settings:
                match = [r for r in rows if (r["setting"], r["image"], r["mask"])
                         == (setting, image, kind)]
                if not match:
                    cells.append("-")
                    continue
                row = match[-1]
                index, smoothing, weight = row["chosen"]
                cells.append(f"{row['gain']:+.2f} (#{index}, {smoothing}, {weight}; "
                             f"{row['seconds'] / row['biharmonic_seconds']:.1f}x)")
            out.append(f"| {image} | " + " | ".join(cells) + " |")
        out.append("")
    loads = [row["load"] for row in rows]
    out.append(f"Load average (1 min) when the restorations ended: {min(loads):.1f} to "
               f"{max(loads):.1f}.")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON lines (appended), or the report")
    parser.add_argument("--setting", type=parse_setting, action="append", default=[])
    parser.add_argument("--images", nargs="+", choices=GRAY, default=list(GRAY))
    parser.add_argument("--masks", nargs="+", default=["50%"])
    parser.add_argument("--report", help="JSON lines to write as Markdown to --out")
    parser.add_argument("--force", action="store_true", help="overwrite an existing report")
    args = parser.parse_args(argv)
    if args.report:
        from restoration.io import write_text

        if os.path.exists(args.out) and not args.force:
            parser.error(f"{args.out} exists; pass --force to overwrite it")
        with open(args.report) as file:
            write_text(args.out, f"Machine: {machine()}\n\n{report(file)}\n")
        return 0
    if not args.setting:
        parser.error("give at least one --setting (or --report)")
    done = set()
    if os.path.exists(args.out):
        with open(args.out) as file:
            done = {(r["setting"], r["image"], r["mask"]) for r in map(json.loads, file)}
    from restoration import restore

    restore(np.zeros((32, 32)), np.ones((32, 32), bool), max_iter=2)  # kernels before clocks
    for setting in args.setting:
        for kind in args.masks:
            for image in args.images:
                if (setting[0], image, kind) in done:
                    continue
                row = run(setting, image, kind)
                with open(args.out, "a") as file:
                    file.write(json.dumps(row) + "\n")
                print(f"{row['setting']} {image} {kind}: {row['gain']:+.3f} dB, "
                      f"{row['seconds']:.1f} s / {row['biharmonic_seconds']:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
