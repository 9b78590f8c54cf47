//! Benchmark tasks as the harness scores them: each loader turns a benchmark's table into
//! [`Candidate`]s (a network builder, the accuracy, extra columns), says which images the
//! proxies see, and derives the reg-SWAP prior by the documented rule.

use crate::cli::{Accuracy, Bench, DartsSet, RunArgs};
use crate::sample::sample_indices;
use anyhow::{bail, Result};
use burn::tensor::Device;
use swapnas_benchmarks::darts::{load_nb301_zc, load_swap_darts_csv, DartsBuilder, DartsConfig};
use swapnas_benchmarks::nb101::{load_nb101 as load_nb101_table, Nb101Builder, Nb101Config};
use swapnas_benchmarks::nb201::{Nb201Arch, Nb201Builder, Nb201Config, Nb201Op, Nb201Table, Nb201Task, NB201_ARCHIVE};
use swapnas_benchmarks::{BuildOptions, DataDir, ImageSet, InitScheme, NetworkBuilder, WeightInit};
use swapnas_proxies::RegSwapPrior;

/// One architecture to score: a builder for its network and what the benchmark says of it.
pub struct Candidate {
    pub label: String,
    pub builder: Box<dyn NetworkBuilder + Send>,
    /// Extra per-arch columns for scores.csv (index, accuracies).
    pub columns: Vec<String>,
    pub accuracy: f64,
}

/// A benchmark task, loaded and sampled.
pub struct Suite {
    pub name: String,
    pub images: ImageSet,
    pub candidates: Vec<Candidate>,
    pub column_names: Vec<&'static str>,
    pub accuracy_label: String,
    /// reg-SWAP's default prior (μ = σ = the largest network of the space); `None` when the
    /// run does not need it (computing it may mean building every network of the table).
    pub reg_prior: Option<RegSwapPrior>,
    pub notes: Vec<(String, String)>,
}

/// Whether the run needs the space's default reg-SWAP prior.
pub fn needs_reg_prior(args: &RunArgs) -> bool {
    args.reg_mu.is_none() && args.proxies.split(',').any(|p| matches!(p.trim(), "reg_swap" | "all"))
}

/// Loads the benchmark task `args` names.
pub fn load(args: &RunArgs, data: &DataDir) -> Result<Suite> {
    if args.bench != Bench::Nb301 && args.set.is_some() {
        bail!("--set applies to --bench nb301 only (swap1000 or suitezero)");
    }
    if args.bench != Bench::Nb201 && args.task != "cifar10" {
        bail!("--bench {:?} has accuracies for cifar10 only, not `{}`", args.bench, args.task);
    }
    if args.bench != Bench::Nb201 && args.accuracy == Accuracy::Test {
        bail!("--accuracy test is available for nb201 only");
    }
    match args.bench {
        Bench::Nb201 => load_nb201(args, data),
        Bench::Nb301 => load_darts(args, data),
        Bench::Nb101 => load_nb101(args, data),
    }
}

fn largest_params(builders: impl Iterator<Item = Box<dyn NetworkBuilder + Send>>, classes: usize) -> usize {
    let device = Device::flex();
    builders
        .map(|b| b.build(&mut WeightInit::new(InitScheme::PytorchDefault, 0), &BuildOptions::new(classes), &device).parameter_count())
        .max()
        .unwrap_or(0)
}

pub fn load_nb201(args: &RunArgs, data: &DataDir) -> Result<Suite> {
    let task: Nb201Task = args.task.parse()?;
    let t = std::time::Instant::now();
    let table = Nb201Table::load(data)?;
    let source = if data.path(NB201_ARCHIVE).is_file() { "HDF5 archive" } else { "source files" };
    eprintln!("nb201 table: {} archs from the {source} in {} ms", table.records().len(), t.elapsed().as_millis());
    let config = Nb201Config::default();
    let picked = sample_indices(table.records().len(), args.archs.unwrap_or(100), args.seed);
    let candidates = picked
        .into_iter()
        .map(|i| {
            let r = &table.records()[i];
            let accuracy = match args.accuracy {
                Accuracy::Val => r.val_accuracy(task),
                Accuracy::Test => r.test_accuracy(task),
            };
            Candidate {
                label: r.arch.to_string(),
                builder: Box::new(Nb201Builder { arch: r.arch, config, num_classes: task.num_classes() }),
                columns: vec![
                    r.arch.to_tuple_string(),
                    r.nb201_index.to_string(),
                    r.val_accuracy(task).to_string(),
                    r.test_accuracy(task).to_string(),
                ],
                accuracy,
            }
        })
        .collect();
    // The largest NB201 network: every edge a 3×3 conv (cheap to build, so always computed).
    let largest = Box::new(Nb201Builder { arch: Nb201Arch([Nb201Op::Conv3x3; 6]), config, num_classes: task.num_classes() });
    let largest = largest_params(std::iter::once(largest as Box<dyn NetworkBuilder + Send>), task.num_classes());
    let accuracy_label = match args.accuracy {
        Accuracy::Val => format!("{task} validation accuracy, 200 epochs (Suite-Zero)"),
        Accuracy::Test => format!("{task} test accuracy, 200 epochs (NATS-Bench)"),
    };
    let mut notes = vec![("network".to_string(), "NAS-Bench-201 (C=16, N=5), BN on batch statistics".to_string())];
    if task == Nb201Task::ImageNet16_120 {
        notes.push((
            "images".to_string(),
            "STAND-IN: 120 ImageNet sample photos at 16×16, not the ImageNet16-120 training set".to_string(),
        ));
    }
    Ok(Suite {
        name: format!("nb201-{task}"),
        images: task.images(),
        candidates,
        column_names: vec!["tuple", "nb201_index", "val_accuracy", "test_accuracy"],
        accuracy_label,
        reg_prior: Some(RegSwapPrior::from_largest(largest)),
        notes,
    })
}

fn load_darts(args: &RunArgs, data: &DataDir) -> Result<Suite> {
    let set = args.set.unwrap_or(DartsSet::Suitezero);
    let (records, config, name, network, accuracy_label, default_archs) = match set {
        DartsSet::Swap1000 => (
            load_swap_darts_csv(data)?,
            DartsConfig::swap(),
            "nb301-swap1000-cifar10",
            "SWAP authors' setting: DARTS Network(C=3, classes=10, layers=1) — one reduction cell on the raw \
             image, no stem (pym1024/SWAP correlation.py)",
            "CIFAR-10 validation accuracy (SWAP authors' DARTS_archs_CIFAR10.csv)",
            0,
        ),
        DartsSet::Suitezero => (
            load_nb301_zc(data)?,
            DartsConfig::nb301(),
            "nb301-suitezero-cifar10",
            "NAS-Bench-301 evaluation network as NASLib builds it (C=32, 8 cells, reductions at 1/3 and 2/3)",
            "CIFAR-10 validation accuracy (NAS-Bench-301 surrogate, Suite-Zero zc_nasbench301.json)",
            100,
        ),
    };
    let picked = sample_indices(records.len(), args.archs.unwrap_or(default_archs), args.seed);
    let candidates = picked
        .iter()
        .map(|&i| {
            let r = &records[i];
            Candidate {
                label: r.arch.to_string(),
                builder: Box::new(DartsBuilder { arch: r.arch, config, num_classes: 10 }),
                columns: vec![i.to_string()],
                accuracy: r.accuracy,
            }
        })
        .collect();
    let reg_prior = needs_reg_prior(args).then(|| {
        let all = records.iter().map(|r| Box::new(DartsBuilder { arch: r.arch, config, num_classes: 10 }) as Box<dyn NetworkBuilder + Send>);
        RegSwapPrior::from_largest(largest_params(all, 10))
    });
    Ok(Suite {
        name: name.to_string(),
        images: ImageSet::Cifar10,
        candidates,
        column_names: vec!["row"],
        accuracy_label: accuracy_label.to_string(),
        reg_prior,
        notes: vec![("network".to_string(), network.to_string())],
    })
}

fn load_nb101(args: &RunArgs, data: &DataDir) -> Result<Suite> {
    let (records, source) = load_nb101_table(data)?;
    let config = Nb101Config::default();
    let picked = sample_indices(records.len(), args.archs.unwrap_or(20), args.seed);
    let candidates = picked
        .iter()
        .map(|&i| {
            let r = &records[i];
            Candidate {
                label: r.arch.to_tuple_string(),
                builder: Box::new(Nb101Builder { arch: r.arch, config, num_classes: 10 }),
                columns: vec![i.to_string()],
                accuracy: r.accuracy,
            }
        })
        .collect();
    let reg_prior = needs_reg_prior(args).then(|| {
        let all = records.iter().map(|r| Box::new(Nb101Builder { arch: r.arch, config, num_classes: 10 }) as Box<dyn NetworkBuilder + Send>);
        RegSwapPrior::from_largest(largest_params(all, 10))
    });
    Ok(Suite {
        name: "nb101-cifar10".to_string(),
        images: ImageSet::Cifar10,
        candidates,
        column_names: vec!["row"],
        accuracy_label: format!("CIFAR-10 validation accuracy, 108 epochs ({source})"),
        reg_prior,
        notes: vec![(
            "network".to_string(),
            "NAS-Bench-101 (stem 128 ch, 3 stacks × 3 cells) — heavy: a B=16 forward pass takes 0.5–4 s on a \
             2-core CPU, so SWAP (R=32) costs ~15–130 s per arch; see the s/arch column"
                .to_string(),
        )],
    })
}
