"""Write a swapnas benchmark archive (HDF5) with h5py: the format `swapnas data import` writes
and every loader reads (see benchmarks/src/archive.rs, "swapnas-benchmark-archive 1"):

* root attributes `swapnas_format`, `benchmark`, and `provenance:<key>` strings;
* `/archs`: variable-length UTF-8 strings, the benchmark's own arch encoding;
* `/index` (optional): int64, the benchmark's official index of each arch;
* `/tasks/<task>/<metric>`: float64, one value per arch, NaN where unknown.

The file is written next to its destination and renamed into place, so no reader ever sees
half an archive and a failed conversion leaves nothing behind.
"""
import hashlib
import math
import os

FORMAT = "swapnas-benchmark-archive 1"


def sha256_of(path):
    """SHA-256 of a file, or of a directory's files in name order (name and bytes of each)."""
    h = hashlib.sha256()

    def feed(file):
        with open(file, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)

    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            if os.path.isfile(full):
                h.update(name.encode())
                feed(full)
    else:
        feed(path)
    return h.hexdigest()


def provenance(source, reader, converter, metrics):
    """The provenance attributes every converter writes: the source's name and SHA-256, the
    API that read it, the converter, and what the metrics mean."""
    return {
        "source": os.path.basename(os.path.normpath(source)),
        "source_sha256": sha256_of(source),
        "reader": reader,
        "converter": converter,
        "metrics": metrics,
    }


def run_converter(source, convert, what, release, errors=(Exception,), exists=os.path.isfile, missing="no such file"):
    """Runs `convert()` for a converter's command line: a missing source, or one that fails to
    read with one of `errors`, ends the process with a message naming it (no traceback); the
    archive is written last, through a temporary file, so nothing is left behind."""
    import sys

    if not exists(source):
        sys.exit(f"{source}: {missing}")
    try:
        convert()
    except errors as e:
        detail = str(e).splitlines()[0] if str(e) else ""
        sys.exit(f"{source}: not a readable {what} ({type(e).__name__}: {detail}); re-download it from {release}")


def write_archive(path, benchmark, archs, tasks, provenance, index=None):
    """`tasks` maps task -> metric -> list of floats (None or NaN = unknown), one per arch."""
    import h5py
    import numpy as np

    if not archs:
        raise ValueError("no architectures to write")
    if index is not None and len(index) != len(archs):
        raise ValueError(f"{len(index)} indices for {len(archs)} archs")
    for task, metrics in tasks.items():
        for metric, values in metrics.items():
            if len(values) != len(archs):
                raise ValueError(f"/tasks/{task}/{metric} has {len(values)} values for {len(archs)} archs")
    tmp = f"{path}.partial-{os.getpid()}"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["swapnas_format"] = FORMAT
            f.attrs["benchmark"] = benchmark
            for key, value in provenance.items():
                f.attrs[f"provenance:{key}"] = str(value)
            f.create_dataset("archs", data=np.array(archs, dtype=object), dtype=h5py.string_dtype("utf-8"))
            if index is not None:
                f.create_dataset("index", data=np.asarray(index, dtype=np.int64))
            for task, metrics in tasks.items():
                for metric, values in metrics.items():
                    col = [math.nan if v is None else float(v) for v in values]
                    f.create_dataset(f"tasks/{task}/{metric}", data=np.asarray(col, dtype=np.float64))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
