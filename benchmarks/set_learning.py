"""What a dictionary learned from a corrupted set needs to restore it well (issue 26).

On fruit or city in the papers' protocol (LCN gray images, 75 % kept, mask drawn from
``restoration.protocol.protocol_mask(shape, seed)``), one dictionary is learned with
:class:`csc.ConvolutionalDictionary` from the corrupted images, less the pixels each image's
hold-out hides (``restoration.pipeline.learning_planes`` with the same seed), and every image is
then restored by ``restoration.restore(unit, mask, dictionary=learned, random_state=seed)``
(the image scaled to [0, 1] and back, as ``benchmarks/inpaint_vs_peers.py`` does); the score is
the mean papers' PSNR gain over ``skimage.restoration.inpaint_biharmonic``. One run changes one
thing of the estimator's dictionary of ``benchmarks/inpaint_vs_peers.py`` (64 filters 8x8,
lambda 0.8, 60 x (10 + 10) ADMM iterations, a random start, on the contrast-normalised images):

- ``--input``: ``lcn`` (the protocol's contrast-normalised images), ``detailS`` (the unit-RMS
  detail ``unit - smooth(biharmonic fill, S)``, as ``restoration.adaptation`` learns from),
  ``lcnfill`` (the contrast normalisation of the biharmonic fill of the corrupted image);
- ``--size``, ``--n``, ``--lam``, ``--its``, ``--inner``, ``--opt``: the estimator's settings;
- ``--warm``: start from the first bundled dictionary (zero-padded or cropped to ``--size``);
- ``--per-image``: one dictionary learned from each image alone, restoring that image;
- ``--with-bundled``: the learned dictionary offered beside the bundled ones to the hold-out.

Each run appends one JSON line to ``--out``; ``--report`` writes the lines as a table.

    python benchmarks/set_learning.py E60 --out results.jsonl
    python benchmarks/set_learning.py E16 --size 16 --out results.jsonl
    python benchmarks/set_learning.py --report results.jsonl --out set_learning.md
"""

import argparse
import json
import time

import numpy as np


def protocol_set(set_name, seed, n_images):
    """``(images, masks, units, lows, highs)`` of the first ``n_images`` of a set."""
    from restoration.protocol import load_protocol_images, protocol_mask

    everything = load_protocol_images(set_name)
    images = everything[:n_images]
    masks = protocol_mask(everything.shape, seed)[:n_images]
    lows = images.min(axis=(1, 2), keepdims=True)
    highs = images.max(axis=(1, 2), keepdims=True)
    return images, masks, (images - lows) / (highs - lows), lows, highs


def learning_input(kind, images, units, readable):
    """The arrays learning reads (zero where it may not), float32 ``(n, H, W)``."""
    from restoration.preprocess import local_contrast_normalize
    from restoration.split import biharmonic_fill, smooth, unit_rms_detail

    if kind == "lcn":
        values = images
    elif kind == "lcnfill":
        values = local_contrast_normalize(biharmonic_fill(units * readable, readable))
    else:  # detailS
        sigma = float(kind[len("detail"):] or 1)
        fill = biharmonic_fill(units * readable, readable)
        values = np.stack([unit_rms_detail(unit - smooth(filled, sigma), seen)[0]
                           for unit, filled, seen in zip(units, fill, readable, strict=True)])
    return (values * readable).astype(np.float32)


def run(args):
    from skimage.restoration import inpaint_biharmonic

    from csc import ConvolutionalDictionary
    from restoration import load_dictionaries, restore
    from restoration.metrics import protocol_psnr
    from restoration.pipeline import learning_planes

    seed = args.seed
    images, masks, units, lows, highs = protocol_set(args.set, seed, args.images)
    readable = np.stack([learning_planes(unit, mask, random_state=seed)[0][1]
                         for unit, mask in zip(units, masks, strict=True)])
    values = learning_input(args.input, images, units, readable)
    initial = None
    if args.warm:  # the first bundled dictionary, zero-padded or cropped to --size, centred
        first = load_dictionaries(None)[0]
        grow = args.size - first.shape[-1]
        side = (grow // 2, grow - grow // 2)
        cut = slice(-grow // 2, -grow // 2 + args.size)
        initial = np.pad(first, ((0, 0), side, side)) if grow >= 0 else first[:, cut, cut]

    def learn(part):
        return ConvolutionalDictionary(
            n_filters=args.n if initial is None else len(initial), filter_size=args.size,
            sparsity_weight=args.lam, max_iter=args.its, coding_iter=args.inner,
            dictionary_iter=args.inner, optimizer=args.opt, initial_filters=initial,
            random_state=seed).fit(values[part], readable[part]).filters_

    start = time.perf_counter()
    learned = None if args.per_image else learn(slice(None))
    learn_seconds = None if args.per_image else time.perf_counter() - start
    scores, chosen = [], []
    for index, (image, mask, unit, low, high) in enumerate(zip(images, masks, units, lows, highs,
                                                              strict=True)):
        filters = learn(slice(index, index + 1)) if args.per_image else learned
        candidates = [*load_dictionaries(None), filters] if args.with_bundled else filters
        result = restore(unit, mask, dictionary=candidates, random_state=seed)
        scores.append(protocol_psnr(image, result.image * (high - low) + low))
        chosen.append(result.candidate)
    fills = [protocol_psnr(image, inpaint_biharmonic(np.where(mask, image, 0), ~mask))
             for image, mask in zip(images, masks, strict=True)]
    return dict(name=args.name, args={key: value for key, value in vars(args).items()
                                      if key not in ("out", "report")},
                psnr=float(np.mean(scores)), gain=float(np.mean(scores) - np.mean(fills)),
                chosen=chosen, learn_s=learn_seconds, total_s=time.perf_counter() - start)


def report(lines):
    rows = ["| run | set, seed, images | input | filters | lambda | iterations | start | "
            "learned from | gain over biharmonic (dB) | learning s |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for line in lines:
        a = line["args"]
        learn = "-" if line["learn_s"] is None else f"{line['learn_s']:.0f}"
        rows.append(f"| {line['name']} | {a['set']}, {a['seed']}, {a['images']} | {a['input']} | "
                    f"{a['n'] if not a['warm'] else 'bundled #0'} x {a['size']}x{a['size']} | "
                    f"{a['lam']} | {a['its']} x ({a['inner']} + {a['inner']}) {a['opt']} | "
                    f"{'warm' if a['warm'] else 'random'} | "
                    f"{'each image alone' if a['per_image'] else 'the set'} | "
                    f"{line['gain']:+.2f} | {learn} |")
    return "\n".join(rows) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", help="the run's name in the report")
    parser.add_argument("--out", required=True, help="JSON lines to append to (or the report)")
    parser.add_argument("--report", metavar="JSONL", help="write the table of these runs")
    parser.add_argument("--set", default="fruit", choices=("fruit", "city"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", type=int, default=10, help="the first N images of the set")
    parser.add_argument("--input", default="lcn")
    parser.add_argument("--size", type=int, default=8)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--lam", type=float, default=0.8)
    parser.add_argument("--its", type=int, default=60)
    parser.add_argument("--inner", type=int, default=10)
    parser.add_argument("--opt", default="admm", choices=("admm", "cogd"))
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--per-image", action="store_true")
    parser.add_argument("--with-bundled", action="store_true")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report) as handle:
            lines = [json.loads(line) for line in handle if line.strip()]
        with open(args.out, "w") as handle:
            handle.write(report(lines))
        return
    if not args.name:
        parser.error("give the run a name")
    line = run(args)
    print(json.dumps(line), flush=True)
    with open(args.out, "a") as handle:
        handle.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
