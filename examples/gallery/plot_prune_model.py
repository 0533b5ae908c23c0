"""
Pruning a model: accuracy against multiply-adds
================================================

:func:`nets.prune` removes whole channels of any model through Torch-Pruning's dependency graph
until a multiply-add budget is met, choosing the channels by an importance: here the BatchNorm
scales ``|gamma|`` (network slimming, the default) and the L1 norm of the weights (Torch-Pruning's
``MagnitudeImportance``). A small CNN is trained on scikit-learn's digits, pruned to several
budgets, and fine-tuned for one epoch; the plot shows the test accuracy against the measured
multiply-adds (:func:`nets.measure_cost`) before and after fine-tuning.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch_pruning as tp
from sklearn.datasets import load_digits

import nets

torch.set_num_threads(1)  # a model this small runs fastest on one thread
torch.manual_seed(0)
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]  # (1797, 1, 8, 8)
labels = torch.tensor(digits.target)
order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
train, test = order[:1400], order[1400:]


def fit(model, epochs, lr=0.05):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    for _ in range(epochs):
        for batch in train[torch.randperm(len(train))].split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
    return model


def accuracy(model):
    model.eval()
    with torch.no_grad():
        return float((model(images[test]).argmax(1) == labels[test]).float().mean())


dense = fit(nets.SmallCNN(batch_norm=True), epochs=6)
example = torch.zeros(1, 1, 8, 8)
dense_macs = nets.measure_cost(dense, example).macs
print(f"dense: {accuracy(dense):.3f} accuracy, {dense_macs} multiply-adds")

importances = {"BN scale |gamma|": None,  # nets.prune's default for a model without masks
               "L1 of the weights": tp.importance.MagnitudeImportance(p=1)}
ratios = [0.3, 0.6, 0.85]
results = {name: [] for name in importances}
for name, importance in importances.items():
    for ratio in ratios:
        pruned = nets.prune(dense, example, ratio=ratio, importance=importance)
        before = accuracy(pruned.model)
        after = accuracy(fit(pruned.model, epochs=1, lr=0.01))
        results[name].append((pruned.cost.macs, before, after))
        print(f"{name}, {ratio:.0%} fewer MACs requested: {pruned.cost.macs} multiply-adds, "
              f"accuracy {before:.3f} -> {after:.3f} after one epoch")

# %%

fig, axis = plt.subplots(figsize=(7, 4.2), layout="constrained")
for (name, rows), colour in zip(results.items(), ("tab:blue", "tab:orange"), strict=True):
    macs, before, after = (np.array(column) for column in zip(*rows, strict=True))
    axis.plot(macs / 1e3, before, "o--", color=colour, alpha=0.5, label=f"{name}, pruned")
    axis.plot(macs / 1e3, after, "o-", color=colour, label=f"{name}, fine-tuned 1 epoch")
axis.axhline(accuracy(dense), color="gray", linestyle=":", label="dense")
axis.set(xlabel="thousand multiply-adds per image", ylabel="test accuracy",
         title="SmallCNN on digits, pruned by nets.prune")
axis.legend(fontsize=8)
plt.show()
