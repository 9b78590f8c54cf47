//! The correlation table of one run: proxy × (ρ, τ, n, non-finite), as Markdown, CSV and JSON.

use crate::Correlation;
use anyhow::{Context, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One proxy's line.
#[derive(Debug, Clone, Serialize)]
pub struct TableRow {
    pub proxy: String,
    /// The proxy's settings string (what was computed).
    pub settings: String,
    #[serde(flatten)]
    pub correlation: Correlation,
    /// Mean wall time per architecture, seconds.
    pub seconds_per_arch: f64,
}

/// A titled table with the run's settings as header lines.
#[derive(Debug, Clone, Serialize)]
pub struct CorrelationTable {
    pub title: String,
    /// `key: value` lines describing the run (benchmark, task, accuracy column, sample, seed…).
    pub header: Vec<(String, String)>,
    pub rows: Vec<TableRow>,
}

const NAN_NOTE: &str = "ρ = Spearman, τ = Kendall τ-b, against the accuracy named above; sign as computed \
(higher score should mean higher accuracy). Non-finite scores (NaN/±inf) are kept, ranked below every \
finite score and tied with each other; the column says how many there were.";

fn fmt3(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3}")
    } else {
        "NaN".to_string()
    }
}

impl CorrelationTable {
    pub fn to_markdown(&self) -> String {
        let mut s = format!("## {}\n\n", self.title);
        for (k, v) in &self.header {
            let _ = writeln!(s, "- **{k}**: {v}");
        }
        s.push_str("\n| proxy | ρ (Spearman) | τ (Kendall) | n | non-finite | s/arch | settings |\n");
        s.push_str("|---|---:|---:|---:|---:|---:|---|\n");
        for r in &self.rows {
            let c = &r.correlation;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {:.2} | {} |",
                r.proxy,
                fmt3(c.spearman),
                fmt3(c.kendall),
                c.n,
                c.non_finite,
                r.seconds_per_arch,
                r.settings
            );
        }
        let _ = write!(s, "\n{NAN_NOTE}\n");
        s
    }

    pub fn to_csv(&self) -> String {
        let mut s = String::from("proxy,spearman,kendall,n,non_finite,dropped,seconds_per_arch,settings\n");
        for r in &self.rows {
            let c = &r.correlation;
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{:.4},\"{}\"",
                r.proxy,
                c.spearman,
                c.kendall,
                c.n,
                c.non_finite,
                c.dropped,
                r.seconds_per_arch,
                r.settings.replace('"', "\"\"")
            );
        }
        s
    }

    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Writes `<stem>.md`, `<stem>.csv` and `<stem>.json` into `dir`.
    pub fn write_all(&self, dir: &Path, stem: &str) -> Result<()> {
        write_atomic(&dir.join(format!("{stem}.md")), self.to_markdown().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.csv")), self.to_csv().as_bytes())?;
        write_atomic(&dir.join(format!("{stem}.json")), self.to_json()?.as_bytes())
    }
}

/// Writes a file via a temporary sibling and a rename, so a reader never sees half of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_states_settings_and_nan_policy() {
        let t = CorrelationTable {
            title: "nb201 / cifar100".into(),
            header: vec![("archs".into(), "3".into())],
            rows: vec![TableRow {
                proxy: "swap".into(),
                settings: "B=16 R=32".into(),
                correlation: Correlation { n: 3, non_finite: 1, dropped: 0, spearman: 0.5, kendall: f64::NAN },
                seconds_per_arch: 1.0,
            }],
        };
        let md = t.to_markdown();
        assert!(md.contains("| swap | 0.500 | NaN | 3 | 1 |"), "{md}");
        assert!(md.contains("ranked below every finite score"));
        assert!(t.to_csv().contains("swap,0.5,NaN,3,1,0"));
    }
}
