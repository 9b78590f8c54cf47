//! `swapnas check`: our proxies against NAS-Bench-Suite-Zero's reference scores, arch by arch.
//!
//! For each proxy: Spearman between our score and the reference's on the same archs (target
//! ≥ 0.9), and each one's Spearman with validation accuracy (target: within ±0.03).

use crate::cli::{Bench, RunArgs};
use crate::run::{open_cache, proxy_settings, score_all, Scoring};
use crate::suites::Candidate;
use crate::sample::sample_indices;
use anyhow::Result;
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
use swapnas_reports::{correlate, spearman_rho};

pub fn run(args: &RunArgs) -> Result<()> {
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
    let batch = images.load_first(&data, batch_size)?;
    eprintln!("swapnas check: {bench}, {} of {} Suite-Zero archs, seed {}", entries.len(), zc.entries.len(), args.seed);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("results").join(format!("check-{bench}")));
    std::fs::create_dir_all(&out)?;
    let cache = open_cache(args, &out)?;
    let scoring = Scoring { bench: &bench, proxies: &proxies, batch: &batch, cache: cache.as_ref() };
    let results = score_all(&candidates, &scoring, args)?;

    let acc: Vec<f64> = entries.iter().map(|e| e.val_accuracy).collect();
    let mut md = format!(
        "## check: {bench} against Suite-Zero (`{}`)\n\n- archs: {} (seed {}), batch {} images, wall {:.1} s\n\n\
         | proxy | n | ρ(ours, ref) | ρ(ours, val acc) | ρ(ref, val acc) | Δ | non-finite ours/ref | s/arch | target met |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
        file.rel_path,
        entries.len(),
        args.seed,
        settings.batch,
        started.elapsed().as_secs_f64()
    );
    let mut csv = String::from("arch,val_accuracy");
    for p in &proxies {
        let _ = write!(csv, ",{0},{0}_ref", p.name());
    }
    csv.push('\n');
    for (k, p) in proxies.iter().enumerate() {
        let ours: Vec<f64> = results.iter().map(|r| r.scores[k]).collect();
        let seconds = results.iter().map(|r| r.seconds[k]).sum::<f64>() / results.len().max(1) as f64;
        let c_ours = correlate(&ours, &acc);
        let reference: Option<Vec<f64>> =
            entries.iter().map(|e| e.scores.get(p.name()).copied()).collect();
        match reference {
            Some(reference) => {
                let c_ref = correlate(&reference, &acc);
                let agreement = spearman_rho(&rank_last_nonfinite(&ours), &rank_last_nonfinite(&reference));
                let delta = c_ours.spearman - c_ref.spearman;
                let met = agreement >= 0.9 && delta.abs() <= 0.03;
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.3} | {:.3} | {:.3} | {:+.3} | {}/{} | {:.2} | {} |",
                    p.name(),
                    c_ours.n,
                    agreement,
                    c_ours.spearman,
                    c_ref.spearman,
                    delta,
                    c_ours.non_finite,
                    c_ref.non_finite,
                    seconds,
                    if met { "yes" } else { "NO" }
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "| {} | {} | — | {:.3} | — | — | {}/— | {:.2} | no reference |",
                    p.name(),
                    c_ours.n,
                    c_ours.spearman,
                    c_ours.non_finite,
                    seconds
                );
            }
        }
    }
    for (i, e) in entries.iter().enumerate() {
        let _ = write!(csv, "\"{}\",{}", e.arch, e.val_accuracy);
        for (k, p) in proxies.iter().enumerate() {
            let r = e.scores.get(p.name()).map_or(String::new(), |v| v.to_string());
            let _ = write!(csv, ",{},{r}", results[i].scores[k]);
        }
        csv.push('\n');
    }
    md.push_str("\nTargets: ρ(ours, ref) ≥ 0.9 and |Δ| ≤ 0.03. Non-finite scores rank below all finite ones.\n");
    write_atomic(&out.join("check.md"), md.as_bytes())?;
    write_atomic(&out.join("scores.csv"), csv.as_bytes())?;
    println!("{md}");
    eprintln!("wrote {}", out.display());
    Ok(())
}

