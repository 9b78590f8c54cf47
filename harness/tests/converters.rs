//! `scripts/convert_nb201.py` on a small archive built through the official APIs' own classes
//! (`scripts/tests/make_small_nb201_archive.py`, real values only): the HDF5 it writes holds
//! exactly the values put in, which match swapnas' own NB201 table (Suite-Zero validation
//! accuracy, NATS test accuracy), and a damaged source fails with a message and no output.
//!
//! Needs python3 with h5py and nats_bench (`.ci/run` installs both). The NAS-Bench-201 `.pth`
//! route also needs PyTorch and nas_201_api: it runs when `$SWAPNAS_TORCH_PYTHON` (or python3)
//! can import them, and says that it was skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use swapnas_benchmarks::data::archive::BenchmarkArchive;
use swapnas_benchmarks::spaces::nb201::{Nb201Table, Nb201Task};
use swapnas_benchmarks::DataDir;

mod common;
use common::data_dir;

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts").join(name)
}

fn run(python: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let mut c = Command::new(python);
    for a in args {
        c.arg(a);
    }
    c.output().unwrap_or_else(|e| panic!("cannot run {python}: {e}"))
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed (needs h5py and nats_bench: `python3 -m pip install h5py nats_bench`): {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Says past libtest's capture that this test is skipped and why (`.ci/run` counts these).
fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {why}");
}

/// Builds the small archive with `python` in `format`, converts it, and checks the result.
fn build_convert_check(python: &str, format: &str, base: &Path) {
    let data = data_dir();
    let source = base.join(if format == "pth" { "NAS-Bench-201-small.pth" } else { "NATS-tss-small" });
    let made = ok(
        run(
            python,
            &[
                &script("tests/make_small_nb201_archive.py"),
                &"--data-dir",
                &data,
                &"--out",
                &source,
                &"--format",
                &format,
                &"--archs",
                &"5",
            ],
        ),
        "building the small archive",
    );
    let dest = base.join(format!("nb201-{format}.h5"));
    ok(run(python, &[&script("convert_nb201.py"), &source, &dest]), "convert_nb201.py");

    let archive = BenchmarkArchive::read(&dest).unwrap();
    assert_eq!(archive.benchmark, "nb201");
    assert_eq!(archive.archs.len(), 5);
    let reader = archive.provenance.get("reader").unwrap();
    assert!(reader.contains(if format == "pth" { "nas_201_api" } else { "nats_bench" }), "{reader}");
    let table = Nb201Table::load(&DataDir::at(data)).unwrap();
    let index = archive.index.clone().unwrap();
    for line in made.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let arch = v["arch"].as_str().unwrap();
        let k = archive.archs.iter().position(|a| a == arch).unwrap_or_else(|| panic!("{arch} missing from the archive"));
        assert_eq!(index[k], v["index"].as_i64().unwrap());
        let record = table.get(&arch.parse().unwrap());
        assert_eq!(record.nb201_index as i64, index[k], "{arch}");
        for task in Nb201Task::ALL {
            let t = task.name();
            let val = archive.column(t, "val_accuracy").unwrap()[k];
            let test = archive.column(t, "test_accuracy").unwrap()[k];
            // (serde_json's float parsing may differ from Python's repr by one ulp.)
            let same = |a: f64, b: &serde_json::Value| (a - b.as_f64().unwrap()).abs() <= 1e-12 * a.abs();
            assert!(same(val, &v[t]["val"]), "{arch} {t}: {val} vs {}", v[t]["val"]);
            assert!(same(test, &v[t]["test"]), "{arch} {t}: {test} vs {}", v[t]["test"]);
            // Independent of the script: swapnas' own loaders of the public files.
            assert!((val - record.val_accuracy(task)).abs() < 1e-6, "{arch} {t}: {val} vs {}", record.val_accuracy(task));
            assert!((test - record.test_accuracy(task)).abs() < 1e-9, "{arch} {t}: {test} vs {}", record.test_accuracy(task));
            assert!(same(archive.column(t, "params").unwrap()[k], &v["params"]), "{arch} params");
            assert!(same(archive.column(t, "flops").unwrap()[k], &v["flops"]), "{arch} flops");
            assert!(archive.column(t, "zen").unwrap()[k].is_nan(), "zen is not in the official archives");
            assert!(archive.column(t, "train_accuracy").unwrap()[k].is_nan(), "no train accuracy was put in");
        }
    }
}

fn scratch(name: &str) -> PathBuf {
    let base = std::env::temp_dir().join(format!("swapnas-convert-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

#[test]
fn nats_archive_converts_value_for_value() {
    let Some(_full) = common::full_data("the NB201 source tables") else { return };
    let base = scratch("nats");
    build_convert_check("python3", "nats", &base);

    // A truncated per-arch file: a clear error naming the source, and no archive written.
    let source = base.join("NATS-tss-small");
    let victim =
        std::fs::read_dir(&source).unwrap().map(|e| e.unwrap().path()).find(|p| !p.ends_with("meta.pickle.pbz2")).unwrap();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let dest = base.join("broken.h5");
    let o = run("python3", &[&script("convert_nb201.py"), &source, &dest]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("NATS-tss-small") && err.contains("not a readable"), "{err}");
    assert!(!err.contains("Traceback"), "{err}");
    assert!(!dest.exists(), "a failed conversion left {} behind", dest.display());
    let leftovers: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A path that does not exist.
    let o = run("python3", &[&script("convert_nb201.py"), &base.join("nowhere"), &dest]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no such file"), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(base).unwrap();
}

#[test]
fn nb201_pth_converts_through_nas_201_api_when_torch_is_there() {
    let python = std::env::var("SWAPNAS_TORCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = run(&python, &[&"-c", &"import torch, nas_201_api, h5py"]);
    if !probe.status.success() {
        skip(&format!("nb201_pth_converts_through_nas_201_api_when_torch_is_there: {python} cannot import torch, nas_201_api and h5py (set SWAPNAS_TORCH_PYTHON to a python that can; the .pth route needs PyTorch)"));
        return;
    }
    let base = scratch("pth");
    build_convert_check(&python, "pth", &base);
    std::fs::remove_dir_all(base).unwrap();
}

/// `scripts/convert_nb101.py` on a small tfrecord written with TensorFlow in the official record
/// layout from Suite-Zero's real NB101 archs (some pruned to fewer than 7 vertices): every arch
/// comes back as a 56-tuple that prunes to the same cell as Suite-Zero's, with its accuracy and
/// parameter count. Runs when `$SWAPNAS_TF_PYTHON` (or python3) imports tensorflow and h5py.
#[test]
fn nb101_tfrecord_converts_when_tensorflow_is_there() {
    use swapnas_benchmarks::spaces::nb101::Nb101Arch;
    let python = std::env::var("SWAPNAS_TF_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = run(&python, &[&"-c", &"import tensorflow, h5py"]);
    if !probe.status.success() {
        skip(&format!("nb101_tfrecord_converts_when_tensorflow_is_there: {python} cannot import tensorflow and h5py (set SWAPNAS_TF_PYTHON to a python that can)"));
        return;
    }
    let base = scratch("nb101");
    let source = base.join("nasbench_small.tfrecord");
    let made = ok(
        run(
            &python,
            &[&script("tests/make_small_nb101_tfrecord.py"), &"--data-dir", &data_dir(), &"--out", &source, &"--archs", &"6"],
        ),
        "building the small tfrecord",
    );
    let dest = base.join("nb101.h5");
    ok(run(&python, &[&script("convert_nb101.py"), &source, &dest]), "convert_nb101.py");
    let archive = BenchmarkArchive::read(&dest).unwrap();
    assert_eq!(archive.benchmark, "nb101");
    assert_eq!(archive.archs.len(), 6);
    let val = archive.column("cifar10", "val_accuracy").unwrap();
    let params = archive.column("cifar10", "params").unwrap();
    let mut small = 0;
    for line in made.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let reference: Nb101Arch = v["tuple"].as_str().unwrap().parse().unwrap();
        let want = reference.pruned();
        assert_eq!(want.num_vertices() as u64, v["vertices"].as_u64().unwrap());
        small += usize::from(want.num_vertices() < 7);
        let k = archive
            .archs
            .iter()
            .position(|a| a.parse::<Nb101Arch>().unwrap().pruned() == want)
            .unwrap_or_else(|| panic!("no converted arch prunes to the cell of {}", v["tuple"]));
        assert!((val[k] - v["val_accuracy"].as_f64().unwrap()).abs() < 1e-9, "{} vs {}", val[k], v["val_accuracy"]);
        assert!((params[k] - v["params"].as_f64().unwrap()).abs() < 1e-9, "{} vs {}", params[k], v["params"]);
    }
    assert!(small >= 1, "no arch with fewer than 7 vertices was tested");

    // `--bench nb101` runs on the converted table: the params proxy (built from each arch)
    // equals the archive's parameter count, Suite-Zero's.
    let data = base.join("data");
    std::fs::create_dir_all(data.join("benchmarks/nb101")).unwrap();
    std::fs::create_dir_all(data.join("images/cifar-10-batches-bin")).unwrap();
    std::fs::copy(&dest, data.join("benchmarks/nb101/nb101.h5")).unwrap();
    std::fs::copy(
        data_dir().join("images/cifar-10-batches-bin/data_batch_1.bin"),
        data.join("images/cifar-10-batches-bin/data_batch_1.bin"),
    )
    .unwrap();
    let o = common::swapnas()
        .args(["--bench", "nb101", "--archs", "0", "--proxies", "params", "--no-cache", "--jobs", "1"])
        .arg("--data-dir")
        .arg(&data)
        .arg("--out")
        .arg(base.join("out"))
        .env_remove("SWAPNAS_DATA")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("converted from nasbench_small.tfrecord"), "{stdout}");
    let csv = std::fs::read_to_string(base.join("out/scores.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    for line in csv.lines().skip(1) {
        let arch = line.split('"').nth(1).unwrap();
        let k = archive.archs.iter().position(|a| a == arch).unwrap();
        let score: f64 = line.split(',').rev().nth(1).unwrap().parse().unwrap();
        assert!((score - params[k]).abs() < 1e-9, "{arch}: params proxy {score}, archive {}", params[k]);
    }

    // A truncated tfrecord (the CRC check fails): a message, no archive.
    let bytes = std::fs::read(&source).unwrap();
    std::fs::write(&source, &bytes[..bytes.len() - 7]).unwrap();
    let broken = base.join("broken.h5");
    let o = run(&python, &[&script("convert_nb101.py"), &source, &broken]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("not a readable NAS-Bench-101 tfrecord"), "{err}");
    assert!(!broken.exists());
    std::fs::remove_dir_all(base).unwrap();
}

/// `scripts/convert_tnb101.py` on a small database in TransNASBenchAPI's layout, saved with
/// torch from Suite-Zero's real validation metrics: one archive per space, each task's
/// headline metric and val_accuracy value for value. Runs when `$SWAPNAS_TORCH_PYTHON` (or
/// python3) imports torch and h5py.
#[test]
fn tnb101_pth_converts_when_torch_is_there() {
    let python = std::env::var("SWAPNAS_TORCH_PYTHON").unwrap_or_else(|_| "python3".to_string());
    if !run(&python, &[&"-c", &"import torch, h5py"]).status.success() {
        skip(&format!("tnb101_pth_converts_when_torch_is_there: {python} cannot import torch and h5py (set SWAPNAS_TORCH_PYTHON to a python that can)"));
        return;
    }
    let base = scratch("tnb101");
    let source = base.join("transnas-bench-small.pth");
    let made = ok(
        run(&python, &[&script("tests/make_small_tnb101_pth.py"), &"--data-dir", &data_dir(), &"--out", &source]),
        "building the small database",
    );
    let out = base.join("tnb101");
    ok(run(&python, &[&script("convert_tnb101.py"), &source, &out]), "convert_tnb101.py");
    let micro = BenchmarkArchive::read(&out.join("tnb101_micro.h5")).unwrap();
    let macro_ = BenchmarkArchive::read(&out.join("tnb101_macro.h5")).unwrap();
    assert_eq!((micro.benchmark.as_str(), macro_.benchmark.as_str()), ("tnb101-micro", "tnb101-macro"));
    let mut checked = 0;
    for line in made.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let a = if v["space"] == "micro" { &micro } else { &macro_ };
        let k = a.archs.iter().position(|s| s == v["arch"].as_str().unwrap()).unwrap();
        let task = v["task"].as_str().unwrap();
        let want = v["value"].as_f64().unwrap();
        let got = a.column(task, "val_accuracy").unwrap()[k];
        assert!((got - want).abs() <= 1e-12 * want.abs(), "{} {task}: {got} vs {want}", v["arch"]);
        assert!(a.column(task, "valid_loss").unwrap()[k].is_nan());
        checked += 1;
    }
    assert_eq!(checked, 2 * 3 * 7);

    // Not a database: a message naming the file, no archives.
    std::fs::write(&source, b"not a torch file").unwrap();
    let empty = base.join("none");
    let o = run(&python, &[&script("convert_tnb101.py"), &source, &empty]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("not a readable TransNAS-Bench-101 database"), "{err}");
    assert!(!empty.join("tnb101_micro.h5").exists());
    std::fs::remove_dir_all(base).unwrap();
}
