//! `swapnas check`: our proxies against NAS-Bench-Suite-Zero's reference scores, arch by arch.
//!
//! For each proxy: Spearman between our score and the reference's on the same archs (target
//! ≥ 0.9), and each one's Spearman with validation accuracy (target: within ±0.03).
//!
//! A reference score is one random draw (one weight init, one random batch per arch). For a
//! noisy proxy no implementation can agree with that draw better than two of its own draws
//! agree with each other, so `--draws N` scores each proxy N times with independent seed
//! streams and reports that draw-to-draw agreement next to the agreement with the reference.

use crate::cli::{Bench, CheckArgs};
use crate::run::{load_input, open_cache, proxy_settings, score_all, ArchScores, Scoring};
use crate::suites::Candidate;
use crate::sample::sample_indices;
use anyhow::{ensure, Result};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swapnas_benchmarks::darts::{DartsArch, DartsBuilder, DartsConfig};
use swapnas_benchmarks::data_dir::{NB101_ZC_JSON, NB201_ZC_JSON, NB301_ZC_JSON};
use swapnas_benchmarks::nb101::{Nb101Arch, Nb101Builder, Nb101Config};
use swapnas_benchmarks::nb201::{Nb201Arch, Nb201Builder, Nb201Config, Nb201Task};
use swapnas_benchmarks::{ImageSet, NetworkBuilder};
use swapnas_benchmarks::suite_zero::ZcTable;
use swapnas_benchmarks::DataDir;
use swapnas_reports::table::write_atomic;
use swapnas_reports::stats::rank_last_nonfinite;
use swapnas_reports::{correlate, spearman_rho, spearman_with_accuracy};

/// Seed stream of draw d ≥ 1 (draw 0 uses `--seed` itself, so its scores match a plain run's).
const DRAW_STREAM: u64 = 0xd4a3;

pub fn run(check: &CheckArgs) -> Result<()> {
    let args = &check.run;
    ensure!(check.draws >= 1, "--draws must be at least 1, got {}", check.draws);
    let started = Instant::now();
    let data = DataDir::locate(args.data_dir.as_deref())?;
    let (file, task, images, bench) = match args.bench {
        Bench::Nb201 => {
            let task: Nb201Task = args.task.parse()?;
            (NB201_ZC_JSON, task.name(), task.images(), format!("nb201-{task}"))
        }
        Bench::Nb301 => (NB301_ZC_JSON, "cifar10", ImageSet::Cifar10, "nb301-suitezero-cifar10".to_string()),
        Bench::Nb101 => (NB101_ZC_JSON, "cifar10", ImageSet::Cifar10, "nb101-cifar10".to_string()),
    };
    let zc = ZcTable::load(&data, &file, task)?;
    let picked = sample_indices(zc.entries.len(), args.archs.unwrap_or(200), args.seed);
    let entries: Vec<_> = picked.iter().map(|&i| &zc.entries[i]).collect();
    let mut candidates = Vec::with_capacity(entries.len());
    for e in &entries {
        let (label, builder): (String, Box<dyn NetworkBuilder + Send>) = match args.bench {
            Bench::Nb201 => {
                let arch: Nb201Arch = e.arch.parse()?;
                let classes = task.parse::<Nb201Task>()?.num_classes();
                (arch.to_string(), Box::new(Nb201Builder { arch, config: Nb201Config::default(), num_classes: classes }))
            }
            Bench::Nb301 => {
                let arch: DartsArch = e.arch.parse()?;
                (arch.to_string(), Box::new(DartsBuilder { arch, config: DartsConfig::nb301(), num_classes: 10 }))
            }
            Bench::Nb101 => {
                let arch: Nb101Arch = e.arch.parse()?;
                (arch.to_tuple_string(), Box::new(Nb101Builder { arch, config: Nb101Config::default(), num_classes: 10 }))
            }
        };
        candidates.push(Candidate { label, builder, columns: vec![e.arch.clone()], accuracy: e.val_accuracy });
    }
    let (settings, _) = proxy_settings(args, None)?;
    let proxies = swapnas_proxies::find(&args.proxies, &settings)?;
    let batch_size = proxies.iter().map(|p| p.batch_size()).max().unwrap_or(1);
    let (batch, augment, input_text) = load_input(args, images, &data, batch_size)?;
    eprintln!("swapnas check: {bench}, {} of {} Suite-Zero archs, seed {}", entries.len(), zc.entries.len(), args.seed);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(format!("check-{bench}")));
    std::fs::create_dir_all(&out)?;
    let cache = open_cache(args, &out)?;
    let (device, _) = crate::device::open(&args.device)?;
    let scoring = Scoring::new(&bench, &proxies, &batch, augment, cache.as_ref(), device);
    let mut draws: Vec<Vec<ArchScores>> = Vec::with_capacity(check.draws);
    for d in 0..check.draws {
        let seed = if d == 0 { args.seed } else { swapnas_proxies::derive_seed(args.seed, DRAW_STREAM + d as u64) };
        if check.draws > 1 {
            eprintln!("draw {} of {} (seed {seed})", d + 1, check.draws);
        }
        draws.push(score_all(&candidates, &scoring, seed, args.jobs)?);
    }
    let results = &draws[0];

    let acc: Vec<f64> = entries.iter().map(|e| e.val_accuracy).collect();
    let mut md = format!(
        "## check: {bench} against Suite-Zero (`{}`)\n\n- archs: {} (seed {}), batch {} images, wall {:.1} s\n- images: {}\n\n\
         | proxy | n | ρ(ours, ref) | ρ(ours, val acc) | ρ(ref, val acc) | Δ | non-finite ours/ref | s/arch | target met |{}\n|---|---:|---:|---:|---:|---:|---:|---:|---|{}\n",
        file.rel_path,
        entries.len(),
        args.seed,
        settings.batch,
        started.elapsed().as_secs_f64(),
        input_text,
        if check.draws > 1 { format!(" ρ(ours, ours′) over {} draws | ρ(ours, ref) over draws | ρ(ours, val acc) over draws |", check.draws) } else { String::new() },
        if check.draws > 1 { "---:|---:|---:|" } else { "" },
    );
    let mut csv = String::from("arch,val_accuracy");
    for p in &proxies {
        let _ = write!(csv, ",{0},{0}_ref", p.name());
        for d in 1..check.draws {
            let _ = write!(csv, ",{}_draw{d}", p.name());
        }
    }
    csv.push('\n');
    for (k, p) in proxies.iter().enumerate() {
        // This proxy's scores in every draw, and their ranks (non-finite last).
        let columns: Vec<Vec<f64>> = draws.iter().map(|d| d.iter().map(|r| r.scores[k]).collect()).collect();
        let ranked: Vec<Vec<f64>> = columns.iter().map(|c| rank_last_nonfinite(c)).collect();
        let ours = &columns[0];
        let seconds = results.iter().map(|r| r.seconds[k]).sum::<f64>() / results.len().max(1) as f64;
        let c_ours = correlate(ours, &acc);
        let reference: Option<Vec<f64>> =
            entries.iter().map(|e| e.scores.get(p.name()).copied()).collect();
        match reference {
            Some(reference) => {
                let c_ref = correlate(&reference, &acc);
                let reference_ranked = rank_last_nonfinite(&reference);
                let agreement = spearman_rho(&ranked[0], &reference_ranked);
                let delta = c_ours.spearman - c_ref.spearman;
                let met = agreement >= 0.9 && delta.abs() <= 0.03;
                let spread = draw_spread(&columns, &ranked, &acc, Some(&reference_ranked));
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.3} | {:.3} | {:.3} | {:+.3} | {}/{} | {:.2} | {} |{}",
                    p.name(),
                    c_ours.n,
                    agreement,
                    c_ours.spearman,
                    c_ref.spearman,
                    delta,
                    c_ours.non_finite,
                    c_ref.non_finite,
                    seconds,
                    if met { "yes" } else { "NO" },
                    spread
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "| {} | {} | — | {:.3} | — | — | {}/— | {:.2} | no reference |{}",
                    p.name(),
                    c_ours.n,
                    c_ours.spearman,
                    c_ours.non_finite,
                    seconds,
                    draw_spread(&columns, &ranked, &acc, None)
                );
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        let _ = write!(csv, "\"{}\",{}", e.arch, e.val_accuracy);
        for (k, p) in proxies.iter().enumerate() {
            let r = e.scores.get(p.name()).map_or(String::new(), |v| v.to_string());
            let _ = write!(csv, ",{},{r}", results[i].scores[k]);
            for draw in &draws[1..] {
                let _ = write!(csv, ",{}", draw[i].scores[k]);
            }
        }
        csv.push('\n');
    }
    md.push_str("\nTargets: ρ(ours, ref) ≥ 0.9 and |Δ| ≤ 0.03 (draw 0). Non-finite scores rank below all finite ones.\n");
    if check.draws > 1 {
        md.push_str(
            "ρ(ours, ours′): mean Spearman between our draws (independent weight inits; with --input random-augmented also independent batches) — \
             where it is below 0.9, no implementation can be expected to agree with one reference draw at 0.9. \
             'over draws' columns: mean ± SD across draws.\n",
        );
    }
    write_atomic(&out.join("check.md"), md.as_bytes())?;
    write_atomic(&out.join("scores.csv"), csv.as_bytes())?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
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
