#!/usr/bin/env python3
"""Converts image sets from the formats users already have into the binary layout swapnas
reads (per image: label byte(s), then the R, G, B planes row-major), byte for byte:

  cifar10-python   cifar-10-batches-py/{data_batch_1..5,test_batch}  (torchvision's download)
                   -> images/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
  cifar100-python  cifar-100-python/{train,test}
                   -> images/cifar-100-binary/{train,test}.bin   (coarse byte, fine byte)
  imagenet16       the official ImageNet16 pickles {train_data_batch_1..10, val_data}
                   (NAS-Bench-201's ImageNet16-120: labels 1..120 kept, written as 0..119)
                   -> images/ImageNet16-120/{train_data_batch_1..10,val_data}.bin

Usage: python3 scripts/convert_images.py KIND SOURCE_DIR DATA_DIR
The pickles are read with pickle.load (only open files you trust) and need numpy.
"""
import pickle
import sys
from pathlib import Path

import numpy as np


def load(path):
    with open(path, "rb") as f:
        d = pickle.load(f, encoding="bytes")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}


def write(records, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".part")
    tmp.write_bytes(records.tobytes())
    tmp.replace(out)
    print(f"{out}: {records.shape[0]} images")


def cifar10(src, data):
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        d = load(src / name)
        pixels = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3072)
        labels = np.asarray(d["labels"], dtype=np.uint8).reshape(-1, 1)
        assert labels.max() <= 9
        write(np.hstack([labels, pixels]), data / "images/cifar-10-batches-bin" / f"{name}.bin")


def cifar100(src, data):
    for name in ["train", "test"]:
        d = load(src / name)
        pixels = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3072)
        coarse = np.asarray(d["coarse_labels"], dtype=np.uint8).reshape(-1, 1)
        fine = np.asarray(d["fine_labels"], dtype=np.uint8).reshape(-1, 1)
        assert fine.max() <= 99 and coarse.max() <= 19
        write(np.hstack([coarse, fine, pixels]), data / "images/cifar-100-binary" / f"{name}.bin")


def imagenet16(src, data):
    names = [f"train_data_batch_{i}" for i in range(1, 11)] + ["val_data"]
    for name in names:
        d = load(src / name)
        pixels = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 768)
        labels = np.asarray(d["labels"], dtype=np.int64)
        keep = (labels >= 1) & (labels <= 120)  # ImageNet16-120, as NAS-Bench-201's loader
        out = np.hstack([(labels[keep] - 1).astype(np.uint8).reshape(-1, 1), pixels[keep]])
        write(out, data / "images/ImageNet16-120" / f"{name}.bin")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in {"cifar10-python", "cifar100-python", "imagenet16"}:
        sys.exit(__doc__)
    kind, src, data = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"cifar10-python": cifar10, "cifar100-python": cifar100, "imagenet16": imagenet16}[kind](src, data)


if __name__ == "__main__":
    main()
