#!/usr/bin/env python3
"""VKDNW with the official PyTorch procedure, on the archs of a swapnas run, to check
swapnas' `vkdnw_entropy` and `vkdnw` arch by arch.

Restates ondratybl/VKDNW `NB201/ZeroShotProxy/compute_vkdnw_score.py` (get_fisher,
cholesky_covariance, get_jacobian_index with one scalar — index 0 — of each of the first 128
named parameters) as its NB201 driver calls it (64 N(0,1) noise images, kaiming_normal_ fan-in
init, biases 0, BN 1/0, float32, the model in eval() mode for the Jacobians), on the
NAS-Bench-201 network of `swap_reference.py`. VKDNW_single ranks (parameter-tensor count,
entropy) as a tuple; swapnas' `vkdnw` score is count + entropy / (1 + ln 9), which ranks the same.

It seeds once per draw, as the reference driver does, and scores the archs in the run's order.
It prints Spearman(swapnas, reference) of the entropy and of VKDNW_single, both
implementations' ρ with the run's accuracy, whether every tensor count matches, and with
--draws 2 or more the reference's own draw-to-draw agreement (the proxy's noise).

The scores.csv of `swapnas check --draws K` works too (Suite-Zero's arch tuples, accuracy in
`val_accuracy`, our draws in `vkdnw_entropy`, `vkdnw_entropy_draw1`, …): then the entropy's
agreements are averaged over every pair — ours with ours, the reference with itself, ours with
the reference — so the three can be compared on the same archs, and per arch (its mean and sd
over the draws of each implementation, and the paired difference of the means against its
standard error): whether both draw each arch's entropy from one distribution. VKDNW_single
needs `vkdnw`.

`--formula ARCH …` instead scores each NB201 arch string on weights and an input that are a
formula, not a random draw (the `formula_*` functions below, which
`proxies/tests/vkdnw_reference.rs` restates): the same network in both implementations, so
their entropies must agree up to float rounding. It prints the reference's entropy in float64
and float32 and the tensor count per arch.

Usage:
    python3 scripts/vkdnw_reference.py --formula '|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|'
    swapnas --bench nb201 --task cifar10 --archs 30 --proxies vkdnw,vkdnw_entropy --out results/vk
    python3 scripts/vkdnw_reference.py results/vk/scores.csv --task cifar10 [--limit 30] [--draws 2]
    swapnas check --bench nb201 --proxies vkdnw_entropy --archs 100 --draws 3 --out results/vkc
    python3 scripts/vkdnw_reference.py results/vkc/scores.csv --task cifar10 --draws 3
"""
import argparse
import csv
import math
import os
import sys

import numpy as np
import torch
from torch.func import functional_call, jacrev, vmap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swap_reference import TinyNetwork  # noqa: E402  (the NB201 network, plain PyTorch)
from az_nas_reference import init_kaiming_fanin, spearman  # noqa: E402  (the same init, ρ)
from space_rho import official  # noqa: E402  (Suite-Zero's tuple as the official string)

TENSORS = 128


def cholesky_covariance(output):
    alpha = torch.tensor(0.05, dtype=torch.float16, device=output.device)
    prob = torch.nn.functional.softmax(output, dim=1) * (1 - alpha) + alpha / output.shape[1]
    q = torch.ones_like(prob) - torch.cumsum(prob, dim=1)
    q[:, -1] = torch.zeros_like(q[:, -1])
    q_shift = torch.roll(q, shifts=1, dims=1)
    q_shift[:, 0] = torch.ones_like(q_shift[:, 0])
    d = torch.sqrt(prob * q / q_shift)
    L = -torch.matmul(torch.unsqueeze(prob, dim=2), 1 / torch.transpose(torch.unsqueeze(q, dim=2), dim0=1, dim1=2))
    L = torch.nan_to_num(L, neginf=0.0)
    eye = torch.eye(L.shape[1], dtype=output.dtype).repeat(L.shape[0], 1, 1)
    L = L * (1 - eye) + eye
    L = L * (1 - torch.triu(torch.ones(L.shape[1], L.shape[2], dtype=output.dtype), diagonal=1).repeat(L.shape[0], 1, 1))
    return torch.matmul(L, torch.diag_embed(d)).detach()


def jacobian_first_scalars(model, x):
    names = [k for k, _ in model.named_parameters()][:TENSORS]
    params = dict(model.named_parameters())
    chosen = {k: params[k].flatten()[[0]].detach() for k in names}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def sample(s):
        def predict(tmp):
            full = {k: v.detach() for k, v in model.named_parameters()}
            for k, v in tmp.items():
                flat = full[k].flatten().clone()
                flat[[0]] = v
                full[k] = flat.reshape(full[k].shape)
            return functional_call(model, (full, buffers), (s.unsqueeze(0),)).squeeze(0)

        return jacrev(predict)(chosen)

    jac = vmap(sample)(x)
    return torch.cat([torch.flatten(v, start_dim=2) for v in jac.values()], dim=2).detach()


def vkdnw(net, x):
    net.eval()
    with torch.no_grad():
        logits = net(x)
    jac = torch.matmul(cholesky_covariance(logits), jacobian_first_scalars(net, x))
    fisher = torch.mean(torch.matmul(jac.transpose(1, 2), jac), dim=0)
    try:
        lambdas = torch.svd(fisher).S
    except RuntimeError:
        lambdas = torch.zeros(2)
    quantiles = torch.quantile(lambdas, torch.arange(0.1, 1.0, 0.1).to(lambdas.dtype))
    t = quantiles / (torch.linalg.norm(quantiles, ord=1).item() + 1e-10)
    entropy = float(-(t * torch.log(t + 1e-10)).sum())
    return entropy, len(list(net.named_parameters()))


MASK = (1 << 64) - 1
FORMULA_BATCH = 16
FORMULA_INPUT_STREAM = 1_000_000


def formula_uniform(stream, i):
    """splitmix64 of (stream << 32) ^ i, as a float in [0, 1) from its top 53 bits."""
    z = (((stream << 32) ^ i) + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def formula_param(k, shape):
    """Parameter k (named_parameters() order): conv / linear weights uniform with the kaiming
    fan-in standard deviation, 1-D parameters (BN γ and β, biases) 1 ± 0.1."""
    n = int(np.prod(shape))
    u = np.array([formula_uniform(k, i) for i in range(n)])
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = math.sqrt(2.0 / fan_in) * math.sqrt(3.0) * (2.0 * u - 1.0)
    else:
        v = 1.0 + 0.2 * (u - 0.5)
    return torch.tensor(v.astype(np.float32)).reshape(shape)


def formula_input(res):
    n = FORMULA_BATCH * 3 * res * res
    u = np.array([formula_uniform(FORMULA_INPUT_STREAM, i) for i in range(n)])
    return torch.tensor((math.sqrt(3.0) * (2.0 * u - 1.0)).astype(np.float32)).reshape(FORMULA_BATCH, 3, res, res)


def formula_scores(arch, classes, res):
    net = TinyNetwork(arch, classes)
    with torch.no_grad():
        for k, (_, prm) in enumerate(net.named_parameters()):
            prm.copy_(formula_param(k, tuple(prm.shape)))
    x = formula_input(res)
    e32, count = vkdnw(net, x)
    e64, _ = vkdnw(net.double(), x.double())
    return e64, e32, count


def single(count, entropy):
    return count + entropy / (1 + math.log(9))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("scores_csv", nargs="?", help="scores.csv of a swapnas nb201 run with --proxies vkdnw,vkdnw_entropy")
    p.add_argument("--task", default="cifar10", choices=["cifar10", "cifar100", "ImageNet16-120"])
    p.add_argument("--formula", nargs="+", metavar="ARCH", help="score these NB201 arch strings on the formula weights and input")
    p.add_argument("--limit", type=int, default=0, help="only the first N archs")
    p.add_argument("--draws", type=int, default=1, help="reference draws (seeds 1, 2, …)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--csv", help="also write arch, ours and the reference's entropy and count per arch here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    classes = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}[args.task]
    res = 16 if args.task == "ImageNet16-120" else 32
    if args.formula:
        for arch in args.formula:
            e64, e32, count = formula_scores(arch, classes, res)
            print(f"{arch}: entropy float64 {e64!r}, float32 {e32!r}, tensors {count}")
        return
    if not args.scores_csv:
        p.error("give a scores.csv, or --formula ARCH …")
    rows = list(csv.DictReader(open(args.scores_csv)))
    if args.limit:
        rows = rows[: args.limit]
    acc_key = "accuracy" if "accuracy" in rows[0] else "val_accuracy"
    acc = [float(r[acc_key]) for r in rows]
    ours_draws = [[float(r[k]) for r in rows] for k in rows[0] if k == "vkdnw_entropy" or k.startswith("vkdnw_entropy_draw")]
    ours_entropy = ours_draws[0]
    has_single = "vkdnw" in rows[0]
    ours_single = [float(r["vkdnw"]) for r in rows] if has_single else None
    draws = []
    for d in range(args.draws):
        torch.manual_seed(d + 1)
        np.random.seed(d + 1)
        entropies, counts = [], []
        for i, r in enumerate(rows):
            net = TinyNetwork(official(r["arch"]), classes)
            init_kaiming_fanin(net)
            x = torch.randn([64, 3, res, res])
            e, c = vkdnw(net, x)
            entropies.append(e)
            counts.append(c)
            if (i + 1) % 10 == 0:
                print(f"  draw {d + 1}: {i + 1}/{len(rows)} archs", file=sys.stderr)
        draws.append((entropies, counts))
    ref_entropy, ref_count = draws[0]
    ref_single = [single(c, e) for c, e in zip(ref_count, ref_entropy)]
    print(f"{args.task}: {len(rows)} archs, PyTorch {torch.__version__}, reference seeded once per draw")
    print(f"{'score':<15} {'rho(ours,ref)':>14} {'rho(ours,acc)':>14} {'rho(ref,acc)':>13}")
    print(f"{'vkdnw_entropy':<15} {spearman(ours_entropy, ref_entropy):>14.3f} {spearman(ours_entropy, acc):>14.3f} {spearman(ref_entropy, acc):>13.3f}")
    if has_single:
        ours_count = [math.floor(v) for v in ours_single]
        print(f"tensor counts equal on {sum(a == b for a, b in zip(ours_count, ref_count))} of {len(rows)} archs")
        print(f"{'vkdnw':<15} {spearman(ours_single, ref_single):>14.3f} {spearman(ours_single, acc):>14.3f} {spearman(ref_single, acc):>13.3f}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["arch", "ours_entropy", "reference_entropy", "reference_count"])
            for r, oe, re_, rc in zip(rows, ours_entropy, ref_entropy, ref_count):
                w.writerow([r["arch"], oe, re_, rc])
    if len(draws) > 1 and has_single:
        other_entropy, other_count = draws[1]
        other_single = [single(c, e) for c, e in zip(other_count, other_entropy)]
        print(f"reference draw 1 vs draw 2: vkdnw {spearman(ref_single, other_single):.3f}")
    refs = [e for e, _ in draws]

    def mean_sd(pairs):
        v = [spearman(a, b) for a, b in pairs]
        return f"{np.mean(v):.3f} ± {np.std(v):.3f} ({len(v)} pairs)" if v else "—"

    within = lambda xs: [(xs[i], xs[j]) for i in range(len(xs)) for j in range(i + 1, len(xs))]  # noqa: E731
    print(f"vkdnw_entropy, {len(ours_draws)} draws of ours and {len(refs)} of the reference, mean ± sd of Spearman:")
    print(f"  ours vs ours:           {mean_sd(within(ours_draws))}")
    print(f"  reference vs reference: {mean_sd(within(refs))}")
    print(f"  ours vs reference:      {mean_sd([(a, b) for a in ours_draws for b in refs])}")
    print(f"  with {acc_key}: ours {mean_sd([(a, acc) for a in ours_draws])}, reference {mean_sd([(b, acc) for b in refs])}")
    if len(ours_draws) > 1 and len(refs) > 1:
        per_arch_summary(np.array(ours_draws), np.array(refs), acc)


def per_arch_summary(ours, refs, acc):
    """Whether the two implementations draw an arch's entropy from one distribution: per-arch
    means and sds over the draws (arrays draws × archs), their agreement, and the paired
    differences of the means against their standard errors."""
    om, rm = ours.mean(axis=0), refs.mean(axis=0)
    osd, rsd = ours.std(axis=0, ddof=1), refs.std(axis=0, ddof=1)
    diff = om - rm
    se = np.sqrt(osd**2 / len(ours) + rsd**2 / len(refs))
    n = len(om)
    print(f"vkdnw_entropy per arch ({len(ours)} draws of ours, {len(refs)} of the reference, {n} archs):")
    print(f"  Spearman of the per-arch means {spearman(list(om), list(rm)):.3f}, Pearson {np.corrcoef(om, rm)[0, 1]:.3f}")
    print(f"  mean difference ours − reference {diff.mean():+.4f} (SE {diff.std(ddof=1) / math.sqrt(n):.4f}); |z| > 2 on {int((np.abs(diff / se) > 2).sum())} of {n} archs")
    print(f"  mean within-arch sd: ours {osd.mean():.4f}, reference {rsd.mean():.4f}")
    print(f"  ρ(per-arch mean, accuracy): ours {spearman(list(om), acc):.3f}, reference {spearman(list(rm), acc):.3f}")

if __name__ == "__main__":
    main()
