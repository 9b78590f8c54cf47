//! snip (Lee et al. 2019, as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/snip.py`): PyTorch default init, BN in train
//! mode, one backward pass of the mean cross-entropy on the real batch; the score is
//! Σ over conv and linear weights of |W ⊙ ∂L/∂W| (the reference's |∂L/∂mask| at mask = 1).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch. The backward pass is shared with grad_norm and plain.

use crate::measure::PROXY_BATCH;
use crate::measure::{loss_settings, sum_over_layers, LossGradients};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{Context, Result};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "snip",
    about: "SNIP: Σ|W ⊙ ∂L/∂W| of cross-entropy on a real batch (Lee et al. 2019)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: loss_settings,
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let pairs = LossGradients::shared(ctx, PROXY_BATCH.get(ctx.settings)).context("snip: cross-entropy backward pass")?;
    sum_over_layers(pairs.iter().map(|(w, g)| w.clone().mul(g.clone()).abs()))
}
