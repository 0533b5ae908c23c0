"""RVSCGD on the one-hidden-layer binarized teacher-student model (paper Fig. 4 setting).

k = 20 patches, d = 50, beta = 4e-3, lambda = 1e-4, eta = 1e-5, l0 penalty, sparse teacher
(half of the entries of w* are zero). Runs

1. the paper's setting exactly as stated (eta = 1e-5);
2. the same lambda, beta with a faster, disclosed step size (--fast-eta) for l0, l1 and
   transformed-l1 (a = 1);
3. the same with a smaller lambda (--small-lambda), for the three penalties.

Writes ``rvscgd_toy.png`` (loss, angle to the teacher and sparsity per iteration, seed 0)
and ``rvscgd_toy.md`` (final values, mean ± std over seeds) to --out.

Usage::

    python examples/rvscgd_toy.py --seeds 0 1 2 --out benchmarks/results
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from nets.rvscgd_toy import rvscgd_toy


def sparse_teacher(n_features, generator):
    """Unit teacher with n_features // 2 zeros; non-zeros are ±U(0.5, 1.5) before scaling."""
    teacher = torch.zeros(n_features)
    support = torch.randperm(n_features, generator=generator)[: n_features - n_features // 2]
    signs = torch.where(torch.rand(support.numel(), generator=generator) < 0.5, -1.0, 1.0)
    teacher[support] = signs * (0.5 + torch.rand(support.numel(), generator=generator))
    return teacher / teacher.norm()


def support_f1(estimate, truth):
    predicted, actual = estimate != 0, truth != 0
    true_positive = int((predicted & actual).sum())
    denominator = int(predicted.sum()) + int(actual.sum())
    return 2.0 * true_positive / denominator if denominator else 1.0


def configurations(args):
    paper = dict(sparsity_weight=args.lam, coupling=args.beta)
    configs = [(f"paper: l0, eta={args.eta:g}",
                dict(paper, penalty="l0", step_size=args.eta, max_iter=args.paper_iter))]
    for lam, tag in ((args.lam, "paper lambda"), (args.small_lambda, f"lambda={args.small_lambda:g}")):
        for penalty in ("l0", "l1", "transformed_l1"):
            configs.append((f"{tag}: {penalty}, eta={args.fast_eta:g}",
                            dict(sparsity_weight=lam, coupling=args.beta, penalty=penalty,
                                 step_size=args.fast_eta, max_iter=args.fast_iter)))
    return configs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--patches", type=int, default=20, help="k")
    parser.add_argument("--features", type=int, default=50, help="d")
    parser.add_argument("--beta", type=float, default=4e-3)
    parser.add_argument("--lam", type=float, default=1e-4)
    parser.add_argument("--eta", type=float, default=1e-5, help="the paper's step size")
    parser.add_argument("--paper-iter", type=int, default=10000)
    parser.add_argument("--fast-eta", type=float, default=1.0)
    parser.add_argument("--fast-iter", type=int, default=2000)
    parser.add_argument("--small-lambda", type=float, default=1e-5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--record-every", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows, curves = [], {}
    for seed in args.seeds:
        for name, config in configurations(args):
            generator = torch.Generator().manual_seed(seed)
            teacher = sparse_teacher(args.features, generator)
            initial = torch.randn(args.features, generator=generator)
            start = time.perf_counter()
            result = rvscgd_toy(teacher, n_patches=args.patches, batch_size=args.batch_size,
                                initial_weight=initial, record_every=args.record_every,
                                generator=generator, **config)
            row = dict(config=name, seed=seed, angle_u=result.angle_sparse[-1],
                       angle_w=result.angle_dense[-1], angle_start=result.angle_dense[0],
                       sparsity=result.sparsity[-1],
                       teacher_sparsity=float((teacher == 0).float().mean()),
                       f1=support_f1(result.sparse_weight, teacher), loss=result.loss[-1],
                       seconds=time.perf_counter() - start)
            rows.append(row)
            print(json.dumps(row), flush=True)
            if seed == args.seeds[0]:
                curves[name] = result
    lines = ["| configuration | angle(u, w*) final (rad) | angle(w, w*) final | angle at start "
             "| sparsity of u | support F1 | iterations |", "|---|---|---|---|---|---|---|"]
    for name, config in configurations(args):
        sel = [r for r in rows if r["config"] == name]

        def stat(key, sel=sel):
            values = [r[key] for r in sel]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.fmean(values):.3f} ± {spread:.3f}"

        lines.append(f"| {name} | {stat('angle_u')} | {stat('angle_w')} | {stat('angle_start')} "
                     f"| {stat('sparsity')} | {stat('f1')} | {config['max_iter']} |")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rvscgd_toy.md").write_text(text + "\n")
    (args.out / "rvscgd_toy.json").write_text(json.dumps(dict(argv=sys.argv, rows=rows),
                                                          indent=1))
    plot(curves, args.out / "rvscgd_toy.png")
    return 0


def plot(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for row, keep in enumerate((lambda n: "paper:" in n or "paper lambda" in n,
                                lambda n: "paper:" in n or "lambda=" in n)):
        for name, result in curves.items():
            if not keep(name):
                continue
            style = "--" if "paper:" in name else "-"
            axes[row, 0].semilogy(result.iterations, result.loss, style, label=name)
            axes[row, 1].plot(result.iterations, result.angle_sparse, style, label=name)
            axes[row, 2].plot(result.iterations, result.sparsity, style, label=name)
        axes[row, 0].set_ylabel("population loss of u")
        axes[row, 1].set_ylabel("angle(u, w*) (rad)")
        axes[row, 2].set_ylabel("sparsity of u")
        for ax in axes[row]:
            ax.set_xlabel("iteration")
            ax.set_xscale("symlog", linthresh=10)
        axes[row, 1].legend(fontsize=7)
    fig.suptitle("RVSCGD toy (k=20, d=50, beta=4e-3), seed 0; dashed: the paper's eta=1e-5")
    fig.tight_layout()
    fig.savefig(path, dpi=70)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
