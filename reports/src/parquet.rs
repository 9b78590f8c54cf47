//! Parquet for notebooks: a run's per-arch scores (long format) and its correlation table,
//! with typed columns (pandas / polars read them as they are).

use crate::table::CorrelationTable;
use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::Path;

/// One score of one arch (a row of `scores.parquet`).
#[derive(Debug, Clone)]
pub struct ScoreRow {
    pub arch: String,
    /// Proxy, ensemble or fitted combination.
    pub proxy: String,
    pub settings: String,
    /// The arch's seed (weight initialisation); None for derived scores.
    pub seed: Option<u64>,
    pub score: f64,
    /// Seconds the proxy took on this arch; None for derived scores.
    pub seconds: Option<f64>,
    pub accuracy: f64,
}

fn write(df: &mut DataFrame, path: &Path) -> Result<()> {
    let tmp = path.with_extension("parquet.tmp");
    let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    ParquetWriter::new(file).finish(df).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// Writes `scores.parquet`: space, task, arch, proxy, settings, seed, score, seconds,
/// accuracy (one row per arch × proxy).
pub fn write_scores(path: &Path, space: &str, task: &str, rows: &[ScoreRow]) -> Result<()> {
    let n = rows.len();
    let mut df = DataFrame::new(vec![
        Column::new("space".into(), vec![space; n]),
        Column::new("task".into(), vec![task; n]),
        Column::new("arch".into(), rows.iter().map(|r| r.arch.as_str()).collect::<Vec<_>>()),
        Column::new("proxy".into(), rows.iter().map(|r| r.proxy.as_str()).collect::<Vec<_>>()),
        Column::new("settings".into(), rows.iter().map(|r| r.settings.as_str()).collect::<Vec<_>>()),
        Column::new("seed".into(), rows.iter().map(|r| r.seed).collect::<Vec<_>>()),
        Column::new("score".into(), rows.iter().map(|r| r.score).collect::<Vec<_>>()),
        Column::new("seconds".into(), rows.iter().map(|r| r.seconds).collect::<Vec<_>>()),
        Column::new("accuracy".into(), rows.iter().map(|r| r.accuracy).collect::<Vec<_>>()),
    ])?;
    write(&mut df, path)
}

/// Writes `table.parquet`: one row per proxy with its correlations (non-applicable proxies
/// have null statistics and the reason).
pub fn write_table(path: &Path, table: &CorrelationTable) -> Result<()> {
    let rows = &table.rows;
    let na = |r: &crate::TableRow, v: f64| if r.not_applicable.is_some() { None } else { Some(v) };
    let col = |name: &str, f: &dyn Fn(&crate::TableRow) -> f64| {
        Column::new(name.into(), rows.iter().map(|r| na(r, f(r))).collect::<Vec<Option<f64>>>())
    };
    let mut df = DataFrame::new(vec![
        Column::new("proxy".into(), rows.iter().map(|r| r.proxy.as_str()).collect::<Vec<_>>()),
        Column::new("settings".into(), rows.iter().map(|r| r.settings.as_str()).collect::<Vec<_>>()),
        col("spearman", &|r| r.correlation.spearman),
        col("spearman_ci_low", &|r| r.correlation.spearman_ci[0]),
        col("spearman_ci_high", &|r| r.correlation.spearman_ci[1]),
        col("spearman_p", &|r| r.correlation.spearman_p),
        col("kendall", &|r| r.correlation.kendall),
        col("kendall_p", &|r| r.correlation.kendall_p),
        col("pearson", &|r| r.correlation.pearson),
        col("top10_hit", &|r| r.correlation.top10_hit),
        Column::new("n".into(), rows.iter().map(|r| r.correlation.n as u64).collect::<Vec<_>>()),
        Column::new("non_finite".into(), rows.iter().map(|r| r.correlation.non_finite as u64).collect::<Vec<_>>()),
        Column::new("seconds_per_arch".into(), rows.iter().map(|r| r.seconds_per_arch).collect::<Vec<_>>()),
        Column::new("not_applicable".into(), rows.iter().map(|r| r.not_applicable.as_deref()).collect::<Vec<_>>()),
    ])?;
    write(&mut df, path)
}
