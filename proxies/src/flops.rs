//! flops: multiply-adds of one forward pass of a single image, in millions (Suite-Zero's
//! `flops` column).
//!
//! Definition (NASLib `find_measures` → tensorwatch `ModelStats.Flops / 1e6` on a `[1, 3, h, w]`
//! input): conv and linear multiply-adds (no ×2, linear without bias), 2 per element for an
//! affine BN, 1 per element for ReLU, k² per pooled output, (h+1)(w+1) per channel for GAP;
//! see [`swapnas_benchmarks::Taps::flops`]. Counts do not depend on the values, so the
//! input is the first real image rather than tensorwatch's `torch.rand`.

use crate::measure::{default_network, real_batch};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{ensure, Result};
use burn::tensor::DType;
use swapnas_benchmarks::{BnMode, Taps};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "flops",
    about: "multiply-adds of one image in millions (tensorwatch count, as Suite-Zero)",
    needs: Needs { token_inputs: true, ..Needs::NOTHING },
    settings: &[],
    version: 1,
    function_only: false,
    key: |_| "millions, 1 image".to_string(),
    batch: |_| 1,
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let net = default_network(ctx, ctx.device, DType::F32);
    let (x, _) = real_batch(ctx, 1, ctx.device, DType::F32)?;
    let mut forward = ctx.forward_ctx(BnMode::Batch, Taps { flops: true, ..Taps::default() });
    let _ = net.forward(x, &mut forward);
    ensure!(forward.flops > 0.0, "the network of {} counted no FLOPs", ctx.builder.arch_label());
    Ok(forward.flops / 1e6)
}
