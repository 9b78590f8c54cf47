//! The scoring engine every subcommand uses: resolve the benchmark task and the proxies from
//! the registries, prepare once (device, proxies with their settings, input images, score
//! cache), then score candidates — in parallel, from the cache where possible, appending new
//! scores as they come. It names no space and no proxy: what differs between them is in
//! their declarations.

use crate::cache::{cache_key, CachedScore, ScoreCache};
use anyhow::{bail, Context, Result};
use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use sha2::Digest;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use swapnas_benchmarks::space::{AccuracyColumn, InputPrep, TableSet};
use swapnas_benchmarks::{Candidate, DataDir, ImageBatch, NetworkBuilder, SearchSpace, Split, Task};
use swapnas_proxies::{derive_seed, Memo, Proxy, ProxyContext, ProxyDecl, ProxySettings};

/// A benchmark task, resolved from `--bench`, `--task` (and `--set`) through the registry.
#[derive(Clone, Copy)]
pub struct Target {
    pub space: &'static dyn SearchSpace,
    pub task: &'static Task,
    /// The chosen table, for spaces with several.
    pub set: Option<&'static TableSet>,
}

impl Target {
    /// The space `bench` of the registry, its task `task` (default: its first) and table `set`.
    pub fn resolve(bench: &str, task: Option<&str>, set: Option<&str>) -> Result<Self> {
        let space = swapnas_benchmarks::spaces::find(bench)?;
        let task = match task {
            Some(name) => space.task(name)?,
            None => &space.tasks()[0],
        };
        let set = match set {
            None => None,
            Some(name) => {
                let sets = space.sets();
                if sets.is_empty() {
                    bail!("--set applies to spaces with several tables, and --bench {} has one", space.name());
                }
                let found = sets.iter().find(|s| s.name.eq_ignore_ascii_case(name));
                Some(found.with_context(|| {
                    format!(
                        "unknown --set `{name}` for --bench {}; its sets: {}",
                        space.name(),
                        sets.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    )
                })?)
            }
        };
        Ok(Self { space, task, set })
    }

    /// The accuracy column `--accuracy` names, or the task's first.
    pub fn accuracy(&self, name: Option<&str>) -> Result<&'static AccuracyColumn> {
        let columns = self.task.accuracies;
        match name {
            None => Ok(&columns[0]),
            Some(name) => columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)).with_context(|| {
                format!(
                    "--accuracy {name} is not available for --bench {} --task {}; it has: {}",
                    self.space.name(),
                    self.task.name,
                    columns.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
                )
            }),
        }
    }
}

/// A rank ensemble of a run.
#[derive(Debug, Clone)]
pub struct PlannedEnsemble {
    pub name: String,
    /// Its members' indices into [`ProxyPlan::decls`].
    pub members: Vec<usize>,
    /// Taken over the members that apply to the task ([`swapnas_proxies::Ensemble`]).
    pub over_applicable: bool,
}

impl PlannedEnsemble {
    /// The members it combines on a task, given which proxies are "n/a" there: all of them,
    /// or (when it is taken over the members that apply) those that apply, if two or more do.
    pub fn members_used(&self, not_applicable: impl Fn(usize) -> bool) -> Vec<usize> {
        let applicable: Vec<usize> = self.members.iter().copied().filter(|&m| !not_applicable(m)).collect();
        if self.over_applicable && applicable.len() >= 2 {
            applicable
        } else {
            self.members.clone()
        }
    }
}

/// The proxies and their settings, validated.
#[derive(Clone)]
pub struct ProxyPlan {
    pub decls: Vec<&'static ProxyDecl>,
    /// Rank ensembles in the list (`a+b+c`, or a named one such as `az_nas`).
    pub ensembles: Vec<PlannedEnsemble>,
    /// The settings asked for (validated as they were set; see [`swapnas_proxies::setting`]).
    pub settings: ProxySettings,
}

impl ProxyPlan {
    /// `list`: the proxies, comma-separated (or `all`); an item `a+b+c` is a rank ensemble,
    /// whose members are scored as proxies of their own.
    pub fn resolve(list: &str, settings: &ProxySettings) -> Result<Self> {
        // Named ensembles become their members joined by `+`.
        let items: Vec<(String, String, bool)> = list
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(|i| match swapnas_proxies::ensemble(i) {
                Some(e) => (e.name.to_string(), e.members.join("+"), e.over_applicable),
                None => (i.to_string(), i.to_string(), false),
            })
            .collect();
        let names: Vec<&str> = items.iter().flat_map(|(_, i, _)| i.split('+').map(str::trim)).collect();
        let decls = swapnas_proxies::resolve(&names.join(","))?;
        let mut ensembles = Vec::new();
        for (name, item, over_applicable) in items.iter().filter(|(_, i, _)| i.contains('+')) {
            let members: Vec<usize> = item
                .split('+')
                .map(|m| {
                    decls
                        .iter()
                        .position(|d| d.name == m.trim())
                        .with_context(|| format!("ensemble `{item}`: `{m}` is not a proxy"))
                })
                .collect::<Result<_>>()?;
            let mut unique = members.clone();
            unique.sort_unstable();
            unique.dedup();
            if unique.len() < 2 || unique.len() != members.len() {
                bail!("a rank ensemble names two or more different proxies (`swap+nwot`), got `{item}`");
            }
            ensembles.push(PlannedEnsemble { name: name.clone(), members, over_applicable: *over_applicable });
        }
        Ok(Self { decls, ensembles, settings: settings.clone() })
    }

    /// Whether the run must compute the space's largest network (a proxy uses the size prior
    /// and it was not given).
    pub fn needs_largest(&self) -> bool {
        self.settings.needs_largest(&self.decls)
    }

    /// The proxies' settings for `task`, with the space's largest network where the run
    /// computed it.
    pub fn settings(&self, task: &Task, largest_params: Option<usize>) -> ProxySettings {
        let mut settings = self.settings.clone();
        (settings.loss, settings.largest_params) = (task.loss, largest_params);
        settings
    }
}

/// Scores of one architecture, one per proxy (NaN where it failed or does not apply), and
/// the failures.
#[derive(Debug, Clone)]
pub struct ArchScores {
    pub scores: Vec<f64>,
    pub seconds: Vec<f64>,
    pub errors: Vec<String>,
}

/// `--input random` / `random-augmented`: each arch draws `n` images from the pool with its
/// own seed.
#[derive(Debug, Clone, Copy)]
pub struct Augment {
    pub n: usize,
    /// Crop from padding and flip (`random-augmented`), or the images as they are (`random`).
    pub augmented: bool,
    /// Normalised black, per channel: the crop's padding.
    pub fill: [f32; 3],
}

/// Which images the proxies see (`--input`; see `cli::Input` for each one's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Input {
    /// The first B training images in file order, the same for every arch.
    #[default]
    First,
    /// Per arch, B images drawn with the arch's seed, as they are.
    Random,
    /// Per arch, B images drawn with the arch's seed, randomly cropped from padding and flipped.
    RandomAugmented,
}

/// How `--input-size` shrinks the images: a seeded random crop, or a bilinear resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shrink {
    #[default]
    Crop,
    Resize,
}

/// The images the proxies see: which, from which split, at which size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputSpec {
    pub kind: Input,
    pub split: Split,
    /// `--input-size`: N×N instead of the task's own size (at least 1).
    pub size: Option<usize>,
    pub shrink: Shrink,
}

impl InputSpec {
    /// What a cache key adds for this input: nothing for the default (the first training
    /// images at the task's size), so caches written before these options stay valid.
    pub fn key_suffix(&self) -> String {
        let mut parts = Vec::new();
        match self.kind {
            Input::First => {}
            Input::Random => parts.push("input=random".to_string()),
            Input::RandomAugmented => parts.push("input=random-augmented".to_string()),
        }
        if self.split == Split::Test {
            parts.push("split=test".to_string());
        }
        if let Some(n) = self.size {
            let how = match self.shrink {
                Shrink::Crop => "crop",
                Shrink::Resize => "resize",
            };
            parts.push(format!("size={n}{how}"));
        }
        parts.iter().map(|p| format!(" {p}")).collect()
    }

    /// The batch as the network takes it: the task's preparation, then `--input-size`.
    fn prepare(&self, batch: &ImageBatch, task: &Task, seed: u64) -> ImageBatch {
        let prepared = batch.prepare(&task.input, seed);
        match (self.size, self.shrink) {
            (None, _) => prepared,
            (Some(n), Shrink::Crop) => prepared.random_crop(n, derive_seed(seed, SHRINK_STREAM)),
            (Some(n), Shrink::Resize) => prepared.resized(n),
        }
    }
}

/// Seed stream of an arch's random input batch (independent of its weight-init streams).
const INPUT_STREAM: u64 = 0x1a9e7;
/// Seed of the input preparation of the first images (the jigsaw permutations, the crops of
/// `--input-size`): fixed, so every arch sees the same batch.
const PREP_SEED: u64 = 0x9e1;
/// Seed stream of `--input-size`'s crop offsets.
const SHRINK_STREAM: u64 = 0x5c0;

/// The images the proxies need, as `--input` says: the first `n` images of the split, or the
/// pool random batches of `n` are drawn from (every image of the split in the data directory,
/// up to 10,000); and how the table header describes them.
pub fn load_input(input: InputSpec, task: &Task, data: &DataDir, n: usize) -> Result<(ImageBatch, Option<Augment>, String)> {
    let images = task.images.resolve(data);
    if let Some(text) = images.text {
        let what = format!("task {} feeds token sequences ({})", task.name, text.about);
        if input.size.is_some() {
            bail!("--input-size crops or resizes images; {what}: leave it out");
        }
        if input.kind == Input::RandomAugmented {
            bail!("--input random-augmented crops and flips images; {what}: use --input first or random");
        }
    }
    // What one record is called in the header.
    let records = if images.text.is_some() { "sequences" } else { "images" };
    // A text set has one corpus, whatever the split is called.
    let split_word = if images.text.is_some() { String::new() } else { format!("{} ", input.split.name()) };
    let mut prep = match task.input {
        InputPrep::AsIs => String::new(),
        InputPrep::Resize(side) => format!(", resized to {side}×{side}"),
        InputPrep::Jigsaw { resize, grid, tile, permutations } => format!(
            ", resized to {resize}×{resize} and cut into a {grid}×{grid} jigsaw of {tile}×{tile} tiles in one of {permutations} seeded permutations"
        ),
    };
    if let Some(size) = input.size {
        let side = task.input.side(images.side());
        if input.shrink == Shrink::Crop && size > side {
            bail!("--input-size {size} is larger than the task's {side}×{side} images: a crop cannot enlarge them (use --shrink resize)");
        }
        prep += &match input.shrink {
            Shrink::Crop => format!(", a random {size}×{size} crop of each"),
            Shrink::Resize => format!(", resized to {size}×{size}"),
        };
    }
    let split = input.split.name();
    match input.kind {
        Input::First => {
            let batch = images.load_first_of(data, input.split, n)?;
            let batch = input.prepare(&batch, task, PREP_SEED);
            Ok((batch, None, format!("first {n} {split_word}{records} of {}{prep}", images.name())))
        }
        Input::Random | Input::RandomAugmented => {
            let augmented = input.kind == Input::RandomAugmented;
            let pool = images.load_split(data, input.split, 10_000)?;
            if pool.len() < n {
                bail!(
                    "--input {} draws {n} images per arch, but {} has only {} {split} images here",
                    if augmented { "random-augmented" } else { "random" },
                    images.name(),
                    pool.len()
                );
            }
            let how = if augmented { ", random crop from 4-px black padding + horizontal flip" } else { "" };
            let text = format!(
                "per arch {n} of the {} {split_word}{records} of {} here, drawn with the arch's seed{how}{prep}",
                pool.len(),
                images.name()
            );
            Ok((pool, Some(Augment { n, augmented, fill: images.black() }), text))
        }
    }
}

/// `space.load(request, data)`, a panic while reading the table or building its networks
/// (e.g. to find the largest) ending in an error naming the space.
pub fn load(
    space: &dyn SearchSpace,
    request: &swapnas_benchmarks::space::Request,
    data: &DataDir,
) -> Result<swapnas_benchmarks::Loaded> {
    guarded(|| space.load(request, data)).and_then(|r| r).with_context(|| format!("reading --bench {}", space.name()))
}

/// Exactly `archs` (in any encoding the space parses) out of a table's `candidates`, in the
/// order given; an arch the space cannot parse, one the table does not hold, or one given
/// twice is an error naming it.
pub fn pick(
    space: &dyn SearchSpace,
    task: &'static Task,
    candidates: Vec<Candidate>,
    archs: &[String],
) -> Result<Vec<Candidate>> {
    let mut by_label: std::collections::HashMap<String, Candidate> =
        candidates.into_iter().map(|c| (c.label.clone(), c)).collect();
    let mut picked = Vec::with_capacity(archs.len());
    let mut seen = std::collections::HashSet::new();
    for arch in archs {
        let label = guarded(|| space.reference_candidate(arch, task)).and_then(|r| r)?.label;
        match by_label.remove(&label) {
            Some(c) => {
                seen.insert(label);
                picked.push(c)
            }
            None if seen.contains(&label) => bail!("arch `{arch}` is given twice"),
            None => bail!("arch `{arch}` ({label}) is not in the --bench {} table for task {}", space.name(), task.name),
        }
    }
    Ok(picked)
}

/// Runs `f`, turning a panic (a network that cannot be built, a bad arch) into an error with
/// its message: a bad arch or file ends in a message naming it, never a crash.
pub fn guarded<T>(f: impl FnOnce() -> T) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".to_string());
        anyhow::anyhow!("internal error: {msg}")
    })
}

/// ` NAME=vN` for a version above 1 (version 1 adds nothing: keys from before versions).
fn version_text(name: &str, version: u32) -> String {
    if version > 1 {
        format!(" {name}=v{version}")
    } else {
        String::new()
    }
}

/// The identity of a random-input pool: the first 12 hex digits of SHA-256 over its pixels
/// and labels (the 480-image test tarball and the real 50,000 give different pools).
fn pool_digest(pool: &ImageBatch) -> String {
    let mut h = sha2::Sha256::new();
    h.update((pool.side as u64).to_le_bytes());
    let mut bytes = Vec::with_capacity(4 * 4096);
    for chunk in pool.pixels.chunks(4096) {
        bytes.clear();
        bytes.extend(chunk.iter().flat_map(|p| p.to_le_bytes()));
        h.update(&bytes);
    }
    for l in &pool.labels {
        h.update(l.to_le_bytes());
    }
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// Whether `task` has a stand-in and its real images are in `data` (then scores are keyed by
/// the image set).
fn task_uses_real_images(task: &Task, data: &DataDir) -> bool {
    task.images.fallback.is_some() && task.images.resolve(data) == task.images
}

/// The data a run read, for headers: the directory, and the embedded subset when a loader
/// used it.
pub fn data_text(data: &DataDir) -> String {
    if swapnas_benchmarks::data::embedded::used() {
        format!("{} — files missing there served by the {}", data.describe(), swapnas_benchmarks::data::embedded::ABOUT)
    } else {
        data.describe()
    }
}

/// Resolves `--data-dir` / `$SWAPNAS_DATA` / `./data` / the user cache, fetching what is
/// missing on first use.
pub fn locate_data(flag: Option<&Path>) -> Result<DataDir> {
    Ok(DataDir::locate(flag)?.with_fetcher(crate::fetch::auto_fetcher()))
}

/// The seed of an architecture: a function of `--seed` and the arch alone, so a score does
/// not depend on which other archs were sampled with it (and so can be cached).
pub fn arch_seed(seed: u64, label: &str) -> u64 {
    let h = sha2::Sha256::digest(label.as_bytes());
    derive_seed(seed, u64::from_le_bytes(h[..8].try_into().expect("8 bytes")))
}

/// What to prepare an [`Engine`] with.
pub struct Setup<'a> {
    /// The run's name, part of every cache key (`Loaded::name`).
    pub run_name: &'a str,
    pub task: &'static Task,
    pub plan: &'a ProxyPlan,
    /// The space's largest network, when the plan needs it.
    pub largest_params: Option<usize>,
    pub input: InputSpec,
    /// At least this many images are loaded (beyond what the proxies declare).
    pub min_images: usize,
    pub device: &'a str,
    pub jobs: Option<usize>,
    /// The score cache file, or `None` to neither read nor write one.
    pub cache: Option<&'a Path>,
    pub data: &'a DataDir,
    /// Whether the proxies whose score is a function of the computation alone score one
    /// network per same-function class (`--no-dedup`: every arch's own).
    pub dedup: bool,
}

/// Everything scoring needs, prepared once.
pub struct Engine {
    pub run_name: String,
    pub task: &'static Task,
    pub proxies: Vec<Box<dyn Proxy>>,
    pub settings: ProxySettings,
    /// Each proxy's settings as its cache key and cache entries record them (with the input
    /// mode when it is not the default).
    cache_settings: Vec<String>,
    /// Per proxy: the settings texts its older versions wrote (a cache line under one is
    /// stale: the proxy changed since).
    stale_settings: Vec<Vec<String>>,
    /// Cache misses where a stale line was found (reported, then recomputed).
    stale: AtomicUsize,
    /// Per proxy: its key at the memory gate (name and settings, so one measured footprint
    /// serves every arch).
    gate_keys: Vec<String>,
    /// The first failure to append to the score cache (disk full, file-size limit): scoring
    /// stops there, keeping what was written.
    write_failed: std::sync::OnceLock<String>,
    /// Per proxy: why it does not apply to the task, if it does not.
    pub not_applicable: Vec<Option<String>>,
    /// The images every arch sees, or with `augment` the pool each arch's batch is drawn from.
    pub batch: ImageBatch,
    augment: Option<Augment>,
    input: InputSpec,
    /// The input, in words (report headers).
    pub input_text: String,
    cache: Option<std::sync::Arc<ScoreCache>>,
    pub device: Device,
    pub device_name: String,
    jobs: Option<usize>,
    dedup: bool,
    /// Scores of class representatives computed in this process, by cache key: the members
    /// of a class wait for the first to score it (each class scored once, cache or not).
    shared: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<std::sync::OnceLock<Computed>>>>,
    /// Scores a member took from a representative scored in this process.
    shared_hits: AtomicUsize,
}

/// One proxy's score as computed: the value or the error, the seconds it took, and a note
/// when the score could not be cached.
#[derive(Clone)]
struct Computed {
    result: std::result::Result<f64, String>,
    seconds: f64,
    note: Option<String>,
}

/// The network a proxy scores for a candidate: the candidate's own, or its same-function
/// class's representative's (with that arch's seed, memo and random batch).
struct Scored<'c> {
    label: &'c str,
    builder: &'c dyn NetworkBuilder,
    seed: u64,
    memo: &'c Memo,
    own_batch: std::cell::OnceCell<ImageBatch>,
    representative: bool,
}

impl Engine {
    pub fn prepare(setup: Setup) -> Result<Self> {
        let cache = setup.cache.map(open_cache).transpose()?.map(std::sync::Arc::new);
        Self::prepare_with(setup, cache)
    }

    /// [`Engine::prepare`] writing into `other`'s score cache (a cache is opened, and locked,
    /// once per process: engines of one command share it); `setup.cache` is ignored.
    pub fn prepare_sharing(setup: Setup, other: &Engine) -> Result<Self> {
        Self::prepare_with(setup, other.cache.clone())
    }

    fn prepare_with(setup: Setup, cache: Option<std::sync::Arc<ScoreCache>>) -> Result<Self> {
        let settings = setup.plan.settings(setup.task, setup.largest_params);
        let proxies = swapnas_proxies::make(&setup.plan.decls, &settings);
        let not_applicable: Vec<Option<String>> = proxies.iter().map(|p| p.not_applicable(setup.task)).collect();
        let images = proxies.iter().map(|p| p.batch_size()).max().unwrap_or(1).max(setup.min_images);
        let (batch, augment, input_text) = load_input(setup.input, setup.task, setup.data, images)?;
        // A set with a stand-in keys its own scores apart (earlier caches hold the stand-in's);
        // a random pool by its images' identity (the pool depends on the files at hand).
        let real = task_uses_real_images(setup.task, setup.data);
        let pool = augment.map_or(String::new(), |_| format!(" pool={}:{}", batch.len(), pool_digest(&batch)));
        let suffix_at = |task_version: u32, prep_version: u32| {
            format!(
                "{}{}{pool}{}{}",
                setup.input.key_suffix(),
                if real { format!(" images={}", setup.task.images.name()) } else { String::new() },
                version_text("task", task_version),
                version_text("prep", prep_version)
            )
        };
        let (task_v, prep_v) = (setup.task.version, swapnas_benchmarks::images::PREP_VERSION);
        let suffix = suffix_at(task_v, prep_v);
        let cache_settings: Vec<String> = proxies.iter().map(|p| format!("{}{suffix}", p.settings())).collect();
        let gate_keys = proxies.iter().zip(&cache_settings).map(|(p, s)| format!("{} {s}", p.name())).collect();
        // Every older combination of the proxy's, the task's and the preparation's versions.
        let stale_settings = (setup.plan.decls.iter())
            .map(|d| {
                let mut old = Vec::new();
                for v in 1..=d.version {
                    for t in 1..=task_v {
                        for q in 1..=prep_v {
                            if (v, t, q) != (d.version, task_v, prep_v) {
                                old.push(format!("{}{}", d.key_text_at(&settings, v), suffix_at(t, q)));
                            }
                        }
                    }
                }
                old
            })
            .collect();
        let (device, device_name) = crate::device::open(setup.device)?;
        Ok(Self {
            run_name: setup.run_name.to_string(),
            task: setup.task,
            proxies,
            settings,
            cache_settings,
            stale_settings,
            stale: AtomicUsize::new(0),
            gate_keys,
            write_failed: std::sync::OnceLock::new(),
            not_applicable,
            batch,
            augment,
            input: setup.input,
            input_text,
            cache,
            device,
            device_name,
            jobs: setup.jobs,
            dedup: setup.dedup,
            shared: Default::default(),
            shared_hits: AtomicUsize::new(0),
        })
    }

    /// Whether any proxy uses the size prior (report headers).
    pub fn uses_prior(&self) -> bool {
        self.proxies.iter().any(|p| p.needs().size_prior)
    }

    /// The size prior and how it was chosen, in words (report headers), if a proxy uses it.
    pub fn prior_text(&self) -> Option<String> {
        self.uses_prior().then(|| {
            let p = self.settings.size_prior();
            let users: Vec<&str> = self.proxies.iter().filter(|p| p.needs().size_prior).map(|p| p.name()).collect();
            format!("μ = {}M, σ = {}M params, used by {} ({})", p.mu, p.sigma, users.join(", "), self.settings.size_prior_rule())
        })
    }

    /// The proxies' image counts, in words: `16 (swap, reg_swap), 32 (snip)`.
    pub fn images_per_proxy(&self) -> String {
        let mut groups: Vec<(usize, Vec<&str>)> = Vec::new();
        for p in &self.proxies {
            match groups.iter_mut().find(|(n, _)| *n == p.batch_size()) {
                Some((_, names)) => names.push(p.name()),
                None => groups.push((p.batch_size(), vec![p.name()])),
            }
        }
        groups.iter().map(|(n, names)| format!("{n} ({})", names.join(", "))).collect::<Vec<_>>().join(", ")
    }

    /// `; N cached scores ignored as stale (…)` where a proxy's version changed since they
    /// were cached, else nothing.
    pub fn stale_note(&self) -> String {
        match self.stale.load(Ordering::Relaxed) {
            0 => String::new(),
            n => format!("; {n} cached scores ignored as stale (written by an older version of their proxy)"),
        }
    }

    /// The input these scores see (memo sharing: equal inputs, equal images).
    pub fn input(&self) -> InputSpec {
        self.input
    }

    /// The cache key of proxy `k`'s score of `label` with the arch seed `seed`.
    fn key(&self, k: usize, label: &str, seed: u64) -> String {
        cache_key(&self.run_name, label, self.proxies[k].name(), &self.cache_settings[k], seed)
    }

    /// A proxy context for one candidate (the first images, not an augmented batch).
    pub fn context<'a>(&'a self, c: &'a Candidate, seed: u64, memo: &'a Memo, batch: &'a ImageBatch) -> ProxyContext<'a> {
        self.context_for(c.builder.as_ref(), seed, memo, batch)
    }

    fn context_for<'a>(
        &'a self,
        builder: &'a dyn NetworkBuilder,
        seed: u64,
        memo: &'a Memo,
        batch: &'a ImageBatch,
    ) -> ProxyContext<'a> {
        ProxyContext { builder, batch, device: &self.device, seed, memo, settings: &self.settings, task: self.task }
    }

    /// Whether proxy `k` scores `c` by its same-function class's representative.
    fn by_representative(&self, k: usize, c: &Candidate) -> bool {
        self.dedup && c.same_function.is_some() && self.proxies[k].function_only()
    }

    /// The arch whose network proxy `k` scores for `c` (its own, or its class representative).
    pub fn scored_label<'c>(&self, k: usize, c: &'c Candidate) -> &'c str {
        match &c.same_function {
            Some(r) if self.by_representative(k, c) => &r.label,
            _ => &c.label,
        }
    }

    /// The arch some applicable proxy scored for `c` instead of `c` itself (its class
    /// representative), if any: what `scores.csv` and the Python frame report as
    /// `same_function_as`.
    pub fn scored_as<'c>(&self, c: &'c Candidate) -> Option<&'c str> {
        let used = (0..self.proxies.len()).any(|k| self.not_applicable[k].is_none() && self.by_representative(k, c));
        c.same_function.as_ref().filter(|_| used).map(|r| r.label.as_str())
    }

    /// The report line on same-function classes, when the space has them and an applicable
    /// proxy depends only on the computation: the space's class count, how many classes
    /// `candidates` fall into, and which proxies scored one network per class.
    pub fn same_function_text(&self, classes_in_space: Option<usize>, candidates: &[Candidate]) -> Option<String> {
        let classes = classes_in_space?;
        let by_class: Vec<&str> = (0..self.proxies.len())
            .filter(|&k| self.not_applicable[k].is_none() && self.proxies[k].function_only())
            .map(|k| self.proxies[k].name())
            .collect();
        if by_class.is_empty() {
            return None;
        }
        let representative = |c: &Candidate| c.same_function.as_ref().map_or(c.label.clone(), |r| r.label.clone());
        let distinct: std::collections::HashSet<String> = candidates.iter().map(representative).collect();
        let how = if self.dedup {
            format!(
                "{} scored one network per class (its smallest-ordinal arch, named in scores.csv's same_function_as), the other proxies every arch's own",
                by_class.join(", ")
            )
        } else {
            "--no-dedup: every proxy scored every arch's own network".to_string()
        };
        Some(format!(
            "{classes} same-function classes in the space (archs computing the same function at initialisation); these {} archs fall into {}; {how}",
            candidates.len(),
            distinct.len()
        ))
    }

    /// Scores one candidate with every proxy (from the cache where possible; `from_cache`
    /// counts the hits). `seed` is the run's (`--seed`): each arch's derives from it.
    pub fn score_arch(&self, c: &Candidate, seed: u64, from_cache: &AtomicUsize) -> ArchScores {
        self.score_arch_with(c, seed, from_cache, &Memo::new())
    }

    /// [`Engine::score_arch`] with the caller's memo: engines fed the very same images may
    /// share one per arch, so what one computed (SWAP's forward passes) another reuses.
    /// The proxies that depend on the computation alone score the candidate's same-function
    /// class representative, once per process (see [`ProxyDecl::function_only`]).
    pub fn score_arch_with(&self, c: &Candidate, seed: u64, from_cache: &AtomicUsize, memo: &Memo) -> ArchScores {
        self.score_arch_where(c, seed, from_cache, memo, &|_| true)
    }

    /// [`Engine::score_arch_with`] for the proxies `wanted` picks (by their place in the
    /// plan); the others are NaN and take no time.
    pub fn score_arch_where(
        &self,
        c: &Candidate,
        seed: u64,
        from_cache: &AtomicUsize,
        memo: &Memo,
        wanted: &dyn Fn(usize) -> bool,
    ) -> ArchScores {
        let scored = |label, builder, memo, representative| Scored {
            label,
            builder,
            seed: arch_seed(seed, label),
            memo,
            own_batch: std::cell::OnceCell::new(),
            representative,
        };
        let own = scored(&c.label, c.builder.as_ref(), memo, false);
        let class_memo = Memo::new();
        let class = c.same_function.as_ref().map(|r| scored(&r.label, r.builder.as_ref(), &class_memo, true));
        let mut out = ArchScores { scores: Vec::new(), seconds: Vec::new(), errors: Vec::new() };
        for (k, p) in self.proxies.iter().enumerate() {
            if self.not_applicable[k].is_some() || !wanted(k) {
                out.scores.push(f64::NAN);
                out.seconds.push(0.0);
                continue;
            }
            let target = match &class {
                Some(class) if self.by_representative(k, c) => class,
                _ => &own,
            };
            let key = self.key(k, target.label, target.seed);
            if let Some(cache) = &self.cache {
                if let Some(hit) = cache.get(&key) {
                    out.scores.push(hit.value());
                    out.seconds.push(hit.seconds);
                    from_cache.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let old = |s: &String| cache.get(&cache_key(&self.run_name, target.label, p.name(), s, target.seed)).is_some();
                if self.stale_settings[k].iter().any(old) {
                    self.stale.fetch_add(1, Ordering::Relaxed);
                }
            }
            // One computation per class in this process, whichever member (or the
            // representative itself) comes first.
            let computed = if self.dedup && p.function_only() {
                let slot = self.shared.lock().unwrap_or_else(|e| e.into_inner()).entry(key.clone()).or_default().clone();
                let mut here = false;
                let computed = slot
                    .get_or_init(|| {
                        here = true;
                        self.compute(k, target, &key)
                    })
                    .clone();
                if !here {
                    self.shared_hits.fetch_add(1, Ordering::Relaxed);
                }
                computed
            } else {
                self.compute(k, target, &key)
            };
            out.seconds.push(computed.seconds);
            out.errors.extend(computed.note.map(|n| format!("{}: {n}", p.name())));
            match computed.result {
                Ok(v) => out.scores.push(v),
                // Failures are not cached: a rerun tries again.
                Err(e) => {
                    let via = if target.representative {
                        format!(" (scored as its same-function arch {})", target.label)
                    } else {
                        String::new()
                    };
                    out.scores.push(f64::NAN);
                    out.errors.push(format!("{}: {e}{via}", p.name()));
                }
            }
        }
        out
    }

    /// Runs proxy `k` on `target` and appends its score to the cache under `key`.
    fn compute(&self, k: usize, target: &Scored, key: &str) -> Computed {
        let p = &self.proxies[k];
        let batch = match (self.augment, target.own_batch.get()) {
            (None, _) => &self.batch,
            (Some(_), Some(b)) => b,
            (Some(a), None) => {
                let drawn = guarded(|| {
                    let stream = derive_seed(target.seed, INPUT_STREAM);
                    let drawn = if a.augmented {
                        self.batch.augmented_sample(a.n, stream, a.fill)
                    } else {
                        self.batch.random_sample(a.n, stream)
                    };
                    self.input.prepare(&drawn, self.task, derive_seed(stream, PREP_SEED))
                });
                match drawn {
                    Ok(b) => target.own_batch.get_or_init(|| b),
                    Err(e) => {
                        let result = Err(format!("drawing the arch's random batch: {e:#}"));
                        return Computed { result, seconds: 0.0, note: None };
                    }
                }
            }
        };
        let ctx = self.context_for(target.builder, target.seed, target.memo, batch);
        // Within the memory the machine has (see `memory`): an unmeasured proxy runs alone.
        let gate_key = &self.gate_keys[k];
        let permit = crate::memory::MemoryGate::global().acquire(gate_key);
        let start = Instant::now();
        let result = guarded(|| p.score(&ctx)).and_then(|r| r);
        let seconds = start.elapsed().as_secs_f64();
        crate::memory::MemoryGate::global().release(gate_key, permit);
        let mut note = None;
        if let (Ok(v), Some(cache)) = (&result, &self.cache) {
            let entry = CachedScore {
                bench: self.run_name.clone(),
                arch: target.label.to_string(),
                proxy: p.name().to_string(),
                settings: self.cache_settings[k].clone(),
                seed: target.seed,
                score: v.to_string(),
                seconds,
            };
            debug_assert_eq!(entry.key(), key);
            if let Err(e) = cache.append(&entry) {
                note = Some(format!("score computed but not cached: {e:#}"));
                let _ = self.write_failed.set(format!("{e:#}"));
            }
        }
        Computed { result: result.map_err(|e| format!("{e:#}")), seconds, note }
    }

    /// The labels of the candidates some applicable proxy has no cached score for.
    pub fn missing(&self, candidates: &[Candidate], seed: u64) -> Vec<String> {
        let Some(cache) = &self.cache else { return candidates.iter().map(|c| c.label.clone()).collect() };
        candidates
            .iter()
            .filter(|c| {
                (0..self.proxies.len()).any(|k| {
                    let label = self.scored_label(k, c);
                    self.not_applicable[k].is_none() && cache.get(&self.key(k, label, arch_seed(seed, label))).is_none()
                })
            })
            .map(|c| c.label.clone())
            .collect()
    }

    /// Scores every candidate with every proxy, in parallel over archs, with a progress bar;
    /// scores already in the cache are taken from it, new ones are appended as they come.
    /// `seed` is `--seed` (each arch's seed derives from it).
    pub fn score_all(&self, candidates: &[Candidate], seed: u64) -> Result<Vec<ArchScores>> {
        let bar = if CALLER_PROGRESS.load(Ordering::SeqCst) {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(candidates.len() as u64)
        };
        PROGRESS.0.store(0, Ordering::SeqCst);
        PROGRESS.1.store(candidates.len(), Ordering::SeqCst);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} archs  {per_sec}  elapsed {elapsed}  ETA {eta}")
                .expect("static template"),
        );
        let pool = rayon::ThreadPoolBuilder::new().num_threads(self.jobs.unwrap_or(0)).build()?;
        let from_cache = AtomicUsize::new(0);
        let shared_before = self.shared_hits.load(Ordering::Relaxed);
        watch_ctrl_c();
        let skipped = AtomicUsize::new(0);
        // A label that repeats among the candidates (one cell trained several times: NB101's
        // Suite-Zero rows, NAS-Bench-NLP's repeated runs) is one network with one seed: it is
        // scored once and its scores are given to every row of it.
        let mut slot_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        // Per label, in order of first appearance: its first row, and how many rows it has.
        let (mut distinct, mut rows_of) = (Vec::new(), Vec::new());
        let slot: Vec<usize> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let k = *slot_of.entry(c.label.as_str()).or_insert_with(|| {
                    distinct.push(i);
                    rows_of.push(0);
                    distinct.len() - 1
                });
                rows_of[k] += 1;
                k
            })
            .collect();
        let scored: Vec<ArchScores> = pool.install(|| {
            distinct
                .par_iter()
                .zip(&rows_of)
                .map(|(&i, &rows)| {
                    let c = &candidates[i];
                    if INTERRUPTED.load(Ordering::SeqCst) || self.write_failed.get().is_some() {
                        skipped.fetch_add(rows, Ordering::Relaxed);
                        return ArchScores { scores: Vec::new(), seconds: Vec::new(), errors: Vec::new() };
                    }
                    let r = self.score_arch(c, seed, &from_cache);
                    for e in &r.errors {
                        bar.println(format!("warning: arch {}: {e}", c.label));
                    }
                    bar.inc(rows as u64);
                    PROGRESS.0.fetch_add(rows, Ordering::SeqCst);
                    r
                })
                .collect()
        });
        let results: Vec<ArchScores> = slot.iter().map(|&k| scored[k].clone()).collect();
        let repeated_rows = candidates.len() - distinct.len();
        bar.finish_and_clear();
        let skipped = skipped.load(Ordering::Relaxed);
        if skipped > 0 {
            let saved = match &self.cache {
                Some(cache) => format!("their scores are in {}: run the same command again to resume", cache.path().display()),
                None => "(--no-cache: nothing was kept)".to_string(),
            };
            let done = candidates.len() - skipped;
            if let (Some(err), Some(cache)) = (self.write_failed.get(), &self.cache) {
                bail!(
                    "stopped: the score cache {} could not be written ({err}); {done} of {} archs scored, every score written before is kept: make room (or lift the file-size limit) and run the same command again to resume",
                    cache.path().display(),
                    candidates.len()
                );
            }
            bail!("interrupted (Ctrl-C): {done} of {} archs scored; {saved}", candidates.len());
        }
        let applicable = self.not_applicable.iter().filter(|n| n.is_none()).count();
        let total = candidates.len() * applicable;
        let shared = self.shared_hits.load(Ordering::Relaxed) - shared_before + repeated_rows * applicable;
        let source = match repeated_rows {
            0 => "same-function archs scored in this run".to_string(),
            r => format!("same-function archs or repeated rows of one arch ({r} rows) scored in this run"),
        };
        let shared_text = if shared > 0 { format!(", {shared} from {source}") } else { String::new() };
        if let Some(cache) = &self.cache {
            let hits = from_cache.load(Ordering::Relaxed);
            eprintln!(
                "scores: {hits} of {total} taken from the cache {}{shared_text}, {} computed{}",
                cache.path().display(),
                total - hits - shared,
                self.stale_note()
            );
        } else if shared > 0 {
            eprintln!("scores: {shared} of {total} taken from {source}, {} computed", total - shared);
        }
        for (p, why) in self.proxies.iter().zip(&self.not_applicable) {
            if let Some(why) = why {
                eprintln!("{}: not applicable to task {} ({why}); reported as n/a", p.name(), self.task.name);
            }
        }
        Ok(results)
    }
}

/// Set by Ctrl-C: archs not yet started are skipped; those in flight finish and are cached.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether Ctrl-C was pressed (work not yet started is to be skipped).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Set by an embedder that watches interrupts itself ([`interrupts_handled_by_caller`]).
static CALLER_INTERRUPTS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For embedders (the Python package): never install the Ctrl-C handler — the caller watches
/// for interrupts itself and calls [`interrupt`] — and clear an earlier interrupt, so that a
/// new call starts afresh.
pub fn interrupts_handled_by_caller() {
    CALLER_INTERRUPTS.store(true, Ordering::SeqCst);
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// The latest [`Engine::score_all`]'s progress: archs done, archs in all.
static PROGRESS: (AtomicUsize, AtomicUsize) = (AtomicUsize::new(0), AtomicUsize::new(0));

/// Set by an embedder that shows progress itself ([`progress_shown_by_caller`]).
static CALLER_PROGRESS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// For embedders: the terminal progress bar is hidden; the caller reads [`progress`] instead.
/// Called as a call starts, it also clears the previous call's progress, so that the caller
/// never reads an earlier call's count before this call's scoring resets it.
pub fn progress_shown_by_caller() {
    CALLER_PROGRESS.store(true, Ordering::SeqCst);
    PROGRESS.0.store(0, Ordering::SeqCst);
    PROGRESS.1.store(0, Ordering::SeqCst);
}

/// The archs the latest scoring has done, and its total.
pub fn progress() -> (usize, usize) {
    (PROGRESS.0.load(Ordering::SeqCst), PROGRESS.1.load(Ordering::SeqCst))
}

/// Stops scoring as Ctrl-C does: archs in flight finish and are cached, the rest are skipped.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Installs the Ctrl-C handler once (a second Ctrl-C exits at once), unless the caller handles
/// interrupts.
pub fn watch_ctrl_c() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if CALLER_INTERRUPTS.load(Ordering::SeqCst) {
        return;
    }
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\nCtrl-C: finishing the archs in flight and writing their scores (Ctrl-C again to quit now)");
        });
    });
}

/// The score cache at `path`, repairing a torn last write.
pub fn open_cache(path: &Path) -> Result<ScoreCache> {
    let cache = ScoreCache::open(path)?;
    if cache.repaired_bytes > 0 || cache.corrupt_lines > 0 {
        eprintln!(
            "score cache {}: cut off a torn last write ({} bytes), skipped {} corrupt lines; {} scores kept",
            cache.path().display(),
            cache.repaired_bytes,
            cache.corrupt_lines,
            cache.len()
        );
    }
    Ok(cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The declared label-free ensemble is taken over its members that apply (VKDNW is "n/a"
    /// where the output is not class logits); a published one (AZ-NAS, VKDNW_agg) is "n/a" as
    /// soon as one member is.
    #[test]
    fn an_ensemble_over_applicable_members_leaves_out_the_na_ones() {
        let plan = ProxyPlan::resolve("label_free,vkdnw_agg", &ProxySettings::default()).unwrap();
        let layout = swapnas_benchmarks::spaces::find("tnb101-micro").unwrap().task("room_layout").unwrap();
        let na = |m: usize| plan.decls[m].needs.unmet(layout).is_some();
        let names = |ms: Vec<usize>| ms.into_iter().map(|m| plan.decls[m].name).collect::<Vec<_>>();
        let label_free = plan.ensembles.iter().find(|e| e.name == "label_free").unwrap();
        let used = names(label_free.members_used(na));
        assert!(!used.contains(&"vkdnw") && used.len() == label_free.members.len() - 1, "{used:?}");
        let agg = plan.ensembles.iter().find(|e| e.name == "vkdnw_agg").unwrap();
        assert!(names(agg.members_used(na)).contains(&"vkdnw"), "a published ensemble keeps every member");
        let cifar = swapnas_benchmarks::spaces::find("nb201").unwrap().task("cifar10").unwrap();
        assert_eq!(label_free.members_used(|m| plan.decls[m].needs.unmet(cifar).is_some()), label_free.members);
    }

    /// The default prior's rule says where the ablation behind it was run (NB201 CIFAR-100)
    /// rather than implying it was measured on whatever space a run is on; a given prior says
    /// it was given.
    #[test]
    fn the_prior_rule_says_what_was_measured_where() {
        let task = swapnas_benchmarks::spaces::find("nb301").unwrap().task("cifar10").unwrap();
        let plan = ProxyPlan::resolve("reg_swap", &ProxySettings::default()).unwrap();
        let rule = plan.settings(task, Some(1_500_000)).size_prior_rule();
        assert!(rule.contains("NB201 CIFAR-100 only") && rule.contains("not measured on other spaces"), "{rule}");
        let mut given = ProxySettings::default();
        given.set_size_prior(Some(swapnas_proxies::SizePrior { mu: 1.0, sigma: 1.0 })).unwrap();
        let settings = ProxyPlan::resolve("reg_swap", &given).unwrap().settings(task, Some(1_500_000));
        assert_eq!((settings.size_prior_rule(), settings.size_prior().mu), ("given on the command line", 1.0));
    }

    /// Bumping one proxy's version recomputes exactly that proxy's cached scores, and the run
    /// counts the lines it ignored as stale; version 1 keys are the keys from before versions.
    #[test]
    fn a_bumped_version_recomputes_exactly_that_proxy() {
        let dir = std::env::temp_dir().join(format!("swapnas-version-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // An empty data directory without a fetcher: NB201 CIFAR-10 from the embedded subset.
        let data = DataDir::at(dir.join("data"));
        let target = Target::resolve("nb201", None, None).unwrap();
        let task = target.task;
        let request = swapnas_benchmarks::space::Request {
            task,
            set: None,
            archs: Some(3),
            seed: 0,
            accuracy: &task.accuracies[0],
            largest: false,
        };
        let loaded = target.space.load(&request, &data).unwrap();
        let cache = dir.join("scores.jsonl");
        let score = |plan: &ProxyPlan| {
            let setup = Setup {
                run_name: &loaded.name,
                task,
                plan,
                largest_params: None,
                input: InputSpec::default(),
                min_images: 1,
                device: "cpu",
                jobs: Some(1),
                cache: Some(&cache),
                data: &data,
                dedup: true,
            };
            let engine = Engine::prepare(setup).unwrap();
            let hits = AtomicUsize::new(0);
            for c in &loaded.candidates {
                let r = engine.score_arch(c, 0, &hits);
                assert!(r.errors.is_empty(), "{:?}", r.errors);
            }
            (hits.load(Ordering::Relaxed), engine.stale.load(Ordering::Relaxed), engine.stale_note())
        };
        let v1 = ProxyPlan::resolve("params,flops", &ProxySettings::default()).unwrap();
        assert_eq!(score(&v1).0, 0);
        assert_eq!(score(&v1), (6, 0, String::new()), "version 1 again: all from the cache");
        // flops at version 2: params from the cache, flops recomputed (3 stale lines), once.
        let flops2: &'static ProxyDecl = Box::leak(Box::new(ProxyDecl { version: 2, ..*v1.decls[1] }));
        let v2 = ProxyPlan { decls: vec![v1.decls[0], flops2], ..v1.clone() };
        let (hits, stale, note) = score(&v2);
        assert_eq!((hits, stale), (3, 3));
        assert!(note.contains("3 cached scores ignored as stale"), "{note}");
        assert_eq!(score(&v2), (6, 0, String::new()));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The default input adds nothing to cache keys (caches written before the input options
    /// stay valid); every other input is told apart.
    #[test]
    fn input_key_suffixes() {
        assert_eq!(InputSpec::default().key_suffix(), "");
        let aug = InputSpec { kind: Input::RandomAugmented, ..InputSpec::default() };
        assert_eq!(aug.key_suffix(), " input=random-augmented");
        let all = InputSpec { kind: Input::Random, split: Split::Test, size: Some(3), shrink: Shrink::Resize };
        assert_eq!(all.key_suffix(), " input=random split=test size=3resize");
        let crop = InputSpec { size: Some(15), ..InputSpec::default() };
        assert_eq!(crop.key_suffix(), " size=15crop");
    }
}
