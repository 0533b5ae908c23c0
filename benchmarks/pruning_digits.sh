#!/bin/sh
# Regenerates a digits table of benchmarks/results/pruning.md (run from the repository root):
# examples/prune_digits.py on seeds 0-4 as two parallel processes (one torch thread each), then
# the report (Markdown on stdout, saved as $OUT/report.md) and the zero-mask figure.
#   sh benchmarks/pruning_digits.sh [OUT [FIGURE [options of examples/prune_digits.py]]]
# The options are split on spaces (no quoting).
set -eu
OUT=${1:-/tmp/prune_digits}
FIGURE=${2:-benchmarks/results/pruning_zero_masks.png}
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
OPTIONS="$*"
mkdir -p "$OUT"
export PYTHONPATH=.
run_seeds() {
    for seed in "$@"; do
        # shellcheck disable=SC2086
        python examples/prune_digits.py $OPTIONS --seed "$seed" --json "$OUT/seed$seed.json" \
            > "$OUT/seed$seed.log" 2>&1
    done
}
run_seeds 0 2 4 & first=$!
run_seeds 1 3 & second=$!
wait "$first"
wait "$second"
python examples/prune_digits.py --report "$OUT"/seed0.json "$OUT"/seed1.json "$OUT"/seed2.json \
    "$OUT"/seed3.json "$OUT"/seed4.json --figure "$FIGURE" | tee "$OUT/report.md"
