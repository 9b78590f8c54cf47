//! Command-line interface.

use clap::{Parser, ValueEnum};
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
    /// the archs of `zc_<bench>.json` and reports Spearman(ours, reference) and both
    /// proxies' correlation with validation accuracy on the same archs.
    Check(CheckArgs),
    /// Reproduce the SWAP paper's comparison: every proxy on every benchmark task that
    /// exists, with the paper's sample size (1,000 archs) and settings; resumable (each
    /// task's score cache); writes results/paper/ with the full table, the heatmap and a
    /// REPORT.md that sets our numbers beside the published ones.
    Reproduce(ReproduceArgs),
    /// Speed and memory: archs/s and peak RSS of each proxy on a fixed seeded sample of NB201
    /// archs (scored one after another), plus where SWAP's time goes (init / forward /
    /// pattern count); printed and saved as JSON. No cache is used.
    Bench(RunArgs),
    /// Benchmark data: fetch it from its public sources, or verify it against the manifest.
    #[command(subcommand)]
    Data(DataCommand),
}

/// `swapnas check`: the run's flags plus how many independent draws to score.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,

    /// Independent draws of each proxy (draw 0 uses --seed's per-arch seeds, draw d another
    /// seed stream): with 2 or more, the table adds each proxy's own draw-to-draw agreement
    /// (the ceiling for any agreement with a single reference draw) and the spread of its
    /// correlation with accuracy across draws.
    #[arg(long, default_value_t = 1)]
    pub draws: usize,
}

#[derive(Debug, clap::Subcommand)]
pub enum DataCommand {
    /// Download missing or corrupt benchmark tables (SHA-256 checked) into the data directory.
    Fetch {
        /// Data directory [default: $SWAPNAS_DATA, else ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files (nb201, nb101, nb301) [default: all].
        #[arg(long)]
        bench: Option<String>,
        /// Fetch `<URL>/<path in the data directory>` instead of the public sources.
        #[arg(long)]
        mirror: Option<String>,
    },
    /// Convert a benchmark's source tables into one HDF5 archive
    /// (`benchmarks/<bench>/<bench>.h5`), which runs then load instead (in milliseconds).
    Import {
        /// Data directory [default: $SWAPNAS_DATA, else ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Benchmark to import (nb201).
        #[arg(long, default_value = "nb201")]
        bench: String,
        /// Output file [default: <data dir>/benchmarks/<bench>/<bench>.h5].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the data directory's files against the manifest (size and SHA-256).
    Verify {
        /// Data directory [default: $SWAPNAS_DATA, else ./data].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Only this benchmark's files [default: all].
        #[arg(long)]
        bench: Option<String>,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ReproduceArgs {
    /// Smoke check: 5 archs per task, 2 SWAP repeats, baseline batch 16.
    #[arg(long)]
    pub quick: bool,

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

    /// Data directory [default: $SWAPNAS_DATA, else ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,

    /// Device: cpu, or with the `tch` feature tch-cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bench {
    /// NAS-Bench-201: 15,625 cell architectures, three tasks.
    Nb201,
    /// The DARTS space: NAS-Bench-301 (Suite-Zero's 725 archs) or the SWAP authors' 1000
    /// genotypes (--set).
    Nb301,
    /// NAS-Bench-101: Suite-Zero's 500 archs (heavy networks).
    Nb101,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DartsSet {
    /// The SWAP authors' DARTS-1000 (`DARTS_archs_CIFAR10.csv`) in their official setting:
    /// Network(C=3, layers=1), 16 images, 32 repeats; all 1000 archs by default.
    Swap1000,
    /// Suite-Zero's 725 NAS-Bench-301 archs on the NB301 evaluation network.
    Suitezero,
}

/// Which images the proxies see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Input {
    /// The first B training images in file order, the same for every arch (the SWAP
    /// reference's input).
    First,
    /// Per arch, B training images drawn with the arch's seed, each randomly cropped from a
    /// copy padded by 4 black pixels and flipped left-right with probability ½ — the random,
    /// augmented minibatch the zero-cost-nas / NASLib references (Suite-Zero) score with.
    RandomAugmented,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Accuracy {
    /// 200-epoch validation accuracy (what NAS-Bench-Suite-Zero correlates against).
    Val,
    /// 200-epoch test accuracy (NATS-Bench).
    Test,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Benchmark (search space and its accuracy table).
    #[arg(long, value_enum, default_value_t = Bench::Nb201)]
    pub bench: Bench,

    /// Task of the benchmark: cifar10, cifar100 or ImageNet16-120 for nb201 (ImageNet16-120 is
    /// scored on a 16×16 stand-in image set: see README).
    #[arg(long, default_value = "cifar10")]
    pub task: String,

    /// nb301 only: which DARTS table [default: suitezero].
    #[arg(long, value_enum)]
    pub set: Option<DartsSet>,

    /// Number of architectures, drawn uniformly without replacement with --seed (0 = all)
    /// [default: 100 for a run (nb201, nb301 suitezero; all 1000 for nb301 swap1000; 20 for
    /// the heavy nb101), which keeps the default proxies under 10 minutes on a 2-core CPU; 200
    /// for check; 10 for bench].
    #[arg(long)]
    pub archs: Option<usize>,

    /// Proxies to run, comma-separated (see --list-proxies), or `all`.
    #[arg(long, default_value = "swap,reg_swap")]
    pub proxies: String,

    /// SWAP: re-initialisations averaged over (the reference's 32).
    #[arg(long, default_value_t = 32)]
    pub repeats: usize,

    /// SWAP: number of input images, the first of the training set (the reference's 16).
    #[arg(long, default_value_t = 16)]
    pub batch: usize,

    /// Baseline proxies: number of real training images in their minibatch (32 is what
    /// NAS-Bench-Suite-Zero's reference scores were computed with: its jacov never exceeds −32).
    #[arg(long, default_value_t = 32)]
    pub proxy_batch: usize,

    /// Seed for the architecture sample and for weight initialisation.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// reg-SWAP μ in millions of parameters [default: the space's largest network, rounded
    /// to two significant digits; 1.5 for nb201].
    #[arg(long)]
    pub reg_mu: Option<f64>,

    /// reg-SWAP σ in millions of parameters [default: equal to μ, as in the paper].
    #[arg(long)]
    pub reg_sigma: Option<f64>,

    /// Accuracy to correlate against.
    #[arg(long, value_enum, default_value_t = Accuracy::Val)]
    pub accuracy: Accuracy,

    /// Output directory [default: results/<bench>-<task>].
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Data directory [default: $SWAPNAS_DATA, else ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Device: cpu (pure-Rust flex backend), or with the `tch` feature tch-cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,

    /// Score architectures in parallel with this many threads [default: all cores].
    #[arg(long)]
    pub jobs: Option<usize>,

    /// Neither read nor write the score cache (`<out>/scores.jsonl`).
    #[arg(long)]
    pub no_cache: bool,

    /// Images the proxies see: `first` (the same first B training images for every arch) or
    /// `random-augmented` (a seeded random, augmented batch per arch, as Suite-Zero's
    /// reference scores were computed; drawn from the training images in the data directory).
    #[arg(long, value_enum, default_value_t = Input::First)]
    pub input: Input,

    /// List the registered proxies and exit.
    #[arg(long)]
    pub list_proxies: bool,
}
