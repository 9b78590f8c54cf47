//! Zero-cost proxies: one file per proxy, each declaring itself ([`ProxyDecl`]: name, one
//! line, needs, settings, score), one line each in the [`REGISTRY`] (the `proxies!` list in this file); shared plumbing in
//! [`measure`]; [`swap`]'s pattern collection as public building blocks.
//!
//! A proxy gets a [`ProxyContext`]: a [`NetworkBuilder`] for the architecture (so it can build
//! the network as often, on whichever device, in whichever dtype and with whichever
//! initialisation its reference uses), the first training images with their labels, the
//! device and a seed. What a proxy needs beyond that (gradients, float64, BN off, all-ones or
//! Gaussian input, pre-GAP features) it asks of the builder and of
//! [`swapnas_benchmarks::ForwardCtx`], so the trait does not change as proxies are added.

pub mod measure;
mod memo;
mod registry;
pub mod setting;

/// Declares each proxy's module (`src/<name>.rs`, which declares `pub const PROXY:
/// ProxyDecl`) and lists it in [`REGISTRY`], in report order.
macro_rules! proxies {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*
        /// Every proxy, in report order.
        pub const REGISTRY: &[&ProxyDecl] = &[$(&$name::PROXY),*];
    };
}

// The registry. Adding a proxy: its file, and its name here.
proxies! {
    swap,
    reg_swap,
    // Baselines I (issue 3).
    params,
    flops,
    l2_norm,
    nwot,
    zen,
    meco,
    jacov,
    epe_nas,
    // Baselines II (issue 4).
    grad_norm,
    snip,
    grasp,
    fisher,
    synflow,
    plain,
    zico,
    // Beyond SWAP (issue 15).
    az_expressivity,
    az_progressivity,
    az_trainability,
    az_complexity,
    lswag,
    // The input-size ablation (issue 19).
    ap,
    // State of the art (issue 32).
    vkdnw,
    vkdnw_entropy,
    // HNAS's NTK (issue 28).
    ntk,
    ntk_condnum,
    // Recurrent networks (issue 29).
    hidden_cov,
}

pub mod az_nas;

/// A named rank ensemble of registered proxies (its members are scored as proxies; the
/// ensemble ranks them among the archs scored together), e.g. AZ-NAS.
#[derive(Debug, Clone, Copy)]
pub struct Ensemble {
    pub name: &'static str,
    pub about: &'static str,
    pub members: &'static [&'static str],
    /// On a task where some members are "n/a", the ensemble is taken over the members that
    /// apply (at least two); otherwise one "n/a" member makes the ensemble "n/a" (a published
    /// ensemble is defined by all its members).
    pub over_applicable: bool,
}

/// Every named ensemble (usable wherever a proxy list is: `--proxies az_nas`).
pub const ENSEMBLES: &[&Ensemble] = &[&az_nas::ENSEMBLE, &vkdnw::ENSEMBLE, &LABEL_FREE];

/// swapnas' label-free ensemble, declared before it was measured (issue 32): its members and
/// rule were chosen from the literature, not from any benchmark's accuracies here.
///
/// Rule: Σ log(rank/n) over the members that apply to the task (AZ-NAS' and VKDNW_agg's rule).
/// Members, each for a published reason:
/// * `vkdnw` — VKDNW_single (CVPR 2025): the Fisher spectrum's evenness, size-orthogonal by
///   construction; its paper's component study adds it to the four below for VKDNW_agg, the
///   strongest published label-free score on NB201. Defined on class-logit tasks only.
/// * `az_expressivity`, `az_progressivity`, `az_trainability` — AZ-NAS (CVPR 2024): feature
///   spectra and per-block Jacobian conditioning, each shown to add to the others.
/// * `flops` — network size, in both AZ-NAS and VKDNW_agg, and across NAS-Bench-Suite-Zero's
///   28 tasks the most consistent single baseline.
/// * `jacov` — VKDNW_agg's fifth member; input-Jacobian correlation, low correlation with size.
/// * `meco` — MeCo (NeurIPS 2023): the smallest eigenvalue of feature-map channel correlation,
///   one image, reported competitive on NB101, NB301 and TransNAS-Bench-101 besides NB201.
/// * `reg_swap` — SWAP-NAS (ICLR 2024): activation-pattern count with a size prior, the
///   harness' own, claimed general over the SWAP paper's 19 task columns.
///
/// Left out: `params` (duplicates `flops`), gradient-of-loss proxies (snip, grasp, fisher,
/// grad_norm, L-SWAG: they read the task's labels), `swap` (in `reg_swap`), synflow and zen
/// (dominated by size in Suite-Zero's analysis).
pub const LABEL_FREE: Ensemble = Ensemble {
    name: "label_free",
    about: "declared label-free ensemble: Σ log-rank of vkdnw, AZ-NAS expressivity/progressivity/trainability, flops, jacov, meco, reg_swap (members that apply)",
    members: &["vkdnw", "az_expressivity", "az_progressivity", "az_trainability", "flops", "jacov", "meco", "reg_swap"],
    over_applicable: true,
};

/// The proxies a search from the literature reads, declared beside the proxies (the harness
/// names no proxy): RoBoT's weighted sum, HNAS's score, MTF-PDNS's objectives.
#[derive(Debug, Clone, Copy)]
pub struct MetricSet {
    /// The search that reads them and where it is published.
    pub search: &'static str,
    /// In the order the search reads them; every member is maximised but the last `minimised`.
    pub members: &'static [&'static str],
    pub minimised: usize,
}

/// RoBoT (ICLR 2024; hzf1174/RoBoT): the six training-free metrics its BO weighs.
pub const ROBOT_METRICS: MetricSet = MetricSet {
    search: "RoBoT, ICLR 2024",
    members: &["grad_norm", "snip", "grasp", "fisher", "synflow", "jacov"],
    minimised: 0,
};

/// HNAS (NeurIPS 2022; shuyao95/HNAS): the NTK trace norm M, then the condition number (as −κ).
pub const HNAS_METRICS: MetricSet = MetricSet { search: "HNAS, NeurIPS 2022", members: &["ntk", "ntk_condnum"], minimised: 0 };

/// MTF-PDNS (arXiv 2407.20656; ELO-Lab/PDNS): three maximised proxies, then the cost it
/// minimises (FLOPs, also the cost axis of its Pareto front).
pub const PDNS_OBJECTIVES: MetricSet =
    MetricSet { search: "MTF-PDNS, arXiv 2407.20656", members: &["synflow", "jacov", "snip", "flops"], minimised: 1 };

/// The named ensemble called `name`, if any.
pub fn ensemble(name: &str) -> Option<&'static Ensemble> {
    let name = canonical(name);
    ENSEMBLES.iter().copied().find(|e| e.name == name)
}

pub use memo::Memo;
pub use reg_swap::RegSwapPrior as SizePrior;
pub use registry::{
    canonical, closest, find, lookup, make, names, proxy, reproduce_default, resolve, ABLATION as ABLATION_PROXIES,
    ABLATION_GRID, DEFAULT as DEFAULT_PROXIES, DEFAULT_FITNESS, QUICK_SETTINGS, REPRODUCE_LEAVES_OUT,
};
pub use setting::{AnySetting, ProxySettings, Setting};
pub use swap::MAX_BATCH as SWAP_MAX_BATCH;

use anyhow::Result;
use burn::tensor::Device;
use swapnas_benchmarks::{BnMode, ForwardCtx, ImageBatch, NetworkBuilder, Taps, Task};

/// Everything a proxy is given to score one architecture.
#[derive(Clone, Copy)]
pub struct ProxyContext<'a> {
    pub builder: &'a dyn NetworkBuilder,
    /// This arch's images with labels (at least [`Proxy::batch_size`] of them): the first
    /// training images in file order, or with `--input random-augmented` a random augmented
    /// batch drawn with the arch's seed, as the zero-cost-nas / NASLib references draw one.
    pub batch: &'a ImageBatch,
    /// The device to compute on (without autodiff; proxies that need gradients call
    /// `.autodiff()` on it).
    pub device: &'a Device,
    /// Seed for this (architecture, proxy) evaluation: weight init and any noise derive from it.
    pub seed: u64,
    /// Results shared between the proxies scoring this architecture.
    pub memo: &'a Memo,
    /// The run's proxy settings (batch sizes, SWAP's repeats, reg-SWAP's prior).
    pub settings: &'a ProxySettings,
    /// The benchmark task: its head and the loss gradient proxies back-propagate.
    pub task: &'a Task,
}

impl ProxyContext<'_> {
    /// A forward pass's context with this run's kernels (`--kernels`): every proxy's passes
    /// start here, so `--kernels burn` puts all of them on burn's ops.
    pub fn forward_ctx(&self, bn: BnMode, taps: Taps) -> ForwardCtx {
        let mut fwd = ForwardCtx::new(bn, taps);
        fwd.kernels = self.settings.kernels;
        fwd
    }
}

impl ProxySettings {
    /// The size prior (μ, σ in millions of parameters) the proxies with `Needs::size_prior`
    /// use with these settings: given, else the space's rule (reg-SWAP's file says which).
    pub fn size_prior(&self) -> SizePrior {
        reg_swap::prior(self).0
    }

    /// How [`ProxySettings::size_prior`] was chosen, in words (for report headers).
    pub fn size_prior_rule(&self) -> &'static str {
        reg_swap::prior(self).1
    }

    /// Whether the size prior was given (on the command line or by a command) rather than
    /// left to the space's rule.
    pub fn size_prior_given(&self) -> bool {
        reg_swap::PRIOR_SETTINGS.iter().any(|s| self.is_given(s.name()))
    }

    /// Gives the size prior as μ and σ in millions of parameters (`None`: back to the
    /// space's rule).
    pub fn set_size_prior(&mut self, prior: Option<SizePrior>) -> Result<()> {
        reg_swap::set_prior(self, prior)
    }

    /// Whether a run of `decls` with these settings must compute the space's largest network
    /// (a proxy uses the size prior and it was not given).
    pub fn needs_largest(&self, decls: &[&ProxyDecl]) -> bool {
        !self.size_prior_given() && decls.iter().any(|d| d.needs.size_prior)
    }
}

/// What a proxy needs of a task and a device, declared in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// It back-propagates (runs on the autodiff device).
    pub gradients: bool,
    /// It uses the task's targets through the task's loss.
    pub targets: bool,
    /// It needs one class label per image (a classification head).
    pub image_classes: bool,
    /// It reads ReLU activation patterns (SWAP's building block).
    pub relu_patterns: bool,
    /// It reads the network's output as class logits (a softmax classifier: a class head
    /// trained with cross-entropy, on labels or soft targets).
    pub class_logits: bool,
    /// It uses the size prior ([`ProxySettings::size_prior`]), whose default is the space's
    /// size rule (the largest network), which the run then has to compute.
    pub size_prior: bool,
    /// It is defined where the task's inputs are token ids (a transformer's text): it feeds
    /// the task's own inputs and reads activations or parameters only — no input gradient,
    /// no images of its own (noise, ones), no image-class labels.
    pub token_inputs: bool,
    /// It reads the hidden states a recurrent network's layers receive step by step
    /// (`Taps::hidden_states`): defined where the task's networks are recurrent.
    pub recurrent_states: bool,
}

impl Needs {
    /// Only the network (and possibly the images' shape or values).
    pub const NOTHING: Needs = Needs {
        gradients: false,
        targets: false,
        image_classes: false,
        class_logits: false,
        relu_patterns: false,
        size_prior: false,
        token_inputs: false,
        recurrent_states: false,
    };
    /// Activation patterns of a forward pass on the task's inputs (the nonlinearities SWAP
    /// hooks: ReLU, and GELU in transformers); defined on token inputs too.
    pub const RELU_PATTERNS: Needs = Needs { relu_patterns: true, token_inputs: true, ..Needs::NOTHING };
    /// Gradients of the output with respect to the input.
    pub const INPUT_GRADIENTS: Needs = Needs { gradients: true, ..Needs::NOTHING };
    /// Gradients of the task's loss with respect to the weights.
    pub const LOSS_GRADIENTS: Needs = Needs { gradients: true, targets: true, ..Needs::NOTHING };

    /// Why a proxy with these needs cannot run on `task`, or `None` if it can.
    pub fn unmet(&self, task: &Task) -> Option<String> {
        if !self.token_inputs && task.images.text.is_some() {
            return Some(format!(
                "is defined on images (it differentiates or synthesises its input, or reads image classes); task {} feeds token ids",
                task.name
            ));
        }
        if self.recurrent_states && !task.recurrent {
            return Some(format!("reads a recurrent network's hidden states; task {}'s networks are not recurrent", task.name));
        }
        if self.image_classes && !task.has_image_classes() {
            return Some(format!(
                "needs one class label per image; task {} has a {:?} head with {} loss on {:?} targets",
                task.name,
                task.head,
                task.loss.name(),
                task.targets
            ));
        }
        if self.class_logits && !task.has_class_logits() {
            return Some(format!(
                "reads the output as class logits; task {} has a {:?} head with {} loss",
                task.name,
                task.head,
                task.loss.name()
            ));
        }
        None
    }
}

/// A proxy's declaration, in its own file (`pub const PROXY: ProxyDecl`), and registered by
/// one line in [`REGISTRY`]. Settings come from the run's [`ProxySettings`], so one
/// declaration serves every run.
#[derive(Clone, Copy)]
pub struct ProxyDecl {
    /// The registry name (`swap`, `reg_swap`, …).
    pub name: &'static str,
    /// One line: what it computes and whose it is.
    pub about: &'static str,
    pub needs: Needs,
    /// The settings it reads (declared in its file, or in the shared plumbing's): each is a
    /// command-line flag (see [`setting`]).
    pub settings: &'static [&'static dyn AnySetting],
    /// Its scores' version: bump it whenever a change to the proxy (or to what it alone
    /// prepares) can change a score, so cached scores of the old code are recomputed.
    /// Version 1 adds nothing to the key (caches from before versions existed stay valid).
    pub version: u32,
    /// Whether its score, as a random variable over the initialisation, depends on nothing but
    /// the function the network computes at initialisation: an op the output does not reach, or
    /// whose input is zero, adds exactly nothing to it (such ops' weights get zero gradient and
    /// zero activation, and the proxy reads only conv/linear weights with their gradients or
    /// activations, input gradients, or whole-cell outputs). Such a proxy scores one network per
    /// same-function class (`swapnas_benchmarks::cell_class`; `--no-dedup` scores every arch's
    /// own). False for proxies that read every module — ReLU patterns (SWAP, NWOT, `ap`),
    /// per-layer features (MeCo, L-SWAG), BN statistics (Zen), parameter tensors (VKDNW),
    /// sizes (params, FLOPs, l2_norm) — where a dead op's module changes the score.
    pub function_only: bool,
    /// The settings that change its scores, in a canonical one-line form; with the version,
    /// part of the score-cache key and of report headers.
    pub key: fn(&ProxySettings) -> String,
    /// How many images of [`ProxyContext::batch`] it uses.
    pub batch: fn(&ProxySettings) -> usize,
    /// Scores one architecture. Errors name the arch; a NaN/inf score is returned as is and
    /// the caller records it.
    pub score: fn(&ProxyContext) -> Result<f64>,
}

impl ProxyDecl {
    /// Its key with `settings` and its version (the score cache's key, report headers).
    pub fn key_text(&self, settings: &ProxySettings) -> String {
        self.key_text_at(settings, self.version)
    }

    /// Its key with `settings` as `version` wrote it (older versions' keys: stale cache lines).
    pub fn key_text_at(&self, settings: &ProxySettings, version: u32) -> String {
        let key = (self.key)(settings);
        if version > 1 {
            format!("{key} v{version}")
        } else {
            key
        }
    }
}

/// A zero-cost proxy: a score for an untrained network, higher meaning "predicted better".
pub trait Proxy: Send + Sync {
    /// The registry name.
    fn name(&self) -> &'static str;
    /// One line about it.
    fn about(&self) -> &'static str;
    fn needs(&self) -> Needs;
    /// The settings that change this proxy's scores (cache key, report headers).
    fn settings(&self) -> String;
    /// How many images of [`ProxyContext::batch`] the proxy uses.
    fn batch_size(&self) -> usize;
    /// Scores one architecture (`ctx.settings` are the ones the proxy was made with).
    fn score(&self, ctx: &ProxyContext) -> Result<f64>;
    /// Why it cannot run on `task` ("n/a" in reports), or `None`.
    fn not_applicable(&self, task: &Task) -> Option<String> {
        self.needs().unmet(task)
    }
    /// Whether one network per same-function class serves every member ([`ProxyDecl::function_only`]).
    fn function_only(&self) -> bool {
        false
    }
}

/// A declared proxy with the settings of one run.
pub struct Declared {
    pub decl: &'static ProxyDecl,
    pub settings: ProxySettings,
}

impl Proxy for Declared {
    fn name(&self) -> &'static str {
        self.decl.name
    }

    fn about(&self) -> &'static str {
        self.decl.about
    }

    fn needs(&self) -> Needs {
        self.decl.needs
    }

    fn settings(&self) -> String {
        self.decl.key_text(&self.settings)
    }

    fn batch_size(&self) -> usize {
        (self.decl.batch)(&self.settings)
    }

    fn function_only(&self) -> bool {
        self.decl.function_only
    }

    /// Scores with this proxy's own settings (whatever `ctx.settings` holds).
    fn score(&self, ctx: &ProxyContext) -> Result<f64> {
        (self.decl.score)(&ProxyContext { settings: &self.settings, ..*ctx })
    }
}

/// Derives a child seed (per repeat, per batch, …) from a parent seed: SplitMix64.
pub fn derive_seed(parent: u64, stream: u64) -> u64 {
    let mut z = parent ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use swapnas_benchmarks::space::{AccuracyColumn, Head, InputPrep, Metric, TargetSource};
    use swapnas_benchmarks::{ImageSet, Loss};

    fn task(head: Head, loss: Loss, targets: TargetSource) -> Task {
        const VAL: &[AccuracyColumn] = &[AccuracyColumn { name: "val", about: "" }];
        Task {
            name: "t",
            aliases: &[],
            metric: Metric::ACCURACY,
            images: ImageSet::CIFAR10,
            input: InputPrep::AsIs,
            head,
            loss,
            targets,
            accuracies: VAL,
            recurrent: false,
            version: 1,
        }
    }

    /// A proxy that needs class labels is not applicable to a regression task, and says why;
    /// the registry's epe_nas declares that need, the loss-gradient proxies do not.
    #[test]
    fn needs_decide_applicability() {
        let regression = task(Head::Regression(9), Loss::Mse, TargetSource::Synthetic);
        let classes = task(Head::Classes(10), Loss::CrossEntropy, TargetSource::ImageLabels);
        // Soft (distribution) targets are not one class per image either.
        let soft = task(Head::Classes(63), Loss::SoftCrossEntropy, TargetSource::Synthetic);
        let epe = proxy("epe_nas", &ProxySettings::default()).unwrap();
        let why = epe.not_applicable(&regression).expect("epe_nas needs classes");
        assert!(why.contains("needs one class label per image") && why.contains("Regression"), "{why}");
        assert!(epe.not_applicable(&classes).is_none());
        assert!(epe.not_applicable(&soft).is_some());
        for name in ["snip", "swap", "synflow", "jacov"] {
            assert!(proxy(name, &ProxySettings::default()).unwrap().not_applicable(&regression).is_none(), "{name}");
        }
    }
}
