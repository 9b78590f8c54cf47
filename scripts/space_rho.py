#!/usr/bin/env python3
"""Spearman ρ of NB201 scores in a swapnas score cache against the real accuracies.

    python3 scripts/space_rho.py CACHE/scores.jsonl [--data DIR] [--proxies swap,reg_swap]

For a cache that a time limit cut short (a GPU run of the whole space, say): every NB201 arch
the cache holds is paired with its 200-epoch validation accuracy (NAS-Bench-Suite-Zero's
`val_accuracy`, the zen archive) and its 200-epoch test accuracy (NATS-Bench), per task in the
cache; prints n and ρ for each proxy, task and split. DIR is the data directory
(default: $SWAPNAS_DATA or ../shared/data). Standard library only; nothing is chosen by
accuracy.
"""
import argparse
import csv
import json
import os
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_scores import spearman  # noqa: E402

OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]
TASKS = {"cifar10": 0, "cifar100": 1, "ImageNet16-120": 2}


def official(label):
    """NASLib's tuple (edges (1,2),(1,3),(1,4),(2,3),(2,4),(3,4)) as the official string
    (an official string is returned as it is)."""
    if label.startswith("|"):
        return label
    a = [OPS[int(x)] for x in label.strip("()").split(",")]
    return f"|{a[0]}~0|+|{a[1]}~0|{a[3]}~1|+|{a[2]}~0|{a[4]}~1|{a[5]}~2|"


def accuracies(data):
    base = os.path.join(data, "benchmarks", "nb201")
    test = {t: {} for t in TASKS}
    with open(os.path.join(base, "nats-tss-test-accuracy-200ep.csv")) as f:
        for row in csv.reader(f):
            if row[0].startswith("CIFAR"):
                continue
            for t, i in TASKS.items():
                test[t][row[3]] = float(row[i])
    val = {t: {} for t in TASKS}
    with zipfile.ZipFile(os.path.join(base, "suitezero-nasbench201-zen.zip")) as z:
        for name in z.namelist():
            if not name.endswith(".json"):
                continue
            task = name.split("--")[2]
            for r in json.loads(z.read(name)):
                val[task][official(r["arch"])] = float(r["val_accuracy"])
    return val, test


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cache")
    p.add_argument("--data", default=os.environ.get("SWAPNAS_DATA", os.path.join("..", "shared", "data")))
    p.add_argument("--proxies", default="swap,reg_swap")
    a = p.parse_args()
    val, test = accuracies(a.data)
    scores = {}
    with open(a.cache) as f:
        for line in f:
            try:
                r = json.loads(line.rstrip("\n").rsplit("\t", 1)[0])
            except json.JSONDecodeError:
                continue
            if r["proxy"] in a.proxies.split(","):
                task = r["bench"].split("-", 1)[1]
                scores.setdefault((r["proxy"], task), {})[official(r["arch"])] = float(r["score"])
    for (proxy, task), by_arch in sorted(scores.items()):
        for split, table in (("val", val[task]), ("test", test[task])):
            archs = [k for k in by_arch if k in table]
            rho = spearman([by_arch[k] for k in archs], [table[k] for k in archs])
            print(f"{proxy:9s} {task:15s} {split:4s} n={len(archs):6d} rho={rho:.4f}")


if __name__ == "__main__":
    main()
