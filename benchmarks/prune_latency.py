"""CPU latency before and after ``nets.prune``: does a pruned model run faster?

The four compact torchvision-style models of :mod:`nets.models.zoo` (bottleneck ResNet,
MobileNetV2, VGG-BN, DenseNet; random weights and BN statistics, seed 0) are pruned by
``nets.prune`` to at most ``1 - --ratio`` of their multiply-adds (BN scales, lowest first, on
a 1x3x224x224 input). Each dense/pruned pair is timed in eval mode under ``torch.no_grad()`` on
random 224x224 inputs at batch 1 and batch 32: after ``--warmup`` untimed calls of each, the
two models run alternately ``--repeats`` times (dense, pruned, dense, ...), so that a change
of machine load hits both alike, and the median of each is reported with the speed-up
(dense median / pruned median). ``torch.set_num_threads(--threads)`` is set once before
timing (intra-op threads; 1 by default, so the numbers do not depend on other jobs' use of the
remaining cores as much). The machine, torch version, thread count and load average at the
start are written with the table. Nothing is asserted: this is a measurement, not a test.

Usage::

    python benchmarks/prune_latency.py --out benchmarks/results/prune_latency.md
"""

import argparse
import os
import platform
import statistics
import sys
import time

import torch

from common import cpu_description

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nets  # noqa: E402
from csc.persistence import atomic_write  # noqa: E402
from nets.models.zoo import MODELS, randomise_batch_norms  # noqa: E402

INPUT = (3, 224, 224)


def build_pair(name, ratio):
    """The dense model (seed 0, randomised BNs) and its ``nets.prune`` result, both in eval."""
    torch.manual_seed(0)
    dense = randomise_batch_norms(MODELS[name](), torch.Generator().manual_seed(0)).eval()
    result = nets.prune(dense, torch.zeros(1, *INPUT), ratio=ratio)
    return dense, result


@torch.no_grad()
def interleaved_medians(first, second, inputs, *, warmup, repeats):
    """Median seconds per call of ``first(inputs)`` and ``second(inputs)``, run alternately."""
    for _ in range(warmup):
        first(inputs)
        second(inputs)
    times = ([], [])
    for _ in range(repeats):
        for model, record in zip((first, second), times, strict=True):
            start = time.perf_counter()
            model(inputs)
            record.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def measure(args):
    rows = []
    generator = torch.Generator().manual_seed(1)
    for name in args.models:
        dense, result = build_pair(name, args.ratio)
        for batch in args.batches:
            inputs = torch.randn(batch, *INPUT, generator=generator)
            dense_s, pruned_s = interleaved_medians(dense, result.model, inputs,
                                                    warmup=args.warmup, repeats=args.repeats)
            rows.append({"model": name, "batch": batch,
                         "dense_mmacs": result.original_cost.macs / 1e6,
                         "pruned_mmacs": result.cost.macs / 1e6,
                         "dense_params": result.original_cost.parameters,
                         "pruned_params": result.cost.parameters,
                         "dense_ms": 1e3 * dense_s, "pruned_ms": 1e3 * pruned_s})
            print(f"{name} batch {batch}: {1e3 * dense_s:.2f} ms -> {1e3 * pruned_s:.2f} ms",
                  flush=True)
    return rows


def markdown(rows, args, command, load):
    lines = [
        "# CPU latency before and after `nets.prune`", "",
        f"Command: `{command}`", "",
        f"Machine: {cpu_description()}, torch {torch.__version__}, "
        f"{platform.system()} {platform.release()}; `torch.set_num_threads({args.threads})`; "
        f"load average at the start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} "
        "(1 / 5 / 15 min; the machine is shared).", "",
        f"Models: `nets.models.zoo` (random weights, seed 0), pruned by "
        f"`nets.prune(model, torch.zeros(1, 3, 224, 224), ratio={args.ratio})` (BN scales, lowest "
        f"first). Latency: eval mode, `torch.no_grad()`, random 224x224 inputs, {args.warmup} "
        f"warm-up calls each, then {args.repeats} calls of each model alternately; medians.", "",
        "| model | batch | MMACs dense -> pruned | parameters dense -> pruned | dense ms | "
        "pruned ms | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['batch']} | {row['dense_mmacs']:.1f} -> "
            f"{row['pruned_mmacs']:.1f} ({row['pruned_mmacs'] / row['dense_mmacs']:.0%}) | "
            f"{row['dense_params']} -> {row['pruned_params']} | {row['dense_ms']:.2f} | "
            f"{row['pruned_ms']:.2f} | {row['dense_ms'] / row['pruned_ms']:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/prune_latency.md")
    parser.add_argument("--models", nargs="+", default=sorted(MODELS), choices=sorted(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--ratio", type=float, default=0.5,
                        help="fraction of multiply-adds to remove (nets.prune's ratio)")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    load = os.getloadavg()
    command = "python benchmarks/prune_latency.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    text = markdown(measure(args), args, command, load)

    def write(path):
        with open(path, "w") as stream:
            stream.write(text)

    atomic_write(args.out, write)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
