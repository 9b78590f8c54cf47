//! `swapnas data import` writes the NB201 table as one HDF5 archive that runs then load;
//! the archive interoperates with h5py both ways (h5py reads what swapnas wrote; swapnas
//! reads what h5py wrote). Needs python3 with h5py (`.ci/run` installs it).

use std::path::Path;
use std::process::Command;

mod common;
use common::data_dir;

fn python(script: &str, args: &[&Path]) -> String {
    let o =
        Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 is needed for the h5py interop test");
    assert!(
        o.status.success(),
        "python3 failed (is h5py installed? `python3 -m pip install h5py`): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn import_then_h5py_reads_it_and_swapnas_reads_h5py() {
    let Some(_full) = common::full_data("the NB201 source tables to import") else { return };
    // A data directory with the NB201 sources and the CIFAR-10 images.
    let base = std::env::temp_dir().join(format!("swapnas-archive-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let data = base.join("data");
    for rel in [
        "benchmarks/nb201/suitezero-nasbench201-zen.zip",
        "benchmarks/nb201/nats-tss-test-accuracy-200ep.csv",
        "images/cifar-10-batches-bin/data_batch_1.bin",
    ] {
        std::fs::create_dir_all(data.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(data_dir().join(rel), data.join(rel)).unwrap();
    }
    let o = common::swapnas().args(["data", "import", "--data-dir"]).arg(&data).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let archive = data.join("benchmarks/nb201/nb201.h5");
    assert!(archive.is_file());

    // h5py reads swapnas' file: the arch of official index 0 and its CIFAR-10 test accuracy
    // (NATS row 0: 85.86333333333334), the Suite-Zero val accuracy of (0, 2, 3, 2, 3, 1) on
    // cifar10 (86.06), and the provenance.
    let out = python(
        r#"
import sys, h5py
f = h5py.File(sys.argv[1], "r")
text = lambda v: v.decode() if isinstance(v, bytes) else str(v)
assert text(f.attrs["swapnas_format"]) == "swapnas-benchmark-archive 1", f.attrs["swapnas_format"]
archs = [a.decode() if isinstance(a, bytes) else a for a in f["archs"][:]]
index = list(f["index"][:])
i0 = index.index(0)
print(archs[i0])
print(f["tasks/cifar10/test_accuracy"][i0])
j = archs.index("|skip_connect~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|")
print(f["tasks/cifar10/val_accuracy"][j])
print(len(archs), sorted(f["tasks"].keys()))
print([k for k in f.attrs.keys() if k.startswith("provenance:source")][0])
"#,
        &[&archive],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|");
    assert!((lines[1].parse::<f64>().unwrap() - 85.86333333333334).abs() < 1e-9, "{out}");
    assert!((lines[2].parse::<f64>().unwrap() - 86.06).abs() < 1e-9, "{out}");
    assert_eq!(lines[3], "15625 ['ImageNet16-120', 'cifar10', 'cifar100']");
    assert!(lines[4].contains("provenance:source benchmarks/nb201/"), "{out}");

    // h5py writes the archive anew (its own HDF5 library and layout choices); swapnas runs on it
    // with the source files gone, so the table can only come from h5py's file.
    let rewritten = base.join("h5py.h5");
    python(
        r#"
import sys, h5py, numpy as np
src, dst = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "w")
for k, v in src.attrs.items():
    dst.attrs[k] = v
dst.create_dataset("archs", data=np.array([a for a in src["archs"][:]], dtype=h5py.string_dtype()))
dst.create_dataset("index", data=src["index"][:].astype(np.int64))
for task in src["tasks"]:
    for metric in src["tasks"][task]:
        dst.create_dataset(f"tasks/{task}/{metric}", data=src["tasks"][task][metric][:].astype(np.float64))
dst.close()
"#,
        &[&archive, &rewritten],
    );
    std::fs::rename(&rewritten, &archive).unwrap();
    std::fs::remove_file(data.join("benchmarks/nb201/suitezero-nasbench201-zen.zip")).unwrap();
    std::fs::remove_file(data.join("benchmarks/nb201/nats-tss-test-accuracy-200ep.csv")).unwrap();
    let o = common::swapnas()
        .args(["--task", "cifar10", "--archs", "3", "--repeats", "1", "--proxies", "swap", "--no-cache"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(base.join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("nb201 table: 15625 archs from the HDF5 archive"), "{stderr}");
    std::fs::remove_dir_all(base).unwrap();
}
