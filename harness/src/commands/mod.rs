//! The subcommands, one file each: its flags (`…Args`, built from the flag groups in
//! [`crate::cli`]) and its `run`, a short composition of the shared steps — [`crate::spec`]
//! (flags → typed specs), [`crate::engine`] (score), `swapnas_reports` (derive), and
//! [`crate::outputs`] (write).
//!
//! Adding a command: its file here (an `Args` struct whose doc comment is its `--help`, and
//! `pub fn run(&Args) -> Result<()>`) and its line in `commands!` below.

use clap::Parser;

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
    pub run: run::RunArgs,
}

/// Declares each command's module, the `Command` enum (one variant per command, its help the
/// `Args` struct's doc comment) and [`dispatch`].
macro_rules! commands {
    ($($(#[$meta:meta])* $variant:ident($module:ident::$args:ident)),* $(,)?) => {
        $(pub mod $module;)*

        /// A subcommand (without one: a run, [`run::RunArgs`]).
        #[derive(Debug, clap::Subcommand)]
        pub enum Command {
            $($(#[$meta])* $variant($module::$args),)*
        }

        /// Runs the command the flags name.
        pub fn dispatch(cli: &Cli) -> anyhow::Result<()> {
            match &cli.command {
                None => run::run(&cli.run),
                $(Some(Command::$variant(args)) => $module::run(args),)*
            }
        }
    };
}

pub mod run;

// The commands, in `--help` order. Adding one: its file, and its line here.
commands! {
    Check(check::CheckArgs),
    Reproduce(reproduce::ReproduceArgs),
    Bench(bench::BenchArgs),
    Search(search::SearchArgs),
    Merge(merge::MergeArgs),
    Ablate(ablate::AblateArgs),
    #[command(subcommand)] Data(data::DataCommand),
}
