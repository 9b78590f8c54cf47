//! A FlexiBERT-space arch as `BERT_benchmark.json` writes it, its label, and the parameter
//! count of the network the proxy references build for it.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::fmt;

/// A layer's token-mixing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// Self-attention, scaled dot product (`SA` / `SDP`).
    Sdp,
    /// Self-attention, weighted multiplicative (`SA` / `WMA`).
    Wma,
    /// Linear transform, discrete Fourier (`LT` / `DFT`).
    Dft,
    /// Linear transform, discrete cosine (`LT` / `DCT`).
    Dct,
    /// Depthwise-separable convolution with this kernel (`DSC` / 5 or 9), ConvBERT-style.
    Dsc(usize),
}

impl Op {
    fn name(self) -> String {
        match self {
            Op::Sdp => "sdp".into(),
            Op::Wma => "wma".into(),
            Op::Dft => "dft".into(),
            Op::Dct => "dct".into(),
            Op::Dsc(k) => format!("dsc{k}"),
        }
    }

    fn parse(s: &str) -> Result<Op> {
        Ok(match s {
            "sdp" => Op::Sdp,
            "wma" => Op::Wma,
            "dft" => Op::Dft,
            "dct" => Op::Dct,
            _ => match s.strip_prefix("dsc").and_then(|k| k.parse().ok()) {
                Some(k @ (5 | 9)) => Op::Dsc(k),
                _ => bail!("unknown operation `{s}` (sdp, wma, dft, dct, dsc5, dsc9)"),
            },
        })
    }
}

/// One encoder layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Layer {
    pub op: Op,
    /// `num_operation_heads` (2 or 4).
    pub heads: usize,
    /// `feed_forward_dimension` (512 or 1024; the references' network uses 1024 for every
    /// FFN, see [`crate::spaces::flexibert`]).
    pub ff_dim: usize,
    /// `num_feed_forward` (1 or 3): dense layers before the output dense.
    pub n_ff: usize,
}

/// An arch: hidden size and layers, as the benchmark file gives them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlexiArch {
    /// `hidden_size` (128 or 256; the references' network uses 256).
    pub hidden: usize,
    pub layers: Vec<Layer>,
}

/// `256:wma-h4-1024x3+dct-h2-512x3`: hidden size, then per layer op, heads, FFN width × count.
impl fmt::Display for FlexiArch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.hidden)?;
        for (i, l) in self.layers.iter().enumerate() {
            let sep = if i == 0 { "" } else { "+" };
            write!(f, "{sep}{}-h{}-{}x{}", l.op.name(), l.heads, l.ff_dim, l.n_ff)?;
        }
        Ok(())
    }
}

impl std::str::FromStr for FlexiArch {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        let what = || format!("`{s}` is not a FlexiBERT arch (e.g. 256:wma-h4-1024x3+dct-h2-512x3)");
        let (hidden, layers) = s.split_once(':').with_context(what)?;
        let hidden = hidden.parse().with_context(what)?;
        let layers = layers
            .split('+')
            .map(|l| {
                let mut parts = l.split('-');
                let (op, heads, ff) = (parts.next(), parts.next(), parts.next());
                let (Some(op), Some(heads), Some(ff), None) = (op, heads, ff, parts.next()) else { bail!("layer `{l}`") };
                let heads = heads.strip_prefix('h').and_then(|h| h.parse().ok()).with_context(|| format!("heads in `{l}`"))?;
                let (ff_dim, n_ff) = ff.split_once('x').with_context(|| format!("FFN in `{l}`"))?;
                Ok(Layer { op: Op::parse(op)?, heads, ff_dim: ff_dim.parse()?, n_ff: n_ff.parse()? })
            })
            .collect::<Result<Vec<_>>>()
            .with_context(what)?;
        let arch = FlexiArch { hidden, layers };
        arch.check().with_context(what)?;
        Ok(arch)
    }
}

impl FlexiArch {
    /// The space's ranges: 2 or 4 layers, 2 or 4 heads, 1 or 3 FFN layers, widths and hidden
    /// sizes of the benchmark.
    pub fn check(&self) -> Result<()> {
        if ![128, 256].contains(&self.hidden) {
            bail!("hidden size {} (128 or 256)", self.hidden);
        }
        if !(1..=4).contains(&self.layers.len()) {
            bail!("{} layers (1 to 4)", self.layers.len());
        }
        for l in &self.layers {
            if ![2, 4].contains(&l.heads) || ![512, 1024].contains(&l.ff_dim) || ![1, 3].contains(&l.n_ff) {
                bail!("a layer with {} heads, FFN {}×{} (heads 2 or 4, FFN 512 or 1024 × 1 or 3)", l.heads, l.ff_dim, l.n_ff);
            }
        }
        Ok(())
    }
}

/// One row of `BERT_benchmark.json` as read.
#[derive(Debug, Deserialize)]
pub struct Row {
    pub id: usize,
    pub scores: std::collections::BTreeMap<String, f64>,
    pub hparams: Hparams,
}

#[derive(Debug, Deserialize)]
pub struct Hparams {
    pub model_hparam_overrides: Overrides,
}

#[derive(Debug, Deserialize)]
pub struct Overrides {
    pub hidden_size: usize,
    pub nas_config: NasConfig,
}

#[derive(Debug, Deserialize)]
pub struct NasConfig {
    pub encoder_layers: Vec<JsonLayer>,
}

#[derive(Debug, Deserialize)]
pub struct JsonLayer {
    pub operation_type: String,
    /// A string (SDP, WMA, DFT, DCT) or the DSC kernel as an integer.
    pub operation_parameter: serde_json::Value,
    pub num_operation_heads: usize,
    pub feed_forward_dimension: usize,
    pub num_feed_forward: usize,
}

impl Row {
    pub fn arch(&self) -> Result<FlexiArch> {
        let o = &self.hparams.model_hparam_overrides;
        let layers = o
            .nas_config
            .encoder_layers
            .iter()
            .map(|l| {
                let p = &l.operation_parameter;
                let op = match (l.operation_type.as_str(), p.as_str(), p.as_u64()) {
                    ("SA", Some("SDP"), _) => Op::Sdp,
                    ("SA", Some("WMA"), _) => Op::Wma,
                    ("LT", Some("DFT"), _) => Op::Dft,
                    ("LT", Some("DCT"), _) => Op::Dct,
                    ("DSC", _, Some(k @ (5 | 9))) => Op::Dsc(k as usize),
                    (t, _, _) => bail!("arch {}: unknown operation {t} / {p}", self.id),
                };
                Ok(Layer { op, heads: l.num_operation_heads, ff_dim: l.feed_forward_dimension, n_ff: l.num_feed_forward })
            })
            .collect::<Result<Vec<_>>>()?;
        let arch = FlexiArch { hidden: o.hidden_size, layers };
        arch.check().with_context(|| format!("arch {} of the benchmark file", self.id))?;
        Ok(arch)
    }
}

/// The network's sizes: the references' defaults (see [`crate::spaces::flexibert`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlexiConfig {
    pub vocab: usize,
    pub embedding: usize,
    pub hidden: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    /// DSC layers keep heads / `conv_head_ratio` attention heads and as many conv heads.
    pub conv_head_ratio: usize,
}

impl Default for FlexiConfig {
    fn default() -> Self {
        Self { vocab: 30_522, embedding: 128, hidden: 256, intermediate: 1024, max_positions: 512, type_vocab: 2, conv_head_ratio: 2 }
    }
}

impl FlexiConfig {
    /// DSC's attention heads and their total width for a layer of `heads` heads.
    pub fn dsc_heads(&self, heads: usize) -> (usize, usize) {
        let n = (heads / self.conv_head_ratio).max(1);
        (n, n * (self.hidden / heads))
    }

    /// Parameters of the network built for `arch` (what `sum(p.numel())` counts).
    pub fn param_count(&self, arch: &FlexiArch) -> usize {
        let lin = |i: usize, o: usize| i * o + o;
        let (e, h, i) = (self.embedding, self.hidden, self.intermediate);
        let mut p = (self.vocab + self.max_positions + self.type_vocab) * e + 2 * e;
        if e != h {
            p += lin(e, h);
        }
        let self_output = lin(h, h) + 2 * h;
        for l in &arch.layers {
            p += match l.op {
                Op::Sdp => 3 * lin(h, h) + self_output,
                Op::Wma => 3 * lin(h, h) + h * h + self_output,
                Op::Dft | Op::Dct => lin(h, h),
                Op::Dsc(k) => {
                    let (n, a) = self.dsc_heads(l.heads);
                    3 * lin(h, a) + (h * k + h * a + a) + lin(a, n * k) + lin(h, a) + self_output
                }
            };
            p += lin(h, i) + (l.n_ff - 1) * lin(i, i) + lin(i, h) + 2 * h;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_bad_ones_are_named() {
        let s = "256:wma-h4-1024x3+dct-h2-512x3+dsc9-h4-512x1";
        let a: FlexiArch = s.parse().unwrap();
        assert_eq!(a.to_string(), s);
        assert_eq!(a.layers[2].op, Op::Dsc(9));
        for bad in ["256", "256:", "256:sdp-h3-512x1", "256:dsc7-h2-512x1", "64:sdp-h2-512x1", "256:sdp-h2-512"] {
            assert!(bad.parse::<FlexiArch>().is_err(), "{bad}");
        }
    }
}
