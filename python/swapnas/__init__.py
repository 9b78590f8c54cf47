"""swapnas: training-free NAS in Python.

Score NAS-benchmark architectures with SWAP and the other zero-cost proxies, on the same engine
and score cache as the ``swapnas`` command line, and get pandas DataFrames back::

    import swapnas
    df = swapnas.score(bench="nb201", task="cifar100", archs=100, proxies=["swap", "reg_swap"])
    swapnas.correlate(df)            # ρ, τ, r per proxy against the accuracy column
    swapnas.proxies(); swapnas.spaces()
    found = swapnas.search(bench="nb201", fitness="reg_swap", algo="evolution", budget=100, runs=3)

No torch is needed. Ctrl-C stops a call cleanly: the archs in flight finish, every finished
score stays in the cache, and the next identical call resumes from it.
"""

import json as _json
import math as _math
import os as _os
from dataclasses import dataclass as _dataclass

import pandas as _pd

from . import _swapnas

__all__ = ["score", "search", "correlate", "proxies", "spaces", "ZeroCost", "SearchResult"]


def _flag(name):
    return "--" + name.replace("_", "-")


def _flags(settings):
    """Keywords as CLI flags: ``repeats=2`` → ``--repeats 2``, ``x=True`` → ``--x``; False and
    None are left out."""
    argv = []
    for name, value in settings.items():
        if value is True:
            argv.append(_flag(name))
        elif value is not False and value is not None:
            argv += [_flag(name), str(value)]
    return argv


def _listed(names):
    return names if names is None or isinstance(names, str) else ",".join(names)


def _argv(bench, task, archs, proxies, seed, out, cache, dedup, jobs, data_dir, settings):
    named = dict(bench=bench, seed=seed, task=task, archs=archs if isinstance(archs, int) else None,
                 proxies=_listed(proxies), out=out, no_cache=not cache, no_dedup=not dedup, jobs=jobs, data_dir=data_dir)
    return _flags(dict(named, **settings))


def _float(v):
    return float(v) if isinstance(v, str) else (_math.nan if v is None else v)


def _progress_bar(progress):
    """A callback (done, total) for the engine: ``progress`` itself if callable, a tqdm bar
    (notebook-aware, tqdm.auto) if True and tqdm is installed, else None (the terminal bar)."""
    if callable(progress):
        return progress
    if not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    state = {}

    def update(done, total):
        bar = state.get("bar")
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = state["bar"] = tqdm(total=total, unit="arch")
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return update


def score(bench="nb201", task=None, archs=None, proxies=None, seed=0, out=None, cache=True, dedup=True,
          jobs=None, data_dir=None, as_polars=False, progress=True, **settings):
    """Scores architectures of a benchmark task; one DataFrame row per arch.

    ``archs``: a number (a seeded uniform sample, 0 = all, None = the space's default) or a
    list of arch strings in any encoding the space parses (NB201's official string or NASLib's
    tuple, an NB301 genotype, a TransNAS-Bench-101 string), scored in that order. ``proxies``:
    names or ``a+b`` rank ensembles (default ``swap,reg_swap``). Other keywords are the CLI's
    flags (``repeats=2``, ``proxy_batch=32``, ``accuracy="test"``, ``kernels="burn"`` …),
    validated exactly as the CLI does; a bad value raises ValueError with its message. Scores
    are read from and appended to the CLI's score cache (``out``/scores.jsonl, default
    ``results/<bench>-<task>``).

    Columns: ``arch`` (the space's canonical label), the space's own columns (NB201: tuple,
    index, val/test accuracy), ``same_function_as``, ``accuracy`` (the chosen column), one
    column per proxy and ensemble, ``errors``. ``df.attrs`` holds the run name and what the
    accuracy column is. ``progress``: True shows a tqdm bar (notebook-aware) when tqdm is
    installed, else the terminal bar; a callable is called with (archs done, archs in all).
    """
    labels = None
    if archs is not None and not isinstance(archs, int):
        labels = [str(a) for a in archs]
        if not labels:
            raise ValueError("archs is an empty list")
    argv = _argv(bench, task, archs, proxies, seed, out, cache, dedup, jobs, data_dir, settings)
    frame = _json.loads(_swapnas.score(argv, labels, _progress_bar(progress)))
    columns = {}
    numeric = {"accuracy"} | set(frame["columns"][frame["columns"].index("accuracy") + 1:-1])
    for name, values in zip(frame["columns"], frame["data"]):
        columns[name] = [_float(v) for v in values] if name in numeric else values
    df = _pd.DataFrame(columns)
    df.attrs["run"] = frame["run"]
    df.attrs["accuracy"] = frame["accuracy"]
    if as_polars:
        import polars as _pl
        return _pl.from_pandas(df)
    return df


@_dataclass
class SearchResult:
    """A search's outcome: ``runs`` (one row per run: algorithm, run, found arch, its fitness,
    parameters, evaluations, distinct archs, seconds, and the found arch's accuracy on every
    task with its rank in the space), ``trace`` (per run and evaluation, the best-so-far arch,
    its fitness and accuracies), ``report`` (the CLI's search.md) and ``out`` (the directory
    with search.json and the plots)."""

    runs: _pd.DataFrame
    trace: _pd.DataFrame
    report: str
    out: str


def search(bench="nb201", task=None, fitness="swap", algo=None, budget=None, runs=None, seed=0, out=None,
           cache=True, cache_file=None, jobs=None, data_dir=None, **flags):
    """Searches a space with a training-free fitness as ``swapnas search`` does (SWAP-NAS's
    evolution, aging evolution or random search; ``algo``: one name or a list), K seeded runs
    each; the search never reads accuracies. Scores go through the run's score cache
    (``results/<bench>-<task>/scores.jsonl``, or ``cache_file``), so an interrupted search
    replays from it. Other keywords are the search command's flags (``population=``,
    ``sample=``, ``mutations=``, ``repeats=`` …), validated by its parser."""
    named = dict(bench=bench, fitness=fitness, seed=seed, task=task, algo=_listed(algo), budget=budget, runs=runs,
                 out=out, cache=cache_file, no_cache=not cache, jobs=jobs, data_dir=data_dir)
    argv = _flags(dict(named, **flags))
    done = _json.loads(_swapnas.search(argv))
    return SearchResult(runs=_pd.read_csv(_os.path.join(done["out"], "runs.csv")),
                        trace=_pd.read_csv(_os.path.join(done["out"], "trace.csv")),
                        report=done["report"], out=done["out"])


def correlate(df, accuracy="accuracy", proxies=None):
    """The CLI's statistics of each score column against ``accuracy``: Spearman ρ with its 95%
    bootstrap interval and p-value, Kendall τ-b, Pearson r, top-10% hit rate, n (non-finite
    scores rank last, as in the CLI's tables). ``proxies``: the columns (default: every column
    after ``accuracy`` but ``errors``)."""
    if proxies is None:
        cols = list(df.columns)
        proxies = [c for c in cols[cols.index(accuracy) + 1:] if c != "errors"]
    acc = [float(a) for a in df[accuracy]]
    data = [[float(v) for v in df[p]] for p in proxies]
    rows = _json.loads(_swapnas.correlate(list(proxies), data, acc))
    return _pd.DataFrame(rows).set_index("proxy")


def proxies():
    """The registered proxies and ensembles: name, about, settings flags, whether one network
    per same-function class serves it, and an ensemble's members."""
    return _pd.DataFrame(_json.loads(_swapnas.proxies())).set_index("name")


def spaces():
    """The registered search spaces: name, about, tasks, encodings, same-function classes."""
    return _pd.DataFrame(_json.loads(_swapnas.spaces())).set_index("name")


class ZeroCost:
    """NASLib's zero-cost predictor interface over swapnas: ``ZeroCost(method_type="swap")``,
    then ``query(arch)`` returns the arch's score (``arch``: a string the space parses, or a
    NASLib graph with ``get_hash()`` — NB201's op-index tuple), so a NASLib search loop can use
    swapnas' scores unchanged. Scores go through the CLI's cache; ``query_many`` scores a list
    in one call (in parallel)."""

    def __init__(self, method_type="swap", bench="nb201", task="cifar10", seed=0, **settings):
        self.method_type = method_type
        self.bench, self.task, self.seed, self.settings = bench, task, seed, settings

    def pre_process(self):
        pass

    def train(self, *args, **kwargs):
        pass

    def fit(self, *args, **kwargs):
        pass

    @staticmethod
    def _label(arch):
        if hasattr(arch, "get_hash"):
            return str(tuple(arch.get_hash()))
        return str(arch)

    def query_many(self, archs):
        labels = [self._label(a) for a in archs]
        df = score(bench=self.bench, task=self.task, archs=labels, proxies=[self.method_type], seed=self.seed,
                   **self.settings)
        return [float(v) for v in df[self.method_type]]

    def query(self, graph=None, dataloader=None, arch=None):
        return self.query_many([graph if graph is not None else arch])[0]
