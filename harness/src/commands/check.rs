//! `swapnas check`: our proxies against NAS-Bench-Suite-Zero's reference scores, arch by arch.
//!
//! For each proxy: Spearman between our score and the reference's on the same archs (target
//! ≥ 0.9), and each one's Spearman with validation accuracy (target: within ±0.03).
//!
//! A reference score is one random draw (one weight init, one random batch per arch). For a
//! noisy proxy no implementation can agree with that draw better than two of its own draws
//! agree with each other, so `--draws N` scores each proxy N times with independent seed
//! streams and reports that draw-to-draw agreement next to the agreement with the reference.

use clap::Args;
use crate::outputs::{self, Outputs};
use crate::cli::{CacheArgs, ExecArgs, InputArgs, ProxyArgs, SampleArgs, TaskArgs};
use crate::engine::{ArchScores, Engine, ProxyPlan, Setup, Target};
use anyhow::{ensure, Context, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swapnas_benchmarks::data::suite_zero::{ZcEntry, ZcTable};
use swapnas_benchmarks::sample::sample_indices;
use swapnas_benchmarks::{Candidate, DataDir};
use swapnas_reports::stats::rank_last_nonfinite;
use swapnas_reports::{correlate, spearman_rho, spearman_with_accuracy};

/// Check proxies against NAS-Bench-Suite-Zero's reference scores, arch by arch: scores
/// the archs of the space's reference file and reports Spearman(ours, reference) and both
/// proxies' correlation with validation accuracy on the same archs.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub sample: SampleArgs,
    #[command(flatten)]
    pub proxies: ProxyArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub exec: ExecArgs,
    #[command(flatten)]
    pub cache: CacheArgs,

    /// Independent draws of each proxy (draw 0 uses --seed's per-arch seeds, draw d another
    /// seed stream): with 2 or more, the table adds each proxy's own draw-to-draw agreement
    /// (the ceiling for any agreement with a single reference draw) and the spread of its
    /// correlation with accuracy across draws.
    #[arg(long, default_value_t = 1)]
    pub draws: usize,
}
/// Seed stream of draw d ≥ 1 (draw 0 uses `--seed` itself, so its scores match a plain run's).
const DRAW_STREAM: u64 = 0xd4a3;

/// A check, resolved and validated.
pub struct CheckConfig {
    pub target: Target,
    pub archs: usize,
    pub seed: u64,
    pub plan: ProxyPlan,
    pub input: crate::engine::InputSpec,
    pub out: Option<PathBuf>,
    pub data: DataDir,
    pub device: String,
    pub jobs: Option<usize>,
    pub cache: bool,
    /// One network per same-function class for the proxies that allow it (`--no-dedup`).
    pub dedup: bool,
    pub draws: usize,
}

impl CheckConfig {
    pub fn resolve(args: &CheckArgs) -> Result<Self> {
        ensure!(args.draws >= 1, "--draws must be at least 1, got {}", args.draws);
        let target = crate::spec::target(&args.task, None)?;
        ensure!(target.space.reference().is_some(), "--bench {} has no reference scores to check against", target.space.name());
        Ok(Self {
            target,
            archs: args.sample.archs.unwrap_or(200),
            seed: args.sample.seed,
            plan: crate::spec::plan(&args.proxies)?,
            input: crate::spec::input(&args.input)?,
            out: args.exec.out.clone(),
            data: crate::engine::locate_data(args.exec.data_dir.as_deref())?,
            device: args.exec.device.clone(),
            jobs: args.exec.jobs,
            cache: !args.cache.no_cache,
            dedup: !args.cache.no_dedup,
            draws: args.draws,
        })
    }
}

pub fn run(args: &CheckArgs) -> Result<()> {
    let config = CheckConfig::resolve(args)?;
    let started = Instant::now();
    let Target { space, task, .. } = config.target;
    let reference = space.reference().context("no reference file")?;
    let file = reference.file;
    let data = &config.data;
    let zc = ZcTable::load(data, &file, task.name)?;
    let picked = sample_indices(zc.entries.len(), config.archs, config.seed);
    let entries: Vec<_> = picked.iter().map(|&i| &zc.entries[i]).collect();
    let mut candidates: Vec<Candidate> = Vec::with_capacity(entries.len());
    for e in &entries {
        let c = space.reference_candidate(&e.arch, task).with_context(|| format!("{}: arch `{}`", file.rel_path, e.arch))?;
        candidates.push(Candidate { columns: vec![e.arch.clone()], accuracy: e.val_accuracy, ..c });
    }
    // The table the reference scored (its set): its run name (the cache key, as a run of that
    // table has), reg-SWAP's size rule when a proxy needs it, and the notes every report of the
    // task carries (network, stand-in images, targets).
    let set = reference.set.and_then(|name| space.sets().iter().find(|s| s.name == name));
    let accuracy = &task.accuracies[0];
    let largest = config.plan.needs_largest();
    let request = swapnas_benchmarks::space::Request { task, set, archs: Some(1), seed: config.seed, accuracy, largest };
    let table = crate::engine::load(space, &request, data)?;
    let (bench, largest_params, notes) = (table.name, table.largest_params, table.notes);
    eprintln!("swapnas check: {bench}, {} of {} Suite-Zero archs, seed {}", entries.len(), zc.entries.len(), config.seed);
    let out = config.out.clone().unwrap_or_else(|| outputs::results(format!("check-{bench}")));
    let outputs = Outputs::create(&out)?;
    let cache_path = outputs.path(outputs::SCORES);
    let engine = Engine::prepare(Setup {
        run_name: &bench,
        task,
        plan: &config.plan,
        largest_params,
        input: config.input,
        min_images: 1,
        device: &config.device,
        jobs: config.jobs,
        cache: config.cache.then_some(cache_path.as_path()),
        data,
        dedup: config.dedup,
    })?;
    let proxies = &engine.proxies;
    let input_text = &engine.input_text;
    let mut draws: Vec<Vec<ArchScores>> = Vec::with_capacity(config.draws);
    for d in 0..config.draws {
        let seed = if d == 0 { config.seed } else { swapnas_proxies::derive_seed(config.seed, DRAW_STREAM + d as u64) };
        if config.draws > 1 {
            eprintln!("draw {} of {} (seed {seed})", d + 1, config.draws);
        }
        draws.push(engine.score_all(&candidates, seed)?);
    }

    let acc: Vec<f64> = entries.iter().map(|e| e.val_accuracy).collect();
    let mut md = format!(
        "## check: {bench} against Suite-Zero (`{}`)\n\n- archs: {} (seed {}), images per proxy: {}, wall {:.1} s\n- images: {}\n\n\
         | proxy | n | ρ(ours, ref) | ρ(ours, val acc) | ρ(ref, val acc) | Δ | non-finite ours/ref | s/arch | target met |{}\n|---|---:|---:|---:|---:|---:|---:|---:|---|{}\n",
        file.rel_path,
        entries.len(),
        config.seed,
        engine.images_per_proxy(),
        started.elapsed().as_secs_f64(),
        input_text,
        if config.draws > 1 { format!(" ρ(ours, ours′) over {} draws | ρ(ours, ref) over draws | ρ(ours, val acc) over draws |", config.draws) } else { String::new() },
        if config.draws > 1 { "---:|---:|---:|" } else { "" },
    );
    let classes = engine.same_function_text(space.function_classes(), &candidates);
    let classes = classes.map(|text| ("distinct computations".to_string(), text));
    let notes: String = notes.iter().chain(&classes).map(|(k, v)| format!("- {k}: {v}\n")).collect();
    md = md.replacen("\n\n|", &format!("\n{notes}\n|"), 1);
    for (k, p) in proxies.iter().enumerate() {
        if let Some(why) = &engine.not_applicable[k] {
            let _ = writeln!(
                md,
                "| {} | — | n/a: {why} | | | | | | not applicable |{}",
                p.name(),
                if config.draws > 1 { " | | |" } else { "" }
            );
            continue;
        }
        let reference: Option<Vec<f64>> = entries.iter().map(|e| e.scores.get(p.name()).copied()).collect();
        md.push_str(&proxy_row(p.name(), k, &draws, reference.as_deref(), &acc));
    }
    md.push_str("\nTargets: ρ(ours, ref) ≥ 0.9 and |Δ| ≤ 0.03 (draw 0). Non-finite scores rank below all finite ones.\n");
    if config.draws > 1 {
        md.push_str(
            "ρ(ours, ours′): mean Spearman between our draws (independent weight inits; with --input random-augmented also independent batches) — \
             where it is below 0.9, no implementation can be expected to agree with one reference draw at 0.9. \
             'over draws' columns: mean ± SD across draws.\n",
        );
    }
    outputs.write("check.md", &md)?;
    let names: Vec<&str> = proxies.iter().map(|p| p.name()).collect();
    outputs.write("scores.csv", scores_csv(&entries, &names, &draws))?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// check.md's row of proxy `k` (named `name`): its agreement with the reference scores (when
/// the reference has them) and both ones' ρ with accuracy on draw 0, the target, and the
/// draws' spread.
fn proxy_row(name: &str, k: usize, draws: &[Vec<ArchScores>], reference: Option<&[f64]>, acc: &[f64]) -> String {
    // This proxy's scores in every draw, and their ranks (non-finite last).
    let columns: Vec<Vec<f64>> = draws.iter().map(|d| d.iter().map(|r| r.scores[k]).collect()).collect();
    let ranked: Vec<Vec<f64>> = columns.iter().map(|c| rank_last_nonfinite(c)).collect();
    let ours = &columns[0];
    let seconds = draws[0].iter().map(|r| r.seconds[k]).sum::<f64>() / draws[0].len().max(1) as f64;
    let c_ours = correlate(ours, acc);
    match reference {
        Some(reference) => {
            let c_ref = correlate(reference, acc);
            let reference_ranked = rank_last_nonfinite(reference);
            let agreement = spearman_rho(&ranked[0], &reference_ranked);
            let delta = c_ours.spearman - c_ref.spearman;
            let met = agreement >= 0.9 && delta.abs() <= 0.03;
            format!(
                "| {name} | {} | {agreement:.3} | {:.3} | {:.3} | {delta:+.3} | {}/{} | {seconds:.2} | {} |{}\n",
                c_ours.n,
                c_ours.spearman,
                c_ref.spearman,
                c_ours.non_finite,
                c_ref.non_finite,
                if met { "yes" } else { "NO" },
                draw_spread(&columns, &ranked, acc, Some(&reference_ranked))
            )
        }
        None => format!(
            "| {name} | {} | — | {:.3} | — | — | {}/— | {seconds:.2} | no reference |{}\n",
            c_ours.n,
            c_ours.spearman,
            c_ours.non_finite,
            draw_spread(&columns, &ranked, acc, None)
        ),
    }
}

/// scores.csv: per arch its accuracy, then per proxy our score (draw 0), the reference's and
/// our other draws'.
fn scores_csv(entries: &[&ZcEntry], names: &[&str], draws: &[Vec<ArchScores>]) -> String {
    let mut csv = String::from("arch,val_accuracy");
    for name in names {
        let _ = write!(csv, ",{name},{name}_ref");
        for d in 1..draws.len() {
            let _ = write!(csv, ",{name}_draw{d}");
        }
    }
    csv.push('\n');
    for (i, e) in entries.iter().enumerate() {
        let _ = write!(csv, "\"{}\",{}", e.arch, e.val_accuracy);
        for (k, name) in names.iter().enumerate() {
            let r = e.scores.get(*name).map_or(String::new(), |v| v.to_string());
            let _ = write!(csv, ",{},{r}", draws[0][i].scores[k]);
            for draw in &draws[1..] {
                let _ = write!(csv, ",{}", draw[i].scores[k]);
            }
        }
        csv.push('\n');
    }
    csv
}

/// The extra table cells of `--draws` ≥ 2 for one proxy, from its per-draw scores and their
/// ranks: mean pairwise Spearman between the draws, and mean ± SD across draws of
/// ρ(draw, reference) (given its ranks; "—" without one) and ρ(draw, accuracy). Empty for one
/// draw.
fn draw_spread(columns: &[Vec<f64>], ranked: &[Vec<f64>], acc: &[f64], reference_ranked: Option<&[f64]>) -> String {
    if columns.len() < 2 {
        return String::new();
    }
    let mut pairs = Vec::new();
    for a in 0..ranked.len() {
        for b in a + 1..ranked.len() {
            pairs.push(spearman_rho(&ranked[a], &ranked[b]));
        }
    }
    let with_acc: Vec<f64> = columns.iter().map(|c| spearman_with_accuracy(c, acc)).collect();
    let with_ref = match reference_ranked {
        Some(reference) => mean_sd(&ranked.iter().map(|r| spearman_rho(r, reference)).collect::<Vec<_>>()),
        None => "—".to_string(),
    };
    format!(" {:.3} | {with_ref} | {} |", pairs.iter().sum::<f64>() / pairs.len() as f64, mean_sd(&with_acc))
}

/// "mean ± SD" (sample SD) of a few values, 3 decimals.
fn mean_sd(values: &[f64]) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = if values.len() > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    format!("{mean:.3} ± {sd:.3}")
}
