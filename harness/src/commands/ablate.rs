//! `swapnas ablate`: the same seeded archs scored under a grid of settings, one axis at a time
//! around the baseline the flags give — SWAP's batch B and repeats R, the input images
//! (first / random / random-augmented training images, the test images), the input size
//! (N×N crops or resizes), and reg-SWAP's prior (μ, σ and the unit of Θ) — each cell's ρ with
//! its 95% interval against every accuracy column of the task, in one table, a heatmap and
//! per-cell score files.
//!
//! Every cell is an ordinary engine (its proxies, settings and input), writing into one score
//! cache (by default the plain run's), so a cell scored before — by `swapnas`, `check` or an
//! earlier ablation — costs nothing. Cells fed the same images share each arch's memo: the
//! prior cells reuse the baseline's SWAP forward passes, and `ap` comes free with SWAP.

use clap::Args;
use crate::outputs::{self, Outputs};
use crate::cli::{ExecArgs, SampleArgs, SettingArgs, TaskArgs};
use crate::engine::{self, Engine, Input, InputSpec, ProxyPlan, Setup, Shrink, Target};
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use swapnas_benchmarks::space::{param_count, Request};
use swapnas_benchmarks::{Candidate, Split};
use swapnas_proxies::{Memo, ProxySettings};
use swapnas_reports::plot::heatmap;
use swapnas_reports::table::{csv_field, fmt3};
use swapnas_reports::{correlate, Correlation};

/// Ablation: score the same seeded archs under a grid of settings (SWAP batch, repeats,
/// input images, input size, reg-SWAP prior), one axis at a time around the flags'
/// baseline, and write one table of ρ with 95% intervals per setting × proxy against every
/// accuracy column, a heatmap and per-setting scores; every score is cached and reused.
#[derive(Debug, Clone, Args)]
pub struct AblateArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub sample: SampleArgs,

    /// Proxies scored in every cell (those using reg-SWAP's prior also in the prior cells).
    #[arg(long, default_value = swapnas_proxies::ABLATION_PROXIES)]
    pub proxies: String,

    /// The baseline's settings (each axis varies one of them).
    #[command(flatten)]
    pub settings: SettingArgs,

    /// A proxy setting's values to try, `SETTING=V1,V2,…` (repeatable; a setting any proxy
    /// declares, e.g. `--grid repeats=1,8`); giving one replaces the default grid, `none`
    /// leaves no setting axis.
    #[arg(long, value_name = "SETTING=LIST", default_values = swapnas_proxies::ABLATION_GRID)]
    pub grid: Vec<String>,

    /// Inputs to try: first, random, random-augmented (training images), test (the first
    /// test images).
    #[arg(long, default_value = "first,random,random-augmented,test")]
    pub grid_input: String,

    /// Input sizes N (N×N) to try, with each --grid-shrink. A network may not take every size
    /// (NB201's reduction block fails on 15×15, as the official PyTorch network does: its
    /// stride-2 conv gives 8×8, its pooled shortcut 7×7); such a cell is reported as failed,
    /// with the error.
    #[arg(long, default_value = "3,15,16,32")]
    pub grid_size: String,

    /// How the input-size cells shrink the images: crop, resize, or both.
    #[arg(long, default_value = "crop,resize")]
    pub grid_shrink: String,

    /// reg-SWAP priors to try (over the baseline's SWAP scores, so they cost nothing): rules
    /// that see no accuracies — `largest` (the space's largest network, the default), `median`
    /// and `mean` (of the sampled archs' sizes) — and grid values μ = σ in millions (`1.5`), or
    /// with K in thousands as the official code counts Θ (`1500K`: μ = 1500K params, σ = 1500
    /// in K², a much narrower prior), or `MU:SIGMA` in millions.
    #[arg(long, default_value = "largest,median,mean,1500K,0.5,1,2,3")]
    pub grid_prior: String,

    /// Cells costing more than twice the baseline (large B or R) are scored on the first N
    /// archs of the sample (the same nested sample; their intervals show it) [default: all].
    #[arg(long, value_name = "N")]
    pub heavy_archs: Option<usize>,

    /// Score cache [default: the plain run's, results/<bench>-<task>/scores.jsonl, so scores
    /// of earlier runs are reused].
    #[arg(long)]
    pub cache: Option<PathBuf>,

    /// `--out` [default: results/ablate/<bench>-<task>], `--data-dir`, `--device`, `--jobs`.
    #[command(flatten)]
    pub exec: ExecArgs,
}
/// One setting of the grid.
#[derive(Clone)]
struct Cell {
    /// Which axis it varies (`baseline`, a proxy setting's name, `input`, `size`, `prior`).
    axis: &'static str,
    /// The setting, in words (`batch=8`, `15×15 crop`, `μ=σ=0.85M (median)`).
    label: String,
    settings: ProxySettings,
    input: InputSpec,
    proxies: String,
    /// Cost relative to the baseline (B·R·pixels; 0 where it reuses the baseline's passes).
    cost: f64,
    /// Whether the reg-SWAP prior this cell runs with was chosen without accuracies: the
    /// space's size rule or a statistic of the sample's sizes is; a number given on the
    /// command line (`--reg-mu`, a grid value) is not known to be.
    blind: bool,
}

/// One cell's outcome.
struct CellResult {
    cell: Cell,
    /// Why the cell could not be scored, if it could not.
    failed: Option<String>,
    archs: usize,
    proxies: Vec<String>,
    /// Per proxy: its scores over the cell's archs.
    scores: Vec<Vec<f64>>,
    /// Per proxy × accuracy column.
    correlations: Vec<Vec<Correlation>>,
    seconds_per_arch: Vec<f64>,
}

/// Whether the settings' size prior is the space's size rule (chosen without accuracies)
/// rather than numbers given on the command line.
fn base_blind(settings: &ProxySettings) -> bool {
    !settings.size_prior_given()
}

/// The `--grid` axes: each a registered setting with its values (as typed, each valid).
fn grid_axes(grid: &[String]) -> Result<Vec<(&'static str, Vec<String>)>> {
    let mut axes: Vec<(&'static str, Vec<String>)> = Vec::new();
    for item in grid.iter().map(|g| g.trim()).filter(|g| !g.is_empty() && *g != "none") {
        let (name, values) =
            item.split_once('=').with_context(|| format!("--grid is SETTING=V1,V2,… (e.g. repeats=1,8), got `{item}`"))?;
        let setting = swapnas_proxies::setting::find(name).with_context(|| {
            let known: Vec<&str> = swapnas_proxies::setting::all().iter().map(|s| s.name()).collect();
            format!("--grid: `{}` is not a proxy setting; settings: {}", name.trim(), known.join(", "))
        })?;
        let values: Vec<String> = values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect();
        for v in &values {
            setting.check(v).with_context(|| format!("--grid {}={v}", setting.name()))?;
        }
        axes.push((setting.name(), values));
    }
    Ok(axes)
}

fn list<T: std::str::FromStr>(text: &str, flag: &str) -> Result<Vec<T>> {
    text.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<T>().map_err(|_| anyhow::anyhow!("--{flag}: `{t}` is not a valid value")))
        .collect()
}

/// A prior: (μ, σ) in millions (`None`: the space's default rule), its label, and whether
/// it was chosen without accuracies.
type PriorToken = (Option<(f64, f64)>, String, bool);

/// A `--grid-prior` token.
fn parse_prior(token: &str, largest: f64, sizes: &[f64]) -> Result<PriorToken> {
    let t = token.trim();
    let sorted = {
        let mut s = sizes.to_vec();
        s.sort_by(f64::total_cmp);
        s
    };
    let round2 = |m: f64| swapnas_proxies::SizePrior::from_largest((m * 1e6) as usize).mu;
    Ok(match t {
        "largest" => (None, format!("μ=σ={largest}M (largest network, the default)"), true),
        "median" => {
            let m = round2(sorted[sorted.len() / 2]);
            (Some((m, m)), format!("μ=σ={m}M (median size of the sample)"), true)
        }
        "mean" => {
            let m = round2(sorted.iter().sum::<f64>() / sorted.len() as f64);
            (Some((m, m)), format!("μ=σ={m}M (mean size of the sample)"), true)
        }
        _ if t.ends_with(['K', 'k']) => {
            let k: f64 = t[..t.len() - 1].parse().with_context(|| format!("--grid-prior: `{t}` is not a number of K"))?;
            if k.is_nan() || k <= 0.0 {
                bail!("--grid-prior: `{t}` must be positive");
            }
            // Θ in thousands: exp(−(Θ_K − k)²/k) = exp(−(Θ_M − k/1e3)² / (k/1e6)).
            (Some((k / 1e3, k / 1e6)), format!("μ=σ={k} in K (official unit: σ={}M)", k / 1e6), false)
        }
        _ => {
            let (mu, sigma) = match t.split_once(':') {
                Some((m, s)) => (m.parse::<f64>(), s.parse::<f64>()),
                None => (t.parse::<f64>(), t.parse::<f64>()),
            };
            let (Ok(mu), Ok(sigma)) = (mu, sigma) else {
                bail!("--grid-prior: `{t}` is not largest, median, mean, a number (μ=σ in M), NK or MU:SIGMA");
            };
            if sigma.is_nan() || sigma <= 0.0 {
                bail!("--grid-prior: σ must be positive in `{t}`");
            }
            let label = if mu == sigma { format!("μ=σ={mu}M") } else { format!("μ={mu}M σ={sigma}M") };
            (Some((mu, sigma)), label, false)
        }
    })
}

/// The grid's cells: the baseline, then one axis at a time; a cell equal to an earlier one
/// (e.g. B=16 when the baseline's B is 16) is not repeated.
fn cells(args: &AblateArgs, base_plan: &ProxyPlan, largest: f64, sizes: &[f64], side: usize) -> Result<Vec<Cell>> {
    let base = crate::spec::settings(&args.settings)?;
    let base_input = InputSpec::default();
    let axes = grid_axes(&args.grid)?;
    let base_values: Vec<String> =
        axes.iter().map(|(name, _)| format!("{name}={}", base.value_text(name).unwrap_or_default())).collect();
    let mut out = vec![Cell {
        axis: "baseline",
        label: format!("{} first training images {side}×{side}", base_values.join(" ")).trim_start().to_string(),
        settings: base.clone(),
        input: base_input,
        proxies: args.proxies.clone(),
        cost: 1.0,
        blind: base_blind(&base),
    }];
    let push = |out: &mut Vec<Cell>, cell: Cell| {
        if !out.iter().any(|c: &Cell| c.input == cell.input && c.settings.same_values(&cell.settings)) {
            out.push(cell);
        }
    };
    // Each setting value one cell; its cost is the value over the baseline's where both are
    // counts (whole numbers: SWAP's B and R, a minibatch scale the passes), else 1.
    for (name, values) in axes {
        for v in values {
            let mut settings = base.clone();
            settings.set(name, &v)?;
            let count = |text: Option<String>| text.and_then(|t| t.trim().parse::<usize>().ok());
            let cost = match (count(Some(v.clone())), count(base.value_text(name))) {
                (Some(a), Some(b)) if b > 0 => a as f64 / b as f64,
                _ => 1.0,
            };
            let cell = Cell {
                axis: name,
                label: format!("{name}={v}"),
                settings,
                input: base_input,
                proxies: args.proxies.clone(),
                cost,
                blind: base_blind(&base),
            };
            push(&mut out, cell);
        }
    }
    for cell in input_cells(args, &base, side)? {
        push(&mut out, cell);
    }
    // Prior cells: only the proxies that use the prior, over the baseline's passes.
    let prior_proxies: Vec<&str> = base_plan.decls.iter().filter(|d| d.needs.size_prior).map(|d| d.name).collect();
    let priors: Vec<&str> = args.grid_prior.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
    if !priors.is_empty() && prior_proxies.is_empty() {
        bail!("--grid-prior needs a proxy that uses the size prior among --proxies (e.g. reg_swap); pass --grid-prior '' to skip the axis");
    }
    for token in priors {
        let (prior, label, blind) = parse_prior(token, largest, sizes)?;
        let mut settings = base.clone();
        settings.set_size_prior(prior.map(|(mu, sigma)| swapnas_proxies::SizePrior { mu, sigma }))?;
        let cell = Cell { axis: "prior", label, settings, input: base_input, proxies: prior_proxies.join(","), cost: 0.0, blind };
        // `largest` is the baseline's own prior: show it as a row of the axis anyway.
        if prior.is_none() && !base_plan.settings.size_prior_given() {
            out.push(cell);
        } else {
            push(&mut out, cell);
        }
    }
    Ok(out)
}

/// The input axis (`--grid-input`) and the size axis (`--grid-size` × `--grid-shrink`) around
/// the baseline's settings.
fn input_cells(args: &AblateArgs, base: &ProxySettings, side: usize) -> Result<Vec<Cell>> {
    let base_input = InputSpec::default();
    let mut out = Vec::new();
    for name in args.grid_input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let (input, label) = match name {
            "first" => (base_input, "first training images".to_string()),
            "random" => (InputSpec { kind: Input::Random, ..base_input }, "random training images, per arch".to_string()),
            "random-augmented" => (
                InputSpec { kind: Input::RandomAugmented, ..base_input },
                "random augmented training images, per arch".to_string(),
            ),
            "test" => (InputSpec { split: Split::Test, ..base_input }, "first test images".to_string()),
            other => bail!("--grid-input: `{other}` is not first, random, random-augmented or test"),
        };
        out.push(Cell {
            axis: "input",
            label,
            settings: base.clone(),
            input,
            proxies: args.proxies.clone(),
            cost: 1.0,
            blind: base_blind(base),
        });
    }
    let shrinks: Vec<Shrink> = args
        .grid_shrink
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "crop" => Ok(Shrink::Crop),
            "resize" => Ok(Shrink::Resize),
            other => bail!("--grid-shrink: `{other}` is not crop or resize"),
        })
        .collect::<Result<_>>()?;
    for n in list::<usize>(&args.grid_size, "grid-size")? {
        if n == 0 {
            bail!("--grid-size: sizes are at least 1 pixel");
        }
        for &shrink in &shrinks {
            let input = if n == side { base_input } else { InputSpec { size: Some(n), shrink, ..base_input } };
            let how = if n == side {
                ""
            } else if shrink == Shrink::Crop {
                " crop"
            } else {
                " resize"
            };
            let px = (n * n) as f64 / (side * side) as f64;
            out.push(Cell {
                axis: "size",
                label: format!("{n}×{n}{how}"),
                settings: base.clone(),
                input,
                proxies: args.proxies.clone(),
                cost: px,
                blind: base_blind(base),
            });
        }
    }
    Ok(out)
}

pub fn run(args: &AblateArgs) -> Result<()> {
    let target = crate::spec::target(&args.task, None)?;
    let data = crate::engine::locate_data(args.exec.data_dir.as_deref())?;
    let base_settings = crate::spec::settings(&args.settings)?;
    let base_plan = ProxyPlan::resolve(&args.proxies, &base_settings)?;
    let columns = target.task.accuracies;
    let (mut first, mut accuracies) = load_sample(args, &target, &data)?;
    let n = first.candidates.len();
    if n < 3 {
        bail!("an ablation needs at least 3 archs (ρ), got {n}");
    }
    let heavy = args.heavy_archs.unwrap_or(n).clamp(3, n);
    if heavy < n {
        heavy_first(args, &target, &data, heavy, &mut first, &mut accuracies)?;
    }
    let candidates: &[Candidate] = &first.candidates;
    let largest = first.largest_params.context("the space did not give its largest network (reg-SWAP's prior)")?;
    let largest_m = swapnas_proxies::SizePrior::from_largest(largest).mu;
    let sizes: Vec<f64> = candidates
        .iter()
        .map(|c| {
            let n = crate::engine::guarded(|| param_count(c.builder.as_ref()))
                .with_context(|| format!("counting the parameters of arch {}", c.label))?;
            Ok(n as f64 / 1e6)
        })
        .collect::<Result<_>>()?;
    let side = target.task.input.side(target.task.images.resolve(&data).side());
    let grid = cells(args, &base_plan, largest_m, &sizes, side)?;

    let out_dir = args.exec.out.clone().unwrap_or_else(|| outputs::results("ablate").join(&first.name));
    let outputs = Outputs::create(&out_dir)?;
    let cache_path = args.cache.clone().unwrap_or_else(|| outputs::run_cache(&first.name));
    if let Some(dir) = cache_path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let setup = Setup {
        run_name: &first.name,
        task: target.task,
        plan: &base_plan,
        largest_params: Some(largest),
        input: InputSpec::default(),
        min_images: 1,
        device: &args.exec.device,
        jobs: args.exec.jobs,
        cache: Some(&cache_path),
        data: &data,
        dedup: true,
    };
    let engines = prepare_engines(&grid, setup)?;
    let scoring = Scoring { grid: &grid, engines: &engines, candidates, heavy, seed: args.sample.seed };
    scoring.announce(&first.name, &cache_path);
    let (per_arch, failed) = scoring.score(args.exec.jobs, &cache_path)?;
    let results = scoring.results(&per_arch, &failed, &accuracies);
    let column_names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let report = report(&first, &results, &column_names, &base_settings, largest_m, n, args.sample.seed);
    outputs.write("ablation.md", &report)?;
    outputs.write("ablation.csv", csv(&results, &column_names))?;
    write_cell_scores(&outputs, &results, candidates, &sizes, &accuracies, &column_names)?;
    // Heatmap: cells × proxies, ρ against the first accuracy column.
    let proxy_names: Vec<String> = base_plan.decls.iter().map(|d| d.name.to_string()).collect();
    let rows: Vec<String> = results.iter().map(|r| format!("{}: {}", r.cell.axis, short(&r.cell.label))).collect();
    let values: Vec<Vec<f64>> = results
        .iter()
        .map(|r| {
            proxy_names
                .iter()
                .map(|p| r.proxies.iter().position(|q| q == p).map_or(f64::NAN, |k| r.correlations[k][0].spearman))
                .collect()
        })
        .collect();
    heatmap(
        &out_dir.join("ablation"),
        &format!("{}: ρ vs {} accuracy, {n} archs", first.name, column_names[0]),
        &rows,
        &proxy_names,
        &values,
    )?;
    println!("{report}");
    eprintln!("wrote {}/ablation.{{md,csv,png,svg}} and cells/*/scores.csv", out_dir.display());
    Ok(())
}

/// The seeded sample, once per accuracy column (the same archs: the sample depends on the
/// seed), and the archs' accuracies in every column.
fn load_sample(
    args: &AblateArgs,
    target: &Target,
    data: &swapnas_benchmarks::DataDir,
) -> Result<(swapnas_benchmarks::Loaded, Vec<Vec<f64>>)> {
    let columns = target.task.accuracies;
    let mut loads = Vec::new();
    for (i, column) in columns.iter().enumerate() {
        let request = Request {
            task: target.task,
            set: None,
            archs: Some(args.sample.archs.unwrap_or(300)),
            seed: args.sample.seed,
            accuracy: column,
            largest: i == 0,
        };
        loads.push(crate::engine::load(target.space, &request, data)?);
    }
    let first = loads.remove(0);
    let accuracies: Vec<Vec<f64>> = std::iter::once(first.candidates.iter().map(|c| c.accuracy).collect())
        .chain(loads.iter().map(|l| l.candidates.iter().map(|c| c.accuracy).collect()))
        .collect();
    for l in &loads {
        if l.candidates.iter().map(|c| &c.label).ne(first.candidates.iter().map(|c| &c.label)) {
            bail!("internal error: the accuracy columns sampled different archs");
        }
    }
    Ok((first, accuracies))
}

/// Heavy cells run on the first `heavy` archs of the sample: reorders the sample (and its
/// accuracies) so that those are the archs `--archs heavy` draws with the same seed — the
/// first `heavy` of the one seeded permutation the sample was cut from, a uniform subset of
/// it — rather than the sample's first archs in table order (structurally alike archs).
fn heavy_first(
    args: &AblateArgs,
    target: &Target,
    data: &swapnas_benchmarks::DataDir,
    heavy: usize,
    sample: &mut swapnas_benchmarks::Loaded,
    accuracies: &mut [Vec<f64>],
) -> Result<()> {
    let request = Request {
        task: target.task,
        set: None,
        archs: Some(heavy),
        seed: args.sample.seed,
        accuracy: &target.task.accuracies[0],
        largest: false,
    };
    let chosen: std::collections::HashSet<String> =
        crate::engine::load(target.space, &request, data)?.candidates.into_iter().map(|c| c.label).collect();
    let n = sample.candidates.len();
    let (mut first, mut rest): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| chosen.contains(&sample.candidates[i].label));
    if first.len() != heavy {
        bail!("internal error: the {heavy} archs of --heavy-archs are not all in the {n}-arch sample");
    }
    first.append(&mut rest);
    let mut taken: Vec<Option<Candidate>> = std::mem::take(&mut sample.candidates).into_iter().map(Some).collect();
    sample.candidates = first.iter().map(|&i| taken[i].take().expect("each index once")).collect();
    for column in accuracies.iter_mut() {
        *column = first.iter().map(|&i| column[i]).collect();
    }
    Ok(())
}

/// One engine per cell (its proxies, settings and input over `base`); all write into the one
/// cache, the later ones sharing the first one's device, images and cache.
fn prepare_engines(grid: &[Cell], base: Setup) -> Result<Vec<Engine>> {
    let mut engines: Vec<Engine> = Vec::new();
    for cell in grid {
        let plan = ProxyPlan::resolve(&cell.proxies, &cell.settings).with_context(|| format!("cell {}", cell.label))?;
        let setup = Setup { plan: &plan, input: cell.input, ..base };
        let engine = match engines.first() {
            None => Engine::prepare(setup),
            Some(first) => Engine::prepare_sharing(setup, first),
        }
        .with_context(|| format!("cell {}", cell.label))?;
        engines.push(engine);
    }
    Ok(engines)
}

/// Scoring the grid: every cell on the archs it runs on (heavy cells on the first `heavy`,
/// which [`heavy_first`] made the ones `--archs heavy` draws).
struct Scoring<'a> {
    grid: &'a [Cell],
    engines: &'a [Engine],
    candidates: &'a [Candidate],
    heavy: usize,
    seed: u64,
}

/// Per arch, each cell's scores; and per cell its first error where every proxy failed.
type Scored = (Vec<Vec<crate::engine::ArchScores>>, Vec<Option<String>>);

impl Scoring<'_> {
    fn archs_of(&self, cell: &Cell) -> usize {
        if cell.cost > 2.0 {
            self.heavy
        } else {
            self.candidates.len()
        }
    }

    /// Up front: what each cell costs and what is cached already.
    fn announce(&self, run: &str, cache_path: &std::path::Path) {
        let n = self.candidates.len();
        eprintln!(
            "swapnas ablate: {run} — {n} archs (seed {}), {} cells, cache {}",
            self.seed,
            self.grid.len(),
            cache_path.display()
        );
        for (cell, engine) in self.grid.iter().zip(self.engines) {
            let m = self.archs_of(cell);
            let missing = engine.missing(&self.candidates[..m], self.seed).len();
            let cost = if cell.cost == 0.0 {
                "reuses the baseline's passes".to_string()
            } else {
                format!("cost ×{:.2} per arch", cell.cost)
            };
            let sample = if m < n {
                format!(" — HEAVY: on {m} of the archs, those --archs {m} draws (--heavy-archs)")
            } else {
                String::new()
            };
            eprintln!("  {:<8} {:<48} {cost}, {missing} of {m} archs to score{sample}", cell.axis, cell.label);
        }
    }

    /// Per arch, every cell; cells fed the same images share the arch's memo. A cell whose
    /// every proxy fails on an arch (e.g. an input size the network cannot take) is not tried
    /// on the rest: its first error is reported instead.
    fn score(&self, jobs: Option<usize>, cache_path: &std::path::Path) -> Result<Scored> {
        let n = self.candidates.len();
        // Score: per arch, every cell; cells fed the same images share the arch's memo.
        engine::watch_ctrl_c();
        let bar = ProgressBar::new(n as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} archs  {per_sec}  elapsed {elapsed}  ETA {eta}")
                .expect("static template"),
        );
        let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.unwrap_or(0)).build()?;
        let from_cache = AtomicUsize::new(0);
        // A cell whose every proxy fails on an arch (e.g. an input size the network cannot take)
        // is not tried on the rest: its first error is reported instead.
        let failed: Vec<std::sync::Mutex<Option<String>>> = self.grid.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let per_arch: Vec<Option<Vec<crate::engine::ArchScores>>> = pool.install(|| {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    if engine::interrupted() {
                        return None;
                    }
                    let c = &self.candidates[i];
                    let mut memos: Vec<(InputSpec, Memo)> = Vec::new();
                    let mut out = Vec::new();
                    for (j, (cell, engine)) in self.grid.iter().zip(self.engines).enumerate() {
                        let broken = failed[j].lock().map(|f| f.is_some()).unwrap_or(true);
                        if i >= self.archs_of(cell) || broken {
                            let p = engine.proxies.len();
                            out.push(crate::engine::ArchScores {
                                scores: vec![f64::NAN; p],
                                seconds: vec![0.0; p],
                                errors: Vec::new(),
                            });
                            continue;
                        }
                        let k = match memos.iter().position(|(s, _)| *s == engine.input()) {
                            Some(k) => k,
                            None => {
                                memos.push((engine.input(), Memo::new()));
                                memos.len() - 1
                            }
                        };
                        let r = engine.score_arch_with(c, self.seed, &from_cache, &memos[k].1);
                        if !r.errors.is_empty() && r.scores.iter().all(|v| v.is_nan()) {
                            let first = r.errors[0]
                                .lines()
                                .find(|l| l.contains("incompatible") || l.contains("Incompatible"))
                                .unwrap_or(&r.errors[0]);
                            let why = format!("arch {}: {}", c.label, first.trim());
                            bar.println(format!("cell {}: every proxy failed, the cell is skipped — {why}", cell.label));
                            if let Ok(mut f) = failed[j].lock() {
                                f.get_or_insert(why);
                            }
                        } else {
                            for e in &r.errors {
                                bar.println(format!("warning: arch {} ({}): {e}", c.label, cell.label));
                            }
                        }
                        out.push(r);
                    }
                    bar.inc(1);
                    Some(out)
                })
                .collect()
        });
        bar.finish_and_clear();
        let done = per_arch.iter().filter(|r| r.is_some()).count();
        if done < n {
            bail!(
                "interrupted (Ctrl-C): {done} of {n} archs scored in every cell; their scores are in {}: run the same command again to resume",
                cache_path.display()
            );
        }
        let per_arch: Vec<Vec<crate::engine::ArchScores>> = per_arch.into_iter().map(|r| r.expect("checked")).collect();
        let failed = failed.into_iter().map(|f| f.into_inner().unwrap_or(None)).collect();
        Ok((per_arch, failed))
    }

    /// Correlations per cell × proxy × accuracy column.
    fn results(
        &self,
        per_arch: &[Vec<crate::engine::ArchScores>],
        failed: &[Option<String>],
        accuracies: &[Vec<f64>],
    ) -> Vec<CellResult> {
        let mut results = Vec::new();
        for (j, (cell, engine)) in self.grid.iter().zip(self.engines).enumerate() {
            let m = self.archs_of(cell);
            let proxies: Vec<String> = engine.proxies.iter().map(|p| p.name().to_string()).collect();
            let mut scores = Vec::new();
            let mut correlations = Vec::new();
            let mut seconds = Vec::new();
            for k in 0..proxies.len() {
                let s: Vec<f64> = per_arch[..m].iter().map(|a| a[j].scores[k]).collect();
                correlations.push(accuracies.iter().map(|acc| correlate(&s, &acc[..m])).collect());
                seconds.push(per_arch[..m].iter().map(|a| a[j].seconds[k]).sum::<f64>() / m as f64);
                scores.push(s);
            }
            let why = failed[j].clone();
            results.push(CellResult {
                cell: cell.clone(),
                failed: why,
                archs: m,
                proxies,
                scores,
                correlations,
                seconds_per_arch: seconds,
            });
        }
        results
    }
}

/// A label short enough for a heatmap row.
fn short(label: &str) -> String {
    let s: String = label.chars().take(34).collect();
    if s.len() < label.len() {
        format!("{s}…")
    } else {
        s
    }
}

/// ρ [CI], or why there is none: a proxy constant over the archs (a ceiling such as SWAP's
/// 2^B, or the plain count's B) has no rank correlation.
fn rho_ci(c: &Correlation, scores: &[f64]) -> String {
    if c.spearman.is_finite() {
        return format!("{} [{}, {}]", fmt3(c.spearman), fmt3(c.spearman_ci[0]), fmt3(c.spearman_ci[1]));
    }
    let finite: Vec<f64> = scores.iter().copied().filter(|v| v.is_finite()).collect();
    match finite.first() {
        Some(&v) if finite.iter().all(|&x| x == v) && finite.len() == scores.len() => format!("constant ({v})"),
        _ => "n/a".to_string(),
    }
}

fn report(
    loaded: &swapnas_benchmarks::Loaded,
    results: &[CellResult],
    columns: &[&str],
    base: &ProxySettings,
    largest: f64,
    n: usize,
    seed: u64,
) -> String {
    let mut md = String::new();
    let proxies: Vec<String> = results[0].proxies.clone();
    let _ = writeln!(md, "# Ablation: {} — {n} archs (seed {seed})\n", loaded.name);
    let _ = writeln!(
        md,
        "One axis at a time around the baseline ({}, the first training images at the task's size, {}). \
         Every cell scores the same archs (heavy cells the subset `--archs N` would draw with the same seed, N as their `archs` column says). ρ is Spearman's against \
         each accuracy column, with its 95% bootstrap interval (1,000 resamples of the archs).\n",
        {
            let given = base.given_text();
            if given.is_empty() { "every proxy setting at its default".to_string() } else { given.join(" ") }
        },
        if base.size_prior_given() {
            let mut with_largest = base.clone();
            with_largest.largest_params = Some((largest * 1e6) as usize);
            let p = with_largest.size_prior();
            format!("size prior given on the command line: μ={}M σ={}M", p.mu, p.sigma)
        } else {
            format!("the default size prior, μ=σ={largest}M (the space's largest network)")
        }
    );
    for (key, text) in &loaded.notes {
        let _ = writeln!(md, "- {key}: {text}");
    }
    md.push('\n');
    for (a, column) in columns.iter().enumerate() {
        let _ = writeln!(md, "## ρ against {column} accuracy\n");
        let _ = writeln!(md, "| axis | setting | archs | cost × | {} |", proxies.join(" | "));
        let _ = writeln!(md, "|---|---|---:|---:|{}", "---|".repeat(proxies.len()));
        for r in results {
            let cells: Vec<String> = proxies
                .iter()
                .map(|p| match (&r.failed, r.proxies.iter().position(|q| q == p)) {
                    (Some(_), Some(_)) => "failed (below)".to_string(),
                    (None, Some(k)) => rho_ci(&r.correlations[k][a], &r.scores[k]),
                    (_, None) => "(baseline's)".to_string(),
                })
                .collect();
            let cost = if r.cell.cost == 0.0 { "0 (reuses)".to_string() } else { format!("{:.2}", r.cell.cost) };
            let blind =
                if r.cell.axis == "prior" && !r.cell.blind { " (grid: picking the best is tuning on accuracies)" } else { "" };
            let _ = writeln!(md, "| {} | {}{blind} | {} | {cost} | {} |", r.cell.axis, r.cell.label, r.archs, cells.join(" | "));
        }
        md.push('\n');
    }
    let failed: Vec<&CellResult> = results.iter().filter(|r| r.failed.is_some()).collect();
    if !failed.is_empty() {
        let _ = writeln!(
            md,
            "## Cells that could not be scored
"
        );
        for r in failed {
            let _ = writeln!(md, "- {} {}: {}", r.cell.axis, r.cell.label, r.failed.as_deref().unwrap_or(""));
        }
        md.push('\n');
    }
    md.push_str(&headline(results, columns));
    md
}

/// The headline question: does the prior-using proxy reach ρ ≥ 0.90 with a prior that sees
/// no accuracies? Only cells that were scored count, each under the prior it ran with.
fn headline(results: &[CellResult], columns: &[&str]) -> String {
    let mut md = String::new();
    // The headline question: reg-SWAP ≥ 0.90 with a prior that sees no accuracies?
    let prior_proxy = results
        .iter()
        .flat_map(|r| r.proxies.iter())
        .find(|p| results.iter().any(|r| r.cell.axis == "prior" && r.proxies.contains(p)));
    if let Some(p) = prior_proxy {
        let _ = writeln!(md, "## {p} ≥ 0.90?\n");
        for (a, column) in columns.iter().enumerate() {
            let rho = |r: &CellResult| r.proxies.iter().position(|q| q == p).map(|k| r.correlations[k][a].spearman);
            let best = |blind: bool| {
                results
                    .iter()
                    .filter(|r| r.failed.is_none() && r.cell.blind == blind)
                    .filter_map(|r| rho(r).filter(|v| v.is_finite()).map(|v| (v, r)))
                    .max_by(|x, y| x.0.total_cmp(&y.0))
            };
            match best(true) {
                Some((v, r)) if v >= 0.90 => {
                    let _ = writeln!(
                        md,
                        "- against {column}: **yes** — {} {} reaches {} with a prior that sees no accuracies.",
                        r.cell.axis,
                        r.cell.label,
                        fmt3(v)
                    );
                }
                Some((v, r)) => {
                    let _ = writeln!(
                        md,
                        "- against {column}: **no** setting with an accuracy-blind prior reaches 0.90; the closest is {} {} at {} ({} short).",
                        r.cell.axis,
                        r.cell.label,
                        fmt3(v),
                        fmt3(0.90 - v)
                    );
                }
                None => {}
            }
            if let Some((v, r)) = best(false) {
                let _ = writeln!(
                    md,
                    "  - best grid prior (chosen by looking at accuracy, so an upper bound, not a result): {} at {}.",
                    r.cell.label,
                    fmt3(v)
                );
            }
        }
        md.push('\n');
    }
    md
}

fn csv(results: &[CellResult], columns: &[&str]) -> String {
    let mut out = String::from("axis,setting,archs,cost,proxy,accuracy,spearman,ci_lo,ci_hi,kendall,seconds_per_arch\n");
    for r in results {
        for (k, p) in r.proxies.iter().enumerate() {
            for (a, column) in columns.iter().enumerate() {
                let c = &r.correlations[k][a];
                let _ = writeln!(
                    out,
                    "{},\"{}\",{},{},{p},{column},{},{},{},{},{}",
                    r.cell.axis,
                    r.cell.label.replace('"', "'"),
                    r.archs,
                    r.cell.cost,
                    c.spearman,
                    c.spearman_ci[0],
                    c.spearman_ci[1],
                    c.kendall,
                    r.seconds_per_arch[k]
                );
            }
        }
    }
    out
}

/// `cells/<nn>-<axis>/scores.csv`: each cell's per-arch scores beside params and accuracies.
fn write_cell_scores(
    outputs: &Outputs,
    results: &[CellResult],
    candidates: &[Candidate],
    sizes: &[f64],
    accuracies: &[Vec<f64>],
    columns: &[&str],
) -> Result<()> {
    for (j, r) in results.iter().enumerate() {
        let cell_dir = format!("cells/{j:02}-{}", r.cell.axis);
        let mut out =
            format!("# {}: {}\narch,params_m,{},{}\n", r.cell.axis, r.cell.label, columns.join(","), r.proxies.join(","));
        for i in 0..r.archs {
            let acc: Vec<String> = accuracies.iter().map(|a| swapnas_benchmarks::space::source_number(a[i])).collect();
            let s: Vec<String> = r.scores.iter().map(|s| s[i].to_string()).collect();
            let _ = writeln!(out, "{},{},{},{}", csv_field(&candidates[i].label), sizes[i], acc.join(","), s.join(","));
        }
        outputs.write(&format!("{cell_dir}/scores.csv"), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headline counts a cell as accuracy-blind by the prior it ran with (a baseline run
    /// under `--reg-mu` is not), and never counts a cell that could not be scored.
    #[test]
    fn headline_counts_only_scored_cells_with_a_blind_prior() {
        let acc: Vec<f64> = (0..20).map(f64::from).collect();
        let perfect = correlate(&acc, &acc);
        let weak = correlate(&acc.iter().map(|v| (v * 7.0) % 5.0).collect::<Vec<_>>(), &acc);
        let result = |axis: &'static str, label: &str, blind: bool, failed: Option<&str>, c: Correlation| CellResult {
            cell: Cell {
                axis,
                label: label.to_string(),
                settings: ProxySettings::default(),
                input: InputSpec::default(),
                proxies: "p".into(),
                cost: 1.0,
                blind,
            },
            failed: failed.map(str::to_string),
            archs: acc.len(),
            proxies: vec!["p".into()],
            scores: vec![acc.clone()],
            correlations: vec![vec![c]],
            seconds_per_arch: vec![0.0],
        };
        let results = vec![
            // The baseline under --reg-mu 1 (a number someone chose) reaches 1.0 ...
            result("baseline", "batch=16 repeats=32", false, None, perfect),
            // ... a blind cell that failed "reaches" 1.0 ...
            result("prior", "μ=σ=0.5M (median size of the sample)", true, Some("incompatible shapes"), perfect),
            // ... and the one blind cell that was scored is weak.
            result("prior", "μ=σ=1.5M (largest network, the default)", true, None, weak),
        ];
        let md = headline(&results, &["val"]);
        assert!(md.contains("**no** setting with an accuracy-blind prior"), "{md}");
        assert!(!md.contains("**yes**"), "{md}");
        assert!(md.contains("largest network"), "the closest blind cell is the scored one: {md}");
    }

    #[test]
    fn prior_tokens() {
        let sizes = [0.1, 0.4, 1.0];
        assert_eq!(parse_prior("largest", 1.5, &sizes).unwrap().0, None);
        assert_eq!(parse_prior("median", 1.5, &sizes).unwrap().0, Some((0.4, 0.4)));
        assert_eq!(parse_prior("mean", 1.5, &sizes).unwrap().0, Some((0.5, 0.5)));
        let (k, label, blind) = parse_prior("1500K", 1.5, &sizes).unwrap();
        assert_eq!(k, Some((1.5, 0.0015)));
        assert!(label.contains("in K") && !blind);
        assert_eq!(parse_prior("2:3", 1.5, &sizes).unwrap().0, Some((2.0, 3.0)));
        assert!(parse_prior("0", 1.5, &sizes).is_err());
        assert!(parse_prior("wide", 1.5, &sizes).unwrap_err().to_string().contains("largest, median, mean"));
    }
}
