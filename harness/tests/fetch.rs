//! `swapnas data fetch` against a local HTTP server on 127.0.0.1 serving the real files:
//! good, truncated, wrong checksum, 404. Nothing is fetched from outside this machine.

use std::collections::HashMap;
use std::path::PathBuf;

mod common;
use common::{data_dir, serve};

const NB201: [&str; 4] = [
    "benchmarks/nb201/suitezero-nasbench201-zen.zip",
    "benchmarks/nb201/nats-tss-test-accuracy-200ep.csv",
    "benchmarks/nb201/zc_nasbench201.json",
    "benchmarks/nb201/nb2_cf10_hp12_info.p",
];

fn fetch(mirror: &str, dest: &PathBuf) -> (bool, String) {
    // From the local server only (the mirror): the one command that may download.
    let o = common::swapnas()
        .env_remove("SWAPNAS_OFFLINE")
        .args(["data", "fetch", "--bench", "nb201", "--mirror", mirror])
        .arg("--data-dir")
        .arg(dest)
        .output()
        .unwrap();
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn real_files() -> HashMap<String, Vec<u8>> {
    NB201.iter().map(|p| (p.to_string(), std::fs::read(data_dir().join(p)).unwrap())).collect()
}

fn no_part_files(dir: &std::path::Path) -> bool {
    let nb201 = dir.join("benchmarks/nb201");
    std::fs::read_dir(&nb201).map_or(true, |rd| rd.flatten().all(|e| !e.file_name().to_string_lossy().ends_with(".part")))
}

#[test]
fn good_truncated_corrupt_and_missing_downloads() {
    let Some(_full) = common::full_data("the real NB201 source tables to serve") else { return };
    let base = std::env::temp_dir().join(format!("swapnas-fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);

    // Good: every file arrives, verifies, and `data verify` agrees.
    let good = base.join("good");
    let (ok, err) = fetch(&serve(real_files()), &good);
    assert!(ok, "{err}");
    for p in NB201 {
        assert_eq!(std::fs::read(good.join(p)).unwrap(), std::fs::read(data_dir().join(p)).unwrap());
    }
    let o = common::swapnas().args(["data", "verify", "--bench", "nb201", "--data-dir"]).arg(&good).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A second fetch downloads nothing (the server is gone: it would fail otherwise).
    let (ok, err) = fetch("http://127.0.0.1:9", &good);
    assert!(ok && err.contains("ok       benchmarks/nb201/zc_nasbench201.json"), "{err}");

    // Truncated, wrong checksum, 404: each named, with source and destination; nothing left behind.
    let mut files = real_files();
    let zip = files.get_mut(NB201[0]).unwrap();
    zip.truncate(zip.len() / 2);
    let csv = files.get_mut(NB201[1]).unwrap();
    csv[100] ^= 0x20;
    files.remove(NB201[2]);
    let bad = base.join("bad");
    let (ok, err) = fetch(&serve(files), &bad);
    assert!(!ok);
    assert!(err.contains("could not fetch 3 file(s)"), "{err}");
    assert!(err.contains("suitezero-nasbench201-zen.zip") && err.contains("truncated"), "{err}");
    assert!(err.contains("nats-tss-test-accuracy-200ep.csv") && err.contains("SHA-256 mismatch"), "{err}");
    assert!(err.contains("zc_nasbench201.json") && err.contains("404"), "{err}");
    assert!(err.contains("put the file") && err.contains("source:"), "{err}");
    for p in &NB201[..3] {
        assert!(!bad.join(p).exists(), "{p} must not be left behind");
    }
    // The one good file of that fetch (the query table) landed and verified.
    assert_eq!(std::fs::read(bad.join(NB201[3])).unwrap(), std::fs::read(data_dir().join(NB201[3])).unwrap());
    assert!(no_part_files(&bad));

    // Corrupt a fetched file on disk: verify says so and fetch repairs it.
    std::fs::write(good.join(NB201[1]), b"not the csv").unwrap();
    let o = common::swapnas().args(["data", "verify", "--bench", "nb201", "--data-dir"]).arg(&good).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stdout).contains("CORRUPT  benchmarks/nb201/nats-tss-test-accuracy-200ep.csv"));
    let (ok, err) = fetch(&serve(real_files()), &good);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(good.join(NB201[1])).unwrap(), std::fs::read(data_dir().join(NB201[1])).unwrap());
    std::fs::remove_dir_all(base).unwrap();
}

/// Two processes fetching the same files into one data directory at once both succeed: each
/// writes its own part file (a shared one was renamed away under the other), and what lands
/// is verified on disk.
#[test]
fn two_processes_fetching_at_once_both_succeed() {
    let Some(_full) = common::full_data("the real NB201 source tables to serve") else { return };
    let dest = std::env::temp_dir().join(format!("swapnas-fetch-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dest);
    let mirror = serve(real_files());
    let start = || {
        common::swapnas()
            .env_remove("SWAPNAS_OFFLINE")
            .args(["data", "fetch", "--bench", "nb201", "--mirror", &mirror])
            .arg("--data-dir")
            .arg(&dest)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    for p in NB201 {
        assert_eq!(std::fs::read(dest.join(p)).unwrap(), std::fs::read(data_dir().join(p)).unwrap(), "{p}");
    }
    assert!(no_part_files(&dest));
    let _ = std::fs::remove_dir_all(&dest);
}
