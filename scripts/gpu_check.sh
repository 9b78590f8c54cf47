#!/usr/bin/env bash
# One-shot GPU check for a machine with an NVIDIA GPU (run from the repository root).
#
#   scripts/gpu_check.sh [OUT]          (OUT defaults to results/gpu-check)
#
# It uses a swapnas binary built elsewhere with the `tch` feature against the torch the GPU
# machine has (2.11 with CUDA 13 when this was written; burn-tch 0.22 was made for 2.9, so its
# version check is bypassed). See README, GPU:
#
#   pip download --no-deps torch==2.11.0 && unzip -q torch-2.11.0-*.whl 'torch/*' -d ~/torch211
#   LIBTORCH=~/torch211/torch LIBTORCH_BYPASS_VERSION_CHECK=1 cargo build --release --features tch
#   mkdir -p target/gpu && strip -o target/gpu/swapnas $CARGO_TARGET_DIR/release/swapnas
#
# (`$SWAPNAS_BIN` overrides the path; `GPU_CHECK_DEVICE=tch-cpu` or `cpu` dry-runs the logic
# without a GPU). At run time the machine's own torch provides libtorch and the CUDA
# libraries: torch/lib and every nvidia/*/lib of its Python packages go on LD_LIBRARY_PATH.
# NAS-Bench-201's accuracies and the first CIFAR-10/100 images are embedded in the binary; the
# ImageNet16-120 images are read from `$GPU_CHECK_DATA` (a data directory holding at least
# images/imagenet16-120-standin/, or the real set converted by scripts/convert_images.py).
#
# Steps, each under its own time limit (seconds; the score cache makes every step resumable,
# so running the script again continues where a limit stopped it):
#   1. `bench` SWAP and reg-SWAP on the GPU: the swap proxy's row is the stacked path (all R
#      repeats in one grouped forward pass), the profile rows run the repeats one at a time
#      ($STEP_BENCH, default 60);
#   2. a gradient proxy and SWAP on a fixed 40-arch sample, for an arch-by-arch comparison
#      with a CPU run of the same command ($STEP_AGREE, default 40);
#   3. all 15,625 NB201 archs × SWAP and reg-SWAP on CIFAR-10, CIFAR-100 and ImageNet16-120:
#      first the seeded uniform 1,000-arch sample (so a cut-short run still leaves a uniform
#      sample), then every arch ($STEP_SPACE per task, default 150);
#   4. every proxy on 2 archs of each of `reproduce`'s 19 task columns, one arch at a time
#      ($STEP_ALL in all, default 150; resumable like the rest): the per-arch seconds each
#      cached score carries give every proxy's time per column, and
#      `scripts/cache_timings.py OUT/reproduce` what 1,000 archs per column cost;
# and packs every output into OUT.tar.gz. `GPU_CHECK_STEPS="1 2"` runs only those steps.
set -u
OUT=${1:-results/gpu-check}
BIN=${SWAPNAS_BIN:-target/gpu/swapnas}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
DATA=${GPU_CHECK_DATA:-gpu-data}
STEP_BENCH=${STEP_BENCH:-60}
STEP_AGREE=${STEP_AGREE:-40}
STEP_SPACE=${STEP_SPACE:-150}
STEP_ALL=${STEP_ALL:-150}
JOBS=${GPU_CHECK_JOBS:-$(nproc)}
STEPS=" ${GPU_CHECK_STEPS:-1 2 3 4} "
want() { case "$STEPS" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
mkdir -p "$OUT" "$DATA"
[ -x "$BIN" ] || { echo "gpu_check: no swapnas binary at $BIN (build it as the header says)" >&2; exit 2; }

# libtorch and the CUDA libraries from the machine's Python packages.
LIBS=$(python3 -c '
import glob, os, site
roots = [r for r in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(r)]
dirs = []
for root in roots:
    dirs += glob.glob(os.path.join(root, "torch", "lib"))
    dirs += sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib")))
    dirs += sorted(glob.glob(os.path.join(root, "nvidia", "*", "*", "lib")))
print(":".join(dict.fromkeys(dirs)))
' 2>/dev/null)
export LD_LIBRARY_PATH="${LIBS}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export SWAPNAS_OFFLINE=1
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
python3 -c 'import torch; print("python torch", torch.__version__, "CUDA", torch.version.cuda)' 2>&1 | tail -1
nproc
T0=$(date +%s)
stamp() { echo "   [$(( $(date +%s) - T0 )) s since start] $*"; }
run() { # run LIMIT LOG ARGS...: the binary under a time limit, its output kept and its tail shown
  local limit=$1 log=$2; shift 2
  local t=$(date +%s)
  timeout -s INT -k 15 "$limit" "$BIN" "$@" --data-dir "$DATA" >"$log" 2>&1
  local rc=$?
  tail -4 "$log" | cut -c1-300
  stamp "rc $rc, $(( $(date +%s) - t )) s: $*"
}

if want 1; then
echo "== 1. bench SWAP and reg-SWAP on $DEVICE (stacked proxy rows, one-at-a-time profile rows)"
run "$STEP_BENCH" "$OUT/bench-swap.log" bench --device "$DEVICE" --archs 8 --proxies swap,reg_swap --out "$OUT/bench-swap"
grep -A4 "| proxy" "$OUT/bench-swap/bench.md" 2>/dev/null | head -6
grep -A4 "| kernels" "$OUT/bench-swap/bench.md" 2>/dev/null | head -6
fi

if want 2; then
echo "== 2. agreement sample: grad_norm, snip, swap on 40 archs (compare with the same command on the CPU)"
run "$STEP_AGREE" "$OUT/agree.log" --bench nb201 --task cifar10 --archs 40 --seed 0 --proxies grad_norm,snip,swap \
  --device "$DEVICE" --jobs "$JOBS" --out "$OUT/agree"
fi

if want 3; then
echo "== 3. all 15,625 NB201 archs x SWAP, reg-SWAP on $DEVICE"
for task in cifar10 cifar100 ImageNet16-120; do
  t=$(date +%s)
  run "$STEP_SPACE" "$OUT/space-$task-1000.log" --bench nb201 --task "$task" --archs 1000 --seed 0 \
    --proxies swap,reg_swap --device "$DEVICE" --jobs "$JOBS" --out "$OUT/space-$task"
  left=$(( STEP_SPACE - ($(date +%s) - t) ))
  [ "$left" -gt 5 ] && run "$left" "$OUT/space-$task-all.log" --bench nb201 --task "$task" --archs 0 --seed 0 \
    --proxies swap,reg_swap --device "$DEVICE" --jobs "$JOBS" --out "$OUT/space-$task"
  echo "   $task: $(grep -c '"proxy":"swap"' "$OUT/space-$task/scores.jsonl" 2>/dev/null || echo 0) of 15625 archs scored"
done
fi

if want 4; then
echo "== 4. every proxy on 2 archs of each reproduce column on $DEVICE, one arch at a time"
run "$STEP_ALL" "$OUT/reproduce.log" reproduce --archs 2 --proxies all --device "$DEVICE" --jobs 1 --out "$OUT/reproduce"
python3 "$(dirname "$0")/cache_timings.py" "$OUT/reproduce" 2>&1 | tail -22
fi

stamp "done"
tar czf "$OUT.tar.gz" -C "$(dirname "$OUT")" "$(basename "$OUT")" && ls -la "$OUT.tar.gz"
