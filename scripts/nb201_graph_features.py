#!/usr/bin/env python3
"""NB201 graph features in a few-shot GP, with scikit-learn: the check behind `gp_graph`.

    python3 scripts/nb201_graph_features.py RUN/scores.csv [--accuracy test_accuracy] \
        [--k 20,50,100,200] [--draws 5]

Reads an NB201 run's scores.csv (its `arch` column in the official string) and fits, on K
labelled archs per draw (numpy seed = draw index, as `few_shot_learners.py`), scikit-learn's GP
(constant × RBF + white noise, marginal likelihood; isotropic) on:

  gp          the members' ranks alone (as `few_shot_learners.py`'s `gp`),
  gp_graph    the members and the nine features swapnas declares (`Nb201Arch::graph_features`),
  -<group>    the same without one group of the nine (ops, paths, convs, shortest),
  gp_graf     the members and GRAF's NB201 set (Kadlecová et al., ICML 2024; their
              `configs/nb201_full.json`: op counts, `min_path_len` with each op subset banned,
              `max_op_on_path` with each op subset allowed, node degrees — 185 features),
  rf_graf     a random forest (300 trees) on the members and GRAF's set, as GRAF fits one.

Every graph feature is scaled to [0, 1] over the labelled archs, as swapnas scales it. Prints ρ
on the unlabelled rest, mean ± sd over draws. The nine are computed here independently of the
Rust code; GRAF's follow the definitions of their `zc_combine/features/base.py` (read, not
copied). Needs numpy, scipy and scikit-learn.
"""
import itertools

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.ensemble import RandomForestRegressor

from few_shot_learners import LEARNERS, features, load, parser

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
SUBSETS = [set(s) for r in (1, 2, 3, 4) for s in itertools.combinations(range(5), r)]
PATHS = [[(1, 4)], [(1, 2), (2, 4)], [(1, 3), (3, 4)], [(1, 2), (2, 3), (3, 4)]]
GROUPS = {"ops": [0, 1, 2, 3, 4], "paths": [5], "convs": [6, 7], "shortest": [8]}


def edges(arch):
    """{(from, to): op index}, nodes 1..4, from the official string."""
    e = {}
    for k, node in enumerate(arch.strip().strip("|").split("|+|")):
        for term in node.split("|"):
            op, src = term.split("~")
            e[(int(src) + 1, k + 2)] = OPS.index(op)
    return e


def nine(arch):
    e = edges(arch)
    counts = [sum(v == o for v in e.values()) for o in range(5)]
    open_paths = [p for p in PATHS if all(e[x] != 0 for x in p)]
    convs = [sum(e[x] in (2, 3) for x in p) for p in open_paths]
    return counts + [len(open_paths), max(convs, default=-1), min(convs, default=-1),
                     min((len(p) for p in open_paths), default=4)]


def graf(arch):
    e = edges(arch)
    f = [sum(v == o for v in e.values()) for o in range(5)]
    for banned in SUBSETS:  # min_path_len: shortest path over edges whose op is not banned
        dist = {1: 0}
        for n in (1, 2, 3):
            for (a, b), op in sorted(e.items()):
                if a == n and n in dist and op not in banned:
                    dist[b] = min(dist.get(b, 99), dist[n] + 1)
        f.append(dist.get(4, 5))
    for allowed in SUBSETS:  # max_op_on_path: the path of least Σ(−1 allowed, +1 other)
        best = {1: (0, 0)}
        for n in (1, 2, 3):
            for (a, b), op in sorted(e.items()):
                if a == n and n in best:
                    w = -1 if op in allowed else 1
                    cand = (best[n][0] + w, best[n][1] + (op in allowed))
                    if b not in best or cand[0] < best[b][0]:
                        best[b] = cand
        f.append(best[4][1])
    for allowed in SUBSETS:  # node_degree: out of the input, into the output, averages
        out = {k: sum(1 for (a, _), op in e.items() if a == k and op in allowed) for k in (1, 2, 3, 4)}
        inn = {k: sum(1 for (_, b), op in e.items() if b == k and op in allowed) for k in (1, 2, 3, 4)}
        f += [out[1], inn[4], sum(out.values()) / 4, sum(inn.values()) / 4]
    return f


def scaled(g, train, rest):
    lo, hi = g[train].min(0), g[train].max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (g[train] - lo) / span, (g[rest] - lo) / span


def main():
    args = parser(__doc__).parse_args()
    rows, members, scores, acc = load(args)
    g9 = np.array([nine(r["arch"]) for r in rows], float)
    g185 = np.array([graf(r["arch"]) for r in rows], float)
    n = len(acc)
    print(f"{args.scores_csv}: n = {n}, accuracy {args.accuracy}, members {','.join(members)}; "
          f"GRAF: {g185.shape[1]} features, {np.unique(g185, axis=1).shape[1]} distinct")
    for k in map(int, args.k.split(",")):
        result = {}
        for draw in range(args.draws):
            order = np.random.default_rng(draw).permutation(n)
            train, rest = order[:k], order[k:]
            x_train, x_rest = features(scores, train, rest)
            y = rankdata(acc[train]) / k
            g9_train, g9_rest = scaled(g9, train, rest)
            graf_train, graf_rest = scaled(g185, train, rest)
            sets = {"gp": (x_train, x_rest), "gp_graph": (np.hstack([x_train, g9_train]), np.hstack([x_rest, g9_rest]))}
            for name, cols in GROUPS.items():
                keep = [c for c in range(9) if c not in cols]
                sets[f"-{name}"] = (np.hstack([x_train, g9_train[:, keep]]), np.hstack([x_rest, g9_rest[:, keep]]))
            sets["gp_graf"] = (np.hstack([x_train, graf_train]), np.hstack([x_rest, graf_rest]))
            for name, (a, b) in sets.items():
                result.setdefault(name, []).append(spearmanr(LEARNERS["gp"]().fit(a, y).predict(b), acc[rest])[0])
            forest = RandomForestRegressor(300, random_state=0).fit(sets["gp_graf"][0], y)
            result.setdefault("rf_graf", []).append(spearmanr(forest.predict(sets["gp_graf"][1]), acc[rest])[0])
        line = "  ".join(f"{name} {np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" for name, v in result.items())
        print(f"K = {k}: {line}")


if __name__ == "__main__":
    main()
