#!/usr/bin/env python3
"""Build a small NAS-Bench-201-format archive through the official API classes, from real data.

For the converter test (harness/tests/converters.rs): the first `--archs` archs of Suite-Zero's
`zc_nasbench201.json` that it scores on all three tasks get official results objects
(`ArchResults` + `ResultsCount`, one trial, seed 777, 200 epochs), filled with real numbers
only — Suite-Zero's validation accuracy, params and FLOPs, and the NATS 200-epoch test accuracy
(`nats-tss-test-accuracy-200ep.csv`) — and NaN for everything the public files do not hold
(earlier epochs, losses, times, train accuracy). Written as

* `--format nats`: a NATS-Bench topology fast-mode directory (`meta.pickle.pbz2` with all
  15,625 official arch strings, one `{index:06d}.pickle.pbz2` per arch), with `nats_bench`;
* `--format pth`: a NAS-Bench-201 `.pth` dict (`meta_archs`, `arch2infos` {'less','full'},
  `evaluated_indexes`), with `nas_201_api` and `torch.save`.

Prints one JSON line per arch: index, arch string and the values put in, for the test to check.
"""
import argparse
import csv
import json
import math
import os

OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
TASKS = ("cifar10", "cifar100", "ImageNet16-120")
EPOCHS = 200
SEED = 777
NAN = math.nan


def official(naslib_tuple):
    """NASLib's '(a, b, c, d, e, f)' -> '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'."""
    o = [OPS[int(x)] for x in naslib_tuple.strip("()").split(",")]
    return f"|{o[0]}~0|+|{o[1]}~0|{o[3]}~1|+|{o[2]}~0|{o[4]}~1|{o[5]}~2|"


def trial(api_utils, arch_str, params, flops, evals):
    """One ResultsCount: `evals` maps eval name -> final-epoch accuracy."""
    per_epoch = {i: NAN for i in range(EPOCHS)}
    r = api_utils.ResultsCount(arch_str, None, per_epoch, per_epoch, params, flops, None, SEED, EPOCHS, None)
    accs, losses, times = {}, {}, {}
    for name, final in evals.items():
        for i in range(EPOCHS):
            key = f"{name}@{i}"
            accs[key] = final if i == EPOCHS - 1 else NAN
            losses[key] = NAN
            times[key] = NAN
    r.update_eval(accs, losses, times)
    return r


def arch_results(api_utils, index, arch_str, v):
    res = api_utils.ArchResults(index, arch_str)
    p, f = v["params"], v["flops"]
    res.update("cifar10-valid", SEED, trial(api_utils, arch_str, p, f, {"x-valid": v["cifar10"]["val"], "ori-test": NAN}))
    res.update("cifar10", SEED, trial(api_utils, arch_str, p, f, {"ori-test": v["cifar10"]["test"]}))
    for task in ("cifar100", "ImageNet16-120"):
        res.update(task, SEED, trial(api_utils, arch_str, p, f, {"x-valid": v[task]["val"], "x-test": v[task]["test"], "ori-test": NAN}))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True, help="directory (nats) or .pth file (pth)")
    ap.add_argument("--format", choices=("nats", "pth"), default="nats")
    ap.add_argument("--archs", type=int, default=4)
    a = ap.parse_args()

    bench = os.path.join(a.data_dir, "benchmarks", "nb201")
    with open(os.path.join(bench, "nats-tss-test-accuracy-200ep.csv")) as f:
        rows = list(csv.DictReader(f))
    meta_archs = [r["ArchitectureString"] for r in rows]
    index_of = {s: i for i, s in enumerate(meta_archs)}
    test_cols = {"cifar10": "CIFAR10TestAccuracy200Epochs", "cifar100": "CIFAR100TestAccuracy200Epochs", "ImageNet16-120": "ImageNetTestAccuracy200Epochs"}
    with open(os.path.join(bench, "zc_nasbench201.json")) as f:
        zc = json.load(f)
    common = [k for k in zc["cifar10"] if all(k in zc[t] for t in TASKS)][: a.archs]
    picked = []
    for key in common:
        s = official(key)
        i = index_of[s]
        v = {"params": zc["cifar10"][key]["params"]["score"], "flops": zc["cifar10"][key]["flops"]["score"]}
        for t in TASKS:
            v[t] = {"val": zc[t][key]["val_accuracy"], "test": float(rows[i][test_cols[t]])}
        picked.append((i, s, v))

    if a.format == "nats":
        from nats_bench import api_utils
        os.makedirs(a.out, exist_ok=True)
        api_utils.pickle_save({"meta_archs": meta_archs}, os.path.join(a.out, "meta.pickle"))
        for i, s, v in picked:
            api_utils.pickle_save({"200": arch_results(api_utils, i, s, v).state_dict()}, os.path.join(a.out, f"{i:06d}.pickle"))
    else:
        import torch
        from nas_201_api import api_utils
        infos = {}
        for i, s, v in picked:
            state = arch_results(api_utils, i, s, v).state_dict()
            infos[i] = {"less": state, "full": state}
        torch.save({"meta_archs": meta_archs, "arch2infos": infos, "evaluated_indexes": set(infos)}, a.out)
    for i, s, v in picked:
        print(json.dumps({"index": i, "arch": s, **v}))


if __name__ == "__main__":
    main()
