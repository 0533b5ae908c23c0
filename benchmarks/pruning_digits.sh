#!/bin/sh
# Regenerates the digits table of benchmarks/results/pruning.md (run from the repository root):
# examples/prune_digits.py on seeds 0-4 as two parallel processes (one torch thread each), then
# the report (Markdown on stdout, saved as $OUT/report.md) and the zero-mask figure.
set -eu
OUT=${1:-/tmp/prune_digits}
mkdir -p "$OUT"
export PYTHONPATH=.
run_seeds() {
    for seed in "$@"; do
        python examples/prune_digits.py --seed "$seed" --json "$OUT/seed$seed.json" \
            > "$OUT/seed$seed.log" 2>&1
    done
}
run_seeds 0 2 4 & first=$!
run_seeds 1 3 & second=$!
wait "$first"
wait "$second"
python examples/prune_digits.py --report "$OUT"/seed0.json "$OUT"/seed1.json "$OUT"/seed2.json \
    "$OUT"/seed3.json "$OUT"/seed4.json --figure benchmarks/results/pruning_zero_masks.png \
    | tee "$OUT/report.md"
