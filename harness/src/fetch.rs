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
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use swapnas_benchmarks::data::data_dir::sha256_file;
use swapnas_benchmarks::space::CheckedFile;

/// One file of the manifest: a space's declared data file.
#[derive(Debug, Clone, Copy)]
pub struct ManifestEntry {
    pub bench: &'static str,
    pub checked: &'static CheckedFile,
}

/// The benchmark tables, unchanged from their public sources: every registered space's
/// declared files, with their checksums.
pub fn manifest() -> Vec<ManifestEntry> {
    swapnas_benchmarks::spaces::registry()
        .iter()
        .flat_map(|space| space.data_files().iter().map(|checked| ManifestEntry { bench: space.name(), checked }))
        .collect()
}

fn entries(bench: Option<&str>) -> Result<Vec<ManifestEntry>> {
    let all = manifest();
    let list: Vec<_> = all.iter().copied().filter(|e| bench.is_none_or(|b| e.bench == b)).collect();
    if list.is_empty() {
        let known: Vec<_> = all.iter().map(|e| e.bench).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        bail!("no data files for --bench {} (known: {})", bench.unwrap_or(""), known.join(", "));
    }
    Ok(list)
}

/// Whether `path` holds exactly the manifest's file.
fn verified(path: &Path, e: &ManifestEntry) -> Result<bool> {
    if !path.is_file() {
        return Ok(false);
    }
    let (sum, bytes) = sha256_file(path)?;
    Ok(bytes == e.checked.bytes && sum == e.checked.sha256)
}

/// Checks every manifest file present in `root`; returns (ok, missing, bad) paths.
pub fn verify(root: &Path, bench: Option<&str>) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    let (mut ok, mut missing, mut bad) = (vec![], vec![], vec![]);
    for e in entries(bench)? {
        let path = root.join(e.checked.file.rel_path);
        if !path.is_file() {
            missing.push(e.checked.file.rel_path.to_string());
        } else if verified(&path, &e)? {
            ok.push(e.checked.file.rel_path.to_string());
        } else {
            bad.push(e.checked.file.rel_path.to_string());
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
        let dest = root.join(e.checked.file.rel_path);
        if verified(&dest, &e)? {
            eprintln!("ok       {}", e.checked.file.rel_path);
            continue;
        }
        let url = match mirror {
            Some(m) => format!("{}/{}", m.trim_end_matches('/'), e.checked.file.rel_path),
            None => e.checked.file.source.to_string(),
        };
        match download(&url, &dest, &e) {
            Ok(()) => {
                eprintln!("fetched  {}", e.checked.file.rel_path);
                fetched.push(dest);
            }
            Err(err) => failures.push(format!(
                "`{}`: {err:#}\n  source: {url}\n  put the file (SHA-256 {}) at: {}",
                e.checked.file.rel_path,
                e.checked.sha256,
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
        let bar = ProgressBar::new(e.checked.bytes);
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}").expect("static template"),
        );
        bar.set_message(e.checked.file.rel_path.rsplit('/').next().unwrap_or(e.checked.file.rel_path).to_string());
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
            if total > e.checked.bytes {
                bail!("the server sent more than the expected {} bytes", e.checked.bytes);
            }
            bar.set_position(total);
        }
        bar.finish_and_clear();
        file.sync_all()?;
        let sum = format!("{:x}", h.finalize());
        if total != e.checked.bytes {
            bail!("got {total} bytes, expected {} (truncated download?)", e.checked.bytes);
        }
        if sum != e.checked.sha256 {
            bail!("SHA-256 mismatch: got {sum}, expected {}", e.checked.sha256);
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
            let space = swapnas_benchmarks::spaces::find(bench)?;
            let root = data_root(data_dir.as_deref());
            space.import(&swapnas_benchmarks::DataDir::at(&root), out.as_deref())?;
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
    // The image sets of every registered space's tasks, each once.
    let mut sets: Vec<swapnas_benchmarks::ImageSet> = Vec::new();
    for task in swapnas_benchmarks::spaces::registry().iter().flat_map(|s| s.tasks()) {
        if !sets.iter().any(|s| s.source == task.images.source) {
            sets.push(task.images);
        }
    }
    for (rel, source) in sets.iter().map(|s| s.source) {
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
