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
    Default,
}

/// The resolved data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    origin: DataDirOrigin,
}

impl DataDir {
    /// Resolves `--data-dir`, then `$SWAPNAS_DATA`, then `./data`. The directory must exist.
    pub fn locate(flag: Option<&Path>) -> Result<Self> {
        let env = std::env::var_os("SWAPNAS_DATA").filter(|v| !v.is_empty());
        let (root, origin) = match (flag, env) {
            (Some(p), _) => (p.to_path_buf(), DataDirOrigin::Flag),
            (None, Some(p)) => (PathBuf::from(p), DataDirOrigin::Env),
            (None, None) => (PathBuf::from("data"), DataDirOrigin::Default),
        };
        if !root.is_dir() {
            let how = match origin {
                DataDirOrigin::Flag => "given by --data-dir",
                DataDirOrigin::Env => "given by $SWAPNAS_DATA",
                DataDirOrigin::Default => "the default, as neither --data-dir nor $SWAPNAS_DATA is set",
            };
            bail!(
                "data directory `{}` ({how}) does not exist. Point --data-dir or $SWAPNAS_DATA at a \
                 directory laid out as benchmarks/<space>/… and images/<set>/…, or create ./data \
                 (see README.md, section Data)",
                root.display()
            );
        }
        Ok(Self { root, origin })
    }

    /// A data directory at a known path (tests, tools).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), origin: DataDirOrigin::Flag }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn origin(&self) -> DataDirOrigin {
        self.origin
    }

    /// The path of `file`, which must exist; otherwise an error that says where to get it and
    /// where to put it.
    pub fn require(&self, file: &DataFile) -> Result<PathBuf> {
        let path = self.root.join(file.rel_path);
        if !path.is_file() {
            bail!(
                "missing data file `{}`.\n  get it from: {}\n  and put it at: {}{}",
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
        Ok(path)
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
            source: "https://github.com/v-tao/nats-bench-landscape/raw/HEAD/nats_bench.csv",
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
