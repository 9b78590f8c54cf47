#!/usr/bin/env python3
"""AZ-NAS with the official PyTorch procedure, on the archs of a swapnas run, to check
swapnas' `az_nas` arch by arch.

Follows cvlab-yonsei/AZ-NAS `NB201/ZeroShotProxy/compute_az_nas_score.py` and
`NB201/custom/tss_model.py::extract_cell_features` (the formulas are restated here, on the
NAS-Bench-201 network of `swap_reference.py`): kaiming_normal_(fan_in) init, biases 0, BN 1/0,
train-mode BN, 64 N(0,1) noise images; features = stem + 17 cell outputs; expressivity = Σ
entropy of the normalised channel-covariance eigenvalues, progressivity = min consecutive
difference, trainability = mean over cells of −σ − 1/(σ+1e-6) + 2 (σ: largest singular value
of g_inᵀ g_out / (B·H·W), Rademacher g_out, PixelUnshuffle at reductions; −inf for an exact
identity); NaN → −inf; complexity = FLOPs (the run's az_complexity column); az_nas = Σ of
log(rank/n) over the four components, ranks among the run's archs.

It seeds once per draw (`--seed`), as the official notebook does (prepare_seed(1)) and scores
the archs in the run's order. It prints, per component, Spearman(swapnas, reference) over the
archs, and both implementations' ρ with the run's accuracy; with --draws 2 also the reference's
own draw-to-draw agreement.

Usage:
    swapnas --bench nb201 --task cifar10 --archs 300 --proxies az_nas --out results/az
    python3 scripts/az_nas_reference.py results/az/scores.csv --task cifar10 [--limit 100] [--draws 2]
"""
import argparse
import csv
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swap_reference import TinyNetwork  # noqa: E402  (the NB201 network, plain PyTorch)

COMPONENTS = ("az_expressivity", "az_progressivity", "az_trainability")


def init_kaiming_fanin(net):
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def cell_features(net, x):
    feats = []
    f = net.stem(x)
    f.retain_grad()
    feats.append(f)
    for cell in net.cells:
        f = cell(f)
        f.retain_grad()
        feats.append(f)
    return feats


def entropy(feat):
    b, c, h, w = feat.shape
    feat = feat.permute(0, 2, 3, 1).contiguous().view(b * h * w, c)
    feat = feat - feat.mean(dim=0, keepdim=True)
    sigma = torch.mm(feat.T, feat) / feat.size(0)
    s = torch.linalg.eigvalsh(sigma)
    p = s / s.sum()
    return float(((-p) * torch.log(p + 1e-8)).sum())


def az_components(net, x):
    feats = cell_features(net, x)
    ent = [entropy(f.detach()) for f in feats]
    ent = np.array(ent)
    expressivity = float(np.sum(ent))
    progressivity = float(np.min(ent[1:] - ent[:-1]))
    scores = []
    for i in reversed(range(1, len(feats))):
        f_out, f_in = feats[i], feats[i - 1]
        g_out = (torch.bernoulli(torch.ones_like(f_out) * 0.5) - 0.5) * 2
        g_in = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True)[0]
        if g_out.size() == g_in.size() and torch.all(g_in == g_out):
            scores.append(-np.inf)
            continue
        if g_out.size(2) != g_in.size(2) or g_out.size(3) != g_in.size(3):
            g_in = nn.PixelUnshuffle(g_in.size(2) // g_out.size(2))(g_in)
        bo, co, ho, wo = g_out.size()
        bi, ci, hi, wi = g_in.size()
        go = g_out.permute(0, 2, 3, 1).contiguous().view(bo * ho * wo, co)
        gi = g_in.permute(0, 2, 3, 1).contiguous().view(bi * hi * wi, ci)
        mat = torch.mm(gi.T, go) / go.size(0)
        if mat.size(0) < mat.size(1):
            mat = mat.T
        s = torch.linalg.svdvals(mat)
        scores.append(float(-s.max() - 1.0 / (s.max() + 1e-6) + 2))
    trainability = float(np.mean(scores))
    out = {"az_expressivity": expressivity, "az_progressivity": progressivity, "az_trainability": trainability}
    return {k: (-np.inf if (isinstance(v, float) and math.isnan(v)) else v) for k, v in out.items()}


def rank_agg(columns):
    n = len(columns[0])
    total = np.zeros(n)
    for col in columns:
        total += np.log(stats.rankdata(col) / n)
    return total


def spearman(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    a = np.where(np.isfinite(a), a, -1e300)
    b = np.where(np.isfinite(b), b, -1e300)
    return float(stats.spearmanr(a, b)[0])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scores_csv", help="scores.csv of a swapnas run with --proxies az_nas (nb201)")
    p.add_argument("--task", required=True, choices=["cifar10", "cifar100", "ImageNet16-120"])
    p.add_argument("--limit", type=int, default=0, help="only the first N archs")
    p.add_argument("--draws", type=int, default=1, help="reference draws (seeds 1, 2, …)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = list(csv.DictReader(open(args.scores_csv)))
    if args.limit:
        rows = rows[: args.limit]
    classes = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}[args.task]
    res = 16 if args.task == "ImageNet16-120" else 32
    acc = [float(r["accuracy"]) for r in rows]
    flops = [float(r["az_complexity"]) for r in rows]
    ours = {k: [float(r[k]) for r in rows] for k in COMPONENTS}
    ours_agg = rank_agg([ours[k] for k in COMPONENTS] + [flops])
    draws = []
    for d in range(args.draws):
        torch.manual_seed(d + 1)
        np.random.seed(d + 1)
        ref = {k: [] for k in COMPONENTS}
        for i, r in enumerate(rows):
            net = TinyNetwork(r["arch"], classes)
            init_kaiming_fanin(net)
            net.train()
            x = torch.randn([64, 3, res, res])
            for k, v in az_components(net, x).items():
                ref[k].append(v)
            if (i + 1) % 50 == 0:
                print(f"  draw {d + 1}: {i + 1}/{len(rows)} archs", file=sys.stderr)
        draws.append(ref)
    ref = draws[0]
    ref_agg = rank_agg([ref[k] for k in COMPONENTS] + [flops])
    n = len(rows)
    print(f"{args.task}: {n} archs, PyTorch {torch.__version__}, reference seeded once per draw")
    print(f"{'component':<18} {'rho(ours,ref)':>14} {'rho(ours,acc)':>14} {'rho(ref,acc)':>13}")
    for k in COMPONENTS:
        print(f"{k:<18} {spearman(ours[k], ref[k]):>14.3f} {spearman(ours[k], acc):>14.3f} {spearman(ref[k], acc):>13.3f}")
    print(f"{'az_nas':<18} {spearman(ours_agg, ref_agg):>14.3f} {spearman(ours_agg, acc):>14.3f} {spearman(ref_agg, acc):>13.3f}")
    if len(draws) > 1:
        other = draws[1]
        other_agg = rank_agg([other[k] for k in COMPONENTS] + [flops])
        print("reference draw 1 vs draw 2: " + ", ".join(f"{k} {spearman(ref[k], other[k]):.3f}" for k in COMPONENTS)
              + f", az_nas {spearman(ref_agg, other_agg):.3f}; az_nas rho(acc) draw 2 {spearman(other_agg, acc):.3f}")


if __name__ == "__main__":
    main()
