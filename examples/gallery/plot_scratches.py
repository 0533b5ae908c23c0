"""
Scratches and blocks given as a mask
====================================

Missing pixels need not be random: here a photo is damaged by thin scratches and a few small
blocks, drawn as a mask (``True`` where a pixel is observed, as everywhere in this project). The
command line takes the same mask as an image file: ``cogd inpaint photo.png --mask mask.png -o
out.png`` (white = observed).
"""

import matplotlib.pyplot as plt
import numpy as np
from skimage import data, draw
from skimage.restoration import inpaint_biharmonic

from restoration import restore
from restoration.metrics import psnr, psnr_missing

image = data.camera()[64:320, 128:384] / 255.0
observed = np.ones(image.shape, bool)
rng = np.random.default_rng(3)
for _ in range(12):  # scratches, 2 pixels wide
    r0, c0, r1, c1 = rng.integers(0, 256, 4)
    rows, cols = draw.line(r0, c0, r1, c1)
    for shift in (0, 1):
        observed[np.clip(rows + shift, 0, 255), cols] = False
for _ in range(4):  # blocks of 6x6 pixels
    r, c = rng.integers(0, 250, 2)
    observed[r:r + 6, c:c + 6] = False
corrupted = np.where(observed, image, 1.0)

result = restore(corrupted, observed)
biharmonic = inpaint_biharmonic(corrupted, ~observed)
print(f"{(~observed).mean():.1%} of the pixels missing")
for name, restored in (("restore", result.image), ("biharmonic", biharmonic)):
    print(f"{name}: PSNR {psnr(image, restored):.2f} dB, on the missing pixels "
          f"{psnr_missing(image, restored, observed):.2f} dB")
print("chosen:", result.selections[0])

# %%

fig, axes = plt.subplots(1, 4, figsize=(14, 4), layout="constrained")
panels = [("damaged", corrupted), ("mask (white = observed)", observed),
          (f"restore, missing pixels {psnr_missing(image, result.image, observed):.2f} dB",
           result.image),
          (f"biharmonic, missing pixels {psnr_missing(image, biharmonic, observed):.2f} dB",
           biharmonic)]
for axis, (title, panel) in zip(axes, panels, strict=True):
    axis.imshow(panel, cmap="gray", vmin=0, vmax=1)
    axis.set_title(title, fontsize=10)
    axis.set_axis_off()
plt.show()
