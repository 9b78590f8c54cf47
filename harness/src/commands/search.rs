//! `swapnas search`: architecture search with a training-free fitness — one proxy, or a rank
//! ensemble of several — over a space's genome ([`swapnas_benchmarks::genome`]).
//!
//! Algorithms:
//! * `evolution` — SWAP-NAS's (Peng et al., ICLR 2024, Algorithm 1 as described: a population
//!   scored at initialisation; each cycle samples S members, the parent is the best of them or
//!   the uniform crossover of the best two (probability ½ each), M one-gene mutations of the
//!   parent are scored, the best child joins and the population's worst is removed). The paper
//!   does not publish P, S, M or its crossover operator; ours are flags (defaults P = 10,
//!   S = 3, M = 1; uniform crossover).
//! * `aging` — regularised evolution (Real et al., AAAI 2019) as NAS-Bench-201's REA runs it:
//!   S members sampled with replacement, the best is mutated (one op), the child joins and the
//!   oldest member is removed.
//! * `random` — N uniformly random archs (NASWOT-style baseline).
//! * `robot`, `hnas` — RoBoT (ICLR 2024) and HNAS (NeurIPS 2022), [`crate::searches`]: they
//!   rank a scored pool of archs (`--pool`) with their own training-free metrics and spend a
//!   budget of queried accuracies (`--queries`, the space's table of briefly trained
//!   accuracies, [`swapnas_benchmarks::space::QueryTable`]) through an explicit oracle; the
//!   report counts the queries and their simulated training seconds beside proxy seconds.
//! * `pdns` — MTF-PDNS: multi-objective novelty search over SynFlow, Jacob_cov, SNIP and
//!   FLOPs, accuracy-blind; its result is a Pareto archive, judged by hypervolume and IGD+
//!   against the space's true front (read after the search).
//!
//! Every algorithm returns the best-fitness arch of all it evaluated. The budget counts
//! evaluations (a child equal to an arch already evaluated counts, and reuses its score).
//! The search sees only fitness (and, for RoBoT and HNAS, the oracle's queried accuracies): it
//! builds networks from genes and never opens the space's table; accuracies are read
//! afterwards, for the report only.

use clap::Args;
use crate::outputs::{self, Outputs};
use crate::cli::{CacheArgs, EnsembleArg, ExecArgs, InputArgs, SettingArgs, TaskArgs};
use crate::engine::{Engine, ProxyPlan, Setup, Target};
use crate::searches::oracle::Oracle;
use crate::searches::{pool_genes, Pool};
use anyhow::{bail, Context, Result};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use swapnas_benchmarks::genome::Genome;
use swapnas_benchmarks::space::{param_count, QueryTable, Request};
use swapnas_benchmarks::{DataDir, SearchSpace, Task};
use swapnas_proxies::derive_seed;
use swapnas_reports::plot::{lines, LinePanel, Series};
use swapnas_reports::stats::{mean_sd, rank_ensemble, EnsembleRule};

/// Search a space for architectures with a training-free fitness (one proxy, or a rank
/// ensemble a+b+c): SWAP-NAS's evolution, aging evolution or random search, K seeded runs
/// each; the search never reads accuracies — the report looks the found archs up in the
/// table afterwards (accuracy on every task, rank in the space, optimum).
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub task: TaskArgs,

    /// Fitness: a proxy (see --list-proxies), or a rank ensemble of several written a+b+c.
    #[arg(long, default_value = swapnas_proxies::DEFAULT_FITNESS)]
    pub fitness: String,

    /// How an ensemble fitness combines its members' ranks within the archs evaluated so far.
    #[arg(long, value_enum, default_value_t = EnsembleArg::LogRank)]
    pub ensemble: EnsembleArg,

    /// Algorithms, comma-separated: evolution (SWAP-NAS's), aging (regularised evolution),
    /// random, all (those three), robot (RoBoT), hnas (HNAS), pdns (MTF-PDNS).
    #[arg(long, default_value = "evolution")]
    pub algo: String,

    /// RoBoT / HNAS: queried accuracies per run, T [default: the budget the literature spends
    /// on the space's query table, 20 on NAS-Bench-201].
    #[arg(long)]
    pub queries: Option<usize>,

    /// RoBoT / HNAS: archs of the seeded pool they rank, scored with their metrics (0 = the
    /// whole space, as the papers do; a CPU scores ~1,000 archs with RoBoT's six metrics in
    /// about 30 min).
    #[arg(long, default_value_t = 1000)]
    pub pool: usize,

    /// RoBoT / HNAS: the pool's metrics — `computed` (swapnas scores a seeded pool of `--pool`
    /// archs) or `reference` (the space's NAS-Bench-Suite-Zero file: its archs and their
    /// precomputed scores, as RoBoT's TransNAS-Bench-101 code reads them; a metric the file
    /// lacks is dropped, and the report says so).
    #[arg(long, value_enum, default_value_t = PoolScores::Computed)]
    pub pool_scores: PoolScores,

    /// MTF-PDNS: generations (population 20; the paper's 50).
    #[arg(long, default_value_t = 50)]
    pub generations: usize,

    /// Fitness evaluations per run.
    #[arg(long, default_value_t = 100)]
    pub budget: usize,

    /// Independent seeded runs per algorithm.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,

    /// Population size P (evolution, aging).
    #[arg(long, default_value_t = 10)]
    pub population: usize,

    /// Members sampled per cycle S (evolution, aging).
    #[arg(long, default_value_t = 3)]
    pub sample: usize,

    /// Mutated children scored per cycle M, the best kept (evolution).
    #[arg(long, default_value_t = 1)]
    pub mutations: usize,

    /// Target model size in millions of parameters: sets reg-SWAP's μ = σ, as the paper
    /// steers the size of what it finds.
    #[arg(long)]
    pub target_params: Option<f64>,

    /// Seed of the runs and of weight initialisation (each arch's seed derives from it and
    /// the arch alone, so every run sees the same fitness of an arch).
    #[arg(long = "seed", default_value_t = 0)]
    pub sample_seed: u64,

    #[command(flatten)]
    pub settings: SettingArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub exec: ExecArgs,

    #[command(flatten)]
    pub cache: CacheArgs,

    /// Score cache file [default: results/<bench>-<task>/scores.jsonl, the one
    /// `swapnas --bench B --task T` keeps, so searches and runs share scores].
    #[arg(long = "cache")]
    pub cache_file: Option<PathBuf>,
}
/// Where the pool of RoBoT and HNAS takes its metrics from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PoolScores {
    Computed,
    Reference,
}

/// A search algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Algo {
    Evolution,
    Aging,
    Random,
    Robot,
    Hnas,
    Pdns,
}

impl Algo {
    pub fn name(self) -> &'static str {
        match self {
            Algo::Evolution => "evolution",
            Algo::Aging => "aging",
            Algo::Random => "random",
            Algo::Robot => "robot",
            Algo::Hnas => "hnas",
            Algo::Pdns => "pdns",
        }
    }

    /// Whether it searches with `--fitness` (the others bring their own metrics).
    pub fn uses_fitness(self) -> bool {
        matches!(self, Algo::Evolution | Algo::Aging | Algo::Random)
    }

    /// Whether it spends queried accuracies.
    pub fn queries(self) -> bool {
        matches!(self, Algo::Robot | Algo::Hnas)
    }

    /// The proxies it reads, when not `--fitness`.
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            Algo::Robot => crate::searches::robot::METRICS,
            Algo::Hnas => crate::searches::hnas::METRICS,
            Algo::Pdns => crate::searches::pdns::OBJECTIVES,
            _ => &[],
        }
    }
}

/// The algorithms' parameters.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Params {
    /// Evaluations per run.
    pub budget: usize,
    /// Population size P (evolution, aging).
    pub population: usize,
    /// Members sampled per cycle S (evolution, aging).
    pub sample: usize,
    /// Children per cycle M (evolution).
    pub mutations: usize,
}

/// The fitness of evaluated archs from their member scores (`scores[i][m]`): the score itself
/// for one member, else the rank ensemble within these archs. Non-finite is worst.
pub fn fitness(scores: &[Vec<f64>], rule: EnsembleRule) -> Vec<f64> {
    let members = scores.first().map_or(0, Vec::len);
    if members == 1 {
        return scores.iter().map(|s| if s[0].is_finite() { s[0] } else { f64::NEG_INFINITY }).collect();
    }
    let by_member: Vec<Vec<f64>> = (0..members).map(|m| scores.iter().map(|s| s[m]).collect()).collect();
    rank_ensemble(&by_member, rule)
}

/// One evaluation of a run.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub genes: Vec<u8>,
    pub scores: Vec<f64>,
}

/// A run's evaluations, in order, and the fitness rule.
struct History<'a> {
    genes: Vec<Vec<u8>>,
    scores: Vec<Vec<f64>>,
    rule: EnsembleRule,
    eval: &'a mut dyn FnMut(&[u8]) -> Result<Vec<f64>>,
    budget: usize,
}

impl History<'_> {
    fn full(&self) -> bool {
        self.genes.len() >= self.budget
    }

    /// Evaluates `genes`; returns its index.
    fn add(&mut self, genes: Vec<u8>) -> Result<usize> {
        self.scores.push((self.eval)(&genes)?);
        self.genes.push(genes);
        Ok(self.genes.len() - 1)
    }

    fn fitness(&self) -> Vec<f64> {
        fitness(&self.scores, self.rule)
    }
}

/// The index with the largest fitness among `among` (the first on ties).
fn best_of(among: impl IntoIterator<Item = usize>, fit: &[f64]) -> Option<usize> {
    among.into_iter().fold(None, |best: Option<usize>, i| match best {
        Some(b) if fit[b] >= fit[i] => Some(b),
        _ => Some(i),
    })
}

/// Runs one search; returns its evaluations in order. `eval` scores genes (one score per
/// fitness member) and is all the search knows of an arch.
pub fn search(
    genome: &Genome,
    algo: Algo,
    params: Params,
    rule: EnsembleRule,
    rng: &mut ChaCha8Rng,
    eval: &mut dyn FnMut(&[u8]) -> Result<Vec<f64>>,
) -> Result<Vec<Evaluated>> {
    if !algo.uses_fitness() {
        bail!("{} is not a single-fitness search (see crate::searches)", algo.name());
    }
    let mut h = History { genes: Vec::new(), scores: Vec::new(), rule, eval, budget: params.budget };
    let initial = match algo {
        Algo::Random => params.budget,
        _ => params.population.min(params.budget),
    };
    for _ in 0..initial {
        let g = genome.random(rng)?;
        h.add(g)?;
    }
    match algo {
        Algo::Random | Algo::Robot | Algo::Hnas | Algo::Pdns => {}
        Algo::Aging => {
            let mut population: VecDeque<usize> = (0..h.genes.len()).collect();
            while !h.full() {
                let fit = h.fitness();
                let members: Vec<usize> = population.iter().copied().collect();
                let sampled = (0..params.sample).filter_map(|_| members.choose(rng).copied());
                let parent = best_of(sampled, &fit).context("empty population")?;
                let child = genome.mutate(&h.genes[parent], rng)?;
                population.push_back(h.add(child)?);
                population.pop_front();
            }
        }
        Algo::Evolution => {
            let mut population: Vec<usize> = (0..h.genes.len()).collect();
            while !h.full() {
                let fit = h.fitness();
                let mut sampled: Vec<usize> =
                    population.choose_multiple(rng, params.sample.min(population.len())).copied().collect();
                sampled.sort_by(|&a, &b| fit[b].total_cmp(&fit[a]));
                let best = &h.genes[sampled[0]];
                let parent = match sampled.get(1) {
                    Some(&second) if rng.random_bool(0.5) => genome.crossover(best, &h.genes[second], rng),
                    _ => best.clone(),
                };
                let mut children = Vec::new();
                for _ in 0..params.mutations.max(1) {
                    if h.full() {
                        break;
                    }
                    let child = genome.mutate(&parent, rng)?;
                    children.push(h.add(child)?);
                }
                let fit = h.fitness();
                let child = best_of(children, &fit).context("no child")?;
                population.push(child);
                let worst = (0..population.len()).min_by(|&a, &b| fit[population[a]].total_cmp(&fit[population[b]]));
                population.swap_remove(worst.expect("non-empty"));
            }
        }
    }
    Ok(h.genes.into_iter().zip(h.scores).map(|(genes, scores)| Evaluated { genes, scores }).collect())
}

/// After each evaluation, the index of the best-fitness arch so far and its fitness (the
/// fitness taken within the evaluations so far, as the search saw it).
pub fn best_so_far(entries: &[Evaluated], rule: EnsembleRule) -> Vec<(usize, f64)> {
    let scores: Vec<Vec<f64>> = entries.iter().map(|e| e.scores.clone()).collect();
    if scores.first().is_some_and(|s| s.len() == 1) {
        let fit = fitness(&scores, rule);
        let mut best = 0;
        return (0..fit.len())
            .map(|i| {
                if fit[i] > fit[best] {
                    best = i;
                }
                (best, fit[best])
            })
            .collect();
    }
    (1..=scores.len())
        .map(|n| {
            let fit = fitness(&scores[..n], rule);
            let b = best_of(0..n, &fit).expect("n ≥ 1");
            (b, fit[b])
        })
        .collect()
}

/// A search, resolved and validated.
pub struct SearchConfig {
    pub target: Target,
    pub genome: &'static Genome,
    /// The fitness (`--fitness`) of the single-fitness algorithms.
    pub plan: ProxyPlan,
    /// Every proxy the algorithms read: the fitness's members (if an algorithm uses it), then
    /// the metrics of RoBoT, HNAS and PDNS (each once). Each arch is scored with all of them.
    pub scored: ProxyPlan,
    /// The fitness members' places in `scored`.
    pub fitness_members: Vec<usize>,
    pub rule: EnsembleRule,
    pub algos: Vec<Algo>,
    pub params: Params,
    pub runs: usize,
    pub seed: u64,
    pub input: crate::engine::InputSpec,
    pub out: PathBuf,
    pub cache: Option<PathBuf>,
    /// One network per same-function class for the proxies that allow it (`--no-dedup`).
    pub dedup: bool,
    pub data: DataDir,
    pub device: String,
    pub jobs: Option<usize>,
    /// reg-SWAP's μ = σ from `--target-params` (millions).
    pub target_params: Option<f64>,
    /// RoBoT / HNAS: queries per run (None: the query table's customary budget).
    pub queries: Option<usize>,
    /// RoBoT / HNAS: the pool's size (0 = the whole space).
    pub pool: usize,
    pub pool_scores: PoolScores,
    /// MTF-PDNS: generations.
    pub generations: usize,
}

impl SearchConfig {
    pub fn resolve(args: &SearchArgs) -> Result<Self> {
        let target = crate::spec::target(&args.task, None)?;
        let space = target.space;
        let genome =
            space.genome().with_context(|| format!("--bench {} declares no genome: it cannot be searched yet", space.name()))?;
        if args.fitness.contains(',') || args.fitness.trim().is_empty() {
            bail!("--fitness is one proxy or a rank ensemble written a+b+c, got `{}`", args.fitness);
        }
        let mut settings = crate::spec::settings(&args.settings)?;
        if let Some(m) = args.target_params {
            if m.is_nan() || m <= 0.0 {
                bail!("--target-params must be a positive number of millions of parameters, got {m}");
            }
            if settings.size_prior_given() {
                bail!("--target-params sets the size prior's μ = σ; give it or the prior's own flags, not both");
            }
            settings.set_size_prior(Some(swapnas_proxies::SizePrior { mu: m, sigma: m }))?;
        }
        // The plan parses the fitness as any proxy list item: one proxy, `a+b+c` or a named
        // ensemble (its members once each).
        let plan = ProxyPlan::resolve(args.fitness.trim(), &settings)?;
        if args.target_params.is_some() && !plan.decls.iter().any(|d| d.needs.size_prior) {
            bail!("--target-params steers reg-SWAP's size prior, but the fitness `{}` does not use it", args.fitness);
        }
        let single = plan.decls.len() == 1 && plan.ensembles.is_empty();
        let ensemble = plan.ensembles.len() == 1 && plan.ensembles[0].members.len() == plan.decls.len();
        if !(single || ensemble) {
            bail!("--fitness `{}` is one proxy or one rank ensemble a+b+c (each member once), not a list or `all`", args.fitness);
        }
        let members: Vec<&str> = plan.decls.iter().map(|d| d.name).collect();
        let mut algos = Vec::new();
        for a in args.algo.split(',').map(str::trim) {
            let list: Vec<Algo> = match a {
                "all" => vec![Algo::Evolution, Algo::Aging, Algo::Random],
                _ => vec![<Algo as clap::ValueEnum>::from_str(a, true).map_err(|_| {
                    anyhow::anyhow!("unknown --algo `{a}`; choose evolution, aging, random, all, robot, hnas or pdns")
                })?],
            };
            for x in list {
                if !algos.contains(&x) {
                    algos.push(x);
                }
            }
        }
        if args.budget == 0 || args.runs == 0 {
            bail!("--budget and --runs must be at least 1");
        }
        if args.queries == Some(0) {
            bail!("--queries must be at least 1");
        }
        if args.generations == 0 {
            bail!("--generations must be at least 1");
        }
        // Every proxy any chosen algorithm reads, each once.
        let mut items: Vec<String> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        if algos.iter().any(|a| a.uses_fitness()) {
            items.push(args.fitness.trim().to_string());
            names.extend(members.iter().copied());
        }
        for a in &algos {
            for &m in a.metrics() {
                if !names.contains(&m) {
                    names.push(m);
                    items.push(m.to_string());
                }
            }
        }
        let scored = ProxyPlan::resolve(&items.join(","), &settings)?;
        let fitness_members = members
            .iter()
            .filter_map(|m| scored.decls.iter().position(|d| d.name == *m))
            .collect::<Vec<_>>();
        if args.population < 2 || args.sample == 0 || args.mutations == 0 {
            bail!("--population must be at least 2, --sample and --mutations at least 1");
        }
        let fitness_name = if algos.iter().any(|a| a.uses_fitness()) {
            members.join("+")
        } else {
            algos.iter().map(|a| a.name()).collect::<Vec<_>>().join("+")
        };
        let name = space.candidate_run_name(target.task);
        let out = args.exec.out.clone().unwrap_or_else(|| {
            let suffix = args.target_params.map_or(String::new(), |m| format!("-target{m}M"));
            outputs::results("search").join(format!("{name}-{fitness_name}{suffix}"))
        });
        let cache = (!args.cache.no_cache)
            .then(|| args.cache_file.clone().unwrap_or_else(|| outputs::run_cache(&name)));
        Ok(Self {
            target,
            genome,
            plan,
            rule: args.ensemble.rule(),
            algos,
            params: Params { budget: args.budget, population: args.population, sample: args.sample, mutations: args.mutations },
            runs: args.runs,
            seed: args.sample_seed,
            input: crate::spec::input(&args.input)?,
            out,
            cache,
            dedup: !args.cache.no_dedup,
            data: crate::engine::locate_data(args.exec.data_dir.as_deref())?,
            device: args.exec.device.clone(),
            jobs: args.exec.jobs,
            target_params: args.target_params,
            scored,
            fitness_members,
            queries: args.queries,
            pool: args.pool,
            pool_scores: args.pool_scores,
            generations: args.generations,
        })
    }

    /// Where each algorithm's proxies are in the scored plan.
    fn columns(&self, algo: Algo) -> Vec<usize> {
        if algo.uses_fitness() {
            return self.fitness_members.clone();
        }
        algo.metrics().iter().filter_map(|m| self.scored.decls.iter().position(|d| d.name == *m)).collect()
    }

    /// What each algorithm searched with, in words.
    fn fitness_text(&self) -> String {
        let mut parts = Vec::new();
        if self.algos.iter().any(|a| a.uses_fitness()) {
            parts.push(self.fitness_name());
        }
        for a in self.algos.iter().filter(|a| !a.uses_fitness()) {
            parts.push(format!("{}: {}", a.name(), a.metrics().join("+")));
        }
        parts.join("; ")
    }

    fn fitness_name(&self) -> String {
        let names: Vec<&str> = self.plan.decls.iter().map(|d| d.name).collect();
        match names.len() {
            1 => names[0].to_string(),
            _ => format!("{} ({})", names.join("+"), self.rule.name()),
        }
    }
}

pub fn run(args: &SearchArgs) -> Result<()> {
    let config = SearchConfig::resolve(args)?;
    let report = search_task(&config)?;
    println!("{report}");
    Ok(())
}

/// One run's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub algo: Algo,
    pub run: usize,
    pub arch: String,
    pub fitness: f64,
    pub params: usize,
    pub evaluations: usize,
    pub distinct: usize,
    pub wall_seconds: f64,
    /// Proxy seconds over the run's distinct archs (RoBoT / HNAS: over the pool they rank):
    /// what it costs alone on one core, cold cache.
    pub scoring_seconds: f64,
    /// RoBoT / HNAS: accuracies queried (distinct archs).
    pub queries: Option<usize>,
    /// RoBoT / HNAS: the queried archs' simulated training seconds, where the table records them.
    pub train_seconds: Option<f64>,
    /// MTF-PDNS: the final Pareto archive's archs.
    pub archive: Option<Vec<String>>,
    /// Per evaluation: the best-so-far arch and its fitness.
    #[serde(skip)]
    pub trace: Vec<(String, f64)>,
}

/// An arch's scores and seconds per proxy of the plan, each computed once (None: not yet).
type Slot = Arc<Mutex<Vec<Option<(f64, f64)>>>>;

impl RunResult {
    /// The run's columns as text: algorithm, run, arch, fitness, params, evaluations,
    /// distinct archs, wall seconds, scoring seconds, queries, query training seconds (the
    /// fitness of RoBoT / HNAS is the found arch's queried accuracy).
    fn cells(&self) -> [String; 11] {
        [
            self.algo.name().to_string(),
            self.run.to_string(),
            match &self.archive {
                Some(a) => format!("Pareto archive of {}", a.len()),
                None => self.arch.clone(),
            },
            self.fitness.to_string(),
            self.params.to_string(),
            self.evaluations.to_string(),
            self.distinct.to_string(),
            format!("{:.1}", self.wall_seconds),
            format!("{:.1}", self.scoring_seconds),
            self.queries.map_or(String::new(), |q| q.to_string()),
            self.train_seconds.map_or(String::new(), |t| format!("{t:.1}")),
        ]
    }
}

/// The scores every run of this process shares: each arch is scored once (a second run
/// asking for it waits for the first), through the engine and its cache.
struct SharedScores<'a> {
    engine: &'a Engine,
    space: &'static dyn SearchSpace,
    task: &'static Task,
    seed: u64,
    memo: Mutex<HashMap<String, Slot>>,
    from_cache: AtomicUsize,
    computed: AtomicUsize,
}

impl SharedScores<'_> {
    /// Scores of `label` by the proxies `columns` (places in the plan) and each one's seconds,
    /// computed (or read from the cache) once per process: a second caller for the same arch
    /// waits for the first, then computes only what it still lacks.
    fn get(&self, label: &str, columns: &[usize]) -> Result<(Vec<f64>, Vec<f64>)> {
        let n = self.engine.proxies.len();
        let slot = self.memo.lock().unwrap_or_else(|e| e.into_inner()).entry(label.to_string()).or_insert_with(|| Arc::new(Mutex::new(vec![None; n]))).clone();
        let mut known = slot.lock().unwrap_or_else(|e| e.into_inner());
        let missing: Vec<usize> = columns.iter().copied().filter(|&k| known[k].is_none()).collect();
        if !missing.is_empty() {
            let candidate = self.space.reference_candidate(label, self.task)?;
            let hits = AtomicUsize::new(0);
            let r = self.engine.score_arch_where(&candidate, self.seed, &hits, &swapnas_proxies::Memo::new(), &|k| missing.contains(&k));
            for e in &r.errors {
                eprintln!("warning: arch {label}: {e}");
            }
            let applicable = missing.iter().filter(|&&k| self.engine.not_applicable[k].is_none()).count();
            let h = hits.load(Ordering::Relaxed);
            self.from_cache.fetch_add(h, Ordering::Relaxed);
            self.computed.fetch_add(applicable - h, Ordering::Relaxed);
            for &k in &missing {
                known[k] = Some((r.scores[k], r.seconds[k]));
            }
        }
        Ok(columns.iter().map(|&k| known[k].expect("scored above")).unzip())
    }
}

/// The pool RoBoT and HNAS rank: its archs with every scored proxy and each one's seconds.
struct Ranked {
    labels: Vec<String>,
    scores: Vec<Vec<f64>>,
    seconds: Vec<Vec<f64>>,
    /// Where the scores come from, in words.
    source: String,
}

impl Ranked {
    /// The pool as `algo` sees it: its metrics' columns.
    fn pool(&self, config: &SearchConfig, algo: Algo) -> Pool {
        let columns = self.columns(config, algo);
        Pool {
            labels: self.labels.clone(),
            names: columns.iter().map(|&c| config.scored.decls[c].name).collect(),
            metrics: self.scores.iter().map(|s| columns.iter().map(|&c| s[c]).collect()).collect(),
        }
    }

    /// The columns of `algo`'s metrics that have a score somewhere in the pool (a reference
    /// file may lack a metric: it is dropped).
    fn columns(&self, config: &SearchConfig, algo: Algo) -> Vec<usize> {
        config.columns(algo).into_iter().filter(|&c| self.scores.iter().any(|s| s[c].is_finite())).collect()
    }

    /// `algo`'s metrics the pool has no score of.
    fn dropped(&self, config: &SearchConfig, algo: Algo) -> Vec<&'static str> {
        let kept = self.columns(config, algo);
        config.columns(algo).into_iter().filter(|c| !kept.contains(c)).map(|c| config.scored.decls[c].name).collect()
    }

    /// Proxy seconds of these columns over the pool.
    fn seconds(&self, columns: &[usize]) -> f64 {
        self.seconds.iter().map(|s| columns.iter().map(|&c| s[c]).sum::<f64>()).sum()
    }
}

/// Scores the seeded pool (`--pool`) with every proxy of the search, in parallel.
fn score_pool(config: &SearchConfig, shared: &SharedScores) -> Result<Ranked> {
    let genes = pool_genes(config.genome, config.pool, config.seed)?;
    let labels: Vec<String> = genes.iter().map(|g| (config.genome.label)(g)).collect();
    // The columns of the algorithms that rank the pool.
    let mut columns: Vec<usize> = config.algos.iter().filter(|a| a.queries()).flat_map(|&a| config.columns(a)).collect();
    columns.sort_unstable();
    columns.dedup();
    let names: Vec<&str> = columns.iter().map(|&k| config.scored.decls[k].name).collect();
    eprintln!("scoring the pool RoBoT / HNAS rank: {} archs (seed {}) with {}", labels.len(), config.seed, names.join(", "));
    let done = AtomicUsize::new(0);
    let t = Instant::now();
    let scored: Vec<Result<(Vec<f64>, Vec<f64>)>> = labels
        .par_iter()
        .map(|label| {
            if crate::engine::interrupted() {
                bail!("interrupted (Ctrl-C): the pool's scores so far are in the score cache; run the same search again to resume");
            }
            let r = shared.get(label, &columns);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(100) || n == labels.len() {
                eprintln!("  pool {n}/{} in {:.0} s", labels.len(), t.elapsed().as_secs_f64());
            }
            r
        })
        .collect();
    // Back to the plan's places (NaN and 0 s elsewhere).
    let n = config.scored.decls.len();
    let spread = |v: Vec<f64>, fill: f64| {
        let mut out = vec![fill; n];
        for (&k, x) in columns.iter().zip(v) {
            out[k] = x;
        }
        out
    };
    let (scores, seconds) =
        scored.into_iter().collect::<Result<Vec<_>>>()?.into_iter().map(|(s, t)| (spread(s, f64::NAN), spread(t, 0.0))).unzip();
    let source = match config.pool {
        0 => "the whole space, scored by swapnas".to_string(),
        _ => format!("a uniform sample of the space (seed {}, `--pool`; the papers rank the whole space), scored by swapnas", config.seed),
    };
    Ok(Ranked { labels, scores, seconds, source })
}

/// The pool as the space's NAS-Bench-Suite-Zero reference file has it: its archs for the task
/// and their precomputed scores (NaN where the file lacks a metric; no seconds counted). Its
/// accuracies are not read.
fn reference_pool(config: &SearchConfig) -> Result<Ranked> {
    let Target { space, task, .. } = config.target;
    let reference = space.reference().with_context(|| format!("--pool-scores reference: --bench {} has no reference file", space.name()))?;
    let table = swapnas_benchmarks::data::suite_zero::ZcTable::load(&config.data, &reference.file, task.name)?;
    let n = config.scored.decls.len();
    let mut labels = Vec::with_capacity(table.entries.len());
    let mut scores = Vec::with_capacity(table.entries.len());
    for e in &table.entries {
        labels.push(space.reference_candidate(&e.arch, task)?.label);
        scores.push(config.scored.decls.iter().map(|d| e.scores.get(d.name).copied().unwrap_or(f64::NAN)).collect::<Vec<f64>>());
    }
    let source = format!("NAS-Bench-Suite-Zero's precomputed scores ({}), {} archs; their cost is not counted", reference.file.rel_path, labels.len());
    Ok(Ranked { seconds: vec![vec![0.0; n]; labels.len()], labels, scores, source })
}

/// What the table says of one arch, per (task, accuracy column).
struct Column {
    space: &'static dyn SearchSpace,
    task: &'static Task,
    column: &'static str,
    values: HashMap<String, f64>,
    /// Sorted best first.
    sorted: Vec<f64>,
}

impl Column {
    fn optimum(&self) -> f64 {
        self.sorted.first().copied().unwrap_or(f64::NAN)
    }
    fn mean(&self) -> f64 {
        self.sorted.iter().sum::<f64>() / self.sorted.len().max(1) as f64
    }
    /// 1-based rank of `v` (1 = best; ties share the best rank).
    fn rank(&self, v: f64) -> usize {
        let better = |x: f64| if self.task.metric.higher_is_better { x > v } else { x < v };
        self.sorted.iter().filter(|&&x| better(x)).count() + 1
    }
    /// Percentile of `v` in the space (100 = the optimum).
    fn percentile(&self, v: f64) -> f64 {
        100.0 * (1.0 - (self.rank(v) - 1) as f64 / self.sorted.len() as f64)
    }
    fn name(&self) -> String {
        format!("{} {}", self.task.name, self.column)
    }
}

/// Every task × accuracy column of the space's table (read after the search), or why not.
fn read_tables(space: &'static dyn SearchSpace, data: &DataDir) -> (Vec<Column>, Vec<String>) {
    let mut columns = Vec::new();
    let mut problems = Vec::new();
    for task in space.tasks() {
        for acc in task.accuracies {
            let request = Request { task, set: None, archs: Some(0), seed: 0, accuracy: acc, largest: false };
            match crate::engine::load(space, &request, data) {
                Ok(loaded) => {
                    // Rows that are one arch under the space's key (NAS-Bench-101's sample repeats
                    // cells, each row one training repeat) count once, at their mean.
                    let mut sums: HashMap<String, (f64, usize)> = HashMap::new();
                    for c in &loaded.candidates {
                        let e = sums.entry(space.arch_key(&c.label)).or_insert((0.0, 0));
                        e.0 += c.accuracy;
                        e.1 += 1;
                    }
                    let values: HashMap<String, f64> = sums.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect();
                    let mut sorted: Vec<f64> = values.values().copied().filter(|v| v.is_finite()).collect();
                    sorted.sort_by(|a, b| if task.metric.higher_is_better { b.total_cmp(a) } else { a.total_cmp(b) });
                    columns.push(Column { space, task, column: acc.name, values, sorted });
                }
                Err(e) => problems.push(format!("{} {}: {e:#}", task.name, acc.name)),
            }
        }
    }
    (columns, problems)
}

/// The size prior's default: the space's largest network, known from the genome (or from the
/// table's structure where the genome does not know it; accuracies are not used); `None`
/// where no proxy needs it.
fn largest_params(config: &SearchConfig) -> Result<Option<usize>> {
    let Target { space, task, .. } = config.target;
    Ok(match (config.plan.needs_largest(), config.genome.largest_params) {
        (false, _) => None,
        (true, Some(f)) => Some(f(task)),
        (true, None) => {
            let request = Request { task, set: None, archs: Some(1), seed: 0, accuracy: &task.accuracies[0], largest: true };
            let loaded = crate::engine::load(space, &request, &config.data).context("reading the space's largest network for the size prior")?;
            loaded.largest_params
        }
    })
}

/// Runs the configured searches, writes the report into `config.out` and returns it (markdown).
pub fn search_task(config: &SearchConfig) -> Result<String> {
    let started = Instant::now();
    let Target { space, task, .. } = config.target;
    let run_name = space.candidate_run_name(task);
    let largest = largest_params(config)?;
    // The oracle's table first: a search that cannot query fails before it scores anything.
    let queries = match config.algos.iter().any(|a| a.queries()) {
        true => Some(space.queries(task, &config.data)?),
        false => None,
    };
    Outputs::create(&config.out)?;
    let engine = Engine::prepare(Setup {
        run_name: &run_name,
        task,
        plan: &config.scored,
        largest_params: largest,
        input: config.input,
        min_images: 1,
        device: &config.device,
        jobs: None,
        cache: config.cache.as_deref(),
        data: &config.data,
        dedup: config.dedup,
    })?;
    if let Some((d, why)) = config.scored.decls.iter().zip(&engine.not_applicable).find_map(|(d, n)| n.as_ref().map(|w| (d, w))) {
        bail!("{} cannot run on --task {}: {why}", d.name, task.name);
    }
    let shared = SharedScores {
        engine: &engine,
        space,
        task,
        seed: config.seed,
        memo: Mutex::new(HashMap::new()),
        from_cache: AtomicUsize::new(0),
        computed: AtomicUsize::new(0),
    };
    let fitness_name = config.fitness_text();
    eprintln!(
        "swapnas search: {run_name}, fitness {fitness_name}, {} × {} runs{}, seed {}{}",
        config.algos.iter().map(|a| a.name()).collect::<Vec<_>>().join("/"),
        config.runs,
        // Budget and P/S/M are the fitness searches' (evolution, aging, random) alone.
        match config.algos.iter().any(|a| a.uses_fitness()) {
            true => format!(
                ", budget {} evaluations, P={} S={} M={}",
                config.params.budget, config.params.population, config.params.sample, config.params.mutations
            ),
            false => String::new(),
        },
        config.seed,
        if engine.uses_prior() {
            let p = engine.settings.size_prior();
            format!(", size prior μ={} σ={}", p.mu, p.sigma)
        } else {
            String::new()
        }
    );
    crate::engine::watch_ctrl_c();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(config.jobs.unwrap_or(0)).build()?;
    let ranked = match (&queries, config.pool_scores) {
        (Some(_), PoolScores::Computed) => Some(pool.install(|| score_pool(config, &shared))?),
        (Some(_), PoolScores::Reference) => Some(reference_pool(config)?),
        (None, _) => None,
    };
    if let Some(r) = &ranked {
        for &a in config.algos.iter().filter(|a| a.queries()) {
            let dropped = r.dropped(config, a);
            if !dropped.is_empty() {
                eprintln!("{}: the pool has no {} scores: left out", a.name(), dropped.join(", "));
            }
        }
    }
    let jobs: Vec<(usize, Algo, usize)> =
        config.algos.iter().enumerate().flat_map(|(k, &a)| (0..config.runs).map(move |r| (k, a, r))).collect();
    let done = AtomicUsize::new(0);
    let results: Vec<Result<RunResult>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(k, algo, run)| {
                let result = run_one(config, &shared, ranked.as_ref(), queries.as_ref(), algo, k, run)?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                let found = match &result.archive {
                    Some(a) => format!("a Pareto archive of {} archs", a.len()),
                    None => format!("{} (fitness {:.4})", result.arch, result.fitness),
                };
                eprintln!("  {n}/{}: {} run {run}: {found} in {:.0} s", jobs.len(), algo.name(), result.wall_seconds);
                Ok(result)
            })
            .collect()
    });
    let results: Vec<RunResult> = results.into_iter().collect::<Result<_>>()?;
    let distinct = shared.memo.lock().unwrap_or_else(|e| e.into_inner()).len();
    let search_seconds = started.elapsed().as_secs_f64();

    // Only now the table: accuracies for the report.
    let (columns, problems) = read_tables(space, &config.data);
    // A true front needs every arch of the space in the table.
    let pareto = match config.algos.contains(&Algo::Pdns) && config.genome.table_complete {
        true => Some(pool.install(|| pareto(config, &columns, &results))?),
        false => None,
    };
    Report {
        config,
        engine: &engine,
        fitness_name: &fitness_name,
        results: &results,
        columns: &columns,
        problems: &problems,
        distinct,
        shared: &shared,
        search_seconds,
        pareto: pareto.as_deref(),
        queried: queries.as_ref().map(|q| q.about.as_str()),
        ranked: ranked.as_ref(),
    }
    .write()
}

/// One seeded run of one algorithm (`k`: its place in `--algo`): what it found and what it cost.
fn run_one(
    config: &SearchConfig,
    shared: &SharedScores,
    ranked: Option<&Ranked>,
    queries: Option<&QueryTable>,
    algo: Algo,
    k: usize,
    run: usize,
) -> Result<RunResult> {
    let Target { space, task, .. } = config.target;
    let t = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(derive_seed(config.seed, 0x5ea7c4 + k as u64), run as u64));
    let columns = config.columns(algo);
    let mut seconds: HashMap<String, f64> = HashMap::new();
    let mut eval = |genes: &[u8]| -> Result<Vec<f64>> {
        if crate::engine::interrupted() {
            bail!("interrupted (Ctrl-C): every arch scored so far is in the score cache; run the same search again to resume (it replays from the cache)");
        }
        let label = (config.genome.label)(genes);
        let (scores, s) = shared.get(&label, &columns)?;
        seconds.insert(label, s.iter().sum());
        Ok(scores)
    };
    let mut result = RunResult {
        algo,
        run,
        arch: String::new(),
        fitness: f64::NAN,
        params: 0,
        evaluations: 0,
        distinct: 0,
        wall_seconds: 0.0,
        scoring_seconds: 0.0,
        queries: None,
        train_seconds: None,
        archive: None,
        trace: Vec::new(),
    };
    match algo {
        Algo::Robot | Algo::Hnas => {
            let (ranked, table) = (ranked.context("no pool")?, queries.context("no queries")?);
            let pool = ranked.pool(config, algo);
            let mut oracle = Oracle::new(table, config.queries.unwrap_or(table.budget));
            match algo {
                Algo::Robot => drop(crate::searches::robot::robot(&pool, &mut oracle, &mut rng)?),
                _ => drop(crate::searches::hnas::hnas(&pool, &mut oracle, &mut rng)?),
            }
            let mut best: Option<(String, f64)> = None;
            for (label, a) in oracle.asked() {
                if best.as_ref().is_none_or(|b| *a > b.1) {
                    best = Some((label.clone(), *a));
                }
                result.trace.push(best.clone().expect("set"));
            }
            result.evaluations = oracle.asked().len();
            result.distinct = oracle.asked().len();
            result.queries = Some(oracle.asked().len());
            result.train_seconds = oracle.train_seconds();
            result.scoring_seconds = ranked.seconds(&ranked.columns(config, algo));
        }
        Algo::Pdns => {
            let settings = crate::searches::pdns::Settings { generations: config.generations, ..Default::default() };
            let mut objectives = |g: &[u8]| eval(g).map(|raw| crate::searches::pdns::minimised(&raw));
            let (archive, n) = crate::searches::pdns::pdns(config.genome, settings, &mut rng, &mut objectives)?;
            result.evaluations = n;
            result.archive = Some(archive.iter().map(|p| (config.genome.label)(&p.genes)).collect());
        }
        _ => {
            let entries = search(config.genome, algo, config.params, config.rule, &mut rng, &mut eval)?;
            result.trace = best_so_far(&entries, config.rule)
                .into_iter()
                .map(|(i, f)| ((config.genome.label)(&entries[i].genes), f))
                .collect();
            result.evaluations = entries.len();
        }
    }
    if !algo.queries() {
        result.distinct = seconds.len();
        result.scoring_seconds = seconds.values().sum();
    }
    if let Some((arch, fitness)) = result.trace.last().cloned() {
        let candidate = space.reference_candidate(&arch, task)?;
        result.params = crate::engine::guarded(|| param_count(candidate.builder.as_ref()))
            .with_context(|| format!("counting the parameters of arch {arch}"))?;
        (result.arch, result.fitness) = (arch, fitness);
    }
    result.wall_seconds = t.elapsed().as_secs_f64();
    Ok(result)
}

/// MTF-PDNS's judgement on one task: the true front and each run's archive on the axes (test
/// error, FLOPs min–max normalised over the space), and the indicators.
struct ParetoTask {
    name: String,
    truth: Vec<[f64; 2]>,
    /// Per PDNS run: its archive's non-dominated points on these axes.
    fronts: Vec<Vec<[f64; 2]>>,
    hv: Vec<f64>,
    igd_plus: Vec<f64>,
}

/// HV's reference point, as the reference code sets it.
const HV_REFERENCE: [f64; 2] = [1.05, 1.05];

/// Reads every arch's FLOPs (the `flops` proxy, the searched task's network) and each task's test error (the `test` column where a task has one, else its first)
/// after the search, and judges each PDNS run's archive against the true front.
fn pareto(config: &SearchConfig, columns: &[Column], results: &[RunResult]) -> Result<Vec<ParetoTask>> {
    let Target { space, task, .. } = config.target;
    // The cost axis: PDNS's minimised objective (FLOPs).
    let cost = crate::searches::pdns::OBJECTIVES[crate::searches::pdns::OBJECTIVES.len() - 1];
    let plan = ProxyPlan::resolve(cost, &swapnas_proxies::ProxySettings::default())?;
    let run_name = space.candidate_run_name(task);
    let engine = Engine::prepare(Setup {
        run_name: &run_name,
        task,
        plan: &plan,
        largest_params: None,
        input: config.input,
        min_images: 1,
        device: &config.device,
        jobs: None,
        // FLOPs are cheap (the whole of NB201 in about a minute): not cached, as the search's
        // engine holds the cache file.
        cache: None,
        data: &config.data,
        dedup: config.dedup,
    })?;
    let mut labels: Vec<&String> = columns.iter().flat_map(|c| c.values.keys()).collect();
    labels.sort();
    labels.dedup();
    eprintln!("reading the FLOPs of the {} archs of the table for the true Pareto fronts", labels.len());
    let flops: Vec<Result<f64>> = labels
        .par_iter()
        .map(|l| {
            let c = space.reference_candidate(l, task)?;
            let r = engine.score_arch(&c, config.seed, &AtomicUsize::new(0));
            r.scores.first().copied().filter(|f| f.is_finite()).with_context(|| format!("no FLOPs for arch {l}: {:?}", r.errors))
        })
        .collect();
    let flops: HashMap<&str, f64> = labels.iter().map(|l| l.as_str()).zip(flops.into_iter().collect::<Result<Vec<_>>>()?).collect();
    let (lo, hi) = flops.values().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &f| (a.min(f), b.max(f)));
    let norm = |f: f64| if hi > lo { (f - lo) / (hi - lo) } else { 0.0 };
    let runs: Vec<&RunResult> = results.iter().filter(|r| r.algo == Algo::Pdns).collect();
    let mut out = Vec::new();
    for t in space.tasks() {
        let cols: Vec<&Column> = columns.iter().filter(|c| c.task.name == t.name).collect();
        let Some(col) = cols.iter().find(|c| c.column == "test").or(cols.first()) else { continue };
        if col.task.metric != swapnas_benchmarks::space::Metric::ACCURACY {
            continue;
        }
        let point = |l: &str| -> Option<[f64; 2]> {
            let a = *col.values.get(l)?;
            Some([norm(*flops.get(l)?), 1.0 - a / 100.0])
        };
        let all: Vec<[f64; 2]> = col.values.keys().filter_map(|l| point(l)).collect();
        let truth = crate::searches::pdns::front(&all);
        let mut task = ParetoTask { name: col.name(), truth, fronts: Vec::new(), hv: Vec::new(), igd_plus: Vec::new() };
        for r in &runs {
            let points: Vec<[f64; 2]> = r.archive.iter().flatten().filter_map(|l| point(l)).collect();
            let front = crate::searches::pdns::front(&points);
            task.hv.push(crate::searches::pdns::hypervolume(&front, HV_REFERENCE));
            task.igd_plus.push(crate::searches::pdns::igd_plus(&front, &task.truth));
            task.fronts.push(front);
        }
        out.push(task);
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
/// What a search writes its report from.
struct Report<'a> {
    config: &'a SearchConfig,
    engine: &'a Engine,
    fitness_name: &'a str,
    results: &'a [RunResult],
    columns: &'a [Column],
    problems: &'a [String],
    distinct: usize,
    shared: &'a SharedScores<'a>,
    search_seconds: f64,
    pareto: Option<&'a [ParetoTask]>,
    /// RoBoT / HNAS: what their oracle queried, and their pool's size.
    queried: Option<&'a str>,
    ranked: Option<&'a Ranked>,
}

/// The accuracy of `arch` in column `c` (NaN where the table lacks it), matched by the
/// space's arch key (NAS-Bench-101: isomorphic cells are the same arch).
fn acc(c: &Column, arch: &str) -> f64 {
    c.values.get(&c.space.arch_key(arch)).copied().unwrap_or(f64::NAN)
}

impl Report<'_> {
    /// runs.csv, search.md, trace.csv, search.png/svg and search.json; returns search.md.
    fn write(&self) -> Result<String> {
        let outputs = Outputs::create(&self.config.out)?;
        outputs.write("runs.csv", self.runs_csv())?;
        let md = self.markdown();
        outputs.write("search.md", &md)?;
        self.traces(&outputs)?;
        self.pareto_plot(&outputs)?;
        outputs.write_json("search.json", &self.json())?;
        eprintln!("wrote {} (search.md, runs.csv, trace.csv, search.json, search.png/svg)", outputs.dir().display());
        Ok(md)
    }

    /// Per run: the found arch, its fitness and cost, and its accuracy, rank and percentile in
    /// every column.
    fn runs_csv(&self) -> String {
        let (results, columns) = (self.results, self.columns);
        let mut csv = String::from("algo,run,arch,fitness,params,evaluations,distinct,wall_s,scoring_s,queries,query_train_s");
        for c in columns {
            let n = c.name().replace(' ', "_");
            let _ = write!(csv, ",{n},{n}_rank,{n}_percentile");
        }
        csv.push('\n');
        for r in results {
            let mut cells = r.cells();
            cells[2] = format!("\"{}\"", cells[2]);
            csv.push_str(&cells.join(","));
            for c in columns {
                let a = acc(c, &r.arch);
                if a.is_finite() {
                    let _ = write!(csv, ",{a},{},{:.3}", c.rank(a), c.percentile(a));
                } else {
                    csv.push_str(",,,");
                }
            }
            csv.push('\n');
        }
        csv
    }

    /// search.md: the settings, what was scored, the found archs per algorithm against the
    /// space's optimum and mean, and every run.
    fn markdown(&self) -> String {
        let Report { config, engine, fitness_name, results, problems, distinct, shared, search_seconds, .. } = *self;
        let Target { space, task, .. } = config.target;
        let mut md = String::new();
        let _ = writeln!(md, "# Search: {} {}, fitness {fitness_name}\n", space.name(), task.name);
        if config.algos.iter().any(|a| a.uses_fitness()) {
            let _ = writeln!(
                md,
                "- budget {} evaluations per run (evolution, aging, random), seed {}; evolution P={} S={} M={}, aging P={} S={}",
                config.params.budget,
                config.seed,
                config.params.population,
                config.params.sample,
                config.params.mutations,
                config.params.population,
                config.params.sample
            );
        }
        let _ = writeln!(md, "- {} runs per algorithm, seed {}", config.runs, config.seed);
        if config.algos.contains(&Algo::Pdns) {
            let _ = writeln!(md, "- MTF-PDNS: population 20, {} generations", config.generations);
        }
        if engine.uses_prior() {
            let rule = if config.target_params.is_some() { "from --target-params" } else { engine.settings.size_prior_rule() };
            let p = engine.settings.size_prior();
            let _ = writeln!(md, "- size prior μ = {} σ = {} (millions of parameters; {rule})", p.mu, p.sigma);
        }
        let _ = writeln!(md, "- proxies' input: {}; device {}", engine.input_text, engine.device_name);
        let _ = writeln!(
            md,
            "- {distinct} distinct archs scored over all runs: {} proxy scores from the cache{}, {} computed; {:.0} s wall in all",
            shared.from_cache.load(Ordering::Relaxed),
            config.cache.as_ref().map_or(String::new(), |p| format!(" ({})", p.display())),
            shared.computed.load(Ordering::Relaxed),
            search_seconds
        );
        if let Some(q) = self.queried {
            let t = results.iter().find_map(|r| r.queries).map_or(String::from("no"), |t| t.to_string());
            let (n, source) = self.ranked.map_or((0, String::new()), |r| (r.labels.len(), r.source.clone()));
            let _ = writeln!(
                md,
                "- {}: {t} queries per run of {q}; they rank a pool of {n} archs: {source}",
                config.algos.iter().filter(|a| a.queries()).map(|a| a.name()).collect::<Vec<_>>().join(", "),
            );
            for &a in config.algos.iter().filter(|a| a.queries()) {
                if let Some(r) = self.ranked {
                    let kept: Vec<&str> = r.columns(config, a).iter().map(|&c| config.scored.decls[c].name).collect();
                    let dropped = r.dropped(config, a);
                    let note = if dropped.is_empty() { String::new() } else { format!(" ({} left out: the pool has no such scores)", dropped.join(", ")) };
                    let _ = writeln!(md, "- {} metrics: {}{note}", a.name(), kept.join(", "));
                }
            }
            let _ = writeln!(md, "- the searches read no accuracies but those queries; the table below was read after them\n");
        } else {
            let _ = writeln!(md, "- the search read no accuracies; the table below was read after it\n");
        }
        for p in problems {
            let _ = writeln!(md, "- no accuracies for {p}");
        }
        let genome = config.genome;
        if !genome.table_complete {
            let _ = writeln!(
                md,
                "- {}'s table samples the space: a found arch not in it is an architecture to train, reported without accuracy",
                space.name()
            );
        }
        self.found_tables(&mut md);
        self.pareto_table(&mut md);
        let _ = writeln!(md, "\nrank: the found arch's rank in the space (1 = the optimum; ties share the best rank); pct: its percentile (100 = the optimum); ± is the sd over runs.\n");
        let _ = writeln!(
            md,
            "## Runs\n\n| algorithm | run | arch | fitness | params | evaluations | distinct | wall s | scoring s | queries | query train s |"
        );
        let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in results {
            let mut cells = r.cells();
            cells[2] = format!("`{}`", cells[2]);
            let _ = writeln!(md, "| {} |", cells.join(" | "));
        }
        md
    }

    /// Per algorithm: mean ± sd of the found archs' accuracy and percentile, on the searched
    /// task and on the space's other tasks.
    fn found_tables(&self, md: &mut String) {
        let (config, results, task) = (self.config, self.results, self.config.target.task);
        if config.algos.iter().all(|&a| a == Algo::Pdns) {
            return;
        }
        let searched: Vec<&Column> = self.columns.iter().filter(|c| c.task.name == task.name).collect();
        let others: Vec<&Column> = self.columns.iter().filter(|c| c.task.name != task.name).collect();
        for (title, cols) in [
            (format!("Found archs on {} (the searched task)", task.name), &searched),
            ("Found archs on the space's other tasks".to_string(), &others),
        ] {
            if cols.is_empty() {
                continue;
            }
            let _ = writeln!(md, "\n## {title}\n");
            let _ = write!(md, "| algorithm | params (M) | wall s/run | scoring s/run | queries | query train s/run | total s/run |");
            for c in cols.iter() {
                let _ = write!(md, " {} | rank | pct |", c.name());
            }
            let _ = write!(md, "\n|---|---:|---:|---:|---:|---:|---:|");
            for _ in cols.iter() {
                md.push_str("---:|---:|---:|");
            }
            md.push('\n');
            for &algo in config.algos.iter().filter(|&&a| a != Algo::Pdns) {
                let runs: Vec<&RunResult> = results.iter().filter(|r| r.algo == algo).collect();
                let (pm, ps) = mean_sd(&runs.iter().map(|r| r.params as f64 / 1e6).collect::<Vec<_>>());
                let (wm, _) = mean_sd(&runs.iter().map(|r| r.wall_seconds).collect::<Vec<_>>());
                let (sm, _) = mean_sd(&runs.iter().map(|r| r.scoring_seconds).collect::<Vec<_>>());
                let (queries, train, total) = match runs.iter().map(|r| r.queries).collect::<Option<Vec<_>>>() {
                    Some(q) => {
                        let q = q.iter().sum::<usize>() as f64 / q.len().max(1) as f64;
                        match runs.iter().map(|r| r.train_seconds).collect::<Option<Vec<f64>>>() {
                            Some(t) => {
                                let t = mean_sd(&t).0;
                                (format!("{q:.0}"), format!("{t:.0}"), format!("{:.0}", sm + t))
                            }
                            None => (format!("{q:.0}"), "not recorded".to_string(), format!("{sm:.0} + training")),
                        }
                    }
                    None => ("0".to_string(), String::new(), format!("{sm:.0}")),
                };
                let _ = write!(md, "| {} | {pm:.3} ± {ps:.3} | {wm:.0} | {sm:.0} | {queries} | {train} | {total} |", algo.name());
                for c in cols.iter() {
                    let accs: Vec<f64> = runs.iter().map(|r| acc(c, &r.arch)).collect();
                    let found = accs.iter().filter(|a| a.is_finite()).count();
                    let pcts: Vec<f64> = accs.iter().filter(|a| a.is_finite()).map(|&a| c.percentile(a)).collect();
                    if found == 0 {
                        md.push_str(" n/a | n/a | n/a |");
                    } else {
                        let (m, s) = mean_sd(&accs);
                        let (pm, _) = mean_sd(&pcts);
                        let ranks: Vec<f64> = accs.iter().filter(|a| a.is_finite()).map(|&a| c.rank(a) as f64).collect();
                        let (rm, rs) = mean_sd(&ranks);
                        let missing =
                            if found < runs.len() { format!(" ({found} of {} in table)", runs.len()) } else { String::new() };
                        let _ = write!(md, " {m:.2} ± {s:.2}{missing} | {rm:.0} ± {rs:.0} | {pm:.1} |");
                    }
                }
                md.push('\n');
            }
            for p in config.target.space.published_searches().iter().filter(|p| config.algos.iter().any(|a| a.name() == p.algo)) {
                if !cols.iter().any(|c| c.task.name == p.task) {
                    continue;
                }
                let cost = p.cost_seconds.map_or(String::new(), |c| format!("{c:.0} (published)"));
                let _ = write!(md, "| *{} published* ({}) | | | | {} | | {cost} |", p.algo, p.source, p.queries);
                for c in cols.iter() {
                    if c.task.name == p.task && c.column == p.column {
                        let sd = p.sd.map_or(String::new(), |s| format!(" ± {s:.2}"));
                        let _ = write!(md, " {:.2}{sd} | | |", p.value);
                    } else {
                        md.push_str(" | | |");
                    }
                }
                md.push('\n');
            }
            if let Some(r) = self.ranked {
                let _ = write!(md, "| *best arch of RoBoT's / HNAS's pool ({} archs)* | | | | | | |", r.labels.len());
                for c in cols.iter() {
                    let best = r.labels.iter().map(|l| acc(c, l)).filter(|v| v.is_finite()).reduce(|a, b| {
                        if c.task.metric.higher_is_better == (b > a) {
                            b
                        } else {
                            a
                        }
                    });
                    match best {
                        Some(b) => {
                            let _ = write!(md, " {b:.2} | {} | {:.1} |", c.rank(b), c.percentile(b));
                        }
                        None => md.push_str(" n/a | | |"),
                    }
                }
                md.push('\n');
            }
            let _ = write!(md, "| *space optimum* | | | | | | |");
            for c in cols.iter() {
                let _ = write!(md, " {:.2} | 1 | 100 |", c.optimum());
            }
            let _ = write!(md, "\n| *uniformly random arch (space mean)* | | | | | | |");
            for c in cols.iter() {
                let _ = write!(md, " {:.2} | | |", c.mean());
            }
            md.push('\n');
        }
    }

    /// MTF-PDNS: HV and IGD+ per task, mean ± sd over runs, beside the true front's own HV.
    fn pareto_table(&self, md: &mut String) {
        let Some(tasks) = self.pareto else { return };
        let runs = self.results.iter().filter(|r| r.algo == Algo::Pdns).count();
        let sizes: Vec<f64> = self.results.iter().filter_map(|r| r.archive.as_ref()).map(|a| a.len() as f64).collect();
        let (sm, ss) = mean_sd(&sizes);
        let _ = writeln!(
            md,
            "\n## MTF-PDNS: the Pareto archive (test error vs FLOPs)\n\n{runs} runs; archive {sm:.1} ± {ss:.1} archs (non-dominated in the search's four objectives); read after the search: each archive's archs as (FLOPs min–max normalised over the space, 1 − test accuracy), their non-dominated set against the space's true front on the same axes; HV's reference point ({}, {}).\n",
            HV_REFERENCE[0], HV_REFERENCE[1]
        );
        let _ = writeln!(md, "| task | HV | IGD+ | true front HV | true front archs |\n|---|---:|---:|---:|---:|");
        for t in tasks {
            let (hm, hs) = mean_sd(&t.hv);
            let (im, is) = mean_sd(&t.igd_plus);
            let best = crate::searches::pdns::hypervolume(&t.truth, HV_REFERENCE);
            let _ = writeln!(md, "| {} | {hm:.4} ± {hs:.4} | {im:.4} ± {is:.4} | {best:.4} | {} |", t.name, t.truth.len());
        }
    }

    /// pareto.png/svg: the searched task's true front and each PDNS run's archive front.
    fn pareto_plot(&self, outputs: &Outputs) -> Result<()> {
        let Some(tasks) = self.pareto else { return Ok(()) };
        let panels: Vec<LinePanel> = tasks
            .iter()
            .map(|t| {
                let mut series = vec![Series { name: "true front".to_string(), points: t.truth.iter().map(|p| (p[0], p[1])).collect() }];
                for (k, f) in t.fronts.iter().enumerate() {
                    series.push(Series { name: format!("run {k}"), points: f.iter().map(|p| (p[0], p[1])).collect() });
                }
                LinePanel { title: t.name.clone(), x_label: "FLOPs (normalised)".to_string(), y_label: "test error".to_string(), series }
            })
            .collect();
        let Target { space, task, .. } = self.config.target;
        lines(&outputs.dir().join("pareto"), &format!("{} {}: MTF-PDNS archives vs the true front", space.name(), task.name), &panels)
    }

    /// trace.csv and its plot: mean best-so-far fitness and its accuracy per evaluation, per
    /// algorithm.
    fn traces(&self, outputs: &Outputs) -> Result<()> {
        let Report { config, fitness_name, results, .. } = *self;
        let Target { space, task, .. } = config.target;
        let out = outputs.dir();
        let searched: Vec<&Column> = self.columns.iter().filter(|c| c.task.name == task.name).collect();
        let mut trace_csv = String::from("algo,run,evaluation,best_arch,best_fitness");
        for c in &searched {
            let _ = write!(trace_csv, ",{}", c.name().replace(' ', "_"));
        }
        trace_csv.push('\n');
        for r in results {
            for (i, (arch, f)) in r.trace.iter().enumerate() {
                let _ = write!(trace_csv, "{},{},{},\"{arch}\",{f}", r.algo.name(), r.run, i + 1);
                for c in &searched {
                    let a = acc(c, arch);
                    if a.is_finite() {
                        let _ = write!(trace_csv, ",{a}");
                    } else {
                        trace_csv.push(',');
                    }
                }
                trace_csv.push('\n');
            }
        }
        outputs.write("trace.csv", &trace_csv)?;
        let mean_curve = |algo: Algo, value: &dyn Fn(&str, f64) -> f64| -> Vec<(f64, f64)> {
            let runs: Vec<&RunResult> = results.iter().filter(|r| r.algo == algo).collect();
            (0..runs.iter().map(|r| r.trace.len()).max().unwrap_or(0))
                .map(|i| {
                    let v: Vec<f64> = runs.iter().filter_map(|r| r.trace.get(i)).map(|(a, f)| value(a, *f)).collect();
                    ((i + 1) as f64, mean_sd(&v).0)
                })
                .collect()
        };
        let mut panels = vec![LinePanel {
            title: "best-so-far fitness (mean over runs)".to_string(),
            x_label: "evaluations".to_string(),
            y_label: fitness_name.to_string(),
            series: config
                .algos
                .iter()
                .filter(|a| a.uses_fitness())
                .map(|&a| Series { name: a.name().to_string(), points: mean_curve(a, &|_, f| f) })
                .collect(),
        }];
        for c in &searched {
            panels.push(LinePanel {
                title: format!("its {} (read afterwards)", c.name()),
                x_label: "evaluations".to_string(),
                y_label: format!("{} {}", task.metric.name, c.column),
                series: config
                    .algos
                    .iter()
                    .filter(|&&a| a != Algo::Pdns)
                    .map(|&a| Series { name: a.name().to_string(), points: mean_curve(a, &|arch, _| acc(c, arch)) })
                    .collect(),
            });
        }
        lines(&out.join("search"), &format!("{} {}: search with {fitness_name}", space.name(), task.name), &panels)?;

        Ok(())
    }

    fn json(&self) -> serde_json::Value {
        let Report { config, engine, fitness_name, results, columns, distinct, shared, .. } = *self;
        let Target { space, task, .. } = config.target;
        serde_json::json!({
            "space": space.name(),
            "task": task.name,
            "fitness": fitness_name,
            "members": config.plan.decls.iter().map(|d| d.name).collect::<Vec<_>>(),
            "ensemble_rule": (config.plan.decls.len() > 1).then(|| config.rule.name()),
            "algorithm_params": config.params,
            "runs": config.runs,
            "seed": config.seed,
            "size_prior": engine.uses_prior().then(|| {
                let p = engine.settings.size_prior();
                serde_json::json!({"mu": p.mu, "sigma": p.sigma})
            }),
            "distinct_archs": distinct,
            "scores_from_cache": shared.from_cache.load(Ordering::Relaxed),
            "scores_computed": shared.computed.load(Ordering::Relaxed),
            "results": results.iter().map(|r| {
                let accs: serde_json::Map<String, serde_json::Value> = columns.iter().map(|c| {
                    let a = acc(c, &r.arch);
                    (c.name(), if a.is_finite() { serde_json::json!({"value": a, "rank": c.rank(a), "of": c.sorted.len()}) } else { serde_json::Value::Null })
                }).collect();
                serde_json::json!({"run": r, "accuracies": accs})
            }).collect::<Vec<_>>(),
            "optimum": columns.iter().map(|c| (c.name(), serde_json::json!(c.optimum()))).collect::<serde_json::Map<_, _>>(),
            "pareto": self.pareto.map(|tasks| tasks.iter().map(|t| serde_json::json!({
                "task": t.name, "hv": t.hv, "igd_plus": t.igd_plus,
                "true_front_hv": crate::searches::pdns::hypervolume(&t.truth, HV_REFERENCE),
                "true_front": t.truth,
            })).collect::<Vec<_>>()),
            "space_mean": columns.iter().map(|c| (c.name(), serde_json::json!(c.mean()))).collect::<serde_json::Map<_, _>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swapnas_benchmarks::genome::always_valid;

    /// Runs that reach the same arch at once score it once: one computation, one cache line.
    #[test]
    fn concurrent_runs_score_an_arch_once() {
        let dir = std::env::temp_dir().join(format!("swapnas-search-once-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // NB201 CIFAR-10 from the embedded subset (an empty data directory, no fetcher).
        let data = swapnas_benchmarks::DataDir::at(dir.join("data"));
        let target = Target::resolve("nb201", None, None).unwrap();
        let plan = ProxyPlan::resolve("nwot", &swapnas_proxies::ProxySettings::default()).unwrap();
        let cache = dir.join("scores.jsonl");
        let engine = Engine::prepare(Setup {
            run_name: "nb201-cifar10",
            task: target.task,
            plan: &plan,
            largest_params: None,
            input: crate::engine::InputSpec::default(),
            min_images: 1,
            device: "cpu",
            jobs: Some(1),
            cache: Some(&cache),
            data: &data,
            dedup: true,
        })
        .unwrap();
        let shared = SharedScores {
            engine: &engine,
            space: target.space,
            task: target.task,
            seed: 0,
            memo: Mutex::new(HashMap::new()),
            from_cache: AtomicUsize::new(0),
            computed: AtomicUsize::new(0),
        };
        let label = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
        let scores: Vec<Vec<f64>> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..6).map(|_| s.spawn(|| shared.get(label, &[0]).unwrap().0)).collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(scores.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(shared.computed.load(Ordering::Relaxed), 1, "scored once");
        assert_eq!(std::fs::read_to_string(&cache).unwrap().lines().count(), 1, "one cache line");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// 6 genes × 5 choices (NB201's shape); fitness = number of genes equal to 2, with a
    /// unique optimum [2; 6].
    const G: Genome =
        Genome { choices: &[5; 6], valid: always_valid, label: |g| format!("{g:?}"), table_complete: true, largest_params: None };

    fn run(algo: Algo, seed: u64, budget: usize) -> Vec<Evaluated> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut eval = |g: &[u8]| -> Result<Vec<f64>> { Ok(vec![g.iter().filter(|&&x| x == 2).count() as f64]) };
        let params = Params { budget, population: 10, sample: 3, mutations: 1 };
        search(&G, algo, params, EnsembleRule::LogRank, &mut rng, &mut eval).unwrap()
    }

    #[test]
    fn budget_is_exact_and_seeded() {
        for algo in [Algo::Evolution, Algo::Aging, Algo::Random] {
            let a = run(algo, 1, 37);
            assert_eq!(a.len(), 37, "{algo:?}");
            let b = run(algo, 1, 37);
            assert!(a.iter().zip(&b).all(|(x, y)| x.genes == y.genes));
        }
    }

    #[test]
    fn evolution_beats_random_on_a_simple_landscape() {
        // Mean best fitness over 20 seeds, budget 150: random rarely gets more than 4 of the 6
        // genes right (4.2); evolution climbs to (nearly) the optimum (5.8), aging close (5.2).
        let mean =
            |algo| (0..20).map(|s| best_so_far(&run(algo, s, 150), EnsembleRule::LogRank).last().unwrap().1).sum::<f64>() / 20.0;
        let (e, a, r) = (mean(Algo::Evolution), mean(Algo::Aging), mean(Algo::Random));
        eprintln!("evolution {e}, aging {a}, random {r}");
        assert!(e > r + 1.0 && a > r + 0.5, "evolution {e}, aging {a}, random {r}");
    }

    #[test]
    fn ensemble_fitness_is_rank_based_and_best_so_far_follows_it() {
        let scores = vec![vec![1.0, 10.0], vec![2.0, 30.0], vec![3.0, 20.0]];
        let fit = fitness(&scores, EnsembleRule::MeanRank);
        assert_eq!(fit, vec![1.0, 2.5, 2.5]);
        let entries: Vec<Evaluated> = scores.into_iter().map(|s| Evaluated { genes: vec![0], scores: s }).collect();
        let best: Vec<usize> = best_so_far(&entries, EnsembleRule::MeanRank).into_iter().map(|(i, _)| i).collect();
        assert_eq!(best, vec![0, 1, 1]);
        // NaN is worst for a single member.
        assert_eq!(fitness(&[vec![f64::NAN], vec![-5.0]], EnsembleRule::LogRank)[0], f64::NEG_INFINITY);
    }
}
