//! The scoring run: load a benchmark, sample architectures, score them with each proxy,
//! correlate with accuracy, write the table, the per-arch scores and a scatter plot.

use crate::cli::{Cli, Command, Input, RunArgs};
use crate::suites::Candidate;
use anyhow::{bail, Context, Result};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use crate::cache::{cache_key, CachedScore, ScoreCache};
use sha2::Digest;
use swapnas_benchmarks::{DataDir, ImageBatch, ImageSet};
use swapnas_proxies::{derive_seed, Memo, Proxy, ProxyContext, ProxySettings, RegSwapPrior};
use swapnas_reports::plot::{bar_chart, scatter, Bar, ScatterPanel};
use swapnas_reports::table::write_atomic;
use swapnas_reports::{correlate, CorrelationTable, TableRow};

pub fn main(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Check(args)) => crate::check::run(&args),
        Some(Command::Reproduce(args)) => crate::reproduce::run(&args),
        Some(Command::Bench(args)) => crate::bench::run(&args),
        Some(Command::Data(cmd)) => crate::fetch::run(&cmd),
        None if cli.run.list_proxies => {
            for e in swapnas_proxies::registry() {
                println!("{:<10} {}", e.name, e.about);
            }
            Ok(())
        }
        None => run(&cli.run),
    }
}

/// Scores of one architecture, one per proxy (NaN where it failed), and the failures.
pub struct ArchScores {
    pub scores: Vec<f64>,
    pub seconds: Vec<f64>,
    pub errors: Vec<String>,
}

/// Where scores come from and go to while scoring one benchmark task.
pub struct Scoring<'a> {
    /// Benchmark-task name, part of the cache key (e.g. `nb201-cifar100`).
    bench: &'a str,
    proxies: &'a [Box<dyn Proxy>],
    /// Each proxy's settings as its cache key and cache entries record them (with the input
    /// mode when it is not the default).
    settings: Vec<String>,
    /// The images every arch sees, or with `augment` the pool each arch's batch is drawn from.
    batch: &'a ImageBatch,
    augment: Option<Augment>,
    cache: Option<&'a ScoreCache>,
    device: Device,
}

impl<'a> Scoring<'a> {
    pub fn new(
        bench: &'a str,
        proxies: &'a [Box<dyn Proxy>],
        batch: &'a ImageBatch,
        augment: Option<Augment>,
        cache: Option<&'a ScoreCache>,
        device: Device,
    ) -> Self {
        let settings = proxies
            .iter()
            .map(|p| match augment {
                Some(_) => format!("{} input=random-augmented", p.settings()),
                None => p.settings(),
            })
            .collect();
        Self { bench, proxies, settings, batch, augment, cache, device }
    }
}

/// `--input random-augmented`: each arch draws `n` images from the pool with its own seed.
#[derive(Debug, Clone, Copy)]
pub struct Augment {
    pub n: usize,
    /// Normalised black, per channel: the crop's padding.
    pub fill: [f32; 3],
}

/// Seed stream of an arch's random input batch (independent of its weight-init streams).
const INPUT_STREAM: u64 = 0x1a9e7;

/// The images the proxies need, as `--input` says: the first `n` training images, or the pool
/// random batches of `n` are drawn from (every training image in the data directory, up to
/// 10,000); and how the table header describes them.
pub fn load_input(args: &RunArgs, images: ImageSet, data: &DataDir, n: usize) -> Result<(ImageBatch, Option<Augment>, String)> {
    match args.input {
        Input::First => Ok((images.load_first(data, n)?, None, format!("first {n} training images of {}", images.name()))),
        Input::RandomAugmented => {
            let pool = images.load_pool(data, 10_000)?;
            if pool.len() < n {
                bail!("--input random-augmented draws {n} images per arch, but {} has only {} training images here", images.name(), pool.len());
            }
            let text = format!(
                "per arch {n} of the {} training images of {} here, drawn with the arch's seed, random crop from 4-px black padding + horizontal flip",
                pool.len(),
                images.name()
            );
            Ok((pool, Some(Augment { n, fill: images.black() }), text))
        }
    }
}

/// The seed of an architecture: a function of `--seed` and the arch alone, so a score does
/// not depend on which other archs were sampled with it (and so can be cached).
pub fn arch_seed(seed: u64, label: &str) -> u64 {
    let h = sha2::Sha256::digest(label.as_bytes());
    derive_seed(seed, u64::from_le_bytes(h[..8].try_into().expect("8 bytes")))
}

fn score_arch(c: &Candidate, scoring: &Scoring, seed: u64, from_cache: &AtomicUsize) -> ArchScores {
    let memo = Memo::new();
    // The arch's own random batch, drawn only once a proxy misses the cache.
    let own_batch = std::cell::OnceCell::new();
    let mut out = ArchScores { scores: Vec::new(), seconds: Vec::new(), errors: Vec::new() };
    for (p, settings) in scoring.proxies.iter().zip(&scoring.settings) {
        let key = cache_key(scoring.bench, &c.label, p.name(), settings, seed);
        if let Some(hit) = scoring.cache.and_then(|cache| cache.get(&key)) {
            out.scores.push(hit.value());
            out.seconds.push(hit.seconds);
            from_cache.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let batch = match scoring.augment {
            Some(a) => own_batch.get_or_init(|| scoring.batch.augmented_sample(a.n, derive_seed(seed, INPUT_STREAM), a.fill)),
            None => scoring.batch,
        };
        let ctx = ProxyContext { builder: c.builder.as_ref(), batch, device: &scoring.device, seed, memo: &memo };
        let start = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| p.score(&ctx))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(anyhow::anyhow!("internal error: {msg}"))
        });
        let seconds = start.elapsed().as_secs_f64();
        out.seconds.push(seconds);
        match result {
            Ok(v) => {
                out.scores.push(v);
                if let Some(cache) = scoring.cache {
                    let entry = CachedScore {
                        bench: scoring.bench.to_string(),
                        arch: c.label.clone(),
                        proxy: p.name().to_string(),
                        settings: settings.clone(),
                        seed,
                        score: v.to_string(),
                        seconds,
                    };
                    if let Err(e) = cache.append(&entry) {
                        out.errors.push(format!("{}: score computed but not cached: {e:#}", p.name()));
                    }
                }
            }
            // Failures are not cached: a rerun tries again.
            Err(e) => {
                out.scores.push(f64::NAN);
                out.errors.push(format!("{}: {e:#}", p.name()));
            }
        }
    }
    out
}

/// The proxies' settings from the flags, and how the reg-SWAP prior was chosen.
pub fn proxy_settings(args: &RunArgs, space_prior: Option<RegSwapPrior>) -> Result<(ProxySettings, &'static str)> {
    // Without a space prior (not needed, or given by --reg-mu) start from the NB201 rule's value.
    let space_prior = space_prior.unwrap_or(RegSwapPrior { mu: 1.5, sigma: 1.5 });
    if !(1..=swapnas_proxies::SWAP_MAX_BATCH).contains(&args.batch) {
        bail!("--batch must be between 1 and {} (SWAP packs each neuron's signs into 128 bits), got {}", swapnas_proxies::SWAP_MAX_BATCH, args.batch);
    }
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    if args.proxy_batch < 2 {
        bail!("--proxy-batch must be at least 2 (correlation-based proxies need two images), got {}", args.proxy_batch);
    }
    let mut settings = ProxySettings {
        swap_batch: args.batch,
        swap_repeats: args.repeats,
        reg_swap: space_prior,
        batch: args.proxy_batch,
    };
    let rule = if args.reg_mu.is_some() || args.reg_sigma.is_some() {
        "given on the command line"
    } else {
        "default rule: μ = σ = largest network of the space, 2 significant digits"
    };
    if let Some(mu) = args.reg_mu {
        settings.reg_swap.mu = mu;
        settings.reg_swap.sigma = mu;
    }
    if let Some(sigma) = args.reg_sigma {
        settings.reg_swap.sigma = sigma;
    }
    if settings.reg_swap.sigma.is_nan() || settings.reg_swap.sigma <= 0.0 {
        bail!("--reg-sigma must be positive, got {}", settings.reg_swap.sigma);
    }
    Ok((settings, rule))
}

/// Scores every candidate with every proxy, in parallel over archs, with a progress bar;
/// scores already in the cache are taken from it, new ones are appended as they come. `seed`
/// is `--seed` (each arch's seed derives from it), `jobs` the thread count (None: all cores).
pub fn score_all(candidates: &[Candidate], scoring: &Scoring, seed: u64, jobs: Option<usize>) -> Result<Vec<ArchScores>> {
    let bar = ProgressBar::new(candidates.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} archs  {per_sec}  elapsed {elapsed}  ETA {eta}")
            .expect("static template"),
    );
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
    let from_cache = AtomicUsize::new(0);
    let results: Vec<ArchScores> = pool.install(|| {
        candidates
            .par_iter()
            .map(|c| {
                let r = score_arch(c, scoring, arch_seed(seed, &c.label), &from_cache);
                for e in &r.errors {
                    bar.println(format!("warning: arch {}: {e}", c.label));
                }
                bar.inc(1);
                r
            })
            .collect()
    });
    bar.finish_and_clear();
    if let Some(cache) = scoring.cache {
        let total = candidates.len() * scoring.proxies.len();
        eprintln!(
            "scores: {} of {total} taken from the cache {}, {} computed",
            from_cache.load(Ordering::Relaxed),
            cache.path().display(),
            total - from_cache.load(Ordering::Relaxed)
        );
    }
    Ok(results)
}

/// The score cache of an output directory (`<out>/scores.jsonl`), unless `--no-cache`.
pub fn open_cache(args: &RunArgs, out_dir: &std::path::Path) -> Result<Option<ScoreCache>> {
    if args.no_cache {
        return Ok(None);
    }
    let cache = ScoreCache::open(&out_dir.join("scores.jsonl"))?;
    if cache.repaired_bytes > 0 || cache.corrupt_lines > 0 {
        eprintln!(
            "score cache {}: cut off a torn last write ({} bytes), skipped {} corrupt lines; {} scores kept",
            cache.path().display(),
            cache.repaired_bytes,
            cache.corrupt_lines,
            cache.len()
        );
    }
    Ok(Some(cache))
}

fn run(args: &RunArgs) -> Result<()> {
    let data = DataDir::locate(args.data_dir.as_deref())?;
    let table = run_task(args, &data)?;
    println!("{}", table.to_markdown());
    Ok(())
}

/// Scores one benchmark task as `args` say, writes its outputs into the output directory
/// and returns its correlation table.
pub fn run_task(args: &RunArgs, data: &DataDir) -> Result<CorrelationTable> {
    let started = Instant::now();
    let data = data.clone();
    let suite = crate::suites::load(args, &data)?;
    let (settings, reg_rule) = proxy_settings(args, suite.reg_prior)?;
    let proxies = swapnas_proxies::find(&args.proxies, &settings)?;
    let batch_size = proxies.iter().map(|p| p.batch_size()).max().unwrap_or(1);
    let (batch, augment, input_text) = load_input(args, suite.images, &data, batch_size)?;
    let out_dir = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(&suite.name));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("cannot create output directory {}", out_dir.display()))?;

    let n = suite.candidates.len();
    let names: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    eprintln!(
        "swapnas: {} — {n} archs (seed {}), proxies {}, SWAP B={} R={}, reg-SWAP μ={}M σ={}M ({reg_rule}), images: {}, data: {}",
        suite.name,
        args.seed,
        names.join(","),
        args.batch,
        args.repeats,
        settings.reg_swap.mu,
        settings.reg_swap.sigma,
        suite.images.name(),
        data.root().display()
    );
    let cache = open_cache(args, &out_dir)?;
    let (device, device_name) = crate::device::open(&args.device)?;
    let scoring = Scoring::new(&suite.name, &proxies, &batch, augment, cache.as_ref(), device);
    let results = score_all(&suite.candidates, &scoring, args.seed, args.jobs)?;

    // Per-arch scores.
    let mut csv = String::new();
    let _ = writeln!(csv, "arch,{},accuracy,{},errors", suite.column_names.join(","), names.join(","));
    for (c, r) in suite.candidates.iter().zip(&results) {
        let scores: Vec<String> = r.scores.iter().map(|s| s.to_string()).collect();
        let _ = writeln!(
            csv,
            "\"{}\",\"{}\",{},{},\"{}\"",
            c.label,
            c.columns.join("\",\""),
            c.accuracy,
            scores.join(","),
            r.errors.join("; ").replace('"', "'")
        );
    }
    write_atomic(&out_dir.join("scores.csv"), csv.as_bytes())?;

    // Correlations.
    let accuracies: Vec<f64> = suite.candidates.iter().map(|c| c.accuracy).collect();
    let mut rows = Vec::new();
    let mut columns = Vec::new();
    for (k, p) in proxies.iter().enumerate() {
        let scores: Vec<f64> = results.iter().map(|r| r.scores[k]).collect();
        let seconds = results.iter().map(|r| r.seconds[k]).sum::<f64>() / n.max(1) as f64;
        let correlation = correlate(&scores, &accuracies);
        rows.push(TableRow { proxy: p.name().to_string(), settings: p.settings(), correlation, seconds_per_arch: seconds });
        columns.push(scores);
    }
    let wall = started.elapsed().as_secs_f64();
    let mut header = vec![
        ("benchmark".to_string(), suite.name.clone()),
        ("accuracy".to_string(), suite.accuracy_label.clone()),
        ("architectures".to_string(), format!("{n}, uniform sample without replacement, seed {}", args.seed)),
        ("images".to_string(), input_text),
        ("device".to_string(), device_name),
        ("wall time".to_string(), format!("{wall:.1} s")),
    ];
    let uses = |name: &str| proxies.iter().any(|p| p.name() == name);
    if proxies.iter().any(|p| !matches!(p.name(), "swap" | "reg_swap")) {
        header.push(("baseline batch".to_string(), format!("{} images", settings.batch)));
    }
    if uses("reg_swap") {
        header.push((
            "reg-SWAP prior".to_string(),
            format!("μ = {}M, σ = {}M params ({reg_rule})", settings.reg_swap.mu, settings.reg_swap.sigma),
        ));
    }
    header.extend(suite.notes.iter().cloned());
    let failed = results.iter().filter(|r| !r.errors.is_empty()).count();
    if failed > 0 {
        header.push(("failures".to_string(), format!("{failed} archs had a proxy fail; their scores are NaN (see scores.csv)")));
    }
    let table = CorrelationTable { title: format!("{} — proxy vs accuracy", suite.name), header, rows };
    table.write_all(&out_dir, "table")?;
    let panels: Vec<ScatterPanel> = table
        .rows
        .iter()
        .zip(&columns)
        .map(|(row, scores)| ScatterPanel { proxy: &row.proxy, scores, accuracies: &accuracies, spearman: row.correlation.spearman })
        .collect();
    scatter(&out_dir.join("scatter"), &table.title, &suite.accuracy_label, &panels)?;
    let bars: Vec<Bar> = table.rows.iter().map(|r| Bar { label: r.proxy.clone(), value: r.correlation.spearman, interval: r.correlation.spearman_ci }).collect();
    let rho_label = format!("Spearman ρ with {}", suite.accuracy_label);
    bar_chart(&out_dir.join("rho"), &format!("{}: ρ with 95% bootstrap CI", suite.name), &rho_label, &bars)?;
    eprintln!("wrote {} (table.md/.csv/.json/.tex, scores.csv, scatter.png/.svg, rho.png/.svg)", out_dir.display());
    Ok(table)
}
