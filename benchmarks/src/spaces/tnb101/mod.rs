//! TransNAS-Bench-101 (Duan et al., CVPR 2021): the micro space (4,096 cell architectures)
//! and the macro space (3,256 stage sequences), seven Taskonomy tasks each — declared here as
//! two search spaces, `tnb101-micro` and `tnb101-macro` ([`MICRO`], [`MACRO`]).
//!
//! * Tables (`--set`, [`SETS`]), each task's validation metric (top-1 for class_object /
//!   class_scene / jigsaw, SSIM for normal / autoencoder, negative L2 loss for room_layout, pixel
//!   accuracy for segmentsemantic):
//!   - `suitezero` (the default): Suite-Zero's archs of the task (711 micro, 662–725 macro) with
//!     the **best epoch**'s value, `zc_transbench101_<space>.json` — what NASLib's query returns
//!     (the TransNAS-Bench-101 API's `get_single_metric(mode="best")`) and what Suite-Zero, LIBRA
//!     and L-SWAG correlate against;
//!   - `all`: every arch (4,096 / 3,256) from Suite-Zero's zen zips, whose value is never above
//!     that best epoch's and below it for 4–99 % of archs by task (checked on every shared arch:
//!     apparently the final epoch) — or, when present, the converted official archive
//!     (`scripts/convert_tnb101.py` → `benchmarks/tnb101/tnb101_<space>.h5`), the best epoch of
//!     every arch. Searches query this table (they need every arch).
//! * Networks: [`net`] (the official encoders and decoders; parameter counts equal Suite-Zero's
//!   `params` for every arch of both reference files on every task, see [`params`]).
//! * Inputs: Taskonomy is not available here; a STAND-IN of 64 ImageNet photos (224×224) is
//!   resized to the benchmark's 256×256 (jigsaw: 255×255, cut into a 3×3 grid of 64×64
//!   tiles). Targets the stand-in does not have are seeded synthetic tensors of the right
//!   shape (autoencoder: the input itself; jigsaw: the permutation index). Every report says so.

mod arch;
mod net;

pub use arch::{micro_function_classes, MacroArch, MicroArch, MicroOp, MACRO_GRAPH_FEATURES, MICRO_EDGES, MICRO_GRAPH_FEATURES, NUM_MICRO};
pub use net::{TnbArch, TnbBuilder, TnbConfig, TnbNet, TnbTask, GRID, INPUT_SIDE, TILE};

use crate::data::archive::BenchmarkArchive;
use crate::data::data_dir::{DataDir, DataFile};
use crate::data::suite_zero::{read_zen_zip, ZcTable};
use crate::genome::{always_valid, Genome};
use crate::images::ImageSet;
use crate::sample::sample_indices;
use crate::space::{
    AccuracyColumn, TableSet, Candidate, CheckedFile, Head, InputPrep, Loaded, Loss, Metric, Reference, Representative, Request, SearchSpace, SpaceInfo, TargetSource, Task,
};
use anyhow::{bail, ensure, Context, Result};

pub const MICRO_ZIP: DataFile = DataFile {
    rel_path: "benchmarks/tnb101/suitezero-transbench101-micro-zen.zip",
    source: "the zen/benchmark--transbench101_micro--* entries of NASLib's naslib/data/zc_benchmarks/all_benchmarks_zen.zip \
             (https://github.com/automl/NASLib), zipped on their own",
};
pub const MACRO_ZIP: DataFile = DataFile {
    rel_path: "benchmarks/tnb101/suitezero-transbench101-macro-zen.zip",
    source: "https://github.com/automl/NASLib/raw/eba9f98038440ba2f246f6054ebd7ba55ad38b3a/run/results/benchmarks/tnb101_macro_zen.zip",
};
pub const MICRO_ZC_JSON: DataFile = DataFile {
    rel_path: "benchmarks/tnb101/zc_transbench101_micro.json",
    source: "https://github.com/automl/NASLib/raw/e5a821c2dadf608042e4e046e386006cf6bd0564/naslib/data/zc_transbench101_micro.json",
};
pub const MACRO_ZC_JSON: DataFile = DataFile {
    rel_path: "benchmarks/tnb101/zc_transbench101_macro.json",
    source: "https://github.com/automl/NASLib/raw/e5a821c2dadf608042e4e046e386006cf6bd0564/naslib/data/zc_transbench101_macro.json",
};

const STANDIN_FILES: &[DataFile] = &[DataFile {
    rel_path: "images/taskonomy-standin-224/images.bin",
    source: "Taskonomy is not redistributable here; a stand-in of 64 ImageNet sample photos at 224×224 \
             (1 index byte + 150,528 bytes R,G,B per image) is used instead",
}];

/// The stand-in for Taskonomy's RGB inputs — 64 ImageNet sample photos, 224×224 centre crops
/// (1 index byte + R, G, B planes per image) — with a task's normalisation of pixels / 255.
const fn standin(mean: f32, std: f32) -> ImageSet {
    ImageSet {
        name: "Taskonomy STAND-IN (64 ImageNet photos, 224×224), not Taskonomy",
        side: 224,
        header: (1, 0),
        max_label: 63,
        mean: [mean; 3],
        std: [std; 3],
        files: STANDIN_FILES,
        test_files: &[],
        fallback: None,
        source: (
            "images/taskonomy-standin-224/images.bin",
            "a 224×224 stand-in of 64 ImageNet photos (1 index byte + R,G,B planes per image); Taskonomy itself is not used",
        ),
        archive: None,
        text: None,
    }
}

/// NASLib's loaders normalise class_object, class_scene and room_layout inputs with
/// Taskonomy's statistics (mean ≈ 0.5224, std ≈ 0.2234 per channel)…
pub const STANDIN_TASKONOMY_NORM: ImageSet = ImageSet { mean: [0.5224, 0.5222, 0.5221], std: [0.2234, 0.2235, 0.2236], ..standin(0.0, 1.0) };
/// …segmentsemantic, normal and autoencoder inputs to [−1, 1] (mean 0.5, std 0.5)…
pub const STANDIN_HALF: ImageSet = standin(0.5, 0.5);
/// …and leave jigsaw tiles in [0, 1].
pub const STANDIN_RAW: ImageSet = standin(0.0, 1.0);

/// The TNB101 tasks' version (their stand-in images' preparation, synthetic targets, losses
/// and heads, all in this folder): bump it when a change here can change a score.
const VERSION: u32 = 1;

#[allow(clippy::too_many_arguments)] // one row of the task table
const fn task(
    name: &'static str,
    metric: &'static str,
    images: ImageSet,
    input: InputPrep,
    head: Head,
    loss: Loss,
    targets: TargetSource,
    accuracies: &'static [AccuracyColumn],
) -> Task {
    Task {
        name,
        aliases: &[],
        metric: Metric { name: metric, higher_is_better: true },
        images,
        input,
        head,
        loss,
        targets,
        accuracies,
        recurrent: false,
        version: VERSION,
    }
}

const RESIZE: InputPrep = InputPrep::Resize(INPUT_SIDE);

/// The seven tasks, with the heads and losses of NASLib's zero-cost code.
const TASKS: &[Task] = &[
    task(
        "class_object",
        "top-1 accuracy",
        STANDIN_TASKONOMY_NORM,
        RESIZE,
        Head::Classes(100),
        Loss::SoftCrossEntropy,
        TargetSource::Synthetic,
        &[AccuracyColumn { name: "val", about: "validation top-1 accuracy (%), class_object" }],
    ),
    task(
        "class_scene",
        "top-1 accuracy",
        STANDIN_TASKONOMY_NORM,
        RESIZE,
        Head::Classes(63),
        Loss::SoftCrossEntropy,
        TargetSource::Synthetic,
        &[AccuracyColumn { name: "val", about: "validation top-1 accuracy (%), class_scene" }],
    ),
    task(
        "room_layout",
        "negative L2 loss",
        STANDIN_TASKONOMY_NORM,
        RESIZE,
        Head::Regression(9),
        Loss::Mse,
        TargetSource::Synthetic,
        &[AccuracyColumn { name: "val", about: "validation negative L2 loss, room_layout" }],
    ),
    task(
        "jigsaw",
        "top-1 accuracy",
        STANDIN_RAW,
        InputPrep::Jigsaw { resize: 255, grid: GRID, tile: TILE, permutations: 1000 },
        Head::Classes(1000),
        Loss::CrossEntropy,
        TargetSource::ImageLabels,
        &[AccuracyColumn { name: "val", about: "validation top-1 accuracy (%), jigsaw" }],
    ),
    task(
        "segmentsemantic",
        "pixel accuracy",
        STANDIN_HALF,
        RESIZE,
        Head::PixelClasses(17),
        Loss::PixelCrossEntropy,
        TargetSource::Synthetic,
        &[AccuracyColumn { name: "val", about: "validation pixel accuracy (%), segmentsemantic" }],
    ),
    task(
        "normal",
        "SSIM",
        STANDIN_HALF,
        RESIZE,
        Head::Image(3),
        Loss::L1,
        TargetSource::Synthetic,
        &[AccuracyColumn { name: "val", about: "validation SSIM, normal" }],
    ),
    task(
        "autoencoder",
        "SSIM",
        STANDIN_HALF,
        RESIZE,
        Head::Image(3),
        Loss::L1,
        TargetSource::Input,
        &[AccuracyColumn { name: "val", about: "validation SSIM, autoencoder" }],
    ),
];

/// The declared task of this name (every [`TnbTask`] is one).
fn declared(name: &str) -> &'static Task {
    TASKS.iter().find(|t| t.name == name).expect("every TnbTask is declared in TASKS")
}

/// The two tables (the module doc says where each value comes from); the first is the default.
pub const SETS: &[TableSet] = &[
    TableSet {
        name: "suitezero",
        about: "Suite-Zero's archs of the task (711 micro, 662-725 macro) with the best epoch's validation metric \
                (zc_transbench101_<space>.json: NASLib's query, what Suite-Zero, LIBRA and L-SWAG correlate against)",
        default_archs: 20,
    },
    TableSet {
        name: "all",
        about: "every arch (4,096 micro / 3,256 macro) with Suite-Zero's zen-run value, at or below the best epoch's \
                (apparently the final epoch), or the best epoch of the converted official archive when present",
        default_archs: 20,
    },
];

/// Which of the two spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Micro,
    Macro,
}

/// A TransNAS-Bench-101 search space.
pub struct TnbSpace {
    pub kind: Kind,
}

/// The registry entries.
pub const MICRO: TnbSpace = TnbSpace { kind: Kind::Micro };
pub const MACRO: TnbSpace = TnbSpace { kind: Kind::Macro };

/// Suite-Zero's all_benchmarks_zen.zip as published: its entries are the transbench101_micro
/// zen files. Read directly when the micro zip (those entries zipped on their own) is not in
/// the data directory, and the one of the two that can be fetched.
pub const MICRO_ALL_ZIP: DataFile = DataFile {
    rel_path: "benchmarks/tnb101/all_benchmarks_zen.zip",
    source: "https://github.com/automl/NASLib/raw/7a5496e2211d8ab65da40e0e2d5333aba87df614/naslib/data/zc_benchmarks/all_benchmarks_zen.zip",
};

const FILES_MICRO: &[CheckedFile] = &[
    CheckedFile { file: MICRO_ZC_JSON, sha256: "f9f2c5d6d9b9a73964f1bffb2869f218e1110755d84ddd4a46a8cf482f799cd1", bytes: 4_121_429, or: None },
    CheckedFile {
        file: MICRO_ALL_ZIP,
        sha256: "d70d3ddcda2264806a467d3fb3840e8ce04c5b0129776110a62018ea68e6d7f2",
        bytes: 1_016_797,
        or: Some(MICRO_ZIP),
    },
];
const FILES_MACRO: &[CheckedFile] = &[
    CheckedFile { file: MACRO_ZIP, sha256: "c34526c4f37f06205e61efeeb80bce5340dbce555ad558a10d6a897258d0de7b", bytes: 870_234, or: None },
    CheckedFile {
        file: MACRO_ZC_JSON,
        sha256: "f1d393373855bd7ba29bc81b33adb947ef2518d82aa0e6c003809ce6a4d94212",
        bytes: 4_107_092,
        or: None,
    },
];

impl TnbSpace {
    fn parse(&self, arch: &str) -> Result<TnbArch> {
        Ok(match self.kind {
            Kind::Micro => TnbArch::Micro(arch.parse()?),
            Kind::Macro => TnbArch::Macro(arch.parse()?),
        })
    }

    fn archive_path(&self) -> &'static str {
        match self.kind {
            Kind::Micro => "benchmarks/tnb101/tnb101_micro.h5",
            Kind::Macro => "benchmarks/tnb101/tnb101_macro.h5",
        }
    }

    /// The rows of `set` on `task`, and where they came from.
    fn table(&self, set: &TableSet, task: &Task, data: &DataDir) -> Result<(Vec<(TnbArch, f64)>, String)> {
        if set.name != "suitezero" {
            return self.full_table(task, data);
        }
        // The space's Suite-Zero reference file is the `suitezero` table.
        let file = self.info().reference.context("no Suite-Zero reference file declared")?.file;
        let mut rows = ZcTable::load(data, &file, task.name)?
            .entries
            .iter()
            .filter(|e| e.val_accuracy.is_finite())
            .map(|e| Ok((self.parse(&e.arch).with_context(|| format!("in {}", file.rel_path))?, e.val_accuracy)))
            .collect::<Result<Vec<_>>>()?;
        rows.sort_by_key(|r| r.0.to_string());
        ensure!(!rows.is_empty(), "{} holds no arch with a validation value for {}", file.rel_path, task.name);
        let name = file.rel_path.rsplit('/').next().unwrap_or(file.rel_path);
        Ok((rows, format!("Suite-Zero {name}, best epoch")))
    }

    /// Every arch of the space with its metric on `task` (the `all` set), and where they came from.
    fn full_table(&self, task: &Task, data: &DataDir) -> Result<(Vec<(TnbArch, f64)>, String)> {
        let archive = data.path(self.archive_path());
        if archive.is_file() {
            let a = BenchmarkArchive::read(&archive)?;
            let values = a.column(task.name, "val_accuracy").with_context(|| format!("{} (delete it to use Suite-Zero's table)", archive.display()))?;
            let rows = a
                .archs
                .iter()
                .zip(values)
                .map(|(s, &v)| Ok((self.parse(s).with_context(|| format!("{}", archive.display()))?, v)))
                .collect::<Result<Vec<_>>>()?;
            return Ok((rows, format!("{}, converted from the official database, best epoch", self.archive_path())));
        }
        let file = match self.kind {
            // The micro entries zipped on their own, else the published zip they come from.
            Kind::Micro if data.path(MICRO_ZIP.rel_path).is_file() => MICRO_ZIP,
            Kind::Micro => MICRO_ALL_ZIP,
            Kind::Macro => MACRO_ZIP,
        };
        let path = data.require(&file)?;
        let names: Vec<&str> = TASKS.iter().map(|t| t.name).collect();
        let mut rows = Vec::new();
        let rows_of_task = read_zen_zip(&path, &names, Some(task.name))
            .with_context(|| format!("cannot load {} (re-download it: {})", path.display(), file.source))?;
        for row in rows_of_task {
            rows.push((self.parse(&row.arch).with_context(|| format!("in {}", file.rel_path))?, row.val_accuracy));
        }
        // A stable order whatever the zip's entry order: by arch.
        rows.sort_by_key(|r| r.0.to_string());
        let expected = match self.kind {
            Kind::Micro => NUM_MICRO,
            Kind::Macro => 3256,
        };
        if rows.len() != expected {
            bail!("{} holds {} archs for {}, expected {expected}", file.rel_path, rows.len(), task.name);
        }
        let name = file.rel_path.rsplit('/').next().unwrap_or(file.rel_path);
        Ok((rows, format!("Suite-Zero {name}, its zen run's epoch, at or below the best")))
    }

    /// The network a micro arch's same-function class is scored by, when that is another
    /// arch's (macro archs have no such classes).
    fn same_function(&self, arch: TnbArch, task: &Task) -> Result<Option<Representative>> {
        let TnbArch::Micro(m) = arch else { return Ok(None) };
        let r = TnbArch::Micro(m.representative());
        if r == arch {
            return Ok(None);
        }
        Ok(Some(Representative { label: r.to_string(), builder: Box::new(self.builder(r, task)?) }))
    }

    fn builder(&self, arch: TnbArch, task: &Task) -> Result<TnbBuilder> {
        let t = TnbTask::from_name(task.name).with_context(|| format!("{} is not a TransNAS-Bench-101 task", task.name))?;
        Ok(TnbBuilder { arch, config: TnbConfig { task: t }, num_classes: task.head.width() })
    }
}

/// The declarations of the two spaces.
const INFO_MICRO: SpaceInfo = SpaceInfo {
    name: "tnb101-micro",
    about: "TransNAS-Bench-101 micro: 4,096 cells, 7 Taskonomy tasks (stand-in images)",
    encodings: "NASLib's tuple (a, b, c, d, e, f) of official digits 0 zero, 1 skip, 2 conv1×1, 3 conv3×3, or 64-41414-a_bc_def",
    tasks: TASKS,
    // The networks are large (256×256 inputs, up to 64M parameters with a decoder).
    default_archs: 20,
    reference: Some(Reference { file: MICRO_ZC_JSON, set: Some("suitezero") }),
    sets: SETS,
    data_files: FILES_MICRO,
    genome: Some(Genome {
        choices: &[4; 6],
        valid: always_valid,
        label: micro_label,
        table_complete: true,
        largest_params: Some(micro_largest),
    }),
    graph_features: Some(crate::space::GraphFeatures { names: &MICRO_GRAPH_FEATURES, compute: micro_graph_features }),
    ..SpaceInfo::EMPTY
};

/// [`MicroArch::graph_features`] of an arch label.
fn micro_graph_features(label: &str) -> Result<Vec<f64>> {
    Ok(label.parse::<MicroArch>()?.graph_features().to_vec())
}
const INFO_MACRO: SpaceInfo = SpaceInfo {
    name: "tnb101-macro",
    about: "TransNAS-Bench-101 macro: 3,256 stage sequences, 7 Taskonomy tasks (stand-in images)",
    encodings: "NASLib's zero-padded 6-tuple of stage codes 1..4, or 64-<codes>-basic",
    data_files: FILES_MACRO,
    reference: Some(Reference { file: MACRO_ZC_JSON, set: Some("suitezero") }),
    genome: Some(Genome {
        choices: &[4, 4, 4, 4, 5, 5],
        valid: macro_valid,
        label: macro_label,
        table_complete: true,
        largest_params: Some(macro_largest),
    }),
    graph_features: Some(crate::space::GraphFeatures { names: &MACRO_GRAPH_FEATURES, compute: macro_graph_features }),
    ..INFO_MICRO
};

/// [`MacroArch::graph_features`] of an arch label.
fn macro_graph_features(label: &str) -> Result<Vec<f64>> {
    Ok(label.parse::<MacroArch>()?.graph_features().to_vec())
}

/// Micro genes: the 6 edges' official digits.
fn micro_genes(genes: &[u8]) -> Option<TnbArch> {
    Some(TnbArch::Micro(MicroArch(std::array::from_fn(|e| MicroOp::ALL[genes[e] as usize]))))
}

/// Macro genes: 6 stages, the first 4 a code 1..=4 (gene + 1), the last 2 a code or 0 for
/// none (a stage after a missing one is missing). The space's constraints (the official
/// `macro_gen`): 4 to 6 stages, 1 to 4 of them downsampling (codes 3, 4), 1 to 3 doubling the
/// channels (codes 2, 4) — 3,256 archs, exactly the table's.
fn macro_genes(genes: &[u8]) -> Option<TnbArch> {
    let codes: Vec<u8> = genes[..4].iter().map(|&g| g + 1).chain(genes[4..].iter().copied()).collect();
    let len = codes.iter().position(|&c| c == 0).unwrap_or(codes.len());
    if codes[len..].iter().any(|&c| c != 0) {
        return None;
    }
    let codes = &codes[..len];
    let down = codes.iter().filter(|&&c| c == 3 || c == 4).count();
    let double = codes.iter().filter(|&&c| c == 2 || c == 4).count();
    if !(1..=4).contains(&down) || !(1..=3).contains(&double) {
        return None;
    }
    MacroArch::new(codes).ok().map(TnbArch::Macro)
}

fn micro_label(genes: &[u8]) -> String {
    micro_genes(genes).map_or_else(String::new, |a| a.to_string())
}

fn macro_label(genes: &[u8]) -> String {
    macro_genes(genes).map_or_else(String::new, |a| a.to_string())
}

fn macro_valid(genes: &[u8]) -> bool {
    macro_genes(genes).is_some()
}

fn micro_largest(task: &Task) -> usize {
    largest_by_formula(task, &INFO_MICRO, micro_genes)
}

fn macro_largest(task: &Task) -> usize {
    largest_by_formula(task, &INFO_MACRO, macro_genes)
}

/// The largest network of a space on a task: the params formula over every arch of its genome.
fn largest_by_formula(task: &Task, info: &SpaceInfo, arch: fn(&[u8]) -> Option<TnbArch>) -> usize {
    let (Some(t), Some(genome)) = (TnbTask::from_name(task.name), info.genome) else { return 0 };
    genome.enumerate(100_000).unwrap_or_default().iter().filter_map(|g| arch(g)).map(|a| params(&a, t)).max().unwrap_or(0)
}

impl SearchSpace for TnbSpace {
    fn info(&self) -> &SpaceInfo {
        match self.kind {
            Kind::Micro => &INFO_MICRO,
            Kind::Macro => &INFO_MACRO,
        }
    }

    fn load(&self, request: &Request, data: &DataDir) -> Result<Loaded> {
        let task = request.task;
        let set = request.set.unwrap_or(&SETS[0]);
        let (rows, source) = self.table(set, task, data)?;
        let picked = sample_indices(rows.len(), request.archs.unwrap_or(set.default_archs), request.seed);
        let candidates = picked
            .iter()
            .map(|&i| {
                let (arch, value) = rows[i];
                Ok(Candidate {
                    label: arch.to_string(),
                    builder: Box::new(self.builder(arch, task)?),
                    columns: vec![official(&arch)],
                    accuracy: value,
                    same_function: self.same_function(arch, task)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The largest network of the whole space, whichever set is sampled (reg-SWAP's rule).
        let largest_params = request.largest.then(|| self.info().genome.and_then(|g| g.largest_params).map_or(0, |f| f(task)));
        Ok(Loaded {
            name: format!("{}-{}", self.name(), task.name),
            candidates,
            column_names: vec!["official"],
            accuracy_label: format!("{} {} ({source})", task.name, task.metric.name),
            largest_params,
            notes: vec![
                (
                    "network".to_string(),
                    format!(
                        "official TransNAS-Bench-101 encoder + {} decoder (NASLib model_builder heads), input {}",
                        task.name,
                        match task.input {
                            InputPrep::Jigsaw { .. } => "9 tiles of 64×64".to_string(),
                            _ => format!("{INPUT_SIDE}×{INPUT_SIDE}"),
                        }
                    ),
                ),
                ("images".to_string(), "STAND-IN: 64 ImageNet photos resized to the benchmark's input, not Taskonomy".to_string()),
                ("targets".to_string(), targets_note(task).to_string()),
            ],
        })
    }

    fn reference_candidate(&self, arch: &str, task: &Task) -> Result<Candidate> {
        let arch = self.parse(arch)?;
        Ok(Candidate {
            label: arch.to_string(),
            builder: Box::new(self.builder(arch, task)?),
            columns: Vec::new(),
            accuracy: f64::NAN,
            same_function: self.same_function(arch, task)?,
        })
    }

    fn function_classes(&self) -> Option<usize> {
        (self.kind == Kind::Micro).then(micro_function_classes)
    }

    /// RoBoT's query on TransNAS-Bench-101: the task's own table value (what it searches by
    /// and reports, `test_accs = val_accs` in its code), no training seconds recorded; its
    /// budget there is 100.
    fn queries(&self, task: &Task, data: &DataDir) -> Result<crate::space::QueryTable> {
        let (rows, source) = self.full_table(task, data)?;
        let entries = rows
            .into_iter()
            .map(|(arch, value)| (arch.to_string(), crate::space::Query { accuracy: value, train_seconds: None }))
            .collect();
        Ok(crate::space::QueryTable {
            about: format!("{} {} validation {} ({source}; training seconds not recorded)", self.name(), task.name, task.metric.name),
            entries,
            budget: 100,
        })
    }

}

/// The official string of an arch.
fn official(arch: &TnbArch) -> String {
    match arch {
        TnbArch::Micro(m) => m.official(),
        TnbArch::Macro(m) => m.official(),
    }
}

/// What the loss of a task compares with, in words (every report of the task says it).
pub fn targets_note(task: &Task) -> &'static str {
    match task.targets {
        TargetSource::Input => "the input itself (autoencoding), L1 loss",
        TargetSource::ImageLabels => "the index of the seeded tile permutation (1,000 seeded permutations; the official set is not available)",
        TargetSource::Synthetic => match task.head {
            Head::Classes(_) => "SYNTHETIC: seeded random class distributions (Taskonomy's soft labels are not available)",
            Head::Regression(_) => "SYNTHETIC: seeded N(0, 1) layout values (Taskonomy's room layouts are not available)",
            Head::PixelClasses(_) => "SYNTHETIC: seeded random per-pixel classes (Taskonomy's segmentations are not available)",
            Head::Image(_) => "SYNTHETIC: seeded uniform(0, 1) images (Taskonomy's surface normals, in [0, 1], are not available)",
        },
    }
}

/// Trainable parameters of an arch's network on a task, by formula (what tensorwatch counts:
/// every layer that runs; equals [`TnbNet`]'s count, and Suite-Zero's `params`).
pub fn params(arch: &TnbArch, task: TnbTask) -> usize {
    let bn = |c: usize| 2 * c;
    let conv = |i: usize, o: usize, k: usize| k * k * i * o;
    let mut total = conv(3, 32, 3) + bn(32) + conv(32, 64, 3) + bn(64);
    let plan = arch.layer_plan();
    let c = plan.last().map_or(64, |&(_, c_out, _)| c_out);
    for &(c_in, c_out, s) in &plan {
        total += match arch {
            TnbArch::Micro(m) => m
                .0
                .iter()
                .zip(MICRO_EDGES)
                .map(|(&op, (from, _))| {
                    let (ci, st) = if from == 0 { (c_in, s) } else { (c_out, 1) };
                    match op {
                        MicroOp::Zero => 0,
                        MicroOp::Skip if st == 1 && ci == c_out => 0,
                        MicroOp::Skip | MicroOp::Conv1x1 => conv(ci, c_out, 1) + bn(c_out),
                        MicroOp::Conv3x3 => conv(ci, c_out, 3) + bn(c_out),
                    }
                })
                .sum::<usize>(),
            TnbArch::Macro(_) => {
                let down = if s != 1 || c_in != c_out { conv(c_in, c_out, 1) + bn(c_out) } else { 0 };
                conv(c_in, c_out, 3) + bn(c_out) + conv(c_out, c_out, 3) + bn(c_out) + down
            }
        };
    }
    let layer = |i: usize, o: usize| conv(i, o, 3) + o + bn(o);
    total
        + match task {
            TnbTask::ClassObject | TnbTask::ClassScene | TnbTask::RoomLayout => c * task.outputs() + task.outputs(),
            TnbTask::Jigsaw => GRID * GRID * c * task.outputs() + task.outputs(),
            TnbTask::SegmentSemantic => {
                let chain = [(c, 1024), (1024, 512), (512, 256), (256, 128), (128, 64), (64, 32), (32, 32)];
                chain.iter().map(|&(i, o)| layer(i, o)).sum::<usize>() + conv(32, 17, 3) + 17
            }
            TnbTask::Normal | TnbTask::Autoencoder => {
                let chain = [
                    (c, 1024),
                    (1024, 1024),
                    (1024, 512),
                    (512, 512),
                    (512, 256),
                    (256, 128),
                    (128, 64),
                    (64, 64),
                    (64, 32),
                    (32, 32),
                    (32, 16),
                    (16, 32),
                    (32, 16),
                ];
                chain.iter().map(|&(i, o)| layer(i, o)).sum::<usize>() + conv(16, 3, 3) + 3
            }
        }
}
