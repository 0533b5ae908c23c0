"""BN training with CoGD vs plain SGD: a CIFAR ResNet-20 on scikit-learn's digits.

Both runs use the same SGD (momentum 0.9, weight decay 5e-4, cosine schedule) from the same
initialisation and batch order; the CoGD run wraps it in ``nets.CoGD(rule="backtrack")`` over every
``(BN gamma, conv feeding that BN)`` pair and calls ``couple()`` at the end of every epoch: channels
whose ``|gamma_c|`` is low (<= median) while ``sum ||W[c]||_1`` is high (>= median) go back to
their epoch-start values. Digits (8x8, bundled with scikit-learn) are upsampled bilinearly to
``--size`` pixels (16 by default, to keep the run short on a CPU) and repeated to 3 channels.

Run ``python examples/bn_training.py --seeds 0 1 2``; it prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from nets import CoGD, conv_bn_pairs, resnet20


def load_data(size):
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = nn.functional.interpolate(images, size=(size, size), mode="bilinear",
                                       align_corners=False).repeat(1, 3, 1, 1)
    labels = torch.tensor(digits.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=0.25,
                                           stratify=digits.target, random_state=0)
    mean, std = images[train_idx].mean(), images[train_idx].std()
    images = (images - mean) / std
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])


@torch.no_grad()
def evaluate(model, data):
    model.eval()
    images, labels = data
    logits = model(images)
    return (100.0 * float((logits.argmax(1) == labels).float().mean()),
            float(nn.functional.cross_entropy(logits, labels)))


def train(train_data, test_data, *, seed, use_cogd, args):
    torch.manual_seed(seed)
    model = resnet20()
    base = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=5e-4)
    optimizer = CoGD(base, conv_bn_pairs(model), rule="backtrack") if use_cogd else base
    n = len(train_data[1])
    steps = -(-n // args.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(base, T_max=args.epochs * steps)
    generator = torch.Generator().manual_seed(seed)
    history, backtracked = [], 0
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, args.batch_size):
            index = order[start:start + args.batch_size]
            loss = nn.functional.cross_entropy(model(train_data[0][index]), train_data[1][index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        if use_cogd:
            backtracked += optimizer.couple().total_flagged
        history.append(evaluate(model, test_data))
    return history, backtracked


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    train_data, test_data = load_data(args.size)
    results = {"SGD": [], "CoGD(SGD)": []}
    start = time.time()
    for seed in args.seeds:
        for name in results:
            history, backtracked = train(train_data, test_data, seed=seed,
                                         use_cogd=name != "SGD", args=args)
            results[name].append((history, backtracked))
            print(f"seed {seed} {name}: test acc per epoch "
                  f"{[round(a, 2) for a, _ in history]}, channels backtracked {backtracked} "
                  f"({time.time() - start:.0f}s)", flush=True)

    def fmt(values):
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.2f} ± {spread:.2f}"

    print(f"\nSeeds {args.seeds}, ResNet-20 on digits at {args.size}x{args.size}, "
          f"{args.epochs} epochs, mean ± sample std.\n")
    print("| optimizer | final test acc (%) | best-epoch test acc (%) | final test loss | "
          "channels backtracked (total) |")
    print("|---|---|---|---|---|")
    for name, runs in results.items():
        print(f"| {name} | {fmt([h[-1][0] for h, _ in runs])} | "
              f"{fmt([max(a for a, _ in h) for h, _ in runs])} | "
              f"{fmt([h[-1][1] for h, _ in runs])} | {fmt([b for _, b in runs])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
