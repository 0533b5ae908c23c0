"""Channel pruning on scikit-learn's digits through ``nets.prune``: CoGD vs no CoGD vs BN slimming.

Digits (8x8, bundled with scikit-learn, no download) are upsampled bilinearly to 32x32 and repeated
to 3 channels so that the 32x32 networks apply: ResNet-20 (``--arch resnet20``, the CIFAR
architecture of the papers), ResNet-56, or a MobileNetV2 at width 0.35 (``--arch mobilenetv2``:
depthwise convolutions and inverted residuals, where the channels of a depthwise conv, its input
conv and their BatchNorms form one group, and the projections of a stage are coupled by the
residual additions). Everything goes through the dependency-graph path of ``nets``, so the same
code serves any model. For one seed the script:

1. trains the dense model (the teacher);
2. copies it with a soft mask on every prunable channel group (``nets.insert_soft_masks``:
   behind the activation after each BatchNorm of a group, in front of the layer reading it;
   on ResNet-20 after each block's ``relu(bn1(.))``, where SPEC 4 puts it;
   ``--mask-placement before_activation``: on the BatchNorm's output, before its activation,
   as earlier versions did) and trains weights (SGD) and masks
   (``SoftMaskFISTA``, l1, lr_m = ``--mask-lr-factor`` x lr, SPEC: 100, clamp >= 0) with
   cross-entropy + distillation from the teacher, the CoGD revival rule once per epoch
   (``nets.CoGD(rule="revival")`` on the pairs of ``soft_mask_pairs``; not after the last epoch);
3. the same without CoGD (ablation);
4. network slimming: l1 on the scales of the same BatchNorms;
5. cuts every method to the same budget, ``(1 - --target-reduction) x`` the dense multiply-adds,
   with ``nets.prune(..., target_macs=...)``: the channels with the smallest mask (exactly-zero
   masks first) or ``|gamma|`` go first, so the methods are compared at equal cost whatever
   number of masks training left at exactly 0 (that number, "the zero-mask rule", is reported
   beside); the remaining masks are folded into their layers (``fold_soft_masks``); measures how
   much the removal changed the logits (0 when only zero masks go), fine-tunes each pruned model
   with the same budget, and times dense vs pruned inference on the CPU.

Multiply-adds are measured with ``torch.utils.flop_counter`` (FLOPs / 2, conv + linear) on a
1x3x32x32 input. Results go to a JSON file; ``--report`` turns several JSON files into the Markdown
table of ``benchmarks/results/pruning.md``.

Run ``python examples/prune_digits.py --seed 0 --json out0.json`` (one seed, a few minutes on one
CPU core) and ``python examples/prune_digits.py --report out*.json``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import statistics
import time

import numpy as np
import torch
from seed_statistics import environment, mean_spread, paired_rows
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import nets
from nets import (
    CoGD,
    SoftMask,
    SoftMaskFISTA,
    fold_soft_masks,
    insert_soft_masks,
    measure_cost,
    prune,
    recalibrate_bn,
    soft_mask_pairs,
)
from nets.distillation import LogitDiscriminator, adversarial_losses, distillation_loss
from nets.pruning.graph import BATCH_NORMS, dependency_graph, prunable_groups

ARCHITECTURES = {"resnet20": nets.resnet20, "resnet56": nets.resnet56,
                 "mobilenetv2": functools.partial(nets.MobileNetV2, width_mult=0.35)}
EXAMPLE_INPUT = torch.zeros(1, 3, 32, 32)  # the graph is traced and the MACs measured on it


def load_data(split_seed=0):
    """Digits as float32 tensors (n, 3, 32, 32), standardised; a fixed stratified 75/25 split."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = nn.functional.interpolate(images, size=(32, 32), mode="bilinear",
                                       align_corners=False).repeat(1, 3, 1, 1)
    labels = torch.tensor(digits.target, dtype=torch.long)
    train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=0.25,
                                           stratify=digits.target, random_state=split_seed)
    train_idx, test_idx = torch.tensor(train_idx), torch.tensor(test_idx)
    mean, std = images[train_idx].mean(), images[train_idx].std()
    images = (images - mean) / std
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])


def batches(data, batch_size, generator):
    images, labels = data
    order = torch.randperm(len(labels), generator=generator)
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        yield index, images[index], labels[index]


@torch.no_grad()
def accuracy(model, data):
    model.eval()
    images, labels = data
    correct = sum(int((model(images[i:i + 500]).argmax(1) == labels[i:i + 500]).sum())
                  for i in range(0, len(labels), 500))
    return 100.0 * correct / len(labels)


def cosine(optimizer, epochs, steps):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps)


def train_classifier(model, train, *, lr, epochs, batch_size, generator):
    """Cross-entropy training with SGD (momentum 0.9, wd 5e-4) and a cosine schedule."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    steps = -(-len(train[1]) // batch_size)
    scheduler = cosine(optimizer, epochs, steps)
    for _ in range(epochs):
        model.train()
        for _, x, y in batches(train, batch_size, generator):
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model


@torch.no_grad()
def teacher_outputs(teacher, images):
    """Pooled features and logits of the (eval-mode) teacher for every training image.

    There is no augmentation, so the teacher's outputs are computed once instead of per batch.
    """
    teacher.eval()
    features = torch.cat([teacher.features(images[i:i + 500]) for i in range(0, len(images), 500)])
    return features, teacher.fc(features)


def student_loss(student, teacher_out, index, x, y, args):
    features = student.features(x)
    logits = student.fc(features)
    loss = nn.functional.cross_entropy(logits, y)
    if args.distill:
        loss = loss + distillation_loss(logits, teacher_out[1][index],
                                        student_features=features,
                                        teacher_features=teacher_out[0][index])
    return loss, logits


def zero_mask_macs(student):
    """Multiply-adds of the model obtained by removing the channels whose mask is exactly 0."""
    return prune(student, EXAMPLE_INPUT).cost.macs


def masked_batchnorms(model):
    """Names of the BatchNorms of the prunable groups, whose channels :func:`insert_soft_masks`
    masks (in the order of ``model.named_modules()``)."""
    groups = prunable_groups(dependency_graph(model, EXAMPLE_INPUT))
    held = {item.dep.target.module for group in groups for item in group
            if isinstance(item.dep.target.module, BATCH_NORMS)}
    return [name for name, m in model.named_modules() if m in held]


def train_masks(teacher, teacher_out, train, args, generator, *, use_cogd, dense_macs):
    """Soft-mask training (SPEC 4); returns the masked student and a record of the schedule.

    ``args.prune_epochs`` epochs at l1 weight ``args.sparsity_weight``; CoGD's revival after every
    epoch but the last. With ``args.target_reduction`` the schedule is extended: while the model
    obtained by removing the exactly-zero masks has more than ``(1 - target) x dense`` multiply-adds
    after an epoch, the l1 weight is multiplied by ``args.l1_ramp`` and one more epoch is trained
    (at most ``args.max_extra_epochs``). The revival step still runs after every epoch but the
    last one, and the last epoch is the first one (from ``args.prune_epochs`` on) whose zero-mask
    plan meets the target, so the target is checked on the masks that are actually removed.
    """
    student = insert_soft_masks(teacher, EXAMPLE_INPUT, placement=args.mask_placement)
    masks = [m.weight for m in student.modules() if isinstance(m, SoftMask)]
    mask_ids = {id(m) for m in masks}
    weights = [p for p in student.parameters() if id(p) not in mask_ids]
    weight_optimizer = torch.optim.SGD(weights, lr=args.prune_lr, momentum=0.9, weight_decay=5e-4)
    mask_optimizer = SoftMaskFISTA(masks, lr=args.mask_lr_factor * args.prune_lr,
                                   sparsity_weight=args.sparsity_weight)
    cogd = CoGD(mask_optimizer, soft_mask_pairs(student, EXAMPLE_INPUT), rule="revival",
                coupling_quantiles=(0.5, args.quantile)) if use_cogd else None
    discriminator = d_optimizer = None
    if args.gal:
        discriminator = LogitDiscriminator(10)
        d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    target = None
    if args.target_reduction is not None:
        target = (1.0 - args.target_reduction) * dense_macs
    max_epochs = args.prune_epochs + (args.max_extra_epochs if target is not None else 0)
    record = {"revived_units": 0, "zero_mask_fraction_per_epoch": [],
              "zero_mask_macs_per_epoch": [], "sparsity_weight_per_epoch": [],
              "mask_epochs": 0, "target_met": target is None}
    for epoch in range(max_epochs):
        student.train()
        for index, x, y in batches(train, args.batch_size, generator):
            loss, logits = student_loss(student, teacher_out, index, x, y, args)
            if discriminator is not None:
                # the discriminator steps first; the student's loss uses the updated one (its
                # graph would otherwise hold the weights the step changed in place)
                _, d_loss = adversarial_losses(discriminator, logits, teacher_out[1][index])
                d_optimizer.zero_grad()
                d_loss.backward()
                d_optimizer.step()
                g_loss, _ = adversarial_losses(discriminator, logits, teacher_out[1][index])
                loss = loss + args.gal_weight * g_loss
            weight_optimizer.zero_grad()
            mask_optimizer.zero_grad()
            loss.backward()
            weight_optimizer.step()
            (cogd or mask_optimizer).step()
        macs = zero_mask_macs(student)
        record["mask_epochs"] = epoch + 1
        record["zero_mask_fraction_per_epoch"].append(
            float(sum(int((m == 0).sum()) for m in masks) / sum(m.numel() for m in masks)))
        record["zero_mask_macs_per_epoch"].append(macs)
        record["sparsity_weight_per_epoch"].append(mask_optimizer.param_groups[0]["sparsity_weight"])
        if epoch + 1 >= args.prune_epochs:
            record["target_met"] = target is None or macs <= target
            if record["target_met"] or epoch + 1 == max_epochs:
                break
            for group in mask_optimizer.param_groups:
                group["sparsity_weight"] *= args.l1_ramp
        if cogd is not None:
            record["revived_units"] += cogd.couple().total_flagged
    return student, record


def train_slimming(teacher, teacher_out, train, args, generator):
    """Network slimming: l1 subgradient on the scales of the BatchNorms the mask methods mask."""
    student = copy.deepcopy(teacher)
    modules = dict(student.named_modules())
    gammas = [modules[name].weight for name in masked_batchnorms(teacher)]
    optimizer = torch.optim.SGD(student.parameters(), lr=args.prune_lr, momentum=0.9,
                                weight_decay=5e-4)
    for _ in range(args.prune_epochs):
        student.train()
        for index, x, y in batches(train, args.batch_size, generator):
            loss, _ = student_loss(student, teacher_out, index, x, y, args)
            optimizer.zero_grad()
            loss.backward()
            with torch.no_grad():
                for gamma in gammas:
                    gamma.grad.add_(args.slimming_weight * torch.sign(gamma))
            optimizer.step()
    return student


@torch.no_grad()
def speedup(dense, pruned, *, batch_size=256, repeats=7):
    """Median batch time of dense and pruned models (eval, no grad), measured interleaved."""
    dense.eval()
    pruned.eval()
    x = torch.randn(batch_size, 3, 32, 32)
    dense(x)
    pruned(x)
    times = {"dense": [], "pruned": []}
    for _ in range(repeats):
        for name, model in (("dense", dense), ("pruned", pruned)):
            start = time.perf_counter()
            model(x)
            times[name].append(time.perf_counter() - start)
    dense_t, pruned_t = statistics.median(times["dense"]), statistics.median(times["pruned"])
    return {"dense_ms": 1e3 * dense_t, "pruned_ms": 1e3 * pruned_t, "speedup": dense_t / pruned_t}


def cut(student, method, args, dense_macs):
    """The pruned model that is fine-tuned, and the exactly-zero-mask removal reported beside it.

    With ``args.target_reduction`` every method is cut to the same budget, ``(1 - target) x
    dense`` multiply-adds, by :func:`nets.prune` (lowest scores first: the masks for the mask
    methods, so exactly-zero masks go first, ``|gamma|`` for slimming). Without a target the
    mask methods remove exactly their zero masks and slimming is cut to ``args.slimming_macs``.
    Remaining masks are folded into their layers.
    """
    zero = None if method == "slimming" else prune(student, EXAMPLE_INPUT)
    budget = args.slimming_macs if method == "slimming" else None
    if args.target_reduction is not None:
        budget = (1.0 - args.target_reduction) * dense_macs
    result = zero if budget is None else prune(student, EXAMPLE_INPUT, target_macs=int(budget))
    return fold_soft_masks(result.model), result.plan, zero


def train_method(method, teacher, teacher_out, train, args, generator, dense_macs):
    """The student of ``method`` ("cogd", "no_cogd" or "slimming") and its training record."""
    if method == "slimming":
        student = train_slimming(teacher, teacher_out, train, args, generator)
        return student, {"revived_units": 0, "zero_mask_fraction_per_epoch": [], "mask_epochs": 0}
    return train_masks(teacher, teacher_out, train, args, generator, use_cogd=method == "cogd",
                       dense_macs=dense_macs)


def cut_and_finetune(student, method, train, test, args, generator, dense_macs):
    """Cut a trained student as :func:`cut` does, then fine-tune it; returns the pruned model and
    the record of the accuracies (before and after BN recalibration and fine-tuning), cost and
    removal error."""
    masked_acc_no_recal = accuracy(student, test)
    if args.bn_recalibrate and method != "slimming":
        recalibrate_bn(student, train[0])
    masked_acc = accuracy(student, test)
    pruned, plan, zero = cut(student, method, args, dense_macs)
    with torch.no_grad():
        student.eval()
        pruned.eval()
        probe = test[0][:200]
        removal_error = float((student(probe) - pruned(probe)).abs().max())
    cost = measure_cost(pruned)
    # before fine-tuning, without BN recalibration: for the mask methods this is the masked
    # model's accuracy before its recalibration
    pruned_acc_no_recal = (accuracy(pruned, test) if method == "slimming"
                           else masked_acc_no_recal)
    if args.bn_recalibrate:
        recalibrate_bn(pruned, train[0])
    pruned_acc = accuracy(pruned, test)
    train_classifier(pruned, train, lr=args.prune_lr, epochs=args.finetune_epochs,
                     batch_size=args.batch_size, generator=generator)
    entry = {"masked_acc": masked_acc, "masked_acc_no_recal": masked_acc_no_recal,
             "pruned_acc": pruned_acc, "pruned_acc_no_recal": pruned_acc_no_recal,
             "finetuned_acc": accuracy(pruned, test), "macs": cost.macs,
             "params": cost.parameters, "removal_max_abs_logit_change": removal_error,
             "kept_channels": plan.n_kept}
    if zero is not None:  # exact removal: the zero-mask model is the masked model
        entry["zero_mask_macs"] = zero.cost.macs
    return pruned, entry


def run(args):
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train, test = load_data()
    start = time.time()
    teacher = train_classifier(ARCHITECTURES[args.arch](), train, lr=args.lr,
                               epochs=args.epochs, batch_size=args.batch_size,
                               generator=generator)
    teacher_out = teacher_outputs(teacher, train[0])
    dense_cost = measure_cost(teacher)
    result = {"seed": args.seed, "arch": args.arch, "args": vars(args),
              "dense": {"acc": accuracy(teacher, test), "macs": dense_cost.macs,
                        "params": dense_cost.parameters}}
    print(f"seed {args.seed} dense acc {result['dense']['acc']:.2f} "
          f"({time.time() - start:.0f}s)", flush=True)
    args.slimming_macs = None
    for method in ("cogd", "no_cogd", "slimming"):
        student, record = train_method(method, teacher, teacher_out, train, args, generator,
                                       dense_cost.macs)
        pruned, entry = cut_and_finetune(student, method, train, test, args, generator,
                                         dense_cost.macs)
        if method == "cogd":
            args.slimming_macs = entry["macs"]
        entry = {**entry, **record, "timing": speedup(teacher, pruned)}
        result[method] = entry
        print(f"seed {args.seed} {method}: MACs {entry['macs'] / 1e6:.2f}M "
              f"({100 * (1 - entry['macs'] / dense_cost.macs):.1f}% fewer) after "
              f"{record['mask_epochs']} epochs, acc masked {entry['masked_acc']:.2f} pruned "
              f"{entry['pruned_acc']:.2f} (no BN recal {entry['pruned_acc_no_recal']:.2f}) "
              f"fine-tuned {entry['finetuned_acc']:.2f}, removal error "
              f"{entry['removal_max_abs_logit_change']:.2e}, speed-up "
              f"{entry['timing']['speedup']:.2f}x ({time.time() - start:.0f}s)", flush=True)
    result["machine"] = environment()
    result["seconds"] = time.time() - start
    return result


def reduction(run, method):
    """Percentage of the dense multiply-adds removed by ``method`` in one seed's run."""
    return 100 * (1 - run[method]["macs"] / run["dense"]["macs"])


def report(paths, figure=None):
    runs = [json.load(open(path)) for path in paths]
    seeds = ", ".join(str(r["seed"]) for r in runs)
    dense_macs = runs[0]["dense"]["macs"]
    lines = [f"Seeds: {seeds} (mean ± sample std over {len(runs)} seeds; arch "
             f"{runs[0]['arch']}).", "",
             "| model | MMACs | FLOPs reduction (%) | zero-mask rule: reduction (%) | params | "
             "mask epochs | acc before FT, BN recal. (%) | acc before FT, no recal. (%) | "
             "acc after FT (%) | CPU speed-up (batch 256) |",
             "|---|---|---|---|---|---|---|---|---|---|",
             f"| dense | {dense_macs / 1e6:.2f} | 0 | - | {runs[0]['dense']['params']} | - | - | "
             f"- | {mean_spread([r['dense']['acc'] for r in runs])} | 1.00 |"]
    names = {"cogd": "CoGD (masks + revival)", "no_cogd": "masks without CoGD (ablation)",
             "slimming": "BN-scale slimming"}
    for method, label in names.items():
        entries = [r[method] for r in runs]
        zero = ("-" if method == "slimming" else mean_spread(
            100 * (1 - e["zero_mask_macs"] / r["dense"]["macs"]) for e, r in zip(entries, runs, strict=True)))
        epochs = ("-" if method == "slimming" else
                  "/".join(str(e.get("mask_epochs", "?")) for e in entries))
        no_recal = [e.get("pruned_acc_no_recal") for e in entries]
        lines.append(
            f"| {label} | {mean_spread(e['macs'] / 1e6 for e in entries)} | "
            f"{mean_spread(reduction(r, method) for r in runs)} | {zero} | "
            f"{statistics.fmean(e['params'] for e in entries):.0f} | {epochs} | "
            f"{mean_spread(e['pruned_acc'] for e in entries)} | "
            f"{'-' if None in no_recal else mean_spread(no_recal)} | "
            f"{mean_spread(e['finetuned_acc'] for e in entries)} | "
            f"{mean_spread(e['timing']['speedup'] for e in entries)} |")
    lines += ["", "Per seed (dense acc; then method: FLOPs reduction % (zero-mask rule %) / acc "
              "after FT / max |logit change| at removal / CoGD revivals / final l1 weight / "
              "zero-mask target met):", ""]
    for r in runs:
        parts = [f"seed {r['seed']}: dense {r['dense']['acc']:.2f}"]
        for method in names:
            e = r[method]
            weights = e.get("sparsity_weight_per_epoch") or [None]
            weight = "-" if weights[-1] is None else f"{weights[-1]:.3g}"
            zero = ("" if "zero_mask_macs" not in e else
                    f" ({100 * (1 - e['zero_mask_macs'] / r['dense']['macs']):.1f})")
            parts.append(f"{method} {reduction(r, method):.1f}{zero} / {e['finetuned_acc']:.2f} / "
                         f"{e['removal_max_abs_logit_change']:.1e} / {e['revived_units']} / "
                         f"{weight} / {({True: 'yes', False: 'no'}).get(e.get('target_met'), '-')}")
        lines.append("- " + "; ".join(parts) + f" ({r['seconds']:.0f} s)")
    after = {m: [r[m]["finetuned_acc"] for r in runs] for m in names}
    after["dense"] = [r["dense"]["acc"] for r in runs]
    lines += ["", "Paired differences of the accuracy after fine-tuning (same seed: same dense "
              "teacher, same batch order); \"exceeds the noise\" means |mean| > 2 standard "
              "errors of the per-seed differences:", ""]
    lines += paired_rows({"CoGD − dense": (after["cogd"], after["dense"]),
                          "CoGD − no-CoGD": (after["cogd"], after["no_cogd"]),
                          "CoGD − slimming": (after["cogd"], after["slimming"]),
                          "no-CoGD − dense": (after["no_cogd"], after["dense"]),
                          "slimming − dense": (after["slimming"], after["dense"])})
    lines += ["", f"Machine: {runs[0]['machine']}."]
    print("\n".join(lines))
    if figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4.5, 3), dpi=100)
        for method, style in (("cogd", "-o"), ("no_cogd", "--s")):
            for index, r in enumerate(runs):
                macs = r[method]["zero_mask_macs_per_epoch"]
                ax.plot(range(1, len(macs) + 1),
                        [100 * (1 - m / r["dense"]["macs"]) for m in macs], style,
                        color="C0" if method == "cogd" else "C1", alpha=0.7,
                        label=names[method] if index == 0 else None)
        target = runs[0]["args"].get("target_reduction")
        if target is not None:
            ax.axhline(100 * target, color="gray", lw=0.8, ls=":", label="target")
        ax.set_xlabel("mask-training epoch")
        ax.set_ylabel("MACs removed by zero masks (%)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(figure)


def build_parser():
    """The command line of this script (also how ``benchmarks/pruning_criteria.py`` sets the
    protocol's options)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="resnet20")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10,
                        help="dense (teacher) training epochs (5 left ResNet-20's seed 4 at 86 %% "
                             "test accuracy; MobileNetV2: 20)")
    parser.add_argument("--mask-placement", choices=("after_activation", "before_activation"),
                        default="after_activation",
                        help="where insert_soft_masks puts the masks (before_activation: the "
                             "placement of earlier versions)")
    parser.add_argument("--prune-epochs", type=int, default=5)
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1,
                        help="dense training learning rate (MobileNetV2: 0.05)")
    parser.add_argument("--prune-lr", type=float, default=0.01)
    parser.add_argument("--sparsity-weight", type=float, default=0.02,
                        help="initial l1 weight of the masks (MobileNetV2: 0.005, see "
                             "benchmarks/results/pruning.md)")
    parser.add_argument("--mask-lr-factor", type=float, default=100.0,
                        help="mask learning rate = this x --prune-lr (SPEC: 100; MobileNetV2: "
                             "30)")
    parser.add_argument("--target-reduction", type=float, default=0.45,
                        help="extend mask training, ramping the l1 weight, until removing the "
                             "exactly-zero masks removes at least this fraction of the dense "
                             "MACs, then cut every method to exactly this fraction (lowest "
                             "masks / BN scales first); negative: off (fixed schedule, zero "
                             "masks removed, slimming cut to CoGD's MACs)")
    parser.add_argument("--l1-ramp", type=float, default=1.5,
                        help="factor on the l1 weight per extra epoch (with --target-reduction)")
    parser.add_argument("--max-extra-epochs", type=int, default=6,
                        help="at most this many mask epochs beyond --prune-epochs")
    parser.add_argument("--bn-recalibrate", action=argparse.BooleanOptionalAction, default=True,
                        help="recompute BN running statistics on the training images (one "
                             "no-grad pass, train mode) before evaluating masked/pruned models")
    parser.add_argument("--slimming-weight", type=float, default=1e-3)
    parser.add_argument("--quantile", type=float, default=0.5,
                        help="CoGD revival threshold: the partner quantile, the second of "
                             "CoGD's coupling_quantiles")
    parser.add_argument("--distill", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--gal", action="store_true", help="add GAL's adversarial loss")
    parser.add_argument("--gal-weight", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", help="write the results of this seed here")
    parser.add_argument("--report", nargs="+", help="summarise JSON files as a Markdown table")
    parser.add_argument("--figure", help="with --report: plot the zero-mask fraction per epoch")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.report:
        report(args.report, args.figure)
        return 0
    if args.target_reduction is not None and args.target_reduction < 0:
        args.target_reduction = None
    torch.set_num_threads(args.threads)
    result = run(args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
