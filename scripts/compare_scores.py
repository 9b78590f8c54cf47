#!/usr/bin/env python3
"""Compare two swapnas score caches arch by arch (e.g. the same proxy on CPU and on GPU).

    python3 scripts/compare_scores.py A/scores.jsonl B/scores.jsonl [--proxy swap]

Each cache line is `<json>\\t<checksum>`; scores of the same (bench, arch, proxy, settings,
seed) in both files are paired. Prints how many pairs, the Spearman rank correlation, the
largest relative difference and how many scores are identical. Exits 1 when fewer than 3 pairs
exist (nothing to compare), 0 otherwise. Standard library only.
"""
import argparse
import json
import math
import os
import sys


def load(path, proxy):
    scores = {}
    with open(path) as f:
        for line in f:
            body = line.rstrip("\n").rsplit("\t", 1)[0]
            try:
                r = json.loads(body)
            except json.JSONDecodeError:
                continue  # a torn last line
            if proxy and r["proxy"] != proxy:
                continue
            key = (r["bench"], r["arch"], r["proxy"], r["settings"], r["seed"])
            scores[key] = float(r["score"])
    return scores


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2.0
        i = j + 1
    return out


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    var = math.sqrt(sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb))
    return cov / var if var else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--proxy", default=None, help="only this proxy's scores")
    args = p.parse_args()
    for path in (args.a, args.b):
        if not os.path.exists(path):
            print(f"{path} does not exist: nothing scored there yet")
            return 1
    a, b = load(args.a, args.proxy), load(args.b, args.proxy)
    common = sorted(set(a) & set(b))
    pairs = [(a[k], b[k]) for k in common if math.isfinite(a[k]) and math.isfinite(b[k])]
    print(f"{len(a)} scores in {args.a}, {len(b)} in {args.b}, {len(pairs)} finite pairs of the same arch and settings")
    if len(pairs) < 3:
        print("fewer than 3 pairs: nothing to compare")
        return 1
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    rel = max(abs(x - y) / max(abs(x), abs(y), 1.0) for x, y in pairs)
    same = sum(x == y for x, y in pairs)
    print(f"Spearman {spearman(xs, ys):.6f}; largest relative difference {rel:.3e}; identical {same} of {len(pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
