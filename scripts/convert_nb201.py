#!/usr/bin/env python3
"""Convert an official NAS-Bench-201 / NATS-Bench (topology) archive into a swapnas archive.

Reads the archive through its own public API and writes `nb201.h5` in the format of
`swapnas data import` (scripts/swapnas_archive.py): the official arch strings, the official
index, and per task (cifar10, cifar100, ImageNet16-120) the 200-epoch metrics averaged over
the trained seeds (`is_random=False`), exactly as `get_more_info(i, dataset, hp="200")` and
`get_cost_info(i, dataset, hp="200")` return them:

| task           | val_accuracy                           | test_accuracy                       |
|----------------|----------------------------------------|-------------------------------------|
| cifar10        | `cifar10-valid` valid-accuracy         | `cifar10` test-accuracy (train+val) |
| cifar100       | `cifar100` valid-accuracy (x-valid)    | `cifar100` test-accuracy (x-test)   |
| ImageNet16-120 | `ImageNet16-120` valid-accuracy        | `ImageNet16-120` test-accuracy      |

plus train_accuracy, params (M) and flops (M). `zen` (NAS-Bench-Suite-Zero's score, which
the NB201 table carries) is not in the official archives and is written as NaN.

Sources (pick one):
  * NATS-Bench topology, `NATS-tss-v1_0-3ffb9-simple/` (a directory; read with `nats_bench`
    in fast mode — pure Python, `pip install nats_bench`) or the single-file
    `NATS-tss-v1_0-3ffb9-full.pickle.pbz2`;
  * NAS-Bench-201 `NAS-Bench-201-v1_0-e61699.pth` or `NAS-Bench-201-v1_1-096897.pth` (read
    with `nas_201_api`, which needs PyTorch: `pip install nas-bench-201 torch`).

Usage:
    python3 scripts/convert_nb201.py NATS-tss-v1_0-3ffb9-simple data/benchmarks/nb201/nb201.h5
Then every swapnas run with that data directory loads the table from the archive. Archs the
source has no results for are left out (a warning says how many); swapnas' NB201 loader
needs all 15,625.
"""
import argparse
import os
import sys

from swapnas_archive import provenance, run_converter, write_archive

TASKS = ("cifar10", "cifar100", "ImageNet16-120")
HP = "200"


def open_api(source):
    """The benchmark API for `source`, and a name for the provenance."""
    if source.endswith(".pth"):
        # The official archives pickle the API's own result objects, which torch ≥ 2.6's
        # weights-only loading refuses; they are a trusted download, so load them in full.
        os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
        try:
            from nas_201_api import NASBench201API
        except ImportError as e:
            sys.exit(f"{source}: reading a NAS-Bench-201 .pth needs nas_201_api and PyTorch "
                     f"(pip install nas-bench-201 torch): {e}")
        return NASBench201API(source, verbose=False), "nas_201_api.NASBench201API"
    try:
        import nats_bench
    except ImportError as e:
        sys.exit(f"{source}: reading a NATS-Bench archive needs nats_bench (pip install nats_bench): {e}")
    fast = os.path.isdir(source)
    return nats_bench.create(source, "tss", fast_mode=fast, verbose=False), f"nats_bench.create(fast_mode={fast})"


def has_results(api, index):
    """Whether the archive has 200-epoch results for arch `index` (fast-mode archives load one
    file per arch; the others list their evaluated indexes)."""
    if getattr(api, "fast_mode", False) and getattr(api, "archive_dir", None):
        d = api.archive_dir
        return any(os.path.isfile(os.path.join(d, name)) for name in (f"{index:06d}.pickle.pbz2", f"{index}.pickle.pbz2"))
    return index in api.evaluated_indexes


def convert(source, dest):
    api, reader = open_api(source)
    indexes = [i for i in range(len(api)) if has_results(api, i)]
    if not indexes:
        sys.exit(f"{source}: the archive has no architecture with results")
    archs = [api.meta_archs[i] for i in indexes]
    tasks = {t: {m: [] for m in ("val_accuracy", "test_accuracy", "train_accuracy", "params", "flops")} for t in TASKS}
    for i in indexes:
        for task in TASKS:
            col = tasks[task]
            # One query per dataset (None = unknown, written as NaN); CIFAR-10's validation
            # accuracy comes from its train/valid split, `cifar10-valid`.
            info = api.get_more_info(i, task, hp=HP, is_random=False)
            valid = api.get_more_info(i, "cifar10-valid", hp=HP, is_random=False) if task == "cifar10" else info
            col["val_accuracy"].append(valid.get("valid-accuracy"))
            col["test_accuracy"].append(info.get("test-accuracy"))
            col["train_accuracy"].append(info.get("train-accuracy"))
            cost = api.get_cost_info(i, task, hp=HP)
            col["params"].append(cost.get("params"))
            col["flops"].append(cost.get("flops"))
    for col in tasks.values():
        col["zen"] = [None] * len(indexes)
    missing = len(api) - len(indexes)
    if missing:
        print(f"warning: {source} has no results for {missing} of {len(api)} archs; they are left out", file=sys.stderr)
    metrics = f"hp={HP}, mean over trained seeds; cifar10 val = cifar10-valid x-valid; zen not in the source (NaN)"
    write_archive(dest, "nb201", archs, tasks, provenance(source, reader, "scripts/convert_nb201.py", metrics), index=indexes)
    print(f"wrote {dest}: {len(archs)} archs x {len(TASKS)} tasks from {source}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="NATS-tss-v1_0-3ffb9-simple/ (dir), a NATS .pickle.pbz2, or a NAS-Bench-201 .pth")
    p.add_argument("dest", help="output archive, e.g. data/benchmarks/nb201/nb201.h5")
    a = p.parse_args()
    run_converter(
        a.source,
        lambda: convert(a.source, a.dest),
        "NAS-Bench-201 / NATS-Bench topology archive",
        "the benchmark's release page",
        errors=(OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, AssertionError),
        exists=os.path.exists,
        missing="no such file or directory",
    )


if __name__ == "__main__":
    main()
