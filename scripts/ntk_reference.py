#!/usr/bin/env python3
"""HNAS's NTK metric with the reference procedure in PyTorch, on the archs of a swapnas run, to
check swapnas' `ntk` and `ntk_condnum` arch by arch.

Restates shuyao95/HNAS `foresight/pruners/measures/ntk_trace.py` and `condnum.py` with
`tools/autograd_hacks.py` (per-sample gradients of nn.Conv2d and nn.Linear weights and biases
from each layer's input and the gradient of its output, `loss_type='sum'`): PyTorch default
init, BN in train mode, one backward pass of the sum of each image's true-class logit,
Θ = J Jᵀ, M = √(Σλ / N), κ = λ_max / λ_min (NaN → 1e5), on the NAS-Bench-201 network of
`swap_reference.py` and the run's first N training images. The weights are PyTorch's own draw
(seeded once per draw), so the two implementations agree up to the proxy's dependence on the
initialisation: `--draws 2` prints the reference's own draw-to-draw agreement beside.

Usage:
    swapnas --bench nb201 --task cifar10 --archs 30 --proxies ntk,ntk_condnum --out results/ntk
    python3 scripts/ntk_reference.py results/ntk/scores.csv --task cifar10 --data-dir ../shared/data [--draws 2]
"""
import argparse
import csv
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swap_reference import TinyNetwork, first_images, spearman  # noqa: E402


def labels(data_dir, task, n):
    if task == "cifar10":
        path, rec, at = "images/cifar-10-batches-bin/data_batch_1.bin", 1 + 3072, 0
    elif task == "cifar100":
        path, rec, at = "images/cifar-100-binary/train.bin", 2 + 3072, 1
    else:
        path, rec, at = "images/imagenet16-120-standin/val.bin", 1 + 768, 0
    raw = np.fromfile(os.path.join(data_dir, path), dtype=np.uint8)[: n * rec].reshape(n, rec)
    return torch.from_numpy(raw[:, at].astype(np.int64))


def ntk(net, x, y):
    """autograd_hacks' grad1 of every Conv2d / Linear (weight and bias), then Θ = J Jᵀ."""
    net.train()
    acts, backs = {}, {}
    layers = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    hooks = []
    for m in layers:
        hooks.append(m.register_forward_hook(lambda m, i, o: acts.__setitem__(m, i[0].detach())))
        hooks.append(m.register_full_backward_hook(lambda m, gi, go: backs.__setitem__(m, go[0].detach())))
    out = net(x)
    out[torch.arange(len(y)), y].sum().backward()
    for h in hooks:
        h.remove()
    n = x.shape[0]
    grads = []
    for m in layers:
        if m not in backs:
            continue
        a, b = acts[m], backs[m]
        if isinstance(m, nn.Linear):
            grads.append(torch.einsum("ni,nj->nij", b, a).reshape(n, -1))
            if m.bias is not None:
                grads.append(b)
        else:
            a = F.unfold(a, m.kernel_size, dilation=m.dilation, padding=m.padding, stride=m.stride)
            b = b.reshape(n, -1, a.shape[-1])
            grads.append(torch.einsum("ijk,ilk->ijl", b, a).reshape(n, -1))
            if m.bias is not None:
                grads.append(b.sum(dim=2))
    j = torch.cat(grads, dim=1)
    theta = j @ j.t()
    eig = torch.linalg.eigvalsh(theta)
    trace_norm = float(np.sqrt(eig.sum().item() / n))
    cond = float(np.nan_to_num((eig[-1] / eig[0]).item(), nan=100000.0))
    return trace_norm, cond


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scores_csv", help="scores.csv of a swapnas nb201 run with --proxies ntk,ntk_condnum")
    p.add_argument("--task", required=True, choices=["cifar10", "cifar100", "ImageNet16-120"])
    p.add_argument("--data-dir", required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--draws", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = list(csv.DictReader(open(args.scores_csv)))
    if args.limit:
        rows = rows[: args.limit]
    classes = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}[args.task]
    x, y = first_images(args.data_dir, args.task, args.batch), labels(args.data_dir, args.task, args.batch)
    acc = [float(r["accuracy"]) for r in rows]
    ours_m = [float(r["ntk"]) for r in rows]
    ours_k = [-float(r["ntk_condnum"]) for r in rows]
    draws = []
    for d in range(args.draws):
        torch.manual_seed(d + 1)
        ms, ks = [], []
        for i, r in enumerate(rows):
            m, k = ntk(TinyNetwork(r["arch"], classes), x, y)
            ms.append(m)
            ks.append(k)
            if (i + 1) % 10 == 0:
                print(f"  draw {d + 1}: {i + 1}/{len(rows)} archs", file=sys.stderr)
        draws.append((ms, ks))
    ref_m, ref_k = draws[0]
    print(f"{args.task}: {len(rows)} archs, N = {args.batch}, PyTorch {torch.__version__}")
    print(f"{'score':<12} {'rho(ours,ref)':>14} {'rho(ours,acc)':>14} {'rho(ref,acc)':>13} {'median ours/ref':>16}")
    for name, ours, ref, sign in [("ntk", ours_m, ref_m, 1), ("condnum", ours_k, ref_k, -1)]:
        ratio = float(np.median(np.array(ours) / np.array(ref)))
        print(f"{name:<12} {spearman(ours, ref):>14.3f} {spearman([sign * v for v in ours], acc):>14.3f} "
              f"{spearman([sign * v for v in ref], acc):>13.3f} {ratio:>16.3f}")
    if len(draws) > 1:
        om, ok = draws[1]
        print(f"reference draw 1 vs draw 2: ntk {spearman(ref_m, om):.3f}, condnum {spearman(ref_k, ok):.3f}")


if __name__ == "__main__":
    main()
