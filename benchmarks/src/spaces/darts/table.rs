//! Accuracy tables of the DARTS space:
//! * Suite-Zero's `zc_nasbench301.json` — 725 NAS-Bench-301 archs (compact encoding) with
//!   their validation accuracy (and Suite-Zero's proxy scores, see [`crate::data::suite_zero`]);
//! * the SWAP authors' `DARTS_archs_CIFAR10.csv` — 1000 rows `"Genotype(…)",valid_acc`, no
//!   header.

use super::arch::DartsArch;
use super::{NB301_SWAP_DARTS_CSV, NB301_ZC_JSON};
use crate::data::data_dir::DataDir;
use crate::data::suite_zero::{ArchRecord, ZcTable};
use anyhow::{bail, Context, Result};
use std::path::Path;

/// A DARTS architecture and its accuracy (percent).
pub type DartsRecord = ArchRecord<DartsArch>;

/// The 725 CIFAR-10 archs of Suite-Zero's NB301 file with `val_accuracy`, in [`ZcTable`]'s order.
pub fn load_nb301_zc(dir: &DataDir) -> Result<Vec<DartsRecord>> {
    ZcTable::load_records(dir, &NB301_ZC_JSON, "cifar10")
}

/// The SWAP authors' DARTS-1000 set, in file order (row 1 first).
pub fn load_swap_darts_csv(dir: &DataDir) -> Result<Vec<DartsRecord>> {
    let path = dir.require(&NB301_SWAP_DARTS_CSV)?;
    load_swap_darts_csv_file(&path)
}

pub fn load_swap_darts_csv_file(path: &Path) -> Result<Vec<DartsRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_swap_darts_csv(&bytes).with_context(|| format!("{} is not the DARTS-1000 csv", path.display()))
}

/// Parses `"Genotype(…)",valid_acc` rows (no header).
pub fn parse_swap_darts_csv(bytes: &[u8]) -> Result<Vec<DartsRecord>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 1;
        let row = row.with_context(|| format!("row {line} is not valid csv"))?;
        if row.len() != 2 {
            bail!("row {line} has {} fields, expected 2 (genotype, valid_acc)", row.len());
        }
        let arch: DartsArch = row[0].parse().with_context(|| format!("row {line}"))?;
        let accuracy: f64 = row[1]
            .trim()
            .parse()
            .ok()
            .filter(|a: &f64| (0.0..=100.0).contains(a))
            .with_context(|| format!("row {line}: accuracy `{}` is not a number in 0..=100", &row[1]))?;
        out.push(DartsRecord { arch, accuracy });
    }
    if out.is_empty() {
        bail!("no rows");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROW: &str = "\"Genotype(normal=[('sep_conv_5x5', 0), ('sep_conv_3x3', 0), ('avg_pool_3x3', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_5x5', 2)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_5x5', 0), ('sep_conv_3x3', 0), ('avg_pool_3x3', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_5x5', 2)], reduce_concat=[2, 3, 4, 5])\",85.23999786376953\n";

    #[test]
    fn csv_rows_parse_and_bad_rows_are_named() {
        let rows = parse_swap_darts_csv(ROW.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        assert!((rows[0].accuracy - 85.24).abs() < 1e-4);
        for (bad, expect) in [
            ("", "no rows"),
            ("\"Genotype(normal=[])\",85\n", "row 1"),
            (&ROW.replace(",85.23999786376953", ",abc") as &str, "`abc`"),
            (&ROW.replace(",85.23999786376953", ",185") as &str, "`185`"),
            (&ROW.replace(",85.23999786376953", "") as &str, "1 fields"),
        ] {
            let err = format!("{:#}", parse_swap_darts_csv(bad.as_bytes()).unwrap_err());
            assert!(err.contains(expect), "{err}");
        }
        let two = format!("{ROW}{}", ROW.replace("sep_conv_5x5", "conv"));
        let err = format!("{:#}", parse_swap_darts_csv(two.as_bytes()).unwrap_err());
        assert!(err.contains("row 2") && err.contains("unknown op `conv`"), "{err}");
    }
}
