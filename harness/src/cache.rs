//! The score cache: every (benchmark, arch, proxy, settings, seed) score is appended to a
//! log as soon as it is computed, so a rerun computes only what is missing.
//!
//! Format: one line per score, `<json>\t<checksum>\n`, the checksum being the first 16 hex
//! digits of SHA-256 over the JSON. Lines are appended and flushed one at a time; a run
//! killed at any moment leaves at most a torn last line, which the next open detects (no
//! newline, bad checksum or bad JSON) and cuts off. Nothing is ever rewritten in place, and
//! a non-empty file that holds no valid cache line (a Parquet table, an HDF5 archive, a
//! `table.json` a user pointed `--cache` at) is refused untouched.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One cached score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedScore {
    pub bench: String,
    pub arch: String,
    pub proxy: String,
    pub settings: String,
    pub seed: u64,
    /// The score as text (`NaN`, `inf` and `-inf` survive; JSON numbers cannot hold them).
    pub score: String,
    pub seconds: f64,
}

impl CachedScore {
    pub fn key(&self) -> String {
        cache_key(&self.bench, &self.arch, &self.proxy, &self.settings, self.seed)
    }

    pub fn value(&self) -> f64 {
        self.score.parse().unwrap_or(f64::NAN)
    }
}

/// The key of a score: a hash of everything that determines it.
pub fn cache_key(bench: &str, arch: &str, proxy: &str, settings: &str, seed: u64) -> String {
    let mut h = Sha256::new();
    for part in [bench, arch, proxy, settings, &seed.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex(&h.finalize()[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cache file's contents.
struct Parsed {
    /// The valid lines by key.
    entries: HashMap<String, CachedScore>,
    /// Complete lines that failed their checksum.
    corrupt_lines: usize,
    /// Bytes up to the last newline (complete lines); what follows is a torn write.
    complete: usize,
}

/// A cache file's bytes parsed; an error for a non-empty file without one valid line (it is
/// not a score cache: cutting its "torn tail" or skipping its "corrupt lines" would destroy
/// it).
fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed> {
    let mut entries = HashMap::new();
    let mut corrupt_lines = 0;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    for line in bytes[..complete].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        match parse_line(line) {
            Some(entry) => {
                entries.insert(entry.key(), entry);
            }
            None => corrupt_lines += 1,
        }
    }
    // A run killed while writing its very first score leaves one torn line and nothing else.
    let torn_first_line = complete == 0 && bytes.starts_with(b"{\"bench\":");
    if entries.is_empty() && !bytes.is_empty() && !torn_first_line {
        anyhow::bail!(
            "{} is not a swapnas score cache ({} bytes, not one valid score line): it was left untouched; \
             point --cache at a new file or at a scores.jsonl a run wrote",
            path.display(),
            bytes.len()
        );
    }
    Ok(Parsed { entries, corrupt_lines, complete })
}

fn checksum(json: &str) -> String {
    hex(&Sha256::digest(json.as_bytes())[..8])
}

/// An open cache file.
pub struct ScoreCache {
    path: PathBuf,
    entries: HashMap<String, CachedScore>,
    file: Mutex<File>,
    /// Bytes cut off a torn tail when opening (0 when the file was clean).
    pub repaired_bytes: u64,
    /// Complete lines that failed their checksum (skipped; their scores are recomputed).
    pub corrupt_lines: usize,
    /// The exclusive lock on `<cache>.lock`, held while the cache is open (released by the OS
    /// when the process ends, however it ends).
    _lock: File,
}

impl ScoreCache {
    /// Opens (or creates) the cache at `path`, cutting off a torn last line.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let read = |path: &Path| match std::fs::read(path) {
            Ok(b) => Ok(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e).with_context(|| format!("cannot read score cache {}", path.display())),
        };
        // Parsed before anything is created beside it (a file that is not a cache is refused);
        // read again under the lock only if another process appended or repaired meanwhile.
        let mut bytes = read(path)?;
        let mut parsed = parse(path, &bytes)?;
        let lock = lock_beside(path)?;
        if std::fs::metadata(path).map_or(0, |m| m.len()) != bytes.len() as u64 {
            bytes = read(path)?;
            parsed = parse(path, &bytes)?;
        }
        let Parsed { entries, corrupt_lines, complete: good } = parsed;
        let repaired_bytes = (bytes.len() - good) as u64;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("cannot open score cache {}", path.display()))?;
        if repaired_bytes > 0 {
            // Only a torn or corrupt tail is dropped; every complete line before it is kept.
            file.set_len(good as u64).with_context(|| format!("cannot repair score cache {}", path.display()))?;
        }
        let mut file = file;
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))?;
        Ok(Self { path: path.to_path_buf(), entries, file: Mutex::new(file), repaired_bytes, corrupt_lines, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many scores it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no score.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&CachedScore> {
        self.entries.get(key)
    }

    /// Every score in the cache.
    pub fn entries(&self) -> impl Iterator<Item = &CachedScore> {
        self.entries.values()
    }

    /// Appends one score and flushes it to the OS before returning.
    pub fn append(&self, entry: &CachedScore) -> Result<()> {
        let json = serde_json::to_string(entry)?;
        let line = format!("{json}\t{}\n", checksum(&json));
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|_| file.flush())
            .with_context(|| format!("cannot append to score cache {}", self.path.display()))
    }
}

/// Takes the exclusive lock on `<cache>.lock`: a second process using the same cache stops
/// with a message instead of interleaving its writes.
fn lock_beside(path: &Path) -> Result<File> {
    let lock_path = PathBuf::from(format!("{}.lock", path.display()));
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open the lock file {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "score cache {} is in use by another swapnas process (lock {}): wait for it to finish, or give this run another --out",
            path.display(),
            lock_path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("cannot lock {}", lock_path.display())),
    }
}

fn parse_line(line: &[u8]) -> Option<CachedScore> {
    let line = std::str::from_utf8(line).ok()?;
    let (json, sum) = line.rsplit_once('\t')?;
    (checksum(json) == sum).then_some(())?;
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, score: f64) -> CachedScore {
        CachedScore {
            bench: "nb201-cifar10".into(),
            arch: arch.into(),
            proxy: "swap".into(),
            settings: "B=16".into(),
            seed: 1,
            score: score.to_string(),
            seconds: 0.5,
        }
    }

    /// A torn middle line (a line cut short, its newline kept, as a crash of another writer
    /// on some file systems leaves it) is skipped and counted; the lines after it are kept,
    /// the file is not cut, and new scores append after it.
    #[test]
    fn a_torn_middle_line_is_skipped_not_cut() {
        let dir = std::env::temp_dir().join(format!("swapnas-cache-mid-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("scores.jsonl");
        {
            let c = ScoreCache::open(&path).unwrap();
            for (arch, v) in [("a", 1.0), ("b", 2.0), ("c", 3.0)] {
                c.append(&entry(arch, v)).unwrap();
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let torn = format!("{}\n{}\n{}\n", lines[0], &lines[1][..lines[1].len() / 2], lines[2]);
        std::fs::write(&path, &torn).unwrap();
        {
            let c = ScoreCache::open(&path).unwrap();
            assert_eq!((c.len(), c.corrupt_lines, c.repaired_bytes), (2, 1, 0));
            assert_eq!(c.get(&entry("c", 0.0).key()).unwrap().value(), 3.0);
            assert!(c.get(&entry("b", 0.0).key()).is_none(), "the torn score is recomputed");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), torn, "nothing is cut");
            c.append(&entry("b", 2.0)).unwrap();
        }
        let c = ScoreCache::open(&path).unwrap();
        assert_eq!((c.len(), c.corrupt_lines), (3, 1));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn survives_a_torn_tail_and_keeps_non_finite_scores() {
        let dir = std::env::temp_dir().join(format!("swapnas-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("scores.jsonl");
        {
            let c = ScoreCache::open(&path).unwrap();
            c.append(&entry("a", 1.5)).unwrap();
            c.append(&entry("b", f64::NAN)).unwrap();
            c.append(&entry("c", f64::NEG_INFINITY)).unwrap();
        }
        // Tear the last line in half, as a kill mid-write would.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 20]).unwrap();
        let c = ScoreCache::open(&path).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.repaired_bytes > 0);
        assert_eq!(c.get(&entry("a", 0.0).key()).unwrap().value(), 1.5);
        assert!(c.get(&entry("b", 0.0).key()).unwrap().value().is_nan());
        // Appending after the repair gives a clean file again.
        c.append(&entry("c", f64::NEG_INFINITY)).unwrap();
        drop(c);
        let c = ScoreCache::open(&path).unwrap();
        assert_eq!((c.len(), c.repaired_bytes), (3, 0));
        assert_eq!(c.get(&entry("c", 0.0).key()).unwrap().value(), f64::NEG_INFINITY);
        // A flipped byte inside a line fails its checksum: that line alone is skipped.
        drop(c);
        let mut bytes = std::fs::read(&path).unwrap();
        let second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 10;
        bytes[second_line] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let c = ScoreCache::open(&path).unwrap();
        assert_eq!((c.len(), c.corrupt_lines), (2, 1));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A file that is not a cache (binary Parquet, a JSON table) is refused and left
    /// byte-identical, with no lock file beside it; a cache whose only line was torn is
    /// still a cache.
    #[test]
    fn refuses_what_is_not_a_cache_and_leaves_it_untouched() {
        let dir = std::env::temp_dir().join(format!("swapnas-cache-foreign-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let parquet: Vec<u8> = b"PAR1\x15\x04\x15\x10\n\x00\x1c\n{\"x\":1}\nPAR1".to_vec();
        let table = b"{\n  \"title\": \"nb201\",\n  \"rows\": []\n}".to_vec();
        for (name, bytes) in [("table.parquet", parquet), ("table.json", table)] {
            let path = dir.join(name);
            std::fs::write(&path, &bytes).unwrap();
            let err = ScoreCache::open(&path).err().expect("not a cache");
            assert!(format!("{err:#}").contains("is not a swapnas score cache"), "{err:#}");
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{name} was modified");
            assert!(!dir.join(format!("{name}.lock")).exists(), "{name}: a lock file was left beside it");
        }
        let path = dir.join("scores.jsonl");
        std::fs::write(&path, br#"{"bench":"nb201-cifar10","arch":"(0, 1"#).unwrap();
        let c = ScoreCache::open(&path).unwrap();
        assert_eq!((c.len(), c.repaired_bytes), (0, 38));
        drop(c);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_second_opener_is_refused_until_the_first_closes() {
        let dir = std::env::temp_dir().join(format!("swapnas-cache-lock-{}", std::process::id()));
        let path = dir.join("scores.jsonl");
        let first = ScoreCache::open(&path).unwrap();
        let err = ScoreCache::open(&path).err().expect("second open must fail");
        assert!(format!("{err:#}").contains("in use by another swapnas process"), "{err:#}");
        drop(first);
        ScoreCache::open(&path).unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn keys_depend_on_every_field() {
        let base = cache_key("b", "a", "p", "s", 1);
        assert_ne!(base, cache_key("b", "a", "p", "s", 2));
        assert_ne!(base, cache_key("b", "a", "p", "s2", 1));
        assert_ne!(base, cache_key("b", "a2", "p", "s", 1));
        assert_ne!(cache_key("ab", "c", "p", "s", 1), cache_key("a", "bc", "p", "s", 1));
    }
}
