#!/usr/bin/env bash
# Assembles the data folder scripts/gpu_check.sh carries to a GPU machine (no network there):
#
#   scripts/gpu_data.sh [DATA] [DEST]     (DATA: $SWAPNAS_DATA or ../shared/data; DEST: gpu-data)
#
# What the binary does not embed: the NB101, NB301 and TNB101 tables and the ImageNet16-120
# and Taskonomy stand-in images (NB201's table and the first CIFAR-10/100 images are compiled
# in). About 21 MB; with the 34 MB stripped binary it stays under a 64 MiB carry limit. Keep
# DEST out of git (e.g. `/gpu-data/` in .git/info/exclude): these are the benchmarks' files.
set -eu
DATA=${1:-${SWAPNAS_DATA:-../shared/data}}
DEST=${2:-gpu-data}
for d in benchmarks/nb101 benchmarks/nb301 benchmarks/tnb101 images/imagenet16-120-standin images/taskonomy-standin-224; do
  [ -d "$DATA/$d" ] || { echo "gpu_data: $DATA/$d is missing (run swapnas data fetch, or point DATA at the data)" >&2; exit 2; }
  mkdir -p "$DEST/$(dirname "$d")"
  rm -rf "${DEST:?}/$d"
  cp -r "$DATA/$d" "$DEST/$d"
done
du -sh "$DEST"
