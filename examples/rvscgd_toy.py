"""RVSCGD on the one-hidden-layer binarized teacher-student model (paper Fig. 4 setting).

k = 20 patches, d = 50, beta = 4e-3, sparse teacher (half of the entries of w* are zero).
The default setting is one that reaches the teacher: lambda = 1e-5 (--lam) with the
disclosed step size eta = 1 (--eta), for l0, l1 and transformed-l1 (a = 1). The rows run

1. the default setting, for the three penalties;
2. the paper's lambda = 1e-4 (--paper-lam) with the default step size, for the three
   penalties (l1 reaches the teacher there too; l0 cannot: its threshold
   sqrt(2 lambda / beta) = 0.22 is above half of the teacher's entries);
3. the paper's setting exactly as stated (l0, lambda = 1e-4, eta = 1e-5, --paper-eta), which
   does not move: the population coarse gradient contracts the angle by about
   eta / (2 k sqrt(2 pi)) = 1e-7 per iteration (the last column).

Writes ``rvscgd_toy.png`` (loss, angle to the teacher and sparsity per iteration, seed 0),
``rvscgd_toy.md`` (final values, mean ± std over seeds) and ``rvscgd_toy.json`` (every run) to
the folder --out (created; files of these names there are replaced), by default a new temporary
folder; the folder is printed.

Usage::

    python examples/rvscgd_toy.py --seeds 0 1 2 3 4 --out /tmp/rvscgd_toy
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
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
    """``(row label, rvscgd_toy options)``: the default setting, the paper's lambda, the paper."""
    configs = []
    for lam, tag in ((args.lam, f"default, lambda={args.lam:g}"),
                     (args.paper_lam, f"paper lambda={args.paper_lam:g}")):
        for penalty in ("l0", "l1", "transformed_l1"):
            configs.append((f"{tag}: {penalty}, eta={args.eta:g}",
                            dict(sparsity_weight=lam, coupling=args.beta, penalty=penalty,
                                 step_size=args.eta, max_iter=args.iter)))
    configs.append((f"paper as stated: l0, lambda={args.paper_lam:g}, eta={args.paper_eta:g}",
                    dict(sparsity_weight=args.paper_lam, coupling=args.beta, penalty="l0",
                         step_size=args.paper_eta, max_iter=args.paper_iter)))
    return configs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: a new temporary folder)")
    parser.add_argument("--patches", type=int, default=20, help="k")
    parser.add_argument("--features", type=int, default=50, help="d")
    parser.add_argument("--beta", type=float, default=4e-3)
    parser.add_argument("--lam", type=float, default=1e-5, help="default lambda")
    parser.add_argument("--eta", type=float, default=1.0, help="default (disclosed) step size")
    parser.add_argument("--iter", type=int, default=2000, help="iterations at --eta")
    parser.add_argument("--paper-lam", type=float, default=1e-4, help="the paper's lambda")
    parser.add_argument("--paper-eta", type=float, default=1e-5, help="the paper's step size")
    parser.add_argument("--paper-iter", type=int, default=10000)
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
                                random_state=generator, **config)
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
             "| sparsity of u | support F1 | iterations | contraction / iteration, "
             "eta / (2k sqrt(2 pi)) |", "|---|---|---|---|---|---|---|---|"]
    for name, config in configurations(args):
        sel = [r for r in rows if r["config"] == name]

        def stat(key, sel=sel):
            values = [r[key] for r in sel]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            return f"{statistics.fmean(values):.3f} ± {spread:.3f}"

        lines.append(f"| {name} | {stat('angle_u')} | {stat('angle_w')} | {stat('angle_start')} "
                     f"| {stat('sparsity')} | {stat('f1')} | {config['max_iter']} | "
                     f"{config['step_size'] / (2 * args.patches * math.sqrt(2 * math.pi)):.1e} |")
    lines += ["", f"Machine: {platform.platform()}, Python {platform.python_version()}, "
                  f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s)."]
    text = "\n".join(lines)
    print(text)
    out = Path(tempfile.mkdtemp(prefix="rvscgd_toy-")) if args.out is None else args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "rvscgd_toy.md").write_text(text + "\n")
    (out / "rvscgd_toy.json").write_text(json.dumps(dict(argv=sys.argv, rows=rows), indent=1))
    plot(curves, out / "rvscgd_toy.png")
    print(f"wrote rvscgd_toy.md, rvscgd_toy.json and rvscgd_toy.png to {out}")
    return 0


def plot(curves, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for row, keep in enumerate((lambda n: "paper" in n, lambda n: "as stated" in n
                                or "default" in n)):
        for name, result in curves.items():
            if not keep(name):
                continue
            style = "--" if "as stated" in name else "-"
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
