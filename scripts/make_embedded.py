#!/usr/bin/env python3
"""Regenerates benchmarks/embedded/ — the compact real subset compiled into swapnas so that
`cargo run --release -- --bench nb201 --task cifar100` and the tests work on a fresh clone with
no data directory and no network — from the full public sources (see benchmarks/embedded/README.md):

  nb201-accuracies.csv.gz   NAS-Bench-201, all 15,625 archs: official index and arch string, and
                            per task (cifar10, cifar100, ImageNet16-120) the 200-epoch validation
                            accuracy (Suite-Zero's nb201_zen.zip) and test accuracy (NATS-Bench,
                            nats_bench.csv), each written exactly as its source file writes it.
  cifar-10-first.bin        the first N records of CIFAR-10's data_batch_1.bin, byte for byte.
  cifar-100-first.bin       the first N records of CIFAR-100's train.bin, byte for byte.

Usage: python3 scripts/make_embedded.py [DATA_DIR] [--images N]   (DATA_DIR default ../shared/data)
"""
import csv
import gzip
import io
import json
import re
import sys
import zipfile
from pathlib import Path

OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
TASKS = ["cifar10", "cifar100", "ImageNet16-120"]


def official(t):
    """Suite-Zero's tuple (a..f on edges 1-2, 1-3, 1-4, 2-3, 2-4, 3-4) → the official string."""
    a, b, c, d, e, f = (OPS[i] for i in t)
    return f"|{a}~0|+|{b}~0|{d}~1|+|{c}~0|{e}~1|{f}~2|"


def number_texts(raw):
    """Each row's val_accuracy as the JSON file writes it (not re-formatted)."""
    return re.findall(rb'"val_accuracy":\s*([-0-9.eE+]+)', raw)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n_images = 64
    if "--images" in sys.argv:
        n_images = int(sys.argv[sys.argv.index("--images") + 1])
        args = [a for a in args if a != str(n_images)]
    data = Path(args[0] if args else Path(__file__).resolve().parents[2] / "shared" / "data")
    out = Path(__file__).resolve().parents[1] / "benchmarks" / "embedded"
    out.mkdir(parents=True, exist_ok=True)

    # Validation accuracies, per official string and task, as written in the JSON.
    val = {}
    with zipfile.ZipFile(data / "benchmarks/nb201/suitezero-nasbench201-zen.zip") as z:
        for name in sorted(z.namelist()):
            m = re.search(r"benchmark--nasbench201--(.+?)--\d+\.json$", name)
            if not m:
                continue
            task = m.group(1)
            raw = z.read(name)
            rows = json.loads(raw)
            texts = number_texts(raw)
            assert len(texts) == len(rows), name
            for row, text in zip(rows, texts):
                assert float(text) == row["val_accuracy"]
                arch = official(tuple(int(x) for x in re.findall(r"\d", row["arch"])))
                assert (arch, task) not in val, (arch, task)
                val[(arch, task)] = text.decode()
    # Test accuracies and the official index, as written in the CSV.
    lines = []
    with open(data / "benchmarks/nb201/nats-tss-test-accuracy-200ep.csv", newline="") as f:
        reader = csv.DictReader(f)
        for index, row in enumerate(reader):
            arch = row["ArchitectureString"]
            test = [row["CIFAR10TestAccuracy200Epochs"], row["CIFAR100TestAccuracy200Epochs"], row["ImageNetTestAccuracy200Epochs"]]
            cells = [index, arch]
            for task, t in zip(TASKS, test):
                cells += [val[(arch, task)], t]
            lines.append(cells)
    assert len(lines) == 15625 and len(val) == 3 * 15625
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(["index", "arch"] + [f"{t}_{s}" for t in TASKS for s in ("val", "test")])
    w.writerows(lines)
    # mtime=0: the same sources give the same bytes.
    with open(out / "nb201-accuracies.csv.gz", "wb") as f:
        f.write(gzip.compress(text.getvalue().encode(), compresslevel=9, mtime=0))

    for src, dst, record in [
        ("images/cifar-10-batches-bin/data_batch_1.bin", "cifar-10-first.bin", 3073),
        ("images/cifar-100-binary/train.bin", "cifar-100-first.bin", 3074),
    ]:
        raw = (data / src).read_bytes()[: n_images * record]
        assert len(raw) == n_images * record, src
        (out / dst).write_bytes(raw)
    for p in sorted(out.iterdir()):
        print(f"{p.stat().st_size:>9}  {p.relative_to(out.parents[1])}")


if __name__ == "__main__":
    main()
