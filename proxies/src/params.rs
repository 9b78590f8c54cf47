//! params: the network's trainable parameters, in millions (Suite-Zero's `params` column).
//!
//! Definition (NASLib `find_measures` → tensorwatch `ModelStats.parameters / 1e6`): every conv
//! and linear weight and bias and every BN affine weight and bias; BN running statistics are
//! buffers, not parameters. Uses no data; equals Suite-Zero's values exactly on NB201.

use crate::measure::default_network;
use crate::{Proxy, ProxyContext};
use anyhow::{ensure, Result};
use burn::tensor::DType;

pub struct Params;

impl Proxy for Params {
    fn name(&self) -> &'static str {
        "params"
    }

    fn settings(&self) -> String {
        "millions".to_string()
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn score(&self, ctx: &ProxyContext) -> Result<f64> {
        let net = default_network(ctx, ctx.device, DType::F32);
        let count = net.parameter_count();
        ensure!(count > 0, "the network of {} has no parameters", ctx.builder.arch_label());
        Ok(count as f64 / 1e6)
    }
}
