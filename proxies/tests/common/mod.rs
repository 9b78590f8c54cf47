//! Shared by the proxies' real-data tests: the data directory, Suite-Zero's reference rows, the
//! NB201 builder, and scoring rows as a run does.
#![allow(dead_code)] // each test file uses a different part

use burn::prelude::*;
use swapnas_benchmarks::data::suite_zero::{ZcEntry, ZcTable};
use swapnas_benchmarks::spaces::nb201::NB201_ZC_JSON;
use swapnas_benchmarks::spaces::nb201::{Nb201Arch, Nb201Builder, Nb201Config};
use swapnas_benchmarks::{DataDir, ImageBatch};
use swapnas_proxies::{Memo, Proxy, ProxyContext, ProxySettings};
use swapnas_reports::spearman_rho;
use swapnas_reports::stats::rank_last_nonfinite;

/// A DARTS genotype with every op, including none and both skips (stride 1 and 2).
pub const DARTS_EVERY_OP: &str =
    "Genotype(normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1), ('max_pool_3x3', 0), ('skip_connect', 2), \
     ('avg_pool_3x3', 1), ('none', 3), ('sep_conv_5x5', 4), ('dil_conv_3x3', 0)], normal_concat=[2, 3, 4, 5], \
     reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), ('none', 1), ('sep_conv_5x5', 2), \
     ('dil_conv_3x3', 3), ('skip_connect', 2), ('sep_conv_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

/// An NB101 arch (as its NASLib tuple) the tests build across spaces.
pub const NB101_ARCH: &str =
    "(0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 2, 4, 3, 1)";

/// Suite-Zero's batch (its jacov scores, bounded above by −B, show B = 32).
pub const BATCH: usize = 32;

#[path = "../../../testsupport/data.rs"]
mod data;
#[allow(unused_imports)]
pub use data::{full_data, full_data_dir};

/// The full real data when present, else an empty directory served by the embedded subset.
pub fn data_dir() -> DataDir {
    DataDir::at(data::data_path())
}

/// The full data as a [`DataDir`], or `None` (the test says it skipped).
pub fn full(why: &str) -> Option<DataDir> {
    full_data(why).map(DataDir::at)
}

/// NB201's cifar10 task, from the registry.
pub fn task() -> &'static swapnas_benchmarks::Task {
    swapnas_benchmarks::spaces::find("nb201").unwrap().task("cifar10").unwrap()
}

/// The registered proxy `name` with `settings`.
pub fn proxy(name: &str, settings: &ProxySettings) -> Box<dyn Proxy> {
    swapnas_proxies::proxy(name, settings).unwrap()
}

/// The default settings with the baselines' minibatch of `n` images.
pub fn with_batch(n: usize) -> ProxySettings {
    let mut s = ProxySettings::default();
    s.set("proxy_batch", &n.to_string()).unwrap();
    s
}

/// The default settings with SWAP's `r` repeats.
pub fn with_repeats(r: usize) -> ProxySettings {
    let mut s = ProxySettings::default();
    s.set("repeats", &r.to_string()).unwrap();
    s
}

pub fn settings() -> ProxySettings {
    with_batch(BATCH)
}

/// Every 60th row of Suite-Zero's cifar10 table.
pub fn reference_rows(dir: &DataDir) -> Vec<ZcEntry> {
    let zc = ZcTable::load(dir, &NB201_ZC_JSON, "cifar10").unwrap();
    zc.entries.into_iter().step_by(60).take(12).collect()
}

pub fn builder(arch: &str) -> Nb201Builder {
    Nb201Builder { arch: arch.parse::<Nb201Arch>().unwrap(), config: Nb201Config::default(), num_classes: 10 }
}

/// Each proxy's score per row, row i with seed `seed_base + i` (proxies of one row share a
/// memo, as in a run).
pub fn score(rows: &[ZcEntry], proxies: &[&dyn Proxy], batch: &ImageBatch, seed_base: u64) -> Vec<Vec<f64>> {
    let device = Device::flex();
    let mut out = vec![Vec::new(); proxies.len()];
    for (i, row) in rows.iter().enumerate() {
        let b = builder(&row.arch);
        let memo = Memo::new();
        let ctx = ProxyContext {
            builder: &b,
            batch,
            device: &device,
            seed: seed_base + i as u64,
            memo: &memo,
            settings: &ProxySettings::default(),
            task: task(),
        };
        for (k, p) in proxies.iter().enumerate() {
            out[k].push(p.score(&ctx).unwrap_or_else(|e| panic!("{} on {}: {e:#}", p.name(), row.arch)));
        }
    }
    out
}

/// Suite-Zero's score `name` of each row.
pub fn reference(rows: &[ZcEntry], name: &str) -> Vec<f64> {
    rows.iter().map(|r| r.scores[name]).collect()
}

/// Spearman between our scores and the reference's (non-finite ranked last), printed.
pub fn agreement(name: &str, ours: &[f64], reference: &[f64]) -> f64 {
    let rho = spearman_rho(&rank_last_nonfinite(ours), &rank_last_nonfinite(reference));
    eprintln!("{name}: Spearman(ours, reference) = {rho:.3} on {} archs", ours.len());
    rho
}
