//! NAS-Bench-101 (Ying et al., ICML 2019): cells of up to 7 vertices and 9 edges, ops
//! conv3×3 / conv1×1 / max pool 3×3; Suite-Zero's 500 CIFAR-10 archs, or the full table when
//! converted ([`Nb101Space`]).

mod arch;
mod net;
mod table;

pub use arch::{Nb101Arch, Nb101Op, Nb101Spec, GRAPH_FEATURES, MAX_EDGES, NUM_VERTICES};
pub use net::{Nb101Builder, Nb101Config, Nb101Net};
pub use table::{load_nb101, load_nb101_zc, nb101_from_archive, Nb101Record, NB101_ARCHIVE};

use crate::data::data_dir::{DataDir, DataFile};
use crate::images::ImageSet;
use crate::sample::sample_indices;
use crate::space::{AccuracyColumn, Candidate, CheckedFile, GraphFeatures, Head, InputPrep, Loaded, Loss, Metric, TargetSource, Reference, Request, SearchSpace, SpaceInfo, Task};
use crate::genome::Genome;
use crate::NetworkBuilder;
use anyhow::Result;

pub const NB101_ZC_JSON: DataFile = DataFile {
    rel_path: "benchmarks/nb101/zc_nasbench101.json",
    source: "https://github.com/automl/NASLib/raw/22280f711aa782fe9157d1b4e5ce4f83f47ab908/naslib/data/zc_nasbench101.json",
};

const TASKS: &[Task] = &[Task {
    name: "cifar10",
    aliases: &["cifar-10"],
    metric: Metric::ACCURACY,
    images: ImageSet::CIFAR10,
    input: InputPrep::AsIs,
    head: Head::Classes(10),
    loss: Loss::CrossEntropy,
    targets: TargetSource::ImageLabels,
    accuracies: &[AccuracyColumn { name: "val", about: "108-epoch CIFAR-10 validation accuracy" }],
    recurrent: false,
    version: 1,
}];

const FILES: &[CheckedFile] = &[CheckedFile {
    file: NB101_ZC_JSON,
    sha256: "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2",
    bytes: 259_564,
        or: None,
    }];

/// The NAS-Bench-101 search space.
pub struct Nb101Space;

/// The registry entry.
pub const SPACE: Nb101Space = Nb101Space;

/// The space's declaration.
const INFO: SpaceInfo = SpaceInfo {
    name: "nb101",
    about: "NAS-Bench-101: Suite-Zero's 500 archs, or the converted full table (heavy networks)",
    encodings: "the 56-tuple: 7×7 adjacency matrix, then 7 op codes",
    tasks: TASKS,
    // The networks are heavy (a B=16 forward pass takes 0.5–4 s on a 2-core CPU).
    default_archs: 20,
    reference: Some(Reference { file: NB101_ZC_JSON, set: None }),
    data_files: FILES,
    genome: Some(Genome {
        choices: &GENE_CHOICES,
        valid: |g| genome_arch(g).is_ok(),
        label: |g| genome_arch(g).map(|a| a.to_tuple_string()).unwrap_or_default(),
        // Suite-Zero's 500 archs sample the 423k (the converted official table has them all).
        table_complete: false,
        largest_params: None,
    }),
    graph_features: Some(GraphFeatures { names: &GRAPH_FEATURES, compute: graph_features }),
    ..SpaceInfo::EMPTY
};

/// [`Nb101Spec::graph_features`] of an arch label (of its pruned cell).
fn graph_features(label: &str) -> Result<Vec<f64>> {
    Ok(label.parse::<Nb101Arch>()?.pruned().graph_features().to_vec())
}

/// The genome: the 21 entries above the diagonal of the 7×7 adjacency matrix (row-major), then
/// the 5 interior vertices' ops (conv3×3, conv1×1, max pool); valid as `nasbench` checks a cell
/// (an input → output path, at most 9 edges after pruning). Different genes may prune to the
/// same cell: the table matches them by [`Nb101Spec::hash`] ([`SearchSpace::arch_key`]).
const GENE_CHOICES: [u8; 26] = {
    let mut c = [2u8; 26];
    let mut i = 21;
    while i < 26 {
        c[i] = 3;
        i += 1;
    }
    c
};

fn genome_arch(genes: &[u8]) -> Result<Nb101Arch> {
    let mut matrix = [[false; NUM_VERTICES]; NUM_VERTICES];
    let mut k = 0;
    for (u, row) in matrix.iter_mut().enumerate() {
        for cell in row.iter_mut().skip(u + 1) {
            *cell = genes[k] == 1;
            k += 1;
        }
    }
    let mut ops = [Nb101Op::Input; NUM_VERTICES];
    ops[NUM_VERTICES - 1] = Nb101Op::Output;
    for (v, &g) in genes[21..].iter().enumerate() {
        ops[v + 1] = [Nb101Op::Conv3x3, Nb101Op::Conv1x1, Nb101Op::MaxPool3x3][g as usize];
    }
    Nb101Arch::new(matrix, ops)
}

impl SearchSpace for Nb101Space {
    fn info(&self) -> &SpaceInfo {
        &INFO
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let (records, source) = load_nb101(data)?;
        let config = Nb101Config::default();
        let picked = sample_indices(records.len(), request.archs.unwrap_or(self.default_archs()), request.seed);
        let builder = |arch: Nb101Arch| Nb101Builder { arch, config, num_classes: 10 };
        let candidates = picked
            .iter()
            .map(|&i| {
                let r = &records[i];
                Candidate {
                    label: r.arch.to_tuple_string(),
                    builder: Box::new(builder(r.arch)),
                    columns: vec![i.to_string()],
                    accuracy: r.accuracy,
                    same_function: None,
                }
            })
            .collect();
        let largest_params = request.largest.then(|| {
            let all: Vec<Nb101Builder> = records.iter().map(|r| builder(r.arch)).collect();
            crate::space::largest_params(all.iter().map(|b| b as &dyn NetworkBuilder))
        });
        Ok(Loaded {
            name: "nb101-cifar10".to_string(),
            candidates,
            column_names: vec!["row"],
            accuracy_label: format!("CIFAR-10 validation accuracy, 108 epochs ({source})"),
            largest_params,
            notes: vec![(
                "network".to_string(),
                "NAS-Bench-101 (stem 128 ch, 3 stacks × 3 cells) — heavy: a B=16 forward pass takes 0.5–4 s on a \
                 2-core CPU, so SWAP (R=32) costs ~15–130 s per arch; see the s/arch column"
                    .to_string(),
            )],
        })
    }

    fn reference_candidate(&self, arch: &str, _task: &Task) -> Result<Candidate> {
        let arch: Nb101Arch = arch.parse()?;
        Ok(Candidate {
            label: arch.to_tuple_string(),
            builder: Box::new(Nb101Builder { arch, config: Nb101Config::default(), num_classes: 10 }),
            columns: Vec::new(),
            accuracy: f64::NAN,
            same_function: None,
        })
    }

    fn arch_key(&self, label: &str) -> String {
        label.parse::<Nb101Arch>().map_or_else(|_| label.to_string(), |a| a.pruned().hash())
    }
}
