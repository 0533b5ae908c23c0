"""
Sparse training with iRDA
=========================

:class:`nets.IRDA` (regularized dual averaging with an l1 term, then retraining with the zeros
held) trains a network whose weights are mostly exactly zero. A small CNN learns scikit-learn's
digits; the plot follows the test accuracy and the fraction of zero weights
(:func:`nets.sparsity`) epoch by epoch, with plain SGD beside it. The switch to the retraining
step is marked: from there on, zeros stay zero.
"""

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits

import nets
from nets.irda import irda_param_groups

torch.set_num_threads(1)  # a model this small runs fastest on one thread
torch.manual_seed(0)
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
labels = torch.tensor(digits.target)
order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
train, test = order[:1400], order[1400:]
epochs, batches_per_epoch = 10, 11  # batches of 128
switch = 7 * batches_per_epoch      # retraining from epoch 8 on


def accuracy(model):
    model.eval()
    with torch.no_grad():
        return float((model(images[test]).argmax(1) == labels[test]).float().mean())


def run(model, optimizer):
    history = {"accuracy": [], "sparsity": []}
    for _ in range(epochs):
        model.train()
        for batch in train[torch.randperm(len(train))].split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(images[batch]), labels[batch]).backward()
            optimizer.step()
        history["accuracy"].append(accuracy(model))
        history["sparsity"].append(nets.sparsity(model).sparsity)
    return history


sparse = nets.SmallCNN(batch_norm=True)
nets.irda_init_(sparse, scale=10.0, random_state=0)
irda = nets.IRDA(irda_param_groups(sparse, penalize="weights"), sparsity_weight=3e-3,
                 gamma=0.3, retrain_after=switch)
histories = {"iRDA": run(sparse, irda),
             "SGD": run(dense := nets.SmallCNN(batch_norm=True),
                        torch.optim.SGD(dense.parameters(), lr=0.1, momentum=0.9))}
for name, history in histories.items():
    print(f"{name}: accuracy {history['accuracy'][-1]:.3f}, "
          f"zero weights {history['sparsity'][-1]:.3f}")

# %%

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for name, history in histories.items():
    steps = range(1, epochs + 1)
    left.plot(steps, history["accuracy"], "o-", label=name)
    right.plot(steps, history["sparsity"], "o-", label=name)
for axis in (left, right):
    axis.axvline(switch / batches_per_epoch + 0.5, color="gray", linestyle=":",
                 label="iRDA: retraining")
    axis.set_xlabel("epoch")
left.set(ylabel="test accuracy", title="accuracy")
right.set(ylabel="fraction of zero parameters", title="sparsity")
right.legend()
plt.show()
