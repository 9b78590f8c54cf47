//! The DARTS space (Liu et al., ICLR 2019): NAS-Bench-301 (Suite-Zero's 725 archs, CIFAR-10)
//! and the SWAP authors' DARTS-1000 set (1000 genotypes with their CIFAR-10 accuracy), as
//! two tables (`--set`) of one space ([`DartsSpace`]).

mod arch;
mod net;
mod table;

pub use arch::{DartsArch, DartsCell, DartsOp, EDGES_PER_CELL, GRAPH_FEATURES};
pub use net::{DartsBuilder, DartsConfig, DartsNet};
pub use table::{load_nb301_zc, load_swap_darts_csv, load_swap_darts_csv_file, parse_swap_darts_csv, DartsRecord};

use crate::data::data_dir::{DataDir, DataFile};
use crate::genome::Genome;
use crate::images::ImageSet;
use crate::sample::sample_indices;
use crate::space::{
    AccuracyColumn, Candidate, CheckedFile, Head, InputPrep, Loaded, Loss, Metric, Reference, Request, SearchSpace, SpaceInfo, TableSet,
    TargetSource, Task,
};
use crate::NetworkBuilder;
use anyhow::Result;

pub const NB301_ZC_JSON: DataFile = DataFile {
    rel_path: "benchmarks/nb301/zc_nasbench301.json",
    source: "https://github.com/automl/NASLib/raw/6639fd1579010457885c641553c55b0c153045aa/naslib/data/zc_nasbench301.json",
};
pub const NB301_SWAP_DARTS_CSV: DataFile = DataFile {
    rel_path: "benchmarks/nb301/DARTS_archs_CIFAR10.csv",
    source: "https://github.com/pym1024/SWAP/raw/8d6225609ea3cf1c08980250d9b68113c34a0474/datasets/DARTS_archs_CIFAR10.csv",
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
    accuracies: &[AccuracyColumn { name: "val", about: "CIFAR-10 validation accuracy of the chosen table" }],
    recurrent: false,
    version: 1,
}];

const SETS: &[TableSet] = &[
    TableSet {
        name: "suitezero",
        about: "Suite-Zero's 725 NAS-Bench-301 archs on the NB301 evaluation network",
        default_archs: 100,
    },
    TableSet {
        name: "swap1000",
        about: "the SWAP authors' DARTS-1000 (DARTS_archs_CIFAR10.csv) in their official setting: \
                Network(C=3, layers=1), 16 images, 32 repeats; all 1000 archs by default",
        default_archs: 0,
    },
];

const FILES: &[CheckedFile] = &[
    CheckedFile {
        file: NB301_SWAP_DARTS_CSV,
        sha256: "d28d263aa7dd4103b6a1da1775b1b03ae16ffd2516409ca3bd493c8784abe6b0",
        bytes: 423_509,
        or: None,
    },
    CheckedFile {
        file: NB301_ZC_JSON,
        sha256: "537e9abd6f0b14fdffdfcb3c07b18a037647b5c80808b3b2cf9a51b1b491aba1",
        bytes: 820_765,
        or: None,
    },
];

/// The DARTS / NAS-Bench-301 search space.
pub struct DartsSpace;

/// The registry entry.
pub const SPACE: DartsSpace = DartsSpace;

/// The space's declaration.
const INFO: SpaceInfo = SpaceInfo {
    name: "nb301",
    about: "the DARTS space: NAS-Bench-301 (Suite-Zero's 725 archs) or the SWAP authors' 1000 genotypes (--set)",
    encodings: "NASLib's compact `[[(input, op) ×8], [(input, op) ×8]]` or the DARTS `Genotype(normal=…, reduce=…)`",
    tasks: TASKS,
    sets: SETS,
    reference: Some(Reference { file: NB301_ZC_JSON, set: Some("suitezero") }),
    data_files: FILES,
    // The tables sample the space (725 and 1000 of ~10^18 archs): a found arch is one to train.
    genome: Some(Genome { choices: &GENE_CHOICES, valid: genes_valid, label: genes_label, table_complete: false, largest_params: None }),
    graph_features: Some(crate::space::GraphFeatures { names: &GRAPH_FEATURES, compute: graph_features }),
    ..SpaceInfo::EMPTY
};

/// [`DartsArch::graph_features`] of an arch label.
fn graph_features(label: &str) -> Result<Vec<f64>> {
    Ok(label.parse::<DartsArch>()?.graph_features())
}

/// Genes per cell (normal, then reduction): per edge its op (index into
/// [`DartsOp::COMPACT`], no `none`) and its input state (edge `e` may read states
/// `0..e / 2 + 2`).
const GENES_PER_CELL: usize = 2 * EDGES_PER_CELL;
const GENE_CHOICES: [u8; 2 * GENES_PER_CELL] = {
    let mut c = [0u8; 2 * GENES_PER_CELL];
    let mut i = 0;
    while i < c.len() {
        let e = (i % GENES_PER_CELL) / 2;
        c[i] = if i % 2 == 0 { DartsOp::COMPACT.len() as u8 } else { (2 + e / 2) as u8 };
        i += 1;
    }
    c
};

fn genes_cell(genes: &[u8]) -> DartsCell {
    DartsCell(std::array::from_fn(|e| (DartsOp::COMPACT[genes[2 * e] as usize], genes[2 * e + 1] as usize)))
}

/// A node's two edges read two different states (as in DARTS genotypes and every NB301 arch).
fn genes_valid(genes: &[u8]) -> bool {
    genes.chunks(4).all(|node| node[1] != node[3])
}

fn genes_label(genes: &[u8]) -> String {
    let (normal, reduce) = genes.split_at(GENES_PER_CELL);
    DartsArch::new(genes_cell(normal), genes_cell(reduce)).map_or_else(|e| format!("invalid: {e}"), |a| a.to_string())
}

impl SearchSpace for DartsSpace {
    fn info(&self) -> &SpaceInfo {
        &INFO
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let set = request.set.unwrap_or(&SETS[0]);
        let swap1000 = set.name == "swap1000";
        let (records, config, name, network, accuracy_label) = if swap1000 {
            (
                load_swap_darts_csv(data)?,
                DartsConfig::swap(),
                "nb301-swap1000-cifar10",
                "SWAP authors' setting: DARTS Network(C=3, classes=10, layers=1) — one reduction cell on the raw \
                 image, no stem (pym1024/SWAP correlation.py)",
                "CIFAR-10 validation accuracy (SWAP authors' DARTS_archs_CIFAR10.csv)",
            )
        } else {
            (
                load_nb301_zc(data)?,
                DartsConfig::nb301(),
                "nb301-suitezero-cifar10",
                "NAS-Bench-301 evaluation network as NASLib builds it (C=32, 8 cells, reductions at 1/3 and 2/3)",
                "CIFAR-10 validation accuracy (NAS-Bench-301 surrogate, Suite-Zero zc_nasbench301.json)",
            )
        };
        let picked = sample_indices(records.len(), request.archs.unwrap_or(set.default_archs), request.seed);
        let builder = |arch: DartsArch| DartsBuilder { arch, config, num_classes: 10 };
        let candidates = picked
            .iter()
            .map(|&i| {
                let r = &records[i];
                Candidate {
                    label: r.arch.to_string(),
                    builder: Box::new(builder(r.arch)),
                    columns: vec![i.to_string()],
                    accuracy: r.accuracy,
                    same_function: None,
                }
            })
            .collect();
        let largest_params = request.largest.then(|| {
            let all: Vec<DartsBuilder> = records.iter().map(|r| builder(r.arch)).collect();
            crate::space::largest_params(all.iter().map(|b| b as &dyn NetworkBuilder))
        });
        Ok(Loaded {
            name: name.to_string(),
            candidates,
            column_names: vec!["row"],
            accuracy_label: accuracy_label.to_string(),
            largest_params,
            notes: vec![("network".to_string(), network.to_string())],
        })
    }

    fn candidate_run_name(&self, _task: &Task) -> String {
        "nb301-suitezero-cifar10".to_string()
    }

    fn reference_candidate(&self, arch: &str, _task: &Task) -> Result<Candidate> {
        let arch: DartsArch = arch.parse()?;
        Ok(Candidate {
            label: arch.to_string(),
            builder: Box::new(DartsBuilder { arch, config: DartsConfig::nb301(), num_classes: 10 }),
            columns: Vec::new(),
            accuracy: f64::NAN,
            same_function: None,
        })
    }

}
