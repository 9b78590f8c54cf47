//! NAS-Bench-201 (Dong & Yang, ICLR 2020): 15,625 cell architectures, 6 edges × 5 ops, three
//! image-classification tasks. Everything the harness needs to know about the space is
//! declared here ([`Nb201Space`]).

mod arch;
mod net;
mod queries;
mod table;

pub use arch::{function_classes, Nb201Arch, Nb201Op, EDGES, GRAPH_FEATURES, NUM_ARCHS};
pub use net::{Nb201Builder, Nb201Config, Nb201Net};
pub use table::{Nb201Record, Nb201Table, Nb201Task, NB201_ARCHIVE};

use crate::data::data_dir::{sha256_file, DataDir, DataFile};
use crate::genome::{always_valid, Genome};
use crate::images::ImageSet;
use crate::sample::sample_indices;
use crate::space::{GraphFeatures, Representative, SpaceInfo};
use crate::space::{
    AccuracyColumn, Candidate, CheckedFile, PublishedSearch, QueryTable, Head, InputPrep, Loaded, Loss, Metric, Published, Reference, Request, SearchSpace,
    TargetSource, Task,
};
use anyhow::Result;
use std::path::{Path, PathBuf};

pub const NB201_SUITEZERO_ZIP: DataFile = DataFile {
    rel_path: "benchmarks/nb201/suitezero-nasbench201-zen.zip",
    source: "https://github.com/automl/NASLib/raw/0428083bb8a5c79823da72bd471cf2aabd3a3bb7/run/results/benchmarks/nb201_zen.zip",
};
pub const NB201_NATS_CSV: DataFile = DataFile {
    rel_path: "benchmarks/nb201/nats-tss-test-accuracy-200ep.csv",
    source: "https://github.com/v-tao/nats-bench-landscape/raw/312680307c44fd111146b2be0d0148194fbb2ca8/nats_bench.csv",
};
pub const NB201_ZC_JSON: DataFile = DataFile {
    rel_path: "benchmarks/nb201/zc_nasbench201.json",
    source: "https://github.com/automl/NASLib/raw/6639fd1579010457885c641553c55b0c153045aa/naslib/data/zc_nasbench201.json",
};

pub const NB201_HP12_PICKLE: DataFile = DataFile {
    rel_path: "benchmarks/nb201/nb2_cf10_hp12_info.p",
    source: "https://github.com/hzf1174/RoBoT/raw/ead6c2f4e9f6db932ca3929d43cee19df8d30ce7/data/nb2_cf10_hp12_info.p",
};

const ACCURACIES: &[AccuracyColumn] = &[
    AccuracyColumn { name: "val", about: "200-epoch validation accuracy (what NAS-Bench-Suite-Zero correlates against)" },
    AccuracyColumn { name: "test", about: "200-epoch test accuracy (NATS-Bench)" },
];

const fn task(name: &'static str, aliases: &'static [&'static str], images: ImageSet, classes: usize) -> Task {
    Task {
        name,
        aliases,
        metric: Metric::ACCURACY,
        images,
        input: InputPrep::AsIs,
        head: Head::Classes(classes),
        loss: Loss::CrossEntropy,
        targets: TargetSource::ImageLabels,
        accuracies: ACCURACIES,
        recurrent: false,
        version: 1,
    }
}

const TASKS: &[Task] = &[
    task("cifar10", &["cifar-10"], ImageSet::CIFAR10, 10),
    task("cifar100", &["cifar-100"], ImageSet::CIFAR100, 100),
    task("ImageNet16-120", &["imagenet16", "imagenet"], ImageSet::IMAGENET16_120, 120),
];

/// The declared task of this name (every [`Nb201Task`] is one).
fn declared(name: &str) -> &'static Task {
    TASKS.iter().find(|t| t.name == name).expect("every Nb201Task is declared in TASKS")
}

const FILES: &[CheckedFile] = &[
    CheckedFile {
        file: NB201_SUITEZERO_ZIP,
        sha256: "6c9aec8cd0c235d7b7a37a27f224bb719e7376e8048f2dd6d91bc06dcfcc2a2e",
        bytes: 1_661_280,
        or: None,
    },
    CheckedFile {
        file: NB201_NATS_CSV,
        sha256: "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e",
        bytes: 3_024_008,
        or: None,
    },
    CheckedFile {
        file: NB201_ZC_JSON,
        sha256: "5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641",
        bytes: 1_963_032,
        or: None,
    },
    CheckedFile {
        file: NB201_HP12_PICKLE,
        sha256: "1217bae8967cc2539bb7a09a2ebe47b8ca19e1813d959bc0b2ad6472e6a67497",
        bytes: 2_292_213,
        or: None,
    },
];

/// The NAS-Bench-201 search space.
pub struct Nb201Space;

/// The registry entry.
pub const SPACE: Nb201Space = Nb201Space;

/// The space's declaration.
const INFO: SpaceInfo = SpaceInfo {
    name: "nb201",
    about: "NAS-Bench-201: 15,625 cell architectures, three tasks",
    encodings: "the official string `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|` or NASLib's tuple of 6 op indices",
    tasks: TASKS,
    reference: Some(Reference { file: NB201_ZC_JSON, set: None }),
    published: &[
            Published { task: "cifar100", proxy: "reg_swap", rho: 0.90, source: "SWAP-NAS (ICLR 2024), abstract" },
            Published {
                task: "cifar100",
                proxy: "nwot",
                rho: 0.80,
                source: "SWAP-NAS (ICLR 2024), abstract: the second-best proxy",
            },
        ],
    published_searches: &[
        robot("cifar10", 94.36),
        robot("cifar100", 73.51),
        robot("ImageNet16-120", 46.34),
        hnas("cifar10", 94.04, 0.21),
        hnas("cifar100", 71.75, 1.04),
        hnas("ImageNet16-120", 45.91, 0.88),
    ],
    data_files: FILES,
    genome: Some(Genome {
        choices: &[5; 6],
        valid: always_valid,
        label: genome_label,
        table_complete: true,
        largest_params: Some(genome_largest),
    }),
    graph_features: Some(GraphFeatures { names: &GRAPH_FEATURES, compute: graph_features }),
    ..SpaceInfo::EMPTY
};

/// [`Nb201Arch::graph_features`] of an arch label.
fn graph_features(label: &str) -> Result<Vec<f64>> {
    Ok(label.parse::<Nb201Arch>()?.graph_features().to_vec())
}

/// RoBoT's NB201 row (ICLR 2024, Table 2: 10 runs, T = 20, 3,051 GPU-s on a 1080Ti).
const fn robot(task: &'static str, value: f64) -> PublishedSearch {
    PublishedSearch {
        algo: "robot",
        task,
        column: "test",
        value,
        sd: Some(0.0),
        queries: 20,
        cost_seconds: Some(3051.0),
        source: "RoBoT, ICLR 2024, Table 2",
    }
}

/// HNAS's NB201 row (NeurIPS 2022; T = 20 queries of the 12-epoch accuracy).
const fn hnas(task: &'static str, value: f64, sd: f64) -> PublishedSearch {
    PublishedSearch {
        algo: "hnas",
        task,
        column: "test",
        value,
        sd: Some(sd),
        queries: 20,
        cost_seconds: None,
        source: "HNAS, NeurIPS 2022",
    }
}

/// Genes: the 6 edges' op indices into [`Nb201Op::ALL`] (NASLib's tuple).
fn genome_arch(genes: &[u8]) -> Nb201Arch {
    Nb201Arch(std::array::from_fn(|e| Nb201Op::ALL[genes[e] as usize]))
}

fn genome_label(genes: &[u8]) -> String {
    genome_arch(genes).to_string()
}

/// The largest NB201 network: every edge a 3×3 conv.
fn largest_builder(task: &Task) -> Nb201Builder {
    builder(Nb201Arch([Nb201Op::Conv3x3; 6]), task)
}

/// The benchmark's network (C = 16, N = 5) of `arch` for `task`'s head.
fn builder(arch: Nb201Arch, task: &Task) -> Nb201Builder {
    Nb201Builder { arch, config: Nb201Config::default(), num_classes: task.head.width() }
}

/// The network its same-function class is scored by, when that is another arch's.
fn same_function(arch: Nb201Arch, task: &Task) -> Option<Representative> {
    let r = arch.representative();
    (r != arch).then(|| Representative {
        label: r.to_string(),
        builder: Box::new(builder(r, task)),
    })
}

fn genome_largest(task: &Task) -> usize {
    crate::space::param_count(&largest_builder(task))
}

impl SearchSpace for Nb201Space {
    fn info(&self) -> &SpaceInfo {
        &INFO
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let task: Nb201Task = request.task.name.parse()?;
        let t = std::time::Instant::now();
        let table = Nb201Table::load(data)?;
        eprintln!("nb201 table: {} archs from the {} in {} ms", table.records().len(), table.source(), t.elapsed().as_millis());
        let test = request.accuracy.name == "test";
        let picked = sample_indices(table.records().len(), request.archs.unwrap_or(self.default_archs()), request.seed);
        let candidates = picked
            .into_iter()
            .map(|i| {
                let r = &table.records()[i];
                Candidate {
                    label: r.arch.to_string(),
                    builder: Box::new(builder(r.arch, request.task)),
                    columns: vec![
                        r.arch.to_tuple_string(),
                        r.nb201_index.to_string(),
                        crate::space::source_number(r.val_accuracy(task)),
                        crate::space::source_number(r.test_accuracy(task)),
                    ],
                    accuracy: if test { r.test_accuracy(task) } else { r.val_accuracy(task) },
                    same_function: same_function(r.arch, request.task),
                }
            })
            .collect();
        let split = if test { "test" } else { "validation" };
        let accuracy_label = format!("{task} {split} accuracy, 200 epochs ({})", table.accuracy_origin(test));
        let mut notes = vec![("network".to_string(), "NAS-Bench-201 (C=16, N=5), BN on batch statistics".to_string())];
        let images = request.task.images.resolve(data);
        if images != request.task.images {
            notes.push((
                "images".to_string(),
                format!(
                    "STAND-IN: {} — the real {} is not in the data directory ({})",
                    images.name(),
                    request.task.images.name(),
                    request.task.images.source.1
                ),
            ));
        }
        Ok(Loaded {
            name: format!("nb201-{task}"),
            candidates,
            column_names: vec!["tuple", "nb201_index", "val_accuracy", "test_accuracy"],
            accuracy_label,
            // Cheap to build, so always computed.
            largest_params: Some(genome_largest(request.task)),
            notes,
        })
    }

    fn reference_candidate(&self, arch: &str, task: &Task) -> Result<Candidate> {
        let arch: Nb201Arch = arch.parse()?;
        Ok(Candidate {
            label: arch.to_string(),
            builder: Box::new(builder(arch, task)),
            columns: Vec::new(),
            accuracy: f64::NAN,
            same_function: same_function(arch, task),
        })
    }

    fn function_classes(&self) -> Option<usize> {
        Some(function_classes())
    }

    /// RoBoT's and HNAS's query on every task: CIFAR-10's 12-epoch validation accuracy (their
    /// code queries it for CIFAR-100 and ImageNet16-120 too; the found arch is then reported on
    /// the searched task).
    fn queries(&self, task: &Task, data: &DataDir) -> Result<QueryTable> {
        let _ = task;
        let mut table = queries::read_hp12(&data.require(&NB201_HP12_PICKLE)?)?;
        table.about.push_str(", on every task as RoBoT's and HNAS's code query it");
        Ok(table)
    }

    fn import(&self, data: &DataDir, out: Option<&Path>) -> Result<PathBuf> {
        let zip = data.require(&NB201_SUITEZERO_ZIP)?;
        let csv = data.require(&NB201_NATS_CSV)?;
        let table = Nb201Table::load_files(&zip, &csv)?;
        let mut provenance = std::collections::BTreeMap::new();
        for (path, file) in [(&zip, NB201_SUITEZERO_ZIP), (&csv, NB201_NATS_CSV)] {
            let (sum, _) = sha256_file(path)?;
            provenance.insert(format!("source {}", file.rel_path), format!("{} sha256={sum}", file.source));
        }
        provenance.insert("created_by".to_string(), format!("swapnas {} data import", env!("CARGO_PKG_VERSION")));
        provenance.insert("val_accuracy".to_string(), "200-epoch validation accuracy (NAS-Bench-Suite-Zero)".to_string());
        provenance.insert("test_accuracy".to_string(), "200-epoch test accuracy (NATS-Bench)".to_string());
        provenance.insert("zen".to_string(), "Suite-Zero's Zen score".to_string());
        let out = out.map_or_else(|| data.path(NB201_ARCHIVE), Path::to_path_buf);
        table.to_archive(provenance).write(&out)?;
        eprintln!("wrote {} ({} archs × {} tasks)", out.display(), table.records().len(), TASKS.len());
        Ok(out)
    }
}
