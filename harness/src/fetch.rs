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
use md5::Digest as _;
use sha2::Sha256;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use swapnas_benchmarks::data::data_dir::{sha256_file, DataFile, Fetcher};
use swapnas_benchmarks::space::CheckedFile;
use swapnas_benchmarks::{Archive, ImageSet};

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
        let served_instead = e.checked.or.is_some_and(|o| root.join(o.rel_path).is_file());
        if !path.is_file() && served_instead {
            ok.push(format!("{} (not needed: {} is here)", e.checked.file.rel_path, e.checked.or.map_or("", |o| o.rel_path)));
        } else if !path.is_file() {
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
        if let Some(other) = e.checked.or.filter(|o| root.join(o.rel_path).is_file()) {
            eprintln!("ok       {} (not needed: {} is here)", e.checked.file.rel_path, other.rel_path);
            continue;
        }
        let (urls, expect) = match mirror {
            Some(m) => (vec![format!("{}/{}", m.trim_end_matches('/'), e.checked.file.rel_path)], Expect::of_table(e.checked)),
            None => sources(e.checked.file.rel_path, table_urls(e.checked), Expect::of_table(e.checked))?,
        };
        match download_any(&urls, &dest, &expect) {
            Ok(()) => {
                eprintln!("fetched  {}", e.checked.file.rel_path);
                fetched.push(dest);
            }
            Err(err) => failures.push(format!(
                "`{}`: {err:#}\n  source: {}\n  put the file (SHA-256 {}) at: {}",
                e.checked.file.rel_path,
                urls.join(" , "),
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

/// What a download must be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expect {
    pub bytes: u64,
    pub sha256: Option<String>,
    pub md5: Option<String>,
}

impl Expect {
    fn of_table(c: &CheckedFile) -> Self {
        Self { bytes: c.bytes, sha256: Some(c.sha256.to_string()), md5: None }
    }

    fn of_archive(a: &Archive) -> Self {
        Self { bytes: a.bytes, sha256: a.sha256.map(str::to_string), md5: a.md5.map(str::to_string) }
    }
}

/// `$SWAPNAS_MIRROR`: base URLs (comma-separated) tried before the public sources, as
/// `<base>/<path in the data directory>` for tables and `<base>/<archive file name>` for
/// image archives (an institution's copy; the checksums are still the manifest's).
fn env_mirrors(name: &str) -> Vec<String> {
    std::env::var("SWAPNAS_MIRROR")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| format!("{}/{name}", m.trim_end_matches('/')))
        .collect()
}

/// A GitHub file pinned at a commit (`github.com/O/R/raw/C/P`) is served identically by
/// raw.githubusercontent.com and jsDelivr: the built-in mirror list.
fn github_mirrors(url: &str) -> Vec<String> {
    let Some(rest) = url.strip_prefix("https://github.com/") else { return Vec::new() };
    let parts: Vec<&str> = rest.splitn(5, '/').collect();
    match parts.as_slice() {
        [owner, repo, "raw", commit, path] => vec![
            format!("https://raw.githubusercontent.com/{owner}/{repo}/{commit}/{path}"),
            format!("https://cdn.jsdelivr.net/gh/{owner}/{repo}@{commit}/{path}"),
        ],
        _ => Vec::new(),
    }
}

/// A table's built-in sources: its pinned URL, then the same commit's mirrors.
fn table_urls(c: &CheckedFile) -> Vec<String> {
    let mut urls = Vec::new();
    if c.file.source.starts_with("http") {
        urls.push(c.file.source.to_string());
        urls.extend(github_mirrors(c.file.source));
    }
    urls
}

/// Where the file named `key` (path in the data directory, or archive name) is fetched from,
/// in the order tried, and what it must be: `$SWAPNAS_MIRROR`'s copies first, then the
/// `$SWAPNAS_MANIFEST` entry for `key` if there is one, else the built-in sources and checks.
fn sources(key: &str, built_in: Vec<String>, expect: Expect) -> Result<(Vec<String>, Expect)> {
    let mut urls = env_mirrors(key);
    Ok(match override_for(key)? {
        Some(o) => {
            urls.push(o.url);
            (urls, Expect { bytes: o.bytes, sha256: o.sha256, md5: o.md5 })
        }
        None => {
            urls.extend(built_in);
            (urls, expect)
        }
    })
}

/// An entry of `$SWAPNAS_MANIFEST` (a JSON object keyed by the path in the data directory or
/// the archive's file name): a source of one's own with its checksum, which replaces the
/// built-in one (a private mirror of a changed file, or the tests' local server).
#[derive(Debug, Clone, serde::Deserialize)]
struct Override {
    url: String,
    bytes: u64,
    sha256: Option<String>,
    md5: Option<String>,
}

fn override_for(key: &str) -> Result<Option<Override>> {
    let Some(path) = std::env::var_os("SWAPNAS_MANIFEST").filter(|v| !v.is_empty()) else { return Ok(None) };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read $SWAPNAS_MANIFEST {}", PathBuf::from(&path).display()))?;
    let map: std::collections::HashMap<String, Override> = serde_json::from_str(&text).with_context(|| {
        format!("$SWAPNAS_MANIFEST {} is not a JSON object of {{url, bytes, sha256|md5}}", PathBuf::from(&path).display())
    })?;
    Ok(map.get(key).cloned())
}

/// Tries each URL in turn until one gives the expected file; the error lists every attempt.
fn download_any(urls: &[String], dest: &Path, expect: &Expect) -> Result<()> {
    if urls.is_empty() {
        bail!("no download source is known");
    }
    let mut attempts = Vec::new();
    for url in urls {
        match download(url, dest, expect) {
            Ok(()) => return Ok(()),
            Err(e) => attempts.push(format!("{url}: {e:#}")),
        }
    }
    if attempts.len() == 1 {
        bail!("{}", attempts.remove(0).split_once(": ").map_or(String::new(), |(_, e)| e.to_string()));
    }
    bail!("every source failed:\n    {}", attempts.join("\n    "))
}

fn download(url: &str, dest: &Path, expect: &Expect) -> Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // A part file of this download's own: two processes fetching the same file never write
    // into one another's.
    static DOWNLOADS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = DOWNLOADS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let part = dest.with_extension(format!(
        "{}.{}-{n}.part",
        dest.extension().and_then(|x| x.to_str()).unwrap_or(""),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(1800)))
            .timeout_connect(Some(std::time::Duration::from_secs(15)))
            .build()
            .into();
        let response = agent.get(url).call().map_err(|err| anyhow::anyhow!("download failed: {err}"))?;
        let mut reader = response.into_body().into_reader();
        let bar = ProgressBar::new(expect.bytes);
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}")
                .expect("static template"),
        );
        bar.set_message(dest.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
        let mut file = std::fs::File::create(&part).with_context(|| format!("cannot write {}", part.display()))?;
        let mut sha = Sha256::new();
        let mut md5 = md5::Md5::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).context("the download broke off")?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
            md5.update(&buf[..n]);
            file.write_all(&buf[..n]).with_context(|| format!("cannot write {} (disk full?)", part.display()))?;
            total += n as u64;
            if total > expect.bytes {
                bail!("the server sent more than the expected {} bytes", expect.bytes);
            }
            bar.set_position(total);
        }
        bar.finish_and_clear();
        file.sync_all()?;
        if total != expect.bytes {
            bail!("got {total} bytes, expected {} (truncated download?)", expect.bytes);
        }
        let sha = format!("{:x}", sha.finalize());
        if let Some(want) = &expect.sha256 {
            if &sha != want {
                bail!("SHA-256 mismatch: got {sha}, expected {want}");
            }
        }
        let md5 = format!("{:x}", md5.finalize());
        if let Some(want) = &expect.md5 {
            if &md5 != want {
                bail!("MD5 mismatch: got {md5}, expected {want} (the publisher's)");
            }
        }
        drop(file);
        // What is on disk, not only what came over the wire, is what gets moved into place.
        if let Some(want) = &expect.sha256 {
            let (on_disk, bytes) = sha256_file(&part)?;
            if &on_disk != want || bytes != expect.bytes {
                bail!("{} changed on disk after download (SHA-256 {on_disk}, {bytes} bytes)", part.display());
            }
        }
        std::fs::rename(&part, dest).with_context(|| format!("cannot move {} into place", part.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

/// The image set a data file belongs to, with its archive.
fn image_archive(rel_path: &str) -> Option<(ImageSet, Archive)> {
    swapnas_benchmarks::spaces::registry()
        .iter()
        .flat_map(|s| s.tasks())
        .map(|t| t.images)
        .find(|set| set.files.iter().chain(set.test_files).any(|f| f.rel_path == rel_path))
        .and_then(|set| set.archive.map(|a| (set, a)))
}

/// Downloads `archive`, checks it, and unpacks its folder into `<root>/images/<folder>/`
/// (through a temporary folder moved into place with one rename, so a failure leaves no
/// partial set); the archive is deleted afterwards. A set already in place is replaced.
pub fn fetch_archive(archive: &Archive, root: &Path) -> Result<()> {
    let name = archive.url.rsplit('/').next().unwrap_or("archive.tar.gz");
    let built_in = std::iter::once(archive.url).chain(archive.mirrors.iter().copied()).map(str::to_string).collect();
    let (urls, expect) = sources(name, built_in, Expect::of_archive(archive))?;
    let images = root.join("images");
    let tarball = images.join(name);
    eprintln!("fetching {name} ({:.0} MB) into {}", archive.bytes as f64 / 1e6, images.display());
    download_any(&urls, &tarball, &expect)?;
    let staging = images.join(format!(".unpack-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging)?;
        unpack(&tarball, archive.folder, &staging)?;
        let from = staging.join(archive.folder);
        if !from.is_dir() {
            bail!("the archive has no folder {}", archive.folder);
        }
        // The whole checked set goes into place with one rename: at no moment is a partial set
        // at `to`. A set already there (e.g. with files missing) is moved aside first and
        // removed once the new one is in place.
        let to = images.join(archive.folder);
        let aside = images.join(format!(".old-{}-{}", std::process::id(), archive.folder.replace('/', "_")));
        let had = to.exists();
        if had {
            std::fs::rename(&to, &aside).with_context(|| format!("cannot move {} aside", to.display()))?;
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if let Err(e) = std::fs::rename(&from, &to) {
            if had {
                let _ = std::fs::rename(&aside, &to);
            }
            return Err(e).with_context(|| format!("cannot move the unpacked set into {}", to.display()));
        }
        if had {
            let _ = std::fs::remove_dir_all(&aside);
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let _ = std::fs::remove_file(&tarball);
    result.with_context(|| format!("unpacking {name}"))
}

/// Unpacks the regular files under `folder` of the tar.gz `tarball` into `staging`. An entry
/// that could reach outside (an absolute path, a `..` component, a symbolic or hard link)
/// refuses the whole archive: a checked archive never has one.
fn unpack(tarball: &Path, folder: &str, staging: &Path) -> Result<()> {
    let file = std::fs::File::open(tarball).with_context(|| format!("cannot open {}", tarball.display()))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    for entry in tar.entries().context("not a tar.gz archive")? {
        let mut entry = entry.context("a damaged archive entry")?;
        let path = entry.path()?.to_path_buf();
        let escapes = path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir));
        let kind = entry.header().entry_type();
        if escapes || kind.is_symlink() || kind.is_hard_link() {
            bail!("refused: the archive's entry {} could write outside its folder", path.display());
        }
        if kind.is_file() && path.starts_with(folder) {
            entry.unpack_in(staging).with_context(|| format!("cannot unpack {}", path.display()))?;
        }
    }
    Ok(())
}

/// The fetcher runs install into their data directory: a missing benchmark table or image
/// file is downloaded from its pinned source (then the mirrors), checked against the
/// manifest and put in place; `$SWAPNAS_OFFLINE` turns it off.
pub fn auto_fetcher() -> Fetcher {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    Fetcher(std::sync::Arc::new(|file: &DataFile, root: &Path| -> Result<()> {
        if std::env::var_os("SWAPNAS_OFFLINE").is_some_and(|v| !v.is_empty() && v != "0") {
            bail!("$SWAPNAS_OFFLINE is set, so nothing is downloaded");
        }
        let _one_at_a_time = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if root.join(file.rel_path).is_file() {
            return Ok(());
        }
        if let Some(e) = manifest().into_iter().find(|e| e.checked.file.rel_path == file.rel_path) {
            let (urls, expect) = sources(file.rel_path, table_urls(e.checked), Expect::of_table(e.checked))?;
            eprintln!("fetching {} into {}", file.rel_path, root.display());
            return download_any(&urls, &root.join(file.rel_path), &expect);
        }
        if let Some((_, archive)) = image_archive(file.rel_path) {
            return fetch_archive(&archive, root);
        }
        bail!("swapnas knows no public download for it")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar.gz with one entry `name` of `kind` (raw header bytes, so `..` and absolute
    /// paths are written as a hostile archive would).
    fn tarball(dir: &Path, name: &str, kind: tar::EntryType) -> PathBuf {
        let path = dir.join(format!("t{}.tar.gz", name.len()));
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        let data = b"x";
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_entry_type(kind);
        if kind.is_symlink() {
            h.set_link_name("/etc/passwd").unwrap();
        }
        h.set_size(if kind.is_file() { 1 } else { 0 });
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, if kind.is_file() { &data[..] } else { &[][..] }).unwrap();
        b.into_inner().unwrap().finish().unwrap();
        path
    }

    /// Members escaping the folder (`../`, absolute, a symlink) refuse the archive, and nothing
    /// is written outside the staging folder; a plain member unpacks.
    #[test]
    fn hostile_tarballs_are_refused() {
        let dir = std::env::temp_dir().join(format!("swapnas-tar-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let staging = dir.join("staging");
        std::fs::create_dir_all(&staging).unwrap();
        for (name, kind) in [
            ("set/../../evil", tar::EntryType::Regular),
            ("/tmp/swapnas-evil-abs", tar::EntryType::Regular),
            ("set/link", tar::EntryType::Symlink),
        ] {
            let err = unpack(&tarball(&dir, name, kind), "set", &staging).unwrap_err();
            assert!(format!("{err:#}").contains("refused"), "{name}: {err:#}");
        }
        assert!(!dir.join("evil").exists() && !Path::new("/tmp/swapnas-evil-abs").exists());
        unpack(&tarball(&dir, "set/ok.bin", tar::EntryType::Regular), "set", &staging).unwrap();
        assert_eq!(std::fs::read(staging.join("set/ok.bin")).unwrap(), b"x");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
