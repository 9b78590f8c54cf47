//! FlexiBERT-space transformers with GLUE scores (Serianni & Kalita, "Training-free Neural
//! Architecture Search for RNNs and Transformers", ACL 2023): 500 archs — hidden 128 / 256,
//! 2 or 4 layers of SA-SDP, SA-WMA, LT-DFT, LT-DCT or DSC-5/9 with 2 / 4 heads, FFN 512 / 1024
//! × 1 or 3 — pretrained as ELECTRA-small (100k steps) and fine-tuned on GLUE;
//! `BERT_benchmark.json` (aaronserianni/training-free-nas, CC-BY-4.0; the same file is
//! `datasets/BERT_benchmark.json` in pym1024/SWAP_Universal). One task, `glue`, whose accuracy
//! columns are the GLUE average (default) and each GLUE task (`--accuracy cola`, …): the
//! scores do not depend on the column, so one run's cache serves them all.
//!
//! The network ([`net`]) is the one both proxy references build: `ElectraConfig(nas_config=…,
//! num_hidden_layers=…)` with the rest at its defaults — hidden 256, embedding 128, every FFN
//! 1,024 wide — so the file's `hidden_size` and `feed_forward_dimension` do not reach it (they
//! stay in the arch's label). [`FlexiConfig::param_count`] equals the "Number of Parameters"
//! of Serianni's per-arch results for all 500 archs (test).
//!
//! Input: the references feed the first 128 OpenWebText documents (ELECTRA's tokenizer, up to
//! 512 tokens), which are not reachable here; swapnas feeds the WikiText-2 test split (real
//! Wikipedia text, CC-BY-SA 3.0) through the same uncased WordPiece vocabulary, cut into
//! consecutive 128-token sequences ([`crate::text`]) — 128 tokens, the length the benchmark's
//! archs were pretrained at, where the references' documents run to 512. Reports say so.

mod arch;
mod net;

pub use arch::{FlexiArch, FlexiConfig, Layer, Op, Row};
pub use net::FlexiNet;

use crate::data::data_dir::{DataDir, DataFile};
use crate::images::ImageSet;
use crate::nn::network::SpaceBuilder;
use crate::sample::sample_indices;
use crate::space::{AccuracyColumn, Candidate, CheckedFile, Head, InputPrep, Loaded, Loss, Metric, Request, SearchSpace, SpaceInfo, TargetSource, Task};
use crate::corpora::{WIKITEXT2_SOURCE, WIKITEXT2_TEST};
use crate::text::{TextFormat, Tokens};
use anyhow::{Context, Result};

pub const FLEXIBERT_JSON: DataFile = DataFile {
    rel_path: "benchmarks/flexibert/BERT_benchmark.json",
    source: "https://raw.githubusercontent.com/aaronserianni/training-free-nas/2d76e01b9586cad7340e8268dadba3056efd070b/data/BERT_benchmark.json",
};


/// Tokens per sequence fed to the networks.
pub const SEQ_LEN: usize = 128;

/// The text the proxies are fed: WikiText-2's test split as 128-token WordPiece sequences.
pub const WIKITEXT2: ImageSet = ImageSet::corpus(
    "WikiText-2 test text (STAND-IN for the references' first 128 OpenWebText documents)",
    SEQ_LEN,
    &[WIKITEXT2_TEST.file],
    WIKITEXT2_SOURCE,
    TextFormat {
        about: "WikiText-2 test text (stand-in for OpenWebText), BERT-uncased WordPiece, consecutive [CLS] … [SEP] sequences of 128 tokens",
        unknown_word: Some("<unk>"),
        tokens: Tokens::WordPiece,
    },
);

/// The GLUE average (the default), then each GLUE task as the file names it: one table, one
/// set of scores (the networks and inputs do not depend on the column), `--accuracy` picks.
const COLUMNS: &[AccuracyColumn] = &[
    AccuracyColumn { name: "glue", about: "GLUE average (dev) after ELECTRA-small pretraining (100k steps) and fine-tuning" },
    AccuracyColumn { name: "cola", about: "CoLA dev score (Matthews correlation × 100)" },
    AccuracyColumn { name: "mnli", about: "MNLI dev accuracy" },
    AccuracyColumn { name: "mrpc", about: "MRPC dev score" },
    AccuracyColumn { name: "qnli", about: "QNLI dev accuracy" },
    AccuracyColumn { name: "qqp", about: "QQP dev score" },
    AccuracyColumn { name: "rte", about: "RTE dev accuracy" },
    AccuracyColumn { name: "sst", about: "SST-2 dev accuracy" },
    AccuracyColumn { name: "sts", about: "STS-B dev correlation × 100" },
];

/// One task: language understanding, scored against the column `--accuracy` names.
const TASKS: &[Task] = &[Task {
    name: "glue",
    aliases: &["language"],
    metric: Metric { name: "GLUE score", higher_is_better: true },
    images: WIKITEXT2,
    input: InputPrep::AsIs,
    // No head: the references score `ElectraModel`'s last hidden state.
    head: Head::Regression(256),
    loss: Loss::Mse,
    targets: TargetSource::Synthetic,
    accuracies: COLUMNS,
    recurrent: false,
    version: 1,
}];

const FILES: &[CheckedFile] = &[
    CheckedFile {
        file: FLEXIBERT_JSON,
        sha256: "fa2ff7198dcd71e0b8021ed2ace1c221672c33cc56931b6dff31fda3d044784f",
        bytes: 453_164,
        or: None,
    },
    WIKITEXT2_TEST,
];

/// The FlexiBERT space.
pub struct FlexiBertSpace;

/// The registry entry.
pub const SPACE: FlexiBertSpace = FlexiBertSpace;

const INFO: SpaceInfo = SpaceInfo {
    name: "flexibert",
    about: "FlexiBERT-space transformers (Serianni & Kalita 2023): 500 archs with GLUE scores",
    encodings: "hidden:op-hH-FFNxN+… (e.g. 256:wma-h4-1024x3+dct-h2-512x3; ops sdp, wma, dft, dct, dsc5, dsc9)",
    tasks: TASKS,
    // A network over 128 sequences of 128 tokens costs seconds on a 2-core CPU.
    default_archs: 50,
    data_files: FILES,
    ..SpaceInfo::EMPTY
};

type FlexiBuilder = SpaceBuilder<FlexiNet>;

fn builder(arch: FlexiArch) -> FlexiBuilder {
    FlexiBuilder { arch, config: FlexiConfig::default(), num_classes: 0 }
}

/// The benchmark's rows, in file order.
pub fn load_rows(data: &DataDir) -> Result<Vec<Row>> {
    let path = data.require(&FLEXIBERT_JSON)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not the FlexiBERT benchmark file", path.display()))
}

impl SearchSpace for FlexiBertSpace {
    fn info(&self) -> &SpaceInfo {
        &INFO
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let rows = load_rows(data)?;
        let column = request.accuracy.name;
        let picked = sample_indices(rows.len(), request.archs.unwrap_or(self.default_archs()), request.seed);
        let candidates = picked
            .iter()
            .map(|&i| {
                let row = &rows[i];
                let arch = row.arch()?;
                let accuracy = *row.scores.get(column).with_context(|| format!("arch {} has no {column} score", row.id))?;
                Ok(Candidate {
                    label: arch.to_string(),
                    builder: Box::new(builder(arch)),
                    columns: vec![row.id.to_string()],
                    accuracy,
                    same_function: None,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let config = FlexiConfig::default();
        let largest_params = request
            .largest
            .then(|| rows.iter().map(|r| r.arch().map(|a| config.param_count(&a))).collect::<Result<Vec<_>>>())
            .transpose()?
            .map(|p| p.into_iter().max().unwrap_or(0));
        Ok(Loaded {
            name: "flexibert-glue".to_string(),
            candidates,
            column_names: vec!["id"],
            accuracy_label: format!("{} (Serianni & Kalita 2023, BERT_benchmark.json)", request.accuracy.about),
            largest_params,
            notes: vec![
                (
                    "network".to_string(),
                    "ElectraModel as the references build it: hidden 256, embedding 128, every FFN 1,024 wide (the file's \
                     hidden_size and feed_forward_dimension do not reach it), N(0, 0.02²) init, no dropout"
                        .to_string(),
                ),
                (
                    "input".to_string(),
                    format!(
                        "STAND-IN text: {SEQ_LEN}-token WordPiece sequences of WikiText-2's test split, not the references' first \
                         128 OpenWebText documents (up to 512 tokens)"
                    ),
                ),
            ],
        })
    }

    fn reference_candidate(&self, arch: &str, _task: &Task) -> Result<Candidate> {
        let arch: FlexiArch = arch.parse()?;
        Ok(Candidate { label: arch.to_string(), builder: Box::new(builder(arch)), columns: Vec::new(), accuracy: f64::NAN, same_function: None })
    }
}
