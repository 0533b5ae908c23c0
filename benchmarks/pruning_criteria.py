"""CoGD soft masks against Torch-Pruning's importance criteria, at equal MACs, on digits.

The digits protocol of ``examples/prune_digits.py`` (imported from there: data, dense teacher,
mask training, slimming, cut, BN recalibration, fine-tuning), on ResNet-20 and MobileNetV2
(width 0.35) with each architecture's settings of ``benchmarks/results/pruning.md``. For each
seed and architecture, every method is cut by :func:`nets.prune` to the same multiply-adds,
``(1 - budget) x`` the dense model's, and fine-tuned with the same budget (``--finetune-epochs``
epochs, SGD, cosine, cross-entropy; the same batch order for every method of a seed):

- Torch-Pruning's criteria on the dense teacher, with Torch-Pruning's defaults (group mean,
  ``normalizer="mean"``; LAMP's own normalizer): magnitude L1 and L2
  (``MagnitudeImportance(p=1)``, ``(p=2)``), BN scale (``BNScaleImportance()``), first-order
  Taylor (``TaylorImportance()``, gradients of the mean cross-entropy on the calibration images),
  Hessian (``HessianImportance()``, Optimal Brain Damage with the diagonal Hessian approximated by
  the mean squared per-image gradient, the empirical Fisher, as Torch-Pruning documents it; the
  squared gradients are averaged here because Torch-Pruning 1.6's ``accumulate_grad`` keeps only
  the last image's), LAMP (``LAMPImportance()``) and random (``RandomImportance()``). Taylor and
  Hessian use the first ``--calibration`` training images, in eval mode. Each is applied
  one-shot (one cut) and iteratively (``--steps`` cuts to ``1 - budget * k / steps`` of the dense
  MACs, the criterion re-evaluated on the cut model after each, BN statistics recalibrated in
  between, no training in between: Torch-Pruning's iterative pruning with its linear schedule, as
  its ``benchmarks/benchmark_importance_criteria.py`` runs it), then fine-tuned;
- CoGD soft masks (masks + revival), the same without CoGD (ablation) and BN-scale slimming,
  trained as ``prune_digits.py`` trains them, then cut; and both mask methods again with the
  masks before the activation (``--mask-placement before_activation``, the placement of
  earlier versions), for the placement's effect on both architectures and budgets.

Shared per seed and architecture: the dense teacher (trained once, as ``prune_digits.py``
trains it, so it is the teacher of ``pruning.md``), the slimming training (its schedule does not
depend on the budget) and, where the mask schedule does not depend on the budget either
(MobileNetV2: five mask epochs, no target control), the two mask trainings; on ResNet-20 the
target control extends mask training until the zero masks reach the budget, so the masks are
trained once per budget. The mask trainings start from a generator seeded with the seed (CoGD
and its ablation see the same batches); every fine-tuning from one seeded with ``1000 + seed``.

Results go to one JSON file per seed and architecture in ``--out``, written after every cell
(a rerun skips the cells already there); ``--report`` turns them into the Markdown tables of
``benchmarks/results/pruning_criteria.md``.

Run ``python benchmarks/pruning_criteria.py --out /tmp/criteria`` (both architectures, seeds
0-4, two worker processes with one torch thread each; hours on two cores: the measured time is
in ``benchmarks/results/pruning_criteria.md``) and
``python benchmarks/pruning_criteria.py --report /tmp/criteria``.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch_pruning as tp
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import prune_digits as digits  # noqa: E402
from seed_statistics import environment, mean_spread, paired_difference  # noqa: E402

from nets import measure_cost, prune, recalibrate_bn  # noqa: E402

# each architecture's options of prune_digits.py, as in benchmarks/results/pruning.md
PROTOCOLS = {
    "resnet20": [],
    "mobilenetv2": ["--lr", "0.05", "--epochs", "20", "--sparsity-weight", "0.005",
                    "--mask-lr-factor", "30", "--max-extra-epochs", "0"],
}
FULL_SEEDS = 5  # seeds of the protocol: a difference is starred only with all of them
CRITERIA = {
    "l1": ("magnitude L1", lambda: tp.importance.MagnitudeImportance(p=1)),
    "l2": ("magnitude L2", lambda: tp.importance.MagnitudeImportance(p=2)),
    "bn_scale": ("BN scale", tp.importance.BNScaleImportance),
    "taylor": ("Taylor", tp.importance.TaylorImportance),
    "hessian": ("Hessian (empirical Fisher)", tp.importance.HessianImportance),
    "lamp": ("LAMP", tp.importance.LAMPImportance),
    "random": ("random", tp.importance.RandomImportance),
}
# key: (method of prune_digits.py, mask placement, label)
MASK_METHODS = {
    "cogd": ("cogd", "after_activation", "CoGD (masks + revival)"),
    "no_cogd": ("no_cogd", "after_activation", "masks without CoGD (ablation)"),
    "slimming": ("slimming", None, "BN-scale slimming"),
    "cogd_before": ("cogd", "before_activation", "CoGD, masks before the activation"),
    "no_cogd_before": ("no_cogd", "before_activation", "no CoGD, masks before the activation"),
}


def calibrate(model, criterion, images, labels):
    """Fill ``.grad`` as ``criterion`` reads it: the gradient of the mean cross-entropy
    (Taylor) or the mean squared per-image gradient (Hessian), in eval mode."""
    model.eval()
    model.zero_grad()
    if criterion == "taylor":
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        return
    squares = {p: torch.zeros_like(p) for p in model.parameters() if p.requires_grad}
    for image, label in zip(images, labels, strict=True):
        model.zero_grad()
        torch.nn.functional.cross_entropy(model(image[None]), label[None]).backward()
        for p, total in squares.items():
            if p.grad is not None:
                total.add_(p.grad.square())
    for p, total in squares.items():
        p.grad = total / len(images)


def criterion_cut(teacher, criterion, steps, budget, dense_macs, train, args):
    """The teacher cut to ``(1 - budget) x dense_macs`` in ``steps`` cuts by ``criterion``."""
    model = copy.deepcopy(teacher)
    images, labels = train[0][:args.calibration], train[1][:args.calibration]
    for step in range(1, steps + 1):
        if criterion in ("taylor", "hessian"):
            calibrate(model, criterion, images, labels)
        target = math.floor((1 - budget * step / steps) * dense_macs)
        model = prune(model, digits.EXAMPLE_INPUT, importance=CRITERIA[criterion][1](),
                      target_macs=target).model
        model.zero_grad(set_to_none=True)
        recalibrate_bn(model, train[0])
    return model


def criterion_cell(teacher, criterion, steps, budget, dense_macs, data, args, seed):
    train, test = data
    torch.manual_seed(seed)
    start = time.perf_counter()
    pruned = criterion_cut(teacher, criterion, steps, budget, dense_macs, train, args)
    cut_seconds = time.perf_counter() - start
    before = digits.accuracy(pruned, test)
    start = time.perf_counter()
    digits.train_classifier(pruned, train, lr=args.prune_lr, epochs=args.finetune_epochs,
                            batch_size=args.batch_size,
                            generator=torch.Generator().manual_seed(1000 + seed))
    cost = measure_cost(pruned)
    return {"macs": cost.macs, "params": cost.parameters, "pruned_acc": before,
            "finetuned_acc": digits.accuracy(pruned, test),
            "seconds": {"train": 0.0, "cut": cut_seconds,
                        "finetune": time.perf_counter() - start}}


def mask_cell(student, record, train_seconds, method, budget, dense_macs, data, args, seed):
    train, test = data
    torch.manual_seed(seed)
    args = argparse.Namespace(**{**vars(args), "target_reduction": budget,
                                 "slimming_macs": None})
    start = time.perf_counter()
    _, entry = digits.cut_and_finetune(copy.deepcopy(student), MASK_METHODS[method][0], train,
                                       test, args, torch.Generator().manual_seed(1000 + seed),
                                       dense_macs)
    return {**entry, **record, "seconds": {"train": train_seconds,
                                           "cut_and_finetune": time.perf_counter() - start}}


def run_job(job):
    """All cells of one architecture and seed; returns the path of its JSON file."""
    arch, seed, options = job
    torch.set_num_threads(1)
    args = digits.build_parser().parse_args(["--arch", arch, "--seed", str(seed)]
                                            + PROTOCOLS[arch])
    args.calibration, args.steps, args.budgets = options["calibration"], options["steps"], \
        options["budgets"]
    path = Path(options["out"]) / f"{arch}_seed{seed}.json"
    result = json.loads(path.read_text()) if path.exists() else {
        "arch": arch, "seed": seed, "args": vars(args), "cells": {}}
    log = open(path.with_suffix(".log"), "a")

    def save(key, entry):
        result["cells"][key] = entry
        result["machine"], result["load_average"] = environment(), os.getloadavg()
        path.with_suffix(".tmp").write_text(json.dumps(result, indent=1))
        path.with_suffix(".tmp").replace(path)  # never half written
        print(f"{arch} seed {seed} {key}: acc after FT {entry['finetuned_acc']:.2f}, "
              f"MACs {entry['macs']}, load {os.getloadavg()[0]:.1f}", file=log, flush=True)

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    data = digits.load_data()
    train = data[0]
    teacher_path = path.with_name(f"{arch}_seed{seed}_teacher.pt")
    teacher = digits.ARCHITECTURES[arch]()
    if teacher_path.exists():
        teacher.load_state_dict(torch.load(teacher_path))
    else:
        start = time.perf_counter()
        digits.train_classifier(teacher, train, lr=args.lr, epochs=args.epochs,
                                batch_size=args.batch_size, generator=generator)
        result["dense_seconds"] = time.perf_counter() - start
        torch.save(teacher.state_dict(), teacher_path)
    dense = measure_cost(teacher)
    result["dense"] = {"acc": digits.accuracy(teacher, data[1]), "macs": dense.macs,
                       "params": dense.parameters}
    teacher_out = digits.teacher_outputs(teacher, train[0])
    students = {}  # (method, budget or None if shared) -> (student, record, seconds)
    for budget in args.budgets:
        for criterion in CRITERIA:
            for steps in (1, args.steps):
                key = f"{budget}/{criterion}/{'one-shot' if steps == 1 else 'iterative'}"
                if key not in result["cells"]:
                    save(key, criterion_cell(teacher, criterion, steps, budget, dense.macs,
                                             data, args, seed))
        for method in MASK_METHODS:
            key = f"{budget}/{method}"
            if key in result["cells"]:
                continue
            shared = method == "slimming" or args.max_extra_epochs == 0
            training = (method, None if shared else budget)
            if training not in students:
                torch.manual_seed(seed)
                start = time.perf_counter()
                name, placement, _ = MASK_METHODS[method]
                run_args = argparse.Namespace(**{**vars(args), "target_reduction": budget,
                                                 "mask_placement": placement})
                student, record = digits.train_method(
                    name, teacher, teacher_out, train, run_args,
                    torch.Generator().manual_seed(seed), dense.macs)
                students[training] = (student, record, time.perf_counter() - start)
            save(key, mask_cell(*students[training], method, budget, dense.macs, data, args,
                                seed))
    log.close()
    return str(path)


def report(folder):
    """Markdown tables (one per architecture and budget) of the JSON files in ``folder``."""
    runs = {}
    for path in sorted(Path(folder).glob("*_seed*.json")):
        run = json.loads(path.read_text())
        runs.setdefault(run["arch"], []).append(run)
    lines = []
    for arch, all_runs in runs.items():
        all_runs.sort(key=lambda r: r["seed"])
        budgets = sorted({float(key.split("/")[0]) for r in all_runs for key in r["cells"]})
        for budget in budgets:  # over the seeds that ran every cell of this budget
            rows = [(f"{budget}/{c}/{s}", f"{label}, {s}") for c, (label, _) in CRITERIA.items()
                    for s in ("one-shot", "iterative")]
            rows += [(f"{budget}/{m}", label) for m, (_, _, label) in MASK_METHODS.items()]
            ran = {r["seed"]: sum(key in r["cells"] for key, _ in rows) for r in all_runs}
            arch_runs = [r for r in all_runs if ran[r["seed"]] == len(rows)]
            seeds = [r["seed"] for r in arch_runs]
            dense = [r["dense"]["acc"] for r in arch_runs]
            partial = [f"seed {seed} ({n} of {len(rows)} cells)" for seed, n in ran.items()
                       if 0 < n < len(rows)]
            if not arch_runs:
                lines += [f"### {arch}, {100 * budget:.0f} % fewer MACs: no seed complete; "
                          f"ran {', '.join(partial)}", ""]
                continue
            lines += [f"### {arch}, {100 * budget:.0f} % fewer MACs (seeds "
                      f"{', '.join(map(str, seeds))})", "",
                      *([f"Not shown: the cells that ran of {', '.join(partial)}.", ""]
                        if partial else []),
                      *([f"With {len(seeds)} seeds, ± 2 s.e. understates the uncertainty "
                         "(and no difference is starred): read these rows as a first look.", ""]
                        if len(seeds) < FULL_SEEDS else []),
                      f"Dense: {mean_spread(dense)} % ({arch_runs[0]['dense']['macs'] / 1e6:.2f} "
                      f"MMACs); per seed {' / '.join(f'{a:.2f}' for a in dense)}.", "",
                      "| method | MMACs | acc before FT (%) | acc after FT (%) | after FT, per "
                      "seed | − CoGD (points) | − dense (points) | time (s) |",
                      "|---|---|---|---|---|---|---|---|"]
            cogd = _values(arch_runs, f"{budget}/cogd", "finetuned_acc")
            for key, label in rows:  # every seed of arch_runs ran every row
                after = _values(arch_runs, key, "finetuned_acc")
                cells = [r["cells"][key] for r in arch_runs]
                versus_cogd = "-" if key.endswith("/cogd") else _paired(after, cogd)
                lines.append(
                    f"| {label} | {mean_spread(c['macs'] / 1e6 for c in cells)} | "
                    f"{mean_spread(c['pruned_acc'] for c in cells)} | {mean_spread(after)} | "
                    f"{' / '.join(f'{a:.2f}' for a in after)} | {versus_cogd} | "
                    f"{_paired(after, dense)} | "
                    f"{statistics.fmean(sum(c['seconds'].values()) for c in cells):.0f} |")
            lines += ["", "Mask placement, paired per seed (after − before the activation, "
                      "accuracy after fine-tuning):", ""]
            for method in ("cogd", "no_cogd"):
                after = _values(arch_runs, f"{budget}/{method}", "finetuned_acc")
                before = _values(arch_runs, f"{budget}/{method}_before", "finetuned_acc")
                per_seed = " / ".join(f"{a - b:+.2f}" for a, b in zip(after, before, strict=True))
                lines.append(f"- {MASK_METHODS[method][2]}: {_paired(after, before)} (per "
                             f"seed {per_seed})")
            lines.append("")
    lines += ["\"− CoGD\", \"− dense\": mean of the per-seed differences of the accuracy after "
              "fine-tuning ± 2 standard errors; * where |mean| > 2 s.e. (beyond the seed noise). "
              "Time: the method's own seconds per seed (its mask or slimming training, the "
              "scoring and cuts, the fine-tuning; not the shared dense training), mean over seeds.",
              "", f"Machine: {next(iter(runs.values()))[0]['machine']}."]
    return "\n".join(lines)


def _values(runs, key, field):
    return [r["cells"][key][field] for r in runs]


def _paired(first, second):
    summary = paired_difference(first, second)
    star = " *" if summary["exceeds"] and len(first) >= FULL_SEEDS else ""
    return f"{summary['mean']:+.2f} ± {summary['half_width']:.2f}{star}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="folder of the JSON files (created; reruns resume)")
    parser.add_argument("--archs", nargs="+", choices=sorted(PROTOCOLS),
                        default=["resnet20", "mobilenetv2"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--budgets", nargs="+", type=float, default=[0.45, 0.65],
                        help="fractions of the dense MACs removed")
    parser.add_argument("--steps", type=int, default=5, help="cuts of the iterative schedule")
    parser.add_argument("--calibration", type=int, default=128,
                        help="training images for the Taylor and Hessian criteria")
    parser.add_argument("--workers", type=int, default=2, help="processes (1 thread each)")
    parser.add_argument("--report", help="print the Markdown tables of this folder's results")
    args = parser.parse_args(argv)
    if args.report:
        print(report(args.report))
        return 0
    if args.out is None:
        parser.error("give --out (or --report)")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    options = {"out": args.out, "budgets": args.budgets, "steps": args.steps,
               "calibration": args.calibration}
    # seed by seed (a run cut short leaves whole seeds of both architectures), the longer
    # MobileNetV2 job first
    jobs = [(arch, seed, options) for seed in args.seeds
            for arch in sorted(args.archs, key="resnet20".__eq__)]
    with multiprocessing.get_context("spawn").Pool(args.workers) as pool:
        for path in tqdm(pool.imap_unordered(run_job, jobs), total=len(jobs), desc="jobs"):
            tqdm.write(f"done: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
