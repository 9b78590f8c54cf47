//! The NAS-Bench-101 accuracies available here: Suite-Zero's `zc_nasbench101.json`, 500
//! CIFAR-10 archs with their 108-epoch validation accuracy (and Suite-Zero's proxy scores, see
//! [`crate::suite_zero`]).

use super::arch::Nb101Arch;
use crate::data_dir::{DataDir, NB101_ZC_JSON};
use crate::suite_zero::ZcTable;
use anyhow::{Context, Result};

/// An architecture and its validation accuracy (percent).
#[derive(Debug, Clone, PartialEq)]
pub struct Nb101Record {
    pub arch: Nb101Arch,
    pub accuracy: f64,
}

/// Suite-Zero's 500 NB101 archs, in [`ZcTable`]'s order (sorted by arch string: serde_json sorts
/// object keys).
pub fn load_nb101_zc(dir: &DataDir) -> Result<Vec<Nb101Record>> {
    let table = ZcTable::load(dir, &NB101_ZC_JSON, "cifar10")?;
    table
        .entries
        .iter()
        .map(|e| {
            let arch = e.arch.parse().with_context(|| format!("in {}", NB101_ZC_JSON.rel_path))?;
            Ok(Nb101Record { arch, accuracy: e.val_accuracy })
        })
        .collect()
}
