//! Where benchmark tables and images live, and what to tell the user when one is missing.
//!
//! The data directory is found in this order: `--data-dir`, `$SWAPNAS_DATA`, `./data`. Its
//! layout mirrors the public sources: `benchmarks/<space>/<file>` and `images/<set>/<file>`.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// A file the harness reads, with the public place it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// Path inside the data directory.
    pub rel_path: &'static str,
    /// Where the unchanged file can be downloaded.
    pub source: &'static str,
}

/// SHA-256 (hex) and size of a file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    use anyhow::Context;
    use sha2::Digest;
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let total = std::io::copy(&mut f, &mut h).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((format!("{:x}", h.finalize()), total))
}

/// How the data directory was chosen (reported in run headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataDirOrigin {
    Flag,
    Env,
    /// `./data`, which exists.
    Default,
    /// The user cache directory (`~/.cache/swapnas` on Linux), where missing files are fetched.
    UserCache,
}

/// Downloads a missing file into a data directory root (the harness installs one; this crate
/// does no networking). Called with the file and the root; on success the file is in place.
pub type FetchFn = dyn Fn(&DataFile, &Path) -> Result<()> + Send + Sync;

/// A [`FetchFn`], shareable.
#[derive(Clone)]
pub struct Fetcher(pub std::sync::Arc<FetchFn>);

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fetcher")
    }
}

/// The resolved data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    origin: DataDirOrigin,
    fetcher: Option<Fetcher>,
}

/// The user cache directory for data: `$XDG_CACHE_HOME/swapnas` or `~/.cache/swapnas` on Linux,
/// `~/Library/Caches/swapnas` on macOS (the platform's cache dir).
pub fn user_cache_dir() -> PathBuf {
    dirs::cache_dir().unwrap_or_else(std::env::temp_dir).join("swapnas")
}

impl DataDir {
    /// Resolves `--data-dir`, then `$SWAPNAS_DATA` (either must exist), then `./data` if it
    /// exists, else the user cache directory (which need not exist yet: what a run lacks is
    /// embedded or fetched into it).
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        let (root, origin) = Self::choose(flag);
        if origin != DataDirOrigin::UserCache && !root.is_dir() {
            let how = match origin {
                DataDirOrigin::Flag => "given by --data-dir",
                _ => "given by $SWAPNAS_DATA",
            };
            bail!(
                "data directory `{}` ({how}) does not exist. Point it at a directory laid out as \
                 benchmarks/<space>/… and images/<set>/…, create it (missing files are then fetched into \
                 it), or leave both unset to use the embedded data and the user cache {} (see README.md, section Data)",
                root.display(),
                user_cache_dir().display()
            );
        }
        Ok(Self { root, origin, fetcher: None })
    }

    /// Where `--data-dir` (or its absence) points, by [`DataDir::locate`]'s rule, without
    /// checking that it exists: what `swapnas data fetch` fills, `verify` checks and `import`
    /// reads, so that they work on the directory runs use.
    pub fn root_for(flag: Option<&Path>) -> PathBuf {
        Self::choose(flag).0
    }

    fn choose(flag: Option<&Path>) -> (PathBuf, DataDirOrigin) {
        let env = std::env::var_os("SWAPNAS_DATA").filter(|v| !v.is_empty());
        match (flag, env) {
            (Some(p), _) => (p.to_path_buf(), DataDirOrigin::Flag),
            (None, Some(p)) => (PathBuf::from(p), DataDirOrigin::Env),
            (None, None) if Path::new("data").is_dir() => (PathBuf::from("data"), DataDirOrigin::Default),
            (None, None) => (user_cache_dir(), DataDirOrigin::UserCache),
        }
    }

    /// A data directory at a known path (tests, tools).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), origin: DataDirOrigin::Flag, fetcher: None }
    }

    /// The same directory, fetching missing files with `fetcher`.
    pub fn with_fetcher(mut self, fetcher: Fetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn origin(&self) -> DataDirOrigin {
        self.origin
    }

    /// The directory and how it was chosen, for run headers (the embedded subset is added by
    /// the caller when [`super::embedded::used`]).
    pub fn describe(&self) -> String {
        let how = match self.origin {
            DataDirOrigin::Flag => "--data-dir",
            DataDirOrigin::Env => "$SWAPNAS_DATA",
            DataDirOrigin::Default => "./data",
            DataDirOrigin::UserCache => "user cache",
        };
        format!("{} ({how})", self.root.display())
    }

    /// The path of `file`, which must exist or be fetched (when a fetcher is installed);
    /// otherwise an error that says where to get it and where to put it.
    pub fn require(&self, file: &DataFile) -> Result<PathBuf> {
        let path = self.root.join(file.rel_path);
        if path.is_file() {
            return Ok(path);
        }
        let mut why = String::new();
        if let Some(fetch) = &self.fetcher {
            match (fetch.0)(file, &self.root) {
                Ok(()) if path.is_file() => return Ok(path),
                Ok(()) => why = "\n  the download did not produce it".to_string(),
                Err(e) => why = format!("\n  could not fetch it: {e:#}"),
            }
        }
        bail!(
            "missing data file `{}`.{why}\n  get it from: {}\n  and put it at: {}{}",
            file.rel_path,
            file.source,
            path.display(),
            if file.rel_path.starts_with("benchmarks/") {
                "\n  or run: swapnas data fetch (downloads and checks every benchmark table)"
            } else {
                ""
            }
        );
    }

    /// A path inside the data directory (for files with numbered siblings).
    pub fn path(&self, rel_path: &str) -> PathBuf {
        self.root.join(rel_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_message_says_where_to_get_and_put_it() {
        let dir = DataDir::at(std::env::temp_dir().join("swapnas-no-such-dir"));
        let file = DataFile {
            rel_path: "benchmarks/nb201/nats-tss-test-accuracy-200ep.csv",
            source: "https://github.com/v-tao/nats-bench-landscape/raw/312680307c44fd111146b2be0d0148194fbb2ca8/nats_bench.csv",
        };
        let msg = dir.require(&file).unwrap_err().to_string();
        assert!(msg.contains("nats-tss-test-accuracy-200ep.csv"), "{msg}");
        assert!(msg.contains("nats-bench-landscape"), "{msg}");
        assert!(msg.contains("put it at"), "{msg}");
    }

    #[test]
    fn a_missing_flag_directory_is_an_error() {
        let err = DataDir::locate(Some(Path::new("/no/such/swapnas/data"))).unwrap_err();
        assert!(err.to_string().contains("--data-dir"), "{err}");
    }
}
