"""The Python package against the CLI, on the real data ($SWAPNAS_DATA), offline."""

import os
import subprocess
import csv
import math
import signal
import threading
import time

import pandas as pd
import pytest

import swapnas

DATA = os.environ["SWAPNAS_DATA"]
BIN = os.environ["SWAPNAS_BIN"]


def cli_scores(out, *flags):
    subprocess.run([BIN, "--data-dir", DATA, "--out", str(out), *flags], check=True, capture_output=True)
    with open(os.path.join(out, "scores.csv")) as f:
        return list(csv.DictReader(f))


def test_scores_equal_the_cli(tmp_path):
    flags = ["--bench", "nb201", "--task", "cifar100", "--archs", "5", "--proxies", "swap,nwot", "--repeats", "2"]
    rows = cli_scores(tmp_path / "cli", *flags)
    df = swapnas.score(bench="nb201", task="cifar100", archs=5, proxies=["swap", "nwot"], repeats=2,
                       data_dir=DATA, out=tmp_path / "py", cache=False)
    assert isinstance(df, pd.DataFrame) and len(df) == 5
    assert list(df["arch"]) == [r["arch"] for r in rows]
    for proxy in ["swap", "nwot"]:
        assert [float(v) for v in df[proxy]] == [float(r[proxy]) for r in rows]
    assert [float(a) for a in df["accuracy"]] == [float(r["accuracy"]) for r in rows]
    assert df.attrs["run"] == "nb201-cifar100"


def test_arch_lists_in_any_encoding_come_back_canonical(tmp_path):
    tuple_form = "(2, 2, 0, 2, 2, 2)"
    its_official = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    other = "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    df = swapnas.score(bench="nb201", task="cifar10", archs=[other, tuple_form], proxies="synflow", data_dir=DATA,
                       out=tmp_path)
    assert list(df["arch"]) == [other, its_official]
    assert all(math.isfinite(v) for v in df["synflow"]) and df["accuracy"].notna().all()
    # The score cache is the CLI's file.
    assert os.path.getsize(tmp_path / "scores.jsonl") > 0
    with pytest.raises(ValueError, match="given twice"):
        swapnas.score(bench="nb201", archs=[tuple_form, its_official], proxies="synflow", data_dir=DATA, out=tmp_path)


def test_correlate_is_the_cli_table(tmp_path):
    flags = ["--bench", "nb201", "--task", "cifar10", "--archs", "12", "--proxies", "synflow,params"]
    subprocess.run([BIN, "--data-dir", DATA, "--out", str(tmp_path), *flags], check=True, capture_output=True)
    df = swapnas.score(bench="nb201", task="cifar10", archs=12, proxies="synflow,params", data_dir=DATA, out=tmp_path)
    table = swapnas.correlate(df)
    import json
    cli = {r["proxy"]: r for r in json.load(open(tmp_path / "table.json"))["rows"]}
    for proxy in ["synflow", "params"]:
        assert table.loc[proxy, "spearman"] == pytest.approx(cli[proxy]["spearman"], abs=1e-12)
        assert table.loc[proxy, "kendall"] == pytest.approx(cli[proxy]["kendall"], abs=1e-12)
        assert table.loc[proxy, "n"] == 12


def test_errors_carry_the_cli_message():
    with pytest.raises(ValueError, match="unknown task"):
        swapnas.score(bench="nb201", task="cifar1000", archs=1, data_dir=DATA)
    with pytest.raises(ValueError, match="repeats"):
        swapnas.score(bench="nb201", archs=1, repeats=0, data_dir=DATA)
    with pytest.raises(ValueError, match="not in the --bench nb201 table|invalid NAS-Bench-201"):
        swapnas.score(bench="nb201", archs=["(9, 9, 9, 9, 9, 9)"], data_dir=DATA)


def test_listings():
    p = swapnas.proxies()
    assert "swap" in p.index and p.loc["jacov", "function_only"] and not p.loc["swap", "function_only"]
    s = swapnas.spaces()
    assert s.loc["nb201", "function_classes"] == 5044 and "cifar100" in s.loc["nb201", "tasks"]


def interrupted(call, kwargs, after, cache):
    """Sends SIGINT `after` seconds into `call(**kwargs)`, expects KeyboardInterrupt, and
    returns how many scores the cache kept."""
    timer = threading.Timer(after, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        call(**kwargs)
    timer.cancel()
    with open(cache) as f:
        return sum(1 for _ in f)


def test_an_interrupted_call_resumes_from_the_cache(tmp_path):
    kwargs = dict(bench="nb201", task="cifar10", archs=40, proxies="swap", repeats=4, data_dir=DATA, out=tmp_path, jobs=1)
    assert 0 < interrupted(swapnas.score, kwargs, 4.0, tmp_path / "scores.jsonl") < 40
    df = swapnas.score(**kwargs)
    assert len(df) == 40 and df["swap"].notna().all()
    # Ctrl-C still reaches Python afterwards: the package installed no handler of its own.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_naslib_adapter(tmp_path):
    zc = swapnas.ZeroCost(method_type="synflow", bench="nb201", task="cifar10", data_dir=DATA, out=tmp_path)
    a = zc.query(arch="(2, 2, 0, 2, 2, 2)")
    assert math.isfinite(a)
    assert zc.query_many(["(2, 2, 0, 2, 2, 2)"]) == [a]


def test_search_returns_its_runs(tmp_path):
    found = swapnas.search(bench="nb201", task="cifar10", fitness="synflow", algo="random", budget=8, runs=2,
                           data_dir=DATA, out=tmp_path, cache_file=tmp_path / "scores.jsonl")
    assert len(found.runs) == 2 and set(found.runs["algo"]) == {"random"}
    assert found.runs["arch"].notna().all() and "random" in found.report
    assert len(found.trace) == 16
    with pytest.raises(ValueError, match="budget|--budget"):
        swapnas.search(bench="nb201", fitness="synflow", budget=0, data_dir=DATA, out=tmp_path)


def test_progress_reaches_the_total(tmp_path):
    seen = []
    df = swapnas.score(bench="nb201", task="cifar10", archs=6, proxies="synflow", data_dir=DATA, out=tmp_path,
                       progress=lambda done, total: seen.append((done, total)))
    assert len(df) == 6 and seen[-1] == (6, 6)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_an_interrupted_search_resumes_from_the_cache(tmp_path):
    kwargs = dict(bench="nb201", task="cifar10", fitness="swap", algo="random", budget=40, runs=1, repeats=4,
                  data_dir=DATA, out=tmp_path, jobs=1, cache_file=tmp_path / "scores.jsonl")
    assert 0 < interrupted(swapnas.search, kwargs, 3.0, tmp_path / "scores.jsonl") < 40
    found = swapnas.search(**kwargs)
    assert len(found.runs) == 1 and len(found.trace) == 40
