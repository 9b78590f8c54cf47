//! NAS-Bench-101 accuracies: the full table converted from the official tfrecord
//! (`scripts/convert_nb101.py` → `benchmarks/nb101/nb101.h5`) when the data directory has it,
//! else Suite-Zero's `zc_nasbench101.json`, 500 CIFAR-10 archs with their 108-epoch validation
//! accuracy (and Suite-Zero's proxy scores, see [`crate::data::suite_zero`]).

use super::arch::Nb101Arch;
use super::NB101_ZC_JSON;
use crate::data::archive::BenchmarkArchive;
use crate::data::data_dir::DataDir;
use crate::data::suite_zero::{ArchRecord, ZcTable};
use anyhow::{bail, Context, Result};

/// Where `scripts/convert_nb101.py`'s archive goes in the data directory.
pub const NB101_ARCHIVE: &str = "benchmarks/nb101/nb101.h5";

/// The NB101 table of the data directory and where it came from: the converted archive if
/// there is one, else Suite-Zero's 500 archs.
pub fn load_nb101(dir: &DataDir) -> Result<(Vec<Nb101Record>, String)> {
    let path = dir.path(NB101_ARCHIVE);
    if !path.is_file() {
        return Ok((load_nb101_zc(dir)?, "Suite-Zero zc_nasbench101.json".to_string()));
    }
    let archive = BenchmarkArchive::read(&path)?;
    let records =
        nb101_from_archive(&archive).with_context(|| format!("{} (delete it to use Suite-Zero's table)", path.display()))?;
    let source = archive.provenance.get("source").map_or("?", String::as_str);
    Ok((records, format!("{NB101_ARCHIVE}, converted from {source}")))
}

/// The records of an nb101 archive: its archs and `cifar10/val_accuracy`.
pub fn nb101_from_archive(a: &BenchmarkArchive) -> Result<Vec<Nb101Record>> {
    if a.benchmark != "nb101" {
        bail!("the archive holds benchmark `{}`, not nb101", a.benchmark);
    }
    let val = a.column("cifar10", "val_accuracy")?;
    a.archs
        .iter()
        .zip(val)
        .enumerate()
        .map(|(i, (s, &accuracy))| Ok(Nb101Record { arch: s.parse().with_context(|| format!("/archs[{i}]"))?, accuracy }))
        .collect()
}

/// An NB101 architecture and its validation accuracy (percent).
pub type Nb101Record = ArchRecord<Nb101Arch>;

/// Suite-Zero's 500 NB101 archs, in [`ZcTable`]'s order (sorted by arch string: serde_json sorts
/// object keys).
pub fn load_nb101_zc(dir: &DataDir) -> Result<Vec<Nb101Record>> {
    ZcTable::load_records(dir, &NB101_ZC_JSON, "cifar10")
}
