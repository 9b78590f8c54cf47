//! `swapnas data fetch` / `swapnas data verify`: the benchmark tables from their public
//! sources, checked against the SHA-256 manifest below.
//!
//! Each file is downloaded to `<file>.part` beside its destination, its size and SHA-256
//! are checked, and only then is it renamed into place: an interrupted, truncated or wrong
//! download never leaves a file the harness would read. `--mirror URL` fetches
//! `URL/<path in the data directory>` instead of the public source (and is how the tests
//! serve the real files from 127.0.0.1).

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};
use swapnas_benchmarks::data_dir::{self, DataFile};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// One file of the manifest.
#[derive(Debug, Clone, Copy)]
pub struct ManifestEntry {
    pub bench: &'static str,
    /// Where it goes in the data directory and where it comes from (the loaders' constant).
    pub file: DataFile,
    pub sha256: &'static str,
    pub bytes: u64,
}

/// The benchmark tables, unchanged from their public sources (checksums of those files).
pub const MANIFEST: &[ManifestEntry] = &[
    ManifestEntry {
        bench: "nb201",
        file: data_dir::NB201_SUITEZERO_ZIP,
        sha256: "6c9aec8cd0c235d7b7a37a27f224bb719e7376e8048f2dd6d91bc06dcfcc2a2e",
        bytes: 1_661_280,
    },
    ManifestEntry {
        bench: "nb201",
        file: data_dir::NB201_NATS_CSV,
        sha256: "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
        bytes: 3_024_008,
    },
    ManifestEntry {
        bench: "nb201",
        file: data_dir::NB201_ZC_JSON,
        sha256: "5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641",
        bytes: 1_963_032,
    },
    ManifestEntry {
        bench: "nb101",
        file: data_dir::NB101_ZC_JSON,
        sha256: "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2",
        bytes: 259_564,
    },
    ManifestEntry {
        bench: "nb301",
        file: data_dir::NB301_SWAP_DARTS_CSV,
        sha256: "d28d263aa7dd4103b6a1da1775b1b03ae16ffd2516409ca3bd493c8784abe6b0",
        bytes: 423_509,
    },
    ManifestEntry {
        bench: "nb301",
        file: data_dir::NB301_ZC_JSON,
        sha256: "537e9abd6f0b14fdffdfcb3c07b18a037647b5c80808b3b2cf9a51b1b491aba1",
        bytes: 820_765,
    },
];

/// Image sets are archives (CIFAR) or not redistributable (ImageNet16-120): the harness
/// says where they come from rather than fetching them.
pub const IMAGE_SOURCES: &[(&str, &str)] = &[
    ("images/cifar-10-batches-bin/", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (unpack it; the folder is cifar-10-batches-bin)"),
    ("images/cifar-100-binary/", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (unpack it; the folder is cifar-100-binary)"),
    ("images/imagenet16-120-standin/val.bin", "a 16×16 stand-in (1 label byte + 768 bytes R,G,B per image); ImageNet16-120 itself is not redistributable"),
];

fn entries(bench: Option<&str>) -> Result<Vec<&'static ManifestEntry>> {
    let list: Vec<_> = MANIFEST.iter().filter(|e| bench.is_none_or(|b| e.bench == b)).collect();
    if list.is_empty() {
        let known: Vec<_> = MANIFEST.iter().map(|e| e.bench).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        bail!("no data files for --bench {} (known: {})", bench.unwrap_or(""), known.join(", "));
    }
    Ok(list)
}

fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Sha256::new();
    let total = std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((format!("{:x}", h.finalize()), total))
}

/// Whether `path` holds exactly the manifest's file.
fn verified(path: &Path, e: &ManifestEntry) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    let (sum, bytes) = sha256_file(path)?;
    Ok(bytes == e.bytes && sum == e.sha256)
}

/// Checks every manifest file present in `root`; returns (ok, missing, bad) paths.
pub fn verify(root: &Path, bench: Option<&str>) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let (mut ok, mut missing, mut bad) = (vec![], vec![], vec![]);
    for e in entries(bench)? {
        let path = root.join(e.file.rel_path);
        if !path.is_file() {
            missing.push(e.file.rel_path.to_string());
        } else if verified(&path, e)? {
            ok.push(e.file.rel_path.to_string());
        } else {
            bad.push(e.file.rel_path.to_string());
        }
    }
    Ok((ok, missing, bad))
}

/// Downloads every missing or wrong manifest file into `root`. Files that cannot be fetched
/// are listed at the end, each with its source and destination; the others are kept.
pub fn fetch(root: &Path, bench: Option<&str>, mirror: Option<&str>) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create data directory {}", root.display()))?;
    let mut fetched = Vec::new();
    let mut failures = Vec::new();
    for e in entries(bench)? {
        let dest = root.join(e.file.rel_path);
        if verified(&dest, e)? {
            eprintln!("ok       {}", e.file.rel_path);
            continue;
        }
        let url = match mirror {
            Some(m) => format!("{}/{}", m.trim_end_matches('/'), e.file.rel_path),
            None => e.file.source.to_string(),
        };
        match download(&url, &dest, e) {
            Ok(()) => {
                eprintln!("fetched  {}", e.file.rel_path);
                fetched.push(dest);
            }
            Err(err) => failures.push(format!(
                "`{}`: {err:#}\n  source: {url}\n  put the file (SHA-256 {}) at: {}",
                e.file.rel_path,
                e.sha256,
                dest.display()
            )),
        }
    }
    if !failures.is_empty() {
        bail!("could not fetch {} file(s):\n{}", failures.len(), failures.join("\n"));
    }
    Ok(fetched)
}

fn download(url: &str, dest: &Path, e: &ManifestEntry) -> Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let part = dest.with_extension(format!("{}.part", dest.extension().and_then(|x| x.to_str()).unwrap_or("")));
    let result = (|| -> Result<()> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(600)))
            .timeout_connect(Some(std::time::Duration::from_secs(15)))
            .build()
            .into();
        let response = agent.get(url).call().map_err(|err| anyhow::anyhow!("download failed: {err}"))?;
        let mut reader = response.into_body().into_reader();
        let bar = ProgressBar::new(e.bytes);
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}").expect("static template"),
        );
        bar.set_message(e.file.rel_path.rsplit('/').next().unwrap_or(e.file.rel_path).to_string());
        let mut file = std::fs::File::create(&part).with_context(|| format!("cannot write {}", part.display()))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).context("the download broke off")?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            file.write_all(&buf[..n])?;
            total += n as u64;
            if total > e.bytes {
                bail!("the server sent more than the expected {} bytes", e.bytes);
            }
            bar.set_position(total);
        }
        bar.finish_and_clear();
        file.sync_all()?;
        let sum = format!("{:x}", h.finalize());
        if total != e.bytes {
            bail!("got {total} bytes, expected {} (truncated download?)", e.bytes);
        }
        if sum != e.sha256 {
            bail!("SHA-256 mismatch: got {sum}, expected {}", e.sha256);
        }
        std::fs::rename(&part, dest).with_context(|| format!("cannot move {} into place", part.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// `swapnas data …`
pub fn run(cmd: &crate::cli::DataCommand) -> Result<()> {
    use crate::cli::DataCommand;
    match cmd {
        DataCommand::Fetch { data_dir, bench, mirror } => {
            let root = data_root(data_dir.as_deref());
            let fetched = fetch(&root, bench.as_deref(), mirror.as_deref())?;
            eprintln!("{} file(s) fetched into {}", fetched.len(), root.display());
            print_image_sources(&root);
            Ok(())
        }
        DataCommand::Import { data_dir, bench, out } => {
            if bench != "nb201" {
                bail!("`data import` supports --bench nb201 so far, not `{bench}`");
            }
            let root = data_root(data_dir.as_deref());
            let dir = swapnas_benchmarks::DataDir::at(&root);
            let zip = dir.require(&data_dir::NB201_SUITEZERO_ZIP)?;
            let csv = dir.require(&data_dir::NB201_NATS_CSV)?;
            let table = swapnas_benchmarks::nb201::Nb201Table::load_files(&zip, &csv)?;
            let mut provenance = std::collections::BTreeMap::new();
            for (path, file) in [(&zip, data_dir::NB201_SUITEZERO_ZIP), (&csv, data_dir::NB201_NATS_CSV)] {
                let (sum, _) = sha256_file(path)?;
                provenance.insert(format!("source {}", file.rel_path), format!("{} sha256={sum}", file.source));
            }
            provenance.insert("created_by".to_string(), format!("swapnas {} data import", env!("CARGO_PKG_VERSION")));
            provenance.insert("val_accuracy".to_string(), "200-epoch validation accuracy (NAS-Bench-Suite-Zero)".to_string());
            provenance.insert("test_accuracy".to_string(), "200-epoch test accuracy (NATS-Bench)".to_string());
            provenance.insert("zen".to_string(), "Suite-Zero's Zen score".to_string());
            let out = out.clone().unwrap_or_else(|| root.join(swapnas_benchmarks::nb201::NB201_ARCHIVE));
            table.to_archive(provenance).write(&out)?;
            eprintln!("wrote {} ({} archs × {} tasks)", out.display(), table.records().len(), 3);
            Ok(())
        }
        DataCommand::Verify { data_dir, bench } => {
            let root = data_root(data_dir.as_deref());
            let (ok, missing, bad) = verify(&root, bench.as_deref())?;
            for p in &ok {
                println!("ok       {p}");
            }
            for p in &missing {
                println!("missing  {p}");
            }
            for p in &bad {
                println!("CORRUPT  {p} (size or SHA-256 differs from the manifest)");
            }
            if !missing.is_empty() || !bad.is_empty() {
                bail!(
                    "{} missing and {} corrupt file(s) in {}: run `swapnas data fetch --data-dir {}`",
                    missing.len(),
                    bad.len(),
                    root.display(),
                    root.display()
                );
            }
            Ok(())
        }
    }
}

fn print_image_sources(root: &Path) {
    for (rel, source) in IMAGE_SOURCES {
        if !root.join(rel).exists() {
            eprintln!("images not fetched: {rel}\n  get it from: {source}\n  and put it at: {}", root.join(rel).display());
        }
    }
}

/// The data directory for `data` commands: the flag, else $SWAPNAS_DATA, else ./data
/// (created by fetch).
fn data_root(flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SWAPNAS_DATA").filter(|v| !v.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("data"))
}
