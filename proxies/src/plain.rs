//! plain (Mozer & Smolensky's saliency, as a NAS proxy in Abdelfattah et al., ICLR 2021).
//!
//! Definition (NASLib / zero-cost-nas `measures/plain.py`): PyTorch default init, BN in train
//! mode, one backward pass of the mean cross-entropy on the real batch; the score is the signed
//! Σ over conv and linear weights of W ⊙ ∂L/∂W (no absolute value).
//!
//! Deviation (default `--input first`): the batch is the first `batch` training images in file order, not a random
//! augmented minibatch. The backward pass is shared with grad_norm and snip.
//!
//! Fidelity: plain's per-arch ranking is mostly noise — two of our draws agree at Spearman
//! 0.09–0.26 on 200 NB201 archs (0.10–0.13 with `--input random-augmented`), so it cannot
//! agree with one Suite-Zero draw either; its ρ with accuracy (about −0.2 to −0.26) matches
//! Suite-Zero's within the draws' spread (`swapnas check --draws`).

use crate::measure::PROXY_BATCH;
use crate::measure::{loss_settings, sum_over_layers, LossGradients};
use crate::{Needs, ProxyContext, ProxyDecl};
use anyhow::{Context, Result};

/// The registry entry.
pub const PROXY: ProxyDecl = ProxyDecl {
    name: "plain",
    about: "plain: Σ W ⊙ ∂L/∂W (signed) of cross-entropy on a real batch (Mozer & Smolensky 1989)",
    needs: Needs::LOSS_GRADIENTS,
    settings: &[&PROXY_BATCH],
    version: 1,
    function_only: true,
    key: loss_settings,
    batch: |s| PROXY_BATCH.get(s),
    score,
};

fn score(ctx: &ProxyContext) -> Result<f64> {
    let pairs = LossGradients::shared(ctx, PROXY_BATCH.get(ctx.settings)).context("plain: cross-entropy backward pass")?;
    sum_over_layers(pairs.iter().map(|(w, g)| w.clone().mul(g.clone())))
}
