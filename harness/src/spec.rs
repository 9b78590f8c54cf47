//! Flags → typed specs: the one place that turns the command line's structs (`cli`) into what
//! the engine takes (a [`Target`], a [`ProxyPlan`] with its [`ProxySettings`], an [`InputSpec`]),
//! validating as it goes. The engine itself reads no flag.

use crate::cli::{self, InputArgs, ProxyArgs, SetArgs, SettingArgs, SplitArg, TaskArgs};
use crate::engine::{Input, InputSpec, ProxyPlan, Shrink, Target};
use anyhow::{bail, Result};
use swapnas_benchmarks::Split;
use swapnas_proxies::ProxySettings;

/// `--bench`, `--task` and (where the command has it) `--set`.
pub fn target(task: &TaskArgs, set: Option<&SetArgs>) -> Result<Target> {
    Target::resolve(&task.bench, task.task.as_deref(), set.and_then(|s| s.set.as_deref()))
}

/// The proxies' settings flags (generated from the proxies' declarations) and `--kernels`.
pub fn settings(args: &SettingArgs) -> Result<ProxySettings> {
    let mut settings = ProxySettings::default();
    settings.kernels = args.kernels.into();
    for (name, value) in &args.proxy.given {
        settings.set(name, value)?;
    }
    Ok(settings)
}

/// `--proxies` with the settings flags, validated.
pub fn plan(args: &ProxyArgs) -> Result<ProxyPlan> {
    ProxyPlan::resolve(&args.proxies, &settings(&args.settings)?)
}

/// `--input`, `--input-split`, `--input-size`, `--shrink`.
pub fn input(args: &InputArgs) -> Result<InputSpec> {
    if args.input_size == Some(0) {
        bail!("--input-size must be at least 1 pixel");
    }
    Ok(InputSpec {
        kind: match args.input {
            cli::Input::First => Input::First,
            cli::Input::Random => Input::Random,
            cli::Input::RandomAugmented => Input::RandomAugmented,
        },
        split: match args.input_split {
            SplitArg::Train => Split::Train,
            SplitArg::Test => Split::Test,
        },
        size: args.input_size,
        shrink: match args.shrink {
            cli::Shrink::Crop => Shrink::Crop,
            cli::Shrink::Resize => Shrink::Resize,
        },
    })
}
