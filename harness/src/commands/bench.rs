//! `swapnas bench`: throughput and memory of each proxy, and a profile of SWAP.
//!
//! Archs are scored one at a time (`--jobs` sets the threads used inside one arch: SWAP's
//! repeats run in parallel over them), so archs/s is a per-arch cost, comparable with
//! `scripts/swap_reference.py` run on the same machine with the same threads. SWAP is
//! profiled twice on the same archs, B, R and threads, through the loop the proxy itself runs
//! (`swap::run_repeats`): on the CPU on burn's ops (the reference path, `--kernels burn`) and
//! on the native CPU kernels (`benchmarks/src/nn/cpu.rs`); on another device (a GPU) one
//! repeat at a time and stacked (the proxy's path there). It reports the speed-up, the largest
//! score difference and each path's efficiency against sgemm. Peak memory is the process's RSS
//! high-water mark, reset before each proxy (Linux `/proc/self/clear_refs`).

use clap::Args;
use crate::outputs::{self, Outputs};
use crate::cli::{ExecArgs, ProxyArgs, SampleArgs, SetArgs, TaskArgs};
use crate::engine::{arch_seed, Engine, ProxyPlan, Setup, Target};
use anyhow::{Context, Result};
use burn::tensor::DType;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Instant;
use swapnas_benchmarks::space::Request;
use swapnas_benchmarks::{BnMode, Candidate, DataDir, ForwardCtx, Kernels, Taps};
use swapnas_proxies::swap::{self, repeat_network, run_repeats, Strategy};
use swapnas_proxies::Memo;

/// Speed and memory: archs/s and peak RSS of each proxy on a fixed seeded sample of
/// archs (scored one after another), plus where SWAP's time goes (init / forward /
/// pattern count); printed and saved as JSON. No cache is used.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub set: SetArgs,
    #[command(flatten)]
    pub sample: SampleArgs,
    #[command(flatten)]
    pub proxies: ProxyArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
}
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
    /// The path: on the CPU whose kernels ran the forward passes (`burn`: the reference path,
    /// `native`); elsewhere `one by one` or `stacked` repeats.
    kernels: String,
    /// Wall-clock seconds for all archs (repeats run in parallel over the threads), and the
    /// resulting archs/s.
    seconds: f64,
    archs_per_second: f64,
    /// The mean SWAP score per arch.
    scores: Vec<f64>,
    forward_passes: usize,
    init_seconds: f64,
    forward_seconds: f64,
    count_seconds: f64,
    /// Floating-point operations of the profiled forward passes (2 × multiply-adds, from the
    /// networks' own counts), and their rate over the whole profile and over the forwards.
    forward_flop: f64,
    gflops_overall: f64,
    gflops_forward: f64,
    /// gflops_overall ÷ the sgemm rate with the same threads.
    efficiency: f64,
}

/// This machine's sgemm throughput on the same backend (a square f32 matmul, timed).
#[derive(Debug, Serialize)]
struct Sgemm {
    n: usize,
    gflops_one_thread: f64,
    gflops_all_threads: f64,
}

/// GFLOP/s of `[n, n] × [n, n]` f32 matmuls on `device`, one independent stream per thread:
/// the machine's arithmetic rate with `threads` threads busy, whether or not the backend
/// splits one matmul across threads. The best of three 0.5 s windows, so that a moment of
/// interference does not lower the denominator of the efficiency.
fn sgemm(device: &burn::tensor::Device, n: usize, threads: usize) -> Result<f64> {
    use burn::tensor::{Distribution, Tensor};

    use rayon::prelude::*;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let window = || -> usize {
        pool.install(|| {
            (0..threads)
                .into_par_iter()
                .map(|_| {
                    let a: Tensor<2> = Tensor::random([n, n], Distribution::Default, device);
                    let b: Tensor<2> = Tensor::random([n, n], Distribution::Default, device);
                    let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
                    let start = Instant::now();
                    let mut runs = 0usize;
                    while start.elapsed().as_secs_f64() < 0.5 {
                        let _ = a.clone().matmul(b.clone()).sum().into_scalar::<f32>();
                        runs += 1;
                    }
                    runs
                })
                .sum()
        })
    };
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let runs = window();
        best = best.max(2.0 * (n as f64).powi(3) * runs as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    Ok(best)
}

#[derive(Debug, Serialize)]
struct BenchReport {
    bench: String,
    device: String,
    threads: usize,
    seed: u64,
    proxies: Vec<ProxyBench>,
    /// SWAP's profile on burn's ops (the reference path: "before") and on the native kernels
    /// ("after"), on the same archs, B, R and threads.
    swap_profiles: Vec<SwapProfile>,
    /// archs/s on the native kernels ÷ on burn's ops.
    swap_speedup: f64,
    /// The largest relative difference between the two paths' SWAP scores.
    swap_max_relative_difference: f64,
    sgemm: Sgemm,
    /// The native path's SWAP arithmetic rate ÷ the sgemm rate with the same threads.
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

pub fn run(args: &BenchArgs) -> Result<()> {
    let target = crate::spec::target(&args.task, Some(&args.set))?;
    let plan = crate::spec::plan(&args.proxies)?;
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
    let loaded = crate::engine::load(space, &request, data)?;
    let engine = Engine::prepare(Setup {
        run_name: &loaded.name,
        task,
        plan,
        largest_params: loaded.largest_params,
        input: crate::engine::InputSpec::default(),
        min_images: swap::BATCH.get(&plan.settings),
        device: &args.exec.device,
        jobs: Some(threads),
        cache: None,
        data,
        // bench times each arch's own network.
        dedup: false,
    })?;
    let candidates = &loaded.candidates;
    eprintln!("bench: {} archs of {}, {threads} threads", candidates.len(), loaded.name);
    let proxies = time_proxies(&engine, candidates, seed)?;
    let (profiles, sgemm) = profile_paths(&engine, candidates, plan, seed, threads)?;
    let (before, after) = (&profiles[0], &profiles[1]);
    let report = BenchReport {
        bench: loaded.name.clone(),
        device: engine.device_name.clone(),
        threads,
        seed,
        proxies,
        swap_speedup: after.archs_per_second / before.archs_per_second,
        swap_max_relative_difference: before
            .scores
            .iter()
            .zip(&after.scores)
            .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(1.0))
            .fold(0.0, f64::max),
        swap_efficiency: after.efficiency,
        swap_scores: after.scores.clone(),
        swap_profiles: profiles,
        sgemm,
        swap_batch: swap::BATCH.get(&plan.settings),
        swap_repeats: swap::REPEATS.get(&plan.settings),
        task: task.name.to_string(),
        archs: candidates.iter().map(|c| c.label.clone()).collect(),
    };
    let md = markdown(&report);
    let out = args.exec.out.clone().unwrap_or_else(|| outputs::results("bench"));
    let outputs = Outputs::create(&out)?;
    outputs.write_json("bench.json", &report)?;
    outputs.write("bench.md", &md)?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// Each applicable proxy over the candidates, one arch after another (a fresh memo per proxy
/// and arch: reg_swap pays for its own SWAP here), with the peak RSS while it ran.
fn time_proxies(engine: &Engine, candidates: &[Candidate], seed: u64) -> Result<Vec<ProxyBench>> {
    let mut results = Vec::new();
    for (k, p) in engine.proxies.iter().enumerate() {
        if engine.not_applicable[k].is_some() {
            continue;
        }
        crate::memory::reset_peak_rss();
        let start = Instant::now();
        for c in candidates {
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
            peak_rss_mib: crate::memory::peak_rss().map(|b| b as f64 / (1024.0 * 1024.0)),
        });
        eprintln!("  {}: {:.3} archs/s", p.name(), candidates.len() as f64 / seconds);
    }
    Ok(results)
}

/// Where SWAP's time goes on its two paths (before → after: burn's ops → the native kernels on
/// the CPU, one by one → stacked elsewhere), against the sgemm rate of the same backend.
fn profile_paths(
    engine: &Engine,
    candidates: &[Candidate],
    plan: &ProxyPlan,
    seed: u64,
    threads: usize,
) -> Result<(Vec<SwapProfile>, Sgemm)> {
    let (images, _) = engine.batch.first_tensors(swap::BATCH.get(&plan.settings), &engine.device, DType::F32);
    // The multiply-adds per image of the pass SWAP runs, as the networks count them
    // themselves (without a tail that applies no ReLU, which SWAP's pass leaves out).
    let forward_flop: f64 = candidates
        .iter()
        .map(|c| {
            let net = repeat_network(c.builder.as_ref(), 0, 0, &engine.device);
            let mut fwd = ForwardCtx::new(BnMode::Batch, Taps { flops: true, ..Taps::default() });
            fwd.output_unused = true;
            let _ = net.forward(images.clone().narrow(0, 0, 1), &mut fwd);
            2.0 * fwd.flops * (swap::BATCH.get(&plan.settings) * swap::REPEATS.get(&plan.settings)) as f64
        })
        .sum();
    let n = 512;
    let one = sgemm(&engine.device, n, 1)?;
    let all = if threads == 1 { one } else { sgemm(&engine.device, n, threads)? };
    let sgemm = Sgemm { n, gflops_one_thread: one, gflops_all_threads: all };
    let paths = match Strategy::for_device(&engine.device) {
        Strategy::OneByOne => [("burn", Kernels::Burn, Strategy::OneByOne), ("native", Kernels::Native, Strategy::OneByOne)],
        Strategy::Stacked => [("one by one", Kernels::Burn, Strategy::OneByOne), ("stacked", Kernels::Burn, Strategy::Stacked)],
    };
    let mut profiles = Vec::new();
    for (path, kernels, strategy) in paths {
        let work = SwapWork { candidates, images: &images, plan, seed, forward_flop, sgemm_gflops: sgemm.gflops_all_threads };
        let profile = profile_swap(&work, path, kernels, strategy)?;
        eprintln!("  swap profile, {}: {:.3} archs/s", profile.kernels, profile.archs_per_second);
        profiles.push(profile);
    }
    Ok((profiles, sgemm))
}

/// bench.md: the proxies' table, SWAP's two paths and how they compare.
fn markdown(report: &BenchReport) -> String {
    let (archs, threads, n) = (report.archs.len(), report.threads, report.sgemm.n);
    let mut md = format!(
        "## bench: {} — {archs} archs, {threads} threads, seed {}\n\n| proxy | archs/s | s/arch | peak RSS (MiB) | settings |\n|---|---:|---:|---:|---|\n",
        report.bench, report.seed
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
    let _ = write!(
        md,
        "\nSWAP on both paths ({archs} archs, B = {}, R = {}, {threads} threads; sgemm {n}×{n} f32 on the same backend: {:.2} \
         GFLOP/s on one thread, {:.2} on {threads}):\n\n| path | archs/s | s/arch | weight init | forward + sign packing | \
         pattern count | ms per pass | GFLOP/s | GFLOP/s (forwards) | efficiency (÷ sgemm) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        report.swap_batch, report.swap_repeats, report.sgemm.gflops_one_thread, report.sgemm.gflops_all_threads,
    );
    for p in &report.swap_profiles {
        let busy = p.init_seconds + p.forward_seconds + p.count_seconds;
        let _ = writeln!(
            md,
            "| {} | {:.3} | {:.3} | {:.1}% | {:.1}% | {:.1}% | {:.1} | {:.2} | {:.2} | {:.1}% |",
            p.kernels,
            p.archs_per_second,
            1.0 / p.archs_per_second,
            100.0 * p.init_seconds / busy,
            100.0 * p.forward_seconds / busy,
            100.0 * p.count_seconds / busy,
            1000.0 * busy / p.forward_passes.max(1) as f64,
            p.gflops_overall,
            p.gflops_forward,
            100.0 * p.efficiency
        );
    }
    let _ = write!(
        md,
        "\n{} ÷ {}: {:.2}× the archs/s; SWAP scores differ by at most {:.2e} (relative; float rounding). SWAP's \
         arithmetic: {:.3e} FLOP of forward passes (2 × the multiply-adds of SWAP's pass × B × R).\n",
        capitalise(&report.swap_profiles[1].kernels),
        report.swap_profiles[0].kernels,
        report.swap_speedup,
        report.swap_max_relative_difference,
        report.swap_profiles[1].forward_flop
    );
    md
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
}

/// What the SWAP profile runs on: the archs, SWAP's images and settings, the arithmetic it
/// performs and the sgemm rate it is measured against.
struct SwapWork<'a> {
    candidates: &'a [Candidate],
    images: &'a burn::tensor::Tensor<4>,
    plan: &'a ProxyPlan,
    seed: u64,
    forward_flop: f64,
    sgemm_gflops: f64,
}

/// SWAP on one path (named `path`) over the candidates: its pieces timed (summed over
/// threads), the whole on the wall clock, and the rates and efficiency that follow.
fn profile_swap(work: &SwapWork, path: &str, kernels: Kernels, strategy: Strategy) -> Result<SwapProfile> {
    let SwapWork { candidates, images, plan, seed, forward_flop, sgemm_gflops } = *work;
    let start = Instant::now();
    let (mut init_seconds, mut forward_seconds, mut count_seconds, mut forward_passes) = (0.0, 0.0, 0.0, 0);
    let mut scores = Vec::with_capacity(candidates.len());
    for c in candidates {
        let repeats = run_repeats(
            c.builder.as_ref(),
            arch_seed(seed, &c.label),
            0..swap::REPEATS.get(&plan.settings),
            images,
            kernels,
            strategy,
        )
        .with_context(|| format!("SWAP failed on {}", c.label))?;
        for r in &repeats {
            init_seconds += r.phases.init;
            forward_seconds += r.phases.forward;
            count_seconds += r.phases.count;
        }
        forward_passes += repeats.len();
        scores.push(repeats.iter().map(|r| r.counts.neurons as f64).sum::<f64>() / swap::REPEATS.get(&plan.settings) as f64);
    }
    let seconds = start.elapsed().as_secs_f64();
    let busy = init_seconds + forward_seconds + count_seconds;
    let gflops_overall = forward_flop / seconds / 1e9;
    Ok(SwapProfile {
        kernels: path.to_string(),
        seconds,
        archs_per_second: candidates.len() as f64 / seconds,
        scores,
        forward_passes,
        init_seconds,
        forward_seconds,
        count_seconds,
        forward_flop,
        gflops_overall,
        gflops_forward: forward_flop / (seconds * forward_seconds / busy) / 1e9,
        efficiency: gflops_overall / sgemm_gflops,
    })
}
