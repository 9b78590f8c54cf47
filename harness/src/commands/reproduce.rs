//! `swapnas reproduce`: the SWAP paper's comparison over every benchmark task that exists,
//! with a report that sets our numbers beside the published ones.

use crate::cli::ExecArgs;
use clap::Args;
use crate::outputs::{self, Outputs};
use crate::engine::{ProxyPlan, Target};
use super::run::{run_task, RunConfig};
use anyhow::Result;
use std::fmt::Write as _;
use swapnas_benchmarks::data::suite_zero::ZcTable;
use swapnas_benchmarks::DataDir;
use swapnas_reports::plot::heatmap;
use swapnas_reports::table::fmt3;
use swapnas_reports::{correlate, Correlation, CorrelationTable, MatrixTable};

/// Reproduce the SWAP paper's comparison: every proxy on every task of every registered
/// space (or of --bench), with the paper's sample size (1,000 archs) and settings;
/// resumable (each task's score cache); writes results/paper/ with the full table, the
/// heatmap and a REPORT.md that sets our numbers beside the published ones.
#[derive(Debug, Clone, Args)]
pub struct ReproduceArgs {
    /// Smoke check: 5 archs per task, 2 SWAP repeats, baseline batch 16.
    #[arg(long)]
    pub quick: bool,

    /// Only these spaces, comma-separated [default: every registered space].
    #[arg(long)]
    pub bench: Option<String>,

    /// Architectures per task [default: 1000, or 5 with --quick].
    #[arg(long)]
    pub archs: Option<usize>,

    /// Proxies, comma-separated, or `all` [default: every proxy but VKDNW's, which
    /// back-propagates once per class: hours per TransNAS-Bench-101 arch on a CPU].
    #[arg(long)]
    pub proxies: Option<String>,

    /// Seed for the architecture samples and weight initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// `--out` [default: results/paper], `--data-dir`, `--device`, `--jobs`.
    #[command(flatten)]
    pub exec: ExecArgs,
}

/// The benchmark tasks to reproduce: every task of every registered space (its default
/// table), or of the spaces `--bench` names.
fn targets(filter: Option<&str>) -> Result<Vec<Target>> {
    let spaces = match filter {
        None => swapnas_benchmarks::spaces::registry().to_vec(),
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(swapnas_benchmarks::spaces::find)
            .collect::<Result<Vec<_>>>()?,
    };
    Ok(spaces.into_iter().flat_map(|space| space.tasks().iter().map(move |task| Target { space, task, set: None })).collect())
}

pub fn run(args: &ReproduceArgs) -> Result<()> {
    let data = crate::engine::locate_data(args.exec.data_dir.as_deref())?;
    let out = args.exec.out.clone().unwrap_or_else(|| outputs::results("paper"));
    let archs = args.archs.unwrap_or(if args.quick { 5 } else { 1000 });
    let mut settings = swapnas_proxies::ProxySettings::default();
    if args.quick {
        for (name, value) in swapnas_proxies::QUICK_SETTINGS {
            settings.set(name, value)?;
        }
    }
    let proxies = args.proxies.clone().unwrap_or_else(swapnas_proxies::reproduce_default);
    let plan = ProxyPlan::resolve(&proxies, &settings)?;
    let mut tables: Vec<(Target, String, CorrelationTable)> = Vec::new();
    for target in targets(args.bench.as_deref())? {
        let name = format!("{}-{}", target.space.name(), target.task.name);
        let config = RunConfig {
            target,
            accuracy: &target.task.accuracies[0],
            archs: Some(archs),
            seed: args.seed,
            plan: plan.clone(),
            input: crate::engine::InputSpec::default(),
            out: Some(out.join(&name)),
            data: data.clone(),
            device: args.exec.device.clone(),
            jobs: args.exec.jobs,
            cache: true,
            dedup: true,
            rule: swapnas_reports::stats::EnsembleRule::LogRank,
            fit_folds: None,
            few_shot: Default::default(),
            shard: None,
            cache_only: false,
        };
        eprintln!("reproduce: {name} ({archs} archs)");
        let table = run_task(&config)?;
        let run_name = table.header.iter().find(|(k, _)| k == "benchmark").map_or(name, |(_, v)| v.clone());
        tables.push((target, run_name, table));
    }

    // The proxy × task matrix.
    let mut rows: Vec<String> = Vec::new();
    for (_, _, t) in &tables {
        for r in &t.rows {
            if !rows.contains(&r.proxy) {
                rows.push(r.proxy.clone());
            }
        }
    }
    let columns: Vec<String> = tables.iter().map(|(_, name, _)| name.clone()).collect();
    let cells: Vec<Vec<Option<Correlation>>> = rows
        .iter()
        .map(|proxy| {
            tables
                .iter()
                .map(|(_, _, t)| t.rows.iter().find(|r| &r.proxy == proxy && r.not_applicable.is_none()).map(|r| r.correlation))
                .collect()
        })
        .collect();
    let matrix = MatrixTable {
        title: format!("Spearman ρ with validation accuracy, {archs} archs per task (seed {})", args.seed),
        columns,
        rows,
        cells,
    };
    let outputs = Outputs::create(&out)?;
    matrix.write_all(&out, "table")?;
    heatmap(&out.join("heatmap"), &matrix.title, &matrix.rows, &matrix.columns, &matrix.rho_matrix())?;
    let report = report(&matrix, &tables, &data, args)?;
    outputs.write("REPORT.md", &report)?;
    println!("{report}");
    eprintln!("wrote {} (REPORT.md, table.md/.csv/.json/.tex, heatmap.png/.svg, one folder per task)", out.display());
    Ok(())
}

/// Suite-Zero's own ρ for a proxy on a task: its reference scores against validation
/// accuracy on the archs of `zc_nasbench201.json`.
fn suite_zero_rho(zc: &ZcTable, proxy: &str) -> Option<Correlation> {
    let pairs: Vec<(f64, f64)> = zc.entries.iter().filter_map(|e| Some((*e.scores.get(proxy)?, e.val_accuracy))).collect();
    if pairs.is_empty() {
        return None;
    }
    let (s, a): (Vec<f64>, Vec<f64>) = pairs.into_iter().unzip();
    Some(correlate(&s, &a))
}

fn report(
    matrix: &MatrixTable,
    tables: &[(Target, String, CorrelationTable)],
    data: &DataDir,
    args: &ReproduceArgs,
) -> Result<String> {
    let mut s = String::from("# swapnas reproduction of the SWAP-NAS comparison\n\n");
    let _ = writeln!(
        s,
        "Command: `swapnas reproduce{}{}{}` (seed {}). Each task's folder holds its table, per-arch scores, \
         score cache and plots; `heatmap.png` is the proxy × task summary.\n",
        if args.quick { " --quick" } else { "" },
        args.bench.as_ref().map_or(String::new(), |b| format!(" --bench {b}")),
        args.proxies.as_ref().map_or(String::new(), |p| format!(" --proxies {p}")),
        args.seed
    );
    if args.proxies.is_none() {
        let _ = writeln!(
            s,
            "Proxies: every registered proxy but {} (one backward pass per class; name them with `--proxies` to include them).\n",
            swapnas_proxies::REPRODUCE_LEAVES_OUT.join(", ")
        );
    }
    s.push_str(&matrix.to_markdown());
    s.push_str("\n## Ours beside the published values\n\n");
    s.push_str("Suite-Zero: ρ of NAS-Bench-Suite-Zero's own scores (the space's reference file) with validation accuracy on its archs of the task.\n\n");
    s.push_str("| task | proxy | ours ρ [95% CI] (n) | Suite-Zero ρ (n) | published ρ | source |\n|---|---|---|---|---|---|\n");
    for (target, task_name, table) in tables {
        let zc = target.space.reference().and_then(|r| ZcTable::load(data, &r.file, target.task.name).ok());
        for row in &table.rows {
            if let Some(why) = &row.not_applicable {
                let _ = writeln!(s, "| {task_name} | {} | n/a: {why} | | | |", row.proxy);
                continue;
            }
            let c = row.correlation;
            let sz = zc.as_ref().and_then(|z| suite_zero_rho(z, &row.proxy));
            let published = target.space.published().iter().find(|p| p.task == target.task.name && p.proxy == row.proxy);
            let _ = writeln!(
                s,
                "| {task_name} | {} | {} [{}, {}] ({}) | {} | {} | {} |",
                row.proxy,
                fmt3(c.spearman),
                fmt3(c.spearman_ci[0]),
                fmt3(c.spearman_ci[1]),
                c.n,
                sz.map_or("—".to_string(), |x| format!("{} ({})", fmt3(x.spearman), x.n)),
                published.map_or("—".to_string(), |p| format!("{:.2}", p.rho)),
                published.map_or("", |p| p.source),
            );
        }
    }
    s.push_str(
        "\n## Why numbers may differ\n\n\
         - **Sample**: ours are a seeded uniform sample of each table (the interval shows the sampling \
         uncertainty); Suite-Zero's are its own archs; the SWAP paper's sample is not published.\n\
         - **Inputs**: proxies see the first training images in file order (the SWAP reference's choice); \
         NASLib draws a random, augmented minibatch per arch.\n\
         - **ImageNet16-120** is scored on a 16×16 stand-in of 120 ImageNet photos, not the real training set.\n\
         - **TransNAS-Bench-101** is scored on a stand-in of 64 ImageNet photos (Taskonomy is not available), \
         with seeded synthetic targets where a task's real ones are missing (each task's table says which).\n\
         - **reg-SWAP's μ, σ**: the paper gives no NB201 values we could find; ours follow a rule that sees no \
         accuracies (μ = σ = the largest network, in millions of parameters).\n\
         - **Accuracy**: Suite-Zero's 200-epoch validation accuracy; the SWAP paper does not say which split \
         its NB201 correlations use.\n",
    );
    // Spaces with several tables are reproduced on their default one; say how to run the others.
    let mut noted: Vec<&str> = Vec::new();
    for (target, _, _) in tables {
        let space = target.space;
        if let Some((default, others)) = space.sets().split_first() {
            if !noted.contains(&space.name()) {
                noted.push(space.name());
                for other in others {
                    let _ = writeln!(
                        s,
                        "- **{} tables**: reproduced on its default `{}` ({}); `swapnas --bench {} --set {}` scores {}.",
                        space.name(),
                        default.name,
                        default.about,
                        space.name(),
                        other.name,
                        other.about
                    );
                }
            }
        }
    }
    if args.quick {
        s.push_str("\n**This was a `--quick` smoke run (5 archs per task, R = 2): its correlations mean nothing.**\n");
    }
    Ok(s)
}
