#!/usr/bin/env python3
"""Few-shot prediction with other learners than swapnas' greedy least squares, on a run's scores.

    python3 scripts/few_shot_learners.py RUN/scores.csv [--accuracy test_accuracy] \
        [--members vkdnw,az_expressivity,…] [--k 20,50,100,200] [--draws 5] [--shuffled]

Asks whether a stronger learner earns its place in `--few-shot` (issue: "gradient-boosted
trees or a small GP, if it earns it"). Each draw labels K archs drawn at random (numpy seed =
draw index), fits on them alone and reports Spearman ρ on every other arch, mean ± sd over
draws. Features are built as swapnas' fit builds them: each member's score → its rank among
the K labelled archs / K (non-finite lowest), an unlabelled arch placed where its score falls
among the labelled archs' scores; the target is the labelled archs' accuracy rank / K. No
unlabelled accuracy enters anything but the reported ρ. `--shuffled` also fits each learner
to a shuffled target (the leakage check: ρ ≈ 0 on average; a single draw can be far from 0,
since any weighting of members that all track accuracy ranks the rest, with a random sign).

Learners: `ls` (least squares on every member), `ridge` (RidgeCV, α by leave-one-out),
`gp` (Gaussian process, constant × RBF + white noise, hyperparameters by marginal likelihood
on the labelled archs), `gp_lin` (the same plus a linear kernel), `gbdt` (gradient-boosted
trees, 100 stumps of depth 2, learning rate 0.05, subsample 0.8). Needs numpy, scipy and
scikit-learn.
"""
import argparse
import csv
import math
import warnings

import numpy as np
from scipy.stats import rankdata, spearmanr
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, DotProduct, WhiteKernel
from sklearn.linear_model import LinearRegression, RidgeCV

LABEL_FREE = "vkdnw,az_expressivity,az_progressivity,az_trainability,flops,jacov,meco,reg_swap"

LEARNERS = {
    "ls": lambda: LinearRegression(),
    "ridge": lambda: RidgeCV(alphas=np.logspace(-3, 2, 12)),
    "gp": lambda: GaussianProcessRegressor(
        ConstantKernel(1.0) * RBF(1.0, (1e-2, 1e2)) + WhiteKernel(0.1, (1e-4, 1.0)), normalize_y=True
    ),
    "gp_lin": lambda: GaussianProcessRegressor(
        ConstantKernel(1.0) * DotProduct(0.1)
        + ConstantKernel(1.0) * RBF(1.0, (1e-2, 1e2))
        + WhiteKernel(0.1, (1e-4, 1.0)),
        normalize_y=True,
    ),
    "gbdt": lambda: GradientBoostingRegressor(
        n_estimators=100, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=0
    ),
}


def score(v):
    try:
        x = float(v)
    except ValueError:
        return -math.inf
    return x if math.isfinite(x) else -math.inf


def features(scores, train, rest):
    """Per member: rank among the labelled archs / K, and the unlabelled archs' place there."""
    k = len(train)
    cols_train, cols_rest = [], []
    for j in range(scores.shape[1]):
        ref = scores[train, j]
        cols_train.append(rankdata(ref) / k)
        below = np.searchsorted(np.sort(ref), scores[rest, j], side="left")
        upto = np.searchsorted(np.sort(ref), scores[rest, j], side="right")
        cols_rest.append((below + 0.5 * (upto - below) + 0.5) / k)
    return np.column_stack(cols_train), np.column_stack(cols_rest)


def parser(doc):
    """The flags this script and `nb201_graph_features.py` share."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("scores_csv")
    p.add_argument("--accuracy", default="test_accuracy")
    p.add_argument("--members", default=LABEL_FREE)
    p.add_argument("--k", default="20,50,100,200")
    p.add_argument("--draws", type=int, default=5)
    return p


def load(args):
    """A run's scores.csv: its rows, the members, their scores (one column each), accuracy."""
    warnings.filterwarnings("ignore")
    rows = list(csv.DictReader(open(args.scores_csv)))
    members = args.members.split(",")
    missing = [m for m in members + [args.accuracy] if m not in rows[0]]
    if missing:
        raise SystemExit(f"{args.scores_csv} has no column {missing}: pass --members / --accuracy")
    scores = np.array([[score(r[m]) for m in members] for r in rows])
    acc = np.array([float(r[args.accuracy]) for r in rows])
    return rows, members, scores, acc


def main():
    p = parser(__doc__)
    p.add_argument("--shuffled", action="store_true")
    args = p.parse_args()
    rows, members, scores, acc = load(args)
    n = len(acc)
    print(f"{args.scores_csv}: n = {n}, accuracy {args.accuracy}, members {','.join(members)}")
    if "label_free" in rows[0]:
        lf = np.array([score(r["label_free"]) for r in rows])
        print(f"label_free (no labels) on all {n}: rho {spearmanr(lf, acc)[0]:.3f}")
    for k in map(int, args.k.split(",")):
        if k >= n - 2:
            continue
        result = {name: [] for name in LEARNERS}
        shuffled = {name: [] for name in LEARNERS}
        for draw in range(args.draws):
            rng = np.random.default_rng(draw)
            order = rng.permutation(n)
            train, rest = order[:k], order[k:]
            x_train, x_rest = features(scores, train, rest)
            y = rankdata(acc[train]) / k
            for name, make in LEARNERS.items():
                result[name].append(spearmanr(make().fit(x_train, y).predict(x_rest), acc[rest])[0])
                if args.shuffled:
                    fit = make().fit(x_train, rng.permutation(y))
                    shuffled[name].append(spearmanr(fit.predict(x_rest), acc[rest])[0])
        line = "  ".join(f"{name} {np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" for name, v in result.items())
        print(f"K = {k}: {line}")
        if args.shuffled:
            line = "  ".join(f"{name} {np.nanmean(v):+.3f} ± {np.nanstd(v, ddof=1):.3f}" for name, v in shuffled.items())
            print(f"  shuffled target: {line}")


if __name__ == "__main__":
    main()
