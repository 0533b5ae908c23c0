"""Sparse training of a small CNN on scikit-learn's bundled 8x8 digits.

Compares SGD (momentum), prox-SGD, sqrt(t)-prox-SGD and iRDA (ReLU network), then a
binarized-activation network trained densely and with relaxed variable splitting (RVS,
l0 penalty). Prints a Markdown table and writes it (and a JSON of every run) to --out (by
default a new temporary folder).

iRDA variants (``nets.IRDA``): ``irda`` restarts the dual average at the switch to step 2
(``retrain_mode="restart"``: centred at the step-1 weights, step size decaying from its last
step-1 value), so the iterate settles; ``irda_paper_step2`` continues it as Algorithm 1 of the
paper does (``retrain_mode="continue"``), whose iterate can still swing by tens of points of
training accuracy from epoch to epoch at the end (``--trace`` shows it), so its final accuracy
is a lottery over seeds and machines; ``irda_initial_center`` is Xiao's RDA centred at the
initial weights (for networks without BatchNorm). By default the l1 term and the zero centre
apply to the conv/linear kernels only (``--irda-penalize weights``); BatchNorm scales and shifts
and biases are dual-averaged from their initial values, so the first step does not reset the
BatchNorm scales to -g_1/gamma and the l1 term does not switch channels off through them.

Before the final evaluation every method re-estimates the BatchNorm running statistics on
the training images (``--no-recalibrate``: keep those from training; the table shows both).
The output has the summary table, the per-seed values, the paired differences against the
dense baseline of the same seed, and the machine and library versions.
``--perturb-init`` and ``--threads`` emulate another machine's floating-point divergence.

Usage::

    python examples/irda_digits.py --seeds 0 1 2 3 4 --out /tmp/irda_digits
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from seed_statistics import environment, mean_spread, paired_rows
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from nets import (
    IRDA,
    RVS,
    ProxSGD,
    SmallCNN,
    SqrtProxSGD,
    irda_init_,
    prunable_weights,
    recalibrate_bn,
    sparsity,
)
from nets.irda import irda_param_groups


def load_data():
    """Digits as float32 tensors (n, 1, 8, 8) in [0, 1]; fixed stratified 75/25 split."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    return (torch.from_numpy(x_train), torch.from_numpy(y_train).long(),
            torch.from_numpy(x_test), torch.from_numpy(y_test).long())


@torch.no_grad()
def accuracy(model, images, labels):
    model.eval()
    correct = (model(images).argmax(1) == labels).float().mean()
    model.train()
    return 100.0 * float(correct)


def train(model, optimizer, data, *, epochs, batch_size, seed, rvs=None, on_epoch=None,
          after_epoch=None):
    x_train, y_train = data[0], data[1]
    generator = torch.Generator().manual_seed(1000 + seed)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        if on_epoch is not None:
            on_epoch(epoch)
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            if rvs is not None:
                rvs.update_sparse()
            optimizer.zero_grad()
            loss_fn(model(x_train[index]), y_train[index]).backward()
            if rvs is not None:
                rvs.add_coupling_grad()
            optimizer.step()
        if after_epoch is not None:
            after_epoch(epoch)
    if rvs is not None:
        rvs.update_sparse()


def recalibrated_train_accuracy(model, data):
    """Training accuracy of a copy of ``model`` with BatchNorm statistics re-estimated."""
    copied = recalibrate_bn(copy.deepcopy(model), data[0])
    return accuracy(copied, data[0], data[1])


IRDA_VARIANTS = {  # method name -> IRDA options
    "irda": dict(center="zero", retrain_mode="restart"),
    "irda_paper_step2": dict(center="zero", retrain_mode="continue"),
    "irda_initial_center": dict(center="initial", retrain_mode="restart"),
}


@torch.no_grad()
def perturb_(model, size, seed):
    """Multiply every parameter by ``1 + size * N(0, 1)`` (another machine's last bits)."""
    generator = torch.Generator().manual_seed(10_000 + seed)
    for param in model.parameters():
        noise = torch.randn(param.shape, generator=generator, dtype=param.dtype)
        param.mul_(1 + size * noise)


def run_method(spec, data, *, seed, args):
    """Train one method; ``spec`` is a name or ``name:sparsity_weight``."""
    method, _, weight = spec.partition(":")
    torch.manual_seed(seed)  # default nn init of the model
    activation = "binarized" if method.startswith("binarized") else "relu"
    model = SmallCNN(activation=activation, batch_norm=not args.no_batch_norm)
    n_batches = -(-len(data[0]) // args.batch_size)
    rvs = None
    on_epoch = None
    if method in ("sgd", "binarized_sgd"):
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    elif method == "prox_sgd":
        optimizer = ProxSGD(model.parameters(), lr=args.prox_lr,
                            sparsity_weight=float(weight or args.prox_lambda))
    elif method == "sqrt_prox_sgd":
        optimizer = SqrtProxSGD(model.parameters(), lr=args.prox_lr,
                                sparsity_weight=float(weight or args.sqrt_lambda),
                                gamma=args.gamma)
    elif method in IRDA_VARIANTS:
        irda_init_(model, scale=args.init_scale, random_state=seed)
        retrain_after = int(args.retrain_fraction * args.epochs) * n_batches
        optimizer = IRDA(irda_param_groups(model, penalize=args.irda_penalize),
                         sparsity_weight=float(weight or args.irda_lambda),
                         gamma=args.gamma, retrain_after=retrain_after,
                         **IRDA_VARIANTS[method])
    elif method == "binarized_rvs":
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
        rvs = RVS(prunable_weights(model), penalty="l0",
                  sparsity_weight=float(weight or args.rvs_lambda), coupling=args.rvs_beta)
    else:
        raise ValueError(f"unknown method {spec!r}")
    if args.perturb_init:
        perturb_(model, args.perturb_init, seed)
    if "lr" in optimizer.defaults:  # lr / 10 after --decay-fraction of the epochs
        milestone = max(1, int(args.decay_fraction * args.epochs))

        def on_epoch(epoch):
            for group in optimizer.param_groups:
                group["lr"] = group["initial_lr"] * (0.1 if epoch >= milestone else 1.0)

        for group in optimizer.param_groups:
            group["initial_lr"] = group["lr"]
    trace = []
    after_epoch = None
    if args.trace:
        def after_epoch(epoch):
            trace.append(recalibrated_train_accuracy(model, data))

    start = time.perf_counter()
    train(model, optimizer, data, epochs=args.epochs, batch_size=args.batch_size, seed=seed,
          rvs=rvs, on_epoch=on_epoch, after_epoch=after_epoch)
    seconds = time.perf_counter() - start
    dense_test_acc = accuracy(model, data[2], data[3])
    if rvs is not None:
        rvs.apply_sparse_()  # inference uses the sparse u
    training_bn_test_acc = accuracy(model, data[2], data[3])
    if not args.no_recalibrate:
        recalibrate_bn(model, data[0])
    report = sparsity(model)
    return dict(method=spec, seed=seed, test_acc=accuracy(model, data[2], data[3]),
                dense_test_acc=dense_test_acc, training_bn_test_acc=training_bn_test_acc,
                train_acc=accuracy(model, data[0], data[1]), sparsity_all=report.sparsity,
                sparsity_weights=sparsity(model, weights_only=True).sparsity,
                n_params=report.n_params, zero_bn_scales=zero_bn_scales(model),
                train_acc_per_epoch=trace, seconds=seconds, digest=state_digest(model))


def zero_bn_scales(model):
    """Number of BatchNorm scales that are exactly 0 (channels switched off)."""
    return sum(int((m.weight == 0).sum()) for m in model.modules()
               if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine)


def state_digest(model):
    """SHA-256 of every parameter and buffer of ``model``: equal digests, bitwise equal runs."""
    digest = hashlib.sha256()
    for name, value in model.state_dict().items():
        digest.update(name.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def table(runs, methods):
    lines = ["| method | test acc. (%) | test acc., training BN stats (%) | sigma, all params "
             "| sigma, conv/linear weights | train acc. (%) | time / run (s) |",
             "|---|---|---|---|---|---|---|"]
    for method in methods:
        rows = [r for r in runs if r["method"] == method]
        lines.append("| " + " | ".join([
            method, mean_spread(r["test_acc"] for r in rows),
            mean_spread(r["training_bn_test_acc"] for r in rows),
            mean_spread(r["sparsity_all"] for r in rows),
            mean_spread(r["sparsity_weights"] for r in rows),
            mean_spread(r["train_acc"] for r in rows),
            f"{statistics.fmean(r['seconds'] for r in rows):.1f}"]) + " |")
    return lines


def per_seed(runs, methods):
    """One line per method: test accuracy and sparsity (all parameters) seed by seed."""
    lines = []
    for method in methods:
        rows = [r for r in runs if r["method"] == method]
        line = (f"- {method}: test acc. " + " / ".join(f"{r['test_acc']:.2f}" for r in rows)
                + " %; sigma " + " / ".join(f"{r['sparsity_all']:.3f}" for r in rows)
                + "; BN scales at 0: " + " / ".join(str(r["zero_bn_scales"]) for r in rows))
        if all(r["train_acc_per_epoch"] for r in rows):
            last = max(1, len(rows[0]["train_acc_per_epoch"]) // 3)
            line += (f"; train acc. over the last {last} epochs (BN re-estimated), min-max: "
                     + " / ".join(f"{min(r['train_acc_per_epoch'][-last:]):.1f}-"
                                  f"{max(r['train_acc_per_epoch'][-last:]):.1f}" for r in rows))
        lines.append(line)
    return lines


def paired(runs, methods):
    """Paired test-accuracy differences of each sparse method against its dense baseline."""
    def values(method):
        return [r["test_acc"] for r in runs if r["method"] == method]

    pairs = {}
    for method in methods:
        name = method.partition(":")[0]
        baseline = "binarized_sgd" if name.startswith("binarized") else "sgd"
        if method != baseline and baseline in methods:
            pairs[f"{method} − {baseline}"] = (values(method), values(baseline))
    if "irda" in methods and "irda_paper_step2" in methods:
        pairs["irda − irda_paper_step2"] = (values("irda"), values("irda_paper_step2"))
    return paired_rows(pairs) if pairs else []


def report(runs, methods):
    """The Markdown written to ``irda_digits.md``: summary, per seed, paired differences."""
    return "\n".join([
        *table(runs, methods), "", "Per seed:", "", *per_seed(runs, methods), "",
        "Paired differences of the test accuracy (same seed: same batch order; "
        "\"exceeds the noise\" means |mean| > 2 standard errors of the per-seed differences):",
        "", *paired(runs, methods), "", f"Machine: {environment()}."])


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new temporary folder)")
    parser.add_argument("--methods", nargs="+",
                        default=["sgd", "irda", "irda_paper_step2", "prox_sgd:1e-3",
                                 "prox_sgd:1e-2", "sqrt_prox_sgd:3e-7", "sqrt_prox_sgd:1e-5",
                                 "binarized_sgd", "binarized_rvs"],
                        help="names, optionally with ':sparsity_weight' (lambda); iRDA: "
                             + ", ".join(IRDA_VARIANTS))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--no-batch-norm", action="store_true",
                        help="SmallCNN without BatchNorm (zero-centred iRDA then fails)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD with momentum 0.9")
    parser.add_argument("--decay-fraction", type=float, default=0.67,
                        help="SGD-type methods: lr / 10 after this fraction of the epochs")
    parser.add_argument("--prox-lr", type=float, default=0.1, help="prox-SGD step size")
    parser.add_argument("--prox-lambda", type=float, default=1e-3)
    parser.add_argument("--sqrt-lambda", type=float, default=1e-5)
    parser.add_argument("--irda-lambda", type=float, default=3e-3)
    parser.add_argument("--gamma", type=float, default=0.3,
                        help="beta_t = gamma sqrt(t) for iRDA and sqrt(t)-prox-SGD")
    parser.add_argument("--init-scale", type=float, default=10.0, help="iRDA init scale s")
    parser.add_argument("--irda-penalize", choices=("all", "weights"), default="weights",
                        help="iRDA: l1 and w_0 = 0 on conv/linear kernels only (BN/bias: "
                             "lambda 0, centre at their initial values), or on all parameters "
                             "(the paper)")
    parser.add_argument("--retrain-fraction", type=float, default=0.67,
                        help="iRDA switches to step 2 after this fraction of the epochs")
    parser.add_argument("--rvs-lambda", type=float, default=5e-4)
    parser.add_argument("--rvs-beta", type=float, default=0.1)
    parser.add_argument("--no-recalibrate", action="store_true",
                        help="keep the BatchNorm running statistics collected during training "
                             "(default: every method re-estimates them on the training images, "
                             "one pass, no labels, before the final evaluation)")
    parser.add_argument("--perturb-init", type=float, default=0.0,
                        help="multiply every initial parameter by 1 + this x N(0, 1) (fixed "
                             "per seed): emulates the float divergence of another machine")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--trace", action="store_true",
                        help="after every epoch, measure the training accuracy of a copy with "
                             "re-estimated BatchNorm statistics (shows whether the iterate "
                             "settles; slower)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    data = load_data()
    runs = []
    for seed in args.seeds:
        for method in args.methods:
            result = run_method(method, data, seed=seed, args=args)
            runs.append(result)
            print(json.dumps(result), flush=True)
    text = report(runs, args.methods)
    print(text)
    out = Path(tempfile.mkdtemp(prefix="irda_digits-")) if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "irda_digits.md").write_text(text + "\n")
    meta = dict(argv=sys.argv, args={k: str(v) for k, v in vars(args).items()},
                environment=environment(), runs=runs)
    (out / "irda_digits.json").write_text(json.dumps(meta, indent=1))
    print(f"wrote irda_digits.md and irda_digits.json to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
