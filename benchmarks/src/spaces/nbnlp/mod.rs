//! NAS-Bench-NLP (Klyuchnikov et al., "NAS-Bench-NLP: Neural Architecture Search Benchmark
//! for Natural Language Processing", IEEE Access 2022): recurrent cells — DAGs of linear,
//! activation, element-wise and blend nodes over the input and a hidden tuple — each trained
//! as a 3-layer AWD-style language model. The logs reachable here are the WikiText-2 ones
//! (`train_logs_wikitext-2/logs.zip` of fmsnew/nas-bench-nlp-release, Apache-2.0): 345 runs of
//! 291 distinct cells with their recipes, parameter counts and per-epoch losses. The PTB logs
//! (`train_logs_single_run`, `_multi_runs`, 14k / 8.8k cells) are over 4 MiB and could not be
//! fetched.
//!
//! Rows: the 341 logs whose training finished (status OK; 4 ended with "loss is nan!"). One
//! task, `wikitext2`; its accuracy columns are the final epoch's validation loss (default) and
//! test loss, negated (higher is better: −loss = −ln perplexity, so ρ is the same as against
//! perplexity with the sign turned). A recipe trained several times is several rows with one
//! label (scored once).
//!
//! The network ([`net`]) is the benchmark's model in evaluation mode, with the logs'
//! hyper-parameters (embedding 400, hidden 600, 3 layers, tied weights): its parameter count
//! equals every log's `num_params` ([`NlpConfig::param_count`], test).
//!
//! Input: WikiText-2's test split (the corpus the benchmark evaluates on) read as the
//! benchmark's `Corpus` reads it, `batchify`-ed into 50 streams (its evaluation batch) and the
//! first 70 words of each (`bptt`), the batch Serianni & Kalita's hidden-covariance code takes
//! from PTB. Deviation: the reference's word ids are ranks in a dictionary grown over train,
//! valid then test; the train split is not here, so ids are first-occurrence ranks in the test
//! split. Ids only pick embedding rows, which are drawn i.i.d., so every id → row assignment
//! gives networks of the same distribution; reports say so.

mod net;
pub mod recipe;

pub use net::NlpNet;
pub use recipe::Recipe;

use crate::data::data_dir::{DataDir, DataFile};
use crate::images::ImageSet;
use crate::nn::network::SpaceBuilder;
use crate::sample::sample_indices;
use crate::space::{
    AccuracyColumn, Candidate, CheckedFile, Head, InputPrep, Loaded, Loss, Metric, Published, Request, SearchSpace, SpaceInfo, TargetSource, Task,
};
use crate::corpora::{WIKITEXT2_SOURCE, WIKITEXT2_TEST};
use crate::text::{TextFormat, Tokens};
use anyhow::{Context, Result};
use std::io::Read;

pub const NLP_LOGS_ZIP: DataFile = DataFile {
    rel_path: "benchmarks/nasbench-nlp/train_logs_wikitext-2.zip",
    source: "https://raw.githubusercontent.com/fmsnew/nas-bench-nlp-release/a6d90a3b19e3966b1d009c0970b3761aa46707d1/train_logs_wikitext-2/logs.zip",
};


/// Steps per sequence (the logs' `bptt`).
pub const STEPS: usize = 70;
/// Sequences (the logs' `eval_batch_size`: `batchify`'s streams).
pub const STREAMS: usize = 50;

/// The text the proxies are fed: WikiText-2's test split as 50 streams of 70 word ids.
pub const WIKITEXT2_WORDS: ImageSet = ImageSet::corpus(
    "WikiText-2 test split (word ids in first-occurrence order; the reference's train-split dictionary is not here)",
    STEPS,
    &[WIKITEXT2_TEST.file],
    WIKITEXT2_SOURCE,
    TextFormat {
        about: "WikiText-2 test split, words and <eos> per line, batchified into 50 streams, the first 70 words of each",
        unknown_word: None,
        tokens: Tokens::WordStreams { streams: STREAMS },
    },
);

const COLUMNS: &[AccuracyColumn] = &[
    AccuracyColumn { name: "val", about: "−(final validation loss), nats per word, after 50 epochs on WikiText-2" },
    AccuracyColumn { name: "test", about: "−(final test loss), nats per word, after 50 epochs on WikiText-2" },
];

const TASKS: &[Task] = &[Task {
    name: "wikitext2",
    aliases: &["wt2", "language-model"],
    metric: Metric { name: "−log-perplexity", higher_is_better: true },
    images: WIKITEXT2_WORDS,
    input: InputPrep::AsIs,
    // No head: the model's forward returns the last layer's outputs (the tied decoder runs
    // inside the loss).
    head: Head::Regression(400),
    loss: Loss::Mse,
    targets: TargetSource::Synthetic,
    accuracies: COLUMNS,
    recurrent: true,
    version: 1,
}];

const FILES: &[CheckedFile] = &[
    CheckedFile {
        file: NLP_LOGS_ZIP,
        sha256: "f5052d6bea6398001e32c986322a243e8cdedffa906caf242eb0a62ee105aa12",
        bytes: 879_000,
        or: None,
    },
    WIKITEXT2_TEST,
];

/// The model's sizes (the logs' `emsize`, `nhid`, `nlayers`, and WikiText-2's vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlpConfig {
    /// Words in the dictionary: WikiText-2's 33,278 (train, valid and test), which every log's
    /// `num_params` implies.
    pub vocab: usize,
    pub embedding: usize,
    pub hidden: usize,
    pub layers: usize,
}

impl Default for NlpConfig {
    fn default() -> Self {
        Self { vocab: 33_278, embedding: 400, hidden: 600, layers: 3 }
    }
}

impl NlpConfig {
    /// (input, hidden) of each layer: the last as wide as the embedding (tied weights).
    pub fn layer_sizes(&self) -> Vec<(usize, usize)> {
        (0..self.layers)
            .map(|i| {
                let input = if i == 0 { self.embedding } else { self.hidden };
                let hidden = if i + 1 == self.layers { self.embedding } else { self.hidden };
                (input, hidden)
            })
            .collect()
    }

    /// `sum(p.numel() for p in model.parameters())`: the embedding (shared with the decoder),
    /// the decoder's bias and each layer's linear nodes.
    pub fn param_count(&self, recipe: &Recipe) -> usize {
        self.vocab * self.embedding + self.vocab + self.layer_sizes().iter().map(|&(i, h)| recipe.layer_params(i, h)).sum::<usize>()
    }
}

/// One training log.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Log {
    pub recepie_id: u64,
    pub experiment_id: u64,
    /// The cell's recipe, a JSON object written as a string.
    pub recepie: String,
    pub num_params: usize,
    /// Per epoch (NaN where training diverged: Python's json writes `NaN`, read here as null).
    #[serde(deserialize_with = "losses")]
    pub val_losses: Vec<f64>,
    #[serde(deserialize_with = "losses")]
    pub test_losses: Vec<f64>,
    pub status: String,
}

fn losses<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    let values: Vec<Option<f64>> = serde::Deserialize::deserialize(d)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

impl Log {
    /// Whether training finished with a finite loss.
    pub fn finished(&self) -> bool {
        self.status == "OK" && self.val_losses.last().is_some_and(|v| v.is_finite()) && self.test_losses.last().is_some_and(|v| v.is_finite())
    }
}

/// Every log in the zip, ordered by recipe id then experiment id.
pub fn load_logs(data: &DataDir) -> Result<Vec<Log>> {
    let path = data.require(&NLP_LOGS_ZIP)?;
    let what = || format!("{} is not NAS-Bench-NLP's WikiText-2 log archive", path.display());
    let file = std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file).with_context(what)?;
    let mut logs = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).with_context(what)?;
        if !entry.name().ends_with(".json") {
            continue;
        }
        let name = entry.name().to_string();
        let mut text = String::new();
        entry.read_to_string(&mut text).with_context(|| format!("{}: cannot read {name}", path.display()))?;
        // Python's `json.dump` writes a diverged loss as the bare word NaN, which JSON lacks.
        let text = text.replace("NaN", "null");
        logs.push(serde_json::from_str::<Log>(&text).with_context(|| format!("{}: {name} is not a training log", path.display()))?);
    }
    logs.sort_by_key(|l| (l.recepie_id, l.experiment_id));
    Ok(logs)
}

/// The NAS-Bench-NLP space.
pub struct NlpSpace;

/// The registry entry.
pub const SPACE: NlpSpace = NlpSpace;

const INFO: SpaceInfo = SpaceInfo {
    name: "nasbench-nlp",
    about: "NAS-Bench-NLP recurrent cells (Klyuchnikov et al. 2022): 341 finished WikiText-2 language-model runs of 291 cells",
    encodings: "the cell's nodes NAME=OP(INPUTS) joined by `;` (e.g. n1=lin(x,h0);o0=tanh(n1): x, hI = h_prev_I, oI = h_new_I, \
                nK = node_K; ops lin, tanh, sigm, lrelu, sum, prod, blend), or the recipe's JSON",
    tasks: TASKS,
    // A network over 50 × 70 words costs about a second per pass on a 2-core CPU.
    default_archs: 30,
    published: &[Published {
        task: "wikitext2",
        proxy: "hidden_cov",
        rho: 0.524,
        source: "Serianni & Kalita 2023, layer-1 hidden covariance on PTB (not WikiText-2), 8,794 archs vs −test loss, \
                 recomputed from their RNN_results.csv (Kendall τ 0.372)",
    }],
    data_files: FILES,
    ..SpaceInfo::EMPTY
};

type NlpBuilder = SpaceBuilder<NlpNet>;

fn builder(recipe: Recipe) -> NlpBuilder {
    NlpBuilder { arch: recipe, config: NlpConfig::default(), num_classes: 0 }
}

impl SearchSpace for NlpSpace {
    fn info(&self) -> &SpaceInfo {
        &INFO
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let all = load_logs(data)?;
        let failed = all.len() - all.iter().filter(|l| l.finished()).count();
        let logs: Vec<Log> = all.into_iter().filter(Log::finished).collect();
        let test = request.accuracy.name == "test";
        let picked = sample_indices(logs.len(), request.archs.unwrap_or(self.default_archs()), request.seed);
        let recipes = logs
            .iter()
            .map(|l| Recipe::from_json(&l.recepie).with_context(|| format!("recipe {} of the log archive", l.recepie_id)))
            .collect::<Result<Vec<_>>>()?;
        let candidates = picked
            .iter()
            .map(|&i| {
                let log = &logs[i];
                let loss = if test { log.test_losses.last() } else { log.val_losses.last() };
                Candidate {
                    label: recipes[i].to_string(),
                    builder: Box::new(builder(recipes[i].clone())),
                    columns: vec![log.recepie_id.to_string(), log.experiment_id.to_string()],
                    accuracy: -loss.copied().unwrap_or(f64::NAN),
                    same_function: None,
                }
            })
            .collect();
        let config = NlpConfig::default();
        let largest_params = request.largest.then(|| recipes.iter().map(|r| config.param_count(r)).max().unwrap_or(0));
        Ok(Loaded {
            name: "nasbench-nlp-wikitext2".to_string(),
            candidates,
            column_names: vec!["recipe_id", "experiment_id"],
            accuracy_label: format!("{} (NAS-Bench-NLP logs; {failed} runs that ended in NaN left out)", request.accuracy.about),
            largest_params,
            notes: vec![
                (
                    "network".to_string(),
                    "the benchmark's AWD-style language model in eval mode: embedding 400 (U(±0.1), tied decoder), 3 recurrent \
                     layers 400→600→600→400 of the cell unrolled from zero state, every cell weight U(±1/√H), no dropout"
                        .to_string(),
                ),
                (
                    "input".to_string(),
                    format!(
                        "WikiText-2 test split, {STREAMS} batchified streams × the first {STEPS} words (the benchmark's eval batch); \
                         word ids are first-occurrence ranks in the test split, not the reference's train-split dictionary \
                         (which only permutes i.i.d. embedding rows)"
                    ),
                ),
            ],
        })
    }

    fn reference_candidate(&self, arch: &str, _task: &Task) -> Result<Candidate> {
        let recipe: Recipe = arch.parse()?;
        Ok(Candidate { label: recipe.to_string(), builder: Box::new(builder(recipe)), columns: Vec::new(), accuracy: f64::NAN, same_function: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_sizes_tie_the_last_to_the_embedding() {
        assert_eq!(NlpConfig::default().layer_sizes(), [(400, 600), (600, 600), (600, 400)]);
        // The plain RNN (cell 1000000): 15,066,078 parameters in its log.
        let rnn: Recipe = "f=lin(x,h0);o0=tanh(f)".parse().unwrap();
        assert_eq!(NlpConfig::default().param_count(&rnn), 15_066_078);
    }
}
