"""
What the restoration chose, and why
===================================

:func:`restoration.restore` does not apply one fixed setting: for every image it hides 15 % of
the observed pixels of four 64x64 regions, predicts them with each candidate (two bundled
dictionaries, two smoothing widths) and with the biharmonic fill alone, and keeps the best
predictor. ``Restoration.selections`` holds the choice and the hold-out error of every
candidate, so the decision can be checked. Three images choose three ways: a regular texture
(``brick``) the second dictionary with light smoothing, a photo (``camera``) the first
dictionary with more smoothing, and a smooth image (a blurred crop of ``moon``) the biharmonic
fill alone: there, no sparse detail is added.
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data, filters

from restoration import restore
from restoration.selection import BIHARMONIC

images = {"brick": data.brick()[:192, :192] / 255.0,
          "camera": data.camera()[:192, :192] / 255.0,
          "blurred moon": filters.gaussian(data.moon()[160:352, 160:352] / 255.0, sigma=2)}
fig, axes = plt.subplots(3, 1, figsize=(8, 9), layout="constrained")
for axis, (name, image) in zip(axes, images.items(), strict=True):
    observed = np.random.default_rng(4).random(image.shape) >= 0.5
    result = restore(image * observed, observed)
    selection = result.selections[0]
    print(f"{name}: dictionary {selection.dictionary}, smoothing {selection.smoothing}, "
          f"sparsity weight {selection.sparsity_weight} (hold-out of "
          f"{selection.n_hidden} pixels)")
    labels, errors = [], []
    for candidate, error in selection.errors.items():
        labels.append("fill alone" if candidate == BIHARMONIC else
                      f"D#{candidate[0]}, σ {candidate[1]}, λ {candidate[2]}")
        errors.append(error)
    chosen = int(np.argmin(errors))
    colours = ["tab:orange" if i == chosen else "tab:blue" for i in range(len(errors))]
    axis.barh(labels, errors, color=colours)
    axis.set(title=f"{name}: hold-out error per candidate (orange: chosen)",
             xlabel="mean squared error on the hidden pixels")
    axis.set_xlim(0.95 * min(errors), 1.02 * max(errors))
plt.show()
