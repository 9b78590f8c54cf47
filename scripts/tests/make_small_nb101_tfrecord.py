#!/usr/bin/env python3
"""Build a small NAS-Bench-101 tfrecord in the official record layout, from real data.

For the converter test (harness/tests/converters.rs): Suite-Zero's NB101 archs
(`zc_nasbench101.json`, real 108-epoch validation accuracy and parameter counts) are pruned as
`nasbench.api.ModelSpec` prunes them (vertices not on an input→output path removed; the
official file stores pruned graphs) and written with TensorFlow's `tf.io.TFRecordWriter` as
`[module_hash, 108, adjacency, operations, base64(ModelMetrics)]` records, one training
repeat each. Everything the public file does not hold (test/train accuracy, times, the
start and half-way evaluations) is NaN; module_hash is an MD5 of the tuple (a stand-in for
the official graph hash, which only groups records). Picks the `--archs` smallest networks,
always including archs that prune to fewer than 7 vertices (one per distinct pruned graph).

Prints one JSON line per arch (tuple, pruned vertex count, val_accuracy, params) for the test.
"""
import argparse
import base64
import hashlib
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from nb101_records import model_metrics_class  # noqa: E402

OPS = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")


def prune(matrix, ops):
    n = len(ops)
    from_input, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top][v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(0, top):
            if matrix[v][top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    keep = sorted(from_input & to_output)
    return [[matrix[r][c] for c in keep] for r in keep], [ops[v] for v in keep]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", type=int, default=5)
    a = ap.parse_args()
    import tensorflow as tf

    with open(os.path.join(a.data_dir, "benchmarks", "nb101", "zc_nasbench101.json")) as f:
        zc = json.load(f)["nasbench101"]["cifar10"]
    entries = []
    for key, v in zc.items():
        t = [int(x) for x in key.strip("()").split(",")]
        matrix = [t[r * 7:(r + 1) * 7] for r in range(7)]
        adjacency, ops = prune(matrix, [OPS[c] for c in t[49:]])
        entries.append((len(ops) < 7, -v["params"], key, adjacency, ops, v))
    entries.sort(reverse=True)  # pruned ones first, then the smallest networks
    picked, seen = [], set()
    for e in entries:
        graph = (str(e[3]), str(e[4]))  # Suite-Zero lists some pruned-equal graphs twice
        if graph not in seen and len(picked) < a.archs:
            seen.add(graph)
            picked.append(e)
    ModelMetrics = model_metrics_class()
    with tf.io.TFRecordWriter(a.out) as w:
        for _, _, key, adjacency, ops, v in picked:
            m = ModelMetrics(trainable_parameters=round(v["params"] * 1e6), total_time=math.nan)
            for _ in range(2):
                m.evaluation_data.add(current_epoch=math.nan, training_time=math.nan, train_accuracy=math.nan, validation_accuracy=math.nan, test_accuracy=math.nan)
            m.evaluation_data.add(current_epoch=108, training_time=math.nan, train_accuracy=math.nan, validation_accuracy=v["val_accuracy"] / 100, test_accuracy=math.nan)
            raw_adjacency = "".join(str(x) for row in adjacency for x in row)
            record = [hashlib.md5(key.encode()).hexdigest(), 108, raw_adjacency, ",".join(ops), base64.b64encode(m.SerializeToString()).decode()]
            w.write(json.dumps(record).encode("utf-8"))
    for _, _, key, adjacency, ops, v in picked:
        print(json.dumps({"tuple": key, "vertices": len(ops), "val_accuracy": v["val_accuracy"], "params": v["params"]}))


if __name__ == "__main__":
    main()
