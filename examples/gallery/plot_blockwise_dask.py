"""
A large image, block by block with Dask
=======================================

:func:`restoration.inpaint` accepts a ``dask.array.Array``: the image is restored in
overlapping blocks (``dask.array.map_overlap``, a margin of two filter widths and the fill's 32
pixels), with the settings chosen once on a central crop, and the result is a lazy dask array
that can be stored block by block (for example into a memory-mapped TIFF), so an image larger
than memory never needs to be loaded whole. Here a 384x384 crop of a photo in 192x192 blocks is
compared with the same crop restored in memory.
"""

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from skimage import data

from restoration import inpaint
from restoration.metrics import psnr

image = data.camera()[64:448, 64:448] / 255.0
observed = np.random.default_rng(5).random(image.shape) >= 0.5
lazy = inpaint(da.from_array(image * observed, chunks=192),
               da.from_array(observed, chunks=192))
print(lazy)  # nothing computed yet
with dask.config.set(scheduler="threads", num_workers=2):
    blocks = lazy.compute()
whole = inpaint(image * observed, observed)
print(f"block by block: PSNR {psnr(image, blocks):.2f} dB; in memory: {psnr(image, whole):.2f} dB;"
      f" largest difference {np.abs(blocks - whole).max():.3f}")

# %%
# The result and its difference from the in-memory restoration (block edges in orange).

fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
axes[0].imshow(blocks, cmap="gray", vmin=0, vmax=1)
axes[0].set_title(f"4 blocks of 192x192: {psnr(image, blocks):.2f} dB")
shown = axes[1].imshow(np.abs(blocks - whole), cmap="magma", vmin=0, vmax=0.05)
axes[1].set_title("|blocks - whole image|")
fig.colorbar(shown, ax=axes[1], shrink=0.8)
for axis in axes:
    axis.axhline(191.5, color="tab:orange", linewidth=0.8)
    axis.axvline(191.5, color="tab:orange", linewidth=0.8)
    axis.set_axis_off()
plt.show()
