#!/usr/bin/env python3
"""hidden_cov arch by arch against Serianni & Kalita's published per-arch NAS-Bench-NLP scores.

    python3 scripts/serianni_rnn_compare.py RNN_results.csv L1/scores.csv [L2/scores.csv [L3/scores.csv]]

RNN_results.csv is aaronserianni/training-free-nas @ 2d76e01 `data/RNN_results.csv` (their
layer 1-3 hidden covariance of 8,794 cells with PTB as input, and each cell's final PTB test
loss). Each scores.csv is a `swapnas --bench nasbench-nlp --proxies hidden_cov
[--hidden-cov-layer L]` run (its `recipe_id`, `hidden_cov` and `accuracy` columns). Cells are
matched by recipe id (the first log of each). Prints, per layer: Spearman(ours, theirs) over the
shared cells, and both scores' Spearman with the run's accuracy on those cells; then how well
the cells' PTB and WikiText-2 results agree. numpy only.
"""
import csv
import sys

import numpy as np


def ranks(values):
    a = np.asarray(values, float)
    order = np.argsort(a, kind="mergesort")
    r = np.empty(len(a))
    s = a[order]
    i = 0
    while i < len(a):
        j = i
        while j + 1 < len(a) and s[j + 1] == s[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2  # ties: average rank
        i = j + 1
    return r


def spearman(x, y):
    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    theirs, ptb_loss = {}, {}
    with open(sys.argv[1], encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            rid = int(r["log name"].split("_")[3])
            theirs.setdefault(rid, [float(r[f"Layer {l} Hidden Covariance"]) for l in (1, 2, 3)])
            ptb_loss.setdefault(rid, -float(r["loss"]))
    accuracy = {}
    for layer, path in enumerate(sys.argv[2:5], start=1):
        ours = {}
        with open(path) as f:
            for r in csv.DictReader(f):
                rid = int(r["recipe_id"])
                ours.setdefault(rid, float(r["hidden_cov"]))
                accuracy.setdefault(rid, float(r["accuracy"]))
        shared = [i for i in ours if i in theirs and np.isfinite(ours[i]) and np.isfinite(theirs[i][layer - 1])]
        if len(shared) < 3:
            sys.exit(f"{path}: fewer than 3 cells shared with {sys.argv[1]}")
        o = [ours[i] for i in shared]
        t = [theirs[i][layer - 1] for i in shared]
        a = [accuracy[i] for i in shared]
        print(f"layer {layer}: {len(shared)} shared cells; Spearman(ours, Serianni) = {spearman(o, t):.3f}; "
              f"vs the run's accuracy: ours {spearman(o, a):.3f}, Serianni's {spearman(t, a):.3f}")
    shared = [i for i in accuracy if i in ptb_loss]
    print(f"the same {len(shared)} cells' −PTB test loss vs the run's accuracy: "
          f"{spearman([ptb_loss[i] for i in shared], [accuracy[i] for i in shared]):.3f}")


if __name__ == "__main__":
    main()
