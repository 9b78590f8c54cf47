#!/usr/bin/env bash
# Queues a sharded swapnas run and its merge on SLURM:
#   scripts/slurm/submit.sh 8 --bench nb201 --task cifar100 --archs 1000 --proxies all
# (first argument: the number of shards; the rest: the run's flags). Set SWAPNAS_DEVICE=cuda
# and your partition's options in SBATCH_* variables for GPUs.
set -euo pipefail
SHARDS="${1:?usage: submit.sh SHARDS FLAGS…}"
shift
export SWAPNAS_ARGS="$*"
HERE="$(dirname "$0")"
ARRAY=$(sbatch --parsable --array="1-${SHARDS}" --export=ALL "$HERE/swapnas-array.sbatch")
sbatch --dependency="afterany:${ARRAY}" --export=ALL "$HERE/swapnas-merge.sbatch"
echo "queued array job ${ARRAY} (${SHARDS} shards) and its merge"
