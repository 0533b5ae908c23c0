"""
Colour photos
=============

A colour photo whose three channels lose the same pixels is coded once, on its luminance: the
coded detail replaces the luminance detail of the biharmonic fill, and the fill's colour is
kept, so colour costs about what gray does. Channels with masks of their own are coded one after
the other (pass a mask with the colour axis).
"""

import time

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from skimage.restoration import inpaint_biharmonic

from restoration import restore
from restoration.metrics import psnr

image = data.astronaut()[20:276, 100:356] / 255.0  # (256, 256, 3) in [0, 1]
observed = np.random.default_rng(2).random(image.shape[:2]) >= 0.5  # one mask for R, G, B
corrupted = image * observed[..., None]

start = time.perf_counter()
ours = restore(corrupted, observed, channel_axis=-1)
print(f"restore: PSNR {psnr(image, ours.image):.2f} dB, objective {ours.objective:.1f}, "
      f"nnz {ours.nnz:.4f}, {time.perf_counter() - start:.1f} s, "
      f"{len(ours.selections)} coded plane (the luminance)")
biharmonic = inpaint_biharmonic(corrupted, ~observed, channel_axis=-1)
print(f"biharmonic: PSNR {psnr(image, biharmonic):.2f} dB")

# %%

zoom = (slice(60, 140), slice(120, 200))
fig, axes = plt.subplots(2, 4, figsize=(13, 6.8), layout="constrained")
panels = [("original", image), ("observed (50 %)", corrupted),
          (f"restore {psnr(image, ours.image):.2f} dB", ours.image),
          (f"biharmonic {psnr(image, biharmonic):.2f} dB", biharmonic)]
for (title, panel), top, bottom in zip(panels, axes[0], axes[1], strict=True):
    top.imshow(np.clip(panel, 0, 1))
    top.set_title(title)
    bottom.imshow(np.clip(panel[zoom], 0, 1), interpolation="nearest")
    top.set_axis_off()
    bottom.set_axis_off()
plt.show()
