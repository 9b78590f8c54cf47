//! `swapnas bench`: throughput and memory of each proxy, and a profile of SWAP.
//!
//! Archs are scored one at a time on the calling thread (`--jobs` sets the threads the
//! backend may use inside one arch), so archs/s is a per-arch cost, comparable with
//! `scripts/swap_reference.py` run on the same machine. Peak memory is the process's RSS
//! high-water mark, reset before each proxy (Linux `/proc/self/clear_refs`).

use crate::cli::RunArgs;
use crate::run::arch_seed;
use anyhow::{Context, Result};
use burn::tensor::DType;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swapnas_benchmarks::{BnMode, BuildOptions, DataDir, ForwardCtx, InitScheme, Record, WeightInit};
use swapnas_proxies::{count_distinct_patterns, derive_seed, Memo, ProxyContext};
use swapnas_reports::table::write_atomic;

#[derive(Debug, Serialize)]
struct ProxyBench {
    proxy: String,
    settings: String,
    archs: usize,
    seconds: f64,
    archs_per_second: f64,
    peak_rss_mib: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SwapProfile {
    forward_passes: usize,
    init_seconds: f64,
    forward_seconds: f64,
    count_seconds: f64,
}

#[derive(Debug, Serialize)]
struct BenchReport {
    bench: String,
    device: String,
    threads: usize,
    seed: u64,
    proxies: Vec<ProxyBench>,
    swap_profile: SwapProfile,
    /// SWAP's settings and the benchmarked archs (official strings), so that
    /// `scripts/swap_reference.py` can run the PyTorch reference on the very same work.
    swap_batch: usize,
    swap_repeats: usize,
    task: String,
    archs: Vec<String>,
    /// Our SWAP score per arch (same order), for a rank comparison with the reference.
    swap_scores: Vec<f64>,
}

/// Peak resident set size since the last reset, in MiB (Linux only).
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

pub fn run(args: &RunArgs) -> Result<()> {
    let data = DataDir::locate(args.data_dir.as_deref())?;
    let args = RunArgs { archs: Some(args.archs.unwrap_or(10)), ..args.clone() };
    let threads = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    pool.install(|| bench(&args, &data, threads))
}

fn bench(args: &RunArgs, data: &DataDir, threads: usize) -> Result<()> {
    let suite = crate::suites::load(args, data)?;
    let (settings, _) = crate::run::proxy_settings(args, suite.reg_prior)?;
    let proxies = swapnas_proxies::find(&args.proxies, &settings)?;
    let batch_size = proxies.iter().map(|p| p.batch_size()).max().unwrap_or(1).max(args.batch);
    let batch = suite.images.load_first(data, batch_size)?;
    let (device, device_name) = crate::device::open(&args.device)?;
    eprintln!("bench: {} archs of {}, {threads} threads", suite.candidates.len(), suite.name);

    let mut results = Vec::new();
    let mut swap_scores = Vec::new();
    for p in &proxies {
        reset_peak_rss();
        let start = Instant::now();
        for c in &suite.candidates {
            // A fresh memo per proxy: reg_swap pays for its own SWAP here.
            let memo = Memo::new();
            let ctx = ProxyContext { builder: c.builder.as_ref(), batch: &batch, device: &device, seed: arch_seed(args.seed, &c.label), memo: &memo };
            let score = p.score(&ctx).with_context(|| format!("{} failed on {}", p.name(), c.label))?;
            if p.name() == "swap" {
                swap_scores.push(score);
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        results.push(ProxyBench {
            proxy: p.name().to_string(),
            settings: p.settings(),
            archs: suite.candidates.len(),
            seconds,
            archs_per_second: suite.candidates.len() as f64 / seconds,
            peak_rss_mib: peak_rss_mib(),
        });
        eprintln!("  {}: {:.3} archs/s", p.name(), suite.candidates.len() as f64 / seconds);
    }

    // Where SWAP's time goes: the same work as the proxy, timed piece by piece.
    let mut profile = SwapProfile { forward_passes: 0, init_seconds: 0.0, forward_seconds: 0.0, count_seconds: 0.0 };
    let (images, _) = batch.first_tensors(args.batch, &device, DType::F32);
    for c in &suite.candidates {
        for r in 0..args.repeats {
            let t = Instant::now();
            let mut init = WeightInit::new(InitScheme::Gaussian, derive_seed(arch_seed(args.seed, &c.label), r as u64));
            let net = c.builder.build(&mut init, &BuildOptions::new(c.builder.num_classes()), &device);
            profile.init_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut fwd = ForwardCtx::new(BnMode::Batch, Record { relu: true, ..Record::default() });
            let _ = net.forward(images.clone(), &mut fwd);
            // Wait for the backend so the forward's time is not billed to the count.
            let _ = fwd.relu.last().map(|t| t.clone().sum().into_scalar::<f32>());
            profile.forward_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            count_distinct_patterns(&fwd.relu)?;
            profile.count_seconds += t.elapsed().as_secs_f64();
            profile.forward_passes += 1;
        }
    }

    let report = BenchReport {
        bench: suite.name.clone(),
        device: device_name,
        threads,
        seed: args.seed,
        proxies: results,
        swap_profile: profile,
        swap_batch: args.batch,
        swap_repeats: args.repeats,
        task: args.task.clone(),
        archs: suite.candidates.iter().map(|c| c.label.clone()).collect(),
        swap_scores,
    };
    let mut md = format!(
        "## bench: {} — {} archs, {} threads, seed {}\n\n| proxy | archs/s | s/arch | peak RSS (MiB) | settings |\n|---|---:|---:|---:|---|\n",
        report.bench,
        suite.candidates.len(),
        threads,
        args.seed
    );
    for r in &report.proxies {
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {} | {} |",
            r.proxy,
            r.archs_per_second,
            1.0 / r.archs_per_second,
            r.peak_rss_mib.map_or("—".to_string(), |m| format!("{m:.0}")),
            r.settings
        );
    }
    let p = &report.swap_profile;
    let total = p.init_seconds + p.forward_seconds + p.count_seconds;
    let _ = write!(
        md,
        "\nSWAP profile over {} forward passes (B = {}): weight init {:.1}%, forward {:.1}%, pattern count {:.1}% \
         ({:.1} ms per pass).\n",
        p.forward_passes,
        args.batch,
        100.0 * p.init_seconds / total,
        100.0 * p.forward_seconds / total,
        100.0 * p.count_seconds / total,
        1000.0 * total / p.forward_passes.max(1) as f64
    );
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join("bench"));
    std::fs::create_dir_all(&out)?;
    write_atomic(&out.join("bench.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    write_atomic(&out.join("bench.md"), md.as_bytes())?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
