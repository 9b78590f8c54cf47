//! The NAS-Bench-201 accuracy table, joined from two public files on the official arch
//! string:
//! * Suite-Zero's `suitezero-nasbench201-zen.zip` — 200-epoch validation accuracy (what
//!   Suite-Zero correlates against) and Zen scores, all 15,625 archs × 3 tasks;
//! * NATS-Bench's `nats-tss-test-accuracy-200ep.csv` — 200-epoch test accuracy, in official
//!   NB201 index order (the Suite-Zero `idx` is not that index).

use super::arch::{Nb201Arch, NUM_ARCHS};
use super::{NB201_NATS_CSV, NB201_SUITEZERO_ZIP};
use crate::data::archive::BenchmarkArchive;
use crate::data::suite_zero::read_zen_zip;
use crate::data::data_dir::DataDir;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The three NAS-Bench-201 tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nb201Task {
    Cifar10,
    Cifar100,
    ImageNet16_120,
}

impl Nb201Task {
    pub const ALL: [Nb201Task; 3] = [Nb201Task::Cifar10, Nb201Task::Cifar100, Nb201Task::ImageNet16_120];

    /// The dataset name used by NAS-Bench-201 and Suite-Zero.
    pub fn name(self) -> &'static str {
        match self {
            Nb201Task::Cifar10 => "cifar10",
            Nb201Task::Cifar100 => "cifar100",
            Nb201Task::ImageNet16_120 => "ImageNet16-120",
        }
    }

    /// Classes of the task, as the space declares its head.
    pub fn num_classes(self) -> usize {
        super::declared(self.name()).head.width()
    }

    /// The images proxies are fed for this task, as the space declares them.
    pub fn images(self) -> crate::images::ImageSet {
        super::declared(self.name()).images
    }

    fn slot(self) -> usize {
        self as usize
    }
}

impl FromStr for Nb201Task {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cifar10" | "cifar-10" => Ok(Nb201Task::Cifar10),
            "cifar100" | "cifar-100" => Ok(Nb201Task::Cifar100),
            "imagenet16-120" | "imagenet16" | "imagenet" => Ok(Nb201Task::ImageNet16_120),
            _ => bail!("unknown NAS-Bench-201 task `{s}` (expected cifar10, cifar100 or ImageNet16-120)"),
        }
    }
}

impl fmt::Display for Nb201Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the benchmark knows about one architecture, per task.
#[derive(Debug, Clone, PartialEq)]
pub struct Nb201Record {
    pub arch: Nb201Arch,
    /// Official NAS-Bench-201 index (row of the NATS CSV).
    pub nb201_index: usize,
    /// 200-epoch validation accuracy (%), per task in [`Nb201Task::ALL`] order.
    pub val_acc: [f64; 3],
    /// 200-epoch test accuracy (%), per task.
    pub test_acc: [f64; 3],
    /// Suite-Zero's Zen score, per task.
    pub zen: [f64; 3],
}

impl Nb201Record {
    pub fn val_accuracy(&self, task: Nb201Task) -> f64 {
        self.val_acc[task.slot()]
    }
    pub fn test_accuracy(&self, task: Nb201Task) -> f64 {
        self.test_acc[task.slot()]
    }
    pub fn suite_zero_zen(&self, task: Nb201Task) -> f64 {
        self.zen[task.slot()]
    }
}

/// All 15,625 architectures, indexed by [`Nb201Arch::ordinal`].
#[derive(Debug, Clone)]
pub struct Nb201Table {
    records: Vec<Nb201Record>,
    /// Where the table was read from, in words (run logs).
    source: &'static str,
    /// Where its validation and test accuracies come from, as the files read say (run
    /// headers name it: an archive converted from the official release is not Suite-Zero's).
    origin: [String; 2],
}

/// The sources' own names for the accuracy columns.
const SUITE_ZERO_VAL: &str = "NAS-Bench-Suite-Zero's val_accuracy";
const NATS_TEST: &str = "NATS-Bench's test accuracy";

#[derive(Deserialize)]
struct NatsRow {
    #[serde(rename = "CIFAR10TestAccuracy200Epochs")]
    cifar10: f64,
    #[serde(rename = "CIFAR100TestAccuracy200Epochs")]
    cifar100: f64,
    #[serde(rename = "ImageNetTestAccuracy200Epochs")]
    imagenet: f64,
    #[serde(rename = "ArchitectureString")]
    arch: String,
}

/// Where `swapnas data import` puts the NB201 archive, inside the data directory.
pub const NB201_ARCHIVE: &str = "benchmarks/nb201/nb201.h5";

impl Nb201Table {
    /// Loads the table: from the HDF5 archive (`swapnas data import`) when the data directory
    /// has one, else by joining both public files.
    pub fn load(dir: &DataDir) -> Result<Self> {
        let archive = dir.path(NB201_ARCHIVE);
        if archive.is_file() {
            return Self::from_archive(&BenchmarkArchive::read(&archive)?)
                .with_context(|| format!("{} (delete it to load the source files instead)", archive.display()));
        }
        let (zip, csv) = (dir.path(NB201_SUITEZERO_ZIP.rel_path), dir.path(NB201_NATS_CSV.rel_path));
        if (zip.is_file() && csv.is_file()) || !crate::data::embedded::enabled() {
            return Self::load_files(&dir.require(&NB201_SUITEZERO_ZIP)?, &dir.require(&NB201_NATS_CSV)?);
        }
        // No full sources here: the accuracies compiled into the binary (the same values; no
        // Zen scores, which only `check` against Suite-Zero's zen needs).
        Self::embedded()
    }

    /// The table from the embedded subset ([`crate::data::embedded`]): every arch's official
    /// index and its validation and test accuracy per task; Zen scores are NaN.
    pub fn embedded() -> Result<Self> {
        let mut records: Vec<Option<Nb201Record>> = vec![None; NUM_ARCHS];
        for row in crate::data::embedded::nb201_rows()? {
            let arch: Nb201Arch = row.arch.parse().with_context(|| format!("embedded NAS-Bench-201 table, index {}", row.index))?;
            let slot = &mut records[arch.ordinal()];
            if slot.is_some() {
                bail!("embedded NAS-Bench-201 table: {arch} appears twice");
            }
            *slot = Some(Nb201Record { arch, nb201_index: row.index, val_acc: row.val, test_acc: row.test, zen: [f64::NAN; 3] });
        }
        records
            .into_iter()
            .enumerate()
            .map(|(o, r)| {
                r.with_context(|| format!("the embedded table lacks {}", Nb201Arch::from_ordinal(o).expect("o < NUM_ARCHS")))
            })
            .collect::<Result<Vec<_>>>()
            .map(|records| Self {
                records,
                source: "embedded subset",
                origin: [format!("{SUITE_ZERO_VAL}, embedded subset"), format!("{NATS_TEST}, embedded subset")],
            })
    }

    /// The table as an archive: official arch strings, official indices, and per task the
    /// validation and test accuracy and Suite-Zero's Zen score.
    pub fn to_archive(&self, provenance: BTreeMap<String, String>) -> BenchmarkArchive {
        let mut tasks = BTreeMap::new();
        for task in Nb201Task::ALL {
            let col = |f: fn(&Nb201Record, Nb201Task) -> f64| self.records.iter().map(|r| f(r, task)).collect::<Vec<_>>();
            tasks.insert(
                task.name().to_string(),
                BTreeMap::from([
                    ("val_accuracy".to_string(), col(Nb201Record::val_accuracy)),
                    ("test_accuracy".to_string(), col(Nb201Record::test_accuracy)),
                    ("zen".to_string(), col(Nb201Record::suite_zero_zen)),
                ]),
            );
        }
        BenchmarkArchive {
            benchmark: "nb201".to_string(),
            archs: self.records.iter().map(|r| r.arch.to_string()).collect(),
            index: Some(self.records.iter().map(|r| r.nb201_index as i64).collect()),
            tasks,
            provenance,
        }
    }

    /// The table from an archive, which must hold all 15,625 archs.
    pub fn from_archive(a: &BenchmarkArchive) -> Result<Self> {
        if a.benchmark != "nb201" {
            bail!("the archive holds benchmark `{}`, not nb201", a.benchmark);
        }
        let index = a.index.as_ref().context("the nb201 archive has no /index")?;
        let mut cols = Vec::new();
        for task in Nb201Task::ALL {
            cols.push([
                a.column(task.name(), "val_accuracy")?,
                a.column(task.name(), "test_accuracy")?,
                a.column(task.name(), "zen")?,
            ]);
        }
        let mut records: Vec<Option<Nb201Record>> = vec![None; NUM_ARCHS];
        for (i, s) in a.archs.iter().enumerate() {
            let arch: Nb201Arch = s.parse().with_context(|| format!("/archs[{i}]"))?;
            let pick = |k: usize| [cols[0][k][i], cols[1][k][i], cols[2][k][i]];
            let slot = &mut records[arch.ordinal()];
            if slot.is_some() {
                bail!("{arch} appears twice in /archs");
            }
            let nb201_index = usize::try_from(index[i]).with_context(|| format!("/index[{i}] is negative"))?;
            *slot = Some(Nb201Record { arch, nb201_index, val_acc: pick(0), test_acc: pick(1), zen: pick(2) });
        }
        let records = records
            .into_iter()
            .enumerate()
            .map(|(o, r)| r.with_context(|| format!("the archive lacks {}", Nb201Arch::from_ordinal(o).expect("o < NUM_ARCHS"))))
            .collect::<Result<Vec<_>>>()?;
        // What the archive says its columns are: `data import` names them; a converter of an
        // official release names its source, reader and converter.
        let p = &a.provenance;
        let converted = || {
            let get = |k: &str| p.get(k).map_or("?", String::as_str);
            format!("{} read by {} ({})", get("source"), get("reader"), get("converter"))
        };
        let origin = ["val_accuracy", "test_accuracy"].map(|k| {
            let what = p.get(k).cloned().unwrap_or_else(converted);
            format!("{what}, from the HDF5 archive {NB201_ARCHIVE}")
        });
        Ok(Self { records, source: "HDF5 archive", origin })
    }

    pub fn load_files(zip: &Path, csv: &Path) -> Result<Self> {
        let val = read_suite_zero_zip(zip)
            .with_context(|| format!("cannot load {} (re-download it: {})", zip.display(), NB201_SUITEZERO_ZIP.source))?;
        let test = read_nats_csv(csv)
            .with_context(|| format!("cannot load {} (re-download it: {})", csv.display(), NB201_NATS_CSV.source))?;
        let mut records = Vec::with_capacity(NUM_ARCHS);
        for ordinal in 0..NUM_ARCHS {
            let arch = Nb201Arch::from_ordinal(ordinal).expect("ordinal < NUM_ARCHS");
            let (val_acc, zen) = val[ordinal]
                .with_context(|| format!("{} has no row for {} in some task", zip.display(), arch.to_tuple_string()))?;
            let (nb201_index, test_acc) = test[ordinal].with_context(|| format!("{} has no row for {arch}", csv.display()))?;
            records.push(Nb201Record { arch, nb201_index, val_acc, test_acc, zen });
        }
        let name = |p: &Path| p.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let origin = [format!("{SUITE_ZERO_VAL}, {}", name(zip)), format!("{NATS_TEST}, {}", name(csv))];
        Ok(Self { records, source: "source files", origin })
    }

    /// Where the table was read from: `HDF5 archive`, `source files` or `embedded subset`.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Where the validation (`test` false) or test accuracies come from, as read.
    pub fn accuracy_origin(&self, test: bool) -> &str {
        &self.origin[usize::from(test)]
    }

    pub fn records(&self) -> &[Nb201Record] {
        &self.records
    }

    pub fn get(&self, arch: &Nb201Arch) -> &Nb201Record {
        &self.records[arch.ordinal()]
    }
}

type ValEntry = Option<([f64; 3], [f64; 3])>;

/// Per ordinal: validation accuracy and Zen score for each task.
fn read_suite_zero_zip(path: &Path) -> Result<Vec<ValEntry>> {
    let names = Nb201Task::ALL.map(Nb201Task::name);
    let mut acc = vec![[f64::NAN; 3]; NUM_ARCHS];
    let mut zen = vec![[f64::NAN; 3]; NUM_ARCHS];
    let mut seen = vec![[false; 3]; NUM_ARCHS];
    for row in read_zen_zip(path, &names, None)? {
        let task: Nb201Task = row.task.parse()?;
        let arch: Nb201Arch = row.arch.parse().with_context(|| format!("in the rows of {task}"))?;
        let (o, s) = (arch.ordinal(), task.slot());
        if seen[o][s] {
            bail!("{arch} appears twice for {task}");
        }
        seen[o][s] = true;
        acc[o][s] = row.val_accuracy;
        zen[o][s] = row.zen;
    }
    Ok((0..NUM_ARCHS).map(|o| seen[o].iter().all(|&s| s).then_some((acc[o], zen[o]))).collect())
}

/// Per ordinal: official index and test accuracy for each task.
type TestEntry = Option<(usize, [f64; 3])>;

fn read_nats_csv(path: &Path) -> Result<Vec<TestEntry>> {
    let mut reader = csv::Reader::from_path(path)?;
    let mut out = vec![None; NUM_ARCHS];
    for (index, row) in reader.deserialize::<NatsRow>().enumerate() {
        let row = row.with_context(|| format!("bad CSV row {}", index + 2))?;
        let arch: Nb201Arch = row.arch.parse().with_context(|| format!("CSV row {}", index + 2))?;
        let slot = &mut out[arch.ordinal()];
        if slot.is_some() {
            bail!("{arch} appears twice (CSV row {})", index + 2);
        }
        *slot = Some((index, [row.cifar10, row.cifar100, row.imagenet]));
    }
    Ok(out)
}
