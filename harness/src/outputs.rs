//! The one writer of a command's output files: its directory (created when opened, the error
//! naming it) and each file written atomically (a crash or a full disk leaves the previous
//! file or none, never half of one), and where a run's score cache lives.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// A run's score cache, inside its output directory.
pub const SCORES: &str = "scores.jsonl";

/// `results/<name>`: where a command writes unless `--out` says otherwise.
pub fn results(name: impl AsRef<Path>) -> PathBuf {
    Path::new("results").join(name)
}

/// `results/<run>/scores.jsonl`: the cache a plain run keeps, which `search` and `ablate`
/// share by default so each score is computed once.
pub fn run_cache(run_name: &str) -> PathBuf {
    results(run_name).join(SCORES)
}

/// A command's output directory.
#[derive(Debug, Clone)]
pub struct Outputs {
    dir: PathBuf,
}

impl Outputs {
    /// Opens `dir`, creating it (and its parents) if needed.
    pub fn create(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of output `name` (e.g. the score cache, [`SCORES`]).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes output `name` atomically; returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> Result<PathBuf> {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        swapnas_reports::table::write_atomic(&path, bytes.as_ref())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    /// Writes `value` as pretty JSON to output `name`.
    pub fn write_json(&self, name: &str, value: &impl serde::Serialize) -> Result<PathBuf> {
        self.write(name, serde_json::to_string_pretty(value)?)
    }
}
