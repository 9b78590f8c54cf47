//! Runs fetch what they lack on their own: a benchmark table and a CIFAR-10 tarball built from
//! real images, served from 127.0.0.1 — good, corrupt, truncated, and a bad mirror before a
//! good one. Nothing is fetched from outside this machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::serve;

const BIN: &str = env!("CARGO_BIN_EXE_swapnas");

/// A `cifar-10-binary.tar.gz` laid out as the official one (`cifar-10-batches-bin/…`), its
/// batches cut from real CIFAR-10 records: the repo's embedded first images, repeated.
fn cifar_tarball() -> Vec<u8> {
    let first = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../benchmarks/embedded/cifar-10-first.bin")).unwrap();
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let names =
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];
    for (k, name) in names.iter().enumerate() {
        // Every batch a different number of real records: 64, 80, 96, 112, 128, 72.
        let mut body = first.clone();
        body.extend_from_slice(&first[..[0, 16, 32, 48, 64, 8][k] * 3073]);
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, format!("cifar-10-batches-bin/{name}"), body.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

fn manifest(dir: &Path, url: &str, tarball: &[u8]) -> PathBuf {
    let path = dir.join("manifest.json");
    let json = serde_json::json!({
        "cifar-10-binary.tar.gz": { "url": url, "bytes": tarball.len(), "sha256": sha256(tarball) }
    });
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// `swapnas` on NB201 CIFAR-10 with random augmented inputs (which need the full training
/// set, not only the embedded first images), into an empty data directory.
fn run_random(data: &Path, manifest: &Path, mirror: Option<&str>) -> Output {
    let mut c = Command::new(BIN);
    c.args(["--bench", "nb201", "--task", "cifar10", "--archs", "2", "--proxies", "params", "--input", "random-augmented"])
        .args(["--proxy-batch", "8", "--data-dir"])
        .arg(data)
        .arg("--out")
        .arg(data.join("out"))
        .env("SWAPNAS_MANIFEST", manifest)
        .env_remove("SWAPNAS_OFFLINE")
        .env_remove("SWAPNAS_MIRROR");
    if let Some(m) = mirror {
        c.env("SWAPNAS_MIRROR", m);
    }
    c.output().unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        let name = e.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".part") || name.starts_with(".unpack") || name.ends_with(".tar.gz") {
            out.push(e.display().to_string());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            out.push(e.path());
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}

#[test]
fn a_run_fetches_and_unpacks_a_cifar_tarball_and_refuses_bad_ones() {
    let base = std::env::temp_dir().join(format!("swapnas-autofetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let good = cifar_tarball();
    let mut corrupt = good.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x40;
    let truncated = good[..good.len() / 3].to_vec();
    let server = serve(HashMap::from([
        ("good/cifar-10-binary.tar.gz".to_string(), good.clone()),
        ("corrupt/cifar-10-binary.tar.gz".to_string(), corrupt),
        ("short/cifar-10-binary.tar.gz".to_string(), truncated),
    ]));

    // Corrupt: refused with the checksum, the source and the destination; nothing left behind.
    let data = base.join("corrupt");
    std::fs::create_dir_all(&data).unwrap();
    let m = manifest(&base.join("m1"), &format!("{server}/corrupt/cifar-10-binary.tar.gz"), &good);
    let o = run_random(&data, &m, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    assert!(err.contains("SHA-256 mismatch"), "{err}");
    assert!(err.contains("data_batch_1.bin") && err.contains("put it at"), "names the file and its destination: {err}");
    assert!(leftovers(&data).is_empty(), "{:?}", leftovers(&data));
    assert!(!data.join("images/cifar-10-batches-bin").exists());

    // Truncated: refused as such.
    let data = base.join("short");
    std::fs::create_dir_all(&data).unwrap();
    let m = manifest(&base.join("m2"), &format!("{server}/short/cifar-10-binary.tar.gz"), &good);
    let o = run_random(&data, &m, None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("truncated"), "{err}");
    assert!(leftovers(&data).is_empty());

    // A bad mirror first, then the good source: fetched, checked, unpacked, scored.
    let data = base.join("good");
    std::fs::create_dir_all(&data).unwrap();
    let m = manifest(&base.join("m3"), &format!("{server}/good/cifar-10-binary.tar.gz"), &good);
    let o = run_random(&data, &m, Some(&format!("{server}/corrupt")));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    for (k, name) in ["data_batch_1.bin", "data_batch_5.bin", "test_batch.bin"].iter().enumerate() {
        let bytes = std::fs::read(data.join("images/cifar-10-batches-bin").join(name)).unwrap();
        let records = [64, 128, 72][k];
        assert_eq!(bytes.len(), records * 3073, "{name}");
    }
    assert!(leftovers(&data).is_empty(), "the tarball and staging are removed: {:?}", leftovers(&data));
    let table = std::fs::read_to_string(data.join("out/table.md")).unwrap();
    assert!(table.contains("params"), "{table}");
    // A second run has everything and downloads nothing (the manifest now points nowhere).
    let m = manifest(&base.join("m4"), "http://127.0.0.1:9/none.tar.gz", &good);
    let o = run_random(&data, &m, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&base);
}

/// A run that needs a benchmark table it lacks (`check` needs Suite-Zero's reference file)
/// fetches it from a mirror on 127.0.0.1, checked against the built-in manifest; offline, the
/// error names the file, its source and its destination.
#[test]
fn a_run_fetches_a_missing_table_and_says_what_is_missing_offline() {
    let Some(full) = common::full_data("the real Suite-Zero reference file to serve") else { return };
    let rel = "benchmarks/nb201/zc_nasbench201.json";
    let base = std::env::temp_dir().join(format!("swapnas-autofetch-table-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let check = |mirror: Option<&str>, offline: bool| {
        let mut c = Command::new(BIN);
        c.args(["check", "--bench", "nb201", "--archs", "3", "--proxies", "params", "--data-dir"])
            .arg(&base)
            .arg("--out")
            .arg(base.join("out"))
            .env_remove("SWAPNAS_MANIFEST")
            .env_remove("SWAPNAS_MIRROR")
            .env_remove("SWAPNAS_OFFLINE");
        if let Some(m) = mirror {
            c.env("SWAPNAS_MIRROR", m);
        }
        if offline {
            c.env("SWAPNAS_OFFLINE", "1");
        }
        c.output().unwrap()
    };
    let o = check(None, true);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("zc_nasbench201.json") && err.contains("get it from") && err.contains("put it at"), "{err}");
    assert!(err.contains("SWAPNAS_OFFLINE"), "{err}");

    let real = std::fs::read(full.join(rel)).unwrap();
    let server = serve(HashMap::from([(rel.to_string(), real.clone())]));
    let o = check(Some(&server), false);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(base.join(rel)).unwrap(), real);
    let _ = std::fs::remove_dir_all(&base);
}
