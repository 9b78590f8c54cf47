//! Raw command-line flags, grouped so that each subcommand takes exactly the groups it uses:
//! a flag a subcommand does not use is not one of its flags, and clap rejects it with a
//! message naming it. Each subcommand then resolves its flags into a typed, validated config
//! (`run::RunConfig`, `check::CheckConfig`, …). `--bench` and `--task` values come from the
//! search-space registry; nothing here names a space or a proxy.

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, ValueEnum};
use std::path::PathBuf;

/// Score NAS-benchmark architectures with SWAP and baseline zero-cost proxies, and report
/// how well each proxy ranks them against their trained accuracy (Spearman ρ, Kendall τ).
///
/// Example: swapnas --bench nb201 --task cifar100
#[derive(Debug, Parser)]
#[command(name = "swapnas", version, about, long_about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check proxies against NAS-Bench-Suite-Zero's reference scores, arch by arch: scores
    /// the archs of the space's reference file and reports Spearman(ours, reference) and both
    /// proxies' correlation with validation accuracy on the same archs.
    Check(CheckArgs),
    /// Reproduce the SWAP paper's comparison: every proxy on every task of every registered
    /// space (or of --bench), with the paper's sample size (1,000 archs) and settings;
    /// resumable (each task's score cache); writes results/paper/ with the full table, the
    /// heatmap and a REPORT.md that sets our numbers beside the published ones.
    Reproduce(ReproduceArgs),
    /// Speed and memory: archs/s and peak RSS of each proxy on a fixed seeded sample of
    /// archs (scored one after another), plus where SWAP's time goes (init / forward /
    /// pattern count); printed and saved as JSON. No cache is used.
    Bench(BenchArgs),
    /// Search a space for architectures with a training-free fitness (one proxy, or a rank
    /// ensemble a+b+c): SWAP-NAS's evolution, aging evolution or random search, K seeded runs
    /// each; the search never reads accuracies — the report looks the found archs up in the
    /// table afterwards (accuracy on every task, rank in the space, optimum).
    Search(SearchArgs),
    /// Join sharded runs (`--shard I/N`): the shards' score caches into one run's table,
    /// plots, CSV and Parquet — the same as the unsharded run's; names the archs still missing.
    Merge(MergeArgs),
    /// Ablation: score the same seeded archs under a grid of settings (SWAP batch, repeats,
    /// input images, input size, reg-SWAP prior), one axis at a time around the flags'
    /// baseline, and write one table of ρ with 95% intervals per setting × proxy against every
    /// accuracy column, a heatmap and per-setting scores; every score is cached and reused.
    Ablate(AblateArgs),
    /// Benchmark data: fetch it from its public sources, or verify it against the manifest.
    #[command(subcommand)]
    Data(DataCommand),
}

fn bench_names() -> PossibleValuesParser {
    PossibleValuesParser::new(swapnas_benchmarks::spaces::names())
}

/// Which benchmark task.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// Benchmark (search space and its accuracy table); see each space's tasks with an
    /// unknown --task.
    #[arg(long, default_value = swapnas_benchmarks::spaces::DEFAULT, value_parser = bench_names())]
    pub bench: String,

    /// Task of the benchmark: cifar10, cifar100 or ImageNet16-120 for nb201 (ImageNet16-120 is
    /// scored on a 16×16 stand-in image set: see README); cifar10 for nb301 and nb101;
    /// class_scene, class_object, room_layout, jigsaw, segmentsemantic, normal or autoencoder for
    /// tnb101-micro / tnb101-macro (stand-in images); `all` (a run only): every task of the
    /// space, each in its own folder [default: the space's first task].
    #[arg(long)]
    pub task: Option<String>,
}

/// Which of a space's tables (spaces with several).
#[derive(Debug, Clone, Args)]
pub struct SetArgs {
    /// The space's table, for spaces with several: nb301 `suitezero` (725 NB301 archs,
    /// default) or `swap1000` (the SWAP authors' 1000 DARTS genotypes in their setting).
    #[arg(long)]
    pub set: Option<String>,
}

/// Which architectures.
#[derive(Debug, Clone, Args)]
pub struct SampleArgs {
    /// Number of architectures, drawn uniformly without replacement with --seed (0 = all)
    /// [default: 100 for a run (nb201, nb301 suitezero; all 1000 for nb301 swap1000; 20 for
    /// the heavy nb101), which keeps the default proxies under 10 minutes on a 2-core CPU; 200
    /// for check; 10 for bench].
    #[arg(long)]
    pub archs: Option<usize>,

    /// Seed for the architecture sample and for weight initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Which proxies, with which settings.
#[derive(Debug, Clone, Args)]
pub struct ProxyArgs {
    /// Proxies to run, comma-separated (see --list-proxies), or `all`; `a+b+c` is a rank
    /// ensemble of those proxies (its members are scored and reported too).
    #[arg(long, default_value = swapnas_proxies::DEFAULT_PROXIES)]
    pub proxies: String,

    /// How rank ensembles combine their members' ranks within the scored archs.
    #[arg(long, value_enum, default_value_t = EnsembleArg::LogRank)]
    pub ensemble: EnsembleArg,

    #[command(flatten)]
    pub settings: SettingArgs,
}

/// The proxies' settings: one flag per setting the registered proxies declare
/// ([`ProxySettingArgs`]), and the kernels their forward passes run on.
#[derive(Debug, Clone, Args)]
pub struct SettingArgs {
    #[command(flatten)]
    pub proxy: ProxySettingArgs,

    /// Kernels of the proxies' forward-only passes on the CPU (SWAP, NWOT, Zen, MeCo): `native`
    /// (direct GEMM convs, one-pass BN; README, Speed) or `burn` (burn's tensor ops, the
    /// reference path). Scores agree up to float rounding; passes that back-propagate and GPU
    /// devices always run burn's ops.
    #[arg(long, value_enum, default_value_t = KernelsArg::Native)]
    pub kernels: KernelsArg,
}

/// The flags of every setting a registered proxy declares (`swapnas_proxies::setting::all`),
/// generated from the declarations: name, value name, help, default, and validation (a bad
/// value is a usage error naming the flag). Holds the values given on the command line, by
/// setting name, as typed.
#[derive(Debug, Clone, Default)]
pub struct ProxySettingArgs {
    pub given: Vec<(&'static str, String)>,
}

impl clap::FromArgMatches for ProxySettingArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut out = Self::default();
        out.update_from_arg_matches(matches)?;
        Ok(out)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for s in swapnas_proxies::setting::all() {
            let from_user = matches.value_source(s.name()) == Some(clap::parser::ValueSource::CommandLine);
            if let (true, Some(v)) = (from_user, matches.get_one::<String>(s.name())) {
                self.given.retain(|(n, _)| *n != s.name());
                self.given.push((s.name(), v.clone()));
            }
        }
        Ok(())
    }
}

impl Args for ProxySettingArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for s in swapnas_proxies::setting::all() {
            // Leaked once per process (clap wants 'static names; a dozen short strings).
            let long: &'static str = Box::leak(s.flag().trim_start_matches("--").to_string().into_boxed_str());
            let mut arg = clap::Arg::new(s.name())
                .long(long)
                .value_name(s.value_name())
                .help(s.about())
                .value_parser(move |text: &str| s.check(text).map(|()| text.to_string()).map_err(|e| format!("{e:#}")));
            if !s.default_text().is_empty() {
                arg = arg.default_value(s.default_text());
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// `--kernels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelsArg {
    Native,
    Burn,
}

impl From<KernelsArg> for swapnas_benchmarks::Kernels {
    fn from(k: KernelsArg) -> Self {
        match k {
            KernelsArg::Native => Self::Native,
            KernelsArg::Burn => Self::Burn,
        }
    }
}

impl Default for SettingArgs {
    /// The flags' defaults (what a command that does not take them runs with).
    fn default() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            settings: SettingArgs,
        }
        Only::parse_from(["swapnas"]).settings
    }
}

/// Which images the proxies see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Input {
    /// The first B training images in file order, the same for every arch (the SWAP
    /// reference's input).
    #[default]
    First,
    /// Per arch, B training images drawn with the arch's seed, as they are (no augmentation).
    Random,
    /// Per arch, B training images drawn with the arch's seed, each randomly cropped from a
    /// copy padded by 4 black pixels and flipped left-right with probability ½ — the random,
    /// augmented minibatch the zero-cost-nas / NASLib references (Suite-Zero) score with.
    RandomAugmented,
}

/// Which split of the image set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum SplitArg {
    /// The training images (every reference's choice).
    #[default]
    Train,
    /// The test images (CIFAR's test_batch.bin / test.bin).
    Test,
}

/// How `--input-size` shrinks the images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Shrink {
    /// A random N×N crop per image, offsets drawn with a fixed seed (the same for every arch
    /// under `--input first`): what the SWAP code's loader does with a smaller input size
    /// (`RandomCrop(N, padding=0)`).
    #[default]
    Crop,
    /// The whole image resized to N×N (bilinear).
    Resize,
}

#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Images the proxies see: `first` (the same first B training images for every arch),
    /// `random` (a seeded random batch per arch) or `random-augmented` (a seeded random,
    /// augmented batch per arch, as Suite-Zero's reference scores were computed).
    #[arg(long, value_enum, default_value_t = Input::First)]
    pub input: Input,

    /// Which split the images come from.
    #[arg(long, value_enum, default_value_t = SplitArg::Train)]
    pub input_split: SplitArg,

    /// Feed the proxies N×N images (the SWAP paper's input-size ablation: 3, 15, 32)
    /// [default: the task's own input size].
    #[arg(long, value_name = "N")]
    pub input_size: Option<usize>,

    /// How --input-size shrinks the images.
    #[arg(long, value_enum, default_value_t = Shrink::Crop, requires = "input_size")]
    pub shrink: Shrink,
}

/// Where and how to compute.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Output directory [default: results/<bench>-<task>].
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
    /// ~/.cache/swapnas; the same for runs and `swapnas data`].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Device: cpu (pure-Rust flex backend), or with the `tch` feature tch-cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Score architectures in parallel with this many threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct CacheArgs {
    /// Neither read nor write the score cache (`<out>/scores.jsonl`).
    #[arg(long)]
    pub no_cache: bool,
}

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

    /// Score only shard I of N of the arch sample (archs I, I+N, I+2N, … of the same sample
    /// as without --shard; 1-based), into its own cache [default out:
    /// results/<run>/shard-I-of-N]; `swapnas merge` joins the shards.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,

    /// List the registered proxies and search spaces, and exit.
    #[arg(long)]
    pub list_proxies: bool,
}

/// `swapnas merge`: the shards' caches joined into one run's outputs.
#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shards' output directories (each with its shard.json and scores.jsonl).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,

    /// Output directory [default: results/<run>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `swapnas check`: the reference file's archs, correlated with its own validation accuracy.
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

/// `swapnas bench`: timing on the first images, no cache.
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

    /// Proxies, comma-separated, or `all`.
    #[arg(long, default_value = "all")]
    pub proxies: String,

    /// Seed for the architecture samples and weight initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Output directory.
    #[arg(long, default_value = "results/paper")]
    pub out: PathBuf,

    /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
    /// ~/.cache/swapnas; the same for runs and `swapnas data`].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,

    /// Device: cpu, or with the `tch` feature tch-cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

/// How a rank ensemble combines its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnsembleArg {
    /// Σ log(rank/n) over members (AZ-NAS's rule).
    LogRank,
    /// Mean rank over members.
    MeanRank,
}

impl EnsembleArg {
    pub fn rule(self) -> swapnas_reports::stats::EnsembleRule {
        match self {
            EnsembleArg::LogRank => swapnas_reports::stats::EnsembleRule::LogRank,
            EnsembleArg::MeanRank => swapnas_reports::stats::EnsembleRule::MeanRank,
        }
    }
}

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
    /// random, or all.
    #[arg(long, default_value = "evolution")]
    pub algo: String,

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

#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Download missing or corrupt benchmark tables (SHA-256 checked) into the data directory
    /// (runs fetch what they need on their own; this fetches everything ahead, e.g. for a
    /// machine that will be offline).
    Fetch {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files [default: all].
        #[arg(long, value_parser = bench_names())]
        bench: Option<String>,
        /// Fetch `<URL>/<path in the data directory>` instead of the public sources.
        #[arg(long)]
        mirror: Option<String>,
        /// Also the image sets published as archives (CIFAR-10/100: download ~170 MB each,
        /// check the publisher's checksum, unpack into images/).
        #[arg(long)]
        images: bool,
    },
    /// Convert a benchmark's source tables into one HDF5 archive
    /// (`benchmarks/<bench>/<bench>.h5`), which runs then load instead (in milliseconds).
    Import {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Benchmark to import (nb201 so far).
        #[arg(long, default_value = swapnas_benchmarks::spaces::DEFAULT, value_parser = bench_names())]
        bench: String,
        /// Output file [default: <data dir>/benchmarks/<bench>/<bench>.h5].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the data directory's files against the manifest (size and SHA-256).
    Verify {
        /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
        /// ~/.cache/swapnas; the same for runs and `swapnas data`].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files [default: all].
        #[arg(long, value_parser = bench_names())]
        bench: Option<String>,
    },
}

/// `swapnas ablate`: one-axis-at-a-time grid around the baseline the flags give.
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

    /// Output directory [default: results/ablate/<bench>-<task>].
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Data directory [default: $SWAPNAS_DATA, else ./data if it exists, else the user cache, e.g.
    /// ~/.cache/swapnas; the same for runs and `swapnas data`].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Device: cpu, or with the `tch` feature tch-cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,
}
