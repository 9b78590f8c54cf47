//! NAS-Bench-201's "query": what training an arch for 12 epochs gives (the hp = 12 schedule),
//! read from the file RoBoT ships (`data/nb2_cf10_hp12_info.p`, a Python pickle of 15,625
//! dicts in NB201 index order: `{str(i): i, 'arch': <official string>, 'valacc': <CIFAR-10
//! valid accuracy after 12 epochs>, 'cost': <its training seconds>}`, both numbers numpy
//! float64 scalars). RoBoT and HNAS spend their query budget on it.

use super::arch::{Nb201Arch, NUM_ARCHS};
use crate::space::{Query, QueryTable};
use anyhow::{bail, Context, Result};
use serde_pickle::{DeOptions, HashableValue, Value};
use std::collections::HashMap;
use std::path::Path;

/// Reads the pickle: every arch once, in NB201 index order, with finite accuracy and cost.
pub fn read_hp12(path: &Path) -> Result<QueryTable> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // numpy scalars are `REDUCE(numpy.core.multiarray.scalar, (dtype, 8 raw bytes))`: kept as
    // the tuple of their arguments, whose bytes are the little-endian float64.
    let options = DeOptions::new().keep_restore_state().replace_unresolved_globals();
    let value = serde_pickle::value_from_reader(std::io::BufReader::new(file), options)
        .with_context(|| format!("{} is not the pickle RoBoT ships (delete it to fetch it again)", path.display()))?;
    let Value::List(rows) = value else { bail!("{}: expected a list of dicts", path.display()) };
    if rows.len() != NUM_ARCHS {
        bail!("{}: {} rows, expected {NUM_ARCHS}", path.display(), rows.len());
    }
    let mut entries = HashMap::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let Value::Dict(d) = row else { bail!("{}: row {i} is not a dict", path.display()) };
        let get = |k: &str| d.get(&HashableValue::String(k.to_string()));
        match get(&i.to_string()) {
            Some(Value::I64(j)) if *j == i as i64 => {}
            _ => bail!("{}: row {i} does not carry its index {i}", path.display()),
        }
        let Some(Value::String(arch)) = get("arch") else { bail!("{}: row {i} has no arch string", path.display()) };
        let arch: Nb201Arch = arch.parse().with_context(|| format!("{}: row {i}", path.display()))?;
        let number = |k: &str| -> Result<f64> {
            let v = get(k).with_context(|| format!("{}: row {i} has no `{k}`", path.display()))?;
            numpy_f64(v).with_context(|| format!("{}: row {i}'s `{k}` is not a float64", path.display()))
        };
        let (accuracy, seconds) = (number("valacc")?, number("cost")?);
        if !(accuracy.is_finite() && seconds.is_finite() && seconds >= 0.0) {
            bail!("{}: row {i} has accuracy {accuracy} and cost {seconds}", path.display());
        }
        if entries.insert(arch.to_string(), Query { accuracy, train_seconds: Some(seconds) }).is_some() {
            bail!("{}: arch {arch} appears twice", path.display());
        }
    }
    Ok(QueryTable {
        about: "NAS-Bench-201 CIFAR-10 validation accuracy after 12 epochs (hp = 12) and its training seconds (RoBoT's \
                nb2_cf10_hp12_info.p)"
            .to_string(),
        entries,
        budget: 20,
    })
}

/// A float64 as the pickle holds it: a plain float, or a numpy scalar kept as its arguments
/// `(dtype, <8 bytes>)`.
fn numpy_f64(v: &Value) -> Option<f64> {
    match v {
        Value::F64(x) => Some(*x),
        Value::Tuple(args) => match args.last() {
            Some(Value::Bytes(b)) if b.len() == 8 => Some(f64::from_le_bytes(b.as_slice().try_into().ok()?)),
            _ => None,
        },
        _ => None,
    }
}
