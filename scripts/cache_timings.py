#!/usr/bin/env python3
"""Per-arch proxy timings from swapnas score caches, and what 1,000 archs per column cost.

    python3 scripts/cache_timings.py DIR [--archs 1000]

Reads every `scores.jsonl` under DIR (e.g. a `reproduce --jobs 1` output), groups the cached
scores by run (column) and proxy, and prints n, the mean seconds per arch of each proxy, the
sum over proxies per column, and that sum × --archs: the sequential time of the column at that
sample size (scores a proxy takes from another's passes, like reg-SWAP from SWAP's, cost ~0).
Standard library only.
"""
import argparse
import json
import os


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--archs", type=int, default=1000)
    a = p.parse_args()
    cols = {}
    for root, _, files in os.walk(a.dir):
        if "scores.jsonl" not in files:
            continue
        with open(os.path.join(root, "scores.jsonl")) as f:
            for line in f:
                try:
                    r = json.loads(line.rstrip("\n").rsplit("\t", 1)[0])
                except json.JSONDecodeError:
                    continue
                cols.setdefault(r["bench"], {}).setdefault(r["proxy"], []).append(float(r.get("seconds", 0.0)))
    total = 0.0
    for bench, proxies in sorted(cols.items()):
        per_arch = {name: sum(s) / len(s) for name, s in proxies.items()}
        column = sum(per_arch.values())
        total += column * a.archs
        n = max(len(s) for s in proxies.values())
        detail = ", ".join(f"{k} {v:.3f}" for k, v in sorted(per_arch.items(), key=lambda kv: -kv[1]))
        print(f"{bench}: n={n}, {column:.3f} s/arch all proxies, {column * a.archs / 60:.1f} min per {a.archs} archs  ({detail})")
    print(f"{len(cols)} columns, {total / 3600:.2f} h sequential at {a.archs} archs each")


if __name__ == "__main__":
    main()
