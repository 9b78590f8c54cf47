#!/usr/bin/env python3
"""Convert NAS-Bench-101's official tfrecord into a swapnas archive (`nb101.h5`).

Reads `nasbench_only108.tfrecord` (or `nasbench_full.tfrecord`) with the official API
(`nasbench.api.NASBench`, google-research/nasbench) when it is importable, and otherwise with
TensorFlow's TFRecord reader and the same record layout (scripts/nb101_records.py). Writes,
per module of the chosen epoch budget (default 108), task `cifar10`:

* `val_accuracy`, `test_accuracy`, `train_accuracy`: final accuracies in percent, mean over
  the training repeats (the API's `query` samples one repeat; NAS-Bench-Suite-Zero's
  `val_accuracy` is such a sample);
* `params`: trainable parameters in millions; `training_time`: seconds, mean over repeats.

Archs are NASLib's 56-tuples (7×7 adjacency row-major, then op codes into [input, output,
maxpool3x3, conv1x1-bn-relu, conv3x3-bn-relu]). The tfrecord stores pruned graphs, some with
fewer than 7 vertices; those are embedded into 7 by keeping the output last and adding
unconnected conv3x3 vertices, which ModelSpec's pruning (and swapnas') removes again — the
network is the same.

Usage:
    python3 scripts/convert_nb101.py nasbench_only108.tfrecord data/benchmarks/nb101/nb101.h5
Needs h5py and TensorFlow (`pip install tensorflow-cpu h5py`; nasbench itself is optional).
"""
import argparse
import os
import statistics
import sys

from swapnas_archive import provenance, run_converter, write_archive

OP_CODES = {"input": 0, "output": 1, "maxpool3x3": 2, "conv1x1-bn-relu": 3, "conv3x3-bn-relu": 4}
VERTICES = 7


def load(source):
    """(fixed, computed, reader name), as `nasbench.api.NASBench` holds them."""
    try:
        from nasbench import api
    except ImportError:
        pass
    else:
        # Its own tables (get_metrics_from_hash would deep-copy every module).
        nb = api.NASBench(source)
        return nb.fixed_statistics, nb.computed_statistics, "nasbench.api.NASBench"
    try:
        import tensorflow  # noqa: F401
    except ImportError as e:
        sys.exit(f"{source}: reading NAS-Bench-101's tfrecord needs TensorFlow (pip install tensorflow-cpu): {e}")
    from nb101_records import read_dataset

    fixed, computed = read_dataset(source)
    return fixed, computed, "tf.data.TFRecordDataset + nasbench.ModelMetrics (scripts/nb101_records.py)"


def naslib_tuple(adjacency, operations):
    """The 56-tuple of a (pruned) graph of ≤ 7 vertices, padded as the module doc says."""
    d = len(operations)
    if not 2 <= d <= VERTICES or operations[0] != "input" or operations[-1] != "output":
        raise ValueError(f"a graph of {d} vertices with ops {operations} is no NAS-Bench-101 cell")
    unknown = set(operations) - set(OP_CODES)
    if unknown:
        raise ValueError(f"unknown operations {sorted(unknown)}")
    where = list(range(d - 1)) + [VERTICES - 1]
    matrix = [[0] * VERTICES for _ in range(VERTICES)]
    for r in range(d):
        for c in range(d):
            if adjacency[r][c]:
                matrix[where[r]][where[c]] = 1
    codes = [OP_CODES[o] for o in operations[:-1]] + [OP_CODES["conv3x3-bn-relu"]] * (VERTICES - d) + [OP_CODES["output"]]
    return "(" + ", ".join(str(v) for v in [x for row in matrix for x in row] + codes) + ")"


def convert(source, dest, epochs):
    fixed, computed, reader = load(source)
    archs = []
    cols = {m: [] for m in ("val_accuracy", "test_accuracy", "train_accuracy", "params", "training_time")}
    for h in sorted(fixed):
        runs = computed.get(h, {}).get(epochs)
        if not runs:
            continue
        f = fixed[h]
        archs.append(naslib_tuple([list(map(int, row)) for row in f["module_adjacency"]], list(f["module_operations"])))
        mean = lambda key: statistics.fmean(r[key] for r in runs)  # noqa: E731
        cols["val_accuracy"].append(100.0 * mean("final_validation_accuracy"))
        cols["test_accuracy"].append(100.0 * mean("final_test_accuracy"))
        cols["train_accuracy"].append(100.0 * mean("final_train_accuracy"))
        cols["params"].append(f["trainable_parameters"] / 1e6)
        cols["training_time"].append(mean("final_training_time"))
    if not archs:
        sys.exit(f"{source}: no module has results for {epochs} epochs")
    metrics = f"{epochs} epochs, final evaluation, mean over repeats; accuracies in percent; params in millions"
    write_archive(dest, "nb101", archs, {"cifar10": cols}, provenance(source, reader, "scripts/convert_nb101.py", metrics))
    print(f"wrote {dest}: {len(archs)} archs ({epochs} epochs) from {source}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="nasbench_only108.tfrecord or nasbench_full.tfrecord")
    p.add_argument("dest", help="output archive, e.g. data/benchmarks/nb101/nb101.h5")
    p.add_argument("--epochs", type=int, default=108, choices=(4, 12, 36, 108))
    a = p.parse_args()
    # Any exception: TensorFlow's DataLossError and friends.
    run_converter(a.source, lambda: convert(a.source, a.dest, a.epochs), "NAS-Bench-101 tfrecord", "the NAS-Bench-101 release page")


if __name__ == "__main__":
    main()
