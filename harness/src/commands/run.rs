//! The default command: score one benchmark task, correlate with accuracy, write the table,
//! the per-arch scores and the plots.

use crate::cli::{CacheArgs, ExecArgs, InputArgs, ProxyArgs, SampleArgs, SetArgs, TaskArgs};
use crate::engine::{ArchScores, Engine, ProxyPlan, Setup, Target};
use crate::outputs::{self, Outputs};
use anyhow::Result;
use clap::Args;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;
use swapnas_benchmarks::space::{AccuracyColumn, Request};
use swapnas_benchmarks::DataDir;
use swapnas_reports::combine::{fit_out_of_fold, Learner, LearnerFit};
use swapnas_reports::parquet::{write_scores, write_table, ScoreRow};
use swapnas_reports::plot::{bar_chart, scatter, Bar, ScatterPanel};
use swapnas_reports::stats::{rank_ensemble, EnsembleRule};
use swapnas_reports::table::csv_field;
use swapnas_reports::{correlate, Correlation, CorrelationTable, TableRow};

/// The default command: score a benchmark task and write its tables and plots.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub set: SetArgs,
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

    /// Accuracy to correlate against: `val` (200-epoch validation, as Suite-Zero) or, where the
    /// table has it, `test` (nb201: NATS-Bench) [default: the task's first column, val].
    #[arg(long)]
    pub accuracy: Option<String>,

    /// Also report a fitted combination of the run's proxies (greedy member choice,
    /// least-squares weights of normalised ranks), its ρ out of fold only: K-fold over archs
    /// with --seed.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(2..))]
    pub fitted: Option<u64>,

    /// Few-shot prediction: for each K, K archs drawn at random are labelled, a combination of
    /// the run's proxies is fitted on them alone (as --fitted's folds) and ranks the rest; ρ and
    /// τ are taken on the unlabelled rest only, over --few-shot-seeds draws (mean ± sd), beside
    /// the run's label-free ensembles on the same archs. Writes few_shot.md / .csv.
    #[arg(long, value_name = "K,…", value_delimiter = ',', value_parser = clap::value_parser!(u64).range(3..))]
    pub few_shot: Vec<u64>,

    /// Draws per K for --few-shot (seeds --seed, --seed + 1, …).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub few_shot_seeds: u64,

    /// The learners --few-shot fits, each on the same labelled archs: `greedy` (greedy member
    /// choice, least-squares weights, as --fitted), `gp` (a Gaussian process on every member;
    /// constant × RBF + white noise, hyperparameters by marginal likelihood) and `gp_graph` (the
    /// same GP on every member and the space's graph features, where the space declares them)
    /// [default: greedy,gp, and gp_graph where the space declares graph features].
    #[arg(long, value_name = "L,…", value_delimiter = ',', value_parser = parse_learner)]
    pub few_shot_learners: Vec<Learner>,

    /// Score only shard I of N of the arch sample (archs I, I+N, I+2N, … of the same sample
    /// as without --shard; 1-based), into its own cache [default out:
    /// results/<run>/shard-I-of-N]; `swapnas merge` joins the shards.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// List the registered proxies (each with its settings' flags), ensembles and search spaces, and exit.
    #[arg(long)]
    pub list_proxies: bool,
}

/// A run, resolved and validated.
#[derive(Clone)]
pub struct RunConfig {
    pub target: Target,
    pub accuracy: &'static AccuracyColumn,
    pub archs: Option<usize>,
    pub seed: u64,
    pub plan: ProxyPlan,
    pub input: crate::engine::InputSpec,
    /// None: `results/<run name>`.
    pub out: Option<PathBuf>,
    pub data: DataDir,
    pub device: String,
    pub jobs: Option<usize>,
    pub cache: bool,
    /// One network per same-function class for the proxies that allow it (`--no-dedup`).
    pub dedup: bool,
    /// How rank ensembles combine ranks.
    pub rule: EnsembleRule,
    /// `--fitted K`: also a fitted combination of the proxies, K-fold out of fold.
    pub fit_folds: Option<usize>,
    /// `--few-shot K,…` with `--few-shot-seeds N` and `--few-shot-learners`.
    pub few_shot: FewShot,
    /// `--shard I/N`: score only archs I, I+N, … (1-based) of the sample.
    pub shard: Option<(usize, usize)>,
    /// Take every score from the cache and compute none (`merge`): a missing score is an error
    /// naming the archs.
    pub cache_only: bool,
}

/// Few-shot prediction's plan: labels per draw (none: no few-shot report), draws, learners.
#[derive(Clone, Debug, Default)]
pub struct FewShot {
    pub ks: Vec<usize>,
    pub draws: usize,
    pub learners: Vec<Learner>,
}

fn parse_learner(text: &str) -> Result<Learner, String> {
    Learner::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Learner::ALL.iter().map(|l| l.name()).collect();
        format!("`{text}` is not a few-shot learner; the learners are {}", names.join(", "))
    })
}

/// `--few-shot-learners` as given, checked against the space (a learner that reads graph
/// features needs a space that declares them), or the default: `greedy`, `gp`, and `gp_graph`
/// where the space declares graph features.
fn few_shot_learners(target: &Target, given: &[Learner]) -> Result<Vec<Learner>> {
    let has_graph = target.space.graph_features().is_some();
    if given.is_empty() {
        return Ok(Learner::ALL.into_iter().filter(|l| has_graph || !l.needs_graph()).collect());
    }
    if let Some(l) = given.iter().find(|l| l.needs_graph() && !has_graph) {
        let others: Vec<&str> = Learner::ALL.iter().filter(|l| !l.needs_graph()).map(|l| l.name()).collect();
        anyhow::bail!(
            "--few-shot-learners {}: --bench {} declares no graph features for it to read; use {} (or a space that declares them, e.g. nb201)",
            l.name(),
            target.space.name(),
            others.join(" or ")
        );
    }
    Ok(given.to_vec())
}

/// `--shard I/N` → (I, N), 1 ≤ I ≤ N.
pub fn parse_shard(text: &str) -> Result<(usize, usize)> {
    let parsed = text.split_once('/').and_then(|(i, n)| Some((i.trim().parse::<usize>().ok()?, n.trim().parse::<usize>().ok()?)));
    match parsed {
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok((i, n)),
        _ => anyhow::bail!("--shard is I/N with 1 ≤ I ≤ N (e.g. --shard 2/8 for the second of 8 shards), got `{text}`"),
    }
}

impl RunConfig {
    pub fn resolve(args: &RunArgs) -> Result<Self> {
        let target = crate::spec::target(&args.task, Some(&args.set))?;
        let accuracy = target.accuracy(args.accuracy.as_deref())?;
        let plan = crate::spec::plan(&args.proxies)?;
        Ok(Self {
            target,
            accuracy,
            archs: args.sample.archs,
            seed: args.sample.seed,
            plan,
            input: crate::spec::input(&args.input)?,
            out: args.exec.out.clone(),
            data: crate::engine::locate_data(args.exec.data_dir.as_deref())?,
            device: args.exec.device.clone(),
            jobs: args.exec.jobs,
            cache: !args.cache.no_cache,
            dedup: !args.cache.no_dedup,
            rule: args.proxies.ensemble.rule(),
            fit_folds: args.fitted.map(|k| k as usize),
            few_shot: FewShot {
                ks: args.few_shot.iter().map(|&k| k as usize).collect(),
                draws: args.few_shot_seeds as usize,
                learners: few_shot_learners(&target, &args.few_shot_learners)?,
            },
            shard: args.shard.as_deref().map(parse_shard).transpose()?,
            cache_only: false,
        })
    }
}

pub fn run(args: &RunArgs) -> Result<()> {
    if args.list_proxies {
        for d in swapnas_proxies::REGISTRY {
            let flags: Vec<String> = d.settings.iter().map(|s| s.flag()).collect();
            let flags = if flags.is_empty() { String::new() } else { format!(" [{}]", flags.join(" ")) };
            let class = if d.function_only { " (one network per same-function class)" } else { "" };
            println!("{:<16} {}{flags}{class}", d.name, d.about);
        }
        for e in swapnas_proxies::ENSEMBLES {
            println!("{:<16} {} (rank ensemble of {})", e.name, e.about, e.members.join("+"));
        }
        println!();
        for s in swapnas_benchmarks::spaces::registry() {
            let tasks: Vec<&str> = s.tasks().iter().map(|t| t.name).collect();
            let classes = s.function_classes().map_or(String::new(), |n| format!("; {n} same-function classes"));
            println!("--bench {:<12} {} (tasks: {}{classes})", s.name(), s.about(), tasks.join(", "));
        }
        return Ok(());
    }
    // `--task all`: every task of the space, one after another, each in its own folder.
    if args.task.task.as_deref() == Some("all") {
        let space = swapnas_benchmarks::spaces::find(&args.task.bench)?;
        for task in space.tasks() {
            let mut one = args.clone();
            one.task.task = Some(task.name.to_string());
            one.exec.out = args.exec.out.as_ref().map(|o| o.join(task.name));
            let table = run_task(&RunConfig::resolve(&one)?)?;
            println!("{}", table.to_markdown());
        }
        return Ok(());
    }
    let config = RunConfig::resolve(args)?;
    let table = run_task(&config)?;
    println!("{}", table.to_markdown());
    Ok(())
}

/// Scores one benchmark task as `config` says, writes its outputs into the output directory
/// and returns its correlation table.
pub fn run_task(config: &RunConfig) -> Result<CorrelationTable> {
    let started = Instant::now();
    let scored = score_task(config, None)?;
    let ScoredTask { loaded, engine, outputs, results, accuracies, rows, columns } = &scored;
    if !config.few_shot.ks.is_empty() {
        let graph = graph_columns(config, loaded)?;
        let report = few_shot_report(config, rows, columns, &graph, accuracies, engine.proxies.len());
        outputs.write("few_shot.md", &report.0)?;
        outputs.write("few_shot.csv", &report.1)?;
        println!("{}", report.0);
    }
    let written = Written { outputs, loaded, engine, results, accuracies };
    written.write(config, scored.rows.clone(), columns, started.elapsed().as_secs_f64())
}

/// A scored task: the candidates, the engine, the run's output directory (its score cache),
/// the per-arch results, and the table's rows with their score columns (proxies, then
/// ensembles and the fitted combination).
pub struct ScoredTask {
    pub loaded: swapnas_benchmarks::Loaded,
    pub engine: Engine,
    pub outputs: Outputs,
    pub results: Vec<ArchScores>,
    pub accuracies: Vec<f64>,
    pub rows: Vec<TableRow>,
    pub columns: Vec<Vec<f64>>,
}

/// Loads, scores (through the cache) and ranks one task as `config` says, writing nothing
/// but score-cache lines (and the shard manifest). `archs`: exactly these archs of the table,
/// in this order (any encoding the space parses), instead of `--archs`' sample.
pub fn score_task(config: &RunConfig, archs: Option<&[String]>) -> Result<ScoredTask> {
    let Target { space, task, set } = config.target;
    let request = Request {
        task,
        set,
        archs: if archs.is_some() { Some(0) } else { config.archs },
        seed: config.seed,
        accuracy: config.accuracy,
        largest: config.plan.needs_largest(),
    };
    let mut loaded = crate::engine::load(space, &request, &config.data)?;
    if let Some(archs) = archs {
        loaded.candidates = crate::engine::pick(space, task, loaded.candidates, archs)?;
    }
    let sample_size = loaded.candidates.len();
    if let Some((k, n)) = config.shard {
        loaded.candidates = loaded.candidates.into_iter().enumerate().filter(|(i, _)| i % n == k - 1).map(|(_, c)| c).collect();
    }
    let out_dir = config.out.clone().unwrap_or_else(|| {
        let run = outputs::results(&loaded.name);
        match config.shard {
            Some((k, n)) => run.join(format!("shard-{k}-of-{n}")),
            None => run,
        }
    });
    let outputs = Outputs::create(&out_dir)?;
    let cache_path = outputs.path(outputs::SCORES);
    let engine = Engine::prepare(Setup {
        run_name: &loaded.name,
        task,
        plan: &config.plan,
        largest_params: loaded.largest_params,
        input: config.input,
        min_images: 1,
        device: &config.device,
        jobs: config.jobs,
        cache: config.cache.then_some(cache_path.as_path()),
        data: &config.data,
        dedup: config.dedup,
    })?;
    let n = loaded.candidates.len();
    let names: Vec<&str> = engine.proxies.iter().map(|p| p.name()).collect();
    eprintln!(
        "swapnas: {} — {n} archs (seed {}), proxies {}, images per arch {}, images: {}, data: {}",
        loaded.name,
        config.seed,
        names.join(","),
        engine.images_per_proxy(),
        task.images.resolve(&config.data).name(),
        crate::engine::data_text(&config.data)
    );
    if config.cache_only {
        let missing = engine.missing(&loaded.candidates, config.seed);
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
            anyhow::bail!(
                "{} of the {} archs have no cached score for every proxy (e.g. {}): score them first — rerun the shards that hold them with the same flags, or run without sharding",
                missing.len(),
                loaded.candidates.len(),
                shown.join(", ")
            );
        }
    }
    let results = engine.score_all(&loaded.candidates, config.seed)?;
    if let Some((k, n)) = config.shard {
        let manifest = serde_json::json!({
            "shard": k,
            "of": n,
            "archs_in_shard": loaded.candidates.len(),
            "archs_in_sample": sample_size,
            "argv": std::env::args().skip(1).collect::<Vec<_>>(),
            "run": loaded.name,
        });
        outputs.write_json("shard.json", &manifest)?;
        eprintln!(
            "shard {k}/{n}: {} of the sample's {sample_size} archs; merge the shards with `swapnas merge <shard dirs>`",
            loaded.candidates.len()
        );
    }
    let accuracies: Vec<f64> = loaded.candidates.iter().map(|c| c.accuracy).collect();
    let (rows, columns) = derive_columns(&engine, config, &results, &accuracies);
    Ok(ScoredTask { loaded, engine, outputs, results, accuracies, rows, columns })
}

/// The space's graph features of every candidate, per feature a column (empty when no learner
/// of the run reads them), with their names.
fn graph_columns(config: &RunConfig, loaded: &swapnas_benchmarks::Loaded) -> Result<(Vec<&'static str>, Vec<Vec<f64>>)> {
    let declared = config.target.space.graph_features();
    let (Some(features), true) = (declared, config.few_shot.learners.iter().any(|l| l.needs_graph())) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let mut columns = vec![Vec::with_capacity(loaded.candidates.len()); features.names.len()];
    for c in &loaded.candidates {
        let values = (features.compute)(&c.label)?;
        anyhow::ensure!(
            values.len() == columns.len(),
            "--bench {} computed {} graph features for `{}` but declares {}",
            config.target.space.name(),
            values.len(),
            c.label,
            columns.len()
        );
        columns.iter_mut().zip(values).for_each(|(col, v)| col.push(v));
    }
    Ok((features.names.to_vec(), columns))
}

/// `--few-shot`: per K and learner, the draws' ρ and τ on the unlabelled archs (mean ± sd), what
/// the fits chose, and each label-free ensemble of the run on the same archs. Markdown and CSV.
fn few_shot_report(
    config: &RunConfig,
    rows: &[TableRow],
    columns: &[Vec<f64>],
    (graph_names, graph): &(Vec<&'static str>, Vec<Vec<f64>>),
    accuracies: &[f64],
    single: usize,
) -> (String, String) {
    use swapnas_reports::combine::{few_shot, mean_sd};
    use swapnas_reports::stats::spearman_rho;
    let plan = &config.few_shot;
    let usable: Vec<usize> = (0..single).filter(|&m| rows[m].not_applicable.is_none()).collect();
    let members: Vec<Vec<f64>> = usable.iter().map(|&m| columns[m].clone()).collect();
    let ensembles: Vec<usize> =
        (single..rows.len()).filter(|&m| rows[m].not_applicable.is_none() && rows[m].proxy != "fitted").collect();
    let seeds: Vec<u64> = (0..plan.draws as u64).map(|i| config.seed + i).collect();
    let n = accuracies.len();
    let learners: Vec<String> = plan.learners.iter().map(|l| format!("`{}` ({})", l.name(), l.about())).collect();
    let graph_text = match graph_names.len() {
        0 => String::new(),
        g => format!(" The space's graph features ({g}, no label read): {}.", graph_names.join(", ")),
    };
    let mut md = format!(
        "## Few-shot prediction ({n} archs; each draw labels K archs at random and is scored on the other n − K only; {} draws, seeds {}…)\n\n\
         Candidates: {}. Learners, each on the same labelled archs: {}.{graph_text} ρ/τ: mean ± sd over draws.\n\n| K | learner | ρ | τ | fit (draws) |",
        plan.draws,
        config.seed,
        usable.iter().map(|&m| rows[m].proxy.as_str()).collect::<Vec<_>>().join(", "),
        learners.join("; ")
    );
    let mut csv = String::from("k,learner,draws,unlabelled,rho_mean,rho_sd,tau_mean,tau_sd");
    for &e in &ensembles {
        md.push_str(&format!(" {} ρ, same archs |", rows[e].proxy));
        csv.push_str(&format!(",{}_rho_mean,{}_rho_sd", rows[e].proxy, rows[e].proxy));
    }
    md.push_str(&format!("\n|---:|---|---:|---:|---|{}\n", "---:|".repeat(ensembles.len())));
    csv.push('\n');
    for &k in &plan.ks {
        // Every learner labels the same archs for a seed, so the ensembles' ρ on the unlabelled
        // rest is taken once per K.
        let mut on_rest: Option<Vec<(f64, f64)>> = None;
        for &learner in &plan.learners {
            let found = few_shot(&members, graph, accuracies, k, &seeds, learner);
            if found.is_empty() {
                md.push_str(&format!(
                    "| {k} | {} | — (needs 3 ≤ K < {n}) | | |{}\n",
                    learner.name(),
                    " |".repeat(ensembles.len())
                ));
                continue;
            }
            let (rho, rho_sd) = mean_sd(&found.iter().map(|d| d.rho).collect::<Vec<_>>());
            let (tau, tau_sd) = mean_sd(&found.iter().map(|d| d.tau).collect::<Vec<_>>());
            md.push_str(&format!(
                "| {k} | {} | {rho:.3} ± {rho_sd:.3} | {tau:.3} ± {tau_sd:.3} | {} |",
                learner.name(),
                fits_text(found.iter().map(|d| &d.fit), &usable, rows, if learner.needs_graph() { graph.len() } else { 0 })
                    + &constant_text(found.iter().filter(|d| d.constant).count())
            ));
            csv.push_str(&format!("{k},{},{},{},{rho},{rho_sd},{tau},{tau_sd}", learner.name(), found.len(), n - k));
            let ensembles_on_rest = on_rest.get_or_insert_with(|| {
                ensembles
                    .iter()
                    .map(|&e| {
                        let rhos: Vec<f64> = found
                            .iter()
                            .map(|d| {
                                let rest: Vec<usize> = (0..n).filter(|i| d.labelled.binary_search(i).is_err()).collect();
                                spearman_rho(
                                    &rest.iter().map(|&i| columns[e][i]).collect::<Vec<_>>(),
                                    &rest.iter().map(|&i| accuracies[i]).collect::<Vec<_>>(),
                                )
                            })
                            .collect();
                        mean_sd(&rhos)
                    })
                    .collect()
            });
            for &(m, sd) in ensembles_on_rest.iter() {
                md.push_str(&format!(" {m:.3} ± {sd:.3} |"));
                csv.push_str(&format!(",{m},{sd}"));
            }
            md.push('\n');
            csv.push('\n');
        }
    }
    (md, csv)
}

/// The greedy fits' chosen members (with how many draws chose each), or the GP fits'
/// median length scale and noise ratio.
fn fits_text<'a>(fits: impl Iterator<Item = &'a LearnerFit>, usable: &[usize], rows: &[TableRow], graph: usize) -> String {
    let (mut greedy, mut gp) = (Vec::new(), Vec::new());
    for f in fits {
        match f {
            LearnerFit::Greedy(f) => greedy.push(f),
            LearnerFit::Gp(f) => gp.push(*f),
        }
    }
    let mut parts: Vec<String> =
        swapnas_reports::combine::chosen_counts(greedy).iter().map(|&(m, c)| format!("{} {c}", rows[usable[m]].proxy)).collect();
    if !gp.is_empty() {
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        parts.push(format!(
            "all members{}; median ℓ {:.3}, noise/signal {:.3}",
            if graph > 0 { format!(" and {graph} graph features") } else { String::new() },
            median(gp.iter().map(|f| f.length_scale).collect()),
            median(gp.iter().map(|f| f.noise_ratio).collect())
        ));
    }
    parts.join(", ")
}

/// How many draws' fits scored every unlabelled arch alike (counted at ρ = τ = 0), if any.
fn constant_text(draws: usize) -> String {
    match draws {
        0 => String::new(),
        1 => "; 1 draw scored every unlabelled arch alike (ρ 0)".to_string(),
        n => format!("; {n} draws scored every unlabelled arch alike (ρ 0)"),
    }
}

/// Every proxy's scores with their correlation rows, then the derived columns: rank ensembles
/// and the fitted combination (out of fold).
fn derive_columns(
    engine: &Engine,
    config: &RunConfig,
    results: &[ArchScores],
    accuracies: &[f64],
) -> (Vec<TableRow>, Vec<Vec<f64>>) {
    let n = results.len();
    let mut rows = Vec::new();
    let mut columns = Vec::new();
    for (k, p) in engine.proxies.iter().enumerate() {
        let scores: Vec<f64> = results.iter().map(|r| r.scores[k]).collect();
        let seconds = results.iter().map(|r| r.seconds[k]).sum::<f64>() / n.max(1) as f64;
        let not_applicable = engine.not_applicable[k].clone();
        let correlation = match not_applicable {
            None => correlate(&scores, accuracies),
            Some(_) => Correlation::not_computed(n),
        };
        rows.push(TableRow {
            proxy: p.name().to_string(),
            settings: p.settings(),
            correlation,
            seconds_per_arch: seconds,
            not_applicable,
        });
        columns.push(scores);
    }
    let single = rows.len();
    for ensemble in &config.plan.ensembles {
        let name = &ensemble.name;
        let members = &ensemble.members_used(|m| rows[m].not_applicable.is_some());
        let left_out: Vec<&str> =
            ensemble.members.iter().filter(|m| !members.contains(m)).map(|&m| rows[m].proxy.as_str()).collect();
        let mut members_text = members.iter().map(|&m| rows[m].proxy.as_str()).collect::<Vec<_>>().join(", ");
        if !left_out.is_empty() {
            members_text.push_str(&format!(" (n/a here: {})", left_out.join(", ")));
        }
        let not_applicable =
            members.iter().find_map(|&m| rows[m].not_applicable.clone().map(|why| format!("{}: {why}", rows[m].proxy)));
        let scores = match not_applicable {
            None => rank_ensemble(&members.iter().map(|&m| columns[m].clone()).collect::<Vec<_>>(), config.rule),
            Some(_) => vec![f64::NAN; n],
        };
        rows.push(TableRow {
            proxy: name.clone(),
            settings: format!("rank ensemble of {members_text}: {} within the {n} archs", config.rule.name()),
            correlation: if not_applicable.is_none() { correlate(&scores, accuracies) } else { Correlation::not_computed(n) },
            seconds_per_arch: members.iter().map(|&m| rows[m].seconds_per_arch).sum(),
            not_applicable,
        });
        columns.push(scores);
    }
    if let Some(k) = config.fit_folds {
        let usable: Vec<usize> = (0..single).filter(|&m| rows[m].not_applicable.is_none()).collect();
        let fitted = fit_out_of_fold(&usable.iter().map(|&m| columns[m].clone()).collect::<Vec<_>>(), accuracies, k, config.seed);
        let chosen: Vec<String> = fitted
            .chosen()
            .iter()
            .map(|&(m, folds)| format!("{} {folds}/{}", rows[usable[m]].proxy, fitted.folds.len()))
            .collect();
        rows.push(TableRow {
            proxy: "fitted".to_string(),
            settings: format!(
                "least-squares weights of normalised ranks, greedy member choice, ρ out of fold only ({k}-fold over archs, seed {}); chosen in folds: {}",
                config.seed,
                chosen.join(", ")
            ),
            correlation: correlate(&fitted.scores, accuracies),
            seconds_per_arch: usable.iter().map(|&m| rows[m].seconds_per_arch).sum(),
            not_applicable: None,
        });
        columns.push(fitted.scores);
    }

    (rows, columns)
}

/// What a run writes its outputs from.
struct Written<'a> {
    outputs: &'a Outputs,
    loaded: &'a swapnas_benchmarks::Loaded,
    engine: &'a Engine,
    results: &'a [ArchScores],
    accuracies: &'a [f64],
}

impl Written<'_> {
    /// scores.csv, the table (md/csv/json/tex/Parquet), scores.parquet and the plots.
    fn write(&self, config: &RunConfig, rows: Vec<TableRow>, columns: &[Vec<f64>], wall: f64) -> Result<CorrelationTable> {
        let Written { outputs, loaded, engine, results, accuracies } = *self;
        let out_dir = outputs.dir();
        let n = results.len();
        let Target { space, task, .. } = config.target;
        // Per-arch scores.
        let names: Vec<&str> = rows.iter().map(|r| r.proxy.as_str()).collect();
        let mut csv = String::new();
        // same_function_as: the arch whose network the proxies that depend only on the
        // computation scored for this one (its same-function class's representative), if not
        // its own.
        let _ = writeln!(csv, "arch,{},same_function_as,accuracy,{},errors", loaded.column_names.join(","), names.join(","));
        for (i, (c, r)) in loaded.candidates.iter().zip(results).enumerate() {
            let scores: Vec<String> = columns.iter().map(|col| col[i].to_string()).collect();
            let extra: Vec<_> = c.columns.iter().map(|v| csv_field(v)).collect();
            let scored_as = engine.scored_as(c).unwrap_or("");
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                csv_field(&c.label),
                extra.join(","),
                csv_field(scored_as),
                swapnas_benchmarks::space::source_number(c.accuracy),
                scores.join(","),
                csv_field(&r.errors.join("; "))
            );
        }
        outputs.write("scores.csv", &csv)?;

        let mut header = vec![
            ("benchmark".to_string(), loaded.name.clone()),
            ("accuracy".to_string(), loaded.accuracy_label.clone()),
            ("architectures".to_string(), format!("{n}, uniform sample without replacement, seed {}", config.seed)),
            ("images".to_string(), engine.input_text.clone()),
            ("images per arch".to_string(), engine.images_per_proxy()),
            ("device".to_string(), engine.device_name.clone()),
            ("wall time".to_string(), format!("{wall:.1} s")),
        ];
        if let Some(prior) = engine.prior_text() {
            header.push(("size prior".to_string(), prior));
        }
        if let Some(text) = engine.same_function_text(space.function_classes(), &loaded.candidates) {
            header.push(("distinct computations".to_string(), text));
        }
        header.extend(loaded.notes.iter().cloned());
        header.push(("data".to_string(), crate::engine::data_text(&config.data)));
        let failed = results.iter().filter(|r| !r.errors.is_empty()).count();
        if failed > 0 {
            header.push((
                "failures".to_string(),
                format!("{failed} archs had a proxy fail; their scores are NaN (see scores.csv)"),
            ));
        }
        let table = CorrelationTable { title: format!("{} — proxy vs accuracy", loaded.name), header, rows };
        table.write_all(out_dir, "table")?;
        // Parquet: one row per arch × proxy, and the table.
        let mut parquet_rows = Vec::new();
        for (k, row) in table.rows.iter().enumerate() {
            for (i, (c, r)) in loaded.candidates.iter().zip(results).enumerate() {
                let own = k < engine.proxies.len();
                parquet_rows.push(ScoreRow {
                    arch: c.label.clone(),
                    proxy: row.proxy.clone(),
                    settings: row.settings.clone(),
                    seed: own.then(|| crate::engine::arch_seed(config.seed, engine.scored_label(k, c))),
                    score: columns[k][i],
                    seconds: own.then(|| r.seconds[k]),
                    accuracy: c.accuracy,
                });
            }
        }
        write_scores(&out_dir.join("scores.parquet"), space.name(), task.name, &parquet_rows)?;
        write_table(&out_dir.join("table.parquet"), &table)?;
        let ran: Vec<usize> = (0..table.rows.len()).filter(|&k| table.rows[k].not_applicable.is_none()).collect();
        let panels: Vec<ScatterPanel> = ran
            .iter()
            .map(|&k| {
                let row = &table.rows[k];
                ScatterPanel { proxy: &row.proxy, scores: &columns[k], accuracies, spearman: row.correlation.spearman }
            })
            .collect();
        scatter(&out_dir.join("scatter"), &table.title, &loaded.accuracy_label, &panels)?;
        let bars: Vec<Bar> = ran
            .iter()
            .map(|&k| {
                let r = &table.rows[k];
                Bar { label: r.proxy.clone(), value: r.correlation.spearman, interval: r.correlation.spearman_ci }
            })
            .collect();
        let rho_label = format!("Spearman ρ with {}", loaded.accuracy_label);
        bar_chart(&out_dir.join("rho"), &format!("{}: ρ with 95% bootstrap CI", loaded.name), &rho_label, &bars)?;
        eprintln!(
            "wrote {} (table.md/.csv/.json/.tex/.parquet, scores.csv/.parquet, scatter.png/.svg, rho.png/.svg)",
            out_dir.display()
        );
        Ok(table)
    }
}
