//! `swapnas bench`: throughput and memory of each proxy, and a profile of SWAP.
//!
//! Archs are scored one at a time on the calling thread (`--jobs` sets the threads the
//! backend may use inside one arch), so archs/s is a per-arch cost, comparable with
//! `scripts/swap_reference.py` run on the same machine. Peak memory is the process's RSS
//! high-water mark, reset before each proxy (Linux `/proc/self/clear_refs`).

use crate::cli::BenchArgs;
use crate::engine::{arch_seed, Engine, ProxyPlan, Setup, Target};
use anyhow::{Context, Result};
use burn::tensor::DType;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swapnas_benchmarks::space::Request;
use swapnas_benchmarks::{BnMode, DataDir, ForwardCtx, Taps};
use swapnas_proxies::swap::{count_distinct_patterns, relu_patterns, repeat_network};
use swapnas_proxies::Memo;
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
    /// Floating-point operations of the profiled forward passes (2 × multiply-adds, from the
    /// networks' own counts), and their rate over the whole profile and over the forwards.
    forward_flop: f64,
    gflops_overall: f64,
    gflops_forward: f64,
}

/// This machine's sgemm throughput on the same backend (a square f32 matmul, timed).
#[derive(Debug, Serialize)]
struct Sgemm {
    n: usize,
    gflops_one_thread: f64,
    gflops_all_threads: f64,
}

/// GFLOP/s of `[n, n] × [n, n]` f32 matmuls on `device`, in a pool of `threads`.
fn sgemm(device: &burn::tensor::Device, n: usize, threads: usize) -> Result<f64> {
    use burn::tensor::{Distribution, Tensor};
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    pool.install(|| {
        let a: Tensor<2> = Tensor::random([n, n], Distribution::Default, device);
        let b: Tensor<2> = Tensor::random([n, n], Distribution::Default, device);
        // Warm up, then time at least 1 s.
        let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
        let start = Instant::now();
        let mut runs = 0usize;
        while start.elapsed().as_secs_f64() < 1.0 {
            let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
            runs += 1;
        }
        Ok(2.0 * (n as f64).powi(3) * runs as f64 / start.elapsed().as_secs_f64() / 1e9)
    })
}

#[derive(Debug, Serialize)]
struct BenchReport {
    bench: String,
    device: String,
    threads: usize,
    seed: u64,
    proxies: Vec<ProxyBench>,
    swap_profile: SwapProfile,
    sgemm: Sgemm,
    /// SWAP's arithmetic rate over the whole profile ÷ the sgemm rate with the same threads.
    swap_efficiency: f64,
    /// SWAP's settings and the benchmarked archs (official strings), so that
    /// `scripts/swap_reference.py` can run the PyTorch reference on the very same work.
    swap_batch: usize,
    swap_repeats: usize,
    task: String,
    archs: Vec<String>,
    /// Our SWAP score per arch (same order; from the profile's repeats, which are the swap
    /// proxy's), for a rank comparison with the reference.
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

pub fn run(args: &BenchArgs) -> Result<()> {
    let target = Target::resolve(&args.task, Some(&args.set))?;
    let plan = ProxyPlan::resolve(&args.proxies.proxies, &args.proxies.settings)?;
    let data = crate::engine::locate_data(args.exec.data_dir.as_deref())?;
    let threads = args.exec.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    pool.install(|| bench(args, target, &plan, &data, threads))
}

fn bench(args: &BenchArgs, target: Target, plan: &ProxyPlan, data: &DataDir, threads: usize) -> Result<()> {
    let Target { space, task, set } = target;
    let seed = args.sample.seed;
    let request = Request {
        task,
        set,
        archs: Some(args.sample.archs.unwrap_or(10)),
        seed,
        accuracy: &task.accuracies[0],
        largest: plan.needs_largest(),
    };
    let loaded = space.load(&request, data)?;
    let engine = Engine::prepare(Setup {
        run_name: &loaded.name,
        task,
        plan,
        largest_params: loaded.largest_params,
        input: crate::engine::InputSpec::default(),
        min_images: plan.swap_batch,
        device: &args.exec.device,
        jobs: Some(threads),
        cache: None,
        data,
    })?;
    let candidates = &loaded.candidates;
    eprintln!("bench: {} archs of {}, {threads} threads", candidates.len(), loaded.name);

    let mut results = Vec::new();
    for (k, p) in engine.proxies.iter().enumerate() {
        if engine.not_applicable[k].is_some() {
            continue;
        }
        reset_peak_rss();
        let start = Instant::now();
        for c in candidates {
            // A fresh memo per proxy: reg_swap pays for its own SWAP here.
            let memo = Memo::new();
            let ctx = engine.context(c, arch_seed(seed, &c.label), &memo, &engine.batch);
            p.score(&ctx).with_context(|| format!("{} failed on {}", p.name(), c.label))?;
        }
        let seconds = start.elapsed().as_secs_f64();
        results.push(ProxyBench {
            proxy: p.name().to_string(),
            settings: p.settings(),
            archs: candidates.len(),
            seconds,
            archs_per_second: candidates.len() as f64 / seconds,
            peak_rss_mib: peak_rss_mib(),
        });
        eprintln!("  {}: {:.3} archs/s", p.name(), candidates.len() as f64 / seconds);
    }

    // Where SWAP's time goes: SWAP's own building blocks, timed one by one (the mean of the
    // counts is the arch's SWAP score, for the comparison with the reference).
    let mut profile = SwapProfile {
        forward_passes: 0,
        init_seconds: 0.0,
        forward_seconds: 0.0,
        count_seconds: 0.0,
        forward_flop: 0.0,
        gflops_overall: 0.0,
        gflops_forward: 0.0,
    };
    let (images, _) = engine.batch.first_tensors(plan.swap_batch, &engine.device, DType::F32);
    let mut swap_scores = Vec::with_capacity(candidates.len());
    for c in candidates {
        // The network's multiply-adds per image, as it counts them itself.
        let net = repeat_network(c.builder.as_ref(), 0, 0, &engine.device);
        let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
        let _ = net.forward(images.clone().narrow(0, 0, 1), &mut fwd);
        profile.forward_flop += 2.0 * fwd.flops * (plan.swap_batch * plan.swap_repeats) as f64;
        let mut total = 0.0;
        for r in 0..plan.swap_repeats {
            let t = Instant::now();
            let net = repeat_network(c.builder.as_ref(), arch_seed(seed, &c.label), r, &engine.device);
            profile.init_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let relu = relu_patterns(net.as_ref(), images.clone());
            // Wait for the backend so the forward's time is not billed to the count.
            let _ = relu.last().map(|t| t.clone().sum().into_scalar::<f32>());
            profile.forward_seconds += t.elapsed().as_secs_f64();
            let t = Instant::now();
            total += count_distinct_patterns(&relu)? as f64;
            profile.count_seconds += t.elapsed().as_secs_f64();
            profile.forward_passes += 1;
        }
        swap_scores.push(total / plan.swap_repeats as f64);
    }

    let profiled = profile.init_seconds + profile.forward_seconds + profile.count_seconds;
    profile.gflops_overall = profile.forward_flop / profiled / 1e9;
    profile.gflops_forward = profile.forward_flop / profile.forward_seconds / 1e9;
    let n = 512;
    let sgemm =
        Sgemm { n, gflops_one_thread: sgemm(&engine.device, n, 1)?, gflops_all_threads: sgemm(&engine.device, n, threads)? };
    let swap_efficiency = profile.gflops_overall / sgemm.gflops_all_threads;
    let report = BenchReport {
        bench: loaded.name.clone(),
        device: engine.device_name.clone(),
        threads,
        seed,
        proxies: results,
        swap_profile: profile,
        sgemm,
        swap_efficiency,
        swap_batch: plan.swap_batch,
        swap_repeats: plan.swap_repeats,
        task: task.name.to_string(),
        archs: candidates.iter().map(|c| c.label.clone()).collect(),
        swap_scores,
    };
    let mut md = format!(
        "## bench: {} — {} archs, {} threads, seed {}\n\n| proxy | archs/s | s/arch | peak RSS (MiB) | settings |\n|---|---:|---:|---:|---|\n",
        report.bench,
        candidates.len(),
        threads,
        seed
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
        plan.swap_batch,
        100.0 * p.init_seconds / total,
        100.0 * p.forward_seconds / total,
        100.0 * p.count_seconds / total,
        1000.0 * total / p.forward_passes.max(1) as f64
    );
    let _ = write!(
        md,
        "\nSWAP arithmetic: {:.3e} FLOP of forward passes (2 × the networks' multiply-adds × B × R), {:.2} GFLOP/s over \
         the whole profile, {:.2} GFLOP/s over the forwards alone. sgemm ({n}×{n} f32, same backend): {:.2} GFLOP/s on one \
         thread, {:.2} on {threads}. Efficiency (SWAP ÷ sgemm, {threads} threads): {:.1}%.\n",
        p.forward_flop,
        p.gflops_overall,
        p.gflops_forward,
        report.sgemm.gflops_one_thread,
        report.sgemm.gflops_all_threads,
        100.0 * report.swap_efficiency
    );
    let out = args.exec.out.clone().unwrap_or_else(|| PathBuf::from("results").join("bench"));
    std::fs::create_dir_all(&out)?;
    write_atomic(&out.join("bench.json"), serde_json::to_string_pretty(&report)?.as_bytes())?;
    write_atomic(&out.join("bench.md"), md.as_bytes())?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
