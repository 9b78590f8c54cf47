#!/usr/bin/env python3
"""Convert TransNAS-Bench-101's `transnas-bench_v10141024.pth` into swapnas archives, one per
search space: `<dest>/tnb101_micro.h5` and `<dest>/tnb101_macro.h5`.

Reads the file with the official API (`TransNASBenchAPI` from yawen-d/TransNASBench's
`api/api.py`, found via `--api-dir` or the Python path) when it is importable; otherwise with
`torch.load`, which is all that API does before wrapping the same dictionary:
`metrics_dict` {task: [metric]}, `info_names`, `task_list`, and
`data[space][arch][task]` = {`metrics`: {metric: per-epoch list}, `model_info`: {info: value},
`total_epochs`}.

Per arch (the official string, e.g. `64-41414-3_33_333` micro, `64-4111-basic` macro) and task
it stores every metric of the task as `<metric>` (final epoch, the API's mode="final") and
`<metric>_best` (the API's mode="best": the maximum over epochs, whatever the metric), every
model_info field, and `val_accuracy` = the best epoch of the task's headline validation metric
(class_scene, class_object, jigsaw: valid_top1; room_layout: valid_neg_loss;
segmentsemantic: valid_acc; normal, autoencoder: valid_ssim) where the task has it.

Usage:
    python3 scripts/convert_tnb101.py transnas-bench_v10141024.pth data/benchmarks/tnb101/
Needs PyTorch and h5py (`pip install torch h5py`).
"""
import argparse
import math
import os
import sys

from swapnas_archive import provenance, run_converter, write_archive

HEADLINE = {
    "class_scene": "valid_top1",
    "class_object": "valid_top1",
    "jigsaw": "valid_top1",
    "room_layout": "valid_neg_loss",
    "segmentsemantic": "valid_acc",
    "normal": "valid_ssim",
    "autoencoder": "valid_ssim",
}


def number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def load(source, api_dir):
    """(database dict, reader name). The official API keeps the loaded dict as `.database`."""
    # The file pickles plain Python containers, which torch ≥ 2.6's weights-only loading
    # refuses; it is a trusted download, so load it in full.
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    if api_dir:
        sys.path.insert(0, api_dir)
    try:
        from api import TransNASBenchAPI  # the official module
    except ImportError:
        TransNASBenchAPI = None
    if TransNASBenchAPI is not None:
        return TransNASBenchAPI(source).database, "TransNASBenchAPI"
    try:
        import torch
    except ImportError as e:
        sys.exit(f"{source}: reading TransNAS-Bench-101 needs PyTorch (pip install torch): {e}")
    return torch.load(source, map_location="cpu", weights_only=False), "torch.load (the TransNASBenchAPI database layout)"


def convert(source, dest_dir, api_dir):
    db, reader = load(source, api_dir)
    for key in ("metrics_dict", "info_names", "task_list", "data"):
        if key not in db:
            raise KeyError(f"no `{key}` in the database")
    if not db["data"]:
        raise ValueError("the database has no search space")
    metrics = "<metric> = final epoch, <metric>_best = max over epochs (the API's modes); val_accuracy = best headline validation metric"
    attrs = provenance(source, reader, "scripts/convert_tnb101.py", metrics)
    os.makedirs(dest_dir, exist_ok=True)
    for space, archs in db["data"].items():
        names = list(archs)
        tasks = {}
        for task in db["task_list"]:
            cols = {}
            for metric in db["metrics_dict"][task]:
                final, best = [], []
                for arch in names:
                    values = [number(v) for v in archs[arch][task]["metrics"][metric]]
                    final.append(values[-1] if values else math.nan)
                    finite = [v for v in values if not math.isnan(v)]
                    best.append(max(finite) if finite else math.nan)
                cols[metric], cols[f"{metric}_best"] = final, best
            for info in db["info_names"]:
                cols[info] = [number(archs[a][task].get("model_info", {}).get(info)) for a in names]
            if HEADLINE.get(task) in db["metrics_dict"][task]:
                cols["val_accuracy"] = cols[f"{HEADLINE[task]}_best"]
            tasks[task] = cols
        dest = os.path.join(dest_dir, f"tnb101_{space}.h5")
        write_archive(dest, f"tnb101-{space}", names, tasks, attrs)
        print(f"wrote {dest}: {len(names)} archs x {len(tasks)} tasks from {source}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="transnas-bench_v10141024.pth")
    p.add_argument("dest_dir", help="directory for tnb101_micro.h5 and tnb101_macro.h5, e.g. data/benchmarks/tnb101/")
    p.add_argument("--api-dir", help="TransNASBench's api/ directory (for the official TransNASBenchAPI)")
    a = p.parse_args()
    # Any exception: unpickling errors come in many types.
    run_converter(a.source, lambda: convert(a.source, a.dest_dir, a.api_dir), "TransNAS-Bench-101 database", "the TransNAS-Bench-101 release page")


if __name__ == "__main__":
    main()
