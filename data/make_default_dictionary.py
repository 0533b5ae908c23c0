"""Regenerate ``data/default_dictionary.npz``, the dictionary ``restoration.inpaint`` uses by default.

Learned by this project with :class:`csc.ConvolutionalDictionary` on the detail layer
(``image - gaussian(image, sigma)``, the layer ``inpaint`` codes) of crops of scikit-image sample
photos that are *not* used by the inpainting benchmark (camera, astronaut, coins, brick, grass,
gravel, moon and text are held out): chelsea, coffee, rocket, clock, hubble_deep_field,
immunohistochemistry, retina and page. Each crop's detail is scaled to unit RMS.

    python data/make_default_dictionary.py --out data/default_dictionary.npz
"""

import argparse
import os
import time

import numpy as np

TRAINING_IMAGES = ("chelsea", "coffee", "rocket", "clock", "hubble_deep_field",
                   "immunohistochemistry", "retina", "page")


def training_crops(size, per_image, sigma, seed):
    """Unit-RMS high-pass layers ``x - gaussian(x, sigma)`` of random crops, ``(n, size, size)``."""
    import skimage.data
    from skimage.color import rgb2gray

    from restoration.inpainting import detail_layer

    rng = np.random.default_rng(seed)
    crops = []
    for name in TRAINING_IMAGES:
        image = getattr(skimage.data, name)()
        image = rgb2gray(image) if image.ndim == 3 else image / 255.0
        detail = detail_layer(image, sigma)
        for _ in range(per_image):
            top = rng.integers(0, image.shape[0] - size + 1)
            left = rng.integers(0, image.shape[1] - size + 1)
            crops.append(detail[top:top + size, left:left + size])
    crops = np.stack(crops)
    return crops / np.sqrt(np.mean(crops**2, axis=(1, 2), keepdims=True))


def main(argv=None):
    from csc import ConvolutionalDictionary

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/default_dictionary.npz")
    parser.add_argument("--n-filters", type=int, default=64)
    parser.add_argument("--filter-size", type=int, default=8)
    parser.add_argument("--sparsity-weight", type=float, default=2.0)
    parser.add_argument("--high-pass-sigma", type=float, default=3.0,
                        help="training layer x - gaussian(x, sigma)")
    parser.add_argument("--crop-size", type=int, default=128)
    parser.add_argument("--crops-per-image", type=int, default=2)
    parser.add_argument("--max-iter", type=int, default=100, help="outer iterations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", help="resume from / save to this checkpoint (.npz)")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")

    crops = training_crops(args.crop_size, args.crops_per_image, args.high_pass_sigma, args.seed)
    model = ConvolutionalDictionary(
        args.n_filters, args.filter_size, sparsity_weight=args.sparsity_weight,
        max_iter=args.max_iter, random_state=args.seed, checkpoint=args.checkpoint,
        progress=True)
    start = time.perf_counter()
    model.fit(crops.astype(np.float32))
    history = model.history_
    model.save(args.out)
    print(f"{len(crops)} crops {args.crop_size}x{args.crop_size}: objective "
          f"{history['objective'][-1]:.1f}, nnz {history['nnz'][-1]:.4f}, "
          f"{time.perf_counter() - start:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
