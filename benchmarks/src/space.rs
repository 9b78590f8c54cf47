//! What a search space declares about itself, in one place: the contract between a space's
//! folder under [`crate::spaces`] and everything that runs it.
//!
//! A space is a value implementing [`SearchSpace`]: its name and encodings, its tasks (each
//! with its metric, images, head and loss — [`Task`]), the alternative tables it can score
//! (`--set`), how a table loads and an arch becomes a network ([`SearchSpace::load`]), its
//! reference-score file ([`SearchSpace::reference`]), the size of its largest network (the
//! reg-SWAP rule) and its data files for fetch / verify. The harness reads these and names no
//! space; adding a space is one folder plus one line in [`crate::spaces::registry`].

use crate::data::data_dir::{DataDir, DataFile};
use crate::images::ImageSet;
pub use crate::images::InputPrep;
use crate::nn::network::NetworkBuilder;
use anyhow::{bail, Result};
use std::path::Path;

/// A benchmark task's metric (what the table's "accuracy" column holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    /// Larger is better (accuracy, mIoU, SSIM); false for losses (L1 error).
    pub higher_is_better: bool,
}

impl Metric {
    pub const ACCURACY: Metric = Metric { name: "accuracy", higher_is_better: true };
}

/// What a task's network head outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// `[n, classes]` logits of one class per image.
    Classes(usize),
    /// `[n, values]` real values (e.g. room layout).
    Regression(usize),
    /// `[n, classes, h, w]` logits of one class per pixel (semantic segmentation).
    PixelClasses(usize),
    /// `[n, channels, h, w]` an image (surface normals, autoencoding).
    Image(usize),
}

impl Head {
    /// The output width a network builder gives the head: classes, values or channels.
    pub fn width(self) -> usize {
        match self {
            Head::Classes(k) | Head::Regression(k) | Head::PixelClasses(k) | Head::Image(k) => k,
        }
    }
}

/// The loss gradient-based proxies back-propagate on a task (as NASLib's zero-cost code
/// chooses it per task).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// Mean cross-entropy of class logits against class ids (`F.cross_entropy`).
    CrossEntropy,
    /// Mean cross-entropy against a target distribution (`SoftmaxCrossEntropyWithLogits`).
    SoftCrossEntropy,
    /// Mean squared error (`nn.MSELoss`).
    Mse,
    /// Per-pixel mean cross-entropy against per-pixel class ids.
    PixelCrossEntropy,
    /// Mean absolute error (`nn.L1Loss`).
    L1,
}

impl Loss {
    /// The short name used in settings strings and reports.
    pub fn name(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "ce",
            Loss::SoftCrossEntropy => "soft-ce",
            Loss::Mse => "mse",
            Loss::PixelCrossEntropy => "pixel-ce",
            Loss::L1 => "l1",
        }
    }
}

/// Where the targets of a task's loss come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSource {
    /// The image set's labels (or the jigsaw permutation indices).
    ImageLabels,
    /// The input images themselves (autoencoding).
    Input,
    /// Seeded synthetic targets of the head's shape: the data behind the task's real targets
    /// is not available (reports say so).
    Synthetic,
}

/// A table's accuracy column a run can correlate against (`--accuracy NAME`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccuracyColumn {
    pub name: &'static str,
    pub about: &'static str,
}

/// One task of a space.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Task {
    /// `--task` value, as the benchmark names the dataset.
    pub name: &'static str,
    /// Other spellings `--task` accepts (compared case-insensitively).
    pub aliases: &'static [&'static str],
    pub metric: Metric,
    /// The images proxies are fed.
    pub images: ImageSet,
    /// How the images are prepared for the network.
    pub input: InputPrep,
    pub head: Head,
    pub loss: Loss,
    /// Where the loss's targets come from.
    pub targets: TargetSource,
    /// The columns `--accuracy` chooses from; the first is the default.
    pub accuracies: &'static [AccuracyColumn],
    /// Whether its networks are recurrent: unrolled over the sequence, each recurrent layer
    /// records the state every step receives ([`crate::ForwardCtx::recurrent_state`]), which
    /// proxies of hidden states read (`Needs::recurrent_states`).
    pub recurrent: bool,
    /// Its scores' version: bump it whenever a change to this task's preparation, targets,
    /// loss or head can change a proxy's score, so cached scores of the old code are
    /// recomputed (version 1 adds nothing to the key). The shared preparation code has its own,
    /// [`crate::images::PREP_VERSION`].
    pub version: u32,
}

impl Task {
    /// Whether each image has one class label the loss uses (a classification head trained
    /// with cross-entropy on the images' labels): what label-based proxies need.
    pub fn has_image_classes(&self) -> bool {
        matches!((self.head, self.loss, self.targets), (Head::Classes(_), Loss::CrossEntropy, TargetSource::ImageLabels))
    }

    /// Whether the network's output is class logits: a class head trained with cross-entropy
    /// (on labels or soft targets), so that its softmax is a class distribution.
    pub fn has_class_logits(&self) -> bool {
        matches!((self.head, self.loss), (Head::Classes(_), Loss::CrossEntropy | Loss::SoftCrossEntropy))
    }
}

/// An alternative table of a space (`--set`), e.g. NB301's Suite-Zero archs or the SWAP
/// authors' DARTS-1000 genotypes; the first of a space's sets is its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSet {
    pub name: &'static str,
    pub about: &'static str,
    /// Architectures scored when `--archs` is not given (0 = all).
    pub default_archs: usize,
}

/// A data file with its checksum, as `swapnas data fetch` / `verify` check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckedFile {
    /// Where it goes in the data directory and where it comes from.
    pub file: DataFile,
    pub sha256: &'static str,
    pub bytes: u64,
    /// Another file that serves instead when present (then this one need not be fetched).
    pub or: Option<DataFile>,
}

/// What a run asks a space for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub task: &'a Task,
    /// The chosen `--set` (one of [`SearchSpace::sets`]), if the space has sets.
    pub set: Option<&'a TableSet>,
    /// Architectures to sample (None: the set's or space's default; 0 = all).
    pub archs: Option<usize>,
    pub seed: u64,
    /// The accuracy column (one of the task's).
    pub accuracy: &'a AccuracyColumn,
    /// Whether the run needs the size of the space's largest network (reg-SWAP's rule), which
    /// may mean building every network of the table.
    pub largest: bool,
}

/// One architecture to score: a builder for its network and what the benchmark says of it.
pub struct Candidate {
    /// The arch in the space's canonical encoding (part of the cache key).
    pub label: String,
    pub builder: Box<dyn NetworkBuilder + Send>,
    /// Extra per-arch columns for scores.csv (see [`Loaded::column_names`]).
    pub columns: Vec<String>,
    /// The chosen accuracy column's value.
    pub accuracy: f64,
    /// The member of its same-function class ([`crate::cell_class`]) whose network stands for
    /// it with the proxies whose score is a function of the computation alone; None when it is
    /// its class's representative or the space declares no classes.
    pub same_function: Option<Representative>,
}

/// The arch a [`Candidate`]'s same-function class is scored by: the class member with the
/// smallest ordinal, in the space's canonical encoding (its own cache key, as when it is scored
/// for itself).
pub struct Representative {
    pub label: String,
    pub builder: Box<dyn NetworkBuilder + Send>,
}

/// A benchmark task, loaded and sampled.
pub struct Loaded {
    /// The run's name, e.g. `nb201-cifar100` (part of every cache key: never change it).
    pub name: String,
    pub candidates: Vec<Candidate>,
    pub column_names: Vec<&'static str>,
    /// The accuracy the candidates carry, in words (table headers, plot axes).
    pub accuracy_label: String,
    /// Parameters of the largest network of the space or table, when asked for.
    pub largest_params: Option<usize>,
    /// `(key, text)` lines every report of this run carries (network, stand-in images, …).
    pub notes: Vec<(String, String)>,
}

/// What briefly training an arch gives, one per arch of the space: the "queries" a search that
/// spends a training budget (RoBoT, HNAS) reads — a validation accuracy after a short schedule
/// and the seconds that training took.
#[derive(Debug, Clone)]
pub struct QueryTable {
    /// In words: what was trained, how long, on what (reports quote it).
    pub about: String,
    /// By the arch's canonical label (the genome's label).
    pub entries: std::collections::HashMap<String, Query>,
    /// The query budget the literature spends on this table (RoBoT and HNAS: 20 on
    /// NAS-Bench-201, 100 on TransNAS-Bench-101).
    pub budget: usize,
}

/// One arch's query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Query {
    /// The accuracy the schedule reached (the task's metric, larger is better).
    pub accuracy: f64,
    /// The seconds the training took, where the benchmark recorded them.
    pub train_seconds: Option<f64>,
}

/// A NAS-Bench-Suite-Zero reference file and the run name its scores belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reference {
    pub file: DataFile,
    /// The set whose networks the reference scored (None: the space has no sets).
    pub set: Option<&'static str>,
}

/// A correlation a paper published for a proxy on one of the space's tasks (what `reproduce`
/// sets its numbers beside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Published {
    /// The task's name.
    pub task: &'static str,
    pub proxy: &'static str,
    /// Spearman's ρ with accuracy.
    pub rho: f64,
    pub source: &'static str,
}

/// A search result a paper published on one of the space's tasks (what `swapnas search` sets
/// its found archs beside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishedSearch {
    /// The `--algo` name.
    pub algo: &'static str,
    pub task: &'static str,
    /// The accuracy column the value is in.
    pub column: &'static str,
    /// The found archs' mean accuracy, and its sd over runs where published.
    pub value: f64,
    pub sd: Option<f64>,
    /// Queries per run.
    pub queries: usize,
    /// Search cost in (GPU) seconds, where published.
    pub cost_seconds: Option<f64>,
    pub source: &'static str,
}

/// What a search space is, declared once as a constant: its name and encodings, its tasks and
/// tables, its reference file, published correlations and data files.
#[derive(Debug, Clone, Copy)]
pub struct SpaceInfo {
    /// `--bench` value (`nb201`).
    pub name: &'static str,
    /// One line: the benchmark and its size.
    pub about: &'static str,
    /// The encodings an arch string may be written in (for messages and docs).
    pub encodings: &'static str,
    pub tasks: &'static [Task],
    /// Alternative tables (`--set`), default first; empty when the space has one table.
    pub sets: &'static [TableSet],
    /// Architectures a run scores by default (when the space has no sets).
    pub default_archs: usize,
    /// Suite-Zero's reference scores for this space, if any.
    pub reference: Option<Reference>,
    /// Correlations published for this space's tasks.
    pub published: &'static [Published],
    /// Search results published on this space's tasks.
    pub published_searches: &'static [PublishedSearch],
    /// Files the space reads, with checksums, for `swapnas data fetch` / `verify`.
    pub data_files: &'static [CheckedFile],
    /// The space's archs as genes, if it can be searched (`swapnas search`).
    pub genome: Option<Genome>,
    /// Label-free features of an arch's graph that few-shot learners may read, if declared.
    pub graph_features: Option<GraphFeatures>,
}

/// Features of an arch's graph, read from its label alone — no network is built and no label
/// of any arch is read — that a few-shot learner may read beside the proxies' scores (the
/// `gp_graph` learner), as GRAF (Kadlecová et al., ICML 2024) feeds a predictor graph
/// features beside zero-cost proxies. The space says what each one is.
#[derive(Debug, Clone, Copy)]
pub struct GraphFeatures {
    /// One short name per feature, in the order [`GraphFeatures::compute`] returns them.
    pub names: &'static [&'static str],
    /// The features of an arch written in the space's canonical encoding (a candidate's label).
    pub compute: fn(&str) -> Result<Vec<f64>>,
}

impl SpaceInfo {
    /// The defaults a declaration starts from (`..SpaceInfo::EMPTY`): no sets, 100 archs by
    /// default, no reference, nothing published, no data files.
    pub const EMPTY: SpaceInfo = SpaceInfo {
        name: "",
        about: "",
        encodings: "",
        tasks: &[],
        sets: &[],
        default_archs: 100,
        reference: None,
        published: &[],
        published_searches: &[],
        data_files: &[],
        genome: None,
        graph_features: None,
    };
}

/// A search space: everything the harness needs to know about it — its [`SpaceInfo`], and how
/// its table loads and an arch becomes a network.
pub trait SearchSpace: Send + Sync {
    /// The space's declaration.
    fn info(&self) -> &SpaceInfo;
    /// Loads a task's table and samples its candidates.
    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded>;
    /// Suite-Zero's reference scores for this space, if any.
    fn reference(&self) -> Option<Reference> {
        self.info().reference
    }
    /// `--bench` value (`nb201`).
    fn name(&self) -> &'static str {
        self.info().name
    }
    /// One line: the benchmark and its size.
    fn about(&self) -> &'static str {
        self.info().about
    }
    fn tasks(&self) -> &'static [Task] {
        self.info().tasks
    }
    /// Alternative tables (`--set`), default first; empty when the space has one table.
    fn sets(&self) -> &'static [TableSet] {
        self.info().sets
    }
    /// Architectures a run scores by default (when the space has no sets).
    fn default_archs(&self) -> usize {
        self.info().default_archs
    }
    /// Correlations published for this space's tasks.
    fn published(&self) -> &'static [Published] {
        self.info().published
    }
    /// Search results published on this space's tasks.
    fn published_searches(&self) -> &'static [PublishedSearch] {
        self.info().published_searches
    }
    /// Files the space reads, with checksums, for `swapnas data fetch` / `verify`.
    fn data_files(&self) -> &'static [CheckedFile] {
        self.info().data_files
    }
    /// The space's archs as genes, if it can be searched.
    fn genome(&self) -> Option<&Genome> {
        self.info().genome.as_ref()
    }
    /// Label-free graph features of its archs, if the space declares them.
    fn graph_features(&self) -> Option<&GraphFeatures> {
        self.info().graph_features.as_ref()
    }
    /// The run name (cache key part, [`Loaded::name`]) of the networks
    /// [`SearchSpace::reference_candidate`] builds for `task`.
    fn candidate_run_name(&self, task: &Task) -> String {
        format!("{}-{}", self.name(), task.name)
    }
    /// A candidate for an arch written as the reference file or the genome's label writes it,
    /// built without the table (its accuracy is NaN: the caller fills it in, if at all).
    fn reference_candidate(&self, arch: &str, task: &Task) -> Result<Candidate> {
        let _ = task;
        bail!("{} has no reference scores to check against (arch `{arch}`)", self.name())
    }
    /// The key under which two labels name the same arch of the space's table (NAS-Bench-101:
    /// the isomorphism-invariant hash of the pruned cell); the label itself by default.
    fn arch_key(&self, label: &str) -> String {
        label.to_string()
    }
    /// How many same-function classes ([`crate::cell_class`]) the space's archs fall into, if
    /// its candidates name their class representatives.
    fn function_classes(&self) -> Option<usize> {
        None
    }
    /// The table of queried accuracies a budgeted search may spend on `task`, or why there is
    /// none.
    fn queries(&self, task: &Task, data: &DataDir) -> Result<QueryTable> {
        let _ = data;
        bail!("--bench {} declares no table of queried (briefly trained) accuracies for task {}", self.name(), task.name)
    }
    /// Writes the space's table as one HDF5 archive (`swapnas data import`), if it can.
    fn import(&self, data: &DataDir, out: Option<&Path>) -> Result<std::path::PathBuf> {
        let _ = (data, out);
        bail!("`data import` does not support --bench {} yet", self.name())
    }

    /// The task named `name`, or an error listing the space's tasks.
    fn task(&self, name: &str) -> Result<&'static Task> {
        let tasks = self.tasks();
        let matches = |t: &&Task| t.name.eq_ignore_ascii_case(name) || t.aliases.iter().any(|a| a.eq_ignore_ascii_case(name));
        match tasks.iter().find(matches) {
            Some(t) => Ok(t),
            None => bail!(
                "unknown task `{name}` for --bench {} ({}); its tasks: {}",
                self.name(),
                self.about(),
                tasks.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Parameters of the largest of these networks (PyTorch-default init, on the CPU): what
/// reg-SWAP's default prior is derived from.
pub fn largest_params<'a>(builders: impl IntoIterator<Item = &'a dyn NetworkBuilder>) -> usize {
    builders.into_iter().map(param_count).max().unwrap_or(0)
}

/// A value a benchmark file stored as a float32 and wrote as the float64 next to it
/// (`68.43999995117187`) is shown as the float32 it was (`68.44`); other values as they are.
pub fn source_number(v: f64) -> String {
    if v.is_finite() && (v as f32) as f64 == v {
        format!("{}", v as f32)
    } else {
        format!("{v}")
    }
}

/// Parameters of one network (built with PyTorch-default init on the CPU).
pub fn param_count(builder: &dyn NetworkBuilder) -> usize {
    use crate::nn::init::{InitScheme, WeightInit};
    let options = crate::nn::network::BuildOptions::new(builder.num_classes());
    builder.build(&mut WeightInit::new(InitScheme::PytorchDefault, 0), &options, &burn::tensor::Device::flex()).parameter_count()
}

/// A space's arch encoding as genes.
#[derive(Debug, Clone, Copy)]
pub struct Genome {
    /// Number of alternatives of each gene (gene `i` takes values `0..choices[i]`).
    pub choices: &'static [u8],
    /// Whether the genes are an arch of the space (constraints beyond each gene's range).
    pub valid: fn(&[u8]) -> bool,
    /// The arch's label in the space's canonical encoding (what its table and the score cache
    /// key archs by; [`SearchSpace::reference_candidate`] parses it).
    pub label: fn(&[u8]) -> String,
    /// Whether the space's table lists every arch of the space, so that every arch a search
    /// finds has a trained accuracy.
    pub table_complete: bool,
    /// Parameters of the space's largest network for a task, known without reading the table
    /// (reg-SWAP's default prior); None: the search reads the table's structure for it.
    pub largest_params: Option<fn(&Task) -> usize>,
}
