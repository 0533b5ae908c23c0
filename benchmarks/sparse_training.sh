#!/bin/sh
# Regenerates the tables of benchmarks/results/sparse_training.md (run from the repository root):
# the RVSCGD toy (into $OUT/toy; its figure is copied to benchmarks/results) and every digits run of
# examples/irda_digits.py, each into its own folder of $OUT (irda_digits.md holds the table, the
# per-seed values, the paired differences and the machine and library versions; irda_digits.json
# every run); the Markdown of each goes to stdout. One torch thread per process unless stated;
# after the main table, two chains of runs in parallel. A run whose irda_digits.md exists in $OUT
# is not repeated (to resume an interrupted driver; the runs are bitwise repeatable).
set -eu
OUT=${1:-/tmp/sparse_training}
SEEDS="0 1 2 3 4 5 6 7 8 9"
FEW="0 1 2 3 4"
export PYTHONPATH=.
mkdir -p "$OUT"
digits() {  # digits NAME FLAGS...: one irda_digits.py run into $OUT/NAME
    name=$1
    shift
    if [ ! -f "$OUT/$name/irda_digits.md" ]; then
        python examples/irda_digits.py --out "$OUT/$name" "$@" > "$OUT/$name.log" 2>&1
    fi
}
# main table: every method, default settings; --trace shows whether the iterate settles
digits main --seeds $SEEDS --trace
robustness() {
    # the same machine made to diverge: a 1e-6 relative perturbation of the initial parameters;
    # two torch threads (other reduction orders; slow when other jobs hold the two cores)
    digits perturbed --seeds $SEEDS --methods sgd irda irda_paper_step2 --perturb-init 1e-6
    digits threads2 --seeds $SEEDS --methods sgd irda irda_paper_step2 --threads 2
}
settings() {
    if [ ! -f "$OUT/toy/rvscgd_toy.md" ]; then
        python examples/rvscgd_toy.py --seeds 0 1 2 3 4 --out "$OUT/toy" > "$OUT/toy.log"
    fi
    cp "$OUT/toy/rvscgd_toy.png" benchmarks/results/rvscgd_toy.png
    # the paper's setting (l1 and w_0 = 0 on every parameter, the previous lambda 5e-4), with
    # the paper's step 2 and with the restarted one
    digits paper_all_params --seeds $FEW --methods sgd irda irda_paper_step2 \
        --irda-penalize all --irda-lambda 5e-4 --trace
    # sensitivity of the default iRDA to its settings
    for flags in "--gamma 0.2" "--gamma 0.5" "--init-scale 1" "--retrain-fraction 0.5"; do
        # shellcheck disable=SC2086
        digits "sensitivity$(echo $flags | tr -d ' -')" --seeds $FEW --methods sgd irda $flags
    done
    digits no_batch_norm --seeds 0 1 2 --methods sgd irda irda_initial_center --no-batch-norm
}
robustness & first=$!
settings & second=$!
wait "$first"
wait "$second"
for table in "$OUT"/toy/rvscgd_toy.md "$OUT"/*/irda_digits.md; do
    echo "## $table"
    cat "$table"
done
