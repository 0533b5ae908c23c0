"""Inpainting of scikit-image sample photos: ``restoration.inpaint`` vs biharmonic inpainting.

Gray images (RGB converted with ``skimage.color.rgb2gray``) at their full size; masks with
50 %, 75 % and 90 % of the pixels missing at random (``default_rng(seed + i).random(shape) >=
fraction`` is observed, ``i`` the image's index) and a scratch-and-block mask. Both methods get
the same inputs; observed pixels are kept by both. Reports PSNR (all pixels and missing pixels
only) and SSIM with data range 1, the coding objective and code sparsity of ``inpaint``, and
seconds (with seconds per megapixel). None of these images was used to learn the bundled
dictionary (``data/make_default_dictionary.py``).

    python benchmarks/inpaint_vs_biharmonic.py --out benchmarks/results/inpaint_vs_biharmonic.md

``--large SIZE`` instead times one large image (scikit-image's retina, gray, resized to
``SIZE x SIZE``, 50 % missing) with its peak memory, for the scaling to megapixels.
"""

import argparse
import json
import os
import shlex
import sys
import time

import numpy as np

from restoration.io import write_text

from common import cpu_description

IMAGES = ("camera", "astronaut", "coins", "brick")
EXTRA_IMAGES = ("grass", "gravel", "moon", "text")
MASKS = ("50%", "75%", "90%", "scratches")


def load_gray(name):
    import skimage.data
    from skimage.color import rgb2gray

    image = getattr(skimage.data, name)()
    return (rgb2gray(image) if image.ndim == 3 else image / 255.0).astype(np.float64)


def make_mask(kind, shape, seed):
    """Observed pixels (True) of a mask kind: random fraction missing, or scratches and blocks."""
    rng = np.random.default_rng(seed)
    if kind.endswith("%"):
        return rng.random(shape) >= float(kind[:-1]) / 100
    from skimage.draw import line

    mask = np.ones(shape, bool)
    height, width = shape
    for _ in range(max(4, (height * width) // 20000)):  # thin scratches, 1-3 pixels wide
        r0, r1 = rng.integers(0, height, 2)
        c0, c1 = rng.integers(0, width, 2)
        rows, cols = line(r0, c0, r1, c1)
        for offset in range(rng.integers(1, 4)):
            mask[np.clip(rows + offset, 0, height - 1), cols] = False
    for _ in range(max(2, (height * width) // 40000)):  # 8x8 to 16x16 blocks
        size = rng.integers(8, 17)
        top, left = rng.integers(0, height - size), rng.integers(0, width - size)
        mask[top:top + size, left:left + size] = False
    return mask


def run(name, image, kind, seed, args):
    from skimage.restoration import inpaint_biharmonic

    from restoration import restore
    from restoration.metrics import psnr, psnr_missing, ssim

    mask = make_mask(kind, image.shape, seed)
    start = time.perf_counter()
    baseline = inpaint_biharmonic(np.where(mask, image, 0), ~mask)
    baseline_seconds = time.perf_counter() - start
    info = restore(image, mask, max_iter=args.max_iter, sparsity_weight=args.sparsity_weight)
    ours = info.image
    row = {"image": name, "shape": list(image.shape), "mask": kind,
           "missing": float(1 - mask.mean()), "objective": info.objective, "nnz": info.nnz,
           "seconds": info.seconds, "biharmonic_seconds": baseline_seconds,
           "seconds_per_megapixel": info.seconds / (image.size / 1e6)}
    for label, estimate in (("ours", ours), ("biharmonic", baseline)):
        row[f"psnr_{label}"] = psnr(image, estimate)
        row[f"psnr_missing_{label}"] = psnr_missing(image, estimate, mask)
        row[f"ssim_{label}"] = ssim(image, estimate)
    row["gain"] = row["psnr_ours"] - row["psnr_biharmonic"]
    return row


def markdown(rows, args, command, machine):
    lines = [
        "# Inpainting: `restoration.inpaint` vs `skimage.restoration.inpaint_biharmonic`", "",
        f"Command: `{command}`", "", f"Machine: {machine}. {args.note}", "",
        f"Defaults of `inpaint` unless stated: bundled dictionary, max_iter {args.max_iter}, "
        f"sparsity_weight {args.sparsity_weight} (relative to the detail's RMS). PSNR/SSIM with "
        "data range 1 on the whole gray image; 'missing' is PSNR over the missing pixels only. "
        "Objective and nnz are those of the coding problem of `inpaint` (unit-RMS detail layer).",
        "", "## Mean PSNR gain over biharmonic (dB)", "",
        "| mask | " + " + ".join(IMAGES) + " | all images |", "|---|---|---|"]
    for kind in MASKS:
        main = [r["gain"] for r in rows if r["mask"] == kind and r["image"] in IMAGES]
        every = [r["gain"] for r in rows if r["mask"] == kind]
        lines.append(f"| {kind} | {np.mean(main):+.2f} | {np.mean(every):+.2f} |")
    lines += ["", "## Per image", "",
              "| image | size | mask | missing | PSNR ours | PSNR biharmonic | gain | "
              "missing-px PSNR ours / biharm. | SSIM ours / biharm. | objective | nnz | "
              "s ours | s/MP | s biharm. |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['image']} | {r['shape'][0]}x{r['shape'][1]} | {r['mask']} | "
            f"{r['missing']:.1%} | {r['psnr_ours']:.2f} | {r['psnr_biharmonic']:.2f} | "
            f"{r['gain']:+.2f} | {r['psnr_missing_ours']:.2f} / "
            f"{r['psnr_missing_biharmonic']:.2f} | {r['ssim_ours']:.4f} / "
            f"{r['ssim_biharmonic']:.4f} | {r['objective']:.1f} | {r['nnz']:.4f} | "
            f"{r['seconds']:.1f} | {r['seconds_per_megapixel']:.1f} | "
            f"{r['biharmonic_seconds']:.1f} |")
    return "\n".join(lines) + "\n"


def large_image_run(size, args):
    """Inpaint a ``size x size`` gray image; report time, seconds per megapixel, peak memory."""
    import resource

    from skimage.transform import resize

    image = resize(load_gray("retina"), (size, size), anti_aliasing=True)
    row = run(f"retina resized to {size}x{size}", image, "50%", args.seed, args)
    row["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/inpaint_vs_biharmonic.md")
    parser.add_argument("--images", nargs="+", default=list(IMAGES + EXTRA_IMAGES))
    parser.add_argument("--masks", nargs="+", default=list(MASKS))
    parser.add_argument("--max-iter", type=int, default=60)
    parser.add_argument("--sparsity-weight", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--large", type=int, help="time one SIZE x SIZE image instead")
    parser.add_argument("--note", default="", help="conditions of the run, for the report")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    rows = []
    if args.large:
        row = large_image_run(args.large, args)
        rows.append(row)
        args.masks = []
    for kind in args.masks:
        for index, name in enumerate(args.images):
            row = run(name, load_gray(name), kind, args.seed + index, args)
            rows.append(row)
            print(f"{kind:9s} {name:10s} ours {row['psnr_ours']:.2f} biharmonic "
                  f"{row['psnr_biharmonic']:.2f} gain {row['gain']:+.2f} "
                  f"({row['seconds']:.1f} s)", flush=True)
    machine = cpu_description()
    command = "python " + shlex.join(["benchmarks/inpaint_vs_biharmonic.py"] + sys.argv[1:])
    if args.large:
        text = (f"# Inpainting a large image\n\nCommand: `{command}`\n\nMachine: {machine}. "
                f"{args.note}\n\n" + "\n".join(f"- {key}: {value}" for key, value in row.items())
                + "\n")
    else:
        text = markdown(rows, args, command, machine)
    write_text(args.out, text)
    write_text(os.path.splitext(args.out)[0] + ".json",
               json.dumps({"command": command, "machine": machine, "rows": rows}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
