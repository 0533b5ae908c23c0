"""
Learning a dictionary: ADMM and CoGD
====================================

:class:`csc.ConvolutionalDictionary` learns convolutional filters from images by alternating a
dictionary step and a sparse-coding step (both ADMM). With ``optimizer="cogd"`` the CoGD
coupling rule runs after every dictionary step: it looks for filters whose codes collapsed while
the filter itself still moved, and backtracks the pair. Here both learn 36 filters of 8x8 from
six of the fruit images of the papers' protocol (gray, contrast-normalised), from the same
initial filters; the objective ``1/2 ||b - D x||^2 + lambda ||x||_1`` is recorded after every outer
iteration, with the fraction of non-zero codes.
"""

import matplotlib.pyplot as plt
import numpy as np

from csc import ConvolutionalDictionary
from restoration.datasets import load_image_set
from restoration.preprocess import local_contrast_normalize, rgb_to_gray

images = local_contrast_normalize(rgb_to_gray(load_image_set("fruit")[:6])).astype(np.float32)
models = {}
for optimizer in ("admm", "cogd"):
    models[optimizer] = ConvolutionalDictionary(36, 8, sparsity_weight=1.0, optimizer=optimizer,
                                                max_iter=8, random_state=0).fit(images)
    history = models[optimizer].history_
    print(f"{optimizer}: objective {history['objective'][-1]:.1f}, nnz {history['nnz'][-1]:.4f}, "
          f"{history['seconds'][-1]:.1f} s, CoGD backtracks {sum(history['backtracked'])}")

# %%
# The objective per outer iteration (it never increases: a worse iterate is rejected).

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for optimizer, model in models.items():
    iterations = np.arange(1, len(model.history_["objective"]))  # entry 0: the initial filters
    left.plot(iterations, model.history_["objective"][1:], "o-", markersize=3, label=optimizer)
    right.plot(iterations, model.history_["nnz"][1:], "o-", markersize=3, label=optimizer)
left.set(xlabel="outer iteration", ylabel="objective", yscale="log", title="objective")
right.set(xlabel="outer iteration", ylabel="fraction of non-zero codes", title="sparsity")
left.legend()
plt.show()

# %%
# The filters learned with CoGD, strongest codes first.

filters = models["cogd"].filters_
order = np.argsort(-np.abs(models["cogd"].codes_).sum(axis=(0, 2, 3)))
fig, axes = plt.subplots(4, 9, figsize=(9, 4.2), layout="constrained")
for axis, index in zip(axes.flat, order, strict=True):
    axis.imshow(filters[index], cmap="gray")
    axis.set_axis_off()
plt.show()
