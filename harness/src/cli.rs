//! Raw command-line flags, grouped so that each subcommand takes exactly the groups it uses:
//! a flag a subcommand does not use is not one of its flags, and clap rejects it with a
//! message naming it. Each subcommand then resolves its flags into a typed, validated config
//! (`run::RunConfig`, `check::CheckConfig`, …). `--bench` and `--task` values come from the
//! search-space registry; nothing here names a space or a proxy.

use clap::builder::PossibleValuesParser;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// `--bench`'s values: the registered spaces.
pub fn bench_names() -> PossibleValuesParser {
    PossibleValuesParser::new(swapnas_benchmarks::spaces::names())
}

/// `--task`'s long help: each registered space's tasks, from the registry.
fn task_help() -> String {
    let mut text = String::from(
        "Task of the benchmark; `all` (a run only): every task of the space, each in its own folder [default: the space's first task]. Where a task's real images are not at hand (ImageNet16-120, Taskonomy) a stand-in image set is used and every report says so. Tasks:",
    );
    for space in swapnas_benchmarks::spaces::registry() {
        let tasks: Vec<&str> = space.tasks().iter().map(|t| t.name).collect();
        text += &format!("\n  --bench {}: {}", space.name(), tasks.join(", "));
    }
    text
}

/// `--archs`' long help: each registered space's (and table's) default sample, from the
/// registry.
fn archs_help() -> String {
    let mut text = String::from(
        "Number of architectures, drawn uniformly without replacement with --seed (0 = all) [default for a run: the space's, which keeps the default proxies under 10 minutes on a 2-core CPU; 200 for check; 10 for bench]:",
    );
    let n = |n: usize| if n == 0 { "all".to_string() } else { n.to_string() };
    for space in swapnas_benchmarks::spaces::registry() {
        text += &format!("\n  --bench {}: {}", space.name(), n(space.default_archs()));
        for set in space.sets() {
            text += &format!("; --set {}: {}", set.name, n(set.default_archs));
        }
    }
    text
}

/// Which benchmark task.
#[derive(Debug, Clone, Args)]
pub struct TaskArgs {
    /// Benchmark (search space and its accuracy table); see each space's tasks with an
    /// unknown --task.
    #[arg(long, default_value = swapnas_benchmarks::spaces::DEFAULT, value_parser = bench_names())]
    pub bench: String,

    /// Task of the benchmark (each space's tasks below); `all` (a run only): every task of
    /// the space, each in its own folder [default: the space's first task].
    #[arg(long, long_help = task_help())]
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
    /// [default: the space's, below, for a run; 200 for check; 10 for bench].
    #[arg(long, long_help = archs_help())]
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
/// ([`ProxySettingArgs`]), and the kernels their passes run on.
#[derive(Debug, Clone, Args)]
pub struct SettingArgs {
    #[command(flatten)]
    pub proxy: ProxySettingArgs,

    /// Kernels of the proxies' passes on the CPU (f32 and f64): `native` (direct GEMM convs, one-pass BN,
    /// and for the passes that back-propagate, native backward of conv, BN and average pooling
    /// inside burn's autodiff; README, Speed) or `burn` (burn's tensor ops, the reference path).
    /// Scores agree up to float rounding; GPU devices always run burn's ops.
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
    /// Output directory [default: results/<bench>-<task>; ablate: results/ablate/<bench>-<task>;
    /// bench: results/bench; check: results/check-<bench>-<task>; reproduce: results/paper].
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

    /// Score every arch's own network with every proxy. By default, on spaces with
    /// same-function classes (NB201: 5,044 among 15,625 archs; TNB101 micro: 1,376 among
    /// 4,096), the proxies whose score depends only on what the network computes score one
    /// network per class and report it for every member (scores.csv names it; README, Speed).
    #[arg(long)]
    pub no_dedup: bool,
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
