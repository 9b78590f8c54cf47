#!/usr/bin/env python3
"""SWAP with the official PyTorch procedure, on the archs that `swapnas bench` timed.

Runs what pym1024/SWAP's `src/metrics/swap.py` does — forward hooks on every nn.ReLU,
outputs of 4-D inputs kept, `torch.sign`, concatenated over layers, transposed to
neurons × samples, `torch.unique(dim=0)` — with `network_weight_gaussian_init` before each
repeat (conv/linear N(0,1), bias 0, BN 1/0) and BN in train mode, on the NAS-Bench-201
network (xautodl TinyNetwork, C=16, N=5, rebuilt here in plain PyTorch), the first B
training images, same B, R, archs and thread count as the bench. Prints archs/s, the ratio
swapnas / reference, and the rank agreement of the two implementations' scores.

Usage:
    swapnas bench --proxies swap --archs 10 --out results/bench
    python3 scripts/swap_reference.py results/bench/bench.json --data-dir ../shared/data
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
NORM = {
    "cifar10": ((0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "ImageNet16-120": ((0.481098, 0.45749, 0.407882), (0.247922, 0.240235, 0.255255)),
}


class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, k, stride):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == "skip_connect":
        return nn.Identity()
    if name == "none":
        return Zero()
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


class InferCell(nn.Module):
    """Parses the official string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|."""

    def __init__(self, arch, c):
        super().__init__()
        self.nodes = []
        self.layers = nn.ModuleList()
        for node in arch.split("+"):
            inputs = []
            for item in node.strip("|").split("|"):
                op, src = item.split("~")
                inputs.append((len(self.layers), int(src)))
                self.layers.append(make_op(op, c))
            self.nodes.append(inputs)

    def forward(self, x):
        feats = [x]
        for inputs in self.nodes:
            feats.append(sum(self.layers[i](feats[src]) for i, src in inputs))
        return feats[-1]


class ResNetBasicblock(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, arch, classes, c=16, n=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cells, c_prev = [], c
        for stage in range(3):
            cs = c << stage
            if stage:
                cells.append(ResNetBasicblock(c_prev, cs))
            cells += [InferCell(arch, cs) for _ in range(n)]
            c_prev = cs
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(x.mean((2, 3)))


def network_weight_gaussian_init(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class SWAP:
    """The official procedure: hooks on nn.ReLU, sign, cat, transpose, unique(dim=0)."""

    def __init__(self, model, inputs):
        self.model, self.inputs, self.feats = model, inputs, []
        for m in model.modules():
            if isinstance(m, nn.ReLU):
                m.register_forward_hook(self.hook)

    def hook(self, module, inp, out):
        if len(inp[0].size()) == 4:
            self.feats.append(out.detach())

    def forward(self):
        self.feats = []
        with torch.no_grad():
            self.model(self.inputs)
        acts = torch.cat([f.view(self.inputs.size(0), -1) for f in self.feats], 1)
        return torch.unique(torch.sign(acts).T, dim=0).size(0)


def first_images(data_dir, task, n):
    if task == "cifar10":
        path, header, label_at, side = "images/cifar-10-batches-bin/data_batch_1.bin", 1, 0, 32
    elif task == "cifar100":
        path, header, label_at, side = "images/cifar-100-binary/train.bin", 2, 1, 32
    else:
        path, header, label_at, side = "images/imagenet16-120-standin/val.bin", 1, 0, 16
    rec = header + 3 * side * side
    raw = np.fromfile(os.path.join(data_dir, path), dtype=np.uint8)[: n * rec].reshape(n, rec)
    x = raw[:, header:].reshape(n, 3, side, side).astype(np.float32) / 255.0
    mean, std = (np.array(v, dtype=np.float32).reshape(1, 3, 1, 1) for v in NORM[task])
    return torch.from_numpy((x - mean) / std)


def spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench_json", help="bench.json written by `swapnas bench`")
    p.add_argument("--data-dir", default=os.environ.get("SWAPNAS_DATA", "data"))
    args = p.parse_args()
    bench = json.load(open(args.bench_json))
    swap = next((r for r in bench["proxies"] if r["proxy"] == "swap"), None)
    if swap is None:
        raise SystemExit("bench.json has no swap entry: run `swapnas bench --proxies swap`")
    torch.set_num_threads(bench["threads"])
    task, b, r = bench["task"], bench["swap_batch"], bench["swap_repeats"]
    classes = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}[task]
    inputs = first_images(args.data_dir, task, b)
    scores, start = [], time.time()
    for arch in bench["archs"]:
        net = TinyNetwork(arch, classes)  # train mode: BN on batch statistics
        swap_metric = SWAP(net, inputs)
        total = 0
        for _ in range(r):
            network_weight_gaussian_init(net)
            total += swap_metric.forward()
        scores.append(total / r)
    seconds = time.time() - start
    ref_rate = len(bench["archs"]) / seconds
    print(f"PyTorch {torch.__version__} reference SWAP (B={b}, R={r}, {bench['threads']} threads): "
          f"{ref_rate:.3f} archs/s over {len(bench['archs'])} archs ({seconds:.1f} s)")
    print(f"swapnas SWAP: {swap['archs_per_second']:.3f} archs/s  ->  ratio swapnas/reference = {swap['archs_per_second'] / ref_rate:.2f}x")
    if len(scores) >= 3 and len(bench.get("swap_scores", [])) == len(scores):
        print(f"Spearman(swapnas SWAP, reference SWAP) on these archs: {spearman(bench['swap_scores'], scores):.3f}")
    print("scores (reference):", [round(s, 1) for s in scores])


if __name__ == "__main__":
    main()
