"""Inpainting: ``restoration.restore`` against biharmonic, OpenCV (Telea, Navier-Stokes) and
SPORCO's masked CSC, on the same inputs.

Parts (``--parts``):

- ``gray``: the eight scikit-image gray photos (camera, astronaut, coins, brick, grass, gravel,
  moon, text; RGB converted with ``skimage.color.rgb2gray``) at full size, with 50 %, 75 % and
  90 % of the pixels missing at random (``default_rng(i).random(shape) >= fraction`` observed, ``i``
  the image's index) and with scratches and blocks.
  Plug-and-play BM3D (``pnp_bm3d``: 12 BM3D hard-thresholding denoisings of the current
  estimate, its noise level going from 40/255 to 3/255, from the biharmonic fill; the ``bm3d``
  package) runs on the 50 % masks only (it takes minutes per image).
- ``texture``: images dominated by a repeated texture (``TEXTURE``: a 256x256 crop of the
  pagoda of scikit-learn's china, its roof tiles, windows and railings; scikit-image's
  checkerboard), gray, 50 % missing (``default_rng(200 + i)``): ``restore`` with its defaults
  (``adapt=None``), with ``adapt=True`` and with the bundled dictionaries only
  (``adapt=False``), biharmonic and BM3D. Neither trained the bundled dictionaries, and neither
  is in ``benchmarks/adaptation_levers.py``'s development set.
- ``colour``: astronaut and motorcycle_left (scikit-image), china and flower (scikit-learn), RGB,
  50 % missing (one mask for the three channels); biharmonic per channel as the baseline.
- ``sporco``: 256x256 central crops of the gray photos at 50 %, where SPORCO's
  ``AddMaskSim(ConvBPDNGradReg)`` (its inpainting example: an impulse filter with a gradient-
  regularised low-pass map, 8x8x128 dictionary, lambda 0.01, mu 0.2, 200 iterations) takes a
  minute or two per image; the other methods run on the same crops.
- ``protocol``: fruit and city in the papers' protocol (LCN gray images, 75 % kept, seeds 0, 1,
  2), in papers' PSNR: ``restoration.restore`` (each image min-max scaled to [0, 1], scaled
  back) with its defaults, each image alone; ``restoration.restore_batch`` of the ten images
  (its defaults: one dictionary adapted to the whole corrupted set); ``restore`` with a
  dictionary learned from the corrupted set by ``cogd learn``'s estimator
  (``PROTOCOL_DICTIONARY``, observed pixels only, as in the papers), the biharmonic fill, and
  the papers' inpainting (100 filters learned from the corrupted set, the codes re-solved and
  decoded, ``restoration.protocol.evaluate``).
- ``large``: scikit-image's retina (gray) resized to ``--large-size``, 50 % missing: seconds
  per megapixel and peak memory.

Every method of a gray or colour case runs in a fresh process (so its peak memory, ``VmHWM``, is
its own), one after the other. PSNR/SSIM with data range 1; "missing" is the PSNR over the
missing pixels only. None of these images trains the bundled dictionary
(``data/make_default_dictionary.py``).

    python benchmarks/inpaint_vs_peers.py --out benchmarks/results/inpaint_vs_peers.md
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np

from restoration.io import write_text

from common import machine, merge_runs, peak_memory_gib

GRAY = ("camera", "astronaut", "coins", "brick", "grass", "gravel", "moon", "text")
MAIN = GRAY[:4]
COLOUR = ("astronaut", "motorcycle_left", "china", "flower")
MASKS = ("50%", "75%", "90%", "scratches")
METHODS = ("ours", "biharmonic", "telea", "navier-stokes")
PARTS = ("gray", "colour", "texture", "sporco", "protocol", "large")
TEXTURE = ("china pagoda", "checkerboard")
TEXTURE_METHODS = ("ours", "ours adapt=True", "ours adapt=False", "biharmonic", "bm3d")
# dictionary learned from the corrupted fruit/city set for restore (the papers' setting: the
# observed pixels of the ten images are all there is)
PROTOCOL_DICTIONARY = {"n_filters": 64, "filter_size": 8, "sparsity_weight": 0.8, "max_iter": 60}


# -- inputs -------------------------------------------------------------------------------------
def load_image(name, colour=False):
    """A benchmark photo as floats in [0, 1]: gray (H, W), or RGB (H, W, 3) with ``colour``."""
    import skimage.data
    from skimage.color import rgb2gray

    if name in ("china", "flower", "china pagoda"):
        from sklearn.datasets import load_sample_image

        image = load_sample_image(f"{name.split()[0]}.jpg")
        if name == "china pagoda":
            image = image[40:296, 70:326]
    elif name == "motorcycle_left":
        image = skimage.data.stereo_motorcycle()[0]
    else:
        image = getattr(skimage.data, name)()
    image = image / 255.0
    if not colour and image.ndim == 3:
        image = rgb2gray(image)
    return np.ascontiguousarray(image, dtype=np.float64)


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


def central_crop(image, size):
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


# -- methods ----------------------------------------------------------------------------------
def run_method(method, image, mask):
    """``(restored, seconds, extra)`` of one method; ``extra`` holds what the method reports.

    Imports happen before the clock starts.
    """
    import cv2
    from skimage.restoration import inpaint_biharmonic

    from restoration import restore

    colour = image.ndim == 3
    observed = mask[..., None] if colour else mask
    extra = {}
    start = time.perf_counter()
    if method.startswith("ours"):
        adapt = {"ours": None, "ours adapt=True": True, "ours adapt=False": False}[method]
        result = restore(image, mask, channel_axis=-1 if colour else None, adapt=adapt)
        restored = result.image
        learned = [a for a in result.adaptations if a is not None]
        extra = {"objective": result.objective, "nnz": result.nnz,
                 "settings": [[s.dictionary, s.smoothing, s.sparsity_weight]
                              for s in result.selections],
                 "candidate": result.candidate,
                 "learn_seconds": sum(a.seconds for a in learned),
                 "learn_iter": sum(a.n_iter for a in learned)}
    elif method == "biharmonic":
        restored = inpaint_biharmonic(np.where(observed, image, 0), ~mask,
                                      channel_axis=-1 if colour else None)
    elif method in ("telea", "navier-stokes"):
        flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
        as_uint8 = np.round(np.where(observed, image, 0) * 255).astype(np.uint8)
        restored = cv2.inpaint(as_uint8, (~mask).astype(np.uint8), 3, flag) / 255.0
        restored = np.where(observed, image, restored)  # keep the observed values exactly
    elif method == "sporco":
        restored = sporco_inpaint(image, mask)
    elif method == "bm3d":
        restored = pnp_bm3d(image, ~mask)
    else:
        raise ValueError(f"unknown method {method!r}")
    return np.asarray(restored, np.float64), time.perf_counter() - start, extra


def sporco_inpaint(image, mask, *, lmbda=1e-2, mu=2e-1, n_iter=200):
    """SPORCO's gray inpainting example (``cbpdn_ams_grd_gry``): ConvBPDNGradReg with an impulse
    filter whose map carries the low-pass part, wrapped by AddMaskSim."""
    import sporco.fft
    from sporco import util
    from sporco.admm import cbpdn

    sporco.fft.pyfftw_planner_effort = "FFTW_ESTIMATE"
    pad = 8
    padded = np.pad(np.where(mask, image, 0), pad, mode="symmetric").astype(np.float32)
    padded_mask = np.pad(mask.astype(np.float32), pad)
    filters = util.convdicts()["G:8x8x128"]
    impulse = np.zeros(filters.shape[:2] + (1,), np.float32)
    impulse[0, 0] = 1
    dictionary = np.dstack((impulse, filters))
    l1_weight = np.ones((1, 1, dictionary.shape[2] + 1), np.float32)
    l1_weight[..., 0] = l1_weight[..., -1] = 0
    gradient_weight = np.hstack((np.full(dictionary.shape[2], 0.2, np.float32), [0.0]))
    gradient_weight[0] = 1.0
    options = cbpdn.ConvBPDNGradReg.Options({
        "Verbose": False, "MaxMainIter": n_iter, "HighMemSolve": True, "RelStopTol": 5e-3,
        "AuxVarObj": False, "RelaxParam": 1.8, "rho": 5e1 * lmbda + 1e-1,
        "L1Weight": l1_weight, "GradWeight": gradient_weight,
        "AutoRho": {"Enabled": False, "StdResiduals": False}})
    solver = cbpdn.AddMaskSim(cbpdn.ConvBPDNGradReg, dictionary, padded, padded_mask, lmbda, mu,
                              opt=options)
    solver.solve()
    restored = solver.reconstruct().squeeze()[pad:-pad, pad:-pad]
    return np.clip(np.where(mask, image, restored), 0, 1)


def pnp_bm3d(image, missing, *, n_iter=12):
    """Plug-and-play inpainting with BM3D (gray): from the biharmonic fill, ``n_iter``
    hard-thresholding BM3D denoisings of the current estimate with the observed pixels put back,
    the assumed noise level decreasing geometrically from 40/255 to 3/255."""
    import bm3d
    from skimage.restoration import inpaint_biharmonic

    estimate = inpaint_biharmonic(np.where(missing, 0, image), missing)
    for sigma in np.geomspace(40 / 255, 3 / 255, n_iter):
        estimate = bm3d.bm3d(np.where(missing, estimate, image), sigma_psd=sigma,
                             stage_arg=bm3d.BM3DStages.HARD_THRESHOLDING)
    return np.where(missing, np.clip(estimate, 0, 1), image)


def scores(image, restored, mask):
    from restoration.metrics import psnr, psnr_missing, ssim

    colour = image.ndim == 3
    return {"psnr": psnr(image, restored, data_range=1.0),
            "psnr_missing": psnr_missing(image, restored, mask, data_range=1.0),
            "ssim": ssim(image, restored, data_range=1.0, channel_axis=-1 if colour else None)}


def run_case(case):
    """One method on one input, in this process (called in a fresh process by ``--case``)."""
    image = load_image(case["image"], colour=case["colour"])
    if case.get("crop"):
        image = central_crop(image, case["crop"])
    mask = make_mask(case["mask"], image.shape[:2], case["seed"])
    if case["method"].startswith("ours"):  # compile (or load) the kernels outside the clock
        from restoration import restore

        restore(image[:32, :32], mask[:32, :32], max_iter=2, adapt=True,
                channel_axis=-1 if image.ndim == 3 else None)
    restored, seconds, extra = run_method(case["method"], image, mask)
    return {**case, "shape": list(image.shape), "missing": float(1 - mask.mean()),
            "seconds": seconds, "peak_gib": peak_memory_gib(), **scores(image, restored, mask),
            **extra}


def in_subprocess(case):
    output = subprocess.run([sys.executable, os.path.abspath(__file__), "--case",
                             json.dumps(case)], check=True, capture_output=True, text=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


# -- parts ------------------------------------------------------------------------------------
def photo_cases(args):
    if "gray" in args.parts:
        for kind in args.masks:
            for name in args.images:
                for method in METHODS + (("bm3d",) if kind == "50%" else ()):
                    yield {"part": "gray", "image": name, "colour": False, "mask": kind,
                           "seed": _seed(name), "method": method}
    if "texture" in args.parts:
        for index, name in enumerate(TEXTURE):
            for method in TEXTURE_METHODS:
                yield {"part": "texture", "image": name, "colour": False, "mask": "50%",
                       "seed": 200 + index, "method": method}
    if "colour" in args.parts:
        for index, name in enumerate(COLOUR):
            for method in METHODS:
                yield {"part": "colour", "image": name, "colour": True, "mask": "50%",
                       "seed": 100 + index, "method": method}
    if "sporco" in args.parts:
        for name in args.images:
            for method in ("ours", "biharmonic", "sporco"):
                yield {"part": "sporco", "image": name, "colour": False, "mask": "50%",
                       "seed": _seed(name), "method": method, "crop": 256}
    if "large" in args.parts:
        for method in ("ours", "biharmonic"):
            yield {"part": "large", "image": "retina", "colour": False, "mask": "50%",
                   "seed": 0, "method": method, "size": args.large_size}


def _seed(name):
    """The mask seed of a gray photo: its place in ``GRAY`` (so that a run of some of the
    images draws the masks of the full run)."""
    return GRAY.index(name)


def protocol_rows(seeds):
    """Papers' PSNR on fruit/city (75 % kept): ``restore`` with its defaults (each image alone),
    ``restore_batch`` of the set, ``restore`` with a dictionary learned from the corrupted set,
    the biharmonic fill, the papers' CSC."""
    from skimage.restoration import inpaint_biharmonic

    from csc import ConvolutionalDictionary
    from restoration import restore, restore_batch
    from restoration.metrics import protocol_psnr
    from restoration.protocol import evaluate, load_protocol_images, protocol_mask

    rows = []
    for set_name in ("fruit", "city"):
        images = load_protocol_images(set_name)
        for seed in seeds:
            masks = protocol_mask(images.shape, seed)
            start = time.perf_counter()
            learned = ConvolutionalDictionary(**PROTOCOL_DICTIONARY, random_state=seed).fit(
                (images * masks).astype(np.float32), masks)
            row = {"set": set_name, "seed": seed, "learn_seconds": time.perf_counter() - start,
                   "seconds": 0.0}
            lows = images.min(axis=(1, 2), keepdims=True)
            highs = images.max(axis=(1, 2), keepdims=True)
            units = (images - lows) / (highs - lows)  # restore takes images in [0, 1]
            start = time.perf_counter()
            batch = restore_batch(units, masks)
            row["batch_seconds"] = time.perf_counter() - start
            row["batch_learned"] = [r.candidate for r in batch].count("learned")
            scores = {"ours": [], "ours_batch": [], "ours_learned": [], "biharmonic": []}
            for image, mask, unit, low, high, together in zip(images, masks, units, lows, highs,
                                                              batch, strict=True):
                start = time.perf_counter()
                ours = restore(unit, mask).image
                row["seconds"] += time.perf_counter() - start
                with_learned = restore(unit, mask, dictionary=learned).image
                fill = inpaint_biharmonic(np.where(mask, image, 0), ~mask)
                for key, estimate in (("ours", ours * (high - low) + low),
                                      ("ours_batch", together.image * (high - low) + low),
                                      ("ours_learned", with_learned * (high - low) + low),
                                      ("biharmonic", fill)):
                    scores[key].append(protocol_psnr(image, estimate))
            row.update({key: float(np.mean(values)) for key, values in scores.items()})
            row["csc"] = evaluate(images, task="inpaint", random_state=seed,
                                  set_name=set_name)["averages"]["protocol_psnr"]
            rows.append(row)
            print(f"{set_name} seed {seed}: ours {row['ours']:.2f} as one batch "
                  f"{row['ours_batch']:.2f} with learned dictionary {row['ours_learned']:.2f} "
                  f"biharmonic {row['biharmonic']:.2f} csc {row['csc']:.2f}", flush=True)
    return rows


# -- report -----------------------------------------------------------------------------------
def by_case(rows, part):
    table = {}
    for row in rows:
        if row["part"] == part:
            table.setdefault((row["image"], row["mask"]), {})[row["method"]] = row
    return table


def markdown(rows, protocol, command, note):
    lines = ["# Inpainting: `restoration.restore` vs biharmonic, OpenCV, SPORCO and BM3D", "",
             f"Command: `{command}`", "", f"Machine: {machine()}. {note}", "",
             "PSNR/SSIM with data range 1; 'missing' = PSNR over the missing pixels only; "
             "objective and nnz are those of the coding of `restore` (unit-RMS detail layer); "
             "'settings' = (dictionary, smoothing, sparsity weight) chosen by hold-out, "
             "'fill' when the biharmonic fill alone was kept (dictionary #2 is the one learned "
             "from the image, 'candidate' names the winner); every method in a fresh process, "
             "peak memory is that process's VmHWM.", ""]
    gray = by_case(rows, "gray")
    if gray:
        lines += ["## Gray photos: mean PSNR gain over biharmonic (dB)", "",
                  "| mask | " + ", ".join(MAIN) + " | all 8 | worst image | learned dictionary "
                  "chosen | Telea (all 8) | Navier-Stokes (all 8) | BM3D (all 8) |",
                  "|---|---|---|---|---|---|---|---|"]
        for kind in MASKS:
            cases = {k: v for k, v in gray.items() if k[1] == kind and "ours" in v}
            if not cases:
                continue
            gain = {k: v["ours"]["psnr"] - v["biharmonic"]["psnr"] for k, v in cases.items()}
            worst = min(gain, key=gain.get)
            peers = [np.mean([v[m]["psnr"] - v["biharmonic"]["psnr"] for v in cases.values()])
                     if all(m in v for v in cases.values()) else None
                     for m in ("telea", "navier-stokes", "bm3d")]
            learned = [k[0] for k, v in cases.items() if v["ours"].get("candidate") == "learned"]
            lines.append(f"| {kind} | {np.mean([g for k, g in gain.items() if k[0] in MAIN]):+.2f}"
                         f" | {np.mean(list(gain.values())):+.2f} | {worst[0]} "
                         f"{gain[worst]:+.2f} | {', '.join(learned) or 'none'} | "
                         + " | ".join("-" if p is None else f"{p:+.2f}" for p in peers) + " |")
        lines += [""] + case_table(gray, methods=METHODS + ("bm3d",))
    lines += speed_lines(gray, by_case(rows, "colour"))
    colour = by_case(rows, "colour")
    if colour:
        gains = [v["ours"]["psnr"] - v["biharmonic"]["psnr"] for v in colour.values()]
        lines += ["## Colour photos, 50 % missing", "",
                  f"Mean PSNR gain over per-channel biharmonic: {np.mean(gains):+.2f} dB.", ""]
        lines += case_table(colour)
    texture = by_case(rows, "texture")
    if texture:
        lines += ["## Repeated textures, 50 % missing: where adaptation wins and where it does "
                  "not", "",
                  "| image | size | biharmonic dB | defaults (adapt=None) | adapt=True | "
                  "adapt=False (bundled only) | adapt=True's gain over the bundled only | "
                  "learning s / iterations (adapt=True) | BM3D | seconds: defaults / adapt=True / "
                  "bundled only / biharmonic / BM3D |", "|---" * 11 + "|"]
        for (name, _), runs in texture.items():
            base = runs["biharmonic"]["psnr"]
            default, forced, bundled = (runs[m] for m in TEXTURE_METHODS[:3])
            lines.append(
                f"| {name} | {'x'.join(map(str, default['shape'][:2]))} | {base:.2f} | "
                + " | ".join(f"{r['psnr'] - base:+.2f} ({r['candidate']})"
                             for r in (default, forced, bundled))
                + f" | {forced['psnr'] - bundled['psnr']:+.2f} | "
                f"{forced['learn_seconds']:.1f} / {forced['learn_iter']} | "
                f"{runs['bm3d']['psnr'] - base:+.2f} | {default['seconds']:.1f} / "
                f"{forced['seconds']:.1f} / {bundled['seconds']:.1f} / "
                f"{runs['biharmonic']['seconds']:.1f} / "
                f"{runs['bm3d']['seconds']:.0f} |")
        lines += ["", "Gains in dB over biharmonic (the candidate that won in brackets).", ""]
    crops = by_case(rows, "sporco")
    if crops:
        lines += ["## 256x256 central crops, 50 % missing, with SPORCO's masked CSC", ""]
        lines += case_table(crops, methods=("ours", "biharmonic", "sporco"))
    large = by_case(rows, "large")
    for (name, kind), methods in large.items():
        ours, base = methods["ours"], methods["biharmonic"]
        megapixels = np.prod(ours["shape"]) / 1e6
        lines += ["## A large image", "",
                  f"{name} resized to {ours['shape'][0]}x{ours['shape'][1]} ({megapixels:.1f} MP), "
                  f"{kind} missing: ours {ours['seconds']:.1f} s ({ours['seconds'] / megapixels:.1f}"
                  f" s/MP), peak {ours['peak_gib']:.2f} GiB ({ours['peak_gib'] / megapixels:.2f} "
                  f"GiB/MP), PSNR {ours['psnr']:.2f} dB; biharmonic {base['seconds']:.1f} s, peak "
                  f"{base['peak_gib']:.2f} GiB, PSNR {base['psnr']:.2f} dB.", ""]
    if protocol:
        lines += ["## Fruit and city, papers' protocol (LCN, 75 % kept), papers' PSNR (dB)", "",
                  "| set | seed | biharmonic | `restore`, defaults, each image alone (gain) | "
                  "`restore_batch`, defaults, the set as one batch (gain; images restored with "
                  "the learned dictionary) | `restore`, dictionary learned from the corrupted "
                  "set by the estimator (gain) | papers' CSC inpainting | seconds: `restore` "
                  "(10 images) / `restore_batch` / estimator learning |",
                  "|---|---|---|---|---|---|---|---|"]
        for row in protocol:
            lines.append(f"| {row['set']} | {row['seed']} | {row['biharmonic']:.2f} | "
                         f"{row['ours']:.2f} ({row['ours'] - row['biharmonic']:+.2f}) | "
                         f"{row['ours_batch']:.2f} "
                         f"({row['ours_batch'] - row['biharmonic']:+.2f}; "
                         f"{row['batch_learned']}/10) | {row['ours_learned']:.2f} "
                         f"({row['ours_learned'] - row['biharmonic']:+.2f}) | {row['csc']:.2f} | "
                         f"{row['seconds']:.1f} / {row['batch_seconds']:.1f} / "
                         f"{row['learn_seconds']:.1f} |")
        for set_name in ("fruit", "city"):
            runs = [r for r in protocol if r["set"] == set_name]
            gains = [np.mean([r[k] - r["biharmonic"] for r in runs])
                     for k in ("ours", "ours_batch", "ours_learned")]
            lines.append(f"| {set_name} | mean gain | | {gains[0]:+.2f} | {gains[1]:+.2f} | "
                         f"{gains[2]:+.2f} | | |")
        lines += ["", f"Dictionary learned from the corrupted set: {PROTOCOL_DICTIONARY}, "
                  "random_state = seed.", ""]
    return "\n".join(lines) + "\n"


def speed_lines(gray, colour):
    """Seconds of ``restore`` against biharmonic's on 512x512 gray photos at 50 % missing,
    colour against gray on the same photo, and peak memory of the colour runs."""
    lines = []
    square = {name: runs for (name, kind), runs in gray.items()
              if kind == "50%" and runs["ours"]["shape"][:2] == [512, 512]}
    if square:
        ratios = {name: runs["ours"]["seconds"] / runs["biharmonic"]["seconds"]
                  for name, runs in square.items()}
        lines += ["## Speed and memory", "",
                  "512x512 gray, 50 % missing, seconds of `restore` / seconds of biharmonic "
                  "(each in a fresh process, imports before the clock): "
                  + ", ".join(f"{name} {ratio:.1f}x" for name, ratio in ratios.items())
                  + f"; mean {np.mean(list(ratios.values())):.1f}x.", ""]
    both = [name for (name, _), runs in colour.items() if (name, "50%") in gray]
    for name in both:
        ours_colour, ours_gray = colour[(name, "50%")]["ours"], gray[(name, "50%")]["ours"]
        lines += [f"{name}: colour {ours_colour['seconds']:.1f} s, gray "
                  f"{ours_gray['seconds']:.1f} s ({ours_colour['seconds'] / ours_gray['seconds']:.2f}"
                  f"x); peak memory colour {ours_colour['peak_gib']:.2f} GiB, gray "
                  f"{ours_gray['peak_gib']:.2f} GiB.", ""]
    if colour:
        peak = max(runs["ours"]["peak_gib"] for runs in colour.values())
        lines += [f"Largest peak memory of `restore` on the colour photos: {peak:.2f} GiB.", ""]
    return lines


def case_table(table, methods=METHODS):
    header = ["image", "size", "mask", "missing"]
    for method in methods:
        header.append(f"{method}: PSNR / missing / SSIM / s / GiB")
    lines = ["| " + " | ".join(header) + " | ours: gain, objective, nnz, settings, candidate |",
             "|---" * (len(header) + 1) + "|"]
    for (name, kind), runs in table.items():
        ours = runs["ours"]
        cells = [name, "x".join(map(str, ours["shape"][:2])), kind, f"{ours['missing']:.1%}"]
        for method in methods:
            r = runs.get(method)
            cells.append("-" if r is None else
                         f"{r['psnr']:.2f} / {r['psnr_missing']:.2f} / {r['ssim']:.4f} / "
                         f"{r['seconds']:.1f} / {r['peak_gib']:.2f}")
        settings = " ".join("fill" if s[0] is None else f"(#{s[0]}, {s[1]:g}, {s[2]:g})"
                            for s in ours["settings"])
        gain = ours["psnr"] - runs["biharmonic"]["psnr"]
        learned = f", learned in {ours['learn_seconds']:.1f} s" if ours.get("learn_seconds") \
            else ""
        lines.append("| " + " | ".join(cells) + f" | {gain:+.2f}, {ours['objective']:.1f}, "
                     f"{ours['nnz']:.4f}, {settings}, {ours.get('candidate', '')}{learned} |")
    return lines + [""]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/inpaint_vs_peers.md")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--images", nargs="+", choices=GRAY, default=list(GRAY))
    parser.add_argument("--masks", nargs="+", default=list(MASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds of the fruit/city protocol")
    parser.add_argument("--large-size", type=int, default=2048)
    parser.add_argument("--methods", nargs="+", default=None,
                        choices=sorted(set(METHODS + TEXTURE_METHODS + ("bm3d", "sporco"))),
                        help="run only these methods of the parts (default: all); runs of "
                             "different methods are reported together by --from-json")
    parser.add_argument("--note", default="", help="conditions of the run, for the report")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--from-json", metavar="JSON", nargs="+",
                        help="rewrite the report from the results of earlier runs (several: "
                             "runs of different parts, reported together with their commands)")
    args = parser.parse_args(argv)
    if args.case:
        case = json.loads(args.case)
        if case.get("size"):
            print(json.dumps(run_large(case)))
        else:
            print(json.dumps(run_case(case)))
        return
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    if args.from_json:
        merged = merge_runs(args.from_json, ["rows", "protocol"])
        write_text(args.out, markdown(merged["rows"], merged["protocol"], merged["command"],
                                      args.note))
        if len(args.from_json) > 1:  # the results of the report in one file
            write_text(os.path.splitext(args.out)[0] + ".json", json.dumps(merged, indent=1))
        return
    rows = []
    for case in photo_cases(args):
        if args.methods is not None and case["method"] not in args.methods:
            continue
        row = in_subprocess(case)
        rows.append(row)
        print(f"{row['part']:7s} {row['image']:15s} {row['mask']:9s} {row['method']:13s} "
              f"PSNR {row['psnr']:.2f} {row['seconds']:.1f} s {row['peak_gib']:.2f} GiB",
              flush=True)
    protocol = protocol_rows(args.seeds) if "protocol" in args.parts else []
    command = "python " + shlex.join(["benchmarks/inpaint_vs_peers.py"] + sys.argv[1:])
    write_text(os.path.splitext(args.out)[0] + ".json",  # first: the results outlive the report
               json.dumps({"command": command, "machine": machine(), "rows": rows,
                           "protocol": protocol}, indent=1))
    text = markdown(rows, protocol, command, args.note)
    write_text(args.out, text)
    print(text)


def run_large(case):
    """The large-image case: retina resized to ``size`` squared."""
    from skimage.transform import resize

    image = resize(load_image("retina"), (case["size"],) * 2, anti_aliasing=True)
    mask = make_mask(case["mask"], image.shape, case["seed"])
    restored, seconds, extra = run_method(case["method"], image, mask)
    return {**case, "shape": list(image.shape), "missing": float(1 - mask.mean()),
            "seconds": seconds, "peak_gib": peak_memory_gib(), **scores(image, restored, mask),
            **extra}


if __name__ == "__main__":
    main()
