"""Regenerate the bundled dictionaries that ``restoration.restore`` chooses from per image.

Learned by this project with :class:`csc.ConvolutionalDictionary` (36 filters 12x12) from crops
of scikit-image photos that no benchmark uses (chelsea, coffee, rocket, clock, retina,
immunohistochemistry, cell; camera, astronaut, coins, brick, grass, gravel, moon, text and
motorcycle are benchmark images and are held out). Each photo is converted to gray and resized to
0.35 and 0.5 of its size (anti-aliased, which removes compression and sensor noise that the
filters otherwise learn: at full size they come out noisy and restore worse), and two random
128x128 crops of its detail layer ``x - gaussian(x, 3)`` are taken at each size, each scaled to
unit RMS. The two dictionaries differ only in the sparsity weight of the learning:

- ``default_dictionary.npz`` (lambda 1): edge and line atoms of every scale;
- ``default_dictionary_sparse.npz`` (lambda 2.5): fewer, more regular atoms, better on smooth
  and periodic images (measured on held-out photos; see ``benchmarks/results``).

    python data/make_default_dictionary.py --variant default --out data/default_dictionary.npz
    python data/make_default_dictionary.py --variant sparse --out data/default_dictionary_sparse.npz
"""

import argparse
import os
import time

import numpy as np

TRAINING_IMAGES = ("chelsea", "coffee", "rocket", "clock", "retina", "immunohistochemistry",
                   "cell")
VARIANTS = {"default": 1.0, "sparse": 2.5}  # sparsity weight of the learning


def training_crops(size, per_image, sigma, scales, seed):
    """Unit-RMS detail layers ``x - gaussian(x, sigma)`` of random crops, ``(n, size, size)``."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    from csc.images import as_float
    from restoration.split import detail_layer

    rng = np.random.default_rng(seed)
    crops = []
    for name in TRAINING_IMAGES:
        image = getattr(skimage.data, name)()
        # the project's float policy in float64, as rgb2gray returns (in float32 the training
        # crops would move by up to 6e-6, and the committed dictionaries with them)
        image = rgb2gray(image) if image.ndim == 3 else as_float(image, integer_dtype=np.float64)
        for scale in scales:
            resized = rescale(image, scale, anti_aliasing=True)
            if min(resized.shape) < size:
                continue
            detail = detail_layer(resized, sigma)
            for _ in range(per_image):
                top = rng.integers(0, resized.shape[0] - size + 1)
                left = rng.integers(0, resized.shape[1] - size + 1)
                crops.append(detail[top:top + size, left:left + size])
    crops = np.stack(crops)
    return crops / np.sqrt(np.mean(crops**2, axis=(1, 2), keepdims=True))


def main(argv=None):
    from csc import ConvolutionalDictionary

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="default")
    parser.add_argument("--out", default=None,
                        help="default: data/default_dictionary.npz or, for the sparse variant, "
                             "data/default_dictionary_sparse.npz")
    parser.add_argument("--n-filters", type=int, default=36)
    parser.add_argument("--filter-size", type=int, default=12)
    parser.add_argument("--high-pass-sigma", type=float, default=3.0,
                        help="training layer x - gaussian(x, sigma)")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.35, 0.5],
                        help="resizings of the photos")
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--crops-per-image", type=int, default=2, help="per image and size")
    parser.add_argument("--max-iter", type=int, default=150, help="outer iterations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", help="resume from / save to this checkpoint (.npz)")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                   "default_dictionary" + ("" if args.variant == "default"
                                                           else "_" + args.variant) + ".npz")
    if os.path.exists(out) and not args.force:
        parser.error(f"{out} exists; pass --force to overwrite it")

    crops = training_crops(args.crop_size, args.crops_per_image, args.high_pass_sigma,
                           args.scales, args.seed)
    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=VARIANTS[args.variant],
        max_iter=args.max_iter, random_state=args.seed, checkpoint=args.checkpoint,
        progress=True)
    start = time.perf_counter()
    model.fit(crops.astype(np.float32))
    history = model.history_
    model.save(out)
    print(f"{len(crops)} crops {args.crop_size}x{args.crop_size}: objective "
          f"{history['objective'][-1]:.1f}, nnz {history['nnz'][-1]:.4f}, "
          f"{time.perf_counter() - start:.0f} s -> {out}")


if __name__ == "__main__":
    main()
