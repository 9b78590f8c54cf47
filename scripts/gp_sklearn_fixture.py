#!/usr/bin/env python3
"""Writes reports/tests/data/gp_sklearn.json, scikit-learn's Gaussian-process fits that
reports/tests/gp_sklearn.rs checks swapnas' few-shot GP (reports/src/gp.rs) against.

    python3 scripts/gp_sklearn_fixture.py RUN/scores.csv

RUN is a run with `--proxies label_free --accuracy test` (the committed fixture: 200 seeded
NB201 CIFAR-10 archs, seed 0). Each entry is one few-shot draw (K labelled archs, numpy seed):
the features as swapnas builds them (scripts/few_shot_learners.py), the labelled archs'
accuracy ranks / K, and scikit-learn's fit — GaussianProcessRegressor(ConstantKernel × RBF
(ℓ in [1e-2, 1e2]) + WhiteKernel (in [1e-4, 1]), normalize_y=True, 10 optimizer restarts) —
with its predictions on the other archs. Needs numpy, scipy and scikit-learn.
"""
import csv
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from scipy.stats import rankdata
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from few_shot_learners import LABEL_FREE, features, score  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports", "tests", "data", "gp_sklearn.json")


def main():
    warnings.filterwarnings("ignore")
    rows = list(csv.DictReader(open(sys.argv[1])))
    members = LABEL_FREE.split(",")
    scores = np.array([[score(r[m]) for m in members] for r in rows])
    acc = np.array([float(r["test_accuracy"]) for r in rows])
    draws = []
    for k, seed in [(30, 0), (80, 1)]:
        order = np.random.default_rng(seed).permutation(len(acc))
        train, rest = order[:k], order[k:]
        x, x_rest = features(scores, train, rest)
        y = rankdata(acc[train]) / k
        kernel = ConstantKernel(1.0) * RBF(1.0, (1e-2, 1e2)) + WhiteKernel(0.1, (1e-4, 1.0))
        gp = GaussianProcessRegressor(kernel, normalize_y=True, n_restarts_optimizer=10, random_state=0).fit(x, y)
        print(k, gp.kernel_, gp.log_marginal_likelihood_value_)
        draws.append(
            {
                "k": k,
                "x_train": x.round(6).tolist(),
                "y": y.tolist(),
                "x_test": x_rest.round(6).tolist(),
                "sklearn_prediction": gp.predict(x_rest).tolist(),
                "sklearn_kernel": str(gp.kernel_),
                "sklearn_log_likelihood": gp.log_marginal_likelihood_value_,
            }
        )
    source = (
        f"scripts/gp_sklearn_fixture.py on {len(acc)} seeded NB201 CIFAR-10 archs (seed 0; the label_free members' "
        f"scores from swapnas, test accuracy), scikit-learn {sklearn.__version__}"
    )
    json.dump({"source": source, "draws": draws}, open(OUT, "w"))


if __name__ == "__main__":
    main()
