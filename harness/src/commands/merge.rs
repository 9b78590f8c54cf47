//! `swapnas merge DIR…`: joins sharded runs. Each shard directory holds its `shard.json` (the
//! command line it ran) and its score cache; the shards must be one run's (the same command
//! but for `--shard` and `--out`) and together cover its N shards. Their caches are copied into
//! the merged run's cache, and the run is then rebuilt from the cache alone — computing
//! nothing — so the merged table, plots, CSV and Parquet are the unsharded run's.

use crate::outputs::{self, Outputs};
use crate::cache::ScoreCache;
use super::run::{run_task, RunConfig};
use anyhow::{bail, Context, Result};
use clap::{Args, Parser};
use std::path::PathBuf;
use super::Cli;
use std::collections::BTreeSet;

/// Join sharded runs (`--shard I/N`): the shards' score caches into one run's table,
/// plots, CSV and Parquet — the same as the unsharded run's; names the archs still missing.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' output directories (each with its shard.json and scores.jsonl).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,

    /// Output directory [default: results/<run>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}
/// A shard's manifest.
struct Shard {
    k: usize,
    n: usize,
    /// The command line without `--shard` and `--out`.
    argv: Vec<String>,
    /// The run's name (its default output directory under results/).
    run: String,
}

fn read_shard(dir: &std::path::Path) -> Result<Shard> {
    let path = dir.join("shard.json");

    let text =
        std::fs::read_to_string(&path).with_context(|| format!("{} is not a shard's output (no shard.json)", dir.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{} is corrupt", path.display()))?;
    let k = json["shard"].as_u64().with_context(|| format!("{}: no shard number", path.display()))? as usize;
    let n = json["of"].as_u64().with_context(|| format!("{}: no shard count", path.display()))? as usize;
    let raw: Vec<String> = json["argv"]
        .as_array()
        .with_context(|| format!("{}: no command line", path.display()))?
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect();
    // Drop --shard and --out (with their values, as `--flag v` or `--flag=v`).
    let mut argv = Vec::new();
    let mut skip = false;
    for a in raw {
        if skip {
            skip = false;
            continue;
        }
        if a == "--shard" || a == "--out" {
            skip = true;
            continue;
        }
        if a.starts_with("--shard=") || a.starts_with("--out=") {
            continue;
        }
        argv.push(a);
    }
    let run = json["run"].as_str().with_context(|| format!("{}: no run name", path.display()))?.to_string();
    Ok(Shard { k, n, argv, run })
}

pub fn run(args: &MergeArgs) -> Result<()> {
    let shards: Vec<Shard> = args.dirs.iter().map(|d| read_shard(d)).collect::<Result<_>>()?;
    let first = &shards[0];
    for (s, dir) in shards.iter().zip(&args.dirs) {
        if s.argv != first.argv || s.n != first.n {
            bail!(
                "{} is a shard of another run: `{}` ({} shards) vs `{}` ({} shards)",
                dir.display(),
                s.argv.join(" "),
                s.n,
                first.argv.join(" "),
                first.n
            );
        }
    }
    let have: BTreeSet<usize> = shards.iter().map(|s| s.k).collect();
    let absent: Vec<String> = (1..=first.n).filter(|k| !have.contains(k)).map(|k| format!("{k}/{}", first.n)).collect();
    if !absent.is_empty() {
        eprintln!(
            "merge: shards {} are not among the directories given; their archs will be reported missing",
            absent.join(", ")
        );
    }
    let cli = Cli::try_parse_from(std::iter::once("swapnas".to_string()).chain(first.argv.iter().cloned()))
        .context("the shards' command line no longer parses")?;
    if cli.command.is_some() {
        bail!("the shards ran `{}`, not a scoring run", first.argv.join(" "));
    }
    let mut config = RunConfig::resolve(&cli.run)?;
    config.cache_only = true;
    config.shard = None;
    let out = args.out.clone().unwrap_or_else(|| outputs::results(&first.run));
    if args.dirs.iter().any(|d| d.canonicalize().ok() == out.canonicalize().ok()) {
        bail!("--out {} is one of the shard directories: give the merged run its own directory", out.display());
    }
    let outputs = Outputs::create(&out)?;
    {
        let merged = ScoreCache::open(&outputs.path(outputs::SCORES))?;
        let mut copied = 0;
        for dir in &args.dirs {
            let cache = ScoreCache::open(&dir.join(outputs::SCORES))?;
            for entry in cache.entries() {
                if merged.get(&entry.key()).is_none() {
                    merged.append(entry)?;
                    copied += 1;
                }
            }
        }
        eprintln!("merge: {copied} scores from {} shard caches into {}", args.dirs.len(), out.display());
    }
    config.out = Some(out);
    let table = run_task(&config)?;
    println!("{}", table.to_markdown());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn shard_flags_parse() {
        use crate::commands::run::parse_shard;
        assert_eq!(parse_shard("2/3").unwrap(), (2, 3));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("x").is_err());
    }
}
