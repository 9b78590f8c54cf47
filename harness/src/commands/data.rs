//! `swapnas data …`: fetch, import and verify benchmark data (the plumbing is `crate::fetch`).

use crate::cli::bench_names;
use crate::fetch::{fetch, fetch_archive, verify};
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Benchmark data: fetch it from its public sources, or verify it against the manifest.
#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Download missing or corrupt benchmark tables (SHA-256 checked) into the data directory
    /// (runs fetch what they need on their own; this fetches everything ahead, e.g. for a
    /// machine that will be offline).
    Fetch {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files [default: all].
        #[arg(long, value_parser = bench_names())]
        bench: Option<String>,
        /// Fetch `<URL>/<path in the data directory>` instead of the public sources.
        #[arg(long)]
        mirror: Option<String>,
        /// Also the image sets published as archives (CIFAR-10/100: download ~170 MB each,
        /// check the publisher's checksum, unpack into images/).
        #[arg(long)]
        images: bool,
    },
    /// Convert a benchmark's source tables into one HDF5 archive
    /// (`benchmarks/<bench>/<bench>.h5`), which runs then load instead (in milliseconds).
    Import {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Benchmark to import (nb201 so far).
        #[arg(long, default_value = swapnas_benchmarks::spaces::DEFAULT, value_parser = bench_names())]
        bench: String,
        /// Output file [default: <data dir>/benchmarks/<bench>/<bench>.h5].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the data directory's files against the manifest (size and SHA-256).
    Verify {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files [default: all].
        #[arg(long, value_parser = bench_names())]
        bench: Option<String>,
    },
}

/// `swapnas data …`
pub fn run(cmd: &DataCommand) -> Result<()> {
    match cmd {
        DataCommand::Fetch { data_dir, bench, mirror, images } => {
            let root = data_root(data_dir.as_deref());
            let fetched = fetch(&root, bench.as_deref(), mirror.as_deref())?;
            eprintln!("{} file(s) fetched into {}", fetched.len(), root.display());
            if *images {
                fetch_images(&root, bench.as_deref())?;
            }
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

/// Every image archive the spaces' tasks use (of `bench`, or all), unless its set is here.
fn fetch_images(root: &Path, bench: Option<&str>) -> Result<()> {
    let mut done: Vec<&str> = Vec::new();
    for space in swapnas_benchmarks::spaces::registry().iter().filter(|s| bench.is_none_or(|b| s.name() == b)) {
        for set in space.tasks().iter().map(|t| t.images) {
            let Some(archive) = set.archive else { continue };
            if done.contains(&archive.url) {
                continue;
            }
            done.push(archive.url);
            if set.files.iter().chain(set.test_files).all(|f| root.join(f.rel_path).is_file()) {
                eprintln!("ok       {}", set.source.0);
                continue;
            }
            fetch_archive(&archive, root)?;
            eprintln!("fetched  {}", set.source.0);
        }
    }
    Ok(())
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
    swapnas_benchmarks::DataDir::root_for(flag)
}
