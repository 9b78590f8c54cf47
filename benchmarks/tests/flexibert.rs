//! The FlexiBERT space: its tokenizer against HF `tokenizers` on the corpus it reads, its
//! parameter counts against Serianni's per-arch figures, and its networks against the formula
//! with one GELU tap per FFN dense.

mod common;

use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use sha2::{Digest, Sha256};
use swapnas_benchmarks::nn::network::{BnMode, BuildOptions, ForwardCtx, Network, Taps};
use swapnas_benchmarks::spaces::flexibert::{load_rows, FlexiArch, FlexiConfig, FlexiNet, WIKITEXT2};
use swapnas_benchmarks::text::WordPiece;
use swapnas_benchmarks::{InitScheme, WeightInit};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Every id swapnas' WordPiece gives the WikiText-2 test split equals what HF `tokenizers`
/// 0.23 (BertNormalizer lower-casing, BertPreTokenizer, WordPiece over the same vocabulary)
/// gives it: the count, a SHA-256 of all 253,653 ids, and the first 2,048 written out.
#[test]
fn wordpiece_equals_hf_tokenizers_on_the_corpus() {
    let Some(dir) = common::full("the WikiText-2 test split") else { return };
    let text = std::fs::read_to_string(dir.path("text/wiki2.test.txt")).unwrap();
    let ids = WordPiece::bert_uncased().unwrap().encode(&text.replace("<unk>", "[UNK]"));
    let fixture = std::fs::read_to_string(format!("{FIXTURES}/wiki2_wordpiece.txt")).unwrap();
    let field = |name: &str| fixture.lines().find_map(|l| l.strip_prefix(name).map(str::trim)).unwrap().to_string();
    let first: Vec<u32> = field("first ").split(' ').map(|v| v.parse().unwrap()).collect();
    let mismatch = ids.iter().zip(&first).position(|(a, b)| a != b);
    assert_eq!(mismatch, None, "first differing id at {mismatch:?}");
    assert_eq!(ids.len(), field("count ").parse::<usize>().unwrap());
    let mut hash = Sha256::new();
    for id in &ids {
        hash.update(id.to_le_bytes());
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, field("sha256 "));
}

/// The text set's records: `[CLS] … [SEP]` sequences of 128 ids, shaped `[n, 1, 1, 128]`.
#[test]
fn the_text_set_gives_token_sequences() {
    let Some(dir) = common::full("the WikiText-2 test split") else { return };
    let batch = WIKITEXT2.load_first(&dir, 4).unwrap();
    assert!(batch.tokens);
    assert_eq!(batch.record_len(), 128);
    let x = batch.images(&Device::flex(), DType::F32);
    assert_eq!(x.dims(), [4, 1, 1, 128]);
    let ids: Vec<f32> = x.into_data().try_into_vec::<f32>().unwrap();
    assert_eq!((ids[0], ids[127], ids[128]), (101.0, 102.0, 101.0));
    assert!(ids.iter().all(|&v| (0.0..30_522.0).contains(&v) && v.fract() == 0.0));
}

/// [`FlexiConfig::param_count`] equals the "Number of Parameters" Serianni's scorer printed
/// for every one of the 500 archs (aaronserianni/training-free-nas
/// `data/BERT_results_activation.csv`).
#[test]
fn param_counts_equal_serianni_for_all_500_archs() {
    let Some(dir) = common::full("the FlexiBERT benchmark file") else { return };
    let rows = load_rows(&dir).unwrap();
    assert_eq!(rows.len(), 500);
    let published: Vec<(usize, usize)> = std::fs::read_to_string(format!("{FIXTURES}/flexibert_params.csv"))
        .unwrap()
        .lines()
        .skip(2)
        .map(|l| {
            let (id, p) = l.split_once(',').unwrap();
            (id.parse().unwrap(), p.parse().unwrap())
        })
        .collect();
    assert_eq!(published.len(), 500);
    let config = FlexiConfig::default();
    for (id, params) in published {
        let arch = rows[id].arch().unwrap();
        assert_eq!(config.param_count(&arch), params, "arch {id} {arch}");
    }
}

/// Networks of every operation: parameters as the formula counts them, a finite last hidden
/// state `[n, tokens · 256]`, and one GELU output recorded per FFN dense before the output.
#[test]
fn networks_of_every_operation_build_and_tap_their_gelus() {
    let device = Device::flex();
    let config = FlexiConfig::default();
    for label in [
        "256:sdp-h2-512x1+wma-h4-1024x3",
        "128:dft-h4-512x3+dct-h2-1024x1",
        "256:dsc5-h2-512x1+dsc9-h4-1024x3+sdp-h4-512x1+dct-h4-512x3",
    ] {
        let arch: FlexiArch = label.parse().unwrap();
        let mut init = WeightInit::new(InitScheme::Gaussian, 0);
        let net = FlexiNet::new(&arch, config, &BuildOptions::new(0), &mut init, &device);
        assert_eq!(net.parameter_count(), config.param_count(&arch), "{label}");
        let t = 16;
        let ids: Vec<f32> = (0..2 * t).map(|i| [101, 2003, 1037, 3231, 102][i % 5] as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(ids, [2, 1, 1, t]), &device);
        let mut ctx = ForwardCtx::new(BnMode::Batch, Taps { relu: true, ..Taps::default() });
        let y = net.forward(x, &mut ctx).flat();
        assert_eq!(y.dims(), [2, t * 256]);
        let values: Vec<f32> = y.into_data().try_into_vec::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{label}");
        assert_eq!(ctx.relu.len(), arch.layers.iter().map(|l| l.n_ff).sum::<usize>(), "{label}");
        assert!(ctx.relu.iter().all(|g| g.dims() == [2, t, 1024, 1]));
    }
}
