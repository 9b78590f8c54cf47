//! params: the network's trainable parameters, in millions (Suite-Zero's `params` column).
//!
//! Definition (NASLib `find_measures` → tensorwatch `ModelStats.parameters / 1e6`): every conv
//! and linear weight and bias and every BN affine weight and bias; BN running statistics are
//! buffers, not parameters. Uses no data; equals Suite-Zero's values exactly on NB201.

use crate::measure::default_network;
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use burn::tensor::DType;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "params",
    about: "parameters in millions (tensorwatch count, as Suite-Zero)",
    needs: Needs { token_inputs: true, ..Needs::NOTHING },
    settings: &[],
    version: 1,
    function_only: false,
    key: |_| "millions".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let net = default_network(ctx, ctx.device, DType::F32);
    let count = net.parameter_count();
    ensure!(count > 0, "the network of {} has no parameters", ctx.builder.arch_label());
    Ok(count as f64 / 1e6)
}
