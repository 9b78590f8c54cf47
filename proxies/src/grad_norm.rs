//! grad_norm (Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/grad_norm.py`): PyTorch default init, BN in
//! train mode, one backward pass of the mean cross-entropy on the real batch; the score is
//! Σ over conv and linear layers of ‖∂L/∂W‖₂ (Frobenius norm, not squared).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch, so the score is deterministic per (arch, seed). The backward pass is
//! shared with snip and plain.

use crate::measure::PROXY_BATCH;
use crate::measure::{loss_settings, sum_over_layers, LossGradients};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::Result;

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "grad_norm",
    about: "Σ‖∂L/∂W‖ of cross-entropy on a real batch (Abdelfattah et al. 2021)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: loss_settings,
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let pairs = LossGradients::shared(ctx, PROXY_BATCH.get(ctx.settings))?;
    sum_over_layers(pairs.iter().map(|(_, g)| g.clone().powi_scalar(2).sum().sqrt()))
}
