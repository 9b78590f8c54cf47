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
# NAS-Bench-201's accuracies and the first CIFAR-10 images are embedded in the binary, so no
# data directory is needed.
#
# Steps, each with its own time limit ($GPU_STEP_SECONDS, default 150 s; the score cache makes
# every step resumable, so running the script again continues where a limit stopped it):
#   1. `bench` SWAP on the GPU and on all CPU cores (same 10 archs, B = 16, R = 32);
#   2. score NB201 CIFAR-10 with SWAP on the GPU, all 15,625 archs (`--archs 0`);
#   3. score the same list of archs on all CPU cores and compare, arch by arch, the archs both
#      runs have scored (Spearman, largest relative difference, identical count).
set -u
OUT=${1:-results/gpu-check}
BIN=${SWAPNAS_BIN:-target/gpu/swapnas}
STEP=${GPU_STEP_SECONDS:-150}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
CPU_JOBS=$(nproc)
mkdir -p "$OUT"
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
echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
python3 -c 'import torch; print("python torch", torch.__version__, "CUDA", torch.version.cuda)' 2>&1 | tail -1
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

echo "== 1. bench: $DEVICE, then CPU ($CPU_JOBS threads)"
timeout "$STEP" "$BIN" bench --device "$DEVICE" --archs 10 --proxies swap --out "$OUT/bench-gpu" 2>&1 | tail -12
timeout "$STEP" "$BIN" bench --device cpu --jobs "$CPU_JOBS" --archs 10 --proxies swap --out "$OUT/bench-cpu" 2>&1 | tail -12

echo "== 2. all 15,625 NB201 archs with SWAP on $DEVICE (resumable; at most $STEP s this call)"
start=$(date +%s)
timeout "$STEP" "$BIN" --bench nb201 --task cifar10 --archs 0 --proxies swap --device "$DEVICE" --jobs 4 \
  --out "$OUT/all-gpu" 2>&1 | tail -6
echo "scored so far: $(wc -l < "$OUT/all-gpu/scores.jsonl" 2>/dev/null || echo 0) of 15625 ($(( $(date +%s) - start )) s this call)"

echo "== 3. CPU/$DEVICE agreement on the archs both have scored (resumable)"
timeout "$STEP" "$BIN" --bench nb201 --task cifar10 --archs 0 --proxies swap --device cpu --jobs "$CPU_JOBS" \
  --out "$OUT/all-cpu" 2>&1 | tail -3
python3 "$(dirname "$0")/compare_scores.py" "$OUT/all-cpu/scores.jsonl" "$OUT/all-gpu/scores.jsonl" --proxy swap
