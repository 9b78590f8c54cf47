//! One archive format for every benchmark table: an HDF5 file per benchmark, written and
//! read with the pure-Rust `hdf5-pure` crate (no system HDF5 library: `cargo run` must
//! work right after `git clone`), readable and writable by h5py.
//!
//! Layout:
//! * root attributes `swapnas_format` (= [`FORMAT`]), `benchmark`, and `provenance:<key>`
//!   strings (source files, their SHA-256, the tool that wrote it);
//! * `/archs`: variable-length UTF-8 strings, one per architecture (the benchmark's own
//!   encoding, e.g. the official NB201 string);
//! * `/index` (optional): int64, the benchmark's official index of each arch;
//! * `/tasks/<task>/<metric>`: float64, one value per arch (NaN where unknown), e.g.
//!   `/tasks/cifar100/val_accuracy`.

use anyhow::{bail, ensure, Context, Result};
use hdf5_pure::{AttrValue, File, FileBuilder};
use std::collections::BTreeMap;
use std::path::Path;

/// The format tag stored in every archive.
pub const FORMAT: &str = "swapnas-benchmark-archive 1";

/// A benchmark table in memory, as stored in the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkArchive {
    pub benchmark: String,
    pub archs: Vec<String>,
    pub index: Option<Vec<i64>>,
    /// task → metric → one value per arch.
    pub tasks: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    pub provenance: BTreeMap<String, String>,
}

impl BenchmarkArchive {
    /// Every column has one value per arch, and there is something to store.
    pub fn validate(&self) -> Result<()> {
        ensure!(!self.archs.is_empty(), "the archive has no architectures");
        if let Some(index) = &self.index {
            ensure!(index.len() == self.archs.len(), "/index has {} values for {} archs", index.len(), self.archs.len());
        }
        for (task, metrics) in &self.tasks {
            for (metric, values) in metrics {
                ensure!(
                    values.len() == self.archs.len(),
                    "/tasks/{task}/{metric} has {} values for {} archs",
                    values.len(),
                    self.archs.len()
                );
            }
        }
        Ok(())
    }

    /// Writes the archive to `path` (through a temporary file and a rename: a reader never
    /// sees half an archive).
    pub fn write(&self, path: &Path) -> Result<()> {
        self.validate()?;
        let mut b = FileBuilder::new();
        b.set_attr("swapnas_format", AttrValue::String(FORMAT.to_string()));
        b.set_attr("benchmark", AttrValue::String(self.benchmark.clone()));
        for (k, v) in &self.provenance {
            b.set_attr(&format!("provenance:{k}"), AttrValue::String(v.clone()));
        }
        let archs: Vec<&str> = self.archs.iter().map(String::as_str).collect();
        b.create_dataset("archs").with_vlen_strings(&archs);
        if let Some(index) = &self.index {
            b.create_dataset("index").with_i64_data(index);
        }
        let mut tasks = b.create_group("tasks");
        for (task, metrics) in &self.tasks {
            let mut g = tasks.create_group(task);
            for (metric, values) in metrics {
                g.create_dataset(metric).with_f64_data(values);
            }
            tasks.add_group(g.finish());
        }
        b.add_group(tasks.finish());
        let bytes = b.finish().map_err(|e| anyhow::anyhow!("cannot encode the HDF5 archive: {e}"))?;
        let tmp = path.with_extension("h5.tmp");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
    }

    /// Reads an archive; any deviation from the layout is an error naming the file and what
    /// is wrong.
    pub fn read(path: &Path) -> Result<Self> {
        Self::read_inner(path).with_context(|| format!("{} is not a valid swapnas benchmark archive", path.display()))
    }

    fn read_inner(path: &Path) -> Result<Self> {
        let h5 = |e: hdf5_pure::Error| anyhow::anyhow!("{e}");
        let file = File::open(path).map_err(h5)?;
        let attrs = file.root().attrs().map_err(h5)?;
        let text = |name: &str| -> Option<String> {
            match attrs.get(name)? {
                // Fixed-width (what swapnas writes) or variable-length (h5py's default for a
                // Python str) UTF-8 or ASCII, scalar or a one-element array.
                AttrValue::String(s)
                | AttrValue::AsciiString(s)
                | AttrValue::VarLenString(s)
                | AttrValue::VarLenAsciiString(s)
                | AttrValue::StringSized { value: s, .. }
                | AttrValue::AsciiStringSized { value: s, .. } => Some(s.clone()),
                AttrValue::StringArray(v)
                | AttrValue::AsciiStringArray(v)
                | AttrValue::VarLenStringArray(v)
                | AttrValue::VarLenAsciiStringArray(v)
                    if v.len() == 1 =>
                {
                    Some(v[0].clone())
                }
                _ => None,
            }
        };
        let format = text("swapnas_format").context("no `swapnas_format` attribute")?;
        if format != FORMAT {
            bail!("format `{format}`, expected `{FORMAT}`");
        }
        let benchmark = text("benchmark").context("no `benchmark` attribute")?;
        let provenance = attrs.keys().filter_map(|k| Some((k.strip_prefix("provenance:")?.to_string(), text(k)?))).collect();
        let archs = file.dataset("archs").map_err(h5)?.read_string().map_err(h5)?;
        let index = match file.dataset("index") {
            Ok(d) => Some(d.read_i64().map_err(h5)?),
            Err(_) => None,
        };
        let mut tasks = BTreeMap::new();
        let group = file.group("tasks").map_err(h5)?;
        for task in group.groups().map_err(h5)? {
            let g = group.group(&task).map_err(h5)?;
            let mut metrics = BTreeMap::new();
            for metric in g.datasets().map_err(h5)? {
                let values = g.dataset(&metric).map_err(h5)?.read_f64().map_err(h5)?;
                metrics.insert(metric, values);
            }
            tasks.insert(task, metrics);
        }
        let archive = Self { benchmark, archs, index, tasks, provenance };
        archive.validate()?;
        Ok(archive)
    }

    /// A metric column, or an error naming what is missing.
    pub fn column(&self, task: &str, metric: &str) -> Result<&[f64]> {
        self.tasks
            .get(task)
            .and_then(|m| m.get(metric))
            .map(Vec::as_slice)
            .with_context(|| format!("the {} archive has no /tasks/{task}/{metric}", self.benchmark))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BenchmarkArchive {
        let mut tasks = BTreeMap::new();
        tasks.insert(
            "cifar10".to_string(),
            BTreeMap::from([("val_accuracy".to_string(), vec![91.5, f64::NAN]), ("test_accuracy".to_string(), vec![90.0, 10.0])]),
        );
        BenchmarkArchive {
            benchmark: "nb201".into(),
            archs: vec!["|nor_conv_3x3~0|+|…".into(), "(0, 1, 2, 3, 4, 0)".into()],
            index: Some(vec![7, 3]),
            tasks,
            provenance: BTreeMap::from([("source".to_string(), "test".to_string())]),
        }
    }

    #[test]
    fn round_trips_and_rejects_bad_shapes() {
        let dir = std::env::temp_dir().join(format!("swapnas-archive-{}", std::process::id()));
        let path = dir.join("a.h5");
        let a = sample();
        a.write(&path).unwrap();
        let b = BenchmarkArchive::read(&path).unwrap();
        assert_eq!(b.archs, a.archs);
        assert_eq!(b.index, a.index);
        assert_eq!(b.provenance, a.provenance);
        assert_eq!(b.column("cifar10", "test_accuracy").unwrap(), &[90.0, 10.0]);
        assert!(b.column("cifar10", "val_accuracy").unwrap()[1].is_nan());
        assert!(b.column("cifar100", "val_accuracy").is_err());
        let mut bad = sample();
        bad.index = Some(vec![1]);
        assert!(bad.write(&dir.join("bad.h5")).unwrap_err().to_string().contains("/index has 1 values"));
        std::fs::write(dir.join("junk.h5"), b"not hdf5").unwrap();
        let e = format!("{:#}", BenchmarkArchive::read(&dir.join("junk.h5")).unwrap_err());
        assert!(e.contains("junk.h5") && e.contains("not a valid swapnas benchmark archive"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
