//! NAS-Bench-NLP: every log's recipe and parameter count, the word streams the proxies read
//! (against the reference's `Corpus` + `batchify` written in Python), and a real cell's network.

mod common;

use burn::prelude::*;
use burn::tensor::DType;
use std::collections::HashSet;
use swapnas_benchmarks::nn::network::{BnMode, BuildOptions, ForwardCtx, Network, Taps};
use swapnas_benchmarks::spaces::nbnlp::{load_logs, NlpConfig, NlpNet, Recipe, STEPS, STREAMS, WIKITEXT2_WORDS};
use swapnas_benchmarks::{InitScheme, WeightInit};

/// [`NlpConfig::param_count`] equals `num_params` of all 345 logs, and the network built for
/// a cell holds exactly that many; 341 finished, 291 distinct cells, labels round-trip.
#[test]
fn every_log_parses_and_its_parameter_count_is_the_logged_one() {
    let Some(dir) = common::full("the NAS-Bench-NLP WikiText-2 logs") else { return };
    let logs = load_logs(&dir).unwrap();
    assert_eq!(logs.len(), 345);
    assert_eq!(logs.iter().filter(|l| l.finished()).count(), 341);
    let config = NlpConfig::default();
    let mut labels = HashSet::new();
    for log in &logs {
        let recipe = Recipe::from_json(&log.recepie).unwrap();
        assert_eq!(config.param_count(&recipe), log.num_params, "recipe {}", log.recepie_id);
        let label = recipe.to_string();
        assert_eq!(label.parse::<Recipe>().unwrap(), recipe, "{label}");
        labels.insert(label);
    }
    assert_eq!(labels.len(), 291);
    // The hand-made LSTM (1000001): its network's own count.
    let lstm = logs.iter().find(|l| l.recepie_id == 1_000_001).unwrap();
    let recipe = Recipe::from_json(&lstm.recepie).unwrap();
    let net =
        NlpNet::new(&recipe, config, &BuildOptions::new(0), &mut WeightInit::new(InitScheme::PytorchDefault, 0), &Device::flex());
    assert_eq!(net.parameter_count(), lstm.num_params);
    assert_eq!(lstm.num_params, 20_230_878);
}

/// The text set: 50 streams of WikiText-2's test split (245,569 words with `<eos>`, 4,911 per
/// stream), the first 70 words of each; values from the reference's `tokenize` + `batchify`
/// in Python (ids in first-occurrence order, 14,143 distinct).
#[test]
fn the_word_streams_are_the_batchified_test_split() {
    let Some(dir) = common::full("the WikiText-2 test split") else { return };
    let batch = WIKITEXT2_WORDS.load_first(&dir, STREAMS).unwrap();
    assert!(batch.tokens);
    let x = batch.images(&Device::flex(), DType::F32);
    assert_eq!(x.dims(), [STREAMS, 1, 1, STEPS]);
    let ids: Vec<f32> = x.into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(ids[..8], [0.0, 1.0, 2.0, 3.0, 1.0, 0.0, 0.0, 2.0]);
    assert_eq!(ids[49 * STEPS..49 * STEPS + 8], [2236.0, 8.0, 243.0, 40.0, 22.0, 1178.0, 299.0, 338.0]);
    assert_eq!(ids.iter().map(|&v| v as u64).sum::<u64>(), 6_260_170);
    let err = WIKITEXT2_WORDS.load_first(&dir, STREAMS + 1).unwrap_err().to_string();
    assert!(err.contains(&format!("gives only {STREAMS} sequences, 51 were asked for")), "{err}");
}

/// A real cell (1012124: a three-element hidden tuple, leaky ReLU, products) over 4 streams:
/// a finite output `[4, 70 · 400]`, 70 received states per layer (the first zero), and one
/// pattern tap per activation node per step.
#[test]
fn a_real_cell_runs_over_the_streams() {
    let Some(dir) = common::full("the NAS-Bench-NLP WikiText-2 logs") else { return };
    let logs = load_logs(&dir).unwrap();
    let log = logs.iter().find(|l| l.recepie_id == 1_012_124).unwrap();
    let recipe = Recipe::from_json(&log.recepie).unwrap();
    let device = Device::flex();
    let net =
        NlpNet::new(&recipe, NlpConfig::default(), &BuildOptions::new(0), &mut WeightInit::new(InitScheme::Gaussian, 5), &device);
    let batch = WIKITEXT2_WORDS.load_first(&dir, 4).unwrap();
    let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, hidden_states: true, flops: true, ..Taps::default() });
    let out = net.forward(batch.images(&device, DType::F32), &mut ctx).flat();
    assert_eq!(out.dims(), [4, STEPS * 400]);
    assert!(out.into_data().try_into_vec::<f32>().unwrap().iter().all(|v| v.is_finite()));
    assert_eq!(ctx.hidden_states.len(), 3);
    for (layer, width) in ctx.hidden_states.iter().zip([600, 600, 400]) {
        assert_eq!(layer.len(), STEPS);
        assert_eq!(layer[0].dims(), [4, width]);
    }
    // Activation nodes: node_2 (leaky ReLU), node_9 and h_new_0 (tanh).
    assert_eq!(ctx.relu.len(), 3 * STEPS * 3);
    assert!(ctx.flops > 0.0);
}
