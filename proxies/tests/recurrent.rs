//! hidden_cov on NAS-Bench-NLP cells, arch by arch against Serianni & Kalita's published
//! per-arch scores (their `RNN_results.csv`: PTB input, so the same cells over other words;
//! the embedding rows a word picks are i.i.d., so the scores' distribution does not depend on
//! the corpus). Measured over every shared cell: Spearman in the README; here a
//! spread of 12, scored through the registered proxy as a run scores them.

mod common;

use burn::prelude::*;
use swapnas_benchmarks::spaces::nbnlp::{load_logs, Recipe, STREAMS};
use swapnas_proxies::{Memo, ProxyContext, ProxySettings};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/serianni_hidden_cov.csv");

#[test]
fn hidden_cov_ranks_cells_as_serianni_published() {
    let Some(dir) = common::full("the NAS-Bench-NLP logs and WikiText-2") else { return };
    let space = swapnas_benchmarks::spaces::find("nasbench-nlp").unwrap();
    let task = space.task("wikitext2").unwrap();
    let logs = load_logs(&dir).unwrap();
    // Serianni's layer-1 score per recipe id, in order of that score; 12 evenly spread.
    let mut published: Vec<(u64, f64)> = std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("recipe_id"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap())
        })
        .filter(|(_, v): &(u64, f64)| v.is_finite())
        .collect();
    assert_eq!(published.len(), 275);
    published.sort_by(|a, b| a.1.total_cmp(&b.1));
    let picked: Vec<(u64, f64)> = (0..12).map(|k| published[k * (published.len() - 1) / 11]).collect();
    let batch = task.images.load_first(&dir, STREAMS).unwrap();
    let device = Device::flex();
    let settings = ProxySettings::default();
    let proxy = swapnas_proxies::proxy("hidden_cov", &settings).unwrap();
    let ours: Vec<f64> = picked
        .iter()
        .map(|(id, _)| {
            let log = logs.iter().find(|l| l.recepie_id == *id).unwrap();
            let label = Recipe::from_json(&log.recepie).unwrap().to_string();
            let candidate = space.reference_candidate(&label, task).unwrap();
            let memo = Memo::new();
            let ctx = ProxyContext {
                builder: candidate.builder.as_ref(),
                batch: &batch,
                device: &device,
                seed: *id,
                memo: &memo,
                settings: &settings,
                task,
            };
            proxy.score(&ctx).unwrap()
        })
        .collect();
    let theirs: Vec<f64> = picked.iter().map(|p| p.1).collect();
    let rho = common::agreement("hidden_cov vs Serianni (layer 1)", &ours, &theirs);
    assert!(rho >= 0.95, "ours {ours:?}\ntheirs {theirs:?}");
}
