#!/usr/bin/env python3
"""Build a small TransNAS-Bench-101 database in the layout `TransNASBenchAPI` reads, from real
data, saved with `torch.save` as the official file is.

For the converter test (harness/tests/converters.rs): the first `--archs` archs of each space
in Suite-Zero's `zc_transbench101_{micro,macro}.json` that have all seven tasks, keyed by
their official string as NASLib writes it (micro `64-41414-{a}_{b}{c}_{d}{e}{f}`, macro
`64-{non-zero codes}-basic`), with Suite-Zero's validation metric as a one-epoch list of each
task's headline metric. The other metrics and model_info are NaN (not in the public files).

Prints one JSON line per (space, arch, task, value) for the test.
"""
import argparse
import json
import math
import os

HEADLINE = {"class_scene": "valid_top1", "class_object": "valid_top1", "jigsaw": "valid_top1",
            "room_layout": "valid_neg_loss", "segmentsemantic": "valid_acc", "normal": "valid_ssim", "autoencoder": "valid_ssim"}


def official(space, t):
    if space == "micro":
        return f"64-41414-{t[0]}_{t[1]}{t[2]}_{t[3]}{t[4]}{t[5]}"
    return "64-" + "".join(str(c) for c in t if c) + "-basic"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--archs", type=int, default=3)
    a = ap.parse_args()
    import torch

    tasks = list(HEADLINE)
    metrics_dict = {t: [HEADLINE[t], "valid_loss"] for t in tasks}
    info_names = ["inference_time", "encoder_params", "encoder_FLOPs"]
    db = {"metrics_dict": metrics_dict, "info_names": info_names, "task_list": tasks, "data": {}}
    lines = []
    for space in ("micro", "macro"):
        with open(os.path.join(a.data_dir, "benchmarks", "tnb101", f"zc_transbench101_{space}.json")) as f:
            zc = json.load(f)
        keys = [k for k in zc["class_scene"] if all(k in zc[t] for t in tasks)][: a.archs]
        db["data"][space] = {}
        for k in keys:
            arch = official(space, [int(x) for x in k.strip("()").split(",")])
            per_task = {}
            for t in tasks:
                value = zc[t][k]["val_accuracy"]
                per_task[t] = {"metrics": {HEADLINE[t]: [value], "valid_loss": [math.nan]},
                               "model_info": {n: math.nan for n in info_names},
                               "total_epochs": 1}
                lines.append({"space": space, "arch": arch, "task": t, "value": value})
            db["data"][space][arch] = per_task
    torch.save(db, a.out)
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
